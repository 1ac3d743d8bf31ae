"""Distributed breadth-first search on Ray with the compiled kernel in every actor (``check --ray``, stage 2).

:mod:`checker.distributed` runs the levels, the property events, the state
cap, the saves and restarts, progress and Ctrl-C; this module gives it actors
(:class:`CompiledPartition`) that expand and store states as the one-process
compiled engine does (:mod:`checker.compiled`, :mod:`checker.pins_kernel`),
over any :class:`checker.pins.PinsModel`: states are integer vectors in numpy
arrays, which go actor to actor through Ray's object store.

**The tables.**  The compiled engine fills its tables lazily, asking the model
(which interns the values the codes stand for), and its canonical form
compares codes; so the stored representatives, and with them the BFS order
and the trace, depend on the order the tables are filled in.  Here the driver
owns the model and the one master copy of the tables (a
:class:`~checker.compiled.CompiledExplorer` that never expands), and every
actor holds an exact copy:

- a batch is computed in rounds, as in one process: each actor runs
  ``compute`` on its states of the batch that are not done yet and reports the
  keys it missed, by state (the kernel notes where each missed state's keys
  end);
- the driver merges the reports in state-index order, keeping each key's first
  occurrence: the order one thread computing the whole batch meets them (a
  state's misses depend only on the tables, which every actor shares), and the
  order the one-process engine fills them in;
- it fills them (asking the model), and sends every actor the new entries
  (:meth:`CompiledExplorer.apply_delta`: the same entries, put in the same
  order), and the scratch capacity, which decides which states a round puts
  off (the largest any actor needed, as one process's lanes share theirs).

One difference is harmless: ``compute`` checks the state properties only of
*candidates*, successors not in the visited set, and an actor sees only its
own part of that set, so actors look up (and miss) property entries that one
process would not.  Those entries are a property's answer on a part's values
(``PinsModel.holds`` interns nothing), so the extra ones change no code and
no answer.  So every table entry that gives a code meaning is made in the one
process's order, the actors choose the one process's representatives, and
the stored states, their numbering, the counts, verdicts and traces are the
one-process compiled engine's (``tests/test_ray_compiled.py`` compares the
stored vectors in BFS order).

**A batch** after its rounds: each actor sends each candidate with its key
``(parent index, successor position)`` to its owner (a hash of the canonical
row picks it), as rows of an int64 array; each owner admits, in key order,
the first occurrence of each row it does not hold; the driver numbers the new
states by key and replays the events (:meth:`RayExplorer.decide`), as for the
readable actors.  An action property's failure (the kernel reports a state's
first failing transition) and a new state's failing invariant or witness are
the events; with ``--continue`` the driver asks its own copy for the rest of
them (:meth:`CompiledRayExplorer._all_failures`), as the one-process engine's
``--continue`` does.

A state is stored by its owner only (``--store memory`` or ``compact``; the
fp store rebuilds paths from its own parents, which a part does not have), with
its index, its parent's index and its parent's owner.  Saves: each actor saves
its store part at level ends in the checkpoint format; the tables are the
driver's, and new actors get a copy of them as they are (a cache that only
grows: entries made after the save are the ones the resumed search would make
again, in the same order).
"""

from __future__ import annotations

import functools
import os
import resource
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from checker import compiled
from checker import pins_kernel as K  # noqa: N812
from checker.compiled import _A_ALL, _S_ALWAYS, _STORE_ARRAYS, _STORE_SCALARS, CompiledExplorer, _Lane
from checker.distributed import KBITS, RayExplorer, _Found, drop_parts, load_part, save_part
from checker.model import Property
from checker.pins import PinsModel
from checker.pins_store import HUGE_ARRAYS, Store, _hash, adopted, st_find, st_put, st_room_batch
from checker.result import Result, Stats, finish
from checker.search import Capped, Verdicts

BATCH = compiled.BATCH
"""States a batch by default: the one-process compiled engine's batch, so that the tables fill in its order."""

NOT_YET = np.iinfo(np.int64).max
"""The index of a state admitted but not numbered (past the place where the search stopped)."""

GOLD = np.uint64(0x9E3779B97F4A7C15)


def owners(hashes: Any, parts: int) -> Any:
    """The owner of each state by its hash: the high bits of a multiplicative hash (the low bits place it in the owner's
    own table, so they must not pick the owner)."""
    h = np.asarray(hashes, dtype=np.int64).view(np.uint64) * GOLD
    return ((h >> np.uint64(32)) % np.uint64(parts)).astype(np.int64)


@K.jit
def admit_rows(st: Any, rows: Any, hs: Any, n: int, new: Any) -> int:
    """Store each of ``rows`` (hashes ``hs``), in order, that the store does not hold, as states ``n, n+1, ...``;
    ``new[i]``: whether row i was stored.  The number stored in all.  The caller made room."""
    w = rows.shape[1]
    c = np.zeros(w, dtype=np.int64)
    for i in range(rows.shape[0]):
        for k in range(w):
            c[k] = rows[i, k]
        e = st_find(st, c, hs[i])
        if e >= 0:
            new[i] = False
            continue
        st_put(st, e, c, hs[i], n, -1, 0)
        new[i] = True
        n += 1
    return n


@K.jit
def first_rows(rows: Any, hs: Any, keep: Any) -> None:
    """``keep[i]``: whether row i (hash ``hs[i]``) is the first of its value among ``rows`` (rows compared whole)."""
    m = rows.shape[0]
    cap = 2
    while cap < 2 * m:
        cap *= 2
    table = np.full(cap, -1, dtype=np.int64)
    mask = cap - 1
    w = rows.shape[1]
    for i in range(m):
        j = hs[i] & mask
        keep[i] = True
        while table[j] >= 0:
            o = table[j]
            same = True
            for k in range(w):
                if rows[o, k] != rows[i, k]:
                    same = False
                    break
            if same:
                keep[i] = False
                break
            j = (j + 1) & mask
        if keep[i]:
            table[j] = i


def _timed(f: Any) -> Any:
    """An actor's method whose time is added to its ``seconds[name]`` (reported by ``figures``)."""

    @functools.wraps(f)
    def timed(self: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return f(self, *args)
        finally:
            self.seconds[f.__name__] += time.perf_counter() - t0

    return timed


def _ranges(starts: Any, counts: Any) -> Any:
    """The indexes ``starts[i] .. starts[i] + counts[i] - 1`` of every i, concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.repeat(np.asarray(starts, dtype=np.int64) - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return first + np.arange(total, dtype=np.int64)


class CompiledPartition:
    """One actor: a store of the states whose hash falls to it, a copy of the driver's tables, and the kernel.

    Created with the PinsModel (cloudpickled; only its shape is used here: the tables come from the driver)."""

    def __init__(self, blob: bytes, me: int, parts: int, symmetry: bool, store: str, measure: bool = False,
                 first_scratch: int = compiled.FIRST_SCRATCH) -> None:
        import cloudpickle  # type: ignore[import-untyped, unused-ignore]

        compiled.FIRST_SCRATCH = first_scratch  # the lanes start as the driver's: their capacity decides what is put off

        self.rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.measure, self.sent_items, self.sent_bytes = measure, 0, 0
        (model,) = cloudpickle.loads(blob)
        self.me, self.parts = me, parts
        self.cx = CompiledExplorer(model, symmetry=symmetry, workers=1, store=store)
        self.tail0 = self.cx.static_tail
        self.pending = 0
        self.local = np.zeros((0, 4 + self.cx.width), dtype=np.int64)  # this batch's candidates that fall to this actor
        self.labels = np.zeros(0, dtype=np.int64)  # this batch's transitions' labels
        self.w = self.cx.width
        self.n = 0
        self.gids = np.zeros(1024, dtype=np.int64)  # per row of the store: its index in the search (increasing)
        self.gpar = np.zeros(1024, dtype=np.int64)  # its parent's index (-1: initial)
        self.powner = np.zeros(1024, dtype=np.int16)  # its parent's owner
        self.a0 = self.a1 = 0  # this actor's rows of the batch being expanded
        self.todo = np.zeros(0, dtype=np.int64)
        self.admitted = (0, 0)  # the rows admitted in this batch, not numbered yet
        self.seconds: dict[str, float] = defaultdict(float)  # time in each step (bench/ray_scaling.py)

    def pid(self) -> int:
        return os.getpid()

    def node(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def adopt_tables(self, saved: tuple[Any, ...], scratch_cap: int) -> None:
        """Take the driver's tables (a new actor, or after a restart)."""
        self.cx.adopt_tables(saved)
        self.cx.scratch_cap = scratch_cap

    # ------------------------------------------------------------------ the store part

    def _room(self, m: int, rows: Any, hs: Any) -> None:
        store = self.cx.store
        store.n = self.n
        while not st_room_batch(store.tup(), self.n, m, rows, hs, m, 0):
            store.ensure(m)
        need = self.n + m
        if need > len(self.gids):
            cap = max(need, 2 * len(self.gids))
            for name in ("gids", "gpar", "powner"):
                old = getattr(self, name)
                grown = np.zeros(cap, dtype=old.dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)

    def _put(self, rows: Any, hs: Any) -> Any:
        """Store the rows not held yet, in order; which were stored."""
        m = len(rows)
        self._room(m, rows, hs)
        new = np.zeros(m, dtype=np.bool_)
        self.n = admit_rows(self.cx.store.tup(), rows, hs, self.n, new)
        self.cx.store.n = self.cx.nrows = self.n
        return new

    def store_initial(self, rows: Any, gidx: Any, hs: Any) -> None:
        """Hold the initial states (canonical rows, their indexes and hashes) that fall to this actor."""
        mine = owners(hs, self.parts) == self.me
        n0 = self.n
        self._put(np.ascontiguousarray(rows[mine]), hs[mine])
        self.gids[n0 : self.n] = gidx[mine]
        self.gpar[n0 : self.n] = -1
        self.powner[n0 : self.n] = -1

    # ------------------------------------------------------------------ a batch: rounds of compute

    @_timed
    def begin(self, lo: int, hi: int, pending: int, s_mask: int, a_mask: int, scratch_cap: int) -> tuple[Any, ...]:
        """Start the batch ``[lo, hi)``: the first round of ``compute`` over this actor's states in it."""
        cx = self.cx
        self.a0, self.a1 = (int(x) for x in np.searchsorted(self.gids[: self.n], [lo, hi]))
        tail = list(self.tail0)
        tail[_S_ALWAYS], tail[_A_ALL] = s_mask, a_mask  # --continue: only the undecided properties
        cx.static_tail = tuple(tail)
        cx.scratch_cap = max(cx.scratch_cap, scratch_cap)
        cx.st, todos = cx._prepare(self.a0, self.a1, cx.lanes, cx.st)
        self.todo = todos[0]
        self.pending = pending
        return self._round()

    @_timed
    def more(self, deltas: list[tuple[Any, ...]], scratch_cap: int) -> tuple[Any, ...]:
        """The next round: the tables' new entries first, then ``compute`` over the states not done yet."""
        cx = self.cx
        t0 = time.perf_counter()
        for d in deltas:
            cx.apply_delta(d)
        self.seconds["tables"] += time.perf_counter() - t0
        cx.scratch_cap = max(cx.scratch_cap, scratch_cap)
        cx.lanes[0].next_round(cx.scratch_cap)
        ns = cx.st[0]
        self.todo = self.todo[ns[self.todo - self.a0] < 0]
        return self._round()

    def _round(self) -> tuple[Any, ...]:
        """``compute`` over ``todo``; (states left, the missed states' indexes, where their keys end, the keys, the
        scratch needed)."""
        cx, lane, todo = self.cx, self.cx.lanes[0], self.todo
        t0 = time.perf_counter()
        if len(todo):
            while True:
                saved = lane.tc.copy()
                cx._compute(lane, todo, self.a0, self.pending, cx.store)
                if not lane.tc[K.T_MOVER]:
                    break
                lane.tc[:] = saved  # a miss list was full: bigger lists, the same round again
                lane.grow_misses()
        self.seconds["compute"] += time.perf_counter() - t0
        ns = cx.st[0][todo - self.a0]
        missed = todo[(ns == K.ST_MISSED) | (ns == K.ST_SCRATCH)]  # the states that may have missed keys
        nm = int(lane.tc[K.T_NMISS])
        return (bool((ns < 0).any()), self.gids[missed].copy(), cx.st[1][missed - self.a0].copy(),
                lane.misses[:nm].copy(), int(lane.tc[K.T_NEED]))

    @_timed
    def route(self) -> tuple[Any, ...]:
        """Once every round is done: the batch's action-property failures (key, property, bad successor, the state's
        row), then one array per owner of its candidates, rows of [key, invariant, witnesses, hash, slots...] in key
        order (this actor's own kept here, an empty one sent)."""
        cx, lane = self.cx, self.cx.lanes[0]
        nst = self.a1 - self.a0
        _, _, st_coff, st_cn, st_afj, st_afp, st_afv = (a[:nst] for a in cx.st)
        o_label, c_rows, c_h, c_inv, c_wit, c_j, a_rows = lane.out
        gid = self.gids[self.a0 : self.a1]
        bad = np.nonzero(st_afj >= 0)[0]  # few: the states with a transition that breaks an action property
        fails = (gid[bad] << KBITS | st_afj[bad], st_afp[bad].copy(), a_rows[st_afv[bad]].copy(),
                 np.array([cx.store.row(int(x) + self.a0) for x in bad], dtype=np.int64).reshape(len(bad), self.w))
        q = _ranges(st_coff, st_cn)
        par = np.repeat(np.arange(nst, dtype=np.int64), st_cn)
        out = np.empty((len(q), 4 + self.w), dtype=np.int64)
        out[:, 0] = gid[par] << KBITS | c_j[q]
        out[:, 1], out[:, 2], out[:, 3] = c_inv[q], c_wit[q], c_h[q]
        out[:, 4:] = c_rows[q]
        out = out[np.argsort(out[:, 0], kind="stable")]
        # Only each state's first occurrence in the batch is sent: its owner keeps the first in key order anyway.
        keep = np.zeros(len(out), dtype=np.bool_)
        first_rows(out[:, 4:], out[:, 3], keep)
        out = out[keep]
        dest = owners(out[:, 3], self.parts)
        parts = [out[dest == j] for j in range(self.parts)]
        if self.measure:
            for j, part in enumerate(parts):
                if j != self.me:
                    self.sent_items += len(part)
                    self.sent_bytes += part.nbytes
        self.local = parts[self.me]
        parts[self.me] = out[:0]
        self.labels = o_label[: int(lane.tc[K.T_OUSED])]
        return (fails, *parts)

    @_timed
    def admit(self, pending: int, *incoming: Any) -> tuple[Any, Any]:
        """Keep, in key order, the first occurrence of each row sent (by actor j: ``incoming[j]``) not held yet.
        Returns the kept keys (increasing) and the rows [key, invariant, witnesses, hash, slots...] of those whose
        invariant fails or that witness a pending SOMETIMES property."""
        arrays = [self.local if j == self.me else inc for j, inc in enumerate(incoming)]
        senders = np.concatenate([np.full(len(a), j, dtype=np.int16) for j, a in enumerate(arrays)])
        got = np.concatenate(arrays)
        order = np.argsort(got[:, 0], kind="stable")
        got, senders = got[order], senders[order]
        self.local = got[:0]
        n0 = self.n
        rows = np.ascontiguousarray(got[:, 4:])
        new = self._put(rows, np.ascontiguousarray(got[:, 3]))
        kept, ksend = got[new], senders[new]
        self.gids[n0 : self.n] = NOT_YET
        self.gpar[n0 : self.n] = kept[:, 0] >> KBITS
        self.powner[n0 : self.n] = ksend
        self.admitted = (n0, self.n)
        flagged = (kept[:, 1] >= 0) | ((kept[:, 2] & pending) != 0)
        return kept[:, 0].copy(), kept[flagged].copy()

    @_timed
    def finalise(self, gidxs: Any, cut: int | None) -> tuple[int, Any]:
        """Number the first ``len(gidxs)`` rows admitted (the rest stay unnumbered: the search stops there); count the
        batch's transitions by label up to the key ``cut`` (all if None)."""
        n0, _ = self.admitted
        self.gids[n0 : n0 + len(gidxs)] = gidxs
        nst = self.a1 - self.a0
        st_ns, st_off = self.cx.st[0][:nst], self.cx.st[1][:nst]
        take = st_ns.copy()
        if cut is not None:
            gid = self.gids[self.a0 : self.a1]
            ci, ck = cut >> KBITS, cut & ((1 << KBITS) - 1)
            take = np.where(gid < ci, st_ns, np.where(gid == ci, np.minimum(st_ns, ck + 1), 0))
        labels = self.labels[_ranges(st_off, take)] if cut is not None else self.labels
        return int(take.sum()), np.bincount(labels, minlength=len(self.cx.model.labels))

    # ------------------------------------------------------------------ traces, figures, saves

    def lookup(self, gidx: int) -> tuple[tuple[int, ...], int, int]:
        """The state numbered ``gidx`` (its row), its parent's index and the parent's owner (-1 for an initial state)."""
        r = int(np.searchsorted(self.gids[: self.n], gidx))
        if r == self.n or self.gids[r] != gidx:
            raise KeyError(f"actor {self.me} holds no state {gidx}")
        return self.cx.store.row(r), int(self.gpar[r]), int(self.powner[r])

    def numbered(self) -> tuple[Any, Any]:
        """The numbered states held: their indexes and rows (for tests: the one-process store's rows, in BFS order)."""
        keep = self.gids[: self.n] != NOT_YET
        rows = np.array([self.cx.store.row(r) for r in np.nonzero(keep)[0].tolist()], dtype=np.int64).reshape(-1, self.w)
        return self.gids[: self.n][keep].copy(), rows

    def held(self) -> int:
        return int((self.gids[: self.n] != NOT_YET).sum())

    def figures(self) -> dict[str, Any]:
        return {"states": self.held(), "sent_items": self.sent_items, "sent_bytes": self.sent_bytes, "seconds": dict(self.seconds),
                "store_bytes": self.cx.store.nbytes + 18 * self.n,
                "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss0": self.rss0, "node": self.node()}

    def save(self, directory: str, key: str, depth: int, total: int, drop: int | None = None) -> int:
        """Save this part (every state stored before level ``depth``, ``total`` in all) into ``directory/level-D/part-J``
        in the checkpoint format (see :meth:`checker.distributed.Partition.save`)."""
        st = self.cx.store
        st.n = self.n
        arrays = {f"store_{a}": getattr(st, a) for a in _STORE_ARRAYS}
        arrays |= {"gids": self.gids[: self.n], "gpar": self.gpar[: self.n], "powner": self.powner[: self.n]}
        meta = {"depth": depth, "total": total, "transitions": 0, "elapsed": 0.0, "kind": st.kind,
                "store": {a: getattr(st, a) for a in _STORE_SCALARS if hasattr(st, a)}}
        save_part(directory, "ray-compiled", key, depth, self.me, drop, meta, arrays)
        return self.n

    def load(self, directory: str, key: str, depth: int) -> int:
        """Hold what :meth:`save` saved at level ``depth`` (verified before it is read)."""
        from checker import checkpoint as ck

        where, meta, arrays = load_part(directory, "ray-compiled", key, depth, self.me)
        if meta["kind"] != self.cx.store.kind:
            raise ck.damaged(where, "saved with another store")
        st = Store(meta["kind"], self.w, cap=2)
        for a in _STORE_ARRAYS:
            setattr(st, a, adopted(np.array(arrays[f"store_{a}"]), a in HUGE_ARRAYS))
        for a, v in meta["store"].items():
            setattr(st, a, v)
        n = len(arrays["gids"])
        if not st.n == n == len(arrays["gpar"]) == len(arrays["powner"]):
            raise ck.damaged(where, "its states and their records differ in number")
        self.cx.store, self.n = st, n
        self.cx.nrows = n
        self.gids, self.gpar, self.powner = (np.array(arrays[a]) for a in ("gids", "gpar", "powner"))
        self.admitted = (n, n)
        return n

    def drop_saves(self, directory: str, whole: bool) -> None:
        drop_parts(directory, self.me, whole)


class CompiledRayExplorer(RayExplorer[Any, Any]):
    """Breadth-first search of a :class:`~checker.pins.PinsModel` by Ray actors running the compiled kernel (see the
    module's docstring); the same :class:`~checker.result.Result` as :class:`checker.compiled.CompiledExplorer`."""

    def __init__(self, model: PinsModel, *, symmetry: bool = True, store: str = "memory", batch: int = BATCH,
                 keep_vectors: bool = False, **kwargs: Any) -> None:
        if store == "fp":
            raise ValueError("--ray keeps each state with its owner, and the fp store rebuilds a path from its own parent "
                             "records: use --store memory or compact")
        self.cx = CompiledExplorer(model, symmetry=symmetry, workers=1, store="memory", batch=batch)
        props: list[Property[Any, Any]] = list(getattr(model, "properties", None) or
                                                [*(x.prop for x in model.state_props), *(x.prop for x in model.action_props)])
        super().__init__(model, props, symmetry=self.cx.symmetry, batch=batch, **kwargs)  # type: ignore[arg-type]
        self.pins, self.store_kind = model, store
        self.sp_index = {x.prop.name: a for a, x in enumerate(model.state_props)}
        self.ap_index = {x.prop.name: a for a, x in enumerate(model.action_props)}
        self.prop_pos = {p.name: i for i, p in enumerate(self.props)}
        self.scratch_cap = self.cx.scratch_cap
        self.cx.deltas = []
        cx = self.cx
        cx.ctl = np.zeros(K.CTL_SIZE, dtype=np.int64)
        cx.ap_index, cx.sp_index = self.ap_index, self.sp_index
        cx.prop_order = {p.name: k for k, p in enumerate(self.props)}
        self.fill_seconds = 0.0
        self.rounds = 0
        self.keep_vectors = keep_vectors  # for tests: the stored states, in BFS order, asked of the actors at the end
        self.vectors: list[tuple[int, ...]] = []

    def after_search(self) -> None:
        if self.keep_vectors:
            got = self._get([a.numbered.remote() for a in self.actors])
            gids = np.concatenate([g for g, _ in got])
            rows = np.concatenate([r for _, r in got])
            self.vectors = [tuple(int(x) for x in rows[i]) for i in np.argsort(gids).tolist()]

    def partition_class(self) -> type[Any]:
        return CompiledPartition

    def partition_args(self, blob: bytes, me: int, parts: int) -> tuple[Any, ...]:
        return (blob, me, parts, self.symmetry, self.store_kind, self.measure, compiled.FIRST_SCRATCH)

    def blob(self) -> bytes:
        import cloudpickle

        return bytes(cloudpickle.dumps((self.pins,)))

    def _start_actors(self, blob: bytes, parts: int, cpus: int) -> None:
        super()._start_actors(blob, parts, cpus)
        ref = self.ray.put(self.cx.tables())
        self._get([a.adopt_tables.remote(ref, self.scratch_cap) for a in self.actors])

    def canon(self, s: Any) -> Any:
        return self.cx.readable_canon(s)

    # ------------------------------------------------------------------ the driver's Expander interface

    def _bits(self, names: Sequence[str], index: dict[str, int]) -> int:
        return sum(1 << index[n] for n in names)

    def start(self, verdicts: Verdicts) -> None:
        cx = self.cx
        cx.store = Store("memory", cx.width)  # the initial states met so far (a restart from the start meets them again)
        rows: list[tuple[int, ...]] = []
        try:
            for v0 in self.pins.initial():
                c = cx.canon(v0)
                if self.max_states is not None and len(rows) >= self.max_states and not cx.store.contains(c):
                    raise Capped()
                idx = cx.store.insert(c)
                if idx < 0:
                    continue
                rows.append(c)
                self.count = len(rows)
                if not verdicts.stop:
                    self._visit_row(verdicts, idx, c, None)
        finally:
            arr = np.array(rows, dtype=np.int64).reshape(len(rows), self.cx.width)
            hs = np.array([_hash(r) for r in arr], dtype=np.int64)
            for i, o in enumerate(owners(hs, len(self.actors)).tolist()):
                self.owner[i] = o
            self._get([a.store_initial.remote(arr, np.arange(len(rows), dtype=np.int64), hs) for a in self.actors])

    def _holds_py(self, name: str, row: Sequence[int]) -> bool:
        a = self.sp_index[name]
        return all(self.pins.holds(a, p, tuple(int(row[k]) for k in part)) for p, part in enumerate(self.pins.state_props[a].parts))

    def _visit_row(self, v: Verdicts, idx: int, row: Sequence[int], inv: int | None) -> None:
        """The new state ``idx`` (``row``) through the verdicts; ``inv``: the kernel's first failing invariant (None: ask
        the model of each)."""
        bad, wit = self._events(v, row, inv, None)
        self._visit(v, idx, bad, wit)

    def _events(self, v: Verdicts, row: Sequence[int], inv: int | None, wit_bits: int | None) -> tuple[list[int], tuple[int, ...]]:
        """A new state's failing invariants and holding SOMETIMES properties, as indexes into ``props``."""
        if inv is None or (self.keep_going and inv >= 0):  # every undecided invariant, asked of the model
            bad = [self.prop_pos[p.name] for p in v.invariants if not self._holds_py(p.name, row)]
        elif inv >= 0:  # the kernel's first failing one: where one process stops
            bad = [self.prop_pos[self.pins.state_props[inv].prop.name]]
        else:
            bad = []
        if wit_bits is None:
            wit = tuple(self.prop_pos[n] for n in v.pending if self._holds_py(n, row))
        else:
            wit = tuple(self.prop_pos[n] for n in v.pending if wit_bits >> self.sp_index[n] & 1)
        return bad, wit

    def expand(self, lo: int, hi: int, verdicts: Verdicts) -> None:
        v, cx, n = verdicts, self.cx, len(self.actors)
        pending = self._bits(list(v.pending), self.sp_index)
        if self.keep_going:
            s_mask = self._bits([p.name for p in v.invariants], self.sp_index)
            a_mask = self._bits([p.name for p in v.action_props], self.ap_index)
        else:
            s_mask, a_mask = cx.s_always, cx.a_all
        replies = self._get([a.begin.remote(lo, hi, pending, s_mask, a_mask, self.scratch_cap) for a in self.actors])
        while any(r[0] for r in replies):
            self.rounds += 1
            segs: list[tuple[int, int, int, int]] = []  # (state index, actor, first key, end)
            for j, (_, gidx, ends, _, _) in enumerate(replies):
                starts = np.concatenate(([0], ends[:-1])) if len(ends) else ends
                segs += zip(gidx.tolist(), [j] * len(ends), starts.tolist(), ends.tolist(), strict=True)
            segs.sort()
            if segs:
                misses = np.concatenate([replies[j][3][a:b] for _, j, a, b in segs])
                t0 = time.perf_counter()
                cx._fill(misses)
                self.fill_seconds += time.perf_counter() - t0
            self.scratch_cap = max(self.scratch_cap, *(r[4] for r in replies))
            deltas, cx.deltas = cx.deltas, []
            ref = self.ray.put(deltas or [])
            replies = self._get([a.more.remote(ref, self.scratch_cap) for a in self.actors])
        outs = [a.route.options(num_returns=n + 1).remote() for a in self.actors]
        admits = [self.actors[j].admit.remote(pending, *[outs[i][1 + j] for i in range(n)]) for j in range(n)]
        fails = [self._fail_events(v, f) for f in self._get([o[0] for o in outs])]
        got: list[tuple[Any, Any]] = self._get(admits)
        found = [[self._state_event(v, r) for r in flagged] for _, flagged in got]
        cut, gidxs, added, capped = self.decide(v, [k for k, _ in got], fails, found)
        done = self._get([a.finalise.remote(gidxs[j], cut) for j, a in enumerate(self.actors)])
        self.count += added
        labels = self.pins.labels
        for t, counts in done:
            self.stats.transitions += t
            for k, fired in enumerate(counts.tolist()):
                if fired:
                    self.stats.action_counts[labels[k]] += fired
        if capped:
            raise Capped()

    def _state_event(self, v: Verdicts, r: Any) -> _Found:
        """A new state's event from its admitted row [key, invariant, witnesses, hash, slots...]."""
        bad, wit = self._events(v, r[4:].tolist(), int(r[1]), int(r[2]))
        return _Found(int(r[0]), bad, witnesses=wit)

    def _fail_events(self, v: Verdicts, fails: tuple[Any, ...]) -> list[_Found]:
        """An actor's action-property failures as events: the kernel's first failing transition of each state, or with
        ``--continue`` each undecided property's first failing transition there (:meth:`_all_failures`)."""
        keys, props, raws, parents = fails
        out: list[_Found] = []
        for key, a, raw, parent in zip(keys.tolist(), props.tolist(), raws, parents, strict=True):
            if not self.keep_going:
                out.append(_Found(key, [self.prop_pos[self.pins.action_props[a].prop.name]], tuple(int(x) for x in raw)))
                continue
            x = key >> KBITS
            for j, got in sorted(self._all_failures(tuple(int(c) for c in parent), v).items()):
                out.append(_Found(x << KBITS | j, [self.prop_pos[self.pins.action_props[b].prop.name] for b, _ in got], got[0][1]))
        return out

    def _all_failures(self, row: tuple[int, ...], v: Verdicts) -> dict[int, list[tuple[int, tuple[int, ...]]]]:
        """``--continue``: the transitions of the stored state ``row`` that break an undecided action property, by
        position (:meth:`CompiledExplorer._action_failures` on the driver's copy of the tables, from a store of its own)."""
        cx = self.cx
        tmp = Store("memory", cx.width, cap=64)
        tmp.insert(row)
        saved = cx.store, cx.deltas
        cx.store, cx.deltas = tmp, None  # entries it fills (property answers only: row was expanded) stay the driver's
        cx.ctl[K.PENDING] = self._bits(list(v.pending), self.sp_index)
        if cx.spare is None:
            cx.spare = _Lane(*cx.lane_shape)
        cx.spare.grow_scratch(max(self.scratch_cap, cx.scratch_cap))
        try:
            return cx._action_failures(0, v)
        finally:
            cx.store, cx.deltas = saved

    def fill_stats(self, stats: Stats) -> None:
        super().fill_stats(stats)
        stats.store = self.store_kind

    def path_to(self, idx: int) -> list[Any]:
        """The stored path to ``idx`` (asked of the owners back along the parent records), as readable representatives."""
        vectors: list[tuple[int, ...]] = []
        owner = self.owner[idx]
        while idx >= 0:
            row, parent, powner = self._get(self.actors[owner].lookup.remote(idx))
            vectors.append(row)
            idx, owner = parent, powner
        return [self.cx.readable_canon(self.pins.decode(r)) for r in reversed(vectors)]

    def result(self, result: Result[Any, Any], verdicts: Verdicts) -> Result[Any, Any]:
        violations = [(p, self.path_to(idx), self.pins.decode(raw) if raw is not None else None)
                      for p, idx, raw in verdicts.found.values()]
        witness = verdicts.witness
        witnesses = {name: self.path_to(witness[name]) if name in witness else None for name in [*verdicts.pending, *witness]}
        return finish(result, self.pins.readable, self.cx.readable_canon, violations, witnesses)

