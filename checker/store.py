"""Compact visited-state stores for the fast engine: ``--store compact`` and ``--store fp``.

The default store (``--store memory``) is a Python dict from state tuple to
index: about 250 bytes per state.  :class:`RunStore` keeps the visited set as
a few *sorted runs* of 64-bit fingerprints (numpy arrays), merged like a
binary counter as they grow, and looked up a batch at a time with
``searchsorted``:

- ``exact=True`` (``--store compact``) also keeps each state as a row of
  uint32 codes beside its fingerprint and compares rows whenever fingerprints
  agree, so the search is exactly the memory store's: same states, same
  counts, same verdict.  About 8 + 4·width bytes per state (48 for 3 servers).
- ``exact=False`` (``--store fp``) keeps only the fingerprints: 8 bytes per
  state, as TLC does.  Two different states with the same fingerprint would
  make the search skip the second one, so "holds" is then qualified by the
  probability of such a collision, about N²/2^65 for N states
  (:func:`collision_probability`).

A run never grows beyond :data:`MAX_RUN` entries, so the transient copy a
merge makes stays small next to the store.

Rows of runs that can never be merged again are *spilled*: written to a file
(in the temporary directory) that is mapped read-only and unlinked at once.
They are still looked up as arrays, but their pages are file pages the kernel
may evict and read back, not anonymous memory: a search whose rows outgrow
RAM slows down instead of being killed.  Only the fingerprints (8 bytes a
state) must stay resident.  :class:`Spill` does the same for a BFS level.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from numpy.typing import NDArray

MAX_RUN = 1 << 24
"""Runs are merged only up to this many entries (then a new run starts)."""

Fps = NDArray[np.int64]
Rows = NDArray[np.uint32]


_MIX1, _MIX2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The splitmix64 finaliser: a bijection of 64-bit words that spreads every input bit over the output."""
    h = (h ^ (h >> np.uint64(30))) * _MIX1
    h = (h ^ (h >> np.uint64(27))) * _MIX2
    return h ^ (h >> np.uint64(31))


def fingerprints(rows: Rows) -> Fps:
    """64-bit fingerprints of a batch of states (rows of uint32 codes), computed column by column in numpy."""
    h = np.full(len(rows), _GOLDEN, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in rows.T:
            h = _mix(h + col.astype(np.uint64) + _GOLDEN)
    return h.view(np.int64)


class Spill:
    """Rows written to an unlinked temporary file as they come, then mapped read-only as one array.

    The file disappears with the last mapping of it; until then its pages
    count as page cache, which the kernel can write back and drop.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.n = 0
        fd, name = tempfile.mkstemp(prefix="raft-check-", suffix=".rows")
        self.file = os.fdopen(fd, "w+b")
        os.unlink(name)  # the open file (and, later, the mapping) keeps it

    def add(self, rows: Rows) -> None:
        self.file.write(np.ascontiguousarray(rows, dtype=np.uint32).tobytes())
        self.n += len(rows)

    def close(self) -> Rows:
        """All the rows added, as one array; the spill takes no more."""
        self.file.flush()
        try:
            if self.n == 0:
                return np.zeros((0, self.width), dtype=np.uint32)
            return np.memmap(self.file, dtype=np.uint32, mode="r", shape=(self.n, self.width))
        finally:
            self.file.close()


def spill(rows: Rows) -> Rows:
    """``rows`` as a read-only array mapped from an unlinked temporary file (see :class:`Spill`)."""
    out = Spill(rows.shape[1])
    out.add(rows)
    return out.close()


def collision_probability(n: int) -> float:
    """The chance that some two of ``n`` distinct states share a 64-bit fingerprint, for a uniform hash: n(n-1)/2^65."""
    return n * (n - 1) / 2.0**65


class RunStore:
    """A set of states as sorted runs of fingerprints (and, if ``exact``, of rows)."""

    def __init__(self, exact: bool, width: int) -> None:
        self.exact = exact
        self.width = width
        self.fps: list[Fps] = []
        self.rows: list[Rows] = []
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.fps) + sum(a.nbytes for a in self.rows)

    def new_mask(self, fps: Fps, rows: Rows) -> NDArray[np.bool_]:
        """Which of a batch of states (distinct from each other) are not in the store yet.

        The batch is looked up in fingerprint order: consecutive binary
        searches then touch nearby parts of a run, several times faster on
        runs of millions than searching in arrival order.  Runs are searched
        newest first, each for the states no newer run holds: a breadth-first
        search mostly meets again the states of the last levels, so the old,
        large runs are searched for few.
        """
        order = np.argsort(fps, kind="stable")
        fps, rows = fps[order], rows[order]
        new = np.ones(len(fps), dtype=np.bool_)
        left = np.arange(len(fps))  # positions (in fingerprint order) not found yet
        for r in range(len(self.fps) - 1, -1, -1):
            if not len(left):
                break
            run, want = self.fps[r], fps[left]
            lo = np.searchsorted(run, want)
            inside = lo < len(run)
            hit = np.zeros(len(want), dtype=np.bool_)
            hit[inside] = run[lo[inside]] == want[inside]
            if self.exact:
                idx = np.flatnonzero(hit)
                if len(idx):
                    rrows = self.rows[r]
                    same = (rrows[lo[idx]] == rows[left[idx]]).all(axis=1)
                    for c in idx[~same]:  # equal fingerprints, different rows: look at the rest of the equal range
                        k = int(lo[c]) + 1
                        while k < len(run) and run[k] == want[c] and not (rrows[k] == rows[left[c]]).all():
                            k += 1
                        hit[c] = k < len(run) and bool(run[k] == want[c])
            new[left[hit]] = False
            left = left[~hit]
        out = np.empty_like(new)
        out[order] = new
        return out

    def add(self, fps: Fps, rows: Rows) -> None:
        """Add a batch of states known to be new."""
        if not len(fps):
            return
        order = np.argsort(fps, kind="stable")
        self.fps.append(fps[order])
        if self.exact:
            self.rows.append(rows[order])
        self.size += len(fps)
        while len(self.fps) > 1 and len(self.fps[-2]) <= 2 * len(self.fps[-1]) and len(self.fps[-2]) + len(self.fps[-1]) <= MAX_RUN:
            self._merge_last_two()
        if self.exact:
            # Only the last two runs ever merge, and a merged run only grows: a run that cannot merge with the one
            # after it now never will.  Its rows go to disk (see the module docstring).
            for k in range(len(self.rows) - 1):
                if len(self.fps[k]) + len(self.fps[k + 1]) > MAX_RUN and not isinstance(self.rows[k], np.memmap):
                    self.rows[k] = spill(self.rows[k])

    def _merge_last_two(self) -> None:
        b, a = self.fps.pop(), self.fps.pop()
        both = np.concatenate([a, b])
        order = np.argsort(both, kind="stable")  # two sorted runs: a linear merge in numpy's timsort
        self.fps.append(both[order])
        if self.exact:
            rb, ra = self.rows.pop(), self.rows.pop()
            self.rows.append(np.concatenate([ra, rb])[order])
