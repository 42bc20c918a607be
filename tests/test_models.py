"""Layer registry, shape-inferring builder, presets and exporters (no streamlit)."""

from __future__ import annotations

import json

import pytest
import torch

from dlviz.errors import SpecError
from dlviz.models import (
    LAYER_TYPES,
    PRESETS,
    build,
    insert_layer,
    move_layer,
    normalize,
    remove_layer,
    to_dot,
    to_json,
    to_pytorch,
)
from dlviz.tasks import task_of_spec

IMG = (1, 28, 28)

# For every layer type: a spec that puts it in a place where it makes sense, and its expected
# output shape there (so adding a layer type without a test fails test_every_layer_type_is_covered).
CASES = {
    "dense": ([{"type": "flatten"}, {"type": "dense", "units": 7}], IMG, (7,)),
    "conv2d": ([{"type": "conv2d", "out": 4, "kernel": 5, "stride": 1, "padding": 2}], IMG, (4, 28, 28)),
    "maxpool": ([{"type": "maxpool", "size": 2}], IMG, (1, 14, 14)),
    "avgpool": ([{"type": "avgpool", "size": 4, "stride": 2}], IMG, (1, 13, 13)),
    "gap": ([{"type": "conv2d", "out": 6}, {"type": "gap"}], IMG, (6,)),
    "residual": ([{"type": "residual", "channels": 8, "stride": 2}], IMG, (8, 14, 14)),
    "flatten": ([{"type": "flatten"}], IMG, (784,)),
    "reshape": ([{"type": "flatten"}, {"type": "reshape", "channels": 4, "height": 14, "width": 14}], IMG, (4, 14, 14)),
    "upsample": ([{"type": "upsample", "scale": 2}], IMG, (1, 56, 56)),
    "dropout": ([{"type": "dropout", "p": 0.5}], IMG, IMG),
    "batchnorm": ([{"type": "batchnorm"}], IMG, IMG),
    "relu": ([{"type": "relu"}], IMG, IMG),
    "leakyrelu": ([{"type": "leakyrelu", "slope": 0.1}], IMG, IMG),
    "sigmoid": ([{"type": "sigmoid"}], IMG, IMG),
    "tanh": ([{"type": "tanh"}], IMG, IMG),
    "gelu": ([{"type": "gelu"}], IMG, IMG),
    "rows": ([{"type": "rows"}], IMG, (28, 28)),
    "embedding": ([{"type": "embedding", "vocab": 50, "dim": 6}], (12,), (12, 6)),
    "rnn": ([{"type": "rows"}, {"type": "rnn", "hidden": 9}], IMG, (9,)),
    "lstm": ([{"type": "rows"}, {"type": "lstm", "hidden": 9, "bidirectional": True}], IMG, (18,)),
    "gru": ([{"type": "rows"}, {"type": "gru", "hidden": 9, "return_sequence": True}], IMG, (28, 9)),
    "timepool": ([{"type": "rows"}, {"type": "timepool", "mode": "max"}], IMG, (28,)),
    "transformer": (
        [{"type": "embedding", "vocab": 50, "dim": 8}, {"type": "transformer", "heads": 2}],
        (12,),
        (12, 8),
    ),
    "kimconv": ([{"type": "embedding", "vocab": 50, "dim": 8}, {"type": "kimconv", "filters": 6}], (12,), (18,)),
}
TEXT_INPUT = {"embedding", "transformer", "kimconv"}  # their cases read token ids


def test_every_layer_type_is_covered():
    assert set(CASES) == set(LAYER_TYPES)


@pytest.mark.parametrize("key", list(LAYER_TYPES))
def test_layer_builds_and_infers_its_shape(key):
    layers, shape, expected = CASES[key]
    dtype = torch.long if key in TEXT_INPUT else torch.float32
    built = build({"layers": layers}, shape, num_classes=None, input_dtype=dtype)
    assert built.table[-1].output_shape == expected
    x = torch.zeros((3, *shape), dtype=dtype)
    built.module.eval()
    assert tuple(built.module(x).shape) == (3, *expected)  # the table is what really comes out
    assert built.table[-1].params == sum(p.numel() for p in list(built.module.children())[-1].parameters())


@pytest.mark.parametrize("key", list(LAYER_TYPES))
def test_layer_defaults_are_valid_settings(key):
    lt = LAYER_TYPES[key]
    spec = normalize({"layers": [{"type": key}]})
    assert set(spec["layers"][0]) == {"type"} | {p.name for p in lt.params}


def test_course_parameter_counts():
    assert build(PRESETS["mlp"].spec).params == 109_386
    assert build(PRESETS["cnn"].spec).params == 225_034


@pytest.mark.parametrize("key", [k for k, p in PRESETS.items() if p.input == "image"])  # text: test_text_models
def test_preset_builds_trains_one_step_and_exports(key):
    task = task_of_spec(PRESETS[key].spec)  # an autoencoder gives back its input; a classifier 10 scores
    classes = 10 if task.name == "classification" else None
    built = build(PRESETS[key].spec, IMG, classes, seed=0)
    assert built.table[-1].output_shape == ((10,) if classes else IMG)
    model = built.module
    x, y = torch.rand(8, *IMG), torch.randint(0, 10, (8,))
    inp, target = task.pair(x, y)
    loss = task.loss(model(inp), target)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    # the exported plain-PyTorch code defines the same network with the same state_dict keys
    ns: dict = {}
    exec(to_pytorch(PRESETS[key].spec), ns)
    plain = ns["model"]
    plain.load_state_dict(model.state_dict())
    plain.eval(), model.eval()
    assert torch.allclose(plain(x), model(x), atol=1e-6)
    # JSON export round-trips through normalize
    assert normalize(json.loads(to_json(PRESETS[key].spec))) == normalize(PRESETS[key].spec)
    assert to_dot(built).startswith("digraph")


def test_deep_sigmoid_is_all_sigmoid_and_resnet_has_skips():
    types = [layer["type"] for layer in PRESETS["deep-sigmoid"].spec["layers"]]
    assert "relu" not in types and types.count("sigmoid") >= 6
    assert sum(t == "residual" for t in (layer["type"] for layer in PRESETS["resnet"].spec["layers"])) >= 2
    rnn = PRESETS["rnn"].spec["layers"]
    assert rnn[0]["type"] == "rows" and rnn[1] == {"type": "lstm", "hidden": 128}


def test_glorot_init_and_seed():
    a, b = build(PRESETS["mlp"].spec, seed=1).module, build(PRESETS["mlp"].spec, seed=1).module
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    dense = a.dense_1
    bound = (6 / (784 + 128)) ** 0.5
    assert dense.weight.abs().max() <= bound and torch.count_nonzero(dense.bias) == 0


@pytest.mark.parametrize(
    "spec,needle,layer",
    [
        (
            [
                {"type": "maxpool", "size": 8},
                {"type": "maxpool", "size": 8},
                {"type": "flatten"},
                {"type": "dense", "units": 10},
            ],
            "Layer 2 (MaxPool): its window of 8x8 is larger than its 3x3 input",
            1,
        ),
        ([{"type": "dense", "units": 10}], "Add a Flatten layer before it", 0),
        ([{"type": "flatten"}, {"type": "conv2d"}], "needs an image-shaped input", 1),
        ([{"type": "conv2d", "kernel": 15}, {"type": "conv2d", "kernel": 15}], "kernel of 15x15 is larger", 1),
        ([{"type": "lstm"}], "Add a 'Rows' layer", 0),
        ([{"type": "flatten"}, {"type": "dense", "units": 5}], "the dataset has 10 classes", 1),
        ([{"type": "flatten"}, {"type": "dense", "units": "many"}], "setting 'units'", 1),
        ([{"type": "flatten"}, {"type": "dense", "units": 0}], "from 1 to 8192", 1),
        ([{"type": "dropout", "p": 2}], "from 0 to 0.95", 0),
        ([{"type": "teleport"}], "unknown layer type 'teleport'", 0),
        ([{"type": "flatten"}, {"type": "dense", "units": 10, "colour": "red"}], "unknown setting(s) colour", 1),
        ([{"units": 3}], "must be an object with a \"type\"", 0),
    ],
)
def test_impossible_specs_name_the_layer_and_the_fix(spec, needle, layer):
    with pytest.raises(SpecError) as e:
        build(spec, IMG, 10)
    assert needle in str(e.value)
    assert e.value.layer == layer


@pytest.mark.parametrize("bad", ["{not json", "[1, 2", "42", '{"layers": 3}', "{}", '{"layers": []}'])
def test_malformed_json_is_a_spec_error(bad):
    with pytest.raises(SpecError):
        build(bad)


def test_editing_helpers_do_not_touch_the_original():
    spec = PRESETS["mlp"].copy_spec()
    before = json.dumps(spec)
    s2 = insert_layer(spec, 1, "dropout")
    assert s2["layers"][1]["type"] == "dropout" and json.dumps(spec) == before
    s3 = move_layer(s2, 1, 1)
    assert s3["layers"][2]["type"] == "dropout"
    s4 = remove_layer(s3, 2)
    assert normalize(s4) == normalize(spec)
    assert move_layer(spec, 0, -1) == spec  # out of range: unchanged


def test_diagram_words_follow_the_language():
    """The Build page's diagram: "Input", "params" and "skip" in the session's language (issue: English
    boxes on the Chinese page)."""
    built = build(PRESETS["resnet"].spec, (1, 28, 28), 10)
    en, zh = to_dot(built), to_dot(built, lang="zh")
    assert 'label="Input\\n' in en and " params" in en and 'label=" skip"' in en
    assert 'label="输入\\n' in zh and "个参数" in zh and 'label=" 跳连"' in zh
    assert "Input" not in zh and " params" not in zh and " skip" not in zh
