"""The Sequence page (AppTest): hidden states, step changes, gates of a recurrent text model; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from text_page_util import arr, charts, open_text_page, raw_markup, register_text_pages, text_run, tick_texts

PAGE = "pages/sequence.py"


@pytest.fixture(autouse=True)
def _pages(monkeypatch):
    register_text_pages(monkeypatch)


def _page(app, **state):
    return open_text_page(app, PAGE, **state)


def _type(at, text: str):
    at.text_area[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def _subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


def test_no_text_run_shows_guidance(app):
    at = _page(app)
    assert at.title[0].value == "Sequence"
    assert at.info and "no trained text model" in at.info[0].value


def test_lstm_hidden_states_gates_and_memory(app):
    rec = text_run("lstm")
    at = _type(_page(app, run_id=rec.id), "a great movie , funny and moving .")
    assert at.metric[0].label == "The model says"
    assert _subheaders(at) == [
        "How the decision builds up",
        "Hidden state after each word (lstm_1)",
        "How much each word changes the memory",
        "Gates",
        "Memory cell (LSTM)",
    ]
    figs = charts(at)
    assert len(figs) == 6  # probabilities, decision over time, hidden, change, gates, cell
    n = 8
    prefix, hidden, change, gates, cell = figs[1:]
    assert [len(arr(tr["y"])) for tr in prefix["data"]] == [n, n]
    p = np.stack([arr(tr["y"]) for tr in prefix["data"]], axis=1)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    z = arr(hidden["data"][0]["z"])
    assert z.shape == (128, n)  # 128 units x 8 words
    # the last column is the LSTM's final state: what the Dense layer reads
    model, vocab, _ = at.session_state["_txt_models"][(rec.id, "final")]
    from dlviz.modality import encode_sentence

    sent = encode_sentence(vocab, "a great movie , funny and moving .", 56)
    with torch.no_grad():
        final = model.lstm_1(model.embedding_1(sent.ids[None]))[0].numpy()
    np.testing.assert_allclose(z[:, -1], final, atol=1e-5)
    # the prediction after the whole sentence equals the model's answer
    with torch.no_grad():
        probs = torch.softmax(model(sent.ids[None]), -1)[0].numpy()
    np.testing.assert_allclose(p[-1], probs, atol=1e-6)
    assert len(arr(change["data"][0]["y"])) == n
    assert [a["text"].split(":")[0] for a in gates["layout"]["annotations"]] == [
        "Input gate",
        "Forget gate",
        "Output gate",
    ]
    assert arr(cell["data"][0]["z"]).shape == (128, n)
    # sorting the units keeps the same numbers in another order
    at.toggle(key="_seq_sort").set_value(True).run()
    assert not at.exception
    z_sorted = arr(charts(at)[2]["data"][0]["z"])
    np.testing.assert_allclose(np.sort(z_sorted[:, -1])[::-1], z_sorted[:, -1])
    np.testing.assert_allclose(np.sort(z_sorted.ravel()), np.sort(z.ravel()))


def test_bidirectional_gru_has_a_picker_for_each_direction(app):
    rec = text_run("gru")
    at = _type(_page(app, run_id=rec.id), "boring , slow and far too long .")
    picker = at.selectbox(key="_seq_trace")
    assert picker.options == ["gru_1 · reading forwards", "gru_1 · reading backwards"]
    assert "Memory cell (LSTM)" not in _subheaders(at)
    gates = charts(at)[-1]
    assert [a["text"].split(":")[0] for a in gates["layout"]["annotations"]] == ["Reset gate", "Update gate"]
    picker.set_value(1).run()
    assert not at.exception, at.exception
    assert any("reads the sentence from the end" in c.value for c in at.caption)
    assert _subheaders(at)[1] == "Hidden state after each word (gru_1 · reading backwards)"


def test_a_model_without_recurrent_layers_says_so(app):
    rec = text_run("transformer")
    at = _page(app, run_id=rec.id)
    assert at.metric and any("no recurrent layer" in i.value for i in at.info)
    links = at.get("page_link")
    assert links and "attention" in links[0].proto.page
    assert _subheaders(at) == ["How the decision builds up"]  # the curve works for any model


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Type a sentence above"),
        ("   ", "Type a sentence above"),
    ],
)
def test_empty_text(app, text, message):
    rec = text_run("lstm")
    at = _type(_page(app, run_id=rec.id), text)
    assert any(message in i.value for i in at.info)
    assert len(charts(at)) == 0


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script> <img src=x onerror=alert(1)> great movie",
        "great movie \U0001f600\U0001f44d !",
        "\u0641\u064a\u0644\u0645 \u0631\u0627\u0626\u0639",
        "这部 movie 很好看",
        ("great movie " * 900)[:10_000],
    ],
)
def test_hostile_and_odd_text(app, text):
    rec = text_run("lstm")
    at = _type(_page(app, run_id=rec.id), text)
    figs = charts(at)
    assert len(figs) == 6
    for fig in figs[1:]:
        assert not raw_markup(tick_texts(fig)), tick_texts(fig)
    if len(text) == 10_000:
        assert at.warning and "reads only the first 56" in at.warning[0].value
        assert arr(figs[2]["data"][0]["z"]).shape == (128, 56)


def test_chinese_page(app):
    rec = text_run("lstm", language="zh")
    at = _page(app, run_id=rec.id, lang="zh")
    assert at.title[0].value == "序列"
    assert _subheaders(at)[0] == "判断是如何形成的"
    assert {tr["name"] for tr in charts(at)[1]["data"]} == {"负面", "正面"}
    assert "手" in tick_texts(charts(at)[1])
