"""Several runs' loss and accuracy curves on one chart (the Runs page's comparison)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dlviz.plots.figures import Tr, _en
from dlviz.plots.safe import as_text

# Okabe-Ito (colour-blind safe), then a few more distinct ones
RUN_COLOURS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
    "#7F7F7F",
    "#8C564B",
)


def compare_curves(runs: Sequence[tuple[str, Sequence, Sequence]], tr: Tr = _en, height: int = 380) -> go.Figure:
    """``runs`` as (name, train rows, validation rows), rows (step, epoch, loss, accuracy).

    One colour per run: validation solid with markers, training dotted; loss on the left, accuracy
    on the right, both against epochs so runs of different batch sizes line up.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=(tr("Loss"), tr("Accuracy")), horizontal_spacing=0.1)
    for i, (name, train, val) in enumerate(runs):
        name = as_text(name).replace("%{", "%\u200b{")  # shown as typed; no HTML, no hover template field
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        shown = False
        for rows, part, dash, mode in (
            (val, tr("validation"), "solid", "lines+markers"),
            (train, tr("training"), "dot", "lines"),
        ):
            if not rows:
                continue
            a = np.asarray(rows, dtype=float)
            label = f"{name} · {part}"
            for col, j in ((1, 2), (2, 3)):
                fig.add_trace(
                    go.Scatter(
                        x=a[:, 1],
                        y=a[:, j],
                        name=name,
                        mode=mode,
                        legendgroup=name,
                        showlegend=col == 1 and not shown,
                        line=dict(color=colour, width=2 if dash == "solid" else 1.3, dash=dash),
                        opacity=1.0 if dash == "solid" else 0.75,
                        hovertemplate=f"{tr('epoch')} %{{x:.2f}}: %{{y:.4f}}<extra>{label}</extra>",
                    ),
                    row=1,
                    col=col,
                )
            shown = True
    fig.update_xaxes(title_text=tr("epoch"), rangemode="tozero")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.0], tickformat=".0%", row=1, col=2)
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.22), uirevision="compare"
    )
    return fig
