"""Differential tests: the fast engine (raft_check/fast.py, models/fast_raft.py) against the readable one.

On small bounds, for the plain model and for every built-in tweak, both
engines must reach the same canonical states (fast states are decoded back to
``models.raft.State`` and compared as sets), fire the same transitions, and
give the same verdicts; the fast engine's traces must replay through the
readable model.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from checker.bfs import Explorer
from checker.trace import replay
from models import tweaks
from models.fast_raft import FastRaft
from models.raft import Action, EachMessage, Raft, State
from raft_check.fast import FastExplorer, _StateCheck, pick_engine, unsupported

# (servers, max-term, max-log)
TWEAK_CAP = 2500
SMALL = [(1, 2, 2), (2, 1, 0), (2, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 0), (4, 1, 0)]


def assert_same_search(model: Raft, symmetry: bool) -> None:
    """Full searches (no properties, so neither stops early) reach the same canonical states with the same counts."""
    slow: Explorer[State, Action] = Explorer(model, [], symmetry=symmetry)
    fast = FastExplorer(model, [], symmetry=symmetry)
    a, b = slow.run().stats, fast.run().stats
    assert (b.distinct_states, b.transitions, b.depth) == (a.distinct_states, a.transitions, a.depth)
    assert b.action_counts == a.action_counts
    # Both engines store the same representative of every orbit, in the same BFS order.
    assert list(fast.reachable()) == list(slow.states)


@pytest.mark.parametrize("symmetry", [True, False], ids=["sym", "nosym"])
@pytest.mark.parametrize("bounds", SMALL, ids=lambda b: "s{}t{}l{}".format(*b))
def test_same_reachable_states(bounds: tuple[int, int, int], symmetry: bool) -> None:
    assert_same_search(Raft(*bounds), symmetry)


@pytest.mark.parametrize("bounds", [(2, 2, 0), (3, 1, 0), (2, 1, 1)], ids=lambda b: "s{}t{}l{}".format(*b))
def test_same_reachable_states_unreduced(bounds: tuple[int, int, int]) -> None:
    assert_same_search(Raft(*bounds, reduce=False), True)


@pytest.mark.parametrize("name", list(tweaks.BUILTIN))
def test_tweaks_same_reachable_states(name: str) -> None:
    """Tweaks that turn pruning off blow up fast: compare on each small bound whose state space stays small."""
    cls = tweaks.apply([tweaks.BUILTIN[name]])
    assert unsupported(cls(3, 1, 0)) is None
    compared = 0
    for bounds, symmetry in [((2, 1, 0), True), ((2, 1, 0), False), ((3, 1, 0), True), ((2, 2, 0), True), ((2, 1, 1), True)]:
        if FastExplorer(cls(*bounds), [], symmetry=symmetry, max_states=TWEAK_CAP).run().status != "holds":
            continue  # more than TWEAK_CAP states: too slow for the readable engine here
        assert_same_search(cls(*bounds), symmetry)
        compared += 1
    assert compared >= 1


def test_successors_match_next_state() -> None:
    """Transition by transition: the memoised successors equal the readable next_state, as multisets per state."""
    model = Raft(2, 2, 1)
    fr = FastRaft(model)
    slow = Explorer(model, [], symmetry=False)
    slow.run()
    names = [a.name for a in fr.acts] + ["HandleRPC"]
    for s in slow.states:
        want = Counter((a.name, t) for a in model.actions(s) if (t := model.next_state(s, a)) is not None)
        got = Counter((names[k], fr.decode(t)) for k, t in fr.successors(fr.encode(s)))
        assert got == want
        assert fr.decode(fr.encode(s)) == s


@pytest.mark.parametrize("name", list(tweaks.BUILTIN))
def test_tweak_verdicts(name: str) -> None:
    """At each tweak's own bounds, capped so the readable engine finishes in seconds (max-term 1 without pruning, else 2;
    log-layer tweaks at 2 servers and one entry): same verdict and shortest trace length; the trace replays."""
    t = tweaks.BUILTIN[name]
    n, term, log = t.bounds
    if log:
        n, log = 2, 1
    model = tweaks.apply([t])(n, min(term, 2 if t.keeps_pruning else 1), log)
    a = Explorer(model).run()
    b = FastExplorer(model).run()
    assert b.status == a.status
    assert b.unsatisfied == a.unsatisfied
    if a.violation is None:
        assert b.violation is None
        assert (b.stats.distinct_states, b.stats.transitions) == (a.stats.distinct_states, a.stats.transitions)
        return
    assert b.violation is not None
    assert len(b.violation.trace) == len(a.violation.trace)
    replay(model, b.violation.trace, b.violation.prop)
    # Both violated properties fail at the same (shortest) depth; the fast trace shows its own.
    assert {a.violation.prop.name, b.violation.prop.name} <= {p.name for p in model.properties()}


def test_log_layer_verdict_and_witnesses() -> None:
    model = Raft(2, 2, 1)
    a = Explorer(model).run()
    b = FastExplorer(model).run()
    assert (a.status, a.stats.distinct_states, a.stats.transitions) == (b.status, b.stats.distinct_states, b.stats.transitions)
    assert set(b.witnesses) == set(a.witnesses)
    for name, trace in b.witnesses.items():
        assert trace is not None
        prop = next(p for p in model.properties() if p.name == name)
        replay(model, trace, prop)


def test_action_property_violation_replays() -> None:
    """An action property that reads the action and the network forces the unmemoised path; its trace replays."""
    from checker.model import action_property

    @action_property("NoVoteGranted", "no RequestVote request is ever handled")
    def no_vote(s: State, a: object, t: State) -> bool:
        return not (getattr(a, "name", "") == "HandleRPC" and len(t.messages) >= len(s.messages) and a.args[0].mtype == 0)  # type: ignore[attr-defined]

    model = Raft(3, 1, 0)
    a = Explorer(model, [no_vote]).run()
    b = FastExplorer(model, [no_vote]).run()
    assert a.violation is not None and b.violation is not None
    assert len(b.violation.trace) == len(a.violation.trace)
    replay(model, b.violation.trace, b.violation.prop)


@pytest.mark.parametrize("memoisable", [True, False])
def test_action_property_on_steps_that_change_nothing(memoisable: bool) -> None:
    """A step that changes nothing is checked too: the fast engine asks once per state while it may memoise."""
    from checker.model import action_property

    @action_property("EveryStepChanges", "every step changes the servers, the ghost (or, if not memoisable, the network)")
    def changes(s: State, a: object, t: State) -> bool:
        if memoisable:
            return s.servers != t.servers or s.committed != t.committed
        return s != t

    model = Raft(2, 1, 1)
    a = Explorer(model, [changes]).run()
    b = FastExplorer(model, [changes], store="compact").run()
    assert a.violation is not None and b.violation is not None
    assert [st.action for st in b.violation.trace] == [st.action for st in a.violation.trace]
    before, after = b.violation.trace[-2].state, b.violation.trace[-1].state
    assert before == after  # here the first such step in BFS order is a stutter, for both properties
    c = FastExplorer(model, [changes], store="compact", workers=2).run()
    assert c.violation is not None and [st.action for st in c.violation.trace] == [st.action for st in a.violation.trace]
    replay(model, b.violation.trace, b.violation.prop)


def test_per_message_invariant_is_checked_slot_by_slot() -> None:
    """MessageTermBound is an EachMessage: the fast engine's slot-by-slot check agrees with the property on every state
    reached by a variant that breaks it, and finds the same first violation as the readable engine."""
    model = tweaks.apply([tweaks.BUILTIN["term-not-persisted"]])(2, 1, 0)
    prop = next(p for p in model.properties() if p.name == "MessageTermBound")
    assert isinstance(prop.check, EachMessage)
    ex = FastExplorer(model, [])
    ex.run()
    chk = _StateCheck(prop, ex.fr)
    verdicts = [chk(s) for s in ex.states]
    assert verdicts == [prop.check(ex.fr.decode(s)) for s in ex.states]
    assert chk.slot_memo and True in verdicts and False in verdicts and not chk.memoisable
    a = Explorer(model, [prop]).run()
    for store in ("memory", "compact"):
        b = FastExplorer(model, [prop], store=store).run()
        assert b.violation is not None and a.violation is not None
        assert [st.action for st in b.violation.trace] == [st.action for st in a.violation.trace]


def test_state_cap_and_engine_choice() -> None:
    r = FastExplorer(Raft(3, 2, 0), max_states=100).run()
    assert r.status == "incomplete" and r.stats.distinct_states == 100
    assert pick_engine(Raft(3, 2, 0), "auto")[0] == "fast"
    assert pick_engine(Raft(3, 2, 0), "readable")[0] == "readable"

    class Bounded(Raft):
        def within_boundary(self, state: State) -> bool:
            return False

    assert pick_engine(Bounded(2, 1, 0), "auto")[0] == "readable"
    with pytest.raises(ValueError, match="cannot run"):
        pick_engine(Bounded(2, 1, 0), "fast")


def test_cap_equal_to_the_reachable_count_is_complete_on_both_engines() -> None:
    model = Raft(2, 1, 0)
    total = Explorer(model).run().stats.distinct_states
    for engine in (Explorer, FastExplorer):
        assert engine(model, max_states=total).run().status == "holds"
        capped = engine(model, max_states=total - 1).run()
        assert capped.status == "incomplete" and capped.stats.distinct_states == total - 1


LARGER = json.loads((Path(__file__).resolve().parent.parent / "models" / "manifest.json").read_text())["larger"]["configs"]


@pytest.mark.parametrize("c", LARGER, ids=lambda c: "s{servers}-t{max_term}-l{max_log}-sym{symmetry}".format(**c))
def test_larger_pinned_counts(c: dict[str, Any]) -> None:
    result = FastExplorer(Raft(c["servers"], c["max_term"], c["max_log"]), symmetry=c["symmetry"]).run()
    assert result.status == "holds" and not result.unsatisfied
    assert result.stats.distinct_states == c["distinct_states"]
