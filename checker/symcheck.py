"""Does a model treat its servers alike?  A quick probe, run before a symmetric search of a tweak file.

The symmetry reduction stores one state per orbit under server renaming; it
is sound only if renaming maps transitions to transitions: for every state s
and renaming p, the successors of p(s) are the renamed successors of s.  A
tweak file that singles out a server by its number (``if i == 0``) breaks
this, and a symmetric search of it could miss states (a false "holds") or
find a path of representatives that no execution follows (a trace that does
not replay).  So before such a search, the first states of the unreduced
search are checked against every adjacent transposition of servers (these
generate all renamings).  The probe can miss an asymmetry that only shows
deeper; the replay of every trace is the second line of defence.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

PROBE_STATES = 150


def asymmetry(model: Any, limit: int = PROBE_STATES) -> str | None:
    """A line describing a renaming that does not map transitions to transitions, or None if none was seen in the
    first ``limit`` states (breadth first)."""
    n = model.n
    if n < 2:
        return None
    swaps = []
    for k in range(n - 1):
        p = list(range(n))
        p[k], p[k + 1] = k + 1, k
        swaps.append(p)

    def successors(s: Hashable) -> set[Hashable]:
        out = set()
        for a in model.actions(s):
            t = model.next_state(s, a)
            if t is not None:
                out.add(t)
        return out

    seen: set[Hashable] = set()
    queue: deque[Hashable] = deque()
    for s0 in model.init_states():
        if s0 not in seen:
            seen.add(s0)
            queue.append(s0)
    while queue and len(seen) <= limit:
        s = queue.popleft()
        succ = successors(s)
        for p in swaps:
            renamed = {model.permute(t, p) for t in succ}
            if successors(model.permute(s, p)) != renamed:
                swapped = [i for i in range(n) if p[i] != i]
                return (f"swapping S{swapped[0] + 1} and S{swapped[1] + 1} changes what can happen next, in one of the first "
                        f"{len(seen)} states of the search")
        for t in succ:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return None
