"""Lessons in the app: the lesson panel on top of the page a step opens, the trail (done, current, next), the
predict-then-reveal question, the lesson list on the Start page and the worksheet download.

A step sets the same session state the pages read (the dataset, the model, the Train page's recipe, the open
run, the Inspect/Explain input, the Explain methods), opens its page, outlines the controls it names and greys
out those it locks. The student's place, guesses and reveals are saved beside the session file
(``$DLVIZ_HOME/sessions/<sid>.lessons.json``), so a refresh, leaving and resuming keep them.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import streamlit as st

from dlviz.classroom.guesses import Guesses
from dlviz.classroom.pushed import PushBoard
from dlviz.classroom.roster import Roster
from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.lessons import Lesson, Step, load_lessons_safe, measure, snapshots
from dlviz.lessons.model import scaled_recipe
from dlviz.runs import dlviz_home
from dlviz.ui import keys as K
from dlviz.ui.class_locks import pushed
from dlviz.ui.classroom import me
from dlviz.ui.plain import plain_args
from dlviz.ui.screen import ask_to_top, to_top_if_asked
from dlviz.ui.state import (
    get_executor,
    get_store,
    open_run,
    save_session,
    set_dataset,
    set_spec,
    t,
    warm_datasets,
)

KEY = K.LSN  # the progress dict in the session
ACTION_HINTS = {
    "next": N_("Press Next when you are ready."),
    "train": N_("Press Train on this page and wait for the run to finish."),
    "draw": N_("Choose Draw and draw a digit in the box."),
    "change_layer": N_("Change the model: add, remove or change a layer."),
    "answer": N_("Pick your answer."),
    "compress": N_("Choose the settings and press Compress."),
}


_VIEWS_WARMED = threading.Event()  # set once warm_lesson_views has started in this process


def warm_lesson_views(found: dict[str, Lesson], data_dir: str) -> threading.Thread | None:
    """Once per server process, in a daemon thread, after the explanation warm-up: what the lessons' Filters and
    Explain steps compute first from their prepared runs (the unit scores and the first forward pass; the maps of
    the step's test image), into the cache every session shares. The first student's step then costs what the
    next one's does (issue 18: the first open of the Filters step took 1.8-2.2 s, the next ones 0.4-0.8 s). Only
    runs `lessons prepare` or an earlier open already trained; nothing is trained or downloaded here."""
    if _VIEWS_WARMED.is_set():
        return None
    _VIEWS_WARMED.set()
    th = threading.Thread(
        target=_warm_views, args=(dict(found), data_dir), daemon=True, name="dlviz-lesson-views-warm-up"
    )
    th.start()
    return th


def _warm_views(found: dict[str, Lesson], data_dir: str) -> None:
    from dlviz.data import get_info
    from dlviz.explain import warm
    from dlviz.models import build
    from dlviz.runs import RunStore
    from dlviz.ui.explain_widgets import DEFAULT_METHODS, warm_lesson_maps
    from dlviz.ui.filters_widgets import warm_lesson_scores
    from dlviz.ui.look import with_weights
    from dlviz.ui.state import _cached_dataset

    warm.wait(120)  # the first page's own warm-ups go first
    try:
        store = RunStore()
    except Exception:  # noqa: BLE001 - no store to read (a home being removed): nothing to warm
        return
    models: dict[str, object] = {}  # run id -> its model: a run that several steps open is built once
    for lesson in found.values():
        for step in lesson.steps:
            key = step.state.get("run")
            if step.page not in ("filters", "explain") or not key or key not in lesson.snapshots:
                continue
            try:
                rec = snapshots.find(store, lesson.snapshots[key])
                if rec is None:
                    continue
                info = get_info(rec.dataset)
                if info.kind != "image":
                    continue  # a text run's Explain step: its words are explained by the page
                model = models.get(rec.id)
                if model is None:
                    model = models[rec.id] = with_weights(
                        build(rec.spec, info.input_shape, info.num_classes, budget=False).module, rec, None, store
                    )
                data = _cached_dataset(rec.dataset, data_dir)
                if step.page == "filters":
                    warm_lesson_scores(rec, model, data)
                elif set(step.state.get("input") or {}) <= {"test_index"}:  # a test image (the page's own: 0)
                    shown = int((step.state.get("input") or {}).get("test_index", 0))
                    warm_lesson_maps(rec, model, data, step.state.get("method") or DEFAULT_METHODS, shown)
            except Exception:  # noqa: BLE001 - a warm-up never fails anything: the page computes it and says why
                continue


def lessons() -> dict[str, Lesson]:
    found, problems = load_lessons_safe()
    st.session_state[K.LSN_PROBLEMS] = problems
    return found


def _file():
    folder = dlviz_home() / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{st.session_state[K.SID]}.lessons.json"


def progress() -> dict:
    """This browser session's lesson progress: read once from the file beside the session, then kept here."""
    ss = st.session_state
    if KEY not in ss:
        data = {}
        try:
            data = json.loads(_file().read_text(encoding="utf-8"))
        except (OSError, ValueError, AttributeError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data.setdefault("active", None)  # the lesson being followed (None: none, or left)
        data.setdefault("hidden", False)  # "show me the page without the lesson"
        data.setdefault("lessons", {})  # id -> {"step": i, "done": [...], "answers": {}, "reveals": {}, "entry": {}}
        ss[KEY] = data
    return ss[KEY]


def save_progress() -> None:
    try:
        path = _file()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(progress()), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: the lesson simply is not restored after a refresh


def lesson_state(lesson_id: str) -> dict:
    p = progress()["lessons"].setdefault(lesson_id, {})
    p.setdefault("step", 0)
    p.setdefault("done", [])
    p.setdefault("answers", {})
    p.setdefault("reveals", {})
    p.setdefault("entry", {})
    p.setdefault("runs", {})
    return p


def _spec_hash(spec) -> str:
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def _input_hash() -> str:
    inp = st.session_state.get(K.INSP_INPUT)
    if inp is None:
        return ""
    try:
        return hashlib.sha1(inp.x.numpy().tobytes()).hexdigest()[:12] + str(getattr(inp, "source", ""))
    except (AttributeError, RuntimeError, TypeError):
        return ""


# ---------------------------------------------------------------------------------------------------------
# Setting the app's state from a step


def _set_recipe(recipe: dict) -> None:
    """The Train page's settings, as if the student had typed them: its saved settings and its widgets."""
    ss = st.session_state
    spec = ss[K.SPEC]
    settings = {**dict(ss.get("train_settings") or {}), **scaled_recipe(recipe)}
    settings["for_model"] = f"{spec.get('name')}@{ss.get('dataset')}"
    ss[K.TRAIN_SETTINGS] = settings
    for k in [k for k in ss if isinstance(k, str) and k.startswith(K.train_setting(""))]:
        del ss[k]  # the form seeds its widgets from the saved settings again


def _set_input(inp: dict) -> None:
    import torch

    from dlviz.ui.inspect_state import InputImage

    ss = st.session_state
    if "test_index" in inp:
        i = int(inp["test_index"])
        for widget, keep, value in (
            (K.INSPW_MODE, K.INSP_MODE, "test"),
            (K.INSPW_CLASS, K.INSP_CLASS, 0),
            (K.INSPW_POS, K.INSP_POS, i),
        ):
            ss[keep] = value
            ss[widget] = value
        ss[K.INSP_INPUT] = InputImage(x=torch.zeros(1, 28, 28), label=None, caption="", source="test", index=i)
    elif "shortcut_index" in inp:
        from dlviz.lessons.shortcut import shortcut_image
        from dlviz.ui.state import get_data

        data = get_data("mnist")
        x, label, _ = shortcut_image(data, int(inp["shortcut_index"]))
        ss[K.INSP_MODE] = ss[K.INSPW_MODE] = "draw"
        ss.pop(K.INSP_DRAWING_JSON, None)
        ss[K.INSP_INPUT] = InputImage(
            x=x,
            label=None,
            caption=t("Test image {i} with the mark of its label", i=int(inp["shortcut_index"])),
            source="drawn",
        )


def _set_methods(methods) -> None:
    ss = st.session_state
    ss["_exp_methods"] = list(methods) if isinstance(methods, list) else [methods]
    for k in [k for k in ss if isinstance(k, str) and k.startswith("_expw_methods")]:
        del ss[k]


def _snapshot_run(lesson: Lesson, key: str) -> str | None:
    rec = snapshots.find(get_store(), lesson.snapshots[key])
    return rec.id if rec else None


def _needed(lesson: Lesson, step: Step) -> list[str]:
    keys = list(step.state.get("compare") or [])
    if step.state.get("run"):
        keys.append(step.state["run"])
    return keys


def apply_state(lesson: Lesson, step: Step) -> None:
    """Set what ``step`` sets, in the order the pages depend on: dataset, model, recipe, run, input, methods."""
    ss = st.session_state
    state = step.state
    if "dataset" in state and ss.get(K.DATASET) != state["dataset"]:
        set_dataset(state["dataset"])  # the sidebar's Dataset box too: it put the old one back otherwise
    if "preset" in state:
        from dlviz.models.gan import GAN_PRESETS
        from dlviz.ui.gan_widgets import CLASSIFY, GENERATE

        name = state["preset"]
        # the Train page trains the GAN when its "What to train" choice says so, and the Build page's model else
        ss[K.TR_TASK] = ss[K.TR_TASK_KEPT] = GENERATE if name in GAN_PRESETS else CLASSIFY
        if name in GAN_PRESETS:
            pass  # the Build page's model stays as it is
        elif name in lesson.snapshots:
            set_spec(snapshots.spec_of(lesson.snapshots[name]))
        else:
            from dlviz.models import PRESETS

            set_spec(PRESETS[name].copy_spec())
    if "recipe" in state:
        _set_recipe(state["recipe"])
    _apply_runs(lesson, step)
    if "input" in state:
        _set_input(state["input"])
    if "method" in state:
        _set_methods(state["method"])
    if "sentence" in state:  # the text pages' sentence box, as if typed (kept per language of the data)
        from dlviz.data.registry import ALL_DATASETS

        info = ALL_DATASETS.get(ss.get(K.DATASET))
        language = getattr(info, "language", None) or "en"
        ss[K.sentence(language)] = state["sentence"]
        ss[K.TYPED] = {**(ss.get(K.TYPED) or {}), language: state["sentence"]}
    save_session()


def _apply_runs(lesson: Lesson, step: Step) -> bool:
    """Open the step's run and fill the Runs page's comparison; False while a snapshot is still missing."""
    ss = st.session_state
    ids = {k: _snapshot_run(lesson, k) for k in _needed(lesson, step)}
    if any(v is None for v in ids.values()):
        return False
    if step.state.get("run"):
        open_run(ids[step.state["run"]])
    if step.state.get("compare"):
        ss[K.RUNS_COMPARE] = [ids[k] for k in step.state["compare"]]
    return True


def enter_step(lesson: Lesson, index: int, switch: bool = True) -> None:
    ss = st.session_state
    p = lesson_state(lesson.id)
    index = max(0, min(index, len(lesson.steps) - 1))
    p["step"] = index
    step = lesson.steps[index]
    apply_state(lesson, step)
    entry = {"t": time.time(), "spec": _spec_hash(ss[K.SPEC]), "input": _input_hash(), "run": ss.get(K.RUN_ID)}
    p["entry"][step.id] = entry
    progress()["active"] = lesson.id
    progress()["hidden"] = False
    save_progress()
    ask_to_top()  # the step's text is at the top of its page
    if switch:
        st.switch_page(f"pages/{step.page}.py")


def _go(lesson: Lesson, index: int, done_step: str | None = None) -> None:
    """Back / Next (a button callback): mark the step done, set the new step's state; the page switch follows
    at the top of the next run (st.switch_page cannot run in a callback)."""
    lp = lesson_state(lesson.id)
    if done_step is not None and done_step not in lp["done"]:
        lp["done"].append(done_step)
    enter_step(lesson, index, switch=False)
    st.session_state[K.LSN_GOTO] = lesson.steps[lp["step"]].page


def _finish(lesson: Lesson, done_step: str) -> None:
    lp = lesson_state(lesson.id)
    if done_step not in lp["done"]:
        lp["done"].append(done_step)
    lp["finished"] = True
    leave()
    st.session_state[K.LSN_GOTO] = "home"


def start(lesson: Lesson, switch: bool = True) -> None:
    """Start ``lesson``, or resume it at the step the student left it. As a button callback (``switch`` False) the
    page switch follows at the top of the next run, before the Start page draws anything (issue 18: the click's
    run of the Start page took 0.17-0.20 s on a just-started server)."""
    p = lesson_state(lesson.id)
    if len(p["done"]) >= len(lesson.steps):  # done before: start again from the first step, answers kept
        p["done"] = []
        p["step"] = 0
    enter_step(lesson, p["step"], switch=switch)
    if not switch:
        st.session_state[K.LSN_GOTO] = lesson.steps[lesson_state(lesson.id)["step"]].page


def leave() -> None:
    progress()["active"] = None
    save_progress()


# ---------------------------------------------------------------------------------------------------------
# Whether the step's action is done


def action_done(lesson: Lesson, step: Step) -> bool:
    ss = st.session_state
    p = lesson_state(lesson.id)
    entry = p["entry"].get(step.id) or {}
    if step.question is not None and step.id not in p["answers"] and not _teacher_revealed(lesson, step):
        return False
    if step.action in ("next", "answer"):
        return True
    if step.action == "train":
        if p["runs"].get(step.id):
            return True
        rid = ss.get(K.RUN_ID)
        if not rid or rid == entry.get("run"):
            return False
        try:
            rec = get_store().get(rid)
        except DlvizError:
            return False
        if rec.status == "finished" and rec.created >= entry.get("t", 0) - 1:
            p["runs"][step.id] = rid
            save_progress()
            return True
        return False
    if step.action == "draw":
        inp = ss.get(K.INSP_INPUT)
        return getattr(inp, "source", None) == "drawn" and _input_hash() != entry.get("input")
    if step.action == "change_layer":
        return _spec_hash(ss[K.SPEC]) != entry.get("spec")
    if step.action == "compress":  # a variant of the open run, made on this step (the Compress page's button)
        if p["runs"].get(step.id):
            return True
        from dlviz.compress import origin_of, variants

        rid = ss.get(K.RUN_ID)
        if not rid:
            return False
        try:
            origin = origin_of(get_store().get(rid))
            made = [r for r in variants(get_store(), origin) if r.created >= entry.get("t", 0) - 1]
        except DlvizError:
            return False
        if made:
            p["runs"][step.id] = origin
            save_progress()
            return True
        return False
    return False


# ---------------------------------------------------------------------------------------------------------
# The panel


def _css(step: Step) -> None:
    rules = []
    for key in step.highlight:
        rules.append(f".st-key-{key} {{ outline: 3px solid #E69F00; outline-offset: 4px; border-radius: 6px; }}")
    for key in step.lock:
        rules.append(f".st-key-{key} {{ opacity: 0.45; pointer-events: none; }}")
    if rules:
        st.html("<style>" + "\n".join(rules) + "</style>")


def _trail(lesson: Lesson, p: dict, current: int) -> str:
    marks = []
    for i, s in enumerate(lesson.steps):
        if i == current:
            marks.append(f"**:orange[● {i + 1}]**")
        elif s.id in p["done"]:
            marks.append(f":green[✓ {i + 1}]")
        else:
            marks.append(f":gray[○ {i + 1}]")
    return " · ".join(marks)


def _pending_snapshots(lesson: Lesson, step: Step) -> None:
    """Train the snapshots this step needs once (the run store keeps them), with progress; then apply them."""
    ss = st.session_state
    store = get_store()
    jobs = ss.setdefault(K.LSN_JOBS, {})
    ex = get_executor()
    waiting = []
    for key in _needed(lesson, step):
        snap = lesson.snapshots[key]
        if snapshots.find(store, snap) is not None:
            continue
        fp = snapshots.fingerprint(snap)
        job = jobs.get(fp)
        if job is None or not ex.has(job):
            data_dir = ss.get(K.DATA_DIR) or None
            jobs[fp] = ex.submit(snapshots.job_for(snap, lesson, data_dir))
            job = jobs[fp]
        s = ex.snapshot(job)
        if s.done:
            if s.status == "finished" and s.run_id:
                snapshots.remember(store, snap, s.run_id)
                continue
            st.error(t("Preparing {name} failed: {why}", name=key, why=t(s.text, **(s.text_args or {}))))
            jobs.pop(fp, None)
            return
        waiting.append((key, s))
    if not waiting:
        if _apply_runs(lesson, step):
            ss.pop(K.LSN_WAITING, None)
            return
    ss[K.LSN_WAITING] = True
    for key, s in waiting:
        frac = 0.0
        if s.progress is not None and s.progress.total_steps:
            frac = s.progress.step / s.progress.total_steps
        st.progress(
            min(max(float(frac), 0.0), 1.0),
            text=t(
                "Preparing {name} for this lesson (trained once, then kept; `python -m dlviz lessons prepare` does "
                "it before class)...",
                name=key,
            ),
        )


@st.fragment(run_every=1.0)
def _waiting(lesson: Lesson, step: Step) -> None:
    _pending_snapshots(lesson, step)
    if not st.session_state.get(K.LSN_WAITING):
        st.rerun()


@st.fragment(run_every=1.0)
def _watch(lesson: Lesson, step: Step) -> None:
    """The page below the panel does the step's action (draws, changes the model, adopts the trained run) after
    the panel was drawn: look again every second, and redraw the page once it is done (Next lights up)."""
    if action_done(lesson, step):
        st.rerun()


# ---------------------------------------------------------------------------------------------------------
# In a class: the students' guesses for the teacher, the teacher's histogram and reveal


def class_led(lesson: Lesson) -> bool:
    """In a class, the teacher leads ``lesson`` (pushed it to the students): a student's reveal waits for theirs."""
    p = pushed()
    return bool(p.lesson and p.lesson.get("id") == lesson.id)


def _teacher_revealed(lesson: Lesson, step: Step) -> bool:
    return me().teacher and step.question is not None and Guesses().revealed(lesson.id, step.id)


def waits_for_teacher(lesson: Lesson, step: Step) -> bool:
    """A student in a lesson the teacher leads, the answer not yet revealed to the class."""
    return (
        me().student and step.question is not None and class_led(lesson) and not Guesses().revealed(lesson.id, step.id)
    )


@st.fragment(run_every=2.0)
def _await_reveal(lesson: Lesson, step: Step) -> None:
    """A student's open lesson looks every two seconds whether the teacher revealed the answer."""
    if Guesses().revealed(lesson.id, step.id):
        st.rerun()
    st.info(t("Your guess is in. The teacher reveals the answer to the whole class."), icon=":material/hourglass_top:")


def _bring_class(lesson: Lesson, index: int) -> None:
    PushBoard().push(lesson={"id": lesson.id, "step": index})
    st.toast(t("The class is brought to step {i}.", i=index + 1), icon=":material/campaign:")


def _reveal_to_class(lesson: Lesson, step: Step, on: bool) -> None:
    Guesses().reveal(lesson.id, step.id, on)


@st.fragment(run_every=2.0)
def class_guesses(lesson: Lesson, step: Step) -> None:
    """The teacher's view of a question step: the class's guesses as a histogram (new ones arrive every two
    seconds) and the button that reveals the answer to everyone."""
    from dlviz.plots import guess_histogram

    lang = st.session_state.get(K.LANG, "en")
    q = step.question
    g = Guesses()
    counts = g.counts(lesson.id, step.id, len(q.choices))
    revealed = g.revealed(lesson.id, step.id)
    was = st.session_state.get(K.LSN_CLASS_REVEAL_WAS)
    st.session_state[K.LSN_CLASS_REVEAL_WAS] = revealed
    if was is not None and was != revealed:
        st.rerun()  # the whole panel: the teacher's own reveal below shows (or goes)
    with st.container(border=True, key=K.lsn_lesson("class", lesson.id)):
        here = sum(1 for r in Roster().connected() if r.get("role") == "student")  # signed in the last minute
        head = f"**{t('The class guessed')}** · " + t("{n} guesses", n=sum(counts))
        st.markdown(head + (" · " + t("{n} students here", n=here) if here else ""))
        fig = guess_histogram(counts, [c(lang) for c in q.choices], answer=q.answer if revealed else None, tr=t)
        st.plotly_chart(fig, key=K.lsn_lesson("hist", f"{lesson.id}_{step.id}"), config={"displayModeBar": False})
        if revealed:
            st.caption(t("Revealed to the class."))
            st.button(
                t("Hide the answer again"),
                icon=":material/visibility_off:",
                key=K.LSN_CLASS_REVEAL,
                on_click=_reveal_to_class,
                args=(lesson, step, False),
            )
        else:
            st.button(
                t("Reveal the answer to everyone"),
                type="primary",
                icon=":material/campaign:",
                key=K.LSN_CLASS_REVEAL,
                on_click=_reveal_to_class,
                args=(lesson, step, True),
            )
        if sum(counts) or revealed:
            st.button(
                t("Clear the class's guesses"),
                icon=":material/delete_sweep:",
                type="tertiary",
                key=K.LSN_CLASS_CLEAR,
                on_click=lambda: Guesses().clear(lesson.id, step.id),
                help=t("Forget every guess on this question and hide the answer: ask the next class afresh."),
            )


def _question(lesson: Lesson, step: Step, p: dict, lang: str) -> None:
    q = step.question
    st.markdown(f"**{t('Predict')}:** {q.prompt(lang)}")
    guess = p["answers"].get(step.id)
    if guess is None:
        choice = st.radio(
            q.prompt(lang),
            list(range(len(q.choices))),
            format_func=lambda i: q.choices[i](lang),
            index=None,
            key=K.lsn_choice(lesson.id, step.id, lang),
            label_visibility="collapsed",
        )
        if st.button(t("Lock in my guess"), disabled=choice is None, key=K.lsn_guess(lesson.id, step.id)):
            p["answers"][step.id] = int(choice)
            save_progress()
            Guesses().guess(lesson.id, step.id, me(), int(choice))  # in a class: the teacher's histogram counts it
            st.rerun()
        return
    st.markdown(t("Your guess: {guess}", guess=q.choices[guess](lang)))


def reveal_line(tpl: str, args: dict) -> str:
    """One measured line of a reveal as Markdown: words filled in (a method's title, a verdict) translate too when
    known, as in DlvizError.message; every filled-in word is then shown as plain text (a run's name is typed by the
    student: ``**x** [a](javascript:...)`` must not become bold or a link)."""
    return t(tpl, **plain_args({k: t(v) if isinstance(v, str) else v for k, v in args.items()}))


def _reveal(lesson: Lesson, step: Step, p: dict, lang: str) -> None:
    q = step.question
    guess = p["answers"].get(step.id)
    if step.id not in p["reveals"]:
        lines = []
        ids = [p["runs"].get(step.id) or st.session_state.get(K.RUN_ID)]
        ids += [_snapshot_run(lesson, k) for k in step.state.get("compare") or []]
        ids = [i for i in dict.fromkeys(ids) if i]
        if q.measure:
            kw = {"data_dir": st.session_state.get(K.DATA_DIR) or None}
            inp = step.state.get("input", {})
            if "shortcut_index" in inp:
                kw["index"] = inp["shortcut_index"]
            if "test_index" in inp:
                kw["test_index"] = inp["test_index"]
            if step.state.get("sentence"):
                kw["sentence"] = step.state["sentence"]
            if step.state.get("method"):
                m = step.state["method"]
                kw["methods"] = m if isinstance(m, list) else [m]
            with st.spinner(t("Measuring...")):
                lines = measure(q.measure, get_store(), ids, **kw)
        p["reveals"][step.id] = {"lines": [[tpl, args] for tpl, args in lines], "runs": ids}
        save_progress()
    with st.container(border=True):
        st.markdown(f"**{t('What happened')}**")
        if q.answer is not None and guess is None:  # the teacher revealed without guessing
            st.markdown(":green[" + t("The answer: {answer}", answer=q.choices[q.answer](lang)) + "]")
        elif q.answer is not None:
            right = guess == q.answer
            st.markdown(
                (":green[" + t("Right: {answer}", answer=q.choices[q.answer](lang)) + "]")
                if right
                else (":orange[" + t("Not quite: the answer is {answer}", answer=q.choices[q.answer](lang)) + "]")
            )
        st.markdown(q.reveal(lang))
        for tpl, args in p["reveals"][step.id]["lines"]:
            st.markdown(f"- {reveal_line(tpl, args)}")
        if me().student and class_led(lesson):  # the class's guesses beside their own, once revealed
            from dlviz.plots import guess_histogram

            counts = Guesses().counts(lesson.id, step.id, len(q.choices))
            if sum(counts):
                st.plotly_chart(
                    guess_histogram(
                        counts, [c(lang) for c in q.choices], answer=q.answer, tr=t, title=t("How the class guessed")
                    ),
                    key=K.lsn_lesson("class_hist", f"{lesson.id}_{step.id}"),
                    config={"displayModeBar": False},
                )


def lesson_panel(page_file: str) -> None:
    """The active lesson's current step on top of the page ``page_file`` (pages/<name>.py) that calls it."""
    goto = st.session_state.pop(K.LSN_GOTO, None)
    if goto and os.path.splitext(os.path.basename(page_file))[0] != goto:
        st.switch_page(f"pages/{goto}.py")
    p = progress()
    if not p.get("active"):
        return
    all_lessons = lessons()
    lesson = all_lessons.get(p["active"])
    if lesson is None:
        leave()
        return
    lang = st.session_state.get(K.LANG, "en")
    lp = lesson_state(lesson.id)
    i = min(lp["step"], len(lesson.steps) - 1)
    step = lesson.steps[i]
    if step.id not in lp["entry"]:  # resumed after a refresh before the step was ever entered
        enter_step(lesson, i, switch=False)
    if p.get("hidden"):
        with st.container(horizontal=True, key=K.LSN_HIDDEN_BAR):
            st.caption(
                t("Lesson: {title}, step {i} of {n} (hidden).", title=lesson.title(lang), i=i + 1, n=len(lesson.steps))
            )
            if st.button(t("Show the lesson"), icon=":material/school:", key=K.LSN_SHOW):
                p["hidden"] = False
                save_progress()
                st.rerun()
        return
    here = os.path.splitext(os.path.basename(page_file))[0] == step.page
    if here:
        _css(step)
        to_top_if_asked()
    with st.container(border=True, key=K.LSN_PANEL):
        st.markdown(f"#### :material/school: {lesson.title(lang)}")
        st.markdown(_trail(lesson, lp, i))
        st.markdown(step.text(lang))
        if not here:
            st.info(t("This step is on another page."), icon=":material/info:")
            if st.button(t("Go to the step's page"), icon=":material/arrow_forward:", key=K.LSN_GOTO, type="primary"):
                st.switch_page(f"pages/{step.page}.py")
        # the runs the step opens or compares: trained here once if `lessons prepare` did not (a train step's own
        # snapshot is only offered when prepared: training it beside the student's run would halve both)
        needs = _needed(lesson, step)
        # everything that comes and goes (the wait, the question, the hint, the reveal) sits in one container, so
        # the button row below keeps its place: when it moved, the browser showed the old, disabled Finish beside
        # the new one until the run ended (the Chromium lesson test saw two)
        with st.container():
            if needs and (st.session_state.get(K.LSN_WAITING) or any(_snapshot_run(lesson, k) is None for k in needs)):
                _waiting(lesson, step)
            ready = not needs or all(_snapshot_run(lesson, k) is not None for k in needs)
            if ready and step.question is not None:
                _question(lesson, step, lp, lang)
                if me().teacher:
                    class_guesses(lesson, step)
            done = ready and action_done(lesson, step)
            waiting = done and waits_for_teacher(lesson, step)
            if not ready:
                pass
            elif waiting:
                _await_reveal(lesson, step)
            elif step.question is not None and (step.id in lp["answers"] or _teacher_revealed(lesson, step)) and done:
                _reveal(lesson, step, lp, lang)
            elif step.question is None or step.id in lp["answers"]:
                if step.action != "next" and not done:
                    st.caption(t(ACTION_HINTS[step.action]))
                    if step.action in ("train", "draw", "change_layer", "compress"):
                        _watch(lesson, step)
                    if step.action == "train" and step.snapshot:
                        rid = _snapshot_run(lesson, step.snapshot)
                        if rid and st.button(
                            t("Skip the wait: open the prepared run"), icon=":material/bolt:", key=K.LSN_USE_SNAPSHOT
                        ):
                            open_run(rid)
                            lp["runs"][step.id] = rid
                            save_progress()
                            st.rerun()
        row = st.container(horizontal=True)
        last = i == len(lesson.steps) - 1
        # Back and Next act in callbacks, before the next run starts: a click while a slow page is still
        # running (the Errors page scoring the test set) was lost now and then when handled in the script
        row.button(
            t("Back"),
            icon=":material/arrow_back:",
            disabled=i == 0,
            key=K.LSN_BACK,
            on_click=_go,
            args=(lesson, i - 1),
        )
        row.button(
            t("Finish") if last else t("Next"),
            type="primary",
            icon=":material/check:" if last else ":material/arrow_forward:",
            disabled=not done or waiting,
            key=K.LSN_NEXT,
            on_click=_finish if last else _go,
            args=(lesson, i + 1, step.id) if not last else (lesson, step.id),
        )
        if row.button(t("Show the page without the lesson"), icon=":material/visibility_off:", key=K.LSN_HIDE):
            p["hidden"] = True
            save_progress()
            st.rerun()
        if row.button(t("Leave the lesson"), icon=":material/logout:", key=K.LSN_LEAVE):
            leave()
            st.rerun()
        if me().teacher:  # in a class: pace the students, every one at the step on the projector
            row.button(
                t("Bring the class to this step"),
                icon=":material/campaign:",
                key=K.LSN_CLASS_HERE,
                on_click=_bring_class,
                args=(lesson, i),
                help=t("Every student's lesson opens at this step within a few seconds (the earlier push ends)."),
            )


# ---------------------------------------------------------------------------------------------------------
# The Start page's list and the worksheet


def lesson_list() -> None:
    """The lessons on the Start page: title, what it teaches, where the student is, Start / Resume / Again."""
    from dlviz.lessons.worksheet import worksheet_html

    lang = st.session_state.get(K.LANG, "en")
    found = lessons()
    # the datasets the lessons open with, read from disk in the background while the student picks one
    warm_datasets(lesson.steps[0].state.get("dataset") for lesson in found.values() if lesson.steps)
    warm_lesson_views(found, st.session_state.get(K.DATA_DIR) or "")
    st.subheader(t("Lessons"))
    st.caption(
        t(
            "Guided, hands-on lessons: each step opens a page, asks you to do something, and asks for your guess "
            "before it shows what happened."
        )
    )
    for e in st.session_state.get(K.LSN_PROBLEMS) or []:
        st.warning(e.message(lang), icon=":material/warning:")
    for lesson in found.values():
        lp = progress()["lessons"].get(lesson.id) or {}
        n_done = len(lp.get("done") or [])
        with st.container(border=True, key=K.lsn_lesson("card", lesson.id)):
            c1, c2 = st.columns([4, 1], vertical_alignment="center")
            with c1:
                st.markdown(f"**{lesson.order}. {lesson.title(lang)}**")
                st.caption(lesson.summary(lang))
                if lesson.later is not None:
                    st.caption(lesson.later(lang))
                if lp.get("finished"):
                    st.caption(":green[" + t("Done") + "]")
                elif n_done:
                    st.caption(t("Step {i} of {n}", i=min(n_done + 1, len(lesson.steps)), n=len(lesson.steps)))
            with c2:
                label = t("Resume") if n_done and not lp.get("finished") else t("Start")
                st.button(
                    label,
                    key=K.lsn_lesson("start", lesson.id),
                    icon=":material/school:",
                    width="stretch",
                    on_click=start,
                    args=(lesson, False),
                )
                if lp.get("answers"):
                    html_page = worksheet_html(lesson, lp, get_store(), lang=lang)
                    st.download_button(
                        t("Worksheet"),
                        html_page,
                        file_name=f"dlviz-{lesson.id}-{lang}.html",
                        mime="text/html",
                        icon=":material/description:",
                        key=K.lsn_lesson("sheet", lesson.id),
                        width="stretch",
                    )
