"""The training loop: data stays on the device, shuffling is an index permutation there.

``fit(model, data, config, callbacks)`` never calls Streamlit. The task (``dlviz.tasks``) gives the loss
and the metric; callbacks (``dlviz.train.callbacks``) hear about progress a few times a second in small
frozen ``Progress`` records, record gradients, save checkpoints, and stop or pause the loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from dlviz.errors import TrainError
from dlviz.i18n import N_
from dlviz.modality.image import image_transform  # noqa: F401  (re-exported: dlviz.train.image_transform)
from dlviz.tasks import CLASSIFICATION, Task
from dlviz.train.callbacks import Callback, Control, Hooks, Loop, Progress
from dlviz.train.config import OPTIMIZERS, PRECISIONS, SCHEDULES, WARMUP_FRACTION, TrainConfig

__all__ = [  # the recipe and the callbacks' records are read through the engine too
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULES",
    "WARMUP_FRACTION",
    "Control",
    "DeviceData",
    "FitResult",
    "Progress",
    "TrainConfig",
    "evaluate",
    "fit",
    "test_logits",
    "test_outputs",
]

REPORT_SECONDS = 0.25  # the page redraws twice a second; report a little faster than that
MIN_REPORT_SAMPLES = 512  # ... but average each curve point over enough images to be readable
MAX_REPORT_SECONDS = 2.0  # ... unless training is so slow that the page would look frozen


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer; SGD, Adam and AdamW use PyTorch's fused kernels (one kernel for all parameters,
    on the CPU and on CUDA), which the ordinary per-parameter loop is not."""
    wd = cfg.weight_decay
    params = list(params)
    if cfg.optimizer in ("sgd", "adam", "adamw"):
        kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[cfg.optimizer]
        extra = {"momentum": cfg.momentum} if cfg.optimizer == "sgd" else {}
        try:
            return kind(params, lr=cfg.lr, weight_decay=wd, fused=True, **extra)
        except (RuntimeError, ValueError, TypeError):  # a device or dtype without the fused kernel
            return kind(params, lr=cfg.lr, weight_decay=wd, **extra)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=wd)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=wd)
    return torch.optim.Adadelta(params, lr=cfg.lr, weight_decay=wd)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based) of ``total``.

    One-cycle (Smith & Topin 2017): a short linear warm-up, then cosine annealing to zero, so large
    early steps explore and small late steps settle; it reaches a given accuracy in fewer epochs.
    """
    if schedule == "constant" or total <= 1:
        return 1.0
    warm = max(1, int(WARMUP_FRACTION * total)) if schedule == "onecycle" else 0
    if step < warm:
        return (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def cpu_has_native_bf16() -> bool:
    """True when this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX): then oneDNN's bf16
    convolutions are about twice as fast as fp32. Elsewhere bf16 is emulated and slower."""
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split()
                    return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        pass
    return False


def has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def resolve_precision(choice: str, device: torch.device, model: nn.Module) -> str:
    """ "fp32" or "bf16" for training ``model`` on ``device``.

    "auto" takes bf16 autocast where it was measured to pay (docs/performance.md): on a CUDA GPU
    with bf16, and on a CPU with native bf16 for a model with convolutions (a CNN epoch 8.1 s ->
    4.8 s here). Dense-only models stay fp32 on the CPU: there bf16 saved nothing at batch 128.
    """
    if choice == "fp32":
        return "fp32"
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        ok = choice == "bf16" or (cpu_has_native_bf16() and has_conv2d(model))
    else:
        ok = False
    if choice == "bf16" and not ok:
        raise TrainError(
            "This {device} cannot train in bf16. Choose 'auto' or 'fp32' precision.", device=device.type.upper()
        )
    return "bf16" if ok else "fp32"


def autocast(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def available_devices() -> list[tuple[str, str]]:
    """(key, description) for every device found, CPU first."""
    out = [("cpu", f"CPU ({torch.get_num_threads()} threads)")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out.append((f"cuda:{i}" if i else "cuda", torch.cuda.get_device_name(i)))
    return out


def resolve_device(choice: str = "auto") -> torch.device:
    choice = (choice or "auto").lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainError("No CUDA GPU was found on this machine. Choose 'auto' or 'cpu'.")
        return torch.device(choice)
    if choice == "cpu":
        return torch.device("cpu")
    raise TrainError("Unknown device '{name}'. Use auto, cpu or cuda.", name=choice)


@dataclass
class DeviceData:
    """Raw tensors resident on one device; ``transform`` turns a raw batch into model input."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    transform: Callable[[torch.Tensor], torch.Tensor]
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None  # training batches only, after ``transform``

    @property
    def device(self) -> torch.device:
        return self.train_x.device


RECENT = 0.2  # the time-left estimate reads the speed of the last fifth of the steps done


def recent_eta(points: list[tuple[int, float]], total: int, recent: float = RECENT) -> float:
    """Seconds left to reach ``total`` steps, at the speed of the recent steps.

    ``points`` are (steps done, training seconds) at each report, in order, starting with (0, 0.0). The
    speed is measured over the last ``recent`` share of the steps done (at least the last report), not
    since the start: the first steps are slow (warm-up, allocation, thread tuning) and an average since
    the start told "4:22 left" for a run that ended in under a minute. NaN before any step is timed.
    """
    if not points:
        return float("nan")
    step, now = points[-1]
    if step >= total:
        return 0.0
    target = step - max(1.0, recent * step)
    lo, hi = 0, len(points) - 1  # the latest point at or before ``target`` steps (binary search)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if points[mid][0] <= target:
            lo = mid
        else:
            hi = mid - 1
    s0, t0 = points[lo] if points[lo][0] < step else points[max(0, len(points) - 2)]
    if step <= s0 or now <= t0:
        return float("nan")
    return (total - step) * (now - t0) / (step - s0)


@dataclass
class FitResult:
    status: str  # "finished" | "stopped" | "failed"
    message: str = ""  # English template (translated by the UI/CLI)
    message_args: dict = field(default_factory=dict)
    steps: int = 0
    epochs_done: int = 0
    train_seconds: float = 0.0
    history: dict = field(default_factory=lambda: {"train": [], "val": []})
    cpu_threads: int | None = None  # what ThreadTuner chose
    precision: str = "fp32"  # what "auto" became
    live: dict | None = None  # the task's own step's last live view (a GAN's sample grid), if it has one


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    transform,
    batch_size: int = 2048,
    precision: str = "fp32",
    should_stop: Callable[[], bool] | None = None,
    task: Task = CLASSIFICATION,
) -> tuple[float, float] | None:
    """(mean loss, mean score) of ``model`` on raw ``x`` as ``task`` measures them (classification: cross-entropy,
    accuracy); restores the train/eval mode. None when ``should_stop()`` turned true between batches (a Stop
    pressed while the validation set is measured)."""
    if len(x) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    losses, scores = [], []  # on the device: one host copy at the end
    gen = fixed_generator(x.device)  # a task's noise (a denoising autoencoder's) is the same at every epoch
    for s in range(0, len(x), batch_size):
        if should_stop is not None and should_stop():
            model.train(was_training)
            return None
        xb, yb = task.pair(transform(x[s : s + batch_size]), y[s : s + batch_size], gen)
        with autocast(x.device, precision):
            out = model(xb)
        losses.append(task.loss(out, yb, reduction="sum"))
        scores.append(task.score(out, yb))
    model.train(was_training)
    return torch.stack(losses).sum().item() / len(x), torch.stack(scores).sum().item() / len(x)


EVAL_SEED = 1234


def fixed_generator(device: torch.device) -> torch.Generator:
    """A generator seeded the same every time: the validation and test sets' noise does not change between calls."""
    g = torch.Generator(device=device)
    g.manual_seed(EVAL_SEED)
    return g


@torch.no_grad()
def test_outputs(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    transform,
    task: Task = CLASSIFICATION,
    batch_size: int = 1024,
    progress: Callable[[float], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the model's outputs, the task's targets) over raw ``x`` with labels ``y``, on the CPU, in one pass (the
    task makes each batch's input and target: ``Task.pair``); restores the train/eval mode."""
    was_training = model.training
    model.eval()
    outs, targets = [], []
    gen = fixed_generator(x.device)
    for s in range(0, len(x), batch_size):
        xb, tb = task.pair(transform(x[s : s + batch_size]), y[s : s + batch_size], gen)
        outs.append(model(xb).float().cpu())
        targets.append(tb.cpu())
        if progress is not None:
            progress(min(s + batch_size, len(x)) / max(len(x), 1))
    model.train(was_training)
    if not outs:
        return torch.zeros((0, 0)), y.cpu()
    return torch.cat(outs), torch.cat(targets)


@torch.no_grad()
def test_logits(
    model: nn.Module,
    x: torch.Tensor,
    transform,
    batch_size: int = 1024,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """The model's outputs (classification: logits (N, K)) on the CPU in one pass; restores the train/eval mode. ``progress(fraction)`` after
    each batch."""
    was_training = model.training
    model.eval()
    out = []
    for s in range(0, len(x), batch_size):
        out.append(model(transform(x[s : s + batch_size])).float().cpu())
        if progress is not None:
            progress(min(s + batch_size, len(x)) / max(len(x), 1))
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros((0, 0))


class ThreadTuner:
    """Picks the CPU thread count that trains this model fastest, by timing the first steps.

    PyTorch's OpenMP parallel regions cost more when started from a thread other than the main
    one (the app trains in a worker thread): a small model such as the course MLP trains 2x slower
    on 2 threads there than on 1, while a CNN still gains from 2. After a short warm-up, blocks of
    steps alternate between the current count and one thread (interleaved, so a burst of load
    from the browser or another tab hits both alike); the first step of each block is dropped and
    the count with the lower median step time is kept. The count is process-wide; the original is
    restored when training ends.
    """

    WARMUP, BLOCK, BLOCKS = 3, 5, 6

    def __init__(self):
        self.original = torch.get_num_threads()
        self.active = self.original > 1
        self.times: dict[int, list[float]] = {self.original: [], 1: []}
        self.k = 0
        self.chosen = self.original

    def _count(self, block: int) -> int:
        return self.original if block % 2 == 0 else 1

    def after_step(self, seconds: float) -> None:
        if not self.active:
            return
        k = self.k - self.WARMUP
        self.k += 1
        if k < 0:
            return
        block, pos = divmod(k, self.BLOCK)
        if pos > 0:  # the first step after a switch pays for the switch
            self.times[self._count(block)].append(seconds)
        if pos == self.BLOCK - 1:
            if block + 1 < self.BLOCKS:
                torch.set_num_threads(self._count(block + 1))
            else:
                many, one = (sorted(self.times[c])[len(self.times[c]) // 2] for c in (self.original, 1))
                self.chosen = 1 if one < many else self.original
                torch.set_num_threads(self.chosen)
                self.active = False

    def restore(self) -> None:
        torch.set_num_threads(self.original)


def fit(
    model: nn.Module,
    data: DeviceData,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
    task: Task | None = None,
) -> FitResult:
    """Train ``model`` (already on ``data.device``) in place for ``task`` (classification by default), telling
    ``callbacks`` as it goes. Never raises for NaN, out of memory or stop: see the result's status."""
    cfg = config.validated()
    run = _Run(model, data, cfg, (task or CLASSIFICATION).configured(cfg), Hooks(callbacks))
    loop, hooks, res = run.loop, run.hooks, run.result
    try:
        hooks.on_fit_start(loop)
        run.clock.restart()  # the callbacks' start (a snapshot of the untrained weights) is not training time
        for epoch in range(1, loop.config.epochs + 1):
            loop.epoch = epoch
            run.train_epoch()
            p = run.meter.report("epoch_end", run.clock.seconds, run.validate())
            hooks.on_report(loop, p)
            hooks.on_epoch_end(loop, p)
            res.epochs_done = loop.epoch
            run.clock.restart()  # validation and checkpoints are not training time
    except _Stopped:
        _ended(res, "stopped", STOPPED, step=loop.step, total=loop.total_steps, epoch=loop.epoch)
    except _Diverged as d:
        cfg = loop.config
        opt, suggest = OPTIMIZERS[cfg.optimizer]["title"], cfg.lr / 10
        _ended(res, "failed", DIVERGED, what=d.what, step=d.step, epoch=loop.epoch, lr=cfg.lr, opt=opt, suggest=suggest)
    except torch.cuda.OutOfMemoryError:
        _ended(res, "failed", OUT_OF_MEMORY, step=loop.step, bs=loop.batch_size)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    finally:
        run.close()
    hooks.on_fit_end(loop, res)
    return res


STOPPED = N_("Stopped at step {step} of {total} (epoch {epoch}). The weights trained so far were kept.")
DIVERGED = N_(
    "The loss became {what} at step {step} (epoch {epoch}), so training stopped. The "
    "learning rate ({lr:g}) is probably too high for {opt}: try {suggest:g}."
)
OUT_OF_MEMORY = N_(
    "The GPU ran out of memory at step {step}. Lower the batch size (now {bs}), use a smaller "
    "model, or train on the CPU."
)


def _ended(res: FitResult, status: str, template: str, **args) -> None:
    res.status, res.message, res.message_args = status, template, args


class _Stopped(Exception):
    """A callback asked to stop (the pending curve points were reported)."""


class _Diverged(Exception):
    def __init__(self, value: float, step: int):
        super().__init__(value, step)
        self.what, self.step = ("NaN" if value != value else "infinite"), step


class _Run:
    """The parts of one ``fit()``: the loop state callbacks see, the optimizer and schedule, the meter that
    turns losses into curve points, the training clock and the CPU thread tuner."""

    def __init__(self, model: nn.Module, data: DeviceData, cfg: TrainConfig, task: Task, hooks: Hooks):
        n = len(data.train_x)
        if n == 0:
            raise TrainError("There are no training images. Lower the validation share or raise --limit.")
        device = data.device
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(cfg.seed)
        bs = min(cfg.batch_size, n)
        spe = math.ceil(n / bs)
        precision = resolve_precision(cfg.precision, device, model)
        self.loop = Loop(model, cfg, device, precision, bs, spe, spe * cfg.epochs)
        self.data, self.task, self.hooks = data, task, hooks
        self.result = FitResult(status="finished", precision=precision, history=self.loop.history)
        # channels-last: oneDNN and cuDNN run convolutions in NHWC without reordering each call (a CNN
        # epoch on this CPU 12.0 s -> 8.1 s). Only the layout in memory changes; the model is given back
        # in the usual layout at the end, so everything after training sees ordinary tensors.
        self.channels_last = has_conv2d(model)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        # the task's own step (a GAN: two networks, two optimizers), else the usual one-model step below
        self.loop.trainer = task.make_step(self.loop, data, hooks.after_backward)
        if self.loop.trainer is None:
            self.opt = make_optimizer(cfg, model.parameters())
            total = self.loop.total_steps
            self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda k: lr_factor(cfg.schedule, k, total))
        self.step = self.loop.trainer or self._step
        self.tuner = ThreadTuner() if device.type == "cpu" and cfg.cpu_threads == "auto" else None
        self.meter = _Meter(self.loop)
        self.clock = _Clock()
        model.train()

    def train_epoch(self) -> None:
        loop, hooks, clock, meter = self.loop, self.hooks, self.clock, self.meter
        n, bs = len(self.data.train_x), loop.batch_size
        perm = torch.randperm(n, device=loop.device, generator=self.gen)
        for s in range(0, n, bs):
            clock.leave_out(hooks.before_step, loop)  # a pause is not training time
            if hooks.should_stop():
                self._stop()
            idx, data = perm[s : s + bs], self.data
            xb = data.transform(data.train_x[idx])
            if data.augment is not None:  # training batches only, after the transform, on the device
                xb = data.augment(xb)
            meter.add(*self.step(xb, data.train_y[idx]))
            seconds = clock.tick()
            if self.tuner is not None:
                self.tuner.after_step(seconds)
            hooks.on_step_end(loop)
            clock.restart()  # saving a snapshot is not training time
            if s + bs < n and meter.due(clock.seconds):
                hooks.on_report(loop, meter.report("train", clock.seconds))

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int, None]:
        loop = self.loop
        xb, yb = self.task.pair(xb, yb, self.gen)  # the task's input and target (an autoencoder: x and x)
        with autocast(loop.device, loop.precision):
            out = loop.model(xb)
        loss = self.task.loss(out, yb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.hooks.after_backward(loop)
        self.opt.step()
        self.sched.step()
        loop.step += 1
        return loss.detach(), self.task.score(out.detach(), yb), len(yb), None

    def validate(self) -> tuple[float | None, float | None]:
        """(loss, score) on the validation set ((None, None) without one); stops if asked to meanwhile."""
        data, loop = self.data, self.loop
        if self.hooks.should_stop():
            self._stop()
        if not len(data.val_x):
            return None, None
        val = evaluate(
            loop.model,
            data.val_x,
            data.val_y,
            data.transform,
            precision=loop.precision,
            should_stop=self.hooks.should_stop,
            task=self.task,
        )
        if val is None:  # stopped while the validation set was measured: stop now, not after it
            self._stop()
        return val

    def _stop(self):
        if self.meter.losses:
            self.hooks.on_report(self.loop, self.meter.report("train", self.clock.seconds))
        raise _Stopped

    def close(self) -> None:
        res = self.result
        res.steps, res.train_seconds = self.loop.step, self.clock.seconds
        live = getattr(self.loop.trainer, "live", None)
        if live is not None and res.steps > 0:
            res.live = live()
        if self.tuner is not None:
            res.cpu_threads = self.tuner.chosen
            self.tuner.restore()
        if self.channels_last:
            self.loop.model.to(memory_format=torch.contiguous_format)


class _Clock:
    """Training seconds: the steps' time, without pauses, snapshots, validation and checkpoints."""

    def __init__(self):
        self.seconds = 0.0
        self.last = time.perf_counter()

    def tick(self) -> float:
        """Count the time since the last tick (or restart) as training; returns it."""
        now = time.perf_counter()
        dt, self.last = now - self.last, now
        self.seconds += dt
        return dt

    def restart(self) -> None:
        """Leave the time since the last tick out."""
        self.last = time.perf_counter()

    def leave_out(self, fn: Callable, *args) -> None:
        t0 = time.perf_counter()
        fn(*args)
        self.last += time.perf_counter() - t0


class _Meter:
    """The curves. Per-step losses and scores stay on the device until a report copies them to the host at
    once; a report averages them since the last one (an epoch's end: over the epoch, as Keras prints it)."""

    def __init__(self, loop: Loop):
        self.loop = loop
        self.losses: list[torch.Tensor] = []
        self.scores: list[torch.Tensor] = []
        self.extras: list[torch.Tensor] = []  # the task's extra metrics per step (Task.extra_metrics)
        self.seen = 0
        self.epoch = [0.0, 0, 0, 0]  # this epoch so far: loss sum, steps, score sum, examples
        self.last_step, self.last_time = 0, 0.0
        self.sps = 0.0
        self.eta_points: list[tuple[int, float]] = [(0, 0.0)]  # (steps, training seconds) at each report

    def add(self, loss: torch.Tensor, score: torch.Tensor, n: int, extra: torch.Tensor | None = None) -> None:
        self.losses.append(loss)
        self.scores.append(score)
        if extra is not None:
            self.extras.append(extra)
        self.seen += n

    def due(self, seconds: float) -> bool:
        since = seconds - self.last_time
        return since >= REPORT_SECONDS and (self.seen >= MIN_REPORT_SAMPLES or since >= MAX_REPORT_SECONDS)

    def report(self, phase: str, seconds: float, val=(None, None)) -> Progress:
        """The curve point since the last report, appended to the history; raises _Diverged for a loss that is
        not finite."""
        loop = self.loop
        step, spe, hist = loop.step, loop.steps_per_epoch, loop.history
        losses = torch.stack(self.losses).float().tolist() if self.losses else []
        for j, v in enumerate(losses):
            if not math.isfinite(v):
                raise _Diverged(v, step - len(losses) + j + 1)
        score = torch.stack(self.scores).sum().item() if self.scores else 0
        mean_score = score / max(self.seen, 1)
        mean_loss = sum(losses) / len(losses) if losses else float("nan")
        for k, v in enumerate((sum(losses), len(losses), score, self.seen)):
            self.epoch[k] += v
        d_steps, d_time = step - self.last_step, max(seconds - self.last_time, 1e-9)
        # smoothed: one report can cover only a step or two, whose time is mostly noise
        inst = d_steps * loop.batch_size / d_time if d_steps else self.sps
        self.sps = inst if self.sps == 0 else 0.7 * self.sps + 0.3 * inst
        if step > self.eta_points[-1][0]:
            self.eta_points.append((step, seconds))
        if losses:
            extra = torch.stack(self.extras).float().mean(0).tolist() if self.extras else []
            hist["train"].append([step, round(step / spe, 4), mean_loss, mean_score, *extra])
        if phase == "epoch_end":  # the epoch's averages, as Keras prints them
            e = self.epoch
            mean_loss, mean_score = e[0] / max(e[1], 1), e[2] / max(e[3], 1)
            self.epoch = [0.0, 0, 0, 0]
        if val[0] is not None:
            hist["val"].append([step, round(step / spe, 4), val[0], val[1]])
        self.losses, self.scores, self.extras, self.seen = [], [], [], 0
        self.last_step, self.last_time = step, seconds
        eta = recent_eta(self.eta_points, loop.total_steps)
        return Progress(
            phase,
            loop.epoch,
            loop.config.epochs,
            step,
            loop.total_steps,
            mean_loss,
            mean_score,
            self.sps,
            seconds,
            eta,
            *val,
        )
