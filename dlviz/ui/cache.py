"""The one cache the UI keeps results in: bounded, keyed, first in first out, safe to share between threads.

A page keeps what it computed (a model at a replay point, attention maps, t-SNE coordinates, ...) in this
session's state, never in ``st.cache_resource`` (every user shares that, and a user's model is theirs):
``session_cache(slot, size)`` is this session's :class:`Bounded` cache named ``slot``. A
:class:`Bounded` made at module level is a cache for the whole process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

import streamlit as st


class Bounded(Mapping):
    """At most ``size`` entries (at least one); adding one more forgets the oldest. Reads as a read-only mapping."""

    def __init__(self, size: int) -> None:
        self.size = max(1, int(size))
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.RLock()

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            return self._items[key]

    def __iter__(self) -> Iterator:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep ``value`` under ``key`` (forgetting the oldest entries beyond ``size``); returns ``value``."""
        with self._lock:
            self._items.pop(key, None)
            while len(self._items) >= self.size:
                self._items.popitem(last=False)
            self._items[key] = value
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value kept under ``key``, else ``make()``'s, kept. An exception from ``make`` keeps nothing."""
        with self._lock:
            if key in self._items:
                return self._items[key]
        return self.put(key, make())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def session_cache(slot: str, size: int) -> Bounded:
    """This session's cache named ``slot`` (made on first use; a different ``size`` starts it afresh)."""
    ss = st.session_state
    cache = ss.get(slot)
    if not isinstance(cache, Bounded) or cache.size != size:
        cache = Bounded(size)
        ss[slot] = cache
    return cache
