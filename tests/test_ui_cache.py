"""dlviz.ui.cache: the one bounded, keyed cache the pages keep their results in."""

from __future__ import annotations

import threading

import pytest

from dlviz.ui.cache import Bounded


def test_keeps_the_newest_entries_first_in_first_out():
    c = Bounded(2)
    c.put("a", 1)
    c.put("b", 2)
    c.put("c", 3)
    assert list(c) == ["b", "c"] and len(c) == 2 and "a" not in c
    assert c["c"] == 3 and dict(c.items()) == {"b": 2, "c": 3}


def test_putting_a_key_again_makes_it_the_newest():
    c = Bounded(2)
    c.put("a", 1)
    c.put("b", 2)
    c.put("a", 10)  # now "b" is the oldest
    c.put("c", 3)
    assert dict(c) == {"a": 10, "c": 3}


def test_get_or_make_makes_once_and_keeps_nothing_on_error():
    c = Bounded(3)
    calls = []

    def make():
        calls.append(1)
        return "v"

    assert c.get_or_make("k", make) == "v" and c.get_or_make("k", make) == "v"
    assert len(calls) == 1

    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        c.get_or_make("bad", boom)
    assert "bad" not in c and c.get("bad") is None


def test_size_one_holds_only_the_last_and_clear_empties():
    c = Bounded(1)
    c.put(("run", "final"), "x")
    c.put(("run", "epoch-1"), "y")
    assert list(c.values()) == ["y"]
    c.clear()
    assert len(c) == 0
    assert Bounded(0).size == 1  # a cache keeps at least the last entry


def test_threads_never_push_it_past_its_size():
    c = Bounded(5)

    def work(base: int) -> None:
        for i in range(500):
            c.put((base, i), i)
            c.get((base, i - 1))

    threads = [threading.Thread(target=work, args=(b,)) for b in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(c) == 5 and len(list(c.items())) == 5
