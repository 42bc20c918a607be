"""``ProcessExecutor``: each training job runs in the main thread of its own process.

Why not a thread of the Streamlit server (``LocalExecutor``)? Two costs measured on a 2-core CPU
(docs/performance.md):

- PyTorch's OpenMP kernels called from a thread other than a process's main thread run up to 2x
  slower with 2 threads (the MLP: 0.44 s an epoch in the main thread, 0.95 s in a worker), so the
  worker had to fall back to one thread;
- the loop shares the GIL with the pages: every live redraw (building the curves and gradient
  figures, about 35 ms twice a second) stalls the Python side of training.

A child process trains at the headless engine's speed. Children are forked from a fork server that
has imported torch and dlviz once, so a run starts in a fraction of a second instead of the 1-2 s of
a fresh interpreter. Progress comes back as small messages on a queue (only the new curve points);
stop and pause are shared events, so the ``Control`` API and the pages do not change. If a process
cannot be started (an unusual platform, a sandbox), the job runs in a thread as before.

Two rules keep children from outliving or disturbing the server:

- a child runs none of the app. Streamlit runs ``app.py`` as ``__main__``, and multiprocessing
  re-runs the parent's ``__main__`` in every child it starts (forkserver and spawn alike) -- which
  ran the app's start-up (marking other users' runs "interrupted") and printed ~94 "missing
  ScriptRunContext" warnings per child. Children named ``dlviz-*`` are started without it
  (``_no_main_in_children``): their target lives in this importable module.
- a child dies with the server that started it. Its parent process is the fork server, which a
  killed server leaves behind (every child holds the fork server's "alive" pipe), so the child
  watches the server itself: the server's sentinel pipe and its pid, from a thread. When the server
  is gone the child marks its run "interrupted" (only if still running: a run's end is written
  once) and exits; the fork server and the resource tracker then end on their own. On Linux the
  child also asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``).

Both rules live in ``dlviz.train.children``, which the Ray backend's driver process uses too.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
import threading
import time
import traceback
import uuid

import torch

from dlviz.i18n import N_
from dlviz.runs import RunStore
from dlviz.train.callbacks import Control
from dlviz.train.children import (  # noqa: F401 - context, warm_up, CHILD_PREFIX, ...: this module's names too
    CHILD_PREFIX,
    PRELOAD,
    WATCH_SECONDS,
    _die_with_server,
    _no_main_in_children,
    _pid_alive,
    _set_parent_death_signal,
    context,
    warm_up,
)
from dlviz.train.events import Forwarder, JobEnded, Receiver
from dlviz.train.executor import LocalExecutor
from dlviz.train.runner import JobResult, TrainJob, run_job

POLL_SECONDS = 0.5


class ProcessControl(Control):
    """``Control`` over events shared with a child process."""

    def __init__(self, ctx):
        self._stop = ctx.Event()
        self._running = ctx.Event()
        self._running.set()

    def wait(self) -> float:
        """Block while paused, as ``Control.wait``; a paused job whose app has gone away (killed,
        so nobody can resume it) stops instead of waiting for ever."""
        if self._running.is_set():
            return 0.0
        t0 = time.perf_counter()
        app = mp.parent_process()  # in a training child: the app that started it
        while not self._running.wait(1.0):
            if app is not None and not app.is_alive():
                self.stop()
                break
        return time.perf_counter() - t0


def _child(job: TrainJob, home: str, env: dict, events, control: ProcessControl, app_pid: int | None = None) -> None:
    """A training process's main function."""
    for k in [k for k in os.environ if k.startswith("DLVIZ_")]:
        del os.environ[k]
    os.environ.update(env)  # the fork server started with the environment of its own start
    threads = env.get("DLVIZ_TRAIN_THREADS", "")
    if threads.isdigit() and int(threads) > 0:  # a shared server can cap each job's CPU threads
        torch.set_num_threads(int(threads))
    listener = Forwarder(events)
    _die_with_server(app_pid, lambda: _orphaned(home, listener.run_id))
    try:
        result = run_job(job, RunStore(home), listener, control)
    except BaseException as e:  # run_job turns problems into a failed result; this is the last guard
        traceback.print_exc(file=sys.stderr)
        result = JobResult(
            run_id=None,
            status="failed",
            message=N_("Something unexpected went wrong: {detail}. The app keeps working; please report this."),
            message_args={"detail": f"{type(e).__name__}: {e}"},
        )
    events.put(JobEnded(result))
    events.close()
    events.join_thread()


def _orphaned(home: str, run_id: str | None) -> None:
    """The server died while this child trained: its run ends "interrupted" (if it is still running)."""
    if run_id:
        try:
            RunStore(home).mark_interrupted(only=run_id)
        except Exception:  # noqa: BLE001 - the next app start marks it
            pass


class ProcessExecutor(LocalExecutor):
    """``LocalExecutor``'s interface; each job trains in a child process. A thread per job relays
    the child's messages into the job's state, which pages read with ``snapshot``."""

    def submit(self, job: TrainJob) -> str:
        job_id = uuid.uuid4().hex[:12]
        state = self.State(job_id)
        ctx = context()
        state.control = ProcessControl(ctx)
        store = self._store_factory()
        env = {k: v for k, v in os.environ.items() if k.startswith("DLVIZ_")}

        def relay():
            events = ctx.Queue()
            proc = ctx.Process(
                target=_child,
                args=(job, str(store.home), env, events, state.control, os.getpid()),
                name=f"{CHILD_PREFIX}train-{job_id}",
                daemon=True,
            )
            state.proc = proc
            try:
                proc.start()
            except Exception:  # noqa: BLE001 - no processes here: train in this thread instead
                traceback.print_exc(file=sys.stderr)
                state.finish(run_job(job, store, state, state.control))
                return
            self._relay(state, proc, events, store)

        state.thread = threading.Thread(target=relay, name=f"dlviz-relay-{job_id}", daemon=True)
        with self._lock:
            self._jobs[job_id] = state
        state.thread.start()
        return job_id

    @staticmethod
    def _relay(state, proc, events, store: RunStore) -> None:
        receiver = Receiver(state)
        while True:
            try:
                event = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if proc.is_alive():
                    continue
                try:  # it may have put its last words just before ending
                    event = events.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    _lost(state, proc.exitcode, store)
                    break
            if isinstance(event, JobEnded):
                state.finish(event.result)
                break
            receiver.deliver(event)
        proc.join(timeout=30)


def _lost(state, exitcode, store: RunStore) -> None:
    """The child ended without a result (killed, out of memory, a crash in native code)."""
    if state.snap.status == "stopped":  # it died while scoring a stopped run: the run is saved, stopped
        state._set(
            result=JobResult(
                run_id=state.snap.run_id, status="stopped", message=state.snap.text, message_args=state.snap.text_args
            ),
            background=None,
        )
        return
    text = N_(
        "The training process ended unexpectedly (exit code {code}). The weights of the last finished epoch were kept."
    )
    args = {"code": exitcode}
    run_id = state.snap.run_id
    result = JobResult(run_id=run_id, status="failed", message=text, message_args=args)
    if run_id:
        try:
            store.update(run_id, status="failed", message=text.format(**args))
        except Exception:  # noqa: BLE001 - the run may have been deleted meanwhile
            pass
    state._set(result=result, status="failed", text=text, text_args=args, background=None)


def make_executor(kind: str | None = None, wait: bool = False):
    """The app's executor: processes unless DLVIZ_EXECUTOR=thread (threads of this process) or ray (a Ray
    cluster at DLVIZ_RAY_ADDRESS, ``dlviz.train.ray_executor``). The fork server warms up in the background
    (``wait``: before returning); the Ray executor starts connecting at once (``wait``: until it has)."""
    kind = (kind or os.environ.get("DLVIZ_EXECUTOR") or "process").lower()
    if kind == "thread":
        return LocalExecutor()
    warm_up(wait)
    if kind == "ray":
        from dlviz.train.ray_executor import RayExecutor  # Ray itself is imported only in its driver process

        ex = RayExecutor()
        ex.start(wait=wait)
        return ex
    return ProcessExecutor()
