"""Every subcommand keeps the exit-code contract: a crash of the run is exit 4 with one line (never 1, never a
traceback), bad input exit 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raft_check import cli

BOOM = """from models.tweaks import expect, override


@override("can_grant_vote")
def can_grant_vote(self, srv, m):
    raise RuntimeError("boom")


expect("ElectionSafety", servers=2, max_term=1)
"""
VOTE = Path(__file__).resolve().parent.parent / "counterexamples" / "vote-twice" / "ElectionSafety_s2_t1.itf.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def test_defend_row_that_crashes_is_a_failed_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "boom.py").write_text(BOOM)
    code, out, err = run(capsys, "defend", "--tweak", "vote-twice", "--tweak-file", str(tmp_path / "boom.py"), "--quiet",
                         "--out", str(tmp_path / "o"))
    assert code == 4, out + err
    assert "MISMATCH" not in out and "boom" in err.splitlines()[-1]


def test_defend_simulate_refuses_tweak_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "defend", "--simulate", "--tweak-file", str(tmp_path / "x.py"), "--tweak", "vote-twice",
                       "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and "--tweak-file" in err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_simulate_crash_is_one_line_exit_4(tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str) -> None:
    (tmp_path / "boom.py").write_text(BOOM)
    code, out, err = run(capsys, "simulate", "--tweak-file", str(tmp_path / "boom.py"), "--servers", "2", "--max-term", "1",
                         "--walks", "5", "--workers", workers, "--quiet", "--json", "--out", str(tmp_path / "o"))
    assert code == 4
    assert err.count("\n") == 1 and "Traceback" not in err and "boom" in err, err
    assert json.loads(out)["verdict"] == "failed"


def test_explore_port_out_of_range_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "explore", "--port", "99999")
    assert code == 2 and "65535" in err


def test_view_of_damaged_itf_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(VOTE.read_text())
    bad_vars = {**doc, "vars": 3}
    (tmp_path / "a.itf.json").write_text(json.dumps(bad_vars))
    code, out, err = run(capsys, "view", str(tmp_path / "a.itf.json"), "-o", str(tmp_path / "a.html"))
    assert code == 2 and "'vars'" in err and err.count("\n") == 1
    helped = {**doc, "#meta": {**doc["#meta"], "description": "Shortest counterexample to ElectionSafety, produced by: check --help"}}
    (tmp_path / "b.itf.json").write_text(json.dumps(helped))
    code, out, err = run(capsys, "view", str(tmp_path / "b.itf.json"), "-o", str(tmp_path / "b.html"))
    assert code == 2 and "usage" not in out and not (tmp_path / "b.html").exists()
