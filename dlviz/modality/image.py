"""The image modality: grey 28x28 pictures (MNIST, Fashion-MNIST) and colour 32x32 photos (CIFAR-10), stored as uint8.

One user input is a drawing or an uploaded picture, made to look like an MNIST digit by
:mod:`dlviz.modality.preprocess`, or for a colour dataset an uploaded photo resized to its size in RGB
(:func:`~dlviz.modality.preprocess.to_colour`); a batch is uint8 (B, H, W) turned into floats (B, 1, H, W) in
[0, 1], or colour (B, H, W, 3) into (B, 3, H, W) (:func:`image_transform`, the course's division by 255). A colour
model standardises each channel itself (the CIFAR-10 preset's first layer), so every view keeps pixels in [0, 1].
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from PIL import Image

from dlviz.data.registry import DatasetInfo
from dlviz.i18n import N_
from dlviz.modality.base import Example, Modality
from dlviz.modality.preprocess import Processed, open_image, to_colour, to_mnist


def image_transform(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W) uint8 -> (B, 1, H, W) float in [0, 1], as the course divides by 255; colour (B, H, W, 3) ->
    (B, 3, H, W)."""
    if x.ndim == 4:
        return x.permute(0, 3, 1, 2).float().div_(255.0).contiguous()
    return x.unsqueeze(1).float().div_(255.0)


def as_picture(x) -> np.ndarray:
    """A model input or stored image as a picture: (H, W) grey, or (H, W, 3) RGB for a colour one ((3, H, W) or
    (1, 3, H, W) model inputs are moved channels-last); floats stay floats, uint8 stays uint8."""
    a = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] == 3 and a.shape[-1] != 3:
        return np.ascontiguousarray(a.transpose(1, 2, 0))
    if a.ndim == 3 and a.shape[0] == 1:
        return a[0]
    return a


def is_colour(x) -> bool:
    """Whether a picture, stored image batch or model input holds three colour channels."""
    shape = tuple(getattr(x, "shape", ()))
    return (len(shape) >= 3 and shape[-1] == 3) or (len(shape) >= 3 and shape[-3] == 3 and shape[-1] != 3)


class ImageModality(Modality):
    """Grey pictures, uint8 (H, W) as stored; a model reads floats (1, H, W) in [0, 1]."""

    name, view, input_dtype, default_preset = "image", "image", torch.float32, "mlp"
    title, part, parts = N_("Images"), N_("pixel"), N_("pixels")
    wrong_model = N_("This model reads sentences, but the dataset is images.")
    augmentable = True

    def encode(
        self, raw: bytes | Image.Image | np.ndarray | torch.Tensor, info: DatasetInfo | None = None
    ) -> Processed:
        """A picture as the model reads it: (1, 28, 28) floats in [0, 1], light digit on dark.

        ``raw``: the bytes of an uploaded file (opened safely by :func:`open_image`: size limits, first
        frame of an animation, EXIF rotation), or a PIL image / array (a canvas drawing, RGBA strokes).
        Every problem (not an image, too large, blank) is a plain DataError. The notices (English
        templates) say what was done: first frame only, inverted. For a colour dataset (``info`` with 3 channels) the
        picture is kept in colour, resized to the dataset's size (:func:`to_colour`).
        """
        if info is not None and info.channels == 3:
            if isinstance(raw, (bytes, bytearray, memoryview)):
                img, notice = open_image(bytes(raw))
                out = to_colour(img, info.image_shape)
                return replace(out, notices=(notice, *out.notices)) if notice else out
            return to_colour(raw, info.image_shape)
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
