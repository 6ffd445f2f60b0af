"""digitlab.queueing: the order queued jobs start in and when (pure functions; the Worker's use
of them is tested in tests/test_pool.py)."""
import pytest

from digitlab import queueing


def test_round_robin_takes_one_job_per_owner_in_turn_and_class_defaults_are_one_owner():
    queue = ["a1", "a2", "a3", "b1", "d1", "c1", "d2", "b2"]
    owner_of = {"a1": "Ana", "a2": "ana", "a3": "Ana", "b1": "Ben", "b2": "Ben", "c1": "Cleo", "d1": None, "d2": "class"}
    order = queueing.fair_order(queue, owner_of, {}, round_robin=True)
    # nobody served yet: first come first: Ana, Ben, the class, Cleo; then the second round
    assert order == ["a1", "b1", "d1", "c1", "a2", "b2", "d2", "a3"]
    assert sorted(order) == sorted(queue)
    # Ana's last job started most recently: she waits for everyone else's turn
    assert queueing.fair_order(queue, owner_of, {"ana": 5, "ben": 1}, round_robin=True)[:3] == ["d1", "c1", "b1"]
    assert queueing.fair_order(queue, owner_of, {"ana": 5}, round_robin=False) == queue  # single-user: as queued


def test_expected_starts_spread_the_estimates_over_the_slots():
    order = ["q1", "q2", "q3"]
    est = {"q1": 10.0, "q2": 20.0, "q3": 5.0}
    # one slot, a running job with 30 s left: q1 at 30, q2 at 40, q3 at 60
    assert queueing.expected_starts(order, est, [30.0], 1) == {"q1": (1, 30.0), "q2": (2, 40.0), "q3": (3, 60.0)}
    # two slots, one free: q1 now, q2 when the running job ends (8 s) or q1 ends (10 s): 8 s
    got = queueing.expected_starts(order, est, [8.0], 2)
    assert got["q1"] == (1, 0.0) and got["q2"] == (2, 8.0) and got["q3"] == (3, pytest.approx(10.0))
    # an overdue running job counts as ending now; no slot at all counts as one
    assert queueing.expected_starts(["q1"], est, [-4.0], 0) == {"q1": (1, 0.0)}
