"""The trace viewer: a Raft trace as the course draws it, in one self-contained HTML file.

``trace_data`` turns a trace (model states and the actions between them) into
plain JSON: per step, each server's variables, the messages in flight, the one
delivered, the ones sent, folded or pruned, the fields that changed and the
step's one-line story (``models/render.py``, the same sentences as the text
trace).  ``page`` pours that JSON into ``viewer.html`` (inline CSS, JS and
SVG, no network), which draws the boxes, arrows, swim lanes and slider.  The
same page, in "explore" mode, is what ``check explore`` serves.

``read_itf`` is the way back: from an ITF file the checker wrote (and nothing
else) it rebuilds the model, the states and the actions, so ``check view``
reproduces the viewer ``check`` wrote.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.model import Kind, Property
from checker.trace import Step
from models import render
from models.raft import NIL, Action, Committed, Message, MType, Raft, Role, ServerVars, State, server_name

TEMPLATE = Path(__file__).with_name("viewer.html")
DATA_MARK = "/*TRACE-DATA*/null"

FOLD_NOTE = (
    "The checker's reductions set some messages aside, and they are hidden unless you ask. "
    "A pruned message is one whose delivery could never change anything again (say, a reply of a term its receiver "
    "has left behind): the model drops it, as if the network lost it. A folded request is one that, whenever it "
    "arrives, can only be refused with the receiver's term: the model keeps one bare copy of it per sender and "
    "receiver, drawn here with term 0. Neither hides a behaviour: every execution that delivers them is matched by "
    "one the checker explores."
)


# ----------------------------------------------------------------- JSON of states

def message_key(m: Message) -> str:
    """A stable identifier of a message's content (the network is a set: equal content, same message)."""
    return ",".join(str(x) for x in (int(m.mtype), m.mterm, m.msource, m.mdest, m.mlastLogTerm, m.mlastLogIndex,
                                       int(m.mvoteGranted), m.mprevLogIndex, m.mprevLogTerm, "/".join(map(str, m.mentries)),
                                       m.mcommitIndex, int(m.msuccess), m.mmatchIndex))


def message_json(m: Message) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "type": render.SHORT[m.mtype], "term": m.mterm, "src": server_name(m.msource), "dst": server_name(m.mdest),
        "folded": Raft.is_folded(m), "text": render.msg_text(m),
    }
    if m.mtype == MType.RequestVoteResponse:
        rec["granted"] = m.mvoteGranted
    elif m.mtype == MType.AppendEntriesResponse:
        rec["success"] = m.msuccess
        rec["match"] = m.mmatchIndex
    elif m.mtype == MType.AppendEntriesRequest:
        rec.update(entries=list(m.mentries), prev=[m.mprevLogIndex, m.mprevLogTerm], commit=m.mcommitIndex)
    else:
        rec["last"] = [m.mlastLogTerm, m.mlastLogIndex]
    return rec


def server_json(model: Raft, v: ServerVars) -> dict[str, Any]:
    peers = model.server_ids
    return {
        "role": v.role.name, "currentTerm": v.currentTerm,
        "votedFor": None if v.votedFor == NIL else server_name(v.votedFor),
        "votesGranted": [server_name(k) for k in v.votesGranted],
        "log": list(v.log), "commitIndex": v.commitIndex,
        "nextIndex": {server_name(j): v.nextIndex[j] for j in peers},
        "matchIndex": {server_name(j): v.matchIndex[j] for j in peers},
    }


# ------------------------------------------------------------------ violations

def violation(model: Raft, prop: Property[State, Action], trace: Sequence[Step[State, Action]]) -> dict[str, Any]:
    """What the last step of ``trace`` breaks, in words, and which servers and log entries are involved."""
    s = trace[-1].state
    before = trace[-2].state if len(trace) >= 2 else s
    servers: list[int] = []
    entries: list[tuple[int, int]] = []  # (server, log index)
    why = ""
    leaders = [i for i, v in enumerate(s.servers) if v.role == Role.Leader]
    names = server_name
    if prop.name == "ElectionSafety":
        for i in leaders:
            same = [j for j in leaders if s.servers[j].currentTerm == s.servers[i].currentTerm]
            if len(same) > 1:
                servers = same
                why = f"{' and '.join(names(j) for j in same)} are all leaders of term {s.servers[i].currentTerm}" \
                    if len(same) > 2 else f"{names(same[0])} and {names(same[1])} are both leaders of term {s.servers[i].currentTerm}"
                break
    elif prop.name == "LeaderCompleteness":
        for i in leaders:
            v = s.servers[i]
            lost = [c for c in s.committed if c.commitTerm < v.currentTerm and not (len(v.log) >= c.index and v.log[c.index - 1] == c.term)]
            if lost:
                c = lost[0]
                holders = [j for j, u in enumerate(s.servers) if len(u.log) >= c.index and u.log[c.index - 1] == c.term]
                servers = [i]  # the leader that lacks it; the committed entry is outlined where it is held
                entries = [(j, c.index) for j in holders] + ([(i, c.index)] if len(v.log) >= c.index else [])
                has = f"has an entry of term {v.log[c.index - 1]} there" if len(v.log) >= c.index else "has no entry there"
                why = (f"the entry at index {c.index} (term {c.term}) was committed in term {c.commitTerm}, but {names(i)}, "
                       f"leader of term {v.currentTerm}, {has}")
                break
    elif prop.name in ("StateMachineSafety", "LogMatching"):
        for i in model.server_ids:
            for j in model.server_ids:
                if j <= i:
                    continue
                a, b = s.servers[i], s.servers[j]
                if prop.name == "StateMachineSafety":
                    bad = [k for k in range(min(a.commitIndex, b.commitIndex, len(a.log), len(b.log))) if a.log[k] != b.log[k]]
                    if bad:
                        k = bad[0] + 1
                        servers, entries = [i, j], [(i, k), (j, k)]
                        why = (f"{names(i)} and {names(j)} have both committed index {k}, with entries of terms "
                               f"{a.log[k - 1]} and {b.log[k - 1]}")
                else:
                    same = [k for k in range(min(len(a.log), len(b.log)), 0, -1) if a.log[k - 1] == b.log[k - 1]]
                    if same and a.log[: same[0]] != b.log[: same[0]]:
                        k = same[0]
                        diff = next(x for x in range(1, k + 1) if a.log[x - 1] != b.log[x - 1])
                        servers, entries = [i, j], [(i, k), (j, k), (i, diff), (j, diff)]
                        why = (f"{names(i)} and {names(j)} both have an entry of term {a.log[k - 1]} at index {k}, "
                               f"but differ at index {diff}")
                if servers:
                    break
            if servers:
                break
    elif prop.name == "LeaderAppendOnly":
        for i, (v, u) in enumerate(zip(before.servers, s.servers, strict=True)):
            if v.role == Role.Leader and u.role == Role.Leader and u.currentTerm == v.currentTerm and u.log[: len(v.log)] != v.log:
                servers = [i]
                why = f"{names(i)}, leader of term {u.currentTerm}, had log {list(v.log)} and now has {list(u.log)}"
    elif prop.name == "TermMonotonic":
        for i, (v, u) in enumerate(zip(before.servers, s.servers, strict=True)):
            if u.currentTerm < v.currentTerm:
                servers = [i]
                why = f"{names(i)}'s currentTerm went down from {v.currentTerm} to {u.currentTerm}"
    elif prop.name == "SelfVote":
        servers = [i for i, v in enumerate(s.servers) if v.role != Role.Follower and v.votedFor != i]
        if servers:
            why = f"{names(servers[0])} is {s.servers[servers[0]].role.name.lower()} but has not voted for itself"
    elif prop.name == "LeaderQuorumTerm":
        servers = [i for i in leaders if not model.quorum(sum(1 for u in s.servers if u.currentTerm >= s.servers[i].currentTerm))]
        if servers:
            why = f"{names(servers[0])} leads term {s.servers[servers[0]].currentTerm}, but no majority of servers has reached that term"
    elif prop.name == "VotesGrantedQuorum":
        servers = [i for i, v in enumerate(s.servers)
                   if (v.role == Role.Leader and not model.quorum(len(v.votesGranted))) or (v.role != Role.Follower and i not in v.votesGranted)]
    elif prop.name == "MessageTermBound":
        servers = sorted({m.msource for m in s.messages if m.mterm > s.servers[m.msource].currentTerm})
        if servers:
            why = f"a message from {names(servers[0])} carries a term above {names(servers[0])}'s currentTerm"
    if not why:
        why = f"the state breaks it ({prop.description})"
    return {
        "name": prop.name, "kind": "action property" if prop.kind is Kind.ACTION else "invariant",
        "description": prop.description, "why": why[0].upper() + why[1:] + ".",
        "servers": sorted({names(i) for i in servers}), "entries": [[names(i), k] for i, k in entries],
    }


def broken(model: Raft, props: Sequence[Property[State, Action]], trace: Sequence[Step[State, Action]]) -> list[Property[State, Action]]:
    """The properties among ``props`` that the last state (or, for action properties, the last step) violates."""
    last = trace[-1]

    def bad(p: Property[State, Action]) -> bool:
        if p.kind is Kind.ALWAYS:
            return not p.check(last.state)
        return p.kind is Kind.ACTION and len(trace) >= 2 and not p.check(trace[-2].state, last.action, last.state)

    return [p for p in props if bad(p)]


# ------------------------------------------------------------------ the trace

def trace_data(model: Raft, trace: Sequence[Step[State, Action]], violated: Sequence[Property[State, Action]],
               *, title: str, command: str) -> dict[str, Any]:
    """The JSON the page draws: servers, per-step states and events, message table, and what the last step breaks."""
    unpruned = copy.copy(model)
    unpruned.prune_msgs = False  # the same step without pruning: what pruning removed is the difference
    msgs: dict[str, dict[str, Any]] = {}

    def key(m: Message) -> str:
        k = message_key(m)
        if k not in msgs:
            msgs[k] = message_json(m)
        return k

    steps: list[dict[str, Any]] = []
    prev: State | None = None
    for st in trace:
        s, a = st.state, st.action
        row: dict[str, Any] = {
            "action": render.action_text(a), "name": "Init" if a is None else a.name,
            "args": [] if a is None else [render.msg_text(x) if isinstance(x, Message) else server_name(x) for x in a.args],
            "servers": [server_json(model, v) for v in s.servers],
            "messages": [key(m) for m in s.messages],
            "committed": [[c.index, c.term, c.commitTerm] for c in s.committed],
            "delivered": None, "sent": [], "folded": [], "pruned": [], "changed": {}, "restart": None,
        }
        if prev is None or a is None:
            row["story"] = (f"Initial state: all {model.n} servers are followers in term 0, with no vote and an empty log; "
                            "no messages are in flight.")
        else:
            row["story"] = render.story(model, prev, a, s)
            if a.name == "HandleRPC":
                row["delivered"] = key(a.args[0])
            if a.name == "Restart":
                row["restart"] = server_name(a.args[0])
            old, new = set(prev.messages), set(s.messages)
            row["sent"] = [key(m) for m in sorted(new - old) if not Raft.is_folded(m)]
            row["folded"] = [key(m) for m in sorted(new - old) if Raft.is_folded(m)]
            full = unpruned.next_state(prev, a)
            gone = (set(full.messages) if full is not None else old) - new
            row["pruned"] = [key(m) for m in sorted(gone) if not (model.max_log > 0 and Raft.fold(m) in new)]
            row["changed"] = {server_name(i): [f for f in ServerVars._fields if getattr(u, f) != getattr(v, f)]
                              for i, (v, u) in enumerate(zip(prev.servers, s.servers, strict=True)) if u != v}
        steps.append(row)
        prev = s
    return {
        "title": title, "command": command, "servers": [server_name(i) for i in model.server_ids],
        "maxLog": model.max_log, "maxTerm": model.max_term, "model": "+".join(model.tweaks) if model.tweaks else "raft",
        "steps": steps, "messages": msgs, "foldNote": FOLD_NOTE,
        "violations": [violation(model, p, trace) for p in violated],
    }


def page(data: dict[str, Any], *, explore: bool = False) -> str:
    """The self-contained HTML page that draws ``data`` (``explore``: the page fetches its data from ``check explore``)."""
    text = TEMPLATE.read_text()
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    text = text.replace(DATA_MARK, "null" if explore else blob).replace("/*EXPLORE*/false", "true" if explore else "false")
    return text.replace("{{TITLE}}", html.escape(data.get("title", "Raft trace")))


def counterexample_html(model: Raft, trace: Sequence[Step[State, Action]], prop: Property[State, Action], command: str) -> str:
    """The viewer ``check`` writes next to a counterexample's text and ITF files."""
    title = f"{prop.name} violated: {'+'.join(model.tweaks) if model.tweaks else 'raft'}, {model.n} servers, max-term {model.max_term}" + (
        f", max-log {model.max_log}" if model.max_log else "")
    return page(trace_data(model, trace, [prop], title=title, command=command))


def write_counterexample_page(model: Raft, trace: Sequence[Step[State, Action]], prop: Property[State, Action], command: str,
                              path: Path) -> list[Path]:
    """Write the viewer of a counterexample; ``[path]``, or ``[]`` with a warning on stderr if it could not be written.

    Called after the text and ITF files are written: a failure here must not turn a found violation into a crash.
    """
    from checker.failure import atomic_write

    try:
        atomic_write(path, counterexample_html(model, trace, prop, command))
    except Exception as e:  # the trace itself is safe in the .txt and .itf.json files
        import sys

        print(f"check: warning: the trace viewer {path} could not be written ({type(e).__name__}: {e}); "
              f"the trace is in the .txt and .itf.json files next to it", file=sys.stderr)
        return []
    return [path]


# ------------------------------------------------------------------ ITF back in

class TraceFileError(ValueError):
    """A file that is not an ITF trace of this model; the message names what is wrong."""


@dataclass
class ItfTrace:
    model: Raft
    command: str
    properties: list[Property[State, Action]]  # the properties the recorded command checks
    violated: Property[State, Action] | None   # the one the file says it is a counterexample to
    trace: list[Step[State, Action]]


def _server_index(name: Any, n: int, where: str) -> int:
    m = re.fullmatch(r"S(\d+)", name) if isinstance(name, str) else None
    if not m or not 1 <= int(m.group(1)) <= n:
        raise TraceFileError(f"{where}: {name!r} is not a server name S1..S{n}")
    return int(m.group(1)) - 1


def _decode_state(values: dict[str, Any], n: int, where: str) -> State:
    def by_server(var: str) -> list[Any]:
        x = values[var]
        if not isinstance(x, dict) or len(x) != n:
            raise TraceFileError(f"{where}: {var} is not a map over the {n} servers")
        out: list[Any] = [None] * n
        for k, v in x.items():
            out[_server_index(k, n, f"{where}, {var}")] = v
        return out

    def num(x: Any, what: str) -> int:
        if isinstance(x, bool) or not isinstance(x, int):
            raise TraceFileError(f"{where}: {what} is not an integer: {x!r}")
        return x

    try:
        cols = {v: by_server(v) for v in ("currentTerm", "role", "votedFor", "votesGranted", "log", "commitIndex", "nextIndex", "matchIndex")}
        servers = []
        for i in range(n):
            role = cols["role"][i]
            if role not in Role.__members__:
                raise TraceFileError(f"{where}: role of {server_name(i)} is {role!r}, not Follower, Candidate or Leader")
            voted = cols["votedFor"][i]
            per_peer = [[num(dict(cols[f][i])[server_name(j)], f) for j in range(n)] for f in ("nextIndex", "matchIndex")]
            servers.append(ServerVars(
                num(cols["currentTerm"][i], "currentTerm"), Role[role],
                NIL if voted == "Nil" else _server_index(voted, n, f"{where}, votedFor"),
                tuple(sorted(_server_index(x, n, f"{where}, votesGranted") for x in cols["votesGranted"][i])),
                tuple(num(e, "a log entry") for e in cols["log"][i]), num(cols["commitIndex"][i], "commitIndex"),
                tuple(per_peer[0]), tuple(per_peer[1])))
        messages = []
        for r in values["messages"]:
            fields = r._asdict()
            mtype = fields.pop("mtype")
            if mtype not in MType.__members__:
                raise TraceFileError(f"{where}: message type {mtype!r} is not one of {', '.join(MType.__members__)}")
            src = _server_index(fields.pop("msource"), n, f"{where}, msource")
            dst = _server_index(fields.pop("mdest"), n, f"{where}, mdest")
            extra: dict[str, Any] = {k: tuple(v) if k == "mentries" else v for k, v in fields.items() if k != "mterm"}
            unknown = set(extra) - set(Message._fields)
            if unknown:
                raise TraceFileError(f"{where}: unknown message field(s) {', '.join(sorted(unknown))}")
            messages.append(Message(MType[mtype], num(fields["mterm"], "mterm"), src, dst, **extra))
        committed = [Committed(num(c.index, "index"), num(c.term, "term"), num(c.commitTerm, "commitTerm")) for c in values["committed"]]
        # GHOST `elected` (only in traces of a model with history, e.g. --invariant ElectionSafetyHistory)
        elected = [(num(t, "an elected term"), _server_index(srv, n, f"{where}, elected")) for t, srv in values.get("elected", ())]
    except (KeyError, TypeError, AttributeError) as e:
        raise TraceFileError(f"{where}: not a state of the Raft model ({type(e).__name__}: {e})") from None
    return State(tuple(servers), tuple(sorted(messages)), tuple(sorted(committed)), tuple(sorted(elected)))


ModelOf = Callable[[str], tuple[Raft, list[Property[State, Action]]]]
"""The model and properties of a recorded ``check ...`` command (the front door parses it: ``raft_check/view.py``);
ValueError if the command is not valid."""


def read_itf(path: Path, model_of: ModelOf) -> ItfTrace:
    """Read a trace the checker wrote (``check`` or ``check explore``) back into the model, its states and actions;
    ``model_of`` rebuilds the model from the command the file records.

    Raises :class:`TraceFileError` with one line naming what is wrong.
    """
    import itf_py  # type: ignore[import-untyped]

    try:
        doc = json.loads(Path(path).read_text())
    except OSError as e:
        raise TraceFileError(f"{path}: cannot read it ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TraceFileError(f"{path}: not JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("states"), list) or not doc["states"]:
        raise TraceFileError(f"{path}: not an ITF trace (no non-empty 'states' list)")
    desc = str(doc.get("#meta", {}).get("description", "")) if isinstance(doc.get("#meta"), dict) else ""
    m = re.search(r"produced by: (check .*)$", desc)
    if not m:
        raise TraceFileError(f"{path}: not a trace of this model: its #meta.description names no 'check' command")
    command = m.group(1)
    if not isinstance(doc.get("vars", []), list):
        raise TraceFileError(f"{path}: 'vars' is not a list of variable names")
    missing = [v for v in render.ITF_VARS if v not in doc.get("vars", [])]
    if missing:
        raise TraceFileError(f"{path}: not a trace of this model: variable(s) {', '.join(missing)} missing from 'vars'")
    try:
        model, props = model_of(command)
    except ValueError as e:
        raise TraceFileError(f"{path}: its recorded command {command!r} is not valid: {e}") from None
    known = render.itf_vars(model)
    unknown = [v for v in doc["vars"] if v not in known]
    if unknown:
        raise TraceFileError(f"{path}: variable(s) {', '.join(map(str, unknown))} in 'vars' are not variables of the model of "
                             f"{command!r} (its variables: {', '.join(known)})")
    named = re.match(r"(?:Shortest counterexample|Counterexample) to (\w+)", desc)
    violated = None
    if named:
        violated = next((p for p in model.properties() if p.name == named.group(1)), None)
        if violated is None:
            raise TraceFileError(f"{path}: names property {named.group(1)!r}, which the model does not have")
    try:
        itf = itf_py.trace_from_json(doc)
    except Exception as e:  # the parser's own complaint about malformed ITF values
        raise TraceFileError(f"{path}: not valid ITF ({type(e).__name__}: {e})") from None
    params = render.itf_params(model)
    for k, raw in enumerate(doc["states"]):
        extra = sorted(str(v) for v in raw if v not in known and v not in params and v != "#meta") if isinstance(raw, dict) else []
        if extra:
            raise TraceFileError(f"{path}: state {k} has field(s) {', '.join(extra)}, which are not variables of the model of "
                                 f"{command!r}")
        wrong = [p for p, val in params.items() if isinstance(raw, dict) and p in raw and raw[p] != val]
        if wrong:  # the constants (ADR-015's params, set in the initial state) must be the recorded command's
            raise TraceFileError(f"{path}: state {k} sets {wrong[0]} to {json.dumps(raw[wrong[0]])}, and the model of "
                                 f"{command!r} has {json.dumps(params[wrong[0]])}")
    states = [_decode_state(st.values, model.n, f"{path}: state {k}") for k, st in enumerate(itf.states)]
    if states[0] not in model.init_states():
        raise TraceFileError(f"{path}: state 0 is not the initial state of the model of {command!r}")
    trace: list[Step[State, Action]] = [Step(None, states[0])]
    for k in range(1, len(states)):
        s, t = states[k - 1], states[k]
        fits = [a for a in model.actions(s) if model.next_state(s, a) == t]
        if not fits:
            raise TraceFileError(f"{path}: step {k} is not a transition of the model of {command!r}")
        said = itf.states[k].meta.get("action") if isinstance(itf.states[k].meta, dict) else None
        trace.append(Step(next((a for a in fits if render.action_text(a) == said), fits[0]), t))
    return ItfTrace(model, command, props, violated, trace)


def html_for_itf(t: ItfTrace) -> str:
    """The viewer of a trace read back from ITF: a counterexample's, as ``check`` wrote it, or any other path."""
    if t.violated is not None:
        return counterexample_html(t.model, t.trace, t.violated, t.command)
    title = f"Trace: {'+'.join(t.model.tweaks) if t.model.tweaks else 'raft'}, {t.model.n} servers, {len(t.trace) - 1} steps"
    return page(trace_data(t.model, t.trace, broken(t.model, t.properties, t.trace), title=title, command=t.command))
