"""`python -m dlviz explain`: the JSON contract, IG completeness in the output, a PNG, plain errors."""

from __future__ import annotations

import json

import pytest

from tests import test_cli

_ENV: dict = {}


def cli(*args):
    return test_cli.cli(*args, env=_ENV)


@pytest.fixture(scope="module")
def cnn_run(cnn_cli_run):
    """One CNN trained for 1 epoch on 2,000 images, in a private home (conftest.py: shared with test_inspect)."""
    _ENV.update(DLVIZ_HOME=str(cnn_cli_run["home"]), DLVIZ_OFFLINE="1")
    return cnn_cli_run["run_id"]


def test_explain_json_contract_with_integrated_gradients(cnn_run, mnist_dir, tmp_path):
    png = tmp_path / "ig.png"
    r = cli(
        "explain",
        "--run",
        cnn_run,
        "--index",
        "0",
        "--method",
        "integrated_gradients",
        "--data-dir",
        str(mnist_dir),
        "--out",
        str(png),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    for key in (
        "prediction",
        "target",
        "method",
        "seconds",
        "attribution_sum",
        "output_difference",
        "completeness_delta",
    ):
        assert key in out, key
    assert out["target"] == out["prediction"] and out["method"] == "integrated_gradients" and out["label"] == 7
    # completeness (Sundararajan et al. 2017): the attributions add up to f(x) - f(black)
    assert abs(out["attribution_sum"] - out["output_difference"]) <= 0.01 * abs(out["output_difference"])
    assert out["map_sum"] == pytest.approx(out["attribution_sum"], rel=1e-4)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explain_checks_json_and_ig_does_not_pass_on_its_magnitudes(cnn_run, mnist_dir):
    """Issue 12: --checks adds completeness, randomisation (signed, absolute, reference, passed, rule) and
    deletion / insertion; IG on a CNN trained one epoch is not reported as passing while |IG| stays above the rule."""
    r = cli(
        "explain",
        "--run",
        cnn_run,
        "--index",
        "0",
        "--method",
        "integrated_gradients",
        "--checks",
        "--data-dir",
        str(mnist_dir),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["signed"] is True
    c = out["checks"]
    assert c["completeness"]["passed"] is True
    rnd = c["randomisation"]
    for key in ("signed", "absolute", "reference", "passed", "rule"):
        assert key in rnd, key
    assert "docs/explain-checks.md" in rnd["rule"]
    m = max(abs(rnd["signed"]), abs(rnd["absolute"]))
    assert rnd["passed"] is (m < rnd["bar"]) and rnd["bar"] <= 0.5
    assert rnd["absolute"] > 0.5 and rnd["passed"] is False  # |IG| is the digit's ink whatever the weights
    for key in ("deletion", "insertion"):
        assert set(c[key]) == {"area", "random", "passed"}
    assert c["deletion"]["passed"] is (c["deletion"]["area"] < c["deletion"]["random"])
    # captum's infidelity and max-sensitivity, each beside a random explanation (references, not pass/fail)
    for key in ("infidelity", "sensitivity"):
        assert set(c[key]) == {"value", "random", "lower_is_better"} and c[key]["value"] >= 0, key
    assert c["infidelity"]["value"] < c["infidelity"]["random"]
    assert "data_randomisation" not in c  # only behind its flag (it trains a model)
    sal = json.loads(
        cli(
            "explain", "--run", cnn_run, "--index", "0", "--method", "saliency", "--data-dir", str(mnist_dir), "--json"
        ).stdout.splitlines()[-1]
    )
    assert sal["signed"] is False and "checks" not in sal


def test_explain_target_contrast_and_settings(cnn_run, mnist_dir):
    r = cli(
        "explain",
        "--run",
        cnn_run,
        "--index",
        "1",
        "--method",
        "integrated_gradients",
        "--target",
        "3",
        "--contrast",
        "8",
        "--setting",
        "steps=20",
        "--setting",
        "baseline_kind=blurred",
        "--data-dir",
        str(mnist_dir),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["target"] == 3 and out["contrast"] == 8
    assert out["settings"] == {"steps": 20, "baseline_kind": "blurred"}


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--method", "magic"], "Unknown explanation method"),
        (["--target", "10"], "does not exist"),
        (["--setting", "steps=1", "--method", "integrated_gradients"], "between 2 and 500"),
        (["--setting", "steps"], "NAME=VALUE"),
        (["--index", "99999"], "does not exist"),
    ],
)
def test_explain_bad_input_is_one_plain_line(cnn_run, mnist_dir, args, needle):
    r = cli("explain", "--run", cnn_run, "--index", "0", *args, "--data-dir", str(mnist_dir))
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_explain_data_randomisation_behind_its_flag(cnn_run, mnist_dir):
    """Issue 12: the data-randomisation test (retrain on shuffled labels) in the CLI, behind a flag, with the
    same keys and the same rule as model randomisation."""
    r = cli(
        "explain",
        "--run",
        cnn_run,
        "--index",
        "0",
        "--method",
        "saliency",
        "--data-randomisation",
        "300",
        "--data-dir",
        str(mnist_dir),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout.splitlines()[-1])["checks"]
    d = c["data_randomisation"]
    for key in ("signed", "absolute", "reference", "passed", "rule", "bar"):
        assert key in d, key
    assert d["layers"] == ["shuffled labels"]
    assert d["passed"] is (max(abs(d["signed"]), abs(d["absolute"])) < d["bar"])
    assert c["randomisation"] is not None and c["infidelity"] is not None  # the flag brings the other checks
    bad = cli("explain", "--run", cnn_run, "--index", "0", "--data-randomisation", "3", "--data-dir", str(mnist_dir))
    assert bad.returncode != 0 and "at least 10 training images" in bad.stderr and "Traceback" not in bad.stderr
