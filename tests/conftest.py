"""Shared fixtures. Nothing at test time reaches the network: DLVIZ_OFFLINE=1 everywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MNIST_DIR = SHARED / "mnist"

os.environ.setdefault("DLVIZ_OFFLINE", "1")
# In-process page tests (AppTest) train in threads, so their monkeypatches reach the training code.
# The browser tests start the real app without this (tests/browser_util.py): there jobs train in
# child processes, as for users; tests/test_process.py covers that executor directly.
os.environ.setdefault("DLVIZ_EXECUTOR", "thread")
# OpenMP's worker threads (torch's intra-op pool) spin while they wait for work. On this machine's two cores,
# shared with other jobs, a spinning thread burns the core its partner needs: 25 steps of the small
# transformer took 12 s of CPU instead of 0.4 s. Waiting passively keeps both threads and wastes nothing.
# Set here, before any test module imports torch; child processes (CLI, training, servers) inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/data/mnist is not present")
    return MNIST_DIR


@pytest.fixture(scope="session")
def cnn_cli_run(tmp_path_factory, mnist_dir) -> dict:
    """One CNN run trained by ``python -m dlviz train`` (1 epoch on 2,000 images on the CPU, default precision,
    in this process) in a private home that its tests only read: {"home": Path, "run_id": str, "out": the
    JSON line}. Trained once per session for the CLI's train, explain and inspect tests (once per test before)."""
    import json

    from cli_util import run_cli

    h = tmp_path_factory.mktemp("cnn-cli-home")
    r = run_cli(
        "train",
        *("--model", "cnn", "--epochs", "1", "--limit", "2000", "--device", "cpu", "--data-dir", mnist_dir, "--json"),
        env={"DLVIZ_HOME": str(h), "DLVIZ_OFFLINE": "1"},
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    return {"home": h, "run_id": out["run_id"], "out": out}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A private DLVIZ_HOME, offline, so tests never touch ~/.dlviz or the network."""
    h = tmp_path / "dlviz-home"
    monkeypatch.setenv("DLVIZ_HOME", str(h))
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    return h


@pytest.fixture
def app(home, mnist_dir, monkeypatch):
    """A factory for AppTest on app.py with full MNIST from ../shared; call ``app()`` then ``.run()``."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DLVIZ_DATA_DIR", str(mnist_dir))
    monkeypatch.chdir(ROOT)

    def make(timeout: float = 60) -> AppTest:
        return AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)

    return make


# --------------------------------------------------------------------------------------------
# Tiers and the CPU-time report
#
# Fast tier (developers): pytest -n 2 -m "not slow and not browser". Everything (CI, .ci/run): pytest -q.
# Other helpers share this machine's two cores, so wall times (--durations) swing with the load;
# --cpu-durations=N lists the N tests that cost the most CPU (this process and the children it waited
# for, user + system; a module or session fixture counts against the first test that uses it).

_CPU: list[tuple[float, float, str]] = []


def pytest_addoption(parser):
    parser.addoption(
        "--cpu-durations",
        type=int,
        default=None,
        metavar="N",
        help="list the N tests that took the most CPU time (0: all), with their wall time and each file's total",
    )
    parser.addoption(
        "--dlviz-modules",
        action="store_true",
        help="at the end, name every module of dlviz/ that no test of this run imported, or imported without "
        "calling one of its functions (in this process; a profile hook, so the run is slower)",
    )


_CALLED: set[str] = set()  # files that a called function was defined in
_RAN: set[str] = set()  # files whose top level ran (the pages: AppTest runs them as scripts)


def _profile(frame, event, arg):
    if event == "call":
        (_RAN if frame.f_code.co_name == "<module>" else _CALLED).add(frame.f_code.co_filename)


def pytest_configure(config):
    if config.getoption("--dlviz-modules"):
        import sys
        import threading

        sys.setprofile(_profile)
        threading.setprofile(_profile)


def pytest_unconfigure(config):
    if config.getoption("--dlviz-modules"):
        import sys
        import threading

        sys.setprofile(None)
        threading.setprofile(None)


def _dlviz_modules_report(tr) -> None:
    import sys

    files = sorted(p for p in (ROOT / "dlviz").rglob("*.py") if "__pycache__" not in p.parts)
    loaded = {str(Path(m.__file__).resolve()) for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    called = {str(Path(f).resolve()) for f in _CALLED}
    unimported = [p for p in files if str(p) not in loaded]
    uncalled = [p for p in files if str(p) in loaded and str(p) not in called and p.stat().st_size > 0]
    pages = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py")])
    ran = {str(Path(f).resolve()) for f in _RAN}
    unrun = [p for p in pages if str(p) not in ran]
    tr.write_sep("=", f"dlviz modules: {len(files)} files in dlviz/, {len(pages)} pages")
    for label, group in (
        ("not imported", unimported),
        ("imported, no function of it called", uncalled),
        ("pages never run", unrun),
    ):
        tr.write_line(f"{label}: {len(group)}")
        for p in group:
            tr.write_line(f"    {p.relative_to(ROOT)}")


# Tests that start a real server (Streamlit, a Ray cluster) or drive Chromium: under ``-n 2 --dist loadgroup`` (CI)
# they all run one after another in one worker, while the other worker takes the rest. Two browsers or two servers
# at once on two cores would turn their waits into timeouts; one of them beside the in-process tests does not.
SERVER_FILES = (
    "test_ray_executor.py",
    "test_bench_classroom.py",
    "test_hostile.py",
    "test_offline.py",
    "test_zh_words.py",
)


def pytest_collection_modifyitems(config, items):
    # a test_browser_*.py file drives chromium: it belongs to the browser tier even if it forgets the mark
    for item in items:
        if item.path.name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") or item.path.name in SERVER_FILES:
            item.add_marker(pytest.mark.xdist_group("servers"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if item.config.getoption("--cpu-durations") is None:
        yield
        return
    import time

    t0, w0 = os.times(), time.perf_counter()
    yield
    t1, w1 = os.times(), time.perf_counter()
    cpu = sum(b - a for a, b in zip(t0[:4], t1[:4], strict=True))  # user, system, children's user and system
    _CPU.append((cpu, w1 - w0, item.nodeid))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if config.getoption("--dlviz-modules"):
        _dlviz_modules_report(terminalreporter)
    n = config.getoption("--cpu-durations")
    if n is None or not _CPU:
        return
    tr = terminalreporter
    rows = sorted(_CPU, reverse=True)
    tr.write_sep("=", f"CPU time per test (load average now {os.getloadavg()[0]:.2f})")
    for cpu, wall, nodeid in rows[: n or None]:
        tr.write_line(f"{cpu:8.2f}s cpu {wall:8.2f}s wall  {nodeid}")
    per_file: dict[str, float] = {}
    for cpu, _, nodeid in rows:
        per_file[nodeid.split("::")[0]] = per_file.get(nodeid.split("::")[0], 0.0) + cpu
    tr.write_sep("-", "CPU time per file")
    for path, cpu in sorted(per_file.items(), key=lambda kv: kv[1], reverse=True)[: n or None]:
        tr.write_line(f"{cpu:8.2f}s  {path}")
    tr.write_line(f"{sum(c for c, _, _ in rows):8.2f}s cpu in all, {sum(w for _, w, _ in rows):.2f}s wall")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a browser test module (tests/browser_util.py launches it)."""
    from browser_util import launch
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
