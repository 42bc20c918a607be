"""A picture of HOG features (dlviz.train.hog) the classic way: the image beside, in each cell, one line per
orientation bin along the edge, as bright and as long as the bin is strong. Built from the segments
``dlviz.train.hog.glyph_segments`` gives (this module draws; it computes nothing). PIL only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from dlviz.plots.filters import gray, tile, upscale


def hog_picture(
    image: np.ndarray,
    segments: Sequence[tuple[float, float, float, float, float]],
    cell: int,
    size: int = 224,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """(h, w, 3) uint8: the grey ``image`` (H, W floats in [0, 1]) upscaled to about ``size`` pixels, and beside
    it the HOG glyphs on black with the cell grid, both the same size; ``labels`` above each (translated)."""
    h, w = image.shape
    left = upscale(gray(image), size)
    f = left.shape[0] / h
    pil = Image.new("RGB", (left.shape[1], left.shape[0]), (0, 0, 0))
    draw = ImageDraw.Draw(pil)
    for k in range(1, h // cell):  # the cell grid, faint
        draw.line([(0, k * cell * f), (w * f, k * cell * f)], fill=(60, 60, 60))
        draw.line([(k * cell * f, 0), (k * cell * f, h * f)], fill=(60, 60, 60))
    for x0, y0, x1, y1, v in segments:
        c = int(80 + 175 * v)
        draw.line([((x0 + 0.5) * f, (y0 + 0.5) * f), ((x1 + 0.5) * f, (y1 + 0.5) * f)], fill=(c, c, 0), width=2)
    return tile([left, np.asarray(pil)], cols=2, labels=labels)
