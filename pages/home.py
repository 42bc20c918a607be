"""Start page: what dlviz does, the four steps, and the run you were last looking at."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.data.registry import ALL_DATASETS
from dlviz.errors import DlvizError
from dlviz.ui import get_store, t
from dlviz.ui.kinds import DATASET_INTROS, IMAGE_KIND, kind_of
from dlviz.ui.lesson_widgets import lesson_list
from dlviz.ui.plain import plain
from dlviz.ui.run_widgets import run_title

st.title(t("dlviz: build, train and look inside neural networks"))
_dataset = st.session_state.get(K.DATASET) or "mnist"
_info = ALL_DATASETS.get(_dataset)
_kind = IMAGE_KIND if _info is None else kind_of(_info)  # the intro names what the session's dataset holds
st.markdown(t(DATASET_INTROS.get(_dataset, _kind.intro)))
cols = st.columns(4)
steps = [
    (
        ":material/image:",
        t("1. Data"),
        t(_kind.data_step),
        "pages/data.py",
    ),
    (
        ":material/account_tree:",
        t("2. Build"),
        t("Start from a course preset or stack layers yourself; shapes update at once."),
        "pages/build.py",
    ),
    (
        ":material/monitoring:",
        t("3. Train"),
        t("Press Train and watch the loss fall and the accuracy rise."),
        "pages/train.py",
    ),
    (
        ":material/history:",
        t("4. Runs"),
        t("Every run is saved: open, rename or delete it, even after a restart."),
        "pages/runs.py",
    ),
]
for col, (icon, title, text, page) in zip(cols, steps):
    with col.container(border=True):
        st.markdown(f"### {icon} {title}")
        st.write(text)
        st.page_link(page, label=t("Open"), icon=":material/arrow_forward:")

rid = st.session_state.get(K.RUN_ID)
if rid:
    try:
        run = get_store().get(rid)
    except DlvizError:  # a deleted run: nothing to reopen
        run = None
    if run:
        acc = f"{run.test_accuracy:.2%}" if run.test_accuracy is not None else "–"
        st.info(
            t(
                "Last run: {name} ({status}), test accuracy {acc}.",
                name=plain(run_title(run)),
                status=t(run.status),
                acc=acc,
            ),
            icon=":material/history:",
        )

lesson_list()
