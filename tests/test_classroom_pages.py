"""A class on one server, through the pages (AppTest): signing in, each student's own runs, the teacher's view
of all, crafted ids and projected links opening nothing, a refresh through the cookie, and alone unchanged
(issue 17)."""

from __future__ import annotations

import json

import pytest

from dlviz.classroom import TEACHER_ID, Person
from dlviz.classroom.owned import NotYoursError, OwnedStore, store_for
from dlviz.classroom.roster import Roster
from dlviz.runs import RunStore
from dlviz.ui import keys as K

SPEC = {"layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}
METRICS = {"train": [[10, 0.5, 1.2, 0.6]], "val": [[10, 0.5, 1.1, 0.62]]}


@pytest.fixture
def klass(app, home, monkeypatch):
    """A class server (DLVIZ_CLASS=1) with a known key and code, no cookie, and runs of two students and the
    teacher (and one from before the class, owned by nobody)."""
    monkeypatch.setenv("DLVIZ_CLASS", "1")
    monkeypatch.setenv("DLVIZ_TEACHER_KEY", "the-teachers-key-123")
    monkeypatch.setenv("DLVIZ_CLASS_CODE", "KQ7M4X")
    monkeypatch.setattr(Roster, "fail_delay_s", 0.01)
    cookie = {"value": ""}
    monkeypatch.setattr("dlviz.ui.signin.browser_cookie", lambda: cookie["value"])
    roster = Roster()
    ana, ben = roster.join("KQ7M4X", "Ana"), roster.join("KQ7M4X", "Ben")
    store = RunStore()
    runs = {}
    made = (("before", ""), ("teacher", TEACHER_ID), ("ben", ben.id), ("ana-old", ana.id), ("ana", ana.id))
    for who, owner in made:
        rec = store.create(name=f"{who} run", dataset="mnist", spec=SPEC, settings={}, device="cpu", owner=owner)
        store.update(rec.id, status="finished", metrics=METRICS, test_accuracy=0.9)
        runs[who] = rec.id
    return {"app": app, "ana": ana, "ben": ben, "runs": runs, "cookie": cookie}


def _texts(at) -> str:
    parts = [
        e.value for kind in ("title", "markdown", "caption", "error", "info", "warning") for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _join(at, code, name):
    if not any(i.key == K.SIGNIN_CODE for i in at.text_input):
        at.run()
    at.text_input(key=K.SIGNIN_CODE).input(code)
    at.text_input(key=K.SIGNIN_NAME).input(name)
    _button(at, "Join").click().run()
    assert not at.exception, at.exception
    return at


def _as_teacher(at, key):
    if not any(i.key == K.SIGNIN_CODE for i in at.text_input):
        at.run()
    at.toggle(key="_signin_teacher").set_value(True).run()
    at.text_input(key=K.SIGNIN_KEY).input(key)
    _button(at, "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def _as(klass, who):
    """The app as ``who`` (a student of the fixture) in a browser whose cookie signed them in earlier."""
    klass["cookie"]["value"] = Roster().open_session(klass[who], "0123456789abcdef"[::-1])
    at = klass["app"]()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.PERSON] == klass[who]
    return at


def _page(at, page, **state):
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_class_server_asks_who_you_are_before_any_page(klass):
    at = klass["app"]()
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Join the class"
    assert K.SID not in at.session_state and K.PERSON not in at.session_state
    assert "s" not in at.query_params  # nothing that grants access in the URL
    assert not any(inp.key == K.DATA_DIR_INPUT for inp in at.text_input)


def test_a_new_student_joins_with_the_code_and_a_name_and_opens_no_classmates_run(klass):
    at = _join(klass["app"](), "kq7m4x", "Ana")
    me = at.session_state[K.PERSON]
    assert me.student and me.name == "Ana" and me.id.startswith("s-") and me != klass["ana"]
    assert "s" not in at.query_params
    assert "Signed in as Ana (student)" in _texts(at)
    assert not any(inp.key == K.DATA_DIR_INPUT for inp in at.text_input)  # the data folder is the server's
    assert "server's data folder" in _texts(at)
    assert at.session_state[K.RUN_ID] is None  # their own last run: none yet; never a classmate's
    _page(at, "pages/runs.py")
    assert "No runs yet" in _texts(at)


def test_a_student_lists_and_opens_only_their_own_runs(klass):
    at = _as(klass, "ana")
    assert at.session_state[K.RUN_ID] == klass["runs"]["ana"]  # their own last run comes back
    here = {r["id"]: r for r in Roster().connected()}[klass["ana"].id]  # the teacher's view: who is here
    assert here["name"] == "Ana" and here["page"] == "home" and here["params"] > 0  # the MLP preset's parameters
    _page(at, "pages/runs.py")
    assert list(at.dataframe[0].value["name"]) == ["ana run", "ana-old run"]
    assert "owner" not in at.dataframe[0].value  # a student's table has no one else to name
    assert len(at.selectbox(key=K.RUNS_PICK).options) == 2


def test_a_crafted_run_id_opens_nothing_and_says_so(klass):
    at = _as(klass, "ana")
    ben_run = klass["runs"]["ben"]
    _page(at, "pages/train.py", **{K.RUN_ID: ben_run})
    assert at.session_state[K.RUN_ID] is None
    assert "is not one of your runs" in _texts(at)
    assert "ben run" not in _texts(at)
    # the Runs page with a crafted pick and compare choice: only the student's own run is shown or changed
    _page(at, "pages/runs.py", **{K.RUNS_PICK: ben_run, K.RUNS_COMPARE: [ben_run, klass["runs"]["teacher"]]})
    assert at.session_state[K.RUNS_PICK] == klass["runs"]["ana"]
    assert at.session_state[K.RUNS_COMPARE] == []  # the classmate's and the teacher's runs were dropped
    assert "ben run" not in str(at.multiselect(key=K.RUNS_COMPARE).options)
    at.text_input(key=K.run_name(at.session_state[K.RUNS_PICK])).input("renamed")
    at.button(key=K.RUNS_RENAME).click().run()
    assert RunStore().get(ben_run).name == "ben run" and RunStore().get(klass["runs"]["ana"]).name == "renamed"


def test_the_store_refuses_a_students_hand_on_anothers_run(klass):
    ana, runs = klass["ana"], klass["runs"]
    store = store_for(ana)
    assert isinstance(store, OwnedStore)
    assert [r.id for r in store.list()] == [runs["ana"], runs["ana-old"]]
    assert store.list(owner=klass["ben"].id) == [] and store.last().id == runs["ana"]
    for act in (
        lambda: store.get(runs["ben"]),
        lambda: store.rename(runs["ben"], "mine now"),
        lambda: store.delete(runs["ben"]),
        lambda: store.load_weights(runs["teacher"]),
        lambda: store.get(runs["before"]),
        lambda: store.update(runs["ben"], status="failed"),
    ):
        with pytest.raises(NotYoursError, match="not one of your runs"):
            act()
    assert RunStore().get(runs["ben"]).name == "ben run"
    store.rename(runs["ana"], "ana's best")
    store.delete(runs["ana"])
    assert [r.id for r in store.list()] == [runs["ana-old"]]


def test_the_teacher_sees_every_run_and_changes_only_their_own(klass):
    at = _as_teacher(klass["app"](), "the-teachers-key-123")
    me = at.session_state[K.PERSON]
    assert me.teacher and me.id == TEACHER_ID
    assert "Signed in as the teacher" in _texts(at)
    assert at.session_state[K.RUN_ID] == klass["runs"]["teacher"]  # the teacher's own last run, not a student's
    _page(at, "pages/runs.py", **{K.RUNS_PICK: klass["runs"]["ben"]})
    assert set(at.selectbox(key=K.RUNS_PICK).options) >= set()  # drawn
    assert len(at.selectbox(key=K.RUNS_PICK).options) == 5
    owners = dict(zip(at.dataframe[0].value["name"], at.dataframe[0].value["owner"]))
    assert owners == {
        "ana run": "Ana",
        "ana-old run": "Ana",
        "ben run": "Ben",
        "teacher run": "Teacher",
        "before run": "–",
    }
    # nobody changes what is not theirs: the teacher opens Ben's run, with no rename or delete on the page...
    assert not [w for w in at.text_input if w.key == K.run_name(klass["runs"]["ben"])]
    assert not [b for b in at.button if b.key in (K.RUNS_RENAME, K.RUNS_DELETE)]
    assert "This is a student's run" in _texts(at)
    # ... and the store refuses a crafted rename or delete
    from dlviz.classroom.owned import NotYoursError, store_for

    store = store_for(me)
    with pytest.raises(NotYoursError):
        store.rename(klass["runs"]["ben"], "renamed by the teacher")
    with pytest.raises(NotYoursError):
        store.delete(klass["runs"]["ben"])
    assert RunStore().get(klass["runs"]["ben"]).name == "ben run"
    # the teacher's own run and the class's runs from before (owner '') are theirs to change
    _page(at, "pages/runs.py", **{K.RUNS_PICK: klass["runs"]["teacher"]})
    at.text_input(key=K.run_name(klass["runs"]["teacher"])).input("renamed by the teacher")
    at.button(key=K.RUNS_RENAME).click().run()
    assert RunStore().get(klass["runs"]["teacher"]).name == "renamed by the teacher"


def test_a_wrong_key_or_code_is_refused_plainly(klass):
    at = _as_teacher(klass["app"](), "not-the-key")
    assert K.PERSON not in at.session_state and "not the teacher's key" in _texts(at)
    at = _join(klass["app"](), "AAAAAA", "Ana")
    assert K.PERSON not in at.session_state and "class code is not right" in _texts(at)
    at = _join(klass["app"](), "KQ7M4X", "  \u200b ")
    assert K.PERSON not in at.session_state and "Type your name" in _texts(at)


def test_a_projected_url_opens_nothing(klass):
    teacher = _as_teacher(klass["app"](), "the-teachers-key-123")
    sid = teacher.session_state[K.SID]
    assert "s" not in teacher.query_params
    seen = klass["app"]()
    seen.query_params["s"] = sid  # someone types the link they saw on the projector
    seen.run()
    assert not seen.exception, seen.exception
    assert seen.title[0].value == "Join the class" and K.PERSON not in seen.session_state
    student = _join(seen, "KQ7M4X", "Ana")
    assert student.session_state[K.SID] != sid and student.session_state[K.PERSON].student


def test_a_refresh_with_the_cookie_brings_back_the_same_person_and_session(klass):
    at = _join(klass["app"](), "KQ7M4X", "Ana")
    me, sid, token = at.session_state[K.PERSON], at.session_state[K.SID], at.session_state[K.CLASS_TOKEN]
    klass["cookie"]["value"] = token  # the browser sends the cookie back on the refresh
    again = klass["app"]()
    again.run()
    assert not again.exception, again.exception
    assert again.session_state[K.PERSON] == me and again.session_state[K.SID] == sid
    assert "s" not in again.query_params
    # signing out (the sidebar's button: AppTest reruns a page without the sidebar, so the button's work is done
    # here as it does it) forgets the token: the same cookie signs nobody in
    assert any(b.label == "Sign out" for b in again.button)
    Roster().sign_out(token)
    later = klass["app"]()
    later.run()
    assert K.PERSON not in later.session_state and later.title[0].value == "Join the class"


def test_a_refresh_restores_the_students_own_state(klass, home):
    at = _as(klass, "ana")
    _page(at, "pages/runs.py", **{K.RUNS_PICK: klass["runs"]["ana-old"]})
    at.button(key=K.RUNS_OPEN).click().run()  # opening a run saves the session
    assert at.session_state[K.RUN_ID] == klass["runs"]["ana-old"]
    saved = json.loads((home / "sessions" / f"{at.session_state[K.SID]}.json").read_text())
    assert saved["owner"] == klass["ana"].id and klass["cookie"]["value"] not in json.dumps(saved)
    again = klass["app"]()  # the refresh: the same cookie
    again.run()
    assert again.session_state[K.RUN_ID] == klass["runs"]["ana-old"]


def test_a_draft_saved_by_someone_else_is_not_read(klass, home):
    """A session file whose owner is another person (or nobody) starts afresh for whoever the cookie names."""
    roster = Roster()
    ana = klass["ana"]
    sid = "00112233aabbccdd"
    (home / "sessions").mkdir(parents=True, exist_ok=True)
    (home / "sessions" / f"{sid}.json").write_text(
        json.dumps({"owner": klass["ben"].id, "run_id": klass["runs"]["ben"], "dataset": "fashion"})
    )
    klass["cookie"]["value"] = roster.open_session(ana, sid)
    at = klass["app"]()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.PERSON] == ana
    assert at.session_state[K.RUN_ID] == klass["runs"]["ana"] and at.session_state[K.DATASET] == "mnist"


def test_alone_nothing_changes(app, home, monkeypatch):
    monkeypatch.delenv("DLVIZ_CLASS", raising=False)
    store = RunStore()
    other = store.create(name="a student's", dataset="mnist", spec=SPEC, settings={}, device="cpu", owner="s-1")
    at = app()
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value != "Join the class" and K.PERSON not in at.session_state
    assert at.query_params["s"] == [at.session_state[K.SID]] or at.query_params["s"] == at.session_state[K.SID]
    assert any(inp.key == K.DATA_DIR_INPUT for inp in at.text_input)
    assert not any(b.label == "Sign out" for b in at.button)
    assert at.session_state[K.RUN_ID] == other.id  # alone, every run on the machine is yours
    assert store_for(Person("", "", "alone")).__class__ is RunStore


def test_what_a_person_makes_through_their_store_is_theirs(klass):
    teacher = Person(TEACHER_ID, "Teacher", "teacher")
    made = store_for(teacher).create(name="variant", dataset="mnist", spec=SPEC, settings={}, device="cpu")
    assert made.owner == TEACHER_ID and len(store_for(teacher).list()) == 6
    mine = store_for(klass["ben"]).create(name="v", dataset="mnist", spec=SPEC, settings={}, device="cpu", owner="")
    assert mine.owner == klass["ben"].id


def test_csv_uploads_belong_to_their_uploader_and_have_a_quota(home, monkeypatch):
    from dlviz.data.user_csv import add_csv, list_csv
    from dlviz.errors import DataError

    rows = "text,label\n" + "".join(f"sentence number {i} is {'good' if i % 2 else 'bad'},{i % 2}\n" for i in range(40))
    raw = rows.encode()
    name = add_csv(raw, "mine.csv", owner="s-aaaaaaaaaaaa")
    assert list_csv(owner="s-aaaaaaaaaaaa") == {name: "mine.csv"}
    assert list_csv(owner="s-bbbbbbbbbbbb") == {} and list_csv() == {name: "mine.csv"}
    assert add_csv(raw, "mine.csv", owner="s-bbbbbbbbbbbb") == name  # the same file: now both students'
    assert name in list_csv(owner="s-bbbbbbbbbbbb")
    monkeypatch.setenv("DLVIZ_CSV_QUOTA_MB", str(1.5 * len(raw) / 2**20))
    with pytest.raises(DataError, match="each student may keep up to"):
        add_csv((rows + "one more line is here,1\n").encode(), "second.csv", owner="s-aaaaaaaaaaaa")
    assert len(list_csv(owner="s-aaaaaaaaaaaa")) == 1
    add_csv((rows + "one more line is here,1\n").encode(), "teacher.csv", owner=TEACHER_ID)  # no quota


def test_a_read_only_link_opens_that_one_run_for_a_student_and_nothing_else(klass):
    from dlviz.classroom.share import ShareLinks

    runs = klass["runs"]
    token = ShareLinks().create(runs["teacher"], owner=TEACHER_ID, sender="Teacher")
    klass["cookie"]["value"] = Roster().open_session(klass["ana"], "fedcba9876543210")
    at = klass["app"]()
    at.query_params["view"] = token
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.PERSON] == klass["ana"] and at.session_state[K.RUN_ID] == runs["teacher"]
    assert "view" not in at.query_params
    linked = store_for(klass["ana"], also=frozenset({runs["teacher"]}))
    assert linked.get(runs["teacher"]).name == "teacher run"
    with pytest.raises(NotYoursError):
        linked.rename(runs["teacher"], "mine now")
    with pytest.raises(NotYoursError):
        linked.get(runs["ben"])


def test_the_sign_in_screen_speaks_chinese_and_keeps_it(klass):
    at = klass["app"]()
    at.run()
    at.selectbox(key=K.SIGNIN_LANG).set_value("zh").run()
    assert at.title[0].value == "加入课堂"
    assert {i.label for i in at.text_input} >= {"课堂代码", "你的名字"}
    at.text_input(key=K.SIGNIN_CODE).input("KQ7M4X")
    at.text_input(key=K.SIGNIN_NAME).input("王小明")
    _button(at, "加入").click().run()
    assert not at.exception, at.exception
    assert at.session_state[K.PERSON].name == "王小明" and at.session_state[K.LANG] == "zh"
