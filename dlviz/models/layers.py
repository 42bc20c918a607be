"""The layer registry: every layer type a spec may name, its settings and how to build it.

A layer spec is a JSON object: ``{"type": "conv2d", "out": 32, "kernel": 3}``. Settings left out
take their defaults. Builders receive the *inferred* input shape (without the batch dimension),
so nobody ever types ``in_features``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from dlviz.errors import SpecError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "int" | "float" | "bool" | "choice"
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    help: str = ""


@dataclass(frozen=True)
class LayerType:
    key: str
    title: str
    category: str  # "core" | "conv" | "activation" | "regularise" | "sequence"
    build: Callable[[dict, Shape, int], nn.Module]
    params: tuple[Param, ...] = ()
    help: str = ""
    label: Callable[[dict], str] | None = None  # short text for the diagram
    aliases: tuple[str, ...] = field(default=())

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def short(self, params: dict) -> str:
        return self.label(params) if self.label else self.title


# --------------------------------------------------------------------------- custom modules
class Rows(nn.Module):
    """(B, C, H, W) -> (B, H, C*W): an image read row by row, one row per time step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return x.permute(0, 2, 1, 3).reshape(b, h, c * w)


class Recurrent(nn.Module):
    """An RNN/LSTM/GRU over (B, T, F) that returns the last time step (B, H*dirs) or every step."""

    def __init__(self, kind: str, input_size: int, hidden: int, num_layers: int = 1,
                 bidirectional: bool = False, return_sequence: bool = False):
        super().__init__()
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.kind, self.return_sequence, self.bidirectional = kind, return_sequence, bidirectional
        self.rnn = cls(input_size, hidden, num_layers=num_layers, batch_first=True,
                       bidirectional=bidirectional)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, state = self.rnn(x)  # out: (B, T, H*dirs)
        if self.return_sequence:
            return out
        h_n = state[0] if self.kind == "lstm" else state  # (layers*dirs, B, H)
        if self.bidirectional:
            return torch.cat([h_n[-2], h_n[-1]], dim=1)  # final forward and backward states
        return h_n[-1]


class ResidualBlock(nn.Module):
    """He et al. 2016 basic block: conv-BN-ReLU-conv-BN, plus the input (1x1 conv if shapes differ)."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels))
        self.relu2 = nn.ReLU()  # separate modules: Captum's DeepLift needs one per use

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + self.shortcut(x))


class GlobalAvgPool(nn.Module):
    """(B, C, H, W) -> (B, C): the average of each feature map (as in ResNet's head)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class TimePool(nn.Module):
    """(B, T, F) -> (B, F): mean or max over time."""

    def __init__(self, mode: str = "mean"):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1) if self.mode == "mean" else x.amax(dim=1)


# --------------------------------------------------------------------------- shape checks
def _need_image(shape: Shape, i: int, title: str) -> None:
    if len(shape) != 3:
        raise SpecError(
            "Layer {n} ({title}) needs an image-shaped input (channels x height x width) but gets "
            "{shape}. Remove the Flatten (or Dense) layer before it, or move this layer earlier.",
            layer=i, n=i + 1, title=title, shape=fmt_shape(shape))


def _need_flat(shape: Shape, i: int, title: str) -> None:
    if len(shape) != 1:
        raise SpecError(
            "Layer {n} ({title}) needs a flat input but gets {shape}. Add a Flatten layer before it.",
            layer=i, n=i + 1, title=title, shape=fmt_shape(shape))


def _need_sequence(shape: Shape, i: int, title: str) -> None:
    if len(shape) == 3:
        raise SpecError("Layer {n} ({title}) needs a sequence (time steps x features) but gets {shape}. Add a "
                        "'Rows' layer before it to read an image row by row.",
                        layer=i, n=i + 1, title=title, shape=fmt_shape(shape))
    if len(shape) != 2:
        raise SpecError("Layer {n} ({title}) needs a sequence (time steps x features) but gets {shape}. Put it "
                        "after an Embedding or Rows layer, or a recurrent layer that returns every step.",
                        layer=i, n=i + 1, title=title, shape=fmt_shape(shape))


def _window_fits(shape: Shape, k: int, i: int, title: str, what: str) -> None:
    h, w = shape[1], shape[2]
    if k > h or k > w:
        raise SpecError(
            "Layer {n} ({title}): its {what} of {k}x{k} is larger than its {h}x{w} input. Use a "
            "{what} of at most {most}, add padding to the layer before, or remove a pooling layer earlier.",
            layer=i, n=i + 1, title=title, what=what, k=k, h=h, w=w, most=min(h, w))


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


# --------------------------------------------------------------------------- builders
def _dense(p, shape, i):
    _need_flat(shape, i, "Dense")
    return nn.Linear(shape[0], int(p["units"]), bias=bool(p["bias"]))


def _conv(p, shape, i):
    _need_image(shape, i, "Conv2d")
    k, pad = int(p["kernel"]), int(p["padding"])
    _window_fits((shape[0], shape[1] + 2 * pad, shape[2] + 2 * pad), k, i, "Conv2d", "kernel")
    return nn.Conv2d(shape[0], int(p["out"]), k, stride=int(p["stride"]), padding=pad)


def _pool(cls, title):
    def build(p, shape, i):
        _need_image(shape, i, title)
        k = int(p["size"])
        _window_fits(shape, k, i, title, "window")
        return cls(k, stride=int(p["stride"]) or k)
    return build


def _batchnorm(p, shape, i):
    if len(shape) == 3:
        return nn.BatchNorm2d(shape[0])
    if len(shape) == 1:
        return nn.BatchNorm1d(shape[0])
    raise SpecError("Layer {n} (BatchNorm) works on images or flat vectors, not on {shape}.",
                    layer=i, n=i + 1, shape=fmt_shape(shape))


def _residual(p, shape, i):
    _need_image(shape, i, "Residual block")
    stride = int(p["stride"])
    if stride > 1 and min(shape[1], shape[2]) < 2:
        raise SpecError("Layer {n} (Residual block): stride {s} on a {h}x{w} input leaves nothing. Use stride 1.",
                        layer=i, n=i + 1, s=stride, h=shape[1], w=shape[2])
    return ResidualBlock(shape[0], int(p["channels"]), stride)


def _gap(p, shape, i):
    _need_image(shape, i, "Global average pool")
    return GlobalAvgPool()


def _rows(p, shape, i):
    _need_image(shape, i, "Rows")
    return Rows()


def _recurrent(kind, title):
    def build(p, shape, i):
        _need_sequence(shape, i, title)
        return Recurrent(kind, shape[1], int(p["hidden"]), int(p["layers"]), bool(p["bidirectional"]),
                         bool(p["return_sequence"]))
    return build


def _embedding(p, shape, i):
    if len(shape) != 1 or i != 0:
        raise SpecError("Layer {n} (Embedding) must be the first layer of a text model: it turns token ids "
                        "into vectors.", layer=i, n=i + 1)
    return nn.Embedding(int(p["vocab"]), int(p["dim"]), padding_idx=0)


def _timepool(p, shape, i):
    _need_sequence(shape, i, "Pool over time")
    return TimePool(p["mode"])


_UNITS = Param("units", "int", 128, 1, 8192, help="Number of neurons (outputs).")
_RNN_PARAMS = (
    Param("hidden", "int", 128, 1, 2048, help="Size of the hidden state."),
    Param("layers", "int", 1, 1, 4, help="Stacked recurrent layers."),
    Param("bidirectional", "bool", False, help="Also read the sequence backwards."),
    Param("return_sequence", "bool", False, help="Output every time step instead of only the last."),
)

LAYER_TYPES: dict[str, LayerType] = {lt.key: lt for lt in [
    LayerType("dense", "Dense", "core", _dense,
              (_UNITS, Param("bias", "bool", True, help="Add a learned bias.")),
              "Fully connected: every output sees every input.", lambda p: f"Dense {p['units']}",
              aliases=("linear",)),
    LayerType("conv2d", "Conv2d", "conv", _conv,
              (Param("out", "int", 32, 1, 1024, help="Number of filters (output channels)."),
               Param("kernel", "int", 3, 1, 15, help="Filter size (kernel x kernel)."),
               Param("stride", "int", 1, 1, 8, help="Step between filter positions."),
               Param("padding", "int", 0, 0, 8, help="Zeros added around the border.")),
              "Slides small learned filters over the image.",
              lambda p: f"Conv {p['out']}@{p['kernel']}x{p['kernel']}", aliases=("conv",)),
    LayerType("maxpool", "MaxPool", "conv", _pool(nn.MaxPool2d, "MaxPool"),
              (Param("size", "int", 2, 1, 8, help="Window size."),
               Param("stride", "int", 0, 0, 8, help="Step; 0 means the same as the window.")),
              "Keeps the largest value of each window.", lambda p: f"MaxPool {p['size']}x{p['size']}"),
    LayerType("avgpool", "AvgPool", "conv", _pool(nn.AvgPool2d, "AvgPool"),
              (Param("size", "int", 2, 1, 8, help="Window size."),
               Param("stride", "int", 0, 0, 8, help="Step; 0 means the same as the window.")),
              "Averages each window.", lambda p: f"AvgPool {p['size']}x{p['size']}"),
    LayerType("gap", "Global average pool", "conv", _gap, (), "Averages each feature map to one number."),
    LayerType("residual", "Residual block", "conv", _residual,
              (Param("channels", "int", 32, 1, 512, help="Output channels."),
               Param("stride", "int", 1, 1, 2, help="2 halves the height and width.")),
              "Two 3x3 convolutions plus a skip connection (ResNet).",
              lambda p: f"Residual {p['channels']}" + (f" /{p['stride']}" if int(p['stride']) > 1 else "")),
    LayerType("flatten", "Flatten", "core", lambda p, s, i: nn.Flatten(), (),
              "Turns an image-shaped input into one long vector."),
    LayerType("dropout", "Dropout", "regularise", lambda p, s, i: nn.Dropout(float(p["p"])),
              (Param("p", "float", 0.25, 0.0, 0.95, help="Fraction of values zeroed while training."),),
              "Randomly zeroes values while training, against overfitting.", lambda p: f"Dropout {p['p']}"),
    LayerType("batchnorm", "BatchNorm", "regularise", _batchnorm, (),
              "Normalises each channel over the batch."),
    LayerType("relu", "ReLU", "activation", lambda p, s, i: nn.ReLU(), (), "max(0, x)."),
    LayerType("leakyrelu", "LeakyReLU", "activation", lambda p, s, i: nn.LeakyReLU(float(p["slope"])),
              (Param("slope", "float", 0.01, 0.0, 1.0, help="Slope for negative inputs."),),
              "Like ReLU but lets a little through below zero."),
    LayerType("sigmoid", "Sigmoid", "activation", lambda p, s, i: nn.Sigmoid(), (), "Squashes to (0, 1)."),
    LayerType("tanh", "Tanh", "activation", lambda p, s, i: nn.Tanh(), (), "Squashes to (-1, 1)."),
    LayerType("gelu", "GELU", "activation", lambda p, s, i: nn.GELU(), (), "A smooth ReLU (used in transformers)."),
    LayerType("rows", "Rows (image to sequence)", "sequence", _rows, (),
              "Reads an image row by row: each row is one time step."),
    LayerType("embedding", "Embedding", "sequence", _embedding,
              (Param("vocab", "int", 10000, 2, 200000, help="Vocabulary size."),
               Param("dim", "int", 128, 1, 2048, help="Vector size per token.")),
              "Turns each token id into a learned vector.", lambda p: f"Embedding {p['vocab']}x{p['dim']}"),
    LayerType("rnn", "SimpleRNN", "sequence", _recurrent("rnn", "SimpleRNN"), _RNN_PARAMS,
              "A recurrent layer: a hidden state updated at every time step.", lambda p: f"RNN {p['hidden']}"),
    LayerType("lstm", "LSTM", "sequence", _recurrent("lstm", "LSTM"), _RNN_PARAMS,
              "A recurrent layer with gates that decide what to remember.", lambda p: f"LSTM {p['hidden']}"),
    LayerType("gru", "GRU", "sequence", _recurrent("gru", "GRU"), _RNN_PARAMS,
              "A lighter gated recurrent layer.", lambda p: f"GRU {p['hidden']}"),
    LayerType("timepool", "Pool over time", "sequence", _timepool,
              (Param("mode", "choice", "mean", choices=("mean", "max"), help="Mean or max over time steps."),),
              "Summarises a sequence into one vector.", lambda p: f"{p['mode'].capitalize()} over time"),
]}

_ALIASES = {a: lt.key for lt in LAYER_TYPES.values() for a in lt.aliases}


def layer_type(key: str, index: int | None = None) -> LayerType:
    k = str(key).lower().strip()
    k = _ALIASES.get(k, k)
    if k not in LAYER_TYPES:
        raise SpecError("Layer {n}: unknown layer type '{type}'. Known types: {known}.", layer=index,
                        n=(index or 0) + 1, type=key, known=", ".join(LAYER_TYPES))
    return LAYER_TYPES[k]
