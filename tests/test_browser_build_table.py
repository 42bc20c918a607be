"""Browser (chromium, 1280 x 720): the Build page's "Shapes and parameters" table fits its half of the page.

The transformer preset on rt-polarity made the table 13 px wider than its column at 1280 px: the grid scrolled
sideways and cut off "Parameters" and "640,000". No AppTest can see a drawn width, so this is a browser test.
"""

from __future__ import annotations

import json

import pytest
from browser_util import ROOT, goto, launch, skip_without_browser, start_server

skip_without_browser()

from playwright.sync_api import sync_playwright  # noqa: E402

GRIDS = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(d => {
  const s = d.querySelector('.dvn-scroller'); return {scroll: s.scrollWidth, client: s.clientWidth};})"""

READY = """() => { const s = document.querySelector('[data-testid="stDataFrame"] .dvn-scroller');
  return s !== null && s.clientWidth > 0 && s.scrollWidth > 0; }"""


@pytest.fixture
def server(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT))
    from dlviz.models import PRESETS

    home = tmp_path / "dlviz-home"
    (home / "sessions").mkdir(parents=True)
    (home / "sessions" / "00000000000000aa.json").write_text(
        json.dumps({"dataset": "rt-polarity", "spec": PRESETS["transformer"].copy_spec()}), encoding="utf-8"
    )
    server = start_server(home)
    yield server
    server.stop()


def test_transformer_table_fits_at_1280_px(server):
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            goto(page, server.url + "/build?s=00000000000000aa", "Build a network")
            table = page.locator('[data-testid="stDataFrame"]').first
            table.wait_for()
            page.get_by_text("Parameters").first.wait_for()
            page.wait_for_function(READY)
            grids = page.evaluate(GRIDS)
            assert grids and all(g["scroll"] <= g["client"] for g in grids), grids  # no sideways scroll: nothing cut
        finally:
            browser.close()
