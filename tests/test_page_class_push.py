"""Push and lock (issue 17, item 3): the teacher pushes a dataset, a model and a recipe to the class and locks
chosen controls; a student's session takes the push once, sees the locked controls greyed out and a banner saying
what was set, and a locked value tampered with is put back before a job is submitted; release unlocks.

Each session is its own AppTest on one DLVIZ_HOME (the class folder they share), signed in by setting
``st.session_state["person"]`` as the roster's sign-in does.
"""

from __future__ import annotations

import pytest

from dlviz.classroom import Person
from dlviz.classroom.pushed import PushBoard, Pushed, PushError, hold_config, hold_job, hold_spec
from dlviz.models import PRESETS
from dlviz.train import TrainConfig

ANN = Person("s-0123456789ab", "Ann", "student")
TEACHER = Person("teacher", "Teacher", "teacher")


def _session(app, person: Person, page: str | None = None):
    at = app()
    at.session_state["person"] = person  # signed in from the first run (app.py's sidebar is drawn in that one)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def _banner(at) -> str:
    words = ("The teacher set", "You pushed to the class", "老师")
    return "\n".join(i.value for i in at.info if any(w in i.value for w in words))


def _teacher_pushes(app, what, locks, **state):
    """The teacher's own session: set their state, choose what to push and what to lock, press Push (the panel is
    on the Class page)."""
    at = _session(app, TEACHER, "pages/classroom.py")
    for k, v in state.items():
        at.session_state[k] = v
    if "dataset" in state:
        at.session_state["_dataset_select_next"] = state["dataset"]  # the sidebar's box follows, as a page does
    at.run()
    at.session_state["_push_what"] = what
    at.session_state["_push_locks"] = locks
    at.run()
    at.button(key="_push_btn").click().run()
    assert not at.exception, at.exception
    assert any("Pushed to the class" in s.value for s in at.success), [e.value for e in at.error]
    return at


def _cnn():
    spec = PRESETS["cnn"].copy_spec()
    spec["name"] = "class cnn"
    return spec


def test_a_push_reaches_a_student_and_sets_dataset_model_and_recipe(app):
    ann = _session(app, ANN)
    assert not _banner(ann)  # nothing pushed yet
    settings = {"optimizer": "sgd", "lr": 0.05, "batch_size": 64, "epochs": 2, "for_model": "class cnn@fashion-mnist"}
    teacher = _teacher_pushes(
        app,
        ["dataset", "spec", "recipe"],
        [],
        dataset="fashion-mnist",
        spec=_cnn(),
        train_settings=settings,
    )
    assert "You pushed to the class" in _banner(teacher)
    ann.run()  # the student's next rerun (an open page looks every few seconds)
    assert not ann.exception, ann.exception
    ss = ann.session_state
    assert ss["dataset"] == "fashion-mnist"
    assert ss["spec"] == _cnn()
    assert ss["train_settings"]["lr"] == 0.05 and ss["train_settings"]["optimizer"] == "sgd"
    text = _banner(ann)
    assert "The teacher set" in text and "Fashion" in text and "class cnn" in text and "0.05" in text
    assert "Nothing is locked" in text
    # applied once: what the student changes afterwards stays theirs
    ann.session_state["train_settings"] = {**ss["train_settings"], "lr": 0.2}
    ann.run()
    assert ann.session_state["train_settings"]["lr"] == 0.2
    # the Train page shows the pushed recipe in its (unlocked) widgets
    bob = _session(app, Person("s-bbbbbbbbbbbb", "Bob", "student"), "pages/train.py")
    assert bob.number_input(key="_tr_lr").value == 0.05 and not bob.number_input(key="_tr_lr").disabled
    assert bob.selectbox(key="_tr_optimizer").value == "sgd"


def test_locked_controls_are_greyed_out_held_and_released(app, monkeypatch):
    _teacher_pushes(app, ["spec", "recipe"], ["lr", "model"], spec=_cnn(), train_settings={"lr": 0.01})
    ann = _session(app, ANN, "pages/train.py")
    lr = ann.number_input(key="_tr_lr")
    assert lr.disabled and lr.value == 0.01 and "Locked by the teacher" in lr.help
    assert not ann.number_input(key="_tr_epochs").disabled  # not locked: still the student's
    task = [w for w in ann.get("button_group") if getattr(w, "key", None) == "_tr_task"]
    assert task and task[0].proto.disabled  # no GAN instead of the locked model
    assert ":material/lock:" in _banner(ann) and "filters is yours to change" in _banner(ann)

    # a tampered value (a crafted message setting the greyed-out box) is put back before the job is submitted
    from dlviz.ui.state import get_executor

    ex = get_executor()
    submitted = []
    real = type(ex).submit

    def spy(self, job):
        submitted.append(job)
        return real(self, job)

    monkeypatch.setattr(type(ex), "submit", spy)
    ann.session_state["_tr_lr"] = 0.9  # the greyed-out box's state, changed behind its back
    ann.run()
    assert ann.number_input(key="_tr_lr").value == 0.01  # put back on the next run
    # and if a value got past the page (here: the page's own hold switched off), the job is held at submit
    from dlviz.ui import push_widgets, train_widgets

    with monkeypatch.context() as m:
        m.setattr(train_widgets, "hold_widgets", lambda p=None: None)
        m.setattr(push_widgets, "_hold", lambda p: None)
        ann.session_state["spec"] = {**_cnn(), "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}
        ann.session_state["_tr_lr"] = 0.9
        ann.number_input(key="_tr_epochs").set_value(1)
        ann.toggle(key="_tr_quick").set_value(True)
        ann.run()
        assert ann.number_input(key="_tr_lr").value == 0.9
        ann.button(key="train_btn").click().run()
        assert not ann.exception, ann.exception
        assert any("put back to the class's value" in x.value for x in ann.toast), [x.value for x in ann.toast]
    assert submitted, "no job was submitted"
    job = submitted[-1]
    ex.stop(ann.session_state["job_id"])
    assert job.config.lr == 0.01 and job.config.epochs == 1  # locked lr held; epochs were the student's
    assert [layer["type"] for layer in job.spec["layers"]] == [layer["type"] for layer in _cnn()["layers"]]

    # on the Build page the model's controls are greyed out, but the number of filters stays the student's
    ann.switch_page("pages/build.py").run()
    assert not ann.exception, ann.exception
    params = [w for w in [*ann.number_input, *ann.selectbox, *ann.toggle] if (w.key or "").startswith("build_p_")]
    outs = [w for w in params if w.key.endswith("_out")]
    assert len(outs) == 2 and not any(w.disabled for w in outs)
    assert len(params) > len(outs) and all(w.disabled for w in params if not w.key.endswith("_out"))
    assert ann.button(key="build_add").disabled
    assert ann.selectbox(key="build_preset").disabled

    # release: every control is the student's again
    PushBoard().release()
    ann.run()
    assert not ann.selectbox(key="build_preset").disabled
    assert not any(w.disabled for w in ann.number_input if (w.key or "").startswith("build_p_"))
    assert ":material/lock:" not in _banner(ann)
    PushBoard().end()
    ann.run()
    assert not _banner(ann)


def test_a_model_that_cannot_train_on_the_dataset_is_not_pushed(app):
    """The teacher's text model pushed with MNIST: one sentence for the teacher, nothing reaches the students."""
    at = _session(app, TEACHER, "pages/classroom.py")
    at.session_state["spec"] = PRESETS["lstm"].copy_spec()
    at.session_state["_push_what"] = ["dataset", "spec"]
    at.run()
    at.button(key="_push_btn").click().run()
    assert not at.exception, at.exception
    assert at.error and not at.success, [e.value for e in at.error]
    assert PushBoard().read().version == 0


def test_the_dataset_lock_holds_the_sidebar_choice(app):
    _teacher_pushes(app, [], ["dataset"], dataset="fashion-mnist")
    ann = _session(app, ANN)
    box = ann.sidebar.selectbox(key="_dataset_select")
    assert box.disabled and box.value == "fashion-mnist"
    ann.session_state["dataset"] = "mnist"  # changed behind the greyed-out box
    ann.run()
    assert ann.session_state["dataset"] == "fashion-mnist"


def test_alone_and_the_teacher_are_never_held(app):
    PushBoard().push(dataset="fashion-mnist", locks=["dataset"])
    alone = app()
    alone.run()
    assert alone.session_state["dataset"] == "mnist" and not _banner(alone)
    assert not alone.sidebar.selectbox(key="_dataset_select").disabled
    teacher = _session(app, TEACHER)
    assert teacher.session_state["dataset"] == "mnist"
    assert not teacher.sidebar.selectbox(key="_dataset_select").disabled


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_banner_names_what_was_set_in_both_languages(app, lang):
    PushBoard().push(spec=_cnn(), recipe={"lr": 0.01, "optimizer": "adam"}, page="train", locks=["lr"])
    ann = app()
    ann.run()
    ann.session_state["person"] = ANN
    ann.session_state["lang"] = lang
    ann.run()
    assert not ann.exception, ann.exception
    text = "\n".join(i.value for i in ann.info)
    if lang == "zh":
        assert "老师" in text and "学习率" in text and "0.01 :material/lock:" in text
    else:
        assert (
            "The teacher set" in text and "Learning rate: 0.01 :material/lock:" in text and "Model: class cnn" in text
        )


# ----------------------------------------------------------------------------------------------- no streamlit


def test_a_lock_needs_a_pushed_value(home):
    board = PushBoard()
    with pytest.raises(PushError):
        board.push(recipe={"epochs": 3}, locks=["lr"])
    with pytest.raises(PushError):
        board.push(dataset="mnist", locks=["filters"])
    with pytest.raises(PushError):
        board.push()  # nothing to push
    p = board.push(recipe={"lr": 0.1}, locks=["lr"])
    assert p.version == 1 and p.locks == ("lr",)
    assert board.push(dataset="mnist").version == 2  # a new push replaces the locks
    assert board.read().locks == ()
    assert board.set_locks(["dataset"]).version == 2  # locks change without pushing again
    ended = board.end()
    assert not ended.active and ended.version == 2 and ended.stamp == 4


def test_a_damaged_file_pushes_nothing(home):
    board = PushBoard()
    board.folder.mkdir(parents=True)
    board.path.write_text("{not json", encoding="utf-8")
    assert board.read() == Pushed()
    board.path.write_text('{"version": 3, "locks": ["lr", "rm -rf"], "page": "../../etc", "recipe": []}')
    p = board.read()
    assert p.version == 3 and p.locks == ("lr",) and p.page is None and p.recipe == {}


def test_hold_puts_locked_values_back():
    cnn = _cnn()
    counts = [layer["out"] for layer in cnn["layers"] if "out" in layer]
    mine = {**cnn, "layers": [dict(layer) for layer in cnn["layers"]]}
    for layer in mine["layers"]:
        if "out" in layer:
            layer["out"] = 8
    model_only = Pushed(spec=cnn, locks=("model",))
    assert hold_spec(model_only, mine) == mine  # the filters are the student's
    assert hold_spec(model_only, PRESETS["mlp"].copy_spec()) == cnn  # another model: the teacher's
    both = Pushed(spec=cnn, locks=("model", "filters"))
    assert hold_spec(both, mine) == cnn
    filters = Pushed(spec=cnn, locks=("filters",))
    assert [layer["out"] for layer in hold_spec(filters, mine)["layers"] if "out" in layer] == counts
    p = Pushed(dataset="fashion-mnist", spec=cnn, recipe={"lr": 0.01, "epochs": 2}, locks=("dataset", "lr"))
    cfg = TrainConfig(lr=0.5, epochs=7)
    assert hold_config(p, cfg).lr == 0.01 and hold_config(p, cfg).epochs == 7
    dataset, spec, held, reset = hold_job(p, "mnist", mine, cfg)
    assert (dataset, spec, held.lr, reset) == ("fashion-mnist", mine, 0.01, ["dataset", "lr"])


def test_a_lock_picked_just_before_push_is_pushed(app):
    """The teacher picks a lock and presses Push in one go (the page has not drawn again in between): the push takes
    the lock chosen, not the locks of the run before (on_click's args are bound when the button is drawn)."""
    at = _session(app, TEACHER, "pages/classroom.py")
    at.session_state["_push_what"] = ["recipe"]
    at.run()
    at.multiselect(key="_push_locks").set_value(["lr"])
    at.button(key="_push_btn").click().run()  # one run: the new lock and the click together
    assert not at.exception, at.exception
    assert PushBoard().read().locks == ("lr",)
