"""Compression (issue 16 item 5): pruning's sparsity and permanent zeros, int8 close to float and smaller on disk,
a distilled student that is smaller and learns, the variants saved as runs, and the CLI verb."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from cli_util import run_cli
from page_util import saved_run
from safetensors.torch import load, save

from dlviz.compress import (
    Request,
    chart_points,
    compress_run,
    compression_of,
    dequantized_state,
    int8_tensors,
    is_int8,
    load_int8,
    load_model,
    nonzero,
    plan,
    prune_model,
    quantize,
    skeleton,
    sparsity,
    variants,
)
from dlviz.compress.distil import distil
from dlviz.models import PRESETS, build
from dlviz.runs import RunStore


def _model(preset: str, seed: int = 0):
    return build(PRESETS[preset].copy_spec(), (1, 28, 28), 10, seed=seed).module.eval()


@pytest.mark.parametrize("per_layer", [False, True])
def test_pruning_gives_the_asked_sparsity_with_permanent_zeros(per_layer):
    m = _model("cnn")
    before = {k: v.clone() for k, v in m.state_dict().items()}
    prune_model(m, 0.6, per_layer=per_layer)
    sp = sparsity(m)
    assert sp["all"] == pytest.approx(0.6, abs=1e-3)
    if per_layer:
        assert all(v == pytest.approx(0.6, abs=2e-3) for k, v in sp.items())
    else:  # global: layers lose different shares
        assert max(sp.values()) - min(sp.values()) > 0.05
    # permanent: no mask or original left, the zeros are in the plain weights and the state dict keeps its keys
    assert set(m.state_dict()) == set(before)
    assert not any(k.endswith(("_orig", "_mask")) for k in m.state_dict())
    assert all(not hasattr(mod, "weight_mask") for mod in m.modules())
    w = m.dense_1.weight
    zeros = w == 0
    # the kept weights are the largest ones, unchanged
    kept = before["dense_1.weight"][~zeros]
    assert torch.equal(w[~zeros], kept)
    assert before["dense_1.weight"][zeros].abs().max() <= kept.abs().min() + 1e-7 or not per_layer
    # the zeros stay zero through a forward and backward pass (nothing re-applies a mask)
    m.train()
    m(torch.rand(4, 1, 28, 28)).sum().backward()
    assert torch.equal(m.dense_1.weight == 0, zeros)
    assert nonzero(m) < nonzero(_model("cnn"))


def test_structured_pruning_removes_whole_filters_and_keeps_every_class():
    m = _model("cnn")
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                mod.bias.fill_(0.1)  # a removed filter's bias must go too
    prune_model(m, 0.5, structured=True)
    for name in ("conv2d_1", "conv2d_2", "dense_1"):
        layer = getattr(m, name)
        dead = (layer.weight.flatten(1) == 0).all(1)
        assert int(dead.sum()) == layer.weight.shape[0] // 2, name  # half the filters / units, whole
        assert torch.all(layer.bias[dead] == 0) and torch.all(layer.bias[~dead] == 0.1)
        assert not (layer.weight.flatten(1)[~dead] == 0).all(1).any()
    assert not (m.dense_2.weight == 0).any()  # one unit per class: the output layer is kept whole
    maps = m[:2](torch.rand(1, 1, 28, 28))[0]  # conv2d_1 + ReLU
    dead = (m.conv2d_1.weight.flatten(1) == 0).all(1)
    assert torch.all(maps[dead] == 0)  # an empty feature map, not a constant one


def test_pruning_nothing_changes_nothing_and_a_bad_share_is_refused():
    m = _model("mlp")
    ref = copy.deepcopy(m.state_dict())
    prune_model(m, 0.0)
    assert all(torch.equal(ref[k], v) for k, v in m.state_dict().items())
    with pytest.raises(ValueError):
        prune_model(m, 1.0)


@pytest.mark.parametrize("preset,how", [("cnn", "static int8"), ("mlp", "dynamic int8"), ("rnn", "dynamic int8")])
def test_int8_outputs_are_close_to_float_and_its_file_is_smaller(preset, how):
    m = _model(preset)
    x = torch.rand(32, 1, 28, 28)
    q, rows = quantize(m, x)
    assert how in {r.how for r in rows}
    with torch.no_grad():
        ref, out = m(x), q(x)
    assert (out - ref).abs().max() < 0.1 * ref.abs().max() + 1e-3  # close, not equal
    assert not torch.equal(out, ref)
    float_file = save({k: v.contiguous() for k, v in m.state_dict().items()})
    int8_file = save(int8_tensors(q))
    assert len(int8_file) < 0.35 * len(float_file)
    # the file reads back into the same int8 model, bit for bit
    q2 = load_int8(skeleton(m, (1, 28, 28)), load(int8_file))
    with torch.no_grad():
        assert torch.equal(q2(x), out)
    # the float stand-in the look-inside pages open holds the int8 weights as floats
    stand_in = copy.deepcopy(m)
    stand_in.load_state_dict(dequantized_state(m, q))
    first = next(k for k in m.state_dict() if k.endswith("weight"))
    assert not torch.equal(stand_in.state_dict()[first], m.state_dict()[first])
    assert torch.allclose(stand_in.state_dict()[first], m.state_dict()[first], atol=0.02)


def test_the_int8_plan_names_what_stays_float_and_why():
    rows = {r.name: r for r in plan(_model("resnet"))}
    assert rows["conv2d_1"].how == "static int8"
    assert rows["residual_1"].how == "float" and rows["residual_1"].reason == "residual"
    rows = {r.name: r for r in plan(_model("mlp"))}
    assert rows["dense_1"].how == "dynamic int8" and rows["flatten_1"].how == "float"


def test_distillation_makes_a_smaller_student_that_learns():
    torch.manual_seed(0)
    teacher = _model("cnn")
    with torch.no_grad():
        teacher.dense_2.weight.mul_(30)  # a confident teacher: its probabilities say something at temperature 4
    x = torch.rand(512, 28, 28)
    tf = lambda b: b.float().unsqueeze(1)  # noqa: E731
    with torch.no_grad():
        y = teacher(tf(x)).argmax(1)  # what the teacher says
    student = _model("mlp", seed=1)
    assert sum(p.numel() for p in student.parameters()) < sum(p.numel() for p in teacher.parameters())

    def agreement() -> float:
        with torch.no_grad():
            return (student(tf(x)).argmax(1) == y).float().mean().item()

    before = agreement()
    # soft targets only (alpha=1): all it learns comes from the teacher's probabilities
    losses = distil(teacher, student, x, y, tf, epochs=4, batch_size=64, alpha=1.0)
    assert losses[-1] < 0.7 * losses[0]
    assert agreement() > max(0.6, before + 0.3)


def test_variants_are_runs_with_their_parent_and_open_like_any_run(home, mnist_dir):
    orig = saved_run("cnn")
    store = RunStore()
    steps = []
    out = compress_run(
        Request(
            orig.id,
            prune=0.5,
            quantize="int8",
            distil="mlp",
            distil_epochs=1,
            data_dir=str(mnist_dir),
            train_limit=300,
            test_limit=500,
        ),
        store,
        lambda share, template, args: steps.append(share),
    )
    assert steps == sorted(steps) and steps[-1] == 1.0
    labels = [v["label"] for v in out["variants"]]
    assert labels == ["pruned 50% (global)", "pruned 50% + int8", "student (mlp)"]
    assert out["result"]["label"] == "pruned 50% + int8"
    for key in ("accuracy", "size_bytes", "latency_ms"):
        assert key in out["original"] and key in out["result"]
    assert out["original"]["test_size"] == 500 and out["threads"] == 1
    pruned, q, student = (store.get(v["run_id"]) for v in out["variants"])
    assert compression_of(pruned)["parent"] == orig.id and compression_of(q)["parent"] == pruned.id
    assert compression_of(student)["parent"] == orig.id and compression_of(q)["origin"] == orig.id
    assert [r.id for r in variants(store, orig.id)] == [pruned.id, q.id, student.id]
    assert is_int8(q) and q.status == "finished" and q.test_accuracy == out["result"]["accuracy"]
    # sizes: the pruned file is the original's size with half its weights zero; int8 a quarter; the student smaller
    assert out["variants"][0]["size_bytes"] == out["original"]["size_bytes"]
    assert out["variants"][0]["nonzero_params"] < 0.6 * out["original"]["nonzero_params"]
    assert out["variants"][1]["size_bytes"] < 0.35 * out["original"]["size_bytes"]
    assert out["variants"][2]["params"] < out["original"]["params"]
    # the int8 run loads as its int8 model; its float stand-in loads into the spec's model like any run
    qm = load_model(store, q)
    assert any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in qm.modules())
    assert len(chart_points(store, orig.id)) == 4
    # a lesson's reveal (measure "compression") lists the original and every variant, from the run or a variant
    from dlviz.lessons.measures import measure

    lines = measure("compression", store, [orig.id])
    assert [tpl.split(":")[0] for tpl, _ in lines] == [
        "The original",
        "Pruned {share} ({how})",
        "Pruned {share} + int8",
        "Student ({preset})",
    ]
    assert lines[1][1]["share"] == "50%" and lines[1][1]["how"] == "global" and lines[3][1]["preset"] == "mlp"
    assert measure("compression", store, [q.id]) == lines
    # a variant is not compressed again
    with pytest.raises(Exception, match="itself a compressed variant"):
        compress_run(Request(pruned.id, prune=0.5, data_dir=str(mnist_dir), test_limit=10), store)


def test_cli_reports_original_and_result_as_json(home, mnist_dir):
    orig = saved_run("mlp")
    r = run_cli("compress", "--run", orig.id, "--prune", "0.5", "--quantize", "int8", "--data-dir", mnist_dir, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    for part in ("original", "result"):
        assert {"accuracy", "size_bytes", "latency_ms"} <= set(out[part])
    assert out["result"]["size_bytes"] < out["original"]["size_bytes"]
    assert out["original"]["test_size"] == 10000
    # evaluate reads an int8 run as its int8 model: the same accuracy compress measured
    ev = run_cli("evaluate", "--run", out["result"]["run_id"], "--data-dir", mnist_dir, "--json")
    assert ev.returncode == 0, ev.stderr
    ev = json.loads(ev.stdout.splitlines()[-1])
    assert ev["model"] == "int8" and ev["test_accuracy"] == out["result"]["accuracy"]
    r = run_cli("compress", "--run", orig.id, "--prune", "0.25", "--filters", "--data-dir", mnist_dir, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert (
        out["result"]["label"] == "pruned 25% (whole filters)"
        and out["result"]["nonzero_params"] < out["original"]["params"]
    )


def test_cli_bad_run_id_is_one_sentence_and_exit_2(home):
    r = run_cli("compress", "--run", "no-such-run", "--prune", "0.5", "--json")
    assert r.returncode == 2
    err = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and "no-such-run" in err[0] and "Traceback" not in r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["error"].startswith("There is no run no-such-run")
    r = run_cli("compress", "--run", saved_run("cnn").id, "--json")
    assert r.returncode == 2 and "Nothing to do" in r.stderr


def test_the_chart_has_a_point_per_variant_in_both_panels_and_a_legend_per_kind():
    from dlviz.i18n import translate
    from dlviz.plots.compress import compression_chart

    def m(rid, label, acc, size, ms):
        return {"run_id": rid, "label": label, "accuracy": acc, "size_bytes": size, "latency_ms": ms, "params": 10}

    points = [
        m("a", "original", 0.99, 900_000, 0.15),
        m("b", "pruned 50% (global)", 0.98, 900_000, 0.15),
        m("c", "pruned 50% + int8", 0.98, 230_000, 0.15),
        m("d", "student (mlp)", 0.97, 430_000, 0.02),
    ]
    fig = compression_chart(points, tr=lambda s, **kw: translate(s, "zh", **kw), labels={"c": "剪枝 50% + int8"})
    assert [tr.name for tr in fig.data if tr.showlegend] == ["原模型", "剪枝", "int8", "学生网络"]
    assert sum(len(tr.x) for tr in fig.data) == 8  # every point in both panels
    int8 = [tr for tr in fig.data if tr.name == "int8"]
    assert int8[0].x[0] == 230_000 / 1024 and int8[1].x[0] == 0.15 and "剪枝 50% + int8" in int8[0].hovertext[0]


def test_a_student_compresses_a_run_they_may_only_read(home, mnist_dir):
    """In a class a student may compress a shared run (a lesson's, a read-only link's): the variant is theirs, and
    the original's numbers, which they may not write into its folder, ride along with the variant."""
    from dlviz.classroom import Person
    from dlviz.classroom.owned import OwnedStore
    from dlviz.lessons.measures import measure

    orig = saved_run("cnn")
    ann = Person("s-ann", "Ann", "student")
    store = OwnedStore(ann, also=frozenset({orig.id}))
    out = compress_run(Request(orig.id, prune=0.5, data_dir=str(mnist_dir), test_limit=100, owner=ann.id), store)
    variant = RunStore().get(out["variants"][0]["run_id"])
    assert variant.owner == "s-ann" and compression_of(variant)["parent"] == orig.id
    assert not RunStore().has_record(orig.id, "compress-original")  # not written into what is not hers
    points = chart_points(store, orig.id)
    assert [p["label"] for p in points] == ["original", "pruned 50% (global)"]
    assert measure("compression", store, [orig.id])[0][0].startswith("The original")
