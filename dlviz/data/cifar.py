"""CIFAR-10, the binary version only: ``cifar-10-binary.tar.gz`` -> ``cifar-10-batches-bin/``.

The authors' page (https://www.cs.toronto.edu/~kriz/cifar.html) describes the format: each of
``data_batch_1.bin`` ... ``data_batch_5.bin`` (training) and ``test_batch.bin`` (test) is a run of
3,073-byte records, one label byte (0-9) then 3,072 pixel bytes: the 1,024 red values of the 32x32
image row by row, then the 1,024 green, then the 1,024 blue. ``batches.meta.txt`` names the classes.

The *Python* version (``cifar-10-python.tar.gz``, folder ``cifar-10-batches-py``) is pickled, and
unpickling a file can run any code in it, so dlviz never reads it: a folder or archive that holds it is
refused with a sentence that says which file to get instead.

Sources, in the order every dataset shares (:mod:`dlviz.data.sources`):

1. ``folder``   the folder the user names: the extracted ``cifar-10-batches-bin`` itself, a folder that
                holds it (or ``cifar10/``), or the ``cifar-10-binary.tar.gz`` there; or the archive's own
                path. An archive is extracted into the cache, safely: only the seven known member names
                are read, as regular files of bounded size, written under fixed names (never the names in
                the archive); an archive with a member that points outside its folder is refused whole.
2. ``cache``    ``<home>/data/cifar10/`` (the seven files, as the archive holds them).
3. ``download`` the authors' archive, checked against the md5 their page publishes, then extracted.

Images are kept (N, 32, 32, 3) uint8, height x width x RGB, as a picture is drawn; the image modality
turns a batch into (B, 3, 32, 32) floats in [0, 1] for a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from dlviz.data.download import DownloadError, ProgressBar, ProgressFn, fetch_first, prepare_cache
from dlviz.data.images import ImageData
from dlviz.data.registry import DatasetInfo
from dlviz.data.sources import (
    NO_FILES_NOTICE,
    Request,
    Sources,
    cache_folder,
    check_folder,
    copy_into_cache,
    discard,
)
from dlviz.errors import DataError

SIDE = 32
PIXELS = 3 * SIDE * SIDE  # 3,072 bytes: the red plane, then the green, then the blue
RECORD = 1 + PIXELS  # one label byte and the pixels
BATCH_RECORDS = 10_000  # each published batch file holds this many images
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
META_FILE = "batches.meta.txt"
FOLDER = "cifar-10-batches-bin"  # what the archive extracts to
PICKLED_FOLDER = "cifar-10-batches-py"  # the pickled Python version: never read
ARCHIVE = "cifar-10-binary.tar.gz"
PICKLED_ARCHIVE = "cifar-10-python.tar.gz"
PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
URL = "https://www.cs.toronto.edu/~kriz/" + ARCHIVE
ARCHIVE_BYTES = 170_052_171  # the published archive's size (for the download's progress bar)
META_MOST = 4096  # batches.meta.txt is 10 short lines
_PICKLE_NAMES = ("data_batch_1", "test_batch", "batches.meta")  # the pickled version's files (no suffix)


def _files(info: DatasetInfo) -> tuple[str, ...]:
    return info.files  # TRAIN_FILES + (TEST_FILE,)


# --------------------------------------------------------------------------------------------
# Reading one batch file


def decode_records(raw: bytes | memoryview, path: str, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 32, 32, 3) uint8, labels (n,) uint8) from the bytes of one binary batch file.

    A DataError names the problem: not a whole number of records (cut short, or not a CIFAR-10 binary
    file), a pickled batch, or a label outside 0-9."""
    size = len(raw)
    if size >= 2 and bytes(raw[:1]) == b"\x80" and 2 <= raw[1] <= 5:
        raise _pickled(path)
    if size == 0 or size % RECORD:
        raise DataError(
            "The file {path} is {size} bytes, not a whole number of CIFAR-10 records (3,073 bytes each: one label "
            "byte, then 3,072 pixel bytes): it is cut short or not a CIFAR-10 binary batch. Get the binary "
            "version again.",
            path=path,
            size=f"{size:,}",
        )
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = table[:, 0].copy()
    if len(labels) and int(labels.max()) >= num_classes:
        raise DataError(
            "The file {path} contains the label {label}, but CIFAR-10 only has the labels 0 to {last}: it is not "
            "a CIFAR-10 binary batch.",
            path=path,
            label=int(labels.max()),
            last=num_classes - 1,
        )
    # (n, 3, 32, 32): the red plane, then the green, then the blue, each row by row -> (n, 32, 32, 3)
    images = np.ascontiguousarray(table[:, 1:].reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1))
    return images, labels


def encode_records(images: np.ndarray, labels: Sequence[int]) -> bytes:
    """The binary batch format of ``images`` ((n, 32, 32, 3) uint8, RGB) and ``labels``: what
    :func:`decode_records` reads (tests write small files with it)."""
    a = np.asarray(images, dtype=np.uint8)
    if a.ndim != 4 or a.shape[1:] != (SIDE, SIDE, 3):
        raise ValueError(f"images must be (n, 32, 32, 3), not {a.shape}")
    planes = a.transpose(0, 3, 1, 2).reshape(len(a), PIXELS)
    table = np.concatenate([np.asarray(labels, dtype=np.uint8).reshape(-1, 1), planes], axis=1)
    return table.tobytes()


def _pickled(where: str) -> DataError:
    return DataError(
        "{where} holds the Python version of CIFAR-10 (pickled files). dlviz does not open pickled files, because "
        "opening one can run any code hidden in it. Download the binary version instead, {archive}, from {url}.",
        where=where,
        archive=ARCHIVE,
        url=PAGE,
    )


@lru_cache(maxsize=8)
def _read_cached(path: str, size: int, mtime_ns: int, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    # size and mtime are part of the key so that a replaced file is read again
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(
            "The file {path} could not be read ({reason}).", path=path, reason=exc.strerror or str(exc)
        ) from None
    return decode_records(raw, path, num_classes)


def read_batch(path: str | Path, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file: (images (n, 32, 32, 3) uint8, labels (n,) uint8); see :func:`decode_records`."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        raise DataError("The file {path} does not exist.", path=str(path)) from None
    if stat.st_size > BATCH_RECORDS * RECORD * 6:
        raise DataError(
            "The file {path} is {size} bytes, larger than all of CIFAR-10: it is not a CIFAR-10 binary batch.",
            path=str(path),
            size=f"{stat.st_size:,}",
        )
    return _read_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns, num_classes)


def read_classes(path: Path) -> list[str]:
    """The class names of ``batches.meta.txt`` (one a line, blank lines dropped)."""
    try:
        text = path.read_bytes()[:META_MOST].decode("ascii", errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_folder(info: DatasetInfo, folder: Path) -> tuple[torch.Tensor, ...]:
    """(train_x, train_y, test_x, test_y) from the six batch files in ``folder``, checked."""
    parts = [read_batch(folder / name, info.num_classes) for name in _files(info)]
    meta = folder / META_FILE
    if meta.is_file():
        names = read_classes(meta)
        if names and [n.lower() for n in names] != [c.lower() for c in info.classes]:
            raise DataError(
                "The file {path} names the classes {names}, but CIFAR-10's are {classes}: this folder holds "
                "another dataset (CIFAR-100?).",
                path=str(meta),
                names=", ".join(names),
                classes=", ".join(info.classes),
            )
    train_x = np.concatenate([p[0] for p in parts[:-1]])
    train_y = np.concatenate([p[1] for p in parts[:-1]])
    test_x, test_y = parts[-1]
    return (
        torch.from_numpy(train_x),
        torch.from_numpy(train_y.astype(np.int64)),
        torch.from_numpy(test_x),
        torch.from_numpy(test_y.astype(np.int64)),
    )


def _assemble(info: DatasetInfo, folder: Path, source: str, detail: str, **extra) -> ImageData:
    train_x, train_y, test_x, test_y = read_folder(info, folder)
    full = len(train_y) == info.n_train and len(test_y) == info.n_test
    return ImageData(info, train_x, train_y, test_x, test_y, source, detail, subset=not full, **extra)


# --------------------------------------------------------------------------------------------
# The archive, extracted safely


def _member_name(member: tarfile.TarInfo, archive: Path) -> str | None:
    """The known file ``member`` is (``data_batch_1.bin`` ...), None for anything else; a DataError for a
    name that points outside the archive's folder (absolute, or with ``..``) or a pickled member."""
    name = member.name.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise DataError(
            "The archive {archive} holds a file named {member}, which points outside the folder it extracts to. "
            "dlviz extracts nothing from it: get {name} again from {url}.",
            archive=str(archive),
            member=member.name,
            name=ARCHIVE,
            url=PAGE,
        )
    base = parts[-1] if parts else ""
    if PICKLED_FOLDER in parts or (base in _PICKLE_NAMES and len(parts) > 1 and parts[-2] == PICKLED_FOLDER):
        raise _pickled(str(archive))
    if base not in (*TRAIN_FILES, TEST_FILE, META_FILE):
        return None
    return base


def extract_archive(info: DatasetInfo, archive: Path, target: Path, progress: ProgressFn | None = None) -> None:
    """The six batch files and ``batches.meta.txt`` of ``archive`` (the binary version's tar.gz) into
    ``target``, each checked and written under its own name, whatever the archive calls the folder. Links and other
    non-files are not followed; a member larger than a batch file, or named outside the archive's folder, refuses
    the whole archive; one without every batch file is a DataError naming the missing ones. Everything is written
    into a staging folder first and moved into ``target`` only when the whole archive passed: a refused archive
    leaves ``target`` as it was."""
    wanted = set(_files(info))
    found: set[str] = set()
    try:
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=target))
    except OSError as exc:
        raise DataError(
            "Cannot write to the cache folder ({reasons}). Set DLVIZ_HOME to a folder you can write to.",
            reasons=f"{target}: {exc.strerror or exc}",
        ) from None
    done = 0
    total = BATCH_RECORDS * RECORD * len(wanted)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = _member_name(member, archive)
                if name is None or not member.isfile():
                    continue  # a link named like a batch file is never followed
                most = META_MOST if name == META_FILE else BATCH_RECORDS * RECORD
                if member.size > most or (name != META_FILE and member.size % RECORD):
                    raise DataError(
                        "The archive {archive} holds {member} of {size} bytes, which no CIFAR-10 binary batch is: "
                        "the archive is damaged or not the binary version. Get it again from {url}.",
                        archive=str(archive),
                        member=member.name,
                        size=f"{member.size:,}",
                        url=PAGE,
                    )
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                part = staging / name  # our own name, in our own folder: never the archive's path
                written = 0
                with handle, part.open("wb") as out:
                    while block := handle.read(1 << 20):
                        written += len(block)
                        if written > most:  # never trust the header alone
                            raise DataError(
                                "The archive {archive} holds {member} of {size} bytes, which no CIFAR-10 binary "
                                "batch is: the archive is damaged or not the binary version. Get it again from {url}.",
                                archive=str(archive),
                                member=member.name,
                                size=f"> {most:,}",
                                url=PAGE,
                            )
                        out.write(block)
                        if progress is not None and name != META_FILE:
                            progress(min(1.0, (done + written) / total), f"{ARCHIVE}  {name}")
                done += written
                if name != META_FILE:
                    decode_records(part.read_bytes(), f"{archive}: {member.name}", info.num_classes)
                found.add(name)
        missing = sorted(wanted - found)
        if missing:
            raise DataError(
                "The archive {archive} does not hold {missing}: it is not the binary version of CIFAR-10 ({name}).",
                archive=str(archive),
                missing=", ".join(missing),
                name=ARCHIVE,
            )
        for name in sorted(found):  # the whole archive passed: now into place
            os.replace(staging / name, target / name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(
            "The archive {archive} could not be read ({reason}): it is damaged or cut short. Get {name} again "
            "from {url}.",
            archive=str(archive),
            reason=str(exc) or type(exc).__name__,
            name=ARCHIVE,
            url=PAGE,
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Sources


def _holds_batches(folder: Path, info: DatasetInfo) -> bool:
    return any((folder / name).is_file() for name in _files(info))


def _refuse_pickled(folder: Path) -> None:
    for where in (folder, folder / PICKLED_FOLDER):
        if where.is_dir() and any((where / n).is_file() for n in _PICKLE_NAMES):
            raise _pickled(str(where))
    if (folder / PICKLED_ARCHIVE).is_file() and not (folder / ARCHIVE).is_file():
        raise _pickled(str(folder / PICKLED_ARCHIVE))


def _complete(folder: Path, info: DatasetInfo) -> Path:
    """``folder`` if it holds every batch file; a DataError naming the missing ones otherwise."""
    missing = [name for name in _files(info) if not (folder / name).is_file()]
    if missing:
        raise DataError(
            "The folder {folder} has some CIFAR-10 files but not {missing}. Put all six batch files there "
            "(the {extracted} folder of {archive}): {files}.",
            folder=str(folder),
            missing=", ".join(missing),
            extracted=FOLDER,
            archive=ARCHIVE,
            files=", ".join(_files(info)),
        )
    return folder


class _BinaryBatches(Sources[ImageData]):
    """CIFAR-10's binary batch files, from each source (``home``: where an archive the user names is extracted)."""

    def __init__(self, home: str | Path | None = None):
        self.home = home

    def from_folder(self, info: DatasetInfo, folder: Path) -> tuple[ImageData | None, tuple[str, dict] | None]:
        folder = folder.expanduser()
        if folder.is_file() and folder.name.endswith((".tar.gz", ".tgz")):
            if folder.name == PICKLED_ARCHIVE:
                raise _pickled(str(folder))
            return self._from_archive(info, folder, folder), None
        folder = check_folder(folder, info)
        for candidate in (folder, folder / FOLDER, folder / info.key, folder / info.key / FOLDER):
            if candidate.is_dir():
                _refuse_pickled(candidate)
                if _holds_batches(candidate, info):
                    return _assemble(info, _complete(candidate, info), "folder", str(candidate)), None
        for candidate in (folder, folder / info.key):
            if (candidate / ARCHIVE).is_file():
                return self._from_archive(info, candidate / ARCHIVE, candidate / ARCHIVE), None
        return None, (NO_FILES_NOTICE, {"folder": str(folder), "name": info.name, "files": f"{FOLDER}/, {ARCHIVE}"})

    def _from_archive(self, info: DatasetInfo, archive: Path, detail: Path) -> ImageData:
        """The user's archive, extracted into the cache (once: a cache that already holds it is read)."""
        cache = cache_folder(info, self.home)
        try:
            stat = archive.stat()
            stamp = {"archive": str(archive.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        except OSError:
            stamp = None
        marker = cache / ".archive.json"
        if self.from_cache(info, cache) is None or stamp is None or _read_json(marker) != stamp:
            extract_archive(info, archive, cache)  # a new or changed archive replaces what the cache held
            try:
                marker.write_text(json.dumps(stamp), encoding="utf-8")
            except OSError:
                pass  # it is extracted again next time
        return _assemble(info, cache, "folder", str(detail))

    def keep(self, info: DatasetInfo, data: ImageData, cache: Path) -> None:
        """A complete published copy read from the user's folder is copied into the cache (an archive already
        was extracted there); a user's own smaller subset stays where it is."""
        folder = Path(data.source_detail)
        if data.subset or not folder.is_dir() or folder == cache:
            return
        copy_into_cache(
            (folder / name, cache / name) for name in (*_files(info), META_FILE) if (folder / name).is_file()
        )

    def from_cache(self, info: DatasetInfo, cache: Path) -> ImageData | None:
        if not all((cache / name).is_file() for name in _files(info)):
            return None
        try:
            return _assemble(info, cache, "cache", str(cache))
        except DataError:
            for name in _files(info):  # a damaged download: fetched again
                discard(cache / name)
            return None

    def download(self, info: DatasetInfo, cache: Path, mirrors: Sequence[str], progress: ProgressFn | None) -> str:
        mirrors = prepare_cache(info, cache, mirrors)
        bar = ProgressBar(progress, [ARCHIVE_BYTES, ARCHIVE_BYTES * 0.1])
        expected = info.md5.get(ARCHIVE)

        def verified(part: Path) -> str | None:
            digest = md5_of(part)
            if expected and digest != expected:
                return f"checksum mismatch ({digest}, expected {expected})"
            extract_archive(info, part, cache, lambda f, text: bar.report(1, f, text))
            bar.report(1, 1.0, ARCHIVE, force=True)
            return None

        return fetch_first(mirrors, ARCHIVE, cache, verified, bar, 0)

    def unchecked(self, info: DatasetInfo, cache: Path) -> str:
        return ", ".join(name for name in _files(info) if not (cache / name).is_file()) or str(cache)

    def downloaded(self, data: ImageData, detail: str) -> ImageData:
        return replace(data, source="download", source_detail=detail + ARCHIVE)

    def noted(self, data: ImageData, notice: tuple[str, dict]) -> ImageData:
        return replace(data, notice=notice)

    def nothing(self, info: DatasetInfo, cache: Path, failure: DownloadError | None) -> DataError:
        where = {"archive": ARCHIVE, "url": URL, "folder": FOLDER, "cache": str(cache)}
        if failure is None:
            return DataError(
                "CIFAR-10 is not on this machine and downloads are switched off: download the binary version, "
                "{archive} (162 MB), from {url}, and name the folder that holds it (or the {folder} folder "
                "extracted from it) as the data folder (--data-dir, or DLVIZ_DATA_DIR); or put it in {cache}.",
                **where,
            )
        return DataError(
            "CIFAR-10 is not on this machine and the download failed ({reason}): download the binary version, "
            "{archive} (162 MB), from {url}, and name the folder that holds it (or the {folder} folder "
            "extracted from it) as the data folder (--data-dir, or DLVIZ_DATA_DIR); or put it in {cache}.",
            reason=failure.reasons,
            **where,
        )


def load_cifar(info: DatasetInfo, request: Request = Request(), **_options) -> ImageData:
    """CIFAR-10 (binary version) from the first source that has it; see the module's docstring."""
    return _BinaryBatches(request.home).load(info, request)
