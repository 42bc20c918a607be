"""Fetch dataset files from their mirrors into the cache, verified and atomically.

Each file is streamed into a temporary ``*.part`` file inside the cache folder, its uncompressed
md5 is checked against the registry, and only then renamed into place (``os.replace`` is atomic
on one file system), so an interrupted or corrupt download never looks like a cached file.
A mirror that fails in any way (network, HTTP status, wrong checksum) is skipped for the next.
"""

from __future__ import annotations

import http.client
import json
import os
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from dlviz import __version__
from dlviz.data.idx import md5_uncompressed
from dlviz.data.registry import DatasetInfo
from dlviz.errors import DataError

T = TypeVar("T")
ProgressFn = Callable[[float, str], None]
"""``progress(fraction, text)``: fraction in [0, 1], never decreasing; ``text`` is language
neutral (host, file name, megabytes) so a UI can show it as is."""

TIMEOUT_S = 15.0
_CHUNK = 1 << 16
RETRY_AFTER_S = 600.0  # a download that failed is not tried again for 10 minutes (every page visit cost 6.5 s offline)


class DownloadError(DataError):
    """No mirror delivered a verified copy of a file. ``reasons`` lists each mirror's failure."""

    def __init__(self, template: str, reasons: str, **kwargs):
        self.reasons = reasons
        super().__init__(template, reasons=reasons, **kwargs)


class ProgressBar:
    """Maps per-file byte counts to one overall fraction, weighted by expected file size."""

    def __init__(self, callback: ProgressFn | None, weights: Sequence[float]):
        self.callback = callback
        total = sum(weights) or 1.0
        self.starts = [sum(weights[:i]) / total for i in range(len(weights))]
        self.shares = [w / total for w in weights]
        self.last = -1.0

    def report(self, index: int, fraction: float, text: str, force: bool = False) -> None:
        if self.callback is None:
            return
        overall = min(1.0, self.starts[index] + self.shares[index] * min(max(fraction, 0.0), 1.0))
        # Retrying on the next mirror must not move the bar backwards; tiny steps are dropped
        # so a UI redraws about 200 times per download, not once per 64 KiB.
        if overall < self.last + 0.005 and not force:
            return
        overall = max(overall, self.last)
        self.last = overall
        self.callback(overall, text)


def _expected_size(info: DatasetInfo, index: int) -> int:
    """Uncompressed size of ``info.files[index]`` (train images, train labels, test ...)."""
    count = info.n_train if index < 2 else info.n_test
    h, w = info.image_shape
    return count * h * w + 16 if index % 2 == 0 else count + 8


def _failure_file(cache_dir: Path) -> Path:
    """``<home>/data/.download-failed-<key>.json``: beside the dataset's cache folder, never inside it."""
    return cache_dir.parent / f".download-failed-{cache_dir.name}.json"


def remembered_failure(cache_dir: Path, mirrors: Sequence[str]) -> DownloadError | None:
    """The failure of a download from these ``mirrors`` less than ``RETRY_AFTER_S`` ago, else None.

    Kept on disk, so every page visit, session, training process and restart within the window
    skips the mirrors at once instead of waiting for them to fail again.
    """
    try:
        saved = json.loads(_failure_file(cache_dir).read_text(encoding="utf-8"))
        when, reasons, urls = float(saved["when"]), str(saved["reasons"]), list(saved["mirrors"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if urls != list(mirrors) or not 0 <= time.time() - when < RETRY_AFTER_S:
        return None
    err = DownloadError(
        "Could not download {file}; every mirror failed: {reasons}", reasons=reasons, file=cache_dir.name
    )
    err.failed_at = when
    return err


def remember_failure(cache_dir: Path, mirrors: Sequence[str], exc: DownloadError) -> None:
    exc.failed_at = getattr(exc, "failed_at", None) or time.time()
    path = _failure_file(cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps({"when": exc.failed_at, "reasons": exc.reasons, "mirrors": list(mirrors)}), encoding="utf-8"
        )
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: the next visit simply tries again


def forget_failure(cache_dir: Path) -> None:
    try:
        _failure_file(cache_dir).unlink(missing_ok=True)
    except OSError:
        pass


def retry_at(exc: DownloadError) -> float:
    """When (seconds since the epoch) a failed download is tried again."""
    return (getattr(exc, "failed_at", None) or time.time()) + RETRY_AFTER_S


def retry_time(exc: DownloadError) -> str:
    """The clock time (HH:MM, local) after which a failed download is tried again."""
    return time.strftime("%H:%M", time.localtime(retry_at(exc)))


def remembering(cache_dir: Path, mirrors: Sequence[str], download: Callable[[], T]) -> T:
    """``download()``, unless it failed from these ``mirrors`` less than ``RETRY_AFTER_S`` ago: then that
    failure is raised again at once (no new wait). A new failure is remembered, a success forgets it."""
    known = remembered_failure(cache_dir, mirrors)
    if known is not None:
        raise known
    try:
        result = download()
    except DownloadError as exc:
        remember_failure(cache_dir, mirrors, exc)
        raise
    forget_failure(cache_dir)
    return result


def prepare_cache(info: DatasetInfo, cache_dir: Path, mirrors: Sequence[str] | None) -> list[str]:
    """The mirrors to try (``mirrors``, else the registry's), once ``cache_dir`` exists; a DownloadError
    when it cannot be written or there is no mirror."""
    mirrors = list(info.mirrors if mirrors is None else mirrors)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            "Cannot write to the cache folder ({reasons}). Set DLVIZ_HOME to a folder you can write to.",
            reasons=f"{cache_dir}: {exc.strerror or exc}",
        ) from None
    if not mirrors:
        raise DownloadError("{name} has no download mirror configured.", reasons="no mirror configured", name=info.name)
    return mirrors


def fetch_first(
    mirrors: Sequence[str],
    file: str,
    cache_dir: Path,
    accept: Callable[[Path], str | None],
    bar: ProgressBar,
    slot: int = 0,
    timeout: float = TIMEOUT_S,
) -> str:
    """Fetch ``<mirror>/<file>`` from the first mirror that delivers it; returns that mirror.

    Each try streams into a ``.part`` file in ``cache_dir``; ``accept(part)`` checks it and moves what it
    keeps into place, returning None, or returns why the copy is refused (the next mirror is tried).
    Any network, HTTP, archive or data problem moves on to the next mirror too; when every mirror failed,
    a DownloadError lists each one's reason. ``bar`` follows the bytes (``slot``: which file of several).
    """
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + file
        label = f"{urllib.parse.urlsplit(url).netloc or url}  {file}"

        def on_bytes(done: int, total: int, label: str = label) -> None:
            text = f"{label}  {done / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{label}  {done / 1e6:.1f} MB"
            bar.report(slot, done / total if total else 0.0, text)

        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{file}.", suffix=".part", dir=cache_dir)
            os.close(fd)
        except OSError as exc:
            raise DownloadError(
                "Cannot write to the cache folder ({reasons}). Set DLVIZ_HOME to a folder you can write to.",
                reasons=f"{cache_dir}: {exc.strerror or exc}",
            ) from None
        tmp = Path(tmp_name)
        try:
            bar.report(slot, 0.0, label, force=slot == 0)
            _fetch(url, tmp, on_bytes, timeout)
            refused = accept(tmp)
        except (
            OSError,
            ValueError,
            EOFError,
            zlib.error,
            tarfile.TarError,
            http.client.HTTPException,
            DataError,
        ) as exc:
            # OSError covers URLError, timeouts and refused connections; ValueError a bad URL.
            failures.append(f"{url}: {_describe(exc)}")
            continue
        finally:
            tmp.unlink(missing_ok=True)
        if refused:
            failures.append(f"{url}: {refused}")
            continue
        bar.report(slot, 1.0, label, force=True)
        return mirror
    raise DownloadError(
        "Could not download {file}; every mirror failed: {reasons}", reasons="; ".join(failures), file=file
    )


def _describe(exc: BaseException) -> str:
    """A short technical reason for one failed mirror (kept in English: it is diagnostic)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, DataError):
        return exc.message("en")
    return str(exc) or type(exc).__name__


def _fetch(url: str, target: Path, on_bytes: Callable[[int, int], None], timeout: float) -> None:
    """Stream ``url`` into ``target``; raises on any network problem or short read."""
    request = urllib.request.Request(url, headers={"User-Agent": f"dlviz/{__version__}"})
    with urllib.request.urlopen(request, timeout=timeout) as response, target.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            on_bytes(done, total)
        if total and done != total:
            raise http.client.IncompleteRead(b"", total - done)


def download_files(
    info: DatasetInfo,
    names: Sequence[str],
    cache_dir: Path,
    *,
    mirrors: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    timeout: float = TIMEOUT_S,
) -> list[str]:
    """Download ``names`` (members of ``info.files``) into ``cache_dir`` as ``<name>.gz``.

    Returns the mirror base URLs that served the files. Raises :class:`DownloadError` when a
    file could not be fetched and verified from any mirror, or the cache is not writable.
    """
    mirrors = prepare_cache(info, cache_dir, mirrors)
    indices = [info.files.index(name) for name in names]
    bar = ProgressBar(progress, [_expected_size(info, i) for i in indices])
    used: list[str] = []
    for slot, name in enumerate(names):

        def verified(part: Path, name: str = name) -> str | None:
            digest = md5_uncompressed(part)
            if digest != info.md5.get(name, digest):
                return f"checksum mismatch ({digest})"
            os.replace(part, cache_dir / f"{name}.gz")
            return None

        used.append(fetch_first(mirrors, f"{name}.gz", cache_dir, verified, bar, slot, timeout))
    return list(dict.fromkeys(used))
