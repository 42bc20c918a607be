"""The Autoencoder page's parts: its look-inside header (autoencoder runs only) and its four views: inputs beside
reconstructions (at the replay point), the latent space coloured by label, a walk through it, and denoising."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from torch import nn

from dlviz.data import ALL_DATASETS, get_info
from dlviz.i18n import N_
from dlviz.inspect.latent import LatentMap, add_noise, encode, latent_map, reconstruct, split, walk
from dlviz.modality.image import image_transform
from dlviz.models import build
from dlviz.plots import image_grid
from dlviz.plots.latent import latent_scatter
from dlviz.runs import RunRecord, RunStore
from dlviz.tasks import task_of_spec
from dlviz.ui import keys as K
from dlviz.ui.cache import run_cache
from dlviz.ui.kinds import IMAGE_KIND, kind_of
from dlviz.ui.look import FINAL, Look, look_header, with_weights
from dlviz.ui.state import get_data, t

SHOWN = 10  # test images in the reconstruction and denoising rows
MAPPED = 2000  # test images drawn in the latent space
WALK_STEPS = 11  # images in the walk's strip: 0, 0.1, ..., 1


@dataclass
class AutoencoderCtx:
    run: RunRecord
    model: nn.Module  # eval mode, CPU, weights at ``tag``
    tag: str | None
    data: object  # the run's dataset (ImageData)
    classes: list[str]
    encoder: nn.Module
    decoder: nn.Module


def is_autoencoder(run: RunRecord) -> bool:
    return task_of_spec(run.spec).name == "reconstruction"


class AutoencoderLook(Look):
    kind = IMAGE_KIND
    run_key = K.AE_RUN
    cache_slot = K.AE_MODELS
    picker_label = N_("Autoencoder to look inside")
    picker_help = N_("Every trained autoencoder. Train one on the Train page (Build: the Autoencoder preset).")
    nothing_yet = N_(
        "No autoencoder has been trained yet. On the Build page load the Autoencoder or Conv autoencoder preset, "
        "then train it on the Train page."
    )

    def lists(self, run: RunRecord, store: RunStore) -> bool:
        # not Look.lists, which keeps classifiers: a known image dataset and an autoencoder's spec
        return run.dataset in ALL_DATASETS and kind_of(run) is self.kind and is_autoencoder(run)

    def load(self, run: RunRecord, tag: str | None) -> nn.Module:
        info = get_info(run.dataset)
        return with_weights(build(run.spec, info.input_shape, None, budget=False).module, run, tag)

    def context(self, run: RunRecord, tag: str | None, loaded: nn.Module) -> AutoencoderCtx:
        data = get_data(run.dataset)
        encoder, decoder = split(loaded, tuple(data.info.input_shape))
        return AutoencoderCtx(run, loaded, tag, data, list(data.info.classes), encoder, decoder)


AUTOENCODER_LOOK = AutoencoderLook()


def autoencoder_header() -> AutoencoderCtx | None:
    return look_header(AUTOENCODER_LOOK)


def _uint8(images: torch.Tensor) -> np.ndarray:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _ink(images: torch.Tensor) -> np.ndarray:
    """Dark ink on white, as the image grids draw them."""
    return 255 - _uint8(images)


def _grid(images: torch.Tensor, captions: list[str], key: str) -> None:
    st.plotly_chart(image_grid(_uint8(images), captions, cols=len(captions)), key=key, config={"displayModeBar": False})


def reconstructions(ctx: AutoencoderCtx) -> None:
    st.subheader(t("Inputs and what the autoencoder gives back"))
    st.caption(
        t(
            "Top: test images. Bottom: the model's reconstruction of each, from only {n} numbers. Move the replay "
            "slider to watch the reconstructions sharpen epoch by epoch.",
            n=ctx.encoder(torch.zeros(1, *ctx.data.info.input_shape)).numel(),
        )
    )
    x = image_transform(ctx.data.test_x[:SHOWN])
    out = reconstruct(ctx.model, x)
    err = ((out - x[:, 0]) ** 2).flatten(1).mean(1)
    _grid(x[:, 0], [ctx.classes[int(y)] for y in ctx.data.test_y[:SHOWN]], "ae_inputs")
    _grid(out, [t("error {e:.3f}", e=float(e)) for e in err], "ae_outputs")


def _codes(ctx: AutoencoderCtx) -> tuple[torch.Tensor, LatentMap]:
    def make():
        codes = encode(ctx.encoder, ctx.data.test_x[:MAPPED])
        return codes, latent_map(codes)

    cache, stamp = run_cache(K.AE_CODES, 4, ctx.run)  # a lesson's run: once for every student
    return cache.get_or_make((stamp, ctx.tag or FINAL), make)


def latent_space(ctx: AutoencoderCtx) -> tuple[torch.Tensor, LatentMap]:
    """The latent-space view and the walk: one figure, the walk's marker on it."""
    codes, lm = _codes(ctx)
    pts = lm.to_2d(codes)
    labels = ctx.data.test_y[: len(codes)].numpy()
    st.subheader(t("The latent space"))
    if lm.dims == 2:
        st.caption(
            t(
                "Each dot is a test image, placed at the 2 numbers the encoder squeezed it into, coloured by its "
                "label. Images that look alike land together, though the model never saw a label. Click a dot to "
                "see its image."
            )
        )
        names = ("z1", "z2")
    else:
        st.caption(
            t(
                "Each dot is a test image's {d}-number code, drawn on the code's two main directions (PCA: they "
                "hold {share:.0%} of its spread), coloured by its label. Click a dot to see its image.",
                d=lm.dims,
                share=lm.explained,
            )
        )
        names = (t("main direction 1"), t("main direction 2"))

    ss = st.session_state
    cls = list(range(len(ctx.classes)))
    c = st.columns([2, 2, 3])
    a = c[0].selectbox(t("Walk from"), cls, index=0, format_func=ctx.classes.__getitem__, key=K.AE_WALK_FROM)
    b = c[1].selectbox(t("to"), cls, index=1, format_func=ctx.classes.__getitem__, key=K.AE_WALK_TO)
    at = c[2].slider(
        t("Position on the walk"),
        0.0,
        1.0,
        float(ss.get(K.AE_WALK_AT, 0.0)),
        0.05,
        key=K.AE_WALK_AT,
        help=t("From the middle of one class's dots to the middle of another's; the decoder draws each point."),
    )
    start = _centre(pts, labels, a)
    end = _centre(pts, labels, b)
    strip, path = walk(ctx.decoder, lm, start, end, WALK_STEPS)
    here, _ = walk(ctx.decoder, lm, _lerp(start, end, at), _lerp(start, end, at), 1)
    left, right = st.columns([3, 1])
    with left:
        fig = latent_scatter(
            pts.numpy(), labels, ctx.classes, tr=t, marker=_lerp(start, end, at), path=path.numpy(), axis_names=names
        )
        event = st.plotly_chart(fig, key=K.AE_PICK, on_select="rerun", selection_mode="points")
    with right:
        st.caption(t("Decoded at the marker"))
        st.image(_ink(here)[0], width=140, clamp=True)
        picked = _picked(event)
        if picked is not None and picked < len(codes):
            x = image_transform(ctx.data.test_x[picked : picked + 1])
            st.caption(
                t("Test image #{i} ({label}) and its reconstruction", i=picked, label=ctx.classes[labels[picked]])
            )
            st.image([_ink(x[:, 0])[0], _ink(reconstruct(ctx.model, x))[0]], width=68, clamp=True)
    st.caption(t("The walk, decoded step by step:"))
    _grid(strip, [f"{v:.1f}" for v in torch.linspace(0, 1, WALK_STEPS).tolist()], "ae_walk")
    return codes, lm


def _centre(pts: torch.Tensor, labels: np.ndarray, k: int) -> tuple[float, float]:
    sel = pts[torch.as_tensor(labels == k)]
    m = sel.mean(0) if len(sel) else pts.mean(0)
    return float(m[0]), float(m[1])


def _lerp(a, b, f: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


def _picked(event) -> int | None:
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in points:
        data = p.get("customdata")
        if isinstance(data, list):
            data = data[0] if data else None
        if data is not None:
            return int(data)
    return None


def denoising(ctx: AutoencoderCtx) -> None:
    st.subheader(t("Denoising"))
    trained = float(ctx.run.settings.get("denoise") or 0.0)
    if trained > 0:
        st.caption(t("This autoencoder was trained to clean images with noise of level {n:g} added.", n=trained))
    else:
        st.caption(
            t(
                "This autoencoder was trained on clean images. Train one with a noise level (Train page, or "
                "--denoise 0.3 in the CLI) to make a denoising autoencoder, and compare."
            )
        )
    level = st.slider(
        t("Noise level"),
        0.0,
        1.0,
        float(st.session_state.get(K.AE_NOISE, trained or 0.3)),
        0.05,
        key=K.AE_NOISE,
        help=t("The standard deviation of the Gaussian noise added to each pixel (pixels run from 0 to 1)."),
    )
    x = image_transform(ctx.data.test_x[:SHOWN])
    noisy = add_noise(x, level)
    cleaned = reconstruct(ctx.model, noisy)
    blank = [""] * SHOWN
    st.caption(t("Noisy input"))
    _grid(noisy[:, 0], blank, "ae_noisy")
    st.caption(t("Cleaned by the autoencoder"))
    _grid(cleaned, blank, "ae_cleaned")
    st.caption(t("Original"))
    _grid(x[:, 0], blank, "ae_original")
    e_noisy = ((noisy - x) ** 2).mean().item()
    e_clean = ((cleaned - x[:, 0]) ** 2).mean().item()
    st.caption(t("Error against the original: noisy {a:.4f}, cleaned {b:.4f}.", a=e_noisy, b=e_clean))
