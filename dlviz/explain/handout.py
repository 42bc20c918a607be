"""A one-page HTML handout of one explanation: the maps (a picture, or rows of coloured words), the card, the checks.

The page is self-contained (inline CSS, the picture as a base64 PNG, no script, nothing fetched from
the network), so it opens offline and can be mailed or printed; ``@page`` sets A4 and the picture is
capped in height so that it prints on one sheet. Every string that comes from the user or the model
(title, class names inside the card, the check lines) is escaped. No streamlit here.
"""

from __future__ import annotations

import base64
import datetime
import html
from typing import Sequence

from dlviz.explain.card import Card, verdict_title
from dlviz.i18n import translate
from dlviz.plots.explain import comparison_png
from dlviz.plots.fonts import embed_font
from dlviz.plots.text import comparison_html

HTML_LANG = {"en": "en", "zh": "zh-CN"}
VERDICT_COLOURS = {"trust": "#0072B2", "caution": "#E69F00", "doubt": "#D55E00"}  # Okabe-Ito

CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Sans", "dlviz Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "Segoe UI", Helvetica, Arial, sans-serif; color: #111827; font-size: 10.5pt; line-height: 1.4;
       max-width: 186mm; margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 1mm; }
h2 { font-size: 13pt; margin: 0 0 2mm; }
h3 { font-size: 11pt; margin: 3mm 0 1mm; }
.meta { color: #4B5563; font-size: 9pt; margin: 0 0 3mm; }
.card { border: 1px solid #D1D5DB; border-left: 5px solid var(--verdict); border-radius: 4px; padding: 3mm 4mm;
        margin: 0 0 3mm; break-inside: avoid; }
.badge { display: inline-block; background: var(--verdict); color: #fff; font-weight: 600; font-size: 9pt;
         border-radius: 3px; padding: 0.4mm 2mm; margin-bottom: 1.5mm; }
ul { margin: 0; padding-left: 5mm; }
li { margin: 0.6mm 0; }
figure { margin: 0 0 2mm; text-align: center; break-inside: avoid; }
figure img { max-width: 100%; max-height: 105mm; height: auto; }
figcaption { color: #4B5563; font-size: 9pt; }
section { break-inside: avoid; }
@media print { body { padding: 0; } }
"""


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _page(
    title: str, card: Card, checks_lines: list[str], body: str, how_to_read: str, lang: str, date: str | None
) -> str:
    """The one handout page: ``title``, the date, the card (its lines less the checks), ``body`` (HTML the
    caller built and escaped: the picture, or the rows of word chips), the checks (``checks_lines``, else the
    card's own ``check_lines``) and ``how_to_read`` (translated, escaped here)."""
    tr = lambda text, **kw: translate(text, lang, **kw)  # noqa: E731
    date = date or datetime.date.today().isoformat()
    colour = VERDICT_COLOURS.get(card.verdict, VERDICT_COLOURS["caution"])
    own = set(getattr(card, "check_lines", []))
    checks = [str(x) for x in checks_lines] or list(getattr(card, "check_lines", []))
    card_lines = [x for x in card.lines if x not in own and x not in checks]  # each check reported once, below
    items = "\n".join(f"    <li>{_e(x)}</li>" for x in card_lines)
    check_items = (
        "\n".join(f"    <li>{_e(x)}</li>" for x in checks)
        if checks
        else f"    <li>{_e(tr('No sanity check has been run yet.'))}</li>"
    )
    # the Chinese characters ride along (dlviz.plots.fonts): the file reads on a machine with no CJK font
    return embed_font(f"""<!DOCTYPE html>
<html lang="{_e(HTML_LANG.get(lang, lang))}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body style="--verdict: {colour}">
<h1>{_e(title)}</h1>
<p class="meta">{_e(tr("Made with dlviz on {date}.", date=date))}</p>
<div class="card">
  <span class="badge">{_e(verdict_title(card.verdict, lang))}</span>
  <h2>{_e(card.headline)}</h2>
  <ul>
{items}
  </ul>
</div>
{body}
<section>
  <h3>{_e(tr("Sanity checks"))}</h3>
  <ul>
{check_items}
  </ul>
</section>
<section>
  <h3>{_e(tr("How to read this"))}</h3>
  <p>{_e(how_to_read)}</p>
</section>
</body>
</html>
""")


def handout_html(
    title: str,
    image,
    attributions: dict,
    titles: dict,
    card: Card,
    checks_lines: list[str],
    lang: str = "en",
    date: str | None = None,
    png: bytes | None = None,
) -> str:
    """One self-contained HTML page for an image: ``title``, the date, the card, the comparison of
    ``attributions`` (titled by ``titles``, already translated), ``checks_lines`` (one translated line per
    sanity check) and a short "how to read this". ``png``: that comparison already drawn in ``lang`` (the Explain
    page offers it as a download too: drawing it once saves 0.08 s), else drawn here."""
    tr = lambda text, **kw: translate(text, lang, **kw)  # noqa: E731
    if png is None:
        png = comparison_png(image, attributions, titles, tr=tr)
    png = base64.b64encode(png).decode("ascii")
    alt = _e(tr("The input and each method's map over it"))
    caption = _e(
        tr(
            "Blue: evidence for the class. Vermillion: evidence against it. Each map is scaled to "
            "its method's strongest value."
        )
    )
    figure = f"""<figure>
  <img alt="{alt}" src="data:image/png;base64,{png}">
  <figcaption>{caption}</figcaption>
</figure>"""
    how = tr(
        "Each picture shows the digit in grey with one method's answer on top. Blue marks pixels that pushed "
        "the model towards its answer, vermillion pixels that pushed it away; where there is no colour the "
        "pixel hardly mattered. The methods measure different things, so trust what they share more than "
        "what one of them shows alone. The sanity checks test whether the picture really depends on the "
        "model: a failed check means it may look convincing without explaining the decision."
    )
    return _page(title, card, checks_lines, figure, how, lang, date)


def text_handout_html(
    title: str,
    words: Sequence[str],
    attributions: dict,
    titles: dict,
    card,
    unknown: Sequence[bool] | None = None,
    lang: str = "en",
    date: str | None = None,
) -> str:
    """One self-contained HTML page for a sentence: ``title``, the card, one row of chips per method and the
    checks (the card's ``check_lines``), in the image handout's print layout. Every word and line escaped."""
    tr = lambda text, **kw: translate(text, lang, **kw)  # noqa: E731
    chips = f"<section>\n{comparison_html(words, attributions, titles, unknown, tr=tr)}\n</section>"
    how = tr(
        "Each row shows the sentence as the model read it, coloured by one method. Blue marks words that "
        "pushed the model towards the class, vermillion words that pushed it away; the stronger the colour, "
        "the stronger the push, relative to the row's strongest word. A dashed border marks a word the model "
        "does not know. The methods measure different things, so trust what they share more than what one of "
        "them shows alone. The sanity checks test whether the colours really depend on the model."
    )
    return _page(title, card, [], chips, how, lang, date)
