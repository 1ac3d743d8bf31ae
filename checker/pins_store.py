# mypy: disable-error-code="no-any-return,return-value"
"""Visited-state stores of the compiled engine (numba): ``--store memory``, ``compact`` and ``fp``.

A store keeps the states a breadth-first search has met, numbered in BFS
order (the order also serves as the queue), with a path record from which
the search rebuilds a shortest trace to any of them.  It knows nothing of the
model: a state is a vector of ``width`` non-negative integers below 2**32.
The kernel (:func:`checker.pins_kernel.compute` reads, :func:`checker.pins_kernel.commit`
writes) gets a store as a tuple of arrays (:meth:`Store.tup`) and calls the
helpers of its kind below directly; :func:`st_room_batch` says whether a
batch fits, and the Python class :class:`Store` grows the arrays when not.

**memory** (the plain exact store): each state as a row of uint32 slots, an
open-addressing table whose entries hold the state's slots and its row index
(a probe reads one entry), kept at most half full, and a uint32 parent.
About ``4w + 2..4 * 4(w+1) + 4`` bytes a state: 200 at 3 servers (w = 10).
The fastest; for searches that fit.

**compact** (exact, at most 40 bytes a state at 3 servers, path included).
Choice: bit-packed rows rather than LTSmin's tree compression.  A slot's
values are interned codes, few per slot (at 3 servers, max-term 3, max-log 1,
7.3 M states: the largest code of the ten slots needs 10, 10, 10, 11, 11, 12,
12, 12, 12 and 2 bits, 102 in all), so a state packs into 13 bytes, and a
tree would save little more while its inner node tables (each 8 bytes an
entry plus its own hash table) cost as much as the rows they replace when the
slots' combinations are as varied as here; a packed row is also one memory
access, a tree ``log w`` of them.  So:

- rows: one bit stream of uint32 words, row ``r`` at bit ``r * B`` (``B`` the
  sum of the slots' widths, not rounded to words); slot ``k`` has a width of
  its own.  A value that does not fit its slot's width makes the kernel ask
  for room: the store *repacks* every row in place (from the last row down,
  since rows only move up) with that slot widened to one bit more than the
  value needs, so each slot's range doubles at each repack and repacks are
  rare (a dozen in a search of millions, the late ones at depth where few new
  codes appear);
- a hash table of uint32 row indexes (open addressing, linear probing, any
  capacity: the home entry is ``(h >> 32) * capacity >> 32``), at most three
  quarters full and regrown to half full (4/0.75 to 4/0.5: 5.3 to 8 bytes a
  state); a probe compares the candidate with the stored row slot by slot,
  unpacking in place.  The hash is of the slot values, not of the packing,
  so a repack leaves the table as it is; a regrowth frees the table first
  and rebuilds it from the rows, so it never exists twice;
- a uint32 parent per state (4 bytes; so at most 2**32 - 1 states).

At 3 servers, max-term 3, max-log 1: 12.75 + 5.3..8 + 4 = 22 to 25 bytes
a state, within the 40 of issue #14 while every slot needs at most 16 bits
or so (10 slots; 16 bits each would give 20 + 8 + 4 = 32).  Rows and parents
grow in place (``ndarray.resize``: glibc's realloc moves large blocks by
remapping pages, not copying) by an eighth at a time, so the spare capacity
costs at most an eighth of them.

**fp** (fingerprints only, at most 16 bytes a state).  The visited set is a
table of 64-bit fingerprints (a splitmix64 chain over the slots, 0 reserved
for an empty entry): two different states with the same fingerprint count as
one, as in TLC, so "holds" is qualified by the chance of such a collision,
about N**2 / 2**65 for N states (:func:`collision_probability`).  The table is split into :data:`NSEG` segments by the top
bits of the fingerprint, each probed linearly; at most 0.8 full, regrown to
0.6 (8/0.8 to 8/0.6: 10 to 13.3 bytes a state); the regrowth is in place,
segment by segment from the last (only one segment is ever held twice).  The
path record costs 2 bytes a state: the kernel commits the new successors of
the states it expands in BFS order, one parent after another, so the
parents of consecutive states do not decrease and are recovered from each
state's count of new children (``kids``, one byte); each state also keeps its
*position* among its parent's successors (``pos``, one byte).  A trace is
rebuilt by expanding the initial state and taking the successor at each
recorded position (the engine's :meth:`Store.path_vectors` callback), as
``checker/store.py``'s fp store does; a state may have at most 255
successors.  So 12 to 15.3 bytes a state.  The states of the BFS levels being
expanded and filled (the queue) are kept unpacked beside it, 4w bytes
each, and dropped level by level (reported apart: they are not stored
states).

Threads: a store is written by one thread at a time (the commit phase);
compact rows share words, so two threads must not append at once.

Pages: the stores' large arrays are mapped by the store itself and advised
huge before they are touched (:class:`_Mapping`, :func:`_resized`): their
probes are random reads over gigabytes, and with 4 KiB pages each also
misses the TLB.  The kernel
prefetches each successor's first probe (and, for compact, the row its
index entry names) before it looks any of them up, so a state's probes wait
together rather than one after another.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import numba
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

F = TypeVar("F", bound=Callable[..., Any])


def jit(f: F) -> F:
    """numba's ``njit`` with the compiled code cached on disk (typed for mypy)."""
    return cast(F, numba.njit(cache=True, nogil=True)(f))


def jit_inline(f: F) -> F:
    """:func:`jit`, and inlined into every compiled caller."""
    return cast(F, numba.njit(cache=True, nogil=True, inline="always")(f))


KINDS = ("memory", "compact", "fp")
MEMORY, COMPACT, FP = 0, 1, 2

# sctl indexes: the kind, the bits of a packed row, the fp queue's first state, the fp segment capacity, why room is short.
MODE, ROWBITS, QBASE, SEGCAP, FLAG = range(5)
SCTL_SIZE = 8
WIDEN, TOO_MANY = 1, 2
"""FLAG bits: a value did not fit its slot's width (compact); a state had more successors than a byte counts (fp)."""

EMPTY = np.uint32(0xFFFFFFFF)
"""An empty entry of a uint32 table, and the parent of an initial state."""

NSEG = 64
"""Segments of the fp table (the top 6 bits of a fingerprint pick one)."""
MAX_SUCC = 255
"""fp: at most this many successors a state (positions and child counts are bytes)."""

_G = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S27, _S29, _S30, _S31, _U32, _U58 = np.uint64(27), np.uint64(29), np.uint64(30), np.uint64(31), np.uint64(32), np.uint64(58)
_ONE, _LOW32 = np.uint64(1), np.uint64(0xFFFFFFFF)


@jit_inline
def fingerprint(v: Any, w: int) -> int:
    """A 64-bit fingerprint of ``v[:w]`` (a multiply-xorshift round a slot, then splitmix64's finaliser), never 0, as a
    signed integer."""
    h = _G
    for k in range(w):  # one multiply and one xor-shift a slot (a chain of splitmix64 rounds cost four times as much) ...
        h = (h ^ np.uint64(v[k])) * _M1
        h = h ^ (h >> _S29)
    h = (h ^ (h >> _S30)) * _M1  # ... then splitmix64's finaliser
    h = (h ^ (h >> _S27)) * _M2
    h = h ^ (h >> _S31)
    if h == 0:
        h = _ONE
    return np.int64(h)


# ---------------------------------------------------------------------------------------------- bit-packed rows


@jit_inline
def _get(words: Any, bit: int, nb: int) -> int:
    """The ``nb``-bit value (nb <= 32) at bit ``bit`` of the stream (the words array has a spare word at its end)."""
    i = bit >> 5
    win = np.uint64(words[i]) | (np.uint64(words[i + 1]) << _U32)
    return np.int64((win >> np.uint64(bit & 31)) & ((_ONE << np.uint64(nb)) - _ONE))


@jit_inline
def _set(words: Any, bit: int, nb: int, v: int) -> None:
    i = bit >> 5
    sh = np.uint64(bit & 31)
    m = ((_ONE << np.uint64(nb)) - _ONE) << sh
    win = np.uint64(words[i]) | (np.uint64(words[i + 1]) << _U32)
    win = (win & ~m) | ((np.uint64(v) << sh) & m)
    words[i] = np.uint32(win & _LOW32)
    words[i + 1] = np.uint32(win >> _U32)


@jit_inline
def unpack(words: Any, base: int, layout: Any, out: Any) -> None:
    """The row whose bits start at ``base``, into ``out`` (``layout[k]``: slot k's bit offset and width)."""
    for k in range(layout.shape[0]):
        out[k] = _get(words, base + layout[k, 0], layout[k, 1])


@jit_inline
def pack(words: Any, base: int, layout: Any, v: Any) -> None:
    for k in range(layout.shape[0]):
        _set(words, base + layout[k, 0], layout[k, 1], v[k])


@jit_inline
def _row_eq(words: Any, base: int, layout: Any, v: Any) -> bool:
    same = True
    for k in range(layout.shape[0]):
        if _get(words, base + layout[k, 0], layout[k, 1]) != v[k]:
            same = False
            break
    return same


@jit
def repack(words: Any, n: int, old: Any, old_bits: int, new: Any, new_bits: int) -> None:
    """Rewrite rows ``0..n-1`` from layout ``old`` to the wider ``new``, in place: from the last row down, since a
    row's new bits start at or after its old ones and end before the next row's new ones."""
    tmp = np.zeros(old.shape[0], dtype=np.int64)
    for r in range(n - 1, -1, -1):
        unpack(words, r * old_bits, old, tmp)
        pack(words, r * new_bits, new, tmp)


@jit_inline
def _home(h: int, cap: int) -> int:
    """The home entry of hash ``h`` in a table of ``cap`` (< 2**32) entries: its high 32 bits scaled to ``cap``."""
    return np.int64(((np.uint64(h) >> _U32) * np.uint64(cap)) >> _U32)


@jit
def itab_rebuild(words: Any, n: int, bits: int, layout: Any, itab: Any) -> None:
    """Fill an empty index table with rows ``0..n-1``."""
    cap = itab.shape[0]
    v = np.zeros(layout.shape[0], dtype=np.int64)
    for r in range(n):
        unpack(words, r * bits, layout, v)
        i = _home(st_hash((0,), v), cap)
        while itab[i] != EMPTY:
            i += 1
            if i == cap:
                i = 0
        itab[i] = r


# ---------------------------------------------------------------------------------------------- the fp table


@jit_inline
def _seg_home(h: Any, segcap: int) -> int:
    """The entry (in the whole table) where fingerprint ``h``'s probe starts: segment by its top bits, then its low
    32 bits scaled to the segment."""
    u = np.uint64(h)
    return np.int64(u >> _U58) * segcap + np.int64(((u & _LOW32) * np.uint64(segcap)) >> _U32)


@jit
def fp_regrow(fptab: Any, old: int, new: int) -> None:
    """Spread a table of NSEG segments of ``old`` entries (its first NSEG*old) over NSEG segments of ``new``, in
    place: from the last segment down, so no segment is overwritten before it is moved."""
    tmp = np.zeros(old, dtype=np.uint64)
    for s in range(NSEG - 1, -1, -1):
        for i in range(old):
            tmp[i] = fptab[s * old + i]
        for i in range(s * new, (s + 1) * new):
            fptab[i] = 0
        for i in range(old):
            h = tmp[i]
            if h == 0:
                continue
            j = _seg_home(h, new)
            while fptab[j] != 0:
                j += 1
                if j == (s + 1) * new:
                    j = s * new
            fptab[j] = h


# ---------------------------------------------------------------------------------------------- the kernel's view
# The store's tuple (Store.tup): 0 sctl, 1 rows, 2 tab, 3 parent, 4 layout, 5 need, 6 words, 7 itab, 8 fptab,
# 9 segn, 10 kids, 11 pos.  The st_* dispatchers on the kind serve Store's own calls from Python; the kernel calls the
# kind's helper itself (through an inlined dispatcher it ran at about 60 % speed, bench/RESULTS.md).


@jit_inline
def _row_home(tab: Any, h: int) -> int:
    """memory: the table entry where the probe for hash ``h`` starts."""
    return h & (tab.shape[0] - 1)


@jit_inline
def _row_find(tab: Any, v: Any, h: int) -> int:
    """memory: the table entry holding ``v`` (>= 0), or -1 - the empty entry where it would go."""
    w = tab.shape[1] - 1
    mask = tab.shape[0] - 1
    i = _row_home(tab, h)
    while True:
        if tab[i, w] == EMPTY:
            return -1 - i
        same = True
        for k in range(w):
            if tab[i, k] != v[k]:
                same = False
                break
        if same:
            return i
        i = (i + 1) & mask


@jit_inline
def _compact_find(itab: Any, words: Any, layout: Any, bits: int, v: Any, h: int) -> int:
    cap = itab.shape[0]
    i = _home(h, cap)
    while True:
        r = itab[i]
        if r == EMPTY:
            return -1 - i
        if _row_eq(words, int(r) * bits, layout, v):
            return i
        i += 1
        if i == cap:
            i = 0


@jit_inline
def _fp_find(fptab: Any, segcap: int, h: int) -> int:
    i = _seg_home(h, segcap)
    lo = i - i % segcap
    u = np.uint64(h)
    while True:
        f = fptab[i]
        if f == 0:
            return -1 - i
        if f == u:
            return i
        i += 1
        if i == lo + segcap:
            i = lo


@jit
def _compact_widths_fit(layout: Any, need: Any, sctl: Any, ns: int, cands: Any, new: Any) -> bool:
    """compact: whether every new candidate's values fit their slots' widths; else ``need`` has the widths wanted."""
    ok = True
    for j in range(ns):
        if new[j]:
            for k in range(layout.shape[0]):
                v = cands[j, k]
                if v >> layout[k, 1] != 0:
                    b = 0
                    while v >> b != 0:
                        b += 1
                    if b > need[k]:
                        need[k] = b
                    sctl[FLAG] |= WIDEN
                    ok = False
    return ok


@jit_inline
def _memory_put(rows: Any, tab: Any, parent: Any, e: int, v: Any, idx: int, par: int) -> None:
    w = rows.shape[1]
    for k in range(w):
        rows[idx, k] = v[k]
        tab[e, k] = v[k]
    tab[e, w] = idx
    parent[idx] = EMPTY if par < 0 else par


@jit_inline
def _compact_put(words: Any, layout: Any, itab: Any, parent: Any, bits: int, e: int, v: Any, idx: int, par: int) -> None:
    pack(words, idx * bits, layout, v)
    itab[e] = idx
    parent[idx] = EMPTY if par < 0 else par


@jit_inline
def _fp_put(fptab: Any, segn: Any, rows: Any, kids: Any, pos: Any, qbase: int,
            e: int, v: Any, h: int, idx: int, par: int, j: int) -> None:
    fptab[e] = np.uint64(h)
    segn[np.int64(np.uint64(h) >> _U58)] += 1
    r = idx - qbase
    for k in range(rows.shape[1]):
        rows[r, k] = v[k]
    if par >= 0:
        kids[par] += 1
        pos[idx] = j


@jit_inline
def st_hash(st: Any, v: Any) -> int:
    """The hash (for fp: the fingerprint) of state ``v`` (the same for every kind: :func:`fingerprint`)."""
    return fingerprint(v, v.shape[0])


@jit_inline
def st_find(st: Any, v: Any, h: int) -> int:
    """The entry holding ``v`` (hash ``h``) if stored (>= 0), else -1 - the entry where it would go."""
    sctl = st[0]
    mode = sctl[MODE]
    if mode == MEMORY:
        return _row_find(st[2], v, h)
    if mode == COMPACT:
        return _compact_find(st[7], st[6], st[4], sctl[ROWBITS], v, h)
    return _fp_find(st[8], sctl[SEGCAP], h)


@jit
def st_room_batch(st: Any, n: int, total: int, cands: Any, hs: Any, cu: int, most: int) -> bool:
    """Whether ``total`` new states fit after the ``n`` stored without growing, ``cands[:cu]`` (hashes ``hs``) being
    some of them (one thread's share of a batch; the driver asks for each share) and ``most`` the largest successor
    count of a state of the batch; if not, :meth:`Store.ensure` (``total``) makes room (and widens slots or refuses, by
    ``sctl[FLAG]``)."""
    sctl = st[0]
    mode = sctl[MODE]
    m = n + total
    if mode == MEMORY:
        return m <= st[1].shape[0] and 2 * m <= st[2].shape[0]
    if mode == COMPACT:
        room = m <= st[3].shape[0] and 4 * m <= 3 * st[7].shape[0] and m * sctl[ROWBITS] + 64 <= 32 * st[6].shape[0]
        one = np.ones(cu, dtype=np.int64)
        return _compact_widths_fit(st[4], st[5], sctl, cu, cands, one) and room
    if most > MAX_SUCC:
        sctl[FLAG] |= TOO_MANY
        return False
    if m - sctl[QBASE] > st[1].shape[0] or m > st[10].shape[0]:
        return False
    limit = 4 * sctl[SEGCAP]
    segn = st[9]
    for j in range(cu):  # noqa: SIM110  (numba compiles no generator expression)
        if 5 * (segn[np.int64(np.uint64(hs[j]) >> _U58)] + total) > limit:
            return False
    return True


@jit_inline
def st_put(st: Any, where: int, v: Any, h: int, idx: int, par: int, j: int) -> None:
    """Store ``v`` (hash ``h``; ``where`` from :func:`st_find`) as state ``idx``, the successor at position ``j`` of
    state ``par`` (-1: an initial state)."""
    sctl = st[0]
    mode = sctl[MODE]
    if mode == MEMORY:
        _memory_put(st[1], st[2], st[3], -1 - where, v, idx, par)
    elif mode == COMPACT:
        _compact_put(st[6], st[4], st[7], st[3], sctl[ROWBITS], -1 - where, v, idx, par)
    else:
        _fp_put(st[8], st[9], st[1], st[10], st[11], sctl[QBASE], -1 - where, v, h, idx, par, j)


@jit
def fp_parents(kids: Any, n: int, n_init: int, idx: int, out: Any) -> int:
    """The chain of states from ``idx`` back to an initial one into ``out``; its length (-1: ``out`` is too short).

    The children of state x are the states ``n_init + kids[0] + ... + kids[x-1]`` onwards, ``kids[x]`` of them;
    block sums of ``kids`` find a parent without a scan from the start."""
    blk = 1 << 16
    nb = (n + blk - 1) // blk
    first = np.zeros(nb + 1, dtype=np.int64)  # first[b]: the first child of state b*blk
    first[0] = n_init
    for b in range(nb):
        t = 0
        for x in range(b * blk, min(n, (b + 1) * blk)):
            t += kids[x]
        first[b + 1] = first[b] + t
    m = 0
    i = idx
    while True:
        if m == out.shape[0]:
            return -1
        out[m] = i
        m += 1
        if i < n_init:
            break
        b = 0
        while first[b + 1] <= i:
            b += 1
        c = first[b]
        x = b * blk
        while c + kids[x] <= i:
            c += kids[x]
            x += 1
        i = x
    return m


def collision_probability(n: int) -> float:
    """The chance that some two of ``n`` distinct states share a 64-bit fingerprint, for a uniform hash: n(n-1)/2**65."""
    return n * (n - 1) / 2.0**65


# ---------------------------------------------------------------------------------------------- the Python side


def _bitlen(v: int) -> int:
    return int(v).bit_length()


class Store:
    """The arrays of one store, grown on the kernel's demand; ``kind`` is one of :data:`KINDS`."""

    def __init__(self, kind: str, width: int, cap: int = 1 << 12) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown store {kind!r}: one of {', '.join(KINDS)}")
        self.kind, self.width = kind, width
        self.mode = KINDS.index(kind)
        self.n = 0  # states stored (kept by the engine after each kernel call)
        self.n_init = 0  # fp: the initial states (the first n_init), kept unpacked here
        self.init_rows: list[tuple[int, ...]] = []
        self.repacks = 0
        w = width
        self.sctl = np.zeros(SCTL_SIZE, dtype=np.int64)
        self.sctl[MODE] = self.mode
        u32_2d, u8, u32 = np.zeros((1, 1), dtype=np.uint32), np.zeros(1, dtype=np.uint8), np.zeros(1, dtype=np.uint32)
        self.rows, self.tab, self.parent = u32_2d, u32_2d, u32
        self.layout = np.zeros((w, 2), dtype=np.int64)
        self.need = np.zeros(w, dtype=np.int64)
        self.words, self.itab = u32, u32
        self.fptab, self.segn = np.zeros(1, dtype=np.uint64), np.zeros(NSEG, dtype=np.int64)
        self.kids, self.pos = u8, u8
        if self.mode == MEMORY:
            self.rows = np.zeros((cap, w), dtype=np.uint32)
            self.tab = np.full((2 * cap, w + 1), EMPTY, dtype=np.uint32)
            self.parent = np.full(cap, EMPTY, dtype=np.uint32)
        elif self.mode == COMPACT:
            self._set_layout([1] * w)
            self.words = np.zeros(cap * self.bits // 32 + 2, dtype=np.uint32)
            self.itab = np.full(2 * cap, EMPTY, dtype=np.uint32)
            self.parent = np.full(cap, EMPTY, dtype=np.uint32)
        else:
            self.rows = np.zeros((cap, w), dtype=np.uint32)
            self.sctl[SEGCAP] = 1024
            self.fptab = np.zeros(NSEG * 1024, dtype=np.uint64)
            self.kids = np.zeros(cap, dtype=np.uint8)
            self.pos = np.zeros(cap, dtype=np.uint8)

    # -------------------------------------------------------------- layout (compact)

    def _set_layout(self, widths: list[int]) -> None:
        offs = [0]
        for b in widths[:-1]:
            offs.append(offs[-1] + b)
        self.layout = np.array([[o, b] for o, b in zip(offs, widths, strict=True)], dtype=np.int64).reshape(len(widths), 2)
        self.bits = sum(widths)
        self.sctl[ROWBITS] = self.bits

    @property
    def widths(self) -> list[int]:
        """compact: each slot's width in bits."""
        return [int(b) for b in self.layout[:, 1]]

    def _widen(self) -> None:
        """Repack every row with each slot wide enough for the values the kernel could not store, plus one bit."""
        old, old_bits = self.layout.copy(), self.bits
        if int(self.need.max()) > 32:
            raise ValueError("a slot's value does not fit in 32 bits")
        widths = [min(32, nd + 1) if nd > b else b for b, nd in zip(self.widths, self.need.tolist(), strict=True)]
        self._set_layout(widths)
        self._grow("words", max(len(self.words), self.n * self.bits // 32 + 2))
        repack(self.words, self.n, old, old_bits, self.layout, self.bits)
        self.need[:] = 0
        self.repacks += 1

    # -------------------------------------------------------------- room

    def tup(self) -> tuple[Any, ...]:
        """The arrays as the kernel's ``st_*`` functions take them."""
        return (self.sctl, self.rows, self.tab, self.parent, self.layout, self.need, self.words, self.itab,
                self.fptab, self.segn, self.kids, self.pos)

    def _grow(self, name: str, n: int, fill: Any = 0) -> None:
        """Array ``name`` grown to ``n`` rows, the new ones ``fill`` (:func:`_resized`; advised huge if it is one of
        :data:`HUGE_ARRAYS`)."""
        setattr(self, name, _resized(getattr(self, name), n, fill, name in HUGE_ARRAYS))

    def ensure(self, need: int) -> None:
        """Room for ``need`` more states after the ``n`` stored (and whatever widening the kernel asked for)."""
        m = self.n + need
        flag = int(self.sctl[FLAG])
        self.sctl[FLAG] = 0
        if flag & TOO_MANY:
            raise ValueError(f"--store fp records a state's successor position in a byte: a state of this model has more "
                             f"than {MAX_SUCC} successors; use --store compact")
        if self.mode == MEMORY:
            if m > len(self.rows):
                cap = max(2 * len(self.rows), m)
                self._grow("rows", cap)
                self._grow("parent", cap, EMPTY)
            if 2 * m > len(self.tab):
                cap = len(self.tab)
                while 2 * m > cap:
                    cap *= 2
                if cap >= 1 << 32:
                    raise MemoryError("the compiled engine stores fewer than 2**31 states")
                self.tab = np.zeros((1, 1), dtype=np.uint32)  # freed before the new one is made
                self.tab = np.full((cap, self.width + 1), EMPTY, dtype=np.uint32)
                _rehash_memory(self.rows, self.n, self.tab)
        elif self.mode == COMPACT:
            if flag & WIDEN:
                self._widen()
            if m >= int(EMPTY):
                raise MemoryError("the compact store holds fewer than 2**32 - 1 states")
            if m > len(self.parent):
                cap = max(m, len(self.parent) + len(self.parent) // 8)
                self._grow("parent", cap, EMPTY)
            if m * self.bits + 64 > 32 * len(self.words):
                self._grow("words", max(len(self.parent) * self.bits // 32 + 2, m * self.bits // 32 + 3))
            if 4 * m > 3 * len(self.itab):
                self.itab = np.zeros(1, dtype=np.uint32)  # freed before the new one is made
                self.itab = np.full(2 * m, EMPTY, dtype=np.uint32)
                itab_rebuild(self.words, self.n, self.bits, self.layout, self.itab)
        else:
            if m >= int(EMPTY):
                raise MemoryError("the fp store holds fewer than 2**32 - 1 states")
            q = m - int(self.sctl[QBASE])
            if q > len(self.rows):
                cap = max(q, len(self.rows) + len(self.rows) // 8)
                self._grow("rows", cap)
            if m > len(self.kids):
                cap = max(m, len(self.kids) + len(self.kids) // 8)
                self._grow("kids", cap)
                self._grow("pos", cap)
            segcap = int(self.sctl[SEGCAP])
            top = int(self.segn.max()) + need
            if 5 * top > 4 * segcap:
                new = max(segcap + 1, -(-top * 5 // 3))
                if new >= 1 << 32:
                    raise MemoryError("the fp store's segments hold fewer than 2**32 entries")
                self._grow("fptab", NSEG * new)
                fp_regrow(self.fptab, segcap, new)
                self.sctl[SEGCAP] = new

    def level(self, lo: int) -> None:
        """fp: the states below ``lo`` are expanded: drop them from the queue."""
        if self.mode != FP:
            return
        qb = int(self.sctl[QBASE])
        keep = self.n - lo
        self.rows[:keep] = self.rows[lo - qb : self.n - qb]
        self.sctl[QBASE] = lo

    def insert(self, v: tuple[int, ...], par: int = -1, j: int = 0) -> int:
        """Store ``v`` (an initial state, if ``par`` < 0) unless present; its index, or -1 if it was present."""
        c = np.array(v, dtype=np.int64)
        cands = c.reshape(1, -1)
        h = _hash(c)
        hs = np.array([h], dtype=np.int64)
        while not st_room_batch(self.tup(), self.n, 1, cands, hs, 1, 0):
            self.ensure(1)
        i = st_find(self.tup(), c, h)
        if i >= 0:
            return -1
        st_put(self.tup(), i, c, h, self.n, par, j)
        if par < 0 and self.mode == FP:
            self.init_rows.append(tuple(int(x) for x in v))
            self.n_init += 1
        self.n += 1
        return self.n - 1

    def contains(self, v: tuple[int, ...]) -> bool:
        c = np.array(v, dtype=np.int64)
        return bool(st_find(self.tup(), c, _hash(c)) >= 0)

    # -------------------------------------------------------------- reading states back

    def row(self, i: int) -> tuple[int, ...]:
        """State ``i`` (memory, compact; fp: only while it is in the queue or initial)."""
        if self.mode == COMPACT:
            out = np.zeros(self.width, dtype=np.int64)
            unpack(self.words, i * self.bits, self.layout, out)
            return tuple(int(x) for x in out)
        if self.mode == FP:
            if i < self.n_init:
                return self.init_rows[i]
            qb = int(self.sctl[QBASE])
            if not qb <= i < self.n:
                raise KeyError(f"state {i} is not in the fp store's queue")
            return tuple(int(x) for x in self.rows[i - qb])
        return tuple(int(x) for x in self.rows[i])

    def chain(self, idx: int) -> list[int]:
        """The states from an initial one to ``idx``, by index."""
        if self.mode == FP:
            size = 1 << 12
            while True:
                out = np.zeros(size, dtype=np.int64)
                m = fp_parents(self.kids, self.n, self.n_init, idx, out)
                if m >= 0:
                    return [int(x) for x in out[:m][::-1]]
                size *= 4
        chain = []
        while idx != int(EMPTY):
            chain.append(idx)
            idx = int(self.parent[idx])
        chain.reverse()
        return chain

    def path_vectors(self, idx: int, successors: Callable[[tuple[int, ...]], list[tuple[int, ...]]]) -> list[tuple[int, ...]]:
        """The stored path to state ``idx`` as vectors.  fp rebuilds it: ``successors(v)`` must list v's successors in
        the kernel's order (position j as recorded at the commit), each in the stored (canonical) form."""
        chain = self.chain(idx)
        if self.mode != FP:
            return [self.row(i) for i in chain]
        v = self.init_rows[chain[0]]
        out = [v]
        for i in chain[1:]:
            succ = successors(v)
            j = int(self.pos[i])
            if j >= len(succ):
                raise RuntimeError(f"fp store: state {i} was recorded as successor {j} of a state with {len(succ)}")
            v = succ[j]
            if not self.contains(v):
                raise RuntimeError(f"fp store: the rebuilt state {i} is not in the store")
            out.append(v)
        qb = int(self.sctl[QBASE])
        if qb <= idx < self.n and tuple(int(x) for x in self.rows[idx - qb]) != v:
            raise RuntimeError(f"fp store: the rebuilt path does not end at state {idx}")
        return out

    def vectors(self) -> Iterator[tuple[int, ...]]:
        """Every stored state, in BFS order (memory, compact)."""
        if self.mode == FP:
            raise ValueError("the fp store keeps no states")
        for i in range(self.n):
            yield self.row(i)

    # -------------------------------------------------------------- sizes

    @property
    def nbytes(self) -> int:
        """Bytes of the stored states' arrays: rows, tables, path records, look-ahead flags (not the fp queue)."""
        if self.mode == MEMORY:
            return self.rows.nbytes + self.tab.nbytes + self.parent.nbytes
        if self.mode == COMPACT:
            return self.words.nbytes + self.itab.nbytes + self.parent.nbytes
        return self.fptab.nbytes + self.kids.nbytes + self.pos.nbytes

    @property
    def queue_bytes(self) -> int:
        """fp: bytes of the queue (the unpacked states of the levels being expanded and filled)."""
        return self.rows.nbytes if self.mode == FP else 0


def _resized(a: Any, n: int, fill: Any = 0, huge: bool = False) -> Any:
    """``a`` grown to ``n`` rows, the new rows set to ``fill``.

    Once an array reaches 4 MiB it lives in memory of its own (:class:`_Mapping`) and grows there without a copy
    (``mremap``: the kernel moves page tables, never the data); its new rows are the kernel's zero pages until the
    search writes them, so a zero fill costs nothing.  ``ndarray.resize`` (realloc, then numpy zero-fills the new
    rows) wrote every new page at once, a twentieth of Figure 8's profile in the fp queue's growth.  ``huge``: an
    array the kernel probes at random (the fp table, the compact rows), whose memory is advised huge before any of
    it is touched; after ``ndarray.resize`` the advice came too late, and such an array got no huge page at all
    (measured).  Arrays read and written in order (the queue, parents, path records) keep 4 KiB pages.  Smaller
    arrays, and systems without ``mremap``, grow by ``ndarray.resize``.  The old array must not be used after the
    call."""
    old = a.shape[0]
    if n <= old:
        return a
    shape = (n, *a.shape[1:])
    nbytes = int(np.prod(shape, dtype=np.int64)) * a.dtype.itemsize
    owner = _mapping_of(a)
    if owner is not None:
        owner.grow(nbytes)
        b = owner.array(a.dtype, shape)
    elif nbytes >= _HUGE_MIN and _mm() is not None:
        m = _Mapping(nbytes, huge)
        b = m.array(a.dtype, shape)
        b[:old] = a
    else:
        try:
            a.resize(shape, refcheck=False)
            b = a
        except ValueError:  # not the owner of its data: copy
            b = np.zeros(shape, dtype=a.dtype)
            b[:old] = a
    if fill:
        b[old:] = fill
    return b


HUGE_ARRAYS = frozenset({"words", "fptab"})
"""The store arrays the kernel probes at random (the compact rows, the fp table): advised huge as they grow
(:meth:`Store._grow`) and when a checkpoint is resumed (:func:`adopted`)."""


def adopted(a: Any, huge: bool = False) -> Any:
    """A copy of ``a`` (a resumed checkpoint's array) in the memory a store array of its size lives in while the
    search grows it: grown by :func:`_resized` from nothing (from 4 MiB, memory of its own, advised huge first if
    ``huge``), so a resumed search probes and grows it as the uninterrupted one does (a plain copy had 4 KiB pages,
    and its first growth copied it)."""
    b = _resized(np.zeros((0, *a.shape[1:]), dtype=a.dtype), a.shape[0], huge=huge)
    b[...] = a
    return b


_HUGE_MIN = 4 << 20
_MADV_HUGEPAGE = 14
_PROT_RW, _MAP_PRIVATE_ANON, _MREMAP_MAYMOVE = 0x3, 0x22, 1
_MAP_FAILED = 2**64 - 1
_libc: Any = None


def _mm() -> Any:
    """libc with ``mmap``, ``mremap``, ``munmap`` and ``madvise`` typed, or None (not Linux, or not found)."""
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                lib = ctypes.CDLL(None, use_errno=True)
                vp, sz = ctypes.c_void_p, ctypes.c_size_t
                lib.mmap.argtypes, lib.mmap.restype = (vp, sz, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long), vp
                lib.mremap.argtypes, lib.mremap.restype = (vp, sz, sz, ctypes.c_int), vp
                lib.munmap.argtypes, lib.madvise.argtypes = (vp, sz), (vp, sz, ctypes.c_int)
                _libc = lib
            except (OSError, AttributeError):
                pass
    return _libc or None


def _mapping_of(a: Any) -> _Mapping | None:
    """The :class:`_Mapping` that ``a`` spans from its start, if any."""
    base = a.base
    while base is not None and not isinstance(getattr(base, "owner", None), _Mapping):
        base = getattr(base, "base", None)
    owner = getattr(base, "owner", None)
    return owner if isinstance(owner, _Mapping) and a.ctypes.data == owner.addr else None


class _Mapping:
    """Anonymous memory mapped for one store array: grown by ``mremap`` (the kernel moves page tables, never the
    data), unmapped when the last array over it is gone, and, if ``huge``, advised huge (``madvise(MADV_HUGEPAGE)``)
    before any of it is touched.  The stores' probes are random reads over gigabytes, and with 4 KiB pages nearly
    each one also misses the TLB; with the kernel's THP mode ``madvise`` (a common default) only advised memory gets huge pages.  Only
    the placement of pages changes, never a value."""

    def __init__(self, nbytes: int, huge: bool = True) -> None:
        self.addr = 0  # nothing to unmap until the mapping exists
        lib = self._lib = _mm()
        self.huge = huge
        self.size = max(nbytes, 1)
        addr = lib.mmap(None, self.size, _PROT_RW, _MAP_PRIVATE_ANON, -1, 0)
        if addr is None or addr == _MAP_FAILED:
            raise MemoryError(f"cannot map {nbytes} bytes for the store (errno {ctypes.get_errno()})")
        self.addr = addr
        if huge:
            lib.madvise(addr, self.size, _MADV_HUGEPAGE)  # an error (EINVAL where THP is off) changes nothing: ignored

    def grow(self, nbytes: int) -> None:
        lib = self._lib
        addr = lib.mremap(self.addr, self.size, nbytes, _MREMAP_MAYMOVE)
        if addr is None or addr == _MAP_FAILED:
            raise MemoryError(f"cannot grow the store's array to {nbytes} bytes (errno {ctypes.get_errno()})")
        self.addr, self.size = addr, nbytes
        if self.huge:
            lib.madvise(addr, nbytes, _MADV_HUGEPAGE)

    def array(self, dtype: Any, shape: tuple[int, ...]) -> Any:
        """A numpy array of ``shape`` over this memory (which it keeps mapped while it lives)."""
        buf = (ctypes.c_byte * self.size).from_address(self.addr)
        buf.owner = self  # type: ignore[attr-defined]  # the array's base holds the buffer, the buffer the mapping
        return np.frombuffer(cast(Any, buf), dtype=dtype, count=int(np.prod(shape, dtype=np.int64))).reshape(shape)

    def __del__(self) -> None:
        if self.addr:  # through the instance's own reference to libc: at exit the module's globals may be gone
            self._lib.munmap(self.addr, self.size)


@intrinsic
def _prefetch_intrinsic(typingctx: Any, arr: Any, idx: Any) -> Any:
    """Ask the CPU to fetch row ``idx`` (element ``idx`` of a 1-d array) of ``arr`` into the cache (LLVM's
    ``prefetch``; no effect on the result): a transition's probe of the visited table is a cache miss, and a state's
    probes, issued together, overlap their waits."""
    sig = types.void(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        untyped: Any = cgutils  # numba's code generation helpers carry no annotations
        ptr = untyped.get_item_pointer2(context, builder, data=ary.data, shape=untyped.unpack_tuple(builder, ary.shape),
                                        strides=untyped.unpack_tuple(builder, ary.strides), layout=aryty.layout,
                                        inds=[args[1]] + [zero] * (aryty.ndim - 1))
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), ir.IntType(32)])
        fn = untyped.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        i32 = ir.IntType(32)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


_prefetch = cast(Callable[[Any, int], None], _prefetch_intrinsic)  # as the kernel calls it (the typing context is numba's)


@jit_inline
def _prefetch_home(mode: int, tab: Any, itab: Any, fpsegs: Any, segcap: int, h: int) -> None:
    """Prefetch the entry where the probe for hash ``h`` starts, in the store of kind ``mode`` (where its ``find``
    starts: :func:`_row_find`, :func:`_compact_find`, :func:`_fp_find`)."""
    if mode == MEMORY:
        _prefetch(tab, _row_home(tab, h))
    elif mode == COMPACT:
        _prefetch(itab, _home(h, itab.shape[0]))
    else:
        _prefetch(fpsegs, _seg_home(h, segcap))


@jit_inline
def _prefetch_compact_row(itab: Any, words: Any, bits: int, h: int) -> None:
    """compact: prefetch the first word of the row that hash ``h``'s home index entry names (if any): a compact probe
    is two dependent misses, the index entry and then the row it compares."""
    r = itab[_home(h, itab.shape[0])]
    if r != EMPTY:
        _prefetch(words, int((np.int64(r) * bits) >> 5))


@jit
def _hash(v: Any) -> int:
    return st_hash((0,), v)


_REHASH_BLOCK = 16
"""Rows whose table entries :func:`_rehash_memory` prefetches together."""


@jit
def _rehash_memory(rows: Any, n: int, tab: Any) -> None:
    """Fill an empty memory-store table with the first ``n`` rows.

    The rows go in in blocks whose home entries are prefetched together first: one row's insertion is a cache miss
    in a table of up to gigabytes, and a block's misses, issued at once, wait together (3/3/1's last regrowth, 7.3 M
    rows: 1.9 s one after another).  The table is the same as inserting them one by one."""
    w = rows.shape[1]
    hs = np.zeros(_REHASH_BLOCK, dtype=np.int64)
    for r0 in range(0, n, _REHASH_BLOCK):
        r1 = min(n, r0 + _REHASH_BLOCK)
        for r in range(r0, r1):
            h = st_hash((0,), rows[r])
            hs[r - r0] = h
            _prefetch(tab, _row_home(tab, h))
        for r in range(r0, r1):
            e = -1 - _row_find(tab, rows[r], hs[r - r0])
            for k in range(w):
                tab[e, k] = rows[r, k]
            tab[e, w] = r
