"""The Errors page's first visit against later ones (issue 13: 14.7 s with nothing shown, every visit).

    python bench/errors_visit.py [--preset cnn] [--visits 3] [--data-dir ../shared/data/mnist]

Each visit is a new session (AppTest of app.py, then the Errors page) on the same saved run, in a
private DLVIZ_HOME. The first classifies the 10,000 test images under a progress bar and keeps the
answers in the run's folder; later visits read them from there. Prints one line per visit and the
load average (timings on a shared machine vary).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cnn")
    ap.add_argument("--visits", type=int, default=3)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()
    os.environ.update(
        DLVIZ_HOME=tempfile.mkdtemp(prefix="dlviz-bench-"),
        DLVIZ_OFFLINE="1",
        DLVIZ_EXECUTOR="thread",
        DLVIZ_DATA_DIR=args.data_dir,
    )
    from page_util import saved_run
    from streamlit.testing.v1 import AppTest

    rec = saved_run(args.preset)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.preset}, untrained weights")
    for visit in range(1, args.visits + 1):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.run()
        at.session_state["run_id"] = rec.id
        at.switch_page("pages/errors.py")
        start = time.perf_counter()
        at.run()
        took = time.perf_counter() - start
        print(f"visit {visit} (a new session): {took:5.1f} s{'  EXCEPTION' if at.exception else ''}")


if __name__ == "__main__":
    main()
