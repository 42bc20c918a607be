"""Compress a saved run: prune, quantise to int8, distil a student; measure each variant; save each as a run.

``compress_run(request, store)`` is what the CLI verb and the Compress page call. From the run (the *original*):

- ``prune > 0`` makes the *pruned* variant (magnitude pruning, global or per layer, zeros made permanent);
- ``quantize="int8"`` makes the *int8* variant of the pruned one (or of the original when nothing was pruned);
- ``distil=PRESET`` trains a student of that preset on the original's soft targets (a separate branch).

Every variant is a run of its own (status finished, ``settings["compression"]`` names its ``parent`` run, the
``origin`` it all came from, and what was done), so the look-inside pages open it like any run. An int8 run keeps
two files: ``int8.safetensors``, the int8 model itself (its size is the one reported), and ``weights.safetensors``,
the float numbers its int8 weights stand for (integer times scale), which the look-inside pages read; they say so.

Each variant, and the original, is measured once, at the end, on the dataset's whole test set: accuracy, the bytes
of its file, the parameters that are not zero, and the median CPU time of one image (batch 1) with ``threads`` torch
threads. The numbers are kept in the run (``metrics["compress"]``); the original's in ``compress-original.json``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from dlviz.compress.distil import ALPHA, TEMPERATURE, distil
from dlviz.compress.measure import LATENCY_REPEATS, accuracy, latency_ms
from dlviz.compress.prune import nonzero, prune_model, sparsity, zipped_size
from dlviz.compress.quant import FLOAT, FLOAT_REASONS, dequantized_state, int8_tensors, load_int8, quantize, skeleton
from dlviz.data import load_dataset
from dlviz.data.split import split_indices
from dlviz.defaults import SPLIT_SEED, VAL_FRACTION
from dlviz.errors import RunError, SpecError
from dlviz.i18n import N_, translate
from dlviz.modality import IMAGE, modality_of
from dlviz.models import PRESETS, build
from dlviz.runs import RunRecord, RunStore, load_state_into
from dlviz.tasks import CLASSIFICATION, task_of_spec

INT8_FILE = "int8.safetensors"
ORIGINAL_RECORD = "compress-original"
CALIBRATION_IMAGES = 300
DISTIL_EPOCHS = 3
QUANTIZE_CHOICES = ("int8",)

Progress = Callable[[float, str, dict], None]  # (share done, N_ template, its arguments)


@dataclass
class Request:
    run_id: str
    prune: float = 0.0
    per_layer: bool = False
    structured: bool = False  # whole filters / units (each layer alone) instead of single weights
    quantize: str | None = None  # "int8" or None
    distil: str | None = None  # a preset key, or None
    distil_epochs: int = DISTIL_EPOCHS
    threads: int = 1
    data_dir: str | None = None
    train_limit: int | None = None  # distil on this many training images (tests, quick demos); None: all
    test_limit: int | None = None  # tests only: measure on the first N test images; None: the whole test set
    calibration: int = CALIBRATION_IMAGES
    owner: str = ""  # dlviz.classroom.Person.id of who compresses: the variants are theirs ('' alone)


@dataclass
class Measure:
    """One model's numbers."""

    run_id: str
    label: str  # "original", "pruned", "int8", "pruned + int8", "student (mlp)", ...
    accuracy: float
    size_bytes: int
    zipped_bytes: int
    params: int
    nonzero_params: int
    latency_ms: float
    threads: int
    test_size: int
    parent: str | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "label": self.label,
            "accuracy": self.accuracy,
            "size_bytes": self.size_bytes,
            "zipped_bytes": self.zipped_bytes,
            "params": self.params,
            "nonzero_params": self.nonzero_params,
            "latency_ms": self.latency_ms,
            "threads": self.threads,
            "latency_repeats": LATENCY_REPEATS,
            "test_size": self.test_size,
            "parent": self.parent,
            **self.details,
        }


def student_presets() -> list[str]:
    """The presets a student may be: the image classifiers (an autoencoder cannot learn class probabilities)."""
    return [k for k, p in PRESETS.items() if p.input == "image" and task_of_spec(p.spec) is CLASSIFICATION]


def label_of(comp: dict) -> tuple[str, dict]:
    """(N_ template, arguments) naming a variant from its ``settings["compression"]``; {} is the original."""
    if comp.get("distil"):
        return N_("student ({preset})"), {"preset": comp["distil"]}
    share = f"{float(comp.get('prune', 0)):.0%}"
    if comp.get("quantize") == "int8":
        return (N_("pruned {share} + int8"), {"share": share}) if comp.get("prune") else (N_("int8"), {})
    if comp.get("prune"):
        how = (
            N_("whole filters")
            if comp.get("structured")
            else N_("per layer")
            if comp.get("per_layer")
            else N_("global")
        )
        return N_("pruned {share} ({how})"), {"share": share, "how": how}
    return N_("original"), {}


def label_text(comp: dict, lang: str = "en") -> str:
    """A variant's name in ``lang`` (its ``how`` word translated too)."""
    template, args = label_of(comp)
    return translate(template, lang, **{k: translate(v, lang) if k == "how" else v for k, v in args.items()})


def compression_of(rec: RunRecord) -> dict:
    """What made run ``rec`` (``settings["compression"]``), or {} for a trained run."""
    comp = rec.settings.get("compression") if isinstance(rec.settings, dict) else None
    return comp if isinstance(comp, dict) else {}


def is_int8(rec: RunRecord) -> bool:
    return compression_of(rec).get("quantize") == "int8"


def origin_of(rec: RunRecord) -> str:
    return compression_of(rec).get("origin") or rec.id


def variants(store: RunStore, run_id: str) -> list[RunRecord]:
    """The finished variants made from ``run_id`` (directly or through another variant), oldest first."""
    out = [
        r
        for r in store.list(skip_damaged=True)
        if r.status == "finished" and compression_of(r).get("origin") == run_id and r.id != run_id
    ]
    return sorted(out, key=lambda r: r.created)


def check_run(store: RunStore, run_id: str) -> RunRecord:
    """The run to compress, or a RunError saying in one sentence why it cannot be."""
    try:
        rec = store.get(run_id)
    except RunError:
        raise RunError("There is no run {run_id}: list the runs with python -m dlviz runs.", run_id=run_id) from None
    if modality_of(rec) is not IMAGE or task_of_spec(rec.spec) is not CLASSIFICATION:
        raise RunError(
            "Run {run_id} is not an image classifier: compression works on the image classifiers (MLP, CNN, "
            "ResNet, LSTM over rows).",
            run_id=run_id,
        )
    if not store.has_weights(run_id):
        raise RunError("Run {run_id} has no saved weights, so there is nothing to compress.", run_id=run_id)
    return rec


def _float_model(rec: RunRecord, spec: dict | None = None) -> nn.Module:
    shape, classes = IMAGE.run_input(rec)
    return build(spec or rec.spec, shape, classes, budget=False).module.eval()


def load_model(store: RunStore, rec: RunRecord) -> nn.Module:
    """The model of run ``rec`` on the CPU in eval mode: for an int8 run its int8 model (``int8.safetensors``)."""
    model = _float_model(rec)
    if not is_int8(rec):
        load_state_into(model, store.load_weights(rec.id))
        return model.eval()
    shape, _ = IMAGE.run_input(rec)
    q = skeleton(model, shape)
    try:
        return load_int8(q, store.load_weights(rec.id, INT8_FILE))
    except ValueError as e:
        raise RunError(
            "The int8 file of run {run_id} does not fit its model ({detail}): compress the original run again.",
            run_id=rec.id,
            detail=str(e),
        ) from None


def file_of(store: RunStore, rec: RunRecord):
    return store.folder(rec.id) / (INT8_FILE if is_int8(rec) else "weights.safetensors")


def _measure(store, rec, model, data, x1, req: Request, label: str, parent: str | None, details=None) -> Measure:
    path = file_of(store, rec)
    blob = path.read_bytes()
    test_x, test_y = data
    tensors = store.load_weights(rec.id)  # the float numbers (an int8 run's: its int8 weights as floats)
    return Measure(
        run_id=rec.id,
        label=label,
        accuracy=accuracy(model, test_x, test_y, IMAGE.transform),
        size_bytes=len(blob),
        zipped_bytes=zipped_size(blob),
        params=int(sum(t.numel() for t in tensors.values() if t.is_floating_point())),
        nonzero_params=nonzero(tensors),
        latency_ms=latency_ms(model, x1, req.threads),
        threads=req.threads,
        test_size=len(test_y),
        parent=parent,
        details=dict(details or {}),
    )


def _new_run(
    store: RunStore, origin: RunRecord, parent: RunRecord, label: str, spec: dict, comp: dict, params: int, owner: str
):
    settings = {
        **{k: v for k, v in origin.settings.items() if k != "compression"},
        "compression": {**comp, "parent": parent.id, "origin": origin.id, "label": label},
    }
    name = f"{origin.name} · {label}"[:200]
    return store.create(
        name=name, dataset=origin.dataset, spec=spec, settings=settings, device="cpu", params=params, owner=owner
    )


def _finish(store: RunStore, rec: RunRecord, m: Measure, original: dict) -> RunRecord:
    # the original's numbers ride along: in a class a student may compress a run that is not theirs to write to
    metrics = {"compress": m.to_dict(), "compress_original": original}
    store.update(rec.id, status="finished", test_accuracy=m.accuracy, metrics=metrics, message="")
    return store.get(rec.id)


def _fail(store: RunStore, rec: RunRecord, exc: BaseException) -> None:
    try:
        store.update(rec.id, status="failed", message=str(exc))
    except RunError:
        pass


def compress_run(req: Request, store: RunStore | None = None, progress: Progress | None = None) -> dict:
    """Make, measure and save the variants ``req`` asks for. Returns {"original": ..., "variants": [...],
    "result": the last variant's numbers, "threads": ...}. Raises DlvizError with a plain sentence."""
    store = store or RunStore()
    say = progress or (lambda share, template, args: None)
    if not 0.0 <= req.prune < 1.0:
        raise RunError("The share of weights to prune must be between 0 and 0.99 (0.5 prunes half).")
    if req.quantize not in (None, *QUANTIZE_CHOICES):
        raise RunError("Quantisation can be int8 only, not {q}.", q=str(req.quantize))
    if req.distil is not None and req.distil not in student_presets():
        raise SpecError(
            "The student must be an image preset ({known}), not {name}.",
            known=", ".join(student_presets()),
            name=str(req.distil),
        )
    if req.prune == 0.0 and req.quantize is None and req.distil is None:
        raise RunError("Nothing to do: ask for pruning, int8 or a student to distil.")
    origin = check_run(store, req.run_id)
    if compression_of(origin):
        raise RunError(
            "Run {run_id} is itself a compressed variant of run {origin}: compress the original run instead.",
            run_id=origin.id,
            origin=origin_of(origin),
        )
    say(0.02, N_("Loading {dataset}..."), {"dataset": origin.dataset})
    raw = load_dataset(origin.dataset, req.data_dir)
    n_test = len(raw.test_y) if req.test_limit is None else min(len(raw.test_y), int(req.test_limit))
    test = (raw.test_x[:n_test], raw.test_y[:n_test])
    val_fraction = float(origin.settings.get("val_fraction", VAL_FRACTION))
    tr, _ = split_indices(len(raw.train_y), val_fraction, seed=SPLIT_SEED)
    if req.train_limit is not None:
        tr = tr[: int(req.train_limit)]
    x1 = IMAGE.transform(raw.test_x[:1])

    teacher = load_model(store, origin)
    out_variants: list[Measure] = []

    say(0.05, N_("Measuring the original run on {n} test images..."), {"n": n_test})
    original = store.load_record(origin.id, ORIGINAL_RECORD)
    if not _same_measure(original, n_test, req.threads):
        original = _measure(store, origin, teacher, test, x1, req, "original", None).to_dict()
        try:
            store.save_record(origin.id, ORIGINAL_RECORD, original)
        except RunError:  # a run this person may read but not change (a lesson's shared run in a class)
            pass

    current, current_model, chain = origin, teacher, []
    if req.prune > 0:
        how = "whole filters" if req.structured else "per layer" if req.per_layer else "global"
        say(0.2, N_("Pruning {share} of the weights ({how})..."), {"share": f"{req.prune:.0%}", "how": how})
        model = prune_model(copy.deepcopy(teacher), req.prune, req.per_layer, req.structured)
        comp = {
            "prune": req.prune,
            "per_layer": bool(req.per_layer or req.structured),
            "structured": bool(req.structured),
            "sparsity": sparsity(model),
        }
        label = label_text(comp)
        rec = _new_run(store, origin, current, label, origin.spec, comp, nonzero(model), req.owner)
        try:
            store.save_weights(rec.id, model.state_dict())
            say(0.3, N_("Measuring the pruned model on the test set..."), {})
            m = _measure(store, rec, model, test, x1, req, label, current.id, {"sparsity": comp["sparsity"]["all"]})
        except BaseException as e:
            _fail(store, rec, e)
            raise
        current, current_model = _finish(store, rec, m, original), model
        chain.append("pruned")
        out_variants.append(m)

    if req.quantize == "int8":
        label = label_text({"quantize": "int8", "prune": req.prune if chain else 0})
        say(
            0.45, N_("Quantising to int8 (calibrating on {n} training images)..."), {"n": min(req.calibration, len(tr))}
        )
        calib = IMAGE.transform(raw.train_x[tr[: req.calibration]])
        qmodel, rows = quantize(current_model, calib)
        comp = {
            "quantize": "int8",
            "calibration_images": int(len(calib)),
            "layers": [r.to_dict() for r in rows],
            "float_layers": [{"name": r.name, "why": FLOAT_REASONS[r.reason]} for r in rows if r.how == FLOAT],
            "engine": torch.backends.quantized.engine,
        }
        if chain:
            comp.update(prune=req.prune, per_layer=bool(req.per_layer or req.structured), structured=req.structured)
        rec = _new_run(store, origin, current, label, origin.spec, comp, nonzero(current_model), req.owner)
        try:
            store.save_weights(rec.id, int8_tensors(qmodel), INT8_FILE)
            store.save_weights(rec.id, dequantized_state(current_model, qmodel))
            say(0.55, N_("Measuring the int8 model on the test set..."), {})
            m = _measure(store, rec, qmodel, test, x1, req, label, current.id, {"layers": comp["layers"]})
        except BaseException as e:
            _fail(store, rec, e)
            raise
        current = _finish(store, rec, m, original)
        out_variants.append(m)

    if req.distil:
        label = label_text({"distil": req.distil})
        spec = PRESETS[req.distil].copy_spec()
        shape, classes = IMAGE.run_input(origin)
        student = build(spec, shape, classes, seed=42).module
        say(
            0.65,
            N_("Distilling a {preset} student ({epochs} epochs on {n} training images)..."),
            {
                "preset": req.distil,
                "epochs": req.distil_epochs,
                "n": len(tr),
            },
        )

        def step(share: float, loss: float) -> None:
            say(
                0.65 + 0.3 * share,
                N_("Distilling: {share} done, loss {loss}"),
                {
                    "share": f"{share:.0%}",
                    "loss": f"{loss:.4f}",
                },
            )

        losses = distil(
            teacher, student, raw.train_x[tr], raw.train_y[tr], IMAGE.transform, req.distil_epochs, progress=step
        )
        comp = {
            "distil": req.distil,
            "temperature": TEMPERATURE,
            "alpha": ALPHA,
            "epochs": req.distil_epochs,
            "train_images": int(len(tr)),
            "losses": losses,
        }
        params = sum(p.numel() for p in student.parameters())
        rec = _new_run(store, origin, origin, label, spec, comp, params, req.owner)
        try:
            store.save_weights(rec.id, student.state_dict())
            say(0.96, N_("Measuring the student on the test set..."), {})
            m = _measure(store, rec, student, test, x1, req, label, origin.id)
        except BaseException as e:
            _fail(store, rec, e)
            raise
        _finish(store, rec, m, original)
        out_variants.append(m)

    say(1.0, N_("Done."), {})
    result = out_variants[-1].to_dict() if out_variants else original
    if req.distil and (req.prune > 0 or req.quantize):  # the result is the prune/int8 chain's end; the student too
        result = next(v.to_dict() for v in reversed(out_variants) if not v.label.startswith("student"))
    return {
        "run_id": origin.id,
        "original": original,
        "result": result,
        "variants": [v.to_dict() for v in out_variants],
        "threads": req.threads,
        "torch_threads_note": "latency_ms: median of one image (batch 1) on the CPU with this many torch threads",
    }


@torch.no_grad()
def evaluate_int8(run_id: str, store: RunStore, data_dir: str | None = None) -> dict:
    """``python -m dlviz evaluate`` for an int8 run: its int8 model (not the float stand-in the pages open) on the
    whole test set, in the keys of ``dlviz.train.evaluate_run``."""
    rec = store.get(run_id)
    model = load_model(store, rec)
    d = load_dataset(rec.dataset, data_dir)
    loss, right = 0.0, 0
    for s in range(0, len(d.test_y), 500):
        out = model(IMAGE.transform(d.test_x[s : s + 500]))
        y = d.test_y[s : s + 500]
        loss += float(torch.nn.functional.cross_entropy(out, y, reduction="sum"))
        right += int((out.argmax(1) == y).sum())
    n = len(d.test_y)
    return {
        "run_id": run_id,
        "test_accuracy": right / n,
        "test_loss": loss / n,
        "test_size": n,
        "dataset": rec.dataset,
        "data_source": d.source,
        "model": "int8",
    }


def _same_measure(saved, n_test: int, threads: int) -> bool:
    return isinstance(saved, dict) and saved.get("test_size") == n_test and saved.get("threads") == threads


def chart_points(store: RunStore, run_id: str) -> list[dict]:
    """The chart's points for run ``run_id``: its own numbers (when measured) and every variant's."""
    out = []
    saved = store.load_record(run_id, ORIGINAL_RECORD)
    made = variants(store, run_id)
    if not isinstance(saved, dict):  # not kept in the original's folder: the newest variant's copy
        saved = next((r.metrics.get("compress_original") for r in reversed(made) if isinstance(r.metrics, dict)), None)
    if isinstance(saved, dict):
        out.append(saved)
    for r in made:
        m = r.metrics.get("compress") if isinstance(r.metrics, dict) else None
        if isinstance(m, dict):
            out.append({**m, "name": r.name})
    return out


__all__ = [
    "evaluate_int8",
    "student_presets",
    "CALIBRATION_IMAGES",
    "INT8_FILE",
    "ORIGINAL_RECORD",
    "QUANTIZE_CHOICES",
    "Measure",
    "Request",
    "chart_points",
    "check_run",
    "compress_run",
    "compression_of",
    "label_of",
    "label_text",
    "file_of",
    "is_int8",
    "load_model",
    "origin_of",
    "variants",
]
