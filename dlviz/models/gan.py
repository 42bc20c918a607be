"""A small DCGAN for 28x28 grey digits: a generator (noise -> image) and a discriminator (image -> real?).

The course's GAN (its second tutorial, section 4.4, TensorFlow) maps noise through Dense 1024 and Dense
7x7x256 to three 5x5 stride-2 transposed convolutions (128, 64, 3 channels, tanh), and judges an image with
three 5x5 stride-2 convolutions (64, 128, 256, leaky ReLU) and one sigmoid unit. Here, for MNIST and a 2-core
CPU, the same shape smaller:

- two up-samplings, not three: 7 -> 14 -> 28 is MNIST's size (the course's third would give 56x56) and one
  grey channel, not three (its 3 is a colour image's);
- widths 64 and 32 instead of 256, 128 and 64, without the Dense 1024 (the preset trains about 10x faster and
  still draws digits in a few epochs);
- batch normalisation in the generator (the DCGAN paper's recipe: without it a small generator collapses
  more often);
- the discriminator ends in one logit (the loss applies the sigmoid, which is numerically safer);
- the generator's tanh is rescaled to [0, 1], the range the data pipeline gives real images
  (``image_transform``), so the discriminator sees real and generated images on the same scale.

A GAN's spec is not a list of layers: ``{"name": "dcgan", "task": "generation", "latent": 64, "width": 32}``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from dlviz.errors import SpecError
from dlviz.models.builder import Built, LayerRow

GAN_KIND = "generation"  # the spec's "task": what dlviz.tasks trains it with

DCGAN = {"name": "dcgan", "task": GAN_KIND, "latent": 64, "width": 32}
GAN_PRESETS: dict[str, dict] = {"dcgan": DCGAN}
# the recipe: Adam at 2e-4 with beta1 0.5 and batch 64 (Radford et al. 2016), a constant rate
RECIPE = {"optimizer": "adam", "lr": 2e-4, "batch_size": 64, "epochs": 5, "schedule": "constant"}
BETAS = (0.5, 0.999)
FIXED_SEED = 1234  # the fixed noise the Train page draws its grid from, the same at every step and epoch


def is_gan_spec(spec) -> bool:
    return isinstance(spec, dict) and spec.get("task") == GAN_KIND


def gan_spec(spec: dict) -> dict:
    """A validated copy of a GAN spec (SpecError otherwise)."""
    out = {**DCGAN, **{k: v for k, v in spec.items() if k in DCGAN}}
    for key, lo, hi in (("latent", 2, 512), ("width", 4, 256)):
        v = out[key]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise SpecError(
                "A GAN's {key} must be a whole number from {lo} to {hi}; it is {value}.",
                key=key,
                lo=lo,
                hi=hi,
                value=str(v),
            )
    return out


class Generator(nn.Module):
    def __init__(self, latent: int, width: int):
        super().__init__()
        self.latent, w = latent, width
        self.project = nn.Sequential(nn.Linear(latent, 7 * 7 * 2 * w), nn.BatchNorm1d(7 * 7 * 2 * w), nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 5, stride=2, padding=2, output_padding=1),  # 7 -> 14
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.ConvTranspose2d(w, 1, 5, stride=2, padding=2, output_padding=1),  # 14 -> 28
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), -1, 7, 7)
        return (self.up(h) + 1) / 2  # tanh's [-1, 1] as the data's [0, 1]


class Discriminator(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(1, w, 5, stride=2, padding=2),  # 28 -> 14
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 5, stride=2, padding=2),  # 14 -> 7
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(7 * 7 * 2 * w, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)  # one logit per image: > 0 says "real"


class GAN(nn.Module):
    """The pair. ``gan(x)`` is the discriminator's logits on images ``x`` (how a held-out set is scored);
    ``gan.sample(z)`` the generator's images."""

    def __init__(self, latent: int, width: int):
        super().__init__()
        self.latent = latent
        self.generator = Generator(latent, width)
        self.discriminator = Discriminator(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x)

    def noise(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        return torch.randn(n, self.latent, generator=generator).to(device or next(self.parameters()).device)

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images (N, 1, 28, 28) in [0, 1] from noise ``z``, in eval mode (batch-norm's running statistics, so
        an image depends on its own noise only); restores the mode."""
        was = self.generator.training
        self.generator.eval()
        out = self.generator(z.to(next(self.parameters()).device)).float()
        self.generator.train(was)
        return out


def fixed_noise(latent: int, n: int = 64, seed: int = FIXED_SEED) -> torch.Tensor:
    """The same ``n`` noise vectors every time (on the CPU): the grid a class watches change."""
    return torch.randn(n, latent, generator=torch.Generator().manual_seed(seed))


def build_gan(spec: dict, seed: int | None = None) -> Built:
    """The GAN of ``spec``, DCGAN-initialised (normal weights, std 0.02), with a table of its two parts."""
    s = gan_spec(spec)
    if seed is not None:
        torch.manual_seed(seed)
    gan = GAN(s["latent"], s["width"])
    for m in gan.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    def count(m):
        return sum(p.numel() for p in m.parameters())

    table = [
        LayerRow(
            "generator", "generator", "Generator", f"noise {s['latent']} -> 28x28", (1, 28, 28), count(gan.generator)
        ),
        LayerRow("discriminator", "discriminator", "Discriminator", "28x28 -> real?", (1,), count(gan.discriminator)),
    ]
    return Built(gan, table, (1, 28, 28), torch.float32)


def copy_preset(key: str) -> dict:
    return copy.deepcopy(GAN_PRESETS[key])
