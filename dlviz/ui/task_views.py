"""What the pages show for each task (:mod:`dlviz.tasks`) where it differs from a classifier's: the run's metric,
its look-inside pages and its saved test preview. Adding a task is one more :class:`TaskView` in
:data:`TASK_VIEWS`; a task without one is shown as its kind of data shows a classifier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.plots import image_grid
from dlviz.tasks import Task, task_of_spec
from dlviz.ui import keys as K
from dlviz.ui.kinds import kind_of
from dlviz.ui.plain import plain
from dlviz.ui.state import get_data, t


def reconstruction_preview(run, prev: dict) -> None:
    """An autoencoder run's test preview: the first test images above their reconstructions."""
    st.subheader(t("Test images and their reconstructions"))
    base = prev.get("baseline_error")
    if base is not None and run.test_accuracy is not None:
        st.caption(
            t(
                "Reconstruction error {err:.4f} (mean squared error per pixel); always drawing the average image "
                "would score {base:.4f}.",
                err=run.test_accuracy,
                base=base,
            )
        )
    try:
        data = get_data(run.dataset)
    except DlvizError as e:
        st.info(t("The test images cannot be shown: {msg}", msg=e.message(st.session_state[K.LANG], escape=plain)))
        return
    shape = prev.get("shape") or [1, 28, 28]
    outs = np.asarray(prev.get("reconstructions") or [], dtype=float).reshape(-1, shape[-2], shape[-1])
    n = len(outs)
    if not n or n > len(data.test_x):
        return
    images = np.concatenate([data.test_x[:n].numpy(), (outs.clip(0, 1) * 255).round().astype(np.uint8)])
    captions = [t(str(data.classes[int(y)])) for y in data.test_y[:n]] + [""] * n
    st.plotly_chart(image_grid(images, captions, cols=n), key=K.run_gallery(run.id), config={"displayModeBar": False})


@dataclass(frozen=True)
class TaskView:
    metric_format: Callable[[float], str]  # the test metric as the Train and Runs pages show it
    looks: tuple[tuple[str, str, str], ...] | None  # (page, label, icon); None: the kind of data's
    preview: Callable[[object, dict], None] | None  # a run's saved test preview; None: the kind of data's


TASK_VIEWS: dict[str, TaskView] = {
    "reconstruction": TaskView(
        metric_format=lambda v: f"{v:.4f}",
        looks=(("pages/autoencoder.py", N_("Autoencoder"), ":material/compress:"),),
        preview=reconstruction_preview,
    ),
}
CLASSIFIER = TaskView(metric_format=lambda v: f"{v:.2%}", looks=None, preview=None)


def task_of_run(run) -> Task:
    try:
        return task_of_spec(run.spec)
    except DlvizError:  # a task this version does not know
        return task_of_spec({})


def view_of(run) -> TaskView:
    return TASK_VIEWS.get(task_of_run(run).name, CLASSIFIER)


def metric_text(run) -> str:
    """The run's test metric as its task words it: an accuracy as a percentage, an error as a number."""
    if run.test_accuracy is None:
        return "–"
    try:
        accuracy = task_of_spec(run.spec).higher_is_better
    except DlvizError:  # a task this version does not know
        accuracy = False
    return f"{run.test_accuracy:.2%}" if accuracy else f"{run.test_accuracy:.4f}"


def looks(run) -> tuple[tuple[str, str, str], ...]:
    return view_of(run).looks or kind_of(run).looks


def preview(run, prev: dict) -> None:
    (view_of(run).preview or kind_of(run).preview)(run, prev)
