"""The ``Task`` interface the training loop and the job runner ask."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from dlviz.i18n import N_


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
    metric: str = ""
    higher_is_better: bool = True  # the metric: accuracy rises as the model learns; an error falls
    metric_title: str = ""  # the metric as the pages name it (English; translated by the UI)  # the name of ``score`` as the pages and the CLI show it: "accuracy"
    scoring: str = N_("Measuring accuracy on the test set...")  # what the job says while it scores the test set
    views: tuple[str, ...] = ()  # the Train page's result views for a run of this task, in order
    extra_metrics: tuple[str, ...] = ()  # more numbers per training curve point, after [step, epoch, loss, score]
    records_gradients: bool = True  # the live gradient flow (of one network) means something for this task
    # a classic (not deep) pipeline solves the same problem, so it is fitted and shown beside the network when asked
    # (text's TF-IDF, images' pixels and HOG + logistic regression: all of them classifiers)
    classic_baselines: bool = False

    def build(self, spec: dict, seed: int | None = None):
        """The model (a ``dlviz.models.Built``) when the task builds its own from ``spec``; None: the spec is a
        list of layers for ``dlviz.models.build``."""
        return None

    def make_step(self, loop, data, after_backward):
        """The task's own training step, when the loop's usual one (one model, one loss, one optimizer) does not
        fit it (a GAN: two networks, two optimizers). None: the usual step. Otherwise a callable
        ``step(xb, yb) -> (loss, score, n, extra)`` that updates the weights, calls ``after_backward(loop)``
        once the gradients are there and adds 1 to ``loop.step``; ``loss`` and ``score`` as ``loss`` and
        ``score`` give them (0-d tensors, the score summed over the ``n`` examples), ``extra`` a 1-d tensor of
        ``extra_metrics`` (batch means) or None. It may have ``live() -> dict``: what the Train page draws
        live besides the curves (sent with each progress report)."""
        return None

    def summary(self, history: dict) -> dict:
        """The task's own numbers for the CLI's JSON, from the run's curves (e.g. a GAN's last losses)."""
        return {}

    def configured(self, config) -> "Task":
        """This task with a run's settings (``TrainConfig``: e.g. a denoising autoencoder's noise level); checks them.
        The default has none."""
        return self

    def pair(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        """(model input, target) of a batch: ``x`` as the model reads it, ``y`` its labels. Classification:
        (x, y); reconstruction: (x, or x with noise, x). ``generator``: for any randomness (on x's device)."""
        return x, y

    def classes(self, info) -> int | None:
        """The number of outputs the model must end with on the dataset ``info`` (its classes), or None when
        the task checks the output's shape itself (:meth:`check_output`)."""
        return info.num_classes

    def check_output(self, output_shape: tuple, input_shape: tuple) -> None:
        """Raise a SpecError when a model's output (shape without the batch) cannot serve this task."""

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
