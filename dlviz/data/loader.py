"""Load any dataset by name: ``load_dataset("mnist")``, ``load_dataset("rt-polarity")``, ``load_dataset("csv-...")``.

The one entry point the app, the runner and the CLI use. :func:`get_info` finds the registry entry (or a
user's kept CSV); :func:`load_dataset` hands it to the loader of its kind (``DatasetInfo.kind``, the
modality's name: see :mod:`dlviz.modality`): :func:`dlviz.data.images.load_image_dataset` for IDX image
files, :func:`dlviz.data.text.load_text_dataset` for sentence files; a kept CSV is read by
:func:`dlviz.data.user_csv.load_csv`. The sources every kind shares (the named folder, the cache, the
offline switch, one lock per dataset) are in :mod:`dlviz.data.sources`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from dlviz.data.cifar import load_cifar
from dlviz.data.download import ProgressFn
from dlviz.data.images import ImageData, load_image_dataset
from dlviz.data.registry import DatasetInfo, registered
from dlviz.data.sources import Request, Source, cache_folder, dlviz_home, downloads_allowed
from dlviz.data.text import TextData, load_text_dataset
from dlviz.data.user_csv import is_csv_name, load_csv


def _load_images(info: DatasetInfo, request: Request, **options) -> ImageData:
    """An image dataset in its own file format: MNIST's IDX files, or CIFAR-10's binary batches."""
    return (load_cifar if info.format == "cifar-bin" else load_image_dataset)(info, request, **options)


#: the loader of each kind of data (``DatasetInfo.kind``); a new modality adds its own
LOADERS: dict[str, Callable[..., ImageData | TextData]] = {"image": _load_images, "text": load_text_dataset}


def get_info(name: str) -> DatasetInfo:
    """The registry entry for ``name`` (case-insensitive), a user's kept CSV (``csv-<hash>``), or a
    DataError listing the choices."""
    key = str(name).strip().lower().replace("_", "-")
    if is_csv_name(key):
        return load_csv(key).info  # a user's CSV kept in the home folder
    return registered(name)


def cache_dir(name: str, home: str | Path | None = None) -> Path:
    """Where downloads of dataset ``name`` are kept: ``<home>/data/<key>/``."""
    return cache_folder(get_info(name), home)


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    home: str | Path | None = None,
    allow_download: bool | None = None,
    progress: ProgressFn | None = None,
    mirrors: Sequence[str] | None = None,
    max_len: int | None = None,
    max_vocab: int | None = None,
) -> ImageData | TextData:
    """Dataset ``name`` ("mnist", "fashion-mnist", "rt-polarity", "zh-reviews", "csv-...") from the first
    source that has it.

    ``data_dir`` (else ``DLVIZ_DATA_DIR``) names a folder holding the dataset's files, directly or in a
    subfolder named after it (images also in torchvision's ``<dir>/MNIST/raw/``). ``allow_download`` True or
    False overrides ``DLVIZ_OFFLINE``; ``progress(fraction, text)`` follows a download; ``mirrors`` replaces
    the registry's mirror list. Every failure is a :class:`DataError`.

    Text datasets return a :class:`dlviz.data.text.TextData`, tokenised and pre-padded to ``max_len``
    (default ``info.max_len``) with a vocabulary of at most ``max_vocab`` ids (default 10,000) built from
    the training part; ``max_len`` and ``max_vocab`` are ignored for images.
    """
    info = get_info(name)
    if is_csv_name(info.key):
        return load_csv(info.key, home, max_len=max_len, max_vocab=max_vocab)
    request = Request(data_dir, home, allow_download, progress, mirrors)
    return LOADERS[info.kind](info, request, max_len=max_len, max_vocab=max_vocab)


__all__ = [
    "LOADERS",
    "ImageData",
    "Source",
    "TextData",
    "cache_dir",
    "dlviz_home",
    "downloads_allowed",
    "get_info",
    "load_dataset",
]
