# mypy: disable-error-code="no-any-return,return-value"
"""The compiled kernel of the compiled engine (numba): expand BFS states over lazily filled tables.

Everything here is plain loops over numpy arrays, compiled by numba with
``cache=True`` (the machine code is kept beside this file in __pycache__, so
only the first run ever pays for the compilation).  The kernel knows no
model: it reads the tables that ``checker/compiled.py`` builds from a
:class:`checker.pins.PinsModel`.

Tables (open addressing, linear probing, power-of-two capacity, a key's first
word -1 marks an empty entry):

- the *memo* ``M`` (key width 4): ``(GROUP<<32 | g, read values...)`` -> a
  result set (the group's effects); ``(NORM<<32 | slot, ctx, value, 0)`` ->
  the normalised value; ``(MERGE<<32 | slot, ctx, value, token)`` -> the
  merged value;
- the *property memo* ``P``: ``(prop, part, values...)`` -> 0 or 1 (action
  properties: ``(1<<32 | prop, part, before..., after...)``);
- the *canonical memo* ``C`` (key: the process slots' values) -> an entry of
  the canonical process values and the renamings that reach them;
- the *visited set*: a store of :mod:`checker.pins_store` (memory, compact or
  fp), which numbers the stored states in BFS order (also the queue); the
  kernel reads and writes it only through its ``st_*`` functions.

When the kernel needs an entry that is not there, it records the key as a
*miss* and goes on looking ahead (without changing anything) to collect the
misses of the following states too; it then returns, Python fills the
entries by asking the model, and the kernel resumes at the state it stopped
at.  A state's successors are committed (counted, stored, checked) only once
every table entry they need is present, so a resumed expansion is the same as
an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

from checker.pins_store import st_clean, st_find, st_hash, st_load, st_put, st_room, st_set_clean

F = TypeVar("F", bound=Callable[..., Any])


def jit(f: F) -> F:
    """numba's ``njit`` with the compiled code cached on disk (typed for mypy)."""
    return cast(F, numba.njit(cache=True, nogil=True)(f))


GROUP, NORM, MERGE_K = 1, 2, 3
SET_OP, MERGE_OP = 0, 1

# Status codes (ctl[ST]).
DONE, MISS, GROW, VIOL_STATE, VIOL_ACTION, CAPPED = 0, 1, 2, 3, 4, 5

# ctl indexes.
NROWS, TRANS, NMISS, ST, RESUME, INFO_PROP, INFO_IDX, INFO_SUCC, MAXST, PENDING, GROW_SCRATCH, MEMO_N, PROP_N, CANON_N = range(14)
CTL_SIZE = 16

LOOKAHEAD = 1024
"""At most this many states are looked ahead at after a miss, collecting more misses before Python fills them."""

MISS_ENOUGH = 512
"""Lookahead also stops once this many misses are collected."""

LOOKAHEAD_QUIET = 8
"""... and after this many states in a row with no miss: each state looked at is expanded again when the kernel
resumes, so a long look past the last miss costs more than the round trip to Python it might save."""

PRIME = np.uint64(1099511628211)
MIXER = np.uint64(0xFF51AFD7ED558CCD)
SEED = np.uint64(1469598103934665603)
S33, S29 = np.uint64(33), np.uint64(29)


@jit
def key_hash(key: Any, w: int) -> int:
    """A 64-bit hash of ``key[:w]`` (FNV-1a over the words, then a murmur finaliser), as a signed integer.

    Unsigned arithmetic: signed overflow is undefined for the compiler, which may then fold the same hash differently
    in different places.
    """
    h = SEED
    for k in range(w):
        h = (h ^ np.uint64(key[k])) * PRIME
    h ^= h >> S33
    h *= MIXER
    h ^= h >> S29
    return np.int64(h)


@jit
def ht_find(keys: Any, key: Any, w: int) -> int:
    """The entry holding ``key`` (>= 0), or -1 - the empty entry where it would go."""
    mask = keys.shape[0] - 1
    i = key_hash(key, w) & mask
    while True:
        if keys[i, 0] == -1:
            return -1 - i
        same = True
        for k in range(w):
            if keys[i, k] != key[k]:
                same = False
                break
        if same:
            return i
        i = (i + 1) & mask


@jit
def ht_put_many(keys: Any, vals: Any, new_keys: Any, new_vals: Any, count: int) -> int:
    """Insert rows of ``new_keys`` (absent ones only); the new entry count."""
    w = keys.shape[1]
    for r in range(new_keys.shape[0]):
        i = ht_find(keys, new_keys[r], w)
        if i < 0:
            i = -1 - i
            for k in range(w):
                keys[i, k] = new_keys[r, k]
            vals[i] = new_vals[r]
            count += 1
    return count


@jit
def ht_rehash(keys: Any, vals: Any, new_keys: Any, new_vals: Any) -> None:
    w = keys.shape[1]
    for i in range(keys.shape[0]):
        if keys[i, 0] != -1:
            j = -1 - ht_find(new_keys, keys[i], w)
            for k in range(w):
                new_keys[j, k] = keys[i, k]
            new_vals[j] = vals[i]


@jit
def _miss(misses: Any, ctl: Any, table: int, key: Any, w: int) -> None:
    m = ctl[NMISS]
    if m < misses.shape[0]:
        misses[m, 0] = table
        for k in range(w):
            misses[m, 1 + k] = key[k]
        for k in range(w, misses.shape[1] - 1):
            misses[m, 1 + k] = 0
        ctl[NMISS] = m + 1


@jit
def _lowest(bits: int) -> int:
    """The index of the lowest set bit of ``bits``, or -1."""
    if bits == 0:
        return -1
    k = 0
    while (bits >> k) & 1 == 0:
        k += 1
    return k


@jit
def expand(x0: int, hi: int, budget: int, ctl: Any, st: Any,
           mkeys: Any, mvals: Any, pkeys: Any, pvals: Any, ckeys: Any, cvals: Any,
           g_reads: Any, g_nreads: Any, deps_off: Any, deps: Any, ctx: Any,
           rs_off: Any, rs_len: Any, ef_label: Any, ef_off: Any, ef_len: Any, op_slot: Any, op_kind: Any, op_arg: Any,
           sg_poff: Any, sg_bits: Any, part_off: Any, pslots: Any, s_always: int, s_sometimes: int,
           ag_poff: Any, ag_bits: Any, apart_group: Any, apart_off: Any, apslots: Any, a_all: int,
           nproc: int, sym_on: int, slot_perm: Any, canon_vals: Any, canon_poff: Any, canon_plen: Any, canon_perms: Any,
           succ: Any, succ_canon: Any, succ_label: Any, succ_afail: Any, succ_inv: Any, succ_wit: Any, succ_new: Any,
           counts: Any, misses: Any, wit: Any, bad_vec: Any, succ_h: Any) -> None:
    """Expand states ``x0..hi-1`` (at most ``budget`` of them); the outcome is in ``ctl`` (see the module docstring).

    ``st`` is the store's tuple of arrays (:meth:`checker.pins_store.Store.tup`)."""
    K = succ.shape[1]
    s = np.zeros(K, dtype=np.int64)
    G = g_reads.shape[0]
    nsg = sg_poff.shape[0] - 1
    nag = ag_poff.shape[0] - 1
    nsp = 63
    wp = pkeys.shape[1]
    mk = np.zeros(4, dtype=np.int64)
    pk = np.zeros(wp, dtype=np.int64)
    ck = np.zeros(max(nproc, 1), dtype=np.int64)
    cand = np.zeros(K, dtype=np.int64)
    n_apart = apart_off.shape[0] - 1
    selfres = np.zeros(max(n_apart, 1), dtype=np.int64)
    ctl[ST] = DONE
    ctl[NMISS] = 0
    ctl[GROW_SCRATCH] = 0
    look = False
    looked = 0
    quiet = 0  # states looked ahead at since the last one with a miss
    done = 0
    x = x0
    while x < hi:
        if look:
            if looked >= LOOKAHEAD or ctl[NMISS] >= MISS_ENOUGH or quiet >= LOOKAHEAD_QUIET:
                break
            if st_clean(st, x):  # looked ahead at before, and needed nothing missing: tables only grow, so it still does not
                x += 1
                continue
            looked += 1
        elif done >= budget:
            break
        st_load(st, x, s)
        ok = True
        overflow = False
        ns = 0
        # Phase A: every group's effects, applied to s.
        for g in range(G):
            mk[0] = (GROUP << 32) | g
            for r in range(3):
                mk[1 + r] = s[g_reads[g, r]] if r < g_nreads[g] else 0
            i = ht_find(mkeys, mk, 4)
            if i < 0:
                _miss(misses, ctl, 0, mk, 4)
                ok = False
                continue
            rs = mvals[i]
            for e in range(rs_off[rs], rs_off[rs] + rs_len[rs]):
                if ns >= succ.shape[0]:
                    overflow = True
                    break
                t = succ[ns]
                for k in range(K):
                    t[k] = s[k]
                eok = True
                lo, n_ops = ef_off[e], ef_len[e]
                for o in range(lo, lo + n_ops):
                    if op_kind[o] == SET_OP:
                        t[op_slot[o]] = op_arg[o]
                for o in range(lo, lo + n_ops):
                    c = op_slot[o]
                    if op_kind[o] == SET_OP and t[c] != s[c]:
                        for d in range(deps_off[c], deps_off[c + 1]):
                            q = deps[d]
                            if t[q] == 0:  # the empty value normalises to itself (checker.pins)
                                continue
                            mk[0] = (NORM << 32) | q
                            mk[1] = t[c]
                            mk[2] = t[q]
                            mk[3] = 0
                            j = ht_find(mkeys, mk, 4)
                            if j < 0:
                                _miss(misses, ctl, 0, mk, 4)
                                eok = False
                                break
                            t[q] = mvals[j]
                    if not eok:
                        break
                if eok:
                    for o in range(lo, lo + n_ops):
                        if op_kind[o] == MERGE_OP:
                            q = op_slot[o]
                            mk[0] = (MERGE_K << 32) | q
                            mk[1] = t[ctx[q]] if ctx[q] >= 0 else 0
                            mk[2] = t[q]
                            mk[3] = op_arg[o]
                            j = ht_find(mkeys, mk, 4)
                            if j < 0:
                                _miss(misses, ctl, 0, mk, 4)
                                eok = False
                                break
                            t[q] = mvals[j]
                if not eok:
                    ok = False
                succ_label[ns] = ef_label[e]
                ns += 1
            if overflow:
                break
        if overflow:
            if not look:
                ctl[ST] = GROW
                ctl[GROW_SCRATCH] = 1
                ctl[RESUME] = x
                return
            break
        if ok and nag > 0:
            # Phase B: action properties, a bitmask per part; a part whose slots did not change takes its (s, s) answer.
            for p in range(n_apart):
                pw = apart_off[p + 1] - apart_off[p]
                pk[0] = (1 << 32) | apart_group[p]
                pk[1] = p - ag_poff[apart_group[p]]
                for k in range(pw):
                    v = s[apslots[apart_off[p] + k]]
                    pk[2 + k] = v
                    pk[2 + pw + k] = v
                for k in range(2 + 2 * pw, wp):
                    pk[k] = 0
                i = ht_find(pkeys, pk, wp)
                if i < 0:
                    _miss(misses, ctl, 1, pk, wp)
                    ok = False
                else:
                    selfres[p] = pvals[i]
            if ok:
                for j in range(ns):
                    t = succ[j]
                    held = 0
                    for g in range(nag):
                        gm = ag_bits[g]
                        for p in range(ag_poff[g], ag_poff[g + 1]):
                            pw = apart_off[p + 1] - apart_off[p]
                            changed = False
                            for k in range(pw):
                                sl = apslots[apart_off[p] + k]
                                if t[sl] != s[sl]:
                                    changed = True
                            if not changed:
                                gm &= selfres[p]
                                continue
                            pk[0] = (1 << 32) | g
                            pk[1] = p - ag_poff[g]
                            for k in range(pw):
                                sl = apslots[apart_off[p] + k]
                                pk[2 + k] = s[sl]
                                pk[2 + pw + k] = t[sl]
                            for k in range(2 + 2 * pw, wp):
                                pk[k] = 0
                            i = ht_find(pkeys, pk, wp)
                            if i < 0:
                                _miss(misses, ctl, 1, pk, wp)
                                ok = False
                                continue
                            gm &= pvals[i]
                        held |= gm
                    succ_afail[j] = _lowest(a_all & ~held)
        elif ok:
            for j in range(ns):
                succ_afail[j] = -1
        if ok:
            # Phase C: canonical forms; phase D: the state properties of the ones not stored yet.
            for j in range(ns):
                t = succ[j]
                same = True
                for k in range(K):
                    if t[k] != s[k]:
                        same = False
                        break
                if same:
                    succ_new[j] = 0
                    continue
                c = succ_canon[j]
                if sym_on:
                    for k in range(nproc):
                        ck[k] = t[k]
                    i = ht_find(ckeys, ck, nproc)
                    if i < 0:
                        _miss(misses, ctl, 2, ck, nproc)
                        ok = False
                        succ_new[j] = 0
                        continue
                    en = cvals[i]
                    for k in range(nproc):
                        c[k] = canon_vals[en * nproc + k]
                    first = True
                    for pi in range(canon_poff[en], canon_poff[en] + canon_plen[en]):
                        p = canon_perms[pi]
                        for k in range(nproc, K):
                            cand[slot_perm[p, k]] = t[k]
                        better = first
                        if not first:
                            for k in range(nproc, K):
                                if cand[k] != c[k]:
                                    better = cand[k] < c[k]
                                    break
                        if better:
                            for k in range(nproc, K):
                                c[k] = cand[k]
                        first = False
                else:
                    for k in range(K):
                        c[k] = t[k]
                h = st_hash(st, c)
                succ_h[j] = h
                if st_find(st, c, h) >= 0:
                    succ_new[j] = 0
                    continue
                succ_new[j] = 1
                held = 0
                for g in range(nsg):
                    gm = sg_bits[g]
                    if gm & ~ctl[PENDING] & s_sometimes == gm:
                        continue  # only SOMETIMES properties that are already witnessed
                    for p in range(sg_poff[g], sg_poff[g + 1]):
                        pw = part_off[p + 1] - part_off[p]
                        pk[0] = g
                        pk[1] = p - sg_poff[g]
                        for k in range(pw):
                            pk[2 + k] = c[pslots[part_off[p] + k]]
                        for k in range(2 + pw, wp):
                            pk[k] = 0
                        i = ht_find(pkeys, pk, wp)
                        if i < 0:
                            _miss(misses, ctl, 1, pk, wp)
                            ok = False
                            continue
                        gm &= pvals[i]
                    held |= gm
                inv = _lowest(s_always & ~held)
                wmask = held & s_sometimes
                succ_inv[j] = inv
                succ_wit[j] = wmask
        if not ok:
            if not look:
                look = True
                ctl[RESUME] = x
            quiet = 0
            x += 1
            continue
        if look:
            st_set_clean(st, x)
            quiet += 1
            x += 1
            continue
        # Phase E: commit.
        nrows = ctl[NROWS]
        if not st_room(st, nrows, ns, succ_canon, succ_new, succ_h):
            ctl[ST] = GROW
            ctl[RESUME] = x
            return
        for j in range(ns):
            counts[succ_label[j]] += 1
            ctl[TRANS] += 1
            if succ_afail[j] >= 0:
                for k in range(K):
                    bad_vec[k] = succ[j, k]
                ctl[ST] = VIOL_ACTION
                ctl[INFO_PROP] = succ_afail[j]
                ctl[INFO_IDX] = x
                ctl[INFO_SUCC] = j
                ctl[RESUME] = x
                return
            if succ_new[j] == 0:
                continue
            h = succ_h[j]
            i = st_find(st, succ_canon[j], h)
            if i >= 0:
                continue
            if ctl[MAXST] >= 0 and nrows >= ctl[MAXST]:
                ctl[NROWS] = nrows
                ctl[ST] = CAPPED
                ctl[RESUME] = x
                return
            st_put(st, i, succ_canon[j], h, nrows, x, j)
            got = succ_wit[j] & ctl[PENDING]
            if got:
                for a in range(nsp):
                    if (got >> a) & 1:
                        wit[a] = nrows
                ctl[PENDING] &= ~got
            nrows += 1
            if succ_inv[j] >= 0:
                ctl[NROWS] = nrows
                ctl[ST] = VIOL_STATE
                ctl[INFO_PROP] = succ_inv[j]
                ctl[INFO_IDX] = nrows - 1
                ctl[RESUME] = x
                return
        ctl[NROWS] = nrows
        done += 1
        x += 1
    if look:
        ctl[ST] = MISS
    else:
        ctl[RESUME] = x
