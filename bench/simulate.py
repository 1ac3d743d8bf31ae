"""Benchmark ``check simulate`` against the targets of issue #18: ``python bench/simulate.py [--seeds N] [--only NAME]``.

For each bug (a built-in tweak at given bounds) and each walk mode (swarm,
uniform), runs ``check simulate --tweak NAME --invariant EXPECTED --seed S``
for seeds 1..N (default 10), each in a fresh subprocess on every core, with
``--time-limit`` the row's budget, and prints per row: how many seeds found
the violation, the median time to find it (a seed that did not find it
counts as longer than the budget, so the median is ">budget" when half or
more missed), the median length of the trace as found and as shrunk, the
BFS-shortest length where known, the median steps/s of the walks, and
whether the target is met.  Times are wall time of the walks alone (the JSON
``wall_seconds``); the CPU seconds of all walk processes are shown beside
them (on a machine shared with other jobs, wall time overstates the work);
shrinking is timed apart (median shown).  ``--log FILE`` appends each run's
JSON summary to FILE.

``--modes swarm`` runs only swarm walks; ``--first-seed F`` starts at seed F (to add seeds to an earlier run); ``--deep-seeds N`` runs the two deep
rows (Figure 8 and commit-beyond-match) with N seeds only, when time is short.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# (label, tweak, (servers, max-term, max-log), expected property, budget s, target s, target shrunk length, BFS shortest)
ROWS: list[tuple[str, str, tuple[int, int, int], str, float, float | None, int | None, int | None]] = [
    ("Figure 8", "commit-old-terms", (3, 4, 1), "LeaderCompleteness", 60, 60, 30, 25),
    ("commit-beyond-match", "commit-beyond-match", (3, 3, 2), "StateMachineSafety", 60, 60, 30, 24),
    ("vote-not-persisted, 5 servers", "vote-not-persisted", (5, 3, 0), "ElectionSafety", 30, 10, None, None),
]
DEEP = {"Figure 8", "commit-beyond-match"}


def defend_rows() -> list[tuple[str, str, tuple[int, int, int], str, float, float | None, int | None, int | None]]:
    sys.path.insert(0, str(ROOT))
    from models import tweaks

    out = []
    for t in tweaks.BUILTIN.values():
        if t.expected == "holds" or t.name in ("commit-old-terms", "commit-beyond-match"):
            continue  # the deep ones have their own rows above, at the same bounds
        out.append((f"{t.name} (defend bounds)", t.name, t.bounds, t.expected, 30.0, 30.0, None, golden_length(t.name, t.expected, t.bounds)))
    return out


def golden_length(tweak: str, prop: str, bounds: tuple[int, int, int]) -> int | None:
    """The length of the committed breadth-first (shortest) counterexample, if there is one."""
    import re

    n, term, log = bounds
    f = ROOT / "counterexamples" / tweak / (f"{prop}_s{n}_t{term}" + (f"_l{log}" if log else "") + ".txt")
    m = re.search(r"Shortest trace: (\d+) steps", f.read_text()) if f.exists() else None
    return int(m.group(1)) if m else None


def run(tweak: str, bounds: tuple[int, int, int], prop: str, seed: int, mode: str, budget: float, out: str) -> dict[str, Any]:
    n, term, log = bounds
    argv = [sys.executable, "-m", "raft_check", "simulate", "--servers", str(n), "--max-term", str(term), "--max-log", str(log),
            "--tweak", tweak, "--invariant", prop, "--seed", str(seed), "--mode", mode, "--time-limit", f"{budget:g}",
            "--json", "--quiet", "--out", out]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=budget + 600)
    if proc.returncode not in (1, 3):
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def median_or(xs: list[float], fmt: str = "{:.0f}") -> str:
    return fmt.format(statistics.median(xs)) if xs else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1, help="seeds are FIRST .. FIRST + N - 1 (default 1)")
    ap.add_argument("--deep-seeds", type=int, default=None, help="seeds for the Figure 8 and commit-beyond-match rows")
    ap.add_argument("--modes", default="swarm,uniform")
    ap.add_argument("--only", action="append", default=[], help="run only rows whose tweak is NAME (repeatable)")
    ap.add_argument("--log", help="append each run's JSON summary to this file")
    args = ap.parse_args()
    rows = ROWS + defend_rows()
    if args.only:
        rows = [r for r in rows if r[1] in args.only]
    modes = args.modes.split(",")
    print(f"# bench/simulate.py on {platform.node()} ({os.cpu_count()} cores), Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; seeds {args.first_seed}..{args.first_seed + args.seeds - 1}"
          + (f" ({args.deep_seeds} for the deep rows)" if args.deep_seeds else ""), flush=True)
    header = ("| bug | bounds | mode | found | median time to find (wall) | median CPU s to find | median found length "
              "| median shrunk length | BFS shortest | median steps/s (wall) | median shrink s | target | met? |")
    lines = [header, "|" + "---|" * 13]
    print(header, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for label, tweak, bounds, prop, budget, target_s, target_len, shortest in rows:
            for mode in modes:
                seeds = args.deep_seeds if args.deep_seeds and label in DEEP else args.seeds
                times: list[float] = []
                found_len: list[float] = []
                shrunk_len: list[float] = []
                rates: list[float] = []
                shrink_s: list[float] = []
                cpus: list[float] = []
                for seed in range(args.first_seed, args.first_seed + seeds):
                    d = run(tweak, bounds, prop, seed, mode, budget, tmp)
                    if args.log:
                        with open(args.log, "a") as f:
                            f.write(json.dumps({"bug": label, "mode": mode, **d}) + "\n")
                    rates.append(d["steps_per_second"])
                    if d["violated"]:
                        times.append(d["wall_seconds"])
                        cpus.append(d["cpu_seconds"])
                        found_len.append(d["found_length"])
                        shrunk_len.append(d["shrunk_length"])
                        shrink_s.append(d["shrink_seconds"])
                    else:
                        times.append(float("inf"))
                        cpus.append(float("inf"))
                    print(f"  {tweak} {mode} seed {seed}: " + (f"found in {d['wall_seconds']:.1f} s, {d['found_length']} -> "
                          f"{d['shrunk_length']} steps" if d["violated"] else f"not found in {budget:g} s ({d['walks']:,} walks)"),
                          file=sys.stderr, flush=True)
                hits = sum(1 for t in times if t != float("inf"))
                med = statistics.median(times)
                med_text = f"> {budget:g} s" if med == float("inf") else f"{med:.1f} s"
                med_cpu = statistics.median(cpus)
                cpu_text = "-" if med_cpu == float("inf") else f"{med_cpu:.1f}"
                target = []
                ok = med != float("inf")
                if target_s is not None:
                    target.append(f"found in ≤ {target_s:g} s")
                    ok = ok and med <= target_s
                if target_len is not None:
                    target.append(f"shrunk to ≤ {target_len}")
                    ok = ok and bool(shrunk_len) and statistics.median(shrunk_len) <= target_len
                line = (f"| {label} | {bounds[0]}/{bounds[1]}/{bounds[2]} | {mode} | {hits}/{seeds} | {med_text} | {cpu_text} | {median_or(found_len)} "
                        f"| {median_or(shrunk_len)} | {shortest or ''} | {median_or(rates)} | {median_or(shrink_s, '{:.1f}')} "
                        f"| {', '.join(target)} | {'yes' if ok else 'NO'} |")
                lines.append(line)
                print(line, flush=True)
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
