"""A verdict for every property (``check --continue``, the default for ``--tweak`` and ``--tweak-file``).

The engines (``checker/bfs.py``, ``checker/compiled.py``) search on past the first
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


def write_all(model: Raft, result: Result[State, Action], out: Path, cmd: str) -> tuple[dict[str, tuple[Path, ...]], dict[str, str]]:
    """Each violated property's shortest counterexample, as text, ITF and viewer (``raft_check.report.write_counterexample``);
    the files written per property, and why a property's files could not be written (its trace is then printed)."""
    from raft_check.report import write_counterexample

    files: dict[str, tuple[Path, ...]] = {}
    errors: dict[str, str] = {}
    for v in result.violations:
        try:
            files[v.prop.name] = write_counterexample(model, dataclasses.replace(result, violation=v), out, cmd)
        except OSError as e:  # the violation stands (exit 1); its trace must not be lost
            errors[v.prop.name] = f"{e.strerror or e}" + (f" ({e.filename})" if e.filename else "")
    return files, errors


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
    """Print the featured trace, write the counterexamples, print the table (or the JSON summary with a result per
    property); the exit code.  A trace is printed before any file is written, and a trace whose files could not be
    written is printed (or put in the JSON) too: a found trace is never lost."""
    import json
    import sys

    from checker.console import stats_table
    from raft_check.report import violation_text

    def text_of(v: Any) -> str:
        return violation_text(model, dataclasses.replace(result, violation=v), cmd)

    shown = featured(result)
    if shown is not None and not as_json:
        print()
        print(text_of(shown).split("\n", 1)[1], flush=True)
        print(f"(the trace above is the shortest of the {shown.prop.group} group's violations; every violated property's "
              "own shortest trace is in the file named in its row below)", flush=True)
    files, errors = write_all(model, result, out, cmd)
    if not as_json:
        for v in result.violations:
            if v.prop.name in errors and v is not shown:
                print()
                print(text_of(v).split("\n", 1)[1], flush=True)
    for name, why in errors.items():
        print(f"check: could not write the counterexample to {name} under {out}: {why}; "
              + ("its trace is in the JSON summary" if as_json else "its trace is printed above"), file=sys.stderr)
    rows = property_results(result, files)
    text, code = overall(result, rows)
    if as_json:
        summary["counterexample_files"] = [str(f) for fs in files.values() for f in fs]
        if errors:  # as without --continue (write_error, counterexample_text: the first), and per property
            lost = [v for v in result.violations if v.prop.name in errors]
            summary.update(write_error=errors[lost[0].prop.name], counterexample_text=text_of(lost[0]), write_errors=errors,
                           counterexample_texts={v.prop.name: text_of(v) for v in lost})
        print(json.dumps({**summary, **json_fields(rows)}, indent=1))
        return code
    for name, fs in files.items():
        print(f"Counterexample written to {fs[0]} and {fs[1]} ({name})"
              + (f"; open {fs[2]} in a browser to step through it" if len(fs) > 2 else ""))
    print()
    print(stats_table(result))
    print()
    print(table(rows))
    print()
    print(text)
    return code
