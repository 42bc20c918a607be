"""What several verbs share: a model spec from a preset or a file, a saved run's test image, replay."""

from __future__ import annotations

import argparse
from pathlib import Path

from dlviz.data import load_dataset
from dlviz.errors import DataError, RunError, SpecError
from dlviz.limits import fmt_bytes, limits
from dlviz.modality import IMAGE, modality_of
from dlviz.models import PRESETS, normalize
from dlviz.models.gan import GAN_PRESETS, copy_preset
from dlviz.runs import RunStore, load_state_into
from dlviz.train import image_transform, load_run


def spec_from(arg: str) -> dict:
    if arg in PRESETS:
        return PRESETS[arg].copy_spec()
    if arg in GAN_PRESETS:
        return copy_preset(arg)
    path = Path(arg)
    if not path.suffix.lower() == ".json" and not path.exists():
        raise SpecError(
            "'{arg}' is neither a preset ({known}) nor a JSON spec file.",
            arg=arg,
            known=", ".join([*PRESETS, *GAN_PRESETS]),
        )
    try:
        if path.stat().st_size > limits().json_bytes:  # not read at all: normalize() would refuse it anyway
            raise SpecError(
                "This model spec is {size}; specs up to {most} are read. A model's JSON is usually "
                "under 5 KB: check that this is the right file.",
                size=fmt_bytes(path.stat().st_size),
                most=fmt_bytes(limits().json_bytes),
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError("Cannot read the spec file {path}: {detail}", path=str(path), detail=str(e)) from None
    return normalize(text)


def run_and_image(a: argparse.Namespace):
    """The saved run (at the replay point ``--at``), its class names and test image ``--index`` as (1, 28, 28)."""
    store = RunStore()
    model, rec = load_run(a.run, store, a.device)
    if modality_of(rec) is not IMAGE:  # these verbs read one test image
        raise RunError(
            "Run {run_id} reads sentences ({dataset}), not images. For a text run use: python -m dlviz "
            "attention --run {run_id} --text \"...\"",
            run_id=a.run,
            dataset=rec.dataset,
        )
    replay(store, model, a.run, a.at)
    data = load_dataset(rec.dataset, a.data_dir)
    if not 0 <= a.index < len(data.test_y):
        raise DataError(
            "Test image {index} does not exist: {name} has test images 0 to {last}.",
            index=a.index,
            name=data.info.name,
            last=len(data.test_y) - 1,
        )
    x = image_transform(data.test_x[a.index : a.index + 1])[0]  # (1, 28, 28) in [0, 1]
    return model, list(data.info.classes), x, int(data.test_y[a.index])


def replay(store, model, run_id: str, at: str | None) -> None:
    """Load the weights saved at replay point ``at`` (None: keep the final weights)."""
    if not at:
        return

    tags = store.list_snapshots(run_id)
    if at not in tags:
        raise RunError(
            "Run {run_id} has no weights saved at {tag}. It has: {tags}.",
            run_id=run_id,
            tag=at,
            tags=", ".join(tags) or "-",
        )
    load_state_into(model, store.load_snapshot(run_id, at))
