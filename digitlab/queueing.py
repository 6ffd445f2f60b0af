"""The order queued jobs start in, and when: pure functions the :class:`digitlab.training.Worker` calls.

Single-user mode: first come, first served. Workshop mode: **round-robin over owners**: the
owner whose last job started longest ago (or never) goes first, ties by who queued first; every
class default (owner None) counts as one owner, so the room's own jobs are not pushed back by
a batch of defaults. **Expected starts**: each running job's estimated time left and the
estimates of the jobs before a queued one, spread over the engine's slots (each job to the
slot that frees first). Estimates come from :mod:`digitlab.costs`.
"""
from __future__ import annotations

import heapq

from . import roles


def owner_key(owner) -> str:
    """Whose turn a job is, for the round-robin: the participant's name key; every class default
    (owner None) is one owner, ``""``."""
    return "" if roles.is_class_owner(owner) else roles.name_key(str(owner))


def fair_order(queue: list[str], owner_of: dict[str, object], served: dict[str, int], *, round_robin: bool) -> list[str]:
    """The queued job ids (``queue``, in submission order) in the order they will start.

    ``owner_of``: job id -> its owner; ``served``: owner key -> the turn its last job started
    (higher = more recent). Without ``round_robin``: the queue as it is."""
    if not round_robin:
        return list(queue)
    by_owner: dict[str, list[str]] = {}
    for jid in queue:
        by_owner.setdefault(owner_key(owner_of[jid]), []).append(jid)
    served, turn, order = dict(served), max(served.values(), default=0), []
    while by_owner:
        key = min(by_owner, key=lambda k: served.get(k, 0))  # min keeps the first of equals: queue order
        order.append(by_owner[key].pop(0))
        turn += 1
        served[key] = turn
        if not by_owner[key]:
            del by_owner[key]
    return order


def expected_starts(order: list[str], estimate_of: dict[str, float], running_left: list[float],
                    slots: int) -> dict[str, tuple[int, float]]:
    """{queued job id: (its place in ``order``, 1-based; seconds until it starts)}.

    ``running_left``: the estimated seconds left of each running job; ``slots``: how many jobs
    run at once (at least one is counted: a remote engine may have none for a moment)."""
    n = max(1, slots)
    free = sorted(max(0.0, s) for s in running_left)[:n]
    free += [0.0] * (n - len(free))
    heapq.heapify(free)
    out = {}
    for place, jid in enumerate(order, 1):
        start = heapq.heappop(free)
        out[jid] = (place, start)
        heapq.heappush(free, start + (estimate_of.get(jid) or 0.0))
    return out
