"""Streamlit pieces of the Train page: the settings form, the live panel and the result view."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from dlviz.errors import DlvizError
from dlviz.models import PRESETS
from dlviz.plots import prediction_gallery, training_curves
from dlviz.train import OPTIMIZERS, SCHEDULES, JobSnapshot, TrainConfig, available_devices
from dlviz.ui.state import get_data, run_message, save_session, t

QUICK_LIMIT = 6000


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "–"
    if s < 60:
        return t("{s} s", s=f"{s:.1f}" if s < 10 else f"{s:.0f}")
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}"


def settings_form(spec: dict) -> TrainConfig:
    """The training recipe, every part visible and editable; remembered per session."""
    ss = st.session_state
    saved = ss.train_settings or {}
    default_epochs = PRESETS[spec.get("name")].epochs if spec.get("name") in PRESETS else 5
    d = TrainConfig()
    devices = available_devices()
    dev_keys = ["auto"] + [k for k, _ in devices]
    found = ", ".join(f"{k}: {name}" for k, name in devices)
    c1, c2, c3 = st.columns(3)
    device = c1.selectbox(t("Device"), dev_keys, index=dev_keys.index(saved.get("device", "auto"))
                          if saved.get("device", "auto") in dev_keys else 0,
                          format_func=lambda k: t("auto (GPU if found)") if k == "auto" else k,
                          help=t("Found: {found}", found=found))
    opts = list(OPTIMIZERS)
    optimizer = c2.selectbox(t("Optimizer"), opts, index=opts.index(saved.get("optimizer", d.optimizer)),
                             format_func=lambda k: OPTIMIZERS[k]["title"])
    lr = c3.number_input(t("Learning rate"), min_value=0.0, max_value=1e9, value=float(saved.get("lr", d.lr)),
                         format="%g", step=1e-4, help=t("How big each step is. 0.003 suits Adam with the default "
                                                        "schedule; 0.001 is Keras's default."))
    c4, c5, c6 = st.columns(3)
    epochs = c4.number_input(t("Epochs"), 1, 1000, int(saved.get("epochs", default_epochs)),
                             help=t("Passes over the training images."))
    batch = c5.number_input(t("Batch size"), 1, 65536, int(saved.get("batch_size", d.batch_size)),
                            help=t("Images per step. The course used 32; 128 trains faster to the same accuracy "
                                   "with the warm-up schedule."))
    scheds = list(SCHEDULES)
    schedule = c6.selectbox(t("Learning-rate schedule"), scheds, index=scheds.index(saved.get("schedule", d.schedule)),
                            format_func=lambda k: t(SCHEDULES[k]))
    with st.expander(t("More settings")):
        c7, c8, c9 = st.columns(3)
        wd = c7.number_input(t("Weight decay"), 0.0, 1.0, float(saved.get("weight_decay", 0.0)), format="%g",
                             step=1e-4)
        seed = c8.number_input(t("Random seed"), 0, 2**31 - 1, int(saved.get("seed", 0)))
        val = c9.slider(t("Validation share"), 0, 50, int(round(100 * float(saved.get("val_fraction", 0.2)))), 5,
                        format="%d%%", help=t("Training images held back to check for overfitting (20% in the "
                                              "course).")) / 100
        quick = st.toggle(t("Quick demo: train on {n:,} images only", n=QUICK_LIMIT),
                          value=bool(saved.get("limit")))
    cfg = TrainConfig(optimizer=optimizer, lr=lr, batch_size=int(batch), epochs=int(epochs), weight_decay=wd,
                      seed=int(seed), device=device, val_fraction=val, schedule=schedule,
                      limit=QUICK_LIMIT if quick else None)
    new = {k: getattr(cfg, k) for k in ("optimizer", "lr", "batch_size", "epochs", "weight_decay", "seed",
                                         "device", "val_fraction", "schedule", "limit")}
    if new != saved:
        ss.train_settings = new
        save_session()
    return cfg


def status_text(snap: JobSnapshot) -> str:
    if snap.status == "loading" and snap.text:
        return t(snap.text, **snap.text_args)
    names = {"queued": t("Starting..."), "loading": t("Loading data..."), "running": t("Training"),
             "paused": t("Paused"), "testing": t("Measuring accuracy on the test set...")}
    return names.get(snap.status, t(snap.status))


def live_panel(snap: JobSnapshot) -> None:
    """Status, progress bar, numbers and the curves of a job in progress (redrawn twice a second)."""
    p = snap.progress
    frac = snap.fraction if snap.status == "loading" and snap.fraction else (p.step / p.total_steps if p else 0.0)
    st.progress(min(max(frac, 0.0), 1.0), text=status_text(snap))
    if p:
        c = st.columns(5)
        c[0].metric(t("Epoch"), f"{p.epoch} / {p.epochs}")
        c[1].metric(t("Training loss"), f"{p.train_loss:.4f}")
        last_val = snap.val[-1] if snap.val else None
        c[2].metric(t("Validation accuracy"), f"{last_val[3]:.2%}" if last_val else "–")
        c[3].metric(t("Samples per second"), f"{p.samples_per_s:,.0f}")
        c[4].metric(t("Time left"), fmt_seconds(p.eta_s) if snap.status != "paused" else t("paused"))
    if snap.train:
        st.plotly_chart(training_curves(snap.train, snap.val, tr=t), key="live_curves")
    elif snap.status == "running":
        st.caption(t("The first points appear after a quarter of a second of training."))


def result_view(run) -> None:
    """Final numbers, curves and the course's prediction gallery for a saved run."""
    text = run_message(run)
    if text:
        kind = {"finished": st.success, "stopped": st.warning, "failed": st.error,
                "interrupted": st.warning}.get(run.status, st.info)
        kind(text)
    elif run.status == "finished":
        st.success(t("Training finished."))
    c = st.columns(4)
    c[0].metric(t("Test accuracy"), f"{run.test_accuracy:.2%}" if run.test_accuracy is not None else "–")
    c[1].metric(t("Parameters"), f"{run.params:,}" if run.params else "–")
    c[2].metric(t("Training time"), fmt_seconds(run.train_seconds))
    c[3].metric(t("Device"), run.device or "–")
    m = run.metrics or {}
    if m.get("train"):
        st.plotly_chart(training_curves(m["train"], m.get("val", []), tr=t), key=f"curves_{run.id}")
    prev = m.get("test_preview")
    if prev:
        st.subheader(t("Test images: prediction, confidence (true label)"))
        st.caption(t("Each bar is the probability the model gives a class. Blue title: right. Vermillion title: "
                     "wrong; then the vermillion bar is the model's guess and the blue bar the true class."))
        try:
            data = get_data(run.dataset)
        except DlvizError as e:
            st.info(t("The test images cannot be shown: {msg}", msg=e.message(st.session_state.lang)))
            return
        idx = [i for i in prev["indices"] if i < len(data.test_x)]
        if len(idx) == len(prev["indices"]):
            imgs = data.test_x[idx].numpy()
            fig = prediction_gallery(imgs, np.asarray(prev["probs"]), prev["labels"],
                                     [t(c) for c in data.classes], tr=t, cols=3)
            st.plotly_chart(fig, key=f"gallery_{run.id}")
