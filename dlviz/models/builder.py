"""Spec -> nn.Module, with every shape inferred by a dry forward pass.

A spec is a JSON object ``{"name": ..., "layers": [{"type": ..., <settings>}, ...]}`` (a bare list of
layers is accepted too). ``build`` validates it, builds the layers one at a time on the inferred
input shape and returns the module with a table of output shapes and parameter counts.
"""

from __future__ import annotations

import copy
import json
import re
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from dlviz.errors import SpecError
from dlviz.limits import Limits, fmt_bytes, limits
from dlviz.models.layers import LAYER_TYPES, MASKS_PADS, Reads, Shape, fmt_shape, layer_type

MAX_LAYERS = 64


@dataclass(frozen=True)
class LayerRow:
    name: str  # module name, e.g. "conv2d_1" (also the state_dict prefix)
    type: str  # registry key
    title: str
    label: str  # short text for diagrams, e.g. "Conv 32@3x3"
    output_shape: Shape
    params: int


@dataclass
class Built:
    module: nn.Sequential
    table: list[LayerRow]
    input_shape: Shape
    input_dtype: torch.dtype

    @property
    def params(self) -> int:
        return sum(r.params for r in self.table)


_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def parse_json(text: str | bytes, lim: Limits | None = None):
    """``json.loads(text)`` bounded first: its size and nesting depth against the server limits.

    A spec is three levels deep; JSON nested 100,000 deep would end in a RecursionError and an integer
    of 5,000 digits in a ValueError: every such input is a SpecError in one sentence instead.
    """
    lim = lim or limits()
    if len(text) > lim.json_bytes:
        raise SpecError(
            "This model spec is {size}; specs up to {most} are read. A model's JSON is usually "
            "under 5 KB: check that this is the right file.",
            size=fmt_bytes(len(text)),
            most=fmt_bytes(lim.json_bytes),
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SpecError("This file is not a text file. Choose a .json file exported from dlviz.") from None
    depth = most = 0
    for m in _JSON_BRACKETS.finditer(_JSON_STRINGS.sub("", text)):
        depth += 1 if m.group() in "[{" else -1
        most = max(most, depth)
    if most > lim.json_depth:
        raise SpecError(
            "This JSON is nested {depth} levels deep; a model spec needs 3 and at most {most} are read.",
            depth=f"{most:,}",
            most=lim.json_depth,
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(
            "This is not valid JSON: {detail} (line {line}, column {col}).", detail=e.msg, line=e.lineno, col=e.colno
        ) from None
    except (ValueError, RecursionError):  # Python reads integers of at most 4,300 digits
        raise SpecError(
            "This JSON holds a number too long to read (more than 4,300 digits). Settings are small numbers, like 128."
        ) from None


def normalize(spec) -> dict:
    """A validated deep copy of ``spec`` with every setting present and typed."""
    if isinstance(spec, (str, bytes)):
        spec = parse_json(spec)
    if isinstance(spec, list):
        spec = {"layers": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        raise SpecError(
            "A model spec must be a JSON object with a list named \"layers\", e.g. "
            "{{\"layers\": [{{\"type\": \"flatten\"}}, {{\"type\": \"dense\", \"units\": 10}}]}}."
        )
    layers = spec["layers"]
    if not layers:
        raise SpecError("The model has no layers. Add at least one layer, e.g. Flatten then Dense.")
    if len(layers) > MAX_LAYERS:
        raise SpecError("The model has {count} layers; at most {most} are allowed.", count=len(layers), most=MAX_LAYERS)
    out = {"name": str(spec.get("name") or "model"), "layers": []}
    if spec.get("task"):  # what the model is trained to do (dlviz.tasks); classification when absent
        out["task"] = str(spec["task"])
    for i, raw in enumerate(layers):
        if not isinstance(raw, dict) or "type" not in raw:
            raise SpecError(
                "Layer {n} must be an object with a \"type\", e.g. {{\"type\": \"relu\"}}.", layer=i, n=i + 1
            )
        lt = layer_type(raw["type"], i)
        layer = {"type": lt.key}
        known = {p.name for p in lt.params}
        unknown = sorted(set(raw) - known - {"type"})
        if unknown:
            raise SpecError(
                "Layer {n} ({title}) has unknown setting(s) {names}. Its settings are: {known}.",
                layer=i,
                n=i + 1,
                title=lt.title,
                names=", ".join(unknown),
                known=", ".join(sorted(known)) or "-",
            )
        for p in lt.params:
            layer[p.name] = _coerce(raw.get(p.name, p.default), p, i, lt.title)
        out["layers"].append(layer)
    return out


def _coerce(value, p, i, title):
    try:
        shown = repr(value)
    except ValueError:  # an int too long to print (Python refuses more than 4,300 digits)
        shown = "a number too long to read"
    where = dict(layer=i, n=i + 1, title=title, name=p.name, value=shown[:80])
    if p.kind == "bool":
        bad = SpecError("Layer {n} ({title}): setting '{name}' = {value} is not valid. Use true or false.", **where)
    elif p.kind == "choice":
        bad = SpecError(
            "Layer {n} ({title}): setting '{name}' = {value} is not valid. Use one of: {choices}.",
            choices=", ".join(map(str, p.choices)),
            **where,
        )
    elif p.kind == "int":
        bad = SpecError(
            "Layer {n} ({title}): setting '{name}' = {value} is not valid. Use a whole number from {lo:g} to {hi:g}.",
            lo=p.min,
            hi=p.max,
            **where,
        )
    else:
        bad = SpecError(
            "Layer {n} ({title}): setting '{name}' = {value} is not valid. Use a number from {lo:g} to {hi:g}.",
            lo=p.min,
            hi=p.max,
            **where,
        )
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if p.kind == "choice":
        if value not in p.choices:
            raise bad
        return value
    try:
        if isinstance(value, bool):
            raise bad
        v = int(value) if p.kind == "int" else float(value)
        if p.kind == "int" and float(value) != v:
            raise bad
    except (TypeError, ValueError, OverflowError):
        raise bad from None
    if v != v or (p.min is not None and v < p.min) or (p.max is not None and v > p.max):
        raise bad
    return v


def reads(spec) -> Reads:
    """What ``spec`` takes in, told by its first layer: token ids for a model that starts with an
    Embedding (``TOKEN_IDS``), else pixels (``PIXELS``). ``reads(spec).kind`` is the modality's name."""
    return LAYER_TYPES[normalize(spec)["layers"][0]["type"]].reads


def with_vocab(spec, vocab_size: int) -> dict:
    """A normalized copy of ``spec`` whose Embedding has ``vocab_size`` rows (the dataset's vocabulary).

    Save this one with a run, so the saved spec rebuilds the same shapes without the dataset.
    """
    spec = normalize(spec)
    for i, layer in enumerate(spec["layers"]):
        if layer["type"] == "embedding":
            p = next(q for q in LAYER_TYPES["embedding"].params if q.name == "vocab")
            layer["vocab"] = _coerce(vocab_size, p, i, LAYER_TYPES["embedding"].title)
    return spec


def for_dataset(spec, vocab_size: int | None = None, num_classes: int | None = None) -> dict:
    """A normalized copy of ``spec`` fitted to a dataset: the Embedding gets ``vocab_size`` rows and,
    if the model ends in a Dense layer, that layer gets ``num_classes`` units (a preset made for two
    sentiment classes then trains on a CSV with three)."""
    spec = with_vocab(spec, vocab_size) if vocab_size is not None else normalize(spec)
    last = spec["layers"][-1]
    if num_classes is not None and last["type"] == "dense":
        p = next(q for q in LAYER_TYPES["dense"].params if q.name == "units")
        last["units"] = _coerce(num_classes, p, len(spec["layers"]) - 1, LAYER_TYPES["dense"].title)
    return spec


@dataclass(frozen=True)
class LayerCost:
    index: int
    title: str
    params: int
    activation_bytes: int  # per example: every output inside the layer, kept for the backward pass
    flops: int  # per example, forward (a multiply-add counts 2)


@dataclass
class Estimate:
    """What a model costs, from shapes alone: nothing of its size is allocated to find out."""

    layers: list[LayerCost] = field(default_factory=list)
    complete: bool = True  # False: a layer shrinks its input to nothing (build() then names the problem)

    @property
    def params(self) -> int:
        return sum(c.params for c in self.layers)

    @property
    def flops(self) -> int:
        return sum(c.flops for c in self.layers)

    def activation_bytes(self, batch: int = 1) -> int:
        """Memory of one training step's activations at ``batch``: every layer's outputs, kept for the backward
        pass (their gradients come and go one layer at a time). Measured on the CNN preset at batch 4,800,
        1.26 GB held against 2.5 GB estimated: an upper bound."""
        return batch * sum(c.activation_bytes for c in self.layers)


class _SkipInit(TorchFunctionMode):
    """Skips torch.nn.init's fills: on the meta device they fill nothing, but PyTorch's Python kernel of one
    (``normal_``: an Embedding's weights, learned positions, a GAN's init) imports torch._dynamo on first use.
    A torch-function mode lives in its own thread: another thread building a real model is not touched."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init":
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


@contextmanager
def on_meta():
    """Build modules with shapes but no storage (PyTorch's meta device), skipping their initialisation."""
    with torch.device("meta"), _SkipInit():
        yield


def estimate(spec, input_shape: Shape = (1, 28, 28), vocab_size: int | None = None) -> Estimate:
    """Parameters, activation memory and FLOPs per example of ``spec``, from shapes alone.

    Each layer is built on PyTorch's meta device (parameters with shapes but no storage, so a model of billions
    of parameters costs nothing here) and its output shape, activations and FLOPs are worked out by hand from
    its sizes (``LayerType.cost_of``; no forward pass, which on the meta device imports torch._dynamo, 0.8-2.6 s
    once per process). Raises the builder's SpecErrors for impossible shapes; a layer that shrinks its input to
    nothing stops the estimate (``complete`` False) and :func:`build` reports it. What the first layer reads (pixels
    or token ids) does not change the costs: every layer outputs floats.
    """
    spec = with_vocab(spec, vocab_size) if vocab_size is not None else normalize(spec)
    out = Estimate()
    shape = tuple(input_shape)
    size = torch.empty((), dtype=torch.get_default_dtype()).element_size()  # every layer outputs floats
    for i, layer in enumerate(spec["layers"]):
        lt = LAYER_TYPES[layer["type"]]
        with on_meta():
            module = lt.build(layer, shape, i)
        shape, numbers, flops = lt.cost_of(module, shape)
        out.layers.append(LayerCost(i, lt.title, sum(p.numel() for p in module.parameters()), numbers * size, flops))
        if any(s <= 0 for s in shape):
            out.complete = False
            return out
    return out


def check_budget(est: Estimate, batch: int | None = None, lim: Limits | None = None) -> None:
    """Raise a SpecError naming the costliest layer when ``est`` is past a server limit.

    ``batch`` None checks what does not depend on it (parameters, FLOPs, one example's activations).
    """
    lim = lim or limits()
    if not lim.model_limits or not est.layers:
        return
    if est.params > lim.params:
        worst = max(est.layers, key=lambda c: c.params)
        raise SpecError(
            "The model has {params} parameters; this server allows at most {most}. Layer {n} ({title}) "
            "alone has {layer_params}: give it fewer units or filters.",
            layer=worst.index,
            params=f"{est.params:,}",
            most=f"{lim.params:,}",
            n=worst.index + 1,
            title=worst.title,
            layer_params=f"{worst.params:,}",
        )
    if est.flops > lim.flops:
        worst = max(est.layers, key=lambda c: c.flops)
        raise SpecError(
            "One example costs {need} million operations; this server allows at most {most} million. "
            "Layer {n} ({title}) costs {cost} million: use fewer filters, a smaller kernel, or pool "
            "before it.",
            layer=worst.index,
            need=f"{est.flops / 1e6:,.0f}",
            most=f"{lim.flops / 1e6:,.0f}",
            n=worst.index + 1,
            title=worst.title,
            cost=f"{worst.flops / 1e6:,.0f}",
        )
    if batch is not None and batch > lim.batch:
        raise SpecError(
            "Batch size {bs} is larger than this server allows ({most}); 32 to 512 is usual.",
            bs=f"{batch:,}",
            most=f"{lim.batch:,}",
        )
    need = est.activation_bytes(batch or 1)
    if need > lim.activation_bytes:
        worst = max(est.layers, key=lambda c: c.activation_bytes)
        if batch:
            raise SpecError(
                "At batch size {bs} training needs about {need} for the activations; this server "
                "allows {most}. Layer {n} ({title}) needs the most: use a smaller batch size or a "
                "smaller layer.",
                layer=worst.index,
                bs=f"{batch:,}",
                need=fmt_bytes(need),
                most=fmt_bytes(lim.activation_bytes),
                n=worst.index + 1,
                title=worst.title,
            )
        raise SpecError(
            "One example needs about {need} for the activations; this server allows {most} for a whole "
            "batch. Layer {n} ({title}) needs the most: make it smaller, or pool before it.",
            layer=worst.index,
            need=fmt_bytes(need),
            most=fmt_bytes(lim.activation_bytes),
            n=worst.index + 1,
            title=worst.title,
        )


def build(
    spec,
    input_shape: Shape = (1, 28, 28),
    num_classes: int | None = 10,
    input_dtype: torch.dtype | None = None,
    seed: int | None = None,
    vocab_size: int | None = None,
    batch: int | None = None,
    budget: bool = True,
) -> Built:
    """Build ``spec`` for inputs of ``input_shape`` (no batch dim). Raises SpecError naming the layer.

    A text model (first layer an Embedding) takes LongTensor ids (B, L): ``input_shape=(L,)``; its
    ``input_dtype`` defaults to ``torch.long`` (float32 otherwise). ``vocab_size`` replaces the
    Embedding's vocabulary size (the dataset's own vocabulary; see ``with_vocab``). In a text model the
    sequence layers follow the pad convention (zero vectors are pads: skipped, zero outputs).

    Before anything is allocated the model's cost is estimated on shapes (:func:`estimate`) and checked
    against the server limits (:func:`check_budget`, at ``batch`` when given): a model past them is a
    SpecError naming its costliest layer, and is never built. ``budget=False`` skips that check: for a
    run that was trained here already (it passed the limits of its day; a teacher who lowers them later
    must not lock the class out of its own runs).
    """
    spec = with_vocab(spec, vocab_size) if vocab_size is not None else normalize(spec)
    model_reads = LAYER_TYPES[spec["layers"][0]["type"]].reads
    if input_dtype is None:
        input_dtype = model_reads.dtype
    # ids given to a model that reads floats: before the estimate, as it names the real fix
    if model_reads.dtype.is_floating_point and not input_dtype.is_floating_point:
        raise SpecError(
            "A text model must start with an Embedding layer: it turns the token ids into vectors "
            "the other layers can read.",
            layer=0,
        )
    if budget:
        check_budget(estimate(spec, input_shape), batch)
    if seed is not None:
        torch.manual_seed(seed)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    table: list[LayerRow] = []
    counts: dict[str, int] = {}
    shape = tuple(input_shape)
    # a batch of 2 so BatchNorm can run in training mode during the dry pass (for text: only pads)
    x = torch.zeros((2, *shape), dtype=input_dtype)
    for i, layer in enumerate(spec["layers"]):
        lt = LAYER_TYPES[layer["type"]]
        module = lt.build(layer, shape, i)
        if lt.key in MASKS_PADS:
            module.mask_pads = model_reads.pads
        try:
            with torch.no_grad():
                x = module(x)
        except (RuntimeError, ValueError, IndexError) as e:
            raise SpecError(
                "Layer {n} ({title}) cannot take an input of shape {shape}: {detail}",
                layer=i,
                n=i + 1,
                title=lt.title,
                shape=fmt_shape(shape),
                detail=str(e).split("\n")[0],
            ) from None
        shape = tuple(x.shape[1:])
        if any(s <= 0 for s in shape):
            raise SpecError(
                "Layer {n} ({title}) shrinks its input to nothing {shape}. Use a smaller window "
                "or stride, or add padding.",
                layer=i,
                n=i + 1,
                title=lt.title,
                shape=fmt_shape(shape),
            )
        counts[lt.key] = counts.get(lt.key, 0) + 1
        name = f"{lt.key}_{counts[lt.key]}"
        modules[name] = module
        table.append(
            LayerRow(name, lt.key, lt.title, lt.short(layer), shape, sum(p.numel() for p in module.parameters()))
        )
    if num_classes is not None and shape != (num_classes,):
        raise SpecError(
            "The last layer outputs {shape}, but the dataset has {k} classes. End the model with "
            "a Dense layer of {k} units (after a Flatten if needed).",
            layer=len(spec["layers"]) - 1,
            shape=fmt_shape(shape),
            k=num_classes,
        )
    module = nn.Sequential(modules)
    glorot_init(module)
    return Built(module, table, tuple(input_shape), input_dtype)


def glorot_init(module: nn.Module) -> None:
    """Glorot/Xavier-uniform weights and zero biases for Dense and Conv layers (and a transformer's projections).

    This is Keras's default, the framework of the course material; it trains the course's MLP to its
    97.5% in 5 epochs more reliably than PyTorch's default (Kaiming-uniform with a=sqrt(5)). Token
    Embeddings get Keras's uniform(-0.05, 0.05).
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding) and m.padding_idx == 0:
            # Keras's Embedding init, uniform(-0.05, 0.05). PyTorch's N(0, 1) vectors are so large next to
            # Adam's steps that Kim's CNN reached only 67% on rt-polarity in 4 epochs (76-77% with these).
            # PAD's vector stays zero: the sequence layers read a zero vector as a pad.
            nn.init.uniform_(m.weight, -0.05, 0.05)
            with torch.no_grad():
                m.weight[0].zero_()


def insert_layer(spec: dict, index: int, key: str) -> dict:
    """A copy of ``spec`` with a default ``key`` layer inserted at ``index``."""
    spec = copy.deepcopy(spec)
    lt = layer_type(key)
    spec["layers"].insert(index, {"type": lt.key, **lt.defaults()})
    return spec


def move_layer(spec: dict, index: int, delta: int) -> dict:
    spec = copy.deepcopy(spec)
    j = index + delta
    if 0 <= index < len(spec["layers"]) and 0 <= j < len(spec["layers"]):
        spec["layers"][index], spec["layers"][j] = spec["layers"][j], spec["layers"][index]
    return spec


def remove_layer(spec: dict, index: int) -> dict:
    spec = copy.deepcopy(spec)
    if 0 <= index < len(spec["layers"]):
        del spec["layers"][index]
    return spec
