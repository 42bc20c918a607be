"""The teacher's view of the class (issue 17, item 2), without Streamlit: who is here, each student's runs,
their best accuracy and their validation curves.

Everything comes from the run index (curves are the metrics the store keeps) and the roster's presence: no
weights are loaded, so a refresh for a class of thirty stays cheap (``tests/test_classroom_dashboard.py``;
the measured figure is in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dlviz.classroom.people import TEACHER_ID, Person
from dlviz.runs import RunRecord
from dlviz.tasks import CLASSIFICATION, task_of_spec


@dataclass(frozen=True)
class Student:
    """One row of the class table."""

    id: str
    name: str
    online: bool
    page: str  # where they are now ('' when not connected)
    params: int | None  # their current model's parameters (presence), else their newest run's
    seen: float | None  # when they were last seen (epoch seconds)
    runs: int
    best: float | None  # best test accuracy of their runs (None: no finished classifier yet)
    best_run: str | None
    status: str  # their newest run's status ('' without runs)


@dataclass(frozen=True)
class Curve:
    """One run's validation accuracy by epoch."""

    student_id: str
    student: str
    run_id: str
    run_name: str
    epochs: tuple[float, ...]
    accuracy: tuple[float, ...]


def _accuracy_curve(run: RunRecord) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(epochs, validation accuracies) of a classifier's run; None for another task or no curve yet."""
    try:
        if task_of_spec(run.spec) is not CLASSIFICATION:
            return None
    except Exception:  # an unknown task in a damaged spec: no curve, the rest of the class still shows
        return None
    rows = (run.metrics or {}).get("val") or []
    epochs, accs = [], []
    for row in rows:
        try:
            epoch, acc = float(row[1]), float(row[3])
        except (TypeError, ValueError, IndexError):
            continue
        epochs.append(epoch)
        accs.append(acc)
    return (tuple(epochs), tuple(accs)) if epochs else None


def is_student_run(run: RunRecord) -> bool:
    owner = getattr(run, "owner", "")
    return bool(owner) and owner != TEACHER_ID


def class_overview(
    runs: Iterable[RunRecord], people: Iterable[Person], connected: Iterable[dict]
) -> tuple[list[Student], list[Curve]]:
    """The class table (students who joined, in joining order, then any other owner of a run) and every
    student run's validation curve. ``runs`` newest first (``RunStore.list``); ``connected``: the roster's
    presence rows (id, name, role, page, params, seen)."""
    names: dict[str, str] = {p.id: p.name for p in people if p.student}
    here = {row.get("id"): row for row in connected if row.get("role") == "student"}
    for pid, row in here.items():
        names.setdefault(pid, str(row.get("name") or pid))
    by_owner: dict[str, list[RunRecord]] = {}
    for run in runs:
        if is_student_run(run):
            by_owner.setdefault(run.owner, []).append(run)
    for owner in by_owner:
        names.setdefault(owner, owner)
    students, curves = [], []
    for sid, name in names.items():
        mine = by_owner.get(sid, [])
        scored = [r for r in mine if r.test_accuracy is not None and _accuracy_curve(r) is not None]
        best = max(scored, key=lambda r: r.test_accuracy) if scored else None
        live = here.get(sid)
        params = int(live["params"]) if live and live.get("params") else (mine[0].params if mine else None)
        students.append(
            Student(
                id=sid,
                name=name,
                online=live is not None,
                page=str(live.get("page") or "") if live else "",
                params=params,
                seen=float(live["seen"]) if live and live.get("seen") else None,
                runs=len(mine),
                best=best.test_accuracy if best else None,
                best_run=best.id if best else None,
                status=mine[0].status if mine else "",
            )
        )
        for run in reversed(mine):  # oldest first: the legend and the colours read in training order
            curve = _accuracy_curve(run)
            if curve:
                curves.append(Curve(sid, name, run.id, run.name, *curve))
    return students, curves
