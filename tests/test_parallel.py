"""Worker processes (``--workers N``, raft_check/parallel.py) against the one-process batched search.

Several workers must give exactly the one-process search: the same states in
the same order, counts, per-action counts, verdict, witnesses and trace.  The
chunk size is made tiny in most tests, so that every level is cut into many
chunks and workers keep meeting codes interned by the main process or by the
other worker -- the translation of codes at the boundary is what could go
wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import interrupt_check

from checker import console
from checker.bfs import HOLDS, INCOMPLETE, VIOLATED, Result
from checker.model import action_property
from checker.trace import replay
from models import tweaks
from models.raft import Action, Raft, State
from raft_check import cli, defend, fast, parallel
from raft_check.fast import FastExplorer


def summary(r: Result[State, Action]) -> tuple[object, ...]:
    st = r.stats
    return r.status, st.distinct_states, st.transitions, st.depth, dict(st.action_counts), sorted(r.unsatisfied)


def trace_of(r: Result[State, Action]) -> list[tuple[object, State]]:
    assert r.violation is not None
    return [(step.action, step.state) for step in r.violation.trace]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "CHUNK", 37)


@pytest.mark.parametrize("bounds", [(3, 2, 0), (2, 2, 1), (3, 1, 1)], ids=lambda b: "s{}t{}l{}".format(*b))
@pytest.mark.usefixtures("small_chunks")
def test_workers_give_the_same_search(bounds: tuple[int, int, int]) -> None:
    one = FastExplorer(Raft(*bounds), store="compact")
    want = summary(one.run())
    assert want[0] == HOLDS
    for workers in (2, 3):
        ex = FastExplorer(Raft(*bounds), store="compact", workers=workers)
        r = ex.run()
        assert summary(r) == want, workers
        assert list(ex.reachable()) == list(one.reachable()), workers  # same states, same order
        for name, trace in r.witnesses.items():
            assert trace is not None
            replay(ex.model, trace, next(p for p in ex.props if p.name == name))


@pytest.mark.parametrize("name", ["half-quorum", "no-log-check", "no-prev-log-check", "truncate-always"])
@pytest.mark.usefixtures("small_chunks")
def test_workers_report_the_same_trace(name: str) -> None:
    t = tweaks.BUILTIN[name]
    model = tweaks.apply([t])(*t.bounds)
    props = defend.safety_properties(model)
    want = FastExplorer(model, props, store="compact").run()
    for kind in ("compact", "fp"):
        got = FastExplorer(model, props, store=kind, workers=2).run()
        assert got.status == VIOLATED and got.violation is not None and got.violation.prop.name == t.expected
        assert summary(got) == summary(want), kind
        assert trace_of(got) == trace_of(want), kind
        replay(model, got.violation.trace, got.violation.prop)


@pytest.mark.usefixtures("small_chunks")
def test_action_property_found_in_a_worker() -> None:
    """An action property is checked inside the workers; the failing transition comes back translated."""

    @action_property("NoLeaderEver", "no server ever becomes leader")
    def no_leader(s: State, a: object, t: State) -> bool:
        return getattr(a, "name", "") != "BecomeLeader"

    model = Raft(3, 2, 0)
    want = FastExplorer(model, [no_leader], store="compact").run()
    got = FastExplorer(model, [no_leader], store="compact", workers=2).run()
    assert got.status == VIOLATED and summary(got) == summary(want)
    assert got.violation is not None
    assert trace_of(got) == trace_of(want)
    last = got.violation.trace[-1].action
    assert isinstance(last, Action) and last.name == "BecomeLeader"


def test_state_cap_with_workers() -> None:
    capped = FastExplorer(Raft(3, 2, 0), [], store="compact", max_states=500, workers=2).run()
    assert (capped.status, capped.stats.distinct_states) == (INCOMPLETE, 500)


def test_a_failing_worker_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside a worker reaches the main process with the worker's traceback."""
    real = FastExplorer.expand_chunk

    def broken(self: FastExplorer, rows: list[list[int]], idx: int, checks: object) -> object:
        if idx > 0:
            raise ArithmeticError("boom in a worker")
        return real(self, rows, idx, checks)  # type: ignore[arg-type]

    monkeypatch.setattr(FastExplorer, "expand_chunk", broken)
    with pytest.raises(RuntimeError, match=r"(?s)worker 1 failed.*boom in a worker"):
        FastExplorer(Raft(3, 1, 0), store="compact", workers=2).run()


def test_bad_worker_arguments() -> None:
    with pytest.raises(ValueError, match="batched store"):
        FastExplorer(Raft(2, 1, 0), workers=2)
    with pytest.raises(ValueError, match="at least 1"):
        FastExplorer(Raft(2, 1, 0), store="compact", workers=0)


def test_cli_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "2", "--max-term", "2", "--quiet", "--engine", "fast", "--out", str(tmp_path)]  # (auto: compiled, threads)
    assert cli.main([*base, "--workers", "2"]) == console.EXIT_BAD_INPUT
    assert "--store compact" in capsys.readouterr().err
    assert cli.main([*base, "--store", "compact", "--workers", "2"]) == console.EXIT_HOLDS
    out = capsys.readouterr().out
    assert "2 worker processes" in out and "HOLDS after a complete search" in out
    assert cli.main([*base, "--store", "compact", "--workers", "0"]) == console.EXIT_BAD_INPUT
    assert "--workers" in capsys.readouterr().err


def test_code_map_grows() -> None:
    m = parallel._Map(3)
    assert m.a[:4].tolist() == [0, 1, 2, -1]
    m.set(100, 7)
    import numpy as np

    assert m.get(np.array([2, 100, 500])).tolist() == [2, 7, -1]


@pytest.mark.parametrize("engine", ["fast", "auto"])
def test_sigterm_ends_a_run_as_incomplete(tmp_path: Path, engine: str) -> None:
    """`kill` (SIGTERM) stops a run as ^C does: the workers (fast: processes; auto, the compiled engine: threads) are
    stopped and the verdict says nothing is proved."""
    import signal

    cmd = ["-m", "raft_check", "--servers", "3", "--max-term", "3", "--max-log", "1", "--store", "compact",
           "--workers", "2", "--quiet", "--engine", engine, "--out", str(tmp_path)]
    code, out, err = interrupt_check(cmd, signal.SIGTERM)
    assert code == console.EXIT_INCOMPLETE, err
    assert "INCOMPLETE (interrupted)" in out and "nothing is proved" in out


@pytest.mark.usefixtures("small_chunks")
def test_workers_that_drop_their_memos_give_the_same_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker over its memory limit forgets its memo tables (every 16 chunks here): the search must not change."""
    monkeypatch.setattr(parallel, "WORKER_RSS_LIMIT", -1)
    t = tweaks.BUILTIN["no-log-check"]
    model = tweaks.apply([t])(*t.bounds)
    want = FastExplorer(model, store="compact").run()
    got = FastExplorer(model, store="compact", workers=2).run()
    assert summary(got) == summary(want) and trace_of(got) == trace_of(want)


def test_drop_memos_keeps_the_codes() -> None:
    from models.fast_raft import FastRaft

    ex = FastExplorer(Raft(2, 2, 1), store="compact")
    ex.run()
    fr = ex.fr
    assert fr.canon_memo and fr.act_memo and ex.pair_ok
    tables = fr.tables()
    parallel.drop_memos(ex, [])
    assert not fr.canon_memo and not fr.act_memo and not ex.pair_ok and fr.tables() == tables
    assert parallel._rss() > 0 and isinstance(fr, FastRaft)
