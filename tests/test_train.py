"""The training engine, the job runner and the executor (no streamlit)."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time

import pytest
import torch
from torch import nn

from dlviz.errors import TrainError
from dlviz.i18n import translate
from dlviz.models import PRESETS, build
from dlviz.runs import RunStore, load_state_into
from dlviz.tasks import classification
from dlviz.train import (
    OPTIMIZERS,
    SCHEDULES,
    Control,
    DeviceData,
    LocalExecutor,
    OnProgress,
    TrainConfig,
    TrainJob,
    evaluate,
    fit,
    image_transform,
    lr_factor,
    resolve_device,
    run_job,
)


def _blobs(n=600, k=3, seed=0):
    """A learnable toy problem in image form: class = which third of the image is bright."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    x = torch.randint(0, 60, (n, 12, 12), generator=g, dtype=torch.uint8)
    for c in range(k):
        rows = slice(c * 4, c * 4 + 4)
        x[y == c, rows, :] = 200
    return x, y


def _data(n=600):
    x, y = _blobs(n)
    tx, ty = _blobs(200, seed=1)
    return DeviceData(x[: n - 100], y[: n - 100], x[n - 100 :], y[n - 100 :], tx, ty, image_transform)


def _model(seed=0):
    return build(
        [{"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "relu"}, {"type": "dense", "units": 3}],
        (1, 12, 12),
        3,
        seed=seed,
    ).module


def test_loss_falls_and_accuracy_rises():
    data, model = _data(), _model()
    before = evaluate(model, data.test_x, data.test_y, data.transform)
    res = fit(model, data, TrainConfig(epochs=3, batch_size=32, lr=3e-3))
    after = evaluate(model, data.test_x, data.test_y, data.transform)
    assert res.status == "finished" and res.epochs_done == 3
    assert after[0] < before[0] * 0.5
    assert after[1] > 0.95
    assert len(res.history["val"]) == 3
    assert res.steps == 3 * ((500 + 31) // 32)


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_every_optimizer_trains(opt):
    data, model = _data(), _model()
    res = fit(model, data, TrainConfig(optimizer=opt, lr=OPTIMIZERS[opt]["lr"], epochs=3, batch_size=32))
    assert res.status == "finished"
    assert evaluate(model, data.test_x, data.test_y, data.transform)[1] > 0.9, opt


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_schedules(schedule):
    total = 100
    f = [lr_factor(schedule, k, total) for k in range(total)]
    assert all(0 <= v <= 1 for v in f)
    if schedule == "constant":
        assert set(f) == {1.0}
    else:
        assert f[-1] < 0.01 and max(f) == pytest.approx(1.0, abs=0.02)
    if schedule == "onecycle":
        assert f[0] < f[3]  # warm-up


def test_same_seed_same_result():
    a, b = _model(0), _model(0)
    fit(a, _data(), TrainConfig(epochs=1, batch_size=50, seed=3))
    fit(b, _data(), TrainConfig(epochs=1, batch_size=50, seed=3))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_stop_mid_epoch():
    data, model = _data(4000), _model()
    control = Control()
    seen = []

    def on_progress(p):
        seen.append(p.step)
        control.stop()

    import dlviz.train.engine as eng

    old = eng.REPORT_SECONDS
    eng.REPORT_SECONDS = 0.0
    try:
        res = fit(model, data, TrainConfig(epochs=5, batch_size=8), [OnProgress(on_progress), control])
    finally:
        eng.REPORT_SECONDS = old
    steps_per_epoch = (3900 + 7) // 8
    assert res.status == "stopped"
    assert 0 < res.steps < steps_per_epoch  # it stopped inside the first epoch
    assert res.epochs_done == 0
    assert "Stopped at step" in res.message


def test_pause_blocks_and_resume_continues():
    data, model = _data(4000), _model()
    control = Control()
    control.pause()
    w = model[1].weight.detach().clone()
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", fit(model, data, TrainConfig(epochs=1), [control])))
    th.start()
    time.sleep(0.5)
    assert th.is_alive()  # paused before the first step
    assert torch.equal(w, model[1].weight)  # no step was taken while paused
    control.resume()
    th.join(30)
    assert out["r"].status == "finished"
    assert out["r"].train_seconds < 5  # paused time is not training time


@pytest.mark.parametrize("lr", [1e6, 0, -1, float("nan"), "abc"])
def test_absurd_learning_rate_is_refused(lr):
    with pytest.raises(TrainError) as e:
        TrainConfig(lr=lr).validated()
    assert "learning rate" in str(e.value).lower()


def test_nan_loss_stops_with_plain_message():
    data, model = _data(), _model()
    with torch.no_grad():
        model[1].weight.fill_(float("nan"))  # as a diverged run would leave them
    res = fit(model, data, TrainConfig(epochs=2, batch_size=32))
    assert res.status == "failed"
    assert "NaN at step 1" in res.message.format(**res.message_args)
    assert "learning rate" in res.message


def test_divergent_lr_becomes_nan_and_stops():
    data, model = _data(), _model()
    res = fit(
        model, data, TrainConfig(optimizer="sgd", lr=10.0, momentum=0.0, epochs=3, batch_size=32, schedule="constant")
    )
    if res.status == "failed":
        msg = res.message.format(**res.message_args)
        assert "step" in msg and "try 1" in msg
    else:  # if it survived, it must at least have finished honestly
        assert res.status == "finished"


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(TrainError):
            resolve_device("cuda")
    with pytest.raises(TrainError):
        resolve_device("tpu")


def test_evaluate_restores_mode():
    m = _model()
    m.train()
    data = _data()
    evaluate(m, data.test_x, data.test_y, data.transform)
    assert m.training


# --------------------------------------------------------------------------- runner + executor on real MNIST
def test_run_job_saves_a_loadable_run(home, mnist_dir):
    store = RunStore()
    res = run_job(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=3000), data_dir=str(mnist_dir)), store
    )
    assert res.status == "finished" and res.test_accuracy > 0.8
    rec = store.get(res.run_id)
    assert rec.status == "finished" and rec.test_accuracy == pytest.approx(res.test_accuracy)
    assert rec.params == 109386 and rec.settings["train_size"] == 3000 and rec.settings["val_size"] == 750
    assert rec.metrics["train"] and len(rec.metrics["val"]) == 1
    prev = rec.metrics["test_preview"]
    assert len(prev["indices"]) == len(prev["probs"]) >= 12
    assert sum(map(sum, prev["confusion"])) == 10000
    model = build(rec.spec, (1, 28, 28), 10).module
    load_state_into(model, store.load_weights(rec.id))
    from dlviz.data import load_dataset

    d = load_dataset("mnist", str(mnist_dir))
    acc = evaluate(model, d.test_x, d.test_y, image_transform)[1]
    assert acc == pytest.approx(res.test_accuracy, abs=1e-6)  # the saved weights are the tested ones
    # 3000 images at batch 128: 24 steps, so the early snapshots at steps 0 and 10 fit in
    assert store.list_snapshots(rec.id) == ["epoch-1", "step-0", "step-10"]
    grads = store.load_record(rec.id, "gradients")
    assert grads["layers"] == ["dense_1", "dense_2", "dense_3"] and grads["steps"] == list(range(1, 25))
    assert len(grads["norms"]) == 24 and all(v > 0 for row in grads["norms"] for v in row)


def test_run_job_bad_spec_and_bad_data_fail_plainly(home, mnist_dir, tmp_path):
    bad = {
        "layers": [
            {"type": "maxpool", "size": 8},
            {"type": "maxpool", "size": 8},
            {"type": "flatten"},
            {"type": "dense", "units": 10},
        ]
    }
    r = run_job(TrainJob("mnist", bad, TrainConfig(epochs=1), data_dir=str(mnist_dir)), RunStore())
    assert r.status == "failed" and "Layer 2" in r.message.format(**r.message_args)
    # a folder without MNIST goes on to the next source (issue 13, bug 3); one that does not exist is an error
    r = run_job(
        TrainJob("mnist", PRESETS["mlp"].spec, TrainConfig(epochs=1), data_dir=str(tmp_path / "nowhere")), RunStore()
    )
    assert r.status == "failed" and r.run_id is None and "nowhere" in r.message.format(**r.message_args)


def test_executor_two_jobs_independent_and_stop(home, mnist_dir):
    ex = LocalExecutor()
    a = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=2000), data_dir=str(mnist_dir))
    )
    b = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=50, batch_size=16), data_dir=str(mnist_dir))
    )
    deadline = time.time() + 60
    while ex.snapshot(b).progress is None and time.time() < deadline:
        time.sleep(0.1)
    ex.pause(b)
    assert ex.snapshot(b).status == "paused"
    g = ex.snapshot(b).grads  # the live gradient flow the Train page can draw
    # 150,000 steps in all: every 188th step is recorded, so the first report may have none yet
    assert g["layers"] == ["dense_1", "dense_2", "dense_3"] and len(g["norms"]) == len(g["steps"]) and g["every"] == 188
    sa = ex.wait(a, 120)
    assert sa.status == "finished" and sa.result.test_accuracy > 0.6  # a finished while b was paused
    ex.resume(b)
    ex.stop(b)
    sb = ex.wait(b, 60)
    assert sb.status == "stopped" and sb.run_id != sa.run_id
    assert RunStore().get(sb.run_id).status == "stopped"
    assert ex.active_run_ids() == set()


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_core_does_not_import_streamlit():
    code = (
        "import sys, dlviz.train, dlviz.models, dlviz.data, dlviz.runs, dlviz.plots, dlviz.inspect, "
        "dlviz.plots.gradients, dlviz.plots.errors, dlviz.inspect.errors, dlviz.inspect.gradients, dlviz.explain, "
        "dlviz.__main__; "
        "assert 'streamlit' not in sys.modules, 'streamlit imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cuda_out_of_memory_stops_with_advice(monkeypatch):
    data, model = _data(), _model()
    calls = {"n": 0}
    real = model.forward

    def forward(x):
        calls["n"] += 1
        if calls["n"] == 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(x)

    monkeypatch.setattr(model, "forward", forward)
    res = fit(model, data, TrainConfig(epochs=1, batch_size=32))
    msg = res.message.format(**res.message_args)
    assert res.status == "failed" and "out of memory" in msg and "batch size" in msg and "32" in msg


def test_thread_tuner_restores_the_thread_count():
    before = torch.get_num_threads()
    data, model = _data(2000), _model()
    res = fit(model, data, TrainConfig(epochs=1, batch_size=16))
    assert torch.get_num_threads() == before
    assert res.cpu_threads in ({1, before} if before > 1 else {before})


def test_pause_while_loading_shows_paused(home, mnist_dir):
    ex = LocalExecutor()
    job = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=1000), data_dir=str(mnist_dir))
    )
    ex.pause(job)  # at once: still queued or loading
    deadline = time.time() + 30
    while ex.snapshot(job).run_id is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    s = ex.snapshot(job)
    assert s.status == "paused" and s.progress is None  # no step taken, and the page says so
    ex.resume(job)
    assert ex.wait(job, 60).status == "finished"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the lent machine)")
def test_cuda_run_keeps_data_on_the_device(home, mnist_dir):
    from dlviz.data import load_dataset
    from dlviz.train import prepare_data

    data = prepare_data(load_dataset("mnist", str(mnist_dir)), TrainConfig(limit=5000), torch.device("cuda"))
    assert data.train_x.is_cuda and data.train_y.is_cuda and data.test_x.is_cuda
    model = build(PRESETS["cnn"].spec, (1, 28, 28), 10, seed=0).module.cuda()
    res = fit(model, data, TrainConfig(epochs=2, device="cuda"))
    assert res.status == "finished" and res.cpu_threads is None  # no CPU thread tuning on the GPU
    assert evaluate(model, data.test_x, data.test_y, data.transform)[1] > 0.95
    r = run_job(
        TrainJob(
            "mnist",
            PRESETS["mlp"].copy_spec(),
            TrainConfig(epochs=1, device="cuda", limit=5000),
            data_dir=str(mnist_dir),
        ),
        RunStore(),
    )
    assert r.status == "finished" and r.device.startswith("cuda")


# --- the fast path: precision, channels-last, fused optimizers (correctness, not timing) ---


def _cnn(seed=0):
    return build(PRESETS["cnn"].copy_spec(), (1, 28, 28), 10, seed=seed).module


def _digits_like(n=1500, seed=0, device="cpu"):
    """Random 28x28 images with 10 classes (class = which band is bright): enough for the CNN preset to step on."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
    for c in range(10):
        x[y == c, c * 2 : c * 2 + 4, :] = 220
    x, y = x.to(device), y.to(device)
    return DeviceData(x[200:], y[200:], x[:100], y[:100], x[100:200], y[100:200], image_transform)


def _not_contiguous(model) -> bool:
    return any(not p.is_contiguous() for p in model.parameters())


def test_resolve_precision(monkeypatch):
    import dlviz.train.engine as eng
    from dlviz.train.engine import cpu_has_native_bf16, resolve_precision

    cpu = torch.device("cpu")
    mlp = build(PRESETS["mlp"].copy_spec(), (1, 28, 28), 10).module
    assert resolve_precision("fp32", cpu, _cnn()) == "fp32"
    assert resolve_precision("auto", cpu, mlp) == "fp32"  # dense-only: bf16 saved nothing on the CPU
    assert resolve_precision("auto", cpu, _cnn()) == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("bf16", cpu, mlp) == "bf16"  # asked for: allowed, even if emulated
    for native, want in ((True, "bf16"), (False, "fp32")):  # both answers of the hardware check
        monkeypatch.setattr(eng, "cpu_has_native_bf16", lambda native=native: native)
        assert resolve_precision("auto", cpu, _cnn()) == want
        assert resolve_precision("auto", cpu, mlp) == "fp32"
    with pytest.raises(TrainError) as e:
        TrainConfig(precision="fp16").validated()
    assert "Unknown precision 'fp16'" in str(e.value)
    assert TrainConfig(precision="bf16").validated().precision == "bf16"


def test_cnn_trains_channels_last_and_comes_back_contiguous(tmp_path):
    from safetensors.torch import load_file, save_file

    data, model = _digits_like(), _cnn()
    during = []
    res = fit(
        model,
        data,
        TrainConfig(epochs=1, batch_size=64, precision="bf16"),
        callbacks=[OnProgress(lambda p: during.append(_not_contiguous(model)))],
    )
    assert res.status == "finished" and res.precision == "bf16"
    assert during and all(during)  # the conv weights were channels-last while training ...
    assert all(p.is_contiguous() for p in model.parameters())  # ... and are back in NCHW now
    sd = model.state_dict()
    save_file(sd, str(tmp_path / "w.safetensors"))  # refuses non-contiguous tensors
    back = load_file(str(tmp_path / "w.safetensors"))
    assert all(torch.equal(back[k], v) for k, v in sd.items())
    loss, acc = evaluate(model, data.test_x, data.test_y, data.transform)
    assert math.isfinite(loss) and acc > 0.5


@pytest.mark.parametrize("opt", ["adam", "adamw", "sgd"])
def test_make_optimizer_is_fused(opt):
    from dlviz.train.engine import make_optimizer

    o = make_optimizer(TrainConfig(optimizer=opt), _model().parameters())
    assert o.defaults.get("fused") is True, opt


@pytest.mark.slow  # three CNN trainings on 12,000 images: a 1-point accuracy gap needs the data
def test_engine_matches_the_ordinary_loop_in_accuracy(mnist_dir):
    """The CNN preset, 12,000 MNIST training images, 1 epoch, batch 128, Adam 3e-3, constant: an ordinary
    DataLoader loop in fp32 against fit() with precision auto (bf16 + channels-last on a CPU with native
    bf16) and with fp32. The fast path must not cost accuracy."""
    from dlviz.data import load_dataset
    from dlviz.train.engine import cpu_has_native_bf16

    d = load_dataset("mnist", str(mnist_dir))
    x, y = d.train_x[:12000], d.train_y[:12000]
    data = DeviceData(x, y, x[:0], y[:0], d.test_x, d.test_y, image_transform)
    accs = {}
    torch.manual_seed(0)
    plain = _cnn()
    opt = torch.optim.Adam(plain.parameters(), lr=3e-3)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x.unsqueeze(1).float() / 255, y),
        batch_size=128,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    plain.train()
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(plain(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    accs["loop"] = evaluate(plain, d.test_x, d.test_y, image_transform)[1]
    for precision in ("auto", "fp32"):
        torch.manual_seed(0)
        model = _cnn()
        res = fit(
            model,
            data,
            TrainConfig(epochs=1, batch_size=128, lr=3e-3, schedule="constant", precision=precision, device="cpu"),
        )
        assert res.status == "finished"
        assert res.precision == ("bf16" if precision == "auto" and cpu_has_native_bf16() else "fp32")
        accs[precision] = evaluate(model, d.test_x, d.test_y, image_transform)[1]
    assert min(accs.values()) > 0.95, accs
    assert max(accs.values()) - min(accs.values()) < 0.01, accs


def test_pause_resume_stop_on_the_bf16_channels_last_path(monkeypatch):
    """Paused from another thread mid-run, resumed, then stopped: "stopped", the model back in NCHW and
    still evaluating (in fp32 and in bf16)."""
    import dlviz.train.engine as eng

    monkeypatch.setattr(eng, "REPORT_SECONDS", 0.0)
    monkeypatch.setattr(eng, "MIN_REPORT_SAMPLES", 0)
    data, model = _digits_like(3000), _cnn()
    control = Control()
    steps, layouts = [], []
    reported = threading.Event()

    def on_progress(p):
        steps.append(p.step)
        layouts.append(_not_contiguous(model))
        reported.set()

    out = {}
    th = threading.Thread(
        target=lambda: out.setdefault(
            "r",
            fit(
                model,
                data,
                TrainConfig(epochs=50, batch_size=32, precision="bf16", device="cpu"),
                [OnProgress(on_progress), control],
            ),
        )
    )
    th.start()
    try:
        assert reported.wait(60), "no step reported"
        control.pause()
        time.sleep(0.5)  # the step under way finishes, then the loop waits
        w = [p.detach().clone() for p in model.parameters()]
        at_pause = len(steps)
        time.sleep(0.5)
        assert th.is_alive() and len(steps) == at_pause  # paused: no step taken ...
        assert all(torch.equal(a, p) for a, p in zip(w, model.parameters()))  # ... and no weight moved
        reported.clear()
        control.resume()
        assert reported.wait(60), "no step after resuming"
        control.stop()
    finally:
        control.stop()
        th.join(60)
    res = out["r"]
    assert res.status == "stopped" and res.precision == "bf16" and "Stopped at step" in res.message
    assert res.steps > steps[at_pause - 1]  # it went on after the resume
    assert layouts and all(layouts)  # trained channels-last throughout
    assert all(p.is_contiguous() for p in model.parameters())
    for precision in ("fp32", "bf16"):
        loss, acc = evaluate(model, data.test_x, data.test_y, data.transform, precision=precision)
        assert math.isfinite(loss) and 0 <= acc <= 1


def _fast_path_on(device: str, precision: str) -> None:
    """fit() on ``device``: the CNN preset trains a few steps channels-last with bf16 convolutions and comes
    back contiguous (the same code path on the CPU and on CUDA)."""
    data, model = _digits_like(200 + 64 * 6, device=device), _cnn().to(device)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    dtypes = []
    hook = conv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype) if m.training else None)
    during = []
    try:
        res = fit(
            model,
            data,
            TrainConfig(epochs=1, batch_size=64, precision=precision, device=device),
            callbacks=[OnProgress(lambda p: during.append(_not_contiguous(model)))],
        )
    finally:
        hook.remove()
    assert res.status == "finished" and res.steps == 6 and res.precision == "bf16"
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert during and all(during)
    assert all(p.is_contiguous() and p.dtype == torch.float32 for p in model.parameters())  # weights stay fp32
    assert math.isfinite(evaluate(model, data.test_x, data.test_y, data.transform)[0])


def test_fast_path_on_the_cpu():
    _fast_path_on("cpu", "bf16")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the lent machine)")
def test_fast_path_on_cuda():
    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    _fast_path_on("cuda", "auto")


# --------------------------------------------------------------------------------------------
# Issue 13, bug 9: a run that diverged or learned nothing says so, with the likely cause


def _hist(*losses):
    return {"train": [[i + 1, (i + 1) / len(losses), loss, 0.1] for i, loss in enumerate(losses)]}


def verdict(history, acc, labels, classes, cfg):
    opt = OPTIMIZERS[cfg.optimizer]
    return classification.verdict(history, acc, labels, classes, cfg.lr, opt["lr"], opt["title"])


def test_verdict_names_divergence_chance_level_and_the_cause():
    ones = torch.tensor([1] * 1135 + [0] * 980 + list(range(2, 10)) * 985)  # MNIST's test set: 11.35% ones
    cfg = TrainConfig(lr=5.0)
    template, args = verdict(_hist(8e5, 299.3), 0.1135, ones, 10, cfg)
    text = template.format(**args)
    assert "diverged" in text and "learned nothing" in text and "11.35%" in text
    assert "learning rate (5) is probably too high for Adam: try 0.001" in text
    assert translate(template, "zh", **args) != text
    # chance level without blowing up: a learning rate far too low
    template, args = verdict(_hist(2.31, 2.30), 0.1135, ones, 10, TrainConfig(lr=1e-7))
    assert "learned nothing" in template and "too low" in template and "diverged" not in template
    # blown up but still above chance
    template, _ = verdict(_hist(2.3, 9.0), 0.6, ones, 10, TrainConfig(lr=0.5))
    assert template.startswith("Training diverged:")
    # a healthy run: nothing to say
    assert verdict(_hist(2.3, 0.2), 0.97, ones, 10, TrainConfig()) is None


def test_a_learning_rate_of_5_is_not_called_finished(mnist_dir, tmp_path):
    res = run_job(
        TrainJob(
            "mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=600, lr=5.0), data_dir=str(mnist_dir)
        ),
        RunStore(tmp_path),
    )
    assert res.status == "finished" and res.test_accuracy < 0.25
    text = res.message.format(**res.message_args)
    assert "learning rate (5) is probably too high" in text, text
    run = RunStore(tmp_path).get(res.run_id)
    assert run.metrics["verdict"]["template"] == res.message and "too high" in run.message


# --------------------------------------------------------------------------------------------
# Issue 13, bug 8: Stop gives control back within a second, whatever the run is doing


def test_stop_during_validation_stops_there():
    """A Stop pressed while the validation set is measured (many seconds for a ResNet on a CPU) stops
    between its batches instead of measuring the rest first."""
    x, y = _blobs(5000)
    data = DeviceData(x[:200], y[:200], x[200:], y[200:], x[:10], y[:10], image_transform)  # 4,800 to validate
    control = Control()
    model = _model()
    calls = []

    def stop_while_validating(module, args):
        if not module.training:
            calls.append(len(args[0]))
            control.stop()

    model.register_forward_pre_hook(stop_while_validating)
    res = fit(model, data, TrainConfig(epochs=2, batch_size=32, cpu_threads="fixed"), [control])
    assert res.status == "stopped" and "Stopped at step" in res.message
    assert calls == [2048], calls  # one validation batch of three, then the stop
    assert res.history["val"] == [] and res.epochs_done == 0
    assert evaluate(model, data.val_x, data.val_y, data.transform, should_stop=lambda: True) is None


def test_stop_while_the_data_loads_saves_no_run(mnist_dir, tmp_path):
    control = Control()
    control.stop()
    res = run_job(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=300), data_dir=str(mnist_dir)),
        RunStore(tmp_path),
        control=control,
    )
    assert res.status == "stopped" and res.run_id is None and "no run was saved" in res.message
    assert RunStore(tmp_path).list() == []


def test_time_left_reads_the_recent_speed_not_the_average_since_the_start():
    """Ten slow first steps (10 s each), then 0.1 s a step: at step 100 of 1,000 the time left is about
    900 x 0.1 s = 90 s; the average since the start (1.09 s a step) said about 981 s."""
    from dlviz.train.engine import recent_eta

    points = (
        [(0, 0.0)] + [(s, 10.0 * s) for s in range(1, 11)] + [(s, 100 + 0.1 * (s - 10)) for s in range(20, 101, 10)]
    )
    assert abs(recent_eta(points, 1000) - 90.0) < 1e-6
    # a run that slows down is seen too: the last fifth of the steps counts, not the fast start
    slow = [(0, 0.0), (50, 5.0), (80, 8.0), (90, 18.0), (100, 28.0)]
    assert abs(recent_eta(slow, 200) - 100 * 1.0) < 1e-6  # steps 80..100 took 20 s: 1 s a step
    assert recent_eta(points, 100) == 0.0
    assert math.isnan(recent_eta([(0, 0.0)], 100))
    assert abs(recent_eta([(0, 0.0), (5, 2.0)], 10) - 2.0) < 1e-6  # one report: its speed


def test_fit_reports_the_time_left_from_recent_steps(monkeypatch):
    """fit's Progress.eta_s is recent_eta over its reports: finite while training, 0 at the end."""
    import dlviz.train.engine as eng

    monkeypatch.setattr(eng, "REPORT_SECONDS", 0.0)
    monkeypatch.setattr(eng, "MIN_REPORT_SAMPLES", 1)
    seen = []
    fit(_model(), _data(), TrainConfig(epochs=2, batch_size=32), [OnProgress(seen.append)])
    train = [p for p in seen if p.phase == "train" and p.step > 0]
    assert train and all(math.isfinite(p.eta_s) and p.eta_s >= 0 for p in train)
    assert seen[-1].eta_s == 0.0 and seen[-1].step == seen[-1].total_steps
