"""``python -m dlviz class``: the class code and the teacher's key of the class server on this dlviz home.

The server prints them when the first browser opens the app; a teacher who starts the server and wants the key
before anyone connects (or who lost the terminal) reads it here. ``--new-key`` makes a new key, which signs out
no student but makes the old key useless.
"""

from __future__ import annotations

import argparse
import json
import os

from dlviz.classroom.roster import Roster
from dlviz.i18n import t


def run(a: argparse.Namespace) -> int:
    roster = Roster()
    if a.new_key:
        if os.environ.get("DLVIZ_TEACHER_KEY", "").strip():
            print(t("The teacher's key is set by DLVIZ_TEACHER_KEY: change it there."))
            return 2
        (roster.folder / "teacher_key").unlink(missing_ok=True)
    out = {"class_code": roster.class_code(), "teacher_key": roster.teacher_key(), "home": str(roster.folder)}
    if a.json:
        print(json.dumps(out))
        return 0
    print(t("Class code (for the students): {code}", code=out["class_code"]))
    print(t("Teacher's key (keep it to yourself): {key}", key=out["teacher_key"]))
    print(t("Start the class server with: streamlit run app.py -- --class"))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("class", help=t("print the class code and the teacher's key of a class server"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--new-key", action="store_true", help=t("make a new teacher's key (the old one stops working)"))
    p.set_defaults(func=run)
