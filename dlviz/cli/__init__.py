"""Command line: ``python -m dlviz train | runs | evaluate | inspect | explain | attention | data | compress | lessons | class | bench train``.

One module per verb (``dlviz/cli/<verb>.py``), each with ``add_parser(sub)`` and ``run(args)``; the maths
lives in the feature packages they call. Every problem a user can cause prints one plain sentence (in
$DLVIZ_LANG) and exits with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from dlviz.cli import attention, bench, classroom, compress, data, evaluate, explain, export, inspect, runs, train
from dlviz.errors import DlvizError
from dlviz.i18n import t
from dlviz.lessons import cli as lessons  # the lessons verb is the lessons package's own (issue 18)

VERBS = (
    train,
    export,
    runs,
    evaluate,
    inspect,
    explain,
    attention,
    data,
    compress,
    lessons,
    classroom,
    bench,
)  # the order --help lists


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dlviz", description=t("dlviz: build, train and look inside neural networks.")
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    for verb in VERBS:
        verb.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(
        args, "no_limits", False
    ):  # on a machine of one's own: lift the model limits (parameters, memory, FLOPs, batch)
        os.environ["DLVIZ_NO_LIMITS"] = "1"
    try:
        return args.func(args)
    except DlvizError as e:
        print(t("Error: {message}", message=e.message(os.environ.get("DLVIZ_LANG", "en"))), file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": e.message("en")}))
        return 2
    except KeyboardInterrupt:
        print(t("Interrupted."), file=sys.stderr)
        return 130
