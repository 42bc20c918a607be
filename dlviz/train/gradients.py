"""Gradient recording while training: per-layer gradient norms every step, histograms now and then.

``GradRecorder`` writes, after each backward pass, one row of per-layer gradient norms into a buffer on the
training device (no host copy, no sync), and at a few chosen steps takes histograms of every layer's weights
and gradients. ``record()`` copies it all to the host once, as plain JSON-able lists; the Gradients page and
``dlviz.inspect.gradients.diagnose`` read that record. ``fit()`` drives it through the ``GradientRecording``
callback (``dlviz.train.callbacks``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

MAX_POINTS = 800  # recorded steps per run at most (the chart draws no more): a longer run records every
#                           k-th step. 4000 cost the MLP's live-UI run 3% of its speed for points never drawn
HIST_BINS = 41
HIST_EARLY = (1, 10, 50)  # learning changes fastest at the start
HIST_COUNT = 10  # ... then this many evenly over the run (each costs ~1 ms for the MLP on a CPU)


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
