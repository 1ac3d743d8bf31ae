"""A verdict for every property (``check --continue``, the default for ``--tweak`` and ``--tweak-file``).

The engines (``checker/bfs.py``, ``checker/fast.py``) search on past the first
violation until every selected property is decided or the search is complete
(``keep_going``).  Breadth-first order does not depend on the properties, so
each property's first violation is the one a search for that property alone
would report: its trace is a shortest one.  This module turns such a result
into one row per property, writes each violated property's own counterexample
files, and prints the table (or its JSON).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from checker.bfs import INCOMPLETE, VIOLATED, Result
from checker.model import Kind
from models.raft import Action, Raft, State

EXIT_HOLDS, EXIT_VIOLATION, EXIT_INCOMPLETE = 0, 1, 3

HOLDS_TEXT = "holds"
SATISFIED = "satisfied"
VACUOUS = "VACUOUS"
NOT_YET = "not yet satisfied"


@dataclass
class PropertyResult:
    """One row of the table: a property's verdict, its shortest trace's length (or a witness's) and the files."""

    name: str
    kind: str
    group: str
    verdict: str  # "VIOLATED", "holds", "INCOMPLETE", "satisfied", "VACUOUS", "not yet satisfied"
    trace_length: int | None = None
    files: tuple[Path, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"property": self.name, "kind": self.kind, "group": self.group, "verdict": self.verdict,
                "trace_length": self.trace_length, "files": [str(f) for f in self.files]}


def property_results(result: Result[State, Action], files: dict[str, tuple[Path, ...]] | None = None) -> list[PropertyResult]:
    """A row per checked property, in the order they were selected."""
    files = files or {}
    violated = {v.prop.name: v for v in result.violations}
    complete = result.incomplete_reason is None
    rows = []
    for p in result.checked:
        row = PropertyResult(p.name, p.kind.value, p.group, "")
        if p.kind is Kind.SOMETIMES:
            witness = result.witnesses.get(p.name)
            if witness is not None:
                row.verdict, row.trace_length = SATISFIED, len(witness) - 1
            else:
                # The search stops early only once every property is decided, so an unwitnessed one was searched for everywhere.
                row.verdict = VACUOUS if complete else NOT_YET
        elif p.name in violated:
            row.verdict, row.trace_length = VIOLATED.upper(), len(violated[p.name].trace) - 1
            row.files = files.get(p.name, ())
        else:
            row.verdict = HOLDS_TEXT if complete else INCOMPLETE.upper()
        rows.append(row)
    return rows


def write_all(model: Raft, result: Result[State, Action], out: Path, cmd: str) -> dict[str, tuple[Path, ...]]:
    """Each violated property's shortest counterexample, as text and ITF (``checker.cli.write_counterexample``)."""
    from checker.cli import write_counterexample

    return {v.prop.name: write_counterexample(model, dataclasses.replace(result, violation=v), out, cmd) for v in result.violations}


def table(rows: Sequence[PropertyResult]) -> str:
    body = [(r.name, r.kind, r.group, r.verdict,
             "" if r.trace_length is None else (f"{r.trace_length}" if r.kind != "sometimes" else f"{r.trace_length} (witness)"),
             str(r.files[0]) if r.files else "")
            for r in rows]
    return tabulate(body, headers=["property", "kind", "group", "verdict", "shortest trace", "trace file"], disable_numparse=True)


def overall(result: Result[State, Action], rows: Sequence[PropertyResult]) -> tuple[str, int]:
    """The last line and the exit code: 1 if any property is violated (or vacuous), else 3 if incomplete, else 0."""
    bad = [r.name for r in rows if r.verdict == VIOLATED.upper()]
    if bad:
        rest = "" if result.incomplete_reason is None else f"; the search was cut short ({result.incomplete_reason}), so the others are undecided"
        return f"VIOLATED: {', '.join(bad)} ({len(bad)} of {len(rows)} properties{rest})", EXIT_VIOLATION
    if result.incomplete_reason is not None:
        return f"INCOMPLETE ({result.incomplete_reason}): no violation found in the states explored; nothing is proved", EXIT_INCOMPLETE
    vacuous = [r.name for r in rows if r.verdict == VACUOUS]
    if vacuous:
        return f"VACUOUS: never satisfied: {', '.join(vacuous)}", EXIT_VIOLATION
    names = ", ".join(r.name for r in rows if r.kind != "sometimes")
    if result.stats.store == "fp":
        return (f"HOLDS after a complete search: {names} (fingerprint store: the chance that a fingerprint collision "
                f"hid a state is about {result.stats.collision_probability:.1e}; --store compact is exact)"), EXIT_HOLDS
    return f"HOLDS after a complete search: {names}", EXIT_HOLDS


def featured(result: Result[State, Action]) -> Any:
    """The violation whose trace is printed: the shortest of the safety group, else the shortest of all."""
    if not result.violations:
        return None
    safety = [v for v in result.violations if v.prop.group == "safety"] or result.violations
    return min(safety, key=lambda v: len(v.trace))


def json_fields(rows: Sequence[PropertyResult]) -> dict[str, Any]:
    """What ``--json`` adds in --continue mode: a result per property."""
    return {"continue": True, "results": [r.as_json() for r in rows],
            "violated_properties": [r.name for r in rows if r.verdict == VIOLATED.upper()]}



def report(model: Raft, result: Result[State, Action], out: Path, cmd: str, *, as_json: bool, summary: dict[str, Any]) -> int:
    """Write the counterexamples, print the table (or the JSON summary with a result per property); the exit code."""
    import json

    from checker.cli import stats_table, violation_text

    files = write_all(model, result, out, cmd)
    rows = property_results(result, files)
    text, code = overall(result, rows)
    if as_json:
        summary["counterexample_files"] = [str(f) for fs in files.values() for f in fs]
        print(json.dumps({**summary, **json_fields(rows)}, indent=1))
        return code
    shown = featured(result)
    if shown is not None:
        print()
        print(violation_text(model, dataclasses.replace(result, violation=shown), cmd).split("\n", 1)[1])
        print(f"(the trace above is the shortest of the {shown.prop.group} group's violations; every violated property's "
              "own shortest trace is in the file named in its row below)")
    print()
    print(stats_table(result))
    print()
    print(table(rows))
    print()
    print(text)
    return code
