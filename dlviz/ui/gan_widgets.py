"""The Train page for a GAN (``dlviz.tasks.generation``): the choice to train one, its live view (the grid of
samples from fixed noise, the two losses, the discriminator's accuracy on real and fake, a notice when training
collapses or the discriminator wins outright) and a finished run's view (the grid over the epochs as a replay)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.modality import IMAGE, modality_of
from dlviz.models.gan import GAN_PRESETS, build_gan, copy_preset, fixed_noise, is_gan_spec
from dlviz.plots import image_sheet
from dlviz.plots.gan import gan_curves
from dlviz.runs import load_state_into
from dlviz.tasks import GENERATION
from dlviz.tasks.generation import GRID, to_uint8
from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.class_locks import lock_help, locked
from dlviz.ui.state import get_store, t

CLASSIFY, GENERATE = "classify", "generate"
TASK_CHOICES = {
    CLASSIFY: N_("Recognise digits (the model on the Build page)"),
    GENERATE: N_("Draw new digits (a GAN: DCGAN)"),
}
GAN_INTRO = N_(
    "A GAN is two networks playing a game. The **generator** turns random noise into a picture; the "
    "**discriminator** looks at a picture and says whether it is a real digit or a generated one. Each learns "
    "from the other's mistakes, until the generated digits are hard to tell from real ones. The grid shows the "
    "generator's pictures for the same 64 noise vectors all along, so you can watch them turn into digits."
)


def chosen_gan(dataset: str, ask: bool = True) -> dict | None:
    """The DCGAN's spec when the user chose to draw digits (offered on image datasets), else None. ``ask``:
    the choice can be changed and the GAN is introduced (while a run trains, the choice made stands)."""
    try:
        images = modality_of(dataset) is IMAGE
    except DlvizError:
        images = False
    if not images:
        return None
    ss = st.session_state
    if not ask:  # a run trains: the choice made stands, undrawn (the one-line summary names the model), so the
        # live curves keep their room on a 1280x720 projector in presentation mode (test_browser_classroom)
        st.empty()  # holds the control's place (no height), so the elements below keep their positions
        return copy_preset(next(iter(GAN_PRESETS))) if ss.get(K.TR_TASK_KEPT) == GENERATE else None
    if ss.get(K.TR_TASK) not in TASK_CHOICES:  # Streamlit drops a widget's state while it is not drawn: keep it
        ss[K.TR_TASK] = ss.get(K.TR_TASK_KEPT) if ss.get(K.TR_TASK_KEPT) in TASK_CHOICES else CLASSIFY
    frozen = locked("model")  # in a class the teacher locked the model: the Build page's model is what trains
    if frozen:
        ss[K.TR_TASK] = CLASSIFY
    # restored above from the kept choice when a run ended (the widget was not drawn while it trained)
    st.segmented_control(
        t("What to train"),
        list(TASK_CHOICES),
        key=K.TR_TASK,
        format_func=lambda k: t(TASK_CHOICES[k]),
        disabled=frozen,
        help=lock_help("model"),
    )
    ss[K.TR_TASK_KEPT] = ss.get(K.TR_TASK) or CLASSIFY
    if ss[K.TR_TASK_KEPT] != GENERATE:
        return None
    if ask:
        st.caption(t(GAN_INTRO))
    return copy_preset(next(iter(GAN_PRESETS)))


def _notice(live: dict | None) -> None:
    found = (live or {}).get("notice")
    if found:
        st.warning(t(found[0], **found[1]), icon=":material/warning:")


def _numbers(row) -> None:
    c = st.columns(4)
    c[0].metric(t("Generator loss"), f"{row[2]:.3f}" if row else "–")
    c[1].metric(t("Discriminator loss"), f"{row[4]:.3f}" if row else "–")
    c[2].metric(t("Real digits called real"), f"{row[5]:.0%}" if row else "–")
    c[3].metric(t("Generated digits caught"), f"{row[6]:.0%}" if row else "–")


def _diversity(live: dict | None) -> None:
    if live and live.get("diversity") is not None and live.get("data_diversity"):
        st.caption(
            t(
                "Variety of the samples: {ratio:.0%} of the real digits' (mean distance between two samples "
                "{d:.3f}, between two real digits {data:.3f}). Far below 100% means collapse: all samples alike.",
                ratio=live["diversity"] / live["data_diversity"],
                d=live["diversity"],
                data=live["data_diversity"],
            )
        )


def live_view(snap) -> None:
    """A GAN in training: its numbers, the notice, the grid (redrawn every few steps) beside the curves."""
    rows = [r for r in snap.train if len(r) >= 7]
    _numbers(rows[-1] if rows else None)
    live = snap.live
    _notice(live)
    left, right = st.columns([2, 3])
    if live and live.get("grid"):
        title = t("Samples from the same noise, step {step}", step=live.get("grid_step", 0))
        fig = image_sheet(np.asarray(live["grid"], dtype=np.uint8), cols=8, title=title, height=380)
        left.plotly_chart(fig, key=K.LIVE_GAN_GRID, config={"displayModeBar": False, "staticPlot": True})
    if rows:
        right.plotly_chart(gan_curves(rows, tr=t), key=K.LIVE_GAN_CURVES, config={"displayModeBar": False})
    _diversity(live)


def replay_points(run) -> list[tuple[str, str]]:
    """(snapshot tag, label) of a GAN run's saved points: before training, then each epoch."""
    tags = set(get_store().list_snapshots(run.id))
    points = [("step-0", t("before training"))] if "step-0" in tags else []
    epochs = sorted(int(tag.split("-")[1]) for tag in tags if tag.startswith("epoch-") and tag[6:].isdigit())
    return points + [(f"epoch-{e}", t("epoch {n}", n=e)) for e in epochs]


def samples_at(run, tag: str) -> np.ndarray:
    """The grid (64, 28, 28) uint8 that run ``run``'s generator drew from the fixed noise at snapshot ``tag``."""

    def make():
        gan = build_gan(run.spec).module
        load_state_into(gan, get_store().load_snapshot(run.id, tag))
        return np.asarray(to_uint8(gan.sample(fixed_noise(gan.latent, GRID))), dtype=np.uint8)

    return session_cache(K.GAN_CACHE, 24).get_or_make((run.id, tag), make)


def is_gan_run(run) -> bool:
    return is_gan_spec(run.spec)


def result_view(run) -> None:
    """A saved GAN run: the last epoch's numbers, the grid over the epochs (a replay slider), the curves."""
    m = run.metrics or {}
    rows = [r for r in m.get("train", []) if len(r) >= 7]
    summary = GENERATION.summary(m)
    keys = ("generator_loss", "discriminator_accuracy", "discriminator_loss", "real_accuracy", "fake_accuracy")
    _numbers([0, 0, *(summary[k] for k in keys)] if summary.get("generator_loss") is not None else None)
    st.caption(t("The numbers are the last epoch's averages."))
    _notice(m.get("live"))
    points = replay_points(run)
    left, right = st.columns([2, 3])
    if points:
        tags = [p[0] for p in points]
        labels = dict(points)
        key = K.gan_replay(run.id)
        if st.session_state.get(key) not in tags:
            st.session_state[key] = tags[-1]
        with left:
            tag = st.select_slider(
                t("Replay: the samples over the epochs"),
                tags,
                key=key,
                format_func=labels.get,
                help=t("The generator's pictures for the same 64 noise vectors, as saved after each epoch."),
            )
            try:
                grid = samples_at(run, tag)
            except DlvizError as e:
                st.error(t(e.template, **e.kwargs))
            else:
                fig = image_sheet(grid, cols=8, title=labels[tag], height=380)
                st.plotly_chart(fig, key=K.gan_grid(run.id), config={"displayModeBar": False, "staticPlot": True})
    if rows:
        right.plotly_chart(gan_curves(rows, tr=t), key=K.gan_curves(run.id), config={"displayModeBar": False})
    _diversity(m.get("live"))
