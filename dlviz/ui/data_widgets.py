"""Images in the app: the Data page of an image dataset (source, split, samples, class balance) and an image
run's test preview; the class-balance pair and the sample picker serve the text Data page too."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dlviz.data import SPLIT_SEED, class_counts, split_indices, val_fraction_of
from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.plots import class_balance, image_grid, prediction_gallery
from dlviz.ui import keys as K
from dlviz.ui.plain import plain
from dlviz.ui.state import get_data, t

N_SAMPLES = 30


def balance_pair(data, classes: list[str], train_title: str, test_title: str, keys: tuple[str, str], unit=None):
    """The class balance of the training file and of the test set, side by side (``unit``: the y axis's title)."""
    for col, y, title, key in zip(st.columns(2), (data.train_y, data.test_y), (train_title, test_title), keys):
        fig = class_balance(class_counts(y, len(classes)), classes, tr=t, title=title)
        if unit:
            fig.update_yaxes(title=unit)
        col.plotly_chart(fig, width="stretch", config={"displayModeBar": False}, key=key)


# what a Data page calls its three parts and how it explains the validation and test parts (English templates,
# translated where shown): (names, the validation part's help with {pct} and {seed}, the test part's help)
IMAGE_SPLIT = (
    (N_("Training images"), N_("Validation images"), N_("Test images")),
    N_("{pct}% of the training file, held out (seed {seed}) to check the model during training."),
    N_("Kept apart until the end, to measure the final accuracy."),
)


def split_metrics(cols, data, words: tuple) -> None:
    """How many examples train, validate and test, in the first three of ``cols``: the validation part is
    held out of the training part as the Train page will hold it out (its share, SPLIT_SEED). ``words``: the
    kind of data's names and helps (IMAGE_SPLIT, text_data_widgets.TEXT_SPLIT)."""
    names, val_help, test_help = words
    val_fraction = val_fraction_of(st.session_state.get(K.TRAIN_SETTINGS))  # the split the Train page uses
    train_idx, val_idx = split_indices(len(data.train_y), val_fraction, seed=SPLIT_SEED)
    helps = (None, t(val_help, pct=round(val_fraction * 100), seed=SPLIT_SEED), t(test_help))
    for col, name, n, help_ in zip(cols, names, (len(train_idx), len(val_idx), len(data.test_y)), helps):
        col.metric(t(name), f"{n:,}", help=help_)


def sample_picker(col_class, col_shuffle, classes: list[str], y: np.ndarray, n: int, keys: tuple[str, str, str]):
    """The class box and the Shuffle button of a Data page's samples, in the columns given, and (at most
    ``n`` examples of the chosen class drawn at random, every example of that class). ``keys``: the class
    box's, the button's and the kept seed's."""
    class_key, shuffle_key, seed_key = keys
    ss = st.session_state
    only = col_class.selectbox(
        t("Class"),
        [None, *range(len(classes))],
        key=class_key,
        format_func=lambda c: t("All classes") if c is None else classes[c],
    )
    if col_shuffle.button(t("Shuffle"), icon=":material/shuffle:", key=shuffle_key, width="stretch"):
        ss[seed_key] = ss.get(seed_key, 0) + 1
    pool = np.arange(len(y)) if only is None else np.flatnonzero(y == only)
    return np.random.default_rng(ss.get(seed_key, 0)).choice(pool, min(n, len(pool)), replace=False), pool


def image_data_page(data) -> None:
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

    c = st.columns(4)
    split_metrics(c, data, IMAGE_SPLIT)
    c[3].metric(t("Classes"), f"{len(classes)}")

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
    x, y = (data.test_x, data.test_y) if part == "test" else (data.train_x, data.train_y)
    pick, pool = sample_picker(f2, f3, classes, y.numpy(), N_SAMPLES, (K.DATA_CLASS, K.DATA_SHUFFLE, K.DATA_SEED))
    pick = np.sort(pick)
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


def image_preview(run, prev: dict) -> None:
    """An image run's test preview (saved with the run): the course's gallery of test images and their bars."""
    st.subheader(t("Test images: prediction, confidence (true label)"))
    st.caption(
        t(
            "Each bar is the probability the model gives a class. Blue title: right. Vermillion title: "
            "wrong; then the vermillion bar is the model's guess and the blue bar the true class."
        )
    )
    try:
        data = get_data(run.dataset)
    except DlvizError as e:
        st.info(t("The test images cannot be shown: {msg}", msg=e.message(st.session_state[K.LANG], escape=plain)))
        return
    idx = [i for i in prev["indices"] if i < len(data.test_x)]
    if len(idx) == len(prev["indices"]):
        imgs = data.test_x[idx].numpy()
        fig = prediction_gallery(
            imgs, np.asarray(prev["probs"]), prev["labels"], [t(c) for c in data.classes], tr=t, cols=3
        )
        st.plotly_chart(fig, key=K.run_gallery(run.id))
