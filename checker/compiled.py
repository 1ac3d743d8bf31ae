"""The compiled engine: breadth-first search of a :class:`checker.pins.PinsModel` in compiled code.

The search runs in :func:`checker.pins_kernel.compute` and
:func:`checker.pins_kernel.commit` (numba) over numpy arrays: successor
generation from memoised group effects, normalisation, the symmetry
canonical form, the visited set (exact rows in an open-addressing table) and
property evaluation.  This module owns the tables: when the kernel meets a
key it has no entry for, it returns the keys it missed, and
:meth:`CompiledExplorer._fill` computes them by asking the model (which asks
the readable model), then the kernel computes those states again.  In steady
state no Python runs per state.

Threads (``workers``, default: every core this process may use): each batch
of a level is split into consecutive ranges (lanes, ``LANES_PER_THREAD``
per thread), which the threads take in turn; their successors are computed at once (``compute`` reads the tables and the
visited set only, and releases the GIL); the missed entries are filled
between rounds in the order one thread would have met them; the commit is
serial, in BFS order.  So the stored states, their order, the parents, the
counts, the verdict and the trace are the one-thread ones
(``tests/test_compiled.py`` compares them).

Symmetry canonical form: the processes are sorted by the model's ``sym_key``,
and only processes with equal keys are permuted among themselves; of those
candidate renamings, the ones giving the least process values (in the order
of ``process_order``) are kept, and of those the one giving the least vector
of integers in the other slots is the representative.  ``sym_key`` does not
depend on process names, so renaming a state by q maps its candidate set onto
the renamed state's, and both reach the same least vector: an exact orbit
canonical form (for this run's interning).  (Sorting by the keys' values and
the process values' order, rather than by their integer codes, makes
representatives regular -- a quarter of the table entries at 3 servers,
max-term 3.)  It is not the readable engine's representative
(that one compares readable states), so the two engines store different
members of the same orbits; counts, verdicts and shortest-trace lengths are
the same, and the differential tests compare state sets up to that choice.

The level loop is the search driver's (:func:`checker.search.search`): this
class is its compiled expander.  ``keep_going`` (``check --continue``): see
:meth:`CompiledExplorer._commit_keep_going`; ``--checkpoint``: see :class:`_Checkpoint`.

Traces: the stored path is decoded into readable states, each replaced by
the readable model's representative, and :func:`checker.trace.concretize`
re-finds it step by step as real transitions of the readable model.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from checker import checkpoint as ck
from checker import pins_kernel as K  # noqa: N812  (the kernel's constants read as K.MISS, K.GROW, ...)
from checker.model import Kind, Property
from checker.pins import MERGE, SET, Op, PinsModel, check_model
from checker.pins_store import HUGE_ARRAYS, Store, adopted, collision_probability, st_room_batch
from checker.result import Progress, Result, Stats, finish
from checker.search import Capped, Position, Verdicts, search

BATCH = 1 << 14
"""States expanded per batch: the threads share a batch's states; progress reports (and Ctrl-C) come between batches."""


COMPILE_WAIT = 600.0
"""Seconds the first batch waits for ``compute``'s compile in the second process (it takes about 10-25 s here) before
it gives that process up and compiles ``compute`` itself."""
FIRST_SCRATCH = 64
"""Successors of one state that a lane holds at first (grown when a state has more: it is put off to the next round)."""
LANES_PER_THREAD = 4
"""With threads, a batch is split into this many consecutive ranges (lanes) per thread, which the threads take in turn
as they become free: the states of a batch differ in cost, and fixed halves left one thread waiting for the other."""


class _Round:
    """One round of ``compute`` over lanes: each thread that calls :meth:`work` takes the next lane not taken yet, in
    lane order, until none is left or :meth:`stop` is called."""

    def __init__(self, run_lane: Callable[[int], None], lanes: list[int]) -> None:
        self.run_lane = run_lane
        self.todo = iter(lanes)
        self.take = threading.Lock()
        self.stopped = False

    def work(self) -> None:
        while True:
            with self.take:
                t = None if self.stopped else next(self.todo, None)
            if t is None:
                return
            self.run_lane(t)

    def stop(self) -> None:
        with self.take:
            self.stopped = True


def _join(jobs: list[Future[None]]) -> None:
    """Wait for every job; a Ctrl-C meanwhile is raised once all are done, and so is a job's error (no thread may go on
    computing into the buffers after the search has ended and its report is being built)."""
    interrupted = False
    error: BaseException | None = None
    for job in jobs:
        while True:
            try:
                job.result()
            except KeyboardInterrupt:
                interrupted = True
                continue
            except BaseException as e:  # re-raised below, once every job is done
                error = error or e
            break
    if error is not None:
        raise error
    if interrupted:
        raise KeyboardInterrupt


class _Buf:
    """A growable int64 array: ``arr`` has spare capacity, its first ``n`` entries are in use.  Appends wait in a list
    until :meth:`flush` (one numpy write per fill, not one per table entry)."""

    def __init__(self, cap: int = 1024) -> None:
        self.arr = np.zeros(cap, dtype=np.int64)
        self.n = 0
        self.waiting: list[int] = []

    @property
    def size(self) -> int:
        """Entries in use, the waiting ones included."""
        return self.n + len(self.waiting)

    def extend(self, values: list[int]) -> int:
        """Append ``values`` (visible in ``arr`` after :meth:`flush`); the index of the first."""
        start = self.n + len(self.waiting)
        self.waiting.extend(values)
        return start

    def flush(self) -> None:
        start, need = self.n, self.size
        if need > len(self.arr):
            grown = np.zeros(max(need, 2 * len(self.arr)), dtype=np.int64)
            grown[:start] = self.arr[:start]
            self.arr = grown
        self.arr[start:need] = self.waiting
        self.n = need
        self.waiting = []


class _Table:
    """An open-addressing hash table of int64 key rows (width ``w``) to int64 values, kept at most half full.

    Each entry is one row of ``w + 1`` words, the value last (``vals`` is a view of that column), so a lookup that
    misses the caches fetches the key and its value together: one memory wait, where a separate value array cost a
    second (3/3/1: the memo alone is 20 MiB, beyond a core's caches)."""

    def __init__(self, w: int, cap: int = 1 << 12) -> None:
        self.w = w
        self.keys = np.full((cap, w + 1), -1, dtype=np.int64)
        self.vals = self.keys[:, w]
        self.count = 0

    def adopt(self, rows: Any, count: int) -> None:
        """Take ``rows`` (``(capacity, w + 1)``, values last) as the table's entries."""
        self.keys, self.vals, self.count = rows, rows[:, self.w], count

    def put_many(self, keys: Any, vals: Any) -> None:
        """Insert ``keys`` (tuples of ``w`` ints, or an array of such rows) with their ``vals`` (absent keys only)."""
        if not len(keys):
            return
        while 2 * (self.count + len(keys)) > len(self.keys):
            grown = np.full((2 * len(self.keys), self.w + 1), -1, dtype=np.int64)
            K.ht_rehash(self.keys, grown, self.w)
            self.adopt(grown, self.count)
        self.count = K.ht_put_many(self.keys, np.array(keys, dtype=np.int64).reshape(len(keys), self.w),
                                   np.array(vals, dtype=np.int64), self.count)


def cores() -> int:
    """The CPUs this process may run on (the affinity mask where there is one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Lane:
    """One thread's buffers for :func:`checker.pins_kernel.compute`: scratch for one state's successors, the batch's
    outputs (grown when full, keeping their contents), the missed keys and their dedup set."""

    def __init__(self, w: int, ngroups: int, miss_w: int, work: tuple[int, int] = (0, 0)) -> None:
        self.w = w
        # compute's own scratch (checker.pins_kernel.work_sizes): the kernel allocates nothing.
        self.work, self.workb = np.zeros(work[0], dtype=np.int64), np.zeros(work[1], dtype=np.bool_)
        self.tc = np.zeros(K.TC_SIZE, dtype=np.int64)
        self.ngroups = ngroups
        self.scratch: tuple[Any, ...] = ()
        self.grow_scratch(FIRST_SCRATCH)
        self.out: tuple[Any, ...] = self._out(1 << 14, 1 << 12, 64)
        self.misses = np.zeros((0, miss_w), dtype=np.int64)
        self.mset = self.mslot = np.zeros(0, dtype=np.int64)
        self.miss_w = miss_w
        self.grow_misses(1 << 12)

    def grow_scratch(self, need: int) -> None:
        cap = 1
        while cap < need:
            cap *= 2
        if self.scratch and len(self.scratch[0]) >= cap:
            return
        z = np.zeros
        self.scratch = (z((cap, self.w), dtype=np.int64), z((cap, self.w), dtype=np.int64), z(cap, dtype=np.int64),
                        z(cap, dtype=np.bool_), *(z(cap, dtype=np.int64) for _ in range(5)), z(self.ngroups, dtype=np.int64),
                        z(cap, dtype=np.int64))

    def _out(self, nsucc: int, ncand: int, nact: int) -> tuple[Any, ...]:
        z = np.zeros
        return (z(nsucc, dtype=np.int64), z((ncand, self.w), dtype=np.int64), *(z(ncand, dtype=np.int64) for _ in range(4)),
                z((nact, self.w), dtype=np.int64))

    def next_round(self, scratch_cap: int) -> None:
        """Ready for the next round of a batch: the round's misses and needs cleared, room for ``scratch_cap`` successors
        of a state, and, if a state found the outputs full, twice the outputs."""
        self.tc[K.T_NMISS] = self.tc[K.T_NEED] = 0
        self.grow_scratch(scratch_cap)
        if self.tc[K.T_ROOM]:
            self.grow_out()
            self.tc[K.T_ROOM] = 0

    def grow_out(self) -> None:
        """Double every output array, keeping what is in them."""
        old = self.out
        new = self._out(2 * len(old[0]), 2 * len(old[2]), 2 * len(old[6]))
        for a, b in zip(old, new, strict=True):
            b[: len(a)] = a
        self.out = new

    def grow_misses(self, cap: int = 0) -> None:
        cap = cap or 2 * len(self.misses)
        self.misses = np.zeros((cap, self.miss_w), dtype=np.int64)
        self.mset = np.full(2 * cap, -1, dtype=np.int64)
        self.mslot = np.zeros(cap, dtype=np.int64)


class CompiledExplorer:
    """Breadth-first search of ``model``; same :class:`checker.bfs.Result` as the other engines."""

    def __init__(self, model: PinsModel, *, symmetry: bool = True, max_states: int | None = None,
                 progress: Callable[[Progress], None] | None = None, progress_interval: float = 1.0,
                 workers: int | None = None, batch: int = BATCH, store: str = "memory", keep_going: bool = False,
                 checkpoint: Path | None = None, checkpoint_key: str = "", checkpoint_interval: float = 60.0) -> None:
        check_model(model)
        if (workers is not None and workers < 1) or batch < 1:
            raise ValueError("workers and batch must be at least 1")
        self.workers = workers if workers is not None else cores()
        self.batch = batch
        if len(model.state_props) > 62 or len(model.action_props) > 62:
            raise ValueError("the compiled engine checks at most 62 state and 62 action properties at once")
        self.model = model
        self.symmetry = symmetry and model.symmetry is not None
        self.max_states = max_states
        self.keep_going = keep_going  # go on past a violation until every property is decided (check --continue)
        # --checkpoint DIR: saved at level ends, at most once every checkpoint_interval seconds (see _Checkpoint).
        self.checkpointer: _Checkpoint | None = None
        self.spare: _Lane | None = None  # check --continue: the buffers for expanding one state again
        self.pool: ThreadPoolExecutor | None = None
        self.compile_proc: subprocess.Popen[bytes] | None = None  # compiling the kernel's compute (see start)
        self.progress = progress
        self.progress_interval = progress_interval
        w = model.width
        self.width = w
        self.nproc = model.symmetry.n if self.symmetry and model.symmetry is not None else 0
        # Static description of the model.
        g = model.groups
        self.g_reads = np.zeros((len(g), 3), dtype=np.int64)
        for i, grp in enumerate(g):
            self.g_reads[i, : len(grp.reads)] = grp.reads
        self.g_nreads = np.array([len(grp.reads) for grp in g], dtype=np.int64)
        deps: list[list[int]] = [[] for _ in range(w)]
        for q, c in enumerate(model.context):
            if c >= 0:
                deps[c].append(q)
        self.deps_off = np.array([0, *itertools.accumulate(len(d) for d in deps)], dtype=np.int64)
        self.deps = np.array([q for d in deps for q in d] or [0], dtype=np.int64)
        self.deps_of = deps
        self.ctx = np.array(model.context, dtype=np.int64)
        self.context_slots = {c for c in model.context if c >= 0}
        sp, ap = model.state_props, model.action_props
        # Properties with the same parts form a group: one memo entry per (group, part, values) holds the bitmask of the
        # group's properties that hold there, so a part's values are looked up (and computed) once for all of them.
        self.sgroups = self._groups([x.parts for x in sp])
        self.agroups = self._groups([x.parts for x in ap])
        parts = [part for parts_, _ in self.sgroups for part in parts_]
        self.sg_poff = np.array([0, *itertools.accumulate(len(pp) for pp, _ in self.sgroups)], dtype=np.int64)
        self.sg_bits = np.array([sum(1 << a for a in members) for _, members in self.sgroups] or [0], dtype=np.int64)
        self.part_off = np.array([0, *itertools.accumulate(len(p) for p in parts)], dtype=np.int64)
        self.pslots = np.array([k for p in parts for k in p] or [0], dtype=np.int64)
        self.s_always = sum(1 << a for a, x in enumerate(sp) if x.prop.kind is not Kind.SOMETIMES)
        self.s_sometimes = sum(1 << a for a, x in enumerate(sp) if x.prop.kind is Kind.SOMETIMES)
        aparts = [part for parts_, _ in self.agroups for part in parts_]
        self.ag_poff = np.array([0, *itertools.accumulate(len(pp) for pp, _ in self.agroups)], dtype=np.int64)
        self.ag_bits = np.array([sum(1 << a for a in members) for _, members in self.agroups] or [0], dtype=np.int64)
        self.apart_group = np.array([g for g, (pp, _) in enumerate(self.agroups) for _ in pp] or [0], dtype=np.int64)
        self.apart_off = np.array([0, *itertools.accumulate(len(p) for p in aparts)], dtype=np.int64)
        self.apslots = np.array([k for p in aparts for k in p] or [0], dtype=np.int64)
        self.aparts = aparts
        self.a_all = sum(1 << a for a in range(len(ap)))
        # Per slot, the action-property parts that read it (for the parts an effect may change: see _result_set).
        self.aparts_of_slot: list[list[int]] = [[] for _ in range(w)]
        for p, part in enumerate(aparts):
            for k in part:
                self.aparts_of_slot[k].append(p)
        wp = 2 + max([len(p) for p in parts] + [2 * len(p) for p in aparts] + [1])
        sym = model.symmetry
        self.slot_perm = np.array(sym.slot_perms if sym is not None else [list(range(w))], dtype=np.int64)
        # The kernel's form: the slot whose value each slot takes under each permutation (the inverse maps).
        self.slot_src = np.argsort(self.slot_perm, axis=1).astype(np.int64)
        self.perm_index = {p: i for i, p in enumerate(sym.perms)} if sym is not None else {}
        # Lazily filled tables.
        self.memo = _Table(4)
        self.pmemo = _Table(wp)
        self.cmemo = _Table(max(self.nproc, 1))
        self.rs_off, self.rs_len = _Buf(), _Buf()
        self.ef_label, self.ef_off, self.ef_len = _Buf(), _Buf(), _Buf()
        # Per effect, one entry per action-property part: the part's answer (a bitmask, written by the kernel when it
        # first looks it up), or PART_LOOKUP; then one entry per group of action properties: the one part of the group
        # that the effect may change, or PART_NONE or PART_MANY; see _result_set.
        self.ef_pans = _Buf()
        self.op_slot, self.op_kind, self.op_arg = _Buf(), _Buf(), _Buf()
        self.canon_vals, self.canon_poff, self.canon_plen, self.canon_perms = _Buf(), _Buf(), _Buf(), _Buf()
        self.rename_memo: dict[tuple[int, int], int] = {}
        self.perm_plans: dict[tuple[tuple[int, ...], ...], list[tuple[int, tuple[int, ...]]]] = {}  # see _canon_candidates
        self.sym_key_memo: dict[tuple[int, int], Any] = {}  # the model's answers, asked once
        self.order_memo: dict[int, Any] = {}
        self.fixed_parts: dict[int, list[frozenset[int] | None]] = {}  # _result_set's per-group analysis of the parts
        self.bufs = (self.rs_off, self.rs_len, self.ef_label, self.ef_off, self.ef_len, self.ef_pans, self.op_slot, self.op_kind,
                     self.op_arg, self.canon_vals, self.canon_poff, self.canon_plen, self.canon_perms)
        # The store: rows in BFS order (also the queue), parents, the visited table.
        self.store = Store(store, w)
        self.nrows = 0
        # What the kernel's compute reads besides the tables that grow (argument order of checker.pins_kernel.compute).
        self.static: tuple[Any, ...] = (self.g_reads, self.g_nreads, self.deps_off, self.deps, self.ctx)
        self.static_tail: tuple[Any, ...] = (self.sg_poff, self.sg_bits, self.part_off, self.pslots, self.s_always, self.s_sometimes,
                            self.ag_poff, self.ag_bits, self.apart_group, self.apart_off, self.apslots, self.a_all,
                            self.nproc, int(self.symmetry), self.slot_src)
        # Per state of a batch: successors, their offset, candidates' offset and number, first failing action (position,
        # property, row in a_rows); see checker.pins_kernel.compute.
        self.st: tuple[Any, ...] = tuple(np.zeros(0, dtype=np.int64) for _ in range(7))
        self.lane_shape = (w, len(g), 1 + max(4, wp, self.nproc),
                           K.work_sizes(w, wp, self.nproc, len(aparts), len(self.agroups)))
        self.lanes = [_Lane(*self.lane_shape) for _ in range(self.workers * LANES_PER_THREAD if self.workers > 1 else 1)]
        # The buffers of the next batch's first round, computed during a commit (see _commit_batch), and that batch.
        self.second: tuple[tuple[Any, ...], list[_Lane]] | None = None
        self.ahead: tuple[int, int, int, list[Any]] | None = None
        self.level_top = 0  # where the level being expanded ends (the driver's batches stop there)
        self.aheads = 0  # batches whose first round was computed during the commit before
        self.scratch_cap = FIRST_SCRATCH  # successors of one state that every lane's scratch holds (see _prepare)
        self.interrupted = False  # Ctrl-C while helping with the next batch's round, raised once the batch is told
        self.fills = 0
        self.kernel_calls = 0
        self.kernel_seconds = 0.0  # time in the compiled kernel
        self.commit_seconds = 0.0  # of which in the serial commit
        self.fill_seconds = 0.0  # time filling tables (asking the model)
        self.deltas: list[tuple[Any, ...]] | None = None  # each fill's new entries, when recorded (see apply_delta)
        if checkpoint is not None:
            self.checkpointer = _Checkpoint(self, checkpoint, checkpoint_key, checkpoint_interval)

    @staticmethod
    def _groups(part_lists: list[tuple[tuple[int, ...], ...]]) -> list[tuple[tuple[tuple[int, ...], ...], list[int]]]:
        """Properties grouped by their parts: (parts, member indexes), in order of first appearance."""
        out: dict[tuple[tuple[int, ...], ...], list[int]] = {}
        for a, parts in enumerate(part_lists):
            out.setdefault(parts, []).append(a)
        return list(out.items())

    # ------------------------------------------------------------------ filling tables

    def _fill(self, misses: Any) -> None:
        """Compute every missed entry by asking the model, and store it.

        Python's cyclic garbage collector is paused meanwhile: a fill makes many small objects that live on (the
        model's interned values), and the collections they set off walk every one of them again and again (a tenth
        of the fill time at 3 servers, max-term 4); the model's values form no cycles to collect."""
        t0 = time.perf_counter()
        paused = gc.isenabled()
        gc.disable()
        try:
            self._fill_entries(misses)
        finally:
            if paused:
                gc.enable()
        self.fill_seconds += time.perf_counter() - t0

    def _fill_entries(self, misses: Any) -> None:
        model = self.model
        mem_k: dict[tuple[int, ...], int] = {}
        prop_k: dict[tuple[int, ...], int] = {}
        can_k: dict[tuple[int, ...], int] = {}
        prop_w, nproc = self.pmemo.w, self.nproc
        for row in misses.tolist():
            table = row[0]
            if table == 0:
                k = tuple(row[1:5])
                if k in mem_k:
                    continue
                kind, ident = k[0] >> 32, k[0] & 0xFFFFFFFF
                if kind == K.GROUP:
                    nr = len(model.groups[ident].reads)
                    mem_k[k] = self._result_set(ident, model.effects(ident, tuple(k[1 : 1 + nr])))
                elif kind == K.NORM:
                    mem_k[k] = model.normalise(ident, k[1], k[2])
                else:
                    mem_k[k] = model.merge(ident, k[1], k[2], k[3])
            elif table == 1:
                k = tuple(row[1 : 1 + prop_w])
                if k in prop_k:
                    continue
                kind, g, part = k[0] >> 32, k[0] & 0xFFFFFFFF, k[1]
                mask = 0
                if kind == 0:
                    parts_, members = self.sgroups[g]
                    vals = k[2 : 2 + len(parts_[part])]
                    for a in members:
                        if model.holds(a, part, vals):
                            mask |= 1 << a
                else:
                    parts_, members = self.agroups[g]
                    pw = len(parts_[part])
                    before, after = k[2 : 2 + pw], k[2 + pw : 2 + 2 * pw]
                    for a in members:
                        if model.action_holds(a, part, before, after):
                            mask |= 1 << a
                prop_k[k] = mask
            else:
                k = tuple(row[1 : 1 + nproc])
                if k not in can_k:
                    can_k[k] = self._canon_entry(k)
        sizes = [buf.n for buf in self.bufs]
        for buf in self.bufs:
            buf.flush()
        delta: list[Any] = []
        for table, got in ((self.memo, mem_k), (self.pmemo, prop_k), (self.cmemo, can_k)):
            rows = np.array(list(got), dtype=np.int64).reshape(len(got), table.w)
            codes = np.array(list(got.values()), dtype=np.int64)
            table.put_many(rows, codes)
            delta += [rows, codes]
        self.fills += len(mem_k) + len(prop_k) + len(can_k)
        if self.deltas is not None:  # a distributed search sends every fill to the actors' copies of the tables
            self.deltas.append((*delta, *(buf.arr[n : buf.n].copy() for buf, n in zip(self.bufs, sizes, strict=True))))

    def apply_delta(self, delta: tuple[Any, ...]) -> None:
        """Make this copy's tables those of the explorer whose :meth:`_fill` recorded ``delta`` (the same entries, put in
        the same order), without asking the model: the tables of a distributed search's actors (checker/ray_compiled.py)."""
        for i, table in enumerate((self.memo, self.pmemo, self.cmemo)):
            table.put_many(delta[2 * i], delta[2 * i + 1])
        for buf, tail in zip(self.bufs, delta[6:], strict=True):
            buf.extend(tail.tolist())
            buf.flush()

    def tables(self) -> tuple[Any, ...]:
        """The lazily filled tables as arrays (for :meth:`adopt_tables` in another process)."""
        for buf in self.bufs:
            buf.flush()
        return (*((t.keys, t.count) for t in (self.memo, self.pmemo, self.cmemo)), *(buf.arr[: buf.n] for buf in self.bufs))

    def adopt_tables(self, saved: tuple[Any, ...]) -> None:
        """Undo :meth:`tables` into this explorer (its tables replaced)."""
        for t, (rows, count) in zip((self.memo, self.pmemo, self.cmemo), saved[:3], strict=True):
            t.adopt(np.array(rows), int(count))
        for buf, arr in zip(self.bufs, saved[3:], strict=True):
            buf.waiting = []
            buf.arr, buf.n = np.array(arr, dtype=np.int64), len(arr)
            buf.flush()

    def _result_set(self, group: int, effects: list[Any]) -> int:
        """Append a group's effects to the effect and op arrays; the index of the new result set.

        An action-property part whose slots the group reads, none of them with a context slot (so not normalised) and
        none merged by the effect, has before and after values that are functions of the group's key and the effect
        (the read values, then the effect's SETs): its answer is one per effect, so the kernel keeps it in ``ef_pans``
        (K.PART_UNKNOWN until it first looks it up) instead of looking it up per transition.  Other parts:
        K.PART_LOOKUP.

        After an effect's part entries come its group entries, one per group of action properties: which of the
        group's parts the effect may change.  A successor differs from its state only in the slots the effect SETs, the
        slots normalised against them (their ``deps``) and the slots it MERGEs (see :func:`checker.pins_kernel.compute`),
        so every other part of the group keeps its values and its (s, s) answer, and the kernel looks at that one part
        only.  The entry is that part's index, K.PART_NONE where the effect changes no part of the group, K.PART_MANY
        where it may change several (the kernel then looks at each)."""
        first, at = self.ef_label.size, self.op_slot.size
        fixed_parts = self.fixed_parts.get(group)
        if fixed_parts is None:  # per part: its slots if they are all read by the group and have no context, else None
            reads = set(self.model.groups[group].reads)
            fixed_parts = self.fixed_parts[group] = [
                frozenset(part) if all(k in reads and self.model.context[k] < 0 for k in part) else None for part in self.aparts]
        # Without a MERGE an effect's answers are the group's: unknown where the part is fixed, else looked up.
        plain = [K.PART_LOOKUP if fixed is None else K.PART_UNKNOWN for fixed in fixed_parts]
        width, context_slots = self.width, self.context_slots
        pans: list[int] = []
        labels: list[int] = []
        offs: list[int] = []
        lens: list[int] = []
        slots: list[int] = []
        kinds: list[int] = []
        args: list[int] = []
        for label, ops in effects:
            labels.append(label)
            offs.append(at + len(slots))
            lens.append(len(ops))
            merged: set[int] = set()
            for slot, kind, arg in ops:
                if kind not in (SET, MERGE) or not 0 <= slot < width:
                    raise ValueError(f"bad effect op {Op(slot, kind, arg)}")
                if kind == MERGE:
                    if slot in context_slots:
                        raise ValueError("a merged slot cannot be a context slot")
                    merged.add(slot)
                slots.append(slot)
                kinds.append(kind)
                args.append(arg)
            if not merged:
                pans += plain
            else:
                for fixed in fixed_parts:
                    pans.append(K.PART_UNKNOWN if fixed is not None and fixed.isdisjoint(merged) else K.PART_LOOKUP)
            touched: set[int] = set()
            for slot, kind, _ in ops:
                touched.update(self.aparts_of_slot[slot])
                if kind == SET:
                    for q in self.deps_of[slot]:
                        touched.update(self.aparts_of_slot[q])
            for g in range(len(self.agroups)):
                mine = [p for p in touched if self.apart_group[p] == g]
                pans.append(mine[0] if len(mine) == 1 else K.PART_NONE if not mine else K.PART_MANY)
        for buf, vals in ((self.ef_label, labels), (self.ef_off, offs), (self.ef_len, lens),
                          (self.op_slot, slots), (self.op_kind, kinds), (self.op_arg, args), (self.ef_pans, pans)):
            buf.extend(vals)
        rs = self.rs_off.extend([first])
        self.rs_len.extend([len(effects)])
        return rs

    def _canon_candidates(self, procs: tuple[int, ...]) -> tuple[tuple[int, ...], list[int]]:
        """The least renamed process values over the renamings that sort processes by key, and the renamings reaching them."""
        n = self.nproc
        sym_keys, orders = self.sym_key_memo, self.order_memo
        keys = []
        for i, v in enumerate(procs):
            key = sym_keys.get((i, v))
            if key is None:
                key = sym_keys[i, v] = self.model.sym_key(i, v)
            keys.append(key)
        order = sorted(range(n), key=keys.__getitem__)
        blocks: list[list[int]] = []
        for i in order:
            if blocks and keys[blocks[-1][0]] == keys[i]:
                blocks[-1].append(i)
            else:
                blocks.append([i])
        struct = tuple(tuple(b) for b in blocks)
        plan = self.perm_plans.get(struct)
        if plan is None:  # the renamings that keep the blocks in order: (index, the old process at each new position)
            plan = []
            for choice in itertools.product(*(itertools.permutations(b) for b in blocks)):
                at = tuple(itertools.chain.from_iterable(choice))
                p = [0] * n
                for new_pos, old in enumerate(at):
                    p[old] = new_pos
                plan.append((self.perm_index[tuple(p)], at))
            self.perm_plans[struct] = plan
        renames, model = self.rename_memo, self.model
        best: tuple[int, ...] | None = None
        best_order: tuple[Any, ...] = ()
        perms: list[int] = []
        for pi, at in plan:
            # Renamed position by position and compared with the best so far as the tuples compare (the first unequal
            # position decides, by <): a renaming is dropped at its first position that is not less (most are, at the
            # first or second), so few are renamed in full.
            new: list[int] = []
            ranks: list[Any] = []
            tied = best is not None  # equal to the best so far up to here
            for k, old in enumerate(at):
                v = procs[old]
                r = renames.get((pi, v))
                if r is None:
                    r = renames[pi, v] = model.rename(pi, v)
                rank = orders.get(r)
                if rank is None:
                    rank = orders[r] = model.process_order(r)
                if tied and rank != best_order[k]:
                    if not rank < best_order[k]:
                        break
                    tied = False
                new.append(r)
                ranks.append(rank)
            else:
                if tied:
                    perms.append(pi)
                else:
                    best, best_order, perms = tuple(new), tuple(ranks), [pi]
        assert best is not None
        return best, perms

    def _canon_entry(self, procs: tuple[int, ...]) -> int:
        best, perms = self._canon_candidates(procs)
        entry = self.canon_poff.size
        self.canon_vals.extend(list(best))
        self.canon_poff.extend([self.canon_perms.size])
        self.canon_plen.extend([len(perms)])
        self.canon_perms.extend(perms)
        return entry

    def canon(self, v: tuple[int, ...]) -> tuple[int, ...]:
        """The canonical form of ``v`` as the kernel computes it (for the initial states)."""
        if not self.symmetry:
            return v
        n = self.nproc
        best, perms = self._canon_candidates(v[:n])
        sym = self.model.symmetry
        assert sym is not None
        rest: tuple[int, ...] | None = None
        for pi in perms:
            cand = [0] * self.width
            for k in range(n, self.width):
                cand[sym.slot_perms[pi][k]] = v[k]
            if rest is None or tuple(cand[n:]) < rest:
                rest = tuple(cand[n:])
        assert rest is not None
        return best + rest

    # ------------------------------------------------------------------ the search

    def _grow(self, need: int) -> None:
        """Room in the store for ``need`` more states (and each slot's width for the batch's candidates)."""
        self.store.n = self.nrows
        most = int(self.st[0].max()) if len(self.st[0]) else 0
        while not all(st_room_batch(self.store.tup(), self.nrows, need, lane.out[1], lane.out[2], int(lane.tc[K.T_CUSED]), most)
                      for lane in self.lanes):
            self.store.ensure(need)

    def _compute(self, lane: _Lane, todo: Any, b0: int, pending: int, store: Store, st: tuple[Any, ...] | None = None) -> None:
        """Run :func:`checker.pins_kernel.compute` on ``todo`` with ``lane``'s buffers (in a worker thread or not), and the
        per-state arrays ``st`` (default: ``self.st``)."""
        K.compute(*self._compute_args(lane, todo, b0, pending, store, st))

    def _compute_args(self, lane: _Lane, todo: Any, b0: int, pending: int, store: Store,
                      st: tuple[Any, ...] | None = None) -> tuple[Any, ...]:
        return (todo, len(todo), b0, pending, store.tup(),
                self.memo.keys, self.memo.vals, self.pmemo.keys, self.pmemo.vals, self.cmemo.keys, self.cmemo.vals,
                *self.static, self.rs_off.arr, self.rs_len.arr, self.ef_label.arr, self.ef_off.arr, self.ef_len.arr,
                self.op_slot.arr, self.op_kind.arr, self.op_arg.arr, self.ef_pans.arr, *self.static_tail,
                self.canon_vals.arr, self.canon_poff.arr, self.canon_plen.arr, self.canon_perms.arr,
                *(self.st if st is None else st), lane.tc, *lane.scratch, *lane.out, lane.misses, lane.mset, lane.mslot,
                lane.work, lane.workb)

    def _round(self, lanes: list[_Lane], todos: list[Any], b0: int, pending: int, store: Store,
               st: tuple[Any, ...] | None = None) -> _Round:
        return _Round(lambda t: self._compute(lanes[t], todos[t], b0, pending, store, st),
                      [t for t in range(len(lanes)) if len(todos[t])])

    def _compute_round(self, lanes: list[_Lane], todos: list[Any], b0: int, pending: int, store: Store,
                       pool: ThreadPoolExecutor | None) -> None:
        """:meth:`_compute` of each lane's ``todos``, the lanes taken in order by whichever thread is free."""
        rnd = self._round(lanes, todos, b0, pending, store)
        jobs: list[Future[None]] = []
        try:
            if pool is not None:
                for _ in range(self.workers - 1):
                    jobs.append(pool.submit(rnd.work))
            rnd.work()
        finally:
            rnd.stop()
            _join(jobs)

    def _prepare(self, b0: int, b1: int, lanes: list[_Lane], st: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[Any]]:
        """Per-state arrays for the batch ``b0..b1-1`` (``st``, grown if short), its lanes' states, their counters cleared."""
        n = b1 - b0
        if len(st[0]) < n:
            st = tuple(np.zeros(n, dtype=np.int64) for _ in range(len(st)))
        bounds = [b0 + n * t // len(lanes) for t in range(len(lanes) + 1)]
        for lane in lanes:
            lane.tc[:] = 0
            # Every lane of either set holds as many successors as the most any lane has grown to: a state that does not
            # fit is put off to the next round, which moves its misses, and so the fill order, from one thread's.
            lane.grow_scratch(self.scratch_cap)
        return st, [np.arange(bounds[t], bounds[t + 1], dtype=np.int64) for t in range(len(lanes))]

    def _expand_batch(self, b0: int, b1: int, pool: ThreadPoolExecutor | None, pending: int, store: Store | None = None,
                      lanes: list[_Lane] | None = None, computed: list[Any] | None = None) -> None:
        """Compute every successor of states ``b0..b1-1`` (its lanes taken by ``workers`` threads), filling missed table entries
        between rounds, until every state is done; then :meth:`_commit_batch` stores them in order.

        Determinism: the lanes split the batch into consecutive ranges; a round gives every lane its states still to do;
        the misses of a round are filled in lane order, each lane's in the order its states met them (first occurrence
        kept), which is the order one lane doing the whole batch would meet them.  So every table entry, and every
        interned value of the model, is made in the same order however many threads run.

        ``computed``: the lanes' states, whose first round is done already (:meth:`_commit_batch` computed it ahead)."""
        store = store or self.store
        lanes = lanes or self.lanes
        if computed is None:
            self.st, todos = self._prepare(b0, b1, lanes, self.st)
        else:
            todos = computed
        if self.compile_proc is not None:  # compute's compile (see start); a stuck one is given up: compiled here
            try:
                self.compile_proc.wait(timeout=COMPILE_WAIT)
            except subprocess.TimeoutExpired:
                self.compile_proc.kill()
                self.compile_proc.wait()
            self.compile_proc = None
        while True:
            if computed is None:
                self.kernel_calls += 1
                t0 = time.perf_counter()
                saved = [lane.tc.copy() for lane in lanes]
                self._compute_round(lanes, todos, b0, pending, store, pool)
                self.kernel_seconds += time.perf_counter() - t0
                if any(lane.tc[K.T_MOVER] for lane in lanes):  # a miss list was full: bigger lists, the same round again
                    for lane, tc in zip(lanes, saved, strict=True):
                        lane.tc[:] = tc
                        lane.grow_misses()
                    continue
            computed = None
            got = [lane.misses[: int(lane.tc[K.T_NMISS])] for lane in lanes]
            if any(len(m) for m in got):
                self._fill(np.concatenate(got))
            self.scratch_cap = max(self.scratch_cap, *(int(lane.tc[K.T_NEED]) for lane in lanes))
            for lane in lanes:
                lane.next_round(self.scratch_cap)
            ns = self.st[0]
            todos = [todo[ns[todo - b0] < 0] for todo in todos]
            if not any(len(todo) for todo in todos):
                return

    def _commit_batch(self, b0: int, b1: int, ctl: Any, counts: Any, wit: Any, bad_vec: Any) -> None:
        """Store the batch's new states in BFS order (:func:`checker.pins_kernel.commit`, one lane's range at a time).

        Meanwhile the other threads compute the first round of the level's next batch ahead, into the second set of
        buffers (``self.ahead``), where that is sound: see :meth:`_ahead_range`."""
        self._grow(sum(int(lane.tc[K.T_CUSED]) for lane in self.lanes))
        nxt = self._ahead_range(b1)
        pool = self.pool
        rnd: _Round | None = None
        jobs: list[Future[None]] = []
        if nxt is not None and pool is not None:
            if self.second is None:
                self.second = (tuple(np.zeros(0, dtype=np.int64) for _ in range(len(self.st))),
                               [_Lane(*self.lane_shape) for _ in self.lanes])
            st2, lanes2 = self.second
            st2, todos2 = self._prepare(nxt[0], nxt[1], lanes2, st2)
            self.second = (st2, lanes2)
            pending = int(ctl[K.PENDING])
            rnd = self._round(lanes2, todos2, nxt[0], pending, self.store, st2)
            self.kernel_calls += 1
        n = b1 - b0
        t0 = time.perf_counter()
        try:
            if rnd is not None and pool is not None:
                for _ in range(self.workers - 1):
                    jobs.append(pool.submit(rnd.work))
            for t, lane in enumerate(self.lanes):
                lo, hi = b0 + n * t // len(self.lanes), b0 + n * (t + 1) // len(self.lanes)
                if lo < hi:
                    K.commit(lo, hi, b0, ctl, self.store.tup(), counts, wit, bad_vec, lane.work, *self.st, *lane.out)
                    if ctl[K.ST] != K.DONE:
                        break
            self.commit_seconds += time.perf_counter() - t0
            if rnd is not None and ctl[K.ST] == K.DONE:
                try:
                    rnd.work()  # this thread helps with the rest of the next batch's first round
                except KeyboardInterrupt:  # raised by expand once this batch's verdicts are told
                    self.interrupted = True
        finally:
            self.nrows = self.store.n = int(ctl[K.NROWS])  # what the commit stored, even if interrupted
            if rnd is not None:
                rnd.stop()
            _join(jobs)
        self.kernel_seconds += time.perf_counter() - t0
        if rnd is not None and nxt is not None and ctl[K.ST] == K.DONE and not self.interrupted:
            self.ahead = (nxt[0], nxt[1], pending, todos2)

    def _ahead_range(self, b1: int) -> tuple[int, int] | None:
        """The batch after the one ending at ``b1`` that the driver will ask for next, if its first round may be computed
        during this batch's commit; else None.

        Sound, because ``compute`` only reads what the commit writes in the store, and only to tell which successors
        are candidates (not stored yet): the commit looks every candidate up again before it stores it, so a successor
        that the concurrent commit stores is either seen stored (and it is, before the next commit) or taken as a
        candidate and found by the next commit.  A lookup never sees a state that is not stored, whatever order the
        other thread sees the commit's writes in: in the memory store each word of an entry (its key words and its
        index) is written once, from EMPTY (all ones, unlike any slot value or row number), and 32-bit words do not
        tear, so a key can match only once every one of its words is the state's; in the fp store an entry is one
        aligned word, written once from 0.  (The compact store packs rows in bit fields: not done there.)  The batch's
        states are stored before this commit (``b2 <= nrows``), and the tables that misses fill do not change until
        the round is over, so the round's results and misses are the ones it would have afterwards.  The round uses the
        ``pending`` mask from before the commit; should the commit witness a property, the round is not taken (see
        :meth:`expand`), as its misses could differ.  (``check --continue`` never comes here: it commits in
        :meth:`_commit_keep_going`.)"""
        if self.pool is None or self.store.kind not in ("memory", "fp"):
            return None
        b2 = min(self.level_top, b1 + self.batch)
        return (b1, b2) if b1 < b2 <= self.nrows else None

    # ------------------------------------------------------------------ the driver's Expander interface

    def run(self) -> Result[Any, Any]:
        """The search, on the driver (:func:`checker.search.search`)."""
        model = self.model
        props: list[Property[Any, Any]] = list(getattr(model, "properties", None) or
                                                [*(x.prop for x in model.state_props), *(x.prop for x in model.action_props)])
        sp = model.state_props
        self.ctl = np.zeros(K.CTL_SIZE, dtype=np.int64)
        self.counts = np.zeros(len(model.labels), dtype=np.int64)
        self.wit = np.full(max(len(sp), 1), -1, dtype=np.int64)
        self.bad_vec = np.zeros(self.width, dtype=np.int64)
        self.ctl[K.MAXST] = -1 if self.max_states is None else self.max_states
        self.sp_index = {x.prop.name: a for a, x in enumerate(sp)}
        self.ap_index = {x.prop.name: a for a, x in enumerate(model.action_props)}
        self.prop_order = {p.name: k for k, p in enumerate(props)}
        self.pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="compiled") if self.workers > 1 else None
        self.tail0 = self.static_tail
        try:
            return search(self, Verdicts(props, self.keep_going), batch=self.batch, max_states=self.max_states,
                          progress=self.progress, progress_interval=self.progress_interval, checkpointer=self.checkpointer)
        finally:
            self.static_tail = self.tail0
            if self.compile_proc is not None:  # interrupted before the first batch: no compile is left running
                self.compile_proc.kill()
                self.compile_proc.wait()
                self.compile_proc = None
            if self.pool is not None:
                self.pool.shutdown(wait=True)
            self.pool = None

    @property
    def size(self) -> int:
        return self.nrows

    @property
    def transitions(self) -> int:
        return int(self.ctl[K.TRANS])

    def _holds_py(self, a: int, v: tuple[int, ...]) -> bool:
        """Whether state property ``a`` holds on the stored vector ``v`` (asked of the model, in Python)."""
        return all(self.model.holds(a, p, tuple(v[k] for k in part)) for p, part in enumerate(self.model.state_props[a].parts))

    def _visit_py(self, idx: int, v: tuple[int, ...], verdicts: Verdicts) -> None:
        """Check the new state ``idx`` (vector ``v``) in Python, as the readable engine does: witnesses, then invariants."""
        for name in [n for n in verdicts.pending if self._holds_py(self.sp_index[n], v)]:
            verdicts.witnessed(name, idx)
            self.wit[self.sp_index[name]] = idx
        verdicts.after_witnesses()
        if verdicts.stop:
            return
        for p in list(verdicts.invariants):
            if not self._holds_py(self.sp_index[p.name], v):
                verdicts.violated(p, idx)
                if verdicts.stop:
                    return

    def _pending_bits(self, verdicts: Verdicts) -> int:
        return sum(1 << self.sp_index[n] for n in verdicts.pending)

    def start(self, verdicts: Verdicts) -> None:
        # The first run after an install compiles the kernel: ``compute``, two thirds of that time, in a second process
        # (K.compile_apart) while this one compiles the store's functions and ``commit``; the first batch waits for it.
        lane = self.lanes[0]
        if self.workers > 1:  # --workers 1: one core
            self.compile_proc = K.compile_apart(K.compute, self._compute_args(lane, np.zeros(1, dtype=np.int64), 0, 0,
                                                                              self.store))
        with K.first_load():
            tiny = Store(self.store.kind, self.width, cap=2)
            tiny.insert((0,) * self.width)
            if self.compile_proc is not None:
                K.compile_for(K.commit, (0, 0, 0, self.ctl, self.store.tup(), self.counts, self.wit, self.bad_vec, lane.work,
                                         *self.st, *lane.out))
                # Still waiting for compute: compile what a run compiles later, the first time a table or the store
                # grows (1.8 s in the middle of a first run of 3/4 here), by growing tiny ones.
                for k in range(1, 9):  # (insert makes room by ensure when the store is full)
                    tiny.insert((k,) * self.width)
                _Table(1, cap=2).put_many([(k,) for k in range(4)], [0] * 4)
        for v0 in self.model.initial():  # in Python (few)
            c = self.canon(v0)
            if self.max_states is not None and self.nrows >= self.max_states and not self.store.contains(c):
                raise Capped
            idx = self.store.insert(c)
            if idx < 0:
                continue
            self.nrows = self.store.n
            if not verdicts.stop:
                self._visit_py(idx, c, verdicts)
        self.ctl[K.PENDING] = self._pending_bits(verdicts)
        self.ctl[K.NROWS] = self.nrows
        self.level_top = self.nrows

    def _masks(self, verdicts: Verdicts) -> None:
        """``check --continue``: the kernel checks only the properties still undecided (so each property's first
        violation is reported, not a decided one's again); the masks ``s_always`` and ``a_all`` of ``static_tail``."""
        s_mask = sum(1 << self.sp_index[p.name] for p in verdicts.invariants)
        a_mask = sum(1 << self.ap_index[p.name] for p in verdicts.action_props)
        tail = list(self.tail0)
        if (tail[_S_ALWAYS], tail[_A_ALL]) != (self.s_always, self.a_all):
            raise AssertionError("checker/compiled.py: static_tail's layout changed; update _S_ALWAYS and _A_ALL")
        tail[_S_ALWAYS], tail[_A_ALL] = s_mask, a_mask
        self.static_tail = tuple(tail)

    def expand(self, lo: int, hi: int, verdicts: Verdicts) -> None:
        ctl = self.ctl
        if self.keep_going:
            self._masks(verdicts)
        ahead, self.ahead = self.ahead, None
        # The first round computed ahead (see _commit_batch), if it is this batch's and had this batch's pending mask
        # (a witness found by the commit before changes it: the round is done again, as one thread does it).
        if ahead is not None and ahead[:3] == (lo, hi, int(ctl[K.PENDING])) and self.second is not None:
            st2, lanes2 = self.second
            self.second = (self.st, self.lanes)
            self.st, self.lanes = st2, lanes2
            if any(lane.tc[K.T_MOVER] for lane in lanes2):  # a miss list was full: the batch again, from the start
                for lane in lanes2:
                    lane.grow_misses()
                ahead = None
            else:
                self.aheads += 1
        else:
            ahead = None
        self._expand_batch(lo, hi, self.pool, int(ctl[K.PENDING]), computed=None if ahead is None else ahead[3])
        if self.keep_going:
            self._commit_keep_going(lo, hi, verdicts)
            return
        self._commit_batch(lo, hi, ctl, self.counts, self.wit, self.bad_vec)
        got = [(int(self.wit[self.sp_index[n]]), self.prop_order[n], n) for n in verdicts.pending if self.wit[self.sp_index[n]] >= 0]
        for idx, _, name in sorted(got):
            verdicts.witnessed(name, idx)
        st = int(ctl[K.ST])
        if st == K.VIOL_STATE:
            verdicts.violated(self.model.state_props[int(ctl[K.INFO_PROP])].prop, int(ctl[K.INFO_IDX]))
        elif st == K.VIOL_ACTION:
            ap = self.model.action_props[int(ctl[K.INFO_PROP])]
            verdicts.violated(ap.prop, int(ctl[K.INFO_IDX]), tuple(int(c) for c in self.bad_vec))
        elif st == K.CAPPED:
            raise Capped
        if self.interrupted:  # Ctrl-C during the commit's help with the next round: now that the batch is told
            self.interrupted = False
            raise KeyboardInterrupt

    def level_end(self, lo: int) -> None:
        self.store.n = self.nrows
        self.store.level(lo)
        self.level_top = self.nrows

    def fill_stats(self, stats: Stats) -> None:
        model = self.model
        stats.transitions = int(self.ctl[K.TRANS])
        stats.distinct_states = self.nrows
        stats.action_counts = Counter()
        for k, fired in enumerate(self.counts.tolist()):
            if fired:
                stats.action_counts[model.labels[k]] += fired
        self.store.n = self.nrows
        stats.store = self.store.kind
        stats.store_bytes = self.store.nbytes  # the memory store too (the CLI prints it for the others)
        if self.store.kind == "fp":
            stats.collision_probability = collision_probability(self.nrows)

    def result(self, result: Result[Any, Any], verdicts: Verdicts) -> Result[Any, Any]:
        model = self.model
        violations = [(p, self.path_to(idx), model.decode(raw) if raw is not None else None)
                      for p, idx, raw in verdicts.found.values()]
        witness = verdicts.witness
        witnesses = {name: self.path_to(witness[name]) if name in witness else None for name in [*verdicts.pending, *witness]}
        return finish(result, model.readable, self.readable_canon, violations, witnesses)

    # ------------------------------------------------------------------ check --continue

    def _lane_bounds(self, b0: int, b1: int) -> list[int]:
        """Where each lane's range of the batch ``b0..b1-1`` starts (and the end): as :meth:`_expand_batch` splits it."""
        n, nl = b1 - b0, len(self.lanes)
        return [b0 + n * t // nl for t in range(nl + 1)]

    def _commit_range(self, a: int, b: int, b0: int, bounds: list[int]) -> None:
        """:func:`checker.pins_kernel.commit` of states ``a..b-1`` of the batch from ``b0``, lane by lane, until the
        kernel stops (``ctl[ST]``)."""
        t0 = time.perf_counter()
        for t, lane in enumerate(self.lanes):
            lo, hi = max(a, bounds[t]), min(b, bounds[t + 1])
            if lo < hi:
                K.commit(lo, hi, b0, self.ctl, self.store.tup(), self.counts, self.wit, self.bad_vec, lane.work, *self.st,
                         *lane.out)
                self.nrows = self.store.n = int(self.ctl[K.NROWS])
                if self.ctl[K.ST] != K.DONE:
                    break
        self.commit_seconds += time.perf_counter() - t0
        self.kernel_seconds += time.perf_counter() - t0

    def _commit_plain(self, a: int, b: int, b0: int, bounds: list[int]) -> None:
        """Commit states with nothing to note: the kernel stops only at the state cap."""
        self._commit_range(a, b, b0, bounds)
        if self.ctl[K.ST] == K.CAPPED:
            raise Capped
        if self.ctl[K.ST] != K.DONE:
            raise AssertionError(f"commit stopped at status {int(self.ctl[K.ST])} where no violation was left to stop at")

    def _commit_keep_going(self, b0: int, b1: int, verdicts: Verdicts) -> None:
        """Commit the batch past violations, noting each undecided property's first one in BFS order.

        The kernel's verdicts only flag states: a state with a transition that breaks an undecided action property, or
        a candidate that breaks an undecided invariant or witnesses a pending SOMETIMES property.  The states between
        flagged ones are committed by the kernel as they are (nothing there to note); a flagged state is looked at in
        Python first, in the readable engine's order (each transition: its action properties, then the successor if it
        is new: its witnesses, then its invariants), deciding where the search stops (every property decided) or
        caps, and is then committed alone, up to that point, with its verdicts cleared so that the kernel does not
        stop.  The commit must store exactly the states Python expected (checked)."""
        self._grow(sum(int(lane.tc[K.T_CUSED]) for lane in self.lanes))
        bounds = self._lane_bounds(b0, b1)
        st_afj, st_coff, st_cn = self.st[4], self.st[2], self.st[3]
        pend0 = int(self.ctl[K.PENDING])
        flagged: list[int] = []
        for t, lane in enumerate(self.lanes):
            lo, hi = bounds[t], bounds[t + 1]
            if lo >= hi:
                continue
            cu = int(lane.tc[K.T_CUSED])
            c_inv, c_wit = lane.out[3][:cu], lane.out[4][:cu]
            f = np.concatenate(([0], np.cumsum((c_inv >= 0) | ((c_wit & pend0) != 0))))
            coff, cn = st_coff[lo - b0 : hi - b0], st_cn[lo - b0 : hi - b0]
            marked = (st_afj[lo - b0 : hi - b0] >= 0) | (f[coff + cn] > f[coff])
            flagged.extend((np.nonzero(marked)[0] + lo).tolist())
        x = b0
        for m in flagged:
            if m > x:
                self._commit_plain(x, m, b0, bounds)
            self._commit_flagged(m, b0, bounds, verdicts)
            if verdicts.stop:
                return
            x = m + 1
        if x < b1:
            self._commit_plain(x, b1, b0, bounds)

    def _commit_flagged(self, x: int, b0: int, bounds: list[int], v: Verdicts) -> None:
        """Note state ``x``'s violations and witnesses in order, then commit it (see :meth:`_commit_keep_going`)."""
        si = x - b0
        lane = self.lanes[max(t for t in range(len(self.lanes)) if bounds[t] <= x)]
        st_ns, st_coff, st_cn, st_afj = self.st[0], self.st[2], self.st[3], self.st[4]
        c_rows, c_inv, c_wit, c_j = lane.out[1], lane.out[3], lane.out[4], lane.out[5]
        ns, co, cn = int(st_ns[si]), int(st_coff[si]), int(st_cn[si])
        fails = self._action_failures(x, v) if st_afj[si] >= 0 else {}
        cands = {int(c_j[q]): q for q in range(co, co + cn)}
        pending = int(self.ctl[K.PENDING])
        seen: set[tuple[int, ...]] = set()
        new = 0
        end, action_stop, capped = ns, -1, False
        for j in range(ns):
            for a, raw in fails.get(j, []):
                p = self.model.action_props[a].prop
                if p in v.action_props:
                    v.violated(p, x, raw)
                    if v.stop:
                        break
            if v.stop:
                end, action_stop = j + 1, j
                break
            q = cands.get(j)
            if q is None:
                continue
            row = tuple(int(c) for c in c_rows[q])
            if row in seen or self.store.contains(row):
                continue
            seen.add(row)
            idx = self.nrows + new
            if self.max_states is not None and idx >= self.max_states:
                end, capped = j + 1, True
                break
            new += 1
            got = int(c_wit[q]) & pending
            for name in [n for n in v.pending if got >> self.sp_index[n] & 1]:
                v.witnessed(name, idx)
            pending &= ~got
            v.after_witnesses()
            if not v.stop and c_inv[q] >= 0:
                for p in list(v.invariants):
                    if not self._holds_py(self.sp_index[p.name], row):
                        v.violated(p, idx)
                        if v.stop:
                            break
            if v.stop:
                end = j + 1
                break
        c_inv[co : co + cn] = -1
        st_afj[si] = action_stop
        st_ns[si] = end
        before = self.nrows
        self._commit_range(x, x + 1, b0, bounds)
        want = K.CAPPED if capped else K.VIOL_ACTION if action_stop >= 0 else K.DONE
        if self.ctl[K.ST] != want or self.nrows != before + new:
            raise AssertionError(f"the kernel's commit of state {x} stored {self.nrows - before} new states and stopped at "
                                 f"status {int(self.ctl[K.ST])}, where --continue's bookkeeping expected {new} and {want}")
        self.ctl[K.ST] = K.DONE  # an action stop is the verdicts' (every property decided), not the kernel's
        if capped:
            raise Capped

    def _action_failures(self, x: int, v: Verdicts) -> dict[int, list[tuple[int, tuple[int, ...]]]]:
        """State ``x``'s transitions that break an undecided action property: successor position -> [(property, raw
        successor)], in property order.  State ``x`` is expanded again alone (its own buffers; no table entry is new),
        once per property found: with the properties found so far left out, the kernel reports the first position
        where one of the others fails, so each property's first failing position is found."""
        out: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        left = [self.ap_index[p.name] for p in v.action_props]
        saved_st, saved_tail = self.st, self.static_tail
        if self.spare is None:
            self.spare = _Lane(*self.lane_shape)
        self.st = tuple(np.zeros(1, dtype=np.int64) for _ in range(len(saved_st)))
        try:
            while left:
                tail = list(saved_tail)
                tail[_A_ALL] = sum(1 << a for a in left)
                self.static_tail = tuple(tail)
                self._expand_batch(x, x + 1, None, int(self.ctl[K.PENDING]), store=self.store, lanes=[self.spare])
                j = int(self.st[4][0])
                if j < 0:
                    break
                a = int(self.st[5][0])
                out.setdefault(j, []).append((a, tuple(int(c) for c in self.spare.out[6][int(self.st[6][0])])))
                left.remove(a)
        finally:
            self.st, self.static_tail = saved_st, saved_tail
        order = self.prop_order
        for fails in out.values():
            fails.sort(key=lambda f: order[self.model.action_props[f[0]].prop.name])
        return out

    # ------------------------------------------------------------------ checkpoints (see _Checkpoint)

    def _snapshot(self, pos: Position, verdicts: Verdicts) -> tuple[dict[str, Any], dict[str, Any]]:
        """What :class:`_Checkpoint` saves at a level end: (meta, arrays)."""
        st = self.store
        st.n = self.nrows
        arrays: dict[str, Any] = {f"store_{a}": getattr(st, a) for a in _STORE_ARRAYS}
        for name in _BUF_NAMES:
            buf = getattr(self, name)
            buf.flush()
            arrays[f"buf_{name}"] = buf.arr[: buf.n]
        for name in _TABLE_NAMES:
            t = getattr(self, name)
            arrays[f"{name}_entries"] = t.keys
        arrays["ctl"], arrays["counts"], arrays["wit"] = self.ctl, self.counts, self.wit
        meta = {
            "layout": _Checkpoint.LAYOUT, "store_kind": st.kind, "width": self.width,
            "store": {a: getattr(st, a) for a in _STORE_SCALARS if hasattr(st, a)},
            "tables": {name: getattr(self, name).count for name in _TABLE_NAMES},
            "rename_memo": self.rename_memo, "interned": self.model.interned(),  # type: ignore[attr-defined]
            "scratch_cap": self.scratch_cap,  # the lanes' capacity: the resumed rounds put off the same states
            "found": [(name, idx, bad) for name, (_, idx, bad) in verdicts.found.items()],
            "witness": list(verdicts.witness.items()),
            "position": (pos.lo, pos.hi, pos.depth, pos.stats_depth),
            # for checker.checkpoint.describe
            "depth": pos.depth, "total": self.nrows, "transitions": int(self.ctl[K.TRANS]), "elapsed": pos.elapsed,
        }
        return meta, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, Any], verdicts: Verdicts) -> Position:
        """Undo :meth:`_snapshot` into this (fresh) explorer and ``verdicts``; the position to go on from."""
        if meta["layout"] != _Checkpoint.LAYOUT or meta["store_kind"] != self.store.kind or meta["width"] != self.width:
            raise ValueError("saved with another layout, store or width")
        st = Store(self.store.kind, self.width, cap=2)
        for a in _STORE_ARRAYS:
            want = getattr(st, a)
            got = arrays[f"store_{a}"]
            if got.dtype != want.dtype or got.ndim != want.ndim:
                raise ValueError(f"store array {a} is {got.dtype} of {got.ndim} dimensions")
            setattr(st, a, adopted(got, a in HUGE_ARRAYS))
        for a in _STORE_SCALARS:
            if a in meta["store"] or hasattr(st, a):
                setattr(st, a, meta["store"][a])
        lo, hi, depth, stats_depth = meta["position"]
        if not 0 <= lo <= hi == st.n or int(arrays["ctl"][K.NROWS]) != st.n:
            raise ValueError("the level to expand does not match the store")
        self.store, self.nrows = st, st.n
        self.level_top = hi
        for name in _BUF_NAMES:
            buf = getattr(self, name)
            buf.waiting = []
            buf.arr, buf.n = np.array(arrays[f"buf_{name}"], dtype=np.int64), len(arrays[f"buf_{name}"])
            buf.flush()
        for name in _TABLE_NAMES:
            t = getattr(self, name)
            rows = arrays[f"{name}_entries"]
            cap, count = len(rows), int(meta["tables"][name])
            if rows.ndim != 2 or rows.shape[1] != t.w + 1 or rows.dtype != np.int64 or cap < 1 or cap & (cap - 1) or not 0 <= 2 * count <= cap:
                raise ValueError(f"table {name} has the wrong shape")
            t.adopt(np.array(rows), count)
        for name, into in (("ctl", self.ctl), ("counts", self.counts), ("wit", self.wit)):
            if arrays[name].shape != into.shape:
                raise ValueError(f"{name} has the wrong shape")
            into[:] = arrays[name]
        self.ctl[K.MAXST] = -1 if self.max_states is None else self.max_states  # this run's cap, not the saved run's
        self.ctl[K.ST] = K.DONE
        self.rename_memo = dict(meta["rename_memo"])
        cap = meta.get("scratch_cap", 64)  # absent before 2026-12-02: the lanes' first capacity
        if not isinstance(cap, int) or not 1 <= cap <= 1 << 24:
            raise ValueError("the lanes' saved capacity is not a count")
        self.scratch_cap = cap
        self.model.restore_interned(meta["interned"])  # type: ignore[attr-defined]
        by_name = {p.name: p for p in verdicts.props}
        for name, idx in meta["witness"]:
            verdicts.witnessed(name, idx)
        for name, idx, bad in meta["found"]:
            verdicts.violated(by_name[name], idx, bad)
        if self.ctl[K.PENDING] != self._pending_bits(verdicts):
            raise ValueError("the witnesses do not match the counters")
        return Position(lo, hi, depth, stats_depth, float(meta["elapsed"]))

    def readable_canon(self, s: Any) -> Any:
        return self.model.readable.representative(s) if self.symmetry else s

    def path_to(self, idx: int) -> list[Any]:
        """The stored states from an initial state to ``idx``, as readable representatives."""
        self.store.n = self.nrows
        vs = self.store.path_vectors(idx, self.successors)
        return [self.readable_canon(self.model.decode(v)) for v in vs]

    def successors(self, v: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The successors of the stored (canonical) state ``v`` by position, each in its stored form (``()`` where a
        successor is ``v`` again or a renaming of it: no state was ever stored as that one): ``v`` is expanded alone,
        by one lane, from a store of its own, so each new successor is a candidate at its position j, the one the fp
        store records.  For rebuilding a path after the search (it reuses the search's buffers)."""
        tmp = Store("memory", self.width, cap=64)
        tmp.insert(v)
        lane = self.lanes[0]
        self._expand_batch(0, 1, None, 0, store=tmp, lanes=[lane])
        ns = int(self.st[0][0])
        out: list[tuple[int, ...]] = [()] * ns
        co, cn = int(self.st[2][0]), int(self.st[3][0])
        c_rows, c_j = lane.out[1], lane.out[5]
        for q in range(co, co + cn):
            out[int(c_j[q])] = tuple(int(x) for x in c_rows[q])
        return out

    def vectors(self) -> Iterator[tuple[int, ...]]:
        """Every stored state vector, in BFS order (for tests; not with the fp store)."""
        self.store.n = self.nrows
        yield from self.store.vectors()


class _Checkpoint:
    """``--checkpoint DIR`` for the compiled engine (the driver's Checkpointer): at a level end, everything the rest of
    the search depends on is saved with :func:`checker.checkpoint.save_engine` (manifest, checksums, atomic rename):
    the store's arrays, the counters, the verdicts so far, the lazily filled tables and the model's interned values
    (``PinsModel.interned``).  The tables are a cache, but the codes in the stored vectors and in the tables are
    interned in fill order, and the canonical form compares codes: with both restored, the resumed search fills,
    interns and chooses representatives exactly as the uninterrupted one, so its states, numbering, counts, verdicts
    and traces are the same.  The key is the caller's (which must name the model: its bounds and variant), plus the
    store, symmetry, --continue, and a digest of the model's shape and of the code of the encoding and the engine.
    """

    LAYOUT = 3  # 2: a table's values are the last column of its key rows; 3: ef_pans has group entries (_result_set)
    """Bumped when what is saved changes: a checkpoint of another layout is refused."""

    def __init__(self, ex: CompiledExplorer, directory: Path, key: str, interval: float) -> None:
        if not callable(getattr(ex.model, "interned", None)) or not callable(getattr(ex.model, "restore_interned", None)):
            raise ValueError("--checkpoint needs a model whose interned values can be saved (PinsModel.interned)")
        self.ex, self.directory, self.interval = ex, directory, interval
        h = hashlib.sha256()
        for name in sorted({type(ex.model).__module__, __name__, K.__name__, "checker.pins_store", "checker.search"}):
            h.update(Path(str(sys.modules[name].__file__)).read_bytes())
        m = ex.model
        h.update(repr((m.width, getattr(m, "slot_names", None), m.labels, [g.reads for g in m.groups],
                       [x.prop.name for x in m.state_props], [x.prop.name for x in m.action_props])).encode())
        self.key = (f"{key} engine=compiled store={ex.store.kind} symmetry={ex.symmetry} keep-going={ex.keep_going} "
                    f"layout={self.LAYOUT} sha256={h.hexdigest()[:16]}")
        self.last = time.perf_counter()

    def due(self) -> bool:
        return time.perf_counter() - self.last >= self.interval

    def save(self, pos: Position, verdicts: Verdicts) -> None:
        meta, arrays = self.ex._snapshot(pos, verdicts)
        ck.save_engine(self.directory, "compiled", self.key, meta, arrays)
        self.last = time.perf_counter()

    def resume(self, verdicts: Verdicts) -> Position | None:
        got = ck.load_engine(self.directory, "compiled", self.key)
        if got is None:
            return None
        meta, arrays = got
        try:
            return self.ex._restore(meta, arrays, verdicts)
        except (KeyError, ValueError, IndexError, TypeError, AttributeError) as e:
            raise ck.damaged(self.directory, f"its files do not fit together ({type(e).__name__}: {e})") from None


_STORE_ARRAYS = ("sctl", "rows", "tab", "parent", "layout", "need", "words", "itab", "fptab", "segn", "kids", "pos")
_STORE_SCALARS = ("n", "n_init", "init_rows", "repacks", "bits")
_BUF_NAMES = ("rs_off", "rs_len", "ef_label", "ef_off", "ef_len", "ef_pans", "op_slot", "op_kind", "op_arg",
              "canon_vals", "canon_poff", "canon_plen", "canon_perms")
_TABLE_NAMES = ("memo", "pmemo", "cmemo")

_S_ALWAYS, _A_ALL = 4, 11
"""Where the masks of the ALWAYS state properties and of the action properties sit in ``static_tail``."""
