"""Every layer type's cost on shapes (dlviz.models.layers, "costs on shapes") against a real forward pass.

The estimate works out each layer's output shape, activations and FLOPs by hand, with no forward pass. Here the
same layers run for real on small CPU tensors, with PyTorch's own FLOP counter (torch.utils.flop_counter) and a
hook on every leaf module that records what it outputs: the figures the estimate must give, layer by layer.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from dlviz.errors import SpecError
from dlviz.models.builder import estimate, normalize
from dlviz.models.layers import LAYER_TYPES, Recurrent
from dlviz.models.presets import PRESETS

TEXT = (12,)  # 12 token ids
IMAGE = (1, 28, 28)
# turning oneDNN off (below) makes PyTorch warn about an Intel GPU feature it does not have
pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration")


def _traced(spec: dict, input_shape: tuple) -> list[tuple[tuple, int, int, int]]:
    """(output shape, numbers output by its leaf modules, FLOPs, parameters) per layer, per example, measured by
    running each layer on a batch of 2 real inputs (BatchNorm needs two)."""
    spec = normalize(spec)
    reads = LAYER_TYPES[spec["layers"][0]["type"]].reads
    shape = tuple(input_shape)
    x = torch.ones((2, *shape), dtype=reads.dtype)  # token id 1 everywhere: a real word, no pads
    rows = []
    for i, layer in enumerate(spec["layers"]):
        module = LAYER_TYPES[layer["type"]].build(layer, shape, i)
        kept: list[torch.Tensor] = []
        leaves = [m for m in module.modules() if not any(True for _ in m.children())] or [module]
        hooks = [m.register_forward_hook(lambda _m, _i, o: kept.append(o)) for m in leaves]  # noqa: B023
        # oneDNN's fused LSTM is one kernel the counter does not see; without it the LSTM runs as matrix products
        with torch.backends.mkldnn.flags(enabled=False), torch.no_grad(), FlopCounterMode(display=False) as counter:
            x = module(x)
        for h in hooks:
            h.remove()
        numbers = sum(o.numel() for o in kept if isinstance(o, torch.Tensor)) // 2
        params = sum(p.numel() for p in module.parameters())
        rows.append((tuple(x.shape[1:]), numbers, counter.get_total_flops() // 2, params, module))
        shape = tuple(x.shape[1:])
    return rows


def _conv(**p):
    return {"type": "conv2d", **p}


# Models that between them use every layer type, most with settings that change their shapes: strides,
# padding, a residual block with and without its 1x1 shortcut, learned positions, an unused TextCNN width.
CASES = {
    "convolutions": (
        [
            _conv(out=4, kernel=3),
            {"type": "relu"},
            _conv(out=6, kernel=5, stride=2, padding=2),
            {"type": "leakyrelu", "slope": 0.2},
            {"type": "maxpool", "size": 3, "stride": 2},
            {"type": "batchnorm"},
            {"type": "avgpool", "size": 2},
            {"type": "tanh"},
            {"type": "flatten"},
            {"type": "dense", "units": 7},
            {"type": "batchnorm"},
            {"type": "sigmoid"},
            {"type": "dropout", "p": 0.5},
            {"type": "dense", "units": 3, "bias": False},
        ],
        IMAGE,
    ),
    "residual": (
        [
            _conv(out=8, kernel=3, padding=1),
            {"type": "residual", "channels": 8},  # same shape: the skip is the input itself
            {"type": "residual", "channels": 12, "stride": 2},  # a 1x1 convolution on the skip
            {"type": "residual", "channels": 12, "stride": 2},
            {"type": "gap"},
            {"type": "gelu"},
            {"type": "dense", "units": 10},
        ],
        IMAGE,
    ),
    "decoder": (
        [
            {"type": "flatten"},
            {"type": "dense", "units": 5 * 7 * 7},
            {"type": "reshape", "channels": 5, "height": 7, "width": 7},
            {"type": "upsample", "scale": 2},
            _conv(out=3, kernel=3, padding=1),
            {"type": "upsample", "scale": 3},
            _conv(out=1, kernel=5),
        ],
        IMAGE,
    ),
    "image rows": (
        [
            {"type": "rows"},
            {"type": "rnn", "hidden": 9, "layers": 2, "return_sequence": True},
            {"type": "gru", "hidden": 5, "bidirectional": True, "return_sequence": True},
            {"type": "lstm", "hidden": 6, "layers": 2, "bidirectional": True},
            {"type": "dense", "units": 10},
        ],
        IMAGE,
    ),
    "text recurrent": (
        [
            {"type": "embedding", "vocab": 50, "dim": 8},
            {"type": "lstm", "hidden": 7, "return_sequence": True},
            {"type": "timepool", "mode": "max"},
            {"type": "dense", "units": 2},
        ],
        TEXT,
    ),
    "text transformer": (
        [
            {"type": "embedding", "vocab": 50, "dim": 12},
            {"type": "transformer", "layers": 2, "heads": 3, "feedforward": 20},
            {"type": "transformer", "layers": 1, "heads": 4, "feedforward": 7, "positions": "learned"},
            {"type": "timepool", "mode": "last"},
            {"type": "dense", "units": 2},
        ],
        TEXT,
    ),
    "text cnn": (
        [
            {"type": "embedding", "vocab": 50, "dim": 6},
            {"type": "kimconv", "filters": 5, "width1": 2, "width2": 0, "width3": 4},
            {"type": "dense", "units": 2},
        ],
        TEXT,
    ),
}


def _check(spec: dict, input_shape: tuple) -> None:
    est = estimate(spec, input_shape)
    traced = _traced(spec, input_shape)
    assert est.complete and len(est.layers) == len(traced)
    shape = tuple(input_shape)
    for cost, (out, numbers, flops, params, module) in zip(est.layers, traced):
        lt = LAYER_TYPES[normalize(spec)["layers"][cost.index]["type"]]
        where = f"layer {cost.index + 1} ({cost.title})"
        assert cost.params == params, where
        assert cost.flops == flops, where
        assert lt.cost_of(module, shape)[0] == out, where
        if isinstance(module, Recurrent):
            # a recurrent layer keeps its gates and its state at every step for the backward pass: more than
            # its one output module shows (the estimate's own figure, from the layer's sizes)
            assert cost.activation_bytes >= numbers * 4, where
        else:
            assert cost.activation_bytes == numbers * 4, where
        shape = out


@pytest.mark.parametrize("case", list(CASES))
def test_each_layer_costs_what_a_real_forward_pass_measures(case):
    layers, input_shape = CASES[case]
    _check({"layers": layers}, input_shape)


def test_the_cases_cover_every_layer_type():
    used = {
        normalize({"layers": layers})["layers"][i]["type"] for layers, _ in CASES.values() for i in range(len(layers))
    }
    assert used == set(LAYER_TYPES), f"no case for {set(LAYER_TYPES) - used}"


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_costs_what_a_real_forward_pass_measures(key):
    preset = PRESETS[key]
    if preset.kind == "text":
        spec = normalize(preset.spec)
        spec["layers"][0]["vocab"] = 300  # a small table: the cost of the layers after it does not depend on it
        _check(spec, (20,))
    else:
        _check(preset.spec, IMAGE)


def test_an_impossible_layer_is_named_before_anything_is_costed():
    spec = {"layers": [_conv(out=2, kernel=3), {"type": "residual", "channels": 2, "stride": 2}] * 4}
    with pytest.raises(SpecError) as e:
        estimate(spec, (1, 7, 7))
    assert e.value.layer == 3 and "stride 2 on a 1x1 input" in str(e.value)


def test_the_estimate_does_not_import_torch_dynamo():
    """On the meta device a matrix product imports torch._dynamo on its first call (0.8-2.6 s once per process):
    the estimate must not pay it, nor make the server's first seconds pay it (issue 18)."""
    code = (
        "import sys\n"
        "from dlviz.models.builder import estimate\n"
        "from dlviz.models.presets import PRESETS\n"
        "for p in PRESETS.values():\n"
        "    estimate(p.spec, (64,) if p.kind == 'text' else (1, 28, 28))\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def _random_layer(rng, key: str) -> dict:
    layer = {"type": key}
    for p in LAYER_TYPES[key].params:
        if p.kind == "int":
            layer[p.name] = rng.randint(p.min, min(p.max, 12))
        elif p.kind == "float":
            layer[p.name] = round(rng.uniform(p.min, p.max), 2)
        elif p.kind == "bool":
            layer[p.name] = rng.random() < 0.5
        else:
            layer[p.name] = rng.choice(p.choices)
    return layer


def test_random_models_a_hostile_user_might_stack():
    """400 random stacks of random layers on random input shapes (seeded): the estimate either names a problem (a
    SpecError) or agrees with the model built for real on its parameters and output shape, and never calls a model
    fine that the builder then refuses."""
    import random

    from dlviz.models.builder import build

    rng = random.Random(7)
    kinds = [k for k in LAYER_TYPES if k != "embedding"]
    built = 0
    for _ in range(400):
        text = rng.random() < 0.4
        layers = [_random_layer(rng, "embedding")] if text else []
        layers += [_random_layer(rng, rng.choice(kinds)) for _ in range(rng.randint(1, 5))]
        shape = (rng.randint(1, 20),) if text else (rng.randint(1, 3), rng.randint(1, 30), rng.randint(1, 30))
        spec = {"layers": layers}
        try:
            est = estimate(spec, shape)
        except SpecError:
            continue
        cost_shape = tuple(shape)
        for c in est.layers:
            lt = LAYER_TYPES[normalize(spec)["layers"][c.index]["type"]]
            cost_shape = lt.cost_of(lt.build(normalize(spec)["layers"][c.index], cost_shape, c.index), cost_shape)[0]
        model = build(spec, shape, None, budget=False)  # a SpecError here fails the test: the estimate said fine
        assert est.complete and model.params == est.params, (layers, shape)
        assert tuple(model.table[-1].output_shape) == cost_shape, (layers, shape)
        built += 1
    assert built > 50  # the draw makes many models that build, not only ones refused early


def test_building_on_meta_leaves_other_threads_alone():
    """on_meta (the estimate's meta device and skipped initialisation) is a torch-function mode, which lives in the
    thread that entered it: a model another thread builds meanwhile (a page, a warm-up) is real and initialised."""
    import threading

    from dlviz.models.builder import on_meta

    inside, done = threading.Event(), threading.Event()

    def hold():
        with on_meta():
            inside.set()
            done.wait(30)

    th = threading.Thread(target=hold)
    th.start()
    try:
        assert inside.wait(30)
        real = torch.nn.Embedding(100, 8)
    finally:
        done.set()
        th.join(30)
    assert real.weight.device.type == "cpu" and 0.5 < float(real.weight.detach().std()) < 1.5  # N(0, 1) init
    with on_meta():
        skipped = torch.nn.Embedding(100, 8)
    assert skipped.weight.device.type == "meta"
