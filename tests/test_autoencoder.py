"""Autoencoders (issue 16, item 1): the reconstruction task's known answers, the presets' shapes, a linear
autoencoder learning PCA's subspace, a short run through the job runner and the CLI's JSON."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from dlviz.data import load_dataset
from dlviz.errors import SpecError, TrainError
from dlviz.models import PRESETS, build
from dlviz.runs import RunStore
from dlviz.tasks import RECONSTRUCTION, get_task, task_of_spec
from dlviz.train import DeviceData, TrainConfig, TrainJob, fit, image_transform, run_job


def test_reconstruction_loss_and_error_known_answers():
    x = torch.tensor([[0.0, 1.0, 0.5, 0.25]])
    out = torch.tensor([[0.5, 1.0, 0.5, 0.25]])
    assert RECONSTRUCTION.score(out, x).item() == pytest.approx(0.25 / 4)  # one pixel off by 0.5
    mse = RECONSTRUCTION.configured(TrainConfig(recon_loss="mse"))
    assert mse.loss(out, x).item() == pytest.approx(0.25 / 4)
    bce = F.binary_cross_entropy(out.clamp(1e-6, 1 - 1e-6), x).item()
    assert RECONSTRUCTION.loss(out, x).item() == pytest.approx(bce, rel=1e-5)  # BCE by default
    assert RECONSTRUCTION.loss(out.repeat(3, 1), x.repeat(3, 1), reduction="sum").item() == pytest.approx(3 * bce)
    assert RECONSTRUCTION.metric == "reconstruction_error" and not RECONSTRUCTION.higher_is_better


def test_reconstruction_pair_adds_noise_only_when_denoising():
    x = torch.full((4, 1, 28, 28), 0.5)
    inp, target = RECONSTRUCTION.pair(x, torch.zeros(4))
    assert inp is x and target is x
    noisy = RECONSTRUCTION.configured(TrainConfig(denoise=0.3))
    inp, target = noisy.pair(x, torch.zeros(4), torch.Generator().manual_seed(0))
    assert target is x and inp.min() >= 0 and inp.max() <= 1
    assert (inp - x).std().item() == pytest.approx(0.3, abs=0.05)
    with pytest.raises(TrainError):
        RECONSTRUCTION.configured(TrainConfig(denoise=2.0))
    with pytest.raises(TrainError):
        RECONSTRUCTION.configured(TrainConfig(recon_loss="l1"))


def test_test_report_names_the_mean_image_error_and_the_verdict():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(20, 1, 4, 4, generator=g)
    r = RECONSTRUCTION.test_report(y.clone(), y)
    assert r.score == pytest.approx(0.0, abs=1e-9) and len(r.preview["reconstructions"]) == 10
    assert r.preview["shape"] == [1, 4, 4] and r.baseline > 0
    assert RECONSTRUCTION.verdict({}, r, True, 3e-3, 1e-3, "Adam") is None
    mean = y.mean(0, keepdim=True).expand_as(y)
    stuck = RECONSTRUCTION.test_report(mean.clone(), y)
    assert stuck.score == pytest.approx(stuck.baseline)
    template, args = RECONSTRUCTION.verdict({}, stuck, True, 3e-3, 1e-3, "Adam")
    assert "learned almost nothing" in template and args["base"] == pytest.approx(stuck.baseline)


@pytest.mark.parametrize("key", ["autoencoder", "conv-autoencoder"])
def test_presets_give_back_an_image_of_the_input_shape(key):
    spec = PRESETS[key].copy_spec()
    assert task_of_spec(spec) is get_task("reconstruction")
    built = build(spec, (1, 28, 28), None)
    assert built.table[-1].output_shape == (1, 28, 28)
    RECONSTRUCTION.check_output(built.table[-1].output_shape, (1, 28, 28))
    if key == "autoencoder":  # the middle is 2 numbers: the latent space can be drawn as it is
        assert min(math.prod(r.output_shape) for r in built.table) == 2
    with pytest.raises(SpecError) as e:
        RECONSTRUCTION.check_output((10,), (1, 28, 28))
    assert "784" in e.value.message("en") and e.value.message("zh") != e.value.message("en")


def test_a_linear_autoencoder_learns_the_pca_subspace(home):
    """Known answer (Baldi & Hornik 1989): a linear autoencoder trained on the squared error spans the same subspace
    as the top principal components. Fashion-MNIST's first two components hold 29.6% and 17.6% of the variance and
    the third 5.7%: a wide gap, so 400 steps find it."""
    try:
        d = load_dataset("fashion-mnist")
    except Exception:  # the Debian package is not installed
        pytest.skip("Fashion-MNIST is not on this machine")
    torch.manual_seed(0)
    x, y = d.train_x[:1000], d.train_y[:1000]
    k = 2
    spec = {
        "task": "reconstruction",
        "layers": [
            {"type": "flatten"},
            {"type": "dense", "units": k},
            {"type": "dense", "units": 784},
            {"type": "reshape", "channels": 1, "height": 28, "width": 28},
        ],
    }
    model = build(spec, (1, 28, 28), None, seed=0).module
    data = DeviceData(x, y, x[:0], y[:0], x[:0], y[:0], image_transform)
    cfg = TrainConfig(epochs=40, batch_size=100, lr=1e-2, recon_loss="mse", cpu_threads="fixed", record_gradients=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: two threads only wait on each other (10x slower on a busy machine)
    try:
        res = fit(model, data, cfg, task=RECONSTRUCTION)
    finally:
        torch.set_num_threads(threads)
    assert res.status == "finished"
    flat = image_transform(x).flatten(1).double()
    centred = flat - flat.mean(0)
    _, s, vt = torch.linalg.svd(centred, full_matrices=False)
    pcs = vt[:k].T  # (784, k)
    decoder = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1].weight.detach().double()
    q, _ = torch.linalg.qr(decoder)  # an orthonormal basis of what the decoder spans
    angles = torch.rad2deg(torch.arccos(torch.linalg.svdvals(pcs.T @ q).clamp(max=1.0)))
    assert angles.max().item() < 5.0, angles
    # and its error is PCA's: the variance the k components leave out, per pixel
    pca_error = (s[k:] ** 2).sum().item() / flat.numel()
    assert res.history["train"][-1][3] == pytest.approx(pca_error, rel=0.05)


def test_a_denoising_run_through_the_job_runner(home, mnist_dir):
    spec = PRESETS["autoencoder"].copy_spec()
    cfg = TrainConfig(epochs=1, limit=600, batch_size=64, denoise=0.3, record_gradients=False)
    store = RunStore()
    res = run_job(TrainJob("mnist", spec, cfg, data_dir=str(mnist_dir)), store)
    assert res.status == "finished" and res.task == "reconstruction" and res.metric == "reconstruction_error"
    assert 0 < res.test_accuracy < 0.2
    rec = store.get(res.run_id)
    assert rec.spec["task"] == "reconstruction" and rec.settings["denoise"] == 0.3
    preview = rec.metrics["test_preview"]
    assert preview["noise"] == 0.3 and len(preview["reconstructions"][0]) == 784
    assert "epoch-1" in store.list_snapshots(res.run_id)


def test_cli_reports_the_reconstruction_error_and_no_accuracy(home, mnist_dir):
    env = {**os.environ, "DLVIZ_HOME": str(home), "DLVIZ_DATA_DIR": str(mnist_dir)}
    cmd = [sys.executable, "-m", "dlviz", "train", "--dataset", "mnist", "--model", "autoencoder"]
    cmd += ["--epochs", "1", "--limit", "500", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert "test_accuracy" not in report and 0 < report["test_reconstruction_error"] < 0.2
    assert "Test reconstruction error" in out.stderr
