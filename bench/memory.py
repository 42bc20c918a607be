"""The app's memory: the Streamlit server with MNIST loaded, and what each additional browser session adds.

    python bench/memory.py [--sessions 6] [--data-dir ../shared/data/mnist] [--epochs N] [--quick] [--json]

Starts ``streamlit run app.py`` (headless, offline, a private DLVIZ_HOME in a temp folder) and drives
Debian's chromium with Playwright, as tests/browser_util.py does. Session 1 visits Start, Data (MNIST
loaded and shown), Build, Train (presses Train for the default MLP with the page's recipe and waits for
"Training finished."), then Inspect. Sessions 2..K are new browser contexts (kept open), each visiting
Start, Data, Build, Train and Inspect. After every step it reads, from /proc:

- the server's VmRSS (resident now) and VmHWM (its peak so far);
- every descendant process (the multiprocessing fork server with torch preloaded, the resource tracker,
  a training job forked from the fork server) with its RSS, and the PSS of server + descendants
  (forked children share pages with the fork server, so their RSS counts those pages twice; PSS
  splits shared pages between the processes that map them, including unrelated processes that map the
  same libraries, such as another python with torch loaded: it moves when they come and go); a child of the fork server seen before
  Train was pressed is the executor's warm-up (an empty job that makes the fork server import torch);
- a sampler polls every 0.2 s in between, so a training job that has exited is reported with the
  peak RSS it was seen at.

The issue's targets: the app process with MNIST loaded under 1.5 GB resident; each additional browser
session under 150 MB more. Prints a Markdown table and the verdicts, or one JSON object with --json.
Progress goes to stderr. Memory, not speed: the CPU may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import (  # noqa: E402
    CHROMIUM,
    EXCEPTION,
    MNIST_DIR,
    TITLES,
    VIEWPORT,
    Server,
    button,
    goto,
    launch,
    metric_value,
    nav,
    set_recipe,
)

SERVER_LIMIT_MB = 1500
SESSION_LIMIT_MB = 150
LOAD = 120_000  # a page's first render on a loaded machine (the first one imports torch)
MB = 1024 * 1024


# --------------------------------------------------------------------------- /proc
def _status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mb(pid: int) -> float | None:
    kb = _status_kb(pid, "VmRSS")
    return None if kb is None else kb / 1024


def hwm_mb(pid: int) -> float | None:
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else kb / 1024


def pss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and parentheses
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(root: int) -> list[tuple[int, int]]:
    """(pid, ppid) of every process below ``root``, parents before children."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            pp = _ppid(int(name))
            if pp is not None:
                parent[int(name)] = pp
    out, frontier = [], [root]
    while frontier:
        nxt = []
        for p in frontier:
            for c, pp in sorted(parent.items()):
                if pp == p:
                    out.append((c, p))
                    nxt.append(c)
        frontier = nxt
    return out


# a process forked from the fork server has the fork server's command line: it is named by when it was
# first seen (before Train was pressed: the executor's warm-up no-op child; after: the training job)
PHASE = {"training": False}
_FORKED: dict[int, str] = {}


def label(pid: int, ppid: int, server: int, labels: dict[int, str]) -> str:
    cmd = _cmdline(pid)
    if "forkserver" in cmd and ppid == server:
        return "fork server"
    if "resource_tracker" in cmd:
        return "resource tracker"
    if labels.get(ppid) == "fork server":
        return _FORKED.setdefault(pid, "training job" if PHASE["training"] else "warm-up child")
    short = re.sub(r"\s+", " ", cmd)
    return short[:40] + ("..." if len(short) > 40 else "") if short else f"pid {pid}"


def snapshot(server: int) -> dict:
    labels: dict[int, str] = {}
    children = []
    for pid, ppid in descendants(server):
        labels[pid] = label(pid, ppid, server, labels)
        r = rss_mb(pid)
        if r is not None:
            children.append({"pid": pid, "ppid": ppid, "label": labels[pid], "rss_mb": r, "pss_mb": pss_mb(pid)})
    pss = [pss_mb(server)] + [c["pss_mb"] for c in children]
    return {
        "server_rss_mb": rss_mb(server),
        "server_hwm_mb": hwm_mb(server),
        "children": children,
        "total_pss_mb": sum(p for p in pss if p is not None) if all(p is not None for p in pss) else None,
    }


class Sampler(threading.Thread):
    """Polls the process tree; keeps the peak RSS of every process seen since the last ``take``."""

    def __init__(self, server: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.server, self.every = server, every
        self.lock = threading.Lock()
        self.peaks: dict[int, dict] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                snap = snapshot(self.server)
            except Exception:  # a process ended between two reads
                continue
            with self.lock:
                for c in snap["children"]:
                    seen = self.peaks.setdefault(c["pid"], {"pid": c["pid"], "label": c["label"], "peak_rss_mb": 0.0})
                    seen["peak_rss_mb"] = max(seen["peak_rss_mb"], c["rss_mb"])

    def take(self) -> dict[int, dict]:
        with self.lock:
            out, self.peaks = self.peaks, {}
        return out


# --------------------------------------------------------------------------- the browser side
def settled(page, timeout: float = LOAD) -> None:
    """The script run that drew the page is over, with no exception shown."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout)
    n = page.locator(EXCEPTION).count()
    if n:
        raise RuntimeError(f"the page shows {n} exception(s): {page.locator(EXCEPTION).first.inner_text()[:500]}")


def visit(page, link: str) -> None:
    nav(page, link, timeout=LOAD)
    settled(page)


def train(page, timeout_s: float) -> str:
    """Press Train, wait for the end of the run; return what it says (epochs, test accuracy)."""
    from playwright.sync_api import expect

    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True).input_value()
    PHASE["training"] = True
    button(page, "Train").click()
    expect(button(page, "Stop")).to_be_visible(timeout=LOAD)
    expect(page.get_by_text("Training finished.", exact=True)).to_be_visible(timeout=timeout_s * 1000)
    expect(button(page, "Train")).to_be_enabled(timeout=LOAD)
    settled(page)
    return f"{epochs} epochs, test accuracy {metric_value(page, 'Test accuracy').inner_text().strip()}"


# --------------------------------------------------------------------------- the measurement
def measure(args) -> dict:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="dlviz-mem-"))
    steps: list[dict] = []
    server = Server(tmp / "dlviz-home", data_dir=Path(args.data_dir).resolve())
    sampler = None

    def step(name: str, session: int) -> None:
        time.sleep(args.settle)  # let the server finish what the last rerun started
        peaks = sampler.take() if sampler else {}
        snap = snapshot(server.proc.pid)
        now = {c["pid"] for c in snap["children"]}
        gone = [p for pid, p in peaks.items() if pid not in now]  # e.g. a training job that has exited
        for c in snap["children"]:
            c["peak_rss_mb"] = max(c["rss_mb"], peaks.get(c["pid"], {}).get("peak_rss_mb", 0.0))
        snap.update(step=name, session=session, exited=gone)
        prev = steps[-1]["server_rss_mb"] if steps else None
        snap["delta_mb"] = None if prev is None else snap["server_rss_mb"] - prev
        steps.append(snap)
        kids = ", ".join(f"{c['label']} {c['rss_mb']:.0f}" for c in snap["children"])
        print(
            f"[memory] {name}: server {snap['server_rss_mb']:.0f} MB RSS; {kids or 'no children'}",
            file=sys.stderr,
            flush=True,
        )

    try:
        server.wait_healthy(timeout=120)
        sampler = Sampler(server.proc.pid)
        sampler.start()
        step("app started (no page opened yet)", 0)
        with sync_playwright() as p:
            browser = launch(p)
            contexts = []

            def new_page():
                ctx = browser.new_context(viewport=VIEWPORT)
                ctx.set_default_timeout(60_000)
                contexts.append(ctx)
                return ctx.new_page()

            page = new_page()
            goto(page, server.url + "/", TITLES["Start"], timeout=LOAD)
            settled(page)
            step("session 1: Start page", 1)
            visit(page, "Data")
            step("session 1: Data page (MNIST loaded)", 1)
            visit(page, "Build")
            step("session 1: Build page", 1)
            visit(page, "Train")
            set_recipe(page, epochs=args.epochs, quick=args.quick)
            step("session 1: Train page", 1)
            run = train(page, args.train_timeout)
            print(f"[memory] the run: {run}", file=sys.stderr, flush=True)
            step(f"session 1: after a training run (default MLP, {run})", 1)
            visit(page, "Inspect")
            step("session 1: Inspect page", 1)
            for k in range(2, args.sessions + 1):
                page = new_page()
                goto(page, server.url + "/", TITLES["Start"], timeout=LOAD)
                settled(page)
                for link in ("Data", "Build", "Train", "Inspect"):
                    visit(page, link)
                step(f"session {k}: Start, Data, Build, Train, Inspect", k)
            for ctx in contexts:
                ctx.close()
            browser.close()
        time.sleep(args.settle)
        step("all browser sessions closed", 0)
    finally:
        if sampler:
            sampler.done.set()
        log = server.log()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return summarize(steps, args, log)


def summarize(steps: list[dict], args, log: str) -> dict:
    loaded = [s for s in steps if s["session"] >= 1]
    server_max = max(s["server_rss_mb"] for s in loaded)
    hwm = max(s["server_hwm_mb"] or 0 for s in steps)
    pss_max = max((s["total_pss_mb"] or 0) for s in loaded)
    first_session_end = [s for s in steps if s["session"] == 1][-1]
    extra = [s for s in steps if s["session"] >= 2]
    increments = [s["delta_mb"] for s in extra]
    per = {
        "increments_mb": increments,
        "mean_mb": sum(increments) / len(increments) if increments else None,
        "max_mb": max(increments) if increments else None,
    }
    if len(increments) > 1:  # without the first extra session (one-time costs land there)
        per["mean_after_first_mb"] = sum(increments[1:]) / len(increments[1:])
    training = [e for s in steps for e in s["exited"] if e["label"] == "training job"]
    return {
        "steps": steps,
        "server_rss_max_mb": server_max,
        "server_hwm_mb": hwm,
        "server_plus_children_pss_max_mb": pss_max,
        "server_rss_after_session_1_mb": first_session_end["server_rss_mb"],
        "training_job_peak_rss_mb": max((e["peak_rss_mb"] for e in training), default=None),
        "per_session": per,
        "limits_mb": {"server": SERVER_LIMIT_MB, "per_session": SESSION_LIMIT_MB},
        "server_ok": server_max < SERVER_LIMIT_MB,
        "server_hwm_ok": hwm < SERVER_LIMIT_MB,
        "per_session_ok": per["max_mb"] is not None and per["max_mb"] < SESSION_LIMIT_MB,
        "settings": {
            "sessions": args.sessions,
            "data_dir": str(Path(args.data_dir).resolve()),
            "epochs": args.epochs,
            "quick": args.quick,
            "settle_s": args.settle,
        },
        "server_log_tail": log[-1500:] if args.json else None,
    }


def _mb(x) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _delta(x) -> str:
    return "–" if x is None else f"{x:+,.0f}"


def markdown(res: dict) -> str:
    lines = [
        "| step | server RSS MB | Δ server MB | server peak (HWM) MB | children RSS MB | server + children PSS MB |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for s in res["steps"]:
        kids = [f"{c['label']} {_mb(c['rss_mb'])}" for c in s["children"]]
        kids += [f"{e['label']} (exited) peak {_mb(e['peak_rss_mb'])}" for e in s["exited"]]
        lines.append(
            f"| {s['step']} | {_mb(s['server_rss_mb'])} | {_delta(s['delta_mb'])} | "
            f"{_mb(s['server_hwm_mb'])} | {'; '.join(kids) or '–'} | {_mb(s['total_pss_mb'])} |"
        )
    per = res["per_session"]
    lim = res["limits_mb"]
    ok = lambda b: "PASS" if b else "FAIL"  # noqa: E731
    lines += [
        "",
        f"- Server RSS with MNIST loaded: at most {_mb(res['server_rss_max_mb'])} MB over the steps "
        f"(peak VmHWM {_mb(res['server_hwm_mb'])} MB); limit {lim['server']:,} MB: "
        f"**{ok(res['server_ok'])}** (peak: {ok(res['server_hwm_ok'])}).",
        f"- Server + children (PSS, shared pages counted once): at most "
        f"{_mb(res['server_plus_children_pss_max_mb'])} MB; a training job peaked at "
        f"{_mb(res['training_job_peak_rss_mb'])} MB RSS (much of it shared with the fork server).",
        f"- Each additional session (2..{res['settings']['sessions']}): "
        f"{', '.join(_delta(x) for x in per['increments_mb'])} MB; mean {_delta(per['mean_mb'])} MB, "
        f"max {_delta(per['max_mb'])} MB"
        + (
            f", mean without the first extra session {_delta(per['mean_after_first_mb'])} MB"
            if "mean_after_first_mb" in per
            else ""
        )
        + f"; limit {lim['per_session']} MB: **{ok(res['per_session_ok'])}**.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=6, help="browser sessions in all (K), default 6")
    ap.add_argument("--data-dir", default=str(MNIST_DIR), help="the MNIST folder (default ../shared/data/mnist)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs for the training run (default: the page's)")
    ap.add_argument("--quick", action="store_true", help="train on the quick demo's 6,000 images")
    ap.add_argument("--train-timeout", type=float, default=1800, help="seconds to wait for the run to finish")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each reading")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    if args.sessions < 1:
        ap.error("--sessions must be at least 1")
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    if not (Path(args.data_dir) / "train-images-idx3-ubyte.gz").exists():
        print(f"MNIST not found in {args.data_dir}", file=sys.stderr)
        return 2
    try:
        res = measure(args)
    except Exception as e:
        print(
            f"memory measurement failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(res, indent=2) if args.json else markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
