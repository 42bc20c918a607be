"""The run store: SQLite index, safetensors weights, never unpickling, thread safety."""

from __future__ import annotations

import math
import os
import pathlib
import pickle
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import torch

from dlviz.errors import RunError
from dlviz.runs import (
    INTERRUPTED_MESSAGE,
    INTERRUPTED_NO_WEIGHTS_MESSAGE,
    RunRecord,
    RunStore,
    dlviz_home,
    load_state_into,
)

SPEC = {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out": 10}]}
SETTINGS = {"optimizer": "adam", "lr": 1e-3, "epochs": 2, "batch_size": 64}


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "home"))
    return RunStore()


def make_run(store: RunStore, name: str = "run") -> RunRecord:
    return store.create(name=name, dataset="mnist", spec=SPEC, settings=SETTINGS, device="cpu")


def small_model(seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(), torch.nn.Linear(3, 2))


# ------------------------------------------------------------------------------------ home
def test_home_from_env_and_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "env"))
    assert dlviz_home() == tmp_path / "env" and (tmp_path / "env").is_dir()
    assert dlviz_home(tmp_path / "arg") == tmp_path / "arg" and (tmp_path / "arg").is_dir()
    store = RunStore()
    assert store.db_path == tmp_path / "env" / "runs.db"


def test_unusable_home_is_a_run_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match="home folder"):
        dlviz_home(blocker / "home")


# --------------------------------------------------------------------------------- records
def test_create_get_update_rename_delete_round_trip(store):
    run = make_run(store, "first")
    assert run.status == "running" and run.name == "first"
    assert run.spec == SPEC and run.settings == SETTINGS and run.metrics == {}
    assert run.folder.is_dir() and run.folder.parent == store.runs_dir
    # id: date-time plus 4 hex digits, e.g. 20261123-181502-3fa9
    date, clock, rand = run.id.split("-")
    assert len(date) == 8 and len(clock) == 6 and len(rand) == 4
    int(date), int(clock), int(rand, 16)

    assert store.get(run.id) == run

    time.sleep(0.01)
    metrics = {"train_loss": [2.3, 1.1, float("nan")], "val_acc": [0.5, 0.9]}
    store.update(
        run.id,
        status="finished",
        metrics=metrics,
        test_accuracy=0.97,
        message="Finished 2 epochs.",
        train_seconds=12.5,
        params=7850,
        device="cuda",
    )
    got = store.get(run.id)
    assert got.status == "finished" and got.test_accuracy == pytest.approx(0.97)
    assert got.metrics["val_acc"] == [0.5, 0.9]
    assert got.metrics["train_loss"][:2] == [2.3, 1.1] and math.isnan(got.metrics["train_loss"][2])
    assert got.message == "Finished 2 epochs." and got.train_seconds == 12.5
    assert got.params == 7850 and got.device == "cuda"
    assert got.updated > run.updated and got.created == run.created

    store.rename(run.id, "  renamed  ")
    assert store.get(run.id).name == "renamed"

    store.delete(run.id)
    assert not run.folder.exists()
    with pytest.raises(RunError, match=run.id):
        store.get(run.id)
    assert store.list() == []


def test_unknown_run_and_bad_names(store):
    with pytest.raises(RunError, match="no run nope"):
        store.get("nope")
    with pytest.raises(RunError):
        store.get("../../etc")  # not a valid id: never turned into a path
    with pytest.raises(RunError):
        store.update("nope", status="failed")
    with pytest.raises(RunError):
        store.delete("nope")
    run = make_run(store)
    for empty in ("", "   ", "\t\n"):
        with pytest.raises(RunError, match="cannot be empty"):
            store.rename(run.id, empty)
    with pytest.raises(RunError, match="cannot be empty"):
        make_run(store, " ")
    with pytest.raises(RunError, match="at most"):
        store.rename(run.id, "x" * 500)
    with pytest.raises(TypeError):
        store.update(run.id, spec={})  # not an updatable field
    with pytest.raises(ValueError):
        store.update(run.id, status="exploded")


def test_metrics_accept_numpy_and_tensor_scalars(store):
    np = pytest.importorskip("numpy")
    run = make_run(store)
    store.update(run.id, metrics={"loss": [np.float32(0.5), torch.tensor(0.25)], "n": np.int64(3)})
    assert store.get(run.id).metrics == {"loss": [0.5, 0.25], "n": 3}


def test_list_is_newest_first_and_last(store):
    assert store.last() is None and store.list() == []
    ids = [make_run(store, f"r{i}").id for i in range(4)]
    listed = store.list()
    assert [r.id for r in listed] == ids[::-1]
    assert [r.id for r in store.list(limit=2)] == ids[:1:-1]
    assert store.last().id == ids[-1]


def test_restart_sees_earlier_runs(tmp_path):
    home = tmp_path / "home"
    first = RunStore(home)
    run = make_run(first, "kept")
    first.save_weights(run.id, small_model().state_dict())
    again = RunStore(home)
    assert [r.name for r in again.list()] == ["kept"]
    assert again.get(run.id) == run
    assert set(again.load_weights(run.id)) == set(small_model().state_dict())
    with sqlite3.connect(home / "runs.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_corrupt_row_is_a_run_error(store):
    good = make_run(store, "good")
    bad = make_run(store, "bad")
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("UPDATE runs SET spec = '{not json' WHERE id = ?", (bad.id,))
    with pytest.raises(RunError, match="damaged"):
        store.get(bad.id)
    with pytest.raises(RunError, match="damaged"):
        store.list()
    assert [r.id for r in store.list(skip_damaged=True)] == [good.id]
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("UPDATE runs SET spec = '[1, 2]', metrics = '{}' WHERE id = ?", (bad.id,))
    with pytest.raises(RunError, match="JSON object"):
        store.get(bad.id)
    store.delete(bad.id)  # a damaged run can still be removed
    assert [r.id for r in store.list()] == [good.id]


def test_database_that_is_not_sqlite_is_a_run_error(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "runs.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(RunError, match="run index"):
        RunStore(home).list()


# --------------------------------------------------------------------------------- weights
def test_weights_round_trip(store):
    run = make_run(store)
    model = small_model(0)
    model(torch.randn(5, 4))  # moves the BatchNorm running statistics off their defaults
    path = store.save_weights(run.id, model.state_dict())
    assert path == run.weights_path and path.is_file()
    assert store.has_weights(run.id)
    # Only the final file remains: the temporary one was renamed over it.
    assert sorted(p.name for p in run.folder.iterdir()) == ["run.json", "weights.safetensors"]

    loaded = store.load_weights(run.id)
    expected = model.state_dict()
    assert set(loaded) == set(expected)
    for key, tensor in expected.items():
        assert torch.equal(loaded[key], tensor), key
        assert loaded[key].device.type == "cpu"

    fresh = small_model(1)
    assert load_state_into(fresh, loaded) is fresh
    x = torch.randn(3, 4)
    model.eval(), fresh.eval()
    assert torch.equal(fresh(x), model(x))


def test_weights_accept_views_and_tied_tensors(store):
    run = make_run(store)
    shared = torch.randn(4, 6)
    state = {
        "a": shared,
        "b": shared,  # tied weights: the same tensor twice
        "t": shared.t(),  # a non-contiguous view
        "half": shared[:, :3],
        "grad": torch.ones(2, requires_grad=True),
    }
    store.save_weights(run.id, state)
    loaded = store.load_weights(run.id)
    for key, value in state.items():
        assert torch.equal(loaded[key], value.detach())
        assert loaded[key].is_contiguous()


def test_overwrite_is_atomic_and_failed_write_keeps_old_file(store, monkeypatch):
    run = make_run(store)
    store.save_weights(run.id, {"w": torch.zeros(3)})

    import dlviz.runs.store as store_module

    def crash(fh, data):
        fh.write(b"half written")
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(store_module, "_write_all", crash)
    with pytest.raises(RunError, match="Could not save"):
        store.save_weights(run.id, {"w": torch.ones(3)})
    monkeypatch.undo()
    assert torch.equal(store.load_weights(run.id)["w"], torch.zeros(3))
    assert sorted(p.name for p in run.folder.iterdir()) == ["run.json", "weights.safetensors"]


def test_snapshots(store):
    run = make_run(store)
    assert store.list_snapshots(run.id) == []
    for epoch in (1, 2, 10):
        store.save_snapshot(run.id, f"epoch-{epoch}", {"w": torch.full((2,), float(epoch))})
    assert store.list_snapshots(run.id) == ["epoch-1", "epoch-2", "epoch-10"]
    assert (run.folder / "snapshots" / "epoch-10.safetensors").is_file()
    assert torch.equal(store.load_snapshot(run.id, "epoch-2")["w"], torch.full((2,), 2.0))
    assert torch.equal(store.load_weights(run.id, "snapshots/epoch-10.safetensors")["w"], torch.full((2,), 10.0))
    with pytest.raises(RunError, match="no snapshot"):
        store.load_snapshot(run.id, "epoch-3")
    with pytest.raises(ValueError):
        store.save_snapshot(run.id, "../escape", {"w": torch.zeros(1)})
    with pytest.raises(ValueError):
        store.load_weights(run.id, "../other/weights.safetensors")


def test_saving_for_a_deleted_run_is_refused(store):
    run = make_run(store)
    store.delete(run.id)
    with pytest.raises(RunError, match="was deleted"):
        store.save_weights(run.id, {"w": torch.zeros(1)})
    assert not run.folder.exists()  # not resurrected


def test_missing_weights(store):
    run = make_run(store)
    with pytest.raises(RunError, match="no saved weights"):
        store.load_weights(run.id)
    assert not store.has_weights(run.id)
    store.save_weights(run.id, {"w": torch.zeros(1)})
    import shutil

    shutil.rmtree(run.folder)
    with pytest.raises(RunError, match="no saved weights"):
        store.load_weights(run.id)


class _Touch:
    """A pickle payload: unpickling it creates ``path`` (standing in for any code at all)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def test_torch_save_pickle_is_refused(store):
    run = make_run(store)
    torch.save(small_model().state_dict(), run.weights_path)
    with pytest.raises(RunError, match="not a safetensors file"):
        store.load_weights(run.id)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_is_never_executed(store, tmp_path, protocol):
    run = make_run(store)
    sentinel = tmp_path / "pwned"
    run.weights_path.write_bytes(pickle.dumps(_Touch(sentinel), protocol=protocol))
    with pytest.raises(RunError, match="never unpickles"):
        store.load_weights(run.id)
    assert not sentinel.exists()
    # The same payload wrapped the way torch.save writes files is refused too.
    torch.save({"w": _Touch(sentinel)}, run.weights_path)
    with pytest.raises(RunError, match="not a safetensors file"):
        store.load_weights(run.id)
    assert not sentinel.exists()
    # The payload is real: unpickling it does create the file, so the checks above mean something.
    pickle.loads(pickle.dumps(_Touch(sentinel), protocol=protocol))
    assert sentinel.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        os.urandom(4096),
        b"\x05\x00\x00\x00\x00\x00\x00\x00{}",  # header length points past the end
        (2).to_bytes(8, "little") + b"[]",  # header is JSON but not an object
        (30).to_bytes(8, "little") + b'{"w": {"dtype": "F32", "shape": [4]}}'[:30],
        (64).to_bytes(8, "little")
        + b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'.ljust(64)
        + b"\x00" * 4,  # promises 16 bytes of data, has 4
    ],
    ids=["empty", "random", "short", "not-object", "cut-header", "truncated-data"],
)
def test_files_that_are_not_safetensors(store, content):
    run = make_run(store)
    run.weights_path.write_bytes(content)
    with pytest.raises(RunError, match="not a safetensors file"):
        store.load_weights(run.id)


def test_load_state_into_mismatch(store):
    model = small_model()
    state = model.state_dict()

    missing = dict(state)
    missing.pop("3.bias")
    with pytest.raises(RunError, match=r"model has a tensor 3\.bias"):
        load_state_into(small_model(), missing)

    extra = dict(state, **{"4.weight": torch.zeros(1)})
    with pytest.raises(RunError, match=r"weights have a tensor 4\.weight"):
        load_state_into(small_model(), extra)

    wrong = dict(state, **{"0.weight": torch.zeros(5, 4)})
    with pytest.raises(RunError, match=r"0\.weight has shape \(5, 4\).*\(3, 4\)"):
        load_state_into(small_model(), wrong)

    target = small_model(7)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(RunError):
        load_state_into(target, wrong)
    # A refused load leaves the model untouched.
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


# ------------------------------------------------------------------------------- lifecycle
def test_mark_interrupted(store):
    active = make_run(store, "active")
    orphan = make_run(store, "orphan")
    orphan_no_weights = make_run(store, "early")
    paused = make_run(store, "paused")
    done = make_run(store, "done")
    store.save_weights(orphan.id, {"w": torch.zeros(1)})
    store.update(paused.id, status="paused")
    store.update(done.id, status="finished", message="Finished.")

    changed = store.mark_interrupted({active.id})
    assert sorted(changed) == sorted([orphan.id, orphan_no_weights.id, paused.id])
    assert store.get(active.id).status == "running"
    assert store.get(done.id).status == "finished" and store.get(done.id).message == "Finished."
    got = store.get(orphan.id)
    assert got.status == "interrupted" and got.message == INTERRUPTED_MESSAGE
    assert got.message == (
        "The app stopped while this run was training; the weights of its last finished epoch were kept."
    )
    assert store.get(orphan_no_weights.id).message == INTERRUPTED_NO_WEIGHTS_MESSAGE
    assert store.get(paused.id).status == "interrupted"
    assert store.mark_interrupted(set()) == [active.id]


def test_concurrent_writes_while_reading(store):
    runs = [make_run(store, f"t{i}") for i in range(4)]
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(run_id: str) -> None:
        try:
            # Each thread owns its store object, as a worker thread would.
            own = RunStore(store.home)
            history: list[float] = []
            for step in range(50):
                history.append(step / 50)
                own.update(run_id, metrics={"loss": list(history)}, status="running")
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                for record in store.list():
                    assert isinstance(record.metrics, dict)
                store.get(runs[0].id)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(r.id,)) for r in runs]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    done.set()
    for thread in readers:
        thread.join(timeout=60)
    assert errors == []
    for run in runs:
        assert len(store.get(run.id).metrics["loss"]) == 50


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_import_does_not_load_streamlit():
    code = "import sys, dlviz.runs; assert 'streamlit' not in sys.modules, 'streamlit imported'"
    root = pathlib.Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
