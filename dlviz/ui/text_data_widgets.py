"""Sentences in the app: the Data page of a text dataset (counts, from a sentence to tokens and ids, samples,
balance, lengths) and a text run's test preview."""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dlviz.i18n import N_
from dlviz.limits import MB, limits
from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.classroom import me
from dlviz.ui.data_widgets import balance_pair, sample_picker, split_metrics
from dlviz.ui.plain import plain
from dlviz.ui.state import set_dataset, t

N_SAMPLES = 12
ss = st.session_state


# the Data page's words for a text dataset's three parts (data_widgets.split_metrics)
TEXT_SPLIT = (
    (N_("Training sentences"), N_("Validation sentences"), N_("Test sentences")),
    N_("{pct}% of the training part, held out (seed {seed}) to check the model during training."),
    N_("A fixed 20% of each class, kept apart until the end to measure the final accuracy."),
)


def _lengths_figure(lengths: np.ndarray, max_len: int) -> go.Figure:
    fig = go.Figure(go.Histogram(x=lengths, nbinsx=60, marker_color="#56B4E9"))
    fig.add_vline(
        x=max_len,
        line=dict(color="#D55E00", dash="dash"),
        annotation_text=t("kept: the first {n} tokens", n=max_len),
        annotation_position="top left",
    )
    fig.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title=t("tokens per sentence"),
        yaxis_title=t("sentences"),
        bargap=0.05,
    )
    return fig


def _raw_lengths(data) -> np.ndarray:
    """Tokens per training sentence before the cut (cached per dataset in this session)."""
    return session_cache(K.TDATA_LENGTHS_CACHE, 1).get_or_make(
        (data.info.key, len(data.train_texts), data.max_len),
        lambda: np.array([len(data.tokens(s)) for s in data.train_texts]),
    )


def token_table(data, text: str) -> None:
    """How one sentence becomes tokens, then ids, then the padded row the model reads."""
    tokens = data.tokens(text)
    if not tokens:
        st.info(
            t("This text has no tokens (it is empty or only spaces), so the model would see only padding."),
            icon=":material/info:",
        )
        return
    ids, lengths, truncated = data.encode([text])
    vocab = data.vocab
    raw = vocab.encode(text)
    chips = []
    for tok, i in zip(tokens, raw):
        unknown = i == vocab.UNK
        colour = "#D55E00" if unknown else "#0072B2"
        chips.append(
            f"<span style='display:inline-block;margin:2px;padding:2px 6px;border:1px solid {colour};"
            f"border-radius:6px;font-family:monospace'>{html.escape(tok)}<sub style='color:{colour}'>"
            f"{i}</sub></span>"
        )
    st.html("<div>" + "".join(chips) + "</div>")
    n_unk = sum(1 for i in raw if i == vocab.UNK)
    st.caption(
        t(
            "{n} tokens; each gets its number in the vocabulary of {v:,} (built from the training sentences "
            "only). Vermillion: not in the vocabulary, so it becomes {unk} (unknown); {k} of these.",
            n=len(tokens),
            v=len(vocab),
            unk=vocab.UNK,
            k=n_unk,
        )
    )
    row = ids[0].tolist()
    st.code(" ".join(str(i) for i in row), language=None, wrap_lines=True)
    pads = data.max_len - int(lengths[0])
    if bool(truncated[0]):
        st.caption(
            t(
                "The model reads exactly {L} numbers: this text is longer, so only its first {L} tokens are kept.",
                L=data.max_len,
            )
        )
    else:
        st.caption(
            t(
                "The model reads exactly {L} numbers: {p} zeros ({pad}: padding) go in front, so the last "
                "word sits at the end, as the course's Keras code does.",
                L=data.max_len,
                p=pads,
                pad="<pad>",
            )
        )


def csv_upload() -> None:
    """Add a CSV of (text, label) rows as a dataset; a bad file gets a plain message and changes nothing."""
    from dlviz.data.user_csv import add_csv
    from dlviz.errors import DlvizError
    from dlviz.ui.state import save_session
    from dlviz.ui.widgets import show_error

    added = ss.pop(K.TDATA_CSV_ADDED, None)
    if added:  # said once, after the rerun that switched the dataset to it
        st.success(
            t("Your CSV {name} is now the dataset, here and on every page.", name=added), icon=":material/check_circle:"
        )
    with st.expander(t("Use your own sentences (CSV)"), icon=":material/upload_file:"):
        st.caption(
            t(
                "A CSV file with a header row: one column of text and one of labels (e.g. text,label). Two or more "
                "classes, up to 20; English or Chinese; UTF-8 or GB18030."
            )
        )
        f = st.file_uploader(
            t("CSV file"),
            type=["csv", "txt"],
            key=K.TDATA_CSV,
            max_upload_size=max(1, math.ceil(limits().csv_bytes / MB)),
        )
        if f is not None and ss.get(K.TDATA_CSV_DONE) != f.file_id:
            try:
                name = add_csv(f.getvalue(), f.name, owner=me().id or None)  # a class: the uploader's
            except DlvizError as e:
                show_error(e)
                return
            ss[K.TDATA_CSV_DONE] = f.file_id
            set_dataset(name)  # the sidebar's Dataset box follows (it kept rt-polarity otherwise)
            ss[K.TDATA_CSV_ADDED] = f.name
            save_session()
            st.rerun()


def text_data_page(data) -> None:
    classes = [t(c) for c in data.classes]
    template, kwargs = data.source_label()
    st.success(
        t(template, **kwargs),
        icon=":material/folder_open:" if data.source != "download" else ":material/cloud_download:",
    )
    for n in data.notices:
        st.caption(t(n[0], **n[1]))
    csv_upload()
    st.markdown(
        t(
            "Each example is one sentence with a label: {classes}. A network cannot read letters, so every "
            "sentence is cut into tokens ({unit}), each token becomes its number in a vocabulary, and the "
            "numbers go in.",
            classes=", ".join(plain(c) for c in classes),
            unit=t("words and punctuation") if data.language == "en" else t("single characters"),
        )
    )
    c = st.columns(5)
    split_metrics(c, data, TEXT_SPLIT)
    c[3].metric(
        t("Vocabulary"),
        f"{len(data.vocab):,}",
        help=t(
            "The most frequent tokens of the training sentences "
            "(at most 10,000, as in the course), plus padding and "
            "unknown."
        ),
    )
    c[4].metric(t("Length read"), t("{n} tokens", n=data.max_len))

    st.subheader(t("From a sentence to numbers"))
    default = data.train_texts[0] if data.train_texts else ""
    text = st.text_input(
        t("Type a sentence, or keep the first training sentence"),
        value=ss.get(K.TDATA_TEXT, default),
        key=K.TDATAW_TEXT,
        max_chars=10_000,
    )
    ss[K.TDATA_TEXT] = text
    token_table(data, text)

    st.subheader(t("Sample sentences"))
    f1, f2 = st.columns([3, 1], vertical_alignment="bottom")
    y = data.train_y.numpy()
    pick, _ = sample_picker(f1, f2, classes, y, N_SAMPLES, (K.TDATA_CLASS, K.TDATA_SHUFFLE, K.TDATA_SEED))
    st.dataframe(
        {t("label"): [classes[int(y[i])] for i in pick], t("sentence"): [data.train_texts[i] for i in pick]},
        hide_index=True,
        width="stretch",
    )

    st.subheader(t("Class balance"))
    balance_pair(
        data,
        classes,
        t("Training part ({n} sentences, before the validation split)", n=f"{len(data.train_y):,}"),
        t("Test set ({n} sentences)", n=f"{len(data.test_y):,}"),
        (K.TDATA_BAL_TRAIN, K.TDATA_BAL_TEST),
        unit=t("sentences"),
    )

    st.subheader(t("Sentence lengths"))
    lengths = _raw_lengths(data)
    cut = int(data.train_truncated.sum())
    st.plotly_chart(
        _lengths_figure(lengths, data.max_len), width="stretch", config={"displayModeBar": False}, key=K.TDATA_LENGTHS
    )
    st.caption(
        t(
            "{cut:,} of {n:,} training sentences are longer than {L} tokens and are cut to their first {L}.",
            cut=cut,
            n=len(lengths),
            L=data.max_len,
        )
    )


def sentence_preview(run, prev: dict) -> None:
    """A text run's test preview (saved with the run): a few test sentences, the prediction, its confidence."""
    if not prev.get("texts"):
        return
    classes = [t(c) for c in (run.settings or {}).get("classes", ["negative", "positive"])]
    probs = np.asarray(prev["probs"])
    st.subheader(t("Test sentences: prediction, confidence (true label)"))
    rows = {
        t("sentence"): prev["texts"],
        t("prediction"): [
            classes[int(p.argmax())] if int(p.argmax()) < len(classes) else str(int(p.argmax())) for p in probs
        ],
        t("confidence"): [float(p.max()) for p in probs],
        t("true label"): [classes[int(y)] if int(y) < len(classes) else str(y) for y in prev["labels"]],
        t("right"): [bool(int(p.argmax()) == int(y)) for p, y in zip(probs, prev["labels"])],
    }
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        key=K.text_preview(run.id),
        column_config={t("confidence"): st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
    )
