"""Every ``st.session_state`` key of the app, by name, in one place.

The values are the keys the app has always used, so a session saved before (``$DLVIZ_HOME/sessions/*.json``)
and the page tests' ``at.session_state[...]`` read the same entries. A key that starts with ``_`` is a page's
own (a widget's value, or the value kept for a widget that a page switch forgets); the keys without one are the
session's shared state. Keys made per run, per layer or per language are built by the functions at the end.
"""

from __future__ import annotations

# The session itself (``sid`` rides in the URL) and what is saved with it: these survive a refresh (state.PERSISTED)
LANG = "lang"
DATASET = "dataset"
DATA_DIR = "data_dir"
SPEC = "spec"
SPEC_UNDO = "spec_undo"
JOB_ID = "job_id"
JOB_ADOPTED = "job_adopted"
RUN_ID = "run_id"
RUN_RESTORED = "run_restored"
TRAIN_SETTINGS = "train_settings"
PRESENTATION = "presentation"
TYPED = "typed"
SID = "sid"
PUSH_SEEN = "push_seen"  # the version of the last push this session applied (saved with it: applied once)
PERSON = "person"  # dlviz.classroom.Person: who this session belongs to (ALONE unless a class server)
VIEW = "view"  # a read-only view of someone else's run (dlviz.ui.view): {run_id, name, via, token, back} or None
CLASS_SID = "_class_sid"  # the session id the class sign-in (or the cookie) gave, until init_session takes it
CLASS_TOKEN = "_class_token"  # the random token this session's cookie holds (dlviz.ui.signin)
CLASS_SIGNED_OUT = "_class_signed_out"  # the sign-in screen after a sign-out clears the cookie
SIGNIN_CODE = "_signin_code"
SIGNIN_NAME = "_signin_name"
SIGNIN_KEY = "_signin_key"
SIGNIN_LANG = "_signin_lang"
SIGN_OUT = "_sign_out"

# The sidebar, the navigation and presentation mode
DATA_DIR_INPUT = "_data_dir_input"
DATASET_SELECT = "_dataset_select"
DATASET_SELECT_NEXT = "_dataset_select_next"
GLOSS_QUERY = "_gloss_query"
INDEX_REBUILT = "_index_rebuilt"
LANG_SELECT = "_lang_select"
PRESENT_EXIT = "_present_exit"
PRESENT_TOGGLE = "_present_toggle"
REBUILD_INDEX = "_rebuild_index"
RELABEL = "_relabel"

# Data page (images)
DATA_BAL_TEST = "_data_bal_test"
DATA_BAL_TRAIN = "_data_bal_train"
DATA_CLASS = "_data_class"
DATA_GRID = "_data_grid"
DATA_PART = "_data_part"
DATA_SEED = "_data_seed"
DATA_SHUFFLE = "_data_shuffle"

# Data page (sentences)
TDATA_BAL_TEST = "_tdata_bal_test"
TDATA_BAL_TRAIN = "_tdata_bal_train"
TDATA_CLASS = "_tdata_class"
TDATA_CSV = "_tdata_csv"
TDATA_CSV_ADDED = "_tdata_csv_added"
TDATA_CSV_DONE = "_tdata_csv_done"
TDATA_LENGTHS = "_tdata_lengths"
TDATA_LENGTHS_CACHE = "_tdata_lengths_cache"
TDATA_SEED = "_tdata_seed"
TDATA_SHUFFLE = "_tdata_shuffle"
TDATA_TEXT = "_tdata_text"
TDATAW_TEXT = "_tdataw_text"

# Build page
BUILD_PRESET = "build_preset"  # the preset box of image models (dlviz.ui.kinds: one per kind)
BUILD_PRESET_TEXT = "build_preset_text"
BUILD_IMPORT_ERR = "_build_import_err"
BUILD_IMPORT_OK = "_build_import_ok"
BUILD_OPEN = "_build_open"
BUILD_PRESET_LOADED = "_build_preset_loaded"
BUILD_REV = "_build_rev"
BUILD_SEEN = "_build_seen"
BUILD_ADD = "build_add"
BUILD_ADD_TYPE = "build_add_type"
BUILD_DL_JSON = "build_dl_json"
BUILD_DL_PY = "build_dl_py"
BUILD_FIX_KIND = "build_fix_kind"
BUILD_IMPORT_BTN = "build_import_btn"
BUILD_IMPORT_FILE = "build_import_file"
BUILD_IMPORT_TEXT = "build_import_text"
BUILD_UNDO = "build_undo"

# Train page
TR_BATCH_SIZE = "_tr_batch_size"
TR_DEVICE = "_tr_device"
TR_EPOCHS = "_tr_epochs"
TR_FOR_MODEL = "_tr_for_model"
TR_LIVE_GRADS = "_tr_live_grads"
TR_LIVE_GRADS_ON = "_tr_live_grads_on"
TR_LR = "_tr_lr"
TR_OPTIMIZER = "_tr_optimizer"
TR_PRECISION = "_tr_precision"
TR_QUICK = "_tr_quick"
TR_CLASSIC = "_tr_classic"  # images: also fit the classic pipelines (raw pixels, HOG) beside the network
TR_SCHEDULE = "_tr_schedule"
TR_SEED = "_tr_seed"
TR_VAL_PCT = "_tr_val_pct"
TR_WEIGHT_DECAY = "_tr_weight_decay"
TR_TASK = "_tr_task"  # classify (the Build page's model) or generate digits (the DCGAN)
TR_TASK_KEPT = "_tr_task_kept"  # the choice, kept while the widget is not drawn (a run in progress)
GAN_CACHE = "_gan_cache"  # a GAN run's sample grids at its replay points
LIVE_GAN_GRID = "live_gan_grid"
LIVE_GAN_CURVES = "live_gan_curves"
LIVE_CURVES = "live_curves"
LIVE_GRADS = "live_grads"
CANCEL_BTN = "cancel_btn"  # leave a class's training queue
PAUSE_BTN = "pause_btn"
RESUME_BTN = "resume_btn"
STOP_BTN = "stop_btn"
TRAIN_BTN = "train_btn"

# Runs page
RUNS_CHECK = "_runs_check"
RUNS_COMPARE = "_runs_compare"
RUNS_COMPARE_CHART = "_runs_compare_chart"
RUNS_CURVES = "_runs_curves"
RUNS_DELETE = "_runs_delete"
RUNS_FLASH = "_runs_flash"
RUNS_OPEN = "_runs_open"
RUNS_PICK = "_runs_pick"
RUNS_RENAME = "_runs_rename"
RUNS_TABLE = "_runs_table"

# Sharing a run (Runs page) and the read-only view (dlviz/ui/view.py, issue 17)
RUNS_EXPORT = "_runs_export"
RUNS_IMPORT = "_runs_import"
RUNS_IMPORT_BTN = "_runs_import_btn"
RUNS_PICK_NEXT = "_runs_pick_next"  # a run just imported: the Runs page picks it on its next run
RUNS_LINK_NEW = "_runs_link_new"
VIEW_BACK = "_view_back"
VIEW_PROBLEM = "_view_problem"

# The teacher's class dashboard (pages/classroom.py)
CLASS_PICK = "_class_pick"
CLASS_OPEN = "_class_open"
CLASS_CURVES = "_class_curves"
CLASS_RUNS = "_class_runs"
CLASS_TABLE = "_class_table"  # the class table (a counter: its key changes after each click)
# the teacher's limits per student and the class's training queue (Classroom page, dlviz/ui/queue_widgets.py)
CLASS_LIM_EPOCHS = "_class_lim_epochs"
CLASS_LIM_PARAMS = "_class_lim_params"
CLASS_LIM_WALL = "_class_lim_wall"
CLASS_LIM_SAVE = "_class_lim_save"
CLASS_LIM_CLEAR = "_class_lim_clear"
CLASS_LIM_SAID = "_class_lim_said"  # the confirmation (or the error) of the last Save / Clear
CLASS_QUEUE_PICK = "_class_queue_pick"  # the job the teacher may cancel or stop
CLASS_QUEUE_STOP = "_class_queue_stop"
CLASS_QUEUE_SAID = "_class_queue_said"  # what the teacher's last cancel / stop did

# The look-inside header and the Inspect page's input (``_insp_*`` kept, ``_inspw_*`` the widgets)
INSP_CANVAS_N = "_insp_canvas_n"
INSP_CLASS = "_insp_class"
INSP_DRAWING = "_insp_drawing"
INSP_DRAWING_JSON = "_insp_drawing_json"
INSP_INPUT = "_insp_input"
INSP_MODE = "_insp_mode"
INSP_MODELS = "_insp_models"
INSP_OPENED = "_insp_opened"
INSP_PER_CHANNEL = "_insp_per_channel"
INSP_POS = "_insp_pos"
INSP_PROBS = "_insp_probs"
INSP_PROCESSED = "_insp_processed"
INSP_RUN = "_insp_run"
INSP_SAVED_INPUT = "_insp_saved_input"
INSP_UNFOLD = "_insp_unfold"
INSP_UPLOAD = "_insp_upload"
INSP_UPLOAD_NAME = "_insp_upload_name"
INSPW_CLASS = "_inspw_class"
INSPW_CLEAR = "_inspw_clear"
INSPW_MODE = "_inspw_mode"
INSPW_POS = "_inspw_pos"
INSPW_RANDOM = "_inspw_random"
INSPW_UPLOAD = "_inspw_upload"
TXT_MODELS = "_txt_models"
TXT_RUN = "_txt_run"

# Filters page
FILT_HIST = "_filt_hist"
FILT_LAYER = "_filt_layer"
FILT_N = "_filt_n"
FILT_PAIRS_LAYER = "_filt_pairs_layer"
FILT_REDUCE = "_filt_reduce"
FILT_SCORES = "_filt_scores"
FILT_UNIT_LAYER = "_filt_unit_layer"

# Gradients page
GRAD_COMPARE = "_grad_compare"
GRAD_EXP = "_grad_exp"
GRAD_EXP_START = "_grad_exp_start"
GRAD_KIND = "_grad_kind"
GRAD_LAYER = "_grad_layer"
GRAD_DEPTH = "grad_depth"
GRAD_FLOW = "grad_flow"
GRAD_HIST = "grad_hist"

# Embeddings page
EMB_COLOUR = "_emb_colour"
EMB_GO = "_emb_go"
EMB_MAP = "_emb_map"
EMB_METHOD = "_emb_method"
EMB_N = "_emb_n"
EMB_RESULTS = "_emb_results"

# Errors page
ERR_CELL = "_err_cell"
ERR_GOTO = "_err_goto"
ERR_LAST_CLICK = "_err_last_click"
ERR_PROBS = "_err_probs"
ERR_GALLERY = "err_gallery"
ERR_GRID = "err_grid"

# Attention page
ATT_FOCUS = "_att_focus"
ATT_GRID = "_att_grid"
ATT_HEAD = "_att_head"
ATT_HEAD_FIG = "_att_head_fig"
ATT_LAST_CLICK = "_att_last_click"
ATT_LAYER = "_att_layer"
ATT_PROBS = "_att_probs"
ATT_ROLLOUT = "_att_rollout"
ATT_TXE = "_att_txe"
ATT_VIEW = "_att_view"

# Sequence page
SEQ_CELL = "_seq_cell"
SEQ_CHANGE = "_seq_change"
SEQ_GATES = "_seq_gates"
SEQ_HIDDEN = "_seq_hidden"
SEQ_PREFIX_FIG = "_seq_prefix_fig"
SEQ_PROBS = "_seq_probs"
SEQ_SORT = "_seq_sort"
SEQ_TRACE = "_seq_trace"
SEQ_TXE = "_seq_txe"

# the session keys saved with it and restored after a refresh (dlviz.ui.state.save_session)
PERSISTED = (
    LANG,
    DATASET,
    DATA_DIR,
    SPEC,
    SPEC_UNDO,
    JOB_ID,
    JOB_ADOPTED,
    RUN_ID,
    RUN_RESTORED,
    TRAIN_SETTINGS,
    PRESENTATION,
    TYPED,
    VIEW,
    PUSH_SEEN,
)  # typed: the sentence typed per text language


# --------------------------------------------------------------------------- keys made per run, layer, language
def replay(run_id: str) -> str:
    """The replay point chosen for a run, kept across pages and languages."""
    return f"_insp_replay_{run_id}"


def replay_widget(run_id: str, lang: str) -> str:
    """The replay slider's own key: it names the language (a keyed slider keeps its old labels in the browser)."""
    return f"_inspw_replay_{run_id}_{lang}"


def sentence(language: str) -> str:
    """The sentence typed for a text model of ``language``, kept across pages (and saved: TYPED)."""
    return f"_txt_sentence_{language}"


def sentence_widget(language: str) -> str:
    return f"_txtw_sentence_{language}"


def insp_choice(name: str) -> str:
    """The kept test-image choice ``name`` ("class", "pos") of the input picker."""
    return f"_insp_{name}"


def canvas(n: int) -> str:
    """The drawing canvas's key: a new number clears it."""
    return f"_inspw_canvas_{n}"


def example_photo(name: str) -> str:
    return f"_inspw_example_{name}"


def strip(i: int) -> str:
    return f"_insp_strip_{i}"


def build_param(rev: int, i: int, name: str) -> str:
    """Layer ``i``'s setting ``name`` on the Build page (``rev``: see ``build_row``)."""
    return f"build_p_{rev}_{i}_{name}"


def train_setting(name: str) -> str:
    """A Train page setting's widget ("lr", "epochs", ...)."""
    return f"_tr_{name}"


def build_row(action: str, rev: int, i: int | None = None) -> str:
    """A layer row's button on the Build page ("up", "down", "rm") or the add/name boxes ("add_pos", "name"):
    ``rev`` changes with the model, so a widget never keeps a value that belonged to another layer list."""
    return f"build_{action}_{rev}" if i is None else f"build_{action}_{rev}_{i}"


def run_curves(run_id: str) -> str:
    return f"curves_{run_id}"


def gan_replay(run_id: str) -> str:
    """A GAN run's replay slider (which epoch's samples)."""
    return f"_gan_replay_{run_id}"


def gan_grid(run_id: str) -> str:
    return f"gan_grid_{run_id}"


def gan_curves(run_id: str) -> str:
    return f"gan_curves_{run_id}"


def run_gallery(run_id: str) -> str:
    return f"gallery_{run_id}"


def text_preview(run_id: str) -> str:
    return f"text_preview_{run_id}"


def run_name(run_id: str) -> str:
    return f"_runs_name_{run_id}"


def link_revoke(token: str) -> str:
    """The Revoke button of one read-only link (Runs page)."""
    return f"_runs_revoke_{token}"


def run_sure(run_id: str) -> str:
    return f"_runs_sure_{run_id}"


def emb_layer(run_id: str) -> str:
    """The Embeddings page's layer for a run (each run has its own layers)."""
    return f"_emb_layer_{run_id}"


def filt_filter(layer: str) -> str:
    return f"_filt_k_{layer}"


def filt_unit(layer: str) -> str:
    return f"_filt_unit_{layer}"


def filt_hist(run_id: str) -> str:
    return f"_filt_hist_{run_id}"


def err_pick(cell) -> str:
    return f"_err_pick_{cell}"


def err_page(cell) -> str:
    return f"_err_page_{cell}"


def err_open(true: int, pred: int, page: int) -> str:
    return f"_err_open_{true}_{pred}_{page}"


# Lessons (dlviz/ui/lesson_widgets.py): the progress (also saved beside the session file), its helpers, the panel
LSN = "_lsn"
LSN_WAITING = "_lsn_waiting"  # a step's snapshots are being trained
LSN_JOBS = "_lsn_jobs"  # snapshot fingerprint -> training job id
LSN_PROBLEMS = "_lsn_problems"  # lesson files that did not load
LSN_GOTO = "_lsn_goto"  # the page Back / Next switches to at the top of the next run
LSN_PANEL = "_lsn_panel"
TO_TOP = "_to_top"  # the next run scrolls its page to the top, once (a lesson step entered, a run started): screen.py
LSN_HIDDEN_BAR = "_lsn_hidden_bar"
LSN_SHOW = "_lsn_show"
LSN_HIDE = "_lsn_hide"
LSN_LEAVE = "_lsn_leave"
LSN_BACK = "_lsn_back"
LSN_NEXT = "_lsn_next"
LSN_GOTO_PAGE = "_lsn_goto_page"
LSN_USE_SNAPSHOT = "_lsn_use_snapshot"


def lsn_choice(lesson: str, step: str, lang: str) -> str:
    """A question's choices (per language: the labels are translated)."""
    return f"_lsn_choice_{lesson}_{step}_{lang}"


def lsn_guess(lesson: str, step: str) -> str:
    return f"_lsn_guess_{lesson}_{step}"


def lsn_lesson(what: str, lesson: str) -> str:
    """The Start page's lesson card and its buttons: what is "card", "start" or "sheet"."""
    return f"_lsn_{what}_{lesson}"


# Autoencoder page
AE_RUN = "_ae_run"
AE_MODELS = "_ae_models"
AE_CODES = "_ae_codes"
AE_PICK = "_ae_pick"
AE_WALK_FROM = "_ae_walk_from"
AE_WALK_TO = "_ae_walk_to"
AE_WALK_AT = "_ae_walk_at"
AE_NOISE = "_ae_noise"
TR_NOISE = "_tr_noise"
TR_RECON_LOSS = "_tr_recon_loss"

# Push and lock (issue 17): the teacher's push reaching a student's session (dlviz.ui.push_widgets)
PUSH_STAMP = "_push_stamp"  # the pushed file's change count this page was drawn for (an open page redraws on news)
PUSH_WHAT = "_push_what"  # the teacher's panel: what to push
PUSH_PAGE = "_push_page"
PUSH_LESSON = "_push_lesson"
PUSH_STEP = "_push_step"
PUSH_LOCKS = "_push_locks"
PUSH_BTN = "_push_btn"
PUSH_LOCKS_BTN = "_push_locks_btn"
PUSH_RELEASE = "_push_release"
PUSH_END = "_push_end"
PUSH_MSG = "_push_msg"  # a sentence for the next run (a push made, locked values put back before a job)
LSN_CLASS_REVEAL = "_lsn_class_reveal"  # the teacher's "reveal to everyone" button on a question step
LSN_CLASS_CLEAR = "_lsn_class_clear"  # the teacher forgets a question's guesses (the next class)
LSN_CLASS_HERE = "_lsn_class_here"  # the teacher's "bring the class to this step"
LSN_CLASS_REVEAL_WAS = "_lsn_class_reveal_was"  # whether it was revealed when the teacher's panel was drawn
