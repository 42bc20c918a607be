"""User strings made safe for Plotly text: ``text(s)``.

Plotly renders a subset of HTML in titles, legends, tick labels, hover text and annotations
(``<a href>``, ``<b>``, ``<br>``, ``<i>``, ``<span style>``...): a run named ``<a href="http://...">``
would become a link on the Runs page's chart. ``text`` escapes ``&``, ``<`` and ``>``; Plotly.js turns
the entities back into characters when it draws, so the user sees exactly what they typed.
Every builder in dlviz.plots applies it where a run name, class name, token or file name enters a figure,
so callers pass raw strings (escaping twice would show ``&lt;``).
"""

from __future__ import annotations

import html


def text(s) -> str:
    """``s`` as Plotly text that shows its literal characters (no HTML is rendered)."""
    return html.escape(str(s), quote=False)
