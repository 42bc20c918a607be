"""Saved runs: an SQLite index (spec, settings, status, metrics) plus safetensors weights.

Typical use::

    store = RunStore()                       # ~/.dlviz, or $DLVIZ_HOME
    run = store.create(name="cnn", dataset="mnist", spec=spec, settings=settings, device="cpu")
    store.save_weights(run.id, model.state_dict())
    store.update(run.id, status="finished", metrics=history, test_accuracy=0.98)
    load_state_into(model, store.load_weights(run.id))

Weights are read with safetensors only: dlviz never unpickles a file.
"""

from __future__ import annotations

from dlviz.runs.store import (
    ACTIVE_STATUSES,
    DISK_FULL_MESSAGE,
    INTERRUPTED_MESSAGE,
    INTERRUPTED_NO_WEIGHTS_MESSAGE,
    SCHEMA_VERSION,
    STATUSES,
    WEIGHTS_FILE,
    IndexDamagedError,
    RunRecord,
    RunStore,
    __all__,  # noqa: E402,F401  (one list, kept beside the code)
    all_finite,
    dlviz_home,
    load_state_into,
)
