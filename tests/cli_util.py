"""Run ``python -m dlviz ARGS`` for a test: in this process (fast) or in a fresh one (what a user runs).

A fresh process imports torch again (2-3 s of CPU each time), so the CLI tests call ``main()`` here, with
stdout and stderr captured and the environment set for the call only. What they check is the same: the
exit status main() returns (argparse's SystemExit included), the JSON on stdout, the one plain line on
stderr. An exception main() does not turn into a plain message fails the test outright (in a fresh process
it would be a traceback on stderr). The few tests whose point is the process itself use ``run_process``
and are marked slow.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    """What subprocess.run returns, as far as the tests read it."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args, env: dict | None = None, unset: tuple[str, ...] = ()) -> Result:
    """``python -m dlviz ARGS`` in this process: ``env`` is set and ``unset`` removed for the call only."""
    from dlviz.__main__ import main

    saved = dict(os.environ)
    os.environ.update({k: str(v) for k, v in (env or {}).items()})
    for key in unset:
        os.environ.pop(key, None)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse: a bad flag, a bad choice, --help
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Result(int(code), out.getvalue(), err.getvalue())


def run_process(*args, env: dict | None = None, unset: tuple[str, ...] = (), timeout: float = 300) -> Result:
    """``python -m dlviz ARGS`` in a fresh Python, as a user runs it (slow: it imports torch again)."""
    e = {**os.environ, **{k: str(v) for k, v in (env or {}).items()}, "PYTHONPATH": str(ROOT)}
    for key in unset:
        e.pop(key, None)
    r = subprocess.run(
        [sys.executable, "-m", "dlviz", *map(str, args)],
        capture_output=True,
        text=True,
        env=e,
        timeout=timeout,
        cwd=ROOT,
    )
    return Result(r.returncode, r.stdout, r.stderr)
