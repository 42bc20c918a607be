"""Streamlit pieces of the Train page: the settings form, the live panel and the result view."""

from __future__ import annotations

import math

import streamlit as st

from dlviz.data import ALL_DATASETS, get_info, val_fraction_of
from dlviz.errors import DlvizError
from dlviz.glossary import help_text
from dlviz.i18n import N_
from dlviz.modality import modality_of
from dlviz.models import PRESETS
from dlviz.models.gan import GAN_PRESETS
from dlviz.plots import training_curves
from dlviz.plots.gradients import gradient_flow
from dlviz.tasks import task_of_spec
from dlviz.train import OPTIMIZERS, SCHEDULES, JobSnapshot, TrainConfig, available_devices, recipe_for
from dlviz.train.augment import Augmentation, generalization_gap, preview
from dlviz.train.baseline import image_comparison
from dlviz.train.config import AUGMENT_FIELDS
from dlviz.train.engine import PRECISIONS
from dlviz.ui import gan_widgets, task_views
from dlviz.ui import keys as K
from dlviz.ui.class_locks import hold_widgets, lock_help, locked
from dlviz.ui.plain import plain_args
from dlviz.ui.state import get_data, run_message, save_session, t
from dlviz.ui.widgets import show_error

QUICK_LIMIT = 6000

# the recipe a session keeps (K.TRAIN_SETTINGS, saved with it): the form shows it again after a refresh
REMEMBERED = "optimizer lr batch_size epochs weight_decay seed device val_fraction schedule precision limit".split()
REMEMBERED += ["augment_" + k for k in AUGMENT_FIELDS]
# the augmentation widgets: (field, label, most, step, help); flips are a checkbox of their own
AUGMENT_WIDGETS = (
    ("shift", N_("Shift (pixels)"), 4.0, 0.5, N_("Move each image up to this many pixels in x and in y.")),
    ("rotate", N_("Rotation (degrees)"), 45.0, 1.0, N_("Turn each image up to this many degrees either way.")),
    ("scale", N_("Zoom (share)"), 0.3, 0.05, N_("Make each image up to this much larger or smaller (0.1: 10%).")),
    ("noise", N_("Noise"), 0.5, 0.05, N_("Add random speckle of this strength to every pixel.")),
    ("erase", N_("Erasing (share of area)"), 0.4, 0.05, N_("Black out one rectangle this large in half the images.")),
)
PREVIEW_IMAGES = 8


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "–"
    if s < 60:
        return t("{s} s", s=f"{s:.1f}" if s < 10 else f"{s:.0f}")
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}"


def _init_widgets(spec: dict) -> None:
    """Seed the widgets' state from the saved settings once (keyed widgets keep their own state after).

    Passing ``value=`` instead would change a widget's identity whenever the saved value changes,
    and Streamlit would reset it under the user's click.
    """
    ss = st.session_state
    saved = dict(ss[K.TRAIN_SETTINGS] or {})
    d = TrainConfig()
    name = spec.get("name")
    key = f"{name}@{ss.get(K.DATASET)}"
    preset = name in PRESETS or name in GAN_PRESETS
    recipe = recipe_for(name, ss.get(K.DATASET)) if preset and saved.get("for_model") != key else {}
    # a new preset (or dataset) brings its own recipe: epochs, and for text its learning rate and batch size
    saved.update(recipe)
    values = {
        "device": saved.get("device", d.device),
        "optimizer": saved.get("optimizer", d.optimizer),
        "lr": float(saved.get("lr", d.lr)),
        "epochs": int(saved.get("epochs", d.epochs)),
        "batch_size": int(saved.get("batch_size", d.batch_size)),
        "schedule": saved.get("schedule", d.schedule),
        "weight_decay": float(saved.get("weight_decay", d.weight_decay)),
        "seed": int(saved.get("seed", d.seed)),
        "val_pct": int(round(100 * val_fraction_of(saved))),
        "quick": bool(saved.get("limit")),
        # how many images the quick demo trains on: 6,000, or the number a lesson's recipe set (600 in lesson 5)
        "quick_n": int(saved.get("limit") or QUICK_LIMIT),
        "precision": saved.get("precision") if saved.get("precision") in PRECISIONS else d.precision,
        **{"augment_" + k: float(saved.get("augment_" + k) or 0.0) for k in AUGMENT_FIELDS if k != "flip"},
        "augment_flip": bool(saved.get("augment_flip", False)),
    }
    model_changed = ss.get(K.TR_FOR_MODEL) != key
    for k, v in values.items():
        if K.train_setting(k) not in ss or (model_changed and (k == "epochs" or k in recipe)):
            ss[K.train_setting(k)] = v
    ss[K.TR_FOR_MODEL] = key


_KEPT_AT_ONCE = {
    "device": str,
    "optimizer": str,
    "lr": float,
    "epochs": int,
    "batch_size": int,
    "schedule": str,
    "weight_decay": float,
    "seed": int,
    "precision": str,
}


def _keep(name: str) -> None:
    """A setting the user just changed, into the session's recipe at once (a widget's on_change). The form also
    saves the whole recipe when it has drawn; but a user who types a learning rate and clicks another page at
    once ends that run before it gets there, and the page's widgets are then forgotten: the typed value was lost
    (a teacher's push then offered the old rate)."""
    ss = st.session_state
    value = ss.get(K.train_setting(name))
    if value is None:
        return
    saved = dict(ss.get(K.TRAIN_SETTINGS) or {})
    saved[name] = _KEPT_AT_ONCE[name](value)
    ss[K.TRAIN_SETTINGS] = saved
    save_session()


def settings_form(spec: dict) -> TrainConfig:
    """The training recipe, every part visible and editable; remembered per session."""
    ss = st.session_state
    devices = available_devices()
    dev_keys = ["auto"] + [k for k, _ in devices]
    if ss.get(K.TR_DEVICE) not in dev_keys:
        ss.pop(K.TR_DEVICE, None)  # a GPU chosen on another machine
    _init_widgets(spec)
    hold_widgets()  # in a class: the settings the teacher locked, back in their (greyed out) widgets
    found = ", ".join(f"{k}: {name}" for k, name in devices)
    c1, c2, c3 = st.columns(3)
    device = c1.selectbox(
        t("Device"),
        dev_keys,
        key=K.TR_DEVICE,
        on_change=_keep,
        args=("device",),
        format_func=lambda k, a=t("auto (GPU if found)"): a if k == "auto" else k,
        help=t("Found: {found}", found=found),
    )
    optimizer = c2.selectbox(
        t("Optimizer"),
        list(OPTIMIZERS),
        key=K.TR_OPTIMIZER,
        on_change=_keep,
        args=("optimizer",),
        format_func={k: t(v["title"]) for k, v in OPTIMIZERS.items()}.get,
        disabled=locked("optimizer"),
        help=lock_help("optimizer"),
    )
    lr = c3.number_input(
        t("Learning rate"),
        min_value=0.0,
        max_value=1e9,
        key=K.TR_LR,
        on_change=_keep,
        args=("lr",),
        format="%g",
        step=1e-4,
        help=lock_help(
            "lr", t("How big each step is. 0.003 suits Adam with the default schedule; 0.001 is Keras's default.")
        ),
        disabled=locked("lr"),
    )
    c4, c5, c6 = st.columns(3)
    epochs = c4.number_input(
        t("Epochs"),
        1,
        1000,
        key=K.TR_EPOCHS,
        on_change=_keep,
        args=("epochs",),
        help=lock_help("epochs", t("Passes over the training images.")),
        disabled=locked("epochs"),
    )
    batch = c5.number_input(
        t("Batch size"),
        1,
        65536,
        key=K.TR_BATCH_SIZE,
        on_change=_keep,
        args=("batch_size",),
        help=lock_help(
            "batch_size",
            t("Images per step. The course used 32; 128 trains faster to the same accuracy with the warm-up schedule."),
        ),
        disabled=locked("batch_size"),
    )
    sched_names = {k: t(v) for k, v in SCHEDULES.items()}
    schedule = c6.selectbox(
        t("Learning-rate schedule"),
        list(SCHEDULES),
        key=K.TR_SCHEDULE,
        on_change=_keep,
        args=("schedule",),
        format_func=sched_names.get,
        help=lock_help("schedule", help_text("schedule", lang=ss.get(K.LANG, "en"))),
        disabled=locked("schedule"),
    )
    with st.expander(t("More settings")):
        c7, c8, c9 = st.columns(3)
        wd = c7.number_input(
            t("Weight decay"),
            0.0,
            1.0,
            key=K.TR_WEIGHT_DECAY,
            on_change=_keep,
            args=("weight_decay",),
            format="%g",
            step=1e-4,
            help=help_text("weight-decay", lang=ss.get(K.LANG, "en")),
        )
        seed = c8.number_input(
            t("Random seed"),
            0,
            2**31 - 1,
            key=K.TR_SEED,
            on_change=_keep,
            args=("seed",),
            help=help_text("seed", lang=ss.get(K.LANG, "en")),
        )
        val = (
            c9.slider(
                t("Validation share"),
                0,
                50,
                step=5,
                key=K.TR_VAL_PCT,
                format="%d%%",
                help=t("Training images held back to check for overfitting (20% in the course)."),
            )
            / 100
        )
        c10, c11 = st.columns([1, 2], vertical_alignment="bottom")  # the first column lines up with c7
        precision = c10.selectbox(
            t("Precision"),
            list(PRECISIONS),
            key=K.TR_PRECISION,
            on_change=_keep,
            args=("precision",),
            format_func={k: t(v) for k, v in PRECISIONS.items()}.get,  # translated now: a test's click formats later
            help=t(
                "bf16 mixed precision computes with 16-bit numbers while the weights "
                "stay 32-bit. Automatic uses it only where it was measured to be "
                "faster: a GPU with bf16, or a CPU with native bf16 for a model with "
                "convolutions."
            ),
        )
        quick_n = int(ss.get(K.train_setting("quick_n")) or QUICK_LIMIT)
        quick = c11.toggle(t("Quick demo: train on {n:,} images only", n=quick_n), key=K.TR_QUICK)
    augment = augment_form(task_of_spec(spec).classic_baselines)
    recon = _reconstruction_settings(spec)
    cfg = TrainConfig(
        **recon,
        optimizer=optimizer,
        lr=lr,
        batch_size=int(batch),
        epochs=int(epochs),
        weight_decay=wd,
        seed=int(seed),
        device=device,
        val_fraction=val,
        schedule=schedule,
        precision=precision,
        limit=quick_n if quick else None,
        **augment,
    )
    new = {k: getattr(cfg, k) for k in REMEMBERED}
    new["for_model"] = f"{spec.get('name')}@{ss.get(K.DATASET)}"
    if new != ss[K.TRAIN_SETTINGS]:
        ss[K.TRAIN_SETTINGS] = new
        save_session()
    return cfg


def augment_form(classic: bool = True) -> dict:
    """The data augmentation settings (TrainConfig.augment_* fields; all off unless the dataset is pictures) and a
    preview of what they do to a few training images; with ``classic`` (the task has classic pipelines: a
    classifier) the box that fits them beside the network."""
    ss = st.session_state
    info = get_info(ss[K.DATASET]) if ss.get(K.DATASET) in ALL_DATASETS else None
    if info is None or not modality_of(info).augmentable:
        return {}
    if classic:
        st.checkbox(
            t("Also fit the classic pipelines (raw pixels and HOG + logistic regression) on the same split"),
            key=K.TR_CLASSIC,
            help=t(
                "Hand-made features against learned ones: the result shows their test accuracy and time beside the "
                "network's. About a minute on all of MNIST."
            ),
        )
    on = any(ss.get(K.train_setting("augment_" + k)) for k in AUGMENT_FIELDS)
    with st.expander(t("Data augmentation") + (" ✓" if on else ""), expanded=False):
        st.caption(
            t(
                "Each training batch is moved at random on the training device before the model sees it, so it never sees "
                "the same picture twice; validation and test images stay as they are. With few training images "
                "this narrows the gap between training and validation accuracy."
            )
        )
        cols = st.columns(3)
        out = {}
        for i, (name, label, most, step, help) in enumerate(AUGMENT_WIDGETS):
            out["augment_" + name] = float(
                cols[i % 3].slider(t(label), 0.0, most, step=step, key=K.train_setting("augment_" + name), help=t(help))
            )
        flips = bool(getattr(info, "flips", False))
        if not flips:
            ss[K.train_setting("augment_flip")] = False
        out["augment_flip"] = cols[2].checkbox(
            t("Mirror left-right"),
            key=K.train_setting("augment_flip"),
            disabled=not flips,
            help=t("Half the images mirrored.")
            if flips
            else t("Not for {dataset}: a mirrored 2 is no digit.", dataset=info.name),
        )
        aug = Augmentation(**{k: out["augment_" + k] for k in AUGMENT_FIELDS})
        if aug.active:
            try:
                data = get_data()
            except DlvizError as e:
                show_error(e)
            else:
                grid = preview(data.train_x[:PREVIEW_IMAGES], aug.validated(), seed=int(ss.get(K.TR_SEED) or 0))
                st.image(
                    grid.numpy(),
                    caption=t("Top row: training images as stored. Below: three batches as the model sees them."),
                    clamp=True,
                )
    return out


def _reconstruction_settings(spec: dict) -> dict:
    """An autoencoder's own settings (its task's): the noise added to its input (denoising) and its loss."""
    if task_of_spec(spec).name != "reconstruction":
        return {}
    c1, c2 = st.columns(2)
    noise = c1.slider(
        t("Noise added to the input (denoising)"),
        0.0,
        1.0,
        step=0.05,
        key=K.TR_NOISE,
        help=t(
            "0 trains a plain autoencoder. Above 0, each training image gets Gaussian noise of this standard "
            "deviation and the model learns to give back the clean image: a denoising autoencoder."
        ),
    )
    names = {"bce": t("Binary cross-entropy"), "mse": t("Mean squared error")}
    loss = c2.selectbox(
        t("Reconstruction loss"),
        list(names),
        key=K.TR_RECON_LOSS,
        format_func=names.get,
        help=t(
            "Binary cross-entropy suits pixels between 0 and 1; the error shown is the mean squared error either way."
        ),
    )
    return {"denoise": float(noise), "recon_loss": loss}


def settings_summary(settings: dict | None) -> str:
    """The recipe in one line, for the Train page while a run trains (the form is folded away then)."""
    s = dict(settings or {})
    d = TrainConfig()
    opt = s.get("optimizer", d.optimizer)
    sched = s.get("schedule", d.schedule)
    epochs = int(s.get("epochs", d.epochs))
    template = (
        N_("{optimizer} at {lr}, batch {batch}, {epochs} epochs, {schedule}")
        if epochs != 1
        else N_("{optimizer} at {lr}, batch {batch}, {epochs} epoch, {schedule}")
    )  # "1 epoch", not "1 epochs"
    text = t(
        template,
        optimizer=t(OPTIMIZERS[opt]["title"]) if opt in OPTIMIZERS else opt,
        lr=f"{float(s.get('lr', d.lr)):g}",
        batch=f"{int(s.get('batch_size', d.batch_size)):,}",
        epochs=epochs,
        schedule=t(SCHEDULES[sched]).lower() if sched in SCHEDULES else sched,
    )
    if s.get("limit"):
        text += t(", {n:,} images (quick demo)", n=int(s["limit"]))
    return text + "."


def ordinal(n: int) -> str:
    """A place in a queue as this session's language writes it: 1st, 2nd, 3rd, 11th (English), 3 (Chinese, whose
    sentence says 第 3 位 itself)."""
    if st.session_state.get(K.LANG, "en") != "en":
        return str(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def queue_text(snap: JobSnapshot) -> str:
    """Where a job waiting in a class's queue stands: its place and, once jobs have finished, about how long."""
    wait = None if snap.wait_s is None else max(1.0, snap.wait_s)  # "about 0.0 s" says nothing
    if snap.place == 1:
        if wait is None:
            return t("Waiting: you are next in the queue.")
        return t("Waiting: you are next in the queue, about {wait}.", wait=fmt_seconds(wait))
    if wait is None:
        return t("Waiting: you are {place} in the queue.", place=ordinal(snap.place))
    return t("Waiting: you are {place} in the queue, about {wait}.", place=ordinal(snap.place), wait=fmt_seconds(wait))


def status_text(snap: JobSnapshot) -> str:
    if snap.status == "queued" and snap.place:
        return queue_text(snap)
    if snap.status == "loading" and snap.text:
        return t(snap.text, **plain_args(snap.text_args))
    names = {
        "queued": t("Starting..."),
        "loading": t("Loading data..."),
        "running": t("Training"),
        "paused": t("Paused"),
        "testing": t("Measuring accuracy on the test set..."),
    }
    return names.get(snap.status, t(snap.status))


def live_panel(snap: JobSnapshot) -> None:
    """Status, progress bar, numbers and the curves of a job in progress (redrawn twice a second)."""
    p = snap.progress
    frac = snap.fraction if snap.status == "loading" and snap.fraction else (p.step / p.total_steps if p else 0.0)
    st.progress(min(max(frac, 0.0), 1.0), text=status_text(snap))
    if snap.live is not None:  # a task with its own live view (a GAN's samples and its two players' curves)
        gan_widgets.live_view(snap)
        return
    if p:
        c = st.columns(5)
        c[0].metric(t("Epoch"), f"{p.epoch} / {p.epochs}")
        c[1].metric(t("Training loss"), f"{p.train_loss:.4f}")
        last_val = snap.val[-1] if snap.val else None
        task = task_of_spec(st.session_state.get(K.SPEC) or {})  # the model being trained is the session's
        fmt = task_views.TASK_VIEWS.get(task.name, task_views.CLASSIFIER).metric_format
        c[2].metric(
            t("Validation {metric}", metric=t(task.metric_title).lower()), fmt(last_val[3]) if last_val else "–"
        )
        c[3].metric(t("Samples per second"), f"{p.samples_per_s:,.0f}")
        c[4].metric(t("Time left"), fmt_seconds(p.eta_s) if snap.status != "paused" else t("paused"))
    if snap.train:
        st.plotly_chart(
            training_curves(
                snap.train, snap.val, tr=t, metric=task_of_spec(st.session_state.get(K.SPEC) or {}).metric_title
            ),
            key=K.LIVE_CURVES,
            config={"displayModeBar": False},
        )
    elif snap.status == "running":
        st.caption(t("The first points appear after a quarter of a second of training."))
    if snap.grads and snap.grads.get("norms"):
        ss = st.session_state
        if K.TR_LIVE_GRADS not in ss:  # Streamlit drops a widget's state while it is not drawn: keep the choice
            ss[K.TR_LIVE_GRADS] = ss.get(K.TR_LIVE_GRADS_ON, False)
        on = st.toggle(
            t("Show the gradient flow live"),
            key=K.TR_LIVE_GRADS,
            help=t("Each layer's gradient norm at every step. The Gradients page explains it when training ends."),
        )
        ss[K.TR_LIVE_GRADS_ON] = on
        if on:
            st.plotly_chart(gradient_flow(snap.grads, t), key=K.LIVE_GRADS)


def look_inside_links(run) -> list[tuple[str, str, str]]:
    """(page, label, icon) of the look-inside pages that can open ``run``: a text model's attention and
    sequence pages, an image model's Inspect, Gradients and Errors; Explain reads both."""
    return [(page, t(label), icon) for page, label, icon in task_views.looks(run)]


def result_view(run) -> None:
    """Final numbers, curves and the course's prediction gallery for a saved run."""
    text = run_message(run)
    verdict = (run.metrics or {}).get("verdict") or {}
    if verdict.get("template"):  # diverged, or no better than guessing: never "Training finished"
        if run.status != "finished" and text:
            st.warning(text)
        st.error(t(verdict["template"], **verdict.get("args", {})), icon=":material/warning:")
    elif text:
        kind = {"finished": st.success, "stopped": st.warning, "failed": st.error, "interrupted": st.warning}.get(
            run.status, st.info
        )
        kind(text)
    elif run.status == "finished":
        st.success(t("Training finished."))
    if gan_widgets.is_gan_run(run):  # a GAN has no test accuracy: its samples over the epochs, its two losses
        gan_widgets.result_view(run)
        return
    c = st.columns(4)
    task = task_views.task_of_run(run)
    c[0].metric(t("Test {metric}", metric=t(task.metric_title).lower()), task_views.metric_text(run))
    c[1].metric(t("Parameters"), f"{run.params:,}" if run.params else "–")
    c[2].metric(t("Training time"), fmt_seconds(run.train_seconds))
    c[3].metric(t("Device"), run.device or "–")
    m = run.metrics or {}
    used = []  # what the engine chose: "auto" precision and CPU threads become concrete
    if m.get("precision"):
        used.append(t("Precision: {name}", name=t(PRECISIONS.get(m["precision"], m["precision"]))))
    if m.get("cpu_threads"):
        used.append(t("CPU threads: {n}", n=m["cpu_threads"]))
    if used:
        st.caption(" · ".join(used), help=help_text("bf16", "cpu-threads", lang=st.session_state.get(K.LANG, "en")))
    if run.status in ("finished", "stopped", "interrupted"):
        links = st.columns(5, vertical_alignment="center")
        links[0].markdown(t("**Look inside this model:**"))
        for col, (page, label, icon) in zip(links[1:], look_inside_links(run)):
            col.page_link(page, label=label, icon=icon)
    if m.get("train"):
        st.plotly_chart(
            training_curves(m["train"], m.get("val", []), tr=t, metric=task.metric_title), key=K.run_curves(run.id)
        )
        gap = generalization_gap(m["train"], m.get("val", []))
        if gap is not None and task.higher_is_better:  # an accuracy's gap
            st.caption(t(gap[0], **gap[1]), help=help_text("overfitting", lang=st.session_state.get(K.LANG, "en")))
    prev = m.get("test_preview")
    if m.get("baseline"):
        b = m["baseline"]
        st.markdown(
            t(
                "**Classic baseline** on the same split ({name}): **{acc:.2%}** test accuracy in {s:.1f} s, "
                "against the network's {net}.",
                name=t(b.get("name") or "TF-IDF + logistic regression"),
                acc=b["test_accuracy"],
                s=b.get("seconds", 0.0),
                net=f"{run.test_accuracy:.2%}" if run.test_accuracy is not None else "–",
            )
        )
        from dlviz.train.baseline import comparison

        said = comparison(b["test_accuracy"], run.test_accuracy, b.get("train_size", 0))
        if said is not None:
            st.caption(t(said[0], **said[1]))
    if m.get("baselines"):
        classic_table(m["baselines"], run.test_accuracy)
    if prev:
        task_views.preview(run, prev)  # a sentence table, the course's picture gallery, reconstructions


def classic_table(baselines: list[dict], network: float | None) -> None:
    """The classic image pipelines beside the network: accuracy and seconds on the same split, and one sentence."""
    st.markdown(t("**Hand-made features against learned ones**, on the same training and test images:"))
    rows = [
        {
            t("Pipeline"): t(b["name"]),
            t("Features"): t(b["features"]),
            t("Test accuracy"): f"{b['test_accuracy']:.2%}",
            t("Seconds"): f"{b['seconds']:.1f}",
        }
        for b in baselines
    ]
    st.dataframe(rows, hide_index=True)
    said = image_comparison(max(b["test_accuracy"] for b in baselines), network)
    if said is not None:
        st.caption(t(said[0], **said[1]))
