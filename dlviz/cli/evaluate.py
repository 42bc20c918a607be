"""``python -m dlviz evaluate``: a saved run's test accuracy, measured again."""

from __future__ import annotations

import argparse
import json
import os

from dlviz.compress import evaluate_int8, is_int8
from dlviz.i18n import t
from dlviz.runs import RunStore
from dlviz.train import evaluate_run


def run(a: argparse.Namespace) -> int:
    store = RunStore()
    if is_int8(store.get(a.run)):  # its int8 model, on the CPU (the pages open its float stand-in)
        out = evaluate_int8(a.run, store, a.data_dir)
    else:
        out = evaluate_run(a.run, store, a.data_dir, a.device)
    if a.json:
        print(json.dumps(out))
    elif "test_reconstruction_error" in out:
        print(
            t(
                "Run {run_id}: test reconstruction error {err:.4f} on {n:,} {dataset} test images.",
                run_id=a.run,
                err=out["test_reconstruction_error"],
                n=out["test_size"],
                dataset=out["dataset"],
            )
        )
    else:
        print(
            t(
                "Run {run_id}: test accuracy {acc:.2%} on {n:,} {dataset} test images.",
                run_id=a.run,
                acc=out["test_accuracy"],
                n=out["test_size"],
                dataset=out["dataset"],
            )
        )
    return 0


def add_parser(sub) -> None:
    ev = sub.add_parser("evaluate", help=t("load a saved run's weights and measure its test accuracy"))
    ev.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    ev.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=run)
