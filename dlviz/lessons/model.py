"""Lessons as data: a lesson is a JSON file in ``dlviz/lessons/data/`` (English and Chinese side by side),
read and checked here. No streamlit, no torch: a teacher's typo is a sentence naming the file, the step and the
field, never a traceback (docs/lessons.md describes the format).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dlviz.errors import DlvizError

DATA_DIR = Path(__file__).parent / "data"
LANGS = ("en", "zh")
# the page a step opens: its file in pages/ (the app's url path is the same name; "home" is the Start page)
PAGES = (
    "home",
    "data",
    "build",
    "train",
    "runs",
    "inspect",
    "filters",
    "gradients",
    "embeddings",
    "errors",
    "attention",
    "sequence",
    "explain",
    "autoencoder",
    "compress",
    "glossary",
)
# what the student does to go on: press Next, press Train (or open the prepared run), draw a digit on the
# Inspect or Explain page, change the model on the Build page, pick an answer to the step's question, or make a
# compressed variant of the open run on the Compress page
ACTIONS = ("next", "train", "draw", "change_layer", "answer", "compress")
STATE_KEYS = ("dataset", "preset", "recipe", "run", "input", "method", "compare", "sentence")
RECIPE_KEYS = ("optimizer", "lr", "batch_size", "epochs", "weight_decay", "seed", "val_fraction", "schedule", "limit")
# data augmentation (TrainConfig.augment_<name>, dlviz.train.augment): how far each training batch is moved at random
RECIPE_KEYS += tuple("augment_" + k for k in ("shift", "rotate", "scale", "flip", "noise", "erase"))
# numbers measured for a reveal, beside the student's guess (dlviz.lessons.measures)
MEASURES = (
    "test_accuracy",
    "compare",
    "overfit",
    "gradients",
    "confusion",
    "mark_share",
    "baseline",
    "randomisation",
    "attention",
    "compression",
)
VARIANTS = ("shortcut",)  # dataset variants a snapshot can train on (dlviz.lessons.shortcut)


class LessonError(DlvizError):
    """A lesson file that cannot be used: which file, which step, what is wrong."""


@dataclass(frozen=True)
class Text:
    """One user string in every language."""

    en: str
    zh: str

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Question:
    prompt: Text
    choices: tuple[Text, ...]
    answer: int | None  # the index of the right choice; None where the question asks for a guess only
    reveal: Text  # what happened, shown beside the guess once the step's action is done
    measure: str | None = None  # numbers measured for the reveal (MEASURES)


@dataclass(frozen=True)
class Step:
    id: str
    text: Text
    page: str
    action: str = "next"
    state: dict = field(default_factory=dict)
    highlight: tuple[str, ...] = ()  # widget keys outlined on the page
    lock: tuple[str, ...] = ()  # widget keys greyed out and not clickable during the step
    question: Question | None = None
    snapshot: str | None = None  # for a train step: the prepared run the student may open instead of waiting


@dataclass(frozen=True)
class Snapshot:
    """A run a lesson needs trained: made by ``python -m dlviz lessons prepare`` or on first use, then cached."""

    key: str
    dataset: str
    preset: str
    recipe: dict
    variant: str | None = None
    title: Text | None = None
    spec: dict | None = None  # a model of the lesson's own instead of the preset's (e.g. dropout added)


@dataclass(frozen=True)
class Lesson:
    id: str
    order: int
    title: Text
    summary: Text
    steps: tuple[Step, ...]
    snapshots: dict  # key -> Snapshot
    later: Text | None = None  # what the lesson leaves for later (e.g. augmentation, its own issue)
    path: Path | None = None

    def step_index(self, step_id: str) -> int:
        return [s.id for s in self.steps].index(step_id)


def _text(value, where: str, errors: list[str]) -> Text | None:
    if not isinstance(value, dict):
        errors.append(f"{where}: expected an object with 'en' and 'zh' texts")
        return None
    missing = [lang for lang in LANGS if not (isinstance(value.get(lang), str) and value[lang].strip())]
    if missing:
        errors.append(f"{where}: missing the {' and '.join(missing)} text")
        return None
    return Text(value["en"], value["zh"])


def _question(raw, where: str, errors: list[str]) -> Question | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: a question must be an object")
        return None
    prompt = _text(raw.get("prompt"), f"{where}.prompt", errors)
    reveal = _text(raw.get("reveal"), f"{where}.reveal", errors)
    choices_raw = raw.get("choices")
    if not isinstance(choices_raw, list) or len(choices_raw) < 2:
        errors.append(f"{where}.choices: give at least two choices")
        choices_raw = []
    choices = [_text(c, f"{where}.choices[{i}]", errors) for i, c in enumerate(choices_raw)]
    answer = raw.get("answer")
    if answer is not None and not (isinstance(answer, int) and 0 <= answer < len(choices_raw)):
        errors.append(f"{where}.answer: the number of a choice, 0 to {max(len(choices_raw) - 1, 0)}")
    measure = raw.get("measure")
    if measure is not None and measure not in MEASURES:
        errors.append(f"{where}.measure: unknown '{measure}' (known: {', '.join(MEASURES)})")
    if prompt is None or reveal is None or None in choices:
        return None
    return Question(prompt, tuple(choices), answer, reveal, measure)


def _presets() -> set[str]:
    """Every preset a lesson may name: the Build page's and the GAN's (trained from the Train page's choice)."""
    from dlviz.models import PRESETS
    from dlviz.models.gan import GAN_PRESETS

    return {*PRESETS, *GAN_PRESETS}


def _state(raw, where: str, snapshots: dict, errors: list[str]) -> dict:
    from dlviz.data.registry import ALL_DATASETS

    if not isinstance(raw, dict):
        errors.append(f"{where}: the state must be an object")
        return {}
    for key in raw:
        if key not in STATE_KEYS:
            errors.append(f"{where}: unknown state '{key}' (known: {', '.join(STATE_KEYS)})")
    if "dataset" in raw and raw["dataset"] not in ALL_DATASETS:
        errors.append(f"{where}.dataset: unknown dataset '{raw['dataset']}'")
    if "preset" in raw and raw["preset"] not in _presets() and raw["preset"] not in snapshots:
        errors.append(f"{where}.preset: unknown preset '{raw['preset']}' (a preset, or a snapshot's model)")
    if "recipe" in raw:
        if not isinstance(raw["recipe"], dict):
            errors.append(f"{where}.recipe: an object of training settings")
        else:
            bad = [k for k in raw["recipe"] if k not in RECIPE_KEYS]
            if bad:
                errors.append(f"{where}.recipe: unknown setting {', '.join(bad)} (known: {', '.join(RECIPE_KEYS)})")
    for key in ("run",):
        if key in raw and raw[key] not in snapshots:
            errors.append(f"{where}.{key}: no snapshot named '{raw[key]}' in this lesson")
    if "compare" in raw:
        if not isinstance(raw["compare"], list) or any(k not in snapshots for k in raw["compare"]):
            errors.append(f"{where}.compare: a list of this lesson's snapshot names")
    if "input" in raw:
        inp = raw["input"]
        if not (isinstance(inp, dict) and set(inp) <= {"test_index", "shortcut_index"} and len(inp) == 1):
            errors.append(f"{where}.input: {{'test_index': N}} or {{'shortcut_index': N}}")
        elif not (isinstance(next(iter(inp.values())), int) and next(iter(inp.values())) >= 0):
            errors.append(f"{where}.input: the index must be a whole number, 0 or more")
    if "sentence" in raw and not (isinstance(raw["sentence"], str) and raw["sentence"].strip()):
        errors.append(f"{where}.sentence: the sentence the text pages show, as text")
    if "method" in raw:
        from dlviz.explain.registry import METHODS

        methods = raw["method"] if isinstance(raw["method"], list) else [raw["method"]]
        bad = [m for m in methods if m not in METHODS]
        if bad:
            errors.append(f"{where}.method: unknown method {', '.join(map(str, bad))}")
    return dict(raw)


def _snapshot(key: str, raw, where: str, errors: list[str]) -> Snapshot | None:
    from dlviz.data.registry import ALL_DATASETS

    if not isinstance(raw, dict):
        errors.append(f"{where}: a snapshot must be an object")
        return None
    ok = True
    if raw.get("dataset") not in ALL_DATASETS:
        errors.append(f"{where}.dataset: unknown dataset '{raw.get('dataset')}'")
        ok = False
    if raw.get("preset") not in _presets():
        errors.append(f"{where}.preset: unknown preset '{raw.get('preset')}'")
        ok = False
    recipe = raw.get("recipe", {})
    if not isinstance(recipe, dict) or any(k not in RECIPE_KEYS for k in recipe):
        errors.append(f"{where}.recipe: an object of training settings ({', '.join(RECIPE_KEYS)})")
        ok = False
    if raw.get("variant") is not None and raw["variant"] not in VARIANTS:
        errors.append(f"{where}.variant: unknown variant '{raw['variant']}' (known: {', '.join(VARIANTS)})")
        ok = False
    spec = raw.get("spec")
    if spec is not None and not (isinstance(spec, dict) and isinstance(spec.get("layers"), list)):
        errors.append(f"{where}.spec: a model spec with a 'layers' list")
        ok = False
    title = _text(raw["title"], f"{where}.title", errors) if "title" in raw else None
    if not ok:
        return None
    return Snapshot(key, raw["dataset"], raw["preset"], dict(recipe), raw.get("variant"), title, spec)


def parse_lesson(raw, name: str = "lesson") -> Lesson:
    """A checked Lesson from the JSON object ``raw``; LessonError lists every problem found, not only the first."""
    errors: list[str] = []
    if not isinstance(raw, dict):
        raise LessonError("The lesson {name} is not a JSON object.", name=name)
    lid = raw.get("id")
    if not (isinstance(lid, str) and lid.replace("-", "").isalnum()):
        errors.append("id: letters, digits and '-' only")
    order = raw.get("order", 99)
    if not isinstance(order, int):
        errors.append("order: a whole number")
        order = 99
    title = _text(raw.get("title"), "title", errors)
    summary = _text(raw.get("summary"), "summary", errors)
    later = _text(raw["later"], "later", errors) if "later" in raw else None
    snaps: dict = {}
    for key, value in (raw.get("snapshots") or {}).items():
        snap = _snapshot(key, value, f"snapshots.{key}", errors)
        if snap is not None:
            snaps[key] = snap
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        errors.append("steps: a list of at least one step")
        steps_raw = []
    steps: list[Step] = []
    seen: set[str] = set()
    for i, s in enumerate(steps_raw):
        where = f"step {i + 1}"
        if not isinstance(s, dict):
            errors.append(f"{where}: a step must be an object")
            continue
        sid = s.get("id")
        if not isinstance(sid, str) or not sid:
            errors.append(f"{where}.id: every step needs an id")
            sid = f"step-{i + 1}"
        elif sid in seen:
            errors.append(f"{where}.id: '{sid}' is used twice")
        seen.add(sid)
        where = f"step {i + 1} ({sid})"
        unknown = set(s) - {"id", "text", "page", "action", "state", "highlight", "lock", "question", "snapshot"}
        if unknown:
            errors.append(f"{where}: unknown field {', '.join(sorted(unknown))}")
        text = _text(s.get("text"), f"{where}.text", errors)
        page = s.get("page")
        if page not in PAGES:
            errors.append(f"{where}.page: unknown page '{page}' (known: {', '.join(PAGES)})")
        action = s.get("action", "next")
        if action not in ACTIONS:
            errors.append(f"{where}.action: unknown action '{action}' (known: {', '.join(ACTIONS)})")
        state = _state(s.get("state", {}), f"{where}.state", snaps, errors)
        question = _question(s["question"], f"{where}.question", errors) if "question" in s else None
        if action == "answer" and "question" not in s:
            errors.append(f"{where}: the action 'answer' needs a question")
        snapshot = s.get("snapshot")
        if snapshot is not None and snapshot not in snaps:
            errors.append(f"{where}.snapshot: no snapshot named '{snapshot}' in this lesson")
        lists = {}
        for key in ("highlight", "lock"):
            value = s.get(key, [])
            if not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
                errors.append(f"{where}.{key}: a list of widget keys")
                value = []
            lists[key] = tuple(value)
        if text is not None and page in PAGES and action in ACTIONS:
            steps.append(Step(sid, text, page, action, state, lists["highlight"], lists["lock"], question, snapshot))
    if errors:
        raise LessonError(
            "The lesson {name} has {n} problems: {problems}", name=name, n=len(errors), problems="; ".join(errors)
        )
    return Lesson(lid, order, title, summary, tuple(steps), snaps, later)


def load_lesson(path: Path) -> Lesson:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LessonError("Cannot read the lesson {name}: {reason}", name=Path(path).name, reason=str(exc)) from exc
    except ValueError as exc:
        raise LessonError(
            "The lesson {name} is not valid JSON: {reason}", name=Path(path).name, reason=str(exc)
        ) from exc
    lesson = parse_lesson(raw, Path(path).name)
    return Lesson(**{**lesson.__dict__, "path": Path(path)})


def lesson_dirs() -> list[Path]:
    """The shipped lessons, then a teacher's own folder ($DLVIZ_LESSONS, several joined by the path separator)."""
    extra = [Path(p) for p in os.environ.get("DLVIZ_LESSONS", "").split(os.pathsep) if p]
    return [DATA_DIR, *extra]


def load_lessons() -> dict[str, Lesson]:
    """Every lesson, in order. A broken file raises LessonError (the Start page shows it and lists the rest)."""
    found: dict[str, Lesson] = {}
    for folder in lesson_dirs():
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            lesson = load_lesson(path)
            found[lesson.id] = lesson
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def load_lessons_safe() -> tuple[dict[str, Lesson], list[LessonError]]:
    """The lessons that load, and the errors of those that do not."""
    found: dict[str, Lesson] = {}
    problems: list[LessonError] = []
    for folder in lesson_dirs():
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                lesson = load_lesson(path)
            except LessonError as e:
                problems.append(e)
            else:
                found[lesson.id] = lesson
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0]))), problems


def tiny() -> bool:
    """DLVIZ_LESSON_TINY=1: every lesson recipe trains 1 epoch on 600 images (tests and a quick rehearsal)."""
    return os.environ.get("DLVIZ_LESSON_TINY", "") not in ("", "0")


def scaled_recipe(recipe: dict) -> dict:
    out = dict(recipe)
    if tiny():
        out["epochs"] = 1
        out["limit"] = min(int(out.get("limit") or 600), 600)
    return out
