"""fit()'s callbacks: when each hook is called and with what, stop from a callback, snapshots, checkpoints,
gradient recording; and the typed events a training process sends its server."""

from __future__ import annotations

import pickle

import pytest
import torch

from dlviz.models import build
from dlviz.train import (
    Callback,
    Checkpoints,
    Control,
    Curves,
    DeviceData,
    GradientRecording,
    Listener,
    OnProgress,
    Progress,
    Snapshots,
    TrainConfig,
    fit,
    image_transform,
)
from dlviz.train.callbacks import Hooks
from dlviz.train.events import (
    BackgroundWork,
    Forwarder,
    JobEnded,
    ProgressMade,
    Receiver,
    RunCreated,
    StatusChanged,
)
from dlviz.train.runner import JobResult

CFG = TrainConfig(epochs=2, batch_size=16, cpu_threads="fixed", record_gradients=False)


def _data(n=128, val=32):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n + val,), generator=g)
    x = torch.randint(0, 60, (n + val, 6, 6), generator=g, dtype=torch.uint8)
    for c in range(3):
        x[y == c, 2 * c : 2 * c + 2, :] = 200
    return DeviceData(x[:n], y[:n], x[n:], y[n:], x[:8], y[:8], image_transform)


def _model():
    spec = [{"type": "flatten"}, {"type": "dense", "units": 8}, {"type": "relu"}, {"type": "dense", "units": 3}]
    return build(spec, (1, 6, 6), 3, seed=0).module


class Log(Callback):
    """Every hook call, as (hook, loop.step, loop.epoch, extra)."""

    def __init__(self):
        self.calls = []

    def on_fit_start(self, loop):
        self.calls.append(("start", loop.step, loop.epoch, loop.total_steps))

    def before_step(self, loop):
        self.calls.append(("before", loop.step, loop.epoch, None))

    def after_backward(self, loop):
        grads = all(p.grad is not None for p in loop.model.parameters())
        self.calls.append(("backward", loop.step, loop.epoch, grads))

    def on_step_end(self, loop):
        self.calls.append(("step_end", loop.step, loop.epoch, None))

    def on_report(self, loop, p):
        self.calls.append(("report", loop.step, loop.epoch, p.phase))

    def on_epoch_end(self, loop, p):
        self.calls.append(("epoch_end", loop.step, loop.epoch, (p.val_loss is not None, len(loop.history["val"]))))

    def on_fit_end(self, loop, result):
        self.calls.append(("end", loop.step, loop.epoch, result.status))


def test_hooks_are_called_in_order_with_the_loop_state():
    log = Log()
    res = fit(_model(), _data(), CFG, [log])
    assert res.status == "finished" and res.steps == 16 and res.epochs_done == 2
    calls = log.calls
    assert calls[0] == ("start", 0, 0, 16) and calls[-1] == ("end", 16, 2, "finished")
    steps = [c for c in calls if c[0] in ("before", "backward", "step_end")]
    # each step: before (k done), backward (gradients of step k + 1 there), step end (k + 1 done)
    assert steps[:3] == [("before", 0, 1, None), ("backward", 0, 1, True), ("step_end", 1, 1, None)]
    assert len(steps) == 3 * 16 and steps[-1] == ("step_end", 16, 2, None)
    ends = [c for c in calls if c[0] in ("report", "epoch_end") and c[3] != "train"]
    # at each epoch's end: its report, then on_epoch_end, with the validation point already in the history
    assert ends == [
        ("report", 8, 1, "epoch_end"),
        ("epoch_end", 8, 1, (True, 1)),
        ("report", 16, 2, "epoch_end"),
        ("epoch_end", 16, 2, (True, 2)),
    ]


def test_a_callback_that_overrides_nothing_is_never_called():
    hooks = Hooks([Callback(), Callback()])
    assert not hooks.should_stop()
    hooks.before_step(None)  # a no-op, whatever it is given
    assert fit(_model(), _data(), CFG, [Callback()]).status == "finished"


class StopAt(Callback):
    def __init__(self, step):
        self.step, self.loop = step, None

    def on_fit_start(self, loop):
        self.loop = loop

    def should_stop(self):
        return self.loop is not None and self.loop.step >= self.step


def test_a_callback_can_stop_training_and_hears_the_end():
    log = Log()
    res = fit(_model(), _data(), CFG, [StopAt(3), log])
    assert res.status == "stopped" and res.steps == 3 and res.epochs_done == 0
    assert res.message_args == {"step": 3, "total": 16, "epoch": 1}
    assert res.history["train"][-1][0] == 3  # the steps before the stop were reported
    assert log.calls[-1] == ("end", 3, 1, "stopped")
    assert not [c for c in log.calls if c[0] == "epoch_end"]


def test_a_stop_at_an_epochs_end_skips_its_validation_and_checkpoint():
    log = Log()
    res = fit(_model(), _data(), CFG, [StopAt(8), log])
    assert res.status == "stopped" and res.steps == 8 and res.epochs_done == 0
    assert res.history["val"] == [] and not [c for c in log.calls if c[0] == "epoch_end"]


def test_control_stops_a_paused_loop():
    control = Control()
    control.pause()
    control.stop()  # wakes the paused loop, which then stops before its first step
    res = fit(_model(), _data(), CFG, [control])
    assert res.status == "stopped" and res.steps == 0


def test_on_progress_gets_progress_records():
    seen = []
    fit(_model(), _data(), CFG, [OnProgress(seen.append)])
    assert all(isinstance(p, Progress) for p in seen)
    assert [p.epoch for p in seen if p.phase == "epoch_end"] == [1, 2]


@pytest.mark.parametrize("first_only, expected", [(False, [0, 2, 10]), (True, [0, 2])])
def test_snapshots_at_chosen_steps(first_only, expected):
    seen = []
    fit(_model(), _data(), CFG, [Snapshots((0, 2, 10, 99), lambda step, m: seen.append(step), first_only)])
    assert seen == expected  # 8 steps an epoch, 16 in all: step 99 never comes


class FakeStore:
    def __init__(self):
        self.calls = []

    def save_weights(self, run_id, state):
        self.calls.append(("weights", run_id, sorted(state)))

    def save_snapshot(self, run_id, name, state):
        self.calls.append(("snapshot", run_id, name))

    def update(self, run_id, **kw):
        self.calls.append(("update", run_id, {k: len(v) for k, v in kw["metrics"].items()}))

    def save_record(self, run_id, name, record):
        self.calls.append(("record", run_id, name, record["steps"][-1] if record["steps"] else None))


def test_checkpoints_save_the_run_at_every_epoch_end():
    store, grads = FakeStore(), GradientRecording()
    res = fit(_model(), _data(), CFG, [grads, Checkpoints(store, "r1", grads, early=(0, 5, 50))])
    assert res.status == "finished"
    names = [c[2] for c in store.calls if c[0] == "snapshot"]
    assert names == ["step-0", "step-5", "epoch-1", "epoch-2"]  # step 50 is past the first epoch
    weights = [c for c in store.calls if c[0] == "weights"]
    assert len(weights) == 2 and "dense_1.weight" in weights[0][2]
    updates = [c[2] for c in store.calls if c[0] == "update"]  # the curves so far (a slow machine reports more)
    assert [u["val"] for u in updates] == [1, 2] and 1 <= updates[0]["train"] < updates[1]["train"]
    # the gradient record at each epoch's end, and once more when training ends
    assert [c[3] for c in store.calls if c[0] == "record"] == [8, 16, 16]


def test_gradient_recording_sizes_its_recorder_to_the_run():
    grads = GradientRecording()
    assert grads.live() is None and grads.record() is None
    fit(_model(), _data(), CFG, [grads])
    r = grads.record()
    assert r["steps"] == list(range(1, 17)) and r["steps_per_epoch"] == 8 and r["layers"] == ["dense_1", "dense_2"]
    assert grads.live()["steps"] == r["steps"]


class Events(list):
    def put(self, event):
        self.append(pickle.loads(pickle.dumps(event)))  # as a process queue would carry it


class Heard(Listener):
    def __init__(self):
        self.heard = []

    def on_status(self, status, text="", **args):
        self.heard.append(("status", status, text, args))

    def on_created(self, run_id, params, device, source):
        self.heard.append(("created", run_id, params, device, source))

    def on_progress(self, p, curves):
        self.heard.append(("progress", p.step, [r[0] for r in curves.train], [r[0] for r in curves.val], curves.grads))

    def on_background(self, text, fraction=None, **args):
        self.heard.append(("background", text, fraction, args))


def _progress(step):
    return Progress("train", 1, 2, step, 10, 0.5, 0.5, 100.0, 1.0, 9.0)


def test_events_carry_only_new_rows_and_the_receiver_joins_them():
    events = Events()
    fwd = Forwarder(events)
    fwd.on_status("loading", "Loading {dataset}...", dataset="mnist")
    fwd.on_created("r1", 10, "cpu", ("From {path}", {"path": "/x"}))
    train, val = [[1, 0.1, 2.0, 0.1]], []
    fwd.on_progress(_progress(1), Curves(train, val))
    train.append([2, 0.2, 1.5, 0.4])
    val.append([2, 0.2, 1.6, 0.3])
    fwd.on_progress(_progress(2), Curves(train, val, {"steps": [1, 2]}))
    fwd.on_background("Measuring accuracy on the test set...", 0.5)
    assert [type(e) for e in events] == [StatusChanged, RunCreated, ProgressMade, ProgressMade, BackgroundWork]
    assert events[3].train == [[2, 0.2, 1.5, 0.4]] and events[3].val == [[2, 0.2, 1.6, 0.3]]
    assert fwd.run_id == "r1"
    heard = Heard()
    receiver = Receiver(heard)
    for e in events:
        receiver.deliver(e)
    assert heard.heard == [
        ("status", "loading", "Loading {dataset}...", {"dataset": "mnist"}),
        ("created", "r1", 10, "cpu", ("From {path}", {"path": "/x"})),
        ("progress", 1, [1], [], None),
        ("progress", 2, [1, 2], [2], {"steps": [1, 2]}),
        ("background", "Measuring accuracy on the test set...", 0.5, {}),
    ]
    ended = pickle.loads(pickle.dumps(JobEnded(JobResult("r1", "finished", test_accuracy=0.9))))
    assert ended.result.test_accuracy == 0.9
