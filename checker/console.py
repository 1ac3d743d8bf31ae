"""What every command-line front door of the engine shares, naming no model: the exit codes, bad input (one line,
exit 2), argument types, live progress, and the statistics and verdict of a search result (``checker.bfs.Result``).

Exit codes: 0 every property holds after a complete search; 1 a property is
violated (or a reachability check was never satisfied: vacuous); 2 bad input;
3 the search was incomplete (state cap or Ctrl-C); 4 the run itself failed
(``checker/failure.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from tabulate import tabulate

from checker.bfs import INCOMPLETE, VIOLATED, Progress, Result
from checker.model import Kind

EXIT_HOLDS, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3


class BadInput(Exception):
    """Bad command-line input: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(message)


def _count(lo: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}, got {v}")
        return v

    return parse


def positive(unit: str) -> Callable[[str], float]:
    """An argparse type: a positive, finite number of ``unit`` (e.g. seconds), with one clear line otherwise."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of {unit}, got {text!r}") from None
        if not v > 0 or v == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive number of {unit}, got {text!r}")
        return v

    return parse


_minutes = positive("minutes")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _isatty(f: Any) -> bool:
    try:
        return bool(f.isatty())
    except (AttributeError, ValueError):
        return False


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class ProgressBar:
    """Live progress on stderr: through tqdm, refreshed at most every second, on a terminal; otherwise (a log file, a
    pipe) a plain line about every PLAIN_EVERY seconds, never a bar redrawn with carriage returns."""

    PLAIN_EVERY = 10.0

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        self.enabled = enabled
        self.plain = not _isatty(sys.stderr)
        self.last_plain = -self.PLAIN_EVERY

    def start(self) -> None:
        """Say at once that the search has started (the first states of a large model can take seconds each)."""
        if self.enabled:
            print("progress: search started" + (f" (a line about every {self.PLAIN_EVERY:.0f} s)" if self.plain else ""),
                  file=sys.stderr, flush=True)

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if self.plain:
            if p.elapsed - self.last_plain >= self.PLAIN_EVERY:
                self.last_plain = p.elapsed
                rate = p.states / p.elapsed if p.elapsed > 0 else 0.0
                print(f"progress: {p.states:,} states, depth {p.depth}, queue {p.queue:,}, {p.transitions:,} transitions, "
                      f"{rate:,.0f} states/s, memory {fmt_bytes(p.rss)}, {p.elapsed:.0f} s", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=None, unit=" states", file=sys.stderr, mininterval=1.0, dynamic_ncols=True, leave=False)
        self.bar.update(p.states - self.bar.n)
        self.bar.set_postfix_str(f"depth={p.depth} queue={p.queue} trans={p.transitions} mem={fmt_bytes(p.rss)}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def without_options(argv: Sequence[str], options: dict[str, bool]) -> list[str]:
    """``argv`` without the named options (True: the option takes a value, given as the next word or after ``=``)."""
    kept: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in options:
            skip = options[name] and "=" not in a
            continue
        kept.append(a)
    return kept


def check_out_dir(out: str) -> Path:
    """Fail early (exit 2) if counterexamples could not be written under ``out``; create nothing."""
    p = Path(out)
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise BadInput(f"--out {out}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise BadInput(f"--out {out}: cannot write in {probe}")
    if probe.is_dir():  # root passes os.access everywhere: try a file (removed at once), as the end of the run will
        import tempfile

        try:
            with tempfile.TemporaryFile(dir=probe):
                pass
        except OSError as e:
            raise BadInput(f"--out {out}: cannot write in {probe} ({e.strerror or e})") from None
    return p


def stats_table(result: Result[Any, Any]) -> str:
    st = result.stats
    rows = [
        ("distinct states", f"{st.distinct_states:,}"),
        ("transitions", f"{st.transitions:,}"),
        ("depth", st.depth),
        ("wall time", f"{st.wall_seconds:.2f} s"),
        ("states/s", f"{st.states_per_second:,.0f}"),
        ("peak memory (RSS)", fmt_bytes(st.peak_rss) if not st.actors else
         f"{fmt_bytes(st.peak_rss)} the driver; {fmt_bytes(st.actors_peak_rss)} the {st.actors} actors together (at most "
         f"{fmt_bytes(st.actor_peak_rss_max)} one), on {st.actor_nodes} node{'s' if st.actor_nodes != 1 else ''}"),
    ]
    if st.store != "memory" and st.store_bytes > 0:  # (0: the actors of a distributed search were lost before telling)
        held = " in the actors, with their path records" if st.actors else ""
        rows.append((f"{st.store} store", f"{fmt_bytes(st.store_bytes)}{held} "
                                          f"({st.store_bytes / max(st.distinct_states, 1):.0f} bytes/state)"))
    acts = sorted(st.action_counts.items(), key=lambda kv: -kv[1])
    return tabulate(rows, tablefmt="plain") + "\n\n" + tabulate(acts, headers=["action", "fired"], intfmt=",")


def verdict(result: Result[Any, Any]) -> tuple[str, int]:
    if result.status == VIOLATED:
        assert result.violation is not None
        return f"VIOLATED: {result.violation.prop.name}", EXIT_VIOLATION
    if result.status == INCOMPLETE:
        return f"INCOMPLETE ({result.incomplete_reason}): no violation found in the states explored; nothing is proved", EXIT_INCOMPLETE
    if result.unsatisfied:
        return f"VACUOUS: never satisfied: {', '.join(result.unsatisfied)}", EXIT_VIOLATION
    names = ", ".join(p.name for p in result.checked if p.kind is not Kind.SOMETIMES)
    if not names:  # only reachability checks were selected: each was satisfied by some reachable state
        reached = ", ".join(p.name for p in result.checked)
        return (f"SATISFIED after a complete search: {reached} (each is reached by some state; no always or action "
                "property was selected)"), EXIT_HOLDS
    if result.stats.store == "fp":
        return (f"HOLDS after a complete search: {names} (fingerprint store: the chance that a fingerprint collision "
                f"hid a state is about {result.stats.collision_probability:.1e}; --store compact is exact)"), EXIT_HOLDS
    return f"HOLDS after a complete search: {names}", EXIT_HOLDS
