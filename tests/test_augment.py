"""Data augmentation on the device (dlviz.train.augment): known answers for each change, the flips rule, a fit."""

from __future__ import annotations

import pytest
import torch

from dlviz.data import get_info
from dlviz.errors import TrainError
from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob, run_job
from dlviz.train.augment import (
    Augmentation,
    Augmenter,
    affine,
    check_allowed,
    erase,
    erase_size,
    generalization_gap,
    preview,
)


def _one_hot(r: int, c: int, b: int = 1, size: int = 28) -> torch.Tensor:
    x = torch.zeros(b, 1, size, size)
    x[:, 0, r, c] = 1.0
    return x


def _where(x: torch.Tensor) -> tuple[int, int]:
    i = int(x[0, 0].flatten().argmax())
    return divmod(i, x.shape[-1])


def _geometry(b: int = 1, angle=0.0, scale=1.0, tx=0.0, ty=0.0, flip=False):
    full = lambda v: torch.full((b,), float(v))  # noqa: E731
    return full(angle), full(scale), full(tx), full(ty), torch.full((b,), bool(flip))


@pytest.mark.parametrize("k", [1, 3, -2])
def test_a_shift_by_k_pixels_moves_a_one_hot_pixel_by_k(k):
    x = _one_hot(10, 12)
    right = affine(x, *_geometry(tx=k))
    assert _where(right) == (10, 12 + k)
    assert torch.allclose(right.sum(), torch.tensor(1.0))  # exact: the whole pixel moved, nothing blurred
    down = affine(x, *_geometry(ty=k))
    assert _where(down) == (10 + k, 12)
    assert torch.allclose(down.max(), torch.tensor(1.0))


def test_rotation_by_zero_and_scale_one_is_the_identity():
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(affine(x, *_geometry(b=4)), x, atol=1e-5)  # float rounding of the grid only


def test_a_quarter_turn_and_a_flip_land_where_drawn():
    x = _one_hot(4, 14)  # above the centre (13.5, 13.5)
    turned = affine(x, *_geometry(angle=90))
    r, c = _where(turned)
    assert abs(r - 13.5) < 1 and abs(c - 13.5) > 8  # now beside the centre, on the same row band
    flipped = affine(_one_hot(5, 3), *_geometry(flip=True))
    assert _where(flipped) == (5, 24)  # column 3 mirrors to 27 - 3


def test_erasing_zeroes_a_rectangle_of_the_asked_area():
    x = torch.ones(3, 1, 28, 28)
    out = erase(x, 0.25, torch.tensor([0.0, 0.5, 0.99]), torch.tensor([0.0, 0.3, 0.99]), torch.tensor([1, 1, 0]))
    assert erase_size(0.25, 28, 28) == (14, 14)
    zeros = (out == 0).sum(dim=(1, 2, 3)).tolist()
    assert zeros == [196, 196, 0]  # a quarter of 784 pixels; the third image was not chosen
    assert (out[0, 0, :14, :14] == 0).all() and (out[0, 0, 14:, :] == 1).all()


def test_the_same_seed_gives_the_same_batch_and_another_seed_another():
    aug = Augmentation(shift=3, rotate=15, scale=0.1, noise=0.1, erase=0.1)
    x = torch.rand(8, 1, 28, 28)
    a, b, c = Augmenter(aug, seed=1)(x), Augmenter(aug, seed=1)(x), Augmenter(aug, seed=2)(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(Augmenter(Augmentation())(x), x)  # all off: the batch itself


def test_flips_are_refused_for_digits_and_allowed_for_clothes():
    with pytest.raises(TrainError, match="cannot be flipped"):
        check_allowed(Augmentation(flip=True), get_info("mnist"), True)
    check_allowed(Augmentation(flip=True), get_info("fashion-mnist"), True)
    with pytest.raises(TrainError, match="not pictures"):
        check_allowed(Augmentation(shift=2), get_info("rt-polarity"), False)
    check_allowed(Augmentation(), get_info("rt-polarity"), False)  # nothing asked: nothing refused


def test_train_config_checks_the_augmentation_settings():
    assert not TrainConfig().augmentation.active  # off by default: every recipe trains as before
    cfg = TrainConfig(augment_shift=2, augment_rotate="10").validated()
    assert cfg.augmentation == Augmentation(shift=2.0, rotate=10.0)
    with pytest.raises(TrainError, match="between 0 and 180"):
        TrainConfig(augment_rotate=400).validated()
    with pytest.raises(TrainError, match="must be a number"):
        TrainConfig(augment_noise="lots").validated()


def test_a_fit_with_augmentation_on_a_tiny_subset(home, mnist_dir):
    cfg = TrainConfig(epochs=1, limit=400, augment_shift=2, augment_rotate=10, augment_erase=0.1, device="cpu")
    res = run_job(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir)), RunStore())
    assert res.status == "finished", res.message
    assert res.test_accuracy is not None and res.test_accuracy > 0.3  # it learned digits from moved digits
    assert RunStore().get(res.run_id).settings["augment_shift"] == 2.0  # saved with the run
    flip = TrainConfig(epochs=1, limit=200, augment_flip=True, device="cpu")
    bad = run_job(TrainJob("mnist", PRESETS["mlp"].copy_spec(), flip, data_dir=str(mnist_dir)), RunStore())
    assert bad.status == "failed" and "cannot be flipped" in bad.message


def test_the_preview_shows_the_images_then_augmented_copies():
    imgs = torch.zeros(4, 28, 28, dtype=torch.uint8)
    imgs[:, 10:18, 10:18] = 255
    grid = preview(imgs, Augmentation(shift=3, rotate=20), seed=0, copies=2)
    assert grid.shape == (3 * 28, 4 * 28) and grid.dtype == torch.uint8
    assert torch.equal(grid[:28, :28], imgs[0])  # the first row as stored
    assert not torch.equal(grid[28:56, :28], imgs[0])  # then moved


def test_the_gap_between_training_and_validation_is_named_overfitting():
    train = [[1, 0.5, 0.5, 0.90], [2, 1.0, 0.3, 0.95], [3, 1.5, 0.1, 0.99], [4, 2.0, 0.05, 1.0]]
    said, args = generalization_gap(train, [[2, 1.0, 0.4, 0.9], [4, 2.0, 0.3, 0.94]])
    assert "overfitting" in said and abs(args["train"] - 0.995) < 1e-9 and abs(args["points"] - 5.5) < 1e-9
    said, args = generalization_gap(train, [[4, 2.0, 0.1, 0.99]])
    assert "Little overfitting" in said and abs(args["points"] - 0.5) < 1e-9
    assert generalization_gap(train, []) is None


def test_the_train_cli_takes_augmentation_flags(home, mnist_dir):
    import json

    from cli_util import run_cli

    r = run_cli(
        *("train", "--model", "mlp", "--epochs", "1", "--limit", "300", "--device", "cpu", "--data-dir", mnist_dir),
        *("--shift", "2", "--erase", "0.1", "--baseline", "--json"),
    )
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0 and out["status"] == "finished"
    assert "Classic pipeline, HOG + logistic regression" in r.stderr
    settings = RunStore().get(out["run_id"]).settings
    assert settings["augment_shift"] == 2.0 and settings["augment_erase"] == 0.1 and settings["augment_rotate"] == 0
    assert [b["name"] for b in out["baselines"]] == ["Raw pixels + logistic regression", "HOG + logistic regression"]
    bad = run_cli("train", "--model", "mlp", "--limit", "100", "--flip", "--data-dir", mnist_dir)
    assert bad.returncode == 2 and "cannot be flipped" in bad.stderr
