"""The Runs page (AppTest): list, open, rename, delete with confirmation, runs without weights."""

from __future__ import annotations

import pytest
import torch

from dlviz.models import build
from dlviz.runs import RunStore

SPEC = {"layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}
SETTINGS = {
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 64,
    "epochs": 2,
    "train_size": 48000,
    "val_size": 12000,
    "data_source": "folder",
    "subset": False,
}
METRICS = {
    "train": [[10, 0.5, 1.2, 0.6], [20, 1.0, 0.8, 0.75], [40, 2.0, 0.5, 0.85]],
    "val": [[20, 1.0, 0.7, 0.8], [40, 2.0, 0.45, 0.87]],
}


@pytest.fixture
def runs(home):
    """Three finished runs (oldest first) with the weights of a small model."""
    store = RunStore()
    model = build(SPEC, (1, 28, 28), 10).module  # state_dict keys match what evaluate_run builds
    made = []
    for i, name in enumerate(["first run", "second run", "third run"]):
        rec = store.create(name=name, dataset="mnist", spec=SPEC, settings=SETTINGS, device="cpu", params=7850)
        store.save_weights(rec.id, model.state_dict())
        store.update(rec.id, status="finished", metrics=METRICS, test_accuracy=0.9 + i / 100, train_seconds=3.5)
        made.append(store.get(rec.id))
    return store, made


def _runs_page(app, lang: str = "en"):
    at = app()
    at.run()
    # the language the sidebar's picker sets (AppTest runs a page without app.py after switch_page, and
    # starting in Chinese trips AppTest on the sidebar's translated dataset picker)
    at.session_state["lang"] = lang
    at.switch_page("pages/runs.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at):
    return at.dataframe[0].value


def test_empty_state(app):
    at = _runs_page(app)
    assert at.title[0].value == "Runs"
    assert at.info and "No runs yet" in at.info[0].value
    assert not at.dataframe and not at.button


def test_runs_are_listed_newest_first(app, runs):
    _, made = runs
    at = _runs_page(app)
    table = _table(at)
    assert list(table["name"]) == ["third run", "second run", "first run"]
    assert list(table["status"]) == ["finished"] * 3
    assert table["acc"][0] == "92.00%" and table["params"][0] == "7,850"
    # the newest run is reopened after a start, and the page shows its details and curves
    assert at.session_state.run_id == made[-1].id
    assert at.subheader[0].value == "third run"
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == "92.00%"
    assert at.get("plotly_chart")
    assert not at.warning  # weights are there


def test_open_sets_run_id(app, runs):
    _, made = runs
    at = _runs_page(app)
    at.selectbox(key="_runs_pick").set_value(made[0].id).run()
    assert at.subheader[0].value == "first run"
    assert not at.button(key="_runs_open").disabled
    at.button(key="_runs_open").click().run()
    assert not at.exception
    assert at.session_state.run_id == made[0].id
    assert at.button(key="_runs_open").disabled  # already open
    assert _table(at)["open"][2] == "▶"


def test_rename(app, runs):
    store, made = runs
    at = _runs_page(app)
    rid = made[-1].id
    at.text_input(key=f"_runs_name_{rid}").input("  best so far ").run()
    at.button(key="_runs_rename").click().run()
    assert not at.exception
    assert store.get(rid).name == "best so far"
    assert any("Renamed to best so far." in s.value for s in at.success)
    assert _table(at)["name"][0] == "best so far"


def test_rename_to_empty_is_an_error(app, runs):
    store, made = runs
    at = _runs_page(app)
    rid = made[-1].id
    at.text_input(key=f"_runs_name_{rid}").input("   ").run()
    at.button(key="_runs_rename").click().run()
    assert not at.exception
    assert at.error and "cannot be empty" in at.error[0].value
    assert store.get(rid).name == "third run"


def test_delete_needs_confirmation(app, runs):
    store, made = runs
    at = _runs_page(app)
    rid = made[-1].id
    assert at.session_state.run_id == rid
    assert at.button(key="_runs_delete").disabled  # one click cannot destroy a run
    at.checkbox(key=f"_runs_sure_{rid}").check().run()
    assert not at.button(key="_runs_delete").disabled
    at.button(key="_runs_delete").click().run()
    assert not at.exception
    assert [r.id for r in store.list()] == [made[1].id, made[0].id]
    assert not store.folder(rid).exists()
    assert at.session_state.run_id is None  # the open run was deleted
    assert any("Deleted the run third run." in s.value for s in at.success)
    assert list(_table(at)["name"]) == ["second run", "first run"]


def test_run_without_weights_still_lists_and_opens(app, runs):
    store, made = runs
    made[0].weights_path.unlink()
    at = _runs_page(app)
    assert "first run" in list(_table(at)["name"])
    at.selectbox(key="_runs_pick").set_value(made[0].id).run()
    assert not at.exception
    assert any("has no saved weights" in w.value for w in at.warning)
    at.button(key="_runs_open").click().run()
    assert not at.exception and at.session_state.run_id == made[0].id


def test_chinese_status_words(app, runs):
    at = _runs_page(app, "zh")
    assert at.title[0].value == "运行记录"
    assert list(_table(at)["status"]) == ["已完成"] * 3


def test_check_weights_refuses_a_pickle_with_a_plain_message(app, runs):
    store, made = runs
    torch.save({"w": torch.zeros(3)}, store.folder(made[-1].id) / "weights.safetensors")
    at = _runs_page(app)
    at.button(key="_runs_check").click().run()
    assert not at.exception
    assert at.error and "safetensors" in at.error[0].value


def test_check_weights_measures_the_test_accuracy(app, runs):
    at = _runs_page(app)
    at.button(key="_runs_check").click().run()
    assert not at.exception
    assert at.success and "score" in at.success[-1].value  # the untrained Linear layer scores something


def test_settings_table_counts_sentences_for_a_text_run():
    """A text run's settings read "Training sentences", not "Training images" (an image run keeps images)."""
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from dlviz.ui.run_widgets import settings_table

        settings_table(st.session_state["settings"])

    rows = {}
    for kind in ("text", "image"):
        at = AppTest.from_function(script)
        at.session_state["settings"] = {"kind": kind, "epochs": 3, "train_size": 6824, "val_size": 1706}
        at.run()
        assert not at.exception, at.exception
        rows[kind] = list(at.dataframe[0].value["setting"])
    assert "Training sentences" in rows["text"] and "Validation sentences" in rows["text"], rows
    assert not any("images" in r for r in rows["text"]), rows
    assert "Training images" in rows["image"] and "Validation images" in rows["image"], rows
