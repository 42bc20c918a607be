"""Runs page: every saved run in a table; open, inspect, rename or delete one."""

import json

import streamlit as st

from dlviz.errors import DlvizError
from dlviz.plots import training_curves
from dlviz.train import evaluate_run
from dlviz.ui import ensure_app, get_store, run_message, save_session, show_error, state, t
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.compare_widgets import compare_section
from dlviz.ui.plain import plain
from dlviz.ui.run_widgets import (
    created_text,
    flash,
    metric_text,
    run_label,
    run_table,
    settings_table,
    show_flash,
    status_text,
)
from dlviz.ui.share_widgets import import_section, share_section
from dlviz.ui.task_views import task_of_run
from dlviz.ui.view import read_only_note, viewed_run_id
from dlviz.ui.waits import wait_with_progress

ensure_app()
ss = st.session_state


def open_run(run_id: str) -> None:
    # a callback runs before the page is drawn, so the table and the link already show the new run
    state.open_run(run_id)


def pick_run(run_id: str) -> None:
    ss[K.RUNS_PICK] = run_id  # a row clicked in the table drives the picker below


st.title(t("Runs"))
show_flash()
store = get_store()
try:
    runs = store.list(skip_damaged=True)  # one damaged row must not hide the others
except DlvizError as e:
    show_error(e)
    st.stop()

if not runs:
    st.info(
        t(
            "No runs yet. Build a model and train it: every training run is saved here, with its settings, "
            "curves and weights, and stays after a restart."
        ),
        icon=":material/history:",
    )
    st.page_link("pages/build.py", label=t("Build a model"), icon=":material/account_tree:")
    st.stop()

st.caption(t("{n} saved runs, newest first. Click a row, or pick a run below, to see its details.", n=len(runs)))
run_table(runs, ss.get(K.RUN_ID), on_pick=pick_run)
compare_section(runs)

ids = [r.id for r in runs]
by_id = {r.id: r for r in runs}
if ss.get(K.RUNS_PICK_NEXT) in by_id:  # a run just imported
    ss[K.RUNS_PICK] = ss.pop(K.RUNS_PICK_NEXT)
if ss.get(K.RUNS_PICK) not in by_id:  # first visit, or the picked run was deleted
    ss[K.RUNS_PICK] = ss[K.RUN_ID] if ss.get(K.RUN_ID) in by_id else ids[0]
rid = st.selectbox(t("Run"), ids, key=K.RUNS_PICK, format_func=lambda i: run_label(by_id[i]))
run = by_id[rid]
is_open = ss.get(K.RUN_ID) == run.id

b1, b2 = st.columns([1, 3], vertical_alignment="center")
b1.button(
    t("Open this run"),
    icon=":material/folder_open:",
    type="primary",
    disabled=is_open,
    key=K.RUNS_OPEN,
    width="stretch",
    on_click=open_run,
    args=(run.id,),
)
if is_open:
    b2.page_link(
        "pages/train.py", label=t("This run is open: see its results on the Train page"), icon=":material/monitoring:"
    )
else:
    b2.caption(
        t(
            "Opening a run shows its results on the Train page and puts it at the top of every look-inside "
            "page, until you open or train another."
        )
    )

st.subheader(plain(run.name))
m1, m2, m3, m4 = st.columns(4)
m1.metric(t("Status"), status_text(run.status))
m2.metric(t("Test {metric}", metric=t(task_of_run(run).metric_title).lower()), metric_text(run))
m3.metric(t("Parameters"), f"{run.params:,}" if run.params is not None else "–")
m4.metric(t("Training time"), t("{s:.1f} s", s=run.train_seconds) if run.train_seconds is not None else "–")
st.caption(
    t(
        "Run {run_id}, created {created} on {device}, dataset {dataset}.",
        run_id=run.id,
        created=created_text(run),
        device=run.device,
        dataset=run.dataset,
    )
)
message = run_message(run)
if message:
    (st.error if run.status == "failed" or (run.metrics or {}).get("verdict") else st.info)(message)
if run.settings.get("subset"):
    st.warning(t("Trained on the offline 5,000-image subset, not on the full MNIST."), icon=":material/warning:")
if not run.is_active and not store.has_weights(run.id):
    try:
        store.load_weights(run.id)  # raises the plain RunError that says why there are no weights
    except DlvizError as e:
        st.warning(
            e.message(ss.get(K.LANG, "en"), escape=plain)
            + " "
            + t("Its settings and curves are still here; only the trained model cannot be loaded."),
            icon=":material/warning:",
        )

elif not run.is_active and st.button(
    t("Check the saved weights on the test set"), icon=":material/fact_check:", key=K.RUNS_CHECK
):
    data_dir = ss.get(K.DATA_DIR) or None  # read here: the work runs outside the script thread
    try:  # a bar against the time it took last time for this model, not a bare spinner
        out = wait_with_progress(
            lambda: evaluate_run(run.id, store, data_dir),
            t("Loading the weights and measuring the test accuracy:"),
            f"evaluate:{(run.spec or {}).get('name', 'model')}",
            default_rate=5.0,
        )
    except DlvizError as e:
        show_error(e)
    else:
        if "test_reconstruction_error" in out:
            said = t(
                "The saved weights load and reconstruct {n:,} test images with an error of {err:.4f}.",
                err=out["test_reconstruction_error"],
                n=out["test_size"],
            )
        else:
            said = None
        st.success(
            said
            or t(
                "The saved weights load and score {acc:.2%} on {n:,} test images.",
                acc=out["test_accuracy"],
                n=out["test_size"],
            )
        )

train_rows, val_rows = run.metrics.get("train") or [], run.metrics.get("val") or []
c1, c2 = st.columns([3, 2])
with c1:
    if train_rows or val_rows:
        st.plotly_chart(
            training_curves(train_rows, val_rows, tr=t, metric=task_of_run(run).metric_title),
            width="stretch",
            config={"displayModeBar": False},
            key=K.RUNS_CURVES,
        )
    else:
        st.info(t("No training curves: this run stopped before its first measurement."))
with c2:
    settings_table(run.settings)
with st.expander(t("Model spec and all settings (JSON)")):
    st.code(json.dumps({"spec": run.spec, "settings": run.settings}, indent=2), language="json")

st.divider()
read_only = read_only_note(run)  # someone else's run viewed read-only, or an imported copy
viewed = run.id == viewed_run_id()
if not me().owns(run.owner):  # a class: a lesson's run, shared with every student, is opened and never changed
    read_only = read_only or t(
        "This run is shared with the whole class: you can open it and look inside, not rename or delete it."
    )
    viewed = True
elif not me().changes(run.owner):  # the teacher on a student's run: open it, never rename or delete it
    read_only = read_only or t(
        "This is a student's run: you can open it and look inside, not rename or delete it (in a class nobody "
        "changes what is not theirs)."
    )
    viewed = True
if read_only:
    st.caption(read_only)
r1, r2 = st.columns(2)
if not read_only:
    with r1.container(border=True):
        st.markdown(f":material/edit: **{t('Rename')}**")
        new_name = st.text_input(t("New name"), value=run.name, key=K.run_name(run.id))
        if st.button(t("Rename"), key=K.RUNS_RENAME):
            try:
                store.rename(run.id, new_name)
            except DlvizError as e:
                show_error(e)
            else:
                flash("success", t("Renamed to {name}.", name=plain(new_name.strip())))
                st.rerun()
if not viewed:  # a run viewed read-only is not deleted from here
    with r2.container(border=True):
        st.markdown(f":material/delete: **{t('Delete')}**")
        if run.is_active:
            st.caption(t("This run is still training. Stop it on the Train page before deleting it."))
        else:
            sure = st.checkbox(t("Yes, delete this run and its weights for good"), key=K.run_sure(run.id))
            if st.button(t("Delete run"), type="primary", disabled=not sure, key=K.RUNS_DELETE) and sure:
                try:
                    store.delete(run.id)
                except DlvizError as e:
                    show_error(e)
                else:
                    if ss.get(K.RUN_ID) == run.id:
                        ss[K.RUN_ID] = None
                        save_session()
                    flash("success", t("Deleted the run {name}.", name=plain(run.name)))
                    st.rerun()

if not viewed and me().owns(run.owner):
    share_section(run)
import_section()
