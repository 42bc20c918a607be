"""The text pages in a real browser: a typed sentence shows its attention map, and typed HTML never runs.

The server's store holds a transformer and an LSTM text run (saved the way training saves them: weights,
spec and vocabulary) before the server starts.
"""

from __future__ import annotations

import re
import sys

import pytest
from browser_util import EXCEPTION, ROOT, VIEWPORT, Server, goto, launch, skip_without_browser

pytestmark = pytest.mark.browser

skip_without_browser()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
LOAD = 90_000
HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)> great movie"
# tick labels of the attention maps: one SVG <text> per token and axis
TICKS = ".xaxislayer-above text, .yaxislayer-above text"  # every subplot's axes (x2, y5... too)
TICKS_JS = f"""() => [...document.querySelectorAll('.js-plotly-plot :is({TICKS})')].map(t => t.textContent)"""


class _Server(Server):
    """browser_util's server on another entry script (same environment, port choice and log)."""

    def __init__(self, home, script: str):
        import os
        import subprocess
        from pathlib import Path

        from browser_util import MNIST_DIR, free_port

        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home.parent / f"streamlit-{self.port}.log"
        env = {**os.environ, "DLVIZ_HOME": str(self.home), "DLVIZ_DATA_DIR": str(MNIST_DIR), "DLVIZ_OFFLINE": "1"}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                script,
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )


def _start(home, tmp) -> Server:
    """app.py; until the navigation lists the text pages, app.py's navigation with them added."""
    from text_page_util import TEXT_PAGES

    from dlviz.ui import nav

    registered = {name for name, _, _ in nav.LOOK_INSIDE}
    if all(p[0] in registered for p in TEXT_PAGES):
        server = Server(home)
    else:
        entry = tmp / "app_text.py"
        entry.write_text(
            f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom dlviz.ui import nav\n"
            f"have = {{p[0] for p in nav.LOOK_INSIDE}}\n"  # the script runs again on every rerun
            f"nav.LOOK_INSIDE += [p for p in {TEXT_PAGES!r} if p[0] not in have]\nnav.run_app()\n"
        )
        server = _Server(home, str(entry))
    try:
        server.wait_healthy(60)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from text_page_util import text_run

    tmp = tmp_path_factory.mktemp("text")
    home = tmp / "dlviz-home"
    runs = {
        "lstm": text_run("lstm", name="lstm words", home=home),
        "transformer": text_run("transformer", name="transformer words", home=home),
    }
    srv = _start(home, tmp)
    srv.runs = runs
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def page(server):
    with sync_playwright() as p:
        b = launch(p)
        ctx = b.new_context(viewport=VIEWPORT)
        ctx.set_default_timeout(60_000)
        pg = ctx.new_page()
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        yield pg
        b.close()


def _settled(page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LOAD)


def _type(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Type a sentence")
    box.fill(text)
    box.press("Control+Enter")
    _settled(page)


def _pick(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=re.compile(re.escape(option))).click()
    _settled(page)


def test_typed_html_shows_literally_and_never_runs(server, page):
    goto(page, server.url + "/attention", "Attention", timeout=LOAD)
    _pick(page, "Text model to look inside", "transformer words")
    _type(page, HOSTILE)
    expect(page.get_by_role("textbox", name="Type a sentence")).to_have_value(HOSTILE)
    # 25 tokens: "<" "script" ">" "alert" "(" "1" ")" "<" "/" "script" ">" "<" "img" ...
    expect(page.get_by_text(re.compile(r"^25 tokens, 2 layers of 4 heads"))).to_be_visible(timeout=LOAD)
    expect(page.locator(".js-plotly-plot .yaxislayer-above text").filter(has_text="onerror").first).to_be_attached()
    ticks = page.evaluate(TICKS_JS)
    # the tokens, as text: "<" "script" ">" ... "onerror" "=" ..., never an element
    for token in ("<", "script", ">", "img", "onerror", "great", "movie"):
        assert token in ticks, (token, len(ticks), " | ".join(ticks))
    assert page.locator("img[src='x']").count() == 0
    assert page.locator(".js-plotly-plot script").count() == 0
    page.wait_for_timeout(1000)  # give an injected handler time to fire, if there were one
    assert page.dialogs == []
    expect(page.locator(EXCEPTION)).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-attention-html.png"), full_page=True)


def test_a_typed_sentence_shows_its_attention_map_and_head_view(server, page):
    goto(page, server.url + "/attention", "Attention", timeout=LOAD)
    _pick(page, "Text model to look inside", "transformer words")
    _type(page, "a great movie , funny and moving")
    expect(page.get_by_text(re.compile(r"^7 tokens, 2 layers of 4 heads"))).to_be_visible(timeout=LOAD)
    maps = page.locator(".js-plotly-plot").filter(has_text="layer 2 · head 4")
    expect(maps).to_be_visible()
    for word in ("great", "movie", "funny", "moving"):  # the typed words label the maps' axes
        label = maps.locator(".xaxislayer-above text", has_text=re.compile(f"^{word}$")).first
        expect(label).to_be_attached(timeout=LOAD)
    assert maps.locator(".heatmaplayer image, .heatmaplayer .hm").count() >= 8  # one picture per head
    assert "gripping" not in page.evaluate(TICKS_JS)  # the default sentence is gone
    page.get_by_test_id("stButtonGroup").get_by_text("Head view (lines)", exact=True).click()  # segmented control
    _settled(page)
    expect(page.get_by_text(re.compile(r"lines; weights under 2% are left out"))).to_be_visible(timeout=LOAD)
    view = page.locator(".js-plotly-plot").filter(has_text="looked at")
    expect(view).to_be_visible()
    assert view.locator(".scatterlayer .trace").count() > 4
    # click "great" on the left: only its lines remain, and the picker says so
    lines = int(re.search(r"\((\d+) lines", page.get_by_text(re.compile(r"lines; weights under 2%")).inner_text())[1])
    left = view.locator(".scatterlayer .trace").nth(-2).locator(".points path")
    left.nth(1).click(force=True)
    _settled(page)
    expect(page.get_by_role("combobox", name="Lines from")).to_have_value(re.compile(r"^2\. great$"), timeout=LOAD)
    caption = page.get_by_text(re.compile(r"lines; weights under 2%"))
    expect(caption).not_to_contain_text(f"({lines} lines")
    assert int(re.search(r"\((\d+) lines", caption.inner_text())[1]) <= 4 * 7  # one word's lines, 4 heads
    expect(page.locator(EXCEPTION)).to_have_count(0)
    assert page.dialogs == []
    page.screenshot(path=str(ARTIFACTS / "browser-attention-head.png"), full_page=True)


def test_sequence_page_reads_the_same_sentence(server, page):
    goto(page, server.url + "/attention", "Attention", timeout=LOAD)
    _type(page, HOSTILE)
    nav = page.get_by_test_id("stSidebarNav")
    more = nav.get_by_text(re.compile(r"^View \d+ more$"))
    if more.count():  # a long navigation is folded
        more.click()
    nav.get_by_role("link", name="Sequence", exact=True).click()  # in-app: the same session
    expect(page.get_by_role("heading", level=1, name="Sequence", exact=True)).to_be_visible(timeout=LOAD)
    _pick(page, "Text model to look inside", "lstm words")
    expect(page.get_by_role("textbox", name="Type a sentence")).to_have_value(HOSTILE)  # remembered across pages
    expect(page.get_by_role("heading", name=re.compile(r"^Hidden state after each word"))).to_be_visible(timeout=LOAD)
    expect(page.get_by_role("heading", name="Memory cell (LSTM)")).to_be_visible()
    ticks = page.evaluate(TICKS_JS)
    assert "<" in ticks and "script" in ticks
    assert page.locator("img[src='x']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []
    expect(page.locator(EXCEPTION)).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "browser-sequence.png"), full_page=True)
