"""Embeddings: a layer's activations for many images, projected to 2-D with PCA or t-SNE.

t-SNE is written here from the paper (van der Maaten & Hinton 2008, "Visualizing Data using
t-SNE", JMLR 9), exact O(N^2), which is fine for the ~2,000 points a page shows:

1. reduce to 50 dimensions with PCA (customary, and it makes the distances cheaper);
2. for each point i, search the Gaussian precision beta_i = 1 / (2 sigma_i^2) so the conditional
   distribution P_{j|i} has perplexity exp(H) = ``perplexity``, H in nats (section 2; the paper
   bisects, we take safeguarded Newton steps, which find the same beta in fewer passes);
3. symmetrise: p_ij = (P_{j|i} + P_{i|j}) / 2N (section 3.1);
4. Student-t (one degree of freedom) similarities in the map, q_ij ∝ (1 + |y_i - y_j|^2)^-1, and
   gradient descent on KL(P || Q) with dC/dy_i = 4 Σ_j (p_ij - q_ij)(y_i - y_j)(1 + |y_i - y_j|^2)^-1
   (equation 5), early exaggeration (p × 12) for the first 250 iterations, momentum 0.5 then 0.8,
   and per-coordinate adaptive gains (Jacobs 1988) as section 3.4 describes.

The map starts from the first two principal components scaled to a standard deviation of 1e-4
(Kobak & Berens 2019, "The art of using t-SNE for single-cell transcriptomics"), so a layout is
deterministic. The learning rate is max(N / 12 / 4, 50) for the gradient above, that is N / 12 for
the gradient without its factor 4, as Belkina et al. 2019 advise ("Automated optimized parameters
for t-SNE"). The loop runs on one CPU thread (see ``one_cpu_thread``).

Every function returns detached CPU results, leaves its inputs unchanged and restores the model's
train/eval mode. No streamlit here.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from dlviz.errors import DataError, SpecError
from dlviz.inspect.hooks import capture
from dlviz.modality.image import image_transform

Progress = Callable[[float], None]

PCA_DIMS = 50  # t-SNE input dimensions after PCA
EXAGGERATION = 12.0
EXAGGERATION_ITERS = 250
SKIP_TYPES = ("dropout",)  # layers that show the same picture as the one before them


@dataclass(frozen=True)
class LayerFeatures:
    features: torch.Tensor  # (N, D) float: the layer's output per image, flattened
    logits: torch.Tensor  # (N, K) float: the model's output

    @property
    def preds(self) -> torch.Tensor:
        return self.logits.argmax(1)  # (N,) int64


def _tsne_input(feats, perplexity: float) -> torch.Tensor:
    """``feats`` as a float (N, D) CPU tensor, checked for what t-SNE needs (both implementations)."""
    x = torch.as_tensor(feats).detach().float().cpu()
    n = len(x)
    if x.ndim != 2 or n < 4:
        raise DataError("t-SNE needs at least 4 points; got shape {shape}.", shape=tuple(x.shape))
    if not 1 <= perplexity < n:
        raise DataError("Perplexity must be between 1 and the number of points ({n}); got {p}.", n=n, p=perplexity)
    if not torch.isfinite(x).all():
        raise DataError("The features contain NaN or infinite values.")
    return x


def default_layer(names: list[str], types: list[str] | None = None) -> str:
    """The last hidden layer before the output: what the classifier reads.

    ``names`` are the model's top-level layers in order (the output layer last); a dropout layer
    is passed over (it is the identity in eval mode).
    """
    if not names:
        raise SpecError("The model has no layers.")
    if len(names) == 1:
        return names[0]
    types = types or [n.rsplit("_", 1)[0] for n in names]
    for name, typ in zip(reversed(names[:-1]), reversed(types[:-1])):
        if typ not in SKIP_TYPES:
            return name
    return names[-2]


@torch.no_grad()
def layer_outputs(model: nn.Module, x_uint8: torch.Tensor, layer: str, batch: int = 500) -> LayerFeatures:
    """Layer ``layer``'s activations (flattened) and the logits for images ``x_uint8`` (N, H, W) uint8.

    Runs in batches of ``batch`` in eval mode, then restores the model's mode.
    """
    names = [n for n, _ in model.named_children()]
    if layer not in names:
        raise SpecError("The model has no layer named {name}.", name=layer)
    if not (x_uint8.ndim == 3 or (x_uint8.ndim == 4 and x_uint8.shape[-1] == 3)) or len(x_uint8) == 0:
        raise DataError(
            "Expected a batch of grayscale images (N, height, width); got shape {shape}.", shape=tuple(x_uint8.shape)
        )
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device
    feats, logits = [], []
    try:
        with capture(model, names=[layer]) as cap:
            for start in range(0, len(x_uint8), batch):
                xb = image_transform(x_uint8[start : start + batch].to(device))  # (B, 1, H, W); colour (B, 3, H, W)
                cap.outputs.clear()
                out = model(xb)
                if layer not in cap.outputs:
                    raise SpecError("Layer {name} does not output a tensor that can be shown.", name=layer)
                feats.append(cap.outputs[layer].flatten(1))
                logits.append(out.detach().float().cpu())
    finally:
        model.train(was_training)
    return LayerFeatures(torch.cat(feats), torch.cat(logits))


def layer_features(model: nn.Module, x_uint8: torch.Tensor, layer: str, batch: int = 500) -> torch.Tensor:
    """(N, D) float: layer ``layer``'s activations for ``x_uint8`` (N, H, W) uint8, flattened."""
    return layer_outputs(model, x_uint8, layer, batch).features


def sample_indices(labels: torch.Tensor, n: int = 2000, seed: int = 0) -> torch.Tensor:
    """``n`` indices into ``labels`` (N,), sorted, each class represented in proportion (stratified).

    Each class gets its share rounded by largest remainder, so the total is exactly ``n``; all
    indices when ``n >= N``. Deterministic for a given ``seed``.
    """
    labels = torch.as_tensor(labels).cpu()
    total = len(labels)
    if n >= total:
        return torch.arange(total)
    if n <= 0:
        return torch.zeros(0, dtype=torch.long)
    classes, counts = torch.unique(labels, return_counts=True)
    exact = counts.double() * n / total
    share = exact.floor().long()
    left = n - int(share.sum())
    order = torch.argsort(exact - share, descending=True, stable=True)
    share[order[:left]] += 1
    g = torch.Generator().manual_seed(seed)
    picked = []
    for c, k in zip(classes.tolist(), share.tolist()):
        idx = (labels == c).nonzero().squeeze(1)
        picked.append(idx[torch.randperm(len(idx), generator=g)[:k]])
    return torch.sort(torch.cat(picked)).values


EXACT_PCA_LIMIT = 300  # above this many dimensions (and points), PCA is randomised (Halko et al. 2011)


def pca(feats: torch.Tensor, k: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(coords (N, k), explained variance ratio (k,)) of the centred ``feats`` (N, D).

    Exact (eigen-decomposition of the smaller Gram/covariance matrix) when N or D is at most
    ``EXACT_PCA_LIMIT``; otherwise torch's randomised SVD with a fixed seed and 4 power
    iterations, which finds the leading components of activations to float precision in a
    fraction of the time. Each component's sign is fixed so its largest loading is positive, so
    the same data always gives the same picture. Components beyond the rank are zero.
    """
    x = torch.as_tensor(feats).detach().float().cpu()
    if x.ndim != 2 or len(x) < 2:
        raise DataError("Need at least two points to project; got shape {shape}.", shape=tuple(x.shape))
    n, d = x.shape
    x = x - x.mean(0)
    total = float((x.double() ** 2).sum())
    kk = min(k, n, d)
    if min(n, d) <= EXACT_PCA_LIMIT or kk + 10 >= min(n, d):
        xd = x.double()
        if d > n:  # the (N, N) Gram matrix is the smaller one
            evals, u = torch.linalg.eigh(xd @ xd.T)
            evals, u = evals.flip(0)[:kk].clamp_min(0), u.flip(1)[:, :kk]
            vt = (u.T @ xd) / evals.sqrt().clamp_min(1e-12)[:, None]
        else:
            evals, v = torch.linalg.eigh(xd.T @ xd)
            evals, vt = evals.flip(0)[:kk].clamp_min(0), v.flip(1)[:, :kk].T
        sv2 = evals
        vt = vt.float()
    else:
        with torch.random.fork_rng(devices=[]):  # the randomised basis must not move the global RNG
            torch.manual_seed(0)
            _, s, v = torch.svd_lowrank(x, q=kk + 10, niter=4)
        vt, sv2 = v[:, :kk].T.contiguous(), s[:kk].double() ** 2
    big = vt.abs().argmax(1)
    signs = torch.sign(vt[torch.arange(kk), big])
    signs[signs == 0] = 1
    vt = vt * signs[:, None]
    coords = torch.zeros(n, k)
    coords[:, :kk] = x @ vt.T
    ratio = torch.zeros(k)
    if total > 0:
        ratio[:kk] = (sv2 / total).float()
    return coords, ratio


def _entropy(d: torch.Tensor, beta: torch.Tensor, diagonal: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(P_{j|i} (N, M), entropy H_i in nats (N, 1), dH_i/dbeta_i (N, 1)) for shifted squared distances ``d``.

    With Gaussian weights p_ij ∝ exp(-beta_i d_ij): H_i = log Z_i + beta_i E[d], and
    dH_i/dbeta_i = -beta_i Var[d]. ``diagonal``: ``d`` is the square matrix, whose diagonal (a point
    and itself) gets no weight.
    """
    p = torch.exp(-d * beta)
    if diagonal:
        p.fill_diagonal_(0.0)
    z = p.sum(1, keepdim=True)  # >= 1: each row's nearest other point is at shifted distance 0
    p /= z
    ed = (d * p).sum(1, keepdim=True)
    ed2 = (d * d * p).sum(1, keepdim=True)
    ent = torch.log(z) + beta * ed
    return p, ent, -beta * (ed2 - ed * ed)


def _betas(
    d: torch.Tensor,
    perplexity: float,
    beta: torch.Tensor | None = None,
    diagonal: bool = False,
    tol: float = 1e-5,
    steps: int = 100,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(precisions beta_i = 1 / (2 sigma_i^2) (N, 1), P_{j|i}) so each row of ``d`` (N, M) has the perplexity.

    All rows at once: Newton steps on H(beta) (it falls as beta grows), kept inside the bracket
    the steps have found so far and replaced by bisection (or doubling) when they leave it, the
    safeguarded form of the paper's binary search (section 2).
    """
    n = len(d)
    target = math.log(perplexity)
    if beta is None:
        beta = torch.ones(n, 1, dtype=d.dtype) / d[torch.isfinite(d)].mean().clamp_min(1e-12)
    lo = torch.zeros(n, 1, dtype=d.dtype)
    hi = torch.full((n, 1), float("inf"), dtype=d.dtype)
    for _ in range(steps):
        p, ent, slope = _entropy(d, beta, diagonal)
        diff = ent - target
        if float(diff.abs().max()) < tol:
            break
        too_flat = diff > 0  # entropy too high: sharpen (larger beta)
        lo = torch.where(too_flat, beta, lo)
        hi = torch.where(too_flat, hi, beta)
        newton = beta - diff / slope.clamp_max(-1e-300)
        fallback = torch.where(torch.isinf(hi), beta * 2, (lo + hi) / 2)
        beta = torch.where((newton > lo) & (newton < hi) & torch.isfinite(newton), newton, fallback)
    return beta, p


def conditional_p(x: torch.Tensor, perplexity: float = 30.0) -> torch.Tensor:
    """P_{j|i} (N, N) float64 of points ``x`` (N, D): row i is a Gaussian around x_i whose sigma_i
    gives the row the perplexity exp(H_i) = ``perplexity`` (entropy in nats); zero diagonal.

    The search starts on the ``3 * perplexity`` nearest neighbours (cheap, as in van der Maaten
    2014's Barnes-Hut-SNE) and finishes on whole rows, so the perplexity is exact.
    """
    x = x.double()
    n = len(x)
    sq = (x * x).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_min_(0)  # (N, N)
    d2.fill_diagonal_(float("inf"))
    d2 -= d2.min(1, keepdim=True).values  # a shift per row changes neither P_{j|i} nor its entropy
    k = min(n - 1, max(int(3 * perplexity) + 1, 10))
    near = d2.topk(k, dim=1, largest=False).values  # (N, k)
    beta, _ = _betas(near, perplexity)
    d2.fill_diagonal_(0.0)
    _, p = _betas(d2, perplexity, beta=beta, diagonal=True)
    return p


def joint_p(x: torch.Tensor, perplexity: float = 30.0) -> torch.Tensor:
    """Symmetric joint probabilities p_ij = (P_{j|i} + P_{i|j}) / 2N (N, N) float32, summing to 1."""
    p = conditional_p(x, perplexity)
    p = (p + p.T) / (2 * len(p))
    return p.float()


@contextmanager
def one_cpu_thread():
    """Run the t-SNE loop on one CPU thread: on this 2-core machine two OpenMP threads were no faster
    for these memory-bound N^2 passes, and up to 4x slower when the machine is busy or the call
    comes from a non-main thread (as in Streamlit). One thread also makes the result bit-for-bit
    repeatable. The count is per OS thread under OpenMP and is restored afterwards.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tsne(
    feats: torch.Tensor,
    perplexity: float = 30.0,
    iters: int = 750,
    seed: int = 0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    learning_rate: float | None = None,
) -> torch.Tensor:
    """2-D t-SNE coordinates (N, 2) of ``feats`` (N, D).

    ``iters`` counts all iterations, the first 250 with early exaggeration (750 is openTSNE's
    default; the paper ran 1000). ``progress(fraction)`` is called every few iterations (0 to 1);
    when ``should_stop()`` returns True the layout so far is returned. ``seed`` is used only when
    the PCA start is degenerate (all points equal): otherwise the result is deterministic.
    """
    x = _tsne_input(feats, perplexity)
    n = len(x)
    report = progress or (lambda _f: None)
    report(0.0)
    x, _ = pca(x, min(PCA_DIMS, x.shape[1]))
    p = joint_p(x, perplexity)  # (N, N)
    report(0.05)

    y, _ = pca(x, 2)
    std = y[:, 0].std()
    if not std > 0:
        y = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
        std = y[:, 0].std()
    y = y / std * 1e-4  # (N, 2)
    lr = learning_rate or max(n / EXAGGERATION / 4, 50.0)
    update = torch.zeros_like(y)
    gains = torch.ones_like(y)
    buffers = (torch.ones(n, 1), torch.empty(n, 4), torch.empty(n, 4), torch.empty(n, n), torch.empty(n, n))
    every = max(1, iters // 100)
    with one_cpu_thread():
        for it in range(iters):
            y, update, gains = _step(p, y, update, gains, it, lr, buffers)
            if (it + 1) % every == 0 or it == iters - 1:
                report(0.05 + 0.95 * (it + 1) / iters)
                if should_stop is not None and should_stop():
                    break
    return (y - y.mean(0)).detach().clone()


def _step(p, y, update, gains, it, lr, buffers):
    """One gradient step of t-SNE: (y, update, gains) after iteration ``it``."""
    ones, a, b, num, attr = buffers
    exaggeration = EXAGGERATION if it < EXAGGERATION_ITERS else 1.0
    momentum = 0.5 if it < EXAGGERATION_ITERS else 0.8
    # 1 + |y_i - y_j|^2 as one matmul: [-2y_i, |y_i|^2 + 1, 1] . [y_j, 1, |y_j|^2]
    sq = (y * y).sum(1, keepdim=True)
    torch.cat([-2 * y, sq + 1, ones], 1, out=a)
    torch.cat([y, ones, sq], 1, out=b)
    torch.mm(a, b.T, out=num)
    num.clamp_min_(1.0).reciprocal_().fill_diagonal_(0.0)  # Student-t kernel (N, N), symmetric
    z = float(num.sum())
    # (3, N) @ (N, N): rows sum_j w_ij y_j (2) and sum_j w_ij (1); w symmetric, and this order
    # reads it row by row (3x faster than w @ [y, 1])
    yb = torch.cat([y, ones], 1).T.contiguous()
    fa = yb @ torch.mul(p, num, out=attr)
    fr = yb @ num.square_()
    # equation 5: 4 sum_j (p_ij - q_ij) num_ij (y_i - y_j), with q_ij = num_ij / z
    grad = 4.0 * (exaggeration * (fa[2:].T * y - fa[:2].T) - (fr[2:].T * y - fr[:2].T) / z)  # (N, 2)
    # adaptive gains (Jacobs 1988): grow while the gradient keeps pushing the way the last update went
    gains = torch.where(grad * update < 0, gains + 0.2, gains * 0.8).clamp_min_(0.01)
    update = momentum * update - lr * gains * grad
    y = y + update
    return y, update, gains


def knn_agreement(coords: torch.Tensor, labels: torch.Tensor, k: int = 10) -> float:
    """Fraction of each point's ``k`` nearest neighbours in ``coords`` that share its label, averaged."""
    c = torch.as_tensor(coords).double()
    d = torch.cdist(c, c)
    d.fill_diagonal_(float("inf"))
    nn_idx = d.topk(k, largest=False).indices  # (N, k)
    labels = torch.as_tensor(labels)
    return float((labels[nn_idx] == labels[:, None]).double().mean())


def tsne_sklearn(feats: torch.Tensor, perplexity: float = 30.0, seed: int = 0, threads: int = 1) -> torch.Tensor:
    """2-D t-SNE coordinates (N, 2) by scikit-learn's Barnes-Hut ``TSNE`` (what the Embeddings page uses).

    Measured on 2,000 points of a CNN's hidden layer: 4.3 s against 8.0 s for :func:`tsne` above,
    which stays as the readable version of the algorithm. Same start as ours (PCA, deterministic
    for a ``seed``), ``threads`` OpenMP threads (one by default: see ``one_cpu_thread``; the limit
    applies to the calling OS thread only). Raises DataError like :func:`tsne`.
    """
    import numpy as np
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = _tsne_input(feats, perplexity)
    x, _ = pca(x, min(PCA_DIMS, x.shape[1]))
    arr = x.numpy().astype(np.float32)
    if not float(arr.std()) > 0:  # all points equal: sklearn's PCA start would be degenerate
        arr = arr + np.random.default_rng(seed).normal(scale=1e-6, size=arr.shape).astype(np.float32)
    with threadpool_limits(limits=max(1, int(threads))):
        y = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed, learning_rate="auto"
        ).fit_transform(arr)
    return torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
