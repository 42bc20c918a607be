"""How long things took on this computer, so a wait can say honestly how long it will take.

A few slow steps (t-SNE, the gradient experiment, scoring the test set) remember their last
durations in ``$DLVIZ_HOME/timings.json`` as a rate (seconds per unit of work: per image, per
step). ``estimate`` turns the remembered rate back into seconds for a new size, or uses the
caller's default (measured when the code was written) before the first measurement. A missing or
unwritable file only loses the memory, never the wait itself.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from dlviz.paths import resolve_home

FILE = "timings.json"
_LOCK = threading.Lock()


def _path(home=None) -> Path:
    return resolve_home(home) / FILE


def _load(home=None) -> dict:
    try:
        data = json.loads(_path(home).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def estimate(key: str, size: float = 1.0, default_rate: float | None = None, home=None) -> float | None:
    """Expected seconds for ``size`` units of ``key``: the remembered rate, else ``default_rate``."""
    rate = _load(home).get(key)
    if not isinstance(rate, (int, float)) or rate <= 0:
        rate = default_rate
    return None if rate is None else float(rate) * float(size)


def remember(key: str, seconds: float, size: float = 1.0, home=None) -> None:
    """Record that ``size`` units of ``key`` took ``seconds`` (a running average of the last few)."""
    if not (seconds > 0 and size > 0):
        return
    rate = seconds / size
    with _LOCK:
        data = _load(home)
        old = data.get(key)
        data[key] = rate if not isinstance(old, (int, float)) or old <= 0 else 0.5 * old + 0.5 * rate
        path = _path(home)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
