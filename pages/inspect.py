"""Inspect page: choose an input, see the prediction, then what every layer makes of it."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.inspect import activations
from dlviz.models import LAYER_TYPES
from dlviz.plots import probability_bars
from dlviz.plots.activations import dense_strip, feature_map_grid, layer_caption, layer_kind, shape_text, top_units
from dlviz.ui import t
from dlviz.ui.input_widgets import input_picker, opened_note
from dlviz.ui.inspect_state import inspect_header

UNFOLDED = 3  # layers shown open at first (and the output layer): the rest fold, so the page stays short


def layer_anchor(i: int) -> str:
    return f"layer-{i + 1}"


st.title(t("Inspect"))
st.caption(
    t(
        "Choose an input and follow it through the network: what every layer outputs, from the first "
        "filters to the class scores."
    )
)
ctx = inspect_header()
if ctx is None:
    st.stop()

inp = input_picker(ctx)
opened_note(inp)
layers, probs = activations(ctx.model, inp.x)
pred = int(probs.argmax())

st.subheader(t("Prediction"))
c1, c2 = st.columns([1, 3], vertical_alignment="center")
c1.metric(
    t("The model says"),
    str(ctx.classes[pred]),
    t("{p:.1%} sure", p=float(probs[pred])),
    delta_color="off",
    delta_arrow="off",
)
if inp.label is not None:
    if pred == inp.label:
        c1.success(t("Right: the image is a {label}.", label=ctx.classes[inp.label]), icon=":material/check:")
    else:
        c1.error(t("Wrong: the image is a {label}.", label=ctx.classes[inp.label]), icon=":material/close:")
c2.plotly_chart(
    probability_bars(probs.tolist(), inp.label, ctx.classes, tr=t),
    width="stretch",
    config={"displayModeBar": False},
    key=K.INSP_PROBS,
)
c1.page_link("pages/explain.py", label=t("Why? Explain this answer"), icon=":material/lightbulb:")

st.subheader(t("Layer by layer"))
st.caption(
    t(
        "Each layer's output for this input, in the order the network computes them. In the feature maps, "
        "black is low and white is high."
    )
)
t1, t2 = st.columns(2)
per_channel = t1.toggle(
    t("Stretch each map to its own range"),
    value=True,
    key=K.INSP_PER_CHANNEL,
    help=t(
        "On: every map uses its full black-to-white range, so weak patterns show. Off: all "
        "maps of a layer share one range, so you can see which maps respond most."
    ),
)
unfold = t2.toggle(
    t("Unfold every layer"),
    value=False,
    key=K.INSP_UNFOLD,
    help=t("The first layers start unfolded; the others open with a click on their title."),
)
titles = []
for a in layers:
    kind = layer_kind(a.name)
    titles.append(t(LAYER_TYPES[kind].title) if kind in LAYER_TYPES else kind)
# the jump list: one link per layer to its anchor further down
st.markdown(
    t("**Jump to:**") + " " + " · ".join(f"[{i + 1}. {title}](#{layer_anchor(i)})" for i, title in enumerate(titles))
)
for i, a in enumerate(layers):
    st.html(f'<span id="{layer_anchor(i)}"></span>')
    with st.expander(
        f"**{i + 1}. {titles[i]}** · `{a.name}` · {shape_text(a.shape)}",
        expanded=unfold or i < UNFOLDED or i == len(layers) - 1,
    ):
        st.caption(layer_caption(a.name, a.values, tr=t, last=i == len(layers) - 1))
        if len(a.shape) in (2, 3):  # feature maps (C, H, W), or a sequence (time steps, features) as one map
            n = a.shape[0] if len(a.shape) == 3 else 1
            st.image(
                feature_map_grid(a.values, per_channel=per_channel),
                caption=t("{n} maps of {h} x {w}", n=n, h=a.shape[-2], w=a.shape[-1]),
            )
        elif len(a.shape) == 1:
            st.plotly_chart(
                dense_strip(a.values, tr=t), width="stretch", config={"displayModeBar": False}, key=K.strip(i)
            )
            best = ", ".join(f"#{j} ({v:.2f})" for j, v in top_units(a.values, 5))
            st.caption(t("Most active units: {units}.", units=best))
