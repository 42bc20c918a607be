"""Occlusion, KernelSHAP and LIME: known answers on linear and product models, Captum agreement, batching,
SHAP efficiency on the CNN, seeds, and plain messages for bad settings."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from dlviz.errors import DlvizError, ExplainError
from dlviz.explain import METHODS, attribute
from dlviz.explain.methods import baseline
from dlviz.models import PRESETS, build

H = W = 28


def _cnn():
    return build(PRESETS["cnn"].spec, seed=0).module


class PixelLinear(nn.Module):
    """Two classes: score 0 = w . x + 0.3, score 1 = -(w . x) - 0.3 (a model that only reads where w != 0)."""

    calls = 0  # forward passes, counted on the class (attribute() works on a deep copy)

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.lin = nn.Linear(H * W, 2)
        with torch.no_grad():
            self.lin.weight.copy_(torch.stack([w.flatten(), -w.flatten()]))
            self.lin.bias.copy_(torch.tensor([0.3, -0.3]))

    def forward(self, x):
        PixelLinear.calls += 1
        return self.lin(x.flatten(1))


class Product(nn.Module):
    """Score 0 = (a . x) * (b . x): a game with pairwise interactions, whose Shapley values are known exactly."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor):
        super().__init__()
        self.a, self.b = nn.Parameter(a.flatten()), nn.Parameter(b.flatten())

    def forward(self, x):
        f = (x.flatten(1) @ self.a) * (x.flatten(1) @ self.b)
        return torch.stack([f, -f], 1)


def _region_weights(rows=slice(8, 12), cols=slice(12, 16), seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.zeros(H, W)
    w[rows, cols] = torch.randn(H, W, generator=g)[rows, cols]
    return w


def _patch_ids(patch):
    r = torch.arange(H) // patch
    return r[:, None] * math.ceil(W / patch) + r[None, :]


def _patch_sums(values, patch):
    """(rows, cols) sums of a (H, W) tensor over square patches (ragged at the edges)."""
    pid, n = _patch_ids(patch), math.ceil(H / patch)
    return torch.zeros(n * n, dtype=torch.float64).index_add_(0, pid.flatten(), values.double().flatten()).view(n, n)


# --- Occlusion ---------------------------------------------------------------------------------------------


def test_occlusion_one_pixel_window_is_the_linear_contribution_and_zero_elsewhere():
    w, x = _region_weights(), torch.rand(1, H, W)
    a = attribute(PixelLinear(w), x, 0, "occlusion", window=1, stride=1)
    # hiding pixel p (black) lowers w.x + 0.3 by exactly w_p x_p
    assert torch.allclose(a.map[0], w * x[0], atol=1e-5)
    outside = torch.ones(H, W, dtype=torch.bool)
    outside[8:12, 12:16] = False
    assert a.map[0][outside].abs().max() == 0


def test_occlusion_window_4_stride_2_is_nonzero_only_near_the_region():
    w, x = _region_weights(), torch.rand(1, H, W)
    a = attribute(PixelLinear(w), x, 0, "occlusion")  # defaults: 4x4, stride 2, black
    # windows start at even rows/cols; one that touches rows 8..11 starts at 6, 8 or 10, so it spans rows 6..13
    near = torch.zeros(H, W, dtype=torch.bool)
    near[6:14, 10:18] = True
    assert a.map[0][~near].abs().max() == 0
    assert a.map[0][8:12, 12:16].abs().min() > 0
    # brute force, one window at a time: the mean drop over the windows covering each pixel
    total, count = torch.zeros(H, W), torch.zeros(H, W)
    for y0 in range(0, 25, 2):
        for x0 in range(0, 25, 2):
            drop = (w * x[0])[y0 : y0 + 4, x0 : x0 + 4].sum()
            total[y0 : y0 + 4, x0 : x0 + 4] += drop
            count[y0 : y0 + 4, x0 : x0 + 4] += 1
    assert torch.allclose(a.map[0], total / count, atol=1e-5)
    assert a.extra["windows"] == 169


@pytest.mark.parametrize("fill", ["black", "blurred", "noise"])
def test_occlusion_equals_captum_occlusion(fill):
    from captum.attr import Occlusion

    model, x = _cnn().eval(), torch.rand(1, H, W)
    got = attribute(model, x, 3, "occlusion", window=4, stride=2, fill=fill)
    xb = x.unsqueeze(0)
    ref = Occlusion(model).attribute(
        xb,
        sliding_window_shapes=(1, 4, 4),
        strides=(1, 2, 2),
        baselines=baseline(xb, fill),
        target=3,
        perturbations_per_eval=64,
    )
    assert torch.allclose(got.map, ref[0].detach(), atol=1e-5)
    assert got.map.abs().max() > 0


def test_occlusion_covers_the_edge_when_the_stride_does_not_land_there():
    w = torch.zeros(H, W)
    w[:, 27] = 1.0  # reads the last column only
    x = torch.rand(1, H, W)
    a = attribute(PixelLinear(w), x, 0, "occlusion", window=5, stride=2)  # starts 0..22, then 23 to reach 27
    assert (a.map[0][:, 27].abs() > 0).all()
    assert a.map[0][:, :23].abs().max() == 0


def test_occlusion_batches_the_windows_into_one_forward_pass():
    PixelLinear.calls = 0
    attribute(PixelLinear(_region_weights()), torch.rand(1, H, W), 0, "occlusion", window=4, stride=2)
    # one pass in attribute() to count the classes, one for the input and all 169 occluded images
    assert PixelLinear.calls == 2


def test_occlusion_contrast_is_the_difference_of_the_two_maps():
    model, x = _cnn(), torch.rand(1, H, W)
    a, b = attribute(model, x, 3, "occlusion"), attribute(model, x, 8, "occlusion")
    c = attribute(model, x, 3, "occlusion", contrast=8)
    assert torch.allclose(c.map, a.map - b.map, atol=1e-5)


def test_occlusion_bad_settings_get_plain_messages():
    model, x = _cnn(), torch.rand(1, H, W)
    with pytest.raises(ExplainError, match="stride .3. must not be larger than the window .2."):
        attribute(model, x, 1, "occlusion", window=2, stride=3)
    with pytest.raises(DlvizError, match="between 1 and 14"):
        attribute(model, x, 1, "occlusion", window=15)
    with pytest.raises(DlvizError, match="one of"):
        attribute(model, x, 1, "occlusion", fill="grey")
    err = ExplainError(
        "{method}: the stride ({stride}) must not be larger than the window ({window}), or some "
        "pixels would never be covered.",
        method="Occlusion",
        stride=3,
        window=2,
    )
    assert "遮挡" in err.message("zh") and "3" in err.message("zh")


# --- KernelSHAP --------------------------------------------------------------------------------------------


def _exact_linear_shap(w, x, fill, patch, seed=0):
    """Shapley values of a linear score over patches: w . (x - fill), summed over each patch."""
    base = baseline(x.unsqueeze(0), fill, seed=seed)[0, 0]
    return _patch_sums(w * (x[0] - base), patch)


@pytest.mark.parametrize("fill", ["black", "blurred", "noise"])
def test_kernel_shap_of_a_linear_model_is_the_exact_shapley_values(fill):
    w = torch.randn(H, W, generator=torch.Generator().manual_seed(1))
    x = torch.rand(1, H, W)
    a = attribute(PixelLinear(w), x, 0, "kernel_shap", fill=fill, seed=3)  # 49 patches, 200 sampled coalitions
    assert a.extra["exact"] == 0 and a.extra["evaluations"] == 200
    want = _exact_linear_shap(w, x, fill, 4, seed=3)
    got = torch.tensor(a.extra["patch_values"], dtype=torch.float64)
    assert torch.allclose(got, want, atol=1e-3 * want.abs().max())
    # the map shares each patch's value evenly among its 16 pixels
    assert torch.allclose(_patch_sums(a.map[0], 4), want, atol=1e-3 * want.abs().max())
    assert torch.allclose(a.map[0, :4, :4], torch.full((4, 4), float(want[0, 0]) / 16), atol=1e-4)


def test_kernel_shap_with_ragged_patches():
    w = torch.randn(H, W, generator=torch.Generator().manual_seed(2))
    x = torch.rand(1, H, W)
    a = attribute(PixelLinear(w), x, 0, "kernel_shap", patch=5, samples=400)  # 6 x 6 patches, the last 3 wide
    want = _exact_linear_shap(w, x, "black", 5)
    assert torch.tensor(a.extra["patch_values"]).shape == (6, 6)
    assert torch.allclose(
        torch.tensor(a.extra["patch_values"], dtype=torch.float64), want, atol=1e-3 * want.abs().max()
    )
    # a 3 x 3 corner patch spreads its value over 9 pixels
    assert torch.allclose(a.map[0, 25:, 25:], torch.full((3, 3), float(want[5, 5]) / 9), atol=1e-4)


def _brute_force_shapley(f, m):
    """Exact Shapley values of the set function f(frozenset) over m players (m small)."""
    phi = [0.0] * m
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for k in range(m):
            for s in itertools.combinations(others, k):
                weight = math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m)
                phi[i] += weight * (f(frozenset(s) | {i}) - f(frozenset(s)))
    return torch.tensor(phi, dtype=torch.float64)


def test_kernel_shap_enumerates_few_patches_and_is_exact_on_the_cnn():
    model, x = _cnn().eval(), torch.rand(1, H, W)
    a = attribute(model, x, 5, "kernel_shap", patch=14, samples=20, fill="blurred")  # 4 patches: 14 coalitions
    assert a.extra["exact"] == 1 and a.extra["evaluations"] == 14
    base, pid = baseline(x.unsqueeze(0), "blurred")[0], _patch_ids(14)

    def f(s):
        keep = torch.isin(pid, torch.tensor(sorted(s), dtype=torch.long))
        with torch.no_grad():
            return float(model(torch.where(keep, x, base).unsqueeze(0))[0, 5])

    want = _brute_force_shapley(f, 4)
    got = torch.tensor(a.extra["patch_values"], dtype=torch.float64).flatten()
    assert torch.allclose(got, want, atol=1e-4 * max(1.0, float(want.abs().max())))


def _additive(seed=4):
    """Three pixel weightings (left half, top half, centre) and a random image: overlapping additive games."""
    g = torch.Generator().manual_seed(seed)
    ws = [torch.zeros(H, W) for _ in range(3)]
    ws[0][:, :14] = torch.rand(H, 14, generator=g)
    ws[1][:14, :] = torch.rand(14, W, generator=g)
    ws[2][7:21, 7:21] = torch.rand(14, 14, generator=g)
    return ws, torch.rand(1, H, W, generator=g)


def _values(a):
    return torch.tensor(a.extra["patch_values"], dtype=torch.float64).flatten()


def test_kernel_shap_is_exact_for_pairwise_interactions_thanks_to_paired_sampling():
    (wa, wb, _), x = _additive()
    a_i, b_i = _patch_sums(wa * x[0], 7).flatten(), _patch_sums(wb * x[0], 7).flatten()
    # f(S) = A(S) B(S) = sum over i, j in S of a_i b_j: a_i b_i goes to i, each a_i b_j (i != j) half to each
    want = a_i * b_i + 0.5 * (a_i * (b_i.sum() - b_i) + b_i * (a_i.sum() - a_i))
    a = attribute(Product(wa, wb), x, 0, "kernel_shap", patch=7, samples=200, seed=0)  # 16 patches, sampled
    assert a.extra["exact"] == 0
    # each coalition is drawn with its complement, which makes the regression exact for a game of order 2
    # (drawn without complements, the same 200 samples are off by half the largest value)
    assert (_values(a) - want).abs().max() < 1e-4 * want.abs().max()
    assert abs(a.extra["completeness_delta"]) < 1e-6 * abs(a.extra["output_difference"])


class Cubic(nn.Module):
    """Score 0 = (a . x)(b . x)(c . x): interactions of order 3, which sampling only approximates."""

    def __init__(self, *ws):
        super().__init__()
        self.ws = nn.ParameterList(nn.Parameter(w.flatten()) for w in ws)

    def forward(self, x):
        f = torch.ones(len(x))
        for w in self.ws:
            f = f * (x.flatten(1) @ w)
        return torch.stack([f, -f], 1)


def test_kernel_shap_sampling_converges_to_the_shapley_values_of_a_cubic_game():
    ws, x = _additive()
    a, b, c = (_patch_sums(w * x[0], 7).flatten() for w in ws)
    want = torch.zeros(16, dtype=torch.float64)
    # f(S) = sum over i, j, k in S of a_i b_j c_k; each term is shared equally among its distinct patches
    for i, j, k in itertools.product(range(16), repeat=3):
        for p in {i, j, k}:
            want[p] += a[i] * b[j] * c[k] / len({i, j, k})
    errors = [
        float(
            (_values(attribute(Cubic(*ws), x, 0, "kernel_shap", patch=7, samples=n)) - want).abs().max()
            / want.abs().max()
        )
        for n in (200, 2000)
    ]
    assert errors[1] < 0.08 and errors[1] < errors[0] / 2  # measured: 0.20 -> 0.02


def test_kernel_shap_efficiency_on_the_cnn():
    model, x = _cnn(), torch.rand(1, H, W)
    a = attribute(model, x, 7, "kernel_shap")
    e = a.extra
    with torch.no_grad():
        fx = float(model.eval()(x.unsqueeze(0))[0, 7])
    assert e["model_output"] == pytest.approx(fx, abs=1e-5)
    assert e["output_difference"] == pytest.approx(e["model_output"] - e["expected_value"], abs=1e-9)
    # SHAP's efficiency: the patch values (and the map) add up to f(x) - f(every patch filled)
    scale = max(abs(e["output_difference"]), 1e-6)
    assert abs(e["completeness_delta"]) <= 1e-4 * scale
    assert abs(e["attribution_sum"] - e["output_difference"]) <= 1e-4 * scale
    assert float(a.map.sum()) == pytest.approx(e["attribution_sum"], abs=1e-4 * scale)
    assert sum(map(sum, e["patch_values"])) == pytest.approx(e["attribution_sum"], abs=1e-9)


def test_kernel_shap_agrees_with_captum_on_a_linear_model():
    from captum.attr import KernelShap

    w, x = torch.randn(H, W, generator=torch.Generator().manual_seed(5)), torch.rand(1, H, W)
    model = PixelLinear(w).eval()
    ours = attribute(model, x, 0, "kernel_shap", patch=7, samples=100)
    pid = _patch_ids(7)[None, None]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        ref = KernelShap(model).attribute(
            x.unsqueeze(0),
            baselines=0.0,
            target=0,
            feature_mask=pid,
            n_samples=100,
            perturbations_per_eval=100,
            return_input_shape=False,
        )
    assert torch.allclose(torch.tensor(ours.extra["patch_values"]).flatten(), ref.flatten().float(), atol=1e-3)


@pytest.mark.parametrize("method", ["kernel_shap", "lime"])
def test_seeded_methods_are_deterministic_and_keep_the_global_generator(method):
    model, x = _cnn(), torch.rand(1, H, W)
    state = torch.get_rng_state()
    a = attribute(model, x, 2, method, seed=11, fill="noise")
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.map, attribute(model, x, 2, method, seed=11, fill="noise").map)
    assert not torch.equal(a.map, attribute(model, x, 2, method, seed=12, fill="noise").map)
    x0 = x.clone()
    attribute(model, x, 2, method)
    assert torch.equal(x, x0)


@pytest.mark.parametrize("method", ["kernel_shap", "lime"])
def test_patch_methods_batch_their_samples(method):
    PixelLinear.calls = 0
    attribute(PixelLinear(_region_weights()), torch.rand(1, H, W), 0, method, samples=300)
    # attribute() counts the classes (1); the samples go in one pass; x and the fill in one more
    assert PixelLinear.calls <= 3


def test_patch_methods_bad_settings_get_plain_messages():
    model, x = _cnn(), torch.rand(1, H, W)
    with pytest.raises(DlvizError, match="between 2 and 14"):
        attribute(model, x, 1, "kernel_shap", patch=1)
    with pytest.raises(DlvizError, match="between 20 and 2000"):
        attribute(model, x, 1, "lime", samples=5)
    with pytest.raises(DlvizError, match="no setting"):
        attribute(model, x, 1, "lime", window=4)


def test_a_blank_image_with_a_black_fill_has_an_empty_explanation():
    model, x = _cnn(), torch.zeros(1, H, W)
    for method in ("occlusion", "kernel_shap", "lime"):
        assert attribute(model, x, 4, method).empty, method


# --- LIME --------------------------------------------------------------------------------------------------


def test_lime_of_a_linear_model_recovers_the_patch_contributions():
    w = torch.randn(H, W, generator=torch.Generator().manual_seed(6))
    x = torch.rand(1, H, W)
    a = attribute(PixelLinear(w), x, 0, "lime", samples=400)
    want = _exact_linear_shap(w, x, "black", 4)  # for a linear score the local linear model is the score
    got = torch.tensor(a.extra["patch_values"], dtype=torch.float64)
    # Ridge(alpha=1) shrinks each weight by a few percent
    assert (got - want).abs().max() < 0.1 * want.abs().max()
    assert torch.corrcoef(torch.stack([got.flatten(), want.flatten()]))[0, 1] > 0.995
    assert torch.allclose(_patch_sums(a.map[0], 4), got, atol=1e-5 * want.abs().max())


def test_the_perturbation_family_is_registered_with_titles_and_help():
    for key in ("occlusion", "kernel_shap", "lime"):
        m = METHODS[key]
        assert m.family == "perturbation" and m.signed and m.blurb
        assert all(s.title and s.help for s in m.settings.values())
