"""The reductions in the log layer (max_log >= 1) against the unreduced search.

- Pruning alone (which folds notify-only requests in this layer): the reduced
  reachable set is exactly the set of pruned images of the unreduced reachable
  set (up to symmetry), which is what the argument in
  ``Raft.prune``/``dead``/``notify_only``/``fold`` claims.
- Eager vote requests alone, eager appends alone, and both: every reduced
  state is reachable unreduced, and the searches reach the same server
  variables and ghost.
- Each reduction removes states (none is vacuous), and all searches agree on
  every verdict.
"""

from __future__ import annotations

import os

import pytest

from checker.compiled import CompiledExplorer
from models import tweaks
from models.raft import Message, MType, Raft, ServerVars, State
from models.raft_pins import RaftPins

SMALL = [(2, 1, 1), (2, 2, 1)]  # about 6 s together
SLOW = [(2, 1, 2), (3, 1, 1)]


def reachable(model: Raft) -> tuple[set[State], str, str | None]:
    """Every reachable state up to renaming (as ``model.representative`` gives it), the verdict and the violated
    property.  The compiled engine searches (it reaches the readable one's orbits, tests/test_compiled.py; here
    four times faster at (2, 2, 1) unreduced), and its canonical vectors are mapped to the readable representatives."""
    pins = RaftPins(model)
    ex = CompiledExplorer(pins)
    r = ex.run()
    return {model.representative(pins.decode(v)) for v in ex.vectors()}, r.status, r.violation.prop.name if r.violation else None


def pruned_image(model: Raft, s: State) -> State:
    return model.representative(State(s.servers, tuple(sorted(model.prune(s.servers, set(s.messages)))), s.committed))


def compare(bounds: tuple[int, int, int]) -> None:
    full_model = Raft(*bounds, reduce=False)
    full, full_verdict, _ = reachable(full_model)
    pruning = Raft(*bounds, eager_votes=False, prune=True)
    pruned, pruned_verdict, _ = reachable(pruning)
    assert pruned == {pruned_image(pruning, s) for s in full}
    assert len(pruned) < len(full)
    servers = {(s.servers, s.committed) for s in full}
    verdicts = [full_verdict, pruned_verdict]
    for votes, appends in ((True, False), (False, True), (True, True)):
        eager = Raft(*bounds, eager_votes=votes, prune=False, eager_appends=appends)
        assert (eager.eager_votes, eager.eager_appends) == (votes, appends)
        eager_states, eager_verdict, _ = reachable(eager)
        assert eager_states <= full
        assert len(eager_states) < len(full)
        assert {(s.servers, s.committed) for s in eager_states} == servers
        verdicts.append(eager_verdict)
    both = Raft(*bounds)
    assert both.eager_votes and both.eager_appends and both.prune_msgs
    both_states, both_verdict, _ = reachable(both)
    assert {(s.servers, s.committed) for s in both_states} == servers
    assert [*verdicts, both_verdict] == ["holds"] * 6


@pytest.mark.parametrize("bounds", SMALL, ids=lambda b: "s{}-t{}-l{}".format(*b))
def test_reductions_match_unreduced_in_log_layer(bounds: tuple[int, int, int]) -> None:
    compare(bounds)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RUN_SLOW"), reason="several minutes; set RUN_SLOW=1")
@pytest.mark.parametrize("bounds", SLOW, ids=lambda b: "s{}-t{}-l{}".format(*b))
def test_reductions_match_unreduced_in_log_layer_slow(bounds: tuple[int, int, int]) -> None:
    compare(bounds)


def test_fold_keeps_one_bare_request_per_type_source_and_dest() -> None:
    """Two stale AppendEntries requests from S1 to S2 (terms 1 and 2, different content) fold into one bare request;
    a current one and a response are left alone."""
    m = Raft(3, 3, 1)
    servers = list(m.init_states()[0].servers)
    servers[1] = servers[1]._replace(currentTerm=3)
    ae = MType.AppendEntriesRequest
    old1 = Message(ae, 1, 0, 1, mentries=(1,))
    old2 = Message(ae, 2, 0, 1, mprevLogIndex=1, mprevLogTerm=1, mcommitIndex=1)
    cur = Message(ae, 3, 0, 1)
    vote = Message(MType.RequestVoteRequest, 2, 0, 1)
    reply = Message(MType.AppendEntriesResponse, 3, 1, 0)
    got = m.prune(tuple(servers), {old1, old2, cur, vote, reply})
    assert got == {Message(ae, 0, 0, 1), cur, Message(MType.RequestVoteRequest, 0, 0, 1), reply}
    assert all(m.is_folded(x) == (x.mterm == 0) for x in got)


def test_election_layer_has_neither_fold_nor_eager_appends() -> None:
    """--max-log 0 keeps the election layer's reductions only, so its pinned counts stay as they were."""
    m = Raft(3, 2, 0)
    assert m.eager_votes and m.prune_msgs and not m.eager_appends
    servers = list(m.init_states()[0].servers)
    servers[1] = servers[1]._replace(currentTerm=3)
    old = Message(MType.RequestVoteRequest, 2, 0, 1)
    assert m.prune(tuple(servers), {old}) == {old}


LOG_TWEAKS = [n for n, t in tweaks.BUILTIN.items() if t.bounds[2] >= 1]


def server_states(model: Raft) -> set[State]:
    """Server variables and ghost of every reachable state, up to renaming (a complete compiled search, no property checked)."""
    pins = RaftPins(model, [])
    ex = CompiledExplorer(pins)
    assert ex.run().status == "holds"
    # Projected on the codes of the server slots and the ghost first: a million stored vectors at (2, 2, 2)
    # unreduced have a few thousand projections, and decoding each vector whole took most of the test's time.
    n = pins.n
    projected = {(v[:n], v[pins.ghost]) for v in ex.vectors()}
    return {model.representative(State(tuple(pins.srvs[c] for c in srv), (), pins.comms[g])) for srv, g in projected}


class ForgetsEagerBackoff(Raft):
    """Unsound on purpose: after a back-off the leader does not send the new AppendEntries RPC."""

    def handle_append_entries_response(self, srv: ServerVars, m: Message, s: State) -> Raft.Handled:
        srv, _, ghost = Raft.handle_append_entries_response(self, srv, m, s)
        return srv, None, ghost


@pytest.mark.parametrize("name", [None, *LOG_TWEAKS])
def test_log_reductions_keep_server_states_under_each_log_tweak(name: str | None) -> None:
    """Folding and eager appends rest on rules no log-layer tweak changes: with and without every reduction, the
    (tweaked) model reaches the same server variables and ghost.  (2, 2, 2) is the smallest bound where the
    check below catches a broken eager append."""
    cls = tweaks.apply([tweaks.BUILTIN[name]]) if name else Raft
    full_model, reduced_model = cls(2, 2, 2, reduce=False), cls(2, 2, 2)
    assert reduced_model.eager_appends and reduced_model.prune_msgs and not full_model.eager_appends
    assert server_states(reduced_model) == server_states(full_model)


def test_the_comparison_catches_an_unsound_eager_append() -> None:
    broken = server_states(ForgetsEagerBackoff(2, 2, 2))
    assert broken < server_states(ForgetsEagerBackoff(2, 2, 2, reduce=False))
