"""Int8 quantisation with ``torch.ao.quantization`` (eager mode, the CPU's x86 engine), and an int8 model's file.

A model dlviz built is an ``nn.Sequential`` of named layers. :func:`plan` says, layer by layer, what int8 does to it:

- *static* (weights AND activations in int8, the activations' ranges measured on a few hundred training images,
  "calibration"): a model with convolutions runs every stretch of layers that eager mode can run on int8 tensors
  (Conv, Dense, ReLU, MaxPool, Flatten, Dropout, BatchNorm) as int8, between a ``QuantStub`` that turns the float
  input into int8 and a ``DeQuantStub`` that turns the result back;
- *dynamic* (weights in int8, activations quantised on the fly at each call): every Dense, LSTM and GRU layer left
  in float (all of them in a model without convolutions);
- *float*: the rest, with the reason (a residual block adds two tensors, which eager int8 cannot do without
  rewriting the block; a plain RNN, an Embedding, a sigmoid ... have no int8 kernel here).

The int8 model is kept as safetensors (never a pickle): each int8 tensor as its integers plus its scale(s) and
zero point(s) (:func:`int8_tensors`); reading it rebuilds the same structure from the run's spec and loads them
back (:func:`load_int8`). :func:`dequantized_state` gives the float weights the int8 weights stand for (integer
times scale), under the float model's names: what the look-inside pages open for an int8 run.

``torch.ao.quantization`` warns (torch 2.10+) that it will move to ``torchao``; the calls still work on this
torch and the warning is silenced here only, around them.
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import torch
from torch import nn

from dlviz.i18n import N_

# layers eager int8 runs on int8 tensors (the default static mapping, plus the shape-only layers)
_STATIC_OK = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Linear,
    nn.ReLU,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.Flatten,
    nn.Dropout,
    nn.BatchNorm2d,
    nn.Identity,
)
_CONVS = (nn.Conv1d, nn.Conv2d)
_DYNAMIC = (nn.Linear, nn.LSTM, nn.GRU)
# words for the float layers: why each stays float (English; translated where shown)
FLOAT_REASONS = {
    "residual": N_("adds its input to its output, which eager int8 cannot do without rewriting the block"),
    "rnn": N_("a plain RNN has no int8 kernel (only LSTM and GRU do)"),
    "none": N_("has no weights and no int8 kernel here, so it runs in float between int8 layers"),
    "weights": N_("has no int8 kernel here, so it stays in float"),
}

STATIC, DYNAMIC, FLOAT = "static int8", "dynamic int8", "float"


@dataclass(frozen=True)
class LayerPlan:
    name: str  # the layer's name in the Sequential
    kind: str  # type(module).__name__
    how: str  # STATIC | DYNAMIC | FLOAT
    reason: str = ""  # for FLOAT: a FLOAT_REASONS key

    def to_dict(self) -> dict:
        return asdict(self)


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*")
        warnings.filterwarnings("ignore", message=".*must run observer before calling calculate_qparams.*")
        warnings.filterwarnings("ignore", message=".*reduce_range will be deprecated.*")
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        yield


def _engine() -> str:
    engines = torch.backends.quantized.supported_engines
    for name in ("x86", "fbgemm", "qnnpack"):
        if name in engines:
            return name
    raise RuntimeError("this PyTorch build has no int8 engine for the CPU")


def _has_weights(m: nn.Module) -> bool:
    return any(True for _ in m.parameters())


def plan(model: nn.Module) -> list[LayerPlan]:
    """What int8 does to each top-level layer of ``model`` (an ``nn.Sequential``), without changing it."""
    children = list(model.named_children())
    static = any(isinstance(m, _CONVS) for _, m in children)
    out = []
    for name, m in children:
        kind = type(m).__name__
        inner = [type(s) for s in m.modules()]
        if static and isinstance(m, _STATIC_OK):
            out.append(LayerPlan(name, kind, STATIC))
        elif isinstance(m, _DYNAMIC) or any(t in (nn.Linear, nn.LSTM, nn.GRU) for t in inner[:2]):
            out.append(LayerPlan(name, kind, DYNAMIC))
        elif nn.RNN in inner:
            out.append(LayerPlan(name, kind, FLOAT, "rnn"))
        elif sum(isinstance(s, _CONVS) for s in m.modules()) >= 2:
            out.append(LayerPlan(name, kind, FLOAT, "residual"))
        else:
            out.append(LayerPlan(name, kind, FLOAT, "weights" if _has_weights(m) else "none"))
    # a layer without weights (ReLU, Flatten) in float between two float layers is simply float; static layers
    # with no weighted static layer in their stretch gain nothing from int8 and go float too
    return _tidy(out, dict(children))


def _tidy(rows: list[LayerPlan], mods: dict[str, nn.Module]) -> list[LayerPlan]:
    out = list(rows)
    i = 0
    while i < len(out):
        if out[i].how != STATIC:
            i += 1
            continue
        j = i
        while j < len(out) and out[j].how == STATIC:
            j += 1
        if not any(_has_weights(mods[r.name]) for r in out[i:j]):
            for k in range(i, j):
                out[k] = LayerPlan(out[k].name, out[k].kind, FLOAT, "none")
        i = j
    return out


def _wrap(model: nn.Module, rows: list[LayerPlan]) -> nn.Sequential:
    """``model``'s layers under their own names, each static stretch between a QuantStub and a DeQuantStub."""
    from torch.ao.quantization import DeQuantStub, QuantStub, get_default_qconfig

    qconfig = get_default_qconfig(_engine())
    mods = dict(model.named_children())
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    inside, n = False, 0
    for r in rows:
        m = mods[r.name]
        if r.how == STATIC and not inside:
            n += 1
            stub = QuantStub()
            stub.qconfig = qconfig
            layers[f"quant_{n}"] = stub
            inside = True
        elif r.how != STATIC and inside:
            layers[f"dequant_{n}"] = _dequant(DeQuantStub(), qconfig)
            inside = False
        m.qconfig = qconfig if r.how == STATIC else None
        layers[r.name] = m
    if inside:
        layers[f"dequant_{n}"] = _dequant(DeQuantStub(), qconfig)
    return nn.Sequential(layers)


def _dequant(stub: nn.Module, qconfig) -> nn.Module:
    stub.qconfig = qconfig
    return stub


def quantize(model: nn.Module, calibration: torch.Tensor | None) -> tuple[nn.Module, list[LayerPlan]]:
    """An int8 copy of ``model`` (float, on the CPU; ``model`` itself is not changed) and its plan.
    ``calibration``: model inputs (a few hundred) that set the activations' int8 ranges of the static layers."""
    rows = plan(model)
    with _quiet():
        from torch.ao.quantization import convert, prepare, quantize_dynamic

        torch.backends.quantized.engine = _engine()
        q = copy.deepcopy(model).cpu().eval()
        if any(r.how == STATIC for r in rows):
            q = _wrap(q, rows).eval()
            prepare(q, inplace=True)
            with torch.no_grad():
                if calibration is not None and len(calibration):
                    for s in range(0, len(calibration), 256):
                        q(calibration[s : s + 256].cpu())
            convert(q, inplace=True)
        dyn = {r.name for r in rows if r.how == DYNAMIC}
        if dyn:
            # only the planned layers: a float layer's own Linear (a residual block's) stays float
            targets = {name: m for name, m in q.named_children() if name in dyn}
            for name, m in targets.items():
                # quantize_dynamic swaps a module's children, never the module itself: a Dense layer is wrapped
                box = quantize_dynamic(
                    nn.Sequential(OrderedDict(layer=m)), {nn.Linear, nn.LSTM, nn.GRU}, dtype=torch.qint8
                )
                setattr(q, name, box.layer)
    return q.eval(), rows


def skeleton(model: nn.Module, input_shape: tuple[int, ...]) -> nn.Module:
    """The int8 structure of ``model`` (inputs of ``input_shape``, no batch dimension) with placeholder numbers,
    to load a saved int8 model into."""
    q, _ = quantize(model, torch.zeros((1, *input_shape)))
    return q


# ---------------------------------------------------------------------------------------- the int8 file
def _put_q(out: dict[str, torch.Tensor], key: str, t: torch.Tensor) -> None:
    out[f"{key}@int"] = t.int_repr().contiguous()
    out[f"{key}@qdtype"] = torch.tensor([0 if t.dtype == torch.qint8 else 1], dtype=torch.uint8)
    if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        out[f"{key}@scale"] = torch.tensor([t.q_scale()], dtype=torch.float64)
        out[f"{key}@zp"] = torch.tensor([t.q_zero_point()], dtype=torch.int64)
    else:
        out[f"{key}@scales"] = t.q_per_channel_scales().to(torch.float64).contiguous()
        out[f"{key}@zps"] = t.q_per_channel_zero_points().to(torch.int64).contiguous()
        out[f"{key}@axis"] = torch.tensor([t.q_per_channel_axis()], dtype=torch.int64)


def _get_q(tensors: dict[str, torch.Tensor], key: str) -> torch.Tensor | None:
    if f"{key}@int" not in tensors:
        return tensors.get(key)  # a plain tensor, or None (a layer without a bias)
    ints = tensors[f"{key}@int"]
    qdtype = torch.qint8 if int(tensors[f"{key}@qdtype"][0]) == 0 else torch.quint8
    ints = ints.to(torch.int8 if qdtype == torch.qint8 else torch.uint8)
    if f"{key}@scale" in tensors:
        return torch._make_per_tensor_quantized_tensor(
            ints, float(tensors[f"{key}@scale"][0]), int(tensors[f"{key}@zp"][0])
        )
    return torch._make_per_channel_quantized_tensor(
        ints, tensors[f"{key}@scales"], tensors[f"{key}@zps"], int(tensors[f"{key}@axis"][0])
    )


def _put(out: dict[str, torch.Tensor], key: str, value) -> None:
    if value is None:
        return
    if isinstance(value, torch.Tensor):
        if value.is_quantized:
            _put_q(out, key, value)
        else:
            out[key] = value.detach().contiguous()


def _rnns(q: nn.Module) -> dict[str, nn.Module]:
    """The dynamic int8 LSTM/GRU layers of ``q`` by name (their cells are packed objects, not tensors)."""
    from torch.ao.nn.quantized.dynamic import GRU, LSTM

    return {name: m for name, m in q.named_modules() if isinstance(m, (LSTM, GRU))}


def int8_tensors(q: nn.Module) -> dict[str, torch.Tensor]:
    """Every number of int8 model ``q`` as plain tensors (int8 integers, their scales and zero points, float
    biases) for a safetensors file."""
    out: dict[str, torch.Tensor] = {}
    rnns = _rnns(q)
    for key, value in q.state_dict().items():
        if any(key.startswith(f"{name}.") for name in rnns):
            continue  # packed LSTM/GRU cells: written from their weights below
        if isinstance(value, tuple):  # a Linear's packed (weight, bias)
            for i, part in enumerate(value):
                _put(out, f"{key}.{i}", part)
        elif isinstance(value, torch.Tensor):
            _put(out, key, value)
    for name, m in rnns.items():
        wb = m._weight_bias()
        for group in ("weight", "bias"):
            for pname, t in wb[group].items():
                _put(out, f"{name}.@rnn.{pname}", t)
    return out


def load_int8(q: nn.Module, tensors: dict[str, torch.Tensor]) -> nn.Module:
    """Load :func:`int8_tensors`' output into skeleton ``q`` (the same structure). Raises ValueError when the
    file does not fit the structure."""
    rnns = _rnns(q)
    state = q.state_dict()
    new = OrderedDict()
    for key, value in state.items():
        if any(key.startswith(f"{name}.") for name in rnns):
            new[key] = value
        elif isinstance(value, tuple):
            parts = tuple(_get_q(tensors, f"{key}.{i}") for i in range(len(value)))
            if parts[0] is None:
                raise ValueError(f"the int8 file lacks {key}")
            new[key] = parts
        elif isinstance(value, torch.Tensor):
            got = _get_q(tensors, key)
            if got is None or tuple(got.shape) != tuple(value.shape):
                raise ValueError(f"the int8 file lacks {key} or has another shape")
            new[key] = got
        else:
            new[key] = value
    new._metadata = getattr(state, "_metadata", None)  # the layers' versions: how each reads its entries
    with _quiet():
        q.load_state_dict(new, strict=True)
        for name, m in rnns.items():
            prefix = f"{name}.@rnn."
            names = {k[len(prefix) :].split("@")[0] for k in tensors if k.startswith(prefix)}
            flat = {pn: _get_q(tensors, prefix + pn) for pn in names}
            if not flat:
                raise ValueError(f"the int8 file lacks the weights of {name}")
            m.set_weight_bias(flat)
    return q.eval()


def dequantized_state(float_model: nn.Module, q: nn.Module) -> dict[str, torch.Tensor]:
    """``float_model``'s state dict with the numbers int8 model ``q`` really uses: each int8 weight as its
    integer times its scale, under the float model's own names (what the look-inside pages load)."""
    out = {}
    rnns = _rnns(q)
    for key, value in float_model.state_dict().items():
        path, _, pname = key.rpartition(".")
        owner = _owner(q, path)
        got = None
        if path in rnns:
            wb = rnns[path]._weight_bias()
            got = wb["weight"].get(pname, wb["bias"].get(pname))
        elif owner is not None and pname in ("weight", "bias") and callable(getattr(owner, pname, None)):
            got = getattr(owner, pname)()
        elif owner is not None:
            got = owner.state_dict().get(pname)
        if isinstance(got, torch.Tensor) and got.is_quantized:
            got = got.dequantize()
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape):
            got = value  # not quantised: the float number itself
        out[key] = got.detach().to(value.dtype).clone()
    return out


def _owner(q: nn.Module, path: str) -> nn.Module | None:
    try:
        return q.get_submodule(path)
    except AttributeError:
        return None


__all__ = [
    "DYNAMIC",
    "FLOAT",
    "FLOAT_REASONS",
    "STATIC",
    "LayerPlan",
    "dequantized_state",
    "int8_tensors",
    "load_int8",
    "plan",
    "quantize",
    "skeleton",
]
