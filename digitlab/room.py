"""Workshop mode: a room of participants on one server, their drawings, and who may do what.

Switched on by the instructor when starting the server::

    DIGITLAB_WORKSHOP=1 DIGITLAB_INSTRUCTOR_KEY=... streamlit run app.py

Without ``DIGITLAB_WORKSHOP`` the app is the single-user app; drawings are still kept in
the room database (owner ``None``) and the one user acts as the instructor.

Who may do what (names, owners, the instructor, the errors) is :mod:`digitlab.roles`.

The database
------------

One SQLite file, ``$DIGITLAB_HOME/room.sqlite3``, in WAL mode (readers never wait for the
writer) with a busy timeout, so several server threads and processes can use it at once.
Every write is one short ``BEGIN IMMEDIATE`` transaction: one writer at a time, the others
wait (up to ``busy_timeout_ms``) instead of failing. Each call opens its own connection
and closes it, so a :class:`Room` is safe to share between threads and survives a fork.
The schema's version is ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`); a later version
of this module adds a step to ``_MIGRATIONS``.

Quick tour::

    room = Room()                                    # $DIGITLAB_HOME/room.sqlite3
    me = room.claim_name("Ana", token)               # NameTakenError if held by another session
    i = room.save_drawing(me.name, img28, 7)
    room.delete_drawing(i, by=me.name)               # NotAllowedError for anyone else
    ds = room.drawings_dataset()                     # a digitlab.data.Dataset
    can_manage(model_meta, me.name, instructor=False)
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import numbers
import re
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .data import Dataset
from .roles import (DrawingNotFoundError, InvalidDrawingError, NameTakenError, NotAllowedError, Participant,
                    RoomError, can_manage, check_name, is_class_owner, name_hold_minutes, name_key, participant_name)

DB_NAME = "room.sqlite3"
SCHEMA_VERSION = 1
DEFAULT_BUSY_TIMEOUT_MS = 5000
TOKEN_MAX = 256
_SOURCE_RE = re.compile(r"[a-z0-9_-]{1,32}")

_MIGRATIONS = {
    # version reached -> the statements that reach it from the one before
    1: [
        """CREATE TABLE participants (
               key        TEXT PRIMARY KEY,  -- the name folded (NFC + casefold): unique
               name       TEXT NOT NULL,     -- the name as its holder wrote it
               token_hash TEXT NOT NULL,     -- sha256 of the session token holding it
               claimed    REAL NOT NULL,     -- epoch seconds
               last_seen  REAL NOT NULL)""",
        """CREATE TABLE drawings (
               id        INTEGER PRIMARY KEY AUTOINCREMENT,
               owner     TEXT,               -- display name; NULL = single-user / class
               owner_key TEXT,               -- the owner folded, for lookups
               label     INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
               source    TEXT NOT NULL,
               created   REAL NOT NULL,
               image     BLOB NOT NULL CHECK (length(image) = 784))""",
        "CREATE INDEX drawings_owner ON drawings (owner_key)",
        "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
}


def default_path() -> Path:
    """``$DIGITLAB_HOME/room.sqlite3`` (the model store's home)."""
    from . import store  # imported here: store pulls in the model registry

    return store.home() / DB_NAME


# ---------------------------------------------------------------- the room


def _token_hash(session_token) -> str:
    """The stored form of a session token (its SHA-256); refuses empty or huge tokens."""
    if not isinstance(session_token, str) or not session_token or len(session_token) > TOKEN_MAX:
        raise ValueError(f"a session token must be a non-empty string of at most {TOKEN_MAX} characters")
    return hashlib.sha256(session_token.encode("utf-8")).hexdigest()


def _iso(t: float) -> str:
    """Epoch seconds as the store's time format (UTC ISO 8601, milliseconds)."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def _check_image(image) -> bytes:
    """A drawing's 784 bytes, or :class:`InvalidDrawingError`."""
    if not isinstance(image, np.ndarray):
        raise InvalidDrawingError(f"a drawing must be a numpy array, got {type(image).__name__}")
    if image.shape != (28, 28):
        raise InvalidDrawingError(f"a drawing must be 28x28 pixels, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise InvalidDrawingError(f"a drawing must be uint8 (0-255), got {image.dtype}")
    return np.ascontiguousarray(image).tobytes()


def _check_label(label) -> int:
    """A drawing's label as an int 0-9, or :class:`InvalidDrawingError`."""
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, numbers.Integral) or not 0 <= label <= 9:
        raise InvalidDrawingError(f"a drawing's label must be a digit 0-9, got {label!r}")
    return int(label)


def _check_owner(owner) -> tuple[str | None, str | None]:
    """``(owner, owner_key)`` for a drawing: a valid name, or None for single-user/class."""
    if is_class_owner(owner):
        return None, None
    name = check_name(owner)
    return name, name_key(name)


class Room:
    """The room's database: participants, drawings and the room's state (see the module doc).

    ``path`` defaults to ``$DIGITLAB_HOME/room.sqlite3``; ``hold_minutes`` to
    :func:`name_hold_minutes`; ``clock`` (epoch seconds) is for tests.
    """

    def __init__(self, path=None, *, hold_minutes: float | None = None,
                 busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, clock=time.time):
        self.path = Path(path) if path is not None else default_path()
        minutes = name_hold_minutes() if hold_minutes is None else float(hold_minutes)
        self.hold_s = 60.0 * minutes
        self.busy_timeout_ms = int(busy_timeout_ms)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    def __repr__(self) -> str:
        return f"Room({str(self.path)!r})"

    # ---- connections and transactions

    @contextlib.contextmanager
    def _connect(self):
        """A fresh connection for one call (autocommit; we open transactions ourselves)."""
        con = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self):
        """One short write transaction: ``BEGIN IMMEDIATE`` takes the write lock first, so
        writers queue up (busy timeout) rather than fail half-way."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _create_schema(self) -> None:
        """Switch the file to WAL and bring its schema to :data:`SCHEMA_VERSION`."""
        mode = self._switch_to_wal()
        if mode != "wal":
            raise RoomError(f"{self.path}: SQLite could not use WAL mode here (got {mode!r})", "no_wal")
        with self._write() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RoomError(f"{self.path} was made by a newer DigitLab (schema {version})", "newer_schema")
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for sql in _MIGRATIONS[v]:
                    con.execute(sql)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _switch_to_wal(self) -> str:
        """Put the file in WAL mode (it stays so) and return the mode SQLite reports.

        Switching needs the file to itself for a moment, and SQLite then answers "database
        is locked" at once instead of waiting (its busy timeout does not cover it): when
        several processes open a new room together, all but one may hear that. So we try
        again for up to ``busy_timeout_ms``, a few milliseconds apart.
        """
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                with self._connect() as con:
                    mode = con.execute("PRAGMA journal_mode").fetchone()[0]
                    if mode.lower() != "wal":
                        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                return str(mode).lower()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def journal_mode(self) -> str:
        """The database's journal mode (``"wal"``)."""
        with self._connect() as con:
            return con.execute("PRAGMA journal_mode").fetchone()[0]

    # ---- participants

    def claim_name(self, display_name: str, session_token: str) -> Participant:
        """Take ``display_name`` for this session, or take it again (same token).

        Raises :class:`InvalidNameError` for a bad name and :class:`NameTakenError` when
        another session holding it was seen within ``hold_minutes``; a staler claim is taken over.
        """
        name, token = check_name(display_name), _token_hash(session_token)
        key = name_key(name)
        now = self._clock()
        with self._write() as con:
            row = con.execute("SELECT name, token_hash, claimed, last_seen FROM participants WHERE key = ?",
                              (key,)).fetchone()
            if row is None:
                con.execute("INSERT INTO participants VALUES (?, ?, ?, ?, ?)", (key, name, token, now, now))
                return Participant(name, now, now)
            held_name, held_token, claimed, last_seen = row
            if hmac.compare_digest(held_token, token):
                con.execute("UPDATE participants SET last_seen = ? WHERE key = ?", (now, key))
                return Participant(held_name, claimed, now)
            if now - last_seen < self.hold_s:
                raise NameTakenError(held_name)
            con.execute("UPDATE participants SET name = ?, token_hash = ?, claimed = ?, last_seen = ? WHERE key = ?",
                        (name, token, now, now, key))
            return Participant(name, now, now)

    def touch(self, session_token: str) -> bool:
        """Mark this session as seen now (keeps its name held); False if it holds no name.

        Call it on each visit of a page. A session that claimed a second name holds both;
        the one it stops using goes stale after ``hold_minutes``."""
        with self._write() as con:
            cur = con.execute("UPDATE participants SET last_seen = ? WHERE token_hash = ?",
                              (self._clock(), _token_hash(session_token)))
            return cur.rowcount > 0

    def participants(self, active_within_s: float | None = None) -> list[Participant]:
        """Every participant (by name), or those seen within the last ``active_within_s`` seconds."""
        since = -1.0 if active_within_s is None else self._clock() - float(active_within_s)
        with self._connect() as con:
            rows = con.execute("SELECT name, claimed, last_seen FROM participants WHERE last_seen >= ? "
                               "ORDER BY key", (since,)).fetchall()
        return [Participant(*r) for r in rows]

    # ---- drawings

    def save_drawing(self, owner, image_28x28_uint8, label, *, source: str = "draw") -> int:
        """Store a labelled drawing (owner: a participant's name, or None); returns its id."""
        blob, label = _check_image(image_28x28_uint8), _check_label(label)
        owner, owner_key = _check_owner(owner)
        if not isinstance(source, str) or not _SOURCE_RE.fullmatch(source):
            raise InvalidDrawingError(f"a drawing's source must be a short lowercase word, got {source!r}")
        with self._write() as con:
            cur = con.execute("INSERT INTO drawings (owner, owner_key, label, source, created, image) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (owner, owner_key, label, source, self._clock(), blob))
            return cur.lastrowid

    def _where_owner(self, owner) -> tuple[str, tuple]:
        """The SQL filter for ``owner`` (None: every drawing)."""
        if owner is None:
            return "", ()
        return " WHERE owner_key = ?", (name_key(participant_name(owner)),)

    def drawings(self, owner=None) -> list[dict]:
        """The drawings (oldest first) of ``owner``, or everyone's: dicts with ``id``,
        ``owner``, ``label``, ``source``, ``created`` (ISO UTC) and ``image`` ((28, 28) uint8)."""
        where, args = self._where_owner(owner)
        with self._connect() as con:
            rows = con.execute("SELECT id, owner, label, source, created, image FROM drawings"
                               + where + " ORDER BY id", args).fetchall()
        return [{"id": i, "owner": o, "label": lab, "source": s, "created": _iso(c),
                 "image": np.frombuffer(img, np.uint8).reshape(28, 28).copy()}
                for i, o, lab, s, c, img in rows]

    def drawings_dataset(self, owner=None):
        """The drawings as a :class:`digitlab.data.Dataset` (for evaluation, or a Kaggle CSV
        through ``data.write_kaggle_csv``); may hold no images."""
        rows = self.drawings(owner)
        images = np.stack([r["image"] for r in rows]) if rows else np.zeros((0, 28, 28), np.uint8)
        labels = np.array([r["label"] for r in rows], dtype=np.int64)
        name = "drawings" if owner is None else f"drawings of {participant_name(owner)}"
        return Dataset(images, labels, name=name, source="room",
                       meta={"ids": [r["id"] for r in rows], "owners": [r["owner"] for r in rows]})

    def counts_per_digit(self, owner=None) -> list[int]:
        """How many drawings of each digit 0..9 (of ``owner``, or everyone's)."""
        where, args = self._where_owner(owner)
        with self._connect() as con:
            rows = con.execute("SELECT label, COUNT(*) FROM drawings" + where + " GROUP BY label", args).fetchall()
        counts = [0] * 10
        for label, n in rows:
            counts[label] = n
        return counts

    def delete_drawing(self, drawing_id: int, *, by, instructor: bool = False) -> None:
        """Delete a drawing: only its owner (``by``) or the instructor may (else
        :class:`NotAllowedError`); a drawing with no owner only the instructor."""
        with self._write() as con:
            row = con.execute("SELECT owner FROM drawings WHERE id = ?", (int(drawing_id),)).fetchone()
            if row is None:
                raise DrawingNotFoundError(f"no drawing {drawing_id}")
            if not can_manage(row[0], by, instructor=instructor):
                raise NotAllowedError(f"only its owner or the instructor may delete drawing {drawing_id}")
            con.execute("DELETE FROM drawings WHERE id = ?", (int(drawing_id),))

    def clear_drawings(self) -> int:
        """Delete every drawing (the instructor's "clear the room"; the caller checks who asks);
        returns how many there were."""
        with self._write() as con:
            return con.execute("DELETE FROM drawings").rowcount

    # ---- the room's state

    def _get(self, key: str, default: str) -> str:
        with self._connect() as con:
            row = con.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def _set(self, key: str, value: str) -> None:
        with self._write() as con:
            con.execute("INSERT INTO state VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value))

    def set_paused(self, paused: bool) -> None:
        """Pause (True) or resume (False) new training for the whole room (the instructor's switch)."""
        if not isinstance(paused, bool):
            raise TypeError("set_paused takes True or False")
        self._set("paused", "1" if paused else "0")

    def paused(self) -> bool:
        """True while new training is paused for the room."""
        return self._get("paused", "0") == "1"
