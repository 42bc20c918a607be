"""Gradients page: how the gradient flowed through each layer while the model learned."""

import streamlit as st

from dlviz.glossary import help_text
from dlviz.inspect.gradients import typical_rms
from dlviz.plots.gradients import depth_profile, gradient_flow, histogram_ridges
from dlviz.ui import ensure_app, get_store, t
from dlviz.ui import keys as K
from dlviz.ui.gradients_widgets import (
    compare_choices,
    experiment_estimate,
    experiment_progress,
    show_findings,
    start_experiment,
)
from dlviz.ui.inspect_state import inspect_header
from dlviz.ui.run_widgets import run_title
from dlviz.ui.waits import seconds_text

ensure_app()
ss = st.session_state
st.title(t("Gradients"))
st.caption(
    t(
        "Training nudges every weight against its gradient. If the gradient reaching a layer is tiny, that "
        "layer barely learns; if it is huge, learning blows up. Here is what each layer received, step by step."
    ),
    help=help_text("gradient", "vanishing", "residual", lang=ss.get(K.LANG, "en")),
)

ctx = inspect_header(replay=False)
if ctx is None:
    st.stop()
store = get_store()
record = store.load_record(ctx.run.id, "gradients")
if not record or not record.get("norms"):
    st.info(
        t(
            "This run has no gradient record (runs trained before gradient recording was added have none). "
            "Train it again to see its gradients."
        ),
        icon=":material/info:",
    )
else:
    show_findings(record)
    st.subheader(t("Gradient flow over training"))
    every = int(record.get("every") or 1)
    st.caption(
        t(
            "One colour per layer with weights: faint, every recorded step; bold, the average over nearby steps. "
            "Lines far below the others belong to layers that hardly learn."
        )
        + " "
        + (t("Recorded at every step.") if every == 1 else t("Recorded once every {k} steps.", k=every))
    )
    st.plotly_chart(gradient_flow(record, t), width="stretch", key=K.GRAD_FLOW)

    st.subheader(t("Weights and gradients over time"))
    c1, c2 = st.columns(2)
    layer = c1.selectbox(t("Layer"), record["layers"], key=K.GRAD_LAYER)
    kind = c2.radio(
        t("Show"),
        ["weight", "grad"],
        horizontal=True,
        key=K.GRAD_KIND,
        format_func=lambda k: t("weights") if k == "weight" else t("gradients"),
    )
    st.plotly_chart(
        histogram_ridges(record["hist"], layer, kind, record.get("steps_per_epoch", 1), t),
        width="stretch",
        key=K.GRAD_HIST,
    )
    st.caption(
        t(
            "Each row is a histogram taken at one step, the first at the top. Weights that spread out over "
            "time are learning; gradients that shrink to a spike at zero have stopped carrying signal."
        )
    )

st.divider()
st.subheader(t("Compare runs at a glance"))
st.caption(
    t(
        "The typical gradient per weight in each layer, from the input to the output. A line that drops "
        "steeply towards the input is the vanishing-gradient problem: the course's reason for ReLU and ResNet."
    )
)
exp = ss.get(K.GRAD_EXP)
if exp and exp.get("job"):
    experiment_progress()
else:
    st.button(
        t("Run the experiment: deep sigmoid vs ReLU vs residual"),
        icon=":material/science:",
        on_click=start_experiment,
        key=K.GRAD_EXP_START,
        help=t(
            "Trains the three presets on the same 2,000 images for one epoch (about {time} on this "
            "computer) and draws them here.",
            time=seconds_text(experiment_estimate()),
        ),
    )
    if exp and exp.get("failed"):
        st.warning(t("Some experiment runs did not finish: {names}.", names=", ".join(exp["failed"])))
runs = compare_choices(ctx.run.id)
by_id = {r.id: r for r in runs}
default = [i for i in ss.get(K.GRAD_COMPARE, []) if i in by_id] or [i for i in [ctx.run.id] if i in by_id]
chosen = st.multiselect(
    t("Runs to compare"), list(by_id), default=default, key=None, format_func=lambda i: f"{run_title(by_id[i])} · {i}"
)
profiles = []
for rid in chosen:
    rec = record if rid == ctx.run.id else store.load_record(rid, "gradients")
    if rec and rec.get("norms"):
        profiles.append((by_id[rid].name, rec["layers"], typical_rms(rec)))
if profiles:
    st.plotly_chart(depth_profile(profiles, t), width="stretch", key=K.GRAD_DEPTH)
