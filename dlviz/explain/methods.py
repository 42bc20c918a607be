"""The gradient family: Saliency, Input x Gradient, Integrated Gradients (more join in this module)."""

from __future__ import annotations

import torch

from dlviz.explain.registry import Method, Setting, register


def baseline(x: torch.Tensor, kind: str, seed: int = 0) -> torch.Tensor:
    """A reference input for path methods: "black" (all zeros), "blurred" (the input, Gaussian-blurred),
    "noise" (uniform noise in [0, 1], seeded). ``x`` is (B, C, H, W); the result is detached."""
    x = x.detach()
    if kind == "black":
        return torch.zeros_like(x)
    if kind == "noise":
        g = torch.Generator(device="cpu").manual_seed(int(seed))
        return torch.rand(x.shape, generator=g).to(x)
    if kind == "blurred":
        sigma, r = 3.0, 6
        t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
        k1 = torch.exp(-t ** 2 / (2 * sigma ** 2))
        k1 = k1 / k1.sum()
        c = x.shape[1]
        xp = torch.nn.functional.pad(x, (r, r, r, r), mode="replicate")
        y = torch.nn.functional.conv2d(xp, k1.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        return torch.nn.functional.conv2d(y, k1.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    raise ValueError(kind)


BASELINES = ("black", "blurred", "noise")


def _saliency(model, x, target, absolute=True):
    from captum.attr import Saliency

    return Saliency(model).attribute(x, target=target, abs=bool(absolute)), {}


def _input_x_gradient(model, x, target):
    from captum.attr import InputXGradient

    return InputXGradient(model).attribute(x, target=target), {}


def _integrated_gradients(model, x, target, steps=50, baseline_kind="black"):
    from captum.attr import IntegratedGradients

    base = baseline(x, baseline_kind)
    # all steps in one batch: one forward and one backward pass instead of ``steps`` of each
    attr, delta = IntegratedGradients(model).attribute(x, baselines=base, target=target, n_steps=int(steps),
                                                       internal_batch_size=int(steps),
                                                       return_convergence_delta=True)
    with torch.no_grad():
        diff = float(model(x)[0, target] - model(base)[0, target])
    return attr, {"attribution_sum": float(attr.detach().sum()), "output_difference": diff,
                  "completeness_delta": float(delta.abs().sum())}


register(Method("saliency", "Saliency", _saliency,
                {"absolute": Setting(True, choices=(True, False), title="Absolute value",
                                     help="Show how strongly each pixel matters, ignoring the sign.")},
                blurb="How much the score would change if this pixel changed a little.", signed=False))
register(Method("input_x_gradient", "Input x Gradient", _input_x_gradient,
                blurb="The gradient times the pixel: evidence only where there is ink."))
register(Method("integrated_gradients", "Integrated Gradients", _integrated_gradients,
                {"steps": Setting(50, 2, 500, title="Steps", help="Points on the path from the baseline to the "
                                  "image; more steps, more exact."),
                 "baseline_kind": Setting("black", choices=BASELINES, title="Baseline",
                                          help="The 'nothing' image the input is compared with.")},
                blurb="Adds up the gradient along a path from a blank image to this one; the parts sum to the "
                      "change in the score."))
