"""The image modality: grey 28x28 pictures (MNIST, Fashion-MNIST) stored as uint8.

One user input is a drawing or an uploaded picture, made to look like an MNIST digit by
:mod:`dlviz.modality.preprocess`; a batch is uint8 (B, H, W) turned into floats (B, 1, H, W) in [0, 1]
(:func:`image_transform`, the course's division by 255).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from PIL import Image

from dlviz.data.registry import DatasetInfo
from dlviz.i18n import N_
from dlviz.modality.base import Example, Modality
from dlviz.modality.preprocess import Processed, open_image, to_mnist


def image_transform(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W) uint8 -> (B, 1, H, W) float in [0, 1], as the course divides by 255."""
    return x.unsqueeze(1).float().div_(255.0)


class ImageModality(Modality):
    """Grey pictures, uint8 (H, W) as stored; a model reads floats (1, H, W) in [0, 1]."""

    name, view, input_dtype, default_preset = "image", "image", torch.float32, "mlp"
    title, part, parts = N_("Images"), N_("pixel"), N_("pixels")
    wrong_model = N_("This model reads sentences, but the dataset is images.")
    augmentable = True

    def encode(self, raw: bytes | Image.Image | np.ndarray | torch.Tensor) -> Processed:
        """A picture as the model reads it: (1, 28, 28) floats in [0, 1], light digit on dark.

        ``raw``: the bytes of an uploaded file (opened safely by :func:`open_image`: size limits, first
        frame of an animation, EXIF rotation), or a PIL image / array (a canvas drawing, RGBA strokes).
        Every problem (not an image, too large, blank) is a plain DataError. The notices (English
        templates) say what was done: first frame only, inverted.
        """
        if isinstance(raw, (bytes, bytearray, memoryview)):
            img, notice = open_image(bytes(raw))
            out = to_mnist(img)
            return replace(out, notices=(notice, *out.notices)) if notice else out
        return to_mnist(raw)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        return image_transform(x)

    def input_shape(self, info: DatasetInfo, max_len: int | None = None) -> tuple[int, ...]:
        return tuple(info.input_shape)

    def example(self, data, index: int, part: str = "train") -> Example:
        x, y = (data.test_x, data.test_y) if part == "test" else (data.train_x, data.train_y)
        return Example(self.view, int(y[index]), x[index].numpy())


IMAGE = ImageModality()
