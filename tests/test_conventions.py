"""Honest summaries and command-line conventions (issue 15, findings 5 and 6), through the command line only."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from checker import console
from models import tweaks
from raft_check import cli

CAPTURE = pytest.CaptureFixture[str]


def run(capsys: CAPTURE, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# ------------------------------------------------------------------ 5. honest summaries

def test_defend_says_what_it_did_not_compare(tmp_path: Path, capsys: CAPTURE) -> None:
    code, out, _ = run(capsys, "defend", "--servers", "1", "--tweak", "raft", "--tweak", "vote-twice", "--tweak", "no-step-down",
                       "--quiet", "--out", str(tmp_path))
    assert code == console.EXIT_HOLDS
    assert "not compared" in next(line for line in out.splitlines() if line.startswith("vote-twice"))
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("OK: 1 verdict(s) as expected; 2 not compared") and "all" not in last
    code, out, _ = run(capsys, "defend", "--servers", "1", "--tweak", "raft", "--tweak", "vote-twice", "--quiet", "--json",
                       "--out", str(tmp_path))
    data = json.loads(out)
    assert data["outcome"] == "ok" and data["not_compared"] == ["vote-twice"]
    assert [r["compared"] for r in data["rows"]] == [True, False]


def test_a_log_tweak_at_max_log_0_is_an_error_with_the_fix(tmp_path: Path, capsys: CAPTURE) -> None:
    code, out, err = run(capsys, "--tweak", "no-log-check", "--servers", "3", "--max-term", "2", "--out", str(tmp_path))
    assert code == console.EXIT_BAD_INPUT and "--max-log 1" in err and "HOLDS" not in out


def test_a_tweak_file_whose_hooks_never_run_is_an_error(tmp_path: Path, capsys: CAPTURE) -> None:
    path = tmp_path / "commit_any.py"
    path.write_text("from models.tweaks import override\n\n@override('can_commit')\ndef can_commit(self, srv, i, index):\n"
                    "    return True\n")
    base = ["--tweak-file", str(path), "--servers", "2", "--max-term", "1", "--quiet", "--out", str(tmp_path)]
    code, out, err = run(capsys, *base)
    assert code == console.EXIT_BAD_INPUT and "never ran" in err and "--max-log 1" in err and "HOLDS" not in out
    code, out, _ = run(capsys, *base, "--max-log", "1")
    assert code == console.EXIT_HOLDS and "HOLDS" in out  # it runs there (and is safe at these bounds)
    # the compiled engine's threads (the default: every core) do not hide it: its hooks run in this process
    code, out, err = run(capsys, *base, "--engine", "compiled", "--workers", "2", "--stop-at-first")
    assert code == console.EXIT_BAD_INPUT and "never ran" in err and "HOLDS" not in out


def test_a_log_property_at_max_log_0_names_the_bound_it_needs(tmp_path: Path, capsys: CAPTURE) -> None:
    code, _, err = run(capsys, "--invariant", "LogMatching", "--servers", "2", "--max-term", "1", "--out", str(tmp_path))
    assert code == console.EXIT_BAD_INPUT and "--max-log 1" in err and "unknown property" not in err
    code, _, err = run(capsys, "--invariant", "NoSuchThing", "--out", str(tmp_path))
    assert code == console.EXIT_BAD_INPUT and "unknown property 'NoSuchThing'" in err


def test_a_sometimes_only_selection_reads_sensibly(tmp_path: Path, capsys: CAPTURE) -> None:
    code, out, _ = run(capsys, "--invariant", "LeaderElected", "--servers", "2", "--max-term", "1", "--quiet", "--out", str(tmp_path))
    last = out.rstrip().splitlines()[-1]
    assert code == console.EXIT_HOLDS and last.startswith("SATISFIED after a complete search: LeaderElected")
    assert not last.endswith(": ")


def test_list_tweaks_commands_reproduce_the_verdicts(tmp_path: Path, capsys: CAPTURE) -> None:
    code, out, _ = run(capsys, "--list-tweaks")
    assert code == 0
    t = tweaks.BUILTIN["no-step-down"]
    line = next(x.strip() for x in out.splitlines() if x.strip().startswith("check ") and "--tweak no-step-down" in x)
    assert "--invariant ElectionSafety" in line
    code, out, _ = run(capsys, *shlex.split(line)[1:], "--quiet", "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION and out.rstrip().splitlines()[-1] == f"VIOLATED: {t.expected}"


# ------------------------------------------------------------------ 6. conventions

def test_version_help_and_usage(capsys: CAPTURE) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("check (raft-check) ")
    code, out, _ = run(capsys, "help")
    assert code == 0 and out.startswith("usage: check [options]\n       check defend [options]")
    assert "1 violation or vacuous" in out and "4 the run itself failed" in out
    code, out, _ = run(capsys, "help", "defend")
    assert code == 0 and out.startswith("usage: check defend")
    code, _, err = run(capsys, "help", "nope")
    assert code == console.EXIT_BAD_INPUT and "subcommands: defend" in err


def test_listings_in_json(capsys: CAPTURE) -> None:
    code, out, _ = run(capsys, "--list-tweaks", "--json")
    data = json.loads(out)
    assert code == 0 and [t["name"] for t in data] == list(tweaks.BUILTIN)
    assert all(t["command"].startswith("check --servers ") for t in data)
    code, out, _ = run(capsys, "--list-properties", "--max-log", "1", "--json")
    data = json.loads(out)
    assert code == 0 and "LogMatching" in [p["name"] for p in data] and {"name", "kind", "group", "description"} == set(data[0])


def test_bad_input_in_json_is_one_object(capsys: CAPTURE) -> None:
    for argv in (["--servers", "0", "--json"], ["defend", "--bogus", "--json"], ["--json", "--tweak", "nope"]):
        code, out, err = run(capsys, *argv)
        data = json.loads(out)
        assert code == console.EXIT_BAD_INPUT and data["verdict"] == "bad input" and data["exit_code"] == 2 and data["error"] in err
