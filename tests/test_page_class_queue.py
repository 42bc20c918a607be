"""The teacher's limits panel and queue panel on the Classroom page (issue 17, item 5), in AppTest: limits saved
on the page reach ``get_limits`` and refuse a student's run over them on the Train page; the queue panel lists
a job training and one waiting; the teacher cancels a student's waiting job (or stops a training one) and the
student's Train page says the teacher did it; a student sees neither panel. The jobs run in a fake executor
that trains nothing (tests/test_classroom_queue.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import streamlit as st
from page_util import page_as, path_of
from test_classroom_queue import FakeExecutor, _job, _wait_for

from dlviz.classroom import TEACHER_ID, Person
from dlviz.classroom.limits import StudentLimits, get_limits, set_limits
from dlviz.classroom.queue import TEACHER_CANCELLED, TEACHER_STOPPED, TEACHER_STOPPED_EARLY, FairQueue
from dlviz.classroom.roster import Roster
from dlviz.runs import RunStore
from dlviz.train import JobResult
from dlviz.ui import keys as K
from dlviz.ui import state

TEACHER = Person(TEACHER_ID, "Teacher", "teacher")


@pytest.fixture
def klass(home, monkeypatch):
    """A class server whose queue (one job at a time) fronts a fake trainer; Ana and Ben joined."""
    inner = FakeExecutor()
    monkeypatch.setenv("DLVIZ_CLASS", "1")
    monkeypatch.setenv("DLVIZ_MAX_JOBS", "1")
    monkeypatch.setenv("DLVIZ_TRAIN_THREADS", "1")
    monkeypatch.setattr(state, "make_executor", lambda: inner)
    st.cache_resource.clear()
    roster = Roster()
    ana, ben = roster.join(roster.class_code(), "Ana"), roster.join(roster.class_code(), "Ben")
    try:
        q = state.get_executor()
        assert isinstance(q, FairQueue)
        yield {"q": q, "inner": inner, "ana": ana, "ben": ben}
        q.close()
    finally:
        st.cache_resource.clear()


def _open(app, page: str, person: Person, lang: str = "en"):
    at = app()
    at.session_state[K.PERSON] = person
    if lang != "en":
        at.session_state["_lang_select"] = lang
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _train(at):
    at.button(key=K.TRAIN_BTN).click().run()
    assert not at.exception, at.exception
    return at


def _bens_job_trains(k) -> str:
    job = k["q"].submit(_job(k["ben"].id))
    _wait_for(lambda: k["q"].running() == [job])
    return job


def _queue_table(at):
    return next(d.value for d in at.dataframe if "state" in d.value.columns)


def test_limits_saved_on_the_page_refuse_a_students_run_over_them(app, klass):
    teacher = _open(app, "pages/classroom.py", TEACHER)
    assert any("No limits" in m.value for m in teacher.markdown)
    teacher.number_input(key=K.CLASS_LIM_PARAMS).set_value(1000)
    teacher.number_input(key=K.CLASS_LIM_WALL).set_value(90.0)
    teacher.button(key=K.CLASS_LIM_SAVE).click().run()
    assert not teacher.exception, teacher.exception
    assert get_limits() == StudentLimits(max_epochs=None, max_params=1000, max_wall_s=90.0)
    assert any("Limits saved" in s.value for s in teacher.success)
    assert any("1,000 parameters" in m.value and "90 s of training" in m.value for m in teacher.markdown)
    # Ana's model (the default MLP) is far over 1,000 parameters: the Train page says so, and nothing is queued
    ana = _train(_open(app, "pages/train.py", klass["ana"]))
    assert any("Your teacher allows models of at most 1,000 parameters" in e.value for e in ana.error), ana.error
    assert not klass["inner"].started and not klass["q"].waiting()
    # Clear: no limits, and the boxes are empty again; Ana's run is taken
    teacher.button(key=K.CLASS_LIM_CLEAR).click().run()
    assert not teacher.exception, teacher.exception
    assert not get_limits().any and teacher.number_input(key=K.CLASS_LIM_PARAMS).value is None
    assert any("Limits cleared" in s.value for s in teacher.success)
    _train(ana)
    assert not ana.error
    _wait_for(lambda: klass["inner"].started == [klass["ana"].id])


def test_the_limits_panel_in_chinese_shows_the_limits_in_force(app, klass):
    set_limits(max_epochs=3)
    at = _open(app, "pages/classroom.py", TEACHER, lang="zh")
    assert any(s.value == "每位学生的限制" for s in at.subheader)
    assert any("3 轮" in m.value for m in at.markdown)
    assert at.number_input(key=K.CLASS_LIM_EPOCHS).value == 3  # the box starts at the limit in force


def test_the_queue_panel_lists_who_trains_and_who_waits_and_the_teacher_cancels(app, klass):
    q = klass["q"]
    _bens_job_trains(klass)
    ana = _train(_open(app, "pages/train.py", klass["ana"]))
    job = ana.session_state[K.JOB_ID]
    assert q.snapshot(job).status == "queued"
    teacher = _open(app, "pages/classroom.py", TEACHER)
    table = _queue_table(teacher)
    assert list(table["name"]) == ["Ben", "Ana"]
    assert table["state"][0].startswith("Training") and table["state"][1].startswith("Waiting (next)")
    assert any("1 training, 1 waiting. Jobs at once: CPU: 1." in c.value for c in teacher.caption)
    # the teacher picks Ana's job and clicks at once, in one run: Ana's is cancelled, never Ben's (the one picked
    # before: a callback's args are bound when the button was drawn)
    teacher.selectbox(key=K.CLASS_QUEUE_PICK).set_value(job)
    teacher.button(key=K.CLASS_QUEUE_STOP).click().run()
    assert not teacher.exception, teacher.exception
    assert q.snapshot(job).text == TEACHER_CANCELLED and klass["ana"].id not in klass["inner"].started
    assert any("You cancelled Ana's waiting run" in s.value for s in teacher.success)
    assert list(_queue_table(teacher)["name"]) == ["Ben"]  # Ben still trains
    recent = next(d.value for d in teacher.dataframe if "result" in d.value.columns)
    assert list(recent["name"]) == ["Ana"] and list(recent["result"]) == ["Cancelled by you"]
    # Ana's page (its next refresh) says the teacher did it
    ana.run()
    assert not ana.exception, ana.exception
    assert any("Your teacher cancelled this run while it waited in the queue" in i.value for i in ana.info)
    assert not ana.button(key=K.TRAIN_BTN).disabled


def test_the_teacher_stops_a_training_run_and_the_student_reads_why_in_chinese(app, klass):
    q, inner = klass["q"], klass["inner"]
    ana = _train(_open(app, "pages/train.py", klass["ana"], lang="zh"))
    job = ana.session_state[K.JOB_ID]
    _wait_for(lambda: q.running() == [job])
    # the fake trainer made a run for it, as a real one does
    store = RunStore()
    rec = store.create(
        name="mlp", dataset="mnist", spec={"layers": []}, settings={}, device="cpu", params=1, owner=klass["ana"].id
    )
    inner_id = q._entries[job].inner_id
    with inner.lock:
        inner.snaps[inner_id] = replace(inner.snaps[inner_id], run_id=rec.id)
    inner.stop = lambda jid: _end(inner, jid, rec.id, store)  # stopping keeps the run, as a worker does
    teacher = _open(app, "pages/classroom.py", TEACHER)
    assert teacher.button(key=K.CLASS_QUEUE_STOP).label == "Stop it"
    teacher.button(key=K.CLASS_QUEUE_STOP).click().run()
    assert not teacher.exception, teacher.exception
    assert any("You stopped Ana's run" in s.value for s in teacher.success)
    _wait_for(lambda: q.snapshot(job).done)
    assert q.snapshot(job).text == TEACHER_STOPPED
    assert store.get(rec.id).metrics["message"]["template"] == TEACHER_STOPPED
    ana.run()
    assert not ana.exception, ana.exception
    assert any("老师停止了这次训练" in w.value for w in ana.warning), [w.value for w in ana.warning]


def _end(inner, jid, run_id, store):
    store.update(run_id, status="stopped", message="Stopped.")
    with inner.lock:
        inner.snaps[jid] = replace(
            inner.snaps[jid], status="stopped", run_id=run_id, result=JobResult(run_id, "stopped", message="Stopped.")
        )


def test_a_run_stopped_before_it_made_a_run_says_the_teacher_stopped_it(klass):
    q = klass["q"]
    job = _bens_job_trains(klass)
    q.stop(job, by=TEACHER_ID)
    _wait_for(lambda: q.snapshot(job).done)
    assert q.snapshot(job).text == TEACHER_STOPPED_EARLY
    assert q.recent()[0]["by_teacher"] and q.recent()[0]["owner"] == klass["ben"].id
    # a student's own stop says nothing about the teacher
    mine = q.submit(_job(klass["ana"].id))
    _wait_for(lambda: q.running() == [mine])
    q.stop(mine)
    _wait_for(lambda: q.snapshot(mine).done)
    assert q.snapshot(mine).text != TEACHER_STOPPED_EARLY and not q.recent()[0]["by_teacher"]


def test_a_student_sees_neither_the_limits_nor_the_queue(app, klass):
    klass["q"].submit(_job(klass["ben"].id))
    page = page_as("pages/classroom.py", klass["ana"])
    assert not page.exception, page.exception
    assert not page.number_input and not page.dataframe and not page.button and not page.selectbox
    assert not [s for s in page.subheader if s.value in ("Limits per student", "Training queue")]


def test_the_train_button_keeps_its_place_when_a_run_starts_and_ends(app, klass):
    """The settings fold into one line while a run waits or trains: the Train row must stay the same element of the
    page, or the browser briefly shows a stale and a new Train button while the page reruns (under load, a
    Chromium test saw two)."""
    _bens_job_trains(klass)
    ana = _open(app, "pages/train.py", klass["ana"])
    idle = path_of(ana.main, K.TRAIN_BTN)
    _train(ana)  # Ana's job waits behind Ben's: the page shows the run's line, not the settings
    assert klass["q"].snapshot(ana.session_state[K.JOB_ID]).status == "queued"
    assert ana.button(key=K.TRAIN_BTN).disabled and not [n for n in ana.number_input]
    assert path_of(ana.main, K.TRAIN_BTN) == idle
    ana.button(key=K.CANCEL_BTN).click().run()  # the settings come back
    assert not ana.exception, ana.exception
    assert not ana.button(key=K.TRAIN_BTN).disabled
    assert path_of(ana.main, K.TRAIN_BTN) == idle
