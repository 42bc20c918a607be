"""Filters, feature maps, weight histograms (dlviz.inspect.filters) and their pictures (dlviz.plots.filters)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.errors import DataError
from dlviz.inspect.filters import conv_layers, feature_maps, filters, weight_stats
from dlviz.models import PRESETS, build
from dlviz.plots.filters import (
    GAP,
    NEGATIVE,
    POSITIVE,
    channel_kernels,
    digit_grid,
    diverging,
    filter_grid,
    filter_map_pairs,
    kernel_image,
    tile,
    upscale,
    weight_histograms,
)


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


# --------------------------------------------------------------------------- finding the conv layers
def test_conv_layers_of_the_presets():
    cnn = build(PRESETS["cnn"].spec, seed=0).module
    assert [n for n, _ in conv_layers(cnn)] == ["conv2d_1", "conv2d_2"]
    assert conv_layers(build(PRESETS["mlp"].spec).module) == []
    assert conv_layers(build(PRESETS["rnn"].spec).module) == []
    res = [n for n, _ in conv_layers(build(PRESETS["resnet"].spec).module)]
    # the stem, two convs per block, and 1x1 shortcut convs where the shape changes (blocks 2 and 3)
    assert res == [
        "conv2d_1",
        "residual_1.conv1",
        "residual_1.conv2",
        "residual_2.conv1",
        "residual_2.conv2",
        "residual_2.shortcut.0",
        "residual_3.conv1",
        "residual_3.conv2",
        "residual_3.shortcut.0",
    ]


def test_filters_are_a_detached_copy():
    model = build(PRESETS["cnn"].spec, seed=0).module
    w = filters(model, "conv2d_2")
    assert w.shape == (64, 32, 3, 3) and not w.requires_grad and w.device.type == "cpu"
    assert torch.equal(w, model.conv2d_2.weight.detach())
    w.zero_()  # changing the copy leaves the model alone
    assert model.conv2d_2.weight.abs().sum() > 0
    res = build(PRESETS["resnet"].spec).module
    assert filters(res, "residual_2.shortcut.0").shape == (32, 16, 1, 1)


@pytest.mark.parametrize("name", ["relu_1", "nope", "conv2d_1.weight", ""])
def test_a_name_that_is_no_conv_is_a_plain_error(name):
    model = build(PRESETS["cnn"].spec).module
    with pytest.raises(DataError, match="no convolution layer named"):
        filters(model, name)


def test_feature_map_of_a_hand_set_filter():
    spec = {
        "layers": [
            {"type": "conv2d", "out": 2, "kernel": 3},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ]
    }
    model = build(spec, (1, 5, 5), 2).module.train()
    with torch.no_grad():
        model.conv2d_1.weight.zero_()
        model.conv2d_1.weight[0, 0] = torch.tensor([[-1.0, 0, 1]] * 3)  # vertical edge, dark -> bright
        model.conv2d_1.weight[1, 0] = -model.conv2d_1.weight[0, 0]  # the opposite edge
        model.conv2d_1.bias.copy_(torch.tensor([0.0, 0.5]))
    img = torch.zeros(1, 5, 5)
    img[0, :, 3:] = 1.0
    maps = feature_maps(model, img, "conv2d_1")
    assert torch.equal(maps[0], torch.tensor([[0.0, 3, 3]] * 3))
    assert torch.equal(maps[1], torch.tensor([[0.5, -2.5, -2.5]] * 3))  # the conv's own output: before the ReLU
    assert model.training and _hooks(model) == 0


def test_feature_map_inside_a_residual_block_matches_the_functional_conv():
    model = build(PRESETS["resnet"].spec, seed=0).module
    x = torch.rand(1, 28, 28)
    maps = feature_maps(model, x, "residual_1.conv1")
    model.eval()
    with torch.no_grad():
        into = model.relu_1(model.batchnorm_1(model.conv2d_1(x[None])))
        expected = F.conv2d(into, model.residual_1.conv1.weight, padding=1)[0]
    assert maps.shape == (16, 28, 28) and torch.allclose(maps, expected, atol=1e-5)
    assert _hooks(model) == 0


def test_feature_maps_restore_mode_and_hooks_after_an_error():
    model = build(PRESETS["cnn"].spec).module.train()
    with pytest.raises(RuntimeError):
        feature_maps(model, torch.zeros(3, 28, 28), "conv2d_1")  # 3 channels into a 1-channel conv
    assert model.training and _hooks(model) == 0


# --------------------------------------------------------------------------- weight histograms
def test_weight_stats_known_counts():
    model = nn.Sequential()
    model.add_module("dense_1", nn.Linear(3, 2))
    with torch.no_grad():
        model.dense_1.weight.copy_(torch.tensor([[-1.0, 0, 0], [0, 0, 1]]))
        model.dense_1.bias.copy_(torch.tensor([1.0, 1.0]))
    (lw,) = weight_stats(model, bins=4)
    assert lw.name == "dense_1" and lw.kind == "Linear"
    # one set of edges over weights and biases: -1, -0.5, 0, 0.5, 1
    assert np.allclose(lw.weight.edges, [-1, -0.5, 0, 0.5, 1]) and np.array_equal(lw.bias.edges, lw.weight.edges)
    assert lw.weight.counts.tolist() == [1, 0, 4, 1] and lw.bias.counts.tolist() == [0, 0, 0, 2]
    assert lw.weight.n == 6 and lw.bias.n == 2
    assert lw.weight.mean == pytest.approx(0.0) and lw.bias.std == pytest.approx(0.0)


def test_weight_stats_of_the_presets():
    cnn = weight_stats(build(PRESETS["cnn"].spec, seed=0).module)
    assert [lw.name for lw in cnn] == ["conv2d_1", "conv2d_2", "dense_1", "dense_2"]
    assert all(len(lw.weight.counts) == 40 and lw.weight.counts.sum() == lw.weight.n for lw in cnn)
    assert cnn[0].weight.n == 32 * 9 and cnn[0].bias.n == 32
    res = {lw.name: lw for lw in weight_stats(build(PRESETS["resnet"].spec).module)}
    assert res["residual_1.conv1"].bias is None  # bias=False before BatchNorm
    assert res["residual_1.bn1"].kind == "BatchNorm2d" and res["residual_1.bn1"].bias.n == 16
    lstm = {lw.name: lw for lw in weight_stats(build(PRESETS["rnn"].spec).module)}
    assert lstm["lstm_1.rnn"].weight.n == 4 * 128 * (28 + 128) and lstm["lstm_1.rnn"].bias.n == 2 * 4 * 128


# --------------------------------------------------------------------------- pictures
def test_diverging_colours():
    rgb = diverging(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 4.0]), vmax=2.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (6, 3)
    assert rgb[0].tolist() == NEGATIVE.astype(int).tolist()  # -vmax: vermillion
    assert rgb[2].tolist() == [255, 255, 255]  # zero: white
    assert rgb[4].tolist() == POSITIVE.astype(int).tolist()  # +vmax: blue
    assert rgb[5].tolist() == rgb[4].tolist()  # clipped beyond vmax
    assert rgb[3].tolist() == [128, 184, 216]  # halfway from white to blue, rounded to even
    assert (diverging(np.zeros((2, 2))) == 255).all()  # nothing to scale: white, no division by zero
    assert (diverging(np.array([0.0, -3.0]))[1] == NEGATIVE.astype(np.uint8)).all()  # default vmax = max |a|


def test_upscale_and_tile_geometry():
    im = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    big = upscale(im, 8)
    assert big.shape == (8, 8, 3) and (big[:4, :4] == im[0, 0]).all() and (big[4:, 4:] == im[1, 1]).all()
    t = tile([np.zeros((3, 3, 3), np.uint8)] * 5, cols=2, gap=1)
    assert t.shape == (3 * 4 + 1, 2 * 4 + 1, 3)
    assert (t[0] == GAP).all() and (t[1:4, 1:4] == 0).all()
    assert (t[9:12, 5:8] == GAP).all()  # the sixth cell stays empty
    labelled = tile([np.zeros((10, 10, 3), np.uint8)] * 2, cols=2, gap=2, labels=["0", "1"])
    assert labelled.shape[0] > 14 and labelled.dtype == np.uint8


def test_filter_images_show_the_sign_pattern():
    w = np.zeros((2, 1, 3, 3), np.float32)
    w[0, 0, :, 2] = 1.0  # filter 0: positive right column
    w[1, 0, :, 0] = -0.5  # filter 1: weaker negative left column
    k0 = kernel_image(w[0], vmax=1.0, size=30)
    assert k0.shape == (30, 30, 3)
    assert (k0[:, 25] == POSITIVE.astype(np.uint8)).all() and (k0[:, 5] == 255).all()
    grid = filter_grid(w, size=30, labels=False)
    assert grid.shape == (30 + 4, 2 * 32 + 2, 3)
    # one shared scale: the weaker filter is paler than full vermillion
    left = grid[2 + 15, 32 + 5]
    assert 0 < left[2] < 255 and left[0] > NEGATIVE[0]
    many = kernel_image(np.ones((64, 3, 3)), size=64)  # 64 input channels on an 8 x 8 grid
    assert many.shape[0] <= 64 + 9 and many.shape[0] == many.shape[1]
    ck = channel_kernels(np.random.default_rng(0).normal(size=(4, 5, 3, 3)), 2, size=21, cols=5)
    assert ck.shape[1] == 5 * 23 + 2


def test_filter_map_pairs_and_digits():
    w = np.random.default_rng(0).normal(size=(6, 1, 3, 3)).astype(np.float32)
    maps = np.random.default_rng(1).normal(size=(6, 26, 26)).astype(np.float32)
    img = filter_map_pairs(w, maps, size=52, cols=3)
    assert img.dtype == np.uint8 and img.ndim == 3
    assert img.shape[1] == 3 * (51 + 4 + 52 + 6) + 6  # 3x3 at 17x -> 51 px, gap 4, 26x26 at 2x -> 52 px
    d = digit_grid(np.zeros((3, 28, 28), np.uint8), ["a", "b", "c"], cols=3, size=28)
    assert d.shape[1] == 3 * 32 + 4
    assert (d[-5, 6] == 255).all()  # a black-on-white digit: zero ink is white


def test_weight_histogram_figure():
    layers = weight_stats(build(PRESETS["cnn"].spec, seed=0).module)
    fig = weight_histograms(layers, cols=3)
    assert len(fig.data) == 8  # weights and biases for 4 layers
    assert [a.text for a in fig.layout.annotations] == [
        "conv2d_1 (Conv2d)",
        "conv2d_2 (Conv2d)",
        "dense_1 (Linear)",
        "dense_2 (Linear)",
    ]
    w0 = fig.data[0]
    assert w0.name == "weights" and np.isclose(sum(w0.y), 1.0)  # shares of the layer's weights
    assert list(w0.customdata) == layers[0].weight.counts.tolist()
    zh = weight_histograms(layers, tr=lambda s, **k: {"weights": "权重", "biases": "偏置"}.get(s, s))
    assert zh.data[0].name == "权重" and zh.data[1].name == "偏置"
    assert len(weight_histograms([]).data) == 0
