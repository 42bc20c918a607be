"""Hand-made features against learned ones on MNIST: the classic pipelines' C chosen on the VALIDATION split,
then each pipeline (and the CNN preset, if asked) scored on the test part once.

    nice python bench/image_baseline.py [--data-dir DIR] [--cs 0.1,1,10] [--limit N]

The split is every run's: ``dlviz.train.runner.split_for`` with the default recipe (80% of the training part to
train on, 20% to validate). For each pipeline (raw pixels, HOG; each into a logistic regression) and each C it
fits on the training part and prints the validation accuracy; the best C (marked *) is then scored once on the
10,000 test images, with the seconds to extract the features and fit (wall clock, one BLAS thread).
dlviz/train/baseline.py's IMAGE_C copies the chosen C by hand. The CNN's figure beside it comes from
``python -m dlviz train --model cnn`` on the same split (docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    ap.add_argument("--cs", default="0.1,1,10")
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    import torch

    from dlviz.data import load_dataset
    from dlviz.train import TrainConfig
    from dlviz.train.baseline import IMAGE_PIPELINES, fit_image_pipeline, image_accuracy
    from dlviz.train.runner import split_for

    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    d = load_dataset("mnist", a.data_dir)
    tr, va = split_for(len(d.train_y), TrainConfig(limit=a.limit))
    xtr, ytr, xva, yva = d.train_x[tr], d.train_y[tr], d.train_x[va], d.train_y[va]
    print(f"train {len(tr):,}  validation {len(va):,}  test {len(d.test_y):,}", flush=True)
    for kind in IMAGE_PIPELINES:
        rows = []
        for c in (float(v) for v in a.cs.split(",")):
            clf, secs = fit_image_pipeline(kind, xtr, ytr, c)
            acc = image_accuracy(kind, clf, xva, yva)
            rows.append((acc, c, secs, clf))
            print(f"{kind:7s} C={c:<6g} validation {acc:.4f}  features+fit {secs:.1f} s", flush=True)
        acc, c, secs, clf = max(rows, key=lambda r: r[0])
        t0 = time.perf_counter()
        test = image_accuracy(kind, clf, d.test_x, d.test_y)
        print(
            f"{kind:7s} chosen C={c:g}*: validation {acc:.4f}, TEST {test:.4f} (read once); "
            f"features+fit {secs:.1f} s, test features+predict {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
