"""Issue 13, bugs 8 and 9 (AppTest): how a run's end reads on the Train page. A diverged run is never
"Training finished"; Stop gives control back at once and the test set is scored in the background."""

from __future__ import annotations

from page_util import open_page

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob, run_job


def _train_page(app, **state):
    return open_page(app, "pages/train.py", **state)


def test_a_diverged_run_says_so_with_the_likely_cause(app, mnist_dir):
    res = run_job(
        TrainJob(
            "mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=600, lr=5.0), data_dir=str(mnist_dir)
        ),
        RunStore(),
    )
    for lang, words in (("en", "is probably too high for Adam"), ("zh", "很可能太高了")):
        at = _train_page(app, run_id=res.run_id, lang=lang)
        assert not [s.value for s in at.success], "a run at chance level must not read as a success"
        errors = " ".join(e.value for e in at.error)
        assert words in errors, errors


class _HeldScoring:
    """Holds the test-set scoring of a run until released: what happens meanwhile can be watched."""

    def __init__(self, monkeypatch):
        import threading

        from dlviz.train import runner

        self.started, self.release = threading.Event(), threading.Event()
        real = runner.test_results

        def held(model, data, progress=None, **kw):
            if progress is not None:
                progress(0.25)
            self.started.set()
            assert self.release.wait(120), "the test never released the scoring"
            return real(model, data, progress=progress, **kw)

        monkeypatch.setattr(runner, "test_results", held)


def test_stop_gives_control_back_before_the_test_set_is_scored(app, monkeypatch):
    """Issue 13, bug 8: Stop waited for the whole test set to be scored (17.6 s for a ResNet on a CPU).
    Here the scoring is held until the test releases it: the page must be back in the user's hands before."""
    import time

    held = _HeldScoring(monkeypatch)
    at = _train_page(app)
    next(n for n in at.number_input if n.label == "Epochs").set_value(30)
    at.button(key="train_btn").click().run()
    deadline = time.time() + 90
    while not any(m.label == "Epoch" for m in at.metric) and time.time() < deadline:
        time.sleep(0.3)  # until the first steps are reported: a run stopped before any step has nothing to score
        at.run()
    at.button(key="stop_btn").click().run()
    assert held.started.wait(60), "scoring never started"
    deadline = time.time() + 30
    while time.time() < deadline and any(b.key == "stop_btn" for b in at.button):
        time.sleep(0.3)
        at.run()
    assert not at.exception, at.exception
    try:
        assert not at.button(key="train_btn").disabled, "Train is not available while the test set is scored"
        assert not any(b.key == "stop_btn" for b in at.button)
        assert any("Stopped at step" in w.value for w in at.warning)
        assert RunStore().get(at.session_state["run_id"]).status == "stopped"
        assert next(m.value for m in at.metric if m.label == "Test accuracy") == "–"
        bars = [p.proto.text for p in at.get("progress")]
        assert any(b.startswith("In the background: Measuring accuracy on the test set...") for b in bars), bars
    finally:
        held.release.set()
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.5)
        at.run()
        acc = next((m.value for m in at.metric if m.label == "Test accuracy"), "–")
        if acc != "–":
            break
    assert acc.endswith("%"), "the test accuracy never arrived"
    run = RunStore().get(at.session_state["run_id"])
    assert run.status == "stopped" and run.test_accuracy is not None


def test_the_process_executor_still_scores_a_stopped_run(tmp_path, mnist_dir, monkeypatch):
    """The app's executor (a child process per job) relays the early "stopped" and the background progress,
    then the result with the test accuracy (the order itself is held and checked in the thread test above)."""
    import time

    from dlviz.train.process import ProcessExecutor

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    ex = ProcessExecutor(lambda: RunStore(tmp_path))
    job = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=50, limit=2000), data_dir=str(mnist_dir))
    )
    deadline = time.time() + 120
    while time.time() < deadline and ex.snapshot(job).progress is None:
        time.sleep(0.1)
    ex.stop(job)
    s = ex.wait(job, timeout=120)
    assert s.status == "stopped" and s.done and not s.settling
    assert s.result.test_accuracy is not None and s.background is None
    assert RunStore(tmp_path).get(s.run_id).test_accuracy == s.result.test_accuracy
