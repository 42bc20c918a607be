"""The exported training script (Build page, "Download PyTorch code"): plain Python + torch, dlviz's recipe."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
import torch

from dlviz.data.idx import read_idx
from dlviz.models import PRESETS, build
from dlviz.train.engine import DeviceData, TrainConfig, evaluate, fit, image_transform
from dlviz.train.runner import split_for
from dlviz.train.script import to_script

RECIPE = {"epochs": 2, "limit": 2000}


def _imports(src: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def test_script_imports_only_the_standard_library_and_torch():
    src = to_script(PRESETS["cnn"].spec, recipe=RECIPE)
    assert _imports(src) <= {"argparse", "gzip", "math", "sys", "collections", "pathlib", "torch"}
    assert "dlviz" not in _imports(src)


@pytest.mark.parametrize("key", ["mlp", "cnn", "resnet"])
def test_script_starts_from_dlvizs_weights_for_the_same_seed(key):
    """Same seed -> the same Glorot start as a dlviz run: the script builds the model the way dlviz does."""
    src = to_script(PRESETS[key].spec, recipe={"seed": 7})
    ns: dict = {"__name__": "exported"}
    exec(compile(src, "exported.py", "exec"), ns)  # the module level builds the model; main() is not run
    # parameters (dlviz's shape check runs a batch through BatchNorm, which moves its running mean)
    mine = dict(build(PRESETS[key].spec, (1, 28, 28), 10, seed=7).module.named_parameters())
    theirs = dict(ns["model"].named_parameters())
    assert list(mine) == list(theirs)
    for k in mine:
        assert torch.equal(mine[k], theirs[k]), k
    assert ns["RECIPE"]["seed"] == 7 and ns["RECIPE"]["optimizer"] == TrainConfig().optimizer


def test_script_carries_the_train_pages_recipe():
    rec = {
        "optimizer": "sgd",
        "lr": 0.05,
        "batch_size": 64,
        "epochs": 3,
        "schedule": "cosine",
        "weight_decay": 1e-4,
        "val_fraction": 0.1,
        "seed": 3,
        "limit": None,
    }
    ns: dict = {"__name__": "exported"}
    exec(to_script(PRESETS["mlp"].spec, recipe=rec), ns)
    assert {k: ns["RECIPE"][k] for k in rec} == rec


@pytest.mark.slow
def test_exported_script_runs_as_is_and_trains_like_dlviz(tmp_path, mnist_dir):
    """The file runs by itself on MNIST's IDX files (2,000 images, 2 epochs): the loss falls, the test
    accuracy is far above chance and matches what dlviz's own training reaches with the same recipe."""
    script = tmp_path / "mlp.py"
    script.write_text(to_script(PRESETS["mlp"].spec, recipe=RECIPE))
    out = subprocess.run(
        [sys.executable, str(script), str(mnist_dir)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    losses = [float(x) for x in re.findall(r"^epoch \d+/2: loss ([\d.]+)", out.stdout, re.M)]
    assert len(losses) == 2 and losses[1] < losses[0], out.stdout
    acc = float(re.search(r"^test accuracy ([\d.]+)%", out.stdout, re.M).group(1)) / 100
    assert acc > 0.8, out.stdout  # chance is 0.1

    # dlviz, same recipe and data
    cfg = TrainConfig(**RECIPE, cpu_threads="fixed", precision="fp32", record_gradients=False)
    x = torch.from_numpy(read_idx(mnist_dir / "train-images-idx3-ubyte.gz"))
    y = torch.from_numpy(read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")).long()
    tx = torch.from_numpy(read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz"))
    ty = torch.from_numpy(read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")).long()
    tr, va = split_for(len(y), cfg)
    data = DeviceData(x[tr], y[tr], x[va], y[va], tx, ty, image_transform)
    model = build(PRESETS["mlp"].spec, (1, 28, 28), 10, seed=cfg.seed).module
    assert fit(model, data, cfg).status == "finished"
    _, dlviz_acc = evaluate(model, tx, ty, image_transform)
    assert abs(acc - dlviz_acc) < 0.015, (acc, dlviz_acc)


def test_script_says_what_is_missing_in_one_sentence(tmp_path):
    script = tmp_path / "m.py"
    script.write_text(to_script(PRESETS["mlp"].spec))
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "nothing")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "No train-images-idx3-ubyte[.gz] in" in out.stderr and "Traceback" not in out.stderr


def test_build_page_exports_the_training_script_with_the_train_pages_recipe(app):
    at = app()
    at.run()
    at.session_state["train_settings"] = {
        "optimizer": "sgd",
        "lr": 0.02,
        "batch_size": 32,
        "epochs": 4,
        "weight_decay": 0.0,
        "seed": 5,
        "val_fraction": 0.2,
        "schedule": "cosine",
        "limit": None,
        "device": "auto",
        "precision": "auto",
        "for_model": f"mlp@{at.session_state['dataset']}",
    }
    at.switch_page("pages/build.py")
    at.run()
    assert not at.exception
    code = at.code[0].value
    ns: dict = {"__name__": "exported"}
    exec(code, ns)
    assert {k: ns["RECIPE"][k] for k in ("optimizer", "lr", "batch_size", "epochs", "seed", "schedule")} == {
        "optimizer": "sgd",
        "lr": 0.02,
        "batch_size": 32,
        "epochs": 4,
        "seed": 5,
        "schedule": "cosine",
    }
    assert callable(ns["main"]) and callable(ns["train"])


def test_cli_exports_a_saved_runs_recipe(tmp_path, home, monkeypatch, capsys):
    """python -m dlviz export --run ID writes the run's model and recipe; a preset by name works too."""
    from dlviz.__main__ import main
    from dlviz.runs import RunStore

    spec = PRESETS["mlp"].copy_spec()
    rec = RunStore().create(
        name="r",
        dataset="mnist",
        spec=spec,
        device="cpu",
        params=1,
        settings={**TrainConfig(optimizer="adamw", lr=0.002, epochs=7, seed=4).__dict__},
    )
    out = tmp_path / "r.py"
    assert main(["export", "--run", rec.id, "-o", str(out)]) == 0
    ns: dict = {"__name__": "exported"}
    exec(out.read_text(), ns)
    assert (ns["RECIPE"]["optimizer"], ns["RECIPE"]["lr"], ns["RECIPE"]["epochs"], ns["RECIPE"]["seed"]) == (
        "adamw",
        0.002,
        7,
        4,
    )
    assert main(["export", "--model", "cnn", "--epochs", "1"]) == 0
    assert "'epochs': 1," in capsys.readouterr().out
    assert main(["export", "--run", "no-such-run"]) == 2
