"""The Embeddings page (AppTest): PCA at once, t-SNE after its button, the cache, colour modes, no runs."""

from __future__ import annotations

import json
from pathlib import Path

from page_util import open_page, saved_run

ROOT = Path(__file__).resolve().parents[1]


def _make_run(preset: str = "mlp"):
    return saved_run(preset)


def _page(app, **state):
    return open_page(app, "pages/embeddings.py", timeout=120, **{"lang": "en", **state})


def _maps(at) -> list:
    """The map components (st.components.v2 with the map's document in its data)."""
    return [e for e in at.get("bidi_component") if e.proto.component_name == "dlviz_embedding_map"]


def _html(at) -> str:
    maps = _maps(at)
    assert maps, "no embedding map"
    return json.loads(maps[-1].proto.json)["html"]


def test_no_run_shows_guidance(app):
    at = _page(app)
    assert at.title[0].value == "Embeddings"
    assert at.info and "no trained image model" in at.info[0].value
    assert not _maps(at)


def test_pca_renders_at_once_with_its_explained_variance(app):
    rec = _make_run("mlp")
    at = _page(app, run_id=rec.id, _emb_n=200)
    assert at.selectbox(key=f"_emb_layer_{rec.id}").value == "relu_2"  # the last hidden layer
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Numbers per image"] == "64"
    assert metrics["Variance kept by the 2 axes"].endswith("%")
    html = _html(at)
    assert "data:image/png;base64," in html and "https://" not in html
    assert any("PCA turns the layer's 64 numbers" in c.value for c in at.caption)
    results = at.session_state["_emb_results"]
    assert list(results) == [(rec.id, None, "relu_2", "pca", 200)]
    # colouring by right/wrong re-draws from the cache
    at.radio(key="_emb_colour").set_value("correct").run()
    assert not at.exception
    assert '"colours":["#0072B2","#D55E00"]' in _html(at)
    assert len(at.session_state["_emb_results"]) == 1
    # another layer is another map
    at.selectbox(key=f"_emb_layer_{rec.id}").set_value("flatten_1").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Numbers per image"] == "784"


def test_tsne_waits_for_its_button_then_draws(app):
    rec = _make_run("cnn")
    at = _page(app, run_id=rec.id, _emb_n=200, _emb_method="tsne")
    assert at.selectbox(key=f"_emb_layer_{rec.id}").value == "relu_3"
    assert not _maps(at)  # t-SNE is not started by itself
    at.button(key="_emb_go").click().run()
    assert not at.exception, at.exception
    assert "Computed in" in {m.label for m in at.metric}
    assert any("t-SNE keeps each image's close neighbours close" in c.value for c in at.caption)
    assert (rec.id, None, "relu_3", "tsne", 200) in at.session_state["_emb_results"]
    assert '"x":[' in _html(at)
    assert not [b for b in at.button if b.key == "_emb_go"]  # the prompt is gone once the map is there
    at.radio(key="_emb_colour").set_value("correct").run()  # from the cache: no button, no recomputation
    assert not at.exception
    assert not [b for b in at.button if b.key == "_emb_go"] and '"top":' in _html(at)


def test_chinese_page(app):
    rec = _make_run("mlp")
    at = _page(app, run_id=rec.id, _emb_n=200, lang="zh")
    assert at.title[0].value == "嵌入"
    assert "真实：{label}" in _html(at)


def test_a_click_on_a_point_opens_that_image_on_inspect_and_explain(app):
    """Issue 13: the map posts a clicked point's test number; the page opens it on Inspect (Explain's input too)."""
    rec = _make_run("mlp")
    at = _page(app, run_id=rec.id, _emb_n=200)
    html = _html(at)
    assert "postMessage({dlvizOpen:D.i[i]}" in html and "click it to open it on Inspect and Explain" in html
    index = int(at.session_state["_emb_results"][(rec.id, None, "relu_2", "pca", 200)]["idx"][5])
    # what the component's JavaScript does on a click: a trigger value "open" under the widget's id
    from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

    widget_id = _maps(at)[0].proto.id
    states = WidgetStates()
    states.widgets.append(
        WidgetState(
            id=f"$$STREAMLIT_INTERNAL_KEY_{widget_id}__events",
            json_trigger_value=json.dumps([{"event": "open", "value": index}]),
        )
    )
    at._run(states)
    assert not at.exception, at.exception
    assert at.title[0].value == "Inspect"
    assert at.number_input(key="_inspw_pos").value == index
    inp = at.session_state["_insp_input"]
    assert inp.source == "test" and inp.index == index
