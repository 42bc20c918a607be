"""IDX files (the MNIST / Fashion-MNIST container), plain or gzip-compressed.

Layout (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type byte, a byte with the number of
dimensions, then one big-endian uint32 per dimension, then the values in C order, big-endian.
MNIST's labels are ``00 00 08 01`` (2049, uint8, 1-D) and its images ``00 00 08 03`` (2051,
uint8, 3-D); the other type codes of the format are read too.

Whether a file is compressed is decided by its first bytes, not by its name: browsers often
un-gzip a download and keep the ``.gz`` name.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from pathlib import Path

import numpy as np

from dlviz.errors import DataError
from dlviz.limits import fmt_bytes, limits

GZIP_MAGIC = b"\x1f\x8b"

# IDX type byte -> big-endian dtype (the format stores every multi-byte value big-endian).
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_CODES: dict[str, int] = {dt.newbyteorder("=").str[1:]: code for code, dt in _IDX_DTYPES.items()}


class _Reader:
    """The file's bytes as a stream, un-gzipped on the fly when they are gzip: nothing is decompressed
    beyond what is read, so a small archive that would expand to gigabytes costs only what is asked of it.
    Every failure is a DataError naming the file."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.raw = path.open("rb")
        except FileNotFoundError:
            raise DataError("The file {path} does not exist.", path=str(path)) from None
        except IsADirectoryError:
            raise DataError("{path} is a folder, not a data file.", path=str(path)) from None
        except OSError as exc:
            raise self._unreadable(exc) from None
        try:
            self.compressed = self.raw.read(2) == GZIP_MAGIC
            self.raw.seek(0)
        except OSError as exc:
            self.raw.close()
            raise self._unreadable(exc) from None
        self.stream = gzip.GzipFile(fileobj=self.raw, mode="rb") if self.compressed else self.raw

    def _unreadable(self, exc: OSError) -> DataError:
        return DataError(
            "The file {path} could not be read ({reason}).", path=str(self.path), reason=exc.strerror or str(exc)
        )

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer at the end of the data)."""
        parts, left = [], n
        try:
            while left > 0:
                block = self.stream.read(min(left, 1 << 24))
                if not block:
                    break
                parts.append(block)
                left -= len(block)
        except (OSError, EOFError, zlib.error) as exc:
            if not self.compressed:
                raise self._unreadable(exc) from None
            # BadGzipFile is an OSError; a cut-off download ends in EOFError.
            raise DataError(
                "The file {path} is a damaged gzip archive ({reason}). Delete it and download it again.",
                path=str(self.path),
                reason=str(exc) or type(exc).__name__,
            ) from None
        return b"".join(parts)

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


def read_idx(path: str | Path, max_bytes: int | None = None) -> np.ndarray:
    """The array stored in an IDX file (plain or ``.gz``), in native byte order and writable.

    Every problem (missing, empty, not IDX, damaged gzip, truncated, extra bytes, larger than
    ``max_bytes``, by default the server's DLVIZ_MAX_IDX_MB) is a :class:`DataError` naming the file.
    The header's declared size is checked before the data is read, and a gzip file is decompressed
    as it is read: never more than the header announces, plus a bounded look for extra bytes.
    """
    path = Path(path)
    if max_bytes is None:
        max_bytes = limits().idx_bytes
    reader = _Reader(path)
    try:
        return _read(reader, path, max_bytes)
    finally:
        reader.close()


def _read(reader: _Reader, path: Path, max_bytes: int) -> np.ndarray:
    data = reader.read(4)
    if not data:
        raise DataError("The file {path} is empty. Delete it and download it again.", path=str(path))
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES or data[3] == 0:
        head = data[:4].hex(" ")
        if path.suffix == ".gz" and not reader.compressed:
            raise DataError(
                "The file {path} is named .gz but is neither a gzip archive nor an IDX file "
                "(it starts with {head}). Check that you picked the right file.",
                path=str(path),
                head=head,
            )
        raise DataError(
            "The file {path} is not an IDX data file: it starts with {head} instead of "
            "00 00 08 01 (labels) or 00 00 08 03 (images). Check that you picked the right file.",
            path=str(path),
            head=head,
        )
    dtype = _IDX_DTYPES[data[2]]
    ndim = data[3]
    dims_raw = reader.read(4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DataError(
            "The file {path} is cut short inside its header. Delete it and download it again.",
            path=str(path),
        )
    dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4", count=ndim))
    # math.prod on Python ints: a forged header must not overflow into a small number.
    expected = math.prod(dims) * dtype.itemsize
    if expected > max_bytes:
        raise DataError(
            "The file {path} announces {size} of data; dlviz reads IDX files up to {most} (the server "
            "setting DLVIZ_MAX_IDX_MB). It is damaged or not a dataset for this app.",
            path=str(path),
            size=fmt_bytes(expected),
            most=fmt_bytes(max_bytes),
        )
    body = reader.read(expected)
    actual = len(body)
    if actual < expected:
        raise DataError(
            "The file {path} is cut short: its header announces {expected} bytes of data but only "
            "{actual} are there. Delete it and download it again.",
            path=str(path),
            expected=expected,
            actual=actual,
        )
    extra = 0
    while extra <= max_bytes and (block := reader.read(1 << 20)):  # counted, never kept; bounded
        extra += len(block)
    if extra:
        raise DataError(
            "The file {path} has {extra} bytes more than its header announces ({expected} bytes "
            "of data expected, {actual} found). It is damaged or not a real IDX file.",
            path=str(path),
            extra=extra,
            expected=expected,
            actual=actual + extra,
        )
    values = np.frombuffer(body, dtype=dtype, count=expected // dtype.itemsize)
    del body
    # Copy: frombuffer over ``bytes`` is read-only, and torch.from_numpy wants writable memory.
    return values.reshape(dims).astype(dtype.newbyteorder("="), copy=True)


def md5_uncompressed(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex md5 of the file's uncompressed bytes (what dataset READMEs publish)."""
    path = Path(path)
    digest = hashlib.md5()
    try:
        with path.open("rb") as fh:
            compressed = fh.read(2) == GZIP_MAGIC
        opener = gzip.open if compressed else open
        seen, most = 0, limits().idx_bytes + (1 << 20)
        with opener(path, "rb") as fh:
            while block := fh.read(chunk_size):
                digest.update(block)
                seen += len(block)
                if seen > most:  # a decompression bomb: stop, read_idx explains the file
                    raise DataError(
                        "The file {path} expands to more than {most}: it is damaged or not a dataset for this app.",
                        path=str(path),
                        most=fmt_bytes(most),
                    )
    except FileNotFoundError:
        raise DataError("The file {path} does not exist.", path=str(path)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            "The file {path} could not be read ({reason}).", path=str(path), reason=str(exc) or type(exc).__name__
        ) from None
    return digest.hexdigest()


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    path = Path(path)
    array = np.asarray(array)
    code = _TYPE_CODES.get(array.dtype.newbyteorder("=").str[1:])
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise DataError(
            "Cannot write {path} as IDX: {dtype} arrays with {ndim} dimensions are not supported.",
            path=str(path),
            dtype=str(array.dtype),
            ndim=array.ndim,
        )
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes()
    if path.suffix == ".gz":
        # mtime=0 keeps the archive byte-identical across runs.
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path
