"""Train page: the recipe, Train / Pause / Resume / Stop, live curves, then test accuracy and predictions."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.data import ALL_DATASETS, get_info
from dlviz.errors import DlvizError
from dlviz.models import build
from dlviz.models.builder import check_budget, estimate
from dlviz.models.presets import fit_classes
from dlviz.tasks import task_of_spec
from dlviz.train import TrainJob
from dlviz.ui import current_spec, get_executor, get_store, save_session, show_error, t
from dlviz.ui.classroom import me
from dlviz.ui.gan_widgets import chosen_gan
from dlviz.ui.kinds import kind_of
from dlviz.ui.plain import plain, plain_args
from dlviz.ui.push_widgets import hold_submit
from dlviz.ui.run_widgets import run_title
from dlviz.ui.screen import ask_to_top, presenting, to_top_if_asked
from dlviz.ui.state import adopt_job_run
from dlviz.ui.train_widgets import live_panel, result_view, settings_form, settings_summary

ss = st.session_state
ex = get_executor()
job_id = ss[K.JOB_ID] if ss[K.JOB_ID] and ex.has(ss[K.JOB_ID]) else None
snap = ex.snapshot(job_id) if job_id else None
active = bool(snap and not snap.done)
# Fixed slots: what is above the buttons changes when a run starts or ends (the settings fold into one line), and
# an element whose position changes is briefly drawn twice while the page reruns (a stale and a new Train button).
# In containers drawn on every run, the Train row is always the same element of the page.
head = st.container()  # title, intro, the model or the training line, the settings
row = st.container(horizontal=True)  # Train, then Cancel (waiting) or Pause/Resume and Stop
said = st.empty()  # why a Train press was refused (no room taken otherwise)
with said:
    to_top_if_asked()  # a run just started: the settings fold and the live curves take the screen from the top
with head:
    if not (active and presenting()):  # on a projector, while a run trains, the curves need the height
        st.title(t("Train"))
    info = get_info(ss[K.DATASET])
    if not active:  # while a run trains, the curves get the screen (issue 13: a projector at 1280x720)
        st.caption(t(kind_of(info).train_intro))
    gan = chosen_gan(ss[K.DATASET], ask=not active)  # "draw new digits": the DCGAN instead of the Build page's model
    spec = gan or current_spec()
    spec = fit_classes(spec, info.num_classes)  # a preset used unchanged gives one score per class of this dataset
    try:
        task = task_of_spec(
            spec
        )  # an autoencoder ends in its input's shape (the task checks it), a classifier in scores
        built = task.build(spec) or build(spec, info.input_shape, task.classes(info))
        if task.classes(info) is None:
            task.check_output(built.table[-1].output_shape, tuple(info.input_shape))
    except DlvizError as e:
        show_error(e)
        st.page_link("pages/build.py", label=t("Fix the model on the Build page"), icon=":material/account_tree:")
        st.stop()
    model_line = t(
        "**Model to train:** {name}, {params:,} parameters. **Data:** {dataset}.",
        name=plain(spec.get("name", "model")),
        params=built.params,
        dataset=t(info.title),
    )

    if snap and snap.run_id:
        adopt_job_run(job_id, snap.run_id)  # a new job's run opens once; a run opened after it stays open

    if active:  # the settings fold into one line; they come back, as they were, when the run ends
        cfg = None
        st.markdown(
            t(
                "**Training:** {name} on {dataset}. {settings}",
                name=plain(spec.get("name", "model")),
                dataset=t(info.name),
                settings=settings_summary(ss[K.TRAIN_SETTINGS]),
            )
        )
    else:
        st.markdown(model_line)
        cfg = settings_form(spec)
if row.button(t("Train"), type="primary", disabled=active, icon=":material/play_arrow:", key=K.TRAIN_BTN):
    try:
        cfg = cfg.validated()
        if gan is None:  # a GAN is a preset of fixed size; a layer list is checked against the server's limits
            check_budget(estimate(spec, info.input_shape), cfg.batch_size)
    except DlvizError as e:
        with said:
            show_error(e)
    else:
        classic = True if ss.get(K.TR_CLASSIC) else None  # None: the modality's habit (text: TF-IDF, always)
        # in a class, the server's side of the teacher's locks: the job trains the locked values, whatever came in
        dataset, spec, cfg = hold_submit(ss[K.DATASET], spec, cfg, info.num_classes)
        job = TrainJob(dataset, spec, cfg, data_dir=ss[K.DATA_DIR] or None, baseline=classic, owner=me().id)
        refused = ex.refusal(job) if hasattr(ex, "refusal") else None  # a class: over a limit, or one waiting
        if refused is not None:
            with said:
                show_error(refused)  # said here, and the job this session watches stays
        else:
            ss[K.JOB_ID] = ex.submit(job)  # the run belongs to job.owner (alone: '')
            save_session()
            ask_to_top()
            st.rerun()
if active and snap.place:  # waiting in a class's queue: the one thing to do is leave it
    if row.button(t("Cancel"), icon=":material/close:", key=K.CANCEL_BTN):
        ex.stop(job_id)
        st.rerun()
elif active:
    if snap.status == "paused":
        if row.button(t("Resume"), icon=":material/resume:", key=K.RESUME_BTN):
            ex.resume(job_id)
            st.rerun()
    elif row.button(t("Pause"), icon=":material/pause:", key=K.PAUSE_BTN):
        ex.pause(job_id)
        st.rerun()
    if row.button(t("Stop"), icon=":material/stop:", key=K.STOP_BTN):
        ex.stop(job_id)
        ex.resume(job_id)


@st.fragment(run_every=0.5)
def live() -> None:
    s = ex.snapshot(job_id)
    if s.done or (s.run_id and ss.get(K.JOB_ADOPTED) != job_id) or bool(s.place) != bool(snap.place):
        # the whole page redraws once: with the final results (polling stops), the new run open, or the job out of
        # the queue (Cancel becomes Pause and Stop)
        st.rerun()
    live_panel(s)


@st.fragment(run_every=0.5)
def settling() -> None:
    """A stopped run's test set is scored in the background: its progress, then the page once more."""
    s = ex.snapshot(job_id)
    if not s.settling:
        st.rerun()  # the result is in: the whole page redraws with the test accuracy
    text, args, frac = s.background or ("Measuring accuracy on the test set...", {}, None)
    st.progress(
        min(max(frac or 0.0, 0.0), 1.0),
        text=t("In the background: {what} You can go on meanwhile.", what=t(text, **args)),
    )


if active:
    live()
if ss[K.RUN_ID] and not (active and ss[K.RUN_ID] == snap.run_id):
    try:
        run = get_store().get(ss[K.RUN_ID])
    except DlvizError:
        run = None
    if run:
        st.divider()
        st.subheader(t("Open run: {name}", name=plain(run_title(run))))
        if ss.get(K.RUN_RESTORED):
            st.caption(t("Reopened: the last run trained on this computer. Press Train to train your own."))
        run_model = (run.spec or {}).get("name", "model")
        if run.dataset != ss[K.DATASET] or run_model != spec.get("name", "model"):
            # the open run and the model above differ (the dataset or the model was changed since): say which is which
            st.caption(
                t(
                    "This is the run you opened or trained last: {model} on {dataset}. It is not the model "
                    "above; Train trains {draft} on {draft_data} as a new run.",
                    model=plain(run_model),
                    dataset=get_info(run.dataset).name if run.dataset in ALL_DATASETS else run.dataset,
                    draft=plain(spec.get("name", "model")),
                    draft_data=t(info.title),
                )
            )
        if snap and snap.settling and snap.run_id == run.id:
            settling()
        result_view(run)
if snap and snap.done and snap.status == "failed" and not snap.run_id:
    st.error(t(snap.text, **plain_args(snap.text_args)))  # failed before a run was created (e.g. data not found)
elif snap and snap.done and snap.status == "stopped" and not snap.run_id and snap.text:
    st.info(t(snap.text, **plain_args(snap.text_args)))  # stopped while the data loaded
