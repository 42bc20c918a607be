"""Figures for data, training and predictions.

Colours are from the Okabe-Ito palette (colour-blind safe): blue for right, vermillion for wrong,
as the course's prediction figure uses blue/red.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dlviz.i18n import translate
from dlviz.plots.safe import as_text

CORRECT = "#0072B2"
WRONG = "#D55E00"
NEUTRAL = "#9CA3AF"
TRAIN_COLOUR = "#0072B2"
VAL_COLOUR = "#E69F00"

Tr = Callable[..., str]


def _en(text: str, **kw) -> str:
    return translate(text, "en", **kw)


def training_curves(
    train: Sequence[Sequence[float]],
    val: Sequence[Sequence[float]],
    tr: Tr = _en,
    height: int = 340,
    metric: str = "Accuracy",
) -> go.Figure:
    """Loss and the task's metric against epochs. Rows are (step, epoch, loss, metric). ``metric``: its English
    title; "Accuracy" is drawn as a percentage from 0 to 100, any other (an autoencoder's error) as a number."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(tr("Loss"), tr(metric)), horizontal_spacing=0.1)
    for rows, name, colour, mode in (
        (train, tr("training"), TRAIN_COLOUR, "lines"),
        (val, tr("validation"), VAL_COLOUR, "lines+markers"),
    ):
        if not rows:
            continue
        a = np.asarray(rows, dtype=float)
        for col, j in ((1, 2), (2, 3)):
            fig.add_trace(
                go.Scatter(
                    x=a[:, 1],
                    y=a[:, j],
                    name=name,
                    mode=mode,
                    legendgroup=name,
                    showlegend=col == 1,
                    line=dict(color=colour, width=2),
                    hovertemplate=f"{tr('epoch')} %{{x:.2f}}: %{{y:.4f}}<extra>{name}</extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text=tr("epoch"), rangemode="tozero")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    if metric == "Accuracy":
        fig.update_yaxes(range=[0, 1.0], tickformat=".0%", row=1, col=2)
    else:
        fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2), uirevision="curves"
    )  # keep zoom while the live chart redraws
    return fig


def class_balance(counts: Sequence[int], classes: Sequence[str], tr: Tr = _en, title: str = "") -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[as_text(c) for c in classes],
            y=list(counts),
            marker_color=CORRECT,
            text=[f"{c:,}" for c in counts],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_layout(
        title=title,
        height=300,
        margin=dict(l=10, r=10, t=40, b=10),
        yaxis_title=tr("images"),
        xaxis=dict(type="category"),
    )
    return fig


def picture(image: np.ndarray) -> go.BaseTraceType:
    """One stored image as a trace: a grey (H, W) uint8 image as a heatmap, dark ink on white (the y axis points
    up, so the rows are flipped); a colour (H, W, 3) one as itself (an Image trace, rows top down)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 3:
        return go.Image(z=image, hoverinfo="skip")
    return go.Heatmap(z=image[::-1], colorscale="gray_r", showscale=False, zmin=0, zmax=255, hoverinfo="skip")


def guess_histogram(
    counts: Sequence[int], choices: Sequence[str], answer: int | None = None, tr: Tr = _en, title: str = ""
) -> go.Figure:
    """The class's guesses on a lesson's question: one bar per choice (horizontal, long choices read in full); with
    ``answer`` (once revealed) the right choice's bar in the "correct" colour and the others grey."""
    colours = [CORRECT if answer is None or i == answer else "#BBBBBB" for i in range(len(counts))]
    fig = go.Figure(
        go.Bar(
            y=[as_text(c) for c in choices],
            x=list(counts),
            orientation="h",
            marker_color=colours,
            text=[f"{c:,}" for c in counts],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_layout(
        title=title,
        height=80 + 44 * len(counts),
        margin=dict(l=10, r=30, t=40 if title else 10, b=10),
        xaxis=dict(title=tr("students"), rangemode="tozero", dtick=max(1, -(-max([*counts, 1]) // 5))),
        yaxis=dict(type="category", autorange="reversed"),
    )
    return fig


def image_grid(images: np.ndarray, captions: Sequence[str], cols: int = 10, cell: int = 84) -> go.Figure:
    """A grid of grayscale images (N, H, W) uint8, or colour ones (N, H, W, 3), with a caption under each.

    The figure is the one ``plotly.subplots.make_subplots`` draws (same domains, axes and titles), written out as
    one layout: make_subplots and its per-cell updates cost 0.2-0.5 s for a 20-image grid, which every new session
    of a lesson's first page paid (issue 18, bench/lesson_open.py)."""
    n = len(images)
    rows = max(1, -(-n // cols))
    h_space = 0.01
    v_space = 0.08 / max(rows, 1) * 2
    width = (1.0 - h_space * (cols - 1)) / cols
    height = (1.0 - v_space * (rows - 1)) / rows
    layout: dict = {}
    titles = list(captions) + [""] * (rows * cols - n)
    annotations = []
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        suffix = "" if i == 0 else str(i + 1)
        x0 = c * (width + h_space)
        y0 = (rows - 1 - r) * (height + v_space)  # the first row on top
        x_dom = [max(0.0, x0), min(1.0, x0 + width)]
        y_dom = [max(0.0, y0), min(1.0, y0 + height)]
        layout[f"xaxis{suffix}"] = dict(anchor=f"y{suffix}", domain=x_dom, visible=False)
        layout[f"yaxis{suffix}"] = dict(
            anchor=f"x{suffix}", domain=y_dom, visible=False, scaleanchor=f"x{suffix}", constrain="domain"
        )
        if titles[i]:
            annotations.append(
                dict(
                    font=dict(size=12),
                    showarrow=False,
                    text=titles[i],
                    x=(x_dom[0] + x_dom[1]) / 2,
                    xanchor="center",
                    xref="paper",
                    y=y_dom[1],
                    yanchor="bottom",
                    yref="paper",
                )
            )
    traces = []
    for i in range(n):
        trace = picture(images[i])
        suffix = "" if i == 0 else str(i + 1)
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        traces.append(trace)
    layout.update(annotations=annotations, height=rows * cell + 30, margin=dict(l=0, r=0, t=25, b=0))
    return go.Figure(data=traces, layout=layout)


def tile(images: np.ndarray, cols: int = 8, gap: int = 2, fill: float = 0) -> np.ndarray:
    """Images (N, H, W) side by side in rows of ``cols``, ``gap`` pixels of ``fill`` between them: one array."""
    images = np.asarray(images)
    n, h, w = images.shape
    rows = max(1, -(-n // cols))
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), fill, dtype=float)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = images[i]
    return out


def image_sheet(images: np.ndarray, cols: int = 8, title: str = "", height: int = 360, gap: int = 2) -> go.Figure:
    """Grey images (N, H, W) uint8 as one picture, ``cols`` to a row, no captions: a single heatmap, cheap
    enough to redraw twice a second (a GAN's samples; inputs beside reconstructions). Ink is dark on white,
    as ``image_grid`` draws digits."""
    sheet = tile(images, cols, gap, fill=np.nan)
    fig = go.Figure(go.Heatmap(z=sheet, colorscale="gray_r", showscale=False, zmin=0, zmax=255, hoverinfo="skip"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=30 if title else 0, b=0),
        title=dict(text=as_text(title), x=0.5, xanchor="center", font=dict(size=14)) if title else None,
        plot_bgcolor="white",
        uirevision="sheet",
    )
    return fig


def probability_bars(
    probs: Sequence[float], true_label: int | None, classes: Sequence[str], tr: Tr = _en, height: int = 220
) -> go.Figure:
    """The course's bar chart: predicted class blue if right, vermillion if wrong; the true class blue."""
    probs = list(probs)
    pred = int(np.argmax(probs))
    colours = [NEUTRAL] * len(probs)
    if true_label is not None:
        colours[true_label] = CORRECT
        if pred != true_label:
            colours[pred] = WRONG
    else:
        colours[pred] = CORRECT
    fig = go.Figure(
        go.Bar(
            x=[as_text(c) for c in classes],
            y=probs,
            marker_color=colours,
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        yaxis=dict(range=[0, 1], tickformat=".0%"),
        xaxis=dict(type="category"),
        showlegend=False,
    )
    return fig


def prediction_gallery(
    images: np.ndarray, probs: np.ndarray, labels: Sequence[int], classes: Sequence[str], tr: Tr = _en, cols: int = 3
) -> go.Figure:
    """The course's figure: each test image beside its class probabilities, titled "pred p% (true)".

    Right predictions are blue, wrong ones vermillion (title and bar).
    """
    n = len(images)
    rows = max(1, -(-n // cols))
    titles = []
    for i in range(rows * cols):
        if i < n:
            pred = int(np.argmax(probs[i]))
            ok = pred == labels[i]
            colour = CORRECT if ok else WRONG
            titles += [
                f"<span style='color:{colour}'>{as_text(classes[pred])} {probs[i][pred]:.0%} ({as_text(classes[labels[i]])})"
                f"</span>",
                "",
            ]
        else:
            titles += ["", ""]
    fig = make_subplots(
        rows=rows,
        cols=cols * 2,
        subplot_titles=titles,
        horizontal_spacing=0.02,
        vertical_spacing=0.12 / max(1, rows / 3),
        column_widths=[1, 2] * cols,
    )
    for i in range(n):
        r, c = i // cols + 1, (i % cols) * 2 + 1
        fig.add_trace(picture(images[i]), row=r, col=c)
        pred = int(np.argmax(probs[i]))
        colours = [NEUTRAL] * len(classes)
        colours[labels[i]] = CORRECT
        if pred != labels[i]:
            colours[pred] = WRONG
        fig.add_trace(
            go.Bar(
                x=list(range(len(classes))),
                y=probs[i],
                marker_color=colours,
                customdata=[as_text(c) for c in classes],
                hovertemplate="%{customdata}: %{y:.1%}<extra></extra>",
            ),
            row=r,
            col=c + 1,
        )
        fig.update_yaxes(range=[0, 1], visible=False, row=r, col=c + 1)
        fig.update_xaxes(tickmode="array", tickvals=list(range(len(classes))), tickfont=dict(size=9), row=r, col=c + 1)
        fig.update_xaxes(visible=False, row=r, col=c)
        fig.update_yaxes(
            visible=False, scaleanchor=f"x{(r - 1) * cols * 2 + c if (r, c) != (1, 1) else ''}", row=r, col=c
        )
    for ann in fig.layout.annotations:
        ann.font.size = 14
        ann.xshift = 0
    fig.update_layout(height=rows * 130 + 40, margin=dict(l=5, r=5, t=30, b=5), showlegend=False, bargap=0.15)
    return fig
