"""Tasks: what a model is trained to do. A task knows its loss, its metric and the result views the Train
page shows for it; the training loop, the job runner and the pages ask it and never name a loss themselves.

Classification is the one task today; reconstruction (autoencoders) and generation (GANs) come next, each a
new module here with a ``Task`` subclass and a line in ``TASKS``.
"""

from __future__ import annotations

from dlviz.errors import TrainError
from dlviz.tasks.base import Task, TestReport
from dlviz.tasks.classification import Classification

CLASSIFICATION = Classification()
TASKS: dict[str, Task] = {t.name: t for t in (CLASSIFICATION,)}


def get_task(name: str | None = None) -> Task:
    """The task called ``name`` (classification when None: every run before tasks existed classified)."""
    if name is None:
        return CLASSIFICATION
    try:
        return TASKS[name]
    except KeyError:
        raise TrainError("Unknown task '{name}'. Tasks: {known}.", name=name, known=", ".join(TASKS)) from None


__all__ = ["CLASSIFICATION", "TASKS", "Classification", "Task", "TestReport", "get_task"]
