"""Explanations of single decisions: one verb over a registry of methods.

``explain(model, x, target, method, **settings)`` returns a map over the input's parts (pixels, words),
computed on a private copy of the model, so the user's model is never changed; ``methods_for(inputs)`` lists
the methods that read an image or token ids (the registry: dlviz.explain.registry). No streamlit here.
"""

# each module registers its methods; this order is the order users see them in
from dlviz.explain import methods  # noqa: F401,I001  (the gradient family)
from dlviz.explain import cam  # noqa: F401,E402  (Grad-CAM, Guided Grad-CAM)
from dlviz.explain import perturb  # noqa: F401,E402  (occlusion, KernelSHAP, LIME)
from dlviz.explain import text  # noqa: F401,E402  (the methods over a sentence's words)
from dlviz.explain.registry import (
    INPUTS,
    METHODS,
    REGISTRY,
    Attribution,
    Contrast,
    Method,
    Setting,
    attribute,
    check_settings,
    conv_layers,
    explain,
    find_layer,
    inputs_of,
    methods_for,
)

__all__ = [
    "INPUTS",
    "METHODS",
    "REGISTRY",
    "Attribution",
    "Contrast",
    "Method",
    "Setting",
    "attribute",
    "check_settings",
    "conv_layers",
    "explain",
    "find_layer",
    "inputs_of",
    "methods_for",
]
