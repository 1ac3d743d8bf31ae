"""Checkpoints (``--checkpoint DIR``, checker/checkpoint.py) through the command line: what the folder must be, which
checkpoints are refused, and what names a search.  The compiled engine's save and resume are tested in
tests/test_checkpoint_compiled.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker import checkpoint, console
from checker.checkpoint import CheckpointError
from models.raft import Raft
from raft_check import cli


def test_cli_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "2", "--max-term", "2", "--quiet", "--out", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "ck")]
    assert cli.main(base) == console.EXIT_HOLDS  # any store on the compiled engine
    out = capsys.readouterr().out
    assert "none saved yet" in out and "nothing saved" in out  # a run of a second saves nothing (at most once a minute)
    assert cli.main([*base, "--engine", "readable"]) == console.EXIT_BAD_INPUT
    assert "--checkpoint needs the compiled engine" in capsys.readouterr().err
    # A checkpoint of another search in the directory: refused with a message, not resumed.
    other = ["--servers", "2", "--max-term", "1", "--quiet", "--out", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "ck2"),
             "--checkpoint-every", "0.000001"]
    assert cli.main(other) == console.EXIT_HOLDS
    assert cli.main([*base[:-1], str(tmp_path / "ck2")]) == console.EXIT_BAD_INPUT
    assert "holds a checkpoint of another search" in capsys.readouterr().err


def test_a_checkpoint_of_the_retired_fast_engine_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first-generation fast engine's checkpoints (format 2, no engine name in the manifest) cannot be resumed: one
    line says so, before any search."""
    saved = tmp_path / "ck" / "saved"
    saved.mkdir(parents=True)
    (saved / "meta.pickle").write_bytes(b"")
    body = {"format": checkpoint.FORMAT, "key": "k", "runs": 0, "exact": True,
            "files": {"meta.pickle": {"bytes": 0, "sha256": ""}}}
    (saved / checkpoint.MANIFEST).write_text(json.dumps({**body, "digest": checkpoint._digest(body)}))
    with pytest.raises(CheckpointError, match="checkpoint of the first-generation fast engine"):
        checkpoint.verify(tmp_path / "ck")
    code = cli.main(["--servers", "2", "--max-term", "1", "--quiet", "--out", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "ck")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == console.EXIT_BAD_INPUT and len(err) == 1 and "fast engine" in err[0] and "delete it" in err[0]


def test_cli_checkpoint_every(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "2", "--max-term", "2", "--quiet", "--store", "compact", "--out", str(tmp_path / "out")]
    assert cli.main([*base, "--checkpoint-every", "5"]) == console.EXIT_BAD_INPUT
    assert "--checkpoint-every needs --checkpoint DIR" in capsys.readouterr().err
    for bad in ("0", "-1", "soon", "inf"):
        assert cli.main([*base, "--checkpoint", str(tmp_path / "ck"), "--checkpoint-every", bad]) == console.EXIT_BAD_INPUT
        assert "argument --checkpoint-every" in capsys.readouterr().err
    # A tiny interval saves at the first level end; the default (a minute) saves nothing in a run of a second.
    assert cli.main([*base, "--checkpoint", str(tmp_path / "ck"), "--checkpoint-every", "0.00001"]) == console.EXIT_HOLDS
    assert "last saved at depth" in capsys.readouterr().out
    assert cli.command_line(["--checkpoint", "ck", "--checkpoint-every", "30", "--servers", "3"]) == "check --servers 3"


def test_search_key_names_what_is_searched() -> None:
    props = list(Raft(3, 2, 1).properties())
    key = cli.search_key(Raft(3, 2, 1), props, True, "compact", None)
    assert "servers=3 max-term=2 max-log=1" in key and "store=compact" in key and "LeaderCompleteness" in key
    assert key != cli.search_key(Raft(3, 2, 1), props[:1], True, "compact", None)
    assert key != cli.search_key(Raft(3, 2, 1, reduce=False), props, True, "compact", None)
    assert key != cli.search_key(Raft(3, 2, 1), props, False, "compact", None)


def test_recorded_command_names_no_checkpoint_directory() -> None:
    argv = ["--servers", "3", "--checkpoint", "/tmp/ck", "--store", "compact", "--checkpoint=/x", "--workers", "2"]
    assert cli.command_line(argv) == "check --servers 3 --store compact --workers 2"
