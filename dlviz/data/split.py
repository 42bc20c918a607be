"""The splits every page, the runner and the CLI use (their defaults: :mod:`dlviz.defaults`, the one
source of truth), and label statistics.

* A text dataset's held-out test part: :func:`stratified_split` with :data:`TEST_FRACTION` and
  :data:`SPLIT_SEED` (image datasets come with their own test files).
* The validation part of the training part: :func:`split_indices` with :data:`VAL_FRACTION` and
  :data:`SPLIT_SEED`, as the course's ``train_test_split(..., test_size=0.2, random_state=42)``.
  A run may choose another validation share (the Train page, ``--val-fraction``); the seed is fixed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dlviz.defaults import SPLIT_SEED, TEST_FRACTION, VAL_FRACTION
from dlviz.errors import DataError

__all__ = [
    "SPLIT_SEED",
    "TEST_FRACTION",
    "VAL_FRACTION",
    "class_counts",
    "deduplicate",
    "image_key",
    "normalize_text",
    "seen_in",
    "split_indices",
    "split_report",
    "stratified_split",
    "val_fraction_of",
]

MAX_VAL_FRACTION = 0.9


def val_fraction_of(settings: Mapping | None) -> float:
    """The validation share that ``settings`` (the Train page's recipe, a saved run's settings) choose:
    their ``val_fraction``, else :data:`VAL_FRACTION`. The Data page shows the split the Train page uses."""
    try:
        return float((settings or {}).get("val_fraction", VAL_FRACTION))
    except (TypeError, ValueError, AttributeError):
        return VAL_FRACTION


def split_indices(
    n: int, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
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


def stratified_split(
    labels: torch.Tensor | np.ndarray | Sequence[int], test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train_idx, test_idx): a seeded split holding out ``round(n_c * test_fraction)`` of each class.

    Half rounds up; each class keeps at least one example in training. Both index tensors are in
    a seeded shuffled order (so the first sentences shown mix the classes). A private generator:
    the global RNG is neither used nor disturbed.
    """
    y = (labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)).reshape(-1)
    g = torch.Generator().manual_seed(int(seed))

    def shuffled(a: np.ndarray) -> np.ndarray:
        # NumPy indexing: torch's advanced indexing took ~20 ms per 5k-element call here
        return a[torch.randperm(len(a), generator=g).numpy()]

    train_parts, test_parts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for c in np.unique(y).tolist():
        members = shuffled(np.flatnonzero(y == c))
        n_test = min(math.floor(len(members) * test_fraction + 0.5), len(members) - 1)
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    train = shuffled(np.concatenate(train_parts).astype(np.int64))
    test = shuffled(np.concatenate(test_parts).astype(np.int64))
    return torch.from_numpy(train), torch.from_numpy(test)


def class_counts(labels: torch.Tensor | np.ndarray | Sequence[int], num_classes: int) -> list[int]:
    """How many examples carry each label ``0 .. num_classes - 1``."""
    values = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
    values = values.reshape(-1).to(torch.int64)
    if values.numel() and (int(values.min()) < 0 or int(values.max()) >= num_classes):
        bad = int(values.min()) if int(values.min()) < 0 else int(values.max())
        raise DataError("The label {label} is outside the classes 0 to {last}.", label=bad, last=num_classes - 1)
    return torch.bincount(values, minlength=num_classes).tolist()


# --------------------------------------------------------------------------------------------
# Duplicates: a sentence in both the training and the test part tests memory, not generalisation


def normalize_text(text: str) -> str:
    """The form two texts are compared in: runs of whitespace made one space, ends stripped, case folded."""
    return " ".join(str(text).split()).casefold()


@dataclass(frozen=True)
class Dedup:
    """What :func:`deduplicate` kept: ``keep`` indices (in order) and what it removed.

    ``duplicates``: rows removed because an earlier row had the same normalised text and label.
    ``conflicting``: rows removed because their normalised text occurs with more than one label (every
    copy of such a text goes: which label is right cannot be told, and keeping one would keep the text
    on both sides of a split-free comparison).
    """

    keep: np.ndarray
    duplicates: int
    conflicting: int
    conflicting_texts: int


def deduplicate(texts: Sequence[str], labels: Sequence[int] | np.ndarray) -> Dedup:
    """Exact duplicates after :func:`normalize_text`: the first copy of each text is kept; a text
    carrying different labels is dropped altogether."""
    y = np.asarray(labels).reshape(-1)
    first: dict[str, int] = {}
    label_of: dict[str, set] = {}
    for i, text in enumerate(texts):
        key = normalize_text(text)
        if key not in first:
            first[key] = i
            label_of[key] = {int(y[i])}
        else:
            label_of[key].add(int(y[i]))
    conflicted = {k for k, v in label_of.items() if len(v) > 1}
    keep = np.fromiter(sorted(i for k, i in first.items() if k not in conflicted), dtype=np.int64)
    n_conflicting = 0
    if conflicted:
        n_conflicting = sum(1 for t in texts if normalize_text(t) in conflicted)
    duplicates = len(y) - len(keep) - n_conflicting
    return Dedup(keep, duplicates, n_conflicting, len(conflicted))


def seen_in(items: Sequence, reference: Sequence, key=normalize_text) -> int:
    """How many of ``items`` also occur in ``reference`` (compared by ``key``)."""
    ref = {key(r) for r in reference}
    return sum(1 for it in items if key(it) in ref)


def image_key(image) -> bytes:
    """An image's exact bytes (a uint8 array or tensor), as a short digest."""
    import hashlib

    a = image.numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    return hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest()


def split_report(data, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED) -> dict:
    """The counts a run trains, validates and tests on, and the overlaps that would inflate its scores.

    ``train`` and ``validation`` are the training part split as every run splits it (``split_indices``
    with ``val_fraction`` and ``seed``); ``test`` the held-out part. ``test_seen_in_train``: test items
    whose ``data.item_key`` (a text's normalised form, an image's exact bytes) also occurs in the training part
    (validation included); ``validation_seen_in_train``: validation items that also occur among the
    training items proper (recipes are chosen on validation). Text data also says how many duplicate
    rows were removed before the split.
    """
    train_idx, val_idx = split_indices(len(data.train_y), val_fraction, seed=seed)
    train_items, test_items, key = data.train_items, data.test_items, data.item_key
    train_keys = [key(item) for item in train_items]
    every_train = set(train_keys)
    test_seen = sum(1 for item in test_items if key(item) in every_train)
    proper = {train_keys[i] for i in train_idx.tolist()}
    val_seen = sum(1 for i in val_idx.tolist() if train_keys[i] in proper)
    return {
        "dataset": data.info.key,
        "kind": data.kind,
        "source": data.source,
        "train": len(train_idx),
        "validation": len(val_idx),
        "test": len(data.test_y),
        "test_seen_in_train": test_seen,
        "validation_seen_in_train": val_seen,
        "duplicates_removed": int(getattr(data, "duplicates_removed", 0)),
        "conflicting_removed": int(getattr(data, "conflicting_removed", 0)),
        "subset": bool(getattr(data, "subset", False)),
    }
