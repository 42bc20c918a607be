"""``python -m dlviz bench train``: its JSON contract and its bookkeeping (not its timings)."""

from __future__ import annotations

import json

import pytest
import torch

from dlviz.__main__ import build_parser
from dlviz.data import load_dataset
from dlviz.train import TrainConfig, prepare_data
from dlviz.train import bench


@pytest.fixture(scope="module")
def small(mnist_dir):
    raw = load_dataset("mnist", str(mnist_dir))
    return prepare_data(raw, TrainConfig(limit=3000), torch.device("cpu"))


def test_time_to_target_is_the_first_epoch_that_reaches_it():
    assert bench._target("mlp", [1.0, 2.0, 3.0], [0.96, 0.976, 0.98]) == (2.0, 2)
    assert bench._target("mlp", [1.0, 2.0], [0.96, 0.974]) == (None, None)
    assert bench._target("cnn", [5.0], [0.990]) == (5.0, 1)


def test_every_engine_reports_the_contract(small, mnist_dir, home):
    r = bench.bench_preset("mlp", small, str(mnist_dir), overrides={"epochs": 1, "limit": 3000})
    json.dumps(r)   # one JSON object per preset
    assert r["preset"] == "mlp" and r["device"] == "cpu" and r["train_images"] == 3000
    for name in ("ordinary", "dlviz", "dlviz_ui", "dlviz_ui_thread"):
        e = r[name]
        # the ordinary loop goes on (up to twice the epochs) when it falls short of the target
        assert e["epochs"] == (2 if name == "ordinary" else 1) == len(e["accuracy_per_epoch"])
        assert 0.7 < e["final_test_accuracy"] <= 1.0, (name, e["final_test_accuracy"])
        assert e["epoch_s"] > 0 and e["samples_per_s"] == pytest.approx(3000 * e["epochs"] / e["train_s"])
        assert e["peak_rss_mb"] > 100 and e["wall_s"] >= e["train_s"] * 0.5
        # 3,000 images and one epoch cannot reach 97.5%: no time to target, and nothing invented
        assert e["time_to_target_s"] is None and e["reached_at_epoch"] is None
    assert r["ordinary"]["batch_size"] == 32 and r["ordinary"]["precision"] == "fp32"
    assert r["dlviz"]["batch_size"] == 128 and r["dlviz"]["schedule"] == "onecycle"
    assert r["dlviz_ui"]["extra"]["executor"] == "process" and r["dlviz_ui_thread"]["extra"]["executor"] == "thread"
    # the app's path measured test accuracy itself; it agrees with the bench's own measurement
    assert r["dlviz_ui"]["extra"]["test_accuracy_reported"] == pytest.approx(r["dlviz_ui"]["final_test_accuracy"],
                                                                             abs=1e-4)
    assert r["speedup"] is None and r["speedup_basis"] == "dlviz did not reach the target"
    assert r["ui_throughput_ratio"] == pytest.approx(r["dlviz_ui"]["samples_per_s"] / r["dlviz"]["samples_per_s"])
    text = bench.table(r)
    assert "ordinary DataLoader loop" in text and "not reached" in text and "| engine" in text


def test_speedup_is_time_to_target_or_a_lower_bound():
    def eng(ttt, wall):
        return {"time_to_target_s": ttt, "wall_s": wall}

    assert bench.speedup(eng(10.0, 12.0), eng(2.0, 3.0)) == (5.0, "time to target")
    value, basis = bench.speedup(eng(None, 30.0), eng(3.0, 4.0))
    assert value == 10.0 and basis.startswith("at least")
    assert bench.speedup(eng(10.0, 12.0), eng(None, 3.0)) == (None, "dlviz did not reach the target")


def test_the_cli_verb_parses():
    a = build_parser().parse_args(["bench", "train", "--preset", "cnn", "--device", "cpu", "--json"])
    assert a.what == "train" and a.preset == "cnn" and a.device == "cpu" and a.json
    a = build_parser().parse_args(["bench", "train"])
    assert a.preset is None   # both presets


def test_the_median_run_is_reported_with_every_repeat():
    def run(ttt, epoch_s):
        return {"time_to_target_s": ttt, "epoch_s": epoch_s, "samples_per_s": 1 / epoch_s,
                "final_test_accuracy": 0.98}

    m = bench.median_run([run(3.0, 0.5), run(None, 0.9), run(2.0, 0.4)])
    assert m["time_to_target_s"] == 3.0   # 2.0 < 3.0 < missed
    assert [r["time_to_target_s"] for r in m["repeats"]] == [3.0, None, 2.0]   # in the order they ran
    assert bench.median_run([run(2.0, 0.4), run(4.0, 0.6)])["time_to_target_s"] == 2.0   # the lower middle
    assert bench.median_run([run(None, 0.7), run(None, 0.5)])["epoch_s"] == 0.5


def test_repeats_are_interleaved_and_counted(small, mnist_dir, home, monkeypatch):
    order = []
    real_ordinary, real_headless = bench.ordinary, bench.headless
    monkeypatch.setattr(bench, "ordinary", lambda *a, **k: order.append("o") or real_ordinary(*a, **k))
    monkeypatch.setattr(bench, "headless", lambda *a, **k: order.append("d") or real_headless(*a, **k))
    r = bench.bench_preset("mlp", small, str(mnist_dir), engines=("ordinary", "dlviz"),
                           overrides={"epochs": 1, "limit": 3000}, repeat=2)
    assert order == ["o", "d", "o", "d"]
    assert r["repeat"] == 2 and len(r["dlviz"]["repeats"]) == 2 and len(r["ordinary"]["repeats"]) == 2
    assert "median of 2 interleaved runs" in bench.table(r)
    a = build_parser().parse_args(["bench", "train", "--repeat", "3"])
    assert a.repeat == 3
