"""Errors: predictions of the test set, the confusion matrix, its cells, and the clickable grid."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlviz.inspect.errors import cell_indices, confusion, predict_all, top_confusions
from dlviz.plots.errors import confusion_grid


def test_confusion_known_answer():
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2])
    p = torch.tensor([0, 1, 1, 1, 1, 2, 2])
    c = confusion(y, p, 3)
    assert c.tolist() == [[1, 2, 0], [0, 2, 1], [0, 0, 1]]
    assert top_confusions(c, 5) == [(0, 1, 2), (1, 2, 1)]
    assert top_confusions(c, 1) == [(0, 1, 2)]
    assert top_confusions(torch.eye(3, dtype=torch.long)) == []


def test_cell_indices_most_confident_first():
    y = torch.tensor([3, 3, 3, 5])
    probs = torch.zeros(4, 10)
    probs[0, 8], probs[1, 8], probs[2, 3], probs[3, 8] = 0.6, 0.9, 0.99, 0.7
    assert cell_indices(y, probs, 3, 8).tolist() == [1, 0]
    assert cell_indices(y, probs, 3, 3).tolist() == [2]
    assert cell_indices(y, probs, 1, 1).tolist() == []


class _PixelVote(nn.Module):
    """Class = which of the first 10 pixels of row 0 is brightest: a model whose answers we know."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x[:, 0, 0, :10] * 100 + self.dummy


def test_predict_all_known_answers_and_mode_restored():
    x = torch.zeros(2500, 28, 28, dtype=torch.uint8)
    want = torch.arange(2500) % 10
    x[torch.arange(2500), 0, want] = 255
    model = _PixelVote().train()
    seen = []
    probs = predict_all(model, x, batch_size=1000, progress=seen.append)
    assert probs.shape == (2500, 10) and torch.equal(probs.argmax(1), want)
    assert torch.allclose(probs.sum(1), torch.ones(2500))
    assert seen == [0.4, 0.8, 1.0] and model.training


def test_confusion_grid_cells_carry_their_coordinates():
    conf = np.array([[50, 2], [7, 41]])
    fig = confusion_grid(conf, ["cat", "dog"], selected=(1, 0))
    tr = fig.data[0]
    assert [list(c) for c in tr.customdata] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert list(tr.text) == ["50", "2", "7", "41"]
    widths = list(tr.marker.line.width)
    assert widths[2] == 3 and widths.count(3) == 1  # the selected cell is outlined
    # right answers blue, mistakes vermillion, the largest of each the darkest
    assert tr.marker.color[0] == "rgb(0,114,178)" and tr.marker.color[2] == "rgb(213,94,0)"
