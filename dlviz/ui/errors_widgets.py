"""Errors page widgets: predictions of the whole test set, computed once per run and replay point.

The probabilities are kept in the run's folder (``cache/test-probs-<point>.safetensors``), so the
page opens at once on a second visit, in another session and after a restart; a copy newer than
the weights it came from and as long as the test set is used, anything else is computed again.
"""

from __future__ import annotations

import time

import streamlit as st
import torch

from dlviz.errors import DlvizError
from dlviz.inspect.errors import predict_all
from dlviz.runs.store import SNAPSHOT_DIR, WEIGHTS_FILE
from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.inspect_state import InspectCtx
from dlviz.ui.look import FINAL
from dlviz.ui.state import get_store, t
from dlviz.ui.waits import seconds_text


def probs_file(tag: str | None) -> str:
    return f"cache/test-probs-{tag or FINAL}.safetensors"


def _source_file(tag: str | None) -> str:
    return f"{SNAPSHOT_DIR}/{tag}.safetensors" if tag else WEIGHTS_FILE


def load_saved_probs(run_id: str, tag: str | None, n: int) -> torch.Tensor | None:
    """The probabilities saved with the run for ``tag``, if they are still valid for ``n`` test images."""
    store = get_store()
    name = probs_file(tag)
    try:
        folder = store.folder(run_id)
        saved, source = folder / name, folder / _source_file(tag)
        if not saved.is_file() or (source.is_file() and saved.stat().st_mtime_ns < source.stat().st_mtime_ns):
            return None
        probs = store.load_weights(run_id, name).get("probs")
    except (DlvizError, OSError, ValueError):
        return None
    if probs is None or probs.ndim != 2 or len(probs) != n:
        return None
    return probs.float()


def save_probs(run_id: str, tag: str | None, probs: torch.Tensor) -> None:
    try:
        get_store().save_weights(run_id, {"probs": probs.contiguous()}, probs_file(tag))
    except (DlvizError, OSError, ValueError):
        pass  # a read-only or deleted run folder: the page still works, it only computes again next time


def _classify_text(n: int, done: float, elapsed: float) -> str:
    text = t("Classifying the {n:,} test images, once for this run (the answers are kept with the run):", n=n)
    if done <= 0.0 or elapsed < 0.2:
        return text + " " + t("starting...")
    return text + " " + t("about {time} left.", time=seconds_text(elapsed * (1.0 - done) / done))


def test_probs(ctx: InspectCtx) -> torch.Tensor:
    """(N, K) probabilities of the test set under the model at the chosen replay point (cached)."""

    def make() -> torch.Tensor:
        n = len(ctx.data.test_y)
        probs = load_saved_probs(ctx.run.id, ctx.tag, n)
        if probs is None:
            bar = st.progress(0.0, text=_classify_text(n, 0.0, 0.0))
            start = time.perf_counter()
            try:
                probs = predict_all(
                    ctx.model,
                    ctx.data.test_x,
                    batch_size=500,
                    progress=lambda f: bar.progress(f, text=_classify_text(n, f, time.perf_counter() - start)),
                )
            finally:
                bar.empty()
            save_probs(ctx.run.id, ctx.tag, probs)
        return probs

    # one model's predictions at a time: 10,000 x 10 floats each
    return session_cache(K.ERR_PROBS, 1).get_or_make((ctx.run.id, ctx.tag or FINAL), make)


def picked_cell(default: tuple[int, int]) -> tuple[int, int]:
    """The (true, predicted) cell to show: a new click in the grid, else the last choice, else ``default``.

    Read before the grid is drawn (the click's state is already in session state), so the grid
    highlights the cell just clicked; a click is used once, so the picker below can override it.
    """
    ss = st.session_state
    event = ss.get(K.ERR_GRID) or {}
    pts = (event.get("selection") or {}).get("points") or []
    if pts and pts[0].get("customdata") is not None:
        clicked = tuple(int(v) for v in pts[0]["customdata"][:2])
        if clicked != ss.get(K.ERR_LAST_CLICK):
            ss[K.ERR_LAST_CLICK] = ss[K.ERR_CELL] = clicked
    cell = ss.get(K.ERR_CELL)
    return tuple(cell) if cell else default
