"""``check --continue``: a verdict for every property, the same table from every engine and store.

Each violated property's row must be what a search for that property alone
reports (breadth-first order does not depend on the properties), its trace
must replay.  That the table does not depend on the engine, the store, the
number of threads or a checkpoint: tests/test_continue_compiled.py and
tests/test_checkpoint_compiled.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from checker import console
from checker.bfs import VIOLATED, Explorer, Result
from checker.model import Kind
from checker.trace import replay
from models import tweaks
from models.raft import Action, Raft, State
from raft_check import cli
from raft_check.verdicts import property_results

# (tweak, bounds): an election-layer tweak that breaks an action property and several invariants, and a log-layer one.
CASES = [("term-not-persisted", (2, 1, 0)), ("no-prev-log-check", (2, 2, 2))]


def tweaked(name: str, bounds: tuple[int, int, int]) -> Raft:
    return tweaks.apply([tweaks.BUILTIN[name]])(*bounds)


def table(r: Result[State, Action]) -> list[tuple[str, str, int | None]]:
    return [(row.name, row.verdict, row.trace_length) for row in property_results(r)]


def steps(trace: Any) -> list[tuple[Any, Any]]:
    return [(s.action, s.state) for s in trace]


def search(model: Raft, **kw: Any) -> Result[State, Action]:
    return Explorer(model, keep_going=True, **kw).run()


@pytest.mark.parametrize(("name", "bounds"), CASES)
def test_rows_are_the_single_property_searches(name: str, bounds: tuple[int, int, int]) -> None:
    model = tweaked(name, bounds)
    got = search(model)
    assert got.status == VIOLATED and got.incomplete_reason is None
    assert len(got.violations) >= 2  # the point: the search went on past the first violation
    by_name = {v.prop.name: v for v in got.violations}
    for p in model.properties():
        if p.kind is Kind.SOMETIMES:
            continue
        # The search for p alone, stopping at its first violation.
        alone = Explorer(model, [p]).run()
        if p.name in by_name:
            assert alone.violation is not None, p.name
            assert steps(by_name[p.name].trace) == steps(alone.violation.trace), p.name
            replay(model, by_name[p.name].trace, p)
        else:
            assert alone.violation is None and alone.incomplete_reason is None, p.name


def test_no_symmetry_gives_the_same_verdicts() -> None:
    model = tweaked(*CASES[0])
    with_sym, without = search(model), search(model, symmetry=False)
    assert table(with_sym) == table(without)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_cli_table_and_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "--servers", "2", "--max-term", "1", "--tweak", "term-not-persisted", "--quiet", "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION
    assert "Search: --continue" in out
    # one row per property: the structural invariants do not hide the safety verdict
    assert re.search(r"^ElectionSafety +always +safety +VIOLATED +12 +\S+ElectionSafety_s2_t1\.txt$", out, re.M)
    assert re.search(r"^TermMonotonic +action +structure +VIOLATED +2 +\S+TermMonotonic_s2_t1\.txt$", out, re.M)
    assert re.search(r"^SelfVote +always +structure +holds *$", out, re.M)
    assert re.search(r"^LeaderElected +sometimes +reachability +satisfied +4 \(witness\)", out, re.M)
    assert out.rstrip().endswith("VIOLATED: ElectionSafety, TermMonotonic, MessageTermBound, LeaderQuorumTerm (4 of 7 properties)")
    # the printed trace is the safety group's
    assert "Violation of invariant ElectionSafety" in out
    written = sorted(p.name for p in (tmp_path / "term-not-persisted").iterdir())
    assert written == sorted(f"{n}_s2_t1.{ext}" for n in ("ElectionSafety", "TermMonotonic", "MessageTermBound", "LeaderQuorumTerm")
                             for ext in ("txt", "itf.json", "html"))
    first = (tmp_path / "term-not-persisted" / "TermMonotonic_s2_t1.txt").read_text().splitlines()[0]
    assert first == "check --servers 2 --max-term 1 --tweak term-not-persisted"


def test_cli_json_results(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "--servers", "2", "--max-term", "2", "--max-log", "2", "--tweak", "no-prev-log-check", "--json",
                    "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION
    doc = json.loads(out)
    assert doc["continue"] is True and doc["verdict"] == "violated"
    rows = {r["property"]: r for r in doc["results"]}
    assert list(rows) == doc["properties"]
    assert (rows["LogMatching"]["verdict"], rows["LogMatching"]["trace_length"]) == ("VIOLATED", 13)
    assert (rows["StateMachineSafety"]["verdict"], rows["StateMachineSafety"]["trace_length"]) == ("VIOLATED", 15)
    assert rows["LeaderCompleteness"]["verdict"] == "holds" and rows["LeaderCompleteness"]["files"] == []
    assert doc["violated_properties"] == ["LogMatching", "StateMachineSafety"]
    assert all(Path(f).exists() for r in doc["results"] for f in r["files"])
    assert len(doc["counterexample_files"]) == 6  # .txt, .itf.json and .html of each violation


def test_stop_at_first_turns_it_off(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "--servers", "2", "--max-term", "1", "--tweak", "term-not-persisted", "--stop-at-first", "--quiet",
                    "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION and "Search: --continue" not in out
    assert out.rstrip().endswith("VIOLATED: TermMonotonic")  # the first violation found, a structural one
    assert len(list(tmp_path.rglob("*.txt"))) == 1


def test_continue_without_tweak_holds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "--servers", "2", "--max-term", "2", "--continue", "--quiet", "--out", str(tmp_path))
    assert code == console.EXIT_HOLDS
    assert re.search(r"^ElectionSafety +always +safety +holds *$", out, re.M)
    assert "HOLDS after a complete search" in out and not list(tmp_path.rglob("*.txt"))


def test_cut_short_search_keeps_its_violations(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "--servers", "2", "--max-term", "1", "--tweak", "term-not-persisted", "--max-states", "300", "--quiet",
                    "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION  # a found violation is never lost, and outranks "incomplete"
    assert re.search(r"^TermMonotonic +action +structure +VIOLATED +2 ", out, re.M)
    assert re.search(r"^SelfVote +always +structure +INCOMPLETE *$", out, re.M)
    assert "the search was cut short (state cap reached" in out


def test_continue_and_stop_at_first_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--continue", "--stop-at-first"]) == console.EXIT_BAD_INPUT
    assert "not allowed with argument" in capsys.readouterr().err

