"""Every step of every lesson, walked in the app (AppTest) with its required action, in English and Chinese.

DLVIZ_LESSON_TINY=1 makes every lesson recipe 1 epoch on 600 images, so a walk trains for seconds; the walk
does what a student does: presses Train, draws (a drawn digit put where the canvas puts it), changes a layer,
picks an answer and locks it in, waits for the lesson's runs, and checks each question's reveal is shown.
"""

from __future__ import annotations

import time

import pytest
import torch
from page_util import path_of

from dlviz.lessons import load_lessons
from dlviz.lessons import snapshots as snaps

LESSONS = load_lessons()


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setenv("DLVIZ_LESSON_TINY", "1")


@pytest.fixture
def data_dir(mnist_dir, monkeypatch):
    """The shared data folder: MNIST and rt-polarity (the text lessons') side by side."""
    folder = mnist_dir.parent
    if not (folder / "rt-polarity" / "rt-polarity.pos").exists():
        pytest.skip("../shared/data/rt-polarity is not present")
    monkeypatch.setenv("DLVIZ_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, mnist_dir):
    """Every lesson's tiny snapshots, trained once for the module (what `lessons prepare` does before class)."""
    import os

    from dlviz.runs import RunStore

    folder = tmp_path_factory.mktemp("prepared") / "home"
    old = {k: os.environ.get(k) for k in ("DLVIZ_HOME", "DLVIZ_LESSON_TINY")}
    os.environ.update(DLVIZ_HOME=str(folder), DLVIZ_LESSON_TINY="1")
    try:
        done = snaps.prepare(RunStore(), LESSONS.values(), data_dir=str(mnist_dir.parent), say=lambda s: None)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert all(d[2][:1].isdigit() for d in done), done
    return folder


def _copy_home(prepared, home):
    import shutil

    shutil.copytree(prepared, home, dirs_exist_ok=True)


def _texts(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def _run_until(at, cond, timeout: float = 90):
    end = time.time() + timeout
    while time.time() < end:
        at.run()
        assert not at.exception, at.exception
        if cond(at):
            return at
        time.sleep(0.3)
    raise AssertionError("timed out: " + _texts(at)[-2000:])


def _progress(at, lesson_id):
    return at.session_state["_lsn"]["lessons"][lesson_id]


def _next_enabled(at) -> bool:
    buttons = [b for b in at.button if b.key == "_lsn_next"]
    return bool(buttons) and not buttons[0].disabled


def _do_action(at, lesson, step):
    from dlviz.ui.inspect_state import InputImage

    if step.action == "train":
        assert step.page == "train"
        at.button(key="train_btn").click().run()
        assert not at.exception, at.exception
        _run_until(at, _next_enabled, timeout=120)
    elif step.action == "draw":  # what the canvas does: a drawn digit becomes the input
        x = torch.zeros(1, 28, 28)
        x[0, 6:22, 13:15] = 1.0  # a "1"
        at.session_state["_insp_mode"] = at.session_state["_inspw_mode"] = "draw"
        at.session_state["_insp_input"] = InputImage(x=x, label=None, caption="drawn", source="drawn")
        at.run()
        assert at.session_state["_insp_input"].source == "drawn"
    elif step.action == "compress":  # the Compress page's button, with the settings it shows
        assert step.page == "compress"
        at.button(key="compress_btn").click().run()
        assert not at.exception, at.exception
        _run_until(at, _next_enabled, timeout=120)
    elif step.action == "change_layer":
        spec = at.session_state["spec"]
        layers = [dict(layer) for layer in spec["layers"]]
        dense = next(i for i, layer in enumerate(layers) if layer["type"] == "dense")
        layers[dense]["units"] = int(layers[dense]["units"]) * 2
        at.session_state["spec"] = {**spec, "layers": layers}
        at.run()


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("lesson_id", list(LESSONS))
def test_walk_every_step(app, tiny, prepared, home, data_dir, monkeypatch, lesson_id, lang):
    lesson = LESSONS[lesson_id]
    _copy_home(prepared, home)
    if lang == "zh":
        # AppTest calls a widget's format_func (t(...)) in the test's own thread too, where the session's language
        # cannot be read: there t would answer in English and the widget's zh options would not match. Every t in
        # the app goes through dlviz.ui.state.translate: give it the walk's language in both threads.
        from dlviz.i18n import translate
        from dlviz.ui import state

        monkeypatch.setattr(state, "translate", lambda text, _lang=None, /, **kw: translate(text, lang, **kw))
    at = app(timeout=120)
    at.run()
    at.session_state["lang"] = lang
    at.run()
    assert lesson.title(lang) in _texts(at)  # the Start page lists it
    at.button(key=f"_lsn_start_{lesson_id}").click().run()
    assert not at.exception, at.exception
    for i, step in enumerate(lesson.steps):
        assert _progress(at, lesson_id)["step"] == i
        # the runs the step opens are trained once, with progress, if `lessons prepare` did not
        _run_until(at, lambda a: not a.session_state["_lsn_waiting"] if "_lsn_waiting" in a.session_state else True)
        assert step.text(lang) in _texts(at), (step.id, lang)
        marked = (step.state.get("input") or {}).get("shortcut_index")
        if marked is not None and step.page == "inspect":  # the marked digit says what it is beside the canvas
            from dlviz.i18n import translate

            assert translate("Test image {i} with the mark of its label", lang, i=marked) in _texts(at), step.id
        if step.question is not None:
            assert step.question.prompt(lang) in _texts(at)
            assert not _next_enabled(at)  # a guess first
            at.radio(key=f"_lsn_choice_{lesson_id}_{step.id}_{lang}").set_value(0).run()
            at.button(key=f"_lsn_guess_{lesson_id}_{step.id}").click().run()
            assert not at.exception, at.exception
        if step.action not in ("next", "answer"):
            assert not _next_enabled(at), (step.id, "the action is required")
            _do_action(at, lesson, step)
        if step.question is not None:
            reveal = _texts(at)
            assert step.question.reveal(lang) in reveal, (step.id, reveal[-1500:])
            lines = _progress(at, lesson_id)["reveals"][step.id]["lines"]
            if step.question.measure:
                assert lines, step.id  # measured numbers beside the guess
        assert _next_enabled(at), step.id
        at.button(key="_lsn_next").click().run()
        assert not at.exception, at.exception
        assert step.id in _progress(at, lesson_id)["done"]
    assert _progress(at, lesson_id).get("finished")
    assert at.session_state["_lsn"]["active"] is None


def _scrolls_to_top(at) -> bool:
    return any("scrollTo(0, 0)" in h.proto.body for h in at.get("html"))


def test_entering_a_step_scrolls_its_page_to_the_top(app, tiny):
    """A page switch keeps the scroll of the page before (in Chromium, a lesson started far down the Start page
    opened its first page 777-852 px down, the step's text out of sight, on a just-started server). Entering a step
    (Start, Next, Back) puts a script on its page that scrolls to the top, once: not on the page's later runs."""
    at = app()
    at.run()
    assert not _scrolls_to_top(at)
    at.button(key="_lsn_start_first-network").click().run()
    assert not at.exception, at.exception
    assert _scrolls_to_top(at)
    at.run()  # the same step, drawn again (a widget moved): the student's own scroll stays
    assert not _scrolls_to_top(at)
    at.button(key="_lsn_next").click().run()
    assert _progress(at, "first-network")["step"] == 1 and _scrolls_to_top(at)


def test_hide_resume_and_refresh(app, tiny):
    """Hide the lesson (the page alone), show it again, leave and resume at the same step; a new session with the
    same ?s= (a refresh) finds the lesson where it was."""
    lesson = LESSONS["first-network"]
    at = app()
    at.run()
    at.button(key="_lsn_start_first-network").click().run()
    at.button(key="_lsn_next").click().run()  # step 2: the Build page
    assert _progress(at, "first-network")["step"] == 1
    assert at.session_state["spec"]["name"] == "mlp"
    at.button(key="_lsn_hide").click().run()
    assert lesson.steps[1].text("en") not in _texts(at)
    at.button(key="_lsn_show").click().run()
    assert lesson.steps[1].text("en") in _texts(at)
    at.button(key="_lsn_leave").click().run()
    assert lesson.steps[1].text("en") not in _texts(at)
    sid = at.session_state["sid"]
    again = app()
    again.query_params["s"] = sid
    again.run()
    assert again.button(key="_lsn_start_first-network").label == "Resume"
    again.button(key="_lsn_start_first-network").click().run()
    assert lesson.steps[1].text("en") in _texts(again)


def test_train_step_opens_the_prepared_run(app, tiny, home, mnist_dir):
    """After `lessons prepare`, a train step offers the prepared run: one click, no waiting."""
    from dlviz.runs import RunStore

    lesson = LESSONS["first-network"]
    done = snaps.prepare(RunStore(), [lesson], data_dir=str(mnist_dir), say=lambda s: None)
    run_id = done[0][2]
    at = app()
    at.run()
    at.button(key="_lsn_start_first-network").click().run()
    at.button(key="_lsn_next").click().run()
    at.radio(key="_lsn_choice_first-network_build_en").set_value(1).run()
    at.button(key="_lsn_guess_first-network_build").click().run()
    at.button(key="_lsn_next").click().run()
    at.radio(key="_lsn_choice_first-network_train_en").set_value(2).run()
    at.button(key="_lsn_guess_first-network_train").click().run()
    assert not _next_enabled(at)
    waiting = path_of(at.main, "_lsn_next")  # under the hint, the watch and the prepared run's button
    at.button(key="_lsn_use_snapshot").click().run()
    assert at.session_state["run_id"] == run_id
    assert _next_enabled(at)
    assert "Right: About 97.5%" in _texts(at)
    # the row keeps its place now that those are gone (else the browser shows a stale, disabled Next beside the new)
    assert waiting is not None and path_of(at.main, "_lsn_next") == waiting


@pytest.mark.slow
def test_first_use_trains_the_snapshot_with_progress(app, tiny):
    """Without `lessons prepare`, a step that opens a run trains it once (a progress bar, the step waits), then
    opens it; the run is kept for the next time."""
    from dlviz.runs import RunStore

    lesson = LESSONS["convolution-filters"]
    at = app(timeout=120)
    at.run()
    at.button(key="_lsn_start_convolution-filters").click().run()
    assert not at.exception, at.exception
    assert at.session_state["_lsn_waiting"] is True
    assert any("Preparing cnn for this lesson" in p.text for p in at.get("progress"))
    assert not _next_enabled(at) and not at.radio  # no question before its run exists
    _run_until(at, lambda a: "_lsn_waiting" not in a.session_state, timeout=120)
    rec = snaps.find(RunStore(), lesson.snapshots["cnn"])
    assert rec is not None and at.session_state["run_id"] == rec.id  # trained, kept and opened
    assert lesson.steps[0].question.prompt("en") in _texts(at)


def _warmed_start_page(app, prepared, home, monkeypatch):
    """The Start page of a server whose lessons are prepared, its lesson-views warm-up started by that page (once
    per process) and finished; the process's shared caches start empty. Returns the AppTest."""
    from dlviz.ui import cache, lesson_widgets
    from dlviz.ui.cache import Bounded

    _copy_home(prepared, home)
    monkeypatch.setattr(cache, "_SHARED", {})  # nothing left from another test
    monkeypatch.setattr(cache, "_SHARED_DICTS", Bounded(64))
    monkeypatch.setattr(lesson_widgets, "_VIEWS_WARMED", __import__("threading").Event())
    started = []
    real = lesson_widgets.warm_lesson_views
    monkeypatch.setattr(
        lesson_widgets, "warm_lesson_views", lambda found, d: started.append(real(found, d)) or started[-1]
    )
    at = app(timeout=120)
    at.run()  # the Start page: it starts the warm-up (once per process)
    assert not at.exception, at.exception
    assert len(started) == 1 and started[0] is not None
    started[0].join(120)
    return at


@pytest.mark.slow
def test_the_explain_step_of_a_prepared_lesson_is_explained_before_the_first_student(
    app, tiny, prepared, home, data_dir, monkeypatch
):
    """warm_lesson_views also explains the Explain step's test image with the step's methods into the dict every
    session shares (dlviz.ui.explain_widgets.warm_lesson_maps), so the first student's Explain step computes no map.
    The keys must be the page's own: the test fails if the warm-up's input, class or settings differ from them."""
    from dlviz.explain import registry
    from dlviz.ui import cache

    at = _warmed_start_page(app, prepared, home, monkeypatch)
    maps = [d for k, d in cache._SHARED_DICTS.items() if k[0] == "_exp_cache"]
    assert len(maps) == 1 and len(maps[0]) == 3  # the lesson's CNN: saliency, IG, guided Grad-CAM of image 0
    calls = []
    real_explain = registry.explain
    monkeypatch.setattr(registry, "explain", lambda *a, **k: calls.append(a[3]) or real_explain(*a, **k))
    at.button(key="_lsn_start_trust-explanations").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Why ") for s in at.subheader)  # the maps are drawn
    assert calls == []  # they came from the warm-up


@pytest.mark.slow
def test_the_filters_step_of_a_prepared_lesson_is_scored_before_the_first_student(
    app, tiny, prepared, home, data_dir, monkeypatch
):
    """dlviz.ui.lesson_widgets.warm_lesson_views: the Start page starts it; it scores the prepared CNN's units for
    the Filters step into the cache every session shares, so the first student's Filters step scores nothing."""
    from dlviz.ui import cache, filters_widgets
    from dlviz.ui.cache import Bounded

    at = _warmed_start_page(app, prepared, home, monkeypatch)
    scored = cache._SHARED.get("_filt_scores")
    assert isinstance(scored, Bounded) and len(scored) == 1  # the lesson's CNN, its first layer, 2,000 images
    calls = []
    real_scores = filters_widgets.unit_scores
    monkeypatch.setattr(filters_widgets, "unit_scores", lambda *a, **k: calls.append(1) or real_scores(*a, **k))
    at.button(key="_lsn_start_convolution-filters").click().run()
    assert not at.exception, at.exception
    assert "Unit (0 to" in " ".join(n.label for n in at.number_input)  # the unit explorer is drawn
    assert calls == []  # its scores came from the warm-up


_NO_DYNAMO = """
import os, sys, threading
from streamlit.testing.v1 import AppTest
from dlviz.lessons import load_lessons
for lesson_id in load_lessons():
    at = AppTest.from_file(os.path.abspath("app.py"), default_timeout=120)
    at.run()
    at.button(key="_lsn_start_" + lesson_id).click().run()
    assert not at.exception, (lesson_id, at.exception)
    print(lesson_id, "torch._dynamo" in sys.modules, flush=True)
for th in threading.enumerate():
    if th.name.startswith("dlviz-"):
        th.join(120)  # the warm-ups the Start page started
print("warm-ups done", "torch._dynamo" in sys.modules, flush=True)
"""


@pytest.mark.slow
def test_a_server_that_opens_every_lesson_never_imports_torch_dynamo(prepared, tmp_path, data_dir):
    """torch._dynamo costs 0.8-2.6 s of CPU to import, once per process. A just-started server's first pages
    share two cores with its warm-ups and the student's browser (issue 18), so nothing its pages or warm-ups do
    may import it: the model-cost estimate works on shapes by hand (dlviz.models.layers, "costs on shapes"),
    and training imports it in its own process. A fresh interpreter opens the Start page and every lesson's
    first step, waits for the warm-ups, and must not have imported it."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    home = tmp_path / "home"
    _copy_home(prepared, home)
    env = dict(os.environ, DLVIZ_HOME=str(home), DLVIZ_LESSON_TINY="1", DLVIZ_OFFLINE="1", DLVIZ_DATA_DIR=str(data_dir))
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", _NO_DYNAMO], cwd=ROOT, env=env, capture_output=True, text=True, timeout=480
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.split(" ")[0] in {*LESSONS, "warm-ups"}]
    assert out.returncode == 0 and len(lines) == len(LESSONS) + 1, out.stdout[-2000:] + out.stderr[-3000:]
    assert all(ln.endswith("False") for ln in lines), "\n".join(lines)
