"""What every "look inside" page shares: which run, which replay point, which input.

``inspect_header()`` draws the run picker and the epoch-replay slider at the top of a page and
returns an :class:`InspectCtx` with the model at that point (on the CPU, in eval mode). The model
lives in this session's state (never in ``st.cache_resource``, which every user shares), a few
replay points at a time. ``current_input(ctx)`` is the one input all pages look at; the Inspect
page's picker sets it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st
import torch
from torch import nn

from dlviz.data import DATASETS, get_info
from dlviz.errors import DlvizError
from dlviz.models import build
from dlviz.runs import RunRecord, load_state_into
from dlviz.train import image_transform
from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.run_widgets import run_title
from dlviz.ui.state import get_data, get_store, open_run, t
from dlviz.ui.widgets import show_error

# every run with kept weights: one that failed (NaN, a killed process) or was interrupted kept its last
# finished epoch, and a banner says how it ended (``ended_banner``)
INSPECTABLE = ("finished", "stopped", "interrupted", "failed")
MODEL_CACHE = 6  # (run, replay point) models kept per session
FINAL = "final"
_STEP = re.compile(r"^step-(\d+)$")
_EPOCH = re.compile(r"^epoch-(\d+)$")


@dataclass
class InspectCtx:
    run: RunRecord
    model: nn.Module  # eval mode, CPU, weights at ``tag``
    tag: str | None  # snapshot tag ("step-50", "epoch-2"), None for the final weights
    data: object  # ImageData of the run's dataset
    classes: list[str]


@dataclass
class InputImage:
    x: torch.Tensor  # (1, 28, 28) float in [0, 1]
    label: int | None  # the true class when known (test images)
    caption: str  # already translated
    source: str = "test"  # "test" | "drawn" | "upload"
    index: int | None = None  # test-set index for source "test"


def replay_points(tags: list[str]) -> list[str]:
    """Snapshot tags in training order (early steps, then epochs), then FINAL."""
    steps = sorted((int(m.group(1)), tag) for tag in tags if (m := _STEP.match(tag)))
    epochs = sorted((int(m.group(1)), tag) for tag in tags if (m := _EPOCH.match(tag)))
    return [tag for _, tag in steps] + [tag for _, tag in epochs] + [FINAL]


def replay_label(tag: str) -> str:
    if tag == FINAL:
        return t("end of training")
    if (m := _STEP.match(tag)) and m.group(1) == "0":
        return t("before training")
    if m := _STEP.match(tag):
        return t("step {n}", n=int(m.group(1)))
    if m := _EPOCH.match(tag):
        return t("epoch {n}", n=int(m.group(1)))
    return tag


def inspectable_runs() -> list[RunRecord]:
    """Finished image runs with weights. Text runs are left out (the text pages use dlviz.ui.text_state):
    DATASETS holds only image datasets, and a run's settings say kind "text" when it read token ids."""
    store = get_store()
    out = []
    for r in store.list(skip_damaged=True):
        image = (
            r.dataset in DATASETS
            and getattr(DATASETS[r.dataset], "kind", "image") == "image"
            and (r.settings or {}).get("kind", "image") != "text"
        )
        if r.status in INSPECTABLE and image and store.has_weights(r.id):
            out.append(r)
    return out


def load_model(run: RunRecord, tag: str | None) -> nn.Module:
    """The run's model with the weights at ``tag`` (None: final), cached in this session. Raises DlvizError."""

    def make() -> nn.Module:
        info = get_info(run.dataset)
        model = build(run.spec, info.input_shape, info.num_classes, budget=False).module
        store = get_store()
        load_state_into(model, store.load_snapshot(run.id, tag) if tag else store.load_weights(run.id))
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)  # looking never trains; methods that need gradients ask for them
        return model

    return session_cache(K.INSP_MODELS, MODEL_CACHE).get_or_make((run.id, tag or FINAL), make)


def _pick_run(runs: list[RunRecord]) -> RunRecord:
    ss = st.session_state
    by_id = {r.id: r for r in runs}
    if ss.get(K.RUN_ID) in by_id:
        ss[K.INSP_RUN] = ss[K.RUN_ID]  # the open run, wherever it was opened (Runs page, Train, another page)
    elif ss.get(K.INSP_RUN) not in by_id:
        ss[K.INSP_RUN] = runs[0].id

    def picked() -> None:
        open_run(ss[K.INSP_RUN])  # the run looked at is the run open everywhere

    def label(rid: str) -> str:
        r = by_id[rid]
        acc = f" · {r.test_accuracy:.1%}" if r.test_accuracy is not None else ""
        return f"{run_title(r)}{acc} · {r.id}"

    rid = st.selectbox(
        t("Model to look inside"),
        list(by_id),
        key=K.INSP_RUN,
        format_func=label,
        on_change=picked,
        help=t("Every trained run is here. Train on the Train page to add one."),
    )
    other_kind_note(ss.get(K.RUN_ID), by_id, text_page=False)
    return by_id[rid]


def other_kind_note(run_id: str | None, shown: dict, text_page: bool) -> None:
    """The open run cannot be shown on this page (a text run on an image page, or the reverse): say so, so
    that the page's own choice is not mistaken for the open run."""
    from dlviz.train.runner import is_text_run

    if not run_id or run_id in shown:
        return
    try:
        run = get_store().get(run_id)
    except DlvizError:
        return  # deleted
    if is_text_run(run) == text_page:  # the same kind, only not listed (still training, no weights): nothing to say
        return
    if text_page:
        st.caption(
            t(
                "The open run, {name}, reads images: this page looks inside text models. Its images are on "
                "Inspect, Gradients and Errors.",
                name=run_title(run),
            )
        )
    else:
        st.caption(
            t(
                "The open run, {name}, reads sentences: this page looks inside image models. Its sentences "
                "are on Attention and Sequence.",
                name=run_title(run),
            )
        )


def _pick_replay(run: RunRecord) -> str | None:
    ss = st.session_state
    points = replay_points(get_store().list_snapshots(run.id))
    key = K.replay(run.id)  # the choice, kept across pages and languages
    if ss.get(key) not in points:
        ss[key] = FINAL
    if len(points) < 2:
        return None
    # the widget's key names the language: the browser shows a keyed slider's old position when its
    # labels change (a language switch showed "before training" while the final weights were in use)
    wkey = K.replay_widget(run.id, ss.get(K.LANG, "en"))
    if ss.get(wkey) != ss[key]:
        ss[wkey] = ss[key]

    def moved() -> None:
        ss[key] = ss[wkey]

    # value= as well: a slider drawn anew on another page showed its first point ("before training") while the
    # session held the last (the browser mounts a new slider at its default, not at the value set by key)
    tag = st.select_slider(
        t("Replay: the weights as they were at"),
        points,
        value=ss[key],
        key=wkey,
        format_func=replay_label,
        on_change=moved,
        help=t(
            "Training saved the weights before it started, after a few early steps and at "
            "the end of every epoch. Slide to see this page as it was then."
        ),
    )
    return None if tag == FINAL else tag


def ended_banner(run: RunRecord) -> None:
    """For a run that did not finish: how it ended, and which weights the page shows."""
    if run.status == "finished":
        return
    from dlviz.ui.state import run_message

    how = {
        "failed": t("This run failed."),
        "stopped": t("This run was stopped before its last epoch."),
        "interrupted": t("This run was interrupted: the app stopped while it trained."),
    }.get(run.status)
    if how is None:
        return
    msg = run_message(run)
    text = t(
        "{how} {message} This page shows the weights of its last finished epoch.", how=how, message=msg if msg else ""
    )
    (st.error if run.status == "failed" else st.warning)(" ".join(text.split()), icon=":material/history:")


def inspect_header(replay: bool = True) -> InspectCtx | None:
    """Run picker + replay slider. None (with guidance shown) when there is nothing to inspect yet."""
    try:
        runs = inspectable_runs()
    except DlvizError as e:
        show_error(e)
        return None
    if not runs:
        st.info(
            t(
                "There is no trained image model to look inside yet. Build a model and train it (even one epoch "
                "is enough); then come back here."
            ),
            icon=":material/info:",
        )
        st.page_link("pages/train.py", label=t("Go to Train"), icon=":material/monitoring:")
        return None
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    with c1:
        run = _pick_run(runs)
    with c2:
        tag = _pick_replay(run) if replay else None
    ended_banner(run)
    try:
        model = load_model(run, tag)
        data = get_data(run.dataset)
    except DlvizError as e:
        show_error(e)
        return None
    return InspectCtx(run=run, model=model, tag=tag, data=data, classes=list(data.info.classes))


def test_input(ctx: InspectCtx, index: int) -> InputImage:
    n = len(ctx.data.test_y)
    i = int(min(max(index, 0), n - 1))
    label = int(ctx.data.test_y[i])
    x = image_transform(ctx.data.test_x[i : i + 1])[0]
    return InputImage(
        x=x, label=label, caption=t("Test image {i} ({label})", i=i, label=ctx.classes[label]), source="test", index=i
    )


def set_input(inp: InputImage) -> None:
    st.session_state[K.INSP_INPUT] = inp


def current_input(ctx: InspectCtx) -> InputImage:
    """The input the pages look at: the one chosen on the Inspect page, else test image 0."""
    inp = st.session_state.get(K.INSP_INPUT)
    if not isinstance(inp, InputImage):
        return test_input(ctx, 0)
    if inp.source == "test":  # re-read: the run (and so the dataset) may have changed
        return test_input(ctx, inp.index or 0)
    return inp
