"""Recurrent-state figures: values in their place, units sorted on request, step changes known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlviz.plots.sequence import gate_grid, prediction_over_time, state_heatmap, step_change, unit_order


def test_state_heatmap_puts_time_on_x_and_units_on_y():
    h = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])  # (T=2, U=3)
    fig = state_heatmap(h, ["good", "<b>film</b>"])
    hm = fig.data[0]
    np.testing.assert_allclose(np.asarray(hm.z), h.T)
    assert hm.zmin == -1 and hm.zmax == 1 and hm.zmid == 0  # tanh states: diverging around zero
    assert list(hm.x) == list(fig.layout.xaxis.categoryarray) == ["good", "&lt;b&gt;film&lt;/b&gt;"]
    assert list(hm.y) == ["1", "2", "3"] and fig.layout.yaxis.type == "category"
    assert "<b>" not in json.dumps(fig.to_plotly_json(), default=str).replace("<br>", "")
    gate = state_heatmap(np.clip(h, 0, 1), ["a", "b"], kind="gate")
    assert gate.data[0].zmin == 0 and gate.data[0].zmax == 1
    cell = state_heatmap(h * 5, ["a", "b"], kind="cell")
    assert cell.data[0].zmax == pytest.approx(3.0)
    with pytest.raises(ValueError):
        state_heatmap(h, ["a"])


def test_units_sorted_by_their_final_value():
    h = np.array([[0.0, 0.0, 0.0], [0.2, 0.9, -0.5]])
    assert list(unit_order(h, "final")) == [1, 0, 2]
    assert list(unit_order(h, None)) == [0, 1, 2]
    fig = state_heatmap(h, ["a", "b"], sort="final")
    np.testing.assert_allclose(np.asarray(fig.data[0].z), h[:, [1, 0, 2]].T)
    assert list(fig.layout.yaxis.categoryarray) == ["2", "1", "3"]  # units keep their own numbers


def test_gate_grid_shares_scale_and_order():
    rng = np.random.default_rng(0)
    gates = {k: rng.random((4, 6)) for k in ("input", "forget", "output")}
    order_by = rng.standard_normal((4, 6))
    fig = gate_grid(gates, list("abcd"), titles={"input": "Input gate"}, sort_by=order_by)
    assert len(fig.data) == 3
    order = np.argsort(-order_by[-1], kind="stable")
    for tr, k in zip(fig.data, gates):
        np.testing.assert_allclose(np.asarray(tr.z), gates[k][:, order].T)
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    assert [a.text for a in fig.layout.annotations] == ["Input gate", "forget", "output"]


def test_step_change_is_the_length_of_each_update():
    h = np.array([[3.0, 4.0], [3.0, 5.0], [0.0, 1.0]])
    fig = step_change(h, ["a", "b", "c"])
    np.testing.assert_allclose(np.asarray(fig.data[0].y), [5.0, 1.0, 5.0])


def test_prediction_over_time():
    p = np.array([[0.5, 0.5], [0.2, 0.8], [0.1, 0.9]])
    fig = prediction_over_time(p, ["a", "great", "film"], ["negative", "<i>positive</i>"])
    assert len(fig.data) == 2
    np.testing.assert_allclose(np.asarray(fig.data[1].y), p[:, 1])
    assert fig.data[1].name == "&lt;i&gt;positive&lt;/i&gt;"
    with pytest.raises(ValueError):
        prediction_over_time(p, ["a"], ["n", "p"])


def test_prediction_over_time_keeps_the_legend_off_the_points():
    """The legend sits above the plot in its own margin, and 0% / 100% points are drawn whole."""
    fig = prediction_over_time(np.array([[0.0, 1.0], [1.0, 0.0]]), ["a", "b"], ["negative", "positive"])
    lg = fig.layout.legend
    assert lg.yanchor == "bottom" and lg.y >= 1.0 and fig.layout.margin.t >= 30
    lo, hi = fig.layout.yaxis.range
    assert lo < 0 and hi > 1
