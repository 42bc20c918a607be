"""``python -m dlviz bench train``: its JSON contract and its bookkeeping (not its timings)."""

from __future__ import annotations

import json

import pytest
import torch

from dlviz.__main__ import build_parser
from dlviz.bench import train as bench
from dlviz.data import load_dataset
from dlviz.train import TrainConfig, prepare_data


@pytest.fixture(scope="module")
def small(mnist_dir):
    raw = load_dataset("mnist", str(mnist_dir))
    return prepare_data(raw, TrainConfig(limit=3000), torch.device("cpu"))


def test_time_to_target_is_the_first_epoch_that_reaches_it():
    assert bench._target("mlp", [1.0, 2.0, 3.0], [0.96, 0.976, 0.98]) == (2.0, 2)
    assert bench._target("mlp", [1.0, 2.0], [0.96, 0.974]) == (None, None)
    assert bench._target("cnn", [5.0], [0.990]) == (5.0, 1)


@pytest.mark.slow  # six short trainings (three rows at two thread counts)
def test_three_rows_split_the_speedup_into_recipe_and_engine(small, mnist_dir, home):
    """Issue 12, item 7: the course's loop, the same loop with dlviz's recipe, and the engine, each given
    the same thread policy (every count tried, the best kept), and the speed-up split in two."""
    r = bench.bench_preset(
        "mlp",
        small,
        str(mnist_dir),
        engines=("ordinary", "ordinary_recipe", "dlviz"),
        overrides={"epochs": 1, "limit": 3000},
        threads=[1, 2],
    )
    json.dumps(r)  # one JSON object per preset
    assert r["preset"] == "mlp" and r["device"] == "cpu" and r["train_images"] == 3000
    assert r["threads_tried"] == [1, 2]
    for name in ("ordinary", "ordinary_recipe", "dlviz"):
        e = r[name]
        # the course's loop goes on (up to twice the epochs) when it falls short; the recipe rows do not
        assert e["epochs"] == (2 if name == "ordinary" else 1) == len(e["accuracy_per_epoch"])
        assert 0.7 < e["final_test_accuracy"] <= 1.0, (name, e["final_test_accuracy"])
        assert e["epoch_s"] > 0 and e["samples_per_s"] == pytest.approx(3000 * e["epochs"] / e["train_s"])
        assert e["peak_rss_mb"] > 100 and e["wall_s"] >= e["train_s"] * 0.5
        # 3,000 images and one epoch cannot reach 97.5%: no time to target, and nothing invented
        assert e["time_to_target_s"] is None and e["reached_at_epoch"] is None
        # the same thread policy for every row: both counts ran, the one reported is one of them
        assert set(e["threads_tried"]) == {"1", "2"} and e["cpu_threads"] in (1, 2)
        assert e["extra"]["cpu_threads"] == e["cpu_threads"]  # what the run really trained with
    o, rr, d = r["ordinary"], r["ordinary_recipe"], r["dlviz"]
    assert (o["batch_size"], o["lr"], o["schedule"], o["precision"]) == (32, 1e-3, "constant", "fp32")
    # the plain loop with dlviz's recipe: the engine's batch, learning rate and schedule, still fp32
    assert (rr["batch_size"], rr["lr"], rr["schedule"], rr["precision"]) == (128, 3e-3, "onecycle", "fp32")
    assert (d["batch_size"], d["lr"], d["schedule"]) == (128, 3e-3, "onecycle")
    for key in ("speedup", "speedup_recipe", "speedup_engine"):
        assert key in r and r[key] is None  # nothing reached the target: no ratio is claimed
    assert r["speedup_engine_basis"] == "dlviz's engine did not reach the target"
    assert r["speedup_recipe_basis"] == "the loop with dlviz's recipe did not reach the target"
    text = bench.table(r)
    assert "ordinary loop, the course's recipe" in text and "ordinary loop, dlviz's recipe" in text
    assert "best of 1, 2" in text and "not reached" in text and "| engine" in text


@pytest.mark.slow  # three trainings, one in a real training process as the app starts it
def test_the_app_rows_report_their_contract(small, mnist_dir, home):
    r = bench.bench_preset(
        "mlp",
        small,
        str(mnist_dir),
        engines=("dlviz", "dlviz_ui", "dlviz_ui_thread"),
        overrides={"epochs": 1, "limit": 3000},
        threads=[1],
    )
    assert r["dlviz_ui"]["extra"]["executor"] == "process" and r["dlviz_ui_thread"]["extra"]["executor"] == "thread"
    for name in ("dlviz_ui", "dlviz_ui_thread"):
        assert r[name]["epochs"] == 1 and r[name]["time_to_target_s"] is None and "threads_tried" not in r[name]
    # the app's path measured test accuracy itself; it agrees with the bench's own measurement
    assert r["dlviz_ui"]["extra"]["test_accuracy_reported"] == pytest.approx(
        r["dlviz_ui"]["final_test_accuracy"], abs=1e-4
    )
    assert r["ui_throughput_ratio"] == pytest.approx(r["dlviz_ui"]["samples_per_s"] / r["dlviz"]["samples_per_s"])
    assert "speedup" not in r  # no ordinary row ran


def test_best_thread_count_is_the_fastest_median():
    def run(ttt, epoch_s):
        return {"time_to_target_s": ttt, "epoch_s": epoch_s, "samples_per_s": 1 / epoch_s, "final_test_accuracy": 0.98}

    best = bench.best_threads({1: [run(3.0, 0.5), run(3.2, 0.5)], 2: [run(2.0, 0.3), run(None, 0.9)]})
    # 2 threads: median of (2.0, missed) is the lower middle, 2.0 < 1 thread's 3.0
    assert best["cpu_threads"] == 2 and best["time_to_target_s"] == 2.0
    assert best["threads_tried"] == {
        "1": {"time_to_target_s": 3.0, "epoch_s": 0.5},
        "2": {"time_to_target_s": 2.0, "epoch_s": 0.3},
    }
    assert bench.thread_counts(torch.device("cpu"), [2, 1, 2]) == [1, 2]


def test_speedup_is_time_to_target_or_a_lower_bound():
    def eng(ttt, wall):
        return {"time_to_target_s": ttt, "wall_s": wall}

    assert bench.speedup(eng(10.0, 12.0), eng(2.0, 3.0)) == (5.0, "time to target")
    value, basis = bench.speedup(eng(None, 30.0), eng(3.0, 4.0))
    assert value == 10.0 and basis.startswith("at least")
    assert bench.speedup(eng(10.0, 12.0), eng(None, 3.0)) == (None, "dlviz did not reach the target")
    value, basis = bench.speedup(eng(None, 30.0), eng(3.0, 4.0), "the loop with the course's recipe")
    assert basis == "at least (the loop with the course's recipe did not reach the target)"


def test_the_cli_verb_parses():
    a = build_parser().parse_args(["bench", "train", "--preset", "cnn", "--device", "cpu", "--json"])
    assert a.what == "train" and a.preset == "cnn" and a.device == "cpu" and a.json
    a = build_parser().parse_args(["bench", "train"])
    assert a.preset is None and a.threads is None and a.engines is None  # both presets, the default rows
    a = build_parser().parse_args(["bench", "train", "--threads", "1,2", "--engines", "ordinary,dlviz"])
    assert a.threads == "1,2" and a.engines == "ordinary,dlviz"


def test_the_median_run_is_reported_with_every_repeat():
    def run(ttt, epoch_s):
        return {"time_to_target_s": ttt, "epoch_s": epoch_s, "samples_per_s": 1 / epoch_s, "final_test_accuracy": 0.98}

    m = bench.median_run([run(3.0, 0.5), run(None, 0.9), run(2.0, 0.4)])
    assert m["time_to_target_s"] == 3.0  # 2.0 < 3.0 < missed
    assert [r["time_to_target_s"] for r in m["repeats"]] == [3.0, None, 2.0]  # in the order they ran
    assert bench.median_run([run(2.0, 0.4), run(4.0, 0.6)])["time_to_target_s"] == 2.0  # the lower middle
    assert bench.median_run([run(None, 0.7), run(None, 0.5)])["epoch_s"] == 0.5


def test_repeats_are_interleaved_and_counted(small, mnist_dir, home, monkeypatch):
    order = []
    real_ordinary, real_headless = bench.ordinary, bench.headless
    monkeypatch.setattr(bench, "ordinary", lambda *a, **k: order.append("o") or real_ordinary(*a, **k))
    monkeypatch.setattr(bench, "headless", lambda *a, **k: order.append("d") or real_headless(*a, **k))
    r = bench.bench_preset(
        "mlp",
        small,
        str(mnist_dir),
        engines=("ordinary", "dlviz"),
        overrides={"epochs": 1, "limit": 3000},
        repeat=2,
        threads=[1],
    )
    assert order == ["o", "d", "o", "d"]
    assert r["repeat"] == 2 and len(r["dlviz"]["repeats"]) == 2 and len(r["ordinary"]["repeats"]) == 2
    assert "median of 2 interleaved runs" in bench.table(r)
    a = build_parser().parse_args(["bench", "train", "--repeat", "3"])
    assert a.repeat == 3


# --------------------------------------------------------------------------------------------
# bench explain: its JSON contract (not its timings)


@pytest.fixture
def untrained_cnn(monkeypatch, mnist_dir):
    """bench explain on the CNN preset's untrained weights and MNIST test image 0 (no training: fast)."""
    from dlviz.bench import explain as bench_explain
    from dlviz.models import PRESETS, build
    from dlviz.train import image_transform

    raw = load_dataset("mnist", str(mnist_dir))

    def fake(run_id, index, data_dir, device):
        model = build(PRESETS["cnn"].spec, seed=0).module.eval()
        return model, image_transform(raw.test_x[:1])[0], int(raw.test_y[0]), "untrained CNN", 0

    monkeypatch.setattr(bench_explain, "_model_and_input", fake)
    return bench_explain


def test_bench_explain_reports_first_warm_and_both_captum_rows(untrained_cnn):
    r = untrained_cnn.bench_explain(repeat=2, methods=["saliency", "integrated_gradients", "occlusion"])
    json.dumps(r)
    assert list(r["methods"]) == ["saliency", "integrated_gradients", "occlusion"]
    assert r["captum_import_s"] >= 0 and r["repeat"] == 2 and r["device"] == "cpu"
    for key, e in r["methods"].items():
        for k in ("first_s", "warm_median_s", "plain_default_s", "plain_batched_s"):
            assert e[k] > 0, (key, k)
        # the only speed-up claimed is against Captum batched
        assert e["speedup_vs_batched"] == pytest.approx(e["plain_batched_s"] / e["warm_median_s"])
        assert "speedup_vs_default" not in e
    # occlusion 4x4 stride 2 on 28x28: 13 x 13 windows, all in one batch in the fair row
    assert r["methods"]["occlusion"]["batched_params"] == {"perturbations_per_eval": 169}
    assert r["methods"]["integrated_gradients"]["batched_params"] == {"internal_batch_size": 50}
    assert r["methods"]["saliency"]["batched_params"] is None  # no switch: the same call twice
    text = untrained_cnn.table(r)
    assert "plain Captum batched" in text and "perturbations_per_eval=169" in text and "(no switch)" in text


def test_bench_explain_cli(untrained_cnn, capsys):
    from dlviz.__main__ import main

    a = build_parser().parse_args(["bench", "explain", "--run", "abc", "--json", "--repeat", "3"])
    assert a.what == "explain" and a.run == "abc" and a.json and a.repeat == 3 and a.index == 0
    monkey_methods = ["saliency"]
    orig = untrained_cnn.bench_explain
    untrained_cnn.bench_explain = lambda *args, **kw: orig(*args, **{**kw, "methods": monkey_methods})
    try:
        assert main(["bench", "explain", "--json", "--repeat", "1"]) == 0
    finally:
        untrained_cnn.bench_explain = orig
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out["methods"]) == {"saliency"} and out["methods"]["saliency"]["warm_median_s"] > 0
