"""Distributed search with the compiled kernel in every actor (checker/ray_compiled.py, issue #19 stage 2).

On a real two-node Ray cluster (tests/conftest.py), each search is compared with the one-process compiled engine: the
stored state vectors in BFS order (so every representative, every index and with them every interned code), the counts,
action counts, verdict, and the concrete traces of violations and witnesses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import same

from checker.compiled import CompiledExplorer
from checker.distributed import INSTALL
from checker.result import Result
from models import tweaks
from models.raft import Raft
from models.raft_pins import RaftPins, unsupported

ray = pytest.importorskip("ray", reason=f"the Ray tests need the extra: {INSTALL}")

from checker.ray_compiled import CompiledRayExplorer  # noqa: E402  (after the skip: it needs no Ray, but its tests do)

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "models" / "manifest.json").read_text())


def pins(model: Raft, symmetry: bool = True) -> RaftPins:
    return RaftPins(model, model.properties(), symmetry=symmetry)


def both(model: Raft, cluster: Any, *, symmetry: bool = True, store: str = "memory", actors: int | None = None,
         **kw: Any) -> tuple[Result[Any, Any], Result[Any, Any], CompiledRayExplorer]:
    """The one-process compiled search and the distributed one of ``model``; the stored vectors must be the same."""
    one = CompiledExplorer(pins(model, symmetry), symmetry=symmetry, workers=1, store=store, **kw)
    r1 = one.run()
    ex = CompiledRayExplorer(pins(model, symmetry), symmetry=symmetry, store=store, address=cluster.address, actors=actors,
                             keep_vectors=True, **kw)
    r2 = ex.run()
    if r1.status != "incomplete" or r1.incomplete_reason != "interrupted":
        assert ex.vectors == list(one.vectors())[: len(ex.vectors)]
        assert len(ex.vectors) == r1.stats.distinct_states
    return r1, r2, ex


# The suite's share (test_distributed.py runs every pinned configuration up to 2,500 states on readable actors): with and
# without symmetry and the reductions, the election layer and the log layer.
PICKED = {(3, 2, 0, True, True), (3, 2, 0, True, False), (2, 1, 1, True, True), (2, 2, 0, False, True), (3, 1, 0, False, True)}
SMALL = [c for c in MANIFEST["configs"] if (c["servers"], c["max_term"], c["max_log"], c["reduced"], c["symmetry"]) in PICKED
         and unsupported(Raft(c["servers"], c["max_term"], c["max_log"], reduce=c["reduced"])) is None]


@pytest.mark.parametrize("c", SMALL, ids=[f"{c['servers']}-{c['max_term']}-{c['max_log']}-{'r' if c['reduced'] else 'u'}"
                                          f"{'s' if c['symmetry'] else 'n'}" for c in SMALL])
def test_pinned_counts_and_states_as_one_process(c: dict[str, Any], cluster: Any) -> None:
    model = Raft(c["servers"], c["max_term"], c["max_log"], reduce=c["reduced"])
    one, dist, _ = both(model, cluster, symmetry=c["symmetry"])
    assert dist.stats.distinct_states == c["distinct_states"]
    assert dist.status == c["verdict"]
    same(one, dist)


def test_small_batches_fill_the_tables_in_one_process_order(cluster: Any) -> None:
    """Many batches a level, each in several rounds: the interned codes, and so every stored vector, are the one-process
    engine's only if the misses are filled in its order (state by state across actors)."""
    _, dist, ex = both(Raft(3, 2, 0), cluster, batch=32)
    assert ex.rounds > 40
    assert dist.status == "holds"


def test_states_put_off_for_room_as_in_one_process(cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lanes that start with room for 4 successors put off most states to a later round, with the keys they missed so
    far: the actors share one capacity, grown to the most any of them needed, and report a put-off state's keys with
    it, as one process's lanes do.  (Raft's fill order proved insensitive to either here: each mutation of them
    passed this test; it checks that put-off states come back and change nothing.)"""
    from checker import compiled

    monkeypatch.setattr(compiled, "FIRST_SCRATCH", 4)
    _, dist, ex = both(Raft(3, 2, 0), cluster, batch=256)
    assert ex.scratch_cap > 4
    assert dist.status == "holds"


@pytest.mark.parametrize("name", ["vote-twice", "term-not-persisted", "no-log-check"])  # no-step-down: with 5 actors
def test_tweak_traces_as_one_process(name: str, cluster: Any) -> None:
    """A violation's trace, and the counts at the transition where the search stopped (term-not-persisted: an ACTION
    property, before its successor is stored)."""
    t = tweaks.BUILTIN[name]
    one, dist, _ = both(tweaks.apply([t])(*t.bounds), cluster)
    assert dist.violation is not None
    same(one, dist)


def test_continue_decides_every_property_as_one_process(cluster: Any) -> None:
    t = tweaks.BUILTIN["vote-twice"]
    one, dist, _ = both(tweaks.apply([t])(*t.bounds), cluster, keep_going=True)
    assert len(dist.violations) >= 2
    same(one, dist)


def test_continue_with_an_action_property(cluster: Any) -> None:
    t = tweaks.BUILTIN["term-not-persisted"]
    one, dist, _ = both(tweaks.apply([t])(*t.bounds), cluster, keep_going=True)
    assert any(v.prop.kind.name == "ACTION" for v in dist.violations)
    same(one, dist)


@pytest.mark.parametrize("cap", [1, 1332])
def test_state_cap_stops_where_one_process_does(cap: int, cluster: Any) -> None:
    one, dist, _ = both(Raft(3, 2, 0), cluster, max_states=cap)
    assert dist.status == "incomplete" and dist.stats.distinct_states == cap
    same(one, dist)


def test_more_actors_than_cpus_and_the_compact_store(cluster: Any) -> None:
    """Five actors on two one-CPU nodes, each with a compact store part; the report tells the actors' memory and their
    stores' bytes (the driver holds no store), not the driver's alone."""
    from checker.console import fmt_bytes, stats_table

    t = tweaks.BUILTIN["no-step-down"]
    one, dist, ex = both(tweaks.apply([t])(3, 2, 0), cluster, actors=5, store="compact")
    same(one, dist)
    st = dist.stats
    assert (st.actors, st.actor_nodes, st.store) == (5, 2, "compact")
    assert st.store_bytes == sum(f["store_bytes"] for f in ex.figures) >= one.stats.store_bytes
    assert st.actors_peak_rss == sum(f["peak_rss"] for f in ex.figures) > st.actor_peak_rss_max > 0
    table = stats_table(dist)
    assert f"the 5 actors together (at most {fmt_bytes(st.actor_peak_rss_max)} one), on 2 nodes" in table
    assert f"compact store      {fmt_bytes(st.store_bytes)} in the actors" in table


def test_the_fp_store_is_refused() -> None:
    with pytest.raises(ValueError, match="use --store memory or compact"):
        CompiledRayExplorer(pins(Raft(2, 1, 0)), store="fp")


def test_an_actor_killed_mid_search_changes_nothing(cluster: Any) -> None:
    """One actor killed mid-search before any level end is saved: new actors, given the driver's tables as they are,
    start again, and every stored vector is the one process's (the tables are a cache that only grows)."""
    from helpers import kill_one_when

    t = tweaks.BUILTIN["no-log-check"]
    model = tweaks.apply([t])(*t.bounds)
    notes: list[str] = []
    one = CompiledExplorer(pins(model), workers=1, batch=512)
    r1 = one.run()
    ex = CompiledRayExplorer(pins(model), address=cluster.address, save_every=1e9, notice=notes.append, keep_vectors=True,
                             batch=512)
    same(r1, kill_one_when(ex, 3000, []))
    assert ex.vectors == list(one.vectors())
    assert ex.restarts == 1 and "restarting on new actors from the start (no level end saved yet)" in notes[0]


def test_a_restart_goes_on_from_the_last_saved_level(cluster: Any) -> None:
    """Killed after a level end was saved: the new actors load their parts, the driver puts back its counters and
    verdicts (--continue, after a witness), and the result is the one process's."""
    from helpers import killing_after_witness

    KillAfterWitness = killing_after_witness(CompiledRayExplorer)

    model = Raft(3, 2, 0)
    notes: list[str] = []
    one = CompiledExplorer(pins(model), workers=1, keep_going=True, batch=64)
    r1 = one.run()
    ex = KillAfterWitness(pins(model), address=cluster.address, save_every=0.0, batch=64, notice=notes.append,
                          keep_going=True, keep_vectors=True)
    same(r1, ex.run())
    assert ex.vectors == list(one.vectors())
    assert ex.killed and ex.restarts == 1 and "restarting on new actors from the end of level " in notes[0]


def test_interrupt_gives_an_incomplete_report(cluster: Any) -> None:
    """^C mid-search of `check --servers 3 --max-term 4 --ray ADDRESS` (compiled actors): INCOMPLETE, exit 3."""
    import signal

    from helpers import interrupt_check

    code, out, err = interrupt_check(["-m", "raft_check", "--servers", "3", "--max-term", "4", "--ray", cluster.address],
                                     signal.SIGINT, cwd=ROOT)
    assert code == 3, err
    assert "INCOMPLETE (interrupted)" in out
    assert "compiled (checker/pins_kernel.py in every actor" in out


def test_cli_with_a_batch_of_its_own(cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check ... --ray ADDRESS --ray-batch N`: compiled actors by default, with that batch, and a violation's trace as
    long as one process's (test_distributed.py's CLI test checks the pinned counts)."""
    import subprocess
    import sys

    def run(*args: str) -> Any:
        r = subprocess.run([sys.executable, "-m", "raft_check", *args, "--ray", cluster.address, "--ray-batch", "64", "--json",
                            "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
        return r.returncode, json.loads(r.stdout)

    r = subprocess.run([sys.executable, "-m", "raft_check", "--servers", "2", "--max-term", "1", "--ray", cluster.address,
                        "--ray-batch", "64"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0 and "batches of 64 states" in r.stdout
    # The search itself takes batches of 64 (counts, verdicts and traces do not tell a batch): every batch it expands,
    # seen from inside check's own process.
    from raft_check import cli

    sizes: list[int] = []
    expand = CompiledRayExplorer.expand

    def spy(self: CompiledRayExplorer, lo: int, hi: int, verdicts: Any) -> None:
        sizes.append(hi - lo)
        expand(self, lo, hi, verdicts)

    monkeypatch.setattr(CompiledRayExplorer, "expand", spy)
    assert cli.main(["--servers", "3", "--max-term", "2", "--ray", cluster.address, "--ray-batch", "64", "--quiet"]) == 0
    assert max(sizes) == 64 and sum(sizes) > 64 * 10
    t = tweaks.BUILTIN["vote-twice"]
    one = CompiledExplorer(pins(tweaks.apply([t])(*t.bounds)), workers=1, batch=64).run()
    assert one.violation is not None
    code, out = run("--servers", "2", "--max-term", "1", "--tweak", "vote-twice", "--stop-at-first")
    assert (code, out["violated"], out["trace_length"]) == (1, one.violation.prop.name, len(one.violation.trace) - 1)
