"""Inspection basics: the hook context manager, activations with known answers, the inspect CLI."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.inspect import activations, capture, probabilities, summarize
from dlviz.models import PRESETS, build


def _all_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_hand_set_filter_gives_the_known_feature_map():
    spec = {
        "layers": [
            {"type": "conv2d", "out": 1, "kernel": 3},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ]
    }
    model = build(spec, (1, 5, 5), 2).module
    with torch.no_grad():
        model.conv2d_1.weight.copy_(torch.tensor([[[[-1.0, 0, 1], [-1, 0, 1], [-1, 0, 1]]]]))  # vertical edges
        model.conv2d_1.bias.zero_()
    img = torch.zeros(1, 5, 5)
    img[0, :, 3:] = 1.0  # dark left, bright right: an edge between columns 2 and 3
    layers, probs = activations(model, img)
    conv = next(a for a in layers if a.name == "conv2d_1").values[0]
    # each output pixel sums (right - left) over 3 rows: columns 0..2 of the output see 0, 3, 3
    assert torch.equal(conv, torch.tensor([[0.0, 3, 3]] * 3))
    assert torch.equal(next(a for a in layers if a.name == "relu_1").values[0], conv.clamp(min=0))
    assert probs.shape == (2,) and probs.sum().item() == pytest.approx(1.0)


def test_activations_match_a_plain_forward_and_restore_mode():
    model = build(PRESETS["cnn"].spec, seed=0).module.train()
    x = torch.rand(1, 28, 28)
    layers, probs = activations(model, x)
    assert model.training  # mode restored
    assert [a.name for a in layers] == [n for n, _ in model.named_children()]
    model.eval()
    with torch.no_grad():
        expected = F.softmax(model(x.unsqueeze(0)), 1)[0]
    assert torch.allclose(probs, expected, atol=1e-6)
    assert layers[0].shape == (32, 26, 26) and layers[-1].shape == (10,)
    s = summarize(layers)
    relu = next(r for r in s if r["name"] == "relu_1")
    assert 0 <= relu["fraction_zero"] <= 1 and relu["mean"] >= 0


def test_probabilities_are_the_eval_mode_softmax_and_restore_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(784, 10)).train()  # train mode: dropout on
    x = torch.rand(1, 28, 28)
    p = probabilities(model, x)
    assert model.training and not p.requires_grad and p.shape == (10,)  # mode restored
    model.eval()
    with torch.no_grad():
        expected = F.softmax(model(x.unsqueeze(0)), 1)[0]
    assert torch.allclose(p, expected, atol=1e-6)  # dropout was off
    assert torch.allclose(p.sum(), torch.tensor(1.0))


def test_hooks_are_removed_even_when_forward_raises():
    model = build(PRESETS["mlp"].spec).module
    with pytest.raises(RuntimeError):
        with capture(model):
            assert _all_hooks(model) == len(list(model.children()))
            model(torch.zeros(2, 3, 5, 5))  # wrong shape: Linear raises
    assert _all_hooks(model) == 0
    with pytest.raises(RuntimeError):
        activations(model, torch.zeros(3, 5, 5))
    assert _all_hooks(model) == 0 and model.training


def test_inspect_cli_json(cnn_cli_run, mnist_dir, monkeypatch):
    from cli_util import run_cli  # tests/ is on sys.path (rootdir-relative test modules)

    monkeypatch.setenv("DLVIZ_HOME", str(cnn_cli_run["home"]))  # a CNN trained by the CLI (conftest.py)
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    cli = run_cli
    run_id = cnn_cli_run["run_id"]
    r = cli("inspect", "--run", run_id, "--index", "0", "--data-dir", str(mnist_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [layer["name"] for layer in out["layers"]][:3] == ["conv2d_1", "relu_1", "maxpool_1"]
    assert out["layers"][0]["shape"] == [32, 26, 26]
    assert all(set(layer) == {"name", "shape", "mean", "fraction_zero"} for layer in out["layers"])
    assert 0 <= out["prediction"] <= 9 and 0 < out["probability"] <= 1 and out["label"] == 7
    r = cli("inspect", "--run", run_id, "--index", "10000", "--data-dir", str(mnist_dir))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    # replay: the weights before training give another answer than the trained ones (same image)
    r0 = cli("inspect", "--run", run_id, "--index", "0", "--at", "step-0", "--data-dir", str(mnist_dir), "--json")
    before = json.loads(r0.stdout)
    assert before["at"] == "step-0" and out["at"] == "final"
    assert before["layers"][0]["mean"] != out["layers"][0]["mean"]
    assert before["probability"] < 0.5 < out["probability"]  # untrained: unsure; trained: sure
    r = cli("inspect", "--run", run_id, "--index", "0", "--at", "epoch-9", "--data-dir", str(mnist_dir))
    assert r.returncode == 2 and "no weights saved at epoch-9" in r.stderr and "step-0" in r.stderr
