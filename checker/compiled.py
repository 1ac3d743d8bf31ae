"""The compiled engine: breadth-first search of a :class:`checker.pins.PinsModel` in compiled code.

The search runs in :func:`checker.pins_kernel.expand` (numba) over numpy arrays:
successor generation from memoised group effects, normalisation, the
symmetry canonical form, the visited set (a store of
:mod:`checker.pins_store`: ``memory``, ``compact`` or ``fp``) and property
evaluation.  This module owns the tables: when the
kernel meets a key it has no entry for, it returns the keys it missed, and
:meth:`CompiledExplorer._fill` computes them by asking the model (which asks
the readable model), then the kernel resumes.  In steady state no Python
runs per state.

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

Traces: the stored path (with the fp store, rebuilt by expanding each state
of it again in the kernel and taking the successor at the recorded position)
is decoded into readable states, each replaced by the readable model's
representative, and :func:`checker.trace.concretize`
re-finds it step by step as real transitions of the readable model.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from checker import pins_kernel as K  # noqa: N812  (the kernel's constants read as K.MISS, K.GROW, ...)
from checker.bfs import HOLDS, INCOMPLETE, Progress, Reporter, Result, Stats, finish, peak_rss_bytes
from checker.model import Kind, Property
from checker.pins import MERGE, SET, PinsModel, check_model
from checker.pins_store import Store, collision_probability

BUDGET = 50_000
"""States expanded per kernel call between progress reports (and chances for Ctrl-C)."""


class _Buf:
    """A growable int64 array: ``arr`` has spare capacity, ``n`` entries are in use."""

    def __init__(self, cap: int = 1024) -> None:
        self.arr = np.zeros(cap, dtype=np.int64)
        self.n = 0

    def extend(self, values: list[int]) -> int:
        """Append ``values``; the index of the first."""
        start = self.n
        need = start + len(values)
        if need > len(self.arr):
            grown = np.zeros(max(need, 2 * len(self.arr)), dtype=np.int64)
            grown[:start] = self.arr[:start]
            self.arr = grown
        self.arr[start:need] = values
        self.n = need
        return start


class _Table:
    """An open-addressing hash table of int64 key rows (width ``w``) to int64 values, kept at most half full."""

    def __init__(self, w: int, cap: int = 1 << 12) -> None:
        self.w = w
        self.keys = np.full((cap, w), -1, dtype=np.int64)
        self.vals = np.zeros(cap, dtype=np.int64)
        self.count = 0

    def put_many(self, keys: list[tuple[int, ...]], vals: list[int]) -> None:
        if not keys:
            return
        while 2 * (self.count + len(keys)) > len(self.vals):
            cap = 2 * len(self.vals)
            nk, nv = np.full((cap, self.w), -1, dtype=np.int64), np.zeros(cap, dtype=np.int64)
            K.ht_rehash(self.keys, self.vals, nk, nv)
            self.keys, self.vals = nk, nv
        self.count = K.ht_put_many(self.keys, self.vals, np.array(keys, dtype=np.int64).reshape(len(keys), self.w),
                                   np.array(vals, dtype=np.int64), self.count)


class CompiledExplorer:
    """Breadth-first search of ``model``; same :class:`checker.bfs.Result` as the other engines."""

    def __init__(self, model: PinsModel, *, symmetry: bool = True, max_states: int | None = None,
                 progress: Callable[[Progress], None] | None = None, progress_interval: float = 1.0,
                 store: str = "memory") -> None:
        check_model(model)
        if len(model.state_props) > 62 or len(model.action_props) > 62:
            raise ValueError("the compiled engine checks at most 62 state and 62 action properties at once")
        self.model = model
        self.symmetry = symmetry and model.symmetry is not None
        self.max_states = max_states
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
        self.ctx = np.array(model.context, dtype=np.int64)
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
        self.a_all = sum(1 << a for a in range(len(ap)))
        wp = 2 + max([len(p) for p in parts] + [2 * len(p) for p in aparts] + [1])
        sym = model.symmetry
        self.slot_perm = np.array(sym.slot_perms if sym is not None else [list(range(w))], dtype=np.int64)
        self.perm_index = {p: i for i, p in enumerate(sym.perms)} if sym is not None else {}
        # Lazily filled tables.
        self.memo = _Table(4)
        self.pmemo = _Table(wp)
        self.cmemo = _Table(max(self.nproc, 1))
        self.rs_off, self.rs_len = _Buf(), _Buf()
        self.ef_label, self.ef_off, self.ef_len = _Buf(), _Buf(), _Buf()
        self.op_slot, self.op_kind, self.op_arg = _Buf(), _Buf(), _Buf()
        self.canon_vals, self.canon_poff, self.canon_plen, self.canon_perms = _Buf(), _Buf(), _Buf(), _Buf()
        self.rename_memo: dict[tuple[int, int], int] = {}
        # The store: the states in BFS order (also the queue), their path records, the visited set.
        self.store = Store(store, w)
        self.nrows = 0
        self.scratch(64)
        self.misses = np.zeros((4096, 1 + max(4, wp, self.nproc)), dtype=np.int64)
        self.fills = 0
        self.kernel_calls = 0
        self.kernel_seconds = 0.0  # time in the compiled kernel
        self.fill_seconds = 0.0  # time filling tables (asking the model)

    @staticmethod
    def _groups(part_lists: list[tuple[tuple[int, ...], ...]]) -> list[tuple[tuple[tuple[int, ...], ...], list[int]]]:
        """Properties grouped by their parts: (parts, member indexes), in order of first appearance."""
        out: dict[tuple[tuple[int, ...], ...], list[int]] = {}
        for a, parts in enumerate(part_lists):
            out.setdefault(parts, []).append(a)
        return list(out.items())

    def scratch(self, cap: int) -> None:
        w = self.width
        self.succ = np.zeros((cap, w), dtype=np.int64)
        self.succ_canon = np.zeros((cap, w), dtype=np.int64)
        self.succ_label, self.succ_afail, self.succ_inv = (np.zeros(cap, dtype=np.int64) for _ in range(3))
        self.succ_wit, self.succ_new, self.succ_h = (np.zeros(cap, dtype=np.int64) for _ in range(3))

    # ------------------------------------------------------------------ filling tables

    def _fill(self, misses: Any) -> None:
        """Compute every missed entry by asking the model, and store it."""
        t0 = time.perf_counter()
        self._fill_entries(misses)
        self.fill_seconds += time.perf_counter() - t0

    def _fill_entries(self, misses: Any) -> None:
        model = self.model
        mem_k: dict[tuple[int, ...], int] = {}
        prop_k: dict[tuple[int, ...], int] = {}
        can_k: dict[tuple[int, ...], int] = {}
        for row in misses.tolist():
            table, key = row[0], row[1:]
            if table == 0:
                k = tuple(key[:4])
                if k in mem_k:
                    continue
                kind, ident = k[0] >> 32, k[0] & 0xFFFFFFFF
                if kind == K.GROUP:
                    nr = len(model.groups[ident].reads)
                    mem_k[k] = self._result_set(model.effects(ident, tuple(k[1 : 1 + nr])))
                elif kind == K.NORM:
                    mem_k[k] = model.normalise(ident, k[1], k[2])
                else:
                    mem_k[k] = model.merge(ident, k[1], k[2], k[3])
            elif table == 1:
                k = tuple(key[: self.pmemo.w])
                if k in prop_k:
                    continue
                kind, g, part = k[0] >> 32, k[0] & 0xFFFFFFFF, k[1]
                mask = 0
                if kind == 0:
                    parts_, members = self.sgroups[g]
                    pw = len(parts_[part])
                    for a in members:
                        mask |= int(bool(model.holds(a, part, tuple(k[2 : 2 + pw])))) << a
                else:
                    parts_, members = self.agroups[g]
                    pw = len(parts_[part])
                    for a in members:
                        mask |= int(bool(model.action_holds(a, part, tuple(k[2 : 2 + pw]), tuple(k[2 + pw : 2 + 2 * pw])))) << a
                prop_k[k] = mask
            else:
                k = tuple(key[: self.nproc])
                if k not in can_k:
                    can_k[k] = self._canon_entry(k)
        self.memo.put_many(list(mem_k), list(mem_k.values()))
        self.pmemo.put_many(list(prop_k), list(prop_k.values()))
        self.cmemo.put_many(list(can_k), list(can_k.values()))
        self.fills += len(mem_k) + len(prop_k) + len(can_k)

    def _result_set(self, effects: list[Any]) -> int:
        """Append a group's effects to the effect and op arrays; the index of the new result set."""
        first, at = self.ef_label.n, self.op_slot.n
        labels: list[int] = []
        offs: list[int] = []
        lens: list[int] = []
        slots: list[int] = []
        kinds: list[int] = []
        args: list[int] = []
        for eff in effects:
            labels.append(eff.label)
            offs.append(at + len(slots))
            lens.append(len(eff.ops))
            for op in eff.ops:
                if op.kind not in (SET, MERGE) or not 0 <= op.slot < self.width:
                    raise ValueError(f"bad effect op {op}")
                if op.kind == MERGE and op.slot in self.model.context:
                    raise ValueError("a merged slot cannot be a context slot")
                slots.append(op.slot)
                kinds.append(op.kind)
                args.append(op.arg)
        for buf, vals in ((self.ef_label, labels), (self.ef_off, offs), (self.ef_len, lens),
                          (self.op_slot, slots), (self.op_kind, kinds), (self.op_arg, args)):
            buf.extend(vals)
        rs = self.rs_off.extend([first])
        self.rs_len.extend([len(effects)])
        return rs

    def _rename(self, perm: int, value: int) -> int:
        got = self.rename_memo.get((perm, value))
        if got is None:
            got = self.rename_memo[perm, value] = self.model.rename(perm, value)
        return got

    def _canon_candidates(self, procs: tuple[int, ...]) -> tuple[tuple[int, ...], list[int]]:
        """The least renamed process values over the renamings that sort processes by key, and the renamings reaching them."""
        n = self.nproc
        keys = [self.model.sym_key(i, v) for i, v in enumerate(procs)]
        order = sorted(range(n), key=keys.__getitem__)
        value_order = self.model.process_order
        blocks: list[list[int]] = []
        for i in order:
            if blocks and keys[blocks[-1][0]] == keys[i]:
                blocks[-1].append(i)
            else:
                blocks.append([i])
        best: tuple[int, ...] | None = None
        best_order: tuple[Any, ...] = ()
        perms: list[int] = []
        for choice in itertools.product(*(itertools.permutations(b) for b in blocks)):
            p = [0] * n
            for new_pos, old in enumerate(itertools.chain.from_iterable(choice)):
                p[old] = new_pos
            pi = self.perm_index[tuple(p)]
            new = [0] * n
            for i, v in enumerate(procs):
                new[p[i]] = self._rename(pi, v)
            cand = tuple(new)
            cand_order = tuple(value_order(v) for v in cand)
            if best is None or cand_order < best_order:
                best, best_order, perms = cand, cand_order, [pi]
            elif cand_order == best_order:
                perms.append(pi)
        assert best is not None
        return best, perms

    def _canon_entry(self, procs: tuple[int, ...]) -> int:
        best, perms = self._canon_candidates(procs)
        entry = self.canon_poff.n
        self.canon_vals.extend(list(best))
        self.canon_poff.extend([self.canon_perms.n])
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

    def _state_props_py(self, v: tuple[int, ...]) -> tuple[int, int]:
        """(first failing ALWAYS property or -1, bitmask of SOMETIMES properties that hold) of ``v``, in Python."""
        inv, mask = -1, 0
        for a, sp in enumerate(self.model.state_props):
            good = all(self.model.holds(a, p, tuple(v[k] for k in part)) for p, part in enumerate(sp.parts))
            if sp.prop.kind is Kind.SOMETIMES:
                mask |= (1 << a) if good else 0
            elif not good and inv < 0:
                inv = a
        return inv, mask

    # ------------------------------------------------------------------ the search

    def _grow(self, need: int) -> None:
        self.store.n = self.nrows
        self.store.ensure(need)

    def _call(self, x: int, hi: int, ctl: Any, counts: Any, wit: Any, bad_vec: Any, store: Store | None = None,
              budget: int = BUDGET, s_always: int | None = None, a_all: int | None = None) -> None:
        self.kernel_calls += 1
        t0 = time.perf_counter()
        K.expand(x, hi, budget, ctl, (store or self.store).tup(),
                 self.memo.keys, self.memo.vals, self.pmemo.keys, self.pmemo.vals, self.cmemo.keys, self.cmemo.vals,
                 self.g_reads, self.g_nreads, self.deps_off, self.deps, self.ctx,
                 self.rs_off.arr, self.rs_len.arr, self.ef_label.arr, self.ef_off.arr, self.ef_len.arr,
                 self.op_slot.arr, self.op_kind.arr, self.op_arg.arr,
                 self.sg_poff, self.sg_bits, self.part_off, self.pslots,
                 self.s_always if s_always is None else s_always, self.s_sometimes,
                 self.ag_poff, self.ag_bits, self.apart_group, self.apart_off, self.apslots,
                 self.a_all if a_all is None else a_all,
                 self.nproc, int(self.symmetry), self.slot_perm,
                 self.canon_vals.arr, self.canon_poff.arr, self.canon_plen.arr, self.canon_perms.arr,
                 self.succ, self.succ_canon, self.succ_label, self.succ_afail, self.succ_inv, self.succ_wit, self.succ_new,
                 counts, self.misses, wit, bad_vec, self.succ_h)
        self.kernel_seconds += time.perf_counter() - t0

    def run(self) -> Result[Any, Any]:
        model = self.model
        props: list[Property[Any, Any]] = list(getattr(model, "properties", None) or
                                                [*(x.prop for x in model.state_props), *(x.prop for x in model.action_props)])
        sp = model.state_props
        stats = Stats()
        start = time.perf_counter()
        report = Reporter(self.progress, self.progress_interval, start)
        status, reason = HOLDS, None
        ctl = np.zeros(K.CTL_SIZE, dtype=np.int64)
        counts = np.zeros(len(model.labels), dtype=np.int64)
        wit = np.full(max(len(sp), 1), -1, dtype=np.int64)
        bad_vec = np.zeros(self.width, dtype=np.int64)
        pending = 0
        for a, sp_a in enumerate(sp):
            if sp_a.prop.kind is Kind.SOMETIMES:
                pending |= 1 << a
        ctl[K.MAXST] = -1 if self.max_states is None else self.max_states
        bad: tuple[Property[Any, Any], int, tuple[int, ...] | None] | None = None
        lo = hi = depth = x = 0
        try:
            # Initial states, in Python (few).
            for v0 in model.initial():
                c = self.canon(v0)
                if self.max_states is not None and self.nrows >= self.max_states and not self.store.contains(c):
                    raise _Capped
                idx = self.store.insert(c)
                if idx < 0:
                    continue
                self.nrows = self.store.n
                inv, mask = self._state_props_py(c)
                for a in range(len(sp)):
                    if (mask & pending) >> a & 1:
                        wit[a] = idx
                pending &= ~mask
                if inv >= 0 and bad is None:
                    bad = (sp[inv].prop, idx, None)
            ctl[K.PENDING] = pending
            ctl[K.NROWS] = self.nrows
            hi = self.nrows
            while bad is None and lo < hi:
                while x < hi:
                    self._call(x, hi, ctl, counts, wit, bad_vec)
                    st = int(ctl[K.ST])
                    x = int(ctl[K.RESUME])
                    self.nrows = int(ctl[K.NROWS])
                    if st == K.MISS:
                        self._fill(self.misses[: int(ctl[K.NMISS])])
                        continue
                    if st == K.GROW:
                        if ctl[K.GROW_SCRATCH]:
                            self.scratch(2 * len(self.succ))
                        self._grow(len(self.succ))
                        continue
                    if self.nrows > hi:
                        stats.depth = depth + 1
                    if st == K.VIOL_STATE:
                        bad = (sp[int(ctl[K.INFO_PROP])].prop, int(ctl[K.INFO_IDX]), None)
                        break
                    if st == K.VIOL_ACTION:
                        ap = model.action_props[int(ctl[K.INFO_PROP])]
                        bad = (ap.prop, int(ctl[K.INFO_IDX]), tuple(int(c) for c in bad_vec))
                        break
                    if st == K.CAPPED:
                        raise _Capped
                    report(self.nrows, int(ctl[K.TRANS]), depth + 1, hi - x + self.nrows - hi)
                if self.nrows > hi:
                    stats.depth = depth + 1
                lo, hi = hi, self.nrows
                self.store.n = self.nrows
                self.store.level(lo)
                depth += 1
        except _Capped:
            status, reason = INCOMPLETE, f"state cap reached (--max-states {self.max_states})"
        except KeyboardInterrupt:
            status, reason = INCOMPLETE, "interrupted"
        stats.transitions = int(ctl[K.TRANS])
        stats.distinct_states = self.nrows
        stats.action_counts = Counter()
        for k, fired in enumerate(counts.tolist()):
            if fired:
                stats.action_counts[model.labels[k]] += fired
        stats.wall_seconds = time.perf_counter() - start
        stats.peak_rss = peak_rss_bytes()
        self.store.n = self.nrows
        stats.store = self.store.kind
        stats.store_bytes = self.store.nbytes  # the memory store too (the CLI prints it for the others)
        if self.store.kind == "fp":
            stats.collision_probability = collision_probability(self.nrows)
        result: Result[Any, Any] = Result(status, stats, incomplete_reason=reason, checked=props)
        violations = []  # the first violation only: this engine has no --continue yet (the front door refuses it)
        if bad is not None:
            p, idx, raw = bad
            violations.append((p, self.path_to(idx), model.decode(raw) if raw is not None else None))
        witnesses: dict[str, list[Any] | None] = {}
        for a, x_ in enumerate(sp):
            if x_.prop.kind is Kind.SOMETIMES:
                witnesses[x_.prop.name] = self.path_to(int(wit[a])) if wit[a] >= 0 else None
        return finish(result, model.readable, self.readable_canon, violations, witnesses)

    def readable_canon(self, s: Any) -> Any:
        return self.model.readable.representative(s) if self.symmetry else s

    def path_to(self, idx: int) -> list[Any]:
        """The stored states from an initial state to ``idx``, as readable representatives."""
        self.store.n = self.nrows
        vs = self.store.path_vectors(idx, self.successors)
        return [self.readable_canon(self.model.decode(v)) for v in vs]

    def successors(self, v: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The successors of the stored (canonical) state ``v`` in the kernel's order, each in its stored form: the
        kernel expands ``v`` alone, from a store of its own, with no property that can stop it (its position j in
        this list is the one the fp store records)."""
        tmp = Store("memory", self.width, cap=64)
        tmp.insert(v)
        ctl = np.zeros(K.CTL_SIZE, dtype=np.int64)
        ctl[K.NROWS], ctl[K.MAXST] = 1, -1
        counts = np.zeros(len(self.model.labels), dtype=np.int64)
        wit = np.full(max(len(self.model.state_props), 1), -1, dtype=np.int64)
        bad_vec = np.zeros(self.width, dtype=np.int64)
        while True:
            ctl[K.NROWS] = tmp.n = 1
            ctl[K.TRANS] = 0
            self._call(0, 1, ctl, counts, wit, bad_vec, store=tmp, budget=1, s_always=0, a_all=0)
            st = int(ctl[K.ST])
            if st == K.MISS:
                self._fill(self.misses[: int(ctl[K.NMISS])])
            elif st == K.GROW:
                if ctl[K.GROW_SCRATCH]:
                    self.scratch(2 * len(self.succ))
                tmp.ensure(len(self.succ))
            elif st == K.DONE:
                return [tuple(int(c) for c in row) for row in self.succ_canon[: int(ctl[K.TRANS])]]
            else:
                raise RuntimeError(f"re-expanding a stored state ended with kernel status {st}")

    def vectors(self) -> Iterator[tuple[int, ...]]:
        """Every stored state vector, in BFS order (for tests; not with the fp store)."""
        self.store.n = self.nrows
        yield from self.store.vectors()


class _Capped(Exception):
    pass
