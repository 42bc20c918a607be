"""Which words mattered: word attributions for text models (dlviz.explain.text), the coloured chips
(dlviz.plots.text) and the widget (dlviz.ui.explain_widgets).

Known answers come from hand-built models: a masked mean of the embeddings followed by a Linear layer is
linear in the embeddings, so every method's score per word can be written down; a hand-built masked GRU
checks completeness on a nonlinear model and shows why the baseline is UNK and not PAD.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dlviz.errors import ExplainError
from dlviz.explain.checks import completeness
from dlviz.explain.handout import text_handout_html
from dlviz.explain.text import (
    PAD,
    TEXT_METHODS,
    UNK,
    EncodedText,
    attribute_text,
    baseline_ids,
    encode_text,
    text_card,
    text_randomisation,
    top_words,
    word_curves,
)
from dlviz.plots.text import (
    chip_rgb,
    chips_html,
    chips_png,
    comparison_html,
    lines_html,
    scaled_scores,
    word_curves_figure,
)

ROOT = Path(__file__).resolve().parents[1]
RT = ROOT.parent / "shared" / "data" / "rt-polarity"
L = 12


class MaskedMean(nn.Module):
    """Mean over the real steps (zero vectors are pads), zeros for a sentence of only pads."""

    def forward(self, x):
        real = ~(x == 0).all(-1)
        return (x * real[..., None]).sum(1) / real.sum(1, keepdim=True).clamp(min=1)


class PlainMean(nn.Module):
    """Mean over ALL steps, pads included: the output depends on how much padding there is."""

    def forward(self, x):
        return x.mean(1)


class MaskedGRU(nn.Module):
    """A GRU over the real steps only (pads skipped, as dlviz's Recurrent with mask_pads); its last state."""

    def __init__(self, d, h):
        super().__init__()
        self.rnn = nn.GRU(d, h, batch_first=True)

    def forward(self, x):
        real = ~(x == 0).all(-1)
        lengths = real.sum(1)
        order = torch.sort((~real).to(torch.uint8), dim=1, stable=True).indices
        xs = torch.gather(x, 1, order.unsqueeze(-1).expand_as(x))
        packed = nn.utils.rnn.pack_padded_sequence(
            xs, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, h = self.rnn(packed)
        return h[-1] * (lengths > 0).unsqueeze(1).to(x.dtype)


def seq(*layers) -> nn.Sequential:
    m = nn.Sequential()
    for name, layer in layers:
        m.add_module(name, layer)
    return m.eval()


def mean_model(vocab=30, dim=6, pool=MaskedMean, seed=0) -> nn.Sequential:
    torch.manual_seed(seed)
    return seq(
        ("embedding_1", nn.Embedding(vocab, dim, padding_idx=0)), ("timepool_1", pool()), ("dense_1", nn.Linear(dim, 3))
    )


def gru_model(vocab=30, dim=8, seed=0) -> nn.Sequential:
    torch.manual_seed(seed)
    return seq(
        ("embedding_1", nn.Embedding(vocab, dim, padding_idx=0)),
        ("gru_1", MaskedGRU(dim, 16)),
        ("dense_1", nn.Linear(16, 2)),
    )


def sentence(*ids, length=L) -> torch.Tensor:
    out = torch.zeros(length, dtype=torch.long)
    out[length - len(ids) :] = torch.tensor(ids)
    return out


IDS = sentence(5, 9, UNK, 22, 3, 7)


def rel_gap(a) -> float:
    e = a.extra
    return abs(e["attribution_sum"] - e["output_difference"]) / abs(e["output_difference"])


# --------------------------------------------------------------------------------------------
# Known answers on the masked-mean model (linear in the embeddings)


def _mean_parts(m, ids, target):
    emb, w = m.embedding_1.weight.detach(), m.dense_1.weight.detach()[target]
    real = ids[ids != PAD]
    return emb, w, real, len(real)


def test_saliency_is_the_gradient_size_for_every_word():
    m = mean_model()
    a = attribute_text(m, IDS, 1, "saliency")
    emb, w, real, n = _mean_parts(m, IDS, 1)
    assert a.positions == list(range(L - 6, L)) and a.ids == real.tolist()
    assert torch.allclose(a.scores, (w.abs().sum() / n).expand(n), atol=1e-6)
    assert not a.signed


def test_input_x_gradient_is_vector_times_weight():
    m = mean_model()
    a = attribute_text(m, IDS, 2, "input_x_gradient")
    emb, w, real, n = _mean_parts(m, IDS, 2)
    assert torch.allclose(a.scores, emb[real] @ w / n, atol=1e-6)


def test_integrated_gradients_known_answer_and_completeness():
    m = mean_model()
    a = attribute_text(m, IDS, 0, "integrated_gradients")
    emb, w, real, n = _mean_parts(m, IDS, 0)
    want = (emb[real] - emb[UNK]) @ w / n  # the model is linear along the path from the UNK sentence
    assert torch.allclose(a.scores, want, atol=1e-6)
    assert float(a.scores[a.ids.index(UNK)]) == 0.0  # an unknown word equals the baseline there
    with torch.no_grad():
        diff = float(m(IDS[None])[0, 0] - m(baseline_ids(IDS, "unk")[None])[0, 0])
    assert a.extra["output_difference"] == pytest.approx(diff, abs=1e-6)
    assert a.extra["attribution_sum"] == pytest.approx(float(a.scores.sum()), abs=1e-6)
    assert rel_gap(a) < 1e-4
    check = completeness(a)
    assert check is not None and check.passed


def test_integrated_gradients_pad_baseline_on_mean_model():
    m = mean_model()
    a = attribute_text(m, IDS, 1, "integrated_gradients", baseline="pad")
    emb, w, real, n = _mean_parts(m, IDS, 1)
    assert torch.allclose(a.scores, emb[real] @ w / n, atol=1e-6)
    assert rel_gap(a) < 1e-4


@pytest.mark.parametrize("fill", ["pad", "unk", "remove"])
def test_occlusion_is_the_drop_without_each_word(fill):
    m = mean_model()
    a = attribute_text(m, IDS, 1, "occlusion", fill=fill)
    with torch.no_grad():
        full = float(m(IDS[None])[0, 1])
        want = []
        for p in a.positions:
            row = IDS.clone()
            if fill == "remove":
                row = torch.cat([torch.zeros(1, dtype=torch.long), IDS[:p], IDS[p + 1 :]])
            else:
                row[p] = PAD if fill == "pad" else UNK
            want.append(full - float(m(row[None])[0, 1]))
    assert torch.allclose(a.scores, torch.tensor(want), atol=1e-6)
    if fill == "unk":
        assert float(a.scores[a.ids.index(UNK)]) == pytest.approx(0.0, abs=1e-7)


def test_contrast_is_the_difference_of_the_two_explanations():
    m = mean_model()
    for method in ("integrated_gradients", "input_x_gradient", "occlusion"):
        both = attribute_text(m, IDS, 2, method, contrast=0)
        a, b = attribute_text(m, IDS, 2, method), attribute_text(m, IDS, 0, method)
        assert both.contrast == 0
        assert torch.allclose(both.scores, a.scores - b.scores, atol=1e-5)


# --------------------------------------------------------------------------------------------
# Completeness on nonlinear models, and why the baseline is UNK


def test_completeness_on_a_hand_built_gru_and_the_pad_baseline_breaks_it():
    m = gru_model()
    unk = attribute_text(m, IDS, 1, "integrated_gradients")
    assert rel_gap(unk) < 0.01
    # from all-PAD the path starts at "every step masked" and jumps to "no step masked": the GRU then runs
    # over near-zero vectors (state = its biases) and the parts no longer add up to f(x) - f(PAD sentence)
    pad = attribute_text(m, IDS, 1, "integrated_gradients", baseline="pad")
    assert rel_gap(pad) > 0.05


def _text_preset(key, vocab_size=200, max_len=24):
    from dlviz.models import PRESETS, build

    if key not in PRESETS:
        pytest.skip(f"the text preset {key} is not there yet")
    return build(PRESETS[key].spec, (max_len,), 2, vocab_size=vocab_size, seed=0).module.eval()


@pytest.mark.parametrize("key", ["lstm", "gru", "transformer", "bag"])
def test_completeness_within_one_percent_on_text_presets(key):
    model = _text_preset(key)
    ids = sentence(17, 4, UNK, 150, 33, 8, 99, length=24)
    for target in (0, 1):
        a = attribute_text(model, ids, target, "integrated_gradients")
        assert rel_gap(a) < 0.01, (key, target, a.extra)


def test_completeness_on_the_kim_cnn_with_more_steps():
    # ReLU and max over time make the path piecewise linear: 50 steps can be a few % off, 300 are within 1%
    model = _text_preset("kim-cnn")
    ids = sentence(17, 4, UNK, 150, 33, 8, 99, length=24)
    a = attribute_text(model, ids, 1, "integrated_gradients", steps=300)
    assert rel_gap(a) < 0.01, a.extra


@pytest.mark.parametrize("key", ["lstm", "transformer", "kim-cnn"])
def test_skipping_leading_pads_changes_nothing_on_text_presets(key):
    model = _text_preset(key)
    ids = sentence(17, 4, UNK, 150, 33, length=24)
    for method in TEXT_METHODS:
        a = attribute_text(model, ids, 1, method, trim=True)
        b = attribute_text(model, ids, 1, method, trim=False)
        assert a.extra["leading_pads_skipped"] == 19 and b.extra["leading_pads_skipped"] == 0
        assert torch.allclose(a.scores, b.scores, rtol=1e-4, atol=1e-5 * float(b.scores.abs().max())), method


def test_pads_are_kept_when_the_model_counts_them():
    m = mean_model(pool=PlainMean)  # the mean over all steps changes with the padding
    a = attribute_text(m, IDS, 1, "integrated_gradients")
    b = attribute_text(m, IDS, 1, "integrated_gradients", trim=False)
    assert a.extra["leading_pads_skipped"] == 0
    assert torch.equal(a.scores, b.scores)
    assert rel_gap(a) < 1e-4
    m2 = mean_model()  # the masked mean does not
    assert attribute_text(m2, IDS, 1, "integrated_gradients").extra["leading_pads_skipped"] == L - 6
    assert attribute_text(m2, IDS, 1, "saliency").extra["leading_pads_skipped"] == 0  # not worth a check
    assert attribute_text(m2, IDS, 1, "saliency", trim=True).extra["leading_pads_skipped"] == L - 6


# --------------------------------------------------------------------------------------------
# The user's model is never changed


def _snapshot(model):
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        model.training,
        [(n, p.requires_grad) for n, p in model.named_parameters()],
        [
            (n, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for n, m in model.named_modules()
        ],
    )


@pytest.mark.parametrize("method", list(TEXT_METHODS))
def test_the_users_model_is_unchanged(method):
    for model in (mean_model(), gru_model()):
        model.train()  # the user's mode must survive too
        next(model.parameters()).requires_grad_(False)
        before = _snapshot(model)
        ids_before = IDS.clone()
        attribute_text(model, IDS, 1, method)
        attribute_text(model, IDS, 1, method, contrast=0)
        after = _snapshot(model)
        assert before[0].keys() == after[0].keys()
        assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])
        assert before[1:] == after[1:]
        assert torch.equal(IDS, ids_before)


# --------------------------------------------------------------------------------------------
# Odd sentences


def test_a_sentence_of_only_unknown_words_gives_an_empty_explanation():
    m = gru_model()
    ids = sentence(UNK, UNK, UNK)
    a = attribute_text(m, ids, 1, "integrated_gradients")
    assert a.empty and a.extra["output_difference"] == 0.0 and completeness(a).passed
    occ = attribute_text(m, ids, 1, "occlusion")  # hiding an unknown word still changes the length
    assert torch.isfinite(occ.scores).all()
    enc = EncodedText("xq zz", ids, ["xq", "zz", "yy"], [True] * 3, False, 3)
    card = text_card(["negative", "positive"], a.probs, 1, None, enc, {"integrated_gradients": a})
    assert any("Every word is unknown" in line for line in card.lines)
    assert any("empty" in line for line in card.lines)
    assert card.verdict == "doubt"


@pytest.mark.parametrize("method", list(TEXT_METHODS))
def test_a_single_word(method):
    m = gru_model()
    a = attribute_text(m, sentence(9), 0, method)
    assert a.scores.shape == (1,) and a.positions == [L - 1] and torch.isfinite(a.scores).all()
    if method == "integrated_gradients":
        assert rel_gap(a) < 0.01
    if method == "occlusion":  # without its only word the sentence is all pads: f = the bias path
        with torch.no_grad():
            want = float(m(sentence(9)[None])[0, 0] - m(sentence(length=L)[None])[0, 0])
        assert float(a.scores[0]) == pytest.approx(want, abs=1e-6)


class TinyVocab:
    """The interface of dlviz.data.tokenize.Vocab that encode_text uses (whitespace tokens)."""

    PAD, UNK = PAD, UNK

    def __init__(self, words):
        self.itos = ["<pad>", "<unk>", *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def tokens(self, text):
        return text.lower().split()

    def encode(self, text):
        return [self.stoi.get(w, UNK) for w in self.tokens(text)]

    def decode(self, ids):
        return [self.itos[i] for i in ids]

    def __len__(self):
        return len(self.itos)


def _vocab():
    try:
        from dlviz.data.tokenize import Vocab
    except ImportError:  # pragma: no cover - before the tokeniser landed
        return TinyVocab(["good", "bad", "film", "a", "very"])
    return Vocab(["<pad>", "<unk>", "good", "bad", "film", "a", "very"], "en")


def test_encode_text_pre_pads_truncates_and_marks_unknown_words():
    v = _vocab()
    enc = encode_text(v, "A very good film xyzzy", 8)
    assert enc.words == ["a", "very", "good", "film", "xyzzy"]
    assert enc.ids.tolist() == [0, 0, 0, 5, 6, 2, 4, UNK] and enc.unknown == [False] * 4 + [True]
    assert not enc.truncated and enc.total == 5
    long = encode_text(v, " ".join(["good", "bad"] * 5000), 8)  # 10,000 words: the first 8 are read
    assert long.truncated and long.total == 10_000 and long.words == ["good", "bad"] * 4
    assert long.ids.tolist() == [2, 3] * 4
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(ExplainError, match="no words"):
            encode_text(v, blank, 8)


def test_emoji_and_script_text_are_explained_and_shown_literally():
    v = _vocab()
    enc = encode_text(v, "good 😀 <script>alert(1)</script>", 20)
    assert "😀" in enc.words and enc.unknown[enc.words.index("😀")]
    m = mean_model(vocab=len(v))
    for method in TEXT_METHODS:
        a = attribute_text(m, enc.ids, 1, method)
        assert len(a.scores) == len(enc.words) and torch.isfinite(a.scores).all()
    out = chips_html(enc.words, a.scores, enc.unknown)
    assert "😀" in out and "<script" not in out.lower()


# --------------------------------------------------------------------------------------------
# Plain errors


def test_plain_errors():
    m = mean_model()
    with pytest.raises(ExplainError, match="no words"):
        attribute_text(m, sentence(length=L), 0)
    with pytest.raises(ExplainError, match="outside this model's vocabulary"):
        attribute_text(m, sentence(5, 300), 0)
    with pytest.raises(ExplainError, match="does not exist"):
        attribute_text(m, IDS, 3)
    with pytest.raises(ExplainError, match="two different classes"):
        attribute_text(m, IDS, 1, contrast=1)
    with pytest.raises(ExplainError, match="Unknown explanation method"):
        attribute_text(m, IDS, 1, "grad_cam")
    with pytest.raises(ExplainError, match="between 2 and 500"):
        attribute_text(m, IDS, 1, steps=1)
    with pytest.raises(ExplainError, match="must be one of"):
        attribute_text(m, IDS, 1, "occlusion", fill="zeros")
    with pytest.raises(ExplainError, match="no setting"):
        attribute_text(m, IDS, 1, "saliency", steps=3)
    with pytest.raises(ExplainError, match="one row of token ids"):
        attribute_text(m, torch.ones(2, 3, dtype=torch.long), 1)
    with pytest.raises(ExplainError, match="no Embedding layer"):
        attribute_text(nn.Sequential(nn.Linear(4, 2)), IDS, 1)
    assert "词" in ExplainError("There are no words to explain: type a sentence first.").message("zh")


# --------------------------------------------------------------------------------------------
# A model trained on rt-polarity: the words a reader expects


@pytest.fixture(scope="module")
def sentiment():
    """The bag-of-embeddings preset trained for one epoch on rt-polarity (about 5 s on 2 cores)."""
    if not (RT / "rt-polarity.pos").exists():
        pytest.skip("../shared/data/rt-polarity is not present")
    tokenize = pytest.importorskip("dlviz.data.tokenize")
    build_vocab, encode_batch = tokenize.build_vocab, tokenize.encode_batch

    texts = [
        *(RT / "rt-polarity.pos").read_text(encoding="utf-8").splitlines(),
        *(RT / "rt-polarity.neg").read_text(encoding="utf-8").splitlines(),
    ]
    y = torch.tensor([1] * 5331 + [0] * 5331)
    vocab = build_vocab(texts, "en", 5000)
    x, _, _ = encode_batch(texts, vocab, 40)
    model = _text_preset("bag", vocab_size=len(vocab), max_len=40)
    opt = torch.optim.Adam(model.parameters(), 5e-3)
    g = torch.Generator().manual_seed(0)
    model.train()
    perm = torch.randperm(len(x), generator=g)
    for i in range(0, len(x), 64):
        b = perm[i : i + 64]
        loss = nn.functional.cross_entropy(model(x[b]), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), vocab


def test_trained_model_words_push_the_expected_way(sentiment):
    model, vocab = sentiment
    enc = encode_text(vocab, "a wonderful , moving film , but the ending is boring", 40)
    for method in ("integrated_gradients", "input_x_gradient", "occlusion"):
        a = attribute_text(model, enc.ids, 1, method)  # class 1 = positive
        s = dict(zip(enc.words, a.scores.tolist()))
        assert s["wonderful"] > 0 and s["moving"] > 0 and s["boring"] < 0, (method, s)
        assert max(s, key=s.get) in ("wonderful", "moving"), (method, s)
    ig = attribute_text(model, enc.ids, 1)
    assert rel_gap(ig) < 0.01 and abs(ig.extra["output_difference"]) > 0.1
    card = text_card(
        ["negative", "positive"], ig.probs, 1, None, enc, {"integrated_gradients": ig}, completeness=completeness(ig)
    )
    words_for = next(line for line in card.lines if line.startswith("Words for positive"))
    assert "“wonderful”" in words_for
    assert any(line.startswith("Words against positive") and "“boring”" in line for line in card.lines)
    assert card.verdict == "caution"  # completeness alone does not check the model
    zh = text_card(
        ["negative", "positive"],
        ig.probs,
        1,
        None,
        enc,
        {"integrated_gradients": ig},
        completeness=completeness(ig),
        lang="zh",
    )
    assert any("支持" in line and "“wonderful”" in line for line in zh.lines)


def test_sanity_checks_on_the_trained_model(sentiment):
    model, vocab = sentiment
    enc = encode_text(vocab, "a wonderful , moving film , but the ending is boring", 40)
    ig = attribute_text(model, enc.ids, 1)
    r = text_randomisation(model, enc.ids, 1, "integrated_gradients")
    assert r.layers == ["dense_1", "embedding_1"] and r.passed and r.similarity[-1] < 0.7
    c = word_curves(model, enc.ids, 1, ig.scores)
    assert len(c.fractions) == len(enc.words) + 1 and c.passed
    assert c.deletion_auc < c.random_deletion_auc and c.insertion_auc > c.random_insertion_auc
    card = text_card(
        ["negative", "positive"],
        ig.probs,
        1,
        None,
        enc,
        {"integrated_gradients": ig},
        completeness=completeness(ig),
        randomisation=r,
        curves=c,
    )
    assert card.verdict == "trust" and card.lines[-1].startswith("About the explanation, not the answer: passed")
    assert len(r.signed) == len(r.absolute) == 2 and r.reference is not None  # both, beside the reference
    # a typed sentence has no true answer: the card says so instead of implying the answer is right
    assert card.correct is None and card.lines[0].startswith("Is the model right? Unknown: this is a typed sentence")
    wrong = text_card(
        ["negative", "positive"], ig.probs, 1, None, enc, {"integrated_gradients": ig}, label=0, source="test"
    )
    assert "The model is wrong here: these maps show why it made this mistake." in wrong.lines
    # on a mean of the embeddings every word has the same gradient, so saliency cannot rank the words:
    # its scores are the same whatever the weights, and the randomisation check says so
    sal = text_randomisation(model, enc.ids, 1, "saliency")
    assert sal.similarity[-1] == pytest.approx(1.0) and not sal.passed
    bad = text_card(
        ["negative", "positive"],
        ig.probs,
        1,
        None,
        enc,
        {"saliency": attribute_text(model, enc.ids, 1, "saliency")},
        randomisation=sal,
    )
    assert bad.verdict == "doubt"


def test_word_curves_known_ends_and_short_sentences():
    m = mean_model()
    occ = attribute_text(m, IDS, 1, "occlusion")
    c = word_curves(m, IDS, 1, occ.scores)
    with torch.no_grad():
        p_full = float(torch.softmax(m(IDS[None]), 1)[0, 1])
        p_empty = float(torch.softmax(m(sentence(length=L)[None]), 1)[0, 1])
    assert c.deletion[0] == pytest.approx(p_full) and c.deletion[-1] == pytest.approx(p_empty)
    assert c.insertion[0] == pytest.approx(p_empty) and c.insertion[-1] == pytest.approx(p_full)
    # the first word deleted is the one occlusion scores highest: the same drop in the score
    row = IDS.clone()
    row[occ.positions[int(occ.scores.argmax())]] = PAD
    with torch.no_grad():
        assert c.deletion[1] == pytest.approx(float(torch.softmax(m(row[None]), 1)[0, 1]))
    fig = word_curves_figure(c)
    assert fig.layout.xaxis.title.text.startswith("share of words")
    assert word_curves(m, sentence(4, 5), 1, torch.tensor([1.0, -1.0])) is None
    assert text_randomisation(m, sentence(4, 5), 1, "integrated_gradients") is None
    with pytest.raises(ExplainError, match="must match"):
        word_curves(m, IDS, 1, torch.ones(3))
    with pytest.raises(ExplainError, match="empty"):
        word_curves(m, IDS, 1, torch.zeros(6))


# --------------------------------------------------------------------------------------------
# The card's word picking


def test_top_words_names_the_strongest_words_once():
    words = ["good", "bad", "good", "film", "dull"]
    scores = torch.tensor([2.0, -3.0, 1.5, 0.1, -0.2])
    assert top_words(words, scores, +1) == ["good"]  # "good" twice, named once; film < 15% of 3
    assert top_words(words, scores, -1) == ["bad"]
    assert top_words(words, scores * 0, +1) == []


def test_card_for_a_contrast_and_a_truncated_text():
    m = mean_model()
    a = attribute_text(m, IDS, 2, "integrated_gradients", contrast=0)
    words = ["w1", "w2", "w3", "w4", "w5", "w6"]
    enc = EncodedText("...", IDS, words, [w == UNK for w in IDS[IDS != 0].tolist()], True, 80)
    card = text_card(["a", "b", "c"], a.probs, 2, 0, enc, {"integrated_gradients": a}, completeness=completeness(a))
    assert card.headline.startswith("Why c and not a?")
    assert any("first 6 of 80 tokens" in line for line in card.lines)
    assert any("Unknown to the model" in line and "“w3”" in line for line in card.lines)
    assert card.check_lines and card.check_lines[0].startswith("Completeness check passed")


# --------------------------------------------------------------------------------------------
# Chips


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs |= {k for k, _ in attrs}

    def handle_data(self, data):
        self.text.append(data)


def test_chips_escape_every_word():
    evil = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '" onmouseover="alert(1)', "&amp;", "ok"]
    out = chips_html(evil, [1.0, -1.0, 0.5, 0.0, 0.2], unknown=[True, True, False, False, False])
    low = out.lower()
    assert "<script" not in low and "<img" not in low
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    p = _Tags()
    p.feed(out)
    assert set(p.tags) <= {"div", "span", "bdi"}
    assert p.attrs <= {"style", "title", "dir"}  # no onmouseover, onerror, src
    shown = "".join(p.text)
    for w in evil:
        assert w in shown  # the words render literally
    card = lines_html("The model says <b>x</b>", ["“<script>alert(1)</script>”"])
    assert "<script" not in card.lower() and "<b>" not in card


def test_chip_colours_scale_to_the_sentence_maximum():
    assert scaled_scores([2.0, -1.0, 0.0]).tolist() == [1.0, -0.5, 0.0]
    assert scaled_scores([0.0, 0.0]).tolist() == [0.0, 0.0]
    assert chip_rgb(0.0) == (255, 255, 255)
    blue, red = chip_rgb(1.0), chip_rgb(-1.0)
    assert blue == tuple(int(round(255 * 0.15 + c * 0.85)) for c in (0x00, 0x72, 0xB2))
    assert red == tuple(int(round(255 * 0.15 + c * 0.85)) for c in (0xD5, 0x5E, 0x00))
    out = chips_html(["up", "down", "flat"], [4.0, -4.0, 0.0])
    assert out.count("background:#%02X%02X%02X" % blue) == 1
    assert out.count("background:#%02X%02X%02X" % red) == 1
    assert out.count("background:#FFFFFF") == 1
    # unsigned scores: blue only, by size
    unsigned = chips_html(["a", "b"], [-2.0, 1.0], signed=False)
    assert "background:#%02X%02X%02X" % red not in unsigned
    with pytest.raises(ValueError):
        chips_html(["a"], [1.0, 2.0])


def test_comparison_and_png():
    from PIL import Image

    m = mean_model()
    maps = {k: attribute_text(m, IDS, 1, k) for k in TEXT_METHODS}
    words = ["很", "好", "?", "film", "<b>", "ok"]
    html_out = comparison_html(words, maps, {k: TEXT_METHODS[k].title for k in maps})
    assert html_out.count("Integrated Gradients") == 1 and "&lt;b&gt;" in html_out and "<b>" not in html_out
    png = chips_png(
        words,
        {TEXT_METHODS[k].title: (a.scores, a.signed) for k, a in maps.items()},
        [False] * 6,
        title="Why positive?",
    )
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.width == 900 and img.height > 200
    colours = set(map(tuple, np.asarray(img).reshape(-1, 3).tolist()))
    ig = maps["integrated_gradients"].scores
    strongest = scaled_scores(ig)[int(ig.abs().argmax())]
    assert chip_rgb(strongest) in colours  # the strongest IG word's chip colour is drawn


def test_handout_is_one_offline_page_with_escaped_words():
    m = mean_model()
    maps = {k: attribute_text(m, IDS, 1, k) for k in ("integrated_gradients", "occlusion")}
    words = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "good", "很", "😀", "film"]
    enc = EncodedText("...", IDS, words, [False, False, False, False, True, False], False, 6)
    card = text_card(
        ["neg", "<b>pos</b>"],
        maps["occlusion"].probs,
        1,
        None,
        enc,
        maps,
        0.8,
        completeness(maps["integrated_gradients"]),
        lang="zh",
    )
    page = text_handout_html(
        "Why <b>pos</b>?",
        words,
        maps,
        {k: TEXT_METHODS[k].title for k in maps},
        card,
        enc.unknown,
        lang="zh",
        date="2026-01-02",
    )
    low = page.lower()
    assert low.startswith("<!doctype html>") and '<html lang="zh-cn">' in low
    assert "<script" not in low and "<img" not in low and "<b>" not in low
    p = _Tags()
    p.feed(page)
    assert "src" not in p.attrs and "href" not in p.attrs and "http" not in low  # nothing fetched
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "😀" in page and "2026-01-02" in page
    assert page.count("完整性检查通过") == 1  # the check once, under the checks
    assert "还没有运行随机化检查和删除检查" in page
    assert card.verdict == "caution" and card.verdict_line == card.lines[-1] and "谨慎" in card.verdict_line
    assert card.word_lines and not any(x in card.check_lines for x in card.word_lines)


# --------------------------------------------------------------------------------------------
# The widget (AppTest on a small script that calls it)


def _widget_script():
    import torch
    from torch import nn

    from dlviz.explain.text import encode_text
    from dlviz.ui.explain_widgets import words_panel

    class MaskedMean(nn.Module):
        def forward(self, x):
            real = ~(x == 0).all(-1)
            return (x * real[..., None]).sum(1) / real.sum(1, keepdim=True).clamp(min=1)

    class Vocab:
        PAD, UNK = 0, 1
        itos = ["<pad>", "<unk>", "good", "bad", "film"]

        def tokens(self, text):
            return text.lower().split()

        def encode(self, text):
            return [self.itos.index(w) if w in self.itos else 1 for w in self.tokens(text)]

        def decode(self, ids):
            return [self.itos[i] for i in ids]

    torch.manual_seed(0)
    m = nn.Sequential()
    m.add_module("embedding_1", nn.Embedding(5, 4, padding_idx=0))
    m.add_module("timepool_1", MaskedMean())
    m.add_module("dense_1", nn.Linear(4, 2))
    m.eval()
    import streamlit as st

    text = st.session_state.get("text", "good film <script>alert(1)</script> bad film")
    enc = encode_text(Vocab(), text, 10)
    compact = st.session_state.get("compact", False)
    if st.session_state.get("via_ctx"):  # the entry point the pages use, with a TextCtx-like object
        from types import SimpleNamespace

        from dlviz.ui.explain_widgets import words_that_mattered

        sentence = SimpleNamespace(
            text=text, tokens=enc.words, ids=enc.ids, unknown=enc.unknown, truncated=enc.truncated, total=enc.total
        )
        ctx = SimpleNamespace(
            model=m, classes=["negative", "positive"], run=SimpleNamespace(id="run-1"), tag=None, sentence=sentence
        )
        words_that_mattered(ctx, key="_t", compact=compact)
    else:
        words_panel(m, enc, ["negative", "positive"], cache_key="run-1|None", key="_t", compact=compact)


def _widget_app(**state):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_widget_script, default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _html(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def test_widget_shows_escaped_chips_card_and_png():
    at = _widget_app()
    body = _html(at)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script" not in body.lower()
    assert "Integrated Gradients" in body and "Occlusion" in body
    assert "The model says" in body and "Completeness check passed" in body
    assert at.subheader[0].value.startswith("Why ")
    assert len(at.get("download_button")) == 2
    # explain the other class, against the model's answer
    pred_first = at.subheader[0].value
    at.selectbox(key="_tw_target_en").set_value(0 if "positive" in pred_first else 1).run()
    assert not at.exception, at.exception
    assert at.subheader[0].value != pred_first
    # the sanity checks, on demand
    assert not at.get("plotly_chart")
    at.button(key="_t_run_checks").click().run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2
    assert "Randomisation check" in _html(at) and "Deletion and insertion check" in _html(at)
    # a contrast
    at.selectbox(key="_tw_contrast_en").select_index(1).run()
    assert not at.exception and " and not " in at.subheader[0].value


def test_widget_compact_and_chinese():
    at = _widget_app(compact=True)
    body = _html(at)
    assert "&lt;script&gt;" in body and "Completeness" not in body and "The model says" in body
    assert not at.subheader
    zh = _widget_app(lang="zh")
    assert "模型认为" in _html(zh) or "模型说" in _html(zh)


def test_widget_through_the_page_context_and_short_sentences():
    at = _widget_app(via_ctx=True, compact=True)
    assert "Which words mattered" in at.markdown[0].value and "&lt;script&gt;" in _html(at)
    short = _widget_app(text="good film")
    assert any("too short" in c.value for c in short.caption)
    assert not [b for b in short.button if b.key == "_t_run_checks"]
    unknown = _widget_app(text="zzz yyy xxx")  # every word unknown: an empty IG explanation
    body = _html(unknown)
    assert "Every word is unknown" in body and "(empty)" in body
    unknown.button(key="_t_run_checks").click().run()  # checks run on occlusion, the non-empty map
    assert not unknown.exception, unknown.exception


def test_unsigned_word_scores_are_not_drawn_as_evidence_for():
    """Issue 12 item 2: saliency's |gradient| made every word blue, "evidence for" ("brilliant" +10 for negative)."""
    from dlviz.plots.explain import MATTERS_RGB
    from dlviz.plots.text import _hex

    html_ = chips_html(["a", "brilliant", "film"], torch.tensor([0.1, 10.0, 0.5]), signed=False)
    assert _hex(chip_rgb(1.0, False)) in html_ and _hex(chip_rgb(1.0)) not in html_
    assert chip_rgb(1.0, False) != chip_rgb(1.0) and chip_rgb(-1.0, False) == chip_rgb(1.0, False)
    from types import SimpleNamespace

    only = comparison_html(
        ["a", "b"],
        {"saliency": SimpleNamespace(scores=torch.tensor([1.0, 2.0]), signed=False)},
        {"saliency": "Saliency"},
    )
    assert "either way" in only and "evidence for" not in only and "evidence against" not in only
    assert _hex(MATTERS_RGB) in only


def test_text_seconds_include_the_private_copy(monkeypatch):
    """Issue 12 item 7, for words too: a fake clock (no real timing); the copy moves it on by 100."""
    from types import SimpleNamespace

    from dlviz.explain import text as text_mod

    clock = [0.0]
    real = text_mod.private_copy

    def copy_taking_100(model):
        clock[0] += 100.0
        return real(model)

    monkeypatch.setattr(text_mod, "private_copy", copy_taking_100)
    monkeypatch.setattr(text_mod, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    assert attribute_text(mean_model(), sentence(3, 4, 5), 1, "saliency").seconds == 100.0


def test_text_infidelity_and_sensitivity_beside_random_scores():
    """Issue 12: captum's infidelity and sensitivity_max on the text page too, beside random scores. On the
    masked-mean model the score is linear in each word's presence, so Integrated Gradients (from UNK) predicts
    every perturbation exactly: its infidelity is 0 (a known answer)."""
    from dlviz.explain.text import text_fidelity

    m = mean_model()
    ig = attribute_text(m, IDS, 1)
    f = text_fidelity(m, IDS, 1, "integrated_gradients", ig.scores)
    assert f.infidelity == pytest.approx(0.0, abs=1e-8) and f.random_infidelity > 1e-5
    assert 0 <= f.sensitivity < f.random_sensitivity
    again = text_fidelity(m, IDS, 1, "integrated_gradients", ig.scores)
    assert (again.infidelity, again.sensitivity) == (f.infidelity, f.sensitivity)  # seeded
    occ = attribute_text(m, IDS, 1, "occlusion", fill="remove")
    rm = text_fidelity(m, IDS, 1, "occlusion", occ.scores, fill="remove")
    assert np.isnan(rm.sensitivity) and np.isfinite(rm.infidelity)  # a removed word has no fixed place
    card = text_card(["a", "b", "c"], ig.probs, 1, None, _enc(IDS), {"integrated_gradients": ig}, fidelity=rm)
    assert any(x.startswith("Infidelity (how badly the word scores") for x in card.check_lines)
    assert any(x.startswith("Sensitivity is not measured") for x in card.check_lines)
    with pytest.raises(ExplainError, match="scores for"):
        text_fidelity(m, IDS, 1, "saliency", ig.scores[:2])


def _enc(ids) -> EncodedText:
    real = [int(i) for i in ids if int(i) != PAD]
    return EncodedText("", ids, [f"w{i}" for i in real], [i == UNK for i in real], False, len(real))


def test_text_data_randomisation_with_a_shuffled_label_model(sentiment):
    """Issue 12: data randomisation on the text page: the same architecture trained on shuffled labels, judged by
    the one rule (docs/explain-checks.md); the card counts it as a check of the model."""
    from dlviz.explain.checks import randomisation_verdict, shuffled_label_model
    from dlviz.explain.text import text_data_randomisation
    from dlviz.modality import TEXT
    from dlviz.train import DeviceData

    model, vocab = sentiment
    texts = ["a wonderful film", "a boring film", "moving and brilliant", "dull , flat and boring"] * 100
    x, _, _ = __import__("dlviz.data.tokenize", fromlist=["encode_batch"]).encode_batch(texts, vocab, 40)
    y = torch.tensor([1, 0, 1, 0] * 100)
    shuffled, _acc = shuffled_label_model(model, DeviceData(x, y, x[:0], y[:0], x[:0], y[:0], TEXT.transform), 1)
    enc = encode_text(vocab, "a wonderful , moving film , but the ending is boring", 40)
    r = text_data_randomisation(model, shuffled, enc.ids, 1, "integrated_gradients")
    assert r.kind == "data" and r.layers == ["shuffled labels"] and r.reference is not None
    assert r.passed is randomisation_verdict(r.signed[-1], r.absolute[-1], r.reference)[0]
    assert text_data_randomisation(model, shuffled, encode_text(vocab, "wonderful film", 40).ids, 1) is None
    ig = attribute_text(model, enc.ids, 1)
    card = text_card(
        ["negative", "positive"], ig.probs, 1, None, enc, {"integrated_gradients": ig}, data_randomisation=r
    )
    assert any(x.startswith("Data randomisation check") for x in card.check_lines)
    assert "have not been run yet" not in " ".join(card.lines)  # it checks the model
