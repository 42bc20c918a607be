"""Embeddings page: a layer's view of ~2,000 test images as a 2-D map (PCA or t-SNE); hover shows each image."""

import streamlit as st

from dlviz.ui import ensure_app
from dlviz.ui import keys as K

ensure_app()

from dlviz.errors import DlvizError
from dlviz.glossary import help_text
from dlviz.plots.embedding import embedding_html
from dlviz.ui import show_error, t
from dlviz.ui.embed_widgets import (
    cached_result,
    clickable_map,
    compute_embedding,
    embed_controls,
    result_metrics,
    tsne_prompt_text,
)
from dlviz.ui.input_widgets import open_test_image
from dlviz.ui.inspect_state import inspect_header

HEIGHT = 540

st.title(t("Embeddings"))
st.caption(
    t(
        "Every point is one test image, placed by what the chosen layer outputs for it: images the layer sees "
        "as similar sit close together. Well-separated colours mean the layer already tells the classes apart."
    ),
    help=help_text("embedding-map", "knn", lang=st.session_state.get(K.LANG, "en")),
)
ctx = inspect_header()
if ctx is None:
    st.stop()

choice = embed_controls(ctx)
result = cached_result(ctx, choice)
if result is None:
    prompt = st.empty()
    if choice.method == "pca":
        start = True  # PCA takes well under a second: compute at once
    else:
        with prompt.container():
            st.info(tsne_prompt_text(choice.n), icon=":material/scatter_plot:")
            start = st.button(t("Compute t-SNE"), icon=":material/play_arrow:", type="primary", key=K.EMB_GO)
    if start:
        try:
            result = compute_embedding(ctx, choice)
        except DlvizError as e:
            show_error(e)
        else:
            prompt.empty()
if result is None:
    st.stop()

result_metrics(result, choice)
html = embedding_html(
    result["coords"],
    ctx.data.test_x[result["idx"]].numpy(),
    result["labels"],
    result["preds"],
    ctx.classes,
    colour_by=choice.colour_by,
    indices=result["idx"],
    tr=t,
    height=HEIGHT,
    clickable=True,
)

clicked = clickable_map(html, HEIGHT + 80)
if clicked is not None:  # one click on a point: that test image on Inspect (and as Explain's input)
    open_test_image(ctx, clicked, "Embeddings")
    st.switch_page("pages/inspect.py")
if choice.method == "pca":
    a, b = result["ratio"]
    st.caption(
        t(
            "PCA turns the layer's {d:,} numbers per image into the two directions along which the images "
            "differ most. They keep {p:.1%} of the variation (first axis {a:.1%}, second {b:.1%}); the rest "
            "is hidden, so points that overlap here may still be apart in the layer.",
            d=result["dims"],
            p=a + b,
            a=a,
            b=b,
        )
    )
else:
    st.caption(
        t(
            "t-SNE keeps each image's close neighbours close. The size of a cluster and the distance between "
            "clusters mean little; what counts is which images end up together."
        )
    )
st.caption(
    t(
        "Try the first layers, then later ones, or slide the replay back to before training: the classes "
        "separate more and more as the network learns."
    )
)
