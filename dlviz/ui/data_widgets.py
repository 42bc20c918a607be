"""The Data page for an image dataset: where the images came from, the split, samples, class balance."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dlviz.data import SPLIT_SEED, class_counts, split_indices, val_fraction_of
from dlviz.plots import class_balance, image_grid
from dlviz.ui import keys as K
from dlviz.ui.state import t

N_SAMPLES = 30


def balance_pair(data, classes: list[str], train_title: str, test_title: str, keys: tuple[str, str], unit=None):
    """The class balance of the training file and of the test set, side by side (``unit``: the y axis's title)."""
    for col, y, title, key in zip(st.columns(2), (data.train_y, data.test_y), (train_title, test_title), keys):
        fig = class_balance(class_counts(y, len(classes)), classes, tr=t, title=title)
        if unit:
            fig.update_yaxes(title=unit)
        col.plotly_chart(fig, width="stretch", config={"displayModeBar": False}, key=key)


def image_data_page(data) -> None:
    ss = st.session_state
    info = data.info
    classes = [t(c) for c in data.classes]
    template, kwargs = data.source_label()
    local = data.source in ("folder", "cache", "system")
    (st.info if data.subset else st.success)(
        t(template, **kwargs), icon=":material/folder_open:" if local else ":material/cloud_download:"
    )
    if data.subset:
        st.warning(
            t(
                "This is only the offline subset of 5,000 MNIST digits (4,000 for training, 1,000 for testing), "
                "not the full MNIST of 70,000. Models trained on it reach a lower accuracy. To get the full set, "
                "name a folder that holds the four MNIST files in the sidebar's \"Data folder\" field, or start "
                "dlviz once with an internet connection: it downloads MNIST and keeps it in its cache."
            ),
            icon=":material/warning:",
        )
    if data.notice:
        st.caption(t(data.notice[0], **data.notice[1]))

    h, w = info.image_shape
    st.markdown(
        t(
            "Each image is a {height} × {width} grayscale picture: one number per pixel, from 0 (background) to "
            "255 (full ink). Before training the numbers are divided by 255, so the network sees values from 0 "
            "to 1. Every image carries one label: the {what} it shows, one of {k} classes.",
            height=h,
            width=w,
            k=len(classes),
            what=t("digit") if info.key == "mnist" else t("piece of clothing"),
        )
    )

    val_fraction = val_fraction_of(st.session_state.get(K.TRAIN_SETTINGS))  # the split the Train page uses
    train_idx, val_idx = split_indices(len(data.train_y), val_fraction, seed=SPLIT_SEED)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("Training images"), f"{len(train_idx):,}")
    c2.metric(
        t("Validation images"),
        f"{len(val_idx):,}",
        help=t(
            "{pct}% of the training file, held out (seed {seed}) to check the model during training.",
            pct=round(val_fraction * 100),
            seed=SPLIT_SEED,
        ),
    )
    c3.metric(
        t("Test images"), f"{len(data.test_y):,}", help=t("Kept apart until the end, to measure the final accuracy.")
    )
    c4.metric(t("Classes"), f"{len(classes)}")

    st.subheader(t("Sample images"))
    f1, f2, f3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    part = f1.segmented_control(
        t("From"),
        ["train", "test"],
        default="train",
        required=True,
        key=K.DATA_PART,
        format_func=lambda p: t("training images") if p == "train" else t("test images"),
    )
    only = f2.selectbox(
        t("Class"),
        [None, *range(len(classes))],
        key=K.DATA_CLASS,
        format_func=lambda c: t("All classes") if c is None else classes[c],
    )
    if f3.button(t("Shuffle"), icon=":material/shuffle:", key=K.DATA_SHUFFLE, width="stretch"):
        ss[K.DATA_SEED] = ss.get(K.DATA_SEED, 0) + 1

    x, y = (data.test_x, data.test_y) if part == "test" else (data.train_x, data.train_y)
    pool = np.arange(len(y)) if only is None else np.flatnonzero(y.numpy() == only)
    pick = np.sort(np.random.default_rng(ss.get(K.DATA_SEED, 0)).choice(pool, min(N_SAMPLES, len(pool)), replace=False))
    if len(pick):
        images = x[pick].numpy()
        grid = image_grid(images, [classes[int(y[i])] for i in pick], cols=10)
        grid.update_annotations(font=dict(size=14, color="#31333F"))  # the label must read at a glance
        st.plotly_chart(grid, width="stretch", config={"displayModeBar": False}, key=K.DATA_GRID)
        st.caption(
            t(
                "{n} of {total} images, chosen at random; the label is written above each one.",
                n=len(pick),
                total=f"{len(pool):,}",
            )
        )
    else:
        st.info(t("No images of this class here."))

    st.subheader(t("Class balance"))
    st.caption(
        t(
            "How many images there are of each class. A balanced dataset keeps a model from simply guessing the "
            "most common class."
        )
    )
    balance_pair(
        data,
        classes,
        t("Training file ({n} images, before the validation split)", n=f"{len(data.train_y):,}"),
        t("Test set ({n} images)", n=f"{len(data.test_y):,}"),
        (K.DATA_BAL_TRAIN, K.DATA_BAL_TEST),
    )
