"""Soundness of the model's two reductions, checked against the unreduced search on small configurations.

- message pruning alone: the reduced reachable set is the pruned image of the
  unreduced reachable set -- exactly, as ``Raft.prune``'s docstring claims, in
  the log layer and at term bound 1; only up to the type of a refusal reply in
  the election layer at larger bounds (see ``refusals_merged`` and ``EXACT``);
- eager vote requests alone: every eager state is reachable lazily, and both
  reach the same server-variable valuations;
- verdicts (violated property, or holds) agree with and without reductions,
  for the unmodified model and each built-in tweak that keeps a reduction;
  trace lengths are equal under pruning alone and may only shrink under eager
  vote requests (one Timeout step then also sends the requests).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from helpers import model, reachable

from checker.bfs import HOLDS, VIOLATED, Explorer
from checker.trace import replay
from models import tweaks
from models.raft import MType, Raft, State

SMALL = [(2, 1, 0), (2, 2, 0), (3, 1, 0), (2, 1, 1)]


def cfg_id(c: tuple[int, int, int]) -> str:
    return "s{}-t{}-l{}".format(*c)


def pruned_image(pm: Raft, s: State) -> State:
    return State(s.servers, tuple(sorted(pm.prune(s.servers, set(s.messages)))), s.committed)


def refusals_merged(s: State) -> tuple[Any, ...]:
    """``s`` with a denied RequestVoteResponse and a failed AppendEntriesResponse of the same term,
    source and destination made indistinguishable.

    In the election layer (max_log 0) ``Raft.prune`` treats notify-only RequestVote and
    AppendEntries requests from i to j as redundant with each other (its docstring: "in the
    election layer even across types"), so the one kept may be answered with the other kind of
    refusal.  Delivered at i, either refusal does the same: the step-down rule, and nothing else
    (a denied vote is not counted; a failed append leaves nextIndex at 1).
    """
    msgs = set()
    for m in s.messages:
        refusal = (m.mtype == MType.RequestVoteResponse and not m.mvoteGranted) or (
            m.mtype == MType.AppendEntriesResponse and not m.msuccess
        )
        msgs.add(("refusal", m.mterm, m.msource, m.mdest) if refusal else m)
    return s.servers, frozenset(msgs), s.committed


@pytest.mark.parametrize("cfg", SMALL, ids=cfg_id)
def test_pruning_alone_reaches_the_pruned_images(cfg: tuple[int, int, int]) -> None:
    n, t, log = cfg
    pm = model(n, t, log, eager=False, prune=True)
    assert pm.prune_msgs and not pm.eager_votes
    full = reachable(n, t, log, eager=False, prune=False)
    pruned = set(reachable(n, t, log, eager=False, prune=True))
    image = {pruned_image(pm, s) for s in full}
    assert pruned <= image  # every reduced state is the image of a real one: nothing spurious
    assert {refusals_merged(s) for s in pruned} == {refusals_merged(s) for s in image}
    assert len(pruned) < len(set(full))  # the reduction removes something here


EXACT = [
    pytest.param(
        (2, 2, 0),
        marks=pytest.mark.xfail(
            strict=True,
            reason="the reduced reachable set is the pruned image only up to the kind of refusal reply (Raft.prune's docstring); "
            "in the election layer the cross-type merge of notify-only requests makes the image contain states whose refusal reply has the "
            "other type (e.g. a failed AppendEntriesResponse where the reduced run has a denied RequestVoteResponse)",
        ),
        id="s2-t2-l0",
    ),
    pytest.param((2, 1, 0), id="s2-t1-l0"),
    pytest.param((3, 1, 0), id="s3-t1-l0"),
    pytest.param((2, 1, 1), id="s2-t1-l1"),
]


@pytest.mark.parametrize("cfg", EXACT)
def test_pruning_alone_reaches_exactly_the_pruned_images(cfg: tuple[int, int, int]) -> None:
    n, t, log = cfg
    pm = model(n, t, log, eager=False, prune=True)
    full = reachable(n, t, log, eager=False, prune=False)
    assert set(reachable(n, t, log, eager=False, prune=True)) == {pruned_image(pm, s) for s in full}


@pytest.mark.parametrize("cfg", SMALL, ids=cfg_id)
def test_eager_votes_alone_reach_a_subset_with_the_same_server_states(cfg: tuple[int, int, int]) -> None:
    n, t, log = cfg
    lazy = set(reachable(n, t, log, eager=False, prune=False))
    eager = set(reachable(n, t, log, eager=True, prune=False))
    assert eager <= lazy
    assert len(eager) < len(lazy)
    assert {s.servers for s in eager} == {s.servers for s in lazy}
    assert {(s.servers, s.committed) for s in eager} == {(s.servers, s.committed) for s in lazy}


@pytest.mark.parametrize("cfg", SMALL, ids=cfg_id)
def test_both_reductions_keep_the_server_states(cfg: tuple[int, int, int]) -> None:
    n, t, log = cfg
    full = reachable(n, t, log, eager=False, prune=False)
    red = reachable(n, t, log, eager=True, prune=True)
    assert {(s.servers, s.committed) for s in red} == {(s.servers, s.committed) for s in full}


# ------------------------------------------------------------------ verdicts


Verdict = tuple[str, str | None, int | None, tuple[str, ...]]


@functools.cache
def verdict_of(tweak: str | None, n: int, t: int, log: int, eager: bool, prune: bool) -> Verdict:
    return verdict(model(n, t, log, eager=eager, prune=prune, tweak=tweak))


def verdict(m: Any) -> Verdict:
    r = Explorer(m).run()
    if r.violation is not None:
        replay(m, r.violation.trace, r.violation.prop)
        return r.status, r.violation.prop.name, len(r.violation.trace) - 1, ()
    return r.status, None, None, tuple(r.unsatisfied)


def tweak_cases() -> list[Any]:
    cases: list[Any] = [pytest.param(None, 3, 1, id="raft-s3-t1")]
    for name, tw in tweaks.BUILTIN.items():
        if not tw.keeps_eager_votes and not tw.keeps_pruning:
            continue  # the tweaked model always runs unreduced: nothing to compare
        n = 4 if name == "half-quorum" else 3  # half-quorum bites only with an even number of servers
        cases.append(pytest.param(name, n, 1, id=f"{name}-s{n}-t1"))
    return cases


@pytest.mark.parametrize(("tweak", "n", "t"), tweak_cases())
def test_verdicts_agree_with_and_without_reductions(tweak: str | None, n: int, t: int) -> None:
    unreduced = verdict_of(tweak, n, t, 0, False, False)
    reduced_model = model(n, t, 0, eager=True, prune=True, tweak=tweak)  # minus what the tweak turns off
    assert reduced_model.eager_votes or reduced_model.prune_msgs
    reduced = verdict_of(tweak, n, t, 0, True, True)
    status, prop, length, unsat = reduced
    assert (status, prop, unsat) == (unreduced[0], unreduced[1], unreduced[3])
    if status == VIOLATED:
        assert length is not None and unreduced[2] is not None
        if reduced_model.eager_votes:
            # a Timeout step also sends the vote requests, so traces may be shorter, never longer
            assert length <= unreduced[2]
        else:
            assert length == unreduced[2]
    if reduced_model.prune_msgs:
        # pruning alone changes no step of any execution: same verdict and same trace length
        assert verdict_of(tweak, n, t, 0, False, True) == unreduced


def test_verdict_cases_include_violations_and_holds() -> None:
    """Guard against a vacuous comparison: the cases above must exercise both outcomes."""
    outcomes = {verdict_of(tw, n, t, 0, True, True)[0] for tw, n, t in (c.values for c in tweak_cases())}
    assert outcomes == {HOLDS, VIOLATED}


@pytest.mark.parametrize("cfg", [(2, 2, 0), (2, 1, 1)], ids=cfg_id)
def test_unmodified_verdict_agrees_at_other_bounds(cfg: tuple[int, int, int]) -> None:
    n, t, log = cfg
    expected = (HOLDS, None, None, ())
    assert verdict_of(None, n, t, log, False, False) == verdict_of(None, n, t, log, True, True) == expected
