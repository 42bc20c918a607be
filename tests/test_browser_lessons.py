"""Lesson 1 run through in a real browser: started from the Start page, every step's action done with the mouse
(guesses locked in, Train pressed, a digit drawn on the canvas), a refresh in the middle, to the end.

The server runs with DLVIZ_LESSON_TINY=1 (the lesson's recipe trains 1 epoch on 600 images), in child processes
as for users.
"""

from __future__ import annotations

import os

import pytest
from browser_util import EXCEPTION, VIEWPORT, goto, launch, skip_without_browser, start_server

pytestmark = pytest.mark.browser

skip_without_browser()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

LOAD = 90_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("lessons") / "dlviz-home"
    old = os.environ.get("DLVIZ_LESSON_TINY")
    os.environ["DLVIZ_LESSON_TINY"] = "1"  # the server copies this environment
    try:
        srv = start_server(home)
    finally:
        if old is None:
            os.environ.pop("DLVIZ_LESSON_TINY", None)
        else:
            os.environ["DLVIZ_LESSON_TINY"] = old
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


def _panel(page):
    return page.locator(".st-key-_lsn_panel")


def _settled(page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LOAD)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=LOAD)  # the run has drawn everything


def _guess(page, choice: str) -> None:
    _panel(page).get_by_test_id("stRadio").get_by_text(choice, exact=True).click()
    _settled(page)
    _panel(page).get_by_role("button", name="Lock in my guess").click()
    expect(_panel(page).get_by_text(f"Your guess: {choice}")).to_be_visible(timeout=LOAD)


def _next(page, name: str = "Next") -> None:
    _settled(page)
    button = _panel(page).get_by_role("button", name=name, exact=True)
    expect(button).to_be_enabled(timeout=LOAD)
    expect(_panel(page).get_by_role("button", name="Lock in my guess")).to_have_count(0, timeout=LOAD)
    button.click()
    _settled(page)


def test_lesson_one_start_to_finish(server, page):
    goto(page, server.url, "dlviz: build, train and look inside neural networks", timeout=LOAD)
    card = page.locator(".st-key-_lsn_card_first-network")
    expect(card).to_contain_text("A first network: the MLP on MNIST", timeout=LOAD)
    card.get_by_role("button", name="Start").click()
    # step 1: the Data page, with the lesson on top
    expect(page.get_by_role("heading", level=1, name="Data", exact=True)).to_be_visible(timeout=LOAD)
    expect(_panel(page)).to_contain_text("MNIST holds 70,000 handwritten digits", timeout=LOAD)
    _next(page)
    # step 2: Build; a refresh keeps the lesson where it was
    expect(page.get_by_role("heading", level=1, name="Build a network", exact=True)).to_be_visible(timeout=LOAD)
    page.reload()
    expect(_panel(page)).to_contain_text("Flatten turns the image into 784 numbers", timeout=LOAD)
    expect(_panel(page).get_by_role("button", name="Next", exact=True)).to_be_disabled(timeout=LOAD)  # a guess first
    _guess(page, "About 100,000")
    expect(_panel(page)).to_contain_text("Right: About 100,000", timeout=LOAD)
    expect(_panel(page)).to_contain_text("109,386", timeout=LOAD)
    _next(page)
    # step 3: Train, its button outlined; guess, then press Train and wait for the run
    expect(page.get_by_role("heading", level=1, name="Train", exact=True)).to_be_visible(timeout=LOAD)
    train = page.locator(".st-key-train_btn")
    assert train.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    _guess(page, "About 97.5%")
    expect(_panel(page).get_by_role("button", name="Next", exact=True)).to_be_disabled(timeout=LOAD)
    train.get_by_role("button").click()
    expect(_panel(page).get_by_text("What happened")).to_be_visible(timeout=180_000)
    expect(_panel(page)).to_contain_text("test accuracy", timeout=LOAD)
    _next(page)
    # step 4: Errors; the reveal measures the open run's confusions
    expect(page.get_by_role("heading", level=1, name="Errors", exact=True)).to_be_visible(timeout=LOAD)
    _guess(page, "9")
    expect(_panel(page)).to_contain_text("test 4s for something else", timeout=LOAD)
    _next(page)
    # step 5: Inspect; draw a digit with the mouse
    expect(page.get_by_role("heading", level=1, name="Inspect", exact=True)).to_be_visible(timeout=LOAD)
    page.get_by_test_id("stRadio").get_by_text("Draw", exact=True).last.click()
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible(timeout=LOAD)
    _settled(page)
    box = canvas.bounding_box()
    pts = [(0.28, 0.22), (0.72, 0.22), (0.62, 0.45), (0.50, 0.80)]  # a "7"
    page.mouse.move(box["x"] + pts[0][0] * box["width"], box["y"] + pts[0][1] * box["height"])
    page.mouse.down()
    for x, y in pts[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
    page.mouse.up()
    _settled(page)
    _next(page, "Finish")
    expect(
        page.get_by_role("heading", level=1, name="dlviz: build, train and look inside neural networks")
    ).to_be_visible(timeout=LOAD)
    expect(page.locator(".st-key-_lsn_card_first-network")).to_contain_text("Done", timeout=LOAD)
    expect(page.locator(".st-key-_lsn_sheet_first-network")).to_be_visible(timeout=LOAD)  # the worksheet to take home
    assert page.locator(EXCEPTION).count() == 0
