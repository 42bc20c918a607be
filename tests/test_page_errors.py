"""The Errors page (AppTest): summary, confusion grid, a cell's gallery, choosing another cell, replay."""

from __future__ import annotations

import torch

from dlviz.models import PRESETS, build
from dlviz.runs import RunStore

SETTINGS = {"optimizer": "adam", "lr": 3e-3, "batch_size": 128, "epochs": 1}


def _run(store, mnist_dir):
    """An MLP fitted for a few hundred steps on real digits: it makes some mistakes, as a student's would."""
    from dlviz.data import load_dataset
    from dlviz.train import TrainConfig, fit, prepare_data

    raw = load_dataset("mnist", mnist_dir)
    cfg = TrainConfig(epochs=1, limit=4000, cpu_threads="fixed")
    model = build(PRESETS["mlp"].spec, seed=0).module
    start = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, prepare_data(raw, cfg, torch.device("cpu")), cfg)
    rec = store.create(
        name="mlp run", dataset="mnist", spec=PRESETS["mlp"].copy_spec(), settings=SETTINGS, device="cpu", params=109386
    )
    store.save_weights(rec.id, model.state_dict())
    store.save_snapshot(rec.id, "step-0", start)
    store.save_snapshot(rec.id, "epoch-1", model.state_dict())
    store.update(rec.id, status="finished", test_accuracy=0.9)
    return rec.id


def test_errors_page(app, home, mnist_dir):
    rid = _run(RunStore(), mnist_dir)
    at = app()
    at.run()
    at.session_state["run_id"] = rid
    at.switch_page("pages/errors.py")
    at.run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "of the 10,000 test images are right" in text and "It most often mistakes" in text
    first = at.subheader[0].value
    assert " taken for " in first  # opens on the most frequent mistake
    assert len(at.get("plotly_chart")) == 2  # the grid and the gallery
    import json

    grid = at.get("plotly_chart")[0].proto
    assert json.loads(grid.config).get("displayModeBar") is False  # no mode bar over the "predicted class" title
    # choose the "7 recognised correctly" cell from the picker
    picker = at.selectbox[-1]
    picker.set_value((7, 7)).run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.startswith("7 recognised correctly")
    # replay: before training, almost everything is wrong
    at.select_slider[0].set_value("step-0").run()
    assert not at.exception, at.exception
    acc_text = next(m.value for m in at.markdown if "test images are right" in m.value)
    pct = float(acc_text.split("**")[1].rstrip("%"))
    assert pct < 30, acc_text
    # a language switch keeps the replay point (the slider is a new widget per language, fed from the choice)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert at.select_slider[0].value == "step-0"


def test_one_click_opens_an_image_on_inspect_and_explain(app, home, mnist_dir):
    """Issue 13: a number under the gallery opens that test image on Inspect (and it is Explain's input too)."""
    rid = _run(RunStore(), mnist_dir)
    at = app()
    at.run()
    at.session_state["run_id"] = rid
    at.switch_page("pages/errors.py")
    at.run()
    assert not at.exception, at.exception
    pills = [w for w in at.get("button_group") if (w.key or "").startswith("_err_open_")]
    assert len(pills) == 1
    wanted = int(pills[0].options[2].lstrip("#"))  # the third image of the gallery
    pills[0].select(wanted).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Inspect"
    assert at.number_input(key="_inspw_pos").value == wanted
    assert any(f"test image {wanted}" in c.value and "Errors page" in c.value for c in at.caption)
    inp = at.session_state["_insp_input"]
    assert inp.source == "test" and inp.index == wanted  # current_input(ctx): what Explain shows too
    at.switch_page("pages/explain.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Explain"
    assert at.number_input(key="_inspw_pos").value == wanted  # Explain's input picker holds the same image
