"""``check defend --tweak-file F``: a team's own tweaks in the defence table, compared with what each file expects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checker import console
from raft_check import cli

GRANT_ALL = '''\
from models.raft import Message, Raft, ServerVars
from models.tweaks import expect, expect_holds, override


@override("can_grant_vote")
def can_grant_vote(self: Raft, srv: ServerVars, m: Message) -> bool:
    """Grant every vote request, ignoring votedFor."""
    return True


'''


def write(tmp_path: Path, name: str, text: str) -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


def defend(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["defend", "--tweak", "vote-twice", "--quiet", *argv])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_expectations_met(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "grant_all.py", GRANT_ALL + 'expect("ElectionSafety", servers=2, max_term=1)\n'
              'expect("SelfVote", servers=3, max_term=1)\n'
              'expect("ElectionSafetyHistory", servers=2, max_term=1)\n')
    code, out, err = defend(capsys, "--tweak-file", str(f), "--out", str(tmp_path / "o"))
    assert code == console.EXIT_HOLDS, out + err
    assert re.search(r"^vote-twice .*ElectionSafety +ElectionSafety +8 ", out, re.M)  # the built-in row is still there
    rows = [line for line in out.splitlines() if line.startswith("grant_all ")]
    assert len(rows) == 3
    assert re.search(r"servers=2 +ElectionSafety +ElectionSafety +8 ", rows[0])  # eager vote requests kept (per rule)
    # SelfVote is no safety property, but the row checks what the file expects (with --continue it is not hidden)
    assert re.search(r"servers=3 +SelfVote +SelfVote +\d+ ", rows[1]), rows[1]
    assert re.search(r"servers=2 +ElectionSafetyHistory +ElectionSafetyHistory +\d+ ", rows[2]), rows[2]  # the opt-in ghost
    assert "OK: all 4 verdicts as expected" in out
    txt = tmp_path / "o" / "grant_all" / "ElectionSafety_s2_t1.txt"
    first = txt.read_text().splitlines()[0]
    assert first.startswith("check --servers 2 --max-term 1 --tweak-file ") and first.endswith(" --continue")


def test_wrong_expectation_is_a_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "grant_all.py", GRANT_ALL + "expect_holds(servers=2, max_term=1)\n")
    code, out, _ = defend(capsys, "--tweak-file", str(f), "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION
    assert re.search(r"^grant_all .* holds +ElectionSafety  << MISMATCH", out, re.M)
    assert "FAILED: 1 verdict(s) differ from the expected: grant_all" in out


def test_expected_violation_that_does_not_happen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With one server no vote is ever requested, so the file's hook never runs: its "holds" would be the unmodified
    protocol's (check refuses it), and the row has no verdict, a mismatch."""
    f = write(tmp_path, "grant_all.py", GRANT_ALL + 'expect("ElectionSafety", servers=1, max_term=2)\n')
    code, out, _ = defend(capsys, "--tweak-file", str(f), "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION
    assert re.search(r"^grant_all .* ElectionSafety +no verdict: .*never ran.*<< MISMATCH", out, re.M | re.S), out


def test_file_without_expectation_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "grant_all.py", GRANT_ALL)
    code, _, err = defend(capsys, "--tweak-file", str(f), "--out", str(tmp_path))
    assert code == console.EXIT_BAD_INPUT
    assert "declares no expected verdict" in err and "expect_holds(" in err


@pytest.mark.parametrize(("call", "message"), [
    ('expect("NoSuchProperty", servers=2, max_term=1)', "no property 'NoSuchProperty'; valid properties: ElectionSafety"),
    ('expect("LeaderElected", servers=2, max_term=1)', "is a reachability check"),
    ('expect("LogMatching", servers=2, max_term=1)', "checked only with max_log >= 1; add max_log=1"),
    ('expect("ElectionSafety", servers=0, max_term=1)', "servers=0 is impossible; it must be at least 1"),
    ('expect_holds(servers=2, max_term=-1)', "max_term=-1 is impossible"),
    ('expect_holds(servers="2", max_term=1)', "servers must be a whole number"),
])
def test_misuse_fails_at_definition_time(call: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "grant_all.py", GRANT_ALL + call + "\n")
    line = len(GRANT_ALL.splitlines()) + 1
    for argv in (["defend", "--tweak-file", str(f)], ["--tweak-file", str(f)]):  # defend and check both refuse the file
        code = cli.main([*argv, "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == console.EXIT_BAD_INPUT, err
        assert f"grant_all.py:{line}: " in err and message in err, err
        assert len(err.strip().splitlines()) == 1


def test_check_ignores_expectations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "grant_all.py", GRANT_ALL + "expect_holds(servers=2, max_term=1)\n")
    code = cli.main(["--tweak-file", str(f), "--servers", "2", "--max-term", "1", "--invariant", "ElectionSafety", "--quiet",
                     "--out", str(tmp_path)])
    assert code == console.EXIT_VIOLATION and "VIOLATED: ElectionSafety" in capsys.readouterr().out

