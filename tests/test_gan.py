"""The GAN (issue 16 item 2): the collapse detector's known answers, the generator learning the data, the run."""

from __future__ import annotations

import math

import pytest
import torch

from dlviz.models.gan import build_gan, fixed_noise
from dlviz.tasks import GENERATION, get_task, task_of_spec
from dlviz.tasks.generation import (
    COLLAPSE,
    D_WINS,
    JUDGE_AFTER,
    collapsed,
    diversity,
    notice,
)

SMALL = {"name": "dcgan", "task": "generation", "latent": 16, "width": 8}  # a test-sized DCGAN


def test_diversity_known_answers():
    black, white = torch.zeros(1, 1, 28, 28), torch.ones(1, 1, 28, 28)
    half = torch.zeros(1, 1, 28, 28)
    half[..., :14] = 1.0  # differs from black on half of the pixels
    assert diversity(black.repeat(10, 1, 1, 1)) == 0.0  # all alike: no diversity at all
    assert diversity(torch.cat([black, white])) == pytest.approx(1.0)  # every pixel differs by 1
    assert diversity(torch.cat([black, half])) == pytest.approx(math.sqrt(0.5))
    # three images: pairs (black, white) 1, (black, half) sqrt(.5), (white, half) sqrt(.5), each counted twice
    assert diversity(torch.cat([black, white, half])) == pytest.approx((1 + 2 * math.sqrt(0.5)) / 3)
    assert diversity(black) == 0.0


def test_collapse_is_told_and_variety_is_not():
    data = diversity(torch.rand(64, 1, 28, 28))
    same = torch.rand(1, 1, 28, 28).repeat(64, 1, 1, 1) + 0.01 * torch.rand(64, 1, 28, 28)
    assert collapsed(diversity(same), data)
    assert not collapsed(diversity(torch.rand(64, 1, 28, 28)), data)
    row = [JUDGE_AFTER, 1.0, 0.9, 0.7, 1.2, 0.7, 0.7]  # a healthy game: both near 70%
    found = notice(row, diversity(same), data)
    assert found is not None and found[0] == COLLAPSE and found[1]["ratio"] < 0.05
    assert notice(row, data, data) is None
    assert notice([JUDGE_AFTER - 1, *row[1:]], diversity(same), data) is None  # too early to judge


def test_discriminator_winning_outright_is_told():
    wins = [1000, 3.0, 6.5, 0.995, 0.01, 0.99, 1.0]  # right on 99% real, 100% fake, generator loss 6.5
    found = notice(wins, None, None)
    assert found is not None and found[0] == D_WINS and found[1]["fake"] == 1.0
    assert notice([1000, 3.0, 1.1, 0.8, 1.0, 0.8, 0.8], None, None) is None


def test_the_task_is_found_from_the_spec():
    assert task_of_spec(SMALL) is GENERATION is get_task("generation")
    assert task_of_spec({"layers": [{"type": "flatten"}]}).name == "classification"
    gan = build_gan(SMALL, seed=0).module
    out = gan.sample(fixed_noise(16, 5))
    assert out.shape == (5, 1, 28, 28) and 0 <= out.min() and out.max() <= 1
    assert gan(out).shape == (5,)  # the discriminator: one logit per image
    assert torch.equal(fixed_noise(16, 5), fixed_noise(16, 5))


def _mean_image_distance(images: torch.Tensor, data_mean: torch.Tensor) -> float:
    return float((images.mean(0) - data_mean).pow(2).mean().sqrt())


@pytest.mark.slow  # about 15 s of CPU (3 epochs of 10 steps, the run saved and read back); longer on a busy machine
def test_the_generator_moves_towards_the_data(home, mnist_dir):
    """A short run on 640 digits: the generator's samples (from the fixed noise, read back from the run's
    snapshots) get closer to the data, by the distance between their mean image and the data's mean digit,
    and their pixel darkness gets closer to the data's (most of a digit is black background)."""
    from dlviz.data import load_dataset
    from dlviz.runs import RunStore
    from dlviz.runs.store import load_state_into
    from dlviz.train import TrainConfig, TrainJob, load_run, run_job

    cfg = TrainConfig(epochs=3, limit=640, batch_size=64, lr=2e-3, schedule="constant", precision="fp32")
    store = RunStore()
    res = run_job(TrainJob("mnist", SMALL, cfg, data_dir=str(mnist_dir)), store)
    assert res.status == "finished", res.message
    assert res.summary["generator_loss"] > 0 and res.summary["discriminator_loss"] > 0
    data = load_dataset("mnist", str(mnist_dir)).train_x[:640].float().div(255).unsqueeze(1)
    data_mean, data_dark = data.mean(0), (data < 0.1).float().mean()
    gan, rec = load_run(res.run_id, store)
    assert rec.settings["task"] == "generation"
    z = fixed_noise(gan.latent)
    after = gan.sample(z)
    load_state_into(gan, store.load_snapshot(res.run_id, "step-0"))
    before = gan.sample(z)
    d0, d1 = _mean_image_distance(before, data_mean), _mean_image_distance(after, data_mean)
    assert d1 < 0.6 * d0, (d0, d1)
    dark0, dark1 = (before < 0.1).float().mean(), (after < 0.1).float().mean()
    assert abs(dark1 - data_dark) < 0.8 * abs(dark0 - data_dark), (dark0, dark1, data_dark)
    assert "epoch-3" in store.list_snapshots(res.run_id)  # the replay's grids
    live = rec.metrics["live"]
    assert len(live["grid"]) == 64 and len(live["grid"][0]) == 28
    rows = rec.metrics["train"]
    assert all(len(r) == 7 for r in rows)  # step, epoch, G loss, D accuracy, D loss, real and fake accuracy


@pytest.mark.slow  # trains a tiny run, then the app (AppTest): about 40 s on this busy machine
def test_train_page_shows_a_gan_run_and_its_replay(app, mnist_dir):
    """The Train page with "Draw new digits" chosen and a saved GAN run open: the DCGAN is the model to train,
    the run shows its two losses and the replay slider walks its epochs' grids."""
    from page_util import open_page

    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    cfg = TrainConfig(epochs=1, limit=128, batch_size=64, precision="fp32")
    res = run_job(TrainJob("mnist", SMALL, cfg, data_dir=str(mnist_dir)), RunStore())
    assert res.status == "finished", res.message
    at = open_page(app, "pages/train.py", run_id=res.run_id, _tr_task="generate")
    assert not at.exception, at.exception
    assert any("dcgan, 317,442 parameters" in m.value for m in at.markdown)  # the preset, not the Build page's
    labels = {m.label for m in at.metric}
    assert {"Generator loss", "Discriminator loss", "Real digits called real", "Generated digits caught"} <= labels
    assert "Test accuracy" not in labels
    slider = next(s for s in at.select_slider if s.label == "Replay: the samples over the epochs")
    assert list(slider.options) == ["before training", "epoch 1"] and slider.value == "epoch-1"
    slider.set_value("step-0").run()
    assert not at.exception, at.exception


def test_a_gan_stops_when_asked_and_reports_its_live_grid():
    """fit() with the generation task's own step: a stop still ends it at once ("stopped", the steps done), the
    curve rows carry the discriminator's numbers and the result the last live grid."""
    from dlviz.modality import image_transform
    from dlviz.train import Callback, Control, TrainConfig, fit
    from dlviz.train.engine import DeviceData

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (256, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.zeros(256, dtype=torch.long)
    data = DeviceData(x, y, x[:64], y[:64], x[:64], y[:64], image_transform)
    control, reports = Control(), []

    class StopAt3(Callback):
        def on_step_end(self, loop):
            if loop.step == 3:
                control.stop()

        def on_report(self, loop, p):
            reports.append(p)

    gan = build_gan(SMALL, seed=0).module
    cfg = TrainConfig(epochs=5, batch_size=32, lr=2e-4, precision="fp32", cpu_threads="fixed", record_gradients=False)
    res = fit(gan, data, cfg, [control, StopAt3()], GENERATION)
    assert res.status == "stopped" and res.steps == 3 and res.epochs_done == 0
    rows = res.history["train"]
    assert rows and all(len(r) == 7 for r in rows) and rows[-1][0] == 3
    assert all(0 <= r[k] <= 1 for r in rows for k in (3, 5, 6))  # accuracies
    assert reports and reports[-1].step == 3
    assert len(res.live["grid"]) == 64 and res.live["notice"] is None  # too early to judge
