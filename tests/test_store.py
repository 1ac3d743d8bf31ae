"""The fast engine's compact stores (``--store compact`` and ``--store fp``, checker/store.py) against the memory store.

The compact store must give exactly the memory store's search: the same
states, counts, depth, per-action counts, verdicts and traces, also when
fingerprints collide.  The fp store gives the same search unless fingerprints
collide; a test forces collisions to show what that costs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from checker import console, store
from checker.bfs import HOLDS, INCOMPLETE, VIOLATED, Result
from checker.store import RunStore, collision_probability
from checker.trace import replay
from models import tweaks
from models.raft import Action, Raft, State
from raft_check import cli, defend, fast
from raft_check.fast import FastExplorer

BOUNDS = [(2, 2, 1), (3, 2, 0), (3, 1, 1), (4, 1, 0)]


def summary(r: Result[State, Action]) -> tuple[object, ...]:
    st = r.stats
    return r.status, st.distinct_states, st.transitions, st.depth, dict(st.action_counts), sorted(r.unsatisfied)


@pytest.mark.parametrize("symmetry", [True, False], ids=["sym", "nosym"])
@pytest.mark.parametrize("bounds", BOUNDS, ids=lambda b: "s{}t{}l{}".format(*b))
def test_every_store_gives_the_same_search(bounds: tuple[int, int, int], symmetry: bool) -> None:
    base = FastExplorer(Raft(*bounds), symmetry=symmetry)
    want = summary(base.run())
    assert want[0] == HOLDS
    for kind in ("compact", "fp"):
        ex = FastExplorer(Raft(*bounds), symmetry=symmetry, store=kind)
        assert summary(ex.run()) == want, kind
        if kind == "compact":
            got = list(ex.reachable())
            assert len(got) == len(set(got)) and set(got) == set(base.reachable())


# A few unsafe tweaks of both layers: the violation, and the whole trace, must not depend on the store.
TRACED = ["half-quorum", "vote-twice", "no-step-down", "no-log-check", "no-prev-log-check"]


@pytest.mark.parametrize("name", TRACED)
def test_every_store_reports_the_same_trace(name: str) -> None:
    t = tweaks.BUILTIN[name]
    model = tweaks.apply([t])(*t.bounds)
    props = defend.safety_properties(model)
    results = {kind: FastExplorer(model, props, store=kind).run() for kind in fast.STORES}
    traces = {}
    for kind, r in results.items():
        assert r.status == VIOLATED and r.violation is not None, kind
        assert r.violation.prop.name == t.expected
        replay(model, r.violation.trace, r.violation.prop)  # rebuilt from (parent, position) records: still a real execution
        traces[kind] = [(step.action, step.state) for step in r.violation.trace]
    assert traces["compact"] == traces["memory"] == traces["fp"]


def test_state_cap_is_the_same_in_every_store() -> None:
    full = FastExplorer(Raft(3, 2, 0), []).run().stats.distinct_states
    for kind in fast.STORES:
        capped = FastExplorer(Raft(3, 2, 0), [], store=kind, max_states=500).run()
        assert (capped.status, capped.stats.distinct_states) == (INCOMPLETE, 500), kind
        exact = FastExplorer(Raft(3, 2, 0), [], store=kind, max_states=full).run()
        assert (exact.status, exact.stats.distinct_states) == (HOLDS, full), kind


def test_colliding_fingerprints(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every fingerprint equal, compact is still exact; fp stores one state per batch and says nothing is wrong."""
    want = summary(FastExplorer(Raft(2, 2, 0)).run())
    monkeypatch.setattr(fast, "fingerprints", lambda rows: np.full(len(rows), 7, dtype=np.int64))
    assert summary(FastExplorer(Raft(2, 2, 0), store="compact").run()) == want
    lossy = FastExplorer(Raft(2, 2, 0), [], store="fp").run()
    assert lossy.status == HOLDS and lossy.stats.distinct_states < want[1]  # the cost of trusting fingerprints


def test_run_store_exact_and_fp() -> None:
    rows = np.array([[1, 2], [1, 3]], dtype=np.uint32)
    for exact in (True, False):
        s = RunStore(exact, 2)
        s.add(np.array([5, 5], dtype=np.int64), rows)
        probe = np.array([[1, 3], [1, 4], [9, 9]], dtype=np.uint32)
        got = s.new_mask(np.array([5, 5, 6], dtype=np.int64), probe).tolist()
        # [1, 3] is stored (second of two equal fingerprints); [1, 4] only shares a fingerprint; [9, 9] is new.
        assert got == ([False, True, True] if exact else [False, False, True])


def test_run_store_searches_every_run_for_a_shared_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs are searched newest first: a fingerprint that a newer run holds for another row is looked for in older runs too."""
    monkeypatch.setattr(store, "MAX_RUN", 2)  # two runs that do not merge
    s = RunStore(True, 2)
    s.add(np.array([5, 8], dtype=np.int64), np.array([[1, 2], [3, 3]], dtype=np.uint32))
    s.add(np.array([5], dtype=np.int64), np.array([[1, 3]], dtype=np.uint32))
    assert len(s.fps) == 2
    probe = np.array([[1, 2], [1, 3], [1, 4], [3, 3]], dtype=np.uint32)
    assert s.new_mask(np.array([5, 5, 5, 8], dtype=np.int64), probe).tolist() == [False, False, True, False]


def test_run_store_merges_and_finds_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_RUN", 64)
    rng = np.random.default_rng(1)
    fps = rng.permutation(1000).astype(np.int64) * 7919 - 3_000_000
    rows = np.stack([fps % 1000, fps // 1000], axis=1).astype(np.uint32)
    s = RunStore(True, 2)
    for lo in range(0, 1000, 10):
        batch = slice(lo, lo + 10)
        assert s.new_mask(fps[batch], rows[batch]).all()
        s.add(fps[batch], rows[batch])
        assert not s.new_mask(fps[: lo + 10], rows[: lo + 10]).any()
    assert len(s) == 1000 and all(len(r) <= 64 for r in s.fps) and len(s.fps) < 40
    assert all((np.diff(r) >= 0).all() for r in s.fps)
    assert s.nbytes == 1000 * (8 + 2 * 4)
    # Runs that can no longer merge have their rows on disk (mapped); the last one, still growing, does not.
    spilt = [isinstance(r, np.memmap) for r in s.rows]
    assert any(spilt) and not spilt[-1]
    assert all(len(s.fps[k]) + len(s.fps[k + 1]) > 64 for k, on_disk in enumerate(spilt) if on_disk)


def test_spill_maps_the_rows_it_was_given() -> None:
    parts = [np.arange(6, dtype=np.uint32).reshape(3, 2), np.zeros((0, 2), dtype=np.uint32), np.full((2, 2), 7, dtype=np.uint32)]
    out = store.Spill(2)
    for a in parts:
        out.add(a)
    got = out.close()
    assert isinstance(got, np.memmap) and got.tolist() == np.concatenate(parts).tolist()
    assert store.Spill(3).close().shape == (0, 3)


def test_collision_probability() -> None:
    assert collision_probability(1) == 0.0
    assert collision_probability(2**32) == pytest.approx(0.5, rel=1e-6)


def test_cli_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "3", "--max-term", "2", "--quiet", "--engine", "fast", "--out", str(tmp_path)]  # (auto: compiled)
    assert cli.main([*base, "--store", "fp"]) == console.EXIT_HOLDS
    out = capsys.readouterr().out
    assert "store fp" in out and "fingerprint collision hid a state is about" in out and "fp store" in out
    assert cli.main([*base, "--store", "compact", "--json"]) == console.EXIT_HOLDS
    got = json.loads(capsys.readouterr().out)
    assert (got["store"], got["distinct_states"], got["collision_probability"]) == ("compact", 1333, 0.0)
    assert got["store_bytes"] > 1333 * 40
    assert cli.main([*base, "--store", "compact", "--engine", "readable"]) == console.EXIT_BAD_INPUT
    assert "--store compact needs the compiled engine (or --engine fast)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown store"):
        FastExplorer(Raft(2, 1, 0), store="disk")


def test_progress_is_reported_with_a_sane_queue() -> None:
    from checker.bfs import Progress

    seen: list[Progress] = []
    r = FastExplorer(Raft(3, 2, 0), [], store="compact", progress=seen.append, progress_interval=0.0).run()
    assert seen and all(p.queue >= 0 for p in seen)
    assert [p.states for p in seen] == sorted(p.states for p in seen) and seen[-1].states <= r.stats.distinct_states
