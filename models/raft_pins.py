"""The Raft model as a :class:`checker.pins.PinsModel`, for the compiled engine.

Nothing here re-states the protocol: every effect, normalisation, renaming
and property answer is computed by calling the (possibly tweaked) readable
model of :mod:`models.raft` on a small probe state, so tweaks work through
this encoding unchanged.  The encoding:

    slots 0..n-1        server i's variables, an interned ServerVars (the process slots)
    slots n..n+m-1      channel (a, b) for each ordered pair a != b: an interned sorted tuple of
                        message bodies (messages from a to b with msource and mdest set to 0);
                        0 is the empty channel.  Context slot: the destination server b.
    slot n+m            the ghost ``committed``, an interned sorted tuple
    slots n+m+1..       only with ``history`` (ElectionSafetyHistory): server i's part of the ghost ``elected``, the
                        terms in which i has been leader, an interned sorted tuple (0: none).  Kept per server, so a
                        renaming moves these slots with the servers' and their values (terms) need no renaming.

Groups: ``local i`` reads server i and fires every per-server action of i
(Restart, Timeout, RequestVote, BecomeLeader, ClientRequest,
AdvanceCommitIndex, AppendEntries); ``deliver a->b`` reads server b and
channel (a, b) and fires HandleRPC for each message in the channel.  This
rests on a fact of the readable model that the probes check: each action
reads and writes one server only (plus the messages it sends, and the
ghosts; ``record_leaders`` adds the terms a server leads in from that
server's next variables).  Normalisation is ``Raft.prune``, which judges each channel against
its destination alone (computed message by message and memoised:
:meth:`RaftPins.normalise`).

Properties: a ``models.raft.EachMessage`` invariant is checked channel by
channel (part: the channel and its sender); every other state property reads
the servers and the ghost (a tripwire in place of the network enforces it).
The built-in action properties ``TermMonotonic`` and ``LeaderAppendOnly``
are conjunctions over servers of the same predicate on a server's before and
after variables, so they are checked server by server
(``tests/test_compiled.py`` checks that decomposition on every transition of
small searches); any other action property reads all servers and the ghost.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from collections.abc import Sequence
from typing import Any

from checker.model import Kind, Property
from checker.pins import MERGE, SET, ActionProp, Effect, Group, Op, StateProp, Symmetry
from models.raft import Action, Committed, EachMessage, Message, MType, Raft, ServerVars, State

PER_SERVER_ACTION_PROPS = ("TermMonotonic", "LeaderAppendOnly")
"""Action properties of ``models.raft`` that are a conjunction, over servers, of one predicate on (before, after)."""


def unsupported(model: Raft) -> str | None:
    """Why this encoding cannot represent ``model`` (None if it can): it relies on the readable model's actions,
    network and symmetry as written in ``models/raft.py``; a tweak overrides hooks only."""
    if type(model).within_boundary is not Raft.within_boundary:
        return "the model overrides within_boundary"
    for name in ("actions", "next_state", "prune", "dead", "notify_only", "permute", "sym_key", "commit_step", "HandleRPC",
                 "record_leaders"):
        if getattr(type(model), name) is not getattr(Raft, name):
            return f"the model overrides {name}"
    return None


class PropertyReadsNetwork(Exception):
    """A property read a part of the state its declared parts do not include."""


class _Tripwire(tuple[Any, ...]):
    """Stands in for what a property must not read: any use raises :class:`PropertyReadsNetwork`."""

    def _touch(self, *args: Any, **kwargs: Any) -> Any:
        raise PropertyReadsNetwork

    __iter__ = __len__ = __getitem__ = __contains__ = __bool__ = __eq__ = __ne__ = __lt__ = __hash__ = _touch

    def __getattr__(self, name: str) -> Any:
        raise PropertyReadsNetwork


_WIRE = _Tripwire()


class RaftPins:
    """Interning tables and readable-model probes for one (possibly tweaked) :class:`models.raft.Raft`."""

    def __init__(self, model: Raft, properties: Sequence[Property[State, Action]] | None = None, *,
                 symmetry: bool = True) -> None:
        """``symmetry``: declare the servers interchangeable (``self.symmetry``); without it no renaming is built (n!
        of them: ``check --servers 9 --max-states 10`` took 17 s, listing 362,880 renamings that a search without
        symmetry never reads; 1.5 s without them)."""
        why = unsupported(model)
        if why is not None:
            raise ValueError(f"the compiled engine cannot run this model: {why}")
        self.model = model
        n = self.n = model.n
        # The same model with pruning off: its actions then return exactly "new servers, messages | sent".
        self.raw = copy.copy(model)
        self.raw.prune_msgs = self.raw.fold_msgs = False  # folding is a reduction of its own (models.raft.REDUCTIONS)
        self.pruning = model.prune_msgs or model.fold_msgs
        self.pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
        self.m = len(self.pairs)
        self.pos_of = {p: n + k for k, p in enumerate(self.pairs)}
        self.ghost = n + self.m
        # The ghost ``elected`` (history only): one slot per server, the terms it has led in.
        self.history = model.history
        self.led = [n + self.m + 1 + i for i in range(n)] if self.history else []
        self.width = n + self.m + 1 + len(self.led)
        self.slot_names = [f"S{i + 1}" for i in range(n)] + [f"S{a + 1}->S{b + 1}" for a, b in self.pairs] + ["committed"]
        self.slot_names += [f"elected S{i + 1}" for i in range(len(self.led))]
        self.context = [-1] * (n + self.m + 1 + len(self.led))
        for k, (_, b) in enumerate(self.pairs):
            self.context[n + k] = b
        # Interning tables: code -> value and value -> code.
        self.srvs: list[ServerVars] = []
        self.srv_ids: dict[ServerVars, int] = {}
        self.bodies: list[Message] = []
        self.body_ids: dict[Message, int] = {}
        self.chans: list[tuple[int, ...]] = [()]
        self.chan_ids: dict[tuple[int, ...], int] = {(): 0}
        self.chan_set_ids: dict[frozenset[int], int] = {frozenset(): 0}  # the same codes by set (no sorting to look up)
        self.comms: list[tuple[Committed, ...]] = [()]
        self.comm_ids: dict[tuple[Committed, ...], int] = {(): 0}
        self.terms: list[tuple[int, ...]] = [()]  # values of the ``led`` slots
        self.term_ids: dict[tuple[int, ...], int] = {(): 0}
        self.channel_memo: dict[tuple[int, int], tuple[Message, ...]] = {}
        self.full_ids: dict[Message, int] = {}  # a message (msource, mdest set) -> its body's code
        self.full_msgs: dict[tuple[int, int], Message] = {}  # (channel slot, body code) -> the message
        # Per-message memos of the fills (fills are per channel; a channel's messages recur in many channels):
        self.fates: dict[tuple[int, int, int], tuple[tuple[int, ...], bool]] = {}  # (slot, dest code, body) -> (prune of it
        # alone, whether it is a live notify-only request of the election layer)
        self.handled: dict[tuple[int, int, int], Effect] = {}  # (pair, dest code, body) -> HandleRPC's effect
        self._probe_last: tuple[tuple[int, ...], Any] = ((), None)  # holds(): the last values and their probe state
        # Per-server actions in the readable model's order, and their labels; HandleRPC is the last label.
        s0 = model.init_states()[0]
        self.acts: list[Action] = [a for a in model.actions(s0) if a.name != "HandleRPC"]
        self.labels = [a.name for a in self.acts] + ["HandleRPC"]
        self.handle_label = len(self.acts)
        chans_from = [tuple(self.pos_of[i, j] for j in range(n) if j != i) for i in range(n)]
        self.groups = [Group(f"local S{i + 1}", (i,), (i, *chans_from[i], self.ghost, *self._led_of(i))) for i in range(n)]
        self.groups += [Group(f"deliver S{a + 1}->S{b + 1}", (b, self.pos_of[a, b]), (b, self.pos_of[b, a], *self._led_of(b)))
                        for a, b in self.pairs]
        self.group_kind = ["local"] * n + ["deliver"] * self.m
        props = list(model.properties() if properties is None else properties)
        self.properties = props
        self.state_props: list[StateProp] = []
        self.action_props: list[ActionProp] = []
        self.per_message: list[Any] = []
        every = (*range(n), self.ghost, *self.led)
        for p in props:
            if p.kind is Kind.ACTION:
                parts = tuple((i,) for i in range(n)) if p.name in PER_SERVER_ACTION_PROPS else (every,)
                self.action_props.append(ActionProp(p, parts))
            elif isinstance(p.check, EachMessage):
                self.state_props.append(StateProp(p, tuple((self.pos_of[a, b], a) for a, b in self.pairs)))
                self.per_message.append(p.check.per_message)
            else:
                self.state_props.append(StateProp(p, (every,)))
                self.per_message.append(None)
        self.perms: tuple[tuple[int, ...], ...] = ()
        self.inverses: tuple[tuple[int, ...], ...] = ()  # each renaming's inverse: inverses[k][perms[k][i]] == i
        self.symmetry: Symmetry | None = None
        if symmetry:
            self._declare_symmetry()

    def _declare_symmetry(self) -> None:
        """Every renaming of the servers, and where it moves each slot."""
        n = self.n
        perms = tuple(itertools.permutations(range(n)))
        slot_perms = []
        for perm in perms:
            sp = [0] * self.width
            for i in range(n):
                sp[i] = perm[i]
            for a, b in self.pairs:
                sp[self.pos_of[a, b]] = self.pos_of[perm[a], perm[b]]
            sp[self.ghost] = self.ghost
            for i, q in enumerate(self.led):
                sp[q] = self.led[perm[i]]
            slot_perms.append(tuple(sp))
        self.perms = perms
        self.inverses = tuple(tuple(sorted(range(n), key=perm.__getitem__)) for perm in perms)
        self.symmetry = Symmetry(n, perms, tuple(slot_perms))

    @property
    def readable(self) -> Raft:
        return self.model

    def _led_of(self, i: int) -> tuple[int, ...]:
        """Server i's ``elected`` slot, as a tuple (empty without history)."""
        return (self.led[i],) if self.led else ()

    # ------------------------------------------------------------ interning

    @staticmethod
    def _intern(ids: dict[Any, int], table: list[Any], key: Any) -> int:
        c = ids.get(key)
        if c is None:
            c = ids[key] = len(table)
            table.append(key)
        return c

    INTERNED = ("srvs", "srv_ids", "bodies", "body_ids", "chans", "chan_ids", "comms", "comm_ids", "full_ids")

    def interned(self) -> dict[str, Any]:
        """The interning tables (for a checkpoint: the stored vectors' codes mean nothing without them)."""
        return {name: getattr(self, name) for name in self.INTERNED}

    def restore_interned(self, saved: dict[str, Any]) -> None:
        """Undo :meth:`interned` (the memos derived from codes start empty)."""
        for name in self.INTERNED:
            setattr(self, name, saved[name])
        self.channel_memo, self.full_msgs = {}, {}

    def srv_code(self, v: ServerVars) -> int:
        return self._intern(self.srv_ids, self.srvs, v)

    def body_code(self, msg: Message) -> int:
        c = self.full_ids.get(msg)
        if c is None:
            c = self.full_ids[msg] = self._intern(self.body_ids, self.bodies, msg._replace(msource=0, mdest=0))
        return c

    def chan_code(self, bodies: Sequence[int] | frozenset[int]) -> int:
        """The channel holding the messages ``bodies`` (codes; repeats are one), sorted as the readable messages sort."""
        key = frozenset(bodies)
        c = self.chan_set_ids.get(key)
        if c is None:
            c = self.chan_set_ids[key] = self._intern(self.chan_ids, self.chans, tuple(sorted(key, key=self.bodies.__getitem__)))
        return c

    def comm_code(self, committed: Sequence[Committed]) -> int:
        return self._intern(self.comm_ids, self.comms, tuple(sorted(set(committed))))

    def term_code(self, terms: Sequence[int]) -> int:
        return self._intern(self.term_ids, self.terms, tuple(sorted(set(terms))))

    def elected(self, values: Sequence[int]) -> tuple[tuple[int, int], ...]:
        """The readable ghost ``elected`` of the ``led`` slots' values (server by server)."""
        return tuple(sorted((t, i) for i, c in enumerate(values) for t in self.terms[c]))

    def channel(self, slot: int, code: int) -> tuple[Message, ...]:
        """The messages of channel ``slot`` holding ``code`` (memoised)."""
        got = self.channel_memo.get((slot, code))
        if got is None:
            full = self.full_msgs
            msgs = []
            for c in self.chans[code]:
                msg = full.get((slot, c))
                if msg is None:
                    a, b = self.pairs[slot - self.n]
                    msg = full[slot, c] = self.bodies[c]._replace(msource=a, mdest=b)
                    self.full_ids[msg] = c
                msgs.append(msg)
            got = self.channel_memo[slot, code] = tuple(msgs)
        return got

    # ------------------------------------------------------ encode / decode

    def encode(self, s: State) -> tuple[int, ...]:
        per: list[list[int]] = [[] for _ in self.pairs]
        for msg in s.messages:
            per[self.pos_of[msg.msource, msg.mdest] - self.n].append(self.body_code(msg))
        led = [self.term_code([t for t, j in s.elected if j == i]) for i in range(len(self.led))]
        return (*(self.srv_code(v) for v in s.servers), *(self.chan_code(b) for b in per), self.comm_code(s.committed), *led)

    def decode(self, vector: tuple[int, ...]) -> State:
        n = self.n
        msgs = [msg for q in range(n, n + self.m) for msg in self.channel(q, vector[q])]
        return State(tuple(self.srvs[c] for c in vector[:n]), tuple(sorted(msgs)), self.comms[vector[self.ghost]],
                     self.elected(vector[self.ghost + 1:]))

    def initial(self) -> list[tuple[int, ...]]:
        return [self.encode(s) for s in self.model.init_states()]

    # ------------------------------------------------------ effects

    def _probe(self, v: ServerVars, messages: tuple[Message, ...] = ()) -> State:
        """A state whose every server is ``v``: an action of server i reads only server i (checked on its result)."""
        return State((v,) * self.n, messages, ())

    def effects(self, group: int, values: tuple[int, ...]) -> list[Effect]:
        if self.group_kind[group] == "local":
            return self._local(group, values[0])
        return self._deliver(group - self.n, values[0], values[1])

    def _local(self, i: int, code: int) -> list[Effect]:
        v = self.srvs[code]
        out = []
        for k, a in enumerate(self.acts):
            if a.args[0] != i:
                continue
            t = self.raw.next_state(self._probe(v), a)
            if t is None:
                continue
            if any(u != v for j, u in enumerate(t.servers) if j != i):
                raise AssertionError(f"{a.name} changed a server other than S{i + 1}: the compiled engine cannot memoise it")
            ops = [Op(i, SET, self.srv_code(t.servers[i]))]
            for msg in t.messages:
                if msg.msource != i:
                    raise AssertionError(f"{a.name} of S{i + 1} sent a message from another server")
                ops.append(Op(self.pos_of[msg.msource, msg.mdest], MERGE, self.body_code(msg)))
            if t.committed:
                ops.append(Op(self.ghost, MERGE, self.comm_code(t.committed)))
            ops += self._leads(i, t)
            out.append(Effect(k, tuple(ops)))
        return out

    def _deliver(self, pair: int, code: int, chan: int) -> list[Effect]:
        """One effect per message of the channel, each HandleRPC's (it reads the destination and the message alone, so
        it is memoised per message)."""
        handled = self.handled
        slot = self.n + pair
        out = []
        for c, msg in zip(self.chans[chan], self.channel(slot, chan), strict=True):
            eff = handled.get((pair, code, c))
            if eff is None:
                eff = handled[pair, code, c] = self._handle(pair, code, msg)
            out.append(eff)
        return out

    def _handle(self, pair: int, code: int, msg: Message) -> Effect:
        a, d = self.pairs[pair]
        v = self.srvs[code]
        t = self.raw.next_state(self._probe(v, (msg,)), Action("HandleRPC", (msg,)))
        assert t is not None, "HandleRPC is enabled for every message in the network"
        if t.committed or any(u != v for j, u in enumerate(t.servers) if j != d):
            raise AssertionError("HandleRPC changed more than its destination: the compiled engine cannot memoise it")
        replies = [r for r in t.messages if r != msg]
        if len(replies) > 1 or any((r.msource, r.mdest) != (d, a) for r in replies):
            raise AssertionError("HandleRPC sent something other than one reply to the sender: the compiled engine cannot memoise it")
        ops = [Op(d, SET, self.srv_code(t.servers[d]))]
        ops += [Op(self.pos_of[d, a], MERGE, self.body_code(r)) for r in replies]
        ops += self._leads(d, t)
        return Effect(self.handle_label, tuple(ops))

    def _leads(self, i: int, t: State) -> list[Op]:
        """The op adding to server i's ``elected`` slot what the readable ``record_leaders`` recorded for i in ``t``, the
        successor of a probe whose ghost is empty (what it records for the other servers, copies of i's old variables, is
        theirs already: a leader's term is recorded when it becomes one)."""
        mine = [term for term, j in t.elected if j == i]
        return [Op(self.led[i], MERGE, self.term_code(mine))] if mine and self.led else []

    def normalise(self, slot: int, ctx: int, value: int) -> int:
        """``Raft.prune`` of one channel against its destination (the readable prune judges a channel by it alone).

        Message by message, as ``Raft.prune`` (whose code no model may override: :func:`unsupported`) works: it drops
        the dead messages, each judged alone; then in the log layer it maps each live one to itself or its folded form,
        so a channel's prune is the union of its messages' prunes alone; in the election layer it keeps, of the live
        notify-only requests from one server to another (a channel's), only the least (the first in a channel's order).
        Both answers of a message are memoised; ``tests/test_compiled.py`` compares the result with the whole channel's
        prune (:meth:`normalise_whole`)."""
        if not self.pruning or not value:
            return value
        fates, codes = self.fates, self.chans[value]
        election = self.model.max_log == 0
        out: list[int] = []
        msgs = None
        thinned = False
        for k, c in enumerate(codes):
            fate = fates.get((slot, ctx, c))
            if fate is None:
                msgs = msgs or self.channel(slot, value)
                servers = self._probe(self.srvs[ctx]).servers
                alone = tuple(self.body_code(m) for m in self.model.prune(servers, {msgs[k]}))
                notify = bool(alone) and election and self.model.notify_only(servers, msgs[k])
                fate = fates[slot, ctx, c] = (alone, notify)
            if fate[1]:
                if thinned:
                    continue
                thinned = True
            out += fate[0]
        if out == list(codes):
            return value
        return self.chan_code(out)

    def normalise_whole(self, slot: int, ctx: int, value: int) -> int:
        """``Raft.prune`` of the whole channel at once: what :meth:`normalise` computes message by message (for tests)."""
        if not self.pruning or not value:
            return value
        live = self.model.prune(self._probe(self.srvs[ctx]).servers, set(self.channel(slot, value)))
        return self.chan_code([self.body_code(m) for m in live])

    def merge(self, slot: int, ctx: int, value: int, token: int) -> int:
        if slot == self.ghost:
            return self.comm_code((*self.comms[value], *self.comms[token]))
        if slot > self.ghost:
            return self.term_code((*self.terms[value], *self.terms[token]))
        return self.normalise(slot, ctx, self.chan_code((*self.chans[value], token)))

    # ------------------------------------------------------ properties

    def holds(self, prop: int, part: int, values: tuple[int, ...]) -> bool:
        each = self.per_message[prop]
        check = self.state_props[prop].prop.check
        if each is not None:
            chan, sender = values
            slot = self.state_props[prop].parts[part][0]
            return all(each(self.srvs[sender], msg) for msg in self.channel(slot, chan))
        last = self._probe_last
        if last[0] != values:  # the engine asks every property of a group in turn on the same values
            last = self._probe_last = (values, State(tuple(self.srvs[c] for c in values[: self.n]), _WIRE, self.comms[values[self.n]],
                                                             self.elected(values[self.n + 1:])))
        try:
            return bool(check(last[1]))
        except PropertyReadsNetwork:
            raise ValueError(f"property {self.state_props[prop].prop.name} reads the network: the compiled engine cannot check it "
                             "(write it as a models.raft.EachMessage, or use --engine readable)") from None

    def action_holds(self, prop: int, part: int, before: tuple[int, ...], after: tuple[int, ...]) -> bool:
        ap = self.action_props[prop]
        n = self.n
        if len(ap.parts[part]) == 1:  # per server: every server of both probes has the part's variables
            s, t = (State((self.srvs[x[0]],) * n, _WIRE, _WIRE, _WIRE) for x in (before, after))
        else:
            s, t = (State(tuple(self.srvs[c] for c in x[:n]), _WIRE, self.comms[x[n]], self.elected(x[n + 1:]))
                    for x in (before, after))
        try:
            return bool(ap.prop.check(s, _WIRE, t))
        except PropertyReadsNetwork:
            raise ValueError(f"action property {ap.prop.name} reads the network, the ghost or the action: the compiled engine "
                             "cannot check it (use --engine readable)") from None

    # ------------------------------------------------------ symmetry

    def rename(self, perm: int, value: int) -> int:
        """Server ``value`` renamed by ``perms[perm]``, as readable ``Raft.permute`` renames each server
        (``Raft._permute_server``; a probe state of n copies through ``permute`` renamed n - 1 of them for nothing)."""
        return self.srv_code(self.model._permute_server(self.srvs[value], self.perms[perm], self.inverses[perm]))

    def sym_key(self, process: int, value: int) -> Any:
        return self.model.sym_key(self.srvs[value], process)

    def process_order(self, value: int) -> ServerVars:
        """Servers compare as the readable model compares them (as ``Raft.representative`` does)."""
        return self.srvs[value]

    # ------------------------------------------------------ simulation (checker.pins_walk.WalkModel)

    @property
    def delivery_label(self) -> int:
        return self.handle_label

    token_kinds = len(MType)

    def effect_tokens(self, group: int, values: tuple[int, ...]) -> list[tuple[int, int, int]] | None:
        """A delivery group's effects are one per message of the channel, in the channel's order (``_deliver``): each
        consumes that message's body (its code), whose kind is its ``MType``."""
        if self.group_kind[group] == "local":
            return None
        slot = self.groups[group].reads[1]
        return [(slot, b, int(self.bodies[b].mtype)) for b in self.chans[values[1]]]

    def value_digest(self, slot: int, value: int) -> int:
        """A digest of the slot's content: a server's variables, a channel's messages, the committed entries."""
        if slot < self.n:
            text = repr(self.srvs[value])
        elif slot == self.ghost:
            text = repr(self.comms[value])
        elif slot > self.ghost:
            text = repr(self.terms[value])
        else:
            text = repr([self.bodies[b] for b in self.chans[value]])
        return int.from_bytes(hashlib.blake2b(f"{slot}:{text}".encode(), digest_size=8).digest(), "little", signed=True)

    def readable_action(self, label: int, slot: int, token: int) -> Action:
        if label != self.handle_label:
            return self.acts[label]
        a, b = self.pairs[slot - self.n]
        return Action("HandleRPC", (self.bodies[token]._replace(msource=a, mdest=b),))
