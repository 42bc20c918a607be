"""``python -m dlviz inspect``: every layer's activations for one test image of a saved run."""

from __future__ import annotations

import argparse
import json
import os

from dlviz.cli.common import run_and_image
from dlviz.i18n import t
from dlviz.inspect import activations, summarize


def run(a: argparse.Namespace) -> int:
    model, _, x, label = run_and_image(a)
    layers, probs = activations(model, x)
    pred = int(probs.argmax())
    out = {
        "run_id": a.run,
        "at": a.at or "final",
        "index": a.index,
        "label": label,
        "prediction": pred,
        "probability": float(probs[pred]),
        "layers": summarize(layers),
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(
            t(
                "Test image {index} (label {label}): predicted {pred} with probability {p:.1%}.",
                index=a.index,
                label=out["label"],
                pred=pred,
                p=out["probability"],
            )
        )
        for layer in out["layers"]:
            print(
                f"  {layer['name']:<14} {str(tuple(layer['shape'])):<16} mean {layer['mean']:+.4f}  "
                f"zeros {layer['fraction_zero']:.0%}"
            )
    return 0


def add_parser(sub) -> None:
    ins = sub.add_parser("inspect", help=t("every layer's activations for one test image of a saved run"))
    ins.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    ins.add_argument("--index", type=int, required=True, help=t("which test image (0 is the first)"))
    ins.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    ins.add_argument("--device", default="cpu")
    ins.add_argument("--at", default=None, help=t("replay: the weights saved at this point, e.g. step-0 or epoch-1"))
    ins.add_argument("--json", action="store_true")
    ins.set_defaults(func=run)
