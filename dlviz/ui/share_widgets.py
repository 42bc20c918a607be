"""Share a run without handing it over (Runs page): download it as a run file, make a read-only link, import a
run file someone sent (dlviz.classroom.share)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from dlviz.classroom.share import SUFFIX, ShareLinks, export_run, file_name, import_run, max_share_bytes
from dlviz.errors import DlvizError
from dlviz.runs import RunRecord
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.plain import plain
from dlviz.ui.run_widgets import flash
from dlviz.ui.state import get_store, t
from dlviz.ui.widgets import show_error


def _link(token: str) -> str:
    """The app's address on the Inspect page with ``?view=<token>`` (the address this page was opened at)."""
    try:
        parts = urlsplit(st.context.url or "")
    except Exception:
        parts = None
    if not parts or not parts.netloc:
        return f"?view={token}"
    path = parts.path.rstrip("/")
    base = path.rsplit("/", 1)[0] if path.rsplit("/", 1)[-1] in ("runs", "") else path
    return urlunsplit((parts.scheme, parts.netloc, f"{base}/inspect", f"view={token}", ""))


def share_section(run: RunRecord) -> None:
    """For a run of one's own that has ended: its run file, and its read-only links."""
    person = me()
    store = get_store()
    if run.is_active or not store.has_weights(run.id):
        return
    with st.container(border=True):
        st.markdown(f":material/share: **{t('Share without handing over')}**")
        st.caption(
            t(
                "A run file holds this run's settings, curves and weights (no code: it cannot run anything). "
                "Whoever imports it gets a read-only copy of their own; yours stays yours."
            )
        )
        sender = person.name or ""
        st.download_button(
            t("Download as a run file"),
            data=lambda: export_run(store, run.id, sender=sender),
            file_name=file_name(run),
            mime="application/zip",
            icon=":material/download:",
            key=K.RUNS_EXPORT,
            on_click="ignore",
        )
        links = ShareLinks()
        if st.button(t("Make a read-only link"), icon=":material/link:", key=K.RUNS_LINK_NEW):
            try:
                links.create(run.id, owner=person.id, sender=sender)
            except DlvizError as e:
                show_error(e)
        live = links.for_run(run.id)
        if live:
            st.caption(
                t(
                    "Anyone who has one of these links can look at this run (not change it), until you revoke "
                    "the link. It never opens your session or any other run."
                )
            )
        for entry in live:
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.code(_link(entry["token"]), language=None)
            if c2.button(t("Revoke"), key=K.link_revoke(entry["token"]), icon=":material/link_off:"):
                links.revoke(entry["token"])
                flash("success", t("The link was revoked: it opens nothing now."))
                st.rerun()


def import_section() -> None:
    """Import a run file someone sent: a new, read-only run of one's own."""
    with st.expander(t("Import a run file"), icon=":material/upload_file:"):
        st.caption(
            t(
                "A {suffix} file exported from dlviz (by a classmate, or the teacher). It becomes a read-only "
                "run of yours, marked with who sent it. Files up to {mb} MB.",
                suffix=SUFFIX,
                mb=max_share_bytes() // (1024 * 1024),
            )
        )
        up = st.file_uploader(
            t("Run file"),
            type=[SUFFIX.lstrip("."), "zip"],
            key=K.RUNS_IMPORT,
            max_upload_size=max(1, -(-max_share_bytes() // (1024 * 1024))),  # the browser refuses a bigger one
        )
        if up is not None and st.button(t("Import"), icon=":material/upload:", key=K.RUNS_IMPORT_BTN, type="primary"):
            try:  # the size is checked first: a file past the limit is refused before it is opened
                with st.spinner(t("Checking and importing the run file...")):
                    rec = import_run(get_store(), up.getvalue(), owner=me().id)
            except DlvizError as e:
                show_error(e)
            else:
                st.session_state[K.RUNS_PICK_NEXT] = rec.id  # the Runs page picks it before drawing its picker
                flash("success", t("Imported {name} as a read-only run of yours.", name=plain(rec.name)))
                st.rerun()
