"""The one explanation registry and its verb, ``explain(model, x, target, method, **settings)``.

Each method lives in a module of this package (``methods`` for the gradient family, ``cam`` for
Grad-CAM, ``perturb`` for occlusion and SHAP-style methods, ``text`` for the methods over a sentence's
words) and registers a :class:`Method` here, declaring the inputs it reads (:data:`INPUTS`: an image, or a
sentence's token ids; the same names as :attr:`dlviz.modality.Modality.view`, so a page asks its modality
which methods apply: ``methods_for(modality.view)``). Each kind of input has one verb that runs a method
on it (:func:`attribute` for images, :func:`dlviz.explain.text.attribute_text` for token ids);
:func:`explain` picks it.
Every call runs on a private copy of the model, so the user's model keeps its weights, hooks, mode
and ``requires_grad`` flags (Captum adds hooks; DeepLift and SHAP switch modes). No streamlit here.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from dlviz.errors import ExplainError
from dlviz.setting import Setting, check_all


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
    inputs: str = "image"  # what it reads: one of INPUTS ("image": (C, H, W) floats; "tokens": (L,) token ids)

    def is_signed(self, settings: dict | None = None) -> bool:
        """Whether this method's map is signed (for / against) with these settings (defaults filled in)."""
        if self.signed_when is None:
            return bool(self.signed)
        full = {name: s.default for name, s in self.settings.items()}
        full.update(settings or {})
        return bool(self.signed_when(full))


def path_steps(help: str) -> Setting:
    """Integrated Gradients' "steps": points on the path from the baseline to the input (``help`` names the input)."""
    return Setting(50, 2, 500, title="Steps", help=help)


INPUTS = ("image", "tokens")  # the inputs a method may read; a modality's ``view`` names one of them
REGISTRY: dict[str, dict[str, Method]] = {inputs: {} for inputs in INPUTS}  # inputs -> key -> method, in order
METHODS = REGISTRY["image"]  # the methods that read an image (the same dict, for the many image callers)
_VERBS: dict[str, Callable] = {}  # inputs -> the function that runs a method on such an input


def register(method: Method) -> Method:
    if method.inputs not in REGISTRY:
        raise ValueError(f"method {method.key!r}: inputs must be one of {INPUTS}, not {method.inputs!r}")
    shelf = REGISTRY[method.inputs]
    if method.key in shelf:
        raise ValueError(f"method {method.key!r} registered twice for {method.inputs}")
    for name, s in method.settings.items():
        if not isinstance(s, Setting):
            raise TypeError(f"{method.key}.{name}: settings must be Setting objects")
    shelf[method.key] = method
    return method


def register_verb(inputs: str, verb: Callable) -> None:
    """``verb(model, x, target, method, contrast=None, **settings)`` runs a method on an input of kind ``inputs``."""
    _VERBS[inputs] = verb


def methods_for(inputs: str) -> dict[str, Method]:
    """The methods that read ``inputs`` ("image" or "tokens": a modality's ``view``), by key, in the order users
    see them."""
    if inputs not in REGISTRY:
        raise ExplainError("No explanation method reads {inputs}.", inputs=inputs)
    return REGISTRY[inputs]


def inputs_of(x: torch.Tensor) -> str:
    """What kind of input ``x`` is: floats are an image, integers a sentence's token ids."""
    return "image" if torch.is_floating_point(torch.as_tensor(x)) else "tokens"


def explain(
    model: nn.Module, x, target: int, method: str, contrast: int | None = None, inputs: str | None = None, **kw
):
    """Run ``method`` on ``x`` with the verb of its inputs (told by ``inputs``, else by ``x``'s dtype): an
    :class:`Attribution` for an image, a :class:`dlviz.explain.text.TextAttribution` for token ids."""
    inputs = inputs or inputs_of(x)
    if inputs not in _VERBS:
        raise ExplainError("No explanation method reads {inputs}.", inputs=inputs)
    return _VERBS[inputs](model, x, target, method, contrast=contrast, **kw)


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


def check_settings(method: str, settings: dict, inputs: str = "image") -> dict:
    """Validate ``settings`` for ``method`` (one that reads ``inputs``) and return them with the defaults filled in."""
    shelf = methods_for(inputs)
    if method not in shelf:
        raise ExplainError(
            "Unknown explanation method '{name}'. Choose one of: {known}.", name=method, known=", ".join(shelf)
        )
    return check_all(shelf[method].title, shelf[method].settings, settings)


def aimed(model: nn.Module, k: int, target: int, contrast: int | None) -> nn.Module:
    """``model`` (with ``k`` classes) as the methods see it: ``target`` and ``contrast`` checked to be two
    different classes, and wrapped in :class:`Contrast` when there is a contrast ("why target and not
    contrast?"). Raises ExplainError with a plain message."""
    for c in (target,) if contrast is None else (target, contrast):
        if isinstance(c, bool) or not isinstance(c, int) or not (0 <= c < k):
            raise ExplainError(
                "Class {target} does not exist: this model has classes 0 to {last}.", target=c, last=k - 1
            )
    if contrast is None:
        return model
    if contrast == target:
        raise ExplainError("Pick two different classes to contrast, not {target} twice.", target=target)
    return Contrast(model, target, contrast)


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
    private = aimed(private, k, target, contrast)
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


register_verb("image", attribute)
