"""The embedding scatter (dlviz.plots.embedding): self-contained HTML, the sprite sheet, escaping."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlviz.plots.embedding import PALETTE, embedding_figure, embedding_html, sprite_sheet

ROOT = Path(__file__).resolve().parents[1]


def _data(n=37, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    coords = rng.normal(size=(n, 2))
    labels = rng.integers(0, 10, n)
    preds = labels.copy()
    preds[:5] = (labels[:5] + 1) % 10  # five wrong
    return coords, images, labels, preds


def _sprite(html: str) -> Image.Image:
    m = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert m
    return Image.open(io.BytesIO(base64.b64decode(m.group(1))))


def _payload(html: str) -> dict:
    m = re.search(r"const D=(\{.*?\});\n", html)
    assert m
    return json.loads(m.group(1))


def test_sprite_sheet_tiles_every_image_inverted_in_16_levels():
    _, images, _, _ = _data(37)
    png, cols = sprite_sheet(images)
    assert cols == 7  # ceil(sqrt(37))
    img = Image.open(io.BytesIO(png))
    assert img.size == (7 * 28, 6 * 28)
    sheet = np.asarray(img.convert("L")).astype(int)
    for i in (0, 6, 7, 36):
        r, c = divmod(i, cols)
        cell = sheet[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28]
        want = (255 - images[i].astype(int)) // 17 * 17
        assert np.array_equal(cell, want), i
    with pytest.raises(ValueError):
        sprite_sheet(images.astype(np.float32))


def test_html_is_self_contained_and_carries_every_point():
    coords, images, labels, preds = _data(37)
    html = embedding_html(coords, images, labels, preds, [str(i) for i in range(10)], indices=np.arange(100, 137))
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "<script src" not in html and "<link" not in html
    d = _payload(html)
    assert len(d["x"]) == len(d["y"]) == len(d["l"]) == len(d["p"]) == len(d["i"]) == 37
    assert d["i"][0] == 100 and d["l"] == labels.tolist() and d["p"] == preds.tolist()
    assert min(d["x"] + d["y"]) >= 0 and max(d["x"] + d["y"]) <= 10000
    assert d["colours"] == list(PALETTE)  # colour by label
    assert _sprite(html).size == (7 * 28, 6 * 28)
    # the square frame keeps proportions: the wider axis spans the whole range, the other less
    span = np.ptp(coords, 0)
    wide = int(np.argmax(span))
    got = np.array([np.ptp(d["x"]), np.ptp(d["y"])])
    assert got[wide] == 10000 and got[1 - wide] == pytest.approx(10000 * span[1 - wide] / span[wide], abs=2)


def test_html_right_wrong_groups_and_legend_counts():
    coords, images, labels, preds = _data(37)
    html = embedding_html(coords, images, labels, preds, colour_by="correct")
    d = _payload(html)
    assert d["colours"] == ["#0072B2", "#D55E00"]
    assert sum(d["g"]) == 5 and d["g"][:5] == [1] * 5
    assert "right <span class=\"n\">(32)</span>" in html and "wrong <span class=\"n\">(5)</span>" in html
    assert d["top"] == 1  # the five wrong points are drawn over the right ones
    with pytest.raises(ValueError):
        embedding_html(coords, images, labels, None, colour_by="correct")


def test_html_escapes_text():
    coords, images, labels, preds = _data(12)
    evil = ["<b>bold</b>", "</script><script>alert(1)</script>", "a & b", '"quote"'] + [str(i) for i in range(4, 10)]
    html = embedding_html(
        coords, images, labels % 4, preds % 4, evil, tr=lambda s, **kw: "<i>" + s.format(**kw) if kw else "<i>" + s
    )
    assert "<b>bold</b>" not in html and "<i>" not in html and "alert(1)</script>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # legend, escaped
    assert html.count("</script>") == 1  # only the real end of the script
    d = _payload(html)
    assert d["names"][:4] == evil[:4]  # data survives the escaping intact (shown with textContent)


def test_html_size_for_2000_mnist_images(mnist_dir):
    from dlviz.data import load_dataset
    from dlviz.inspect.embed import sample_indices

    data = load_dataset("mnist", mnist_dir)
    idx = sample_indices(data.test_y, 2000)
    coords = np.random.default_rng(0).normal(size=(2000, 2))
    html = embedding_html(
        coords, data.test_x[idx].numpy(), data.test_y[idx].numpy(), data.test_y[idx].numpy(), indices=idx.numpy()
    )
    assert len(html.encode()) < 1_000_000
    assert len(_payload(html)["x"]) == 2000


def test_plotly_figure_one_trace_per_group():
    coords, _, labels, preds = _data(40)
    fig = embedding_figure(coords, labels, preds, [str(i) for i in range(10)])
    assert sum(len(t.x) for t in fig.data) == 40
    assert len(fig.data) == len(set(labels.tolist()))
    fig = embedding_figure(coords, labels, preds, colour_by="correct")
    assert [len(t.x) for t in fig.data] == [35, 5]
    assert [t.marker.color for t in fig.data] == ["#0072B2", "#D55E00"]


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_embedding_modules_do_not_import_streamlit():
    code = "import sys, dlviz.plots.embedding, dlviz.inspect.embed; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
