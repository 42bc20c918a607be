"""Waits (issue 13): the Errors page's predictions kept with the run, t-SNE by scikit-learn with an honest
estimate, the gradient experiment's estimate, and a remembered failed download."""

from __future__ import annotations

import json

import pytest
from page_util import open_page, saved_run


def test_errors_predictions_are_computed_once_and_kept_in_the_run_folder(app, home, monkeypatch):
    import dlviz.inspect.errors as core
    import dlviz.ui.errors_widgets as widgets
    from dlviz.runs import RunStore

    rec = saved_run("mlp")
    calls = {"n": 0}
    real = core.predict_all

    def counting(*a, **k):
        calls["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(widgets, "predict_all", counting)
    at = open_page(app, "pages/errors.py", run_id=rec.id, lang="en")
    assert calls["n"] == 1
    saved = RunStore().folder(rec.id) / "cache" / "test-probs-final.safetensors"
    assert saved.is_file()
    first = " ".join(m.value for m in at.markdown if "test images are right" in m.value)

    # a new session (another student, or after a restart) reads them from the run folder: no recomputation
    at2 = open_page(app, "pages/errors.py", run_id=rec.id, lang="en")
    assert calls["n"] == 1
    assert " ".join(m.value for m in at2.markdown if "test images are right" in m.value) == first

    # new weights (the file is newer than the saved answers) are classified again
    import os

    w = RunStore().folder(rec.id) / "weights.safetensors"
    st_ = saved.stat()
    os.utime(w, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10**9))
    open_page(app, "pages/errors.py", run_id=rec.id, lang="en")
    assert calls["n"] == 2


def test_errors_progress_says_how_long_is_left(monkeypatch):
    import dlviz.ui.errors_widgets as widgets

    monkeypatch.setattr(widgets, "t", lambda s, **k: s.format(**k) if k else s)
    monkeypatch.setattr(widgets, "seconds_text", lambda s: f"{s:.0f} s")
    text = widgets._classify_text(10000, 0.25, 2.0)
    assert "10,000 test images" in text and "about 6 s left" in text and "kept with the run" in text


def test_tsne_uses_scikit_learn_and_states_a_measured_estimate(app, home, monkeypatch):
    from sklearn.manifold import TSNE

    calls = {"n": 0}
    real = TSNE.fit_transform

    def counting(self, *a, **k):
        calls["n"] += 1
        return real(self, *a, **k)

    monkeypatch.setattr(TSNE, "fit_transform", counting)
    rec = saved_run("mlp")
    at = open_page(app, "pages/embeddings.py", timeout=120, run_id=rec.id, _emb_n=200, _emb_method="tsne", lang="en")
    prompt = at.info[0].value
    assert "a few seconds" not in prompt and "For 200 images it takes about" in prompt, prompt
    at.button(key="_emb_go").click().run()
    assert not at.exception, at.exception
    assert calls["n"] == 1  # scikit-learn's TSNE, not dlviz's slower one
    timings = json.loads((home / "timings.json").read_text())
    assert timings["tsne"] > 0  # the time it took is remembered for the next estimate
    at.select_slider(key="_emb_n").set_value(500).run()
    assert not at.exception, at.exception
    assert "on this computer (measured last time)" in at.info[0].value


def test_wait_progress_text_is_honest():
    from dlviz.ui import waits

    assert waits.progress_text("Working:", 2.0, 6.0) == "Working: 2 s of about 6 s."
    assert "longer than the 6 s it took last time" in waits.progress_text("Working:", 9.0, 6.0)
    assert waits.progress_text("Working:", 3.0, None) == "Working: 3 s so far."


def test_timing_memory_is_a_running_rate(tmp_path):
    from dlviz import timing

    assert timing.estimate("x", 10, default_rate=0.5, home=tmp_path) == 5.0
    timing.remember("x", 4.0, 2.0, home=tmp_path)  # 2 s per unit
    assert timing.estimate("x", 3, default_rate=0.5, home=tmp_path) == pytest.approx(6.0)
    timing.remember("x", 8.0, 2.0, home=tmp_path)  # 4 s per unit: the average moves half way
    assert timing.estimate("x", 1, home=tmp_path) == pytest.approx(3.0)


def test_gradient_experiment_shows_the_preset_and_the_time_left(app, home):
    from test_page_gradients import _page, _trained_run

    from dlviz.runs import RunStore
    from dlviz.ui.state import get_executor

    rid = _trained_run(RunStore(), "mlp")
    at = _page(app, rid)
    help_text = at.button(key="_grad_exp_start").proto.help
    assert "about 52 s on this computer" in help_text, help_text  # no "half a minute on a laptop"
    at.session_state["lang"] = "zh"
    at.button(key="_grad_exp_start").click().run()
    assert not at.exception, at.exception
    exp = at.session_state["_grad_exp"]
    try:
        bars = [p.proto.text for p in at.get("progress")]
        assert any("深层 Sigmoid MLP" in b and "第 1 个，共 3 个" in b and "还需约" in b for b in bars), bars
    finally:
        get_executor().stop(exp["job"])
        get_executor().wait(exp["job"], timeout=60)


def _no_internet(monkeypatch):
    """Every mirror fails as it does offline: a DNS error, counted."""
    import socket
    import urllib.error

    import dlviz.data.download as download

    calls = []

    def fetch(url, *a, **k):
        calls.append(url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(download, "_fetch", fetch)
    return calls


def test_a_failed_download_is_remembered_for_ten_minutes(home, monkeypatch):
    import time

    import dlviz.data.download as download
    from dlviz.data import load_dataset

    calls = _no_internet(monkeypatch)
    monkeypatch.delenv("DLVIZ_DATA_DIR", raising=False)
    first = load_dataset("mnist", allow_download=True)
    assert first.source == "package" and len(calls) == 3  # the three mirrors, once
    template, kwargs = first.notice
    assert "tries again after" in template and "Errno" not in template
    again = load_dataset("mnist", allow_download=True)  # another visit, session or training process
    assert again.source == "package" and len(calls) == 3  # no new wait
    assert again.notice[1]["time"] == kwargs["time"]
    later = time.time() + download.RETRY_AFTER_S + 1  # after ten minutes it tries again
    monkeypatch.setattr(download.time, "time", lambda: later)
    load_dataset("mnist", allow_download=True)
    assert len(calls) == 6


def test_rt_polarity_failure_is_remembered(home, monkeypatch):
    from dlviz.data import load_dataset
    from dlviz.errors import DataError

    calls = _no_internet(monkeypatch)
    monkeypatch.delenv("DLVIZ_DATA_DIR", raising=False)
    for _ in range(2):
        with pytest.raises(DataError, match="download failed"):
            load_dataset("rt-polarity", allow_download=True)
    assert len(calls) == 1


def test_data_page_says_a_failed_download_in_one_sentence(home, monkeypatch):
    import streamlit as st
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest

    calls = _no_internet(monkeypatch)
    monkeypatch.delenv("DLVIZ_DATA_DIR", raising=False)
    monkeypatch.setenv("DLVIZ_OFFLINE", "0")
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    shown = {}
    for lang in ("en", "zh"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        at.session_state["lang"] = lang
        at.session_state["data_dir"] = ""
        at.switch_page("pages/data.py")
        at.run()
        assert not at.exception, at.exception
        texts = [
            e.value
            for kind in ("caption", "info", "warning", "error", "markdown")
            for e in at.get(kind)
            if isinstance(getattr(e, "value", None), str)
        ]
        assert not [x for x in texts if "Errno" in x or "Name or service" in x], texts
        shown[lang] = [x for x in texts if "tries again after" in x or "之后再试" in x]
        st.cache_resource.clear()  # as after a restart: the memory is on disk
    assert len(shown["en"]) == 1 and len(shown["zh"]) == 1, shown
    assert len(calls) == 3  # the second visit did not wait for the mirrors again


def test_checking_saved_weights_shows_a_bar_and_remembers_its_time(app, home, mnist_dir):
    """The Runs page's check scored the test set under a bare spinner; now a bar with an estimate, and the time
    is remembered for the next estimate of that model."""
    from test_page_runs import _runs_page

    rec = saved_run("mlp")
    at = _runs_page(app)
    at.button(key="_runs_check").click().run()
    assert not at.exception, at.exception
    assert any("score" in s.value and "test images" in s.value for s in at.success)
    timings = json.loads((home / "timings.json").read_text())
    assert timings["evaluate:mlp"] > 0
    assert rec.id
