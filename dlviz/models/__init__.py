"""Model specs (JSON-able lists of layers), the shape-inferring builder, presets and exporters."""

from dlviz.models.builder import Built, LayerRow, build, insert_layer, move_layer, normalize, remove_layer
from dlviz.models.codegen import to_dot, to_json, to_pytorch
from dlviz.models.layers import LAYER_TYPES, LayerType, Param, fmt_shape, layer_type
from dlviz.models.presets import PRESETS, Preset, get_preset

__all__ = [
    "Built",
    "LayerRow",
    "build",
    "insert_layer",
    "move_layer",
    "normalize",
    "remove_layer",
    "to_dot",
    "to_json",
    "to_pytorch",
    "LAYER_TYPES",
    "LayerType",
    "Param",
    "fmt_shape",
    "layer_type",
    "PRESETS",
    "Preset",
    "get_preset",
]
