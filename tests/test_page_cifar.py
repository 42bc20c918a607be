"""Every look-inside page on colour images (AppTest): a tiny CIFAR-10 in the real binary format written by the test
(50 training and 20 test photos of coloured squares), the course's CIFAR CNN trained two epochs on it."""

from __future__ import annotations

import json

import pytest
from cifar_util import write_cifar

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cifar_run(tmp_path_factory):
    """(home, data folder, run id): the CIFAR CNN trained 2 epochs by the CLI on the tiny set, once per module."""
    from cli_util import run_cli

    base = tmp_path_factory.mktemp("cifar-pages")
    home, folder = base / "home", write_cifar(base / "data").parent
    r = run_cli(
        *("train", "--dataset", "cifar10", "--data-dir", folder, "--model", "cifar-cnn", "--epochs", "2"),
        *("--device", "cpu", "--json"),
        env={"DLVIZ_HOME": home, "DLVIZ_OFFLINE": "1"},
    )
    assert r.returncode == 0, r.stderr
    return home, folder, json.loads(r.stdout.splitlines()[-1])["run_id"]


@pytest.fixture
def page(cifar_run, monkeypatch):
    """open(page, **state): an AppTest of app.py switched to ``page`` on the CIFAR run, no exception."""
    from streamlit.testing.v1 import AppTest

    home, folder, run_id = cifar_run
    monkeypatch.setenv("DLVIZ_HOME", str(home))
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    monkeypatch.setenv("DLVIZ_DATA_DIR", str(folder))
    monkeypatch.chdir(ROOT)

    def open_(name: str, lang: str = "en", **state):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.session_state["dataset"] = "cifar10"
        at.session_state["run_id"] = run_id
        at.session_state["lang"] = lang
        for k, v in state.items():
            at.session_state[k] = v
        at.switch_page(f"pages/{name}.py")
        at.run()
        assert not at.exception, at.exception
        return at

    return open_


def _texts(at) -> str:
    return " ".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [s.value for s in at.subheader]
        + [i.value for i in at.info]
    )


def _problems(at) -> list[str]:
    """Errors and warnings a page shows (the first run's MNIST offline notice aside: the app starts on MNIST)."""
    shown = [e.value for e in at.error if not e.value.startswith("Wrong:")] + [w.value for w in at.warning]
    return [v for v in shown if "MNIST" not in v]


def _photo_png() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    a = np.zeros((60, 90, 3), np.uint8)
    a[:, :45] = (250, 250, 0)  # yellow left, blue right
    a[:, 45:] = (0, 0, 250)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def test_data_page_shows_the_photos_in_colour(page):
    at = page("data")
    assert not _problems(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test images"] == "20" and metrics["Classes"] == "10"
    assert int(metrics["Training images"]) + int(metrics["Validation images"]) == 50
    grid = at.get("plotly_chart")[0].proto.spec
    traces = json.loads(grid)["data"]
    assert len(traces) >= 10 and {tr["type"] for tr in traces} == {"image"}  # colour pictures, not grey heatmaps
    assert "airplane" in grid or "truck" in grid  # the class names above the photos


def test_inspect_page_keeps_colour_and_offers_no_drawing(page):
    import torch

    at = page("inspect")
    assert not _problems(at)
    assert list(at.radio(key="_inspw_mode").options) == ["Test image", "Upload"]  # no drawing for photos
    assert "Drawing is for digits: this model reads colour photos (CIFAR-10)" in _texts(at)
    captions = [c for im in at.get("image") for c in im.captions]
    assert "What the model sees (32 x 32, colour)" in captions
    # an uploaded photo is kept in colour, 32 x 32, for the model
    at.session_state["_inspw_mode"] = at.session_state["_insp_mode"] = "upload"
    at.session_state["_insp_upload"] = ("flag.png", _photo_png())
    at.run()
    assert not at.exception, at.exception
    assert not _problems(at)
    inp = at.session_state["_insp_input"]
    assert inp.source == "upload" and tuple(inp.x.shape) == (3, 32, 32)
    assert inp.x[0, 16, 2] > 0.9 and inp.x[2, 16, 2] < 0.1 and inp.x[2, 16, 29] > 0.9  # yellow left, blue right
    assert "made as small as the dataset's photos (32 x 32 pixels), in colour" in _texts(at)
    # every look-inside page reads that colour upload: Explain draws its maps over it
    at.switch_page("pages/explain.py")
    at.run()
    assert not at.exception, at.exception
    assert torch.equal(at.session_state["_insp_input"].x, inp.x)


def test_inspect_page_in_chinese(page):
    at = page("inspect", lang="zh")
    assert "手绘只适用于数字" in _texts(at)


def test_filters_page_draws_the_first_layer_in_colour(page):
    at = page("filters")
    assert not _problems(at)
    text = _texts(at)
    assert "The 32 filters of conv2d_1, each 3 x 3 pixels with a weight for red, green and blue" in text
    assert "blue pixels want ink" not in text  # the grey model's words are not used for colour filters
    assert "Filter 0 of conv2d_3 has one 3 x 3 kernel per input channel (64 channels)" in text
    assert "test images that excite channel 0 of" in text  # the unit explorer ran on colour test images
    assert len(at.get("image")) >= 6


def test_explain_page_draws_maps_over_the_colour_photo(page):
    at = page("explain")
    assert not _problems(at)
    text = _texts(at)
    for method in ("Saliency", "Integrated Gradients", "Grad-CAM", "Occlusion"):
        assert f"{method}: " in text, method
    spec = next(c.proto.spec for c in at.get("plotly_chart") if "evidence for" in c.proto.spec)
    assert spec.count('"type":"image"') == 5  # the photo, and under each of the four maps
    assert "on the strokes" not in _texts(at) and "empty paper" not in _texts(at)  # a photo has no ink


def test_errors_page(page):
    at = page("errors")
    assert not _problems(at)
    assert at.get("plotly_chart")  # the confusion matrix and the gallery of mistakes
    assert '"type":"image"' in " ".join(c.proto.spec for c in at.get("plotly_chart")).replace(" ", "")


def test_gradients_and_embeddings_pages(page):
    at = page("gradients")
    assert not _problems(at)
    at = page("embeddings")
    assert not _problems(at)
    maps = [e for e in at.get("bidi_component") if e.proto.component_name == "dlviz_embedding_map"]
    html = json.loads(maps[-1].proto.json)["html"]
    assert "data:image/png;base64," in html  # the sprite sheet of the colour photos


def test_data_page_without_cifar_says_how_to_get_it(tmp_path, monkeypatch):
    """Offline, no copy anywhere: the error says CIFAR-10 is not on this machine; the hint gives the URL and the
    sidebar field to fill. In Chinese too."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    monkeypatch.delenv("DLVIZ_DATA_DIR", raising=False)
    monkeypatch.chdir(ROOT)
    for lang, said, hint in (
        ("en", "CIFAR-10 is not on this machine", "To get CIFAR-10"),
        ("zh", "这台机器上没有 CIFAR-10", "获取 CIFAR-10"),
    ):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        at.session_state["dataset"] = "cifar10"
        at.session_state["data_dir"] = ""
        at.session_state["lang"] = lang
        at.switch_page("pages/data.py")
        at.run()
        assert not at.exception, at.exception
        errors = " ".join(e.value for e in at.error).replace("\\", "").replace("\u200b", "")  # escapes, no autolink
        infos = " ".join(i.value for i in at.info).replace("\\", "")
        assert said in errors and "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in errors
        assert hint in infos and "cifar-10-batches-bin" in infos and "Traceback" not in errors


def test_train_page_offers_flips_and_previews_colour_batches(page):
    at = page("train")
    flip = next(c for c in at.checkbox if c.label == "Mirror left-right")
    assert not flip.disabled  # a mirrored cat is still a cat
    flip.check().run()
    assert not at.exception, at.exception
    assert len(at.image) == 1  # the preview grid, in colour (dlviz.train.augment.preview: test_cifar.py)
    assert at.session_state["train_settings"]["augment_flip"] is True


@pytest.mark.parametrize("name", ["home", "build", "runs", "train", "gradients"])
def test_other_pages_open_on_the_colour_run(page, name):
    at = page(name)
    assert not _problems(at)
