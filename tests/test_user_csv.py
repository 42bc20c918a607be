"""A user's CSV kept as a dataset: validated before it is kept, found again by name, trained on, reloaded."""

from __future__ import annotations

import pytest
import torch

from dlviz.errors import DataError

ROWS = "text,label\n" + "\n".join(
    f"a truly great film, number {i},pos" if i % 2 else f"an awful boring film, number {i},neg" for i in range(300)
)


def test_a_kept_csv_is_a_dataset_with_a_stable_name(home):
    from dlviz.data import get_info, load_dataset
    from dlviz.data.user_csv import add_csv, list_csv

    name = add_csv(ROWS.encode(), "my reviews.csv")
    assert name.startswith("csv-") and add_csv(ROWS.encode(), "again.csv") == name  # named by its content
    assert list_csv() == {name: "again.csv"}
    info = get_info(name)
    assert info.kind == "text" and info.num_classes == 2 and info.key == name
    data = load_dataset(name)
    assert data.classes == ["neg", "pos"] and len(data.train_y) + len(data.test_y) == 300


def test_a_bad_csv_is_refused_before_anything_is_kept(home):
    from dlviz.data.user_csv import add_csv, list_csv

    with pytest.raises(DataError, match="at least two classes"):
        add_csv(b"text,label\nfine,pos\ngood,pos\n", "one.csv")
    with pytest.raises(DataError):
        add_csv(b"words\nhello\n", "nolabel.csv")
    assert list_csv() == {}


def test_a_run_on_a_kept_csv_trains_and_reloads(home):
    from dlviz.data.user_csv import add_csv
    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, load_run, run_job

    name = add_csv(ROWS.encode(), "my reviews.csv")
    store = RunStore()
    res = run_job(TrainJob(name, PRESETS["bag"].copy_spec(), TrainConfig(epochs=3, batch_size=32, lr=1e-2)), store)
    assert res.status == "finished", res.message
    assert res.test_accuracy > 0.9  # "great" vs "awful boring" is easy
    model, rec = load_run(res.run_id, store)[:2]
    assert rec.dataset == name and isinstance(model, torch.nn.Module)


def test_a_deleted_csv_is_a_plain_message(home):
    from dlviz.data import load_dataset
    from dlviz.data.user_csv import add_csv

    name = add_csv(ROWS.encode(), "my reviews.csv")
    for p in (home / "data" / "csv").glob(f"{name}.*"):
        p.unlink()
    from dlviz.data.user_csv import _load

    _load.cache_clear()
    with pytest.raises(DataError, match="no longer in"):
        load_dataset(name)
