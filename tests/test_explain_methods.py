"""SmoothGrad, DeepLift and GradientSHAP: known answers on linear and hand-built models, exact
DeepLift completeness on the image presets, seeded sampling, plain messages for models DeepLift
cannot handle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlviz.errors import DlvizError
from dlviz.explain import METHODS, attribute, methods
from dlviz.explain.methods import baseline, shap_references
from dlviz.models import PRESETS, build

NEW = ("smoothgrad", "deeplift", "gradient_shap")


def _cnn():
    return build(PRESETS["cnn"].spec, seed=0).module


def _image(seed=1):
    return torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _linear():
    """f(x) = W x + c over the flattened image: every gradient is the row W[k], everywhere."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 3))
    return model, model[1].weight.detach()


def test_registered_with_titles_blurbs_and_documented_settings():
    for key in NEW:
        m = METHODS[key]
        assert m.title and m.blurb.endswith(".") and m.family == "gradient"
        assert all(s.title and s.help for s in m.settings.values()), key


# --------------------------------------------------------------------------- DeepLift
def test_deeplift_on_a_linear_model_is_weight_times_input():
    model, w = _linear()
    x = _image()
    a = attribute(model, x, 2, "deeplift")  # black baseline
    assert torch.allclose(a.map, (w[2] * x.flatten()).view(1, 28, 28), atol=1e-7)
    b = baseline(x[None], "blurred")[0]
    a = attribute(model, x, 2, "deeplift", baseline_kind="blurred")
    assert torch.allclose(a.map, (w[2] * (x - b).flatten()).view(1, 28, 28), atol=1e-7)


def test_deeplift_rescale_rule_by_hand():
    # y = v . relu(W x + c): DeepLift gives x_i - b_i times sum_j v_j W_ji dh_j / dz_j (Shrikumar et al. 2017)
    torch.manual_seed(0)
    lin1, lin2 = nn.Linear(784, 6), nn.Linear(6, 2)
    model = nn.Sequential(nn.Flatten(), lin1, nn.ReLU(), lin2)
    x = _image(4)
    b = baseline(x[None], "noise")[0]
    with torch.no_grad():
        zx, zb = lin1(x.flatten()), lin1(b.flatten())
        m = (torch.relu(zx) - torch.relu(zb)) / (zx - zb)  # (6,) the rescale multipliers
        want = ((lin2.weight[1] * m) @ lin1.weight) * (x - b).flatten()
    got = attribute(model, x, 1, "deeplift", baseline_kind="noise")
    assert torch.allclose(got.map.flatten(), want, atol=1e-6)


@pytest.mark.parametrize("kind", ["black", "blurred", "noise"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_deeplift_completeness_on_the_cnn_within_one_percent(kind, seed):
    # ReLU feeds MaxPool directly in the cnn: without a fresh tensor between them Captum's sum is
    # 2-26% off with a blurred or noise baseline (see methods._separate_nonlinear)
    a = attribute(_cnn(), _image(seed), 7, "deeplift", baseline_kind=kind)
    e = a.extra
    assert abs(e["attribution_sum"] - e["output_difference"]) <= 0.01 * abs(e["output_difference"])
    assert e["completeness_delta"] <= 0.01 * abs(e["output_difference"])
    assert abs(float(a.map.sum()) - e["attribution_sum"]) < 1e-6


@pytest.mark.parametrize("preset", ["mlp", "cnn", "deep-sigmoid", "resnet"])
def test_deeplift_works_on_every_image_preset(preset):
    model = build(PRESETS[preset].spec, seed=0).module
    x = _image(5)
    for kind in ("black", "blurred"):
        a = attribute(model, x, 4, "deeplift", baseline_kind=kind)
        e = a.extra
        assert a.map.shape == x.shape and torch.isfinite(a.map).all()
        # relative where the score moves; the untrained deep-sigmoid's score barely moves (~1e-6), so
        # there the float32 rounding of the scores themselves sets the bound
        assert abs(e["attribution_sum"] - e["output_difference"]) <= max(0.01 * abs(e["output_difference"]), 1e-6)
    c = attribute(model, x, 4, "deeplift", contrast=6)  # "why 4 and not 6?": the difference's sum
    assert abs(c.extra["attribution_sum"] - c.extra["output_difference"]) <= max(
        0.01 * abs(c.extra["output_difference"]), 1e-6
    )


def test_deeplift_matches_integrated_gradients_on_a_linear_model_and_is_empty_on_a_blank_image():
    model, _ = _linear()
    x = _image()
    assert torch.allclose(
        attribute(model, x, 0, "deeplift").map, attribute(model, x, 0, "integrated_gradients").map, atol=1e-6
    )
    blank = attribute(_cnn(), torch.zeros(1, 28, 28), 3, "deeplift")
    assert blank.empty and blank.extra["output_difference"] == 0.0


def test_deeplift_refuses_layers_it_has_no_rule_for():
    with pytest.raises(DlvizError, match=r"no rule for the layer 'lstm_1.rnn' \(LSTM\).*Integrated Gradients"):
        attribute(build(PRESETS["rnn"].spec, seed=0).module, _image(), 1, "deeplift")
    gelu = nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.GELU(), nn.Linear(8, 3))
    with pytest.raises(DlvizError, match=r"'2' \(GELU\)"):
        attribute(gelu, _image(), 1, "deeplift", contrast=2)  # names the layer inside a Contrast too


# --------------------------------------------------------------------------- SmoothGrad
@pytest.mark.parametrize(
    "base,kw",
    [("saliency", {}), ("input_x_gradient", {}), ("integrated_gradients", {"steps": 10, "baseline_kind": "blurred"})],
)
def test_smoothgrad_with_no_noise_equals_its_base_method(base, kw):
    model, x = _cnn(), _image()
    want = attribute(model, x, 3, base, **kw).map
    got = attribute(model, x, 3, "smoothgrad", base=base, noise=0.0, samples=7, **kw)
    assert torch.allclose(got.map, want, rtol=1e-4, atol=1e-7)
    sq = attribute(model, x, 3, "smoothgrad", base=base, noise=0.0, samples=3, average="squared", **kw)
    assert torch.allclose(sq.map, want**2, rtol=1e-4, atol=1e-10)


def test_smoothgrad_one_sample_is_the_gradient_at_one_seeded_noisy_copy():
    # noise is a fraction of the input's range: sigma = 0.3 * (max - min); the copy is x + sigma z, z ~ N(0, 1)
    model = _cnn().eval()
    x = _image() * 0.5 + 0.2  # range 0.5 -> sigma 0.15
    z = torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    sigma = 0.3 * float(x.max() - x.min())
    xn = (x[None] + sigma * z).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xn)[0, 5], xn)
    got = attribute(model, x, 5, "smoothgrad", base="input_x_gradient", samples=1, noise=0.3)
    assert torch.allclose(got.map, (grad * xn)[0].detach(), atol=1e-7)
    assert got.extra["noise_std"] == pytest.approx(sigma)


def test_smoothgrad_on_a_linear_model():
    model, w = _linear()
    x = _image()
    sal = attribute(model, x, 1, "smoothgrad", samples=30, noise=0.5)  # the gradient is |w| whatever the noise
    assert torch.allclose(sal.map, w[1].abs().view(1, 28, 28), atol=1e-7)
    ixg = attribute(model, x, 1, "smoothgrad", base="input_x_gradient", samples=200, noise=0.2)
    # w * mean(x + noise): the noise averages out, within 4 standard errors of the mean
    assert torch.allclose(
        ixg.map, (w[1] * x.flatten()).view(1, 28, 28), atol=4 * 0.2 / 200**0.5 * float(w[1].abs().max())
    )


def test_smoothgrad_is_seeded_and_noise_matters():
    model, x = _cnn(), _image()
    a = attribute(model, x, 3, "smoothgrad")
    b = attribute(model, x, 3, "smoothgrad")
    assert torch.equal(a.map, b.map)
    assert not torch.allclose(a.map, attribute(model, x, 3, "saliency").map, atol=1e-6)
    assert a.settings["samples"] == 20 and a.settings["noise"] == 0.15


def test_smoothgrad_of_integrated_gradients_is_the_same_in_small_passes(monkeypatch):
    model, x = _cnn(), _image()
    kw = dict(base="integrated_gradients", samples=9, steps=8)
    whole = attribute(model, x, 2, "smoothgrad", **kw).map
    monkeypatch.setattr(methods, "ROWS_PER_PASS", 20)  # 2 noisy copies x 8 steps per pass
    assert torch.allclose(attribute(model, x, 2, "smoothgrad", **kw).map, whole, rtol=1e-4, atol=1e-8)
    monkeypatch.setattr(methods, "ROWS_PER_PASS", 3)  # fewer rows than steps: one copy per pass
    assert torch.allclose(attribute(model, x, 2, "smoothgrad", **kw).map, whole, rtol=1e-4, atol=1e-8)


# --------------------------------------------------------------------------- GradientSHAP
def test_gradient_shap_on_a_linear_model():
    model, w = _linear()
    x = _image()
    a = attribute(model, x, 0, "gradient_shap", references="black", noise=0.0)
    assert torch.allclose(a.map, (w[0] * x.flatten()).view(1, 28, 28), atol=1e-7)
    b = baseline(x[None], "blurred")[0]
    a = attribute(model, x, 0, "gradient_shap", references="blurred", noise=0.0, samples=5)
    assert torch.allclose(a.map, (w[0] * (x - b).flatten()).view(1, 28, 28), atol=1e-7)
    # a mixed distribution: the expectation is w (x - E[reference]); 500 draws from 3 references
    refs = shap_references(x[None], "mixed")
    want = (w[0] * (x[None] - refs.mean(0, keepdim=True)).flatten()).view(1, 28, 28)
    got = attribute(model, x, 0, "gradient_shap", samples=500, noise=0.1).map
    assert (got - want).norm() <= 0.1 * want.norm()
    assert np.corrcoef(got.flatten().numpy(), want.flatten().numpy())[0, 1] > 0.99


def test_gradient_shap_extra_holds_the_expected_value_numbers():
    model, x = _cnn(), _image()
    a = attribute(model, x, 6, "gradient_shap", samples=200)
    e = a.extra
    model.eval()
    with torch.no_grad():
        refs = shap_references(x[None], "mixed")
        assert e["score"] == pytest.approx(float(model(x[None])[0, 6]), abs=1e-6)
        assert e["expected_reference_score"] == pytest.approx(float(model(refs)[:, 6].mean()), abs=1e-6)
    assert e["expected_difference"] == pytest.approx(e["score"] - e["expected_reference_score"])
    assert e["attribution_sum"] == pytest.approx(float(a.map.sum()), abs=1e-6)
    assert e["expectation_gap"] == pytest.approx(e["attribution_sum"] - e["expected_difference"])
    # an estimate of SHAP values: the sum lands near E[f(x)] - E[f(reference)], not exactly on it
    assert abs(e["expectation_gap"]) <= 0.25 * abs(e["expected_difference"])
    assert "completeness_delta" not in e  # not an exact completeness check, so not reported as one


def test_gradient_shap_is_seeded():
    model, x = _cnn(), _image()
    a, b = (attribute(model, x, 3, "gradient_shap") for _ in range(2))
    assert torch.equal(a.map, b.map)
    assert shap_references(x[None], "noise").shape == (8, 1, 28, 28)


# --------------------------------------------------------------------------- all three
@pytest.mark.parametrize("method", NEW)
def test_no_global_random_state_is_read_or_changed(method):
    model, x = _cnn(), _image()  # building seeds torch itself
    torch.manual_seed(123)
    np.random.seed(123)
    t0, n0 = torch.get_rng_state(), np.random.get_state()[1].copy()
    attribute(model, x, 1, method)
    assert torch.equal(torch.get_rng_state(), t0)
    assert np.array_equal(np.random.get_state()[1], n0)


def test_bad_settings_get_plain_messages():
    model, x = _cnn(), _image()
    with pytest.raises(DlvizError, match="between 1 and 200"):
        attribute(model, x, 1, "smoothgrad", samples=0)
    with pytest.raises(DlvizError, match="between 0.0 and 1.0"):
        attribute(model, x, 1, "smoothgrad", noise=2)
    with pytest.raises(DlvizError, match="one of"):
        attribute(model, x, 1, "smoothgrad", base="occlusion")
    with pytest.raises(DlvizError, match="runs the model on 40000 images"):  # bounded time and memory
        attribute(model, x, 1, "smoothgrad", base="integrated_gradients", samples=200, steps=200)
    attribute(model, x, 1, "smoothgrad", samples=200, steps=200)  # steps unused by Saliency
    with pytest.raises(DlvizError, match="one of"):
        attribute(model, x, 1, "gradient_shap", references="grey")
    with pytest.raises(DlvizError, match="one of"):
        attribute(model, x, 1, "deeplift", baseline_kind="white")


def test_titles_blurbs_settings_and_choices_of_this_module_have_chinese():
    from dlviz.i18n import catalogue

    zh = catalogue("zh")
    own = ("saliency", "input_x_gradient", "integrated_gradients", *NEW)
    words = []
    for key in own:
        m = METHODS[key]
        words += [m.title, m.blurb]
        for s in m.settings.values():
            words += [s.title, s.help, *(c for c in s.choices or () if isinstance(c, str) and c not in METHODS)]
    assert [w for w in words if w not in zh] == []
