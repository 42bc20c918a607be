"""An autoencoder's latent space: every test image as a point, coloured by its label (Plotly, no streamlit)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dlviz.plots.embedding import class_colour
from dlviz.plots.figures import Tr, _en
from dlviz.plots.safe import as_text


def latent_scatter(
    points: np.ndarray,
    labels: Sequence[int],
    classes: Sequence[str],
    tr: Tr = _en,
    marker: tuple[float, float] | None = None,
    path: np.ndarray | None = None,
    axis_names: tuple[str, str] = ("z1", "z2"),
) -> go.Figure:
    """Points (N, 2) coloured by class; ``customdata`` holds each point's index into the images, so a click can
    show the image. ``marker``: where the latent walk is now; ``path``: the walk's points (M, 2)."""
    labels = np.asarray(labels)
    fig = go.Figure()
    for k, name in enumerate(classes):
        idx = np.nonzero(labels == k)[0]
        if not len(idx):
            continue
        fig.add_trace(
            go.Scattergl(
                x=points[idx, 0],
                y=points[idx, 1],
                mode="markers",
                name=as_text(name),
                marker=dict(size=5, color=class_colour(k), opacity=0.75),
                customdata=idx,
                hovertemplate=as_text(tr("{name}, test image #", name=name)) + "%{customdata}<extra></extra>",
            )
        )
    if path is not None and len(path):
        fig.add_trace(
            go.Scatter(
                x=path[:, 0],
                y=path[:, 1],
                mode="lines",
                name=tr("the walk"),
                line=dict(color="#111827", width=2, dash="dot"),
                hoverinfo="skip",
            )
        )
    if marker is not None:
        fig.add_trace(
            go.Scatter(
                x=[marker[0]],
                y=[marker[1]],
                mode="markers",
                name=tr("decoded now"),
                marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color="#111827", width=3)),
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        height=460,
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(itemsizing="constant"),
        xaxis_title=axis_names[0],
        yaxis_title=axis_names[1],
        clickmode="event+select",
    )
    return fig
