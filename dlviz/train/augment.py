"""Data augmentation on the device: every training batch is shifted, rotated, scaled, flipped, noised and
partly erased at random, so the network never sees the same picture twice.

The course's lesson (tutorials 3-6): with few training images a network learns those images rather than
the classes, and its training accuracy runs ahead of its validation accuracy (overfitting); showing it
slightly moved copies of each image narrows the gap. Everything here works on a whole batch of floats
(B, C, H, W) already on the training device: one ``affine_grid`` + ``grid_sample`` for the geometry (one
random matrix per image, no loop over images, no copy to the host), then noise and erasing as masks.
Validation and test images are never augmented.

Flips are only for data whose mirror image is still of its class (``DatasetInfo.flips``): a mirrored 2 is
no digit, so digits refuse them. No UI here; torch only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from dlviz.errors import TrainError
from dlviz.i18n import N_

# the widest each setting may go: beyond these the picture is no longer of its class
LIMITS = {"shift": 14.0, "rotate": 180.0, "scale": 0.5, "noise": 1.0, "erase": 0.5}
ERASE_P = 0.5  # each image is erased with this probability (torchvision's RandomErasing default)


@dataclass(frozen=True)
class Augmentation:
    """How far each random change may go; all zero / False is no augmentation.

    ``shift``: pixels, up to this far in x and in y; ``rotate``: degrees, either way; ``scale``: a zoom by a
    factor in [1 - scale, 1 + scale]; ``flip``: mirror left-right half of the images; ``noise``: the standard
    deviation of Gaussian noise added to pixels in [0, 1]; ``erase``: the share of the image's area blacked out
    in one rectangle (in half of the images)."""

    shift: float = 0.0
    rotate: float = 0.0
    scale: float = 0.0
    flip: bool = False
    noise: float = 0.0
    erase: float = 0.0

    @property
    def active(self) -> bool:
        return any(bool(getattr(self, f.name)) for f in fields(self))

    @property
    def geometric(self) -> bool:
        return bool(self.shift or self.rotate or self.scale or self.flip)

    def validated(self) -> "Augmentation":
        vals = {}
        for name, most in LIMITS.items():
            try:
                v = float(getattr(self, name))
            except (TypeError, ValueError):
                raise TrainError(
                    "The augmentation setting {name} must be a number, not {value!r}.",
                    name=name,
                    value=getattr(self, name),
                ) from None
            if not (0 <= v <= most) or not math.isfinite(v):
                raise TrainError(
                    "The augmentation setting {name} must be between 0 and {most:g}, not {value:g}.",
                    name=name,
                    most=most,
                    value=v,
                )
            vals[name] = v
        return Augmentation(flip=bool(self.flip), **vals)


NO_FLIPS = N_(
    "{dataset} cannot be flipped: a mirrored image is no longer of its class (a mirrored 2 is not a digit). "
    "Turn flips off."
)
NOT_IMAGES = N_("Augmentation shifts and rotates pictures; {dataset} is not pictures. Turn augmentation off.")


def check_allowed(aug: Augmentation, info, augmentable: bool) -> None:
    """A TrainError when ``aug`` does not suit dataset ``info`` (flips where ``info.flips`` is false; any
    augmentation for a modality that cannot be augmented)."""
    if not aug.active:
        return
    if not augmentable:
        raise TrainError(NOT_IMAGES, dataset=info.name)
    if aug.flip and not getattr(info, "flips", False):
        raise TrainError(NO_FLIPS, dataset=info.name)


def affine(
    x: torch.Tensor,
    angle: torch.Tensor,
    scale: torch.Tensor,
    tx: torch.Tensor,
    ty: torch.Tensor,
    flip: torch.Tensor,
) -> torch.Tensor:
    """Move each image of ``x`` (B, C, H, W) by its own geometry, in one ``grid_sample``: rotated by ``angle``
    degrees, zoomed by ``scale``, mirrored left-right where ``flip`` is true, then its content moved ``tx``
    pixels right and ``ty`` pixels down (each a (B,) tensor). Pixels moved in from outside are 0 (black).
    A whole-pixel shift is exact: a pixel at (r, c) moves to (r + ty, c + tx)."""
    b, _, h, w = x.shape
    a = torch.deg2rad(angle.to(x.dtype))
    cos, sin = torch.cos(a), torch.sin(a)
    s = scale.to(x.dtype)
    f = 1.0 - 2.0 * flip.to(x.dtype)  # -1 mirrors x
    # affine_grid maps each OUTPUT position to the INPUT position it reads (normalised coordinates, -1..1):
    # p_in = M (p_out - t) with M = F S^-1 R(-angle), the inverse of the content's move p_out = R S F p_in + t
    m = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    m[:, 0, 0] = f * cos / s
    m[:, 0, 1] = f * sin / s
    m[:, 1, 0] = -sin / s
    m[:, 1, 1] = cos / s
    t = torch.stack((tx.to(x.dtype) * 2.0 / w, ty.to(x.dtype) * 2.0 / h), dim=1)  # pixels -> normalised
    m[:, :, 2] = -(m[:, :, :2] @ t.unsqueeze(2)).squeeze(2)
    grid = F.affine_grid(m, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def erase(x: torch.Tensor, area: float, top: torch.Tensor, left: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """Zero one rectangle of ``area`` (a share of H * W) in each image where ``on`` is true; its top-left corner
    at (``top``, ``left``) given as fractions in [0, 1) of the room there is. The rectangle is as square as the
    image allows, ``erase_size`` pixels."""
    b, _, h, w = x.shape
    eh, ew = erase_size(area, h, w)
    r0 = (top * (h - eh + 1)).floor().long().clamp_(0, h - eh)
    c0 = (left * (w - ew + 1)).floor().long().clamp_(0, w - ew)
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    in_r = (rows[None, :] >= r0[:, None]) & (rows[None, :] < (r0 + eh)[:, None])  # (B, H)
    in_c = (cols[None, :] >= c0[:, None]) & (cols[None, :] < (c0 + ew)[:, None])  # (B, W)
    mask = in_r[:, :, None] & in_c[:, None, :] & on.bool()[:, None, None]  # (B, H, W)
    return x.masked_fill(mask[:, None], 0.0)


def erase_size(area: float, h: int, w: int) -> tuple[int, int]:
    """(height, width) in pixels of the erased rectangle: ``area`` of the image, as square as it fits."""
    px = area * h * w
    eh = min(h, max(1, round(math.sqrt(px))))
    ew = min(w, max(1, round(px / eh)))
    return eh, ew


class Augmenter:
    """``aug`` applied to float batches on ``device``, drawn from its own generator seeded with ``seed`` (so the
    order of the training images is the same with and without augmentation, and a seed repeats a run)."""

    def __init__(self, aug: Augmentation, device: torch.device | str = "cpu", seed: int = 0):
        self.aug = aug.validated()
        self.gen = torch.Generator(device=torch.device(device))
        self.gen.manual_seed(int(seed) + 7919)  # apart from the engine's shuffling generator

    def _u(self, n: int, device) -> torch.Tensor:
        """n uniform draws in [-1, 1)."""
        return torch.rand(n, generator=self.gen, device=device) * 2.0 - 1.0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        a, b, dev = self.aug, len(x), x.device
        if not a.active or b == 0:
            return x
        if a.geometric:
            angle = self._u(b, dev) * a.rotate
            scale = 1.0 + self._u(b, dev) * a.scale
            tx, ty = self._u(b, dev) * a.shift, self._u(b, dev) * a.shift
            flip = (torch.rand(b, generator=self.gen, device=dev) < 0.5) & a.flip
            x = affine(x, angle, scale, tx, ty, flip)
        if a.noise:
            x = (x + a.noise * torch.randn(x.shape, generator=self.gen, device=dev, dtype=x.dtype)).clamp_(0.0, 1.0)
        if a.erase:
            top, left = (torch.rand(b, generator=self.gen, device=dev) for _ in range(2))
            on = torch.rand(b, generator=self.gen, device=dev) < ERASE_P
            x = erase(x, a.erase, top, left, on)
        return x


def preview(images: torch.Tensor, aug: Augmentation, seed: int = 0, copies: int = 3) -> torch.Tensor:
    """A grid (uint8, (1 + copies) * H rows, n * W columns) for a preview: the first row the ``images`` (uint8
    (n, H, W)) as stored, each row below them as one training batch with ``aug`` would see them. Colour images
    (n, H, W, 3) give a colour grid (rows, columns, 3)."""
    colour = images.ndim == 4
    x = images.permute(0, 3, 1, 2).float().div(255.0) if colour else images.unsqueeze(1).float().div(255.0)
    augmenter = Augmenter(aug, x.device, seed)
    rows = [x] + [augmenter(x) for _ in range(copies)]
    grid = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1)  # (C, rows * H, n * W)
    grid = grid.permute(1, 2, 0) if colour else grid[0]
    return grid.mul(255.0).round().clamp(0, 255).to(torch.uint8)


# ---------------------------------------------------------------- the lesson: the gap between training and validation

GAP_POINTS = 3.0  # a training accuracy this many points above the validation accuracy is called overfitting
OVERFITTING = N_(
    "Training accuracy {train:.1%}, validation accuracy {val:.1%}: the model does {points:.1f} points better on the "
    "images it trained on than on images it has not seen. That gap is overfitting: it has partly learned these "
    "particular images by heart instead of what makes each class. More training images, data augmentation or "
    "weight decay narrow it."
)
NO_OVERFITTING = N_(
    "Training accuracy {train:.1%}, validation accuracy {val:.1%}: only {points:.1f} points apart, so the model "
    "does about as well on images it has not seen. Little overfitting."
)


def generalization_gap(train: list, val: list) -> tuple[str, dict] | None:
    """One sentence (English template, kwargs) naming the gap between the last epoch's training accuracy (the mean
    of its curve points; on augmented images when augmentation is on) and the validation accuracy at its end.
    ``train`` and ``val`` are a run's curve rows [step, epoch, loss, accuracy]; None without both."""
    if not train or not val:
        return None
    last = math.ceil(float(train[-1][1]) - 1e-9)
    rows = [r for r in train if float(r[1]) > last - 1] or train[-1:]
    tr = sum(float(r[3]) for r in rows) / len(rows)
    va = float(val[-1][3])
    points = 100.0 * (tr - va)
    return (OVERFITTING if points >= GAP_POINTS else NO_OVERFITTING), {"train": tr, "val": va, "points": points}
