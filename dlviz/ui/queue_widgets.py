"""The teacher's side of the class's training queue, on the Classroom page (issue 17, item 5): the limits each
student's job must keep (epochs, parameters, wall time; ``dlviz.classroom.limits``), and the queue as it stands
(who trains, who waits and when they start, what ended lately, the jobs at once per device) with a Cancel / Stop
for any student's job. The queue panel is cheap: the queue's own lists under its lock and the roster's names, no
run is read."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dlviz.classroom import TEACHER_ID
from dlviz.classroom.limits import LimitError, StudentLimits, get_limits, set_limits
from dlviz.classroom.queue import CANCELLED, TEACHER_CANCELLED, WALL_STOPPED, WALL_STOPPED_EARLY, FairQueue
from dlviz.classroom.roster import Roster
from dlviz.i18n import N_
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.plain import plain, plain_args
from dlviz.ui.state import get_executor, t
from dlviz.ui.train_widgets import fmt_seconds, ordinal

RECENT = 8  # jobs that ended, shown under the queue


# ---- limits per student ------------------------------------------------------------------------------------------


def limits_text(limits: StudentLimits) -> str:
    """The class's limits in one sentence."""
    if not limits.any:
        return t("No limits: students' runs are only held to the server's own limits.")
    parts = []
    if limits.max_epochs is not None:
        parts.append(t("1 epoch") if limits.max_epochs == 1 else t("{n} epochs", n=limits.max_epochs))
    if limits.max_params is not None:
        parts.append(t("{n} parameters", n=f"{limits.max_params:,}"))
    if limits.max_wall_s is not None:
        parts.append(t("{s} s of training", s=f"{limits.max_wall_s:g}"))
    return t("Each student's run may have at most: {limits}.", limits=", ".join(parts))


def _fill(limits: StudentLimits) -> None:
    ss = st.session_state
    ss[K.CLASS_LIM_EPOCHS] = limits.max_epochs
    ss[K.CLASS_LIM_PARAMS] = limits.max_params
    ss[K.CLASS_LIM_WALL] = None if limits.max_wall_s is None else float(limits.max_wall_s)


def _save() -> None:
    ss = st.session_state
    try:
        new = set_limits(
            StudentLimits(),
            max_epochs=ss.get(K.CLASS_LIM_EPOCHS),
            max_params=ss.get(K.CLASS_LIM_PARAMS),
            max_wall_s=ss.get(K.CLASS_LIM_WALL),
        )
    except LimitError as e:
        ss[K.CLASS_LIM_SAID] = ("error", e.template, e.kwargs)
        return
    _fill(new)
    ss[K.CLASS_LIM_SAID] = ("saved", "", {})


def _clear() -> None:
    set_limits(StudentLimits())
    _fill(StudentLimits())
    st.session_state[K.CLASS_LIM_SAID] = ("cleared", "", {})


def limits_panel() -> None:
    """Number inputs for the three limits (empty: no limit), Save and Clear, and what is in force now."""
    if not me().teacher:
        return
    ss = st.session_state
    now = get_limits()
    if K.CLASS_LIM_EPOCHS not in ss:  # first drawn: the limits in force
        _fill(now)
    with st.container(border=True, key="limits_panel"):
        st.subheader(t("Limits per student"))
        st.caption(
            t(
                "What one student's run may cost. A run over the epochs or the parameters is refused with a "
                "sentence naming the limit; a run that trains longer than the time is stopped and keeps its "
                "weights. Your own runs are not limited. Leave a box empty for no limit."
            )
        )
        st.markdown(t("**Now:** {limits}", limits=limits_text(now)))
        c1, c2, c3 = st.columns(3)
        c1.number_input(t("Most epochs per run"), min_value=1, step=1, value=None, key=K.CLASS_LIM_EPOCHS)
        c2.number_input(t("Most parameters per model"), min_value=1, step=10_000, value=None, key=K.CLASS_LIM_PARAMS)
        c3.number_input(
            t("Most seconds of training per run"),
            min_value=1.0,
            step=30.0,
            value=None,
            format="%g",
            key=K.CLASS_LIM_WALL,
        )
        row = st.container(horizontal=True)
        row.button(t("Save limits"), type="primary", icon=":material/save:", key=K.CLASS_LIM_SAVE, on_click=_save)
        row.button(t("Clear all limits"), icon=":material/block:", key=K.CLASS_LIM_CLEAR, on_click=_clear)
        said = ss.pop(K.CLASS_LIM_SAID, None)
        if said is not None:
            kind, template, args = said
            if kind == "error":
                st.error(t(template, **plain_args(args)), icon=":material/error:")
            elif kind == "cleared":
                st.success(t("Limits cleared: students' new runs are not limited."), icon=":material/check:")
            else:
                st.success(
                    t("Limits saved. Students' new runs are checked against them: {limits}", limits=limits_text(now)),
                    icon=":material/check:",
                )


# ---- the queue ---------------------------------------------------------------------------------------------------


def _names() -> dict[str, str]:
    names = {p.id: p.name for p in Roster().people()}
    names[TEACHER_ID] = t("You (teacher)")
    return names


def _ago(when: float | None, now: float) -> str:
    if not when:
        return "–"
    s = max(0, int(now - when))
    return t("now") if s < 2 else t("{s} s ago", s=s)


def _model(row: dict) -> str:
    model, n = plain(row.get("model") or "model"), row.get("epochs", 0)
    return t("{model}, 1 epoch", model=model) if n == 1 else t("{model}, {n} epochs", model=model, n=n)


def _device(device: str) -> str:
    return t("CPU") if device == "cpu" else device.replace("cuda:", "GPU ")


def _state(row: dict, now: float) -> str:
    if row["status"] == "running":
        return t("Training, started {ago}", ago=_ago(row.get("started"), now))
    place = t("next") if row["place"] == 1 else ordinal(row["place"])
    if row.get("wait_s") is None:
        return t("Waiting ({place})", place=place)
    return t("Waiting ({place}), starts in about {wait}", place=place, wait=fmt_seconds(max(1.0, row["wait_s"])))


def _result(row: dict) -> str:
    text, status = row.get("text") or "", row["status"]
    if text in (CANCELLED, TEACHER_CANCELLED):
        return t("Cancelled by you") if row.get("by_teacher") else t("Cancelled while waiting")
    if status == "stopped":
        if row.get("by_teacher"):
            return t("Stopped by you")
        if text in (WALL_STOPPED, WALL_STOPPED_EARLY):
            return t("Stopped at the time limit")
        return t("Stopped")
    if status == "failed":
        why = t(text, **plain_args(row.get("text_args") or {})) if text else ""
        return t("Failed: {why}", why=why) if why else t("Failed")
    if status == "finished":
        return t("Finished")
    return t(status)


def queue_panel() -> None:
    """One refresh of the queue (the page calls it inside a fragment that reruns every few seconds)."""
    if not me().teacher:
        return
    ex = get_executor()
    if not isinstance(ex, FairQueue):  # not a class server: runs start at once, there is no queue
        return
    with st.container(border=True, key="queue_panel"):
        _queue(ex)


def _queue(ex: FairQueue) -> None:
    ss = st.session_state
    now = time.time()
    names = _names()
    active = ex.overview()
    recent = ex.recent(RECENT)
    st.subheader(t("Training queue"))
    slots = ", ".join(f"{_device(d)}: {n}" for d, n in ex.slots.items())
    training = sum(r["status"] == "running" for r in active)
    if active:
        st.caption(
            t(
                "{training} training, {waiting} waiting. Jobs at once: {slots}.",
                training=training,
                waiting=len(active) - training,
                slots=slots,
            )
        )
    else:
        st.caption(t("Nobody is training or waiting. Jobs at once: {slots}.", slots=slots))
    said = ss.get(K.CLASS_QUEUE_SAID)
    if said:
        st.success(t(said[0], **plain_args(said[1])), icon=":material/check:")

    def name(r: dict) -> str:
        return names.get(r["owner"], r["owner"] or "–")

    if active:
        _table(
            active,
            [
                ("name", t("Name"), name),
                ("state", t("In the queue"), lambda r: _state(r, now)),
                ("model", t("Model"), _model),
                ("device", t("Device"), lambda r: _device(r["device"])),
            ],
            "class_queue_table",
        )
        _moderate(ex, active, names, now)
    if recent:
        st.markdown(t("**Ended lately**"))
        _table(
            recent,
            [
                ("name", t("Name"), name),
                ("result", t("Result"), _result),
                ("model", t("Model"), _model),
                ("ended", t("Ended"), lambda r: _ago(r["ended"], now)),
            ],
            "class_queue_recent",
        )


def _table(rows: list[dict], columns: list[tuple], key: str) -> None:
    """A read-only table of jobs: one row per job, ``columns`` as (column, heading, the job's value) in order."""
    cc = st.column_config
    st.dataframe(
        pd.DataFrame([{col: value(r) for col, _, value in columns} for r in rows]),
        hide_index=True,
        width="stretch",
        column_config={col: cc.TextColumn(heading) for col, heading, _ in columns},
        key=key,
    )


def _moderate(ex: FairQueue, active: list[dict], names: dict[str, str], now: float) -> None:
    """Pick any job training or waiting and cancel (waiting) or stop (training) it; its student's page says the
    teacher did it."""
    ss = st.session_state
    by_id = {r["job_id"]: r for r in active}
    if ss.get(K.CLASS_QUEUE_PICK) not in by_id:
        ss[K.CLASS_QUEUE_PICK] = active[0]["job_id"]
    labels = {
        j: f"{names.get(r['owner'], r['owner'] or '–')} · {_state(r, now)} · {_model(r)}" for j, r in by_id.items()
    }
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    job_id = c1.selectbox(t("A job in the queue"), list(by_id), key=K.CLASS_QUEUE_PICK, format_func=labels.get)
    row = by_id[job_id]
    running = row["status"] == "running"
    c2.button(
        t("Stop it") if running else t("Cancel it"),
        icon=":material/stop:" if running else ":material/close:",
        key=K.CLASS_QUEUE_STOP,
        width="stretch",
        help=t("The student's Train page says that you stopped or cancelled it. A stopped run keeps its weights."),
        on_click=_stop,
        args=(ex, by_id, names),
    )


def _stop(ex: FairQueue, by_id: dict[str, dict], names: dict[str, str]) -> None:
    """The teacher's Cancel / Stop (a callback: the queue's tables are drawn after it). The job is the one picked
    now, read from the picker's state: a callback's args are bound when the button was drawn, so a job picked just
    before the click would otherwise have stopped the one picked before it (another student's run)."""
    job_id = st.session_state.get(K.CLASS_QUEUE_PICK)
    if job_id not in by_id:
        return
    owner = by_id[job_id]["owner"]
    name = names.get(owner, owner or "–")
    waiting = ex.snapshot(job_id).status == "queued"  # as it is now, not as it was drawn
    ex.stop(job_id, by=TEACHER_ID)
    ex.resume(job_id)  # a paused job must wake up to stop
    if owner == TEACHER_ID:
        said = (N_("You stopped your own run."), {})
    elif waiting:
        said = (N_("You cancelled {name}'s waiting run; their Train page says you did."), {"name": name})
    else:
        said = (N_("You stopped {name}'s run; their Train page says you did."), {"name": name})
    st.session_state[K.CLASS_QUEUE_SAID] = said
