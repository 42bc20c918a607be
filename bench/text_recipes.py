"""Choose the text presets' recipes (learning rate, batch size, epochs) and the baseline's C on the VALIDATION split.

    python bench/text_recipes.py [--datasets rt-polarity] [--presets lstm,gru,transformer,kim-cnn,bag]
                                 [--lrs 1e-3,3e-3] [--batches 64,128] [--epochs E] [--seeds 0] [--data-dir DIR]

For every dataset, preset and (learning rate, batch size) it trains with the preset's epochs (or --epochs) and the rest of the
app's recipe (Adam, one-cycle), on the training part proper (80% of the training part, as every run splits it),
and prints the accuracy on the validation part (the other 20%) after the last epoch: the weights a run keeps.
The test sentences are never loaded into the model here: the DeviceData handed to fit() holds no test rows, so
nothing in this table can have been chosen by test accuracy. The TF-IDF + logistic regression baseline's C is
chosen the same way. The chosen rows are marked with *; dlviz/train/config.py's TEXT_RECIPES, the presets'
epochs (dlviz/models/presets.py) and dlviz/train/baseline.py's C copy them by hand (docs/performance.md: the table). With ``--test-chosen`` the chosen run's weights (kept in
memory) are then scored on the test part, once, after every choice is made; bench/text_accuracy.py reruns
the CLI's defaults and reads the test set once per run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def train_once(
    dataset: str, preset: str, lr: float, batch: int, seed: int, data_dir: str | None, epochs: int | None = None
):
    """(validation accuracy after the last epoch, training seconds, a function that reads the test part once)
    of one run; the test part stays out of training and validation."""
    import torch

    from dlviz.data import load_dataset
    from dlviz.modality.text import embedding_rows
    from dlviz.models import PRESETS, build
    from dlviz.models.builder import normalize, with_vocab
    from dlviz.train import TrainConfig, fit, prepare_data, recipe_for

    spec = normalize(PRESETS[preset].copy_spec())
    rows = embedding_rows(spec)
    raw = load_dataset(dataset, data_dir if dataset == "rt-polarity" else None, max_vocab=rows)
    spec = with_vocab(spec, len(raw.vocab))
    cfg = TrainConfig(
        **{
            **recipe_for(preset, dataset),
            **({"epochs": epochs} if epochs else {}),
            "lr": lr,
            "batch_size": batch,
            "seed": seed,
            "device": "cpu",
            "record_gradients": False,
        }
    ).validated()
    model = build(spec, (raw.max_len,), raw.info.num_classes, input_dtype=torch.long, seed=seed).module
    data = prepare_data(raw, cfg, torch.device("cpu"))
    test_x, test_y = data.test_x, data.test_y
    data.test_x, data.test_y = data.test_x[:0], data.test_y[:0]  # never seen while training or choosing
    res = fit(model, data, cfg)
    if res.status != "finished":
        raise RuntimeError(f"{dataset} {preset} lr={lr} batch={batch}: {res.status} {res.message}")
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def read_test() -> float:
        from dlviz.train import evaluate

        model.load_state_dict(state)
        return evaluate(model, test_x, test_y, data.transform)[1]

    return float(res.history["val"][-1][3]), res.train_seconds, read_test


def baseline_c(dataset: str, data_dir: str | None, cs: list[float]) -> dict[float, float]:
    """Validation accuracy of TF-IDF + logistic regression for each C (train on the training part proper)."""
    from dlviz.data import load_dataset
    from dlviz.train import TrainConfig
    from dlviz.train import baseline as bl
    from dlviz.train.runner import split_for

    d = load_dataset(dataset, data_dir if dataset == "rt-polarity" else None)
    tr, va = split_for(len(d.train_y), TrainConfig())
    out = {}
    old = bl.C
    try:
        for c in cs:
            bl.C = c
            r = bl.tfidf_baseline(
                [d.train_texts[i] for i in tr.tolist()],
                d.train_y[tr],
                [d.train_texts[i] for i in va.tolist()],
                d.train_y[va],
                d.info.language,
            )
            out[c] = r.test_accuracy  # the "test" argument is the validation part here
    finally:
        bl.C = old
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="rt-polarity")
    p.add_argument("--presets", default="lstm,gru,transformer,kim-cnn,bag")
    p.add_argument("--lrs", default="1e-3,3e-3")
    p.add_argument("--batches", default="64,128")
    p.add_argument("--seeds", default="0")
    p.add_argument("--cs", default="1,3,10,30")
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "rt-polarity"))
    p.add_argument(
        "--test-chosen",
        action="store_true",
        help="after choosing on validation, read the test part once with the chosen run's weights",
    )
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--epochs", type=int, default=None, help="train this many epochs instead of the preset's")
    a = p.parse_args()
    lrs = [float(v) for v in a.lrs.split(",")]
    batches = [int(v) for v in a.batches.split(",")]
    seeds = [int(v) for v in a.seeds.split(",")]
    for dataset in a.datasets.split(","):
        if not a.no_baseline:
            cs = baseline_c(dataset, a.data_dir, [float(v) for v in a.cs.split(",")])
            best_c = max(cs, key=cs.get)
            print(
                f"{dataset} TF-IDF + logistic regression, validation accuracy by C: "
                + ", ".join(f"{c:g}: {v:.2%}{'*' if c == best_c else ''}" for c, v in cs.items()),
                flush=True,
            )
        print(
            f"{'dataset':<12} {'preset':<12} {'lr':>7} {'batch':>6} {'epochs':>6} {'val acc (per seed)':>24} "
            f"{'mean':>7} {'train s':>8}",
            flush=True,
        )
        for preset in a.presets.split(","):
            from dlviz.train import recipe_for

            epochs = a.epochs or recipe_for(preset, dataset)["epochs"]
            results, testers = {}, {}
            for lr in lrs:
                for batch in batches:
                    accs, secs, tests = [], [], []
                    for seed in seeds:
                        acc, s, read_test = train_once(dataset, preset, lr, batch, seed, a.data_dir, a.epochs)
                        accs.append(acc)
                        secs.append(s)
                        tests.append(read_test)
                    results[(lr, batch)] = statistics.mean(accs)
                    if results[(lr, batch)] >= max(results.values()):
                        testers = {"best": tests}  # only the best so far is kept
                    print(
                        f"{dataset:<12} {preset:<12} {lr:>7g} {batch:>6} {epochs:>6} "
                        f"{' / '.join(f'{v:.2%}' for v in accs):>24} {results[(lr, batch)]:>7.2%} "
                        f"{statistics.mean(secs):>8.1f}",
                        flush=True,
                    )
            best = max(results, key=results.get)
            line = f"  * {dataset} {preset}: lr {best[0]:g}, batch {best[1]} (validation {results[best]:.2%})"
            if a.test_chosen:  # the test part, read once per kept run, after the choice was made
                line += "; test, read once after choosing: " + " / ".join(f"{f():.2%}" for f in testers["best"])
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - t0:.0f} s)")
    sys.exit(code)
