"""The attribution registry: Saliency, Input x Gradient and Integrated Gradients (more to come)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from dlviz.errors import ExplainError


@dataclass(frozen=True)
class Method:
    key: str
    title: str                     # translatable English
    run: Callable                  # (model, x (1, ...), target, **settings) -> (map like x, extra dict)
    settings: dict = field(default_factory=dict)   # name -> (default, lo, hi)


def _saliency(model, x, target, absolute=True):
    from captum.attr import Saliency

    return Saliency(model).attribute(x, target=target, abs=bool(absolute)), {}


def _input_x_gradient(model, x, target):
    from captum.attr import InputXGradient

    return InputXGradient(model).attribute(x, target=target), {}


def _integrated_gradients(model, x, target, steps=50, baseline="black"):
    from captum.attr import IntegratedGradients

    base = torch.zeros_like(x) if baseline == "black" else torch.full_like(x, float(baseline))
    # all steps in one batch: one forward and one backward pass instead of ``steps`` of each
    attr, delta = IntegratedGradients(model).attribute(x, baselines=base, target=target, n_steps=int(steps),
                                                       internal_batch_size=int(steps),
                                                       return_convergence_delta=True)
    with torch.no_grad():
        diff = float(model(x)[0, target] - model(base)[0, target])
    return attr, {"attribution_sum": float(attr.detach().sum()), "output_difference": diff,
                  "completeness_delta": float(delta.abs().sum())}


METHODS: dict[str, Method] = {m.key: m for m in [
    Method("saliency", "Saliency", _saliency, {"absolute": (True, None, None)}),
    Method("input_x_gradient", "Input x Gradient", _input_x_gradient),
    Method("integrated_gradients", "Integrated Gradients", _integrated_gradients,
           {"steps": (50, 2, 500), "baseline": ("black", None, None)}),
]}


@dataclass
class Attribution:
    method: str
    target: int
    map: torch.Tensor        # shaped like the input (without the batch dimension), detached CPU
    seconds: float
    extra: dict


def attribute(model: nn.Module, x: torch.Tensor, target: int, method: str, **settings) -> Attribution:
    """Attribute class ``target``'s score for the single input ``x`` (e.g. (1, 28, 28)) with ``method``."""
    if method not in METHODS:
        raise ExplainError("Unknown explanation method '{name}'. Choose one of: {known}.", name=method,
                           known=", ".join(METHODS))
    m = METHODS[method]
    for name, value in settings.items():
        if name not in m.settings:
            raise ExplainError("{method} has no setting '{name}'.", method=m.title, name=name)
        _, lo, hi = m.settings[name]
        if lo is not None and not (lo <= value <= hi):
            raise ExplainError("{method}: {name} must be between {lo} and {hi}, not {value}.", method=m.title,
                               name=name, lo=lo, hi=hi, value=value)
    private = copy.deepcopy(model).eval()   # the user's model keeps its weights, hooks and mode
    for p in private.parameters():
        p.requires_grad_(False)
    device = next(private.parameters()).device
    xb = x.detach().to(device).unsqueeze(0).float()
    with torch.no_grad():
        k = private(xb).shape[1]
    if not (0 <= int(target) < k):
        raise ExplainError("Class {target} does not exist: this model has classes 0 to {last}.", target=target,
                           last=k - 1)
    t0 = time.perf_counter()
    amap, extra = m.run(private, xb.requires_grad_(True), int(target), **settings)
    return Attribution(method, int(target), amap.detach()[0].cpu(), time.perf_counter() - t0, extra)
