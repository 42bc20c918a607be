"""Helpers for the browser tests: a Streamlit server on a free port, Debian's chromium, page helpers.

No Streamlit or dlviz import here: the app runs in its own process, as a user would start it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 2400}  # the main area scrolls inside its own container: be tall

# page title (the h1 each page shows) by sidebar link
TITLES = {
    "Start": "dlviz: build, train and look inside neural networks",
    "Data": "Data",
    "Build": "Build a network",
    "Train": "Train",
    "Runs": "Runs",
    "Inspect": "Inspect",
    "Filters": "Filters",
    "Gradients": "Gradients",
    "Embeddings": "Embeddings",
    "Errors": "Errors",
    "Attention": "Attention",
    "Sequence": "Sequence",
    "Explain": "Explain",
    "Glossary": "Glossary",
    "Compress": "Compress",
    "Autoencoder": "Autoencoder",
    "Classroom": "Classroom",  # the teacher's dashboard on a class server ("Class" reads 类别, a category, in zh)
}
CLASS_ONLY = ("Classroom",)  # in the navigation of a class server's teacher only, never alone
EXCEPTION = '[data-testid="stException"]'


def skip_without_browser() -> None:
    """Skip the calling test module when chromium, playwright or MNIST is missing (call at import)."""
    import importlib.util

    import pytest

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed (pip install playwright)", allow_module_level=True)
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"{MNIST_DIR} is not present", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app.py`` on a free port, with a private DLVIZ_HOME, offline, MNIST from ../shared.

    ``app_args`` go to the app after ``--`` (``["--class"]``: a class server); ``env`` adds to its environment;
    ``script`` is the app's file (another one than app.py: a test's own small app)."""

    def __init__(
        self,
        home: Path,
        data_dir: Path = MNIST_DIR,
        app_args: list[str] | tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        port: int | None = None,
        script: str = "app.py",
    ):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home.parent / f"streamlit-{self.port}.log"
        env = {
            **{k: v for k, v in os.environ.items() if k != "DLVIZ_EXECUTOR"},
            "DLVIZ_HOME": str(self.home),
            "DLVIZ_DATA_DIR": str(data_dir),
            "DLVIZ_OFFLINE": "1",
            **(env or {}),
        }
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
                *(["--", *app_args] if app_args else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.25)  # polling a socket, not waiting on the page
        raise RuntimeError(f"streamlit did not answer on {self.url} within {timeout:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def start_server(
    home: Path,
    timeout: float = 60,
    app_args: list[str] | tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    data_dir: Path = MNIST_DIR,
) -> Server:
    server = Server(home, data_dir=data_dir, app_args=app_args, env=env)
    try:
        server.wait_healthy(timeout)
    except BaseException:
        server.stop()
        raise
    return server


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# --------------------------------------------------------------------------- page helpers
def exact(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def title(page, text: str):
    return page.get_by_role("heading", level=1, name=text, exact=True)


def button(page, label: str):
    """A visible button by its label (its Material icon is aria-hidden, so the name is the label)."""
    return page.get_by_role("button", name=label, exact=True)


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").filter(has_text=exact(label))
    )


def metric_value(page, label: str):
    return metric(page, label).get_by_test_id("stMetricValue")


def percent(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*", text)
    assert m, f"not a percentage: {text!r}"
    return float(m.group(1))


# one round trip: what the live panel shows now
LIVE_JS = """() => {
  const out = {metrics: {}};
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    const v = m.querySelector('[data-testid="stMetricValue"]');
    if (l && v) out.metrics[l.innerText.trim()] = v.innerText.trim();
  }
  const bar = document.querySelector('[data-testid="stProgress"] [role="progressbar"]');
  out.progress = bar ? Number(bar.getAttribute('aria-valuenow')) : null;
  const text = document.querySelector('[data-testid="stProgress"]');
  out.status = text ? text.innerText.trim() : null;
  out.points = 0;
  out.charts = 0;
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    const plot = c.querySelector('.js-plotly-plot');
    if (!plot || !c.offsetParent) continue;
    out.charts += 1;
    // traces arrive base64-encoded (plotly 6): count what plotly decoded
    for (const tr of (plot._fullData || [])) out.points += (tr._length || 0);
  }
  return out;
}"""


def live_state(page) -> dict:
    return page.evaluate(LIVE_JS)


def goto(page, url: str, page_title: str, timeout: float = 60_000) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(title(page, page_title)).to_be_visible(timeout=timeout)


def nav(page, link: str, timeout: float = 60_000) -> None:
    """Click a sidebar link and wait for that page's title."""
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    expect(title(page, TITLES[link])).to_be_visible(timeout=timeout)


def sid(url: str) -> str:
    m = re.search(r"[?&]s=([a-f0-9]{16})", url)
    assert m, f"no session id in {url}"
    return m.group(1)


def settled(page, timeout: float = 60_000) -> None:
    """The script run that drew the page is over (Streamlit marks its root element)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)


def set_number(page, label: str, value: int) -> None:
    from playwright.sync_api import expect

    box = page.get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    expect(box).to_have_value(str(value))


def set_recipe(page, epochs: int | None = None, batch_size: int | None = None, quick: bool = True) -> None:
    """On the Train page: the quick demo (under "More settings") if ``quick``, the epochs and the batch
    size if given."""
    from playwright.sync_api import expect

    settled(page)
    if quick:
        switch = page.get_by_role("switch", name=re.compile(r"^Quick demo: train on 6,000 images only"))
        if not switch.is_visible():
            page.get_by_text("More settings", exact=True).click()
        expect(switch).to_be_visible()
        for _ in range(3):
            if switch.is_checked():
                break
            # the switch's input sits under its styled label, which takes the click; on this loaded
            # 2-core machine a click landing while the page redraws is sometimes dropped: click again
            page.get_by_text(re.compile(r"^Quick demo: train on 6,000 images only")).click()
            try:
                expect(switch).to_be_checked(timeout=5000)
            except AssertionError:
                settled(page)
        expect(switch).to_be_checked()
        settled(page)
    if epochs is not None:
        set_number(page, "Epochs", epochs)
    if batch_size is not None:
        set_number(page, "Batch size", batch_size)
    settled(page)


# --------------------------------------------------------------------------- steps a user takes
LOAD_MS = 60_000  # a page's first render (the first one imports torch in the server)
FINISH_MS = 90_000  # a quick-demo training, to "Training finished."


def no_exception(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator(EXCEPTION)).to_have_count(0)


def load_preset(page, prefix: str, params: str, timeout: float = LOAD_MS) -> None:
    """On the Build page: pick the preset whose title starts with ``prefix``, load it, see its parameter count."""
    from playwright.sync_api import expect

    page.get_by_role("combobox", name="Start from a preset").click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(prefix)}\b")).click()  # choosing it loads it
    expect(metric_value(page, "Parameters")).to_have_text(params, timeout=timeout)
    no_exception(page)


def start_training(page, timeout: float = LOAD_MS) -> None:
    from playwright.sync_api import expect

    button(page, "Train").click()
    # a job of this session is active: the live panel replaces any earlier result
    expect(button(page, "Stop")).to_be_visible(timeout=timeout)
    expect(button(page, "Train")).to_be_disabled()


def wait_finished(page, timeout: float = FINISH_MS) -> float:
    """Wait for the end of this session's run; return the test accuracy it shows, in percent."""
    from playwright.sync_api import expect

    expect(page.get_by_text("Training finished.", exact=True)).to_be_visible(timeout=timeout)
    expect(button(page, "Stop")).to_have_count(0)
    expect(button(page, "Train")).to_be_enabled()
    acc = percent(metric_value(page, "Test accuracy").inner_text())
    no_exception(page)
    return acc
