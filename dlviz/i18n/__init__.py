"""One translation function for every string a user sees.

Source strings are English and double as keys (gettext style): ``translate("Train", "zh")``.
Chinese catalogues live in ``dlviz/i18n/zh/*.json`` (one file per area, merged at import, so
parallel work does not collide). ``tests/test_i18n.py`` extracts every literal passed to ``t(...)``,
``translate(...)`` and the ``*Error(...)`` classes and checks that each has a Chinese entry whose
``{placeholders}`` match.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANG = "en"
_HERE = Path(__file__).parent


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The merged catalogue for ``lang`` (empty for English, whose keys are the text)."""
    if lang == "en":
        return {}
    merged: dict[str, str] = {}
    folder = _HERE / lang
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translate(text: str, lang: str | None = None, /, **kwargs) -> str:
    """``text`` in ``lang`` (falls back to English), with ``{name}`` placeholders filled."""
    lang = lang or os.environ.get("DLVIZ_LANG", DEFAULT_LANG)
    out = catalogue(lang).get(text, text) if lang in LANGUAGES else text
    if kwargs:
        try:
            out = out.format(**kwargs)
        except (KeyError, IndexError, ValueError):
            out = text.format(**kwargs)
    return out


def t(text: str, /, **kwargs) -> str:
    """Translate with the language from ``DLVIZ_LANG`` (the CLI's default)."""
    return translate(text, None, **kwargs)


def N_(text: str) -> str:
    """Mark a template for translation where it is stored, not shown (translated later with t)."""
    return text
