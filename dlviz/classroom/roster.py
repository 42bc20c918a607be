"""The people of a class on one server: the teacher's key, the class code, the students who joined, the
sessions a browser cookie brings back after a refresh, and who is connected now (presence).

Files (under ``dlviz_home() / "class"``, each written atomically, so they survive a server restart):

    teacher_key    the teacher's key when DLVIZ_TEACHER_KEY does not give one (readable by the server's user only)
    roster.json    the class code (when DLVIZ_CLASS_CODE does not give one) and the students: id -> name, joined
    sessions.json  sign-in tokens by their SHA-256: the person and the session id a cookie brings back

No accounts and no passwords: a student joins with the class code and a name and gets a random ``s-<hex>`` id
(two students may type the same name; their runs never mix). A cookie holds a random token, never a name or a
key; the file keeps only the token's hash. Presence (``touch``/``connected``) lives in the server's memory: it
is about who is here now, and a restart rightly forgets it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
import time
import unicodedata
from contextlib import suppress
from pathlib import Path
from typing import Any

from dlviz.classroom.people import TEACHER_ID, Person
from dlviz.locks import KeyedLocks
from dlviz.runs import dlviz_home

# readable on a projector and over the room: no 0/O, 1/I/L, 5/S, 2/Z, 8/B
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6
MAX_NAME_LENGTH = 40
MAX_SESSIONS = 5000  # sign-in tokens kept; the oldest go first
SESSION_DAYS = 30  # a token older than this no longer signs anyone in
_STUDENT_ID = re.compile(r"^s-[0-9a-f]{12}$")
_SID = re.compile(r"^[a-f0-9]{16}$")
# characters that Markdown or HTML would read as markup: a name is shown as written, never as formatting
_MARKUP = set("<>`*_[]#|\\$~{}")

_LOCKS = KeyedLocks()
# presence by class folder: person id -> {id, name, role, page, params, seen}
_PRESENCE: dict[str, dict[str, dict[str, Any]]] = {}
_PRESENCE_LOCK = threading.Lock()
# wrong keys and codes by class folder: times of recent failures (each one slows the next answer)
_FAILURES: dict[str, list[float]] = {}
_ANNOUNCED: set[str] = set()


def clean_name(name: Any) -> str:
    """A student's name as shown to the class: printable characters only (no control or direction marks, no
    Markdown or HTML markup characters), spaces collapsed, at most ``MAX_NAME_LENGTH``."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat.startswith("C"):  # control, format (bidi overrides, zero-width), surrogate, private, unassigned
            kept.append(" " if ch in "\t\n\r" else "")
        elif cat.startswith("Z"):
            kept.append(" ")
        elif ch in _MARKUP:
            kept.append("")
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())[:MAX_NAME_LENGTH].strip()


def _normal_code(code: Any) -> str:
    return "".join(str(code or "").split()).upper().replace("-", "")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _write_json(path: Path, data: Any, private: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data) if not isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        with suppress(OSError):
            tmp.unlink()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: a fresh start (a damaged roster only loses who joined, never runs)
    return data if isinstance(data, dict) else {}


class Roster:
    """The class on this server. Cheap to make (every page may make one); safe to share between threads."""

    fail_delay_s = 0.3  # a wrong key or code waits this long times the recent failures (at most max_delay_s)
    max_delay_s = 3.0

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.folder = dlviz_home(home) / "class"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._key = str(self.folder.resolve())
        self._lock = _LOCKS(self._key)

    # ------------------------------------------------------------------------------ the class
    def teacher_key(self) -> str:
        """DLVIZ_TEACHER_KEY, else the key made once for this server's home (kept in ``class/teacher_key``)."""
        given = os.environ.get("DLVIZ_TEACHER_KEY", "").strip()
        if given:
            return given
        path = self.folder / "teacher_key"
        with self._lock:
            with suppress(OSError):
                key = path.read_text(encoding="utf-8").strip()
                if len(key) >= 16:
                    return key
            key = secrets.token_urlsafe(18)
            _write_json(path, key, private=True)
            return key

    def class_code(self) -> str:
        """DLVIZ_CLASS_CODE, else a short code made once (six letters and digits that read alike nowhere)."""
        given = _normal_code(os.environ.get("DLVIZ_CLASS_CODE", ""))
        if given:
            return given
        with self._lock:
            data = self._roster()
            code = data.get("class_code")
            if isinstance(code, str) and code:
                return code
            data["class_code"] = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            self._save_roster(data)
            return data["class_code"]

    def announce(self, out=None) -> bool:
        """Print the teacher's key and the class code once per server process (the line the teacher looks for
        in the terminal or the log). True when printed now."""
        if self._key in _ANNOUNCED:
            return False
        _ANNOUNCED.add(self._key)
        out = out or sys.stdout
        print(
            f"dlviz class server: teacher key {self.teacher_key()}  |  class code {self.class_code()}  "
            "(students join with the class code and their name; keep the key to yourself)",
            file=out,
            flush=True,
        )
        return True

    # ------------------------------------------------------------------------------ signing in
    def sign_in_teacher(self, key: Any) -> Person | None:
        """The teacher, when ``key`` is the teacher's key; None (after a pause that grows with each wrong try)
        otherwise."""
        given = str(key or "").strip()
        if given and hmac.compare_digest(given.encode("utf-8"), self.teacher_key().encode("utf-8")):
            return Person(TEACHER_ID, "Teacher", "teacher")
        self._failed()
        return None

    def join(self, code: Any, name: Any) -> Person | None:
        """A new student of this class, when ``code`` is the class code and ``name`` leaves a name once cleaned
        (``clean_name``); None otherwise (a wrong code waits first, like a wrong key). Each join is a new
        student: a name is not an identity, so nobody takes over a classmate's runs by typing their name."""
        shown = clean_name(name)
        given = _normal_code(code)
        if not given or not hmac.compare_digest(given.encode("utf-8"), self.class_code().encode("utf-8")):
            self._failed()
            return None
        if not shown:
            return None
        with self._lock:
            data = self._roster()
            students = data.setdefault("students", {})
            while True:
                sid = f"s-{secrets.token_hex(6)}"
                if sid not in students:
                    break
            students[sid] = {"name": shown, "joined": time.time()}
            self._save_roster(data)
        return Person(sid, shown, "student")

    def person(self, person_id: str) -> Person | None:
        """The person with this id (the teacher or a student who joined), or None."""
        if person_id == TEACHER_ID:
            return Person(TEACHER_ID, "Teacher", "teacher")
        if not isinstance(person_id, str) or not _STUDENT_ID.match(person_id):
            return None
        entry = self._roster().get("students", {}).get(person_id)
        if not isinstance(entry, dict):
            return None
        return Person(person_id, clean_name(entry.get("name")) or person_id, "student")

    def people(self) -> list[Person]:
        """Every student who joined, in the order they joined (the teacher is not listed)."""
        students = self._roster().get("students", {})
        rows = sorted(
            ((v.get("joined", 0), k, v) for k, v in students.items() if isinstance(v, dict)), key=lambda r: r[0]
        )
        return [Person(k, clean_name(v.get("name")) or k, "student") for _, k, v in rows if _STUDENT_ID.match(k)]

    # ------------------------------------------------------------------------------ sessions (the cookie)
    def open_session(self, person: Person, sid: str) -> str:
        """A new random token for a cookie: it brings back ``person`` and their session ``sid`` after a
        refresh (``resume``). Only its hash is kept."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            data = _read_json(self.folder / "sessions.json")
            data[_hash(token)] = {"person": person.id, "sid": sid, "created": time.time()}
            if len(data) > MAX_SESSIONS:
                for old in sorted(data, key=lambda k: data[k].get("created", 0))[: len(data) - MAX_SESSIONS]:
                    del data[old]
            _write_json(self.folder / "sessions.json", data, private=True)
        return token

    def resume(self, token: Any) -> tuple[Person, str] | None:
        """(person, session id) for a cookie's token, or None (unknown, expired, signed out, or a student the
        roster no longer has)."""
        if not isinstance(token, str) or not 16 <= len(token) <= 100:
            return None
        entry = _read_json(self.folder / "sessions.json").get(_hash(token))
        if not isinstance(entry, dict) or time.time() - float(entry.get("created", 0)) > SESSION_DAYS * 86400:
            return None
        person = self.person(str(entry.get("person", "")))
        sid = str(entry.get("sid", ""))
        if person is None or not _SID.match(sid):
            return None
        return person, sid

    def sign_out(self, token: Any) -> None:
        """Forget the token: the cookie signs nobody in any more."""
        if not isinstance(token, str):
            return
        with self._lock:
            data = _read_json(self.folder / "sessions.json")
            if data.pop(_hash(token), None) is not None:
                _write_json(self.folder / "sessions.json", data, private=True)

    # ------------------------------------------------------------------------------ presence
    def touch(self, person: Person, page: str = "", params: int = 0) -> None:
        """This person is here now, on ``page``, with a model of ``params`` parameters (the teacher's view)."""
        if not person.id:
            return  # alone: nobody to show
        with _PRESENCE_LOCK:
            _PRESENCE.setdefault(self._key, {})[person.id] = {
                "id": person.id,
                "name": person.name,
                "role": person.role,
                "page": str(page or ""),
                "params": int(params or 0),
                "seen": time.time(),
            }

    def connected(self, within_s: float = 60) -> list[dict]:
        """Who was seen in the last ``within_s`` seconds, most recent first: dicts of id, name, role, page,
        params and seen (epoch seconds)."""
        now = time.time()
        with _PRESENCE_LOCK:
            rows = [dict(v) for v in _PRESENCE.get(self._key, {}).values() if now - v["seen"] <= within_s]
        return sorted(rows, key=lambda r: -r["seen"])

    def leave(self, person: Person) -> None:
        """Take this person off the connected list (sign-out)."""
        with _PRESENCE_LOCK:
            _PRESENCE.get(self._key, {}).pop(person.id, None)

    # ------------------------------------------------------------------------------ files
    def _roster(self) -> dict:
        return _read_json(self.folder / "roster.json")

    def _save_roster(self, data: dict) -> None:
        _write_json(self.folder / "roster.json", data)

    def _failed(self) -> None:
        """A wrong key or code: wait longer with each recent failure, so guessing is slow."""
        now = time.time()
        with _PRESENCE_LOCK:
            recent = [t for t in _FAILURES.get(self._key, []) if now - t < 60] + [now]
            _FAILURES[self._key] = recent[-50:]
        time.sleep(min(self.max_delay_s, self.fail_delay_s * len(recent)))


__all__ = ["CODE_ALPHABET", "MAX_NAME_LENGTH", "Roster", "clean_name"]
