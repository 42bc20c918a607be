"""``python -m dlviz bench train``: where a speed-up comes from, the recipe or the engine, in one process.

For each preset (the course's MLP and CNN, full MNIST, the app's 80/20 split, seed 0), three rows that
together split the speed-up into its two causes, each given the SAME thread policy:

- **ordinary** (the course's recipe): what a course notebook does. CPU tensors in a ``TensorDataset``
  + shuffling ``DataLoader``, each batch copied to the device, the course's batch size (MLP 32, CNN 64)
  and epochs (MLP 5, CNN 3), Adam at a constant 1e-3, fp32, no validation.
- **ordinary_recipe** (dlviz's recipe): the same plain loop with dlviz's recipe: the preset's epochs,
  batch 128, Adam at 3e-3 with the one-cycle schedule (``lr_factor``), still fp32 and plain Adam.
- **dlviz**: ``fit()`` headless with that recipe: data resident on the device, fused Adam,
  channels-last, automatic precision (bf16 where it was measured to pay), validation every epoch.

``speedup_recipe`` = ordinary / ordinary_recipe (what the recipe buys), ``speedup_engine`` =
ordinary_recipe / dlviz (what the engine buys), ``speedup`` = ordinary / dlviz (both), each a ratio of
times to target (a lower bound, said so, where the slower row never reached it).

Thread policy: every one of the three rows runs once with each CPU thread count tried (``threads``,
default 1 and torch's default) and reports its best; the engine's own thread tuner is off
(``cpu_threads="fixed"``), so no row gets a policy the others lack.

Two more rows show the app's own path, not part of any speed-up (they keep the app's thread tuner):

- **dlviz_ui**: the app's executor (a child process per job, forked from a warm fork server) runs
  ``run_job``, which loads the dataset as the app does, records gradients, saves replay snapshots and
  checkpoints, while this process does what the Train page does twice a second by default (takes a
  snapshot, builds the curves figure as JSON; the gradient-flow figure too with ``grads_live``).
- **dlviz_ui_thread** (only when asked for): the same with the job in a worker thread of this process.

The course's loop trains the course's epochs, and more (up to twice as many) if they fall short of
the target, so its time to target is measured, not guessed. The recipe rows train the recipe's epochs.

Every engine's test accuracy is measured after every epoch on a copy of the weights taken then, so
the clock never runs during a measurement. ``time_to_target_s`` is the wall time from pressing
Train (model built, data already loaded) to the end of the first epoch whose weights reach the
target (MLP 97.5%, CNN 99.0%); ``null`` when no epoch does. Reading TEST accuracy to stop a clock is
the speedrun convention (e.g. Keller Jordan's CIFAR-10 speedruns); nothing here chooses a recipe, a
thread count or anything else a user trains with from these test accuracies: the recipes were fixed
beforehand, and the thread count picked per row is a matter of speed only.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from dlviz.data import load_dataset
from dlviz.models import PRESETS, build
from dlviz.plots import training_curves
from dlviz.plots.gradients import gradient_flow
from dlviz.runs import RunStore
from dlviz.train import Callback, TrainConfig, TrainJob, fit, prepare_data, recipe_for, resolve_device
from dlviz.train.engine import evaluate, lr_factor
from dlviz.train.process import make_executor

TARGETS = {"mlp": 0.975, "cnn": 0.990}
COURSE = {"mlp": {"batch_size": 32, "epochs": 5}, "cnn": {"batch_size": 64, "epochs": 3}}  # the course's Keras fits
POLL_SECONDS = 0.5  # the Train page's live fragment: run_every=0.5


@dataclass
class EngineResult:
    name: str
    batch_size: int
    epochs: int
    lr: float
    schedule: str
    precision: str
    time_to_target_s: float | None
    reached_at_epoch: int | None
    final_test_accuracy: float
    accuracy_per_epoch: list[float]
    wall_s: float  # pressing Train to the last epoch's end (validation included for dlviz)
    train_s: float  # optimizer steps only
    epoch_s: float  # train_s / epochs
    samples_per_s: float  # training images per second of train_s
    peak_rss_mb: float  # the process's resident memory at its highest during this engine
    peak_gpu_mb: float | None = None
    redraws: int | None = None
    extra: dict = field(default_factory=dict)


class _PeakRSS:
    """Samples this process's resident set size every 20 ms while running (Linux /proc; else getrusage)."""

    def __init__(self):
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_mb() -> float:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now_mb())
            self._stop.wait(0.02)

    def __enter__(self):
        self.peak = self.now_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now_mb())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_gpu_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _gpu_peak(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def _cpu_state(model) -> dict:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def _accuracies(preset: str, states: list[dict], data) -> list[float]:
    """Test accuracy (fp32) of each epoch's weights."""

    model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=0).module.to(data.device)
    out = []
    for sd in states:
        model.load_state_dict(sd)
        out.append(evaluate(model, data.test_x, data.test_y, data.transform)[1])
    return out


def _target(preset: str, walls: list[float], accs: list[float]) -> tuple[float | None, int | None]:
    for i, (w, a) in enumerate(zip(walls, accs)):
        if a >= TARGETS[preset]:
            return w, i + 1
    return None, None


def ordinary(preset: str, data, seed: int = 0, epochs: int | None = None, recipe: str = "course") -> EngineResult:
    """The ordinary loop: a DataLoader over CPU tensors, each batch copied to the device, fp32, plain Adam.

    ``recipe="course"``: the course's batch and epochs, Adam at a constant 1e-3. It runs the course's
    epochs; if those do not reach the target it goes on, up to twice as many, so that its time to
    target is measured rather than guessed. ``recipe="dlviz"``: dlviz's recipe (the preset's epochs,
    batch 128, 3e-3 one-cycle), exactly its epochs, as the engine trains them. Test accuracy is
    measured after each epoch with the clock stopped.
    """
    from torch.utils.data import DataLoader, TensorDataset

    device = data.device
    if recipe == "course":
        course = {**COURSE[preset], **({"epochs": epochs} if epochs else {})}
        batch, lr, schedule, max_epochs = course["batch_size"], 1e-3, "constant", 2 * course["epochs"]
        min_epochs = course["epochs"]
    else:
        cfg = _config(preset, device, **({"epochs": epochs} if epochs else {}))
        batch, lr, schedule, min_epochs = cfg.batch_size, cfg.lr, cfg.schedule, cfg.epochs
        max_epochs = cfg.epochs
    x = data.train_x.cpu().unsqueeze(1).float().div(255)  # what a notebook does before fitting
    y = data.train_y.cpu()
    torch.manual_seed(seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    total = len(loader) * max_epochs
    accs, walls, train_s, paused = [], [], 0.0, 0.0
    _reset_gpu_peak(device)
    with _PeakRSS() as mem:
        t0 = time.perf_counter()
        model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=seed).module.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(schedule, k, total))
        model.train()
        for epoch in range(1, max_epochs + 1):
            te = time.perf_counter()
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
            _sync(device)
            now = time.perf_counter()
            train_s += now - te
            walls.append(now - t0 - paused)
            accs.append(evaluate(model, data.test_x, data.test_y, data.transform)[1])
            paused += time.perf_counter() - now
            if epoch >= min_epochs and accs[-1] >= TARGETS[preset]:
                break
    ttt, at = _target(preset, walls, accs)
    n = len(y) * len(accs)
    return EngineResult(
        "ordinary" if recipe == "course" else "ordinary_recipe",
        batch,
        len(accs),
        lr,
        schedule,
        "fp32",
        ttt,
        at,
        accs[-1],
        accs,
        walls[-1],
        train_s,
        train_s / len(accs),
        n / train_s,
        mem.peak,
        _gpu_peak(device),
        extra={"cpu_threads": torch.get_num_threads()},
    )


def _config(preset: str, device: torch.device, **over):

    return TrainConfig(**{**recipe_for(preset, "mnist"), "device": str(device), **over})


def headless(preset: str, data, **over) -> EngineResult:
    """dlviz's fit() with the app's default recipe, nothing watching."""

    device = data.device
    cfg = _config(preset, device, **{"cpu_threads": "fixed", **over}).validated()
    states, walls, paused = [], [], [0.0]
    t0 = [0.0]

    class EpochEnds(Callback):  # the wall time to each epoch's end, and its weights (their copy is not timed)
        def on_epoch_end(self, loop, p):
            now = time.perf_counter()
            walls.append(now - t0[0] - paused[0])
            states.append(_cpu_state(loop.model))
            paused[0] += time.perf_counter() - now

    _reset_gpu_peak(device)
    with _PeakRSS() as mem:
        t0[0] = time.perf_counter()
        model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=cfg.seed).module.to(device)
        res = fit(model, data, cfg, [EpochEnds()])
        _sync(device)
    accs = _accuracies(preset, states, data)
    ttt, at = _target(preset, walls, accs)
    n = len(data.train_y) * res.epochs_done
    return EngineResult(
        "dlviz",
        cfg.batch_size,
        cfg.epochs,
        cfg.lr,
        cfg.schedule,
        res.precision,
        ttt,
        at,
        accs[-1],
        accs,
        walls[-1],
        res.train_seconds,
        res.train_seconds / max(res.epochs_done, 1),
        n / res.train_seconds,
        mem.peak,
        _gpu_peak(device),
        extra={
            "cpu_threads": res.cpu_threads or torch.get_num_threads(),
            # the validation accuracy fit() measured at each epoch's end: the recipe can be
            # judged on it too, without the test set
            "validation_accuracy_per_epoch": [round(float(v[3]), 5) for v in res.history.get("val", [])],
        },
    )


def with_ui(
    preset: str,
    data,
    data_dir: str | None,
    executor: str = "process",
    redraw: bool = True,
    grads_live: bool = False,
    **over,
) -> EngineResult:
    """The app's path: its executor (a child process per job, or a worker thread), the dataset loaded
    by the job as the app loads it, gradient recording, replay snapshots, checkpoints; and, as the Train
    page does twice a second, a snapshot turned into the curves figure (as JSON), and the gradient-flow
    figure if ``grads_live`` (the page's toggle)."""

    device = data.device
    cfg = _config(preset, device, **over)
    walls: dict[int, float] = {}
    t0 = [0.0]
    ex = make_executor(executor, wait=True)  # the app warms its fork server when it starts

    class Timed(ex.State):
        def on_progress(self, p, curves):
            if p.phase == "epoch_end":  # when the page could first show the epoch's end
                walls[p.epoch] = time.perf_counter() - t0[0]
            super().on_progress(p, curves)

    with tempfile.TemporaryDirectory() as home:
        store = RunStore(home)
        ex._store_factory = lambda: store
        ex.State = Timed
        redraws = 0
        _reset_gpu_peak(device)
        with _PeakRSS() as mem:
            t0[0] = time.perf_counter()
            job = ex.submit(TrainJob("mnist", PRESETS[preset].copy_spec(), cfg, data_dir=data_dir))
            while True:
                snap = ex.snapshot(job)
                if snap.done:
                    break
                if snap.train and redraw:  # what the Train page's live fragment sends to the browser
                    training_curves(snap.train, snap.val).to_json()
                    if snap.grads and grads_live:  # the page's "Show the gradient flow live" (off by default)
                        gradient_flow(snap.grads).to_json()
                    redraws += 1
                time.sleep(POLL_SECONDS)
            ex.wait(job)
        r = ex.snapshot(job).result
        if r is None or r.status != "finished":
            raise RuntimeError(f"the app's training path did not finish: {r and r.status} {r and r.message}")
        states = [store.load_snapshot(r.run_id, f"epoch-{e}") for e in range(1, r.epochs + 1)]
        run = store.get(r.run_id)
    accs = _accuracies(preset, states, data)
    wl = [walls[e] for e in sorted(walls)]
    ttt, at = _target(preset, wl, accs)
    n = len(data.train_y) * r.epochs
    name = "dlviz_ui" if executor == "process" else "dlviz_ui_thread"
    return EngineResult(
        name,
        cfg.batch_size,
        cfg.epochs,
        cfg.lr,
        cfg.schedule,
        run.metrics.get("precision") or "?",
        ttt,
        at,
        accs[-1],
        accs,
        wl[-1],
        r.train_seconds,
        r.train_seconds / max(r.epochs, 1),
        n / r.train_seconds,
        mem.peak,
        _gpu_peak(device),
        redraws=redraws,
        extra={
            "executor": executor,
            "cpu_threads": run.metrics.get("cpu_threads"),
            "test_accuracy_reported": r.test_accuracy,
        },
    )


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return f"{name or 'CPU'}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


ENGINES = ("ordinary", "ordinary_recipe", "dlviz", "dlviz_ui", "dlviz_ui_thread")
DEFAULT_ENGINES = ("ordinary", "ordinary_recipe", "dlviz", "dlviz_ui")
THREADED = ("ordinary", "ordinary_recipe", "dlviz")  # the rows compared, each under the same thread policy


def speedup(o: dict, d: dict, slower: str = "the ordinary loop", faster: str = "dlviz") -> tuple[float | None, str]:
    """(``o``'s time to target / ``d``'s, what it is based on)."""
    if o["time_to_target_s"] and d["time_to_target_s"]:
        return o["time_to_target_s"] / d["time_to_target_s"], "time to target"
    if d["time_to_target_s"]:  # the slower row never got there: its whole run is a lower bound
        return o["wall_s"] / d["time_to_target_s"], f"at least ({slower} did not reach the target)"
    return None, f"{faster} did not reach the target"


def _key(r: dict):
    return (r["time_to_target_s"] if r["time_to_target_s"] is not None else math.inf, r["epoch_s"])


def median_run(results: list[dict]) -> dict:
    """The run with the median time to target (a run that missed counts as slowest; ties by epoch
    time), with every run's figures under ``repeats``."""
    ordered = sorted(results, key=_key)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["repeats"] = [
        {k: r[k] for k in ("time_to_target_s", "epoch_s", "samples_per_s", "final_test_accuracy")} for r in results
    ]
    return chosen


def best_threads(by_threads: dict[int, list[dict]]) -> dict:
    """Of each thread count's median run, the fastest to target; every count's median under ``threads_tried``."""
    medians = {n: median_run(runs) for n, runs in by_threads.items()}
    n_best = min(medians, key=lambda n: _key(medians[n]))
    chosen = dict(medians[n_best])
    chosen["cpu_threads"] = n_best
    chosen["threads_tried"] = {
        str(n): {"time_to_target_s": m["time_to_target_s"], "epoch_s": m["epoch_s"]} for n, m in medians.items()
    }
    return chosen


def thread_counts(device: torch.device, threads: list[int] | None = None) -> list[int]:
    """The CPU thread counts every compared row tries: 1 and torch's default (one count on a GPU)."""
    if threads:
        return sorted({max(1, int(n)) for n in threads})
    if device.type != "cpu":
        return [torch.get_num_threads()]
    return sorted({1, torch.get_num_threads()})


def bench_preset(
    preset: str,
    data,
    data_dir: str | None,
    engines=DEFAULT_ENGINES,
    overrides: dict | None = None,
    repeat: int = 1,
    threads: list[int] | None = None,
) -> dict:
    """Every engine on one preset, ``repeat`` times, interleaved (ordinary, ordinary_recipe, dlviz, ...
    then again) so that a slow spell of a shared machine hits every engine alike. The three compared rows
    run at each thread count of ``threads`` and report their best count's median run; the app's rows run
    with the app's thread tuner. ``overrides`` (TrainConfig fields, e.g. epochs and limit) shorten the run
    for tests; the ordinary loops then train the same number of epochs."""
    device = data.device
    counts = thread_counts(device, threads)
    out: dict = {
        "preset": preset,
        "device": str(device),
        "hardware": hardware(device),
        "torch": torch.__version__,
        "target_accuracy": TARGETS[preset],
        "train_images": len(data.train_y),
        "test_images": len(data.test_y),
        "repeat": repeat,
        "threads_tried": counts,
        "load": _load_average(),
    }
    over = dict(overrides or {})
    runs = {
        "ordinary": lambda: ordinary(preset, data, epochs=over.get("epochs")),
        "ordinary_recipe": lambda: ordinary(preset, data, epochs=over.get("epochs"), recipe="dlviz"),
        "dlviz": lambda: headless(preset, data, **over),
        "dlviz_ui": lambda: with_ui(preset, data, data_dir, **over),
        "dlviz_ui_thread": lambda: with_ui(preset, data, data_dir, executor="thread", **over),
    }
    results: dict[str, dict[int, list[dict]]] = {name: {} for name in engines}
    original = torch.get_num_threads()
    try:
        for _ in range(max(1, repeat)):
            for name in engines:
                for n in counts if name in THREADED else [original]:
                    torch.set_num_threads(n)
                    results[name].setdefault(n, []).append(asdict(runs[name]()))
                    torch.set_num_threads(original)
    finally:
        torch.set_num_threads(original)
    for name in engines:
        out[name] = best_threads(results[name]) if name in THREADED else median_run(results[name][original])
    o, r, d, u = (out.get(k) for k in ("ordinary", "ordinary_recipe", "dlviz", "dlviz_ui"))
    if o and d:
        out["speedup"], out["speedup_basis"] = speedup(o, d)
        out["throughput_ratio"] = d["samples_per_s"] / o["samples_per_s"]
    if o and r:
        out["speedup_recipe"], out["speedup_recipe_basis"] = speedup(
            o, r, "the loop with the course's recipe", "the loop with dlviz's recipe"
        )
    if r and d:
        out["speedup_engine"], out["speedup_engine_basis"] = speedup(
            r, d, "the loop with dlviz's recipe", "dlviz's engine"
        )

    def sps(name):  # the median over the repeats
        return statistics.median(x["samples_per_s"] for runs_ in results[name].values() for x in runs_)

    if d and u:
        out["ui_throughput_ratio"] = sps("dlviz_ui") / out["dlviz"]["samples_per_s"]
    if d and out.get("dlviz_ui_thread"):
        out["ui_thread_throughput_ratio"] = sps("dlviz_ui_thread") / out["dlviz"]["samples_per_s"]
    return out


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def table(r: dict) -> str:
    """One preset's result as a Markdown table."""
    rows = [
        (
            "engine",
            "batch",
            "lr",
            "epochs",
            "precision",
            "threads",
            "time to target",
            "at epoch",
            "final test acc",
            "epoch s",
            "samples/s",
            "peak RSS MB",
        )
    ]
    for name in ENGINES:
        e = r.get(name)
        if not e:
            continue
        ttt = f"{e['time_to_target_s']:.2f} s" if e["time_to_target_s"] is not None else "not reached"
        label = {
            "ordinary": "ordinary loop, the course's recipe",
            "ordinary_recipe": "ordinary loop, dlviz's recipe",
            "dlviz": "dlviz engine (headless), dlviz's recipe",
            "dlviz_ui": f"dlviz + live UI, the app ({e['redraws']} redraws)",
            "dlviz_ui_thread": f"dlviz + live UI, in a thread ({e['redraws']} redraws)",
        }[name]
        threads = (
            f"{e['cpu_threads']} (best of {', '.join(e['threads_tried'])})"
            if "threads_tried" in e
            else f"{(e.get('extra') or {}).get('cpu_threads') or '?'} (app's tuner)"
        )
        lr = f"{e['lr']:g}" + (" const" if e["schedule"] == "constant" else f" {e['schedule']}")
        rows.append(
            (
                label,
                str(e["batch_size"]),
                lr,
                str(e["epochs"]),
                e["precision"],
                threads,
                ttt,
                str(e["reached_at_epoch"] or "-"),
                f"{e['final_test_accuracy']:.2%}",
                f"{e['epoch_s']:.2f}",
                f"{e['samples_per_s']:,.0f}",
                f"{e['peak_rss_mb']:,.0f}" + (f" (GPU {e['peak_gpu_mb']:,.0f})" if e.get("peak_gpu_mb") else ""),
            )
        )
    w = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (x + 2) for x in w) + "|")
    head = (
        f"{r['preset']} to {r['target_accuracy']:.1%} on {r['device']} ({r['hardware']}), "
        f"{r['train_images']:,} training images, torch {r['torch']}"
        + (f", median of {r['repeat']} interleaved runs" if r.get("repeat", 1) > 1 else "")
        + (f", load average {r['load'][0]:.1f}" if r.get("load") else "")
    )
    tail = []
    for key, what in (("speedup_recipe", "the recipe"), ("speedup_engine", "the engine"), ("speedup", "both")):
        if r.get(key) is not None:
            tail.append(f"speed-up to target from {what}: {r[key]:.1f}x ({r[key + '_basis']})")
        elif key in r:
            tail.append(f"speed-up from {what}: none measured ({r[key + '_basis']})")
    if "throughput_ratio" in r:
        tail.append(f"throughput vs ordinary: {r['throughput_ratio']:.1f}x")
    if "ui_throughput_ratio" in r:
        tail.append(
            f"live UI keeps {r['ui_throughput_ratio']:.0%} of headless throughput"
            + (
                " (medians; per run: "
                + ", ".join(
                    f"{u['samples_per_s'] / h['samples_per_s']:.0%}"
                    for u, h in zip(r['dlviz_ui']['repeats'], r['dlviz']['repeats'])
                )
                + ")"
                if r.get("repeat", 1) > 1
                else ""
            )
        )
    if "ui_thread_throughput_ratio" in r:
        tail.append(f"in a thread it kept {r['ui_thread_throughput_ratio']:.0%}")
    return "\n".join([head, "", *lines, "", "; ".join(tail)])


def main(
    presets: list[str],
    device_choice: str,
    data_dir: str | None,
    as_json: bool,
    repeat: int = 1,
    threads: list[int] | None = None,
    engines=DEFAULT_ENGINES,
) -> int:

    device = resolve_device(device_choice)
    raw = load_dataset("mnist", data_dir)
    data = prepare_data(raw, TrainConfig(), device)
    for preset in presets:
        print(f"benchmarking {preset} on {device}...", file=sys.stderr, flush=True)
        r = bench_preset(preset, data, data_dir, engines=engines, repeat=repeat, threads=threads)
        print(json.dumps(r) if as_json else table(r) + "\n", flush=True)
    return 0
