"""How Raft states and actions look in traces: table cells, one-line stories and ITF JSON."""

from __future__ import annotations

from typing import Any

from models.raft import NIL, Action, Message, MType, Raft, Role, ServerVars, State, server_name

SHORT = {
    MType.RequestVoteRequest: "RequestVote",
    MType.RequestVoteResponse: "RequestVoteResponse",
    MType.AppendEntriesRequest: "AppendEntries",
    MType.AppendEntriesResponse: "AppendEntriesResponse",
}


def msg_text(m: Message) -> str:
    """E.g. ``RequestVoteResponse t=3 S2->S1 granted``; a folded request (``Raft.fold``) reads ``RequestVote S1->S2 (folded)``."""
    if Raft.is_folded(m):
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


def action_text(a: Action | None) -> str:
    if a is None:
        return "Init"
    if a.name == "HandleRPC":
        return f"HandleRPC({msg_text(a.args[0])})"
    return f"{a.name}({', '.join(server_name(x) for x in a.args)})"


def server_cell(v: ServerVars, with_log: bool) -> str:
    voted = "-" if v.votedFor == NIL else server_name(v.votedFor)
    cell = f"{v.role.name} t={v.currentTerm} voted={voted}"
    if v.role != Role.Follower:
        cell += " votes={" + ",".join(server_name(k) for k in v.votesGranted) + "}"
    if with_log:
        cell += f" log={list(v.log)} commit={v.commitIndex}"
        if v.role == Role.Leader:
            cell += f" match={list(v.matchIndex)}"
    return cell


def story(model: Raft, before: State, a: Action, after: State) -> str:
    """One plain-English sentence for a step, for readers learning Raft."""
    name = a.name
    if name == "HandleRPC":
        m: Message = a.args[0]
        d0, d1 = before.servers[m.mdest], after.servers[m.mdest]
        to, frm = server_name(m.mdest), server_name(m.msource)
        term = "an old term" if Raft.is_folded(m) else f"term {m.mterm}"
        parts = [f"{to} receives {SHORT[m.mtype]} from {frm} ({term})"]
        # The server after the step-down rule, before the handler (hooks as the model has them, so tweaks show).
        mid = model.step_down_on(d0, m, m.mdest)
        stale = m.mterm < d0.currentTerm
        if m.mterm > d0.currentTerm:
            parts.append(f"sees a newer term and adopts term {mid.currentTerm}" + _step_down_detail(d0, mid))
        elif stale:
            parts.append(f"it is stale (own term {d0.currentTerm})")
        # The handler's part of the sentence: "then ..." after a step-down, "and ..." otherwise.
        then = "then" if m.mterm > d0.currentTerm else "and"
        if m.mtype == MType.RequestVoteRequest:
            _, reply, _ = model.handle_request_vote_request(mid, m, before)
            if reply is not None and reply.mvoteGranted:
                again = ""
                if mid.votedFor not in (NIL, m.msource):
                    whom = "itself" if mid.votedFor == m.mdest else server_name(mid.votedFor)
                    again = f", although it already voted for {whom} in term {mid.currentTerm}"
                parts.append(f"{then} {'still ' if stale else ''}grants its vote for term {mid.currentTerm}{again}")
            else:
                parts.append(f"{then} refuses its vote")
        elif m.mtype == MType.RequestVoteResponse:
            if len(d1.votesGranted) > len(d0.votesGranted):
                anyway = " anyway" if m.mterm != d1.currentTerm else ""
                parts.append(f"{then} counts the vote{anyway} (votes from {len(d1.votesGranted)} of {model.n} servers)")
            else:
                parts.append(f"{then} ignores it")
        elif m.mtype == MType.AppendEntriesRequest:
            if d0.role == Role.Candidate and d1.role == Role.Follower and d1.currentTerm == d0.currentTerm:
                parts.append("and, as a candidate of that term, accepts the leader and becomes follower")
            if d1.log != d0.log:
                parts.append(f"and its log becomes {list(d1.log)}")
            if d1.commitIndex != d0.commitIndex:
                parts.append(f"and commits up to index {d1.commitIndex}")
        elif m.mtype == MType.AppendEntriesResponse:
            j = m.msource
            if d1.matchIndex != d0.matchIndex:
                parts.append(f"and records that {frm}'s log matches its own up to index {d1.matchIndex[j]}")
            elif d1.nextIndex != d0.nextIndex:
                verb = "sends" if model.eager_appends else "will next send"
                parts.append(f"and {verb} {frm} the entries from index {d1.nextIndex[j]}")
            elif d1 == d0:
                parts.append("and it changes nothing")
        return ", ".join(parts) + "."
    i = a.args[0]
    me = server_name(i)
    v0, v1 = before.servers[i], after.servers[i]
    if name == "Timeout":
        peers = [server_name(j) for j in model.server_ids if j != i]
        their = "its vote" if len(peers) == 1 else "their votes"
        sent = f" and asks {', '.join(peers)} for {their}" if model.eager_votes and peers else ""
        voted = "votes for itself" if v1.votedFor == i else "does not vote for itself"
        return f"{me} times out, becomes candidate for term {v1.currentTerm}, {voted}{sent}."
    if name == "RequestVote":
        return f"{me} asks {server_name(a.args[1])} for its vote in term {v0.currentTerm}."
    others = ", ".join(server_name(j) for j in model.server_ids if j != i)
    tell = f" and sends AppendEntries to {others}" if model.eager_appends and others else ""
    if name == "BecomeLeader":
        votes = ", ".join(server_name(k) for k in v0.votesGranted)
        return f"{me} has votes from {{{votes}}}{',' if tell else ' and'} becomes leader of term {v1.currentTerm}{tell}."
    if name == "AppendEntries":
        return f"{me} (leader of term {v0.currentTerm}) sends AppendEntries to {server_name(a.args[1])}."
    if name == "Restart":
        lost = [f"term {v0.currentTerm} (now {v1.currentTerm})"] if v1.currentTerm != v0.currentTerm else []
        if v1.votedFor != v0.votedFor:
            lost.append("its vote for itself" if v0.votedFor == i else f"its vote for {server_name(v0.votedFor)}")
        kept = f"LOSES {' and '.join(lost)}" if lost else f"keeps its persisted term {v1.currentTerm} and vote"
        return f"{me} crashes and restarts as follower; it {kept}."
    if name == "ClientRequest":
        return f"{me} appends a client entry of term {v0.currentTerm} at index {len(v1.log)}{tell}."
    if name == "AdvanceCommitIndex":
        return f"{me} commits up to index {v1.commitIndex}{tell}."
    return f"{action_text(a)}."


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


def network_change(before: State, after: State) -> str:
    """The messages new in this step: ``+`` for one sent; a request folded now (``Raft.fold``: from now on it can only
    draw a refusal) reads "RequestVote S1->S2 folded"."""
    new = sorted(set(after.messages) - set(before.messages))
    sent = ["+" + msg_text(m) for m in new if not Raft.is_folded(m)]
    folded = [msg_text(m).removesuffix(" (folded)") + " folded" for m in new if Raft.is_folded(m)]
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
        "#meta": {"index": index, "action": action_text(action)},
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
    }
