"""The glossary: a plain sentence (en and zh) for the jargon on the pages, one click away (issue 13)."""

from __future__ import annotations

import re

import pytest
from page_util import open_page

from dlviz.glossary import BY_KEY, ENTRIES, help_text, search
from dlviz.i18n import catalogue

# the words the issue names, and where a student meets them
NAMED = [
    "rank-correlation",
    "knn",
    "completeness",
    "deletion",
    "cpu-threads",
    "bf16",
    "stride",
    "logits",
    "softmax",
    "epoch",
    "batch",
    "learning-rate",
    "schedule",
    "dropout",
]


def test_the_issues_words_have_entries():
    assert set(NAMED) <= set(BY_KEY)
    for e in ENTRIES:
        assert e.text.endswith(".") and len(e.text) > 40, e.key  # a sentence, not a stub
        assert e.pages, e.key


def test_every_entry_reads_in_chinese():
    zh = catalogue("zh")
    for e in ENTRIES:
        assert e.term in zh and e.text in zh, e.key
        assert re.search(r"[\u4e00-\u9fff]", zh[e.text]) and zh[e.text].endswith("。"), e.key


def test_search_finds_a_word_in_either_language():
    assert [e.key for e in search("stride")] == ["stride"]
    assert "stride" in [e.key for e in search("步长", "zh")] and len(search("步长", "zh")) < 5
    assert search("") == list(ENTRIES)
    assert search("no such word at all") == []


def test_tooltip_carries_the_sentence_and_the_way_to_the_glossary():
    en, zh = help_text("bf16", "cpu-threads"), help_text("bf16", "cpu-threads", lang="zh")
    assert BY_KEY["bf16"].text in en and BY_KEY["cpu-threads"].text in en and "Glossary" in en
    assert "术语表" in zh and catalogue("zh")[BY_KEY["bf16"].text] in zh


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_glossary_page_lists_and_filters(app, lang):
    at = open_page(app, "pages/glossary.py", lang=lang)
    heads = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert len(heads) == len(ENTRIES)
    if lang == "zh":
        assert at.title[0].value == "术语表" and "#### 步长" in heads
    at.text_input(key="_gloss_query").set_value("stride" if lang == "en" else "步长").run()
    heads = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert ("#### Stride" if lang == "en" else "#### 步长") in heads and len(heads) <= 3
    at.text_input(key="_gloss_query").set_value("zzzz").run()
    assert at.info and not [m for m in at.markdown if m.value.startswith("#### ")]


def test_train_and_build_widgets_carry_glossary_tooltips(app):
    at = open_page(app, "pages/train.py")
    assert BY_KEY["schedule"].text in at.selectbox(key="_tr_schedule").help
    assert BY_KEY["seed"].text in at.number_input(key="_tr_seed").help
    at = open_page(
        app,
        "pages/build.py",
        spec={
            "name": "c",
            "layers": [
                {"type": "conv2d", "out": 4, "kernel": 3, "stride": 1, "padding": 1},
                {"type": "flatten"},
                {"type": "dense", "units": 10},
            ],
        },
    )
    helps = [w.help or "" for w in at.number_input]
    assert any(BY_KEY["stride"].text in h for h in helps)
