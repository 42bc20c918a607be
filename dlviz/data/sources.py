"""What every dataset's sources share, whatever the modality (see DESIGN.md's "Data sources").

The order is the same for every dataset: the folder the user names (``data_dir`` or ``DLVIZ_DATA_DIR``),
dlviz's cache ``<home>/data/<key>/``, a system folder, a download into the cache (unless offline), and a
copy shipped in a Python package. This module holds the parts that do not depend on the file format:
where the home, cache and named folder are, whether downloads are allowed, one lock per dataset (two
sessions asking for the same missing files download them once), the checks on a named folder, keeping
a published copy read from it in the cache, the notices that say why a fuller source was passed over,
and :class:`LoadedData`, what every loaded dataset answers (its classes, where it came from). A small
bounded cache (:class:`Recent`) keeps parsed files per process.

The formats live in :mod:`dlviz.data.images` (IDX files) and :mod:`dlviz.data.text` (sentence files).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Generic, Literal, TypeVar

from dlviz.data.download import DownloadError, ProgressFn, remembering, retry_at, retry_time
from dlviz.data.registry import DatasetInfo
from dlviz.errors import DataError
from dlviz.i18n import N_
from dlviz.locks import KeyedLocks
from dlviz.paths import resolve_home

Source = Literal["folder", "cache", "system", "download", "package", "file"]
T = TypeVar("T")

OFFLINE_NOTICE = N_("Downloads are switched off (offline mode).")
DOWNLOAD_FAILED_NOTICE = N_(
    "The download failed (no internet connection, or the servers did not answer), so dlviz "
    "uses what it has; it tries again after {time}."
)
NO_FILES_NOTICE = N_("The folder {folder} has no {name} files ({files}), so {name} came from the next source.")

#: ``with dataset_lock(info.key):`` around a dataset's cache and download
dataset_lock = KeyedLocks()


def dlviz_home(home: str | Path | None = None) -> Path:
    """dlviz's own folder (not created: an unwritable home only means no cache)."""
    return resolve_home(home)


def cache_folder(info: DatasetInfo, home: str | Path | None = None) -> Path:
    """Where dataset ``info`` is cached: ``<home>/data/<key>/``."""
    return dlviz_home(home) / "data" / info.key


def downloads_allowed(allow_download: bool | None = None) -> bool:
    """An explicit ``allow_download`` wins; otherwise downloads are on unless ``DLVIZ_OFFLINE=1``."""
    if allow_download is not None:
        return bool(allow_download)
    return os.environ.get("DLVIZ_OFFLINE", "").strip().lower() not in {"1", "true", "yes", "on"}


def named_folder(data_dir: str | Path | None) -> str | None:
    """The folder the user named: ``data_dir`` when given (not empty), else ``DLVIZ_DATA_DIR``, else None."""
    folder = data_dir if data_dir is not None and str(data_dir) != "" else os.environ.get("DLVIZ_DATA_DIR")
    return str(folder) if folder else None


def check_folder(folder: Path, info: DatasetInfo) -> Path:
    """``folder`` (``~`` expanded) if it is a folder; a DataError that names the problem if it does not
    exist or is a file. A named folder is never skipped silently."""
    folder = folder.expanduser()
    if not folder.exists():
        raise DataError(
            "The folder {folder} does not exist. Check the path, or leave the data folder empty to "
            "use the cache or a download.",
            folder=str(folder),
        )
    if not folder.is_dir():
        raise DataError(
            "{folder} is a file, not a folder. Name the folder that holds {files}.",
            folder=str(folder),
            files=", ".join(info.files),
        )
    return folder


def no_files_notice(folder: str | Path, info: DatasetInfo) -> tuple[str, dict]:
    """The notice for a named folder without any file of ``info``: the next source was used."""
    return NO_FILES_NOTICE, {"folder": str(folder), "name": info.name, "files": ", ".join(info.files)}


def failure_notice(failure: DownloadError | None) -> tuple[str, dict]:
    """Why a fuller source was not used: downloads are off (``failure`` None), or the download failed."""
    if failure is None:
        return OFFLINE_NOTICE, {}
    return DOWNLOAD_FAILED_NOTICE, {
        "reason": failure.reasons,
        "time": retry_time(failure),
        "retry_at": retry_at(failure),
    }


def copy_into_cache(pairs: Iterable[tuple[Path, Path]]) -> None:
    """Copy each (source, target) whose target is missing, atomically (a ``.part`` file renamed into
    place). Best effort: a read-only home only means no copy."""
    try:
        for src, dst in pairs:
            if dst.is_file():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.part")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
    except OSError:
        pass


def discard(path: Path) -> None:
    """Delete a damaged file of dlviz's own cache (it is fetched again); a read-only cache keeps it."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


@dataclass(frozen=True)
class Request:
    """Where a dataset may come from, as :func:`dlviz.data.loader.load_dataset` was asked: the folder the
    user named (else ``DLVIZ_DATA_DIR``), dlviz's home (else ``DLVIZ_HOME``), whether downloads are allowed
    (else ``DLVIZ_OFFLINE``), a progress callback for a download and mirrors replacing the registry's."""

    data_dir: str | Path | None = None
    home: str | Path | None = None
    allow_download: bool | None = None
    progress: ProgressFn | None = None
    mirrors: Sequence[str] | None = None


class Sources(Generic[T]):
    """The sources of one file format, tried by :meth:`load` in the order every dataset shares.

    A format overrides the steps it has (each returns None when it has nothing): :meth:`from_folder` (the
    named folder), :meth:`keep` (a published copy from it into the cache), :meth:`from_cache`,
    :meth:`from_system`, :meth:`download` (into the cache, when ``downloads`` is True), :meth:`fallback`
    (a copy in a package) and :meth:`nothing` (the error when every source failed). ``T`` is what the
    steps give: the finished dataset, or a corpus still to be prepared.
    """

    downloads: ClassVar[bool] = True  # the format has mirrors to download from

    def from_folder(self, info: DatasetInfo, folder: Path) -> tuple[T | None, tuple[str, dict] | None]:
        """(what ``folder`` holds, None) or (None, the notice saying why it was passed over). A folder that
        does not exist, or holds a broken or partial copy, is a DataError: never skipped silently."""
        return None, no_files_notice(folder, info)

    def keep(self, info: DatasetInfo, data: T, cache: Path) -> None:
        """Copy a published copy read from the named folder into ``cache`` (best effort)."""

    def from_cache(self, info: DatasetInfo, cache: Path) -> T | None:
        return None

    def from_system(self, info: DatasetInfo) -> T | None:
        return None

    def download(self, info: DatasetInfo, cache: Path, mirrors: Sequence[str], progress: ProgressFn | None) -> str:
        """Fetch the files into ``cache``; where they came from (a DownloadError when every mirror failed)."""
        raise NotImplementedError

    def unchecked(self, info: DatasetInfo, cache: Path) -> str:
        """Why the downloaded files do not load (the reasons of a DownloadError)."""
        return str(cache)

    def downloaded(self, data: T, detail: str) -> T:
        """``data``, read from the cache just after a download from ``detail``, marked as downloaded."""
        raise NotImplementedError

    def noted(self, data: T, notice: tuple[str, dict]) -> T:
        """``data`` with ``notice`` (why the named folder was passed over) as the first thing it says."""
        raise NotImplementedError

    def fallback(self, info: DatasetInfo, notice: tuple[str, dict]) -> T | None:
        """The last source, a copy shipped in a package; ``notice`` says why a fuller source was not used."""
        return None

    def nothing(self, info: DatasetInfo, cache: Path, failure: DownloadError | None) -> DataError:
        """The error when no source had the dataset (``failure``: the download's, None when offline)."""
        raise NotImplementedError

    def load(self, info: DatasetInfo, request: Request) -> T:
        """``info`` from the first source that has it: the named folder, the cache, a system folder, a
        download into the cache (unless offline; a failure is remembered for ten minutes), the package."""
        cache = cache_folder(info, request.home)
        folder = named_folder(request.data_dir)
        passed_over: tuple[str, dict] | None = None
        if folder:
            data, passed_over = self.from_folder(info, Path(folder))
            if data is not None:
                self.keep(info, data, cache)
                return data
        data = self._from_local_or_download(info, cache, request)
        if data is None or isinstance(data, DownloadError):
            failure = data
            data = self.fallback(info, failure_notice(failure))
            if data is None:
                raise self.nothing(info, cache, failure)
        # the first thing to say: the folder the user named was passed over, and why
        return self.noted(data, passed_over) if passed_over else data

    def _from_local_or_download(self, info: DatasetInfo, cache: Path, request: Request) -> T | DownloadError | None:
        """The data from the cache, a system folder or a download; else the download's failure (None when
        downloads are off). One lock per dataset: two sessions download the same files once."""
        with dataset_lock(info.key):
            data = self.from_cache(info, cache)
            if data is None:
                data = self.from_system(info)
            if data is not None or not (self.downloads and downloads_allowed(request.allow_download)):
                return data
            mirrors = list(info.mirrors if request.mirrors is None else request.mirrors)
            try:
                detail = remembering(cache, mirrors, lambda: self.download(info, cache, mirrors, request.progress))
            except DownloadError as exc:
                return exc
            data = self.from_cache(info, cache)
            if data is None:
                return DownloadError(
                    "The downloaded {name} files failed their checks: {reasons}",
                    reasons=self.unchecked(info, cache),
                    name=info.name,
                )
            return self.downloaded(data, detail)


class LoadedData:
    """What every loaded dataset answers (mixed into :class:`~dlviz.data.images.ImageData` and
    :class:`~dlviz.data.text.TextData`, frozen dataclasses with ``info``, ``train_y``, ``test_y``,
    ``source`` and ``source_detail``).

    ``SOURCE_TEMPLATES`` maps each source to an English template saying where the data came from.
    """

    SOURCE_TEMPLATES: ClassVar[dict[str, str]]
    info: DatasetInfo

    @property
    def kind(self) -> str:
        """The modality's name (``info.kind``): "image", "text"."""
        return self.info.kind

    @property
    def classes(self) -> list[str]:
        return list(self.info.classes)

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    def source_label(self) -> tuple[str, dict]:
        """An English template and its kwargs saying where the data came from (translate it)."""
        kwargs = {
            "name": self.info.name,
            "path": self.source_detail,
            "url": self.source_detail,
            "n_train": f"{len(self.train_y):,}",
            "n_test": f"{len(self.test_y):,}",
        }
        template = self.SOURCE_TEMPLATES[self.source]
        return template, {k: v for k, v in kwargs.items() if "{" + k + "}" in template}


class Recent:
    """A small thread-safe cache that forgets the least recently used entry past ``size`` entries."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._guard = threading.Lock()

    def get(self, key):
        with self._guard:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value):
        with self._guard:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._guard:
            self._items.clear()
