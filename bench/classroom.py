"""Issue 17, item 7: a class on this machine. N students and a teacher on one class server, measured.

    python bench/classroom.py --students N [--data-dir DIR] [--json] [--port P] [--alone]
                              [--think S] [--ramp S] [--epochs E] [--timeout S]

Starts the app as a class server (``streamlit run app.py --server.headless true --server.port P
--browser.gatherUsageStats false -- --class``; DLVIZ_HOME a temp folder, DLVIZ_TEACHER_KEY and
DLVIZ_CLASS_CODE set so the bench knows them, MNIST from ../shared/data/mnist or --data-dir, offline), waits
for ``/_stcore/health``, then simulates the class with websocket-level clients (bench/st_client.py: the
protocol a browser speaks, nothing rendered; loopback only, at most 200 students):

- a warm-up session opens Start and Data once, so MNIST is in the server's cache before anyone is counted;
  then the server's memory is read (the server process and every descendant, from /proc);
- the teacher signs in with the key and opens the class dashboard, which stays open (its fragments rerun on
  their timers, as in a browser) while the class works;
- every student (one every --ramp seconds) joins with the class code and a name (``student-01``...), then
  opens five pages (Start, Data, Build, Errors, Train), pausing --think seconds between pages; when every
  student is there the memory is read again (the sessions' cost: the difference divided by N);
- then every student (within --think seconds of each other, as when a teacher says "now press Train") sets
  the epochs to --epochs and the random seed to 1000 + their number, and presses Train on the MLP preset
  (the default model), watches the live panel until "Training finished." and opens the Runs page;
- the teacher opens the dashboard again and the Runs page; then the run store is read.

It reports: page latency (median and 95th percentile over every page opened that does not train, the
sign-ins included; per page too), queue wait (from the press of Train until the live panel shows the job
past the queue, i.e. loading data or training), time to result (press to the finished page), jobs
finished (the student's page said so and the run is in the store, finished, with its weights), the
server's memory per session, CPU seconds per job (the server tree's CPU time over the training phase
divided by the jobs), runs lost (a press of Train without a finished, saved run), runs misattributed:
- in the run store, each student's run (found by its seed) must be owned by that student's id (the
  owner column);
- on each student's pages: the result the Train page shows after training must be their own run, and
  their Runs page must list that run and no other student's (the teacher's Runs page lists all).
With --alone (today's single-user mode: no sign-in, no teacher, everyone sees every run by design) the
ownership checks are skipped and only the Train page's result check counts as misattribution.

With --json: one JSON object (page_latency_p50_s, page_latency_p95_s, queue_wait_p95_s, jobs_finished,
runs_lost, runs_misattributed, rss_per_session_mb and the rest); otherwise a readable report. Progress goes
to stderr. A bench, not a test: it takes minutes and uses the whole machine.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from browser_util import MNIST_DIR, Server  # noqa: E402
from memory import descendants, rss_mb  # noqa: E402
from st_client import Page, ProtocolError, Session  # noqa: E402

MAX_STUDENTS = 200
CLASS_CODE = "CAT743"  # letters and digits of the class-code alphabet (no 0/O, 1/I)
BROWSE = ("", "data", "build", "errors", "train")  # the five pages every student opens ('' the start page)
DASHBOARD_PATHS = ("class", "dashboard", "teacher")  # the dashboard's url path, whichever the app uses
SEED0 = 1000
TICKS = os.sysconf("SC_CLK_TCK")
# the live panel while a job has not started: today "Starting..."; the queue's words for a waiting job
WAITING = re.compile(r"Starting|queue|waiting|place", re.IGNORECASE)
FINISHED = "Training finished."


def log(*args) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the server's resources
def tree_rss_mb(pid: int) -> tuple[float, float]:
    """(the server's own RSS, the RSS of the server and every descendant) in MB."""
    own = rss_mb(pid) or 0.0
    return own, own + sum(rss_mb(c) or 0.0 for c, _ in descendants(pid))


def _cpu_ticks(pid: int, children: bool) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return utime + stime + (cutime + cstime if children else 0)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of the server, of its children it has reaped, and of every live descendant."""
    total = _cpu_ticks(pid, children=True)
    total += sum(_cpu_ticks(c, children=True) for c, _ in descendants(pid))
    return total / TICKS


# --------------------------------------------------------------------------- what a page shows
def tables(page: Page) -> list[list[dict]]:
    """The rows of every dataframe on the page (Arrow IPC in the element)."""
    import pyarrow as pa

    out = []
    for e in page.items():
        if e.WhichOneof("type") == "dataframe" and e.dataframe.arrow_data.data:
            with pa.ipc.open_stream(io.BytesIO(e.dataframe.arrow_data.data)) as reader:
                out.append(reader.read_all().to_pylist())
    return out


def run_rows(page: Page) -> list[dict]:
    """The Runs page's table of runs (the one with a 'name' and an 'acc' column)."""
    for rows in tables(page):
        if rows and "acc" in rows[0] and "name" in rows[0]:
            return rows
    return []


def shown_accuracy(page: Page) -> str | None:
    """The test accuracy the Train page shows for the open run ("95.50%")."""
    m = re.search(r"Test accuracy: ?([0-9.]+%)", page.text())
    return m.group(1) if m else None


def acc_text(run) -> str:
    return f"{100 * run.test_accuracy:.2f}%" if run.test_accuracy is not None else "–"


def row_key(run) -> tuple[str, str]:
    """A run as a row of the Runs page's table tells it: its test accuracy and its training seconds (each student
    trains with their own seed, so two runs share both only by a rare chance)."""
    return acc_text(run), (f"{run.train_seconds:.1f}" if run.train_seconds is not None else "–")


def started(page: Page) -> bool:
    """The live panel shows the job past the queue: loading its data, training, or done."""
    for e in page.items():
        kind = e.WhichOneof("type")
        if kind == "metric" and e.metric.label == "Epoch":
            return True
        if kind == "progress" and e.progress.text and not WAITING.search(e.progress.text):
            return True
    return FINISHED in page.text()


def finished(page: Page) -> bool:
    """The job is over: the Train button is back (it is disabled while the job waits or trains)."""
    b = page.button("Train")
    return b is not None and not b.disabled


# --------------------------------------------------------------------------- the people
@dataclass
class Person:
    name: str
    seed: int = 0
    loads: list[tuple[str, float]] = field(default_factory=list)  # (page, seconds) of pages that do not train
    pressed: float = 0.0  # wall time of the press of Train
    queue_wait: float | None = None
    to_result: float | None = None
    finished: bool = False
    shown_acc: str | None = None
    runs_rows: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)


async def timed_open(s: Session, who: Person, page: str) -> None:
    r = await s.open(page)
    who.loads.append((page or "start", r.seconds))
    who.exceptions += [f"{page or 'start'}: {x}" for x in s.page.exceptions()]


def _field(page: Page, pattern: str, kinds=("text_input",)):
    rx = re.compile(pattern, re.IGNORECASE)
    for w in page.widgets():
        if w.kind in kinds and (rx.search(w.label) or rx.search(w.key)):
            return w
    return None


async def sign_in(s: Session, who: Person, *, teacher: bool, key: str, code: str) -> bool:
    """Sign in on the page shown (the class server asks before any page): the teacher's key, or the class code
    and a name. False when the page asks nothing (alone)."""
    page = s.page
    if teacher:
        box = _field(page, r"teacher|key")
        if box is None:  # the student's form first: "I am the teacher" (a toggle or a button) shows the key's field
            switch = next((w for w in page.widgets() if re.search("teacher", w.label, re.I)), None)
            if switch is None:
                return False
            if switch.kind == "checkbox":
                await s.change(switch.id, True)
            else:
                await s.click(switch.id)
            box = _field(s.page, r"teacher|key")
        if box is None:
            return False
        s.set(box.id, key)
    else:
        code_box, name_box = _field(page, r"code"), _field(page, r"name")
        if code_box is None or name_box is None:
            return False
        s.set(code_box.id, code)
        s.set(name_box.id, who.name)
    go = next(
        (w for w in s.page.widgets() if w.kind == "button" and re.search(r"join|sign in|enter|start", w.label, re.I)),
        None,
    )
    if go is None:
        raise ProtocolError(f"{who.name}: no sign-in button among {[w.label for w in s.page.widgets()]}")
    r = await s.click(go.id)
    who.loads.append(("sign-in", r.seconds))
    return True


class Bench:
    def __init__(self, args):
        self.args = args
        self.alone = args.alone
        self.key = secrets.token_hex(8)
        self.tmp = Path(tempfile.mkdtemp(prefix="dlviz-classroom-"))
        self.home = self.tmp / "home"
        self.students = [Person(f"student-{i + 1:02d}", seed=SEED0 + i + 1) for i in range(args.students)]
        self.teacher = Person("teacher")
        self.here = asyncio.Event()  # every student has opened the five pages
        self.press = asyncio.Event()  # the class presses Train
        self.done = asyncio.Event()  # every student is through
        self.arrived = 0
        self.through = 0
        self.notes: list[str] = []
        self.mem: dict[str, tuple[float, float]] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds of the server and its descendants, at the phases' ends
        self.own_cpu: dict[str, float] = {}  # of the server process alone (the pages; jobs run in children)
        self.wall: dict[str, float] = {}
        self.teacher_dashboard: str | None = None  # what the dashboard shows once the class is through
        self.load_at_start = round(os.getloadavg()[0], 2)

    # ----------------------------------------------------------------------------- the server
    def start(self) -> Server:
        env = {"DLVIZ_TEACHER_KEY": self.key, "DLVIZ_CLASS_CODE": CLASS_CODE}
        app_args = () if self.alone else ("--class",)
        srv = Server(self.home, Path(self.args.data_dir), app_args=app_args, env=env, port=self.args.port or None)
        try:
            srv.wait_healthy(120)
        except BaseException:
            srv.stop()
            raise
        return srv

    # ----------------------------------------------------------------------------- the people
    async def warm_up(self, url: str) -> None:
        """One visit that loads MNIST into the server's cache (and torch into the fork server), not counted."""
        who = Person("warm-up")
        async with Session(url, timeout=self.args.timeout) as s:
            await s.open()
            if not self.alone:
                await sign_in(s, who, teacher=True, key=self.key, code=CLASS_CODE)
            await s.open("data")
            await s.open("train")

    async def student(self, url: str, i: int, who: Person) -> None:
        await asyncio.sleep(i * self.args.ramp)
        try:
            async with Session(url, timeout=self.args.timeout) as s:
                try:
                    await self._student(s, who)
                finally:
                    who.errors += s.errors
                    self.through += 1
                    if self.through == len(self.students):
                        self.done.set()
                    await self.done.wait()  # stay connected until the whole class is through
        except Exception as e:  # noqa: BLE001 - one student's failure is a figure, not the end of the bench
            who.errors.append(f"{type(e).__name__}: {e}")
            log(f"{who.name}: {type(e).__name__}: {e}")
        finally:
            if not self.here.is_set():  # a student who failed before arriving must not hold the class
                self._arrive()

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= len(self.students):
            self.here.set()

    async def _student(self, s: Session, who: Person) -> None:
        await timed_open(s, who, "")
        if not self.alone and not await sign_in(s, who, teacher=False, key=self.key, code=CLASS_CODE):
            self._note("no sign-in screen on the class server: the students went on without joining")
        for page in BROWSE[1:]:
            await asyncio.sleep(self.args.think)
            await timed_open(s, who, page)
        self._arrive()
        await self.press.wait()
        await asyncio.sleep(random.uniform(0, self.args.think))
        await s.change("Epochs", self.args.epochs)
        await s.change("Random seed", who.seed)
        who.pressed = time.time()
        t0 = time.monotonic()
        await s.click("Train")

        def watch(page: Page) -> bool:  # read at every finished run: the live panel reruns on its timer
            if who.queue_wait is None and started(page):
                who.queue_wait = time.monotonic() - t0
            return finished(page)

        await s.until(watch, timeout=self.args.job_timeout)
        who.to_result = time.monotonic() - t0
        if who.queue_wait is None:
            who.queue_wait = who.to_result
        who.finished = FINISHED in s.page.text()
        who.shown_acc = shown_accuracy(s.page)
        who.exceptions += [f"train: {x}" for x in s.page.exceptions()]
        await asyncio.sleep(self.args.think)
        await timed_open(s, who, "runs")
        who.runs_rows = run_rows(s.page)

    async def teacher_watch(self, url: str) -> None:
        who = self.teacher
        try:
            async with Session(url, timeout=self.args.timeout) as s:
                await timed_open(s, who, "")
                if not await sign_in(s, who, teacher=True, key=self.key, code=CLASS_CODE):
                    self._note("no teacher's sign-in on the class server: the teacher went on without it")
                dash = next((p for p in DASHBOARD_PATHS if p in s.pages), None)
                if dash is None:
                    self._note(f"no dashboard page among {sorted(p for p in s.pages if p)}: the teacher waits")
                else:
                    await timed_open(s, who, dash)  # stays open: its fragments rerun on their timers
                await self.done.wait()
                if dash is not None:
                    await timed_open(s, who, dash)
                    self.teacher_dashboard = s.page.text() + "\n" + json.dumps(tables(s.page), default=str)
                await timed_open(s, who, "runs")
                who.runs_rows = run_rows(s.page)
                who.errors += s.errors
        except Exception as e:  # noqa: BLE001
            who.errors.append(f"{type(e).__name__}: {e}")
            log(f"teacher: {type(e).__name__}: {e}")

    async def conduct(self, server: Server) -> None:
        url = server.url
        pid = server.proc.pid
        log("warm-up visit (MNIST into the cache)")
        await self.warm_up(url)
        self.mem["before"] = tree_rss_mb(pid)
        log(f"memory before the class: server {self.mem['before'][0]:.0f} MB, tree {self.mem['before'][1]:.0f} MB")
        self.cpu["start"], self.own_cpu["start"] = tree_cpu_s(pid), _cpu_ticks(pid, children=False) / TICKS
        teacher = None if self.alone else asyncio.create_task(self.teacher_watch(url))
        t0 = time.monotonic()
        tasks = [asyncio.create_task(self.student(url, i, who)) for i, who in enumerate(self.students)]
        await self.here.wait()
        self.wall["browse_s"] = time.monotonic() - t0
        await asyncio.sleep(2)  # the last page's run has settled
        self.mem["browsed"] = tree_rss_mb(pid)
        log(
            f"{len(self.students)} students browsed in {self.wall['browse_s']:.0f} s; memory: "
            f"server {self.mem['browsed'][0]:.0f} MB, tree {self.mem['browsed'][1]:.0f} MB; the class presses Train"
        )
        self.cpu["press"], self.own_cpu["press"] = tree_cpu_s(pid), _cpu_ticks(pid, children=False) / TICKS
        t1 = time.monotonic()
        self.press.set()
        await asyncio.gather(*tasks)
        self.wall["train_s"] = time.monotonic() - t1
        self.cpu["done"], self.own_cpu["done"] = tree_cpu_s(pid), _cpu_ticks(pid, children=False) / TICKS
        self.mem["done"] = tree_rss_mb(pid)
        log(f"every student through in {self.wall['train_s']:.0f} s")
        if teacher is not None:
            await teacher

    # ----------------------------------------------------------------------------- the figures
    def store_checks(self) -> dict:
        from dlviz.runs import RunStore

        runs = RunStore(self.home).list(skip_damaged=True)
        by_seed: dict[int, list] = {}
        for r in runs:
            by_seed.setdefault(int((r.settings or {}).get("seed", -1)), []).append(r)
        ids = self._ids()
        lost = misattributed = 0
        saved = 0
        problems = []
        own_acc: dict[str, set[str]] = {}
        own_rows: dict[str, set[tuple[str, str]]] = {}  # (accuracy, seconds) as the Runs page's table shows them
        for who in self.students:
            mine = [r for r in by_seed.get(who.seed, []) if r.status == "finished"]
            ok = [r for r in mine if r.weights_path.exists()]
            if not ok:
                lost += 1
                problems.append(f"{who.name}: no finished run with weights (seed {who.seed})")
                continue
            saved += 1
            run = ok[-1]
            own_acc[who.name] = {acc_text(r) for r in mine}
            own_rows[who.name] = {row_key(r) for r in mine}
            owner = getattr(run, "owner", None)
            if not self.alone:
                if owner is None:
                    problems.append("the run store has no owner column: ownership not checked in the store")
                elif not ids.get(who.name):
                    problems.append(f"{who.name}: not in the class's roster: the run's owner cannot be checked")
                elif owner != ids[who.name]:
                    misattributed += 1
                    problems.append(f"{who.name}: run {run.id} owned by {owner!r}, not {ids[who.name]!r}")
                elif not owner:
                    misattributed += 1
                    problems.append(f"{who.name}: run {run.id} has no owner")
        # what each student's pages showed
        shown_wrong = 0
        for who in self.students:
            if who.name not in own_acc:
                continue
            if who.shown_acc is not None and who.shown_acc not in own_acc[who.name]:
                shown_wrong += 1
                problems.append(f"{who.name}: the Train page shows {who.shown_acc}, their run has {own_acc[who.name]}")
            if self.alone:
                continue
            rows = who.runs_rows
            others = [row for row in rows if (row.get("acc"), row.get("seconds")) not in own_rows[who.name]]
            if others or not rows:
                shown_wrong += 1
                problems.append(
                    f"{who.name}: the Runs page lists {len(rows)} runs, {len(others)} of them not theirs"
                    if rows
                    else f"{who.name}: the Runs page lists no run"
                )
        teacher_rows = len(self.teacher.runs_rows)
        if not self.alone and teacher_rows < saved:
            problems.append(f"the teacher's Runs page lists {teacher_rows} runs of {saved}")
        return {
            "runs_in_store": len(runs),
            "runs_saved": saved,
            "runs_lost": lost,
            "runs_misattributed": misattributed + shown_wrong,
            "misattributed_in_store": misattributed,
            "misattributed_on_pages": shown_wrong,
            "teacher_runs_listed": teacher_rows if not self.alone else None,
            "dashboard_students_shown": None
            if self.teacher_dashboard is None
            else sum(1 for w in self.students if w.name in self.teacher_dashboard),
            "problems": sorted(set(problems)),
        }

    def _ids(self) -> dict[str, str]:
        """Student name -> person id, from the class's roster (once the roster exists)."""
        if self.alone:
            return {}
        try:
            from dlviz.classroom.roster import Roster
        except ImportError:
            self.notes.append("dlviz.classroom.roster is not there: owners not matched to names")
            return {}
        try:
            return {p.name: p.id for p in Roster(self.home).people() if p.student}
        except Exception as e:  # noqa: BLE001 - a roster problem is a finding
            self.notes.append(f"roster: {type(e).__name__}: {e}")
            return {}

    def figures(self) -> dict:
        a = self.args
        loads = [sec for who in self.students for _, sec in who.loads]
        by_page: dict[str, list[float]] = {}
        for who in self.students:
            for page, sec in who.loads:
                by_page.setdefault(page, []).append(sec)
        waits = [w.queue_wait for w in self.students if w.queue_wait is not None]
        results = [w.to_result for w in self.students if w.to_result is not None]
        jobs = sum(1 for w in self.students if w.finished)
        store = self.store_checks()
        n = len(self.students)
        before, browsed, done = self.mem.get("before"), self.mem.get("browsed"), self.mem.get("done")
        cpu = self.cpu.get("done", 0.0) - self.cpu.get("press", 0.0)
        browse_pages = sum(1 for w in [*self.students, self.teacher] for page, _ in w.loads if page != "runs")
        return {
            "mode": "alone" if self.alone else "class",
            "students": n,
            "think_s": a.think,
            "ramp_s": a.ramp,
            "epochs": a.epochs,
            "cores": os.cpu_count(),
            "load_average_at_start": self.load_at_start,
            "load_average_at_end": round(os.getloadavg()[0], 2),
            "page_latency_p50_s": _q(loads, 0.5),
            "page_latency_p95_s": _q(loads, 0.95),
            "page_latency_max_s": max(loads) if loads else None,
            "pages_opened": len(loads),
            "page_latency_by_page": {
                p: {"n": len(v), "p50_s": _q(v, 0.5), "p95_s": _q(v, 0.95)} for p, v in sorted(by_page.items())
            },
            "teacher_pages": [(p, round(sec, 3)) for p, sec in self.teacher.loads],
            "queue_wait_p50_s": _q(waits, 0.5),
            "queue_wait_p95_s": _q(waits, 0.95),
            "time_to_result_p50_s": _q(results, 0.5),
            "time_to_result_p95_s": _q(results, 0.95),
            "time_to_result_max_s": max(results) if results else None,
            "jobs_pressed": sum(1 for w in self.students if w.pressed),
            "jobs_finished": min(jobs, store["runs_saved"]),
            "jobs_finished_on_pages": jobs,
            "train_phase_s": self.wall.get("train_s"),
            "browse_phase_s": self.wall.get("browse_s"),
            "cpu_s_per_job": cpu / max(store["runs_saved"], 1) if self.cpu else None,
            # the browse phase: every CPU second the server tree spent, over the pages opened in it
            "cpu_s_per_page": (self.cpu["press"] - self.cpu["start"]) / max(browse_pages, 1)
            if "press" in self.cpu
            else None,
            # the training phase: the server process's own CPU (jobs run in children) per student watching per second
            "server_cpu_s_per_watching_student_s": (self.own_cpu["done"] - self.own_cpu["press"])
            / (n * self.wall["train_s"])
            if "done" in self.own_cpu and n and self.wall.get("train_s")
            else None,
            "cpu_s": {k: round(v, 1) for k, v in self.cpu.items()},
            "server_own_cpu_s": {k: round(v, 1) for k, v in self.own_cpu.items()},
            "run_train_seconds_p50": self.train_seconds_p50,
            "rss_server_mb": {k: round(v[0], 1) for k, v in self.mem.items()},
            "rss_tree_mb": {k: round(v[1], 1) for k, v in self.mem.items()},
            "rss_per_session_mb": (browsed[1] - before[1]) / n if before and browsed and n else None,
            "rss_per_session_server_only_mb": (browsed[0] - before[0]) / n if before and browsed and n else None,
            "rss_per_session_after_training_mb": (done[1] - before[1]) / n if before and done and n else None,
            **{k: store[k] for k in store if k != "problems"},
            "problems": store["problems"],
            "student_errors": {w.name: w.errors for w in self.students if w.errors},
            "teacher_errors": self.teacher.errors,
            "page_exceptions": sorted({x for w in [*self.students, self.teacher] for x in w.exceptions})[:20],
            "notes": self.notes,
        }

    @property
    def train_seconds_p50(self) -> float | None:
        from dlviz.runs import RunStore

        secs = [r.train_seconds for r in RunStore(self.home).list(skip_damaged=True) if r.train_seconds]
        return statistics.median(secs) if secs else None


def _q(values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank (the p95 of 20 values is the 19th, the median of 10 the 5th); None for none."""
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))], 3)


def _r(x, n: int = 2):
    return None if x is None else round(x, n)


def report(res: dict) -> str:
    lines = [
        f"# A class of {res['students']} on this machine ({res['mode']} mode, {res['cores']} cores, "
        f"load average {res['load_average_at_start']} at start, {res['load_average_at_end']} at the end)",
        "",
        f"- page latency (pages that do not train, {res['pages_opened']} opened): median "
        f"{res['page_latency_p50_s']} s, p95 {res['page_latency_p95_s']} s, max {_r(res['page_latency_max_s'])} s",
    ]
    for page, v in res["page_latency_by_page"].items():
        lines.append(f"  - {page}: n={v['n']}, median {v['p50_s']} s, p95 {v['p95_s']} s")
    lines += [
        f"- teacher's pages: {res['teacher_pages']}",
        f"- queue wait: median {res['queue_wait_p50_s']} s, p95 {res['queue_wait_p95_s']} s",
        f"- press of Train to the finished page: median {res['time_to_result_p50_s']} s, p95 "
        f"{res['time_to_result_p95_s']} s, last {_r(res['time_to_result_max_s'])} s; whole training phase "
        f"{res['train_phase_s'] and round(res['train_phase_s'], 1)} s",
        f"- jobs: {res['jobs_pressed']} pressed, {res['jobs_finished']} finished and saved "
        f"({res['jobs_finished_on_pages']} said so on the page); median training time in a run "
        f"{_r(res['run_train_seconds_p50'])} s; {res['cpu_s_per_job'] and round(res['cpu_s_per_job'], 1)} CPU s per job",
        f"- CPU: {_r(res['cpu_s_per_page'], 3)} s per page opened (browse phase, the whole server tree); the server "
        f"process {_r(res['server_cpu_s_per_watching_student_s'], 4)} CPU s per second per student watching the "
        "Train page (training phase)",
        f"- memory (server / server and descendants, MB): {res['rss_server_mb']} / {res['rss_tree_mb']}; per "
        f"session {res['rss_per_session_mb'] and round(res['rss_per_session_mb'], 1)} MB (server only "
        f"{res['rss_per_session_server_only_mb'] and round(res['rss_per_session_server_only_mb'], 1)} MB)",
        f"- runs lost: {res['runs_lost']}; misattributed: {res['runs_misattributed']} (store "
        f"{res['misattributed_in_store']}, pages {res['misattributed_on_pages']}); teacher's Runs page lists "
        f"{res['teacher_runs_listed']}; the dashboard names {res['dashboard_students_shown']} students",
    ]
    for key in ("problems", "notes", "page_exceptions"):
        if res[key]:
            lines.append(f"- {key}:")
            lines += [f"  - {x}" for x in res[key]]
    for name, errs in {
        **res["student_errors"],
        **({"teacher": res["teacher_errors"]} if res["teacher_errors"] else {}),
    }.items():
        lines.append(f"- {name}: {'; '.join(errs)[:300]}")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=10)
    p.add_argument("--data-dir", default=str(MNIST_DIR), help="the MNIST folder (default ../shared/data/mnist)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    p.add_argument("--alone", action="store_true", help="today's single-user mode: no sign-in, no teacher")
    p.add_argument("--think", type=float, default=1.0, help="seconds a student pauses between pages")
    p.add_argument("--ramp", type=float, default=0.5, help="seconds between two students' arrivals")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds one page may take before it counts as lost")
    p.add_argument("--job-timeout", type=float, default=1800.0, help="seconds a job may take from the press")
    p.add_argument("--keep", action="store_true", help="keep the temp folder (the server's log and home)")
    a = p.parse_args(argv)
    if not 1 <= a.students <= MAX_STUDENTS:
        p.error(f"--students must be between 1 and {MAX_STUDENTS}")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    server = bench.start()
    log(f"server on {server.url} ({'alone' if args.alone else 'class'}), home {bench.home}")
    try:
        asyncio.run(bench.conduct(server))
    finally:
        server.stop()
    res = bench.figures()
    # the bench's own throwaway key, still not a thing to print or to keep in a file
    res["server_log_tail"] = server.log(1500).replace(bench.key, "<the teacher's key>").splitlines()[-15:]
    if args.keep:
        res["kept"] = str(bench.tmp)
    else:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    print(json.dumps(res, indent=1) if args.json else report(res))
    return 0 if res["runs_lost"] == 0 and res["runs_misattributed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
