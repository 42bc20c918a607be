"""``python -m dlviz runs``: list the saved runs, rebuild a damaged run index, export a run as a run file or
import one (``--export ID FILE``, ``--import FILE``: dlviz.classroom.share)."""

from __future__ import annotations

import argparse
import json

from dlviz.classroom.share import export_to, import_from, imported_from
from dlviz.i18n import t
from dlviz.runs import RunStore


def _export(a: argparse.Namespace) -> int:
    run_id, dest = a.export
    path = export_to(RunStore(), run_id, dest, sender=a.sender or "")
    if a.json:
        print(json.dumps({"run_id": run_id, "file": str(path), "bytes": path.stat().st_size}))
    else:
        print(t("Run {run_id} was exported to {path}.", run_id=run_id, path=str(path)))
    return 0


def _import(a: argparse.Namespace) -> int:
    store = RunStore()
    rec = import_from(store, a.import_file)
    sender = (imported_from(store, rec.id) or {}).get("imported_from") or ""
    if a.json:
        print(json.dumps({"run_id": rec.id, "name": rec.name, "imported_from": sender, "read_only": True}))
    else:
        print(t("Imported as run {run_id} ({name}), read-only.", run_id=rec.id, name=rec.name))
    return 0


def run(a: argparse.Namespace) -> int:
    if a.export:
        return _export(a)
    if a.import_file:
        return _import(a)
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
    ru.add_argument(
        "--export",
        nargs=2,
        metavar=("RUN_ID", "FILE"),
        help=t("write run RUN_ID to FILE as one run file (settings, curves, weights; never a pickle)"),
    )
    ru.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE",
        help=t("add the run in run file FILE as a new, read-only run"),
    )
    ru.add_argument("--sender", default="", help=t("the name an exported run file says it is from"))
    ru.set_defaults(func=run)
