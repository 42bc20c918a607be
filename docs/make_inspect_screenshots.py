"""Regenerate the README's "look inside" screenshots: trains the CNN preset for 2 epochs on full MNIST,
starts the app, draws a digit, runs the gradient experiment, computes a t-SNE, opens an error cell.

    .venv/bin/python docs/make_inspect_screenshots.py [--data-dir ../shared/data/mnist]

Writes docs/screenshots/{inspect-drawn,filters,gradients,embeddings,errors,inspect-zh}.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import launch, start_server  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from dlviz.models import PRESETS  # noqa: E402
from dlviz.runs import RunStore  # noqa: E402
from dlviz.train import TrainConfig, TrainJob, run_job  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def settle(page, extra: float = 1.5) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=120_000,
    )
    time.sleep(extra)


def nav(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=name, exact=True)).to_be_visible(timeout=90_000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="dlviz-shots-")) / "home"
    res = run_job(
        TrainJob("mnist", PRESETS["cnn"].copy_spec(), TrainConfig(epochs=2), data_dir=a.data_dir), RunStore(home)
    )
    print(f"cnn: {res.test_accuracy:.2%} in {res.train_seconds:.1f} s")
    srv = start_server(home)  # serves ../shared/data/mnist, as the tests do
    try:
        with sync_playwright() as p:
            b = launch(p)
            page = b.new_page(viewport={"width": 1400, "height": 1300})
            page.goto(srv.url + "/inspect")
            expect(page.get_by_role("heading", level=1, name="Inspect")).to_be_visible(timeout=90_000)
            settle(page)
            page.get_by_test_id("stRadio").get_by_text("Draw", exact=True).click()
            canvas = page.locator("canvas.upper-canvas")
            expect(canvas).to_be_visible(timeout=60_000)
            settle(page)
            box = canvas.bounding_box()
            # a "3": two bumps
            pts = [(0.30, 0.22), (0.55, 0.15), (0.70, 0.28), (0.50, 0.47), (0.72, 0.62), (0.58, 0.82), (0.30, 0.80)]
            page.mouse.move(box["x"] + pts[0][0] * box["width"], box["y"] + pts[0][1] * box["height"])
            page.mouse.down()
            for x, y in pts[1:]:
                page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=10)
            page.mouse.up()
            expect(page.get_by_text("What the model sees (28 x 28)")).to_be_visible(timeout=60_000)
            settle(page)
            page.screenshot(path=str(OUT / "inspect-drawn.png"))

            nav(page, "Filters")
            settle(page)
            page.screenshot(path=str(OUT / "filters.png"))

            nav(page, "Gradients")
            settle(page)
            page.get_by_role("button", name="Run the experiment: deep sigmoid vs ReLU vs residual").click()
            expect(page.get_by_text("Training", exact=False).first).to_be_visible(timeout=60_000)
            expect(page.locator(".js-plotly-plot").last).to_contain_text("deep-sigmoid", timeout=300_000)
            settle(page, 3)
            page.set_viewport_size({"width": 1400, "height": 2300})
            page.screenshot(path=str(OUT / "gradients.png"), full_page=True)
            page.set_viewport_size({"width": 1400, "height": 1300})

            nav(page, "Embeddings")
            settle(page)
            page.get_by_test_id("stRadio").get_by_text("t-SNE", exact=True).click()
            settle(page)
            page.get_by_role("button", name="Compute t-SNE").click()
            expect(page.get_by_text("t-SNE keeps each image").first).to_be_visible(timeout=120_000)
            settle(page, 3)
            page.screenshot(path=str(OUT / "embeddings.png"))

            nav(page, "Errors")
            settle(page, 3)
            page.screenshot(path=str(OUT / "errors.png"))

            nav(page, "Inspect")
            settle(page)
            page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name="简体中文").click()
            expect(page.get_by_role("heading", level=1, name="检视")).to_be_visible(timeout=60_000)
            settle(page, 3)
            page.screenshot(path=str(OUT / "inspect-zh.png"))
            b.close()
    finally:
        srv.stop()
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
