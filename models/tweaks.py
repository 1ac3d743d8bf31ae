"""Protocol tweaks: small overrides of one guard or update of the Raft model.

A tweak replaces ``@hook`` methods of :class:`models.raft.Raft` by name (see
``models.raft.HOOKS`` for the list).  The built-in tweaks live in ``BUILTIN``;
a user's ``--tweak-file`` is a Python file that uses :func:`override`::

    from models.tweaks import override

    @override("can_grant_vote")
    def can_grant_vote(self, srv, m, i):
        return True  # grant every candidate, ignoring votedFor

Every hook receives the server's id ``i`` last; a hook written in its older
form without it still works (:func:`models.raft.adapt_hook`).  A tweak file
keeps each reduction whose argument rests on no hook it overrides
(``models.raft.REDUCTIONS``); ``keep_reductions(name, ...)`` and
``drop_reductions(name, ...)`` say otherwise, and ``raft_check/selfcheck.py``
tests the result at small bounds before the run.
"""

from __future__ import annotations

import difflib
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.raft import HOOKS, NIL, REDUCTIONS, HookError, Message, Raft, Role, ServerVars, adapt_hook


class TweakError(ValueError):
    """A tweak that cannot be applied; the message says why and how to fix it."""


@dataclass(frozen=True)
class Tweak:
    """A named change to the protocol.

    ``rule`` quotes the spec line the tweak removes or changes.  ``expected``
    is the verdict the checker found at ``bounds``: ``"holds"`` or the name of
    the violated safety property.  ``keeps_eager_votes`` and ``keeps_pruning``
    say whether each of the model's reductions remains sound under the tweak
    (their arguments in ``models/raft.py`` name the rules they rest on); when
    False, the tweaked model runs without that reduction.
    """

    name: str
    rule: str
    overrides: dict[str, Callable[..., Any]]
    expected: str = "holds"
    bounds: tuple[int, int, int] = (3, 2, 0)  # servers, max-term, max-log
    keeps_eager_votes: bool = True
    keeps_pruning: bool = True
    note: str = ""
    # False when ``expected`` comes from a replayed execution, not yet from a
    # complete search at ``bounds`` (too large for today's engines); `check
    # defend` then lists the tweak as not run instead of searching for hours.
    searched: bool = True
    # When set, the complete search at ``bounds`` takes this long (e.g. "about 30 minutes"): `check defend` then
    # skips the tweak unless it is named with --tweak, and says so; its shortest counterexample is committed.
    search_time: str = ""
    # The visited-state store that search needs on a machine like this one (2 cores, 24 GiB): `check defend` runs
    # the tweak with ``--store`` this unless told otherwise; empty: the default (memory, about 200 bytes a state).
    store: str = ""
    # A tweak file's declared verdicts (expect, expect_holds): `check defend --tweak-file` compares them.
    expectations: tuple[Expectation, ...] = ()
    # A tweak file's reductions follow from the hooks it overrides (``models.raft.Reduction``); ``kept`` and
    # ``dropped`` are those it declares with keep_reductions(...) and drop_reductions(...).  ``by_rule`` is False
    # for the built-in tweaks, whose keeps_* flags are argued one by one above.
    by_rule: bool = False
    kept: frozenset[str] = frozenset()
    dropped: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.overrides) - set(HOOKS))
        if unknown:
            raise TweakError(f"tweak {self.name!r} overrides unknown name(s) {', '.join(unknown)}; valid names: {', '.join(sorted(HOOKS))}")


BUILTIN: dict[str, Tweak] = {}


def register(t: Tweak) -> Tweak:
    if t.name in BUILTIN:
        raise TweakError(f"duplicate tweak name {t.name!r}")
    BUILTIN[t.name] = t
    return t


def adapt(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` as an override of hook ``name`` (:func:`models.raft.adapt_hook`); TweakError if its arguments do not fit."""
    try:
        return adapt_hook(name, f)
    except HookError as e:
        raise TweakError(str(e)) from None


def apply(tweaks: Sequence[Tweak], base: type[Raft] = Raft) -> type[Raft]:
    """A subclass of ``base`` with every tweak's overrides installed (adapted to the hooks' arguments by :func:`adapt`)."""
    if not tweaks:
        return base
    attrs: dict[str, Any] = {"tweaks": tuple(t.name for t in tweaks)}
    for t in tweaks:
        attrs.update((name, adapt(name, f)) for name, f in t.overrides.items())
    unsound: dict[str, str] = {}
    overridden: dict[str, str] = {}
    declared: dict[str, str] = {}
    for t in tweaks:
        if t.by_rule:
            overridden.update(dict.fromkeys(t.overrides, t.name))
            declared.update(dict.fromkeys(t.kept, t.name))
            unsound.update(dict.fromkeys(t.dropped, f"dropped by drop_reductions() in {t.name}"))
            continue
        off = [*(["eager-votes", "eager-appends"] if not t.keeps_eager_votes else []),
               *(["pruning", "folding"] if not t.keeps_pruning else [])]
        unsound.update((r, f"the tweak {t.name} changes a rule its argument rests on (models/tweaks.py)") for r in off)
    attrs.update(unsound=unsound, overridden=overridden, declared_kept=declared)
    return type("Raft_" + "_".join(t.name.replace("-", "_") for t in tweaks), (base,), attrs)


@dataclass
class _Collector:
    overrides: dict[str, Callable[..., Any]] = field(default_factory=dict)
    keeps_reductions: bool = False  # unused by tweak files now (kept, dropped, keep_all); the built-ins' flags are their own
    expectations: list[Expectation] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    keep_all: bool = False  # keep_reductions() without names


_collecting: list[_Collector] = []


def override(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for tweak files: replace the model's hook ``name`` with the decorated function.

    Misuse fails here, where the file says it: an unknown hook, parameters
    that fit neither form of the hook's call, or a second override of a hook
    the file already overrides.
    """
    if name not in HOOKS:
        raise TweakError(f"override({name!r}): no such hook; valid names: {', '.join(sorted(HOOKS))}")

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        adapt(name, f)  # its parameters must fit the hook's call
        if _collecting:
            col = _collecting[-1]
            if name in col.overrides:
                first = col.overrides[name]
                line = getattr(getattr(first, "__code__", None), "co_firstlineno", "?")
                raise TweakError(f"override({name!r}) a second time (the first is {getattr(first, '__name__', '?')}, "
                                 f"line {line}); a tweak file overrides each hook once: merge the two into one function")
            col.overrides[name] = f
        return f

    return deco


def _reduction_names(call: str, names: Sequence[str]) -> set[str]:
    unknown = [n for n in names if n not in REDUCTIONS]
    if unknown:
        close = difflib.get_close_matches(unknown[0].replace("_", "-").lower(), list(REDUCTIONS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TweakError(f"{call}({', '.join(map(repr, names))}): no reduction {unknown[0]!r}{hint}; "
                         f"the reductions are {', '.join(map(repr, REDUCTIONS))}")
    return set(names)


def keep_reductions(*names: str) -> None:
    """Call in a tweak file to keep the named reductions (all of them but those it drops, if none is named) although
    the file overrides a hook their soundness argument rests on (``models.raft.REDUCTIONS``).

    A reduction whose hooks the file does not override is kept without this.
    The checker tests the claim with a self-check at small bounds before the
    run (``raft_check/selfcheck.py``), which is a guard, not a proof.
    """
    if not names:  # all of them, except any the file drops
        if _collecting:
            _collecting[-1].keep_all = True
        return
    chosen = _reduction_names("keep_reductions", names)
    if _collecting:
        col = _collecting[-1]
        both = sorted(chosen & col.dropped)
        if both:
            raise TweakError(f"keep_reductions({both[0]!r}) after drop_reductions({both[0]!r}): keep or drop it, not both")
        col.kept |= chosen


def drop_reductions(*names: str) -> None:
    """Call in a tweak file to run without the named reductions (at least one), even where the rule would keep them."""
    if not names:
        raise TweakError(f"drop_reductions() names no reduction; name one or more of {', '.join(map(repr, REDUCTIONS))}")
    chosen = _reduction_names("drop_reductions", names)
    if _collecting:
        col = _collecting[-1]
        both = sorted(chosen & col.kept)
        if both:
            raise TweakError(f"drop_reductions({both[0]!r}) after keep_reductions({both[0]!r}): keep or drop it, not both")
        col.dropped |= chosen


@dataclass(frozen=True)
class Expectation:
    """A verdict a tweak file declares: ``violated`` is violated at the bounds, or (None) every safety property holds."""

    violated: str | None
    servers: int
    max_term: int
    max_log: int = 0

    @property
    def bounds(self) -> tuple[int, int, int]:
        return self.servers, self.max_term, self.max_log

    @property
    def verdict(self) -> str:
        """As ``Tweak.expected``: the violated property's name, or "holds"."""
        return self.violated or "holds"


def _check_bounds(call: str, servers: Any, max_term: Any, max_log: Any) -> None:
    for name, v, lo in (("servers", servers, 1), ("max_term", max_term, 0), ("max_log", max_log, 0)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TweakError(f"{call}: {name} must be a whole number, not {v!r}; e.g. servers=3, max_term=2, max_log=1")
        if v < lo:
            raise TweakError(f"{call}: {name}={v} is impossible; it must be at least {lo}")


def expect(prop: str, *, servers: int, max_term: int, max_log: int = 0) -> None:
    """Call in a tweak file to declare that property ``prop`` is violated at these bounds (``check defend --tweak-file``)."""
    from checker.model import Kind

    call = f"expect({prop!r}, servers={servers!r}, max_term={max_term!r}, max_log={max_log!r})"
    _check_bounds(call, servers, max_term, max_log)
    props = {p.name: p for p in Raft(1, 0, max(max_log, 1), history=True).properties()}
    if prop not in props:
        raise TweakError(f"{call}: no property {prop!r}; valid properties: {', '.join(props)} (see check --list-properties)")
    if props[prop].kind is Kind.SOMETIMES:
        raise TweakError(f"{call}: {prop} is a reachability check, which is satisfied or vacuous, never violated; "
                         "expect a safety property, or expect_holds(...) (which also requires it to be satisfied)")
    if max_log == 0 and prop not in {p.name for p in Raft(1, 0, 0, history=True).properties()}:
        raise TweakError(f"{call}: {prop} is a log-replication property, checked only with max_log >= 1; add max_log=1")
    if _collecting:
        _collecting[-1].expectations.append(Expectation(prop, servers, max_term, max_log))


def expect_holds(*, servers: int, max_term: int, max_log: int = 0) -> None:
    """Call in a tweak file to declare that every safety property holds (and none is vacuous) at these bounds."""
    _check_bounds(f"expect_holds(servers={servers!r}, max_term={max_term!r}, max_log={max_log!r})", servers, max_term, max_log)
    if _collecting:
        _collecting[-1].expectations.append(Expectation(None, servers, max_term, max_log))


def load_file(path: str) -> Tweak:
    """Load a user tweak file; errors name the file and line."""
    p = Path(path)
    try:
        source = p.read_text()
    except OSError as e:
        raise TweakError(f"{path}: cannot read tweak file: {e.strerror}") from None
    try:
        code = compile(source, str(p), "exec")
    except SyntaxError as e:
        raise TweakError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    col = _Collector()
    _collecting.append(col)
    try:
        exec(code, {"__name__": f"tweakfile_{p.stem}", "__file__": str(p)})
    except TweakError as e:
        line = _line_in(p, sys.exc_info()[2])
        raise TweakError(f"{path}:{line}: {e}") from None
    except SystemExit as e:  # a tweak file changes the protocol; it does not end the run (with exit 0 and no output)
        line = _line_in(p, sys.exc_info()[2])
        raise TweakError(f"{path}:{line}: the tweak file calls exit (SystemExit({e.code!r})); a tweak file only defines "
                         "@override functions") from None
    except Exception as e:
        line = _line_in(p, sys.exc_info()[2])
        raise TweakError(f"{path}:{line}: {type(e).__name__}: {e}") from None
    finally:
        _collecting.pop()
    if not col.overrides:
        raise TweakError(f"{path}: defines no overrides; decorate a function with @override('<hook>'), hooks: {', '.join(sorted(HOOKS))}")
    checked = {name: _type_checked(name, f, path) for name, f in col.overrides.items()}
    return Tweak(p.stem, f"user tweak file {path}", checked, expected="?", by_rule=True,
                 kept=frozenset((set(REDUCTIONS) if col.keep_all else col.kept) - col.dropped), dropped=frozenset(col.dropped),
                 expectations=tuple(col.expectations))


def _returns(name: str) -> tuple[str, Callable[[Any], bool]]:
    """What hook ``name`` must return (as declared on ``Raft``): a description and a test."""
    import typing

    try:
        declared = typing.get_type_hints(getattr(Raft, name), localns=dict(vars(Raft))).get("return")
    except NameError:  # an annotation this module cannot resolve: no check beyond the hook's own use of the value
        return "what the hook declares", lambda v: True
    if declared is bool:
        return "a bool (True or False)", lambda v: type(v) is bool
    if declared is int:
        return "an int", lambda v: type(v) is int
    if declared is ServerVars:
        return "a ServerVars (e.g. srv._replace(...))", lambda v: isinstance(v, ServerVars) and len(v) == len(ServerVars._fields)
    if declared == tuple[int, ...]:
        return "a tuple of ints (a log)", lambda v: type(v) is tuple and all(type(x) is int for x in v)
    if typing.get_origin(declared) is tuple and typing.get_args(declared)[:1] == (ServerVars,):  # a handler: (server, reply)
        return ("a pair (ServerVars, Message or None)",
                lambda v: type(v) is tuple and len(v) == 2 and isinstance(v[0], ServerVars) and len(v[0]) == len(ServerVars._fields)
                and (v[1] is None or isinstance(v[1], Message)))
    return str(declared), lambda v: True


CALLED: set[str] = set()
"""The hooks of tweak files called in this process (since the caller last cleared it): ``check`` refuses a "holds" of a
tweak file none of whose hooks ever ran, which would be the unmodified protocol's verdict."""


def _type_checked(name: str, f: Callable[..., Any], path: str) -> Callable[..., Any]:
    """``f`` (a tweak file's override of hook ``name``), with its return value checked against the hook's declared type:
    a wrong one (None, an int for a bool, ...) is a TweakError naming the hook and the function's file:line, raised at the
    first call that returns it, instead of being taken silently as true, false or a state."""
    want, ok = _returns(name)
    line = getattr(getattr(f, "__code__", None), "co_firstlineno", "?")

    def hook(*args: Any, **kwargs: Any) -> Any:
        CALLED.add(name)
        v = f(*args, **kwargs)
        if not ok(v):
            raise TweakError(f"{path}:{line}: hook {name} returned {v!r} ({type(v).__name__}); it must return {want}")
        return v

    hook.__name__ = hook.__qualname__ = getattr(f, "__name__", name)
    hook.__wrapped__ = f  # type: ignore[attr-defined]
    return hook


def _line_in(p: Path, tb: Any) -> int | str:
    line: int | str = "?"
    for frame in traceback.extract_tb(tb):
        if frame.filename == str(p) and frame.lineno is not None:
            line = frame.lineno
    return line


def lookup(names: Sequence[str]) -> list[Tweak]:
    out = []
    for n in names:
        if n not in BUILTIN:
            raise TweakError(f"unknown tweak {n!r}; valid tweaks: {', '.join(BUILTIN) or '(none)'} (see --list-tweaks)")
        out.append(BUILTIN[n])
    return out


# --------------------------------------------------------------------------
# The built-in tweaks of the election layer.  Each replaces one hook.  The
# expected verdicts and bounds were found by running the checker (`check
# defend` re-checks them); "holds" means a complete search found no violation
# of the safety properties at those bounds.

def _no_step_down(self: Raft, srv: ServerVars, term: int) -> ServerVars:
    """On a newer term: adopt it and clear the vote, but keep the role (and a candidate's votes)."""
    return srv._replace(currentTerm=term, votedFor=NIL)


def _keep_vote(self: Raft, srv: ServerVars, term: int) -> ServerVars:
    """On a newer term: adopt it and step down, but keep votedFor from the old term."""
    return srv._replace(currentTerm=term, role=Role.Follower, votesGranted=())


def _vote_not_persisted(self: Raft, srv: ServerVars) -> ServerVars:
    """Restart also forgets votedFor."""
    return Raft.restart_server(self, srv)._replace(votedFor=NIL)


def _term_not_persisted(self: Raft, srv: ServerVars) -> ServerVars:
    """Restart resets currentTerm to 0 and, with it, votedFor."""
    return Raft.restart_server(self, srv)._replace(currentTerm=0, votedFor=NIL)


def _accept_stale(self: Raft, srv: ServerVars, m: Message) -> bool:
    """No request is stale: a lower-term request is processed as if current."""
    return False


def _count_any_term(self: Raft, srv: ServerVars, m: Message) -> bool:
    """A candidate counts a granted vote whatever its term."""
    return srv.role == Role.Candidate and m.mvoteGranted


def _vote_twice(self: Raft, srv: ServerVars, m: Message) -> bool:
    """Grant any candidate of the current term, ignoring votedFor."""
    return True


def _half_quorum(self: Raft, srv: ServerVars) -> bool:
    """BecomeLeader with votes from half the servers (N/2) instead of a majority."""
    return 2 * len(srv.votesGranted) >= self.n


def _no_self_vote(self: Raft, srv: ServerVars, i: int) -> ServerVars:
    """Timeout starts an election without voting for itself."""
    return srv._replace(currentTerm=srv.currentTerm + 1, role=Role.Candidate, votedFor=NIL, votesGranted=())


for _t in [
    Tweak("no-step-down", 'step_down: "on seeing term T\' > currentTerm, ... become follower" (the universal step-down rule)',
          {"step_down": _no_step_down}, expected="ElectionSafety", bounds=(2, 2, 0), keeps_eager_votes=False, keeps_pruning=False,
          note="a candidate can carry its votes into a newer term; a leader stays leader in a term it never won. "
               "Eager votes and pruning rest on a candidate's term being fixed for its candidacy: both off"),
    Tweak("keep-vote-on-new-term", 'step_down: "adopt T\', clear votedFor" -- votedFor is kept', {"step_down": _keep_vote},
          expected="holds", bounds=(2, 3, 0), keeps_pruning=False,
          note="safe but not live: a server may vote only for the first candidate it ever voted for. Pruning assumes a "
               "vote cast in the current term (notify_only), but the kept votedFor is from an older term: pruning off, "
               "which makes 3 servers too slow"),
    Tweak("vote-not-persisted", 'restart_server: "currentTerm, votedFor and log survive" -- votedFor is lost',
          {"restart_server": _vote_not_persisted}, expected="ElectionSafety", bounds=(3, 1, 0), keeps_pruning=False,
          note="a voter restarts and votes again in the same term; with 2 servers it holds (each leader needs both votes)"),
    Tweak("term-not-persisted", 'restart_server: "currentTerm, votedFor and log survive" -- currentTerm and votedFor are lost',
          {"restart_server": _term_not_persisted}, expected="ElectionSafety", bounds=(2, 1, 0), keeps_pruning=False,
          note="a leader's voter restarts into term 0 and votes again in the leader's term; terms decrease, so pruning is off"),
    Tweak("accept-stale-requests", 'is_stale_request: "a request with m.mterm < currentTerm is answered with currentTerm and failure"',
          {"is_stale_request": _accept_stale}, expected="holds", bounds=(2, 2, 0), keeps_pruning=False,
          note="in the election layer a stale request does no harm: a vote is still recorded in votedFor and answered "
               "in the voter's term, so it counts once, for that term. Pruning assumes stale requests change nothing: off"),
    Tweak("count-any-term-votes", 'counts_vote: "a vote response counts only at a candidate, only in the term it was sent in"',
          {"counts_vote": _count_any_term}, expected="ElectionSafety", bounds=(2, 3, 0), keeps_pruning=False,
          note="a vote granted in an older term counts in a newer one; needs 3 terms with 2 servers (2 with 3 servers)"),
    Tweak("vote-twice", 'can_grant_vote: "grant only if not voted for another candidate in this term"',
          {"can_grant_vote": _vote_twice}, expected="ElectionSafety", bounds=(2, 1, 0), keeps_pruning=False,
          note="two candidates vote for each other; pruning assumes a vote is fixed once cast: off"),
    Tweak("half-quorum", 'has_quorum: "votes from a majority" -- N/2 votes suffice', {"has_quorum": _half_quorum},
          expected="ElectionSafety", bounds=(2, 1, 0),
          note="with an odd N, N/2 votes are still a majority: it only bites with an even N; with N=2 a self-vote suffices"),
    Tweak("no-self-vote", 'start_election: "votes for itself"', {"start_election": _no_self_vote}, expected="holds", bounds=(3, 2, 0),
          note="SelfVote and VotesGrantedQuorum fail at once, but two leaders still need 2 votes each from 3 voters"),
]:
    register(_t)


# --------------------------------------------------------------------------
# The built-in tweaks of the log layer.  Each replaces one hook; verdicts and
# bounds were found by running the checker (see tests/test_log.py).

def _commit_old_terms(self: Raft, srv: ServerVars, i: int, index: int) -> bool:
    """A leader commits any entry stored on a majority, whatever its term (Figure 8 of the paper)."""
    return self.quorum(1 + sum(1 for j in self.server_ids if j != i and srv.matchIndex[j] >= index))


def _no_log_check(self: Raft, srv: ServerVars, m: Message) -> bool:
    """Grant a vote whatever the candidate's log."""
    return True


def _no_prev_log_check(self: Raft, srv: ServerVars, m: Message) -> bool:
    """Accept every AppendEntries request of the current term, whatever is at prevLogIndex.

    merge_entries then appends an entry beyond the end of a short log at the end, so it lands at a lower index.
    """
    return True


def _truncate_always(self: Raft, log: tuple[int, ...], m: Message) -> tuple[int, ...]:
    """Replace everything after prevLogIndex by the request's entries, even entries that agree."""
    return (*log[: m.mprevLogIndex], *m.mentries)


def _commit_beyond_match(self: Raft, srv: ServerVars, m: Message) -> int:
    """commitIndex := leaderCommit, without the min with the index of the last new entry (still never lowered)."""
    return max(srv.commitIndex, m.mcommitIndex)


for _t in [
    # Reductions: which index AdvanceCommitIndex picks is in no argument (they rest on terms, candidacy, request content
    # as a function of the sender's variables, the response handlers; eager appends send whatever commitIndex results).
    Tweak("commit-old-terms", 'can_commit: "... and log[N].term = currentTerm" -- the term condition is dropped (Figure 8)',
          {"can_commit": _commit_old_terms}, expected="LeaderCompleteness", bounds=(3, 4, 1),
          search_time="about 15 minutes on both cores and 13 GiB with --store fp (323 M orbits to depth 25; 49 minutes and 10 GiB "
                      "with --store compact); run it with --checkpoint DIR",
          store="fp",
          note="the paper's Figure 8: the shortest trace has 25 steps (counterexamples/commit-old-terms/"
               "LeaderCompleteness_s3_t4_l1.txt; a hand-written Figure 8 run is replayed in tests/test_log.py); holds at (2, 2, 1) and (2, 1, 2)"),
    # Reductions: the vote request's content and the votedFor rule are unchanged; only whom a vote goes to changes.
    Tweak("no-log-check", 'log_ok_for_vote: "the candidate\'s log is at least as up-to-date" -- the election restriction is dropped',
          {"log_ok_for_vote": _no_log_check}, expected="LeaderCompleteness", bounds=(3, 2, 1),
          note="holds with 2 servers (a committed entry is on both) and with one term"),
    # Reductions: only non-stale requests are affected; stale ones (the only notify-only AppendEntries) and responses are not.
    Tweak("no-prev-log-check", 'log_ok_for_append: "an entry at prevLogIndex whose term matches prevLogTerm" -- not checked',
          {"log_ok_for_append": _no_prev_log_check}, expected="LogMatching", bounds=(2, 2, 2),
          note="needs two entries: holds at (2, 2, 1) and (2, 1, 2)"),
    # Reductions: merging happens only for non-stale requests at a follower; a candidate's log still never changes.
    Tweak("truncate-always", 'merge_entries: "delete a conflicting entry and all that follow it" -- delete all after prevLogIndex',
          {"merge_entries": _truncate_always}, expected="LeaderCompleteness", bounds=(3, 2, 1),
          note="a stale empty heartbeat erases a committed entry; holds at (2, 2, 1) and (2, 1, 2)"),
    # Reductions: the follower's commitIndex is in no argument.
    Tweak("commit-beyond-match", 'new_commit_index: "min(leaderCommit, index of last new entry)" -- the min is dropped',
          {"new_commit_index": _commit_beyond_match}, expected="StateMachineSafety", bounds=(3, 3, 2),
          search_time="about 2 minutes on both cores with --store fp (35.4 M orbits to depth 24)",
          store="fp",
          note="needs a stale entry after the match point and three terms: holds at (2, 2, 1), (2, 1, 2), (2, 2, 2) and "
               "(3, 2, 2); the shortest trace at (3, 3, 2) has 24 steps (counterexamples/commit-beyond-match/)"),
]:
    register(_t)
