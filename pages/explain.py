"""Explain page: pick a decision, ask why; several methods side by side, sanity checks, a card, a handout.

The page asks the dataset's modality which view to show (dlviz.ui.explain_widgets.explain_page): an image
with a map per method, or a typed sentence with a row of coloured words per method.
"""

import streamlit as st

from dlviz.ui import ensure_app

ensure_app()

from dlviz.ui import t
from dlviz.ui.explain_widgets import explain_page

st.title(t("Explain"))
explain_page(st.session_state.dataset)
