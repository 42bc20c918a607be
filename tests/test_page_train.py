"""The Train page (AppTest): train live, stop, plain messages for bad settings, reopen after restart."""

from __future__ import annotations

import time

from page_util import open_page

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob, run_job


def _train_page(app, **state):
    return open_page(app, "pages/train.py", **state)


def _metric(at, label):
    return next((m.value for m in at.metric if m.label == label), None)


def _wait_done(at, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
        if _metric(at, "Test accuracy") is not None:
            return
    raise AssertionError(
        f"training did not finish: {[m.value for m in at.markdown]} {[(m.label, m.value) for m in at.metric]} "
        f"{[b.key for b in at.button]} {at.session_state['job_id']}"
    )


def test_train_quick_demo_and_see_test_accuracy(app):
    at = _train_page(app)
    assert "109,386 parameters" in at.markdown[0].value
    at.toggle[0].set_value(True)  # quick demo: 6,000 images
    next(n for n in at.number_input if n.label == "Epochs").set_value(1)
    at.button(key="train_btn").click().run()
    assert not at.exception, at.exception
    _wait_done(at)
    acc = float(_metric(at, "Test accuracy").rstrip("%"))
    assert 80 < acc <= 100
    assert any("Training finished" in s.value for s in at.success)
    run = RunStore().get(at.session_state["run_id"])
    assert run.status == "finished" and run.settings["train_size"] == 6000 and run.settings["epochs"] == 1


def test_stop_keeps_the_run(app):
    at = _train_page(app)
    next(n for n in at.number_input if n.label == "Epochs").set_value(30)
    at.button(key="train_btn").click().run()

    # Stop once training has really begun: the run exists (the page opened it) and a progress point arrived.
    # (Stop pressed while the data still loads saves no run: tests/test_train.py covers that case.)
    def training() -> bool:
        adopted = "job_adopted" in at.session_state and at.session_state["job_adopted"] == at.session_state["job_id"]
        return adopted and bool(at.session_state["run_id"]) and _metric(at, "Training loss") is not None

    deadline = time.time() + 60
    while not training() and time.time() < deadline:
        time.sleep(0.3)
        at.run()
        assert not at.exception, at.exception
    assert training(), "training never started"
    at.button(key="stop_btn").click().run()
    _wait_done(at)
    assert any("Stopped at step" in w.value for w in at.warning)
    assert RunStore().get(at.session_state["run_id"]).status == "stopped"


def test_absurd_learning_rate_is_a_message(app):
    at = _train_page(app)
    next(n for n in at.number_input if n.label == "Learning rate").set_value(1e6)
    at.button(key="train_btn").click().run()
    assert not at.exception
    assert at.error and "learning rate of 1e+06 cannot train" in at.error[0].value.lower()
    assert RunStore().list() == []


def test_unbuildable_model_points_to_the_build_page(app):
    bad = {"name": "bad", "layers": [{"type": "conv2d", "out": 4, "kernel": 3}, {"type": "dense", "units": 10}]}
    at = _train_page(app, spec=bad)
    assert at.error and "Layer 2 (Dense)" in at.error[0].value
    assert not any(b.key == "train_btn" for b in at.button)


def test_last_run_reopens_after_restart(app, mnist_dir):
    res = run_job(
        TrainJob(
            "mnist",
            PRESETS["mlp"].copy_spec(),
            TrainConfig(epochs=1, limit=2000),
            name="yesterday's run",
            data_dir=str(mnist_dir),
        ),
        RunStore(),
    )
    at = _train_page(app)  # a new process-like session: nothing in session state
    assert any("yesterday's run" in h.value for h in at.subheader)
    assert _metric(at, "Test accuracy") == f"{res.test_accuracy:.2%}"


def test_chinese(app):
    at = _train_page(app, lang="zh")
    assert at.title[0].value == "训练"


def test_preset_brings_its_default_epochs(app):
    at = _train_page(app, spec=PRESETS["cnn"].copy_spec())
    assert next(n for n in at.number_input if n.label == "Epochs").value == 3  # the course's CNN: 3 epochs
    at2 = _train_page(app)
    assert next(n for n in at2.number_input if n.label == "Epochs").value == 5  # the MLP: 5


def test_settings_survive_a_new_session(app):
    at = _train_page(app)
    next(n for n in at.number_input if n.label == "Batch size").set_value(64).run()
    sid = at.session_state["sid"]
    import json

    from dlviz.ui.state import _session_file  # the file a refresh reads back (?s=sid)

    assert json.loads(_session_file(sid).read_text())["train_settings"]["batch_size"] == 64


def test_train_a_text_model_and_see_sentences_and_the_baseline(app):
    """rt-polarity with the bag-of-embeddings preset: the preset's text recipe fills the form, a quick demo
    trains, the result shows test sentences and the classic baseline beside the network."""
    from dlviz.train import recipe_for
    from tests.test_page_data_text import SHARED

    at = _train_page(app, spec=PRESETS["bag"].copy_spec(), dataset="rt-polarity", data_dir=str(SHARED))
    epochs = next(n for n in at.number_input if n.label == "Epochs")
    assert epochs.value == recipe_for("bag", "rt-polarity")["epochs"]
    epochs.set_value(1)
    at.toggle[0].set_value(True)  # quick demo: a subset
    at.button(key="train_btn").click().run()
    assert not at.exception, at.exception
    _wait_done(at, timeout=180)
    assert 50 <= float(_metric(at, "Test accuracy").rstrip("%")) <= 100
    text = " ".join(m.value for m in at.markdown)
    assert "Classic baseline" in text
    assert any(s.value == "Test sentences: prediction, confidence (true label)" for s in at.subheader)
    assert at.dataframe, "the test sentences table"


def test_precision_select_reaches_the_run(app):
    """The recipe's Precision select: "auto" by default, with its titles; "fp32" reaches TrainConfig, and the
    finished run says what it trained with."""
    at = _train_page(app)
    sel = at.selectbox(key="_tr_precision")
    assert sel.label == "Precision" and sel.value == "auto"
    assert sel.options == ["Automatic (bf16 where faster)", "32-bit floats", "bf16 mixed precision"]
    sel.set_value("fp32")
    at.toggle[0].set_value(True)  # quick demo
    next(n for n in at.number_input if n.label == "Epochs").set_value(1)
    at.button(key="train_btn").click().run()
    assert not at.exception, at.exception
    _wait_done(at)
    run = RunStore().get(at.session_state["run_id"])
    assert run.settings["precision"] == "fp32" and run.metrics["precision"] == "fp32"
    assert at.session_state["train_settings"]["precision"] == "fp32"  # remembered with the recipe
    shown = " ".join(c.value for c in at.caption)
    assert "Precision: 32-bit floats" in shown
    if run.metrics.get("cpu_threads"):
        assert f"CPU threads: {run.metrics['cpu_threads']}" in shown


def test_precision_select_in_chinese(app):
    at = _train_page(app, lang="zh")
    sel = at.selectbox(key="_tr_precision")
    assert sel.label == "数值精度" and sel.value == "auto"
    assert "bf16 混合精度" in sel.options


def test_one_line_recipe_says_1_epoch_not_1_epochs():
    """While a run trains, the recipe is one line: a one-epoch run reads "1 epoch"."""
    from dlviz.ui.train_widgets import settings_summary

    one = settings_summary({"epochs": 1, "batch_size": 128})
    assert ", 1 epoch," in one and "epochs" not in one, one
    assert ", 2 epochs," in settings_summary({"epochs": 2}), settings_summary({"epochs": 2})


def test_caption_says_sentences_on_a_text_dataset(app):
    """Before training, the caption names what the network learns from: images on MNIST, sentences on text."""
    assert "training images" in _train_page(app).caption[0].value
    cap = _train_page(app, spec=PRESETS["bag"].copy_spec(), dataset="rt-polarity").caption[0].value
    assert "training sentences" in cap and "images" not in cap, cap


def test_a_typed_setting_is_kept_when_the_user_leaves_the_page_at_once(app):
    """Typing a learning rate and clicking another page at once: the Train page never draws again, so only the
    widget's on_change keeps the value (it was lost, and a teacher's push then offered the old rate)."""
    at = _train_page(app)
    lr = next(n for n in at.number_input if n.label == "Learning rate")
    lr.set_value(0.0021)  # typed, then straight to another page: the Train page does not run with it
    at.switch_page("pages/runs.py")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["train_settings"]["lr"] == 0.0021
    at.switch_page("pages/train.py")
    at.run()
    assert next(n for n in at.number_input if n.label == "Learning rate").value == 0.0021
