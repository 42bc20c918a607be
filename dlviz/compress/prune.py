"""Magnitude pruning with ``torch.nn.utils.prune``: the smallest weights of the Conv and Dense layers set to zero.

*Global* ranks every weight of every such layer together (a layer with many small weights loses more of them);
*per layer* takes the same share from each layer; *whole filters* (structured, per layer) removes the filters of each
Conv layer and the units of each hidden Dense layer with the smallest L2 norm, bias included, so a pruned filter is
an all-zero square on the Filters page and its feature map is empty (the last layer, one unit per class, is kept). The masks are then made permanent (``prune.remove``): the zeros
are written into the weights themselves, so the saved file is an ordinary set of weights that every page reads.
A file of a pruned model is as large as the original (zeros take as much room as any number in a dense file):
:func:`nonzero` counts what is left, and a zipped copy shows the room the zeros could save.
"""

from __future__ import annotations

import zlib

import torch
from torch import nn
from torch.nn.utils import prune as tprune

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Linear)


def prunable(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, layer) of every Conv and Dense layer of ``model``."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, PRUNABLE)]


def prune_model(model: nn.Module, amount: float, per_layer: bool = False, structured: bool = False) -> nn.Module:
    """Zero the ``amount`` (0..1) smallest-magnitude weights of ``model``'s Conv and Dense layers, in place, and make
    the zeros permanent; ``structured``: whole filters / units instead (each layer alone). Returns ``model``."""
    if not 0.0 <= amount < 1.0:
        raise ValueError("amount must be in [0, 1)")
    layers = prunable(model)
    if not layers or amount == 0.0:
        return model
    if structured:
        layers = layers[:-1]  # the output layer keeps every class
        for _, m in layers:
            tprune.ln_structured(m, name="weight", amount=amount, n=2, dim=0)
    elif per_layer:
        for _, m in layers:
            tprune.l1_unstructured(m, name="weight", amount=amount)
    else:
        tprune.global_unstructured(
            [(m, "weight") for _, m in layers], pruning_method=tprune.L1Unstructured, amount=amount
        )
    for _, m in layers:
        tprune.remove(m, "weight")  # permanent: weight_orig and weight_mask folded into one plain weight
        if structured and m.bias is not None:
            with torch.no_grad():  # a removed filter's bias too, so its feature map is zero, not a constant
                gone = (m.weight.detach().flatten(1) == 0).all(1)
                m.bias[gone] = 0.0
    return model


def sparsity(model: nn.Module) -> dict[str, float]:
    """Each Conv/Dense layer's share of zero weights, and "all" over them together."""
    out, zeros, total = {}, 0, 0
    for name, m in prunable(model):
        w = m.weight.detach()
        z = int((w == 0).sum())
        out[name] = z / w.numel()
        zeros, total = zeros + z, total + w.numel()
    out["all"] = zeros / total if total else 0.0
    return out


def nonzero(model_or_state) -> int:
    """Parameters that are not zero (a state dict or a model)."""
    tensors = model_or_state.values() if isinstance(model_or_state, dict) else model_or_state.state_dict().values()
    return int(
        sum(int(torch.count_nonzero(t)) for t in tensors if isinstance(t, torch.Tensor) and t.is_floating_point())
    )


def zipped_size(data: bytes) -> int:
    """Bytes of ``data`` compressed with zlib (level 6): what a pruned file's zeros save once it is zipped."""
    return len(zlib.compress(data, 6))


__all__ = ["PRUNABLE", "nonzero", "prunable", "prune_model", "sparsity", "zipped_size"]
