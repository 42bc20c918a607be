"""Embeddings (dlviz.inspect.embed): layer features, stratified sampling, PCA and our t-SNE, with known answers."""

from __future__ import annotations

import pytest
import torch

from dlviz.errors import DataError, SpecError
from dlviz.inspect.embed import (
    conditional_p,
    default_layer,
    joint_p,
    knn_agreement,
    layer_features,
    layer_outputs,
    pca,
    sample_indices,
    tsne,
)
from dlviz.models import PRESETS, build


def _model(preset="mlp", seed=0):
    torch.manual_seed(seed)
    return build(PRESETS[preset].copy_spec(), (1, 28, 28), 10).module


def _images(n=20, seed=0):
    return torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _clusters(n_per=100, dim=50, sep=20.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(3, dim, generator=g) * sep
    x = torch.cat([centres[c] + torch.randn(n_per, dim, generator=g) for c in range(3)])
    return x, torch.arange(3).repeat_interleave(n_per)


# ---- layer features -------------------------------------------------------------------------------


def test_layer_features_equal_a_manual_forward_and_restore_mode():
    model = _model()
    model.train()
    x = _images(23)
    out = layer_outputs(model, x, "relu_2", batch=5)  # batches of 5 for 23 images
    assert model.training  # mode restored
    assert not any(m._forward_hooks for m in model.modules())  # hooks removed
    xf = x.unsqueeze(1).float() / 255
    with torch.no_grad():
        h = model.relu_2(model.dense_2(model.relu_1(model.dense_1(model.flatten_1(xf)))))
        logits = model(xf)
    assert out.features.shape == (23, 64)
    torch.testing.assert_close(out.features, h)
    torch.testing.assert_close(out.logits, logits)
    assert torch.equal(out.preds, logits.argmax(1))
    assert not out.features.requires_grad
    # the first layer (flatten) shows the pixels themselves
    torch.testing.assert_close(layer_features(model, x, "flatten_1"), xf.flatten(1))


def test_layer_features_flatten_conv_maps():
    model = _model("cnn")
    feats = layer_features(model, _images(4), "maxpool_2")
    assert feats.shape == (4, 64 * 5 * 5)


def test_layer_features_input_unchanged_and_plain_errors():
    model = _model()
    x = _images(6)
    before = x.clone()
    layer_features(model, x, "dense_1")
    assert torch.equal(x, before)
    with pytest.raises(SpecError, match="no layer named nope"):
        layer_features(model, x, "nope")
    with pytest.raises(DataError, match="grayscale"):
        layer_features(model, x[0], "dense_1")


def test_default_layer_is_the_last_hidden_layer():
    expect = {"mlp": "relu_2", "cnn": "relu_3", "deep-sigmoid": "sigmoid_8", "resnet": "gap_1", "rnn": "lstm_1"}
    for key, layer in expect.items():
        names = [n for n, _ in _model(key).named_children()]
        assert default_layer(names) == layer, key
    assert default_layer(["flatten_1", "dense_1", "relu_1", "dropout_1", "dense_2"]) == "relu_1"
    assert default_layer(["dense_1"]) == "dense_1"


# ---- sampling --------------------------------------------------------------------------------------


def test_sample_indices_are_stratified_exact_and_deterministic():
    labels = torch.tensor([0] * 500 + [1] * 300 + [2] * 200)[
        torch.randperm(1000, generator=torch.Generator().manual_seed(1))
    ]
    idx = sample_indices(labels, 101, seed=3)
    assert len(idx) == 101 and len(set(idx.tolist())) == 101
    assert torch.equal(idx, torch.sort(idx).values)
    counts = torch.bincount(labels[idx], minlength=3).tolist()
    for got, want in zip(counts, (50.5, 30.3, 20.2)):
        assert abs(got - want) < 1
    assert torch.equal(idx, sample_indices(labels, 101, seed=3))
    assert not torch.equal(idx, sample_indices(labels, 101, seed=4))
    assert torch.equal(sample_indices(labels, 5000), torch.arange(1000))


# ---- PCA -------------------------------------------------------------------------------------------


def test_pca_points_on_a_line_project_onto_one_axis():
    g = torch.Generator().manual_seed(0)
    direction = torch.randn(10, generator=g)
    t = torch.linspace(-3, 5, 50)
    x = 7.0 + t[:, None] * direction  # a line in 10-D
    coords, ratio = pca(x, 2)
    assert ratio[0] == pytest.approx(1.0, abs=1e-5) and ratio[1] == pytest.approx(0.0, abs=1e-5)
    assert coords[:, 1].abs().max() < 1e-3
    along = (t - t.mean()) * direction.norm()
    assert torch.allclose(coords[:, 0].abs(), along.abs(), atol=1e-3)  # distances along the line kept


@pytest.mark.parametrize("shape", [(200, 30), (60, 400), (500, 700)])  # exact (D<N, D>N) and randomised paths
def test_pca_matches_an_exact_svd(shape):
    g = torch.Generator().manual_seed(0)
    n, d = shape
    x = torch.randn(n, 5, generator=g) @ torch.randn(5, d, generator=g) * torch.tensor([5.0, 3, 2, 1, 0.5]).repeat(
        1, 1
    )[:, :1] + 0.1 * torch.randn(n, d, generator=g)
    x = x.double()
    rng_before = torch.get_rng_state()
    before = x.clone()
    coords, ratio = pca(x, 3)
    assert torch.equal(torch.get_rng_state(), rng_before)  # the randomised path leaves the global RNG alone
    assert torch.equal(x, before)
    xc = x - x.mean(0)
    u, s, vt = torch.linalg.svd(xc, full_matrices=False)
    want_ratio = (s[:3] ** 2 / (s**2).sum()).float()
    torch.testing.assert_close(ratio, want_ratio, rtol=1e-3, atol=1e-5)
    want = (u[:, :3] * s[:3]).float()
    torch.testing.assert_close(coords.abs(), want.abs(), rtol=1e-3, atol=1e-3 * float(s[0]))
    coords2, _ = pca(x, 3)
    assert torch.equal(coords, coords2)


def test_pca_of_identical_points_and_bad_input():
    coords, ratio = pca(torch.ones(5, 3), 2)
    assert torch.equal(coords, torch.zeros(5, 2)) and torch.equal(ratio, torch.zeros(2))
    with pytest.raises(DataError):
        pca(torch.ones(1, 3))


# ---- t-SNE -----------------------------------------------------------------------------------------


def test_conditional_p_rows_have_the_asked_perplexity():
    x, _ = _clusters(60, dim=10, sep=3.0)
    for perp in (5.0, 30.0):
        p = conditional_p(x, perp)
        assert torch.allclose(p.sum(1), torch.ones(len(x), dtype=p.dtype))
        assert torch.all(p.diagonal() == 0)
        ent = -(p * torch.log(p.clamp_min(1e-300))).sum(1)
        assert torch.allclose(ent.exp(), torch.full_like(ent, perp), rtol=1e-3)


def test_conditional_p_known_answer_for_two_distances():
    # four points: 0 and 1 at distance 1, 2 and 3 far away. With perplexity ~1 a row puts all its mass on
    # the nearest point.
    x = torch.tensor([[0.0], [1.0], [100.0], [101.0]])
    p = conditional_p(x, 1.0001)
    assert p[0, 1] > 0.999 and p[2, 3] > 0.999


def test_joint_p_is_symmetric_and_sums_to_one():
    x, _ = _clusters(40, dim=8)
    p = joint_p(x, 10.0)
    torch.testing.assert_close(p, p.T)
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-5)
    assert torch.all(p.diagonal() == 0) and torch.all(p >= 0)


def test_tsne_separates_three_gaussian_clusters():
    x, labels = _clusters(100, dim=50)
    before = x.clone()
    seen = []
    y = tsne(x, perplexity=30, iters=400, progress=seen.append)
    assert torch.equal(x, before)
    assert y.shape == (300, 2) and torch.isfinite(y).all()
    assert knn_agreement(y, labels, k=10) > 0.95
    # the three cluster centres in the map are further apart than the clusters are wide
    centres = torch.stack([y[labels == c].mean(0) for c in range(3)])
    spread = max(float(y[labels == c].std(0).norm()) for c in range(3))
    assert float(torch.pdist(centres).min()) > 2 * spread
    assert seen[0] == 0.0 and seen[-1] == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(seen, seen[1:])) and len(seen) > 20
    # deterministic: the start is PCA, not random
    assert torch.equal(y, tsne(x, perplexity=30, iters=400))


def test_tsne_stops_when_asked_and_restores_threads():
    x, _ = _clusters(30, dim=5)
    threads = torch.get_num_threads()
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 3

    y = tsne(x, perplexity=5, iters=1000, should_stop=stop)
    assert len(calls) == 3 and y.shape == (90, 2)
    assert torch.get_num_threads() == threads


def test_tsne_plain_errors():
    with pytest.raises(DataError, match="at least 4"):
        tsne(torch.zeros(3, 2))
    with pytest.raises(DataError, match="Perplexity"):
        tsne(torch.randn(10, 3), perplexity=30)
    bad = torch.randn(10, 3)
    bad[2, 1] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        tsne(bad, perplexity=3)


@pytest.mark.slow  # two t-SNEs of 800 real digits (ours and scikit-learn's); the fast tier has the toy clusters
def test_tsne_trustworthiness_matches_sklearn_on_mnist_features(mnist_dir):
    from sklearn.manifold import TSNE, trustworthiness

    from dlviz.data import load_dataset

    data = load_dataset("mnist", mnist_dir)
    idx = sample_indices(data.test_y, 800, seed=0)
    feats = layer_features(_model("mlp"), data.test_x[idx], "relu_2")  # an untrained model's hidden layer
    ours = tsne(feats, perplexity=30)
    theirs = TSNE(perplexity=30, init="pca", random_state=0).fit_transform(feats.numpy())
    t_ours = trustworthiness(feats.numpy(), ours.numpy(), n_neighbors=10)
    t_theirs = trustworthiness(feats.numpy(), theirs, n_neighbors=10)
    assert t_ours > 0.85
    assert t_ours >= t_theirs - 0.02, (t_ours, t_theirs)
    labels = data.test_y[idx]
    assert knn_agreement(ours, labels) > knn_agreement(torch.randn(800, 2), labels) + 0.3  # digits group together


def test_knn_agreement_known_answers():
    coords = torch.tensor([[0.0, 0], [0, 1], [10, 0], [10, 1]])
    assert knn_agreement(coords, torch.tensor([0, 0, 1, 1]), k=1) == 1.0
    assert knn_agreement(coords, torch.tensor([0, 1, 0, 1]), k=1) == 0.0
