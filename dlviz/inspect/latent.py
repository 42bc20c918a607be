"""Inside an autoencoder: its encoder and decoder, the latent codes of images, and a walk through the latent space.

An autoencoder is one ``nn.Sequential``; its middle (the latent code) is the output of the layer with the fewest
numbers, the bottleneck. Everything up to it is the encoder, the rest the decoder. A latent space of more than two
numbers is drawn through its two main directions (PCA of the codes): :class:`LatentMap` maps 2-D points of the
drawing back to codes the decoder can read, so the walk works for any width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from dlviz.errors import SpecError
from dlviz.modality.image import image_transform


def bottleneck(model: nn.Sequential, input_shape: tuple) -> int:
    """The index of the layer whose output is the smallest (the first, where several tie): the latent code."""
    x = torch.zeros((1, *input_shape))
    sizes = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            sizes.append(math.prod(x.shape[1:]))
    if not sizes:
        raise SpecError("The model has no layers.")
    return min(range(len(sizes)), key=lambda i: (sizes[i], i))


def split(model: nn.Sequential, input_shape: tuple = (1, 28, 28)) -> tuple[nn.Sequential, nn.Sequential]:
    """(encoder, decoder) of autoencoder ``model``, split after its bottleneck. The layers are shared, not copied."""
    k = bottleneck(model, input_shape)
    layers = list(model)
    return nn.Sequential(*layers[: k + 1]), nn.Sequential(*layers[k + 1 :])


@torch.no_grad()
def encode(encoder: nn.Module, images: torch.Tensor, batch: int = 1024) -> torch.Tensor:
    """Latent codes (N, D) of uint8 images (N, H, W)."""
    out = [encoder(image_transform(images[s : s + batch])).flatten(1) for s in range(0, len(images), batch)]
    return torch.cat(out) if out else torch.zeros((0, 0))


@torch.no_grad()
def decode(decoder: nn.Module, codes: torch.Tensor) -> torch.Tensor:
    """Images (N, H, W) in [0, 1] drawn by the decoder from codes (N, D)."""
    out = decoder(codes.float())
    return out.reshape(len(codes), *out.shape[-2:]).clamp(0, 1)


@torch.no_grad()
def reconstruct(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's output (N, H, W) in [0, 1] for inputs (N, 1, H, W) in [0, 1]."""
    out = model(x)
    return out.reshape(len(x), *out.shape[-2:]).clamp(0, 1)


def add_noise(x: torch.Tensor, level: float, seed: int = 0) -> torch.Tensor:
    """``x`` in [0, 1] with Gaussian noise of standard deviation ``level``, clipped to [0, 1] (as the denoising
    task trains: dlviz.tasks.reconstruction)."""
    if level <= 0:
        return x
    g = torch.Generator().manual_seed(seed)
    return (x + level * torch.randn(x.shape, generator=g)).clamp(0, 1)


@dataclass
class LatentMap:
    """The latent space as drawn: 2-D points = (codes - mean) @ axes.T; a point goes back as mean + point @ axes.

    With a 2-number code the axes are the identity (the codes are drawn as they are); wider codes are drawn on
    their two main directions, ``explained`` the share of the codes' variance they hold."""

    mean: torch.Tensor  # (D,)
    axes: torch.Tensor  # (2, D)
    explained: float  # 1.0 for a 2-number code

    @property
    def dims(self) -> int:
        return int(self.mean.numel())

    def to_2d(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes - self.mean) @ self.axes.T

    def to_code(self, points: torch.Tensor) -> torch.Tensor:
        return self.mean + points @ self.axes


def latent_map(codes: torch.Tensor) -> LatentMap:
    d = codes.shape[1]
    if d <= 2:
        axes = torch.eye(2, d)
        return LatentMap(torch.zeros(d), axes, 1.0)
    mean = codes.mean(0)
    _, s, vt = torch.linalg.svd(codes - mean, full_matrices=False)
    var = s.pow(2)
    return LatentMap(mean, vt[:2], float(var[:2].sum() / var.sum().clamp(min=1e-12)))


def walk(decoder: nn.Module, lm: LatentMap, start: tuple[float, float], end: tuple[float, float], steps: int):
    """Images (steps, H, W) decoded at ``steps`` evenly spaced points from ``start`` to ``end`` (2-D points of the
    drawing), and those points (steps, 2)."""
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    pts = torch.tensor(start).float() * (1 - t) + torch.tensor(end).float() * t
    return decode(decoder, lm.to_code(pts)), pts
