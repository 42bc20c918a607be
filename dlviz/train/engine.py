"""The training loop: data stays on the device, shuffling is an index permutation there.

``fit`` never calls Streamlit. It reports through a callback with small frozen ``Progress``
records, throttled to a few per second, and checks a ``Control`` (stop / pause) every step.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from dlviz.defaults import VAL_FRACTION
from dlviz.errors import TrainError
from dlviz.i18n import N_
from dlviz.modality.image import image_transform  # noqa: F401  (re-exported: dlviz.train.image_transform)

OPTIMIZERS: dict[str, dict] = {
    # default learning rates as in the frameworks' documentation (Adadelta's is 1.0)
    "sgd": {"title": N_("SGD (momentum)"), "lr": 0.01},
    "adam": {"title": "Adam", "lr": 1e-3},
    "adamw": {"title": "AdamW", "lr": 1e-3},
    "rmsprop": {"title": "RMSprop", "lr": 1e-3},
    "adagrad": {"title": "Adagrad", "lr": 0.01},
    "adadelta": {"title": "Adadelta", "lr": 1.0},
}

SCHEDULES = {
    "constant": "Constant",
    "cosine": "Cosine decay",
    "onecycle": "Warm-up then cosine decay",
}
WARMUP_FRACTION = 0.05

PRECISIONS = {
    "auto": "Automatic (bf16 where faster)",
    "fp32": "32-bit floats",
    "bf16": "bf16 mixed precision",
}

LR_MAX = 10.0
REPORT_SECONDS = 0.25  # the page redraws twice a second; report a little faster than that
MIN_REPORT_SAMPLES = 512  # ... but average each curve point over enough images to be readable
MAX_REPORT_SECONDS = 2.0  # ... unless training is so slow that the page would look frozen


@dataclass(frozen=True)
class TrainConfig:
    # The default recipe: Adam at 3e-3 with batch 128 and a one-cycle schedule reaches the course's
    # accuracies (MLP 97.5% in 5 epochs, CNN 99% in 3) in fewer seconds than its batch-32 constant-LR
    # Keras recipe. All of it is shown and editable on the Train page.
    optimizer: str = "adam"
    lr: float = 3e-3
    batch_size: int = 128
    epochs: int = 5
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    device: str = "auto"
    val_fraction: float = VAL_FRACTION
    schedule: str = "onecycle"  # "constant" | "cosine" | "onecycle" (warm-up, then cosine to zero)
    cpu_threads: str = "auto"  # "auto": time the first steps and keep the faster thread count
    precision: str = "auto"  # "auto" | "fp32" | "bf16" (autocast; weights and optimizer stay fp32)
    limit: int | None = None  # train on the first N training images (quick demos)
    record_gradients: bool = True  # per-layer gradient norms every step, histograms now and then

    def validated(self) -> "TrainConfig":
        opt = str(self.optimizer).lower()
        if opt not in OPTIMIZERS:
            raise TrainError(
                "Unknown optimizer '{name}'. Choose one of: {known}.", name=self.optimizer, known=", ".join(OPTIMIZERS)
            )
        lr = _number(self.lr, "learning rate")
        if not (0 < lr <= LR_MAX):
            raise TrainError(
                "A learning rate of {lr:g} cannot train: the weights would jump far past any good "
                "value. Use a value above 0 and at most {most:g}; {usual:g} is the usual start for "
                "{opt}.",
                lr=lr,
                most=LR_MAX,
                usual=OPTIMIZERS[opt]["lr"],
                opt=OPTIMIZERS[opt]["title"],
            )
        bs = int(_number(self.batch_size, "batch size"))
        if not (1 <= bs <= 65536):
            raise TrainError("Batch size {bs} is out of range: use 1 to 65536 (32 to 512 is usual).", bs=bs)
        ep = int(_number(self.epochs, "epochs"))
        if not (1 <= ep <= 1000):
            raise TrainError("Epochs must be between 1 and 1000, not {epochs}.", epochs=ep)
        wd = _number(self.weight_decay, "weight decay")
        if not (0 <= wd <= 1):
            raise TrainError("Weight decay must be between 0 and 1 (1e-4 is usual), not {wd:g}.", wd=wd)
        mom = _number(self.momentum, "momentum")
        if not (0 <= mom < 1):
            raise TrainError("Momentum must be at least 0 and below 1 (0.9 is usual), not {m:g}.", m=mom)
        if not (0 <= float(self.val_fraction) <= 0.9):
            raise TrainError("The validation share must be between 0 and 0.9, not {v:g}.", v=float(self.val_fraction))
        if self.cpu_threads not in ("auto", "fixed"):
            raise TrainError("cpu_threads must be 'auto' or 'fixed', not {v!r}.", v=self.cpu_threads)
        if self.precision not in PRECISIONS:
            raise TrainError(
                "Unknown precision '{name}'. Choose one of: {known}.", name=self.precision, known=", ".join(PRECISIONS)
            )
        if self.schedule not in SCHEDULES:
            raise TrainError(
                "Unknown learning-rate schedule '{name}'. Choose one of: {known}.",
                name=self.schedule,
                known=", ".join(SCHEDULES),
            )
        limit = self.limit
        if limit is not None and int(limit) < 1:
            raise TrainError("--limit must be a positive number of images, not {n}.", n=limit)
        return replace(
            self,
            optimizer=opt,
            lr=lr,
            batch_size=bs,
            epochs=ep,
            weight_decay=wd,
            momentum=mom,
            limit=None if limit is None else int(limit),
        )


def _number(v, what: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise TrainError("The {what} must be a number, not {value!r}.", what=what, value=v) from None
    if not math.isfinite(x):
        raise TrainError("The {what} must be a finite number, not {value!r}.", what=what, value=v)
    return x


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

    @property
    def device(self) -> torch.device:
        return self.train_x.device


class Control:
    """Stop / pause flags the loop checks every step (set from any thread)."""

    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait(self) -> float:
        """Block while paused; returns the seconds spent paused (excluded from throughput)."""
        if self._running.is_set():
            return 0.0
        t0 = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - t0


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


@dataclass(frozen=True)
class Progress:
    phase: str  # "train" | "epoch_end"
    epoch: int  # 1-based epoch in progress
    epochs: int
    step: int  # optimizer steps done
    total_steps: int
    train_loss: float  # mean over the steps since the last report
    train_acc: float
    samples_per_s: float
    elapsed_s: float  # training time, pauses excluded
    eta_s: float
    val_loss: float | None = None
    val_acc: float | None = None


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


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    transform,
    batch_size: int = 2048,
    precision: str = "fp32",
    should_stop: Callable[[], bool] | None = None,
) -> tuple[float, float] | None:
    """(mean cross-entropy, accuracy) of ``model`` on raw ``x``; restores the train/eval mode. None when
    ``should_stop()`` turned true between batches (a Stop pressed while the validation set is measured)."""
    if len(x) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for s in range(0, len(x), batch_size):
        if should_stop is not None and should_stop():
            model.train(was_training)
            return None
        with autocast(x.device, precision):
            out = model(transform(x[s : s + batch_size]))
        yb = y[s : s + batch_size]
        loss += F.cross_entropy(out.float(), yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    model.train(was_training)
    return loss.item() / len(x), correct.item() / len(x)


@torch.no_grad()
def test_logits(
    model: nn.Module,
    x: torch.Tensor,
    transform,
    batch_size: int = 1024,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Logits (N, K) on the CPU in one pass; restores the train/eval mode. ``progress(fraction)`` after
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


Callback = Callable[[Progress], None]


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
    cfg: TrainConfig,
    on_progress: Callback | None = None,
    control: Control | None = None,
    on_epoch_end: Callable[[Progress, nn.Module], None] | None = None,
    history: dict | None = None,
    recorder=None,
    snapshot_steps: tuple[int, ...] = (),
    on_snapshot: Callable[[int, nn.Module], None] | None = None,
) -> FitResult:
    """Train ``model`` (already on ``data.device``) in place. Never raises for NaN or stop: see status.

    ``recorder`` (a ``dlviz.inspect.GradRecorder``) sees the gradients after every backward pass.
    ``on_snapshot(step, model)`` is called before training (step 0, if listed) and after each step in
    ``snapshot_steps``, for epoch replay; its time is not counted as training time.
    """
    cfg = cfg.validated()
    control = control or Control()
    device = data.device
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)
    n = len(data.train_x)
    if n == 0:
        raise TrainError("There are no training images. Lower the validation share or raise --limit.")
    bs = min(cfg.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total = steps_per_epoch * cfg.epochs
    precision = resolve_precision(cfg.precision, device, model)
    # channels-last: oneDNN and cuDNN run convolutions in NHWC without reordering each call (a CNN
    # epoch on this CPU 12.0 s -> 8.1 s). Only the layout in memory changes; the model is given back
    # in the usual layout at the end, so everything after training sees ordinary tensors.
    channels_last = has_conv2d(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(cfg.schedule, k, total))
    res = FitResult(status="finished", precision=precision)
    tuner = ThreadTuner() if device.type == "cpu" and cfg.cpu_threads == "auto" else None
    if history is not None:  # the caller's dict, so checkpoints can save the history so far
        history.setdefault("train", [])
        history.setdefault("val", [])
        res.history = history
    model.train()
    step = 0
    train_time = 0.0
    t_last = time.perf_counter()
    pending: list[torch.Tensor] = []  # per-step losses not yet copied to the host
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    last_report_step, last_report_time = 0, 0.0
    sps_ema = [0.0]
    eta_points: list[tuple[int, float]] = [(0, 0.0)]  # (steps, training seconds) at each report: recent_eta
    ep = [0.0, 0, 0, 0]  # this epoch so far: loss sum, steps, correct, seen

    def report(epoch: int, phase: str, val=(None, None)) -> bool:
        """Copy pending losses to the host once; False if a loss is not finite."""
        nonlocal pending, seen, last_report_step, last_report_time
        losses = torch.stack(pending).float().tolist() if pending else []
        for j, v in enumerate(losses):
            if not math.isfinite(v):
                bad = step - len(losses) + j + 1
                res.status = "failed"
                res.message = N_(
                    "The loss became {what} at step {step} (epoch {epoch}), so training stopped. The "
                    "learning rate ({lr:g}) is probably too high for {opt}: try {suggest:g}."
                )
                res.message_args = dict(
                    what="NaN" if v != v else "infinite",
                    step=bad,
                    epoch=epoch,
                    lr=cfg.lr,
                    opt=OPTIMIZERS[cfg.optimizer]["title"],
                    suggest=cfg.lr / 10,
                )
                return False
        n_correct = correct.item()
        acc = n_correct / max(seen, 1)
        chunk_loss = sum(losses) / len(losses) if losses else float("nan")
        ep[0] += sum(losses)
        ep[1] += len(losses)
        ep[2] += n_correct
        ep[3] += seen
        d_steps = step - last_report_step
        d_time = max(train_time - last_report_time, 1e-9)
        # smoothed: one report can cover only a step or two, whose time is mostly noise
        inst = d_steps * bs / d_time if d_steps else sps_ema[0]
        sps = sps_ema[0] = inst if sps_ema[0] == 0 else 0.7 * sps_ema[0] + 0.3 * inst
        if step > eta_points[-1][0]:
            eta_points.append((step, train_time))
        eta = recent_eta(eta_points, total)
        if losses:
            res.history["train"].append([step, round(step / steps_per_epoch, 4), chunk_loss, acc])
        if phase == "epoch_end":  # the epoch's averages, as Keras prints them
            chunk_loss, acc = ep[0] / max(ep[1], 1), ep[2] / max(ep[3], 1)
            ep[:] = [0.0, 0, 0, 0]
        p = Progress(phase, epoch, cfg.epochs, step, total, chunk_loss, acc, sps, train_time, eta, *val)
        if val[0] is not None:
            res.history["val"].append([step, round(step / steps_per_epoch, 4), val[0], val[1]])
        pending, seen = [], 0
        correct.zero_()
        last_report_step, last_report_time = step, train_time
        if on_progress:
            on_progress(p)
        if phase == "epoch_end" and on_epoch_end:
            on_epoch_end(p, model)
        return True

    snap_at = set(snapshot_steps) if on_snapshot else set()
    if 0 in snap_at:
        on_snapshot(0, model)
    try:
        for epoch in range(1, cfg.epochs + 1):
            perm = torch.randperm(n, device=device, generator=gen)
            for s in range(0, n, bs):
                t_last += control.wait()
                if control.stopped:
                    break
                idx = perm[s : s + bs]
                xb = data.transform(data.train_x[idx])
                yb = data.train_y[idx]
                with autocast(device, precision):
                    out = model(xb)
                loss = F.cross_entropy(out.float(), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if recorder is not None:
                    recorder.after_backward(step + 1)
                opt.step()
                sched.step()
                step += 1
                pending.append(loss.detach())
                correct += (out.detach().argmax(1) == yb).sum()
                seen += len(yb)
                now = time.perf_counter()
                if tuner is not None:
                    tuner.after_step(now - t_last)
                train_time += now - t_last
                t_last = now
                if step in snap_at:
                    on_snapshot(step, model)
                    t_last = time.perf_counter()  # saving is not training time
                since = train_time - last_report_time
                if (
                    since >= REPORT_SECONDS
                    and (seen >= MIN_REPORT_SAMPLES or since >= MAX_REPORT_SECONDS)
                    and s + bs < n
                ):
                    if not report(epoch, "train"):
                        return _done(res, step, epoch - 1, train_time)
            if control.stopped:
                if pending and not report(epoch, "train"):
                    return _done(res, step, epoch - 1, train_time)
                res.status = "stopped"
                res.message = N_(
                    "Stopped at step {step} of {total} (epoch {epoch}). The weights trained so far were kept."
                )
                res.message_args = dict(step=step, total=total, epoch=epoch)
                return _done(res, step, epoch - 1, train_time)
            val = (
                evaluate(
                    model,
                    data.val_x,
                    data.val_y,
                    data.transform,
                    precision=precision,
                    should_stop=lambda: control.stopped,
                )
                if len(data.val_x)
                else (None, None)
            )
            if val is None:  # stopped while the validation set was measured: stop now, not after it
                if pending and not report(epoch, "train"):
                    return _done(res, step, epoch - 1, train_time)
                res.status = "stopped"
                res.message = N_(
                    "Stopped at step {step} of {total} (epoch {epoch}). The weights trained so far were kept."
                )
                res.message_args = dict(step=step, total=total, epoch=epoch)
                return _done(res, step, epoch - 1, train_time)
            if not report(epoch, "epoch_end", val):
                return _done(res, step, epoch - 1, train_time)
            res.epochs_done = epoch
            t_last = time.perf_counter()  # validation and checkpoints are not training time
    except torch.cuda.OutOfMemoryError:
        res.status = "failed"
        res.message = N_(
            "The GPU ran out of memory at step {step}. Lower the batch size (now {bs}), use a smaller "
            "model, or train on the CPU."
        )
        res.message_args = dict(step=step, bs=bs)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    finally:
        if tuner is not None:
            res.cpu_threads = tuner.chosen
            tuner.restore()
        if channels_last:
            model.to(memory_format=torch.contiguous_format)
    return _done(res, step, res.epochs_done, train_time)


def _done(res: FitResult, step: int, epochs_done: int, seconds: float) -> FitResult:
    res.steps = step
    res.epochs_done = max(res.epochs_done, epochs_done)
    res.train_seconds = seconds
    return res
