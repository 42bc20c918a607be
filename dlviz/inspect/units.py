"""What a unit looks for: the test images that excite one channel (or one neuron) of a layer most.

A unit is one output channel of an image-shaped layer (C, H, W), or one neuron of a flat layer (F,).
A channel's score for an image is the MAXIMUM of its feature map by default: a filter fires where its
pattern appears, anywhere in the image, so the strongest response says best whether the pattern is
there (Zeiler & Fergus 2014 rank images the same way). ``reduce="mean"`` ranks by how much of the
image shows the pattern instead. A neuron's score is its value.

Every function returns detached CPU results, leaves its inputs unchanged and restores the model's
train/eval mode; the forward passes run in eval mode without gradients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from dlviz.errors import DataError
from dlviz.inspect.hooks import capture
from dlviz.modality.image import image_transform

REDUCE = ("max", "mean")
SKIP = (nn.Flatten, nn.Dropout)  # their units are the pixels / the units of the layer before


@dataclass(frozen=True)
class UnitLayer:
    name: str
    kind: str  # "channel" (C, H, W) or "neuron" (F,)
    units: int  # C or F
    shape: tuple[int, ...]  # the layer's output shape without the batch dimension


@torch.no_grad()
def unit_layers(model: nn.Module, input_shape: tuple[int, ...] = (1, 28, 28)) -> list[UnitLayer]:
    """The top-level layers whose units can be ranked: image-shaped or flat outputs, in model order."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with capture(model) as cap:
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(was_training)
    out = []
    for name, t in cap.outputs.items():
        if isinstance(getattr(model, name), SKIP) or t.dim() not in (2, 4):
            continue
        out.append(UnitLayer(name, "channel" if t.dim() == 4 else "neuron", int(t.shape[1]), tuple(t.shape[1:])))
    return out


def _reduce(out: torch.Tensor, reduce: str) -> torch.Tensor:
    """(B, C, H, W) -> (B, C) by max or mean over the map; (B, F) stays."""
    if out.dim() == 2:
        return out
    if out.dim() != 4:
        raise DataError(
            "Layer outputs of shape {shape} have no units to rank: pick a convolution or dense layer.",
            shape=str(tuple(out.shape[1:])),
        )
    return out.amax(dim=(2, 3)) if reduce == "max" else out.mean(dim=(2, 3))


@torch.no_grad()
def unit_scores(
    model: nn.Module,
    x_uint8: torch.Tensor,
    layer: str,
    reduce: str = "max",
    batch: int = 1000,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """The score of every unit of ``layer`` for every image: (N, units) float, detached on the CPU.

    ``x_uint8`` is (N, 28, 28) uint8 as the datasets store them; batches of ``batch`` images are
    converted to floats in [0, 1] one at a time, so memory stays small. One pass serves every unit
    of the layer. ``progress(fraction)`` is called after each batch.
    """
    if reduce not in REDUCE:
        raise DataError(
            "Unknown way to score a channel: {reduce}. Use one of: {known}.", reduce=reduce, known=", ".join(REDUCE)
        )
    if layer not in dict(model.named_children()):
        raise DataError("The model has no layer named {name}.", name=layer)
    if not (x_uint8.ndim == 3 or (x_uint8.ndim == 4 and x_uint8.shape[-1] == 3)) or len(x_uint8) == 0:
        raise DataError(
            "Need a non-empty stack of images (N, height, width), not {shape}.", shape=str(tuple(x_uint8.shape))
        )
    was_training = model.training
    model.eval()
    parts = []
    try:
        device = next(model.parameters()).device
        with capture(model, names=[layer]) as cap:
            n = len(x_uint8)
            for start in range(0, n, batch):
                xb = image_transform(x_uint8[start : start + batch].to(device))  # (B, 1, H, W); colour (B, 3, H, W)
                _forward_until(model, xb, layer)
                parts.append(_reduce(cap.outputs.pop(layer), reduce))
                if progress is not None:
                    progress(min(start + batch, n) / n)
    finally:
        model.train(was_training)
    return torch.cat(parts)


def _forward_until(model: nn.Module, x: torch.Tensor, layer: str) -> None:
    """Run ``model`` on ``x`` only as far as ``layer`` when it is a Sequential (the layers after it
    cannot change its output); any other model runs whole. Hooks fire either way."""
    if not isinstance(model, nn.Sequential):
        model(x)
        return
    for name, child in model.named_children():
        x = child(x)
        if name == layer:
            return


def top_of(scores: torch.Tensor, unit: int, k: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices, scores) of the ``k`` highest scores of column ``unit`` of (N, units) ``scores``, best first."""
    if not 0 <= unit < scores.shape[1]:
        raise DataError(
            "Unit {unit} does not exist: this layer has units 0 to {last}.", unit=unit, last=scores.shape[1] - 1
        )
    col = scores[:, unit]
    top = torch.topk(col, min(k, len(col)))  # ties: topk's order; images are distinct in practice
    return top.indices, top.values


def top_images(
    model: nn.Module, x_uint8: torch.Tensor, layer: str, unit: int, k: int = 16, batch: int = 1000, reduce: str = "max"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The indices into ``x_uint8`` of the ``k`` images that excite ``unit`` of ``layer`` most, and their scores.

    For many units of one layer, compute :func:`unit_scores` once and call :func:`top_of` per unit.
    """
    scores = unit_scores(model, x_uint8, layer, reduce=reduce, batch=batch)
    return top_of(scores, unit, k)


def sample(n_total: int, n: int, seed: int = 0) -> torch.Tensor:
    """A fixed random subset of ``n`` of ``n_total`` indices (sorted), the same every time; all if n >= n_total."""
    if n >= n_total:
        return torch.arange(n_total)
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=g)[:n].sort().values
