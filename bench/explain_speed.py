"""How fast explanations are: every method through dlviz's batched registry against plain Captum calls.

    python bench/explain_speed.py [--data-dir ../shared/data/mnist] [--device cpu|cuda] [--repeat 7]

For the CNN preset (trained for one epoch on 6,000 images, so the maps and checks mean something) and
one MNIST test image: each method's time through ``dlviz.explain.attribute`` (median of ``--repeat``
calls after a warm-up, including the private copy of the model), beside the same method called the
ordinary way (Captum's defaults: one forward pass per occluded window or per perturbation), the compare
view's total (the page's four default methods, then every method), and the sanity checks. Targets
(issue 5, 2-core CPU): each gradient method < 50 ms, IG with 50 steps < 50 ms, occlusion 4x4 stride 2
< 300 ms, the compare view < 1.5 s; on a GPU every method < 20 ms.
"""

from __future__ import annotations

import argparse
import statistics
import warnings
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlviz.data import load_dataset  # noqa: E402
from dlviz.explain import METHODS, attribute, checks  # noqa: E402
from dlviz.models import PRESETS, build  # noqa: E402
from dlviz.train import TrainConfig, fit, image_transform, prepare_data  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"
PAGE_DEFAULT = ("saliency", "integrated_gradients", "grad_cam", "occlusion")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeat: int) -> float:
    fn()
    sync(device)
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def plain_captum(model, xb, target):
    """The ordinary way: Captum's classes with their defaults (and the same method settings as dlviz's)."""
    import captum.attr as ca

    mask = torch.arange(49, device=xb.device).view(7, 7).repeat_interleave(4, 0).repeat_interleave(4, 1)[None, None]
    last_conv = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]

    def grad_cam():
        cam = ca.LayerGradCam(model, last_conv).attribute(xb, target=target, relu_attributions=True)
        return torch.nn.functional.interpolate(cam, size=xb.shape[-2:], mode="bilinear")

    return {
        "saliency": lambda: ca.Saliency(model).attribute(xb, target=target),
        "input_x_gradient": lambda: ca.InputXGradient(model).attribute(xb, target=target),
        "integrated_gradients": lambda: ca.IntegratedGradients(model).attribute(xb, target=target, n_steps=50),
        "smoothgrad": lambda: ca.NoiseTunnel(ca.Saliency(model)).attribute(xb, target=target, nt_type="smoothgrad",
                                                                        nt_samples=20, stdevs=0.15),
        "deeplift": lambda: ca.DeepLift(model).attribute(xb, target=target, baselines=xb * 0),
        "gradient_shap": lambda: ca.GradientShap(model).attribute(xb, target=target, n_samples=50, stdevs=0.1,
                                                                  baselines=torch.zeros(3, *xb.shape[1:])),
        "grad_cam": grad_cam,
        "guided_grad_cam": lambda: ca.GuidedGradCam(model, last_conv).attribute(xb, target=target),
        "occlusion": lambda: ca.Occlusion(model).attribute(xb, target=target, sliding_window_shapes=(1, 4, 4),
                                                           strides=(1, 2, 2)),
        "kernel_shap": lambda: ca.KernelShap(model).attribute(xb, target=target, feature_mask=mask, n_samples=200),
        "lime": lambda: ca.Lime(model).attribute(xb, target=target, feature_mask=mask, n_samples=200),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")            # Captum's notes about hooks and requires_grad
    device = torch.device(a.device)
    torch.manual_seed(0)
    raw = load_dataset("mnist", a.data_dir)
    cfg = TrainConfig(epochs=1, limit=6000, batch_size=128, lr=3e-3)
    model = build(PRESETS["cnn"].spec, seed=0).module
    fit(model, prepare_data(raw, cfg, torch.device("cpu")), cfg)
    model = model.to(device).eval()
    x = image_transform(raw.test_x[:1])[0].to(device)          # (1, 28, 28): a 7
    with torch.no_grad():
        target = int(model(x[None]).argmax())
    print(f"CNN preset, test image 0 (label {int(raw.test_y[0])}, predicted {target}), device {device}, "
          f"{torch.get_num_threads()} threads, median of {a.repeat}\n")

    private = build(PRESETS["cnn"].spec, seed=0).module.to(device).eval()
    private.load_state_dict(model.state_dict())
    for p in private.parameters():
        p.requires_grad_(False)
    xb = x[None].clone().requires_grad_(True)
    plain = plain_captum(private, xb, target)
    print(f"{'method':<24}{'dlviz':>10}{'plain Captum':>14}{'ratio':>8}")
    times = {}
    for key, m in METHODS.items():
        times[key] = timed(lambda: attribute(model, x, target, key), device, a.repeat)
        p = timed(plain[key], device, max(1, a.repeat // 2)) if key in plain else float("nan")
        print(f"{m.title:<24}{times[key] * 1000:>8.1f}ms{p * 1000:>12.1f}ms{p / times[key]:>7.1f}x")
    page = [k for k in PAGE_DEFAULT if k in METHODS]
    print(f"\ncompare view, the page's default methods ({', '.join(page)}): "
          f"{timed(lambda: [attribute(model, x, target, k) for k in page], device, 3) * 1000:.0f} ms")
    print(f"compare view, all {len(METHODS)} methods: "
          f"{timed(lambda: [attribute(model, x, target, k) for k in METHODS], device, 3) * 1000:.0f} ms")

    print("\nsanity checks")
    ig = attribute(model, x, target, "integrated_gradients")
    for key in ("saliency", "integrated_gradients", "grad_cam", "occlusion"):
        if key not in METHODS:
            continue
        amap = attribute(model, x, target, key).map
        t_rand = timed(lambda: checks.randomisation_test(model, x, target, key), device, 3)
        t_curve = timed(lambda: checks.deletion_insertion(model, x, target, amap), device, 3)
        r = checks.randomisation_test(model, x, target, key)
        c = checks.deletion_insertion(model, x, target, amap)
        print(f"  {METHODS[key].title:<22} randomisation {t_rand * 1000:6.0f} ms (similarity after all layers "
              f"{r.similarity[-1]:+.2f}, {'passed' if r.passed else 'failed'}); deletion/insertion "
              f"{t_curve * 1000:5.0f} ms (deletion AUC {c.deletion_auc:.2f} vs random {c.random_deletion_auc:.2f}, "
              f"insertion {c.insertion_auc:.2f} vs {c.random_insertion_auc:.2f})")
    k = checks.completeness(ig)
    print(f"  IG completeness: sum {k.attribution_sum:.4f}, f(x)-f(baseline) {k.output_difference:.4f}, "
          f"{k.relative:.2%} apart")


if __name__ == "__main__":
    main()
