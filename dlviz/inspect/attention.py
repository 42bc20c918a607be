"""Attention of a transformer text model for one sentence, and attention rollout across its layers.

Every ``EncoderLayer`` (dlviz.models.layers) keeps the attention weights of its last forward pass in
``.attention`` (B, heads, T, T) while ``.keep_attention`` is True; ``attention_maps`` switches that on
around one forward pass in eval mode and restores everything afterwards. No streamlit here.
"""

from __future__ import annotations

import torch
from torch import nn

from dlviz.errors import DataError, SpecError
from dlviz.modality.text import encode_sentence


def attention_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every module that can keep attention weights, in forward order."""
    return [(name, m) for name, m in model.named_modules() if hasattr(m, "keep_attention")]


@torch.no_grad()
def attention_maps(model: nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep (T,) bool: the real tokens, attention (layers, heads, T, T) float CPU) for one sentence.

    ``ids`` is one pre-padded id sequence (L,) (PAD = 0). Row i of a map is how token i spreads its
    attention: over the real tokens it sums to 1, pads get 0, and the rows of pads are 0 (as are the
    maps of heads a layer does not have, when stacked Transformer layers differ in heads). The model's
    train/eval mode, its layers' ``keep_attention`` and ``attention`` are restored; ``ids`` is unchanged.
    """
    layers = attention_layers(model)
    if not layers:
        raise SpecError(
            "This model has no attention: it has no Transformer layer. Train a model with one "
            "(for example the 'transformer' preset) to see attention maps."
        )
    if ids.dim() != 1:
        raise ValueError(f"ids must be one sequence (L,), not {tuple(ids.shape)}")
    was_training = model.training
    saved = [(m, m.keep_attention, getattr(m, "attention", None)) for _, m in layers]
    device = next(model.parameters()).device
    model.eval()
    try:
        for _, m in layers:
            m.keep_attention, m.attention = True, None
        model(ids.unsqueeze(0).to(device))
        maps = [m.attention for _, m in layers]
        if any(a is None for a in maps):
            raise SpecError("A Transformer layer of this model did not run, so it has no attention to show.")
        heads = max(a.shape[1] for a in maps)
        # layers stacked from separate spec layers may differ in heads: the missing heads are all-zero maps
        out = torch.stack([nn.functional.pad(a[0], (0, 0, 0, 0, 0, heads - a.shape[1])) for a in maps])
        out = out.float().cpu()  # (layers, heads, T, T)
    finally:
        for m, keep, att in saved:
            m.keep_attention, m.attention = keep, att
        model.train(was_training)
    return ids.detach().cpu() != 0, out


def rollout(maps: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema 2020): (layers, heads, T, T) -> (T, T).

    Per layer: the mean over heads, plus the identity for the residual connection, rows renormalised
    to sum to 1; then the product through the layers, A_L ... A_2 A_1. Row i says how much of the
    last layer's token i comes from each input token. With ``keep`` (T,) bool, pads are left out
    (their rows and columns are 0).
    """
    maps = maps.detach().float().cpu()
    t = maps.shape[-1]
    keep = torch.ones(t, dtype=torch.bool) if keep is None else keep.detach().cpu().bool()
    eye = torch.diag(keep.float())
    out = eye.clone()
    for layer in maps:
        a = layer.mean(0) + eye  # (T, T)
        a = a * keep[:, None] * keep[None, :]
        a = a / a.sum(-1, keepdim=True).clamp(min=1e-12)
        out = a @ out
    return out


def attention_for_text(model, vocab, max_len: int, text: str) -> dict:
    """Tokens, prediction and every layer's and head's attention (pads dropped) for one typed text."""
    if not text.strip():
        raise DataError("The text is empty. Type a sentence, for example --text \"a gripping, funny film\".")
    sentence = encode_sentence(vocab, text, max_len)
    if sentence.empty:
        raise DataError(
            "The text has no characters the model can read (only invisible or control characters). Type a sentence."
        )
    kept, ids = sentence.tokens, sentence.ids
    keep, maps = attention_maps(model, ids)
    maps = maps[:, :, keep][:, :, :, keep]  # (layers, heads, T, T), real tokens only
    with torch.no_grad():
        probs = torch.softmax(model(ids.unsqueeze(0).to(next(model.parameters()).device)).float(), 1)[0].cpu()
    pred = int(probs.argmax())
    unk = vocab.UNK
    return {
        "tokens": kept,
        "ids": ids[keep].tolist(),
        "unknown": [i == unk for i in ids[keep].tolist()],
        "total_tokens": sentence.total,
        "truncated": sentence.truncated,
        "max_len": max_len,
        "layers": int(maps.shape[0]),
        "heads": int(maps.shape[1]),
        "attention": [[[[round(v, 6) for v in row] for row in head] for head in layer] for layer in maps.tolist()],
        "prediction_index": pred,
        "probability": float(probs[pred]),
        "probabilities": [float(p) for p in probs],
    }
