"""The teacher's locks as the page widgets see them (issue 17, item 3): is a control locked for this session, the
note a locked widget's help carries, and the locked training settings put back into their widgets. Kept apart from
``push_widgets`` (the panel, the banner, taking a push), which the widgets modules must not import.
"""

from __future__ import annotations

import streamlit as st

from dlviz.classroom.pushed import RECIPE, PushBoard, Pushed
from dlviz.i18n import N_
from dlviz.train import TrainConfig
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.state import t

LOCKED_NOTE = N_("Locked by the teacher for the class.")


def board() -> PushBoard:
    return PushBoard()


def pushed() -> Pushed:
    """What the teacher pushed (nothing, alone: a single user's session never reads the class folder)."""
    return board().read() if me().role != "alone" else Pushed()


def locked(name: str) -> bool:
    """Is the control ``name`` (``dlviz.classroom.pushed.CONTROLS``) locked for this session? Only for a student."""
    return me().student and pushed().locked(name)


def lock_help(name: str, help_: str | None = None) -> str | None:
    """A widget's help with the lock's note added while ``name`` is locked."""
    if not locked(name):
        return help_
    note = t(LOCKED_NOTE)
    return f"{help_}\n\n{note}" if help_ else note


def typed(name: str, value):
    """A pushed setting as its TrainConfig field's type (a number box keeps the type it was made with)."""
    current = getattr(TrainConfig(), name, None)
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        return value
    try:
        return type(current)(value)
    except (TypeError, ValueError):
        return current


def hold_widgets(p: Pushed | None = None) -> None:
    """Put the locked training settings back into their widgets (call before the widgets are drawn)."""
    p = p if p is not None else pushed()
    if not me().student:
        return
    ss = st.session_state
    for k in RECIPE:
        if p.locked(k) and k in p.recipe:
            ss[K.train_setting(k)] = typed(k, p.recipe[k])
