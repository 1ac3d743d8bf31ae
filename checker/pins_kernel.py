# mypy: disable-error-code="no-any-return,return-value,no-untyped-call"
"""The compiled kernel of the compiled engine (numba): expand BFS states over lazily filled tables.

Everything here is plain loops over numpy arrays, compiled by numba with
``cache=True`` (the machine code is kept beside this file in __pycache__, so
only the first run ever pays for the compilation; it compiles :func:`compute`, two thirds of that
time, in a second process meanwhile: :func:`compile_apart`).  The kernel knows no
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
- the *visited set*: a store of :mod:`checker.pins_store` (``memory``,
  ``compact`` or ``fp``), which numbers the stored states in BFS order (also
  the queue); :func:`compute` reads it and only :func:`commit` writes, each
  through the helpers of the store's kind.

A batch of a level's states is expanded in two steps.  :func:`compute`
only reads (the tables and the visited set), so threads run it at once on
disjoint states (the functions are ``nogil``): successors, canonical forms,
hashes, property verdicts, and which successors are *candidates* (not stored
when the batch began).  When it needs a table entry that is not there, it
records the key as a *miss* and marks the state; Python fills every missed
entry of the round by asking the model, and the marked states are computed
again.  Then :func:`commit`, serial and in BFS order, counts every
transition and stores the candidates (the one place that writes the visited
set), so the result is the one-thread result whatever the number of threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import numba
import numpy as np

from checker.pins_store import (
    COMPACT,
    MEMORY,
    QBASE,
    ROWBITS,
    SEGCAP,
    _compact_find,
    _compact_put,
    _fp_find,
    _fp_put,
    _memory_put,
    _prefetch,
    _prefetch_compact_row,
    _prefetch_home,
    _row_find,
    st_hash,
    unpack,
)

F = TypeVar("F", bound=Callable[..., Any])


def _drop_stale_cache(here: Path | None = None) -> None:
    """Drop numba's on-disk cache of the compiled engine's files when any of their sources changed.

    numba keys a cached function by its own file only, yet the kernel's machine code includes the store's
    (checker/pins_store.py) and the walk kernel's includes this file's: after an edit of one of them, the others' cached
    code would run the old version (seen: wrong state counts after a change of the store's fingerprint).  A stamp of
    the three sources beside the cache tells; where the cache cannot be written (a read-only install) nothing is done.
    """
    here = here or Path(__file__).resolve().parent
    try:
        digest = hashlib.sha256(b"".join((here / n).read_bytes() for n in ("pins_kernel.py", "pins_store.py", "pins_walk.py"))).hexdigest()
        cache = here / "__pycache__"
        stamp = cache / "pins_sources.sha256"
        if stamp.exists() and stamp.read_text() == digest:
            return
        for f in cache.glob("pins_*.nb[ic]"):
            f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass


_drop_stale_cache()


@contextlib.contextmanager
def first_load() -> Iterator[None]:
    """Around the first call of a kernel function in a process: numba then loads its typing and lowering registries,
    and ``numba.np.arraymath`` probes for BLAS by importing ``scipy.linalg`` (0.6 s here) where SciPy is installed.
    The kernel uses no linear algebra, so that import is refused meanwhile (unless SciPy is loaded already)."""
    if "scipy.linalg" in sys.modules:
        yield
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # an import of scipy.linalg now raises ImportError
    try:
        yield
    finally:
        if sys.modules.get("scipy.linalg", 0) is None:
            del sys.modules["scipy.linalg"]


def cached(disp: Any, args: Sequence[Any]) -> bool | None:
    """Whether the compiled function ``disp`` is compiled for the types of ``args``, in this process or in numba's disk
    cache (read from the cache's index, nothing loaded); None where that cannot be told or the cache cannot be written.

    This reads numba's cache internals (``Dispatcher._cache``, numba 0.68); any change there gives None, and the caller
    then compiles as usual."""
    try:
        sig = tuple(numba.typeof(a) for a in args)
        if sig in disp.overloads:
            return True
        cache = disp._cache
        if not cache._enabled or not os.access(cache._cache_path, os.W_OK):
            return None
        key = cache._index_key(sig, disp.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # an internal of numba moved: tell nothing
        return None


def compile_apart(disp: Any, args: Sequence[Any]) -> subprocess.Popen[bytes] | None:
    """Start compiling ``disp`` for the types of ``args`` in another process, which saves it in numba's disk cache, where
    it is not compiled yet; the process, or None where there is nothing to gain (compiled or cached already, or a cache
    that cannot be told or written).  The caller decides whether a second core may be used.

    numba compiles in one thread, under a lock, so a process is the way to use a second core for the first-ever compile:
    the caller compiles the other functions meanwhile, waits for the process before its first call of ``disp``, and
    then loads ``disp`` from the cache.  Should the process fail, that call compiles it as usual: only time is lost."""
    if not sys.executable or cached(disp, args) is not False:
        return None
    payload = pickle.dumps({"module": disp.py_func.__module__, "name": disp.py_func.__name__,
                            "sig": tuple(numba.typeof(a) for a in args)})
    # This process's import path first: unpickling the signature imports numba.
    code = (f"import sys; sys.path[:] = {sys.path!r}; import pickle; p = pickle.loads(sys.stdin.buffer.read()); "
            "from checker.pins_kernel import _compile_here; _compile_here(p['module'], p['name'], p['sig'])")
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None
    try:
        assert proc.stdin is not None
        proc.stdin.write(payload)
        proc.stdin.close()
    except OSError:
        proc.kill()
        proc.wait()
        return None
    return proc


def compile_for(disp: Any, args: Sequence[Any]) -> None:
    """Compile ``disp`` for the types of ``args`` (or load it from the disk cache) without calling it."""
    disp.compile(tuple(numba.typeof(a) for a in args))


def _compile_here(module: str, name: str, sig: tuple[Any, ...]) -> None:
    """The other process of :func:`compile_apart`: compile ``module.name`` for ``sig`` (saved in the disk cache)."""
    import importlib

    with first_load():
        getattr(importlib.import_module(module), name).compile(sig)


def jit(f: F) -> F:
    """numba's ``njit`` with the compiled code cached on disk (typed for mypy)."""
    return cast(F, numba.njit(cache=True, nogil=True)(f))


def jit_bare(f: F) -> F:
    """:func:`jit` without numba's reference counting (``_nrt=False``), for the hot loops that the threads run at once:
    with it, numba wraps every array argument in a counted handle and updates the count with an atomic instruction
    wherever an array is passed on or bound anew (each inlined helper's call, each tuple element taken), a tenth of
    Figure 8's samples, and each such instruction also holds up the memory loads behind it.  Such a function may not
    allocate: its scratch arrays are arguments (views of them are free)."""
    return cast(F, numba.njit(cache=True, nogil=True, **_BARE)(f))


_BARE: dict[str, Any] = {"_nrt": False}  # numba's option, not in its type stubs


def work_sizes(width: int, wp: int, nproc: int, n_apart: int, nag: int) -> tuple[int, int]:
    """The lengths of :func:`compute`'s scratch arrays ``work`` (int64) and ``workb`` (bool) for a model of ``width``
    slots, property keys of ``wp`` words, ``nproc`` process slots, ``n_apart`` action-property parts and ``nag`` groups."""
    return 2 * width + 4 + wp + max(nproc, 1) + 2 * max(n_apart, 1) + max(nag, 1), 2 * max(n_apart, 1) + max(nag, 1)


def jit_small(f: F) -> F:
    """:func:`jit`, inlined into every compiled caller: for the small functions of the hot loops (called from another
    compiled function, numba's functions are otherwise not inlined; ``ht_find`` was a quarter of the kernel's time)."""
    return cast(F, numba.njit(cache=True, nogil=True, inline="always")(f))


TABLE_LAYOUT = 2
"""How the lazily filled tables that :func:`compute` reads are laid out: 2, each entry one row of key words and then
its value (``checker.compiled._Table``).  ``bench/kernel_ab.py`` compares only kernels of one layout."""

GROUP, NORM, MERGE_K = 1, 2, 3
SET_OP, MERGE_OP = 0, 1

# Status codes (ctl[ST]).
DONE, VIOL_STATE, VIOL_ACTION, CAPPED = 0, 3, 4, 5

# ctl indexes (the serial commit's state, kept between calls).
NROWS, TRANS, ST, INFO_PROP, INFO_IDX, MAXST, PENDING = range(7)
CTL_SIZE = 8

# tc indexes: one thread's output counters for one batch (see :func:`compute`).
T_OUSED, T_CUSED, T_AUSED, T_NMISS, T_MOVER, T_NEED, T_ROOM = range(7)
TC_SIZE = 8

# ef_pans entries that are not an answer (a bitmask >= 0): not known yet; a part to look up at every transition.
PART_UNKNOWN, PART_LOOKUP = -2, -1
# ef_pans group entries that are not a part (an index >= 0): the effect changes no part of the group; several.
PART_NONE, PART_MANY = -3, -4

# What :func:`compute` leaves in st_ns for a state it could not finish (else the number of successors, >= 0).
ST_MISSED, ST_ROOM, ST_SCRATCH = -1, -2, -3

PRIME = np.uint64(1099511628211)
MIXER = np.uint64(0xFF51AFD7ED558CCD)
SEED = np.uint64(1469598103934665603)
S33, S29 = np.uint64(33), np.uint64(29)


@jit_small
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


@jit_small
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


@jit_small
def _norm_key(mk: Any, q: int, ctx_value: int, v: int) -> None:
    """Make ``mk`` the memo key of slot ``q``'s value ``v`` normalised against its context slot's value ``ctx_value``."""
    mk[0] = (NORM << 32) | q
    mk[1] = ctx_value
    mk[2] = v
    mk[3] = 0


@jit
def ht_put_many(rows: Any, new_keys: Any, new_vals: Any, count: int) -> int:
    """Insert rows of ``new_keys`` with their values (absent keys only) into the table ``rows`` (key words, then the
    value); the new entry count."""
    w = new_keys.shape[1]
    if rows.shape[1] != w + 1:
        raise ValueError("ht_put_many: a table's rows are its key words and then the value")
    for r in range(new_keys.shape[0]):
        i = ht_find(rows, new_keys[r], w)
        if i < 0:
            i = -1 - i
            for k in range(w):
                rows[i, k] = new_keys[r, k]
            rows[i, w] = new_vals[r]
            count += 1
    return count


@jit
def ht_rehash(rows: Any, new_rows: Any, w: int) -> None:
    """Every entry of the table ``rows`` (keys of width ``w``, then the value) into the empty, larger ``new_rows``."""
    for i in range(rows.shape[0]):
        if rows[i, 0] != -1:
            j = -1 - ht_find(new_rows, rows[i], w)
            for k in range(w + 1):
                new_rows[j, k] = rows[i, k]


@jit_bare
def _miss(misses: Any, mset: Any, mslot: Any, tc: Any, table: int, key: Any, w: int) -> None:
    """Record the missing key ``(table, key[:w])`` once per call (``mset``: the recorded ones, by hash), in order of
    first occurrence; if ``misses`` is full, flag ``tc[T_MOVER]`` instead (the driver grows it and redoes the round)."""
    if tc[T_MOVER]:
        return
    h = (SEED ^ np.uint64(table)) * PRIME
    for k in range(w):
        h = (h ^ np.uint64(key[k])) * PRIME
    h ^= h >> S33
    h *= MIXER
    h ^= h >> S29
    mask = mset.shape[0] - 1
    i = np.int64(h) & mask
    while mset[i] != -1:
        m = mset[i]
        if misses[m, 0] == table:
            same = True
            for k in range(w):
                if misses[m, 1 + k] != key[k]:
                    same = False
                    break
            if same:
                return
        i = (i + 1) & mask
    m = tc[T_NMISS]
    if m >= misses.shape[0]:
        tc[T_MOVER] = 1
        return
    misses[m, 0] = table
    for k in range(w):
        misses[m, 1 + k] = key[k]
    for k in range(w, misses.shape[1] - 1):
        misses[m, 1 + k] = 0
    mset[i] = m
    mslot[m] = i
    tc[T_NMISS] = m + 1


@jit_small
def _part_answer(g: int, p: int, p0: int, s: Any, succ: Any, j: int, pa: int, ef_pans: Any, apslots: Any, apart_off: Any,
                 pk: Any, wp: int, pkeys: Any, pvals: Any, misses: Any, mset: Any, mslot: Any, tc: Any) -> int:
    """Action-property part ``p`` (of group ``g``, whose first part is ``p0``) on the transition from ``s`` to
    ``succ[j]``: the effect's known answer ``ef_pans[pa]``, else the table's (written to ``ef_pans[pa]`` where the
    effect's answer is PART_UNKNOWN), else -1 with the key recorded as missed."""
    known = ef_pans[pa]
    if known >= 0:
        return known
    pw = apart_off[p + 1] - apart_off[p]
    pk[0] = (1 << 32) | g
    pk[1] = p - p0
    for k in range(pw):
        sl = apslots[apart_off[p] + k]
        pk[2 + k] = s[sl]
        pk[2 + pw + k] = succ[j, sl]
    for k in range(2 + 2 * pw, wp):
        pk[k] = 0
    i = ht_find(pkeys, pk, wp)
    if i < 0:
        _miss(misses, mset, mslot, tc, 1, pk, wp)
        return -1
    if known == PART_UNKNOWN:  # the same answer whichever thread writes it first
        ef_pans[pa] = pvals[i]
    return pvals[i]


@jit_small
def _lowest(bits: int) -> int:
    """The index of the lowest set bit of ``bits``, or -1."""
    if bits == 0:
        return -1
    k = 0
    while (bits >> k) & 1 == 0:
        k += 1
    return k


PREFETCH_MEMO_MIN = 1 << 21
"""Memo tables of at least this many entries (``mkeys``: 2 Mi entries, 80 MiB of key rows) are prefetched before a
state's effects probe them (:func:`_prefetch_probes`).  Below, the extra hashing costs more than it saves: at 3/3/1
(512 Ki entries) prefetching made the search 7 % slower, at Figure 8's bounds to 20 M states (2 Mi) 5 % faster."""


@jit_small
def _prefetch_probes(s: Any, s_rs: Any, G: int, rs_off: Any, rs_len: Any, ef_off: Any, ef_len: Any, op_slot: Any,
                     op_kind: Any, op_arg: Any, deps_off: Any, deps: Any, mkeys: Any, ckeys: Any, mk: Any, ck: Any,
                     nproc: int, sym_on: int) -> None:
    """Prefetch the memo entries that state ``s``'s effects will probe first: each changed slot's normalisations
    (the keys Phase A of :func:`compute` builds from the values the SET operations write) and, with symmetry, each
    successor's canonical-memo entry (its process slots).  Once the tables outgrow the caches each probe is a miss to
    memory, and a state's probes, issued together, wait together.  Reads only; no effect on any result."""
    mmask = mkeys.shape[0] - 1
    cmask = ckeys.shape[0] - 1
    for g in range(G):
        rs = s_rs[g]
        if rs < 0:
            continue
        for e in range(rs_off[rs], rs_off[rs] + rs_len[rs]):
            lo, n_ops = ef_off[e], ef_len[e]
            for k in range(nproc):
                ck[k] = s[k]
            for o in range(lo, lo + n_ops):
                if op_kind[o] != SET_OP:
                    continue
                sl = op_slot[o]
                if sl < nproc:
                    ck[sl] = op_arg[o]
                if op_arg[o] == s[sl]:
                    continue
                for d in range(deps_off[sl], deps_off[sl + 1]):
                    q = deps[d]
                    v = s[q]
                    for o2 in range(lo, lo + n_ops):
                        if op_kind[o2] == SET_OP and op_slot[o2] == q:
                            v = op_arg[o2]
                    if v == 0:
                        continue
                    _norm_key(mk, q, op_arg[o], v)
                    _prefetch(mkeys, key_hash(mk, 4) & mmask)
            if sym_on:
                _prefetch(ckeys, key_hash(ck, nproc) & cmask)


@jit_bare
def compute(todo: Any, ntodo: int, b0: int, pending: int, st: Any,
            mkeys: Any, mvals: Any, pkeys: Any, pvals: Any, ckeys: Any, cvals: Any,
            g_reads: Any, g_nreads: Any, deps_off: Any, deps: Any, ctx: Any,
            rs_off: Any, rs_len: Any, ef_label: Any, ef_off: Any, ef_len: Any, op_slot: Any, op_kind: Any, op_arg: Any,
            ef_pans: Any, sg_poff: Any, sg_bits: Any, part_off: Any, pslots: Any, s_always: int, s_sometimes: int,
            ag_poff: Any, ag_bits: Any, apart_group: Any, apart_off: Any, apslots: Any, a_all: int,
            nproc: int, sym_on: int, slot_src: Any, canon_vals: Any, canon_poff: Any, canon_plen: Any, canon_perms: Any,
            st_ns: Any, st_off: Any, st_coff: Any, st_cn: Any, st_afj: Any, st_afp: Any, st_afv: Any,
            tc: Any, succ: Any, succ_canon: Any, s_label: Any, s_ok: Any, s_afail: Any, s_cand: Any, s_h: Any,
            s_inv: Any, s_wit: Any, s_rs: Any, s_eff: Any,
            o_label: Any, c_rows: Any, c_h: Any, c_inv: Any, c_wit: Any, c_j: Any, a_rows: Any,
            misses: Any, mset: Any, mslot: Any, work: Any, workb: Any) -> None:
    """Expand the stored states ``todo[:ntodo]`` (indexes into ``rows``, all of one batch starting at row ``b0``).

    Reads the tables and the visited set and writes nothing shared but its states' entries of the per-state arrays
    ``st_*`` (index: state - b0), so threads may run it at once on disjoint states.  For each state it computes the
    successors, their action-property verdicts, their canonical forms, and for the *candidates* -- successors whose
    canonical form is not in the visited set yet -- the hash and the state-property verdicts.  It appends to this
    thread's outputs (counters in ``tc``): each successor's label (``o_label``), each candidate's canonical row, hash,
    first failing invariant, SOMETIMES bits and successor position (``c_*``), and the successor vector of the first
    transition that breaks an action property (``a_rows``); ``st_ns`` is then the number of successors, else
    ST_MISSED (an entry was missing: the keys are in ``misses``), ST_ROOM (no room in the outputs) or ST_SCRATCH (more
    successors than ``succ`` holds; ``tc[T_NEED]``); for ST_MISSED and ST_SCRATCH, ``st_off`` is where this state's
    keys in ``misses`` end.  A state that misses is looked at as far as it goes, to collect
    every key it can in one round trip.  Nothing here depends on which states share a call, so the keys missed, in
    order, are the same however the states are split among threads.
    """
    K = succ.shape[1]
    mode = st[0][0]
    G = g_reads.shape[0]
    nsg = sg_poff.shape[0] - 1
    nag = ag_poff.shape[0] - 1
    wp = pkeys.shape[1] - 1  # the last column is the value
    n_apart = apart_off.shape[0] - 1
    # One state's scratch, views of this thread's ``work`` and ``workb`` (see work_sizes): the kernel allocates nothing.
    work[:] = 0
    workb[:] = False
    s = work[0:K]
    mk = work[K : K + 4]
    pk = work[K + 4 : K + 4 + wp]
    ck = work[K + 4 + wp : K + 4 + wp + max(nproc, 1)]
    # The successors are made and read in place, element by element (succ[ns, k]); the canonical row is made in the
    # 1-d scratch c, which the store's helpers take.
    o1 = K + 4 + wp + max(nproc, 1)
    c = work[o1 : o1 + K]
    na1, ng1 = max(n_apart, 1), max(nag, 1)
    o2 = o1 + K
    selfres = work[o2 : o2 + na1]
    # Per part, the AND of its group's other parts' (s, s) answers (and whether all are known); per group, of all.
    excl = work[o2 + na1 : o2 + 2 * na1]
    gall = work[o2 + 2 * na1 : o2 + 2 * na1 + ng1]
    selfok = workb[0:na1]
    exclok = workb[na1 : 2 * na1]
    gallok = workb[2 * na1 : 2 * na1 + ng1]
    sctl, rows, tab, lay, words, itab, fpsegs = st[0], st[1], st[2], st[4], st[6], st[7], st[8]
    rowbits, qbase, segcap = sctl[ROWBITS], sctl[QBASE], sctl[SEGCAP]
    stride = n_apart + nag  # ef_pans per effect: its part entries, then its group entries (compiled._result_set)
    cap = succ.shape[0]
    prefetch_memo = mkeys.shape[0] >= PREFETCH_MEMO_MIN
    for ti in range(ntodo):
        x = todo[ti]
        si = x - b0
        # The store's helpers are called directly, by kind: through inlined dispatchers the kernel ran at about 60 % speed.
        if mode == COMPACT:
            unpack(words, x * rowbits, lay, s)
        else:
            r = x - qbase if mode != MEMORY else x
            for k in range(K):
                s[k] = rows[r, k]
        ok = True
        total = 0
        for g in range(G):
            mk[0] = (GROUP << 32) | g
            for r in range(3):
                mk[1 + r] = s[g_reads[g, r]] if r < g_nreads[g] else 0
            i = ht_find(mkeys, mk, 4)
            if i < 0:
                _miss(misses, mset, mslot, tc, 0, mk, 4)
                ok = False
                s_rs[g] = -1
            else:
                s_rs[g] = mvals[i]
                total += rs_len[mvals[i]]
        if total > cap:
            st_ns[si] = ST_SCRATCH
            st_off[si] = tc[T_NMISS]  # its group keys missed so far end here (see ST_MISSED below)
            if total > tc[T_NEED]:
                tc[T_NEED] = total
            continue
        if prefetch_memo:
            _prefetch_probes(s, s_rs, G, rs_off, rs_len, ef_off, ef_len, op_slot, op_kind, op_arg, deps_off, deps,
                             mkeys, ckeys, mk, ck, nproc, sym_on)
        # Phase A: every group's effects, applied to s.
        ns = 0
        for g in range(G):
            rs = s_rs[g]
            if rs < 0:
                continue
            for e in range(rs_off[rs], rs_off[rs] + rs_len[rs]):
                for k in range(K):
                    succ[ns, k] = s[k]
                eok = True
                lo, n_ops = ef_off[e], ef_len[e]
                for o in range(lo, lo + n_ops):
                    if op_kind[o] == SET_OP:
                        succ[ns, op_slot[o]] = op_arg[o]
                for o in range(lo, lo + n_ops):
                    sl = op_slot[o]
                    if op_kind[o] == SET_OP and succ[ns, sl] != s[sl]:
                        for d in range(deps_off[sl], deps_off[sl + 1]):
                            q = deps[d]
                            if succ[ns, q] == 0:  # the empty value normalises to itself (checker.pins)
                                continue
                            _norm_key(mk, q, succ[ns, sl], succ[ns, q])
                            j = ht_find(mkeys, mk, 4)
                            if j < 0:
                                _miss(misses, mset, mslot, tc, 0, mk, 4)
                                eok = False
                                break
                            succ[ns, q] = mvals[j]
                    if not eok:
                        break
                if eok:
                    for o in range(lo, lo + n_ops):
                        if op_kind[o] == MERGE_OP:
                            q = op_slot[o]
                            mk[0] = (MERGE_K << 32) | q
                            mk[1] = succ[ns, ctx[q]] if ctx[q] >= 0 else 0
                            mk[2] = succ[ns, q]
                            mk[3] = op_arg[o]
                            j = ht_find(mkeys, mk, 4)
                            if j < 0:
                                _miss(misses, mset, mslot, tc, 0, mk, 4)
                                eok = False
                                break
                            succ[ns, q] = mvals[j]
                if not eok:
                    ok = False
                s_ok[ns] = eok
                s_eff[ns] = e
                s_label[ns] = ef_label[e]
                s_afail[ns] = -1
                ns += 1
        if nag > 0:
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
                    _miss(misses, mset, mslot, tc, 1, pk, wp)
                    ok = False
                    selfok[p] = False
                else:
                    selfres[p] = pvals[i]
                    selfok[p] = True
            for g in range(nag):
                acc, accok = ag_bits[g], True
                for p in range(ag_poff[g], ag_poff[g + 1]):  # the AND before each part, kept in excl for now
                    excl[p], exclok[p] = acc, accok
                    if selfok[p]:
                        acc &= selfres[p]
                    else:
                        accok = False
                gall[g], gallok[g] = acc, accok
                acc, accok = -1, True
                for p in range(ag_poff[g + 1] - 1, ag_poff[g] - 1, -1):  # times the AND after it
                    excl[p] &= acc
                    exclok[p] = exclok[p] and accok
                    if selfok[p]:
                        acc &= selfres[p]
                    else:
                        accok = False
            for j in range(ns):
                if not s_ok[j]:
                    continue
                held = 0
                jok = True
                for g in range(nag):
                    tp = ef_pans[s_eff[j] * stride + n_apart + g]
                    if tp != PART_MANY:
                        # The effect may change part tp only (or none): the other parts have their (s, s) answers.
                        changed = False
                        if tp >= 0:
                            for k in range(apart_off[tp], apart_off[tp + 1]):
                                sl = apslots[k]
                                if succ[j, sl] != s[sl]:
                                    changed = True
                                    break
                        if not changed:
                            if gallok[g]:
                                held |= gall[g]
                            else:
                                jok = False
                            continue
                        ans = _part_answer(g, tp, ag_poff[g], s, succ, j, s_eff[j] * stride + tp, ef_pans, apslots,
                                           apart_off, pk, wp, pkeys, pvals, misses, mset, mslot, tc)
                        if ans < 0:
                            jok = False
                            continue
                        if exclok[tp]:
                            held |= excl[tp] & ans
                        else:
                            jok = False
                        continue
                    gm = ag_bits[g]
                    for p in range(ag_poff[g], ag_poff[g + 1]):
                        pw = apart_off[p + 1] - apart_off[p]
                        changed = False
                        for k in range(pw):
                            sl = apslots[apart_off[p] + k]
                            if succ[j, sl] != s[sl]:
                                changed = True
                                break
                        if not changed:
                            if selfok[p]:
                                gm &= selfres[p]
                            else:
                                jok = False
                            continue
                        ans = _part_answer(g, p, ag_poff[g], s, succ, j, s_eff[j] * stride + p, ef_pans, apslots,
                                           apart_off, pk, wp, pkeys, pvals, misses, mset, mslot, tc)
                        if ans < 0:
                            jok = False
                            continue
                        gm &= ans
                    held |= gm
                if jok:
                    s_afail[j] = _lowest(a_all & ~held)
                else:
                    ok = False
        # Phase C: canonical forms and their hashes (s_cand 2: to look up), each one's visited-table entry prefetched.
        for j in range(ns):
            s_cand[j] = 0
            if not s_ok[j]:
                continue
            same = True
            for k in range(K):
                if succ[j, k] != s[k]:
                    same = False
                    break
            if same:
                continue
            if sym_on:
                for k in range(nproc):
                    ck[k] = succ[j, k]
                i = ht_find(ckeys, ck, nproc)
                if i < 0:
                    _miss(misses, mset, mslot, tc, 2, ck, nproc)
                    ok = False
                    continue
                en = cvals[i]
                for k in range(nproc):
                    c[k] = canon_vals[en * nproc + k]
                p0 = canon_poff[en]
                p = canon_perms[p0]
                for k in range(nproc, K):
                    c[k] = succ[j, slot_src[p, k]]
                for pi in range(p0 + 1, p0 + canon_plen[en]):  # the least renamed rest, compared as it is made
                    p = canon_perms[pi]
                    for k in range(nproc, K):
                        v = succ[j, slot_src[p, k]]
                        if v != c[k]:
                            if v < c[k]:
                                c[k] = v
                                for k2 in range(k + 1, K):
                                    c[k2] = succ[j, slot_src[p, k2]]
                            break
            else:
                for k in range(K):
                    c[k] = succ[j, k]
            for k in range(K):
                succ_canon[j, k] = c[k]
            h = st_hash(st, c)
            s_h[j] = h
            _prefetch_home(mode, tab, itab, fpsegs, segcap, h)
            s_cand[j] = 2
        if mode == COMPACT:
            # The rows the index's home entries name, fetched together: a compact probe is two dependent misses.
            for j in range(ns):
                if s_cand[j] == 2:
                    _prefetch_compact_row(itab, words, rowbits, s_h[j])
        # Phase D: the candidates (not in the visited set) and their state properties.
        for j in range(ns):
            if s_cand[j] != 2:
                continue
            s_cand[j] = 0
            for k in range(K):
                c[k] = succ_canon[j, k]
            if mode == MEMORY:
                e = _row_find(tab, c, s_h[j])
            elif mode == COMPACT:
                e = _compact_find(itab, words, lay, rowbits, c, s_h[j])
            else:
                e = _fp_find(fpsegs, segcap, s_h[j])
            if e >= 0:
                continue
            held = 0
            jok = True
            for g in range(nsg):
                gm = sg_bits[g]
                if gm & ~pending & s_sometimes == gm:
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
                        _miss(misses, mset, mslot, tc, 1, pk, wp)
                        jok = False
                        continue
                    gm &= pvals[i]
                held |= gm
            if not jok:
                ok = False
                continue
            s_inv[j] = _lowest(s_always & ~held)
            s_wit[j] = held & s_sometimes
            s_cand[j] = 1
        if not ok:
            st_ns[si] = ST_MISSED
            st_off[si] = tc[T_NMISS]  # where its misses end (a distributed search merges misses by state)
            continue
        ncand = 0
        afj = -1
        for j in range(ns):
            ncand += s_cand[j]
            if afj < 0 and s_afail[j] >= 0:
                afj = j
        o, cu, au = tc[T_OUSED], tc[T_CUSED], tc[T_AUSED]
        if o + ns > o_label.shape[0] or cu + ncand > c_h.shape[0] or (afj >= 0 and au >= a_rows.shape[0]):
            st_ns[si] = ST_ROOM
            tc[T_ROOM] = 1
            continue
        st_off[si] = o
        st_coff[si] = cu
        st_cn[si] = ncand
        st_afj[si] = afj
        for j in range(ns):
            o_label[o + j] = s_label[j]
            if s_cand[j]:
                for k in range(K):
                    c_rows[cu, k] = succ_canon[j, k]
                c_h[cu] = s_h[j]
                c_inv[cu] = s_inv[j]
                c_wit[cu] = s_wit[j]
                c_j[cu] = j
                cu += 1
        if afj >= 0:
            st_afp[si] = s_afail[afj]
            st_afv[si] = au
            for k in range(K):
                a_rows[au, k] = succ[afj, k]
            tc[T_AUSED] = au + 1
        tc[T_OUSED] = o + ns
        tc[T_CUSED] = cu
        st_ns[si] = ns
    for m in range(tc[T_NMISS]):  # empty the dedup set for the next call (its keys stay in misses)
        mset[mslot[m]] = -1


@jit_bare
def commit(a: int, b: int, b0: int, ctl: Any, st: Any, counts: Any, wit: Any, bad_vec: Any, row: Any,
           st_ns: Any, st_off: Any, st_coff: Any, st_cn: Any, st_afj: Any, st_afp: Any, st_afv: Any,
           o_label: Any, c_rows: Any, c_h: Any, c_inv: Any, c_wit: Any, c_j: Any, a_rows: Any) -> None:
    """Commit states ``a..b-1``'s successors, as :func:`compute` left them, in BFS order: count each transition, stop at
    the first that breaks an action property, store each candidate not stored yet (its parent is the state), note
    witnesses, stop at the first new state that breaks an invariant or at the state cap.  Serial: this is the one
    place that writes the visited set (the store ``st``, :mod:`checker.pins_store`); the driver made room for every
    candidate."""
    K = c_rows.shape[1]
    # row (scratch of at least K words): the candidate, copied (see compute: no row views).
    sctl, rows, tab, parent, lay, words, itab, fpsegs = st[0], st[1], st[2], st[3], st[4], st[6], st[7], st[8]
    rowbits, qbase, segcap = sctl[ROWBITS], sctl[QBASE], sctl[SEGCAP]
    mode = sctl[0]
    nrows = ctl[NROWS]
    trans = ctl[TRANS]
    pending = ctl[PENDING]
    maxst = ctl[MAXST]
    ctl[ST] = DONE
    if a < b:
        for q in range(st_coff[a - b0], st_coff[a - b0] + st_cn[a - b0]):
            _prefetch_home(mode, tab, itab, fpsegs, segcap, c_h[q])
    for x in range(a, b):
        si = x - b0
        off, co, cn, afj = st_off[si], st_coff[si], st_cn[si], st_afj[si]
        if x + 1 < b:  # the next state's probes, fetched while this one's are done
            for q in range(st_coff[si + 1], st_coff[si + 1] + st_cn[si + 1]):
                _prefetch_home(mode, tab, itab, fpsegs, segcap, c_h[q])
        ci = 0
        for j in range(st_ns[si]):
            counts[o_label[off + j]] += 1
            trans += 1
            if j == afj:
                for k in range(K):
                    bad_vec[k] = a_rows[st_afv[si], k]
                ctl[ST] = VIOL_ACTION
                ctl[INFO_PROP] = st_afp[si]
                ctl[INFO_IDX] = x
                break
            if ci < cn and c_j[co + ci] == j:
                q = co + ci
                ci += 1
                # The store: look the candidate up again (an earlier state of the batch may have stored it), insert.
                for k in range(K):
                    row[k] = c_rows[q, k]
                if mode == MEMORY:
                    e = _row_find(tab, row, c_h[q])
                elif mode == COMPACT:
                    e = _compact_find(itab, words, lay, rowbits, row, c_h[q])
                else:
                    e = _fp_find(fpsegs, segcap, c_h[q])
                if e >= 0:
                    continue
                if maxst >= 0 and nrows >= maxst:
                    ctl[ST] = CAPPED
                    break
                if mode == MEMORY:
                    _memory_put(rows, tab, parent, -1 - e, row, nrows, x)
                elif mode == COMPACT:
                    _compact_put(words, lay, itab, parent, rowbits, -1 - e, row, nrows, x)
                else:
                    _fp_put(fpsegs, st[9], rows, st[10], st[11], qbase, -1 - e, row, c_h[q], nrows, x, c_j[q])
                got = c_wit[q] & pending
                if got:
                    for w in range(63):
                        if (got >> w) & 1:
                            wit[w] = nrows
                    pending &= ~got
                nrows += 1
                if c_inv[q] >= 0:
                    ctl[ST] = VIOL_STATE
                    ctl[INFO_PROP] = c_inv[q]
                    ctl[INFO_IDX] = nrows - 1
                    break
        if ctl[ST] != DONE:
            break
    ctl[NROWS] = nrows
    ctl[TRANS] = trans
    ctl[PENDING] = pending
