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


# what pages computed from a lesson's snapshot runs, for every session of this process: slot -> Bounded
_SHARED: dict[str, Bounded] = {}
_SHARED_LOCK = threading.Lock()


def _weights_stamp(run) -> tuple:
    try:
        info = run.weights_path.stat()
    except (OSError, AttributeError):
        return ()
    return (info.st_size, info.st_mtime_ns)


def _lesson_run(run) -> bool:
    """Whether ``run`` is one of the lessons' snapshot runs (class material nobody changes)."""
    from dlviz.lessons import snapshots
    from dlviz.ui.state import get_store

    try:
        return run.id in snapshots.run_ids(get_store())
    except Exception:  # noqa: BLE001 - an unreadable lesson index: kept per session, as for any run
        return False


def run_cache(slot: str, size: int, run) -> tuple[Bounded, tuple]:
    """Where a page keeps what it computed from ``run`` (a RunRecord), and a stamp to put in the key.

    A lesson's snapshot run (dlviz.lessons.snapshots: class material that every student opens and nobody changes)
    is computed once for the whole process: the second student who opens the lesson gets the first one's unit
    scores or latent codes at once (issue 18, instant starts). Any other run stays in this session's cache (a
    user's run is theirs). The stamp is the run's weights file (size, modification time), so a run whose weights
    change is computed afresh and nothing stale is shown."""
    stamp = run_stamp(run)
    if not _lesson_run(run):
        return session_cache(slot, size), stamp
    return shared_cache(slot, size), stamp


def run_stamp(run) -> tuple:
    """What names ``run`` and its weights in a cache key: its id and its weights file's size and time."""
    return (run.id, *_weights_stamp(run))


def shared_cache(slot: str, size: int) -> Bounded:
    """The process's cache named ``slot`` for the lessons' runs (``run_cache``; a warm-up fills it ahead)."""
    with _SHARED_LOCK:
        cache = _SHARED.get(slot)
        if cache is None or cache.size != size:
            cache = _SHARED[slot] = Bounded(size)
    return cache


class SharedDict:
    """A dict that several sessions read and write at once: every operation under one lock, and iterating goes
    over a copy of the keys (so evicting the oldest entry never races another session's insert)."""

    def __init__(self) -> None:
        self._items: dict = {}
        self._lock = threading.RLock()
        self._making: dict = {}  # key -> threading.Event, set when the session making it is done

    def get_or_make(self, key: Hashable, make: Callable[[], Any], wait_s: float = 300.0) -> Any:
        """The value under ``key``, else ``make()``'s, kept; made by one session at a time: a class opening the same
        lesson step together computes it once, the others wait for it (at most ``wait_s``, then make their own).
        If the session making it fails or is stopped, the next one waiting makes it."""
        while True:
            with self._lock:
                if key in self._items:
                    return self._items[key]
                done = self._making.get(key)
                mine = done is None
                if mine:
                    done = self._making[key] = threading.Event()
            if mine:
                try:
                    value = make()
                    with self._lock:
                        self._items[key] = value
                    return value
                finally:
                    with self._lock:
                        self._making.pop(key, None)
                    done.set()
            if not done.wait(wait_s):
                return make()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            return self._items[key]

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._items.get(key, default)

    def __setitem__(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator:
        with self._lock:
            return iter(list(self._items))

    def pop(self, key: Hashable, *default: Any) -> Any:
        with self._lock:
            return self._items.pop(key, *default)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _session_dict(slot: str) -> dict:
    return st.session_state.setdefault(slot, {})


_SHARED_DICTS = Bounded(64)  # (slot, run stamp) -> SharedDict


def run_dict(slot: str, run) -> dict | SharedDict:
    """A dict where a page keeps results computed from ``run`` (explanations, the files a download offers).

    For a lesson's snapshot run, one :class:`SharedDict` per slot and weights stamp for every session of the
    process (the whole class opening the Explain step of a lesson computes its maps once); for any other run,
    ``ss[slot]``, this session's own dict (a user's run is theirs). Its keys must name the run, as ``run_cache``'s
    do."""
    if run is None or not _lesson_run(run):
        return _session_dict(slot)
    return shared_run_dict(slot, run)


def shared_run_dict(slot: str, run) -> SharedDict:
    """``run_dict`` of a lesson's snapshot run: one for every session of the process (no session needed: a
    warm-up thread fills it ahead of the first student)."""
    return _SHARED_DICTS.get_or_make((slot, *run_stamp(run)), SharedDict)
