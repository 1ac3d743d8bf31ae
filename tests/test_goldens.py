"""The committed counterexamples (counterexamples/<tweak>/) are exactly what the checker (its default engine, the
compiled one) produces today.

Each golden text file starts with the ``check`` command that made it; we run
that command again into a temporary directory and compare both files.  This
also pins BFS order: a change to action order, message order or the story
text shows up here as a diff.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from checker import console
from models import tweaks
from raft_check import cli

ROOT = Path(__file__).resolve().parent.parent
GOLDENS = sorted((ROOT / "counterexamples").glob("*/*.txt"))


def slow_search(golden: Path) -> str:
    """The declared search time of a golden's tweak when its search is too long for the suite (``Tweak.search_time``)."""
    args = cli.build_parser().parse_args(shlex.split(golden.read_text().splitlines()[0])[1:])
    return next((t.search_time for t in tweaks.lookup(args.tweak) if t.search_time), "")


def regenerable(goldens: list[Path], readable: bool = False) -> list[Any]:
    """Goldens as test parameters; those whose search takes long run only with RUN_SLOW=1, and never on the
    readable engine, which is about ten times slower (tests/test_counterexample_files.py still replays them in every run)."""
    out = []
    for g in goldens:
        took = slow_search(g)
        marks = []
        if took and readable:
            marks = [pytest.mark.skip(reason=f"the search takes {took} on the compiled engine; the readable one would take a hundred times that")]
        elif took:
            marks = [pytest.mark.skipif(not os.environ.get("RUN_SLOW"), reason=f"the search takes {took}; set RUN_SLOW=1")]
        out.append(pytest.param(g, marks=marks, id=f"{g.parent.name}/{g.stem}"))
    return out


def test_goldens_exist() -> None:
    assert GOLDENS, "no golden counterexamples; run `python -m raft_check defend` from the repository root"


def regenerate(golden: Path, out: Path) -> Path:
    first = golden.read_text().splitlines()[0]
    argv = shlex.split(first)
    assert argv[0] == "check", f"{golden}: first line is not a check command: {first!r}"
    assert cli.main([*argv[1:], "--out", str(out), "--quiet"]) == console.EXIT_VIOLATION
    return out / golden.parent.name / golden.name


@pytest.mark.parametrize("golden", regenerable(GOLDENS))
def test_golden_regenerates(golden: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = regenerate(golden, tmp_path)
    capsys.readouterr()
    assert new.exists(), f"{golden.name} was not regenerated under {new.parent}"
    old_lines, new_lines = golden.read_text().splitlines(), new.read_text().splitlines()
    assert new_lines[1:] == old_lines[1:]
    assert new_lines[0] == old_lines[0]  # output-only options (--out, --quiet) are not recorded
    itf_old = golden.with_name(golden.name.removesuffix(".txt") + ".itf.json")
    itf_new = new.with_name(new.name.removesuffix(".txt") + ".itf.json")
    assert json.loads(itf_new.read_text()) == json.loads(itf_old.read_text())
    assert itf_new.read_text() == itf_old.read_text()
    assert new.with_suffix(".html").read_text() == golden.with_suffix(".html").read_text()  # the viewer (models/viewer.py)


def compiled_only_options_dropped(argv: list[str]) -> list[str]:
    """``argv`` without the options the readable engine refuses (``--store``, ``--workers``): they change no result."""
    return console.without_options(argv, {"--store": True, "--workers": True})


def test_compiled_only_options_dropped() -> None:
    argv = ["--servers", "3", "--store", "compact", "--workers=2", "--tweak", "x", "--workers", "2", "--store=fp"]
    assert compiled_only_options_dropped(argv) == ["--servers", "3", "--tweak", "x"]


@pytest.mark.parametrize("golden", regenerable(GOLDENS, readable=True))
def test_golden_independent_of_engine(golden: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The readable engine finds the same violation with a trace as short (a shortest one).  The goldens are the compiled
    engine's (``--engine auto``), which stores its own member of each symmetry orbit, so the two traces may be different
    executions of the same length (3 of the 9 quick ones are); each replays (tests/test_counterexample_files.py)."""
    argv = compiled_only_options_dropped(shlex.split(golden.read_text().splitlines()[0])[1:])
    assert cli.main([*argv, "--engine", "readable", "--out", str(tmp_path), "--quiet"]) == console.EXIT_VIOLATION
    capsys.readouterr()
    new = tmp_path / golden.parent.name / golden.name
    assert new.exists(), f"the readable engine violated another property than {golden.name}"
    mine, theirs = new.read_text().splitlines(), golden.read_text().splitlines()
    assert mine[1] == theirs[1]  # "Violation of invariant P: ..."
    length = re.compile(r"Shortest trace: (\d+) steps")
    got, want = (next(m[1] for x in lines if (m := length.search(x))) for lines in (mine, theirs))
    assert got == want


def test_golden_independent_of_hash_seed(tmp_path: Path) -> None:
    """BFS order must not depend on set iteration order: regenerate one golden under two hash seeds."""
    golden = next((g for g in GOLDENS if g.parent.name == "vote-twice"), None)
    if golden is None:
        pytest.skip("no vote-twice golden")
    argv = shlex.split(golden.read_text().splitlines()[0])[1:]
    texts = []
    for seed in ("1", "4242"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "raft_check", *argv, "--out", str(out), "--quiet"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        texts.append((out / golden.parent.name / golden.name).read_text())
    assert texts[0] == texts[1] == golden.read_text()
