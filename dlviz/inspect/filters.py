"""Convolution filters, the feature map each one makes, and weight histograms per layer.

Every function returns detached CPU results, leaves its inputs unchanged and restores the model's
train/eval mode. Layer names are dotted module paths: ``conv2d_1`` for a top-level layer,
``residual_1.conv1`` or ``residual_1.shortcut.0`` for a convolution inside a residual block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlviz.errors import DataError
from dlviz.inspect.hooks import capture

BINS = 40


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every ``nn.Conv2d`` in ``model`` (top-level layers and those inside residual blocks), in order.

    A model without convolutions (an MLP, an LSTM) gives an empty list.
    """
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _conv(model: nn.Module, name: str) -> nn.Conv2d:
    try:
        m = model.get_submodule(name)
    except AttributeError:
        m = None
    if not isinstance(m, nn.Conv2d):
        raise DataError(
            "The model has no convolution layer named {name}. Its convolution layers are: {known}.",
            name=name,
            known=", ".join(n for n, _ in conv_layers(model)) or "-",
        )
    return m


def filters(model: nn.Module, name: str) -> torch.Tensor:
    """The weights of convolution layer ``name``: (out_channels, in_channels, kh, kw), a detached CPU copy."""
    return _conv(model, name).weight.detach().float().cpu().clone()


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor, name: str) -> torch.Tensor:
    """What convolution layer ``name`` outputs for one input ``x`` (1, 28, 28): (out_channels, H, W).

    This is the layer's own output (before any ReLU that follows it), so a map can be negative
    where the filter's pattern is absent. The model runs in eval mode, then its mode is restored.
    """
    _conv(model, name)
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with capture(parent, names=[child]) as cap:  # capture hooks children of ``parent`` only
            model(x.unsqueeze(0).to(device))
    finally:
        model.train(was_training)
    return cap.outputs[child][0]


@dataclass(frozen=True)
class Histogram:
    counts: np.ndarray  # (bins,) int
    edges: np.ndarray  # (bins + 1,) float
    n: int
    mean: float
    std: float


@dataclass(frozen=True)
class LayerWeights:
    name: str  # dotted module path
    kind: str  # the module's class name: Conv2d, Linear, BatchNorm2d, LSTM...
    weight: Histogram
    bias: Histogram | None


def _hist(values: torch.Tensor, edges: np.ndarray) -> Histogram:
    a = values.numpy()
    counts, _ = np.histogram(a, bins=edges)
    return Histogram(counts, edges, int(a.size), float(a.mean()), float(a.std()))


def weight_stats(model: nn.Module, bins: int = BINS) -> list[LayerWeights]:
    """A histogram of the weights (and biases) of every layer that owns parameters, in model order.

    A parameter whose name contains "bias" counts as a bias (an LSTM's ``bias_ih_l0`` too); every
    other parameter counts as a weight. BatchNorm's scale and shift are its weight and bias. Weights
    and biases of one layer share the same ``bins`` edges (spanning both).
    """
    out = []
    for name, m in model.named_modules():
        own = list(m.named_parameters(recurse=False))
        if not own or not name:
            continue
        w = [p.reshape(-1) for n, p in own if "bias" not in n]
        b = [p.reshape(-1) for n, p in own if "bias" in n]
        if not w:
            continue
        wv = torch.cat(w).detach().float().cpu()
        bv = torch.cat(b).detach().float().cpu() if b else None
        # one set of bins for weights and biases, so the two histograms overlay on one axis
        both = wv if bv is None else torch.cat([wv, bv])
        edges = np.histogram_bin_edges(both.numpy(), bins=bins)
        out.append(LayerWeights(name, type(m).__name__, _hist(wv, edges), _hist(bv, edges) if bv is not None else None))
    return out
