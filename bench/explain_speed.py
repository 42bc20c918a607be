"""How fast explanations are: every method through dlviz's public ``attribute`` against plain Captum.

    python bench/explain_speed.py [--run RUN_ID] [--index I] [--device cpu|cuda] [--repeat 7] [--json]

The same as ``python -m dlviz bench explain`` (dlviz/bench/explain.py says what each column is),
with the data folder defaulting to ../shared/data/mnist beside the checkout: per method the first call
and the warm median of the whole call (the private copy of the model included), beside plain Captum with
its defaults and plain Captum batched (``perturbations_per_eval``, ``internal_batch_size``). A speed-up
is claimed only against the batched row. Targets (2-core CPU): each gradient method < 50 ms, IG with 50
steps < 50 ms, occlusion 4x4 stride 2 < 300 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlviz.__main__ import main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    shared = ROOT.parent / "shared" / "data" / "mnist"
    if "--data-dir" not in args and shared.is_dir():
        args += ["--data-dir", str(shared)]
    sys.exit(main(["bench", "explain", *args]))
