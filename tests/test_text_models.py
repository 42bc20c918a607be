"""Text layers (pad convention, bidirectional, transformer, Kim CNN), text presets, vocab override (no streamlit)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from dlviz.errors import SpecError
from dlviz.i18n import catalogue
from dlviz.models import LAYER_TYPES, PRESETS, build, normalize, to_json, to_pytorch
from dlviz.models.builder import for_dataset, reads, with_vocab
from dlviz.models.layers import MASKS_PADS, EncoderLayer, KimConv, Recurrent, TimePool

TEXT = [k for k, p in PRESETS.items() if p.input == "text"]
L, V = 16, 60


def _emb(dim=8, vocab=V):
    return {"type": "embedding", "vocab": vocab, "dim": dim}


def _ids(*rows, length=L):
    """Pre-padded id rows (PAD = 0 at the start)."""
    out = torch.zeros(len(rows), length, dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            out[i, length - len(r) :] = torch.tensor(r)
    return out


SENT = [5, 9, 17, 3, 44, 8, 21]


def test_text_presets_are_the_ones_promised():
    assert set(TEXT) == {"lstm", "gru", "transformer", "kim-cnn", "bag"}
    assert all(PRESETS[k].kind == "text" for k in TEXT)
    assert all(p.input == "image" for k, p in PRESETS.items() if k not in TEXT)
    # the course's sentiment model: Embedding(10000, 128) - LSTM(128) - Dense
    assert [dict(layer) for layer in PRESETS["lstm"].spec["layers"]] == [
        {"type": "embedding", "vocab": 10000, "dim": 128},
        {"type": "lstm", "hidden": 128},
        {"type": "dense", "units": 2},
    ]
    # 1,280,000 embedding + 4*(128*128 + 128*128 + 2*128) LSTM (PyTorch keeps two bias vectors) + 258 Dense
    assert build(PRESETS["lstm"].spec, (56,), 2).params == 1_280_000 + 132_096 + 258
    gru = normalize(PRESETS["gru"].spec)["layers"][1]
    assert gru["type"] == "gru" and gru["bidirectional"]
    tr = normalize(PRESETS["transformer"].spec)["layers"][1]
    assert tr["type"] == "transformer" and tr["layers"] == 2 and tr["heads"] == 4
    assert normalize(PRESETS["transformer"].spec)["layers"][0]["dim"] in (64, 128)
    kim = normalize(PRESETS["kim-cnn"].spec)["layers"][1]
    assert (kim["width1"], kim["width2"], kim["width3"], kim["filters"]) == (3, 4, 5, 100)
    assert [x["type"] for x in PRESETS["bag"].spec["layers"]] == ["embedding", "timepool", "dense"]
    # default epochs per dataset (the Chinese reviews: 3x the sentences, learned from characters)
    assert PRESETS["kim-cnn"].epochs_for("rt-polarity") == PRESETS["kim-cnn"].epochs == 3
    assert PRESETS["kim-cnn"].epochs_for("zh-reviews") == 8 and PRESETS["kim-cnn"].epochs_for(None) == 3
    assert all(p.epochs_for("mnist") == p.epochs for p in PRESETS.values())


@pytest.mark.parametrize("key", TEXT)
def test_text_preset_builds_runs_ignores_pads_and_exports(key):
    built = build(PRESETS[key].spec, (L,), 2, seed=0, vocab_size=V)
    assert built.input_dtype == torch.long and built.table[0].output_shape[0] == L
    assert built.module.embedding_1.num_embeddings == V  # the dataset's vocabulary replaced the preset's 10,000
    model = built.module.eval()
    batch = _ids(SENT, [7, 7, 2], [], list(range(1, L + 1)))  # pads, a short one, only pads, no pads
    out = model(batch)
    assert out.shape == (4, 2) and torch.isfinite(out).all()
    # the same sentence with more pre-padding (a longer input) gives the same output: pads truly ignored
    alone = model(_ids(SENT, length=len(SENT)))
    longer = model(_ids(SENT, length=L + 9))
    assert torch.allclose(alone, out[:1], atol=1e-5) and torch.allclose(longer, out[:1], atol=1e-5)
    # every other sentence in the batch does not change it either
    assert torch.allclose(model(batch[:1]), out[:1], atol=1e-5)
    # the exported plain PyTorch code is the same network with the same state_dict keys
    ns: dict = {}
    exec(to_pytorch(with_vocab(PRESETS[key].spec, V), (L,), 2), ns)
    plain = ns["model"]
    plain.load_state_dict(model.state_dict())
    plain.eval()
    assert torch.allclose(plain(batch), out, atol=1e-6)
    assert normalize(json.loads(to_json(PRESETS[key].spec))) == normalize(PRESETS[key].spec)


@pytest.mark.parametrize("key", TEXT)
def test_text_preset_trains_and_pads_only_gives_no_nan(key):
    torch.manual_seed(0)
    model = build(PRESETS[key].spec, (L,), 2, seed=0, vocab_size=V).module.train()
    # a learnable rule: class 1 iff token 7 occurs; sentences of 3..12 tokens, one sentence of only pads
    g = torch.Generator().manual_seed(1)
    rows = [
        torch.randint(8, V, (int(torch.randint(3, 13, (1,), generator=g)),), generator=g).tolist() for _ in range(63)
    ]
    for r in rows[::2]:
        r[int(torch.randint(0, len(r), (1,), generator=g))] = 7
    x = _ids(*rows, [])
    y = torch.tensor([int(7 in r) for r in rows] + [0])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses
    model.eval()
    assert torch.isfinite(model(_ids([], []))).all()


# --------------------------------------------------------------------------- recurrent layers
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_last_is_the_last_real_token(kind):
    """With pre-padding the state starts at the first real token and 'last' is the last real one."""
    torch.manual_seed(0)
    layer = Recurrent(kind, 4, 5, mask_pads=True).eval()
    x = torch.randn(1, 6, 4)
    x[:, :2] = 0  # two pads
    with torch.no_grad():
        expected, _ = layer.rnn(x[:, 2:])  # nn.LSTM on the real steps only
        assert torch.allclose(layer(x), expected[:, -1], atol=1e-6)
        layer.return_sequence = True
        seq = layer(x)
    assert torch.allclose(seq[:, 2:], expected, atol=1e-6)
    assert torch.count_nonzero(seq[:, :2]) == 0  # zero outputs at pads


def test_bidirectional_shapes_and_last_step():
    spec = {"layers": [_emb(), {"type": "lstm", "hidden": 5, "bidirectional": True, "layers": 2}]}
    built = build(spec, (L,), None, seed=0, vocab_size=V)
    assert built.table[-1].output_shape == (10,)  # the output size doubles
    seq_spec = {"layers": [_emb(), {"type": "gru", "hidden": 5, "bidirectional": True, "return_sequence": True}]}
    assert build(seq_spec, (L,), None).table[-1].output_shape == (L, 10)
    model = built.module.eval()
    rec = model.lstm_1
    ids = _ids(SENT)
    with torch.no_grad():
        last = model(ids)
        rec.return_sequence = True
        seq = model(ids)
    first_real = L - len(SENT)
    # 'last' of a bidirectional layer: the forward direction at the last real token, the backward
    # direction at the first real token (where it finishes reading the sentence backwards)
    assert torch.allclose(last[0, :5], seq[0, -1, :5], atol=1e-6)
    assert torch.allclose(last[0, 5:], seq[0, first_real, 5:], atol=1e-6)
    assert torch.count_nonzero(seq[0, :first_real]) == 0


def test_image_models_keep_every_step():
    """Rows of an image are never pads: MNIST's blank rows still go through the image LSTM."""
    built = build(PRESETS["rnn"].spec, (1, 28, 28), 10, seed=0)
    assert built.input_dtype == torch.float32
    lstm = built.module.lstm_1
    assert not lstm.mask_pads
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10:14, 5:20] = 1.0  # rows 0..9 and 14..27 are all zero
    with torch.no_grad():
        out, _ = lstm.rnn(x[:, 0])
        assert torch.allclose(lstm(x[:, 0]), out[:, -1])
    assert not any(getattr(m, "mask_pads", False) for m in built.module.modules())
    from dlviz.data import get_info
    from dlviz.tasks import task_of_spec

    mnist = get_info("mnist")  # each image preset built for its own task (an autoencoder ends in the image itself)
    assert all(
        build(p.spec, (1, 28, 28), task_of_spec(p.spec).classes(mnist)).input_dtype == torch.float32
        for p in PRESETS.values()
        if p.input == "image"
    )


def test_sequence_layers_get_mask_pads_only_in_text_models():
    spec = {
        "layers": [
            _emb(),
            {"type": "gru", "hidden": 4, "return_sequence": True},
            {"type": "transformer", "heads": 2, "layers": 1},
            {"type": "kimconv", "filters": 3},
        ]
    }
    model = build(spec, (L,), None).module
    flags = [m.mask_pads for m in model.children() if hasattr(m, "mask_pads")]
    assert flags == [True, True, True]
    assert set(MASKS_PADS) <= set(LAYER_TYPES)


# --------------------------------------------------------------------------- pooling and Kim's CNN
def test_timepool_over_real_steps_known_answers():
    x = torch.tensor(
        [[[0.0, 0.0], [1.0, -4.0], [3.0, -2.0]], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]
    )  # (B=2, T=3, F=2); row 2 is only pads
    mean, mx, last = (TimePool(m, mask_pads=True)(x) for m in ("mean", "max", "last"))
    assert mean.tolist() == [[2.0, -3.0], [0.0, 0.0]]  # the pad is not averaged in
    assert mx.tolist() == [[3.0, -2.0], [0.0, 0.0]]  # a pad's 0 never wins over -2
    assert last.tolist() == [[3.0, -2.0], [0.0, 0.0]]
    assert torch.equal(TimePool("max")(x)[0], torch.tensor([3.0, 0.0]))  # image models: every step


def test_kimconv_hand_set_filter():
    conv = KimConv(1, widths=(2,), filters=1, mask_pads=True)
    with torch.no_grad():
        conv.convs[0].weight.copy_(torch.tensor([[[-1.0, -1.0]]]))
        conv.convs[0].bias.fill_(1.0)
    x = torch.tensor([0.0, 0.0, 2.0, 3.0]).reshape(1, 4, 1)  # two pads, then tokens 2 and 3
    # windows touching a real token: (0,2) -> relu(1-2)=0, (2,3) -> relu(1-5)=0, (3,0) -> relu(1-3)=0.
    # The windows of only pads would give relu(1) = 1: they must not count.
    assert conv(x).item() == 0.0
    with torch.no_grad():
        conv.convs[0].weight.copy_(torch.tensor([[[1.0, 1.0]]]))
        conv.convs[0].bias.zero_()
    assert conv(x).item() == 5.0  # 2 + 3
    conv.mask_pads = False
    assert conv(x).item() == 5.0
    assert conv(torch.zeros(1, 4, 1)).item() == 0.0


def test_kimconv_output_shape_and_widths():
    spec = {"layers": [_emb(), {"type": "kimconv", "filters": 7, "width1": 2, "width2": 0, "width3": 6}]}
    built = build(spec, (4,), None)  # a width larger than the sentence still works (Kim pads the ends)
    assert built.table[-1].output_shape == (14,)
    assert built.table[-1].label == "TextCNN 2,6 x7"


# --------------------------------------------------------------------------- transformer layer
def test_transformer_output_is_zero_at_pads_and_positions_start_at_first_real_token():
    for positions in ("sinusoidal", "learned"):
        spec = {"layers": [_emb(8), {"type": "transformer", "heads": 2, "layers": 2, "positions": positions}]}
        model = build(spec, (L,), None, seed=0, vocab_size=V).module.eval()
        out = model(_ids(SENT))
        first = L - len(SENT)
        assert torch.count_nonzero(out[0, :first]) == 0 and (out[0, first:].abs().sum(-1) > 0).all()
        # positions count from the first real token: the same words at the end of a shorter input agree
        assert torch.allclose(model(_ids(SENT, length=len(SENT)))[0], out[0, first:], atol=1e-5)


def test_encoder_layer_has_no_nn_transformer_and_keeps_attention_only_when_asked():
    built = build({"layers": [_emb(8), {"type": "transformer", "heads": 4, "layers": 3}]}, (L,), None)
    layers = [m for m in built.module.modules() if isinstance(m, EncoderLayer)]
    assert len(layers) == 3
    assert not any(isinstance(m, (nn.TransformerEncoderLayer, nn.MultiheadAttention)) for m in built.module.modules())
    built.module(_ids(SENT))
    assert all(m.attention is None and m.keep_attention is False for m in layers)  # free while training
    layers[1].keep_attention = True
    built.module(_ids(SENT, [3, 4]))
    assert layers[1].attention.shape == (2, 4, L, L) and not layers[1].attention.requires_grad


@pytest.mark.parametrize(
    "spec,needle,layer",
    [
        ([_emb(10), {"type": "transformer", "heads": 4}], "4 heads do not divide the vector size 10", 1),
        ([_emb(10), {"type": "transformer", "heads": 9}], "from 1 to 8", 1),
        ([_emb(10), {"type": "transformer", "layers": 5}], "from 1 to 4", 1),
        ([_emb(10), {"type": "transformer", "positions": "rotary"}], "sinusoidal, learned", 1),
        ([_emb(10), {"type": "kimconv", "width1": 0}], "from 1 to 9", 1),
        ([_emb(10), {"type": "flatten"}, {"type": "transformer"}], "needs a sequence", 2),
        ([_emb(10), {"type": "kimconv"}, {"type": "kimconv"}], "needs a sequence", 2),
        ([{"type": "flatten"}, {"type": "dense", "units": 2}], "must start with an Embedding", 0),
        ([{"type": "lstm"}], "must start with an Embedding", 0),
    ],
)
def test_impossible_text_specs_name_the_layer_and_the_fix(spec, needle, layer):
    with pytest.raises(SpecError) as e:
        build({"layers": spec}, (L,), None, input_dtype=torch.long)
    assert needle in str(e.value)
    assert e.value.layer == layer


def test_a_text_model_on_images_says_so():
    with pytest.raises(SpecError, match=r"reads sentences as token ids, but the input here is \(1, 28, 28\)"):
        build(PRESETS["lstm"].spec, (1, 28, 28), 10)


# --------------------------------------------------------------------------- vocabulary and dataset fit
def test_vocab_size_follows_the_dataset():
    spec = PRESETS["lstm"].copy_spec()
    assert build(spec, (L,), 2, vocab_size=3).module.embedding_1.weight.shape == (3, 128)
    assert with_vocab(spec, 4321)["layers"][0]["vocab"] == 4321 and spec["layers"][0]["vocab"] == 10000
    with pytest.raises(SpecError, match="setting 'vocab'"):
        with_vocab(spec, 1)
    fitted = for_dataset(spec, vocab_size=777, num_classes=5)
    assert fitted["layers"][0]["vocab"] == 777 and fitted["layers"][-1]["units"] == 5
    assert build(fitted, (L,), 5).table[-1].output_shape == (5,)
    assert reads(spec).kind == "text" and reads(PRESETS["mlp"].spec).kind == "image"
    # the embedding starts small (Keras's uniform(-0.05, 0.05)) and PAD's vector is zero
    emb = build(spec, (L,), 2, vocab_size=50).module.embedding_1.weight
    assert emb.abs().max() <= 0.05 and torch.count_nonzero(emb[0]) == 0


def test_text_registry_strings_have_chinese():
    zh = catalogue("zh")
    texts = [
        s
        for k in ("transformer", "kimconv", "timepool", "lstm")
        for lt in [LAYER_TYPES[k]]
        for s in (lt.title, lt.help, *(p.help for p in lt.params))
    ]
    texts += [c for k in ("transformer", "timepool") for p in LAYER_TYPES[k].params for c in (p.choices or ())]
    texts += [s for k in TEXT for s in (PRESETS[k].title, PRESETS[k].description)]
    assert [s for s in texts if s not in zh] == []
