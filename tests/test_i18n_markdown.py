"""Every translated string that carries Markdown bold renders as bold, not as literal asterisks.

Streamlit renders text with a CommonMark parser, whose "flanking" rules decide whether ``**`` may
open or close bold. A closing ``**`` right after punctuation and right before a letter cannot
close: ``**模型:**lstm`` (issue 13, bug 4) shows its asterisks. The rules are applied here as the
CommonMark spec words them (section 6.2, delimiter runs; Unicode punctuation is categories P and S),
on every zh entry with its {placeholders} filled by letters, the worst case for a closing run.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from dlviz.i18n import catalogue


def _punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _space(ch: str) -> bool:
    return ch == "" or ch.isspace()


def unclosed_bold(text: str) -> list[int]:
    """Positions of the ``**`` runs CommonMark leaves as literal asterisks (nothing to pair with)."""
    text = re.sub(r"`[^`]*`", "c", text)  # code spans hold no emphasis
    text = re.sub(r"\\.", "e", text)  # nor do backslash escapes
    openers: list[int] = []
    bad: list[int] = []
    for m in re.finditer(r"\*+", text):
        s, e = m.span()
        if e - s != 2:
            continue
        before = text[s - 1] if s else ""
        after = text[e] if e < len(text) else ""
        left = not _space(after) and (not _punct(after) or _space(before) or _punct(before))
        right = not _space(before) and (not _punct(before) or _space(after) or _punct(after))
        if right and openers:
            openers.pop()
        elif left:
            openers.append(s)
        else:
            bad.append(s)
    return bad + openers


def filled(template: str) -> str:
    return re.sub(r"\{[^{}]*\}", "lstm", template)


def test_the_check_sees_the_bug_of_issue_13():
    assert unclosed_bold("**模型:**lstm,109,386 个参数。**数据:**MNIST。")
    assert unclosed_bold("**模型：**lstm")
    assert not unclosed_bold("**模型**：lstm，109,386 个参数。**数据**：MNIST。")
    assert not unclosed_bold("**Model:** lstm, 109,386 parameters. **Data:** MNIST.")
    assert not unclosed_bold("`**` and \\*\\* are not bold")


ZH_MARKDOWN = sorted((k, v) for k, v in catalogue("zh").items() if "**" in k or "**" in v)


def test_there_are_zh_strings_with_markdown():
    assert len(ZH_MARKDOWN) >= 4  # the Train, Errors and baseline lines at least


@pytest.mark.parametrize("english, chinese", ZH_MARKDOWN, ids=[k[:40] for k, _ in ZH_MARKDOWN])
def test_zh_bold_renders(english, chinese):
    assert "**" not in english or not unclosed_bold(filled(english)), english
    assert not unclosed_bold(filled(chinese)), f"literal ** would show in: {chinese}"
