"""Honest about size (issue 15): a search's size is estimated from its bounds before it starts; a hopeless one is
refused unless --force or --max-states; many servers never make the checker list n! renamings; progress shows at once."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker import console
from checker.bfs import Progress
from raft_check import cli, sizing

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = pytest.CaptureFixture[str]


def check(*argv: str, timeout: float = 120, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "raft_check", *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=limit, check=False)


def test_the_estimate_fits_the_measured_counts() -> None:
    for (n, t, log), count in sizing.MEASURED.items():
        est = sizing.estimate(n, t, log, symmetry=True, reduced=True, store="memory").states
        assert count / 3 <= est <= count * 3, (n, t, log, count, est)
    three = sizing.estimate(3, 3, 0, symmetry=False, reduced=True, store="memory").states
    assert 217_489 / 3 <= three <= 217_489 * 3  # without symmetry (README's table): about n! times as many


def test_the_estimate_knows_the_compiled_stores() -> None:
    """Figure 8's bounds (3/4/1): the compiled engine's compact store (about 40 bytes a state) and speed, not the readable
    engine's, so that its runs are not refused or warned about for the other's."""
    fast = sizing.estimate(3, 4, 1, symmetry=True, reduced=True, store="compact", engine="readable")
    comp = sizing.estimate(3, 4, 1, symmetry=True, reduced=True, store="compact", engine="compiled")
    assert comp.bytes < fast.bytes / 2 and comp.seconds < fast.seconds / 5


def test_a_hopeless_search_is_refused_up_front(capsys: CAPTURE) -> None:
    code = cli.main(["--servers", "9"])
    out, err = capsys.readouterr()
    assert code == console.EXIT_BAD_INPUT and out == ""
    assert "too large to finish" in err and "--max-states" in err and "--force" in err and err.count("\n") == 1


def test_force_runs_a_refused_search_and_a_large_one_is_warned_about(tmp_path: Path, capsys: CAPTURE,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    small = ["--servers", "2", "--max-term", "1", "--quiet", "--out", str(tmp_path)]
    monkeypatch.setattr(sizing, "HARD_LIMIT", 1.0)
    assert cli.main(small) == console.EXIT_BAD_INPUT
    assert "too large" in capsys.readouterr().err
    assert cli.main([*small, "--force"]) == console.EXIT_HOLDS
    monkeypatch.setattr(sizing, "HARD_LIMIT", 1e10)
    monkeypatch.setattr(sizing, "physical_memory", lambda: 1000)
    assert cli.main(small) == console.EXIT_HOLDS
    err = capsys.readouterr().err
    assert "warning: this search may not fit in this machine's" in err
    assert "the first violation ends it sooner" in err  # the untweaked default stops at the first violation
    assert cli.main([*small, "--continue"]) == console.EXIT_HOLDS
    err = capsys.readouterr().err
    assert "warning: this search may not fit" in err and "ends it sooner" not in err


def test_many_servers_with_a_state_cap_stop_at_the_cap() -> None:
    """9 servers: symmetry would try up to 9! renamings per state (tens of seconds for the first ten states); the
    search runs without it, says so, and stops at the cap."""
    r = check("--servers", "9", "--max-states", "10", "--json", "--out", "/tmp", timeout=60)
    assert r.returncode == console.EXIT_INCOMPLETE, r.stderr
    data = json.loads(r.stdout)
    assert data["distinct_states"] == 10 and data["symmetry"] is False
    r = check("--servers", "9", "--max-states", "10", "--quiet", "--out", "/tmp", timeout=60)
    assert "symmetry is off above 7 servers" in r.stdout


def test_listing_properties_of_many_servers_lists_no_renamings() -> None:
    """11! renamings as tuples are some 4 GB: --list-properties at 11 servers must run in 1 GB of address space."""
    r = check("--servers", "11", "--list-properties", timeout=60, limit_bytes=1 << 30)
    assert r.returncode == 0, r.stderr
    assert "ElectionSafety" in r.stdout


def test_progress_shows_at_once_and_in_plain_lines_when_not_a_terminal() -> None:
    """stderr is a pipe here: the first line comes before the first state is stored, and no bar is drawn with '\\r'."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "raft_check", "--servers", "3", "--max-term", "4", "--out", "/tmp"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        waited = time.monotonic() - start
        second = proc.stderr.readline()
    finally:
        proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    assert first.startswith("progress: search started") and waited < 30  # interpreter start-up included; generous for CI
    assert second.startswith("progress: ") and "states, depth" in second and "\r" not in first + second


def test_plain_progress_lines_come_about_every_ten_seconds(capsys: CAPTURE) -> None:
    bar = console.ProgressBar(True)
    assert bar.plain  # pytest's captured stderr is no terminal
    for t in (0.5, 1.0, 5.0, 10.4, 11.0, 20.6, 21.2):
        bar(Progress(states=int(t * 100), transitions=0, depth=1, queue=0, elapsed=t, rss=0))
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(", ")[-1] for line in lines] == ["0 s", "11 s", "21 s"]
