"""One context manager to capture what each layer outputs; its hooks are removed whatever happens."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import nn


@dataclass
class Capture:
    """Outputs of the captured layers, in the order they ran: name -> detached CPU tensor."""

    outputs: dict[str, torch.Tensor] = field(default_factory=dict)


@contextmanager
def capture(model: nn.Module, names: list[str] | None = None) -> Iterator[Capture]:
    """Record the output of each top-level layer of ``model`` (or only ``names``) during forward passes.

    dlviz models are ``nn.Sequential`` of named layers (``conv2d_1``, ``relu_1``, ...), so the
    top-level children are exactly the rows of the builder's table.
    """
    cap = Capture()
    handles = []
    try:
        for name, module in model.named_children():
            if names is not None and name not in names:
                continue

            def hook(_m, _inp, out, name=name):
                if isinstance(out, torch.Tensor):
                    cap.outputs[name] = out.detach().float().cpu()

            handles.append(module.register_forward_hook(hook))
        yield cap
    finally:
        for h in handles:
            h.remove()
