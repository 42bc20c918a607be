"""Looking inside a trained model: hooks, activations (more views arrive with the inspection issue).

Every function returns detached CPU results, leaves its inputs unchanged and restores the model's
train/eval mode (DESIGN habit 3). No streamlit here.
"""

from dlviz.inspect.activations import LayerActivation, activations, summarize
from dlviz.inspect.hooks import Capture, capture

__all__ = ["LayerActivation", "activations", "summarize", "Capture", "capture"]
