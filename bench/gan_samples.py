"""A GAN run's samples from the fixed noise (the Train page's grid) before training and at chosen epochs, side by side
in one PNG, with each grid's diversity printed (docs/performance.md, "A GAN on MNIST").

    python bench/gan_samples.py RUN_ID OUT.png [step-0,epoch-1,...]
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlviz.models.gan import build_gan, fixed_noise
from dlviz.plots.figures import tile
from dlviz.runs import RunStore, load_state_into
from dlviz.tasks.generation import diversity, to_uint8

run_id, out = sys.argv[1], sys.argv[2]
store = RunStore()
rec = store.get(run_id)
gan = build_gan(rec.spec).module
z = fixed_noise(gan.latent)
tags = ["step-0"] + sorted(
    (t for t in store.list_snapshots(run_id) if t.startswith("epoch-")), key=lambda t: int(t[6:])
)
keep = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None
tags = [t for t in tags if keep is None or t in keep]
panels = []
for tag in tags:
    load_state_into(gan, store.load_snapshot(run_id, tag))
    s = gan.sample(z)
    print(tag, "diversity", round(diversity(s), 4))
    sheet = 255 - tile(np.asarray(to_uint8(s)), 8, 2, fill=0)  # ink dark on white, as the app draws digits
    img = Image.fromarray(sheet.astype(np.uint8)).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST)
    label = "before training" if tag == "step-0" else f"epoch {tag[6:]}"
    canvas = Image.new("L", (img.width, img.height + 24), 255)
    canvas.paste(img, (0, 24))
    ImageDraw.Draw(canvas).text((4, 4), label, fill=0)
    panels.append(canvas)
gap = 16
W = sum(p.width for p in panels) + gap * (len(panels) - 1)
fig = Image.new("L", (W, panels[0].height), 255)
x = 0
for p in panels:
    fig.paste(p, (x, 0))
    x += p.width + gap
fig.save(out)
print(out, fig.size)
