"""A fair training queue for a class on one server (issue 17, item 5).

``FairQueue`` is an ``Executor`` (submit / snapshot / stop / pause / resume, and ``has``, ``active_run_ids``,
``job_for_run``, ``wait`` as ``LocalExecutor``) that wraps the executor which really trains (``ProcessExecutor`` on
one machine, a Ray backend on a cluster) and decides when each job starts:

- **Slots per device.** At most ``slots[device]`` jobs train at once on each device: the CPU
  (``DLVIZ_MAX_JOBS``, default: one per core, each of one thread; measured in docs/performance.md) and each GPU
  (``DLVIZ_MAX_GPU_JOBS``, default: the GPU's free memory over ``DLVIZ_GPU_JOB_MB``). A job for a busy device does
  not hold up a job for a free one.
- **Fair order.** The teacher's jobs first, in the order they came. Then the students' in turns: within a busy
  spell (from a first job until nothing trains or waits again) a student's first job goes before anyone's
  second, and within a turn the earlier job first. So a student who trains again and again waits behind the
  classmates who have not had their turn; when the server is idle the turns start afresh.
- **One waiting job per student.** A second job while one waits is refused with a plain message that says where
  the first one stands; it never silently replaces it (the first keeps its place). A refused job (this, or one
  over a limit) is returned as a job that failed at once with the message, as executors report every problem,
  so each page that trains (Train, the Gradients experiment, lessons) shows it like any failure.
- **Place and estimate.** A waiting job's snapshot says ``status="queued"``, its ``place`` among the jobs waiting
  for its device (1 = next) and ``wait_s``, the estimated seconds until it starts, from the measured durations
  of finished jobs (the same model, data, epochs and subset; else the same model's time per epoch; else the
  median of all; ``None`` before anything finished).
- **Cancel and stop.** ``stop`` (or ``cancel``) on a waiting job takes it out of the queue (no run is made);
  on a running job it stops as always.
- **Student limits.** The teacher's limits (``dlviz.classroom.limits``): epochs and parameters are checked when a
  job is submitted (a failed job whose message names the limit); a job that trains longer than the wall time is stopped, its
  run keeps the weights trained so far, and its message says why.
- **A dying worker.** The inner executor reports a job whose process died (``ProcessExecutor``: failed, the last
  finished epoch kept); the queue frees its slot and starts the next job.
- **The data once per server.** A built-in image dataset (MNIST, Fashion-MNIST) is loaded once by the queue into
  shared memory and handed to each local job (``TrainJob.data``), so a job's process does not read and decompress
  the 55 MB again (a Ray backend loads its own: the data would be copied to each worker).

Alone (the default) the app does not use the queue: a single user's runs start at once as before.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace

from dlviz.classroom.limits import LimitError, StudentLimits, get_limits, set_limits
from dlviz.classroom.people import TEACHER_ID
from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.runs import RunStore
from dlviz.train.executor import JobSnapshot, LocalExecutor
from dlviz.train.process import ProcessExecutor
from dlviz.train.runner import JobResult, TrainJob

__all__ = [
    "DEFAULT_CPU_JOBS",
    "FairQueue",
    "LimitError",
    "QueueError",
    "StudentLimits",
    "default_cpu_jobs",
    "default_job_threads",
    "default_slots",
    "get_limits",
    "set_job_threads",
    "set_limits",
]


# Jobs training at once on the CPU unless --max-jobs / DLVIZ_MAX_JOBS say otherwise: one per core, each with one
# torch thread unless DLVIZ_TRAIN_THREADS says otherwise. Measured on this 2-core machine with bench/queue_slots.py
# (docs/performance.md, "The class's training queue"): 6 MLP jobs (one epoch of MNIST each) were done in a median
# 2.2 s with 2 jobs x 1 thread against 4.0 s with 1 x 1 or 1 x 2 and 3.7 s with 2 x 2 (a job's own fixed costs,
# starting, scoring the test set, saving, overlap; a second thread does not speed up the MLP); and with other
# work on the machine, jobs of 2 threads were 3-8x slower unless OMP_WAIT_POLICY=PASSIVE, jobs of one were not.
def default_cpu_jobs(cores: int | None = None) -> int:
    return max(1, cores or os.cpu_count() or 1)


def default_job_threads(jobs: int, cores: int | None = None) -> int:
    """One: each job of a class server trains on one core (see above)."""
    return 1


DEFAULT_CPU_JOBS = default_cpu_jobs(2)  # this 2-core machine's: 2
GPU_JOB_MB = 2048  # GPU memory one job is given by default (its own CUDA context, the data, the model, a batch)
POLL_S = 0.2  # how often the queue looks at its running jobs
KEEP_DURATIONS = 20  # measured durations kept per kind of job

CANCELLED = N_("Cancelled while it waited in the queue; no run was made.")
WALL_STOPPED_EARLY = N_(
    "Stopped after {seconds} seconds, before training began: the longest a run may take in this class (set by "
    "the teacher). No run was saved."
)
TEACHER_CANCELLED = N_("Your teacher cancelled this run while it waited in the queue; no run was made.")
TEACHER_STOPPED = N_("Your teacher stopped this run. The weights trained so far were kept.")
TEACHER_STOPPED_EARLY = N_("Your teacher stopped this run before training began. No run was saved.")
WALL_STOPPED = N_(
    "Stopped after {seconds} seconds: the longest a run may train in this class (set by the teacher). "
    "The weights trained so far were kept."
)


class QueueError(DlvizError):
    """A job the queue will not take (a student's second waiting job)."""


def _int_env(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _argv_jobs(argv: list[str]) -> int | None:
    """``streamlit run app.py -- --class --max-jobs 2``."""
    for i, a in enumerate(argv):
        value = (
            argv[i + 1]
            if a == "--max-jobs" and i + 1 < len(argv)
            else a.split("=", 1)[1]
            if a.startswith("--max-jobs=")
            else None
        )
        if value is not None and value.strip().isdigit() and int(value) > 0:
            return int(value)
    return None


def _gpu_free_mb() -> list[int]:
    """Free memory (MB) of each GPU, from nvidia-smi (no CUDA context in the server), else from torch."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run(
                [smi, "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if out.returncode == 0:
                return [int(float(line)) for line in out.stdout.split() if line.strip()]
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.mem_get_info(i)[0] // (1024 * 1024) for i in range(torch.cuda.device_count())]


def default_slots(argv: list[str] | None = None, gpu_free_mb: list[int] | None = None) -> dict[str, int]:
    """Jobs at once per device: ``{"cpu": n, "cuda:0": m, ...}``. CPU: ``--max-jobs`` or DLVIZ_MAX_JOBS, else
    ``default_cpu_jobs()`` (one job per core). Each GPU: DLVIZ_MAX_GPU_JOBS, else its free memory over DLVIZ_GPU_JOB_MB (default
    ``GPU_JOB_MB``), at least 1."""
    argv = sys.argv[1:] if argv is None else argv
    slots = {"cpu": _argv_jobs(argv) or _int_env("DLVIZ_MAX_JOBS") or default_cpu_jobs()}
    free = _gpu_free_mb() if gpu_free_mb is None else gpu_free_mb
    per_job = _int_env("DLVIZ_GPU_JOB_MB") or GPU_JOB_MB
    for i, mb in enumerate(free):
        slots[f"cuda:{i}"] = _int_env("DLVIZ_MAX_GPU_JOBS") or max(1, int(mb) // per_job)
    return slots


def device_of(job: TrainJob, slots: dict[str, int]) -> str:
    """The device pool a job waits for: 'cpu' or 'cuda:N' ('auto' is the first GPU when there is one)."""
    choice = (job.config.device or "auto").lower()
    if choice == "auto":
        return "cuda:0" if "cuda:0" in slots else "cpu"
    if choice == "cuda":
        choice = "cuda:0"
    return choice if choice in slots else "cpu"  # a GPU this server lacks: the job fails plainly when it starts


def params_of(job: TrainJob) -> int | None:
    """The model's parameters, from its shapes alone (nothing allocated); None when it cannot be told before
    the data is loaded (the job then fails or passes on its own)."""
    try:
        from dlviz.data import get_info
        from dlviz.modality import modality_of
        from dlviz.models.builder import estimate, normalize
        from dlviz.models.presets import fit_classes
        from dlviz.tasks import task_of_spec

        task = task_of_spec(job.spec)
        built = task.build(job.spec)
        if built is not None:
            return int(built.params)
        info = job.data.info if job.data is not None else get_info(job.dataset)
        spec = fit_classes(normalize(job.spec), task.classes(info))
        return int(estimate(spec, modality_of(info).input_shape(info)).params)
    except Exception:  # noqa: BLE001 - an impossible model is the runner's to explain, with its own message
        return None


def check_limits(job: TrainJob, limits: StudentLimits) -> None:
    """Raise ``LimitError`` naming the first of the teacher's limits ``job`` is over (epochs, parameters)."""
    if limits.max_epochs is not None and job.config.epochs > limits.max_epochs:
        raise LimitError(
            "Your teacher allows at most {most} epochs per run; this run asks for {epochs}. "
            "Lower the epochs and press Train again.",
            most=limits.max_epochs,
            epochs=job.config.epochs,
        )
    if limits.max_params is not None:
        params = params_of(job)
        if params is not None and params > limits.max_params:
            raise LimitError(
                "Your teacher allows models of at most {most} parameters; this one has {params}. "
                "Make it smaller on the Build page and press Train again.",
                most=f"{limits.max_params:,}",
                params=f"{params:,}",
            )


@dataclass
class _Entry:
    job_id: str
    job: TrainJob
    device: str
    submitted: float
    inner_id: str | None = None
    started: float | None = None  # when the queue handed it to the inner executor
    starting: bool = False  # being handed over (the data is being shared): not waiting, not yet running
    final: JobSnapshot | None = None  # cancelled, or refused by the inner executor
    wall_stopped: float | None = None  # the wall-time limit it was stopped at
    by_teacher: bool = False  # the teacher cancelled or stopped this student's job (the Classroom page)
    ended_at: float | None = None  # when ``final`` came in
    paused: bool = False  # paused while it waited: paused again as it starts
    stop_asked: bool = False  # stopped while it was being handed over
    recorded: bool = False
    ended: threading.Event = field(default_factory=threading.Event)  # set once ``final`` is in

    @property
    def owner(self) -> str:
        return self.job.owner or ""

    @property
    def teacher(self) -> bool:
        return self.owner == TEACHER_ID

    @property
    def waiting(self) -> bool:
        return self.final is None and self.started is None and not self.starting

    @property
    def kind(self) -> tuple:
        cfg = self.job.config
        return (str(self.job.spec.get("name", "")), self.job.dataset, cfg.epochs, cfg.limit, cfg.batch_size)


class FairQueue:
    """One queue per server in front of the executor that trains (see the module's doc)."""

    def __init__(
        self,
        inner,
        slots: dict[str, int] | None = None,
        home=None,
        store_factory=None,
        share_data: bool | None = None,
        poll_s: float = POLL_S,
    ):
        self.inner = inner
        self.slots = dict(slots) if slots is not None else default_slots()
        # a cluster says itself how many jobs it runs at once (RayExecutor.slots): asked from the queue's thread,
        # so that no page waits for the cluster to answer
        self._ask_inner_slots = slots is None and callable(getattr(inner, "slots", None))
        self.home = home
        self._store_factory = store_factory or (lambda: RunStore(home))
        # only an executor in this machine's memory can be handed the data in shared memory
        self.share_data = type(inner) in (ProcessExecutor, LocalExecutor) if share_data is None else share_data
        self.poll_s = poll_s
        self._entries: dict[str, _Entry] = {}
        self._order: list[str] = []  # job ids as submitted
        self._turns: dict[str, int] = {}  # jobs started per owner in this busy spell
        self._durations: dict[tuple, list[float]] = {}  # kind -> seconds from start to end of finished jobs
        self._data: dict[tuple, object] = {}  # (dataset, data_dir) -> the loaded data, in shared memory
        # an exit right after a job ended could abort on the shared tensors (see _let_go): tidy up before it
        atexit.register(_let_go, self._data, inner)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="dlviz-fair-queue", daemon=True)
        self._thread.start()

    # ---- the Executor interface ------------------------------------------------------------------------------

    def submit(self, job: TrainJob) -> str:
        """Queue ``job`` and return its id. Like every executor's, it does not raise for the job's problems: a job
        the class refuses (over one of the teacher's limits, or a student's second waiting job) is at once a
        failed job whose message says why (``refusal``), so every page that trains shows it as it shows any
        failure."""
        entry = _Entry(uuid.uuid4().hex[:12], job, device_of(job, self.slots), time.time())
        try:
            self._check_limits(job)  # outside the lock: the parameters are counted from the model's shapes
            with self._lock:
                self._check_waiting(job)
                self._entries[entry.job_id] = entry
                self._order.append(entry.job_id)
        except (LimitError, QueueError) as e:
            result = JobResult(None, "failed", message=e.template, message_args=e.kwargs)
            entry.final = JobSnapshot(
                entry.job_id, "failed", e.template, e.kwargs, started=entry.submitted, result=result
            )
            entry.recorded = True
            entry.ended_at = entry.submitted
            with self._lock:
                self._entries[entry.job_id] = entry
            return entry.job_id
        self._wake.set()
        return entry.job_id

    def refusal(self, job: TrainJob) -> DlvizError | None:
        """Why the class would refuse ``job`` now (``LimitError`` or ``QueueError``), or None."""
        try:
            self._check_limits(job)
            with self._lock:
                self._check_waiting(job)
        except (LimitError, QueueError) as e:
            return e
        return None

    @staticmethod
    def _student(job: TrainJob) -> bool:
        return bool(job.owner) and job.owner != TEACHER_ID

    def _check_limits(self, job: TrainJob) -> None:
        """A student's job is within the teacher's limits (the teacher's jobs and a single user's are not limited)."""
        if self._student(job):
            check_limits(job, get_limits(self.home))

    def _check_waiting(self, job: TrainJob) -> None:
        """A student has no other job waiting (called under the lock)."""
        if not self._student(job):
            return
        owner = job.owner
        mine = [e for e in self._entries.values() if e.owner == owner and e.waiting]
        if mine:
            place, _ = self._place(mine[0])
            raise QueueError(
                "You already have a run waiting in the queue (number {place} in line). Wait for it to "
                "start, or cancel it, before you train another.",
                place=place,
            )

    def snapshot(self, job_id: str) -> JobSnapshot:
        with self._lock:
            e = self._entry(job_id)
            if e.final is not None:
                return e.final
            if e.inner_id is None:
                if e.starting:
                    return JobSnapshot(job_id, "loading", N_("Loading {dataset}..."), {"dataset": e.job.dataset})
                place, wait = self._place(e)
                return JobSnapshot(
                    job_id,
                    "queued",
                    N_("Waiting in the queue."),
                    started=e.submitted,
                    place=place,
                    wait_s=wait,
                )
            inner_id = e.inner_id
        s = self._decorated(e, self.inner.snapshot(inner_id))
        if s.done and s.result is not None:  # over: recorded (and its run's message said) before anyone sees it
            self._finished(e, s, time.time())
            return e.final or s
        return s

    def _decorated(self, e: _Entry, s: JobSnapshot) -> JobSnapshot:
        """The inner executor's snapshot under the queue's job id; a job the wall time stopped says so."""
        s = replace(s, job_id=e.job_id)
        if e.by_teacher and s.status == "stopped":
            text = TEACHER_STOPPED if s.run_id else TEACHER_STOPPED_EARLY
            s = replace(s, text=text, text_args={})
            if s.result is not None:
                s = replace(s, result=replace(s.result, message=text, message_args={}))
        elif e.wall_stopped is not None and s.status == "stopped":
            text = WALL_STOPPED if s.run_id else WALL_STOPPED_EARLY
            args = {"seconds": f"{e.wall_stopped:g}"}
            s = replace(s, text=text, text_args=args)
            if s.result is not None:
                s = replace(s, result=replace(s.result, message=text, message_args=args))
        return s

    def stop(self, job_id: str, by: str | None = None) -> None:
        """Stop a running job; take a waiting one out of the queue (``cancel``). ``by=TEACHER_ID``: the teacher
        moderates a student's job (the Classroom page), and the student's page says the teacher did it."""
        with self._lock:
            e = self._entry(job_id)
            if e.final is not None:
                return
            if by == TEACHER_ID and not e.teacher:
                e.by_teacher = True
            if e.waiting:
                text = TEACHER_CANCELLED if e.by_teacher else CANCELLED
                result = JobResult(run_id=None, status="stopped", message=text)
                e.final = JobSnapshot(job_id, "stopped", text, started=e.submitted, result=result)
                e.ended_at = time.time()
                self._wake.set()
                return
            if e.inner_id is None:  # being handed over: stopped as soon as it has an id
                e.stop_asked = True
                return
            inner_id = e.inner_id
        self.inner.stop(inner_id)

    cancel = stop

    def pause(self, job_id: str) -> None:
        with self._lock:
            e = self._entry(job_id)
            if e.inner_id is None:
                e.paused = True
                return
            inner_id = e.inner_id
        self.inner.pause(inner_id)

    def resume(self, job_id: str) -> None:
        with self._lock:
            e = self._entry(job_id)
            if e.inner_id is None:
                e.paused = False
                return
            inner_id = e.inner_id
        self.inner.resume(inner_id)

    def has(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._entries

    def active_run_ids(self) -> set[str]:
        return set(self.inner.active_run_ids()) if hasattr(self.inner, "active_run_ids") else set()

    def job_for_run(self, run_id: str) -> str | None:
        with self._lock:
            entries = [e for e in self._entries.values() if e.inner_id is not None]
        for e in entries:
            if self.inner.snapshot(e.inner_id).run_id == run_id:
                return e.job_id
        return None

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job is over and its result is in (or ``timeout``); its last snapshot."""
        deadline = None if timeout is None else time.time() + timeout
        while True:
            s = self.snapshot(job_id)
            if (s.done and s.result is not None) or (deadline is not None and time.time() > deadline):
                return s
            time.sleep(0.05)

    # ---- what the queue adds ---------------------------------------------------------------------------------

    def waiting(self, device: str | None = None) -> list[str]:
        """Job ids waiting, in the order they will start (all devices, or one)."""
        with self._lock:
            return [e.job_id for e in self._ordered() if device is None or e.device == device]

    def running(self) -> list[str]:
        with self._lock:
            return [e.job_id for e in self._entries.values() if e.final is None and e.started is not None]

    def overview(self) -> list[dict]:
        """The queue as the teacher's dashboard may show it: each job training, then each waiting in the order it
        will start, as ``{"job_id", "owner", "device", "status" ("running" or "queued"), "place", "wait_s"}``, and
        ``"started"`` (when it left the queue, or None), ``"model"`` (its spec's name) and ``"epochs"``."""

        def row(e: _Entry, status: str, place: int, wait: float | None) -> dict:
            return dict(
                job_id=e.job_id,
                owner=e.owner,
                device=e.device,
                status=status,
                place=place,
                wait_s=wait,
                started=e.started,
                model=str(e.job.spec.get("name", "")),
                epochs=e.job.config.epochs,
            )

        with self._lock:
            busy = [e for e in self._entries.values() if e.final is None and (e.started is not None or e.starting)]
            return [row(e, "running", 0, 0.0) for e in busy] + [
                row(e, "queued", *self._place(e)) for e in self._ordered()
            ]

    def recent(self, n: int = 8) -> list[dict]:
        """The last ``n`` jobs that ended (finished, failed, stopped, cancelled, refused), newest first, as
        ``{"job_id", "owner", "device", "status", "ended", "text", "text_args", "run_id", "by_teacher", "model",
        "epochs"}`` (``ended``: a time.time())."""
        with self._lock:
            ended = [e for e in self._entries.values() if e.final is not None and e.ended_at is not None]
            ended.sort(key=lambda e: e.ended_at, reverse=True)
            return [
                dict(
                    job_id=e.job_id,
                    owner=e.owner,
                    device=e.device,
                    status=e.final.status,
                    ended=e.ended_at,
                    text=e.final.text,
                    text_args=dict(e.final.text_args or {}),
                    run_id=e.final.run_id,
                    by_teacher=e.by_teacher,
                    model=str(e.job.spec.get("name", "")),
                    epochs=e.job.config.epochs,
                )
                for e in ended[:n]
            ]

    def estimate(self, job: TrainJob) -> float | None:
        """Seconds ``job`` is expected to take from its start to its end (from finished jobs), or None."""
        with self._lock:
            return self._estimate(_Entry("", job, "", 0.0).kind)

    def close(self) -> None:
        """Stop looking after jobs (a test's or a benchmark's end); jobs already training go on."""
        self._closed = True
        self._wake.set()
        with self._lock:
            self._data.clear()

    # ---- inside ----------------------------------------------------------------------------------------------

    def _entry(self, job_id: str) -> _Entry:
        if job_id not in self._entries:
            raise KeyError(job_id)
        return self._entries[job_id]

    def _ordered(self) -> list[_Entry]:
        """Waiting jobs in the order they start: the teacher's first, then students by turn, then by arrival."""
        waiting = [self._entries[j] for j in self._order if self._entries[j].waiting]
        return sorted(
            waiting,
            key=lambda e: (not e.teacher, 0 if e.teacher else self._turns.get(e.owner, 0), e.submitted),
        )

    def _estimate(self, kind: tuple) -> float | None:
        exact = self._durations.get(kind)
        if exact:
            return statistics.median(exact)
        name, dataset, epochs, limit = kind[0], kind[1], kind[2], kind[3]
        per_epoch = [
            d / max(1, k[2])
            for k, ds in self._durations.items()
            if k[:2] == (name, dataset) and k[3] == limit
            for d in ds
        ]
        if per_epoch:
            return statistics.median(per_epoch) * epochs
        every = [d for ds in self._durations.values() for d in ds]
        return statistics.median(every) if every else None

    def _place(self, entry: _Entry) -> tuple[int, float | None]:
        """(1-based place among the jobs waiting for its device, estimated seconds until it starts or None)."""
        now = time.time()
        ahead = []
        for e in self._ordered():
            if e.device != entry.device:
                continue
            if e is entry:
                break
            ahead.append(e)
        place = len(ahead) + 1
        # the slots' free times: each running job's expected rest, then each job ahead takes the first free slot
        free = []
        for e in self._entries.values():
            if e.final is None and e.device == entry.device and (e.started is not None or e.starting):
                est = self._estimate(e.kind)
                if est is None:
                    return place, None
                free.append(max(0.0, est - (now - (e.started or now))))
        n = max(1, self.slots.get(entry.device, 1))
        free = sorted(free)[:n] + [0.0] * max(0, n - len(free))
        free.sort()
        for e in ahead:
            est = self._estimate(e.kind)
            if est is None:
                return place, None
            first = free.pop(0)
            free.append(first + est)
            free.sort()
        return place, free[0]

    def _loop(self) -> None:
        if self._ask_inner_slots:
            try:
                found = self.inner.slots(timeout=120)
            except TypeError:  # a backend whose slots() takes no timeout
                found = self.inner.slots()
            except Exception:  # noqa: BLE001 - the defaults stay
                found = None
            if found:
                with self._lock:
                    self.slots = dict(found)
        while not self._closed:
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the queue must go on; the job's own snapshot says what failed
                import traceback

                traceback.print_exc(file=sys.stderr)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _tick(self) -> None:
        now = time.time()
        with self._lock:
            running = [e for e in self._entries.values() if e.final is None and e.inner_id is not None]
        limits = get_limits(self.home) if running else StudentLimits()
        for e in running:
            s = self._decorated(e, self.inner.snapshot(e.inner_id))
            if s.done and s.result is not None:
                self._finished(e, s, now)
                continue
            wall = limits.max_wall_s
            if wall is not None and not e.teacher and e.owner and e.wall_stopped is None and now - e.started > wall:
                with self._lock:
                    e.wall_stopped = wall
                self.inner.stop(e.inner_id)
                self.inner.resume(e.inner_id)  # a paused job must wake up to stop
        self._dispatch()

    def _finished(self, e: _Entry, s: JobSnapshot, now: float) -> None:
        """Record a job's end once (its duration, its run's message); a second caller waits for the first."""
        with self._lock:
            first = not e.recorded
            e.recorded = True
            if first and s.status == "finished":
                self._durations.setdefault(e.kind, []).append(now - e.started)
                del self._durations[e.kind][:-KEEP_DURATIONS]
        if not first:
            e.ended.wait(10)
            return
        if e.by_teacher and s.status == "stopped" and s.run_id:
            self._say_why(s.run_id, TEACHER_STOPPED, {})
        elif e.wall_stopped is not None and s.run_id:
            self._say_why(s.run_id, WALL_STOPPED, {"seconds": f"{e.wall_stopped:g}"})
        with self._lock:
            e.final = s
            e.ended_at = now
        e.ended.set()
        self._wake.set()  # its slot is free

    def _say_why(self, run_id: str, template: str, args: dict) -> None:
        """The run's message says why it stopped: the time limit, or the teacher (its end was written by the
        worker)."""
        try:
            store = self._store_factory()
            run = store.get(run_id)
            metrics = {**(run.metrics or {}), "message": {"template": template, "args": args}}
            store.update(run_id, metrics=metrics, message=template.format(**args))
        except Exception:  # noqa: BLE001 - the run may have been deleted meanwhile
            pass

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                busy: dict[str, int] = {}
                for e in self._entries.values():
                    if e.final is None and (e.started is not None or e.starting):
                        busy[e.device] = busy.get(e.device, 0) + 1
                chosen = next(
                    (e for e in self._ordered() if busy.get(e.device, 0) < max(1, self.slots.get(e.device, 1))),
                    None,
                )
                if chosen is None:
                    if not busy and not any(e.waiting for e in self._entries.values()):
                        self._turns.clear()  # nothing trains or waits: the next busy spell starts with fresh turns
                    return
                chosen.starting = True
                if not chosen.teacher:
                    self._turns[chosen.owner] = self._turns.get(chosen.owner, 0) + 1
            self._start(chosen)

    def _start(self, e: _Entry) -> None:
        job = e.job
        if self.share_data and job.data is None:
            data = self._shared(job)
            if data is not None:
                job = replace(job, data=data)
        try:
            inner_id = self.inner.submit(job)
        except Exception as exc:  # noqa: BLE001 - a backend that cannot take it: this job fails, the queue goes on
            text = N_("The job could not be started: {detail}")
            args = {"detail": f"{type(exc).__name__}: {exc}"}
            with self._lock:
                e.starting = False
                e.started = time.time()
                e.final = JobSnapshot(
                    e.job_id, "failed", text, args, result=JobResult(None, "failed", message=text, message_args=args)
                )
                e.ended_at = e.started
            return
        with self._lock:
            e.inner_id, e.started, e.starting = inner_id, time.time(), False
            paused, stop = e.paused, e.stop_asked
        if paused:
            self.inner.pause(inner_id)
        if stop:
            self.inner.stop(inner_id)
            self.inner.resume(inner_id)

    def _shared(self, job: TrainJob):
        """A built-in image dataset loaded once by the server into shared memory, or None (text: its options
        depend on the model; a user's CSV: the page passes it already)."""
        try:
            from dlviz.data import get_info, load_dataset
            from dlviz.modality import modality_of

            if modality_of(get_info(job.dataset)).name != "image":
                return None
            key = (job.dataset, job.data_dir or "")
            with self._lock:
                found = self._data.get(key)
            if found is not None:
                return found
            data = load_dataset(job.dataset, job.data_dir)
            if getattr(data, "notice", None):  # a smaller fallback (offline): each job says so itself
                return None
            data = _into_shared_memory(data)
            with self._lock:
                self._data[key] = data
            return data
        except Exception:  # noqa: BLE001 - the job loads its data itself and reports any problem plainly
            return None


def _let_go(data: dict, inner) -> None:
    """At exit: drop the shared data, and give the relay threads of jobs that just ended a moment to finish.
    Measured with bench/queue_slots.py ending right after its last job: exiting while a relay thread still closed a
    job that had received shared tensors aborted the process ("terminate called without an active exception") in
    4 exits of 5; with this, in none of 6."""
    data.clear()
    deadline = time.time() + 3.0
    for state in list(getattr(inner, "_jobs", {}).values()):
        thread = getattr(state, "thread", None)
        if thread is not None and thread.is_alive() and state.snap.done:
            thread.join(max(0.0, deadline - time.time()))


def _into_shared_memory(data):
    """A copy of ``data`` whose tensors live in shared memory: a child process receives them without a copy."""
    import torch

    changes = {}
    for f in dataclasses.fields(data):
        value = getattr(data, f.name)
        if isinstance(value, torch.Tensor):
            copy = torch.empty_like(value)
            copy.copy_(value)
            changes[f.name] = copy.share_memory_()
    return dataclasses.replace(data, **changes)


def for_server(inner, class_on: bool | None = None):
    """The executor the app's pages use: ``inner`` itself alone (a single user's runs start at once, as always),
    a ``FairQueue`` in front of it on a class server."""
    from dlviz.classroom.people import class_mode

    on = class_mode() if class_on is None else class_on
    if not on:
        return inner
    # a backend that knows its own capacity (the Ray cluster's CPUs and GPUs: RayExecutor.slots) sets the slots
    slots = inner.slots() if hasattr(inner, "slots") else None
    return FairQueue(inner, slots=slots)


def set_job_threads(queue: FairQueue, env=None) -> None:
    """A class server's default for each job's torch threads (DLVIZ_TRAIN_THREADS, which the training processes
    read), unless the server set one: ``default_job_threads`` (1)."""
    env = os.environ if env is None else env
    if not str(env.get("DLVIZ_TRAIN_THREADS", "")).strip():
        env["DLVIZ_TRAIN_THREADS"] = str(default_job_threads(queue.slots.get("cpu", 1)))
