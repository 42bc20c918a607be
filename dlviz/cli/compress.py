"""``python -m dlviz compress``: prune, quantise to int8 and/or distil a saved run; each variant saved as a run."""

from __future__ import annotations

import argparse
import json
import os
import sys

from dlviz.compress import QUANTIZE_CHOICES, Request, compress_run, student_presets
from dlviz.i18n import t
from dlviz.runs import RunStore


def _row(label: str, m: dict) -> str:
    return t(
        "{label}: accuracy {acc:.2%}, {size:,} bytes, {nz:,} nonzero parameters, {ms:.3f} ms per image",
        label=label,
        acc=m["accuracy"],
        size=m["size_bytes"],
        nz=m["nonzero_params"],
        ms=m["latency_ms"],
    )


def run(a: argparse.Namespace) -> int:
    req = Request(
        run_id=a.run,
        prune=a.prune,
        per_layer=a.per_layer,
        structured=a.filters,
        quantize=a.quantize,
        distil=a.distil,
        distil_epochs=a.distil_epochs,
        threads=a.threads,
        data_dir=a.data_dir,
        train_limit=a.limit,
    )
    last = [""]

    def progress(share: float, template: str, args: dict) -> None:
        line = t(template, **args)
        if line != last[0]:
            last[0] = line
            print(f"[{share:4.0%}] {line}", file=sys.stderr if a.json else sys.stdout, flush=True)

    out = compress_run(req, RunStore(), progress)
    if a.json:
        print(json.dumps(out))
        return 0
    print(_row(t("original"), out["original"]))
    for v in out["variants"]:
        print(_row(v["label"], v) + f"  (run {v['run_id']})")
    print(
        t(
            "Latency: median of {n} calls with one image on the CPU, {threads} torch thread(s).",
            n=50,
            threads=out["threads"],
        )
    )
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compress", help=t("prune, quantise to int8 or distil a saved run; each result is saved as a run and measured")
    )
    p.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    p.add_argument("--prune", type=float, default=0.0, help=t("share of the weights to set to zero, 0 to 0.99"))
    p.add_argument("--per-layer", action="store_true", help=t("prune the same share in each layer (default: global)"))
    p.add_argument(
        "--filters",
        action="store_true",
        help=t("prune whole filters and units (the smallest by L2 norm, each layer alone) instead of single weights"),
    )
    p.add_argument("--quantize", choices=QUANTIZE_CHOICES, default=None)
    p.add_argument(
        "--distil",
        metavar="PRESET",
        default=None,
        help=t(
            "train a smaller student of this preset on the run's soft targets ({known})",
            known=", ".join(student_presets()),
        ),
    )
    p.add_argument("--distil-epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help=t("torch threads for the latency measurement"))
    p.add_argument("--limit", type=int, default=None, help=t("distil on only this many training images"))
    p.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
