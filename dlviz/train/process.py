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

from dlviz.i18n import N_
from dlviz.runs import RunStore
from dlviz.train.engine import Control
from dlviz.train.executor import LocalExecutor
from dlviz.train.runner import JobResult, Listener, TrainJob, run_job

# what the fork server imports once: torch, the models, the data readers, the gradient recorder, and
# torch._dynamo, which torch.optim imports when the first optimizer is made (1.6 s on a 2-core CPU)
PRELOAD = ["dlviz.train.process", "dlviz.inspect.gradients", "torch._dynamo"]
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
        app = mp.parent_process()   # in a training child: the app that started it
        while not self._running.wait(1.0):
            if app is not None and not app.is_alive():
                self.stop()
                break
        return time.perf_counter() - t0


class _Forward(Listener):
    """In the child: every listener call becomes a message; progress carries only the new points."""

    def __init__(self, events):
        self.events = events
        self.sent_train = 0
        self.sent_val = 0

    def on_status(self, status, text="", **args):
        self.events.put(("status", status, text, args))

    def on_created(self, run_id, params, device, source):
        self.events.put(("created", run_id, params, device, source))

    def on_progress(self, p, history):
        tr, va = history["train"], history["val"]
        self.events.put(("progress", p, [list(r) for r in tr[self.sent_train:]],
                         [list(r) for r in va[self.sent_val:]], history.get("grads")))
        self.sent_train, self.sent_val = len(tr), len(va)


def _child(job: TrainJob, home: str, env: dict, events, control: ProcessControl) -> None:
    """A training process's main function."""
    for k in [k for k in os.environ if k.startswith("DLVIZ_")]:
        del os.environ[k]
    os.environ.update(env)   # the fork server started with the environment of its own start
    threads = env.get("DLVIZ_TRAIN_THREADS", "")
    if threads.isdigit() and int(threads) > 0:   # a shared server can cap each job's CPU threads
        import torch
        torch.set_num_threads(int(threads))
    listener = _Forward(events)
    try:
        result = run_job(job, RunStore(home), listener, control)
    except BaseException as e:   # run_job turns problems into a failed result; this is the last guard
        traceback.print_exc(file=sys.stderr)
        result = JobResult(run_id=None, status="failed", message=N_(
            "Something unexpected went wrong: {detail}. The app keeps working; please report this."),
            message_args={"detail": f"{type(e).__name__}: {e}"})
    events.put(("result", result))
    events.close()
    events.join_thread()


_ctx = None
_ctx_lock = threading.Lock()


def context():
    """The multiprocessing context: a fork server preloaded with torch and dlviz where the platform
    has one (Linux, macOS), else spawn (Windows)."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            if "forkserver" in mp.get_all_start_methods():
                _ctx = mp.get_context("forkserver")
                _ctx.set_forkserver_preload(PRELOAD)
            else:
                _ctx = mp.get_context("spawn")
        return _ctx


def _noop() -> None:
    pass


def warm_up(wait: bool = False) -> None:
    """Start the fork server and let it import torch and dlviz (1-2 s) now, by running one empty child,
    so that pressing Train later starts at once. In the background unless ``wait``."""
    def go():
        try:
            p = context().Process(target=_noop, daemon=True)
            p.start()
            p.join(60)
        except Exception:   # noqa: BLE001 - submit() falls back to a thread if processes cannot start
            pass

    if wait:
        go()
    else:
        threading.Thread(target=go, name="dlviz-warm-up", daemon=True).start()


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
            proc = ctx.Process(target=_child, args=(job, str(store.home), env, events, state.control),
                               name=f"dlviz-train-{job_id}", daemon=True)
            state.proc = proc
            try:
                proc.start()
            except Exception:   # noqa: BLE001 - no processes here: train in this thread instead
                traceback.print_exc(file=sys.stderr)
                result = run_job(job, store, state, state.control)
                state._set(result=result, run_id=result.run_id, status=result.status, text=result.message,
                           text_args=result.message_args)
                return
            self._relay(state, proc, events, store)

        state.thread = threading.Thread(target=relay, name=f"dlviz-relay-{job_id}", daemon=True)
        with self._lock:
            self._jobs[job_id] = state
        state.thread.start()
        return job_id

    @staticmethod
    def _relay(state, proc, events, store: RunStore) -> None:
        history: dict = {"train": [], "val": []}
        while True:
            try:
                msg = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if proc.is_alive():
                    continue
                try:   # it may have put its last words just before ending
                    msg = events.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    _lost(state, proc.exitcode, store)
                    break
            kind = msg[0]
            if kind == "status":
                state.on_status(msg[1], msg[2], **msg[3])
            elif kind == "created":
                state.on_created(*msg[1:])
            elif kind == "progress":
                history["train"].extend(msg[2])
                history["val"].extend(msg[3])
                h = dict(history)
                if msg[4] is not None:
                    h["grads"] = msg[4]
                state.on_progress(msg[1], h)
            elif kind == "result":
                r = msg[1]
                state._set(result=r, run_id=r.run_id or state.snap.run_id, status=r.status, text=r.message,
                           text_args=r.message_args)
                break
        proc.join(timeout=30)


def _lost(state, exitcode, store: RunStore) -> None:
    """The child ended without a result (killed, out of memory, a crash in native code)."""
    text = N_("The training process ended unexpectedly (exit code {code}). The weights of the last finished "
              "epoch were kept.")
    args = {"code": exitcode}
    run_id = state.snap.run_id
    result = JobResult(run_id=run_id, status="failed", message=text, message_args=args)
    if run_id:
        try:
            store.update(run_id, status="failed", message=text.format(**args))
        except Exception:   # noqa: BLE001 - the run may have been deleted meanwhile
            pass
    state._set(result=result, status="failed", text=text, text_args=args)


def make_executor(kind: str | None = None, wait: bool = False):
    """The app's executor: processes unless DLVIZ_EXECUTOR=thread. The fork server warms up in the
    background (``wait``: before returning)."""
    kind = (kind or os.environ.get("DLVIZ_EXECUTOR") or "process").lower()
    if kind == "thread":
        return LocalExecutor()
    warm_up(wait)
    return ProcessExecutor()
