"""The perturbation family: Occlusion, KernelSHAP and LIME. They only run the model forward.

Each hides parts of the image (fills them with a "nothing" image: black, blurred or noise, see
:func:`dlviz.explain.methods.baseline`) and watches the target score. All perturbed images of one
explanation go through the model in a few large batches (one forward pass of 169 images for a 4x4
window with stride 2 on 28x28), never one image at a time. No streamlit here.
"""

from __future__ import annotations

import math

import torch

from dlviz.errors import ExplainError
from dlviz.explain.methods import BASELINES, baseline
from dlviz.explain.registry import Method, Setting, register
from dlviz.i18n import N_

CHUNK = 512  # images per forward pass: 512 x (32, 26, 26) float32 activations is ~44 MB for the CNN preset


@torch.no_grad()
def _scores(model, images: torch.Tensor, target: int) -> torch.Tensor:
    """Column ``target`` of the model's output for (N, C, H, W) ``images``, in chunks of CHUNK: (N,) float64."""
    return torch.cat([model(images[i : i + CHUNK])[:, target] for i in range(0, len(images), CHUNK)]).double()


def _starts(n: int, window: int, stride: int) -> list[int]:
    """Window positions along one axis; a last window flush with the edge when the stride does not land there,
    so every pixel is covered at least once (Captum's Occlusion leaves such a strip uncovered)."""
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] + window < n:
        starts.append(n - window)
    return starts


def _occlusion(model, x, target, window=4, stride=2, fill="black"):
    x = x.detach()
    _, c, h, w = x.shape
    if stride > window:
        raise ExplainError(
            "{method}: the stride ({stride}) must not be larger than the window ({window}), or some "
            "pixels would never be covered.",
            method="Occlusion",
            stride=stride,
            window=window,
        )
    if window > min(h, w):
        raise ExplainError(
            "{method}: the window ({window}) is larger than the image ({size} pixels).",
            method="Occlusion",
            window=window,
            size=min(h, w),
        )
    ys, xs = _starts(h, window, stride), _starts(w, window, stride)
    masks = torch.zeros(len(ys) * len(xs), 1, h, w, dtype=x.dtype, device=x.device)  # (N, 1, H, W): 1 = covered
    for i, y0 in enumerate(ys):
        for j, x0 in enumerate(xs):
            masks[i * len(xs) + j, 0, y0 : y0 + window, x0 : x0 + window] = 1
    base = baseline(x, fill)
    occluded = x * (1 - masks) + base * masks  # (N, C, H, W)
    scores = _scores(model, torch.cat([x, occluded]), target)
    drops = (scores[0] - scores[1:]).to(x.dtype)  # (N,) score lost per window
    # each pixel: the mean drop over the windows that covered it (Captum's Occlusion does the same)
    total = torch.einsum("n,nchw->chw", drops, masks)
    amap = (total / masks.sum(0)).expand(c, h, w).unsqueeze(0).contiguous()
    return amap, {"windows": float(len(drops)), "model_output": float(scores[0]), "largest_drop": float(drops.max())}


def _patches(x: torch.Tensor, patch: int, method: str) -> tuple[torch.Tensor, int, int]:
    """Patch ids (H, W) long, row-major over a grid of ceil(H/patch) x ceil(W/patch) square patches; the last row
    and column are narrower when ``patch`` does not divide the image (28 = 5 + 5 + 5 + 5 + 5 + 3)."""
    h, w = x.shape[-2:]
    if patch > min(h, w):
        raise ExplainError(
            "{method}: the patch ({patch}) is larger than the image ({size} pixels).",
            method=method,
            patch=patch,
            size=min(h, w),
        )
    rows, cols = math.ceil(h / patch), math.ceil(w / patch)
    r = torch.arange(h, device=x.device) // patch
    q = torch.arange(w, device=x.device) // patch
    return r[:, None] * cols + q[None, :], rows, cols


def _compose(x, base, pid, z):
    """Images for coalitions ``z`` (n, M) bool: patch j shows the input where z[:, j], the fill elsewhere."""
    keep = z[:, pid].unsqueeze(1)  # (n, 1, H, W)
    return torch.where(keep, x, base)


def _spread(values: torch.Tensor, pid: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A map like ``x`` giving each element of patch j the share values[j] / (elements in patch j), so the map
    sums to values.sum()."""
    c = x.shape[1]
    counts = torch.bincount(pid.flatten(), minlength=len(values)).to(values) * c
    per = (values / counts)[pid]  # (H, W)
    return per.to(x.dtype).expand(c, *pid.shape).unsqueeze(0).contiguous()


def _grid(values: torch.Tensor, rows: int, cols: int) -> list[list[float]]:
    return values.reshape(rows, cols).tolist()


def _coalitions(m: int, samples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Coalitions (n, m) bool and their regression weights (n,) float64 for KernelSHAP (Lundberg & Lee 2017).

    Every coalition with its exact Shapley-kernel weight when there are at most ``samples`` of them (the values
    are then exact); otherwise ``samples`` coalitions drawn with the kernel as the sampling distribution (size k
    with probability proportional to (m-1) / (k (m-k)), then k patches uniformly), each with its complement
    (paired sampling: far less variance, and exact when patches interact only in pairs), all with weight 1."""
    sizes = torch.arange(1, m, dtype=torch.float64)
    if 2**m - 2 <= samples:
        codes = torch.arange(1, 2**m - 1)
        z = (codes[:, None] >> torch.arange(m)) & 1 == 1
        k = z.sum(1).double()
        weights = (m - 1) / (torch.tensor([math.comb(m, int(i)) for i in k], dtype=torch.float64) * k * (m - k))
        return z, weights, True
    g = torch.Generator().manual_seed(int(seed))
    pairs = (samples + 1) // 2
    k = torch.multinomial((m - 1) / (sizes * (m - sizes)), pairs, replacement=True, generator=g) + 1  # (pairs,)
    ranks = torch.rand(pairs, m, generator=g).argsort(1).argsort(1)  # a random order per row
    z = ranks < k[:, None]
    z = torch.cat([z, ~z])[:samples]
    return z, torch.ones(len(z), dtype=torch.float64), False


def _kernel_shap(model, x, target, patch=4, samples=200, fill="black", seed=0):
    x = x.detach()
    pid, rows, cols = _patches(x, patch, "KernelSHAP")
    m = rows * cols
    base = baseline(x, fill, seed=seed)
    z, weights, exact = _coalitions(m, samples, seed)
    scores = _scores(model, torch.cat([x, base, _compose(x, base, pid, z.to(x.device))]), target)
    fx, f0, fz = scores[0], scores[1], scores[2:].cpu()
    delta = fx - f0
    # SHAP's efficiency as a constraint (sum of values = f(x) - f(all filled)): substitute the last value
    # phi_m = delta - sum(others) and solve the weighted least squares for the other m - 1 (min-norm if short)
    zf = z.double()
    a = zf[:, :-1] - zf[:, -1:]  # (n, m-1)
    b = fz - f0 - zf[:, -1] * delta
    sw = weights.sqrt()
    # torch's gelsd (min-norm, rank-revealing), not numpy's: numpy's OpenBLAS threads fight torch's OpenMP
    # threads for the 2 cores and turn a 1 ms solve into 20 ms
    phi_rest = torch.linalg.lstsq(a * sw[:, None], (b * sw)[:, None], driver="gelsd").solution[:, 0]
    phi = torch.cat([phi_rest, (delta - phi_rest.sum()).reshape(1)])  # (m,) float64
    amap = _spread(phi.to(x.device), pid, x)
    total = float(phi.sum())
    return amap, {
        "attribution_sum": total,
        "output_difference": float(delta),
        "completeness_delta": total - float(delta),
        "expected_value": float(f0),
        "model_output": float(fx),
        "patch_values": _grid(phi, rows, cols),
        "features": float(m),
        "evaluations": float(len(z)),
        "exact": float(exact),
    }


def _lime_kernel(_original, _perturbed, z, **_kw) -> float:
    """LIME's sample weight: sqrt(exp(-d^2 / 0.25^2)) with d the cosine distance between the coalition z (1, M)
    and the all-patches-shown vector, 1 - sqrt(|z| / M)."""
    d = 1.0 - math.sqrt(float(z.sum()) / z.numel())
    return math.sqrt(math.exp(-d * d / 0.25**2))


def _lime(model, x, target, patch=4, samples=200, fill="black", seed=0):
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import Lime

    x = x.detach()
    pid, rows, cols = _patches(x, patch, "LIME")
    base = baseline(x, fill, seed=seed)
    # as in the LIME paper's image explainer (Ribeiro et al. 2016, lime_image): Ridge(alpha=1), which shrinks every
    # weight by a similar fraction whatever the scale of the scores (Captum's default Lasso(alpha=0.01) zeroes
    # every patch of a model whose scores move by less than ~0.01), and samples weighted by how many patches
    # they keep (Captum's default compares pixels, slower, and blind to hiding a blank patch)
    lime = Lime(model, interpretable_model=SkLearnRidge(alpha=1.0), similarity_func=_lime_kernel)
    with torch.random.fork_rng(devices=[]):  # Captum draws the coalitions from the global generator
        torch.manual_seed(int(seed))
        coef = lime.attribute(
            x,
            baselines=base,
            target=target,
            feature_mask=pid[None, None],
            n_samples=int(samples),
            perturbations_per_eval=min(int(samples), CHUNK),
            return_input_shape=False,
        )
    coef = coef.detach().double().reshape(-1)  # (m,)
    scores = _scores(model, torch.cat([x, base]), target)
    bias = lime.interpretable_model.bias()
    return _spread(coef.to(x.device), pid, x), {
        "patch_values": _grid(coef.cpu(), rows, cols),
        "intercept": float(bias.reshape(-1)[0]) if bias is not None else 0.0,
        "model_output": float(scores[0]),
        "filled_output": float(scores[1]),
        "features": float(len(coef)),
    }


FILL = Setting(
    "black",
    choices=BASELINES,
    title=N_("Fill"),
    help=N_("What replaces a hidden part: black, a blurred copy of the image, or random noise."),
)
PATCH = Setting(
    4,
    2,
    14,
    title=N_("Patch size"),
    help=N_(
        "The image is cut into square patches of this many pixels; each patch is switched on or off "
        "as a whole (4 gives 7 x 7 = 49 patches)."
    ),
)
SAMPLES = Setting(
    200,
    20,
    2000,
    title=N_("Samples"),
    help=N_("How many images with random patches hidden the model sees; more samples, steadier answers, slower."),
)
SEED = Setting(
    0, 0, 1_000_000, title=N_("Seed"), help=N_("Fixes the random choices, so the same seed gives the same explanation.")
)

register(
    Method(
        "occlusion",
        N_("Occlusion"),
        _occlusion,
        {
            "window": Setting(
                4, 1, 14, title=N_("Window"), help=N_("Side of the square that hides part of the image, in pixels.")
            ),
            "stride": Setting(
                2,
                1,
                14,
                title=N_("Stride"),
                help=N_(
                    "How far the square moves each time, in pixels; at most the window, so every pixel gets hidden."
                ),
            ),
            "fill": FILL,
        },
        family="perturbation",
        blurb=N_("Hides one small square at a time and shows how much the score drops when each pixel is hidden."),
    )
)
register(
    Method(
        "kernel_shap",
        N_("KernelSHAP"),
        _kernel_shap,
        {"patch": PATCH, "samples": SAMPLES, "fill": FILL, "seed": SEED},
        family="perturbation",
        blurb=N_(
            "Hides random sets of patches and shares the score fairly among the patches (Shapley "
            "values): the shares add up to the score minus the score with everything hidden."
        ),
    )
)
register(
    Method(
        "lime",
        N_("LIME"),
        _lime,
        {"patch": PATCH, "samples": SAMPLES, "fill": FILL, "seed": SEED},
        family="perturbation",
        blurb=N_(
            "Hides random sets of patches and fits a simple straight-line model of the score; each "
            "patch's weight says how much showing it raises the score."
        ),
    )
)
