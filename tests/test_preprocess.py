"""Uploads and drawings made MNIST-like (known answers) and refused safely when bad."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, features

from dlviz.errors import DataError
from dlviz.modality import preprocess
from dlviz.modality.preprocess import NOTICE_FIRST_FRAME, NOTICE_INVERTED, centre_of_mass, open_image, to_mnist


def _digit(size=(200, 100), offset=(120, 15), ink=0, paper=255, mode="L") -> Image.Image:
    """A thick '7'-like stroke, dark on light, away from the centre of a wide image."""
    img = Image.new(mode, size, paper)
    d = ImageDraw.Draw(img)
    x, y = offset
    d.line([(x, y), (x + 50, y), (x + 20, y + 70)], fill=ink, width=9)
    return img


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _ink_box(x: torch.Tensor) -> tuple[int, int]:
    rows, cols = np.nonzero(x[0].numpy() > 0)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def _corr(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, float).ravel(), np.asarray(b, float).ravel())[0, 1])


def _png(width: int, height: int, rows: bool = True) -> bytes:
    """A real 1-bit grayscale PNG streamed through zlib (small file, no big array ever made)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = b""
    if rows:
        z = zlib.compressobj(9)
        row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
        parts = [z.compress(row) for _ in range(height)]
        body = b"".join(parts) + z.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


# --- the MNIST recipe ---------------------------------------------------------------------------------


def test_offset_dark_digit_becomes_a_centred_light_digit():
    p = to_mnist(_digit())
    x = p.x
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) == 0.0 and float(x.max()) == pytest.approx(1.0)
    assert NOTICE_INVERTED in p.notices  # dark ink on white paper was inverted
    # light on dark: the border is background
    assert float(x[0, 0].abs().sum() + x[0, -1].abs().sum() + x[0, :, 0].abs().sum() + x[0, :, -1].abs().sum()) == 0
    h, w = _ink_box(x)
    assert max(h, w) == 20 and min(h, w) < 20  # fits the 20x20 box, aspect ratio kept (taller than wide)
    cy, cx = centre_of_mass(x)
    assert abs(cy - 14.0) <= 0.5 and abs(cx - 14.0) <= 0.5
    assert p.original.shape == (100, 200)  # the original kept for display


def test_light_digit_on_dark_is_not_inverted_and_matches():
    dark_on_light = to_mnist(_digit())
    light_on_dark = to_mnist(_digit(ink=255, paper=0))
    assert NOTICE_INVERTED not in light_on_dark.notices
    assert torch.allclose(dark_on_light.x, light_on_dark.x, atol=1e-6)


def test_the_same_digit_anywhere_and_any_size_gives_the_same_input():
    a = to_mnist(_digit(size=(200, 100), offset=(120, 15))).x
    b = to_mnist(_digit(size=(300, 300), offset=(10, 200))).x
    assert torch.allclose(a, b, atol=1e-6)
    big = _digit(size=(800, 800), offset=(10, 10)).resize((3200, 3200), Image.Resampling.NEAREST)
    assert _corr(to_mnist(big).x, a) > 0.95  # a large photo is reduced first, same shape


def test_mnist_images_stay_themselves(mnist_dir):
    from dlviz.data import load_dataset

    d = load_dataset("mnist", mnist_dir)
    corrs = []
    for i in range(60):
        a = d.test_x[i].numpy() / 255.0
        b = to_mnist(d.test_x[i].numpy()).x[0].numpy()
        cy, cx = centre_of_mass(b)
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
        # MNIST's own centre lies within +-0.5 of 14 too; at the rounding edge the shift may differ by 1 px
        best = max(_corr(np.roll(a, (dy, dx), (0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        assert best > 0.95, i
        corrs.append(_corr(a, b))
    assert np.median(corrs) > 0.99
    assert _corr(d.test_x[0].numpy(), to_mnist(d.test_x[0]).x) > 0.9  # a (28, 28) uint8 tensor works as-is


def test_model_input_shaped_tensor_is_accepted():
    x = to_mnist(_digit()).x
    again = to_mnist(x)  # a float (1, 28, 28) tensor in [0, 1], already MNIST-like: nearly unchanged
    assert _corr(again.x, x) > 0.99 and np.allclose(centre_of_mass(again.x), centre_of_mass(x), atol=0.5)
    assert again.original.dtype == np.uint8 and again.original.shape == (28, 28)


# --- canvas drawings ----------------------------------------------------------------------------------


def _canvas(opaque: bool, stroke=(255, 255, 255)) -> np.ndarray:
    a = np.zeros((280, 280, 4), np.uint8)
    if opaque:
        a[..., 3] = 255  # black background, as the Inspect page's canvas draws
    mask = np.asarray(_digit(size=(280, 280), offset=(60, 80), ink=255, paper=0)) > 0
    a[mask, :3] = stroke
    a[mask, 3] = 255
    return a


def test_canvas_arrays_opaque_or_transparent_give_the_same_digit():
    ref = to_mnist(_digit(size=(280, 280), offset=(60, 80))).x
    for arr in (_canvas(True), _canvas(False), _canvas(False, stroke=(0, 0, 0))):
        p = to_mnist(arr)
        assert torch.allclose(p.x, ref, atol=1e-5)
        assert NOTICE_INVERTED not in p.notices
        assert p.original.shape == (280, 280, 4)


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((280, 280, 4), np.uint8),  # nothing drawn
        np.dstack([np.zeros((280, 280, 3), np.uint8), np.full((280, 280), 255, np.uint8)]),
        np.full((100, 100), 255, np.uint8),  # all white
        np.full((50, 60, 3), 127, np.uint8),
    ],
)
def test_blank_input_says_draw_a_digit(blank):
    with pytest.raises(DataError, match="Draw a digit first"):
        to_mnist(blank)


def test_blank_white_upload_is_refused_plainly():
    img, _ = open_image(_encode(Image.new("RGB", (64, 64), "white"), "PNG"))
    with pytest.raises(DataError, match="blank"):
        to_mnist(img)


def test_wrong_array_shape_is_a_data_error():
    with pytest.raises(DataError, match="height x width"):
        to_mnist(np.zeros((4, 4, 7), np.uint8))


# --- formats ------------------------------------------------------------------------------------------

FORMATS = [("PNG", {}), ("JPEG", {"quality": 90}), ("BMP", {}), ("TIFF", {}), ("GIF", {})]
if features.check("webp"):
    FORMATS.append(("WEBP", {"quality": 90}))


@pytest.mark.parametrize("fmt,kw", FORMATS, ids=[f for f, _ in FORMATS])
def test_common_formats_work(fmt, kw):
    ref = to_mnist(_digit()).x
    img, notice = open_image(_encode(_digit().convert("RGB"), fmt, **kw))
    assert notice is None
    assert _corr(to_mnist(img).x, ref) > 0.97


def test_sixteen_bit_png_keeps_its_levels():
    ref = to_mnist(_digit()).x
    a16 = np.asarray(_digit(), np.uint16) * 257  # 0..65535
    img, _ = open_image(_encode(Image.fromarray(a16), "PNG"))
    assert img.mode.startswith("I")
    p = to_mnist(img)
    assert torch.allclose(p.x, ref, atol=1e-4)
    assert p.original.dtype == np.uint8 and p.original.max() == 255


def test_transparent_png_uses_alpha_as_ink():
    ref = to_mnist(_digit()).x
    mask = np.asarray(_digit()) < 128
    rgba = np.zeros((*mask.shape, 4), np.uint8)  # black strokes on a transparent (black) background
    rgba[mask, 3] = 255
    img, _ = open_image(_encode(Image.fromarray(rgba), "PNG"))
    assert _corr(to_mnist(img).x, ref) > 0.99
    pal = Image.fromarray(mask.astype(np.uint8), "L").convert("P")  # index 0 background, 1 ink: both black
    pal.putpalette([0, 0, 0] * 256)
    img, _ = open_image(_encode(pal, "PNG", transparency=0))
    assert _corr(to_mnist(img).x, ref) > 0.99


def test_animated_gif_uses_the_first_frame_with_a_notice():
    first, second = _digit(), _digit(ink=255, paper=0).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    data = _encode(first.convert("P"), "GIF", save_all=True, append_images=[second.convert("P")], duration=100)
    img, notice = open_image(data)
    assert notice == NOTICE_FIRST_FRAME
    assert torch.allclose(to_mnist(img).x, to_mnist(first).x, atol=1e-5)


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,words",
    [
        (b"", "empty"),
        (b"hello, this is a text file\n" * 10, "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image"),
    ],
)
def test_bad_bytes_are_plain_errors(data, words):
    with pytest.raises(DataError, match=words):
        open_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_plain_errors(fmt):
    data = _encode(_digit(size=(400, 300)).convert("RGB"), fmt)
    with pytest.raises(DataError, match="damaged or cut short"):
        open_image(data[: len(data) // 2])


def test_huge_images_are_refused_before_decoding(monkeypatch):
    loads = []
    real_load = Image.Image.load
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", lambda self: loads.append(1) or real_load(self))
    bomb = _png(20000, 20000)  # 400 megapixels, 50 MB of zlib zeros in a small file
    assert len(bomb) < 200_000
    with pytest.raises(DataError, match="too large"):
        open_image(bomb)
    with pytest.raises(DataError, match=r"too large \(7000 x 7000 pixels\)"):  # our own 40 MP limit
        open_image(_png(7000, 7000, rows=False))
    assert not loads  # refused from the header, no pixel decoded


def test_pil_decompression_bomb_guard_is_a_plain_error(monkeypatch):
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 10**12)
    data = _encode(_digit(), "PNG")  # 20,000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 15_000)  # PIL warns above this
    with pytest.raises(DataError, match="decompression bomb"):
        open_image(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)  # ... and raises above twice this
    with pytest.raises(DataError, match="decompression bomb"):
        open_image(data)


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_core_does_not_need_streamlit():
    import subprocess
    import sys

    code = "import dlviz.modality.preprocess, dlviz.plots.activations, sys; assert 'streamlit' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
