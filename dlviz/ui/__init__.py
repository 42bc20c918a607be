"""The only dlviz code that imports streamlit: session state, caching, the sidebar, shared widgets."""

# Imported here, before any training thread starts: a text run's classic baseline (scikit-learn) imports
# pandas in the worker thread while the page's Plotly charts import it in the script thread, and two
# first imports at once left one of them with a half-initialised module ("pandas has no attribute Series").
import pandas  # noqa: F401,I001

from dlviz.ui.state import (
    current_spec,
    get_data,
    get_executor,
    get_store,
    init_session,
    run_message,
    save_session,
    set_spec,
    t,
    undo_spec,
)
from dlviz.ui.nav import ensure_app
from dlviz.ui.widgets import show_error, sidebar

__all__ = [
    "current_spec",
    "ensure_app",
    "get_data",
    "get_executor",
    "get_store",
    "init_session",
    "run_message",
    "save_session",
    "set_spec",
    "t",
    "undo_spec",
    "show_error",
    "sidebar",
]
