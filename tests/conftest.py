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


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/data/mnist is not present")
    return MNIST_DIR


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
