"""The Start page (AppTest)."""

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob, run_job


def test_start_page_shows_the_steps(app):
    at = app()
    at.run()
    assert not at.exception
    assert "dlviz" in at.title[0].value
    assert [m.value for m in at.markdown if m.value.startswith("###")][:4] == [
        "### :material/image: 1. Data",
        "### :material/account_tree: 2. Build",
        "### :material/monitoring: 3. Train",
        "### :material/history: 4. Runs",
    ]


def test_start_page_names_the_last_run(app, mnist_dir):
    run_job(
        TrainJob(
            "mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=1000), name="demo", data_dir=str(mnist_dir)
        ),
        RunStore(),
    )
    at = app()
    at.run()
    assert at.info and "Last run: demo · MNIST (finished)" in at.info[0].value  # a run keeps its dataset tag


def test_chinese_by_default_from_the_environment(app, monkeypatch):
    # (AppTest runs only its first run through app.py, so the sidebar's picker is tested in the browser)
    monkeypatch.setenv("DLVIZ_LANG", "zh")
    at = app()
    at.run()
    assert not at.exception
    assert at.title[0].value.startswith("dlviz：搭建")
    assert at.selectbox(key="_lang_select").value == "zh"


def test_start_page_intro_fits_a_text_dataset(app, monkeypatch):
    """With rt-polarity chosen, the intro speaks of sentences, not handwritten digits (en and zh)."""
    for lang, digits, sentences in (
        ("en", "handwritten digits", "real review sentences"),
        ("zh", "手写数字", "评论句子"),
    ):
        monkeypatch.setenv("DLVIZ_LANG", lang)
        at = app()
        at.run()
        at.session_state["dataset"] = "rt-polarity"
        at.run()
        assert not at.exception
        text = " ".join(m.value for m in at.markdown)
        assert sentences in text and digits not in text
        at = app()
        at.run()  # the default, MNIST: digits
        assert digits in " ".join(m.value for m in at.markdown)
