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
from dataclasses import asdict, dataclass, field, fields

import torch

from dlviz.data import SPLIT_SEED, get_info, load_dataset, split_indices
from dlviz.errors import DlvizError, SpecError
from dlviz.i18n import N_, translate
from dlviz.modality import IMAGE, Modality, modality_of, modality_of_spec
from dlviz.models import build
from dlviz.models.builder import check_budget, estimate, normalize
from dlviz.models.presets import fit_classes
from dlviz.runs import RunStore, load_state_into
from dlviz.tasks import CLASSIFICATION, Task, TestReport, get_task, task_of_spec
from dlviz.train.augment import Augmenter, check_allowed
from dlviz.train.baseline import image_baselines, tfidf_baseline
from dlviz.train.callbacks import Callback, Checkpoints, Control, GradientRecording, curves
from dlviz.train.config import OPTIMIZERS, TrainConfig
from dlviz.train.engine import DeviceData, evaluate, fit, resolve_device, test_outputs
from dlviz.train.events import Curves, Listener

__all__ = ["JobResult", "Listener", "TrainJob", "evaluate_run", "load_run", "prepare_data", "run_job"]

_CFG = {f.name for f in fields(TrainConfig)}  # a run's saved settings that are TrainConfig's


@dataclass(frozen=True)
class _Counted:
    """What ``Task.classes`` reads of a dataset, for a saved run whose class count is known without it."""

    num_classes: int


@dataclass(frozen=True)
class TrainJob:
    dataset: str
    spec: dict
    config: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""
    data_dir: str | None = None
    # the classic (not deep) baseline on the same split: None = the modality's habit (Modality.has_baseline: text's
    # TF-IDF, a few seconds, always; images' raw pixels and HOG + logistic regression, a minute on all of MNIST, only
    # when asked with True)
    baseline: bool | None = None
    data: object = field(default=None, compare=False, repr=False)  # loaded data (a user's CSV; MNIST already in
    #                                                                  memory) instead of loading ``dataset`` by name
    task: str | None = None  # what the model learns (dlviz.tasks); None: the spec's ("task" key), else classification
    owner: str = ""  # dlviz.classroom.Person.id of who asked for it: '' alone; the run it makes is theirs


@dataclass
class JobResult:
    run_id: str | None
    status: str
    message: str = ""
    message_args: dict = field(default_factory=dict)
    test_accuracy: float | None = None  # the task's test score (classification: accuracy; see ``metric``)
    test_loss: float | None = None
    epochs: int = 0
    steps: int = 0
    train_seconds: float = 0.0
    device: str = ""
    precision: str = ""  # what fit() trained with: "fp32" or "bf16" ("auto" resolved)
    params: int = 0
    baseline: dict | None = None  # text: the classic baseline's name, test_accuracy, seconds, ...
    baselines: list | None = None  # images: each classic pipeline's name, test_accuracy, seconds, ... (when asked)
    summary: dict = field(default_factory=dict)  # the task's own numbers (a GAN: generator_loss, ...)
    task: str = CLASSIFICATION.name  # what the model learned (dlviz.tasks)
    metric: str = CLASSIFICATION.metric  # the name of ``test_accuracy``'s number: "accuracy", "reconstruction_error"

    def to_dict(self) -> dict:
        return asdict(self)


def split_for(n_train: int, cfg: TrainConfig):
    """(train indices, validation indices) of the training part: ``cfg.val_fraction`` held out with the
    course's split (``split_indices``); ``cfg.limit`` keeps a small subset with the same proportions. The
    classic baseline uses the same indices."""
    tr, va = split_indices(n_train, cfg.val_fraction, seed=SPLIT_SEED)
    if cfg.limit is not None:
        # a small quick subset keeps the train/validation proportions
        n_val = math.ceil(cfg.limit * cfg.val_fraction / max(1e-9, 1 - cfg.val_fraction))
        tr, va = tr[: cfg.limit], va[:n_val]
    return tr, va


def prepare_data(data, cfg: TrainConfig, device: torch.device) -> DeviceData:
    """Split (see ``split_for``) and move to ``device`` once, as stored (images: uint8 (N, 28, 28); text:
    pre-padded ids (N, L) long); the data's modality turns a batch into the model's input."""
    tr, va = split_for(len(data.train_y), cfg)

    def put(t):
        return t.to(device, non_blocking=True)

    modality = modality_of(data)
    aug = cfg.augmentation
    if aug.active:
        check_allowed(aug, data.info, modality.augmentable)
    return DeviceData(
        put(data.train_x[tr]),
        put(data.train_y[tr]),
        put(data.train_x[va]),
        put(data.train_y[va]),
        put(data.test_x),
        put(data.test_y),
        modality.transform,
        Augmenter(aug, device, cfg.seed) if aug.active else None,
    )


def test_results(model, data: DeviceData, progress=None, task: Task = CLASSIFICATION) -> TestReport:
    """The test set's loss, score and preview (``task.test_report``) from one pass over it; ``progress(fraction)``
    follows it."""
    out, target = test_outputs(model, data.test_x, data.test_y, data.transform, task, progress=progress)
    return task.test_report(out, target)


def run_job(
    job: TrainJob, store: RunStore, listener: Listener | None = None, control: Control | None = None
) -> JobResult:
    """Run ``job`` to the end (or to a stop). Problems become a failed result with a plain message."""
    listener = listener or Listener()
    res = JobResult(run_id=None, status="failed")
    try:
        _run(job, store, listener, control or Control(), res)
    except DlvizError as e:
        _fail_run(store, res, e.template, e.kwargs)
    except torch.cuda.OutOfMemoryError:
        _fail_run(
            store, res, N_("The GPU ran out of memory. Lower the batch size, use a smaller model, or train on the CPU.")
        )
    except KeyboardInterrupt:  # Ctrl+C in the CLI: leave the run marked, not "running" forever
        res.status = "stopped"
        res.message = N_("Interrupted from the keyboard. The weights of the last finished epoch were kept.")
        if res.run_id:
            metrics = {**store.get(res.run_id).metrics, "message": {"template": res.message, "args": {}}}
            store.update(res.run_id, status="stopped", message=_english(res.message, {}), metrics=metrics)
        raise
    except Exception as e:  # a bug of ours: say so plainly, keep the traceback for the log
        traceback.print_exc(file=sys.stderr)
        detail = {"detail": f"{type(e).__name__}: {e}"}
        _fail_run(
            store,
            res,
            N_("Something unexpected went wrong: {detail}. The app keeps working; please report this."),
            detail,
        )
    listener.on_status(res.status, res.message, **res.message_args)
    return res


def _run(job: TrainJob, store: RunStore, listener: Listener, control: Control, res: JobResult) -> None:
    """``run_job``'s work, in order; fills in ``res`` as it goes."""
    cfg = job.config.validated()
    task = (task_of_spec(job.spec) if job.task in (None, CLASSIFICATION.name) else get_task(job.task)).configured(cfg)
    res.task, res.metric = task.name, task.metric
    device = resolve_device(cfg.device)
    listener.on_status("loading", N_("Loading {dataset}..."), dataset=job.dataset)
    ld = _load(job, cfg, lambda f, msg: listener.on_status("loading", msg, fraction=f), task)
    raw, built = ld.raw, ld.built
    if control.stopped:  # Stop pressed while the data loaded: nothing to train, nothing to save
        res.status, res.message = "stopped", N_("Stopped before training began; no run was saved.")
        return
    model, data = built.module.to(device), prepare_data(raw, cfg, device)
    res.device, res.params = str(device), built.params
    res.run_id = run_id = _create_run(job, store, cfg, ld, data, device, task)
    listener.on_created(run_id, built.params, str(device), raw.source_label())
    listener.on_status("running", "")
    grads = GradientRecording() if cfg.record_gradients and task.records_gradients else None
    callbacks = [grads, control, _Reports(listener, grads), Checkpoints(store, run_id, grads)]
    t0 = time.perf_counter()
    fitres = fit(model, data, cfg, [c for c in callbacks if c is not None], task)
    res.status, res.message, res.message_args = fitres.status, fitres.message, fitres.message_args
    res.epochs, res.steps, res.train_seconds = fitres.epochs_done, fitres.steps, fitres.train_seconds
    res.precision = fitres.precision
    metrics = curves(fitres.history)
    res.summary = task.summary(fitres.history)
    if fitres.live is not None:  # the task's last live view (a GAN's grid from the fixed noise)
        metrics["live"] = fitres.live
    stopped = fitres.status == "stopped"
    if stopped:  # control back now; the test set is scored after, in the background (see _stopped)
        _stopped(store, run_id, model, fitres, res, metrics, listener)
    busy = _Busy(listener, stopped)
    if fitres.status == "failed" and fitres.epochs_done > 0:
        load_state_into(model, store.load_weights(run_id))  # weights may be NaN now: the last finished epoch's
    if fitres.steps > 0 and (fitres.status != "failed" or fitres.epochs_done > 0):
        _test(model, data, ld, task, fitres, cfg, res, metrics, busy, store, run_id)
    metrics.update(wall_seconds=time.perf_counter() - t0, cpu_threads=fitres.cpu_threads, precision=fitres.precision)
    modality = ld.modality
    wanted = job.baseline if job.baseline is not None else modality.has_baseline
    if wanted and task.classic_baselines and res.test_accuracy is not None and modality.name in BASELINES:
        BASELINES[modality.name](raw, cfg, res, metrics, busy)
    metrics["message"] = {"template": res.message, "args": res.message_args}  # for translation later
    # a stopped run's end was written before scoring (a status is written once): only fill in its results
    end = {} if stopped else {"status": res.status}
    message = _english(res.message, res.message_args)
    store.update(
        run_id,
        **end,
        metrics=metrics,
        test_accuracy=res.test_accuracy,
        train_seconds=res.train_seconds,
        message=message,
    )


class _Reports(Callback):
    """Each progress report to the job's listener, with the curves so far and the live gradient flow."""

    def __init__(self, listener: Listener, grads: GradientRecording | None):
        self.listener, self.grads = listener, grads

    def on_report(self, loop, p) -> None:
        grads = self.grads.live() if self.grads is not None else None
        own = getattr(loop.trainer, "live", None)  # the task's own step's live view (a GAN's sample grid)
        curves = Curves(loop.history["train"], loop.history["val"], grads, own() if own is not None else None)
        self.listener.on_progress(p, curves)


class _Busy:
    """Work after training: the job's status ("testing"), or, once a stopped job has said "stopped",
    background work that must not change its status."""

    def __init__(self, listener: Listener, stopped: bool):
        self.listener, self.stopped = listener, stopped

    def __call__(self, text: str, fraction: float | None = None) -> None:
        if self.stopped:
            self.listener.on_background(text, fraction)
        else:
            self.listener.on_status("testing", text)


@dataclass
class _Loaded:
    info: object  # the dataset's DatasetInfo
    modality: Modality
    spec: dict  # the spec as built (validated, one output per class, fitted to the data)
    saved_spec: dict  # the spec saved with the run
    raw: object  # the loaded data
    built: object  # dlviz.models.Built


def _load(job: TrainJob, cfg: TrainConfig, progress, task: Task = CLASSIFICATION) -> _Loaded:
    info = job.data.info if job.data is not None else get_info(job.dataset)
    modality = modality_of(info)
    built = task.build(job.spec, seed=cfg.seed)
    if built is not None:  # a model the task builds itself (a GAN) from its own spec
        if modality is not IMAGE:
            raise SpecError(
                "{model} draws images, but {dataset} holds sentences. Pick an image dataset (mnist, fashion-mnist).",
                model=str(job.spec.get("name", "")),
                dataset=info.name,
            )
        return _Loaded(info, modality, job.spec, job.spec, _data(job, {}, progress), built)
    classes = task.classes(info)  # None: the task checks the output's shape itself (an autoencoder: the input's)
    spec = fit_classes(normalize(job.spec), classes)  # a preset on a 3-class CSV: 3 outputs
    if modality_of_spec(spec) is not modality:  # a text model on images, or the reverse: before anything is built
        raise SpecError(modality.wrong_model, layer=0, dataset=info.name)
    check_budget(estimate(spec, modality.input_shape(info)), cfg.batch_size)  # before the data is loaded
    raw = _data(job, modality.load_options(spec), progress)
    fitted, raw = modality.fit_model(spec, raw)
    # a modality that fitted the spec saves it (text: the Embedding sized to the vocabulary, so that it rebuilds
    # without the dataset); else the run keeps the spec as it was given
    saved = fitted if fitted is not spec else job.spec
    shape = modality.input_shape(info, getattr(raw, "max_len", None))
    built = build(fitted, shape, classes, input_dtype=modality.input_dtype, seed=cfg.seed, batch=cfg.batch_size)
    task.check_output(built.table[-1].output_shape, tuple(shape))
    return _Loaded(info, modality, fitted, saved, raw, built)


def _data(job: TrainJob, options: dict, progress):
    """The job's data: as given (a user's CSV), else loaded by name with the modality's ``options``."""
    if job.data is not None:
        return job.data
    return load_dataset(job.dataset, job.data_dir, progress=progress, **options)


def _create_run(
    job: TrainJob, store: RunStore, cfg: TrainConfig, ld: _Loaded, data: DeviceData, device, task: Task
) -> str:
    """The run's record (its settings say how to rebuild and read it), and what its modality keeps beside it."""
    info, raw = ld.info, ld.raw
    settings = {
        **asdict(cfg),
        "train_size": len(data.train_y),
        "val_size": len(data.val_y),
        "data_source": raw.source,
        "subset": raw.subset,
        "task": task.name,
        **ld.modality.run_settings(raw),
    }
    rec = store.create(
        name=job.name or f"{ld.spec.get('name', 'model')} · {info.name}",  # no words: any language
        dataset=job.dataset,
        spec=ld.saved_spec,
        settings=settings,
        device=str(device),
        params=ld.built.params,
        owner=job.owner,
    )
    ld.modality.save_with_run(store, rec.id, raw)
    return rec.id


def _stopped(store, run_id, model, fitres, res, metrics, listener) -> None:
    """Stop gives control back now: the run is saved, stopped, with the weights trained so far, and the job
    says "stopped" at once; scoring the test set (17.6 s for a ResNet on a CPU) follows in the background,
    reported through on_background, and fills in the test accuracy when it ends."""
    if fitres.steps > 0:
        store.save_weights(run_id, model.state_dict())
    store.update(
        run_id,
        status="stopped",
        metrics={**metrics, "message": {"template": res.message, "args": res.message_args}},
        train_seconds=res.train_seconds,
        message=_english(res.message, res.message_args),
    )
    listener.on_status("stopped", res.message, **res.message_args)


def _test(model, data, ld, task, fitres, cfg, res, metrics, busy, store, run_id) -> None:
    """Score the test set; save the final weights and judge the run unless it failed."""
    scoring = task.scoring
    busy(scoring, 0.0)
    stopped = fitres.status == "stopped"
    report = test_results(model, data, progress=(lambda f: busy(scoring, f)) if stopped else None, task=task)
    res.test_loss, res.test_accuracy, metrics["test_preview"] = report.loss, report.score, report.preview
    metrics["test_preview"].update(ld.modality.preview(ld.raw, report.preview.get("indices", [])))
    if fitres.status == "failed":
        return
    if not stopped:  # a stopped run's weights were saved before scoring
        store.save_weights(run_id, model.state_dict())
    opt = OPTIMIZERS[cfg.optimizer]
    found = task.verdict(fitres.history, report, not stopped, cfg.lr, opt["lr"], opt["title"])
    live_notice = (fitres.live or {}).get("notice")
    if found is None and live_notice:  # what the task saw live at the end (a GAN's collapse)
        found = tuple(live_notice)
    if found is not None:
        metrics["verdict"] = {"template": found[0], "args": found[1]}
        if not stopped:  # "Training finished" would hide it: it is the run's message
            res.message, res.message_args = found


def _text_baseline(raw, cfg: TrainConfig, res: JobResult, metrics: dict, busy) -> None:
    busy(N_("Training the classic baseline (TF-IDF + logistic regression)..."))
    res.baseline = _baseline(raw, cfg)
    if res.baseline is not None:
        metrics["baseline"] = res.baseline


def _image_baselines(raw, cfg: TrainConfig, res: JobResult, metrics: dict, busy) -> None:
    """The classic image pipelines (raw pixels, HOG; each + logistic regression) on the model's own training
    images (the same split and --limit, validation images left out), scored once on the same test images."""
    busy(N_("Training the classic pipelines (raw pixels and HOG + logistic regression)..."))
    tr, _ = split_for(len(raw.train_y), cfg)
    try:
        out = image_baselines(raw.train_x[tr], raw.train_y[tr], raw.test_x, raw.test_y)
    except ImportError:  # scikit-learn missing: the run is still whole
        return
    if out:
        res.baselines = metrics["baselines"] = [b.to_dict() for b in out]


# the classic baseline of each modality (by Modality.name): fits it and puts it in the result and the run's metrics
BASELINES = {"text": _text_baseline, "image": _image_baselines}


def _baseline(text_data, cfg: TrainConfig) -> dict | None:
    """The classic TF-IDF + logistic regression baseline on the deep model's own training sentences
    (the same split and --limit, validation sentences left out) and the same test sentences."""
    tr, _ = split_for(len(text_data.train_y), cfg)
    texts = text_data.train_texts
    try:
        out = tfidf_baseline(
            [texts[i] for i in tr.tolist()],
            text_data.train_y[tr].tolist(),
            text_data.test_texts,
            text_data.test_y.tolist(),
            text_data.info.language or "en",
            list(text_data.classes),
        )
    except ImportError:  # scikit-learn missing: the run is still whole
        return None
    return out.to_dict() if out is not None else None


def _english(template: str, args: dict) -> str:
    return translate(template, "en", **args) if template else ""


def _fail_run(store: RunStore, res: JobResult, template: str, args: dict | None = None) -> None:
    """``res`` failed with the message ``template``; its run (if one was made) is marked so."""
    res.status, res.message, res.message_args = "failed", template, dict(args or {})
    if res.run_id:
        try:
            rec = store.get(res.run_id)
            metrics = {**rec.metrics, "message": {"template": res.message, "args": res.message_args}}
            store.update(res.run_id, status="failed", message=_english(res.message, res.message_args), metrics=metrics)
        except DlvizError:
            pass


def load_run(run_id: str, store: RunStore, device: str = "cpu", with_vocab: bool = False):
    """(model in eval mode, record) for a saved run: validated spec + safetensors, never a pickle.

    ``with_vocab=True`` returns (model, record, vocab): what the run's modality saved beside it to read a new
    input (a text run's vocabulary, to encode a typed sentence exactly as the training data was), None for
    an image run.
    """
    rec = store.get(run_id)
    modality = modality_of(rec)
    saved = modality.load_with_run(store, rec)
    own = task_of_spec(rec.spec).build(rec.spec)  # a model its task builds (a GAN)
    if own is not None:
        model = own.module
    else:
        shape, classes = modality.run_input(rec)
        classes = task_of_spec(rec.spec).classes(_Counted(classes))  # an autoencoder: None, it ends in its input
        model = build(rec.spec, shape, classes, input_dtype=modality.input_dtype, budget=False).module
    load_state_into(model, store.load_weights(run_id))
    model = model.to(resolve_device(device)).eval()
    return (model, rec, saved) if with_vocab else (model, rec)


def evaluate_run(run_id: str, store: RunStore, data_dir: str | None = None, device: str = "cpu") -> dict:
    """Test loss and accuracy of a saved run's weights on its dataset's full test set, read as the run reads
    it (a text run's sentences encoded with the vocabulary saved with the run)."""
    model, rec, saved = load_run(run_id, store, device, with_vocab=True)
    modality = modality_of(rec)
    d = load_dataset(rec.dataset, data_dir)
    dev = next(model.parameters()).device
    x = modality.test_inputs(d, rec, saved)
    task = task_of_spec(rec.spec).configured(TrainConfig(**{k: v for k, v in rec.settings.items() if k in _CFG}))
    loss, score = evaluate(model, x.to(dev), d.test_y.to(dev), modality.transform, task=task)
    return {
        "run_id": run_id,
        f"test_{task.metric}": score,
        "test_loss": loss,
        "test_size": len(d.test_y),
        "dataset": rec.dataset,
        "data_source": d.source,
    }
