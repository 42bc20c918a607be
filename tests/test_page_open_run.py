"""Issue 13, bugs 1, 2 and 7 (AppTest): the open run is the one every page shows until the user picks
another; the Train page never mixes the model to train with the open run; a preset brings its whole
recipe; the Runs page names settings as the Train page does; a renamed run keeps its dataset tag."""

from __future__ import annotations

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob
from tests.page_util import saved_run


def _go(at, page, **state):
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def _subheaders(at):
    return [h.value for h in at.subheader]


def _captions(at):
    return " ".join(c.value for c in at.caption)


def _open_on_runs_page(at, run_id):
    _go(at, "pages/runs.py")
    at.selectbox(key="_runs_pick").set_value(run_id).run()
    at.button(key="_runs_open").click().run()
    assert not at.exception, at.exception
    assert at.session_state["run_id"] == run_id


def test_an_opened_run_sticks_on_train_and_the_look_inside_pages(app, mnist_dir):
    from dlviz.ui.state import get_executor

    older = saved_run("mlp")  # the run the teacher opens later
    ex = get_executor()
    job = ex.submit(
        TrainJob(
            "mnist",
            PRESETS["mlp"].copy_spec(),
            TrainConfig(epochs=1, limit=300),
            name="trained in this session",
            data_dir=str(mnist_dir),
        )
    )
    snap = ex.wait(job, timeout=120)
    assert snap.status == "finished", snap
    newest = saved_run("cnn")  # the newest image run (not the open one)
    at = app()
    at.run()
    _go(at, "pages/train.py", job_id=job)
    assert at.session_state["run_id"] == snap.run_id  # the job's run opened when it appeared
    assert any("trained in this session" in h for h in _subheaders(at))
    _go(at, "pages/inspect.py")
    assert at.selectbox(key="_insp_run").value == snap.run_id

    _open_on_runs_page(at, older.id)
    _go(at, "pages/train.py")
    assert at.session_state["run_id"] == older.id, "Train took the run back to its last job"
    assert any(h.startswith("Open run: mlp run") for h in _subheaders(at)), _subheaders(at)
    assert "Reopened" not in _captions(at)
    for page in ("pages/inspect.py", "pages/gradients.py", "pages/filters.py"):
        _go(at, page)
        assert at.selectbox(key="_insp_run").value == older.id, page
    assert newest.id != older.id

    # picking a run in a look-inside header opens it everywhere too
    at.selectbox(key="_insp_run").set_value(newest.id).run()
    _go(at, "pages/train.py")
    assert any(h.startswith("Open run: cnn run") for h in _subheaders(at)), _subheaders(at)


def test_a_run_opened_in_a_fresh_session_is_not_called_reopened(app):
    older = saved_run("mlp")
    saved_run("cnn")
    at = app()
    at.run()
    _go(at, "pages/train.py")
    assert "Reopened: the last run trained on this computer" in _captions(at)  # the newest, after a start
    _open_on_runs_page(at, older.id)
    _go(at, "pages/train.py")
    assert any(h.startswith("Open run: mlp run") for h in _subheaders(at))
    assert "Reopened" not in _captions(at)


def test_a_fresh_session_does_not_reopen_a_lessons_run(app):
    """After `lessons prepare` the newest run on the computer is a lesson's (the last lesson's GAN): a new session
    opened it on every page as "the last run trained on this computer". The user's own newest run opens instead,
    and none when the lessons' runs are all there is."""
    from dlviz.lessons import load_lessons, snapshots

    lessons = load_lessons()
    lesson_run = saved_run("cnn")
    snapshots.remember(RunStore(), lessons["convolution-filters"].snapshots["cnn"], lesson_run.id)
    at = app()
    at.run()
    assert at.session_state["run_id"] is None  # only a lesson's run: nothing reopened
    own = saved_run("mlp")
    lesson_run2 = saved_run("cnn")  # newer than the user's own
    snapshots.remember(RunStore(), lessons["first-network"].snapshots["mlp"], lesson_run2.id)
    at = app()
    at.run()
    assert at.session_state["run_id"] == own.id


def test_train_says_which_is_the_model_to_train_and_which_the_open_run(app):
    cnn = saved_run("cnn")
    at = app()
    at.run()
    _go(at, "pages/train.py", run_id=cnn.id, dataset="rt-polarity", spec=PRESETS["transformer"].copy_spec())
    assert at.markdown[0].value.startswith("**Model to train:** transformer")
    assert any(h.startswith("Open run: cnn run · MNIST") for h in _subheaders(at))
    assert (
        "This is the run you opened or trained last: cnn on MNIST. It is not the model above; Train trains "
        "transformer on"
    ) in _captions(at)
    # the same model on the same data: nothing to tell apart
    _go(at, "pages/train.py", dataset="mnist", spec=PRESETS["cnn"].copy_spec())
    assert "It is not the model above" not in _captions(at)


def _number(at, label):
    return next(n for n in at.number_input if n.label == label).value


def test_a_preset_brings_its_whole_recipe(app):
    at = app()
    at.run()
    _go(at, "pages/train.py", spec=PRESETS["lstm"].copy_spec(), dataset="rt-polarity")
    assert _number(at, "Batch size") == 64  # the LSTM's recipe
    _go(at, "pages/train.py", spec=PRESETS["cnn"].copy_spec(), dataset="mnist")
    assert _number(at, "Batch size") == TrainConfig().batch_size == 128
    assert _number(at, "Epochs") == 3 and _number(at, "Learning rate") == TrainConfig().lr


def test_runs_page_names_the_schedule_and_keeps_the_dataset_tag(app):
    from dlviz.models import build
    from tests.page_util import SETTINGS

    store = RunStore()
    spec = PRESETS["cnn"].copy_spec()
    run = store.create(
        name="cnn · MNIST",
        dataset="mnist",
        spec=spec,
        settings={**SETTINGS, "schedule": "onecycle"},
        device="cpu",
        params=1,
    )
    store.save_weights(run.id, build(spec, (1, 28, 28), 10, seed=0).module.state_dict())
    store.update(run.id, status="finished", test_accuracy=0.1)
    at = app()
    at.run()
    _go(at, "pages/runs.py")
    settings = at.dataframe[1].value
    values = dict(zip(settings["setting"], settings["value"]))
    assert values["Learning-rate schedule"] == "Warm-up then cosine decay"  # as the Train page says it
    assert values["Optimizer"] == "Adam"
    at.text_input(key=f"_runs_name_{run.id}").input("my net").run()
    at.button(key="_runs_rename").click().run()
    assert store.get(run.id).name == "my net"
    assert at.selectbox(key="_runs_pick").options[0].startswith("my net · MNIST")
    _go(at, "pages/inspect.py")
    assert at.selectbox(key="_insp_run").options[0].startswith("my net · MNIST")


def _page_links(at):
    return [(e.proto.page, e.proto.label) for e in at.get("page_link")]


def test_a_text_runs_result_links_to_its_own_look_inside_pages(app):
    """Issue 13, bug 6: a text run's result box offered "Inspect a digit" and no Attention or Sequence."""
    from tests.text_page_util import text_run

    run = text_run("lstm")
    at = app()
    at.run()
    _go(at, "pages/train.py", run_id=run.id, dataset="rt-polarity", spec=PRESETS["lstm"].copy_spec())
    labels = [label for _, label in _page_links(at)]
    assert "Inspect a digit" not in labels and "Errors" not in labels
    assert {"Attention", "Sequence", "Explain a decision"} <= set(labels), labels
    image = saved_run("mlp")
    _go(at, "pages/train.py", run_id=image.id, dataset="mnist", spec=PRESETS["mlp"].copy_spec())
    labels = [label for _, label in _page_links(at)]
    assert {"Inspect a digit", "Gradients", "Errors", "Explain a decision"} <= set(labels), labels


def test_a_look_inside_page_says_when_the_open_run_is_of_the_other_kind(app):
    """An image page cannot show an open text run (nor a text page an image run): it says so, so that its own
    choice is not taken for the open run."""
    from tests.text_page_util import register_text_pages, text_run  # noqa: F401

    image = saved_run("mlp")
    text = text_run("lstm")
    at = app()
    at.run()
    _go(at, "pages/inspect.py", run_id=text.id)
    assert at.selectbox(key="_insp_run").value == image.id
    assert "The open run, lstm text run · rt-polarity, reads sentences" in _captions(at), _captions(at)
    _go(at, "pages/inspect.py", run_id=image.id)
    assert "The open run" not in _captions(at)
    _go(at, "pages/attention.py")
    assert at.selectbox(key="_txt_run").value == text.id
    assert "The open run, mlp run · MNIST, reads images" in _captions(at), _captions(at)


def test_a_new_session_reopens_the_last_run_of_its_dataset_kind(app):
    """The newest run is a transformer on rt-polarity; a new session on MNIST reopens the newest image run
    (none: no run), so image pages never say "The open run ... reads sentences"."""
    from tests.text_page_util import text_run

    at = app()
    at.run()
    assert at.session_state["run_id"] is None
    image = saved_run("mlp")
    text = text_run("transformer")
    at = app()
    at.run()  # a new session, on MNIST
    assert at.session_state["dataset"] == "mnist" and at.session_state["run_id"] == image.id
    assert at.session_state["run_restored"]
    _go(at, "pages/inspect.py")
    assert "reads sentences" not in _captions(at)
    # a session on rt-polarity (its saved file, as the dataset picker leaves it) reopens the text run after a restart
    import json

    from dlviz.ui.state import _session_file

    sid = "0123456789abcdef"
    _session_file(sid).write_text(json.dumps({"dataset": "rt-polarity"}), encoding="utf-8")
    again = app()
    again.query_params["s"] = sid
    again.run()
    assert again.session_state["dataset"] == "rt-polarity" and again.session_state["run_id"] == text.id


def test_a_new_session_opens_no_run_when_only_the_other_kind_exists(app):
    from tests.text_page_util import text_run

    text_run("transformer")
    at = app()
    at.run()
    assert at.session_state["run_id"] is None
