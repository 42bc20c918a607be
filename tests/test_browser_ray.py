"""The real app with DLVIZ_EXECUTOR=ray: a user trains in Chromium, the job runs on a local Ray cluster, and Ray
is never loaded into the Streamlit server's process (its driver is a child process; dlviz.train.ray_executor).

Skips where Ray or the browser is missing (CI installs both)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser_util import (
    TITLES,
    VIEWPORT,
    goto,
    launch,
    load_preset,
    nav,
    set_recipe,
    skip_without_browser,
    start_server,
    start_training,
    wait_finished,
)

pytestmark = pytest.mark.browser

skip_without_browser()
ray = pytest.importorskip("ray")

from playwright.sync_api import sync_playwright  # noqa: E402
from ray_util import local_cluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with local_cluster() as address:
        yield address


def _maps(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return ""


def _descendants(pid: int) -> set[int]:
    parents = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parents[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, grew = {pid}, True
    while grew:
        new = {c for c, pp in parents.items() if pp in out and c not in out}
        out |= new
        grew = bool(new)
    return out - {pid}


def test_a_user_trains_on_the_ray_cluster_and_ray_stays_out_of_the_server(cluster, tmp_path):
    drivers: list[int] = []
    server = start_server(tmp_path / "dlviz-home", env={"DLVIZ_EXECUTOR": "ray", "DLVIZ_RAY_ADDRESS": cluster})
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(30_000)
            goto(page, server.url + "/", TITLES["Start"])
            nav(page, "Build")
            load_preset(page, "MLP", "109,386")
            nav(page, "Train")
            set_recipe(page, epochs=1)
            start_training(page)
            acc = wait_finished(page)
            browser.close()
        assert acc > 50, f"test accuracy {acc}% after one epoch of the MLP on the quick demo"
        home = tmp_path / "dlviz-home"
        assert (home / "class" / "ray-store-token").is_file()  # the driver connected and marked the store
        if Path(f"/proc/{server.proc.pid}/maps").exists():
            assert "_raylet" not in _maps(server.proc.pid), "Ray was loaded into the Streamlit server's process"
            drivers = [c for c in _descendants(server.proc.pid) if "_raylet" in _maps(c)]
            assert len(drivers) == 1, drivers  # Ray lives in one child of the server: its driver
        assert "Traceback" not in server.log()
    finally:
        server.stop()
    assert server.proc.returncode is not None
    for pid in drivers:  # the driver ends with the server that started it
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists() or "zombie" in _status(pid):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the Ray driver {pid} outlived the server")
