"""How fast looking inside is: one input through every layer, the pictures, the page in a browser.

    python bench/inspect_speed.py [--data-dir ../shared/data/mnist] [--browser] [--tsne]

Part 1 (in process, median of repeated calls, untrained weights of each preset: the cost does not
depend on the values) times what each "Look inside" page computes. Part 2 times gradient recording
against the same training without it (interleaved, best of 3). Part 3 (--browser) starts the app,
trains nothing, and times in Chromium how long the Inspect page takes to show a new test image after
the number changes, and the Errors page to open another cell. Targets (issue 3, this 2-core CPU):
activations under 200 ms, a page update under 1 s, PCA of 2,000 points under 2 s, t-SNE under 20 s,
gradient recording at most 10% slower.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlviz.data import load_dataset  # noqa: E402
from dlviz.inspect import activations  # noqa: E402
from dlviz.inspect.embed import layer_outputs, pca, sample_indices, tsne  # noqa: E402
from dlviz.inspect.errors import predict_all  # noqa: E402
from dlviz.inspect.filters import conv_layers, filters, weight_stats  # noqa: E402
from dlviz.inspect.units import unit_scores  # noqa: E402
from dlviz.modality.preprocess import to_mnist  # noqa: E402
from dlviz.models import PRESETS, build  # noqa: E402
from dlviz.plots.activations import dense_strip, feature_map_grid  # noqa: E402
from dlviz.plots.filters import filter_grid, weight_histograms  # noqa: E402
from dlviz.train import GradientRecording, TrainConfig, fit, image_transform, prepare_data  # noqa: E402
from dlviz.train.gradients import GradRecorder  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"


def timed(fn, repeat: int = 5) -> float:
    fn()  # warm-up: first calls allocate
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def inspect_page_pictures(model, x):
    layers, _ = activations(model, x)
    for a in layers:
        if len(a.shape) in (2, 3):
            feature_map_grid(a.values)
        elif len(a.shape) == 1:
            dense_strip(a.values).to_json()


def part1(raw) -> list[tuple]:
    rows = []
    x = image_transform(raw.test_x[:1])[0]
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[60:220, 130:150, :3] = 255  # a "1"
    sub = raw.test_x[sample_indices(raw.test_y, 2000)]
    for key in ("mlp", "cnn", "resnet", "deep-sigmoid"):
        model = build(PRESETS[key].spec, seed=0).module.eval()
        rows.append((key, "activations of every layer, one input", timed(lambda: activations(model, x), 20), 0.2))
        rows.append(
            (key, "Inspect page: activations + all pictures", timed(lambda: inspect_page_pictures(model, x)), None)
        )
        rows.append(
            (key, "drawing -> 28x28 + every layer", timed(lambda: activations(model, to_mnist(canvas).x)), None)
        )
        if conv_layers(model):
            name = conv_layers(model)[0][0]
            rows.append(
                (
                    key,
                    "Filters page: first-layer filters + histograms",
                    timed(
                        lambda: (
                            filter_grid(filters(model, name).numpy()),
                            weight_histograms(weight_stats(model)).to_json(),
                        )
                    ),
                    None,
                )
            )
        rows.append(
            (key, "Errors page: classify 10,000 test images", timed(lambda: predict_all(model, raw.test_x), 2), None)
        )
        layer = [n for n, _ in model.named_children()][-2]
        rows.append(
            (
                key,
                f"units: score all units of {layer}, 2,000 images",
                timed(lambda: unit_scores(model, sub, layer), 2),
                None,
            )
        )
        feats = layer_outputs(model, sub, layer).features
        rows.append(
            (
                key,
                f"embeddings: PCA of 2,000 points ({feats.shape[1]} numbers each)",
                timed(lambda: pca(feats, 2), 3),
                2.0,
            )
        )
    return rows


def part1_tsne(raw) -> list[tuple]:
    model = build(PRESETS["cnn"].spec, seed=0).module.eval()
    sub = raw.test_x[sample_indices(raw.test_y, 2000)]
    feats = layer_outputs(model, sub, "relu_3").features
    t0 = time.perf_counter()
    tsne(feats)
    return [("cnn", "embeddings: t-SNE of 2,000 points (750 iterations)", time.perf_counter() - t0, 20.0)]


def part2(raw) -> list[tuple]:
    rows = []
    for key, limit in (("mlp", 48000), ("cnn", 128 * 60), ("deep-sigmoid", 48000)):
        cfg = TrainConfig(epochs=1, limit=limit)
        data = prepare_data(raw, cfg, torch.device("cpu"))
        steps = -(-len(data.train_y) // cfg.batch_size)
        best = {False: float("inf"), True: float("inf")}
        for _ in range(3):
            for record in (False, True):
                model = build(PRESETS[key].spec, seed=0).module
                rec = GradRecorder(model, steps, steps) if record else None
                best[record] = min(
                    best[record], fit(model, data, cfg, [GradientRecording(rec)] if rec else []).train_seconds
                )
        rows.append(
            (
                key,
                f"train {len(data.train_y):,} images ({steps} steps)",
                best[False],
                best[True],
                best[True] / best[False] - 1,
            )
        )
    return rows


def part3(data_dir: str) -> list[tuple]:
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_util import launch, start_server
    from playwright.sync_api import expect, sync_playwright  # noqa: F401

    from dlviz.runs import RunStore
    from dlviz.train import TrainJob, run_job

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        run_job(
            TrainJob("mnist", PRESETS["cnn"].copy_spec(), TrainConfig(epochs=1, limit=3000), data_dir=data_dir),
            RunStore(home),
        )
        srv = start_server(home)
        try:
            with sync_playwright() as p:
                b = launch(p)
                page = b.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(srv.url + "/inspect")
                expect(page.get_by_role("heading", level=1, name="Inspect")).to_be_visible(timeout=90_000)
                page.wait_for_timeout(1500)
                box = page.get_by_label(re.compile(r"^Image number"))
                times = []
                first_img = "() => document.querySelector('[data-testid=\"stImage\"] img')?.src || ''"
                done = (
                    "prev => (document.querySelector('[data-testid=\"stImage\"] img')?.src || '') !== prev"
                    " && !document.querySelector('[data-stale=\"true\"]')"
                    " && !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                )
                for i in range(1, 8):
                    prev = page.evaluate(first_img)
                    box.fill(str(i))
                    t0 = time.perf_counter()
                    box.press("Enter")
                    page.wait_for_function(done, arg=prev, timeout=30_000, polling=20)
                    times.append(time.perf_counter() - t0)
                    page.wait_for_timeout(300)
                rows.append(("Inspect page, CNN: another test image, until drawn", statistics.median(times), 1.0))
                # a stroke on the canvas: from letting go of the mouse to the page drawn again
                page.get_by_test_id("stRadio").get_by_text("Draw", exact=True).click()
                canvas = page.locator("canvas.upper-canvas")
                expect(canvas).to_be_visible(timeout=30_000)
                page.wait_for_timeout(1500)
                box = canvas.bounding_box()
                last = (
                    "() => { const imgs = document.querySelectorAll('[data-testid=\"stImage\"] img');"
                    " return imgs.length ? imgs[0].src : ''; }"
                )
                times = []
                for k in range(5):
                    prev = page.evaluate(last)
                    x0 = box["x"] + box["width"] * (0.3 + 0.1 * k)
                    page.mouse.move(x0, box["y"] + box["height"] * 0.2)
                    page.mouse.down()
                    page.mouse.move(x0 + 10, box["y"] + box["height"] * 0.8, steps=10)
                    page.mouse.up()
                    t0 = time.perf_counter()
                    page.wait_for_function(done, arg=prev, timeout=30_000, polling=20)
                    times.append(time.perf_counter() - t0)
                    page.wait_for_timeout(500)
                rows.append(("Inspect page, CNN: a stroke on the canvas, until drawn", statistics.median(times), 1.0))
                b.close()
        finally:
            srv.stop()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    ap.add_argument("--browser", action="store_true", help="also time page updates in Chromium")
    ap.add_argument("--tsne", action="store_true", help="also time a 2,000-point t-SNE (about 10 s)")
    ap.add_argument("--skip-pages", action="store_true", help="leave out part 1 (the per-page computations)")
    a = ap.parse_args()
    raw = load_dataset("mnist", a.data_dir)
    print(f"\nLooking inside, {torch.get_num_threads()} CPU threads, torch {torch.__version__}\n")
    print(f"| {'model':<12} | {'what':<58} | {'ms':>9} | {'target':>7} |")
    print(f"|{'-' * 14}|{'-' * 60}|{'-' * 11}|{'-' * 9}|")
    rows = ([] if a.skip_pages else part1(raw)) + (part1_tsne(raw) if a.tsne else [])
    for key, what, secs, target in rows:
        tgt = f"{target * 1000:,.0f}" if target else ""
        print(f"| {key:<12} | {what:<58} | {secs * 1000:9,.1f} | {tgt:>7} |")
    print("\nGradient recording (per-layer norms every step, histograms at 13 steps), best of 3, interleaved\n")
    print(f"| {'model':<12} | {'what':<34} | {'without s':>9} | {'with s':>8} | {'cost':>6} |")
    print(f"|{'-' * 14}|{'-' * 36}|{'-' * 11}|{'-' * 10}|{'-' * 8}|")
    for key, what, off, on, cost in part2(raw):
        print(f"| {key:<12} | {what:<34} | {off:9.2f} | {on:8.2f} | {cost:+6.1%} |")
    if a.browser:
        print("\nIn Chromium (median of 7 test images / 5 strokes)\n")
        print(f"| {'what':<56} | {'s':>6} | {'target':>6} |")
        print(f"|{'-' * 58}|{'-' * 8}|{'-' * 8}|")
        for what, secs, target in part3(a.data_dir):
            print(f"| {what:<56} | {secs:6.2f} | {target:6.1f} |")


if __name__ == "__main__":
    main()
