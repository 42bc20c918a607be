"""``python -m dlviz attention``: a text run's attention maps for one sentence."""

from __future__ import annotations

import argparse
import json

from dlviz.cli.common import replay
from dlviz.errors import RunError
from dlviz.i18n import t
from dlviz.inspect.attention import attention_for_text, attention_layers
from dlviz.modality.text import run_max_len
from dlviz.runs import RunStore
from dlviz.train import load_run


def run(a: argparse.Namespace) -> int:
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
    replay(store, model, a.run, a.at)
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


def add_parser(sub) -> None:
    at = sub.add_parser("attention", help=t("a text run's attention maps (every layer and head) for a sentence"))
    at.add_argument("--run", required=True, help=t("the run id (see: python -m dlviz runs)"))
    at.add_argument("--text", required=True, help=t("the sentence to read"))
    at.add_argument("--at", default=None, help=t("replay: the weights saved at this point, e.g. step-0 or epoch-1"))
    at.add_argument("--device", default="cpu")
    at.add_argument("--json", action="store_true", help=t("print one JSON object"))
    at.set_defaults(func=run)
