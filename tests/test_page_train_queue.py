"""The Train page on a class server (AppTest): a student's job waits in the class's queue, the page says where it
stands and how long, in English and Chinese, and Cancel takes it out. Alone the page never shows the queue."""

from __future__ import annotations

import os
import time

import pytest
import streamlit as st
from test_classroom_queue import FakeExecutor, _job

from dlviz.classroom import Person
from dlviz.classroom.queue import FairQueue, default_job_threads
from dlviz.ui import keys as K
from dlviz.ui import state

ANN = Person("s-ann", "Ann", "student")


def _progress_texts(at) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def _started(q, inner, job, n):
    q.submit(job)
    deadline = time.time() + 30
    while len(inner.started) < n or len(q.running()) != 1:
        assert time.time() < deadline
        time.sleep(0.02)


@pytest.fixture
def class_queue(home, monkeypatch):
    """The app's executor is a class's queue (one job at a time) in front of a fake trainer whose jobs run until
    the test ends them; Bob's second job trains (his first finished), Cleo and Dan wait."""
    inner = FakeExecutor()
    monkeypatch.setenv("DLVIZ_CLASS", "1")
    monkeypatch.setenv("DLVIZ_MAX_JOBS", "1")
    monkeypatch.setenv("DLVIZ_TRAIN_THREADS", "")  # the class server sets its default; undone after the test
    monkeypatch.setattr(state, "make_executor", lambda: inner)
    st.cache_resource.clear()
    try:
        q = state.get_executor()
        assert isinstance(q, FairQueue) and q.slots["cpu"] == 1
        # each job trains on one thread (docs/performance.md)
        assert os.environ["DLVIZ_TRAIN_THREADS"] == str(default_job_threads(1))
        _started(q, inner, _job("s-bob"), 1)
        inner.end(q._entries[q.running()[0]].inner_id)  # one finished job: the queue can estimate waits now
        _started(q, inner, _job("s-bob"), 2)  # Bob trains again while Cleo and Dan wait
        q.submit(_job("s-cleo"))
        q.submit(_job("s-dan"))
        yield q, inner
        q.close()
    finally:
        st.cache_resource.clear()  # the next test gets the plain executor again


@pytest.mark.parametrize(
    "lang, waiting, cancelled",
    [
        ("en", "Waiting: you are 3rd in the queue, about ", "Cancelled while it waited in the queue"),
        ("zh", "排队中：你排在第 3 位，约 ", "已在排队时取消"),
    ],
)
def test_a_student_sees_their_place_and_cancels(app, class_queue, lang, waiting, cancelled):
    q, inner = class_queue
    at = app()
    at.session_state["_lang_select"] = lang  # the sidebar's picker, set before the first run (as a user would)
    at.session_state[K.PERSON] = ANN
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    at.button(key=K.TRAIN_BTN).click().run()
    assert not at.exception, at.exception
    job = at.session_state[K.JOB_ID]
    assert q.snapshot(job).status == "queued" and q._entries[job].job.owner == "s-ann"
    assert any(text.startswith(waiting) for text in _progress_texts(at)), _progress_texts(at)
    keys = [b.key for b in at.button]
    assert K.CANCEL_BTN in keys and K.PAUSE_BTN not in keys and K.STOP_BTN not in keys
    at.button(key=K.CANCEL_BTN).click().run()
    assert not at.exception, at.exception
    assert q.snapshot(job).status == "stopped" and "s-ann" not in inner.started
    assert any(cancelled in i.value for i in at.info)
    assert not at.button(key=K.TRAIN_BTN).disabled  # Ann may train again


def test_a_second_waiting_job_is_refused_with_a_plain_message(app, class_queue):
    q, inner = class_queue
    q.submit(_job("s-ann"))  # from another tab
    at = app()
    at.session_state[K.PERSON] = ANN  # signed in (the class's pages are registered for a signed-in person)
    at.run()
    at.switch_page("pages/train.py").run()
    at.button(key=K.TRAIN_BTN).click().run()
    assert not at.exception, at.exception
    assert any("You already have a run waiting in the queue" in e.value for e in at.error)


def _scrolls_to_top(at) -> bool:
    return any("scrollTo(0, 0)" in h.proto.body for h in at.get("html"))


def test_a_started_run_scrolls_the_train_page_to_its_top_once(app, class_queue):
    """Pressing Train after opening the settings leaves the browser scrolled down; the settings then fold and the
    live curves move up, so on a 1280x720 projector their top was cut (tests/test_browser_classroom.py, 7.6 px).
    The run after a started run scrolls the page to its top, once; a refused press does not."""
    q, inner = class_queue
    at = app()
    at.session_state[K.PERSON] = ANN
    at.run()
    at.switch_page("pages/train.py").run()
    assert not _scrolls_to_top(at)
    at.button(key=K.TRAIN_BTN).click().run()
    assert not at.exception, at.exception
    assert at.session_state[K.JOB_ID] and _scrolls_to_top(at)
    at.run()  # the same page drawn again (the live panel's timer, a widget): the teacher's own scroll stays
    assert not _scrolls_to_top(at)
    at.button(key=K.CANCEL_BTN).click().run()
    q.submit(_job("s-ann"))  # from another tab: the next press is refused
    at.button(key=K.TRAIN_BTN).click().run()
    assert any("You already have a run waiting in the queue" in e.value for e in at.error)
    assert not _scrolls_to_top(at)
