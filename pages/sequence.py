"""Sequence page: a recurrent model reads a typed sentence word by word; its memory and gates over time."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.plots.sequence import gate_grid, prediction_over_time, state_heatmap, step_change
from dlviz.ui import show_error, t
from dlviz.ui.attention_widgets import (
    attention_layers,
    prefix_probabilities,
    real_steps,
    trace_label,
    trace_picker,
    traces_for,
)
from dlviz.ui.explain_widgets import words_that_mattered
from dlviz.ui.text_state import class_names, one_thread, predict, show_prediction, text_header

GATE_TITLES = {
    "input": N_("Input gate: how much of the new candidate is written to the memory"),
    "forget": N_("Forget gate: how much of the old memory is kept"),
    "output": N_("Output gate: how much of the memory shows in the hidden state"),
    "reset": N_("Reset gate: how much of the old state the new candidate sees"),
    "update": N_("Update gate: how much of the old state is kept"),
}
chart = {"width": "stretch", "config": {"displayModeBar": False}}

st.title(t("Sequence"))
st.caption(
    t(
        "A recurrent network (SimpleRNN, LSTM, GRU) reads a sentence one word at a time and keeps a memory, "
        "its hidden state, that each word updates. Type a sentence to watch the memory change word by word."
    )
)
ctx = text_header()
if ctx is None or ctx.sentence is None:
    st.stop()
sent = ctx.sentence
show_prediction(ctx, predict(ctx, sent), key=K.SEQ_PROBS)
try:
    with one_thread():
        words_that_mattered(ctx, key=K.SEQ_TXE, compact=True)
except DlvizError as e:
    show_error(e)

st.subheader(t("How the decision builds up"))
st.plotly_chart(
    prediction_over_time(prefix_probabilities(ctx, sent), sent.tokens, class_names(ctx), sent.unknown, tr=t),
    key=K.SEQ_PREFIX_FIG,
    **chart,
)
st.caption(
    t(
        "The model's answer if the sentence ended after each word: the point where a line jumps is the word "
        "that changed its mind."
    )
)

try:
    traces = traces_for(ctx, sent)
except DlvizError as e:
    show_error(e)
    st.stop()
if not traces:
    st.info(
        t(
            "This model has no recurrent layer (SimpleRNN, LSTM or GRU), so it keeps no memory from word to "
            "word. The curve above still shows how its answer changes as the sentence grows."
        ),
        icon=":material/info:",
    )
    if attention_layers(ctx.model):
        st.page_link(
            "pages/attention.py",
            label=t("This model is a transformer: see its attention on the Attention page"),
            icon=":material/hub:",
        )
    st.stop()

trace = traces[trace_picker(traces)]
hidden = real_steps(trace, trace.hidden)
units = hidden.shape[1]
st.subheader(t("Hidden state after each word ({layer})", layer=trace_label(trace, traces)))
sort = st.toggle(t("Sort the units by their value after the last word"), key=K.SEQ_SORT)
st.plotly_chart(
    state_heatmap(hidden, sent.tokens, sent.unknown, kind="hidden", sort="final" if sort else None, tr=t),
    key=K.SEQ_HIDDEN,
    **chart,
)
st.caption(
    t(
        "Each column is the memory after reading that word: {units} numbers between -1 (vermillion) and 1 "
        "(blue). Units that flip colour at a word are the ones that word changed.",
        units=units,
    )
)
if trace.direction == "backward":
    st.caption(
        t(
            "This direction reads the sentence from the end: its memory under a word holds that word and "
            "everything after it."
        )
    )

st.subheader(t("How much each word changes the memory"))
st.plotly_chart(step_change(hidden, sent.tokens, sent.unknown, tr=t), key=K.SEQ_CHANGE, **chart)
st.caption(
    t(
        "The length of the change of the hidden state at each word. Words the model ignores barely move it; "
        "words that matter to it move it a lot."
    )
)

gates = {g: real_steps(trace, v) for g, v in trace.gates.items() if g in GATE_TITLES}
if gates:
    st.subheader(t("Gates"))
    st.plotly_chart(
        gate_grid(
            gates,
            sent.tokens,
            sent.unknown,
            titles={g: t(GATE_TITLES[g]) for g in gates},
            sort_by=hidden if sort else None,
            tr=t,
        ),
        key=K.SEQ_GATES,
        **chart,
    )
    st.caption(
        t(
            "A gate is a number between 0 (closed, white) and 1 (open, dark blue) for every unit and word: it "
            "decides what the layer writes, keeps and shows."
        )
    )
if trace.cell is not None:
    st.subheader(t("Memory cell (LSTM)"))
    st.plotly_chart(
        state_heatmap(
            real_steps(trace, trace.cell),
            sent.tokens,
            sent.unknown,
            kind="cell",
            sort="final" if sort else None,
            sort_by=hidden,
            tr=t,
        ),
        key=K.SEQ_CELL,
        **chart,
    )
    st.caption(
        t(
            "The LSTM's long-term memory c: the forget gate scales what was there, the input gate adds the "
            "new candidate. Unlike the hidden state it is not squashed, so it can grow beyond -1 and 1."
        )
    )
elif trace.kind == "rnn":
    st.caption(
        t(
            "A SimpleRNN has no gates: every word rewrites the whole memory, which is why it forgets the start "
            "of long sentences."
        )
    )
