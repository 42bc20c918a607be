"""A lesson that sets the dataset keeps it on the next pages, in a real browser: the sidebar's Dataset box keeps the
value the browser last sent, and before the fix it put MNIST back on the first run after the lesson set rt-polarity
(the Attention lesson, then the Train page: "Layer 1 (Embedding) reads sentences as token ids, but the input here is
(1, 28, 28), an image"). AppTest does not show it: it sends no value for a widget the last run did not draw.

The server runs with DLVIZ_LESSON_TINY=1 (the lesson trains its small transformer on first use in a few seconds) and
reads MNIST and rt-polarity from ../shared/data.
"""

from __future__ import annotations

import pytest
from browser_util import (
    MNIST_DIR,
    VIEWPORT,
    goto,
    launch,
    nav,
    no_exception,
    settled,
    skip_without_browser,
    start_server,
)

pytestmark = pytest.mark.browser

skip_without_browser()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

LOAD = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = MNIST_DIR.parent
    if not (data / "rt-polarity" / "rt-polarity.pos").exists():
        pytest.skip("../shared/data/rt-polarity is not present")
    srv = start_server(
        tmp_path_factory.mktemp("lesson-dataset") / "home", env={"DLVIZ_LESSON_TINY": "1"}, data_dir=data
    )
    yield srv
    srv.stop()


def test_the_attention_lessons_dataset_stays_on_the_train_page(server):
    with sync_playwright() as p:
        b = launch(p)
        try:
            page = b.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(LOAD)
            goto(page, server.url, "dlviz: build, train and look inside neural networks", timeout=LOAD)
            box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Dataset")
            expect(box).to_have_value("MNIST handwritten digits", timeout=LOAD)
            page.locator(".st-key-_lsn_card_attention-heads").get_by_role("button", name="Start").click()
            expect(page.get_by_role("heading", level=1, name="Attention", exact=True)).to_be_visible(timeout=LOAD)
            expect(page.locator(".st-key-_lsn_panel")).to_contain_text("Attention maps", timeout=LOAD)
            settled(page, LOAD)
            expect(box).to_have_value("English movie-review sentences (rt-polarity)")
            nav(page, "Train")
            expect(page.get_by_role("heading", level=1, name="Train", exact=True)).to_be_visible(timeout=LOAD)
            settled(page, LOAD)
            expect(box).to_have_value("English movie-review sentences (rt-polarity)")
            expect(page.get_by_text("reads sentences as token ids", exact=False)).to_have_count(0)
            no_exception(page)
        finally:
            b.close()
