"""Train/validation index splits and label statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from dlviz.errors import DataError

MAX_VAL_FRACTION = 0.9


def split_indices(n: int, val_fraction: float = 0.2, seed: int = 42) -> tuple[torch.Tensor, torch.Tensor]:
    """(train_idx, val_idx): a seeded random split of ``range(n)``, both sorted, int64.

    20% validation by default, as in the course material. The same ``n``, ``val_fraction``
    and ``seed`` always give the same split (a private ``torch.Generator``, so the global RNG
    is neither used nor disturbed). At least one index stays in training when ``n > 0``.
    """
    try:
        fraction = float(val_fraction)
    except (TypeError, ValueError):
        fraction = math.nan
    if not 0.0 <= fraction <= MAX_VAL_FRACTION:  # also rejects NaN
        raise DataError(
            "The validation share must be between 0 and {max}; got {value}.",
            max=MAX_VAL_FRACTION,
            value=val_fraction,
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DataError("The number of examples to split must be a whole number of 0 or more; got {value}.", value=n)
    n = int(n)
    # Half rounds up (Python's round() would send 2.5 to 2 but 3.5 to 4).
    n_val = min(math.floor(n * fraction + 0.5), max(n - 1, 0))
    generator = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=generator)
    val_idx, _ = torch.sort(perm[:n_val])
    train_idx, _ = torch.sort(perm[n_val:])
    return train_idx, val_idx


def class_counts(labels: torch.Tensor | np.ndarray | Sequence[int], num_classes: int) -> list[int]:
    """How many examples carry each label ``0 .. num_classes - 1``."""
    values = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
    values = values.reshape(-1).to(torch.int64)
    if values.numel() and (int(values.min()) < 0 or int(values.max()) >= num_classes):
        bad = int(values.min()) if int(values.min()) < 0 else int(values.max())
        raise DataError(
            "The label {label} is outside the classes 0 to {last}.", label=bad, last=num_classes - 1
        )
    return torch.bincount(values, minlength=num_classes).tolist()
