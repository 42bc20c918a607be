"""The text modality: labelled sentences (rt-polarity, zh-reviews, a user's CSV) read as token ids.

It owns THE sentence encoder, :func:`encode_sentence`: a typed sentence tokenised as the training data
was (:mod:`dlviz.data.tokenize`), its first ``max_len`` tokens kept, pre-padded with PAD = 0. The CLI's
attention, the look-inside pages and the explanations all read a sentence through it. A batch of ids
(B, L) long is already the model's input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from dlviz.data import get_info
from dlviz.data.registry import DatasetInfo
from dlviz.data.tokenize import UNK, Vocab, encode_batch, pad_rows
from dlviz.errors import DataError, RunError
from dlviz.i18n import N_
from dlviz.modality.base import Example, Modality
from dlviz.models.builder import with_vocab


@dataclass
class EncodedText:
    """One sentence as the model reads it.

    ``ids`` (max_len,) long, pre-padded: the real tokens are the last ``n``. ``tokens`` are those tokens
    (at most max_len, in order; unknown words keep their spelling), ``unknown`` says per token whether it
    is outside the vocabulary (read as UNK), ``truncated`` whether the text had more than max_len tokens,
    ``total`` how many tokens the whole text has. A text without any token (empty, only spaces or
    invisible characters) has ``n == 0`` (``empty``): callers say so in their own words.
    """

    text: str
    ids: torch.Tensor
    tokens: list[str]
    unknown: list[bool]
    truncated: bool
    total: int

    @property
    def n(self) -> int:
        """The tokens the model reads (at most max_len)."""
        return len(self.tokens)

    @property
    def empty(self) -> bool:
        return not self.tokens

    @property
    def words(self) -> list[str]:
        """The same as ``tokens`` (the explanations call them words)."""
        return self.tokens

    @property
    def kept_ids(self) -> list[int]:
        """The ids of the tokens read, without the padding."""
        return self.ids[len(self.ids) - self.n :].tolist() if self.n else []


def encode_sentence(vocab, text: str, max_len: int) -> EncodedText:
    """``text`` as a model trained with ``vocab`` and ``max_len`` reads it (see :class:`EncodedText`).

    Never raises for a string: an empty text gives an :class:`EncodedText` whose ``empty`` is True.
    """
    text = text if isinstance(text, str) else ""
    every_id = list(vocab.encode(text))
    tokens = list(vocab.tokens(text))
    if len(tokens) != len(every_id):  # a tokenizer that merges or splits differently: show the vocabulary's
        tokens = list(vocab.decode(every_id))
    ids, lengths, truncated = pad_rows([every_id], max_len)
    n = int(lengths[0])
    unk = int(getattr(vocab, "UNK", UNK))
    return EncodedText(
        text=text,
        ids=ids[0],
        tokens=[str(s) for s in tokens[:n]],
        unknown=[i == unk for i in every_id[:n]],
        truncated=bool(truncated[0]),
        total=len(every_id),
    )


class TextModality(Modality):
    """Labelled sentences; a model reads their token ids (max_len,) long, pre-padded with PAD = 0."""

    name, view, input_dtype, default_preset = "text", "tokens", torch.long, "lstm"
    title, part, parts = N_("Texts"), N_("word"), N_("words")
    wrong_model = N_(
        "This model reads images, but the dataset is sentences: a text model starts with an Embedding "
        "layer that turns token ids into vectors."
    )
    has_baseline = True

    def encode(self, raw: str, *, vocab, max_len: int) -> EncodedText:
        """A typed sentence as a model trained with ``vocab`` and ``max_len`` reads it (:func:`encode_sentence`)."""
        return encode_sentence(vocab, raw, max_len)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids (B, L) long are already the model's input."""
        return x

    def input_shape(self, info: DatasetInfo, max_len: int | None = None) -> tuple[int, ...]:
        return (int(max_len or info.max_len),)

    def example(self, data, index: int, part: str = "train") -> Example:
        texts, y = (data.test_texts, data.test_y) if part == "test" else (data.train_texts, data.train_y)
        text = texts[index]
        return Example(self.view, int(y[index]), text, tuple(data.vocab.tokens(text)[: data.max_len]))

    # ---------------------------------------------------------------- training and saved runs

    def load_options(self, spec: dict) -> dict:
        # the Embedding's size caps the vocabulary (the course's Embedding(10000, 128): 10,000 words)
        return {"max_vocab": embedding_rows(spec)}

    def fit_model(self, spec: dict, data) -> tuple[dict, object]:
        """A loaded dataset whose vocabulary is larger than the Embedding is cut to its most frequent words (ids
        past it become UNK); the Embedding gets the vocabulary's size (saved with the run: it rebuilds without
        the dataset)."""
        rows = embedding_rows(spec)
        if rows is not None and len(data.vocab) > rows:
            data = capped(data, rows)
        return with_vocab(spec, len(data.vocab)), data

    def run_settings(self, data) -> dict:
        return {
            "kind": self.name,
            "language": data.info.language,
            "max_len": int(data.max_len),
            "vocab_size": len(data.vocab),
            "classes": list(data.classes),
        }

    def save_with_run(self, store, run_id: str, data) -> None:
        # beside the weights: the app and the CLI encode a typed sentence with it later
        store.save_record(run_id, "vocab", data.vocab.to_json())

    def load_with_run(self, store, rec) -> Vocab:
        """The vocabulary saved with text run ``rec`` (a RunError if it is missing or damaged)."""
        raw = store.load_record(rec.id, "vocab")
        if raw is None:
            raise RunError(
                "Run {run_id} has no saved vocabulary, so a typed sentence cannot be turned into "
                "the token ids it was trained on. Train the model again.",
                run_id=rec.id,
            )
        try:
            return Vocab.from_json(raw)
        except DataError:
            raise RunError(
                "The vocabulary saved with run {run_id} is damaged. Train the model again.", run_id=rec.id
            ) from None

    def run_input(self, rec) -> tuple[tuple[int, ...], int]:
        classes = rec.settings.get("classes") or list(get_info(rec.dataset).classes)
        return (run_max_len(rec),), len(classes)

    def test_inputs(self, data, rec, saved) -> torch.Tensor:
        """The test sentences encoded with the run's own vocabulary and length."""
        return encode_batch(data.test_texts, saved, run_max_len(rec))[0]

    def preview(self, data, indices: list[int]) -> dict:
        return {"texts": [clip(data.test_texts[i]) for i in indices]}


PREVIEW_CHARS = 300  # a run's result view keeps this much of each test sentence


def clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "\u2026"


def capped(data, rows: int):
    """``data`` with its vocabulary cut to its ``rows`` most frequent entries (ids past it become UNK)."""
    v = data.vocab
    vocab = Vocab(v.itos[:rows], v.language, v.freqs[:rows], v.n_types)

    def cut(x):
        return x.masked_fill(x >= rows, UNK)

    return replace(data, vocab=vocab, train_x=cut(data.train_x), test_x=cut(data.test_x))


def embedding_rows(spec: dict) -> int | None:
    """How many words the model's Embedding holds (None without one)."""
    for layer in spec["layers"]:
        if layer["type"] == "embedding":
            return int(layer["vocab"])
    return None


def run_max_len(rec) -> int:
    """The sequence length text run ``rec`` was trained with."""
    n = rec.settings.get("max_len")
    if isinstance(n, int) and n > 0:
        return n
    return int(get_info(rec.dataset).max_len)


TEXT = TextModality()
