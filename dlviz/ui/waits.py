"""Waits that show progress and an honest estimate: work in a thread, a bar that moves with the clock.

For steps that report no progress of their own (scikit-learn's t-SNE), ``wait_with_progress`` runs
the work in a thread and moves a bar by the time elapsed against the time it took last time on
this computer (``dlviz.timing``), saying both: "3 s of about 6 s". The work must not call
Streamlit (it runs outside the script thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from dlviz.timing import estimate, remember
from dlviz.ui.state import t

T = TypeVar("T")
TICK_S = 0.25


def seconds_text(s: float) -> str:
    s = max(0.0, float(s))
    if s < 90:
        return t("{s} s", s=f"{s:.0f}" if s >= 1 else "1")
    return t("{m} min", m=f"{s / 60:.0f}")


def estimate_text(est: float | None) -> str:
    """ "about 6 s" (or "" without an estimate)."""
    return t("about {time}", time=seconds_text(est)) if est else ""


def progress_text(text: str, elapsed: float, est: float | None) -> str:
    """``text`` followed by where the wait stands against its estimate."""
    if not est:
        return t("{text} {s} so far.", text=text, s=seconds_text(elapsed))
    if elapsed <= est:
        return t("{text} {s} of about {est}.", text=text, s=seconds_text(elapsed), est=seconds_text(est))
    return t(
        "{text} {s}: longer than the {est} it took last time; still working.",
        text=text,
        s=seconds_text(elapsed),
        est=seconds_text(est),
    )


def wait_with_progress(
    work: Callable[[], T], text: str, key: str, size: float = 1.0, default_rate: float | None = None
) -> T:
    """Run ``work()`` in a thread under a progress bar; remember how long it took per unit of ``size``."""
    est = estimate(key, size, default_rate)
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as e:  # noqa: BLE001 - re-raised in the script thread below
            box["error"] = e

    bar = st.progress(0.0, text=progress_text(text, 0.0, est))
    start = time.perf_counter()
    worker = threading.Thread(target=target, name=f"dlviz-wait-{key}", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(TICK_S)
            elapsed = time.perf_counter() - start
            frac = min(0.97, elapsed / est) if est else min(0.9, elapsed / (elapsed + 10.0))
            bar.progress(frac, text=progress_text(text, elapsed, est))
    finally:
        bar.empty()
    if "error" in box:
        raise box["error"]
    remember(key, time.perf_counter() - start, size)
    return box["value"]
