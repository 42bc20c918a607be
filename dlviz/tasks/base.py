"""The ``Task`` interface the training loop and the job runner ask."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TestReport:
    """A trained model's result on the test set, as its task measures it."""

    loss: float
    score: float  # the task's metric (classification: accuracy)
    preview: dict = field(default_factory=dict)  # what the task's result views draw (JSON-able)


class Task:
    """What a model is trained to do. Subclasses set the class attributes and implement the methods.

    The training loop keeps two numbers per batch: the summed loss and the summed ``score`` (per example), so
    curves and validation report means over any number of batches without the loop knowing what they are.
    """

    name: str = ""
    metric: str = ""  # the name of ``score`` as the pages and the CLI show it: "accuracy"
    views: tuple[str, ...] = ()  # the Train page's result views for a run of this task, in order

    def loss(self, out: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """The training loss of model output ``out`` against targets ``y`` (float32, on their device)."""
        raise NotImplementedError

    def score(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The metric summed over the batch (a 0-d tensor on the device: no host copy, no sync)."""
        raise NotImplementedError

    def test_report(self, out: torch.Tensor, y: torch.Tensor) -> TestReport:
        """The test set's loss, score and preview from the model's outputs ``out`` on it (on the CPU)."""
        raise NotImplementedError

    def verdict(
        self, history: dict, report: TestReport, finished: bool, lr: float, usual_lr: float, optimizer: str
    ) -> tuple[str, dict] | None:
        """(English template, arguments) when a run learned nothing or diverged, else None. ``history``: the
        run's curves (``{"train": [[step, epoch, loss, score], ...], "val": [...]}``); ``finished``: it ended
        normally (a stopped run is only told when it diverged); ``lr``, ``usual_lr``, ``optimizer``: its
        learning rate, the optimizer's usual one and the optimizer's title, for the advice."""
        return None
