"""Breadth-first explicit-state exploration with optional symmetry reduction.

The explorer stores one representative per symmetry orbit (or every state when
symmetry is off), with a parent link per state.  Because the search goes level
by level, the first violation it meets lies at the smallest depth at which any
violation exists, so the trace it reports is a shortest one.

Traces are rebuilt in concrete form by :mod:`checker.trace`: the stored path is
a path of representatives, and each step is re-found as a real transition of
the model from the concrete predecessor.
"""

from __future__ import annotations

import resource
import time
from array import array
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from checker.model import Kind, Model, Property
from checker.trace import Step, concretize

S = TypeVar("S", bound=Hashable)
T = TypeVar("T")
A = TypeVar("A", bound=Hashable)

HOLDS = "holds"
VIOLATED = "violated"
INCOMPLETE = "incomplete"


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def action_name(action: Any) -> str:
    """The name an action is counted under: its ``name`` field, else its type."""
    return str(getattr(action, "name", type(action).__name__))


@dataclass
class Progress:
    """A snapshot handed to the progress callback."""

    states: int
    transitions: int
    depth: int
    queue: int
    elapsed: float
    rss: int


class Reporter:
    """Hands a :class:`Progress` to ``progress`` at most once every ``interval`` seconds (every engine's live progress)."""

    def __init__(self, progress: Callable[[Progress], None] | None, interval: float, start: float) -> None:
        self.progress, self.interval, self.start, self.last = progress, interval, start, start

    def __call__(self, states: int, transitions: int, depth: int, queue: int) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self.progress(Progress(states, transitions, depth, queue, now - self.start, peak_rss_bytes()))


@dataclass
class Stats:
    """Statistics of one search, complete or not."""

    distinct_states: int = 0
    transitions: int = 0
    depth: int = 0
    action_counts: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0
    peak_rss: int = 0
    store: str = "memory"  # the fast engine's visited-state store (checker/store.py)
    store_bytes: int = 0  # bytes held by a compact or fp store's arrays
    collision_probability: float = 0.0  # fp store: chance that a fingerprint collision skipped a state

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass
class Violation(Generic[S, A]):
    """A property that failed, with a shortest concrete trace to the failure.

    For an ACTION property the last step of ``trace`` is the bad transition.
    """

    prop: Property[S, A]
    trace: list[Step[S, A]]
    # How the trace was found when not by a complete breadth-first search (then it need not be a shortest one),
    # e.g. "Found by simulation (walk 3 of seed 7) in 80 steps, shrunk to 27 steps." (raft_check/simulate.py).
    found_by: str = ""


@dataclass
class Result(Generic[S, A]):
    status: str
    stats: Stats
    violation: Violation[S, A] | None = None
    # SOMETIMES properties: name -> witness trace, or None if never satisfied.
    witnesses: dict[str, list[Step[S, A]] | None] = field(default_factory=dict)
    incomplete_reason: str | None = None
    checked: list[Property[S, A]] = field(default_factory=list)
    # With ``keep_going`` (``check --continue``): every violated property's shortest trace, in the order of ``checked``;
    # ``violation`` is then the first of them found.  Without it, at most the one ``violation``.
    violations: list[Violation[S, A]] = field(default_factory=list)
    keep_going: bool = False

    @property
    def unsatisfied(self) -> list[str]:
        """SOMETIMES properties with no witness."""
        return [name for name, w in self.witnesses.items() if w is None]


class Explorer(Generic[S, A]):
    """Breadth-first search over a :class:`~checker.model.Model`.

    ``symmetry=True`` stores ``model.representative(s)`` instead of ``s``; the
    stored count is then the number of orbits, provided ``representative`` maps
    every member of an orbit to the same state.
    """

    def __init__(
        self,
        model: Model[S, A],
        properties: Sequence[Property[S, A]] | None = None,
        *,
        symmetry: bool = True,
        max_states: int | None = None,
        progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 1.0,
        keep_going: bool = False,
    ) -> None:
        self.model = model
        self.keep_going = keep_going  # go on past a violation until every property is decided (check --continue)
        self.props = list(model.properties() if properties is None else properties)
        self.symmetry = symmetry
        self.max_states = max_states
        self.progress = progress
        self.progress_interval = progress_interval
        # The state store: index <-> state, plus a parent index per state.
        self.index: dict[S, int] = {}
        self.states: list[S] = []
        self.parent = array("q")

    def canon(self, state: S) -> S:
        return self.model.representative(state) if self.symmetry else state

    def _add(self, state: S, parent: int) -> int | None:
        """Store ``state`` if new; return its index, or None if already seen.

        Raises ``_Capped`` when a new state would exceed ``max_states``: a
        search whose reachable states all fit under the cap is complete.
        """
        if state in self.index:
            return None
        idx = len(self.states)
        if self.max_states is not None and idx >= self.max_states:
            raise _Capped()
        self.index[state] = idx
        self.states.append(state)
        self.parent.append(parent)
        return idx

    def path_to(self, idx: int) -> list[S]:
        """The stored (representative) states from an initial state to ``idx``."""
        return parent_path(self.states, self.parent, idx)

    def run(self) -> Result[S, A]:
        model = self.model
        invariants = [p for p in self.props if p.kind is Kind.ALWAYS]
        action_props = [p for p in self.props if p.kind is Kind.ACTION]
        pending = {p.name: p for p in self.props if p.kind is Kind.SOMETIMES}
        witness_idx: dict[str, int] = {}
        stats = Stats()
        start = time.perf_counter()
        report = Reporter(self.progress, self.progress_interval, start)
        status = HOLDS
        reason: str | None = None
        # Each violated property's first violation: (property, state index, bad action, raw bad successor).
        found: dict[str, tuple[Property[S, A], int, A | None, S | None]] = {}
        stop = False

        def record(p: Property[S, A], idx: int, a: A | None, t: S | None) -> None:
            """Note p's first violation; stop the search unless ``keep_going`` and some property is still undecided."""
            nonlocal stop
            found[p.name] = (p, idx, a, t)
            if p in invariants:
                invariants.remove(p)
            if p in action_props:
                action_props.remove(p)
            stop = not self.keep_going or not (invariants or action_props or pending)

        def visit(idx: int) -> None:
            nonlocal stop
            s = self.states[idx]
            for name in [n for n, p in pending.items() if p.check(s)]:
                witness_idx[name] = idx
                del pending[name]
            if self.keep_going and found and not (invariants or action_props or pending):
                stop = True
            for p in list(invariants):
                if not p.check(s):
                    record(p, idx, None, None)
                    if stop:
                        return

        frontier: list[int] = []
        try:
            for s0 in model.init_states():
                idx = self._add(self.canon(s0), -1)
                if idx is None:
                    continue
                frontier.append(idx)
                if not stop:
                    visit(idx)
            depth = 0
            while frontier and not stop:
                next_frontier: list[int] = []
                for pos, idx in enumerate(frontier):
                    s = self.states[idx]
                    if not model.within_boundary(s):
                        continue
                    for a in model.actions(s):
                        t = model.next_state(s, a)
                        if t is None:
                            continue
                        stats.transitions += 1
                        stats.action_counts[action_name(a)] += 1
                        for p in list(action_props):
                            if not p.check(s, a, t):
                                record(p, idx, a, t)
                                if stop:
                                    break
                        if stop:
                            break
                        new = self._add(self.canon(t), idx)
                        if new is None:
                            continue
                        next_frontier.append(new)
                        stats.depth = depth + 1
                        visit(new)
                        if stop:
                            break
                    if stop:
                        break
                    if (pos & 255) == 0:
                        report(len(self.states), stats.transitions, depth + 1, len(frontier) - pos + len(next_frontier))
                frontier = next_frontier
                depth += 1
        except _Capped:
            status, reason = INCOMPLETE, f"state cap reached (--max-states {self.max_states})"
        except KeyboardInterrupt:
            status, reason = INCOMPLETE, "interrupted"

        stats.distinct_states = len(self.states)
        stats.wall_seconds = time.perf_counter() - start
        stats.peak_rss = peak_rss_bytes()
        result: Result[S, A] = Result(status, stats, incomplete_reason=reason, checked=list(self.props), keep_going=self.keep_going)
        violations = [(p, self.path_to(idx), t if bad_action is not None else None) for p, idx, bad_action, t in found.values()]
        witnesses = {name: self.path_to(witness_idx[name]) if name in witness_idx else None for name in [*pending, *witness_idx]}
        return finish(result, model, self.canon, violations, witnesses)


def parent_path(states: Sequence[T], parent: array[int], idx: int) -> list[T]:
    """The stored states from an initial state (parent -1) to state ``idx``."""
    path = [states[idx]]
    while parent[idx] >= 0:
        idx = parent[idx]
        path.append(states[idx])
    path.reverse()
    return path


def finish(
    result: Result[S, A],
    model: Model[S, A],
    canon: Callable[[S], S],
    violations: Sequence[tuple[Property[S, A], list[S], S | None]],
    witnesses: dict[str, list[S] | None],
) -> Result[S, A]:
    """Attach concrete traces to ``result``: each violation's (a path of representatives, plus the raw bad
    successor for an ACTION property, in the order found) and each SOMETIMES witness's.  Shared by both engines.

    ``result.violation`` is the first violation found; ``result.violations`` lists them all in property order.
    """
    order = {p.name: k for k, p in enumerate(result.checked)}
    for k, (p, bad_path, bad_successor) in enumerate(violations):
        final = (p, bad_successor) if bad_successor is not None else None
        v = Violation(p, concretize(model, bad_path, canon, final=final))
        if k == 0:
            result.status = VIOLATED
            result.violation = v
        result.violations.append(v)
    result.violations.sort(key=lambda v: order.get(v.prop.name, len(order)))
    for name, path in witnesses.items():
        result.witnesses[name] = concretize(model, path, canon) if path is not None else None
    return result


class _Capped(Exception):
    """Raised inside the search loop when --max-states is reached."""
