"""The teacher's class dashboard (pages/classroom.py): who is here, every student's curves and best accuracy,
and one click that opens a student's run read-only on the look-inside pages. Redrawn every few seconds (a
fragment), from the run index and the roster's presence only: nothing here loads weights."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dlviz.classroom.dashboard import class_overview, is_student_run
from dlviz.classroom.roster import Roster
from dlviz.errors import DlvizError
from dlviz.plots.classroom import class_curves
from dlviz.tasks import CLASSIFICATION, task_of_spec
from dlviz.ui import keys as K
from dlviz.ui.plain import plain
from dlviz.ui.run_widgets import accuracy_text, run_title, status_text
from dlviz.ui.state import get_store, t
from dlviz.ui.view import VIA_TEACHER, open_view
from dlviz.ui.widgets import show_error

REFRESH_S = 3  # the dashboard redraws itself this often
ONLINE_S = 60  # seen within this long: connected


def _ago(seen: float | None, now: float) -> str:
    if not seen:
        return "–"
    s = max(0, int(now - seen))
    return t("now") if s < 2 else t("{s} s ago", s=s)


def class_dashboard() -> None:
    """One refresh of the dashboard (the page calls it inside ``st.fragment(run_every=REFRESH_S)``)."""
    now = time.time()
    roster = Roster()
    try:
        runs = [r for r in get_store().list(skip_damaged=True) if is_student_run(r)]
    except DlvizError as e:
        show_error(e)
        return
    students, curves = class_overview(runs, roster.people(), roster.connected(within_s=ONLINE_S))
    online = sum(s.online for s in students)
    st.caption(
        t(
            "{online} of {n} students connected, {runs} student runs. Refreshed every {s} s.",
            online=online,
            n=len(students),
            runs=len(runs),
            s=REFRESH_S,
        )
    )
    if not students:
        st.info(
            t("No student has joined yet. Students join with the class code shown on the Start page."),
            icon=":material/groups:",
        )
        return
    # one above the other: beside the chart, the table's eight columns scrolled sideways even at 1400 px
    left, right = st.container(), st.container()
    with left:
        st.subheader(t("Validation accuracy of every run"))
        if curves:
            st.plotly_chart(
                class_curves(curves, tr=t), width="stretch", key=K.CLASS_CURVES, config={"displayModeBar": False}
            )
        else:
            st.caption(t("No curves yet: they appear here as soon as a student's run finishes its first epoch."))
    with right:
        st.subheader(t("Students"))
        st.caption(t("Click a student to open their best run read-only (their newest, without a score yet)."))
        cc = st.column_config
        ss = st.session_state
        table_key = f"{K.CLASS_TABLE}_{ss.get(K.CLASS_TABLE, 0)}"  # a new key after each click: used once
        event = st.dataframe(
            pd.DataFrame(
                [
                    {
                        "here": "●" if s.online else "",
                        "name": s.name,
                        "best": accuracy_text(s.best),
                        "runs": s.runs,
                        "status": status_text(s.status) if s.status else "–",
                        "page": s.page or "–",
                        "params": f"{s.params:,}" if s.params else "–",
                        "seen": _ago(s.seen, now),
                    }
                    for s in students
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "name": cc.TextColumn(t("Name"), width="medium"),
                "here": cc.TextColumn("", help=t("Connected"), width=28),
                "page": cc.TextColumn(t("Page"), width="small"),
                "params": cc.TextColumn(t("Parameters"), alignment="right", width="small"),
                "seen": cc.TextColumn(t("Last seen"), width="small"),
                "runs": cc.NumberColumn(t("Runs"), width=48),
                "best": cc.TextColumn(t("Best accuracy"), alignment="right", width="small"),
                "status": cc.TextColumn(t("Newest run"), width="small"),
            },
            key=table_key,
            on_select="rerun",
            selection_mode="single-row",
        )
    rows = event.selection.rows if event is not None else []
    if rows and rows[0] < len(students):
        ss[K.CLASS_TABLE] = ss.get(K.CLASS_TABLE, 0) + 1
        _open_students_run(students[rows[0]], runs)
    _open_picker(runs, {s.id: s.name for s in students})


def _target_page(run) -> str:
    """Where an opened run shows: a classifier's mistakes on the Errors page, any other run on Train."""
    try:
        return "pages/errors.py" if task_of_spec(run.spec) is CLASSIFICATION else "pages/train.py"
    except Exception:
        return "pages/train.py"


def _open_students_run(student, runs) -> None:
    """A row of the class table clicked: that student's best run (else their newest that has ended), read-only."""
    mine = [r for r in runs if r.owner == student.id and not r.is_active]
    run = next((r for r in mine if r.id == student.best_run), mine[0] if mine else None)
    if run is None:
        st.toast(t("{name} has no run that has ended yet.", name=plain(student.name)), icon=":material/info:")
        return
    open_view(run.id, student.name, VIA_TEACHER)
    st.switch_page(_target_page(run))


def _open_picker(runs, names: dict[str, str]) -> None:
    """Pick any student's run, then one click opens it read-only (the Errors page for a classifier)."""
    if not runs:
        return
    by_id = {r.id: r for r in runs}
    ss = st.session_state
    if ss.get(K.CLASS_PICK) not in by_id:
        ss[K.CLASS_PICK] = runs[0].id

    def label(rid: str) -> str:
        r = by_id[rid]
        return f"{names.get(r.owner, r.owner)} · {run_title(r)} · {status_text(r.status)} · {accuracy_text(r.test_accuracy)}"

    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    labels = {rid: label(rid) for rid in by_id}  # made in the run: a label is never formatted in another language
    rid = c1.selectbox(t("A student's run"), list(by_id), key=K.CLASS_PICK, format_func=labels.__getitem__)
    run = by_id[rid]
    ended = not run.is_active
    page = _target_page(run)
    if c2.button(
        t("Open read-only"),
        icon=":material/visibility:",
        type="primary",
        key=K.CLASS_OPEN,
        disabled=not ended,
        width="stretch",
        help=t(
            "Opens this run on every look-inside page for the whole class to see, read-only: nothing there "
            "changes it. A banner on top leads back to your own run."
        ),
    ):
        open_view(run.id, names.get(run.owner, run.owner), VIA_TEACHER)
        st.switch_page(page)  # the whole app runs again, on the page that shows the run
    if not ended:
        st.caption(t("{name} is still training: it opens when it has ended.", name=plain(run.name)))
