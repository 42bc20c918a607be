"""Embeddings speed and quality: layer features, PCA, our t-SNE and scikit-learn's, on full MNIST.

    python bench/inspect_embed.py [--n 2000] [--presets mlp cnn] [--train-steps 300] [--data-dir ../shared/data/mnist]

For each preset: a model trained for ``--train-steps`` Adam steps (batch 128; 0 = untrained), then
for ``--n`` stratified test images at the default layer (the last hidden one):
  layer_features   the forward pass with the hook
  PCA              2-D PCA with the explained ratio
  t-SNE (ours)     dlviz.inspect.embed.tsne, in the main thread and in a worker thread (as Streamlit runs it)
  t-SNE (sklearn)  sklearn.manifold.TSNE(init="pca", perplexity=30), Barnes-Hut, its default 1000 iterations
  HTML             the hover scatter with its image sprite
and layer_features + PCA for the first layer too (the widest: 21,632 numbers per image for the CNN).
Quality columns: trustworthiness (k=10, sklearn.manifold.trustworthiness, against the layer's features)
and the share of each point's 10 nearest map neighbours with the same label. Targets on this 2-core CPU:
PCA under 2 s, t-SNE under 20 s. Timings on a shared machine vary; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlviz.data import load_dataset  # noqa: E402
from dlviz.inspect.embed import default_layer, knn_agreement, layer_outputs, pca, sample_indices, tsne  # noqa: E402
from dlviz.models import PRESETS, build  # noqa: E402
from dlviz.plots.embedding import embedding_html  # noqa: E402


def quick_train(preset: str, data, steps: int):
    model = build(PRESETS[preset].copy_spec(), (1, 28, 28), 10, seed=0).module
    if steps <= 0:
        return model
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        i = torch.randint(0, len(data.train_y), (128,), generator=g)
        loss = F.cross_entropy(model(data.train_x[i].unsqueeze(1).float() / 255), data.train_y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def in_thread(fn):
    box = {}
    th = threading.Thread(target=lambda: box.setdefault("out", timed(fn)))
    th.start()
    th.join()
    return box["out"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--presets", nargs="+", default=["mlp", "cnn"])
    ap.add_argument("--train-steps", type=int, default=300)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    args = ap.parse_args()

    from sklearn.manifold import TSNE, trustworthiness

    data = load_dataset("mnist", args.data_dir)
    idx = sample_indices(data.test_y, args.n, seed=0)
    x, y = data.test_x[idx], data.test_y[idx]
    print(
        f"MNIST test images: {len(idx):,} of {len(data.test_y):,}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}\n"
    )
    rows = []
    for preset in args.presets:
        model = quick_train(preset, data, args.train_steps)
        layer = default_layer([n for n, _ in model.named_children()])
        out, t_feat = timed(lambda: layer_outputs(model, x, layer))
        f = out.features
        acc = float((out.preds == y).float().mean())
        tag = f"{preset} ({args.train_steps} steps, acc {acc:.1%})"
        rows.append((tag, layer, f"layer_features ({f.shape[1]:,} per image)", t_feat, None, None))
        (coords, ratio), t_pca = timed(lambda: pca(f, 2))
        rows.append(
            (
                tag,
                layer,
                f"PCA (keeps {float(ratio.sum()):.1%})",
                t_pca,
                trustworthiness(f.numpy(), coords.numpy(), n_neighbors=10),
                knn_agreement(coords, y),
            )
        )
        ours, t_ours = timed(lambda: tsne(f))
        rows.append(
            (
                tag,
                layer,
                "t-SNE ours (main thread)",
                t_ours,
                trustworthiness(f.numpy(), ours.numpy(), n_neighbors=10),
                knn_agreement(ours, y),
            )
        )
        ours2, t_ours2 = in_thread(lambda: tsne(f))
        rows.append(
            (
                tag,
                layer,
                "t-SNE ours (worker thread)",
                t_ours2,
                trustworthiness(f.numpy(), ours2.numpy(), n_neighbors=10),
                knn_agreement(ours2, y),
            )
        )
        sk, t_sk = timed(lambda: TSNE(perplexity=30, init="pca", random_state=0).fit_transform(f.numpy()))
        rows.append(
            (
                tag,
                layer,
                "t-SNE sklearn (Barnes-Hut)",
                t_sk,
                trustworthiness(f.numpy(), sk, n_neighbors=10),
                knn_agreement(torch.as_tensor(sk), y),
            )
        )
        html, t_html = timed(
            lambda: embedding_html(
                ours, x.numpy(), y.numpy(), out.preds.numpy(), [str(i) for i in range(10)], indices=idx.numpy()
            )
        )
        wide = [n for n, _ in model.named_children()][0]  # the first layer: the widest output
        fw, t_fw = timed(lambda: layer_outputs(model, x, wide).features)
        rows.append((tag, wide, f"layer_features ({fw.shape[1]:,} per image)", t_fw, None, None))
        (cw, rw), t_pw = timed(lambda: pca(fw, 2))  # noqa: F821 (fw is bound above; ruff reads the del below)
        rows.append((tag, wide, f"PCA (keeps {float(rw.sum()):.1%})", t_pw, None, knn_agreement(cw, y)))
        del fw
        rows.append((tag, layer, f"HTML scatter ({len(html.encode()) / 1e6:.2f} MB)", t_html, None, None))

    head = ("model", "layer", "step", "seconds", "trust@10", "kNN same label")
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(3)]
    print(f"{head[0]:<{w[0]}}  {head[1]:<{w[1]}}  {head[2]:<{w[2]}}  {head[3]:>8}  {head[4]:>8}  {head[5]:>14}")
    for m, layer, step, sec, tr, knn in rows:
        trs = f"{tr:.4f}" if tr is not None else "-"
        knns = f"{knn:.3f}" if knn is not None else "-"
        print(f"{m:<{w[0]}}  {layer:<{w[1]}}  {step:<{w[2]}}  {sec:8.2f}  {trs:>8}  {knns:>14}")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
