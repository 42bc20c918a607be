"""``python -m dlviz``: the command line lives in :mod:`dlviz.cli` (one module per verb)."""

from __future__ import annotations

import sys

from dlviz.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
