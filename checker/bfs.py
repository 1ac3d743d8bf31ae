"""Breadth-first explicit-state exploration with optional symmetry reduction: the readable reference engine.

The explorer stores one representative per symmetry orbit (or every state when
symmetry is off), with a parent link per state.  It is a pure-Python expander
of the search driver (:mod:`checker.search`), which runs the levels, the
properties' bookkeeping, the state cap, progress and Ctrl-C for every engine:
because the search goes level by level, the first violation it meets lies at
the smallest depth at which any violation exists, so the trace it reports is a
shortest one.

Traces are rebuilt in concrete form by :mod:`checker.trace`: the stored path is
a path of representatives, and each step is re-found as a real transition of
the model from the concrete predecessor.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from checker.model import Model, Property
from checker.result import HOLDS as HOLDS
from checker.result import INCOMPLETE as INCOMPLETE
from checker.result import VIOLATED as VIOLATED
from checker.result import Progress as Progress
from checker.result import Reporter as Reporter
from checker.result import Result as Result
from checker.result import Stats as Stats
from checker.result import Violation as Violation
from checker.result import action_name as action_name
from checker.result import finish as finish
from checker.result import parent_path as parent_path
from checker.result import peak_rss_bytes as peak_rss_bytes
from checker.search import Capped, Verdicts, search

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)

BATCH = 256
"""States the driver hands the readable expander at once (progress reports come between batches)."""


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
        on_state: Callable[[int], None] | None = None,
        on_transition: Callable[[int, A, S, int], None] | None = None,
    ) -> None:
        self.model = model
        # Observers (check graph): each state when stored (by index), each transition (source index, action, raw successor,
        # index of the successor's stored form) after its successor is stored.
        self.on_state, self.on_transition = on_state, on_transition
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
        self.stats = Stats()  # transitions and action counts (the driver fills in the rest)

    def canon(self, state: S) -> S:
        return self.model.representative(state) if self.symmetry else state

    def _add(self, state: S, parent: int) -> int | None:
        """Store ``state`` if new; return its index, or None if already seen.

        Raises :class:`~checker.search.Capped` when a new state would exceed ``max_states``: a
        search whose reachable states all fit under the cap is complete.
        """
        if state in self.index:
            return None
        idx = len(self.states)
        if self.max_states is not None and idx >= self.max_states:
            raise Capped()
        self.index[state] = idx
        self.states.append(state)
        self.parent.append(parent)
        if self.on_state is not None:
            self.on_state(idx)
        return idx

    def path_to(self, idx: int) -> list[S]:
        """The stored (representative) states from an initial state to ``idx``."""
        return parent_path(self.states, self.parent, idx)

    def run(self) -> Result[S, A]:
        """The search, on the driver (:func:`checker.search.search`)."""
        return search(self, Verdicts(self.props, self.keep_going), batch=BATCH, max_states=self.max_states,
                      progress=self.progress, progress_interval=self.progress_interval)

    # ------------------------------------------------------------------ the driver's Expander interface

    @property
    def size(self) -> int:
        return len(self.states)

    @property
    def transitions(self) -> int:
        return self.stats.transitions

    def _visit(self, idx: int, v: Verdicts) -> None:
        """Check the new state ``idx``: witnesses first, then invariants in order."""
        s = self.states[idx]
        v.visit(idx, lambda p: bool(p.check(s)))

    def start(self, verdicts: Verdicts) -> None:
        for s0 in self.model.init_states():
            idx = self._add(self.canon(s0), -1)
            if idx is not None and not verdicts.stop:
                self._visit(idx, verdicts)

    def expand(self, lo: int, hi: int, verdicts: Verdicts) -> None:
        model, stats, v = self.model, self.stats, verdicts
        for idx in range(lo, hi):
            s = self.states[idx]
            if not model.within_boundary(s):
                continue
            for a in model.actions(s):
                t = model.next_state(s, a)
                if t is None:
                    continue
                stats.transitions += 1
                stats.action_counts[action_name(a)] += 1
                v.transition(idx, t, lambda p: bool(p.check(s, a, t)))  # noqa: B023  (called here, at once)
                if v.stop:
                    return
                c = self.canon(t)
                new = self._add(c, idx)
                if self.on_transition is not None:
                    self.on_transition(idx, a, t, self.index[c])
                if new is not None:
                    self._visit(new, v)
                    if v.stop:
                        return

    def level_end(self, lo: int) -> None:
        pass

    def fill_stats(self, stats: Stats) -> None:
        stats.transitions = self.stats.transitions
        stats.action_counts = self.stats.action_counts
        stats.distinct_states = len(self.states)

    def result(self, result: Result[Any, Any], verdicts: Verdicts) -> Result[S, A]:
        return finish(result, self.model, self.canon, *verdicts.paths(self.path_to))


