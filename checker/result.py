"""What a search returns, shared by every engine: statuses, progress snapshots, statistics, violations, results.

(Split from ``checker/bfs.py`` so that the search driver, ``checker/search.py``, and the engines on it share them
without an import circle; ``checker.bfs`` re-exports every name.)
"""

from __future__ import annotations

import resource
import time
from array import array
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from checker.model import Model, Property
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
    store: str = "memory"  # the compiled engine's visited-state store (checker/pins_store.py)
    store_bytes: int = 0  # bytes held by a compact or fp store's arrays
    collision_probability: float = 0.0  # fp store: chance that a fingerprint collision skipped a state
    # A distributed search (checker/distributed.py): its actors, the sum of their processes' peak RSS, the largest one's,
    # and the Ray nodes they ran on (peak_rss is then the driver's own); 0 where not distributed or not known.
    actors: int = 0
    actors_peak_rss: int = 0
    actor_peak_rss_max: int = 0
    actor_nodes: int = 0

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

