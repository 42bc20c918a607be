"""The screen in a classroom (issue 13), in a real browser at a projector's sizes.

While a run trains at 1280x720 and 1400x900, both live curves (loss and accuracy) lie inside the
viewport; the presentation mode makes the type larger in the page and in the Plotly figures, hides
the sidebar, and is remembered after a refresh; a number under the Errors page's gallery opens that
image on Inspect. The 1280x720 screenshots go to test-artifacts/ (ignored); DLVIZ_SCREENSHOTS=1 writes them
to docs/screenshots/ instead, for the README.
"""

from __future__ import annotations

import os
import re
import time

import pytest
from browser_util import MNIST_DIR, ROOT, button, goto, set_recipe, settled, skip_without_browser, start_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402

LOAD = 90_000
# a test run must not rewrite tracked files: the README's copies are taken on purpose, with DLVIZ_SCREENSHOTS=1
SHOTS = ROOT / ("docs/screenshots" if os.environ.get("DLVIZ_SCREENSHOTS") == "1" else "test-artifacts")
EXCEPTION = '[data-testid="stException"]'

# where each subplot of the live curves lies on the screen (the two cartesian subplots: loss, accuracy)
CURVES_JS = """() => {
  const chart = document.querySelector('.st-key-live_curves .js-plotly-plot');
  if (!chart) return null;
  const fl = chart._fullData || [];
  const boxes = [...chart.querySelectorAll('.cartesianlayer .subplot')].map(g => {
    const r = g.querySelector('.plotbg rect, rect.bg') ? g.querySelector('.plotbg rect, rect.bg').getBoundingClientRect()
                                                       : g.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  });
  const r = chart.getBoundingClientRect();
  return {chart: {top: r.top, bottom: r.bottom, left: r.left, right: r.right}, subplots: boxes,
          points: fl.reduce((n, t) => n + (t._length || 0), 0), font: chart._fullLayout.font.size,
          vw: window.innerWidth, vh: window.innerHeight};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A store with one quick MLP run (for the Errors page), then the app."""
    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    home = tmp_path_factory.mktemp("classroom") / "dlviz-home"
    res = run_job(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=3000), data_dir=str(MNIST_DIR)),
        RunStore(home),
    )
    assert res.status == "finished", res.message
    srv = start_server(home)
    yield srv
    srv.stop()


def _page(browser, width: int, height: int):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.set_default_timeout(60_000)
    return ctx, ctx.new_page()


def _curves(page) -> dict:
    """Wait until the live curves have points, then say where they are."""
    page.wait_for_function(
        f"() => {{ const c = ({CURVES_JS})(); return c && c.points > 0 && c.subplots.length == 2; }}",
        timeout=LOAD,
        polling=100,
    )
    return page.evaluate(CURVES_JS)


def _inside(c: dict) -> bool:
    return all(
        b["top"] >= 0 and b["bottom"] <= c["vh"] and b["left"] >= 0 and b["right"] <= c["vw"] for b in c["subplots"]
    )


def test_both_curves_fill_a_projector_screen_while_training(server, browser):
    ctx, page = _page(browser, 1280, 720)
    try:
        goto(page, server.url + "/train", "Train", timeout=LOAD)
        # small batches, many passes over the quick demo's 4,800 images: long enough to look at the screen
        set_recipe(page, epochs=30, batch_size=16)
        expect(page.get_by_text("More settings", exact=True)).to_be_visible()
        button(page, "Train").click()
        expect(button(page, "Stop")).to_be_visible(timeout=LOAD)

        c = _curves(page)
        assert _inside(c), f"the curves are not both on a 1280x720 screen while training: {c}"
        # for the screenshot: a few epochs in, so both curves have a shape (validation is measured per epoch)
        page.wait_for_function(
            """() => { const p = document.querySelector('.st-key-live_curves .js-plotly-plot');
            return p && (p._fullData || []).filter(t => t._length >= 2).length >= 4; }""",
            timeout=3 * LOAD,
            polling=200,
        )
        c = _curves(page)
        assert _inside(c), f"the curves are not both on a 1280x720 screen while training: {c}"
        # the settings fold into one line: no recipe form while the run trains
        expect(page.get_by_text("More settings", exact=True)).to_have_count(0)
        expect(page.get_by_role("spinbutton", name="Epochs", exact=True)).to_have_count(0)
        expect(
            page.get_by_text(re.compile(r"^Training: mlp on MNIST\. Adam at 0\.003, batch 16, 30 epochs"))
        ).to_be_visible()
        assert page.locator(EXCEPTION).count() == 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(1200)  # let the bar and numbers move once more: the screenshot shows a run in progress
        page.screenshot(path=str(SHOTS / "train-classroom.png"))

        page.set_viewport_size({"width": 1400, "height": 900})
        page.wait_for_timeout(600)
        c = _curves(page)
        assert _inside(c), f"the curves are not both on a 1400x900 screen while training: {c}"

        # presentation mode: larger type in the page and in the figures, no sidebar; remembered after a refresh
        page.set_viewport_size({"width": 1280, "height": 720})
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_be_visible()
        normal_font = c["font"]
        page.get_by_text("Presentation mode", exact=True).click()
        expect(sidebar).to_be_hidden(timeout=LOAD)
        expect(button(page, "Exit presentation")).to_be_visible()
        page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '20px'", timeout=LOAD)
        page.wait_for_function(
            """() => { const p = document.querySelector('.st-key-live_curves .js-plotly-plot');
                                        return p && p._fullLayout.font.size >= 18; }""",
            timeout=LOAD,
        )
        c = _curves(page)
        assert c["font"] > normal_font
        assert _inside(c), f"in presentation mode the curves are not both on a 1280x720 screen: {c}"
        page.wait_for_timeout(800)
        page.screenshot(path=str(SHOTS / "train-presentation.png"))
        page.reload()
        expect(button(page, "Exit presentation")).to_be_visible(timeout=LOAD)
        _curves(page)
        expect(page.get_by_test_id("stSidebar")).to_be_hidden()
        button(page, "Exit presentation").click()
        expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=LOAD)
        page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '16px'", timeout=LOAD)
        settled(page)
        button(page, "Stop").first.click()  # the run is not needed any more
    finally:
        ctx.close()


def test_a_number_under_the_errors_gallery_opens_the_image_on_inspect(server, browser):
    ctx, page = _page(browser, 1400, 1000)
    try:
        goto(page, server.url + "/errors", "Errors", timeout=LOAD)
        pills = page.locator('[class*="st-key-_err_open_"]')
        expect(pills).to_be_visible(timeout=LOAD)
        first = pills.locator("button").nth(1)
        number = int(first.inner_text().strip().lstrip("#"))
        first.click()
        expect(page.get_by_role("heading", level=1, name="Inspect", exact=True)).to_be_visible(timeout=LOAD)
        expect(page.get_by_text(f"Opened from the Errors page: test image {number}.", exact=False)).to_be_visible()
        expect(page.get_by_role("spinbutton", name=re.compile(r"^Image number"))).to_have_value(str(number))
        settled(page)
        assert page.locator(EXCEPTION).count() == 0
    finally:
        ctx.close()


def _wait_for_still(locator, seconds: float = 1.0, timeout: float = 60.0) -> None:
    """Until ``locator``'s place on the page has not moved for ``seconds`` (what is above it is drawn)."""
    deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        box = locator.bounding_box()
        y = None if box is None else round(box["y"])
        if y is None or y != last:
            last, since = y, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        time.sleep(0.1)
    raise AssertionError(f"{locator} kept moving for {timeout:.0f} s")


def test_inspect_jump_list_scrolls_to_a_folded_layer(server, browser):
    ctx, page = _page(browser, 1280, 720)
    try:
        goto(page, server.url + "/inspect", "Inspect", timeout=LOAD)
        settled(page)
        links = page.locator('[data-testid="stMarkdownContainer"] a[href^="#layer-"]:not([href="#layer-by-layer"])')
        expect(links.first).to_be_visible(timeout=LOAD)
        hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert hrefs == [f"#layer-{i}" for i in range(1, 7)], hrefs  # the MLP: flatten, dense, relu, dense, relu, dense
        target = page.locator("#layer-5")
        _wait_for_still(target)  # the figures above it are drawn (they would push a jump's target down)
        assert target.bounding_box()["y"] > 720  # below the fold at first
        links.nth(4).click()
        page.wait_for_function(
            "() => { const r = document.getElementById('layer-5').getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }",
            timeout=10_000,
        )
        # the layers after the first three are folded: a click on the title opens one
        fold = page.get_by_test_id("stExpander").filter(has_text="relu_2").first
        fold.get_by_text("relu_2").click()
        expect(fold.get_by_text("Most active units", exact=False)).to_be_visible(timeout=LOAD)
        expect(fold.locator(".js-plotly-plot .bars")).to_have_count(1, timeout=LOAD)  # its units' bars are drawn
        settled(page)
        page.screenshot(path=str(ROOT / "test-artifacts" / "browser-inspect-jump.png"))
        assert page.locator(EXCEPTION).count() == 0
    finally:
        ctx.close()
