"""Shared widgets: the sidebar every page shows, and plain-language error boxes."""

from __future__ import annotations

import streamlit as st

from dlviz.classroom import class_mode
from dlviz.data import ALL_DATASETS
from dlviz.data.user_csv import list_csv
from dlviz.errors import DlvizError
from dlviz.i18n import LANGUAGES, translate
from dlviz.ui import keys as K
from dlviz.ui.class_locks import lock_help, locked
from dlviz.ui.classroom import me
from dlviz.ui.plain import plain
from dlviz.ui.screen import presentation_toggle
from dlviz.ui.signin import who_i_am
from dlviz.ui.state import save_session, t


def show_error(e: DlvizError) -> None:
    st.error(e.message(st.session_state.get(K.LANG, "en"), escape=plain), icon=":material/error:")


def _relabel_choices() -> None:
    """After a language switch, hand every choice widget its value again.

    A keyed select box keeps, in the browser, the label of its option as it was drawn ("Warm-up then cosine
    decay") when the labels change language; a value set through session state makes Streamlit send the
    option's new label. Only plain values are touched (no buttons, uploads or canvases), and only widgets
    not drawn yet in this run (the language box is the one drawn before this).
    """
    ss = st.session_state
    for key in list(ss.keys()):
        if not isinstance(key, str) or key == K.LANG_SELECT or not key.startswith("_"):
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
    in_class = class_mode()
    with st.sidebar:
        who_i_am()  # a class: who you are and sign-out (alone: nothing)
        presentation_toggle()
        langs = list(LANGUAGES)
        lang = st.selectbox(
            ":material/translate: Language / 语言",
            langs,
            index=langs.index(ss[K.LANG]) if ss[K.LANG] in langs else 0,
            format_func=LANGUAGES.get,
            key=K.LANG_SELECT,
        )
        if lang != ss[K.LANG]:
            ss[K.LANG] = lang
            ss[K.RELABEL] = True
            save_session()
            st.rerun()
        if ss.pop(K.RELABEL, False):
            _relabel_choices()
        own = list_csv(owner=me().id if in_class else None)  # the user's CSV files kept in the home folder
        keys = list(ALL_DATASETS) + list(own)
        picked = ss.pop(K.DATASET_SELECT_NEXT, None)  # a page chose the dataset (a CSV just uploaded)
        if picked in keys:
            ss[K.DATASET_SELECT] = picked  # set before the box is drawn, so it shows the choice
        ds = st.selectbox(
            t("Dataset"),
            keys,
            index=keys.index(ss[K.DATASET]) if ss[K.DATASET] in keys else 0,
            format_func=lambda k, lang=ss[K.LANG]: (
                translate(ALL_DATASETS[k].title, lang) if k in ALL_DATASETS else t("Your CSV: {name}", name=own[k])
            ),
            key=K.DATASET_SELECT,
            disabled=locked("dataset"),
            help=lock_help("dataset"),
        )
        if in_class:  # the server's setting (--data-dir or DLVIZ_DATA_DIR), not a visitor's field
            data_dir = ss[K.DATA_DIR] or ""
            st.caption(
                t("Data comes from the server's data folder, set when the class server was started.")
                if data_dir
                else t("Data comes from the server's cache, a download or the offline data.")
            )
        else:
            data_dir = st.text_input(
                t("Data folder (optional)"),
                value=ss[K.DATA_DIR] or "",
                key=K.DATA_DIR_INPUT,
                help=t(
                    "A folder holding the four IDX files (.gz or not), or rt-polarity.pos and "
                    "rt-polarity.neg. Leave empty to use the cache, a download, or the offline "
                    "data."
                ),
            )
        if ds != ss[K.DATASET] or data_dir.strip() != (ss[K.DATA_DIR] or ""):
            ss[K.DATASET], ss[K.DATA_DIR] = ds, data_dir.strip()
            save_session()
