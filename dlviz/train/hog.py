"""Histograms of oriented gradients (HOG, Dalal & Triggs 2005): the hand-made image features of classic computer
vision, which the course's first tutorial sets against the features a CNN learns.

Each pixel's brightness gradient (central differences, as scikit-image computes them) votes with its
length for its direction, unsigned (0-180 degrees), into one of ``BINS`` bins of its ``CELL`` x ``CELL``
cell; each 2 x 2 block of cells is scaled to length 1 (so the feature reads edge shapes, not ink
darkness), and the blocks are strung together. On a 28 x 28 digit: 4 x 4 cells, 3 x 3 blocks, 324
numbers. dlviz's own version (scikit-image is not a dependency), on whole batches with torch: 60,000
digits take a few seconds. No UI here.
"""

from __future__ import annotations

import math

import numpy as np
import torch

CELL = 7  # pixels per cell side: a 28 x 28 digit has 4 x 4 cells
BINS = 9  # unsigned orientations, 20 degrees each
BLOCK = 2  # cells per block side
EPS = 1e-6


def gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(gx, gy) of images ``x`` (N, H, W): central differences inside, 0 on the border (scikit-image's rule).
    gx is the change to the right, gy the change downwards."""
    gx = torch.zeros_like(x)
    gy = torch.zeros_like(x)
    gx[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    gy[:, 1:-1, :] = x[:, 2:, :] - x[:, :-2, :]
    return gx, gy


def cell_histograms(x: torch.Tensor, cell: int = CELL, bins: int = BINS) -> torch.Tensor:
    """(N, H // cell, W // cell, bins): in each cell, the summed gradient length per orientation bin. Bin k holds
    directions [k, k + 1) * 180 / bins degrees, unsigned: a gradient pointing right (a vertical edge) is
    bin 0, one pointing down or up (a horizontal edge) is bin bins // 2 for 9 bins (80-100 degrees)."""
    x = x.float()
    n, h, w = x.shape
    gx, gy = gradients(x)
    mag = torch.sqrt(gx * gx + gy * gy)
    angle = torch.rad2deg(torch.atan2(gy, gx)) % 180.0
    b = (angle / (180.0 / bins)).floor().long().clamp_(0, bins - 1)
    ch, cw = h // cell, w // cell
    votes = torch.zeros(n, h, w, bins, dtype=x.dtype, device=x.device)
    votes.scatter_(3, b.unsqueeze(3), mag.unsqueeze(3))
    votes = votes[:, : ch * cell, : cw * cell]
    return votes.reshape(n, ch, cell, cw, cell, bins).sum(dim=(2, 4))


def hog(x: torch.Tensor, cell: int = CELL, bins: int = BINS, block: int = BLOCK) -> torch.Tensor:
    """(N, features) HOG of images ``x`` (N, H, W) (floats in [0, 1] or uint8): every ``block`` x ``block``
    window of cells (stride one cell), L2-normalised, flattened."""
    hist = cell_histograms(x, cell, bins)
    n, ch, cw, _ = hist.shape
    rows, cols = ch - block + 1, cw - block + 1
    blocks = torch.stack(
        [hist[:, i : i + block, j : j + block].reshape(n, -1) for i in range(rows) for j in range(cols)], dim=1
    )
    blocks = blocks / torch.sqrt((blocks * blocks).sum(dim=2, keepdim=True) + EPS * EPS)
    return blocks.reshape(n, -1)


def hog_features(images: torch.Tensor, chunk: int = 4096) -> np.ndarray:
    """HOG of uint8 images (N, H, W) as float32 (N, features), in chunks (memory stays near 100 MB)."""
    out = [hog(images[s : s + chunk].float().div(255.0)) for s in range(0, len(images), chunk)]
    return torch.cat(out).numpy().astype(np.float32) if out else np.zeros((0, 0), np.float32)


def glyph_segments(hist: np.ndarray, cell: int = CELL) -> list[tuple[float, float, float, float, float]]:
    """Line segments that draw a cell histogram (ch, cw, bins) the classic way: in each cell, one line per bin
    through the cell's centre along the EDGE (at right angles to the gradient), as long as the bin's share of
    the largest bin in the image. (x0, y0, x1, y1, strength) in pixel coordinates, y downwards."""
    ch, cw, bins = hist.shape
    top = float(hist.max()) or 1.0
    out = []
    for i in range(ch):
        for j in range(cw):
            cy, cx = (i + 0.5) * cell - 0.5, (j + 0.5) * cell - 0.5
            for k in range(bins):
                v = float(hist[i, j, k]) / top
                if v < 0.05:
                    continue
                edge = math.radians((k + 0.5) * 180.0 / bins + 90.0)
                dx, dy = math.cos(edge) * v * cell / 2, math.sin(edge) * v * cell / 2
                out.append((cx - dx, cy - dy, cx + dx, cy + dy, v))
    return out
