"""Shared steps of the text page tests: a saved text run (untrained weights, a small vocabulary) in the store."""

from __future__ import annotations

from dlviz.data.tokenize import build_vocab
from dlviz.models import PRESETS, build
from dlviz.models.builder import with_vocab
from dlviz.runs import RunRecord, RunStore

SENTENCES = {
    "en": [
        "a great movie , funny and moving .",
        "a bad film with a weak ending .",
        "the best film of the year !",
        "boring , slow and far too long .",
        "great acting but a dull story .",
        "<script>alert(1)</script>",
    ],
    "zh": ["手机质量很好，非常满意！", "太差了，不推荐。", "物流很快，好评", "屏幕不错 iPhone 12"],
}
DATASET = {"en": "rt-polarity", "zh": "zh-reviews"}
MAX_LEN = {"en": 56, "zh": 100}


def text_run(preset: str, language: str = "en", name: str | None = None, home=None) -> RunRecord:
    """A finished run of the text ``preset`` with untrained weights and its vocabulary, as training saves it."""
    store = RunStore(home)
    vocab = build_vocab(SENTENCES[language], language)
    spec = with_vocab(PRESETS[preset].copy_spec(), len(vocab))
    max_len = MAX_LEN[language]
    built = build(spec, (max_len,), 2, seed=0)
    settings = {
        "optimizer": "adam",
        "lr": 1e-3,
        "batch_size": 64,
        "epochs": 1,
        "kind": "text",
        "language": language,
        "max_len": max_len,
        "vocab_size": len(vocab),
        "classes": ["negative", "positive"],
    }
    rec = store.create(
        name=name or f"{preset} text run",
        dataset=DATASET[language],
        spec=spec,
        settings=settings,
        device="cpu",
        params=built.params,
    )
    store.save_weights(rec.id, built.module.state_dict())
    store.save_record(rec.id, "vocab", vocab.to_json())
    store.update(rec.id, status="finished", test_accuracy=0.5)
    return store.get(rec.id)


TEXT_PAGES = [("attention", "Attention", ":material/hub:"), ("sequence", "Sequence", ":material/timeline:")]


def register_text_pages(monkeypatch) -> None:
    """Make sure the navigation lists the text pages (AppTest.switch_page finds only registered pages)."""
    from dlviz.ui import nav

    have = {name for name, _, _ in nav.LOOK_INSIDE}
    missing = [p for p in TEXT_PAGES if p[0] not in have]
    if missing:
        monkeypatch.setattr(nav, "LOOK_INSIDE", [*nav.LOOK_INSIDE, *missing])


def open_text_page(app, page: str, timeout: float = 120, **state):
    """AppTest of app.py, then ``page`` with ``state`` set (English unless ``lang`` is given); no exception."""
    at = app(timeout=timeout)
    at.run()
    for k, v in {"lang": "en", **state}.items():
        at.session_state[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at) -> list[dict]:
    """The Plotly figures on the page, as JSON dicts."""
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def tick_texts(fig: dict) -> list[str]:
    """Every axis label of a figure (all subplots): tick texts and category names, zero-width spaces removed."""
    out = []
    for k, v in fig["layout"].items():
        if k.startswith(("xaxis", "yaxis")) and isinstance(v, dict):
            out += [str(s).replace("\u200b", "") for s in (v.get("ticktext") or []) + (v.get("categoryarray") or [])]
    return out


def raw_markup(labels: list[str]) -> list[str]:
    """Labels with a '<' or '>' that is not the <i>...</i> dlviz adds for unknown words."""
    return [
        s
        for s in labels
        if "<" in s.replace("<i>", "").replace("</i>", "") or ">" in s.replace("<i>", "").replace("</i>", "")
    ]


def arr(value):
    """A figure's numbers as a NumPy array: plain lists, or Plotly's base64 form {"dtype", "bdata", "shape"}."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            a = a.reshape([int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape)
        return a.astype(float)
    return np.asarray(value, dtype=float)
