"""A model that cheats: MNIST with a planted shortcut, and how much of an explanation falls on it.

Every training image gets a small white mark (2 x 2 pixels) in its top-left corner at one of ten places, the
place its label names; every test image gets the mark at a place drawn at random. A network that learns the
mark instead of the digit is right on the training images and the validation split carved from them, and
often wrong on the test images, whose marks lie. Its explanations point at the mark: ``mark_share`` measures
the share of a map's mass that falls inside the mark's known box (the mark covers 4 of 784 pixels, 0.5%).
No streamlit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

MARK = 2  # the mark's side in pixels
TRAIN_IMAGES = 12000  # a shortcut shows within two epochs on this many; a smaller file to send to a child process


def mark_box(label: int) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1) of the mark for ``label``: two rows of five places in the top-left corner."""
    r, c = 1 + 3 * (int(label) // 5), 1 + 3 * (int(label) % 5)
    return r, r + MARK, c, c + MARK


def stamp(images: torch.Tensor, places) -> torch.Tensor:
    """A copy of uint8 ``images`` (N, 28, 28) with each one's mark at ``places[i]`` (a label 0-9)."""
    out = images.clone()
    for i, place in enumerate(torch.as_tensor(places).tolist()):
        r0, r1, c0, c1 = mark_box(place)
        out[i, r0:r1, c0:c1] = 255
    return out


def random_places(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed))


def shortcut_data(data, n_train: int = TRAIN_IMAGES, seed: int = 1):
    """``data`` (MNIST ImageData) with the shortcut planted: marks that tell the label on the first ``n_train``
    training images, marks at random places on the test images."""
    n = min(n_train, len(data.train_y))
    train_y = data.train_y[:n].clone()
    return dataclasses.replace(
        data,
        train_x=stamp(data.train_x[:n], train_y),
        train_y=train_y,
        test_x=stamp(data.test_x, random_places(len(data.test_y), seed)),
    )


def shortcut_image(data, index: int, seed: int = 1) -> tuple[torch.Tensor, int, int]:
    """Test image ``index`` with the mark of its own label (the training images' shortcut), as (1, 28, 28)
    floats in [0, 1], its label and the mark's place. What the cheating model sees when the mark tells it."""
    label = int(data.test_y[index])
    x = stamp(data.test_x[index : index + 1], [label])
    return x.float().div(255.0), label, label


def mark_share(attribution, place: int) -> float:
    """The share of the map's absolute mass inside the mark's box for ``place``: 1.0 when all of it is on the
    mark, 4/784 for a map spread evenly, 0.0 for none. A map with no mass at all scores 0."""
    a = np.abs(np.asarray(attribution, dtype=np.float64)).reshape(28, 28)
    total = float(a.sum())
    if total <= 0 or not np.isfinite(total):
        return 0.0
    r0, r1, c0, c1 = mark_box(place)
    return float(a[r0:r1, c0:c1].sum() / total)


CHANCE_SHARE = MARK * MARK / (28 * 28)
