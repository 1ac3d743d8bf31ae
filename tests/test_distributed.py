"""Distributed search on a real Ray cluster of two nodes (checker/distributed.py, issue #19).

The cluster is Ray's own test cluster (``ray.cluster_utils.Cluster``): a head node and a second node, each a real raylet
with its own CPU, started once for the module.  Every search is compared with the readable engine in one process: the
counts, action counts, verdict, and the concrete traces of violations and witnesses, which come from the stored states'
numbering and parents, so they agree only if every state is stored at the same place with the same parent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import kill_one_when, killing_after_witness, same
from test_ray_compiled import PICKED

from checker.bfs import Explorer
from checker.distributed import INSTALL, RayExplorer, RayUnavailable, connect
from checker.result import Result
from models import tweaks
from models.raft import Raft

ray = pytest.importorskip("ray", reason=f"the Ray tests need the extra: {INSTALL}")

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "models" / "manifest.json").read_text())


def both(model: Raft, cluster: Any, **kw: Any) -> tuple[Result[Any, Any], Result[Any, Any]]:
    actors = kw.pop("actors", None)
    return Explorer(model, **kw).run(), RayExplorer(model, address=cluster.address, actors=actors, **kw).run()


# The suite's share: the pinned configurations up to 2,500 states that test_ray_compiled.py does not run (together the two
# cover every one up to 8,000).
SMALL = [c for c in MANIFEST["configs"] if c["distinct_states"] <= 2500
         and (c["servers"], c["max_term"], c["max_log"], c["reduced"], c["symmetry"]) not in PICKED]


@pytest.mark.parametrize("c", SMALL, ids=[f"{c['servers']}-{c['max_term']}-{c['max_log']}-{'r' if c['reduced'] else 'u'}"
                                          f"{'s' if c['symmetry'] else 'n'}" for c in SMALL])
def test_pinned_counts_as_one_process(c: dict[str, Any], cluster: Any) -> None:
    model = Raft(c["servers"], c["max_term"], c["max_log"], reduce=c["reduced"])
    one, dist = both(model, cluster, symmetry=c["symmetry"])
    assert dist.stats.distinct_states == c["distinct_states"]
    assert dist.status == c["verdict"]
    same(one, dist)


@pytest.mark.parametrize("name", ["no-step-down", "vote-twice", "term-not-persisted"])  # no-log-check: the fault test
def test_tweak_traces_as_one_process(name: str, cluster: Any) -> None:
    """A violation's trace, and the counts at the transition where the search stopped (term-not-persisted: at an ACTION
    property's violation, before its successor is stored)."""
    t = tweaks.BUILTIN[name]
    one, dist = both(tweaks.apply([t])(*t.bounds), cluster)
    assert dist.violation is not None
    same(one, dist)


def test_continue_decides_every_property_as_one_process(cluster: Any) -> None:
    """``--continue``: each property's first violation and each witness, in the order one process finds them."""
    t = tweaks.BUILTIN["vote-twice"]
    one, dist = both(tweaks.apply([t])(*t.bounds), cluster, keep_going=True)
    assert len(dist.violations) >= 2
    same(one, dist)


@pytest.mark.parametrize("cap", [1, 1332])
def test_state_cap_stops_where_one_process_does(cap: int, cluster: Any) -> None:
    one, dist = both(Raft(3, 2, 0), cluster, max_states=cap)
    assert dist.status == "incomplete" and dist.stats.distinct_states == cap
    same(one, dist)


def test_more_actors_than_cpus(cluster: Any) -> None:
    """Five partitions on two CPUs: the states fall to owners differently, and nothing else changes."""
    t = tweaks.BUILTIN["no-step-down"]
    one, dist = both(tweaks.apply([t])(3, 2, 0), cluster, actors=5)
    same(one, dist)


def test_partitions_span_both_nodes(cluster: Any) -> None:
    """The cluster really has two nodes, and the actors of a search are spread over them."""
    import cloudpickle

    from checker.distributed import Partition

    ray_mod, joined = connect(cluster.address)
    assert not joined  # the module's connection is reused, and left open
    assert len([n for n in ray_mod.nodes() if n["Alive"]]) == 2
    cls = ray_mod.remote(num_cpus=1)(Partition)
    blob = cloudpickle.dumps((Raft(2, 1, 0), []))
    actors = [cls.options(scheduling_strategy="SPREAD").remote(blob, j, 2, True) for j in range(2)]
    try:
        assert len(set(ray_mod.get([a.node.remote() for a in actors]))) == 2
    finally:
        for a in actors:
            ray_mod.kill(a)


def test_cli_on_the_cluster(cluster: Any, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "raft_check", *args, "--ray", cluster.address, "--out", str(tmp_path)],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)

    r = run("--servers", "3", "--max-term", "2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["verdict"], out["distinct_states"], out["transitions"]) == ("holds", 1333, 15432)
    # The actors' memory, beside the driver's (one actor a CPU: the cluster's two nodes have one each).
    assert (out["actors"], out["actor_nodes"]) == (2, 2) and out["actors_peak_rss_bytes"] > 0
    r = run("--servers", "2", "--max-term", "2", "--tweak", "no-step-down", "--stop-at-first", "--json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    t = tweaks.BUILTIN["no-step-down"]
    one = Explorer(tweaks.apply([t])(2, 2, 0)).run()
    assert one.violation is not None
    assert (out["verdict"], out["violated"], out["trace_length"]) == ("violated", one.violation.prop.name,
                                                                      len(one.violation.trace) - 1)
    assert list(tmp_path.iterdir())  # the counterexample files were written


def test_bad_input_in_one_line(tmp_path: Path) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "raft_check", "--servers", "2", "--max-term", "1", "--quiet", *extra],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})

    r = run("--ray", "local", "--workers", "2")
    assert r.returncode == 2 and "--workers does not go with --ray: it runs one actor per CPU" in r.stderr
    r = run("--ray", "local", "--checkpoint", str(tmp_path / "ck"))
    assert r.returncode == 2 and "--checkpoint does not go with --ray" in r.stderr
    r = run("--ray", "no-port-here")
    assert r.returncode == 2 and "HOST:PORT" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run("--ray", "local", "--store", "fp")
    assert r.returncode == 2 and "use --store memory or compact" in r.stderr
    r = run("--ray", "local", "--store", "compact", "--engine", "readable")
    assert r.returncode == 2 and "compiled engine" in r.stderr
    r = run("--ray-saves", str(tmp_path))
    assert r.returncode == 2 and "--ray-saves needs --ray ADDRESS" in r.stderr
    r = run("--ray-batch", "64")
    assert r.returncode == 2 and "--ray-batch needs --ray ADDRESS" in r.stderr
    r = run("--ray", "local", "--ray-batch", "0")
    assert r.returncode == 2 and "--ray-batch" in r.stderr


def test_saves_in_a_given_folder_are_removed_at_the_end(cluster: Any, tmp_path: Path) -> None:
    """--ray-saves DIR: the parts are saved there at level ends (a lost actor is restarted from them) and removed once
    the search is over; DIR itself stays."""
    from checker import distributed

    seen: list[list[str]] = []
    real = distributed._Saves.save

    def save(self: Any, pos: Any, verdicts: Any) -> None:
        real(self, pos, verdicts)
        seen.append(sorted(str(q.relative_to(tmp_path)) for q in tmp_path.glob("level-*/part-*")))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distributed._Saves, "save", save)
        r = RayExplorer(Raft(3, 2, 0), address=cluster.address, save_every=0.0, save_dir=str(tmp_path)).run()
    assert r.status == "holds" and len(seen) > 3
    assert seen[0] == ["level-1/part-0", "level-1/part-1"]
    assert all(len(parts) <= 6 for parts in seen)  # at most three levels kept: the one written and the two before
    assert tmp_path.is_dir() and not list(tmp_path.iterdir())


def test_unreachable_address_names_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from checker import distributed

    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as in a new process (the module's cluster is joined)
    with pytest.raises(RayUnavailable, match=r"127\.0\.0\.1:9 \(waited \d+ s\): no answer"):
        distributed.connect("127.0.0.1:9", wait=1.0)


def test_without_ray_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(RayUnavailable, match=r"install it with pip install -e '\.\[ray\]'"):
        connect("local")


def test_an_actor_killed_mid_search_changes_nothing(cluster: Any) -> None:
    """Kill one actor at any moment, here before any level end is saved: new actors start again, say so, and the
    result is the one-process one."""
    t = tweaks.BUILTIN["no-log-check"]
    model = tweaks.apply([t])(*t.bounds)
    notes: list[str] = []
    ex = RayExplorer(model, address=cluster.address, save_every=1e9, notice=notes.append)
    dist = kill_one_when(ex, 3000, [])
    same(Explorer(model).run(), dist)
    assert ex.restarts == 1 and len(notes) == 1
    assert "a Ray actor was lost" in notes[0] and "restarting on new actors from the start (no level end saved yet)" in notes[0]


_KillAfterWitness = killing_after_witness(RayExplorer)


def test_a_restart_goes_on_from_the_last_saved_level(cluster: Any) -> None:
    model = Raft(3, 2, 0)
    notes: list[str] = []
    ex = _KillAfterWitness(model, address=cluster.address, save_every=0.0, batch=32, notice=notes.append, keep_going=True)
    dist = ex.run()
    same(Explorer(model, keep_going=True).run(), dist)
    assert ex.killed and ex.restarts == 1
    assert len(notes) == 1 and "restarting on new actors from the end of level " in notes[0]


def test_a_cluster_lost_for_good_names_the_last_saved_level(cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from checker import distributed

    monkeypatch.setattr(distributed, "MAX_RESTARTS", 0)
    t = tweaks.BUILTIN["no-log-check"]
    ex = RayExplorer(tweaks.apply([t])(*t.bounds), address=cluster.address, save_every=0.0, notice=lambda _: None)
    with pytest.raises(distributed.ClusterLost, match=r"gave up after 0 restarts \(last saved: the end of level \d+ \("):
        kill_one_when(ex, 3000, [])


@pytest.mark.parametrize("sig", ["SIGTERM"])  # SIGINT: test_ray_compiled.py
def test_interrupt_gives_an_incomplete_report(sig: str, cluster: Any) -> None:
    """^C or ``kill`` mid-search: INCOMPLETE (exit 3) with the counts so far, as in one process (Ray's own SIGTERM
    handler, which exits, is put back to the command's)."""
    import signal
    import time

    p = subprocess.Popen([sys.executable, "-m", "raft_check", "--servers", "3", "--max-term", "3", "--engine", "readable",
                          "--ray", cluster.address],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.stderr is not None
    for line in p.stderr:
        if line.startswith("progress:") and "states" in line:
            break
    time.sleep(1)
    p.send_signal(getattr(signal, sig))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 3, err
    assert "INCOMPLETE (interrupted)" in out


def test_an_actor_lost_during_a_save_keeps_the_last_complete_one(cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One actor dies in the middle of a level-end save, after the others have saved their parts: the restart goes on
    from the save before, which those parts must not have replaced."""
    from checker import distributed

    real = distributed._Saves.save
    calls: list[int] = []

    def save(self: Any, pos: Any, verdicts: Any) -> None:
        calls.append(pos.depth)
        if len(calls) == 4:
            ray.kill(self.ex.actors[1], no_restart=True)
        real(self, pos, verdicts)

    monkeypatch.setattr(distributed._Saves, "save", save)
    model = Raft(3, 2, 0)
    notes: list[str] = []
    ex = RayExplorer(model, address=cluster.address, save_every=0.0, notice=notes.append)
    same(Explorer(model).run(), ex.run())
    assert ex.restarts == 1 and f"from the end of level {calls[2]} " in notes[0]


def test_an_error_in_the_model_is_raised_as_in_one_process(cluster: Any) -> None:
    """An exception the model raises inside an actor reaches the caller as itself, not as Ray's wrapper (whose message
    carries the remote traceback), so the command ends as it would in one process: exit 4, or 2 for a broken tweak."""

    class Boom(Raft):
        def next_state(self, state: Any, action: Any) -> Any:
            if action.name == "BecomeLeader":
                raise ZeroDivisionError("a hook divided by zero")
            return super().next_state(state, action)

    with pytest.raises(ZeroDivisionError, match="a hook divided by zero") as one:
        Explorer(Boom(3, 2, 0)).run()
    with pytest.raises(ZeroDivisionError, match="a hook divided by zero") as dist:
        RayExplorer(Boom(3, 2, 0), address=cluster.address).run()
    assert type(dist.value) is type(one.value)
    assert str(dist.value) == str(one.value)
