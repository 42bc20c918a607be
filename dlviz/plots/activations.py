"""Pictures of what each layer outputs for one input (the Inspect page's activations view).

Feature maps are tiled into ONE uint8 image (numpy only, a few milliseconds even for 64 maps):
many small Plotly heatmaps would make a page update far slower than a single ``st.image``.
Dense layers are one Plotly bar trace. Captions are English templates marked with ``N_`` and
translated by the ``tr`` function passed in. No streamlit here.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import torch

from dlviz.i18n import N_, translate

Tr = Callable[..., str]
POSITIVE = "#0072B2"  # Okabe-Ito blue
NEGATIVE = "#D55E00"  # Okabe-Ito vermillion
# blue for positive, white at zero, vermillion for negative (colour-blind safe)
DIVERGING = [[0.0, NEGATIVE], [0.5, "#FFFFFF"], [1.0, POSITIVE]]
SEQUENTIAL = [[0.0, "#FFFFFF"], [1.0, POSITIVE]]
GAP_COLOUR = (255, 255, 255)
UNIT = N_("unit")


def _en(text: str, **kw) -> str:
    return translate(text, "en", **kw)


def _numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().float().numpy()
    return np.asarray(values, dtype=np.float32)


def grid_shape(channels: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of the tiling: 8 across by default, fewer when there are fewer maps."""
    cols = cols or min(channels, max(8, math.ceil(math.sqrt(channels))))
    cols = max(1, min(cols, channels))
    return math.ceil(channels / cols), cols


def feature_map_grid(
    values, per_channel: bool = True, cols: int | None = None, scale: int | None = None, gap: int = 1, tile: int = 56
) -> np.ndarray:
    """Tile feature maps (C, H, W) (or one (H, W) map) into one RGB uint8 image, black = low, white = high.

    ``per_channel`` stretches each map to its own min..max (shows every map's pattern); otherwise all
    maps share one min..max (shows which maps are strongest). A constant map is black. Each map is
    enlarged by an integer ``scale`` (nearest neighbour; by default about ``tile`` pixels across) and
    maps are separated by ``gap`` white pixels. Tiles run left to right, top to bottom, channel 0 first.
    """
    a = _numpy(values)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] == 0:
        raise ValueError(f"expected (C, H, W) feature maps, got shape {a.shape}")
    c, h, w = a.shape
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    if per_channel:
        lo = a.min(axis=(1, 2), keepdims=True)
        hi = a.max(axis=(1, 2), keepdims=True)
    else:
        lo, hi = np.full((1, 1, 1), a.min()), np.full((1, 1, 1), a.max())
    span = hi - lo
    norm = np.where(span > 0, (a - lo) / np.where(span > 0, span, 1), 0.0)
    img = (norm * 255.0 + 0.5).astype(np.uint8)
    s = scale or max(1, tile // max(h, w))
    if s > 1:
        img = img.repeat(s, axis=1).repeat(s, axis=2)  # nearest neighbour: each value a visible square
    rows, cols = grid_shape(c, cols)
    th, tw = h * s, w * s
    out = np.empty((rows * (th + gap), cols * (tw + gap), 3), np.uint8)
    out[:] = GAP_COLOUR
    for i in range(c):
        r, k = divmod(i, cols)
        out[r * (th + gap) : r * (th + gap) + th, k * (tw + gap) : k * (tw + gap) + tw] = img[i][..., None]
    return out[: rows * (th + gap) - gap, : cols * (tw + gap) - gap]


def tile_of(
    channel: int,
    shape: tuple[int, int, int],
    cols: int | None = None,
    scale: int | None = None,
    gap: int = 1,
    tile: int = 56,
) -> tuple[int, int, int, int]:
    """(top, left, height, width) of ``channel``'s tile in :func:`feature_map_grid`'s image."""
    c, h, w = shape
    s = scale or max(1, tile // max(h, w))
    _, cols = grid_shape(c, cols)
    r, k = divmod(channel, cols)
    return r * (h * s + gap), k * (w * s + gap), h * s, w * s


def top_units(values, k: int = 5) -> list[tuple[int, float]]:
    """The ``k`` most active units, largest value first: [(index, value), ...]."""
    a = _numpy(values).ravel()
    k = max(0, min(k, a.size))
    idx = np.argsort(-a, kind="stable")[:k]
    return [(int(i), float(a[i])) for i in idx]


def dense_strip(
    values, tr: Tr = _en, top_k: int = 5, height: int = 180, max_bars: int = 512, wrap: int = 64
) -> go.Figure:
    """A dense (1-D) output: one bar per unit, the ``top_k`` most active units labelled.

    Signed outputs use a blue-white-vermillion scale centred at 0 (blue positive, vermillion
    negative); non-negative ones (after ReLU, sigmoid) white to blue. More than ``max_bars`` units
    (a Flatten of big maps) become one heat strip wrapped ``wrap`` units per row: one trace either way.
    """
    a = _numpy(values).ravel()
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    signed = bool((a < 0).any())
    peak = float(np.abs(a).max()) or 1.0
    scale = dict(colorscale=DIVERGING if signed else SEQUENTIAL, cmin=-peak if signed else 0.0, cmax=peak)
    if a.size > max_bars:
        rows = -(-a.size // wrap)
        z = np.full(rows * wrap, np.nan, np.float32)
        z[: a.size] = a
        idx = np.arange(rows * wrap).reshape(rows, wrap)
        fig = go.Figure(
            go.Heatmap(
                z=z.reshape(rows, wrap),
                customdata=idx,
                zmin=scale["cmin"],
                zmax=peak,
                colorscale=scale["colorscale"],
                showscale=False,
                xgap=0,
                ygap=0,
                hovertemplate=tr(UNIT) + " %{customdata}: %{z:.3f}<extra></extra>",
            )
        )
        fig.update_yaxes(autorange="reversed", visible=False)
        fig.update_xaxes(visible=False)
        fig.update_layout(height=min(400, max(60, rows * 6 + 20)), margin=dict(l=10, r=10, t=10, b=10))
        return fig
    top = {i for i, _ in top_units(a, top_k)}
    text = [f"#{i}" if i in top else "" for i in range(a.size)]
    fig = go.Figure(
        go.Bar(
            x=np.arange(a.size),
            y=a,
            marker=dict(color=a, line=dict(width=0), **scale),
            text=text,
            textposition="outside",
            cliponaxis=False,
            textfont=dict(size=10),
            hovertemplate=tr(UNIT) + " %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=20, b=10),
        showlegend=False,
        bargap=0.05,
        xaxis=dict(title=tr(UNIT), range=[-0.5, a.size - 0.5]),
        yaxis=dict(zeroline=True),
    )
    return fig


CAPTIONS = {
    "conv2d": N_(
        "Convolution: {c} filters slide over the input; each map lights up where its filter's pattern appears."
    ),
    "relu": N_("ReLU: every negative value becomes 0."),
    "leakyrelu": N_("Leaky ReLU: negative values are scaled down instead of set to 0."),
    "gelu": N_("GELU: a smooth ReLU; negative values are pushed towards 0."),
    "sigmoid": N_("Sigmoid: every value squashed into 0 to 1."),
    "tanh": N_("Tanh: every value squashed into -1 to 1."),
    "maxpool": N_("Max pooling: keeps the strongest value of each window, so the maps get smaller."),
    "avgpool": N_("Average pooling: the average of each window, so the maps get smaller."),
    "gap": N_("Global average pooling: each map becomes one number, its average."),
    "batchnorm": N_("Batch normalisation: each channel shifted and scaled with the statistics learnt in training."),
    "dropout": N_("Dropout: does nothing here (it only drops values while training)."),
    "residual": N_("Residual block: two convolutions, plus the block's input added back (a skip connection)."),
    "flatten": N_("Flatten: the same numbers laid out as one long list of {n}."),
    "dense": N_("Dense: each of the {n} units adds up all its inputs, each with its own weight."),
    "rows": N_("Rows: the image read as a sequence, one row per time step."),
    "rnn": N_("Recurrent layer: its memory (hidden state) after reading the whole sequence."),
    "lstm": N_("LSTM: its memory (hidden state) after reading the whole sequence."),
    "gru": N_("GRU: its memory (hidden state) after reading the whole sequence."),
    "embedding": N_("Embedding: each token becomes a learned list of numbers."),
    "timepool": N_("Pooling over time: the sequence summarised as one vector."),
    "transformer": N_("Transformer: every word has looked at every other word and mixed in what it found."),
    "kimconv": N_("Text CNN: each of {n} filters kept its strongest match of a few consecutive words."),
    "reshape": N_("Reshape: the same {n} numbers laid out again as {c} maps."),
    "upsample": N_("Upsampling: each map made larger by repeating every value (no new detail is added)."),
}
OUTPUT_CAPTION = N_("Output layer: one score per class; softmax turns the scores into the probabilities above.")
ZERO_RELU = N_("{pct:.0%} of units are zero (ReLU switched them off).")
ZERO_ANY = N_("{pct:.0%} of the values are exactly zero.")


def layer_kind(name: str) -> str:
    """'conv2d_1' -> 'conv2d' (dlviz names each layer after its type and a counter)."""
    head, _, tail = name.rpartition("_")
    return head if head and tail.isdigit() else name


def layer_caption(name: str, values, tr: Tr = _en, last: bool = False) -> str:
    """A short plain-language caption for one layer's output, with its share of zeros where telling."""
    a = _numpy(values)
    kind = layer_kind(name)
    if last and kind == "dense":
        text = tr(OUTPUT_CAPTION)
    elif kind in CAPTIONS:
        text = tr(CAPTIONS[kind], c=a.shape[0] if a.ndim else 1, n=a.size)
    else:
        text = ""
    zero = float((a == 0).mean()) if a.size else 0.0
    if kind in ("relu", "residual") and a.size:  # a residual block ends with a ReLU
        text += " " + tr(ZERO_RELU, pct=zero)
    elif zero > 0.05:
        text += " " + tr(ZERO_ANY, pct=zero)
    return text.strip()


def shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(s) for s in shape)
