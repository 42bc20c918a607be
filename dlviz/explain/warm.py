"""Warm the explanation path up before a user asks, so the first explanation is not a cold start.

The first explanation in a fresh process paid about a second more than the next ones (Saliency: 1.2 s on the
Explain page against a warm median of a few ms): Captum's lazy imports, the autograd engine's first backward
pass, oneDNN building its convolution kernels, the first deep copy. ``warm_up()`` does all of that once per
process in a daemon thread, started when the app starts (dlviz.ui.nav.run_app), with a small network of its
own on an MNIST-shaped input; ``warm_up(model, shape)`` does it for one model.

A user who opens the Explain page directly asks for the first explanation while that thread is still running:
the two then share the CPU and Python's import lock, and the first Saliency took about 760 ms instead of the
warm figure (issue 12). So the page never races a warm-up: :func:`ready` (called by
:func:`dlviz.explain.batch.explain_many` before it computes anything) joins every warm-up still in flight,
then runs one cheap call on the page's own model and input shape (its first deep copy, its kernels), and only
then is the user's first explanation computed and timed. Nothing here reads or changes a random generator:
the warm-up network is built without initialisation and filled with constants, so a training thread's random
stream is never touched. No streamlit here.
"""

from __future__ import annotations

import threading
import time

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


def _example(shape: tuple, example) -> torch.Tensor:
    """The warm-up input: ``example`` when given (token ids for a text model), else a constant image of ``shape``."""
    return example if example is not None else torch.full(tuple(shape), 0.5)


def _run(model: nn.Module, shape: tuple, methods: tuple, example=None) -> None:
    import captum.attr  # noqa: F401  (the lazy imports: about a second once per process)

    # Not torch._dynamo (0.8-2.6 s of CPU): this warm-up imported it for the model-cost estimate, which no
    # longer runs on the meta device's kernels, and nothing the server's pages draw needs it; it took the CPU
    # from a just-started server's first pages (issue 18). Training imports it in its own process.
    from dlviz.explain import explain, inputs_of, methods_for

    x = _example(shape, example)
    known = methods_for(inputs_of(x))  # an image's methods, or a sentence's
    for m in methods:
        if m in known:
            try:
                explain(model, x, 0, m)
            except Exception:  # noqa: BLE001  (a warm-up never fails anything: e.g. Grad-CAM without conv)
                pass


def warm_up(
    model: nn.Module | None = None,
    shape: tuple = (1, 28, 28),
    methods: tuple = WARM_METHODS,
    key=None,
    example: torch.Tensor | None = None,
) -> threading.Thread:
    """Start (once per ``key``) a daemon thread that runs ``methods`` on ``model`` (default: a small conv net of
    its own) for a constant input of ``shape`` (or for ``example``, e.g. a sentence's token ids). Returns the
    thread (already running or finished)."""
    if example is not None:
        shape = tuple(example.shape)
    key = key if key is not None else ("process",) if model is None else (id(model), tuple(shape))
    with _LOCK:
        if key in _DONE:
            return _DONE[key]
        target = _tiny() if model is None else model
        args = (target, tuple(shape), tuple(methods)) + (() if example is None else (example,))
        th = threading.Thread(target=_run, args=args, daemon=True, name="dlviz-explain-warm-up")
        _DONE[key] = th
        th.start()
        return th


def warmed(key=("process",)) -> bool:
    """Whether the warm-up for ``key`` has finished."""
    th = _DONE.get(key)
    return th is not None and not th.is_alive()


def in_flight() -> list[threading.Thread]:
    """The warm-up threads still running (never the calling thread)."""
    me = threading.current_thread()
    with _LOCK:
        return [th for th in _DONE.values() if th.is_alive() and th is not me]


def wait(timeout: float = 120.0) -> bool:
    """Join every warm-up still in flight (at most ``timeout`` seconds in all); True when none is left running."""
    deadline = time.monotonic() + timeout
    for th in in_flight():
        th.join(max(0.0, deadline - time.monotonic()))
    return not in_flight()


def ready(model: nn.Module, example: torch.Tensor, method: str = "saliency", timeout: float = 120.0) -> None:
    """Make the next explanation of ``model`` for an input like ``example`` a warm one: join the warm-ups in
    flight (never race them), then, once per model and input shape, run ``method`` (the cheapest: one forward
    and one backward pass) on a constant input of that shape and wait for it. A later call returns at once."""
    if not wait(timeout):
        return  # a warm-up that hangs must not hold the page: the explanation runs cold, as before
    floating = torch.is_floating_point(example)
    const = torch.full(tuple(example.shape), 0.5) if floating else torch.ones_like(example)  # UNK = 1: any vocabulary
    key = ("model", id(model), tuple(example.shape), str(example.dtype))
    warm_up(model, methods=(method,), key=key, example=const).join(timeout)
