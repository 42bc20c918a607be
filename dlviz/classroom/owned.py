"""The run store as one person may use it: a student lists, opens, renames and deletes only their own runs.

Two exceptions, both read-only: class material (the lessons' snapshot runs, trained once for everyone and owned
by nobody) is listed and opened by every student; and the run of a read-only link (``dlviz.classroom.share``) is
opened by the session that holds the link (``also``).

Every page reaches the runs through ``dlviz.ui.state.get_store()``, which hands a student an ``OwnedStore``: so
the Runs table, the look-inside pickers, the compare choice, the open run kept in the session and any id a
visitor crafts all go through the same check. A run that is not theirs is refused with a plain sentence
(``NotYoursError``), exactly as if it were not there, and nothing of it is read or changed.
"""

from __future__ import annotations

import os
from typing import Any

from dlviz.classroom.people import Person
from dlviz.errors import RunError
from dlviz.runs import RunRecord, RunStore
from dlviz.runs.store import WEIGHTS_FILE


class NotYoursError(RunError):
    """A student asked for a run that belongs to someone else."""


def not_yours(run_id: str) -> NotYoursError:
    return NotYoursError(
        "Run {run_id} is not one of your runs, so it cannot be opened or changed here: in a class, each student "
        "sees only their own runs. Pick one of yours on the Runs page.",
        run_id=str(run_id),
    )


class OwnedStore(RunStore):
    """A ``RunStore`` seen by ``person``: for a student, only the runs whose owner is their id."""

    def __init__(
        self, person: Person, home: str | os.PathLike[str] | None = None, also: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(home)
        self.person = person
        self.also = frozenset(also)  # runs this session may open besides its own: a read-only link's

    def _mine(self, run_id: str) -> RunRecord:
        """The run, when this person may change it; NotYoursError otherwise."""
        rec = super().get(run_id)
        if not self.person.owns(rec.owner):
            raise not_yours(run_id)
        return rec

    def _changeable(self, run_id: str) -> RunRecord:
        """The run, when this person may rename or delete it (``Person.changes``: the teacher only their own and
        the class material); NotYoursError otherwise."""
        rec = super().get(run_id)
        if not self.person.changes(rec.owner):
            raise not_yours(run_id)
        return rec

    def _readable(self, run_id: str) -> RunRecord:
        """The run, when this person may open it (theirs, or class material); NotYoursError otherwise."""
        rec = super().get(run_id)
        if (
            not self.person.owns(rec.owner)
            and rec.id not in self.also
            and not (rec.owner == "" and rec.id in self.shared_ids())
        ):
            raise not_yours(run_id)
        return rec

    def shared_ids(self) -> set[str]:
        """Runs every student may open: the lessons' snapshot runs."""
        from dlviz.lessons.snapshots import run_ids

        return run_ids(self)

    # reading
    def get(self, run_id: str) -> RunRecord:
        return self._readable(run_id)

    def list(
        self, limit: int | None = None, *, skip_damaged: bool = False, owner: str | None = None
    ) -> list[RunRecord]:
        if self.person.sees_all:
            return super().list(limit, skip_damaged=skip_damaged, owner=owner)
        if not self.person.id or (owner is not None and owner != self.person.id):
            return []
        mine = super().list(limit, skip_damaged=skip_damaged, owner=self.person.id)
        if owner is not None:
            return mine
        shared = []
        for run_id in self.shared_ids() - {r.id for r in mine}:
            try:
                rec = super().get(run_id)
            except RunError:
                continue  # deleted, or a damaged row
            if rec.owner == "":
                shared.append(rec)
        runs = sorted(mine + shared, key=lambda r: r.created, reverse=True)
        return runs if limit is None else runs[: max(0, int(limit))]

    def has_weights(self, run_id: str, filename: str = WEIGHTS_FILE) -> bool:
        self._readable(run_id)
        return super().has_weights(run_id, filename)

    def load_weights(self, run_id: str, filename: str = WEIGHTS_FILE) -> dict[str, Any]:
        self._readable(run_id)
        return super().load_weights(run_id, filename)

    def load_snapshot(self, run_id: str, tag: str) -> dict[str, Any]:
        self._readable(run_id)
        return super().load_snapshot(run_id, tag)

    def list_snapshots(self, run_id: str) -> list[str]:
        self._readable(run_id)
        return super().list_snapshots(run_id)

    def has_record(self, run_id: str, name: str) -> bool:
        try:
            self._readable(run_id)
        except RunError:
            return False
        return super().has_record(run_id, name)

    def load_record(self, run_id: str, name: str) -> Any | None:
        self._readable(run_id)
        return super().load_record(run_id, name)

    # changing
    def update(self, run_id: str, **fields: Any) -> bool:
        if "name" in fields:
            self._changeable(run_id)  # a rename: nobody renames what is not theirs
        self._mine(run_id)
        return super().update(run_id, **fields)

    def delete(self, run_id: str) -> None:
        self._changeable(run_id)
        super().delete(run_id)

    def save_weights(self, run_id: str, state_dict, filename: str = WEIGHTS_FILE):
        self._mine(run_id)
        return super().save_weights(run_id, state_dict, filename)

    def save_record(self, run_id: str, name: str, data: Any):
        self._mine(run_id)
        return super().save_record(run_id, name, data)

    def create(self, **kwargs: Any) -> RunRecord:
        kwargs["owner"] = self.person.id  # a run made through a person's store is theirs
        return super().create(**kwargs)


def store_for(
    person: Person, home: str | os.PathLike[str] | None = None, also: frozenset[str] = frozenset()
) -> RunStore:
    """The store ``person`` may use: the plain store alone; in a class an ``OwnedStore`` (the teacher's sees
    every run; a student's only their own and, read-only, the runs in ``also``: a read-only link this session
    holds). Either way a run made through it (a compressed variant, say) belongs to the person."""
    return RunStore(home) if not person.id else OwnedStore(person, home, also)


__all__ = ["NotYoursError", "OwnedStore", "not_yours", "store_for"]
