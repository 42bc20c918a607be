"""The class's guesses on a lesson's questions (issue 18 in a class): each student's guess, kept for the teacher,
and whether the teacher revealed the answer to everyone. No streamlit.

One file per lesson, ``dlviz_home() / "class" / "guesses" / "<lesson id>.json``, written atomically under a lock
(every session of the class lives in the server's process):

    {step id: {"answers": {person id: {"choice": i, "name": name, "at": time}}, "revealed": bool}}

A student's later guess on the same step replaces their earlier one (one vote each); the teacher's reveal reaches
every student's open lesson within a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

from dlviz.classroom.people import Person
from dlviz.locks import KeyedLocks
from dlviz.runs import dlviz_home

_LOCKS = KeyedLocks()
_ID = re.compile(r"^[A-Za-z0-9-]{1,80}$")


class Guesses:
    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(home if home is not None else dlviz_home()) / "class" / "guesses"

    def _path(self, lesson_id: str) -> Path:
        if not _ID.match(str(lesson_id)):
            raise ValueError(f"not a lesson id: {lesson_id!r}")
        return self.folder / f"{lesson_id}.json"

    def _read(self, lesson_id: str) -> dict:
        try:
            data = json.loads(self._path(lesson_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _update(self, lesson_id: str, change) -> None:
        path = self._path(lesson_id)
        with _LOCKS(str(path)):
            data = self._read(lesson_id)
            change(data)
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, path)

    def _step(self, lesson_id: str, step_id: str) -> dict:
        entry = self._read(lesson_id).get(step_id)
        return entry if isinstance(entry, dict) else {}

    def guess(self, lesson_id: str, step_id: str, person: Person, choice: int) -> None:
        """Keep ``person``'s guess (a student's; the teacher's own guess is not the class's)."""
        if not person.student:
            return

        def change(data):
            entry = data.setdefault(step_id, {})
            entry.setdefault("answers", {})[person.id] = {"choice": int(choice), "name": person.name, "at": time.time()}

        self._update(lesson_id, change)

    def answers(self, lesson_id: str, step_id: str) -> dict[str, int]:
        """Person id -> the choice they guessed."""
        raw = self._step(lesson_id, step_id).get("answers")
        out = {}
        for pid, a in (raw if isinstance(raw, dict) else {}).items():
            if isinstance(a, dict) and isinstance(a.get("choice"), int):
                out[str(pid)] = a["choice"]
        return out

    def counts(self, lesson_id: str, step_id: str, n_choices: int) -> list[int]:
        """How many students guessed each choice (guesses outside the choices are left out)."""
        counts = [0] * n_choices
        for choice in self.answers(lesson_id, step_id).values():
            if 0 <= choice < n_choices:
                counts[choice] += 1
        return counts

    def revealed(self, lesson_id: str, step_id: str) -> bool:
        return bool(self._step(lesson_id, step_id).get("revealed"))

    def reveal(self, lesson_id: str, step_id: str, on: bool = True) -> None:
        """The teacher shows the answer to everyone (``on=False``: hides it again, to ask another class)."""

        def change(data):
            data.setdefault(step_id, {})["revealed"] = bool(on)

        self._update(lesson_id, change)

    def clear(self, lesson_id: str, step_id: str) -> None:
        """Forget the step's guesses and its reveal (the same question for the next class)."""

        def change(data):
            data.pop(step_id, None)

        self._update(lesson_id, change)
