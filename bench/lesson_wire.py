"""What opening a lesson costs on the server and on the wire, without a browser: for every lesson a new
websocket session (bench/st_client.py) opens the Start page, presses the lesson's Start and waits for the first
step's run to finish. Prints the server-side seconds (request to script_finished), the bytes the server sent,
and the largest elements by type (a Plotly figure's JSON, an image), so a slow open in bench/lesson_open.py can be
split into "the server computes" and "the browser draws what it got".

    python bench/lesson_wire.py --home DIR [--tiny] [--rounds 2] [--json]
    python bench/lesson_wire.py --home DIR [--tiny] --together 30 --only trust-explanations

``--together N``: N sessions open the Start page, then all press the lesson's Start at the same moment (a class
the teacher asks to begin a lesson): prints the median, 90th percentile and slowest server seconds per lesson.

``--home`` is a DLVIZ_HOME where ``python -m dlviz lessons prepare`` has already run (bench/lesson_open.py makes
its own and throws it away; this one reuses yours, so it can be run again and again while profiling).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from browser_util import MNIST_DIR, Server  # noqa: E402
from st_client import Session  # noqa: E402


def _lesson_ids(home: Path) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from dlviz.lessons import load_lessons

    return list(load_lessons())


def _run_count(home: Path) -> int:
    runs = home / "runs"
    return sum(1 for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else 0


async def _one(url: str, lesson_id: str, go: asyncio.Event | None = None, ready: list | None = None) -> dict:
    async with Session(url, timeout=300) as s:
        await s.open()
        before = s.bytes_in
        if go is not None:  # wait until every session of the class is on the Start page
            ready.append(1)
            await go.wait()
        timing = await s.click(f"_lsn_start_{lesson_id}")
        sizes: dict[str, int] = {}
        for el in s.page.elements.values():
            kind = el.WhichOneof("type")
            sizes[kind] = sizes.get(kind, 0) + el.ByteSize()
        top = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
        return {
            "server_s": round(timing.seconds, 2),
            "reruns": timing.reruns,
            "kb": round((s.bytes_in - before) / 1024, 1),
            "top_kb": {k: round(v / 1024, 1) for k, v in top},
            "ok": timing.ok,
        }


async def _class(url: str, lesson_id: str, n: int) -> dict:
    """``n`` sessions on the Start page press the lesson's Start together; their server seconds, sorted."""
    import statistics

    go, ready = asyncio.Event(), []
    tasks = [asyncio.create_task(_one(url, lesson_id, go, ready)) for _ in range(n)]
    while len(ready) < n:
        if any(t.done() for t in tasks):  # a session failed before pressing: report it
            break
        await asyncio.sleep(0.05)
    go.set()
    got = await asyncio.gather(*tasks)
    s = sorted(r["server_s"] for r in got)
    return {
        "sessions": n,
        "ok": sum(r["ok"] for r in got),
        "median_s": round(statistics.median(s), 2),
        "p90_s": round(s[min(len(s) - 1, int(0.9 * len(s)))], 2),
        "max_s": s[-1],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, default=MNIST_DIR.parent)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="the home was prepared with DLVIZ_LESSON_TINY=1")
    ap.add_argument("--together", type=int, default=0, help="N sessions press Start at once (a class)")
    a = ap.parse_args(argv)
    ids = [i for i in _lesson_ids(a.home) if not a.only or i in a.only.split(",")]
    # the server must run with the recipes the home was prepared with, or it trains every lesson's runs on open
    server = Server(a.home, data_dir=a.data_dir, env={"DLVIZ_LESSON_TINY": "1" if a.tiny else "0"})
    runs_before = _run_count(a.home)
    out: dict[str, list[dict]] = {i: [] for i in ids}
    try:
        server.wait_healthy(120)
        if a.together:
            together = {i: asyncio.run(_class(server.url, i, a.together)) for i in ids}
            trained = _run_count(a.home) - runs_before
            print(json.dumps({"together": together, "runs_trained_while_opening": trained}))
            return 0
        for _ in range(a.rounds):
            for i in ids:
                out[i].append(asyncio.run(_one(server.url, i)))
                if not a.json:
                    r = out[i][-1]
                    print(f"{i:<32} {r['server_s']:>6.2f}s {r['kb']:>8.1f} KB  {r['top_kb']}  ok={r['ok']}", flush=True)
        trained = _run_count(a.home) - runs_before
    finally:
        server.stop()
    if a.json:
        print(json.dumps({"opens": out, "runs_trained_while_opening": trained}))
    elif trained:
        print(f"NOT A VALID MEASUREMENT: the server trained {trained} run(s) while the lessons opened")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
