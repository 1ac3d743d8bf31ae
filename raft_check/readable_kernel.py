"""Simulation's base kernel: :class:`ReadableKernel`, the :class:`checker.kernel.Kernel` interface over the readable model
(``models/raft.py``) itself.

Every successor is the readable model's ``next_state``; nothing of the protocol
is re-stated or memoised per server, so any model the readable engine runs
(every tweak, built-in or from a file) runs here the same.  The compiled walk
(``checker/pins_walk.py``) hands it shrinking, single-state property checks and
traces; when the compiled kernel cannot run a model, walks run on it too, in
Python (slowly).

Walks run on concrete states: no symmetry canonical form is taken, so a walk
is an execution of the model as it stands and needs no concretisation.  The
model's own reductions (eager vote requests, message pruning and folding,
eager appends) stay on, which is sound for simulation for the reason it is
sound for search: each is argued in ``models/raft.py`` to keep every
behaviour up to an image on which every property gives the same verdict, so
a violation reached in the reduced model is a violation of the protocol, and
a walk wastes no steps on messages that can change nothing.

A state is encoded as a flat tuple of interned codes, laid out as the walk and
the shrinker expect (``raft_check/simulate.py``)::

    (server code of S1, ..., of Sn,  slot code of (i, j) for each pair i != j,  [elected code,]  committed code)

A slot code names the sorted tuple of the bodies (``msource`` and ``mdest`` set
to 0) of the messages from i to j; the elected code (only with ``history``)
names the ghost ``elected``.  Codes are this process's; everything that must
agree between processes (the order of moves, digests) is taken from content.
Moves come in the order of the first-generation kernel: per-server actions by
server, then by the model's action order; then deliveries by slot (pairs in
order) and by message within a slot.  Shrinking, which depends on that order
only, therefore gives the traces it gave on that kernel.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import Any, TypeVar

from checker.kernel import Flat, Move
from checker.model import Kind, Property
from models.raft import Action, Message, MType, Raft, State, tie_blocks

K = TypeVar("K")
V = TypeVar("V")

MEMO_CAP = 1 << 17
"""Entries each of the kernel's caches (applied actions, property answers, decoded states, ...) keeps, then it starts afresh."""
MOVES_CAP = 1 << 14
"""States whose moves are kept (each holds every successor: some kilobytes); a shrink visits a few thousand."""


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class _Intern:
    """Code -> value and value -> code, codes given in order of first sight."""

    def __init__(self, *first: Any) -> None:
        self.values: list[Any] = list(first)
        self.ids: dict[Any, int] = {v: k for k, v in enumerate(first)}

    def code(self, v: Any) -> int:
        c = self.ids.get(v)
        if c is None:
            c = self.ids[v] = len(self.values)
            self.values.append(v)
        return c


def _put(memo: dict[K, V], key: K, value: V) -> V:
    if len(memo) >= MEMO_CAP:  # a bounded cache: walks and shrinking revisit states soon after the first visit
        memo.clear()
    memo[key] = value
    return value


class ReadableKernel:
    """:class:`Kernel` whose successors and property answers are the readable model's (see the module docstring)."""

    name = "readable"

    def __init__(self, model: Raft, props: Sequence[Property[State, Action]]) -> None:
        self.model = model
        n = self.n = model.n
        s0 = model.init_states()[0]
        acts = [a for a in model.actions(s0) if a.name != "HandleRPC"]
        self.acts = acts
        self.names: Sequence[str] = [a.name for a in acts] + ["HandleRPC"]
        self.handle_index = len(acts)
        self.owner: Sequence[int] = [*(int(a.args[0]) for a in acts), -1]
        self.act_index = {a: k for k, a in enumerate(acts)}
        self.act_order = sorted(range(len(acts)), key=lambda k: (self.owner[k], k))  # by server, then the model's order
        self.pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
        self.m = len(self.pairs)
        self.pos_of = {p: n + k for k, p in enumerate(self.pairs)}
        self.history = bool(getattr(model, "history", False))
        self.srvs = _Intern()
        self.bodies = _Intern()
        self.slots = _Intern(())  # slot code -> sorted tuple of body codes' messages (bodies), 0 the empty slot
        self.comms = _Intern(())
        self.electeds = _Intern(())
        self.props: Sequence[Property[State, Action]] = list(props)
        self.always = [k for k, p in enumerate(self.props) if p.kind is Kind.ALWAYS]
        self.actionp = [k for k, p in enumerate(self.props) if p.kind is Kind.ACTION]
        self.moves_memo: dict[Flat, list[Move]] = {}
        self.apply_memo: dict[tuple[Flat, Action], Move | None] = {}
        self.inv_memo: dict[Flat, int] = {}
        self.state_memo: dict[Flat, State] = {}
        self.digest_memo: dict[tuple[int, int], int] = {}
        self.canon_memo: dict[Flat, Flat] = {}
        self.srv_canon: dict[Flat, list[tuple[int, ...]]] = {}  # server codes -> the renamings that give the least servers
        self.net_memo: dict[tuple[Message, ...], tuple[int, ...]] = {}  # messages -> slot codes
        self.msg_memo: dict[Message, tuple[int, Message]] = {}  # message -> (slot index, body); as many as bodies

    # ----------------------------------------------------------- encoding

    def encode(self, s: State) -> Flat:
        out = [self.srvs.code(v) for v in s.servers]
        net = self.net_memo.get(s.messages)
        if net is None:
            per: list[list[Message]] = [[] for _ in self.pairs]
            where = self.msg_memo
            for msg in s.messages:
                got = where.get(msg)
                if got is None:
                    got = where[msg] = (self.pos_of[msg.msource, msg.mdest] - self.n, msg._replace(msource=0, mdest=0))
                per[got[0]].append(got[1])
            net = _put(self.net_memo, s.messages, tuple(self.slots.code(tuple(sorted(ms))) if ms else 0 for ms in per))
        out += net
        if self.history:
            out.append(self.electeds.code(s.elected))
        out.append(self.comms.code(s.committed))
        return tuple(out)

    def decode(self, s: Flat) -> State:
        got = self.state_memo.get(s)
        if got is not None:
            return got
        n = self.n
        msgs = [b._replace(msource=a, mdest=d) for (a, d), c in zip(self.pairs, s[n : n + self.m], strict=True) if c
                for b in self.slots.values[c]]
        st = State(tuple(self.srvs.values[c] for c in s[:n]), tuple(sorted(msgs)), self.comms.values[s[-1]],
                   self.electeds.values[s[n + self.m]] if self.history else ())
        return _put(self.state_memo, s, st)

    # ----------------------------------------------------------- successors

    def initial(self) -> list[Flat]:
        return [self.encode(s) for s in self.model.init_states()]

    def _next(self, s: Flat, a: Action) -> Flat | None:
        t = self.model.next_state(self.decode(s), a)
        if t is None:
            return None
        u = self.encode(t)
        return s if u == s else u

    def moves(self, s: Flat) -> list[Move]:
        """Per-server actions by server and action index, then deliveries by slot and message (see the module docstring)."""
        got = self.moves_memo.get(s)
        if got is not None:
            return got
        out: list[Move] = []
        for k in self.act_order:
            t = self._next(s, self.acts[k])
            if t is not None:
                out.append((k, -1, -1, t))
        n, hk = self.n, self.handle_index
        for q, (a, d) in enumerate(self.pairs, start=n):
            if s[q]:
                for b in self.slots.values[s[q]]:
                    t = self._next(s, Action("HandleRPC", (b._replace(msource=a, mdest=d),)))
                    if t is None:
                        raise AssertionError("HandleRPC is enabled for every message in the network")
                    out.append((hk, q, self.bodies.code(b), t))
        if len(self.moves_memo) >= MOVES_CAP:
            self.moves_memo.clear()
        self.moves_memo[s] = out
        return out

    def action(self, mv: Move) -> Action:
        k, q, body, _ = mv
        if k < self.handle_index:
            return self.acts[k]
        a, d = self.pairs[q - self.n]
        return Action("HandleRPC", (self.bodies.values[body]._replace(msource=a, mdest=d),))

    def apply(self, s: Flat, a: Action) -> Move | None:
        """The move that ``a`` makes from ``s``, or None if it is not enabled there."""
        key = (s, a)
        if key in self.apply_memo:
            return self.apply_memo[key]
        mv: Move | None = None
        if a.name != "HandleRPC":
            k = self.act_index.get(a)
            t = None if k is None else self._next(s, a)
            if k is not None and t is not None:
                mv = (k, -1, -1, t)
        else:
            msg = a.args[0]
            q = self.pos_of.get((msg.msource, msg.mdest))
            body = msg._replace(msource=0, mdest=0)
            if q is not None and s[q] and body in self.slots.values[s[q]]:
                t = self._next(s, a)
                if t is not None:
                    mv = (self.handle_index, q, self.bodies.code(body), t)
        return _put(self.apply_memo, key, mv)

    message_kinds = len(MType)

    def message_kind(self, mv: Move) -> int:
        """The type of the message a delivery move delivers (``MType``: vote or append, request or response)."""
        return int(self.bodies.values[mv[2]].mtype)

    def canon(self, s: Flat) -> Flat:
        """An exact orbit canonical form (for this process's codes): of the renamings ``Raft.representative`` tries,
        those that give the least servers, and of them the one whose renamed slot codes (and ghost) are least.  The
        candidate set is renaming-invariant, so two states have the same form exactly when one is a renaming of the
        other.  A renaming moves slots and never changes a body, so the network is renamed by moving codes."""
        got = self.canon_memo.get(s)
        if got is not None:
            return got
        n, m = self.n, self.m
        perms = self._least_servers(s[:n])
        least: Flat | None = None
        for p in perms:
            rest = [0] * m
            for k, (a, d) in enumerate(self.pairs):
                rest[self.pos_of[p[a], p[d]] - n] = s[n + k]
            if self.history:
                rest.append(self.electeds.code(tuple(sorted((t, p[i]) for t, i in self.electeds.values[s[n + m]]))))
            cand = tuple(rest)
            if least is None or cand < least:
                least = cand
        assert least is not None
        srvs = self.srvs.values
        servers = tuple(srvs[c] for c in s[:n])
        p0 = perms[0]
        renamed = servers if list(p0) == sorted(p0) else self.model.permute(State(servers, ()), p0).servers
        return _put(self.canon_memo, s, (*(self.srvs.code(v) for v in renamed), *least, s[-1]))

    def _least_servers(self, srv: Flat) -> list[tuple[int, ...]]:
        """Of the renamings ``Raft.representative`` tries for servers ``srv`` (by ``Raft.sym_key``, permuting only within
        ties), those that give the least renamed servers."""
        got = self.srv_canon.get(srv)
        if got is not None:
            return got
        n, model = self.n, self.model
        servers = tuple(self.srvs.values[c] for c in srv)
        blocks = tie_blocks([model.sym_key(v, i) for i, v in enumerate(servers)])
        cands: list[tuple[tuple[Any, ...], tuple[int, ...]]] = []
        for choice in itertools.product(*(itertools.permutations(b) for b in blocks)):
            p = [0] * n
            for new_pos, old in enumerate(itertools.chain.from_iterable(choice)):
                p[old] = new_pos
            renamed = servers if p == sorted(p) else model.permute(State(servers, ()), p).servers
            cands.append((renamed, tuple(p)))
        least = min(c[0] for c in cands)
        return _put(self.srv_canon, srv, [p for renamed, p in cands if renamed == least])

    def digest(self, s: Flat) -> int:
        """A 64-bit hash of the state's content (the same in every process, unlike the codes)."""
        memo = self.digest_memo
        n, m = self.n, self.m
        parts: list[int] = []
        for pos, c in enumerate(s):
            if n <= pos < n + m and not c:
                continue
            h = memo.get((pos, c))
            if h is None:
                if pos < n:
                    v: Any = self.srvs.values[c]
                elif pos < n + m:
                    v = self.slots.values[c]
                elif self.history and pos == n + m:
                    v = self.electeds.values[c]
                else:
                    v = self.comms.values[c]
                h = memo[pos, c] = _digest(f"{pos}:{v!r}")
            parts.append(h)
        return hash(tuple(parts)) & 0xFFFF_FFFF_FFFF_FFFF

    # ----------------------------------------------------------- properties

    def check_state(self, s: Flat) -> int:
        """The least index of an invariant ``s`` violates, or -1."""
        got = self.inv_memo.get(s)
        if got is not None:
            return got
        st = self.decode(s)
        bad = next((p for p in self.always if not self.props[p].check(st)), -1)
        return _put(self.inv_memo, s, bad)

    def bad_step(self, s: Flat, mv: Move) -> int:
        """The least index of a property that the transition violates (an action property, or an invariant of the
        successor), or -1.  ``s`` must satisfy every invariant."""
        t = mv[3]
        bad = -1 if t == s else self.check_state(t)
        if self.actionp and (bad < 0 or self.actionp[0] < bad):
            st, a, tt = self.decode(s), self.action(mv), self.decode(t)
            for p in self.actionp:
                if 0 <= bad < p:
                    break
                if not self.props[p].check(st, a, tt):
                    bad = p
                    break
        return bad

    def first_bad(self, s: Flat, moves: Sequence[Move]) -> tuple[int, int] | None:
        """The first move of ``moves`` (from ``s``) that violates a property, with that property's index, or None."""
        for pos, mv in enumerate(moves):
            bad = self.bad_step(s, mv)
            if bad >= 0:
                return pos, bad
        return None

    def violates(self, p: int, s: Flat, mv: Move | None) -> bool:
        """Whether property ``p`` fails on the transition ``mv`` from ``s`` (or on ``s`` itself when ``mv`` is None)."""
        prop = self.props[p]
        if prop.kind is Kind.ACTION:
            return mv is not None and not prop.check(self.decode(s), self.action(mv), self.decode(mv[3]))
        if prop.kind is Kind.ALWAYS:
            t = s if mv is None else mv[3]
            got = self.inv_memo.get(t)
            if got is not None and (got < 0 or got > p):
                return False  # no invariant fails, or the least that fails comes after p: p holds
            return not prop.check(self.decode(t))
        return False

    def witnesses(self, s: Flat, pending: Sequence[int]) -> list[int]:
        """Of the ``sometimes`` properties ``pending``, those that ``s`` satisfies."""
        st = self.decode(s)
        return [p for p in pending if self.props[p].check(st)]
