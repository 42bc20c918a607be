"""The table of contents and the shared sidebar: what app.py runs, and ensure_app, which every page calls first."""

from __future__ import annotations

import ast
import importlib
import sys
import threading
from pathlib import Path

import streamlit as st

from dlviz.errors import RunError
from dlviz.explain.warm import warm_up
from dlviz.runs import IndexDamagedError, RunStore
from dlviz.ui import keys as K
from dlviz.ui import push_widgets, screen
from dlviz.ui.cache import Bounded
from dlviz.ui.classroom import me
from dlviz.ui.lesson_widgets import lesson_panel
from dlviz.ui.signin import guard_open_run, sign_in_page, signed_in, touch
from dlviz.ui.state import init_session, t, warm_datasets
from dlviz.ui.view import take_view_link, view_banner
from dlviz.ui.widgets import show_error, sidebar

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
    ("autoencoder", "Autoencoder", ":material/compress:"),
]


def _warm_explanations() -> None:
    """Once per server process, in a daemon thread: the explanation path's one-off costs (Captum's imports, the
    first backward pass, oneDNN's kernels), so the first explanation a user asks for is not a cold start."""
    warm_up()


_PAGES_WARMED = threading.Event()  # set once the warm-up below has started in this process


def page_modules() -> list[str]:
    """The dlviz modules the pages import (read from pages/*.py, not run)."""
    found: dict[str, None] = {}
    for path in sorted((_ROOT / "pages").glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dlviz"):
                found[node.module] = None
    return list(found)


def _import_all(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a warm-up never fails anything: the page imports it and says why
            pass


def warm_pages() -> threading.Thread | None:
    """Once per server process, in a daemon thread: import every page's modules (0.1-0.9 s each for the Filters,
    Explain and Autoencoder pages' widgets on this machine), so the first visit to a page, or a lesson's first
    step on it, does not wait for its imports (issue 18, instant starts)."""
    if _PAGES_WARMED.is_set():
        return None
    _PAGES_WARMED.set()
    th = threading.Thread(target=_import_all, args=(page_modules(),), daemon=True, name="dlviz-page-warm-up")
    th.start()
    return th


def run_app() -> None:
    # the icon and the logo ship in assets/: the page fetches nothing from outside (tests/test_offline.py)
    st.set_page_config(page_title="dlviz", page_icon=str(_ROOT / "assets/favicon.png"), layout="wide")
    st.logo(str(_ROOT / "assets/logo.png"), size="medium")
    if not signed_in():  # a class server: nobody sees a page before signing in (alone: always signed in)
        st.navigation([st.Page(sign_in_page, title=t("Join the class"), url_path="join")], position="hidden").run()
        return
    init_session()
    take_view_link()  # ?view=<token>: one run, read-only (dlviz.ui.view)
    _warm_explanations()
    warm_datasets([st.session_state.get(K.DATASET)])  # once per process: the first page that shows it does not wait
    warm_pages()
    screen.install()
    screen.screen_style()
    make = [
        st.Page(_ROOT / "pages/home.py", title=t("Start"), icon=":material/home:", default=True),
        st.Page(_ROOT / "pages/data.py", title=t("Data"), icon=":material/image:", url_path="data"),
        st.Page(_ROOT / "pages/build.py", title=t("Build"), icon=":material/account_tree:", url_path="build"),
        st.Page(_ROOT / "pages/train.py", title=t("Train"), icon=":material/monitoring:", url_path="train"),
        st.Page(_ROOT / "pages/runs.py", title=t("Runs"), icon=":material/history:", url_path="runs"),
        st.Page(_ROOT / "pages/compress.py", title=t("Compress"), icon=":material/speed:", url_path="compress"),
    ]
    look = [
        st.Page(_ROOT / f"pages/{name}.py", title=t(title), icon=icon, url_path=name)
        for name, title, icon in LOOK_INSIDE
    ]
    # expanded: all 14 pages listed (Streamlit folds the list after 10 behind "View more")
    help_pages = [
        st.Page(_ROOT / "pages/glossary.py", title=t("Glossary"), icon=":material/menu_book:", url_path="glossary")
    ]
    sections = {t("Build and train"): make, t("Look inside"): look, t("Help"): help_pages}
    if me().teacher:  # the class dashboard: the teacher's alone (the page itself checks again)
        sections[t("Classroom")] = [
            st.Page(_ROOT / "pages/classroom.py", title=t("Classroom"), icon=":material/groups:", url_path="class")
        ]
    nav = st.navigation(sections, expanded=True)
    push_widgets.receive()  # a student's session takes the teacher's new push once, and is held by the locks
    sidebar()
    with st.sidebar:
        push_widgets.watch()  # an open student page looks for a new push every few seconds
    touch(nav.url_path or "home")  # a class: who is here, on which page (the teacher's view); alone: nothing
    try:  # every page calls ensure_app() first, which draws index_notice() on top of it
        nav.run()
    except RunError as e:  # the run index failed under a page: a sentence, never a traceback; the menu stays
        show_error(e)


# damaged index files already copied aside by this server, for every session: (path, size, mtime) -> copy
_BACKED_UP = Bounded(16)


def index_notice() -> None:
    """When the run index (runs.db) is damaged: say so on every page, keep a backup of the damaged file, and
    offer to rebuild the index from the run folders (each keeps a copy of its row in run.json)."""
    _rebuilt_notice()
    store = RunStore()
    problem = store.index_problem()
    if not isinstance(problem, IndexDamagedError):
        return
    backup = None
    try:
        info = store.db_path.stat()
        key = (str(store.db_path), info.st_size, info.st_mtime_ns)
        backup = _BACKED_UP.get_or_make(key, store.backup_index)
    except OSError:
        pass
    except RunError as e:
        show_error(e)
    show_error(problem)
    if backup is not None:
        st.caption(t("A copy of the damaged index was kept as {path}.", path=str(backup)))
    if st.button(
        t("Rebuild the run index from the run folders"), icon=":material/build:", key=K.REBUILD_INDEX, type="primary"
    ):
        try:
            with st.spinner(t("Rebuilding the run index...")):
                out = store.rebuild_index(keep_backup=backup is None)
        except RunError as e:
            show_error(e)
            return
        st.session_state[K.INDEX_REBUILT] = out
        st.rerun()


def _rebuilt_notice() -> None:
    out = st.session_state.pop(K.INDEX_REBUILT, None)
    if out:
        st.success(
            t("The run index was rebuilt from the run folders: {n} runs.", n=out["runs"]),
            icon=":material/check_circle:",
        )


def ensure_app() -> None:
    """Make sure this page runs inside app.py's navigation (call it first on every page).

    Streamlit treats a project with a pages/ folder as an old-style multipage app until the first
    ``st.navigation`` call; if the first visit after a server start is a deep link (/train), it runs
    pages/train.py alone, without app.py. Then run the whole app here instead (its public
    ``st.navigation`` call turns the old mode off for the process) and stop the stray run.
    """
    if K.SID in st.session_state:
        view_banner()  # first: a view whose link was revoked goes back to one's own run
        guard_open_run()  # a class: a run id that is not this person's opens nothing, and the page says so
        index_notice()  # a damaged run index: said on top of every page, with the button that rebuilds it
        push_widgets.receive()  # again: a page can run without app.py's run (AppTest's reruns); cheap when done
        push_widgets.banner()  # in a class: what the teacher pushed and locked
        lesson_panel(sys._getframe(1).f_code.co_filename)  # the active lesson's step, on top of its page
        return
    run_app()
    st.stop()
