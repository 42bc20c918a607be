"""Training throughput: the ordinary PyTorch loop vs dlviz's engine, headless and watched like the app.

    python bench/train_speed.py [--preset mlp] [--epochs 1] [--device cpu] [--data-dir ../shared/data/mnist]

"ordinary": CPU tensors in a TensorDataset + DataLoader (shuffle), each batch copied to the device,
            the course's batch size (32), Adam 1e-3, constant rate.
"dlviz":    fit() with the default recipe (data on the device, index shuffling, batch 128, one-cycle).
"dlviz + gradient recording": the same, with the GradRecorder the app uses (per-layer norms
            every step, histograms at 18 steps).
"dlviz+ui": the same job (gradients recorded) through the LocalExecutor while another thread does what the Train page
            does twice a second: takes a snapshot and builds the live Plotly figure.
Prints one table; the same seed and split for all three.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlviz.data import load_dataset  # noqa: E402
from dlviz.inspect.gradients import GradRecorder  # noqa: E402
from dlviz.models import PRESETS, build  # noqa: E402
from dlviz.plots import training_curves  # noqa: E402
from dlviz.runs import RunStore  # noqa: E402
from dlviz.train import (LocalExecutor, TrainConfig, TrainJob, evaluate, fit, image_transform,  # noqa: E402
                         prepare_data, resolve_device)


def ordinary(preset, data, epochs, device):
    model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=0).module.to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = data.train_x.cpu().unsqueeze(1).float() / 255
    loader = DataLoader(TensorDataset(x, data.train_y.cpu()), batch_size=32, shuffle=True)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    acc = evaluate(model, data.test_x, data.test_y, data.transform)[1]
    return secs, acc


def engine(preset, data, epochs, device, record=False):
    model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=0).module.to(device)
    steps = -(-len(data.train_y) // 128)
    rec = GradRecorder(model, steps * epochs, steps) if record else None
    res = fit(model, data, TrainConfig(epochs=epochs, device=str(device)), recorder=rec)
    return res.train_seconds, evaluate(model, data.test_x, data.test_y, data.transform)[1]


def best_of(k, fn, *args, **kw):
    """The fastest of k runs (the same seed, so the same accuracy): less noise from a busy machine."""
    return min((fn(*args, **kw) for _ in range(k)), key=lambda r: r[0])


def watched(preset, epochs, device, data_dir, home):
    os.environ["DLVIZ_HOME"] = home
    ex = LocalExecutor(lambda: RunStore(home))
    job = ex.submit(TrainJob("mnist", PRESETS[preset].copy_spec(), TrainConfig(epochs=epochs, device=str(device)),
                             data_dir=data_dir))
    redraws = 0
    while True:
        snap = ex.snapshot(job)
        if snap.done:
            break
        if snap.train:
            training_curves(snap.train, snap.val).to_json()  # what the page sends to the browser
            redraws += 1
        time.sleep(0.5)
    r = snap.result
    return r.train_seconds, r.test_accuracy, redraws


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    a = ap.parse_args()
    device = resolve_device(a.device)
    raw = load_dataset("mnist", a.data_dir)
    data = prepare_data(raw, TrainConfig(), device)
    n = len(data.train_y) * a.epochs
    import tempfile
    rows = [("ordinary DataLoader loop, batch 32", *ordinary(a.preset, data, a.epochs, device)),
            ("dlviz fit(), batch 128 one-cycle", *best_of(2, engine, a.preset, data, a.epochs, device)),
            ("dlviz fit() + gradient recording", *best_of(2, engine, a.preset, data, a.epochs, device, record=True))]
    with tempfile.TemporaryDirectory() as home:
        s, acc, redraws = watched(a.preset, a.epochs, device, a.data_dir, home)
    rows.append((f"dlviz + live UI ({redraws} redraws)", s, acc))
    base = rows[0][1]
    print(f"\n{a.preset} on MNIST, {a.epochs} epoch(s), {len(data.train_y):,} training images, device {device}, "
          f"{torch.get_num_threads()} threads\n")
    print(f"| {'engine':<38} | {'train s':>8} | {'samples/s':>10} | {'test acc':>8} | {'speed-up':>8} |")
    print(f"|{'-' * 40}|{'-' * 10}|{'-' * 12}|{'-' * 10}|{'-' * 10}|")
    for name, secs, acc in rows:
        print(f"| {name:<38} | {secs:8.2f} | {n / secs:10,.0f} | {acc:8.2%} | {base / secs:7.1f}x |")


if __name__ == "__main__":
    main()
