"""What each of the engine's techniques buys: one epoch of the MLP and the CNN, techniques added one at a time.

    python bench/train_ablation.py [--preset mlp|cnn] [--device cpu|cuda] [--data-dir DIR] [--repeat 2]

Rows, each adding one thing to the row above (full MNIST, the app's 48,000 training images, seed 0):
  1. the ordinary loop: DataLoader over CPU float tensors, the course's batch (MLP 32, CNN 64), Adam
  2. the same loop with batch 128
  3. data resident on the device as uint8, shuffled by an index permutation, converted per batch
  4. fused Adam (one kernel for all parameters)
  5. channels-last memory layout (models with convolutions)
  6. bf16 autocast (where the hardware multiplies bf16)
Every row trains one epoch with Adam 1e-3 at a constant rate, so only speed differs; the test accuracy
is printed to show nothing was lost. The fastest of ``--repeat`` runs is shown (a shared machine is noisy).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from dlviz.data import load_dataset  # noqa: E402
from dlviz.models import PRESETS, build  # noqa: E402
from dlviz.train import TrainConfig, evaluate, prepare_data, resolve_device  # noqa: E402
from dlviz.train.engine import cpu_has_native_bf16, has_conv2d  # noqa: E402

COURSE_BATCH = {"mlp": 32, "cnn": 64}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_epoch(preset, data, device, *, loader_batch=None, batch=128, fused=False, channels_last=False, bf16=False):
    torch.manual_seed(0)
    model = build(PRESETS[preset].spec, (1, 28, 28), 10, seed=0).module.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, **({"fused": True} if fused else {}))
    amp = dict(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)

    def step(xb, yb):
        with torch.autocast(**amp):
            out = model(xb)
        loss = F.cross_entropy(out.float(), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if loader_batch:  # the ordinary way: CPU float tensors in a DataLoader, each batch copied over
        x = data.train_x.cpu().unsqueeze(1).float().div(255)
        loader = DataLoader(TensorDataset(x, data.train_y.cpu()), batch_size=loader_batch, shuffle=True)
        _sync(device)
        t0 = time.perf_counter()
        for xb, yb in loader:
            step(xb.to(device), yb.to(device))
    else:
        n = len(data.train_y)
        g = torch.Generator(device=device)
        g.manual_seed(0)
        _sync(device)
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=device, generator=g)
        for s in range(0, n, batch):
            idx = perm[s : s + batch]
            step(data.transform(data.train_x[idx]), data.train_y[idx])
    _sync(device)
    secs = time.perf_counter() - t0
    model.to(memory_format=torch.contiguous_format)
    return secs, evaluate(model, data.test_x, data.test_y, data.transform)[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default=None, choices=["mlp", "cnn"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    device = resolve_device(a.device)
    data = prepare_data(load_dataset("mnist", a.data_dir), TrainConfig(), device)
    bf16_ok = device.type == "cuda" and torch.cuda.is_bf16_supported() or device.type == "cpu" and cpu_has_native_bf16()
    for preset in [a.preset] if a.preset else ["mlp", "cnn"]:
        conv = has_conv2d(build(PRESETS[preset].spec, (1, 28, 28), 10).module)
        rows = [
            (f"ordinary DataLoader loop, batch {COURSE_BATCH[preset]}", dict(loader_batch=COURSE_BATCH[preset])),
            ("... batch 128", dict(loader_batch=128)),
            ("+ data on the device, index shuffling", dict()),
            ("+ fused Adam", dict(fused=True)),
        ]
        if conv:
            rows.append(("+ channels-last", dict(fused=True, channels_last=True)))
        if bf16_ok:
            rows.append(("+ bf16 autocast", dict(fused=True, channels_last=conv, bf16=True)))
        print(
            f"\n{preset}: one epoch, {len(data.train_y):,} images, {device}, {torch.get_num_threads()} threads, "
            f"fastest of {a.repeat}\n"
        )
        print(f"| {'engine':<42} | {'epoch s':>8} | {'samples/s':>10} | {'test acc':>8} | {'vs ordinary':>11} |")
        print(f"|{'-' * 44}|{'-' * 10}|{'-' * 12}|{'-' * 10}|{'-' * 13}|")
        base = None
        for name, kw in rows:
            secs, acc = min((one_epoch(preset, data, device, **kw) for _ in range(a.repeat)), key=lambda r: r[0])
            base = base or secs
            print(
                f"| {name:<42} | {secs:8.2f} | {len(data.train_y) / secs:10,.0f} | {acc:8.2%} | {base / secs:10.1f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
