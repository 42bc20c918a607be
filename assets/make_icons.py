"""Draw assets/logo.png and assets/favicon.png (a small network: 3 inputs, 4 hidden units, 2 outputs).

Run once after a change: ``python assets/make_icons.py``. Colours: the app's blue (#0072B2) on white.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
BLUE, LIGHT, WHITE = (0, 114, 178), (86, 180, 233), (255, 255, 255)


def draw(size: int) -> Image.Image:
    s = 4 * size  # draw large, then shrink: smooth edges
    im = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=BLUE)
    cols = [(0.2, [0.25, 0.5, 0.75]), (0.5, [0.17, 0.39, 0.61, 0.83]), (0.8, [0.36, 0.64])]
    pts = [[(x * s, y * s) for y in ys] for x, ys in cols]
    w = max(2, s // 48)
    for a, b in zip(pts, pts[1:]):
        for p in a:
            for q in b:
                d.line((p, q), fill=LIGHT, width=w)
    r = s * 0.075
    for layer in pts:
        for x, y in layer:
            d.ellipse((x - r, y - r, x + r, y + r), fill=WHITE, outline=LIGHT, width=w)
    return im.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    draw(256).save(HERE / "logo.png", optimize=True)
    draw(64).save(HERE / "favicon.png", optimize=True)
