"""The Train page's data augmentation settings (AppTest): off by default, a preview, saved with the run, the gap."""

from __future__ import annotations

from page_util import open_page

from dlviz.runs import RunStore
from dlviz.train import TrainConfig
from dlviz.ui import keys as K


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
    recipe = at.session_state[K.TRAIN_SETTINGS]  # what Train hands to TrainConfig (run_job's tests train with it)
    assert recipe["augment_shift"] == 2.0 and recipe["augment_rotate"] == 10.0 and recipe["augment_flip"] is False
    assert TrainConfig(**{k: v for k, v in recipe.items() if k != "for_model"}).augmentation.active


def test_fashion_mnist_may_be_mirrored(app):
    at = open_page(app, "pages/train.py", dataset="fashion-mnist")
    flip = next(c for c in at.checkbox if c.label == "Mirror left-right")
    assert not flip.disabled


def test_the_result_shows_the_classic_pipelines_beside_the_network(app):
    from page_util import saved_run

    run = saved_run("cnn")
    b = {"features": "the 784 pixel values", "seconds": 30.0, "train_size": 48000, "n_features": 784, "top": {}}
    metrics = {
        "train": [[10, 1.0, 0.1, 0.99]],
        "val": [[10, 1.0, 0.2, 0.93]],
        "baselines": [
            {**b, "name": "Raw pixels + logistic regression", "test_accuracy": 0.925},
            {**b, "name": "HOG + logistic regression", "test_accuracy": 0.976, "n_features": 324},
        ],
    }
    RunStore().update(run.id, metrics=metrics, test_accuracy=0.99)
    at = open_page(app, "pages/train.py", run_id=run.id)
    table = at.dataframe[0].value
    assert list(table.iloc[:, 2]) == ["92.50%", "97.60%"]
    assert any("1.4 points higher than the best hand-made" in c.value for c in at.caption)
    assert any("That gap is overfitting" in c.value for c in at.caption)  # 99% against 93%
    assert next(c for c in at.checkbox if c.label.startswith("Also fit the classic pipelines"))


def test_a_runs_augmentation_is_named_in_its_settings():
    from dlviz.ui.run_widgets import augmentation_text

    s = {"augment_shift": 2.0, "augment_rotate": 10.0, "augment_scale": 0.0, "augment_flip": True}
    assert augmentation_text(s) == "Shift (pixels) 2, Rotation (degrees) 10, Mirror left-right"
    assert augmentation_text({"augment_shift": 0.0}) == "" and augmentation_text({}) == ""


def test_text_has_no_augmentation_panel(app):
    at = open_page(app, "pages/train.py", dataset="rt-polarity")
    assert not any(s.label == "Shift (pixels)" for s in at.slider)
    assert not any(c.label == "Mirror left-right" for c in at.checkbox)


def test_the_classic_pipelines_are_offered_for_a_classifier_only(app):
    """The pixels/HOG pipelines classify digits: beside a GAN they would mean nothing (and the runner's gate,
    Task.classic_baselines, keeps a stale tick from fitting them)."""
    from dlviz.tasks import get_task
    from dlviz.ui.gan_widgets import GENERATE

    at = open_page(app, "pages/train.py")
    assert any(c.label.startswith("Also fit the classic pipelines") for c in at.checkbox)
    at.session_state[K.TR_TASK] = GENERATE
    at.run()
    assert not at.exception, at.exception
    assert any("DCGAN" in m.value for m in at.markdown) or at.session_state[K.TR_TASK_KEPT] == GENERATE
    assert not any(c.label.startswith("Also fit the classic pipelines") for c in at.checkbox)
    assert get_task("classification").classic_baselines and not get_task("generation").classic_baselines
    assert not get_task("reconstruction").classic_baselines


def test_the_what_to_train_choice_comes_back_after_a_run(app):
    """While a run trains the choice is not drawn (room for the curves on a projector); when Streamlit has dropped
    the undrawn widget's state, the page draws it again with the choice that was made."""
    from dlviz.ui.gan_widgets import GENERATE

    at = open_page(app, "pages/train.py")
    at.session_state[K.TR_TASK] = GENERATE
    at.run()
    assert at.session_state[K.TR_TASK_KEPT] == GENERATE
    at.session_state[K.TR_TASK] = None  # the widget's state gone (Streamlit drops it after a run it was not drawn in)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.TR_TASK] == GENERATE
    assert any("dcgan" in m.value for m in at.markdown)  # the DCGAN is the model to train again
