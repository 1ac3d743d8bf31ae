"""Shared, cached searches of small Raft configurations (several test files need the same ones)."""

from __future__ import annotations

import functools

from checker.bfs import HOLDS, Explorer
from models import tweaks
from models.raft import Raft, State


def model(n: int, t: int, log: int, *, eager: bool, prune: bool, tweak: str | None = None) -> Raft:
    cls = tweaks.apply([tweaks.BUILTIN[tweak]]) if tweak else Raft
    return cls(n, t, log, eager_votes=eager, prune=prune)


@functools.cache
def reachable(n: int, t: int, log: int, *, eager: bool, prune: bool, symmetry: bool = False) -> tuple[State, ...]:
    """Every state the search stores (orbit representatives when ``symmetry``), in BFS order.

    The search checks all properties of the unmodified model, which hold at these bounds.
    """
    ex = Explorer(model(n, t, log, eager=eager, prune=prune), symmetry=symmetry)
    result = ex.run()
    assert result.status == HOLDS and not result.unsatisfied, (result.status, result.unsatisfied)
    return tuple(ex.states)
