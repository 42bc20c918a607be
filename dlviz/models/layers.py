"""The layer registry: every layer type a spec may name, its settings and how to build it.

A layer spec is a JSON object: ``{"type": "conv2d", "out": 32, "kernel": 3}``. Settings left out
take their defaults. Builders receive the *inferred* input shape (without the batch dimension),
so nobody ever types ``in_features``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from dlviz.errors import SpecError
from dlviz.setting import Setting

Shape = tuple[int, ...]


def Param(name: str, kind: str, default: Any, min=None, max=None, choices: tuple = (), help: str = "") -> Setting:  # noqa: N802
    """A layer's setting (``kind``: "int", "float", "bool" or "choice"): the one :class:`dlviz.setting.Setting` type,
    spelled as the layer table below lists it."""
    return Setting(default, min, max, tuple(choices) or None, help=help, name=name, kind=kind)


@dataclass(frozen=True)
class Reads:
    """What a model takes in, told by its first layer (see :func:`dlviz.models.builder.reads`).

    ``kind`` names the data's modality (``DatasetInfo.kind``: "image", "text"), ``dtype`` the tensor the
    first layer reads. ``pads``: the input is pre-padded token ids (PAD = 0) that the sequence layers
    skip (``mask_pads``). ``script``: :func:`dlviz.train.script.to_script` can write a standalone
    training script for it (it reads the IDX files itself; a text model's data needs dlviz's
    tokenizer). ``note``: comment lines the exported model starts with.
    """

    kind: str
    dtype: torch.dtype
    pads: bool = False
    script: bool = False
    note: tuple[str, ...] = ()


PIXELS = Reads("image", torch.float32, script=True)
TOKEN_IDS = Reads(
    "text",
    torch.long,
    pads=True,
    note=(
        "# It reads token ids (batch, length), pre-padded with PAD = 0: the padding vectors are zero, and",
        "# the sequence layers skip them (mask_pads=True).",
    ),
)


@dataclass(frozen=True)
class LayerType:
    key: str
    title: str
    category: str  # "core" | "conv" | "activation" | "regularise" | "sequence"
    build: Callable[[dict, Shape, int], nn.Module]
    params: tuple[Setting, ...] = ()
    help: str = ""
    label: Callable[[dict], str] | None = None  # short text for the diagram
    aliases: tuple[str, ...] = field(default=())
    reads: Reads = PIXELS  # what a model that starts with this layer takes in
    # what one example costs (see "costs on shapes" below); None: its output has its input's shape (same_cost)
    cost: Callable[[nn.Module, Shape], Cost] | None = None

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def short(self, params: dict) -> str:
        return self.label(params) if self.label else self.title

    def cost_of(self, module: nn.Module, shape: Shape) -> Cost:
        """(output shape, numbers output, FLOPs) of one example through ``module`` (this type, built for ``shape``)."""
        return (self.cost or same_cost)(module, shape)


# --------------------------------------------------------------------------- custom modules
class Rows(nn.Module):
    """(B, C, H, W) -> (B, H, C*W): an image read row by row, one row per time step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return x.permute(0, 2, 1, 3).reshape(b, h, c * w)


class Recurrent(nn.Module):
    """An RNN/LSTM/GRU over (B, T, F) that returns the last time step (B, H*dirs) or every step.

    With ``mask_pads`` (text models: the builder sets it when the model starts with an Embedding),
    pad steps, whose input is a zero vector, are skipped: the real steps are moved to the front and
    packed, so the state starts fresh at the first real token whatever the padding, the outputs at
    pads are zero, and the 'last' step is the last real token (the backward direction's is the first
    real token). A sequence of only pads gives zeros.
    """

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        return_sequence: bool = False,
        mask_pads: bool = False,
    ):
        super().__init__()
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.kind, self.return_sequence, self.bidirectional = kind, return_sequence, bidirectional
        self.mask_pads = mask_pads
        self.rnn = cls(input_size, hidden, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)

    def _last(self, state) -> torch.Tensor:
        h_n = state[0] if self.kind == "lstm" else state  # (layers*dirs, B, H)
        if self.bidirectional:
            return torch.cat([h_n[-2], h_n[-1]], dim=1)  # final forward and backward states
        return h_n[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.mask_pads:
            out, state = self.rnn(x)  # out: (B, T, H*dirs)
            return out if self.return_sequence else self._last(state)
        real = ~(x == 0).all(-1)  # (B, T): pads are zero vectors
        lengths = real.sum(1)
        # a stable sort on "is pad" puts the real steps first, in their order (pre-padding: pads first)
        order = torch.sort((~real).to(torch.uint8), dim=1, stable=True).indices  # (B, T)
        xs = torch.gather(x, 1, order.unsqueeze(-1).expand_as(x))
        packed = nn.utils.rnn.pack_padded_sequence(
            xs, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out, state = self.rnn(packed)
        if not self.return_sequence:
            return self._last(state) * (lengths > 0).unsqueeze(1).to(x.dtype)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        idx = order.unsqueeze(-1).expand(-1, -1, out.shape[-1])
        back = torch.zeros_like(out).scatter(1, idx, out)  # each step back at its own position
        return back * real.unsqueeze(-1).to(out.dtype)


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
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels)
            )
        self.relu2 = nn.ReLU()  # separate modules: Captum's DeepLift needs one per use

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + self.shortcut(x))


class GlobalAvgPool(nn.Module):
    """(B, C, H, W) -> (B, C): the average of each feature map (as in ResNet's head)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class TimePool(nn.Module):
    """(B, T, F) -> (B, F): mean, max or last over time.

    With ``mask_pads`` (text models) pad steps, zero vectors, are left out: the mean and max are over
    the real steps and 'last' is the last real step; a sequence of only pads gives zeros.
    """

    def __init__(self, mode: str = "mean", mask_pads: bool = False):
        super().__init__()
        self.mode, self.mask_pads = mode, mask_pads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.mask_pads:
            if self.mode == "last":
                return x[:, -1]
            return x.mean(dim=1) if self.mode == "mean" else x.amax(dim=1)
        real = ~(x == 0).all(-1)  # (B, T)
        count = real.sum(1, keepdim=True)  # (B, 1)
        if self.mode == "mean":
            return (x * real.unsqueeze(-1)).sum(1) / count.clamp(min=1)
        if self.mode == "max":
            low = torch.finfo(x.dtype).min
            return x.masked_fill(~real.unsqueeze(-1), low).amax(1) * (count > 0)
        t = x.shape[1]
        last = t - 1 - real.flip(1).to(torch.uint8).argmax(1)  # (B,) index of the last real step
        return x[torch.arange(x.shape[0], device=x.device), last] * (count > 0)


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Vaswani et al. 2017 positional encoding: (...,) positions -> (..., dim).

    PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(p / 10000^(2i/dim)).
    """
    half = torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32)
    angle = positions.unsqueeze(-1).float() / (10000.0 ** (half / dim))  # (..., ceil(dim/2))
    pe = torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)  # sin, cos interleaved
    return pe[..., :dim]


class EncoderLayer(nn.Module):
    """One transformer encoder block (pre-norm, as GPT-2 and minGPT), written out so its weights show.

    x + Dropout(Wo · MultiHead(LN(x))), then + Dropout(FF(LN(.))). Attention of head h:
    softmax(Q_h K_h^T / sqrt(d_head)) with Q = LN(x) Wq, K = LN(x) Wk, V = LN(x) Wv; pad keys get
    weight 0 and pad queries attend nowhere (their rows are 0). With ``keep_attention`` the weights
    of the last forward pass stay in ``attention`` (B, heads, T, T), detached.
    """

    def __init__(self, dim: int, heads: int, feedforward: int, dropout: float = 0.1):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, feedforward)
        self.act = nn.GELU()
        self.ff2 = nn.Linear(feedforward, dim)
        self.attn_drop = nn.Dropout(dropout)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)
        self.keep_attention = False
        self.attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        if real is None:
            real = torch.ones(b, t, dtype=torch.bool, device=x.device)
        h = self.norm1(x)
        dh = d // self.heads

        def split(z):  # (B, T, D) -> (B, heads, T, d_head)
            return z.view(b, t, self.heads, dh).transpose(1, 2)

        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        scores = q @ k.transpose(-2, -1) / dh**0.5  # (B, heads, T, T)
        # a finite fill, not -inf: a row of only pads stays finite (uniform) instead of NaN
        scores = scores.masked_fill(~real[:, None, None, :], torch.finfo(scores.dtype).min)
        w = scores.softmax(-1) * real[:, None, :, None].to(scores.dtype)  # pad queries: rows of 0
        if self.keep_attention:
            self.attention = w.detach()
        ctx = (self.attn_drop(w) @ v).transpose(1, 2).reshape(b, t, d)  # heads side by side
        x = x + self.drop1(self.out(ctx))
        return x + self.drop2(self.ff2(self.act(self.ff1(self.norm2(x)))))


class TransformerEncoder(nn.Module):
    """(B, T, D) -> (B, T, D): x * sqrt(D) + positional encoding, ``layers`` EncoderLayers, a LayerNorm.

    With ``mask_pads`` (text models) zero vectors are pads: they are masked as keys, their outputs
    are zero, and positions count from the first real token, so extra pre-padding changes nothing.
    ``positions`` is "sinusoidal" (fixed, any length) or "learned" (one vector per position up to
    ``max_len``; later positions share the last one).
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        layers: int,
        feedforward: int,
        dropout: float = 0.1,
        positions: str = "sinusoidal",
        max_len: int = 512,
        mask_pads: bool = False,
    ):
        super().__init__()
        self.dim, self.positions, self.max_len, self.mask_pads = dim, positions, max_len, mask_pads
        if positions == "learned":
            self.pos = nn.Embedding(max_len, dim)
            nn.init.normal_(self.pos.weight, std=0.02)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, feedforward, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        if self.mask_pads:
            real = ~(x == 0).all(-1)  # (B, T)
            first = real.to(torch.uint8).argmax(1, keepdim=True)  # first real step (0 if none)
        else:
            real = torch.ones(b, t, dtype=torch.bool, device=x.device)
            first = torch.zeros(b, 1, dtype=torch.long, device=x.device)
        pos = (torch.arange(t, device=x.device).unsqueeze(0) - first).clamp(min=0)  # (B, T)
        if self.positions == "learned":
            pe = self.pos(pos.clamp(max=self.max_len - 1))
        else:
            pe = sinusoid(pos, self.dim).to(x.dtype)
        keep = real.unsqueeze(-1).to(x.dtype)
        # word vectors times sqrt(dim), as Vaswani et al. 3.4: with Keras-sized (+-0.05) embeddings the
        # +-1 sine waves drowned the words and the small preset sat at chance for 3 epochs on rt-polarity
        x = self.drop(x * self.dim**0.5 + pe) * keep
        for layer in self.layers:
            x = layer(x, real) * keep
        return self.norm(x) * keep


class KimConv(nn.Module):
    """Kim (2014) sentence CNN block: (B, T, D) -> (B, filters * widths).

    For each width w: a 1-D convolution of ``filters`` filters over w consecutive tokens (with w-1
    zero vectors added at both ends, as Kim pads sentences), ReLU, then the maximum over the windows
    that touch a real token (max over time); the maxima of all widths are concatenated.
    """

    def __init__(self, dim: int, widths: tuple[int, ...] = (3, 4, 5), filters: int = 100, mask_pads: bool = False):
        super().__init__()
        self.widths, self.mask_pads = tuple(widths), mask_pads
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w) for w in self.widths)
        self.relus = nn.ModuleList(nn.ReLU() for _ in self.widths)  # one per use (Captum's DeepLift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        real = ~(x == 0).all(-1) if self.mask_pads else torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        xt = x.transpose(1, 2)  # (B, D, T)
        outs = []
        for w, conv, relu in zip(self.widths, self.convs, self.relus):
            y = relu(conv(nn.functional.pad(xt, (w - 1, w - 1))))  # (B, F, T+w-1)
            # window j covers steps j-w+1 .. j; it counts if any of them is a real token
            touch = nn.functional.max_pool1d(nn.functional.pad(real.unsqueeze(1).to(x.dtype), (w - 1, w - 1)), w, 1)
            outs.append((y * touch).amax(-1))  # y >= 0, so zeroed windows never win over real ones
        return torch.cat(outs, dim=1)


# --------------------------------------------------------------------------- shape checks
def _need_image(shape: Shape, i: int, title: str) -> None:
    if len(shape) != 3:
        raise SpecError(
            "Layer {n} ({title}) needs an image-shaped input (channels x height x width) but gets "
            "{shape}. Remove the Flatten (or Dense) layer before it, or move this layer earlier.",
            layer=i,
            n=i + 1,
            title=title,
            shape=fmt_shape(shape),
        )


def _need_flat(shape: Shape, i: int, title: str) -> None:
    if len(shape) != 1:
        raise SpecError(
            "Layer {n} ({title}) needs a flat input but gets {shape}. Add a Flatten layer before it.",
            layer=i,
            n=i + 1,
            title=title,
            shape=fmt_shape(shape),
        )


def _need_sequence(shape: Shape, i: int, title: str) -> None:
    if len(shape) == 3:
        raise SpecError(
            "Layer {n} ({title}) needs a sequence (time steps x features) but gets {shape}. Add a "
            "'Rows' layer before it to read an image row by row.",
            layer=i,
            n=i + 1,
            title=title,
            shape=fmt_shape(shape),
        )
    if len(shape) != 2:
        raise SpecError(
            "Layer {n} ({title}) needs a sequence (time steps x features) but gets {shape}. Put it "
            "after an Embedding or Rows layer, or a recurrent layer that returns every step.",
            layer=i,
            n=i + 1,
            title=title,
            shape=fmt_shape(shape),
        )


def _window_fits(shape: Shape, k: int, i: int, title: str, what: str) -> None:
    h, w = shape[1], shape[2]
    if k > h or k > w:
        raise SpecError(
            "Layer {n} ({title}): its {what} of {k}x{k} is larger than its {h}x{w} input. Use a "
            "{what} of at most {most}, add padding to the layer before, or remove a pooling layer earlier.",
            layer=i,
            n=i + 1,
            title=title,
            what=what,
            k=k,
            h=h,
            w=w,
            most=min(h, w),
        )


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


def _reshape(p, shape, i):
    _need_flat(shape, i, "Reshape")
    c, h, w = int(p["channels"]), int(p["height"]), int(p["width"])
    if c * h * w != shape[0]:
        raise SpecError(
            "Layer {n} (Reshape) makes {c}x{h}x{w} = {want} numbers, but its input has {have}. Make the layer "
            "before it output {want}, or change the shape.",
            layer=i,
            n=i + 1,
            c=c,
            h=h,
            w=w,
            want=c * h * w,
            have=shape[0],
        )
    return nn.Unflatten(1, (c, h, w))


def _upsample(p, shape, i):
    _need_image(shape, i, "Upsample")
    return nn.Upsample(scale_factor=int(p["scale"]), mode="nearest")


def _batchnorm(p, shape, i):
    if len(shape) == 3:
        return nn.BatchNorm2d(shape[0])
    if len(shape) == 1:
        return nn.BatchNorm1d(shape[0])
    raise SpecError(
        "Layer {n} (BatchNorm) works on images or flat vectors, not on {shape}.",
        layer=i,
        n=i + 1,
        shape=fmt_shape(shape),
    )


def _residual(p, shape, i):
    _need_image(shape, i, "Residual block")
    stride = int(p["stride"])
    if stride > 1 and min(shape[1], shape[2]) < 2:
        raise SpecError(
            "Layer {n} (Residual block): stride {s} on a {h}x{w} input leaves nothing. Use stride 1.",
            layer=i,
            n=i + 1,
            s=stride,
            h=shape[1],
            w=shape[2],
        )
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
        return Recurrent(
            kind, shape[1], int(p["hidden"]), int(p["layers"]), bool(p["bidirectional"]), bool(p["return_sequence"])
        )

    return build


def _embedding(p, shape, i):
    if i == 0 and len(shape) != 1:
        raise SpecError(
            "Layer {n} (Embedding) reads sentences as token ids, but the input here is {shape}, an "
            "image. Pick a text dataset, or start from an image model.",
            layer=i,
            n=i + 1,
            shape=fmt_shape(shape),
        )
    if len(shape) != 1 or i != 0:
        raise SpecError(
            "Layer {n} (Embedding) must be the first layer of a text model: it turns token ids into vectors.",
            layer=i,
            n=i + 1,
        )
    return nn.Embedding(int(p["vocab"]), int(p["dim"]), padding_idx=0)


def _timepool(p, shape, i):
    _need_sequence(shape, i, "Pool over time")
    return TimePool(p["mode"])


def _transformer(p, shape, i):
    _need_sequence(shape, i, "Transformer")
    dim, heads = shape[1], int(p["heads"])
    if dim % heads:
        fits = [h for h in range(1, 9) if dim % h == 0]
        raise SpecError(
            "Layer {n} (Transformer): {heads} heads do not divide the vector size {dim} (each head "
            "gets an equal share of it). Use {fits} heads, or change the vector size before it.",
            layer=i,
            n=i + 1,
            heads=heads,
            dim=dim,
            fits=", ".join(map(str, fits)),
        )
    return TransformerEncoder(
        dim, heads, int(p["layers"]), int(p["feedforward"]), float(p["dropout"]), p["positions"], max_len=shape[0]
    )


def kim_widths(p: dict) -> tuple[int, ...]:
    """The filter widths of a 'kimconv' layer spec (a width of 0 is unused)."""
    return tuple(int(p[k]) for k in ("width1", "width2", "width3") if int(p[k]) > 0)


def _kimconv(p, shape, i):
    _need_sequence(shape, i, "Text CNN (Kim 2014)")
    return KimConv(shape[1], kim_widths(p), int(p["filters"]))


# --------------------------------------------------------------------------- costs on shapes
# What a layer costs one example, worked out from its input shape and its module's sizes, with no forward pass:
# (output shape, how many numbers its modules output (each kept for the backward pass), FLOPs of the forward
# pass). FLOPs count what torch.utils.flop_counter counts: matrix products and convolutions, a multiply-add
# counting 2, biases and elementwise work left out. A real forward pass with PyTorch's FLOP counter and a hook on
# every leaf module measures the same figures (tests/test_layer_costs.py, every layer type). The estimate used to
# run that pass on the meta device, but PyTorch's meta kernel of a matrix product imports torch._dynamo on its
# first call: 0.8-2.6 s once per process, which the first Build page (and the server's first seconds, issue 18)
# paid.
Cost = tuple[Shape, int, int]


def _n(shape: Shape) -> int:
    return math.prod(shape)


def _out_len(size: int, k: int, stride: int, pad: int = 0) -> int:
    return (size + 2 * pad - k) // stride + 1


def same_cost(m: nn.Module, s: Shape) -> Cost:
    """A layer whose output has its input's shape (activations, dropout, batch norm): no FLOPs counted."""
    return s, _n(s), 0


def _dense_cost(m: nn.Linear, s: Shape) -> Cost:
    return (m.out_features,), m.out_features, 2 * m.in_features * m.out_features


def _conv_cost(m: nn.Conv2d, s: Shape) -> Cost:
    (k, _), (st, _), (pad, _) = m.kernel_size, m.stride, m.padding
    o = (m.out_channels, _out_len(s[1], k, st, pad), _out_len(s[2], k, st, pad))
    return o, _n(o), 2 * m.in_channels * k * k * _n(o)


def _pool_cost(m: nn.Module, s: Shape) -> Cost:
    k, st = int(m.kernel_size), int(m.stride)
    o = (s[0], _out_len(s[1], k, st), _out_len(s[2], k, st))
    return o, _n(o), 0


def _residual_cost(m: ResidualBlock, s: Shape) -> Cost:
    c, st = m.conv1.out_channels, m.conv1.stride[0]
    o = (c, _out_len(s[1], 3, st, 1), _out_len(s[2], 3, st, 1))
    n = _n(o)
    flops = 2 * s[0] * 9 * n + 2 * c * 9 * n  # conv1 (in -> c) and conv2 (c -> c), 3x3
    act = 6 * n  # conv1, bn1, relu1, conv2, bn2, relu2
    if isinstance(m.shortcut, nn.Identity):
        act += _n(s)
    else:  # a 1x1 convolution and its batch norm
        act += 2 * n
        flops += 2 * s[0] * n
    return o, act, flops


def _flat_cost(m: nn.Module, s: Shape) -> Cost:
    return (_n(s),), _n(s), 0


def _reshape_cost(m: nn.Unflatten, s: Shape) -> Cost:
    o = tuple(int(v) for v in m.unflattened_size)
    return o, _n(o), 0


def _upsample_cost(m: nn.Upsample, s: Shape) -> Cost:
    k = float(m.scale_factor)
    o = (s[0], int(s[1] * k), int(s[2] * k))
    return o, _n(o), 0


def _gap_cost(m: nn.Module, s: Shape) -> Cost:
    return (s[0],), s[0], 0


def _rows_cost(m: nn.Module, s: Shape) -> Cost:
    o = (s[1], s[0] * s[2])
    return o, _n(o), 0


def _embedding_cost(m: nn.Embedding, s: Shape) -> Cost:
    o = (s[0], m.embedding_dim)
    return o, _n(o), 0


def _recurrent_cost(m: Recurrent, s: Shape) -> Cost:
    rnn = m.rnn
    steps, features = s
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[m.kind]
    dirs, h = 2 if rnn.bidirectional else 1, rnn.hidden_size
    flops = act = 0
    for layer in range(rnn.num_layers):
        inputs = features if layer == 0 else h * dirs
        flops += dirs * steps * gates * 2 * (inputs * h + h * h)
        act += dirs * steps * (gates + 1) * h  # the gates and the state at every step
    return ((steps, h * dirs) if m.return_sequence else (h * dirs,)), act, flops


def _timepool_cost(m: nn.Module, s: Shape) -> Cost:
    return (s[1],), s[1], 0


def _transformer_cost(m: TransformerEncoder, s: Shape) -> Cost:
    t, d = s
    act = 2 * t * d + (t * d if m.positions == "learned" else 0)  # the input's dropout, the last LayerNorm
    flops = 0
    for layer in m.layers:
        f = layer.ff1.out_features
        # norm1, q, k, v, out, drop1, norm2, ff2, drop2: (T, D) each; ff1, GELU: (T, F); the weights (heads, T, T)
        act += 9 * t * d + 2 * t * f + layer.heads * t * t
        flops += 2 * t * d * (4 * d + 2 * f) + 2 * 2 * t * t * d  # the Linear layers, then QK^T and weights x V
    return s, act, flops


def _kimconv_cost(m: KimConv, s: Shape) -> Cost:
    t, d = s
    act = flops = 0
    for w, conv in zip(m.widths, m.convs):
        n = conv.out_channels * (t + w - 1)  # every window that touches the sentence (w - 1 zeros each side)
        act += 2 * n  # the convolution and its ReLU
        flops += 2 * d * w * n
    o = (sum(conv.out_channels for conv in m.convs),)
    return o, act, flops


_UNITS = Param("units", "int", 128, 1, 8192, help="Number of neurons (outputs).")
_RNN_PARAMS = (
    Param("hidden", "int", 128, 1, 2048, help="Size of the hidden state."),
    Param("layers", "int", 1, 1, 4, help="Stacked recurrent layers."),
    Param("bidirectional", "bool", False, help="Also read the sequence backwards."),
    Param("return_sequence", "bool", False, help="Output every time step instead of only the last."),
)

LAYER_TYPES: dict[str, LayerType] = {
    lt.key: lt
    for lt in [
        LayerType(
            "dense",
            "Dense",
            "core",
            _dense,
            (_UNITS, Param("bias", "bool", True, help="Add a learned bias.")),
            "Fully connected: every output sees every input.",
            lambda p: f"Dense {p['units']}",
            aliases=("linear",),
            cost=_dense_cost,
        ),
        LayerType(
            "conv2d",
            "Conv2d",
            "conv",
            _conv,
            (
                Param("out", "int", 32, 1, 1024, help="Number of filters (output channels)."),
                Param("kernel", "int", 3, 1, 15, help="Filter size (kernel x kernel)."),
                Param("stride", "int", 1, 1, 8, help="Step between filter positions."),
                Param("padding", "int", 0, 0, 8, help="Zeros added around the border."),
            ),
            "Slides small learned filters over the image.",
            lambda p: f"Conv {p['out']}@{p['kernel']}x{p['kernel']}",
            aliases=("conv",),
            cost=_conv_cost,
        ),
        LayerType(
            "maxpool",
            "MaxPool",
            "conv",
            _pool(nn.MaxPool2d, "MaxPool"),
            (
                Param("size", "int", 2, 1, 8, help="Window size."),
                Param("stride", "int", 0, 0, 8, help="Step; 0 means the same as the window."),
            ),
            "Keeps the largest value of each window.",
            lambda p: f"MaxPool {p['size']}x{p['size']}",
            cost=_pool_cost,
        ),
        LayerType(
            "avgpool",
            "AvgPool",
            "conv",
            _pool(nn.AvgPool2d, "AvgPool"),
            (
                Param("size", "int", 2, 1, 8, help="Window size."),
                Param("stride", "int", 0, 0, 8, help="Step; 0 means the same as the window."),
            ),
            "Averages each window.",
            lambda p: f"AvgPool {p['size']}x{p['size']}",
            cost=_pool_cost,
        ),
        LayerType(
            "gap", "Global average pool", "conv", _gap, (), "Averages each feature map to one number.", cost=_gap_cost
        ),
        LayerType(
            "residual",
            "Residual block",
            "conv",
            _residual,
            (
                Param("channels", "int", 32, 1, 512, help="Output channels."),
                Param("stride", "int", 1, 1, 2, help="2 halves the height and width."),
            ),
            "Two 3x3 convolutions plus a skip connection (ResNet).",
            lambda p: f"Residual {p['channels']}" + (f" /{p['stride']}" if int(p['stride']) > 1 else ""),
            cost=_residual_cost,
        ),
        LayerType(
            "flatten",
            "Flatten",
            "core",
            lambda p, s, i: nn.Flatten(),
            (),
            "Turns an image-shaped input into one long vector.",
            cost=_flat_cost,
        ),
        LayerType(
            "reshape",
            "Reshape (vector to image)",
            "core",
            _reshape,
            (
                Param("channels", "int", 1, 1, 1024, help="Channels of the image made."),
                Param("height", "int", 28, 1, 512, help="Its height."),
                Param("width", "int", 28, 1, 512, help="Its width."),
            ),
            "Turns one long vector back into an image (the opposite of Flatten): a decoder's way back.",
            lambda p: f"Reshape {p['channels']}x{p['height']}x{p['width']}",
            aliases=("unflatten",),
            cost=_reshape_cost,
        ),
        LayerType(
            "upsample",
            "Upsample",
            "conv",
            _upsample,
            (Param("scale", "int", 2, 1, 8, help="Each pixel becomes scale x scale pixels."),),
            "Makes the image larger by repeating each pixel (the opposite of pooling): a decoder's way back.",
            lambda p: f"Upsample x{p['scale']}",
            cost=_upsample_cost,
        ),
        LayerType(
            "dropout",
            "Dropout",
            "regularise",
            lambda p, s, i: nn.Dropout(float(p["p"])),
            (Param("p", "float", 0.25, 0.0, 0.95, help="Fraction of values zeroed while training."),),
            "Randomly zeroes values while training, against overfitting.",
            lambda p: f"Dropout {p['p']}",
        ),
        LayerType("batchnorm", "BatchNorm", "regularise", _batchnorm, (), "Normalises each channel over the batch."),
        LayerType("relu", "ReLU", "activation", lambda p, s, i: nn.ReLU(), (), "max(0, x)."),
        LayerType(
            "leakyrelu",
            "LeakyReLU",
            "activation",
            lambda p, s, i: nn.LeakyReLU(float(p["slope"])),
            (Param("slope", "float", 0.01, 0.0, 1.0, help="Slope for negative inputs."),),
            "Like ReLU but lets a little through below zero.",
        ),
        LayerType("sigmoid", "Sigmoid", "activation", lambda p, s, i: nn.Sigmoid(), (), "Squashes to (0, 1)."),
        LayerType("tanh", "Tanh", "activation", lambda p, s, i: nn.Tanh(), (), "Squashes to (-1, 1)."),
        LayerType("gelu", "GELU", "activation", lambda p, s, i: nn.GELU(), (), "A smooth ReLU (used in transformers)."),
        LayerType(
            "rows",
            "Rows (image to sequence)",
            "sequence",
            _rows,
            (),
            "Reads an image row by row: each row is one time step.",
            cost=_rows_cost,
        ),
        LayerType(
            "embedding",
            "Embedding",
            "sequence",
            _embedding,
            (
                Param("vocab", "int", 10000, 2, 200000, help="Vocabulary size."),
                Param("dim", "int", 128, 1, 2048, help="Vector size per token."),
            ),
            "Turns each token id into a learned vector.",
            lambda p: f"Embedding {p['vocab']}x{p['dim']}",
            reads=TOKEN_IDS,
            cost=_embedding_cost,
        ),
        LayerType(
            "rnn",
            "SimpleRNN",
            "sequence",
            _recurrent("rnn", "SimpleRNN"),
            _RNN_PARAMS,
            "A recurrent layer: a hidden state updated at every time step.",
            lambda p: f"RNN {p['hidden']}",
            cost=_recurrent_cost,
        ),
        LayerType(
            "lstm",
            "LSTM",
            "sequence",
            _recurrent("lstm", "LSTM"),
            _RNN_PARAMS,
            "A recurrent layer with gates that decide what to remember.",
            lambda p: f"LSTM {p['hidden']}",
            cost=_recurrent_cost,
        ),
        LayerType(
            "gru",
            "GRU",
            "sequence",
            _recurrent("gru", "GRU"),
            _RNN_PARAMS,
            "A lighter gated recurrent layer.",
            lambda p: f"GRU {p['hidden']}",
            cost=_recurrent_cost,
        ),
        LayerType(
            "timepool",
            "Pool over time",
            "sequence",
            _timepool,
            (
                Param(
                    "mode",
                    "choice",
                    "mean",
                    choices=("mean", "max", "last"),
                    help="Mean or max over the time steps, or the last step (pads are left out).",
                ),
            ),
            "Summarises a sequence into one vector.",
            lambda p: f"{p['mode'].capitalize()} over time",
            cost=_timepool_cost,
        ),
        LayerType(
            "transformer",
            "Transformer",
            "sequence",
            _transformer,
            (
                Param("layers", "int", 2, 1, 4, help="Stacked encoder layers."),
                Param("heads", "int", 4, 1, 8, help="Attention heads; they must divide the vector size."),
                Param("feedforward", "int", 256, 1, 8192, help="Size of the feed-forward layer inside each block."),
                Param("dropout", "float", 0.1, 0.0, 0.9, help="Dropout on the attention weights and block outputs."),
                Param(
                    "positions",
                    "choice",
                    "sinusoidal",
                    choices=("sinusoidal", "learned"),
                    help="How token positions are encoded: fixed sine waves or learned vectors.",
                ),
            ),
            "Self-attention: every token looks at every other token (an encoder of a transformer).",
            lambda p: f"Transformer {p['layers']}x{p['heads']}h",
            cost=_transformer_cost,
        ),
        LayerType(
            "kimconv",
            "Text CNN (Kim 2014)",
            "sequence",
            _kimconv,
            (
                Param("filters", "int", 100, 1, 1024, help="Filters per width."),
                Param("width1", "int", 3, 1, 9, help="Width of the first filters, in tokens."),
                Param("width2", "int", 4, 0, 9, help="Width of the second filters, in tokens (0: unused)."),
                Param("width3", "int", 5, 0, 9, help="Width of the third filters, in tokens (0: unused)."),
            ),
            "Filters slide over a few words at a time; each keeps its strongest match in the sentence.",
            lambda p: f"TextCNN {','.join(map(str, kim_widths(p)))} x{p['filters']}",
            aliases=("textcnn",),
            cost=_kimconv_cost,
        ),
    ]
}

# Layers that follow the pad convention when the model reads token ids (it starts with an Embedding):
# the builder sets their ``mask_pads``. Image models (Rows) keep every step, zero rows included.
MASKS_PADS = ("rnn", "lstm", "gru", "timepool", "transformer", "kimconv")

_ALIASES = {a: lt.key for lt in LAYER_TYPES.values() for a in lt.aliases}


def layer_type(key: str, index: int | None = None) -> LayerType:
    k = str(key).lower().strip()
    k = _ALIASES.get(k, k)
    if k not in LAYER_TYPES:
        raise SpecError(
            "Layer {n}: unknown layer type '{type}'. Known types: {known}.",
            layer=index,
            n=(index or 0) + 1,
            type=key,
            known=", ".join(LAYER_TYPES),
        )
    return LAYER_TYPES[k]
