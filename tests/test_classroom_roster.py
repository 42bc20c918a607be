"""The class's people (dlviz.classroom.roster) and the run store's owner column (issue 17)."""

from __future__ import annotations

import io
import json
import sqlite3
import stat

import pytest

from dlviz.classroom import TEACHER_ID
from dlviz.classroom.roster import CODE_ALPHABET, MAX_NAME_LENGTH, Roster, clean_name
from dlviz.runs import RunStore


@pytest.fixture
def roster(home, monkeypatch):
    monkeypatch.delenv("DLVIZ_TEACHER_KEY", raising=False)
    monkeypatch.delenv("DLVIZ_CLASS_CODE", raising=False)
    monkeypatch.setattr(Roster, "fail_delay_s", 0.01)
    return Roster()


def test_the_key_and_the_code_are_made_once_and_survive_a_restart(roster, home):
    key, code = roster.teacher_key(), roster.class_code()
    assert len(key) >= 16 and len(code) == 6 and set(code) <= set(CODE_ALPHABET)
    again = Roster()  # a server restart: new objects, the same files
    assert again.teacher_key() == key and again.class_code() == code
    assert stat.S_IMODE((home / "class" / "teacher_key").stat().st_mode) == 0o600


def test_the_environment_sets_the_key_and_the_code(roster, monkeypatch):
    monkeypatch.setenv("DLVIZ_TEACHER_KEY", "a-long-teacher-key-1234")
    monkeypatch.setenv("DLVIZ_CLASS_CODE", "phy 101")
    assert roster.teacher_key() == "a-long-teacher-key-1234"
    assert roster.class_code() == "PHY101"
    assert roster.sign_in_teacher("a-long-teacher-key-1234").teacher
    assert roster.join("phy-101", "Ana").student


def test_the_key_is_printed_once_per_server(roster):
    out = io.StringIO()
    assert roster.announce(out) and not Roster().announce(out)
    printed = out.getvalue()
    assert printed.count("\n") == 1 and roster.teacher_key() in printed and roster.class_code() in printed


def test_a_wrong_key_or_code_signs_nobody_in(roster):
    key = roster.teacher_key()
    teacher = roster.sign_in_teacher(key)
    assert teacher.id == TEACHER_ID and teacher.teacher
    for wrong in ("", None, key[:-1], key + "x", " ", "teacher"):
        assert roster.sign_in_teacher(wrong) is None
    assert roster.join("ZZZZZZ" if roster.class_code() != "ZZZZZZ" else "YYYYYY", "Ana") is None
    assert roster.join("", "Ana") is None
    assert roster.people() == []


def test_wrong_keys_are_slowed(roster, monkeypatch):
    waits = []
    monkeypatch.setattr("dlviz.classroom.roster.time.sleep", waits.append)
    for _ in range(4):
        roster.sign_in_teacher("nope")
    assert waits == sorted(waits) and waits[-1] > waits[0] > 0


def test_students_join_with_the_code_and_a_name_and_get_their_own_id(roster):
    code = roster.class_code()
    ana = roster.join(code.lower(), "  Ana  ")
    ana2 = roster.join(code, "Ana")  # the same name is another student: a name is not an identity
    assert ana.student and ana.name == "Ana" and ana.id.startswith("s-") and ana.id != ana2.id
    assert [p.id for p in roster.people()] == [ana.id, ana2.id]
    assert Roster().person(ana.id) == ana
    assert roster.person("s-000000000000") is None and roster.person("../x") is None
    assert roster.join(code, "   \u200b ") is None  # nothing left of the name


def test_hostile_names_are_made_plain():
    assert clean_name("<script>alert(1)</script>") == "scriptalert(1)/script"
    assert clean_name("**bold** [link](http://x) `code` $x$") == "bold link(http://x) code x"
    assert clean_name("A\u202eB\u0000C\nD\tE") == "ABC D E"
    assert clean_name("x" * 500) == "x" * MAX_NAME_LENGTH
    assert clean_name("王小明") == "王小明" and clean_name(None) == "" and clean_name(12) == "12"


def test_a_cookie_token_brings_back_the_person_and_the_session_until_signed_out(roster, home):
    ana = roster.join(roster.class_code(), "Ana")
    token = roster.open_session(ana, "0123456789abcdef")
    assert Roster().resume(token) == (ana, "0123456789abcdef")
    kept = (home / "class" / "sessions.json").read_text()
    assert token not in kept and "Ana" not in kept  # only the token's hash, never the name
    for bad in (None, "", "x" * 20, token + "x", 12):
        assert roster.resume(bad) is None
    roster.sign_out(token)
    assert roster.resume(token) is None


def test_presence(roster):
    ana = roster.join(roster.class_code(), "Ana")
    teacher = roster.sign_in_teacher(roster.teacher_key())
    roster.touch(ana, "train", 1234)
    roster.touch(teacher, "dashboard")
    seen = {r["id"]: r for r in Roster().connected()}
    assert seen[ana.id]["page"] == "train" and seen[ana.id]["params"] == 1234 and seen[ana.id]["name"] == "Ana"
    assert seen[TEACHER_ID]["role"] == "teacher"
    assert Roster().connected(within_s=-1) == []
    roster.leave(ana)
    assert ana.id not in {r["id"] for r in roster.connected()}


def test_a_damaged_roster_file_is_a_fresh_start(roster, home):
    roster.class_code()
    (home / "class" / "roster.json").write_text("{not json")
    assert len(Roster().class_code()) == 6


# ---- the run store's owner column ----------------------------------------------------------------------------


def _run(store, owner=""):
    return store.create(name="r", dataset="mnist", spec={"layers": []}, settings={}, device="cpu", owner=owner)


def test_runs_belong_to_their_owner_and_list_filters_by_owner(home):
    store = RunStore()
    a, b, mine = _run(store, "s-aaaaaaaaaaaa"), _run(store, "s-bbbbbbbbbbbb"), _run(store)
    assert store.get(a.id).owner == "s-aaaaaaaaaaaa" and mine.owner == ""
    assert [r.id for r in store.list(owner="s-aaaaaaaaaaaa")] == [a.id]
    assert [r.id for r in store.list(owner="")] == [mine.id]
    assert {r.id for r in store.list()} == {a.id, b.id, mine.id}
    assert store.last(owner="s-bbbbbbbbbbbb").id == b.id and store.last(owner="s-none") is None
    assert json.loads((a.folder / "run.json").read_text())["owner"] == "s-aaaaaaaaaaaa"


def test_rebuilding_the_index_keeps_the_owner(home):
    store = RunStore()
    a = _run(store, "s-aaaaaaaaaaaa")
    store.rebuild_index(keep_backup=False)
    assert RunStore().get(a.id).owner == "s-aaaaaaaaaaaa"


def test_an_index_from_before_classes_gains_the_owner_column(home):
    """A version-1 runs.db (no owner column): opening it migrates it in place; its runs are the single user's."""
    home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(home / "runs.db")
    conn.executescript(
        """
        CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
            status TEXT NOT NULL, dataset TEXT NOT NULL, spec TEXT NOT NULL, settings TEXT NOT NULL,
            metrics TEXT NOT NULL, test_accuracy REAL, params INTEGER, device TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '', train_seconds REAL);
        CREATE INDEX runs_by_created ON runs (created);
        INSERT INTO runs VALUES ('20250101-000000-abcd', 'old', 1.0, 1.0, 'finished', 'mnist', '{}', '{}', '{}',
            0.9, 10, 'cpu', '', 1.0);
        PRAGMA user_version=1;
        """
    )
    conn.close()
    store = RunStore()
    old = store.get("20250101-000000-abcd")
    assert old.owner == "" and old.name == "old" and old.test_accuracy == 0.9
    assert [r.id for r in store.list(owner="")] == [old.id]
    new = _run(store, "teacher")
    assert store.get(new.id).owner == "teacher"
    conn = sqlite3.connect(home / "runs.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_the_run_a_job_makes_belongs_to_the_jobs_owner(home, mnist_dir):
    from dlviz.models import PRESETS
    from dlviz.train import TrainConfig
    from dlviz.train.runner import TrainJob, run_job

    spec = PRESETS["mlp"].copy_spec()
    job = TrainJob("mnist", spec, TrainConfig(epochs=1, limit=500), data_dir=str(mnist_dir), owner="s-aaaaaaaaaaaa")
    res = run_job(job, RunStore())
    assert res.run_id and RunStore().get(res.run_id).owner == "s-aaaaaaaaaaaa"
