"""``python -m checker`` runs the front door an installed package declares (entry point checker.front_door:check);
``python -m raft_check`` runs it from a source tree."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from checker import front_door

ROOT = Path(__file__).resolve().parent.parent


def _points(*eps: metadata.EntryPoint) -> Any:
    def entry_points(**params: Any) -> list[metadata.EntryPoint]:
        assert params == {"group": front_door.GROUP}
        return list(eps)

    return entry_points


def test_without_a_front_door_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(front_door.metadata, "entry_points", _points())
    assert front_door.find() is None
    assert front_door.main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no front door is installed" in err and "pip install -e ." in err


def test_a_declared_front_door_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    other = metadata.EntryPoint("other", "raft_check.cli:main", front_door.GROUP)
    ours = metadata.EntryPoint("check", "raft_check.cli:main", front_door.GROUP)
    monkeypatch.setattr(front_door.metadata, "entry_points", _points(other, ours))
    from raft_check import cli

    assert front_door.find() is cli.main
    monkeypatch.setattr(sys, "argv", ["checker", "--servers", "0"])
    assert front_door.main() == 2  # the front door's own bad input: it read sys.argv


def test_a_front_door_that_cannot_be_imported(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stale = metadata.EntryPoint("check", "no_such_front_door.cli:main", front_door.GROUP)
    monkeypatch.setattr(front_door.metadata, "entry_points", _points(stale))
    assert front_door.main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be imported" in err and "no_such_front_door" in err


def test_python_m_raft_check_and_python_m_checker() -> None:
    """From the source tree, ``python -m raft_check`` works; ``python -m checker`` works once the entry point is installed
    (pip install -e .), and otherwise says how to install it."""
    got = subprocess.run([sys.executable, "-m", "raft_check", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert got.returncode == 0 and "raft-check" in got.stdout
    via = subprocess.run([sys.executable, "-m", "checker", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    installed = any(ep.name == front_door.NAME for ep in metadata.entry_points(group=front_door.GROUP))
    if installed:
        assert via.returncode == 0 and via.stdout == got.stdout
    else:
        assert via.returncode == 2 and "pip install -e ." in via.stderr and via.stdout == ""


def test_the_entry_point_is_declared() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][front_door.GROUP][front_door.NAME] == project["scripts"]["check"] == "raft_check.cli:main"
