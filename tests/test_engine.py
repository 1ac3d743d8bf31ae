"""The engine (checker.bfs, checker.trace) on small toy models defined here, not on Raft.

Expected values come from an independent source: networkx shortest paths on the
toy's own graph, closed-form orbit counts (necklaces, multisets), or the toy's
definition itself.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import networkx as nx
import pytest

from checker.bfs import HOLDS, INCOMPLETE, VIOLATED, Explorer
from checker.model import Kind, Property, action_property, always, sometimes
from checker.trace import ReplayError, Step, replay
from models.raft import Raft


class GraphModel:
    """A model given by an explicit directed graph; the action ("go", v) moves to v."""

    def __init__(
        self,
        edges: Iterable[tuple[Hashable, Hashable]],
        init: Sequence[Hashable] = (0,),
        props: Sequence[Property[Any, Any]] = (),
        boundary: Callable[[Any], bool] | None = None,
    ) -> None:
        self.succ: dict[Hashable, list[Hashable]] = {}
        for u, v in edges:
            self.succ.setdefault(u, []).append(v)
        self.init = list(init)
        self.props = list(props)
        self.boundary = boundary

    def init_states(self) -> list[Hashable]:
        return list(self.init)

    def actions(self, s: Hashable) -> list[tuple[str, Hashable]]:
        return [("go", v) for v in self.succ.get(s, [])]

    def next_state(self, s: Hashable, a: tuple[str, Hashable]) -> Hashable | None:
        return a[1] if a[1] in self.succ.get(s, []) else None

    def properties(self) -> list[Property[Any, Any]]:
        return self.props

    def within_boundary(self, s: Hashable) -> bool:
        return True if self.boundary is None else self.boundary(s)

    def representative(self, s: Hashable) -> Hashable:
        return s


class Counter:
    """An unbounded counter: ("inc",) adds one; ("reset",) from 3 goes back to 0."""

    def __init__(self, props: Sequence[Property[Any, Any]] = (), bound: int | None = None, resets: bool = False) -> None:
        self.props = list(props)
        self.bound = bound
        self.resets = resets

    def init_states(self) -> list[int]:
        return [0]

    def actions(self, s: int) -> list[tuple[str]]:
        acts = [("inc",)]
        if self.resets and s in (3, 4):
            acts.append(("reset",))
        return acts

    def next_state(self, s: int, a: tuple[str]) -> int | None:
        if a == ("inc",):
            return s + 1
        if a == ("reset",) and self.resets and s in (3, 4):
            return 0
        return None

    def properties(self) -> list[Property[Any, Any]]:
        return self.props

    def within_boundary(self, s: int) -> bool:
        return self.bound is None or s < self.bound

    def representative(self, s: int) -> int:
        return s


class Ring:
    """k bits on a ring, any bit may flip; the symmetry is rotation of the ring."""

    def __init__(self, k: int, props: Sequence[Property[Any, Any]] = ()) -> None:
        self.k = k
        self.props = list(props)

    def init_states(self) -> list[tuple[int, ...]]:
        return [(0,) * self.k]

    def actions(self, s: tuple[int, ...]) -> list[tuple[str, int]]:
        return [("flip", i) for i in range(self.k)]

    def next_state(self, s: tuple[int, ...], a: tuple[str, int]) -> tuple[int, ...]:
        i = a[1]
        return (*s[:i], 1 - s[i], *s[i + 1 :])

    def properties(self) -> list[Property[Any, Any]]:
        return self.props

    def within_boundary(self, s: tuple[int, ...]) -> bool:
        return True

    def representative(self, s: tuple[int, ...]) -> tuple[int, ...]:
        return min(s[r:] + s[:r] for r in range(self.k))


class Counters:
    """n interchangeable counters 0..m, any of which may be incremented; the symmetry permutes counters."""

    def __init__(self, n: int, m: int) -> None:
        self.n, self.m = n, m

    def init_states(self) -> list[tuple[int, ...]]:
        return [(0,) * self.n]

    def actions(self, s: tuple[int, ...]) -> list[tuple[str, int]]:
        return [("inc", i) for i in range(self.n)]

    def next_state(self, s: tuple[int, ...], a: tuple[str, int]) -> tuple[int, ...] | None:
        i = a[1]
        if s[i] >= self.m:
            return None
        return (*s[:i], s[i] + 1, *s[i + 1 :])

    def properties(self) -> list[Property[Any, Any]]:
        return []

    def within_boundary(self, s: tuple[int, ...]) -> bool:
        return True

    def representative(self, s: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(s))


def depths(ex: Explorer[Any, Any]) -> list[int]:
    return [len(ex.path_to(i)) - 1 for i in range(len(ex.states))]


# ------------------------------------------------------------------ BFS order


@pytest.mark.parametrize("seed", range(6))
def test_bfs_depths_are_networkx_shortest_path_lengths(seed: int) -> None:
    g = nx.gnp_random_graph(40, 0.06, seed=seed, directed=True)
    ex: Explorer[Any, Any] = Explorer(GraphModel(g.edges()), [], symmetry=False)
    result = ex.run()
    assert result.status == HOLDS
    dist = nx.single_source_shortest_path_length(g, 0)
    assert set(ex.states) == set(dist)
    assert result.stats.distinct_states == len(dist)
    d = depths(ex)
    # discovered level by level: stored in order of non-decreasing depth, each at its BFS distance
    assert d == sorted(d)
    assert d == [dist[s] for s in ex.states]
    assert result.stats.depth == max(dist.values())
    # every reachable state is expanded once: every edge out of a reachable node is a transition
    assert result.stats.transitions == sum(g.out_degree(s) for s in dist)
    # each stored parent link is a real edge
    for i, s in enumerate(ex.states):
        if ex.parent[i] >= 0:
            assert g.has_edge(ex.states[ex.parent[i]], s)


def test_bfs_depth_equals_shortest_path_on_raft_state_graph() -> None:
    model = Raft(2, 2, 0)
    ex: Explorer[Any, Any] = Explorer(model, [], symmetry=False)
    ex.run()
    g = nx.DiGraph()
    for s in ex.states:
        for a in model.actions(s):
            t = model.next_state(s, a)
            if t is not None:
                g.add_edge(s, t)
    init = model.init_states()[0]
    dist = nx.single_source_shortest_path_length(g, init)
    assert set(dist) == set(ex.states)  # the graph built here is closed under successors
    assert depths(ex) == [dist[s] for s in ex.states]
    assert depths(ex) == sorted(depths(ex))


# ------------------------------------------------------------ shortest traces


def test_trace_to_bad_state_is_the_shortest_path() -> None:
    @always("NotBad", "state 9 is never reached")
    def not_bad(s: Any) -> bool:
        return s != 9

    # the long path 0-1-2-3-9 comes first in action order; the short one is 0-4-9
    edges = [(0, 1), (1, 2), (2, 3), (3, 9), (0, 4), (4, 9)]
    model = GraphModel(edges, props=[not_bad])
    result = Explorer(model).run()
    assert result.status == VIOLATED
    assert result.violation is not None
    assert result.violation.prop is not_bad
    assert [st.state for st in result.violation.trace] == [0, 4, 9]
    assert [st.action for st in result.violation.trace] == [None, ("go", 4), ("go", 9)]
    replay(model, result.violation.trace, not_bad)


def test_violating_initial_state_gives_a_zero_step_trace() -> None:
    @always("Positive", "state is positive")
    def positive(s: Any) -> bool:
        return s > 0

    model = GraphModel([(1, 0)], init=(1, 0), props=[positive])
    result = Explorer(model).run()
    assert result.status == VIOLATED and result.violation is not None
    assert [st.state for st in result.violation.trace] == [0]


# ------------------------------------------------------------------ symmetry


def necklaces(k: int) -> int:
    """Binary necklaces of length k (orbits of rotation), by Burnside's lemma."""
    phi = [sum(1 for x in range(1, d + 1) if math.gcd(x, d) == 1) for d in range(k + 1)]
    return sum(phi[d] * 2 ** (k // d) for d in range(1, k + 1) if k % d == 0) // k


def rotation_orbits_by_graph(k: int) -> int:
    """Orbits of rotation as connected components of 'is a rotation of' over all 2^k words."""
    g = nx.Graph()
    for w in itertools.product((0, 1), repeat=k):
        g.add_edge(w, w[1:] + w[:1])
    return nx.number_connected_components(g)


@pytest.mark.parametrize("k", [3, 4, 5, 6, 7, 8])
def test_ring_orbit_count(k: int) -> None:
    expected = necklaces(k)
    assert expected == rotation_orbits_by_graph(k)
    assert Explorer(Ring(k), []).run().stats.distinct_states == expected
    assert Explorer(Ring(k), [], symmetry=False).run().stats.distinct_states == 2**k


@pytest.mark.parametrize(("n", "m"), [(2, 3), (3, 2), (4, 3), (5, 1)])
def test_counter_multiset_orbit_count(n: int, m: int) -> None:
    # multisets of size n over m+1 values: C(m+n, n)
    assert Explorer(Counters(n, m), []).run().stats.distinct_states == math.comb(m + n, n)
    assert Explorer(Counters(n, m), [], symmetry=False).run().stats.distinct_states == (m + 1) ** n


def test_symmetric_trace_is_concrete() -> None:
    @always("NotAllOnes", "some bit is 0")
    def not_all_ones(s: Any) -> bool:
        return 0 in s

    model = Ring(5, [not_all_ones])
    result = Explorer(model).run()
    assert result.status == VIOLATED and result.violation is not None
    trace = result.violation.trace
    assert len(trace) - 1 == 5  # each bit must flip once
    replay(model, trace, not_all_ones)  # a real execution, not a path of representatives


# ---------------------------------------------------------------- incomplete


def test_state_cap_gives_incomplete_never_holds() -> None:
    @always("Small", "below 1000")
    def small(s: Any) -> bool:
        return s < 1000

    result = Explorer(Counter([small]), max_states=50).run()
    assert result.status == INCOMPLETE
    assert result.status != HOLDS
    assert result.violation is None
    assert result.stats.distinct_states == 50
    assert result.incomplete_reason is not None and "50" in result.incomplete_reason


def test_cap_equal_to_the_reachable_count_is_complete() -> None:
    # A chain 0 -> 1 -> ... -> 9: exactly 10 states.  A cap of 10 lets the search finish; 9 does not.
    chain = [(k, k + 1) for k in range(9)]
    assert Explorer(GraphModel(chain), max_states=10).run().status == HOLDS
    capped = Explorer(GraphModel(chain), max_states=9).run()
    assert capped.status == INCOMPLETE and capped.stats.distinct_states == 9


def test_violation_within_the_cap_is_still_reported() -> None:
    @always("Small", "below 10")
    def small(s: Any) -> bool:
        return s < 10

    result = Explorer(Counter([small]), max_states=50).run()
    assert result.status == VIOLATED and result.violation is not None
    assert result.violation.trace[-1].state == 10
    assert len(result.violation.trace) == 11


def test_cap_with_unsatisfied_sometimes_is_incomplete() -> None:
    @sometimes("Huge", "reaches a million")
    def huge(s: Any) -> bool:
        return s == 10**6

    result = Explorer(Counter([huge]), max_states=20).run()
    assert result.status == INCOMPLETE


# -------------------------------------------------------- action properties


def test_action_property_trace_ends_in_the_bad_step() -> None:
    @action_property("NoDecrease", "the counter never goes down")
    def no_decrease(s: Any, a: Any, t: Any) -> bool:
        return t >= s

    model = Counter([no_decrease], bound=8, resets=True)
    result = Explorer(model).run()
    assert result.status == VIOLATED and result.violation is not None
    assert result.violation.prop.kind is Kind.ACTION
    trace = result.violation.trace
    # shortest: 0 -> 1 -> 2 -> 3 -reset-> 0; the bad step leads to an already-seen state
    assert [st.state for st in trace] == [0, 1, 2, 3, 0]
    assert trace[-1].action == ("reset",)
    assert not no_decrease.check(trace[-2].state, trace[-1].action, trace[-1].state)
    assert all(no_decrease.check(trace[k - 1].state, trace[k].action, trace[k].state) for k in range(1, len(trace) - 1))
    replay(model, trace, no_decrease)


# --------------------------------------------------------- SOMETIMES properties


def test_sometimes_witness_and_unsatisfied() -> None:
    @sometimes("ReachFour", "the counter reaches 4")
    def reach_four(s: Any) -> bool:
        return s == 4

    @sometimes("ReachHundred", "the counter reaches 100")
    def reach_hundred(s: Any) -> bool:
        return s == 100

    @always("Bounded", "the counter stays at most 6")
    def bounded(s: Any) -> bool:
        return s <= 6

    model = Counter([reach_four, reach_hundred, bounded], bound=6)
    result = Explorer(model).run()
    assert result.status == HOLDS  # the engine's status; the CLI turns unsatisfied into exit 1
    assert result.unsatisfied == ["ReachHundred"]
    assert result.witnesses["ReachHundred"] is None
    w = result.witnesses["ReachFour"]
    assert w is not None
    assert [st.state for st in w] == [0, 1, 2, 3, 4]
    replay(model, w, reach_four)


def test_sometimes_on_ring_with_symmetry_gives_concrete_witness() -> None:
    @sometimes("TwoAdjacent", "two adjacent ones at positions 2 and 3")
    def two_adjacent(s: Any) -> bool:
        return s.count(1) == 2 and any(s[i] == s[(i + 1) % len(s)] == 1 for i in range(len(s)))

    model = Ring(6, [two_adjacent])
    result = Explorer(model).run()
    w = result.witnesses["TwoAdjacent"]
    assert w is not None and len(w) == 3
    replay(model, w, two_adjacent)


# ------------------------------------------------------------ within_boundary


def test_states_outside_the_boundary_are_checked_but_not_expanded() -> None:
    ex: Explorer[Any, Any] = Explorer(Counter(bound=5), [])
    result = ex.run()
    assert result.status == HOLDS
    assert sorted(ex.states) == [0, 1, 2, 3, 4, 5]  # 5 is stored, 6 is never generated
    assert result.stats.transitions == 5

    @always("NotFive", "never 5")
    def not_five(s: Any) -> bool:
        return s != 5

    @always("NotSix", "never 6")
    def not_six(s: Any) -> bool:
        return s != 6

    assert Explorer(Counter([not_five], bound=5)).run().status == VIOLATED
    assert Explorer(Counter([not_six], bound=5)).run().status == HOLDS


# -------------------------------------------------------------------- replay


def test_replay_rejects_forged_traces() -> None:
    @always("Small", "below 3")
    def small(s: Any) -> bool:
        return s < 3

    model = Counter([small], resets=True)
    good = Explorer(model).run().violation
    assert good is not None
    trace = good.trace
    replay(model, trace, small)
    assert [st.state for st in trace] == [0, 1, 2, 3]

    forgeries = {
        "empty": [],
        "not initial": [Step(None, 1), Step(("inc",), 2), Step(("inc",), 3)],
        "action on first step": [Step(("inc",), 0), *trace[1:]],
        "skipped step": [trace[0], trace[1], trace[3]],
        "wrong successor": [trace[0], Step(("inc",), 2), Step(("inc",), 3)],
        "disabled action": [trace[0], Step(("reset",), 0), Step(("inc",), 1)],
        "unknown action": [trace[0], Step(("jump",), 3)],
    }
    for why, forged in forgeries.items():
        with pytest.raises(ReplayError):
            replay(model, forged)
        assert why  # (the forgery's name, shown in the traceback if replay accepts it)
    # a real execution that does not end in a violation
    with pytest.raises(ReplayError):
        replay(model, trace[:-1], small)
    replay(model, trace[:-1])  # but it is an execution


def test_replay_rejects_forged_raft_trace() -> None:
    from models import tweaks

    model = tweaks.apply([tweaks.BUILTIN["term-not-persisted"]])(3, 1, 0)
    prop = next(p for p in model.properties() if p.name == "MessageTermBound")
    result = Explorer(model, [prop]).run()
    assert result.violation is not None
    trace = result.violation.trace
    replay(model, trace, prop)
    # the same steps on the correct model are not an execution of it
    with pytest.raises(ReplayError):
        replay(Raft(3, 1, 0), trace, prop)
    # dropping the first step breaks it
    with pytest.raises(ReplayError):
        replay(model, [trace[0], *trace[2:]], prop)
