"""The Raft model: Figure 2 of the Raft paper as guarded state transitions.

This file mirrors ``spec/Raft.tla`` one-to-one.  The TLA+ variables are
functions over servers (``currentTerm[i]``); here each server's slice of them
is one :class:`ServerVars` with the same field names (the spec's record
``ServerVars(i)``), and ``messages`` is the network.  Every action, hook and
helper has the name of its operator in the spec: the actions
(``Timeout``, ``RequestVote``, ``HandleRPC``, ...) CamelCase, the rest
snake_case (``step_down_on``, ``is_stale_request``, ``prune``, ...), each hook
with the same parameters; ``tests/test_spec.py`` checks it.

The network is a *set* of messages that delivery does not remove.  That one
choice gives every asynchronous behaviour: a message that is never delivered
is lost, one delivered twice is duplicated, and messages are delivered in any
order after any delay.  Any server may ``Restart`` at any time, losing its
volatile state.

Every guard and update that a protocol tweak may want to change is a method
marked ``@hook``; tweaks (``models/tweaks.py``, or a user's ``--tweak-file``)
override hooks by name and nothing else.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Callable, Iterator, Sequence
from enum import IntEnum
from typing import Any, ClassVar, NamedTuple, TypeVar

from checker.model import Property, action_property, always, check_unique_names, sometimes

F = TypeVar("F", bound=Callable[..., Any])

NIL = -1
"""``votedFor`` of a server that has not voted in its current term (the spec's ``Nil``)."""


class Role(IntEnum):
    Follower = 0
    Candidate = 1
    Leader = 2


class MType(IntEnum):
    RequestVoteRequest = 0
    RequestVoteResponse = 1
    AppendEntriesRequest = 2
    AppendEntriesResponse = 3


class Message(NamedTuple):
    """A message on the wire; fields not used by its ``mtype`` stay at their defaults."""

    mtype: MType
    mterm: int
    msource: int
    mdest: int
    # RequestVoteRequest
    mlastLogTerm: int = 0
    mlastLogIndex: int = 0
    # RequestVoteResponse
    mvoteGranted: bool = False
    # AppendEntriesRequest
    mprevLogIndex: int = 0
    mprevLogTerm: int = 0
    mentries: tuple[int, ...] = ()
    mcommitIndex: int = 0
    # AppendEntriesResponse
    msuccess: bool = False
    mmatchIndex: int = 0


class ServerVars(NamedTuple):
    """One server's slice of the spec's per-server variables.

    Persistent: ``currentTerm``, ``votedFor``, ``log`` (survive Restart).
    Volatile: ``role``, ``votesGranted``, ``commitIndex``, ``nextIndex``,
    ``matchIndex`` (lost on Restart).  ``log`` holds the term of each entry,
    index 1 first.
    """

    currentTerm: int
    role: Role
    votedFor: int
    votesGranted: tuple[int, ...]  # sorted set of servers
    log: tuple[int, ...]
    commitIndex: int
    nextIndex: tuple[int, ...]
    matchIndex: tuple[int, ...]


class Committed(NamedTuple):
    """Ghost record: entry ``(index, term)`` was committed by a leader of ``commitTerm``."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the spec's record field
    term: int
    commitTerm: int


class State(NamedTuple):
    servers: tuple[ServerVars, ...]
    messages: tuple[Message, ...]  # a set, kept sorted so that states compare and print deterministically
    committed: tuple[Committed, ...] = ()  # GHOST: history for LeaderCompleteness; sorted set
    # GHOST: history for ElectionSafetyHistory: every (term, server) pair such that the server was leader in that term
    # in some state so far; sorted set.  Kept only by a model with ``history=True`` (else always empty).
    elected: tuple[tuple[int, int], ...] = ()


class Action(NamedTuple):
    """An action with its arguments, e.g. ``Action("Timeout", (0,))``."""

    name: str
    args: tuple[Any, ...]


# Variable and action names of the spec, compared with spec/Raft.tla by tests.
VARIABLES = (*ServerVars._fields, "messages", "committed", "elected")
HISTORY_PROPERTIES = ("ElectionSafetyHistory",)
"""Properties over the ghost ``elected``: selecting one (``check --invariant``) builds the model with ``history=True``."""
ACTIONS = ("Restart", "Timeout", "RequestVote", "BecomeLeader", "ClientRequest", "AdvanceCommitIndex", "AppendEntries", "HandleRPC")

HOOKS: dict[str, str] = {}
"""Overridable hook name -> its first docstring line; filled by ``@hook``."""

WITHOUT_ID: dict[str, int] = {}
"""Hooks that were once called without the server id: name -> the number of arguments (after ``self``) of that
older form.  Their id is the last argument and defaults to ``NIL``, so ``Raft.restart_server(self, srv)`` still
works; an override written in the older form is adapted by ``models.tweaks`` (it is told its arity)."""


def hook(f: F) -> F:
    """Mark a method as a hook that a tweak may override by name.

    Every hook receives the id ``i`` of the server it acts for, as its last
    argument (``can_commit(srv, i, index)`` and ``start_election(srv, i)``
    had it before and keep their order).  A hook sees that one server's
    variables, the message it handles and its id, never the whole state:
    that is what lets the compiled engine memoise per server and per message
    (``models/raft_pins.py``).
    """
    HOOKS[f.__name__] = (f.__doc__ or "").strip().splitlines()[0]
    params = list(inspect.signature(f).parameters.values())[1:]
    if params and params[-1].name == "i" and params[-1].default is not inspect.Parameter.empty:
        WITHOUT_ID[f.__name__] = len(params) - 1
    return f


class HookError(ValueError):
    """An override whose parameters fit neither form of the hook's call; the message shows the call."""


def hook_call(name: str, with_id: bool = True) -> str:
    """How the model calls hook ``name``, e.g. ``can_grant_vote(self, srv, m, i)``."""
    params = list(inspect.signature(getattr(Raft, name)).parameters)
    if not with_id:
        params = params[: WITHOUT_ID[name] + 1]
    return f"{name}({', '.join(params)})"


def adapt_hook(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` as an override of hook ``name``: as it is if it takes the hook's arguments (the server id last), or
    wrapped to drop the id if it is written in the hook's older form without it (:data:`WITHOUT_ID`).

    Raises HookError, with the call to match, if it takes neither.
    """
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return f  # no signature to check (a builtin or a C callable): called as it is
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return f
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in positional if p.default is inspect.Parameter.empty)
    required += sum(1 for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty)

    def takes(k: int) -> bool:
        return required <= k <= len(positional)

    if takes(len(inspect.signature(getattr(Raft, name)).parameters)):
        return f
    old = WITHOUT_ID.get(name)
    if old is not None and takes(old + 1):
        n_old = old

        @functools.wraps(f)
        def without_id(self: Raft, *args: Any) -> Any:
            return f(self, *args[:n_old])  # the model passes the id last; a call in the older form has none

        return without_id
    older = f" (or, without the server id, {hook_call(name, with_id=False)})" if old is not None else ""
    raise HookError(f"override({name!r}): {getattr(f, '__name__', 'the function')} takes {len(positional)} positional "
                    f"argument(s), but the model calls {hook_call(name)}{older}; change its parameters to match")


def server_name(i: int) -> str:
    return f"S{i + 1}"


def tie_blocks(keys: Sequence[Any]) -> list[list[int]]:
    """The indexes of ``keys`` in key order, grouped into runs of equal keys."""
    blocks: list[list[int]] = []
    for i in sorted(range(len(keys)), key=keys.__getitem__):
        if blocks and keys[blocks[-1][0]] == keys[i]:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks


def _set_add(items: tuple[Any, ...], x: Any) -> tuple[Any, ...]:
    return items if x in items else tuple(sorted((*items, x)))


def _put(seq: tuple[Any, ...], i: int, x: Any) -> tuple[Any, ...]:
    return (*seq[:i], x, *seq[i + 1 :])


class EachMessage:
    """A state predicate: ``per_message(sender's variables, m)`` holds for every message m in flight.

    Written this way, a property says that it is a conjunction over messages,
    and the compiled engine checks it one network slot at a time, memoising each
    slot's answer (``models/raft_pins.py``).
    """

    def __init__(self, per_message: Callable[[ServerVars, Message], bool]) -> None:
        self.per_message = per_message

    def __call__(self, s: State) -> bool:
        ok = self.per_message
        return all(ok(s.servers[m.msource], m) for m in s.messages)


def term_within_senders(sender: ServerVars, m: Message) -> bool:
    """MessageTermBound for one message: ``m.mterm <= currentTerm[m.msource]``."""
    return m.mterm <= sender.currentTerm


class Reduction(NamedTuple):
    """A state-space reduction of the model, and the hooks its soundness argument rests on.

    A tweak that overrides none of ``rests_on`` (nor, in the election layer,
    of ``election_rests_on``) keeps the reduction; one that overrides any of
    them loses it unless it declares ``keep_reductions(name)``.  The
    argument assumes that a hook does what its docstring says and no more
    (``record_vote`` records votedFor and changes nothing else); the
    self-check of ``raft_check/selfcheck.py`` is the guard for the rest.
    """

    name: str  # as keep_reductions() spells it
    title: str
    argued_in: str  # where the soundness argument is written
    rests_on: tuple[str, ...]
    log_layer_only: bool = False
    election_rests_on: tuple[str, ...] = ()  # more hooks, in the election layer only


# A server's term never decreases and it is a candidate of a term only once, from its Timeout into it: every
# argument rests on these.
_TERMS = ("step_down_on", "step_down", "restart_server", "start_election")
# A stale request changes nothing and is refused; a vote once cast is fixed for the term (notify_only).
_NOTIFY_ONLY = ("is_stale_request", "on_request_vote_request", "on_append_entries_request", "can_grant_vote", "record_vote")
# Handlers that may change anything about their server.
_HANDLERS = ("on_request_vote_request", "on_request_vote_response", "on_append_entries_request", "on_append_entries_response")

REDUCTIONS: dict[str, Reduction] = {r.name: r for r in (
    Reduction("eager-votes", "eager vote requests", "Raft.Timeout",
              # a candidate's term and log stay fixed while it is one, and only Timeout makes a candidate
              tuple(dict.fromkeys((*_TERMS, "become_leader", *_HANDLERS)))),
    Reduction("pruning", "message pruning", "Raft.prune, Raft.dead, Raft.notify_only",
              # dead: terms, candidacy and leading once per term, and the response handlers
              tuple(dict.fromkeys((*_TERMS, "become_leader", "on_request_vote_response", "counts_vote", "count_vote",
                                   "on_append_entries_response", "update_indexes"))),
              # the election layer also keeps one of each group of notify-only requests
              election_rests_on=_NOTIFY_ONLY),
    Reduction("folding", "folding of notify-only requests", "Raft.fold, Raft.notify_only",
              tuple(dict.fromkeys((*_TERMS, *_NOTIFY_ONLY))), log_layer_only=True),
    Reduction("eager-appends", "eager appends", "Raft.heartbeats",
              # what a leader's AppendEntries RPC carries changes only in the steps that send it, and stops with leading
              tuple(dict.fromkeys((*_TERMS, "become_leader", "add_client_entry", "update_indexes", *_HANDLERS))),
              log_layer_only=True),
)}
"""The model's reductions by name, in the order the ``check`` header lists them."""


def reduction_hooks(name: str, max_log: int) -> tuple[str, ...]:
    """The hooks reduction ``name``'s argument rests on in the layer of ``max_log``."""
    r = REDUCTIONS[name]
    return r.rests_on if max_log > 0 else tuple(dict.fromkeys((*r.rests_on, *r.election_rests_on)))


class Raft:
    """The Raft model for ``n`` servers, terms up to ``max_term`` and logs up to ``max_log`` entries.

    ``reduce=True`` (the spec's ``Reduce``) turns on the two state-space
    reductions, each argued sound where it is implemented and tested against
    the unreduced search in ``tests/test_reductions.py``:

    - *eager vote requests* (:meth:`Timeout`): a candidate sends its
      RequestVote RPCs to all other servers in the Timeout step itself, as
      Figure 2 says ("On conversion to candidate ... send RequestVote RPCs to
      all other servers"); the separate ``RequestVote(i, j)`` action is then
      disabled;
    - *message pruning* (:meth:`prune`): messages whose delivery can never
      change anything again, and requests made redundant by an equivalent one,
      are removed from the network; in the log layer a request whose every
      delivery only tells its sender the receiver's term is *folded* into one
      bare form per (type, source, dest) (:meth:`fold`);
    - *eager appends* (:meth:`heartbeats`), in the log layer only: a leader
      sends its AppendEntries RPCs to every other server in each step that
      changes what they would carry, and the separate ``AppendEntries(i, j)``
      action is then disabled.

    The election layer (``max_log == 0``) runs without folding and eager
    appends, so its pinned state counts are those of the model before the
    log layer (both would be sound there too).

    The four are named ``eager-votes``, ``pruning`` (dead messages, and in
    the election layer the merging of notify-only requests), ``folding`` and
    ``eager-appends`` (:data:`REDUCTIONS`, with the hooks each argument rests
    on); ``self.reductions`` says which are on and ``self.reduction_notes``
    why.
    """

    tweaks: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's hook written in its older form, without the server id, is adapted (:func:`adapt_hook`)."""
        super().__init_subclass__(**kwargs)
        for name in HOOKS:
            f = cls.__dict__.get(name)
            if callable(f):
                setattr(cls, name, adapt_hook(name, f))

    # Which reductions a tweak keeps (models.tweaks.apply sets these; the tweaked model runs without the others):
    # ``unsound`` names those a built-in tweak turns off, with the reason; a tweak file's reductions follow from the
    # hooks it overrides (``overridden`` -> the file) by their ``Reduction.rests_on``, unless it declares
    # ``keep_reductions`` (``declared_kept``: reduction -> the file) or ``drop_reductions`` (in ``unsound``).
    # The two older flags (eager votes, with eager appends; pruning, with folding) still work.
    unsound: ClassVar[dict[str, str]] = {}
    overridden: ClassVar[dict[str, str]] = {}
    declared_kept: ClassVar[dict[str, str]] = {}
    eager_votes_sound: bool = True
    pruning_sound: bool = True

    def __init__(self, n: int = 3, max_term: int = 4, max_log: int = 0, reduce: bool = True, *,
                 eager_votes: bool | None = None, prune: bool | None = None, eager_appends: bool | None = None,
                 fold: bool | None = None, history: bool = False) -> None:
        if n < 1:
            raise ValueError("--servers must be at least 1")
        if max_term < 0 or max_log < 0:
            raise ValueError("bounds must be non-negative")
        self.n = n
        self.max_term = max_term
        self.max_log = max_log
        # Each reduction separately (tests turn them on one at a time); ``reduce`` sets all of them.  Eager appends
        # follow eager vote requests, and folding follows pruning, unless set on their own.
        votes = reduce if eager_votes is None else eager_votes
        pruning = reduce if prune is None else prune
        wanted = {"eager-votes": votes, "pruning": pruning, "folding": pruning if fold is None else fold,
                  "eager-appends": votes if eager_appends is None else eager_appends}
        older = {"eager-votes": self.eager_votes_sound, "pruning": self.pruning_sound, "folding": self.pruning_sound,
                 "eager-appends": self.eager_votes_sound}
        self.reductions: dict[str, bool] = {}
        self.reduction_notes: dict[str, str] = {}  # why each reduction is on or off
        for name, r in REDUCTIONS.items():
            if r.log_layer_only and max_log == 0:
                on, why = False, "not used in the election layer (max-log 0)"
            elif not wanted[name]:
                on, why = False, "turned off (unreduced)"
            elif name in self.unsound or not older[name]:
                on, why = False, self.unsound.get(name, "the tweak changes a rule its argument rests on")
            else:
                on, why = self.rule_for(name)
            self.reductions[name], self.reduction_notes[name] = on, why
        self.eager_votes = self.reductions["eager-votes"]
        self.prune_msgs = self.reductions["pruning"]
        self.fold_msgs = self.reductions["folding"]
        self.eager_appends = self.reductions["eager-appends"]
        self.reduce = self.eager_votes and self.prune_msgs
        # The ghost ``elected`` and ElectionSafetyHistory: off by default, so the default search and its pinned
        # counts are those of the model without it (a history tells apart states that are otherwise equal).
        self.history = history
        self.server_ids = tuple(range(n))
        self.props = self._properties()

    @property
    def perms(self) -> list[tuple[int, ...]]:
        """Every renaming of the servers (n! of them: made only on demand, by tests of small models; the search never
        lists them, see :meth:`representative`)."""
        return list(itertools.permutations(self.server_ids))

    def rule_for(self, name: str) -> tuple[bool, str]:
        """Whether a tweak file keeps reduction ``name`` by the rule of :class:`Reduction`, and why."""
        if not self.overridden:
            return True, ""
        hit = [h for h in reduction_hooks(name, self.max_log) if h in self.overridden]
        if name in self.declared_kept:
            if not hit:
                return True, "kept: the tweak overrides none of the hooks its argument rests on"
            return True, f"kept by keep_reductions() although the tweak overrides {', '.join(hit)}"
        if hit:
            return False, f"the tweak overrides {', '.join(hit)}, which its argument rests on"
        return True, "kept: the tweak overrides none of the hooks its argument rests on"

    # ------------------------------------------------------------------ helpers

    def quorum(self, votes: int) -> bool:
        """``votes`` servers form a majority of the cluster."""
        return 2 * votes > self.n

    @staticmethod
    def last_term(log: tuple[int, ...]) -> int:
        return log[-1] if log else 0

    def fresh_leader_state(self, log: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``nextIndex`` and ``matchIndex`` of a new leader (and their reset values)."""
        return (len(log) + 1,) * self.n, (0,) * self.n

    def init_server(self) -> ServerVars:
        nxt, match = self.fresh_leader_state(())
        return ServerVars(0, Role.Follower, NIL, (), (), 0, nxt, match)

    # ------------------------------------------------------------- Model API

    def init_states(self) -> list[State]:
        """Init: every server is a follower in term 0 with no vote and an empty log; no messages."""
        return [State(tuple(self.init_server() for _ in self.server_ids), ())]

    def within_boundary(self, state: State) -> bool:
        return True

    def properties(self) -> Sequence[Property[State, Action]]:
        return self.props

    def actions(self, state: State) -> Iterator[Action]:
        """Every action in the spec's ``Next``, in a fixed order (BFS order depends on it)."""
        ids = self.server_ids
        for i in ids:
            yield Action("Restart", (i,))
        for i in ids:
            yield Action("Timeout", (i,))
        for i in ids:
            for j in ids:
                if i != j:
                    yield Action("RequestVote", (i, j))
        for i in ids:
            yield Action("BecomeLeader", (i,))
        for i in ids:
            yield Action("ClientRequest", (i,))
        for i in ids:
            yield Action("AdvanceCommitIndex", (i,))
        for i in ids:
            for j in ids:
                if i != j:
                    yield Action("AppendEntries", (i, j))
        for m in state.messages:
            yield Action("HandleRPC", (m,))

    def next_state(self, state: State, action: Action) -> State | None:
        """The spec's action ``action.name`` applied to ``state``; None when its guard is false."""
        step = getattr(self, action.name)
        return step(state, *action.args)  # type: ignore[no-any-return]

    # ------------------------------------------------------------- the network

    def commit_step(self, state: State, servers: tuple[ServerVars, ...], sent: Sequence[Message] = (),
                    committed: tuple[Committed, ...] | None = None) -> State:
        """Build the next state: the new server variables and ``messages \\cup sent``, pruned."""
        msgs = set(state.messages)
        msgs.update(sent)
        ghost = state.committed if committed is None else committed
        if self.prune_msgs or self.fold_msgs:
            msgs = self.prune(servers, msgs)
        return State(servers, tuple(sorted(msgs)), ghost, self.record_leaders(state.elected, servers))

    def record_leaders(self, elected: tuple[tuple[int, int], ...], servers: tuple[ServerVars, ...]) -> tuple[tuple[int, int], ...]:
        r"""GHOST elected' = elected \cup {<<currentTerm'[i], i>> : i a leader in the next state} (with ``history``).

        Recorded from the next state's servers, not inside BecomeLeader, so a
        tweak that makes a leader some other way (say, a leader that adopts a
        newer term and keeps leading) is recorded too.  The ghost is a function
        of the sequence of server states, which every reduction preserves (each
        matches an execution by one that passes through the same server
        states), so the reduced searches find the same (servers, elected)
        pairs (``tests/test_history.py``).
        """
        if not self.history:
            return elected
        new = [(v.currentTerm, i) for i, v in enumerate(servers) if v.role == Role.Leader and (v.currentTerm, i) not in elected]
        return tuple(sorted((*elected, *new))) if new else elected

    def prune(self, servers: tuple[ServerVars, ...], msgs: set[Message]) -> set[Message]:
        """prune(msgs): drop dead messages; then, in the election layer, all but the least of each group of
        redundant requests, and in the log layer, fold every notify-only request (:meth:`fold`).

        Sound because a dropped message has, from now on, no effect that a
        kept one lacks (see :meth:`dead` and :meth:`notify_only`).  Precisely,
        as ``tests/test_reductions.py`` checks against the unpruned search:
        every pruned-reachable state is the pruned image of an unpruned-reachable
        state; conversely every such image is pruned-reachable up to the kind
        of a refusal reply (in the election layer a kept RequestVote request
        draws a denied RequestVoteResponse where a merged AppendEntries request
        would draw a failed AppendEntriesResponse; at the receiver both can only
        make it step down); so both searches reach the same server variables.
        Every property gives the same verdict on a state and its image: the
        server variables are untouched, and a dropped message's term is at most
        its sender's, as terms never decrease.
        """
        live = {m for m in msgs if not self.dead(servers, m)} if self.prune_msgs else msgs
        if self.max_log > 0:
            # Folding is the log layer's own reduction ("folding"); pruning alone drops the dead messages only.
            return {self.fold(m) if self.fold_msgs and self.notify_only(servers, m) else m for m in live}
        kept: dict[tuple[int, ...], Message] = {}
        for m in sorted(live):
            if self.notify_only(servers, m):
                key = (m.msource, m.mdest)
                if key in kept:
                    live.discard(m)
                else:
                    kept[key] = m
        return live

    @staticmethod
    def fold(m: Message) -> Message:
        """fold(m): the bare form of a notify-only request -- its type, source and dest, term 0, other fields at defaults.

        Used in the log layer.  By :meth:`notify_only`, every delivery of a
        notify-only request m from i to j, now or later, leaves j unchanged and
        answers i with a refusal of m's type carrying j's term at delivery
        (a RequestVote request of j's current term that j granted to i draws
        the granted reply again, which is still in the network or dead).  The
        content of m plays no part: only that it is not of a term above j's,
        which holds for ever (terms never decrease).  fold(m) has the same
        type, source and dest and term 0, below every term a receiver of a
        request can have (requests carry terms of 1 and more, and a receiver
        adopts them); so it draws the same refusals, and again it can only
        ever do that.  (Where m re-grants a vote, fold(m) draws a denial of
        i's term, which is dead at once, and the granted reply is where it
        was.)  So a state and its folded image have the same futures up to
        folding, and the properties read no message content they change
        (MessageTermBound holds for term 0).  Of two notify-only requests
        with the same type, source and dest only one folded form remains.
        In a trace a folded request reads ``RequestVote S1->S2 (folded)``.
        """
        return Message(m.mtype, 0, m.msource, m.mdest)

    @staticmethod
    def is_folded(m: Message) -> bool:
        """``m`` has the form of a folded request (:meth:`fold`): a request of term 0 with its other fields at defaults.

        In a model that folds (:attr:`folding`) these are the folded requests
        (real requests there carry terms of 1 and more); in any other model a
        message of term 0 is a real one, as under a tweak that elects in term 0.
        """
        return m.mtype in (MType.RequestVoteRequest, MType.AppendEntriesRequest) and m == Raft.fold(m)

    @property
    def folding(self) -> bool:
        """Whether :meth:`prune` folds notify-only requests: the ``folding`` reduction (log layer only)."""
        return self.fold_msgs

    def dead(self, servers: tuple[ServerVars, ...], m: Message) -> bool:
        """dead(m): delivering ``m`` now or at any later time changes nothing.

        Only responses are ever dead.  The argument rests on three facts of the
        model: (1) ``currentTerm`` never decreases (Timeout increments it, the
        step-down rule raises it, Restart keeps it); (2) a server is a candidate
        in term t only from its Timeout into t until it leaves that role, and
        never again (Timeout always moves to a new term, Restart makes it a
        follower); so, too, it can lead in t only after being candidate in t;
        (3) the response handlers, which change nothing but what is said here.

        - ``m.mterm < currentTerm[d]``: responses of an older term are ignored on
          delivery (Figure 2), and by (1) that stays so.
        - a RequestVoteResponse of d's current term while d is not a candidate:
          by (2) d is never a candidate in that term again, and only a candidate
          counts votes.  Likewise if it is a refusal, or from a server already in
          ``votesGranted[d]`` (the set only grows while d stays candidate).
        - an AppendEntriesResponse of d's current term while d is a follower:
          by (2) d never leads in that term.  In the election layer
          (``max_log == 0``) nextIndex and matchIndex are constants, so every
          such response of d's current term is dead.
        - an AppendEntriesResponse of d's current term while d leads it, from
          j: a success with ``mmatchIndex <= matchIndex[d][j]`` (both indexes
          only move forward, and ``nextIndex > matchIndex``, so it moves
          neither), or a failure once ``nextIndex[d][j] = matchIndex[d][j] + 1``
          (the back-off stops there, and a success keeps the two one apart).
          By (2), once d stops leading in the term it never leads in it again.
        """
        d = servers[m.mdest]
        if m.mtype in (MType.RequestVoteRequest, MType.AppendEntriesRequest):
            return False
        if m.mterm < d.currentTerm:
            return True
        if m.mterm > d.currentTerm:
            return False
        if m.mtype == MType.RequestVoteResponse:
            return d.role != Role.Candidate or not m.mvoteGranted or m.msource in d.votesGranted
        if d.role == Role.Follower or self.max_log == 0:
            return True
        if d.role == Role.Leader:
            j = m.msource
            return m.mmatchIndex <= d.matchIndex[j] if m.msuccess else d.nextIndex[j] == d.matchIndex[j] + 1
        return False

    def notify_only(self, servers: tuple[ServerVars, ...], m: Message) -> bool:
        """notify_only(m): a request whose every delivery, now or later, only tells its sender the receiver's term.

        - A stale request (``m.mterm < currentTerm[d]``) is answered with failure
          and d's term at the time of delivery, and changes nothing at d.
        - A RequestVoteRequest of d's current term after d has voted: d's vote
          is fixed for the term, and the reply it would send again is still in
          the network or already dead (counted, or its candidate moved on).
          When d's term moves on, the request is stale.
        - In the election layer, an AppendEntriesRequest of d's current term
          while d is a follower: its success reply is dead at once.

        Two notify-only requests from i to j (of the same type, in the log
        layer) therefore have the same futures: each answers "failure, term T"
        for j's term T at delivery, and the replies act alike (in the election
        layer even across types: at i either reply can only make it step down).
        Keeping one of them loses no behaviour.
        """
        if m.mtype not in (MType.RequestVoteRequest, MType.AppendEntriesRequest):
            return False
        d = servers[m.mdest]
        if m.mterm < d.currentTerm:
            return True
        if m.mterm > d.currentTerm:
            return False
        if m.mtype == MType.RequestVoteRequest:
            return d.votedFor != NIL
        return self.max_log == 0 and d.role == Role.Follower

    # ---------------------------------------------------------------- actions
    # Each action returns None when it is not enabled.

    def Restart(self, s: State, i: int) -> State | None:
        """Restart(i) -- enabled always.  A crash and recovery.

        ``role`` becomes Follower and ``votesGranted``, ``commitIndex``,
        ``nextIndex``, ``matchIndex`` are lost; the persistent ``currentTerm``,
        ``votedFor`` and ``log`` survive (the persist barrier).
        """
        srv = self.restart_server(s.servers[i], i)
        return self.commit_step(s, _put(s.servers, i, srv))

    @hook
    def restart_server(self, srv: ServerVars, i: int = NIL) -> ServerVars:
        """What survives a crash: currentTerm, votedFor and log."""
        nxt, match = self.fresh_leader_state(())
        return srv._replace(role=Role.Follower, votesGranted=(), commitIndex=0, nextIndex=nxt, matchIndex=match)

    @hook
    def timeout_enabled(self, srv: ServerVars, i: int = NIL) -> bool:
        """Timeout's guard: a follower or candidate below the term bound."""
        return srv.role in (Role.Follower, Role.Candidate) and srv.currentTerm < self.max_term

    def Timeout(self, s: State, i: int) -> State | None:
        """Timeout(i) -- enabled for a follower or candidate with ``currentTerm < MaxTerm``.

        Starts an election: ``currentTerm`` goes up by one, the server becomes a
        candidate and votes for itself (persisting term and vote).  With
        reductions on, it also sends its RequestVote RPCs to all other servers
        in this step (Figure 2).  This *eager* sending is sound: a candidate's
        vote request to j has the same content whenever it is sent during its
        candidacy (its term and log do not change), and the network may delay a
        message arbitrarily or lose it.  So an execution that sends it later is
        matched by one that sends it here and delivers it later, with the same
        server states and a superset of messages, and every state reached here
        is reached by Timeout followed by the RequestVote actions at once.
        """
        srv = s.servers[i]
        if not self.timeout_enabled(srv, i):
            return None
        cand = self.start_election(srv, i)
        sent = [self.vote_request(cand, i, j) for j in self.server_ids if j != i] if self.eager_votes else []
        return self.commit_step(s, _put(s.servers, i, cand), sent)

    @hook
    def start_election(self, srv: ServerVars, i: int) -> ServerVars:
        """A new term, candidate role, and a vote for itself."""
        return srv._replace(currentTerm=srv.currentTerm + 1, role=Role.Candidate, votedFor=i, votesGranted=(i,))

    def vote_request(self, srv: ServerVars, i: int, j: int) -> Message:
        """The RequestVote RPC from candidate i to j: its term and the last term and length of its log."""
        return Message(MType.RequestVoteRequest, srv.currentTerm, i, j, mlastLogTerm=self.last_term(srv.log), mlastLogIndex=len(srv.log))

    def RequestVote(self, s: State, i: int, j: int) -> State | None:
        """RequestVote(i, j) -- enabled while i is a candidate (and reductions are off).  i asks j for its vote.

        With reductions on, Timeout has already sent this message (see there).
        """
        srv = s.servers[i]
        if srv.role != Role.Candidate or self.eager_votes:
            return None
        return self.commit_step(s, s.servers, [self.vote_request(srv, i, j)])

    @hook
    def has_quorum(self, srv: ServerVars, i: int = NIL) -> bool:
        """BecomeLeader's guard: votes from a majority."""
        return self.quorum(len(srv.votesGranted))

    @hook
    def become_leader(self, srv: ServerVars, i: int) -> ServerVars:
        """BecomeLeader's update: leader role, ``nextIndex[j] = Len(log) + 1`` and ``matchIndex[j] = 0`` for every j."""
        nxt, match = self.fresh_leader_state(srv.log)
        return srv._replace(role=Role.Leader, nextIndex=nxt, matchIndex=match)

    def BecomeLeader(self, s: State, i: int) -> State | None:
        """BecomeLeader(i) -- enabled for a candidate with votes from a majority.

        i becomes leader and resets ``nextIndex[j]`` to ``Len(log[i]) + 1`` and ``matchIndex[j]`` to 0.
        """
        srv = s.servers[i]
        if srv.role != Role.Candidate or not self.has_quorum(srv, i):
            return None
        leader = self.become_leader(srv, i)
        return self.commit_step(s, _put(s.servers, i, leader), self.heartbeats(leader, i))

    def ClientRequest(self, s: State, i: int) -> State | None:
        """ClientRequest(i) -- enabled for a leader with ``Len(log[i]) < MaxLog``.  Appends an entry of its term."""
        srv = s.servers[i]
        if srv.role != Role.Leader or len(srv.log) >= self.max_log:
            return None
        leader = self.add_client_entry(srv, i)
        return self.commit_step(s, _put(s.servers, i, leader), self.heartbeats(leader, i))

    @hook
    def add_client_entry(self, srv: ServerVars, i: int) -> ServerVars:
        """ClientRequest's update: the leader appends an entry of its current term to its log."""
        return srv._replace(log=(*srv.log, srv.currentTerm))

    @hook
    def can_commit(self, srv: ServerVars, i: int, index: int) -> bool:
        """A leader may commit ``index`` if a majority store it and it is of the leader's term."""
        agree = 1 + sum(1 for j in self.server_ids if j != i and srv.matchIndex[j] >= index)
        return self.quorum(agree) and srv.log[index - 1] == srv.currentTerm

    def AdvanceCommitIndex(self, s: State, i: int) -> State | None:
        """AdvanceCommitIndex(i) -- enabled for a leader that can commit beyond ``commitIndex[i]``.

        ``commitIndex[i]`` becomes the highest N with ``can_commit`` (Figure 2:
        a majority has ``matchIndex >= N`` and ``log[N].term = currentTerm``).
        The ghost ``committed`` records each newly committed entry.
        """
        srv = s.servers[i]
        if srv.role != Role.Leader:
            return None
        new = next((k for k in range(len(srv.log), srv.commitIndex, -1) if self.can_commit(srv, i, k)), None)
        if new is None:
            return None
        ghost = set(s.committed)
        ghost.update(Committed(k, srv.log[k - 1], srv.currentTerm) for k in range(srv.commitIndex + 1, new + 1))
        leader = srv._replace(commitIndex=new)
        return self.commit_step(s, _put(s.servers, i, leader), self.heartbeats(leader, i), committed=tuple(sorted(ghost)))

    def append_request(self, srv: ServerVars, i: int, j: int) -> Message:
        """The AppendEntries RPC from leader i to j: ``prevLogIndex = nextIndex[i][j] - 1`` and its term,
        at most one entry from ``nextIndex[i][j]`` on, and ``commitIndex[i]``."""
        prev = srv.nextIndex[j] - 1
        return Message(
            MType.AppendEntriesRequest,
            srv.currentTerm,
            i,
            j,
            mprevLogIndex=prev,
            mprevLogTerm=srv.log[prev - 1] if prev >= 1 else 0,
            mentries=srv.log[prev : prev + 1],
            mcommitIndex=srv.commitIndex,
        )

    def heartbeats(self, srv: ServerVars, i: int) -> list[Message]:
        """With eager appends: leader i's AppendEntries RPC to every other server; else none.

        Eager appends are sound for the reason eager vote requests are
        (:meth:`Timeout`).  The RPC ``AppendEntries(i, j)`` sends is a function
        of i's variables (term, log, ``nextIndex[i][j]``, ``commitIndex[i]``),
        and the action is enabled whenever i leads.  The steps that make i a
        leader or change those variables while it leads (BecomeLeader,
        ClientRequest, AdvanceCommitIndex, and the AppendEntries response
        handler, which changes only ``nextIndex[i][j]``) send the new RPC at
        once; so every RPC that ``AppendEntries(i, j)`` could send later is
        already in the network, and the action is disabled.  An execution
        that sends an RPC later is matched by one that sends it at that step
        and delivers it at the same time: the same server states, and a
        superset of messages (pruning judges each message on its own, and a
        request that is notify-only when sent stays so).  Conversely each
        eager step is a step followed by AppendEntries actions.  So every
        eager state is reachable without the reduction, and both reach the
        same server variables and ghost (``tests/test_log_reductions.py``,
        also under each built-in log-layer tweak).  The one rule this rests on
        that a tweak could change: a leader whose term changes stops leading
        (the step-down rule); a tweak that keeps it leading (``no-step-down``)
        declares ``keeps_eager_votes=False``, which turns eager appends off too.
        """
        if not self.eager_appends:
            return []
        return [self.append_request(srv, i, j) for j in self.server_ids if j != i]

    def AppendEntries(self, s: State, i: int, j: int) -> State | None:
        """AppendEntries(i, j) -- enabled while i is leader (and eager appends are off).

        Sends j ``prevLogIndex = nextIndex[i][j] - 1``, its term, at most one
        entry from ``nextIndex[i][j]`` on, and ``commitIndex[i]``.  With an empty
        log this is a heartbeat.  With eager appends the steps that change the
        leader have sent it already (see :meth:`heartbeats`).
        """
        srv = s.servers[i]
        if srv.role != Role.Leader or self.eager_appends:
            return None
        return self.commit_step(s, s.servers, [self.append_request(srv, i, j)])

    def HandleRPC(self, s: State, m: Message) -> State | None:
        """HandleRPC(m) -- enabled for every message in the network; the message stays there.

        At the top of every handler comes the universal step-down rule
        (``step_down_on``, which calls ``step_down`` for a newer term); then
        the handler of ``m.mtype`` (``on_request_vote_request``, ...) runs on
        the updated server and may send one reply.
        """
        if m not in s.messages:
            return None
        i = m.mdest
        srv = self.step_down_on(s.servers[i], m, i)
        handler = {
            MType.RequestVoteRequest: self.handle_request_vote_request,
            MType.RequestVoteResponse: self.handle_request_vote_response,
            MType.AppendEntriesRequest: self.handle_append_entries_request,
            MType.AppendEntriesResponse: self.handle_append_entries_response,
        }[m.mtype]
        srv, reply, ghost = handler(srv, m, s)
        return self.commit_step(s, _put(s.servers, i, srv), [reply] if reply is not None else [], ghost)

    @hook
    def step_down_on(self, srv: ServerVars, m: Message, i: int) -> ServerVars:
        """The universal rule as server i receives m: if ``m.mterm > currentTerm``, ``step_down`` to it; else no change."""
        return self.step_down(srv, m.mterm, i) if m.mterm > srv.currentTerm else srv

    @hook
    def step_down(self, srv: ServerVars, term: int, i: int = NIL) -> ServerVars:
        """The universal rule: on seeing term T' > currentTerm, adopt T', clear votedFor, become follower."""
        return srv._replace(currentTerm=term, votedFor=NIL, role=Role.Follower, votesGranted=())

    @hook
    def is_stale_request(self, srv: ServerVars, m: Message, i: int = NIL) -> bool:
        """A request with ``m.mterm < currentTerm`` is answered with currentTerm and failure."""
        return m.mterm < srv.currentTerm

    @hook
    def log_ok_for_vote(self, srv: ServerVars, m: Message, i: int = NIL) -> bool:
        """The election restriction: the candidate's log is at least as up-to-date (last term, then length)."""
        mine = self.last_term(srv.log)
        return m.mlastLogTerm > mine or (m.mlastLogTerm == mine and m.mlastLogIndex >= len(srv.log))

    @hook
    def can_grant_vote(self, srv: ServerVars, m: Message, i: int = NIL) -> bool:
        """Grant only if not voted for another candidate in this term."""
        return srv.votedFor in (NIL, m.msource)

    @hook
    def record_vote(self, srv: ServerVars, m: Message, i: int) -> ServerVars:
        """The vote grant's update: record ``votedFor := m.msource`` (persisted before the reply)."""
        return srv._replace(votedFor=m.msource)

    Handled = tuple[ServerVars, "Message | None", "tuple[Committed, ...] | None"]
    Reply = tuple[ServerVars, "Message | None"]

    @hook
    def on_request_vote_request(self, srv: ServerVars, m: Message, i: int) -> Reply:
        """The RequestVote handler (after step-down): grant if not stale, no other vote cast in the term, and the log is ok."""
        stale = self.is_stale_request(srv, m, i)
        # After the step-down rule, a request that is not stale is of the current term.
        grant = not stale and self.can_grant_vote(srv, m, i) and self.log_ok_for_vote(srv, m, i)
        if grant:
            srv = self.record_vote(srv, m, i)
        return srv, Message(MType.RequestVoteResponse, srv.currentTerm, i, m.msource, mvoteGranted=grant)

    def handle_request_vote_request(self, srv: ServerVars, m: Message, s: State) -> Handled:
        """RequestVoteRequest: the hook ``on_request_vote_request`` at ``m.mdest``; no ghost update."""
        return (*self.on_request_vote_request(srv, m, m.mdest), None)

    @hook
    def counts_vote(self, srv: ServerVars, m: Message, i: int = NIL) -> bool:
        """A vote response counts only at a candidate, only in the term it was sent in, and only if granted."""
        return srv.role == Role.Candidate and m.mterm == srv.currentTerm and m.mvoteGranted

    @hook
    def count_vote(self, srv: ServerVars, m: Message, i: int) -> ServerVars:
        """Counting a vote: ``votesGranted := votesGranted \\cup {m.msource}``."""
        return srv._replace(votesGranted=_set_add(srv.votesGranted, m.msource))

    @hook
    def on_request_vote_response(self, srv: ServerVars, m: Message, i: int) -> Reply:
        """The RequestVote response handler (after step-down): a candidate counts a granted vote of its own term."""
        if self.counts_vote(srv, m, i):
            srv = self.count_vote(srv, m, i)
        return srv, None

    def handle_request_vote_response(self, srv: ServerVars, m: Message, s: State) -> Handled:
        """RequestVoteResponse: the hook ``on_request_vote_response`` at ``m.mdest``; no ghost update."""
        return (*self.on_request_vote_response(srv, m, m.mdest), None)

    @hook
    def log_ok_for_append(self, srv: ServerVars, m: Message, i: int = NIL) -> bool:
        """The log contains an entry at prevLogIndex whose term matches prevLogTerm."""
        return m.mprevLogIndex == 0 or (m.mprevLogIndex <= len(srv.log) and srv.log[m.mprevLogIndex - 1] == m.mprevLogTerm)

    @hook
    def merge_entries(self, log: tuple[int, ...], m: Message, i: int = NIL) -> tuple[int, ...]:
        """Delete a conflicting entry and all that follow it, then append what is new; keep agreeing entries."""
        for k, term in enumerate(m.mentries, start=m.mprevLogIndex + 1):
            if k <= len(log) and log[k - 1] != term:
                log = log[: k - 1]
            if k > len(log):
                log = (*log, term)
        return log

    @hook
    def new_commit_index(self, srv: ServerVars, m: Message, i: int = NIL) -> int:
        """commitIndex := min(leaderCommit, index of last new entry), never lowered."""
        return max(srv.commitIndex, min(m.mcommitIndex, m.mprevLogIndex + len(m.mentries)))

    @hook
    def accept_entries(self, srv: ServerVars, m: Message, i: int) -> ServerVars:
        """An accepted AppendEntries request's update: ``merge_entries`` into the log, then ``new_commit_index``."""
        log = self.merge_entries(srv.log, m, i)
        return srv._replace(log=log, commitIndex=self.new_commit_index(srv._replace(log=log), m, i))

    @hook
    def on_append_entries_request(self, srv: ServerVars, m: Message, i: int) -> Reply:
        """The AppendEntries handler (after step-down): a candidate of the term steps down; a follower checks and merges."""
        def fail(srv: ServerVars) -> Message:
            return Message(MType.AppendEntriesResponse, srv.currentTerm, i, m.msource, msuccess=False)

        if self.is_stale_request(srv, m, i):
            return srv, fail(srv)
        if srv.role == Role.Candidate:
            srv = srv._replace(role=Role.Follower, votesGranted=())
        if srv.role == Role.Leader or not self.log_ok_for_append(srv, m, i):
            # A leader never hears of another leader of its own term; if it did, it refuses.
            return srv, fail(srv)
        srv = self.accept_entries(srv, m, i)
        return srv, Message(MType.AppendEntriesResponse, srv.currentTerm, i, m.msource, msuccess=True,
                            mmatchIndex=m.mprevLogIndex + len(m.mentries))

    def handle_append_entries_request(self, srv: ServerVars, m: Message, s: State) -> Handled:
        """AppendEntriesRequest: the hook ``on_append_entries_request`` at ``m.mdest``; no ghost update."""
        return (*self.on_append_entries_request(srv, m, m.mdest), None)

    @hook
    def update_indexes(self, srv: ServerVars, m: Message, i: int) -> ServerVars:
        """A leader's update for a response of its term from j: advance nextIndex[j] and matchIndex[j], or back off.

        On success, ``matchIndex[j]`` and ``nextIndex[j]`` only move forward, so
        a stale or duplicated response changes nothing.  On failure,
        ``nextIndex[j]`` goes down by one, but never to or below
        ``matchIndex[j]``: entries known to match are not sent again.  So a
        leader always has ``nextIndex[j] > matchIndex[j]``.
        """
        j = m.msource
        if m.msuccess:
            return srv._replace(
                nextIndex=_put(srv.nextIndex, j, max(srv.nextIndex[j], m.mmatchIndex + 1)),
                matchIndex=_put(srv.matchIndex, j, max(srv.matchIndex[j], m.mmatchIndex)),
            )
        return srv._replace(nextIndex=_put(srv.nextIndex, j, max(srv.nextIndex[j] - 1, srv.matchIndex[j] + 1)))

    @hook
    def on_append_entries_response(self, srv: ServerVars, m: Message, i: int) -> Reply:
        """The AppendEntries response handler (after step-down): a leader of that term runs ``update_indexes``."""
        if srv.role != Role.Leader or m.mterm != srv.currentTerm:
            return srv, None
        srv = self.update_indexes(srv, m, i)
        # Eager appends: the next RPC to j goes out in this step (only nextIndex[j] may have changed).
        return srv, self.append_request(srv, i, m.msource) if self.eager_appends else None

    def handle_append_entries_response(self, srv: ServerVars, m: Message, s: State) -> Handled:
        """AppendEntriesResponse: the hook ``on_append_entries_response`` at ``m.mdest``; no ghost update."""
        return (*self.on_append_entries_response(srv, m, m.mdest), None)

    # -------------------------------------------------------------- symmetry

    def permute(self, s: State, p: Sequence[int]) -> State:
        """Rename server i to p[i] everywhere: server slots, votes, indexes and messages."""
        inv = [0] * self.n
        for i, pi in enumerate(p):
            inv[pi] = i
        servers = tuple(self._permute_server(s.servers[inv[k]], p, inv) for k in range(self.n))
        msgs = tuple(sorted(m._replace(msource=p[m.msource], mdest=p[m.mdest]) for m in s.messages))
        return State(servers, msgs, s.committed, tuple(sorted((t, p[i]) for t, i in s.elected)))

    def _permute_server(self, v: ServerVars, p: Sequence[int], inv: Sequence[int]) -> ServerVars:
        """One server's variables under :meth:`permute`'s renaming ``p`` (``inv`` its inverse): its vote, votes and
        indexes name the renamed servers."""
        return v._replace(
            votedFor=p[v.votedFor] if v.votedFor != NIL else NIL,
            votesGranted=tuple(sorted(p[k] for k in v.votesGranted)),
            nextIndex=tuple(v.nextIndex[inv[k]] for k in range(self.n)),
            matchIndex=tuple(v.matchIndex[inv[k]] for k in range(self.n)),
        )

    def representative(self, s: State) -> State:
        """The least (in tuple order) of the renamings of ``s`` that list servers in order of :meth:`sym_key`.

        This is an exact orbit canonical form.  ``sym_key`` does not mention
        server names, so renaming ``s`` by q turns its candidate set P(s) into
        {p . q^-1 : p in P(s)}, which yields the same renamed states; the least
        of one set is the least of the other.  Only servers with equal keys are
        permuted among themselves, so usually one renaming is tried, not n!.
        """
        blocks = tie_blocks([self.sym_key(v, i) for i, v in enumerate(s.servers)])
        best: State | None = None
        for choice in itertools.product(*(itertools.permutations(b) for b in blocks)):
            p = [0] * self.n
            for new_pos, old in enumerate(itertools.chain.from_iterable(choice)):
                p[old] = new_pos
            cand = s if p == sorted(p) else self.permute(s, p)  # the identity renaming leaves s as it is
            if best is None or cand < best:
                best = cand
        assert best is not None
        return best

    @staticmethod
    def sym_key(v: ServerVars, i: int) -> tuple[Any, ...]:
        """A summary of server i that does not depend on how servers are named."""
        return (v.currentTerm, v.role, v.votedFor == i, v.votedFor == NIL, len(v.votesGranted), v.log, v.commitIndex)

    # ------------------------------------------------------------ properties

    def _properties(self) -> list[Property[State, Action]]:

        @always("ElectionSafety", "no two leaders share a term")
        def election_safety(s: State) -> bool:
            terms = [v.currentTerm for v in s.servers if v.role == Role.Leader]
            return len(terms) == len(set(terms))

        @action_property("TermMonotonic", "no server's currentTerm ever decreases", group="structure")
        def term_monotonic(s: State, a: Action, t: State) -> bool:
            return all(u.currentTerm >= v.currentTerm for v, u in zip(s.servers, t.servers, strict=True))

        message_term_bound = always("MessageTermBound", "no message in flight carries a term above its sender's currentTerm",
                                    group="structure")(EachMessage(term_within_senders))

        @always("SelfVote", "a candidate or leader has voted for itself in its current term", group="structure")
        def self_vote(s: State) -> bool:
            return all(v.role == Role.Follower or v.votedFor == i for i, v in enumerate(s.servers))

        @always("LeaderQuorumTerm", "a majority of servers are at or above each leader's term", group="structure")
        def leader_quorum_term(s: State) -> bool:
            return all(
                self.quorum(sum(1 for u in s.servers if u.currentTerm >= v.currentTerm))
                for v in s.servers
                if v.role == Role.Leader
            )

        @always("VotesGrantedQuorum", "a leader's recorded votes form a majority, and a candidate's votes include itself",
                group="structure")
        def votes_granted_ok(s: State) -> bool:
            return all(
                (v.role != Role.Leader or self.quorum(len(v.votesGranted)))
                and (v.role == Role.Follower or i in v.votesGranted)
                for i, v in enumerate(s.servers)
            )

        @sometimes("LeaderElected", "some reachable state has a leader (guards against a vacuous pass)")
        def leader_elected(s: State) -> bool:
            return any(v.role == Role.Leader for v in s.servers)

        props: list[Property[State, Action]] = [
            election_safety,
            term_monotonic,
            message_term_bound,
            self_vote,
            leader_quorum_term,
            votes_granted_ok,
            leader_elected,
        ]
        props.extend(self._log_properties())
        props.extend(self._history_properties())
        check_unique_names(props)
        return props

    def _history_properties(self) -> list[Property[State, Action]]:
        """The properties over the ghost ``elected``; only with ``history`` (see HISTORY_PROPERTIES)."""
        if not self.history:
            return []

        @always("ElectionSafetyHistory", "at most one server is ever leader in a term, over the whole history (Figure 3)")
        def election_safety_history(s: State) -> bool:
            terms = [t for t, _ in s.elected]
            return len(terms) == len(set(terms))

        return [election_safety_history]

    def _log_properties(self) -> list[Property[State, Action]]:
        """The replication properties of Figure 3; checked only when ``max_log >= 1``."""
        if self.max_log == 0:
            return []

        @always("LogMatching", "two logs with an entry of the same index and term agree on all entries up to it")
        def log_matching(s: State) -> bool:
            logs = [v.log for v in s.servers]
            for a, b in itertools.combinations(logs, 2):
                for k in range(min(len(a), len(b)), 0, -1):
                    if a[k - 1] == b[k - 1]:
                        if a[:k] != b[:k]:
                            return False
                        break
            return True

        @action_property("LeaderAppendOnly", "a leader never overwrites or deletes entries in its log")
        def leader_append_only(s: State, a: Action, t: State) -> bool:
            return all(
                u.log[: len(v.log)] == v.log
                for v, u in zip(s.servers, t.servers, strict=True)
                if v.role == Role.Leader and u.role == Role.Leader and u.currentTerm == v.currentTerm
            )

        @always("LeaderCompleteness", "an entry committed in term T is in the log of every leader of a term above T")
        def leader_completeness(s: State) -> bool:
            return all(
                len(v.log) >= c.index and v.log[c.index - 1] == c.term
                for v in s.servers
                if v.role == Role.Leader
                for c in s.committed
                if c.commitTerm < v.currentTerm
            )

        @always("StateMachineSafety", "no two servers have different entries at an index at or below both commit indexes")
        def state_machine_safety(s: State) -> bool:
            # Only indexes where both servers hold an entry are compared: a missing entry is not a different one.
            return all(
                a.log[k] == b.log[k]
                for a, b in itertools.combinations(s.servers, 2)
                for k in range(min(a.commitIndex, b.commitIndex, len(a.log), len(b.log)))
            )

        @sometimes("EntryCommitted", "some reachable state has a committed entry (guards against a vacuous pass)")
        def entry_committed(s: State) -> bool:
            return any(v.commitIndex > 0 for v in s.servers)

        return [log_matching, leader_append_only, leader_completeness, state_machine_safety, entry_committed]
