"""Seed models taken from the course material (../shared/course, see its README)."""

from __future__ import annotations

import copy
from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    description: str
    spec: dict
    input: str = "image"  # "image" | "text"
    epochs: int = 5       # the default number of epochs for this preset (CLI and Train page)

    def copy_spec(self) -> dict:
        return copy.deepcopy(self.spec)


def _dense(units):
    return {"type": "dense", "units": units}


_SIGMOID_DEPTH = 8

PRESETS: dict[str, Preset] = {p.key: p for p in [
    Preset("mlp", "MLP (course: Flatten-128-64-10)",
           "The course's first network: two hidden Dense layers with ReLU. 109,386 parameters; about 97.5% "
           "on MNIST after 5 epochs.",
           {"name": "mlp", "layers": [{"type": "flatten"}, _dense(128), {"type": "relu"}, _dense(64),
                                      {"type": "relu"}, _dense(10)]}),
    Preset("cnn", "CNN (course: Conv32-Pool-Conv64-Pool-128-10)",
           "The course's convolutional network. 225,034 parameters; about 99% on MNIST after 3 epochs.",
           {"name": "cnn", "layers": [
               {"type": "conv2d", "out": 32, "kernel": 3}, {"type": "relu"}, {"type": "maxpool", "size": 2},
               {"type": "conv2d", "out": 64, "kernel": 3}, {"type": "relu"}, {"type": "maxpool", "size": 2},
               {"type": "flatten"}, _dense(128), {"type": "relu"}, _dense(10)]}, epochs=3),
    Preset("deep-sigmoid", "Deep sigmoid MLP (vanishing gradients)",
           f"{_SIGMOID_DEPTH} hidden Dense(64) layers, all with Sigmoid: the gradient shrinks at every layer, "
           "so the first layers barely learn. Compare it with the ReLU and residual presets.",
           {"name": "deep-sigmoid", "layers": [{"type": "flatten"}]
            + [x for _ in range(_SIGMOID_DEPTH) for x in (_dense(64), {"type": "sigmoid"})] + [_dense(10)]}),
    Preset("resnet", "Small residual CNN (skip connections)",
           "A stem convolution and three residual blocks (ResNet's skip connections let the gradient flow "
           "past each block), then global average pooling.",
           {"name": "resnet", "layers": [
               {"type": "conv2d", "out": 16, "kernel": 3, "padding": 1}, {"type": "batchnorm"}, {"type": "relu"},
               {"type": "residual", "channels": 16, "stride": 1},
               {"type": "residual", "channels": 32, "stride": 2},
               {"type": "residual", "channels": 64, "stride": 2},
               {"type": "gap"}, _dense(10)]}, epochs=3),
    Preset("rnn", "LSTM reading rows (course: input 28, hidden 128)",
           "Reads the image one row at a time, like a sentence of 28 words of 28 numbers, with an LSTM of "
           "128 hidden units.",
           {"name": "rnn", "layers": [{"type": "rows"}, {"type": "lstm", "hidden": 128}, _dense(10)]}),
]}


def get_preset(key: str) -> Preset:
    from dlviz.errors import SpecError

    if key not in PRESETS:
        raise SpecError("Unknown preset '{key}'. Presets: {known}.", key=key, known=", ".join(PRESETS))
    return PRESETS[key]
