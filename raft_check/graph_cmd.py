"""``check graph``: write the reachable state graph of a small configuration (DOT or GraphML, through networkx).

Nodes are the states the search stores: one orbit representative per orbit
under server renaming (or every state with ``--no-symmetry``), each with a
short label.  Edges are transitions, one per enabled action of a stored state,
labelled with the action; several actions that lead to the same successor give
parallel edges (a ``MultiDiGraph``).  So the graph has exactly the distinct
states and transitions that ``check`` reports at the same bounds when its
search is complete (``tests/test_graph.py``).  Unlike ``check``, the search
does not stop at a violation: every reachable state is drawn, and the states
that violate a selected invariant (and the edges that violate an action
property) are coloured red, with their shortest paths from the initial state.

With symmetry an edge's action names servers as its source node does; the
target node is the representative of the successor's orbit, which may name
them differently.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import networkx as nx

from checker.bfs import INCOMPLETE, Explorer
from checker.console import EXIT_HOLDS, EXIT_VIOLATION, BadInput, _count, _Parser
from checker.model import Kind, Property
from models import render
from models.raft import NIL, Action, Message, MType, Raft, Role, State, server_name
from raft_check.cli import make_model, select_properties

DEFAULT_LIMIT = 2000
Graph: TypeAlias = "nx.MultiDiGraph[str]"
COUNT_CAP = 200_000  # above the limit the states are counted (compiled engine) up to this many, to say how many there are

DESCRIPTION = """\
Write the reachable state graph of a small Raft configuration: one node per
state (per orbit under server renaming, unless --no-symmetry), one edge per
transition, labelled with its action.  The graph has exactly the distinct
states and transitions that `check` reports at the same bounds.  States that
violate a selected invariant are red, and so are their shortest paths from
the initial state (light red).  Every node also carries depth, initial and
violates, and every edge action and violates, as DOT attributes or GraphML
keys.  With symmetry an edge's action names servers as its source node does."""

EPILOG = """\
examples:
  check graph --servers 2 --max-term 1 -o scene2.dot        scene 2: two servers, one term
  dot -Tsvg scene2.dot -o scene2.svg                         draw it with Graphviz
  check graph --servers 2 --max-term 1 --tweak half-quorum --format graphml -o half.graphml

exit codes: 0 written, no violation; 1 written, some state or transition violates a selected property;
2 bad input, or more states than --max-graph-states (the message says how many)."""

ROLE_LETTER = {Role.Follower: "F", Role.Candidate: "C", Role.Leader: "L"}
SHORT_MSG = {MType.RequestVoteRequest: "RV", MType.RequestVoteResponse: "RVR",
             MType.AppendEntriesRequest: "AE", MType.AppendEntriesResponse: "AER"}
VIOLATING = {"style": "filled", "fillcolor": "#f4a3a3", "color": "#b30000"}
ON_PATH = {"style": "filled", "fillcolor": "#fde0dd", "color": "#b30000"}
PATH_EDGE = {"color": "#b30000", "penwidth": 2.0}


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="check graph", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("bounds")
    g.add_argument("--servers", type=_count(1), default=3, metavar="N", help="number of servers S1..SN (default 3)")
    g.add_argument("--max-term", type=_count(0), default=4, metavar="T", help="Timeout is enabled only while currentTerm < T (default 4)")
    g.add_argument("--max-log", type=_count(0), default=0, metavar="L",
                   help="ClientRequest is enabled only while a leader's log has fewer than L entries; 0 (default) is the election layer")
    m = p.add_argument_group("model")
    m.add_argument("--tweak", action="append", default=[], metavar="NAME", help="apply a built-in protocol tweak (repeatable; see check --list-tweaks)")
    m.add_argument("--tweak-file", metavar="PATH", help="apply the overrides in a Python tweak file (see README)")
    m.add_argument("--no-symmetry", action="store_true", help="one node per state, not one per symmetry orbit")
    m.add_argument("--unreduced", action="store_true", help="turn off the model's sound reductions (as check --unreduced)")
    m.add_argument("--invariant", action="append", default=[], metavar="NAME",
                   help="colour the violations of this property only (repeatable; default: every property; see check --list-properties)")
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", metavar="FILE", required=True, help="the file to write")
    o.add_argument("--format", choices=("dot", "graphml"), default=None,
                   help="dot (Graphviz) or graphml; default: from FILE's suffix (.dot or .gv, .graphml)")
    o.add_argument("--max-graph-states", type=_count(1), default=DEFAULT_LIMIT, metavar="K",
                   help=f"refuse to write a graph of more than K states (default {DEFAULT_LIMIT:,}); the refusal says how many there are")
    return p


def output_format(path: str, given: str | None) -> str:
    if given is not None:
        return given
    suffix = Path(path).suffix.lower()
    if suffix in (".dot", ".gv"):
        return "dot"
    if suffix == ".graphml":
        return "graphml"
    raise BadInput(f"-o {path}: cannot tell the format from the suffix {suffix or '(none)'!r}; add --format dot or --format graphml")


class TooLarge(Exception):
    """More reachable states than the graph limit."""


def _short_msg(model: Raft, m: Message) -> str:
    """E.g. ``RV t1 S1>S2``, ``RVR t1 S2>S1 granted``, ``AE S1>S2 folded``."""
    ends = f"{server_name(m.msource)}>{server_name(m.mdest)}"
    if render.is_folded(model, m):
        return f"{SHORT_MSG[m.mtype]} {ends} folded"
    head = f"{SHORT_MSG[m.mtype]} t{m.mterm} {ends}"
    if m.mtype == MType.RequestVoteRequest:
        return head + (f" last=({m.mlastLogTerm},{m.mlastLogIndex})" if model.max_log else "")
    if m.mtype == MType.RequestVoteResponse:
        return head + (" granted" if m.mvoteGranted else " denied")
    if m.mtype == MType.AppendEntriesRequest:
        return head + (f" prev=({m.mprevLogIndex},{m.mprevLogTerm}) e={list(m.mentries)} c={m.mcommitIndex}" if model.max_log else "")
    return head + (f" ok m={m.mmatchIndex}" if m.msuccess else " failed")


def node_label(model: Raft, s: State) -> str:
    """One line per server (role letter, term, vote, votes, log) and one per message in flight."""
    lines = []
    for i, v in enumerate(s.servers):
        line = f"{server_name(i)} {ROLE_LETTER[v.role]} t{v.currentTerm} v={'-' if v.votedFor == NIL else server_name(v.votedFor)}"
        if v.role != Role.Follower:
            line += " {" + ",".join(server_name(k) for k in v.votesGranted) + "}"
        if model.max_log:
            line += f" log={list(v.log)} c={v.commitIndex}"
        lines.append(line)
    lines += [_short_msg(model, m) for m in s.messages]
    return "\n".join(lines)


def edge_label(model: Raft, a: Action) -> str:
    if a.name == "HandleRPC":
        return f"HandleRPC({_short_msg(model, a.args[0])})"
    return render.action_text(a)


def state_graph(model: Raft, props: Sequence[Property[State, Action]], *, symmetry: bool, limit: int) -> Graph:
    """The reachable state graph, explored breadth-first in the order of ``checker/bfs.py``; TooLarge above ``limit``.

    Node ``s<k>`` is the k-th state stored; it carries ``label``, ``depth``, ``initial`` and ``violates`` (the
    invariants it violates, comma-separated).  Each edge carries ``label``, ``action`` and ``violates`` (the action
    properties it violates).  Violations and their shortest paths carry Graphviz colours.
    """
    invariants = [p for p in props if p.kind is Kind.ALWAYS]
    action_props = [p for p in props if p.kind is Kind.ACTION]
    parent: list[tuple[int, int] | None] = []  # (parent node, edge key) of the edge that first reached each node
    depth: list[int] = []
    g: Graph = nx.MultiDiGraph()
    # The search is the readable engine's (on the search driver), with no property to stop at: the graph sees each
    # state as it is stored and each transition after its successor is.
    ex: Explorer[State, Action] = Explorer(model, [], symmetry=symmetry, max_states=limit,
                                           on_state=lambda k: node(k), on_transition=lambda k, a, t, d: edge(k, a, t, d))

    def node(k: int) -> None:
        s, up = ex.states[k], ex.parent[k]
        depth.append(0 if up < 0 else depth[up] + 1)
        parent.append(None if up < 0 else (up, 0))  # a new node has no edge yet: the one that reached it has key 0
        bad = [p.name for p in invariants if not p.check(s)]
        g.add_node(f"s{k}", label=node_label(model, s), depth=depth[k], initial=up < 0, violates=",".join(bad))

    def edge(k: int, a: Action, t: State, dst: int) -> None:
        bad = [p.name for p in action_props if not p.check(ex.states[k], a, t)]
        g.add_edge(f"s{k}", f"s{dst}", label=edge_label(model, a), action=render.action_text(a, model), violates=",".join(bad))

    result = ex.run()
    if result.incomplete_reason == "interrupted":
        raise KeyboardInterrupt
    if result.status == INCOMPLETE:
        raise TooLarge
    _colour(g, parent)
    return g


def _colour(g: Graph, parent: list[tuple[int, int] | None]) -> None:
    """Colour violating states and edges, and the shortest path (the BFS tree path) to each."""
    ends: list[int] = [int(n[1:]) for n, d in g.nodes(data=True) if d["violates"]]
    for u, _, d in g.edges(data=True):
        if d["violates"]:
            d.update(PATH_EDGE)
            ends.append(int(u[1:]))
    for k in ends:
        while True:
            node = g.nodes[f"s{k}"]
            if "fillcolor" in node:
                break  # this path is coloured already
            node.update(VIOLATING if node["violates"] else ON_PATH)
            via = parent[k]
            if via is None:
                break
            g.edges[f"s{via[0]}", f"s{k}", via[1]].update(PATH_EDGE)
            k = via[0]
    # A violating state on another violation's path is still drawn as violating.
    for _, node in g.nodes(data=True):
        if node["violates"]:
            node.update(VIOLATING)


def _dot_quote(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int | float):
        return str(x)
    text = str(x).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\l") + ('\\l"' if "\n" in str(x) else '"')


def write_dot(g: Graph, path: Path, title: str) -> None:
    """Graphviz DOT: multi-line node labels are left-justified (``\\l``); parallel edges stay separate edges."""
    def attrs(d: dict[str, Any]) -> str:
        return ", ".join(f"{k}={_dot_quote(v)}" for k, v in d.items() if v != "")

    lines = ["digraph raft {",
             f"  graph [label={_dot_quote(title)}, labelloc=t, fontname=\"monospace\"];",
             '  node [shape=box, fontname="monospace", fontsize=10];',
             '  edge [fontname="monospace", fontsize=9];']
    lines += [f"  {n} [{attrs({**d, **({'peripheries': 2} if d['initial'] else {})})}];" for n, d in g.nodes(data=True)]
    lines += [f"  {u} -> {v} [{attrs(d)}];" for u, v, d in g.edges(data=True)]
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def count_states(model: Raft, symmetry: bool) -> tuple[str, int | None]:
    """How many states the graph would have (and the number, if counted to the end): counted by the fastest engine
    that runs the model, up to COUNT_CAP states."""
    from checker.compiled import cores
    from raft_check.cli import pick_engine, run_check

    engine, _ = pick_engine(model, "auto")  # compiled, or readable for a model the compiled engine cannot run
    result = run_check(model, [], symmetry=symmetry, max_states=COUNT_CAP, quiet=True, engine=engine, workers=cores())
    if result.incomplete_reason:
        return f"more than {COUNT_CAP:,}", None
    return f"{result.stats.distinct_states:,}", result.stats.distinct_states


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    fmt = output_format(args.output, args.format)
    model = make_model(args)
    props = select_properties(model, args.invariant)
    symmetry = not args.no_symmetry
    out = Path(args.output)
    if out.is_dir() or not out.parent.is_dir():
        raise BadInput(f"-o {args.output}: " + ("is a folder" if out.is_dir() else f"no folder {out.parent}"))
    try:
        g = state_graph(model, props, symmetry=symmetry, limit=args.max_graph_states)
    except TooLarge:
        what = "orbits under server renaming" if symmetry else "states"
        count, exact = count_states(model, symmetry)
        lift = f"--max-graph-states {exact}" if exact else "--max-graph-states N"
        raise BadInput(f"the reachable state graph has {count} {what}, above the limit of {args.max_graph_states:,}: "
                       f"{lift} lifts it (or choose smaller bounds)") from None
    label = "+".join(model.tweaks) if model.tweaks else "raft"
    title = (f"{label}: servers={model.n} max-term={model.max_term} max-log={model.max_log} symmetry={'on' if symmetry else 'off'}: "
             f"{g.number_of_nodes():,} states, {g.number_of_edges():,} transitions")
    g.graph["title"] = title
    try:
        if fmt == "dot":
            write_dot(g, out, title)
        else:
            nx.write_graphml(g, out)
    except OSError as e:
        raise BadInput(f"-o {args.output}: cannot write: {e.strerror}") from None
    violating = {p.name: sum(1 for _, d in g.nodes(data=True) if p.name in d["violates"].split(",")) for p in props}
    bad_edges = sum(1 for _, _, d in g.edges(data=True) if d["violates"])
    print(f"Wrote {out} ({fmt}): {title}")
    found = [f"{n:,} violate {p}" for p, n in violating.items() if n] + ([f"{bad_edges:,} transitions violate an action property"]
                                                                         if bad_edges else [])
    if found:
        print("Coloured red: " + "; ".join(found) + " (light red: their shortest paths from the initial state)")
        return EXIT_VIOLATION
    print(f"No state or transition violates {', '.join(p.name for p in props if p.kind is not Kind.SOMETIMES)}")
    return EXIT_HOLDS
