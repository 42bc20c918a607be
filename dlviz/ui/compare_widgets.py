"""The Runs page's comparison: two or more runs' loss and accuracy curves on one chart."""

from __future__ import annotations

import streamlit as st

from dlviz.plots.compare import compare_curves
from dlviz.runs import RunRecord
from dlviz.ui import keys as K
from dlviz.ui.run_widgets import metric_text
from dlviz.ui.state import t

MAX_COMPARED = 10


def compare_section(runs: list[RunRecord]) -> None:
    """A multiselect of the runs that have curves and, for two or more, one chart of all of them."""
    with_curves = [r for r in runs if (r.metrics or {}).get("train") or (r.metrics or {}).get("val")]
    if len(with_curves) < 2:
        return
    by_id = {r.id: r for r in with_curves}
    ss = st.session_state
    if K.RUNS_COMPARE in ss:
        ss[K.RUNS_COMPARE] = [i for i in ss[K.RUNS_COMPARE] if i in by_id]
    with st.expander(
        t("Compare runs on one chart"),
        icon=":material/stacked_line_chart:",
        expanded=len(ss.get(K.RUNS_COMPARE) or []) >= 2,
    ):
        chosen = st.multiselect(
            t("Runs to compare"),
            list(by_id),
            key=K.RUNS_COMPARE,
            max_selections=MAX_COMPARED,
            format_func=lambda i: f"{by_id[i].name} · {metric_text(by_id[i])} · {i}",
            placeholder=t("Choose two or more runs"),
        )
        if len(chosen) < 2:
            st.caption(
                t(
                    "Choose two or more runs: their loss and accuracy curves are drawn together, validation "
                    "solid, training dotted, one colour per run."
                )
            )
            return
        series = [
            (by_id[i].name, by_id[i].metrics.get("train") or [], by_id[i].metrics.get("val") or []) for i in chosen
        ]
        st.plotly_chart(
            compare_curves(series, tr=t), width="stretch", config={"displayModeBar": False}, key=K.RUNS_COMPARE_CHART
        )
        st.caption(
            t(
                "Validation solid, training dotted, one colour per run; the x axis is epochs, so runs with "
                "different batch sizes line up."
            )
        )
