"""Attention figures: token x token heat maps (every layer and head), a head view, attention rollout.

Every token shown is user text. Plotly renders trace and axis text as a small HTML subset (``<b>``,
``<i>``, ``<a href>``, ``<span style>``...) and turns ``&lt;`` back into ``<``; so tokens go through
:func:`token_label` (``html.escape``) and a token such as ``<b>`` or ``<script>`` shows literally
instead of styling the label. The heat maps' axes are categories made unique with zero-width spaces
(:func:`token_categories`: a sentence with "the" twice would otherwise merge both into one row), so
hovering names the tokens from the axis values themselves and no per-cell text is sent: a 56-token
sentence's eight maps stay small.
"""

from __future__ import annotations

import html
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dlviz.plots.figures import Tr, _en

# white -> sky -> blue -> dark blue (Okabe-Ito blue at the top): more attention is darker
ATTENTION_SCALE = [[0.0, "#FFFFFF"], [0.25, "#C6E3F5"], [0.55, "#56B4E9"], [0.8, "#0072B2"], [1.0, "#00304D"]]
# one colour per head in the head view (Okabe-Ito, then repeated)
HEAD_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
MAX_LABEL = 18  # characters of a token shown on an axis (hover shows it whole)
MIN_LINE = 0.02  # weights below this draw no line
# opacity levels of the head view (one trace per head and level): finer where most weights are (a row of
# 15 tokens averages 7%), so a few strong lines stand out of the haze of weak ones, as in BertViz
LINE_EDGES = (MIN_LINE, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.65, 1.0)
LINE_BINS = len(LINE_EDGES) - 1


def token_label(token: str, unknown: bool = False, limit: int = MAX_LABEL) -> str:
    """A token made safe for Plotly text: shortened, HTML-escaped; unknown words in italics."""
    s = str(token)
    if len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    s = html.escape(s, quote=False)
    return f"<i>{s}</i>" if unknown else s


def token_labels(tokens: Sequence[str], unknown: Sequence[bool] | None = None, limit: int = MAX_LABEL) -> list[str]:
    unknown = list(unknown) if unknown is not None else [False] * len(tokens)
    return [token_label(tok, unk, limit) for tok, unk in zip(tokens, unknown)]


ZWSP = "\u200b"  # appended to repeated tokens: a different category that looks the same


def token_categories(tokens: Sequence[str], unknown: Sequence[bool] | None = None, limit: int = MAX_LABEL) -> list[str]:
    """Escaped token labels, unique: the k-th repeat of a label gets k zero-width spaces."""
    seen: dict[str, int] = {}
    out = []
    for label in token_labels(tokens, unknown, limit):
        k = seen.get(label, 0)
        seen[label] = k + 1
        out.append(label + ZWSP * k)
    return out


def _hover_names(tokens: Sequence[str]) -> list[str]:
    return [f"{i + 1}. {html.escape(str(tok), quote=False)}" for i, tok in enumerate(tokens)]


def _as_array(attn) -> np.ndarray:
    a = attn.detach().cpu().numpy() if hasattr(attn, "detach") else np.asarray(attn)
    return a.astype(np.float64, copy=False)


def _check_square(a: np.ndarray, tokens: Sequence[str]) -> None:
    if a.shape[-1] != a.shape[-2] or a.shape[-1] != len(tokens):
        raise ValueError(f"attention of shape {a.shape} does not match {len(tokens)} tokens")


def _axes(fig: go.Figure, cats: list[str], show_x: bool, show_y: bool, font: int, **where) -> None:
    n = len(cats)
    ticks = dict(
        type="category",
        categoryorder="array",
        categoryarray=cats,
        tickfont=dict(size=font),
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    if n <= 30:
        ticks["dtick"] = 1  # every token named (Plotly would skip every other one); longer: Plotly thins them
    fig.update_xaxes(showticklabels=show_x, tickangle=-60 if n > 6 else 0, **ticks, **where)
    fig.update_yaxes(showticklabels=show_y, autorange="reversed", **ticks, **where)


def attention_heatmap(
    matrix,
    tokens: Sequence[str],
    unknown: Sequence[bool] | None = None,
    title: str = "",
    tr: Tr = _en,
    zmax: float | None = None,
    height: int = 460,
) -> go.Figure:
    """One (T, T) map: row = the token that looks (query), column = the token it looks at (key)."""
    a = _as_array(matrix)
    _check_square(a, tokens)
    n = len(tokens)
    cats = token_categories(tokens, unknown)
    fig = go.Figure(
        go.Heatmap(
            z=a.astype(np.float32),
            x=cats,
            y=cats,
            colorscale=ATTENTION_SCALE,
            zmin=0,
            zmax=float(zmax) if zmax else max(float(a.max(initial=0.0)), 1e-6),
            colorbar=dict(title=dict(text=tr("weight")), thickness=12),
            hovertemplate=tr("{query} looks at {key}: {weight}", query="%{y}", key="%{x}", weight="%{z:.1%}")
            + "<extra></extra>",
        )
    )
    _axes(fig, cats, True, True, 12 if n <= 30 else 9)
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title=tr("looked at (key)"),
        yaxis_title=tr("looking (query)"),
    )
    return fig


def attention_grid(
    attn,
    tokens: Sequence[str],
    unknown: Sequence[bool] | None = None,
    tr: Tr = _en,
    layer_names: Sequence[str] | None = None,
    cell: int = 0,
) -> go.Figure:
    """Small multiples: one map per layer (rows) and head (columns) on one shared colour scale.

    ``attn``: (layers, heads, T, T) for the real tokens only. Token names label the left column and
    the bottom row; hovering any cell names both tokens.
    """
    a = _as_array(attn)
    if a.ndim != 4:
        raise ValueError(f"attention must be (layers, heads, T, T), got {a.shape}")
    _check_square(a, tokens)
    n_layers, n_heads, n, _ = a.shape
    cats = token_categories(tokens, unknown)
    layer_names = list(layer_names) if layer_names else [tr("layer {n}", n=i + 1) for i in range(n_layers)]
    titles = [f"{layer_names[li]} · {tr('head {n}', n=h + 1)}" for li in range(n_layers) for h in range(n_heads)]
    cell = cell or int(np.clip(26 * n, 170, 300) if n_heads <= 4 else np.clip(18 * n, 150, 230))
    label_room = 14 + 6 * max((len(s) for s in tokens), default=1)  # bottom margin for token names
    fig = make_subplots(
        rows=n_layers,
        cols=n_heads,
        subplot_titles=titles,
        horizontal_spacing=0.025,
        vertical_spacing=min(0.3 / n_layers, 0.12),
    )
    hover = tr("{query} looks at {key}: {weight}", query="%{y}", key="%{x}", weight="%{z:.1%}")
    zmax = max(float(a.max(initial=0.0)), 1e-6)
    font = 11 if n <= 20 else 8
    for li in range(n_layers):
        for h in range(n_heads):
            fig.add_trace(
                go.Heatmap(
                    z=a[li, h].astype(np.float32),
                    x=cats,
                    y=cats,
                    coloraxis="coloraxis",
                    hovertemplate=f"{titles[li * n_heads + h]}<br>{hover}<extra></extra>",
                ),
                row=li + 1,
                col=h + 1,
            )
            _axes(fig, cats, li == n_layers - 1, h == 0, font, row=li + 1, col=h + 1)
    for ann in fig.layout.annotations:
        ann.font.size = 12
    fig.update_layout(
        coloraxis=dict(
            colorscale=ATTENTION_SCALE, cmin=0, cmax=zmax, colorbar=dict(title=dict(text=tr("weight")), thickness=12)
        ),
        height=n_layers * cell + label_room + 40,
        width=None,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig


def head_view(
    attn,
    tokens: Sequence[str],
    unknown: Sequence[bool] | None = None,
    heads: Sequence[int] | None = None,
    focus: int | None = None,
    tr: Tr = _en,
    title: str = "",
) -> go.Figure:
    """BertViz-style lines for one layer: tokens on the left look at tokens on the right.

    ``attn``: (heads, T, T). Each line's opacity (and width) grows with its weight, in ``LINE_BINS`` levels
    (one trace per head and level keeps the figure small: at most heads x 8 traces, whatever T is).
    One colour per head. ``focus``: draw only the lines from that (query) token.
    """
    a = _as_array(attn)
    if a.ndim != 3:
        raise ValueError(f"attention must be (heads, T, T), got {a.shape}")
    _check_square(a, tokens)
    n_heads, n, _ = a.shape
    heads = list(range(n_heads)) if heads is None else [h for h in heads if 0 <= h < n_heads]
    labels = token_labels(tokens, unknown, limit=24)
    names = _hover_names(tokens)
    fig = go.Figure()
    edges = np.asarray(LINE_EDGES)
    queries = range(n) if focus is None else [focus]
    for h in heads:
        colour = HEAD_COLOURS[h % len(HEAD_COLOURS)]
        w = a[h]
        level = np.minimum(np.digitize(w, edges) - 1, LINE_BINS - 1)  # -1: below MIN_LINE; 1.0 in the top level
        for b in range(LINE_BINS):
            xs, ys = [], []
            for i in queries:
                for j in np.nonzero(level[i] == b)[0]:
                    xs += [0.0, 1.0, None]
                    ys += [i, int(j), None]
            if xs:
                mid = (edges[b] + edges[b + 1]) / 2
                fig.add_trace(
                    go.Scatter(
                        x=xs,
                        y=ys,
                        mode="lines",
                        hoverinfo="skip",
                        showlegend=False,
                        meta="line",
                        opacity=float(min(1.0, 0.03 + 1.2 * mid)),
                        line=dict(color=colour, width=0.8 + 4 * mid),
                    )
                )
        # a legend entry per head (an invisible point)
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line=dict(color=colour, width=3),
                name=tr("head {n}", n=h + 1),
                showlegend=len(heads) > 1,
            )
        )
    shown = a[heads] if heads else np.zeros((1, n, n))
    top = []
    for i in range(n):
        row = shown[:, i].mean(axis=0)
        best = np.argsort(-row)[:3]
        top.append("<br>".join(f"{names[j]}: {row[j]:.0%}" for j in best))
    sel = np.zeros(n, dtype=bool) if focus is None else (np.arange(n) == focus)
    fig.add_trace(
        go.Scatter(
            x=[0.0] * n,
            y=list(range(n)),
            mode="markers+text",
            text=labels,
            textposition="middle left",
            marker=dict(size=9, color=["#D55E00" if s else "#444444" for s in sel]),
            customdata=np.array([[nm, tp] for nm, tp in zip(names, top)], dtype=object),
            hovertemplate=tr("{query} looks at", query="%{customdata[0]}") + "<br>%{customdata[1]}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[1.0] * n,
            y=list(range(n)),
            mode="markers+text",
            text=labels,
            textposition="middle right",
            marker=dict(size=9, color="#444444"),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.update_xaxes(visible=False, range=[-0.7, 1.7], fixedrange=True)
    fig.update_yaxes(visible=False, range=[n - 0.5, -0.5], fixedrange=True)
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=max(260, 26 * n + 80),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        plot_bgcolor="white",
        legend=dict(orientation="h", y=-0.02, yanchor="top"),
        annotations=[
            dict(x=0, y=-0.5, yshift=14, text=tr("looking"), showarrow=False, yanchor="bottom"),
            dict(x=1, y=-0.5, yshift=14, text=tr("looked at"), showarrow=False, yanchor="bottom"),
        ],
    )
    return fig


def line_count(fig: go.Figure) -> int:
    """How many token-to-token lines a head view draws (for tests and captions)."""
    return sum(sum(1 for v in tr.x if v is None) for tr in fig.data if tr.meta == "line")


def rollout_heatmap(
    rollout, tokens: Sequence[str], unknown: Sequence[bool] | None = None, tr: Tr = _en, height: int = 460
) -> go.Figure:
    """Attention rollout (Abnar & Zuidema 2020): how much each token's final vector draws on each input token."""
    return attention_heatmap(
        rollout, tokens, unknown, title=tr("Attention rollout across all layers"), tr=tr, height=height
    )
