"""The arithmetic the log-layer pruning argument rests on, proved for ALL values with z3.

``Raft.dead`` drops an AppendEntriesResponse of a leader's current term when it
cannot move the leader's indexes for its sender.  The argument (docstring of
``Raft.dead``) uses three facts about the response handler's update of
``nextIndex``/``matchIndex``:

1. it keeps ``nextIndex > matchIndex``;
2. a success with ``mmatchIndex <= matchIndex`` changes neither index;
3. once ``nextIndex = matchIndex + 1``, a failure changes nothing, and every
   update keeps the two one apart.

The model checker only sees bounded values; z3 proves the facts for all
integers, for the update written as formulas below.  ``test_formulas_are_the_handler``
checks, exhaustively on a range, that the formulas are what
``Raft.handle_append_entries_response`` computes, so the proof is about the code.
"""

from __future__ import annotations

import itertools

import z3

from models.raft import Message, MType, Raft, Role, ServerVars


def zmax(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a >= b, a, b)


def on_success(nxt: z3.ArithRef, match: z3.ArithRef, k: z3.ArithRef) -> tuple[z3.ArithRef, z3.ArithRef]:
    return zmax(nxt, k + 1), zmax(match, k)


def on_failure(nxt: z3.ArithRef, match: z3.ArithRef) -> tuple[z3.ArithRef, z3.ArithRef]:
    return zmax(nxt - 1, match + 1), match


def proved(claim: z3.BoolRef) -> bool:
    s = z3.Solver()
    s.add(z3.Not(claim))
    return s.check() == z3.unsat


N, M, K = z3.Ints("nextIndex matchIndex mmatchIndex")


def test_updates_keep_next_above_match() -> None:
    n2, m2 = on_success(N, M, K)
    assert proved(z3.Implies(z3.And(N > M, K >= 0), n2 > m2))
    n3, m3 = on_failure(N, M)
    assert proved(z3.Implies(N > M, n3 > m3))


def test_a_success_at_or_below_match_changes_nothing() -> None:
    n2, m2 = on_success(N, M, K)
    assert proved(z3.Implies(z3.And(N > M, K <= M), z3.And(n2 == N, m2 == M)))


def test_next_one_above_match_is_stable_and_failures_are_then_no_ops() -> None:
    n2, m2 = on_success(N, M, K)
    n3, m3 = on_failure(N, M)
    tight = N == M + 1
    assert proved(z3.Implies(z3.And(tight, K >= 0), n2 == m2 + 1))
    assert proved(z3.Implies(tight, z3.And(n3 == N, m3 == M)))


def test_a_broken_update_is_caught() -> None:
    """The proofs can fail: Figure 2's plain back-off (floor 1) does not keep nextIndex above matchIndex."""
    plain = zmax(N - 1, z3.IntVal(1))
    assert not proved(z3.Implies(N > M, plain > M))


def test_formulas_are_the_handler() -> None:
    model = Raft(2, 1, 3, eager_appends=False)  # with eager appends the handler also sends the next RPC to j
    for nxt, match, k, ok in itertools.product(range(1, 5), range(0, 4), range(0, 4), (True, False)):
        if nxt <= match:
            continue  # not a leader's state (fact 1)
        leader = ServerVars(1, Role.Leader, 0, (0, 1), (1, 1, 1), 0, (4, nxt), (3, match))
        m = Message(MType.AppendEntriesResponse, 1, 1, 0, msuccess=ok, mmatchIndex=k)
        after, reply, _ = model.handle_append_entries_response(leader, m, None)  # type: ignore[arg-type]
        want_n, want_m = (max(nxt, k + 1), max(match, k)) if ok else (max(nxt - 1, match + 1), match)
        assert (after.nextIndex[1], after.matchIndex[1], reply) == (want_n, want_m, None)
