"""The modality registry: every registered kind of data loads a tiny dataset, encodes one user input,
batches it for a model and names its parts. No network (DLVIZ_OFFLINE=1, tiny datasets written here).

A new modality must add a maker to ``TINY`` and an input to ``USER_INPUT``: the first test fails until it does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dlviz.data import get_info, list_datasets
from dlviz.data.idx import write_idx
from dlviz.data.registry import ALL_DATASETS, IDX_FILES
from dlviz.errors import DataError
from dlviz.i18n import catalogue
from dlviz.modality import (
    IMAGE,
    MODALITIES,
    TEXT,
    Modality,
    encode_sentence,
    modality_of,
    modality_of_spec,
)
from dlviz.models import build
from dlviz.models.presets import PRESETS
from dlviz.runs.store import RunRecord


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    monkeypatch.delenv("DLVIZ_DATA_DIR", raising=False)


def _tiny_mnist(folder: Path) -> str:
    """12 training and 6 test 'digits' (a bright square whose place is the label) as IDX files."""
    rng = np.random.default_rng(0)

    def images(labels):
        x = rng.integers(0, 30, size=(len(labels), 28, 28), dtype=np.uint8)
        for i, y in enumerate(labels):
            x[i, 2 + 2 * y : 6 + 2 * y, 10:18] = 255
        return x

    train_y, test_y = np.arange(12, dtype=np.uint8) % 10, np.arange(6, dtype=np.uint8)
    for name, array in zip(IDX_FILES, (images(train_y), train_y, images(test_y), test_y)):
        write_idx(folder / name, array)
    return "mnist"


def _tiny_rt(folder: Path) -> str:
    """30 negative and 30 positive sentences in rt-polarity's two files."""
    neg = [f"a dull and tedious film number {i} ." for i in range(30)]
    pos = [f"a gripping and funny film number {i} !" for i in range(30)]
    (folder / "rt-polarity.neg").write_text("\n".join(neg) + "\n", encoding="utf-8")
    (folder / "rt-polarity.pos").write_text("\n".join(pos) + "\n", encoding="utf-8")
    return "rt-polarity"


TINY = {"image": _tiny_mnist, "text": _tiny_rt}


def _drawn_digit() -> np.ndarray:
    canvas = np.zeros((200, 200, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[40:160, 90:110, :3] = 255  # a white stroke on black: a "1"
    return canvas


USER_INPUT = {"image": _drawn_digit(), "text": "a gripping, funny film"}


def test_every_modality_has_a_tiny_dataset_and_an_input():
    assert set(MODALITIES) == set(TINY) == set(USER_INPUT)
    assert all(isinstance(m, Modality) and MODALITIES[m.name] is m for m in MODALITIES.values())


@pytest.mark.parametrize("kind", sorted(MODALITIES))
def test_a_modality_loads_encodes_batches_and_names_its_parts(kind, tmp_path):
    m = MODALITIES[kind]
    name = TINY[kind](tmp_path)
    # datasets: the registry's of this kind, and the tiny one loads from the folder
    assert m.datasets() and all(info.kind == kind for info in m.datasets())
    assert [i.key for i in m.datasets()] == [i.key for i in list_datasets(kind)]
    assert modality_of(name) is m and modality_of(get_info(name)) is m
    data = m.load(name, tmp_path)
    assert data.source == "folder" and modality_of(data) is m
    # one user input, encoded as a model reads it
    context = {"vocab": data.vocab, "max_len": data.max_len} if kind == "text" else {}
    encoded = m.encode(USER_INPUT[kind], **context)
    x_one = encoded.x if kind == "image" else encoded.ids
    assert x_one.dtype == m.input_dtype
    assert tuple(x_one.shape) == m.input_shape(data.info, getattr(data, "max_len", None))
    # a batch of stored examples, through the modality's transform, fits a model built for it
    x = m.transform(data.train_x[:4])
    assert x.dtype == m.input_dtype and tuple(x.shape[1:]) == m.input_shape(data.info, getattr(data, "max_len", None))
    preset = PRESETS[m.default_preset]
    assert preset.input == kind and modality_of_spec(preset.spec) is m
    vocab = {"vocab_size": len(data.vocab)} if kind == "text" else {}
    model = build(preset.spec, x.shape[1:], data.num_classes, **vocab).module.eval()
    with torch.no_grad():
        assert model(x).shape == (4, data.num_classes)
        assert model(x_one.unsqueeze(0)).shape == (1, data.num_classes)
    # one stored example as a view shows it
    ex = m.example(data, 0)
    assert ex.view == m.view and ex.label == int(data.train_y[0])
    # its parts, named in English and Chinese
    zh = catalogue("zh")
    for s in (m.title, m.part, m.parts, m.wrong_model):
        assert s and zh.get(s), s


def test_image_input_from_an_upload_keeps_its_notice():
    import io

    from PIL import Image

    frames = [Image.fromarray(_drawn_digit()[..., 0]), Image.fromarray(255 - _drawn_digit()[..., 0])]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = IMAGE.encode(buf.getvalue())
    assert out.x.shape == (1, 28, 28) and out.notices and "first one" in out.notices[0]
    with pytest.raises(DataError):
        IMAGE.encode(b"not an image")
    with pytest.raises(DataError, match="blank"):
        IMAGE.encode(np.zeros((50, 50), np.uint8))


def test_the_one_sentence_encoder(tmp_path):
    from dlviz.data.tokenize import build_vocab

    vocab = build_vocab(["a good film", "a bad film"], "en")
    e = encode_sentence(vocab, "A GOOD, surprising film", 4)
    assert e.tokens == ["a", "good", ",", "surprising"] and e.n == 4 and e.total == 5 and e.truncated
    assert e.unknown == [False, False, True, True] and e.ids.tolist() == vocab.encode("a good , surprising")
    short = encode_sentence(vocab, "good film", 5)
    assert short.ids.tolist()[:3] == [0, 0, 0] and short.kept_ids == vocab.encode("good film")
    assert not short.truncated and short.words == short.tokens == ["good", "film"]
    for blank in ("", "   ", "\u200b"):
        empty = encode_sentence(vocab, blank, 5)
        assert empty.empty and empty.n == 0 and empty.ids.tolist() == [0] * 5 and not empty.truncated
    assert TEXT.encode("good film", vocab=vocab, max_len=5).ids.tolist() == short.ids.tolist()


def test_modality_of_every_thing():
    for info in ALL_DATASETS.values():
        assert modality_of(info) is MODALITIES[info.kind] is modality_of(info.key)
    assert modality_of("text") is TEXT and modality_of(IMAGE) is IMAGE
    with pytest.raises(DataError, match="Unknown dataset"):
        modality_of("cifar-100")

    def record(dataset, **settings):
        return RunRecord(
            id="r",
            name="r",
            created=0.0,
            updated=0.0,
            status="finished",
            dataset=dataset,
            spec={},
            settings=settings,
            metrics={},
            test_accuracy=None,
            params=None,
            device="cpu",
            message="",
            train_seconds=None,
            folder=Path("."),
        )

    assert modality_of(record("rt-polarity")) is TEXT and modality_of(record("mnist")) is IMAGE
    assert modality_of(record("csv-0123456789ab", kind="text")) is TEXT  # its CSV is gone: the saved kind
    assert modality_of(record("csv-0123456789ab")) is IMAGE
    with pytest.raises(DataError, match="is not a dataset of"):
        TEXT.load("mnist")


def test_one_source_of_truth_for_the_split():
    from dlviz import defaults
    from dlviz.data import split
    from dlviz.data.text import TextData
    from dlviz.train.engine import TrainConfig

    assert (split.VAL_FRACTION, split.TEST_FRACTION, split.SPLIT_SEED) == (0.2, 0.2, 42)
    assert split.VAL_FRACTION is defaults.VAL_FRACTION and TrainConfig().val_fraction == defaults.VAL_FRACTION
    assert TextData.__dataclass_fields__["split_seed"].default == defaults.SPLIT_SEED
    assert split.val_fraction_of({"val_fraction": 0.1}) == 0.1
    assert (
        split.val_fraction_of(None) == split.val_fraction_of({}) == split.val_fraction_of({"val_fraction": "x"}) == 0.2
    )
