"""Workshop mode's library core (digitlab.room): names, drawings, ownership, the database.

The concurrency tests run real processes (multiprocessing "spawn") against one SQLite file.
"""
import logging
import multiprocessing as mp
import sqlite3
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from digitlab import data, roles, room
from digitlab.roles import (DrawingNotFoundError, InvalidDrawingError, InvalidNameError, NameTakenError,
                           NotAllowedError, Participant, RoomError, can_manage, visible_models)
from digitlab.room import Room

N_PROCS, N_EACH = 4, 50
BARRIER_TIMEOUT_S = 20  # a child waits this long for the others (a failing one never comes)


class Clock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def rm(tmp_path, clock):
    return Room(tmp_path / "room.sqlite3", hold_minutes=30, clock=clock)


def digit(seed: int) -> np.ndarray:
    """A reproducible 28x28 uint8 image."""
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("raw, clean", [
    ("Ana", "Ana"),
    ("  José   María ", "José María"),
    ("Jose\u0301", "José"),  # a decomposed accent becomes one letter (NFC)
    ("Zoë_2.b-x", "Zoë_2.b-x"),
    ("李雷", "李雷"),
    ("7", "7"),
    ("a" * 24, "a" * 24),
])
def test_valid_names_are_cleaned(raw, clean):
    assert roles.check_name(raw) == clean


@pytest.mark.parametrize("raw, reason", [
    ("", "empty"), ("    ", "empty"), ("a" * 25, "too_long"),
    ("a\tb", "control_char"), ("ana\n", "control_char"), ("an\x00a", "control_char"),
    ("\u202eana", "control_char"), ("a\u200bb", "control_char"),
    ("a/b", "bad_char"), ("<b>", "bad_char"), ("ana😀", "bad_char"), ("a\u00a0b", "bad_char"),
    ("...", "no_letter"), ("- _", "no_letter"),
    ("class", "reserved"), (" CLASS ", "reserved"), ("Instructor", "reserved"),
    (42, "not_text"), (None, "not_text"),
])
def test_invalid_names_are_refused_with_a_reason(rm, raw, reason):
    with pytest.raises(InvalidNameError) as e:
        rm.claim_name(raw, "tok")
    assert e.value.reason == reason
    assert isinstance(e.value, RoomError) and isinstance(e.value, ValueError)
    assert rm.participants() == []


def test_names_are_unique_regardless_of_case(rm):
    assert rm.claim_name("Ana", "tok-a").name == "Ana"
    for other in ("ANA", "ana", " ana "):
        with pytest.raises(NameTakenError) as e:
            rm.claim_name(other, "tok-b")
        assert e.value.name == "Ana" and e.value.reason == "taken"
    rm.claim_name("José", "tok-a")
    with pytest.raises(NameTakenError):  # SQLite's NOCASE would miss this one (non-ASCII)
        rm.claim_name("JOSÉ", "tok-b")
    assert [p.name for p in rm.participants()] == ["Ana", "José"]


def test_the_same_session_claims_its_name_again(rm, clock):
    first = rm.claim_name("Ana", "tok-a")
    clock.now += 60
    again = rm.claim_name("ana", "tok-a")  # a reload, or a second tab with ?name=ana
    assert again.name == "Ana" and again.claimed == first.claimed and again.last_seen == clock.now
    assert len(rm.participants()) == 1


def test_a_stale_claim_is_taken_over_and_touch_keeps_it(rm, clock):
    start = clock.now
    rm.claim_name("Ana", "tok-a")
    clock.now = start + 29 * 60
    with pytest.raises(NameTakenError):
        rm.claim_name("Ana", "tok-b")
    assert rm.touch("tok-a") is True  # Ana is still here at minute 29
    clock.now = start + 31 * 60
    with pytest.raises(NameTakenError):
        rm.claim_name("Ana", "tok-b")
    clock.now = start + 60 * 60  # 31 minutes of silence
    assert rm.claim_name("ana", "tok-b").name == "ana"
    with pytest.raises(NameTakenError):  # now the first session is the other one
        rm.claim_name("Ana", "tok-a")
    assert rm.touch("tok-a") is False


def test_participants_lists_the_active_ones(rm, clock):
    rm.claim_name("Ben", "tok-b")
    clock.now += 600
    rm.claim_name("Ana", "tok-a")
    assert [p.name for p in rm.participants()] == ["Ana", "Ben"]
    assert [p.name for p in rm.participants(active_within_s=300)] == ["Ana"]
    ana = rm.participants()[0]
    assert isinstance(ana, Participant) and ana.active(300, now=clock.now) and "tok" not in repr(ana)


def test_session_tokens_are_stored_hashed_only(rm):
    token = "secret-session-token-1234567890"
    rm.claim_name("Ana", token)
    files = [rm.path, rm.path.with_name(rm.path.name + "-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert b"Ana" in raw and token.encode() not in raw
    with pytest.raises(ValueError):
        rm.claim_name("Ben", "")


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGITLAB_NAME_HOLD_MINUTES", "2")
    r = Room()
    assert r.path == tmp_path / "home" / "room.sqlite3" and r.path.exists()
    assert r.hold_s == 120
    monkeypatch.delenv("DIGITLAB_NAME_HOLD_MINUTES")
    assert Room().hold_s == 30 * 60
    for value, on in [(None, False), ("", False), ("0", False), ("1", True)]:
        if value is None:
            monkeypatch.delenv("DIGITLAB_WORKSHOP", raising=False)
        else:
            monkeypatch.setenv("DIGITLAB_WORKSHOP", value)
        assert roles.workshop_enabled() is on


# ---------------------------------------------------------------- drawings


def test_drawings_survive_reopening_the_room(tmp_path, clock):
    path = tmp_path / "room.sqlite3"
    first = Room(path, clock=clock)
    ids = [first.save_drawing("Ana", digit(1), 3), first.save_drawing("Ben", digit(2), 7, source="upload"),
           first.save_drawing(None, digit(3), 0)]
    del first  # a restart: nothing is kept but the file
    again = Room(path)
    rows = again.drawings()
    assert [r["id"] for r in rows] == ids
    assert [(r["owner"], r["label"]) for r in rows] == [("Ana", 3), ("Ben", 7), (None, 0)]
    assert rows[1]["source"] == "upload" and rows[0]["created"].startswith("2023-11-14T22:13:20.000")
    for r, seed in zip(rows, (1, 2, 3)):
        assert r["image"].dtype == np.uint8 and r["image"].shape == (28, 28)
        assert np.array_equal(r["image"], digit(seed))
    assert [r["id"] for r in again.drawings("ana")] == [ids[0]]


def test_drawings_as_a_dataset_and_a_kaggle_csv(rm, tmp_path):
    empty = rm.drawings_dataset()
    assert len(empty) == 0 and empty.labels.dtype == np.int64
    for i, label in enumerate([1, 1, 4, 9]):
        rm.save_drawing("Ana" if i < 3 else "Ben", digit(i), label)
    assert rm.counts_per_digit() == [0, 2, 0, 0, 1, 0, 0, 0, 0, 1]
    assert rm.counts_per_digit("Ben") == [0] * 9 + [1]
    ds = rm.drawings_dataset("Ana")
    assert len(ds) == 3 and ds.labels.tolist() == [1, 1, 4] and ds.class_counts()[1] == 2
    data.write_kaggle_csv(rm.drawings_dataset(), tmp_path / "drawings.csv")
    back = data.load_kaggle_csv(tmp_path / "drawings.csv")
    assert back.labels.tolist() == [1, 1, 4, 9] and np.array_equal(back.images[3], digit(3))


@pytest.mark.parametrize("image, label, why", [
    (np.zeros((28, 27), np.uint8), 1, "28x28"),
    (np.zeros(784, np.uint8), 1, "28x28"),
    (np.zeros((28, 28), np.float32), 1, "uint8"),
    (np.zeros((28, 28), np.int64), 1, "uint8"),
    ([[0] * 28] * 28, 1, "numpy array"),
    (np.zeros((28, 28), np.uint8), 10, "0-9"),
    (np.zeros((28, 28), np.uint8), -1, "0-9"),
    (np.zeros((28, 28), np.uint8), True, "0-9"),
    (np.zeros((28, 28), np.uint8), 3.0, "0-9"),
    (np.zeros((28, 28), np.uint8), "3", "0-9"),
])
def test_a_bad_drawing_is_refused_clearly(rm, image, label, why):
    with pytest.raises(InvalidDrawingError, match=why):
        rm.save_drawing("Ana", image, label)
    assert rm.drawings() == []


def test_a_drawing_needs_a_valid_owner_and_source(rm):
    with pytest.raises(InvalidNameError):
        rm.save_drawing("a/b", digit(0), 1)
    with pytest.raises(InvalidDrawingError, match="source"):
        rm.save_drawing("Ana", digit(0), 1, source="Drop table")
    assert rm.save_drawing("Ana", digit(0), np.int64(5)) > 0  # numpy integers are fine
    assert rm.save_drawing("class", digit(0), 5) > 0
    assert [r["owner"] for r in rm.drawings()] == ["Ana", None]


def test_delete_rules(rm):
    ana, ben, nobody = (rm.save_drawing(o, digit(i), i) for i, o in enumerate(["Ana", "Ben", None]))
    with pytest.raises(NotAllowedError):
        rm.delete_drawing(ana, by="Ben")
    with pytest.raises(NotAllowedError):
        rm.delete_drawing(nobody, by="Ana")  # a class drawing: the instructor only
    with pytest.raises(NotAllowedError):
        rm.delete_drawing(ana, by=None)
    assert len(rm.drawings()) == 3
    rm.delete_drawing(ana, by="ana")  # the owner, in any case
    rm.delete_drawing(ben, by="Ana", instructor=True)
    rm.delete_drawing(nobody, by=None, instructor=True)
    assert rm.drawings() == []
    with pytest.raises(DrawingNotFoundError):
        rm.delete_drawing(ana, by="Ana")


def test_clear_drawings(rm):
    for i in range(5):
        rm.save_drawing("Ana", digit(i), i)
    assert rm.clear_drawings() == 5
    assert rm.drawings() == [] and rm.counts_per_digit() == [0] * 10


def test_pause_is_kept_for_the_room(rm):
    assert rm.paused() is False
    rm.set_paused(True)
    assert Room(rm.path).paused() is True  # another server thread or process sees it
    rm.set_paused(False)
    assert rm.paused() is False
    with pytest.raises(TypeError):
        rm.set_paused("yes")


# ---------------------------------------------------------------- ownership rules


def test_can_manage(rm):
    ana_model = {"name": "m1", "owner": "Ana"}
    assert can_manage(ana_model, "Ana", instructor=False)
    assert can_manage(ana_model, "ANA", instructor=False)
    assert not can_manage(ana_model, "Ben", instructor=False)
    assert not can_manage(ana_model, None, instructor=False)
    assert can_manage(ana_model, None, instructor=True)
    for default in ({"name": "default-cnn"}, {"owner": None}, {"owner": "class"}, None, "class"):
        assert not can_manage(default, "Ana", instructor=False)
        assert not can_manage(default, "class", instructor=False)
        assert can_manage(default, "Ana", instructor=True)
    job = SimpleNamespace(id="j1-abc", owner="Ben")  # a job object, or its dict
    assert can_manage(job, "Ben", instructor=False) and not can_manage(job, "Ana", instructor=False)
    assert can_manage({"id": "j1", "owner": "Ben"}, rm.claim_name("Ben", "t"), instructor=False)
    assert not can_manage(ana_model, "Ben", instructor="the key")  # only True itself counts


def test_visible_models():
    models = [{"name": "a1", "owner": "Ana"}, {"name": "default-mlp"}, {"name": "b1", "owner": "Ben"},
              {"name": "c", "owner": "class"}, {"name": "a2", "owner": "ana"}, {"name": "d", "owner": None}]
    names = lambda ms: [m["name"] for m in ms]  # noqa: E731
    assert names(visible_models(models, "Ana", show_class=False)) == ["a1", "default-mlp", "c", "a2", "d"]
    ben = Participant("Ben", 0.0, 0.0)
    assert names(visible_models(models, ben, show_class=False)) == ["default-mlp", "b1", "c", "d"]
    assert names(visible_models(models, None, show_class=False)) == ["default-mlp", "c", "d"]
    assert names(visible_models(models, "Ben", show_class=True)) == names(models)


def test_instructor_key(monkeypatch, caplog, capsys, rm):
    monkeypatch.delenv("DIGITLAB_INSTRUCTOR_KEY", raising=False)
    assert not roles.instructor_key_ok("") and not roles.instructor_key_ok("anything")
    monkeypatch.setenv("DIGITLAB_INSTRUCTOR_KEY", "")
    assert not roles.instructor_key_ok("")
    key = "s3cret/clé-ñ"  # not a valid name either
    monkeypatch.setenv("DIGITLAB_INSTRUCTOR_KEY", key)
    caplog.set_level(logging.DEBUG)
    assert roles.instructor_key_ok(key) is True
    raised, texts = [], []
    for wrong in ["wrong", key[:-1], key + "x", key.upper(), "", None, 42, key.encode(), "ñ" * 10_000]:
        try:
            assert roles.instructor_key_ok(wrong) is False
        except Exception as e:  # none is expected; if one comes, it must not say the key
            raised.append(f"{e!r} {e}")
    for action in (lambda: rm.delete_drawing(rm.save_drawing("Ana", digit(0), 1), by="Ben"),
                   lambda: rm.claim_name(key, "t")):
        with pytest.raises(RoomError) as e:
            action()
        texts.append(f"{e.value!r} {e.value}")
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err, repr(rm)]
    assert not any(key in t for t in texts + raised)
    assert raised == []


# ---------------------------------------------------------------- the database


def test_the_database_uses_wal_and_a_schema_version(rm):
    assert rm.journal_mode() == "wal"
    with sqlite3.connect(rm.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == room.SCHEMA_VERSION
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(RoomError) as e:
        Room(rm.path)
    assert e.value.reason == "newer_schema"


def test_one_room_shared_by_threads(rm):
    # a Streamlit server runs each session's script in its own thread
    def save(t):
        for i in range(20):
            rm.save_drawing(f"t{t}", digit(i), i % 10)

    threads = [threading.Thread(target=save, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(rm.drawings()) == 80 and rm.counts_per_digit() == [8] * 10


# ---- concurrency: real processes, one database file


_barrier = None  # in each child: the barrier shared by the pool's processes


def _init_child(barrier):
    global _barrier
    _barrier = barrier


def _write_drawings(path, proc):
    """Child process: open the (new) room at the same moment as the others, save N_EACH drawings."""
    try:
        _barrier.wait(timeout=BARRIER_TIMEOUT_S)
        t0 = time.perf_counter()
        r = Room(path)
        for i in range(N_EACH):
            r.save_drawing(f"p{proc}", digit(1000 * proc + i), (proc + i) % 10)
        return "ok", time.perf_counter() - t0
    except Exception as e:  # reported to the parent, which fails the test
        return "error", f"{type(e).__name__}: {e}"


def _claim_names(path, proc, names):
    """Child process: claim each name (in upper or lower case) with this process's own session token."""
    try:
        _barrier.wait(timeout=BARRIER_TIMEOUT_S)
        r, won = Room(path), []
        for name in names:
            try:
                r.claim_name(name if proc % 2 else name.upper(), f"token-{proc}")
                won.append(name)
            except NameTakenError:
                pass
        return "ok", won
    except Exception as e:
        return "error", f"{type(e).__name__}: {e}"


def _open_new_rooms(folder, n):
    """Child process: open n new rooms, each at the same moment as the other processes."""
    try:
        for k in range(n):
            _barrier.wait(timeout=BARRIER_TIMEOUT_S)
            Room(folder / f"room{k}.sqlite3")
        return "ok", n
    except Exception as e:
        return "error", f"{type(e).__name__}: {e}"


@pytest.fixture(scope="module")
def pool():
    """N_PROCS spawned processes, started once for the concurrency tests."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(N_PROCS)
    with ctx.Pool(N_PROCS, initializer=_init_child, initargs=(barrier,)) as p:
        yield p


def test_concurrent_writers_from_several_processes_lose_nothing(pool, tmp_path):
    path = tmp_path / "room.sqlite3"  # created by the children, all at once
    t0 = time.perf_counter()
    results = pool.starmap(_write_drawings, [(path, proc) for proc in range(N_PROCS)])
    wall = time.perf_counter() - t0
    assert [status for status, _ in results] == ["ok"] * N_PROCS, results
    rows = Room(path).drawings()
    assert len(rows) == N_PROCS * N_EACH
    got = {}
    for r in rows:
        got.setdefault(r["owner"], []).append(r)
    for proc in range(N_PROCS):
        mine = got[f"p{proc}"]  # in the order each process saved them
        assert [r["label"] for r in mine] == [(proc + i) % 10 for i in range(N_EACH)]
        assert all(np.array_equal(r["image"], digit(1000 * proc + i)) for i, r in enumerate(mine))
    print(f"\n{N_PROCS}x{N_EACH} concurrent drawings: {wall:.2f} s wall (with the children's start), saving "
          + ", ".join(f"{t:.2f}" for _, t in results) + " s")


def test_concurrent_claims_of_a_name_have_one_winner(pool, tmp_path):
    path = tmp_path / "room.sqlite3"
    names = [f"name{i}" for i in range(25)]
    results = pool.starmap(_claim_names, [(path, proc, names) for proc in range(N_PROCS)])
    assert [status for status, _ in results] == ["ok"] * N_PROCS, results
    winners = sorted(n for _, won in results for n in won)
    assert winners == sorted(names)  # each name won exactly once
    assert len(Room(path).participants()) == len(names)


def test_processes_opening_a_new_room_together(pool, tmp_path):
    # switching a new file to WAL answers "database is locked" at once to all but one
    results = pool.starmap(_open_new_rooms, [(tmp_path, 20)] * N_PROCS)
    assert [status for status, _ in results] == ["ok"] * N_PROCS, results
    assert all(Room(tmp_path / f"room{k}.sqlite3").journal_mode() == "wal" for k in range(20))


def test_wrong_instructor_keys_lock_the_key_for_a_while(monkeypatch):
    monkeypatch.setenv("DIGITLAB_INSTRUCTOR_KEY", "right")
    t0 = 1_000_000.0
    for i in range(roles.KEY_TRIES):
        assert roles.instructor_key_ok(f"guess{i}", now=t0 + i) is False
    assert roles.key_locked_for(now=t0 + 10) > 0
    assert roles.instructor_key_ok("right", now=t0 + 10) is False  # even the right key waits
    later = t0 + roles.KEY_WINDOW_S + roles.KEY_TRIES
    assert roles.key_locked_for(now=later) == 0
    assert roles.instructor_key_ok("right", now=later) is True
