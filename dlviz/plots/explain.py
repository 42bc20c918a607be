"""Pictures of explanations: the comparison of methods (Plotly and a PIL-rendered PNG), the agreement
matrix, the deletion/insertion curves and the randomisation test.

One diverging scale for every map: each map is divided by its own largest absolute value, so it runs
from -1 to 1; blue (#0072B2) is evidence FOR the class, vermillion (#D55E00) evidence AGAINST it, and 0
is transparent, so the digit (grey) shows through where a method sees nothing. Unsigned maps (>= 0 by
construction, e.g. |gradient|, Grad-CAM: ``Attribution.signed`` is False) say how much a pixel matters,
either way: they are drawn on a one-sided scale in their own colour (reddish purple, #CC79A7) with their
own legend, never as blue "evidence for". Okabe-Ito colours, colour-blind safe.
No streamlit here; labels come in through ``tr`` (English by default).
"""

from __future__ import annotations

import io
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from dlviz.plots.figures import Tr, _en
from dlviz.plots.fonts import font

FOR_RGB = (0x00, 0x72, 0xB2)  # blue: evidence for
AGAINST_RGB = (0xD5, 0x5E, 0x00)  # vermillion: evidence against
FOR, AGAINST = "#0072B2", "#D55E00"
MATTERS_RGB = (0xCC, 0x79, 0xA7)  # reddish purple: an unsigned map, "how much it matters, either way"
MATTERS = "#CC79A7"
INK_RGB = (128, 128, 128)  # the grey of full ink under the maps (light enough for colour to show)
FRAME_RGB = (156, 163, 175)  # #9CA3AF, the neutral frame around panels
TEXT_RGB = (17, 24, 39)  # #111827
MAX_ALPHA = 0.85  # the strongest value covers the digit this much
GAMMA = 0.5  # opacity = MAX_ALPHA * |value| ** GAMMA: weak evidence stays visible beside
# a few very strong pixels (the colour bar is drawn with the same curve)
PANEL = 224  # pixels per panel in the PNG (28 x 8)
COLS = 5  # panels per row before wrapping (the input counts as one)

# --------------------------------------------------------------------------------------------
# Arrays


def _array(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().float().numpy()
    return np.asarray(a, dtype=np.float32)


def _plane(a) -> np.ndarray:
    """(H, W) or (C, H, W) -> (H, W) (channels summed)."""
    a = _array(a)
    return a.sum(axis=0) if a.ndim == 3 else a


def _image01(image) -> np.ndarray:
    """The input as (H, W) floats in [0, 1] (uint8 images are divided by 255; channels averaged)."""
    is_uint8 = str(getattr(image, "dtype", "")) in ("uint8", "torch.uint8")
    a = _array(image)
    if a.ndim == 3:
        a = a.mean(axis=0)
    if is_uint8:
        a = a / 255.0
    return np.clip(np.nan_to_num(a), 0.0, 1.0)


def _colour01(image) -> np.ndarray | None:
    """A colour input ((3, H, W) model input or (H, W, 3) stored image) as (H, W, 3) floats in [0, 1]; None for a
    grey one. The maps over it sum their channels (:func:`_plane`), the picture under them keeps its colours."""
    is_uint8 = str(getattr(image, "dtype", "")) in ("uint8", "torch.uint8")
    a = _array(image)
    while a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3 or 3 not in (a.shape[0], a.shape[-1]):
        return None
    if a.shape[0] == 3 and a.shape[-1] != 3:
        a = a.transpose(1, 2, 0)
    if is_uint8:
        a = a / 255.0
    return np.clip(np.nan_to_num(a), 0.0, 1.0)


FADE = 0.45  # a colour photo under a map is blended this far towards white, so the map's colours stay readable


def _photo_rgb(rgb01: np.ndarray, fade: float = 0.0) -> np.ndarray:
    """(H, W, 3) in [0, 1] -> (H, W, 3) floats 0..255, ``fade`` of the way to white."""
    return 255.0 * (rgb01 * (1 - fade) + fade)


def scaled(amap) -> np.ndarray:
    """A map (H, W) or (C, H, W) divided by its own largest absolute value: (H, W) in [-1, 1]; zeros stay zeros."""
    p = np.nan_to_num(_plane(amap))
    m = float(np.abs(p).max()) if p.size else 0.0
    return p / m if m > 1e-12 else np.zeros_like(p)


def _digit_rgb(img01: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) floats: white paper, grey ink."""
    ink = np.asarray(INK_RGB, np.float32)
    return 255.0 + img01[..., None] * (ink - 255.0)


def _alpha(s):
    return MAX_ALPHA * np.abs(s) ** GAMMA


def _overlay(base: np.ndarray, s: np.ndarray, unsigned: bool = False) -> np.ndarray:
    """Blend colours over ``base`` (H, W, 3) floats: ``s`` in [-1, 1], blue for > 0, vermillion for < 0,
    opacity ``_alpha(s)``; ``unsigned``: one colour (reddish purple) for |s|, how much it matters either way."""
    if unsigned:
        s = np.abs(np.clip(s, -1.0, 1.0))[..., None]
        return base * (1 - _alpha(s)) + np.asarray(MATTERS_RGB, np.float32) * _alpha(s)
    s = np.clip(s, -1.0, 1.0)[..., None]
    colour = np.where(s >= 0, np.asarray(FOR_RGB, np.float32), np.asarray(AGAINST_RGB, np.float32))
    alpha = _alpha(s)
    return base * (1 - alpha) + colour * alpha


def _title(key: str, titles: dict, amap, tr: Tr) -> str:
    title = str(titles.get(key, key))
    return tr("{title} (empty)", title=title) if not np.abs(_plane(amap)).max() > 1e-12 else title


# --------------------------------------------------------------------------------------------
# Plotly


def _is_signed(a) -> bool:
    return bool(getattr(a, "signed", True))


def _matters_scale(stops: int = 10) -> list:
    """The one-sided colours of an unsigned map for z in [0, 1]: the same opacity curve, one colour."""
    r, g, b = MATTERS_RGB
    return [[float(v), f"rgba({r},{g},{b},{float(_alpha(v)):.3f})"] for v in np.linspace(0.0, 1.0, stops + 1)]


def _colourscale(stops: int = 10) -> list:
    """The overlay's colours for z in [-1, 1] as a Plotly colour scale: the same opacity curve as the PNG."""
    out = []
    for v in np.linspace(-1.0, 1.0, 2 * stops + 1):
        r, g, b = AGAINST_RGB if v < 0 else FOR_RGB
        out.append([float((v + 1) / 2), f"rgba({r},{g},{b},{float(_alpha(v)):.3f})"])
    return out


def comparison_figure(
    image, attributions: dict, titles: dict, tr: Tr = _en, cols: int = COLS, panel_px: int = 190
) -> go.Figure:
    """The input and, beside it, the input under each method's map, on ONE diverging scale.

    ``attributions`` maps a key to an Attribution (or anything with ``.map``); ``titles`` maps the same
    keys to translated titles. Each map is scaled by its own max |value| to [-1, 1] (the colour bar says
    so); blue is evidence for the class, vermillion against it, transparent at 0.
    """
    img = _image01(image)
    photo = _colour01(image)
    keys = list(attributions)
    n = len(keys) + 1
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    names = [tr("Input")] + [_title(k, titles, attributions[k].map, tr) for k in keys]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=names + [""] * (rows * cols - n),
        horizontal_spacing=0.02,
        vertical_spacing=0.16 / rows,
    )
    grey = [[0.0, "rgb(255,255,255)"], [1.0, "rgb({},{},{})".format(*INK_RGB)]]
    first_signed = next((k for k in keys if _is_signed(attributions[k])), None)
    first_unsigned = next((k for k in keys if not _is_signed(attributions[k])), None)
    both = first_signed is not None and first_unsigned is not None
    for i in range(n):
        r, c = i // cols + 1, i % cols + 1
        if photo is not None:  # a colour input: the photo itself, faded under a map
            z = np.rint(_photo_rgb(photo, 0.0 if i == 0 else FADE)).astype(np.uint8)
            fig.add_trace(go.Image(z=z, hoverinfo="skip"), row=r, col=c)
        else:
            fig.add_trace(
                go.Heatmap(z=img, zmin=0, zmax=1, colorscale=grey, showscale=False, hoverinfo="skip"), row=r, col=c
            )
        if i == 0:
            continue
        key = keys[i - 1]
        bar = dict(
            orientation="h",
            y=-0.03,
            yanchor="top",
            len=min(0.6, 0.3 * cols) / (2 if both else 1),
            thickness=12,
            outlinewidth=1,
            outlinecolor="#9CA3AF",
        )
        if _is_signed(attributions[key]):
            fig.add_trace(
                go.Heatmap(
                    z=scaled(attributions[key].map),
                    zmin=-1,
                    zmax=1,
                    colorscale=_colourscale(),
                    showscale=key == first_signed,
                    name=names[i],
                    hovertemplate=f"{names[i]}<br>x %{{x}}, y %{{y}}: %{{z:.2f}}<extra></extra>",
                    colorbar=dict(
                        **bar,
                        x=0.27 if both else 0.5,
                        xanchor="center",
                        tickvals=[-1, 0, 1],
                        ticktext=[tr("evidence against"), "0", tr("evidence for")],
                        title=dict(text=tr("scaled to each method's strongest value"), side="bottom"),
                    ),
                ),
                row=r,
                col=c,
            )
        else:  # unsigned: one-sided, its own colour and legend, never "for" or "against"
            fig.add_trace(
                go.Heatmap(
                    z=np.abs(scaled(attributions[key].map)),
                    zmin=0,
                    zmax=1,
                    colorscale=_matters_scale(),
                    showscale=key == first_unsigned,
                    name=names[i],
                    hovertemplate=f"{names[i]}<br>x %{{x}}, y %{{y}}: %{{z:.2f}}<extra></extra>",
                    colorbar=dict(
                        **bar,
                        x=0.77 if both else 0.5,
                        xanchor="center",
                        tickvals=[0, 1],
                        ticktext=["0", tr("matters most")],
                        title=dict(text=tr("how much it matters, either way (no sign)"), side="bottom"),
                    ),
                ),
                row=r,
                col=c,
            )
    frame = dict(
        showticklabels=False,
        ticks="",
        showgrid=False,
        zeroline=False,
        showline=True,
        mirror=True,
        linecolor="#9CA3AF",
        linewidth=1,
        constrain="domain",
    )
    fig.update_xaxes(**frame)
    fig.update_yaxes(autorange="reversed", **frame)
    for i in range(rows * cols):
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    for ann in fig.layout.annotations:
        ann.font.size = 13
    fig.update_layout(
        height=rows * panel_px + 110, margin=dict(l=5, r=5, t=30, b=90), plot_bgcolor="white", paper_bgcolor="white"
    )
    return fig


# --------------------------------------------------------------------------------------------
# PNG (PIL only: no kaleido, no matplotlib)


def _width(draw: ImageDraw.ImageDraw, text: str, f) -> float:
    return draw.textlength(text, font=f)


def wrap(draw: ImageDraw.ImageDraw, text: str, f, width: float, max_lines: int = 2) -> list[str]:
    """Greedy line breaking at spaces (and inside words or CJK text when one does not fit), at most
    ``max_lines`` lines, the last one shortened with an ellipsis."""
    lines: list[str] = []
    line = ""
    tokens: list[str] = []
    for word in text.split(" "):
        tokens.append(word if not tokens else " " + word)
    for tok in tokens:
        if _width(draw, line + tok, f) <= width:
            line += tok
            continue
        if line:
            lines.append(line)
            tok = tok.lstrip()
        line = ""
        for ch in tok:  # a word (or CJK run) longer than the line
            if _width(draw, line + ch, f) > width and line:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _width(draw, last + "…", f) > width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + "…"]
    return lines


def _panel(img01: np.ndarray, amap=None, unsigned: bool = False, photo: np.ndarray | None = None) -> Image.Image:
    """One PANEL x PANEL picture: the digit upscaled with sharp pixels, the map over it upscaled smoothly. ``photo``:
    a colour input (H, W, 3) in [0, 1], drawn in its colours (faded under a map) instead of the grey digit."""
    h, w = img01.shape
    rgb = _digit_rgb(img01) if photo is None else _photo_rgb(photo, 0.0 if amap is None else FADE)
    base = Image.fromarray(np.rint(rgb).astype(np.uint8)).resize((PANEL, PANEL), Image.NEAREST)
    out = np.asarray(base, dtype=np.float32)
    if amap is not None:
        s = scaled(amap)
        if s.shape != (h, w):
            raise ValueError(f"map {s.shape} and image {(h, w)} differ in shape")
        smooth = np.asarray(Image.fromarray(s.astype(np.float32), mode="F").resize((PANEL, PANEL), Image.BILINEAR))
        out = _overlay(out, smooth, unsigned)
    return Image.fromarray(np.rint(np.clip(out, 0, 255)).astype(np.uint8))


def comparison_png(image, attributions: dict, titles: dict, tr: Tr = _en, cols: int = COLS) -> bytes:
    """The comparison as a PNG for slides: the input, then one panel per method (224 px each, ``cols``
    to a row), titles above, and a legend strip (against / for, scaled to each method's strongest
    value) below. Rendered with PIL alone."""
    img = _image01(image)
    photo = _colour01(image)
    keys = list(attributions)
    n = len(keys) + 1
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    margin, gap, title_px = 20, 18, 18
    title_f, small_f = font(title_px), font(15)
    line_h = int(title_px * 1.35)
    names = [tr("Input")] + [_title(k, titles, attributions[k].map, tr) for k in keys]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    title_h = max(len(wrap(probe, name, title_f, PANEL)) for name in names) * line_h + 6
    width = max(2 * margin + cols * PANEL + (cols - 1) * gap, 2 * margin + 2 * PANEL + gap)
    unsigned_any = any(not _is_signed(attributions[k]) for k in keys)
    signed_any = any(_is_signed(attributions[k]) for k in keys) or not keys
    legend_h = 86 * (int(signed_any) + int(unsigned_any))
    height = margin + rows * (title_h + PANEL) + (rows - 1) * gap + 16 + legend_h
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    maps = [None] + [attributions[k].map for k in keys]
    x0 = (width - (cols * PANEL + (cols - 1) * gap)) // 2
    for i in range(n):
        r, c = divmod(i, cols)
        x = x0 + c * (PANEL + gap)
        y = margin + r * (title_h + PANEL + gap)
        lines = wrap(draw, names[i], title_f, PANEL)
        ty = y + title_h - 6 - len(lines) * line_h  # titles sit on the panel
        for line in lines:
            tw = _width(draw, line, title_f)
            draw.text((x + (PANEL - tw) / 2, ty), line, fill=TEXT_RGB, font=title_f)
            ty += line_h
        unsigned = i > 0 and not _is_signed(attributions[keys[i - 1]])
        canvas.paste(_panel(img, maps[i], unsigned, photo), (x, y + title_h))
        draw.rectangle((x - 1, y + title_h - 1, x + PANEL, y + title_h + PANEL), outline=FRAME_RGB)
    top = height - legend_h
    if signed_any:
        _legend(canvas, draw, top, small_f, tr)
        top += 86
    if unsigned_any:
        _legend(canvas, draw, top, small_f, tr, unsigned=True)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _legend(canvas: Image.Image, draw: ImageDraw.ImageDraw, top: int, f, tr: Tr, unsigned: bool = False) -> None:
    """The colour strip: vermillion (against) - transparent - blue (for), as it looks over white paper;
    ``unsigned``: transparent - reddish purple, "how much it matters, either way"."""
    width = canvas.width
    bar_w, bar_h = min(360, width - 240), 16
    bx = (width - bar_w) // 2
    if unsigned:
        s = np.linspace(0, 1, bar_w, dtype=np.float32)[None, :].repeat(bar_h, axis=0)
        bar = _overlay(np.full((bar_h, bar_w, 3), 255.0, np.float32), s, unsigned=True)
        canvas.paste(Image.fromarray(np.rint(bar).astype(np.uint8)), (bx, top + 6))
        draw.rectangle((bx - 1, top + 5, bx + bar_w, top + 6 + bar_h), outline=FRAME_RGB)
        cy = top + 6 + bar_h / 2
        draw.text((bx - 10 - _width(draw, "0", f), cy), "0", fill=TEXT_RGB, font=f, anchor="lm")
        draw.text((bx + bar_w + 10, cy), tr("matters most"), fill=MATTERS_RGB, font=f, anchor="lm")
        caption = tr("how much it matters, either way (no sign)")
        draw.text(((width - _width(draw, caption, f)) / 2, top + bar_h + 14), caption, fill=(75, 85, 99), font=f)
        return
    s = np.linspace(-1, 1, bar_w, dtype=np.float32)[None, :].repeat(bar_h, axis=0)
    bar = _overlay(np.full((bar_h, bar_w, 3), 255.0, np.float32), s)
    canvas.paste(Image.fromarray(np.rint(bar).astype(np.uint8)), (bx, top + 6))
    draw.rectangle((bx - 1, top + 5, bx + bar_w, top + 6 + bar_h), outline=FRAME_RGB)
    against, evid_for = tr("evidence against"), tr("evidence for")
    cy = top + 6 + bar_h / 2
    draw.text((bx - 10 - _width(draw, against, f), cy), against, fill=AGAINST_RGB, font=f, anchor="lm")
    draw.text((bx + bar_w + 10, cy), evid_for, fill=FOR_RGB, font=f, anchor="lm")
    draw.text((bx + bar_w / 2, top + bar_h + 14), "0", fill=TEXT_RGB, font=f, anchor="ma")
    caption = tr("scaled to each method's strongest value")
    lines = wrap(draw, caption, f, width - 40)
    y = top + bar_h + 38
    for line in lines:
        draw.text(((width - _width(draw, line, f)) / 2, y), line, fill=(75, 85, 99), font=f)
        y += 20


# --------------------------------------------------------------------------------------------
# Agreement, curves, randomisation


def agreement_heatmap(names: Sequence[str], matrix, tr: Tr = _en) -> go.Figure:
    """The methods x methods rank-correlation matrix (Spearman), values printed in the cells."""
    m = np.asarray(matrix, dtype=np.float64).reshape(len(names), len(names))
    names = [str(x) for x in names]
    text = [["–" if not math.isfinite(v) else f"{v:.2f}" for v in row] for row in m]
    z = np.where(np.isfinite(m), m, np.nan)
    scale = [[0.0, AGAINST], [0.5, "#FFFFFF"], [1.0, FOR]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale=scale,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=13),
            xgap=2,
            ygap=2,
            hovertemplate=tr("{a} and {b}", a="%{y}", b="%{x}") + ": %{text}<extra></extra>",
            colorbar=dict(title=dict(text=tr("rank correlation"), side="right"), tickvals=[-1, 0, 1], thickness=12),
        )
    )
    side = 70 + 46 * len(names)
    fig.update_xaxes(side="top", tickangle=-30 if len(names) > 3 else 0, showgrid=False, type="category")
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category")
    fig.update_layout(
        height=side + 90, margin=dict(l=10, r=10, t=80, b=10), plot_bgcolor="white", paper_bgcolor="white"
    )
    return fig


def curves_figure(curves, tr: Tr = _en) -> go.Figure:
    """Deletion (vermillion) and insertion (blue) curves of the map's pixel order, and the random-order
    references dashed, each with its area under the curve in the legend.

    A faithful map makes deletion fall faster (smaller area) and insertion rise faster (larger area)
    than a random order. When ``curves`` carries the random curves (``random_deletion``,
    ``random_insertion``) they are drawn; otherwise the random order is drawn as its average level,
    a flat dashed line with the same area.
    """
    x = list(curves.fractions)
    fig = go.Figure()
    for kind, colour, ys, auc, rys, rauc in (
        (
            "deletion",
            AGAINST,
            curves.deletion,
            curves.deletion_auc,
            getattr(curves, "random_deletion", None),
            curves.random_deletion_auc,
        ),
        (
            "insertion",
            FOR,
            curves.insertion,
            curves.insertion_auc,
            getattr(curves, "random_insertion", None),
            curves.random_insertion_auc,
        ),
    ):
        drawn = rys is not None and len(rys) == len(x)
        if kind == "deletion":
            label = tr("deletion, most important first (on average {auc:.0%})", auc=auc)
            rlabel = (
                tr("deletion, random order (on average {auc:.0%})", auc=rauc)
                if drawn
                else tr("deletion, random order, its average (on average {auc:.0%})", auc=rauc)
            )
        else:
            label = tr("insertion, most important first (on average {auc:.0%})", auc=auc)
            rlabel = (
                tr("insertion, random order (on average {auc:.0%})", auc=rauc)
                if drawn
                else tr("insertion, random order, its average (on average {auc:.0%})", auc=rauc)
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(ys),
                name=label,
                mode="lines+markers",
                marker=dict(size=5),
                line=dict(color=colour, width=2.5),
                hovertemplate="%{x:.0%}: %{y:.1%}<extra></extra>",
            )
        )
        ry = [float(v) for v in rys] if drawn else [rauc] * len(x)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ry,
                name=rlabel,
                mode="lines",
                line=dict(color=colour, width=2, dash="dash"),
                hovertemplate="%{x:.0%}: %{y:.1%}<extra></extra>",
            )
        )
    fig.update_xaxes(
        title=tr("share of pixels removed (deletion) or put back (insertion)"), range=[0, 1], tickformat=".0%"
    )
    fig.update_yaxes(title=tr("probability of the class"), range=[0, 1.02], tickformat=".0%")
    fig.update_layout(
        height=420,
        margin=dict(l=10, r=10, t=10, b=110),
        template="plotly_white",
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0),
        hovermode="x unified",
    )
    return fig


def _randomisation_threshold(r) -> float | None:
    """The rule's fixed ceiling, which every result carries (``Randomisation.threshold``): plots never import
    dlviz.explain, which imports plots."""
    t = getattr(r, "threshold", None)
    return None if t is None else float(t)


def randomisation_figure(r, tr: Tr = _en) -> go.Figure:
    """Similarity of the map to the trained model's map as more layers are randomised (output side first),
    as signed numbers and as |map| (Adebayo et al. 2018 report both), beside the model-free reference (what a
    map of the input alone scores) and the pass line of the rule (docs/explain-checks.md).

    A map that explains the model falls below the dashed pass line on both; one that stays high shows the
    image more than what the model learned.
    """
    steps = [tr("+ {layer}", layer=name) for name in r.layers]
    x = [tr("trained weights")] + steps
    colour = FOR if r.passed else AGAINST
    signed, absolute = list(getattr(r, "signed", []) or []), list(getattr(r, "absolute", []) or [])
    fig = go.Figure()
    if signed and absolute:
        ys = [[1.0] + [float(v) for v in absolute], [1.0] + [float(v) for v in signed]]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ys[0],
                mode="lines+markers",
                line=dict(color=colour, width=2.5),
                marker=dict(size=8),
                name=tr("absolute (|map|)"),
                hovertemplate="%{x}: %{y:.2f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ys[1],
                mode="lines+markers",
                line=dict(color=colour, width=2, dash="dot"),
                marker=dict(size=7, symbol="diamond"),
                name=tr("signed"),
                hovertemplate="%{x}: %{y:.2f}<extra></extra>",
            )
        )
        y = ys[0] + ys[1]
    else:
        y = [1.0] + [float(s) for s in r.similarity]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                line=dict(color=colour, width=2.5),
                marker=dict(size=8),
                name=tr("similarity to the trained model's map"),
                hovertemplate="%{x}: %{y:.2f}<extra></extra>",
            )
        )
    bar = getattr(r, "bar", None)
    t = float(bar) if bar is not None else _randomisation_threshold(r)
    if t is not None:
        fig.add_hline(
            y=t,
            line=dict(color="#6B7280", dash="dash", width=1.5),
            annotation_text=tr("pass below {t:.2f}", t=t),
            annotation_position="top right",
        )
        if min(y) < -t:  # the rule reads |similarity|: a reversed map (far below zero) is as tied as a kept one
            fig.add_hline(
                y=-t,
                line=dict(color="#6B7280", dash="dash", width=1.5),
                annotation_text=tr("and above {t:.2f}", t=-t),
                annotation_position="bottom right",
            )
    ref = getattr(r, "reference", None)
    if ref is not None and math.isfinite(ref):
        fig.add_hline(
            y=float(ref),
            line=dict(color="#9CA3AF", dash="dot", width=1.5),
            annotation_text=tr("a map of the input alone: {r:.2f}", r=float(ref)),
            annotation_position="bottom left",
        )
    fig.update_xaxes(title=tr("layers randomised, output side first"), type="category", tickangle=-30)
    fig.update_yaxes(title=tr("rank correlation with the original map"), range=[min(-0.2, min(y) - 0.05), 1.05])
    fig.update_layout(
        height=340,
        margin=dict(l=10, r=10, t=20, b=10),
        template="plotly_white",
        showlegend=bool(signed and absolute),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0),
    )
    return fig
