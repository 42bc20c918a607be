"""Inside recurrent layers: hidden states (and LSTM/GRU gates) at every time step, for one input.

The gates are not outputs of ``nn.LSTM``, so they are recomputed from the layer's own weights by
running the cell equations step by step on the input the layer received (captured with a hook
that is always removed). PyTorch's equations (https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html):

  LSTM  i = sigma(W_ii x + b_ii + W_hi h + b_hi)    (input gate)
        f = sigma(W_if x + b_if + W_hf h + b_hf)    (forget gate)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)     (cell candidate)
        o = sigma(W_io x + b_io + W_ho h + b_ho)    (output gate)
        c' = f * c + i * g,   h' = o * tanh(c')
  GRU   r = sigma(W_ir x + b_ir + W_hr h + b_hr),  z = sigma(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
  RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)

In a text model the layer skips pads (zero vectors) and starts at the first real token; so does
this. No streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dlviz.models.layers import Recurrent

GATES = {"lstm": ("input", "forget", "cell", "output"), "gru": ("reset", "update", "new"), "rnn": ()}


@dataclass(frozen=True)
class RecurrentTrace:
    """One direction of one stacked layer of a recurrent model layer, over the T input steps."""

    name: str  # the model layer, e.g. "lstm_1"
    kind: str  # "rnn" | "lstm" | "gru"
    layer: int  # stacked layer inside it (0 = the one reading the input)
    direction: str  # "forward" | "backward"
    keep: torch.Tensor  # (T,) bool: the steps the layer read (real tokens); others are 0 below
    hidden: torch.Tensor  # (T, H) the hidden state after each step
    cell: torch.Tensor | None = None  # (T, H) LSTM memory c_t
    gates: dict[str, torch.Tensor] = field(default_factory=dict)  # gate name -> (T, H), see GATES


def recurrent_layers(model: nn.Module) -> list[tuple[str, Recurrent]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, Recurrent)]


def _run(kind: str, rnn: nn.Module, suffix: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
    """Cell equations over x (n, F) -> hidden (n, H), cell (n, H) | None, gates name -> (n, H)."""
    w_ih, w_hh = getattr(rnn, "weight_ih" + suffix), getattr(rnn, "weight_hh" + suffix)
    b_ih = getattr(rnn, "bias_ih" + suffix, None)
    b_hh = getattr(rnn, "bias_hh" + suffix, None)
    hsize = w_hh.shape[1]
    h = x.new_zeros(hsize)
    c = x.new_zeros(hsize)
    xw = x @ w_ih.T + (b_ih if b_ih is not None else 0)  # (n, G*H): the input part of every step at once
    hs, cs, gs = [], [], {g: [] for g in GATES[kind]}
    for t in range(x.shape[0]):
        hw = h @ w_hh.T + (b_hh if b_hh is not None else 0)
        if kind == "lstm":
            i, f, g, o = (xw[t] + hw).chunk(4)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            for name, v in zip(GATES["lstm"], (i, f, g, o)):
                gs[name].append(v)
            cs.append(c)
        elif kind == "gru":
            xr, xz, xn = xw[t].chunk(3)
            hr, hz, hn = hw.chunk(3)
            r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            n = (xn + r * hn).tanh()
            h = (1 - z) * n + z * h
            for name, v in zip(GATES["gru"], (r, z, n)):
                gs[name].append(v)
        else:
            pre = xw[t] + hw
            h = pre.tanh() if getattr(rnn, "nonlinearity", "tanh") == "tanh" else pre.relu()
        hs.append(h)
    stack = (lambda v: torch.stack(v)) if x.shape[0] else (lambda v: x.new_zeros(0, hsize))
    return stack(hs), (stack(cs) if kind == "lstm" else None), {k: stack(v) for k, v in gs.items()}


@torch.no_grad()
def hidden_states(model: nn.Module, x: torch.Tensor) -> list[RecurrentTrace]:
    """Every recurrent layer's hidden states (and gates) over time for one input ``x`` (no batch dim).

    ``x`` is what the model reads: ids (L,) for a text model, an image (1, 28, 28) for the Rows LSTM.
    Returns one trace per model layer, stacked layer and direction, in forward order (empty if the
    model has no recurrent layer). Values are detached CPU float tensors with T = the layer's input
    length; steps the layer skipped (pads) are 0. The model's mode is restored; ``x`` is unchanged.
    """
    layers = recurrent_layers(model)
    if not layers:
        return []
    inputs: dict[str, torch.Tensor] = {}
    handles = []
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        for name, m in layers:

            def pre_hook(_m, args, name=name):
                inputs[name] = args[0].detach()

            handles.append(m.register_forward_pre_hook(pre_hook))
        model(x.unsqueeze(0).to(device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    traces: list[RecurrentTrace] = []
    for name, m in layers:
        seq = inputs[name][0].float()  # (T, F)
        keep = ~(seq == 0).all(-1) if m.mask_pads else torch.ones(seq.shape[0], dtype=torch.bool, device=seq.device)
        rnn = m.rnn
        cur = seq[keep]  # (n, F) the steps the layer reads, in order
        dirs = ("forward", "backward") if rnn.bidirectional else ("forward",)
        for k in range(rnn.num_layers):
            outs = []
            for d, direction in enumerate(dirs):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                inp = cur.flip(0) if d else cur
                h, c, gates = _run(m.kind, rnn, suffix, inp.float())
                if d:  # back into time order
                    h, c = h.flip(0), (c.flip(0) if c is not None else None)
                    gates = {g: v.flip(0) for g, v in gates.items()}
                outs.append(h)

                def full(v):  # noqa: B023 (n, H) -> (T, H) with zeros at skipped steps; used in this iteration
                    out = v.new_zeros(seq.shape[0], v.shape[1])  # noqa: B023
                    out[keep] = v  # noqa: B023
                    return out.cpu()

                traces.append(
                    RecurrentTrace(
                        name,
                        m.kind,
                        k,
                        direction,
                        keep.cpu(),
                        full(h),
                        full(c) if c is not None else None,
                        {g: full(v) for g, v in gates.items()},
                    )
                )
            cur = torch.cat(outs, dim=1)  # the next stacked layer reads both directions
    return traces
