"""Who may do what in a workshop: names, owners, the instructor key, and the room's errors.

No database here (that is :mod:`digitlab.room`): these are pure rules, used by the room, the
store (who may rename or delete a model), the worker (who may stop a job) and the pages.

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

Errors are :class:`RoomError` subclasses: :class:`InvalidNameError`, :class:`NameTakenError`,
:class:`NotAllowedError`, :class:`InvalidDrawingError`, :class:`DrawingNotFoundError`.
Each has a stable ``reason`` (for the pages' texts) besides its English message.
"""
from __future__ import annotations

import hmac
import os
import re
import threading
import time
import unicodedata
from dataclasses import dataclass

NAME_MIN, NAME_MAX = 1, 24
RESERVED_NAMES = ("class", "instructor")
CLASS_OWNER = "class"  # an owner meaning "class default", like None
DEFAULT_HOLD_MINUTES = 30.0
_NAME_PUNCT = " ._-"

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


def participant_name(participant):
    """A participant's name from a :class:`Participant`, a name or None."""
    return participant.name if isinstance(participant, Participant) else participant


def is_class_owner(owner) -> bool:
    """True for a class default's owner: None, empty or ``"class"``."""
    return not owner or (isinstance(owner, str) and name_key(owner) == CLASS_OWNER)


def is_owner(thing, participant) -> bool:
    """True when ``participant`` (a name or :class:`Participant`) owns ``thing`` (a model's
    meta, a job, or an owner); nobody owns a class default."""
    owner, name = _owner(thing), participant_name(participant)
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


@dataclass(frozen=True)
class Participant:
    """A claimed name; times are epoch seconds. (The session token is not kept here.)"""

    name: str
    claimed: float
    last_seen: float

    def active(self, within_s: float, now: float | None = None) -> bool:
        """Seen within the last ``within_s`` seconds."""
        return (time.time() if now is None else now) - self.last_seen <= within_s
