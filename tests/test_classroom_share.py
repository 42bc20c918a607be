"""Run files and read-only links (dlviz.classroom.share, issue 17 item 4): a round trip keeps weights and curves
exactly; hostile files are refused with a plain sentence and leave nothing behind; a link opens one run and a
revoked one nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch
from cli_util import run_cli

from dlviz.classroom.share import ShareLinks, export_run, import_from, import_run, imported_from, read_run_file
from dlviz.errors import DlvizError, RunError
from dlviz.models import build
from dlviz.runs import RunStore

SPEC = {"name": "tiny", "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}
SETTINGS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": 2}
METRICS = {"train": [[10, 0.5, 1.2, 0.6], [20, 1.0, 0.8, 0.75]], "val": [[20, 1.0, 0.7, 0.8], [40, 2.0, 0.45, 0.87]]}


@pytest.fixture
def run(home):
    store = RunStore()
    model = build(SPEC, (1, 28, 28), 10, seed=3).module
    rec = store.create(name="Ana's net", dataset="mnist", spec=SPEC, settings=SETTINGS, device="cpu", owner="s-aaaa")
    store.save_weights(rec.id, model.state_dict())
    store.save_snapshot(rec.id, "epoch-1", {k: v * 0.5 for k, v in model.state_dict().items()})
    store.save_record(rec.id, "vocab", {"itos": ["<pad>", "good"]})  # a modality's extra travels with the run
    store.update(rec.id, status="finished", metrics=METRICS, test_accuracy=0.87, train_seconds=4.5)
    return store, store.get(rec.id)


def _zip(members: dict[str, bytes], manifest: dict | None = None) -> bytes:
    import hashlib

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        files = {n: {"size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in members.items()}
        zf.writestr("manifest.json", json.dumps(manifest or {"format": "dlviz-run", "version": 1, "files": files}))
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "manifest.json"}


def test_export_then_import_gives_identical_weights_curves_and_extras(run):
    store, rec = run
    data = export_run(store, rec.id, sender="Ana")
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == {
        "manifest.json",
        "run.json",
        "weights.safetensors",
        "snapshots/epoch-1.safetensors",
        "records/vocab.json",
    }
    assert all(not n.endswith((".pt", ".pkl", ".pth")) for n in names)
    copy = import_run(store, data, owner="s-bbbb")
    assert copy.id != rec.id and copy.owner == "s-bbbb"  # a new run, the importer's
    assert (copy.name, copy.dataset, copy.spec, copy.settings, copy.metrics) == (
        rec.name,
        rec.dataset,
        rec.spec,
        rec.settings,
        rec.metrics,
    )
    assert (copy.status, copy.test_accuracy, copy.train_seconds, copy.params) == ("finished", 0.87, 4.5, 7850)
    a, b = store.load_weights(rec.id), store.load_weights(copy.id)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    s1, s2 = store.load_snapshot(rec.id, "epoch-1"), store.load_snapshot(copy.id, "epoch-1")
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert store.load_record(copy.id, "vocab") == {"itos": ["<pad>", "good"]}
    assert imported_from(store, copy.id)["imported_from"] == "Ana" and imported_from(store, rec.id) is None
    assert store.get(rec.id).owner == "s-aaaa"  # the original is untouched


def test_the_cli_exports_and_imports(run, tmp_path, home):
    store, rec = run
    path = tmp_path / "ana.dlviz"
    env = {"DLVIZ_HOME": str(home)}
    r = run_cli("runs", "--export", rec.id, str(path), env=env)
    assert r.returncode == 0, r.stderr
    assert path.is_file()
    r = run_cli("runs", "--import", str(path), "--json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["run_id"] != rec.id and out["name"] == rec.name
    assert torch.equal(store.load_weights(out["run_id"])["dense_1.bias"], store.load_weights(rec.id)["dense_1.bias"])
    bad = tmp_path / "bad.dlviz"
    bad.write_bytes(b"not a zip at all")
    r = run_cli("runs", "--import", str(bad), env=env)
    assert r.returncode == 2 and "not a dlviz run file" in r.stderr and "Traceback" not in r.stderr


def _refused(store, data: bytes, words: str) -> None:
    before = [r.id for r in store.list()]
    with pytest.raises(DlvizError, match=words):  # a RunError mostly; a SpecError for an impossible model
        import_run(store, data, owner="s-bbbb")
    assert [r.id for r in store.list()] == before  # nothing left behind
    assert sorted(p.name for p in store.runs_dir.iterdir()) == sorted(before)


def test_hostile_files_are_refused_in_plain_words(run, monkeypatch):
    store, rec = run
    good = _members(export_run(store, rec.id))
    _refused(store, b"\x80\x04K\x01.", "not a zip archive")  # a pickle
    _refused(store, b"", "not a zip archive")
    _refused(store, _zip({**good, "../../evil.json": b"{}"}), r"does not write \(\.\./\.\./evil\.json\)")
    _refused(store, _zip({**good, "/etc/passwd": b"x"}), "does not write")
    _refused(store, _zip({**good, "records/..json": b"{}"}), "does not write")
    _refused(store, _zip({**good, "weights.pt": b"x"}), "does not write")
    _refused(store, _zip({**good, "run.json": b"{not json"}), "run.json is not valid JSON")
    _refused(store, _zip(good, manifest={"format": "zip", "version": 1}), "does not say dlviz-run")
    _refused(store, _zip(good, manifest={"format": "dlviz-run", "version": 99, "files": {}}), "newer version")
    torch_file = io.BytesIO()
    torch.save({"x": torch.zeros(2)}, torch_file)  # a pickle named like weights
    _refused(store, _zip({**good, "weights.safetensors": torch_file.getvalue()}), "not a safetensors file")
    other = build(
        {"layers": [{"type": "flatten"}, {"type": "dense", "units": 5}, {"type": "dense", "units": 10}]},
        (1, 28, 28),
        10,
    ).module
    from safetensors.torch import save

    _refused(store, _zip({**good, "weights.safetensors": save(other.state_dict())}), "do not fit its model spec")
    huge = json.loads(good["run.json"])
    huge["spec"] = {
        "layers": [{"type": "flatten"}, *[{"type": "dense", "units": 8192}] * 30, {"type": "dense", "units": 10}]
    }
    _refused(store, _zip({**good, "run.json": json.dumps(huge).encode()}), "do not fit its model spec")  # 2 G params
    huge["spec"] = {"layers": [{"type": "flatten"}, {"type": "dense", "units": 7}]}
    _refused(store, _zip({**good, "run.json": json.dumps(huge).encode()}), "dataset has 10 classes")
    # a member whose bytes were changed after the manifest was written
    data = export_run(store, rec.id)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    tampered = {**good, "run.json": good["run.json"].replace(b"Ana", b"Eve")}
    _refused(store, _zip(tampered, manifest=manifest), "damaged")


def test_size_limits_are_checked_before_anything_is_unpacked(run, monkeypatch, tmp_path):
    store, rec = run
    data = export_run(store, rec.id)
    monkeypatch.setenv("DLVIZ_MAX_SHARE_MB", "0.01")  # 10 KB
    _refused(store, data, "run files up to 0.0 MB are accepted")
    big = tmp_path / "big.dlviz"
    big.write_bytes(data)
    with pytest.raises(RunError, match="run files up to"):
        import_from(store, big)
    with pytest.raises(RunError, match="more than the"):
        export_run(store, rec.id)
    # a zip bomb: small packed, huge unpacked (declared sizes are checked before a byte is read)
    monkeypatch.setenv("DLVIZ_MAX_SHARE_MB", "1")
    bomb = _zip({**_members(data), "records/pad.json": b"[" + b"0," * 2_000_000 + b"0]"})
    assert len(bomb) < 1024 * 1024
    with pytest.raises(RunError, match="unpacks to more than"):
        read_run_file(bomb)


def test_a_share_token_resolves_to_its_run_only_and_revoked_to_nothing(home):
    links = ShareLinks()
    a, b = links.create("run-a", owner="s-aaaa", sender="Ana"), links.create("run-b", owner="s-bbbb", sender="Ben")
    assert a != b and len(a) >= 20
    assert links.resolve(a)["run_id"] == "run-a" and links.resolve(b)["run_id"] == "run-b"
    assert [e["token"] for e in links.for_run("run-a")] == [a]
    assert links.resolve(a[:-1] + ("x" if a[-1] != "x" else "y")) is None  # a guessed neighbour
    assert links.resolve("") is None and links.resolve("../../etc") is None and links.resolve(None) is None
    assert links.revoke(a) and not links.revoke(a)
    assert links.resolve(a) is None and links.for_run("run-a") == []
    assert links.resolve(b)["run_id"] == "run-b"  # the other link still works
    assert "s-aaaa" not in json.dumps(links.resolve(b))  # an entry names its own run and sender only


def test_a_text_run_and_a_gan_travel_with_what_they_need(home):
    """A text run keeps its vocabulary (the modality's extra); a GAN, built by its task, round-trips too."""
    from types import SimpleNamespace

    from dlviz.modality.text import TEXT
    from dlviz.models import PRESETS
    from dlviz.models.gan import copy_preset
    from dlviz.tasks import task_of_spec

    store = RunStore()
    shape, classes = TEXT.run_input(SimpleNamespace(dataset="rt-polarity", settings={"max_len": 40}))
    made = []
    for spec, dataset, model in (
        (PRESETS["lstm"].copy_spec(), "rt-polarity", None),
        (copy_preset("dcgan"), "mnist", None),
    ):
        own = task_of_spec(spec).build(spec)
        model = own.module if own else build(spec, shape, classes, input_dtype=TEXT.input_dtype).module
        rec = store.create(name=spec["name"], dataset=dataset, spec=spec, settings={"max_len": 40}, device="cpu")
        store.save_weights(rec.id, model.state_dict())
        store.update(rec.id, status="finished", metrics=METRICS)
        made.append(rec)
    store.save_record(made[0].id, "vocab", {"itos": ["<pad>", "<unk>", "good"]})
    for rec in made:
        copy = import_run(store, export_run(store, rec.id))
        a, b = store.load_weights(rec.id), store.load_weights(copy.id)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert store.load_record(copy.id, "vocab") is None and store.load_record(made[0].id, "vocab")
    text_copy = next(r for r in store.list() if r.dataset == "rt-polarity" and r.id != made[0].id)
    assert store.load_record(text_copy.id, "vocab") == {"itos": ["<pad>", "<unk>", "good"]}
