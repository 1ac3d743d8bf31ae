"""How Raft states and actions look in traces: table cells, one-line stories and ITF JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.raft import NIL, Action, Message, MType, Raft, Role, ServerVars, State, server_name

SHORT = {
    MType.RequestVoteRequest: "RequestVote",
    MType.RequestVoteResponse: "RequestVoteResponse",
    MType.AppendEntriesRequest: "AppendEntries",
    MType.AppendEntriesResponse: "AppendEntriesResponse",
}


REQUESTS = (MType.RequestVoteRequest, MType.AppendEntriesRequest)


def is_folded(model: Raft | None, m: Message) -> bool:
    """``m`` is a folded request (``Raft.fold``).

    Only a model that folds (``Raft.folding``: the log layer, with pruning on)
    has folded messages; in any other, a message of term 0 is a real one (say,
    a vote granted in term 0 under a tweak).  Without a model, the message's
    form alone decides (``Raft.is_folded``).
    """
    return (model is None or model.folding) and Raft.is_folded(m)


def msg_text(m: Message, model: Raft | None = None) -> str:
    """E.g. ``RequestVoteResponse t=3 S2->S1 granted``; a folded request (``Raft.fold``) reads ``RequestVote S1->S2 (folded)``."""
    if is_folded(model, m):
        return f"{SHORT[m.mtype]} {server_name(m.msource)}->{server_name(m.mdest)} (folded)"
    head = f"{SHORT[m.mtype]} t={m.mterm} {server_name(m.msource)}->{server_name(m.mdest)}"
    if m.mtype == MType.RequestVoteRequest:
        return head + (f" last=({m.mlastLogTerm},{m.mlastLogIndex})" if m.mlastLogIndex else "")
    if m.mtype == MType.RequestVoteResponse:
        return head + (" granted" if m.mvoteGranted else " denied")
    if m.mtype == MType.AppendEntriesRequest:
        extra = ""
        if m.mprevLogIndex or m.mentries or m.mcommitIndex:
            extra = f" prev=({m.mprevLogIndex},{m.mprevLogTerm}) entries={list(m.mentries)} commit={m.mcommitIndex}"
        return head + extra
    return head + (f" ok match={m.mmatchIndex}" if m.msuccess else " failed")


def action_text(a: Action | None, model: Raft | None = None) -> str:
    """E.g. ``Timeout(S1)`` or ``HandleRPC(RequestVote t=1 S1->S2)``; pass the model so that folding is judged right."""
    if a is None:
        return "Init"
    if a.name == "HandleRPC":
        return f"HandleRPC({msg_text(a.args[0], model)})"
    return f"{a.name}({', '.join(server_name(x) for x in a.args)})"


def per_peer(xs: tuple[int, ...], me: int | None) -> str:
    """A leader's nextIndex or matchIndex by server name, e.g. ``{S2:1,S3:0}`` (without its own slot when ``me`` is given)."""
    return "{" + ",".join(f"{server_name(j)}:{x}" for j, x in enumerate(xs) if j != me) + "}"


def server_cell(v: ServerVars, with_log: bool, me: int | None = None) -> str:
    """E.g. ``Leader t=2 voted=S1 votes={S1,S2} log=[1, 2] commit=1 match={S2:2,S3:0}`` for server ``me``."""
    voted = "-" if v.votedFor == NIL else server_name(v.votedFor)
    cell = f"{v.role.name} t={v.currentTerm} voted={voted}"
    if v.role != Role.Follower:
        cell += " votes={" + ",".join(server_name(k) for k in v.votesGranted) + "}"
    if with_log:
        cell += f" log={list(v.log)} commit={v.commitIndex}"
        if v.role == Role.Leader:
            cell += f" match={per_peer(v.matchIndex, me)}"
    return cell


def _names(xs: Sequence[int]) -> str:
    return ", ".join(server_name(x) for x in xs)


def _vote(v: ServerVars, i: int) -> str:
    return "itself" if v.votedFor == i else server_name(v.votedFor)


def story(model: Raft, before: State, a: Action, after: State) -> str:
    """One plain-English sentence for a step, for readers learning Raft.

    It tells what changed between ``before`` and ``after``, judged by the
    model as it is (tweaked hooks included), not by the unmodified protocol;
    any change to a server's variables that the sentence does not explain is
    named at its end.
    """
    text, covered = _story(model, before, a, after)
    loose = [f"{server_name(i)}'s {f} becomes {_value(f, getattr(u, f), i)}"
             for i, (v, u) in enumerate(zip(before.servers, after.servers, strict=True))
             for f in ServerVars._fields if getattr(v, f) != getattr(u, f) and (i, f) not in covered]
    return text + (f" (also: {'; '.join(loose)})" if loose else "") + "."


def _value(field: str, x: Any, i: int) -> str:
    if field == "role":
        return str(x.name.lower())
    if field == "votedFor":
        return "-" if x == NIL else server_name(x)
    if field == "votesGranted":
        return "{" + ",".join(server_name(k) for k in x) + "}"
    if field in ("nextIndex", "matchIndex"):
        return per_peer(x, i)
    return str(list(x)) if isinstance(x, tuple) else str(x)


_ALL = frozenset(ServerVars._fields)


def _story(model: Raft, before: State, a: Action, after: State) -> tuple[str, set[tuple[int, str]]]:
    """The sentence (without its full stop) and the (server, variable) pairs whose change it explains."""
    if a.name == "HandleRPC":
        return _handle_story(model, before, a.args[0], after)
    i = a.args[0]
    me = server_name(i)
    v0, v1 = before.servers[i], after.servers[i]
    others = [j for j in model.server_ids if j != i]
    tell = f" and sends AppendEntries to {_names(others)}" if model.eager_appends and others else ""
    covered = {(i, f) for f in _ALL}  # Restart's sentence tells every variable of i

    def cover(*fields: str) -> set[tuple[int, str]]:
        return {(i, f) for f in fields}

    if a.name == "Timeout":
        their = "its vote" if len(others) == 1 else "their votes"
        sent = f" and asks {_names(others)} for {their}" if model.eager_votes and others else ""
        if v1.currentTerm == v0.currentTerm:
            role = f"becomes {v1.role.name.lower()} in its term {v1.currentTerm}"
        elif v0.role == Role.Candidate == v1.role:
            role = f"starts a new election as candidate for term {v1.currentTerm}"
        else:
            role = f"becomes {v1.role.name.lower()} for term {v1.currentTerm}"
        voted = ("votes for itself" if v1.votedFor == i else "does not vote for itself" if v1.votedFor == NIL
                 else f"votes for {server_name(v1.votedFor)}")
        return f"{me} times out, {role}, {voted}{sent}", cover("currentTerm", "role", "votedFor", "votesGranted")
    if a.name == "RequestVote":
        return f"{me} asks {server_name(a.args[1])} for its vote in term {v0.currentTerm}", set()
    if a.name == "AppendEntries":
        return f"{me} (leader of term {v0.currentTerm}) sends AppendEntries to {server_name(a.args[1])}", set()
    if a.name == "BecomeLeader":
        comma = "," if tell else " and"
        said = f"{me} has votes from {{{_names(v0.votesGranted)}}}{comma} becomes leader of term {v1.currentTerm}{tell}"
        return said, cover("role", "nextIndex", "matchIndex")
    if a.name == "ClientRequest":
        return f"{me} appends a client entry of term {v1.log[-1]} at index {len(v1.log)}{tell}", cover("log")
    if a.name == "AdvanceCommitIndex":
        return f"{me} commits up to index {v1.commitIndex}{tell}", cover("commitIndex")
    if a.name == "Restart":
        return _restart_story(model, i, v0, v1), covered
    return action_text(a, model), set()


def _restart_story(model: Raft, i: int, v0: ServerVars, v1: ServerVars) -> str:
    """What a crash actually did: the role it restarts in, and which persisted variables it kept or lost."""
    me = server_name(i)
    if v1.role == Role.Follower:
        role = "restarts as follower"
    elif v1.role == v0.role:
        role = f"restarts and is still {v1.role.name.lower()}"
    else:
        role = f"restarts as {v1.role.name.lower()}"
    if v1.commitIndex != v0.commitIndex:
        role += " with commitIndex 0" if v1.commitIndex == 0 else f" with commitIndex {v1.commitIndex}"
    kept, lost = [], []
    if v1.currentTerm == v0.currentTerm:
        kept.append(f"term {v0.currentTerm}")  # kept items read after "its persisted", lost ones alone
    else:
        lost.append(f"term {v0.currentTerm} (now {v1.currentTerm})")
    if v0.votedFor != NIL or v1.votedFor != NIL:
        if v1.votedFor == v0.votedFor:
            kept.append(f"vote for {_vote(v0, i)}")
        elif v0.votedFor == NIL:
            lost.append(f"having no vote (now it votes for {_vote(v1, i)})")
        else:
            lost.append(f"its vote for {_vote(v0, i)}" + ("" if v1.votedFor == NIL else f" (now for {_vote(v1, i)})"))
    if model.max_log > 0 or v0.log or v1.log:
        if v1.log == v0.log:
            kept.append(f"log {list(v0.log)}")
        else:
            lost.append(f"its log {list(v0.log)} (now {list(v1.log)})")
    said = []
    if kept:
        said.append("keeps its persisted " + _and(kept))
    if lost:
        said.append("LOSES " + _and(lost))
    return f"{me} crashes and {role}; it {' but '.join(said)}"


def _and(xs: Sequence[str]) -> str:
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]


def _handle_story(model: Raft, before: State, m: Message, after: State) -> tuple[str, set[tuple[int, str]]]:
    d = m.mdest
    d0, d1 = before.servers[d], after.servers[d]
    to, frm = server_name(d), server_name(m.msource)
    folded = is_folded(model, m)
    term = "folded, of an old term" if folded else f"term {m.mterm}"
    parts = [f"{to} receives {SHORT[m.mtype]} from {frm} ({term})"]
    covered: set[tuple[int, str]] = set()
    # The server after the step-down rule, before the handler (hooks as the model has them, so tweaks show).
    newer = m.mterm > d0.currentTerm
    mid = model.step_down_on(d0, m, d)
    request = m.mtype in REQUESTS
    stale = request and model.is_stale_request(mid, m, d)
    if newer and mid == d0:  # a tweak that does not step down here
        parts.append(f"sees a newer term ({m.mterm}) but does not step down")
    elif newer or mid != d0:
        parts.append(f"sees a newer term and adopts term {mid.currentTerm}" + _step_down_detail(d0, mid))
        covered |= {(d, "currentTerm"), (d, "votedFor"), (d, "role"), (d, "votesGranted")}
    elif m.mterm < d0.currentTerm:
        parts.append(f"it is stale (own term {d0.currentTerm})" if stale or not request
                     else f"its term is older than its own ({d0.currentTerm}), but it handles it as current")
    # The handler's part of the sentence: "then ..." after a step-down, "and ..." otherwise.
    then = "then" if newer else "and"
    if m.mtype == MType.RequestVoteRequest:
        _, reply, _ = model.handle_request_vote_request(mid, m, before)
        covered.add((d, "votedFor"))
        if reply is not None and reply.mvoteGranted:
            again = ""
            if mid.votedFor == m.msource:
                again = " again"
            elif mid.votedFor != NIL:
                again = f", although it already voted for {_vote(mid, d)} in term {mid.currentTerm}"
            parts.append(f"{then} grants its vote for term {d1.currentTerm}{again}")
        elif stale:
            parts.append(f"{then} refuses its vote")
        elif not model.can_grant_vote(mid, m):
            parts.append(f"{then} refuses its vote (it voted for {_vote(mid, d)} in term {mid.currentTerm})")
        elif not model.log_ok_for_vote(mid, m):
            parts.append(f"{then} refuses its vote ({frm}'s log is less up-to-date than its own)")
        else:
            parts.append(f"{then} refuses its vote")
    elif m.mtype == MType.RequestVoteResponse:
        covered.add((d, "votesGranted"))
        if len(d1.votesGranted) > len(d0.votesGranted):
            anyway = " anyway" if m.mterm != d1.currentTerm else ""
            parts.append(f"{then} counts the vote{anyway} (votes from {len(d1.votesGranted)} of {model.n} servers)")
        else:
            parts.append(f"{then} ignores it")
    elif m.mtype == MType.AppendEntriesRequest:
        _, reply, _ = model.handle_append_entries_request(mid, m, before)
        if d1.role != mid.role:
            of = "that term" if m.mterm == mid.currentTerm else f"term {mid.currentTerm}"
            parts.append(f"and, as a {mid.role.name.lower()} of {of}, accepts the leader and becomes {d1.role.name.lower()}")
            covered |= {(d, "role"), (d, "votesGranted")}
        if d1.log != d0.log:
            parts.append(f"and its log becomes {list(d1.log)}")
        if d1.commitIndex != d0.commitIndex:
            parts.append(f"and commits up to index {d1.commitIndex}")
        covered |= {(d, "log"), (d, "commitIndex")}
        if reply is not None and not stale:
            if reply.msuccess and d1.log == d0.log and d1.commitIndex == d0.commitIndex:
                parts.append(f"{then} replies that its log matches up to index {reply.mmatchIndex}")
            elif not reply.msuccess and mid.role == Role.Leader:
                parts.append(f"{then} refuses it: it leads term {mid.currentTerm} itself")
            elif not reply.msuccess:
                parts.append(f"{then} refuses it: its log has no entry of term {m.mprevLogTerm} at index {m.mprevLogIndex}")
    elif m.mtype == MType.AppendEntriesResponse:
        j = m.msource
        covered |= {(d, "nextIndex"), (d, "matchIndex")}
        if d1.matchIndex != d0.matchIndex:
            parts.append(f"and records that {frm}'s log matches its own up to index {d1.matchIndex[j]}")
        elif d1.nextIndex != d0.nextIndex:
            verb = "sends" if model.eager_appends else "will next send"
            parts.append(f"and {verb} {frm} the entries from index {d1.nextIndex[j]}")
        elif d1 == d0:
            parts.append("and it changes nothing")
    return ", ".join(parts), covered


def _step_down_detail(d0: ServerVars, mid: ServerVars) -> str:
    """What the step-down rule did besides adopting the term: the vote and the role (a tweak may keep either)."""
    what = []
    if d0.votedFor != NIL:
        kept = mid.votedFor != NIL
        what.append(f"keeps its vote for {server_name(mid.votedFor)}" if kept else f"clears its vote for {server_name(d0.votedFor)}")
    if mid.role != d0.role:
        what.append(f"becomes {mid.role.name.lower()}")
    elif mid.role != Role.Follower:
        what.append(f"stays {mid.role.name.lower()}")
    if not what:
        return ""
    return ", " + (" and ".join(what) if len(what) < 3 else ", ".join(what[:-1]) + " and " + what[-1])


def network_change(before: State, after: State, model: Raft | None = None) -> str:
    """The messages new in this step: ``+`` for one sent; a request folded now (``Raft.fold``: from now on it can only
    draw a refusal) reads "RequestVote S1->S2 folded"."""
    new = sorted(set(after.messages) - set(before.messages))
    sent = ["+" + msg_text(m, model) for m in new if not is_folded(model, m)]
    folded = [msg_text(m, model).removesuffix(" (folded)") + " folded" for m in new if is_folded(model, m)]
    return "; ".join(sent + folded)

# --------------------------------------------------------------------- ITF

def _int(x: int) -> dict[str, str]:
    return {"#bigint": str(x)}


def _seq(xs: tuple[int, ...]) -> list[dict[str, str]]:
    return [_int(x) for x in xs]


def _msg_itf(m: Message) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "mtype": m.mtype.name,
        "mterm": _int(m.mterm),
        "msource": server_name(m.msource),
        "mdest": server_name(m.mdest),
    }
    if m.mtype == MType.RequestVoteRequest:
        rec.update(mlastLogTerm=_int(m.mlastLogTerm), mlastLogIndex=_int(m.mlastLogIndex))
    elif m.mtype == MType.RequestVoteResponse:
        rec.update(mvoteGranted=m.mvoteGranted)
    elif m.mtype == MType.AppendEntriesRequest:
        rec.update(mprevLogIndex=_int(m.mprevLogIndex), mprevLogTerm=_int(m.mprevLogTerm), mentries=_seq(m.mentries),
                   mcommitIndex=_int(m.mcommitIndex))
    else:
        rec.update(msuccess=m.msuccess, mmatchIndex=_int(m.mmatchIndex))
    return rec


ITF_VARS = ["currentTerm", "role", "votedFor", "votesGranted", "log", "commitIndex", "nextIndex", "matchIndex", "messages", "committed"]


def itf_state(model: Raft, s: State, index: int, action: Action | None) -> dict[str, Any]:
    """One state of an ITF trace (Apalache's Informal Trace Format)."""
    names = [server_name(i) for i in model.server_ids]

    def per_server(f: Any) -> dict[str, Any]:
        return {"#map": [[names[i], f(v)] for i, v in enumerate(s.servers)]}

    def per_peer(xs: tuple[int, ...]) -> dict[str, Any]:
        return {"#map": [[names[j], _int(x)] for j, x in enumerate(xs)]}

    return {
        "#meta": {"index": index, "action": action_text(action, model)},
        "currentTerm": per_server(lambda v: _int(v.currentTerm)),
        "role": per_server(lambda v: v.role.name),
        "votedFor": per_server(lambda v: "Nil" if v.votedFor == NIL else names[v.votedFor]),
        "votesGranted": per_server(lambda v: {"#set": [names[k] for k in v.votesGranted]}),
        "log": per_server(lambda v: _seq(v.log)),
        "commitIndex": per_server(lambda v: _int(v.commitIndex)),
        "nextIndex": per_server(lambda v: per_peer(v.nextIndex)),
        "matchIndex": per_server(lambda v: per_peer(v.matchIndex)),
        "messages": {"#set": [_msg_itf(m) for m in s.messages]},
        "committed": {"#set": [{"index": _int(c.index), "term": _int(c.term), "commitTerm": _int(c.commitTerm)} for c in s.committed]},
        **({"elected": {"#set": [{"#tup": [_int(t), names[i]]} for t, i in s.elected]}} if model.history else {}),
    }


ITF_PARAMS = ("Server", "MaxTerm", "MaxLog")
"""The constants of spec/Raft.tla, as ITF trace parameters: ADR-015 says they are set in the initial state."""


def itf_params(model: Raft) -> dict[str, Any]:
    """The values of ITF_PARAMS for ``model``, as the initial state of its ITF trace sets them."""
    return {"Server": {"#set": [server_name(i) for i in model.server_ids]},
            "MaxTerm": {"#bigint": str(model.max_term)}, "MaxLog": {"#bigint": str(model.max_log)}}


def itf_vars(model: Raft) -> list[str]:
    """The variables of ``model``'s ITF traces: the ghost ``elected`` only with ``history``."""
    return [*ITF_VARS, "elected"] if model.history else list(ITF_VARS)
