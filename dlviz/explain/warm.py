"""Warm the explanation path up before a user asks, so the first explanation is not a cold start.

The first explanation in a fresh process paid about a second more than the next ones (Saliency: 1.2 s on the
Explain page against a warm median of a few ms): Captum's lazy imports, the autograd engine's first backward
pass, oneDNN building its convolution kernels, the first deep copy. ``warm_up()`` does all of that once per
process in a daemon thread, started when the app starts (dlviz.ui.nav.run_app), with a small network of its
own on an MNIST-shaped input; ``warm_up(model, shape)`` does it for one model (the Explain page calls it when a
run is opened, before its first explanation). Nothing here reads or changes a random generator: the warm-up
network is built without initialisation and filled with constants, so a training thread's random stream is
never touched. No streamlit here.
"""

from __future__ import annotations

import threading

import torch
from torch import nn

_LOCK = threading.Lock()
_DONE: dict = {}  # key -> the thread that warmed it (finished or running)
WARM_METHODS = ("saliency", "integrated_gradients", "grad_cam", "occlusion")  # the Explain page's defaults


def _tiny() -> nn.Module:
    """A small conv net like the course's, built without touching the random generator (constant weights)."""
    from torch.nn.utils import skip_init

    layers = [
        skip_init(nn.Conv2d, 1, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        skip_init(nn.Linear, 4 * 13 * 13, 10),
    ]
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.fill_(0.01 * (i + 1))
    return model.eval()


def _run(model: nn.Module, shape: tuple, methods: tuple) -> None:
    import captum.attr  # noqa: F401  (the lazy imports: about a second once per process)

    # PyTorch's Python kernels for meta tensors (the model-cost estimate that every build runs first,
    # dlviz.models.builder.estimate) and torch.optim import torch._dynamo on first use: 1.5-2.6 s once
    # per process, which the first Build page view paid
    import torch._dynamo  # noqa: F401

    from dlviz.explain import METHODS, attribute

    x = torch.full(tuple(shape), 0.5)
    for m in methods:
        if m in METHODS:
            try:
                attribute(model, x, 0, m)
            except Exception:  # noqa: BLE001  (a warm-up never fails anything: e.g. Grad-CAM without conv)
                pass


def warm_up(
    model: nn.Module | None = None, shape: tuple = (1, 28, 28), methods: tuple = WARM_METHODS, key=None
) -> threading.Thread:
    """Start (once per ``key``) a daemon thread that runs ``methods`` on ``model`` (default: a small conv net of
    its own) for a constant input of ``shape``. Returns the thread (already running or finished)."""
    key = key if key is not None else ("process",) if model is None else (id(model), tuple(shape))
    with _LOCK:
        if key in _DONE:
            return _DONE[key]
        target = _tiny() if model is None else model
        th = threading.Thread(
            target=_run, args=(target, tuple(shape), tuple(methods)), daemon=True, name="dlviz-explain-warm-up"
        )
        _DONE[key] = th
        th.start()
        return th


def warmed(key=("process",)) -> bool:
    """Whether the warm-up for ``key`` has finished."""
    th = _DONE.get(key)
    return th is not None and not th.is_alive()
