"""bench/classroom.py's websocket client (bench/st_client.py) against a real Streamlit server, and the bench's
own arithmetic. The client speaks Streamlit's wire protocol, which changes between Streamlit versions: this
is where a new Streamlit that breaks the class bench shows up, in seconds, not in a ten-minute bench.

The server runs a small app of its own (a field, a button that reruns, a fragment on a timer, a table), so
the test does not depend on dlviz's pages; bench/classroom.py drives the real app.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest
from browser_util import ROOT, Server

sys.path.insert(0, str(ROOT / "bench"))

import classroom  # noqa: E402
from st_client import Page, ProtocolError, Session  # noqa: E402

APP = textwrap.dedent(
    """
    import pandas as pd
    import streamlit as st

    st.title("Tiny")
    n = st.number_input("Count by", 0, 100, key="by")
    if st.button("Add", key="add"):
        st.session_state.total = st.session_state.get("total", 0) + n
        st.rerun()  # the press reruns the script once more: the client waits for the run after it
    st.markdown(f"total {st.session_state.get('total', 0)}")
    st.dataframe(pd.DataFrame({"name": ["a", "b"], "acc": ["90.00%", "91.00%"]}))
    if st.session_state.get("total", 0) >= 6:
        st.button("Done", disabled=True)

    @st.fragment(run_every=0.2)
    def ticks():
        st.session_state.ticks = st.session_state.get("ticks", 0) + 1
        st.markdown(f"ticks {st.session_state.ticks}")

    ticks()
    """
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "tiny.py").write_text(APP, encoding="utf-8")
    srv = Server(folder / "home", script=str(folder / "tiny.py"))
    try:
        srv.wait_healthy(60)
    except BaseException:
        srv.stop()
        raise
    yield srv
    srv.stop()


@pytest.mark.slow  # starts a Streamlit server (about 3 s)
def test_the_client_opens_sets_clicks_and_follows_a_fragment(tiny):
    async def visit():
        async with Session(tiny.url, timeout=60) as s:
            first = await s.open()
            assert first.ok and "Tiny" in s.page.text() and "total 0" in s.page.text(), s.page.text()
            assert s.session_id
            await s.change("Count by", 3)
            pressed = await s.click("Add")
            assert pressed.reruns >= 1  # the st.rerun after the press: the client waited for the run after it
            assert "total 3" in s.page.text(), s.page.text()
            # the field keeps its value without being sent again (the server keeps it, as for a browser)
            await s.click("add")  # a button by its key
            assert "total 6" in s.page.text(), s.page.text()
            assert s.page.button("Done").disabled
            # the fragment reruns on the client's timer, as the browser's would
            before = s.fragment_runs
            await s.until(lambda p: s.fragment_runs >= before + 3, timeout=30)
            assert s.page.text().count("ticks") == 1  # a fragment's run replaces its own element
            assert classroom.run_rows(s.page) == [{"name": "a", "acc": "90.00%"}, {"name": "b", "acc": "91.00%"}]
            with pytest.raises(ProtocolError, match="no button 'Missing'"):
                await s.click("Missing")
            with pytest.raises(ProtocolError, match="disabled"):
                await s.click("Done")
            assert not s.errors

    asyncio.run(visit())


def test_nearest_rank_quantiles():
    values = [float(i) for i in range(1, 21)]  # 1..20
    assert classroom._q(values, 0.95) == 19.0
    assert classroom._q(values, 0.5) == 10.0
    assert classroom._q([4.0], 0.95) == 4.0
    assert classroom._q([], 0.5) is None


def test_the_live_panel_is_read_as_waiting_started_or_finished():
    from streamlit.proto.Element_pb2 import Element

    def page(*elements) -> Page:
        return Page({(0, i): e for i, e in enumerate(elements)})

    waiting = Element()
    waiting.progress.text = "Starting..."
    queued = Element()
    queued.progress.text = "Place 3 in the queue: about 20 s"
    loading = Element()
    loading.progress.text = "Loading data..."
    train = Element()
    train.button.id, train.button.label, train.button.disabled = "$$ID-1-train_btn", "Train", True
    assert not classroom.started(page(waiting, train)) and not classroom.started(page(queued, train))
    assert classroom.started(page(loading, train))
    assert not classroom.finished(page(loading, train))
    train.button.disabled = False
    assert classroom.finished(page(train))


def test_the_checks_count_a_lost_run_a_run_owned_by_another_and_a_run_shown_to_another(tmp_path, monkeypatch):
    """The bench's verdicts read the run store's owner column and what each student's pages showed: three students,
    one run owned right, one run of student 2 owned by student 1, student 3's run never made; student 1's Runs page
    lists student 2's run too."""
    from dlviz.classroom.roster import Roster
    from dlviz.runs import RunStore

    monkeypatch.setenv("DLVIZ_CLASS_CODE", classroom.CLASS_CODE)
    home = tmp_path / "home"
    bench = classroom.Bench(classroom.parse_args(["--students", "3"]))
    bench.tmp.rmdir()
    bench.home = home
    roster = Roster(home)
    ids = {w.name: roster.join(classroom.CLASS_CODE, w.name).id for w in bench.students}
    store = RunStore(home)
    one, two, three = bench.students
    for who, owner, acc, secs in ((one, ids[one.name], 0.9612, 5.3), (two, ids[one.name], 0.9634, 6.5)):
        run = store.create(
            name="mlp · MNIST", dataset="mnist", spec={}, settings={"seed": who.seed}, device="cpu", owner=owner
        )
        store.update(run.id, status="finished", test_accuracy=acc, train_seconds=secs)
        store.folder(run.id).joinpath(run.weights_path.name).write_bytes(b"weights")
    one.shown_acc, one.runs_rows = "96.12%", [{"acc": "96.12%", "seconds": "5.3"}, {"acc": "96.34%", "seconds": "6.5"}]
    two.shown_acc, two.runs_rows = "96.34%", [{"acc": "96.34%", "seconds": "6.5"}]
    checks = bench.store_checks()
    assert checks["runs_saved"] == 2 and checks["runs_lost"] == 1, checks
    assert checks["misattributed_in_store"] == 1, checks  # student 2's run belongs to student 1
    assert checks["misattributed_on_pages"] == 1, checks  # student 1 sees student 2's run
    assert checks["runs_misattributed"] == 2
    assert any("student-03: no finished run" in x for x in checks["problems"]), checks["problems"]
