"""Activations of every layer for one input."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlviz.inspect.hooks import capture


@dataclass(frozen=True)
class LayerActivation:
    name: str
    shape: tuple[int, ...]  # without the batch dimension
    values: torch.Tensor  # detached CPU float, shape == ``shape``


@torch.no_grad()
def activations(model: nn.Module, x: torch.Tensor) -> tuple[list[LayerActivation], torch.Tensor]:
    """(every layer's output for the single input ``x``, class probabilities (K,)).

    ``x`` is one model input without the batch dimension, e.g. (1, 28, 28) floats in [0, 1].
    The model runs in eval mode (dropout off, BatchNorm's running statistics), then its mode is
    restored.
    """
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with capture(model) as cap:
            logits = model(x.unsqueeze(0).to(device))
    finally:
        model.train(was_training)
    layers = [LayerActivation(name, tuple(t.shape[1:]), t[0]) for name, t in cap.outputs.items()]
    return layers, F.softmax(logits.float(), dim=1)[0].cpu()


def probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities (K,) on the CPU for the single input ``x`` (no batch dimension), in eval mode; the
    model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(x.unsqueeze(0).to(next(model.parameters()).device))
    finally:
        model.train(was_training)
    return F.softmax(logits.float(), dim=1)[0].cpu()


def summarize(layers: list[LayerActivation]) -> list[dict]:
    """JSON-able summary per layer: name, shape, mean and the fraction of exact zeros."""
    return [
        {
            "name": a.name,
            "shape": list(a.shape),
            "mean": float(a.values.mean()),
            "fraction_zero": float((a.values == 0).float().mean()),
        }
        for a in layers
    ]
