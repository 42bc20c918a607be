"""Gradient flow while training: per-layer gradient norms every step, histograms now and then.

``GradRecorder`` is handed to ``fit()``; after each backward pass it writes one row of per-layer
gradient norms into a buffer on the training device (no host copy, no sync), and at a few chosen
steps it takes histograms of every layer's weights and gradients. ``record()`` copies it all to
the host once, as plain JSON-able lists. ``diagnose()`` reads a record and says, in words, when
gradients vanish or explode and in which layers (Glorot & Bengio 2010; He et al. 2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from dlviz.i18n import N_

MAX_POINTS = 800  # recorded steps per run at most (the chart draws no more): a longer run records every
#                           k-th step. 4000 cost the MLP's live-UI run 3% of its speed for points never drawn
HIST_BINS = 41
HIST_EARLY = (1, 10, 50)  # learning changes fastest at the start
HIST_COUNT = 10  # ... then this many evenly over the run (each costs ~1 ms for the MLP on a CPU)
VANISH_RATIO = 1e-2  # a layer whose typical gradient is 100x smaller than the largest layer's
EXPLODE_GROWTH = 100.0  # a layer whose gradient grew 100x from the first to the last tenth
EXPLODE_RMS = 1e2  # a per-weight gradient this large is exploding whatever the trend


def param_layers(model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """Top-level named layers that have trainable parameters, in order (input side first)."""
    out = []
    for name, child in model.named_children():
        params = [p for p in child.parameters() if p.requires_grad]
        if params:
            out.append((name, params))
    return out


class GradRecorder:
    """Records per-layer gradient norms (every ``every``-th step) and histograms at chosen steps."""

    def __init__(self, model: nn.Module, total_steps: int, steps_per_epoch: int = 0):
        self.layers = param_layers(model)
        self.names = [n for n, _ in self.layers]
        self.params = [p for _, ps in self.layers for p in ps]
        self.sizes = [sum(p.numel() for p in ps) for _, ps in self.layers]
        device = self.params[0].device if self.params else torch.device("cpu")
        self.owner = torch.tensor([i for i, (_, ps) in enumerate(self.layers) for _ in ps])  # param -> layer
        self.every = max(1, math.ceil(total_steps / MAX_POINTS))
        self.steps_per_epoch = steps_per_epoch
        cap = total_steps // self.every + 1
        self.pnorms = torch.zeros(cap, len(self.params), device=device)  # (S, P) on the training device
        self.steps: list[int] = []
        even = {round(total_steps * (k + 1) / HIST_COUNT) for k in range(HIST_COUNT)}
        self.hist_steps = {s for s in (*HIST_EARLY, *even) if 1 <= s <= total_steps}
        self.hists: list[dict] = []
        self._zeros: list[torch.Tensor] | None = None  # made only if some layer ever gets no gradient

    def after_backward(self, step: int) -> None:
        """Call after ``loss.backward()`` for step ``step`` (1-based), before the optimizer clears grads."""
        if not self.layers:
            return
        if step % self.every == 0 and len(self.steps) < len(self.pnorms):
            grads = [p.grad for p in self.params]
            if any(g is None for g in grads):  # a layer the loss did not reach this step
                if self._zeros is None:
                    self._zeros = [torch.zeros_like(p) for p in self.params]
                grads = [g if g is not None else z for g, z in zip(grads, self._zeros)]
            # two dispatches per step: one norm per parameter tensor, written straight into the buffer;
            # layers are summed up on the host, once, in record()
            torch.stack(torch._foreach_norm(grads), out=self.pnorms[len(self.steps)])  # (P,)
            self.steps.append(step)
        if step in self.hist_steps:
            self._histograms(step)

    @torch.no_grad()
    def _histograms(self, step: int) -> None:
        for name, ps in self.layers:
            w = torch.cat([p.detach().flatten() for p in ps]).float()
            g = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in ps]).float()
            for kind, v in (("weight", w), ("grad", g)):
                hi = float(v.abs().max())
                if not math.isfinite(hi):
                    continue
                hi = hi or 1e-12
                counts = torch.histc(v, bins=HIST_BINS, min=-hi, max=hi)
                self.hists.append(
                    {
                        "step": step,
                        "layer": name,
                        "kind": kind,
                        "lo": -hi,
                        "hi": hi,
                        "counts": [int(c) for c in counts.tolist()],
                    }
                )

    def _layer_norms(self, rows: torch.Tensor) -> list:
        """(S, P) per-parameter norms -> (S, L) per-layer norms, as lists (one host copy)."""
        sq = rows.detach().double().cpu().square()
        out = torch.zeros(len(sq), len(self.layers), dtype=torch.float64).index_add_(1, self.owner, sq)
        return out.sqrt().tolist()

    def live(self, max_points: int = 300) -> dict:
        """A thinned copy for the live chart (at most ``max_points`` steps): one small host copy."""
        n = len(self.steps)
        stride = max(1, math.ceil(n / max_points))
        spe = max(self.steps_per_epoch, 1)
        steps = self.steps[::stride]
        return {
            "layers": self.names,
            "sizes": self.sizes,
            "every": self.every * stride,
            "steps": steps,
            "epochs": [round(s / spe, 4) for s in steps],
            "norms": self._layer_norms(self.pnorms[:n:stride]),
        }

    def record(self) -> dict:
        """Everything recorded so far as JSON-able lists (one host copy)."""
        n = len(self.steps)
        spe = max(self.steps_per_epoch, 1)
        return {
            "layers": self.names,
            "sizes": self.sizes,
            "every": self.every,
            "steps": list(self.steps),
            "steps_per_epoch": spe,
            "epochs": [round(s / spe, 4) for s in self.steps],
            "norms": self._layer_norms(self.pnorms[:n]),
            "hist": list(self.hists),
        }


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
