"""Attention capture and rollout, and recurrent hidden states / gates, with known answers (no streamlit)."""

from __future__ import annotations

import math

import pytest
import torch

from dlviz.errors import SpecError
from dlviz.inspect.attention import attention_layers, attention_maps, rollout
from dlviz.inspect.sequence import GATES, hidden_states
from dlviz.models import PRESETS, build
from dlviz.models.layers import EncoderLayer

L, V = 12, 40
SENT = [4, 11, 7, 29, 3]


def _ids(sent=SENT, length=L):
    out = torch.zeros(length, dtype=torch.long)
    if sent:
        out[length - len(sent) :] = torch.tensor(sent)
    return out


def _transformer(layers=2, heads=2, dim=8, seed=0):
    spec = {
        "layers": [
            {"type": "embedding", "vocab": V, "dim": dim},
            {"type": "transformer", "layers": layers, "heads": heads, "feedforward": 16},
            {"type": "timepool"},
            {"type": "dense", "units": 2},
        ]
    }
    return build(spec, (L,), 2, seed=seed).module


# --------------------------------------------------------------------------- attention
def test_rows_sum_to_one_over_real_tokens_and_pads_get_nothing():
    model = build(PRESETS["transformer"].spec, (L,), 2, seed=0, vocab_size=V).module.train()
    ids = _ids()
    before = ids.clone()
    keep, maps = attention_maps(model, ids)
    assert maps.shape == (2, 4, L, L) and maps.device.type == "cpu" and not maps.requires_grad
    assert keep.tolist() == [False] * (L - len(SENT)) + [True] * len(SENT)
    real = maps[..., keep, :]  # rows of real tokens
    assert torch.allclose(real.sum(-1), torch.ones(2, 4, len(SENT)), atol=1e-6)
    assert real[..., ~keep].abs().max() == 0  # no weight on pads
    assert maps[..., ~keep, :].abs().max() == 0  # pads attend nowhere
    # the model is as it was: training mode, attention capture off, input unchanged
    assert model.training and torch.equal(ids, before)
    assert all(m.keep_attention is False and m.attention is None for _, m in attention_layers(model))


def test_hand_built_two_token_attention_gives_the_known_map():
    """Q = K = identity on two normalised tokens: scores x_i.x_j / sqrt(4) = [[2, 0], [0, 2]]."""
    layer = EncoderLayer(dim=4, heads=1, feedforward=4, dropout=0.0).eval()
    with torch.no_grad():
        for proj in (layer.q, layer.k, layer.v):
            proj.weight.copy_(torch.eye(4))
            proj.bias.zero_()
    layer.keep_attention = True
    # mean 0 and variance 1 already, so LayerNorm leaves them (almost exactly) as they are
    x = torch.tensor([[[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]]])
    layer(x)
    s = 1 / (1 + math.exp(-2))  # softmax([2, 0]) = [sigmoid(2), sigmoid(-2)]
    expected = torch.tensor([[s, 1 - s], [1 - s, s]])
    assert torch.allclose(layer.attention[0, 0], expected, atol=1e-4)
    # a pad in front (masked) changes nothing for the two real tokens, and gets no weight
    x3 = torch.cat([torch.zeros(1, 1, 4), x], dim=1)
    layer(x3, real=torch.tensor([[False, True, True]]))
    assert torch.allclose(layer.attention[0, 0, 1:, 1:], expected, atol=1e-4)
    assert layer.attention[0, 0, :, 0].abs().max() == 0 and layer.attention[0, 0, 0].abs().max() == 0


def test_two_heads_split_the_vector():
    """Head h sees dims [2h, 2h+2): tokens equal in head 0's half, different in head 1's."""
    layer = EncoderLayer(dim=4, heads=2, feedforward=4, dropout=0.0).eval()
    with torch.no_grad():
        for proj in (layer.q, layer.k):
            proj.weight.copy_(torch.eye(4) * math.sqrt(2))  # scores = 2 x_i.x_j / sqrt(2) per head
            proj.bias.zero_()
    layer.keep_attention = True
    x = torch.tensor([[[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, -1.0, 1.0]]])
    layer(x)
    a = layer.attention[0]
    assert torch.allclose(a[0], torch.full((2, 2), 0.5), atol=1e-4)  # head 0: both tokens alike
    s = 1 / (1 + math.exp(-8 / math.sqrt(2)))  # head 1: scores +-2*2/sqrt(2)
    assert torch.allclose(a[1], torch.tensor([[s, 1 - s], [1 - s, s]]), atol=1e-4)


def test_captured_weights_equal_softmax_qk_recomputed_from_the_layer():
    model = _transformer(layers=2, heads=4, dim=8).eval()
    ids = _ids()
    inputs = []
    handles = [
        m.register_forward_pre_hook(lambda _m, args: inputs.append((args[0].detach(), args[1])))
        for _, m in attention_layers(model)
    ]
    try:
        keep, maps = attention_maps(model, ids)
    finally:
        for h in handles:
            h.remove()
    assert len(inputs) == 2
    for (name, layer), (x, real), got in zip(attention_layers(model), inputs, maps):
        h = layer.norm1(x)[0]  # (T, D)
        q = layer.q(h).view(L, 4, 2).transpose(0, 1)  # (heads, T, d_head)
        k = layer.k(h).view(L, 4, 2).transpose(0, 1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(2)
        sub = scores[:, keep][:, :, keep].softmax(-1)  # softmax over the real tokens only
        assert torch.allclose(got[:, keep][:, :, keep], sub, atol=1e-6), name
        assert torch.equal(real[0], keep)


def test_only_pads_and_a_model_without_attention():
    model = _transformer()
    keep, maps = attention_maps(model, _ids([]))
    assert not keep.any() and torch.isfinite(maps).all() and maps.abs().max() == 0
    with pytest.raises(SpecError, match="no Transformer layer"):
        attention_maps(build(PRESETS["lstm"].spec, (L,), 2, vocab_size=V).module, _ids())


def test_two_stacked_transformer_layers_give_every_encoder_layer():
    spec = {
        "layers": [
            {"type": "embedding", "vocab": V, "dim": 8},
            {"type": "transformer", "layers": 1, "heads": 2},
            {"type": "transformer", "layers": 3, "heads": 4},
        ]
    }
    keep, maps = attention_maps(build(spec, (L,), None).module, _ids())
    assert maps.shape == (4, 4, L, L)  # 1 + 3 encoder layers, up to 4 heads
    sums = maps[:, :, keep].sum(-1)  # (layers, heads, real rows)
    assert torch.allclose(sums[0, :2], torch.ones(2, len(SENT)), atol=1e-6)
    assert maps[0, 2:].abs().max() == 0  # the 2-head layer has no heads 3 and 4
    assert torch.allclose(sums[1:], torch.ones(3, 4, len(SENT)), atol=1e-6)


def test_rollout_known_answers():
    # one head, T = 2: A = [[.5, .5], [.5, .5]]; (A + I) renormalised = [[.75, .25], [.25, .75]]
    maps = torch.full((2, 1, 2, 2), 0.5)
    one = rollout(maps[:1])
    assert torch.allclose(one, torch.tensor([[0.75, 0.25], [0.25, 0.75]]))
    two = rollout(maps)  # the product of two such layers
    assert torch.allclose(two, torch.tensor([[0.625, 0.375], [0.375, 0.625]]))
    # heads are averaged first: identity + uniform heads = the single-head 0.5 case
    heads = torch.stack([torch.eye(2), torch.ones(2, 2) - torch.eye(2)])  # (2 heads, 2, 2)
    assert torch.allclose(rollout(heads[None]), one)
    # with a pad: its row and column are 0, real rows still sum to 1
    model = _transformer(layers=3)
    keep, m = attention_maps(model, _ids())
    r = rollout(m, keep)
    assert torch.allclose(r[keep].sum(-1), torch.ones(int(keep.sum())), atol=1e-5)
    assert r[~keep].abs().max() == 0 and r[:, ~keep].abs().max() == 0
    assert torch.equal(rollout(torch.zeros(0, 1, 3, 3)), torch.eye(3))  # no layers: every token is itself


# --------------------------------------------------------------------------- recurrent hidden states and gates
def _text(layer: dict, dim=6, seed=0):
    return build({"layers": [{"type": "embedding", "vocab": V, "dim": dim}, layer]}, (L,), None, seed=seed).module


def test_lstm_hidden_states_equal_nn_lstm_and_gates_are_consistent():
    model = build(PRESETS["lstm"].spec, (L,), 2, seed=0, vocab_size=V).module.train()
    ids = _ids()
    traces = hidden_states(model, ids)
    assert model.training
    assert [(t.name, t.kind, t.layer, t.direction) for t in traces] == [("lstm_1", "lstm", 0, "forward")]
    tr = traces[0]
    keep = ids != 0
    assert torch.equal(tr.keep, keep) and tr.hidden.shape == (L, 128)
    with torch.no_grad():
        emb = model.embedding_1(ids[keep].unsqueeze(0))
        out, (h_n, c_n) = model.lstm_1.rnn(emb)  # nn.LSTM itself on the real tokens
    assert torch.allclose(tr.hidden[keep], out[0], atol=1e-5)
    assert torch.allclose(tr.cell[-1], c_n[0, 0], atol=1e-5)
    assert tr.hidden[~keep].abs().max() == 0
    assert set(tr.gates) == set(GATES["lstm"]) == {"input", "forget", "cell", "output"}
    g = {k: v[keep] for k, v in tr.gates.items()}
    for k in ("input", "forget", "output"):
        assert (g[k] > 0).all() and (g[k] < 1).all()  # sigmoid gates
    # the cell equations hold step by step: c_t = f c_{t-1} + i g, h_t = o tanh(c_t)
    c = tr.cell[keep]
    prev = torch.cat([torch.zeros(1, 128), c[:-1]])
    assert torch.allclose(c, g["forget"] * prev + g["input"] * g["cell"], atol=1e-5)
    assert torch.allclose(tr.hidden[keep], g["output"] * c.tanh(), atol=1e-5)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_stacked_bidirectional_traces_equal_the_layer_outputs(kind):
    model = _text({"type": kind, "hidden": 5, "layers": 2, "bidirectional": True, "return_sequence": True})
    ids = _ids()
    traces = hidden_states(model, ids)
    assert [(t.layer, t.direction) for t in traces] == [
        (0, "forward"),
        (0, "backward"),
        (1, "forward"),
        (1, "backward"),
    ]
    with torch.no_grad():
        out = model(ids.unsqueeze(0))[0]  # (T, 10): the top layer, both directions, zero at pads
    top = torch.cat([traces[2].hidden, traces[3].hidden], dim=1)
    assert torch.allclose(top, out, atol=1e-5)
    assert set(traces[0].gates) == set(GATES[kind]) and (traces[0].cell is not None) == (kind == "lstm")


def test_image_rnn_preset_reads_every_row():
    model = build(PRESETS["rnn"].spec, (1, 28, 28), 10, seed=0).module
    x = torch.zeros(1, 28, 28)
    x[0, 8:20, 6:22] = 0.7
    (tr,) = hidden_states(model, x)
    assert tr.keep.all() and tr.hidden.shape == (28, 128)
    with torch.no_grad():
        out, _ = model.lstm_1.rnn(x)  # rows as time steps
    assert torch.allclose(tr.hidden, out[0], atol=1e-5)


def test_only_pads_and_no_recurrent_layer():
    model = _text({"type": "gru", "hidden": 4})
    (tr,) = hidden_states(model, _ids([]))
    assert not tr.keep.any() and tr.hidden.abs().max() == 0 and torch.isfinite(tr.hidden).all()
    assert hidden_states(_transformer(), _ids()) == []
