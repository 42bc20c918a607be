"""Looking inside a trained model: hooks, activations (more views arrive with the inspection issue).

Every function returns detached CPU results, leaves its inputs unchanged and restores the model's
train/eval mode (DESIGN habit 3). No streamlit here.
"""

from dlviz.inspect.activations import LayerActivation, activations, probabilities, summarize
from dlviz.inspect.hooks import Capture, capture

__all__ = ["LayerActivation", "activations", "probabilities", "summarize", "Capture", "capture"]

from dlviz.inspect.filters import LayerWeights, conv_layers, feature_maps, weight_stats  # noqa: E402
from dlviz.inspect.units import UnitLayer, top_images, top_of, unit_layers, unit_scores  # noqa: E402

__all__ += [
    "LayerWeights",
    "conv_layers",
    "feature_maps",
    "weight_stats",
    "UnitLayer",
    "top_images",
    "top_of",
    "unit_layers",
    "unit_scores",
]  # filters() stays in dlviz.inspect.filters (same name as the module)

from dlviz.inspect.embed import LayerFeatures, default_layer, layer_features, layer_outputs, pca, sample_indices, tsne  # noqa: E402

__all__ += ["LayerFeatures", "default_layer", "layer_features", "layer_outputs", "pca", "sample_indices", "tsne"]
