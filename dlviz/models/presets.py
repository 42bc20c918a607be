"""Seed models taken from the course material (../shared/course, see its README)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from dlviz.errors import SpecError
from dlviz.models.builder import normalize


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    description: str
    spec: dict
    input: str = "image"  # "image" | "text": which datasets the preset is for
    epochs: int = 5  # the default number of epochs for this preset (CLI and Train page)
    dataset_epochs: tuple[tuple[str, int], ...] = ()  # (dataset, epochs) where a dataset needs other than ``epochs``

    @property
    def kind(self) -> str:
        """The same as ``input`` ("image" | "text"), named as DatasetInfo.kind."""
        return self.input

    def epochs_for(self, dataset: str | None = None) -> int:
        """The default epochs on ``dataset``: e.g. Kim's CNN needs 3 on rt-polarity but 8 on the
        Chinese reviews (three times the sentences, twice as long, learned from characters)."""
        return dict(self.dataset_epochs).get(dataset, self.epochs)

    def copy_spec(self) -> dict:
        return copy.deepcopy(self.spec)


def _dense(units):
    return {"type": "dense", "units": units}


_SIGMOID_DEPTH = 8

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in [
        Preset(
            "mlp",
            "MLP (course: Flatten-128-64-10)",
            "The course's first network: two hidden Dense layers with ReLU. 109,386 parameters; about 97.5% "
            "on MNIST after 5 epochs.",
            {
                "name": "mlp",
                "layers": [
                    {"type": "flatten"},
                    _dense(128),
                    {"type": "relu"},
                    _dense(64),
                    {"type": "relu"},
                    _dense(10),
                ],
            },
        ),
        Preset(
            "cnn",
            "CNN (course: Conv32-Pool-Conv64-Pool-128-10)",
            "The course's convolutional network. 225,034 parameters; about 99% on MNIST after 3 epochs.",
            {
                "name": "cnn",
                "layers": [
                    {"type": "conv2d", "out": 32, "kernel": 3},
                    {"type": "relu"},
                    {"type": "maxpool", "size": 2},
                    {"type": "conv2d", "out": 64, "kernel": 3},
                    {"type": "relu"},
                    {"type": "maxpool", "size": 2},
                    {"type": "flatten"},
                    _dense(128),
                    {"type": "relu"},
                    _dense(10),
                ],
            },
            epochs=3,
        ),
        Preset(
            "cifar-cnn",
            "CIFAR-10 CNN (course: Conv32-Pool-Conv64-Pool-Conv64-64-10)",
            "The course's colour-image network (its fifth tutorial): three 3x3 convolutions, two poolings, Dense(64) "
            "and Dense(10), 122,570 weights as in the course, plus a BatchNorm over the three colour channels first "
            "(6 more), which standardises each channel by the training images' mean and spread. Adam, batch 64, "
            "10 epochs; the course also flips the photos left-right (the flip augmentation).",
            {
                "name": "cifar-cnn",
                "layers": [
                    {"type": "batchnorm"},
                    {"type": "conv2d", "out": 32, "kernel": 3},
                    {"type": "relu"},
                    {"type": "maxpool", "size": 2},
                    {"type": "conv2d", "out": 64, "kernel": 3},
                    {"type": "relu"},
                    {"type": "maxpool", "size": 2},
                    {"type": "conv2d", "out": 64, "kernel": 3},
                    {"type": "relu"},
                    {"type": "flatten"},
                    _dense(64),
                    {"type": "relu"},
                    _dense(10),
                ],
            },
            epochs=10,
        ),
        Preset(
            "deep-sigmoid",
            "Deep sigmoid MLP (vanishing gradients)",
            f"{_SIGMOID_DEPTH} hidden Dense(64) layers, all with Sigmoid: the gradient shrinks at every layer, "
            "so the first layers barely learn. Compare it with the ReLU and residual presets.",
            {
                "name": "deep-sigmoid",
                "layers": [{"type": "flatten"}]
                + [x for _ in range(_SIGMOID_DEPTH) for x in (_dense(64), {"type": "sigmoid"})]
                + [_dense(10)],
            },
        ),
        Preset(
            "resnet",
            "Small residual CNN (skip connections)",
            "A stem convolution and three residual blocks (ResNet's skip connections let the gradient flow "
            "past each block), then global average pooling.",
            {
                "name": "resnet",
                "layers": [
                    {"type": "conv2d", "out": 16, "kernel": 3, "padding": 1},
                    {"type": "batchnorm"},
                    {"type": "relu"},
                    {"type": "residual", "channels": 16, "stride": 1},
                    {"type": "residual", "channels": 32, "stride": 2},
                    {"type": "residual", "channels": 64, "stride": 2},
                    {"type": "gap"},
                    _dense(10),
                ],
            },
            epochs=3,
        ),
        Preset(
            "rnn",
            "LSTM reading rows (course: input 28, hidden 128)",
            "Reads the image one row at a time, like a sentence of 28 words of 28 numbers, with an LSTM of "
            "128 hidden units.",
            {"name": "rnn", "layers": [{"type": "rows"}, {"type": "lstm", "hidden": 128}, _dense(10)]},
        ),
    ]
}

# Text presets read token ids (B, L). Their Embedding's vocab (10,000, the course's cap) is replaced by
# the dataset's vocabulary size when built for a dataset (build(..., vocab_size=...) / with_vocab), and
# they end in Dense(2) for the two sentiment classes (for_dataset() sets another class count).
_VOCAB = 10000


def _embed(dim):
    return {"type": "embedding", "vocab": _VOCAB, "dim": dim}


def _text_preset(key: str, title: str, description: str, layers: list, epochs: int = 3, zh_epochs: int = 6) -> Preset:
    """A text preset named ``key``: ``layers`` then Dense(2); ``zh_epochs`` on the Chinese reviews (three
    times the sentences, twice as long, learned from characters)."""
    spec = {"name": key, "layers": [*layers, _dense(2)]}
    return Preset(
        key, title, description, spec, input="text", epochs=epochs, dataset_epochs=(("zh-reviews", zh_epochs),)
    )


TEXT_PRESETS: list[Preset] = [
    _text_preset(
        "lstm",
        "LSTM sentiment (course: Embedding 10000x128-LSTM 128-Dense)",
        "The course's sentiment model: each word becomes a 128-number vector, an LSTM of 128 units reads "
        "them in order and its state after the last word decides. The course ends in Dense(1) with a "
        "sigmoid; Dense(2) with softmax is the same model for two classes.",
        [_embed(128), {"type": "lstm", "hidden": 128}],
        epochs=5,
    ),
    _text_preset(
        "gru",
        "Bidirectional GRU",
        "A GRU reads the sentence forwards and another backwards; their final states together decide.",
        [_embed(128), {"type": "gru", "hidden": 64, "bidirectional": True}, {"type": "dropout", "p": 0.5}],
        epochs=2,
        zh_epochs=3,
    ),
    _text_preset(
        "transformer",
        "Small transformer (2 layers, 4 heads)",
        "Word vectors plus learned position vectors go through 2 self-attention layers of 4 heads each; the "
        "average of the outputs decides. Its attention maps show which words each word looked at.",
        [
            _embed(64),
            {
                "type": "transformer",
                "layers": 2,
                "heads": 4,
                "feedforward": 128,
                "dropout": 0.1,
                "positions": "learned",
            },
            {"type": "timepool", "mode": "mean"},
            {"type": "dropout", "p": 0.5},
        ],
        zh_epochs=3,
    ),
    _text_preset(
        "kim-cnn",
        "Text CNN (Kim 2014: widths 3, 4, 5)",
        "100 filters each over 3, 4 and 5 consecutive words; each filter keeps its strongest match in the "
        "sentence (max over time), then dropout 0.5 and Dense. Kim reports 76.1% on these movie reviews "
        "from random word vectors.",
        [_embed(128), {"type": "kimconv", "filters": 100}, {"type": "dropout", "p": 0.5}],
        zh_epochs=8,
    ),
    _text_preset(
        "bag",
        "Bag of embeddings (baseline)",
        "The average of the word vectors, then Dense: word order is ignored. A fast baseline for the sequence models.",
        [_embed(64), {"type": "timepool", "mode": "mean"}],
        epochs=8,
        zh_epochs=10,
    ),
]
PRESETS.update({p.key: p for p in TEXT_PRESETS})

# Autoencoders (issue 16). The course (002, its list of algorithms) describes the idea, "compress the input and give
# back the original as closely as possible", but gives no layers; these are the usual textbook shapes. The dense one
# mirrors the course's MLP (784-256-64) around a 2-number middle, so the latent space can be drawn as it is; the
# convolutional one mirrors the course's CNN (Conv-Pool-Conv-Pool) around a 16-number middle and climbs back with
# Upsample + Conv. Both end in a Sigmoid: pixels in [0, 1], as binary cross-entropy wants.
AUTOENCODER_PRESETS = [
    Preset(
        "autoencoder",
        "Autoencoder (dense: 784-256-64-2-64-256-784)",
        "Squeezes each image through 2 numbers and draws it back from them: the 2-D latent space can be drawn. "
        "Binary cross-entropy on pixels in [0, 1]; 10 epochs.",
        {
            "name": "autoencoder",
            "task": "reconstruction",
            "layers": [
                {"type": "flatten"},
                _dense(256),
                {"type": "relu"},
                _dense(64),
                {"type": "relu"},
                _dense(2),
                _dense(64),
                {"type": "relu"},
                _dense(256),
                {"type": "relu"},
                _dense(784),
                {"type": "sigmoid"},
                {"type": "reshape", "channels": 1, "height": 28, "width": 28},
            ],
        },
        epochs=10,
    ),
    Preset(
        "conv-autoencoder",
        "Conv autoencoder (Conv16-Pool-Conv32-Pool-16-Upsample)",
        "Convolutions down to a 16-number code, then upsampling and convolutions back to the image. Sharper "
        "than the dense one; its latent space is drawn through its two main directions (PCA). 5 epochs.",
        {
            "name": "conv-autoencoder",
            "task": "reconstruction",
            "layers": [
                {"type": "conv2d", "out": 16, "kernel": 3, "padding": 1},
                {"type": "relu"},
                {"type": "maxpool", "size": 2},
                {"type": "conv2d", "out": 32, "kernel": 3, "padding": 1},
                {"type": "relu"},
                {"type": "maxpool", "size": 2},
                {"type": "flatten"},
                _dense(16),
                _dense(32 * 7 * 7),
                {"type": "relu"},
                {"type": "reshape", "channels": 32, "height": 7, "width": 7},
                {"type": "upsample", "scale": 2},
                {"type": "conv2d", "out": 16, "kernel": 3, "padding": 1},
                {"type": "relu"},
                {"type": "upsample", "scale": 2},
                {"type": "conv2d", "out": 1, "kernel": 3, "padding": 1},
                {"type": "sigmoid"},
            ],
        },
        epochs=5,
    ),
]
PRESETS.update({p.key: p for p in AUTOENCODER_PRESETS})


def get_preset(key: str) -> Preset:
    if key not in PRESETS:
        raise SpecError("Unknown preset '{key}'. Presets: {known}.", key=key, known=", ".join(PRESETS))
    return PRESETS[key]


def fit_classes(spec: dict, num_classes: int | None) -> dict:
    """``spec`` with its last layer giving ``num_classes`` scores, when that layer is a Dense layer of a
    preset's (used unchanged): the course's presets end in 10 (digits) or 2 (positive/negative) units, and a
    user's CSV may have 3 or more classes. Any other spec is returned as it is (the builder then says
    plainly which layer to change)."""
    if not num_classes or not isinstance(spec, dict) or not spec.get("layers"):
        return spec
    try:
        layers = normalize(spec)["layers"]
    except SpecError:
        return spec
    last = layers[-1]
    if last.get("type") != "dense" or last.get("units") == num_classes:
        return spec
    if not any(normalize(p.spec)["layers"] == layers for p in PRESETS.values()):
        return spec
    out = copy.deepcopy(spec)
    out["layers"][-1]["units"] = int(num_classes)
    return out
