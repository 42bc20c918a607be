"""What a training job tells the app, as typed events: the messages a training process sends its server
(``dlviz.train.process``) and what a ``Listener`` hears.

A ``Listener`` has one method per event (the CLI prints them, the executor keeps them in a ``JobSnapshot``).
A training process turns each call into an event on a queue (``Forwarder``); on the other side a ``Receiver``
delivers each event to the job's listener.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlviz.train.callbacks import Progress


@dataclass(frozen=True)
class Curves:
    """The curves so far: ``train`` and ``val`` rows ``[step, epoch, loss, score]``; ``grads``: the live
    gradient flow (``GradRecorder.live()``, a fresh dict each report) or None."""

    train: list = field(default_factory=list)
    val: list = field(default_factory=list)
    grads: dict | None = None
    live: dict | None = None  # the task's own live view (a GAN's sample grid and notice), or None


class Listener:
    """What a runner tells the outside world. The executor and the CLI subclass it."""

    def on_status(self, status: str, text: str = "", **args) -> None: ...

    def on_created(self, run_id: str, params: int, device: str, source: tuple[str, dict]) -> None: ...

    def on_progress(self, p: Progress, curves: Curves) -> None: ...

    def on_background(self, text: str, fraction: float | None = None, **args) -> None:
        """Work after a stop that no longer holds the user up (scoring the test set): the job already said
        "stopped", so this must not change its status. Defaults to nothing."""


@dataclass(frozen=True)
class StatusChanged:
    status: str  # loading | running | testing | finished | stopped | failed
    text: str = ""  # English template
    args: dict = field(default_factory=dict)

    def deliver(self, listener: Listener) -> None:
        listener.on_status(self.status, self.text, **self.args)


@dataclass(frozen=True)
class RunCreated:
    run_id: str
    params: int
    device: str
    source: tuple  # (English template, args): where the data came from

    def deliver(self, listener: Listener) -> None:
        listener.on_created(self.run_id, self.params, self.device, self.source)


@dataclass(frozen=True)
class ProgressMade:
    """A progress report; ``train`` and ``val`` hold only the curve rows new since the last one."""

    progress: Progress
    train: list
    val: list
    grads: dict | None = None
    live: dict | None = None


@dataclass(frozen=True)
class BackgroundWork:
    text: str
    fraction: float | None = None
    args: dict = field(default_factory=dict)

    def deliver(self, listener: Listener) -> None:
        listener.on_background(self.text, self.fraction, **self.args)


@dataclass(frozen=True)
class JobEnded:
    result: object  # the JobResult (dlviz.train.runner)


class Forwarder(Listener):
    """Turns every listener call into an event put on ``events`` (a queue); progress carries only the new
    curve rows."""

    def __init__(self, events):
        self.events = events
        self.run_id: str | None = None
        self.sent_train = 0
        self.sent_val = 0

    def on_status(self, status, text="", **args):
        self.events.put(StatusChanged(status, text, args))

    def on_created(self, run_id, params, device, source):
        self.run_id = run_id
        self.events.put(RunCreated(run_id, params, device, source))

    def on_background(self, text, fraction=None, **args):
        self.events.put(BackgroundWork(text, fraction, args))

    def on_progress(self, p, curves):
        tr, va = curves.train, curves.val
        new_train = [list(r) for r in tr[self.sent_train :]]
        new_val = [list(r) for r in va[self.sent_val :]]
        self.events.put(ProgressMade(p, new_train, new_val, curves.grads, curves.live))
        self.sent_train, self.sent_val = len(tr), len(va)


class Receiver:
    """Delivers ``Forwarder``'s events to ``listener``, joining the progress reports' new rows into whole
    curves."""

    def __init__(self, listener: Listener):
        self.listener = listener
        self.curves = Curves()

    def deliver(self, event) -> None:
        if isinstance(event, ProgressMade):
            self.curves.train.extend(event.train)
            self.curves.val.extend(event.val)
            curves = Curves(self.curves.train, self.curves.val, event.grads, event.live)
            self.listener.on_progress(event.progress, curves)
        else:
            event.deliver(self.listener)
