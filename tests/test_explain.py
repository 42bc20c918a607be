"""Attribution methods: known answers against torch.autograd, IG completeness, the model untouched."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from dlviz.errors import DlvizError
from dlviz.explain import METHODS, attribute
from dlviz.models import PRESETS, build


def _cnn():
    torch.manual_seed(0)
    return build(PRESETS["cnn"].spec, seed=0).module


def test_saliency_equals_autograd():
    model, x = _cnn().eval(), torch.rand(1, 28, 28)
    xb = x.unsqueeze(0).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xb)[0, 3], xb)
    got = attribute(model, x, 3, "saliency")
    assert torch.allclose(got.map, grad[0].abs(), atol=1e-7)
    assert torch.allclose(attribute(model, x, 3, "input_x_gradient").map, (grad * xb)[0].detach(), atol=1e-7)


def test_integrated_gradients_completeness_on_the_cnn():
    model, x = _cnn(), torch.rand(1, 28, 28)
    a = attribute(model, x, 7, "integrated_gradients", steps=50)
    e = a.extra
    # sum of attributions = f(x) - f(black): within 1% (Sundararajan et al. 2017)
    assert abs(e["attribution_sum"] - e["output_difference"]) <= 0.01 * abs(e["output_difference"])
    assert a.map.shape == x.shape


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_leaves_the_model_bit_for_bit_unchanged(method):
    model = _cnn().train()
    before = copy.deepcopy(model.state_dict())
    a = attribute(model, torch.rand(1, 28, 28), 1, method)
    assert a.map.shape == (1, 28, 28) and a.seconds >= 0
    assert model.training  # mode untouched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules()) == 0
    assert all(p.requires_grad for p in model.parameters())


def test_bad_requests_get_plain_messages():
    model, x = _cnn(), torch.rand(1, 28, 28)
    with pytest.raises(DlvizError, match="does not exist"):
        attribute(model, x, 10, "saliency")
    with pytest.raises(DlvizError, match="Unknown explanation method"):
        attribute(model, x, 1, "magic")
    with pytest.raises(DlvizError, match="between 2 and 500"):
        attribute(model, x, 1, "integrated_gradients", steps=1)
    with pytest.raises(DlvizError, match="one of"):
        attribute(model, x, 1, "integrated_gradients", baseline_kind="grey")
    with pytest.raises(DlvizError, match="two different classes"):
        attribute(model, x, 1, "saliency", contrast=1)


def test_every_method_title_blurb_and_setting_reads_in_chinese():
    from dlviz.i18n import catalogue

    zh = catalogue("zh")
    for m in METHODS.values():
        assert m.blurb, m.key
        texts = [m.title, m.blurb] + [x for s in m.settings.values() for x in (s.title, s.help)]
        missing = [x for x in texts if not x or x not in zh]
        assert not missing, (m.key, missing)


def test_contrast_explains_the_difference_of_two_scores():
    model, x = _cnn().eval(), torch.rand(1, 28, 28)
    xb = x.unsqueeze(0).requires_grad_(True)
    out = model(xb)[0]
    (grad,) = torch.autograd.grad(out[3] - out[8], xb)
    got = attribute(model, x, 3, "saliency", contrast=8, absolute=False)
    assert got.contrast == 8 and torch.allclose(got.map, grad[0], atol=1e-6)


def test_warm_up_runs_the_path_once_in_the_background_and_leaves_random_state_alone():
    """Issue 12 item 7: the first explanation paid a cold start (Saliency 1.2 s). The app starts a warm-up
    thread (dlviz.ui.nav.run_app); it must run the real path and never touch a training thread's randomness."""
    import sys

    from dlviz.explain import warm

    calls = []
    real = warm._run
    warm._DONE.pop(("test",), None)
    rng = torch.get_rng_state()
    th = warm.warm_up(key=("test",))
    th.join(timeout=120)
    assert not th.is_alive() and warm.warmed(("test",))
    assert "captum.attr" in sys.modules
    assert torch.equal(torch.get_rng_state(), rng)  # constant weights, no initialisation drawn
    assert warm.warm_up(key=("test",)) is th  # once per key
    monkey = lambda *a: calls.append(a)  # noqa: E731
    warm._run = monkey
    try:
        warm._DONE.pop(("test2",), None)
        warm.warm_up(torch.nn.Linear(4, 2), (4,), ("saliency",), key=("test2",)).join()
    finally:
        warm._run = real
    assert calls and calls[0][1] == (4,) and calls[0][2] == ("saliency",)


def test_the_page_joins_a_warm_up_in_flight_instead_of_racing_it(monkeypatch):
    """Issue 12: on a direct first visit to the Explain page the app's warm-up thread and the page's first
    explanation ran at once (the first Saliency took ~760 ms). explain_many (what both Explain pages call)
    must wait for the warm-up in flight, then warm the page's own model, and only then compute."""
    import threading

    from dlviz.explain import attribute, warm
    from dlviz.explain.batch import explain_many

    events = []
    release = threading.Event()
    real = warm._run

    def slow_run(model, shape, methods, example=None):
        if methods == ("blocking",):
            events.append("warm-up started")
            release.wait(30)
            events.append("warm-up finished")
        else:  # ready(): the cheap call on the page's own model
            events.append(("model warmed", model, tuple(shape), methods))

    def explain(model, x, target, method, **kw):
        events.append(("explain", method))
        return attribute(model, x, target, method, **kw)

    monkeypatch.setattr(warm, "_run", slow_run)
    monkeypatch.setattr(warm, "_DONE", {})
    warm.warm_up(methods=("blocking",), key=("process",))
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    x = torch.rand(1, 4, 4)
    cache, out = {}, {}
    page = threading.Thread(
        target=lambda: out.update(res=explain_many(model, x, 0, None, {"saliency": {}}, cache, "run|x", explain))
    )
    page.start()
    page.join(1.0)
    assert page.is_alive() and events == ["warm-up started"]  # waiting, not computing a second cold path
    release.set()
    page.join(60)
    assert not page.is_alive()
    assert events[1] == "warm-up finished"
    assert events[2] == ("model warmed", model, (1, 4, 4), ("saliency",))  # the page's model and input shape
    assert events[3] == ("explain", "saliency") and list(out["res"].maps) == ["saliency"]
    # a second page view: nothing to compute, no warm-up, no waiting
    events.clear()
    again = explain_many(model, x, 0, None, {"saliency": {}}, cache, "run|x", explain)
    assert events == [] and again.maps["saliency"] is out["res"].maps["saliency"]
    monkeypatch.setattr(warm, "_run", real)


def test_ready_warms_a_text_model_with_token_ids(monkeypatch):
    """The per-model warm-up runs the real word path on a text model (token ids, not a float image)."""
    from dlviz.explain import registry, text, warm

    got = []
    monkeypatch.setitem(registry._VERBS, "tokens", lambda *a, **kw: got.append(text.attribute_text(*a, **kw)))
    model = nn.Sequential(nn.Embedding(6, 3), nn.Flatten(), nn.Linear(12, 2)).eval()
    ids = torch.tensor([0, 2, 3, 4])
    warm.ready(model, ids)
    assert warm.warmed(("model", id(model), (4,), str(ids.dtype)))
    assert len(got) == 1 and got[0].method == "saliency" and len(got[0].scores) == 4


def test_seconds_include_the_private_copy(monkeypatch):
    """Issue 12 item 7: ``seconds`` left out the private copy of the model; the copy must count. A fake clock
    (no real timing): the copy moves it on by 100."""
    from types import SimpleNamespace

    from dlviz.explain import registry

    clock = [0.0]
    real = registry.private_copy

    def copy_taking_100(model):
        clock[0] += 100.0
        return real(model)

    monkeypatch.setattr(registry, "private_copy", copy_taking_100)
    monkeypatch.setattr(registry, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    assert attribute(model, torch.rand(1, 28, 28), 1, "saliency").seconds == 100.0
