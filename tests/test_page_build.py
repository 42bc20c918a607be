"""Build page (AppTest): presets, the layer editor, undo, import/export and the Chinese UI."""

from __future__ import annotations

import json

import pytest

from dlviz.i18n import catalogue, translate
from dlviz.models import LAYER_TYPES, PRESETS, build


@pytest.fixture
def page(app):
    at = app()
    at.run()
    at.switch_page("pages/build.py")
    at.run()
    assert not at.exception
    return at


def params(at) -> str:
    return at.metric[0].value


def layer_types(at) -> list[str]:
    return [layer["type"] for layer in at.session_state["spec"]["layers"]]


def table_names(at) -> list[str]:
    return list(at.dataframe[0].value.iloc[:, 0])


def click(at, prefix: str, index: int | None = None):
    """Click the button whose key starts with ``prefix`` (and ends with ``_index`` for row buttons)."""
    hits = [
        b for b in at.button if b.key and b.key.startswith(prefix) and (index is None or b.key.endswith(f"_{index}"))
    ]
    assert len(hits) == 1, [b.key for b in at.button]
    hits[0].click().run()
    assert not at.exception


def load_preset(at, key: str):
    if PRESETS[key].kind == "text":  # text presets are offered when the dataset is text
        at.session_state["dataset"] = "rt-polarity"
        at.run()
        at.selectbox(key="build_preset_text").set_value(key).run()
    else:
        at.selectbox(key="build_preset").set_value(key).run()
    assert not at.exception, at.exception


def import_text(at, text: str):
    at.text_area(key="build_import_text").input(text).run()
    click(at, "build_import_btn")


def test_loads_with_the_mlp(page):
    assert params(page) == "109,386"
    assert not page.error
    assert table_names(page) == ["input", "flatten_1", "dense_1", "relu_1", "dense_2", "relu_2", "dense_3"]
    assert any("109,386" in c.value for c in page.caption)  # the preset's description


def test_cnn_preset_is_undoable(page):
    load_preset(page, "cnn")
    assert params(page) == "225,034"
    assert layer_types(page) == [layer["type"] for layer in PRESETS["cnn"].spec["layers"]]
    click(page, "build_undo")
    assert params(page) == "109,386"
    assert layer_types(page)[0] == "flatten"


def test_add_move_remove_and_undo(page):
    before = layer_types(page)
    page.selectbox(key="build_add_type").set_value("dropout").run()
    click(page, "build_add")  # default place: before the last layer
    assert layer_types(page) == before[:-1] + ["dropout", before[-1]]
    assert "dropout_1" in table_names(page)
    assert params(page) == "109,386"

    click(page, "build_up_", 5)  # the dropout (index 5) swaps with the ReLU above it
    assert layer_types(page)[4:6] == ["dropout", "relu"]
    assert table_names(page)[5:7] == ["dropout_1", "relu_2"]

    click(page, "build_rm_", 4)
    assert layer_types(page) == before
    assert "dropout_1" not in table_names(page)

    click(page, "build_undo")
    assert layer_types(page)[4] == "dropout"
    click(page, "build_undo")
    click(page, "build_undo")
    assert layer_types(page) == before
    assert page.button(key="build_undo").disabled


def test_moving_refreshes_the_settings_widgets(page):
    """After a reorder the widget at a position shows the layer now there, not a stale value."""
    units = [w for w in page.number_input if w.key.endswith("_1_units")]
    assert units[0].value == 128
    click(page, "build_down_", 1)  # Dense 128 moves to index 2, ReLU to index 1
    assert not [w for w in page.number_input if w.key.endswith("_1_units")]
    assert [w.value for w in page.number_input if w.key.endswith("_2_units")] == [128]


def test_changing_a_setting_updates_the_count(page):
    units = [w for w in page.number_input if w.key.endswith("_1_units")][0]
    units.set_value(64).run()
    assert not page.exception
    # 784*64+64 + 64*64+64 + 64*10+10
    assert params(page) == "55,050"
    assert page.session_state["spec"]["layers"][1]["units"] == 64
    click(page, "build_undo")
    assert params(page) == "109,386"


def test_broken_edit_names_the_layer_and_the_page_keeps_working(page):
    click(page, "build_rm_", 0)  # remove the Flatten: Dense gets an image
    assert any("Layer 1 (Dense)" in e.value and "Flatten" in e.value for e in page.error)
    assert not page.metric
    click(page, "build_undo")
    assert params(page) == "109,386" and not page.error


def test_impossible_import_is_refused(page):
    before = page.session_state["spec"]
    bad = {
        "layers": [
            {"type": "maxpool", "size": 8},
            {"type": "maxpool", "size": 8},
            {"type": "flatten"},
            {"type": "dense", "units": 10},
        ]
    }
    import_text(page, json.dumps(bad))
    assert any("Layer 2 (MaxPool)" in e.value and "3x3" in e.value for e in page.error)
    assert page.session_state["spec"] == before
    assert params(page) == "109,386"


def test_malformed_json_is_refused(page):
    before = page.session_state["spec"]
    import_text(page, '{"layers": [')
    assert any("not valid JSON" in e.value for e in page.error)
    assert page.session_state["spec"] == before


def test_import_and_export(page):
    spec = {"name": "tiny", "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}
    import_text(page, json.dumps(spec))
    assert not page.error
    assert params(page) == "7,850"
    assert page.session_state["spec"]["name"] == "tiny"
    assert any("tiny" in s.value for s in page.success)
    code = page.code[0].value
    assert "nn.Linear(784, 10, bias=True)" in code
    click(page, "build_undo")
    assert params(page) == "109,386"


def test_sidebar_language_picker(app):
    # AppTest runs only its first run through app.py (later runs and switch_page run the page file
    # alone), so the sidebar's picker is set before that run
    at = app()
    at.session_state["_lang_select"] = "zh"
    at.run()
    assert not at.exception
    assert at.session_state["lang"] == "zh"


def test_chinese(app):
    at = app()
    at.run()
    at.session_state["lang"] = "zh"  # what the sidebar's picker sets
    at.switch_page("pages/build.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == "搭建网络"
    assert any(s.value == "形状与参数" for s in at.subheader)
    assert at.metric[0].label == "参数量"
    assert at.selectbox(key="build_preset").options[0] == "MLP（课程：Flatten-128-64-10）"
    click(at, "build_rm_", 0)  # further runs work in Chinese too
    dense = translate("Dense", "zh")  # the layer title inside the message is translated too
    assert any(e.value.startswith(f"第 1 层（{dense}）需要扁平的输入") for e in at.error)


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_loads(page, key):
    load_preset(page, key)
    assert not page.error
    from dlviz.data import get_info
    from dlviz.tasks import task_of_spec

    shape = get_info("rt-polarity").input_shape if PRESETS[key].kind == "text" else (1, 28, 28)
    k = 2 if PRESETS[key].kind == "text" else 10
    if task_of_spec(PRESETS[key].spec).name == "reconstruction":  # an autoencoder ends in the input's shape
        k = None
    assert params(page) == f"{build(PRESETS[key].spec, shape, k).params:,}"
    assert page.code and "model = nn.Sequential" in page.code[0].value


@pytest.mark.parametrize("key", list(LAYER_TYPES))
def test_every_layer_type_can_be_added(page, key):
    """Adding any type never crashes the page: it builds, or an error names a layer."""
    n = len(layer_types(page))
    page.selectbox(key="build_add_type").set_value(key).run()
    click(page, "build_add")
    assert layer_types(page)[n - 1] == key and len(layer_types(page)) == n + 1
    assert page.metric or any("Layer" in e.value for e in page.error)


def test_registry_text_has_chinese():
    zh = catalogue("zh")
    texts = [s for lt in LAYER_TYPES.values() for s in (lt.title, lt.help, *(p.help for p in lt.params))]
    texts += [s for p in PRESETS.values() for s in (p.title, p.description)]
    assert [s for s in texts if s not in zh] == []


def test_empty_model_is_a_message(page):
    for _ in range(6):
        click(page, "build_rm_", 0)
    assert layer_types(page) == []
    assert any("no layers" in e.value for e in page.error)
    assert page.selectbox(key=[s.key for s in page.selectbox if s.key.startswith("build_add_pos_")][0]).options == [
        "At the end"
    ]
    page.selectbox(key="build_add_type").set_value("flatten").run()
    click(page, "build_add")
    assert layer_types(page) == ["flatten"]
    assert any("outputs (784)" in e.value for e in page.error)


def test_a_text_dataset_offers_text_presets_and_flags_an_image_model(page):
    page.session_state["dataset"] = "rt-polarity"
    page.run()
    assert any("reads images, but the dataset is sentences" in w.value for w in page.warning)
    options = page.selectbox(key="build_preset_text").options
    assert len(options) == 5 and not any("MLP" in o for o in options)
    click(page, "build_fix_kind")  # one click to the course's LSTM
    assert not page.warning and layer_types(page)[:2] == ["embedding", "lstm"]
    assert any("token ids" in c.value for c in page.caption)


def test_choosing_a_preset_loads_it_at_once(page):
    """Issue 13: no second click ("Load preset"); the picker clears so the same preset can be chosen again."""
    assert not [b for b in page.button if b.key == "build_load"]
    page.selectbox(key="build_preset").set_value("cnn").run()
    assert not page.exception, page.exception
    assert params(page) == "225,034"
    assert page.selectbox(key="build_preset").value is None
    assert any(
        "convolutional network" in c.value for c in page.caption
    )  # the loaded preset's description stays in view
    page.selectbox(key="build_preset").set_value("cnn").run()  # the same one again: offered, nothing to undo twice
    assert params(page) == "225,034" and len(page.session_state["spec_undo"]) == 1
    click(page, "build_undo")
    assert params(page) == "109,386"


def test_intro_says_sentence_on_a_text_dataset(page):
    """The intro's input follows the dataset: an image on MNIST, a sentence as token ids on rt-polarity."""
    assert "the image goes in at the top" in page.markdown[0].value
    page.session_state["dataset"] = "rt-polarity"
    page.run()
    assert not page.exception, page.exception
    intro = page.markdown[0].value
    assert "the sentence goes in at the top as token ids" in intro and "image" not in intro, intro
