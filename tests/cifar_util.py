"""A tiny CIFAR-10 in the real binary format, written by the tests: coloured squares on noise, the colour telling
the class (so that a small CNN learns it in an epoch or two)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

from dlviz.data.cifar import FOLDER, META_FILE, TEST_FILE, TRAIN_FILES, encode_records
from dlviz.data.registry import CIFAR10

COLOURS = np.array(
    [
        (230, 25, 75),
        (60, 180, 75),
        (255, 225, 25),
        (0, 130, 200),
        (245, 130, 48),
        (145, 30, 180),
        (70, 240, 240),
        (240, 50, 230),
        (250, 250, 250),
        (128, 128, 0),
    ],
    dtype=np.uint8,
)


def shapes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 32, 32, 3) uint8, labels (n,)): a square of the class's colour on dark noise, labels 0..9 in turn."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 60, size=(n, 32, 32, 3), dtype=np.uint8)
    for i, c in enumerate(labels):
        size = int(rng.integers(10, 18))
        top, left = (int(v) for v in rng.integers(0, 32 - size, size=2))
        images[i, top : top + size, left : left + size] = COLOURS[c]
    return images, labels


def write_cifar(folder: Path, n_train: int = 50, n_test: int = 20, seed: int = 0) -> Path:
    """``folder``/cifar-10-batches-bin/ with the five training batches (n_train / 5 images each), the test batch
    and batches.meta.txt; returns that folder."""
    out = Path(folder) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    x, y = shapes(n_train, seed)
    per = n_train // len(TRAIN_FILES)
    for k, name in enumerate(TRAIN_FILES):
        (out / name).write_bytes(encode_records(x[k * per : (k + 1) * per], y[k * per : (k + 1) * per]))
    tx, ty = shapes(n_test, seed + 1)
    (out / TEST_FILE).write_bytes(encode_records(tx, ty))
    (out / META_FILE).write_text("\n".join(CIFAR10.classes) + "\n\n", encoding="ascii")
    return out


def tar_of(folder: Path, archive: Path, extra: dict[str, bytes] | None = None) -> Path:
    """``archive`` (tar.gz) holding ``folder``'s files under cifar-10-batches-bin/, plus ``extra`` {name: bytes}
    members named as given (a traversal name, for instance)."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(Path(folder).iterdir()):
            tar.add(path, arcname=f"{FOLDER}/{path.name}")
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive
