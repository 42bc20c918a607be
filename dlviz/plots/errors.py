"""The confusion matrix as a clickable grid (scatter with square markers: heatmaps give no selection)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from dlviz.plots.figures import Tr, _en
from dlviz.plots.safe import as_text


def _shade(frac: float, rgb: tuple[int, int, int]) -> str:
    """White (0) to ``rgb`` (1)."""
    f = 0.12 + 0.88 * frac if frac > 0 else 0.0
    r, g, b = (round(255 + (c - 255) * f) for c in rgb)
    return f"rgb({r},{g},{b})"


def confusion_grid(
    conf: np.ndarray, classes: Sequence[str], tr: Tr = _en, selected: tuple[int, int] | None = None
) -> go.Figure:
    """Rows are the true class, columns the prediction; blue diagonal (right), vermillion off it (wrong).

    Shades grow with the square root of the count so that the few mistakes stay visible next to the
    ~1,000 right answers per class. Each cell carries (true, predicted) in ``customdata``.
    """
    conf = np.asarray(conf)
    k = len(classes)
    diag_max = max(int(np.diag(conf).max()), 1)
    off = conf.copy()
    np.fill_diagonal(off, 0)
    off_max = max(int(off.max()), 1)
    xs, ys, colours, texts, custom, hover, lines = [], [], [], [], [], [], []
    for t in range(k):
        for p in range(k):
            n = int(conf[t, p])
            right = t == p
            frac = np.sqrt(n / (diag_max if right else off_max))
            xs.append(p)
            ys.append(t)
            colours.append(_shade(frac, (0, 114, 178) if right else (213, 94, 0)))
            texts.append(str(n) if n else "")
            custom.append([t, p])
            hover.append(
                tr("true {true}, predicted {pred}: {n} images", true=as_text(classes[t]), pred=as_text(classes[p]), n=n)
            )
            lines.append(3 if selected == (t, p) else 0.5)
    size = max(14, min(36, 380 // k))  # pixels; the grid is about 10 squares of 38 px across
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=texts,
            customdata=custom,
            hovertext=hover,
            hoverinfo="text",
            textfont=dict(
                size=11,
                color=[
                    "white" if (c.startswith("rgb(") and sum(map(int, c[4:-1].split(","))) < 420) else "#111827"
                    for c in colours
                ],
            ),
            marker=dict(
                symbol="square",
                size=size,
                color=colours,
                line=dict(width=lines, color=["#111827" if w > 1 else "#D1D5DB" for w in lines]),
            ),
        )
    )
    ticks = dict(tickmode="array", tickvals=list(range(k)), ticktext=[as_text(c) for c in classes])
    fig.update_xaxes(
        title=tr("predicted class"), side="top", range=[-0.6, k - 0.4], showgrid=False, zeroline=False, **ticks
    )
    fig.update_yaxes(
        title=tr("true class"), autorange="reversed", showgrid=False, zeroline=False, scaleanchor="x", **ticks
    )
    fig.update_layout(
        height=round(size * 1.08 * k) + 90,
        margin=dict(l=10, r=10, t=60, b=10),
        template="plotly_white",
        clickmode="event+select",
        dragmode=False,
        showlegend=False,
    )
    return fig
