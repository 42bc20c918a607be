"""The only dlviz code that imports streamlit: session state, caching, the sidebar, shared widgets."""

from dlviz.ui.state import (current_spec, ensure_app, get_data, get_executor, get_store, init_session, run_message, save_session,
                            set_spec, t, undo_spec)
from dlviz.ui.widgets import show_error, sidebar

__all__ = ["current_spec", "ensure_app", "get_data", "get_executor", "get_store", "init_session", "run_message", "save_session",
           "set_spec", "t", "undo_spec", "show_error", "sidebar"]
