"""The rows of ``check defend``: a row's record, its expected verdict, and the ``check`` arguments that run its search.

Shared by ``check --list-tweaks`` (``raft_check/cli.py``), ``check defend`` (``raft_check/defend.py``), its tweak-file
rows (``raft_check/defend_files.py``), ``check defend --simulate`` (``raft_check/defend_simulate.py``) and the gallery
(``raft_check/gallery.py``), none of which imports another for them.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.bfs import HOLDS
from checker.model import Property
from models import tweaks
from models.raft import Action, Raft, State

STORES = ("memory", "compact", "fp")
"""The compiled engine's visited-state stores (``checker.pins_store.KINDS``, named here so that the command lines
need not import numba to parse)."""
UNMODIFIED = "raft"
UNMODIFIED_BOUNDS = (3, 3, 0)
UNKNOWN = "?"
NOT_COMPARED = "not compared"


@dataclass
class Row:
    name: str
    rule: str
    bounds: tuple[int, int, int]
    expected: str
    actual: str
    trace_length: int | None
    states: int
    seconds: float
    files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()  # what the row's check printed on stderr (a size warning, say), shown after its line
    interrupted: bool = False  # ^C or kill stopped the row's search: no verdict, and check defend stops there

    @property
    def ok(self) -> bool:
        return self.expected == UNKNOWN or self.expected == self.actual

    @property
    def compared(self) -> bool:
        """False when the tweak declares no verdict at these bounds (e.g. another server count): nothing was compared."""
        return self.expected != UNKNOWN


def safety_properties(model: Raft) -> list[Property[State, Action]]:
    """The properties a tweak's verdict is over: the safety group (the log layer's only with max-log >= 1)."""
    return [p for p in model.properties() if p.group == "safety"]


def check_argv(tweak: str | None, bounds: tuple[int, int, int], props: Sequence[Property[State, Action]],
               store: str = "") -> list[str]:
    """The ``check`` arguments that run the same search as defend (same model, bounds, properties and store)."""
    n, t, log = bounds
    argv = ["--servers", str(n), "--max-term", str(t)]
    if log:
        argv += ["--max-log", str(log)]
    if tweak is not None:
        argv += ["--tweak", tweak]
    for p in props:
        argv += ["--invariant", p.name]
    if tweak is not None:
        argv.append("--stop-at-first")  # a row's verdict is its first violation (check --tweak would go on: --continue)
    if store:
        argv += ["--store", store]
    return argv


def expected_at(t: tweaks.Tweak, bounds: tuple[int, int, int]) -> str:
    """The verdict a tweak is expected to have at ``bounds``, or '?' when its declared result says nothing.

    A larger max-term (or max-log) only adds behaviours, so a violation stays a
    violation above the declared bounds and "holds" stays true below them;
    other server counts are not comparable (half-quorum bites only with even N).
    """
    if bounds == t.bounds:
        return t.expected
    n, term, log = bounds
    dn, dterm, dlog = t.bounds
    if n != dn:
        return UNKNOWN
    if t.expected == HOLDS and term <= dterm and log <= dlog:
        return HOLDS
    if t.expected != HOLDS and term >= dterm and log >= dlog:
        return t.expected
    return UNKNOWN


def bounds_text(b: tuple[int, int, int]) -> str:
    return f"--servers {b[0]} --max-term {b[1]}" + (f" --max-log {b[2]}" if b[2] else "")


def short_bounds(b: tuple[int, int, int]) -> str:
    """E.g. ``servers=3 max-term=2``."""
    return f"servers={b[0]} max-term={b[1]}" + (f" max-log={b[2]}" if b[2] else "")


def cut_short(stopped: str, done: int, names: Sequence[str]) -> str:
    """How check defend (and its --simulate) tells that ^C or kill stopped it at row ``stopped``: ``done`` of the rows
    ``names`` ran, and the rest (``stopped`` first) were not checked."""
    return f"interrupted during {stopped}: {done} of {len(names)} rows run, not checked: {', '.join(names[done:])}"


class RowInterrupted(KeyboardInterrupt):
    """^C or kill outside a row's search (which reports itself as interrupted), with what the row's check had printed
    on stderr by then (``lines``), for check defend to show after its row's line."""

    def __init__(self, lines: tuple[str, ...]) -> None:
        super().__init__()
        self.lines = lines


def run_captured(check: Callable[[list[str]], int], argv: list[str]) -> tuple[dict[str, Any], tuple[str, ...], float]:
    """Run ``check ARGV`` (its ``--json`` summary on stdout): the summary, what it printed on stderr (warnings, which
    a defend row shows after its own line) and its wall seconds.  If it fails, what it printed on stderr is passed on
    before the failure propagates, so it is never lost."""
    buf, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            check(argv)
        data: dict[str, Any] = json.loads(buf.getvalue())
    except KeyboardInterrupt:
        raise RowInterrupted(tuple(err.getvalue().splitlines())) from None
    except BaseException:
        sys.stderr.write(err.getvalue())
        raise
    return data, tuple(err.getvalue().splitlines()), time.perf_counter() - start
