"""Streamlit helpers for the Runs page: the run table, the settings table, one-shot messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from dlviz.data import ALL_DATASETS
from dlviz.runs import RunRecord
from dlviz.train import OPTIMIZERS, SCHEDULES
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.kinds import kind_of_settings
from dlviz.ui.state import t
from dlviz.ui.task_views import metric_text  # noqa: F401  (read from here by the Runs page and the pickers)
from dlviz.ui.train_widgets import AUGMENT_WIDGETS

# settings key -> label; only these are shown in the table (the full JSON is in an expander)
SETTING_LABELS = {
    "optimizer": "Optimizer",
    "lr": "Learning rate",
    "batch_size": "Batch size",
    "epochs": "Epochs",
    "schedule": "Learning-rate schedule",
    "weight_decay": "Weight decay",
    "momentum": "Momentum",
    "seed": "Seed",
    "train_size": "Training images",
    "val_size": "Validation images",
    "limit": "Image limit",
    "data_source": "Data source",
}
SOURCE_WORDS = {
    "folder": "a folder you named",
    "cache": "the local cache",
    "system": "a system folder",
    "download": "a download",
    "package": "the offline 5,000-image subset",
}


def status_text(status: str) -> str:
    return t(status)


def dataset_name(key: str) -> str:
    info = ALL_DATASETS.get(key)
    if info is None and str(key).startswith("csv-"):  # a user's CSV: its file name, as the run was named
        from dlviz.data.user_csv import list_csv

        return list_csv().get(key, key)
    return info.name if info else key


def run_title(run: RunRecord) -> str:
    """The run's name with its dataset: "my net · MNIST". A run is named "cnn · MNIST" when it is made;
    one renamed to "my net" keeps its dataset tag wherever it is shown."""
    data = dataset_name(run.dataset)
    return run.name if data.lower() in run.name.lower() else f"{run.name} · {data}"


def accuracy_text(acc: float | None) -> str:
    return f"{acc:.2%}" if acc is not None else "–"


def created_text(run: RunRecord) -> str:
    return dt.datetime.fromtimestamp(run.created).strftime("%Y-%m-%d %H:%M")


def run_label(run: RunRecord) -> str:
    """One line for a picker: name, status, accuracy, when."""
    return f"{run_title(run)} · {status_text(run.status)} · {metric_text(run)} · {created_text(run)}"


def run_table(runs: list[RunRecord], open_id: str | None, on_pick: Callable[[str], None]) -> None:
    """The runs as a table; clicking a row calls ``on_pick(run_id)`` before the next rerun."""
    rows = [
        {
            "open": "▶" if r.id == open_id else "",
            "name": r.name,
            "status": status_text(r.status),
            "dataset": dataset_name(r.dataset),
            "acc": metric_text(r),
            "params": f"{r.params:,}" if r.params is not None else "–",
            "epochs": str(r.settings.get("epochs", "–")),
            "device": r.device,
            "created": created_text(r),
            "seconds": f"{r.train_seconds:.1f}" if r.train_seconds is not None else "–",
        }
        for r in runs
    ]
    ids = [r.id for r in runs]
    owners = _owner_names() if me().teacher else None  # a class: the teacher sees whose each run is
    if owners is not None:
        for row, r in zip(rows, runs):
            row["owner"] = owners.get(r.owner, r.owner) if r.owner else "–"

    def picked() -> None:
        chosen = st.session_state[K.RUNS_TABLE].selection.rows
        if chosen and chosen[0] < len(ids):
            on_pick(ids[chosen[0]])

    cc = st.column_config
    right = dict(alignment="right")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        key=K.RUNS_TABLE,
        on_select=picked,
        selection_mode="single-row",
        column_config={
            "open": cc.TextColumn("", help=t("The run open on the Train page"), width=40),
            "name": cc.TextColumn(t("Name")),
            **({"owner": cc.TextColumn(t("Owner"))} if owners is not None else {}),
            "status": cc.TextColumn(t("Status")),
            "dataset": cc.TextColumn(t("Dataset")),
            "acc": cc.TextColumn(t("Test accuracy"), **right),
            "params": cc.TextColumn(t("Parameters"), **right),
            "epochs": cc.TextColumn(t("Epochs"), **right),
            "device": cc.TextColumn(t("Device")),
            "created": cc.TextColumn(t("Created")),
            "seconds": cc.TextColumn(t("Training time (s)"), **right),
        },
    )


def _owner_names() -> dict[str, str]:
    """A class: each owner id as the teacher reads it (the students' names, "Teacher")."""
    from dlviz.classroom import TEACHER_ID
    from dlviz.classroom.roster import Roster

    names = {p.id: p.name for p in Roster().people()}
    names[TEACHER_ID] = t("Teacher")
    return names


def augmentation_text(settings: dict) -> str:
    """The run's data augmentation in words ("Shift (pixels) 2, Rotation (degrees) 10"); "" for none."""
    parts = [
        f"{t(label)} {float(settings['augment_' + name]):g}"
        for name, label, *_ in AUGMENT_WIDGETS
        if settings.get("augment_" + name)
    ]
    if settings.get("augment_flip"):
        parts.append(t("Mirror left-right"))
    return ", ".join(parts)


def settings_table(settings: dict) -> None:
    def value(key):
        v = settings[key]
        if key == "data_source" and v in SOURCE_WORDS:
            return t(SOURCE_WORDS[v])
        if key == "schedule" and v in SCHEDULES:  # the names the Train page shows
            return t(SCHEDULES[v])
        if key == "optimizer" and v in OPTIMIZERS:
            return t(OPTIMIZERS[v]["title"])
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

    own = kind_of_settings(settings).setting_labels  # a text run counts sentences, not images
    rows = [
        {"setting": t(own.get(key, label)), "value": value(key)}
        for key, label in SETTING_LABELS.items()
        if settings.get(key) is not None
    ]
    aug = augmentation_text(settings)
    if aug:
        rows.append({"setting": t("Data augmentation"), "value": aug})
    if rows:
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            width="stretch",
            column_config={
                "setting": st.column_config.TextColumn(t("Setting")),
                "value": st.column_config.TextColumn(t("Value")),
            },
        )


def flash(kind: str, text: str) -> None:
    """Show ``text`` after the coming ``st.rerun()`` (a message shown now would vanish with it)."""
    st.session_state[K.RUNS_FLASH] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop(K.RUNS_FLASH, (None, ""))
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
    elif kind:
        st.info(text)
