"""The Autoencoder page (AppTest): reconstructions at a replay point, the latent space and its walk, denoising; an
autoencoder run is not offered to the classifier pages."""

from __future__ import annotations

from page_util import open_page

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob, run_job


def _trained(mnist_dir, noise: float = 0.0) -> str:
    cfg = TrainConfig(epochs=1, limit=500, batch_size=64, denoise=noise, record_gradients=False)
    res = run_job(TrainJob("mnist", PRESETS["autoencoder"].copy_spec(), cfg, data_dir=str(mnist_dir)), RunStore())
    assert res.status == "finished", res.message
    return res.run_id


def test_the_page_draws_every_view_and_follows_its_sliders(app, home, mnist_dir):
    rid = _trained(mnist_dir, noise=0.3)
    at = open_page(app, "pages/autoencoder.py", timeout=120, run_id=rid)
    assert at.title[0].value == "Autoencoder"
    assert [s.value for s in at.subheader] == [
        "Inputs and what the autoencoder gives back",
        "The latent space",
        "Denoising",
    ]
    captions = " ".join(c.value for c in at.caption)
    assert "from only 2 numbers" in captions and "placed at the 2 numbers" in captions
    assert "trained to clean images with noise of level 0.3" in captions
    assert at.slider(key="_ae_noise").value == 0.3
    before = [c.value for c in at.caption if c.value.startswith("Error against the original")][0]
    at.slider(key="_ae_noise").set_value(0.8).run()
    assert not at.exception, at.exception
    after = [c.value for c in at.caption if c.value.startswith("Error against the original")][0]
    assert before != after  # more noise: a larger error for the noisy row
    marker = at.get("imgs")[0].proto.imgs[0].url if at.get("imgs") else None
    at.slider(key="_ae_walk_at").set_value(1.0).run()
    assert not at.exception, at.exception
    assert marker is None or at.get("imgs")[0].proto.imgs[0].url != marker  # the decoder drew another point
    # the replay slider offers the saved epochs
    replay = list(at.select_slider)
    assert replay and "epoch 1" in replay[0].options


def test_in_chinese_and_the_inspect_page_leaves_autoencoders_out(app, home, mnist_dir):
    rid = _trained(mnist_dir)
    at = open_page(app, "pages/autoencoder.py", timeout=120, run_id=rid, lang="zh")
    assert at.title[0].value == "自编码器"
    assert "在干净的图像上训练" in " ".join(c.value for c in at.caption)
    at = open_page(app, "pages/inspect.py", timeout=120, run_id=rid)
    assert not at.selectbox(key="_insp_run").options if at.selectbox else True


def test_the_build_page_builds_an_autoencoder_preset_and_names_a_wrong_ending(app, home):
    from dlviz.models import PRESETS

    at = open_page(app, "pages/build.py", timeout=120, spec=PRESETS["conv-autoencoder"].copy_spec())
    assert not at.error, [e.value for e in at.error]
    shapes = [m.value for m in at.metric]
    assert "(1, 28, 28)" in shapes  # the output: an image of the input's shape
    wrong = PRESETS["autoencoder"].copy_spec()
    wrong["layers"] = wrong["layers"][:-2]  # no Sigmoid, no Reshape: 784 numbers
    at = open_page(app, "pages/build.py", timeout=120, spec=wrong)
    assert any("must give back an image" in e.value for e in at.error)


def test_the_train_page_offers_the_denoising_setting_and_shows_an_autoencoder_run(app, home, mnist_dir):
    from dlviz.models import PRESETS

    rid = _trained(mnist_dir)
    at = open_page(app, "pages/train.py", timeout=120, spec=PRESETS["autoencoder"].copy_spec(), run_id=rid)
    assert at.slider(key="_tr_noise").value == 0.0
    assert at.selectbox(key="_tr_recon_loss").value == "bce"
    metrics = {m.label: m.value for m in at.metric}
    assert "Test reconstruction error" in metrics and "%" not in metrics["Test reconstruction error"]
    assert "Test images and their reconstructions" in [s.value for s in at.subheader]
