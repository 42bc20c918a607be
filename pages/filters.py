"""Filters page: what the convolution filters look like, what they make of an input, what a unit looks for."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.inspect.filters import conv_layers, filters, weight_stats
from dlviz.plots.filters import filter_grid, weight_histograms
from dlviz.plots.hog import hog_picture
from dlviz.train.hog import BINS, CELL, cell_histograms, glyph_segments
from dlviz.ui import t
from dlviz.ui.filters_widgets import filters_and_maps, kernels_per_channel, legend, unit_explorer
from dlviz.ui.inspect_state import current_input, inspect_header

st.title(t("Filters"))
st.caption(
    t(
        "A convolution layer slides small learned filters over its input; each filter makes one feature map. "
        "Here are the filters, what they make of an input, how the weights are spread, and which images each "
        "unit responds to most."
    )
)
ctx = inspect_header()
if ctx is None:
    st.stop()
inp = current_input(ctx)
convs = [name for name, _ in conv_layers(ctx.model)]

st.subheader(t("First-layer filters"))
if not convs:
    st.info(
        t(
            "This model has no convolution layers, so it has no filters to show; dense layers are shown as "
            "weight histograms and units below."
        ),
        icon=":material/info:",
    )
else:
    first = convs[0]
    w = filters(ctx.model, first)
    rgb = w.shape[1] == 3 and inp.x.shape[0] == 3  # a colour model's first layer: one weight per colour
    st.image(filter_grid(w.numpy(), size=48, cols=16, rgb=rgb))
    if rgb:
        st.caption(
            t(
                "The {n} filters of {name}, each {kh} x {kw} pixels with a weight for red, green and blue, drawn in "
                "those colours on one scale: mid-grey is zero, a red pixel wants red there, a cyan one wants "
                "less red, a dark one less of every colour. Filters that see edges between colours look like "
                "small coloured stripes.",
                n=w.shape[0],
                name=first,
                kh=w.shape[2],
                kw=w.shape[3],
            )
        )
    else:
        st.caption(
            t(
                "The {n} filters of {name}, each {kh} x {kw} pixels, on one colour scale so their strengths "
                "compare. A filter responds where the image looks like it: blue pixels want ink, vermillion "
                "pixels want none.",
                n=w.shape[0],
                name=first,
                kh=w.shape[2],
                kw=w.shape[3],
            )
        )
        legend()

    st.subheader(t("Hand-made features beside the learned ones"))
    img = inp.x.float().mean(dim=0)  # (H, W); a colour image's brightness
    hist = cell_histograms(img[None], CELL)[0].numpy()
    st.image(
        hog_picture(img.numpy(), glyph_segments(hist, CELL), CELL, labels=[t("Input"), t("Its HOG features")]),
        width=460,
    )
    st.caption(
        t(
            "Before deep learning, people designed features by hand. HOG (histograms of oriented gradients) measures, "
            "in each {cell} x {cell}-pixel cell, how strongly the edges run in each of {bins} directions (a line per "
            "direction, brighter for stronger). The filters above were not designed: training found them. To see "
            "which serves better, tick the classic pipelines on the Train page: it fits HOG + logistic regression on "
            "the same images and shows its accuracy beside the network's.",
            cell=CELL,
            bins=BINS,
        )
    )

    st.subheader(t("Deeper filters, one kernel per input channel"))
    kernels_per_channel(ctx, convs)

    st.subheader(t("Each filter beside its feature map"))
    filters_and_maps(ctx, inp, convs)

st.subheader(t("Weight histograms"))
stats = weight_stats(ctx.model)
main = [s for s in stats if s.kind in ("Conv2d", "Linear", "LSTM", "GRU", "RNN", "Embedding")] or stats
names = [s.name for s in stats]
shown = st.multiselect(t("Layers"), names, default=[s.name for s in main], key=K.filt_hist(ctx.run.id))
picked = [s for s in stats if s.name in shown]
if picked:
    st.plotly_chart(weight_histograms(picked, tr=t), width="stretch", config={"displayModeBar": False}, key=K.FILT_HIST)
    st.caption(
        t(
            "The share of each layer's weights (blue) and biases (orange) in each range of values. Training "
            "spreads the weights out from their random start; a layer whose histogram never changes over the "
            "replay points is not learning."
        )
    )
else:
    st.info(t("Choose at least one layer."))

st.subheader(t("What a unit looks for"))
st.caption(
    t(
        "A unit is one channel of a convolution layer or one neuron of a dense layer. The test images that "
        "make it respond most show the pattern it has learned to detect."
    )
)
unit_explorer(ctx)
