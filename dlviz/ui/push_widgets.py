"""Push and lock in the app (issue 17, item 3): the teacher's panel, a student's session taking a push once, the
locks that grey out controls (and hold on the server side), the banner saying what the teacher set, and an open
page looking for news every few seconds.

Alone (the default) none of it shows or runs: only a student takes pushes and is held by locks; only the teacher
sees the panel. The class state itself is ``dlviz.classroom.pushed`` (no streamlit).
"""

from __future__ import annotations

import copy

import streamlit as st

from dlviz.classroom.pushed import (
    CONTROLS,
    PAGES,
    RECIPE,
    RECIPE_PUSHED,
    Pushed,
    PushError,
    hold_job,
    hold_recipe,
    hold_spec,
)
from dlviz.data import ALL_DATASETS
from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.models import PRESETS
from dlviz.models.presets import fit_classes
from dlviz.train import OPTIMIZERS, SCHEDULES, TrainConfig, recipe_for
from dlviz.ui import keys as K
from dlviz.ui.class_locks import board, hold_widgets, pushed, typed
from dlviz.ui.classroom import me
from dlviz.ui.plain import plain
from dlviz.ui.state import save_session, set_dataset, set_spec, t

LOOK_EVERY_S = 3.0  # how often an open student page looks for a new push or lock
PAGE_TITLES = {
    "home": N_("Start"),
    "data": N_("Data"),
    "build": N_("Build"),
    "train": N_("Train"),
    "runs": N_("Runs"),
    "inspect": N_("Inspect"),
    "filters": N_("Filters"),
    "gradients": N_("Gradients"),
    "embeddings": N_("Embeddings"),
    "errors": N_("Errors"),
    "attention": N_("Attention"),
    "sequence": N_("Sequence"),
    "explain": N_("Explain"),
    "autoencoder": N_("Autoencoder"),
    "glossary": N_("Glossary"),
}
SETTING_TITLES = {  # a pushed recipe's other settings, for the banner
    "weight_decay": N_("Weight decay"),
    "seed": N_("Random seed"),
    "limit": N_("Images to train on"),
}


# ---------------------------------------------------------------------------------------------------------
# A student's session: take a push once, hold the locks on every run


def _set_recipe(recipe: dict) -> None:
    """The Train page's settings as if the student had typed them: its saved settings and its widgets."""
    ss = st.session_state
    spec = ss[K.SPEC]
    settings = {**dict(ss.get(K.TRAIN_SETTINGS) or {}), **{k: typed(k, v) for k, v in recipe.items()}}
    settings["for_model"] = f"{spec.get('name')}@{ss.get(K.DATASET)}"
    ss[K.TRAIN_SETTINGS] = settings
    for k in [k for k in ss if isinstance(k, str) and k.startswith(K.train_setting(""))]:
        del ss[k]  # the form seeds its widgets from the saved settings again


def _apply(p: Pushed) -> None:
    """Set what the push sets, in the order the pages depend on: dataset, model, recipe, then a lesson or a page."""
    ss = st.session_state
    if p.dataset in ALL_DATASETS:
        set_dataset(p.dataset)
    if p.spec:
        set_spec(copy.deepcopy(p.spec))
    if p.recipe:
        _set_recipe(p.recipe)
    if p.lesson:
        from dlviz.ui import lesson_widgets

        lesson = lesson_widgets.lessons().get(p.lesson["id"])
        if lesson is not None:
            lesson_widgets.enter_step(lesson, p.lesson["step"], switch=False)
            ss[K.LSN_GOTO] = lesson.steps[lesson_widgets.lesson_state(lesson.id)["step"]].page
    elif p.page:
        ss[K.LSN_GOTO] = p.page  # the lesson panel's page switch, at the top of the page (dlviz.ui.nav)


def _hold(p: Pushed) -> None:
    """A student's session with every locked value put back (what a widget callback or a crafted message changed
    before this run is undone here, before any page draws or submits anything)."""
    if not p.locks:
        return
    ss = st.session_state
    changed = False
    if p.locked("dataset") and p.dataset and ss.get(K.DATASET) != p.dataset:
        set_dataset(p.dataset)
        changed = True
    spec = hold_spec(p, ss[K.SPEC])
    if spec != ss[K.SPEC]:
        ss[K.SPEC] = spec
        changed = True
    saved = dict(ss.get(K.TRAIN_SETTINGS) or {})
    held = hold_recipe(p, saved)
    if held != saved:
        ss[K.TRAIN_SETTINGS] = held
        changed = True
    hold_widgets(p)
    if changed:
        save_session()


def receive() -> None:
    """Every run of a student's session (before the sidebar and the page): apply a new push once, then hold the
    locks. Nothing alone or for the teacher."""
    if not me().student:
        return
    ss = st.session_state
    p = board().read()
    if p.version and p.version != ss.get(K.PUSH_SEEN) and p.active:
        _apply(p)
        ss[K.PUSH_SEEN] = p.version
        save_session()
        st.toast(t("The teacher pushed new settings to the class."), icon=":material/campaign:")
    _hold(p)
    ss[K.PUSH_STAMP] = p.stamp


@st.fragment(run_every=LOOK_EVERY_S)
def _look() -> None:
    if board().read().stamp != st.session_state.get(K.PUSH_STAMP):
        st.rerun()  # the whole page: the push is applied and the locks held at the top of the run


def watch() -> None:
    """An open student page looks for a new push or lock every few seconds (one ``stat`` of the class file)."""
    if me().student:
        _look()


def hold_submit(dataset: str, spec: dict, cfg, num_classes: int | None = None):
    """``(dataset, spec, cfg)`` of a job about to be submitted, each locked value put back (the server's side of a
    lock: whatever reached the page, the job trains what the teacher set). Says so when something was put back."""
    if not me().student:
        return dataset, spec, cfg
    p = pushed()
    if not p.locks:
        return dataset, spec, cfg
    held_dataset, held_spec, held_cfg, reset = hold_job(p, dataset, spec, cfg)
    if held_spec is not spec:
        held_spec = fit_classes(held_spec, num_classes)
        if held_spec == spec:
            reset = [r for r in reset if r not in ("model", "filters")]
            held_spec = spec
    if reset:
        names = ", ".join(t(CONTROLS[r].title).lower() for r in reset)
        st.session_state[K.PUSH_MSG] = (N_("Locked by the teacher: {names} put back to the class's value."), names)
    return held_dataset, held_spec, held_cfg


def _said() -> None:
    said = st.session_state.pop(K.PUSH_MSG, None)
    if said:
        st.toast(t(said[0], names=said[1]), icon=":material/lock:")


# ---------------------------------------------------------------------------------------------------------
# The banner


def _value_text(name: str, value) -> str:
    if name == "optimizer":
        return t(OPTIMIZERS[value]["title"]) if value in OPTIMIZERS else plain(value)
    if name == "schedule":
        return t(SCHEDULES[value]) if value in SCHEDULES else plain(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return plain(value)


def banner_items(p: Pushed) -> list[str]:
    """What the teacher set, one short phrase each, a lock after each locked one (Markdown, words plain)."""
    lock = " :material/lock:"  # headless Chromium has no emoji font: Streamlit's icon
    items = []
    if p.dataset:
        info = ALL_DATASETS.get(p.dataset)
        title = t(info.title) if info is not None else plain(p.dataset)
        items.append(t("Dataset: {name}", name=title) + (lock if p.locked("dataset") else ""))
    if p.spec:
        name = plain(p.spec.get("name") or "model")
        items.append(t("Model: {name}", name=name) + (lock if p.locked("model") else ""))
        if p.locked("filters"):
            items.append(t(CONTROLS["filters"].title) + lock)
    for k in RECIPE_PUSHED:
        if k in p.recipe and p.recipe[k] is not None:
            title = t(CONTROLS[k].title) if k in CONTROLS else t(SETTING_TITLES[k])
            items.append(f"{title}: {_value_text(k, p.recipe[k])}" + (lock if p.locked(k) else ""))
    if p.lesson:
        from dlviz.ui import lesson_widgets

        lesson = lesson_widgets.lessons().get(p.lesson["id"])
        if lesson is not None:
            lang = st.session_state.get(K.LANG, "en")
            items.append(t("Lesson: {title}, step {i}", title=lesson.title(lang), i=int(p.lesson["step"]) + 1))
    elif p.page:
        items.append(t("Page: {name}", name=t(PAGE_TITLES.get(p.page, p.page))))
    return items


def banner() -> None:
    """On top of every page in a class: what the teacher set, what is locked and what stays the student's."""
    person = me()
    if person.role == "alone":
        return
    _said()
    p = pushed()
    if not p.active:
        return
    items = banner_items(p)
    head = t("**The teacher set:**") if person.student else t("**You pushed to the class:**")
    text = head + " " + " · ".join(items)
    if p.locks:
        text += "  \n" + ":material/lock: " + t("locked for the class; everything else is yours to change.")
        if (
            p.locked("model")
            and not p.locked("filters")
            and p.spec
            and any("out" in (layer or {}) for layer in p.spec.get("layers") or [])
        ):
            text += " " + t("In the model, the number of filters is yours to change.")
    elif person.student:
        text += "  \n" + t("Nothing is locked: change anything you like.")
    with st.container(key="push_banner"):
        st.info(text, icon=":material/campaign:")


# ---------------------------------------------------------------------------------------------------------
# The teacher's panel


def my_recipe() -> dict:
    """The teacher's training settings as the Train page would use them (its saved ones, else the preset's)."""
    ss = st.session_state
    spec = ss.get(K.SPEC) or {}
    name, dataset = spec.get("name"), ss.get(K.DATASET)
    d = TrainConfig()
    out = {k: getattr(d, k) for k in RECIPE}
    if name in PRESETS:
        out.update({k: v for k, v in recipe_for(name, dataset).items() if k in RECIPE_PUSHED})
    saved = dict(ss.get(K.TRAIN_SETTINGS) or {})
    if saved.get("for_model") == f"{name}@{dataset}" or name not in PRESETS:
        out.update({k: v for k, v in saved.items() if k in RECIPE_PUSHED})
    return {k: v for k, v in out.items() if v is not None}


def _recipe_text(recipe: dict) -> str:
    return ", ".join(
        f"{t(CONTROLS[k].title) if k in CONTROLS else t(SETTING_TITLES[k])} {_value_text(k, v)}"
        for k, v in recipe.items()
    )


def _check_model(spec: dict, dataset: str | None) -> None:
    """A pushed model must build for the dataset the students will have (the pushed one, or the teacher's): else
    thirty students would each meet the same error. Raises the build's DlvizError (a sentence naming the layer)."""
    from dlviz.data import get_info
    from dlviz.models import build
    from dlviz.tasks import task_of_spec

    if dataset not in ALL_DATASETS:
        return  # a CSV of the teacher's own: its classes are checked when a student trains
    info = get_info(dataset)
    task = task_of_spec(spec)
    built = task.build(spec) or build(fit_classes(spec, info.num_classes), info.input_shape, task.classes(info))
    if task.classes(info) is None:
        task.check_output(built.table[-1].output_shape, tuple(info.input_shape))


def _push(what: dict, locks: list[str]) -> None:
    ss = st.session_state
    try:
        if what.get("spec") or "model" in locks or "filters" in locks:
            _check_model(what.get("spec") or ss.get(K.SPEC) or {}, what.get("dataset") or ss.get(K.DATASET))
        p = board().push(**what, locks=locks)
    except DlvizError as e:
        ss[K.PUSH_MSG + "_err"] = e
        return
    ss[K.PUSH_MSG + "_ok"] = t(
        "Pushed to the class (push {n}). Each student's page takes it within a few seconds.", n=p.version
    )
    if p.lesson:  # the teacher follows the lesson too, at the same step: the class's guesses and the reveal are there
        from dlviz.ui import lesson_widgets

        lesson = lesson_widgets.lessons().get(p.lesson["id"])
        if lesson is not None:
            lesson_widgets.enter_step(lesson, p.lesson["step"], switch=False)


def _call(method: str) -> None:
    ss = st.session_state
    try:
        getattr(board(), method)(*([ss.get(K.PUSH_LOCKS) or []] if method == "set_locks" else []))
    except PushError as e:
        ss[K.PUSH_MSG + "_err"] = e
        return
    done = {
        "set_locks": N_("The locks were changed for the class."),
        "release": N_("Every control is the students' own again."),
        "end": N_("The push ended: the banner is gone; each student keeps what they have."),
    }
    ss[K.PUSH_MSG + "_ok"] = t(done[method])


def push_panel() -> None:
    """The teacher's Push and lock panel: choose what to push (your dataset, model, training settings, a page or a
    lesson) and what to lock, push it to every student; change the locks, release them, or end the push."""
    from dlviz.ui import lesson_widgets

    if not me().teacher:
        return
    ss = st.session_state
    lang = ss.get(K.LANG, "en")
    spec = ss.get(K.SPEC) or {}
    dataset = ss.get(K.DATASET)
    recipe = my_recipe()
    p = pushed()
    with st.container(border=True, key="push_panel"):
        st.subheader(t("Push to the class"))
        st.caption(
            t(
                "Send your dataset, your model, your training settings, a page or a lesson to every student, and "
                "lock what they may not change. A locked control is pushed with your value."
            )
        )
        info = ALL_DATASETS.get(dataset)
        parts = {
            "dataset": t("My dataset: {name}", name=t(info.title) if info else plain(dataset)),
            "spec": t(
                "My model: {name}, {n} layers", name=plain(spec.get("name") or "model"), n=len(spec.get("layers") or [])
            ),
            "recipe": t("My training settings: {settings}", settings=_recipe_text(recipe)),
        }
        chosen = st.pills(
            t("What to push"), list(parts), format_func=parts.get, selection_mode="multi", key=K.PUSH_WHAT
        )
        found = lesson_widgets.lessons()
        c1, c2, c3 = st.columns([2, 2, 1])
        page = c1.selectbox(
            t("Open a page"),
            [None, *PAGES],
            format_func=lambda k: t("No page") if k is None else t(PAGE_TITLES[k]),
            key=K.PUSH_PAGE,
        )
        lesson_id = c2.selectbox(
            t("Or open a lesson"),
            [None, *found],
            format_func=lambda k: t("No lesson") if k is None else found[k].title(lang),
            key=K.PUSH_LESSON,
        )
        n_steps = len(found[lesson_id].steps) if lesson_id in found else 1
        step = c3.number_input(t("At step"), 1, max(n_steps, 1), key=K.PUSH_STEP, disabled=lesson_id is None)
        if K.PUSH_LOCKS not in ss:
            ss[K.PUSH_LOCKS] = list(p.locks)
        locks = st.multiselect(
            t("Lock for the class"),
            list(CONTROLS),
            format_func=lambda k: t(CONTROLS[k].title),
            key=K.PUSH_LOCKS,
            help=t(
                "Locked controls are greyed out on the students' pages, and a job is always trained with the "
                "locked values. Lock the model but not the number of filters, and only the filters are theirs."
            ),
        )
        wanted = set(chosen or []) | {CONTROLS[n].part for n in locks}
        what = {
            "dataset": dataset if "dataset" in wanted else None,
            "spec": spec if "spec" in wanted else None,
            "recipe": recipe if "recipe" in wanted else None,
            "page": page,
            "lesson": {"id": lesson_id, "step": int(step) - 1} if lesson_id in found else None,
        }
        row = st.container(horizontal=True)
        # not on_click with args: those are bound when the button was drawn, so a teacher who picks a lock and
        # presses Push at once pushed the locks of the run before (the Chromium class test saw "Nothing is locked").
        # The button's run has every widget's current value, and `what` and `locks` were just made from them.
        if row.button(t("Push to the class"), type="primary", icon=":material/campaign:", key=K.PUSH_BTN):
            _push(what, list(locks))
            st.rerun()  # the other buttons (Change the locks, Release, End) follow the new push
        row.button(
            t("Change the locks only"),
            icon=":material/lock:",
            key=K.PUSH_LOCKS_BTN,
            on_click=_call,
            args=("set_locks",),
            disabled=not p.active,
        )
        row.button(
            t("Release all locks"),
            icon=":material/lock_open:",
            key=K.PUSH_RELEASE,
            on_click=_call,
            args=("release",),
            disabled=not p.locks,
        )
        row.button(
            t("End the push"),
            icon=":material/close:",
            key=K.PUSH_END,
            on_click=_call,
            args=("end",),
            disabled=not p.active,
        )
        err = ss.pop(K.PUSH_MSG + "_err", None)
        if err is not None:
            st.error(err.message(lang, escape=plain), icon=":material/error:")
        ok = ss.pop(K.PUSH_MSG + "_ok", None)
        if ok:
            st.success(ok, icon=":material/check_circle:")
