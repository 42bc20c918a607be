"""What one student's training job may cost, as the teacher set it (issue 17): epochs, parameters, wall time.

Stored in ``dlviz_home()/"class"/limits.json`` (this module writes it; atomic). A limit that is ``None`` is not
set: the server's own limits (``dlviz.limits``) still apply to everyone. The teacher's own jobs are not limited.
The teacher's dashboard calls ``get_limits()`` and ``set_limits(...)``; the training queue
(``dlviz.classroom.queue``) checks epochs and parameters when a job is submitted and stops a job that runs longer
than its wall time.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from dlviz.errors import DlvizError
from dlviz.runs import dlviz_home

FILE = "limits.json"


class LimitError(DlvizError):
    """A job (or a limit the teacher typed) is outside what the class allows; the message names the limit."""


@dataclass(frozen=True)
class StudentLimits:
    max_epochs: int | None = None  # epochs of one run
    max_params: int | None = None  # parameters of the model
    max_wall_s: float | None = None  # seconds a job may train (from its start, not its wait); then it is stopped

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


def _path(home=None) -> Path:
    return dlviz_home(home) / "class" / FILE


def _clean(name: str, value, kind) -> int | float | None:
    """``None``, 0 or '' clear a limit; anything else must be a positive number."""
    if value is None or value == "" or value == 0:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise LimitError("The limit {name} must be a number; got {value}.", name=name, value=str(value)) from None
    if not number > 0 or number != number:  # NaN fails too
        raise LimitError("The limit {name} must be above 0 (0 or empty: no limit).", name=name)
    return number


def get_limits(home=None) -> StudentLimits:
    """The class's limits; none when the teacher set none (or the file is damaged: the queue must go on)."""
    try:
        raw = json.loads(_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return StudentLimits()
    if not isinstance(raw, dict):
        return StudentLimits()
    kinds = {"max_epochs": int, "max_params": int, "max_wall_s": float}
    out = {}
    for name, kind in kinds.items():
        try:
            out[name] = _clean(name, raw.get(name), kind)
        except LimitError:
            out[name] = None
    return StudentLimits(**out)


def set_limits(limits: StudentLimits | None = None, home=None, **changes) -> StudentLimits:
    """Store the class's limits: a whole ``StudentLimits``, or some of its fields by name (the rest kept).
    ``None`` or 0 clears a limit. Raises ``LimitError`` for a value that is not a positive number."""
    base = limits if limits is not None else get_limits(home)
    names = {f.name for f in fields(StudentLimits)}
    unknown = set(changes) - names
    if unknown:
        raise LimitError("There is no class limit called {name}.", name=", ".join(sorted(unknown)))
    merged = {**asdict(base), **changes}
    kinds = {"max_epochs": int, "max_params": int, "max_wall_s": float}
    new = StudentLimits(**{n: _clean(n, merged[n], kinds[n]) for n in kinds})
    path = _path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".limits-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(new), f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return new
