"""Pictures of filters, feature maps and weight histograms (numpy images and Plotly figures).

Many small images are drawn into ONE numpy RGB image (fast to send, one ``st.image``). Filters and
feature maps use a diverging scale centred at zero: white is 0, blue (#0072B2) positive, vermillion
(#D55E00) negative (Okabe-Ito, colour-blind safe), so a filter's sign pattern reads at a glance.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from dlviz.i18n import translate
from dlviz.plots.fonts import font

POSITIVE = np.array([0x00, 0x72, 0xB2], dtype=np.float32)
NEGATIVE = np.array([0xD5, 0x5E, 0x00], dtype=np.float32)
WHITE = np.array([255, 255, 255], dtype=np.float32)
GAP = (156, 163, 175)  # the neutral gray between tiles (#9CA3AF), never a value colour
BIAS_COLOUR = "#E69F00"
WEIGHT_COLOUR = "#0072B2"

Tr = Callable[..., str]


def _en(text: str, **kw) -> str:
    return translate(text, "en", **kw)


def diverging(a: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """(..., ) floats -> (..., 3) uint8: 0 white, +vmax full blue, -vmax full vermillion (clipped beyond).

    ``vmax`` defaults to the largest absolute value of ``a``; an all-zero array is all white.
    """
    a = np.asarray(a, dtype=np.float32)
    if vmax is None:
        vmax = float(np.abs(a).max()) if a.size else 0.0
    s = np.clip(a / vmax, -1.0, 1.0) if vmax > 0 else np.zeros_like(a)
    s = s[..., None]
    rgb = WHITE + np.where(s >= 0, s * (POSITIVE - WHITE), -s * (NEGATIVE - WHITE))
    return np.rint(rgb).astype(np.uint8)


def gray(a: np.ndarray) -> np.ndarray:
    """(H, W) uint8 or floats in [0, 1] -> (H, W, 3) uint8, dark ink on white as the data pages show digits. A colour
    picture ((H, W, 3), or a (3, H, W) model input) is shown in its own colours."""
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[0] == 3 and a.shape[-1] != 3:
        a = a.transpose(1, 2, 0)
    v = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else np.clip(a.astype(np.float32), 0, 1)
    if a.ndim == 3 and a.shape[-1] == 3:
        return np.rint(255 * v).astype(np.uint8)
    g = np.rint(255 * (1 - v)).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def upscale(img: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of an (h, w, 3) image so its longer side is about ``size`` pixels.

    Browsers smooth small images when they stretch them; sharp pixels show a 3x3 kernel as it is.
    """
    h, w = img.shape[:2]
    f = max(1, size // max(h, w))
    return np.repeat(np.repeat(img, f, axis=0), f, axis=1)


def _font(px: int):
    return font(px)  # the shipped font: labels in Chinese draw as characters on any machine


def tile(
    images: Sequence[np.ndarray], cols: int, gap: int = 2, labels: Sequence[str] | None = None, label_px: int = 12
) -> np.ndarray:
    """Lay (h, w, 3) uint8 images (any sizes) on a grid with ``gap`` gray pixels, optional labels above each."""
    n = len(images)
    if n == 0:
        return np.full((1, 1, 3), 255, np.uint8)
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    ch = max(im.shape[0] for im in images)
    cw = max(im.shape[1] for im in images)
    top = label_px + 4 if labels else 0
    H, W = rows * (ch + top + gap) + gap, cols * (cw + gap) + gap
    canvas = np.empty((H, W, 3), np.uint8)
    canvas[:] = GAP
    if labels:
        canvas[:] = 255
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        y, x = gap + r * (ch + top + gap) + top, gap + c * (cw + gap)
        if labels:  # a gray frame around each image (white is a value, zero)
            canvas[y - 1 : y + im.shape[0] + 1, x - 1 : x + im.shape[1] + 1] = GAP
        canvas[y : y + im.shape[0], x : x + im.shape[1]] = im
    if labels:
        pil = Image.fromarray(canvas)
        draw = ImageDraw.Draw(pil)
        font = _font(label_px)
        for i, text in enumerate(labels[:n]):
            r, c = divmod(i, cols)
            draw.text((gap + c * (cw + gap), gap + r * (ch + top + gap)), str(text), fill=(40, 40, 40), font=font)
        canvas = np.asarray(pil)
    return canvas


def _grid_cols(n: int) -> int:
    return max(1, int(np.ceil(np.sqrt(n))))


def kernel_image(w: np.ndarray, vmax: float | None = None, size: int = 64) -> np.ndarray:
    """One filter (in, kh, kw) as an image: its kernel per input channel on a square-ish grid, one shared scale."""
    w = np.asarray(w, dtype=np.float32)
    if w.ndim == 2:
        w = w[None]
    vmax = float(np.abs(w).max()) if vmax is None else vmax
    cols = _grid_cols(len(w))
    cell = size if cols == 1 else max(1, (size - (cols + 1)) // cols)
    tiles = [upscale(diverging(k, vmax), cell) for k in w]
    return tiles[0] if len(w) == 1 else tile(tiles, cols, gap=1)


def rgb_filter(f: np.ndarray, vmax: float, size: int = 48) -> np.ndarray:
    """A first-layer filter of a colour model (3, kh, kw) as a colour picture: each pixel's red, green and blue
    weights as its red, green and blue, mid-grey for zero (0.5 + 0.5 * w / vmax), as AlexNet's filters are drawn."""
    f = np.asarray(f, dtype=np.float32).transpose(1, 2, 0)
    v = 0.5 + 0.5 * (f / vmax if vmax > 0 else np.zeros_like(f))
    return upscale(np.rint(255 * np.clip(v, 0, 1)).astype(np.uint8), size)


def filter_grid(w: np.ndarray, size: int = 48, cols: int = 16, labels: bool = True, rgb: bool = False) -> np.ndarray:
    """All filters of a layer (out, in, kh, kw) side by side, on ONE scale so their strengths compare. ``rgb``: a
    colour model's first layer (in = 3), each filter drawn as one colour picture (:func:`rgb_filter`)."""
    w = np.asarray(w, dtype=np.float32)
    vmax = float(np.abs(w).max()) if w.size else 0.0
    rgb = rgb and w.ndim == 4 and w.shape[1] == 3
    images = [rgb_filter(f, vmax, size) if rgb else kernel_image(f, vmax, size) for f in w]
    return tile(images, cols, gap=2, labels=[str(i) for i in range(len(w))] if labels else None)


def channel_kernels(w: np.ndarray, out_index: int, size: int = 56, cols: int = 16) -> np.ndarray:
    """The kernels of filter ``out_index`` (one per input channel) of a layer (out, in, kh, kw), on its own scale."""
    f = np.asarray(w, dtype=np.float32)[out_index]
    vmax = float(np.abs(f).max())
    images = [upscale(diverging(k, vmax), size) for k in f]
    return tile(images, cols, gap=2, labels=[str(i) for i in range(len(f))])


def filter_map_pairs(
    w: np.ndarray, maps: np.ndarray, size: int = 64, cols: int = 4, labels: Sequence[str] | None = None
) -> np.ndarray:
    """Each filter beside the feature map it makes: [filter | map] cells, ``cols`` pairs per row.

    ``w`` (out, in, kh, kw) on one shared scale; each map (out, H, W) on its own symmetric scale, so a
    weak map still shows where it responds (the label can carry its strength).
    """
    w = np.asarray(w, dtype=np.float32)
    maps = np.asarray(maps, dtype=np.float32)
    vmax = float(np.abs(w).max()) if w.size else 0.0
    pairs = []
    for f, m in zip(w, maps):
        a = kernel_image(f, vmax, size)
        b = upscale(diverging(m), size)
        h = max(a.shape[0], b.shape[0])
        pair = np.full((h, a.shape[1] + 4 + b.shape[1], 3), 255, np.uint8)
        pair[: a.shape[0], : a.shape[1]] = a
        pair[:, a.shape[1] : a.shape[1] + 4] = GAP
        pair[: b.shape[0], a.shape[1] + 4 :] = b
        pairs.append(pair)
    return tile(pairs, cols, gap=6, labels=labels if labels is not None else [str(i) for i in range(len(pairs))])


def digit_grid(images: np.ndarray, labels: Sequence[str], cols: int = 8, size: int = 84) -> np.ndarray:
    """Grayscale images (N, H, W) (uint8, or floats in [0, 1]) with a label above each, as ONE image."""
    return tile([upscale(gray(im), size) for im in images], cols, gap=4, labels=labels)


def weight_histograms(layers, tr: Tr = _en, cols: int = 3, row_height: int = 190) -> go.Figure:
    """Small multiples: one histogram of weights (blue) and biases (orange) per layer.

    ``layers`` are :class:`dlviz.inspect.filters.LayerWeights`. Bars show the share of the layer's
    weights (or biases) in each bin, so a layer's 32 biases show beside its 100,000 weights.
    """
    n = len(layers)
    rows = max(1, -(-n // cols))
    titles = [f"{lw.name} ({lw.kind})" for lw in layers]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles or [""],
        horizontal_spacing=0.06,
        vertical_spacing=min(0.12, 0.35 / rows),
    )
    wname, bname = tr("weights"), tr("biases")
    for i, lw in enumerate(layers):
        r, c = i // cols + 1, i % cols + 1
        for h, name, colour in ((lw.weight, wname, WEIGHT_COLOUR), (lw.bias, bname, BIAS_COLOUR)):
            if h is None:
                continue
            centres = (h.edges[:-1] + h.edges[1:]) / 2
            share = h.counts / max(h.n, 1)  # a share, so 32 biases show beside 100,000 weights
            fig.add_trace(
                go.Bar(
                    x=centres,
                    y=share,
                    width=np.diff(h.edges),
                    name=name,
                    legendgroup=name,
                    showlegend=i == 0,
                    marker_color=colour,
                    opacity=0.7,
                    customdata=h.counts,
                    hovertemplate=f"{name} %{{x:.3g}}: %{{customdata:,}} (%{{y:.1%}})<extra>{lw.name}</extra>",
                ),
                row=r,
                col=c,
            )
    for ann in fig.layout.annotations:
        ann.font.size = 12
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    # the legend sits at the top of the whole figure, above the first row's subplot titles
    fig.update_layout(
        barmode="overlay",
        bargap=0,
        height=rows * row_height + 80,
        margin=dict(l=10, r=10, t=70, b=10),
        legend=dict(orientation="h", yref="container", y=1.0, yanchor="top", x=1, xanchor="right"),
    )
    return fig
