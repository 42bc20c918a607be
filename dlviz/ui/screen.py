"""The screen in a classroom: no empty top margin, and a presentation mode for a projector.

Presentation mode (a toggle in the sidebar, remembered in the session and across a refresh):
larger type in the page and in every Plotly figure, the sidebar hidden, and a small "Exit
presentation" button in the page's top bar. The figures grow through one wrapper around
``plotly_chart`` that reads the *current* session's choice, so other sessions are untouched.
"""

from __future__ import annotations

import functools

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dlviz.ui import keys as K
from dlviz.ui.state import save_session, t

PAGE_FONT_PX = 20  # the page's root size in presentation mode (Streamlit sizes everything in rem; 16 px normal)
FIGURE_FONT_PX = 18  # Plotly's base font in presentation mode (12 px normal)
FIGURE_SCALE = FIGURE_FONT_PX / 12

BASE_CSS = """
<style>
/* no empty band above the title: the curves and figures get the screen */
[data-testid="stMainBlockContainer"] { padding-top: 2rem; padding-left: 3rem; padding-right: 3rem; }
/* a script-only html element (a lesson step's scroll to the top, the class cookie) takes no gap in the layout */
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script:only-child) { display: none; }
</style>
"""
PRESENT_CSS = f"""
<style>
html {{ font-size: {PAGE_FONT_PX}px; }}
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapseButton"] {{ display: none !important; }}
[data-testid="stMainBlockContainer"] {{ padding-top: 3rem; max-width: 100%; }}
.st-key-_present_exit {{ position: fixed; top: 0.5rem; right: 4.5rem; z-index: 999991; width: auto; }}
</style>
"""


def presenting() -> bool:
    return bool(st.session_state.get(K.PRESENTATION))


def _set(on: bool) -> None:
    st.session_state[K.PRESENTATION] = on
    save_session()


def _toggled() -> None:
    _set(bool(st.session_state.get(K.PRESENT_TOGGLE)))


def ask_to_top() -> None:
    """Have the page's next run scroll it to its top, once (see :func:`to_top_if_asked`)."""
    st.session_state[K.TO_TOP] = True


def to_top_if_asked() -> None:
    """Scroll the page to its top when :func:`ask_to_top` asked for it, once. The browser keeps a page's scroll
    across a page switch and a rerun: a student who scrolled the Start page down to lesson 6 and pressed Start
    landed on the Data page 850 px down, the step's text out of sight; a teacher who opened the Train page's
    settings and pressed Train had the live curves, which the folded settings move up, cut at the top of a
    1280x720 projector. A script in the page itself (a constant, nothing a visitor typed)."""
    if st.session_state.pop(K.TO_TOP, False):
        st.html(
            "<script>document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0);</script>",
            unsafe_allow_javascript=True,
        )


def screen_style() -> None:
    """The page's CSS for this session (call once per run, before the page)."""
    st.html(BASE_CSS + (PRESENT_CSS if presenting() else ""))
    if presenting():
        st.button(
            t("Exit presentation"),
            icon=":material/close_fullscreen:",
            key=K.PRESENT_EXIT,
            type="secondary",
            on_click=_set,
            args=(False,),
            help=t("Back to the normal screen, with the sidebar."),
        )


def presentation_toggle() -> None:
    """The sidebar's switch (the sidebar is hidden while it is on; the top bar's button turns it off)."""
    st.session_state[K.PRESENT_TOGGLE] = presenting()
    st.toggle(
        t("Presentation mode"),
        key=K.PRESENT_TOGGLE,
        on_change=_toggled,
        help=t(
            "For a projector: larger text in the page and in the charts, the sidebar hidden. "
            "\"Exit presentation\" at the top brings everything back."
        ),
    )


def scale_figure(fig):
    """A copy of ``fig`` with every font FIGURE_SCALE times larger (the base font and explicit sizes)."""
    try:
        import plotly.graph_objects as go

        big = go.Figure(fig)
    except Exception:  # noqa: BLE001 - not a Plotly figure (a dict spec): leave it as it is
        return fig
    big.update_layout(font=dict(size=FIGURE_FONT_PX), legend_font_size=FIGURE_FONT_PX - 2)
    big.update_xaxes(tickfont_size=FIGURE_FONT_PX - 2, title_font_size=FIGURE_FONT_PX)
    big.update_yaxes(tickfont_size=FIGURE_FONT_PX - 2, title_font_size=FIGURE_FONT_PX)
    for ann in big.layout.annotations or ():
        if ann.font and ann.font.size:
            ann.font.size = ann.font.size * FIGURE_SCALE
        else:
            ann.font = dict(size=FIGURE_FONT_PX)
    return big


_ORIGINAL = DeltaGenerator.plotly_chart


@functools.wraps(_ORIGINAL)
def _plotly_chart(self, figure_or_data, *args, **kwargs):
    try:
        on = presenting()
    except Exception:  # noqa: BLE001 - outside a script run
        on = False
    return _ORIGINAL(self, scale_figure(figure_or_data) if on else figure_or_data, *args, **kwargs)


def install() -> None:
    """Route every ``plotly_chart`` (st. and containers') through the presentation scaling, once per process."""
    if getattr(DeltaGenerator.plotly_chart, "_dlviz_scaled", False):
        return
    _plotly_chart._dlviz_scaled = True
    DeltaGenerator.plotly_chart = _plotly_chart
    st.plotly_chart = functools.partial(_plotly_chart, st._main)
