"""Explanations of single decisions (issue 5; a first slice): one verb over a registry of methods.

``attribute(model, x, target, method, **settings)`` returns a map shaped like the input, computed
on a private copy of the model, so the user's model is never changed (Captum adds hooks and some
methods switch modes). No streamlit here.
"""

from dlviz.explain.methods import METHODS, Attribution, attribute

__all__ = ["METHODS", "Attribution", "attribute"]
