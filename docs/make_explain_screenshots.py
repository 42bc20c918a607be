"""Regenerate the README's Explain screenshots: trains the CNN preset for 2 epochs on full MNIST, starts
the app, opens an explanation, runs the sanity checks, asks "why 3 and not 8?", downloads the handout
and shows it in the browser, and switches to Chinese.

    .venv/bin/python docs/make_explain_screenshots.py [--data-dir ../shared/data/mnist] [--home DIR]

Writes docs/screenshots/{explain,explain-checks,explain-contrast,explain-handout,explain-zh}.png.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import launch, start_server  # noqa: E402
from make_inspect_screenshots import settle  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from dlviz.models import PRESETS  # noqa: E402
from dlviz.runs import RunStore  # noqa: E402
from dlviz.train import TrainConfig, TrainJob, run_job  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--home", default=None, help="a home to reuse (trains a CNN there when it has no run)")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    home = Path(a.home) if a.home else Path(tempfile.mkdtemp(prefix="dlviz-shots-")) / "home"
    if not any((home / "runs").glob("*/weights.safetensors")):
        res = run_job(
            TrainJob("mnist", PRESETS["cnn"].copy_spec(), TrainConfig(epochs=2), data_dir=a.data_dir), RunStore(home)
        )
        print(f"cnn: {res.test_accuracy:.2%} in {res.train_seconds:.1f} s")
    srv = start_server(home)
    try:
        with sync_playwright() as p:
            b = launch(p)
            ctx = b.new_context(viewport={"width": 1400, "height": 2200}, accept_downloads=True)
            page = ctx.new_page()
            page.goto(srv.url + "/explain")
            expect(page.get_by_role("heading", level=1, name="Explain")).to_be_visible(timeout=90_000)
            expect(page.get_by_text("Why 7?")).to_be_visible(timeout=90_000)
            settle(page, 2)
            page.screenshot(path=str(OUT / "explain.png"), full_page=True)

            page.get_by_role("button", name="Run the sanity checks").click()
            expect(page.get_by_text("Deletion and insertion check").first).to_be_visible(timeout=120_000)
            settle(page, 2)
            page.screenshot(path=str(OUT / "explain-checks.png"), full_page=True)

            with page.expect_download() as dl:
                page.get_by_role("button", name="One-page handout (HTML)").click()
            handout = Path(tempfile.mkdtemp()) / "handout.html"
            dl.value.save_as(handout)
            hp = ctx.new_page()
            hp.goto(handout.as_uri())
            hp.wait_for_timeout(800)
            hp.screenshot(path=str(OUT / "explain-handout.png"), full_page=True)
            hp.close()

            # test image 18 is a 3; ask why 3 and not 8
            page.get_by_text("Input: pick a test image, draw or upload").click()
            pos = page.get_by_label("Image number (of 10,000)")
            pos.fill("18")
            pos.press("Enter")
            expect(page.get_by_text("Explaining: Test image 18 (3)")).to_be_visible(timeout=60_000)
            settle(page, 1)
            if not page.get_by_text("Why 3?").is_visible():  # a CNN of 2 epochs may answer 8 here: ask about 3
                opts = page.get_by_test_id("stSelectbox").filter(has_text="Explain the class")
                opts.click()
                page.get_by_role("option", name=re.compile(r"^3\b")).first.click()
            expect(page.get_by_text("Why 3?")).to_be_visible(timeout=60_000)
            page.get_by_test_id("stSelectbox").filter(has_text="...and not").click()
            page.keyboard.type("8")  # the list is virtualised: filter it instead of scrolling
            page.get_by_role("option", name=re.compile(r"^8\b")).first.click()  # "8" or "8 (the model's answer)"
            expect(page.get_by_text("Why 3 and not 8?")).to_be_visible(timeout=60_000)
            settle(page, 2)
            page.screenshot(path=str(OUT / "explain-contrast.png"), full_page=True)

            page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name="简体中文").click()
            expect(page.get_by_role("heading", level=1, name="解释")).to_be_visible(timeout=60_000)
            settle(page, 2)
            page.screenshot(path=str(OUT / "explain-zh.png"), full_page=True)
            b.close()
    finally:
        srv.stop()
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("explain*.png"))))


if __name__ == "__main__":
    main()
