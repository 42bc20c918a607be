"""The Train page's data augmentation settings (AppTest): off by default, a preview, saved with the run, the gap."""

from __future__ import annotations

import time

from page_util import open_page

from dlviz.runs import RunStore


def _slider(at, label):
    return next(s for s in at.slider if s.label == label)


def test_augmentation_settings_preview_and_run(app):
    at = open_page(app, "pages/train.py")
    assert all(_slider(at, label).value == 0.0 for label in ("Shift (pixels)", "Rotation (degrees)", "Noise"))
    assert not at.image  # all off: no preview, the data is not even loaded for it
    flip = next(c for c in at.checkbox if c.label == "Mirror left-right")
    assert flip.disabled and flip.value is False  # digits: never mirrored
    _slider(at, "Shift (pixels)").set_value(2.0).run()
    _slider(at, "Rotation (degrees)").set_value(10.0).run()
    assert not at.exception, at.exception
    assert len(at.image) == 1  # the preview grid: stored images, then three augmented batches
    at.toggle[0].set_value(True)  # quick demo
    next(n for n in at.number_input if n.label == "Epochs").set_value(1)
    at.button(key="train_btn").click().run()
    deadline = time.time() + 120
    while time.time() < deadline and not any(m.label == "Test accuracy" for m in at.metric):
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    run = RunStore().get(at.session_state["run_id"])
    assert run.status == "finished"
    assert run.settings["augment_shift"] == 2.0 and run.settings["augment_rotate"] == 10.0
    assert run.settings["augment_flip"] is False
    assert any("validation accuracy" in c.value for c in at.caption)  # the gap, named


def test_fashion_mnist_may_be_mirrored(app):
    at = open_page(app, "pages/train.py", dataset="fashion-mnist")
    flip = next(c for c in at.checkbox if c.label == "Mirror left-right")
    assert not flip.disabled
