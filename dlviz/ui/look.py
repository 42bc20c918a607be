"""The one look-inside header: which run, which replay point, and that run's model at that point.

``look_header(look)`` draws the run picker and the epoch-replay slider at the top of a look-inside page
and returns ``look``'s context (the model on the CPU, in eval mode, and what the pages need beside it).
A :class:`Look` is one kind of data's side of it: which runs it lists, how it rebuilds a run's model and
what context it hands the pages (``inspect_state.IMAGE_LOOK``, ``text_state.TEXT_LOOK``). The model lives
in this session's state (never in ``st.cache_resource``, which every user shares), a few replay points at
a time.
"""

from __future__ import annotations

import re

import streamlit as st
from torch import nn

from dlviz.errors import DlvizError
from dlviz.runs import RunRecord, RunStore, load_state_into
from dlviz.tasks import CLASSIFICATION, task_of_spec
from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.compress_widgets import compressed_note
from dlviz.ui.kinds import Kind, kind_of
from dlviz.ui.run_widgets import metric_text, run_title
from dlviz.ui.state import get_store, open_run, run_message, t
from dlviz.ui.view import viewed_run_id
from dlviz.ui.widgets import show_error

# every run with kept weights: one that failed (NaN, a killed process) or was interrupted kept its last
# finished epoch, and a banner says how it ended (``ended_banner``)
INSPECTABLE = ("finished", "stopped", "interrupted", "failed")
MODEL_CACHE = 6  # (run, replay point) models kept per session and kind of data
FINAL = "final"
_STEP = re.compile(r"^step-(\d+)$")
_EPOCH = re.compile(r"^epoch-(\d+)$")


class Look:
    """One kind of data's look-inside header. A subclass sets the class attributes and implements
    :meth:`load` and :meth:`context`; :meth:`lists` may ask for more than the kind and the weights."""

    kind: Kind
    run_key: str  # the run picker's session key
    cache_slot: str  # the session cache of its models
    picker_label: str  # N_(...) templates
    picker_help: str
    nothing_yet: str  # no run to look inside yet

    def lists(self, run: RunRecord, store: RunStore) -> bool:
        """Whether the picker offers ``run`` (its status and weights are checked by the caller): a classifier of
        this kind of data (a GAN's run shows its samples on the Train page)."""
        return kind_of(run) is self.kind and task_of_spec(run.spec) is CLASSIFICATION

    def load(self, run: RunRecord, tag: str | None):
        """What :meth:`context` needs of the run at ``tag``, kept in the session cache. Raises DlvizError."""
        raise NotImplementedError

    def context(self, run: RunRecord, tag: str | None, loaded):
        """The page's context. Raises DlvizError."""
        raise NotImplementedError


def with_weights(model: nn.Module, run: RunRecord, tag: str | None, store: RunStore | None = None) -> nn.Module:
    """``model`` with the run's weights at ``tag`` (None: final), in eval mode and frozen: looking never
    trains, and the methods that need gradients ask for them. ``store``: this session's unless given (a
    background warm-up has no session). Raises DlvizError."""
    store = store if store is not None else get_store()
    load_state_into(model, store.load_snapshot(run.id, tag) if tag else store.load_weights(run.id))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


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


def lookable_runs(look: Look) -> list[RunRecord]:
    """The runs ``look`` lists: ended runs of its kind of data that kept weights, newest first."""
    store = get_store()
    runs = store.list(skip_damaged=True)
    viewed = viewed_run_id()  # someone else's run, open read-only: listed first, whoever owns it
    if viewed:
        try:
            runs = [store.get(viewed), *(r for r in runs if r.id != viewed)]
        except DlvizError:
            pass
    return [r for r in runs if r.status in INSPECTABLE and look.lists(r, store) and store.has_weights(r.id)]


def load_model(look: Look, run: RunRecord, tag: str | None):
    """``look.load(run, tag)``, cached in this session (a few replay points at a time). Raises DlvizError."""
    return session_cache(look.cache_slot, MODEL_CACHE).get_or_make((run.id, tag or FINAL), lambda: look.load(run, tag))


def _pick_run(look: Look, runs: list[RunRecord]) -> RunRecord:
    ss = st.session_state
    by_id = {r.id: r for r in runs}
    if ss.get(K.RUN_ID) in by_id:
        ss[look.run_key] = ss[K.RUN_ID]  # the open run, wherever it was opened (Runs page, Train, another page)
    elif ss.get(look.run_key) not in by_id:
        ss[look.run_key] = runs[0].id

    def picked() -> None:
        open_run(ss[look.run_key])  # the run looked at is the run open everywhere

    def label(rid: str) -> str:
        r = by_id[rid]
        shown = metric_text(r)  # an accuracy as before (one decimal), an autoencoder's error as a number
        acc = "" if r.test_accuracy is None else f" · {r.test_accuracy:.1%}" if shown.endswith("%") else f" · {shown}"
        return f"{run_title(r)}{acc} · {r.id}"

    rid = st.selectbox(
        t(look.picker_label),
        list(by_id),
        key=look.run_key,
        format_func=label,
        on_change=picked,
        help=t(look.picker_help),
    )
    other_kind_note(ss.get(K.RUN_ID), by_id, look)
    return by_id[rid]


def other_kind_note(run_id: str | None, shown: dict, look: Look) -> None:
    """The open run cannot be shown on this page (a text run on an image page, or the reverse): say so, so
    that the page's own choice is not mistaken for the open run."""
    if not run_id or run_id in shown:
        return
    try:
        run = get_store().get(run_id)
    except DlvizError:
        return  # deleted
    kind = kind_of(run)
    if kind is look.kind:  # the same kind, only not listed (still training, no weights): nothing to say
        return
    st.caption(t(kind.elsewhere, name=run_title(run)))


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


def look_header(look: Look, replay: bool = True):
    """Run picker + replay slider, then ``look``'s context. None (with guidance shown) when there is no
    run to look inside yet, or the run cannot be read."""
    try:
        runs = lookable_runs(look)
    except DlvizError as e:
        show_error(e)
        return None
    if not runs:
        st.info(t(look.nothing_yet), icon=":material/info:")
        st.page_link("pages/train.py", label=t("Go to Train"), icon=":material/monitoring:")
        return None
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    with c1:
        run = _pick_run(look, runs)
    with c2:
        tag = _pick_replay(run) if replay else None
    ended_banner(run)
    compressed_note(run)  # a pruned, int8 or distilled run: what it is and what this page shows of it
    try:
        return look.context(run, tag, load_model(look, run, tag))
    except DlvizError as e:
        show_error(e)
        return None
