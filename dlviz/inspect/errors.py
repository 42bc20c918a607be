"""Which test images a model gets wrong, and which classes it confuses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlviz.modality.image import image_transform


@torch.no_grad()
def predict_all(model: nn.Module, x: torch.Tensor, batch_size: int = 1000, progress=None) -> torch.Tensor:
    """Class probabilities (N, K) for uint8 images (N, 28, 28), in eval mode (restored after)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    try:
        for s in range(0, len(x), batch_size):
            logits = model(image_transform(x[s : s + batch_size].to(device)))
            out.append(F.softmax(logits.float(), dim=1).cpu())
            if progress:
                progress(min(1.0, (s + batch_size) / len(x)))
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, 0)


def confusion(y: torch.Tensor, pred: torch.Tensor, k: int) -> torch.Tensor:
    """(K, K) counts: row = true class, column = predicted class."""
    return torch.bincount(y.long() * k + pred.long(), minlength=k * k).reshape(k, k)


def top_confusions(conf: torch.Tensor, n: int = 5) -> list[tuple[int, int, int]]:
    """The ``n`` most frequent mistakes as (true, predicted, count), largest first, zero counts left out."""
    off = conf.clone()
    off.fill_diagonal_(0)
    counts, flat = off.flatten().sort(descending=True)
    k = conf.shape[0]
    return [(int(i) // k, int(i) % k, int(c)) for c, i in zip(counts[:n], flat[:n]) if c > 0]


def cell_indices(y: torch.Tensor, probs: torch.Tensor, true: int, pred: int) -> torch.Tensor:
    """Test indices with label ``true`` predicted as ``pred``, the most confident prediction first."""
    hit = ((y == true) & (probs.argmax(1) == pred)).nonzero().flatten()
    conf = probs[hit, pred]
    return hit[conf.argsort(descending=True)]
