"""The one font of every picture dlviz draws with PIL (PNG exports, labelled grids).

``assets/fonts/NotoSansSC-dlviz.otf`` ships with dlviz (Noto Sans SC cut to everyday Chinese, Latin and
punctuation; assets/fonts/make_font.py), so a Chinese title draws as characters even on a machine with no
CJK font installed. The browser loads the same file (.streamlit/config.toml, [[theme.fontFaces]]).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CJK_FONT = ASSETS / "fonts" / "NotoSansSC-dlviz.otf"
# where the shipped file is missing (a partial copy of the repo): an installed CJK font, else DejaVu
FALLBACKS = ((str(CJK_FONT), 0),
             ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2: Simplified Chinese
             ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
             ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
             ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
             ("/usr/share/fonts/TTF/DejaVuSans.ttf", 0),
             ("/usr/share/fonts/dejavu/DejaVuSans.ttf", 0))


@lru_cache(maxsize=None)
def font_file() -> tuple[str, int] | None:
    """(path, face index) of the first font in FALLBACKS that loads."""
    for path, index in FALLBACKS:
        if Path(path).exists():
            try:
                ImageFont.truetype(path, 12, index=index)
            except OSError:
                continue
            return path, index
    return None


@lru_cache(maxsize=64)
def font(px: int):
    """A font ``px`` pixels high that draws Chinese as well as Latin text (PIL's own as the last resort)."""
    found = font_file()
    if found is not None:
        return ImageFont.truetype(found[0], px, index=found[1])
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # pragma: no cover - Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()
