"""Widgets of the Filters page: the input thumbnail, the filter pictures, and the top images of a unit.

Top-image scores are cached in session state per (run, replay point, layer, score, sample size): one
pass over the images scores every unit of a layer, so choosing another unit of the same layer is instant.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dlviz.errors import DlvizError
from dlviz.inspect.filters import feature_maps, filters
from dlviz.inspect.units import UnitLayer, sample, top_of, unit_layers, unit_scores
from dlviz.modality.image import as_picture
from dlviz.plots.filters import channel_kernels, digit_grid, filter_map_pairs, gray, upscale
from dlviz.ui import keys as K
from dlviz.ui.cache import run_cache
from dlviz.ui.inspect_state import InputImage, InspectCtx
from dlviz.ui.state import t
from dlviz.ui.widgets import show_error

SAMPLES = (2000, 5000, 10000)  # 2,000 keeps the CNN preset near 1 s on 2 CPU cores; all 10,000 takes ~3-6 s
SCORE_CACHE = 8
TOP_K = 16


def _valid(key: str, options: list, default) -> None:
    """Start a widget at ``default``, and reset it when another run no longer offers its value."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def _number(where, label: str, last: int, key: str) -> int:
    if not 0 <= st.session_state.get(key, 0) <= last:
        st.session_state[key] = 0
    return int(where.number_input(label, 0, last, key=key))


def legend() -> None:
    st.caption(
        t(
            "Colours: blue is a positive weight, vermillion a negative one, white is zero; the stronger the "
            "colour, the larger the weight."
        )
    )


def input_thumb(inp: InputImage) -> None:
    st.image(upscale(gray(as_picture(inp.x.numpy())), 84), caption=inp.caption)
    st.page_link("pages/inspect.py", label=t("Choose another input"), icon=":material/visibility:")


def kernels_per_channel(ctx: InspectCtx, convs: list[str]) -> None:
    """Layer + filter selectors, then that filter's kernel for every input channel."""
    c1, c2 = st.columns(2)
    _valid(K.FILT_LAYER, convs, convs[-1])
    name = c1.selectbox(t("Convolution layer"), convs, key=K.FILT_LAYER)
    w = filters(ctx.model, name)  # (out, in, kh, kw)
    k = _number(c2, t("Filter (0 to {last})", last=w.shape[0] - 1), w.shape[0] - 1, K.filt_filter(name))
    st.image(channel_kernels(w.numpy(), int(k), size=48, cols=16))
    st.caption(
        t(
            "Filter {k} of {name} has one {kh} x {kw} kernel per input channel ({n} channels): it adds up "
            "what each kernel sees in its channel of the layer before. One colour scale for this filter.",
            k=int(k),
            name=name,
            kh=w.shape[2],
            kw=w.shape[3],
            n=w.shape[1],
        )
    )


def filters_and_maps(ctx: InspectCtx, inp: InputImage, convs: list[str]) -> None:
    """Each filter of a chosen layer beside the feature map it makes for the current input."""
    c1, c2 = st.columns([1, 4])
    with c1:
        input_thumb(inp)
    with c2:
        _valid(K.FILT_PAIRS_LAYER, convs, convs[0])
        name = st.selectbox(t("Layer"), convs, key=K.FILT_PAIRS_LAYER)
        w = filters(ctx.model, name)
        maps = feature_maps(ctx.model, inp.x, name)  # (out, H, W), before any ReLU
        peaks = maps.abs().amax(dim=(1, 2)).tolist()
        labels = [f"{i}  max {p:.2f}" for i, p in enumerate(peaks)]
        st.image(filter_map_pairs(w.numpy(), maps.numpy(), size=64, cols=6, labels=labels))
    st.caption(
        t(
            "Left of each pair: the filter (one small square per input channel when the layer has several). "
            "Right: the map it makes from this input, before the ReLU: blue where the filter's pattern is "
            "present, vermillion where its opposite is. Each map has its own colour scale; the label gives its "
            "strongest value."
        )
    )


def _score_key(stamp: tuple, tag, layer: str, reduce: str, n: int) -> tuple:
    return (stamp, tag, layer, reduce, n)


def _scores(ctx: InspectCtx, layer: str, reduce: str, n: int):
    """(indices into the test set, (n, units) scores), computed once per session and cached."""

    def make():
        idx = sample(len(ctx.data.test_x), n)
        bar = st.progress(0.0, text=t("Scoring {n:,} test images...", n=len(idx)))
        try:
            scores = unit_scores(
                ctx.model,
                ctx.data.test_x[idx],
                layer,
                reduce=reduce,
                batch=500,
                progress=lambda f: bar.progress(f, text=t("Scoring {n:,} test images...", n=len(idx))),
            )
        finally:
            bar.empty()
        return idx, scores

    cache, stamp = run_cache(K.FILT_SCORES, SCORE_CACHE, ctx.run)  # a lesson's run: once for every student
    return cache.get_or_make(_score_key(stamp, ctx.tag, layer, reduce, n), make)


def warm_lesson_scores(run, model, data) -> bool:
    """For a lesson's snapshot run, ahead of any student (a background thread, no Streamlit): the unit scores the
    Filters page shows first (its first layer, each map's strongest spot, SAMPLES[0] test images) into the cache
    every session shares (``run_cache``), and one forward pass of one image (the kernels for that shape are built
    once per process). ``model``: the run's final weights, in eval mode. Then the first student's Filters step
    costs what the next one's does (issue 18). False when the model has no unit to rank."""
    from dlviz.ui.cache import run_stamp, shared_cache

    layers = unit_layers(model, tuple(data.info.input_shape))
    if not layers:
        return False
    n = SAMPLES[0]
    key = _score_key(run_stamp(run), None, layers[0].name, "max", n)
    cache = shared_cache(K.FILT_SCORES, SCORE_CACHE)
    if key not in cache:
        idx = sample(len(data.test_x), n)
        cache.put(key, (idx, unit_scores(model, data.test_x[idx], layers[0].name, reduce="max", batch=500)))
    unit_scores(model, data.test_x[:1], layers[0].name, reduce="max", batch=1)  # one image: the page's shape
    return True


def _label(score: float, cls: str) -> str:
    cls = cls if cls.isascii() else "?"
    return f"{score:.2f} {cls[:10]}"


def unit_explorer(ctx: InspectCtx) -> None:
    """Choose a layer and a unit; see the test images that excite it most."""
    layers: list[UnitLayer] = unit_layers(ctx.model, tuple(ctx.data.info.input_shape))
    if not layers:
        st.info(t("This model has no layer with units to rank."))
        return
    by_name = {u.name: u for u in layers}

    def describe(n: str) -> str:
        u = by_name[n]
        return f"{n} · " + (t("{u} channels", u=u.units) if u.kind == "channel" else t("{u} neurons", u=u.units))

    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    _valid(K.FILT_UNIT_LAYER, list(by_name), layers[0].name)
    name = c1.selectbox(t("Layer"), list(by_name), key=K.FILT_UNIT_LAYER, format_func=describe)
    ul = by_name[name]
    unit = _number(c2, t("Unit (0 to {last})", last=ul.units - 1), ul.units - 1, K.filt_unit(name))
    reduce = "max"
    if ul.kind == "channel":
        reduce = c3.radio(
            t("Score a map by its"),
            ["max", "mean"],
            key=K.FILT_REDUCE,
            horizontal=True,
            format_func=lambda r: t("strongest spot") if r == "max" else t("average"),
        )
    n = c4.selectbox(
        t("Search among"),
        SAMPLES,
        key=K.FILT_N,
        format_func=lambda k: t("{n:,} test images", n=k),
        help=t(
            "A fixed random sample of the test set (the same every time). More images find "
            "better examples but take longer: all 10,000 take a few seconds for a CNN."
        ),
    )
    try:
        idx, scores = _scores(ctx, name, reduce, int(n))
        top, vals = top_of(scores, unit, TOP_K)
    except DlvizError as e:
        show_error(e)
        return
    images = ctx.data.test_x[idx[top]].numpy()
    labels = [_label(float(v), ctx.classes[int(ctx.data.test_y[i])]) for v, i in zip(vals, idx[top])]
    g1, g2 = st.columns([4, 1])
    g1.image(digit_grid(images, labels, cols=8, size=84))
    g2.image(upscale(gray(images.astype(np.float32).mean(0) / 255), 84), caption=t("their average"))
    what = t("channel") if ul.kind == "channel" else t("neuron")
    how = (
        (t("the strongest spot of its map") if reduce == "max" else t("the average of its map"))
        if ul.kind == "channel"
        else t("its value")
    )
    st.caption(
        t(
            "The {k} of {n:,} test images that excite {what} {unit} of {layer} most, scored by {how} (label: "
            "score, true class). Test image numbers: {ids}.",
            k=len(top),
            n=len(idx),
            what=what,
            unit=unit,
            layer=name,
            how=how,
            ids=", ".join(str(int(i)) for i in idx[top]),
        )
    )
