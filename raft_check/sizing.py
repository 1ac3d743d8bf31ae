"""How large a search will be, estimated from its bounds before it starts (``check`` warns, or refuses above a limit).

The estimate is a least-squares fit of ln(states) to 21 measured counts of
symmetric, reduced searches (``models/manifest.json``, ``README.md`` and
runs of ``check --json``: 2 to 5 servers, max-term 1 to 4, max-log 0 to 2),
linear in the features of :data:`FEATURES` for n servers, max-term T and
max-log L.  It is within a factor of 3 at every measured point, which is
enough to tell a search of seconds from one of years; far from them it is
an extrapolation.  Without symmetry a
search holds about n! times as many states, unreduced some 30 times as many.

Symmetry at many servers: the canonical form of a state tries every renaming
among servers that look alike (n! of them in the initial state).  Above
SYMMETRY_MAX_SERVERS servers that costs more per state than storing the
states it saves, so the search runs without symmetry, and says so: a
search of that size can only be explored in part (``--max-states``), and
without symmetry each state costs microseconds, not seconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

SYMMETRY_MAX_SERVERS = 7
"""Above this many servers the search runs without symmetry (see the module docstring)."""

HARD_LIMIT = 1e10
"""Estimated states above which a search is refused unless --force or --max-states: even the 20-byte fingerprint store
would need some 200 GB, and at 20,000 states a second it would take about six days."""

FEATURES = ("n T", "n", "T", "1", "L n T", "L n", "L", "L^2 n")
COEFFICIENTS = (2.293, -1.699, -3.363, 5.032, 0.600, 0.532, -2.749, 0.331)
MEASURED = {(2, 1, 0): 10, (2, 2, 0): 61, (2, 3, 0): 234, (2, 4, 0): 689, (3, 1, 0): 34, (3, 2, 0): 1333, (3, 3, 0): 36420,
            (3, 4, 0): 818577, (4, 1, 0): 67, (4, 2, 0): 14368, (5, 2, 0): 450804, (2, 1, 1): 21, (2, 2, 1): 345,
            (2, 2, 2): 1530, (2, 1, 2): 95, (3, 1, 1): 257, (3, 1, 2): 10324, (2, 3, 1): 3138, (4, 1, 1): 456,
            (3, 2, 1): 51242, (3, 3, 1): 7301672}
"""The counts the fit was made from (servers, max-term, max-log): tests/test_size.py checks the fit against them."""

READABLE_BYTES_PER_STATE = 1_000  # the readable engine (checker/bfs.py): a dict of State objects
READABLE_STATES_PER_SECOND = 2_000  # the readable engine on this kind of machine (3/3: 36,420 states in about 18 s)
COMPILED_BYTES_PER_STATE = {"memory": 180, "compact": 40, "fp": 30}
"""The compiled engine's whole-process bytes a stored state on large searches (bench/RESULTS.md: 182, 52 and 47 at
3/3/1, where the lazily filled tables still weigh; 37 for compact at 238 M states of Figure 8)."""
COMPILED_STATES_PER_SECOND = 150_000  # both cores, bench/RESULTS.md (3/3/1: 165,428)


@dataclass(frozen=True)
class Estimate:
    states: float
    bytes: float
    seconds: float

    def text(self) -> str:
        return (f"about {_magnitude(self.states)} states, {_size(self.bytes)} of memory, {_duration(self.seconds)} "
                "(a rough estimate from the bounds)")


def estimate(n: int, max_term: int, max_log: int, *, symmetry: bool, reduced: bool, store: str,
             engine: str = "compiled") -> Estimate:
    """The estimated size of a complete search at these bounds (memory and time: of ``engine``: the compiled engine's
    figures for ``compiled``, the readable engine's for any other)."""
    x = (n * max_term, n, max_term, 1, max_log * n * max_term, max_log * n, max_log, max_log * max_log * n)
    ln = sum(c * f for c, f in zip(COEFFICIENTS, x, strict=True))
    if not symmetry:
        ln += math.lgamma(n + 1)
    if not reduced:
        ln += math.log(30)
    states = math.exp(min(ln, 700.0))
    if engine == "compiled":
        return Estimate(states, states * COMPILED_BYTES_PER_STATE.get(store, 180), states / COMPILED_STATES_PER_SECOND)
    return Estimate(states, states * READABLE_BYTES_PER_STATE, states / READABLE_STATES_PER_SECOND)


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _magnitude(x: float) -> str:
    if x < 1e6:
        return f"{x:,.0f}"
    if x < 1e9:
        return f"{x / 1e6:,.0f} million"
    return f"10^{math.log10(x):.0f}"


def _size(b: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if b >= scale:
            v = b / scale
            return f"{v:,.0f} {unit}" if v < 1e6 else f"10^{math.log10(b):.0f} bytes"
    return f"{b / 1e3:,.0f} kB"


def _duration(s: float) -> str:
    for unit, scale in (("years", 3.15e7), ("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if s >= 2 * scale:
            v = s / scale
            return f"{v:,.0f} {unit}" if v < 1e6 else f"10^{math.log10(v):.0f} {unit}"
    return f"{s:,.0f} seconds"


def advice(est: Estimate, store: str, capped: bool, force: bool) -> tuple[str | None, str | None]:
    """(refusal, warning) for a search of this estimated size: at most one of them is set."""
    if capped:
        return None, None
    if est.states > HARD_LIMIT and not force:
        return (f"this search is too large to finish: {est.text()}. Lower the bounds, explore part of it with "
                "--max-states K, or run it anyway with --force"), None
    ram = physical_memory()
    if ram and est.bytes > ram:
        better = " (--store compact or fp need less)" if store == "memory" else ""
        return None, (f"warning: this search may not fit in this machine's {_size(ram)} of memory{better}: {est.text()}")
    if est.seconds > 86400:
        return None, f"warning: this search may take days: {est.text()}"
    return None, None
