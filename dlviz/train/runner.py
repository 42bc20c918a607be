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

from dlviz.data import SPLIT_SEED, get_info, load_dataset, split_indices
from dlviz.errors import DlvizError, RunError, SpecError
from dlviz.i18n import N_
from dlviz.models import build
from dlviz.models.builder import check_budget, estimate, normalize, with_vocab
from dlviz.models.presets import fit_classes
from dlviz.runs import RunStore
from dlviz.train.engine import (
    OPTIMIZERS,
    Control,
    DeviceData,
    FitResult,
    Progress,
    TrainConfig,
    evaluate,
    fit,
    image_transform,
    resolve_device,
    test_logits,
)

EARLY_SNAPSHOTS = (0, 10, 50, 200)  # steps whose weights epoch replay shows (if inside the first epoch)
PREVIEW_FIRST = 12  # test images shown in the result gallery ...
PREVIEW_WRONG = 6  # ... plus this many mistakes
PREVIEW_CHARS = 300  # a text preview keeps this much of each test sentence


# Text presets' default recipes beyond their epochs (Preset.epochs_for(dataset), in dlviz/models/presets.py):
# learning rate and batch size, chosen on rt-polarity's VALIDATION split (the 20% of the training part every
# run holds out; the test sentences never enter the choice) by bench/text_recipes.py, seed 0, on the
# de-duplicated split, grid lr {1e-3, 3e-3} x batch {64, 128}, the preset's epochs. Validation accuracy:
#   lstm         1e-3: 75.9 (64) / 75.6 (128); 3e-3: 76.0* / 75.7
#   gru          1e-3: 75.5 / 72.9;            3e-3: 76.0* / 75.9
#   transformer  1e-3: 75.8 / 74.0;            3e-3: 75.6 / 76.4*
#   kim-cnn      1e-3: 75.3 / 72.5;            3e-3: 77.3* / 76.8
#   bag          1e-3: 74.3 / 72.3;            3e-3: 76.3 / 76.6*
# A dataset key inside a recipe overrides for that dataset. zh-reviews was NOT re-swept (one run of its
# epochs costs 5-40 minutes on this shared 2-core machine): it keeps the learning rate and batch size it was
# run with before (3e-3; batch 64 for lstm, 128 for the others) and its epochs; docs/performance.md shows
# each preset's validation accuracy beside its test accuracy. The rest of TrainConfig keeps its defaults
# (Adam, one-cycle).
TEXT_RECIPES: dict[str, dict] = {
    "lstm": {"lr": 3e-3, "batch_size": 64},
    "gru": {"lr": 3e-3, "batch_size": 64, "zh-reviews": {"batch_size": 128}},
    "transformer": {"lr": 3e-3, "batch_size": 128},
    "kim-cnn": {"lr": 3e-3, "batch_size": 64, "zh-reviews": {"batch_size": 128}},
    "bag": {"lr": 3e-3, "batch_size": 128},
}


RECIPE_FIELDS = ("optimizer", "lr", "batch_size", "schedule", "weight_decay")


def recipe_for(preset: str | None, dataset: str | None = None) -> dict:
    """The TrainConfig fields a preset trains with by default: its epochs (on ``dataset``), optimizer,
    learning rate, batch size, schedule and weight decay (TrainConfig's defaults unless a text recipe says
    otherwise). A whole recipe, so that loading a preset after another never keeps the other's batch size.
    {} for a spec of one's own."""
    from dlviz.models import PRESETS

    if preset not in PRESETS:
        return {}
    p = PRESETS[preset]
    epochs_for = getattr(p, "epochs_for", None)
    d = TrainConfig()
    out = {
        "epochs": epochs_for(dataset) if epochs_for is not None else p.epochs,
        **{k: getattr(d, k) for k in RECIPE_FIELDS},
    }
    rec = TEXT_RECIPES.get(preset, {})
    out.update({k: v for k, v in rec.items() if not isinstance(v, dict)})
    if dataset is not None and isinstance(rec.get(dataset), dict):
        out.update(rec[dataset])
    return out


@dataclass(frozen=True)
class TrainJob:
    dataset: str
    spec: dict
    config: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""
    data_dir: str | None = None
    baseline: bool = True  # text: also fit the classic TF-IDF baseline on the same split (a few seconds)
    data: object = field(default=None, compare=False, repr=False)  # loaded data (a user's CSV; MNIST already in
    #                                                                  memory) instead of loading ``dataset`` by name


class Listener:
    """What a runner tells the outside world. The executor and the CLI subclass it."""

    def on_status(self, status: str, text: str = "", **args) -> None: ...

    def on_created(self, run_id: str, params: int, device: str, source: tuple[str, dict]) -> None: ...

    def on_progress(self, p: Progress, history: dict) -> None: ...

    def on_background(self, text: str, fraction: float | None = None, **args) -> None:
        """Work after a stop that no longer holds the user up (scoring the test set): the job already said
        "stopped", so this must not change its status. Defaults to nothing."""


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
    precision: str = ""  # what fit() trained with: "fp32" or "bf16" ("auto" resolved)
    params: int = 0
    baseline: dict | None = None  # text: the classic baseline's name, test_accuracy, seconds, ...

    def to_dict(self) -> dict:
        return asdict(self)


def is_text_data(data) -> bool:
    """True for a text dataset (``TextData`` or a ``DatasetInfo`` of kind "text")."""
    info = getattr(data, "info", data)
    return getattr(info, "kind", "image") == "text"


def text_transform(x: torch.Tensor) -> torch.Tensor:
    """Token ids (B, L) long are already the model's input."""
    return x


def split_for(n_train: int, cfg: TrainConfig):
    """(train indices, validation indices) of the training part: 20% validation by default, seed 42 as in
    the course; ``cfg.limit`` keeps a small subset with the same proportions. The classic baseline uses
    the same indices."""
    tr, va = split_indices(n_train, cfg.val_fraction, seed=SPLIT_SEED)
    if cfg.limit is not None:
        # a small quick subset keeps the train/validation proportions
        n_val = math.ceil(cfg.limit * cfg.val_fraction / max(1e-9, 1 - cfg.val_fraction))
        tr, va = tr[: cfg.limit], va[:n_val]
    return tr, va


def prepare_data(data, cfg: TrainConfig, device: torch.device) -> DeviceData:
    """Split (see ``split_for``) and move to ``device`` once. Images: uint8 (N, 28, 28) with
    ``image_transform``; text: pre-padded ids (N, L) long, fed to the model as they are."""
    tr, va = split_for(len(data.train_y), cfg)

    def put(t):
        return t.to(device, non_blocking=True)

    transform = text_transform if is_text_data(data) else image_transform
    return DeviceData(
        put(data.train_x[tr]),
        put(data.train_y[tr]),
        put(data.train_x[va]),
        put(data.train_y[va]),
        put(data.test_x),
        put(data.test_y),
        transform,
    )


def test_results(model, data: DeviceData, progress=None) -> tuple[float, float, dict]:
    """(test loss, test accuracy, preview) from one pass over the test set; ``progress(fraction)`` follows it.

    The preview holds the probabilities of the first test images plus some mistakes (the course's
    prediction figure) and the confusion matrix.
    """
    logits = test_logits(model, data.test_x, data.transform, progress=progress)  # (N, K)
    y = data.test_y.cpu()
    loss = F.cross_entropy(logits, y).item()
    probs = logits.softmax(1)
    pred = probs.argmax(1)
    acc = (pred == y).float().mean().item()
    wrong = torch.nonzero(pred != y).flatten()[:PREVIEW_WRONG].tolist()
    idx = list(range(min(PREVIEW_FIRST, len(y)))) + [i for i in wrong if i >= PREVIEW_FIRST]
    conf = torch.zeros(probs.shape[1], probs.shape[1], dtype=torch.long)
    conf.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    return (
        loss,
        acc,
        {
            "indices": idx,
            "probs": [[round(v, 4) for v in probs[i].tolist()] for i in idx],
            "labels": [int(y[i]) for i in idx],
            "confusion": conf.tolist(),
        },
    )


CHANCE_MARGIN = 0.03  # a test accuracy within 3 points of always guessing the most common class is chance level
DIVERGED_FACTOR = 1.5  # a final training loss 1.5x that of an even guess (ln K) means training blew up


def verdict(
    history: dict, test_accuracy: float | None, test_labels, num_classes: int, cfg: TrainConfig
) -> tuple[str, dict] | None:
    """(English template, arguments) when a run that ended normally learned nothing or diverged, else None.

    Chance level: the test accuracy of always answering the most common test class (11.35% on MNIST's test
    set: the ones), plus ``CHANCE_MARGIN``. Diverged: the last training loss is well above ln(K), the loss of
    a model that spreads its guess evenly over the K classes, which is where an untrained network starts
    (the learning rate 5 run of issue 13 ended at a loss of 299 and 11.35%). The likely cause follows from
    the learning rate against the optimizer's usual one.
    """
    train = [r for r in history.get("train", []) if len(r) >= 3 and math.isfinite(r[2])]
    if test_accuracy is None or not train or num_classes < 2:
        return None
    labels = torch.as_tensor(test_labels).flatten()
    if labels.numel() == 0:
        return None
    chance = torch.bincount(labels, minlength=num_classes).max().item() / labels.numel()
    guess_loss = math.log(num_classes)
    first, last = float(train[0][2]), float(train[-1][2])
    diverged = last > DIVERGED_FACTOR * guess_loss
    at_chance = test_accuracy <= chance + CHANCE_MARGIN
    if not (diverged or at_chance):
        return None
    usual = OPTIMIZERS[cfg.optimizer]["lr"]
    args = dict(
        acc=test_accuracy,
        chance=chance,
        first=first,
        last=last,
        guess=guess_loss,
        lr=cfg.lr,
        opt=OPTIMIZERS[cfg.optimizer]["title"],
        suggest=usual if cfg.lr > usual else cfg.lr / 10,
    )
    if diverged and at_chance:
        return N_(
            "Training diverged and the model learned nothing: it gets {acc:.2%} of the test set right, no "
            "better than always guessing the most common class ({chance:.2%}), and its loss ended at "
            "{last:.3g}, far above the {guess:.2f} of an even guess. The learning rate ({lr:g}) is probably "
            "too high for {opt}: try {suggest:g}."
        ), args
    if diverged:
        return N_(
            "Training diverged: the loss ended at {last:.3g}, far above the {guess:.2f} of an even guess, "
            "and the test accuracy ({acc:.2%}) suffers. The learning rate ({lr:g}) is probably too high for "
            "{opt}: try {suggest:g}."
        ), args
    if cfg.lr > 3 * usual:
        return N_(
            "The model learned nothing: it gets {acc:.2%} of the test set right, no better than always "
            "guessing the most common class ({chance:.2%}). The learning rate ({lr:g}) is probably too high "
            "for {opt}: try {suggest:g}."
        ), args
    return N_(
        "The model learned nothing: it gets {acc:.2%} of the test set right, no better than always guessing "
        "the most common class ({chance:.2%}). Likely causes: a learning rate too low for {opt} (it is "
        "{lr:g}), too few epochs or images, or a model too deep to train (the Gradients page shows whether "
        "its gradients vanish)."
    ), args


def run_job(
    job: TrainJob, store: RunStore, listener: Listener | None = None, control: Control | None = None
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
        info = job.data.info if job.data is not None else get_info(job.dataset)
        spec = fit_classes(normalize(job.spec), info.num_classes)  # a preset on a 3-class CSV: 3 outputs
        text = is_text_data(info)
        _check_kinds(spec, info)
        progress = lambda f, msg: listener.on_status("loading", msg, fraction=f)
        if text:
            # the Embedding's size caps the vocabulary (the course's Embedding(10000, 128): 10,000 words)
            raw_data = (
                job.data
                if job.data is not None
                else load_dataset(job.dataset, job.data_dir, progress=progress, max_vocab=_embedding_rows(spec))
            )
            if len(raw_data.vocab) > _embedding_rows(spec):  # a loaded dataset with a larger vocabulary
                raw_data = _capped(raw_data, _embedding_rows(spec))
            spec = with_vocab(spec, len(raw_data.vocab))  # saved with the run: rebuilds without the dataset
            built = build(
                spec, (raw_data.max_len,), info.num_classes, input_dtype=torch.long, seed=cfg.seed, batch=cfg.batch_size
            )
        else:
            check_budget(estimate(spec, (1, *info.image_shape)), cfg.batch_size)  # before the data is loaded
            raw_data = job.data if job.data is not None else load_dataset(job.dataset, job.data_dir, progress=progress)
            built = build(spec, (1, *info.image_shape), info.num_classes, seed=cfg.seed, batch=cfg.batch_size)
        if control.stopped:  # Stop pressed while the data loaded: nothing to train, nothing to save
            res.status = "stopped"
            res.message = N_("Stopped before training began; no run was saved.")
            listener.on_status(res.status, res.message)
            return res
        model = built.module.to(device)
        data = prepare_data(raw_data, cfg, device)
        res.device, res.params = str(device), built.params
        settings = {
            **asdict(cfg),
            "device": cfg.device,
            "train_size": len(data.train_y),
            "val_size": len(data.val_y),
            "data_source": raw_data.source,
            "subset": raw_data.subset,
        }
        if text:
            settings.update(
                kind="text",
                language=info.language,
                max_len=int(raw_data.max_len),
                vocab_size=len(raw_data.vocab),
                classes=list(raw_data.classes),
            )
        rec = store.create(
            name=job.name or f"{spec.get('name', 'model')} · {info.name}",  # no words: any language
            dataset=job.dataset,
            spec=spec if text else job.spec,
            settings=settings,
            device=str(device),
            params=built.params,
        )
        res.run_id = rec.id
        if text:  # beside the weights: the app and the CLI encode a typed sentence with it later
            store.save_record(rec.id, "vocab", raw_data.vocab.to_json())
        listener.on_created(rec.id, built.params, str(device), raw_data.source_label())
        listener.on_status("running", "")
        history_ref: dict = {"train": [], "val": []}  # fit() appends to it; callbacks read it

        steps_per_epoch = math.ceil(len(data.train_y) / min(cfg.batch_size, max(len(data.train_y), 1)))
        recorder = GradRecorder(model, steps_per_epoch * cfg.epochs, steps_per_epoch) if cfg.record_gradients else None

        def on_progress(p: Progress) -> None:
            if recorder is not None:
                history_ref["grads"] = recorder.live()
            listener.on_progress(p, history_ref)

        def on_epoch_end(p: Progress, m) -> None:
            store.save_weights(rec.id, m.state_dict())  # checkpoint: nothing lost on a stop or crash
            store.save_snapshot(rec.id, f"epoch-{p.epoch}", m.state_dict())
            store.update(rec.id, metrics=_metrics(history_ref))
            if recorder is not None:
                store.save_record(rec.id, "gradients", recorder.record())

        def on_snapshot(step: int, m) -> None:
            store.save_snapshot(rec.id, f"step-{step}", m.state_dict())

        early = tuple(s for s in EARLY_SNAPSHOTS if s < steps_per_epoch)  # epochs cover the rest
        t0 = time.perf_counter()
        fitres: FitResult = fit(
            model,
            data,
            cfg,
            on_progress,
            control,
            on_epoch_end,
            history=history_ref,
            recorder=recorder,
            snapshot_steps=early,
            on_snapshot=on_snapshot,
        )
        if recorder is not None and fitres.steps > 0:
            store.save_record(rec.id, "gradients", recorder.record())  # a stopped run keeps its part
        res.status, res.message, res.message_args = fitres.status, fitres.message, fitres.message_args
        res.epochs, res.steps, res.train_seconds = fitres.epochs_done, fitres.steps, fitres.train_seconds
        res.precision = fitres.precision
        metrics = _metrics(fitres.history)
        stopped = fitres.status == "stopped"
        if stopped:
            # Stop gives control back now: the run is saved, stopped, with the weights trained so far, and the
            # job says "stopped" at once; scoring the test set (17.6 s for a ResNet on a CPU) follows in the
            # background, reported through on_background, and fills in the test accuracy when it ends.
            if fitres.steps > 0:
                store.save_weights(rec.id, model.state_dict())
            store.update(
                rec.id,
                status="stopped",
                metrics={**metrics, "message": {"template": res.message, "args": res.message_args}},
                train_seconds=res.train_seconds,
                message=_english(res.message, res.message_args),
            )
            listener.on_status("stopped", res.message, **res.message_args)

        def busy(text: str, fraction: float | None = None) -> None:
            if stopped:
                listener.on_background(text, fraction)
            else:
                listener.on_status("testing", text)

        if fitres.status == "failed":
            # weights may be NaN now: keep the last finished epoch's checkpoint instead
            if fitres.epochs_done > 0:
                _load_last(store, rec.id, model)
        if fitres.steps > 0 and (fitres.status != "failed" or fitres.epochs_done > 0):
            scoring = N_("Measuring accuracy on the test set...")
            busy(scoring, 0.0)
            res.test_loss, res.test_accuracy, metrics["test_preview"] = test_results(
                model, data, progress=(lambda f: busy(scoring, f)) if stopped else None
            )
            if text:
                metrics["test_preview"]["texts"] = [
                    _clip(raw_data.test_texts[i]) for i in metrics["test_preview"]["indices"]
                ]
            if fitres.status != "failed":
                if not stopped:  # a stopped run's weights were saved before scoring
                    store.save_weights(rec.id, model.state_dict())
                found = verdict(fitres.history, res.test_accuracy, data.test_y.cpu(), info.num_classes, cfg)
                if found is not None and (
                    fitres.status == "finished" or found[1]["last"] > DIVERGED_FACTOR * found[1]["guess"]
                ):
                    metrics["verdict"] = {"template": found[0], "args": found[1]}
                    if fitres.status == "finished":  # "Training finished" would hide it: it is the run's message
                        res.message, res.message_args = found
        metrics["wall_seconds"] = time.perf_counter() - t0
        metrics["cpu_threads"] = fitres.cpu_threads
        metrics["precision"] = fitres.precision
        if text and job.baseline and res.test_accuracy is not None:
            busy(N_("Training the classic baseline (TF-IDF + logistic regression)..."))
            res.baseline = _baseline(raw_data, cfg)
            if res.baseline is not None:
                metrics["baseline"] = res.baseline
        metrics["message"] = {"template": res.message, "args": res.message_args}  # for translation later
        # a stopped run's end was written before scoring (a status is written once): only fill in its results
        end = {} if stopped else {"status": res.status}
        store.update(
            rec.id,
            **end,
            metrics=metrics,
            test_accuracy=res.test_accuracy,
            train_seconds=res.train_seconds,
            message=_english(res.message, res.message_args),
        )
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


def _check_kinds(spec: dict, info) -> None:
    """A text model on images (or the reverse) gets a plain message before anything is built."""
    starts_with_embedding = spec["layers"][0]["type"] == "embedding"
    if starts_with_embedding and not is_text_data(info):
        raise SpecError(
            "This model starts with an Embedding layer, which reads token ids, but {dataset} holds "
            "images. Pick a text dataset (rt-polarity, zh-reviews) or an image model.",
            layer=0,
            dataset=info.name,
        )
    if is_text_data(info) and not starts_with_embedding:
        raise SpecError(
            "{dataset} holds sentences, so the model must start with an Embedding layer that turns "
            "token ids into vectors (e.g. the lstm, gru, transformer, kim-cnn or bag preset).",
            layer=0,
            dataset=info.name,
        )


def _capped(text_data, rows: int):
    """``text_data`` with its vocabulary cut to its ``rows`` most frequent entries (ids past it become UNK)."""
    from dataclasses import replace

    from dlviz.data.tokenize import UNK, Vocab

    v = text_data.vocab
    vocab = Vocab(v.itos[:rows], v.language, v.freqs[:rows], v.n_types)

    def cut(x):
        return x.masked_fill(x >= rows, UNK)

    return replace(text_data, vocab=vocab, train_x=cut(text_data.train_x), test_x=cut(text_data.test_x))


def _embedding_rows(spec: dict) -> int | None:
    for layer in spec["layers"]:
        if layer["type"] == "embedding":
            return int(layer["vocab"])
    return None


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "\u2026"


def _baseline(text_data, cfg: TrainConfig) -> dict | None:
    """The classic TF-IDF + logistic regression baseline on the deep model's own training sentences
    (the same split and --limit, validation sentences left out) and the same test sentences."""
    from dlviz.train.baseline import tfidf_baseline

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
            store.update(res.run_id, status="failed", message=_english(res.message, res.message_args), metrics=metrics)
        except DlvizError:
            pass


def is_text_run(rec) -> bool:
    if rec.settings.get("kind") == "text":
        return True
    try:
        return is_text_data(get_info(rec.dataset))
    except DlvizError:
        return False


def load_vocab(store: RunStore, rec):
    """The vocabulary saved with text run ``rec`` (RunError if it is missing or damaged)."""
    from dlviz.data.tokenize import Vocab

    raw = store.load_record(rec.id, "vocab")
    if raw is None:
        raise RunError(
            "Run {run_id} has no saved vocabulary, so a typed sentence cannot be turned into "
            "the token ids it was trained on. Train the model again.",
            run_id=rec.id,
        )
    try:
        return Vocab.from_json(raw)
    except DlvizError:
        raise RunError(
            "The vocabulary saved with run {run_id} is damaged. Train the model again.", run_id=rec.id
        ) from None


def run_max_len(rec) -> int:
    """The sequence length a text run was trained with."""
    n = rec.settings.get("max_len")
    if isinstance(n, int) and n > 0:
        return n
    return int(get_info(rec.dataset).max_len)


def load_run(run_id: str, store: RunStore, device: str = "cpu", with_vocab: bool = False):
    """(model in eval mode, record) for a saved run: validated spec + safetensors, never a pickle.

    ``with_vocab=True`` returns (model, record, vocab): the vocabulary saved with a text run (to encode
    a typed sentence exactly as the training data was), None for an image run.
    """
    from dlviz.runs import load_state_into

    rec = store.get(run_id)
    vocab = None
    if is_text_run(rec):
        vocab = load_vocab(store, rec)
        classes = rec.settings.get("classes") or list(get_info(rec.dataset).classes)
        model = build(rec.spec, (run_max_len(rec),), len(classes), input_dtype=torch.long, budget=False).module
    else:
        info = get_info(rec.dataset)
        model = build(rec.spec, info.input_shape, info.num_classes, budget=False).module
    load_state_into(model, store.load_weights(run_id))
    model = model.to(resolve_device(device)).eval()
    return (model, rec, vocab) if with_vocab else (model, rec)


def evaluate_run(run_id: str, store: RunStore, data_dir: str | None = None, device: str = "cpu") -> dict:
    """Test loss and accuracy of a saved run's weights on its dataset's full test set.

    A text run's test sentences are encoded with the vocabulary saved with the run."""
    model, rec, vocab = load_run(run_id, store, device, with_vocab=True)
    d = load_dataset(rec.dataset, data_dir)
    dev = next(model.parameters()).device
    if vocab is not None:
        from dlviz.data.tokenize import encode_batch

        x, transform = encode_batch(d.test_texts, vocab, run_max_len(rec))[0], text_transform
    else:
        x, transform = d.test_x, image_transform
    loss, acc = evaluate(model, x.to(dev), d.test_y.to(dev), transform)
    return {
        "run_id": run_id,
        "test_accuracy": acc,
        "test_loss": loss,
        "test_size": len(d.test_y),
        "dataset": rec.dataset,
        "data_source": d.source,
    }
