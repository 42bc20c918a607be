"""Knowledge distillation (Hinton et al. 2015): a smaller student learns from a trained teacher's soft targets.

The loss of a batch is ``alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student,
labels)``: at temperature T the teacher's probabilities keep what it thinks of the wrong classes ("this 4 looks a
bit like a 9"), which one-hot labels do not say. T^2 keeps the soft part's gradients the size of the hard part's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

TEMPERATURE = 4.0
ALPHA = 0.7


def distil_loss(student_logits, teacher_logits, labels, temperature: float = TEMPERATURE, alpha: float = ALPHA):
    t = float(temperature)
    soft = F.kl_div(
        F.log_softmax(student_logits / t, dim=1),
        F.log_softmax(teacher_logits / t, dim=1),
        reduction="batchmean",
        log_target=True,
    ) * (t * t)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1.0 - alpha) * hard


def distil(
    teacher: nn.Module,
    student: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    transform: Callable[[torch.Tensor], torch.Tensor],
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 0.003,
    temperature: float = TEMPERATURE,
    alpha: float = ALPHA,
    seed: int = 42,
    progress: Callable[[float, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[float]:
    """Train ``student`` on raw ``x`` (as stored) with ``teacher``'s soft targets and the labels ``y``; both on the
    CPU. Returns the mean loss of each epoch. ``progress(share done, last loss)`` is called every few batches."""
    teacher.eval()
    student.train()
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    steps = epochs * ((n + batch_size - 1) // batch_size)
    done, losses = 0, []
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for s in range(0, n, batch_size):
            if should_stop is not None and should_stop():
                student.eval()
                return losses
            idx = order[s : s + batch_size]
            xb, yb = transform(x[idx]), y[idx]
            with torch.no_grad():
                tl = teacher(xb)
            loss = distil_loss(student(xb), tl, yb, temperature, alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, count, done = total + loss.item() * len(idx), count + len(idx), done + 1
            if progress is not None and (done % 20 == 0 or done == steps):
                progress(done / steps, total / count)
        losses.append(total / max(1, count))
    student.eval()
    return losses


__all__ = ["ALPHA", "TEMPERATURE", "distil", "distil_loss"]
