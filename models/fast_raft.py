"""A compact, memoised encoding of :class:`models.raft.Raft` for the fast engine.

Nothing here re-states the protocol.  Every guard and update is computed by
the readable model itself (so tweaks, which override its hooks, keep working);
this module only caches the answers and stores states compactly.

A state is a flat tuple of small ints::

    (server code of S1, ..., of Sn,  slot code of (i, j) for each pair i != j,  committed code)

- A *server code* names an interned :class:`~models.raft.ServerVars`.
- The network is cut into *slots*, one per ordered pair (source, dest).  A
  slot code names an interned sorted tuple of message *bodies*: the messages
  from source to dest with ``msource`` and ``mdest`` set to 0.  Renaming
  servers then only moves slots; it never changes a body.
- The committed code names the interned ghost ``committed`` tuple.
- With ``history`` (ElectionSafetyHistory) an *elected code* comes between
  the slots and the committed code: it names the interned ghost ``elected``
  tuple of (term, server) pairs.  It names servers, so renaming maps it
  (:meth:`FastRaft.permute_elected`); it is updated here, not by the
  readable model's actions (which run on probe states), exactly as
  ``Raft.record_leaders`` does: each server that leads after a step is added
  with its term.

The memoisation rests on one fact of the readable model, checked by the
differential tests (``tests/test_fast.py``): every action reads and writes one
server only -- ``Restart(i)``, ``Timeout(i)``, ``BecomeLeader(i)``,
``ClientRequest(i)``, ``AdvanceCommitIndex(i)`` read and write server i and may
send messages; ``RequestVote(i, j)`` and ``AppendEntries(i, j)`` read server i
and send one message; ``HandleRPC(m)`` reads and writes ``m.mdest`` and may
send one reply.  ``prune`` judges each message by its destination alone and
groups redundant requests per (source, dest) pair, so it works slot by slot.

Tweaks keep this true because a hook (``models.raft.hook``) is given one
server's variables, the message it handles and that server's id, never the
state: what it can read is in the memo key (the server code, and the action
index or slot position, which fix the id).  A hook that treats servers
differently is still memoised soundly; it is symmetry that it breaks, which
the self-check of ``raft_check/selfcheck.py`` catches.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from models.raft import Action, Committed, Message, Raft, Role, ServerVars, State, tie_blocks

Flat = tuple[int, ...]
"""An encoded state; see the module docstring."""

# The result of a per-server action: (new server code, messages sent as (flat position, body code), committed-add code).
ActResult = tuple[int, tuple[tuple[int, int], ...], int] | None


LEAST_MEMO_CAP = 1 << 18
"""Entries kept by each of FastRaft's caches of recent answers (least_slots, messages), then it starts afresh."""


def _first(x: tuple[int, Any]) -> int:
    return x[0]


class FastRaft:
    """Interning tables and memoised per-server semantics for one Raft model instance."""

    def __init__(self, model: Raft) -> None:
        self.model = model
        n = self.n = model.n
        # The same model with pruning off: its actions then return exactly "new servers, messages | sent".
        self.raw = copy.copy(model)
        self.raw.prune_msgs = self.raw.fold_msgs = False
        self.raw.history = False  # probe states are not real states: the ghost elected is kept here (see successors)
        self.history = model.history
        self.pruning = model.prune_msgs or model.fold_msgs
        self.pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
        self.m = len(self.pairs)
        self.width = n + self.m + 1 + (1 if model.history else 0)
        self.el_pos = n + self.m  # with history: the elected code's column
        self.pos_of = {p: n + k for k, p in enumerate(self.pairs)}
        self.src_of = [0] * n + [a for a, _ in self.pairs]
        self.dest_of = [0] * n + [b for _, b in self.pairs]
        self.into = [tuple(n + k for k, (_, b) in enumerate(self.pairs) if b == d) for d in range(n)]
        # Interning tables: code -> value and value -> code.
        self.srvs: list[ServerVars] = []
        self.srv_ids: dict[ServerVars, int] = {}
        self.bodies: list[Message] = []
        self.body_ids: dict[Message, int] = {}
        self.slots: list[tuple[int, ...]] = [()]  # slot code -> body codes, in Message order
        self.slot_ids: dict[tuple[int, ...], int] = {(): 0}
        self.comms: list[tuple[Committed, ...]] = [()]
        self.comm_ids: dict[tuple[Committed, ...], int] = {(): 0}
        self.electeds: list[tuple[tuple[int, int], ...]] = [()]
        self.elected_ids: dict[tuple[tuple[int, int], ...], int] = {(): 0}
        self.lead_memo: dict[tuple[int, int, int], int] = {}  # (elected code, server, server code) -> elected code
        self.perm_el_memo: dict[tuple[int, tuple[int, ...]], int] = {}
        # The per-server actions, in the readable model's order (every action but HandleRPC).
        s0 = model.init_states()[0]
        self.acts: list[Action] = [a for a in model.actions(s0) if a.name != "HandleRPC"]
        self.act_owner = [int(a.args[0]) for a in self.acts]
        # Memo tables (filled on demand).
        self.act_memo: dict[tuple[int, int], ActResult] = {}
        self.handle_memo: dict[tuple[int, int, int], tuple[int, int, int]] = {}
        self.prune_memo: dict[tuple[int, int, int], int] = {}
        self.add_memo: dict[tuple[int, int, int, int], int] = {}
        self.union_memo: dict[tuple[int, int], int] = {}
        self.enabled_memo: dict[tuple[int, int], tuple[tuple[int, int, tuple[tuple[int, int], ...], int], ...]] = {}
        self.hslot_memo: dict[tuple[int, int, int], tuple[tuple[int, int, int], ...]] = {}
        self.acts_of = [tuple(k for k, o in enumerate(self.act_owner) if o == i) for i in range(n)]
        self.handle_index = len(self.acts)  # the action index under which HandleRPC is counted
        self.canon_memo: dict[Flat, tuple[Flat, tuple[Callable[[Flat], Flat], ...]]] = {}
        self.perm_memo: dict[tuple[int, tuple[int, ...]], int] = {}
        self.slot_msgs: dict[tuple[int, int], tuple[tuple[int, Message], ...]] = {}
        self.msg_rank: dict[Message, int] = {}
        self.rank_generation = 0
        self.srv_tuples: dict[Flat, tuple[ServerVars, ...]] = {}
        self.slot_ranks: dict[tuple[int, int], list[int]] = {}  # (pos, slot code) -> message ranks (least_slots)
        self.least_memo: dict[Flat, Flat] = {}  # successor -> least_slots result, bounded by LEAST_MEMO_CAP
        self.net_memo: dict[Flat, tuple[Message, ...]] = {}  # slot codes -> messages, bounded by LEAST_MEMO_CAP
        self.slot_ranks_generation = -1

    # ------------------------------------------------------------ interning

    @staticmethod
    def _intern(ids: dict[Any, int], table: list[Any], key: Any) -> int:
        """The code of ``key``: its index in ``table``, appended the first time it is seen."""
        c = ids.get(key)
        if c is None:
            c = ids[key] = len(table)
            table.append(key)
        return c

    def srv_code(self, v: ServerVars) -> int:
        return self._intern(self.srv_ids, self.srvs, v)

    def body_code(self, m: Message) -> int:
        return self._intern(self.body_ids, self.bodies, m._replace(msource=0, mdest=0))

    def slot_code(self, bodies: Sequence[int]) -> int:
        return self._intern(self.slot_ids, self.slots, tuple(sorted(set(bodies), key=self.bodies.__getitem__)))

    def comm_code(self, committed: Sequence[Committed]) -> int:
        return self._intern(self.comm_ids, self.comms, tuple(sorted(set(committed))))

    def elected_code(self, elected: Sequence[tuple[int, int]]) -> int:
        return self._intern(self.elected_ids, self.electeds, tuple(sorted(set(elected))))

    def lead(self, el: int, i: int, code: int) -> int:
        """Elected code ``el`` after a step that leaves leader i with ``code``: ``Raft.record_leaders`` for server i.

        Only the server a step changes can become a leader or change its term
        while leading; every other leader is recorded already (the initial
        state has none, and every step records its changed server).
        """
        key = (el, i, code)
        got = self.lead_memo.get(key)
        if got is None:
            pair = (self.srvs[code].currentTerm, i)
            got = self.lead_memo[key] = self.elected_code((*self.electeds[el], pair))
        return got

    def permute_elected(self, el: int, p: tuple[int, ...]) -> int:
        """Elected code ``el`` with server i renamed to p[i] (readable ``Raft.permute``)."""
        key = (el, p)
        got = self.perm_el_memo.get(key)
        if got is None:
            got = self.perm_el_memo[key] = self.elected_code([(t, p[i]) for t, i in self.electeds[el]])
        return got

    # ------------------------------------------------------ encode / decode

    def encode(self, s: State) -> Flat:
        out = [self.srv_code(v) for v in s.servers]
        per_slot: list[list[int]] = [[] for _ in self.pairs]
        for msg in s.messages:
            per_slot[self.pos_of[msg.msource, msg.mdest] - self.n].append(self.body_code(msg))
        out.extend(self.slot_code(b) for b in per_slot)
        if self.history:
            out.append(self.elected_code(s.elected))
        out.append(self.comm_code(s.committed))
        return tuple(out)

    def servers(self, codes: Flat) -> tuple[ServerVars, ...]:
        """The ServerVars of the first n entries of ``codes`` (memoised)."""
        key = codes[: self.n]
        v = self.srv_tuples.get(key)
        if v is None:
            v = self.srv_tuples[key] = tuple(self.srvs[c] for c in key)
        return v

    def messages_at(self, pos: int, code: int) -> tuple[tuple[int, Message], ...]:
        """The messages of slot ``code`` at ``pos``, each with its rank in Message order among all messages seen."""
        got = self.slot_msgs.get((pos, code))
        if got is None:
            a, b = self.src_of[pos], self.dest_of[pos]
            msgs = [self.bodies[c]._replace(msource=a, mdest=b) for c in self.slots[code]]
            for msg in msgs:
                if msg not in self.msg_rank:
                    # A message not seen before: re-rank all (rare), and forget the ranked slots.
                    self.msg_rank[msg] = 0
                    self.msg_rank.update((x, r) for r, x in enumerate(sorted(self.msg_rank)))
                    self.slot_msgs.clear()
                    self.rank_generation += 1
            got = self.slot_msgs[pos, code] = tuple((self.msg_rank[msg], msg) for msg in msgs)
        return got

    def messages(self, s: Flat) -> tuple[Message, ...]:
        """The network of ``s`` as the readable model stores it: a sorted tuple (memoised on the slot codes).

        Message order is defined on values, so a memoised tuple stays right
        when a new message re-ranks them all.
        """
        key = s[self.n : self.n + self.m]
        got = self.net_memo.get(key)
        if got is not None:
            return got
        if len(self.net_memo) >= LEAST_MEMO_CAP:
            self.net_memo.clear()
        got = self.net_memo[key] = self._messages(s)
        return got

    def _messages(self, s: Flat) -> tuple[Message, ...]:
        gen = -1
        out: list[tuple[int, Message]] = []
        while gen != self.rank_generation:  # again if a message seen for the first time re-ranked them all
            gen = self.rank_generation
            out = []
            for pos in range(self.n, self.n + self.m):
                if s[pos]:
                    out.extend(self.messages_at(pos, s[pos]))
        out.sort()
        return tuple(msg for _, msg in out)

    def decode(self, s: Flat) -> State:
        return State(self.servers(s), self.messages(s), self.comms[s[-1]], self.electeds[s[self.el_pos]] if self.history else ())

    # ------------------------------------------------------ memoised semantics

    def _probe_state(self, i: int, v: ServerVars, messages: tuple[Message, ...] = ()) -> State:
        """A state whose server i is ``v``; the other servers are never read (see the module docstring)."""
        return State((v,) * self.n, messages, ())

    def act(self, k: int, code: int) -> ActResult:
        """Per-server action ``self.acts[k]`` on a server with ``code``: None if disabled."""
        key = (k, code)
        if key in self.act_memo:
            return self.act_memo[key]
        a, i = self.acts[k], self.act_owner[k]
        v = self.srvs[code]
        t = self.raw.next_state(self._probe_state(i, v), a)
        res: ActResult = None
        if t is not None:
            if any(u != v for j, u in enumerate(t.servers) if j != i):
                raise AssertionError(f"{a.name} changed a server other than {i}: the fast engine cannot memoise it")
            sent = tuple((self.pos_of[msg.msource, msg.mdest], self.body_code(msg)) for msg in t.messages)
            res = (self.srv_code(t.servers[i]), sent, self.comm_code(t.committed))
        self.act_memo[key] = res
        return res

    def handle(self, code: int, pos: int, body: int) -> tuple[int, int, int]:
        """HandleRPC of message ``body`` in slot ``pos`` at its destination, whose server has ``code``.

        Returns (new server code, reply slot position or -1, reply body code).
        """
        key = (code, pos, body)
        got = self.handle_memo.get(key)
        if got is not None:
            return got
        a, d = self.src_of[pos], self.dest_of[pos]
        v = self.srvs[code]
        msg = self.bodies[body]._replace(msource=a, mdest=d)
        t = self.raw.next_state(self._probe_state(d, v, (msg,)), Action("HandleRPC", (msg,)))
        assert t is not None, "HandleRPC is enabled for every message in the network"
        if t.committed or any(u != v for j, u in enumerate(t.servers) if j != d):
            raise AssertionError("HandleRPC changed more than its destination: the fast engine cannot memoise it")
        replies = [r for r in t.messages if r != msg]
        if len(replies) > 1:
            raise AssertionError("HandleRPC sent more than one reply: the fast engine cannot memoise it")
        got = (self.srv_code(t.servers[d]), -1, -1)
        if replies:
            r = replies[0]
            got = (got[0], self.pos_of[r.msource, r.mdest], self.body_code(r))
        self.handle_memo[key] = got
        return got

    def enabled(self, i: int, code: int) -> tuple[tuple[int, int, tuple[tuple[int, int], ...], int], ...]:
        """The per-server actions of server i (with ``code``) that are enabled: (action index, new code, sent, committed-add)."""
        key = (i, code)
        got = self.enabled_memo.get(key)
        if got is None:
            out = []
            for k in self.acts_of[i]:
                r = self.act(k, code)
                if r is not None:
                    out.append((k, *r))
            got = self.enabled_memo[key] = tuple(out)
        return got

    def handle_slot(self, code: int, pos: int, slot: int) -> tuple[tuple[int, int, int], ...]:
        """:meth:`handle` for every message of slot ``slot`` at ``pos``, in order."""
        key = (code, pos, slot)
        got = self.hslot_memo.get(key)
        if got is None:
            got = self.hslot_memo[key] = tuple(self.handle(code, pos, b) for b in self.slots[slot])
        return got

    def successors(self, s: Flat) -> list[tuple[int, Flat]]:
        """Every transition from ``s``: (action index, successor), in a fixed order.

        Equal to the readable model's ``next_state`` over its ``actions``,
        encoded (tests/test_fast.py checks it); ``s`` itself is returned for a
        transition that changes nothing.
        """
        n = self.n
        into, dest_of = self.into, self.dest_of
        prune_memo, add_memo, enabled_memo, hslot_memo = self.prune_memo, self.add_memo, self.enabled_memo, self.hslot_memo
        out: list[tuple[int, Flat]] = []
        comm = s[-1]
        history, el_pos, lead_memo, srvs = self.history, self.el_pos, self.lead_memo, self.srvs

        def step(i: int, code: int, sent: tuple[tuple[int, int], ...], extra: int) -> Flat:
            if code == s[i] and not sent and not extra:
                return s
            t = list(s)
            if code != s[i]:
                t[i] = code
                for q in into[i]:
                    sl = t[q]
                    if sl:
                        got = prune_memo.get((code, q, sl), -1)
                        t[q] = got if got >= 0 else self.prune(code, q, sl)
            for q, body in sent:
                key = (t[dest_of[q]], q, t[q], body)
                got = add_memo.get(key, -1)
                t[q] = got if got >= 0 else self.add(*key)
            if extra:
                t[-1] = self.union(comm, extra)
            if history and code != s[i] and srvs[code].role == Role.Leader:  # Raft.record_leaders: only server i changed
                el = t[el_pos]
                got = lead_memo.get((el, i, code), -1)
                t[el_pos] = got if got >= 0 else self.lead(el, i, code)
            return tuple(t)

        for i in range(n):
            en = enabled_memo.get((i, s[i]))
            if en is None:
                en = self.enabled(i, s[i])
            for k, code, sent, extra in en:
                out.append((k, step(i, code, sent, extra)))
        # The readable model's order, so that both engines discover states in the same order and
        # report the same trace: per-server actions by their index in ``acts`` (which is in the
        # readable order), then HandleRPC by message order (ranks taken in one generation).
        out.sort(key=_first)
        hk = self.handle_index
        busy = [q for q in range(n, n + self.m) if s[q]]
        while True:
            gen = self.rank_generation
            ranks = [self.messages_at(q, s[q]) for q in busy]
            if gen == self.rank_generation:
                break
        delivered: list[tuple[int, Flat]] = []
        for q, ranked in zip(busy, ranks, strict=True):
            sl = s[q]
            d = dest_of[q]
            cd = s[d]
            hs = hslot_memo.get((cd, q, sl))
            if hs is None:
                hs = self.handle_slot(cd, q, sl)
            for (code, rq, rbody), (rank, _) in zip(hs, ranked, strict=True):
                delivered.append((rank, step(d, code, ((rq, rbody),) if rq >= 0 else (), 0)))
        delivered.sort(key=_first)
        out.extend((hk, t) for _, t in delivered)
        return out

    def prune(self, code: int, pos: int, slot: int) -> int:
        """Slot ``slot`` at ``pos`` pruned against its destination's server ``code`` (readable ``Raft.prune``)."""
        key = (code, pos, slot)
        got = self.prune_memo.get(key)
        if got is None:
            if not self.pruning or not slot:
                got = slot
            else:
                msgs = {msg for _, msg in self.messages_at(pos, slot)}
                live = self.model.prune(self._probe_state(self.dest_of[pos], self.srvs[code]).servers, msgs)
                got = self.slot_code([self.body_code(msg) for msg in live])
            self.prune_memo[key] = got
        return got

    def add(self, code: int, pos: int, slot: int, body: int) -> int:
        """Slot ``slot`` at ``pos`` with ``body`` added, then pruned against its destination's server ``code``."""
        key = (code, pos, slot, body)
        got = self.add_memo.get(key)
        if got is None:
            got = self.add_memo[key] = self.prune(code, pos, self.slot_code((*self.slots[slot], body)))
        return got

    def union(self, comm: int, extra: int) -> int:
        key = (comm, extra)
        got = self.union_memo.get(key)
        if got is None:
            got = self.union_memo[key] = self.comm_code((*self.comms[comm], *self.comms[extra]))
        return got

    # -------------------------------------------------------------- symmetry

    def permute_srv(self, code: int, p: tuple[int, ...]) -> int:
        """Server ``code`` renamed by ``p`` (readable ``Raft.permute``)."""
        key = (code, p)
        got = self.perm_memo.get(key)
        if got is None:
            v = self.srvs[code]
            got = self.perm_memo[key] = self.srv_code(self.model.permute(State((v,) * self.n, ()), p).servers[0])
        return got

    def slot_getter(self, p: tuple[int, ...]) -> Callable[[Flat], Flat]:
        """Maps a flat state to its slots (and elected and committed codes) after renaming server i to p[i]."""
        inv = [0] * self.n
        for i, pi in enumerate(p):
            inv[pi] = i
        picks = [self.pos_of[inv[a], inv[b]] for a, b in self.pairs] + [self.width - 1]
        if self.history:
            pos = [self.pos_of[inv[a], inv[b]] for a, b in self.pairs]
            slots: Callable[[Flat], Flat] = itemgetter(*pos) if len(pos) > 1 else (lambda s: tuple(s[q] for q in pos))
            el_pos, last, memo, perm_el = self.el_pos, self.width - 1, self.perm_el_memo, self.permute_elected

            def get(s: Flat) -> Flat:
                got = memo.get((s[el_pos], p))
                return (*slots(s), got if got is not None else perm_el(s[el_pos], p), s[last])

            return get
        if len(picks) == 1:
            last = picks[0]
            return lambda s: (s[last],)
        return itemgetter(*picks)

    def canon_servers(self, srv: Flat) -> tuple[Flat, tuple[Callable[[Flat], Flat], ...]]:
        """The canonical server codes for ``srv`` and the slot maps of every renaming that reaches them.

        Candidates are the renamings that list servers in order of
        ``Raft.sym_key`` (permuting only within ties), as in
        ``Raft.representative``; of those, the ones giving the least server
        codes are kept, and the caller picks the least slots among them.  The
        candidate set is renaming-invariant, so the result is an exact orbit
        canonical form (for this run's interning).
        """
        got = self.canon_memo.get(srv)
        if got is not None:
            return got
        n = self.n
        blocks = tie_blocks([self.model.sym_key(self.srvs[c], i) for i, c in enumerate(srv)])
        best: Flat | None = None
        best_vars: tuple[ServerVars, ...] | None = None
        perms: list[tuple[int, ...]] = []
        for choice in itertools.product(*(itertools.permutations(b) for b in blocks)):
            pl = [0] * n
            for new_pos, old in enumerate(itertools.chain.from_iterable(choice)):
                pl[old] = new_pos
            p = tuple(pl)
            new = [0] * n
            for i, c in enumerate(srv):
                new[p[i]] = self.permute_srv(c, p)
            cand = tuple(new)
            cand_vars = tuple(self.srvs[c] for c in cand)  # compared as the readable model compares them
            if best_vars is None or cand_vars < best_vars:
                best, best_vars, perms = cand, cand_vars, [p]
            elif cand_vars == best_vars:
                perms.append(p)
        assert best is not None
        got = self.canon_memo[srv] = (best, tuple(self.slot_getter(p) for p in perms))
        return got

    def canon(self, s: Flat) -> Flat:
        cs, getters = self.canon_servers(s[: self.n])
        if len(getters) == 1:
            return cs + getters[0](s)
        return cs + self.least_slots(cs, getters, s)

    def least_slots(self, cs: Flat, getters: Sequence[Callable[[Flat], Flat]], s: Flat) -> Flat:
        """Of the renamings that give the canonical servers ``cs``, the slots whose network is least in Message order.

        ``Raft.representative`` compares the renamed states as tuples: servers
        first, then the sorted message tuple.  Ranks are order-preserving, so
        comparing the sorted ranks of the messages compares the message tuples;
        both engines therefore store the same representative of every orbit.
        """
        memo = self.least_memo
        got = memo.get(s)
        if got is not None:
            return got
        picks = [g(s) for g in getters]
        first = picks[0]
        if all(p == first for p in picks):
            return first
        if len(memo) >= LEAST_MEMO_CAP:  # a bounded cache: most repeats come soon after the first
            memo.clear()
        got = memo[s] = self._least_slots(picks, s)
        return got

    def _least_slots(self, picks: list[Flat], s: Flat) -> Flat:
        n, width = self.n, self.n + self.m
        while True:
            gen = self.rank_generation
            best_key: list[int] | None = None
            best: Flat = ()
            ranks = self.slot_ranks
            if self.slot_ranks_generation != gen:
                ranks.clear()
                self.slot_ranks_generation = gen
            for slots in picks:
                key: list[int] = []
                for q in range(n, width):
                    code = slots[q - n]
                    if code:
                        got = ranks.get((q, code))
                        if got is None:
                            got = ranks[q, code] = [r for r, _ in self.messages_at(q, code)]
                        key += got
                key.sort()
                if best_key is None or key < best_key:
                    best_key, best = key, slots
                elif self.history and key == best_key and self.electeds[slots[self.m]] < self.electeds[best[self.m]]:
                    best = slots  # the readable order: servers, then messages, then (committed and) elected
            if gen == self.rank_generation:  # no message was seen for the first time (which re-ranks them all)
                return best

    TABLES = ("srvs", "bodies", "slots", "comms", "electeds")
    """The interning tables: a code is an index into one of these."""

    def tables(self) -> dict[str, list[Any]]:
        """The interning tables (to save a search: the codes in its states mean nothing without them)."""
        return {name: list(getattr(self, name)) for name in self.TABLES}

    def restore_tables(self, tables: dict[str, list[Any]]) -> None:
        """Take over saved interning tables; every memo is dropped (they are recomputed on demand)."""
        ids = {"srvs": "srv_ids", "bodies": "body_ids", "slots": "slot_ids", "comms": "comm_ids", "electeds": "elected_ids"}
        for name in self.TABLES:
            values = list(tables[name])
            setattr(self, name, values)
            setattr(self, ids[name], {v: c for c, v in enumerate(values)})
        for memo in (self.act_memo, self.handle_memo, self.prune_memo, self.add_memo, self.union_memo, self.enabled_memo,
                     self.hslot_memo, self.canon_memo, self.perm_memo, self.slot_msgs, self.msg_rank, self.srv_tuples,
                     self.slot_ranks, self.least_memo, self.net_memo, self.lead_memo, self.perm_el_memo):
            memo.clear()
        self.rank_generation += 1

    def stats(self) -> dict[str, Any]:
        return {"servers": len(self.srvs), "bodies": len(self.bodies), "slots": len(self.slots), "memo_canon": len(self.canon_memo)}
