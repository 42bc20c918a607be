"""The Compress page (AppTest): pick a run, prune and quantise it under a progress bar, the chart of every variant,
the filters before and after pruning, the int8 layer table; a variant opens on the look-inside pages with a note
that says what it is; in English and Chinese."""

from __future__ import annotations

import pytest
from page_util import open_page, saved_run

from dlviz.compress import variants
from dlviz.runs import RunStore


def test_compress_a_run_and_see_the_chart_the_filters_and_the_layers(app, home):
    orig = saved_run("cnn")
    at = open_page(app, "pages/compress.py", timeout=180, run_id=orig.id)
    assert at.title[0].value == "Compress"
    assert at.selectbox(key="_compress_run").value == orig.id
    assert any("No variants of this run yet" in i.value for i in at.info)
    at.slider(key="_compress_share").set_value(0.6)
    at.checkbox(key="_compress_int8").check()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("saved as a run of its own" in s.value for s in at.success)
    made = variants(RunStore(), orig.id)
    assert [r.name.split(" · ")[-1] for r in made] == ["pruned 60% (global)", "pruned 60% + int8"]
    heads = [s.value for s in at.subheader]
    assert heads == ["Accuracy against size and time", "What pruning did to the filters", "What int8 did to each layer"]
    assert len(at.get("plotly_chart")) == 2  # the chart and the sparsity bars
    captions = " ".join(c.value for c in at.caption)
    assert "1 torch thread(s)" in captions and "white is zero" in captions
    images = at.get("image")
    assert [c for im in images for c in im.captions] == ["Before: conv2d_1", "After: conv2d_1"]
    table = at.dataframe
    assert len(table) == 2 and len(table[0].value) == 3  # original + two variants


def test_an_int8_variant_opens_on_a_look_inside_page_with_its_note_and_in_chinese(app, home, mnist_dir):
    from dlviz.compress import Request, compress_run

    orig = saved_run("cnn")
    out = compress_run(Request(orig.id, quantize="int8", data_dir=str(mnist_dir), test_limit=200), RunStore())
    q = out["variants"][0]["run_id"]
    at = open_page(app, "pages/filters.py", timeout=180, run_id=q)
    assert not at.error, [e.value for e in at.error]
    assert any("an int8 copy of run" in i.value and "no gradients" in i.value for i in at.info)
    at = open_page(app, "pages/compress.py", timeout=180, run_id=orig.id, lang="zh")
    assert at.title[0].value == "压缩"
    assert not at.exception and not at.error
    assert "每层" in " ".join(s.value for s in at.subheader)


@pytest.mark.parametrize("page", ["inspect", "errors", "explain"])
def test_an_int8_variant_opens_on_every_kind_of_look_inside_page(app, home, mnist_dir, page):
    """The int8 run's float stand-in works wherever a float run does (hooks, gradients, the test set), and the page
    says what it shows."""
    from dlviz.compress import Request, compress_run

    orig = saved_run("cnn")
    q = compress_run(Request(orig.id, quantize="int8", data_dir=str(mnist_dir), test_limit=100), RunStore())
    at = open_page(app, f"pages/{page}.py", timeout=180, run_id=q["variants"][0]["run_id"])
    assert any("an int8 copy of run" in i.value for i in at.info)
    assert not [e.value for e in at.error if "failed" in e.value.lower() or "cannot" in e.value.lower()]
