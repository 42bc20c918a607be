"""Command line: ``python -m dlviz train | runs | evaluate | inspect | explain | attention | data | bench train``.

Every problem a user can cause prints one plain sentence (in $DLVIZ_LANG) and exits with status 2;
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from dlviz.defaults import VAL_FRACTION
from dlviz.errors import DlvizError, SpecError
from dlviz.i18n import t
from dlviz.limits import fmt_bytes, limits


def _spec_from(arg: str) -> dict:
    from dlviz.models import PRESETS, normalize

    if arg in PRESETS:
        return PRESETS[arg].copy_spec()
    path = Path(arg)
    if not path.suffix.lower() == ".json" and not path.exists():
        raise SpecError(
            "'{arg}' is neither a preset ({known}) nor a JSON spec file.", arg=arg, known=", ".join(PRESETS)
        )
    try:
        if path.stat().st_size > limits().json_bytes:  # not read at all: normalize() would refuse it anyway
            raise SpecError(
                "This model spec is {size}; specs up to {most} are read. A model's JSON is usually "
                "under 5 KB: check that this is the right file.",
                size=fmt_bytes(path.stat().st_size),
                most=fmt_bytes(limits().json_bytes),
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError("Cannot read the spec file {path}: {detail}", path=str(path), detail=str(e)) from None
    return normalize(text)


def _fmt_time(s: float) -> str:
    return f"{int(s // 60)}:{int(s % 60):02d}" if s == s and s < 1e7 else "-"


def cmd_train(a: argparse.Namespace) -> int:
    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import Listener, TrainConfig, TrainJob, run_job
    from dlviz.train.runner import recipe_for

    spec = _spec_from(a.model)
    # the preset's own recipe (epochs; for text presets also lr, batch size, weight decay), then the flags
    recipe = recipe_for(a.model if a.model in PRESETS else None, a.dataset)
    chosen = {
        k: v
        for k, v in (
            ("epochs", a.epochs),
            ("lr", a.lr),
            ("batch_size", a.batch_size),
            ("weight_decay", a.weight_decay),
            ("schedule", a.schedule),
            ("optimizer", a.optimizer),
        )
        if v is not None
    }
    cfg = TrainConfig(
        **{
            **recipe,
            **chosen,
            "seed": a.seed,
            "device": a.device,
            "limit": a.limit,
            "val_fraction": a.val_fraction,
            "precision": a.precision,
        }
    )
    quiet = a.json and not sys.stderr.isatty()

    class Console(Listener):
        last = 0.0

        shown = -1

        def on_status(self, status, text="", **args):
            fraction = args.get("fraction")
            if fraction is not None:  # a download: one line per 10%
                tenth = int(fraction * 10)
                if tenth > self.shown:
                    self.shown = tenth
                    print(t("  downloading: {pct:.0%} {text}", pct=fraction, text=text), file=sys.stderr)
            elif text and status in ("loading", "testing"):
                print(t(text, **args), file=sys.stderr)

        def on_created(self, run_id, params, device, source):
            print(
                t(
                    "Run {run_id}: {params:,} parameters on {device}. Data: {source}",
                    run_id=run_id,
                    params=params,
                    device=device,
                    source=t(source[0], **source[1]),
                ),
                file=sys.stderr,
            )

        def on_progress(self, p, history):
            now = time.monotonic()
            if p.phase == "epoch_end":
                print(
                    t(
                        "epoch {epoch}/{epochs}  loss {loss:.4f}  acc {acc:.4f}  val_loss {vl:.4f}  val_acc {va:.4f}"
                        "  {sps:,.0f} samples/s",
                        epoch=p.epoch,
                        epochs=p.epochs,
                        loss=p.train_loss,
                        acc=p.train_acc,
                        vl=p.val_loss if p.val_loss is not None else float("nan"),
                        va=p.val_acc if p.val_acc is not None else float("nan"),
                        sps=p.samples_per_s,
                    ),
                    file=sys.stderr,
                )
            elif not quiet and now - self.last > 2:
                self.last = now
                print(
                    t(
                        "  step {step}/{total}  loss {loss:.4f}  {sps:,.0f} samples/s  about {eta} left",
                        step=p.step,
                        total=p.total_steps,
                        loss=p.train_loss,
                        sps=p.samples_per_s,
                        eta=_fmt_time(p.eta_s),
                    ),
                    file=sys.stderr,
                )

    job = TrainJob(a.dataset, spec, cfg, name=a.name or "", data_dir=a.data_dir, baseline=not a.no_baseline)
    res = run_job(job, RunStore(), Console())
    if res.message:
        print(t(res.message, **res.message_args), file=sys.stderr)
    if res.test_accuracy is not None:
        print(
            t(
                "Test accuracy: {acc:.2%} ({epochs} epochs, {secs:.1f} s of training on {device}). Run id: {run_id}",
                acc=res.test_accuracy,
                epochs=res.epochs,
                secs=res.train_seconds,
                device=res.device,
                run_id=res.run_id,
            ),
            file=sys.stderr,
        )
    bl = res.baseline
    if bl is not None:
        print(
            t(
                "Classic baseline, {name} ({features}): {acc:.2%} on the same test sentences ({secs:.1f} s).",
                name=t(bl["name"]),
                features=t(bl["features"]),
                acc=bl["test_accuracy"],
                secs=bl["seconds"],
            ),
            file=sys.stderr,
        )
        from dlviz.train.baseline import comparison

        said = comparison(bl["test_accuracy"], res.test_accuracy, bl.get("train_size", 0))
        if said is not None:
            print(t(said[0], **said[1]), file=sys.stderr)
    if a.json:
        out = {
            "run_id": res.run_id,
            "status": res.status,
            "test_accuracy": res.test_accuracy,
            "test_loss": res.test_loss,
            "epochs": res.epochs,
            "steps": res.steps,
            "train_seconds": round(res.train_seconds, 3),
            "device": res.device,
            "precision": res.precision,
            "params": res.params,
            "dataset": a.dataset,
            "model": a.model,
            "message": t(res.message, **res.message_args) if res.message else "",
        }
        if bl is not None or _is_text_dataset(a.dataset):
            out["baseline_test_accuracy"] = bl["test_accuracy"] if bl is not None else None
            out["baseline_seconds"] = round(bl["seconds"], 3) if bl is not None else None
        print(json.dumps(out))
    return 0 if res.status == "finished" else (1 if res.status == "stopped" else 2)


def _is_text_dataset(name: str) -> bool:
    from dlviz.data import get_info

    try:
        return get_info(name).kind == "text"
    except DlvizError:
        return False


def cmd_runs(a: argparse.Namespace) -> int:
    from dlviz.runs import RunStore

    if a.rebuild:
        out = RunStore().rebuild_index()
        if out["backup"]:
            print(t("The old run index was kept as {path}.", path=out["backup"]))
        print(t("The run index was rebuilt from the run folders: {n} runs.", n=out["runs"]))
        if out["skipped"]:
            print(t("Folders without a readable run.json, left out: {names}", names=", ".join(out["skipped"])))
        return 0
    runs = RunStore().list(limit=a.limit)
    if a.json:
        print(
            json.dumps(
                [
                    {
                        "run_id": r.id,
                        "name": r.name,
                        "status": r.status,
                        "dataset": r.dataset,
                        "test_accuracy": r.test_accuracy,
                        "params": r.params,
                        "device": r.device,
                        "train_seconds": r.train_seconds,
                        "created": r.created,
                        "epochs": r.settings.get("epochs"),
                    }
                    for r in runs
                ]
            )
        )
        return 0
    if not runs:
        print(t("No runs yet. Train one with: python -m dlviz train --dataset mnist --model mlp"))
        return 0
    print(f"{'RUN ID':<22} {'STATUS':<11} {'DATASET':<14} {'TEST ACC':>8}  NAME")
    for r in runs:
        acc = f"{r.test_accuracy:.2%}" if r.test_accuracy is not None else "-"
        print(f"{r.id:<22} {r.status:<11} {r.dataset:<14} {acc:>8}  {r.name}")
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from dlviz.runs import RunStore
    from dlviz.train import evaluate_run

    out = evaluate_run(a.run, RunStore(), a.data_dir, a.device)
    if a.json:
        print(json.dumps(out))
    else:
        print(
            t(
                "Run {run_id}: test accuracy {acc:.2%} on {n:,} {dataset} test images.",
                run_id=a.run,
                acc=out["test_accuracy"],
                n=out["test_size"],
                dataset=out["dataset"],
            )
        )
    return 0


def _run_and_image(a: argparse.Namespace):
    """The saved run (at the replay point ``--at``), its class names and test image ``--index`` as (1, 28, 28)."""
    from dlviz.data import load_dataset
    from dlviz.errors import DataError
    from dlviz.runs import RunStore
    from dlviz.train import image_transform, load_run

    store = RunStore()
    model, rec = load_run(a.run, store, a.device)
    from dlviz.train.runner import is_text_run

    if is_text_run(rec):
        from dlviz.errors import RunError

        raise RunError(
            "Run {run_id} reads sentences ({dataset}), not images. For a text run use: python -m dlviz "
            "attention --run {run_id} --text \"...\"",
            run_id=a.run,
            dataset=rec.dataset,
        )
    _replay(store, model, a.run, a.at)
    data = load_dataset(rec.dataset, a.data_dir)
    if not 0 <= a.index < len(data.test_y):
        raise DataError(
            "Test image {index} does not exist: {name} has test images 0 to {last}.",
            index=a.index,
            name=data.info.name,
            last=len(data.test_y) - 1,
        )
    x = image_transform(data.test_x[a.index : a.index + 1])[0]  # (1, 28, 28) in [0, 1]
    return model, list(data.info.classes), x, int(data.test_y[a.index])


def _replay(store, model, run_id: str, at: str | None) -> None:
    """Load the weights saved at replay point ``at`` (None: keep the final weights)."""
    if not at:
        return
    from dlviz.errors import RunError
    from dlviz.runs import load_state_into

    tags = store.list_snapshots(run_id)
    if at not in tags:
        raise RunError(
            "Run {run_id} has no weights saved at {tag}. It has: {tags}.",
            run_id=run_id,
            tag=at,
            tags=", ".join(tags) or "-",
        )
    load_state_into(model, store.load_snapshot(run_id, at))


def attention_for_text(model, vocab, max_len: int, text: str) -> dict:
    """Tokens, prediction and every layer's and head's attention (pads dropped) for one typed text."""
    import torch

    from dlviz.errors import DataError
    from dlviz.inspect.attention import attention_maps
    from dlviz.modality.text import encode_sentence

    if not text.strip():
        raise DataError("The text is empty. Type a sentence, for example --text \"a gripping, funny film\".")
    sentence = encode_sentence(vocab, text, max_len)
    if sentence.empty:
        raise DataError(
            "The text has no characters the model can read (only invisible or control characters). Type a sentence."
        )
    kept, ids = sentence.tokens, sentence.ids
    keep, maps = attention_maps(model, ids)
    maps = maps[:, :, keep][:, :, :, keep]  # (layers, heads, T, T), real tokens only
    with torch.no_grad():
        probs = torch.softmax(model(ids.unsqueeze(0).to(next(model.parameters()).device)).float(), 1)[0].cpu()
    pred = int(probs.argmax())
    unk = vocab.UNK
    return {
        "tokens": kept,
        "ids": ids[keep].tolist(),
        "unknown": [i == unk for i in ids[keep].tolist()],
        "total_tokens": sentence.total,
        "truncated": sentence.truncated,
        "max_len": max_len,
        "layers": int(maps.shape[0]),
        "heads": int(maps.shape[1]),
        "attention": [[[[round(v, 6) for v in row] for row in head] for head in layer] for layer in maps.tolist()],
        "prediction_index": pred,
        "probability": float(probs[pred]),
        "probabilities": [float(p) for p in probs],
    }


def cmd_attention(a: argparse.Namespace) -> int:
    from dlviz.errors import RunError
    from dlviz.inspect.attention import attention_layers
    from dlviz.runs import RunStore
    from dlviz.train import load_run
    from dlviz.train.runner import run_max_len

    store = RunStore()
    model, rec, vocab = load_run(a.run, store, a.device, with_vocab=True)
    if vocab is None:
        raise RunError(
            "Run {run_id} was trained on images ({dataset}); attention maps need a text run with a "
            "transformer, e.g.: python -m dlviz train --dataset rt-polarity --model transformer",
            run_id=a.run,
            dataset=rec.dataset,
        )
    if not attention_layers(model):
        raise RunError(
            "Run {run_id} ({model}) has no transformer layer, so it has no attention to show. Train "
            "one with: python -m dlviz train --dataset {dataset} --model transformer",
            run_id=a.run,
            model=rec.spec.get("name", "model"),
            dataset=rec.dataset,
        )
    _replay(store, model, a.run, a.at)
    res = attention_for_text(model, vocab, run_max_len(rec), a.text)
    classes = rec.settings.get("classes") or []
    pred = res["prediction_index"]
    name = classes[pred] if pred < len(classes) else str(pred)
    out = {"run_id": a.run, "at": a.at or "final", "prediction": name, **res, "classes": list(classes)}
    if res["truncated"]:
        out["notice"] = t(
            "The text has {total} tokens; the model reads only the first {max_len}.",
            total=res["total_tokens"],
            max_len=res["max_len"],
        )
    if a.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if "notice" in out:
        print(out["notice"])
    print(t("Predicted {pred} with probability {p:.1%}.", pred=t(name), p=out["probability"]))
    print(t("Tokens: {tokens}", tokens=" | ".join(out["tokens"])))
    toks = out["tokens"]
    for li, layer in enumerate(out["attention"]):
        for hi, head in enumerate(layer):
            pairs = "  ".join(
                f"{toks[i]}->{toks[max(range(len(row)), key=row.__getitem__)]}" for i, row in enumerate(head)
            )
            print(t("layer {layer} head {head}: {pairs}", layer=li + 1, head=hi + 1, pairs=pairs))
    return 0


def cmd_inspect(a: argparse.Namespace) -> int:
    from dlviz.inspect import activations, summarize

    model, _, x, label = _run_and_image(a)
    layers, probs = activations(model, x)
    pred = int(probs.argmax())
    out = {
        "run_id": a.run,
        "at": a.at or "final",
        "index": a.index,
        "label": label,
        "prediction": pred,
        "probability": float(probs[pred]),
        "layers": summarize(layers),
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(
            t(
                "Test image {index} (label {label}): predicted {pred} with probability {p:.1%}.",
                index=a.index,
                label=out["label"],
                pred=pred,
                p=out["probability"],
            )
        )
        for layer in out["layers"]:
            print(
                f"  {layer['name']:<14} {str(tuple(layer['shape'])):<16} mean {layer['mean']:+.4f}  "
                f"zeros {layer['fraction_zero']:.0%}"
            )
    return 0


def _setting(text: str) -> tuple[str, object]:
    from dlviz.errors import ExplainError

    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ExplainError("Write a setting as NAME=VALUE (e.g. steps=100), not '{text}'.", text=text)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


def explain_checks(model, x, target: int, method: str, res, contrast, settings: dict, shuffled=None) -> dict:
    """The sanity checks of one explanation as plain JSON (rules: docs/explain-checks.md)."""
    from dlviz.explain.checks import report

    return report(model, x, target, method, res, contrast, settings, shuffled)


SHUFFLED_IMAGES, SHUFFLED_EPOCHS = 3000, 2  # the Explain page's data-randomisation test, the same size


def _shuffled_model(a: argparse.Namespace, model):
    """The run's architecture trained on its dataset's first ``--data-randomisation`` training images, labels
    shuffled (SHUFFLED_EPOCHS epochs, as the Explain page does)."""
    from dlviz.data import load_dataset
    from dlviz.explain.checks import shuffled_label_model
    from dlviz.runs import RunStore
    from dlviz.train import DeviceData, image_transform

    data = load_dataset(RunStore().get(a.run).dataset, a.data_dir)
    device = next(model.parameters()).device
    n = int(a.data_randomisation)
    if n < 10:
        from dlviz.errors import ExplainError

        raise ExplainError("The shuffled-label model needs at least 10 training images, not {n}.", n=n)
    x, y = data.train_x[:n].to(device), data.train_y[:n].to(device)
    shuffled, _ = shuffled_label_model(
        model, DeviceData(x, y, x[:0], y[:0], x[:0], y[:0], image_transform), epochs=SHUFFLED_EPOCHS
    )
    return shuffled


def _print_checks(c: dict) -> None:
    word = lambda ok: t("passed") if ok else t("failed")  # noqa: E731
    if c.get("completeness"):
        k = c["completeness"]
        print(
            t(
                "Completeness {verdict}: the map sums to {s:.4f}, the score moved {d:.4f}.",
                verdict=word(k["passed"]),
                s=k["attribution_sum"],
                d=k["output_difference"],
            )
        )
    if c.get("randomisation"):
        r = c["randomisation"]
        ref = "-" if r["reference"] is None else f"{r['reference']:.2f}"
        print(
            t(
                "Model randomisation {verdict}: rank correlation after every layer is randomised: signed {s:.2f}, "
                "absolute {a:.2f}; a map of the input alone: {ref}; the bar: {bar:.2f}.",
                verdict=word(r["passed"]),
                s=r["signed"],
                a=r["absolute"],
                ref=ref,
                bar=r["bar"],
            )
        )
    if c.get("data_randomisation"):
        r = c["data_randomisation"]
        ref = "-" if r["reference"] is None else f"{r['reference']:.2f}"
        print(
            t(
                "Data randomisation {verdict}: rank correlation with a model trained on shuffled labels: signed "
                "{s:.2f}, absolute {a:.2f}; a map of the input alone: {ref}; the bar: {bar:.2f}.",
                verdict=word(r["passed"]),
                s=r["signed"],
                a=r["absolute"],
                ref=ref,
                bar=r["bar"],
            )
        )
    for key, title in (("deletion", t("Deletion")), ("insertion", t("Insertion"))):
        if c.get(key):
            v = c[key]
            print(
                t(
                    "{check} {verdict}: area {area:.3f}, random order {random:.3f}.",
                    check=title,
                    verdict=word(v["passed"]),
                    area=v["area"],
                    random=v["random"],
                )
            )
    for key, title in (("infidelity", t("Infidelity")), ("sensitivity", t("Sensitivity"))):
        if c.get(key):
            print(
                t(
                    "{check}: {value:.3g}, a random explanation: {random:.3g} (lower is better).",
                    check=title,
                    value=c[key]["value"],
                    random=c[key]["random"],
                )
            )


def cmd_explain(a: argparse.Namespace) -> int:
    import torch

    from dlviz.explain import METHODS, attribute

    settings = dict(_setting(s) for s in a.setting or [])
    model, classes, x, label = _run_and_image(a)
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(x.unsqueeze(0).to(next(model.parameters()).device)), 1)[0].cpu()
    pred = int(probs.argmax())
    target = pred if a.target is None else a.target
    res = attribute(model, x, target, a.method, contrast=a.contrast, **settings)
    m = res.map
    out = {
        "run_id": a.run,
        "at": a.at or "final",
        "index": a.index,
        "label": label,
        "prediction": pred,
        "probability": float(probs[pred]),
        "target": target,
        "contrast": a.contrast,
        "method": a.method,
        "settings": res.settings,
        "seconds": res.seconds,
        "map_shape": list(m.shape),
        "map_sum": float(m.sum()),
        "map_max_abs": float(m.abs().max()),
        "empty": res.empty,
        "signed": res.signed,
    }
    out.update({k: v for k, v in res.extra.items() if isinstance(v, (int, float, str, bool))})
    if a.checks or a.data_randomisation is not None:
        shuffled = _shuffled_model(a, model) if a.data_randomisation is not None else None
        out["checks"] = explain_checks(model, x, target, a.method, res, a.contrast, settings, shuffled)
    if a.out:
        from dlviz.plots.explain import comparison_png

        Path(a.out).write_bytes(comparison_png(x[0], {a.method: res}, {a.method: t(METHODS[a.method].title)}, tr=t))
        out["out"] = str(a.out)
    if a.json:
        print(json.dumps(out))
    else:
        print(
            t(
                "Test image {index} (label {label}): predicted {pred} with probability {p:.1%}.",
                index=a.index,
                label=label,
                pred=pred,
                p=out["probability"],
            )
        )
        print(
            t(
                "{method} for class {target}: {seconds:.0f} ms, attributions sum to {total:.4f}.",
                method=t(METHODS[a.method].title),
                target=target,
                seconds=res.seconds * 1000,
                total=out["map_sum"],
            )
        )
        if "output_difference" in out:
            print(
                t(
                    "Completeness: f(input) - f(baseline) = {diff:.4f}; the difference is {delta:.4f}.",
                    diff=out["output_difference"],
                    delta=out["completeness_delta"],
                )
            )
        if res.empty:
            print(t("The explanation is empty: every attribution is zero."))
        if not res.signed:
            print(t("This map has no sign: it says how much each pixel matters, not for or against."))
        if a.checks or a.data_randomisation is not None:
            _print_checks(out["checks"])
        if a.out:
            print(t("Saved the picture to {path}.", path=a.out))
    return 0


def cmd_data(a: argparse.Namespace) -> int:
    from dlviz.data import load_dataset
    from dlviz.data.split import split_report

    out = split_report(load_dataset(a.dataset, a.data_dir))
    if a.json:
        print(json.dumps(out))
        return 0
    print(
        t(
            "{dataset}: {train:,} training, {validation:,} validation and {test:,} test items; {seen} test items also "
            "occur in training.",
            dataset=a.dataset,
            train=out["train"],
            validation=out["validation"],
            test=out["test"],
            seen=out["test_seen_in_train"],
        )
    )
    if out["duplicates_removed"] or out["conflicting_removed"]:
        print(
            t(
                "Removed before the split: {dups:,} duplicate texts and {conflicts:,} rows whose text carries more "
                "than one label.",
                dups=out["duplicates_removed"],
                conflicts=out["conflicting_removed"],
            )
        )
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    if a.what == "explain":
        from dlviz.train import bench_explain

        return bench_explain.main(a.run, a.index, a.data_dir, a.device, a.json, a.repeat)
    from dlviz.train import bench

    threads = [int(v) for v in a.threads.split(",")] if a.threads else None
    engines = tuple(e.strip() for e in a.engines.split(",")) if a.engines else bench.DEFAULT_ENGINES
    unknown = [e for e in engines if e not in bench.ENGINES]
    if unknown:
        raise DlvizError(
            "Unknown engine {name}. Engines: {known}.", name=", ".join(unknown), known=", ".join(bench.ENGINES)
        )
    return bench.main(
        [a.preset] if a.preset else list(bench.TARGETS), a.device, a.data_dir, a.json, a.repeat, threads, engines
    )


def cmd_export(a: argparse.Namespace) -> int:
    """A plain PyTorch training script for a preset, a .json spec or a saved run (its spec and its recipe)."""
    from dlviz.data import get_info
    from dlviz.models.codegen import to_pytorch, to_script
    from dlviz.runs import RunStore
    from dlviz.train.runner import recipe_for

    if a.run:
        rec = RunStore().get(a.run)
        spec, dataset, recipe = rec.spec, rec.dataset, dict(rec.settings)
    else:
        spec, dataset = _spec_from(a.model), a.dataset
        recipe = recipe_for(a.model, dataset)
    recipe.update({k: v for k, v in (("epochs", a.epochs), ("limit", a.limit)) if v is not None})
    info = get_info(dataset)
    if info.kind == "text":
        code = to_pytorch(
            spec,
            (int(recipe.get("max_len") or info.max_len),),
            int(len(recipe.get("classes") or []) or info.num_classes),
        )
    else:
        code = to_script(spec, info.input_shape, info.num_classes, recipe)
    if a.output:
        Path(a.output).write_text(code, encoding="utf-8")
        print(
            t("Wrote {path}. Run it with: python {path} DATA_FOLDER", path=a.output)
            if info.kind != "text"
            else t("Wrote {path}: the model's code (a text model's data needs dlviz).", path=a.output)
        )
    else:
        sys.stdout.write(code)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from dlviz.train import OPTIMIZERS, SCHEDULES
    from dlviz.train.engine import PRECISIONS

    p = argparse.ArgumentParser(
        prog="python -m dlviz", description=t("dlviz: build, train and look inside neural networks.")
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help=t("train a model and save it as a run"))
    tr.add_argument("--dataset", default="mnist", help="mnist | fashion-mnist | rt-polarity | zh-reviews")
    tr.add_argument(
        "--model",
        default="mlp",
        help=t(
            "a preset (images: mlp, cnn, deep-sigmoid, resnet, rnn; text: "
            "lstm, gru, transformer, kim-cnn, bag) or a .json spec"
        ),
    )
    tr.add_argument("--epochs", type=int, default=None, help=t("default: the preset's (5 for mlp, 3 for cnn)"))
    tr.add_argument("--batch-size", type=int, default=None, help=t("default: the preset's (128 for images)"))
    tr.add_argument("--lr", type=float, default=None, help=t("default: the preset's (0.003 for images)"))
    tr.add_argument("--optimizer", default=None, choices=list(OPTIMIZERS))
    tr.add_argument("--schedule", default=None, choices=list(SCHEDULES))
    tr.add_argument("--weight-decay", type=float, default=None)
    tr.add_argument("--val-fraction", type=float, default=VAL_FRACTION)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--device", default="auto", help="auto | cpu | cuda")
    tr.add_argument(
        "--precision",
        default="auto",
        choices=list(PRECISIONS),
        help=t(
            "bf16: mixed precision, weights stay 32-bit; auto (the default): bf16 only where it was "
            "measured to be faster (a GPU with bf16, or a CPU with native bf16 for a model with "
            "convolutions), else fp32"
        ),
    )
    tr.add_argument(
        "--data-dir",
        default=os.environ.get("DLVIZ_DATA_DIR"),
        help=t("folder with the dataset files (default: $DLVIZ_DATA_DIR, then the cache)"),
    )
    tr.add_argument("--limit", type=int, default=None, help=t("train on only this many images (quick demos)"))
    tr.add_argument("--name", default=None)
    tr.add_argument(
        "--no-limits",
        action="store_true",
        help=t(
            "lift the server limits on the model (parameters, activation memory, FLOPs, batch size): "
            "for a machine of your own"
        ),
    )
    tr.add_argument(
        "--no-baseline", action="store_true", help=t("text: skip the classic TF-IDF + logistic regression baseline")
    )
    tr.add_argument("--json", action="store_true", help=t("print one JSON object as the last line"))
    tr.set_defaults(func=cmd_train)
    xp = sub.add_parser(
        "export",
        help=t(
            "write a plain PyTorch script (only Python and torch needed) that builds a "
            "model, reads MNIST's files and trains it with dlviz's recipe"
        ),
    )
    src = xp.add_mutually_exclusive_group()
    src.add_argument("--model", default="mlp", help=t("a preset or a .json spec"))
    src.add_argument("--run", help=t("a saved run: its model and its recipe (see: python -m dlviz runs)"))
    xp.add_argument("--dataset", default="mnist", help="mnist | fashion-mnist")
    xp.add_argument("--epochs", type=int, default=None)
    xp.add_argument("--limit", type=int, default=None, help=t("train on only this many images (quick demos)"))
    xp.add_argument("-o", "--output", help=t("the file to write (default: print the script)"))
    xp.set_defaults(func=cmd_export)
    ru = sub.add_parser("runs", help=t("list saved runs"))
    ru.add_argument("--json", action="store_true")
    ru.add_argument("--limit", type=int, default=None)
    ru.add_argument(
        "--rebuild",
        action="store_true",
        help=t("rebuild a damaged run index from the run folders (the old index is kept as a backup)"),
    )
    ru.set_defaults(func=cmd_runs)
    ev = sub.add_parser("evaluate", help=t("load a saved run's weights and measure its test accuracy"))
    ev.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    ev.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate)
    ins = sub.add_parser("inspect", help=t("every layer's activations for one test image of a saved run"))
    ins.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    ins.add_argument("--index", type=int, required=True, help=t("which test image (0 is the first)"))
    ins.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    ins.add_argument("--device", default="cpu")
    ins.add_argument("--at", default=None, help=t("replay: the weights saved at this point, e.g. step-0 or epoch-1"))
    ins.add_argument("--json", action="store_true")
    ins.set_defaults(func=cmd_inspect)
    ex = sub.add_parser("explain", help=t("why a saved run made one decision: an attribution map for a test image"))
    ex.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    ex.add_argument("--index", type=int, required=True, help=t("which test image (0 is the first)"))
    ex.add_argument(
        "--method",
        default="integrated_gradients",
        help=t(
            "an attribution method, e.g. integrated_gradients, saliency, grad_cam, occlusion (a wrong name lists them all)"
        ),
    )
    ex.add_argument("--target", type=int, default=None, help=t("the class to explain (default: the prediction)"))
    ex.add_argument("--contrast", type=int, default=None, help=t("explain 'target and not this class'"))
    ex.add_argument("--setting", action="append", metavar="NAME=VALUE", help=t("a method setting, e.g. steps=100"))
    ex.add_argument("--at", default=None, help=t("replay: the weights saved at this point, e.g. step-0 or epoch-1"))
    ex.add_argument("--data-dir", default=os.environ.get("DLVIZ_DATA_DIR"))
    ex.add_argument("--device", default="cpu")
    ex.add_argument("--out", default=None, help=t("save the picture to this PNG file"))
    ex.add_argument(
        "--checks",
        action="store_true",
        help=t(
            "also run the sanity checks (completeness, model randomisation, deletion and insertion, infidelity and "
            "sensitivity beside a random explanation)"
        ),
    )
    ex.add_argument(
        "--data-randomisation",
        nargs="?",
        type=int,
        const=SHUFFLED_IMAGES,
        default=None,
        metavar="N",
        help=t(
            "with the checks, also train the same network on N training images (default 3,000) with shuffled "
            "labels and compare the maps"
        ),
    )
    ex.add_argument("--json", action="store_true", help=t("print one JSON object as the last line"))
    ex.set_defaults(func=cmd_explain)
    at = sub.add_parser("attention", help=t("a text run's attention maps (every layer and head) for a sentence"))
    at.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    at.add_argument("--text", required=True, help=t("the sentence to read"))
    at.add_argument("--at", default=None, help=t("replay: the weights saved at this point, e.g. step-0 or epoch-1"))
    at.add_argument("--device", default="cpu")
    at.add_argument("--json", action="store_true", help=t("print one JSON object"))
    at.set_defaults(func=cmd_attention)
    da = sub.add_parser(
        "data", help=t("a dataset's train, validation and test counts, and how many test items also occur in training")
    )
    da.add_argument("--dataset", default="mnist", help="mnist | fashion-mnist | rt-polarity | zh-reviews")
    da.add_argument(
        "--data-dir",
        default=os.environ.get("DLVIZ_DATA_DIR"),
        help=t("folder with the dataset files (default: $DLVIZ_DATA_DIR, then the cache)"),
    )
    da.add_argument("--json", action="store_true", help=t("print one JSON object"))
    da.set_defaults(func=cmd_data)
    from dlviz.lessons import cli as lessons_cli

    lessons_cli.add_parser(sub)
    be = sub.add_parser(
        "bench",
        help=t(
            "benchmarks: 'bench train' splits dlviz's training speed-up into recipe and "
            "engine; 'bench explain' times the explanation methods against Captum"
        ),
    )
    bsub = be.add_subparsers(dest="what", required=True)
    bt = bsub.add_parser(
        "train",
        help=t(
            "time to the course's accuracy: the ordinary loop with the course's recipe "
            "and with dlviz's, dlviz's engine, and the app with its live UI"
        ),
    )
    bt.add_argument("--preset", default=None, choices=["mlp", "cnn"], help=t("default: both"))
    bt.add_argument("--device", default="auto", help="auto | cpu | cuda")
    bt.add_argument(
        "--data-dir",
        default=os.environ.get("DLVIZ_DATA_DIR"),
        help=t("folder with the dataset files (default: $DLVIZ_DATA_DIR, then the cache)"),
    )
    bt.add_argument(
        "--repeat",
        type=int,
        default=1,
        help=t("run every engine this many times, interleaved, and report the median run (a shared machine is noisy)"),
    )
    bt.add_argument(
        "--threads",
        default=None,
        help=t(
            "CPU thread counts every compared row tries, e.g. 1,2 "
            "(default: 1 and torch's default); each row reports its best"
        ),
    )
    bt.add_argument(
        "--engines",
        default=None,
        help=t(
            "rows to run, e.g. ordinary,ordinary_recipe,dlviz (default: "
            "those three and dlviz_ui; dlviz_ui_thread on request)"
        ),
    )
    bt.add_argument("--json", action="store_true", help=t("one JSON object per preset, each on its own line"))
    bt.set_defaults(func=cmd_bench)
    bx = bsub.add_parser(
        "explain",
        help=t(
            "every explanation method: the first call and the warm median of the whole "
            "call, beside plain Captum with its defaults and batched"
        ),
    )
    bx.add_argument(
        "--run", default=None, help=t("an image run (default: the CNN preset trained one epoch on 6,000 images)")
    )
    bx.add_argument("--index", type=int, default=0, help=t("which test image (0 is the first)"))
    bx.add_argument(
        "--data-dir",
        default=os.environ.get("DLVIZ_DATA_DIR"),
        help=t("folder with the dataset files (default: $DLVIZ_DATA_DIR, then the cache)"),
    )
    bx.add_argument("--device", default="cpu", help="cpu | cuda")
    bx.add_argument("--repeat", type=int, default=7, help=t("warm calls per method (their median is reported)"))
    bx.add_argument("--json", action="store_true", help=t("print one JSON object"))
    bx.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(
        args, "no_limits", False
    ):  # on a machine of one's own: lift the model limits (parameters, memory, FLOPs, batch)
        os.environ["DLVIZ_NO_LIMITS"] = "1"
    try:
        return args.func(args)
    except DlvizError as e:
        print(t("Error: {message}", message=e.message(os.environ.get("DLVIZ_LANG", "en"))), file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": e.message("en")}))
        return 2
    except KeyboardInterrupt:
        print(t("Interrupted."), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
