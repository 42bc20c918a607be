"""A user's own CSV as a dataset that runs can find again: stored under $DLVIZ_HOME/data/csv/.

``add_csv(raw, filename)`` validates the file with :func:`dlviz.data.text.load_csv_dataset` (plain
DataErrors for a missing column, one class, a bad encoding, ...), then keeps a copy named by its
content hash and returns the dataset name ``csv-<12 hex>``. ``load_dataset("csv-...")`` and
``get_info("csv-...")`` read that copy, so a run trained on it reloads after a restart; a deleted
copy is a plain DataError naming the original file.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from dlviz.errors import DataError

PREFIX = "csv-"
_NAME = re.compile(r"^csv-[0-9a-f]{12}$")


def is_csv_name(name: str) -> bool:
    return bool(_NAME.match(str(name).strip().lower()))


def _folder(home=None) -> Path:
    from dlviz.data.loader import dlviz_home

    return dlviz_home(home) / "data" / "csv"


def add_csv(raw: bytes, filename: str, home=None) -> str:
    """Check ``raw`` as a text dataset and keep it; returns its dataset name (``csv-<hash>``)."""
    from dlviz.data.text import load_csv_dataset

    load_csv_dataset(raw, name=filename)  # every problem is a plain DataError, before anything is kept
    key = PREFIX + hashlib.sha256(raw).hexdigest()[:12]
    folder = _folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.csv").write_bytes(raw)
    (folder / f"{key}.json").write_text(json.dumps({"filename": filename}), encoding="utf-8")
    return key


def list_csv(home=None) -> dict[str, str]:
    """The CSV datasets kept in this home: name -> the original file name."""
    out = {}
    for meta in sorted(_folder(home).glob("csv-*.json")):
        try:
            out[meta.stem] = json.loads(meta.read_text(encoding="utf-8"))["filename"]
        except (OSError, ValueError, KeyError):
            continue
    return out


def load_csv(name: str, home=None, max_len: int | None = None, max_vocab: int | None = None):
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
def _load(path: str, _mtime: int, _size: int, max_len, max_vocab):
    from dlviz.data.text import load_csv_dataset

    p = Path(path)
    filename = p.stem
    meta = p.with_suffix(".json")
    if meta.is_file():
        try:
            filename = json.loads(meta.read_text(encoding="utf-8"))["filename"]
        except (OSError, ValueError, KeyError):
            pass
    data = load_csv_dataset(p.read_bytes(), name=filename, max_len=max_len, max_vocab=max_vocab)
    from dataclasses import replace

    return replace(data, info=replace(data.info, key=p.stem, title=filename))
