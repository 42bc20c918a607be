"""Activation pictures: the feature-map tiling, dense strips and captions, with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlviz.i18n import translate
from dlviz.models import LAYER_TYPES
from dlviz.plots.activations import (
    CAPTIONS,
    DIVERGING,
    SEQUENTIAL,
    dense_strip,
    feature_map_grid,
    grid_shape,
    layer_caption,
    layer_kind,
    shape_text,
    tile_of,
    top_units,
)

TWO_MAPS = torch.tensor([[[0.0, 1], [2, 3]], [[5.0, 5], [5, 5]]])  # (2, 2, 2): a ramp and a constant map


def test_grid_tiles_maps_with_white_gaps_per_channel():
    img = feature_map_grid(TWO_MAPS, scale=1)
    assert img.dtype == np.uint8 and img.shape == (2, 5, 3)  # 2 tiles of 2 px + one 1-px gap
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()  # gray
    assert img[:, :2, 0].tolist() == [[0, 85], [170, 255]]  # the ramp stretched to 0..255
    assert (img[:, 2] == 255).all()  # the gap
    assert (img[:, 3:] == 0).all()  # a constant map is black


def test_shared_normalisation_compares_maps():
    img = feature_map_grid(TWO_MAPS, per_channel=False, scale=1)
    assert img[:, :2, 0].tolist() == [[0, 51], [102, 153]]  # 0..5 shared
    assert (img[:, 3:] == 255).all()  # the constant 5 is the largest value of all


def test_nearest_upscaling_and_default_scale():
    img = feature_map_grid(TWO_MAPS, scale=3)
    assert img.shape == (6, 13, 3)
    assert (img[:3, :3, 0] == 0).all() and (img[3:, 3:6, 0] == 255).all()  # each value a 3x3 square
    # default: about 56 px per tile, so 26x26 maps are doubled and 5x5 maps enlarged 11x
    assert feature_map_grid(torch.rand(32, 26, 26)).shape == (4 * 53 - 1, 8 * 53 - 1, 3)
    assert feature_map_grid(torch.rand(3, 5, 5)).shape == (55, 3 * 56 - 1, 3)


@pytest.mark.parametrize(
    "c,expected", [(1, (1, 1)), (3, (1, 3)), (10, (2, 8)), (32, (4, 8)), (64, (8, 8)), (256, (16, 16))]
)
def test_grid_shape(c, expected):
    assert grid_shape(c) == expected


def test_tile_of_finds_each_channel():
    values = torch.zeros(10, 4, 4)
    values[5, 1, 2] = 1.0  # one bright pixel in channel 5
    for gap in (0, 1, 3):
        img = feature_map_grid(values, per_channel=False, scale=2, cols=4, gap=gap)
        assert img.shape == (3 * 8 + 2 * gap, 4 * 8 + 3 * gap, 3)
        top, left, h, w = tile_of(5, tuple(values.shape), scale=2, cols=4, gap=gap)
        assert (top, left, h, w) == (8 + gap, 8 + gap, 8, 8)  # row 1, column 1
        tile = img[top : top + h, left : left + w, 0]
        assert np.argwhere(tile == 255).tolist() == [[2, 4], [2, 5], [3, 4], [3, 5]]
        img[top : top + h, left : left + w] = 0
        # every other white pixel is a gap or one of the two unused slots (10 maps on 12 slots)
        assert (img[..., 0] == 255).sum() == img.shape[0] * img.shape[1] - 10 * 64


def test_grid_accepts_one_map_numpy_and_nan_and_leaves_input_alone():
    a = np.array([[0.0, np.nan], [1.0, 2.0]], np.float32)
    before = a.copy()
    img = feature_map_grid(a, scale=1)
    assert img.shape == (2, 2, 3) and img[0, 1, 0] == 0  # NaN shown as 0
    assert np.array_equal(np.isnan(a), np.isnan(before))
    t = torch.rand(4, 3, 3)
    t0 = t.clone()
    feature_map_grid(t)
    assert torch.equal(t, t0)
    with pytest.raises(ValueError):
        feature_map_grid(torch.zeros(2, 2, 2, 2))


def test_top_units():
    assert top_units([0.1, -3, 2, 2, 0.5], 3) == [(2, 2.0), (3, 2.0), (4, 0.5)]
    assert top_units(torch.tensor([1.0, 2.0]), 10) == [(1, 2.0), (0, 1.0)]


def test_dense_strip_signed_and_positive():
    vals = torch.tensor([0.5, -2.0, 1.0, 0.0, 3.0])
    fig = dense_strip(vals, top_k=2)
    bar = fig.data[0]
    assert len(fig.data) == 1 and list(bar.y) == pytest.approx([0.5, -2.0, 1.0, 0.0, 3.0])
    assert bar.marker.cmin == -3.0 and bar.marker.cmax == 3.0  # centred at 0
    assert [list(x) for x in bar.marker.colorscale] == [list(x) for x in DIVERGING]
    assert list(bar.text) == ["", "", "#2", "", "#4"]  # the two most active units are labelled
    pos = dense_strip(vals.clamp(min=0), tr=lambda s, **k: s.upper()).data[0]
    assert pos.marker.cmin == 0.0 and [list(x) for x in pos.marker.colorscale] == [list(x) for x in SEQUENTIAL]
    assert dense_strip(vals, tr=lambda s, **k: s.upper()).layout.xaxis.title.text == "UNIT"
    assert dense_strip(torch.zeros(4)).data[0].marker.cmax == 1.0  # all zero: no division by zero


def test_long_vectors_become_one_wrapped_heat_strip():
    vals = torch.arange(1000, dtype=torch.float32) - 100  # signed, 1000 units
    fig = dense_strip(vals, max_bars=512, wrap=64)
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (16, 64)  # ceil(1000 / 64) rows
    assert z[0, 0] == -100 and z[1, 0] == -36 and z[15, 39] == 899 and np.isnan(z[15, 40:]).all()
    assert np.asarray(fig.data[0].customdata)[15, 39] == 999
    assert fig.data[0].zmin == -899 and fig.data[0].zmax == 899  # centred at 0


def test_layer_kind():
    assert layer_kind("conv2d_1") == "conv2d"
    assert layer_kind("leakyrelu_12") == "leakyrelu"
    assert layer_kind("weird") == "weird"


def test_every_layer_type_has_a_caption():
    assert set(LAYER_TYPES) <= set(CAPTIONS)


def test_captions_say_what_the_layer_did():
    relu = torch.tensor([0.0] * 62 + [1.0] * 38)
    assert layer_caption("relu_1", relu).endswith("62% of units are zero (ReLU switched them off).")
    assert "32 filters" in layer_caption("conv2d_1", torch.randn(32, 26, 26))
    assert "of 1600" in layer_caption("flatten_1", torch.randn(1600))
    assert "128 units" in layer_caption("dense_1", torch.randn(128))
    assert layer_caption("dense_2", torch.randn(10), last=True).startswith("Output layer")
    assert "exactly zero" in layer_caption("maxpool_1", torch.tensor([0.0, 0.0, 1.0]))
    assert "zero" not in layer_caption("maxpool_1", torch.ones(3))
    assert layer_caption("mystery_1", torch.ones(3)) == ""


def test_captions_translate():
    zh = layer_caption("relu_1", torch.tensor([0.0, 1.0]), tr=lambda s, **k: translate(s, "zh", **k))
    assert "ReLU" in zh and "50%" in zh and "units are zero" not in zh


def test_shape_text():
    assert shape_text((32, 26, 26)) == "32 x 26 x 26"
