"""``python -m dlviz bench train``: the ordinary PyTorch loop against dlviz's engine, in one process.

For each preset (the course's MLP and CNN, full MNIST, the app's 80/20 split, seed 0):

- **ordinary**: what a course notebook does. CPU tensors in a ``TensorDataset`` + shuffling
  ``DataLoader``, each batch copied to the device, the course's batch size (MLP 32, CNN 64) and
  epochs (MLP 5, CNN 3), Adam at 1e-3, fp32, no validation.
- **dlviz**: ``fit()`` headless with the app's default recipe (the preset's epochs, batch 128,
  Adam 3e-3 one-cycle, automatic precision), data resident on the device, validation every epoch.
- **dlviz_ui**: the app's own path: the app's executor (a child process per job, forked from a warm
  fork server) runs ``run_job``, which loads the dataset as the app does, records gradients, saves
  replay snapshots and checkpoints, while this process does what the Train page does twice a second
  by default (takes a snapshot, builds the curves figure as JSON; the gradient-flow figure too with
  ``grads_live``, the page's toggle, off by default).
- **dlviz_ui_thread**: the same with the job in a worker thread of this process (the app before the
  process executor; ``DLVIZ_EXECUTOR=thread``), to show what the process buys.

The ordinary loop trains the course's epochs, and more (up to twice as many) if they fall short of
the target, so its time to target is measured, not guessed.

Every engine's test accuracy is measured after every epoch on a copy of the weights taken then, so
the clock never runs during a measurement. ``time_to_target_s`` is the wall time from pressing
Train (model built, data already loaded) to the end of the first epoch whose weights reach the
target (MLP 97.5%, CNN 99.0%); ``null`` when no epoch does.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import resource
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

TARGETS = {"mlp": 0.975, "cnn": 0.990}
COURSE = {"mlp": {"batch_size": 32, "epochs": 5}, "cnn": {"batch_size": 64, "epochs": 3}}  # the course's Keras fits
POLL_SECONDS = 0.5   # the Train page's live fragment: run_every=0.5


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
    wall_s: float            # pressing Train to the last epoch's end (validation included for dlviz)
    train_s: float           # optimizer steps only
    epoch_s: float           # train_s / epochs
    samples_per_s: float     # training images per second of train_s
    peak_rss_mb: float       # the process's resident memory at its highest during this engine
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
            scale = 1 if sys.platform == "darwin" else 1024   # bytes on macOS, KiB on Linux
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
    from dlviz.models import PRESETS, build
    from dlviz.train.engine import evaluate

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


def ordinary(preset: str, data, seed: int = 0, epochs: int | None = None) -> EngineResult:
    """The ordinary loop: a DataLoader over CPU tensors, each batch copied to the device.

    It runs the course's epochs; if those do not reach the target it goes on, up to twice as many,
    so that its time to target is measured rather than guessed. Test accuracy is measured after
    each epoch with the clock stopped.
    """
    from torch.utils.data import DataLoader, TensorDataset

    from dlviz.models import PRESETS, build
    from dlviz.train.engine import evaluate

    device = data.device
    course = {**COURSE[preset], **({"epochs": epochs} if epochs else {})}
    x = data.train_x.cpu().unsqueeze(1).float().div(255)       # what a notebook does before fitting
    y = data.train_y.cpu()
    torch.manual_seed(seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=course["batch_size"], shuffle=True)
    accs, walls, train_s, paused = [], [], 0.0, 0.0
    _reset_gpu_peak(device)
    with _PeakRSS() as mem:
        t0 = time.perf_counter()
        model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=seed).module.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for epoch in range(1, 2 * course["epochs"] + 1):
            te = time.perf_counter()
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
            _sync(device)
            now = time.perf_counter()
            train_s += now - te
            walls.append(now - t0 - paused)
            accs.append(evaluate(model, data.test_x, data.test_y, data.transform)[1])
            paused += time.perf_counter() - now
            if epoch >= course["epochs"] and accs[-1] >= TARGETS[preset]:
                break
    ttt, at = _target(preset, walls, accs)
    n = len(y) * len(accs)
    return EngineResult("ordinary", course["batch_size"], len(accs), 1e-3, "constant", "fp32", ttt, at,
                        accs[-1], accs, walls[-1], train_s, train_s / len(accs), n / train_s, mem.peak,
                        _gpu_peak(device))


def _config(preset: str, device: torch.device, **over):
    from dlviz.train import TrainConfig
    from dlviz.train.runner import recipe_for

    return TrainConfig(**{**recipe_for(preset, "mnist"), "device": str(device), **over})


def headless(preset: str, data, **over) -> EngineResult:
    """dlviz's fit() with the app's default recipe, nothing watching."""
    from dlviz.models import PRESETS, build
    from dlviz.train import fit

    device = data.device
    cfg = _config(preset, device, **over).validated()
    states, walls, paused = [], [], [0.0]
    t0 = [0.0]

    def on_epoch_end(p, model):
        now = time.perf_counter()
        walls.append(now - t0[0] - paused[0])
        states.append(_cpu_state(model))
        paused[0] += time.perf_counter() - now

    _reset_gpu_peak(device)
    with _PeakRSS() as mem:
        t0[0] = time.perf_counter()
        model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=cfg.seed).module.to(device)
        res = fit(model, data, cfg, on_epoch_end=on_epoch_end)
        _sync(device)
    accs = _accuracies(preset, states, data)
    ttt, at = _target(preset, walls, accs)
    n = len(data.train_y) * res.epochs_done
    return EngineResult("dlviz", cfg.batch_size, cfg.epochs, cfg.lr, cfg.schedule, res.precision, ttt, at,
                        accs[-1], accs, walls[-1], res.train_seconds, res.train_seconds / max(res.epochs_done, 1),
                        n / res.train_seconds, mem.peak, _gpu_peak(device), extra={"cpu_threads": res.cpu_threads})


def with_ui(preset: str, data, data_dir: str | None, executor: str = "process", redraw: bool = True,
            grads_live: bool = False, **over) -> EngineResult:
    """The app's path: its executor (a child process per job, or a worker thread), the dataset loaded
    by the job as the app loads it, gradient recording, replay snapshots, checkpoints; and, as the Train
    page does twice a second, a snapshot turned into the curves figure (as JSON), and the gradient-flow
    figure if ``grads_live`` (the page's toggle)."""
    from dlviz.models import PRESETS
    from dlviz.plots import training_curves
    from dlviz.plots.gradients import gradient_flow
    from dlviz.runs import RunStore
    from dlviz.train import TrainJob
    from dlviz.train.process import make_executor

    device = data.device
    cfg = _config(preset, device, **over)
    walls: dict[int, float] = {}
    t0 = [0.0]
    ex = make_executor(executor, wait=True)   # the app warms its fork server when it starts

    class Timed(ex.State):
        def on_progress(self, p, history):
            if p.phase == "epoch_end":   # when the page could first show the epoch's end
                walls[p.epoch] = time.perf_counter() - t0[0]
            super().on_progress(p, history)

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
                if snap.train and redraw:   # what the Train page's live fragment sends to the browser
                    training_curves(snap.train, snap.val).to_json()
                    if snap.grads and grads_live:   # the page's "Show the gradient flow live" (off by default)
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
    return EngineResult(name, cfg.batch_size, cfg.epochs, cfg.lr, cfg.schedule,
                        run.metrics.get("precision") or "?", ttt, at, accs[-1], accs, wl[-1], r.train_seconds,
                        r.train_seconds / max(r.epochs, 1), n / r.train_seconds, mem.peak, _gpu_peak(device),
                        redraws=redraws, extra={"executor": executor, "cpu_threads": run.metrics.get("cpu_threads"),
                                                "test_accuracy_reported": r.test_accuracy})


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


ENGINES = ("ordinary", "dlviz", "dlviz_ui", "dlviz_ui_thread")


def speedup(o: dict, d: dict) -> tuple[float | None, str]:
    """(ordinary / dlviz time to target, what it is based on)."""
    if o["time_to_target_s"] and d["time_to_target_s"]:
        return o["time_to_target_s"] / d["time_to_target_s"], "time to target"
    if d["time_to_target_s"]:   # the ordinary loop never got there: its whole run is a lower bound
        return o["wall_s"] / d["time_to_target_s"], "at least (the ordinary loop did not reach the target)"
    return None, "dlviz did not reach the target"


def median_run(results: list[dict]) -> dict:
    """The run with the median time to target (a run that missed counts as slowest; ties by epoch
    time), with every run's figures under ``repeats``."""
    def key(r):
        return (r["time_to_target_s"] if r["time_to_target_s"] is not None else math.inf, r["epoch_s"])

    ordered = sorted(results, key=key)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["repeats"] = [{k: r[k] for k in ("time_to_target_s", "epoch_s", "samples_per_s", "final_test_accuracy")}
                         for r in results]
    return chosen


def bench_preset(preset: str, data, data_dir: str | None, engines=ENGINES, overrides: dict | None = None,
                 repeat: int = 1) -> dict:
    """Every engine on one preset, ``repeat`` times, interleaved (ordinary, dlviz, ... then again) so
    that a slow spell of a shared machine hits every engine alike; each engine reports its median run.
    ``overrides`` (TrainConfig fields, e.g. epochs and limit) shorten the run for tests; the ordinary
    loop then trains the same number of epochs."""
    device = data.device
    out: dict = {"preset": preset, "device": str(device), "hardware": hardware(device), "torch": torch.__version__,
                 "target_accuracy": TARGETS[preset], "train_images": len(data.train_y),
                 "test_images": len(data.test_y), "repeat": repeat}
    over = dict(overrides or {})
    runs = {"ordinary": lambda: ordinary(preset, data, epochs=over.get("epochs")),
            "dlviz": lambda: headless(preset, data, **over),
            "dlviz_ui": lambda: with_ui(preset, data, data_dir, **over),
            "dlviz_ui_thread": lambda: with_ui(preset, data, data_dir, executor="thread", **over)}
    results: dict[str, list[dict]] = {name: [] for name in engines}
    for _ in range(max(1, repeat)):
        for name in engines:
            results[name].append(asdict(runs[name]()))
    for name in engines:
        out[name] = median_run(results[name])
    o, d, u = out.get("ordinary"), out.get("dlviz"), out.get("dlviz_ui")
    if o and d:
        out["speedup"], out["speedup_basis"] = speedup(o, d)
        out["throughput_ratio"] = d["samples_per_s"] / o["samples_per_s"]
    def sps(name):   # the median over the repeats
        return statistics.median(r["samples_per_s"] for r in results[name])

    if d and u:
        out["ui_throughput_ratio"] = sps("dlviz_ui") / sps("dlviz")
    if d and out.get("dlviz_ui_thread"):
        out["ui_thread_throughput_ratio"] = sps("dlviz_ui_thread") / sps("dlviz")
    return out


def table(r: dict) -> str:
    """One preset's result as a Markdown table."""
    rows = [("engine", "batch", "epochs", "precision", "time to target", "at epoch", "final test acc",
             "epoch s", "samples/s", "peak RSS MB")]
    for name in ENGINES:
        e = r.get(name)
        if not e:
            continue
        ttt = f"{e['time_to_target_s']:.2f} s" if e["time_to_target_s"] is not None else "not reached"
        label = {"ordinary": "ordinary DataLoader loop", "dlviz": "dlviz engine (headless)",
                 "dlviz_ui": f"dlviz + live UI, the app ({e['redraws']} redraws)",
                 "dlviz_ui_thread": f"dlviz + live UI, in a thread ({e['redraws']} redraws)"}[name]
        rows.append((label, str(e["batch_size"]), str(e["epochs"]), e["precision"], ttt,
                     str(e["reached_at_epoch"] or "-"), f"{e['final_test_accuracy']:.2%}", f"{e['epoch_s']:.2f}",
                     f"{e['samples_per_s']:,.0f}", f"{e['peak_rss_mb']:,.0f}"
                     + (f" (GPU {e['peak_gpu_mb']:,.0f})" if e.get("peak_gpu_mb") else "")))
    w = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (x + 2) for x in w) + "|")
    head = (f"{r['preset']} to {r['target_accuracy']:.1%} on {r['device']} ({r['hardware']}), "
            f"{r['train_images']:,} training images, torch {r['torch']}"
            + (f", median of {r['repeat']} interleaved runs" if r.get("repeat", 1) > 1 else ""))
    tail = []
    if r.get("speedup") is not None:
        tail.append(f"speed-up to target: {r['speedup']:.1f}x ({r['speedup_basis']})")
    if "throughput_ratio" in r:
        tail.append(f"throughput vs ordinary: {r['throughput_ratio']:.1f}x")
    if "ui_throughput_ratio" in r:
        tail.append(f"live UI keeps {r['ui_throughput_ratio']:.0%} of headless throughput"
                    + (" (medians; per run: " + ", ".join(
                        f"{u['samples_per_s'] / h['samples_per_s']:.0%}"
                        for u, h in zip(r['dlviz_ui']['repeats'], r['dlviz']['repeats'])) + ")"
                       if r.get("repeat", 1) > 1 else ""))
    if "ui_thread_throughput_ratio" in r:
        tail.append(f"in a thread it kept {r['ui_thread_throughput_ratio']:.0%}")
    return "\n".join([head, "", *lines, "", "; ".join(tail)])


def main(presets: list[str], device_choice: str, data_dir: str | None, as_json: bool, repeat: int = 1) -> int:
    from dlviz.data import load_dataset
    from dlviz.train import TrainConfig, prepare_data, resolve_device

    device = resolve_device(device_choice)
    raw = load_dataset("mnist", data_dir)
    data = prepare_data(raw, TrainConfig(), device)
    for preset in presets:
        print(f"benchmarking {preset} on {device}...", file=sys.stderr, flush=True)
        r = bench_preset(preset, data, data_dir, repeat=repeat)
        print(json.dumps(r) if as_json else table(r) + "\n", flush=True)
    return 0
