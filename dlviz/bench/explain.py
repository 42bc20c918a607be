"""``python -m dlviz bench explain``: what an explanation costs a user, beside plain Captum, fairly.

For one model (a saved image run with ``--run``, else the CNN preset trained one epoch on 6,000 MNIST
images, seed 0) and one test image, every registered method is timed as a whole call of the public
``dlviz.explain.attribute`` (the private copy of the model included, everything the page waits for):

- ``first_s``: the first call of that method in this process (the cold figure a user meets first;
  ``captum_import_s``, importing ``captum.attr`` once per process, is timed separately before it);
- ``warm_median_s``: the median of ``repeat`` calls after it.

Beside it, the same method called the ordinary way on a copy of the model with the same settings:

- ``plain_default_s``: Captum's classes with their defaults (Occlusion, KernelShap and Lime then run
  one forward pass per window or sample: ``perturbations_per_eval=1``);
- ``plain_batched_s``: the same with Captum's own batching switched on (``perturbations_per_eval`` for
  Occlusion, KernelShap and Lime; ``internal_batch_size`` for Integrated Gradients, ``nt_samples_batch_size``
  for SmoothGrad: those already run in one batch by default). This is the fair row: ``speedup_vs_batched``
  is the only speed-up claimed. Methods with no batching switch report the same call twice.

GradientSHAP here uses black references only, Captum's usual choice; dlviz's default ("mixed": black,
blurred and noise references) costs the same per sample. Reading these timings never changes anything a
user trains or explains with.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import sys
import time
import warnings

import torch

from dlviz.bench.train import hardware
from dlviz.data import load_dataset
from dlviz.errors import RunError
from dlviz.explain import METHODS, attribute
from dlviz.modality import IMAGE, modality_of
from dlviz.models import PRESETS, build
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, fit, image_transform, load_run, prepare_data

PATCH_SAMPLES_DEFAULT = 200


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device, repeat: int) -> tuple[float, float]:
    """(first call seconds, median of ``repeat`` calls after it)."""
    t0 = time.perf_counter()
    fn()
    _sync(device)
    first = time.perf_counter() - t0
    out = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t0)
    return first, statistics.median(out)


def _patch_mask(patch: int, side: int, device) -> torch.Tensor:
    n = -(-side // patch)
    ids = torch.arange(n * n, device=device).view(n, n).repeat_interleave(patch, 0).repeat_interleave(patch, 1)
    return ids[:side, :side][None, None]


def plain_calls(model, xb: torch.Tensor, target: int, settings: dict[str, dict]) -> dict[str, tuple]:
    """method -> (default call, batched call or None when Captum has no batching switch for it, its switch)."""
    import captum.attr as ca

    side = xb.shape[-1]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    out: dict[str, tuple] = {}
    s = settings
    if "saliency" in s:
        absolute = bool(s["saliency"].get("absolute", True))
        out["saliency"] = (lambda: ca.Saliency(model).attribute(xb, target=target, abs=absolute), None, None)
    if "input_x_gradient" in s:
        out["input_x_gradient"] = (lambda: ca.InputXGradient(model).attribute(xb, target=target), None, None)
    if "integrated_gradients" in s:
        steps = int(s["integrated_gradients"].get("steps", 50))
        out["integrated_gradients"] = (
            lambda: ca.IntegratedGradients(model).attribute(xb, target=target, n_steps=steps),
            lambda: ca.IntegratedGradients(model).attribute(
                xb, target=target, n_steps=steps, internal_batch_size=steps
            ),
            {"internal_batch_size": steps},
        )
    if "smoothgrad" in s:
        n, noise = int(s["smoothgrad"].get("samples", 20)), float(s["smoothgrad"].get("noise", 0.15))
        out["smoothgrad"] = (
            lambda: ca.NoiseTunnel(ca.Saliency(model)).attribute(
                xb, target=target, nt_type="smoothgrad", nt_samples=n, stdevs=noise
            ),
            lambda: ca.NoiseTunnel(ca.Saliency(model)).attribute(
                xb, target=target, nt_type="smoothgrad", nt_samples=n, stdevs=noise, nt_samples_batch_size=n
            ),
            {"nt_samples_batch_size": n},
        )
    if "deeplift" in s:
        out["deeplift"] = (
            lambda: ca.DeepLift(model).attribute(xb, target=target, baselines=xb.detach() * 0),
            None,
            None,
        )
    if "gradient_shap" in s:
        n, noise = int(s["gradient_shap"].get("samples", 50)), float(s["gradient_shap"].get("noise", 0.1))
        refs = torch.zeros(3, *xb.shape[1:], device=xb.device)
        out["gradient_shap"] = (
            lambda: ca.GradientShap(model).attribute(xb, baselines=refs, target=target, n_samples=n, stdevs=noise),
            None,
            None,
        )
    if convs and "grad_cam" in s:
        last = convs[-1]

        def grad_cam():
            cam = ca.LayerGradCam(model, last).attribute(xb, target=target, relu_attributions=True)
            return torch.nn.functional.interpolate(cam, size=xb.shape[-2:], mode="bilinear")

        out["grad_cam"] = (grad_cam, None, None)
    if convs and "guided_grad_cam" in s:
        out["guided_grad_cam"] = (lambda: ca.GuidedGradCam(model, convs[-1]).attribute(xb, target=target), None, None)
    if "occlusion" in s:
        w, st = int(s["occlusion"].get("window", 4)), int(s["occlusion"].get("stride", 2))
        windows = ((side - w) // st + 1) ** 2
        out["occlusion"] = (
            lambda: ca.Occlusion(model).attribute(
                xb, target=target, sliding_window_shapes=(1, w, w), strides=(1, st, st)
            ),
            lambda: ca.Occlusion(model).attribute(
                xb, target=target, sliding_window_shapes=(1, w, w), strides=(1, st, st), perturbations_per_eval=windows
            ),
            {"perturbations_per_eval": windows},
        )
    for key, cls in (("kernel_shap", "KernelShap"), ("lime", "Lime")):
        if key not in s:
            continue
        patch, n = int(s[key].get("patch", 4)), int(s[key].get("samples", PATCH_SAMPLES_DEFAULT))
        mask = _patch_mask(patch, side, xb.device)

        def default(cls=cls, mask=mask, n=n):
            return getattr(ca, cls)(model).attribute(xb, target=target, feature_mask=mask, n_samples=n)

        def batched(cls=cls, mask=mask, n=n):
            return getattr(ca, cls)(model).attribute(
                xb, target=target, feature_mask=mask, n_samples=n, perturbations_per_eval=n
            )

        out[key] = (default, batched, {"perturbations_per_eval": n})
    return out


def _model_and_input(run_id: str | None, index: int, data_dir: str | None, device: torch.device):

    if run_id:
        model, rec = load_run(run_id, RunStore(), str(device))
        if modality_of(rec) is not IMAGE:
            raise RunError(
                "Run {run_id} reads sentences ({dataset}); 'bench explain' times the image methods. "
                "Pick an image run (see: python -m dlviz runs).",
                run_id=run_id,
                dataset=rec.dataset,
            )
        raw = load_dataset(rec.dataset, data_dir)
        name = f"run {run_id} ({rec.spec.get('name', 'model')}, {rec.dataset})"
    else:
        raw = load_dataset("mnist", data_dir)
        cfg = TrainConfig(epochs=1, limit=6000, batch_size=128, lr=3e-3, device="cpu", record_gradients=False)
        model = build(PRESETS["cnn"].spec, seed=0).module
        fit(model, prepare_data(raw, cfg, torch.device("cpu")), cfg)
        name = "the CNN preset, one epoch on 6,000 MNIST images"
    index = max(0, min(int(index), len(raw.test_y) - 1))
    model = model.to(device).eval()
    x = image_transform(raw.test_x[index : index + 1])[0].to(device)
    return model, x, int(raw.test_y[index]), name, index


def bench_explain(
    run_id: str | None = None,
    index: int = 0,
    data_dir: str | None = None,
    device: str = "cpu",
    repeat: int = 7,
    methods: list[str] | None = None,
) -> dict:

    warnings.filterwarnings("ignore")  # Captum's notes about hooks and requires_grad
    dev = torch.device(device)
    model, x, label, name, index = _model_and_input(run_id, index, data_dir, dev)
    with torch.no_grad():
        target = int(model(x[None]).argmax())
    keys = [k for k in (methods or list(METHODS)) if k in METHODS]
    t0 = time.perf_counter()
    import captum.attr  # noqa: F401  (once per process)

    captum_import = time.perf_counter() - t0
    plain_model = copy.deepcopy(model).eval()
    for p in plain_model.parameters():
        p.requires_grad_(False)
    xb = x[None].clone().requires_grad_(True)
    settings = {k: {n: s.default for n, s in METHODS[k].settings.items()} for k in keys}
    plain = plain_calls(plain_model, xb, target, settings)
    rows: dict[str, dict] = {}
    for key in keys:
        first, warm = _time(lambda: attribute(model, x, target, key), dev, repeat)  # noqa: B023 (called here)
        row = {"title": METHODS[key].title, "settings": settings[key], "first_s": first, "warm_median_s": warm}
        if key in plain:
            default, batched, switch = plain[key]
            _, plain_default = _time(default, dev, max(1, repeat // 2))
            plain_batched = plain_default if batched is None else _time(batched, dev, max(1, repeat // 2))[1]
            row.update(
                plain_default_s=plain_default,
                plain_batched_s=plain_batched,
                batched_params=switch,
                speedup_vs_batched=plain_batched / warm,
            )
        rows[key] = row

    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        load = None
    return {
        "model": name,
        "run_id": run_id,
        "index": index,
        "label": label,
        "target": target,
        "device": str(dev),
        "hardware": hardware(dev),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "repeat": repeat,
        "captum_import_s": captum_import,
        "load": load,
        "methods": rows,
    }


def table(r: dict) -> str:
    def ms(v):
        return "-" if v is None else f"{v * 1000:.1f} ms"

    head = (
        f"{r['model']}, test image {r['index']} (label {r['label']}, explained class {r['target']}), "
        f"{r['device']} ({r['hardware']}), warm figures: median of {r['repeat']}"
        + (f", load average {r['load'][0]:.1f}" if r.get("load") else "")
    )
    rows = [
        (
            "method (default settings)",
            "dlviz first call",
            "dlviz warm",
            "plain Captum (defaults)",
            "plain Captum batched",
            "vs batched",
        )
    ]
    for e in r["methods"].values():
        switch = e.get("batched_params")
        batched = ms(e.get("plain_batched_s")) + (
            f" ({', '.join(f'{k}={v}' for k, v in switch.items())})" if switch else " (no switch)"
        )
        ratio = e.get("speedup_vs_batched")
        rows.append(
            (
                e["title"],
                ms(e["first_s"]),
                ms(e["warm_median_s"]),
                ms(e.get("plain_default_s")),
                batched if "plain_batched_s" in e else "-",
                f"{ratio:.2f}x" if ratio else "-",
            )
        )
    w = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (x + 2) for x in w) + "|")
    tail = (
        f"importing captum.attr: {r['captum_import_s'] * 1000:.0f} ms once per process, before the first calls. "
        "'vs batched' is plain Captum batched / dlviz warm: above 1x dlviz is faster."
    )
    return "\n".join([head, "", *lines, "", tail])


def main(run_id: str | None, index: int, data_dir: str | None, device: str, as_json: bool, repeat: int) -> int:
    r = bench_explain(run_id, index, data_dir, device, repeat)
    print(json.dumps(r) if as_json else table(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(None, 0, None, "cpu", "--json" in sys.argv, 7))
