"""A user's own CSV as a text dataset: parsed and checked (:func:`load_csv_dataset`), and kept under
$DLVIZ_HOME/data/csv/ so that runs can find it again.

``load_csv_dataset(source)`` reads a path, bytes or an uploaded file: the columns found by name or
shape, the delimiter sniffed, the encoding UTF-8 or GB18030, every problem a plain DataError (a missing
column, one class, a bad encoding, a spreadsheet saved as .xlsx, ...); the rows become a corpus that
:mod:`dlviz.data.text` deduplicates, splits and tokenises like every text dataset.

``add_csv(raw, filename)`` validates a file that way, then keeps a copy named by its content hash and
returns the dataset name ``csv-<12 hex>``. ``load_dataset("csv-...")`` and ``get_info("csv-...")`` read
that copy, so a run trained on it reloads after a restart; a deleted copy is a plain DataError naming the
original file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from dlviz.data.registry import DatasetInfo
from dlviz.data.sources import dlviz_home
from dlviz.data.text import Corpus, TextData, deduplicated, prepare
from dlviz.data.tokenize import detect_language, tokenizer
from dlviz.errors import DataError
from dlviz.i18n import N_
from dlviz.limits import MB, limits

PREFIX = "csv-"
_NAME = re.compile(r"^csv-[0-9a-f]{12}$")
MAX_CLASSES = 20
MIN_ROWS = 10

_SKIPPED_TEXT_NOTICE = N_("{n} rows with an empty text were skipped.")
_SKIPPED_LABEL_NOTICE = N_("{n} rows without a label were skipped.")
_JOINED_NOTICE = N_(
    "{n} rows had more fields than the header (commas inside a text without quotes); the extra "
    "fields were read as part of the text in the column {column}."
)

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
    dedup = deduplicated(
        Corpus(
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
    corpus = Corpus(
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
    return prepare(corpus, info, max_len, max_vocab, note_long=True)


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


# --------------------------------------------------------------------------------------------
# Kept CSV files


def is_csv_name(name: str) -> bool:
    return bool(_NAME.match(str(name).strip().lower()))


def _folder(home=None) -> Path:
    return dlviz_home(home) / "data" / "csv"


def _meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _owners(meta: dict) -> list[str]:
    owners = meta.get("owners")
    return [str(o) for o in owners] if isinstance(owners, list) else []


def add_csv(raw: bytes, filename: str, home=None, owner: str | None = None) -> str:
    """Check ``raw`` as a text dataset and keep it; returns its dataset name (``csv-<hash>``).

    ``owner`` (a class: the uploader's Person.id) makes it theirs: ``list_csv(owner=...)`` lists it for them
    only, and a student's files together stay under the server's quota (DLVIZ_CSV_QUOTA_MB)."""
    load_csv_dataset(raw, name=filename)  # every problem is a plain DataError, before anything is kept
    key = PREFIX + hashlib.sha256(raw).hexdigest()[:12]
    folder = _folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    meta = _meta(folder / f"{key}.json")
    owners = _owners(meta)
    if owner and owner not in owners:
        if owner.startswith("s-"):  # a student: the teacher's uploads are not counted against anyone
            used = sum(
                (folder / f"{name}.csv").stat().st_size
                for name in list_csv(home, owner=owner)
                if (folder / f"{name}.csv").is_file()
            )
            quota = limits().csv_quota_bytes
            if used + len(raw) > quota:
                raise DataError(
                    "Your CSV files would take {size} MB on the server; each student may keep up to {limit} MB. "
                    "Use one of the files you added before, or ask your teacher.",
                    size=f"{(used + len(raw)) / MB:.1f}",
                    limit=f"{quota / MB:g}",
                )
        owners.append(owner)
    (folder / f"{key}.csv").write_bytes(raw)
    kept = {"filename": filename, **({"owners": owners} if owners else {})}
    (folder / f"{key}.json").write_text(json.dumps(kept), encoding="utf-8")
    return key


def list_csv(home=None, owner: str | None = None) -> dict[str, str]:
    """The CSV datasets kept in this home: name -> the original file name; ``owner``: only those that person
    added (a class), None: all."""
    out = {}
    for path in sorted(_folder(home).glob("csv-*.json")):
        meta = _meta(path)
        if "filename" not in meta or (owner is not None and owner not in _owners(meta)):
            continue
        out[path.stem] = str(meta["filename"])
    return out


def load_csv(name: str, home=None, max_len: int | None = None, max_vocab: int | None = None) -> TextData:
    """The TextData of the kept CSV ``name`` (parsed once per process per file state)."""
    path = _folder(home) / f"{name}.csv"
    if not path.is_file():
        raise DataError(
            "The CSV dataset {name} is no longer in {folder}: add the file again on the Data page.",
            name=name,
            folder=str(path.parent),
        )
    st = path.stat()
    return _load(str(path), st.st_mtime_ns, st.st_size, max_len, max_vocab)


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int, _size: int, max_len, max_vocab) -> TextData:
    p = Path(path)
    filename = p.stem
    meta = p.with_suffix(".json")
    if meta.is_file():
        try:
            filename = json.loads(meta.read_text(encoding="utf-8"))["filename"]
        except (OSError, ValueError, KeyError):
            pass
    data = load_csv_dataset(p.read_bytes(), name=filename, max_len=max_len, max_vocab=max_vocab)
    return replace(data, info=replace(data.info, key=p.stem, title=filename))
