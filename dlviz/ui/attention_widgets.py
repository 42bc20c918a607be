"""Widgets and cached computations of the Attention and Sequence pages (text models).

Results are cached in this session by (run, replay point, token ids, ...): retyping the same sentence
or switching views redraws without running the model again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from torch import nn

from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.state import t
from dlviz.ui.text_state import Sentence, TextCtx, one_thread

CACHE = 8  # results kept per session and kind
HEAD_FIG = K.ATT_HEAD_FIG  # the head view's chart key: its selection is a clicked token
VIEWS = ("grid", "head", "rollout")
RECURRENT = ("rnn", "lstm", "gru")


# --------------------------------------------------------------------------- what the model has
def attention_layers(model: nn.Module) -> list[str]:
    """One display name per encoder layer that keeps attention, in forward order ("transformer_1 · layer 2")."""
    names = []
    for name, child in model.named_children():
        inner = [m for m in child.modules() if hasattr(m, "keep_attention")]
        if len(inner) == 1 and inner[0] is child:
            names.append(name)
        else:
            names += [t("{block} · layer {n}", block=name, n=i + 1) for i in range(len(inner))]
    return names


def recurrent_layers(model: nn.Module) -> list[str]:
    """Names of the recurrent children (SimpleRNN, LSTM, GRU), in order."""
    return [
        name
        for name, child in model.named_children()
        if getattr(child, "kind", None) in RECURRENT and hasattr(child, "rnn")
    ]


def _cached(slot: str, key: tuple, compute):
    def make():
        with one_thread():
            return compute()

    return session_cache(slot, CACHE).get_or_make(key, make)


def _key(ctx: TextCtx, sent: Sentence, *extra) -> tuple:
    return (ctx.run.id, ctx.tag, tuple(int(i) for i in sent.ids.tolist()), *extra)


# --------------------------------------------------------------------------- attention
@dataclass
class AttentionResult:
    attn: np.ndarray  # (layers, heads, n, n) for the real tokens only; rows sum to 1
    rollout: np.ndarray  # (n, n)
    layers: list[str]


def attention_for(ctx: TextCtx, sent: Sentence) -> AttentionResult:
    from dlviz.inspect.attention import attention_maps, rollout

    def compute() -> AttentionResult:
        mask, attn = attention_maps(ctx.model, sent.ids)
        real = torch.as_tensor(mask, dtype=torch.bool).reshape(-1)
        idx = real.nonzero().flatten()
        a = attn.index_select(-1, idx).index_select(-2, idx)  # (layers, heads, n, n)
        r = rollout(a)
        return AttentionResult(a.double().numpy(), torch.as_tensor(r).double().numpy(), attention_layers(ctx.model))

    return _cached("_att_results", _key(ctx, sent), compute)


def view_picker() -> str:
    labels = {"grid": t("Every layer and head"), "head": t("Head view (lines)"), "rollout": t("Rollout")}
    ss = st.session_state
    if ss.get(K.ATT_VIEW) not in VIEWS:
        ss[K.ATT_VIEW] = "grid"
    choice = st.segmented_control(
        t("View"), VIEWS, format_func=labels.get, key=K.ATT_VIEW, required=True, label_visibility="collapsed"
    )
    return choice or "grid"


def _clicked_token(sent: Sentence) -> None:
    """A click on a token on the head view's left side shows only its lines (BertViz-style).

    Read before the pickers are drawn (the click is already in session state); a click is used once, so the
    "Lines from" picker can override it.
    """
    ss = st.session_state
    event = ss.get(HEAD_FIG) or {}
    pts = (event.get("selection") or {}).get("points") or []
    token = next((p.get("point_index") for p in pts if p.get("customdata") is not None), None)
    click = (sent.text, token) if token is not None else None
    if click != ss.get(K.ATT_LAST_CLICK):
        ss[K.ATT_LAST_CLICK] = click
        if token is not None and 0 <= int(token) < sent.n:
            ss[K.ATT_FOCUS] = int(token)


def head_controls(res: AttentionResult, sent: Sentence) -> tuple[int, list[int] | None, int | None]:
    """(layer, heads or None for all, focus token or None) for the head view."""
    n_layers, n_heads = res.attn.shape[:2]
    ss = st.session_state
    _clicked_token(sent)
    tok_opts = [-1, *range(sent.n)]
    head_opts = [-1, *range(n_heads)]
    for key, opts, default in (
        (K.ATT_LAYER, range(n_layers), 0),
        (K.ATT_HEAD, head_opts, -1),
        (K.ATT_FOCUS, tok_opts, -1),
    ):
        if ss.get(key) not in opts:  # another run or sentence: the old choice may not exist
            ss[key] = default
    c1, c2, c3 = st.columns(3)
    layer = (
        c1.selectbox(
            t("Layer"),
            range(n_layers),
            format_func=lambda i: res.layers[i] if i < len(res.layers) else t("layer {n}", n=i + 1),
            key=K.ATT_LAYER,
        )
        if n_layers > 1
        else 0
    )
    head = (
        c2.selectbox(
            t("Head"),
            head_opts,
            format_func=lambda h: t("all heads") if h < 0 else t("head {n}", n=h + 1),
            key=K.ATT_HEAD,
        )
        if n_heads > 1
        else 0
    )
    focus = c3.selectbox(
        t("Lines from"),
        tok_opts,
        key=K.ATT_FOCUS,
        format_func=lambda i: t("every token") if i < 0 else f"{i + 1}. {sent.tokens[i]}",
    )
    layer = int(layer) if layer is not None and 0 <= int(layer) < n_layers else 0
    heads = None if head is None or head < 0 or head >= n_heads else [int(head)]
    focus = None if focus is None or focus < 0 or focus >= sent.n else int(focus)
    return layer, heads, focus


# --------------------------------------------------------------------------- recurrent states
def prefix_probabilities(ctx: TextCtx, sent: Sentence) -> np.ndarray:
    """(n, C): the class probabilities after reading only the first 1, 2, ..., n tokens (one batch)."""

    def compute() -> np.ndarray:
        n, length = sent.n, sent.ids.shape[0]
        real = sent.ids[length - n :]
        batch = torch.zeros((n, length), dtype=sent.ids.dtype)
        for k in range(1, n + 1):
            batch[k - 1, length - k :] = real[:k]  # pre-padded, as the model was trained
        with torch.no_grad():
            return torch.softmax(ctx.model(batch).float(), dim=-1).double().numpy()

    return _cached("_seq_prefix", _key(ctx, sent), compute)


def traces_for(ctx: TextCtx, sent: Sentence) -> list:
    """Every recurrent layer's RecurrentTrace (dlviz.inspect.sequence) for the sentence, cached."""
    from dlviz.inspect.sequence import hidden_states

    return _cached("_seq_traces", _key(ctx, sent), lambda: hidden_states(ctx.model, sent.ids))


def trace_label(trace, traces: list) -> str:
    parts = [trace.name]
    if sum(1 for tr in traces if tr.name == trace.name and tr.direction == trace.direction) > 1:
        parts.append(t("layer {n}", n=trace.layer + 1))
    if any(tr.direction == "backward" for tr in traces if tr.name == trace.name):
        parts.append(t("reading forwards") if trace.direction == "forward" else t("reading backwards"))
    return " · ".join(parts)


def trace_picker(traces: list) -> int:
    ss = st.session_state
    if not isinstance(ss.get(K.SEQ_TRACE), int) or not 0 <= ss[K.SEQ_TRACE] < len(traces):
        ss[K.SEQ_TRACE] = 0
    if len(traces) == 1:
        return 0
    return st.selectbox(
        t("Recurrent layer"), range(len(traces)), key=K.SEQ_TRACE, format_func=lambda i: trace_label(traces[i], traces)
    )


def real_steps(trace, values) -> np.ndarray:
    """(T, H) values of a trace -> (n, H) at the steps the layer read (the real tokens), as float64."""
    return values[trace.keep].double().numpy()
