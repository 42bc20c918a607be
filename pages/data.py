"""Data page: where the images (or sentences) came from, how many there are, what they look like, class balance."""

import streamlit as st

from dlviz.data import get_info
from dlviz.data.cifar import ARCHIVE as CIFAR_ARCHIVE
from dlviz.data.cifar import FOLDER as CIFAR_FOLDER
from dlviz.data.cifar import URL as CIFAR_URL
from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.ui import ensure_app, get_data, show_error, t
from dlviz.ui import keys as K
from dlviz.ui.kinds import kind_of

CIFAR_HINT = N_(
    "To get CIFAR-10: download {archive} (the binary version, 162 MB) from {url} on any machine with internet; "
    "then type the folder that holds it, or the {folder} folder extracted from it, in the sidebar's \"Data "
    "folder\" field. dlviz checks the files, extracts the archive into its cache and keeps it there. (The Python "
    "version, cifar-10-python.tar.gz, is refused: its files are pickled.)"
)

ensure_app()
ss = st.session_state
st.title(t("Data"))
try:
    data = get_data()
except DlvizError as e:
    show_error(e)
    info = get_info(ss[K.DATASET])
    if info.format == "cifar-bin":  # not on the machine: how to get it, step by step
        st.info(t(CIFAR_HINT, url=CIFAR_URL, archive=CIFAR_ARCHIVE, folder=CIFAR_FOLDER), icon=":material/download:")
    else:
        st.info(t(kind_of(info).data_hint), icon=":material/arrow_back:")
    st.stop()

kind_of(data).data_page(data)  # images: dlviz.ui.data_widgets; sentences: dlviz.ui.text_data_widgets
