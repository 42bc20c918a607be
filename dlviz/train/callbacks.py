"""What ``fit()`` tells the world while it trains: small ``Callback`` objects, each with one job.

``fit(model, data, config, callbacks)`` calls every callback's hooks at fixed points of the loop and hands
it the ``Loop`` (the model, the recipe, the step and epoch, the curves so far). A callback that does not
override a hook costs nothing there. Time spent in ``on_fit_start``, ``before_step``, ``on_step_end`` and
``on_epoch_end`` is left out of the training time (pauses, saved snapshots and checkpoints are not
training); ``after_backward`` and ``on_report`` are part of it.

- ``Control``: stop and pause, from any thread (the Train page's buttons);
- ``OnProgress``: a function called with each ``Progress`` record (the live curves, the CLI's lines);
- ``GradientRecording``: per-layer gradient norms and histograms (``GradRecorder``);
- ``Snapshots``: weights at chosen steps, for epoch replay;
- ``Checkpoints``: the run's weights, snapshot, curves and gradients saved at every epoch's end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from dlviz.train.config import TrainConfig
from dlviz.train.gradients import GradRecorder


@dataclass(frozen=True)
class Progress:
    phase: str  # "train" | "epoch_end"
    epoch: int  # 1-based epoch in progress
    epochs: int
    step: int  # optimizer steps done
    total_steps: int
    train_loss: float  # mean over the steps since the last report (at "epoch_end": over the epoch)
    train_acc: float  # the task's metric (classification: accuracy), likewise
    samples_per_s: float
    elapsed_s: float  # training time, pauses excluded
    eta_s: float
    val_loss: float | None = None
    val_acc: float | None = None


@dataclass
class Loop:
    """The state of a running ``fit()`` that callbacks read. ``step``: optimizer steps done (in
    ``after_backward``, the step being made is ``step + 1``); ``epoch``: 1-based, the one in progress.
    ``history``: the curves so far, ``{"train": [[step, epoch, loss, score, *extra], ...], "val": [...]}`` (the
    task's ``extra_metrics`` after the score)."""

    model: nn.Module
    config: TrainConfig
    device: torch.device
    precision: str  # "fp32" | "bf16": what "auto" became
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    step: int = 0
    epoch: int = 0
    history: dict = field(default_factory=lambda: {"train": [], "val": []})
    trainer: object = None  # the task's own training step (``Task.make_step``), None for the usual one


class Callback:
    """A hook for each point of the loop; each does nothing unless a subclass overrides it."""

    def on_fit_start(self, loop: Loop) -> None: ...

    def before_step(self, loop: Loop) -> None:
        """Before each step; may block (a pause)."""

    def after_backward(self, loop: Loop) -> None:
        """The gradients of step ``loop.step + 1`` are there, the optimizer has not used them yet."""

    def on_step_end(self, loop: Loop) -> None: ...

    def on_report(self, loop: Loop, p: Progress) -> None:
        """A few times a second, and at each epoch's end (``p.phase == "epoch_end"``, validation measured)."""

    def on_epoch_end(self, loop: Loop, p: Progress) -> None:
        """After the epoch's report; not called for an epoch that was stopped or failed."""

    def on_fit_end(self, loop: Loop, result) -> None:
        """Once, when training ends however it ended (``result``: the ``FitResult``), unless it raised."""

    def should_stop(self) -> bool:
        """Checked before every step and between validation batches: True ends training, "stopped"."""
        return False


HOOKS = ("on_fit_start", "before_step", "after_backward", "on_step_end", "on_report", "on_epoch_end", "on_fit_end")


class Hooks:
    """The callbacks' hooks as one call each, made once: a hook that no callback overrides is a no-op, so a
    step pays nothing for callbacks that ignore that point."""

    def __init__(self, callbacks: Iterable[Callback]):
        callbacks = list(callbacks)

        def overriding(name: str) -> list[Callable]:
            base = getattr(Callback, name)
            return [getattr(c, name) for c in callbacks if getattr(type(c), name, base) is not base]

        for name in HOOKS:
            setattr(self, name, _chain(overriding(name)))
        self._stoppers = overriding("should_stop")

    def should_stop(self) -> bool:
        return any(fn() for fn in self._stoppers)


def _chain(fns: list[Callable]) -> Callable:
    if not fns:
        return lambda *args: None
    if len(fns) == 1:
        return fns[0]

    def call(*args):
        for fn in fns:
            fn(*args)

    return call


class Control(Callback):
    """Stop / pause flags the loop checks every step (set from any thread)."""

    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait(self) -> float:
        """Block while paused; returns the seconds spent paused."""
        if self._running.is_set():
            return 0.0
        t0 = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - t0

    def before_step(self, loop: Loop) -> None:
        self.wait()

    def should_stop(self) -> bool:
        return self.stopped


class OnProgress(Callback):
    """Calls ``fn(progress)`` at every report."""

    def __init__(self, fn: Callable[[Progress], None]):
        self.fn = fn

    def on_report(self, loop: Loop, p: Progress) -> None:
        self.fn(p)


class GradientRecording(Callback):
    """Records the gradient flow with ``recorder``, or with a ``GradRecorder`` made for the model and the run's
    length when training starts."""

    def __init__(self, recorder: GradRecorder | None = None):
        self.recorder = recorder

    def on_fit_start(self, loop: Loop) -> None:
        if self.recorder is None:
            self.recorder = GradRecorder(loop.model, loop.total_steps, loop.steps_per_epoch)

    def after_backward(self, loop: Loop) -> None:
        self.recorder.after_backward(loop.step + 1)

    def live(self) -> dict | None:
        """A thinned copy for the live chart (None before training starts)."""
        return self.recorder.live() if self.recorder is not None else None

    def record(self) -> dict | None:
        return self.recorder.record() if self.recorder is not None else None


class Snapshots(Callback):
    """``save(step, model)`` before training (step 0, if listed) and after each step in ``steps``, for epoch
    replay. ``within_first_epoch``: only the steps inside the first epoch (epoch snapshots cover the rest)."""

    def __init__(self, steps: Iterable[int], save: Callable[[int, nn.Module], None], within_first_epoch=False):
        self.steps, self.save, self.first_only = set(steps), save, within_first_epoch

    def on_fit_start(self, loop: Loop) -> None:
        if self.first_only:
            self.steps = {s for s in self.steps if s < loop.steps_per_epoch}
        if 0 in self.steps:
            self.save(0, loop.model)

    def on_step_end(self, loop: Loop) -> None:
        if loop.step in self.steps:
            self.save(loop.step, loop.model)


EARLY_SNAPSHOTS = (0, 10, 50, 200)  # steps whose weights epoch replay shows (if inside the first epoch)


class Checkpoints(Snapshots):
    """Saves run ``run_id`` in ``store`` (a ``RunStore``) as it trains, so a stop, a crash or a closed tab
    keeps the last finished epoch: at each epoch's end the weights, the epoch's snapshot, the curves and the
    gradient record (``grads``); the early steps' snapshots for replay; the gradients once more at the end."""

    def __init__(self, store, run_id: str, grads: GradientRecording | None = None, early=EARLY_SNAPSHOTS):
        super().__init__(early, self._save_step, within_first_epoch=True)
        self.store, self.run_id, self.grads = store, run_id, grads

    def _save_step(self, step: int, model: nn.Module) -> None:
        self.store.save_snapshot(self.run_id, f"step-{step}", model.state_dict())

    def on_epoch_end(self, loop: Loop, p: Progress) -> None:
        state = loop.model.state_dict()
        self.store.save_weights(self.run_id, state)
        self.store.save_snapshot(self.run_id, f"epoch-{p.epoch}", state)
        self.store.update(self.run_id, metrics=curves(loop.history))
        self._save_gradients()

    def on_fit_end(self, loop: Loop, result) -> None:
        if result.steps > 0:
            self._save_gradients()  # a stopped run keeps its part

    def _save_gradients(self) -> None:
        if self.grads is not None and self.grads.recorder is not None:
            self.store.save_record(self.run_id, "gradients", self.grads.record())


def curves(history: dict) -> dict:
    """The run's metrics so far: copies of the training and validation curves."""
    return {"train": list(history.get("train", [])), "val": list(history.get("val", []))}
