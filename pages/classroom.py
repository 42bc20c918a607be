"""Class page (the teacher's alone): a live dashboard of the class (issue 17)."""

import streamlit as st

from dlviz.ui import ensure_app, t
from dlviz.ui.classroom import me

ensure_app()

from dlviz.ui.dashboard_widgets import REFRESH_S, class_dashboard
from dlviz.ui.push_widgets import push_panel
from dlviz.ui.queue_widgets import limits_panel, queue_panel

st.title(t("Classroom"))
if not me().teacher:  # the navigation lists this page for the teacher only; a typed address lands here
    st.warning(t("Only the teacher sees the class dashboard."), icon=":material/lock:")
    st.stop()
st.caption(
    t(
        "Who is here, what each student is building, and how their runs learn. Open any run read-only to "
        "discuss it with the class."
    )
)
push_panel()  # push a dataset, model, recipe, page or lesson to every student, and lock controls (issue 17 item 3)


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    class_dashboard()


@st.fragment(run_every=REFRESH_S)
def queue() -> None:
    queue_panel()  # who trains, who waits, what ended; cancel or stop any student's job (issue 17 item 5)


live()
queue()
limits_panel()  # what one student's run may cost (issue 17 item 5)
