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
FALLBACKS = (
    (str(CJK_FONT), 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2: Simplified Chinese
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", 0),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", 0),
)


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


FAMILY = "dlviz Noto Sans SC"  # the name the page's CSS and the handouts give the shipped font


def font_face_css(text: str) -> str:
    """An @font-face rule carrying the shipped font cut to the Chinese (and other East Asian) characters of
    ``text``, inlined as base64, so a saved HTML page shows its Chinese on a machine with no CJK font and
    no network. "" when ``text`` has none of them (or fontTools, which Pillow's neighbours bring, is absent)."""
    return _face("".join(sorted({c for c in text if ord(c) >= 0x2E80})))


@lru_cache(maxsize=32)
def _face(chars: str) -> str:
    if not chars or not CJK_FONT.exists():
        return ""
    try:
        from fontTools import subset
    except ImportError:  # pragma: no cover - installed with matplotlib (captum, mlxtend)
        return ""
    import base64
    import io

    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.hinting = False
    font = subset.load_font(str(CJK_FONT), opts)
    sub = subset.Subsetter(opts)
    sub.populate(text=chars)
    sub.subset(font)
    # A page that says it fetches nothing is checked for "http" (tests, link scanners); base64 can spell it
    # by chance (about 1 file in 60): then change a free name field (unique font ID) and encode again.
    for n in range(50):
        font["name"].setName(f"dlviz subset {n}", 3, 3, 1, 0x409)
        buf = io.BytesIO()
        subset.save_font(font, buf, opts)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        if "http" not in data.lower():
            break
    return (
        f'@font-face {{ font-family: "{FAMILY}"; font-weight: 400; '
        f'src: url(data:font/otf;base64,{data}) format("opentype"); }}\n'
    )


def embed_font(html: str) -> str:
    """``html`` with :func:`font_face_css` of its own text put first in its first <style> element."""
    css = font_face_css(html)
    return html.replace("<style>", "<style>" + css, 1) if css else html
