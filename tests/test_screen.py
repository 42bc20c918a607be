"""Presentation mode (issue 13): larger figure fonts for this session only, remembered across a refresh."""

from __future__ import annotations

import plotly.graph_objects as go


def test_scale_figure_makes_every_font_larger_and_leaves_the_original():
    from dlviz.plots import training_curves
    from dlviz.ui.screen import FIGURE_FONT_PX, scale_figure

    fig = training_curves([[1, 0.5, 1.0, 0.5], [2, 1.0, 0.5, 0.8]], [[2, 1.0, 0.6, 0.7]])
    big = scale_figure(fig)
    assert big.layout.font.size == FIGURE_FONT_PX
    assert all(a.font.size >= FIGURE_FONT_PX for a in big.layout.annotations)  # the subplot titles
    assert big.layout.xaxis.tickfont.size > 12 and big.layout.yaxis2.tickfont.size > 12
    assert fig.layout.font.size is None  # the original figure is untouched
    assert isinstance(big, go.Figure)


def test_presentation_is_remembered_and_scales_the_charts(app):
    at = app()
    at.run()
    assert not at.exception, at.exception
    toggle = at.toggle(key="_present_toggle")
    assert toggle.value is False
    toggle.set_value(True).run()
    assert not at.exception, at.exception
    assert at.session_state["presentation"] is True  # (the browser test sees its "Exit presentation" button)
    sid = at.session_state["sid"]
    # a refresh: a new session with the same ?s= reads the saved choice
    again = app()
    again.query_params["s"] = sid
    again.run()
    assert again.session_state["presentation"] is True
    again.switch_page("pages/data.py")
    again.run()
    assert not again.exception, again.exception
    import json

    spec = json.loads(again.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["font"]["size"] >= 18  # the Data page's figures, larger for the projector
    again.session_state["presentation"] = False
    again.run()
    spec = json.loads(again.get("plotly_chart")[0].proto.spec)
    assert (spec["layout"].get("font") or {}).get("size", 12) < 18
