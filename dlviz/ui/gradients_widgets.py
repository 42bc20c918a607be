"""Gradients page widgets: the findings, and the one-click vanishing-gradient experiment."""

from __future__ import annotations

import time

import streamlit as st

from dlviz.data import get_info
from dlviz.inspect.gradients import diagnose
from dlviz.models import PRESETS
from dlviz.timing import estimate, remember
from dlviz.train import TrainConfig, TrainJob
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.state import get_executor, get_store, t
from dlviz.ui.waits import seconds_text

# The course's case for ResNet: the same data, three depths of trouble. 2,000 images at batch 32
# (63 steps) are enough to see the gradients, and the residual CNN takes ~15 s of it on 2 cores.
EXPERIMENT = ("deep-sigmoid", "mlp", "resnet")
EXPERIMENT_CONFIG = dict(epochs=1, limit=2000, batch_size=32)
# seconds per preset, starting the process and loading the data included (52 s for all three on 2 cores),
# until this computer has measured its own
EXPERIMENT_DEFAULT_S = {"deep-sigmoid": 12.0, "mlp": 10.0, "resnet": 30.0}
ICONS = {
    "vanishing": ":material/trending_down:",
    "exploding": ":material/warning:",
    "healthy": ":material/check_circle:",
}


def show_findings(record: dict) -> None:
    for f in diagnose(record):
        text = t(f.template, **f.args)
        if f.kind == "healthy":
            st.success(text, icon=ICONS[f.kind])
        else:
            st.warning(text, icon=ICONS[f.kind])


def _submit_next(exp: dict) -> None:
    ss = st.session_state
    key = exp["pending"].pop(0)
    job = TrainJob(
        ss[K.DATASET],
        PRESETS[key].copy_spec(),
        TrainConfig(**EXPERIMENT_CONFIG),
        name=f"{key} · {get_info(ss[K.DATASET]).name} · 2,000",
        data_dir=ss[K.DATA_DIR] or None,
        owner=me().id,
    )
    exp["job"] = get_executor().submit(job)
    exp["current"] = key
    exp["started"] = time.time()


def _expected(key: str) -> float:
    return estimate(f"gradient-experiment:{key}", 1.0, EXPERIMENT_DEFAULT_S.get(key, 20.0)) or 20.0


def experiment_left(exp: dict, snap) -> float:
    """Seconds the experiment still needs: the current run's own estimate once it trains, else what it took
    last time minus the time spent, plus the presets still waiting."""
    key = exp["current"]
    spent = time.time() - exp.get("started", time.time())
    p = snap.progress if snap is not None else None
    if p is not None and p.eta_s is not None and p.step > 0:
        now = float(p.eta_s)
    else:
        now = max(_expected(key) - spent, 1.0)
    return now + sum(_expected(k) for k in exp["pending"])


def start_experiment() -> None:
    exp = {"pending": list(EXPERIMENT), "runs": [], "failed": []}
    _submit_next(exp)
    st.session_state[K.GRAD_EXP] = exp


@st.fragment(run_every=1.0)
def experiment_progress() -> None:
    """Runs the three presets one after another; the page reruns when the last one is done."""
    ss = st.session_state
    exp = ss.get(K.GRAD_EXP)
    if not exp or not exp.get("job"):
        return
    snap = get_executor().snapshot(exp["job"])
    done = len(exp["runs"]) + len(exp["failed"])
    frac = done / len(EXPERIMENT)
    if snap.progress is not None:
        frac += snap.progress.step / max(snap.progress.total_steps, 1) / len(EXPERIMENT)
    st.progress(
        min(frac, 1.0),
        text=t(
            "Training {preset} ({k} of {n}) on 2,000 images: about {time} left.",
            preset=t(PRESETS[exp["current"]].title),
            k=done + 1,
            n=len(EXPERIMENT),
            time=seconds_text(experiment_left(exp, snap)),
        ),
    )
    if not snap.done:
        return
    if snap.status == "finished" and snap.run_id:
        exp["runs"].append(snap.run_id)
        remember(f"gradient-experiment:{exp['current']}", time.time() - exp.get("started", time.time()))
    else:
        exp["failed"].append(exp["current"])
    if exp["pending"]:
        _submit_next(exp)
    else:
        exp["job"] = None
        ss[K.GRAD_COMPARE] = list(exp["runs"])
        st.rerun()


def compare_choices(current_id: str) -> list:
    """Runs that have a gradient record, newest first (the current one first)."""
    store = get_store()
    runs = [r for r in store.list(skip_damaged=True) if store.has_record(r.id, "gradients")]
    runs.sort(key=lambda r: r.id != current_id)
    return runs


def experiment_estimate() -> float:
    """Seconds the whole experiment takes on this computer (measured, else the defaults)."""
    return sum(_expected(k) for k in EXPERIMENT)
