"""Words as coloured chips: which words pushed a text model's decision, and which way.

Blue (#0072B2) is a push FOR the class, vermillion (#D55E00) AGAINST it; the strength of the colour is
the word's |score| divided by the largest |score| in the sentence, on the same opacity curve as the image
overlays (dlviz.plots.explain: opacity = 0.85 |s| ** 0.5 over white), so a weak word stays visible next
to a very strong one. Unsigned scores (saliency) use one other colour (reddish purple), "how much it matters,
either way", never the blue of "for". Unknown words (outside the
vocabulary) get a dashed border. Every word is HTML-escaped: the result is safe for ``st.html`` and
``st.markdown(unsafe_allow_html=True)``. ``chips_png`` draws the same with PIL. No streamlit here; labels
come in through ``tr`` (English by default).
"""

from __future__ import annotations

import html
import io
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from dlviz.plots.explain import AGAINST_RGB, FOR_RGB, FRAME_RGB, MATTERS_RGB, TEXT_RGB, _alpha, curves_figure, font
from dlviz.plots.figures import Tr, _en

DARK = "#111827"
LIGHT = "#FFFFFF"
MUTED = "#6B7280"


def scaled_scores(scores) -> np.ndarray:
    """Scores divided by the sentence's largest |score|: in [-1, 1]; all zeros stay zeros; NaN -> 0."""
    s = np.nan_to_num(
        np.asarray(scores.detach().cpu().double() if hasattr(scores, "detach") else scores, dtype=np.float64).reshape(
            -1
        )
    )
    peak = float(np.abs(s).max()) if s.size else 0.0
    return s / peak if peak > 1e-12 else np.zeros_like(s)


def chip_rgb(s: float, signed: bool = True) -> tuple[int, int, int]:
    """The chip's background for a scaled score ``s`` in [-1, 1]: blue or vermillion blended over white;
    ``signed=False``: reddish purple for |s| (how much it matters, either way)."""
    s = float(np.clip(s, -1.0, 1.0))
    colour = np.asarray(MATTERS_RGB if not signed else FOR_RGB if s >= 0 else AGAINST_RGB, np.float64)
    a = float(_alpha(s))
    return tuple(int(round(v)) for v in 255.0 * (1 - a) + colour * a)


def _luminance(rgb) -> float:
    c = np.asarray(rgb, np.float64) / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def text_rgb(bg) -> tuple[int, int, int]:
    """Dark or white text, whichever contrasts more with ``bg`` (WCAG contrast ratio)."""
    lb = _luminance(bg)
    dark, light = _luminance(TEXT_RGB), 1.0
    return (255, 255, 255) if (light + 0.05) / (lb + 0.05) > (lb + 0.05) / (dark + 0.05) else TEXT_RGB


def _hex(rgb) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def _value(v: float) -> str:
    return f"{v:+.2g}" if v != 0 else "0"


def chips_html(
    words: Sequence[str],
    scores,
    unknown: Sequence[bool] | None = None,
    signed: bool = True,
    show_values: bool = True,
    tr: Tr = _en,
    title: str | None = None,
) -> str:
    """One sentence as a row of coloured word chips (an HTML fragment, every word escaped).

    ``scores`` (T,) are the raw scores, one per word; the colours use them scaled by their largest |score|.
    Hovering a chip shows its raw score. ``show_values`` prints it under the word too.
    """
    words = [str(w) for w in words]
    raw = np.nan_to_num(
        np.asarray(scores.detach().cpu().double() if hasattr(scores, "detach") else scores, dtype=np.float64).reshape(
            -1
        )
    )
    if len(raw) != len(words):
        raise ValueError(f"{len(words)} words but {len(raw)} scores")
    s = scaled_scores(raw)
    if not signed:
        s = np.abs(s)
    unknown = list(unknown) if unknown is not None else [False] * len(words)
    parts = []
    if title:
        parts.append(f'<div style="font-size:0.85rem;color:{MUTED};margin:2px 0 4px 0">{html.escape(str(title))}</div>')
    parts.append(
        '<div dir="auto" style="display:flex;flex-wrap:wrap;gap:6px 4px;align-items:flex-start;line-height:1.25">'
    )
    for w, v, sv, unk in zip(words, raw, s, unknown):
        bg = chip_rgb(sv, signed)
        fg = text_rgb(bg)
        border = f"1px dashed {MUTED}" if unk else "1px solid #D1D5DB"
        tip = tr("{word}: {value}", word=w, value=_value(float(v)))
        if unk:
            tip += " · " + tr("unknown to the model")
        shown = html.escape(w, quote=True) if w.strip() else "&nbsp;"
        value = (
            (
                f'<span style="display:block;font-size:0.7rem;color:{MUTED};text-align:center">'
                f"{html.escape(_value(float(v)))}</span>"
            )
            if show_values
            else ""
        )
        parts.append(
            f'<span style="display:inline-block;max-width:100%" title="{html.escape(tip, quote=True)}">'
            f'<span style="display:block;padding:2px 6px;border-radius:6px;border:{border};'
            f'background:{_hex(bg)};color:{_hex(fg)};font-size:1rem;white-space:pre-wrap;'
            f'overflow-wrap:anywhere">'
            f"<bdi>{shown}</bdi></span>{value}</span>"
        )
    parts.append("</div>")
    return "".join(parts)


def legend_html(tr: Tr = _en, signed: bool = True, unsigned: bool = False) -> str:
    """A small key: against (vermillion) ... for (blue), scaled to the sentence's strongest word; with
    ``unsigned`` also (or, ``signed=False``, only) the one-sided key of unsigned scores."""

    def swatch(s, sign=True):
        return (
            f'<span style="display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;'
            f'background:{_hex(chip_rgb(s, sign))};border:1px solid #D1D5DB"></span>'
        )

    parts = []
    if signed:
        steps = "".join(swatch(v) for v in np.linspace(-1, 1, 9))
        parts.append(
            f'<span style="color:{_hex(AGAINST_RGB)}">{html.escape(tr("evidence against"))}</span> '
            f'{steps} <span style="color:{_hex(FOR_RGB)}">{html.escape(tr("evidence for"))}</span>'
        )
    if unsigned or not signed:
        steps = "".join(swatch(v, False) for v in np.linspace(0, 1, 5))
        parts.append(
            f'{steps} <span style="color:{_hex(MATTERS_RGB)}">'
            f'{html.escape(tr("how much it matters, either way (no sign)"))}</span>'
        )
    return (
        f'<div style="font-size:0.8rem;color:{MUTED};margin-top:6px">{" · ".join(parts)} · '
        f'{html.escape(tr("strength relative to the strongest word"))}</div>'
    )


def comparison_html(
    words: Sequence[str],
    attributions: dict,
    titles: dict,
    unknown: Sequence[bool] | None = None,
    tr: Tr = _en,
    timings: bool = True,
    show_values: bool = True,
) -> str:
    """One row of chips per method (``attributions``: key -> TextAttribution, or anything with ``.scores`` and
    ``.signed``), titled with ``titles[key]`` (and the time it took), then the legend."""
    rows = []
    for key, a in attributions.items():
        title = str(titles.get(key, key))
        if getattr(a, "empty", False):
            title = tr("{title} (empty)", title=title)
        if timings and getattr(a, "seconds", None) is not None:
            title = tr("{method}: {ms:.0f} ms", method=title, ms=a.seconds * 1000)
        rows.append(chips_html(words, a.scores, unknown, getattr(a, "signed", True), show_values, tr, title))
    signed = any(getattr(a, "signed", True) for a in attributions.values()) or not attributions
    unsigned = any(not getattr(a, "signed", True) for a in attributions.values())
    return (
        '<div style="display:flex;flex-direction:column;gap:10px">'
        + "".join(rows)
        + "</div>"
        + legend_html(tr, signed, unsigned)
    )


def lines_html(headline: str, lines: Sequence[str]) -> str:
    """A card's headline and lines, escaped (they quote the user's words)."""
    items = "".join(f"<li>{html.escape(str(line))}</li>" for line in lines)
    return (
        f'<div style="font-weight:600;font-size:1.1rem;margin-bottom:4px">{html.escape(str(headline))}</div>'
        f'<ul style="margin:0 0 0 1.2rem;padding:0">{items}</ul>'
    )


# --------------------------------------------------------------------------------------------
# PNG (PIL only)


def _fit(draw, text: str, f, width: float) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` pixels (a 10,000-character 'word' stays one line)."""
    if draw.textlength(text, font=f) <= width:
        return text
    while text and draw.textlength(text + "…", font=f) > width:
        text = text[:-1]
    return text + "…"


def chips_png(
    words: Sequence[str],
    rows: dict,
    unknown: Sequence[bool] | None = None,
    tr: Tr = _en,
    width: int = 900,
    title: str | None = None,
) -> bytes:
    """The chips of one or more methods as a PNG for slides: ``rows`` maps a (translated) title to
    ``(scores, signed)``; words wrap at ``width`` pixels. CJK words render with Noto Sans CJK when installed
    (emoji do not: the font has none)."""
    f, small, head = font(22), font(14), font(18)
    pad_x, pad_y, gap, margin, line_gap = 8, 5, 6, 20, 12
    unknown = list(unknown) if unknown is not None else [False] * len(words)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    chip_h = 22 + 2 * pad_y
    value_h = 18

    def layout(n_words):  # chip boxes (x, y, w) for one sentence, wrapping at width
        boxes, x, y = [], margin, 0
        for w in words[:n_words]:
            cw = int(probe.textlength(str(w) or " ", font=f)) + 2 * pad_x + 2
            cw = min(cw, width - 2 * margin)
            if x + cw > width - margin and x > margin:
                x, y = margin, y + chip_h + value_h + line_gap
            boxes.append((x, y, cw))
            x += cw + gap
        return boxes, y + chip_h + value_h

    boxes, sentence_h = layout(len(words))
    title_h = 34 if title else 0
    block = 28 + sentence_h + 18
    height = margin + title_h + block * max(1, len(rows)) + 70
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    y0 = margin
    if title:
        draw.text((margin, y0), str(title), fill=TEXT_RGB, font=head)
        y0 += title_h
    for name, (scores, signed) in rows.items():
        draw.text((margin, y0), str(name), fill=(75, 85, 99), font=small)
        raw = np.nan_to_num(
            np.asarray(
                scores.detach().cpu().double() if hasattr(scores, "detach") else scores, dtype=np.float64
            ).reshape(-1)
        )
        s = scaled_scores(raw)
        if not signed:
            s = np.abs(s)
        top = y0 + 24
        for (x, y, cw), w, v, sv, unk in zip(boxes, words, raw, s, unknown):
            bg = chip_rgb(sv, signed)
            box = (x, top + y, x + cw, top + y + chip_h)
            draw.rounded_rectangle(
                box, radius=6, fill=bg, outline=(156, 163, 175) if unk else (209, 213, 219), width=2 if unk else 1
            )
            draw.text(
                (x + cw / 2, top + y + chip_h / 2),
                _fit(probe, str(w), f, cw - 2 * pad_x),
                fill=text_rgb(bg),
                font=f,
                anchor="mm",
            )
            label = _value(float(v))
            draw.text((x + cw / 2, top + y + chip_h + 2), label, fill=(107, 114, 128), font=small, anchor="ma")
        y0 += block
    # legend
    bar_w, bar_h = 300, 14
    bx, by = (width - bar_w) // 2, height - 56
    strip = np.linspace(-1, 1, bar_w)
    for i, v in enumerate(strip):
        draw.line((bx + i, by, bx + i, by + bar_h), fill=chip_rgb(v))
    draw.rectangle((bx - 1, by - 1, bx + bar_w, by + bar_h), outline=FRAME_RGB)
    against, evid_for = tr("evidence against"), tr("evidence for")
    draw.text((bx - 10 - probe.textlength(against, font=small), by), against, fill=AGAINST_RGB, font=small)
    draw.text((bx + bar_w + 10, by), evid_for, fill=FOR_RGB, font=small)
    caption = tr("strength relative to the strongest word")
    draw.text(
        ((width - probe.textlength(caption, font=small)) / 2, by + bar_h + 8), caption, fill=(75, 85, 99), font=small
    )
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Sanity-check figures over words


def word_curves_figure(curves, tr: Tr = _en):
    """The deletion and insertion curves of dlviz.plots.explain.curves_figure, over words."""
    fig = curves_figure(curves, tr=tr)
    fig.update_xaxes(title=tr("share of words removed (deletion) or put back (insertion)"))
    return fig
