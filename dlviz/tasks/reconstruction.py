"""Reconstruction: an autoencoder learns to give back its input through a narrow middle (the latent code).

The target is the input itself, pixels in [0, 1]; the loss is binary cross-entropy (the usual choice for pixels
in [0, 1]) or the mean squared error; the metric is the reconstruction error, the mean squared error per pixel,
whichever loss trained the model, so runs compare. A denoising autoencoder (``noise`` > 0) reads its input with
Gaussian noise added (clipped back to [0, 1]) and is scored on giving back the clean image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from dlviz.errors import SpecError, TrainError
from dlviz.i18n import N_
from dlviz.tasks.base import Task, TestReport

LOSSES = {"bce": N_("Binary cross-entropy"), "mse": N_("Mean squared error")}
NOISE_MAX = 1.0
PREVIEW = 10  # test images shown beside their reconstructions
TEST_NOISE_SEED = 1234  # the test set's noise is the same every time: runs compare
STUCK = 0.9  # a test error at 90% or more of always answering the mean image: nothing was learned


@dataclass
class ReconstructionReport(TestReport):
    baseline: float = math.nan  # the error of always answering the test set's mean image


@dataclass(frozen=True)
class Reconstruction(Task):
    noise: float = 0.0  # standard deviation of the Gaussian noise added to the input (denoising); 0: none
    kind: str = "bce"  # the training loss: "bce" | "mse"

    name = "reconstruction"
    metric = "reconstruction_error"
    metric_title = N_("Reconstruction error")
    higher_is_better = False
    scoring = N_("Measuring the reconstruction error on the test set...")
    views = ("curves", "reconstructions")

    def configured(self, config) -> "Reconstruction":
        noise = float(getattr(config, "denoise", 0.0) or 0.0)
        kind = str(getattr(config, "recon_loss", "bce") or "bce").lower()
        if not (0.0 <= noise <= NOISE_MAX) or noise != noise:
            raise TrainError("The noise level must be between 0 and {most:g}, not {v:g}.", most=NOISE_MAX, v=noise)
        if kind not in LOSSES:
            raise TrainError(
                "Unknown reconstruction loss '{name}'. Choose one of: {known}.", name=kind, known="bce, mse"
            )
        return replace(self, noise=noise, kind=kind)

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None, noise: float | None = None):
        """``x`` with Gaussian noise of standard deviation ``noise`` (the task's by default), clipped to [0, 1]."""
        level = self.noise if noise is None else noise
        if level <= 0:
            return x
        n = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + level * n).clamp_(0.0, 1.0)

    def pair(self, x, y, generator=None):
        return self.corrupt(x, generator), x

    def classes(self, info):
        return None

    def check_output(self, output_shape, input_shape):
        if tuple(output_shape) != tuple(input_shape):
            raise SpecError(
                "An autoencoder must give back an image of its input's shape {want}, but this model outputs "
                "{got}. End the decoder with a Dense layer of {n} units, a Sigmoid and a Reshape, or with a "
                "convolution to {c} channel(s) at full size.",
                want="(" + ", ".join(map(str, input_shape)) + ")",
                got="(" + ", ".join(map(str, output_shape)) + ")",
                n=math.prod(input_shape),
                c=input_shape[0],
            )

    def loss(self, out, y, reduction="mean"):
        out, y = out.float(), y.float()
        if self.kind == "mse":
            per = F.mse_loss(out, y, reduction="none")
        else:  # BCE needs outputs in [0, 1]: clamped, so a model without a final Sigmoid still trains
            per = F.binary_cross_entropy(out.clamp(1e-6, 1 - 1e-6), y, reduction="none")
        per = per.flatten(1).mean(1)  # per image: the mean over its pixels
        return per.sum() if reduction == "sum" else per.mean()

    def score(self, out, y):
        return F.mse_loss(out.float(), y.float(), reduction="none").flatten(1).mean(1).sum()

    def test_report(self, out, y) -> ReconstructionReport:
        """The mean loss and reconstruction error over the test set, the error of always answering the mean
        image (what a model that learned nothing reaches), and the first test images' reconstructions."""
        out, y = out.float(), y.float()
        n = max(len(y), 1)
        loss = self.loss(out, y, reduction="sum").item() / n
        err = self.score(out, y).item() / n
        mean = y.mean(0, keepdim=True) if len(y) else y
        baseline = F.mse_loss(mean.expand_as(y), y).item() if len(y) else math.nan
        k = min(PREVIEW, len(y))
        preview = {
            "indices": list(range(k)),
            "reconstructions": [[round(v, 3) for v in out[i].flatten().tolist()] for i in range(k)],
            "shape": list(y.shape[1:]),
            "baseline_error": baseline,
            "noise": self.noise,
            "loss": self.kind,
        }
        return ReconstructionReport(loss, err, preview, baseline=baseline)

    def verdict(self, history, report, finished, lr, usual_lr, optimizer):
        base = getattr(report, "baseline", math.nan)
        if not finished or not (base == base) or base <= 0 or report.score < STUCK * base:
            return None
        return N_(
            "The autoencoder learned almost nothing: its reconstruction error ({err:.4f}) is close to that of "
            "always drawing the average image ({base:.4f}). Try more epochs, a learning rate nearer {suggest:g} "
            "for {opt} (it is {lr:g}), or a wider middle layer."
        ), dict(err=report.score, base=base, suggest=usual_lr, opt=optimizer, lr=lr)


def test_generator(device) -> torch.Generator:
    """The generator of the test set's noise: seeded the same for every run."""
    g = torch.Generator(device=device)
    g.manual_seed(TEST_NOISE_SEED)
    return g
