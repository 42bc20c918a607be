"""Validation and test accuracy of every text preset with the CLI's defaults, next to the classic TF-IDF baseline.

    python bench/text_accuracy.py [--datasets rt-polarity,zh-reviews] [--presets lstm,gru,transformer,kim-cnn,bag]
                                  [--data-dir ../shared/data/rt-polarity] [--seed 0]

Runs ``python -m dlviz train --dataset D --model P --json`` (the preset's own recipe: epochs, learning rate,
batch size, chosen on the validation split by bench/text_recipes.py) in a fresh private DLVIZ_HOME for each
pair and prints one table: dataset, preset, epochs, the validation accuracy after the last epoch, the test
accuracy (read once, at the end of the run), training seconds, and the baseline's test accuracy (TF-IDF +
logistic regression on the same split). Each run is a separate process, as a user would start it.

Exact duplicates leave every dataset before the split (``python -m dlviz data --dataset D --json`` prints
``test_seen_in_train``: 0), so no test sentence is also a training sentence. Nothing here chooses anything:
the recipes were fixed on validation beforehand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {("rt-polarity", "best"): 0.76, ("rt-polarity", "transformer"): 0.73, ("zh-reviews", "best"): 0.92}


def run(dataset: str, preset: str, data_dir: str | None, seed: int, home: str) -> dict:
    args = [
        sys.executable,
        "-m",
        "dlviz",
        "train",
        "--dataset",
        dataset,
        "--model",
        preset,
        "--seed",
        str(seed),
        "--json",
    ]
    if data_dir and dataset == "rt-polarity":
        args += ["--data-dir", data_dir]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLVIZ_HOME": home, "DLVIZ_OFFLINE": "1"}
    env.pop("DLVIZ_DATA_DIR", None)
    t0 = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        out = {"status": "failed", "message": (r.stderr.strip().splitlines() or ["?"])[-1]}
    if out.get("status") != "finished":
        print(f"  {dataset} {preset}: exit status {r.returncode}: {out.get('message') or '?'}", flush=True)
    out["wall_seconds"] = wall
    return out


def validation_accuracy(home: str, run_id: str | None) -> float | None:
    """The validation accuracy the run measured after its last epoch (from its saved metrics)."""
    if run_id is None:
        return None
    from dlviz.runs import RunStore

    val = RunStore(home).get(run_id).metrics.get("val") or []
    return float(val[-1][3]) if val else None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="rt-polarity,zh-reviews")
    p.add_argument("--presets", default="lstm,gru,transformer,kim-cnn,bag")
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "rt-polarity"))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rows = []
    sys.path.insert(0, str(ROOT))
    print(
        f"{'dataset':<12} {'preset':<12} {'epochs':>6} {'val acc':>8} {'test acc':>9} {'train s':>8} {'wall s':>7} "
        f"{'baseline':>9} {'baseline s':>10}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as home:
        for dataset in a.datasets.split(","):
            for preset in a.presets.split(","):
                out = run(dataset, preset, a.data_dir, a.seed, home)
                rows.append((dataset, preset, out))
                acc = out.get("test_accuracy")
                bl = out.get("baseline_test_accuracy")
                bls = out.get("baseline_seconds")
                va = validation_accuracy(home, out.get("run_id") if acc is not None else None)
                print(
                    f"{dataset:<12} {preset:<12} {out.get('epochs', '-'):>6} "
                    f"{f'{va:.2%}' if va is not None else '-':>8} "
                    f"{f'{acc:.2%}' if acc is not None else out.get('status', '-'):>9} "
                    f"{out.get('train_seconds', 0):>8.1f} {out['wall_seconds']:>7.1f} "
                    f"{f'{bl:.2%}' if bl is not None else '-':>9} "
                    f"{bls if bls is not None else '-':>10}",
                    flush=True,
                )
    print()
    ok = True
    for dataset in a.datasets.split(","):
        accs = {pr: o.get("test_accuracy") or 0.0 for d, pr, o in rows if d == dataset}
        if not accs:
            continue
        best = max(accs, key=accs.get)
        line = f"{dataset}: best deep preset {best} {accs[best]:.2%}"
        target = TARGETS.get((dataset, "best"))
        if target is not None:
            line += f" (target {target:.0%}: {'met' if accs[best] >= target else 'MISSED'})"
            ok &= accs[best] >= target
        tt = TARGETS.get((dataset, "transformer"))
        if tt is not None and "transformer" in accs:
            line += (
                f"; transformer {accs['transformer']:.2%} (target {tt:.0%}: "
                f"{'met' if accs['transformer'] >= tt else 'MISSED'})"
            )
            ok &= accs["transformer"] >= tt
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
