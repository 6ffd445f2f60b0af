"""Workshop mode: a room of participants on one server, their drawings, and who may do what.

Switched on by the instructor when starting the server::

    DIGITLAB_WORKSHOP=1 DIGITLAB_INSTRUCTOR_KEY=... streamlit run app.py

Without ``DIGITLAB_WORKSHOP`` the app is the single-user app; drawings are still kept in
the room database (owner ``None``) and the one user acts as the instructor.

The rules
---------

* **Names.** A participant gives a display name: 1-24 characters after trimming, made
  of letters (accents included), digits, spaces and ``. _ -``, with at least one letter
  or digit; no control characters; runs of spaces become one space. Names are unique
  regardless of case (``Ana`` and ``ANA`` are one name). ``class`` and ``instructor``
  are reserved. No passwords: a name belongs to the browser session (its *session
  token*) that claimed it, for as long as that session was seen within the last
  ``hold_minutes`` (default 30, ``DIGITLAB_NAME_HOLD_MINUTES``); ``touch(token)``
  refreshes it. The same session may claim its own name again (a reload, a second tab
  with the name in the address). After ``hold_minutes`` of silence, another session may
  take the name over, with what that name owns. Tokens are stored only as SHA-256 hashes.
* **The instructor** is whoever gives ``DIGITLAB_INSTRUCTOR_KEY`` (checked by
  :func:`instructor_key_ok` in constant time; no key set means nobody is instructor).
  The key is never logged, put in an address, a repr or an error message.
* **Owners.** A model's owner is ``meta["owner"]`` in its ``meta.json``; a job's owner is
  its ``owner`` field. ``None`` (or a missing field, or ``"class"``) means a *class
  default*: made by the app itself, or in single-user mode. A participant may manage
  (rename, delete, stop) only what they own; class defaults only the instructor; the
  instructor anything (:func:`can_manage`). A participant sees their own models and the
  class defaults, or every model with the "show the class's" switch (:func:`visible_models`).
* **Drawings** are saved with their owner and time and deleted only by their owner or
  the instructor (same rule as :func:`can_manage`). In workshop mode they are shared with
  the class (the Class page shows them all).
* **Pause.** The instructor can pause new training for the whole room
  (:meth:`Room.set_paused`); whoever submits jobs checks :meth:`Room.paused`.

The database
------------

One SQLite file, ``$DIGITLAB_HOME/room.sqlite3``, in WAL mode (readers never wait for the
writer) with a busy timeout, so several server threads and processes can use it at once.
Every write is one short ``BEGIN IMMEDIATE`` transaction: one writer at a time, the others
wait (up to ``busy_timeout_ms``) instead of failing. Each call opens its own connection
and closes it, so a :class:`Room` is safe to share between threads and survives a fork.
The schema's version is ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`); a later version
of this module adds a step to ``_MIGRATIONS``.

Errors are :class:`RoomError` subclasses: :class:`InvalidNameError`, :class:`NameTakenError`,
:class:`NotAllowedError`, :class:`InvalidDrawingError`, :class:`DrawingNotFoundError`.
Each has a stable ``reason`` (for the pages' texts) besides its English message.

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
import os
import re
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .data import Dataset

DB_NAME = "room.sqlite3"
SCHEMA_VERSION = 1
NAME_MIN, NAME_MAX = 1, 24
RESERVED_NAMES = ("class", "instructor")
CLASS_OWNER = "class"  # an owner meaning "class default", like None
DEFAULT_HOLD_MINUTES = 30.0
DEFAULT_BUSY_TIMEOUT_MS = 5000
TOKEN_MAX = 256
_NAME_PUNCT = " ._-"
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


# ---------------------------------------------------------------- errors


class RoomError(Exception):
    """A room operation was refused; ``reason`` is a stable word for the pages' texts."""

    reason = "room"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class InvalidNameError(RoomError, ValueError):
    """A display name breaks the rules (``reason``: empty, too_long, bad_char, control_char,
    no_letter, reserved, not_text)."""


class NameTakenError(RoomError):
    """The name is held by another session seen recently (``name``: the holder's spelling)."""

    reason = "taken"

    def __init__(self, name: str):
        super().__init__(f"the name {name!r} is taken by someone else in the room")
        self.name = name


class NotAllowedError(RoomError, PermissionError):
    """Only the owner or the instructor may do that."""

    reason = "not_allowed"


class InvalidDrawingError(RoomError, ValueError):
    """A drawing to save is not a (28, 28) uint8 image with a label 0-9."""

    reason = "bad_drawing"


class DrawingNotFoundError(RoomError, LookupError):
    """No drawing with that id."""

    reason = "no_drawing"


# ---------------------------------------------------------------- settings


def workshop_enabled() -> bool:
    """True when the server was started with ``DIGITLAB_WORKSHOP=1`` (any value but empty or 0)."""
    return os.environ.get("DIGITLAB_WORKSHOP", "").strip() not in ("", "0")


KEY_TRIES = 5  # wrong instructor keys allowed per KEY_WINDOW_S, for the whole server
KEY_WINDOW_S = 60.0
_key_failures: list[float] = []  # times of recent wrong keys (this process)
_key_lock = threading.Lock()


def key_locked_for(now: float | None = None) -> float:
    """Seconds until the instructor key may be tried again (0: it may). After KEY_TRIES wrong
    keys within KEY_WINDOW_S, anyone in the room waits: a room of 40 cannot guess it quickly."""
    now = time.time() if now is None else now
    with _key_lock:
        _key_failures[:] = [t for t in _key_failures if now - t < KEY_WINDOW_S]
        if len(_key_failures) < KEY_TRIES:
            return 0.0
        return KEY_WINDOW_S - (now - _key_failures[0])


def instructor_key_ok(key, *, now: float | None = None) -> bool:
    """True when ``key`` is ``DIGITLAB_INSTRUCTOR_KEY``; False when no key is set, and while
    too many wrong keys were tried (:func:`key_locked_for`), even for the right one.

    Compared in constant time (``hmac.compare_digest``); the key is never logged or shown.
    """
    expected = os.environ.get("DIGITLAB_INSTRUCTOR_KEY", "")
    if not expected or not isinstance(key, str) or not key or key_locked_for(now) > 0:
        return False
    if hmac.compare_digest(key.encode("utf-8"), expected.encode("utf-8")):
        return True
    with _key_lock:
        _key_failures.append(time.time() if now is None else now)
    return False


def name_hold_minutes() -> float:
    """How long a name stays with a silent session: ``DIGITLAB_NAME_HOLD_MINUTES`` (default 30)."""
    raw = os.environ.get("DIGITLAB_NAME_HOLD_MINUTES", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_HOLD_MINUTES
    except ValueError:
        return DEFAULT_HOLD_MINUTES
    return value if value >= 0 else DEFAULT_HOLD_MINUTES


def default_path() -> Path:
    """``$DIGITLAB_HOME/room.sqlite3`` (the model store's home)."""
    from . import store  # imported here: store pulls in the model registry

    return store.home() / DB_NAME


# ---------------------------------------------------------------- names and owners


def check_name(display_name) -> str:
    """The name cleaned (NFC, trimmed, single spaces) when it follows the rules, else
    :class:`InvalidNameError` saying why."""
    if not isinstance(display_name, str):
        raise InvalidNameError("a name must be text", "not_text")
    name = unicodedata.normalize("NFC", display_name)
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise InvalidNameError("a name cannot hold control characters", "control_char")
    name = re.sub(" +", " ", name.strip(" "))
    if len(name) < NAME_MIN:
        raise InvalidNameError("a name needs at least one character", "empty")
    if len(name) > NAME_MAX:
        raise InvalidNameError(f"a name has at most {NAME_MAX} characters", "too_long")
    for c in name:
        if not _name_char_ok(c):
            raise InvalidNameError(f"{c!r} is not allowed in a name (letters, digits, space . _ -)", "bad_char")
    if not any(c.isalpha() or c.isdigit() for c in name):
        raise InvalidNameError("a name needs a letter or a digit", "no_letter")
    if name_key(name) in RESERVED_NAMES:
        raise InvalidNameError(f"{name!r} is reserved", "reserved")
    return name


def _name_char_ok(c: str) -> bool:
    """A letter (any script, accents as combining marks too), a decimal digit or `` ._-``."""
    cat = unicodedata.category(c)
    return c in _NAME_PUNCT or cat.startswith("L") or cat == "Nd" or cat in ("Mn", "Mc")


def name_key(name: str) -> str:
    """The form two names are compared in: NFC, trimmed, case folded (``Ana`` == ``ANA``)."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def _owner(thing):
    """The owner of a model's meta, a job (dict or object) or an owner given as such."""
    if isinstance(thing, dict):
        return thing.get("owner")
    if thing is None or isinstance(thing, str):
        return thing
    return getattr(thing, "owner", None)


def _participant_name(participant):
    """A participant's name from a :class:`Participant`, a name or None."""
    return participant.name if isinstance(participant, Participant) else participant


def is_class_owner(owner) -> bool:
    """True for a class default's owner: None, empty or ``"class"``."""
    return not owner or (isinstance(owner, str) and name_key(owner) == CLASS_OWNER)


def is_owner(thing, participant) -> bool:
    """True when ``participant`` (a name or :class:`Participant`) owns ``thing`` (a model's
    meta, a job, or an owner); nobody owns a class default."""
    owner, name = _owner(thing), _participant_name(participant)
    if is_class_owner(owner) or not isinstance(name, str) or not name.strip():
        return False
    return isinstance(owner, str) and name_key(owner) == name_key(name)


def can_manage(model_meta_or_job_owner, participant_name, *, instructor: bool) -> bool:
    """May this person rename/delete this model, or stop this job?

    The instructor may manage anything; a participant only what they own; class defaults
    (owner None / ``"class"``) only the instructor. ``model_meta_or_job_owner`` is a
    model's meta dict, a job (dict or object with ``owner``) or the owner itself.
    ``instructor`` must be ``True`` itself, not merely truthy (never pass the key).
    """
    if instructor is True:
        return True
    return is_owner(model_meta_or_job_owner, participant_name)


def visible_models(models_meta: list[dict], participant, *, show_class: bool) -> list[dict]:
    """The models a participant sees: their own and the class defaults, or all with
    ``show_class``. The order of ``models_meta`` is kept."""
    if show_class:
        return list(models_meta)
    return [m for m in models_meta if is_class_owner(_owner(m)) or is_owner(m, participant)]


# ---------------------------------------------------------------- the room


@dataclass(frozen=True)
class Participant:
    """A claimed name; times are epoch seconds. (The session token is not kept here.)"""

    name: str
    claimed: float
    last_seen: float

    def active(self, within_s: float, now: float | None = None) -> bool:
        """Seen within the last ``within_s`` seconds."""
        return (time.time() if now is None else now) - self.last_seen <= within_s


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
        return " WHERE owner_key = ?", (name_key(_participant_name(owner)),)

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
        name = "drawings" if owner is None else f"drawings of {_participant_name(owner)}"
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
