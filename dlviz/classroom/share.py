"""Share a run without handing over anything else (issue 17, item 4): as a file or as a read-only link.

**A run file** (``.dlviz``, a zip) holds one run: ``manifest.json`` (format, version, sender, every member's
size and SHA-256), ``run.json`` (name, dataset, spec, settings, curves, results), ``weights.safetensors``,
the replay snapshots ``snapshots/<tag>.safetensors`` and the modality's extras as ``records/<name>.json``
(a text run's vocabulary). Nothing in it is a pickle; weights are read with safetensors only. Importing makes a
*new* run owned by the importer, marked "imported from <sender>" and read-only (``shared.json`` in its
folder). A file that is not one of ours, too big, with names outside that list (``../x``, ``/etc/x``), a
member whose bytes do not match the manifest or JSON that does not read is refused with one plain sentence
and leaves nothing behind.

**A read-only link** is a random token kept by the server (``<home>/class/shares.json``) that names one run.
Whoever opens the app with ``?view=<token>`` looks at that run and nothing else; the token is never a
session, and its sender can revoke it at any time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import threading
import time
import zipfile
from contextlib import suppress
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as safetensors_load

from dlviz.errors import DlvizError, RunError
from dlviz.runs import WEIGHTS_FILE, RunRecord, RunStore, dlviz_home

FORMAT = "dlviz-run"
VERSION = 1
SUFFIX = ".dlviz"
MB = 1024 * 1024
DEFAULT_MAX_MB = 256  # DLVIZ_MAX_SHARE_MB: the most a run file may be, packed and unpacked
MAX_JSON_BYTES = 32 * MB  # run.json (a long run's curves) and each record
MAX_MEMBERS = 200
SHARED_RECORD = "shared"  # <run folder>/shared.json: who sent an imported run
_RESERVED_RECORDS = {SHARED_RECORD, "run"}  # never taken from a file: the store's and this module's own
_TAG = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_MEMBER = re.compile(
    rf"^(manifest\.json|run\.json|weights\.safetensors|snapshots/{_TAG}\.safetensors|records/{_TAG}\.json)$"
)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_RUN_FIELDS = ("name", "dataset", "spec", "settings", "metrics", "test_accuracy", "params", "device", "message")
_RUN_FIELDS += ("train_seconds", "status", "created")


def max_share_bytes() -> int:
    """DLVIZ_MAX_SHARE_MB (a positive number) or 256 MB: the largest run file exported or imported."""
    raw = os.environ.get("DLVIZ_MAX_SHARE_MB", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        value = DEFAULT_MAX_MB  # a typo in a setting must not stop the server
    return int((value if value > 0 else DEFAULT_MAX_MB) * MB)


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


# ------------------------------------------------------------------------------------------------- export
def export_run(store: RunStore, run_id: str, sender: str = "") -> bytes:
    """Run ``run_id`` as the bytes of one run file (see the module's docstring). ``sender``: the name shown to
    whoever imports it. RunError when the run still trains, has no weights or is too big to share."""
    rec = store.get(run_id)
    if rec.is_active:
        raise RunError("Run {run_id} is still training: export it when it has ended.", run_id=run_id)
    if not store.has_weights(run_id):
        raise RunError(
            "Run {run_id} has no saved weights, so there is nothing to look inside: it cannot be exported.",
            run_id=run_id,
        )
    files: dict[str, bytes] = {"run.json": _json_bytes({f: getattr(rec, f) for f in _RUN_FIELDS})}
    files[WEIGHTS_FILE] = (rec.folder / WEIGHTS_FILE).read_bytes()
    for tag in store.list_snapshots(run_id):
        with suppress(OSError):
            files[f"snapshots/{tag}.safetensors"] = (rec.folder / "snapshots" / f"{tag}.safetensors").read_bytes()
    for path in sorted(rec.folder.glob("*.json")):
        name = path.name[: -len(".json")]
        if name in _RESERVED_RECORDS or not re.fullmatch(_TAG, name):
            continue
        with suppress(OSError):
            files[f"records/{name}.json"] = path.read_bytes()
    total = sum(len(b) for b in files.values())
    if total > max_share_bytes():
        raise RunError(
            "Run {run_id} is {size}, more than the {most} a run file may hold (DLVIZ_MAX_SHARE_MB).",
            run_id=run_id,
            size=_mb(total),
            most=_mb(max_share_bytes()),
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "sender": str(sender or ""),
        "exported": time.time(),
        "run_id": rec.id,
        "files": {
            name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in files.items()
        },
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", _json_bytes(manifest))
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def export_to(store: RunStore, run_id: str, path: str | os.PathLike[str], sender: str = "") -> Path:
    """``export_run`` written to ``path`` (a folder gets ``<run_id>.dlviz``); returns the file's path."""
    dest = Path(path)
    if dest.is_dir():
        dest = dest / f"{run_id}{SUFFIX}"
    data = export_run(store, run_id, sender)
    try:
        dest.write_bytes(data)
    except OSError as exc:
        raise RunError(
            "Could not write the run file {path} ({reason}).", path=str(dest), reason=exc.strerror or str(exc)
        ) from exc
    return dest


def file_name(rec: RunRecord) -> str:
    """A download name for ``rec``'s run file: its name in safe characters, then its id."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", rec.name).strip("-")[:40] or "run"
    return f"{stem}-{rec.id}{SUFFIX}"


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True, default=str).encode("utf-8")


# ------------------------------------------------------------------------------------------------- import
def _not_ours(reason: str) -> RunError:
    return RunError(
        "This is not a dlviz run file ({reason}). Export a run with dlviz and import that file.", reason=reason
    )


def read_run_file(data: bytes) -> tuple[dict, dict, dict[str, bytes]]:
    """(manifest, run, members) of a run file's bytes, every check done; RunError (plain words) otherwise.
    Nothing is written anywhere."""
    most = max_share_bytes()
    if len(data) > most:
        raise RunError(
            "This run file is {size}; run files up to {most} are accepted (DLVIZ_MAX_SHARE_MB).",
            size=_mb(len(data)),
            most=_mb(most),
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _not_ours("it is not a zip archive") from None
    with zf:
        if len(infos) > MAX_MEMBERS:
            raise _not_ours(f"{len(infos)} files inside")
        names = [i.filename for i in infos]
        strange = [n for n in names if not _MEMBER.match(n)]
        if strange:  # "../../x", "/etc/passwd", "a\\b", anything we did not write: refused, never unpacked
            raise RunError(
                "This run file holds a file dlviz does not write ({name}); it was not imported.",
                name=strange[0][:120],
            )
        if len(set(names)) != len(names):
            raise _not_ours("a file appears twice")
        if "manifest.json" not in names or "run.json" not in names or WEIGHTS_FILE not in names:
            raise _not_ours("manifest.json, run.json or weights.safetensors is missing")
        if sum(i.file_size for i in infos) > most:  # declared sizes: a zip bomb is refused before reading
            raise RunError(
                "This run file unpacks to more than {most} (DLVIZ_MAX_SHARE_MB); it was not imported.",
                most=_mb(most),
            )
        members: dict[str, bytes] = {}
        for info in infos:
            limit = MAX_JSON_BYTES if info.filename.endswith(".json") else most
            try:
                with zf.open(info) as fh:
                    blob = fh.read(min(limit, info.file_size) + 1)  # never more than declared, whatever it says
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
                raise _not_ours(f"{info.filename} cannot be read") from None
            if len(blob) != info.file_size or len(blob) > limit:
                raise _not_ours(f"{info.filename} is not the size it claims")
            members[info.filename] = blob
    manifest = _json_member(members, "manifest.json")
    if manifest.get("format") != FORMAT:
        raise _not_ours("its manifest does not say dlviz-run")
    version = manifest.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise RunError(
            "This run file was written by a newer version of dlviz (format {found}; this version reads {supported}).",
            found=str(version),
            supported=VERSION,
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict) or set(listed) != set(members) - {"manifest.json"}:
        raise _not_ours("its manifest does not list the files it holds")
    for name, meta in listed.items():
        digest = meta.get("sha256") if isinstance(meta, dict) else None
        if digest != hashlib.sha256(members[name]).hexdigest():
            raise RunError("The file {name} in this run file is damaged (its checksum does not match).", name=name)
    run = _json_member(members, "run.json")
    for field, kinds in (("name", str), ("dataset", str), ("spec", dict), ("settings", dict), ("metrics", dict)):
        if not isinstance(run.get(field), kinds):
            raise _not_ours(f"run.json has no {field}")
    return manifest, run, members


def _json_member(members: dict[str, bytes], name: str) -> dict:
    try:
        value = json.loads(members[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _not_ours(f"{name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise _not_ours(f"{name} is not a JSON object")
    return value


def _tensors(blob: bytes, name: str) -> dict[str, torch.Tensor]:
    if len(blob) < 10 or blob[8:9] != b"{":
        raise RunError(
            "The weights {name} in this run file are not a safetensors file; they were not loaded.", name=name
        )
    try:
        return safetensors_load(blob)  # parses a header and byte ranges; never runs code
    except Exception:  # SafetensorError, bad header JSON
        raise RunError(
            "The weights {name} in this run file are not a safetensors file; they were not loaded.", name=name
        ) from None


def import_run(store: RunStore, data: bytes, owner: str = "") -> RunRecord:
    """A new run in ``store`` from a run file's bytes, owned by ``owner`` (a Person id; '' alone), marked as
    imported from the file's sender and read-only. RunError with a plain sentence for any bad file; a run half
    made is removed again."""
    manifest, run, members = read_run_file(data)
    weights = _tensors(members[WEIGHTS_FILE], WEIGHTS_FILE)
    snapshots = {
        name[len("snapshots/") : -len(".safetensors")]: _tensors(blob, name)
        for name, blob in members.items()
        if name.startswith("snapshots/")
    }
    records = {}
    for name, blob in members.items():
        if name.startswith("records/"):
            tag = name[len("records/") : -len(".json")]
            if tag in _RESERVED_RECORDS:
                continue
            try:
                records[tag] = json.loads(blob.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise _not_ours(f"{name} is not valid JSON") from None
    _check_fits(run, weights)
    params = sum(int(t.numel()) for t in weights.values())
    created = {"name": run["name"], "dataset": run["dataset"], "spec": run["spec"], "settings": run["settings"]}
    kwargs: dict[str, Any] = {"device": str(run.get("device") or "cpu"), "params": params, **created}
    if owner:
        kwargs["owner"] = owner  # RunStore.create(owner=): the run belongs to whoever imported it
    try:
        rec = store.create(**kwargs)
    except (TypeError, ValueError) as exc:
        raise _not_ours(str(exc)) from None
    try:
        if store.save_weights(rec.id, weights) is None:
            raise RunError("The weights in this run file hold NaN or infinite values; they were not imported.")
        for tag, tensors in snapshots.items():
            store.save_snapshot(rec.id, tag, tensors)
        for tag, value in records.items():
            store.save_record(rec.id, tag, value)
        sender = str(manifest.get("sender") or "").strip()[:100]
        store.save_record(
            rec.id,
            SHARED_RECORD,
            {"imported_from": sender, "imported": time.time(), "original_id": str(manifest.get("run_id", ""))[:64]},
        )
        status = run.get("status") if run.get("status") in ("finished", "stopped", "interrupted", "failed") else None
        acc = run.get("test_accuracy")
        secs = run.get("train_seconds")
        store.update(
            rec.id,
            status=status or "finished",
            metrics=run["metrics"],
            test_accuracy=float(acc) if isinstance(acc, (int, float)) else None,
            train_seconds=float(secs) if isinstance(secs, (int, float)) else None,
            message=str(run.get("message") or "")[:2000],
        )
    except (DlvizError, TypeError, ValueError) as exc:
        with suppress(DlvizError, OSError):
            store.delete(rec.id)
        if isinstance(exc, DlvizError):
            raise
        raise _not_ours(str(exc)) from None
    except BaseException:
        with suppress(DlvizError, OSError):
            store.delete(rec.id)
        raise
    return store.get(rec.id)


def _check_fits(run: dict, weights: dict[str, torch.Tensor]) -> None:
    """The file's spec builds a model whose tensors are exactly the weights' names and shapes; RunError otherwise.

    Nothing big is built on the spec's word: its parameters are first counted on PyTorch's meta device (no
    memory, however many it claims), and a spec with more parameters than the weights hold is refused there. Only
    then is the model built for real, no bigger than the weights (and those are within the file's size limit)."""
    from types import SimpleNamespace

    from dlviz.modality import modality_of
    from dlviz.models import build
    from dlviz.models.builder import estimate, on_meta
    from dlviz.tasks import task_of_spec

    rec = SimpleNamespace(id="import", dataset=run["dataset"], spec=run["spec"], settings=run["settings"])
    held = sum(int(t.numel()) for t in weights.values())
    too_big = RunError(
        "The weights in this run file do not fit its model spec ({key}); it was not imported.",
        key="the spec has more parameters than the weights",
    )
    try:
        task = task_of_spec(rec.spec)
        with on_meta():
            own = task.build(rec.spec)  # a model its task builds (a GAN): its own fixed layout, counted here
        if own is not None:
            if sum(p.numel() for p in own.module.parameters()) > held:
                raise too_big
            own = task.build(rec.spec)
            model = own.module
        else:
            modality = modality_of(rec)
            shape, classes = modality.run_input(rec)
            if estimate(rec.spec, shape).params > held:
                raise too_big
            n = task.classes(SimpleNamespace(num_classes=classes))
            model = build(rec.spec, shape, n, input_dtype=modality.input_dtype, budget=False).module
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    except DlvizError:
        raise  # an unknown dataset, an impossible layer, too big: already a plain sentence
    except Exception as exc:  # a spec that is not one of ours in some other way
        raise _not_ours(f"its model spec cannot be built: {exc}") from None
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(k for k in found if found[k] != expected.get(k))
        raise RunError(
            "The weights in this run file do not fit its model spec ({key}); it was not imported.",
            key=str(wrong[0]) if wrong else "?",
        )


def import_from(store: RunStore, path: str | os.PathLike[str], owner: str = "") -> RunRecord:
    """``import_run`` of the file at ``path``; its size is checked before it is read."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_share_bytes():
            raise RunError(
                "This run file is {size}; run files up to {most} are accepted (DLVIZ_MAX_SHARE_MB).",
                size=_mb(size),
                most=_mb(max_share_bytes()),
            )
        data = p.read_bytes()
    except OSError as exc:
        raise RunError(
            "Cannot read the run file {path} ({reason}).", path=str(p), reason=exc.strerror or str(exc)
        ) from exc
    return import_run(store, data, owner)


def imported_from(store: RunStore, run_id: str) -> dict | None:
    """For a run made by ``import_run``: {"imported_from": sender name, "imported": time, ...}; None otherwise.
    Such a run is read-only: nobody renames it or trains over it (it can be deleted, as a copy)."""
    try:
        value = store.load_record(run_id, SHARED_RECORD)
    except (DlvizError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# ------------------------------------------------------------------------------------------- read-only links
_LINK_LOCK = threading.Lock()


class ShareLinks:
    """Read-only links: ``token -> {run_id, owner, sender, created}`` in ``<home>/class/shares.json``.

    A token is 24 random URL-safe characters (``secrets``); it opens one run as a view and nothing else, and
    stops working when revoked or when its run is deleted."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.path = dlviz_home(home) / "class" / "shares.json"

    def _load(self) -> dict[str, dict]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        links = value.get("links") if isinstance(value, dict) else None
        return {k: v for k, v in links.items() if isinstance(v, dict)} if isinstance(links, dict) else {}

    def _save(self, links: dict[str, dict]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({"links": links}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise RunError(
                "Could not save the read-only links to {path} ({reason}).",
                path=str(self.path),
                reason=exc.strerror or str(exc),
            ) from exc

    def create(self, run_id: str, owner: str = "", sender: str = "") -> str:
        """A new token for ``run_id`` (made by ``owner``, shown as from ``sender``)."""
        token = secrets.token_urlsafe(18)
        with _LINK_LOCK:
            links = self._load()
            links[token] = {"run_id": run_id, "owner": owner, "sender": sender, "created": time.time()}
            self._save(links)
        return token

    def resolve(self, token: str | None) -> dict | None:
        """The link's entry (with its ``token``) for a valid, unrevoked token; None for anything else."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            return None
        for known, entry in self._load().items():
            if secrets.compare_digest(known, token):
                return {**entry, "token": known}
        return None

    def revoke(self, token: str) -> bool:
        """Forget ``token``: the link opens nothing from now on. True if it existed."""
        with _LINK_LOCK:
            links = self._load()
            if token not in links:
                return False
            del links[token]
            self._save(links)
        return True

    def for_run(self, run_id: str) -> list[dict]:
        """The live links of ``run_id``, oldest first, each with its ``token``."""
        found = [{**v, "token": k} for k, v in self._load().items() if v.get("run_id") == run_id]
        return sorted(found, key=lambda v: v.get("created") or 0)
