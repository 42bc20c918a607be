"""Autoencoder page: what an autoencoder gives back, its latent space, a walk through it, and denoising."""

import streamlit as st

from dlviz.ui import ensure_app

ensure_app()

from dlviz.ui import t
from dlviz.ui.autoencoder_widgets import autoencoder_header, denoising, latent_space, reconstructions

st.title(t("Autoencoder"))
st.caption(
    t(
        "An autoencoder squeezes each image through a few numbers (the latent code) and draws it back from them. "
        "What it keeps is what matters most about the images."
    )
)
ctx = autoencoder_header()
if ctx is None:
    st.stop()

reconstructions(ctx)
latent_space(ctx)
denoising(ctx)
