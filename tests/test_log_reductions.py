"""The reductions in the log layer (max_log >= 1) against the unreduced search.

- Pruning alone: the reduced reachable set is exactly the set of pruned images
  of the unreduced reachable set (up to symmetry), which is what the argument
  in ``Raft.prune``/``dead``/``notify_only`` claims.
- Eager vote requests alone: every reduced state is reachable unreduced, and
  both searches reach the same server variables and ghost.
- All searches agree on every verdict.
"""

from __future__ import annotations

import os

import pytest

from checker.bfs import Explorer
from models.raft import Raft, State

SMALL = [(2, 1, 1), (2, 2, 1)]  # about 20 s of CPU together
SLOW = [(2, 1, 2), (3, 1, 1)]


def reachable(model: Raft) -> tuple[set[State], str, str | None]:
    ex = Explorer(model)
    r = ex.run()
    return set(ex.states), r.status, r.violation.prop.name if r.violation else None


def pruned_image(model: Raft, s: State) -> State:
    return model.representative(State(s.servers, tuple(sorted(model.prune(s.servers, set(s.messages)))), s.committed))


def compare(bounds: tuple[int, int, int]) -> None:
    full_model = Raft(*bounds, reduce=False)
    full, full_verdict, _ = reachable(full_model)
    pruning = Raft(*bounds, eager_votes=False, prune=True)
    pruned, pruned_verdict, _ = reachable(pruning)
    assert pruned == {pruned_image(pruning, s) for s in full}
    eager = Raft(*bounds, eager_votes=True, prune=False)
    eager_states, eager_verdict, _ = reachable(eager)
    assert eager_states <= full
    assert {(s.servers, s.committed) for s in eager_states} == {(s.servers, s.committed) for s in full}
    both = Raft(*bounds)
    _, both_verdict, _ = reachable(both)
    assert full_verdict == pruned_verdict == eager_verdict == both_verdict == "holds"


@pytest.mark.parametrize("bounds", SMALL, ids=lambda b: "s{}-t{}-l{}".format(*b))
def test_reductions_match_unreduced_in_log_layer(bounds: tuple[int, int, int]) -> None:
    compare(bounds)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RUN_SLOW"), reason="several minutes; set RUN_SLOW=1")
@pytest.mark.parametrize("bounds", SLOW, ids=lambda b: "s{}-t{}-l{}".format(*b))
def test_reductions_match_unreduced_in_log_layer_slow(bounds: tuple[int, int, int]) -> None:
    compare(bounds)
