"""Tasks: classification's loss, metric, test report and verdict (known answers), and fit() asking the task."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dlviz.errors import TrainError
from dlviz.i18n import translate
from dlviz.models import build
from dlviz.tasks import CLASSIFICATION, TASKS, Task, get_task
from dlviz.train import DeviceData, TrainConfig, evaluate, fit, image_transform


def test_the_registry():
    assert get_task() is CLASSIFICATION and get_task("classification") is CLASSIFICATION
    assert TASKS["classification"] is CLASSIFICATION and TASKS["generation"] is get_task("generation")
    assert TASKS["reconstruction"] is get_task("reconstruction")
    assert all(name == task.name for name, task in TASKS.items())
    with pytest.raises(TrainError) as e:
        get_task("colouring")
    assert "classification" in e.value.message("en") and e.value.message("zh") != e.value.message("en")


def test_classification_loss_and_score_known_answers():
    out = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 4.0], [0.0, 0.0, 1.0]])
    y = torch.tensor([0, 1, 0, 2])
    assert CLASSIFICATION.loss(out, y).item() == pytest.approx(F.cross_entropy(out, y).item())
    assert CLASSIFICATION.loss(out, y, reduction="sum").item() == pytest.approx(4 * F.cross_entropy(out, y).item())
    assert CLASSIFICATION.score(out, y).item() == 3  # one wrong: row 2 says class 2
    assert CLASSIFICATION.loss(out.bfloat16(), y).dtype == torch.float32  # the loss is taken in fp32
    assert CLASSIFICATION.metric == "accuracy" and "curves" in CLASSIFICATION.views


def test_classification_test_report():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (30,), generator=g)
    out = F.one_hot(y, 3).float() * 5
    out[20], out[25] = torch.tensor([0.0, 0.0, 0.0]), torch.tensor([-5.0, -5.0, -5.0])  # ties: class 0
    out[[20, 25]] = out[[20, 25]] + F.one_hot((y[[20, 25]] + 1) % 3, 3).float()  # both wrong
    r = CLASSIFICATION.test_report(out, y)
    assert r.score == pytest.approx(28 / 30) and r.loss == pytest.approx(F.cross_entropy(out, y).item())
    p = r.preview
    assert p["indices"] == list(range(12)) + [20, 25]  # the first 12, then the mistakes
    assert p["labels"] == [int(y[i]) for i in p["indices"]]
    assert [round(sum(row), 3) for row in p["probs"]] == [1.0] * 14
    conf = torch.tensor(p["confusion"])
    assert conf.sum() == 30 and conf.trace() == 28 and conf.sum(1).tolist() == torch.bincount(y, minlength=3).tolist()


def _history(*losses):
    return {"train": [[i + 1, 1.0, v, 0.1] for i, v in enumerate(losses)], "val": []}


def test_classification_verdict_for_finished_and_stopped_runs():
    y = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    at_chance = CLASSIFICATION.test_report(torch.zeros(100, 3), y)  # always class 0: 50%, the most common
    advice = dict(lr=3e-3, usual_lr=1e-3, optimizer="Adam")
    template, args = CLASSIFICATION.verdict(_history(1.1, 1.09), at_chance, True, **advice)
    assert "learned nothing" in template and args["chance"] == 0.5 and args["guess"] == pytest.approx(math.log(3))
    assert translate(template, "zh", **args) != template.format(**args)
    # a stopped run at chance level is not judged: it may just have stopped early ...
    assert CLASSIFICATION.verdict(_history(1.1, 1.09), at_chance, False, **advice) is None
    # ... but one that diverged is, finished or not
    for finished in (True, False):
        template, _ = CLASSIFICATION.verdict(_history(1.1, 50.0), at_chance, finished, **advice)
        assert template.startswith("Training diverged and the model learned nothing")
    good = CLASSIFICATION.test_report(F.one_hot(y, 3).float() * 5, y)
    assert CLASSIFICATION.verdict(_history(1.1, 0.1), good, True, **advice) is None


class Agreement(Task):
    """A toy task: the model's single output should be +1 for class 1 and -1 otherwise (squared error);
    the score counts the outputs on the right side of zero."""

    name = "agreement"

    def __init__(self):
        self.losses = 0

    def loss(self, out, y, reduction="mean"):
        self.losses += 1
        return F.mse_loss(out.float().squeeze(1), (y == 1).float() * 2 - 1, reduction=reduction)

    def score(self, out, y):
        return ((out.squeeze(1) > 0) == (y == 1)).sum()


def test_fit_and_evaluate_ask_the_task_for_the_loss_and_the_score():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (160,), generator=g)
    x = torch.randint(0, 60, (160, 4, 4), generator=g, dtype=torch.uint8)
    x[y == 1, :2] = 250
    data = DeviceData(x[:128], y[:128], x[128:], y[128:], x[:0], y[:0], image_transform)
    spec = [{"type": "flatten"}, {"type": "dense", "units": 1}]
    model = build(spec, (1, 4, 4), 1, seed=0).module
    task = Agreement()
    res = fit(model, data, TrainConfig(epochs=3, batch_size=16, cpu_threads="fixed", lr=1e-2), task=task)
    assert res.status == "finished" and task.losses >= res.steps == 24
    val_loss, val_score = res.history["val"][-1][2:]
    assert (val_loss, val_score) == pytest.approx(evaluate(model, data.val_x, data.val_y, image_transform, task=task))
    assert val_score > 0.9  # the score is the task's (a cross-entropy on one output would not learn this)
