"""Lesson files and their checker, the planted shortcut and its score, the snapshots' cache, the worksheet."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from dlviz.lessons import LessonError, load_lessons, parse_lesson
from dlviz.lessons.model import DATA_DIR

GOOD = {
    "id": "tiny",
    "order": 5,
    "title": {"en": "A title", "zh": "标题"},
    "summary": {"en": "A summary", "zh": "摘要"},
    "snapshots": {"m": {"dataset": "mnist", "preset": "mlp", "recipe": {"epochs": 1}}},
    "steps": [
        {"id": "a", "page": "data", "text": {"en": "Look.", "zh": "看。"}, "state": {"dataset": "mnist"}},
        {
            "id": "b",
            "page": "runs",
            "action": "answer",
            "text": {"en": "Guess.", "zh": "猜。"},
            "state": {"run": "m"},
            "question": {
                "prompt": {"en": "Which?", "zh": "哪个？"},
                "choices": [{"en": "A", "zh": "甲"}, {"en": "B", "zh": "乙"}],
                "answer": 1,
                "measure": "test_accuracy",
                "reveal": {"en": "B.", "zh": "乙。"},
            },
        },
    ],
}


def _bad(**change):
    raw = copy.deepcopy(GOOD)
    for path, value in change.items():
        node = raw
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        last = keys[-1]
        if value is ...:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value
    with pytest.raises(LessonError) as info:
        parse_lesson(raw, "x.json")
    return info.value.message("en")


def test_a_good_lesson_parses():
    lesson = parse_lesson(copy.deepcopy(GOOD))
    assert [s.id for s in lesson.steps] == ["a", "b"]
    assert lesson.steps[1].question.choices[1]("zh") == "乙"
    assert lesson.steps[0].action == "next"


def test_missing_chinese_is_named():
    msg = _bad(steps__1__question__reveal={"en": "B."})
    assert "step 2 (b).question.reveal: missing the zh text" in msg
    assert "x.json" in msg


def test_a_bad_step_is_named():
    msg = _bad(steps__0__page="nowhere", steps__0__action="dance")
    assert "step 1 (a).page: unknown page 'nowhere'" in msg
    assert "step 1 (a).action: unknown action 'dance'" in msg
    assert "2 problems" in msg


@pytest.mark.parametrize(
    "change, found",
    [
        ({"steps__1__question__answer": 5}, "question.answer"),
        ({"steps__1__state": {"run": "nope"}}, "no snapshot named 'nope'"),
        ({"steps__1__state": {"recipe": {"speed": 3}}}, "unknown setting speed"),
        ({"steps__0__state": {"dataset": "cifar"}}, "unknown dataset 'cifar'"),
        ({"steps__1__id": "a"}, "'a' is used twice"),
        ({"steps__1__question": ...}, "the action 'answer' needs a question"),
        ({"snapshots__m__variant": "blur"}, "unknown variant 'blur'"),
        ({"steps__0__highlight": "train_btn"}, "highlight: a list of widget keys"),
        ({"steps__0__colour": "red"}, "unknown field colour"),
        ({"steps": []}, "steps: a list of at least one step"),
    ],
)
def test_each_mistake_is_found(change, found):
    assert found in _bad(**change)


def test_not_json_is_a_sentence(tmp_path, monkeypatch):
    (tmp_path / "broken.json").write_text("{ not json", encoding="utf-8")
    monkeypatch.setenv("DLVIZ_LESSONS", str(tmp_path))
    from dlviz.lessons import load_lessons_safe

    found, problems = load_lessons_safe()
    assert "first-network" in found  # the shipped lessons still load
    assert len(problems) == 1 and "broken.json is not valid JSON" in problems[0].message("en")


def test_shipped_lessons_are_valid_and_bilingual():
    lessons = load_lessons()
    assert list(lessons)[0] == "first-network"
    assert len(list(DATA_DIR.glob("*.json"))) == len(lessons)
    for lesson in lessons.values():
        assert any(s.question is not None for s in lesson.steps), lesson.id  # every lesson asks before it reveals
        for s in lesson.steps:
            assert s.text("zh") != s.text("en")


# --- the planted shortcut -----------------------------------------------------------------------------------


def test_mark_boxes_are_distinct_and_in_the_corner():
    from dlviz.lessons.shortcut import mark_box

    boxes = {mark_box(k) for k in range(10)}
    assert len(boxes) == 10
    cells = set()
    for r0, r1, c0, c1 in boxes:
        assert r1 <= 7 and c1 <= 16  # the top-left corner
        here = {(r, c) for r in range(r0, r1) for c in range(c0, c1)}
        assert not (cells & here)  # no two places overlap
        cells |= here


def test_mark_share_known_answers():
    from dlviz.lessons.shortcut import CHANCE_SHARE, mark_box, mark_share

    r0, r1, c0, c1 = mark_box(7)
    on = np.zeros((28, 28))
    on[r0:r1, c0:c1] = -2.0  # negative evidence counts by its size
    assert mark_share(on, 7) == pytest.approx(1.0)
    assert mark_share(on, 3) == pytest.approx(0.0)
    assert mark_share(np.ones((1, 28, 28)), 7) == pytest.approx(CHANCE_SHARE) == pytest.approx(4 / 784)
    half = np.zeros((28, 28))
    half[r0, c0] = 1.0
    half[20, 20] = 1.0
    assert mark_share(half, 7) == pytest.approx(0.5)
    assert mark_share(np.zeros((28, 28)), 7) == 0.0


def test_shortcut_data_marks_train_by_label_and_test_at_random(mnist_dir):
    from dlviz.data import load_dataset
    from dlviz.lessons.shortcut import mark_box, shortcut_data, shortcut_image

    data = load_dataset("mnist", str(mnist_dir))
    sc = shortcut_data(data, n_train=500)
    assert len(sc.train_y) == 500 and torch.equal(sc.train_y, data.train_y[:500])
    for i in range(50):
        r0, r1, c0, c1 = mark_box(int(sc.train_y[i]))
        assert (sc.train_x[i, r0:r1, c0:c1] == 255).all()
    agree = 0
    for i in range(1000):
        r0, r1, c0, c1 = mark_box(int(sc.test_y[i]))
        agree += bool((sc.test_x[i, r0:r1, c0:c1] == 255).all())
    assert agree < 250  # at random: about 1 in 10 (plus digits that reach the corner)
    assert torch.equal(data.train_x[0], load_dataset("mnist", str(mnist_dir)).train_x[0])  # the original untouched
    x, label, place = shortcut_image(data, 3)
    r0, r1, c0, c1 = mark_box(place)
    assert label == place == int(data.test_y[3]) and float(x[0, r0:r1, c0:c1].min()) == 1.0


@pytest.mark.parametrize("method", ["saliency", "input_x_gradient", "integrated_gradients"])
def test_a_model_that_reads_the_mark_is_caught(mnist_dir, method):
    """Known answer through the real explanation path: a linear model built to read only the marks (class k's
    weights are 1 on mark k's box, 0 elsewhere) puts all of its explanation on the mark; one built to read only the
    middle of the image puts none there."""
    from dlviz.data import load_dataset
    from dlviz.explain import attribute
    from dlviz.lessons.shortcut import mark_box, mark_share, shortcut_image

    def linear(weights):
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
        with torch.no_grad():
            model[1].weight.copy_(weights.reshape(10, 784))
            model[1].bias.zero_()
        return model.eval()

    reads_mark = torch.zeros(10, 28, 28)
    for k in range(10):
        r0, r1, c0, c1 = mark_box(k)
        reads_mark[k, r0:r1, c0:c1] = 1.0
    reads_middle = torch.zeros(10, 28, 28)
    reads_middle[:, 8:20, 8:20] = torch.randn(10, 12, 12, generator=torch.Generator().manual_seed(0))
    data = load_dataset("mnist", str(mnist_dir))
    x, label, place = shortcut_image(data, 0)
    cheat = linear(reads_mark)
    assert int(cheat(x.unsqueeze(0)).argmax()) == label  # it answers from the mark
    assert mark_share(attribute(cheat, x, label, method).map.numpy(), place) == pytest.approx(1.0)
    honest = linear(reads_middle)
    assert mark_share(attribute(honest, x, label, method).map.numpy(), place) == pytest.approx(0.0)


# --- snapshots, worksheet, CLI ------------------------------------------------------------------------------


def test_snapshot_fingerprint_find_and_remember(home, monkeypatch):
    from dlviz.lessons import snapshots
    from dlviz.runs import RunStore

    lesson = parse_lesson(copy.deepcopy(GOOD))
    snap = lesson.snapshots["m"]
    store = RunStore()
    assert snapshots.find(store, snap) is None
    rec = store.create(name="x", dataset="mnist", spec={"layers": []}, settings={}, device="cpu")
    snapshots.remember(store, snap, rec.id)
    assert snapshots.find(store, snap) is None  # still running, no weights: not a usable snapshot
    store.save_weights(rec.id, {"w": torch.zeros(2)})
    store.update(rec.id, status="finished")
    assert snapshots.find(store, snap).id == rec.id
    monkeypatch.setenv("DLVIZ_LESSON_TINY", "1")  # another recipe: another fingerprint, trained anew
    assert snapshots.find(store, snap) is None
    monkeypatch.delenv("DLVIZ_LESSON_TINY")
    store.delete(rec.id)
    assert snapshots.find(store, snap) is None


def test_a_run_that_several_lessons_share_names_none_of_them():
    """The course's CNN is one run for lessons 3, 8 and 10 (same data, model, recipe): named after whichever lesson
    prepared it first, the Explain lesson's model picker read "convolution-filters · cnn"."""
    from dlviz.lessons import load_lessons, snapshots

    lessons = load_lessons()
    shared = [
        snapshots.run_name(lessons[i].snapshots["cnn"], lessons[i])
        for i in ("convolution-filters", "trust-explanations", "autoencoders-gan-compression")
    ]
    assert shared == ["lessons · cnn"] * 3
    first = lessons["first-network"]
    assert snapshots.run_name(first.snapshots["mlp"], first) == "first-network · mlp"  # its own: its lesson's name
    assert snapshots.job_for(first.snapshots["mlp"], first).name == "first-network · mlp"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_worksheet_has_guesses_reveals_and_curves(home, lang):
    from dlviz.lessons.worksheet import worksheet_html
    from dlviz.runs import RunStore

    store = RunStore()
    rec = store.create(name="<b>run</b>", dataset="mnist", spec={"layers": []}, settings={}, device="cpu")
    store.update(rec.id, metrics={"val": [[10, 1.0, 0.5, 0.8], [20, 2.0, 0.3, 0.9]]})
    lesson = parse_lesson(copy.deepcopy(GOOD))
    progress = {
        "answers": {"b": 0},
        "reveals": {
            "b": {"lines": [["{name}: test accuracy {acc}.", {"name": "r", "acc": "97.6%"}]], "runs": [rec.id]}
        },
    }
    page = worksheet_html(lesson, progress, store, lang=lang, date="2026-12-07")
    q = lesson.steps[1].question
    assert q.prompt(lang) in page and q.reveal(lang) in page
    assert q.choices[0](lang) in page  # the student's guess
    assert ("Not quite" if lang == "en" else "不太对") in page
    assert ("test accuracy 97.6%" if lang == "en" else "测试准确率 97.6%") in page
    assert "<polyline" in page and "&lt;b&gt;run&lt;/b&gt;" in page and "<b>run" not in page
    assert "http://" not in page and "https://" not in page and "<script" not in page  # offline, printable
    assert "@page" in page


def test_cli_lessons_list(home, capsys):
    from dlviz.__main__ import main

    assert main(["lessons", "list"]) == 0
    out = capsys.readouterr().out
    assert "first-network" in out and "runs ready: 0 of" in out
    assert main(["lessons", "prepare", "no-such-lesson"]) == 2


def test_lesson_files_are_plain_json():
    for path in DATA_DIR.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_lessons_core_does_not_import_streamlit():
    import subprocess
    import sys

    code = (
        "import sys, dlviz.lessons, dlviz.lessons.snapshots, dlviz.lessons.shortcut, dlviz.lessons.measures, "
        "dlviz.lessons.worksheet, dlviz.lessons.cli; assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_worked_example_in_the_docs_is_a_valid_lesson():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "lessons.md").read_text(encoding="utf-8")
    example = doc.split("## A worked example", 1)[1]
    block = re.search(r"```json\n(.*?)```", example, re.S).group(1)
    lesson = parse_lesson(json.loads(block), "cnn-vs-mlp.json")
    assert [s.id for s in lesson.steps] == ["cnn", "race"] and lesson.steps[1].question.answer == 1
    raw = json.loads(block)
    raw["steps"][0]["page"] = "bulid"  # the typo the page quotes
    with pytest.raises(LessonError) as info:
        parse_lesson(raw, "cnn-vs-mlp.json")
    assert "cnn-vs-mlp.json" in info.value.message("en")
    assert "step 1 (cnn).page: unknown page 'bulid'" in info.value.message("en")


def test_overfitting_lesson_trains_with_data_augmentation():
    """Lesson 5's third remedy (issue 16): its augmented snapshot and its train step move the training images, and
    the last question compares plain, dropout and augmented runs."""
    from dlviz.lessons import snapshots

    lesson = load_lessons()["overfitting"]
    aug = snapshots.config_of(lesson.snapshots["small-augment"]).augmentation
    assert aug.active and aug.shift > 0 and aug.rotate > 0 and not aug.flip  # never a mirrored digit
    assert not snapshots.config_of(lesson.snapshots["small"]).augmentation.active
    step = lesson.steps[lesson.step_index("augment")]
    assert step.action == "train" and step.snapshot == "small-augment"
    assert step.state["recipe"] == lesson.snapshots["small-augment"].recipe
    last = lesson.steps[-1]
    assert last.state["compare"] == ["small", "small-dropout", "small-augment"] and last.question.measure == "overfit"


def test_the_compression_lesson_uses_the_new_pages_action_measure_and_the_gan():
    from dlviz.lessons import load_lessons
    from dlviz.lessons import snapshots as snaps

    lesson = load_lessons()["autoencoders-gan-compression"]
    pages = [s.page for s in lesson.steps]
    assert {"autoencoder", "train", "compress"} <= set(pages)
    assert any(s.action == "compress" for s in lesson.steps)
    assert any(s.question and s.question.measure == "compression" for s in lesson.steps)
    gan = lesson.snapshots["gan"]
    assert snaps.spec_of(gan)["task"] == "generation" and snaps.config_of(gan).lr == 2e-4
    # its CNN is lesson 3's: prepared once for both
    assert snaps.fingerprint(lesson.snapshots["cnn"]) == snaps.fingerprint(
        load_lessons()["convolution-filters"].snapshots["cnn"]
    )
