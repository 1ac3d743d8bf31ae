"""The log layer: every replication property has a broken variant that violates it.

Each broken variant is a built-in tweak or a small subclass override.  The
checker must find the violation with a pinned shortest-trace length, and the
trace must replay as a real execution of the broken model.  The unmodified
model satisfies EntryCommitted, and ``max_log = 0`` is exactly the election
layer.
"""

from __future__ import annotations

import pytest

from checker.bfs import HOLDS, VIOLATED, Explorer, Result
from checker.trace import Step, replay
from models import tweaks
from models.raft import Action, Message, MType, Raft, Role, ServerVars, State, _put


def search(model: Raft, only: str | None = None) -> Result[State, Action]:
    props = [p for p in model.properties() if only is None or p.name == only]
    assert props, only
    return Explorer(model, props).run()


def assert_violates(model: Raft, prop: str, length: int, only: bool = False) -> None:
    r = search(model, prop if only else None)
    assert r.status == VIOLATED and r.violation is not None
    assert (r.violation.prop.name, len(r.violation.trace) - 1) == (prop, length)
    replay(model, r.violation.trace, r.violation.prop)


# ------------------------------------------------------------ broken variants

class LogNotPersisted(Raft):
    """Restart loses the log too: a committed entry can vanish from a majority."""

    def restart_server(self, srv: ServerVars) -> ServerVars:
        return Raft.restart_server(self, srv)._replace(log=())


class ReplaceLastEntry(Raft):
    """A leader whose log is full replaces its last entry instead of refusing the client."""

    def ClientRequest(self, s: State, i: int) -> State | None:
        srv = s.servers[i]
        if srv.role != Role.Leader:
            return None
        log = srv.log if len(srv.log) < self.max_log else srv.log[:-1]
        return self.commit_step(s, _put(s.servers, i, srv._replace(log=(*log, srv.currentTerm))))


class CommitAloneAnyLog(Raft):
    """A leader commits an entry of its term without a majority, and votes ignore logs."""

    def can_commit(self, srv: ServerVars, i: int, index: int) -> bool:
        return srv.log[index - 1] == srv.currentTerm

    def log_ok_for_vote(self, srv: ServerVars, m: object) -> bool:
        return True


class NoClient(Raft):
    """The log layer with ClientRequest disabled: logs stay empty."""

    def ClientRequest(self, s: State, i: int) -> State | None:
        return None


def tweaked(name: str) -> type[Raft]:
    return tweaks.apply(tweaks.lookup([name]))


def test_log_matching_broken_without_prev_log_check() -> None:
    assert_violates(tweaked("no-prev-log-check")(2, 2, 2), "LogMatching", 13)


def test_leader_append_only_broken_by_overwriting_leader() -> None:
    assert_violates(ReplaceLastEntry(2, 2, 1), "LeaderAppendOnly", 11)


def test_leader_completeness_broken_when_log_not_persisted() -> None:
    assert_violates(LogNotPersisted(2, 2, 1), "LeaderCompleteness", 14)


def test_state_machine_safety_broken_by_commit_without_majority() -> None:
    assert_violates(CommitAloneAnyLog(2, 2, 1), "StateMachineSafety", 12, only=True)


# ------------------------------------------------------- the unmodified model

@pytest.mark.parametrize("bounds", [(2, 1, 1), (2, 2, 1), (2, 1, 2)], ids=lambda b: "s{}-t{}-l{}".format(*b))
def test_unmodified_model_holds_and_commits(bounds: tuple[int, int, int]) -> None:
    model = Raft(*bounds)
    r = search(model)
    assert r.status == HOLDS and r.unsatisfied == []
    witness = r.witnesses["EntryCommitted"]
    assert witness is not None
    prop = next(p for p in model.properties() if p.name == "EntryCommitted")
    replay(model, witness, prop)


def test_max_log_zero_is_the_election_layer() -> None:
    # Unreduced, the log layer without client requests is state for state the election layer.
    for n, t in [(2, 1), (2, 2), (3, 1)]:
        election = Explorer(Raft(n, t, 0, reduce=False))
        election.run()
        no_client = Explorer(NoClient(n, t, 1, reduce=False))
        no_client.run()
        assert set(election.states) == set(no_client.states)
    # Reduced, the counts are those of the election layer before the log layer existed,
    # and the server variables reached are those of the log layer without client requests.
    for (n, t), count in {(2, 2): 61, (3, 1): 34, (3, 2): 1333}.items():
        election = Explorer(Raft(n, t, 0))
        election.run()
        assert len(election.states) == count
        if n == 2:
            no_client = Explorer(NoClient(n, t, 1))
            no_client.run()
            assert {s.servers for s in election.states} == {s.servers for s in no_client.states}


# ------------------------------------------------- built-in log-layer tweaks

LOG_TWEAKS = {  # name -> shortest trace length at Tweak.bounds
    "no-log-check": 12,
    "truncate-always": 13,
    "no-prev-log-check": 13,
}


REPLAYED = {"commit-old-terms": ("LeaderCompleteness", (3, 4, 1)), "commit-beyond-match": ("StateMachineSafety", (3, 3, 2))}


@pytest.mark.parametrize("name", sorted([*LOG_TWEAKS, *REPLAYED]))
def test_log_tweak_metadata(name: str) -> None:
    t = tweaks.BUILTIN[name]
    assert t.expected != "holds" and t.bounds[2] >= 1 and t.keeps_eager_votes and t.keeps_pruning
    if name in REPLAYED:
        assert (t.expected, t.bounds) == REPLAYED[name]


@pytest.mark.parametrize("name", sorted(LOG_TWEAKS))
def test_log_tweak_verdicts(name: str) -> None:
    t = tweaks.BUILTIN[name]
    assert_violates(tweaked(name)(*t.bounds), t.expected, LOG_TWEAKS[name])


# Figure 8 of the paper with 3 servers and one entry per log: S1 leads term 1 and
# appends an entry; S2 leads term 2 and appends its own; S1 leads term 3 with S3's
# vote, replicates its term-1 entry to S3 and (tweaked) commits it; S2 then wins
# term 4 with S3's vote, its last log term 2 beating S3's 1.  The breadth-first
# search to this depth takes about 3.5 hours (README, "Log replication"; its
# shortest trace is under counterexamples/commit-old-terms/), so the suite replays
# this execution, written out by hand, with and without eager appends.
RV, RVR, AE, AER = MType.RequestVoteRequest, MType.RequestVoteResponse, MType.AppendEntriesRequest, MType.AppendEntriesResponse
FIGURE_8: list[tuple[object, ...]] = [
    ("Timeout", 0), (RV, 0, 1, 1), (RVR, 1, 0, 1), ("BecomeLeader", 0), ("ClientRequest", 0),
    ("Timeout", 1), (RV, 1, 2, 2), (RVR, 2, 1, 2), ("BecomeLeader", 1), ("ClientRequest", 1),
    (RV, 1, 0, 2), ("Timeout", 0), (RV, 0, 2, 3), (RVR, 2, 0, 3), ("BecomeLeader", 0),
    ("AppendEntries", 0, 2), (AE, 0, 2, 3), (AER, 2, 0, 3), ("AppendEntries", 0, 2), (AE, 0, 2, 3), (AER, 2, 0, 3),
    ("AdvanceCommitIndex", 0),
    (RV, 0, 1, 3), ("Timeout", 1), (RV, 1, 2, 4), (RVR, 2, 1, 4), ("BecomeLeader", 1),
]


def run_script(model: Raft, script: list[tuple[object, ...]]) -> list[Step[State, Action]]:
    """Execute ``script``; a message step names (type, source, dest, term), preferring a message not yet delivered."""
    s = model.init_states()[0]
    trace: list[Step[State, Action]] = [Step(None, s)]
    delivered: set[Message] = set()
    for k, step in enumerate(script, start=1):
        if isinstance(step[0], MType):
            ms = [m for m in s.messages if (m.mtype, m.msource, m.mdest, m.mterm) == step]
            ms = [m for m in ms if m not in delivered] or ms  # a message delivered again when it is the only match
            assert len(ms) == 1, f"step {k}: {step} matches {ms}"
            delivered.add(ms[0])
            a = Action("HandleRPC", (ms[0],))
        else:
            a = Action(str(step[0]), tuple(step[1:]))
        t = model.next_state(s, a)
        assert t is not None, f"step {k}: {a} is not enabled"
        trace.append(Step(a, t))
        s = t
    return trace


def test_commit_old_terms_figure_8_execution() -> None:
    model = tweaked("commit-old-terms")(3, 4, 1, eager_appends=False)
    trace = run_script(model, FIGURE_8)
    lc = next(p for p in model.properties() if p.name == "LeaderCompleteness")
    replay(model, trace, lc)
    assert all(p.check(st.state) for st in trace[:-1] for p in model.properties() if p.kind.value == "always")
    # In the unmodified model the old-term entry cannot be committed (step 22).
    with pytest.raises(AssertionError, match="step 22"):
        run_script(Raft(3, 4, 1, eager_appends=False), FIGURE_8)


def test_commit_old_terms_figure_8_with_eager_appends() -> None:
    """The same execution in the model as `check` runs it: the two AppendEntries steps are part of the steps before."""
    script = [step for step in FIGURE_8 if step[0] != "AppendEntries"]
    model = tweaked("commit-old-terms")(3, 4, 1)
    assert model.eager_appends and len(script) == 25
    trace = run_script(model, script)
    replay(model, trace, next(p for p in model.properties() if p.name == "LeaderCompleteness"))


# commit-beyond-match with 3 servers, 2 entries, 3 terms: S3 holds S1's term-1
# entry and, after it, its own stale term-2 entry.  S1 leads term 3 and commits
# [1, 3] with S2.  S3, now in term 3, answers S1's old term-1 request with a
# failure of term 3 (by then the request is folded: it reads term 0), so S1 backs nextIndex[S3] off to 1 and sends entry 1 with
# leaderCommit 2: S3 keeps its stale entry 2 and (tweaked) commits it.
STALE_COMMIT: list[tuple[object, ...]] = [
    ("Timeout", 0), (RV, 0, 1, 1), (RVR, 1, 0, 1), ("BecomeLeader", 0), ("ClientRequest", 0),
    ("AppendEntries", 0, 1), (AE, 0, 1, 1), ("AppendEntries", 0, 2), (AE, 0, 2, 1),
    ("Timeout", 2), (RV, 2, 1, 2), (RVR, 1, 2, 2), ("BecomeLeader", 2), ("ClientRequest", 2),
    (RV, 2, 0, 2), ("Timeout", 0), (RV, 0, 1, 3), (RVR, 1, 0, 3), ("BecomeLeader", 0), ("ClientRequest", 0),
    ("AppendEntries", 0, 1), (AE, 0, 1, 3), (AER, 1, 0, 3), ("AdvanceCommitIndex", 0),
    (RV, 0, 2, 3), (AE, 0, 2, 0), (AER, 2, 0, 3), ("AppendEntries", 0, 2), (AE, 0, 2, 3),
]


def test_commit_beyond_match_stale_entry_execution() -> None:
    model = tweaked("commit-beyond-match")(3, 3, 2, eager_appends=False)
    trace = run_script(model, STALE_COMMIT)
    sms = next(p for p in model.properties() if p.name == "StateMachineSafety")
    replay(model, trace, sms)
    # The same execution in the unmodified model commits only up to the last new entry.
    plain = Raft(3, 3, 2, eager_appends=False)
    trace = run_script(plain, STALE_COMMIT)
    replay(plain, trace)
    assert trace[-1].state.servers[2].commitIndex == 1 and sms.check(trace[-1].state)
