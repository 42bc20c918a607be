"""The one input every look-inside page looks at: a test image, a drawing or an upload.

Plain data and no streamlit, in a module of its own so that the session file (``state.py``, which saves and
restores it) and the look-inside pages (``inspect_state.py``) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class InputImage:
    x: torch.Tensor  # (1, 28, 28) float in [0, 1]; colour (CIFAR-10): (3, 32, 32) RGB
    label: int | None  # the true class when known (test images)
    caption: str  # already translated
    source: str = "test"  # "test" | "drawn" | "upload"
    index: int | None = None  # test-set index for source "test"
