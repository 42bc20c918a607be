"""``python -m dlviz explain``: an attribution map for one test image of a saved run (and its checks)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from dlviz.cli.common import run_and_image
from dlviz.data import load_dataset
from dlviz.errors import ExplainError
from dlviz.explain import METHODS, attribute
from dlviz.explain.checks import report, shuffled_label_model
from dlviz.i18n import N_, t
from dlviz.inspect import probabilities
from dlviz.runs import RunStore
from dlviz.train import DeviceData, image_transform


def _setting(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ExplainError("Write a setting as NAME=VALUE (e.g. steps=100), not '{text}'.", text=text)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


SHUFFLED_IMAGES, SHUFFLED_EPOCHS = 3000, 2  # the Explain page's data-randomisation test, the same size


def _shuffled_model(a: argparse.Namespace, model):
    """The run's architecture trained on its dataset's first ``--data-randomisation`` training images, labels
    shuffled (SHUFFLED_EPOCHS epochs, as the Explain page does)."""
    data = load_dataset(RunStore().get(a.run).dataset, a.data_dir)
    device = next(model.parameters()).device
    n = int(a.data_randomisation)
    if n < 10:
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
    randomisations = (
        (
            "randomisation",
            N_(
                "Model randomisation {verdict}: rank correlation after every layer is randomised: signed {s:.2f}, "
                "absolute {a:.2f}; a map of the input alone: {ref}; the bar: {bar:.2f}."
            ),
        ),
        (
            "data_randomisation",
            N_(
                "Data randomisation {verdict}: rank correlation with a model trained on shuffled labels: signed "
                "{s:.2f}, absolute {a:.2f}; a map of the input alone: {ref}; the bar: {bar:.2f}."
            ),
        ),
    )
    for key, line in randomisations:
        if c.get(key):
            r = c[key]
            ref = "-" if r["reference"] is None else f"{r['reference']:.2f}"
            verdict = word(r["passed"])
            print(t(line, verdict=verdict, s=r["signed"], a=r["absolute"], ref=ref, bar=r["bar"]))
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


def run(a: argparse.Namespace) -> int:
    settings = dict(_setting(s) for s in a.setting or [])
    model, classes, x, label = run_and_image(a)
    model.eval()
    probs = probabilities(model, x)
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
        out["checks"] = report(model, x, target, a.method, res, a.contrast, settings, shuffled)
    if a.out:
        from dlviz.plots.explain import comparison_png  # lazy: it imports plotly, which only --out needs

        image = x[0] if x.shape[0] == 1 else x  # a colour photo (3, H, W) is drawn in colour
        Path(a.out).write_bytes(comparison_png(image, {a.method: res}, {a.method: t(METHODS[a.method].title)}, tr=t))
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


def add_parser(sub) -> None:
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
    ex.set_defaults(func=run)
