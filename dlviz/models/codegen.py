"""Export a spec as plain PyTorch code (runnable without dlviz) and as a Graphviz diagram."""

from __future__ import annotations

import inspect
import json
import keyword
import math

from torch import nn

from dlviz.defaults import SPLIT_SEED
from dlviz.errors import SpecError
from dlviz.i18n import translate
from dlviz.models import layers as L
from dlviz.models.builder import Built, build, normalize, reads

_CUSTOM = {
    "rows": [L.Rows],
    "lstm": [L.Recurrent],
    "gru": [L.Recurrent],
    "rnn": [L.Recurrent],
    "residual": [L.ResidualBlock],
    "gap": [L.GlobalAvgPool],
    "timepool": [L.TimePool],
    "transformer": [L.sinusoid, L.EncoderLayer, L.TransformerEncoder],
    "kimconv": [L.KimConv],
}


# Every value that reaches the generated source goes through one of these: a user's string becomes a
# repr() literal (never a comment, a name or bare code), numbers are re-made as int / float / bool, names
# are checked as identifiers. A spec shared by a classmate can then only change the numbers in the file.
def _int(v) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
        raise SpecError("The model cannot be exported: {value!r} is not a whole number.", value=v)
    return repr(int(v))


def _float(v) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise SpecError("The model cannot be exported: {value!r} is not a finite number.", value=v)
    return repr(float(v))


def _bool(v) -> str:
    if not isinstance(v, bool):
        raise SpecError("The model cannot be exported: {value!r} is not true or false.", value=v)
    return repr(v)


def _str(v) -> str:
    return repr(str(v))


def _ident(v) -> str:
    if not (isinstance(v, str) and v.isidentifier() and v.isascii() and not keyword.iskeyword(v)):
        raise SpecError("The model cannot be exported: {value!r} is not a valid Python name.", value=v)
    return v


def _ctor(layer: dict, in_shape: tuple, pads: bool = False) -> str:
    layer = {
        k: (
            _int(v)
            if isinstance(v, int) and not isinstance(v, bool)
            else _float(v)
            if isinstance(v, float)
            else _bool(v)
            if isinstance(v, bool)
            else _str(v)
        )
        for k, v in layer.items()
        if k != "type"
    } | {"type": layer["type"]}
    in_shape = tuple(int(_int(s)) for s in in_shape)
    t = layer["type"]
    masks = ", mask_pads=True" if pads and t in L.MASKS_PADS else ""  # a model of padded ids skips pads
    if t == "dense":
        return f"nn.Linear({in_shape[0]}, {layer['units']}, bias={layer['bias']})"
    if t == "conv2d":
        return (
            f"nn.Conv2d({in_shape[0]}, {layer['out']}, kernel_size={layer['kernel']}, "
            f"stride={layer['stride']}, padding={layer['padding']})"
        )
    if t in ("maxpool", "avgpool"):
        cls = "MaxPool2d" if t == "maxpool" else "AvgPool2d"
        return f"nn.{cls}({layer['size']}, stride={layer['stride'] if int(layer['stride']) else layer['size']})"
    if t == "flatten":
        return "nn.Flatten()"
    if t == "reshape":
        return f"nn.Unflatten(1, ({layer['channels']}, {layer['height']}, {layer['width']}))"
    if t == "upsample":
        return f"nn.Upsample(scale_factor={layer['scale']}, mode=\"nearest\")"
    if t == "dropout":
        return f"nn.Dropout({layer['p']})"
    if t == "batchnorm":
        return f"nn.BatchNorm{'2d' if len(in_shape) == 3 else '1d'}({in_shape[0]})"
    if t == "leakyrelu":
        return f"nn.LeakyReLU({layer['slope']})"
    if t in ("relu", "sigmoid", "tanh", "gelu"):
        return {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "gelu": "nn.GELU()"}[t]
    if t == "residual":
        return f"ResidualBlock({in_shape[0]}, {layer['channels']}, stride={layer['stride']})"
    if t == "gap":
        return "GlobalAvgPool()"
    if t == "rows":
        return "Rows()"
    if t == "embedding":
        return f"nn.Embedding({layer['vocab']}, {layer['dim']}, padding_idx=0)"
    if t in ("rnn", "lstm", "gru"):
        return (
            f"Recurrent({_str(t)}, {in_shape[1]}, {layer['hidden']}, num_layers={layer['layers']}, "
            f"bidirectional={layer['bidirectional']}, return_sequence={layer['return_sequence']}{masks})"
        )
    if t == "timepool":
        return f"TimePool({layer['mode']}{masks})"
    if t == "transformer":
        return (
            f"TransformerEncoder({in_shape[1]}, heads={layer['heads']}, layers={layer['layers']}, "
            f"feedforward={layer['feedforward']}, dropout={layer['dropout']}, positions={layer['positions']}, "
            f"max_len={in_shape[0]}{masks})"
        )
    if t == "kimconv":
        widths = L.kim_widths({k: int(layer[k]) for k in ("width1", "width2", "width3")})
        return f"KimConv({in_shape[1]}, widths={widths}, filters={layer['filters']}{masks})"
    raise NotImplementedError(t)  # every registry key must be handled; tests check this


def _shape(shape) -> str:
    return "(" + ", ".join(_int(x) for x in shape) + ")"


def to_pytorch(spec, input_shape=(1, 28, 28), num_classes=10) -> str:
    """Python source defining ``model`` as an ``nn.Sequential`` whose state_dict keys match dlviz's.

    A text model (first layer an Embedding) needs ``input_shape=(L,)``, the padded sequence length.
    The model's name is a string literal (``MODEL_NAME``), never a comment or code.
    """
    return "\n".join(_model_lines(spec, input_shape, num_classes)) + "\n"


def _model_lines(spec, input_shape, num_classes, seed: int | None = None) -> list[str]:
    spec = normalize(spec)
    if spec.get("task", "classification") != "classification":  # an autoencoder ends in its input's shape
        num_classes = None
    built = build(spec, input_shape, num_classes)
    model_reads = reads(spec)
    shapes = [tuple(input_shape)] + [r.output_shape for r in built.table]
    classes, seen = [], set()
    for layer in spec["layers"]:
        for cls in _CUSTOM.get(layer["type"], []):
            if cls not in seen:
                seen.add(cls)
                classes.append(inspect.getsource(cls))
    lines = [
        f"# Generated by dlviz. Input {_shape(input_shape)}, {int(built.params):,} parameters.",
        "from collections import OrderedDict",
        "",
        "import torch",
        "from torch import nn",
        "",
        f"MODEL_NAME = {_str(spec['name'])}",
    ]
    lines[1:1] = list(model_reads.note)
    for src in classes:
        lines += ["", src.rstrip(), ""]
    if seed is not None:  # dlviz seeds, builds, then gives Dense and Conv layers Glorot weights
        lines += ["", inspect.getsource(glorot_init).rstrip(), "", "", f"torch.manual_seed({_int(seed)})"]
    lines += ["", "model = nn.Sequential(OrderedDict(["]
    for i, (row, layer) in enumerate(zip(built.table, spec["layers"])):
        lines.append(
            f"    ({_str(_ident(row.name))}, {_ctor(layer, shapes[i], model_reads.pads)}),  # -> {_shape(row.output_shape)}"
        )
    lines += ["]))"]
    if seed is not None:
        lines += ["glorot_init(model)"]
    return lines


def writes_script(spec, input_shape) -> bool:
    """Whether a training script is written for ``spec`` reading ``input_shape`` (a model of pictures: the script
    reads the IDX files itself); else the export is the model's code alone (:func:`to_pytorch`)."""
    if isinstance(spec, dict) and spec.get("task", "classification") != "classification":
        return False  # the script trains a classifier; an autoencoder's export is its model's code
    # grey pictures only: the script reads IDX files; a colour model's (CIFAR-10's binary batches) is its code alone
    return reads(spec).script and len(tuple(input_shape)) == 3 and tuple(input_shape)[0] == 1


def script_source(spec, input_shape, num_classes, cfg, warmup_fraction: float) -> str:
    """The source of a script that builds the model, reads MNIST (or Fashion-MNIST) from IDX files in a
    folder named on the command line, and trains it with the recipe ``cfg`` (a validated
    :class:`dlviz.train.TrainConfig`: optimizer, learning rate and its schedule with ``warmup_fraction``,
    batch size, epochs, seed, validation share); the split is seeded with :data:`dlviz.defaults.SPLIT_SEED`.
    Plain Python + torch. :func:`dlviz.train.script.to_script` resolves the recipe and calls this; a model
    whose data a script cannot read (``reads(spec).script`` False, text) gets the model alone (``to_pytorch``).
    """
    spec = normalize(spec)
    if not writes_script(spec, input_shape):
        return to_pytorch(spec, input_shape, num_classes)
    lines = [
        "#!/usr/bin/env python3",
        '"""Build this model, read MNIST from its IDX files and train it with the recipe chosen in dlviz.',
        "",
        "    python THIS_FILE.py DATA_FOLDER [--epochs N] [--limit N] [--device cpu|cuda] [--save model.pt]",
        "",
        "DATA_FOLDER holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and",
        "t10k-labels-idx1-ubyte (each may end in .gz), directly, in mnist/ or in torchvision's MNIST/raw/.",
        "Fashion-MNIST's files have the same names. Needs only Python and PyTorch.",
        '"""',
    ]
    body = _model_lines(spec, input_shape, num_classes, seed=cfg.seed)
    assert body[1:5] == ["from collections import OrderedDict", "", "import torch", "from torch import nn"]
    lines += (
        body[:1]
        + [
            "import argparse",
            "import gzip",
            "import math",
            "import sys",
            body[1],
            "from pathlib import Path",
            "",
            "import torch",
            "import torch.nn.functional as F",
        ]
        + body[4:]
    )
    lines += [
        "",
        "# The recipe (dlviz's Train page). The split of the 60,000 training images is seeded apart from it.",
        "RECIPE = {",
        f"    'optimizer': {_str(cfg.optimizer)},",
        f"    'lr': {_float(cfg.lr)},",
        f"    'batch_size': {_int(cfg.batch_size)},",
        f"    'epochs': {_int(cfg.epochs)},",
        f"    'weight_decay': {_float(cfg.weight_decay)},",
        f"    'momentum': {_float(cfg.momentum)},",
        f"    'seed': {_int(cfg.seed)},",
        f"    'val_fraction': {_float(cfg.val_fraction)},",
        f"    'schedule': {_str(cfg.schedule)},",
        f"    'limit': {'None' if cfg.limit is None else _int(cfg.limit)},",
        "}",
        f"WARMUP_FRACTION = {_float(warmup_fraction)}",
        f"SPLIT_SEED = {SPLIT_SEED}",
        f"INPUT_SHAPE = {_shape(input_shape)}",
    ]
    lines += [_TRAINING]
    return "\n".join(lines)


def glorot_init(module: nn.Module) -> None:
    """Glorot (Xavier) uniform weights and zero biases for Dense and Conv layers, as Keras and dlviz do."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


_TRAINING = '''

FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
         "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (MNIST's images and labels), plain or gzip, as a uint8 tensor."""
    raw = path.read_bytes()
    if raw[:2] == b"\\x1f\\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:3] != b"\\x00\\x00\\x08" or raw[3] == 0:
        sys.exit(f"{path} is not an IDX file of unsigned bytes.")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    start = 4 + 4 * len(dims)
    if len(raw) - start != math.prod(dims):
        sys.exit(f"{path} is damaged: its header says {dims} but it holds {len(raw) - start} bytes.")
    return torch.frombuffer(bytearray(raw[start:]), dtype=torch.uint8).reshape(dims)


def find(folder: Path, stem: str) -> Path:
    for where in (folder, folder / "mnist", folder / "MNIST" / "raw"):
        for name in (stem, stem + ".gz"):
            if (where / name).is_file():
                return where / name
    sys.exit(f"No {stem}[.gz] in {folder} (nor in its mnist/ or MNIST/raw/ folder).")


def load(folder: str):
    folder = Path(folder).expanduser()
    data = {k: read_idx(find(folder, stem)) for k, stem in FILES.items()}
    return data["train_x"], data["train_y"].long(), data["test_x"], data["test_y"].long()


def split(n: int, val_fraction: float, seed: int = SPLIT_SEED):
    """dlviz's split: a seeded permutation, the first share for validation, both parts sorted."""
    n_val = min(math.floor(n * val_fraction + 0.5), max(n - 1, 0))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return torch.sort(perm[n_val:]).values, torch.sort(perm[:n_val]).values


def to_input(x: torch.Tensor) -> torch.Tensor:
    """(B, 28, 28) uint8 -> (B, 1, 28, 28) float in [0, 1]."""
    return x.unsqueeze(1).float().div_(255.0)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The multiplier of the learning rate at a step: constant, cosine decay, or a short warm-up then cosine."""
    if schedule == "constant" or total <= 1:
        return 1.0
    warm = max(1, int(WARMUP_FRACTION * total)) if schedule == "onecycle" else 0
    if step < warm:
        return (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def make_optimizer(params, r):
    params = list(params)
    name, lr, wd = r["optimizer"], r["lr"], r["weight_decay"]
    if name in ("sgd", "adam", "adamw"):
        kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
        extra = {"momentum": r["momentum"]} if name == "sgd" else {}
        try:
            return kind(params, lr=lr, weight_decay=wd, fused=True, **extra)
        except (RuntimeError, ValueError, TypeError):
            return kind(params, lr=lr, weight_decay=wd, **extra)
    kind = {"rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta}[name]
    return kind(params, lr=lr, weight_decay=wd)


@torch.no_grad()
def evaluate(model, x, y, batch_size=2048):
    """(mean loss, accuracy) over x, y."""
    model.eval()
    loss, correct = 0.0, 0
    for s in range(0, len(x), batch_size):
        out = model(to_input(x[s:s + batch_size])).float()
        loss += F.cross_entropy(out, y[s:s + batch_size], reduction="sum").item()
        correct += (out.argmax(1) == y[s:s + batch_size]).sum().item()
    model.train()
    return loss / max(len(x), 1), correct / max(len(x), 1)


def train(model, folder, recipe=RECIPE, device="cpu", log=print):
    """Train ``model`` in place; returns the test accuracy."""
    r = dict(recipe)
    device = torch.device(device)
    train_x, train_y, test_x, test_y = load(folder)
    if tuple(train_x.shape[1:]) != INPUT_SHAPE[1:]:
        sys.exit(f"The images are {tuple(train_x.shape[1:])}, the model reads {INPUT_SHAPE[1:]}.")
    tr, va = split(len(train_y), r["val_fraction"])
    if r["limit"]:  # a quick subset keeps the train / validation proportions
        n_val = math.ceil(r["limit"] * r["val_fraction"] / max(1e-9, 1 - r["val_fraction"]))
        tr, va = tr[:r["limit"]], va[:n_val]
    x, y = train_x[tr].to(device), train_y[tr].to(device)
    val_x, val_y = train_x[va].to(device), train_y[va].to(device)
    model.to(device).train()
    torch.manual_seed(r["seed"])
    gen = torch.Generator(device=device)
    gen.manual_seed(r["seed"])
    n = len(y)
    bs = min(r["batch_size"], n)
    total = math.ceil(n / bs) * r["epochs"]
    opt = make_optimizer(model.parameters(), r)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(r["schedule"], k, total))
    log(f"{MODEL_NAME!r}: {n:,} training images, {len(val_y):,} for validation, {len(test_y):,} for the test; "
        f"{r['optimizer']} at {r['lr']:g}, batch {bs}, {r['epochs']} epoch(s), schedule {r['schedule']}.")
    for epoch in range(1, r["epochs"] + 1):
        perm = torch.randperm(n, device=device, generator=gen)
        losses, correct = [], 0
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            out = model(to_input(x[idx]))
            loss = F.cross_entropy(out.float(), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if not math.isfinite(loss.item()):
                sys.exit(f"The loss became {loss.item()} in epoch {epoch}: the learning rate is too high.")
            losses.append(loss.item())
            correct += (out.detach().argmax(1) == y[idx]).sum().item()
        line = f"epoch {epoch}/{r['epochs']}: loss {sum(losses) / len(losses):.4f}, accuracy {correct / n:.2%}"
        if len(val_y):
            vl, vacc = evaluate(model, val_x, val_y)
            line += f"; validation loss {vl:.4f}, accuracy {vacc:.2%}"
        log(line)
    _, acc = evaluate(model, test_x.to(device), test_y.to(device))
    log(f"test accuracy {acc:.2%}")
    return acc


def main(argv=None):
    p = argparse.ArgumentParser(description=f"Train {MODEL_NAME!r} on MNIST (or Fashion-MNIST) IDX files.")
    p.add_argument("data", help="the folder with the four IDX files")
    p.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    p.add_argument("--limit", type=int, default=RECIPE["limit"], help="train on the first N training images")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--save", help="save the trained weights (a state_dict) to this file")
    a = p.parse_args(argv)
    train(model, a.data, dict(RECIPE, epochs=a.epochs, limit=a.limit), device=a.device)
    if a.save:
        torch.save(model.state_dict(), a.save)
        print(f"weights saved to {a.save}")


if __name__ == "__main__":
    main()
'''


def to_json(spec) -> str:
    return json.dumps(normalize(spec), indent=2)


def to_dot(built: Built, title: str = "", lang: str = "en") -> str:
    """A top-to-bottom Graphviz diagram: one box per layer with its output shape; the plain words ("Input",
    "params", "skip") in ``lang``, the layer names as the layer table writes them."""
    colours = {
        "core": "#dbeafe",
        "conv": "#dcfce7",
        "activation": "#fef9c3",
        "regularise": "#f3e8ff",
        "sequence": "#ffe4e6",
    }
    out = [
        'digraph G {',
        'rankdir=TB; nodesep=0.2; ranksep=0.25;',
        'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#94a3b8"];',
        'edge [color="#64748b", arrowsize=0.6];',
        f'in [label="{translate("Input", lang)}\\n{L.fmt_shape(built.input_shape)}", fillcolor="#e2e8f0"];',
    ]
    prev = "in"
    for i, r in enumerate(built.table):
        cat = L.LAYER_TYPES[r.type].category
        params = "\\n" + translate("{n:,} params", lang, n=r.params) if r.params else ""
        label = f"{r.label}\\n{L.fmt_shape(r.output_shape)}{params}".replace('"', "'")
        out.append(f'n{i} [label="{label}", fillcolor="{colours.get(cat, "#f1f5f9")}"];')
        out.append(f"{prev} -> n{i};")
        if r.type == "residual":
            out.append(
                f'{prev} -> n{i} [style=dashed, label=" {translate("skip", lang)}", fontsize=9, constraint=false];'
            )
        prev = f"n{i}"
    out.append("}")
    return "\n".join(out)
