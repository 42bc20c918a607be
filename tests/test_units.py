"""What a unit looks for (dlviz.inspect.units): known answers with hand-built models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlviz.errors import DataError
from dlviz.inspect.units import sample, top_images, top_of, unit_layers, unit_scores
from dlviz.models import PRESETS, build


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def _images(n: int = 300, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)


def _pixel_copier() -> nn.Sequential:
    """Dense unit j copies pixel j (row-major), so its top images are those with the brightest pixel j."""
    model = nn.Sequential()
    model.add_module("flatten_1", nn.Flatten())
    model.add_module("dense_1", nn.Linear(784, 784))
    with torch.no_grad():
        model.dense_1.weight.copy_(torch.eye(784))
        model.dense_1.bias.zero_()
    return model


def test_dense_unit_that_copies_a_pixel_picks_the_brightest_images():
    x = _images()
    model = _pixel_copier()
    for j in (0, 100, 783):
        idx, scores = top_images(model, x, "dense_1", j, k=5, batch=64)
        pixel = x.reshape(len(x), -1)[:, j].float() / 255
        assert torch.allclose(scores, pixel[idx])
        assert torch.allclose(scores, torch.sort(pixel, descending=True).values[:5])  # the five brightest
        assert (scores[:-1] >= scores[1:]).all()  # best first


def test_conv_channel_max_and_mean_with_a_hand_set_filter():
    x = torch.zeros(4, 28, 28, dtype=torch.uint8)
    x[0, 5, 5] = 255  # one very bright pixel
    x[1] = 100  # a dim but even image
    x[2, :10] = 200  # a bright band (mean 71)
    x[3, 20, 20] = 50
    model = nn.Sequential()
    model.add_module("conv2d_1", nn.Conv2d(1, 2, 1))
    model.add_module("relu_1", nn.ReLU())
    with torch.no_grad():
        model.conv2d_1.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))  # channel 0: the image; 1: its negative
        model.conv2d_1.bias.zero_()
    by_max, s_max = top_images(model, x, "conv2d_1", 0, k=4)
    assert by_max.tolist() == [0, 2, 1, 3] and torch.allclose(s_max, torch.tensor([255, 200, 100, 50]) / 255)
    by_mean, s_mean = top_images(model, x, "conv2d_1", 0, k=2, reduce="mean")
    assert by_mean.tolist() == [1, 2]  # 100 everywhere beats a 200 band beats one bright pixel
    assert s_mean[0].item() == pytest.approx(100 / 255, abs=1e-6)
    # channel 1 is the negative image: its max is 0 for every image with a dark pixel, and the
    # ReLU after it keeps only what is positive
    scores = unit_scores(model, x, "relu_1", reduce="max")
    assert scores.shape == (4, 2) and torch.equal(scores[:, 1], torch.zeros(4))


def test_batches_do_not_change_the_answer_and_progress_reaches_one():
    model = build(PRESETS["cnn"].spec, seed=0).module
    x = _images(130)
    seen = []
    a = unit_scores(model, x, "conv2d_2", batch=7, progress=seen.append)
    b = unit_scores(model, x, "conv2d_2", batch=1000)
    assert a.shape == (130, 64) and torch.allclose(a, b, atol=1e-5)
    assert seen[-1] == 1.0 and len(seen) == 19
    # equal to a plain forward in eval mode
    model.eval()
    with torch.no_grad():
        h = model.conv2d_2(model.maxpool_1(model.relu_1(model.conv2d_1(x.unsqueeze(1).float() / 255))))
    assert torch.allclose(a, h.amax(dim=(2, 3)), atol=1e-5)


def test_mode_restored_eval_used_and_input_unchanged():
    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.modes = []

        def forward(self, x):
            self.modes.append(self.training)
            return x

    model = _pixel_copier()
    model.add_module("probe", Probe())
    model.train()
    x = _images(50)
    before = x.clone()
    top_images(model, x, "dense_1", 3, k=3)
    assert model.training  # restored
    assert x.dtype == torch.uint8 and torch.equal(x, before)
    unit_scores(model, x, "probe")
    assert model.probe.modes == [False]  # the forward ran in eval mode
    assert _hooks(model) == 0


def test_hooks_removed_and_mode_restored_after_an_exception():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = _pixel_copier()
    model.add_module("boom", Boom())
    model.train()
    with pytest.raises(RuntimeError, match="boom"):
        unit_scores(model, _images(10), "boom")
    assert _hooks(model) == 0 and model.training


def test_the_forward_stops_at_the_chosen_layer():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = _pixel_copier()
    model.add_module("boom", Boom())  # after dense_1: never reached
    assert unit_scores(model, _images(10), "dense_1").shape == (10, 784)


def test_plain_errors():
    model = _pixel_copier()
    x = _images(10)
    with pytest.raises(DataError, match="no layer named"):
        unit_scores(model, x, "conv2d_9")
    with pytest.raises(DataError, match="Unit 784 does not exist"):
        top_images(model, x, "dense_1", 784)
    with pytest.raises(DataError, match="Unit -1 does not exist"):
        top_of(torch.zeros(3, 2), -1)
    with pytest.raises(DataError, match="Unknown way"):
        unit_scores(model, x, "dense_1", reduce="median")
    with pytest.raises(DataError, match="non-empty"):
        unit_scores(model, x[:0], "dense_1")
    assert _hooks(model) == 0
    assert top_of(torch.arange(3.0).view(3, 1), 0, k=16)[0].tolist() == [2, 1, 0]  # k larger than N


def test_unit_layers_of_the_presets():
    cnn = unit_layers(build(PRESETS["cnn"].spec).module)
    assert [(u.name, u.kind, u.units) for u in cnn][:4] == [
        ("conv2d_1", "channel", 32),
        ("relu_1", "channel", 32),
        ("maxpool_1", "channel", 32),
        ("conv2d_2", "channel", 64),
    ]
    assert "flatten_1" not in [u.name for u in cnn] and cnn[-1].name == "dense_2" and cnn[-1].units == 10
    mlp = unit_layers(build(PRESETS["mlp"].spec).module)
    assert [u.name for u in mlp] == ["dense_1", "relu_1", "dense_2", "relu_2", "dense_3"]
    assert all(u.kind == "neuron" for u in mlp)
    rnn = unit_layers(build(PRESETS["rnn"].spec).module)
    assert [u.name for u in rnn] == ["lstm_1", "dense_1"]  # "rows" is a sequence (T, F): no units


def test_sample_is_fixed_and_sorted():
    a, b = sample(10000, 3000), sample(10000, 3000)
    assert torch.equal(a, b) and len(a) == 3000 and len(set(a.tolist())) == 3000
    assert (a[1:] > a[:-1]).all() and a.max() < 10000
    assert torch.equal(sample(50, 3000), torch.arange(50))
