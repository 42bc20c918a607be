"""Draw the example photos the Inspect and Explain pages offer beside "Upload": MNIST test digits made to
look like a phone photo of ink on paper (light, uneven paper; blurred dark ink; squared paper for one).

Run once: ``python assets/examples/make_examples.py MNIST_FOLDER`` (the folder with t10k-images-idx3-ubyte.gz).
The digits are MNIST test images (Yann LeCun and Corinna Cortes, CC BY-SA 3.0).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
# (file, test image index, rotation in degrees, squared paper)
EXAMPLES = [("photo-3.jpg", 30, -6, False), ("photo-7-squared-paper.jpg", 0, 4, True), ("photo-2.jpg", 1, 8, False)]


def photo(digit: np.ndarray, angle: float, squared: bool, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    size = 360
    ink = (
        Image.fromarray(digit)
        .resize((240, 240), Image.BICUBIC)
        .filter(ImageFilter.MaxFilter(5))  # a felt pen
        .filter(ImageFilter.GaussianBlur(2))
    )
    canvas = Image.new("L", (size, size), 0)
    canvas.paste(ink, (60 + int(rng.integers(-15, 15)), 55 + int(rng.integers(-15, 15))))
    canvas = canvas.rotate(angle, resample=Image.BICUBIC)
    a = np.asarray(canvas, np.float32) / 255.0
    yy, xx = np.mgrid[0:size, 0:size] / size
    paper = np.stack([236 - 8 * yy - 4 * xx, 232 - 8 * yy - 3 * xx, 220 - 10 * yy], -1)  # warm, a little darker below
    if squared:
        lines = (np.arange(size) % 30) < 2
        grid = lines[None, :] | lines[:, None]
        paper[grid] -= np.array([14, 9, 2])  # light, as printed squares are
    paper += rng.normal(0, 2, paper.shape)
    ink_rgb = np.array([35, 40, 70], np.float32)  # blue-black ballpoint
    img = paper * (1 - a[..., None]) + ink_rgb * a[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def main(folder: str) -> None:
    import gzip

    raw = gzip.decompress((Path(folder) / "t10k-images-idx3-ubyte.gz").read_bytes())
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    for i, (name, index, angle, squared) in enumerate(EXAMPLES):
        photo(images[index], angle, squared, seed=i).save(HERE / name, quality=85)


if __name__ == "__main__":
    main(sys.argv[1])
