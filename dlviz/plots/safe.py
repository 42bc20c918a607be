"""User strings made safe for Plotly text: ``as_text(s)``.

Plotly renders a subset of HTML in titles, legends, tick labels, hover text and annotations
(``<a href>``, ``<b>``, ``<br>``, ``<i>``, ``<span style>``...): a run named ``<a href="http://...">``
would become a link on the Runs page's chart. ``as_text`` escapes ``&``, ``<`` and ``>``; Plotly.js turns
the entities back into characters when it draws, so the user sees exactly what they typed.
Every builder in dlviz.plots applies it where a run name, class name, token or file name enters a figure,
so callers pass raw strings (escaping twice would show ``&lt;``). (Not named ``text``: the submodule
dlviz.plots.text would replace it on the package once imported.)
"""

from __future__ import annotations

import html


def as_text(s) -> str:
    """``s`` as Plotly text that shows its literal characters (no HTML is rendered)."""
    return html.escape(str(s), quote=False)
