"""``python -m dlviz data``: a dataset's split counts and its train/test overlap."""

from __future__ import annotations

import argparse
import json
import os

from dlviz.data import load_dataset
from dlviz.data.split import split_report
from dlviz.i18n import t


def run(a: argparse.Namespace) -> int:
    out = split_report(load_dataset(a.dataset, a.data_dir))
    if a.json:
        print(json.dumps(out))
        return 0
    print(
        t(
            "{dataset}: {train:,} training, {validation:,} validation and {test:,} test items; {seen} test items also "
            "occur in training.",
            dataset=a.dataset,
            train=out["train"],
            validation=out["validation"],
            test=out["test"],
            seen=out["test_seen_in_train"],
        )
    )
    if out["duplicates_removed"] or out["conflicting_removed"]:
        print(
            t(
                "Removed before the split: {dups:,} duplicate texts and {conflicts:,} rows whose text carries more "
                "than one label.",
                dups=out["duplicates_removed"],
                conflicts=out["conflicting_removed"],
            )
        )
    return 0


def add_parser(sub) -> None:
    da = sub.add_parser(
        "data", help=t("a dataset's train, validation and test counts, and how many test items also occur in training")
    )
    da.add_argument("--dataset", default="mnist", help="mnist | fashion-mnist | cifar10 | rt-polarity | zh-reviews")
    da.add_argument(
        "--data-dir",
        default=os.environ.get("DLVIZ_DATA_DIR"),
        help=t("folder with the dataset files (default: $DLVIZ_DATA_DIR, then the cache)"),
    )
    da.add_argument("--json", action="store_true", help=t("print one JSON object"))
    da.set_defaults(func=run)
