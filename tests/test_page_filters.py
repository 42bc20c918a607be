"""The Filters page (AppTest): a CNN shows its filters and maps, an MLP says it has none; units and histograms."""

from __future__ import annotations

import numpy as np
import torch
from page_util import open_page, saved_run

NO_CONV = "This model has no convolution layers"


def _make_run(preset: str) -> str:
    return saved_run(preset).id


def _page(app, run_id: str, **state):
    return open_page(app, "pages/filters.py", timeout=120, run_id=run_id, **state)


def _subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


def test_cnn_shows_filters_maps_histograms_and_top_images(app, home):
    rid = _make_run("cnn")
    at = _page(app, rid)
    assert at.title[0].value == "Filters"
    assert _subheaders(at) == [
        "First-layer filters",
        "Hand-made features beside the learned ones",
        "Deeper filters, one kernel per input channel",
        "Each filter beside its feature map",
        "Weight histograms",
        "What a unit looks for",
    ]
    assert not any(NO_CONV in i.value for i in at.info)
    captions = " ".join(c.value for c in at.caption)
    assert "The 32 filters of conv2d_1, each 3 x 3 pixels" in captions
    assert "blue is a positive weight" in captions
    assert "HOG (histograms of oriented gradients) measures, in each 7 x 7-pixel cell" in captions
    assert "Filter 0 of conv2d_2 has one 3 x 3 kernel per input channel (32 channels)" in captions
    images = at.get("image")
    assert len(images) == 7  # first layer, its HOG beside, kernels per channel, input, pairs, top images, average
    assert "Test image 0 (7)" in [c for im in images for c in im.captions]  # the current input (test image 0 is a 7)
    assert "The 16 of 2,000 test images that excite channel 0 of conv2d_1 most" in captions
    assert at.selectbox(key="_filt_layer").value == "conv2d_2"
    assert len(at.get("plotly_chart")) == 1  # the weight histograms
    fig = at.get("plotly_chart")[0].proto.spec
    assert "conv2d_1 (Conv2d)" in fig and "dense_2 (Linear)" in fig
    # the top-image scores are cached per (run and its weights file, tag, layer, score, sample); a user's own run in
    # this session's cache (a lesson's snapshot run in the process's: tests/test_ui_cache.py)
    cache = at.session_state["_filt_scores"]
    ((key, (idx, scores)),) = cache.items()
    assert key[0][0] == rid and len(key[0]) == 3  # the weights file's size and time: new weights, new scores
    assert key[1:] == (None, "conv2d_1", "max", 2000) and scores.shape == (2000, 32)

    # another unit of the same layer reuses the cache; another layer adds an entry
    at.number_input(key="_filt_unit_conv2d_1").set_value(5).run()
    assert not at.exception and len(at.session_state["_filt_scores"]) == 1
    assert "excite channel 5 of conv2d_1" in " ".join(c.value for c in at.caption)
    at.selectbox(key="_filt_unit_layer").set_value("dense_1").run()
    assert not at.exception and len(at.session_state["_filt_scores"]) == 2
    assert "excite neuron 0 of dense_1 most, scored by its value" in " ".join(c.value for c in at.caption)
    # the deeper-filter and pair selectors
    at.selectbox(key="_filt_layer").set_value("conv2d_1").run()
    at.selectbox(key="_filt_pairs_layer").set_value("conv2d_2").run()
    assert not at.exception
    assert "Filter 0 of conv2d_1 has one 3 x 3 kernel per input channel (1 channels)" in " ".join(
        c.value for c in at.caption
    )


def test_top_images_are_the_highest_scores(app, home):
    rid = _make_run("cnn")
    at = _page(app, rid)
    ((idx, scores),) = at.session_state["_filt_scores"].values()
    want = idx[torch.topk(scores[:, 0], 16).indices].tolist()
    shown = [c.value for c in at.caption if "Test image numbers" in c.value][0]
    assert shown.rstrip(".").split("Test image numbers: ")[1] == ", ".join(map(str, want))


def test_mlp_says_it_has_no_conv_layers_and_the_rest_works(app, home):
    rid = _make_run("mlp")
    at = _page(app, rid)
    assert any(NO_CONV in i.value for i in at.info)
    assert _subheaders(at) == ["First-layer filters", "Weight histograms", "What a unit looks for"]
    fig = at.get("plotly_chart")[0].proto.spec
    assert "dense_1 (Linear)" in fig and "dense_3 (Linear)" in fig
    assert "excite neuron 0 of dense_1 most" in " ".join(c.value for c in at.caption)
    assert at.selectbox(key="_filt_unit_layer").value == "dense_1"


def test_switching_runs_resets_choices_the_new_model_lacks(app, home):
    cnn = _make_run("cnn")
    res = _make_run("resnet")
    at = _page(app, cnn)
    at.number_input(key="_filt_k_conv2d_2").set_value(63).run()
    at.selectbox(key="_insp_run").set_value(res).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="_filt_layer").value == "residual_3.shortcut.0"  # conv2d_2 is not in the resnet
    assert "The 16 filters of conv2d_1" in " ".join(c.value for c in at.caption)


def test_chinese(app, home):
    rid = _make_run("mlp")
    at = _page(app, rid, lang="zh")
    assert at.title[0].value == "卷积核"
    assert at.info and not any(NO_CONV in i.value for i in at.info)
    assert not any(np.char.find(s, "First-layer") >= 0 for s in _subheaders(at))
