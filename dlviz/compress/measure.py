"""What a compressed variant is measured by: test accuracy, the size of its file and CPU latency per image."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn

LATENCY_REPEATS = 50  # timed calls of one image, after WARMUP untimed ones; the median is reported
WARMUP = 5


@contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` intra-op threads (None: as they are), and put the old count back."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


@torch.no_grad()
def accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    transform: Callable[[torch.Tensor], torch.Tensor],
    batch: int = 500,
    progress: Callable[[float], None] | None = None,
) -> float:
    """Share of ``x`` (raw, as stored) that ``model`` (CPU, eval) labels as ``y``."""
    model.eval()
    right = 0
    for s in range(0, len(x), batch):
        out = model(transform(x[s : s + batch]))
        right += int((out.argmax(1) == y[s : s + batch]).sum())
        if progress is not None:
            progress(min(1.0, (s + batch) / len(x)))
    return right / max(1, len(x))


@torch.no_grad()
def latency_ms(model: nn.Module, x1: torch.Tensor, threads: int = 1, repeats: int = LATENCY_REPEATS) -> float:
    """Median milliseconds of one forward pass of one input ``x1`` (batch 1, already the model's input) on the CPU
    with ``threads`` torch threads."""
    model.eval()
    with torch_threads(threads):
        for _ in range(WARMUP):
            model(x1)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x1)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0


__all__ = ["LATENCY_REPEATS", "accuracy", "latency_ms", "torch_threads"]
