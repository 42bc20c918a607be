"""Issue 12, item 8: the classic baseline is a comparison, said truthfully beside both numbers, not a bar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlviz.i18n import translate
from dlviz.train.baseline import comparison

ROOT = Path(__file__).resolve().parents[1]


def test_counting_words_winning_is_said_plainly():
    template, kwargs = comparison(0.781, 0.755, 6824)
    text = translate(template, "en", **kwargs)
    assert "counting words is hard to beat" in text and "2.6 points higher" in text and "6,824" in text
    zh = translate(template, "zh", **kwargs)
    assert "很难被超越" in zh and "2.6" in zh


def test_a_tie_and_a_network_win_are_said_too():
    tie = comparison(0.775, 0.771, 6824)
    assert "less than one point apart" in tie[0]
    win = comparison(0.80, 0.85, 6824)
    assert "The network scored" in win[0] and win[1]["points"] == pytest.approx(5.0)
    assert comparison(0.8, None, 10) is None


def test_no_page_or_doc_calls_the_baseline_a_bar_to_clear():
    files = [*ROOT.glob("dlviz/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py", ROOT / "README.md",
             *ROOT.glob("docs/*.md"), *ROOT.glob("dlviz/i18n/zh/*.json")]
    bad = re.compile(r"must clear|bar the deep|bar for the deep|deep models must beat|必须超过的门槛", re.I)
    hits = [f"{p.relative_to(ROOT)}" for p in files if p.is_file() and bad.search(p.read_text(encoding="utf-8"))]
    assert not hits, hits
