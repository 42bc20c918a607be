"""The CAM family: Grad-CAM (Selvaraju et al. 2017) on any conv layer, and Guided Grad-CAM.

Grad-CAM weighs a conv layer's feature maps by how much the class score rises with each map
(its gradient, averaged over the map), adds them up and keeps the positive part: a coarse map
(7x7 to 28x28 on MNIST models) of where that layer found evidence *for* the class.

The coarse map is placed on the input by bilinear interpolation **aligned to the receptive-field
centres** of the layer's cells: with unpadded convolutions and pooling, cell ``j`` of the last conv
layer of the CNN preset looks at input pixel ``2j + 3.5``, not at ``j * 28/11``; a plain stretch
would shift the heat by up to 3 pixels towards the borders (off the strokes). The geometry is read
from dlviz's layers (Conv2d, pooling, residual blocks, element-wise layers); for anything else the
map is stretched to the input size as Captum and pytorch-grad-cam do (``extra["aligned"]`` says
which).

Guided Grad-CAM multiplies Grad-CAM by guided backpropagation (the input gradient where every ReLU
passes back only positive gradients, Springenberg et al. 2015): fine detail inside the coarse region.
Guided backpropagation changes the ReLUs' backward pass only on the private copy, through forward
hooks that are removed in ``finally``. No streamlit here.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from dlviz.errors import ExplainError
from dlviz.explain.registry import Method, Setting, conv_layers, register, unwrap
from dlviz.i18n import N_
from dlviz.models.layers import ResidualBlock

GRAD_CAM = N_("Grad-CAM")
GUIDED_GRAD_CAM = N_("Guided Grad-CAM")

# the main path of a residual block, input to output (the shortcut runs beside it)
_RESIDUAL_MAIN = ("conv1", "bn1", "relu1", "conv2", "bn2")


# --------------------------------------------------------------------------- the real order: a traced forward pass
class Call:
    """One call of a leaf module in a traced forward pass: which module, its k-th call, what went in and out."""

    __slots__ = ("name", "module", "k", "inputs", "output")

    def __init__(self, name, module, k, inputs, output):
        self.name, self.module, self.k, self.inputs, self.output = name, module, k, inputs, output


@torch.no_grad()
def trace_calls(model: nn.Module, x: torch.Tensor) -> list[Call]:
    """Every call of every leaf module (no children) of ``model`` in one forward pass of ``x`` (B, C, H, W), in
    the order they ran, found with forward hooks (removed in ``finally``). Registration order says nothing about
    a custom ``forward``: a module may run twice (a reused ReLU or Dropout) or out of the order it was defined."""
    root = unwrap(model)
    calls: list[Call] = []
    counts: dict[int, int] = {}

    def hook_for(name):
        def hook(m, inp, out):
            k = counts.get(id(m), 0)
            counts[id(m)] = k + 1
            calls.append(Call(name, m, k, tuple(i for i in inp if isinstance(i, torch.Tensor)), out))

        return hook

    handles = [
        m.register_forward_hook(hook_for(n)) for n, m in root.named_modules() if n and next(m.children(), None) is None
    ]
    try:
        model(x.detach())
    finally:
        for h in handles:
            h.remove()
    return calls


def _trace_input(model: nn.Module, x: torch.Tensor | None) -> torch.Tensor | None:
    if x is None:
        return None
    return x.detach()[:1]


# --------------------------------------------------------------------------- layers
def default_layer(model: nn.Module, x: torch.Tensor | None = None) -> str:
    """The conv layer Grad-CAM uses by default: the last one on the way to the output.

    With an input ``x`` the order is the one a traced forward pass ran (a custom ``forward`` may run its
    layers in any order); without, the order they were registered in. A residual block's shortcut
    projection (``residual_3.shortcut.0``, a 1x1 conv that only reshapes the block's input) is passed over
    for the block's last main-path conv (``residual_3.conv2``).
    """
    names = conv_layers(model)
    xb = _trace_input(model, x)
    if xb is not None:
        ran = [c.name for c in trace_calls(model, xb) if isinstance(c.module, nn.Conv2d)]
        if ran:
            names = list(dict.fromkeys(reversed(ran)))[::-1]  # each once, in the order of its last call
    main = [n for n in names if "shortcut" not in n.split(".")]
    return (main or names)[-1]


def resolve_layer(model: nn.Module, layer, method: str = GRAD_CAM, x: torch.Tensor | None = None) -> str:
    """``layer`` checked against the model's conv layers; "" means :func:`default_layer` (traced with ``x``)."""
    names = conv_layers(model)
    if layer == "" or layer is None:
        return default_layer(model, x)
    if not isinstance(layer, str) or layer not in names:
        raise ExplainError(
            "{method}: this model has no convolution layer called '{name}'. Choose one of: {known}.",
            method=method,
            name=layer,
            known=", ".join(names),
        )
    return layer


@contextmanager
def _layer_output(module: nn.Module, call: int | None = None) -> Iterator[list]:
    """Keeps ``module``'s output (still in the graph) while the block runs; the hook goes in ``finally``.
    ``call``: keep only the output of that call (0-based) of a module that runs more than once."""
    kept: list = []
    seen = [0]

    def hook(_m, _inp, out):
        k = seen[0]
        seen[0] += 1
        if call is not None and k != call:
            return None
        kept.append(out)
        # the next layers get a copy, so an in-place op after the layer cannot overwrite what we keep
        return out.clone()

    handle = module.register_forward_hook(hook)
    try:
        yield kept
    finally:
        handle.remove()


# --------------------------------------------------------------------------- geometry
def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _window(k, s, p, d) -> tuple:
    """Per axis (scale, offset): output cell j looks at input position scale * j + offset (its centre)."""
    k, s, d = _pair(k), _pair(s if s is not None else k), _pair(d)
    if isinstance(p, str):  # Conv2d(padding="same" | "valid")
        p = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d)) if p == "same" else (0, 0)
    p = _pair(p)
    return tuple((float(s[i]), -float(p[i]) + d[i] * (k[i] - 1) / 2) for i in range(2))


_IDENTITY = ((1.0, 0.0), (1.0, 0.0))
_POINTWISE = (
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.modules.batchnorm._BatchNorm,
    nn.ReLU,
    nn.LeakyReLU,
    nn.GELU,
    nn.Sigmoid,
    nn.Tanh,
    nn.ELU,
    nn.SiLU,
    nn.Softplus,
    nn.Hardtanh,
)


def _compose(first, then):
    """Geometry of ``first`` followed by ``then`` (both per-axis (scale, offset))."""
    return tuple((s1 * s2, s1 * o2 + o1) for (s1, o1), (s2, o2) in zip(first, then))


def _geometry(m: nn.Module):
    """(scale, offset) per axis of one whole module, or None when it is not known."""
    if isinstance(m, nn.Conv2d):
        return _window(m.kernel_size, m.stride, m.padding, m.dilation)
    if isinstance(m, nn.MaxPool2d):
        return _window(m.kernel_size, m.stride, m.padding, m.dilation)
    if isinstance(m, nn.AvgPool2d):
        return _window(m.kernel_size, m.stride, m.padding, 1)
    if isinstance(m, _POINTWISE):
        return _IDENTITY
    if isinstance(m, ResidualBlock):
        return _chain([getattr(m, n) for n in _RESIDUAL_MAIN])
    if isinstance(m, nn.Sequential):
        return _chain(list(m))
    return None


def _chain(modules):
    g = _IDENTITY
    for m in modules:
        mg = _geometry(m)
        if mg is None:
            return None
        g = _compose(g, mg)
    return g


def _path_to(root: nn.Module, parts: list[str]):
    """The modules the input passes through up to and including the layer at ``parts``, or None."""
    if not parts:
        return [root]
    head, rest = parts[0], parts[1:]
    children = dict(root.named_children())
    if head not in children:
        return None
    if isinstance(root, nn.Sequential):
        names = list(children)
        before = [children[n] for n in names[: names.index(head)]]
    elif isinstance(root, ResidualBlock):
        if head == "shortcut":
            before = []
        elif head in _RESIDUAL_MAIN:
            before = [getattr(root, n) for n in _RESIDUAL_MAIN[: _RESIDUAL_MAIN.index(head)]]
        else:
            return None
    else:
        return None
    inner = _path_to(children[head], rest)
    return None if inner is None else before + inner


def layer_geometry(model: nn.Module, name: str):
    """Per axis (scale, offset) mapping cell ``j`` of layer ``name``'s output to the input pixel at the
    centre of what it sees (``scale * j + offset``); None for layers whose geometry is not known."""
    path = _path_to(unwrap(model), name.split("."))
    return None if path is None else _chain(path)


def upsample(cam: torch.Tensor, size: tuple, geometry=None) -> torch.Tensor:
    """Bilinear upsampling of ``cam`` (1, 1, h, w) to ``size`` (H, W).

    With ``geometry`` (from :func:`layer_geometry`) each cell lands on its receptive-field centre, and
    beyond the outermost centres the map fades to zero over one cell's spacing (no cell is centred
    there; a constant plateau would claim full evidence up to the image's edge). Without it the map
    is stretched over the input, edges continued (the same as ``F.interpolate(align_corners=False)``).
    """
    h, w = cam.shape[-2:]
    H, W = size
    padding = "zeros"
    if geometry is None:
        geometry, padding = ((H / h, (H / h - 1) / 2), (W / w, (W / w - 1) / 2)), "border"
    coords = []
    for n_out, n_cells, (scale, offset) in ((H, h, geometry[0]), (W, w, geometry[1])):
        j = (torch.arange(n_out, dtype=cam.dtype, device=cam.device) - offset) / scale  # in cell units
        coords.append(j * (2 / (n_cells - 1)) - 1 if n_cells > 1 else torch.zeros_like(j))
    gy, gx = torch.meshgrid(coords[0], coords[1], indexing="ij")
    grid = torch.stack([gx, gy], dim=-1)[None]  # (1, H, W, 2)
    return F.grid_sample(cam, grid, mode="bilinear", padding_mode=padding, align_corners=True)


# --------------------------------------------------------------------------- Grad-CAM
_ELEMENTWISE = (
    nn.BatchNorm2d,
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Dropout,
    nn.Dropout2d,
)


def traced_feature(
    model: nn.Module, name: str, x: torch.Tensor, method: str = GRAD_CAM
) -> tuple[nn.Module, str, int, int]:
    """(module, its name, which of its calls, how often the conv ran) whose output Grad-CAM weighs for conv
    layer ``name``, found in a traced forward pass of ``x``: the conv's LAST call, then every element-wise
    layer (normalisation, activation, dropout) that took the previous output directly, in the order they ran.
    A reused module (one ReLU or Dropout called in several places) is followed only at the call that took this
    conv's maps. A residual block of dlviz's own ends at the block's output (its ReLU comes after the add)."""
    root = unwrap(model)
    parts = name.split(".")
    parent = root
    for p in parts[:-1]:
        parent = getattr(parent, p)
    calls = trace_calls(model, _trace_input(model, x))
    conv = [i for i, c in enumerate(calls) if c.name == name]
    if not conv:
        raise ExplainError(
            "{method}: the layer '{name}' did not run for this input, so it has nothing to show.",
            method=method,
            name=name,
        )
    if isinstance(parent, ResidualBlock) and parts[-1] == _RESIDUAL_MAIN[3]:  # conv2: bn2, + shortcut, ReLU
        label = ".".join(parts[:-1])
        return parent, label, 0, len(conv)
    i = conv[-1]
    chosen, label, k, current = calls[i].module, name, calls[i].k, calls[i].output
    for c in calls[i + 1 :]:
        if not any(t is current for t in c.inputs):
            continue  # another branch of the network: not this conv's maps
        if not isinstance(c.module, _ELEMENTWISE):
            break  # the maps go on into a layer that changes them (pooling, conv)
        chosen, label, k, current = c.module, c.name, c.k, c.output
    return chosen, label, k, len(conv)


def feature_module(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The module whose output Grad-CAM weighs for conv layer ``name``: the conv's feature maps after the
    normalisation and activation that directly follow it (Selvaraju et al. 2017 use the rectified maps
    of the last conv block). Weighing the raw conv output instead lets the activation's zeroed negatives
    cancel the evidence: on a trained CNN the CAM of ``conv2d_2`` was empty for a 7 the model was sure
    of, and that of ``relu_2`` lit the stroke. A residual block's main-path conv maps to the block's
    output (its ReLU comes after the shortcut is added). The grid is the conv's, so geometry is unchanged.
    """
    root = unwrap(model)
    parts = name.split(".")
    parent = root
    for p in parts[:-1]:
        parent = getattr(parent, p)
    if parent is not root and parts[-1] == _RESIDUAL_MAIN[3]:  # conv2: bn2, + shortcut, ReLU
        return parent, ".".join(parts[:-1])
    children = list(parent.named_children())
    names = [n for n, _ in children]
    i = names.index(parts[-1])
    chosen, label = children[i][1], name
    for n, m in children[i + 1 :]:
        if not isinstance(m, _ELEMENTWISE):
            break
        chosen, label = m, ".".join(parts[:-1] + [n])
    return chosen, label


def cam_native(model: nn.Module, x: torch.Tensor, target: int, name: str, method: str = GRAD_CAM) -> torch.Tensor:
    """Grad-CAM of ``target`` at conv layer ``name`` at the layer's own resolution: (1, 1, h, w), >= 0.

    The maps weighed are found in a traced forward pass (:func:`traced_feature`); a conv that runs several
    times (shared weights) is explained at its last call, the one closest to the output."""
    if not x.requires_grad:  # frozen parameters: the layer's output is in the graph only through x
        x = x.detach().requires_grad_(True)
    module, _, call, _ = traced_feature(model, name, x, method)
    with _layer_output(module, call) as kept:
        out = model(x)
    if len(kept) != 1:  # the model ran differently the second time (randomness in forward)
        raise ExplainError(
            "{method}: layer '{name}' ran differently in two passes over the same input; its "
            "maps cannot be picked out.",
            method=method,
            name=name,
        )
    act = kept[0]
    (grad,) = torch.autograd.grad(out[0, target], act, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(act)
    weights = grad.mean(dim=(2, 3), keepdim=True)  # one weight per feature map
    return torch.relu((weights * act).sum(dim=1, keepdim=True)).detach()  # (1, 1, h, w)


def grad_cam(model: nn.Module, x: torch.Tensor, target: int, layer: str = "", method: str = GRAD_CAM):
    """Grad-CAM of ``target`` at conv layer ``layer`` ("" = the last), upsampled to the input.

    Returns (map (1, 1, H, W) >= 0, extra): the layer used, whether it is the last conv layer, the
    CAM's own resolution ("coarse: 11x11 map enlarged"), whether it was aligned, and its raw maximum.
    """
    name = resolve_layer(model, layer, method, x)
    cam = cam_native(model, x, target, name, method)
    geometry = layer_geometry(model, name)
    amap = upsample(cam, tuple(x.shape[-2:]), geometry)
    h, w = cam.shape[-2:]
    _, after, _, runs = traced_feature(model, name, x, method)
    extra = {
        "layer": name,
        "maps_after": after,
        "last_conv": name == default_layer(model, x),
        "cam_height": int(h),
        "cam_width": int(w),
        "aligned": geometry is not None,
        "cam_max": float(cam.max()),
        "conv_calls": runs,
    }
    return amap, extra


def _grad_cam(model, x, target, layer=""):
    amap, extra = grad_cam(model, x, target, layer, GRAD_CAM)
    return amap.expand(-1, x.shape[1], -1, -1).clone(), extra


# --------------------------------------------------------------------------- guided backpropagation
class _GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward passes a gradient only where the input was positive AND the gradient is."""

    @staticmethod
    def forward(ctx, inp):
        ctx.save_for_backward(inp)
        return inp.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (inp,) = ctx.saved_tensors
        return grad.clamp(min=0) * (inp > 0).to(grad.dtype)


@contextmanager
def _guided(model: nn.Module) -> Iterator[int]:
    """Every ``nn.ReLU`` of ``model`` backpropagates the guided way while the block runs (yields their number)."""

    def hook(_m, inp, _out):
        return _GuidedReLU.apply(inp[0])

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        yield len(handles)
    finally:
        for h in handles:
            h.remove()


def guided_backprop(model: nn.Module, x: torch.Tensor, target: int) -> tuple[torch.Tensor, int]:
    """The guided-backpropagation gradient of ``target`` w.r.t. ``x``, and how many ReLUs were guided."""
    xg = x.detach().requires_grad_(True)
    with _guided(model) as n:
        out = model(xg)
    (grad,) = torch.autograd.grad(out[0, target], xg)
    return grad.detach(), n


def _guided_grad_cam(model, x, target, layer=""):
    cam, extra = grad_cam(model, x, target, layer, GUIDED_GRAD_CAM)
    guided, n = guided_backprop(model, x, target)
    extra["guided_relus"] = n  # 0: no ReLU to guide, so the guided part is the plain gradient
    return guided * cam, extra


# --------------------------------------------------------------------------- registration
def _layer_setting() -> Setting:
    return Setting(
        "",
        title=N_("Layer"),
        help=N_(
            "The convolution layer to look at; empty means the last one (coarse, but closest to "
            "the decision). Earlier layers give finer maps of simpler patterns."
        ),
    )


register(
    Method(
        "grad_cam",
        GRAD_CAM,
        _grad_cam,
        {"layer": _layer_setting()},
        family="cam",
        needs_conv=True,
        signed=False,
        blurb=N_(
            "Where a convolution layer found evidence for the class: its feature maps, weighted by "
            "how much each one raises the score; coarse, then enlarged to the image."
        ),
    )
)
register(
    Method(
        "guided_grad_cam",
        GUIDED_GRAD_CAM,
        _guided_grad_cam,
        {"layer": _layer_setting()},
        family="cam",
        needs_conv=True,
        signed=True,
        blurb=N_(
            "Grad-CAM's region sharpened to pixel detail: the fine gradient picture, kept only where "
            "Grad-CAM found evidence."
        ),
    )
)
