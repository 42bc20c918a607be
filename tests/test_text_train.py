"""Training text models: runs, saved vocabularies, evaluation and the classic TF-IDF baseline (no streamlit)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dlviz.data import load_dataset
from dlviz.modality import TEXT
from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob, evaluate_run, load_run, recipe_for, run_job
from dlviz.train.baseline import tfidf_baseline

RT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "rt-polarity"


@pytest.fixture(scope="module")
def rt_dir() -> Path:
    if not (RT_DIR / "rt-polarity.pos").exists():
        pytest.skip("../shared/data/rt-polarity is not present")
    return RT_DIR


@pytest.fixture(scope="module")
def bag_run(rt_dir, tmp_path_factory):
    """One quick bag-of-embeddings run on 3,000 rt-polarity sentences, shared by the tests below."""
    store = RunStore(tmp_path_factory.mktemp("home"))
    job = TrainJob(
        "rt-polarity", PRESETS["bag"].copy_spec(), TrainConfig(epochs=2, lr=1e-2, limit=3000), data_dir=str(rt_dir)
    )
    res = run_job(job, store)
    return store, res


def test_text_run_end_to_end(bag_run):
    store, res = bag_run
    assert res.status == "finished", res.message
    rec = store.get(res.run_id)
    s = rec.settings
    assert s["kind"] == "text" and s["language"] == "en" and s["max_len"] == 56
    assert s["classes"] == ["negative", "positive"] and s["train_size"] == 3000 and s["val_size"] == 750
    # the spec saved with the run has the dataset's vocabulary size, so it rebuilds without the dataset
    assert rec.spec["layers"][0]["vocab"] == s["vocab_size"] == 10_000
    assert res.params == 10_000 * 64 + 64 * 2 + 2
    assert 0.6 < res.test_accuracy <= 1.0  # 2 epochs on 3,000 sentences: about 70%
    # the text preview: the first test sentences with their probabilities, for the Train page
    prev = rec.metrics["test_preview"]
    assert len(prev["texts"]) == len(prev["indices"]) == len(prev["probs"]) >= 12
    d = load_dataset("rt-polarity", str(RT_DIR))
    assert prev["texts"][0] == d.test_texts[0]
    assert all(abs(sum(p) - 1) < 1e-3 for p in prev["probs"])
    assert sum(map(sum, prev["confusion"])) == len(d.test_y) == 2132


def test_vocab_saved_and_reloaded(bag_run, rt_dir):
    store, res = bag_run
    assert store.has_record(res.run_id, "vocab")
    model, rec, vocab = load_run(res.run_id, store, with_vocab=True)
    d = load_dataset("rt-polarity", str(rt_dir))
    assert vocab == d.vocab and len(vocab) == 10_000
    sentence = "a gripping , funny and moving film , with a weak ending ."
    assert vocab.encode(sentence) == d.vocab.encode(sentence)
    assert vocab.encode("zzqx unheardofword") == [1, 1]  # UNK
    # the reloaded model gives the saved run's test accuracy from the saved vocabulary's encoding
    ev = evaluate_run(res.run_id, store, str(rt_dir))
    assert ev["test_accuracy"] == pytest.approx(res.test_accuracy, abs=1e-6) and ev["test_size"] == 2132
    ids = d.test_x[:5]
    with torch.no_grad():
        assert model(ids).shape == (5, 2)
    assert load_run(res.run_id, store)[1].id == res.run_id  # the two-value form still works


def test_baseline_in_the_metrics(bag_run):
    store, res = bag_run
    bl = store.get(res.run_id).metrics["baseline"]
    assert res.baseline == bl
    assert bl["name"] == "TF-IDF + logistic regression" and bl["train_size"] == 3000  # the deep model's split
    assert 0.6 < bl["test_accuracy"] < 0.95 and bl["seconds"] < 30
    top = bl["top"]
    assert set(top) == {"negative", "positive"}
    assert all(w > 0 for _, w in top["positive"]) and all(w < 0 for _, w in top["negative"])


def test_baseline_on_the_full_split_is_sane(rt_dir):
    d = load_dataset("rt-polarity", str(rt_dir))
    from dlviz.train.runner import split_for

    tr, _ = split_for(len(d.train_y), TrainConfig())
    bl = tfidf_baseline([d.train_texts[i] for i in tr.tolist()], d.train_y[tr], d.test_texts, d.test_y, "en")
    assert 0.74 < bl.test_accuracy < 0.82  # measured 77.5%; TF-IDF bigrams + LR is known at about 76-79%
    assert bl.seconds < 10


def test_baseline_known_answers():
    pos = ["a good film", "good and fun", "really good", "fun fun"]
    neg = ["a bad film", "bad and dull", "really bad", "dull dull"]
    r = tfidf_baseline(pos + neg, [1] * 4 + [0] * 4, ["good", "so bad", "fun"], [1, 0, 1], "en")
    assert r.test_accuracy == 1.0 and r.train_size == 8
    words = {w for w, _ in r.top["1"][:3]}
    assert "good" in words
    zh = tfidf_baseline(
        ["很好", "好看", "非常好", "差", "很差", "太差了"], [1, 1, 1, 0, 0, 0], ["好", "差劲"], [1, 0], "zh"
    )
    assert zh.test_accuracy == 1.0 and zh.features == "character unigrams and bigrams"
    assert tfidf_baseline(["only one class", "here"], [1, 1], ["x"], [1], "en") is None
    assert tfidf_baseline(["", " "], [0, 1], ["x"], [1], "en") is None


def test_embedding_size_caps_the_vocabulary(rt_dir, tmp_path):
    store = RunStore(tmp_path)
    spec = {
        "name": "small",
        "layers": [
            {"type": "embedding", "vocab": 500, "dim": 8},
            {"type": "timepool", "mode": "mean"},
            {"type": "dense", "units": 2},
        ],
    }
    res = run_job(
        TrainJob("rt-polarity", spec, TrainConfig(epochs=1, limit=500), data_dir=str(rt_dir), baseline=False), store
    )
    assert res.status == "finished", res.message
    rec = store.get(res.run_id)
    assert rec.settings["vocab_size"] == 500 and rec.spec["layers"][0]["vocab"] == 500
    assert "baseline" not in rec.metrics and res.baseline is None
    _, _, vocab = load_run(res.run_id, store, with_vocab=True)
    assert len(vocab) == 500 and max(vocab.encode("the film is a masterpiece of unusual weirdness")) < 500


def test_loaded_csv_dataset_trains_and_reloads(tmp_path):
    from dlviz.data.user_csv import load_csv_dataset

    rows = (
        ["text,label"]
        + [f"great lovely film number {i},pos" for i in range(40)]
        + [f"awful boring film number {i},neg" for i in range(40)]
    )
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    data = load_csv_dataset(path)
    store = RunStore(tmp_path / "home")
    res = run_job(TrainJob("csv", PRESETS["bag"].copy_spec(), TrainConfig(epochs=3, lr=3e-2), data=data), store)
    assert res.status == "finished", res.message
    assert res.test_accuracy == 1.0 and res.baseline["test_accuracy"] == 1.0
    model, rec, vocab = load_run(res.run_id, store, with_vocab=True)  # no registry entry needed
    assert rec.settings["classes"] == ["neg", "pos"] and vocab == data.vocab
    ids = data.encode(["great lovely", "awful boring"])[0]
    assert model(TEXT.transform(ids)).argmax(1).tolist() == [1, 0]


@pytest.mark.parametrize(
    "dataset,spec,needle",
    [
        ("rt-polarity", "mlp", "Embedding"),
        ("mnist", "lstm", "the dataset is images"),
    ],
)
def test_model_and_data_kinds_must_match(rt_dir, tmp_path, dataset, spec, needle):
    res = run_job(
        TrainJob(dataset, PRESETS[spec].copy_spec(), TrainConfig(epochs=1), data_dir=str(rt_dir)), RunStore(tmp_path)
    )
    assert res.status == "failed" and res.run_id is None
    assert needle in res.message


def test_unknown_dataset_is_a_plain_message(tmp_path):
    res = run_job(TrainJob("imdb", PRESETS["lstm"].copy_spec()), RunStore(tmp_path))
    assert res.status == "failed" and "rt-polarity" in res.message.format(**res.message_args)


def test_recipes():
    d = TrainConfig()
    assert recipe_for("cnn") == {
        "epochs": 3,
        "optimizer": d.optimizer,
        "lr": d.lr,
        "batch_size": d.batch_size,
        "schedule": d.schedule,
        "weight_decay": d.weight_decay,
    }
    assert recipe_for("no-such-preset") == {}
    for key in ("lstm", "gru", "transformer", "kim-cnn", "bag"):
        r = recipe_for(key, "rt-polarity")
        assert {"epochs", "lr", "batch_size"} <= set(r)
        TrainConfig(**r).validated()


def test_text_run_through_the_app_executor(rt_dir, tmp_path, monkeypatch):
    """The Train page's path: LocalExecutor, live gradients recorded, the baseline announced while it runs."""
    from dlviz.train import LocalExecutor

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    ex = LocalExecutor()
    job = ex.submit(
        TrainJob(
            "rt-polarity",
            PRESETS["kim-cnn"].copy_spec(),
            TrainConfig(epochs=1, limit=600, batch_size=50),
            data_dir=str(rt_dir),
        )
    )
    snap = ex.wait(job, 240)
    assert snap.status == "finished", snap.text
    res = snap.result
    store = RunStore(tmp_path)
    rec = store.get(res.run_id)
    assert store.has_record(res.run_id, "gradients") and store.has_record(res.run_id, "vocab")
    assert [g for g in store.load_record(res.run_id, "gradients")["layers"]][:1] == ["embedding_1"]
    assert rec.metrics["baseline"]["train_size"] == 600 and "epoch-1" in store.list_snapshots(res.run_id)
