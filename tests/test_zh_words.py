"""Chinese pages speak Chinese: no English left in the options a student picks from (issue 13, Words)."""

from __future__ import annotations

import re

from page_util import open_page

# names that stay as they are in Chinese text
NAMES = {"Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "SGD", "GPU", "CPU", "bf16", "cpu", "cuda", "TF", "IDF"}


def _english_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", text) if w not in NAMES and not w.startswith("cuda")]


def test_train_page_selects_read_in_chinese(app):
    at = open_page(app, "pages/train.py", lang="zh")
    for key in ("_tr_device", "_tr_optimizer", "_tr_schedule", "_tr_precision"):
        options = at.selectbox(key=key).options
        assert options, key
        left = {o: _english_words(o) for o in options if _english_words(o)}
        assert not left, f"{key}: {left}"
    assert "先预热，再余弦衰减" in at.selectbox(key="_tr_schedule").options
    assert "自动（有 GPU 就用 GPU）" in at.selectbox(key="_tr_device").options
    assert "SGD（带动量）" in at.selectbox(key="_tr_optimizer").options


def test_english_word_check_can_fail():
    assert _english_words("Warm-up then cosine decay") and _english_words("auto (GPU if found)")
    assert not _english_words("自动（有 GPU 就用 GPU）")
