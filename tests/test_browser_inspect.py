"""Looking inside a trained model in a real browser: draw a digit, click a confusion cell, hover an embedding.

The server's store holds one CNN trained for one quick epoch (3,000 images) before the server starts,
the way a student would have trained one on the Train page.
"""

from __future__ import annotations

import re

import pytest
from browser_util import EXCEPTION, MNIST_DIR, ROOT, VIEWPORT, goto, launch, skip_without_browser, start_server

pytestmark = pytest.mark.browser

skip_without_browser()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
LOAD = 90_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    home = tmp_path_factory.mktemp("inspect") / "dlviz-home"
    res = run_job(
        TrainJob("mnist", PRESETS["cnn"].copy_spec(), TrainConfig(epochs=1, limit=3000), data_dir=str(MNIST_DIR)),
        RunStore(home),
    )
    assert res.status == "finished", res.message
    srv = start_server(home)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def page(server):
    with sync_playwright() as p:
        b = launch(p)
        ctx = b.new_context(viewport=VIEWPORT)
        ctx.set_default_timeout(60_000)
        yield ctx.new_page()
        b.close()


def _settled(page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LOAD)


def test_draw_a_digit_and_see_the_prediction_and_every_layer(server, page):
    goto(page, server.url + "/inspect", "Inspect", timeout=LOAD)
    page.get_by_test_id("stRadio").get_by_text("Draw", exact=True).click()
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    _settled(page)
    box = canvas.bounding_box()
    # a "7": the top bar, then the diagonal down to the bottom left
    pts = [(0.28, 0.22), (0.72, 0.22), (0.62, 0.45), (0.50, 0.80)]
    page.mouse.move(box["x"] + pts[0][0] * box["width"], box["y"] + pts[0][1] * box["height"])
    page.mouse.down()
    for x, y in pts[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
    page.mouse.up()
    expect(page.get_by_text("What the model sees (28 x 28)")).to_be_visible(timeout=LOAD)
    _settled(page)
    expect(page.get_by_text(re.compile(r"^Still showing"))).to_have_count(0)
    said = page.get_by_test_id("stMetric").filter(has_text="The model says").get_by_test_id("stMetricValue")
    expect(said).to_have_text(re.compile(r"^[0-9]$"))
    # every layer of the CNN in order, conv maps as pictures
    for i, name in enumerate(
        [
            "conv2d_1",
            "relu_1",
            "maxpool_1",
            "conv2d_2",
            "relu_2",
            "maxpool_2",
            "flatten_1",
            "dense_1",
            "relu_3",
            "dense_2",
        ],
        start=1,
    ):
        expect(page.get_by_text(re.compile(rf"^{i}\. .*{name}"))).to_be_visible()
    # the feature-map pictures: the input pair's image, then one per layer with maps (6 in this CNN)
    images = page.get_by_test_id("stImage")
    assert images.count() >= 7, images.count()
    assert "32 maps of 26 x 26" in page.get_by_test_id("stMain").inner_text()
    expect(page.locator(EXCEPTION)).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-inspect-drawn.png"), full_page=True)
    drawn_prediction = said.inner_text()
    assert drawn_prediction in "0123456789"
    # a refresh keeps the drawing: Draw still chosen, the strokes back on the canvas, the same digit looked at
    page.reload()
    expect(page.get_by_text("What the model sees (28 x 28)")).to_be_visible(timeout=LOAD)
    _settled(page)
    expect(page.get_by_test_id("stRadio").get_by_role("radio", name="Draw")).to_be_checked()
    expect(page.get_by_text(re.compile(r"^Still showing"))).to_have_count(0)
    expect(page.get_by_text("Draw a digit in the box.")).to_have_count(0)
    expect(said).to_have_text(drawn_prediction)
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    inked = canvas.evaluate("""el => [...el.parentElement.querySelectorAll('canvas')].some(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) { if (d[i] > 128 && d[i + 3] > 128) return true; } return false; })""")
    assert inked  # the strokes were drawn again (white on black)


def test_click_a_confusion_cell_opens_its_images(server, page):
    goto(page, server.url + "/errors", "Errors", timeout=LOAD)
    _settled(page)
    heading = page.get_by_role("heading", level=3)
    expect(heading.filter(has_text="taken for")).to_be_visible(timeout=LOAD)
    # the grid is one scatter trace of 10 x 10 squares, row by row: square 77 is "7 predicted as 7"
    point = page.locator(".js-plotly-plot .scatterlayer .trace .points path").nth(77)
    point.click(force=True)
    expect(heading.filter(has_text="7 recognised correctly")).to_be_visible(timeout=LOAD)
    expect(page.locator(EXCEPTION)).to_have_count(0)


def test_embedding_hover_shows_the_image(server, page):
    goto(page, server.url + "/embeddings", "Embeddings", timeout=LOAD)
    _settled(page)
    frame = page.frame_locator("iframe").first
    cv = frame.locator("#c")
    expect(cv).to_be_visible(timeout=LOAD)
    box = cv.bounding_box()
    tip = frame.locator("#tip")
    shown = False
    for fy in (0.5, 0.4, 0.6, 0.3, 0.7):  # sweep across the middle until the cursor meets a point
        for fx in [i / 20 for i in range(3, 18)]:
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            if tip.evaluate("e => getComputedStyle(e).display") == "block":
                shown = True
                break
        if shown:
            break
    assert shown, "no tooltip appeared while hovering over the points"
    assert re.search(r"[0-9]", tip.inner_text())
    assert tip.locator("#tc").count() == 1  # the digit itself, drawn from the sprite
    expect(page.locator(EXCEPTION)).to_have_count(0)
    # issue 13: one click on the point opens that test image on Inspect (and as Explain's input)
    number = re.search(r"#\s*([0-9]+)", tip.inner_text())
    assert number, tip.inner_text()
    page.mouse.down()
    page.mouse.up()
    expect(page.get_by_role("heading", level=1, name="Inspect", exact=True)).to_be_visible(timeout=LOAD)
    expect(page.get_by_text(f"Opened from the Embeddings page: test image {number.group(1)}.")).to_be_visible()
    expect(page.locator(EXCEPTION)).to_have_count(0)


def test_explain_a_decision_run_the_checks_and_export_the_handout(server, page, tmp_path):
    """Open an explanation of test image 0, run the sanity checks, download the PNG and the handout,
    and open the handout offline: its pictures are inline and it asks for nothing over the network."""
    goto(page, server.url + "/explain", "Explain", timeout=LOAD)
    expect(page.get_by_role("heading", name="Why 7?")).to_be_visible(timeout=LOAD)
    figure = (
        page.locator(".js-plotly-plot").filter(has_text="scaled to each method").filter(has_text="Integrated Gradients")
    )
    expect(figure).to_be_visible()
    expect(figure).to_contain_text("Occlusion")
    page.get_by_role("button", name="Run the sanity checks").click()
    expect(page.get_by_text("Deletion and insertion check", exact=False).first).to_be_visible(timeout=LOAD)
    expect(page.get_by_text("Randomisation check", exact=False).first).to_be_visible()
    expect(page.get_by_text("Is the model right?", exact=False).first).to_be_visible()
    assert page.locator(EXCEPTION).count() == 0
    _settled(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Picture (PNG)").click()
    png = tmp_path / "explain.png"
    dl.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    with page.expect_download() as dl:
        page.get_by_role("button", name="One-page handout (HTML)").click()
    html = tmp_path / "handout.html"
    dl.value.save_as(html)
    requests: list[str] = []
    hp = page.context.new_page()
    hp.on("request", lambda r: requests.append(r.url))
    hp.goto(html.as_uri())
    expect(hp.get_by_role("heading", name="Why 7?")).to_be_visible()
    expect(hp.get_by_text("Deletion and insertion check", exact=False).first).to_be_visible()  # the checks ran
    assert hp.locator("img[src^='data:image/png;base64,']").count() >= 1
    assert hp.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    ARTIFACTS.mkdir(exist_ok=True)
    hp.screenshot(path=str(ARTIFACTS / "browser-handout.png"), full_page=True)
    hp.close()
