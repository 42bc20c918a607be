"""Errors page widgets: predictions of the whole test set, cached per run and replay point."""

from __future__ import annotations

import streamlit as st
import torch

from dlviz.inspect.errors import predict_all
from dlviz.ui.inspect_state import FINAL, InspectCtx
from dlviz.ui.state import t


def test_probs(ctx: InspectCtx) -> torch.Tensor:
    """(N, K) probabilities of the test set under the model at the chosen replay point (cached)."""
    ss = st.session_state
    cache: dict = ss.setdefault("_err_probs", {})
    key = (ctx.run.id, ctx.tag or FINAL)
    if key not in cache:
        bar = st.progress(0.0, text=t("Classifying the {n:,} test images...", n=len(ctx.data.test_y)))
        cache.clear()  # one model's predictions at a time: 10,000 x 10 floats each
        cache[key] = predict_all(ctx.model, ctx.data.test_x, progress=lambda f: bar.progress(f, text=t(
            "Classifying the {n:,} test images...", n=len(ctx.data.test_y))))
        bar.empty()
    return cache[key]


def picked_cell(default: tuple[int, int]) -> tuple[int, int]:
    """The (true, predicted) cell to show: a new click in the grid, else the last choice, else ``default``.

    Read before the grid is drawn (the click's state is already in session state), so the grid
    highlights the cell just clicked; a click is used once, so the picker below can override it.
    """
    ss = st.session_state
    event = ss.get("err_grid") or {}
    pts = (event.get("selection") or {}).get("points") or []
    if pts and pts[0].get("customdata") is not None:
        clicked = tuple(int(v) for v in pts[0]["customdata"][:2])
        if clicked != ss.get("_err_last_click"):
            ss._err_last_click = ss._err_cell = clicked
    cell = ss.get("_err_cell")
    return tuple(cell) if cell else default
