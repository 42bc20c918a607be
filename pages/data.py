"""Data page: where the images (or sentences) came from, how many there are, what they look like, class balance."""

import numpy as np
import streamlit as st

from dlviz.data import class_counts, get_info, split_indices
from dlviz.errors import DlvizError
from dlviz.plots import class_balance, image_grid
from dlviz.ui import ensure_app, get_data, show_error, t
from dlviz.ui import keys as K

VAL_FRACTION, SPLIT_SEED, N_SAMPLES = 0.2, 42, 30  # the course's split: 20% validation, seed 42

ensure_app()
ss = st.session_state
st.title(t("Data"))
try:
    data = get_data()
except DlvizError as e:
    show_error(e)
    if getattr(get_info(ss[K.DATASET]), "kind", "image") == "text":  # sentences: two or more files, no image subset
        hint = t(
            "Check the \"Data folder\" field in the sidebar: name a folder that holds this dataset's files "
            "(the message above names them), or leave it empty to use the local cache or a download."
        )
    else:
        hint = t(
            "Check the \"Data folder\" field in the sidebar: name a folder that holds the four dataset files, "
            "or leave it empty to use the local cache, a download or the offline subset."
        )
    st.info(hint, icon=":material/arrow_back:")
    st.stop()

info = data.info
if getattr(info, "kind", "image") == "text":
    from dlviz.ui.text_data_widgets import text_data_page

    text_data_page(data)
    st.stop()
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

train_idx, val_idx = split_indices(len(data.train_y), VAL_FRACTION, seed=SPLIT_SEED)
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("Training images"), f"{len(train_idx):,}")
c2.metric(
    t("Validation images"),
    f"{len(val_idx):,}",
    help=t(
        "{pct}% of the training file, held out (seed {seed}) to check the model during training.",
        pct=round(VAL_FRACTION * 100),
        seed=SPLIT_SEED,
    ),
)
c3.metric(t("Test images"), f"{len(data.test_y):,}", help=t("Kept apart until the end, to measure the final accuracy."))
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
b1, b2 = st.columns(2)
b1.plotly_chart(
    class_balance(
        class_counts(data.train_y, len(classes)),
        classes,
        tr=t,
        title=t("Training file ({n} images, before the validation split)", n=f"{len(data.train_y):,}"),
    ),
    width="stretch",
    config={"displayModeBar": False},
    key=K.DATA_BAL_TRAIN,
)
b2.plotly_chart(
    class_balance(
        class_counts(data.test_y, len(classes)),
        classes,
        tr=t,
        title=t("Test set ({n} images)", n=f"{len(data.test_y):,}"),
    ),
    width="stretch",
    config={"displayModeBar": False},
    key=K.DATA_BAL_TEST,
)
