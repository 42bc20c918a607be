"""``RayExecutor``: a class's training jobs on a Ray cluster (``DLVIZ_EXECUTOR=ray``, ``DLVIZ_RAY_ADDRESS``).

The same interface as ``ProcessExecutor`` (``submit``, ``snapshot``, ``stop``, ``pause``, ``resume``, ``wait``,
``has``, ``active_run_ids``, ``job_for_run``), so the pages and the class's fair queue use it unchanged. Ray is an
optional install (``requirements-ray.txt``) imported only here, and only in the driver process below and on the
cluster; the cluster is started outside the app (``ray start --head``; README, "Class on a Ray cluster").

**Where Ray runs: a small driver process, never the Streamlit server.** Checked with Ray 2.60 on this machine:

- ``ray.init`` called on a process's main thread replaces its SIGTERM handler with its own ``sys.exit``
  (``ray/_private/worker.py``, ``init``: "terminate any signal before connecting driver"; ray-project/ray#17308,
  #39482): the server's own shutdown would no longer run;
- called from another thread (Streamlit runs a page's script in one) it leaves the handler but warns, and a driver
  started in a thread aborted its whole process 60 s after ``ray.shutdown`` ("Failed to connect to GCS within 60
  seconds ... The program will terminate"): in the server, every user's session would go with it;
- ``ray.init(address=...)`` to an address where nothing answers retries for minutes ("Timed out while waiting for
  GCS to become available", every 30 s) before it gives up.

So the app starts one child process (``dlviz-ray-driver``, from ``dlviz.train.process``'s fork server, so it does
not re-run ``app.py``; ``dlviz.train.children``), which alone imports Ray, connects, submits the jobs and relays their events; the app talks
to it over two multiprocessing queues, exactly as ``ProcessExecutor`` talks to a training child. Ray's handlers,
threads (gRPC) and memory stay in that process; a hang is bounded by a timeout the app keeps; an address that
does not answer is found by a plain TCP connect (seconds) before Ray is asked. The driver dies with the server
(``children._die_with_server``); Ray then ends the tasks it owned, and their runs are marked "interrupted".

**A job is a Ray task** with its resources declared: ``num_cpus`` (``DLVIZ_RAY_CPUS_PER_JOB``, default 1; the job
trains with that many threads) and, when the job trains on a GPU (device ``cuda``, or ``auto`` on a cluster that
has GPUs), ``num_gpus`` = ``DLVIZ_RAY_GPU_SHARE`` (default 0.25: four jobs per GPU). A fractional GPU is
bookkeeping only: Ray starts each task in its own process with its own CUDA context and does not limit its
memory, so set the share to what one GPU's memory holds (1 / jobs per GPU). A task, not an actor: it runs on its
worker's main thread, where PyTorch's CPU kernels run at full speed (``dlviz.train.process``). ``max_retries=0``:
a retried job would start a second run.

**Progress, stop and pause** flow as with ``ProcessExecutor``: the runner's listener is ``events.Forwarder`` (only
the new curve points), its ``Control`` is set from outside. Between the task and the driver sits one small actor
(``_hub_class``, ``num_cpus=0``, one per driver): every 0.25 s the task hands it the events since last time and gets back
the job's flags (stop, paused); the driver drains it and forwards each job's events to the app, whose relay
thread puts them into the job's ``JobSnapshot``. A task that has not started yet (waiting for free CPUs) is
cancelled by Stop. A worker that dies (killed, out of memory, its machine gone) is reported plainly, like a
training process that died, and its run keeps its last finished epoch.

**The run store.** The task writes its run (record, per-epoch checkpoints, snapshots, gradients, final weights)
into the app's ``DLVIZ_HOME`` as a local job does; the pages read them while it trains. On one machine that is
the same folder. On several machines ``DLVIZ_HOME`` (and the data folder) must be one shared folder (NFS or
similar) mounted at the same path on every machine, and each machine needs this checkout at the same path and
the same Python environment (Ray puts the driver's folder, the checkout, on its workers' import path). This is
checked, not assumed: the driver writes a random token under ``DLVIZ_HOME/class/``; a task that does not read
the same token fails at once with a plain message instead of writing a run nobody would see. (Not chosen:
shipping the weights back to the driver at the end. The checkpoints and snapshots are written during training,
the look-inside pages read them live, and a lost worker keeps its last finished epoch only if each epoch was
written where the app reads.)
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import queue
import secrets
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Callable

from dlviz.i18n import N_
from dlviz.runs import RunStore
from dlviz.train.callbacks import Control
from dlviz.train.children import CHILD_PREFIX, _die_with_server, context
from dlviz.train.events import Forwarder, JobEnded, Receiver
from dlviz.train.executor import LocalExecutor
from dlviz.train.runner import JobResult, TrainJob, run_job

POLL_SECONDS = 0.25  # how often a task trades its events for its flags, and the driver drains them
CONNECT_SECONDS = 60.0  # how long the app waits for the driver to connect (DLVIZ_RAY_CONNECT_TIMEOUT)
REPO = Path(__file__).resolve().parents[2]  # the checkout: the driver runs here, so Ray's workers import dlviz
TOKEN_FILE = ("class", "ray-store-token")  # under DLVIZ_HOME: the shared-store check

NOT_INSTALLED = N_(
    "Training on a Ray cluster (DLVIZ_EXECUTOR=ray) needs Ray, which is not installed. "
    "Install it with: pip install -r requirements-ray.txt"
)
NO_ADDRESS = N_(
    "Training on a Ray cluster (DLVIZ_EXECUTOR=ray) needs the cluster's address in DLVIZ_RAY_ADDRESS "
    "(the head's host:port, printed by ray start --head)."
)
NO_ANSWER = N_(
    "Nothing answers at the Ray address {address} ({detail}). Start the cluster first (ray start --head) "
    "and check DLVIZ_RAY_ADDRESS."
)
NO_CONNECT = N_("Could not connect to the Ray cluster at {address}: {detail}")
TIMED_OUT = N_("The Ray cluster at {address} did not answer within {seconds} seconds.")
DRIVER_LOST = N_("The connection to the Ray cluster ended unexpectedly (exit code {code}).")
WORKER_LOST = N_(
    "The Ray worker training this job was lost ({detail}). The weights of the last finished epoch were kept."
)
NOT_SHARED = N_(
    "The Ray worker on {node} does not see this server's run store ({home}). On several machines, DLVIZ_HOME "
    "must be one shared folder mounted at the same path on every machine."
)
NO_GPU = N_(
    "This job trains on a GPU, but the Ray cluster at {address} has none. Choose 'auto' or 'cpu', "
    "or add a machine with a GPU to the cluster."
)
WAITING = N_("Waiting for a free worker on the Ray cluster...")
STOPPED_EARLY = N_("Stopped before training began; no run was saved.")
UNEXPECTED = N_("Something unexpected went wrong: {detail}. The app keeps working; please report this.")


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of ``host:port`` or ``ray://host:port``; None for what only Ray understands ("auto")."""
    a = address.strip()
    if "://" in a:
        a = a.split("://", 1)[1]
    host, sep, port = a.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def check_address(address: str, timeout: float = 3.0) -> tuple[str, dict] | None:
    """Why ``address`` cannot be used, as (English template, args), or None if something listens there. A plain
    TCP connect: Ray itself would retry for minutes."""
    if not ray_installed():
        return NOT_INSTALLED, {}
    if not address.strip():
        return NO_ADDRESS, {}
    hp = _host_port(address)
    if hp is None:
        return None
    try:
        with socket.create_connection(hp, timeout=timeout):
            return None
    except OSError as e:
        return NO_ANSWER, {"address": address, "detail": e.strerror or type(e).__name__}


# ---------------------------------------------------------------------------------------------------------------
# On the cluster: the hub actor and the training task (defined when Ray is imported, in the driver)


class _Outbox:
    """Where the task's ``Forwarder`` puts events until the next exchange."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items: list = []

    def put(self, event) -> None:
        data = pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)  # opaque to the hub (see _hub_class)
        with self.lock:
            self.items.append(data)

    def take(self) -> list:
        with self.lock:
            out, self.items = self.items, []
            return out


class _Link:
    """In a task: trades the outbox's events for the job's flags with the hub, every ``POLL_SECONDS``."""

    def __init__(self, ray, hub, job_id: str, outbox: _Outbox, control: Control):
        self.ray, self.hub, self.job_id, self.outbox, self.control = ray, hub, job_id, outbox, control
        self.done = threading.Event()
        self.failures = 0

    def exchange(self) -> None:
        batch = self.outbox.take()
        try:
            stop, paused = self.ray.get(self.hub.exchange.remote(self.job_id, batch), timeout=30)
        except Exception:  # noqa: BLE001 - the driver is gone: nobody can watch or resume this job
            self.failures += 1
            if self.failures >= 3:
                self.control.stop()
            return
        self.failures = 0
        if stop:
            self.control.stop()
        elif paused:
            self.control.pause()
        else:
            self.control.resume()

    def run(self) -> None:
        while not self.done.wait(POLL_SECONDS):
            self.exchange()


def _store_visible(home: str, token: str) -> bool:
    try:
        return Path(home, *TOKEN_FILE).read_text(encoding="utf-8").strip() == token
    except OSError:
        return False


def _train(job_id: str, job: TrainJob, home: str, env: dict, hub, token: str, threads: int) -> JobResult:
    """A training job on a Ray worker (a Ray task's function)."""
    import ray
    import torch

    for k in [k for k in os.environ if k.startswith("DLVIZ_")]:
        del os.environ[k]
    os.environ.update(env)
    os.environ["DLVIZ_HOME"] = home  # the app's store, whatever the submitting page's environment said
    n = env.get("DLVIZ_TRAIN_THREADS", "")
    torch.set_num_threads(int(n) if n.isdigit() and int(n) > 0 else max(1, threads))
    if not _store_visible(home, token):
        return JobResult(None, "failed", NOT_SHARED, {"node": socket.gethostname(), "home": home})
    outbox, control = _Outbox(), Control()
    link = _Link(ray, hub, job_id, outbox, control)
    link.exchange()  # started: the hub knows, and a pause or stop asked while it waited applies now
    thread = threading.Thread(target=link.run, name="dlviz-ray-link", daemon=True)
    thread.start()
    try:
        result = run_job(job, RunStore(home), Forwarder(outbox), control)
    except Exception as e:  # noqa: BLE001 - run_job turns problems into a failed result; the last guard
        traceback.print_exc(file=sys.stderr)
        result = JobResult(None, "failed", UNEXPECTED, {"detail": f"{type(e).__name__}: {e}"})
    finally:
        link.done.set()
        thread.join(5)
        link.exchange()  # the last events reach the hub before the task's result does
    return result


def _hub_class():
    """The hub actor's class: one per driver (``num_cpus=0``) holding each job's events on their way to the app and
    each job's flags on their way to the task. Made here, not at module level, so that Ray ships it by value and
    its process never imports dlviz (nor torch): the events pass through it as pickled bytes. Measured: 302 MB of
    resident memory when it imported dlviz. Plain methods, one call at a time, so a task's batches stay in order."""

    class Hub:
        def __init__(self):
            self.events = {}
            self.flags = {}
            self.started = set()

        def exchange(self, job_id, batch):
            self.started.add(job_id)
            if batch:
                self.events.setdefault(job_id, []).extend(batch)
            return self.flags.get(job_id, (False, False))

        def set_flags(self, job_id, stop, paused):
            self.flags[job_id] = (stop, paused)

        def drain(self):
            out, self.events = self.events, {}
            return out, sorted(self.started)

        def forget(self, job_id):
            self.flags.pop(job_id, None)
            self.started.discard(job_id)
            self.events.pop(job_id, None)

    Hub.__module__ = "__main__"  # not importable by name: shipped by value
    return Hub


# ---------------------------------------------------------------------------------------------------------------
# The driver process


def _gpu_wanted(job: TrainJob, cluster_gpus: float) -> bool:
    device = (job.config.device or "auto").lower()
    return device.startswith("cuda") or (device == "auto" and cluster_gpus > 0)


def task_options(
    job: TrainJob, job_id: str, cluster_gpus: float, cpus: int, gpu_share: float
) -> tuple[TrainJob, dict | None]:
    """(the job as the task trains it, the Ray task's options), or (job, None) when it wants a GPU the cluster
    lacks. A GPU job declares ``gpu_share`` of one; a job on 'auto' without a GPU share trains on the CPU (Ray does
    not hide a node's GPUs from a task that declared none, so it must not pick one up by itself)."""
    want_gpu = _gpu_wanted(job, cluster_gpus)
    if want_gpu and cluster_gpus <= 0:
        return job, None
    if not want_gpu and (job.config.device or "auto").lower() == "auto":
        job = replace(job, config=replace(job.config, device="cpu"))
    opts = {"num_cpus": cpus, "max_retries": 0, "name": f"dlviz-train-{job_id}"}
    if want_gpu:
        opts["num_gpus"] = gpu_share
    return job, opts


def _driver(address: str, home: str, env: dict, commands, events, app_pid: int) -> None:
    """The driver process's main function: connect, submit, relay (see the module's docstring)."""
    os.environ.update(env)
    os.chdir(REPO)  # Ray puts the driver's folder on its workers' import path: they import dlviz from here
    running: dict[str, dict] = {}  # job_id -> {"ref", "run_id", "stop", "cancelled"}

    def orphaned():  # the server died: runs still training end "interrupted" (the next start would mark them too)
        for job in list(running.values()):
            if job.get("run_id"):
                try:
                    RunStore(home).mark_interrupted(only=job["run_id"])
                except Exception:  # noqa: BLE001
                    pass

    _die_with_server(app_pid, orphaned)

    def say(job_id, event) -> None:
        events.put((job_id, event))

    _token_auth()  # before Ray is imported: it reads the mode once
    try:
        import logging

        import ray
    except ImportError:
        say(None, ("error", NOT_INSTALLED, {}))
        return
    try:
        ray.init(address=address, namespace="dlviz", log_to_driver=False, logging_level=logging.WARNING)
    except Exception as e:  # noqa: BLE001 - said plainly to the app
        say(None, ("error", NO_CONNECT, {"address": address, "detail": f"{type(e).__name__}: {e}"}))
        return
    token = secrets.token_hex(16)
    path = Path(home, *TOKEN_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(token, encoding="utf-8")
    os.replace(tmp, path)  # several servers may share a home: the latest token wins; see _store_visible
    resources = ray.cluster_resources()
    gpus = float(resources.get("GPU", 0))
    cpus_per_job, gpu_share = _cpus_per_job(), _gpu_share()
    hub = ray.remote(num_cpus=0, max_restarts=0)(_hub_class()).options(name=f"dlviz-hub-{uuid.uuid4().hex[:8]}")
    hub = hub.remote()
    train = ray.remote(_train)
    say(None, ("ready", {"cpus": float(resources.get("CPU", 0)), "gpus": gpus, "address": address}))

    def submit(job_id: str, job: TrainJob, job_env: dict) -> None:
        job, opts = task_options(job, job_id, gpus, cpus_per_job, gpu_share)
        if opts is None:
            say(job_id, JobEnded(JobResult(None, "failed", NO_GPU, {"address": address})))
            return
        ref = train.options(**opts).remote(job_id, job, home, job_env, hub, token, cpus_per_job)
        running[job_id] = {"ref": ref, "run_id": None, "stop": False, "cancelled": False}

    def command(cmd) -> bool:
        kind = cmd[0]
        if kind == "quit":
            return False
        if kind == "submit":
            submit(*cmd[1:])
        elif kind == "flags":
            _, job_id, stop, paused = cmd
            hub.set_flags.remote(job_id, stop, paused)
            job = running.get(job_id)
            if job is not None and stop:
                job["stop"] = True  # a job still waiting for a worker is cancelled below
        return True

    started: set[str] = set()
    while True:
        try:
            cmd = commands.get(timeout=POLL_SECONDS)
        except queue.Empty:
            cmd = None
        except (EOFError, OSError):
            break
        if cmd is not None and not command(cmd):
            break
        ended = []
        refs = [j["ref"] for j in running.values()]
        if refs:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            ready = set(ready)
            ended = [jid for jid, j in running.items() if j["ref"] in ready]
        try:
            batches, now_started = ray.get(hub.drain.remote(), timeout=30)
        except Exception as e:  # noqa: BLE001 - the cluster went away: every job ends, said plainly
            detail = f"{type(e).__name__}: {e}"
            for jid in list(running):
                say(jid, ("lost", detail))
            break
        started = {jid for jid in now_started if jid in running}
        for jid, batch in batches.items():
            for data in batch:
                ev = pickle.loads(data)
                if getattr(ev, "run_id", None) and jid in running:
                    running[jid]["run_id"] = ev.run_id
                say(jid, ev)
        for jid, j in running.items():  # Stop on a job still waiting for a worker: it never starts
            if j["stop"] and not j["cancelled"] and jid not in started and jid not in ended:
                j["cancelled"] = True
                ray.cancel(j["ref"], force=False)
        for jid in ended:
            j = running.pop(jid)
            hub.forget.remote(jid)
            started.discard(jid)
            try:
                say(jid, JobEnded(ray.get(j["ref"])))
            except ray.exceptions.TaskCancelledError:
                if j["run_id"]:
                    say(jid, ("lost", "cancelled"))
                else:
                    say(jid, JobEnded(JobResult(None, "stopped", STOPPED_EARLY, {})))
            except Exception as e:  # noqa: BLE001 - the worker died (killed, out of memory, node lost)
                say(jid, ("lost", _short(e)))
    try:
        ray.shutdown()
    except Exception:  # noqa: BLE001
        pass


def _token_auth() -> None:
    """Send this machine's Ray token when there is one. ``ray start --head`` turns token authentication on when a
    token exists (``~/.ray/auth_token``, made by any earlier ``ray.init``), but a driver given an explicit address
    never turns it on by itself (Ray 2.60): it was refused ("Authentication token is missing") and gave up after
    26 s here. A cluster without authentication accepts a driver that sends a token (checked), so sending it is
    safe. RAY_AUTH_MODE set by the operator wins."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    if (
        os.environ.get("RAY_AUTH_TOKEN")
        or os.environ.get("RAY_AUTH_TOKEN_PATH")
        or (Path.home() / ".ray" / "auth_token").is_file()
    ):
        os.environ["RAY_AUTH_MODE"] = "token"


def _short(e: BaseException) -> str:
    """A Ray error in one line: its class and the first line of its message."""
    first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
    return f"{type(e).__name__}: {first[:200]}" if first else type(e).__name__


# ---------------------------------------------------------------------------------------------------------------
# In the app


class RayExecutor(LocalExecutor):
    """``LocalExecutor``'s interface; each job is a Ray task on the cluster at ``address``
    (``DLVIZ_RAY_ADDRESS``). ``error``: why the cluster cannot be used now, as (English template, args), or None;
    a job submitted then fails at once with that message, and the next job tries again."""

    def __init__(self, store_factory: Callable[[], RunStore] = RunStore, address: str | None = None):
        super().__init__(store_factory)
        self.address = address if address is not None else os.environ.get("DLVIZ_RAY_ADDRESS", "")
        self.error: tuple[str, dict] | None = None
        self.cluster: dict | None = None  # what the driver saw when it connected: cpus, gpus, address
        self._driver = None  # (process, commands, events, ready Event) while one runs
        self._start_lock = threading.Lock()
        self._receivers: dict[str, Receiver] = {}
        self._ended: dict[str, threading.Event] = {}

    # -- the driver process

    def start(self, wait: bool = False, timeout: float | None = None) -> bool:
        """Start the driver (connect to the cluster) unless it runs; with ``wait``, until it has connected or
        failed. True if connected (or still connecting when not waiting)."""
        with self._start_lock:
            d = self._driver
            if d is None or not d["proc"].is_alive():
                d = self._start_driver()
        if d is None:
            return False
        if wait:
            d["settled"].wait(timeout if timeout is not None else _connect_seconds() + 5)
        return self.error is None

    def _start_driver(self):
        before, self.error = self.error, check_address(self.address)
        if self.error is not None:
            self._driver = None
            if self.error != before:  # once in the server's log, not at every job
                print(f"dlviz: Ray: {self.error[0].format(**self.error[1])}", file=sys.stderr)
            return None
        ctx = context()
        commands, events = ctx.Queue(), ctx.Queue()
        env = {k: v for k, v in os.environ.items() if k.startswith(("DLVIZ_", "RAY_"))}
        home = str(self._store_factory().home)
        proc = ctx.Process(
            target=_driver,
            args=(self.address, home, env, commands, events, os.getpid()),
            name=f"{CHILD_PREFIX}ray-driver",
            daemon=True,
        )
        d = {"proc": proc, "commands": commands, "events": events, "settled": threading.Event(), "home": home}
        try:
            proc.start()
        except Exception as e:  # noqa: BLE001 - no processes here
            self.error = (NO_CONNECT, {"address": self.address, "detail": f"{type(e).__name__}: {e}"})
            return None
        self._driver = d
        threading.Thread(target=self._relay, args=(d,), name="dlviz-ray-relay", daemon=True).start()
        return d

    def _relay(self, d) -> None:
        """Reads the driver's messages into each job's state until the driver ends."""
        proc, events, settled = d["proc"], d["events"], d["settled"]
        deadline = time.time() + _connect_seconds()
        while True:
            try:
                job_id, event = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not settled.is_set() and time.time() > deadline:
                    self._driver_failed(d, (TIMED_OUT, {"address": self.address, "seconds": int(_connect_seconds())}))
                    proc.kill()
                    break
                if proc.is_alive():
                    continue
                try:
                    job_id, event = events.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    self._driver_failed(d, (DRIVER_LOST, {"code": proc.exitcode}))
                    break
            except (EOFError, OSError):
                self._driver_failed(d, (DRIVER_LOST, {"code": proc.exitcode}))
                break
            if job_id is None:
                kind, *rest = event
                if kind == "ready":
                    self.cluster, self.error = rest[0], None
                    settled.set()
                    c = self.cluster
                    print(
                        f"dlviz: Ray cluster at {c['address']}: {c['cpus']:g} CPUs, {c['gpus']:g} GPUs", file=sys.stderr
                    )
                else:  # ("error", template, args): the driver ends
                    self._driver_failed(d, (rest[0], rest[1]))
                    break
                continue
            self._deliver(job_id, event, d["home"])
        proc.join(timeout=5)

    def _driver_failed(self, d, error: tuple[str, dict]) -> None:
        if d.get("closing"):
            error = (DRIVER_LOST, {"code": d["proc"].exitcode})
        else:
            self.error = error
        if self._driver is d:
            self._driver = None
        d["settled"].set()
        if d.get("closing"):
            with self._lock:
                pending = [jid for jid in self._jobs if jid in self._ended and not self._ended[jid].is_set()]
            for jid in pending:
                self._lost(jid, error, d["home"])
            return
        print(f"dlviz: Ray: {error[0].format(**error[1])}", file=sys.stderr)
        with self._lock:
            pending = [jid for jid in self._jobs if jid in self._ended and not self._ended[jid].is_set()]
        for jid in pending:  # every job this driver had: it ends now, with the reason
            self._lost(jid, error, d["home"])

    def _deliver(self, job_id: str, event, home: str) -> None:
        try:
            state = self._state(job_id)
        except KeyError:
            return
        if isinstance(event, JobEnded):
            state.finish(event.result)
            self._ended[job_id].set()
        elif isinstance(event, tuple) and event[0] == "lost":
            self._lost(job_id, (WORKER_LOST, {"detail": event[1]}), home)
        else:
            self._receivers[job_id].deliver(event)

    def _lost(self, job_id: str, error: tuple[str, dict], home: str) -> None:
        """The job ended without a result: its run (if any) is failed, with the plain message."""
        state = self._state(job_id)
        text, args = error
        run_id = state.snap.run_id
        if state.snap.status == "stopped" and run_id:  # died while scoring a stopped run: saved, stopped
            result = JobResult(run_id, "stopped", state.snap.text, state.snap.text_args)
        else:
            result = JobResult(run_id, "failed", text, args)
            if run_id:
                try:
                    RunStore(home).update(run_id, status="failed", message=text.format(**args))
                except Exception:  # noqa: BLE001 - the run may have been deleted meanwhile
                    pass
        state.finish(result)
        self._ended[job_id].set()

    def _send(self, *cmd) -> bool:
        d = self._driver
        if d is None:
            return False
        try:
            d["commands"].put(cmd)
            return True
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        """Disconnect from the cluster (jobs still running there end with the driver)."""
        d = self._driver
        if d is not None:
            d["closing"] = True
            self._send("quit")
            d["proc"].join(10)
            if d["proc"].is_alive():
                d["proc"].kill()
            self._driver = None

    # -- the Executor interface

    def submit(self, job: TrainJob) -> str:
        job_id = uuid.uuid4().hex[:12]
        state = self.State(job_id)
        self._receivers[job_id] = Receiver(state)
        self._ended[job_id] = threading.Event()
        with self._lock:
            self._jobs[job_id] = state
        self.start()
        env = {k: v for k, v in os.environ.items() if k.startswith("DLVIZ_")}
        if self.error is not None or not self._send("submit", job_id, job, env):
            text, args = self.error or (DRIVER_LOST, {"code": None})
            state.finish(JobResult(None, "failed", text, dict(args)))
            self._ended[job_id].set()
            return job_id
        state._set(text=WAITING)
        return job_id

    def _flags(self, job_id: str) -> None:
        c = self._state(job_id).control
        self._send("flags", job_id, c.stopped, c.paused)

    def stop(self, job_id: str) -> None:
        super().stop(job_id)
        self._flags(job_id)

    def pause(self, job_id: str) -> None:
        super().pause(job_id)
        self._flags(job_id)

    def resume(self, job_id: str) -> None:
        super().resume(job_id)
        self._flags(job_id)

    def slots(self, timeout: float | None = None) -> dict[str, int] | None:
        """Jobs the cluster runs at once, for the class's queue (``FairQueue(slots=...)``): ``{"cpu": n}`` and,
        when the cluster has GPUs, ``{"cuda:0": m}`` (one pool: Ray picks the GPU). DLVIZ_MAX_JOBS and
        DLVIZ_MAX_GPU_JOBS override; None if not connected (within ``timeout``)."""
        if not self.start(wait=True, timeout=timeout) or self.cluster is None:
            return None
        env = os.environ.get
        out = {"cpu": _positive(env("DLVIZ_MAX_JOBS")) or max(1, int(self.cluster["cpus"] // _cpus_per_job()))}
        if self.cluster["gpus"] > 0:
            per_gpu = self.cluster["gpus"] / _gpu_share() + 1e-9
            out["cuda:0"] = _positive(env("DLVIZ_MAX_GPU_JOBS")) or max(1, int(per_gpu))
        return out

    def wait(self, job_id: str, timeout: float | None = None):
        self._state(job_id)
        self._ended[job_id].wait(timeout)
        return self.snapshot(job_id)


def _cpus_per_job() -> int:
    """CPUs each job declares (and trains with): DLVIZ_RAY_CPUS_PER_JOB, default 1."""
    return _positive(os.environ.get("DLVIZ_RAY_CPUS_PER_JOB")) or 1


def _gpu_share() -> float:
    """The GPU fraction a GPU job declares: DLVIZ_RAY_GPU_SHARE in (0, 1], default 0.25 (four jobs per GPU)."""
    try:
        share = float(os.environ.get("DLVIZ_RAY_GPU_SHARE", "") or 0.25)
    except ValueError:
        return 0.25
    return share if 0 < share <= 1 else 0.25


def _positive(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() and int(value) > 0 else None


def _connect_seconds() -> float:
    try:
        return float(os.environ.get("DLVIZ_RAY_CONNECT_TIMEOUT", "") or CONNECT_SECONDS)
    except ValueError:
        return CONNECT_SECONDS
