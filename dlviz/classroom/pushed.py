"""Push and lock (issue 17, item 3): the state the teacher pushed to every student, and the controls locked for
the class. No streamlit: the pages' side is ``dlviz/ui/push_widgets.py``.

One file, ``dlviz_home() / "class" / "pushed.json"``, written atomically by the teacher's session only:

    version   bumped by every push: each student session applies a push once (on its next rerun; an open page
              looks every few seconds), so what a student changes afterwards in an unlocked control stays theirs
    stamp     bumped by every change (a push, new locks, a release, the end): open pages redraw once
    dataset, spec, recipe, page, lesson   what was pushed (each optional)
    locks     names from ``CONTROLS``: each greys out its widgets for the students, and holds on the server side
              (``hold_*``): a locked value a student tampers with is put back before a job is submitted

A control can be locked only at a value the push set: the learning rate with a pushed recipe that has one, the
model and the number of filters with a pushed model.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.runs import dlviz_home

FILE = "pushed.json"
PAGES = ("home", "data", "build", "train", "runs", "inspect", "filters", "gradients", "embeddings", "errors")
PAGES += ("attention", "sequence", "explain", "autoencoder", "glossary")
RECIPE = ("optimizer", "lr", "batch_size", "epochs", "schedule")  # the recipe's lockable settings
RECIPE_PUSHED = RECIPE + ("weight_decay", "seed", "limit")  # what a pushed recipe carries
FILTER_PARAM = "out"  # a layer's number of filters (a conv layer's output channels)


class PushError(DlvizError):
    """A push the teacher cannot make (a lock without a value to hold)."""


@dataclass(frozen=True)
class Control:
    """One lockable control: a stable name (the file, the tests, a lesson), its title for the teacher and the
    students (en; zh in the catalogue), and what part of the push gives its value."""

    name: str
    title: str
    part: str  # "dataset", "spec" or "recipe"


CONTROLS = {
    c.name: c
    for c in (
        Control("dataset", N_("Dataset"), "dataset"),
        Control("model", N_("Model (its layers)"), "spec"),
        Control("filters", N_("Number of filters"), "spec"),
        Control("optimizer", N_("Optimizer"), "recipe"),
        Control("lr", N_("Learning rate"), "recipe"),
        Control("batch_size", N_("Batch size"), "recipe"),
        Control("epochs", N_("Epochs"), "recipe"),
        Control("schedule", N_("Learning-rate schedule"), "recipe"),
    )
}


@dataclass(frozen=True)
class Pushed:
    version: int = 0
    stamp: int = 0
    at: float = 0.0
    dataset: str | None = None
    spec: dict | None = None
    recipe: dict = field(default_factory=dict)
    page: str | None = None
    lesson: dict | None = None  # {"id": lesson id, "step": index}
    locks: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """Something is pushed or locked (the students' banner shows)."""
        return bool(self.dataset or self.spec or self.recipe or self.page or self.lesson or self.locks)

    def locked(self, name: str) -> bool:
        return name in self.locks

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "stamp": self.stamp,
            "at": self.at,
            "dataset": self.dataset,
            "spec": self.spec,
            "recipe": self.recipe,
            "page": self.page,
            "lesson": self.lesson,
            "locks": list(self.locks),
        }

    @classmethod
    def from_json(cls, raw) -> Pushed:
        """A Pushed from the file's object; anything malformed is left out (a damaged file pushes nothing)."""
        if not isinstance(raw, dict):
            return cls()

        def num(key, kind=int):
            try:
                return kind(raw.get(key) or 0)
            except (TypeError, ValueError):
                return kind(0)

        recipe = raw.get("recipe") if isinstance(raw.get("recipe"), dict) else {}
        spec = raw.get("spec") if isinstance(raw.get("spec"), dict) else None
        lesson = raw.get("lesson")
        if not (isinstance(lesson, dict) and isinstance(lesson.get("id"), str) and isinstance(lesson.get("step"), int)):
            lesson = None
        locks = raw.get("locks") if isinstance(raw.get("locks"), list) else []
        return cls(
            version=num("version"),
            stamp=num("stamp"),
            at=num("at", float),
            dataset=raw["dataset"] if isinstance(raw.get("dataset"), str) else None,
            spec=spec,
            recipe={k: v for k, v in recipe.items() if k in RECIPE_PUSHED},
            page=raw["page"] if raw.get("page") in PAGES else None,
            lesson=lesson,
            locks=tuple(n for n in locks if n in CONTROLS),
        )


def check_locks(pushed: Pushed, locks) -> tuple[str, ...]:
    """``locks`` in ``CONTROLS`` order, each with a pushed value to hold; PushError names the first without."""
    wanted = set(locks or ())
    unknown = sorted(wanted - set(CONTROLS))
    if unknown:
        raise PushError("Unknown control to lock: {name}.", name=unknown[0])
    for name in [n for n in CONTROLS if n in wanted]:
        c = CONTROLS[name]
        if c.part == "dataset" and not pushed.dataset:
            raise PushError("To lock “{control}”, push a dataset too.", control=c.title)
        if c.part == "spec" and not pushed.spec:
            raise PushError("To lock “{control}”, push a model too.", control=c.title)
        if c.part == "recipe" and name not in pushed.recipe:
            raise PushError("To lock “{control}”, push the training settings too.", control=c.title)
    return tuple(n for n in CONTROLS if n in wanted)


class PushBoard:
    """The class's pushed state. Cheap to make; reads are cached by the file's size and time, so every student's
    rerun (and the few-second look of an open page) costs one ``stat``."""

    _cache: dict[str, tuple[tuple[int, int], Pushed]] = {}
    _lock = threading.Lock()

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(home if home is not None else dlviz_home()) / "class"
        self.path = self.folder / FILE

    def read(self) -> Pushed:
        try:
            st = self.path.stat()
        except OSError:
            return Pushed()
        key = (st.st_mtime_ns, st.st_size)
        hit = self._cache.get(str(self.path))
        if hit and hit[0] == key:
            return hit[1]
        try:
            pushed = Pushed.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return Pushed()
        self._cache[str(self.path)] = (key, pushed)
        return pushed

    def _write(self, pushed: Pushed) -> Pushed:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(pushed.to_json(), indent=1), encoding="utf-8")
        os.replace(tmp, self.path)
        return pushed

    def push(
        self,
        *,
        dataset: str | None = None,
        spec: dict | None = None,
        recipe: dict | None = None,
        page: str | None = None,
        lesson: dict | None = None,
        locks=(),
    ) -> Pushed:
        """Push a new state to every student (what is not given is not pushed) with these locks; the earlier push
        and its locks are replaced."""
        with self._lock:
            old = self.read()
            new = Pushed(
                version=old.version + 1,
                stamp=old.stamp + 1,
                at=time.time(),
                dataset=dataset or None,
                spec=copy.deepcopy(spec) if spec else None,
                recipe={k: v for k, v in (recipe or {}).items() if k in RECIPE_PUSHED},
                page=page if page in PAGES else None,
                lesson=dict(lesson) if lesson else None,
            )
            new = replace(new, locks=check_locks(new, locks))
            if not new.active:
                raise PushError("Choose something to push to the class.")
            return self._write(new)

    def set_locks(self, locks) -> Pushed:
        """Lock these controls (and release the others) at the values of the last push; nothing is pushed again."""
        with self._lock:
            old = self.read()
            return self._write(replace(old, stamp=old.stamp + 1, locks=check_locks(old, locks)))

    def release(self) -> Pushed:
        """Every control is the students' own again (the banner still says what was pushed)."""
        return self.set_locks(())

    def end(self) -> Pushed:
        """No push and no lock: the banner goes. What each student has keeps its values."""
        with self._lock:
            old = self.read()
            return self._write(Pushed(version=old.version, stamp=old.stamp + 1, at=time.time()))


# ---------------------------------------------------------------------------------------------------------
# Holding the locks on the server side: the values a student's job is made of, with the locked ones put back


def filter_counts(spec: dict | None) -> list[int]:
    """The number of filters of each layer that has one, in order."""
    layers = (spec or {}).get("layers") if isinstance(spec, dict) else None
    return [int(layer[FILTER_PARAM]) for layer in layers or [] if isinstance(layer, dict) and FILTER_PARAM in layer]


def hold_spec(pushed: Pushed, spec: dict) -> dict:
    """``spec`` with the locked parts of the model put back: with the model locked, the pushed model (keeping the
    student's number of filters where that is theirs and the layer at that place has them); with only the number
    of filters locked, the student's model with each filtered layer's number from the pushed model's, in order."""
    if not pushed.spec:
        return spec
    mine = spec.get("layers") if isinstance(spec, dict) and isinstance(spec.get("layers"), list) else []
    if pushed.locked("model"):
        out = copy.deepcopy(pushed.spec)
        if not pushed.locked("filters"):
            for i, layer in enumerate(out.get("layers") or []):
                theirs = mine[i] if i < len(mine) and isinstance(mine[i], dict) else {}
                if FILTER_PARAM in layer and theirs.get("type") == layer.get("type") and FILTER_PARAM in theirs:
                    layer[FILTER_PARAM] = theirs[FILTER_PARAM]
        return out
    if pushed.locked("filters"):
        counts = filter_counts(pushed.spec)
        if not counts:
            return spec
        out = copy.deepcopy(spec)
        j = 0
        for layer in out.get("layers") or []:
            if isinstance(layer, dict) and FILTER_PARAM in layer:
                layer[FILTER_PARAM] = counts[min(j, len(counts) - 1)]
                j += 1
        return out
    return spec


def hold_dataset(pushed: Pushed, dataset: str) -> str:
    return pushed.dataset if pushed.locked("dataset") and pushed.dataset else dataset


def hold_recipe(pushed: Pushed, settings: dict) -> dict:
    """Training settings (a dict of TrainConfig fields) with the locked ones put back."""
    return {**settings, **{k: pushed.recipe[k] for k in RECIPE if pushed.locked(k) and k in pushed.recipe}}


def hold_config(pushed: Pushed, cfg):
    """A TrainConfig with the locked settings put back (the pushed value, as the field's type)."""
    held = {}
    for k in RECIPE:
        if pushed.locked(k) and k in pushed.recipe:
            value = pushed.recipe[k]
            current = getattr(cfg, k)
            held[k] = type(current)(value) if isinstance(current, (int, float)) else value
    return replace(cfg, **held) if held else cfg


def hold_job(pushed: Pushed, dataset: str, spec: dict, cfg) -> tuple[str, dict, object, list[str]]:
    """``(dataset, spec, cfg, reset)``: what a student's job is made of, each locked part put back, and the names
    of the controls whose value had to be put back (empty when the student changed nothing locked)."""
    reset = []
    held_dataset = hold_dataset(pushed, dataset)
    if held_dataset != dataset:
        reset.append("dataset")
    held_spec = hold_spec(pushed, spec)
    if held_spec != spec:
        reset.append("model" if pushed.locked("model") else "filters")
    held_cfg = hold_config(pushed, cfg)
    reset += [k for k in RECIPE if getattr(held_cfg, k) != getattr(cfg, k)]
    return held_dataset, held_spec, held_cfg, reset
