"""The gradient family: Saliency, Input x Gradient, Integrated Gradients, SmoothGrad, DeepLift, GradientSHAP."""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from dlviz.errors import ExplainError
from dlviz.explain.registry import Method, Setting, path_steps, register


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
        k1 = torch.exp(-(t**2) / (2 * sigma**2))
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
    attr, delta = IntegratedGradients(model).attribute(
        x,
        baselines=base,
        target=target,
        n_steps=int(steps),
        internal_batch_size=int(steps),
        return_convergence_delta=True,
    )
    with torch.no_grad():
        diff = float(model(x)[0, target] - model(base)[0, target])
    return attr, {
        "attribution_sum": float(attr.detach().sum()),
        "output_difference": diff,
        "completeness_delta": float(delta.abs().sum()),
    }


register(
    Method(
        "saliency",
        "Saliency",
        _saliency,
        {
            "absolute": Setting(
                True,
                choices=(True, False),
                title="Absolute value",
                help="Show how strongly each pixel matters, ignoring the sign.",
            )
        },
        blurb="How much the score would change if this pixel changed a little.",
        signed=False,
        signed_when=lambda s: not s["absolute"],
    )
)
register(
    Method(
        "input_x_gradient",
        "Input x Gradient",
        _input_x_gradient,
        blurb="The gradient times the pixel: evidence only where there is ink.",
    )
)
register(
    Method(
        "integrated_gradients",
        "Integrated Gradients",
        _integrated_gradients,
        {
            "steps": path_steps("Points on the path from the baseline to the image; more steps, more exact."),
            "baseline_kind": Setting(
                "black", choices=BASELINES, title="Baseline", help="The 'nothing' image the input is compared with."
            ),
        },
        blurb="Adds up the gradient along a path from a blank image to this one; the parts sum to the "
        "change in the score.",
    )
)


# --------------------------------------------------------------------------- SmoothGrad, DeepLift, GradientSHAP
# Randomness here comes from a private, seeded torch.Generator: the same image gives the same map, and
# no global random state is read or changed (Captum's NoiseTunnel and GradientShap draw from torch's and
# numpy's global generators, which a training thread in the same process may be using).

ROWS_PER_PASS = 128  # images per forward/backward pass (at most max(this, steps)): bounds memory
MAX_ROWS = 10_000  # SmoothGrad over IG: at most this many images in all (about 10 s for the cnn on 2 cores)
_SEED = 0


def _noise_scale(x: torch.Tensor, noise: float) -> float:
    """The noise std for ``x``: ``noise`` as a fraction of the input's range (Smilkov et al. 2017);
    a constant image (e.g. all black) uses the pixel scale 0..1 instead of a zero range."""
    span = float(x.detach().max() - x.detach().min())
    return float(noise) * (span if span > 1e-12 else 1.0)


def _gaussian(shape, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(shape, generator=generator).to(like)


def _gradients(model, points: torch.Tensor, target: int) -> torch.Tensor:
    """d score[target] / d input for each row of ``points`` (N, C, H, W), in passes of ROWS_PER_PASS."""
    grads = []
    for chunk in points.detach().split(ROWS_PER_PASS):
        chunk = chunk.requires_grad_(True)
        (g,) = torch.autograd.grad(model(chunk)[:, target].sum(), chunk)
        grads.append(g)
    return torch.cat(grads)


def _base_on_batch(model, noisy, target, base, steps, baseline_ref):
    """The base method's map for every row of ``noisy`` (S, C, H, W), each row on its own."""
    from captum.attr import InputXGradient, IntegratedGradients, Saliency

    if base == "saliency":
        return torch.cat(
            [
                Saliency(model).attribute(c.requires_grad_(True), target=target, abs=True)
                for c in noisy.detach().split(ROWS_PER_PASS)
            ]
        )
    if base == "input_x_gradient":
        return torch.cat(
            [
                InputXGradient(model).attribute(c.requires_grad_(True), target=target)
                for c in noisy.detach().split(ROWS_PER_PASS)
            ]
        )
    # Integrated Gradients: samples x steps rows; as many noisy copies per pass as fit in ROWS_PER_PASS
    per_pass = max(1, ROWS_PER_PASS // steps)
    ig, out = IntegratedGradients(model), []
    for c in noisy.detach().split(per_pass):
        out.append(
            ig.attribute(
                c.requires_grad_(True),
                baselines=baseline_ref.expand_as(c),
                target=target,
                n_steps=steps,
                internal_batch_size=len(c) * steps,
            )
        )
    return torch.cat(out)


def _smoothgrad(
    model, x, target, base="saliency", samples=20, noise=0.15, average="plain", steps=10, baseline_kind="black"
):
    if base == "integrated_gradients" and samples * steps > MAX_ROWS:
        raise ExplainError(
            "SmoothGrad over Integrated Gradients with {samples} noisy copies and {steps} steps "
            "runs the model on {rows} images; keep copies x steps at most {most} (fewer copies "
            "or fewer steps).",
            samples=samples,
            steps=steps,
            rows=samples * steps,
            most=MAX_ROWS,
        )
    g = torch.Generator(device="cpu").manual_seed(_SEED)
    sigma = _noise_scale(x, noise)
    noisy = x.detach() + sigma * _gaussian((samples, *x.shape[1:]), g, x)  # (S, C, H, W)
    maps = _base_on_batch(model, noisy, target, base, int(steps), baseline(x, baseline_kind))
    amap = (maps**2 if average == "squared" else maps).mean(0, keepdim=True)
    return amap, {"noise_std": sigma, "samples": float(samples)}


# layers Captum's DeepLift handles: the nonlinearities it has a rule for, and layers that are linear
# (or affine, BatchNorm in eval mode) so the plain chain rule is exact for them
def _deeplift_layer_types():
    from captum.attr._core.deep_lift import SUPPORTED_NON_LINEAR

    from dlviz.explain.registry import Contrast
    from dlviz.models.layers import GlobalAvgPool, ResidualBlock, Rows

    linear = (
        nn.Linear,
        nn.Conv1d,
        nn.Conv2d,
        nn.modules.batchnorm._BatchNorm,
        nn.Flatten,
        nn.Dropout,
        nn.Dropout2d,
        nn.Identity,
        nn.AvgPool1d,
        nn.AvgPool2d,
        nn.AdaptiveAvgPool2d,
        GlobalAvgPool,
        Rows,
    )
    containers = (nn.Sequential, ResidualBlock, Contrast)  # their forward only adds, slices or chains
    return tuple(SUPPORTED_NON_LINEAR), linear, containers


def _check_deeplift(model):
    """Every LEAF layer (a module without children) must have a DeepLift rule: a nonlinearity Captum handles,
    or a layer that is linear (affine) in its input. Containers are not judged by their class: a user's own
    ``nn.Module`` with a custom ``forward`` is fine when its leaves are. What a ``forward`` does with plain
    functions (``F.relu``, ``torch.max``) Captum cannot see: there it falls back to the gradient, and the
    completeness numbers say how far the sum is then off."""
    from dlviz.explain.registry import unwrap

    nonlinear, linear, _ = _deeplift_layer_types()
    for name, m in unwrap(model).named_modules():
        if next(m.children(), None) is not None:
            continue
        if type(m) in nonlinear or isinstance(m, linear):
            continue
        if name == "" and not any(True for _ in m.parameters()):
            continue  # a model with no layers at all: nothing to check
        raise ExplainError(
            "DeepLift has no rule for the layer '{layer}' ({kind}). It works through ReLU, "
            "LeakyReLU, ELU, Sigmoid, Tanh, Softplus and max pooling between linear layers. "
            "Integrated Gradients works with any layer.",
            layer=name or "model",
            kind=type(m).__name__,
        )


class _Fresh(nn.Module):
    """A new tensor equal to its input: keeps two hooked DeepLift layers from sharing one tensor."""

    def forward(self, x):
        return x.clone()


class _PerCall(nn.Module):
    """A nonlinearity the model calls in several places (one ``self.relu`` used after every layer), split into one
    copy per call: Captum's DeepLift keeps one input and output per module, so a reused module would mix up its
    calls. The copies are used in turn; the counter starts again at every forward pass of the root."""

    def __init__(self, module: nn.Module, calls: int):
        super().__init__()
        self.copies = nn.ModuleList([nn.Sequential(copy.deepcopy(module), _Fresh()) for _ in range(calls)])
        self.next = 0

    def forward(self, x):
        m = self.copies[self.next % len(self.copies)]
        self.next += 1
        return m(x)


def _calls_per_module(model, x) -> dict[int, int]:
    """How many times each leaf module runs in one forward pass of ``x`` (a traced pass, hooks removed)."""
    counts: dict[int, int] = {}

    def hook(m, _inp, _out):
        counts[id(m)] = counts.get(id(m), 0) + 1

    handles = [m.register_forward_hook(hook) for m in model.modules() if next(m.children(), None) is None]
    try:
        with torch.no_grad():
            model(x.detach())
    finally:
        for h in handles:
            h.remove()
    return counts


def _separate_nonlinear(model, x=None):
    """``model`` with every nonlinearity DeepLift hooks followed by a copy of its output.

    Captum (0.9) hooks a nonlinear layer's output tensor to read the multipliers coming back and the
    next layer's input tensor to replace them; when ReLU feeds MaxPool directly both hooks sit on one
    tensor and the ReLU reads the plain gradient instead of MaxPool's multipliers, so the map no
    longer sums to the change in the score (2-26% off on the cnn preset with a blurred baseline).
    With a fresh tensor between them each hook has its own, and the sum is exact again. A nonlinearity
    that runs several times in one pass (``x`` given: counted in a traced pass) gets one copy per call."""
    nonlinear = _deeplift_layer_types()[0]
    calls = _calls_per_module(model, x) if x is not None else {}
    per_call = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) in nonlinear:
                n = calls.get(id(child), 1)
                if n > 1:
                    wrapped = _PerCall(child, n)
                    per_call.append(wrapped)
                else:
                    wrapped = nn.Sequential(child, _Fresh())
                setattr(parent, name, wrapped)
    if per_call:

        def restart(_m, _inp):
            for w in per_call:
                w.next = 0

        model.register_forward_pre_hook(restart)
    return model


def _deeplift(model, x, target, baseline_kind="black"):
    from captum.attr import DeepLift

    _check_deeplift(model)
    base = baseline(x, baseline_kind)
    work = _separate_nonlinear(copy.deepcopy(model), x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "setting hooks on non-linear activations": on our own copy
        attr, delta = DeepLift(work).attribute(x, baselines=base, target=target, return_convergence_delta=True)
    with torch.no_grad():
        diff = float(model(x)[0, target] - model(base)[0, target])
    return attr, {
        "attribution_sum": float(attr.detach().sum()),
        "output_difference": diff,
        "completeness_delta": float(delta.abs().sum()),
    }


SHAP_REFERENCES = ("mixed", "black", "blurred", "noise")
_NOISE_REFERENCES = 8


def shap_references(x: torch.Tensor, kind: str) -> torch.Tensor:
    """The reference images GradientSHAP draws from, (R, C, H, W) for ``x`` (1, C, H, W): "mixed" = black,
    blurred and uniform noise; "noise" = 8 uniform-noise images; "black" / "blurred" = that one image."""
    if kind == "mixed":
        return torch.cat([baseline(x, "black"), baseline(x, "blurred"), baseline(x, "noise")])
    if kind == "noise":
        return torch.cat([baseline(x, "noise", seed=s) for s in range(_NOISE_REFERENCES)])
    return baseline(x, kind)


def _gradient_shap(model, x, target, references="mixed", samples=50, noise=0.1):
    """GradientSHAP (Lundberg & Lee 2017; Captum's estimator): for each sample draw a reference b, a
    noisy copy x' = x + N(0, sigma) and a point z = b + a (x' - b), a ~ U(0, 1); the map is the mean of
    grad f(z) * (x' - b). Its expectation sums to E[f(x')] - E[f(b)], so the numbers in ``extra`` are
    an expected-value check, not an exact one."""
    g = torch.Generator(device="cpu").manual_seed(_SEED)
    refs = shap_references(x, references)  # (R, C, H, W)
    pick = torch.randint(len(refs), (samples,), generator=g)
    b = refs[pick]  # (S, C, H, W)
    xs = x.detach() + _noise_scale(x, noise) * _gaussian(b.shape, g, x)
    alpha = torch.rand((samples,) + (1,) * (x.dim() - 1), generator=g).to(x)
    grads = _gradients(model, b + alpha * (xs - b), target)
    attr = ((xs - b) * grads).mean(0, keepdim=True)
    with torch.no_grad():
        score = float(model(x)[0, target])
        expected = float(torch.cat([model(r) for r in refs.split(ROWS_PER_PASS)])[:, target].mean())
    s = float(attr.sum())
    return attr, {
        "attribution_sum": s,
        "score": score,
        "expected_reference_score": expected,
        "expected_difference": score - expected,
        "expectation_gap": s - (score - expected),
    }


_NOISE_HELP = "Spread of the random noise added to the image, as a fraction of its brightness range."

register(
    Method(
        "smoothgrad",
        "SmoothGrad",
        _smoothgrad,
        {
            "base": Setting(
                "saliency",
                choices=("saliency", "input_x_gradient", "integrated_gradients"),
                title="Method to smooth",
                help="The gradient map that is averaged over the noisy copies.",
            ),
            "samples": Setting(
                20,
                1,
                200,
                title="Noisy copies",
                help="How many noisy copies of the image to average; more copies, a smoother map, slower.",
            ),
            "noise": Setting(0.15, 0.0, 1.0, title="Noise level", help=_NOISE_HELP),
            "average": Setting(
                "plain",
                choices=("plain", "squared"),
                title="Averaging",
                help="Plain: the mean of the maps. Squared: the mean of their squares (strength only, no sign).",
            ),
            "steps": Setting(
                10,
                2,
                200,
                title="Steps (Integrated Gradients)",
                help="Only used when the method to smooth is Integrated Gradients: points on "
                "the path for each noisy copy.",
            ),
            "baseline_kind": Setting(
                "black",
                choices=BASELINES,
                title="Baseline (Integrated Gradients)",
                help="Only used when the method to smooth is Integrated Gradients: "
                "the 'nothing' image the input is compared with.",
            ),
        },
        blurb="Averages a gradient map over many slightly noisy copies of the image, so the speckle "
        "cancels out and the shape stays.",
        signed=False,
        signed_when=lambda s: s["average"] != "squared" and s["base"] != "saliency",
    )
)
register(
    Method(
        "deeplift",
        "DeepLift",
        _deeplift,
        {
            "baseline_kind": Setting(
                "black", choices=BASELINES, title="Baseline", help="The 'nothing' image the input is compared with."
            )
        },
        blurb="Compares every neuron with its value on a blank image and shares the change in the score "
        "out to the pixels; the parts sum to the change in the score.",
    )
)
register(
    Method(
        "gradient_shap",
        "GradientSHAP",
        _gradient_shap,
        {
            "references": Setting(
                "mixed",
                choices=SHAP_REFERENCES,
                title="Reference images",
                help="The 'nothing' images the input is compared with, one drawn at "
                "random for each sample. Mixed: black, blurred and noise.",
            ),
            "samples": Setting(
                50,
                1,
                500,
                title="Samples",
                help="How many random references and path points to average; more samples, a steadier map, slower.",
            ),
            "noise": Setting(0.1, 0.0, 1.0, title="Noise level", help=_NOISE_HELP),
        },
        blurb="Each pixel's fair share of the score, estimated from gradients between the image and "
        "many random reference images (black, blurred, noise).",
    )
)
