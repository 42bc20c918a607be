"""One cold open of a lesson pressed at once, with py-spy recording the server from the click until drawn.

python docs/bench/2026-12-07-pyspy/drive.py LESSON_ID OUT.raw   (from a checkout with .venv and ../shared)
"""

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import browser_util  # noqa: E402
from lesson_open import _open_one, _prepare  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def main(lesson: str, out: str) -> None:
    data = browser_util.MNIST_DIR.parent
    with tempfile.TemporaryDirectory(prefix="dlviz-pyspy-") as tmp:
        prepared = Path(tmp) / "prepared"
        prepared.mkdir()
        _prepare(prepared, data, True)
        home = Path(tmp) / "home"
        shutil.copytree(prepared, home)
        server = browser_util.Server(home, data_dir=data, env={"DLVIZ_LESSON_TINY": "1"})
        spy: list[subprocess.Popen] = []

        def around_the_click() -> tuple[float]:
            """bench/lesson_open's hook, called just before the click and once the step has drawn."""
            if not spy:
                spy.append(
                    subprocess.Popen(
                        [str(ROOT / ".venv/bin/py-spy"), "record", "-p", str(server.proc.pid), "--threads", "--idle"]
                        + ["--rate", "200", "--format", "raw", "-o", out, "--nonblocking"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                time.sleep(0.3)  # py-spy attached
            else:
                spy[0].send_signal(signal.SIGINT)
                spy[0].wait(30)
            return (0.0,)

        try:
            server.wait_healthy(120)
            with sync_playwright() as p:
                browser = browser_util.launch(p)
                (seconds, _drawn), _ = _open_one(browser, server.url, lesson, around_the_click)
                print(lesson, "open", round(seconds, 2), "s")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
