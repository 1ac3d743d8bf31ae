"""User tweak files (--tweak-file): the example, error messages, and a no-op tweak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker import console
from checker.compiled import CompiledExplorer
from models.raft import HOOKS, Raft
from models.raft_pins import RaftPins
from raft_check import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "any_vote.py"

NO_OP = '''\
from models.raft import NIL
from models.tweaks import keep_reductions, override


@override("can_grant_vote")
def can_grant_vote(self, srv, m):
    return srv.votedFor in (NIL, m.msource)  # the unmodified rule
'''


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def summary(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, _ = run([*argv, "--json"], capsys)
    data: dict[str, object] = json.loads(out)
    data["exit"] = code
    return data


def test_example_finds_two_leaders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = summary(["--tweak-file", str(EXAMPLE), "--servers", "2", "--max-term", "1", "--invariant", "ElectionSafety",
                 "--out", str(tmp_path)], capsys)
    assert s["exit"] == console.EXIT_VIOLATION and s["violated"] == "ElectionSafety"
    assert s["model"] == "any_vote" and s["reduced"] is False  # no keep_reductions(): runs unreduced
    assert (tmp_path / "any_vote" / "ElectionSafety_s2_t1.txt").exists()


def test_syntax_error_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "broken.py"
    f.write_text("from models.tweaks import override\n\n@override('can_grant_vote')\ndef f(self, srv, m)\n    return True\n")
    code, out, err = run(["--tweak-file", str(f), "--out", str(tmp_path)], capsys)
    assert code == console.EXIT_BAD_INPUT and out == ""
    assert len(err.splitlines()) == 1
    assert f"{f}:4: syntax error" in err


def test_runtime_error_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "raises.py"
    f.write_text("x = 1\ny = 1 / 0\n")
    code, _, err = run(["--tweak-file", str(f), "--out", str(tmp_path)], capsys)
    assert code == console.EXIT_BAD_INPUT and len(err.splitlines()) == 1
    assert f"{f}:2: ZeroDivisionError" in err


def test_unknown_hook_lists_valid_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "unknown.py"
    f.write_text("from models.tweaks import override\n\n\n@override('grant_vote')\ndef f(self, srv, m):\n    return True\n")
    code, out, err = run(["--tweak-file", str(f), "--out", str(tmp_path)], capsys)
    assert code == console.EXIT_BAD_INPUT and out == ""
    assert len(err.splitlines()) == 1
    assert f"{f}:4:" in err and "'grant_vote'" in err
    assert all(h in err for h in HOOKS)


def test_file_without_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "empty.py"
    f.write_text("# nothing here\n")
    code, _, err = run(["--tweak-file", str(f)], capsys)
    assert code == console.EXIT_BAD_INPUT and "defines no overrides" in err and "can_grant_vote" in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--tweak-file", str(tmp_path / "nope.py")], capsys)
    assert code == console.EXIT_BAD_INPUT and "cannot read tweak file" in err


@pytest.mark.parametrize("keep", [False, True])
def test_no_op_tweak_explores_exactly_the_unmodified_states(keep: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tweak that changes nothing explores the unmodified model's states, with the reductions the tweak keeps: all of
    them with keep_reductions(); without it, those whose argument rests on no hook it overrides (can_grant_vote is in
    message pruning's, not in eager vote requests')."""
    f = tmp_path / "no_op.py"
    f.write_text(NO_OP + ("\nkeep_reductions()\n" if keep else ""))
    # Searches without pruning grow fast: 2 servers up to term 2 then, 3 servers with every reduction.
    n = 3 if keep else 2
    bounds = ["--servers", str(n), "--max-term", "2", "--out", str(tmp_path)]
    tweaked = summary(["--tweak-file", str(f), *bounds], capsys)
    assert tweaked["reductions"] == {"eager-votes": True, "pruning": keep, "folding": False, "eager-appends": False}
    assert tweaked["reduced"] is keep
    plain = CompiledExplorer(RaftPins(Raft(n, 2, 0, eager_votes=True, prune=keep))).run()
    assert tweaked["exit"] == console.EXIT_HOLDS and plain.status == "holds" and tweaked["verdict"] == "holds"
    assert tweaked["distinct_states"] == plain.stats.distinct_states
    assert tweaked["transitions"] == plain.stats.transitions
    if keep:  # the unmodified command, too
        unmodified = summary(bounds, capsys)
        assert unmodified["distinct_states"] == tweaked["distinct_states"]
