"""``python -m dlviz train``: train a model and save it as a run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from dlviz.cli.common import spec_from
from dlviz.defaults import VAL_FRACTION
from dlviz.errors import DlvizError
from dlviz.i18n import t
from dlviz.modality import modality_of
from dlviz.models import PRESETS
from dlviz.models.gan import GAN_PRESETS
from dlviz.runs import RunStore
from dlviz.tasks import task_of_spec
from dlviz.train import OPTIMIZERS, SCHEDULES, Listener, TrainConfig, TrainJob, recipe_for, run_job
from dlviz.train.baseline import comparison, image_comparison
from dlviz.train.config import AUGMENT_FIELDS
from dlviz.train.engine import PRECISIONS


def _fmt_time(s: float) -> str:
    return f"{int(s // 60)}:{int(s % 60):02d}" if s == s and s < 1e7 else "-"


def run(a: argparse.Namespace) -> int:
    spec = spec_from(a.model)
    task = task_of_spec(spec)
    accuracy = task.higher_is_better  # else an error (an autoencoder's), printed as a number with its own name
    # the preset's own recipe (epochs; for text presets also lr, batch size, weight decay), then the flags
    recipe = recipe_for(a.model if a.model in PRESETS or a.model in GAN_PRESETS else None, a.dataset)
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
            **{"augment_" + k: getattr(a, k) for k in AUGMENT_FIELDS},
            "denoise": a.denoise,
            "recon_loss": a.recon_loss,
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
            if p.phase == "epoch_end" and not accuracy:  # the task's own metric (an autoencoder: its error)
                print(
                    t(
                        "epoch {epoch}/{epochs}  loss {loss:.4f}  error {err:.4f}  val_loss {vl:.4f}  val_error "
                        "{ve:.4f}  {sps:,.0f} samples/s",
                        epoch=p.epoch,
                        epochs=p.epochs,
                        loss=p.train_loss,
                        err=p.train_acc,
                        vl=p.val_loss if p.val_loss is not None else float("nan"),
                        ve=p.val_acc if p.val_acc is not None else float("nan"),
                        sps=p.samples_per_s,
                    ),
                    file=sys.stderr,
                )
            elif p.phase == "epoch_end":
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

    job = TrainJob(
        a.dataset,
        spec,
        cfg,
        name=a.name or "",
        data_dir=a.data_dir,
        baseline=False if a.no_baseline else (True if a.baseline else None),
    )
    res = run_job(job, RunStore(), Console())
    if res.message:
        print(t(res.message, **res.message_args), file=sys.stderr)
    if res.summary.get("generator_loss") is not None:  # a GAN: its two losses, not a test accuracy
        print(
            t(
                "Last epoch: generator loss {g:.3f}, discriminator loss {d:.3f}; the discriminator is right on "
                "{real:.0%} of real and {fake:.0%} of generated digits ({epochs} epochs, {secs:.1f} s of training "
                "on {device}). Run id: {run_id}",
                g=res.summary["generator_loss"],
                d=res.summary["discriminator_loss"],
                real=res.summary["real_accuracy"],
                fake=res.summary["fake_accuracy"],
                epochs=res.epochs,
                secs=res.train_seconds,
                device=res.device,
                run_id=res.run_id,
            ),
            file=sys.stderr,
        )
    elif res.test_accuracy is not None and not accuracy:
        print(
            t(
                "Test reconstruction error (mean squared error per pixel): {err:.4f} ({epochs} epochs, {secs:.1f} s "
                "of training on {device}). Run id: {run_id}",
                err=res.test_accuracy,
                epochs=res.epochs,
                secs=res.train_seconds,
                device=res.device,
                run_id=res.run_id,
            ),
            file=sys.stderr,
        )
    elif res.test_accuracy is not None:
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

        said = comparison(bl["test_accuracy"], res.test_accuracy, bl.get("train_size", 0))
        if said is not None:
            print(t(said[0], **said[1]), file=sys.stderr)
    for b in res.baselines or ():
        print(
            t(
                "Classic pipeline, {name} ({features}): {acc:.2%} on the same test images ({secs:.1f} s).",
                name=t(b["name"]),
                features=t(b["features"]),
                acc=b["test_accuracy"],
                secs=b["seconds"],
            ),
            file=sys.stderr,
        )
    if res.baselines:
        said = image_comparison(max(b["test_accuracy"] for b in res.baselines), res.test_accuracy)
        if said is not None:
            print(t(said[0], **said[1]), file=sys.stderr)
    if a.json:
        out = {
            "run_id": res.run_id,
            "status": res.status,
            ("test_accuracy" if accuracy else f"test_{res.metric}"): res.test_accuracy,  # an autoencoder's error
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
            **res.summary,  # the task's own numbers (a GAN: generator_loss, discriminator_loss, ...)
        }
        if bl is not None or _has_baseline(a.dataset):
            out["baseline_test_accuracy"] = bl["test_accuracy"] if bl is not None else None
            out["baseline_seconds"] = round(bl["seconds"], 3) if bl is not None else None
        if res.baselines:
            out["baselines"] = [
                {"name": b["name"], "test_accuracy": b["test_accuracy"], "seconds": round(b["seconds"], 3)}
                for b in res.baselines
            ]
        print(json.dumps(out))
    return 0 if res.status == "finished" else (1 if res.status == "stopped" else 2)


def _has_baseline(dataset: str) -> bool:
    """Whether a run on ``dataset`` trains a classic baseline beside the model (its JSON keys are then always
    there, None when --no-baseline skipped it)."""
    try:
        return modality_of(dataset).has_baseline
    except DlvizError:
        return False


def add_parser(sub) -> None:
    d, epochs = TrainConfig(), {k: recipe_for(k)["epochs"] for k in ("mlp", "cnn")}
    tr = sub.add_parser("train", help=t("train a model and save it as a run"))
    tr.add_argument("--dataset", default="mnist", help="mnist | fashion-mnist | cifar10 | rt-polarity | zh-reviews")
    tr.add_argument(
        "--model",
        default="mlp",
        help=t(
            "a preset (images: mlp, cnn, deep-sigmoid, resnet, rnn; colour photos (cifar10): cifar-cnn; autoencoders: "
            "autoencoder, conv-autoencoder; a GAN that draws digits: dcgan; text: lstm, gru, transformer, kim-cnn, "
            "bag) or a .json spec"
        ),
    )
    tr.add_argument(
        "--epochs", type=int, default=None, help=t("default: the preset's ({mlp} for mlp, {cnn} for cnn)", **epochs)
    )
    tr.add_argument(
        "--batch-size", type=int, default=None, help=t("default: the preset's ({n} for images)", n=d.batch_size)
    )
    tr.add_argument("--lr", type=float, default=None, help=t("default: the preset's ({n} for images)", n=f"{d.lr:g}"))
    tr.add_argument("--optimizer", default=None, choices=list(OPTIMIZERS))
    tr.add_argument("--schedule", default=None, choices=list(SCHEDULES))
    tr.add_argument("--weight-decay", type=float, default=None)
    tr.add_argument("--val-fraction", type=float, default=VAL_FRACTION)
    tr.add_argument("--seed", type=int, default=d.seed)
    tr.add_argument("--device", default=d.device, help="auto | cpu | cuda")
    tr.add_argument(
        "--precision",
        default=d.precision,
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
    aug = tr.add_argument_group(t("data augmentation (training images only, on the device; all off by default)"))
    aug.add_argument("--shift", type=float, default=0.0, metavar="PIXELS", help=t("shift each image up to this far"))
    aug.add_argument("--rotate", type=float, default=0.0, metavar="DEGREES", help=t("rotate up to this far either way"))
    aug.add_argument("--scale", type=float, default=0.0, help=t("zoom by a factor in [1 - this, 1 + this]"))
    aug.add_argument("--flip", action="store_true", help=t("mirror half the images left-right (not for digits)"))
    aug.add_argument("--noise", type=float, default=0.0, metavar="STD", help=t("add Gaussian noise of this spread"))
    aug.add_argument(
        "--erase", type=float, default=0.0, metavar="AREA", help=t("black out this share of half the images")
    )
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
        "--baseline",
        action="store_true",
        help=t("images: also fit the classic pipelines (raw pixels and HOG + logistic regression) on the same split"),
    )
    tr.add_argument(
        "--no-baseline", action="store_true", help=t("text: skip the classic TF-IDF + logistic regression baseline")
    )
    tr.add_argument(
        "--denoise",
        type=float,
        default=0.0,
        metavar="LEVEL",
        help=t("autoencoders: noise added to each input (0 to 1), so the model learns to remove it (denoising)"),
    )
    tr.add_argument(
        "--recon-loss",
        default="bce",
        choices=["bce", "mse"],
        help=t("autoencoders: the training loss, binary cross-entropy (the default) or mean squared error"),
    )
    tr.add_argument("--json", action="store_true", help=t("print one JSON object as the last line"))
    tr.set_defaults(func=run)
