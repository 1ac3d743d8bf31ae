"""``check defend --tweak-file F``: rows for a team's own tweaks in the defence table.

A tweak file declares what it expects (``models.tweaks.expect`` and
``expect_holds``, next to ``override``); each declaration is one row.  The row
runs ``check --tweak-file F`` at the declared bounds with ``--continue``, over
the safety properties (plus the expected one, if it is not a safety property,
and the reachability checks that guard "holds"), and compares:

- ``expect("P", ...)`` is met when P is violated (whatever else is);
- ``expect_holds(...)`` is met when every checked property holds after a
  complete search and no reachability check is vacuous.

A mismatch makes ``check defend`` exit 1, as for the built-in tweaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from checker.bfs import HOLDS
from checker.console import BadInput
from checker.model import Kind
from models import tweaks
from models.tweaks import Expectation
from raft_check.cli import main as check_main
from raft_check.rows import Row, expected_at, run_captured, safety_properties


def load(paths: Sequence[str]) -> list[tuple[str, tweaks.Tweak]]:
    """The tweak files, loaded (a broken or expectation-less file is bad input, exit 2)."""
    out = []
    for path in paths:
        try:
            t = tweaks.load_file(path)
        except tweaks.TweakError as e:
            raise BadInput(str(e)) from None
        if not t.expectations:
            raise BadInput(f"{path}: declares no expected verdict for check defend; add e.g. "
                           "expect('ElectionSafety', servers=2, max_term=2) or expect_holds(servers=3, max_term=2) "
                           "(from models.tweaks)")
        out.append((path, t))
    return out


def argv_for(path: str, e: Expectation, bounds: tuple[int, int, int]) -> list[str]:
    """The ``check`` arguments of a row: the file, the bounds, the properties, --continue."""
    from models.raft import Raft

    model = Raft(1, 0, bounds[2])
    props = [p.name for p in safety_properties(model)]
    if e.violated is not None and e.violated not in props:
        props.append(e.violated)
    props += [p.name for p in model.properties() if p.kind is Kind.SOMETIMES]
    argv = ["--servers", str(bounds[0]), "--max-term", str(bounds[1])]
    if bounds[2]:
        argv += ["--max-log", str(bounds[2])]
    argv += ["--tweak-file", path]
    for name in props:
        argv += ["--invariant", name]
    return [*argv, "--continue"]


class RowFailed(Exception):
    """A tweak file's row could not be run: a failure of the run (exit 4), never a verdict."""


def run_row(path: str, t: tweaks.Tweak, e: Expectation, bounds: tuple[int, int, int], out: Path, store: str | None = None) -> Row:
    """Run one declared expectation of a tweak file (at ``bounds``: the declared ones unless defend overrides them;
    ``store``: defend's --store, None for the default)."""
    data, warnings, seconds = run_captured(
        check_main, [*argv_for(path, e, bounds), *(["--store", store] if store else []), "--json", "--quiet", "--out", str(out)])
    expected = expected_at(dataclasses.replace(t, expected=e.verdict, bounds=e.bounds), bounds)
    if data.get("verdict") == "failed":  # the run itself failed: defend fails too (exit 4), it found no mismatch
        raise RowFailed(f"the row {e.verdict} at {bounds} of {path} failed: {data['error']}")
    if "error" in data:  # e.g. the file's hooks never run at these bounds: no verdict, so never what was expected
        return Row(t.name, f"user tweak file {path}", bounds, expected, f"no verdict: {data['error']}", None, 0, seconds)
    results = {r["property"]: r for r in data["results"]}
    violated = list(data["violated_properties"])
    vacuous = [r["property"] for r in data["results"] if r["verdict"] == "VACUOUS"]
    length = None
    if e.violated is not None and e.violated in violated:
        actual, length = e.violated, results[e.violated]["trace_length"]
    elif violated:
        actual, length = ", ".join(violated), results[violated[0]]["trace_length"]
    elif vacuous:
        actual = f"vacuous (never {', '.join(vacuous)})"
    elif data["incomplete_reason"]:
        actual = f"incomplete ({data['incomplete_reason']})"
    else:
        actual = HOLDS
    files = tuple(Path(f) for name in ([e.violated] if e.violated in violated else violated[:1]) for f in results[name]["files"])
    return Row(t.name, f"user tweak file {path}", bounds, expected, actual, length, int(data["distinct_states"]), seconds, files,
               warnings, data["incomplete_reason"] == "interrupted")


def plan(loaded: Sequence[tuple[str, tweaks.Tweak]], servers: int | None, max_term: int | None
         ) -> list[tuple[str, tweaks.Tweak, Expectation, tuple[int, int, int]]]:
    """One row per declared expectation, at its bounds (or defend's --servers / --max-term)."""
    return [(path, t, e, (servers or e.servers, e.max_term if max_term is None else max_term, e.max_log))
            for path, t in loaded for e in t.expectations]
