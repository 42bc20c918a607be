"""Sanity checks for attribution maps: can this explanation be trusted?

- :func:`completeness`: Integrated Gradients (and other path/Shapley methods) promise that the
  attributions sum to ``f(input) - f(baseline)`` (Sundararajan et al. 2017); check the promise.
- :func:`randomisation_test`: the cascading model-parameter randomisation test of Adebayo et al.
  2018 ("Sanity Checks for Saliency Maps"): re-initialise the layers from the output side down; a
  map that barely changes is not explaining the model.
- :func:`deletion_insertion`: the deletion and insertion curves of Petsiuk et al. 2018 (RISE):
  remove (or insert) the most-attributed pixels first; a faithful map makes the probability fall
  (rise) faster than a random order of pixels.
- :func:`rank_agreement` / :func:`mean_agreement`: how much several methods agree (Spearman rank
  correlation of the absolute maps).

Everything runs on private copies of the model: the user's model keeps its weights, mode and
hooks. No streamlit here.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlviz.errors import ExplainError
from dlviz.explain.registry import METHODS, Attribution, attribute, check_settings, private_copy

# Completeness is "passed" when the attributions account for f(input) - f(baseline) within 5%:
# IG with 50 steps is within 1% on the presets (tests/test_explain.py); 5% leaves room for the
# Riemann error of fewer steps and for sampling methods (KernelSHAP), while a method that does not
# promise completeness at all (saliency) is off by far more than that.
COMPLETENESS_TOLERANCE = 0.05
COMPLETENESS_ABSOLUTE = 1e-5

# The randomisation test compares the map AS THE USER SEES IT: signed for signed methods (blue for,
# vermillion against), |map| for unsigned ones (Saliency, Grad-CAM). Adebayo et al. 2018 report
# both; |map| alone is misleading here, because a map that is zero wherever the input equals a black
# baseline (IG, DeepLift, Input x Gradient, Occlusion: most of an MNIST image) keeps the order of
# its magnitudes, the digit's ink, whatever the weights (0.9 .. 1.0 on every model), while its
# for/against pattern, the part a reader interprets, is scrambled (-0.3 .. 0.3).
# "Passed" = after every layer has been re-initialised, the Spearman correlation with the trained
# model's map is below 0.7: less than half of the ranking's variance (rho^2 < 0.49) survives, so
# most of what the map shows came from the learned weights. It cannot be near 0 for unsigned maps:
# a random network's map still has structure that owes nothing to training. Measured on MNIST test
# images (models trained on a few thousand images), final similarity:
#   Saliency: MLP -0.06 .. 0.06, residual CNN 0.00 .. 0.15, "cnn" preset 0.58 .. 0.68 (its
#     unpadded convolutions feed border pixels to fewer units, so |gradient| of ANY network of that
#     shape correlates about 0.65 with the distance from the border) -> passed, the last narrowly;
#   Grad-CAM on the "cnn" preset -0.06 .. 0.55 -> passed;
#   SmoothGrad over |gradient| 0.75 .. 0.87 -> not passed: smoothing keeps the architecture's shape;
#   signed IG, DeepLift, Input x Gradient, Occlusion, KernelSHAP -0.3 .. 0.3 -> passed;
#   a copy of the input: 1.0 -> not passed.
RANDOMISATION_THRESHOLD = 0.7

# Random pixel orders averaged for the reference curves of deletion_insertion.
RANDOM_ORDERS = 4
_MAX_BATCH = 1024    # images per forward pass in deletion_insertion (all of them for 28x28 inputs)


@dataclass
class Completeness:
    attribution_sum: float
    output_difference: float     # f(input) - f(baseline) for the target column
    delta: float                 # attribution_sum - output_difference (as the method measured it)
    relative: float              # |delta| / max(|output_difference|, 1e-9)
    passed: bool                 # relative <= COMPLETENESS_TOLERANCE


@dataclass
class Randomisation:
    method: str
    layers: list[str]            # the layer (group) re-initialised at each step, output side first; cumulative
    similarity: list[float]      # Spearman rank correlation with the original map as shown (signed or |map|), per step
    maps: list[torch.Tensor]     # the map as shown, (H, W) summed over channels, one per step (not the original)
    passed: bool                 # similarity after the last step < RANDOMISATION_THRESHOLD
    seconds: float


@dataclass
class Curves:
    fractions: list[float]       # fraction of pixels deleted / inserted, 0 .. 1
    deletion: list[float]        # softmax probability of the target as the top pixels are removed
    insertion: list[float]       # ... as the top pixels are put into the baseline
    deletion_auc: float          # lower is better
    insertion_auc: float         # higher is better
    random_deletion_auc: float   # the same with random pixel orders (the bar to beat)
    random_insertion_auc: float
    passed: bool                 # deletion_auc < random_deletion_auc and insertion_auc > random_insertion_auc
    seconds: float


# --------------------------------------------------------------------------------------------
# Rank correlation


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 0 .. n-1 of a 1-D array, ties given the average of the ranks they share."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg = (ends - counts + ends - 1) / 2.0        # mean of ranks start .. end-1 of each group of ties
    return avg[inverse.reshape(-1)]


def _spearman_matrix(rows: np.ndarray) -> np.ndarray:
    """Spearman correlation between the rows of ``rows`` (n, d). A constant row carries no order: it
    correlates 1 with another constant row and 0 with anything else."""
    r = np.stack([_ranks(row) for row in rows]) if len(rows) else np.zeros((0, rows.shape[1]))
    r = r - r.mean(axis=1, keepdims=True)
    norms = np.sqrt((r * r).sum(axis=1))
    const = norms <= 1e-12 * max(1, rows.shape[1])
    safe = np.where(const, 1.0, norms)
    m = (r @ r.T) / np.outer(safe, safe)
    m[const, :] = 0.0
    m[:, const] = 0.0
    m[np.ix_(const, const)] = 1.0
    np.fill_diagonal(m, 1.0)
    return np.clip(m, -1.0, 1.0)


def spearman(a, b) -> float:
    """Spearman rank correlation of two arrays of the same size (flattened), ties averaged."""
    a, b = _flat(a), _flat(b)
    if a.shape != b.shape:
        raise ValueError(f"spearman: sizes differ ({a.size} and {b.size})")
    return float(_spearman_matrix(np.stack([a, b]))[0, 1])


def _flat(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64).reshape(-1)


def _magnitude(amap: torch.Tensor) -> torch.Tensor:
    """|map| as one (H, W) picture: absolute values summed over channels when the map is (C, H, W)."""
    amap = amap.detach().float().cpu().abs()
    return amap.sum(0) if amap.dim() == 3 else amap


def _signed(amap: torch.Tensor) -> torch.Tensor:
    """The signed map as one (H, W) picture (summed over channels when (C, H, W))."""
    amap = amap.detach().float().cpu()
    return amap.sum(0) if amap.dim() == 3 else amap


def rank_agreement(maps: dict[str, torch.Tensor]) -> tuple[list[str], np.ndarray]:
    """Names and the Spearman rank-correlation matrix of the absolute maps (each (C, H, W) or (H, W))."""
    names = list(maps)
    flat = [_flat(_magnitude(maps[n])) for n in names]
    if len({f.size for f in flat}) > 1:
        raise ExplainError("The maps have different sizes, so their rankings cannot be compared.")
    if not flat:
        return names, np.zeros((0, 0))
    return names, _spearman_matrix(np.stack(flat))


def mean_agreement(matrix) -> float | None:
    """The mean off-diagonal entry of an agreement matrix; None for fewer than 2 maps."""
    m = np.asarray(matrix, dtype=np.float64)
    n = m.shape[0] if m.ndim == 2 else 0
    if n < 2:
        return None
    return float((m.sum() - np.trace(m)) / (n * n - n))


# --------------------------------------------------------------------------------------------
# Completeness


def completeness(attr: Attribution) -> Completeness | None:
    """Does the map add up to f(input) - f(baseline)? None when the method does not report the numbers
    (only path and Shapley methods promise completeness: Integrated Gradients, DeepLift, KernelSHAP)."""
    e = attr.extra or {}
    if "attribution_sum" not in e or "output_difference" not in e:
        return None
    total, diff = float(e["attribution_sum"]), float(e["output_difference"])
    delta = float(e["completeness_delta"]) if "completeness_delta" in e else total - diff
    if not all(math.isfinite(v) for v in (total, diff, delta)):
        return None
    relative = abs(delta) / max(abs(diff), 1e-9)
    # float32 rounding alone leaves ~1e-6: when the score barely moves (an untrained deep sigmoid net,
    # f(x) - f(baseline) ~ 1e-6) the relative gap is meaningless, so an absolute gap that small passes
    return Completeness(total, diff, delta, relative,
                        relative <= COMPLETENESS_TOLERANCE or abs(delta) <= COMPLETENESS_ABSOLUTE)


# --------------------------------------------------------------------------------------------
# Cascading randomisation (Adebayo et al. 2018)


def _param_groups(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """Modules holding parameters, grouped by top-level child (a residual block is one group), input
    side first."""
    groups: dict[str, list[nn.Module]] = {}
    for name, m in model.named_modules():
        if next(m.parameters(recurse=False), None) is None:
            continue
        key = name.split(".")[0] if name else type(model).__name__
        groups.setdefault(key, []).append(m)
    return list(groups.items())


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device):
    """Run with torch's random generators seeded, restoring the caller's random state afterwards."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


@torch.no_grad()
def _reinitialise(m: nn.Module) -> None:
    """Back to a fresh initialisation: the layer's own scheme (Kaiming-uniform for Linear / Conv;
    BatchNorm to scale 1, shift 0, fresh running statistics), else uniform(+-1/sqrt(fan_in)) (never all
    zeros: a zeroed scale would blank the map and pass the test for the wrong reason)."""
    if callable(getattr(m, "reset_parameters", None)):
        m.reset_parameters()
        return
    for p in m.parameters(recurse=False):
        fan_in = p[0].numel() if p.dim() >= 2 else p.numel()
        bound = 1.0 / math.sqrt(max(1, fan_in))
        p.uniform_(-bound, bound)


def randomisation_test(model: nn.Module, x: torch.Tensor, target: int, method: str, seed: int = 0,
                       **settings) -> Randomisation:
    """Re-initialise the model's layers one more at a time from the output down, on a private copy,
    and measure how far ``method``'s map moves from the trained model's map (``contrast=`` passes on
    to :func:`attribute`). Each step costs one attribution."""
    contrast = settings.pop("contrast", None)
    settings = check_settings(method, settings)
    t0 = time.perf_counter()
    device = next(model.parameters(), torch.empty(0)).device
    with _seeded(seed, device):
        original = attribute(model, x, target, method, contrast=contrast, **settings)
    if original.empty:
        raise ExplainError("The explanation is empty, so there is nothing to compare once the model is randomised.")
    shown = _signed if METHODS[method].signed else _magnitude
    ref = shown(original.map)
    work = copy.deepcopy(model)      # private: re-initialised step by step; the user's model is never touched
    layers, similarity, maps = [], [], []
    for step, (name, modules) in enumerate(reversed(_param_groups(work))):
        with _seeded(seed * 1000 + step + 1, device):
            for m in modules:
                _reinitialise(m)
        with _seeded(seed, device):
            a = attribute(work, x, target, method, contrast=contrast, **settings)
        mag = shown(a.map)
        layers.append(name)
        maps.append(mag)
        similarity.append(spearman(mag, ref))
    passed = bool(similarity) and similarity[-1] < RANDOMISATION_THRESHOLD
    return Randomisation(method, layers, similarity, maps, passed, time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# Deletion and insertion curves (Petsiuk et al. 2018)


def _auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Area under the curve by the trapezoid rule."""
    return float(np.sum((fractions[1:] - fractions[:-1]) * (values[1:] + values[:-1]) / 2.0))


def _masks(orders: torch.Tensor, counts: torch.Tensor, n: int) -> torch.Tensor:
    """(R, S, n) bool: for each pixel order (R, n) and each count (S,), the first ``count`` pixels."""
    position = torch.empty_like(orders)
    position.scatter_(1, orders, torch.arange(n).expand_as(orders))     # position of each pixel in its order
    return position[:, None, :] < counts[None, :, None]


def deletion_insertion(model: nn.Module, x: torch.Tensor, target: int, amap: torch.Tensor, steps: int = 20,
                       baseline: str = "black", seed: int = 0) -> Curves:
    """Deletion and insertion curves of the map ``amap`` for the input ``x`` (C, H, W).

    Pixels are taken most positive first (for a map that is >= 0, largest first); ``steps`` + 1
    points from 0 to 1 of the pixels. Deletion replaces them with ``baseline`` ("black", "blurred",
    "noise"), insertion starts from the baseline and puts them back; both are scored by the softmax
    probability of ``target``. The reference curves average a few random pixel orders (seeded). All
    the images go through the model in one batch.
    """
    from dlviz.explain.methods import BASELINES
    from dlviz.explain.methods import baseline as make_baseline

    t0 = time.perf_counter()
    if isinstance(steps, bool) or not isinstance(steps, int) or not (2 <= steps <= 200):
        raise ExplainError("The curves need between 2 and 200 steps, not {steps}.", steps=steps)
    if baseline not in BASELINES:
        raise ExplainError("The baseline must be one of {choices}, not {value}.", choices=", ".join(BASELINES),
                           value=baseline)
    private = private_copy(model)
    device = next(private.parameters()).device
    x = x.detach().float().to(device)
    if x.dim() == 2:
        x = x[None]
    c, h, w = x.shape
    amap = amap.detach().float().cpu()
    if amap.dim() == 3:
        amap = amap.sum(0)
    if tuple(amap.shape) != (h, w):
        raise ExplainError("The map is {got}, but the image is {want}: they must match.",
                           got="x".join(map(str, amap.shape)), want=f"{h}x{w}")
    if float(amap.abs().max()) <= 1e-12:
        raise ExplainError("The map is empty, so it gives no order in which to remove the pixels.")
    n = h * w
    g = torch.Generator().manual_seed(int(seed))
    # ties (e.g. the zeros of an input-times-gradient map) are broken in a seeded random order, not the raster order
    shuffle = torch.randperm(n, generator=g)
    order = shuffle[torch.argsort(amap.reshape(-1)[shuffle], descending=True, stable=True)]
    randoms = torch.stack([torch.randperm(n, generator=g) for _ in range(RANDOM_ORDERS)])
    orders = torch.cat([order[None], randoms])                     # (1 + R, n): the map's order, then random ones
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = torch.as_tensor(np.rint(fractions * n).astype(np.int64))
    masks = _masks(orders, counts, n).reshape(-1, 1, h, w).to(device)      # (P, 1, H, W), P = (1 + R) (S + 1)
    base = make_baseline(x[None], baseline, seed)[0]
    deleted = torch.where(masks, base, x)                          # top pixels replaced by the baseline
    inserted = torch.where(masks, x, base)                         # baseline with the top pixels put in
    batch = torch.cat([deleted, inserted])                         # (2P, C, H, W)
    with torch.no_grad():
        logits = torch.cat([private(chunk).float() for chunk in batch.split(_MAX_BATCH)])    # (2P, K)
    k = logits.shape[1]
    if isinstance(target, bool) or not isinstance(target, int) or not (0 <= target < k):
        raise ExplainError("Class {target} does not exist: this model has classes 0 to {last}.", target=target,
                           last=k - 1)
    probs = torch.softmax(logits, dim=1)[:, target].cpu().double().numpy()
    p = len(orders) * (steps + 1)
    dele = probs[:p].reshape(len(orders), steps + 1)
    ins = probs[p:].reshape(len(orders), steps + 1)
    deletion_auc, insertion_auc = _auc(fractions, dele[0]), _auc(fractions, ins[0])
    random_deletion_auc = float(np.mean([_auc(fractions, r) for r in dele[1:]]))
    random_insertion_auc = float(np.mean([_auc(fractions, r) for r in ins[1:]]))
    passed = deletion_auc < random_deletion_auc and insertion_auc > random_insertion_auc
    return Curves(fractions.tolist(), dele[0].tolist(), ins[0].tolist(), deletion_auc, insertion_auc,
                  random_deletion_auc, random_insertion_auc, bool(passed), time.perf_counter() - t0)
