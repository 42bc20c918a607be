"""The class dashboard's chart: every student's validation curves on one figure, one colour per student."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative

from dlviz.plots.figures import Tr, _en
from dlviz.plots.safe import as_text

# 24 + 26 distinct colours: a class of 50 before two students share one
PALETTE = [*qualitative.Dark24, *qualitative.Alphabet]


def class_curves(curves, tr: Tr = _en, height: int = 420) -> go.Figure:
    """``curves``: items with ``student_id, student, run_name, epochs, accuracy`` (dlviz.classroom.dashboard.Curve).
    The legend names each student once; clicking a name hides or shows all of their runs."""
    fig = go.Figure()
    colours: dict[str, str] = {}
    for c in curves:
        first = c.student_id not in colours
        colour = colours.setdefault(c.student_id, PALETTE[len(colours) % len(PALETTE)])
        name = as_text(c.student)
        fig.add_trace(
            go.Scatter(
                x=list(c.epochs),
                y=list(c.accuracy),
                mode="lines+markers",
                name=name,
                legendgroup=c.student_id,
                showlegend=first,
                line=dict(color=colour, width=2),
                marker=dict(size=5),
                customdata=[as_text(c.run_name)] * len(c.epochs),
                hovertemplate=f"{name} · %{{customdata}}<br>{tr('epoch')} %{{x:.2f}}: %{{y:.1%}}<extra></extra>",
            )
        )
    last = max((max(tr_.x) for tr_ in fig.data if tr_.x is not None and len(tr_.x)), default=0)
    # whole epochs: a tick at every epoch of a short run (Plotly drew 0.5, 1.5, ... for a 3-epoch class)
    fig.update_xaxes(title_text=tr("epoch"), rangemode="tozero", dtick=1 if last <= 12 else None)
    fig.update_yaxes(title_text=tr("Validation accuracy"), range=[0, 1.0], tickformat=".0%")
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=20, b=10),
        legend=dict(title_text=tr("Students")),
        uirevision="class-curves",  # a refresh keeps the teacher's zoom and the names hidden in the legend
    )
    return fig
