"""Regenerate the README's screenshots: starts the app on full MNIST, clicks through it in Chromium.

    .venv/bin/python docs/make_screenshots.py [--data-dir ../shared/data/mnist]

Writes docs/screenshots/{build,data,train-live,train,runs,train-zh,glossary-zh}.png. Uses Debian's chromium.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    home = tempfile.mkdtemp(prefix="dlviz-shots-")
    env = {**os.environ, "DLVIZ_HOME": home, "DLVIZ_DATA_DIR": a.data_dir, "DLVIZ_OFFLINE": "1"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(base + "/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(base + "/build")
            # the parameter count of the whole model (the preset's blurb names it earlier, while the page draws)
            expect(page.get_by_test_id("stMetricValue").filter(has_text="109,386")).to_be_visible(timeout=60000)
            time.sleep(2)
            page.screenshot(path=str(OUT / "build.png"))
            page.get_by_test_id("stSidebar").get_by_role("link", name="Data").click()
            expect(page.get_by_text("Sample images").first).to_be_visible(timeout=60000)
            time.sleep(3)
            page.screenshot(path=str(OUT / "data.png"))
            page.get_by_test_id("stSidebar").get_by_role("link", name="Train").click()
            page.locator("button", has_text="Train").first.click()
            expect(page.get_by_text("Samples per second")).to_be_visible(timeout=60000)
            try:  # both curves with some length: the second epoch under way (its first validation point drawn)
                expect(
                    page.get_by_test_id("stMetricValue").filter(has_text=re.compile(r"^\s*[2-5] / 5\s*$"))
                ).to_be_visible(timeout=180000)
            except AssertionError:
                pass  # a very slow machine: take the picture as it is
            time.sleep(1.5)
            page.set_viewport_size({"width": 1400, "height": 1100})
            page.screenshot(path=str(OUT / "train-live.png"))
            expect(page.get_by_text("Training finished.")).to_be_visible(timeout=300000)
            page.set_viewport_size({"width": 1400, "height": 2300})
            time.sleep(3)
            page.screenshot(path=str(OUT / "train.png"))
            page.set_viewport_size({"width": 1400, "height": 1300})
            page.get_by_test_id("stSidebar").get_by_role("link", name="Runs").click()
            expect(page.get_by_text("saved runs").first).to_be_visible(timeout=60000)
            time.sleep(3)
            page.screenshot(path=str(OUT / "runs.png"))
            page.get_by_test_id("stSidebar").get_by_role("link", name="Train").click()
            expect(page.get_by_text("Test accuracy").first).to_be_visible(timeout=60000)
            page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name="简体中文").click()
            expect(page.get_by_text("测试准确率").first).to_be_visible(timeout=60000)
            page.set_viewport_size({"width": 1400, "height": 1500})
            time.sleep(3)
            page.screenshot(path=str(OUT / "train-zh.png"))
            page.get_by_test_id("stSidebar").get_by_role("link", name="术语表").click()
            expect(page.get_by_role("heading", name="步长")).to_be_visible(timeout=60000)
            page.set_viewport_size({"width": 1400, "height": 1000})
            time.sleep(2)
            page.screenshot(path=str(OUT / "glossary-zh.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
