"""``check defend --simulate``: every built-in tweak by simulation, as a fast smoke run.

Each unsafe tweak (one whose expected verdict is a violated property) is
simulated at the bounds it declares with ``check simulate``, looking for its
expected property only, for at most ``--time-limit`` seconds: it passes when a
walk violates that property (the shrunk trace is written as every
counterexample is).  This includes the tweaks whose complete search takes
hours, which plain ``check defend`` does not run.  The unmodified protocol
and the tweaks expected to hold are simulated over every safety property for
the same time: they pass when no walk finds a violation, which proves nothing
(the table says "no violation (nothing is proved)", never "holds").

Exit 1 if an unsafe tweak's violation was not found in its time, or a tweak
expected to hold was refuted; 0 otherwise; 3 if ^C or kill stopped it before
every row ran (the rows done are reported; 1 if one of them is not as expected).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from checker.bfs import HOLDS
from checker.console import EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_VIOLATION, BadInput, check_out_dir
from models import tweaks
from raft_check.rows import UNMODIFIED, UNMODIFIED_BOUNDS, bounds_text, check_argv, cut_short, safety_properties, short_bounds
from raft_check.simulate import main as simulate_main

DEFAULT_TIME_LIMIT = 30.0
DEFAULT_SEED = 0
NOTHING_FOUND = "no violation"


@dataclass
class SimRow:
    name: str
    bounds: tuple[int, int, int]
    expected: str
    actual: str
    found_length: int | None
    shrunk_length: int | None
    walks: int
    seconds: float
    files: tuple[Path, ...] = ()
    interrupted: bool = False  # ^C or kill stopped the row's simulation: defend --simulate stops there

    @property
    def ok(self) -> bool:
        if self.expected == HOLDS:
            return self.actual == NOTHING_FOUND
        return self.actual == self.expected


def run_one(name: str, tweak: tweaks.Tweak | None, bounds: tuple[int, int, int], out: Path, time_limit: float, seed: int,
            workers: int | None) -> SimRow:
    """Simulate one tweak through the ``check simulate`` command itself, so its recorded command reproduces the run."""
    model = tweaks.apply([tweak] if tweak is not None else [])(*bounds)
    expected = HOLDS if tweak is None else tweak.expected
    props = [p for p in safety_properties(model) if expected == HOLDS or p.name == expected]
    # A simulation always stops at its first violation: it takes no --stop-at-first.
    argv = [a for a in check_argv(tweak.name if tweak is not None else None, bounds, props) if a != "--stop-at-first"]
    argv += ["--time-limit", f"{time_limit:g}", "--seed", str(seed), "--json", "--quiet", "--out", str(out)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    buf = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        simulate_main(argv)
    seconds = time.perf_counter() - start
    data = json.loads(buf.getvalue())
    actual = str(data["violated"]) if data["violated"] else NOTHING_FOUND
    return SimRow(name, bounds, expected, actual, data.get("found_length"), data.get("shrunk_length"), int(data["walks"]), seconds,
                  tuple(Path(f) for f in data.get("counterexample_files", [])), data.get("stopped") == "interrupted")


def table(rows: list[SimRow]) -> str:
    body = [
        (r.name, short_bounds(r.bounds), r.expected,
         (f"{r.actual} (nothing is proved)" if r.actual == NOTHING_FOUND else r.actual) + ("" if r.ok else "  << MISMATCH"),
         "" if r.found_length is None else r.found_length, "" if r.shrunk_length is None else r.shrunk_length,
         f"{r.walks:,}", f"{r.seconds:.1f} s")
        for r in rows
    ]
    headers = ["tweak", "bounds", "expected verdict", "simulation found", "found length", "shrunk length", "walks", "time"]
    return tabulate(body, headers=headers, maxcolwidths=[None, 10, None, None, None, None, None, None], disable_numparse=True)


def main(args: argparse.Namespace) -> int:
    try:
        chosen = [n for n in dict.fromkeys(args.tweak) if n != UNMODIFIED]
        selected = tweaks.lookup(chosen) if args.tweak else list(tweaks.BUILTIN.values())
    except tweaks.TweakError as e:
        raise BadInput(str(e).replace("valid tweaks: ", f"valid tweaks: {UNMODIFIED}, ")) from None
    out = check_out_dir(args.out)
    time_limit = DEFAULT_TIME_LIMIT if args.time_limit is None else args.time_limit
    seed = DEFAULT_SEED if args.seed is None else args.seed
    plan: list[tuple[str, tweaks.Tweak | None, tuple[int, int, int]]] = []
    if not args.tweak or UNMODIFIED in args.tweak:
        plan.append((UNMODIFIED, None, UNMODIFIED_BOUNDS))
    plan += [(t.name, t, t.bounds) for t in selected]
    plan = [(name, t, (args.servers or b[0], b[1] if args.max_term is None else args.max_term, b[2])) for name, t, b in plan]
    rows: list[SimRow] = []
    stopped: str | None = None  # the row during which ^C or kill came: no verdict from it or the rest
    for k, (name, t, b) in enumerate(plan, start=1):
        if not args.quiet:
            print(f"defend --simulate [{k}/{len(plan)}] {name} at {bounds_text(b)} ...", end="", file=sys.stderr, flush=True)
        try:
            row: SimRow | None = run_one(name, t, b, out, time_limit, seed, None)
        except KeyboardInterrupt:  # outside the row's walks (which report themselves as interrupted)
            row = None
        if row is None or row.interrupted:
            stopped = name
            if not args.quiet:
                print(" interrupted", file=sys.stderr, flush=True)
            break
        rows.append(row)
        if not args.quiet:
            length = f", {row.found_length} steps shrunk to {row.shrunk_length}" if row.shrunk_length is not None else ""
            mark = "" if row.ok else f"  MISMATCH: expected {row.expected}"
            print(f" {row.actual}{length}, {row.walks:,} walks, {row.seconds:.1f} s{mark}", file=sys.stderr, flush=True)
    print(table(rows))
    written = [r for r in rows if r.files]
    if written:
        print()
        for r in written:
            print(f"{r.name}: {', '.join(str(f) for f in r.files)}")
    print()
    bad = [r.name for r in rows if not r.ok]
    missed = [r.name for r in rows if not r.ok and r.actual == NOTHING_FOUND]
    cut = cut_short(stopped, len(rows), [name for name, _, _ in plan]) if stopped is not None else ""
    if bad:
        why = f" (not found within {time_limit:g} s: {', '.join(missed)})" if missed else ""
        print(f"FAILED: {len(bad)} of {len(rows)} tweak(s) not as expected{why}: {', '.join(bad)}" + (f"; {cut}" if cut else ""))
        return EXIT_VIOLATION
    if cut:
        print(f"INCOMPLETE ({cut}); the rows above are as expected")
        return EXIT_INCOMPLETE
    unsafe = sum(1 for r in rows if r.expected != HOLDS)
    print(f"OK: every unsafe tweak's violation found by simulation ({unsafe} of {len(rows)} checks; seed {seed}, at most "
          f"{time_limit:g} s each); the {len(rows) - unsafe} expected to hold showed no violation, which proves nothing")
    return EXIT_HOLDS
