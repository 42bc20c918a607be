"""The attribution registry and its one verb, ``attribute(model, x, target, method, **settings)``.

Each method lives in a module of this package (``methods`` for the gradient family, ``cam`` for
Grad-CAM, ``perturb`` for occlusion and SHAP-style methods) and registers a :class:`Method` here.
Every call runs on a private copy of the model, so the user's model keeps its weights, hooks, mode
and ``requires_grad`` flags (Captum adds hooks; DeepLift and SHAP switch modes). No streamlit here.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from dlviz.errors import ExplainError


@dataclass(frozen=True)
class Setting:
    """One setting of a method: a default and either a numeric range or a list of choices."""

    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None  # allowed values (strings); None = numeric or free
    title: str = ""  # translatable English label for the UI
    help: str = ""  # translatable one-line explanation

    def check(self, method_title: str, name: str, value):
        if self.choices is not None:
            if value not in self.choices:
                raise ExplainError(
                    "{method}: {name} must be one of {choices}, not {value}.",
                    method=method_title,
                    name=name,
                    choices=", ".join(map(str, self.choices)),
                    value=value,
                )
            return value
        if self.lo is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (self.lo <= value <= self.hi):
                raise ExplainError(
                    "{method}: {name} must be between {lo} and {hi}, not {value}.",
                    method=method_title,
                    name=name,
                    lo=self.lo,
                    hi=self.hi,
                    value=value,
                )
            return type(self.default)(value) if isinstance(self.default, (int, float)) else value
        return value


@dataclass(frozen=True)
class Method:
    key: str
    title: str  # translatable English, e.g. "Integrated Gradients"
    run: Callable  # (model, xb (1, C, H, W) requiring grad, target, **settings) -> (map like xb, extra)
    settings: dict = field(default_factory=dict)  # name -> Setting
    family: str = "gradient"  # "gradient" | "cam" | "perturbation"
    blurb: str = ""  # translatable one sentence: what it measures, in plain words
    needs_conv: bool = False  # Grad-CAM and friends need a conv layer
    signed: bool = True  # False: the map is >= 0 by construction (|gradient|, Grad-CAM)
    signed_when: Callable | None = None  # settings -> bool, where a setting decides (Saliency's "absolute")

    def is_signed(self, settings: dict | None = None) -> bool:
        """Whether this method's map is signed (for / against) with these settings (defaults filled in)."""
        if self.signed_when is None:
            return bool(self.signed)
        full = {name: s.default for name, s in self.settings.items()}
        full.update(settings or {})
        return bool(self.signed_when(full))


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    if method.key in METHODS:
        raise ValueError(f"method {method.key!r} registered twice")
    for name, s in method.settings.items():
        if not isinstance(s, Setting):
            raise TypeError(f"{method.key}.{name}: settings must be Setting objects")
    METHODS[method.key] = method
    return method


@dataclass
class Attribution:
    method: str
    target: int
    map: torch.Tensor  # shaped like the input (without the batch dimension), detached CPU float32
    seconds: float
    extra: dict  # method-specific numbers (IG: attribution_sum, output_difference, completeness_delta)
    contrast: int | None = None  # "why target and not contrast?": the map explains score[target] - score[contrast]
    settings: dict = field(default_factory=dict)  # the settings actually used (defaults filled in)
    signed: bool = True  # False: the map is >= 0 by construction and says how much, not which way

    @property
    def empty(self) -> bool:
        """True when the map is zero everywhere (e.g. a blank image against a black baseline)."""
        return bool(self.map.abs().max() <= 1e-12)


class Contrast(nn.Module):
    """Wraps a classifier so that column ``a`` of its output is ``score[a] - score[b]``.

    Attributing class ``a`` of this wrapper answers "why a and not b?" with any method; the other
    columns are unchanged, so softmax-free methods see plain logits. ``inner`` keeps the layer names
    (find them with :func:`find_layer`).
    """

    def __init__(self, inner: nn.Module, a: int, b: int):
        super().__init__()
        self.inner, self.a, self.b = inner, int(a), int(b)

    def forward(self, x):
        out = self.inner(x)  # (B, K)
        diff = out[:, self.a] - out[:, self.b]
        return torch.cat([out[:, : self.a], diff[:, None], out[:, self.a + 1 :]], dim=1)


def unwrap(model: nn.Module) -> nn.Module:
    return model.inner if isinstance(model, Contrast) else model


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (e.g. "conv2d_2") of ``model`` or of the model a Contrast wraps."""
    named = dict(unwrap(model).named_modules())
    if name not in named or name == "":
        raise ExplainError("This model has no layer called '{name}'.", name=name)
    return named[name]


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the 2-D convolution layers, input to output (Grad-CAM can use any of them)."""
    return [n for n, m in unwrap(model).named_modules() if isinstance(m, nn.Conv2d)]


def check_settings(method: str, settings: dict) -> dict:
    """Validate ``settings`` for ``method`` and return them with the defaults filled in."""
    if method not in METHODS:
        raise ExplainError(
            "Unknown explanation method '{name}'. Choose one of: {known}.", name=method, known=", ".join(METHODS)
        )
    m = METHODS[method]
    out = {}
    for name, value in settings.items():
        if name not in m.settings:
            raise ExplainError("{method} has no setting '{name}'.", method=m.title, name=name)
        out[name] = m.settings[name].check(m.title, name, value)
    for name, s in m.settings.items():
        out.setdefault(name, s.default)
    return out


def private_copy(model: nn.Module) -> nn.Module:
    """An eval-mode deep copy whose parameters need no gradient (only the input's gradient is wanted)."""
    private = copy.deepcopy(model).eval()
    for p in private.parameters():
        p.requires_grad_(False)
    return private


def attribute(
    model: nn.Module, x: torch.Tensor, target: int, method: str, contrast: int | None = None, **settings
) -> Attribution:
    """Attribute class ``target``'s score for the single input ``x`` (e.g. (1, 28, 28)) with ``method``.

    ``contrast=b`` explains ``score[target] - score[b]`` instead ("why target and not b?").
    """
    settings = check_settings(method, settings)
    m = METHODS[method]
    import captum.attr  # noqa: F401  (0.5-1 s once per process, at start-up when warm_up ran: not in the timing)

    # the time a user waits: the private copy, the checks and the method (issue 12: it left out the copy)
    t0 = time.perf_counter()
    private = private_copy(model)
    device = next(private.parameters()).device
    xb = x.detach().to(device).unsqueeze(0).float()
    with torch.no_grad():
        k = private(xb).shape[1]
    for c in (target,) if contrast is None else (target, contrast):
        if isinstance(c, bool) or not isinstance(c, int) or not (0 <= c < k):
            raise ExplainError(
                "Class {target} does not exist: this model has classes 0 to {last}.", target=c, last=k - 1
            )
    if contrast is not None:
        if contrast == target:
            raise ExplainError("Pick two different classes to contrast, not {target} twice.", target=target)
        private = Contrast(private, target, contrast)
    if m.needs_conv and not conv_layers(private):
        raise ExplainError(
            "{method} needs a convolution layer, and this model has none: it looks at where a "
            "conv layer's feature maps fire. Try a gradient method instead.",
            method=m.title,
        )
    amap, extra = m.run(private, xb.requires_grad_(True), int(target), **settings)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    amap = amap.detach()
    if amap.shape != xb.shape:
        raise RuntimeError(f"{method} returned {tuple(amap.shape)}, expected {tuple(xb.shape)}")
    return Attribution(
        method, int(target), amap[0].float().cpu(), seconds, extra, contrast, settings, m.is_signed(settings)
    )
