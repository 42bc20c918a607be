"""The Runs page compares two or more runs' loss and accuracy curves on one chart (issue 13)."""

from __future__ import annotations

import json

from test_page_runs import _runs_page, runs  # noqa: F401 - the fixture

from dlviz.plots.compare import compare_curves


def test_two_runs_on_one_chart(app, runs):  # noqa: F811
    _, made = runs
    at = _runs_page(app)
    picker = at.multiselect(key="_runs_compare")
    assert len(picker.options) == 3 and picker.value == []
    charts_before = len(at.get("plotly_chart"))
    picker.set_value([made[0].id, made[2].id]).run()
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == charts_before + 1
    spec = json.loads(next(c for c in charts if "_runs_compare_chart" in c.proto.id).proto.spec)
    names = {tr_["name"] for tr_ in spec["data"]}
    assert names == {"first run", "third run"}
    colours = {tr_["name"]: tr_["line"]["color"] for tr_ in spec["data"]}
    assert colours["first run"] != colours["third run"]
    assert len(spec["data"]) == 2 * 2 * 2  # 2 runs x (validation, training) x (loss, accuracy)


def test_chinese_labels():
    from dlviz.i18n import translate

    fig = compare_curves(
        [("a", [[1, 1.0, 0.5, 0.8]], [[1, 1.0, 0.4, 0.85]])], tr=lambda s, **k: translate(s, "zh", **k)
    )
    assert fig.layout.annotations[0].text == "损失"
