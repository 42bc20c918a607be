"""One setting of something a user configures: a layer's ``units``, an explanation method's ``steps``.

A :class:`Setting` has a default and either a numeric range (``lo`` .. ``hi``) or a list of ``choices``, a
translatable ``title`` and ``help``, and its ``kind`` ("bool", "int", "float", "choice" or "text"), which
the widgets that show it read. The layer registry (:mod:`dlviz.models.layers`, where a setting is called a
param and carries its ``name``) and the explanation registry (:mod:`dlviz.explain.registry`, where the
settings are a dict by name) use this one type. It sits at the bottom of the layers: it imports only
:mod:`dlviz.errors`. No streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlviz.errors import DlvizError, ExplainError

KINDS = ("bool", "int", "float", "choice", "text")


@dataclass(frozen=True)
class Setting:
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None  # the allowed values; None: a number in lo .. hi, or free text
    title: str = ""  # translatable English label for the UI
    help: str = ""  # translatable one-line explanation
    name: str = ""  # its key, where the owner lists its settings in order (a layer type's params)
    kind: str = ""  # one of KINDS; told by the rest when left out
    labels: tuple | None = None  # translatable English words for the choices, in their order (None: the values)

    def __post_init__(self):
        if not self.kind:
            if self.choices is not None and set(self.choices) == {True, False}:
                kind = "bool"
            elif self.choices is not None:
                kind = "choice"
            elif isinstance(self.default, bool):
                kind = "bool"
            elif self.lo is not None:
                kind = "int" if isinstance(self.default, int) else "float"
            else:
                kind = "text"
            object.__setattr__(self, "kind", kind)
        if self.kind not in KINDS:
            raise ValueError(f"setting kind {self.kind!r} is not one of {KINDS}")

    @property
    def min(self) -> float | None:
        return self.lo

    @property
    def max(self) -> float | None:
        return self.hi

    def check(self, owner: str, name: str, value, error: type[DlvizError] = ExplainError):
        """``value`` checked against the choices or the range (``owner``: whose setting, for the message),
        as the default's type; ``error`` is raised with a plain message otherwise."""
        if self.choices is not None:
            if value not in self.choices:
                raise error(
                    "{method}: {name} must be one of {choices}, not {value}.",
                    method=owner,
                    name=name,
                    choices=", ".join(map(str, self.choices)),
                    value=value,
                )
            return value
        if self.lo is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (self.lo <= value <= self.hi):
                raise error(
                    "{method}: {name} must be between {lo} and {hi}, not {value}.",
                    method=owner,
                    name=name,
                    lo=self.lo,
                    hi=self.hi,
                    value=value,
                )
            return type(self.default)(value) if isinstance(self.default, (int, float)) else value
        return value


def check_all(owner: str, known: dict[str, Setting], settings: dict, error: type[DlvizError] = ExplainError) -> dict:
    """``settings`` (name -> value) checked against ``known`` (name -> Setting), with the defaults filled in."""
    out = {}
    for name, value in settings.items():
        if name not in known:
            raise error("{method} has no setting '{name}'.", method=owner, name=name)
        out[name] = known[name].check(owner, name, value, error)
    for name, s in known.items():
        out.setdefault(name, s.default)
    return out
