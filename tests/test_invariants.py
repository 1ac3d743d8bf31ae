"""Each invariant can fail: a deliberately broken variant of the model violates it.

Every violation is checked with only that property selected (as ``--invariant``
does), its shortest trace length is pinned (the reasoning for each number is
given), and the trace is replayed on the broken model.  The unmodified model
satisfies the same property at the same bounds (or, in the replication layer,
cannot execute the trace), so the violation is the variant's doing.
"""

from __future__ import annotations

from typing import Any

import pytest

from checker.bfs import HOLDS, VIOLATED, Explorer
from checker.model import Kind
from checker.trace import ReplayError, replay
from models import tweaks
from models.raft import Message, Raft, Role, ServerVars, State


def prop(m: Raft, name: str) -> Any:
    return next(p for p in m.properties() if p.name == name)


def broken(tweak: str, n: int, t: int, log: int = 0) -> Raft:
    return tweaks.apply([tweaks.BUILTIN[tweak]])(n, t, log)


CASES = [
    # ElectionSafety: S1 and S2 time out; S3 votes for S1, restarts forgetting the vote, votes for S2;
    # both count S3's vote and become leader: 2 Timeout + 2 RequestVote deliveries + Restart + 2 responses + 2 BecomeLeader.
    ("vote-not-persisted", 3, 1, "ElectionSafety", 9, "BecomeLeader", "Restart"),
    # TermMonotonic: Timeout raises S1 to term 1, Restart drops it to 0.
    ("term-not-persisted", 3, 1, "TermMonotonic", 2, "Restart", "Timeout"),
    # MessageTermBound: Timeout sends term-1 vote requests, Restart takes S1 back to term 0.
    ("term-not-persisted", 3, 1, "MessageTermBound", 2, "Restart", "Timeout"),
    # LeaderQuorumTerm: S1 times out, S2 grants its vote and restarts to term 0; S1 counts the vote and
    # leads term 1 while only S1 is at term 1: Timeout, delivery, Restart, response, BecomeLeader.
    ("term-not-persisted", 3, 1, "LeaderQuorumTerm", 5, "BecomeLeader", "Restart"),
    # LeaderQuorumTerm again, by a quorum that is no majority: 4 servers, S1 leads with S2's vote only.
    ("half-quorum", 4, 1, "LeaderQuorumTerm", 4, "BecomeLeader", "HandleRPC"),
    # SelfVote and VotesGrantedQuorum: the first Timeout makes a candidate that has not voted for itself.
    ("no-self-vote", 3, 1, "SelfVote", 1, "Timeout", "Timeout"),
    ("no-self-vote", 3, 1, "VotesGrantedQuorum", 1, "Timeout", "Timeout"),
]


def violation_trace(m: Raft, name: str, length: int, last_action: str) -> list[Any]:
    """Search ``m`` for property ``name`` alone; its violation must have a trace of ``length`` steps ending in
    ``last_action`` that replays through ``m``."""
    p = prop(m, name)
    result = Explorer(m, [p]).run()
    assert result.status == VIOLATED
    assert result.violation is not None and result.violation.prop.name == name
    trace = result.violation.trace
    assert len(trace) - 1 == length
    assert trace[-1].action is not None and trace[-1].action.name == last_action
    replay(m, trace, p)
    return trace


@pytest.mark.parametrize(("tweak", "n", "t", "name", "length", "last_action", "uses"), CASES, ids=[f"{c[3]}-{c[0]}" for c in CASES])
def test_broken_variant_violates(tweak: str, n: int, t: int, name: str, length: int, last_action: str, uses: str) -> None:
    assert Explorer(Raft(n, t, 0), [prop(Raft(n, t, 0), name)]).run().status == HOLDS
    m = broken(tweak, n, t)
    trace = violation_trace(m, name, length, last_action)
    assert uses in [st.action.name for st in trace[1:] if st.action is not None]
    p = prop(m, name)
    if p.kind is Kind.ALWAYS:
        assert all(p.check(st.state) for st in trace[:-1])  # the first bad state is the last one


def test_term_monotonic_is_an_action_property_seen_on_the_step() -> None:
    m = broken("term-not-persisted", 3, 1)
    p = prop(m, "TermMonotonic")
    assert p.kind is Kind.ACTION
    v = Explorer(m, [p]).run().violation
    assert v is not None
    before, after = v.trace[-2].state, v.trace[-1].state
    assert [s.currentTerm for s in before.servers] == [1, 0, 0]
    assert [s.currentTerm for s in after.servers] == [0, 0, 0]


def test_leader_elected_unsatisfied_without_elections() -> None:
    m = Raft(3, 0, 0)  # max-term 0: Timeout is never enabled
    result = Explorer(m).run()
    assert result.status == HOLDS
    assert result.unsatisfied == ["LeaderElected"]
    assert result.stats.distinct_states == 1


class NeverLeads(Raft):
    """BecomeLeader never fires: no vote count is ever a quorum."""

    def has_quorum(self, srv: ServerVars) -> bool:
        return False


def test_leader_elected_unsatisfied_when_become_leader_never_fires() -> None:
    m = NeverLeads(3, 1, 0)
    result = Explorer(m, [prop(m, "LeaderElected")]).run()
    assert result.status == HOLDS
    assert result.unsatisfied == ["LeaderElected"]
    assert result.stats.action_counts["BecomeLeader"] == 0
    assert result.stats.action_counts["Timeout"] > 0
    # while the unmodified model elects a leader in 4 steps: Timeout, vote request delivered, response delivered, BecomeLeader
    ok = Explorer(Raft(3, 1, 0), [prop(Raft(3, 1, 0), "LeaderElected")]).run()
    w = ok.witnesses["LeaderElected"]
    assert ok.unsatisfied == [] and w is not None
    assert len(w) - 1 == 4
    replay(Raft(3, 1, 0), w, prop(Raft(3, 1, 0), "LeaderElected"))


# ------------------------------------------------------ the replication layer


class AnyAppend(Raft):
    """No AppendEntries consistency check: a follower accepts entries whatever its log holds at prevLogIndex."""

    def log_ok_for_append(self, srv: ServerVars, m: Message) -> bool:
        return True


class CommitAlone(Raft):
    """A leader commits an entry of its term without a majority storing it."""

    def can_commit(self, srv: ServerVars, i: int, index: int) -> bool:
        return srv.log[index - 1] == srv.currentTerm


class CommitAloneNoRestriction(CommitAlone):
    """... and votes are granted without the election restriction (up-to-date log)."""

    def log_ok_for_vote(self, srv: ServerVars, m: Message) -> bool:
        return True


class NeverCommit(Raft):
    """AdvanceCommitIndex never fires."""

    def can_commit(self, srv: ServerVars, i: int, index: int) -> bool:
        return False


class ClearWhenFull(Raft):
    """A leader whose log is full empties it on the next client request (deletes its own entries)."""

    def ClientRequest(self, s: State, i: int) -> State | None:
        srv = s.servers[i]
        if srv.role != Role.Leader:
            return None
        log = () if len(srv.log) >= self.max_log else (*srv.log, srv.currentTerm)
        return self.commit_step(s, (*s.servers[:i], srv._replace(log=log), *s.servers[i + 1 :]))


LOG_CASES = [
    # S1 leads term 1 and appends an entry it never replicates (5 steps); it restarts and leads term 2
    # (Restart, Timeout, request, response, BecomeLeader: 10), appends and so sends S2 prev=(1,1) entries=[2] (11);
    # S2, whose log is empty, accepts it (12) and the duplicate delivery again (13): logs [1,2] and [2,2].
    (AnyAppend, (2, 2, 2), "LogMatching", 13, "HandleRPC"),
    # S1 leads term 1 (with S2's vote), appends and commits alone (7 steps); S2, which timed out meanwhile,
    # gets S1's vote for term 2 without the election restriction (2 deliveries) and leads without the entry (10).
    (CommitAloneNoRestriction, (2, 2, 1), "LeaderCompleteness", 10, "BecomeLeader"),
    # ... and then S2 appends and commits its own entry at the same index (12).
    (CommitAloneNoRestriction, (2, 2, 1), "StateMachineSafety", 12, "AdvanceCommitIndex"),
    # S1 leads term 1 (4 steps), appends (5), and the next request empties its log (6).
    (ClearWhenFull, (2, 1, 1), "LeaderAppendOnly", 6, "ClientRequest"),
]


@pytest.mark.parametrize(("cls", "bounds", "name", "length", "last_action"), LOG_CASES, ids=[c[2] for c in LOG_CASES])
def test_broken_variant_violates_replication_property(cls: type[Raft], bounds: tuple[int, int, int], name: str, length: int,
                                                      last_action: str) -> None:
    m = cls(*bounds)
    trace = violation_trace(m, name, length, last_action)
    # the breakage is the variant's doing: the trace is not an execution of the unmodified model
    with pytest.raises(ReplayError):
        replay(Raft(*bounds), trace)


def test_unmodified_model_keeps_replication_properties_at_small_bounds() -> None:
    m = Raft(2, 1, 1)
    result = Explorer(m).run()
    assert result.status == HOLDS and result.unsatisfied == []
    replication = {"LogMatching", "LeaderAppendOnly", "LeaderCompleteness", "StateMachineSafety", "EntryCommitted"}
    assert replication <= {p.name for p in result.checked}


def test_entry_committed_unsatisfied_when_nothing_commits() -> None:
    m = NeverCommit(2, 1, 1)
    result = Explorer(m, [prop(m, "EntryCommitted")]).run()
    assert result.status == HOLDS
    assert result.unsatisfied == ["EntryCommitted"]
    assert result.stats.action_counts["ClientRequest"] > 0


# ------------------------------------------------------ the built-in tweaks' declared verdicts

# Tweaks whose declared bounds are small enough to check here (the others need a minute or more).
CHEAP_TWEAKS = ["vote-not-persisted", "term-not-persisted", "vote-twice", "half-quorum"]


@pytest.mark.parametrize("name", CHEAP_TWEAKS)
def test_builtin_tweak_declared_verdict_for_election_safety(name: str) -> None:
    tw = tweaks.BUILTIN[name]
    m = tweaks.apply([tw])(*tw.bounds)
    p = prop(m, "ElectionSafety")
    result = Explorer(m, [p]).run()
    got = result.violation.prop.name if result.violation is not None else result.status
    assert got == tw.expected
    if result.violation is not None:
        replay(m, result.violation.trace, p)


def test_half_quorum_only_bites_with_an_even_number_of_servers() -> None:
    m = tweaks.apply([tweaks.BUILTIN["half-quorum"]])(3, 1, 0)
    assert Explorer(m, [prop(m, "ElectionSafety")]).run().status == HOLDS
