"""Grad-CAM and Guided Grad-CAM: known answers on a hand-built detector, against Captum, and on every preset."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from dlviz.errors import DlvizError, ExplainError
from dlviz.explain import METHODS, attribute
from dlviz.explain.cam import cam_native, default_layer, guided_backprop, layer_geometry, upsample
from dlviz.explain.registry import private_copy
from dlviz.models import PRESETS, build


# --------------------------------------------------------------------------- a hand-built square detector
def _detector() -> nn.Sequential:
    """28x28 -> conv 4x4 -> ReLU -> maxpool 2 -> conv 3x3 -> ReLU -> flatten -> dense (2 classes).

    Channel 0 of conv2d_1 fires only where a 4x4 window is entirely bright (mean 1 - 0.9 > 0; a window
    that is 3/4 bright gives 0.75 - 0.9 < 0). Channel 0 of conv2d_2 spreads that spike with a peaked
    3x3 kernel. Class 0's score is the sum of that channel; class 1's is minus it (evidence against).
    Channel 1 is silent on images in [0, 1].
    """
    conv1, conv2, dense = nn.Conv2d(1, 2, 4), nn.Conv2d(2, 2, 3), nn.Linear(2 * 10 * 10, 2)
    with torch.no_grad():
        conv1.weight.zero_(), conv1.bias.zero_(), conv2.weight.zero_(), conv2.bias.zero_(), dense.weight.zero_()
        conv1.weight[0] = 1 / 16
        conv1.bias[0] = -0.9
        conv1.weight[1] = -1 / 16
        peak = torch.tensor([0.25, 0.5, 0.25]) * 2
        conv2.weight[0, 0] = peak[:, None] * peak[None, :]
        conv2.weight[1, 1] = 1.0
        dense.bias.zero_()
        dense.weight[0, :100] = 1.0
        dense.weight[1, :100] = -1.0
        dense.weight[1, 100:] = 0.01
    return nn.Sequential(
        OrderedDict(
            [
                ("conv2d_1", conv1),
                ("relu_1", nn.ReLU()),
                ("maxpool_1", nn.MaxPool2d(2)),
                ("conv2d_2", conv2),
                ("relu_2", nn.ReLU()),
                ("flatten_1", nn.Flatten()),
                ("dense_1", dense),
            ]
        )
    ).eval()


def _square(r: int, c: int) -> torch.Tensor:
    x = torch.zeros(1, 28, 28)
    x[0, r : r + 4, c : c + 4] = 1.0
    return x


def _peak(amap: torch.Tensor) -> tuple[int, int]:
    m = amap[0]
    i = int(m.flatten().argmax())
    return i // m.shape[1], i % m.shape[1]


def _centre_of_mass(amap: torch.Tensor) -> tuple[float, float]:
    m = amap[0].clamp(min=0)
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    return float((m * rows).sum() / m.sum()), float((m * cols).sum() / m.sum())


PLACES = [(2, 16), (20, 6), (12, 12)]  # near the top right, near the bottom left, the centre


@pytest.mark.parametrize("r,c", PLACES)
def test_grad_cam_peaks_on_the_planted_square(r, c):
    model = _detector()
    assert float(model(_square(r, c)[None])[0, 0].detach()) > 0  # the detector does see it
    a = attribute(model, _square(r, c), 0, "grad_cam")
    pr, pc = _peak(a.map)
    assert r <= pr <= r + 3 and c <= pc <= c + 3, (pr, pc)
    cr, cc = _centre_of_mass(a.map)
    assert abs(cr - (r + 1.5)) <= 1.5 and abs(cc - (c + 1.5)) <= 1.5, (cr, cc)  # within the pooling grain
    assert a.extra["layer"] == "conv2d_2" and a.extra["last_conv"] is True and a.extra["aligned"] is True
    assert (a.extra["cam_height"], a.extra["cam_width"]) == (10, 10)
    assert a.map.min() >= 0 and not METHODS["grad_cam"].signed


def test_grad_cam_moves_with_the_square():
    model = _detector()
    (r1, c1), (r2, c2) = PLACES[0], PLACES[1]
    p1 = _peak(attribute(model, _square(r1, c1), 0, "grad_cam").map)
    p2 = _peak(attribute(model, _square(r2, c2), 0, "grad_cam").map)
    assert (p2[0] - p1[0], p2[1] - p1[1]) == (r2 - r1, c2 - c1)


def test_a_plain_stretch_would_miss_the_corner_squares():
    """Why the map is aligned to receptive fields: stretching the 10x10 CAM over 28x28 puts the heat
    2-4 pixels off for a square near the border (cell j sees pixel 2j + 4, not 2.8j + 0.9)."""
    model = _detector()
    for r, c in PLACES[:2]:
        x = _square(r, c)[None]
        cam = cam_native(private_copy(model), x.requires_grad_(True), 0, "conv2d_2")
        pr, pc = _peak(upsample(cam, (28, 28), None)[0])
        assert not (r <= pr <= r + 3 and c <= pc <= c + 3)
        pr, pc = _peak(upsample(cam, (28, 28), layer_geometry(model, "conv2d_2"))[0])
        assert r <= pr <= r + 3 and c <= pc <= c + 3


def test_evidence_against_the_class_gives_an_empty_map_and_contrast_works():
    model, x = _detector(), _square(8, 10)
    against = attribute(model, x, 1, "grad_cam")  # class 1 = minus the square detector
    assert against.empty and against.extra["cam_max"] == 0
    why = attribute(model, x, 0, "grad_cam", contrast=1)  # "why 0 and not 1?" through the Contrast wrapper
    pr, pc = _peak(why.map)
    assert 8 <= pr <= 11 and 10 <= pc <= 13 and why.contrast == 1


def test_guided_grad_cam_lights_exactly_the_square():
    model, x = _detector(), _square(12, 6)
    a = attribute(model, x, 0, "guided_grad_cam")
    mask = x[0] > 0
    # guided backprop reaches the input only through the one active conv2d_1 unit (the square's window),
    # whose weights are 1/16 everywhere; Grad-CAM is positive over the square: the product is the square
    assert torch.equal(a.map[0] != 0, mask)
    assert bool((a.map[0][mask] > 0).all())
    assert a.extra["guided_relus"] == 2 and METHODS["guided_grad_cam"].signed


# --------------------------------------------------------------------------- against independent computations
def _cnn():
    return build(PRESETS["cnn"].spec, seed=0).module.eval()


def test_native_cam_equals_captum_layer_grad_cam():
    from captum.attr import LayerGradCam

    # a conv layer's CAM weighs its rectified maps: the ReLU that follows it (Selvaraju et al. 2017)
    model, x = _cnn(), torch.rand(1, 1, 28, 28)
    for name, maps in (("conv2d_1", "relu_1"), ("conv2d_2", "relu_2")):
        for target in (0, 7):
            ours = cam_native(private_copy(model), x.clone().requires_grad_(True), target, name)
            ref = LayerGradCam(model, dict(model.named_modules())[maps]).attribute(
                x, target=target, relu_attributions=True
            )
            assert torch.allclose(ours, ref.detach(), atol=1e-8, rtol=1e-5)


def test_grad_cam_is_not_empty_on_a_trained_cnn(mnist_dir):
    """On the raw conv2d_2 output the CAM of a trained CNN cancelled out for most digits (empty maps);
    on the rectified maps every test digit gets a map."""
    from dlviz.data import load_dataset
    from dlviz.explain import attribute
    from dlviz.train import TrainConfig, fit, image_transform, prepare_data

    raw = load_dataset("mnist", mnist_dir)
    cfg = TrainConfig(epochs=1, limit=3000, cpu_threads="fixed")
    model = _cnn()
    fit(model, prepare_data(raw, cfg, torch.device("cpu")), cfg)
    xs = image_transform(raw.test_x[:8])
    for x in xs:
        target = int(model.eval()(x[None]).argmax())
        a = attribute(model, x, target, "grad_cam")
        assert not a.empty and a.extra["maps_after"] == "relu_2"


def test_plain_stretch_equals_interpolate_and_alignment_places_cells_on_their_centres():
    cam = torch.rand(1, 1, 11, 11)
    ref = torch.nn.functional.interpolate(cam, (28, 28), mode="bilinear", align_corners=False)
    assert torch.allclose(upsample(cam, (28, 28), None), ref, atol=1e-6)
    # aligned: cell (i, j) lands exactly on pixel (2i + 4, 2j + 4) (scale 2, offset 4)
    up = upsample(cam, (28, 28), ((2.0, 4.0), (2.0, 4.0)))
    assert torch.allclose(up[0, 0, 4:25:2, 4:25:2], cam[0, 0, :11, :11], atol=1e-6)
    # beyond the outermost centres (pixels 0-3, 25-27) the map fades to zero over one cell spacing (2 pixels)
    assert torch.allclose(up[0, 0, :4, 4], cam[0, 0, 0, 0] * torch.tensor([0, 0, 0, 0.5]), atol=1e-6)
    assert torch.allclose(up[0, 0, 24:, 24], cam[0, 0, 10, 10] * torch.tensor([1, 0.5, 0, 0]), atol=1e-6)


def test_geometry_matches_the_gradient_receptive_field():
    """The analytic centres against an empirical one: with positive weights, avg pooling and no ReLU,
    the input gradient of one output cell is symmetric about the centre of what the cell sees."""
    torch.manual_seed(0)
    model = nn.Sequential(
        OrderedDict(
            [
                ("conv2d_1", nn.Conv2d(1, 2, 5)),
                ("avgpool_1", nn.AvgPool2d(3, stride=2)),
                ("conv2d_2", nn.Conv2d(2, 2, 3, stride=2, padding=1)),
                ("conv2d_3", nn.Conv2d(2, 1, 2, padding="same")),
            ]
        )
    )
    for m in model:
        if hasattr(m, "weight"):
            with torch.no_grad():
                m.weight.fill_(1.0)
    for name in ("conv2d_1", "conv2d_2", "conv2d_3"):
        (sr, orow), (sc, ocol) = layer_geometry(model, name)
        x = torch.zeros(1, 1, 40, 40, requires_grad=True)
        sub = model[: list(dict(model.named_children())).index(name) + 1]
        out = sub(x)
        i, j = 3, 2
        (g,) = torch.autograd.grad(out[0, 0, i, j], x)
        rows, cols = torch.meshgrid(torch.arange(40.0), torch.arange(40.0), indexing="ij")
        g = g[0, 0]
        assert abs(float((g * rows).sum() / g.sum()) - (sr * i + orow)) < 1e-4
        assert abs(float((g * cols).sum() / g.sum()) - (sc * j + ocol)) < 1e-4
    assert layer_geometry(model, "conv2d_2") == ((4.0, 3.0), (4.0, 3.0))
    assert layer_geometry(model, "conv2d_3") == ((4.0, 5.0), (4.0, 5.0))  # 2x2 'same' pads on the right


def test_guided_backprop_equals_captum_and_leaves_no_hooks():
    from captum.attr import GuidedBackprop

    model, x = _cnn(), torch.rand(1, 1, 28, 28)
    ref = GuidedBackprop(model).attribute(x, target=4).detach()
    ours, n = guided_backprop(model, x, 4)
    assert n == 3 and torch.allclose(ours, ref, atol=1e-7)
    assert sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules()) == 0
    # the ReLUs backpropagate normally again
    xg = x.clone().requires_grad_(True)
    (plain,) = torch.autograd.grad(model(xg)[0, 4], xg)
    assert not torch.allclose(plain, ours)
    a = attribute(model, x[0], 4, "guided_grad_cam")
    cam = attribute(model, x[0], 4, "grad_cam")
    assert torch.allclose(a.map, ref[0] * cam.map, atol=1e-9)


# --------------------------------------------------------------------------- layers, presets and bad input
def test_layer_setting_picks_any_conv_layer_and_explains_bad_names():
    model, x = _cnn(), torch.rand(1, 28, 28)
    first = attribute(model, x, 2, "grad_cam", layer="conv2d_1")
    assert first.extra["layer"] == "conv2d_1" and first.extra["last_conv"] is False
    assert (first.extra["cam_height"], first.extra["cam_width"]) == (26, 26)
    assert attribute(model, x, 2, "grad_cam").extra["layer"] == "conv2d_2"
    for bad in ("dense_1", "conv9", 3):
        with pytest.raises(ExplainError, match="no convolution layer called .* conv2d_1, conv2d_2"):
            attribute(model, x, 2, "grad_cam", layer=bad)
    with pytest.raises(ExplainError, match="Guided Grad-CAM: this model has no convolution layer"):
        attribute(model, x, 2, "guided_grad_cam", layer="relu_1")


def test_resnet_every_conv_layer_including_the_ones_inside_residual_blocks():
    model, x = build(PRESETS["resnet"].spec, seed=0).module, torch.rand(1, 28, 28)
    assert default_layer(model) == "residual_3.conv2"  # not the shortcut's 1x1 projection
    for name in ("residual_1.conv1", "residual_2.conv2", "residual_3.shortcut.0", ""):
        for method in ("grad_cam", "guided_grad_cam"):
            a = attribute(model, x, 5, method, layer=name)
            assert a.map.shape == (1, 28, 28) and torch.isfinite(a.map).all() and a.extra["aligned"]
    a = attribute(model, x, 5, "grad_cam")
    assert a.extra["layer"] == "residual_3.conv2" and (a.extra["cam_height"], a.extra["cam_width"]) == (7, 7)
    assert layer_geometry(model, "residual_3.conv2") == ((4.0, 0.0), (4.0, 0.0))


def test_a_model_without_conv_layers_gets_a_plain_message():
    model = build(PRESETS["mlp"].spec, seed=0).module
    for method in ("grad_cam", "guided_grad_cam"):
        with pytest.raises(DlvizError, match="needs a convolution layer, and this model has none"):
            attribute(model, torch.rand(1, 28, 28), 0, method)


def test_unknown_geometry_falls_back_to_a_stretch():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 3, 3)
            self.head = nn.Linear(3, 2)

        def forward(self, x):
            return self.head(self.conv(x).mean(dim=(2, 3)))

    a = attribute(Odd(), torch.rand(1, 28, 28), 1, "grad_cam")
    assert a.extra["aligned"] is False and a.map.shape == (1, 28, 28)


def test_multichannel_input_gets_the_map_on_every_channel():
    model = nn.Sequential(
        OrderedDict(
            [
                ("conv2d_1", nn.Conv2d(3, 4, 3)),
                ("relu_1", nn.ReLU()),
                ("flatten_1", nn.Flatten()),
                ("dense_1", nn.Linear(4 * 6 * 6, 3)),
            ]
        )
    )
    a = attribute(model, torch.rand(3, 8, 8), 0, "grad_cam")
    assert a.map.shape == (3, 8, 8) and torch.equal(a.map[0], a.map[2])
