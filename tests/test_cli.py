"""The ``check`` command line: exit codes, output, counterexample files, and one-line errors."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import interrupt_check

from models import tweaks
from models.raft import Raft
from raft_check.cli import main

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "models" / "manifest.json").read_text())


def pinned(n: int, t: int, log: int, reduced: bool = True, symmetry: bool = True) -> int:
    for c in MANIFEST["configs"]:
        if (c["servers"], c["max_term"], c["max_log"], c["reduced"], c["symmetry"]) == (n, t, log, reduced, symmetry):
            return int(c["distinct_states"])
    raise KeyError((n, t, log, reduced, symmetry))


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def subprocess_check(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "raft_check", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------ exit 0


def test_subprocess_holds_exit_0_with_statistics(tmp_path: Path) -> None:
    r = subprocess_check(tmp_path, "--servers", "3", "--max-term", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "HOLDS after a complete search" in r.stdout
    assert "distinct states" in r.stdout and f"{pinned(3, 2, 0):,}" in r.stdout
    for word in ("transitions", "depth", "wall time", "states/s", "peak memory"):
        assert word in r.stdout
    assert r.stderr == ""  # --quiet: no progress bar


def test_main_holds_exit_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "--servers", "3", "--max-term", "2", "--quiet", "--out", str(tmp_path))
    assert code == 0
    assert "HOLDS" in out and "VIOLATED" not in out
    assert f"{pinned(3, 2, 0):,}" in out
    assert err == ""
    assert not any(tmp_path.iterdir())  # no counterexample written


FLAG_CASES = [
    ((), True, True),
    (("--no-symmetry",), True, False),
    (("--unreduced",), False, True),
    (("--unreduced", "--no-symmetry"), False, False),
]


@pytest.mark.parametrize(("flags", "reduced", "symmetry"), FLAG_CASES)
def test_json_counts_match_manifest(capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: tuple[str, ...], reduced: bool,
                                    symmetry: bool) -> None:
    code, out, _ = run_cli(capsys, "--servers", "2", "--max-term", "2", "--json", "--out", str(tmp_path), *flags)
    assert code == 0
    doc = json.loads(out)
    assert doc["verdict"] == "holds"
    assert doc["symmetry"] is symmetry and doc["reduced"] is reduced
    assert doc["distinct_states"] == pinned(2, 2, 0, reduced, symmetry)
    assert doc["violated"] is None and doc["unsatisfied"] == []
    assert set(doc["properties"]) == {p.name for p in Raft(2, 2, 0).properties()}


# ------------------------------------------------------------------ exit 1


def walk(x: Any) -> Any:
    """Every value nested in a JSON document."""
    yield x
    if isinstance(x, dict):
        for v in x.values():
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)


def test_subprocess_violation_exit_1_writes_counterexample(tmp_path: Path) -> None:
    out = tmp_path / "cex"
    # --stop-at-first: a tweak run goes on by default (--continue), and the structural properties here hold only after
    # a search of 2.5 M states.
    argv = ["--servers", "3", "--max-term", "1", "--tweak", "vote-not-persisted", "--stop-at-first", "--quiet", "--out", str(out)]
    r = subprocess_check(tmp_path, *argv)
    assert r.returncode == 1, r.stderr
    assert "VIOLATED: ElectionSafety" in r.stdout
    txts = sorted(out.rglob("*.txt"))
    itfs = sorted(out.rglob("*.itf.json"))
    assert len(txts) == 1 and len(itfs) == 1
    assert str(txts[0]) in r.stdout and str(itfs[0]) in r.stdout
    text = txts[0].read_text()
    # The recorded command is the model's command line without the output-only options (--quiet, --out):
    # running it again writes the same files.
    assert text.splitlines()[0] == shlex.join(["check", *argv[:7]])
    assert "ElectionSafety" in text

    doc = json.loads(itfs[0].read_text())
    assert {"#meta", "vars", "states"} <= set(doc)
    assert "currentTerm" in doc["vars"] and "messages" in doc["vars"]
    states = doc["states"]
    assert len(states) == 10  # the shortest trace: 9 steps (see tests/test_invariants.py)
    assert [s["#meta"]["index"] for s in states] == list(range(10))
    for s in states:
        assert set(doc["vars"]) <= set(s)
        for key, val in s.items():
            if key == "#meta":
                continue
            for v in walk(val):
                # ITF: integers are {"#bigint": "<digits>"}, never bare JSON numbers
                assert not (isinstance(v, int) and not isinstance(v, bool)), (key, v)
                if isinstance(v, dict) and "#bigint" in v:
                    assert set(v) == {"#bigint"} and int(v["#bigint"]) >= 0
    # the first state is Init: every server a follower in term 0
    first = states[0]
    assert all(term == {"#bigint": "0"} for _, term in first["currentTerm"]["#map"])
    # the last state shows the violation by itself: two leaders of one term
    last = states[-1]
    roles = dict((k, v) for k, v in last["role"]["#map"])
    terms = dict((k, int(v["#bigint"])) for k, v in last["currentTerm"]["#map"])
    leaders = [k for k, v in roles.items() if v == "Leader"]
    assert len(leaders) == 2 and terms[leaders[0]] == terms[leaders[1]]


def test_json_violation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(capsys, "--servers", "3", "--max-term", "1", "--tweak", "vote-not-persisted", "--invariant", "ElectionSafety",
                           "--json", "--out", str(tmp_path))
    assert code == 1
    doc = json.loads(out)
    assert doc["verdict"] == "violated" and doc["violated"] == "ElectionSafety" and doc["trace_length"] == 9
    assert doc["properties"] == ["ElectionSafety"]
    assert len(doc["counterexample_files"]) == 3 and all(Path(f).exists() for f in doc["counterexample_files"])


def test_vacuous_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(capsys, "--servers", "3", "--max-term", "0", "--quiet", "--out", str(tmp_path))
    assert code == 1
    assert "LeaderElected" in out and "HOLDS" not in out


def test_tweak_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "grant_all.py"
    f.write_text("from models.tweaks import override\n\n@override('can_grant_vote')\ndef can_grant_vote(self, srv, m):\n    return True\n")
    code, out, _ = run_cli(capsys, "--servers", "3", "--max-term", "1", "--tweak-file", str(f), "--invariant", "ElectionSafety",
                           "--quiet", "--out", str(tmp_path / "o"))
    assert code == 1
    assert "VIOLATED: ElectionSafety" in out
    assert "off pruning" in out and "the tweak overrides can_grant_vote" in out  # the reductions its hook rests on are off


# ------------------------------------------------------------------ exit 3


def test_max_states_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(capsys, "--servers", "3", "--max-term", "2", "--max-states", "100", "--quiet", "--out", str(tmp_path))
    assert code == 3
    assert "INCOMPLETE" in out and "HOLDS" not in out
    code, out, _ = run_cli(capsys, "--servers", "3", "--max-term", "2", "--max-states", "100", "--json", "--out", str(tmp_path))
    assert code == 3
    doc = json.loads(out)
    assert doc["verdict"] == "incomplete" and doc["distinct_states"] == 100


def test_subprocess_max_states_exit_3(tmp_path: Path) -> None:
    r = subprocess_check(tmp_path, "--servers", "3", "--max-term", "2", "--max-states", "50", "--quiet")
    assert r.returncode == 3, r.stderr
    assert "INCOMPLETE" in r.stdout


# ------------------------------------------------------------------ exit 2


def not_a_dir(tmp_path: Path) -> str:
    f = tmp_path / "file"
    f.write_text("")
    return str(f / "sub")


BAD = {
    "servers-0": (["--servers", "0"], ["--servers"]),
    "servers-negative": (["--servers", "-1"], ["--servers"]),
    "servers-not-a-number": (["--servers", "x"], ["--servers", "'x'"]),
    "max-term-negative": (["--max-term", "-1"], ["--max-term"]),
    "max-states-0": (["--max-states", "0"], ["--max-states"]),
    "unknown-invariant": (["--invariant", "NoSuchProperty"], ["NoSuchProperty", *(p.name for p in Raft().properties())]),
    "unknown-tweak": (["--tweak", "no-such-tweak"], ["no-such-tweak", *tweaks.BUILTIN]),
    "missing-tweak-file": (["--tweak-file", "{tmp}/missing.py"], ["missing.py"]),
    "unwritable-out": (["--out", "{notdir}"], ["--out"]),
    "unknown-option": (["--frobnicate"], ["--frobnicate"]),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_exit_2_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    argv, mentions = BAD[case]
    argv = [a.format(tmp=tmp_path, notdir=not_a_dir(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    code, out, err = run_cli(capsys, "--servers", "2", "--max-term", "1", "--quiet", *argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("check: error: ")
    assert "Traceback" not in err
    for word in mentions:
        assert word in lines[0]


def test_bad_tweak_file_syntax_names_the_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "bad.py"
    f.write_text("from models.tweaks import override\n\ndef oops(:\n")
    code, _, err = run_cli(capsys, "--tweak-file", str(f), "--out", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1 and f"{f}:3" in err


def test_subprocess_bad_input(tmp_path: Path) -> None:
    r = subprocess_check(tmp_path, "--servers", "x")
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("check: error: ")


# ------------------------------------------------------------------ listings


def test_list_properties_names_every_property(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--list-properties")
    assert code == 0
    for p in Raft(3, 4, 0).properties():
        assert p.name in out
    code, out, _ = run_cli(capsys, "--list-properties", "--max-log", "1")
    assert code == 0
    names = [p.name for p in Raft(3, 4, 1).properties()]
    assert "LogMatching" in names
    for name in names:
        assert name in out


def test_list_tweaks_names_every_tweak(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--list-tweaks")
    assert code == 0
    for name in tweaks.BUILTIN:
        assert name in out


# ------------------------------------------------------------------ Ctrl-C


@pytest.mark.parametrize("engine", ["readable", "compiled"])
def test_ctrl_c_ends_in_an_incomplete_report_with_partial_statistics(tmp_path: Path, engine: str) -> None:
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = ["-m", "raft_check", "--servers", "3", "--max-term", "4", "--engine", engine]
    code, out, err = interrupt_check(argv, signal.SIGINT, cwd=tmp_path, env=env)
    assert code == 3, err
    assert "INCOMPLETE (interrupted)" in out and "HOLDS" not in out
    assert "distinct states" in out


def test_sigterm_ends_a_run_as_incomplete(tmp_path: Path) -> None:
    """`kill` (SIGTERM) stops a run as ^C does: the compiled engine's threads are stopped and the verdict says nothing
    is proved."""
    import signal

    cmd = ["-m", "raft_check", "--servers", "3", "--max-term", "3", "--max-log", "1", "--store", "compact",
           "--workers", "2", "--out", str(tmp_path)]
    code, out, err = interrupt_check(cmd, signal.SIGTERM)
    assert code == 3, err
    assert "INCOMPLETE (interrupted)" in out and "nothing is proved" in out


def test_closed_pipe_ends_quietly() -> None:
    """`check ... | head`: no traceback when the reader goes away, and the SIGPIPE exit status."""
    import shlex
    import subprocess
    import sys

    # `true` exits at once without reading (the interpreter takes far longer to start), so the first write fails.
    cmd = f"{shlex.quote(sys.executable)} -m raft_check --servers 2 --max-term 2 --max-log 1 | true; exit ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr
    assert proc.returncode == 141
