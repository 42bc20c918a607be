"""One training job from start to saved run: load data, build, fit, test, save.

Used by the in-process executor (the app) and the CLI alike. Reports to a ``Listener``; never
calls Streamlit. Weights are checkpointed at every epoch end, so a stop, a crash or a closed tab
keeps the last finished epoch.
"""

from __future__ import annotations

import math
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from dlviz.data import load_dataset, split_indices
from dlviz.i18n import N_
from dlviz.errors import DlvizError
from dlviz.models import build
from dlviz.runs import RunStore
from dlviz.train.engine import (Control, DeviceData, FitResult, Progress, TrainConfig, evaluate, fit,
                                image_transform, resolve_device, test_logits)

EARLY_SNAPSHOTS = (0, 10, 50, 200)  # steps whose weights epoch replay shows (if inside the first epoch)
PREVIEW_FIRST = 12   # test images shown in the result gallery ...
PREVIEW_WRONG = 6    # ... plus this many mistakes


@dataclass(frozen=True)
class TrainJob:
    dataset: str
    spec: dict
    config: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""
    data_dir: str | None = None


class Listener:
    """What a runner tells the outside world. The executor and the CLI subclass it."""

    def on_status(self, status: str, text: str = "", **args) -> None: ...

    def on_created(self, run_id: str, params: int, device: str, source: tuple[str, dict]) -> None: ...

    def on_progress(self, p: Progress, history: dict) -> None: ...


@dataclass
class JobResult:
    run_id: str | None
    status: str
    message: str = ""
    message_args: dict = field(default_factory=dict)
    test_accuracy: float | None = None
    test_loss: float | None = None
    epochs: int = 0
    steps: int = 0
    train_seconds: float = 0.0
    device: str = ""
    params: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def prepare_data(image_data, cfg: TrainConfig, device: torch.device) -> DeviceData:
    """Split (20% validation by default, seed 42 as in the course) and move to ``device`` once."""
    tr, va = split_indices(len(image_data.train_y), cfg.val_fraction, seed=42)
    if cfg.limit is not None:
        # a small quick subset keeps the train/validation proportions
        n_val = math.ceil(cfg.limit * cfg.val_fraction / max(1e-9, 1 - cfg.val_fraction))
        tr, va = tr[: cfg.limit], va[:n_val]

    def put(t):
        return t.to(device, non_blocking=True)

    return DeviceData(put(image_data.train_x[tr]), put(image_data.train_y[tr]), put(image_data.train_x[va]),
                      put(image_data.train_y[va]), put(image_data.test_x), put(image_data.test_y), image_transform)


def test_results(model, data: DeviceData) -> tuple[float, float, dict]:
    """(test loss, test accuracy, preview) from one pass over the test set.

    The preview holds the probabilities of the first test images plus some mistakes (the course's
    prediction figure) and the confusion matrix.
    """
    logits = test_logits(model, data.test_x, data.transform)          # (N, K)
    y = data.test_y.cpu()
    loss = F.cross_entropy(logits, y).item()
    probs = logits.softmax(1)
    pred = probs.argmax(1)
    acc = (pred == y).float().mean().item()
    wrong = torch.nonzero(pred != y).flatten()[:PREVIEW_WRONG].tolist()
    idx = list(range(min(PREVIEW_FIRST, len(y)))) + [i for i in wrong if i >= PREVIEW_FIRST]
    conf = torch.zeros(probs.shape[1], probs.shape[1], dtype=torch.long)
    conf.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    return loss, acc, {"indices": idx, "probs": [[round(v, 4) for v in probs[i].tolist()] for i in idx],
                       "labels": [int(y[i]) for i in idx], "confusion": conf.tolist()}


def run_job(job: TrainJob, store: RunStore, listener: Listener | None = None, control: Control | None = None
            ) -> JobResult:
    """Run ``job`` to the end (or to a stop). Problems become a failed result with a plain message."""
    from dlviz.inspect.gradients import GradRecorder  # here: dlviz.inspect may import dlviz.train

    listener = listener or Listener()
    control = control or Control()
    res = JobResult(run_id=None, status="failed")
    try:
        cfg = job.config.validated()
        device = resolve_device(cfg.device)
        listener.on_status("loading", N_("Loading {dataset}..."), dataset=job.dataset)
        image_data = load_dataset(job.dataset, job.data_dir,
                                  progress=lambda f, text: listener.on_status("loading", text, fraction=f))
        info = image_data.info
        built = build(job.spec, (1, *info.image_shape), info.num_classes, seed=cfg.seed)
        model = built.module.to(device)
        data = prepare_data(image_data, cfg, device)
        res.device, res.params = str(device), built.params
        settings = {**asdict(cfg), "device": cfg.device, "train_size": len(data.train_y),
                    "val_size": len(data.val_y), "data_source": image_data.source, "subset": image_data.subset}
        rec = store.create(name=job.name or f"{job.spec.get('name', 'model')} · {info.name}",  # no words: any language
                           dataset=job.dataset, spec=job.spec, settings=settings, device=str(device),
                           params=built.params)
        res.run_id = rec.id
        listener.on_created(rec.id, built.params, str(device), image_data.source_label())
        listener.on_status("running", "")
        history_ref: dict = {"train": [], "val": []}   # fit() appends to it; callbacks read it


        steps_per_epoch = math.ceil(len(data.train_y) / min(cfg.batch_size, max(len(data.train_y), 1)))
        recorder = (GradRecorder(model, steps_per_epoch * cfg.epochs, steps_per_epoch)
                    if cfg.record_gradients else None)

        def on_progress(p: Progress) -> None:
            if recorder is not None:
                history_ref["grads"] = recorder.live()
            listener.on_progress(p, history_ref)

        def on_epoch_end(p: Progress, m) -> None:
            store.save_weights(rec.id, m.state_dict())   # checkpoint: nothing lost on a stop or crash
            store.save_snapshot(rec.id, f"epoch-{p.epoch}", m.state_dict())
            store.update(rec.id, metrics=_metrics(history_ref))
            if recorder is not None:
                store.save_record(rec.id, "gradients", recorder.record())

        def on_snapshot(step: int, m) -> None:
            store.save_snapshot(rec.id, f"step-{step}", m.state_dict())

        early = tuple(s for s in EARLY_SNAPSHOTS if s < steps_per_epoch)  # epochs cover the rest
        t0 = time.perf_counter()
        fitres: FitResult = fit(model, data, cfg, on_progress, control, on_epoch_end, history=history_ref,
                                recorder=recorder, snapshot_steps=early, on_snapshot=on_snapshot)
        if recorder is not None and fitres.steps > 0:
            store.save_record(rec.id, "gradients", recorder.record())  # a stopped run keeps its part
        res.status, res.message, res.message_args = fitres.status, fitres.message, fitres.message_args
        res.epochs, res.steps, res.train_seconds = fitres.epochs_done, fitres.steps, fitres.train_seconds
        metrics = _metrics(fitres.history)
        if fitres.status == "failed":
            # weights may be NaN now: keep the last finished epoch's checkpoint instead
            if fitres.epochs_done > 0:
                _load_last(store, rec.id, model)
        if fitres.steps > 0 and (fitres.status != "failed" or fitres.epochs_done > 0):
            listener.on_status("testing", N_("Measuring accuracy on the test set..."))
            res.test_loss, res.test_accuracy, metrics["test_preview"] = test_results(model, data)
            if fitres.status != "failed":
                store.save_weights(rec.id, model.state_dict())
        metrics["wall_seconds"] = time.perf_counter() - t0
        metrics["cpu_threads"] = fitres.cpu_threads
        metrics["message"] = {"template": res.message, "args": res.message_args}  # for translation later
        store.update(rec.id, status=res.status, metrics=metrics, test_accuracy=res.test_accuracy,
                     train_seconds=res.train_seconds, message=_english(res.message, res.message_args))
    except DlvizError as e:
        res.status, res.message, res.message_args = "failed", e.template, e.kwargs
        _fail_run(store, res)
    except torch.cuda.OutOfMemoryError:
        res.status = "failed"
        res.message = N_("The GPU ran out of memory. Lower the batch size, use a smaller model, or train on the CPU.")
        _fail_run(store, res)
    except KeyboardInterrupt:  # Ctrl+C in the CLI: leave the run marked, not "running" forever
        res.status = "stopped"
        res.message = N_("Interrupted from the keyboard. The weights of the last finished epoch were kept.")
        if res.run_id:
            metrics = {**store.get(res.run_id).metrics, "message": {"template": res.message, "args": {}}}
            store.update(res.run_id, status="stopped", message=_english(res.message, {}), metrics=metrics)
        raise
    except Exception as e:  # a bug of ours: say so plainly, keep the traceback for the log
        traceback.print_exc(file=sys.stderr)
        res.status = "failed"
        res.message = N_("Something unexpected went wrong: {detail}. The app keeps working; please report this.")
        res.message_args = {"detail": f"{type(e).__name__}: {e}"}
        _fail_run(store, res)
    listener.on_status(res.status, res.message, **res.message_args)
    return res


def _metrics(history: dict) -> dict:
    return {"train": list(history.get("train", [])), "val": list(history.get("val", []))}


def _english(template: str, args: dict) -> str:
    from dlviz.i18n import translate

    return translate(template, "en", **args) if template else ""


def _load_last(store: RunStore, run_id: str, model) -> None:
    from dlviz.runs import load_state_into

    load_state_into(model, store.load_weights(run_id))


def _fail_run(store: RunStore, res: JobResult) -> None:
    if res.run_id:
        try:
            rec = store.get(res.run_id)
            metrics = {**rec.metrics, "message": {"template": res.message, "args": res.message_args}}
            store.update(res.run_id, status="failed", message=_english(res.message, res.message_args),
                         metrics=metrics)
        except DlvizError:
            pass


def load_run(run_id: str, store: RunStore, device: str = "cpu"):
    """(model in eval mode, record) for a saved run: validated spec + safetensors, never a pickle."""
    from dlviz.data import get_info
    from dlviz.runs import load_state_into

    rec = store.get(run_id)
    info = get_info(rec.dataset)
    model = build(rec.spec, info.input_shape, info.num_classes).module
    load_state_into(model, store.load_weights(run_id))
    return model.to(resolve_device(device)).eval(), rec


def evaluate_run(run_id: str, store: RunStore, data_dir: str | None = None, device: str = "cpu") -> dict:
    """Test loss and accuracy of a saved run's weights on its dataset's full test set."""
    model, rec = load_run(run_id, store, device)
    d = load_dataset(rec.dataset, data_dir)
    dev = next(model.parameters()).device
    loss, acc = evaluate(model, d.test_x.to(dev), d.test_y.to(dev), image_transform)
    return {"run_id": run_id, "test_accuracy": acc, "test_loss": loss, "test_size": len(d.test_y),
            "dataset": rec.dataset, "data_source": d.source}
