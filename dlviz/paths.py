"""Where dlviz keeps its own files (run index, weights, the dataset cache, saved sessions)."""

from __future__ import annotations

import os
from pathlib import Path


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """``home``, else ``$DLVIZ_HOME`` (ignored if empty), else ``~/.dlviz``. Not created here."""
    raw = home if home is not None else (os.environ.get("DLVIZ_HOME") or "~/.dlviz")
    return Path(raw).expanduser()
