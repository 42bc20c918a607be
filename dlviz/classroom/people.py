"""Who is looking at a page, and whether this server runs a class."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

TEACHER_ID = "teacher"
ROLES = ("alone", "teacher", "student")


@dataclass(frozen=True)
class Person:
    """The owner of a session and of what it makes. ``id`` is what a run's ``owner`` field holds: '' alone,
    ``TEACHER_ID`` for the teacher, a random ``s-...`` id for a student (never the name a student typed, which
    two students may share)."""

    id: str
    name: str
    role: str  # one of ROLES

    @property
    def teacher(self) -> bool:
        return self.role == "teacher"

    @property
    def student(self) -> bool:
        return self.role == "student"

    @property
    def sees_all(self) -> bool:
        """Alone or the teacher: every run on the server is theirs to list and open."""
        return self.role in ("alone", "teacher")

    def owns(self, owner: str) -> bool:
        """May this person open, rename or delete something whose owner is ``owner``? A student only their own;
        the teacher and a single user everything."""
        return self.sees_all or (bool(self.id) and owner == self.id)

    def changes(self, owner: str) -> bool:
        """May this person rename or delete something whose owner is ``owner``? Nobody changes what is not
        theirs: alone everything is yours; the teacher sees every student's runs but renames and deletes only
        their own and the class material (owner ''); a student only their own."""
        if self.role == "alone":
            return True
        return bool(self.id) and (owner == self.id or (self.teacher and owner == ""))


ALONE = Person("", "", "alone")


def class_mode(argv: list[str] | None = None) -> bool:
    """``streamlit run app.py -- --class`` or DLVIZ_CLASS=1 (also true/yes/on)."""
    args = sys.argv[1:] if argv is None else argv
    if "--class" in args:
        return True
    return os.environ.get("DLVIZ_CLASS", "").strip().lower() in ("1", "true", "yes", "on")
