"""The image pages' look inside: the image side of the one header (dlviz.ui.look), and the input they look at.

``inspect_header()`` draws the run picker and the epoch-replay slider (``look_header(IMAGE_LOOK)``) and
returns an :class:`InspectCtx` with the model at that point (on the CPU, in eval mode) and the run's
dataset. ``current_input(ctx)`` is the one input all pages look at; the Inspect page's picker sets it.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from torch import nn

from dlviz.data import ALL_DATASETS, get_info
from dlviz.i18n import N_
from dlviz.modality import IMAGE
from dlviz.models import build
from dlviz.runs import RunRecord, RunStore
from dlviz.ui import keys as K
from dlviz.ui.inputs import InputImage  # defined apart so that state.py can restore one without importing this
from dlviz.ui.kinds import IMAGE_KIND
from dlviz.ui.look import FINAL, INSPECTABLE, MODEL_CACHE, Look, look_header, with_weights
from dlviz.ui.state import get_data, t

__all__ = ["FINAL", "INSPECTABLE", "MODEL_CACHE", "IMAGE_LOOK", "InputImage", "InspectCtx", "inspect_header"]


@dataclass
class InspectCtx:
    run: RunRecord
    model: nn.Module  # eval mode, CPU, weights at ``tag``
    tag: str | None  # snapshot tag ("step-50", "epoch-2"), None for the final weights
    data: object  # ImageData of the run's dataset
    classes: list[str]


class ImageLook(Look):
    kind = IMAGE_KIND
    run_key = K.INSP_RUN
    cache_slot = K.INSP_MODELS
    picker_label = N_("Model to look inside")
    picker_help = N_("Every trained run is here. Train on the Train page to add one.")
    nothing_yet = N_(
        "There is no trained image model to look inside yet. Build a model and train it (even one epoch "
        "is enough); then come back here."
    )

    def lists(self, run: RunRecord, store: RunStore) -> bool:
        return run.dataset in ALL_DATASETS and super().lists(run, store)  # a known dataset: its images are shown

    def load(self, run: RunRecord, tag: str | None) -> nn.Module:
        info = get_info(run.dataset)
        return with_weights(build(run.spec, info.input_shape, info.num_classes, budget=False).module, run, tag)

    def context(self, run: RunRecord, tag: str | None, loaded: nn.Module) -> InspectCtx:
        data = get_data(run.dataset)
        return InspectCtx(run=run, model=loaded, tag=tag, data=data, classes=list(data.info.classes))


IMAGE_LOOK = ImageLook()


def inspect_header(replay: bool = True) -> InspectCtx | None:
    """Run picker + replay slider. None (with guidance shown) when there is nothing to inspect yet."""
    return look_header(IMAGE_LOOK, replay)


def nth_test_image(data, index: int):
    """(i, the i-th test image as a model reads it) for ``index`` clipped into the test set. No Streamlit (a
    warm-up thread computes a lesson's explanations of it)."""
    i = int(min(max(index, 0), len(data.test_y) - 1))
    return i, IMAGE.transform(data.test_x[i : i + 1])[0]


def test_input(ctx: InspectCtx, index: int) -> InputImage:
    i, x = nth_test_image(ctx.data, index)
    label = int(ctx.data.test_y[i])
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
    if tuple(inp.x.shape) != tuple(ctx.data.info.input_shape):  # a digit drawn for an MNIST run, now a CIFAR run
        return test_input(ctx, inp.index or 0 if inp.source == "test" else 0)
    if inp.source == "test":  # re-read: the run (and so the dataset) may have changed
        return test_input(ctx, inp.index or 0)
    return inp
