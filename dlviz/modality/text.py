"""The text modality: labelled sentences (rt-polarity, zh-reviews, a user's CSV) read as token ids.

It owns THE sentence encoder, :func:`encode_sentence`: a typed sentence tokenised as the training data
was (:mod:`dlviz.data.tokenize`), its first ``max_len`` tokens kept, pre-padded with PAD = 0. The CLI's
attention, the look-inside pages and the explanations all read a sentence through it. A batch of ids
(B, L) long is already the model's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dlviz.data.registry import DatasetInfo
from dlviz.data.tokenize import UNK, pad_rows
from dlviz.i18n import N_
from dlviz.modality.base import Example, Modality


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


TEXT = TextModality()
