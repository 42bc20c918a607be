"""Several methods' explanations of one decision, cached, as the Explain page asks for them. No streamlit here.

``explain_many`` is what both Explain pages (images and words) call: it looks each method up in the caller's
cache (a dict kept in the session, keyed by everything that changes a map), and computes the missing ones.
Before the first missing one it calls :func:`dlviz.explain.warm.ready`, so the page never races the app's
warm-up and the first explanation a user sees is a warm one (issue 12).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from dlviz.errors import DlvizError
from dlviz.explain import registry, warm


@dataclass
class Explained:
    maps: dict = field(default_factory=dict)  # method -> attribution, in the order chosen
    errors: dict = field(default_factory=dict)  # method -> DlvizError (e.g. Grad-CAM without conv layers)


def explain_many(
    model,
    x: torch.Tensor,
    target: int,
    contrast: int | None,
    chosen: dict[str, dict],
    cache: dict,
    base: str,
    explain: Callable | None = None,
    on_method: Callable[[int, str], None] | None = None,
    limit: int = 48,
) -> Explained:
    """Every chosen method's attribution of ``x`` (``chosen``: method -> settings) by ``explain(model, x, target,
    method, contrast=..., **settings)`` (default: :func:`dlviz.explain.registry.explain`, the verb for ``x``'s
    kind of input), from ``cache`` where it is there (``base`` names the model and the input),
    else computed (``on_method(i, method)`` is called before the i-th is computed) and kept; a method's
    DlvizError is kept too and returned in ``errors``. At most ``limit`` entries stay in the cache (oldest out)."""
    explain = explain or registry.explain
    res = Explained()
    keys = {m: (base, target, contrast, m, repr(sorted(s.items()))) for m, s in chosen.items()}
    if any(k not in cache for k in keys.values()):
        warm.ready(model, x)  # join the warm-up in flight, warm this model's path: then the first call is warm
    for i, (m, settings) in enumerate(chosen.items()):
        key = keys[m]
        got = cache.get(key)  # read once: a cache shared by sessions (a lesson's run) may lose it to another's insert
        if got is None:

            def compute(i=i, m=m, settings=settings):
                if on_method is not None:
                    on_method(i, m)
                try:
                    return explain(model, x, target, m, contrast=contrast, **settings)
                except DlvizError as e:
                    return e

            shared = getattr(cache, "get_or_make", None)  # dlviz.ui.cache.SharedDict: one session computes it
            got = shared(key, compute) if shared is not None else compute()
            cache[key] = got
            while len(cache) > limit:
                cache.pop(next(iter(cache)), None)
        (res.errors if isinstance(got, DlvizError) else res.maps)[m] = got
    return res
