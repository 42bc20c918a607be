"""Per-session state that survives a browser refresh, and the process-wide shared objects.

A refresh gives Streamlit a new session, so the few things a user would hate to lose (the model
being built, the language, the dataset, the training job being watched) are written to
``$DLVIZ_HOME/sessions/<sid>.json``; ``sid`` rides in the URL (``?s=...``). A new tab gets its own
``sid``, so two tabs build and train independently.

On a class server (``dlviz.classroom.class_mode()``) nothing rides in the URL: the sign-in
(``dlviz.ui.signin``) gives the session its ``sid``, a cookie brings it back after a refresh, the saved
file names its owner and is read only by them, and the data folder is the server's.
"""

from __future__ import annotations

import copy
import json
import multiprocessing as mp
import os
import re
import secrets
import sys
import threading
import time

import streamlit as st

from dlviz.classroom import class_mode
from dlviz.classroom.owned import store_for
from dlviz.classroom.queue import FairQueue, for_server, set_job_threads
from dlviz.data import load_dataset
from dlviz.errors import DlvizError, RunError
from dlviz.i18n import translate
from dlviz.modality import IMAGE, modality_of
from dlviz.models import PRESETS
from dlviz.runs import RunStore, dlviz_home
from dlviz.train import LocalExecutor
from dlviz.train.process import make_executor
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.inputs import InputImage
from dlviz.ui.plain import plain_args

PERSISTED = K.PERSISTED  # what a refresh keeps
UNDO_DEPTH = 30
_SID = re.compile(r"^[a-f0-9]{16}$")


def t(text: str, /, **kwargs) -> str:
    """Translate for this session's language."""
    return translate(text, st.session_state.get(K.LANG, "en"), **kwargs)


def _cli_data_dir() -> str:
    """``streamlit run app.py -- --data-dir DIR`` or $DLVIZ_DATA_DIR."""
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a == "--data-dir" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--data-dir="):
            return a.split("=", 1)[1]
    return os.environ.get("DLVIZ_DATA_DIR", "")


def _session_file(sid: str):
    folder = dlviz_home() / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{sid}.json"


def init_session() -> None:
    """Fill ``st.session_state`` once per session: from the saved file for ``?s=``, else defaults."""
    ss = st.session_state
    in_class = class_mode()
    if K.SID not in ss:
        # in a class the sign-in gave the session id (never the URL: a projected link must open nothing)
        sid = ss.pop(K.CLASS_SID, "") if in_class else st.query_params.get("s", "")
        if not _SID.match(sid or ""):
            sid = secrets.token_hex(8)
        ss[K.SID] = sid
        saved = {}
        path = _session_file(sid)
        if path.exists():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                saved = {}  # a damaged session file only loses the draft, never the app
        if in_class and (not isinstance(saved, dict) or saved.get("owner") != me().id):
            saved = {}  # a draft belongs to its owner: anyone else starts afresh
        lang = ss.get(K.LANG) if in_class else None  # the language picked on the sign-in screen
        ss[K.LANG] = saved.get(K.LANG, lang or os.environ.get("DLVIZ_LANG", "en"))
        ss[K.DATASET] = saved.get(K.DATASET, "mnist")
        # in a class the data folder is the server's setting, never a visitor's
        ss[K.DATA_DIR] = _cli_data_dir() if in_class else saved.get(K.DATA_DIR, _cli_data_dir())
        ss[K.SPEC] = saved.get(K.SPEC) or PRESETS["mlp"].copy_spec()
        ss[K.SPEC_UNDO] = saved.get(K.SPEC_UNDO, [])
        ss[K.JOB_ID] = saved.get(K.JOB_ID)
        ss[K.JOB_ADOPTED] = saved.get(K.JOB_ADOPTED)
        ss[K.TRAIN_SETTINGS] = saved.get(K.TRAIN_SETTINGS, {})
        ss[K.PRESENTATION] = bool(saved.get(K.PRESENTATION, False))
        seen = saved.get(K.PUSH_SEEN)
        ss[K.PUSH_SEEN] = seen if isinstance(seen, int) else 0  # the teacher's last push this session applied
        typed = saved.get(K.TYPED)
        ss[K.TYPED] = {str(k): str(v) for k, v in typed.items()} if isinstance(typed, dict) else {}
        for language, text in ss[K.TYPED].items():  # the text pages' sentence box, as it was before the refresh
            ss[K.sentence(language)] = text
        _restore_input(saved.get("inspect"))
        ss[K.RUN_ID] = saved.get(K.RUN_ID)
        ss[K.VIEW] = saved.get(K.VIEW) if isinstance(saved.get(K.VIEW), dict) else None  # checked on every page
        store = get_store()
        if ss[K.JOB_ID] and not get_executor().has(ss[K.JOB_ID]):
            ss[K.JOB_ID] = None  # the app restarted: that job's run is in the store (interrupted or done)
        ss[K.RUN_RESTORED] = bool(saved.get(K.RUN_RESTORED, False))
        if not ss[K.RUN_ID]:
            try:
                # in a class, each person's own last run (the teacher's too), never a classmate's
                last = _last_run_of_kind(store, ss[K.DATASET], owner=me().id if in_class else None)
            except RunError:
                last = None  # a damaged index: every page says so (index_notice) and the app goes on
            ss[K.RUN_ID] = last.id if last else None  # reopen the last run (of this dataset's kind) after a restart
            ss[K.RUN_RESTORED] = last is not None
    if in_class:
        if "s" in st.query_params:
            del st.query_params["s"]  # a session id from a link grants nothing here, and is not shown
        return
    # navigation between pages clears the query string; put the session id back every run
    if st.query_params.get("s") != ss[K.SID]:
        st.query_params["s"] = ss[K.SID]


def _last_run_of_kind(store: RunStore, dataset: str, owner: str | None = None):
    """The newest run that reads what ``dataset`` holds (sentences or images), or None. A new session on MNIST
    no longer opens a transformer trained on rt-polarity, which every image page then had to explain away.
    The lessons' runs are skipped: after `lessons prepare` the newest run on the computer was the last lesson's
    GAN, which a new session then opened on every page as "the last run trained on this computer"."""
    from dlviz.lessons import snapshots

    try:
        reads = modality_of(dataset or "mnist")
    except DlvizError:
        reads = IMAGE  # a CSV deleted since: the last image run, as before
    lessons = snapshots.run_ids(store)
    for run in store.list(skip_damaged=True, owner=owner):
        if run.id not in lessons and modality_of(run) is reads:
            return run
    return None


def input_snapshot() -> dict:
    """The Inspect/Explain input choice, as saved with the session: the mode (test image, draw, upload), the
    test image's class and number, the drawing's strokes, and a drawn or uploaded digit as its 28 x 28 pixels."""
    ss = st.session_state
    out = {
        "mode": ss.get(K.INSP_MODE),
        "class": ss.get(K.INSP_CLASS),
        "pos": ss.get(K.INSP_POS),
        "strokes": ss.get(K.INSP_DRAWING_JSON),
    }
    inp = ss.get(K.INSP_INPUT)
    source = getattr(inp, "source", None)
    if source == "test":
        out["index"] = getattr(inp, "index", None)
    elif source in ("drawn", "upload"):
        try:
            pixels = [round(float(v), 4) for v in inp.x.reshape(-1).tolist()]
        except (AttributeError, RuntimeError, TypeError, ValueError):
            pixels = None
        if pixels is not None and len(pixels) == 28 * 28:
            upload = ss.get(K.INSP_UPLOAD)
            name = upload[0] if source == "upload" and upload else ss.get(K.INSP_UPLOAD_NAME)
            out["digit"] = {"source": source, "pixels": pixels, "name": name}
    return {k: v for k, v in out.items() if v is not None}


def _restore_input(saved) -> None:
    """Put the saved input choice back (see ``input_snapshot``); anything malformed is skipped."""
    if not isinstance(saved, dict):
        return
    import torch

    ss = st.session_state
    if saved.get("mode") in ("test", "draw", "upload"):
        ss[K.INSP_MODE] = saved["mode"]
    for key in ("class", "pos"):
        if isinstance(saved.get(key), int) and saved[key] >= 0:
            ss[K.insp_choice(key)] = saved[key]
    if isinstance(saved.get("strokes"), dict):
        ss[K.INSP_DRAWING_JSON] = saved["strokes"]  # the canvas draws them again (initial_drawing)
    digit = saved.get("digit")
    if isinstance(saved.get("index"), int) and saved["index"] >= 0:
        ss[K.INSP_INPUT] = InputImage(
            x=torch.zeros(1, 28, 28), label=None, caption="", source="test", index=saved["index"]
        )  # re-read from the run's test set when shown
    elif isinstance(digit, dict) and digit.get("source") in ("drawn", "upload"):
        try:
            x = torch.tensor([float(v) for v in digit.get("pixels", [])], dtype=torch.float32).clamp(0, 1)
            x = x.reshape(3, 32, 32) if x.numel() == 3 * 32 * 32 else x.reshape(1, 28, 28)  # a colour upload
        except (TypeError, ValueError, RuntimeError):
            return
        name = str(digit.get("name") or "")
        if digit["source"] == "upload":
            ss[K.INSP_UPLOAD_NAME] = name
        caption = t("Your drawing") if digit["source"] == "drawn" else t("Uploaded: {name}", name=name)
        ss[K.INSP_INPUT] = InputImage(x=x, label=None, caption=caption, source=digit["source"])


def save_session() -> None:
    ss = st.session_state
    if K.SID not in ss:
        return  # no session yet (a class server's sign-in screen, or just signed out): nothing of it to keep
    data = {k: ss.get(k) for k in PERSISTED}
    data["inspect"] = input_snapshot()
    ss[K.INSP_SAVED_INPUT] = data["inspect"]
    if class_mode():
        data["owner"] = me().id  # read back only by its owner (init_session)
    try:
        path = _session_file(ss[K.SID])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # read-only home: the session simply is not restored after a refresh


def open_run(run_id: str | None) -> None:
    """Make ``run_id`` the open run: the one the Train page and every look-inside page's header show.

    The rule (docs/architecture.md, "The open run"): the run a user opened or trained last is the open
    run until they pick another. Opening one (Runs page, a look-inside picker) and a training job's run
    appearing both come here; nothing else changes ``run_id``.
    """
    ss = st.session_state
    view = ss.get(K.VIEW)
    if isinstance(view, dict) and view.get("run_id") != run_id:
        ss[K.VIEW] = None  # another run opened: the read-only view of someone else's run ends (dlviz.ui.view)
    ss[K.RUN_ID] = run_id
    ss[K.RUN_RESTORED] = False  # chosen in this session, not reopened from an earlier one
    save_session()


def adopt_job_run(job_id: str, run_id: str) -> bool:
    """The run a job of this session creates becomes the open run, once: when it appears. A run the user
    opens afterwards, while the job trains or after it ended, stays open. True if it was adopted now."""
    ss = st.session_state
    if ss.get(K.JOB_ADOPTED) == job_id:
        return False
    ss[K.JOB_ADOPTED] = job_id
    open_run(run_id)
    return True


def run_message(run) -> str:
    """A run's end message in this session's language (stored as template + arguments)."""
    msg = (run.metrics or {}).get("message") or {}
    if msg.get("template"):
        return t(msg["template"], **plain_args(msg.get("args", {})))
    return t(run.message) if run.message else ""


def current_spec() -> dict:
    return st.session_state[K.SPEC]


def set_spec(spec: dict, undoable: bool = True) -> None:
    """Replace the model being built; the previous one goes on the undo stack."""
    ss = st.session_state
    if undoable and spec != ss[K.SPEC]:
        ss[K.SPEC_UNDO] = (ss[K.SPEC_UNDO] + [copy.deepcopy(ss[K.SPEC])])[-UNDO_DEPTH:]
    ss[K.SPEC] = spec
    save_session()


def undo_spec() -> bool:
    ss = st.session_state
    if not ss[K.SPEC_UNDO]:
        return False
    ss[K.SPEC] = ss[K.SPEC_UNDO].pop()
    save_session()
    return True


def set_dataset(name: str) -> None:
    """Make ``name`` the session's dataset, and the sidebar's Dataset box with it: the box keeps the value the browser
    last sent, so a dataset set without it (a lesson's step did) was put back by the box on the next run."""
    ss = st.session_state
    ss[K.DATASET] = name
    ss[K.DATASET_SELECT_NEXT] = name  # read before the box is drawn (dlviz.ui.widgets.sidebar)


@st.cache_resource(show_spinner=False)
def get_executor() -> LocalExecutor | FairQueue:
    """One executor per server; each session keeps its own job ids, so tabs train independently.
    Jobs train in child processes (``ProcessExecutor``); DLVIZ_EXECUTOR=thread keeps them in threads.
    On a class server the jobs go through one fair queue (``dlviz.classroom.queue``); alone they start at once."""
    ex = for_server(make_executor())
    if isinstance(ex, FairQueue):
        set_job_threads(ex)  # a class server: one core left to the pages (dlviz.classroom.queue)
    # Runs left 'running' by an earlier server become 'interrupted'. Start-up clean-up belongs to the
    # server process alone: a training child never runs the app (dlviz.train.process), and if one
    # somehow did, it must not mark the runs other users are training.
    if mp.parent_process() is None:
        try:
            RunStore().mark_interrupted(ex.active_run_ids())
        except RunError:
            pass  # a damaged index: every page says so and offers to rebuild it (dlviz.ui.nav)
    return ex


def get_store() -> RunStore:
    """The run store as this session's person may use it: everything alone or for the teacher, a student's
    own runs for a student (``dlviz.classroom.owned``)."""
    get_executor()  # make sure stale 'running' rows were marked first
    person = me()
    return store_for(person, also=frozenset() if person.sees_all else _linked_run())


def _linked_run() -> frozenset[str]:
    """The run of the read-only link this session has open (dlviz.ui.view), while the link lives: a student may
    open it besides their own runs."""
    view = st.session_state.get(K.VIEW)
    if not isinstance(view, dict) or view.get("via") != "link" or not view.get("token"):
        return frozenset()
    from dlviz.classroom.share import ShareLinks

    entry = ShareLinks().resolve(view.get("token"))
    if entry is None or entry.get("run_id") != view.get("run_id"):
        return frozenset()
    return frozenset({str(view["run_id"])})


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_dataset(name: str, data_dir: str, _progress=None):
    # shared read-only tensors; a user's model never goes in cache_resource (DESIGN habit 5)
    return load_dataset(name, data_dir or None, progress=_progress)


_WARMED: set = set()
_WARM_LOCK = threading.Lock()


def _warm_one(name: str, data_dir: str) -> None:
    try:
        # only a dataset already on this machine: a warm-up never downloads (a page does, with its progress bar)
        load_dataset(name, data_dir or None, allow_download=False)
        _cached_dataset(name, data_dir)
    except Exception:  # noqa: BLE001 - a warm-up never fails anything: the page loads it and says what is wrong
        pass


def warm_datasets(names, data_dir: str | None = None) -> list[threading.Thread]:
    """Load ``names`` (with this session's data folder) into the process's dataset cache in daemon threads, once
    per process and folder, so the first page that shows them does not wait for the files (0.5-2 s for MNIST on
    this machine: every lesson's first step on an image dataset paid it, issue 18). Datasets not on this machine
    are skipped (never downloaded here). ``data_dir``: the session's data folder unless given. Returns the threads
    started by this call."""
    data_dir = (st.session_state.get(K.DATA_DIR) if data_dir is None else data_dir) or ""
    started = []
    with _WARM_LOCK:
        for name in dict.fromkeys(n for n in names if n):
            key = (name, data_dir)
            if key in _WARMED:
                continue
            _WARMED.add(key)
            th = threading.Thread(target=_warm_one, args=key, daemon=True, name=f"dlviz-data-warm-up-{name}")
            th.start()
            started.append(th)
    return started


def get_data(name: str | None = None, data_dir: str | None = None):
    """The dataset, loaded once per process; a download shows a progress bar. Raises DataError."""
    ss = st.session_state
    slot = st.empty()

    def progress(fraction: float, text: str) -> None:
        slot.progress(
            min(max(fraction, 0.0), 1.0), text=t("Downloading {name}: {text}", name=name or ss[K.DATASET], text=text)
        )

    key = (name or ss[K.DATASET], ss[K.DATA_DIR] if data_dir is None else data_dir)
    try:
        data = _cached_dataset(*key, progress)
        notice = getattr(data, "notice", None)
        if notice and isinstance(notice[1], dict) and time.time() > notice[1].get("retry_at", float("inf")):
            _cached_dataset.clear()  # a failed download's wait is over: the next load tries again
            data = _cached_dataset(*key, progress)
        return data
    finally:
        slot.empty()
