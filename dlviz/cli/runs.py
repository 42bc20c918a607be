"""``python -m dlviz runs``: list the saved runs, or rebuild a damaged run index."""

from __future__ import annotations

import argparse
import json

from dlviz.i18n import t
from dlviz.runs import RunStore


def run(a: argparse.Namespace) -> int:
    if a.rebuild:
        out = RunStore().rebuild_index()
        if out["backup"]:
            print(t("The old run index was kept as {path}.", path=out["backup"]))
        print(t("The run index was rebuilt from the run folders: {n} runs.", n=out["runs"]))
        if out["skipped"]:
            print(t("Folders without a readable run.json, left out: {names}", names=", ".join(out["skipped"])))
        return 0
    runs = RunStore().list(limit=a.limit)
    if a.json:
        print(
            json.dumps(
                [
                    {
                        "run_id": r.id,
                        "name": r.name,
                        "status": r.status,
                        "dataset": r.dataset,
                        "test_accuracy": r.test_accuracy,
                        "params": r.params,
                        "device": r.device,
                        "train_seconds": r.train_seconds,
                        "created": r.created,
                        "epochs": r.settings.get("epochs"),
                    }
                    for r in runs
                ]
            )
        )
        return 0
    if not runs:
        print(t("No runs yet. Train one with: python -m dlviz train --dataset mnist --model mlp"))
        return 0
    print(f"{'RUN ID':<22} {'STATUS':<11} {'DATASET':<14} {'TEST ACC':>8}  NAME")
    for r in runs:
        acc = f"{r.test_accuracy:.2%}" if r.test_accuracy is not None else "-"
        print(f"{r.id:<22} {r.status:<11} {r.dataset:<14} {acc:>8}  {r.name}")
    return 0


def add_parser(sub) -> None:
    ru = sub.add_parser("runs", help=t("list saved runs"))
    ru.add_argument("--json", action="store_true")
    ru.add_argument("--limit", type=int, default=None)
    ru.add_argument(
        "--rebuild",
        action="store_true",
        help=t("rebuild a damaged run index from the run folders (the old index is kept as a backup)"),
    )
    ru.set_defaults(func=run)
