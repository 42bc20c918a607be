"""The Data page on a text dataset (AppTest): counts, a sentence turned into tokens and ids, samples, balance."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "rt-polarity"


def test_data_page_on_rt_polarity(app):
    import pytest

    if not (SHARED / "rt-polarity.pos").exists():
        pytest.skip("../shared/data/rt-polarity is not present")
    at = app(timeout=60)
    at.run()
    at.session_state["dataset"] = "rt-polarity"
    at.session_state["data_dir"] = str(SHARED)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test sentences"] == "2,132" and metrics["Vocabulary"] == "10,000"
    assert (
        int(metrics["Training sentences"].replace(",", "")) + int(metrics["Validation sentences"].replace(",", ""))
        == 8530
    )
    # a typed sentence with an unknown word and markup: tokens shown escaped, the unknown one flagged
    at.text_input(key="_tdataw_text").set_value("<b>zzqx</b> a great movie").run()
    assert not at.exception, at.exception
    chips = " ".join(h.proto.body for h in at.get("html"))
    assert "&lt;" in chips and "<b>" not in chips  # markup shown as text, never rendered
    assert "zzqx<sub style='color:#D55E00'>1</sub>" in chips  # unknown word: id 1, vermillion
    assert any("not in the vocabulary" in c.value for c in at.caption)
    assert any("zeros" in c.value for c in at.caption)  # pre-padding explained
    assert len(at.dataframe) == 1 and len(at.get("plotly_chart")) == 3


def test_missing_text_data_hint_names_no_four_files_and_no_offline_subset(app, mnist_dir, monkeypatch):
    """rt-polarity asked for in the MNIST folder, offline: the error, then a hint that fits sentences
    (not MNIST's "four dataset files" and "offline subset")."""
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    at = app(timeout=60)
    at.run()
    at.session_state["dataset"] = "rt-polarity"
    at.session_state["data_dir"] = str(mnist_dir)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    assert at.error and "rt-polarity.neg" in at.error[0].value
    hint = at.info[0].value
    assert "this dataset's files" in hint and "four" not in hint and "subset" not in hint, hint
