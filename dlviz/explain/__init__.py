"""Explanations of single decisions: one verb over a registry of methods.

``attribute(model, x, target, method, **settings)`` returns a map shaped like the input, computed
on a private copy of the model, so the user's model is never changed. No streamlit here.
"""

# each module registers its methods; this order is the order users see them in
from dlviz.explain import methods  # noqa: F401,I001  (the gradient family)
from dlviz.explain import cam  # noqa: F401,E402  (Grad-CAM, Guided Grad-CAM)
from dlviz.explain import perturb  # noqa: F401,E402  (occlusion, KernelSHAP, LIME)
from dlviz.explain.registry import (
    METHODS,
    Attribution,
    Contrast,
    Method,
    Setting,
    attribute,
    check_settings,
    conv_layers,
    find_layer,
)

__all__ = [
    "METHODS",
    "Attribution",
    "Contrast",
    "Method",
    "Setting",
    "attribute",
    "check_settings",
    "conv_layers",
    "find_layer",
]
