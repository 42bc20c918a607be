"""Every string a user sees goes through one translation function and has a Chinese entry.

Extracts the literal first argument of every call to ``t``, ``tr`` (the translate function the figure
builders in dlviz/plots take), ``translate``, ``N_`` and ``*Error`` in
app.py, pages/ and dlviz/, and checks the zh catalogue has it with the same {placeholders}.
"""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from dlviz.i18n import LANGUAGES, catalogue, translate

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "dlviz").rglob("*.py"))]


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def extract() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = _name(node.func)
            if name in ("t", "tr", "translate", "N_") or (name.endswith("Error") and name[0].isupper()):
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.strip():
                    found.setdefault(arg.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


STRINGS = extract()


def test_extraction_finds_the_app_strings():
    assert len(STRINGS) > 100
    assert "Train" in STRINGS


def test_every_string_has_chinese():
    zh = catalogue("zh")
    missing = [f"{where}: {s!r}" for s, where in STRINGS.items() if s not in zh]
    assert not missing, f"{len(missing)} strings lack a zh translation:\n" + "\n".join(missing[:60])


def test_placeholders_match():
    zh = catalogue("zh")
    bad = [s for s in STRINGS if s in zh and _fields(s) != _fields(zh[s])]
    assert not bad, bad[:20]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_translate_fills_placeholders(lang):
    out = translate("Run: {name}", lang, name="x")
    assert "x" in out and "{" not in out


def test_navigation_titles_have_chinese():
    from dlviz.ui.nav import LOOK_INSIDE

    zh = catalogue("zh")
    assert [title for _, title, _ in LOOK_INSIDE if title not in zh] == []


def test_unknown_language_falls_back_to_english():
    assert translate("Train", "xx") == "Train"


def test_no_string_is_translated_two_ways():
    """Catalogues are merged in file order, so a key in two files with different Chinese silently picks the
    later one (a Build setting "Filters" once renamed the Filters page)."""
    import json
    from pathlib import Path

    seen, clashes = {}, []
    for f in sorted((Path(__file__).resolve().parents[1] / "dlviz" / "i18n" / "zh").glob("*.json")):
        for k, v in json.loads(f.read_text(encoding="utf-8")).items():
            if k in seen and seen[k][1] != v:
                clashes.append((k, seen[k][0], f.name))
            seen.setdefault(k, (f.name, v))
    assert clashes == []


# Chinese sentences take full-width punctuation: ，。：；？！ and （） after (or before) a Chinese character.
# Left alone: `code`, {placeholders}, "quoted ASCII", URLs and calls like f(x) or Dense(64).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_KEEP = re.compile(r'`[^`]*`|\{[^{}]*\}|https?://\S+|"[ -~]*?"|[A-Za-z]\w*\([^()]*\)')
_HALF = [
    re.compile(rf"[{_CJK}](?:\*\*)?(?:[,:;?!]|\.(?![\w/]))"),  # 网络,用  模型:  结束.
    re.compile(rf"[,:;?!](?:\*\*)?\s*[{_CJK}]"),  # GPU,有
    re.compile(rf"[{_CJK}]\(|\)[{_CJK}]"),
]  # 文件夹(可选)


def _half_width_in_chinese(text: str) -> list[str]:
    plain = _KEEP.sub("\u2026", text)
    return [m.group() for rx in _HALF for m in rx.finditer(plain)]


def test_half_width_check_catches_what_it_should():
    assert _half_width_in_chinese("网络,用") and _half_width_in_chinese("GPU,有") and _half_width_in_chinese("结束.")
    assert _half_width_in_chinese("数据文件夹(可选)") and _half_width_in_chinese("**模型:**lstm")
    assert not _half_width_in_chinese(
        "网络，用 GPU。完备性：f(输入) - f(基线) = {diff:.4f}；`python {file} 数据`，例如 --text \"a, b\""
    )
    assert not _half_width_in_chinese("压缩到 (0, 1) 之间，文件 .json 或 model.py。")


@pytest.mark.parametrize("path", sorted((ROOT / "dlviz/i18n/zh").glob("*.json")), ids=lambda p: p.name)
def test_chinese_uses_full_width_punctuation(path):
    bad = {
        v: hits for v in json.loads(path.read_text(encoding="utf-8")).values() if (hits := _half_width_in_chinese(v))
    }
    assert not bad, f"{path.name}: half-width punctuation in Chinese: {bad}"
