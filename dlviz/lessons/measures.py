"""The numbers a reveal shows beside the student's guess, measured on the runs of the lesson (never written
into the lesson file). Each measure returns lines as (English template, arguments), translated when shown.
No streamlit.
"""

from __future__ import annotations

from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.runs import RunRecord, RunStore


def _acc(x) -> str:
    return f"{x:.1%}" if isinstance(x, (int, float)) else "-"


def _last(metrics: dict, part: str, field: int) -> float | None:
    rows = (metrics or {}).get(part) or []
    return float(rows[-1][field]) if rows and len(rows[-1]) > field else None


def _runs(store: RunStore, run_ids: list[str]) -> list[RunRecord]:
    out = []
    for rid in dict.fromkeys(r for r in run_ids if r):
        try:
            out.append(store.get(rid))
        except DlvizError:
            continue
    return out


def test_accuracy(store, run_ids, **_) -> list[tuple[str, dict]]:
    return [
        (N_("{name}: test accuracy {acc}."), {"name": r.name, "acc": _acc(r.test_accuracy)})
        for r in _runs(store, run_ids)
    ]


def compare(store, run_ids, **_) -> list[tuple[str, dict]]:
    """Validation accuracy and last training loss of each run, side by side."""
    lines = []
    for r in _runs(store, run_ids):
        val = _last(r.metrics, "val", 3)
        loss = _last(r.metrics, "train", 2)
        lines.append(
            (
                N_("{name}: validation accuracy {val} after {epochs} epochs, last training loss {loss}."),
                {
                    "name": r.name,
                    "val": _acc(val),
                    "epochs": len((r.metrics or {}).get("val") or []),
                    "loss": f"{loss:.3f}" if loss is not None else "-",
                },
            )
        )
    return lines


def overfit(store, run_ids, **_) -> list[tuple[str, dict]]:
    """Training accuracy against validation accuracy: the gap is what overfitting looks like."""
    lines = []
    for r in _runs(store, run_ids):
        train, val = _last(r.metrics, "train", 3), _last(r.metrics, "val", 3)
        gap = (train - val) if train is not None and val is not None else None
        lines.append(
            (
                N_("{name}: training accuracy {train}, validation accuracy {val}, gap {gap} points."),
                {"name": r.name, "train": _acc(train), "val": _acc(val), "gap": f"{100 * gap:.1f}" if gap else "-"},
            )
        )
    return lines


def gradients(store, run_ids, **_) -> list[tuple[str, dict]]:
    """How much weaker the first layer's gradient is than the last layer's, per run (RMS per weight)."""
    from dlviz.inspect.gradients import typical_rms

    lines = []
    for r in _runs(store, run_ids):
        record = store.load_record(r.id, "gradients")
        rms = typical_rms(record) if record and record.get("norms") else []
        if len(rms) < 2 or rms[0] <= 0:
            lines.append((N_("{name}: no gradients were recorded."), {"name": r.name}))
            continue
        lines.append(
            (
                N_("{name}: the last layer's gradient is {ratio} times the first layer's."),
                {"name": r.name, "ratio": f"{rms[-1] / rms[0]:,.1f}"},
            )
        )
    return lines


def confusion(store, run_ids, digit: int = 4, data_dir=None, **_) -> list[tuple[str, dict]]:
    """The class the open run mistakes ``digit`` for most often on the test set."""
    import torch

    from dlviz.data import load_dataset
    from dlviz.inspect.errors import predict_all
    from dlviz.train.runner import load_run

    lines = []
    for r in _runs(store, run_ids[:1]):
        model, rec = load_run(r.id, store)
        data = load_dataset(rec.dataset, data_dir)
        rows = (data.test_y == digit).nonzero().flatten()
        pred = predict_all(model, data.test_x[rows]).argmax(1)
        wrong = pred[pred != digit]
        if len(wrong) == 0:
            lines.append((N_("{name} got every {digit} right."), {"name": r.name, "digit": digit}))
            continue
        counts = torch.bincount(wrong, minlength=10)
        lines.append(
            (
                N_("{name} took {n} of the {total} test {digit}s for something else, most often for {other} ({k})."),
                {
                    "name": r.name,
                    "n": len(wrong),
                    "total": len(rows),
                    "digit": digit,
                    "other": int(counts.argmax()),
                    "k": int(counts.max()),
                },
            )
        )
    return lines


def mark_share(
    store, run_ids, index: int = 0, data_dir=None, methods=("input_x_gradient",), **_
) -> list[tuple[str, dict]]:
    """For each run: the share of an explanation's mass on the planted mark of a marked test image, against the
    mark's share of the image (0.5%)."""
    from dlviz.data import load_dataset
    from dlviz.explain import attribute
    from dlviz.lessons.shortcut import CHANCE_SHARE, shortcut_image
    from dlviz.lessons.shortcut import mark_share as share
    from dlviz.train.runner import load_run

    lines = []
    for r in _runs(store, run_ids):
        model, rec = load_run(r.id, store)
        data = load_dataset(rec.dataset, data_dir)
        x, label, place = shortcut_image(data, index)
        a = attribute(model, x, label, methods[0])
        s = share(a.map.numpy(), place)
        lines.append(
            (
                N_("{name}: {share} of the explanation falls on the mark, which covers {chance} of the image."),
                {"name": r.name, "share": f"{s:.0%}", "chance": f"{CHANCE_SHARE:.1%}"},
            )
        )
    return lines


def randomisation(store, run_ids, test_index: int = 0, methods=("saliency",), data_dir=None, **_):
    """The model-randomisation sanity check (Adebayo et al. 2018) of each method on the open run's test image:
    how alike the map stays once every layer's weights are random, and whether the method passes the rule."""
    from dlviz.data import load_dataset
    from dlviz.explain.checks import randomisation_test
    from dlviz.explain.registry import METHODS
    from dlviz.train.runner import load_run

    lines = []
    for r in _runs(store, run_ids[:1]):
        model, rec = load_run(r.id, store)
        data = load_dataset(rec.dataset, data_dir)
        x = data.test_x[test_index : test_index + 1].float().div(255.0)
        label = int(data.test_y[test_index])
        for method in methods:
            res = randomisation_test(model, x, label, method)
            lines.append(
                (
                    N_(
                        "{method}: with every layer random, its map still matches the trained model's by {sim} "
                        "(the line to stay under: {bar}): {verdict}."
                    ),
                    {
                        "method": METHODS[method].title,
                        "sim": f"{res.similarity[-1]:.2f}",
                        "bar": f"{res.bar:.2f}",
                        "verdict": N_("passes") if res.passed else N_("fails: it shows the image, not the model"),
                    },
                )
            )
    return lines


SENTENCE = "the story is thin , but the acting is wonderful and the ending is great ."


def attention(store, run_ids, sentence: str = SENTENCE, **_) -> list[tuple[str, dict]]:
    """For each head of the open run's last attention layer, the word it attends to most on ``sentence``
    (averaged over the words looking): do the heads look at the same words?"""
    from dlviz.inspect.attention import attention_maps
    from dlviz.modality.text import encode_sentence, run_max_len
    from dlviz.train.runner import load_run

    lines = []
    for r in _runs(store, run_ids[:1]):
        model, rec, vocab = load_run(r.id, store, with_vocab=True)
        enc = encode_sentence(vocab, sentence, run_max_len(rec))
        keep, maps = attention_maps(model, enc.ids)
        real = keep.nonzero().flatten()
        last = maps[-1][:, real][:, :, real]  # (heads, n, n): the real words only
        words = enc.words
        for h in range(last.shape[0]):
            got = last[h].mean(0)
            k = int(got.argmax())
            lines.append(
                (
                    N_("Head {head} of the last layer looks most at '{word}' ({share} of its attention)."),
                    {"head": h + 1, "word": words[k], "share": f"{float(got[k]):.0%}"},
                )
            )
    return lines


def baseline(store, run_ids, **_) -> list[tuple[str, dict]]:
    """A text run's test accuracy beside the classic TF-IDF baseline trained on the same split."""
    lines = []
    for r in _runs(store, run_ids):
        b = (r.metrics or {}).get("baseline") or {}
        lines.append(
            (
                N_("{name}: test accuracy {acc}; the TF-IDF baseline on the same sentences: {base}."),
                {"name": r.name, "acc": _acc(r.test_accuracy), "base": _acc(b.get("test_accuracy"))},
            )
        )
    return lines


# one line per kind of variant, so that every word of it translates (a variant's name is a template with arguments)
_COMPRESSION_LINES = {
    "original": N_("The original: test accuracy {acc}, file {kb} KB, {nz} weights not zero, {ms} ms per image."),
    "pruned {share} ({how})": N_(
        "Pruned {share} ({how}): test accuracy {acc}, file {kb} KB, {nz} weights not zero, {ms} ms per image."
    ),
    "pruned {share} + int8": N_(
        "Pruned {share} + int8: test accuracy {acc}, file {kb} KB, {nz} weights not zero, {ms} ms per image."
    ),
    "int8": N_("int8: test accuracy {acc}, file {kb} KB, {nz} weights not zero, {ms} ms per image."),
    "student ({preset})": N_(
        "Student ({preset}): test accuracy {acc}, file {kb} KB, {nz} weights not zero, {ms} ms per image."
    ),
}


def _numbers(m: dict) -> dict:
    return {
        "acc": _acc(m.get("accuracy")),
        "kb": f"{m.get('size_bytes', 0) / 1024:,.0f}",
        "nz": f"{m.get('nonzero_params', 0):,}",
        "ms": f"{m.get('latency_ms', 0):.3f}",
    }


def compression(store, run_ids, **_) -> list[tuple[str, dict]]:
    """Each run's compressed variants (or those of the run it was made from): accuracy, file size, CPU time."""
    from dlviz.compress import compression_of, label_of, origin_of, variants
    from dlviz.compress.job import ORIGINAL_RECORD

    lines = []
    for origin in dict.fromkeys(origin_of(r) for r in _runs(store, run_ids)):
        made = variants(store, origin)
        saved = store.load_record(origin, ORIGINAL_RECORD)
        if not isinstance(saved, dict):  # a shared run a student could not write to: each variant keeps a copy
            saved = next((r.metrics.get("compress_original") for r in reversed(made) if r.metrics), None)
        if isinstance(saved, dict):
            lines.append((_COMPRESSION_LINES["original"], _numbers(saved)))
        for r in made:
            m = (r.metrics or {}).get("compress")
            template, args = label_of(compression_of(r))
            if isinstance(m, dict) and template in _COMPRESSION_LINES:
                lines.append((_COMPRESSION_LINES[template], {**args, **_numbers(m)}))
    if not lines:
        lines.append((N_("No compressed variants yet: press Compress on the Compress page."), {}))
    return lines


MEASURES = {
    "test_accuracy": test_accuracy,
    "compare": compare,
    "overfit": overfit,
    "gradients": gradients,
    "confusion": confusion,
    "mark_share": mark_share,
    "baseline": baseline,
    "randomisation": randomisation,
    "attention": attention,
    "compression": compression,
}


def measure(name: str, store: RunStore, run_ids: list[str], **kw) -> list[tuple[str, dict]]:
    """The lines of measure ``name``; a problem becomes a line saying so, never an exception."""
    try:
        return MEASURES[name](store, run_ids, **kw)
    except DlvizError as e:
        return [(e.template, e.kwargs)]
