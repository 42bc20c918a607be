"""dlviz: the table of contents and the shared sidebar. Nothing else (pages live in pages/)."""

import streamlit as st

from dlviz.ui import init_session, sidebar, t

st.set_page_config(page_title="dlviz", page_icon=":material/neurology:", layout="wide")
init_session()
nav = st.navigation([
    st.Page("pages/home.py", title=t("Start"), icon=":material/home:", default=True),
    st.Page("pages/data.py", title=t("Data"), icon=":material/image:", url_path="data"),
    st.Page("pages/build.py", title=t("Build"), icon=":material/account_tree:", url_path="build"),
    st.Page("pages/train.py", title=t("Train"), icon=":material/monitoring:", url_path="train"),
    st.Page("pages/runs.py", title=t("Runs"), icon=":material/history:", url_path="runs"),
])
sidebar()
nav.run()
