"""Explanations of models dlviz did not build (issue 12, item 4): Grad-CAM follows the order a traced forward
pass really ran, a module called twice is no error, and DeepLift judges leaf layers, not the model's class.

Each network here is written for the purpose: a reused activation module, a module called twice, a residual
block with a custom forward, layers registered in another order than they run, and a user's 3-conv network
with BatchNorm and Dropout."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from dlviz.errors import DlvizError
from dlviz.explain import attribute
from dlviz.explain.cam import default_layer, traced_feature
from dlviz.explain.checks import completeness


class ThreeConv(nn.Module):
    """The user's network from the issue: 3 convs with BatchNorm, one ReLU module and Dropout, custom forward."""

    def __init__(self, reuse_dropout: bool = True):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv3, self.bn3 = nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.drop = nn.Dropout(0.25)
        self.drop2 = self.drop if reuse_dropout else nn.Dropout(0.25)
        self.fc = nn.Linear(16 * 7 * 7, 10)
        self.relu = nn.ReLU()  # registered last, runs after every conv

    def forward(self, x):
        x = F.max_pool2d(self.relu(self.bn1(self.conv1(x))), 2)
        x = self.drop(x)
        x = F.max_pool2d(self.relu(self.bn2(self.conv2(x))), 2)
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.drop2(x)
        return self.fc(x.flatten(1))


class ReusedReLU(nn.Module):
    def __init__(self, separate: bool = False):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.fc2 = nn.Linear(8 * 7 * 7, 32), nn.Linear(32, 10)
        self.act = nn.ReLU()
        self.acts = nn.ModuleList([nn.ReLU() for _ in range(3)]) if separate else None

    def a(self, i, x):
        return self.acts[i](x) if self.acts is not None else self.act(x)

    def forward(self, x):
        x = self.pool(self.a(0, self.conv1(x)))
        x = self.pool(self.a(1, self.conv2(x)))
        return self.fc2(self.a(2, self.fc1(x.flatten(1))))


class OutOfOrder(nn.Module):
    """``late`` is registered first but runs last; a shared conv (weights used twice) in between."""

    def __init__(self):
        super().__init__()
        self.late = nn.Conv2d(8, 8, 3, padding=1)
        self.early = nn.Conv2d(1, 8, 3, padding=1)
        self.shared = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = torch.relu(self.early(x))
        x = torch.relu(self.shared(x))
        x = torch.relu(self.shared(x))  # the same conv, called twice
        x = torch.relu(self.late(x))
        return self.head(x.mean(dim=(2, 3)))


class Residual(nn.Module):
    """A residual block written by hand: conv-bn-relu-conv-bn, plus the input, then ReLU."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.c1, self.b1 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.head = nn.Linear(8 * 28 * 28, 10)

    def forward(self, x):
        x = self.relu(self.stem(x))
        y = self.b2(self.c2(self.relu(self.b1(self.c1(x)))))
        return self.head(self.relu(x + y).flatten(1))


def _eval(m: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for b in m.modules():  # BatchNorm with statistics that are not the identity
        if isinstance(b, nn.BatchNorm2d):
            b.running_mean.uniform_(-0.2, 0.2)
            b.running_var.uniform_(0.5, 2.0)
    return m.eval()


def _x(seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("reuse", [True, False])
def test_grad_cam_on_the_users_three_conv_net(reuse):
    """It raised "layer 'conv3' ran 2 times" (a Dropout used twice) and picked Dropout maps that were never
    conv3's (registration order); the traced pass gives conv3 -> bn3 -> relu (its 3rd call) -> dropout."""
    torch.manual_seed(0)
    model = _eval(ThreeConv(reuse))
    for method in ("grad_cam", "guided_grad_cam"):
        a = attribute(model, _x(), 3, method)
        assert a.extra["layer"] == "conv3" and a.map.shape == (1, 28, 28) and torch.isfinite(a.map).all()
    module, label, call, runs = traced_feature(model, "conv3", _x()[None])
    assert label == ("drop" if reuse else "drop2") and runs == 1
    assert call == (1 if reuse else 0)  # the reused Dropout's second call, not its first
    # the known answer: Grad-CAM of conv3's rectified maps, computed by hand
    x = _x()[None].requires_grad_(True)
    h = F.max_pool2d(model.relu(model.bn1(model.conv1(x))), 2)
    h = F.max_pool2d(model.relu(model.bn2(model.conv2(h))), 2)
    act = model.relu(model.bn3(model.conv3(h)))
    out = model.fc(act.flatten(1))
    (g,) = torch.autograd.grad(out[0, 3], act)
    want = torch.relu((g.mean(dim=(2, 3), keepdim=True) * act).sum(1, keepdim=True))
    from dlviz.explain.cam import cam_native
    from dlviz.explain.registry import private_copy

    got = cam_native(private_copy(model), _x()[None], 3, "conv3")
    assert torch.allclose(got, want.detach(), atol=1e-6)


def test_a_reused_activation_is_followed_at_the_right_call():
    model = _eval(ReusedReLU())
    module, label, call, _ = traced_feature(model, "conv2", _x()[None])
    assert label == "act" and call == 1  # conv1's ReLU is call 0, conv2's is call 1
    sep = _eval(ReusedReLU(separate=True))
    sep.load_state_dict(model.state_dict(), strict=False)
    a, b = attribute(model, _x(), 4, "grad_cam", layer="conv2"), attribute(sep, _x(), 4, "grad_cam", layer="conv2")
    assert torch.allclose(a.map, b.map, atol=1e-6)  # the same as with a ReLU module per place


def test_execution_order_not_registration_order_and_a_conv_called_twice():
    model = _eval(OutOfOrder())
    assert default_layer(model) == "shared"  # registration order: late, early, shared
    assert default_layer(model, _x()[None]) == "late"  # what really runs last
    a = attribute(model, _x(), 2, "grad_cam")
    assert a.extra["layer"] == "late"
    twice = attribute(model, _x(), 2, "grad_cam", layer="shared")  # was "ran 2 times"
    assert twice.extra["conv_calls"] == 2 and torch.isfinite(twice.map).all()


def test_a_hand_written_residual_block():
    model = _eval(Residual())
    for layer in ("c1", "c2", "stem", ""):
        a = attribute(model, _x(), 1, "grad_cam", layer=layer)
        assert a.map.shape == (1, 28, 28) and torch.isfinite(a.map).all()
    assert attribute(model, _x(), 1, "grad_cam", layer="c1").extra["maps_after"] == "relu"  # c1 -> b1 -> relu
    assert attribute(model, _x(), 1, "grad_cam", layer="c2").extra["maps_after"] == "b2"  # then the add
    d = attribute(model, _x(), 1, "deeplift")
    assert completeness(d).passed  # additions are linear: DeepLift stays exact


def test_deeplift_judges_leaves_not_the_models_class():
    """It refused any class it did not know ("no rule for the layer 'model' (Net)")."""
    model = _eval(ReusedReLU())
    a = attribute(model, _x(), 3, "deeplift")
    assert completeness(a).relative < 1e-3  # exact: one ReLU module used three times, split per call
    sep = _eval(ReusedReLU(separate=True))
    sep.load_state_dict(model.state_dict(), strict=False)
    assert torch.allclose(a.map, attribute(sep, _x(), 3, "deeplift").map, atol=1e-6)
    users = attribute(_eval(ThreeConv()), _x(), 3, "deeplift")
    assert torch.isfinite(users.map).all() and "completeness_delta" in users.extra

    class WithGELU(ReusedReLU):
        def __init__(self):
            super().__init__()
            self.fancy = nn.GELU()

        def forward(self, x):
            return super().forward(self.fancy(x))

    with pytest.raises(DlvizError, match=r"no rule for the layer 'fancy' \(GELU\)"):  # the real leaf, named
        attribute(WithGELU().eval(), _x(), 3, "deeplift")
