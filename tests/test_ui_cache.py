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


# ---------------------------------------------------------------------------------------------------------
# run_cache: what is computed from a lesson's snapshot run is shared by every session; any other run's is not


class _Run:
    def __init__(self, run_id, folder):
        self.id = run_id
        self.weights_path = folder / f"{run_id}.pt"


@pytest.fixture
def sessions(monkeypatch, tmp_path):
    """Two sessions' caches (session_cache reads st.session_state: here a dict per session), the lesson index."""
    from dlviz.lessons import snapshots
    from dlviz.ui import cache, state

    per_session = {"s1": {}, "s2": {}}
    current = {"sid": "s1"}

    def fake_session_cache(slot, size):
        return per_session[current["sid"]].setdefault(slot, Bounded(size))

    lesson_runs = {"lesson-run"}
    monkeypatch.setattr(cache, "session_cache", fake_session_cache)
    monkeypatch.setattr(cache, "_SHARED", {})
    monkeypatch.setattr(state, "get_store", lambda: None)
    monkeypatch.setattr(snapshots, "run_ids", lambda store: set(lesson_runs))
    return current, lesson_runs


def _scores_of(run, made):
    from dlviz.ui.cache import run_cache

    cache, stamp = run_cache("_scores", 4, run)

    def make():
        made.append(run.id)
        return f"scores of {run.id} from {run.weights_path.read_bytes().decode()}"

    return cache.get_or_make((stamp, "final"), make)


def test_a_lesson_run_is_computed_once_for_every_session(sessions, tmp_path):
    current, _ = sessions
    run = _Run("lesson-run", tmp_path)
    run.weights_path.write_bytes(b"w1")
    made = []
    current["sid"] = "s1"
    assert _scores_of(run, made) == "scores of lesson-run from w1"
    current["sid"] = "s2"  # a second student opens the same lesson
    assert _scores_of(run, made) == "scores of lesson-run from w1"
    assert made == ["lesson-run"]


def test_a_users_own_run_stays_in_their_session(sessions, tmp_path):
    current, _ = sessions
    run = _Run("my-run", tmp_path)
    run.weights_path.write_bytes(b"mine")
    made = []
    current["sid"] = "s1"
    _scores_of(run, made)
    _scores_of(run, made)
    current["sid"] = "s2"
    _scores_of(run, made)
    assert made == ["my-run", "my-run"]  # once per session, never shared


def _retrain(run, weights: bytes) -> None:
    """New weights in the run's file, a second newer than the old ones (the stamp run_cache and run_dict key on)."""
    import os

    run.weights_path.write_bytes(weights)
    info = run.weights_path.stat()
    os.utime(run.weights_path, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))


def test_changed_weights_are_computed_afresh_nothing_stale(sessions, tmp_path):
    current, lesson_runs = sessions
    run = _Run("lesson-run", tmp_path)
    run.weights_path.write_bytes(b"w1")
    made = []
    assert _scores_of(run, made) == "scores of lesson-run from w1"
    _retrain(run, b"w2-retrained")
    assert _scores_of(run, made) == "scores of lesson-run from w2-retrained"
    lesson_runs.clear()  # no longer a lesson's run (its snapshot trained anew): this session's own cache
    assert _scores_of(run, made) == "scores of lesson-run from w2-retrained"
    assert made == ["lesson-run"] * 3


# ---------------------------------------------------------------------------------------------------------
# run_dict: the Explain page's maps and files of a lesson's run, one dict for every session


@pytest.fixture
def dict_sessions(sessions, monkeypatch):
    from dlviz.explain import warm
    from dlviz.ui import cache

    monkeypatch.setattr(warm, "ready", lambda model, x: None)  # explain_many's warm-up: no model here
    current, lesson_runs = sessions
    per_session: dict = {"s1": {}, "s2": {}}
    monkeypatch.setattr(cache, "_session_dict", lambda slot: per_session[current["sid"]].setdefault(slot, {}))
    monkeypatch.setattr(cache, "_SHARED_DICTS", Bounded(64))
    return current, lesson_runs


def _explained_by_two_sessions(current, run):
    """Two sessions explain the same input of ``run`` with explain_many (the Explain page's engine); the maps each
    got and the calls the methods made."""
    import torch

    from dlviz.explain.batch import explain_many
    from dlviz.ui.cache import run_dict

    calls = []

    def explain(model, x, target, method, contrast=None, **settings):
        calls.append((current["sid"], method))
        return f"{method} map of {run.id}"

    got = {}
    for sid in ("s1", "s2"):
        current["sid"] = sid
        res = explain_many(
            None,
            torch.zeros(1, 4, 4),
            3,
            None,
            {"saliency": {}, "occlusion": {"window": 4}},
            run_dict("_exp_cache", run),
            f"{run.id}|final|x",
            explain=explain,
            limit=8,
        )
        got[sid] = res.maps
    return got, calls


def test_a_lesson_runs_explanations_are_computed_once_for_the_class(dict_sessions, tmp_path):
    current, _ = dict_sessions
    run = _Run("lesson-run", tmp_path)
    run.weights_path.write_bytes(b"w1")
    got, calls = _explained_by_two_sessions(current, run)
    assert (
        got["s1"] == got["s2"] == {"saliency": "saliency map of lesson-run", "occlusion": "occlusion map of lesson-run"}
    )
    assert calls == [("s1", "saliency"), ("s1", "occlusion")]  # the second student waits for nothing


def test_a_users_own_explanations_stay_theirs(dict_sessions, tmp_path):
    current, _ = dict_sessions
    run = _Run("my-run", tmp_path)
    run.weights_path.write_bytes(b"mine")
    _, calls = _explained_by_two_sessions(current, run)
    assert calls == [("s1", "saliency"), ("s1", "occlusion"), ("s2", "saliency"), ("s2", "occlusion")]


def test_new_weights_of_a_lesson_run_get_a_new_dict_and_none_means_the_session(dict_sessions, tmp_path):
    from dlviz.ui.cache import SharedDict, run_dict

    current, _ = dict_sessions
    run = _Run("lesson-run", tmp_path)
    run.weights_path.write_bytes(b"w1")
    first = run_dict("_exp_cache", run)
    assert isinstance(first, SharedDict) and run_dict("_exp_cache", run) is first
    first["k"] = "old map"
    _retrain(run, b"w2-retrained")
    assert "k" not in run_dict("_exp_cache", run)  # retrained weights: nothing stale
    mine = run_dict("_exp_cache", None)
    assert isinstance(mine, dict) and mine is run_dict("_exp_cache", None)


def test_a_shared_dict_survives_sessions_inserting_and_evicting_at_once():
    from dlviz.ui.cache import SharedDict

    d = SharedDict()
    errors = []

    def work(base: int) -> None:
        try:
            for i in range(2000):
                d[(base, i)] = i
                d.get((base, i - 1))
                while len(d) > 8:
                    d.pop(next(iter(d)), None)
        except Exception as e:  # noqa: BLE001 - the test reports any
            errors.append(e)

    threads = [threading.Thread(target=work, args=(b,)) for b in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and len(d) <= 8


def test_a_class_asking_together_makes_it_once_and_everyone_gets_it():
    import time

    from dlviz.ui.cache import SharedDict

    d = SharedDict()
    made, got = [], []
    start = threading.Barrier(12)

    def make():
        made.append(1)
        time.sleep(0.2)  # a slow map: the others arrive while it is being made
        return "map"

    def student():
        start.wait()
        got.append(d.get_or_make("k", make))

    threads = [threading.Thread(target=student) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert made == [1] and got == ["map"] * 12


def test_when_the_maker_fails_a_waiting_session_makes_it():
    import time

    from dlviz.ui.cache import SharedDict

    d = SharedDict()
    calls, results = [], {}
    first_in = threading.Event()

    def failing():
        calls.append("first")
        first_in.set()
        time.sleep(0.2)
        raise RuntimeError("the first session was stopped")

    def second():
        first_in.wait()
        results["second"] = d.get_or_make("k", lambda: calls.append("second") or "map")

    def first():
        try:
            d.get_or_make("k", failing)
        except RuntimeError:
            results["first"] = "raised"

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == {"first": "raised", "second": "map"} and calls == ["first", "second"]
    assert d.get_or_make("k", lambda: "never made") == "map"
