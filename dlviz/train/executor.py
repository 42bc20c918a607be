"""Pages start, watch and stop runs through one small interface, the ``Executor``.

``LocalExecutor`` runs each job in a worker thread of this process. A backend that shares GPUs
over several machines (Ray, later) implements the same five methods; pages do not change.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

from dlviz.runs import RunStore
from dlviz.train.callbacks import Control, Progress
from dlviz.train.events import Curves, Listener
from dlviz.train.runner import JobResult, TrainJob, run_job

FINAL = ("finished", "stopped", "failed")


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent, immutable copy of a job's state, cheap enough to take twice a second."""

    job_id: str
    status: str  # queued | loading | running | paused | testing | finished | stopped | failed
    text: str = ""  # English template for the status line / final message
    text_args: dict = field(default_factory=dict)
    fraction: float | None = None  # loading progress
    run_id: str | None = None
    params: int = 0
    device: str = ""
    source: tuple = ("", {})
    progress: Progress | None = None
    train: tuple = ()  # ((step, epoch, loss, acc), ...)
    val: tuple = ()
    grads: dict | None = None  # GradRecorder.live(): a fresh dict each report, never mutated
    live: dict | None = None  # the task's own live view (a GAN's sample grid), a fresh dict each report
    result: JobResult | None = None
    started: float = 0.0
    background: tuple | None = None  # (English template, args, fraction or None): work after a stop, e.g. scoring
    place: int = 0  # waiting in a class's queue (dlviz.classroom.queue): 1 = next to start; 0 when not waiting
    wait_s: float | None = None  # waiting: the estimated seconds until it starts (None: nothing measured yet)

    @property
    def done(self) -> bool:
        """Training is over and the page has control back (a stopped job may still score the test set)."""
        return self.status in FINAL

    @property
    def settling(self) -> bool:
        """Done, but the job still works in the background (a stopped run's test set): the result is to come."""
        return self.done and self.result is None


class Executor(Protocol):
    def submit(self, job: TrainJob) -> str: ...
    def snapshot(self, job_id: str) -> JobSnapshot: ...
    def stop(self, job_id: str) -> None: ...
    def pause(self, job_id: str) -> None: ...
    def resume(self, job_id: str) -> None: ...


class _JobState(Listener):
    def __init__(self, job_id: str):
        self.lock = threading.Lock()
        self.control = Control()
        self.snap = JobSnapshot(job_id, "queued", started=time.time())
        self.thread: threading.Thread | None = None

    def _set(self, **kw) -> None:
        with self.lock:
            self.snap = replace(self.snap, **kw)

    def on_status(self, status: str, text: str = "", **args) -> None:
        fraction = args.pop("fraction", None)
        if status == "running" and self.control.paused:
            status = "paused"  # paused while the data was still loading
        self._set(status=status, text=text, text_args=args, fraction=fraction)

    def on_created(self, run_id, params, device, source) -> None:
        self._set(run_id=run_id, params=params, device=device, source=source)

    def on_background(self, text: str, fraction: float | None = None, **args) -> None:
        self._set(background=(text, args, fraction))

    def on_progress(self, p: Progress, curves: Curves) -> None:
        # tuples of the lists as they are now: the worker appends, readers never see a torn list
        self._set(
            progress=p,
            train=tuple(map(tuple, curves.train)),
            val=tuple(map(tuple, curves.val)),
            grads=curves.grads,
            live=curves.live,
            status="paused" if self.control.paused else "running",
        )

    def finish(self, result: JobResult) -> None:
        """The job's end: its result, and the status and message it ended with."""
        self._set(
            result=result,
            run_id=result.run_id or self.snap.run_id,
            status=result.status,
            text=result.message,
            text_args=result.message_args,
            background=None,
        )


class LocalExecutor:
    """Worker threads in this process, one per job."""

    State = _JobState  # the listener each job reports to (a benchmark subclasses it to time epochs)

    def __init__(self, store_factory: Callable[[], RunStore] = RunStore):
        self._store_factory = store_factory
        self._jobs: dict[str, _JobState] = {}
        self._lock = threading.Lock()

    def submit(self, job: TrainJob) -> str:
        job_id = uuid.uuid4().hex[:12]
        state = self.State(job_id)

        def work():
            state.finish(run_job(job, self._store_factory(), state, state.control))

        state.thread = threading.Thread(target=work, name=f"dlviz-train-{job_id}", daemon=True)
        with self._lock:
            self._jobs[job_id] = state
        state.thread.start()
        return job_id

    def _state(self, job_id: str) -> _JobState:
        with self._lock:
            if job_id not in self._jobs:
                raise KeyError(job_id)
            return self._jobs[job_id]

    def snapshot(self, job_id: str) -> JobSnapshot:
        st = self._state(job_id)
        with st.lock:
            return st.snap

    def stop(self, job_id: str) -> None:
        self._state(job_id).control.stop()

    def pause(self, job_id: str) -> None:
        st = self._state(job_id)
        st.control.pause()
        if st.snap.status in ("queued", "loading", "running"):
            st._set(status="paused")

    def resume(self, job_id: str) -> None:
        st = self._state(job_id)
        st.control.resume()
        if st.snap.status == "paused":
            st._set(status="running" if st.snap.run_id else "loading")

    def has(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._jobs

    def active_run_ids(self) -> set[str]:
        """Run ids still training in this process (the others marked 'running' were interrupted)."""
        with self._lock:
            states = list(self._jobs.values())
        return {s.snap.run_id for s in states if s.snap.run_id and not s.snap.done}

    def job_for_run(self, run_id: str) -> str | None:
        with self._lock:
            for jid, s in self._jobs.items():
                if s.snap.run_id == run_id:
                    return jid
        return None

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        st = self._state(job_id)
        if st.thread:
            st.thread.join(timeout)
        return self.snapshot(job_id)
