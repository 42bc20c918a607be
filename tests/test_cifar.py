"""CIFAR-10 (binary version): the reader on small files in the real format that the tests write, the safe
extraction of the archive, the md5 check of a download, the offline sentence, and a colour model that trains."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest
import torch
from cifar_util import COLOURS, shapes, tar_of, write_cifar

from dlviz.data import DATASETS, load_dataset
from dlviz.data.cifar import ARCHIVE, FOLDER, RECORD, decode_records, encode_records, read_batch
from dlviz.data.registry import CIFAR10
from dlviz.errors import DataError
from dlviz.i18n import translate


def test_registry_entry_names_the_binary_version_and_its_published_md5():
    assert DATASETS["cifar10"] is CIFAR10 and CIFAR10.input_shape == (3, 32, 32) and CIFAR10.channels == 3
    # the md5 the authors' page lists for cifar-10-binary.tar.gz
    assert CIFAR10.md5 == {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"}
    assert CIFAR10.mirrors == ("https://www.cs.toronto.edu/~kriz/",) and CIFAR10.flips
    assert CIFAR10.classes[0] == "airplane" and CIFAR10.classes[-1] == "truck"
    assert all(translate(c, "zh") != c for c in (*CIFAR10.classes, CIFAR10.title))


def test_one_record_is_a_label_byte_then_the_red_green_and_blue_planes():
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[0, 0, 1, 0] = 11  # red at row 0, column 1
    img[0, 2, 0, 1] = 22  # green at row 2, column 0
    img[0, 31, 31, 2] = 33  # blue at the last pixel
    raw = encode_records(img, [7])
    assert len(raw) == RECORD == 3073 and raw[0] == 7
    assert raw[1 + 1] == 11  # the red plane first, row by row
    assert raw[1 + 1024 + 2 * 32] == 22  # then the green plane
    assert raw[1 + 2048 + 1023] == 33  # then the blue
    images, labels = decode_records(raw, "x")
    assert labels.tolist() == [7] and np.array_equal(images, img)


def test_folder_round_trip_keeps_labels_and_colours(tmp_path, home):
    folder = write_cifar(tmp_path / "data")
    data = load_dataset("cifar10", tmp_path / "data")
    x, y = shapes(50, 0)
    assert data.source == "folder" and data.source_detail == str(folder) and data.subset
    assert data.train_x.shape == (50, 32, 32, 3) and data.train_x.dtype == torch.uint8
    assert np.array_equal(data.train_x.numpy(), x) and data.train_y.tolist() == y.tolist()
    assert data.test_x.shape == (20, 32, 32, 3) and data.test_y.tolist() == (np.arange(20) % 10).tolist()
    # a pixel of a square has its class's colour, red green blue in that order
    assert any((data.train_x[3].reshape(-1, 3) == torch.from_numpy(COLOURS[3])).all(1))
    # the extracted folder itself, and CIFAR-10 spelled with its hyphen, load the same
    assert np.array_equal(load_dataset("CIFAR-10", folder).test_x.numpy(), data.test_x.numpy())


def test_truncated_file_is_refused_plainly(tmp_path, home):
    folder = write_cifar(tmp_path)
    path = folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="not a whole number of CIFAR-10 records") as e:
        load_dataset("cifar10", folder)
    assert "data_batch_3.bin" in str(e.value) and "cut short" in str(e.value)
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match="but not data_batch_3.bin"):
        load_dataset("cifar10", folder)


def test_bad_label_is_refused(tmp_path):
    raw = bytearray(encode_records(np.zeros((2, 32, 32, 3), np.uint8), [1, 2]))
    raw[RECORD] = 12
    (tmp_path / "b.bin").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="label 12"):
        read_batch(tmp_path / "b.bin")


def test_pickled_version_is_refused_and_never_unpickled(tmp_path, home, monkeypatch):
    import pickle

    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    py = tmp_path / "cifar-10-batches-py"
    py.mkdir()
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        (py / name).write_bytes(b"\x80\x02}q\x00.")
    for where in (tmp_path, py):
        with pytest.raises(DataError, match="Python version of CIFAR-10") as e:
            load_dataset("cifar10", where)
        assert "cifar-10-binary.tar.gz" in str(e.value) and "pickled" in str(e.value)
    # a pickle renamed to a .bin file is told apart from a cut-short file
    with pytest.raises(DataError, match="Python version"):
        decode_records(b"\x80\x02" + b"\x00" * 100, "data_batch_1.bin")


def test_archive_is_extracted_into_the_cache(tmp_path, home):
    folder = write_cifar(tmp_path / "src")
    archive = tar_of(folder, tmp_path / ARCHIVE)
    data = load_dataset("cifar10", archive)  # the archive's own path
    assert data.source == "folder" and data.source_detail == str(archive) and len(data.train_y) == 50
    cache = home / "data" / "cifar10"
    assert sorted(p.name for p in cache.iterdir()) == sorted([*CIFAR10.files, "batches.meta.txt", ".archive.json"])
    again = load_dataset("cifar10")  # no folder named: the cache has it now
    assert again.source == "cache" and np.array_equal(again.train_x.numpy(), data.train_x.numpy())
    # another archive named later replaces what the cache held (not the old copy under the new name)
    other = tar_of(write_cifar(tmp_path / "src2", n_train=100, n_test=30, seed=5), tmp_path / "other.tar.gz")
    assert len(load_dataset("cifar10", other).train_y) == 100 and len(load_dataset("cifar10").test_y) == 30


@pytest.mark.parametrize("evil", ["../evil.bin", "/tmp/evil.bin", f"{FOLDER}/../../evil.bin"])
def test_archive_with_a_traversal_name_is_refused(tmp_path, home, evil):
    folder = write_cifar(tmp_path / "src")
    (tmp_path / "x").mkdir()
    archive = tar_of(folder, tmp_path / "x" / ARCHIVE, {evil: b"x"})
    with pytest.raises(DataError, match="points outside the folder") as e:
        load_dataset("cifar10", archive.parent)  # the folder that holds the archive
    assert evil in str(e.value)
    assert not (tmp_path / "evil.bin").exists() and not (home / "evil.bin").exists()
    cache = home / "data" / "cifar10"
    assert not cache.exists() or not list(cache.iterdir())  # refused whole: not even its good files were kept


def test_archive_member_larger_than_a_batch_is_refused(tmp_path, home):
    folder = write_cifar(tmp_path / "src")
    (folder / "test_batch.bin").write_bytes(b"\x00" * (RECORD * 10_001))
    archive = tar_of(folder, tmp_path / ARCHIVE)
    with pytest.raises(DataError, match="which no CIFAR-10 binary batch is"):
        load_dataset("cifar10", archive)


def test_offline_is_one_plain_sentence_with_the_url_and_the_place(home):
    with pytest.raises(DataError) as e:
        load_dataset("cifar10")
    text = str(e.value)
    assert text.startswith(
        "CIFAR-10 is not on this machine and downloads are switched off: download the binary version"
    )
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in text and str(home / "data" / "cifar10") in text
    zh = e.value.message("zh")
    assert zh != text and "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in zh


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def archive_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    tar_of(write_cifar(tmp_path / "src"), root / ARCHIVE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root / ARCHIVE
    server.shutdown()
    server.server_close()


def test_download_with_a_wrong_md5_is_refused(home, archive_server, monkeypatch):
    url, _ = archive_server
    # the real registry md5 (the published archive's) does not match the test's small archive
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(CIFAR10, mirrors=(url,)))
    with pytest.raises(DataError, match="checksum mismatch") as e:
        load_dataset("cifar10", allow_download=True)
    assert "CIFAR-10 is not on this machine and the download failed" in str(e.value)
    cache = home / "data" / "cifar10"
    assert not any(p.suffix == ".bin" for p in cache.iterdir()) and not list(cache.glob("*.part"))


def test_download_with_the_right_md5_is_extracted(home, archive_server, monkeypatch):
    url, archive = archive_server
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(CIFAR10, mirrors=(url,), md5={ARCHIVE: md5}))
    seen = []
    data = load_dataset("cifar10", allow_download=True, progress=lambda f, text: seen.append(f))
    assert data.source == "download" and data.source_detail == url + ARCHIVE and len(data.test_y) == 20
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    assert not (home / "data" / "cifar10" / ARCHIVE).exists()  # only the extracted batches are kept


def test_cli_without_cifar_is_one_sentence_and_exit_2(home):
    from cli_util import run_cli

    r = run_cli("train", "--dataset", "cifar10", "--model", "cifar-cnn", "--epochs", "1", env={"DLVIZ_HOME": home})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("CIFAR-10 is not on this machine") and last.count(". ") == 0 and last.endswith(".")
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in last and "--data-dir" in last


def test_cli_trains_the_course_cnn_on_the_tiny_colour_set(tmp_path, home):
    import json

    from cli_util import run_cli

    folder = write_cifar(tmp_path / "data")
    r = run_cli(
        *("train", "--dataset", "cifar10", "--data-dir", folder, "--model", "cifar-cnn", "--epochs", "1"),
        *("--device", "cpu", "--flip", "--json"),
        env={"DLVIZ_HOME": home},
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["status"] == "finished" and out["dataset"] == "cifar10" and out["params"] == 122_576
    assert 0.0 <= out["test_accuracy"] <= 1.0 and out["epochs"] == 1
    # the CLI's explanation picture keeps the photo in colour (test image 3: a square of class 3's colour)
    png = tmp_path / "why.png"
    r = run_cli(
        *("explain", "--run", out["run_id"], "--index", "3", "--method", "grad_cam", "--out", png),
        env={"DLVIZ_HOME": home, "DLVIZ_DATA_DIR": folder},
    )
    assert r.returncode == 0, r.stderr
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
    assert (np.abs(pixels - COLOURS[3]).sum(1) < 30).sum() > 1000  # the blue square, drawn in its colour


def test_digits_refuse_flips_and_cifar_allows_them():
    from dlviz.data.registry import MNIST
    from dlviz.errors import TrainError
    from dlviz.train.augment import Augmentation, check_allowed

    check_allowed(Augmentation(flip=True, rotate=10), CIFAR10, True)
    with pytest.raises(TrainError, match="cannot be flipped"):
        check_allowed(Augmentation(flip=True), MNIST, True)


def test_colour_batches_become_channels_first_floats_and_uploads_stay_in_colour():
    import io

    from PIL import Image

    from dlviz.modality import IMAGE, image_transform
    from dlviz.train.augment import Augmentation, Augmenter

    x, _ = shapes(4, 0)
    batch = image_transform(torch.from_numpy(x))
    assert batch.shape == (4, 3, 32, 32) and batch.dtype == torch.float32
    assert torch.allclose(batch[1, :, 5, 7], torch.from_numpy(x[1, 5, 7]).float() / 255)
    out = Augmenter(Augmentation(flip=True, rotate=10, noise=0.1, erase=0.2), "cpu", 0)(batch)
    assert out.shape == batch.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    # a red-and-blue photo, 200 x 100: kept in colour, its middle square made 32 x 32
    photo = np.zeros((100, 200, 3), np.uint8)
    photo[:, :100] = (255, 0, 0)
    photo[:, 100:] = (0, 0, 255)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="PNG")
    p = IMAGE.encode(buf.getvalue(), info=CIFAR10)
    assert p.x.shape == (3, 32, 32) and p.original.shape == (100, 200, 3)
    assert p.x[0, 16, 2] > 0.9 and p.x[2, 16, 2] < 0.1  # left: red
    assert p.x[2, 16, 29] > 0.9 and p.x[0, 16, 29] < 0.1  # right: blue
    assert p.notices and IMAGE.encode(np.pad(photo[:, :100, 0], 30)).x.shape == (1, 28, 28)  # digits: MNIST-style


def test_augmentation_preview_of_colour_photos_is_a_colour_grid():
    from dlviz.train.augment import Augmentation, preview

    x, _ = shapes(4, 0)
    grid = preview(torch.from_numpy(x), Augmentation(flip=True), seed=0, copies=3)
    assert grid.shape == (4 * 32, 4 * 32, 3) and grid.dtype == torch.uint8
    assert torch.equal(grid[:32, :32], torch.from_numpy(x[0]))  # the top row: the photos as stored, in colour
    mirrored = [
        torch.equal(grid[32 * r : 32 * (r + 1), :32], torch.from_numpy(x[0][:, ::-1].copy())) for r in (1, 2, 3)
    ]
    assert any(mirrored)  # some batch shows the first photo mirrored left-right


def test_classic_pipelines_read_colour_photos():
    from dlviz.train.baseline import image_baselines

    x, y = shapes(50, 0)
    tx, ty = shapes(20, 1)
    out = image_baselines(*(torch.from_numpy(a) for a in (x, y, tx, ty)))
    assert [r.n_features for r in out][0] == 3072 and "red, green, blue" in out[0].features
    assert all(0.0 <= r.test_accuracy <= 1.0 for r in out)


def test_archive_links_and_the_pickled_archive_are_refused(tmp_path, home):
    import io
    import tarfile

    folder = write_cifar(tmp_path / "src")
    linked = tmp_path / "linked" / ARCHIVE
    linked.parent.mkdir()
    with tarfile.open(linked, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if path.name != "test_batch.bin":
                tar.add(path, arcname=f"{FOLDER}/{path.name}")
        link = tarfile.TarInfo(f"{FOLDER}/test_batch.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(DataError, match="does not hold test_batch.bin"):  # a link is never followed
        load_dataset("cifar10", linked)
    pickled = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(pickled, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"\x80\x02}q\x00."))
    for where in (pickled, tmp_path / "renamed.tar.gz"):
        if where != pickled:
            where.write_bytes(pickled.read_bytes())
        with pytest.raises(DataError, match="Python version of CIFAR-10"):
            load_dataset("cifar10", where)


def test_a_colour_model_exports_its_code_alone_not_an_mnist_script():
    from dlviz.models import PRESETS
    from dlviz.models.codegen import writes_script
    from dlviz.train.script import to_script

    spec = PRESETS["cifar-cnn"].spec
    assert not writes_script(spec, (3, 32, 32)) and writes_script(PRESETS["cnn"].spec, (1, 28, 28))
    code = to_script(spec, (3, 32, 32), 10)
    assert "idx3-ubyte" not in code and "BatchNorm2d(3" in code
    ns: dict = {}
    exec(code, ns)
    assert ns["model"].eval()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
