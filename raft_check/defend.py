"""``check defend``: defend every rule of Raft with a counterexample.

Runs the unmodified protocol (which must hold) and then every built-in tweak
of ``models/tweaks.py`` at the bounds the tweak declares, checking the
SAFETY-group properties only (structural invariants such as SelfVote are
consequences of the rules, not the rules' purpose, so they are no part of a
tweak's verdict).  Each counterexample is written to ``<out>/<tweak>/`` as text
and ITF, with its viewer (HTML); the first line of the text file is the
``check`` command that regenerates exactly that file.  A run of every tweak at
its own bounds also writes the gallery ``<out>/index.html``.  Exit 1 if any verdict differs from the
expected one, 0 otherwise, 2 on bad input; ^C or kill stops it after the rows done so far, which are reported
(exit 3, or 1 if one of them differs).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from tabulate import tabulate

from checker import signals
from checker.bfs import HOLDS
from checker.console import EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_VIOLATION, BadInput, _count, _Parser, check_out_dir
from checker.model import Kind
from models import tweaks
from raft_check.cli import _check as check_main
from raft_check.rows import (
    NOT_COMPARED,
    STORES,
    UNMODIFIED,
    UNMODIFIED_BOUNDS,
    Row,
    bounds_text,
    check_argv,
    cut_short,
    expected_at,
    run_captured,
    safety_properties,
    short_bounds,
)
from raft_check.simulate import _seconds, _seed

DESCRIPTION = """\
Check the unmodified protocol and every built-in protocol tweak (see
check --list-tweaks) at the bounds each declares, over the safety properties.
A tweak that removes a rule Raft needs must produce a counterexample; the
table compares each actual verdict with the expected one."""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="check defend", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tweak", action="append", default=[], metavar="NAME",
                   help=f"run only this tweak (repeatable; '{UNMODIFIED}' is the unmodified protocol); default: all")
    p.add_argument("--servers", type=_count(1), default=None, metavar="N",
                   help="run every selected check with N servers instead of its own bound")
    p.add_argument("--max-term", type=_count(0), default=None, metavar="T",
                   help="run every selected check with max-term T instead of its own bound")
    p.add_argument("--tweak-file", action="append", default=[], metavar="PATH",
                   help="add a row per expect(...) / expect_holds(...) that this tweak file declares, run with --continue "
                        "at the bounds it names (repeatable; see docs/tweak-files.md)")
    p.add_argument("--all", action="store_true",
                   help="also run the rows that are not run by default because their search takes long (see check "
                        "--list-tweaks: Figure 8's commit-old-terms, commit-beyond-match); each row reports its wall time")
    p.add_argument("--store", choices=STORES, default=None,
                   help="the visited-state store of every row's search (see check --help); default: the one a tweak "
                        "declares for its search (fp for the two long rows: 323 M states do not fit this machine's memory "
                        "in the memory store), else memory.  A violation found with fp is exact (its trace is replayed); "
                        "a holds is qualified by the fingerprints' collision chance")
    p.add_argument("--out", metavar="DIR", default="counterexamples", help="counterexamples go to DIR/<tweak>/ (default counterexamples/)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (every row, and the outcome) instead of the table")
    sim = p.add_argument_group("simulation (a fast smoke run: raft_check/defend_simulate.py)")
    sim.add_argument("--simulate", action="store_true",
                     help="look for each unsafe tweak's expected violation by simulation (check simulate) instead of a complete "
                          "search, every tweak included; proves nothing for the tweaks that hold")
    sim.add_argument("--time-limit", type=_seconds, default=None, metavar="SECONDS",
                     help="with --simulate, simulate each tweak for at most SECONDS (default 30)")
    sim.add_argument("--seed", type=_seed, default=None, metavar="S", help="with --simulate, the walks' seed (default 0)")
    return p


def run_one(name: str, tweak: tweaks.Tweak | None, bounds: tuple[int, int, int], out: Path, store: str | None = None) -> Row:
    """Run the tweak through the ``check`` command itself, so its recorded command line reproduces the run exactly;
    ``store``: ``--store`` (None: the tweak's declared one)."""
    model = tweaks.apply([tweak] if tweak is not None else [])(*bounds)
    # The safety properties make the verdict; the reachability checks (LeaderElected, ...) only guard
    # "holds" against vacuity: they never stop the search or change its order.
    props = [*safety_properties(model), *(p for p in model.properties() if p.kind is Kind.SOMETIMES)]
    if store is None:
        store = tweak.store if tweak is not None else ""
    argv = check_argv(tweak.name if tweak is not None else None, bounds, props, store)
    data, warnings, seconds = run_captured(check_main, [*argv, "--json", "--quiet", "--out", str(out)])
    if data["violated"]:
        actual = str(data["violated"])
    elif data["unsatisfied"]:
        actual = f"vacuous (never {', '.join(data['unsatisfied'])})"
    else:
        actual = str(data["verdict"])  # "holds" after a complete search
    if tweak is None:
        rule, expected = "(none: the unmodified protocol)", HOLDS
    else:
        rule, expected = tweak.rule, expected_at(tweak, bounds)
    return Row(name, rule, bounds, expected, actual, data["trace_length"], int(data["distinct_states"]), seconds,
               tuple(Path(f) for f in data["counterexample_files"]), warnings, data["incomplete_reason"] == "interrupted")


def table(rows: Sequence[Row]) -> str:
    body = [
        (r.name, r.rule, short_bounds(r.bounds), r.expected if r.compared else NOT_COMPARED,
         r.actual if r.ok else f"{r.actual}  << MISMATCH",
         "" if r.trace_length is None else r.trace_length, f"{r.states:,}", f"{r.seconds:.1f} s")
        for r in rows
    ]
    headers = ["tweak", "rule", "bounds", "expected verdict", "actual verdict", "counterexample length", "distinct states", "time"]
    return tabulate(body, headers=headers, maxcolwidths=[None, 50, 10, None, None, None, None, None], disable_numparse=True)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.simulate and args.tweak_file:
        raise BadInput("--simulate runs the built-in tweaks only; drop --tweak-file, or drop --simulate to run its rows")
    if args.simulate and args.store:
        raise BadInput("--store chooses the complete searches' visited-state store, and --simulate runs none: drop one of them")
    if args.simulate:
        from raft_check import defend_simulate

        return defend_simulate.main(args)
    if args.time_limit is not None or args.seed is not None:
        raise BadInput("--time-limit and --seed need --simulate")
    try:
        chosen = [n for n in dict.fromkeys(args.tweak) if n != UNMODIFIED]
        selected = tweaks.lookup(chosen) if args.tweak else list(tweaks.BUILTIN.values())
    except tweaks.TweakError as e:
        raise BadInput(str(e).replace("valid tweaks: ", f"valid tweaks: {UNMODIFIED}, ")) from None
    out = check_out_dir(args.out)
    from raft_check import defend_files

    user_plan = defend_files.plan(defend_files.load(args.tweak_file), args.servers, args.max_term)
    plan: list[tuple[str, tweaks.Tweak | None, tuple[int, int, int]]] = []
    if not args.tweak or UNMODIFIED in args.tweak:
        plan.append((UNMODIFIED, None, UNMODIFIED_BOUNDS))
    # Not run unless named (or --all): tweaks known only from a replayed execution, and those whose search takes long.
    not_run = [t for t in selected if (not t.searched or t.search_time) and not args.tweak and not args.all]
    plan += [(t.name, t, t.bounds) for t in selected if t not in not_run]
    plan = [(name, t, (args.servers or b[0], b[1] if args.max_term is None else args.max_term, b[2])) for name, t, b in plan]

    rows: list[Row] = []
    out_json = args.json
    jobs: list[tuple[str, tuple[int, int, int], Callable[[], Row]]] = [(name, b, partial(run_one, name, t, b, out, args.store)) for name, t, b in plan]
    jobs += [(t.name, b, partial(defend_files.run_row, path, t, e, b, out, args.store)) for path, t, e, b in user_plan]
    stopped: str | None = None  # the row during which ^C or kill came: that row and the rest give no verdict
    for k, (name, b, job) in enumerate(jobs, start=1):
        if not args.quiet:
            print(f"defend [{k}/{len(jobs)}] {name} at {bounds_text(b)} ...", end="", file=sys.stderr, flush=True)
        said: tuple[str, ...] = ()
        try:
            row = job()
        except KeyboardInterrupt as e:  # outside the row's search (which reports itself as interrupted)
            row, said = None, getattr(e, "lines", ())
        if row is None or row.interrupted:
            stopped = name
            if not args.quiet:
                print(" interrupted", file=sys.stderr, flush=True)
            for line in said if row is None else row.warnings:
                print(f"    {line}", file=sys.stderr, flush=True)
            break
        rows.append(row)
        if not args.quiet:
            length = f", {row.trace_length} steps" if row.trace_length is not None else ""
            mark = "" if row.ok else f"  MISMATCH: expected {row.expected}"
            if not row.compared:
                mark = f"  ({NOT_COMPARED}: no declared verdict at these bounds)"
            print(f" {row.actual}{length}, {row.states:,} states, {row.seconds:.1f} s{mark}", file=sys.stderr, flush=True)
        for line in row.warnings:
            print(f"    {line}", file=sys.stderr, flush=True)
        # The row is reported: from here to the next row's search an interrupt is raised at once, not noted as during
        # a report (checker.signals); one noted during this row's report stops before the next row.
        try:
            signals.unsettle()
        except KeyboardInterrupt:
            if k < len(jobs):
                stopped = jobs[k][0]
                if not args.quiet:
                    print(f"defend: interrupted before {stopped}", file=sys.stderr, flush=True)
            break

    bad = [r.name for r in rows if not r.ok]
    compared = [r for r in rows if r.compared]
    uncompared = [r.name for r in rows if not r.compared]
    not_done = [name for name, _, _ in jobs[len(rows):]] if stopped is not None else []
    if out_json:
        outcome = "failed" if bad else "interrupted" if stopped else "nothing compared" if not compared else "ok"
        code = {"ok": EXIT_HOLDS, "interrupted": EXIT_INCOMPLETE}.get(outcome, EXIT_VIOLATION)  # comparing nothing is vacuous
        print(json.dumps({
            "outcome": outcome, "exit_code": code, "interrupted_during": stopped, "not_done": not_done,
            "rows": [{"tweak": r.name, "rule": r.rule, "servers": r.bounds[0], "max_term": r.bounds[1], "max_log": r.bounds[2],
                      "expected": r.expected if r.compared else None, "actual": r.actual, "compared": r.compared, "ok": r.ok,
                      "trace_length": r.trace_length, "distinct_states": r.states, "seconds": round(r.seconds, 3),
                      "counterexample_files": [str(f) for f in r.files]} for r in rows],
            "mismatches": bad, "not_compared": uncompared,
            "not_run": [{"tweak": t.name, "expected": t.expected, "bounds": list(t.bounds), "searched": t.searched,
                         "search_time": t.search_time or None} for t in not_run],
        }, indent=1))
        return code

    print(table(rows))
    written = [r for r in rows if r.files]
    if written:
        print()
        for r in written:
            print(f"{r.name}: {r.files[0]} and {r.files[1]}" + (f"; viewer {r.files[2]}" if len(r.files) > 2 else ""))
    if not args.tweak and args.servers is None and args.max_term is None and stopped is None:
        # the gallery of every rule at its own bounds
        from raft_check import gallery

        print(f"\nGallery: {gallery.write_index(out, rows, not_run)}")
    print()
    for t in not_run:
        if t.searched:
            print(f"NOT RUN: {t.name} (expected {t.expected} at {bounds_text(t.bounds)}, found by a complete search; the "
                  f"shortest trace is under counterexamples/{t.name}/): the search takes {t.search_time}. "
                  f"Run it alone with --tweak {t.name} --stop-at-first{' --store ' + t.store if t.store else ''}, or every row "
                  "with --all.")
        else:
            print(f"NOT RUN: {t.name} (expected {t.expected} at {bounds_text(t.bounds)}): that verdict comes from a replayed "
                  f"execution; a complete search at those bounds takes hours. Run it alone with --tweak {t.name} --stop-at-first.")
    cut = cut_short(stopped, len(rows), [name for name, _, _ in jobs]) if stopped is not None else ""
    if bad:
        print(f"FAILED: {len(bad)} verdict(s) differ from the expected: {', '.join(bad)}" + (f"; {cut}" if cut else ""))
        return EXIT_VIOLATION
    if cut:
        print(f"INCOMPLETE ({cut}); the verdicts above are as expected")
        return EXIT_INCOMPLETE
    skipped = f" ({len(not_run)} not run, see above)" if not_run else ""
    if not compared:
        print(f"NOTHING COMPARED (vacuous): none of the {len(rows)} verdicts has an expected value at these bounds (each tweak "
              f"declares its verdict at its own bounds; see check --list-tweaks){skipped}")
        return EXIT_VIOLATION  # a defence that compared nothing defended nothing: vacuous, as a check that never witnessed
    if uncompared:
        print(f"OK: {len(compared)} verdict(s) as expected; {len(uncompared)} {NOT_COMPARED} (no declared verdict at these "
              f"bounds: {', '.join(uncompared)}){skipped}")
        return EXIT_HOLDS
    print(f"OK: all {len(rows)} verdicts as expected{skipped}")
    return EXIT_HOLDS
