"""Gradient flow, read: ``diagnose()`` reads a gradient record (``dlviz.train.gradients.GradRecorder``
writes it while training) and says, in words, when gradients vanish or explode and in which layers
(Glorot & Bengio 2010; He et al. 2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dlviz.i18n import N_

VANISH_RATIO = 1e-2  # a layer whose typical gradient is 100x smaller than the largest layer's
EXPLODE_GROWTH = 100.0  # a layer whose gradient grew 100x from the first to the last tenth
EXPLODE_RMS = 1e2  # a per-weight gradient this large is exploding whatever the trend


@dataclass(frozen=True)
class Finding:
    kind: str  # "vanishing" | "exploding" | "healthy"
    template: str  # English, translated when shown
    args: dict


def typical_rms(record: dict, part: slice = slice(None)) -> list[float]:
    """Per layer, the median over ``part`` of the recorded steps of the gradient's RMS per weight.

    Norms grow with the number of weights, so layers are compared by norm / sqrt(size).
    """
    norms = torch.tensor(record["norms"], dtype=torch.float64)[part]  # (S, L)
    if norms.numel() == 0:
        return []
    sizes = torch.tensor(record["sizes"], dtype=torch.float64).clamp(min=1)
    return (norms / sizes.sqrt()).nanmedian(dim=0).values.tolist()


def diagnose(record: dict) -> list[Finding]:
    """Plain-language findings about a run's gradient flow (empty if nothing was recorded)."""
    names, norms = record.get("layers") or [], record.get("norms") or []
    if not names or not norms:
        return []
    findings: list[Finding] = []
    flat = [v for row in norms for v in row]
    bad = [names[j] for j in range(len(names)) if any(not math.isfinite(row[j]) for row in norms)]
    rms = typical_rms(record)
    s = len(norms)
    tenth = max(1, s // 10)
    first, last = typical_rms(record, slice(0, tenth)), typical_rms(record, slice(s - tenth, s))
    grew = [names[j] for j in range(len(names)) if first[j] > 0 and last[j] / first[j] >= EXPLODE_GROWTH and s >= 20]
    huge = [names[j] for j in range(len(names)) if rms[j] >= EXPLODE_RMS]
    exploding = list(dict.fromkeys(bad + grew + huge))
    if exploding:
        findings.append(
            Finding(
                "exploding",
                N_(
                    "Exploding gradients in {layers}: they became huge (or not a number), so each step throws the "
                    "weights far away. Lower the learning rate, add BatchNorm, or clip the gradients."
                ),
                {"layers": ", ".join(exploding)},
            )
        )
    top = max(rms) if flat and max(rms) > 0 else 0.0
    if top > 0:
        weak = [names[j] for j in range(len(names)) if rms[j] < VANISH_RATIO * top]
        if weak:
            strongest = names[rms.index(top)]
            ratio = top / max(min(rms[j] for j in range(len(names)) if names[j] in weak), 1e-30)
            findings.append(
                Finding(
                    "vanishing",
                    N_(
                        "Vanishing gradients in {layers}: their gradients are up to {ratio} times weaker than in "
                        "{strongest}, so these layers barely learn. Each sigmoid or tanh multiplies the gradient by at "
                        "most 0.25 or 1 on the way back; ReLU, BatchNorm or skip connections (ResNet) keep it alive."
                    ),
                    {"layers": ", ".join(weak), "ratio": f"{ratio:,.0f}", "strongest": strongest},
                )
            )
    if not findings:
        findings.append(
            Finding(
                "healthy",
                N_(
                    "Healthy gradient flow: every layer's gradient stays within a factor of 100 of the others, so all "
                    "layers learn."
                ),
                {},
            )
        )
    return findings
