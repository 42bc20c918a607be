"""A GAN's training curves: the two players' losses, and the discriminator's accuracy on real and on fake."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dlviz.plots.figures import TRAIN_COLOUR, VAL_COLOUR, Tr, _en

GENERATOR_COLOUR = TRAIN_COLOUR  # blue
DISCRIMINATOR_COLOUR = VAL_COLOUR  # orange
REAL_COLOUR = "#CC79A7"  # reddish purple (Okabe-Ito)
FAKE_COLOUR = "#009E73"  # green


def gan_curves(train: Sequence[Sequence[float]], tr: Tr = _en, height: int = 320) -> go.Figure:
    """Rows ``[step, epoch, generator loss, discriminator accuracy, discriminator loss, real acc, fake acc]``:
    the losses on the left, the discriminator's accuracy on real and on generated images on the right (50%
    dotted: a discriminator that cannot tell them apart)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(tr("Losses"), tr("Discriminator accuracy")),
        horizontal_spacing=0.1,
    )
    rows = [r for r in train if len(r) >= 7]
    if rows:
        a = np.asarray(rows, dtype=float)
        for col, j, name, colour in (
            (1, 2, tr("generator"), GENERATOR_COLOUR),
            (1, 4, tr("discriminator"), DISCRIMINATOR_COLOUR),
            (2, 5, tr("on real digits"), REAL_COLOUR),
            (2, 6, tr("on generated digits"), FAKE_COLOUR),
        ):
            fig.add_trace(
                go.Scatter(
                    x=a[:, 1],
                    y=a[:, j],
                    name=name,
                    mode="lines",
                    line=dict(color=colour, width=2, dash="dot" if j == 6 else None),
                    hovertemplate=f"{tr('epoch')} %{{x:.2f}}: %{{y:.3f}}<extra>{name}</extra>",
                ),
                row=1,
                col=col,
            )
    fig.add_hline(y=0.5, line=dict(color="#9CA3AF", dash="dot", width=1), row=1, col=2)
    fig.update_xaxes(title_text=tr("epoch"), rangemode="tozero")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25), uirevision="gan"
    )
    return fig
