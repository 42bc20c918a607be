"""Text to token ids: tokenizers, a frequency vocabulary, padding.

Conventions shared by every text feature of dlviz (models, attention, the CLI):

* ids: ``PAD = 0``, ``UNK = 1``, then the vocabulary by training-set frequency (ties
  alphabetical); the cap (10,000 by default, as in the course material) counts PAD and UNK.
* English is word level: lower-cased, NFKC-normalised, words (with inner apostrophes, hyphens
  and slashes: ``it's``, ``sci-fi``, ``writer/director``, as rt-polarity writes them) and every
  other symbol as its own token (``!``, ``"``, an emoji); ``--`` and ``...`` stay whole.
* Chinese is character level: every non-space character is a token, except that runs of ASCII
  letters and digits stay one (lower-cased) word: ``iPhone 12`` -> ``iphone``, ``12``.
* Sequences are PRE-padded (Keras' ``pad_sequences`` default): pads at the start, the last real
  token at index ``L - 1``; a longer text keeps its FIRST ``max_len`` tokens and is flagged.

Pure Python/NumPy/PyTorch: nothing here imports streamlit.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch

from dlviz.errors import DataError

PAD, UNK = 0, 1
PAD_TOKEN, UNK_TOKEN = "<pad>", "<unk>"
DEFAULT_MAX_VOCAB = 10_000
LANGUAGES = ("en", "zh")

# Invisible characters that would otherwise become tokens of their own: zero-width space and
# joiners, left-to-right / right-to-left marks and embeddings, word joiner, BOM, variation
# selectors, and C0/C1 control characters (tabs and newlines are whitespace and stay).
_INVISIBLE = re.compile(
    "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u206a-\u206f\ufeff\ufe00-\ufe0f\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
_QUOTES = (("\u2018", "'"), ("\u2019", "'"), ("\u02bc", "'"), ("\u201c", '"'), ("\u201d", '"'))
# Full-width ASCII and the ideographic space, mapped as NFKC maps them, but ~3x faster than NFKC
# on Chinese text (where nearly every line has a full-width comma); NFKC then runs only on the
# few lines still not normalised.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
_FULL_WIDTH_MAP = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}

# English: words with inner ' - / joints (rt-polarity keeps "it's", "sci-fi", "co-writer/director"
# whole), runs of dashes or dots ("--", "..."), else one token per symbol.
_EN = re.compile(r"\w+(?:['\-/]\w+)*|-{2,}|\.{2,}|[^\w\s]")
# Chinese: ASCII letter/digit runs as one word, else every non-space character.
_ZH = re.compile(r"[a-z0-9]+|\S")


def _full_width(match: re.Match) -> str:
    return _FULL_WIDTH_MAP[match.group()]


def normalize(text: str) -> str:
    """NFKC, invisible characters removed, curly quotes made straight, lower case."""
    text = _INVISIBLE.sub("", str(text))
    if not text.isascii():
        text = _FULL_WIDTH.sub(_full_width, text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
            text = _INVISIBLE.sub("", text)
        for curly, straight in _QUOTES:
            if curly in text:
                text = text.replace(curly, straight)
    return text.lower()


def tokenize_en(text: str) -> list[str]:
    """``"It's great!"`` -> ``["it's", "great", "!"]`` (the same split rt-polarity's files use)."""
    return _EN.findall(normalize(text))


def tokenize_zh(text: str) -> list[str]:
    """``"这本书很好看 iPhone 12"`` -> ``["这", "本", "书", "很", "好", "看", "iphone", "12"]``."""
    return _ZH.findall(normalize(text))


_TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"en": tokenize_en, "zh": tokenize_zh}


def tokenizer(language: str) -> Callable[[str], list[str]]:
    """The tokenizer for ``language`` ("en" word level, "zh" character level)."""
    try:
        return _TOKENIZERS[language]
    except (KeyError, TypeError):
        raise DataError(
            "Unknown text language {language}. Choose one of: {choices}.",
            language=str(language),
            choices=", ".join(LANGUAGES),
        ) from None


def check_max_len(max_len) -> int:
    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or not 1 <= int(max_len) <= 100_000:
        raise DataError(
            "The maximum length must be a whole number of tokens from 1 to 100,000; got {value}.", value=max_len
        )
    return int(max_len)


class Vocab:
    """Token <-> id for one language. ``itos[0]`` is PAD, ``itos[1]`` is UNK.

    ``freqs[i]`` is how often ``itos[i]`` occurred in the texts the vocabulary was built from
    (0 for PAD and UNK); ``n_types`` is how many different tokens those texts had before the cap.
    """

    PAD = PAD
    UNK = UNK
    PAD_TOKEN = PAD_TOKEN
    UNK_TOKEN = UNK_TOKEN

    def __init__(
        self, itos: Sequence[str], language: str, freqs: Sequence[int] | None = None, n_types: int | None = None
    ):
        itos = [str(s) for s in itos]
        tokenizer(language)  # validates the language
        if len(itos) < 2 or itos[PAD] != PAD_TOKEN or itos[UNK] != UNK_TOKEN or len(set(itos)) != len(itos):
            raise DataError(
                "This vocabulary is damaged: it must start with {pad} and {unk} and list every token once.",
                pad=PAD_TOKEN,
                unk=UNK_TOKEN,
            )
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(itos)}
        self.language: str = language
        self.freqs: list[int] = [int(f) for f in freqs] if freqs is not None else [0] * len(itos)
        if len(self.freqs) != len(itos):
            raise DataError(
                "This vocabulary is damaged: it must start with {pad} and {unk} and list every token once.",
                pad=PAD_TOKEN,
                unk=UNK_TOKEN,
            )
        self.n_types: int = int(n_types) if n_types is not None else len(itos) - 2
        self._tokenize = tokenizer(language)

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, counts: Counter | dict[str, int], language: str, max_size: int = DEFAULT_MAX_VOCAB) -> Vocab:
        """The ``max_size - 2`` most frequent tokens (ties alphabetical) after PAD and UNK."""
        if isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer)) or max_size < 2:
            raise DataError(
                "The vocabulary size must be a whole number of at least 2 (padding and unknown); got {value}.",
                value=max_size,
            )
        counts = {t: c for t, c in counts.items() if c > 0 and t not in (PAD_TOKEN, UNK_TOKEN)}
        # alphabetical first, then a stable sort by falling count: ties stay alphabetical
        ranked = sorted(sorted(counts.items()), key=lambda tc: -tc[1])[: int(max_size) - 2]
        return cls(
            [PAD_TOKEN, UNK_TOKEN, *(t for t, _ in ranked)],
            language,
            [0, 0, *(c for _, c in ranked)],
            n_types=len(counts),
        )

    # -- use ------------------------------------------------------------------------------------
    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` (all of them: no cap on the length, unknown ones included)."""
        return self._tokenize(text)

    def encode_tokens(self, tokens: Iterable[str]) -> list[int]:
        get = self.stoi.get
        return [get(tok, UNK) for tok in tokens]

    def encode(self, text: str) -> list[int]:
        """Ids of every token of ``text``, UNK (1) for tokens outside the vocabulary; no padding."""
        return self.encode_tokens(self._tokenize(text))

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_pad: bool = False) -> list[str]:
        """One token string per id (``<pad>``, ``<unk>`` included unless ``skip_pad``)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.reshape(-1).tolist()
        n = len(self.itos)
        out = []
        for i in ids:
            i = int(i)
            if skip_pad and i == PAD:
                continue
            out.append(self.itos[i] if 0 <= i < n else UNK_TOKEN)
        return out

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.language == other.language and self.itos == other.itos

    __hash__ = None  # mutable lists inside

    def __repr__(self) -> str:
        return f"Vocab(language={self.language!r}, size={len(self)}, n_types={self.n_types})"

    # -- saving with a run ----------------------------------------------------------------------
    def to_json(self) -> dict:
        """A JSON-able dict (RunStore.save_record(run_id, "vocab", vocab.to_json()))."""
        return {
            "format": "dlviz-vocab",
            "version": 1,
            "language": self.language,
            "itos": list(self.itos),
            "freqs": list(self.freqs),
            "n_types": self.n_types,
        }

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        """The vocabulary saved by :meth:`to_json`; a DataError if it is damaged."""
        try:
            if not isinstance(data, dict) or data.get("format") != "dlviz-vocab":
                raise TypeError
            itos = data["itos"]
            if not isinstance(itos, list) or not all(isinstance(s, str) for s in itos):
                raise TypeError
            freqs = data.get("freqs")
            return cls(itos, data["language"], freqs if isinstance(freqs, list) else None, data.get("n_types"))
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "This vocabulary is damaged: it must start with {pad} and {unk} and list every token once.",
                pad=PAD_TOKEN,
                unk=UNK_TOKEN,
            ) from None


def build_vocab(texts: Iterable[str], language: str, max_size: int = DEFAULT_MAX_VOCAB) -> Vocab:
    """A vocabulary of the ``max_size - 2`` most frequent tokens of ``texts`` (build it from TRAIN texts)."""
    tok = tokenizer(language)
    counts: Counter = Counter()
    for text in texts:
        counts.update(tok(text))
    return Vocab.from_counts(counts, language, max_size)


def pad_rows(
    rows: Sequence[np.ndarray] | Sequence[Sequence[int]], max_len: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pre-pad id lists into ``(ids (N, max_len), lengths (N,), truncated (N,))``.

    A row longer than ``max_len`` keeps its first ``max_len`` ids; ``lengths`` counts the real
    tokens kept (0 for an empty text: a row of pads).
    """
    max_len = check_max_len(max_len)
    n = len(rows)
    full = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    flat = (
        np.concatenate([np.asarray(r, dtype=np.int64) for r in rows])
        if n and full.sum()
        else np.zeros(0, dtype=np.int64)
    )
    starts = np.cumsum(full) - full
    return pad_flat(flat, starts, full, max_len)


def pad_flat(
    flat: np.ndarray, starts: np.ndarray, full: np.ndarray, max_len: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows ``flat[starts[i] : starts[i] + full[i]]`` pre-padded to ``max_len`` (vectorised)."""
    n = len(full)
    kept = np.minimum(full, max_len)
    out = np.zeros((n, max_len), dtype=np.int64)
    total = int(kept.sum())
    if total:
        row = np.repeat(np.arange(n), kept)
        within = np.arange(total) - np.repeat(np.cumsum(kept) - kept, kept)
        out[row, max_len - kept[row] + within] = flat[starts[row] + within]
    return torch.from_numpy(out), torch.from_numpy(kept.astype(np.int64)), torch.from_numpy(full > max_len)


def encode_batch(texts: Sequence[str], vocab: Vocab, max_len: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(ids LongTensor (N, max_len), lengths LongTensor (N,), truncated BoolTensor (N,))``.

    Pre-padded with PAD = 0; tokens outside ``vocab`` become UNK = 1; a text longer than
    ``max_len`` tokens keeps its first ``max_len`` and is flagged in ``truncated``.
    """
    if isinstance(texts, str):
        texts = [texts]
    return pad_rows([vocab.encode(t) for t in texts], max_len)


def detect_language(texts: Iterable[str], sample_chars: int = 200_000) -> str:
    """ "zh" when at least 30% of the letters (of the first ``sample_chars``) are CJK, else "en"."""
    cjk = letters = seen = 0
    for text in texts:
        for ch in str(text):
            if ch.isalpha():
                letters += 1
                if _is_cjk(ch):
                    cjk += 1
        seen += len(str(text))
        if seen >= sample_chars:
            break
    return "zh" if letters and cjk / letters >= 0.3 else "en"


def cjk_share(text: str) -> float:
    """The share of the letters in ``text`` that are CJK ideographs (0 when there are no letters)."""
    letters = [ch for ch in str(text) if ch.isalpha()]
    return sum(map(_is_cjk, letters)) / len(letters) if letters else 0.0


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2FA1F
        or 0xF900 <= o <= 0xFAFF
        or 0x3040 <= o <= 0x30FF
        or 0xAC00 <= o <= 0xD7AF
    )
