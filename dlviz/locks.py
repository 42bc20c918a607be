"""One lock per key, made on first use: the project's one per-key lock helper.

``locks = KeyedLocks()`` then ``with locks(key): ...``: two threads asking for the same key (the same
dataset's missing files, the same run index file) wait for each other; different keys never do.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable


class KeyedLocks:
    """A :class:`threading.Lock` per key, kept for the life of the process (keys are few: datasets, homes)."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: Hashable) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
