"""A lesson's one-page worksheet: its questions, the student's guesses, what happened (the reveal and the
measured numbers) and the runs' validation curves, as one self-contained HTML page (inline CSS and SVG, the
font embedded, nothing fetched), printable on A4, in English or Chinese. Built like Explain's handout
(dlviz.explain.handout: the same CSS and font embedding). No streamlit.
"""

from __future__ import annotations

import datetime
import html

from dlviz.errors import DlvizError
from dlviz.explain.handout import CSS, HTML_LANG
from dlviz.i18n import translate
from dlviz.plots.fonts import embed_font

COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")  # Okabe-Ito
EXTRA_CSS = """
.q { border: 1px solid #D1D5DB; border-radius: 4px; padding: 3mm 4mm; margin: 0 0 3mm; break-inside: avoid; }
.guess { color: #374151; } .right { color: #047857; } .wrong { color: #B45309; }
svg { display: block; margin: 1mm 0; }
.legend span { margin-right: 4mm; font-size: 9pt; }
"""


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def curves_svg(runs, tr, width: int = 520, height: int = 150) -> str:
    """Validation accuracy per epoch of each run, one colour per run, on one small chart (inline SVG)."""
    series = [(r.name, [(row[1], row[3]) for row in (r.metrics or {}).get("val") or []]) for r in runs]
    series = [(name, pts) for name, pts in series if pts]
    if not series:
        return ""
    x_max = max(max(x for x, _ in pts) for _, pts in series) or 1.0
    left, bottom, top, right = 40, 20, 8, 8
    w, h = width - left - right, height - top - bottom

    def px(x, y):
        return left + w * x / x_max, top + h * (1 - y)

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for y in (0.0, 0.5, 1.0):
        _, yy = px(0, y)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#E5E7EB"/>')
        parts.append(f'<text x="{left - 4}" y="{yy + 3:.1f}" font-size="9" text-anchor="end">{y:.0%}</text>')
    parts.append(
        f'<text x="{left + w / 2}" y="{height - 4}" font-size="9" text-anchor="middle">{_e(tr("epoch"))}</text>'
    )
    legend = []
    for k, (name, pts) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        if len(pts) == 1:
            pts = [(0.0, pts[0][1]), pts[0]]
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(x, y) for x, y in pts))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        legend.append(f'<span style="color:{colour}">&#9632; {_e(name)}</span>')
    parts.append("</svg>")
    return "".join(parts) + f'<div class="legend">{"".join(legend)}</div>'


def worksheet_html(lesson, progress: dict, store, lang: str = "en", date: str | None = None) -> str:
    """The worksheet of ``lesson`` for one student's ``progress`` (answers, reveals, runs)."""
    tr = lambda text, **kw: translate(text, lang, **kw)  # noqa: E731
    date = date or datetime.date.today().isoformat()
    answers, reveals = progress.get("answers") or {}, progress.get("reveals") or {}
    blocks = []
    n = 0
    for step in lesson.steps:
        q = step.question
        if q is None:
            continue
        n += 1
        guess = answers.get(step.id)
        rows = [f"<h3>{n}. {_e(q.prompt(lang))}</h3>"]
        rows.append(
            '<p class="guess">'
            + _e(tr("Your guess: {guess}", guess=q.choices[guess](lang) if guess is not None else "-"))
            + "</p>"
        )
        rev = reveals.get(step.id)
        if rev is None:
            rows.append(f"<p>{_e(tr('Not revealed yet: finish this step in the app.'))}</p>")
        else:
            if q.answer is not None:
                ok = guess == q.answer
                text = (
                    tr("Right: {answer}", answer=q.choices[q.answer](lang))
                    if ok
                    else tr("Not quite: the answer is {answer}", answer=q.choices[q.answer](lang))
                )
                rows.append(f'<p class="{"right" if ok else "wrong"}">{_e(text)}</p>')
            rows.append(f"<p>{_e(q.reveal(lang))}</p>")
            lines = [
                tr(tpl, **{k: tr(v) if isinstance(v, str) else v for k, v in args.items()})
                for tpl, args in rev.get("lines") or []
            ]
            if lines:
                rows.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>")
            runs = []
            for rid in rev.get("runs") or []:
                try:
                    runs.append(store.get(rid))
                except DlvizError:
                    continue
            rows.append(curves_svg(runs, tr))
        blocks.append('<section class="q">' + "\n".join(rows) + "</section>")
    if not blocks:
        blocks.append(f"<p>{_e(tr('This lesson asks no questions.'))}</p>")
    title = tr("Worksheet: {lesson}", lesson=lesson.title(lang))
    return embed_font(f"""<!DOCTYPE html>
<html lang="{_e(HTML_LANG.get(lang, lang))}">
<head><meta charset="utf-8"><title>{_e(title)}</title>
<style>{CSS}{EXTRA_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="meta">{_e(tr("dlviz lesson worksheet"))} · {_e(date)} · {_e(tr("Name:"))} ____________________</p>
<p>{_e(lesson.summary(lang))}</p>
{"".join(blocks)}
</body></html>
""")
