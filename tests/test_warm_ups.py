"""Warm-ups at server start (issue 18: instant starts). warm_datasets (dlviz/ui/state.py): the datasets a page or a
lesson is about to show are read into the process's dataset cache in the background, once per process and data
folder, never downloaded. warm_pages (dlviz/ui/nav.py): every page's modules imported once, in the background."""

from __future__ import annotations

from dlviz.errors import DataError
from dlviz.ui import state


def _fake_loader(calls):
    def load(name, data_dir=None, *, allow_download=None, progress=None, **kw):
        calls.append((name, data_dir, allow_download))
        if name.startswith("absent"):
            raise DataError("no files")
        return {"dataset": name, "dir": data_dir}

    return load


def test_warm_fills_the_page_cache_and_never_downloads(monkeypatch):
    calls = []
    monkeypatch.setattr(state, "load_dataset", _fake_loader(calls))
    monkeypatch.setattr(state, "_WARMED", set())
    state._cached_dataset.clear()
    threads = state.warm_datasets(["warm-a", "absent-b", None, "warm-a"], data_dir="/data")
    assert len(threads) == 2  # one per dataset; None and the repeat are skipped
    for th in threads:
        th.join(30)
    # the check reads local files only; the cache is filled only for a dataset that is here
    assert ("warm-a", "/data", False) in calls and ("absent-b", "/data", False) in calls
    assert [c for c in calls if c[2] is not False] == [("warm-a", "/data", None)]
    before = len(calls)
    data = state._cached_dataset("warm-a", "/data")  # what get_data() asks for: already there, no load
    assert data == {"dataset": "warm-a", "dir": "/data"} and len(calls) == before
    assert state.warm_datasets(["warm-a", "absent-b"], data_dir="/data") == []  # once per process
    assert len(state.warm_datasets(["warm-a"], data_dir="/other")) == 1  # another data folder is another dataset
    state._cached_dataset.clear()


def test_a_failing_load_fails_nothing(monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("disk on fire")

    import threading

    escaped = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    monkeypatch.setattr(state, "load_dataset", boom)
    monkeypatch.setattr(state, "_WARMED", set())
    (th,) = state.warm_datasets(["warm-c"], data_dir="/data")
    th.join(30)
    assert not th.is_alive() and escaped == []  # ended quietly: the page loads it itself and says what is wrong


def test_warm_pages_imports_every_pages_modules_once(monkeypatch):
    from dlviz.ui import nav

    names = nav.page_modules()
    # read from pages/*.py: the pages' own widgets, e.g. the lessons' slow first pages
    for name in ("dlviz.ui.filters_widgets", "dlviz.ui.explain_widgets", "dlviz.ui.autoencoder_widgets"):
        assert name in names
    imported = []
    monkeypatch.setattr(nav, "_PAGES_WARMED", __import__("threading").Event())
    monkeypatch.setattr(nav.importlib, "import_module", lambda name: imported.append(name))
    th = nav.warm_pages()
    th.join(30)
    assert imported == names
    assert nav.warm_pages() is None  # once per process


def _only_this_tests_threads(monkeypatch):
    """The warm-up threads an earlier test of this process left running (an AppTest's lesson views) are not this
    test's: the real filter, applied to this test's threads only."""
    real = state._other_warm_ups
    mine = ("dlviz-test-", "dlviz-hung-", "dlviz-fork-server-")
    monkeypatch.setattr(state, "_other_warm_ups", lambda me: [th for th in real(me) if th.name.startswith(mine)])


def test_the_fork_servers_warm_up_waits_for_the_first_page_its_warm_ups_and_a_quiet_moment(monkeypatch):
    """The fork server's imports take one of two cores for 2-4 s: they wait until the server's first page has run,
    every warm-up thread it started is over, and no page has run for a moment (issue 18: the first lesson a
    just-started server opens, pressed at once or after reading the Start page)."""
    import threading
    import time

    monkeypatch.setattr(state, "FIRST_RUN_OVER", threading.Event())
    monkeypatch.setattr(state, "TRAIN_SOON", threading.Event())  # no Train page yet (another test may have opened one)
    _only_this_tests_threads(monkeypatch)
    monkeypatch.setattr(state, "_runs", {"running": 0, "ended": 0.0})
    assert state.server_warm_ups_over(timeout=0.2, quiet_s=0.0) is False  # no page has run yet: it gives up

    done = []

    def wait_in_background():
        th = threading.Thread(target=lambda: done.append(state.server_warm_ups_over(30, 0.6)), daemon=True)
        th.start()
        return th

    state.page_run_started()  # the first page runs, and starts a warm-up
    release = threading.Event()
    busy = threading.Thread(target=release.wait, args=(30,), name="dlviz-test-warm-up", daemon=True)
    busy.start()
    waiter = wait_in_background()
    time.sleep(0.3)
    state.page_run_ended()
    time.sleep(1.0)  # the page has been over for longer than quiet_s, but its warm-up still runs
    assert done == []
    state.page_run_started()  # another page runs (before the warm-up ends: no quiet moment between the two)
    release.set()
    busy.join(10)
    time.sleep(1.0)
    assert done == []  # the warm-up is over, but a page still runs
    t_end = time.monotonic()
    state.page_run_ended()
    waiter.join(10)
    assert done == [True] and time.monotonic() - t_end >= 0.6  # only after quiet_s without a page

    # another fork server warm-up waiting too (a second executor) is not waited for: each would wait for the other
    other = threading.Event()
    twin = threading.Thread(target=other.wait, args=(30,), name="dlviz-fork-server-warm-up", daemon=True)
    twin.start()
    monkeypatch.setattr(state, "_runs", {"running": 0, "ended": 0.0})
    assert state.server_warm_ups_over(timeout=5, quiet_s=0.0) is True
    other.set()

    # a warm-up that never ends holds it back no longer than the timeout
    stuck = threading.Event()
    hung = threading.Thread(target=stuck.wait, args=(30,), name="dlviz-hung-warm-up", daemon=True)
    hung.start()
    t0 = time.monotonic()
    assert state.server_warm_ups_over(timeout=0.3, quiet_s=0.0) is False
    assert time.monotonic() - t0 < 5
    stuck.set()


def test_the_fork_server_starts_only_after_the_wait(monkeypatch):
    """children.warm_up(after=...): the background thread calls ``after`` before it starts any process; the app's
    executor passes the server's wait (make_executor(warm_after=...))."""
    import threading

    from dlviz.train import children, process

    order = []

    class FakeProcess:
        def __init__(self, **kw):
            order.append("process")

        def start(self):
            order.append("start")

        def join(self, timeout=None):
            pass

    class FakeContext:
        Process = FakeProcess

    gate = threading.Event()
    monkeypatch.setattr(children, "context", lambda: FakeContext())
    children.warm_up(after=lambda: (gate.wait(10), order.append("after")))
    import time

    time.sleep(0.3)
    assert order == []  # nothing started while the wait is on
    gate.set()
    for _ in range(100):
        if "start" in order:
            break
        time.sleep(0.05)
    assert order == ["after", "process", "start"]

    seen = []
    monkeypatch.setattr(process, "warm_up", lambda wait, after=None: seen.append((wait, after)))
    process.make_executor("process", warm_after=state.server_warm_ups_over)
    assert seen == [(False, state.server_warm_ups_over)]


def test_a_train_page_wants_the_fork_server_at_once(monkeypatch):
    """Once a Train page was opened (state.train_soon), the fork server's warm-up no longer waits for the other
    warm-ups or a quiet moment, only for the page's script to end: Train may be pressed in a moment."""
    import threading
    import time

    first = threading.Event()
    first.set()
    monkeypatch.setattr(state, "FIRST_RUN_OVER", first)
    monkeypatch.setattr(state, "TRAIN_SOON", threading.Event())
    _only_this_tests_threads(monkeypatch)
    monkeypatch.setattr(state, "_runs", {"running": 0, "ended": time.monotonic()})  # a page has just run
    release = threading.Event()
    busy = threading.Thread(target=release.wait, args=(30,), name="dlviz-test-warm-up", daemon=True)
    busy.start()
    assert state.server_warm_ups_over(timeout=0.3, quiet_s=60) is False  # a warm-up runs, not quiet: it waits
    state.page_run_started()  # the Train page runs
    state.train_soon()
    done = []
    waiter = threading.Thread(target=lambda: done.append(state.server_warm_ups_over(30, 60)), daemon=True)
    waiter.start()
    time.sleep(0.3)
    assert done == []  # not while the Train page's script runs
    state.page_run_ended()
    waiter.join(5)
    assert done == [True]  # then at once: the other warm-up still runs, and 60 s of quiet never came
    release.set()
