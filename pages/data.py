"""Data page: where the images (or sentences) came from, how many there are, what they look like, class balance."""

import streamlit as st

from dlviz.data import get_info
from dlviz.errors import DlvizError
from dlviz.ui import ensure_app, get_data, show_error, t
from dlviz.ui import keys as K
from dlviz.ui.kinds import kind_of

ensure_app()
ss = st.session_state
st.title(t("Data"))
try:
    data = get_data()
except DlvizError as e:
    show_error(e)
    st.info(t(kind_of(get_info(ss[K.DATASET])).data_hint), icon=":material/arrow_back:")
    st.stop()

kind_of(data).data_page(data)  # images: dlviz.ui.data_widgets; sentences: dlviz.ui.text_data_widgets
