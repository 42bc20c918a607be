"""Remake NotoSansSC-dlviz.otf: Noto Sans SC (SIL OFL 1.1, see OFL.txt) cut down to what dlviz shows.

It keeps the 6,763 Chinese characters of GB2312 (everyday Simplified Chinese) with its symbols, every
character of dlviz/i18n/zh/*.json, ASCII, Latin-1, general punctuation, CJK punctuation and full-width
forms: 1.7 MB instead of 8.3 MB. The page (through Streamlit's static serving, .streamlit/config.toml)
and the PNG exports (dlviz/plots/fonts.py) both use it, so Chinese reads on a machine with no CJK font.

    pip download --no-deps pylopdf-fonts-zh-cn    # a wheel holding NotoSansSC-Regular.otf (Noto CJK 2.004)
    unzip pylopdf_fonts_zh_cn-*.whl 'pylopdf_fonts_zh_cn/NotoSansSC-Regular.otf'
    pip install fonttools
    python assets/fonts/make_font.py pylopdf_fonts_zh_cn/NotoSansSC-Regular.otf

tests/test_offline.py fails when a Chinese string uses a character the font lacks: rerun this then.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "NotoSansSC-dlviz.otf"


def characters() -> str:
    chars: set[str] = set()
    for b1 in range(0xA1, 0xF8):  # GB2312: rows A1-A9 symbols, B0-F7 the 6,763 hanzi
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for path in sorted((ROOT / "dlviz/i18n/zh").glob("*.json")):
        chars |= set("".join(json.loads(path.read_text(encoding="utf-8")).values()))
    for lo, hi in ((0x20, 0x7F), (0xA0, 0x180), (0x2000, 0x2070), (0x3000, 0x3040), (0xFF00, 0xFFF0)):
        chars |= {chr(c) for c in range(lo, hi)}
    return "".join(sorted(chars))


def main(source: str) -> None:
    from fontTools import subset

    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.hinting = False
    font = subset.load_font(source, opts)
    sub = subset.Subsetter(opts)
    sub.populate(text=characters())
    sub.subset(font)
    subset.save_font(font, str(OUT), opts)
    print(f"{OUT}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
