"""Classification: one class per example, cross-entropy loss, accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from dlviz.i18n import N_
from dlviz.tasks.base import Task, TestReport

PREVIEW_FIRST = 12  # test examples shown in the result gallery ...
PREVIEW_WRONG = 6  # ... plus this many mistakes
CHANCE_MARGIN = 0.03  # a test accuracy within 3 points of always guessing the most common class is chance level
DIVERGED_FACTOR = 1.5  # a final training loss 1.5x that of an even guess (ln K) means training blew up


@dataclass
class ClassificationReport(TestReport):
    targets: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long), repr=False)
    classes: int = 0


class Classification(Task):
    name = "classification"
    metric = "accuracy"
    metric_title = N_("Accuracy")
    # the Train page, after a run: the learning curves, the test predictions (probabilities of the first test
    # examples and some mistakes: the course's prediction figure), and the classic baseline where there is one
    views = ("curves", "predictions", "baseline")
    classic_baselines = True

    def loss(self, out, y, reduction="mean"):
        return F.cross_entropy(out.float(), y, reduction=reduction)

    def score(self, out, y):
        return (out.argmax(1) == y).sum()

    def test_report(self, out, y) -> ClassificationReport:
        """The preview holds the probabilities of the first test examples plus some mistakes and the confusion
        matrix."""
        loss = self.loss(out, y).item()
        probs = out.softmax(1)
        pred = probs.argmax(1)
        acc = (pred == y).float().mean().item()
        wrong = torch.nonzero(pred != y).flatten()[:PREVIEW_WRONG].tolist()
        idx = list(range(min(PREVIEW_FIRST, len(y)))) + [i for i in wrong if i >= PREVIEW_FIRST]
        conf = torch.zeros(probs.shape[1], probs.shape[1], dtype=torch.long)
        conf.index_put_((y, pred), torch.ones_like(y), accumulate=True)
        preview = {
            "indices": idx,
            "probs": [[round(v, 4) for v in probs[i].tolist()] for i in idx],
            "labels": [int(y[i]) for i in idx],
            "confusion": conf.tolist(),
        }
        return ClassificationReport(loss, acc, preview, targets=y, classes=probs.shape[1])

    def verdict(self, history, report, finished, lr, usual_lr, optimizer):
        found = verdict(history, report.score, report.targets, report.classes, lr, usual_lr, optimizer)
        if found is None or not (finished or found[1]["last"] > DIVERGED_FACTOR * found[1]["guess"]):
            return None
        return found


def verdict(
    history: dict,
    test_accuracy: float | None,
    test_labels,
    num_classes: int,
    lr: float,
    usual_lr: float,
    optimizer: str,
) -> tuple[str, dict] | None:
    """(English template, arguments) when a run that ended normally learned nothing or diverged, else None.

    Chance level: the test accuracy of always answering the most common test class (11.35% on MNIST's test
    set: the ones), plus ``CHANCE_MARGIN``. Diverged: the last training loss is well above ln(K), the loss of
    a model that spreads its guess evenly over the K classes, which is where an untrained network starts
    (the learning rate 5 run of issue 13 ended at a loss of 299 and 11.35%). The likely cause follows from
    the learning rate ``lr`` against the optimizer's usual one, ``usual_lr`` (``optimizer``: its title).
    """
    train = [r for r in history.get("train", []) if len(r) >= 3 and math.isfinite(r[2])]
    if test_accuracy is None or not train or num_classes < 2:
        return None
    labels = torch.as_tensor(test_labels).flatten()
    if labels.numel() == 0:
        return None
    chance = torch.bincount(labels, minlength=num_classes).max().item() / labels.numel()
    guess_loss = math.log(num_classes)
    first, last = float(train[0][2]), float(train[-1][2])
    diverged = last > DIVERGED_FACTOR * guess_loss
    at_chance = test_accuracy <= chance + CHANCE_MARGIN
    if not (diverged or at_chance):
        return None
    args = dict(
        acc=test_accuracy,
        chance=chance,
        first=first,
        last=last,
        guess=guess_loss,
        lr=lr,
        opt=optimizer,
        suggest=usual_lr if lr > usual_lr else lr / 10,
    )
    if diverged and at_chance:
        return N_(
            "Training diverged and the model learned nothing: it gets {acc:.2%} of the test set right, no "
            "better than always guessing the most common class ({chance:.2%}), and its loss ended at "
            "{last:.3g}, far above the {guess:.2f} of an even guess. The learning rate ({lr:g}) is probably "
            "too high for {opt}: try {suggest:g}."
        ), args
    if diverged:
        return N_(
            "Training diverged: the loss ended at {last:.3g}, far above the {guess:.2f} of an even guess, "
            "and the test accuracy ({acc:.2%}) suffers. The learning rate ({lr:g}) is probably too high for "
            "{opt}: try {suggest:g}."
        ), args
    if lr > 3 * usual_lr:
        return N_(
            "The model learned nothing: it gets {acc:.2%} of the test set right, no better than always "
            "guessing the most common class ({chance:.2%}). The learning rate ({lr:g}) is probably too high "
            "for {opt}: try {suggest:g}."
        ), args
    return N_(
        "The model learned nothing: it gets {acc:.2%} of the test set right, no better than always guessing "
        "the most common class ({chance:.2%}). Likely causes: a learning rate too low for {opt} (it is "
        "{lr:g}), too few epochs or images, or a model too deep to train (the Gradients page shows whether "
        "its gradients vanish)."
    ), args
