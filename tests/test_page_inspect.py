"""The Inspect page (AppTest): a test image, a drawing, an upload; every layer shown; plain messages."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from page_util import open_page, saved_run
from PIL import Image, ImageDraw

from dlviz.models import build

ROOT = Path(__file__).resolve().parents[1]


def _make_run(preset: str = "cnn"):
    rec = saved_run(preset)
    return rec, [n for n, _ in build(rec.spec, (1, 28, 28), 10).module.named_children()]


def _page(app, **state):
    return open_page(app, "pages/inspect.py", **state)


def _layer_headers(at) -> list[str]:
    """Each layer is a fold (expander) titled "**n. Type** · `name` · shape"."""
    return [e.label for e in at.expander if e.label.startswith("**") and "`" in e.label]


def _digit_rgba() -> np.ndarray:
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(90, 60), (190, 60), (130, 220)], fill=(255, 255, 255, 255), width=22)
    return np.asarray(img).copy()


@pytest.fixture
def cnn_run(home):
    return _make_run("cnn")


def test_no_run_gives_guidance(app):
    at = _page(app)
    assert at.title[0].value == "Inspect"
    assert at.info and "no trained image model" in at.info[0].value


def test_test_image_shows_every_layer(app, cnn_run):
    _, names = cnn_run
    at = _page(app)
    headers = _layer_headers(at)
    assert len(headers) == len(names) == 10
    assert [h.split("`")[1] for h in headers] == names  # every layer, in order
    assert "32 x 26 x 26" in headers[0] and headers[-1].endswith("10")
    # 6 layers with maps (conv, relu, pool twice) + the 28x28 input; 4 flat ones are strips + the probability bars
    assert len(at.get("image")) == 7
    assert len(at.get("plotly_chart")) == 5
    captions = " ".join(c.value for c in at.caption)
    assert "units are zero (ReLU switched them off)" in captions and "Output layer" in captions
    assert at.session_state["_insp_input"].source == "test" and at.session_state["_insp_input"].index == 0
    assert {m.label for m in at.metric} == {"The model says"}
    assert at.success or at.error  # right or wrong against the true label 7


def test_browse_a_class(app, cnn_run):
    at = _page(app)
    at.selectbox(key="_inspw_class").set_value(4).run()  # class "3"
    at.number_input(key="_inspw_pos").set_value(2).run()
    assert not at.exception
    inp = at.session_state["_insp_input"]
    assert inp.label == 3 and "(3)" in inp.caption
    # the third 3 of the test set
    import os

    from dlviz.data import load_dataset

    ys = load_dataset("mnist", os.environ["DLVIZ_DATA_DIR"]).test_y
    assert inp.index == int((ys == 3).nonzero().flatten()[2])


def test_a_drawing_is_looked_at(app, cnn_run):
    at = _page(app, _insp_mode="draw", _insp_drawing=_digit_rgba())
    inp = at.session_state["_insp_input"]
    assert inp.source == "drawn" and inp.label is None and inp.caption == "Your drawing"
    assert inp.x.shape == (1, 28, 28) and float(inp.x.max()) == pytest.approx(1.0)
    assert len(_layer_headers(at)) == 10
    assert len(at.get("image")) == 1 + 6  # what the model sees (the drawing is on the canvas), the maps


def test_blank_drawing_is_a_plain_message_and_the_page_keeps_working(app, cnn_run):
    at = _page(app, _insp_mode="draw", _insp_drawing=np.zeros((280, 280, 4), np.uint8))
    assert at.error and "Draw a digit first" in at.error[0].value
    assert any("Still showing: Test image 0" in c.value for c in at.caption)
    assert len(_layer_headers(at)) == 10  # the rest of the page still renders


@pytest.mark.parametrize("data,words", [(b"", "empty"), (b"GIF89a not really", "not an image")])
def test_bad_upload_is_a_plain_message(app, cnn_run, data, words):
    at = _page(app, _insp_mode="upload", _insp_upload=("digit.png", data))
    assert at.error and words in at.error[0].value and "Traceback" not in at.error[0].value
    assert len(_layer_headers(at)) == 10


def test_good_upload(app, cnn_run):
    img = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(img).line([(100, 30), (170, 30), (120, 170)], fill=0, width=14)  # dark on white paper
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    at = _page(app, _insp_mode="upload", _insp_upload=("seven.jpg", buf.getvalue()))
    assert not at.error
    assert at.session_state["_insp_input"].caption == "Uploaded: seven.jpg"
    assert any("inverted" in c.value for c in at.caption)  # light paper was inverted
    assert len(at.get("image")) == 1 + 6  # one st.image shows what you gave beside what the model sees
    assert list(at.get("image")[0].proto.imgs[1].caption.split()) == "What the model sees (28 x 28)".split()


@pytest.mark.parametrize("preset", ["mlp", "resnet", "rnn"])
def test_other_models_show_every_layer(app, home, preset):
    _, names = _make_run(preset)
    at = _page(app)
    assert [h.split("`")[1] for h in _layer_headers(at)] == names


def test_a_jump_list_and_folded_layers_keep_the_page_short(app, cnn_run):
    """Issue 13: Inspect was ~5,600 px long. A jump list links every layer's anchor; only the first three
    layers and the output start unfolded; a toggle unfolds them all."""
    _, names = cnn_run
    at = _page(app)
    jump = next(m.value for m in at.markdown if m.value.startswith("**Jump to:**"))
    assert [f"(#layer-{i + 1})" in jump for i in range(len(names))] == [True] * len(names)
    anchors = [h.proto.body for h in at.get("html")]
    assert [f'id="layer-{i + 1}"' in " ".join(anchors) for i in range(len(names))] == [True] * len(names)
    folds = [e for e in at.expander if e.label.startswith("**")]
    assert [e.proto.expanded for e in folds] == [True] * 3 + [False] * (len(names) - 4) + [True]
    at.toggle(key="_insp_unfold").set_value(True).run()
    assert not at.exception, at.exception
    assert all(e.proto.expanded for e in at.expander if e.label.startswith("**"))


def test_the_chosen_test_image_follows_from_inspect_to_explain(app, cnn_run):
    """Inspect -> Explain used to show image 0: the old page's widget value was in session state under the same
    key, and the new page's picker ignored it."""
    rec, _ = cnn_run
    at = _page(app, run_id=rec.id)
    at.number_input(key="_inspw_pos").set_value(123).run()
    assert not at.exception, at.exception
    at.switch_page("pages/explain.py")
    at.run()
    assert not at.exception, at.exception
    assert at.number_input(key="_inspw_pos").value == 123
    assert at.session_state["_insp_input"].index == 123


def _refresh(app, at, page: str):
    """A refresh: a new session with the same ?s= (the saved session file is read back)."""
    again = app()
    again.query_params["s"] = at.session_state["sid"]
    again.run()
    again.switch_page(page)
    again.run()
    assert not again.exception, again.exception
    return again


def test_a_drawing_survives_a_refresh(app, cnn_run):
    """The drawn digit, its strokes and the Draw choice come back after a refresh (Inspect and Explain)."""
    strokes = {"version": "4.4.0", "objects": [{"type": "path", "path": [["M", 90, 60], ["L", 190, 60]]}]}
    at = _page(app, _insp_mode="draw", _insp_drawing=_digit_rgba(), _insp_drawing_json=strokes)
    drawn = at.session_state["_insp_input"]
    assert drawn.source == "drawn"
    again = _refresh(app, at, "pages/inspect.py")
    inp = again.session_state["_insp_input"]
    assert inp.source == "drawn" and inp.caption == "Your drawing"
    assert np.allclose(inp.x.numpy(), drawn.x.numpy(), atol=1e-3)
    assert again.session_state["_insp_mode"] == "draw" and again.radio(key="_inspw_mode").value == "draw"
    assert again.session_state["_insp_drawing_json"] == strokes  # the canvas draws the strokes again
    assert not again.info  # not "Draw a digit in the box": the drawing is shown
    assert "Still showing" not in " ".join(c.value for c in again.caption)
    explain = _refresh(app, at, "pages/explain.py")
    assert explain.session_state["_insp_input"].source == "drawn"


def test_a_test_image_choice_survives_a_refresh(app, cnn_run):
    at = _page(app)
    at.selectbox(key="_inspw_class").set_value(4).run()  # class "3"
    at.number_input(key="_inspw_pos").set_value(2).run()
    chosen = at.session_state["_insp_input"]
    assert chosen.label == 3
    again = _refresh(app, at, "pages/inspect.py")
    inp = again.session_state["_insp_input"]
    assert inp.source == "test" and inp.index == chosen.index and inp.label == 3
    assert again.selectbox(key="_inspw_class").value == 4 and again.number_input(key="_inspw_pos").value == 2
