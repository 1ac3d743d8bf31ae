"""Simulation's kernel today: :class:`FastKernel`, the generic :class:`checker.kernel.Kernel` interface implemented
on the first-generation fast engine's encoding (``models/fast_raft.py``).

Every successor is computed once by the readable model and memoised per
server and per message slot, and properties are memoised as
``raft_check/fast.py`` does.

Walks run on concrete states: no symmetry canonical form is taken, so a walk
is an execution of the model as it stands and needs no concretisation.  The
model's own reductions (eager vote requests, message pruning and folding,
eager appends) stay on, which is sound for simulation for the reason it is
sound for search: each is argued in ``models/raft.py`` to keep every
behaviour up to an image on which every property gives the same verdict, so
a violation reached in the reduced model is a violation of the protocol, and
a walk wastes no steps on messages that can change nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from checker.kernel import Move
from checker.model import Kind, Property
from models.fast_raft import FastRaft, Flat
from models.raft import Action, EachMessage, MType, Raft, Role, State
from raft_check.fast import _ActionCheck, _Invariants, _StateCheck


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class FastKernel:
    """:class:`Kernel` over the fast engine's memoised encoding (``models/fast_raft.py``)."""

    def __init__(self, model: Raft, props: Sequence[Property[State, Action]]) -> None:
        self.model = model
        fr = self.fr = FastRaft(model)
        self.n = fr.n
        self.names: Sequence[str] = [a.name for a in fr.acts] + ["HandleRPC"]
        self.handle_index = len(fr.acts)
        self.owner: Sequence[int] = [*fr.act_owner, -1]
        self.act_index = {a: k for k, a in enumerate(fr.acts)}
        self.props: Sequence[Property[State, Action]] = list(props)
        # Invariants that are conjunctions over messages (EachMessage) are checked incrementally: a move changes one
        # server and the slots into and out of it, and its source state passed every check (a walk moves only to
        # states that did), so only those slots can have changed their answer.  The other invariants share one memo.
        inv = [k for k, p in enumerate(self.props) if p.kind is Kind.ALWAYS and not isinstance(p.check, EachMessage)]
        self.inv_index = inv
        self.invariants = _Invariants([_StateCheck(self.props[k], fr) for k in inv], fr.n)
        self.each = [(k, _StateCheck(p, fr)) for k, p in enumerate(self.props) if p.kind is Kind.ALWAYS and isinstance(p.check, EachMessage)]
        self.near = [tuple(q for q in range(fr.n, fr.n + fr.m) if i in (fr.src_of[q], fr.dest_of[q])) for i in range(fr.n)]
        self.act_props = [(k, _ActionCheck(p, fr, self._action_of)) for k, p in enumerate(self.props) if p.kind is Kind.ACTION]
        self.state_checks = {k: _StateCheck(p, fr) for k, p in enumerate(self.props) if p.kind is not Kind.ACTION}
        self.action_checks = dict(self.act_props)
        self.srv_digest: dict[int, int] = {}
        self.slot_digest: dict[tuple[int, int], int] = {}
        self.comm_digest: dict[int, int] = {}

    # ----------------------------------------------------------- successors

    def initial(self) -> list[Flat]:
        return [self.fr.encode(s) for s in self.model.init_states()]

    def _step(self, s: Flat, i: int, code: int, sent: tuple[tuple[int, int], ...], extra: int) -> Flat:
        """``s`` with server i's code replaced (its incoming slots pruned again), ``sent`` added, ``extra`` committed."""
        if code == s[i] and not sent and not extra:
            return s
        fr = self.fr
        t = list(s)
        if code != s[i]:
            t[i] = code
            for q in fr.into[i]:
                sl = t[q]
                if sl:
                    got = fr.prune_memo.get((code, q, sl), -1)
                    t[q] = got if got >= 0 else fr.prune(code, q, sl)
        for q, body in sent:
            key = (t[fr.dest_of[q]], q, t[q], body)
            got = fr.add_memo.get(key, -1)
            t[q] = got if got >= 0 else fr.add(*key)
        if extra:
            t[-1] = fr.union(s[-1], extra)
        if fr.history and code != s[i] and fr.srvs[code].role == Role.Leader:  # Raft.record_leaders, as FastRaft.successors
            t[fr.el_pos] = fr.lead(t[fr.el_pos], i, code)
        return tuple(t)

    def moves(self, s: Flat) -> list[Move]:
        """Per-server actions by server and action index, then deliveries by slot and message (bodies sort by value)."""
        fr = self.fr
        out: list[Move] = []
        enabled_memo, hslot_memo = fr.enabled_memo, fr.hslot_memo
        step = self._step
        for i in range(self.n):
            en = enabled_memo.get((i, s[i]))
            if en is None:
                en = fr.enabled(i, s[i])
            for k, code, sent, extra in en:
                out.append((k, -1, -1, step(s, i, code, sent, extra)))
        hk = self.handle_index
        dest_of, slots = fr.dest_of, fr.slots
        for q in range(self.n, self.n + fr.m):
            sl = s[q]
            if sl:
                d = dest_of[q]
                hs = hslot_memo.get((s[d], q, sl))
                if hs is None:
                    hs = fr.handle_slot(s[d], q, sl)
                for (code, rq, rbody), body in zip(hs, slots[sl], strict=True):
                    out.append((hk, q, body, step(s, d, code, ((rq, rbody),) if rq >= 0 else (), 0)))
        return out

    def action(self, mv: Move) -> Action:
        k, q, body, _ = mv
        fr = self.fr
        if k < self.handle_index:
            return fr.acts[k]
        return Action("HandleRPC", (fr.bodies[body]._replace(msource=fr.src_of[q], mdest=fr.dest_of[q]),))

    def apply(self, s: Flat, a: Action) -> Move | None:
        """The move that ``a`` makes from ``s``, or None if it is not enabled there."""
        fr = self.fr
        if a.name != "HandleRPC":
            k = self.act_index.get(a)
            if k is None:
                return None
            i = fr.act_owner[k]
            for kk, code, sent, extra in fr.enabled(i, s[i]):
                if kk == k:
                    return (k, -1, -1, self._step(s, i, code, sent, extra))
            return None
        msg = a.args[0]
        q = fr.pos_of.get((msg.msource, msg.mdest))
        body = fr.body_ids.get(msg._replace(msource=0, mdest=0))
        if q is None or body is None or body not in fr.slots[s[q]]:
            return None
        code, rq, rbody = fr.handle(s[fr.dest_of[q]], q, body)
        return (self.handle_index, q, body, self._step(s, fr.dest_of[q], code, ((rq, rbody),) if rq >= 0 else (), 0))

    def decode(self, s: Flat) -> State:
        return self.fr.decode(s)

    message_kinds = len(MType)

    def message_kind(self, mv: Move) -> int:
        """The type of the message a delivery move delivers (``MType``: vote or append, request or response)."""
        return int(self.fr.bodies[mv[2]].mtype)

    def canon(self, s: Flat) -> Flat:
        return self.fr.canon(s)

    def digest(self, s: Flat) -> int:
        """A 64-bit hash of the state's content (the same in every process, unlike the codes)."""
        fr = self.fr
        sd, qd, cd = self.srv_digest, self.slot_digest, self.comm_digest
        parts: list[int] = []
        for c in s[: self.n]:
            h = sd.get(c)
            if h is None:
                h = sd[c] = _digest(repr(fr.srvs[c]))
            parts.append(h)
        for q in range(self.n, self.n + fr.m):
            c = s[q]
            if c:
                h = qd.get((q, c))
                if h is None:
                    h = qd[q, c] = _digest(f"{q}:{[fr.bodies[b] for b in fr.slots[c]]!r}")
                parts.append(h)
        c = s[-1]
        h = cd.get(c)
        if h is None:
            h = cd[c] = _digest(repr(fr.comms[c]))
        parts.append(h)
        return hash(tuple(parts)) & 0xFFFF_FFFF_FFFF_FFFF

    # ----------------------------------------------------------- properties

    def _action_of(self, s: Flat, k: int, t: Flat) -> Action:
        """The readable action from ``s`` to ``t`` (for action properties that read the action)."""
        for mv in self.moves(s):
            if mv[0] == k and mv[3] == t:
                return self.action(mv)
        raise AssertionError("no move matches the transition")

    def bad_step(self, s: Flat, mv: Move) -> int:
        """The least index of a property that the transition violates (an action property, or an invariant of the
        successor), or -1.  ``s`` must satisfy every invariant (see ``__init__``)."""
        got = self.first_bad(s, [mv])
        return -1 if got is None else got[1]

    def first_bad(self, s: Flat, moves: Sequence[Move]) -> tuple[int, int] | None:
        """The first move of ``moves`` (from ``s``) that violates a property, with that property's index (as
        :meth:`bad_step`), or None.

        The moves of one state change one server each: while no property has been seen to read messages or the
        action, the answer of the server-only checks depends on (server, its new code, the committed code) alone,
        and is shared between the moves that agree on them.
        """
        inv, acts = self.invariants, self.act_props
        fr = self.fr
        hk, owner, dest_of = self.handle_index, fr.act_owner, fr.dest_of
        shared: dict[tuple[int, int, int], int] | None = {} if not inv.full and not any(c.full for _, c in acts) else None
        each = self.each
        for pos, mv in enumerate(moves):
            t = mv[3]
            if t is s:
                bad = -1
                for p, chk in acts:
                    if not chk(s, t, mv[0]):
                        bad = p
                        break
                if bad >= 0:
                    return pos, bad
                continue
            i = owner[mv[0]] if mv[0] < hk else dest_of[mv[1]]
            if shared is not None:
                key = (i, t[i], t[-1])
                bad = shared.get(key, -2)
                if bad == -2:
                    bad = self._server_checks(s, mv)
                    if inv.full or any(c.full for _, c in acts):
                        shared = None  # a property read the network or the action: no more sharing
                    else:
                        shared[key] = bad
            else:
                bad = self._server_checks(s, mv)
            if each:
                bad = self._each_checks(s, t, i, bad)
            if bad >= 0:
                return pos, bad
        return None

    def _server_checks(self, s: Flat, mv: Move) -> int:
        t = mv[3]
        bad = -1
        for p, chk in self.act_props:
            if not chk(s, t, mv[0]):
                bad = p
                break
        first = self.invariants(t)
        if first >= 0 and (bad < 0 or self.inv_index[first] < bad):
            bad = self.inv_index[first]
        return bad

    def _each_checks(self, s: Flat, t: Flat, i: int, bad: int) -> int:
        """``bad``, or a lower index of an EachMessage invariant that fails on a slot next to server i (see ``__init__``)."""
        fr = self.fr
        src_of, n, m = fr.src_of, fr.n, fr.m
        for p, chk in self.each:
            if 0 <= bad < p:
                break
            memo = chk.slot_memo
            for q in self.near[i]:
                code = t[q]
                if code and (code != s[q] or t[src_of[q]] != s[src_of[q]]):
                    ok = memo.get((q, code, t[src_of[q]]))
                    if ok is None:
                        ok = chk._each_slot(t[:n] + (0,) * (q - n) + (code,) + (0,) * (n + m - q - 1) + t[-1:])
                    if not ok:
                        return p
        return bad

    def check_state(self, s: Flat) -> int:
        """The least index of an invariant ``s`` violates, or -1 (for initial states: checks every slot)."""
        first = self.invariants(s)
        bad = -1 if first < 0 else self.inv_index[first]
        for p, chk in self.each:
            if (bad < 0 or p < bad) and not chk(s):
                bad = p
        return bad

    def violates(self, p: int, s: Flat, mv: Move | None) -> bool:
        """Whether property ``p`` fails on the transition ``mv`` from ``s`` (or on ``s`` itself when ``mv`` is None)."""
        prop = self.props[p]
        if prop.kind is Kind.ACTION:
            return mv is not None and not self.action_checks[p](s, mv[3], mv[0])
        if prop.kind is Kind.ALWAYS:
            return not self.state_checks[p](s if mv is None else mv[3])
        return False

    def witnesses(self, s: Flat, pending: Sequence[int]) -> list[int]:
        """Of the ``sometimes`` properties ``pending``, those that ``s`` satisfies."""
        return [p for p in pending if self.state_checks[p](s)]
