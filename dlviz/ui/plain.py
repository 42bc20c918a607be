"""User strings shown as text: ``plain(s)`` escapes what Markdown would render.

Run names, model names, CSV labels and file names, typed sentences and error details reach
``st.markdown``, ``st.caption``, ``st.info``/``st.error``, subheaders and widget labels, which all render
Markdown: a run renamed ``![x](http://host/p.png)`` would be drawn as an image the browser fetches.
Everything such a string could start is escaped with a backslash (CommonMark shows the character
itself): images, links, emphasis, code, HTML, maths (``$``), Streamlit's ``:red[...]`` and
``:material/icon:`` directives and emoji shortcodes (``:``), and a heading, list or quote at the start.
Bare ``www.``, ``http://`` and e-mail autolinks are found after escapes are read, so a zero-width space
goes inside them (``http:/<ZWSP>/``): they stay text, and read the same. Newlines become spaces, so no
new block can begin.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|:{}!@&])")
# GFM autolinks are found in the text after escapes are read: a zero-width space breaks them up instead
_AUTOLINK = re.compile(r"(?i)(://|\bwww\.|@)")
_ZWSP = "\u200b"
_LEADING = re.compile(r"^(\s*)([#+\->=])")
_NUMBERED = re.compile(r"^(\s*\d+)([.)])")


def plain(s) -> str:
    """``s`` as Markdown that renders to exactly its text (whitespace runs become one space)."""
    s = " ".join(str(s).split())
    s = _AUTOLINK.sub(lambda m: m.group(1)[:-1] + _ZWSP + m.group(1)[-1], s)
    s = _SPECIAL.sub(r"\\\1", s)
    s = _NUMBERED.sub(lambda m: m.group(1) + "\\" + m.group(2), s)
    return _LEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), s)


def plain_args(args: dict) -> dict:
    """``args`` with every string value made plain (for t(template, **args) shown as Markdown)."""
    return {k: plain(v) if isinstance(v, str) else v for k, v in args.items()}
