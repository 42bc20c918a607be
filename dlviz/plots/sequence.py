"""Recurrent layers over time: hidden states and LSTM gates as heat maps, the tokens along the x axis.

Values are (T, U) arrays: one row per time step (token), one column per unit. The figures put time
on the x axis (reading order, left to right) and the units down the y axis. Hidden states of tanh
RNNs/LSTMs/GRUs live in (-1, 1): a diverging blue-white-vermillion scale centred at zero. Gates are
sigmoids in (0, 1): a sequential scale from white (closed) to dark blue (open).
"""

from __future__ import annotations

import html
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dlviz.plots.attention import _hover_names, token_categories, token_labels
from dlviz.plots.figures import CORRECT, Tr, _en

DIVERGING = [[0.0, "#D55E00"], [0.25, "#F0B48A"], [0.5, "#FFFFFF"], [0.75, "#8CC1E3"], [1.0, "#0072B2"]]
SEQUENTIAL = [[0.0, "#FFFFFF"], [0.5, "#56B4E9"], [1.0, "#00304D"]]
CLASS_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]


def _as_array(values) -> np.ndarray:
    a = values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
    return a.astype(np.float64, copy=False)


def unit_order(values, sort: str | None) -> np.ndarray:
    """Unit indices in display order: as built (None), or by the value at the last step ("final")."""
    a = _as_array(values)
    if sort == "final" and a.shape[0]:
        return np.argsort(-a[-1], kind="stable")
    return np.arange(a.shape[1])


def _time_axis(fig: go.Figure, n: int, labels: list[str], **where) -> None:
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(n)),
        ticktext=labels,
        tickangle=-60 if n > 8 else 0,
        tickfont=dict(size=12 if n <= 30 else 9),
        showgrid=False,
        zeroline=False,
        **where,
    )


def _token_axis(fig: go.Figure, cats: list[str], **where) -> None:
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=cats,
        tickangle=-60 if len(cats) > 8 else 0,
        tickfont=dict(size=12 if len(cats) <= 30 else 9),
        showgrid=False,
        zeroline=False,
        dtick=1 if len(cats) <= 40 else None,
        **where,
    )


def state_heatmap(
    values,
    tokens: Sequence[str],
    unknown: Sequence[bool] | None = None,
    title: str = "",
    kind: str = "hidden",
    sort: str | None = None,
    tr: Tr = _en,
    height: int = 0,
    sort_by=None,
) -> go.Figure:
    """(T, U) values as a units x time heat map. ``kind``: "hidden" and "cell" diverge around 0, "gate" is 0..1.

    ``sort`` "final" orders the units by their value at the last step, of ``sort_by`` (T, U) when given
    (so the cell state can follow the hidden state's order).
    """
    a = _as_array(values)
    if a.ndim != 2 or a.shape[0] != len(tokens):
        raise ValueError(f"values of shape {a.shape} do not match {len(tokens)} tokens")
    n, units = a.shape
    order = unit_order(a if sort_by is None else sort_by, sort)
    z = a[:, order].T  # (U, T)
    cats = token_categories(tokens, unknown)
    unit_names = [str(u + 1) for u in order]  # units keep their own numbers in any order
    if kind == "gate":
        scale, zmin, zmax, zmid = SEQUENTIAL, 0.0, 1.0, None
    else:
        m = 1.0 if kind == "hidden" else max(float(np.abs(a).max(initial=0.0)), 1e-6)
        scale, zmin, zmax, zmid = DIVERGING, -m, m, 0.0
    fig = go.Figure(
        go.Heatmap(
            z=z.astype(np.float32),
            x=cats,
            y=unit_names,
            colorscale=scale,
            zmin=zmin,
            zmax=zmax,
            zmid=zmid,
            colorbar=dict(thickness=12),
            hovertemplate=tr("after {token}: unit {unit} = {value}", token="%{x}", unit="%{y}", value="%{z:.3f}")
            + "<extra></extra>",
        )
    )
    _token_axis(fig, cats)
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=unit_names,
        autorange="reversed",
        showticklabels=units <= 32,
        title_text=tr("unit"),
        showgrid=False,
    )
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        height=height or int(np.clip(6 * units + 160, 260, 720)),
    )
    return fig


def gate_grid(
    gates: dict[str, object],
    tokens: Sequence[str],
    unknown: Sequence[bool] | None = None,
    titles: dict[str, str] | None = None,
    sort_by=None,
    tr: Tr = _en,
    height_per: int = 0,
) -> go.Figure:
    """Several (T, U) maps stacked, sharing the time axis: e.g. an LSTM's input, forget and output gates.

    Gates share one 0..1 scale; the same unit order (``sort_by``: a (T, U) array, by its last step) in every map.
    """
    keys = list(gates)
    if not keys:
        raise ValueError("no gates to show")
    arrays = [_as_array(gates[k]) for k in keys]
    n, units = arrays[0].shape
    if n != len(tokens):
        raise ValueError(f"gates with {n} steps do not match {len(tokens)} tokens")
    order = unit_order(sort_by, "final") if sort_by is not None else np.arange(units)
    titles = titles or {}
    fig = make_subplots(
        rows=len(keys),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[titles.get(k, k) for k in keys],
    )
    cats = token_categories(tokens, unknown)
    unit_names = [str(u + 1) for u in order]
    for r, (k, a) in enumerate(zip(keys, arrays), start=1):
        fig.add_trace(
            go.Heatmap(
                z=a[:, order].T.astype(np.float32),
                x=cats,
                y=unit_names,
                coloraxis="coloraxis",
                hovertemplate=f"{titles.get(k, k)}<br>"
                + tr("after {token}: unit {unit} = {value}", token="%{x}", unit="%{y}", value="%{z:.3f}")
                + "<extra></extra>",
            ),
            row=r,
            col=1,
        )
        fig.update_yaxes(
            type="category",
            categoryorder="array",
            categoryarray=unit_names,
            autorange="reversed",
            showticklabels=False,
            title_text=tr("unit"),
            showgrid=False,
            row=r,
            col=1,
        )
        _token_axis(fig, cats, row=r, col=1)
    fig.update_xaxes(showticklabels=False)
    fig.update_xaxes(showticklabels=True, row=len(keys), col=1)
    per = height_per or int(np.clip(3 * units + 90, 150, 320))
    fig.update_layout(
        coloraxis=dict(colorscale=SEQUENTIAL, cmin=0, cmax=1, colorbar=dict(thickness=12)),
        height=per * len(keys) + 80,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    for ann in fig.layout.annotations:
        ann.font.size = 13
    return fig


def step_change(
    values, tokens: Sequence[str], unknown: Sequence[bool] | None = None, tr: Tr = _en, height: int = 240
) -> go.Figure:
    """How far each token moves the state: the length of h_t - h_(t-1) (h_0 = 0), one bar per token."""
    a = _as_array(values)
    prev = np.vstack([np.zeros((1, a.shape[1])), a[:-1]]) if len(a) else a
    change = np.linalg.norm(a - prev, axis=1) if len(a) else np.zeros(0)
    n = len(tokens)
    fig = go.Figure(
        go.Bar(
            x=list(range(n)),
            y=change,
            marker_color=CORRECT,
            customdata=_hover_names(tokens),
            hovertemplate=tr("{token} changes the state by {value}", token="%{customdata}", value="%{y:.3f}")
            + "<extra></extra>",
        )
    )
    _time_axis(fig, n, token_labels(tokens, unknown))
    fig.update_yaxes(title_text=tr("change"), rangemode="tozero")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False)
    return fig


def prediction_over_time(
    probs,
    tokens: Sequence[str],
    classes: Sequence[str],
    unknown: Sequence[bool] | None = None,
    tr: Tr = _en,
    height: int = 280,
) -> go.Figure:
    """(T, C) class probabilities after reading the first t tokens: how the decision builds up word by word."""
    p = _as_array(probs)
    n = len(tokens)
    if p.shape[0] != n:
        raise ValueError(f"probabilities for {p.shape[0]} steps do not match {n} tokens")
    fig = go.Figure()
    names = _hover_names(tokens)
    for c, name in enumerate(classes):
        label = html.escape(str(name), quote=False)
        fig.add_trace(
            go.Scatter(
                x=list(range(n)),
                y=p[:, c],
                mode="lines+markers",
                name=label,
                line=dict(color=CLASS_COLOURS[c % len(CLASS_COLOURS)], width=2),
                customdata=names,
                hovertemplate=tr("after {token}: {cls} {p}", token="%{customdata}", cls=label, p="%{y:.1%}")
                + "<extra></extra>",
            )
        )
    _time_axis(fig, n, token_labels(tokens, unknown))
    # a little room past 0 and 1 so the points there are whole; the legend sits above the plot, in its own
    # margin (at y=1.12 with a 10 px margin it covered the points at 100%)
    fig.update_yaxes(range=[-0.04, 1.04], tickformat=".0%", title_text=tr("probability"))
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=34, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"),
    )
    return fig
