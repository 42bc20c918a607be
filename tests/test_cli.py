"""The command line: python -m dlviz train | runs. Plain messages, a JSON last line, no tracebacks."""

from __future__ import annotations

import json

import pytest
from cli_util import run_cli, run_process

# in this process (fast; tests/cli_util.py); the tests whose point is a fresh process run both ways
cli = run_cli
BOTH_WAYS = pytest.mark.parametrize("cli", [run_cli, pytest.param(run_process, marks=pytest.mark.slow)])


@BOTH_WAYS
def test_train_json_contract_and_runs_list(home, mnist_dir, cli):
    r = cli(
        "train",
        "--dataset",
        "mnist",
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--limit",
        "4000",
        "--data-dir",
        str(mnist_dir),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("test_accuracy", "epochs", "train_seconds", "device", "params", "run_id"):
        assert key in out
    assert out["epochs"] == 1 and out["params"] == 109386 and out["device"] == "cpu"
    assert 0.8 < out["test_accuracy"] <= 1.0
    assert "Traceback" not in r.stderr
    r2 = cli("runs", "--json")
    runs = json.loads(r2.stdout)
    assert [x["run_id"] for x in runs] == [out["run_id"]] and runs[0]["status"] == "finished"
    r3 = cli("runs")
    assert out["run_id"] in r3.stdout


def test_train_from_a_json_spec(home, mnist_dir, tmp_path):
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps({"name": "tiny", "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}))
    r = cli("train", "--model", str(spec), "--epochs", "1", "--limit", "2000", "--data-dir", str(mnist_dir), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["params"] == 7850


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--lr", "1e6"], "learning rate"),
        (["--model", "nosuchmodel"], "neither a preset"),
        (["--batch-size", "0"], "Batch size"),
        (["--device", "tpu"], "Unknown device"),
    ],
)
def test_bad_settings_give_one_plain_line(home, mnist_dir, args, needle):
    r = cli("train", "--epochs", "1", "--data-dir", str(mnist_dir), *args)
    assert r.returncode == 2
    assert needle.lower() in r.stderr.lower()
    assert "Traceback" not in r.stderr


def test_malformed_and_impossible_json_specs(home, mnist_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = cli("train", "--model", str(bad), "--data-dir", str(mnist_dir))
    assert r.returncode == 2 and "not valid JSON" in r.stderr and "Traceback" not in r.stderr
    imp = tmp_path / "impossible.json"
    imp.write_text(
        json.dumps(
            {
                "layers": [
                    {"type": "maxpool", "size": 8},
                    {"type": "maxpool", "size": 8},
                    {"type": "flatten"},
                    {"type": "dense", "units": 10},
                ]
            }
        )
    )
    r = cli("train", "--model", str(imp), "--data-dir", str(mnist_dir), "--json")
    assert r.returncode == 2 and "Layer 2 (MaxPool)" in r.stderr and "Traceback" not in r.stderr


def test_corrupt_idx_names_the_file(home, mnist_dir, tmp_path):
    d = tmp_path / "broken"
    d.mkdir()
    for f in mnist_dir.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()[:100])
    r = cli("train", "--epochs", "1", "--data-dir", str(d))
    assert r.returncode == 2 and "t10k-labels-idx1-ubyte" in r.stderr and "Traceback" not in r.stderr


@BOTH_WAYS
def test_chinese_messages(home, mnist_dir, cli):
    r = cli("train", "--lr", "1e6", "--data-dir", str(mnist_dir), env={"DLVIZ_LANG": "zh"})
    assert r.returncode == 2 and any("\u4e00" <= ch <= "\u9fff" for ch in r.stderr), r.stderr


def test_evaluate_a_saved_run_and_refuse_bad_weights(home, mnist_dir):
    r = cli("train", "--epochs", "1", "--limit", "3000", "--data-dir", str(mnist_dir), "--json")
    out = json.loads(r.stdout.splitlines()[-1])
    ev = cli("evaluate", "--run", out["run_id"], "--data-dir", str(mnist_dir), "--json")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["test_accuracy"] == pytest.approx(out["test_accuracy"], abs=1e-6)
    weights = home / "runs" / out["run_id"] / "weights.safetensors"
    import torch

    torch.save({"w": torch.zeros(2)}, weights)  # a pickle wearing the safetensors name
    ev = cli("evaluate", "--run", out["run_id"], "--data-dir", str(mnist_dir))
    assert ev.returncode == 2 and "safetensors" in ev.stderr and "Traceback" not in ev.stderr
    weights.unlink()
    ev = cli("evaluate", "--run", out["run_id"], "--data-dir", str(mnist_dir))
    assert ev.returncode == 2 and "no saved weights" in ev.stderr and "Traceback" not in ev.stderr
    ev = cli("evaluate", "--run", "20990101-000000-dead", "--data-dir", str(mnist_dir))
    assert ev.returncode == 2 and "Traceback" not in ev.stderr


def test_train_precision_flag_reaches_the_run(home, mnist_dir, cnn_cli_run):
    from dlviz.runs import RunStore
    from dlviz.train.engine import cpu_has_native_bf16

    base = (
        "train",
        "--model",
        "cnn",
        "--epochs",
        "1",
        "--limit",
        "1000",
        "--device",
        "cpu",
        "--data-dir",
        str(mnist_dir),
        "--json",
    )
    r = cli(*base, "--precision", "fp32")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    run = RunStore().get(out["run_id"])
    assert out["precision"] == "fp32" == run.metrics["precision"] and run.settings["precision"] == "fp32"
    # the default: auto, bf16 for a CNN on a CPU with native bf16 (conftest.py's run: the same command
    # without --precision, on 2,000 images)
    out = cnn_cli_run["out"]
    assert out["precision"] == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert RunStore(cnn_cli_run["home"]).get(out["run_id"]).settings["precision"] == "auto"
    assert 0.5 < out["test_accuracy"] <= 1.0
    r = cli(*base, "--precision", "fp16")
    assert r.returncode == 2 and "invalid choice" in r.stderr and "Traceback" not in r.stderr
