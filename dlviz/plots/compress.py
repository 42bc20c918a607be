"""The compression chart: test accuracy against file size and against CPU latency, one point per variant."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
from plotly.subplots import make_subplots

Tr = Callable[..., str]

# Okabe-Ito: one colour per kind of variant, the original in black
COLOURS = {"original": "#000000", "pruned": "#0072B2", "int8": "#D55E00", "student": "#009E73"}


def kind_of_point(label: str) -> str:
    if label == "original":
        return "original"
    if label.startswith("student"):
        return "student"
    if "int8" in label:
        return "int8"
    return "pruned"


def _hover(p: dict, shown: str, tr: Tr) -> str:
    return tr(
        "{label}<br>accuracy {acc:.2%}<br>{kb:,.0f} KB file ({zkb:,.0f} KB zipped)<br>{nz:,} of {n:,} "
        "parameters not zero<br>{ms:.3f} ms per image",
        label=shown,
        acc=p["accuracy"],
        kb=p["size_bytes"] / 1024,
        zkb=p.get("zipped_bytes", p["size_bytes"]) / 1024,
        nz=p.get("nonzero_params", 0),
        n=p.get("params", 0),
        ms=p["latency_ms"],
    )


def compression_chart(points: list[dict], tr: Tr, labels: dict[str, str] | None = None) -> go.Figure:
    """Two panels side by side: accuracy against size (KB) and against latency (ms per image). ``points``: the
    measures of ``dlviz.compress.chart_points``; ``labels``: each point's label as shown (translated)."""
    labels = labels or {}
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=(tr("Accuracy against file size"), tr("Accuracy against CPU time per image")),
    )
    kinds = {"original": tr("original"), "pruned": tr("pruned"), "int8": tr("int8"), "student": tr("student")}
    for col, key, scale in ((1, "size_bytes", 1 / 1024), (2, "latency_ms", 1.0)):
        for kind, kind_label in kinds.items():
            mine = [p for p in points if kind_of_point(p["label"]) == kind]
            if not mine:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[p[key] * scale for p in mine],
                    y=[p["accuracy"] * 100 for p in mine],
                    mode="markers",
                    name=kind_label,
                    legendgroup=kind,
                    showlegend=col == 1,
                    marker={
                        "size": 13 if kind == "original" else 11,
                        "color": COLOURS[kind],
                        "symbol": "diamond" if kind == "original" else "circle",
                        "line": {"width": 1, "color": "white"},
                    },
                    hovertext=[_hover(p, labels.get(p["run_id"], p["label"]), tr) for p in mine],
                    hoverinfo="text",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text=tr("file size (KB)"), rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text=tr("milliseconds per image (CPU, batch 1)"), rangemode="tozero", row=1, col=2)
    fig.update_yaxes(title_text=tr("test accuracy (%)"), row=1, col=1)
    fig.update_layout(
        height=420,
        margin={"l": 10, "r": 10, "t": 40, "b": 70},
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": -0.32, "x": 0},
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eeeeee")
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee")
    return fig


def sparsity_bars(sparsity: dict[str, float], tr: Tr) -> go.Figure:
    """The share of zero weights in each layer after pruning (without the "all" entry)."""
    names = [k for k in sparsity if k != "all"]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[sparsity[k] * 100 for k in names],
            marker_color=COLOURS["pruned"],
            text=[f"{sparsity[k]:.0%}" for k in names],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_yaxes(title_text=tr("weights set to zero (%)"), range=[0, 105])
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 20, "b": 10}, plot_bgcolor="white")
    return fig


__all__ = ["COLOURS", "compression_chart", "kind_of_point", "sparsity_bars"]
