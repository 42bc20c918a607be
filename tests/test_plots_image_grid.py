"""image_grid (dlviz/plots/figures.py) draws a grid of images as one PNG in one Image trace, captions above
(issue 18: 20-60 subplots per grid cost the browser 1-3 s on the pages lessons open with). These tests read the
picture back and check every image is where its caption says, enlarged without smoothing, ink dark on white."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from dlviz.plots.figures import image_grid


def _sheet(fig) -> np.ndarray:
    source = fig.data[0].source
    assert source.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB"))


@pytest.mark.parametrize(
    "n, cols, colour", [(20, 10, False), (3, 2, False), (7, 7, True), (1, 1, False), (12, 5, False), (5, 10, False)]
)
def test_every_image_is_drawn_under_its_caption(n, cols, colour):
    rng = np.random.default_rng(n)
    h, w = (5, 4)
    images = rng.integers(0, 256, (n, h, w, 3) if colour else (n, h, w), dtype=np.uint8)
    captions = [f"digit {i}" for i in range(n)]
    fig = image_grid(images, captions, cols=cols, cell=20)
    assert len(fig.data) == 1 and fig.data[0].type == "image" and fig.data[0].hoverinfo == "skip"
    sheet = _sheet(fig)
    k = 20 // 5  # the enlargement: cell // the larger side
    rows = -(-n // cols)
    assert sheet.shape[1] >= cols * w * k and sheet.shape[0] >= rows * h * k
    assert [a.text for a in fig.layout.annotations] == captions
    for i, ann in enumerate(fig.layout.annotations):
        # the caption sits above its image, centred: the image's pixels start just below the caption's anchor
        x0 = int(ann.x - w * k / 2)
        y0 = int(ann.y) + 3
        got = sheet[y0 : y0 + h * k, x0 : x0 + w * k]
        expect = images[i] if colour else np.repeat((255 - images[i])[..., None], 3, axis=-1)
        expect = expect.repeat(k, axis=0).repeat(k, axis=1)  # whole pixels, no smoothing
        np.testing.assert_array_equal(got, expect)
        assert ann.yanchor == "bottom" and ann.xanchor == "center" and ann.xref == "x" and ann.yref == "y"
    # the axes show the sheet pixel for pixel, top row first, square pixels
    assert list(fig.layout.yaxis.range) == [sheet.shape[0] - 0.5, -0.5]
    assert list(fig.layout.xaxis.range) == [-0.5, sheet.shape[1] - 0.5]
    assert fig.layout.yaxis.scaleanchor == "x"


def test_empty_captions_draw_none_and_text_is_shown_literally():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    fig = image_grid(images, ["<b>bold</b>", "", "7"], cols=3)
    assert [a.text for a in fig.layout.annotations] == ["&lt;b&gt;bold&lt;/b&gt;", "7"]


def test_the_gaps_are_white_and_a_blank_image_is_white():
    fig = image_grid(np.zeros((2, 28, 28), dtype=np.uint8), ["a", "b"], cols=4)  # no ink at all
    assert (_sheet(fig) == 255).all()


def test_one_picture_is_much_smaller_than_a_subplot_per_image():
    """What the browser gets for the Data page's 30 digits: one trace and two axes, tens of KB."""
    rng = np.random.default_rng(0)
    digits = (rng.random((30, 28, 28)) > 0.8).astype(np.uint8) * 255
    spec = json.loads(image_grid(digits, [str(i % 10) for i in range(30)], cols=10).to_json())
    assert len(spec["data"]) == 1
    assert sum(1 for k in spec["layout"] if k.startswith(("xaxis", "yaxis"))) == 2
    assert len(json.dumps(spec)) < 40_000
