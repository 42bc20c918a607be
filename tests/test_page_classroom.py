"""The teacher's class dashboard and the read-only view (issue 17, items 2 and 4), in AppTest."""

from __future__ import annotations

import pytest
from page_util import page_as

from dlviz.classroom import TEACHER_ID, Person
from dlviz.classroom.roster import Roster
from dlviz.classroom.share import ShareLinks, export_run, import_run
from dlviz.models import build
from dlviz.runs import RunStore
from dlviz.ui import keys as K

SPEC = {"layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}
SETTINGS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": 2}
TEACHER = Person(TEACHER_ID, "Teacher", "teacher")


def _metrics(a: float, b: float) -> dict:
    return {"train": [[10, 0.5, 1.0, a - 0.05], [20, 1.0, 0.7, a]], "val": [[10, 1.0, 0.8, a], [20, 2.0, 0.6, b]]}


@pytest.fixture
def klass(home, monkeypatch):
    """A class server: two students who joined, each with one finished run; the teacher with one of their own.
    The tests put the signed-in Person in the session (the sign-in itself: tests/test_classroom_pages.py)."""
    monkeypatch.setenv("DLVIZ_CLASS", "1")
    roster, store = Roster(), RunStore()
    ana, ben = roster.join(roster.class_code(), "Ana"), roster.join(roster.class_code(), "Ben")
    model = build(SPEC, (1, 28, 28), 10, seed=0).module
    made = {}
    for who, acc in ((ana, 0.81), (ben, 0.64), (TEACHER, 0.9)):
        rec = store.create(
            name=f"{who.name} net",
            dataset="mnist",
            spec=SPEC,
            settings=SETTINGS,
            device="cpu",
            params=7850,
            owner=who.id,
        )
        store.save_weights(rec.id, model.state_dict())
        store.update(rec.id, status="finished", metrics=_metrics(acc - 0.1, acc), test_accuracy=acc)
        made[who.name] = store.get(rec.id)
    roster.touch(ana, page="Build", params=12345)
    return {"roster": roster, "store": store, "ana": ana, "ben": ben, "runs": made}


def _page(app, page: str, person: Person | None = None, **state):
    at = app()
    if person is not None:
        at.session_state[K.PERSON] = person
    at.run()
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_dashboard_lists_two_students_runs_curves_and_best_accuracy(app, klass):
    at = _page(app, "pages/classroom.py", TEACHER)
    table = next(d.value for d in at.dataframe if "best" in d.value.columns)  # the class table
    assert list(table["name"]) == ["Ana", "Ben"]  # in the order they joined; the teacher's own run is not a student's
    assert list(table["best"]) == ["81.00%", "64.00%"]
    assert list(table["runs"]) == [1, 1]
    assert table["here"].tolist() == ["●", ""] and table["page"].tolist()[0] == "Build"
    assert table["params"].tolist()[0] == "12,345"  # Ana's current model, from her presence
    fig = at.get("plotly_chart")[0].proto.spec
    import json

    data = json.loads(fig)["data"]
    assert [d["name"] for d in data] == ["Ana", "Ben"]  # one trace per run, named by student
    assert data[0]["y"] == [pytest.approx(0.71), pytest.approx(0.81)]
    assert data[0]["line"]["color"] != data[1]["line"]["color"]  # one colour per student
    options = at.selectbox(key=K.CLASS_PICK).options
    assert len(options) == 2 and all("Teacher net" not in o for o in options)


def test_a_student_cannot_open_the_dashboard(app, klass):
    at = app()
    at.session_state[K.PERSON] = klass["ana"]
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in a student's navigation
        at.switch_page("pages/classroom.py")
    # and the page itself, reached some other way, shows nothing of the class
    page = page_as("pages/classroom.py", klass["ana"])
    assert not page.exception, page.exception
    assert any("Only the teacher" in w.value for w in page.warning)
    assert not page.dataframe and not page.get("plotly_chart") and not page.selectbox and not page.button


def test_the_teacher_opens_a_students_run_read_only_everywhere(app, klass):
    ben_run = klass["runs"]["Ben"]
    at = _page(app, "pages/classroom.py", TEACHER)
    at.selectbox(key=K.CLASS_PICK).set_value(ben_run.id)
    at.button(key=K.CLASS_OPEN).click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.RUN_ID] == ben_run.id and at.session_state[K.VIEW]["run_id"] == ben_run.id
    assert any("Ben's run" in i.value and "Read-only" in i.value for i in at.info)
    assert at.session_state[K.INSP_RUN] == ben_run.id  # the Errors page (a look-inside page) shows Ben's run
    assert at.title[0].value == "Errors"
    # the Runs page: no rename and no delete for the run viewed read-only
    at.switch_page("pages/runs.py")
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key=K.RUNS_PICK).set_value(ben_run.id).run()
    assert not [b for b in at.button if b.key in (K.RUNS_RENAME, K.RUNS_DELETE)]
    assert not [x for x in at.text_input if x.key == K.run_name(ben_run.id)]
    # back to one's own: the view ends
    at.button(key=K.VIEW_BACK).click().run()
    assert at.session_state[K.VIEW] is None and at.session_state[K.RUN_ID] != ben_run.id


def test_a_share_link_opens_only_its_run_and_a_revoked_one_nothing(app, klass):
    store, ana_run = klass["store"], klass["runs"]["Ana"]
    links = ShareLinks()
    token = links.create(ana_run.id, owner=klass["ana"].id, sender="Ana")
    ben = klass["ben"]
    at = app()
    at.session_state[K.PERSON] = ben
    at.query_params["view"] = token
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.RUN_ID] == ana_run.id and at.session_state[K.VIEW]["via"] == "link"
    assert "view" not in at.query_params  # the token leaves the address bar at once
    assert any("shared by Ana" in i.value for i in at.info)
    links.revoke(token)
    at.run()  # the next page run finds the link revoked: the view ends
    assert not at.exception, at.exception
    assert at.session_state[K.VIEW] is None and at.session_state[K.RUN_ID] != ana_run.id
    # a revoked (or made-up) token opens nothing
    at2 = app()
    at2.session_state[K.PERSON] = ben
    at2.query_params["view"] = token
    at2.run()
    assert not at2.exception
    assert not at2.session_state[K.VIEW] and any("does not open anything" in w.value for w in at2.warning)
    assert store.get(ana_run.id).name == "Ana net"  # nothing about the run changed


def test_an_imported_run_cannot_be_renamed_but_the_copy_can_be_deleted(app, klass):
    store = klass["store"]
    copy = import_run(store, export_run(store, klass["runs"]["Ana"].id, sender="Ana"))
    at = _page(app, "pages/runs.py", TEACHER, **{K.RUNS_PICK: copy.id})  # its label is the original's
    assert at.selectbox(key=K.RUNS_PICK).value == copy.id
    assert not [b for b in at.button if b.key == K.RUNS_RENAME]
    assert [b for b in at.button if b.key == K.RUNS_DELETE]
    assert any("Imported from Ana" in c.value for c in at.caption)


def test_a_student_looks_inside_a_classmates_run_through_a_link_until_it_is_revoked(app, klass):
    ana_run, ben = klass["runs"]["Ana"], klass["ben"]
    links = ShareLinks()
    token = links.create(ana_run.id, owner=klass["ana"].id, sender="Ana")
    at = app()
    at.session_state[K.PERSON] = ben
    at.query_params["view"] = token
    at.run()
    at.switch_page("pages/inspect.py")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.INSP_RUN] == ana_run.id  # Ana's run, on a look-inside page of Ben's session
    assert any("shared by Ana" in i.value for i in at.info)
    at.switch_page("pages/runs.py")
    at.run()
    assert not at.exception, at.exception
    assert ana_run.id not in at.selectbox(key=K.RUNS_PICK).options  # Ben's runs list stays Ben's
    assert at.selectbox(key=K.RUNS_PICK).value == klass["runs"]["Ben"].id  # what he may share is his own
    links.revoke(token)
    at.switch_page("pages/inspect.py")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[K.VIEW] is None and at.session_state.get(K.INSP_RUN) != ana_run.id
    assert any("view ended" in i.value for i in at.info)


def test_alone_a_link_view_offers_no_rename_or_delete_of_that_run(app, home):
    """Alone everyone owns everything: only the view's flag keeps the Runs page from offering to change it."""
    from page_util import saved_run

    shared, own = saved_run("mlp"), saved_run("cnn")
    token = ShareLinks().create(shared.id, sender="Ana")
    at = app()
    at.query_params["view"] = token
    at.run()
    assert at.session_state[K.VIEW]["run_id"] == shared.id
    at.switch_page("pages/runs.py")
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key=K.RUNS_PICK).value == shared.id
    assert not [b for b in at.button if b.key in (K.RUNS_RENAME, K.RUNS_DELETE, K.RUNS_LINK_NEW)]
    assert any("open read-only" in c.value for c in at.caption)
    at.session_state[K.RUNS_PICK] = own.id  # one's own run, meanwhile: everything as before
    at.run()
    assert [b for b in at.button if b.key == K.RUNS_RENAME] and [b for b in at.button if b.key == K.RUNS_DELETE]


def test_the_dashboard_and_the_banner_in_chinese(app, klass):
    at = _page(app, "pages/classroom.py", TEACHER, **{K.LANG: "zh", K.LANG_SELECT: "zh"})
    assert at.title[0].value == "课堂"
    table = next(d.value for d in at.dataframe if "best" in d.value.columns)
    assert list(table["name"]) == ["Ana", "Ben"]
    assert any("位学生中" in c.value for c in at.caption)
    at.button(key=K.CLASS_OPEN).click()
    at.run()
    assert not at.exception, at.exception
    assert any("只读" in i.value for i in at.info)


def test_a_student_hands_in_a_run_file_on_the_runs_page_and_a_bad_file_is_refused(app, klass):
    store, ben = klass["store"], klass["ben"]
    data = export_run(store, klass["runs"]["Teacher"].id, sender="Teacher")  # the teacher hands out a model
    at = _page(app, "pages/runs.py", ben)
    mine = lambda: [r for r in store.list() if r.owner == ben.id]  # noqa: E731
    assert len(mine()) == 1
    at.file_uploader(key=K.RUNS_IMPORT).upload("not-a-run.dlviz", b"PK\x03\x04 this is no zip").run()
    at.button(key=K.RUNS_IMPORT_BTN).click().run()
    assert not at.exception, at.exception
    assert any("not a dlviz run file" in e.value for e in at.error) and len(mine()) == 1
    at.file_uploader(key=K.RUNS_IMPORT).upload("model.dlviz", data).run()
    at.button(key=K.RUNS_IMPORT_BTN).click().run()
    assert not at.exception, at.exception
    copies = [r for r in mine() if r.name == "Teacher net"]
    assert len(copies) == 1 and store.get(klass["runs"]["Teacher"].id).owner == TEACHER_ID
    assert at.session_state[K.RUNS_PICK] == copies[0].id
    assert any("read-only run of yours" in s.value for s in at.success)
    assert any("Imported from Teacher" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == K.RUNS_RENAME]
