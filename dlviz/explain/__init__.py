"""Explanations of single decisions: one verb over a registry of methods.

``attribute(model, x, target, method, **settings)`` returns a map shaped like the input, computed
on a private copy of the model, so the user's model is never changed. No streamlit here.
"""

from dlviz.explain import methods  # noqa: F401  (registers the gradient family)
from dlviz.explain.registry import (METHODS, Attribution, Contrast, Method, Setting, attribute, check_settings,
                                    conv_layers, find_layer)

for _mod in ("cam", "perturb"):            # registered by their modules, when present
    try:
        __import__(f"dlviz.explain.{_mod}")
    except ModuleNotFoundError as e:  # pragma: no cover - only while a module is being written
        if e.name != f"dlviz.explain.{_mod}":
            raise

__all__ = ["METHODS", "Attribution", "Contrast", "Method", "Setting", "attribute", "check_settings",
           "conv_layers", "find_layer"]
