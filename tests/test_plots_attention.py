"""Attention figures: known values in, the same values out; every token escaped; the head view's lines."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from dlviz.plots.attention import (
    LINE_BINS,
    attention_grid,
    attention_heatmap,
    head_view,
    line_count,
    rollout_heatmap,
    token_categories,
    token_label,
    token_labels,
)

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "great", "&amp;"]


def _rows(t: int, seed: int = 0, shape=()) -> np.ndarray:
    a = np.random.default_rng(seed).random((*shape, t, t))
    return a / a.sum(-1, keepdims=True)


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_the_core_does_not_import_streamlit():
    import subprocess

    code = "import sys, dlviz.plots.attention, dlviz.plots.sequence; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_token_labels_are_escaped_shortened_and_mark_unknown_words():
    assert token_label("<script>alert(1)</script>", limit=100) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert token_label("&amp;") == "&amp;amp;"  # Plotly turns &amp; back into &: the token shows as typed
    assert token_label("<b>") == "&lt;b&gt;"
    assert token_label("movie", unknown=True) == "<i>movie</i>"
    assert token_label("<x>", unknown=True) == "<i>&lt;x&gt;</i>"
    assert token_label("a" * 30, limit=10) == "a" * 9 + "\u2026"
    assert token_labels(["a", "b"], [False, True]) == ["a", "<i>b</i>"]
    assert token_label("好电影") == "好电影" and token_label("فيلم") == "فيلم"
    assert token_categories(["a", "<b>", "a", "a"], [False, False, False, True]) == [
        "a",
        "&lt;b&gt;",
        "a\u200b",
        "<i>a</i>",
    ]


def test_heatmap_keeps_the_values_and_every_position_even_repeated_tokens():
    toks = ["the", "movie", "the", "end"]
    a = _rows(4)
    fig = attention_heatmap(a, toks)
    hm = fig.data[0]
    np.testing.assert_allclose(np.asarray(hm.z), a)
    # both "the" stay apart: the second is another category that looks the same
    assert list(fig.layout.xaxis.categoryarray) == ["the", "movie", "the\u200b", "end"]
    assert [c.replace("\u200b", "") for c in fig.layout.yaxis.categoryarray] == toks
    assert list(hm.x) == list(hm.y) == list(fig.layout.xaxis.categoryarray)
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.autorange == "reversed"  # read from the top
    assert hm.zmin == 0 and hm.zmax == pytest.approx(a.max())
    assert hm.hovertemplate.startswith("%{y} looks at %{x}")  # the axis values name the tokens
    assert hm.customdata is None  # nothing per cell: a long sentence stays small
    with pytest.raises(ValueError):
        attention_heatmap(a, toks[:3])


def test_no_raw_tag_reaches_the_figure():
    a = _rows(4, shape=(2, 2))
    figs = [
        attention_heatmap(a[0, 0], HOSTILE),
        attention_grid(a, HOSTILE),
        head_view(a[0], HOSTILE),
        rollout_heatmap(a[1, 1], HOSTILE),
    ]
    for fig in figs:
        text = json.dumps(fig.to_plotly_json(), default=str)
        assert "<script" not in text and "<img" not in text, type(fig)
        assert "&lt;script&gt;" in text and "&lt;img src=x" in text


def test_grid_has_one_map_per_layer_and_head_on_one_scale():
    a = _rows(5, seed=1, shape=(3, 2))
    toks = list("abcae")
    fig = attention_grid(a, toks)
    assert len(fig.data) == 6
    for k, tr in enumerate(fig.data):
        np.testing.assert_allclose(np.asarray(tr.z), a[k // 2, k % 2])
        assert tr.coloraxis == "coloraxis"
        assert list(tr.x) == ["a", "b", "c", "a\u200b", "e"]
    # token names on the left column and the bottom row only
    shown = [(ax, fig.layout[ax].showticklabels) for ax in fig.layout if ax.startswith(("xaxis", "yaxis"))]
    assert (
        sum(v for ax, v in shown if ax.startswith("xaxis")) == 2
        and sum(v for ax, v in shown if ax.startswith("yaxis")) == 3
    )
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == pytest.approx(a.max())
    titles = [ann.text for ann in fig.layout.annotations]
    assert titles[:3] == ["layer 1 · head 1", "layer 1 · head 2", "layer 2 · head 1"]
    named = attention_grid(a, toks, layer_names=["enc A", "enc B", "enc C"])
    assert named.layout.annotations[-1].text == "enc C · head 2"
    with pytest.raises(ValueError):
        attention_grid(a[0], toks)


def test_head_view_of_a_two_token_attention():
    # token 0 looks only at itself, token 1 half at each: three lines, the full one most opaque
    a = np.array([[[1.0, 0.0], [0.5, 0.5]]])
    fig = head_view(a, ["hello", "world"])
    assert line_count(fig) == 3
    lines = [tr for tr in fig.data if tr.meta == "line"]
    assert len(lines) == 2  # weight 1.0 and weight 0.5 fall in two opacity levels
    by_opacity = sorted(lines, key=lambda tr: tr.opacity)
    assert list(by_opacity[-1].x) == [0.0, 1.0, None] and list(by_opacity[-1].y) == [0, 0, None]
    assert by_opacity[-1].line.width > by_opacity[0].line.width
    assert sorted(zip(by_opacity[0].y[0::3], by_opacity[0].y[1::3])) == [(1, 0), (1, 1)]
    # only the lines from the focused token
    assert line_count(head_view(a, ["hello", "world"], focus=0)) == 1
    assert line_count(head_view(a, ["hello", "world"], focus=1)) == 2
    # tiny weights draw nothing
    assert line_count(head_view(np.array([[[0.99, 0.01], [0.01, 0.99]]]), ["a", "b"])) == 2


def test_head_view_colours_heads_and_stays_small():
    t = 56
    a = _rows(t, seed=2, shape=(8,))
    fig = head_view(a, [f"w{i}" for i in range(t)])
    # at most one trace per head and level, plus a legend entry per head and two token columns
    assert len(fig.data) <= 8 * LINE_BINS + 8 + 2
    colours = {tr.line.color for tr in fig.data if tr.meta == "line"}
    assert len(colours) == 8
    one = head_view(a, [f"w{i}" for i in range(t)], heads=[3])
    assert {tr.line.color for tr in one.data if tr.meta == "line"} == {"#CC79A7"}
    assert line_count(one) == int((a[3] >= 0.02).sum())


def test_rollout_figure():
    r = _rows(3, seed=3)
    fig = rollout_heatmap(r, ["a", "b", "c"])
    np.testing.assert_allclose(np.asarray(fig.data[0].z), r)
    assert fig.layout.title.text == "Attention rollout across all layers"


def test_translated_labels():
    from dlviz.i18n import translate

    fig = attention_grid(_rows(2, shape=(1, 1)), ["好", "电"], tr=lambda s, **kw: translate(s, "zh", **kw))
    assert "头" in fig.layout.annotations[0].text
