"""Attention page: type a sentence; see which words each word looks at, in every layer and head of a transformer."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.errors import DlvizError
from dlviz.plots.attention import attention_grid, head_view, line_count, rollout_heatmap
from dlviz.ui import show_error, t
from dlviz.ui.attention_widgets import (
    HEAD_FIG,
    attention_for,
    attention_layers,
    head_controls,
    recurrent_layers,
    view_picker,
)
from dlviz.ui.explain_widgets import words_that_mattered
from dlviz.ui.text_state import one_thread, predict, show_prediction, text_header

st.title(t("Attention"))
st.caption(
    t(
        "A transformer reads all words at once: in every layer each word looks at the other words and mixes "
        "in what it finds. Type a sentence to see where each word looks, in every layer and head."
    )
)
ctx = text_header()
if ctx is None or ctx.sentence is None:
    st.stop()
sent = ctx.sentence
show_prediction(ctx, predict(ctx, sent), key=K.ATT_PROBS)
try:
    with one_thread():
        words_that_mattered(ctx, key=K.ATT_TXE, compact=True)  # attention is where words look, not why it decided
except DlvizError as e:
    show_error(e)

if not attention_layers(ctx.model):
    st.info(
        t(
            "This model has no transformer layer, so there is no attention to show: it reads the sentence "
            "without looking from word to word. Pick a run of a transformer model above, or train one with "
            "the Transformer preset."
        ),
        icon=":material/info:",
    )
    if recurrent_layers(ctx.model):
        st.page_link(
            "pages/sequence.py",
            label=t("This model is recurrent: see how its memory changes word by word on the Sequence page"),
            icon=":material/timeline:",
        )
    st.stop()

try:
    res = attention_for(ctx, sent)
except DlvizError as e:
    show_error(e)
    st.stop()
n_layers, n_heads = res.attn.shape[:2]
st.caption(
    t(
        "{n} tokens, {layers} layers of {heads} heads. Each row is a word looking (the query); each column "
        "a word it looks at (the key); a row adds up to 100%.",
        n=sent.n,
        layers=n_layers,
        heads=n_heads,
    )
)

view = view_picker()
if view == "grid":
    st.plotly_chart(
        attention_grid(res.attn, sent.tokens, sent.unknown, tr=t, layer_names=res.layers),
        width="stretch",
        config={"displayModeBar": False},
        key=K.ATT_GRID,
    )
    st.caption(
        t(
            "All maps share one colour scale: darker means more attention. Heads of the same layer often "
            "specialise: one looks at the word before, another at the sentence's strongest words."
        )
    )
elif view == "head":
    layer, heads, focus = head_controls(res, sent)
    shown = res.attn[layer]
    fig = head_view(shown, sent.tokens, sent.unknown, heads=heads, focus=focus, tr=t, title=res.layers[layer])
    st.plotly_chart(
        fig, width="stretch", config={"displayModeBar": False}, key=HEAD_FIG, on_select="rerun", selection_mode="points"
    )
    st.caption(
        t(
            "Each word on the left draws lines to the words it looks at on the right; the stronger the "
            "attention, the darker and thicker the line ({k} lines; weights under 2% are left out). One colour "
            "per head.",
            k=line_count(fig),
        )
        + " "
        + t("Click a word on the left to see only its lines.")
    )
else:
    st.plotly_chart(
        rollout_heatmap(res.rollout, sent.tokens, sent.unknown, tr=t),
        width="stretch",
        config={"displayModeBar": False},
        key=K.ATT_ROLLOUT,
    )
    st.caption(
        t(
            "Attention rollout (Abnar and Zuidema, 2020) follows attention through all layers: it multiplies "
            "the layers' maps, each averaged over its heads plus the skip connection, to estimate how much of "
            "each input word ends up in each word's final vector."
        )
    )
if sent.n == 1:
    st.caption(t("With only one token every word can only look at itself: type a longer sentence."))
