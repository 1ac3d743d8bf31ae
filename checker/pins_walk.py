# mypy: disable-error-code="no-any-return,return-value"
"""Simulation walks in compiled code (numba) over a :class:`checker.pins.PinsModel` and the compiled engine's tables.

:func:`run_walk` takes a walk of ``check simulate`` (``raft_check/simulate.py``)
step by step without returning to Python: at each step it generates every
successor of the current state from the memoised group effects (as
``checker/pins_kernel.py`` does, without canonical forms or a visited set),
checks every invariant on each successor and every action property on each
transition, records which ``sometimes`` properties the successors witness,
then picks one successor with the walk's swarm weights (or uniformly) and
moves there.  The tables are the compiled engine's (:class:`checker.compiled.
CompiledExplorer` owns and fills them).  When a step needs an entry that is
not there yet, the walk returns with the missing keys; Python fills them and
calls again, and the step is recomputed from its start: a step changes the
walk's state (its random generator, the swarm's per-message status) only
once every entry it needs is present, so a walk interrupted by misses is the
same walk as an uninterrupted one.

A step's work, per successor: the group effects, normalisation and merges
(memo lookups), then the property parts whose slots the transition changed
(a part it did not change keeps the answer it has in the current state,
which passed every check), so the cost per step is a few dozen hash probes.

Random choices come from a splitmix64 generator seeded, per walk, from the
walk's own Python generator (``raft_check.simulate.walk_rng``), after the swarm
weights are drawn from it; the successors are listed in an order fixed by
the states' content (groups in order, each group's effects in the model's
order), so a walk is the same in every process and on any number of workers.

The distinct-state estimate adds a content digest of each state the walk
moves to (per slot, :meth:`WalkModel.value_digest`, memoised like the other
entries) to the walker's HyperLogLog registers, so the registers of several
workers merge into the estimate of one.

This module knows no Raft: what a walk needs beyond :class:`checker.pins.PinsModel`
(which message a delivery consumes, its kind, a slot value's content digest,
the readable action of a transition) is the :class:`WalkModel` protocol.
Shrinking and traces run on another :class:`checker.kernel.Kernel` of the same
model (``base``), to which :class:`PinsWalkKernel` hands everything but the walks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from checker import pins_kernel as K  # noqa: N812  (the kernel's helpers and constants: K.ht_find, K.GROUP, ...)
from checker.compiled import CompiledExplorer, _Table
from checker.model import Kind, Property
from checker.pins import PinsModel


class MoveClasses(NamedTuple):
    """The walker's classes of moves, over which its swarm weights are drawn (the front door's ``simulate.CLASSES``):
    a label that names no class is a delivery; the indexes of the delivery, duplicate, restart and timeout classes."""

    names: tuple[str, ...]
    deliver: int
    duplicate: int
    restart: int
    timeout: int


if TYPE_CHECKING:
    from checker.kernel import Kernel, Move

jit = K.jit

# The walk's control words (its own layout: the compiled engine's kernel has another).
NMISS, ST, INFO_SUCC = 2, 3, 7
CTL_SIZE = 16


@K.jit
def _miss(misses: Any, ctl: Any, table: int, key: Any, w: int) -> None:
    """Record the missing key ``(table, key[:w])`` as the next row of ``misses`` (dropped if full: the walk is retried
    after the fill, and meets the key again)."""
    m = ctl[NMISS]
    if m < misses.shape[0]:
        misses[m, 0] = table
        for k in range(w):
            misses[m, 1 + k] = key[k]
        for k in range(w, misses.shape[1] - 1):
            misses[m, 1 + k] = 0
        ctl[NMISS] = m + 1


# Walk status (ctl[ST]).
W_DONE, W_MISS, W_GROW_SUCC, W_GROW_MSG, W_VIOL = 0, 1, 2, 3, 4
# Walk state (the int64 array ``st``): kept across calls of one walk.
STEP, READY, WIT, NTRANS, VPROP, VEFF, MSGS, ENDED, VSTATUS = range(9)
ST_SIZE = 10
# Configuration (the int64 array ``cfg``).
C_NCL, C_TIMEOUT, C_RESTART, C_DELIVER, C_DUPLICATE, C_HANDLE, C_PER_SERVER, C_UNIFORM, C_HOLD, C_DEPTH = range(10)
CFG_SIZE = 10
# Per-message status bits (swarm walks).
SEEN, LOST, DELIVERED, WAS_HELD = 1, 2, 4, 8
DIGEST_TABLE = 3
"""The misses' table number for slot digests (0-2 are the compiled engine's memo, property memo and canonical memo)."""

HLL_P = 14
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
U30, U27, U31, U11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
PRIME = np.uint64(1099511628211)


class WalkModel(PinsModel, Protocol):
    """What a walk needs beyond :class:`checker.pins.PinsModel`."""

    @property
    def delivery_label(self) -> int:
        """The label of the transitions that deliver a message (each consumes one token of one slot)."""
        ...

    @property
    def token_kinds(self) -> int:
        """Delivered tokens are of kinds ``0 .. token_kinds - 1`` (swarm walks lose each kind at its own rate)."""
        ...

    def effect_tokens(self, group: int, values: tuple[int, ...]) -> list[tuple[int, int, int]] | None:
        """Per effect of ``effects(group, values)``: (slot, token, kind) of the message it delivers (the token is the
        message's identity within the slot, the same wherever it is delivered), or None if the group delivers nothing."""
        ...

    def value_digest(self, slot: int, value: int) -> int:
        """A 64-bit signed digest of ``slot`` holding ``value``, computed from the value's content (equal in every process)."""
        ...

    def readable_action(self, label: int, slot: int, token: int) -> Any:
        """The readable model's action of a transition with ``label`` (a delivery: of ``token`` from ``slot``)."""
        ...


# ------------------------------------------------------------------ compiled helpers


@jit
def _rand(rng: Any) -> float:
    """A float in [0, 1) from the splitmix64 generator whose state is ``rng[0]``."""
    z = rng[0] + GOLDEN
    rng[0] = z
    z = (z ^ (z >> U30)) * M1
    z = (z ^ (z >> U27)) * M2
    z = z ^ (z >> U31)
    return float(z >> U11) * (1.0 / 9007199254740992.0)


@jit
def _randrange(rng: Any, n: int) -> int:
    k = int(_rand(rng) * n)
    return k if k < n else n - 1


@jit
def _hll_add(reg: Any, h: Any) -> None:
    """The HyperLogLog update of ``raft_check.simulate.HyperLogLog.add`` (the same registers)."""
    h = (h ^ (h >> U30)) * M1
    h = (h ^ (h >> np.uint64(27))) * M2
    h = h ^ (h >> U31)
    m = 1 << HLL_P
    idx = int(h & np.uint64(m - 1))
    rest = h >> np.uint64(HLL_P)
    bl = 0
    while rest:
        bl += 1
        rest = rest >> np.uint64(1)
    rank = 64 - HLL_P - bl + 1
    if rank > reg[idx]:
        reg[idx] = rank


@jit
def _same(t: Any, s: Any, n: int) -> bool:
    for k in range(n):  # noqa: SIM110  (numba compiles this loop; a generator would not be faster)
        if t[k] != s[k]:
            return False
    return True


@jit
def successors(s: Any, ctl: Any, mkeys: Any, mvals: Any, g_reads: Any, g_nreads: Any, deps_off: Any, deps: Any, ctx: Any,
               rs_off: Any, rs_len: Any, ef_off: Any, ef_len: Any, op_slot: Any, op_kind: Any, op_arg: Any,
               succ: Any, succ_e: Any, succ_ok: Any, misses: Any) -> int:
    """Every successor of ``s`` into ``succ`` (its effect index into ``succ_e``): their number, or -2 if ``succ`` is too
    small.  If an entry was missing, the miss is recorded, ``ctl[INFO_SUCC]`` is 1 and the successors that needed it
    have ``succ_ok`` 0."""
    W = s.shape[0]
    G = g_reads.shape[0]
    mk = np.zeros(4, dtype=np.int64)
    ok = True
    ns = 0
    for g in range(G):
        mk[0] = (K.GROUP << 32) | g
        for r in range(3):
            mk[1 + r] = s[g_reads[g, r]] if r < g_nreads[g] else 0
        i = K.ht_find(mkeys, mk, 4)
        if i < 0:
            _miss(misses, ctl, 0, mk, 4)
            ok = False
            continue
        rs = mvals[i]
        for e in range(rs_off[rs], rs_off[rs] + rs_len[rs]):
            if ns >= succ.shape[0]:
                return -2
            t = succ[ns]
            for k in range(W):
                t[k] = s[k]
            lo, n_ops = ef_off[e], ef_len[e]
            for o in range(lo, lo + n_ops):
                if op_kind[o] == K.SET_OP:
                    t[op_slot[o]] = op_arg[o]
            eok = True
            for o in range(lo, lo + n_ops):
                c = op_slot[o]
                if op_kind[o] == K.SET_OP and t[c] != s[c]:
                    for d in range(deps_off[c], deps_off[c + 1]):
                        q = deps[d]
                        if t[q] == 0:  # the empty value normalises to itself (checker.pins)
                            continue
                        K._norm_key(mk, q, t[c], t[q])
                        j = K.ht_find(mkeys, mk, 4)
                        if j < 0:
                            _miss(misses, ctl, 0, mk, 4)
                            eok = False
                            break
                        t[q] = mvals[j]
                if not eok:
                    break
            if eok:
                for o in range(lo, lo + n_ops):
                    if op_kind[o] == K.MERGE_OP:
                        q = op_slot[o]
                        mk[0] = (K.MERGE_K << 32) | q
                        mk[1] = t[ctx[q]] if ctx[q] >= 0 else 0
                        mk[2] = t[q]
                        mk[3] = op_arg[o]
                        j = K.ht_find(mkeys, mk, 4)
                        if j < 0:
                            _miss(misses, ctl, 0, mk, 4)
                            eok = False
                            break
                        t[q] = mvals[j]
            if not eok:
                ok = False
            succ_ok[ns] = 1 if eok else 0
            succ_e[ns] = e
            ns += 1
    ctl[INFO_SUCC] = 0 if ok else 1
    return ns


@jit
def _lookup_part(pkeys: Any, pvals: Any, pk: Any, wp: int, tag: int, part: int, a: Any, pw: int, b: Any, slots: Any, off: int,
                 misses: Any, ctl: Any) -> int:
    """The memoised bitmask of a property part (state part: values of ``a``; action part: ``a`` then ``b``), or -1."""
    pk[0] = tag
    pk[1] = part
    k2 = 2
    for k in range(pw):
        pk[k2] = a[slots[off + k]]
        k2 += 1
    if b.shape[0] > 0:
        for k in range(pw):
            pk[k2] = b[slots[off + k]]
            k2 += 1
    for k in range(k2, wp):
        pk[k] = 0
    i = K.ht_find(pkeys, pk, wp)
    if i < 0:
        _miss(misses, ctl, 1, pk, wp)
        return -1
    return pvals[i]


@jit
def run_walk(st: Any, cfg: Any, rng: Any, cur: Any, cls_w: Any, loss: Any, delay: float,
             msg_keys: Any, msg_stat: Any, msg_held: Any, path: Any,
             mkeys: Any, mvals: Any, pkeys: Any, pvals: Any, dkeys: Any, dvals: Any,
             g_reads: Any, g_nreads: Any, deps_off: Any, deps: Any, ctx: Any,
             rs_off: Any, rs_len: Any, ef_label: Any, ef_off: Any, ef_len: Any, op_slot: Any, op_kind: Any, op_arg: Any,
             ef_slot: Any, ef_tok: Any, ef_kind: Any,
             sg_poff: Any, sg_bits: Any, part_off: Any, pslots: Any, s_always: int, s_sometimes: int,
             ag_poff: Any, ag_bits: Any, apart_group: Any, apart_off: Any, apslots: Any, a_all: int,
             label_class: Any, label_owner: Any, sp_index: Any, ap_index: Any,
             succ: Any, succ_e: Any, succ_ok: Any, succ_bad: Any, succ_wit: Any, succ_cls: Any, cur_part: Any, selfres: Any,
             visited: Any, counts: Any, hll: Any, misses: Any, ctl: Any) -> None:
    """Continue the walk whose state is ``st``/``rng``/``cur``/the message table until it ends (``W_DONE``), a property
    fails (``W_VIOL``), an entry is missing (``W_MISS``) or an array is too small (``W_GROW_*``): see the module docstring."""
    W = cur.shape[0]
    wp = pkeys.shape[1] - 1  # the last column is the value
    nsg = sg_poff.shape[0] - 1
    nag = ag_poff.shape[0] - 1
    n_apart = apart_off.shape[0] - 1
    pk = np.zeros(wp, dtype=np.int64)
    dk = np.zeros(2, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    ncl = cfg[C_NCL]
    handle = cfg[C_HANDLE]
    depth = cfg[C_DEPTH]
    mcap = msg_keys.shape[0]
    mmask = mcap - 1
    ctl[ST] = W_DONE
    ctl[NMISS] = 0
    while True:
        s = cur
        step = st[STEP]
        if step >= depth or st[ENDED]:
            st[ENDED] = 1
            break
        # Phase 0: the current state's property parts' answers and its action parts' (s, s) answers.  A miss anywhere
        # in a step does not stop the step: the rest of it is looked at too, to collect every miss for one fill.
        ok = True
        for g in range(nsg):
            for p in range(sg_poff[g], sg_poff[g + 1]):
                got = _lookup_part(pkeys, pvals, pk, wp, g, p - sg_poff[g], s, part_off[p + 1] - part_off[p], none, pslots,
                                   part_off[p], misses, ctl)
                if got < 0:
                    ok = False
                cur_part[p] = got
        for p in range(n_apart):
            g = apart_group[p]
            got = _lookup_part(pkeys, pvals, pk, wp, (1 << 32) | g, p - ag_poff[g], s, apart_off[p + 1] - apart_off[p], s,
                               apslots, apart_off[p], misses, ctl)
            if got < 0:
                ok = False
            selfres[p] = got
        if ok and step == 0 and not st[READY]:  # the initial state's witnesses (later states were witnessed as successors)
            held = 0
            for g in range(nsg):
                gm = sg_bits[g]
                for p in range(sg_poff[g], sg_poff[g + 1]):
                    gm &= cur_part[p]
                held |= gm
            st[WIT] |= held & s_sometimes
            st[READY] = 1
        # Phase 1: every successor.
        ns = successors(s, ctl, mkeys, mvals, g_reads, g_nreads, deps_off, deps, ctx, rs_off, rs_len, ef_off, ef_len,
                        op_slot, op_kind, op_arg, succ, succ_e, succ_ok, misses)
        if ns == -2:
            ctl[ST] = W_GROW_SUCC
            return
        if ctl[INFO_SUCC]:
            ok = False
        # Phase 2: the properties of every transition.
        for j in range(ns):
            if not succ_ok[j]:
                continue
            t = succ[j]
            held = 0
            for g in range(nsg):
                gm = sg_bits[g]
                for p in range(sg_poff[g], sg_poff[g + 1]):
                    changed = False
                    for k in range(part_off[p], part_off[p + 1]):
                        if t[pslots[k]] != s[pslots[k]]:
                            changed = True
                            break
                    if not changed:
                        gm &= cur_part[p]
                        continue
                    got = _lookup_part(pkeys, pvals, pk, wp, g, p - sg_poff[g], t, part_off[p + 1] - part_off[p], none, pslots,
                                       part_off[p], misses, ctl)
                    if got < 0:
                        ok = False
                    gm &= got
                held |= gm
            aheld = 0
            for g in range(nag):
                gm = ag_bits[g]
                for p in range(ag_poff[g], ag_poff[g + 1]):
                    changed = False
                    for k in range(apart_off[p], apart_off[p + 1]):
                        if t[apslots[k]] != s[apslots[k]]:
                            changed = True
                            break
                    if not changed:
                        gm &= selfres[p]
                        continue
                    got = _lookup_part(pkeys, pvals, pk, wp, (1 << 32) | g, p - ag_poff[g], s, apart_off[p + 1] - apart_off[p], t,
                                       apslots, apart_off[p], misses, ctl)
                    if got < 0:
                        ok = False
                    gm &= got
                aheld |= gm
            bad = -1
            fs = s_always & ~held
            a = 0
            while fs:
                if fs & 1 and (bad < 0 or sp_index[a] < bad):
                    bad = sp_index[a]
                fs >>= 1
                a += 1
            fa = a_all & ~aheld
            a = 0
            while fa:
                if fa & 1 and (bad < 0 or ap_index[a] < bad):
                    bad = ap_index[a]
                fa >>= 1
                a += 1
            succ_bad[j] = bad
            succ_wit[j] = held & s_sometimes
        if not ok:
            ctl[ST] = W_MISS
            return
        # Phase 3: nothing is missing: count, look for a violation, witness.
        st[NTRANS] += ns
        for j in range(ns):
            if succ_bad[j] >= 0:
                st[VPROP] = succ_bad[j]
                st[VEFF] = succ_e[j]
                st[VSTATUS] = W_VIOL
                st[ENDED] = 1
                break
        if st[ENDED]:
            break
        for j in range(ns):
            st[WIT] |= succ_wit[j]
        # Phase 4: choose a successor.
        pick = -1
        if cfg[C_UNIFORM]:
            nc = 0
            for j in range(ns):
                if not _same(succ[j], s, W):
                    nc += 1
            if nc == 0:
                st[ENDED] = 1
                break
            r = _randrange(rng, nc)
            for j in range(ns):
                if not _same(succ[j], s, W):
                    if r == 0:
                        pick = j
                        break
                    r -= 1
        else:
            if 4 * (st[MSGS] + ns) > mcap:  # the message table stays at most a quarter full
                ctl[ST] = W_GROW_MSG
                return
            waiting = False
            for j in range(ns):
                succ_cls[j] = -1
                if _same(succ[j], s, W):
                    continue
                e = succ_e[j]
                lab = ef_label[e]
                c = label_class[lab]
                if cfg[C_PER_SERVER] and (c == cfg[C_TIMEOUT] or c == cfg[C_RESTART]):
                    c = ncl + 2 * label_owner[lab] + (1 if c == cfg[C_RESTART] else 0)
                if lab == handle:
                    sl, tk = ef_slot[e], ef_tok[e]
                    i = (sl * 1000003 + tk) & mmask
                    while msg_stat[i] != 0 and (msg_keys[i, 0] != sl or msg_keys[i, 1] != tk):
                        i = (i + 1) & mmask
                    if msg_stat[i] == 0:
                        msg_keys[i, 0] = sl
                        msg_keys[i, 1] = tk
                        msg_stat[i] = SEEN
                        msg_held[i] = 0
                        st[MSGS] += 1
                        p_loss = loss[ef_kind[e]]
                        if p_loss > 0 and _rand(rng) < p_loss:
                            msg_stat[i] |= LOST
                        elif delay > 0 and _rand(rng) < delay:
                            msg_held[i] = step + 1 + _randrange(rng, cfg[C_HOLD])
                            msg_stat[i] |= WAS_HELD
                    if msg_stat[i] & LOST:
                        continue
                    if msg_held[i] > step:
                        waiting = True
                        continue
                    if msg_stat[i] & DELIVERED:
                        c = cfg[C_DUPLICATE]
                succ_cls[j] = c
            any_c = False
            for j in range(ns):
                if succ_cls[j] >= 0:
                    any_c = True
                    break
            if not any_c and waiting:  # only held messages remain: time passes until the first is released
                first = -1
                for i in range(mcap):
                    if msg_stat[i] != 0 and msg_held[i] > step and (first < 0 or msg_held[i] < first):
                        first = msg_held[i]
                for i in range(mcap):
                    if msg_stat[i] != 0 and msg_held[i] == first:
                        msg_held[i] = 0
                for j in range(ns):
                    e = succ_e[j]
                    if ef_label[e] != handle or _same(succ[j], s, W):
                        continue
                    sl, tk = ef_slot[e], ef_tok[e]
                    i = (sl * 1000003 + tk) & mmask
                    while msg_stat[i] != 0 and (msg_keys[i, 0] != sl or msg_keys[i, 1] != tk):
                        i = (i + 1) & mmask
                    if msg_stat[i] & WAS_HELD and msg_held[i] == 0:
                        succ_cls[j] = cfg[C_DUPLICATE] if msg_stat[i] & DELIVERED else cfg[C_DELIVER]
                        any_c = True
            if not any_c:
                st[ENDED] = 1
                break
            total = 0.0
            nclasses = 0
            for c in range(cls_w.shape[0]):
                present = False
                for j in range(ns):
                    if succ_cls[j] == c:
                        present = True
                        break
                if present:
                    total += cls_w[c]
                    nclasses += 1
            chosen = -1
            if total > 0:
                rf = _rand(rng) * total
                for c in range(cls_w.shape[0]):
                    present = False
                    for j in range(ns):
                        if succ_cls[j] == c:
                            present = True
                            break
                    if present:
                        chosen = c
                        rf -= cls_w[c]
                        if rf < 0:
                            break
            else:  # every enabled class is switched off in this walk: any step rather than none
                r2 = _randrange(rng, nclasses)
                for c in range(cls_w.shape[0]):
                    present = False
                    for j in range(ns):
                        if succ_cls[j] == c:
                            present = True
                            break
                    if present:
                        if r2 == 0:
                            chosen = c
                            break
                        r2 -= 1
            size = 0
            for j in range(ns):
                if succ_cls[j] == chosen:
                    size += 1
            r3 = _randrange(rng, size)
            for j in range(ns):
                if succ_cls[j] == chosen:
                    if r3 == 0:
                        pick = j
                        break
                    r3 -= 1
            e = succ_e[pick]
            if ef_label[e] == handle:
                sl, tk = ef_slot[e], ef_tok[e]
                i = (sl * 1000003 + tk) & mmask
                while msg_keys[i, 0] != sl or msg_keys[i, 1] != tk:
                    i = (i + 1) & mmask
                msg_stat[i] |= DELIVERED
        # Phase 5: move.
        path[step] = succ_e[pick]
        counts[ef_label[succ_e[pick]]] += 1
        for k in range(W):
            cur[k] = succ[pick, k]
            visited[step + 1, k] = cur[k]
        st[STEP] = step + 1
    # The walk's steps are taken: the digests of the states it visited go into the distinct-state estimate.
    n_vis = st[STEP] + 1
    ok = True
    for v in range(n_vis):
        for k in range(W):
            dk[0] = k
            dk[1] = visited[v, k]
            if K.ht_find(dkeys, dk, 2) < 0:
                _miss(misses, ctl, DIGEST_TABLE, dk, 2)
                ok = False
    if not ok:
        ctl[ST] = W_MISS
        return
    for v in range(n_vis):
        h = np.uint64(1469598103934665603)
        for k in range(W):
            dk[0] = k
            dk[1] = visited[v, k]
            h = (h ^ np.uint64(dvals[K.ht_find(dkeys, dk, 2)])) * PRIME
        _hll_add(hll, h)
    ctl[ST] = st[VSTATUS]


# ------------------------------------------------------------------ the kernel


class PinsWalkKernel:
    """A :class:`checker.kernel.Kernel` whose walks run in compiled code on ``pins`` (see the module docstring); shrinking,
    traces and property checks of single states are ``base``'s (a kernel of the same model and properties, whose
    action labels are ``pins.labels``)."""

    name = "compiled"

    def __init__(self, pins: WalkModel, base: Kernel[Any, Any], classes: MoveClasses) -> None:
        self.pins, self.base = pins, base
        self.classes = classes
        if list(pins.labels) != list(base.names):
            raise ValueError("the walk model's labels are not the base kernel's action names")
        self.n = base.n
        self.names = base.names
        self.handle_index = base.handle_index
        self.owner = base.owner
        self.message_kinds = base.message_kinds
        self.props: Sequence[Property[Any, Any]] = base.props
        if pins.delivery_label != base.handle_index or pins.token_kinds != base.message_kinds:
            raise ValueError("the walk model's deliveries are not the base kernel's")
        ids = {id(p): k for k, p in enumerate(self.props)}
        self.sp_index = np.array([ids[id(x.prop)] for x in pins.state_props] or [0], dtype=np.int64)
        self.ap_index = np.array([ids[id(x.prop)] for x in pins.action_props] or [0], dtype=np.int64)
        self.tables = t0 = CompiledExplorer(pins, symmetry=False)
        self.dtab = _Table(2)
        self.misses = np.zeros((4096, t0.lanes[0].miss_w), dtype=np.int64)  # the walk's missed keys (rows as the engine's)
        self.ef_slot, self.ef_tok, self.ef_kind = (np.full(1024, -1, dtype=np.int64) for _ in range(3))
        self.ef_known = 0  # effects 0 .. ef_known-1 have their tokens
        t = self.tables
        self.ctl = np.zeros(CTL_SIZE, dtype=np.int64)
        self.st = np.zeros(ST_SIZE, dtype=np.int64)
        self.rng = np.zeros(1, dtype=np.uint64)
        self.cur = np.zeros(pins.width, dtype=np.int64)
        self._msgs(1024)
        self.succ_cap(64)
        self.cur_part = np.zeros(max(len(t.part_off) - 1, 1), dtype=np.int64)
        self.selfres = np.zeros(max(len(t.apart_off) - 1, 1), dtype=np.int64)
        self.counts = np.zeros(len(pins.labels), dtype=np.int64)
        self.path = np.zeros(0, dtype=np.int64)
        self.visited = np.zeros((0, pins.width), dtype=np.int64)
        self.inits = pins.initial()
        self.fills = 0
        CLASSES, DELIVER = classes.names, classes.deliver
        self.label_class = np.array([CLASSES.index(x) if x in CLASSES else DELIVER for x in self.names], dtype=np.int64)
        self.label_owner = np.array([max(o, 0) for o in self.owner], dtype=np.int64)
        self._warm()

    def _warm(self) -> None:
        """One step of a uniform walk from the first initial state: compiles (or loads) the walk code before any worker
        is forked, and asks the model for the initial state's entries, so that a property this encoding cannot check
        is refused here (ValueError), not in a worker."""
        CLASSES, DELIVER, DUPLICATE, RESTART, TIMEOUT = self.classes

        cfg = np.array([len(CLASSES), TIMEOUT, RESTART, DELIVER, DUPLICATE, self.handle_index, 0, 1, 1, 1], dtype=np.int64)
        self._depth(1)
        self.st[:] = 0
        self.cur[:] = self.visited[0] = self.inits[0]
        self._call(cfg, np.zeros(len(CLASSES)), np.zeros(max(self.message_kinds, 1)), 0.0, np.zeros(1 << 14, dtype=np.uint8))

    def _depth(self, depth: int) -> None:
        if len(self.path) < depth + 1:
            self.path = np.zeros(depth + 1, dtype=np.int64)
            self.visited = np.zeros((depth + 1, self.pins.width), dtype=np.int64)

    def _msgs(self, cap: int) -> None:
        self.msg_keys = np.zeros((cap, 2), dtype=np.int64)
        self.msg_stat = np.zeros(cap, dtype=np.int64)
        self.msg_held = np.zeros(cap, dtype=np.int64)

    def succ_cap(self, cap: int) -> None:
        w = self.pins.width
        self.succ = np.zeros((cap, w), dtype=np.int64)
        self.succ_e, self.succ_ok, self.succ_bad, self.succ_wit, self.succ_cls = (np.zeros(cap, dtype=np.int64) for _ in range(5))

    # ------------------------------------------------------------ filling

    def fill(self, misses: Any) -> None:
        """Fill the missed entries: the compiled engine's tables by its own fill, slot digests here; then the tokens of
        the effects that the fill added."""
        t = self.tables
        listed = misses.tolist()
        dig = {(r[1], r[2]) for r in listed if r[0] == DIGEST_TABLE}
        if len(dig) < len(listed):
            t._fill(misses[misses[:, 0] != DIGEST_TABLE] if dig else misses)
        if dig:
            keys: list[tuple[int, ...]] = sorted(dig)
            self.dtab.put_many(keys, [self.pins.value_digest(k, v) for k, v in keys])
        self.fills += 1
        total = t.ef_label.n
        if total > self.ef_known:
            if total > len(self.ef_slot):
                cap = max(total, 2 * len(self.ef_slot))
                for name in ("ef_slot", "ef_tok", "ef_kind"):
                    grown = np.full(cap, -1, dtype=np.int64)
                    grown[: self.ef_known] = getattr(self, name)[: self.ef_known]
                    setattr(self, name, grown)
            key = np.zeros(4, dtype=np.int64)
            seen: set[tuple[int, ...]] = set()
            for r in listed:
                k = tuple(r[1:5])
                if r[0] != 0 or k[0] >> 32 != K.GROUP or k in seen:
                    continue
                seen.add(k)
                key[:] = k
                i = K.ht_find(t.memo.keys, key, 4)
                if i < 0:
                    continue
                rs = int(t.memo.vals[i])
                lo, ln = int(t.rs_off.arr[rs]), int(t.rs_len.arr[rs])
                if lo < self.ef_known:
                    continue
                g = k[0] & 0xFFFFFFFF
                toks = self.pins.effect_tokens(g, tuple(k[1 : 1 + len(self.pins.groups[g].reads)]))
                if toks is not None:
                    if len(toks) != ln:
                        raise ValueError(f"effect_tokens of group {g} gave {len(toks)} tokens for {ln} effects")
                    for j, (sl, tk, kind) in enumerate(toks):
                        self.ef_slot[lo + j], self.ef_tok[lo + j], self.ef_kind[lo + j] = sl, tk, kind
            self.ef_known = total

    # ------------------------------------------------------------ walks

    def _call(self, cfg: Any, cls_w: Any, loss: Any, delay: float, hll: Any) -> int:
        t = self.tables
        while True:
            run_walk(self.st, cfg, self.rng, self.cur, cls_w, loss, delay, self.msg_keys, self.msg_stat, self.msg_held, self.path,
                     t.memo.keys, t.memo.vals, t.pmemo.keys, t.pmemo.vals, self.dtab.keys, self.dtab.vals,
                     t.g_reads, t.g_nreads, t.deps_off, t.deps, t.ctx,
                     t.rs_off.arr, t.rs_len.arr, t.ef_label.arr, t.ef_off.arr, t.ef_len.arr, t.op_slot.arr, t.op_kind.arr,
                     t.op_arg.arr, self.ef_slot, self.ef_tok, self.ef_kind,
                     t.sg_poff, t.sg_bits, t.part_off, t.pslots, t.s_always, t.s_sometimes,
                     t.ag_poff, t.ag_bits, t.apart_group, t.apart_off, t.apslots, t.a_all,
                     self.label_class, self.label_owner, self.sp_index, self.ap_index,
                     self.succ, self.succ_e, self.succ_ok, self.succ_bad, self.succ_wit, self.succ_cls, self.cur_part,
                     self.selfres, self.visited, self.counts, hll, self.misses, self.ctl)
            status = int(self.ctl[ST])
            if status == W_MISS:
                self.fill(self.misses[: int(self.ctl[NMISS])])
            elif status == W_GROW_SUCC:
                self.succ_cap(2 * len(self.succ))
            elif status == W_GROW_MSG:
                self._regrow_msgs()
            else:
                return status

    def _regrow_msgs(self) -> None:
        old = (self.msg_keys, self.msg_stat, self.msg_held)
        self._msgs(2 * len(self.msg_stat))
        mask = len(self.msg_stat) - 1
        for i in np.nonzero(old[1])[0].tolist():
            sl, tk = int(old[0][i, 0]), int(old[0][i, 1])
            j = (sl * 1000003 + tk) & mask
            while self.msg_stat[j]:
                j = (j + 1) & mask
            self.msg_keys[j] = (sl, tk)
            self.msg_stat[j], self.msg_held[j] = old[1][i], old[2][i]

    def walk_on(self, walker: Any, out: Any, rng: Any, weights: Any, init: int) -> Any:
        """Walk ``out.index`` for ``walker`` (``raft_check.simulate.Walker``) from initial state number ``init``, its choices
        drawn from ``rng`` after its swarm ``weights`` were: fills ``out`` (a ``WalkResult``) and the walker's counts."""
        CLASSES, DELIVER, DUPLICATE, RESTART, TIMEOUT = self.classes

        uniform = weights is None
        per_server = bool(weights is not None and weights.servers)
        cfg = np.array([len(CLASSES), TIMEOUT, RESTART, DELIVER, DUPLICATE, self.handle_index, int(per_server), int(uniform),
                        weights.hold if weights is not None else 1, walker.depth], dtype=np.int64)
        ws = list(weights.classes) if weights is not None else [0.0] * len(CLASSES)
        if per_server:
            for i in range(self.n):
                ws += [weights.classes[TIMEOUT] * weights.servers[i], weights.classes[RESTART] * weights.servers[i]]
        cls_w = np.array(ws, dtype=np.float64)
        loss = np.array(weights.loss if weights is not None else [0.0] * max(self.message_kinds, 1), dtype=np.float64)
        delay = float(weights.delay) if weights is not None else 0.0
        self._depth(walker.depth)
        self.st[:] = 0
        self.rng[0] = np.uint64(rng.getrandbits(64))
        self.cur[:] = self.visited[0] = self.inits[init]
        self.msg_stat[:] = 0
        self.counts[:] = 0
        pending = 0
        for a, x in enumerate(self.pins.state_props):
            if x.prop.kind is Kind.SOMETIMES and self.sp_index[a] in walker.pending:
                pending |= 1 << a
        hll = np.frombuffer(walker.hll.reg, dtype=np.uint8)
        status = self._call(cfg, cls_w, loss, delay, hll)
        steps = int(self.st[STEP])
        walker.transitions += int(self.st[NTRANS])
        for lab, c in enumerate(self.counts.tolist()):
            if c:
                walker.counts[lab] += c
        got = int(self.st[WIT]) & pending
        for a in range(len(self.pins.state_props)):
            if got >> a & 1:
                p = int(self.sp_index[a])
                walker.witnessed.add(p)
                walker.pending.remove(p)
        out.steps = steps
        if status == W_VIOL:
            effects = [*self.path[:steps].tolist(), int(self.st[VEFF])]
            out.violation = (int(self.st[VPROP]), [self.readable(e) for e in effects])
        return out

    def readable(self, e: int) -> Any:
        """The readable action of effect ``e``."""
        return self.pins.readable_action(int(self.tables.ef_label.arr[e]), int(self.ef_slot[e]), int(self.ef_tok[e]))

    def compiled_moves(self, v: Sequence[int]) -> list[tuple[Any, tuple[int, ...]]]:
        """Every transition from vector ``v`` as (readable action, successor vector), computed by the compiled code (for
        tests: they compare it with ``base``)."""
        t = self.tables
        s = np.array(v, dtype=np.int64)
        while True:
            self.ctl[NMISS] = 0
            ns = successors(s, self.ctl, t.memo.keys, t.memo.vals, t.g_reads, t.g_nreads, t.deps_off, t.deps, t.ctx,
                            t.rs_off.arr, t.rs_len.arr, t.ef_off.arr, t.ef_len.arr, t.op_slot.arr, t.op_kind.arr, t.op_arg.arr,
                            self.succ, self.succ_e, self.succ_ok, self.misses)
            if ns == -2:
                self.succ_cap(2 * len(self.succ))
            elif self.ctl[INFO_SUCC]:
                self.fill(self.misses[: int(self.ctl[NMISS])])
            else:
                return [(self.readable(int(self.succ_e[j])), tuple(int(x) for x in self.succ[j])) for j in range(ns)]

    # ------------------------------------------------------------ everything else is the base kernel's

    def initial(self) -> list[Any]:
        return self.base.initial()

    def moves(self, s: Any) -> list[Move]:
        return self.base.moves(s)

    def action(self, mv: Move) -> Any:
        return self.base.action(mv)

    def apply(self, s: Any, a: Any) -> Move | None:
        return self.base.apply(s, a)

    def decode(self, s: Any) -> Any:
        return self.base.decode(s)

    def message_kind(self, mv: Move) -> int:
        return self.base.message_kind(mv)

    def digest(self, s: Any) -> int:
        return self.base.digest(s)

    def canon(self, s: Any) -> Any:
        return self.base.canon(s)

    def bad_step(self, s: Any, mv: Move) -> int:
        return self.base.bad_step(s, mv)

    def first_bad(self, s: Any, moves: Sequence[Move]) -> tuple[int, int] | None:
        return self.base.first_bad(s, moves)

    def check_state(self, s: Any) -> int:
        return self.base.check_state(s)

    def violates(self, p: int, s: Any, mv: Move | None) -> bool:
        return self.base.violates(p, s, mv)

    def witnesses(self, s: Any, pending: Sequence[int]) -> list[int]:
        return self.base.witnesses(s, pending)
