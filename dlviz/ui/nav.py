"""The table of contents and the shared sidebar: what app.py runs (and ensure_app on a deep link)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dlviz.ui.state import init_session, t
from dlviz.ui.widgets import sidebar

_ROOT = Path(__file__).resolve().parents[2]
LOOK_INSIDE = [  # (file and url, title, icon)
    ("inspect", "Inspect", ":material/visibility:"),
    ("filters", "Filters", ":material/grid_on:"),
    ("gradients", "Gradients", ":material/show_chart:"),
    ("embeddings", "Embeddings", ":material/scatter_plot:"),
    ("errors", "Errors", ":material/rule:"),
    ("attention", "Attention", ":material/hub:"),
    ("sequence", "Sequence", ":material/timeline:"),
    ("explain", "Explain", ":material/lightbulb:"),
]


def run_app() -> None:
    # the icon and the logo ship in assets/: the page fetches nothing from outside (tests/test_offline.py)
    st.set_page_config(page_title="dlviz", page_icon=str(_ROOT / "assets/favicon.png"), layout="wide")
    st.logo(str(_ROOT / "assets/logo.png"), size="medium")
    init_session()
    make = [
        st.Page(_ROOT / "pages/home.py", title=t("Start"), icon=":material/home:", default=True),
        st.Page(_ROOT / "pages/data.py", title=t("Data"), icon=":material/image:", url_path="data"),
        st.Page(_ROOT / "pages/build.py", title=t("Build"), icon=":material/account_tree:", url_path="build"),
        st.Page(_ROOT / "pages/train.py", title=t("Train"), icon=":material/monitoring:", url_path="train"),
        st.Page(_ROOT / "pages/runs.py", title=t("Runs"), icon=":material/history:", url_path="runs"),
    ]
    look = [st.Page(_ROOT / f"pages/{name}.py", title=t(title), icon=icon, url_path=name)
            for name, title, icon in LOOK_INSIDE]
    # expanded: all 14 pages listed (Streamlit folds the list after 10 behind "View more")
    help_pages = [st.Page(_ROOT / "pages/glossary.py", title=t("Glossary"), icon=":material/menu_book:",
                          url_path="glossary")]
    nav = st.navigation({t("Build and train"): make, t("Look inside"): look, t("Help"): help_pages}, expanded=True)
    sidebar()
    nav.run()
