"""Glossary page: a plain sentence for every word of jargon on the other pages, in the session's language."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.glossary import search
from dlviz.ui import t

st.title(t("Glossary"))
st.caption(
    t(
        "The words the pages use, each in one or two plain sentences. Hover a small question mark on a "
        "page to see the word it explains there."
    )
)
query = st.text_input(t("Find a word"), key=K.GLOSS_QUERY, placeholder=t("e.g. stride, epoch, rank correlation"))
lang = st.session_state.get(K.LANG, "en")
found = search(query, lang)
if not found:
    st.info(t("No entry has these letters. Try part of the word."), icon=":material/search_off:")
cols = st.columns(2)
for i, e in enumerate(found):
    with cols[i % 2].container(border=True):
        st.markdown(f"#### {t(e.term)}", unsafe_allow_html=False)
        st.markdown(t(e.text))
        st.caption(t("On the pages: {pages}", pages=("、" if lang == "zh" else ", ").join(t(p) for p in e.pages)))
