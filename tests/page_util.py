"""Shared steps of the look-inside page tests: a saved run of a preset, and a page opened on it."""

from __future__ import annotations

from dlviz.models import PRESETS, build
from dlviz.runs import RunRecord, RunStore

SETTINGS = {"optimizer": "adam", "lr": 3e-3, "batch_size": 128, "epochs": 1}


def saved_run(preset: str) -> RunRecord:
    """A finished run of ``preset`` with untrained weights (enough to look inside) in the current store."""
    store = RunStore()
    spec = PRESETS[preset].copy_spec()
    model = build(spec, (1, 28, 28), 10, seed=0).module
    rec = store.create(
        name=f"{preset} run",
        dataset="mnist",
        spec=spec,
        settings=SETTINGS,
        device="cpu",
        params=sum(p.numel() for p in model.parameters()),
    )
    store.save_weights(rec.id, model.state_dict())
    store.update(rec.id, status="finished", test_accuracy=0.1)
    return store.get(rec.id)


def open_page(app, page: str, timeout: float = 60, **state):
    """AppTest of app.py, then ``page`` (e.g. "pages/filters.py") with ``state`` set; no exception."""
    at = app(timeout=timeout)
    at.run()
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def path_of(node, key: str, path=()):
    """The position (child indices from the page's main area) of the widget with ``key`` in an AppTest tree, or
    None."""
    if getattr(node, "key", None) == key:
        return path
    for i, child in getattr(node, "children", {}).items():
        found = path_of(child, key, (*path, i))
        if found is not None:
            return found
    return None


def page_as(page: str, person, lang: str = "en"):
    """``page`` alone (not through the app's navigation) as ``person`` in AppTest, run once: what someone who
    reached it by its address would see."""
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest

    from dlviz.ui import keys as K

    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.session_state[K.PERSON] = person
    at.session_state[K.SID] = "0123456789abcdef"
    at.session_state[K.LANG] = lang
    at.run()
    return at
