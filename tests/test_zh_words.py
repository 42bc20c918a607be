"""Chinese pages speak Chinese: no English left in the options a student picks from (issue 13, Words)."""

from __future__ import annotations

import re

import pytest
from page_util import open_page

# names that stay as they are in Chinese text
NAMES = {
    "MNIST",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "SGD",
    "GPU",
    "CPU",
    "bf16",
    "cpu",
    "cuda",
    "TF",
    "IDF",
}


def _english_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", text) if w not in NAMES and not w.startswith("cuda")]


def test_train_page_selects_read_in_chinese(app):
    at = open_page(app, "pages/train.py", lang="zh")
    for key in ("_tr_device", "_tr_optimizer", "_tr_schedule", "_tr_precision"):
        options = at.selectbox(key=key).options
        assert options, key
        left = {o: _english_words(o) for o in options if _english_words(o)}
        assert not left, f"{key}: {left}"
    assert "先预热，再余弦衰减" in at.selectbox(key="_tr_schedule").options
    assert "自动（有 GPU 就用 GPU）" in at.selectbox(key="_tr_device").options
    assert "SGD（带动量）" in at.selectbox(key="_tr_optimizer").options


def test_english_word_check_can_fail():
    assert _english_words("Warm-up then cosine decay") and _english_words("auto (GPU if found)")
    assert not _english_words("自动（有 GPU 就用 GPU）")


SELECT_VALUES = """() => Object.fromEntries([...document.querySelectorAll('[data-testid=stSelectbox] input')]
    .map(i => [i.getAttribute('aria-label'), i.value]))"""


@pytest.mark.browser
def test_switching_to_chinese_relabels_the_chosen_options(tmp_path):
    """A keyed select box kept its English label ("Warm-up then cosine decay") after the switch to Chinese
    until it was changed: the sidebar now hands every choice its value again."""
    from browser_util import launch, settled, skip_without_browser, start_server

    skip_without_browser()
    from playwright.sync_api import expect, sync_playwright

    server = start_server(tmp_path / "home")
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(server.url + "/train")
            expect(page.get_by_role("heading", name="Train", level=1)).to_be_visible(timeout=90_000)
            settled(page)
            # the script's run can end before the browser has loaded a select box's code and drawn it
            select = '[data-testid=stSelectbox] input[aria-label="{}"]'
            expect(page.locator(select.format("Learning-rate schedule"))).to_have_count(1)
            before = page.evaluate(SELECT_VALUES)
            assert before["Learning-rate schedule"] == "Warm-up then cosine decay", before
            page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name="简体中文").click()
            expect(page.get_by_role("heading", name="训练", level=1)).to_be_visible(timeout=90_000)
            settled(page)
            expect(page.locator(select.format("学习率调度"))).to_have_count(1)
            after = page.evaluate(SELECT_VALUES)
            browser.close()
    finally:
        server.stop()
    assert after["学习率调度"] == "先预热，再余弦衰减", after
    assert after["设备"] == "自动（有 GPU 就用 GPU）", after
    assert after["数据集"] == "MNIST 手写数字", after
    assert not [v for v in after.values() if _english_words(v)], after


SLIDER = """() => [...document.querySelectorAll('[data-testid=stSlider]')].map(e => e.innerText.split('\\n')
    .map(s => s.trim()).filter(Boolean))"""


@pytest.mark.browser
def test_replay_point_holds_across_pages_and_a_language_switch(tmp_path, monkeypatch, mnist_dir):
    """Inspect showed the end of training; the Errors page then drew its replay slider at "before training"
    (the browser mounts a new slider at its default): after a language switch the page used the untrained
    weights. The slider is now given its value."""
    from browser_util import launch, settled, skip_without_browser, start_server

    skip_without_browser()
    from playwright.sync_api import expect, sync_playwright

    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "home"))
    run_job(
        TrainJob(
            "mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=1000), name="demo", data_dir=str(mnist_dir)
        ),
        RunStore(),
    )
    server = start_server(tmp_path / "home")
    seen = {}
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(server.url + "/inspect")
            for link, heading in (("", "Inspect"), ("Errors", "Errors"), ("Inspect", "Inspect")):
                if link:
                    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
                expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible(timeout=90_000)
                settled(page)
                seen[f"{heading} {len(seen)}"] = page.evaluate(SLIDER)[0][1]
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Errors", exact=True).click()
            expect(page.get_by_role("heading", name="Errors", level=1)).to_be_visible(timeout=90_000)
            settled(page)
            page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name="简体中文").click()
            expect(page.get_by_role("heading", name="错误", level=1)).to_be_visible(timeout=90_000)
            settled(page)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="检视", exact=True).click()
            expect(page.get_by_role("heading", name="检视", level=1)).to_be_visible(timeout=90_000)
            settled(page)
            seen["检视"] = page.evaluate(SLIDER)[0][1]
            browser.close()
    finally:
        server.stop()
    assert seen == {
        "Inspect 0": "end of training",
        "Errors 1": "end of training",
        "Inspect 2": "end of training",
        "检视": "训练结束",
    }, seen
