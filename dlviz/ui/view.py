"""A read-only view of someone else's run (issue 17): the teacher opening a student's run from the class
dashboard, or anyone opening a read-only link (``?view=<token>``).

The view is the session's open run (``K.RUN_ID``) with a flag (``K.VIEW``): every look-inside page shows that
run, a banner on every page says whose it is and that it is read-only, with a way back to one's own run, and no
page offers to rename, delete or change it (:func:`read_only_note`). Training never changes a run: Train always
makes a new one. The flag is checked on every page: a revoked link, or a teacher's view in a session that is
no longer the teacher's, ends the view.
"""

from __future__ import annotations

import streamlit as st

from dlviz.classroom.share import ShareLinks, imported_from
from dlviz.errors import DlvizError
from dlviz.runs import RunRecord, RunStore
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.plain import plain
from dlviz.ui.state import get_store, save_session, t

VIA_TEACHER = "teacher"  # opened by the teacher from the class dashboard
VIA_LINK = "link"  # opened from a read-only link


def open_view(run_id: str, name: str, via: str, token: str | None = None) -> None:
    """Open ``run_id`` read-only in this session: it becomes the open run, flagged as ``name``'s."""
    ss = st.session_state
    current = ss.get(K.VIEW)
    back = current.get("back") if isinstance(current, dict) else ss.get(K.RUN_ID)
    ss[K.VIEW] = {"run_id": run_id, "name": str(name or ""), "via": via, "token": token, "back": back}
    ss[K.RUN_ID] = run_id
    ss[K.RUN_RESTORED] = False
    save_session()


def close_view() -> None:
    """End the view: the run that was open before it opens again (if it still exists)."""
    ss = st.session_state
    view = ss.get(K.VIEW)
    back = view.get("back") if isinstance(view, dict) else None
    ss[K.VIEW] = None
    if back:
        try:
            get_store().get(back)
        except DlvizError:
            back = None  # deleted meanwhile
    ss[K.RUN_ID] = back
    ss[K.RUN_RESTORED] = False
    save_session()


def _still_allowed(view: dict) -> bool:
    if view.get("via") == VIA_LINK:
        entry = ShareLinks().resolve(view.get("token"))
        return entry is not None and entry.get("run_id") == view.get("run_id")
    if view.get("via") == VIA_TEACHER:
        return me().teacher
    return False


def viewing() -> dict | None:
    """The read-only view this session is in (``{run_id, name, via, ...}``), or None. A view whose link was
    revoked, or whose run was deleted, ends here (the session goes back to its own run)."""
    ss = st.session_state
    view = ss.get(K.VIEW)
    if not isinstance(view, dict):
        return None
    if view.get("run_id") != ss.get(K.RUN_ID):
        ss[K.VIEW] = None  # another run was opened since
        return None
    alive = _still_allowed(view)
    if alive:
        try:
            get_store().get(view["run_id"])
        except DlvizError:
            alive = False
    if not alive:
        close_view()
        ss[K.VIEW_PROBLEM] = "ended"
        return None
    return view


def viewed_run_id() -> str | None:
    """The id of the run this session views read-only, if any (the look-inside pages list it too)."""
    view = viewing()
    return view["run_id"] if view else None


def take_view_link() -> None:
    """A page opened with ``?view=<token>``: open that one run read-only (the token leaves the address at once,
    so a projected address bar never shows it). A token that does not resolve opens nothing and says so."""
    token = st.query_params.get("view")
    if not token:
        return
    del st.query_params["view"]
    entry = ShareLinks().resolve(token)
    if entry is not None:
        try:
            RunStore().get(entry["run_id"])  # the link is the permission: only that the run still exists
        except DlvizError:
            entry = None
    if entry is None:
        st.session_state[K.VIEW_PROBLEM] = "bad"
        return
    open_view(entry["run_id"], entry.get("sender") or "", VIA_LINK, entry["token"])


def view_banner() -> None:
    """On top of every page while a view is open: whose run this is, read-only, and the way back."""
    view = viewing()  # first: a view that just ended says so below
    problem = st.session_state.pop(K.VIEW_PROBLEM, None)
    if problem == "bad":
        st.warning(
            t("This read-only link does not open anything: it was revoked, or its run was deleted."),
            icon=":material/link_off:",
        )
    elif problem == "ended":
        st.info(
            t("The read-only view ended (its link was revoked or its run deleted); your own run is open again."),
            icon=":material/link_off:",
        )
    if not view:
        return
    try:
        run = get_store().get(view["run_id"])
    except DlvizError:
        return
    who = plain(view.get("name") or "")
    if view.get("via") == VIA_TEACHER:
        text = t(
            "Read-only: you are looking at {who}'s run {run}. Nothing here changes it.", who=who, run=plain(run.name)
        )
    elif who:
        text = t("Read-only: a run shared by {who}, {run}. Nothing here changes it.", who=who, run=plain(run.name))
    else:
        text = t("Read-only: a shared run, {run}. Nothing here changes it.", run=plain(run.name))
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info(text, icon=":material/visibility:")
    c2.button(t("Back to my own run"), icon=":material/undo:", key=K.VIEW_BACK, on_click=close_view, width="stretch")


def read_only_note(run: RunRecord) -> str | None:
    """Why ``run`` cannot be renamed or changed here, in words; None when it can (a run of one's own)."""
    view = viewing()
    if view and view["run_id"] == run.id:
        return t("This run is open read-only: it cannot be renamed, deleted or changed here.")
    sent = imported_from(get_store(), run.id)
    if sent is not None:
        sender = sent.get("imported_from") or ""
        if sender:
            return t(
                "Imported from {who}: a read-only copy. It cannot be renamed; you can delete your copy.",
                who=plain(sender),
            )
        return t("Imported from a run file: a read-only copy. It cannot be renamed; you can delete your copy.")
    return None
