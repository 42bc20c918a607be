"""Widgets of the Embeddings page: the choices, the per-session result cache, the computation with progress."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from dlviz.inspect.embed import default_layer, knn_agreement, layer_outputs, pca, sample_indices, tsne_sklearn
from dlviz.models import LAYER_TYPES
from dlviz.plots.activations import layer_kind
from dlviz.timing import estimate
from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.state import t
from dlviz.ui.waits import seconds_text, wait_with_progress

SIZES = (200, 500, 1000, 2000)
METHODS = ("pca", "tsne")
RESULTS_KEPT = 8  # embeddings kept per session
TSNE_KEY = "tsne"
# seconds per n·ln(n): scikit-learn's TSNE took 4.3 s for 2,000 points on the 2-core machine dlviz is built on
TSNE_DEFAULT_RATE = 4.3 / (2000 * math.log(2000))


def tsne_size(n: int) -> float:
    return n * math.log(max(n, 2))


def tsne_estimate(n: int) -> tuple[float, bool]:
    """Expected seconds for a t-SNE of ``n`` points, and whether it was measured on this computer."""
    measured = estimate(TSNE_KEY, tsne_size(n))
    return (measured, True) if measured else (TSNE_DEFAULT_RATE * tsne_size(n), False)


def tsne_prompt_text(n: int) -> str:
    est, measured = tsne_estimate(n)
    if measured:
        return t(
            "t-SNE arranges the points so that each image's nearest neighbours stay near it. For {n:,} images "
            "it takes about {time} on this computer (measured last time).",
            n=n,
            time=seconds_text(est),
        )
    return t(
        "t-SNE arranges the points so that each image's nearest neighbours stay near it. For {n:,} images "
        "it takes about {time} on a quiet 2-core computer, longer while a model trains.",
        n=n,
        time=seconds_text(est),
    )


@dataclass(frozen=True)
class EmbedChoice:
    layer: str
    method: str  # "pca" | "tsne"
    n: int
    colour_by: str  # "label" | "correct"


def _layer_label(name: str) -> str:
    kind = layer_kind(name)
    return f"{name} · {t(LAYER_TYPES[kind].title)}" if kind in LAYER_TYPES else name


def embed_controls(ctx) -> EmbedChoice:
    ss = st.session_state
    names = [n for n, _ in ctx.model.named_children()]
    key = K.emb_layer(ctx.run.id)  # each run has its own layers
    if ss.get(key) not in names:
        ss[key] = default_layer(names)
    c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
    layer = c1.selectbox(
        t("Layer"),
        names,
        key=key,
        format_func=_layer_label,
        help=t("Whose activations to map. The default is the last hidden layer, the one the output layer reads."),
    )
    ss.setdefault(K.EMB_METHOD, "pca")
    method = c2.radio(
        t("Method"),
        METHODS,
        key=K.EMB_METHOD,
        horizontal=True,
        format_func=lambda m: {"pca": t("PCA"), "tsne": t("t-SNE")}[m],
    )
    ss.setdefault(K.EMB_N, 2000)
    n = c3.select_slider(
        t("Test images"),
        SIZES,
        key=K.EMB_N,
        format_func=lambda v: f"{v:,}",
        help=t("Drawn from the test set with every class in proportion."),
    )
    ss.setdefault(K.EMB_COLOUR, "label")
    colour_by = c4.radio(
        t("Colour by"),
        ("label", "correct"),
        key=K.EMB_COLOUR,
        format_func=lambda c: {"label": t("true label"), "correct": t("right / wrong")}[c],
    )
    return EmbedChoice(layer, method, int(n), colour_by)


def _key(ctx, choice: EmbedChoice) -> tuple:
    return ctx.run.id, ctx.tag, choice.layer, choice.method, choice.n


def cached_result(ctx, choice: EmbedChoice) -> dict | None:
    return session_cache(K.EMB_RESULTS, RESULTS_KEPT).get(_key(ctx, choice))


def compute_embedding(ctx, choice: EmbedChoice) -> dict:
    """Features -> PCA or t-SNE, with a progress bar; the result is kept in this session. Raises DlvizError."""
    bar = st.progress(0.0, text=t("Running {n:,} test images through the model...", n=choice.n))
    start = time.perf_counter()
    try:
        idx = sample_indices(ctx.data.test_y, choice.n, seed=0)
        out = layer_outputs(ctx.model, ctx.data.test_x[idx], choice.layer)
        coords, ratio = pca(out.features, 2)
    finally:
        bar.empty()
    if choice.method == "tsne":
        feats = out.features
        coords = wait_with_progress(
            lambda: tsne_sklearn(feats),
            t("Computing t-SNE of {n:,} images:", n=len(idx)),
            TSNE_KEY,
            tsne_size(len(idx)),
            TSNE_DEFAULT_RATE,
        )
    labels = ctx.data.test_y[idx]
    result = {
        "coords": coords.numpy(),
        "ratio": ratio.tolist(),
        "idx": idx.numpy(),
        "labels": labels.numpy(),
        "preds": out.preds.numpy(),
        "dims": int(out.features.shape[1]),
        "knn": knn_agreement(coords, labels, k=10),
        "seconds": time.perf_counter() - start,
    }
    return session_cache(K.EMB_RESULTS, RESULTS_KEPT).put(_key(ctx, choice), result)


def result_metrics(result: dict, choice: EmbedChoice) -> None:
    acc = float(np.mean(result["preds"] == result["labels"]))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("Numbers per image"), f"{result['dims']:,}", help=t("The size of the layer's output, flattened."))
    m2.metric(t("Accuracy on these images"), f"{acc:.1%}")
    m3.metric(
        t("Neighbours with the same label"),
        f"{result['knn']:.0%}",
        help=t(
            "On the map, the share of each image's 10 nearest points that have the same label. "
            "Near 10% means the classes are mixed; near 100% means they sit apart."
        ),
    )
    if choice.method == "pca":
        a, b = result["ratio"]
        m4.metric(
            t("Variance kept by the 2 axes"),
            f"{a + b:.1%}",
            help=t("First axis {a:.1%}, second axis {b:.1%} of the variation in the layer's numbers.", a=a, b=b),
        )
    else:
        m4.metric(t("Computed in"), t("{s:.1f} s", s=result["seconds"]))


# The map is the same self-contained document as before, in an iframe that a small bidirectional component
# (st.components.v2) owns: a click on a point posts the image's number up, the component hands it to Python.
_MAP_JS = """
export default function(component) {
  const { parentElement, data, setTriggerValue } = component;
  let frame = parentElement.querySelector("iframe");
  if (!frame) {
    frame = document.createElement("iframe");
    frame.title = "embedding map";
    frame.style.cssText = "width:100%;border:0;display:block";
    parentElement.appendChild(frame);
  }
  frame.style.height = data.height + "px";
  if (frame.dataset.doc !== data.doc) { frame.srcdoc = data.html; frame.dataset.doc = data.doc; }
  const onMessage = (e) => {
    if (e.source === frame.contentWindow && e.data && e.data.dlvizOpen !== undefined) {
      setTriggerValue("open", e.data.dlvizOpen);
    }
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}
"""
_map_component = None


def clickable_map(html: str, height: int) -> int | None:
    """Show the embedding ``html``; returns the test index of a point clicked since the last run, else None."""
    global _map_component
    if _map_component is None:
        _map_component = st.components.v2.component("dlviz_embedding_map", js=_MAP_JS, isolate_styles=False)
    import hashlib

    doc = hashlib.sha1(html.encode("utf-8")).hexdigest()[:16]
    result = _map_component(
        data={"html": html, "height": height, "doc": doc}, key=K.EMB_MAP, on_open_change=lambda: None
    )
    value = getattr(result, "open", None)
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
