"""The run store: one SQLite index plus one folder per run.

Layout under the dlviz home (``DLVIZ_HOME``, default ``~/.dlviz``)::

    runs.db                           table ``runs``: name, status, dataset, spec, settings, metrics
    runs/<run_id>/weights.safetensors
    runs/<run_id>/snapshots/<tag>.safetensors   weights "as they were at epoch k", for replay

Threading: a training worker thread writes (status, metrics, weights) while the UI thread reads.
Every operation opens its own short-lived connection (sqlite3 connections must not cross threads),
the database runs in WAL mode (readers never block the writer, and the writer never blocks
readers), and writes are serialised by a lock shared by every store on the same file, so two
writers in one process never race for SQLite's write lock and hit "database is locked".

Safety: weights are only ever read with :func:`safetensors.torch.load_file`. Nothing here calls
``torch.load`` or unpickles anything, because unpickling a file can run arbitrary code.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from dlviz.errors import RunError
from dlviz.locks import KeyedLocks
from dlviz.paths import resolve_home

# 2: the ``owner`` column (issue 17: a class on one server); a version-1 index gains it, owned by '' (alone)
SCHEMA_VERSION = 2
WEIGHTS_FILE = "weights.safetensors"
SNAPSHOT_DIR = "snapshots"

STATUSES = ("running", "paused", "finished", "stopped", "failed", "interrupted")
ACTIVE_STATUSES = ("running", "paused")

# Stored in English and translated when shown (``dlviz.i18n.translate(record.message)``), so a
# run trained in one language reads correctly in the other.
INTERRUPTED_MESSAGE = "The app stopped while this run was training; the weights of its last finished epoch were kept."
# The same event when not even one epoch finished: promising kept weights would be untrue.
INTERRUPTED_NO_WEIGHTS_MESSAGE = (
    "The app stopped while this run was training, before its first epoch finished; no weights were saved."
)

MAX_NAME_LENGTH = 200

# Every run folder keeps a copy of its row (``run.json``), so a damaged index can be rebuilt from the
# folders alone; a damaged index is first copied aside to ``runs.db.damaged-<time>``.
RECORD_FILE = "run.json"
DISK_FULL_MESSAGE = "The disk is full: free some space, then train again. The last good weights were kept."

# Ids become folder names: anything outside this alphabet (``..``, ``/``) could escape ``runs/``.
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A safetensors header is JSON; anything claiming more than this is not a weights file we wrote.
_MAX_HEADER_BYTES = 100_000_000

_JSON_FIELDS = ("spec", "settings", "metrics")
_UPDATABLE = frozenset({"status", "metrics", "test_accuracy", "message", "train_seconds", "name", "params", "device"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    created       REAL NOT NULL,
    updated       REAL NOT NULL,
    status        TEXT NOT NULL,
    dataset       TEXT NOT NULL,
    spec          TEXT NOT NULL,   -- JSON object
    settings      TEXT NOT NULL,   -- JSON object
    metrics       TEXT NOT NULL,   -- JSON object
    test_accuracy REAL,
    params        INTEGER,
    device        TEXT NOT NULL,
    message       TEXT NOT NULL DEFAULT '',
    train_seconds REAL,
    owner         TEXT NOT NULL DEFAULT ''   -- dlviz.classroom.Person.id: '' alone, 'teacher', 's-...'
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created);
"""

# One write lock per database file, shared by every RunStore in the process: the UI and the
# worker usually hold separate RunStore objects on the same home.
_LOCKS = KeyedLocks()


class IndexDamagedError(RunError):
    """The SQLite index itself cannot be read (truncated, overwritten): ``RunStore.rebuild_index`` mends it."""


# index files that read well, by path: (size, mtime) of runs.db and its WAL when last checked
_CHECKED: dict[str, tuple] = {}


def _file_key(db_path: Path) -> tuple | None:
    try:
        main = db_path.stat()
    except OSError:
        return None
    try:
        wal = db_path.with_name(db_path.name + "-wal").stat()
        wal_key = (wal.st_size, wal.st_mtime_ns)
    except OSError:
        wal_key = None
    return (main.st_size, main.st_mtime_ns, main.st_ino, wal_key)


def _lock_for(db_path: Path) -> threading.Lock:
    return _LOCKS(os.path.normcase(str(db_path.resolve())))


def dlviz_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The dlviz data folder: ``home``, else ``$DLVIZ_HOME``, else ``~/.dlviz``; made if needed."""
    path = resolve_home(home)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(
            "dlviz cannot use {path} as its home folder ({reason}). Set DLVIZ_HOME to a folder you can write to.",
            path=str(path),
            reason=exc.strerror or str(exc),
        ) from exc
    return path


@dataclass(frozen=True)
class RunRecord:
    """One row of the run index. ``spec``/``settings``/``metrics`` are plain JSON objects."""

    id: str
    name: str
    created: float  # epoch seconds
    updated: float
    status: str  # one of STATUSES
    dataset: str
    spec: dict[str, Any]
    settings: dict[str, Any]  # optimizer, lr, epochs, batch_size, ...
    metrics: dict[str, Any]  # metric history
    test_accuracy: float | None
    params: int | None
    device: str
    message: str  # plain-language end message (English template; translate to show)
    train_seconds: float | None
    folder: Path
    owner: str = ""  # dlviz.classroom.Person.id of who trained it: '' alone (and every run from before classes)

    @property
    def weights_path(self) -> Path:
        return self.folder / WEIGHTS_FILE

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class RunStore:
    """Runs on disk under one dlviz home. Safe to share between threads."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = dlviz_home(home)
        self.db_path = self.home / "runs.db"
        self.runs_dir = self.home / "runs"
        self._lock = _lock_for(self.db_path)
        self._ready = False

    # ----------------------------------------------------------------------------- database
    def _db_error(self, exc: sqlite3.Error) -> RunError:
        if _is_disk_full(exc):
            return RunError(DISK_FULL_MESSAGE)
        if _is_damaged_db(exc):
            return IndexDamagedError(
                "The run index {path} is damaged ({reason}). Your runs' folders are intact: rebuild the "
                "index from them (the Rebuild button in the app, or: python -m dlviz runs --rebuild). The damaged "
                "file is kept as a backup.",
                path=str(self.db_path),
                reason=str(exc),
            )
        return RunError(
            "The run index {path} could not be read or written ({reason}). "
            "If it is damaged, move it aside and dlviz will start a new, empty one.",
            path=str(self.db_path),
            reason=str(exc),
        )

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a write takes SQLite's write
        # lock up front (BEGIN IMMEDIATE) instead of failing when a read upgrades to a write.
        conn = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                conn = self._open()
                try:
                    found = conn.execute("PRAGMA user_version").fetchone()[0]
                    if found > SCHEMA_VERSION:
                        raise RunError(
                            "The run index {path} was written by a newer version of dlviz "
                            "(schema {found}; this version reads {supported}). Update dlviz or "
                            "set DLVIZ_HOME to another folder.",
                            path=str(self.db_path),
                            found=found,
                            supported=SCHEMA_VERSION,
                        )
                    # WAL persists in the file; it must be set outside a transaction. On file
                    # systems without shared memory SQLite keeps its old mode, which still works.
                    conn.execute("PRAGMA journal_mode=WAL")
                    if found < SCHEMA_VERSION:
                        conn.execute("BEGIN IMMEDIATE")
                        try:
                            for statement in _SCHEMA.split(";"):
                                if statement.strip():
                                    conn.execute(statement)
                            # an index from before classes (version 1): its runs belong to '' (alone)
                            columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
                            if "owner" not in columns:
                                conn.execute("ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
                            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                        except BaseException:
                            conn.execute("ROLLBACK")
                            raise
                        conn.execute("COMMIT")
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                raise self._db_error(exc) from exc
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self._ready = True

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation, turning SQLite failures into a RunError."""
        try:
            conn = self._open()
        except sqlite3.Error as exc:
            raise self._db_error(exc) from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            raise self._db_error(exc) from exc
        finally:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        self._ensure_schema()
        with self._connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # The schema check takes the same (non-reentrant) lock, so it must come first.
        self._ensure_schema()
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # ------------------------------------------------------------------------------ records
    def folder(self, run_id: str) -> Path:
        """The folder of ``run_id`` (which may not exist)."""
        return self.runs_dir / _checked_id(run_id)

    def _record(self, row: sqlite3.Row) -> RunRecord:
        run_id = row["id"]
        decoded: dict[str, dict[str, Any]] = {}
        for field in _JSON_FIELDS:
            try:
                value = json.loads(row[field])
            except (TypeError, ValueError) as exc:
                raise _damaged(run_id, field, str(exc)) from exc
            if not isinstance(value, dict):
                found = type(value).__name__
                raise _damaged(run_id, field, f"expected a JSON object, found {found}")
            decoded[field] = value
        if row["status"] not in STATUSES:
            raise _damaged(run_id, "status", f"unknown status {row['status']!r}")
        return RunRecord(
            id=run_id,
            name=row["name"],
            created=row["created"],
            updated=row["updated"],
            status=row["status"],
            dataset=row["dataset"],
            spec=decoded["spec"],
            settings=decoded["settings"],
            metrics=decoded["metrics"],
            test_accuracy=row["test_accuracy"],
            params=row["params"],
            device=row["device"],
            message=row["message"] or "",
            train_seconds=row["train_seconds"],
            folder=self.runs_dir / run_id,
            owner=str(row["owner"] or ""),
        )

    def create(
        self,
        *,
        name: str,
        dataset: str,
        spec: Mapping[str, Any],
        settings: Mapping[str, Any],
        device: str,
        params: int | None = None,
        owner: str = "",
    ) -> RunRecord:
        """Add a run with status "running" and make its folder; ``owner``: the Person.id it belongs to."""
        clean_name = _checked_name(name, "new")
        created = time.time()
        values = {
            "name": clean_name,
            "created": created,
            "updated": created,
            "status": "running",
            "dataset": str(dataset),
            "spec": _to_json(spec, "spec"),
            "settings": _to_json(settings, "settings"),
            "metrics": "{}",
            "test_accuracy": None,
            "params": None if params is None else int(params),
            "device": str(device),
            "message": "",
            "train_seconds": None,
            "owner": str(owner or ""),
        }
        with self._write() as conn:
            # Ids are readable (creation time) plus 16 random bits; a clash needs two runs in the
            # same second drawing the same bits, and is simply redrawn.
            while True:
                stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(created))
                run_id = f"{stamp}-{secrets.token_hex(2)}"
                taken = conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
                if taken is None and not (self.runs_dir / run_id).exists():
                    break
            columns = ["id", *values]
            conn.execute(
                f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                (run_id, *values.values()),
            )
            # Inside the transaction: if the folder cannot be made, the row is rolled back too.
            try:
                (self.runs_dir / run_id).mkdir(parents=True, exist_ok=False)
            except OSError as exc:
                raise RunError(
                    "Could not create the folder {path} for a new run ({reason}). "
                    "Free some disk space or check that the folder can be written.",
                    path=str(self.runs_dir / run_id),
                    reason=exc.strerror or str(exc),
                ) from exc
        rec = self.get(run_id)
        self._mirror(rec)
        return rec

    def update(self, run_id: str, **fields: Any) -> bool:
        """Change some of: status, metrics, test_accuracy, message, train_seconds, name, params,
        device. ``updated`` is set to now.

        An update that sets ``status`` applies only while the run is "running" or "paused": a run
        that already ended (finished, stopped, failed, interrupted) keeps its end, and False is
        returned with nothing changed. True otherwise."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise TypeError(f"RunStore.update() cannot change {sorted(unknown)}")
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "status":
                if value not in STATUSES:
                    raise ValueError(f"status must be one of {STATUSES}, not {value!r}")
                values[key] = value
            elif key == "metrics":
                values[key] = _to_json(value, "metrics")
            elif key == "name":
                values[key] = _checked_name(value, run_id)
            elif key in ("test_accuracy", "train_seconds"):
                values[key] = None if value is None else float(value)
            elif key == "params":
                values[key] = None if value is None else int(value)
            else:  # message, device
                values[key] = "" if value is None else str(value)
        values["updated"] = time.time()
        assignments = ", ".join(f"{key} = ?" for key in values)
        # A status moves only while the run is active: its final state is written once, by whoever
        # ends it first (the trainer, or an app start that found it orphaned), and never flipped back.
        only_active = " AND status IN (?, ?)" if "status" in values else ""
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE runs SET {assignments} WHERE id = ?{only_active}",
                (*values.values(), run_id, *(ACTIVE_STATUSES if only_active else ())),
            )
            if cursor.rowcount == 0:
                if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                    raise _no_such_run(run_id)
                return False
        self._mirror_id(run_id)
        return True

    def get(self, run_id: str) -> RunRecord:
        """The run ``run_id``; RunError if there is none."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise _no_such_run(run_id)
        return self._record(row)

    def list(
        self, limit: int | None = None, *, skip_damaged: bool = False, owner: str | None = None
    ) -> list[RunRecord]:
        """Runs, newest first. ``skip_damaged`` leaves out rows that cannot be decoded (so one
        bad row does not hide every other run) instead of raising RunError. ``owner``: only the runs of
        that Person.id (None: everyone's)."""
        sql = "SELECT * FROM runs"
        args: tuple[Any, ...] = ()
        if owner is not None:
            sql += " WHERE owner = ?"
            args = (str(owner),)
        sql += " ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args = (*args, max(0, int(limit)))
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        records: list[RunRecord] = []
        for row in rows:
            try:
                records.append(self._record(row))
            except RunError:
                if not skip_damaged:
                    raise
        return records

    def last(self, owner: str | None = None) -> RunRecord | None:
        """The newest run (of ``owner`` when given), or None when there are none."""
        newest = self.list(limit=1, owner=owner)
        return newest[0] if newest else None

    def rename(self, run_id: str, name: str) -> None:
        """Give ``run_id`` a new name (surrounding spaces are dropped)."""
        self.update(run_id, name=name)

    def delete(self, run_id: str) -> None:
        """Remove the run's row and its folder (weights and snapshots)."""
        with self._write() as conn:
            if conn.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount == 0:
                raise _no_such_run(run_id)
        folder = self.folder(run_id)
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise RunError(
                "Run {run_id} was removed from the list, but its folder {path} could not be "
                "deleted ({reason}). Delete the folder by hand.",
                run_id=run_id,
                path=str(folder),
                reason=exc.strerror or str(exc),
            ) from exc

    def mark_interrupted(
        self, active_ids: set[str] | frozenset[str] = frozenset(), only: str | None = None
    ) -> list[str]:
        """Runs left "running"/"paused" by an app that stopped become "interrupted".

        Call at app start (in the server process only, never in a training child) with the ids of
        runs that really are training in this process; ``only``: just that run (a training process
        whose app died). Returns the ids that were changed.
        """
        changed: list[str] = []
        with self._write() as conn:
            rows = conn.execute("SELECT id FROM runs WHERE status IN (?, ?)", ACTIVE_STATUSES).fetchall()
            now = time.time()
            for (run_id,) in rows:
                if run_id in active_ids or (only is not None and run_id != only):
                    continue
                has_weights = _RUN_ID_RE.match(run_id) is not None and (self.runs_dir / run_id / WEIGHTS_FILE).is_file()
                message = INTERRUPTED_MESSAGE if has_weights else INTERRUPTED_NO_WEIGHTS_MESSAGE
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', message = ?, updated = ? "
                    "WHERE id = ? AND status IN (?, ?)",
                    (message, now, run_id, *ACTIVE_STATUSES),
                )
                changed.append(run_id)
        for run_id in changed:
            self._mirror_id(run_id)
        return changed

    # ------------------------------------------------------------------ index backup and rebuild
    def _mirror(self, rec: RunRecord) -> None:
        """Keep a copy of the run's row in its folder (``run.json``): enough to rebuild the index."""
        row = {
            "id": rec.id,
            "name": rec.name,
            "created": rec.created,
            "updated": rec.updated,
            "status": rec.status,
            "dataset": rec.dataset,
            "spec": rec.spec,
            "settings": rec.settings,
            "metrics": rec.metrics,
            "test_accuracy": rec.test_accuracy,
            "params": rec.params,
            "device": rec.device,
            "message": rec.message,
            "train_seconds": rec.train_seconds,
            "owner": rec.owner,
        }
        path = rec.folder / RECORD_FILE
        if not rec.folder.is_dir():
            return
        tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_text(_to_json(row, "run"), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            with suppress(OSError):
                tmp.unlink()
            if exc.errno == errno.ENOSPC:
                raise RunError(DISK_FULL_MESSAGE) from exc
            # a read-only folder: the index still holds the row; only a later rebuild would miss it

    def _mirror_id(self, run_id: str) -> None:
        try:
            rec = self.get(run_id)
        except RunError:
            return  # deleted meanwhile, or a damaged row the index still reports
        self._mirror(rec)

    def index_problem(self) -> RunError | None:
        """None when the index reads; else the error to show (an ``IndexDamagedError`` when the
        file itself is damaged and ``rebuild_index`` can mend it)."""
        key = _file_key(self.db_path)
        if key is not None and _CHECKED.get(str(self.db_path)) == key:
            return None  # unchanged since it last read well: pages call this on every run
        try:
            self._ready = False
            self._ensure_schema()
            with self._read() as conn:
                found = conn.execute("PRAGMA quick_check(1)").fetchone()
                if found is None or str(found[0]).lower() != "ok":
                    raise sqlite3.DatabaseError(f"database disk image is malformed: {found[0] if found else '?'}")
                conn.execute("SELECT COUNT(*) FROM runs").fetchone()
        except RunError as exc:
            _CHECKED.pop(str(self.db_path), None)
            return exc
        if key is not None:
            _CHECKED[str(self.db_path)] = _file_key(self.db_path)
        return None

    def _salvage(self) -> dict[str, dict[str, Any]]:
        """The rows a damaged index still gives, read one by one until the damage (runs from before
        run.json copies existed are rebuilt from these)."""
        rows: dict[str, dict[str, Any]] = {}
        try:
            conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=2)
        except sqlite3.Error:
            return rows
        try:
            conn.row_factory = sqlite3.Row
            cursor = conn.execute("SELECT * FROM runs")
            while True:
                try:
                    row = cursor.fetchone()
                except sqlite3.Error:
                    break
                if row is None:
                    break
                try:
                    item = dict(row)
                    for field in _JSON_FIELDS:
                        item[field] = json.loads(item[field])
                    rows[str(item["id"])] = item
                except (TypeError, ValueError, KeyError):
                    continue
        except sqlite3.Error:
            pass
        finally:
            conn.close()
        return rows

    def backup_index(self) -> Path | None:
        """Copy runs.db (and its WAL) aside to ``runs.db.damaged-<time>``; returns the copy's path."""
        if not self.db_path.exists():
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        dest = self.db_path.with_name(f"{self.db_path.name}.damaged-{stamp}")
        n = 1
        while dest.exists():
            dest = self.db_path.with_name(f"{self.db_path.name}.damaged-{stamp}-{n}")
            n += 1
        try:
            shutil.copy2(self.db_path, dest)
            for suffix in ("-wal", "-shm"):
                side = self.db_path.with_name(self.db_path.name + suffix)
                if side.exists():
                    shutil.copy2(side, dest.with_name(dest.name + suffix))
        except OSError as exc:
            raise RunError(
                "Could not keep a backup of the run index at {path} ({reason}). Free some disk space "
                "or check that the folder can be written.",
                path=str(dest),
                reason=exc.strerror or str(exc),
            ) from exc
        return dest

    def rebuild_index(self, keep_backup: bool = True) -> dict[str, Any]:
        """A new index from the run folders' ``run.json`` copies, after backing the old one up.

        Runs that were active become "interrupted" (nothing trains them any more). Returns
        ``{"backup": path or None, "runs": n restored, "skipped": [folders without a readable copy]}``.
        """
        with self._lock:
            salvaged = self._salvage() if self.db_path.exists() else {}
            backup = self.backup_index() if keep_backup else None
            for suffix in ("", "-wal", "-shm", "-journal"):
                with suppress(FileNotFoundError):
                    os.unlink(self.db_path.with_name(self.db_path.name + suffix))
            self._ready = False
        restored, skipped = 0, []
        folders = sorted(p for p in self.runs_dir.iterdir() if p.is_dir()) if self.runs_dir.is_dir() else []
        rows = []
        for folder in folders:
            try:
                row = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
                if not isinstance(row, dict) or row.get("id") != folder.name or not _RUN_ID_RE.match(folder.name):
                    raise ValueError  # not this run's record
                rows.append(row)
            except (OSError, ValueError):
                if folder.name in salvaged:  # a run from before run.json: its row as the old index gave it
                    rows.append(salvaged[folder.name])
                else:
                    skipped.append(folder.name)
        with self._write() as conn:
            for row in rows:
                try:
                    status = row.get("status") if row.get("status") in STATUSES else "interrupted"
                    message = str(row.get("message") or "")
                    if status in ACTIVE_STATUSES:
                        status = "interrupted"
                        message = (
                            INTERRUPTED_MESSAGE
                            if (self.runs_dir / row["id"] / WEIGHTS_FILE).is_file()
                            else INTERRUPTED_NO_WEIGHTS_MESSAGE
                        )
                    conn.execute(
                        "INSERT INTO runs (id, name, created, updated, status, dataset, spec, settings, "
                        "metrics, test_accuracy, params, device, message, train_seconds, owner) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            row["id"],
                            _checked_name(row.get("name"), row["id"]),
                            float(row["created"]),
                            float(row.get("updated") or row["created"]),
                            status,
                            str(row["dataset"]),
                            _to_json(row["spec"], "spec"),
                            _to_json(row.get("settings") or {}, "settings"),
                            _to_json(row.get("metrics") or {}, "metrics"),
                            None if row.get("test_accuracy") is None else float(row["test_accuracy"]),
                            None if row.get("params") is None else int(row["params"]),
                            str(row.get("device") or ""),
                            message,
                            None if row.get("train_seconds") is None else float(row["train_seconds"]),
                            str(row.get("owner") or ""),
                        ),
                    )
                    restored += 1
                except (KeyError, TypeError, ValueError, RunError):
                    skipped.append(str(row.get("id")))
        for row in rows:
            self._mirror_id(str(row.get("id")))  # salvaged runs get their run.json now
        _CHECKED.pop(str(self.db_path), None)
        return {"backup": None if backup is None else str(backup), "runs": restored, "skipped": skipped}

    # ------------------------------------------------------------------------------ weights
    def _path_in_run(self, run_id: str, filename: str) -> Path:
        parts = PurePosixPath(filename).parts
        if (
            not parts
            or PurePosixPath(filename).is_absolute()
            or any(part in ("", ".", "..") for part in parts)
            or "\\" in filename
            or not filename.endswith(".safetensors")
        ):
            raise ValueError(f"weights file name must be a relative *.safetensors path, not {filename!r}")
        return self.folder(run_id).joinpath(*parts)

    def has_weights(self, run_id: str, filename: str = WEIGHTS_FILE) -> bool:
        return self._path_in_run(run_id, filename).is_file()

    def save_weights(
        self,
        run_id: str,
        state_dict: Mapping[str, torch.Tensor],
        filename: str = WEIGHTS_FILE,
    ) -> Path | None:
        """Write ``state_dict`` to the run's folder atomically; returns the file's path.

        Weights that are not all finite (a run that diverged to NaN) are never kept: nothing is
        written, the previous file stays, and None is returned."""
        path = self._path_in_run(run_id, filename)
        tensors = _cpu_copy(state_dict)
        if not all_finite(tensors):
            return None
        # Checking the row first keeps a worker from re-creating the folder of a run the user
        # just deleted.
        with self._read() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise RunError("Run {run_id} was deleted, so its weights were not saved.", run_id=run_id)
        _atomic_save(tensors, path, run_id)
        return path

    def save_snapshot(self, run_id: str, tag: str, state_dict: Mapping[str, torch.Tensor]) -> Path | None:
        """Keep the weights as they are now in ``snapshots/<tag>.safetensors`` (tag: "epoch-3");
        weights that are not finite are not kept (None)."""
        filename = f"{SNAPSHOT_DIR}/{_checked_tag(tag)}.safetensors"
        return self.save_weights(run_id, state_dict, filename)

    def list_snapshots(self, run_id: str) -> list[str]:
        """Snapshot tags of ``run_id`` in natural order ("epoch-2" before "epoch-10")."""
        folder = self.folder(run_id) / SNAPSHOT_DIR
        if not folder.is_dir():
            return []
        # Half-written temporary files start with "." and end in ".tmp", so they never show up.
        tags = [
            p.name[: -len(".safetensors")]
            for p in folder.glob("*.safetensors")
            if p.is_file() and _TAG_RE.match(p.name[: -len(".safetensors")])
        ]
        return sorted(tags, key=_natural_key)

    # ------------------------------------------------------------------------------ records
    def save_record(self, run_id: str, name: str, data: Any) -> Path:
        """Write JSON ``data`` to ``<run folder>/<name>.json`` atomically (e.g. "gradients")."""
        path = self.folder(run_id) / f"{_checked_tag(name)}.json"
        if not path.parent.is_dir():
            raise RunError("Run {run_id} was deleted, so its {name} record was not saved.", run_id=run_id, name=name)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(_to_json(data, name), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            with suppress(OSError):
                tmp.unlink()
            if exc.errno == errno.ENOSPC:
                raise RunError(DISK_FULL_MESSAGE) from exc
            raise RunError(
                "Could not save the {name} record of run {run_id} to {path} ({reason}). "
                "Free some disk space or check that the folder can be written.",
                name=name,
                run_id=run_id,
                path=str(path),
                reason=exc.strerror or str(exc),
            ) from exc
        return path

    def has_record(self, run_id: str, name: str) -> bool:
        return (self.folder(run_id) / f"{_checked_tag(name)}.json").is_file()

    def load_record(self, run_id: str, name: str) -> Any | None:
        """The JSON saved by ``save_record``, or None if there is none (older runs, damaged file)."""
        path = self.folder(run_id) / f"{_checked_tag(name)}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def load_weights(self, run_id: str, filename: str = WEIGHTS_FILE) -> dict[str, torch.Tensor]:
        """The saved tensors of ``run_id`` on the CPU. Reads safetensors only, never pickles."""
        path = self._path_in_run(run_id, filename)
        if not path.is_file():
            raise RunError(
                "Run {run_id} has no saved weights ({path}): it may have been stopped before "
                "the first epoch finished or the folder was deleted.",
                run_id=run_id,
                path=str(path),
            )
        return _load_safetensors(path, run_id)

    def load_snapshot(self, run_id: str, tag: str) -> dict[str, torch.Tensor]:
        """The weights saved by ``save_snapshot(run_id, tag, ...)``."""
        path = self.folder(run_id) / SNAPSHOT_DIR / f"{_checked_tag(tag)}.safetensors"
        if not path.is_file():
            raise RunError(
                "Run {run_id} has no snapshot {tag} ({path}): snapshots are saved only at the "
                "epochs chosen before training.",
                run_id=run_id,
                tag=tag,
                path=str(path),
            )
        return _load_safetensors(path, run_id)


def load_state_into(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    """Load ``state_dict`` into ``model`` after checking that names and shapes match exactly.

    ``nn.Module.load_state_dict`` would also refuse a mismatch, but with a long technical list;
    this names the first difference in words a user can act on. Returns ``model``.
    """
    expected = model.state_dict()
    for key in expected:
        if key not in state_dict:
            raise RunError(
                "The saved weights do not fit this model: the model has a tensor {key} that the "
                "weights lack. Rebuild the model from the spec saved with the run.",
                key=key,
            )
    for key, value in state_dict.items():
        if key not in expected:
            raise RunError(
                "The saved weights do not fit this model: the weights have a tensor {key} that "
                "the model lacks. Rebuild the model from the spec saved with the run.",
                key=key,
            )
        want = expected[key]
        if not isinstance(value, torch.Tensor) or (
            isinstance(want, torch.Tensor) and tuple(value.shape) != tuple(want.shape)
        ):
            saved = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise RunError(
                "The saved weights do not fit this model: {key} has shape {saved} in the weights "
                "but {expected} in the model. Rebuild the model from the spec saved with the run.",
                key=key,
                saved=str(saved),
                expected=str(tuple(want.shape)) if isinstance(want, torch.Tensor) else "?",
            )
    model.load_state_dict(dict(state_dict), strict=True)
    return model


# ---------------------------------------------------------------------------------- helpers
def _checked_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise _no_such_run(str(run_id))
    return run_id


def _checked_tag(tag: str) -> str:
    if not isinstance(tag, str) or not _TAG_RE.match(tag) or tag.endswith(".tmp"):
        raise ValueError(f"snapshot tag must be letters, digits, '-', '_' or '.', not {tag!r}")
    return tag


def _checked_name(name: Any, run_id: str) -> str:
    clean = str(name or "").strip()
    if not clean:
        raise RunError("A run name cannot be empty: type a name for run {run_id}.", run_id=run_id)
    if len(clean) > MAX_NAME_LENGTH:
        raise RunError(
            "A run name can have at most {limit} characters; the name for run {run_id} has {length}.",
            limit=MAX_NAME_LENGTH,
            run_id=run_id,
            length=len(clean),
        )
    return clean


def _no_such_run(run_id: str) -> RunError:
    return RunError(
        "There is no run {run_id}: it may have been deleted. Pick a run from the list.",
        run_id=run_id,
    )


def _damaged(run_id: str, field: str, reason: str) -> RunError:
    return RunError(
        "Run {run_id} is damaged: its {field} could not be read ({reason}). Delete the run and train it again.",
        run_id=run_id,
        field=field,
        reason=reason,
    )


def _json_default(obj: Any) -> Any:
    # Metric histories often hold numpy or 0-d torch scalars; store them as plain numbers.
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().tolist()
    tolist = getattr(obj, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} cannot be stored as JSON")


def _to_json(value: Any, field: str) -> str:
    if not isinstance(value, Mapping):
        raise TypeError(f"{field} must be a dict, not {type(value).__name__}")
    # allow_nan: a diverged run's last loss is NaN and is worth keeping; Python reads it back.
    return json.dumps(dict(value), default=_json_default, allow_nan=True)


def _natural_key(tag: str) -> tuple[Any, ...]:
    # re.split with a group alternates text, number, text, ... so positions always compare alike.
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", tag)))


def _cpu_copy(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies.

    Copying (even tensors already on the CPU) takes a consistent picture while a training thread
    may keep updating the parameters, and gives every tensor its own storage: safetensors refuses
    tensors that share memory (tied weights, views of one buffer).
    """
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"state_dict[{key!r}] is a {type(value).__name__}, not a tensor")
        tensors[key] = value.detach().to("cpu", copy=True).contiguous()
    return tensors


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, run_id: str) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename over ``path``.

    ``os.replace`` within one folder is atomic, so a crash mid-write leaves the previous file (or
    none), never a truncated one that would later fail to load.
    """
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        # serialised in memory and written by Python, so a full disk is an OSError with its errno
        # (safetensors' own writer reports it as an opaque SafetensorError)
        os.close(fd)
        with open(tmp, "wb") as fh:
            _write_all(fh, safetensors_bytes(tensors, metadata={"format": "pt", "dlviz_run": run_id}))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise RunError(DISK_FULL_MESSAGE) from exc
        raise RunError(
            "Could not save the weights of run {run_id} to {path} ({reason}). "
            "Free some disk space or check that the folder can be written.",
            run_id=run_id,
            path=str(path),
            reason=exc.strerror or str(exc),
        ) from exc
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
    # Make the rename itself durable; not possible (nor needed) on every platform.
    with suppress(OSError, AttributeError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _write_all(fh, data: bytes) -> None:
    """``fh.write(data)``: one place, so a test can make the disk "full"."""
    fh.write(data)


def all_finite(tensors: Mapping[str, torch.Tensor]) -> bool:
    """True when no floating-point tensor holds a NaN or an infinity."""
    return all(
        bool(torch.isfinite(v).all())
        for v in tensors.values()
        if isinstance(v, torch.Tensor) and (v.is_floating_point() or v.is_complex())
    )


def _is_disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in str(exc).lower()


def _is_damaged_db(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "file is encrypted" in text


def _looks_like_safetensors(path: Path) -> bool:
    """Cheap format check before the real parser: 8-byte little-endian header length, then JSON.

    A pickle (b"\\x80..."), a torch.save zip (b"PK..."), an empty or random file fails here.
    """
    try:
        size = path.stat().st_size
        if size < 10:  # the smallest valid file is 8 bytes of length plus "{}"
            return False
        with open(path, "rb") as fh:
            header_len = int.from_bytes(fh.read(8), "little")
            if not 2 <= header_len <= min(size - 8, _MAX_HEADER_BYTES):
                return False
            return fh.read(1) == b"{"
    except OSError:
        return False


def _load_safetensors(path: Path, run_id: str) -> dict[str, torch.Tensor]:
    not_safetensors = RunError(
        "The weights file {path} of run {run_id} is not a safetensors file and was not loaded: "
        "for safety dlviz never unpickles files (such as those written by torch.save).",
        run_id=run_id,
        path=str(path),
    )
    if not _looks_like_safetensors(path):
        raise not_safetensors
    try:
        # The parser validates the header and every tensor's byte range; it never runs code.
        tensors = load_file(path, device="cpu")
    except Exception as exc:  # SafetensorError, OSError, bad JSON in the header, ...
        raise not_safetensors from exc
    return tensors


__all__ = [
    "ACTIVE_STATUSES",
    "DISK_FULL_MESSAGE",
    "INTERRUPTED_MESSAGE",
    "IndexDamagedError",
    "all_finite",
    "INTERRUPTED_NO_WEIGHTS_MESSAGE",
    "SCHEMA_VERSION",
    "STATUSES",
    "WEIGHTS_FILE",
    "RunRecord",
    "RunStore",
    "dlviz_home",
    "load_state_into",
]
