"""Instant starts: the runs a lesson needs, trained once and kept in the run store.

``python -m dlviz lessons prepare`` trains every lesson's snapshots before class; a lesson opened without it
trains the missing ones once (on the Train page's executor, with progress) and keeps them. Which run is which
snapshot is written to ``$DLVIZ_HOME/lessons/snapshots.json`` under a fingerprint of what was trained (dataset,
model, recipe, variant), so a changed lesson file trains anew and an unchanged one never does. No streamlit.
"""

from __future__ import annotations

import hashlib
import json
import os

from dlviz.errors import RunError
from dlviz.lessons.model import Lesson, Snapshot, scaled_recipe
from dlviz.runs import RunRecord, RunStore

VERSION = 1  # bump when what a snapshot holds changes


def fingerprint(snap: Snapshot) -> str:
    what = {
        "v": VERSION,
        "dataset": snap.dataset,
        "preset": snap.preset,
        "spec": snap.spec,
        "recipe": scaled_recipe(snap.recipe),
        "variant": snap.variant,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def _index_path(store: RunStore):
    folder = store.home / "lessons"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "snapshots.json"


def _index(store: RunStore) -> dict:
    try:
        data = json.loads(_index_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def find(store: RunStore, snap: Snapshot) -> RunRecord | None:
    """The finished run with weights trained for ``snap``, or None."""
    run_id = _index(store).get(fingerprint(snap))
    if not run_id:
        return None
    try:
        rec = store.get(run_id)
    except RunError:
        return None  # deleted on the Runs page: trained again when needed
    if rec.status != "finished" or not store.has_weights(run_id):
        return None
    return rec


def run_ids(store: RunStore) -> set[str]:
    """The ids of every lesson snapshot run: class material that every student may open (never change)."""
    return {str(v) for v in _index(store).values() if isinstance(v, str)}


def remember(store: RunStore, snap: Snapshot, run_id: str) -> None:
    index = _index(store)
    index[fingerprint(snap)] = run_id
    path = _index_path(store)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def spec_of(snap: Snapshot) -> dict:
    from dlviz.models import PRESETS
    from dlviz.models.gan import GAN_PRESETS, copy_preset

    if snap.spec:
        return json.loads(json.dumps(snap.spec))
    return copy_preset(snap.preset) if snap.preset in GAN_PRESETS else PRESETS[snap.preset].copy_spec()


def config_of(snap: Snapshot):
    from dlviz.train import TrainConfig, recipe_for

    return TrainConfig(**{**recipe_for(snap.preset, snap.dataset), **scaled_recipe(snap.recipe)})


def job_for(snap: Snapshot, lesson: Lesson, data_dir: str | None = None):
    """The TrainJob that makes ``snap`` (a variant's data is built here, in the caller's process)."""
    from dlviz.train.runner import TrainJob

    data = None
    if snap.variant == "shortcut":
        from dlviz.data import load_dataset
        from dlviz.lessons.shortcut import shortcut_data

        data = shortcut_data(load_dataset(snap.dataset, data_dir))
    return TrainJob(
        snap.dataset, spec_of(snap), config_of(snap), name=run_name(snap, lesson), data_dir=data_dir, data=data
    )


def run_name(snap: Snapshot, lesson: Lesson) -> str:
    """The name of ``snap``'s run: its lesson and key ("first-network · mlp"). A run that several lessons share (the
    same data, model and recipe: the course's CNN is lessons 3, 8 and 10's) is "lessons · cnn", so a student in
    one of them does not read another lesson's name on the model they look inside."""
    from dlviz.lessons.model import load_lessons_safe

    mine = fingerprint(snap)
    found, _broken = load_lessons_safe()  # a broken lesson file elsewhere is the Start page's to report
    users = {other.id for other in found.values() for s in other.snapshots.values() if fingerprint(s) == mine}
    return f"lessons · {snap.key}" if len(users - {lesson.id}) else f"{lesson.id} · {snap.key}"


def missing(store: RunStore, lessons) -> list[tuple[Lesson, Snapshot]]:
    return [(lesson, s) for lesson in lessons for s in lesson.snapshots.values() if find(store, s) is None]


def prepare(store: RunStore, lessons, data_dir: str | None = None, say=print) -> list[tuple[str, str, str]]:
    """Train every snapshot ``lessons`` need that the store lacks. (lesson, snapshot, run id or status) each."""
    from dlviz.i18n import t
    from dlviz.train.runner import Listener, run_job

    class Say(Listener):
        def on_status(self, status, text="", **args):
            if text and status in ("loading", "testing"):
                say("  " + t(text, **args))

    done = []
    for lesson in lessons:
        for snap in lesson.snapshots.values():
            rec = find(store, snap)
            if rec is not None:
                say(t("{lesson} / {snapshot}: ready ({run}).", lesson=lesson.id, snapshot=snap.key, run=rec.id))
                done.append((lesson.id, snap.key, rec.id))
                continue
            say(t("{lesson} / {snapshot}: training...", lesson=lesson.id, snapshot=snap.key))
            res = run_job(job_for(snap, lesson, data_dir), store, Say())
            if res.status == "finished" and res.run_id:
                remember(store, snap, res.run_id)
                if res.metric != "accuracy":  # an autoencoder's error, a GAN's share of test digits called real
                    value = f"{res.test_accuracy:.4f}" if res.test_accuracy is not None else "-"
                    say(
                        t(
                            "  done in {s:.0f} s, test {metric} {value}.",
                            s=res.train_seconds,
                            metric=res.metric,
                            value=value,
                        )
                    )
                else:
                    acc = f"{res.test_accuracy:.2%}" if res.test_accuracy is not None else "-"
                    say(t("  done in {s:.0f} s, test accuracy {acc}.", s=res.train_seconds, acc=acc))
                done.append((lesson.id, snap.key, res.run_id))
            else:
                say("  " + t(res.message or "failed", **res.message_args))
                done.append((lesson.id, snap.key, res.status))
    return done
