"""Turn a user's picture (an upload or a canvas drawing) into an MNIST-style input.

MNIST was made this way (LeCun, Cortes and Burges, "The MNIST database"): the NIST digits were
"size normalized to fit in a 20x20 pixel box while preserving their aspect ratio" (anti-aliased,
hence the grey levels) and "centered in a 28x28 image by computing the center of mass of the
pixels, and translating the image so as to position this point at the center of the 28x28 field".
Measured on the MNIST test set, the centre of mass sits at row 14.0, column 14.0 (pixel index
coordinates, std 0.29 = an integer shift), so :func:`to_mnist` shifts by whole pixels to put it
at (14, 14) too.

Uploads are untrusted: :func:`open_image` reads the header first and refuses huge images before
any pixel is decoded; every failure is a plain :class:`DataError`, never a traceback.
No streamlit here.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageOps

from dlviz.errors import DataError
from dlviz.i18n import N_
from dlviz.limits import Limits, fmt_bytes, limits

MAX_PIXELS = 40_000_000  # refuse larger uploads (a 20000x20000 PNG is 400 megapixels)
WORK_SIZE = 1024  # big photos are reduced to this many pixels on the long side first
DISPLAY_SIZE = 512  # the "original" kept for display is at most this large
BOX = 20  # MNIST's digit box
SIZE = 28  # MNIST's image size
CENTRE = 14.0  # where MNIST's centre of mass lies (row and column, pixel indices)
CONTRAST = 0.1  # ink must differ from the background by this much (0..1) to count
NOISE = 0.1  # after normalising ink to 0..1, values below this are background

NOTICE_FIRST_FRAME = N_(
    "This image has several frames (an animation or a multi-page file): only the first one is used."
)
NOTICE_INVERTED = N_(
    "The background was light, so the image was inverted: MNIST digits are light on a dark background."
)


@dataclass(frozen=True)
class Processed:
    """A model-ready input and what the user gave."""

    x: torch.Tensor  # (1, 28, 28) float32 in [0, 1], digit bright on dark; colour: (3, 32, 32) RGB in [0, 1]
    original: np.ndarray  # uint8 (H, W), (H, W, 3) or (H, W, 4), at most DISPLAY_SIZE, for display
    notices: tuple[str, ...] = field(default_factory=tuple)  # English templates, translate to show


# bytes per pixel of a decoded image, as Pillow stores it (RGB, LA and the like take 4 bytes a pixel)
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}


def decoded_bytes(img: Image.Image) -> int:
    """The memory opening ``img`` takes at its peak, from its header alone: the decoded pixels (Pillow's
    storage), plus the RGBA copy a palette image with transparency is turned into, plus the premultiplied
    copy Pillow makes to shrink a picture with an alpha channel."""
    w, h = img.size
    per_pixel = _MODE_BYTES.get(img.mode, 4)
    alpha = img.mode in ("LA", "PA", "RGBA")
    if img.mode == "P" and "transparency" in img.info:
        per_pixel += 4
        alpha = True
    if alpha and max(w, h) > WORK_SIZE:
        per_pixel += 4
    return w * h * per_pixel


def open_image(data: bytes, lim: Limits | None = None) -> tuple[Image.Image, str | None]:
    """Decode an uploaded file safely: (the image, fully loaded; a notice template or None).

    Refuses empty files, non-images, damaged or truncated files and decompression bombs with a
    plain DataError. An animated GIF (or a multi-page TIFF) gives its first frame and a notice.

    Bounded: the file's size (DLVIZ_MAX_UPLOAD_MB) and the memory the picture takes once decoded,
    from its mode and size in the header (DLVIZ_MAX_IMAGE_MB), are checked before any pixel is
    decoded; a JPEG is decoded at a reduced scale (draft mode) and every picture is reduced to
    WORK_SIZE pixels on its long side right after decoding, so the full-size pixels are freed at once.
    """
    lim = lim or limits()
    if not data:
        raise DataError("The file is empty (0 bytes). Choose an image file.")
    if len(data) > lim.upload_bytes:
        raise DataError(
            "The file is {size}; pictures up to {most} can be used. Please make it smaller.",
            size=fmt_bytes(len(data)),
            most=fmt_bytes(lim.upload_bytes),
        )
    try:
        with warnings.catch_warnings():
            # PIL warns above MAX_IMAGE_PIXELS and raises above twice that: both are refusals here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise DataError(
                    "The image is too large ({w} x {h} pixels). Images up to {mp} megapixels can be "
                    "used; please make it smaller.",
                    w=w,
                    h=h,
                    mp=MAX_PIXELS // 1_000_000,
                )
            frames = int(getattr(img, "n_frames", 1) or 1)
            if frames > 1:
                img.seek(0)
            if img.format == "JPEG" and max(w, h) > WORK_SIZE:
                img.draft(img.mode, (WORK_SIZE, WORK_SIZE))  # decode at 1/2, 1/4 or 1/8 of the size
            need = decoded_bytes(img)
            if need > lim.image_bytes:
                raise DataError(
                    "This picture would take {need} of memory once opened ({w} x {h} pixels, mode {mode}); "
                    "pictures up to {most} can be used. Please make it smaller.",
                    need=fmt_bytes(need),
                    w=w,
                    h=h,
                    mode=img.mode,
                    most=fmt_bytes(lim.image_bytes),
                )
            img.load()
            if img.mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")  # palette transparency would be lost by later conversions
            if max(img.size) > WORK_SIZE:
                # what to_mnist would do first, done here so the full-size pixels are freed now
                img.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX)
            img = _upright(img)
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(
            "The image is too large to open safely (a possible decompression bomb). Please make it smaller."
        ) from None
    except MemoryError:
        raise DataError("The image is too large to open with the memory available. Please make it smaller.") from None
    except Exception:  # noqa: BLE001  PIL raises many types (OSError, SyntaxError, ValueError, struct.error...)
        raise DataError(
            "This file is not an image that can be read, or it is damaged or cut short. Use a PNG, "
            "JPEG, GIF, BMP, WebP or TIFF image."
        ) from None
    if img.width < 1 or img.height < 1:
        raise DataError(
            "This file is not an image that can be read, or it is damaged or cut short. Use a PNG, "
            "JPEG, GIF, BMP, WebP or TIFF image."
        )
    return img, (NOTICE_FIRST_FRAME if frames > 1 else None)


def _upright(img: Image.Image) -> Image.Image:
    """Apply a photo's EXIF orientation (phones store portrait photos sideways)."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001  a damaged EXIF block only loses the rotation
        return img


def to_mnist(img: Image.Image | np.ndarray | torch.Tensor) -> Processed:
    """Make ``img`` look like an MNIST digit: (1, 28, 28) floats in [0, 1], light digit on dark.

    Steps, as MNIST was made: grayscale; light-on-dark (inverted when the border, i.e. the
    background, is light); crop to the ink's bounding box; scale to fit 20x20 keeping the aspect
    ratio (anti-aliased); paste into 28x28 with the centre of mass at (14, 14) by a whole-pixel
    shift (clamped so no ink is cut off).

    Accepts a PIL image, a (H, W) gray array (uint8, or floats in [0, 1]), an (H, W, 3) RGB array,
    or an (H, W, 4) RGBA array. RGBA with transparency uses the alpha channel as the ink: that is
    what ``streamlit-drawable-canvas`` returns for strokes on a transparent canvas. The Inspect page's
    canvas draws white strokes on an opaque black background, so its alpha is uniform and the gray
    level is the ink (light on dark, no inversion). Either way, any stroke colour works.

    Raises DataError when there is no ink (a blank canvas, an all-white image).
    """
    pil = _as_pil(img)
    small = pil.copy()
    if max(small.size) > WORK_SIZE:
        small.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX)  # keeps the aspect ratio
    signal = _signal(small)  # (H, W) float32 in [0, 1]

    notices = []
    ring = _border(signal)
    background = float(np.median(ring))
    if background > 0.5:
        signal = 1.0 - signal
        background = 1.0 - background
        notices.append(NOTICE_INVERTED)
    top = float(signal.max())
    if top - background < CONTRAST:
        raise DataError("No digit found: the image is blank. Draw a digit first, or choose another image.")
    ink = np.clip((signal - background) / (top - background), 0.0, 1.0)
    ink[ink < NOISE] = 0.0
    rows, cols = np.nonzero(ink)
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]  # the ink's bounding box

    h, w = ink.shape
    f = BOX / max(h, w)
    nh, nw = max(1, round(h * f)), max(1, round(w * f))
    patch = np.asarray(Image.fromarray(ink).resize((nw, nh), Image.Resampling.LANCZOS), dtype=np.float32)
    patch = np.clip(patch, 0.0, 1.0)  # Lanczos rings slightly below 0 and above 1
    if patch.max() <= 0:
        raise DataError("No digit found: the image is blank. Draw a digit first, or choose another image.")
    patch /= patch.max()
    cy, cx = _centre_of_mass(patch)
    top_row = int(np.clip(round(CENTRE - cy), 0, SIZE - nh))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - nw))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top_row : top_row + nh, left : left + nw] = patch
    return Processed(torch.from_numpy(out).unsqueeze(0), _display(pil), tuple(notices))


NOTICE_COLOUR = N_(
    "The picture was made as small as the dataset's photos (32 x 32 pixels), in colour: its middle square is kept "
    "(the longer side is cropped), so small details are lost."
)


def to_colour(img: Image.Image | np.ndarray | torch.Tensor, size: tuple[int, int] = (32, 32)) -> Processed:
    """A photo as a colour model reads it: (3, H, W) floats in [0, 1], RGB, ``size`` = (H, W) (CIFAR-10: 32 x 32).

    The middle square of the picture (the longer side cropped, as the dataset's photos are square) is resized with
    antialiasing; transparency is laid on white. Nothing is inverted or centred: a photo is a photo, not a digit.
    """
    pil = _as_pil(img)
    if pil.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in pil.info:
        rgba = pil.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        pil_rgb = Image.alpha_composite(back, rgba).convert("RGB")
    elif pil.mode in ("F", "I", "I;16", "I;16B", "I;16L"):
        pil_rgb = Image.fromarray((_signal(pil) * 255 + 0.5).astype(np.uint8)).convert("RGB")
    else:
        pil_rgb = pil.convert("RGB")
    h, w = size
    small = ImageOps.fit(pil_rgb, (w, h), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    a = np.asarray(small, dtype=np.float32) / 255.0  # (H, W, 3)
    x = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))
    return Processed(x, _display(pil), (NOTICE_COLOUR,))


def _as_pil(img) -> Image.Image:
    if isinstance(img, Image.Image):
        return img
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]  # (1, H, W) like a model input
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or a.size == 0:
        raise DataError(
            "Expected an image of shape height x width (x 3 or 4 channels), got {shape}.",
            shape=" x ".join(str(s) for s in a.shape),
        )
    if a.dtype == np.uint8:
        return Image.fromarray(a)
    a = np.nan_to_num(a.astype(np.float32))
    if a.ndim == 2:
        return Image.fromarray(a)  # mode "F": floats keep their precision (0..1 or 0..255)
    if a.max() <= 1.0:
        a = a * 255.0
    return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))


def _display(img: Image.Image) -> np.ndarray:
    """The picture as the user gave it, uint8 L / RGB / RGBA, at most DISPLAY_SIZE on its long side."""
    if img.mode in ("F", "I;16", "I;16B", "I;16L", "I"):
        img = Image.fromarray((_signal(img) * 255 + 0.5).astype(np.uint8))
    elif img.mode not in ("L", "RGB", "RGBA"):
        has_alpha = img.mode in ("LA", "PA", "La", "RGBa") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    if max(img.size) > DISPLAY_SIZE:
        img = img.copy()
        img.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE), Image.Resampling.LANCZOS)
    return np.array(img)


def _signal(img: Image.Image) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the alpha channel if it varies, else the gray level."""
    if img.mode == "F":  # floats: 0..1, or 0..255 if larger
        a = np.asarray(img, dtype=np.float32)
        return np.clip(a / (255.0 if a.max() > 1.0 else 1.0), 0.0, 1.0)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grays keep their precision
        a = np.asarray(img, dtype=np.float32)
        return np.clip(a / (65535.0 if a.max() > 255 else 255.0), 0.0, 1.0)
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        if alpha.min() < 1.0:
            return alpha
        return np.asarray(img.convert("RGB").convert("L"), dtype=np.float32) / 255.0
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _border(a: np.ndarray) -> np.ndarray:
    """The outer ring of pixels (3% of the short side, at least 1): where the background is."""
    k = max(1, round(0.03 * min(a.shape)))
    return np.concatenate([a[:k].ravel(), a[-k:].ravel(), a[:, :k].ravel(), a[:, -k:].ravel()])


def _centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre, in pixel indices."""
    m = float(a.sum())
    return float((a.sum(1) * np.arange(a.shape[0])).sum() / m), float((a.sum(0) * np.arange(a.shape[1])).sum() / m)


def centre_of_mass(x: torch.Tensor | np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a (1, H, W) or (H, W) image, in pixel indices."""
    a = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    return _centre_of_mass(a.reshape(a.shape[-2:]))
