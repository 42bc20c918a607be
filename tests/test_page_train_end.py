"""Issue 13, bugs 8 and 9 (AppTest): how a run's end reads on the Train page. A diverged run is never
"Training finished"; Stop gives control back at once and the test set is scored in the background."""

from __future__ import annotations

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob, run_job


def _train_page(app, **state):
    at = app()
    at.run()
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_diverged_run_says_so_with_the_likely_cause(app, mnist_dir):
    res = run_job(TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=600, lr=5.0),
                           data_dir=str(mnist_dir)), RunStore())
    for lang, words in (("en", "is probably too high for Adam"), ("zh", "很可能太高了")):
        at = _train_page(app, run_id=res.run_id, lang=lang)
        assert not [s.value for s in at.success], "a run at chance level must not read as a success"
        errors = " ".join(e.value for e in at.error)
        assert words in errors, errors
