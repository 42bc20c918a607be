"""What every text "look inside" page shares: which text run, which replay point, which sentence.

``text_header()`` draws the run picker (text runs only), the epoch-replay slider and the sentence box,
and returns a :class:`TextCtx`: the model on the CPU in eval mode, its vocabulary, classes, and the
typed sentence encoded the way training encoded its data (pre-padded to the run's ``max_len``, the
first ``max_len`` tokens kept). The sentence is remembered across pages and per language (an English
sentence means nothing to a character-level Chinese model). Empty text, only spaces, or text with no
tokens gets a plain message and ``ctx.sentence`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from torch import nn

from dlviz.data import get_info
from dlviz.errors import DataError, RunError
from dlviz.i18n import N_
from dlviz.inspect.embed import one_cpu_thread
from dlviz.modality import TEXT, EncodedText, encode_sentence
from dlviz.models import build
from dlviz.runs import RunRecord, RunStore
from dlviz.ui import keys as K
from dlviz.ui.kinds import TEXT_KIND
from dlviz.ui.look import Look, look_header, with_weights
from dlviz.ui.state import get_store, save_session, t

MAX_CHARS = 20_000  # the box takes this much; the model reads only its first max_len tokens
DEFAULT_TEXT = {
    "en": "a gripping , funny and moving film , with a weak ending .",
    "zh": "手机质量很好，物流也快，非常满意！",
}


Sentence = EncodedText  # a typed sentence as the model reads it (dlviz.modality.text)


@dataclass
class TextCtx:
    run: RunRecord
    model: nn.Module  # eval mode, CPU, weights at ``tag``
    tag: str | None  # snapshot tag or None for the final weights
    vocab: object  # dlviz.data.tokenize.Vocab
    classes: list[str]
    max_len: int
    language: str  # "en" | "zh"
    sentence: EncodedText | None = None


# --------------------------------------------------------------------------- runs and models
def _info(run: RunRecord):
    try:
        return get_info(run.dataset)
    except DataError:
        return None


def _run_language(run: RunRecord, vocab) -> str:
    return (
        getattr(vocab, "language", None)
        or (run.settings or {}).get("language")
        or getattr(_info(run), "language", None)
        or "en"
    )


def _run_classes(run: RunRecord) -> list[str]:
    classes = (run.settings or {}).get("classes")
    if isinstance(classes, list) and len(classes) >= 2:
        return [str(c) for c in classes]
    info = _info(run)
    if info is None:
        raise RunError(
            "Run {run_id} was trained on {dataset}, which this version of dlviz does not know.",
            run_id=run.id,
            dataset=run.dataset,
        )
    return [str(c) for c in info.classes]


def _run_max_len(run: RunRecord, vocab_json) -> int:
    for source in (run.settings or {}, vocab_json if isinstance(vocab_json, dict) else {}):
        if isinstance(source.get("max_len"), int) and source["max_len"] > 0:
            return int(source["max_len"])
    shape = getattr(_info(run), "input_shape", None)
    if shape and len(shape) == 1:
        return int(shape[0])
    return int(getattr(_info(run), "max_len", 56) or 56)


class TextLook(Look):
    kind = TEXT_KIND
    run_key = K.TXT_RUN
    cache_slot = K.TXT_MODELS
    picker_label = N_("Text model to look inside")
    picker_help = N_("Every trained text run is here. Train one on a text dataset (Data page, then Train) to add one.")
    nothing_yet = N_(
        "There is no trained text model to look inside yet. Pick a text dataset on the Data page, a "
        "text model (LSTM or transformer) on the Build page, and train it; then come back here."
    )

    def lists(self, run: RunRecord, store: RunStore) -> bool:
        return super().lists(run, store) and store.has_record(run.id, "vocab")  # a typed sentence needs it

    def load(self, run: RunRecord, tag: str | None):
        """(model, vocab, max_len) for a text run at ``tag`` (None: final). Raises DlvizError."""
        vocab = TEXT.load_with_run(get_store(), run)  # a RunError if it is missing or damaged
        max_len = _run_max_len(run, None)
        model = build(run.spec, (max_len,), len(_run_classes(run)), input_dtype=torch.long, budget=False).module
        return with_weights(model, run, tag), vocab, max_len

    def context(self, run: RunRecord, tag: str | None, loaded) -> TextCtx:
        model, vocab, max_len = loaded
        return TextCtx(
            run=run,
            model=model,
            tag=tag,
            vocab=vocab,
            classes=_run_classes(run),
            max_len=max_len,
            language=_run_language(run, vocab),
        )


TEXT_LOOK = TextLook()


# --------------------------------------------------------------------------- the sentence
def _sentence_box(ctx: TextCtx) -> EncodedText | None:
    ss = st.session_state
    keep = K.sentence(ctx.language)  # kept across pages (a widget's own key is forgotten)
    wkey = K.sentence_widget(ctx.language)
    if keep not in ss:
        ss[keep] = DEFAULT_TEXT.get(ctx.language, DEFAULT_TEXT["en"])
    # set on every run: after a page switch the box is a new widget that would otherwise start empty
    ss[wkey] = ss[keep]

    def typed() -> None:
        ss[keep] = ss[wkey]
        ss[K.TYPED] = {**(ss.get(K.TYPED) or {}), ctx.language: ss[wkey]}
        save_session()  # a refresh keeps the sentence too

    text = st.text_area(
        t("Type a sentence"),
        key=wkey,
        on_change=typed,
        max_chars=MAX_CHARS,
        height=90,
        help=t(
            "Press Ctrl+Enter (or click outside the box) to read it. The model reads at most {n} tokens.", n=ctx.max_len
        ),
    )
    ss[keep] = text
    if not text or not text.strip():
        st.info(t("Type a sentence above to see what the model makes of it."), icon=":material/edit_note:")
        return None
    sent = encode_sentence(ctx.vocab, text, ctx.max_len)
    if sent.empty:
        st.info(
            t("This text has no words or characters the model can read. Type a sentence with words."),
            icon=":material/edit_note:",
        )
        return None
    if sent.truncated:
        st.warning(
            t(
                "The text has {total:,} tokens; the model reads only the first {n}. The rest is cut off, "
                "as it was in training.",
                total=sent.total,
                n=ctx.max_len,
            ),
            icon=":material/content_cut:",
        )
    unknown = sum(sent.unknown)
    if unknown == sent.n:
        st.warning(
            t(
                "None of these tokens is in the model's vocabulary: it reads them all as the unknown token, "
                "so its answer says nothing about the text."
            ),
            icon=":material/help:",
        )
    elif unknown:
        st.caption(
            t(
                "{k} of {n} tokens are not in the vocabulary (shown in italics); the model reads them as "
                "the unknown token.",
                k=unknown,
                n=sent.n,
            )
        )
    return sent


def text_header(replay: bool = True, sentence: bool = True) -> TextCtx | None:
    """Run picker + replay slider (``look_header(TEXT_LOOK)``) + sentence box. None (with guidance shown)
    when there is no text run."""
    ctx = look_header(TEXT_LOOK, replay)
    if ctx is not None and sentence:
        ctx.sentence = _sentence_box(ctx)
    return ctx


# --------------------------------------------------------------------------- prediction
# Run one sentence through a small text model on one CPU thread (restored afterwards). Measured on the 2-core
# machine while other work ran (a training job, another session): a 56-token pass of the transformer preset
# took 2 ms on one thread and 430 ms on two, its Integrated Gradients 40 ms against 2-4 s; the two OpenMP
# threads wait for each other on a busy CPU, and ops this small gain nothing from a second core anyway.
# PyTorch's OpenMP thread count belongs to the calling thread, so a page run's setting leaves a training
# thread alone.
one_thread = one_cpu_thread


def predict(ctx: TextCtx, sent: EncodedText) -> np.ndarray:
    """Class probabilities (C,) for the sentence."""
    with torch.no_grad(), one_thread():
        logits = ctx.model(sent.ids[None])
    return torch.softmax(logits.float(), dim=-1)[0].numpy()


def class_names(ctx: TextCtx) -> list[str]:
    """The class names as shown: translated where the catalogue knows them ("negative"), else as the data says."""
    return [t(c) for c in ctx.classes]


def show_prediction(ctx: TextCtx, probs: np.ndarray, key: str) -> None:
    """The predicted class in words and the probability bars (the builder escapes the class names)."""
    from dlviz.plots import probability_bars

    pred = int(np.argmax(probs))
    shown = class_names(ctx)
    left, right = st.columns([1, 2], vertical_alignment="center")
    with left:
        st.metric(t("The model says"), shown[pred])
        st.caption(t("{p:.1%} sure", p=float(probs[pred])))
    with right:
        st.plotly_chart(
            probability_bars(probs.tolist(), None, shown, tr=t, height=180),
            width="stretch",
            config={"displayModeBar": False},
            key=key,
        )
