"""``python -m dlviz bench train | explain``: the benchmarks."""

from __future__ import annotations

import argparse
import os

from dlviz.bench import explain as bench_explain
from dlviz.bench import train as bench
from dlviz.errors import DlvizError
from dlviz.i18n import t


def run(a: argparse.Namespace) -> int:
    if a.what == "explain":
        return bench_explain.main(a.run, a.index, a.data_dir, a.device, a.json, a.repeat)

    threads = [int(v) for v in a.threads.split(",")] if a.threads else None
    engines = tuple(e.strip() for e in a.engines.split(",")) if a.engines else bench.DEFAULT_ENGINES
    unknown = [e for e in engines if e not in bench.ENGINES]
    if unknown:
        raise DlvizError(
            "Unknown engine {name}. Engines: {known}.", name=", ".join(unknown), known=", ".join(bench.ENGINES)
        )
    return bench.main(
        [a.preset] if a.preset else list(bench.TARGETS), a.device, a.data_dir, a.json, a.repeat, threads, engines
    )


def add_parser(sub) -> None:
    be = sub.add_parser(
        "bench",
        help=t(
            "benchmarks: 'bench train' splits dlviz's training speed-up into recipe and "
            "engine; 'bench explain' times the explanation methods against Captum"
        ),
    )
    bsub = be.add_subparsers(dest="what", required=True)
    bt = bsub.add_parser(
        "train",
        help=t(
            "time to the course's accuracy: the ordinary loop with the course's recipe "
            "and with dlviz's, dlviz's engine, and the app with its live UI"
        ),
    )
    bt.add_argument("--preset", default=None, choices=["mlp", "cnn"], help=t("default: both"))
    bt.add_argument("--device", default="auto", help="auto | cpu | cuda")
    bt.add_argument(
        "--data-dir",
        default=os.environ.get("DLVIZ_DATA_DIR"),
        help=t("folder with the dataset files (default: $DLVIZ_DATA_DIR, then the cache)"),
    )
    bt.add_argument(
        "--repeat",
        type=int,
        default=1,
        help=t("run every engine this many times, interleaved, and report the median run (a shared machine is noisy)"),
    )
    bt.add_argument(
        "--threads",
        default=None,
        help=t(
            "CPU thread counts every compared row tries, e.g. 1,2 "
            "(default: 1 and torch's default); each row reports its best"
        ),
    )
    bt.add_argument(
        "--engines",
        default=None,
        help=t(
            "rows to run, e.g. ordinary,ordinary_recipe,dlviz (default: "
            "those three and dlviz_ui; dlviz_ui_thread on request)"
        ),
    )
    bt.add_argument("--json", action="store_true", help=t("one JSON object per preset, each on its own line"))
    bt.set_defaults(func=run)
    bx = bsub.add_parser(
        "explain",
        help=t(
            "every explanation method: the first call and the warm median of the whole "
            "call, beside plain Captum with its defaults and batched"
        ),
    )
    bx.add_argument(
        "--run", default=None, help=t("an image run (default: the CNN preset trained one epoch on 6,000 images)")
    )
    bx.add_argument("--index", type=int, default=0, help=t("which test image (0 is the first)"))
    bx.add_argument(
        "--data-dir",
        default=os.environ.get("DLVIZ_DATA_DIR"),
        help=t("folder with the dataset files (default: $DLVIZ_DATA_DIR, then the cache)"),
    )
    bx.add_argument("--device", default="cpu", help="cpu | cuda")
    bx.add_argument("--repeat", type=int, default=7, help=t("warm calls per method (their median is reported)"))
    bx.add_argument("--json", action="store_true", help=t("print one JSON object"))
    bx.set_defaults(func=run)
