"""The command line for text: train on rt-polarity, evaluate, and read a transformer's attention for a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_util import run_cli

ROOT = Path(__file__).resolve().parents[1]
RT_DIR = ROOT.parent / "shared" / "data" / "rt-polarity"


def cli(*args, home: Path, env=None):
    """``python -m dlviz ARGS`` in this process (tests/cli_util.py), offline, in the home ``home``."""
    return run_cli(*args, env={"DLVIZ_HOME": str(home), "DLVIZ_OFFLINE": "1", **(env or {})}, unset=("DLVIZ_DATA_DIR",))


def last_json(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny transformer run and a tiny bag-of-embeddings run on rt-polarity, in one private home."""
    if not (RT_DIR / "rt-polarity.pos").exists():
        pytest.skip("../shared/data/rt-polarity is not present")
    home = tmp_path_factory.mktemp("home")
    out = {"home": home}
    for model in ("transformer", "bag"):
        r = cli(
            "train",
            "--dataset",
            "rt-polarity",
            "--model",
            model,
            "--epochs",
            "1",
            "--limit",
            "800",
            "--data-dir",
            str(RT_DIR),
            "--json",
            home=home,
        )
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        out[model] = (last_json(r), r.stderr)
    return out


def test_train_json_contract_with_baseline(runs):
    out, stderr = runs["bag"]
    for key in (
        "run_id",
        "status",
        "test_accuracy",
        "test_loss",
        "epochs",
        "steps",
        "train_seconds",
        "device",
        "params",
        "dataset",
        "model",
        "message",
        "baseline_test_accuracy",
        "baseline_seconds",
    ):
        assert key in out, key
    assert out["status"] == "finished" and out["epochs"] == 1 and out["dataset"] == "rt-polarity"
    assert out["params"] == 10_000 * 64 + 64 * 2 + 2
    assert 0.45 < out["test_accuracy"] <= 1.0
    assert 0.55 < out["baseline_test_accuracy"] < 0.9  # 800 training sentences: about 65%
    # printed next to the deep model's accuracy
    assert "Test accuracy:" in stderr and "Classic baseline, TF-IDF + logistic regression" in stderr
    r = cli("runs", "--json", home=runs["home"])
    assert {x["run_id"] for x in json.loads(r.stdout)} == {runs["bag"][0]["run_id"], runs["transformer"][0]["run_id"]}


def test_evaluate_a_text_run(runs):
    out = runs["bag"][0]
    r = cli("evaluate", "--run", out["run_id"], "--data-dir", str(RT_DIR), "--json", home=runs["home"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["test_accuracy"] == pytest.approx(out["test_accuracy"], abs=1e-6)


def test_attention_json_shape_and_rows(runs):
    run_id = runs["transformer"][0]["run_id"]
    r = cli("attention", "--run", run_id, "--text", "A gripping, funny and moving film!", "--json", home=runs["home"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tokens"] == ["a", "gripping", ",", "funny", "and", "moving", "film", "!"]
    att = out["attention"]
    t = len(out["tokens"])
    assert out["layers"] == len(att) == 2 and out["heads"] == len(att[0]) == 4  # the preset: 2 layers x 4 heads
    assert all(len(head) == t and all(len(row) == t for row in head) for layer in att for head in layer)
    for layer in att:
        for head in layer:
            for row in head:
                assert sum(row) == pytest.approx(1.0, abs=1e-4) and min(row) >= 0
    assert out["prediction"] in ("negative", "positive") and 0.5 <= out["probability"] <= 1
    assert out["truncated"] is False and "notice" not in out
    assert len(out["ids"]) == t and out["unknown"] == [i == 1 for i in out["ids"]]


def test_attention_long_text_is_truncated_with_a_notice(runs):
    run_id = runs["transformer"][0]["run_id"]
    text = ("good " * 2000)[:10_000]
    r = cli("attention", "--run", run_id, "--text", text, "--json", home=runs["home"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["truncated"] is True and out["max_len"] == 56 and len(out["tokens"]) == 56
    assert out["total_tokens"] == 2000 and "56" in out["notice"]
    assert len(out["attention"][0][0]) == 56


def test_attention_plain_text_output(runs):
    run_id = runs["transformer"][0]["run_id"]
    r = cli("attention", "--run", run_id, "--text", "<script>alert(1)</script> 好", home=runs["home"])
    assert r.returncode == 0, r.stderr
    assert "Predicted" in r.stdout and "layer 2 head 4" in r.stdout


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b"])
def test_attention_empty_text_is_a_plain_message(runs, text):
    run_id = runs["transformer"][0]["run_id"]
    r = cli("attention", "--run", run_id, "--text", text, "--json", home=runs["home"])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "Type a sentence" in r.stderr and "error" in last_json(r)


def test_attention_needs_a_transformer(runs):
    r = cli("attention", "--run", runs["bag"][0]["run_id"], "--text", "fine", home=runs["home"])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no transformer layer" in r.stderr
    r = cli("attention", "--run", "20990101-000000-dead", "--text", "fine", home=runs["home"])
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_image_commands_refuse_a_text_run_plainly(runs):
    r = cli("inspect", "--run", runs["bag"][0]["run_id"], "--index", "0", home=runs["home"])
    assert r.returncode == 2 and "Traceback" not in r.stderr and "attention" in r.stderr


def test_unknown_dataset_and_mismatched_model(tmp_path):
    r = cli("train", "--dataset", "imdb", "--model", "lstm", "--json", home=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "rt-polarity" in r.stderr and "zh-reviews" in r.stderr
    out = last_json(r)  # the same contract as a failed image run
    assert out["status"] == "failed" and out["run_id"] is None and "zh-reviews" in out["message"]
    r = cli("train", "--dataset", "rt-polarity", "--model", "cnn", "--data-dir", str(RT_DIR), home=tmp_path)
    assert r.returncode == 2 and "Embedding" in r.stderr and "Traceback" not in r.stderr


def test_chinese_messages_for_text(tmp_path):
    r = cli("attention", "--run", "20990101-000000-dead", "--text", "好", home=tmp_path, env={"DLVIZ_LANG": "zh"})
    assert r.returncode == 2 and any("\u4e00" <= ch <= "\u9fff" for ch in r.stderr)
