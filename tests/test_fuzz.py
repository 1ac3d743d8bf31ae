"""Fuzzing the command line (issue 15): whatever the arguments and whatever a tweak file does, ``check`` ends with one
of its documented exit codes, never with a traceback, and with ``--json`` prints exactly one JSON object.

Hypothesis generates argument lists (bounds, options, junk, subcommands) and tweak files that raise, return wrong types,
call exit, do not parse, or treat servers differently.  Runs are kept small (at most 3 servers, a state cap on all but
the smallest bounds), so the test takes well under a minute; it is derandomised, so CI runs the same examples each time.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from raft_check import cli

EXIT_CODES = {0, 1, 2, 3, 4}

HOOK_BODIES = {
    "has_quorum": ("self, srv", "Raft.has_quorum(self, srv)"),
    "can_grant_vote": ("self, srv, m", "Raft.can_grant_vote(self, srv, m)"),
    "step_down": ("self, srv, term", "Raft.step_down(self, srv, term)"),
    "start_election": ("self, srv, i", "Raft.start_election(self, srv, i)"),
    "restart_server": ("self, srv", "Raft.restart_server(self, srv)"),
    "merge_entries": ("self, log, m", "Raft.merge_entries(self, log, m)"),
}

BEHAVIOURS = [
    "return {orig}",  # a tweak that changes nothing
    "raise RuntimeError('boom')",
    "raise MemoryError",
    "raise KeyError(1)",
    "return None",
    "return 1",
    "return 'yes'",
    "import sys; sys.exit(3)",
    "return {orig} if i == 0 else srv",  # asymmetric (start_election only; a NameError elsewhere)
    "return not {orig}",
    "return len(str(self.n)) + (",  # a syntax error
]


@st.composite
def tweak_files(draw: st.DrawFn) -> str:
    hook = draw(st.sampled_from(sorted(HOOK_BODIES)))
    params, orig = HOOK_BODIES[hook]
    body = draw(st.sampled_from(BEHAVIOURS)).format(orig=orig)
    top = draw(st.sampled_from(["", "import sys\nsys.exit(0)\n", "keep_reductions()\n", "raise ValueError('at import')\n"]))
    return (f"from models.raft import Raft\nfrom models.tweaks import override, keep_reductions\n{top}\n"
            f"@override({hook!r})\ndef {hook}({params}):\n    {body}\n")


OPTION = st.one_of(
    st.sampled_from([["--no-symmetry"], ["--unreduced"], ["--json"], ["--quiet"], ["--engine", "readable"],
                     ["--engine", "compiled"], ["--store", "compact"], ["--store", "fp"], ["--list-tweaks"],
                     ["--list-properties"], ["--force"], ["--bogus"], ["--servers"], ["--max-term", "x"],
                     ["--servers", "-1"], ["--checkpoint-every", "0"], ["--version"], ["--help"]]),
    st.builds(lambda n: ["--invariant", n], st.sampled_from(["ElectionSafety", "LeaderElected", "LogMatching", "Nope", ""])),
    st.builds(lambda n: ["--tweak", n], st.sampled_from(["vote-twice", "no-log-check", "no-step-down", "nope"])),
    st.builds(lambda k: ["--max-states", str(k)], st.integers(-1, 3000)),
)


@st.composite
def argument_lists(draw: st.DrawFn) -> tuple[list[str], str | None]:
    head = draw(st.sampled_from([[], [], [], ["defend"], ["help"], ["help", "defend"], ["help", "nope"]]))
    if head[:1] == ["help"]:
        return head, None
    n, term, log = draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(0, 1))
    argv = [*head, "--servers", str(n), "--max-term", str(term)]
    if head == ["defend"]:
        return [*argv, "--tweak", draw(st.sampled_from(["raft", "vote-twice", "half-quorum"])), "--quiet",
                *draw(st.sampled_from([[], ["--json"]]))], None
    argv += ["--max-log", str(log)]
    for opt in draw(st.lists(OPTION, max_size=4)):
        argv += opt
    if n * (term + log) > 4 and "--max-states" not in argv:
        argv += ["--max-states", "1500"]  # keep each run short
    source = draw(st.one_of(st.none(), tweak_files()))
    return argv, source


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:  # --help and --version end through argparse, as in any command
            code = e.code if isinstance(e.code, int) else 0
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(argument_lists())
def test_every_run_ends_with_a_documented_exit_code_and_no_traceback(case: tuple[list[str], str | None]) -> None:
    argv, source = case
    with tempfile.TemporaryDirectory() as tmp:
        argv = [*argv, "--out", str(Path(tmp) / "out")] if argv[:1] != ["help"] else argv
        if source is not None:
            path = Path(tmp) / "tw.py"
            path.write_text(source)
            argv += ["--tweak-file", str(path)]
        saved, tempfile.tempdir = tempfile.tempdir, tmp  # failure reports land in this example's folder
        try:
            code, out, err = run(argv)
        finally:
            tempfile.tempdir = saved
    event(f"exit {code}")
    assert code in EXIT_CODES, (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    last = err.rstrip("\n").rsplit("\n", 1)[-1]  # after any progress lines: one line saying why
    if code == 4:
        assert last.startswith("check: failed: ") and "check: failed" not in err[: -len(last) - 1], (argv, err)
    if code == 2:
        assert last.startswith("check: error: ") and "check: error" not in err[: -len(last) - 1], (argv, err)
    informational = {"--help", "--version", "help"} & set(argv)
    if "--json" in argv and not informational:
        json.loads(out)  # exactly one JSON object (json.loads refuses anything after it)
