"""A run that failed (exit 4): one line naming the cause, and a report file with the whole story.

Exit codes mean one thing each (see ``raft_check.cli``): a crash of the run --
an exception in a tweak hook, a trace that does not replay, running out of
memory, a dead worker process, an I/O error -- is never reported as a
violation (exit 1) and never as a verdict.  :func:`describe` turns any
exception into one line for stderr (with the tweak file and line when the
cause is there) and writes the full traceback to a report file under the
temporary directory, whose path the line names.  :func:`error_json` is the
one JSON object that ``--json`` prints for bad input and for a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_FAILED = 4

ASYMMETRIC = "this tweak treats servers differently: run with --no-symmetry"


class Exited(Exception):
    """Code run by the search (a tweak hook) called ``sys.exit``: a failure of the run, not the end of it."""

    def __init__(self, code: object) -> None:
        super().__init__(f"SystemExit({code!r})")


def _tweak_frame(text: str, tweak_file: str | None) -> str | None:
    """``file:line, in hook`` of the last traceback frame in ``tweak_file`` found in ``text`` (a formatted traceback)."""
    if not tweak_file:
        return None
    want = os.path.realpath(tweak_file)
    found = None
    for m in re.finditer(r'File "([^"]+)", line (\d+), in (\S+)', text):
        if os.path.realpath(m.group(1)) == want:
            found = f"{tweak_file}:{m.group(2)}, in {m.group(3)}"
    return found


def cause(exc: BaseException, tb_text: str, tweak_file: str | None = None, symmetry: bool = False, tweaked: bool = False) -> str:
    """One line saying why the run failed."""
    from checker.trace import ReplayError

    msg = str(exc).strip()
    last = msg.splitlines()[-1] if msg else ""
    first = msg.splitlines()[0] if msg else ""
    where = _tweak_frame(tb_text + "\n" + msg, tweak_file)
    if isinstance(exc, ReplayError) and symmetry and tweaked:
        return f"{ASYMMETRIC} (the counterexample does not replay: {first})"
    if isinstance(exc, AssertionError) and symmetry and tweaked and not where:
        # e.g. the fast engine's trace rebuilding finds no step: the same symptom, one layer down
        return f"{type(exc).__name__}: {first} (if the tweak treats servers differently, run with --no-symmetry)"
    if isinstance(exc, MemoryError):
        return "out of memory (MemoryError): lower the bounds, or use --store compact or --store fp, or --max-states"
    if isinstance(exc, OSError):
        name = f" ({exc.filename})" if exc.filename else ""
        return f"I/O error: {exc.strerror or exc}{name}"
    if isinstance(exc, (SystemExit, Exited)):
        kind = str(exc) if isinstance(exc, Exited) else f"SystemExit({exc.code!r})"
        return f"tweak file {where}: called exit: {kind}" if where else f"the run called exit: {kind}"
    if where:
        inner = last if "\n" in msg else f"{type(exc).__name__}: {msg}"
        return f"tweak file {where}: {inner}"
    if "\n" in msg:  # e.g. a worker's traceback: its first line and its exception
        return f"{first} {last}"
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def write_report(exc: BaseException, tb_text: str, argv: Sequence[str]) -> str | None:
    """Write the full report of a failure to a file; its path (None if even that failed)."""
    try:
        fd, name = tempfile.mkstemp(prefix="check-failure-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(f"check failed at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
            f.write(f"command: check {' '.join(argv)}\n")
            f.write(f"python: {sys.version.split()[0]}, cwd: {os.getcwd()}\n\n")
            f.write(tb_text)
        return name
    except Exception:  # e.g. the temporary directory's disk is full: the one line still names the cause
        return None


def describe(exc: BaseException, argv: Sequence[str]) -> tuple[str, str | None]:
    """The one line for stderr and the report file's path (``argv``: the run's arguments, read for its tweak file and
    symmetry option, since the failure may come before they are parsed)."""
    tweak_file = next((v for k, v in itertools.pairwise(argv) if k == "--tweak-file"), None) or next(
        (a.split("=", 1)[1] for a in argv if a.startswith("--tweak-file=")), None)
    tweaked = tweak_file is not None or any(a == "--tweak" or a.startswith("--tweak=") for a in argv)
    symmetry = "--no-symmetry" not in argv
    tb_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    report = write_report(exc, tb_text, argv)
    line = cause(exc, tb_text, tweak_file, symmetry, tweaked)
    tail = f"; full report: {report}" if report else "; (no report file: the temporary directory is not writable)"
    return line + tail, report


def error_json(verdict: str, message: str, code: int, report: str | None = None) -> dict[str, Any]:
    """The one JSON object ``--json`` prints when there is no verdict: bad input ("bad input") or a failed run ("failed")."""
    out: dict[str, Any] = {"verdict": verdict, "error": message, "exit_code": code}
    if report is not None:
        out["report"] = report
    return out


def wants_json(argv: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options (looked at before they are parsed: bad input is reported in JSON too)."""
    for a in argv:
        if a == "--":
            return False
        if a == "--json":
            return True
    return False


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename: never a torn file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
