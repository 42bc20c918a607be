"""Compress page: prune, quantise to int8 or distil a trained run, and see what each costs in accuracy against
what it saves in size and time."""

import streamlit as st

from dlviz.ui import ensure_app

ensure_app()

from dlviz.ui import t
from dlviz.ui.compress_widgets import chart, int8_view, pick_run, pruning_view, run_compression, settings

st.title(t("Compress"))
st.caption(
    t(
        "A trained network is often larger and slower than it needs to be. Pruning sets its smallest weights to "
        "zero, int8 stores its numbers in 8 bits instead of 32, and distillation trains a smaller network to copy "
        "it. Each result is saved as a run, measured on the test set, and drawn below: accuracy against size and time."
    )
)
run = pick_run()
if run is None:
    st.stop()
req = settings(run)
run_compression(req)
st.subheader(t("Accuracy against size and time"))
chart(run)
pruning_view(run)
int8_view(run)
