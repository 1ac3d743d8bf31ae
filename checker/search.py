"""The search driver: one breadth-first level loop for every engine.

An :class:`Expander` owns the visited set (a store numbering its states in
BFS order from 0, which is also the queue) and knows how to expand states;
the driver owns everything else: the levels, the batches of a level, the
properties' bookkeeping (:class:`Verdicts`), progress (``Reporter``), the
state cap, Ctrl-C, checkpoints at level ends, and the statistics.  The
readable engine (``checker/bfs.py``, a pure-Python expander) and the
compiled one (``checker/compiled.py``, numba) plug into it.

Soundness and determinism.  States are numbered in the order they are first
stored.  The initial states are stored first (level 0), and an expander
commits the successors of the states ``lo..hi-1`` it is given in BFS order:
state by state in index order, and each state's successors in the order the
model gives them, storing each successor not stored yet (its parent is the
state).  So level ``d + 1`` is exactly the index range ``[hi, size)`` after
level ``d``'s range ``[lo, hi)`` is expanded, batches only cut a level into
consecutive ranges, and the numbering, the parents, the counts and the
first violation are those of the textbook BFS whatever the batch size, the
number of threads or a checkpoint in between (a resumed search restores the
store, the tables that give stored values their meaning, and the counters,
and goes on with the next level).  Because a level is expanded completely
before the next one, the first violation of a property met lies at the
smallest depth where it exists, and its parent path is a shortest trace.
A search stopped by the cap or by Ctrl-C says INCOMPLETE, never HOLDS;
HOLDS needs an empty next level.

With ``keep_going`` (``check --continue``) a violation does not stop the
search: each property's first violation in BFS order is kept, and the
search stops once every property is decided (or the state space is done),
so each violated property's trace is the one a search for it alone finds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from checker import signals
from checker.model import Kind, Property
from checker.result import HOLDS, INCOMPLETE, Progress, Reporter, Result, Stats, peak_rss_bytes


class Capped(Exception):
    """Raised by an expander when a new state would exceed the state cap (``--max-states``)."""


class Verdicts:
    """The properties of one search and what is known of them: each violated property's first violation (state
    index and, for an ACTION property, the raw bad successor), each SOMETIMES property's first witness, and whether
    the search must stop (at the first violation, or with ``keep_going`` once every property is decided)."""

    def __init__(self, props: Sequence[Property[Any, Any]], keep_going: bool) -> None:
        self.props = list(props)
        self.keep_going = keep_going
        self.invariants = [p for p in self.props if p.kind is Kind.ALWAYS]
        self.action_props = [p for p in self.props if p.kind is Kind.ACTION]
        self.pending = {p.name: p for p in self.props if p.kind is Kind.SOMETIMES}
        self.witness: dict[str, int] = {}
        self.found: dict[str, tuple[Property[Any, Any], int, Any]] = {}
        self.stop = False

    @property
    def undecided(self) -> bool:
        return bool(self.invariants or self.action_props or self.pending)

    def violated(self, p: Property[Any, Any], idx: int, bad: Any = None) -> None:
        """Note ``p``'s first violation (at state ``idx``; ``bad``: an ACTION property's raw bad successor)."""
        self.found[p.name] = (p, idx, bad)
        if p in self.invariants:
            self.invariants.remove(p)
        if p in self.action_props:
            self.action_props.remove(p)
        self.stop = not self.keep_going or not self.undecided

    def witnessed(self, name: str, idx: int) -> None:
        """Note the first state (``idx``) where the SOMETIMES property ``name`` holds."""
        self.witness[name] = idx
        del self.pending[name]

    def visit(self, idx: int, holds: Callable[[Property[Any, Any]], bool]) -> None:
        """Check the new state ``idx``, where ``holds(p)`` says whether property ``p`` holds: witnesses first, then the
        invariants in order, until the search must stop."""
        for name in [n for n, p in self.pending.items() if holds(p)]:
            self.witnessed(name, idx)
        self.after_witnesses()
        if self.stop:
            return
        for p in list(self.invariants):
            if not holds(p):
                self.violated(p, idx)
                if self.stop:
                    return

    def transition(self, idx: int, bad: Any, holds: Callable[[Property[Any, Any]], bool]) -> None:
        """Check a transition from state ``idx`` to the raw successor ``bad`` against the undecided ACTION properties
        (``holds(p)``: whether ``p`` holds of it), until the search must stop."""
        for p in list(self.action_props):
            if not holds(p):
                self.violated(p, idx, bad)
                if self.stop:
                    return

    def paths(self, path_to: Callable[[int], list[Any]]) -> tuple[list[tuple[Property[Any, Any], list[Any], Any]],
                                                                    dict[str, list[Any] | None]]:
        """The violations and witnesses as :func:`checker.result.finish` takes them, each state index turned into its
        stored path by ``path_to``."""
        violations = [(p, path_to(idx), bad) for p, idx, bad in self.found.values()]
        witnesses = {name: path_to(self.witness[name]) if name in self.witness else None
                     for name in [*self.pending, *self.witness]}
        return violations, witnesses

    def after_witnesses(self) -> None:
        """With ``keep_going``: stop once every property is decided (called after a new state's witnesses)."""
        if self.keep_going and self.found and not self.undecided:
            self.stop = True


class Expander(Protocol):
    """What the driver needs of an engine.  ``size``: states stored; ``transitions``: transitions counted so far."""

    @property
    def size(self) -> int: ...

    @property
    def transitions(self) -> int: ...

    def start(self, verdicts: Verdicts) -> None:
        """Store the initial states (raise :class:`Capped` past the cap) and check them."""

    def expand(self, lo: int, hi: int, verdicts: Verdicts) -> None:
        """Expand the stored states ``lo..hi-1`` (consecutive, of one level) and commit their successors in BFS order,
        telling ``verdicts`` what they find; return early once ``verdicts.stop``; raise :class:`Capped` at the cap."""

    def level_end(self, lo: int) -> None:
        """The states below ``lo`` are all expanded (a store may drop them from its queue)."""

    def fill_stats(self, stats: Stats) -> None:
        """Counts, action counts and store figures into ``stats``."""

    def result(self, result: Result[Any, Any], verdicts: Verdicts) -> Result[Any, Any]:
        """``result`` with the concrete traces of ``verdicts``' violations and witnesses."""


@dataclass
class Position:
    """Where a search is at a level end: the level ``[lo, hi)`` to expand next, its depth, the depth reached."""

    lo: int
    hi: int
    depth: int
    stats_depth: int
    elapsed: float = 0.0


class Checkpointer(Protocol):
    """Saves a search at level ends (``--checkpoint``) and gives the position of a resumed one."""

    def resume(self, verdicts: Verdicts) -> Position | None:
        """The position of the saved search (its store, tables and verdicts restored), or None to start afresh."""

    def due(self) -> bool:
        """Whether a save is due now."""

    def save(self, pos: Position, verdicts: Verdicts) -> None: ...


def search(expander: Expander, verdicts: Verdicts, *, batch: int, max_states: int | None = None,
           progress: Callable[[Progress], None] | None = None, progress_interval: float = 1.0,
           checkpointer: Checkpointer | None = None) -> Result[Any, Any]:
    """Breadth-first search by ``expander``, level by level, in batches of at most ``batch`` states."""
    stats = Stats()
    start = time.perf_counter()
    report = Reporter(progress, progress_interval, start)
    status, reason = HOLDS, None
    lo = hi = depth = 0
    signals.unsettle()  # an interrupt noted while an earlier search was reported stops the command here
    try:
        pos = checkpointer.resume(verdicts) if checkpointer is not None else None
        if pos is not None:
            lo, hi, depth, stats.depth = pos.lo, pos.hi, pos.depth, pos.stats_depth
            start -= pos.elapsed
            report.start = report.last = start
        else:
            expander.start(verdicts)
            hi = expander.size
        while lo < hi and not verdicts.stop:
            x = lo
            while x < hi:
                b1 = min(hi, x + batch)
                try:
                    expander.expand(x, b1, verdicts)
                finally:
                    if expander.size > hi:
                        stats.depth = depth + 1
                if verdicts.stop:
                    break
                x = b1
                report(expander.size, expander.transitions, depth + 1, hi - x + expander.size - hi)
            if verdicts.stop:
                break
            lo, hi = hi, expander.size
            depth += 1
            expander.level_end(lo)
            if checkpointer is not None and lo < hi and checkpointer.due():
                checkpointer.save(Position(lo, hi, depth, stats.depth, time.perf_counter() - start), verdicts)
    except Capped:
        status, reason = INCOMPLETE, f"state cap reached (--max-states {max_states})"
    except KeyboardInterrupt:
        status, reason = INCOMPLETE, "interrupted"
    signals.settle()  # the outcome is known: a late interrupt no longer loses its trace (checker.signals)
    expander.fill_stats(stats)
    stats.wall_seconds = time.perf_counter() - start
    stats.peak_rss = peak_rss_bytes()
    result: Result[Any, Any] = Result(status, stats, incomplete_reason=reason, checked=list(verdicts.props),
                                      keep_going=verdicts.keep_going)
    return expander.result(result, verdicts)
