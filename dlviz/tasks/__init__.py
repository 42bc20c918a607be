"""Tasks: what a model is trained to do. A task knows its loss, its metric and the result views the Train
page shows for it; the training loop, the job runner and the pages ask it and never name a loss themselves.

Classification, reconstruction (autoencoders: :mod:`dlviz.tasks.reconstruction`) and generation (a GAN, with its
own training step: ``Task.make_step``). Each is a new module here with a ``Task`` subclass and a line in ``TASKS``.
"""

from __future__ import annotations

from dlviz.errors import TrainError
from dlviz.tasks.base import Task, TestReport
from dlviz.tasks.classification import Classification
from dlviz.tasks.generation import Generation
from dlviz.tasks.reconstruction import Reconstruction

CLASSIFICATION = Classification()
GENERATION = Generation()
RECONSTRUCTION = Reconstruction()
TASKS: dict[str, Task] = {t.name: t for t in (CLASSIFICATION, GENERATION, RECONSTRUCTION)}


def get_task(name: str | None = None) -> Task:
    """The task called ``name`` (classification when None: every run before tasks existed classified)."""
    if name is None:
        return CLASSIFICATION
    try:
        return TASKS[name]
    except KeyError:
        raise TrainError("Unknown task '{name}'. Tasks: {known}.", name=name, known=", ".join(TASKS)) from None


def task_of_spec(spec) -> Task:
    """The task a model spec is trained for: its ``"task"`` (a GAN's spec says "generation"), else
    classification (a list of layers)."""
    name = spec.get("task") if isinstance(spec, dict) else None
    return get_task(name if isinstance(name, str) else None)


__all__ = [
    "GENERATION",
    "Generation",
    "RECONSTRUCTION",
    "Reconstruction",
    "task_of_spec",
    "CLASSIFICATION",
    "TASKS",
    "Classification",
    "Task",
    "TestReport",
    "get_task",
]
