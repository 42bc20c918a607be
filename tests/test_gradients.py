"""Gradient recording: known answers against torch.autograd, diagnoses, and the runner's records."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlviz.inspect.gradients import diagnose, typical_rms
from dlviz.models import PRESETS, build
from dlviz.train import GradientRecording, Snapshots, TrainConfig, fit
from dlviz.train.engine import DeviceData, image_transform
from dlviz.train.gradients import GradRecorder, param_layers


def _autograd_layer_norms(model, x, y) -> list[float]:
    loss = F.cross_entropy(model(x), y)
    out = []
    for _, params in param_layers(model):
        grads = torch.autograd.grad(loss, params, retain_graph=True)
        out.append(math.sqrt(sum(float(g.double().square().sum()) for g in grads)))
    return out


@pytest.mark.parametrize("preset", ["mlp", "cnn", "resnet"])
def test_recorded_norms_equal_autograd_on_the_same_batch(preset):
    torch.manual_seed(0)
    model = build(PRESETS[preset].spec, seed=0).module.train()
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    expected = _autograd_layer_norms(copy.deepcopy(model), x, y)
    rec = GradRecorder(model, total_steps=10)
    F.cross_entropy(model(x), y).backward()
    rec.after_backward(1)
    got = rec.record()
    assert got["layers"] == [n for n, _ in param_layers(model)]
    assert got["steps"] == [1]
    assert got["norms"][0] == pytest.approx(expected, rel=1e-5)
    assert got["sizes"] == [sum(p.numel() for p in ps) for _, ps in param_layers(model)]


def _tiny_data(n=64, seed=0) -> DeviceData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    e = torch.empty(0, 28, 28, dtype=torch.uint8)
    return DeviceData(x, y, e, torch.empty(0, dtype=torch.long), x[:8], y[:8], image_transform)


def test_fit_records_every_step_and_the_first_equals_autograd():
    data = _tiny_data()
    model = build(PRESETS["mlp"].spec, seed=0).module
    # one full batch per step: the first step's loss does not depend on the shuffle
    expected = _autograd_layer_norms(copy.deepcopy(model).train(), image_transform(data.train_x), data.train_y)
    rec = GradRecorder(model, total_steps=3, steps_per_epoch=1)
    cfg = TrainConfig(epochs=3, batch_size=64, cpu_threads="fixed", schedule="constant", lr=1e-2)
    res = fit(model, data, cfg, [GradientRecording(rec)])
    r = rec.record()
    assert res.steps == 3 and r["steps"] == [1, 2, 3] and r["epochs"] == [1.0, 2.0, 3.0]
    assert r["norms"][0] == pytest.approx(expected, rel=1e-4)
    assert r["norms"][1] != r["norms"][0]  # the weights moved, so the gradients did too
    # histograms of weights and gradients at the early steps, for every layer
    kinds = {(h["step"], h["layer"], h["kind"]) for h in r["hist"]}
    for name in r["layers"]:
        assert (1, name, "weight") in kinds and (1, name, "grad") in kinds
    h = next(h for h in r["hist"] if h["kind"] == "weight" and h["step"] == 1)
    n_weights = r["sizes"][r["layers"].index(h["layer"])]
    assert sum(h["counts"]) == n_weights and h["lo"] == -h["hi"]


def test_long_runs_record_at_most_max_points():
    model = build(PRESETS["mlp"].spec, seed=0).module
    rec = GradRecorder(model, total_steps=100_000)
    assert rec.every == 125 and len(rec.pnorms) == 801


def test_snapshots_at_chosen_steps_and_before_training():
    data = _tiny_data(n=64)
    model = build(PRESETS["mlp"].spec, seed=0).module
    start = copy.deepcopy(model.state_dict())
    seen = {}
    cfg = TrainConfig(epochs=1, batch_size=8, cpu_threads="fixed")
    fit(
        model,
        data,
        cfg,
        [Snapshots((0, 2, 5, 100), lambda step, m: seen.setdefault(step, copy.deepcopy(m.state_dict())))],
    )
    assert sorted(seen) == [0, 2, 5]  # 8 steps in all: step 100 never comes
    assert all(torch.equal(seen[0][k], start[k]) for k in start)
    assert not torch.equal(seen[2]["dense_1.weight"], seen[5]["dense_1.weight"])


def _record(norms, sizes=None, layers=None):
    layers = layers or [f"dense_{i + 1}" for i in range(len(norms[0]))]
    return {
        "layers": layers,
        "sizes": sizes or [1] * len(layers),
        "norms": norms,
        "steps": list(range(1, len(norms) + 1)),
    }


def test_diagnose_names_vanishing_layers():
    rec = _record([[1e-6, 5e-4, 1e-1]] * 30)  # 5e-4 is under 1/100 of 0.1; 1e-6 is 100,000x under
    (f,) = diagnose(rec)
    assert f.kind == "vanishing"
    assert f.args["layers"] == "dense_1, dense_2" and f.args["strongest"] == "dense_3"
    assert f.args["ratio"] == "100,000"


def test_diagnose_compares_per_weight_not_raw_norms():
    # a big layer has a bigger norm for the same per-weight gradient: that is not vanishing
    rec = _record([[1.0, 0.01]] * 30, sizes=[10_000, 1])
    assert [f.kind for f in diagnose(rec)] == ["healthy"]


def test_diagnose_names_exploding_layers():
    growing = [[0.01 * 1.5**k, 0.01] for k in range(40)]
    assert diagnose(_record(growing))[0].kind == "exploding"
    assert "dense_1" in diagnose(_record(growing))[0].args["layers"]
    nan = [[0.1, 0.1]] * 10 + [[float("nan"), 0.1]]
    f = diagnose(_record(nan))[0]
    assert f.kind == "exploding" and f.args["layers"] == "dense_1"


def test_diagnose_empty_record():
    assert diagnose({}) == [] and diagnose({"layers": [], "norms": []}) == []
    assert typical_rms({"norms": [], "sizes": []}) == []


# ResNet's 30 steps cost about 7 s of CPU (the other two presets about 1 s together): that one is slow
@pytest.mark.parametrize("preset", ["deep-sigmoid", "mlp", pytest.param("resnet", marks=pytest.mark.slow)])
def test_deep_sigmoid_vanishes_where_relu_and_residual_do_not(mnist_dir, preset):
    """The course's case for ResNet, on real digits: 30 steps of each preset."""
    from dlviz.data import load_dataset
    from dlviz.train import prepare_data

    raw = load_dataset("mnist", mnist_dir)
    cfg = TrainConfig(epochs=1, limit=30 * 32, batch_size=32, cpu_threads="fixed")
    data = prepare_data(raw, cfg, torch.device("cpu"))
    model = build(PRESETS[preset].spec, seed=0).module
    rec = GradRecorder(model, total_steps=30)
    fit(model, data, cfg, [GradientRecording(rec)])
    found = diagnose(rec.record())
    if preset == "deep-sigmoid":
        assert found[0].kind == "vanishing" and found[0].args["layers"].startswith("dense_1,")
    else:  # ReLU (the MLP) and the residual blocks keep their gradients
        assert [f.kind for f in found] == ["healthy"]


def test_live_copy_is_thinned_and_matches_the_record():
    model = build(PRESETS["mlp"].spec, seed=0).module
    rec = GradRecorder(model, total_steps=1000, steps_per_epoch=100)
    x, y = torch.rand(4, 1, 28, 28), torch.randint(0, 10, (4,))
    F.cross_entropy(model(x), y).backward()
    for step in range(1, 701):
        rec.after_backward(step)
    live, full = rec.live(max_points=300), rec.record()
    # 1,000 steps planned: every 2nd is recorded (at most 800); 350 by step 700, thinned to every 2nd of those
    assert len(live["steps"]) == 175 and live["steps"][:3] == [2, 6, 10] and live["every"] == 4
    assert live["norms"][1] == full["norms"][2] and live["epochs"][1] == 0.06


def test_flow_figure_smooths_in_log_space():
    from dlviz.plots.gradients import _smooth, gradient_flow

    y = np.array([1e-3, 1e-1] * 50)
    s = _smooth(y, 4)
    assert np.allclose(s[10:-10], 1e-2)  # the geometric mean of the two, where the window is full
    rec = {"layers": ["a", "b"], "epochs": list(np.linspace(0.01, 1, 100)), "norms": [[v, 1.0] for v in y]}
    fig = gradient_flow(rec)
    assert [tr.name for tr in fig.data if tr.showlegend is not False] == ["a", "b"]
    assert len(fig.data) == 4  # faint raw + bold smoothed per layer
