"""dlviz's own HOG (dlviz.train.hog) against hand-computed histograms, and the classic image baselines."""

from __future__ import annotations

import numpy as np
import torch

from dlviz.train.baseline import IMAGE_PIPELINES, image_baselines, image_comparison
from dlviz.train.hog import cell_histograms, glyph_segments, hog, hog_features


def _half(axis: int) -> torch.Tensor:
    x = torch.zeros(1, 28, 28)
    if axis == 1:
        x[:, :, 14:] = 1.0  # dark left half, bright right half: a vertical edge between columns 13 and 14
    else:
        x[:, 14:, :] = 1.0  # a horizontal edge between rows 13 and 14
    return x


def test_a_vertical_edge_votes_into_bin_0_of_the_two_cells_beside_it():
    # by hand: gx = x[c + 1] - x[c - 1] is 1 at columns 13 and 14 (and 0 elsewhere), gy = 0, so the direction is
    # 0 degrees (bin 0) with length 1. Column 13 lies in cell column 1 (columns 7-13), column 14 in cell column 2;
    # each cell has 7 rows of them: 7 in bin 0 of every cell of cell columns 1 and 2, nothing anywhere else.
    h = cell_histograms(_half(axis=1))
    want = np.zeros((1, 4, 4, 9), np.float32)
    want[0, :, 1, 0] = 7.0
    want[0, :, 2, 0] = 7.0
    np.testing.assert_allclose(h.numpy(), want)


def test_a_horizontal_edge_votes_into_the_90_degree_bin():
    # gy = 1 at rows 13 and 14: 90 degrees, bin floor(90 / 20) = 4
    h = cell_histograms(_half(axis=0))
    want = np.zeros((1, 4, 4, 9), np.float32)
    want[0, 1, :, 4] = 7.0
    want[0, 2, :, 4] = 7.0
    np.testing.assert_allclose(h.numpy(), want)


def test_hog_blocks_are_unit_length_and_ink_darkness_does_not_matter():
    x = torch.rand(5, 28, 28)
    f = hog(x)
    assert f.shape == (5, 3 * 3 * 2 * 2 * 9)  # 324 on a 28 x 28 digit
    norms = f.reshape(5, 9, 36).norm(dim=2)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-4)
    assert torch.allclose(hog(x * 0.5), f, atol=1e-4)  # half as dark: the same shapes
    u8 = (x * 255).round().to(torch.uint8)
    assert hog_features(u8, chunk=2).shape == (5, 324)


def test_the_glyphs_draw_each_edge_along_itself():
    seg = glyph_segments(cell_histograms(_half(axis=1))[0].numpy())
    # a vertical edge: lines within half a bin (10 degrees) of vertical, drawn at bin 0's centre
    assert seg and all(abs(x0 - x1) <= 0.18 * abs(y0 - y1) for x0, y0, x1, y1, _ in seg)


def test_the_classic_pipelines_learn_digits_from_a_few_hundred(mnist_dir):
    from dlviz.data import load_dataset

    d = load_dataset("mnist", str(mnist_dir))
    res = image_baselines(d.train_x[:600], d.train_y[:600], d.test_x[:300], d.test_y[:300])
    assert [r.name for r in res] == [v[0] for v in IMAGE_PIPELINES.values()]
    assert all(0.6 < r.test_accuracy <= 1.0 and r.seconds > 0 for r in res)
    assert [r.n_features for r in res] == [784, 324]
    assert image_baselines(d.train_x[:5], torch.zeros(5, dtype=torch.long), d.test_x[:5], d.test_y[:5]) == []
    said = image_comparison(0.90, 0.99)
    assert said is not None and abs(said[1]["points"] - 9.0) < 1e-9 and "network scored" in said[0]


def test_a_run_asked_for_the_classic_pipelines_keeps_them(home, mnist_dir):
    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    cfg = TrainConfig(epochs=1, limit=400, device="cpu")
    res = run_job(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir), baseline=True), RunStore()
    )
    assert res.status == "finished" and res.baseline is None
    assert [b["n_features"] for b in res.baselines] == [784, 324]
    assert all(b["train_size"] == 400 for b in res.baselines)  # the network's own training images
    assert RunStore().get(res.run_id).metrics["baselines"] == res.baselines
    plain = run_job(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir)), RunStore())
    assert plain.baselines is None  # images: only when asked (a minute on all of MNIST)


def test_the_hog_picture_is_the_image_beside_its_glyphs():
    from dlviz.plots.hog import hog_picture

    x = _half(axis=1)
    seg = glyph_segments(cell_histograms(x)[0].numpy())
    pic = hog_picture(x[0].numpy(), seg, 7, size=112, labels=["Input", "HOG"])
    assert pic.dtype == np.uint8 and pic.ndim == 3 and pic.shape[1] > 2 * 112
    right = pic[:, pic.shape[1] // 2 + 2 :]
    assert (right[..., 2] < 50).any() and (right[..., 0] > 200).any()  # bright yellow lines on black
