"""Shared widgets: the sidebar every page shows, and plain-language error boxes."""

from __future__ import annotations

import streamlit as st

from dlviz.data import ALL_DATASETS
from dlviz.data.user_csv import list_csv
from dlviz.errors import DlvizError
from dlviz.i18n import LANGUAGES, translate
from dlviz.ui.plain import plain
from dlviz.ui.state import save_session, t


def show_error(e: DlvizError) -> None:
    st.error(e.message(st.session_state.get("lang", "en"), escape=plain), icon=":material/error:")


def _relabel_choices() -> None:
    """After a language switch, hand every choice widget its value again.

    A keyed select box keeps, in the browser, the label of its option as it was drawn ("Warm-up then cosine
    decay") when the labels change language; a value set through session state makes Streamlit send the
    option's new label. Only plain values are touched (no buttons, uploads or canvases), and only widgets
    not drawn yet in this run (the language box is the one drawn before this).
    """
    ss = st.session_state
    for key in list(ss.keys()):
        if not isinstance(key, str) or key == "_lang_select" or not key.startswith("_"):
            continue
        try:
            value = ss[key]
        except KeyError:
            continue
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            try:
                ss[key] = value
            except st.errors.StreamlitAPIException:  # a widget this run has drawn already
                pass


def sidebar() -> None:
    ss = st.session_state
    from dlviz.ui.screen import presentation_toggle

    with st.sidebar:
        presentation_toggle()
        langs = list(LANGUAGES)
        lang = st.selectbox(
            ":material/translate: Language / 语言",
            langs,
            index=langs.index(ss.lang) if ss.lang in langs else 0,
            format_func=LANGUAGES.get,
            key="_lang_select",
        )
        if lang != ss.lang:
            ss.lang = lang
            ss["_relabel"] = True
            save_session()
            st.rerun()
        if ss.pop("_relabel", False):
            _relabel_choices()
        own = list_csv()  # the user's CSV files kept in the home folder
        keys = list(ALL_DATASETS) + list(own)
        picked = ss.pop("_dataset_select_next", None)  # a page chose the dataset (a CSV just uploaded)
        if picked in keys:
            ss["_dataset_select"] = picked  # set before the box is drawn, so it shows the choice
        ds = st.selectbox(
            t("Dataset"),
            keys,
            index=keys.index(ss.dataset) if ss.dataset in keys else 0,
            format_func=lambda k, lang=ss.lang: (
                translate(ALL_DATASETS[k].title, lang) if k in ALL_DATASETS else t("Your CSV: {name}", name=own[k])
            ),
            key="_dataset_select",
        )
        data_dir = st.text_input(
            t("Data folder (optional)"),
            value=ss.data_dir or "",
            key="_data_dir_input",
            help=t(
                "A folder holding the four IDX files (.gz or not), or rt-polarity.pos and "
                "rt-polarity.neg. Leave empty to use the cache, a download, or the offline "
                "data."
            ),
        )
        if ds != ss.dataset or data_dir.strip() != (ss.data_dir or ""):
            ss.dataset, ss.data_dir = ds, data_dir.strip()
            save_session()
