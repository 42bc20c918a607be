"""The first Train of a just-started server: start the app, open the Start page, wait ``--wait-s`` seconds, go to the
Train page, choose the quick demo (1 epoch, batch 64) and press Train; print the seconds from the click until the
Stop button shows and until "Training finished." shows. Then stop the server. Every repeat is a new server.

    python bench/first_train.py [--wait-s 0] [--repeat 3] [OTHER_CHECKOUT ...]

Given other checkouts of dlviz, the repeats alternate between them (this one first). The fork server that training
jobs start from warms up in the background from the server's first page; pressed before it is warm, the first job
waits for it (docs/performance.md, "The fork server's warm-up").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import browser_util  # noqa: E402


def _once(checkout: Path, wait_s: float, data_dir: Path) -> tuple[float, float]:
    from playwright.sync_api import expect, sync_playwright

    saved = browser_util.ROOT
    browser_util.ROOT = checkout  # run the other checkout from its own folder (its own dlviz on the path)
    try:
        srv = browser_util.Server(Path(tempfile.mkdtemp()) / "home", data_dir=data_dir)
    finally:
        browser_util.ROOT = saved
    try:
        srv.wait_healthy()
        with sync_playwright() as p:
            browser = browser_util.launch(p)
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(120_000)
            browser_util.goto(page, srv.url + "/", "dlviz: build, train and look inside neural networks", 120_000)
            browser_util.settled(page)
            time.sleep(wait_s)
            browser_util.nav(page, "Train")
            browser_util.set_recipe(page, epochs=1, batch_size=64)
            browser_util.settled(page)
            t0 = time.perf_counter()
            browser_util.button(page, "Train").click()
            expect(browser_util.button(page, "Stop")).to_be_visible(timeout=120_000)
            started = time.perf_counter() - t0
            expect(page.get_by_text("Training finished.", exact=True)).to_be_visible(timeout=120_000)
            finished = time.perf_counter() - t0
            browser.close()
        return started, finished
    finally:
        srv.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkouts", nargs="*", type=Path, help="other dlviz checkouts to alternate with this one")
    ap.add_argument("--wait-s", type=float, default=0.0, help="seconds on the Start page before going to Train")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data-dir", type=Path, default=browser_util.MNIST_DIR)
    a = ap.parse_args(argv)
    checkouts = [ROOT, *(c.resolve() for c in a.checkouts)]
    print("| checkout | wait on Start (s) | Train -> Stop shown (s) | Train -> 'Training finished.' (s) |")
    print("|---|---|---|---|")
    for _ in range(a.repeat):
        for co in checkouts:
            started, finished = _once(co, a.wait_s, a.data_dir)
            print(f"| {co} | {a.wait_s:g} | {started:.2f} | {finished:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
