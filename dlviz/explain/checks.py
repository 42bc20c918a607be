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
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from dlviz.errors import ExplainError
from dlviz.explain.registry import Attribution, Contrast, attribute, check_settings, explain, inputs_of, private_copy

# Completeness is "passed" when the attributions account for f(input) - f(baseline) within 5%:
# IG with 50 steps is within 1% on the presets (tests/test_explain.py); 5% leaves room for the
# Riemann error of fewer steps and for sampling methods (KernelSHAP), while a method that does not
# promise completeness at all (saliency) is off by far more than that.
COMPLETENESS_TOLERANCE = 0.05
COMPLETENESS_ABSOLUTE = 1e-5

# The randomisation tests (model and data) follow ONE rule, written down in docs/explain-checks.md before
# any method was scored against it and never adjusted to make a method pass. After the last step, with
# s = rank correlation of the signed maps, a = of the absolute maps (Adebayo et al. 2018 report both) and
# r = the largest rank correlation between |original map| and a map of the input alone (no model: its
# brightness and its edges; for text the words' positions and vocabulary ranks), the check passes only if
#   max(|s|, |a|) < RANDOMISATION_CEILING (0.5: at most a quarter of the ranking's variance survives)
#   and max(|s|, |a|) < max(r - REFERENCE_MARGIN, UNRELATED): clearly less like the original than a
#   model-free map is (by 0.1, about 3 standard errors for 784 pixels), or, when no model-free map is
#   like the original, unrelated to it (below 0.1).
RANDOMISATION_CEILING = 0.5
REFERENCE_MARGIN = 0.1
UNRELATED = 0.1
RANDOMISATION_THRESHOLD = RANDOMISATION_CEILING  # the fixed part of the rule (the figure's dashed line)
RULE = (
    "passes only if the signed and the absolute rank correlation with the original map are both below 0.5 "
    "and below max(reference - 0.1, 0.1), where the reference is the largest rank correlation of the "
    "original |map| with a map of the input alone (docs/explain-checks.md)"
)

# Random pixel orders averaged for the reference curves of deletion_insertion.
RANDOM_ORDERS = 4
_MAX_BATCH = 1024  # images per forward pass in deletion_insertion (all of them for 28x28 inputs)


@dataclass
class Completeness:
    attribution_sum: float
    output_difference: float  # f(input) - f(baseline) for the target column
    delta: float  # attribution_sum - output_difference (as the method measured it)
    relative: float  # |delta| / max(|output_difference|, 1e-9)
    passed: bool  # relative <= COMPLETENESS_TOLERANCE


@dataclass
class Randomisation:
    method: str
    layers: list[str]  # the layer (group) re-initialised at each step, output side first; cumulative
    similarity: list[float]  # per step max(|signed|, |absolute|): the number the rule judges
    maps: list[torch.Tensor]  # the map as shown, (H, W) summed over channels, one per step (not the original)
    passed: bool  # the rule (RULE) after the last step
    seconds: float
    signed: list[float] = field(default_factory=list)  # Spearman of the signed maps, per step
    absolute: list[float] = field(default_factory=list)  # Spearman of |map|, per step
    reference: float | None = None  # the model-free reference r (see RULE)
    references: dict = field(default_factory=dict)  # each model-free map's rank correlation
    bar: float = RANDOMISATION_CEILING  # the line to stay below: min(0.5, max(r - 0.1, 0.1))
    kind: str = "model"  # "model" | "data" (labels shuffled)
    rule: str = RULE
    threshold: float = RANDOMISATION_CEILING  # the fixed ceiling (kept for the figure)


@dataclass
class Curves:
    fractions: list[float]  # fraction of pixels deleted / inserted, 0 .. 1
    deletion: list[float]  # softmax probability of the target as the top pixels are removed
    insertion: list[float]  # ... as the top pixels are put into the baseline
    deletion_auc: float  # lower is better
    insertion_auc: float  # higher is better
    random_deletion_auc: float  # the same with random pixel orders (the bar to beat)
    random_insertion_auc: float
    passed: bool  # deletion_auc < random_deletion_auc and insertion_auc > random_insertion_auc
    seconds: float


# --------------------------------------------------------------------------------------------
# Rank correlation


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 0 .. n-1 of a 1-D array, ties given the average of the ranks they share."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg = (ends - counts + ends - 1) / 2.0  # mean of ranks start .. end-1 of each group of ties
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


def rank_agreement(
    maps: dict[str, torch.Tensor], signed: dict[str, bool] | None = None
) -> tuple[list[str], np.ndarray]:
    """Names and the Spearman rank-correlation matrix of the maps (each (C, H, W) or (H, W)), like with like:
    two maps that are both signed (``signed[name]``) are compared as signed numbers; when either is unsigned
    (or ``signed`` is not given) both are compared as |map|."""
    names = list(maps)
    signed = signed or {}
    mags = [_flat(_magnitude(maps[n])) for n in names]
    if len({f.size for f in mags}) > 1:
        raise ExplainError("The maps have different sizes, so their rankings cannot be compared.")
    if not mags:
        return names, np.zeros((0, 0))
    m = _spearman_matrix(np.stack(mags))
    both = [n for n in names if signed.get(n, False)]
    if len(both) >= 2:
        idx = [names.index(n) for n in both]
        signed_m = _spearman_matrix(np.stack([_flat(_signed(maps[n])) for n in both]))
        m[np.ix_(idx, idx)] = signed_m
    return names, m


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
    return Completeness(
        total, diff, delta, relative, relative <= COMPLETENESS_TOLERANCE or abs(delta) <= COMPLETENESS_ABSOLUTE
    )


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


def randomisation_verdict(signed: float, absolute: float, reference: float | None) -> tuple[bool, float]:
    """(passed, bar) by the rule in RULE: max(|signed|, |absolute|) below min(0.5, max(reference - 0.1, 0.1))."""
    m = max(abs(float(signed)), abs(float(absolute)))
    bar = RANDOMISATION_CEILING
    if reference is not None and math.isfinite(reference):
        bar = min(bar, max(float(reference) - REFERENCE_MARGIN, UNRELATED))
    return bool(math.isfinite(m) and m < bar), bar


def _sobel(img: torch.Tensor) -> torch.Tensor:
    """Edge strength of an (H, W) image: the magnitude of its Sobel gradient (replicate padding)."""
    k = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    p = torch.nn.functional.pad(img[None, None].float(), (1, 1, 1, 1), mode="replicate")
    gx = torch.nn.functional.conv2d(p, k[None, None])
    gy = torch.nn.functional.conv2d(p, k.t()[None, None])
    return torch.sqrt(gx**2 + gy**2)[0, 0]


def model_free_maps(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Maps of an image input (C, H, W) computed with no model at all: its brightness and its edges."""
    img = x.detach().float().cpu()
    img = img.sum(0) if img.dim() == 3 else img
    return {"input": img, "edges": _sobel(img)}


def reference_similarity(original: torch.Tensor, free: dict[str, torch.Tensor]) -> tuple[float, dict]:
    """The model-free reference r: the largest |Spearman| between |original| and each model-free map."""
    mag = _flat(_magnitude(original) if original.dim() >= 2 else original.abs())
    each = {name: abs(spearman(mag, _flat(m))) for name, m in free.items()}
    return (max(each.values()) if each else float("nan")), each


def _compare(original: torch.Tensor, new: torch.Tensor) -> tuple[float, float]:
    """(signed, absolute) Spearman between two maps ((C, H, W), (H, W) or (T,))."""
    if original.dim() >= 2:
        return spearman(_signed(new), _signed(original)), spearman(_magnitude(new), _magnitude(original))
    return spearman(new, original), spearman(new.abs(), original.abs())


def judge(
    method: str,
    layers: list[str],
    steps: list[tuple[float, float]],
    maps: list,
    reference: float,
    references: dict,
    seconds: float,
    kind: str = "model",
) -> Randomisation:
    """A :class:`Randomisation` from the (signed, absolute) similarities of each step, judged by the rule."""
    signed = [float(a) for a, _ in steps]
    absolute = [float(b) for _, b in steps]
    similarity = [max(abs(a), abs(b)) for a, b in steps]
    if steps:
        passed, bar = randomisation_verdict(signed[-1], absolute[-1], reference)
    else:
        passed, bar = False, RANDOMISATION_CEILING
    return Randomisation(
        method,
        layers,
        similarity,
        maps,
        passed,
        seconds,
        signed,
        absolute,
        None if reference is None or not math.isfinite(reference) else float(reference),
        references,
        bar,
        kind,
    )


MIN_PARTS_TO_RANK = 3  # fewer pixels or words than this: a rank correlation says nothing


def text_model_free_maps(ids) -> dict[str, torch.Tensor]:
    """Word maps of a sentence computed with no model: each real token's position, and its vocabulary rank
    (ids are given by frequency in the training text, most frequent first; PAD = 0 is left out)."""
    ids = torch.as_tensor(ids).detach().long().cpu().flatten()
    real = ids[ids != 0]
    return {"position": torch.arange(len(real), dtype=torch.float32), "vocabulary rank": real.float()}


# the model-free reference maps of each kind of input the registry knows (its ``inputs`` names)
FREE_MAPS = {"image": model_free_maps, "tokens": text_model_free_maps}


def _free_maps(x) -> dict[str, torch.Tensor]:
    """The model-free maps of an input: an image's brightness and edges, a sentence's positions and ranks."""
    return FREE_MAPS[inputs_of(x)](x)


def _to_randomise(model: nn.Module, x, target: int, method: str, seed: int, settings: dict):
    """What both randomisation tests start from, for an image or a sentence's token ids: (contrast, the settings
    with the defaults, the trained model's attribution, how a map is shown (signed, or |map|), (the model-free
    reference, each model-free map's)); None for an input of fewer than 3 parts (a sentence of 1 or 2 words).
    An empty explanation is an ExplainError."""
    contrast = settings.pop("contrast", None)
    settings = check_settings(method, settings, inputs_of(x))
    device = next(model.parameters(), torch.empty(0)).device
    with _seeded(seed, device):
        original = explain(model, x, target, method, contrast=contrast, **settings)
    if original.map.numel() < MIN_PARTS_TO_RANK:
        return None
    if original.empty:
        raise ExplainError("The explanation is empty, so there is nothing to compare once the model is randomised.")
    shown = _signed if original.signed else _magnitude
    return contrast, settings, original, shown, reference_similarity(original.map, _free_maps(x))


def randomisation_test(
    model: nn.Module, x, target: int, method: str, seed: int = 0, **settings
) -> Randomisation | None:
    """Re-initialise the model's layers one more at a time from the output down, on a private copy,
    and measure how far ``method``'s map moves from the trained model's map, signed and absolute
    (``contrast=`` passes on to the method), beside the model-free reference; judged by RULE. ``x`` is an image
    or a sentence's token ids (then the map is the word scores); None for a sentence of fewer than 3 words.
    Each step costs one attribution."""
    t0 = time.perf_counter()
    start = _to_randomise(model, x, target, method, seed, settings)
    if start is None:
        return None
    contrast, settings, original, shown, (reference, references) = start
    device = next(model.parameters(), torch.empty(0)).device
    work = copy.deepcopy(model)  # private: re-initialised step by step; the user's model is never touched
    layers, steps, maps = [], [], []
    for step, (name, modules) in enumerate(reversed(_param_groups(work))):
        with _seeded(seed * 1000 + step + 1, device):
            for m in modules:
                _reinitialise(m)
        with _seeded(seed, device):
            a = explain(work, x, target, method, contrast=contrast, **settings)
        layers.append(name)
        maps.append(shown(a.map))
        steps.append(_compare(original.map, a.map))
    return judge(method, layers, steps, maps, reference, references, time.perf_counter() - t0)


def data_randomisation_test(
    model: nn.Module, shuffled: nn.Module, x, target: int, method: str, seed: int = 0, **settings
) -> Randomisation | None:
    """The data-randomisation test (Adebayo et al. 2018): ``method``'s map for ``model`` against its map for
    ``shuffled``, the same architecture trained on the same inputs with the labels shuffled; judged by RULE
    (one step, called "shuffled labels"). ``x``: an image or a sentence's token ids (None for fewer than 3
    words)."""
    t0 = time.perf_counter()
    start = _to_randomise(model, x, target, method, seed, settings)
    if start is None:
        return None
    contrast, settings, original, shown, (reference, references) = start
    with _seeded(seed, next(model.parameters(), torch.empty(0)).device):
        other = explain(shuffled, x, target, method, contrast=contrast, **settings)
    return judge(
        method,
        ["shuffled labels"],
        [_compare(original.map, other.map)],
        [shown(other.map)],
        reference,
        references,
        time.perf_counter() - t0,
        kind="data",
    )


def shuffled_label_model(
    model: nn.Module, data, epochs: int = 2, seed: int = 0, on_progress=None, batch_size: int = 64, lr: float = 3e-3
) -> tuple[nn.Module, float]:
    """A fresh copy of ``model``'s architecture trained by dlviz's own loop (:func:`dlviz.train.fit`) on
    ``data`` (a :class:`dlviz.train.DeviceData`) with its training labels shuffled (seeded). Returns the
    model (eval mode) and its training accuracy (near chance for a model that cannot memorise the labels
    in so few epochs, higher when it does)."""
    from dlviz.train import DeviceData, OnProgress, TrainConfig, evaluate, fit

    fresh = copy.deepcopy(model).to(data.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for m in fresh.modules():
            _reinitialise(m) if next(m.parameters(recurse=False), None) is not None else None
        g = torch.Generator().manual_seed(int(seed))
        perm = torch.randperm(len(data.train_y), generator=g).to(data.train_y.device)
    shuffled = DeviceData(
        data.train_x, data.train_y[perm], data.val_x, data.val_y, data.test_x, data.test_y, data.transform
    )
    for p in fresh.parameters():
        p.requires_grad_(True)
    fresh.train()
    fit(
        fresh,
        shuffled,
        TrainConfig(
            epochs=int(epochs),
            batch_size=int(batch_size),
            lr=float(lr),
            seed=int(seed),
            record_gradients=False,
            cpu_threads="fixed",
        ),
        [OnProgress(on_progress)] if on_progress is not None else [],
    )
    acc = evaluate(fresh, shuffled.train_x, shuffled.train_y, shuffled.transform)[1]
    return fresh.eval(), float(acc)


@dataclass
class Fidelity:
    infidelity: float  # captum.metrics.infidelity of the map (normalised: scale-free); lower is better
    random_infidelity: float  # the same for a random map (seeded Gaussian noise, the input's shape)
    sensitivity: float  # captum.metrics.sensitivity_max of the method; lower is better
    random_sensitivity: float  # the same for a random "method" (fresh noise on every call)
    seconds: float


def fidelity(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    method: str,
    amap: torch.Tensor,
    seed: int = 0,
    samples: int = 20,
    radius: float = 0.02,
    **settings,
) -> Fidelity:
    """Infidelity (Yeh et al. 2019) of ``amap`` and max-sensitivity of ``method``, both from captum.metrics,
    each beside a random explanation's value. Infidelity perturbs the input with Gaussian noise (std 0.1 of
    its range) and compares the map's predicted change of the score with the real one; sensitivity is the
    largest change of the map when the input moves within ``radius`` (``samples`` draws). Seeded; the
    caller's random state is restored."""
    from captum.metrics import infidelity, sensitivity_max

    contrast = settings.pop("contrast", None)
    settings = check_settings(method, settings)
    t0 = time.perf_counter()
    private = private_copy(model)
    device = next(private.parameters()).device
    xb = x.detach().float().to(device).unsqueeze(0)
    span = float(xb.max() - xb.min()) or 1.0

    def perturb(inputs):
        noise = 0.1 * span * torch.randn_like(inputs)
        return noise, inputs - noise

    with _seeded(seed, device):
        target_model = private if contrast is None else Contrast(private, target, contrast)
        a = amap.detach().float().to(device).reshape(xb.shape)
        rand = torch.randn(xb.shape, generator=torch.Generator().manual_seed(int(seed))).to(device)
        inf = float(infidelity(target_model, perturb, xb, a, target=target, n_perturb_samples=samples, normalize=True))
        rinf = float(
            infidelity(target_model, perturb, xb, rand, target=target, n_perturb_samples=samples, normalize=True)
        )

        def explain(inputs, target=None):
            inputs = inputs[0] if isinstance(inputs, tuple) else inputs
            maps = [
                attribute(model, row, int(target), method, contrast=contrast, **settings).map
                for row in inputs.detach().cpu()
            ]
            # a tuple: captum iterates over what its first call returns, so a bare (1, C, H, W) tensor was read as
            # one input of shape (C, H, W), broadcast against the perturbed maps, and every distance came out
            # sqrt(n_perturb_samples) times too large
            return (torch.stack(maps).to(inputs.device),)

        def random_explain(inputs, target=None):
            inputs = inputs[0] if isinstance(inputs, tuple) else inputs
            return (torch.randn_like(inputs),)

        # captum divides each change by the norm of the unperturbed map, so the two are on one scale
        sens = float(sensitivity_max(explain, xb, target=target, perturb_radius=radius * span, n_perturb_samples=5))
        rsens = float(
            sensitivity_max(random_explain, xb, target=target, perturb_radius=radius * span, n_perturb_samples=5)
        )
    return Fidelity(inf, rinf, sens, rsens, time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# Deletion and insertion curves (Petsiuk et al. 2018)


def _auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Area under the curve by the trapezoid rule."""
    return float(np.sum((fractions[1:] - fractions[:-1]) * (values[1:] + values[:-1]) / 2.0))


def _masks(orders: torch.Tensor, counts: torch.Tensor, n: int) -> torch.Tensor:
    """(R, S, n) bool: for each pixel order (R, n) and each count (S,), the first ``count`` pixels."""
    position = torch.empty_like(orders)
    position.scatter_(1, orders, torch.arange(n).expand_as(orders))  # position of each pixel in its order
    return position[:, None, :] < counts[None, :, None]


def deletion_insertion(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    amap: torch.Tensor,
    steps: int = 20,
    baseline: str = "black",
    seed: int = 0,
) -> Curves:
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
        raise ExplainError(
            "The baseline must be one of {choices}, not {value}.", choices=", ".join(BASELINES), value=baseline
        )
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
        raise ExplainError(
            "The map is {got}, but the image is {want}: they must match.",
            got="x".join(map(str, amap.shape)),
            want=f"{h}x{w}",
        )
    if float(amap.abs().max()) <= 1e-12:
        raise ExplainError("The map is empty, so it gives no order in which to remove the pixels.")
    n = h * w
    g = torch.Generator().manual_seed(int(seed))
    # ties (e.g. the zeros of an input-times-gradient map) are broken in a seeded random order, not the raster order
    shuffle = torch.randperm(n, generator=g)
    order = shuffle[torch.argsort(amap.reshape(-1)[shuffle], descending=True, stable=True)]
    randoms = torch.stack([torch.randperm(n, generator=g) for _ in range(RANDOM_ORDERS)])
    orders = torch.cat([order[None], randoms])  # (1 + R, n): the map's order, then random ones
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = torch.as_tensor(np.rint(fractions * n).astype(np.int64))
    masks = _masks(orders, counts, n).reshape(-1, 1, h, w).to(device)  # (P, 1, H, W), P = (1 + R) (S + 1)
    base = make_baseline(x[None], baseline, seed)[0]
    deleted = torch.where(masks, base, x)  # top pixels replaced by the baseline
    inserted = torch.where(masks, x, base)  # baseline with the top pixels put in
    batch = torch.cat([deleted, inserted])  # (2P, C, H, W)
    with torch.no_grad():
        logits = torch.cat([private(chunk).float() for chunk in batch.split(_MAX_BATCH)])  # (2P, K)
    k = logits.shape[1]
    if isinstance(target, bool) or not isinstance(target, int) or not (0 <= target < k):
        raise ExplainError(
            "Class {target} does not exist: this model has classes 0 to {last}.", target=target, last=k - 1
        )
    probs = torch.softmax(logits, dim=1)[:, target].cpu().double().numpy()
    p = len(orders) * (steps + 1)
    dele = probs[:p].reshape(len(orders), steps + 1)
    ins = probs[p:].reshape(len(orders), steps + 1)
    return curves_of(fractions, dele, ins, time.perf_counter() - t0)


def curves_of(fractions: np.ndarray, dele: np.ndarray, ins: np.ndarray, seconds: float) -> Curves:
    """The deletion and insertion check from its probability curves, for an image or a sentence alike: row 0
    follows the map's order, the other rows random orders. The areas, the random orders' mean areas, and
    ``passed`` when the map's order beats them both ways (falls faster when deleting, rises faster when
    inserting)."""
    d_auc, i_auc = _auc(fractions, dele[0]), _auc(fractions, ins[0])
    rd = float(np.mean([_auc(fractions, r) for r in dele[1:]]))
    ri = float(np.mean([_auc(fractions, r) for r in ins[1:]]))
    return Curves(
        fractions.tolist(),
        dele[0].tolist(),
        ins[0].tolist(),
        d_auc,
        i_auc,
        rd,
        ri,
        bool(d_auc < rd and i_auc > ri),
        seconds,
    )


# --------------------------------------------------------------------------------------------
# Every check of one explanation, as plain JSON (the CLI's --checks)


def _randomisation_json(r: Randomisation) -> dict:
    return {
        "signed": r.signed[-1] if r.signed else None,
        "absolute": r.absolute[-1] if r.absolute else None,
        "reference": r.reference,
        "references": r.references,
        "bar": r.bar,
        "passed": r.passed,
        "rule": r.rule,
        "layers": r.layers,
        "signed_steps": r.signed,
        "absolute_steps": r.absolute,
    }


def report(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    method: str,
    attr: Attribution,
    contrast: int | None = None,
    settings: dict | None = None,
    shuffled: nn.Module | None = None,
) -> dict:
    """The sanity checks of one explanation ``attr`` (``method`` with ``settings`` for class ``target`` of ``x``)
    as plain JSON (the rules: docs/explain-checks.md): ``completeness``, ``randomisation`` (signed, absolute,
    reference, passed, rule), ``deletion`` / ``insertion`` (area, random, passed), ``infidelity`` /
    ``sensitivity`` (value beside a random explanation's, lower is better: references, not pass/fail), and
    ``data_randomisation`` (as ``randomisation``) when ``shuffled``, a model trained on shuffled labels, is
    given. An empty map gets None for every check that needs a map."""
    settings = dict(settings or {})
    comp = completeness(attr)
    out: dict = {
        "completeness": None
        if comp is None
        else {
            "attribution_sum": comp.attribution_sum,
            "output_difference": comp.output_difference,
            "delta": comp.delta,
            "relative": comp.relative,
            "passed": comp.passed,
        }
    }
    if attr.empty:
        out.update(randomisation=None, deletion=None, insertion=None, infidelity=None, sensitivity=None)
        if shuffled is not None:
            out["data_randomisation"] = None
        return out
    out["randomisation"] = _randomisation_json(
        randomisation_test(model, x, target, method, contrast=contrast, **settings)
    )
    c = deletion_insertion(model, x, target, attr.map)
    out["deletion"] = {
        "area": c.deletion_auc,
        "random": c.random_deletion_auc,
        "passed": bool(c.deletion_auc < c.random_deletion_auc),
    }
    out["insertion"] = {
        "area": c.insertion_auc,
        "random": c.random_insertion_auc,
        "passed": bool(c.insertion_auc > c.random_insertion_auc),
    }
    f = fidelity(model, x, target, method, attr.map, contrast=contrast, **settings)
    out["infidelity"] = {"value": f.infidelity, "random": f.random_infidelity, "lower_is_better": True}
    out["sensitivity"] = {"value": f.sensitivity, "random": f.random_sensitivity, "lower_is_better": True}
    if shuffled is not None:
        out["data_randomisation"] = _randomisation_json(
            data_randomisation_test(model, shuffled, x, target, method, contrast=contrast, **settings)
        )
    return out
