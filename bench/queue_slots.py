"""How many training jobs should a class server run at once on its CPU? (``DLVIZ_MAX_JOBS``, issue 17 item 5)

Submits the same N jobs (one per student: the MLP preset, one epoch, by default on all of MNIST) to a
``FairQueue`` in front of the app's ``ProcessExecutor`` with each setting of ``--slots`` (jobs at once) and
``--threads`` (each job's torch threads, ``DLVIZ_TRAIN_THREADS``; 0 = torch's default), and reports for each:
the time until the last job ended (the class's throughput), the mean and worst time from the click to a student's
result (what each student waits), and whether every job finished. Settings alternate round by round (``--rounds``)
so that other load on the machine falls on all of them alike.

    python bench/queue_slots.py --data-dir ../shared/data/mnist --students 6 --settings 1x2 2x1 2x2 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def one(slots: int, threads: int, students: int, preset: str, epochs: int, limit: int | None, data_dir: str) -> dict:
    from dlviz.classroom.queue import FairQueue
    from dlviz.models import PRESETS
    from dlviz.train import TrainConfig, TrainJob
    from dlviz.train.process import ProcessExecutor

    if threads:
        os.environ["DLVIZ_TRAIN_THREADS"] = str(threads)
    else:
        os.environ.pop("DLVIZ_TRAIN_THREADS", None)
    q = FairQueue(ProcessExecutor(), slots={"cpu": slots}, poll_s=0.05)
    try:
        t0 = time.perf_counter()
        cfg = TrainConfig(epochs=epochs, limit=limit, device="cpu")
        jobs = [
            q.submit(TrainJob("mnist", PRESETS[preset].copy_spec(), cfg, data_dir=data_dir, owner=f"s-{i}"))
            for i in range(students)
        ]
        ends = {}
        while len(ends) < len(jobs):
            for j in jobs:
                if j not in ends:
                    s = q.snapshot(j)
                    if s.done and s.result is not None:
                        ends[j] = (time.perf_counter() - t0, s.status)
            time.sleep(0.02)
    finally:
        q.close()
    times = [t for t, _ in ends.values()]
    return {
        "slots": slots,
        "threads": threads,
        "last_s": round(max(times), 2),
        "mean_result_s": round(statistics.mean(times), 2),
        "finished": sum(1 for _, st in ends.values() if st == "finished"),
        "jobs": len(jobs),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    ap.add_argument("--students", type=int, default=6)
    ap.add_argument("--preset", default="mlp")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="train on this many images (default: all)")
    ap.add_argument("--settings", nargs="+", default=["1x2", "2x1", "2x2"], help="SLOTSxTHREADS, e.g. 1x2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    os.environ.setdefault("DLVIZ_HOME", tempfile.mkdtemp(prefix="dlviz-queue-bench-"))
    os.environ.setdefault("DLVIZ_OFFLINE", "1")
    from dlviz.train.process import warm_up

    warm_up(wait=True)
    results = []
    for r in range(a.rounds):
        for setting in a.settings:
            slots, threads = (int(x) for x in setting.split("x"))
            out = one(slots, threads, a.students, a.preset, a.epochs, a.limit, a.data_dir)
            out["round"] = r + 1
            results.append(out)
            if not a.json:
                print(
                    f"round {r + 1}: {slots} at once x {threads or 'default'} threads: last result {out['last_s']} s, "
                    f"mean result {out['mean_result_s']} s, {out['finished']}/{out['jobs']} finished",
                    flush=True,
                )
    if a.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
