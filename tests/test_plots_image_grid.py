"""image_grid (dlviz/plots/figures.py) writes out the figure make_subplots draws, without make_subplots' cost
(issue 18: a lesson's first page drew 20-image grids in every new session). The reference below is the old
implementation: the two figures must be the same, trace for trace and axis for axis."""

from __future__ import annotations

import json

import numpy as np
import pytest
from plotly.subplots import make_subplots

from dlviz.plots.figures import image_grid, picture


def _reference(images, captions, cols=10, cell=84):
    n = len(images)
    rows = max(1, -(-n // cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=list(captions) + [""] * (rows * cols - n),
        horizontal_spacing=0.01,
        vertical_spacing=0.08 / max(rows, 1) * 2,
    )
    for i in range(n):
        fig.add_trace(picture(images[i]), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    for ann in fig.layout.annotations:
        ann.font.size = 12
    fig.update_layout(height=rows * cell + 30, margin=dict(l=0, r=0, t=25, b=0))
    for i in range(rows * cols):
        fig.layout[f"yaxis{'' if i == 0 else i + 1}"].scaleanchor = f"x{'' if i == 0 else i + 1}"
    return fig


def _rounded(o):
    if isinstance(o, float):
        return round(o, 9)
    if isinstance(o, dict):
        return {k: _rounded(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_rounded(v) for v in o]
    return o


@pytest.mark.parametrize(
    "n, cols, colour", [(20, 10, False), (3, 2, False), (7, 7, True), (1, 1, False), (12, 5, False), (5, 10, False)]
)
def test_same_figure_as_make_subplots(n, cols, colour):
    rng = np.random.default_rng(n)
    images = rng.integers(0, 256, (n, 5, 4, 3) if colour else (n, 5, 4), dtype=np.uint8)
    captions = [f"digit {i}" for i in range(n)]
    if n == 12:
        captions[3] = ""  # an empty caption draws no title, as make_subplots does
    ours = json.loads(image_grid(images, captions, cols=cols).to_json())
    theirs = json.loads(_reference(images, captions, cols=cols).to_json())
    assert _rounded(ours) == _rounded(theirs)
    assert len(ours["data"]) == n and ours["data"][-1]["xaxis"] == ("x" if n == 1 else f"x{n}")
