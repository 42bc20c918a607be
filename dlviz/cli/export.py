"""``python -m dlviz export``: a plain PyTorch script for a preset, a spec or a saved run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlviz.cli.common import spec_from
from dlviz.data import get_info
from dlviz.i18n import t
from dlviz.modality import modality_of
from dlviz.models.codegen import writes_script
from dlviz.runs import RunStore
from dlviz.train import recipe_for
from dlviz.train.script import to_script


def run(a: argparse.Namespace) -> int:
    """A plain PyTorch training script for a preset, a .json spec or a saved run (its spec and its recipe)."""
    if a.run:
        rec = RunStore().get(a.run)
        spec, dataset, recipe = rec.spec, rec.dataset, dict(rec.settings)
    else:
        spec, dataset = spec_from(a.model), a.dataset
        recipe = recipe_for(a.model, dataset)
    recipe.update({k: v for k, v in (("epochs", a.epochs), ("limit", a.limit)) if v is not None})
    info = get_info(dataset)
    shape = modality_of(info).input_shape(info, recipe.get("max_len"))
    classes = int(len(recipe.get("classes") or []) or info.num_classes)
    code = to_script(spec, shape, classes, recipe)  # a text model: its code alone (writes_script)
    if a.output:
        Path(a.output).write_text(code, encoding="utf-8")
        print(
            t("Wrote {path}. Run it with: python {path} DATA_FOLDER", path=a.output)
            if writes_script(spec, shape)
            else t("Wrote {path}: the model's code (a text model's data needs dlviz).", path=a.output)
        )
    else:
        sys.stdout.write(code)
    return 0


def add_parser(sub) -> None:
    xp = sub.add_parser(
        "export",
        help=t(
            "write a plain PyTorch script (only Python and torch needed) that builds a "
            "model, reads MNIST's files and trains it with dlviz's recipe"
        ),
    )
    src = xp.add_mutually_exclusive_group()
    src.add_argument("--model", default="mlp", help=t("a preset or a .json spec"))
    src.add_argument("--run", help=t("a saved run: its model and its recipe (see: python -m dlviz runs)"))
    xp.add_argument("--dataset", default="mnist", help="mnist | fashion-mnist")
    xp.add_argument("--epochs", type=int, default=None)
    xp.add_argument("--limit", type=int, default=None, help=t("train on only this many images (quick demos)"))
    xp.add_argument("-o", "--output", help=t("the file to write (default: print the script)"))
    xp.set_defaults(func=run)
