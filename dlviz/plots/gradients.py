"""Figures for gradient flow: norms over training, the depth profile, histograms over time."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from dlviz.plots.figures import Tr, _en
from dlviz.plots.safe import as_text

# Okabe-Ito, then greys: colour-blind safe, and enough for the deep presets' nine layers
LAYER_COLOURS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#6B7280",
    "#9CA3AF",
    "#374151",
    "#B45309",
]
RUN_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return fig


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average in log space (norms span decades), NaN-tolerant."""
    if window <= 1 or len(y) < 3:
        return y
    logy = np.log(np.where(y > 0, y, np.nan))
    ok = np.isfinite(logy)
    kernel = np.ones(window)
    num = np.convolve(np.where(ok, logy, 0.0), kernel, mode="same")
    den = np.convolve(ok.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.exp(num / den)


def gradient_flow(record: dict, tr: Tr = _en, max_points: int = 800) -> go.Figure:
    """Per-layer gradient norm over training (log scale): one line per layer, input side first.

    Single steps are noisy (each batch is different), so each layer is drawn as a faint line of the
    raw values under a bold moving average over about 2% of the run.
    """
    epochs = np.asarray(record["epochs"], dtype=float)
    norms = np.asarray(record["norms"], dtype=float)  # (S, L)
    stride = max(1, len(epochs) // max_points)  # the browser needs no more points than pixels
    window = max(1, len(epochs) // 50)
    fig = go.Figure()
    for j, name in enumerate(record["layers"]):
        colour = LAYER_COLOURS[j % len(LAYER_COLOURS)]
        y = norms[:, j]
        if window > 1:
            fig.add_trace(
                go.Scattergl(
                    x=epochs[::stride],
                    y=np.where(y > 0, y, np.nan)[::stride],
                    mode="lines",
                    line=dict(width=1, color=colour),
                    opacity=0.25,
                    showlegend=False,
                    hoverinfo="skip",
                    legendgroup=name,
                )
            )
        fig.add_trace(
            go.Scattergl(
                x=epochs[::stride],
                y=_smooth(y, window)[::stride],
                mode="lines",
                name=name,
                legendgroup=name,
                line=dict(width=2.2, color=colour),
            )
        )
    fig.update_xaxes(title=tr("epoch"))
    fig.update_yaxes(title=tr("gradient norm (log scale)"), type="log", exponentformat="power")
    return _layout(fig, 360)


def depth_profile(profiles: Sequence[tuple[str, Sequence[str], Sequence[float]]], tr: Tr = _en) -> go.Figure:
    """Typical per-weight gradient of each layer, from input to output, one line per run (log scale).

    ``profiles`` holds (run label, layer names, typical RMS per layer). A line that falls steeply
    towards the input is the vanishing-gradient picture.
    """
    fig = go.Figure()
    for k, (label, names, rms) in enumerate(profiles):
        label = as_text(label).replace("%{", "%\u200b{")  # a run's name: shown as typed, no HTML or template field
        x = list(range(1, len(rms) + 1))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[v if v > 0 else None for v in rms],
                mode="lines+markers",
                name=label,
                text=[as_text(n) for n in names],
                line=dict(width=2.5, color=RUN_COLOURS[k % len(RUN_COLOURS)]),
                marker=dict(size=8),
                hovertemplate="%{text}: %{y:.2e}<extra>" + label.replace("<", "&lt;") + "</extra>",
            )
        )
    fig.update_xaxes(title=tr("layer with weights, from input (1) to output"), dtick=1)
    fig.update_yaxes(title=tr("typical gradient per weight (log scale)"), type="log", exponentformat="power")
    return _layout(fig, 360)


def histogram_ridges(hists: Sequence[dict], layer: str, kind: str, steps_per_epoch: int, tr: Tr = _en) -> go.Figure:
    """TensorBoard-style ridgeline: one histogram per recorded step, later ones lower and darker."""
    rows = [h for h in hists if h["layer"] == layer and h["kind"] == kind]
    rows.sort(key=lambda h: h["step"])
    fig = go.Figure()
    n = len(rows)
    for i, h in enumerate(rows):
        counts = np.asarray(h["counts"], dtype=float)
        edges = np.linspace(h["lo"], h["hi"], len(counts) + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        height = counts / max(counts.max(), 1) * 1.6  # ridges overlap a little, as in TensorBoard
        offset = n - 1 - i
        shade = int(200 - 170 * i / max(n - 1, 1))  # early: light, late: dark
        colour = f"rgb({shade // 3},{shade // 2 + 40},{min(255, shade + 60)})"
        epoch = h["step"] / max(steps_per_epoch, 1)
        label = tr("step {step} (epoch {epoch:.2f})", step=h["step"], epoch=epoch)
        fig.add_trace(
            go.Scatter(
                x=centres,
                y=offset + height,
                mode="lines",
                line=dict(color=colour, width=1.5),
                name=label,
                showlegend=False,
                hovertemplate=label + "<br>%{x:.3g}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[centres[0], centres[-1]],
                y=[offset, offset],
                mode="lines",
                showlegend=False,
                line=dict(color="#E5E7EB", width=1),
                hoverinfo="skip",
            )
        )
    fig.update_yaxes(
        showticklabels=True,
        tickvals=[n - 1 - i for i in range(n)][:: max(1, n // 6)],
        ticktext=[tr("step {step}", step=h["step"]) for h in rows][:: max(1, n // 6)],
        title=tr("training time (later rows lower)"),
    )
    fig.update_xaxes(title=tr("weight value") if kind == "weight" else tr("gradient value"), exponentformat="power")
    return _layout(fig, 420)
