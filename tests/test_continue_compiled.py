"""``check --continue`` on the compiled engine: the readable engine's table, counts and stop point.

With ``keep_going`` the compiled engine notes each property's first violation in
BFS order (checker/compiled.py, ``_commit_keep_going``).  Its rows must be the
readable engine's (verdict and trace length), its counts too (the search stops
where the readable one does once every property is decided, and caps where it
caps), whatever the store, the threads or the batch size, and each violated
property's trace must be the one a compiled search for that property alone finds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checker import console
from checker.bfs import INCOMPLETE, VIOLATED, Explorer, Result
from checker.compiled import CompiledExplorer
from checker.model import Kind, action_property
from checker.trace import replay
from models.raft import Action, Raft, Role, State
from models.raft_pins import RaftPins
from raft_check import cli
from tests.test_continue import steps, table, tweaked

CASES = [("term-not-persisted", (2, 1, 0)), ("no-prev-log-check", (2, 2, 2)), ("half-quorum", (2, 2, 1)), ("no-self-vote", (3, 1, 0))]


def compiled(model: Raft, props: list[Any] | None = None, **kw: Any) -> Result[Any, Any]:
    return CompiledExplorer(RaftPins(model, props), **kw).run()


def counts(r: Result[Any, Any]) -> tuple[str, str | None, int, int, int]:
    return r.status, r.incomplete_reason, r.stats.distinct_states, r.stats.transitions, r.stats.depth


@pytest.mark.parametrize(("name", "bounds"), CASES, ids=[c[0] for c in CASES])
def test_same_table_and_counts_as_the_readable_engine(name: str, bounds: tuple[int, int, int]) -> None:
    model = tweaked(name, bounds)
    want: Result[State, Action] = Explorer(model, keep_going=True).run()
    assert want.status == VIOLATED and len(want.violations) >= 2  # the point: the search went on past the first violation
    runs = {
        "memory": compiled(model, keep_going=True),
        "memory, batch 7, 2 threads": compiled(model, keep_going=True, batch=7, workers=2),
        "compact, batch 5": compiled(model, keep_going=True, store="compact", batch=5),
        "fp, batch 3, 2 threads": compiled(model, keep_going=True, store="fp", batch=3, workers=2),
    }
    first = runs["memory"]
    for label, got in runs.items():
        assert got.keep_going, label
        assert table(got) == table(want), label
        assert counts(got) == counts(want), label
        assert got.stats.action_counts == want.stats.action_counts, label
        assert [v.prop.name for v in got.violations] == [v.prop.name for v in want.violations], label
        assert got.violation is not None and want.violation is not None
        assert got.violation.prop.name == want.violation.prop.name, label  # the first one found
        for v in got.violations:
            replay(model, v.trace, v.prop)
        assert {v.prop.name: steps(v.trace) for v in got.violations} == {v.prop.name: steps(v.trace) for v in first.violations}, label


@pytest.mark.parametrize(("name", "bounds"), CASES, ids=[c[0] for c in CASES])
def test_rows_are_the_single_property_searches(name: str, bounds: tuple[int, int, int]) -> None:
    model = tweaked(name, bounds)
    got = compiled(model, keep_going=True, batch=11)
    by_name = {v.prop.name: v for v in got.violations}
    for p in model.properties():
        if p.kind is Kind.SOMETIMES:
            continue
        alone = compiled(model, [p])
        if p.name in by_name:
            assert alone.violation is not None, p.name
            assert steps(by_name[p.name].trace) == steps(alone.violation.trace), p.name
        else:
            assert alone.violation is None and alone.incomplete_reason is None, p.name


@action_property("NoSecondLeader", "no step leaves two leaders")
def no_second_leader(s: State, a: Action, t: State) -> bool:
    return sum(v.role is Role.Leader for v in t.servers) < 2


DECIDED = {  # term-not-persisted at 2/1/0 with only properties it violates; the one decided last, and its kind
    "invariant last": (("ElectionSafety", "TermMonotonic"), "ElectionSafety"),
    "action property last": (("MessageTermBound", "LeaderQuorumTerm", "NoSecondLeader"), "NoSecondLeader"),
}


@pytest.mark.parametrize("batch", [1, 4, 1 << 14])
@pytest.mark.parametrize("case", list(DECIDED))
def test_stops_once_all_are_decided(case: str, batch: int) -> None:
    """Where the last property is decided the search stops, mid-level: as a search for that property alone stops at its
    first violation (on each engine: where in a level that is depends on the engine's representatives)."""
    names, last_name = DECIDED[case]
    model = tweaked("term-not-persisted", (2, 1, 0))
    props = [p for p in [*model.properties(), no_second_leader] if p.name in names]
    assert len(props) == len(names)
    last = [p for p in props if p.name == last_name]
    want = Explorer(model, props, keep_going=True).run()
    assert want.status == VIOLATED and {v.prop.name for v in want.violations} == set(names)
    assert counts(want) == counts(Explorer(model, last).run())
    everything = Explorer(model, []).run().stats
    assert (want.stats.distinct_states, want.stats.transitions) < (everything.distinct_states, everything.transitions)
    for store in ("memory", "compact", "fp"):
        alone = compiled(model, last, store=store)
        got = compiled(model, props, keep_going=True, batch=batch, store=store)
        assert counts(got) == counts(alone), store
        assert got.stats.action_counts == alone.stats.action_counts, store
        assert table(got) == table(want), store


@pytest.mark.parametrize("cap", [3, 40, 200, 1000])
def test_state_cap_with_continue(cap: int) -> None:
    """Capped: the counts of a capped search with no properties; the rows found before the cap are the full run's."""
    model = tweaked("no-prev-log-check", (2, 2, 2))
    full = {v.prop.name: steps(v.trace) for v in compiled(model, keep_going=True).violations}
    plain = compiled(model, [], max_states=cap)
    assert plain.status == INCOMPLETE
    tables = set()
    for store in ("memory", "fp"):
        for batch in (1, 13):
            got = compiled(model, keep_going=True, max_states=cap, batch=batch, store=store)
            assert counts(got)[1:] == counts(plain)[1:], (cap, store)
            assert got.status == (VIOLATED if got.violations else INCOMPLETE)
            assert {v.prop.name: steps(v.trace) for v in got.violations}.items() <= full.items()
            tables.add(tuple(table(got)))
    assert len(tables) == 1
    readable = Explorer(model, keep_going=True, max_states=cap).run()
    assert readable.stats.distinct_states == plain.stats.distinct_states


def test_no_symmetry_gives_the_same_table() -> None:
    model = tweaked(*CASES[0])
    want = Explorer(model, keep_going=True, symmetry=False).run()
    got = compiled(model, keep_going=True, symmetry=False, batch=9)
    assert table(got) == table(want) and counts(got) == counts(want)


def test_cli_continue_on_the_compiled_engine(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``check --continue --engine compiled`` (no longer refused) prints the readable engine's rows."""
    rows = {}
    for engine in ("readable", "compiled"):
        code = cli.main(["--servers", "2", "--max-term", "1", "--tweak", "term-not-persisted", "--engine", engine, "--json",
                         "--out", str(tmp_path / engine)])
        doc = json.loads(capsys.readouterr().out)
        assert code == console.EXIT_VIOLATION and doc["continue"] is True
        rows[engine] = [(r["property"], r["verdict"], r["trace_length"]) for r in doc["results"]]
        assert all(Path(f).exists() for r in doc["results"] for f in r["files"])
    assert rows["compiled"] == rows["readable"]
    assert sum(v == "VIOLATED" for _, v, _ in rows["compiled"]) == 4
