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
