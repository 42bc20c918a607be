"""Generation: a GAN learns to draw new examples like the data (``dlviz.models.gan``).

A GAN trains two networks with two optimizers, so the task brings its own training step (``make_step``):
each batch the discriminator learns to tell the real images from the generator's (its loss: binary
cross-entropy on both), then the generator learns to make the discriminator call its images real (the
non-saturating loss of Goodfellow et al.). A curve point holds the generator's loss as ``loss``, the
discriminator's accuracy over real and fake as ``score``, and then ``extra_metrics``: the discriminator's
loss and its accuracy on real and on fake images.

Held-out images (validation, test) are scored by the discriminator alone: how many real digits it still
calls real. Two failures get a plain notice (``notice``): collapse, when the samples are all alike (their
mean pairwise distance, ``diversity``, far below the data's), and a discriminator that wins outright (it
tells every real and fake apart, so the generator's gradient vanishes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dlviz.i18n import N_
from dlviz.models.gan import BETAS, build_gan, fixed_noise, gan_spec
from dlviz.tasks.base import Task, TestReport

GRID = 64  # samples in the Train page's grid (8 x 8), from fixed noise
LIVE_EVERY = 10  # steps between two redraws of the live grid (64 samples: a small part of a step's cost)
COLLAPSE_RATIO = 0.35  # samples whose mean pairwise distance is under 35% of the data's: collapsed
WIN_ACCURACY = 0.98  # the discriminator is right on this share of real AND fake images ...
WIN_G_LOSS = 4.0  # ... and the generator's loss is this high (its images get under 2% "real"): it wins outright
JUDGE_AFTER = 200  # steps before the notices speak: an untrained generator is judged by nobody


def diversity(images: torch.Tensor) -> float:
    """The mean distance between two different images of ``images`` (N, ...), pixels in [0, 1]: the root mean
    square of their pixel differences. 0 when all are alike."""
    x = images.reshape(len(images), -1).float()
    n = len(x)
    if n < 2:
        return 0.0
    d = torch.cdist(x, x) / math.sqrt(x.shape[1])
    return float(d.sum() / (n * (n - 1)))


def collapsed(sample_diversity: float, data_diversity: float, ratio: float = COLLAPSE_RATIO) -> bool:
    """True when the samples are far less varied than the data (mode collapse: every noise gives one image)."""
    return data_diversity > 0 and sample_diversity < ratio * data_diversity


COLLAPSE = N_(
    "The generator has collapsed: its samples are nearly all alike (they differ {ratio:.0%} as much as real "
    "digits do). It found one picture that fools the discriminator and draws only that. Train again with "
    "another seed or a lower learning rate."
)
D_WINS = N_(
    "The discriminator wins outright: it tells {real:.0%} of real and {fake:.0%} of generated digits apart, "
    "so the generator gets almost no signal to learn from (its loss is {g:.2f}). Lower the learning rate, "
    "or train again with another seed."
)


def notice(row: list | None, sample_diversity: float | None, data_diversity: float | None) -> tuple[str, dict] | None:
    """(English template, arguments) when training has collapsed or the discriminator wins outright, else None.
    ``row``: a curve point ``[step, epoch, g_loss, d_acc, d_loss, real_acc, fake_acc]``."""
    if row is None or row[0] < JUDGE_AFTER:
        return None
    if sample_diversity is not None and data_diversity and collapsed(sample_diversity, data_diversity):
        return COLLAPSE, {"ratio": sample_diversity / data_diversity}
    g, real, fake = row[2], row[5], row[6]
    if real >= WIN_ACCURACY and fake >= WIN_ACCURACY and g >= WIN_G_LOSS:
        return D_WINS, {"real": real, "fake": fake, "g": g}
    return None


def to_uint8(images: torch.Tensor) -> list:
    """(N, 1, H, W) in [0, 1] -> nested lists of 0..255 (JSON-able, 50 KB for the 64-image grid)."""
    return images.squeeze(1).clamp(0, 1).mul(255).round().to(torch.uint8).tolist()


class GanStep:
    """One training step of a GAN (the discriminator, then the generator), and the live grid."""

    def __init__(self, loop, data, after_backward):
        self.loop, self.gan = loop, loop.model
        lr = loop.config.lr
        self.opt_d = torch.optim.Adam(self.gan.discriminator.parameters(), lr=lr, betas=BETAS)
        self.opt_g = torch.optim.Adam(self.gan.generator.parameters(), lr=lr, betas=BETAS)
        self.after_backward = after_backward
        self.gen = torch.Generator(device=loop.device).manual_seed(loop.config.seed + 1)
        self.fixed = fixed_noise(self.gan.latent)
        real = data.transform(data.train_x[:GRID])
        self.data_diversity = diversity(real.cpu())
        self.drawn_at = -1
        self.grid: list | None = None
        self.sample_diversity: float | None = None

    def autocast(self):
        dev = self.loop.device
        return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.loop.precision == "bf16")

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor):
        gan, n = self.gan, len(xb)
        z = torch.randn(n, gan.latent, device=xb.device, generator=self.gen)
        ones, zeros = torch.ones(n, device=xb.device), torch.zeros(n, device=xb.device)
        with self.autocast():
            fake = gan.generator(z)
            d_real, d_fake = gan.discriminator(xb).float(), gan.discriminator(fake.detach()).float()
        d_loss = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        with self.autocast():
            d_on_fake = gan.discriminator(fake).float()
        g_loss = F.binary_cross_entropy_with_logits(d_on_fake, ones)  # "call my images real"
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.after_backward(self.loop)
        self.opt_g.step()
        self.loop.step += 1
        with torch.no_grad():
            real_ok, fake_ok = (d_real > 0).float().mean(), (d_fake < 0).float().mean()
            score = (real_ok + fake_ok) / 2 * n
            extra = torch.stack([d_loss.detach(), real_ok, fake_ok])
        return g_loss.detach(), score, n, extra

    def live(self) -> dict:
        """The grid drawn from the fixed noise (redrawn every ``LIVE_EVERY`` steps), its diversity against the
        data's, and the notice when there is one."""
        step = self.loop.step
        if self.grid is None or step - self.drawn_at >= LIVE_EVERY:
            images = self.gan.sample(self.fixed).cpu()
            self.grid, self.drawn_at, self.sample_diversity = to_uint8(images), step, diversity(images)
        rows = self.loop.history["train"]
        found = notice(rows[-1] if rows else None, self.sample_diversity, self.data_diversity)
        return {
            "grid": self.grid,
            "grid_step": self.drawn_at,
            "diversity": self.sample_diversity,
            "data_diversity": self.data_diversity,
            "notice": list(found) if found else None,
        }


@dataclass
class GenerationReport(TestReport):
    pass


class Generation(Task):
    name = "generation"
    metric = "discriminator accuracy"
    extra_metrics = ("discriminator_loss", "real_accuracy", "fake_accuracy")
    views = ("samples", "gan_curves", "replay")
    records_gradients = False  # two networks: the gradient-flow page reads one

    def build(self, spec: dict, seed: int | None = None):
        return build_gan(gan_spec(spec), seed=seed)

    def make_step(self, loop, data, after_backward):
        return GanStep(loop, data, after_backward)

    # held-out real images, judged by the discriminator: its loss at calling them real, and how many it does
    def loss(self, out, y, reduction="mean"):
        return F.binary_cross_entropy_with_logits(
            out.float(), torch.ones_like(out, dtype=torch.float32), reduction=reduction
        )

    def score(self, out, y):
        return (out > 0).sum()

    def test_report(self, out, y) -> GenerationReport:
        return GenerationReport(self.loss(out, y).item(), (out > 0).float().mean().item(), {})

    def summary(self, history: dict) -> dict:
        """The last epoch's mean generator and discriminator losses and accuracies (the CLI's JSON)."""
        rows = [r for r in history.get("train", []) if len(r) >= 7]
        if not rows:
            return {"generator_loss": None, "discriminator_loss": None}
        last = math.ceil(rows[-1][1] - 1e-9)
        rows = [r for r in rows if r[1] > last - 1] or rows
        mean = [sum(r[k] for r in rows) / len(rows) for k in range(2, 7)]
        keys = ("generator_loss", "discriminator_accuracy", "discriminator_loss", "real_accuracy", "fake_accuracy")
        return dict(zip(keys, mean))

    def verdict(self, history, report, finished, lr, usual_lr, optimizer):
        rows = history.get("train", [])
        return notice(rows[-1], None, None) if rows else None
