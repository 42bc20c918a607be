"""Time one refresh of the teacher's class dashboard (pages/classroom.py) for a class of N students.

``python bench/class_dashboard.py [--students 30] [--runs 3]``: a private DLVIZ_HOME with N students who joined,
each with RUNS finished CNN runs of 5 epochs (250 training-curve rows, 5 validation rows each) and a presence
heartbeat; then the dashboard's own work (run index, class table, curves figure serialised as st.plotly_chart
sends it, the table) 20 times, and the whole page in AppTest 5 times. No weights are loaded or written.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser()
ap.add_argument("--students", type=int, default=30)
ap.add_argument("--runs", type=int, default=3)
args = ap.parse_args()
os.environ["DLVIZ_HOME"] = tempfile.mkdtemp()
os.environ.setdefault("DLVIZ_EXECUTOR", "thread")
sys.path.insert(0, str(ROOT))
from dlviz.classroom import TEACHER_ID, Person
from dlviz.classroom.roster import Roster
from dlviz.models import PRESETS
from dlviz.runs import RunStore

roster, store = Roster(), RunStore()
spec = PRESETS["cnn"].copy_spec()
students = [roster.join(roster.class_code(), f"Student {i:02d}") for i in range(args.students)]
for i, s in enumerate(students):
    for k in range(args.runs):
        epochs = 5
        train = [[j * 10, j / 50, 1.0 / (1 + j / 50), 0.5 + j / 600] for j in range(1, 50 * epochs + 1)]
        val = [[e * 500, float(e), 0.5 / e, 0.8 + e / 60] for e in range(1, epochs + 1)]
        rec = store.create(
            name=f"cnn {k}",
            dataset="mnist",
            spec=spec,
            settings={"epochs": epochs, "lr": 1e-3},
            device="cpu",
            params=100000,
            owner=s.id,
        )
        store.update(rec.id, status="finished", metrics={"train": train, "val": val}, test_accuracy=0.8 + (i + k) / 200)
    roster.touch(s, page="Train", params=100000 + i)
print("runs", len(store.list()))
import pandas as pd

from dlviz.classroom.dashboard import class_overview, is_student_run
from dlviz.plots.classroom import class_curves


def refresh():
    runs = [r for r in store.list(skip_damaged=True) if is_student_run(r)]
    st_, curves = class_overview(runs, roster.people(), roster.connected(within_s=60))
    fig = class_curves(curves)
    fig.to_json()  # what st.plotly_chart sends
    pd.DataFrame([s.__dict__ for s in st_])
    return len(st_), len(curves)


refresh()
times = []
for _ in range(20):
    t0 = time.perf_counter()
    out = refresh()
    times.append(time.perf_counter() - t0)
print("core refresh", out, "median %.3f s, max %.3f s" % (statistics.median(times), max(times)))
t0 = time.perf_counter()
[store.list(skip_damaged=True) for _ in range(10)]
print("store.list x1 %.3f s" % ((time.perf_counter() - t0) / 10))
# the whole page in AppTest (the fragment's body runs in the full run)
from streamlit.testing.v1 import AppTest

from dlviz.ui import keys as K

at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
at.session_state[K.PERSON] = Person(TEACHER_ID, "Teacher", "teacher")
at.run()
at.switch_page("pages/classroom.py")
at.run()
assert not at.exception, at.exception
pt = []
for _ in range(5):
    t0 = time.perf_counter()
    at.run()
    pt.append(time.perf_counter() - t0)
print("AppTest page run median %.3f s, max %.3f s" % (statistics.median(pt), max(pt)), len(at.dataframe[0].value))
