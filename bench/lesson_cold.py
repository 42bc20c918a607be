"""The first lesson a just-started server opens: start the app, open the Start page in a new browser tab, press a
lesson's Start, time it until its first step has drawn; then stop the server. Every open is a new server.

    python bench/lesson_cold.py [--lessons a,b] [--rounds 3] [--read-s 0] [--tiny] [--json] [OTHER_CHECKOUT ...]

``bench/lesson_open.py`` opens every lesson on one server, so only its very first open meets a just-started
server. Here every open does: the server's first page starts its warm-ups in background threads (the explanation
path, every page's imports, the datasets), and a lesson pressed at once (``--read-s 0``) opens while they run.
Given other checkouts of dlviz (folders), it opens the same lessons on each, in a random order within each round
(an interleaved A/B: a busy moment of the machine falls on both), and prints one row per checkout and lesson.
The lessons are prepared once (``python -m dlviz lessons prepare``, ``--tiny``: 1 epoch on 600 images) by this
checkout, and each server gets a fresh copy of that home. Each open also records ``start_page_s``, the seconds from
starting the server to the lesson's Start button drawn: a change that makes the click faster by making the Start page
slower (or the other way round) shows in both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import browser_util  # noqa: E402
from lesson_open import _lesson_ids, _open_one, _prepare, _run_count, _tree_cpu  # noqa: E402


def _server(checkout: Path, home: Path, data_dir: Path, tiny: bool) -> browser_util.Server:
    """The app of ``checkout``, run from its own folder (``python -m streamlit`` puts the working folder first on
    the import path: run from here, another checkout would import this one's dlviz)."""
    saved = browser_util.ROOT
    browser_util.ROOT = checkout
    try:
        return browser_util.Server(home, data_dir=data_dir, env={"DLVIZ_LESSON_TINY": "1" if tiny else "0"})
    finally:
        browser_util.ROOT = saved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkouts", nargs="*", type=Path, help="other dlviz checkouts to compare with this one")
    ap.add_argument("--data-dir", type=Path, default=browser_util.MNIST_DIR.parent)
    ap.add_argument("--lessons", default="", help="comma-separated lesson ids (default: every lesson)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--read-s", type=float, default=0.0, help="seconds the Start page is read before pressing")
    ap.add_argument("--tiny", action="store_true", help="prepare the lessons' runs with DLVIZ_LESSON_TINY=1")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    checkouts = [ROOT, *(c.resolve() for c in a.checkouts)]
    names = [str(c) for c in checkouts]
    rows: dict[tuple[str, str], list[dict]] = {}
    trained = 0
    with tempfile.TemporaryDirectory(prefix="dlviz-lesson-cold-") as tmp:
        prepared = Path(tmp) / "prepared"
        prepared.mkdir()
        prepare_s = _prepare(prepared, a.data_dir, a.tiny)
        ids = [i for i in a.lessons.split(",") if i] or _lesson_ids(prepared)
        me = os.getpid()
        with sync_playwright() as p:
            browser = browser_util.launch(p)
            for _ in range(a.rounds):
                for lesson_id in ids:
                    for checkout in random.sample(checkouts, len(checkouts)):
                        home = Path(tmp) / "home"
                        shutil.rmtree(home, ignore_errors=True)
                        shutil.copytree(prepared, home)
                        runs_before = _run_count(home)
                        spawned = time.perf_counter()
                        shown: list[float] = []
                        server = _server(checkout, home, a.data_dir, a.tiny)
                        try:
                            server.wait_healthy(120)

                            def cpu(server=server) -> tuple[float, float]:
                                server_s = _tree_cpu(server.proc.pid)
                                return server_s, _tree_cpu(me) - server_s

                            (settled_s, end_s), (server_cpu, browser_cpu) = _open_one(
                                browser, server.url, lesson_id, cpu, a.read_s, shown
                            )
                        finally:
                            server.stop()
                        trained += _run_count(home) - runs_before
                        rows.setdefault((str(checkout), lesson_id), []).append(
                            {
                                "open_s": round(settled_s, 2),
                                "run_end_s": end_s,
                                "cpu_s": [server_cpu, browser_cpu],
                                "start_page_s": round(shown[0] - spawned, 2),  # server start to Start drawn
                            }
                        )
            browser.close()
    every = [r["open_s"] for v in rows.values() for r in v]
    out = {
        "prepare_s": round(prepare_s, 1),
        "tiny": a.tiny,
        "read_s": a.read_s,
        "checkouts": names,
        "opens": {f"{c} {lesson}": v for (c, lesson), v in rows.items()},
        "under_2_s": sum(s < 2 for s in every),
        "count": len(every),
        "runs_trained_while_opening": trained,
    }
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"first open on a just-started server, read the Start page {a.read_s:g} s; {a.rounds} round(s)")
    for lesson_id in ids:
        for c in names:
            got = rows.get((c, lesson_id), [])
            s = [r["open_s"] for r in got]
            if not s:
                continue
            label = Path(c).name if len(names) > 1 else ""
            print(
                f"{lesson_id:<32}{label:<12} median {statistics.median(s):5.2f} s  "
                + " ".join(f"{x:.2f}" for x in s)
                + f"   under 2 s: {sum(x < 2 for x in s)} of {len(s)}"
            )
    for c in names:
        shown = [r["start_page_s"] for (co, _), v in rows.items() if co == c for r in v]
        if shown:
            print(f"server start to the Start page drawn, {Path(c).name}: median {statistics.median(shown):.2f} s")
    print(f"{out['under_2_s']} of {out['count']} opens under 2 s")
    if trained:
        print(f"NOT A VALID MEASUREMENT: the servers trained {trained} run(s) while the lessons opened")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
