"""``check graph``: the state graph it writes, read back with networkx, has exactly the counts ``check`` reports."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from checker import console
from raft_check import cli

CONFIGS = [
    ["--servers", "2", "--max-term", "1"],  # scene 2: two servers, one term
    ["--servers", "2", "--max-term", "1", "--no-symmetry"],
    ["--servers", "2", "--max-term", "2"],
    ["--servers", "3", "--max-term", "1"],
    ["--servers", "2", "--max-term", "1", "--max-log", "1"],
    ["--servers", "2", "--max-term", "1", "--unreduced"],
]


def check_json(capsys: pytest.CaptureFixture[str], argv: list[str], tmp_path: Path) -> dict[str, Any]:
    cli.main([*argv, "--json", "--quiet", "--out", str(tmp_path / "cx")])
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    return summary


def read_dot(path: Path) -> Any:
    pytest.importorskip("pydot", reason="reading DOT back needs pydot (the test extra)")
    # pydot's grammar uses pyparsing names that warn as deprecated; the warnings are about that library, not this file.
    with path.open() as f, warnings.catch_warnings():  # an open file: networkx leaves a path it opened itself unclosed
        warnings.simplefilter("ignore")
        return nx.nx_pydot.read_dot(f)


@pytest.mark.parametrize("argv", CONFIGS, ids=[" ".join(c) for c in CONFIGS])
def test_graph_has_the_states_and_transitions_check_counts(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = check_json(capsys, argv, tmp_path)
    assert summary["verdict"] == "holds"  # a complete search: check counted every state and transition
    assert cli.main(["graph", *argv, "-o", str(tmp_path / "g.graphml")]) == console.EXIT_HOLDS
    assert cli.main(["graph", *argv, "-o", str(tmp_path / "g.dot")]) == console.EXIT_HOLDS
    capsys.readouterr()
    for g in (nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True), read_dot(tmp_path / "g.dot")):
        assert g.is_directed() and g.is_multigraph()
        assert g.number_of_nodes() == summary["distinct_states"]
        assert g.number_of_edges() == summary["transitions"]


def test_violations_and_their_shortest_paths_are_coloured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """half-quorum: the nearest state that violates ElectionSafety is as deep as check's shortest trace, and its path
    from the initial state is coloured edge by edge."""
    argv = ["--servers", "2", "--max-term", "1", "--tweak", "half-quorum", "--invariant", "ElectionSafety"]
    summary = check_json(capsys, argv, tmp_path)
    assert cli.main(["graph", *argv, "-o", str(tmp_path / "g.graphml")]) == console.EXIT_VIOLATION
    assert "violate ElectionSafety" in capsys.readouterr().out
    g = nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True)
    bad = [n for n, d in g.nodes(data=True) if d.get("violates") == "ElectionSafety"]
    assert bad and all(g.nodes[n]["fillcolor"] == "#f4a3a3" for n in bad)
    nearest = min(bad, key=lambda n: g.nodes[n]["depth"])
    assert g.nodes[nearest]["depth"] == summary["trace_length"]
    init = next(n for n, d in g.nodes(data=True) if d["initial"])
    assert nx.shortest_path_length(g, init, nearest) == summary["trace_length"]
    red = nx.MultiDiGraph((u, v) for u, v, d in g.edges(data=True) if d.get("color") == "#b30000")
    assert nx.has_path(red, init, nearest)
    for n, d in g.nodes(data=True):  # light red: on a coloured shortest path to a violating state
        if d.get("fillcolor") == "#fde0dd":
            assert not d["violates"] and any(nx.has_path(red, n, b) for b in bad if b in red)


def test_above_the_limit_refuses_with_the_count_and_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.dot"
    code = cli.main(["graph", "--servers", "2", "--max-term", "1", "--max-graph-states", "9", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == console.EXIT_BAD_INPUT and not out.exists()
    assert err.count("\n") == 1 and "has 10 orbits" in err and "--max-graph-states 10 lifts it" in err
    assert cli.main(["graph", "--servers", "2", "--max-term", "1", "--max-graph-states", "10", "-o", str(out)]) == console.EXIT_HOLDS


@pytest.mark.parametrize(("argv", "words"), [
    (["-o", "{tmp}/g.txt"], "--format dot or --format graphml"),
    (["-o", "{tmp}/none/g.dot"], "no folder"),
    (["-o", "{tmp}/g.dot", "--invariant", "Nope"], "unknown property"),
    ([], "-o/--output"),
], ids=["suffix", "folder", "property", "no-output"])
def test_bad_input_is_one_line_exit_2(argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["graph", "--servers", "2", "--max-term", "1", *(a.format(tmp=tmp_path) for a in argv)])
    err = capsys.readouterr().err
    assert code == console.EXIT_BAD_INPUT and err.count("\n") == 1 and words in err, err


def test_a_violating_model_is_drawn_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check stops at the first violation; the graph does not.  Its counts are those of a complete search of the same
    model (checking only LeaderElected, a reachability property, which never stops a search)."""
    argv = ["--servers", "2", "--max-term", "1", "--tweak", "half-quorum"]
    summary = check_json(capsys, [*argv, "--invariant", "LeaderElected"], tmp_path)
    assert summary["verdict"] == "holds"
    assert check_json(capsys, [*argv, "--stop-at-first"], tmp_path)["distinct_states"] < summary["distinct_states"]
    assert cli.main(["graph", *argv, "-o", str(tmp_path / "g.graphml")]) == console.EXIT_VIOLATION
    capsys.readouterr()
    g = nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True)
    assert (g.number_of_nodes(), g.number_of_edges()) == (summary["distinct_states"], summary["transitions"])
