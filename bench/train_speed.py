"""Training speed: the ordinary PyTorch loop against dlviz's engine, headless and in the app.

    python bench/train_speed.py [--preset mlp|cnn] [--device cpu|cuda] [--data-dir DIR] [--json]

The same as ``python -m dlviz bench train`` (dlviz/bench/train.py says what each engine is), with
the data folder defaulting to ../shared/data/mnist beside the checkout. Prints one table per preset.
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
    sys.exit(main(["bench", "train", *args]))
