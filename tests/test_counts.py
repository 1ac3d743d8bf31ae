"""Pinned state counts (models/manifest.json) and the soundness of the symmetry reduction on small configs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from helpers import reachable

from models.raft import Raft, State

MANIFEST = json.loads((Path(__file__).resolve().parent.parent / "models" / "manifest.json").read_text())
CONFIGS: list[dict[str, Any]] = MANIFEST["configs"]


def cfg_id(c: dict[str, Any]) -> str:
    return f"s{c['servers']}-t{c['max_term']}-l{c['max_log']}-{'red' if c['reduced'] else 'unred'}-{'sym' if c['symmetry'] else 'nosym'}"


def test_manifest_covers_what_it_should() -> None:
    assert "regression" in MANIFEST["description"].lower()
    keys = {(c["servers"], c["max_term"], c["max_log"]) for c in CONFIGS}
    assert len(keys) >= 4
    assert any(c["max_log"] >= 1 for c in CONFIGS)
    assert any(not c["reduced"] for c in CONFIGS)
    # every configuration is pinned with and without symmetry
    for c in CONFIGS:
        assert any(d == {**c, "symmetry": not c["symmetry"], "distinct_states": d["distinct_states"]} for d in CONFIGS), cfg_id(c)


@pytest.mark.parametrize("c", CONFIGS, ids=cfg_id)
def test_pinned_count(c: dict[str, Any]) -> None:
    assert c["verdict"] == "holds"  # reachable() asserts that every property holds and LeaderElected is witnessed
    states = reachable(c["servers"], c["max_term"], c["max_log"], eager=c["reduced"], prune=c["reduced"], symmetry=c["symmetry"])
    assert len(states) == c["distinct_states"]


SYM_PAIRS = sorted({(c["servers"], c["max_term"], c["max_log"], c["reduced"]) for c in CONFIGS})


@pytest.mark.parametrize(("n", "t", "log", "red"), SYM_PAIRS)
def test_symmetric_search_reaches_exactly_the_canonical_forms(n: int, t: int, log: int, red: bool) -> None:
    m = Raft(n, t, log, reduce=red)
    full = reachable(n, t, log, eager=red, prune=red, symmetry=False)
    sym = reachable(n, t, log, eager=red, prune=red, symmetry=True)
    assert len(set(sym)) == len(sym)
    assert set(sym) == {m.representative(s) for s in full}
    # independently of representative(): the number of orbits under every renaming of servers
    orbits = {frozenset(m.permute(s, p) for p in m.perms) for s in full}
    assert len(sym) == len(orbits)
    # and the full search is closed under renaming (the model is symmetric)
    fullset = set(full)
    assert all(o <= fullset for o in orbits)


def random_walk_states(m: Raft, walks: int, length: int, seed: int) -> list[State]:
    rng = random.Random(seed)
    out = []
    for _ in range(walks):
        s = m.init_states()[0]
        for _ in range(length):
            succ = [t for a in m.actions(s) if (t := m.next_state(s, a)) is not None]
            if not succ:
                break
            s = rng.choice(succ)
            out.append(s)
    return out


def sampled_states() -> list[Any]:
    """States to test representative() on: samples of complete searches, and random walks in larger configs."""
    rng = random.Random(1)
    return [
        pytest.param(Raft(3, 2, 0), rng.sample(reachable(3, 2, 0, eager=True, prune=True), 150), id="s3-t2-red"),
        pytest.param(Raft(3, 1, 0, reduce=False), rng.sample(reachable(3, 1, 0, eager=False, prune=False), 150), id="s3-t1-unred"),
        pytest.param(Raft(3, 2, 2), random_walk_states(Raft(3, 2, 2), 12, 25, seed=2), id="s3-t2-l2-walks"),
        pytest.param(
            Raft(4, 2, 1, reduce=False), random_walk_states(Raft(4, 2, 1, reduce=False), 6, 25, seed=3), id="s4-t2-l1-unred-walks"
        ),
    ]


@pytest.mark.parametrize(("m", "states"), sampled_states())
def test_representative_is_idempotent_and_permutation_invariant(m: Raft, states: list[State]) -> None:
    moved = 0
    for s in states:
        r = m.representative(s)
        assert m.representative(r) == r
        orbit = [m.permute(s, p) for p in m.perms]
        assert r in orbit
        for q in orbit:
            assert m.representative(q) == r
        moved += r != s
    assert moved > 0, "no sampled state is moved by representative(): the check would be vacuous"


def test_permute_is_a_group_action() -> None:
    m = Raft(3, 2, 1)
    for s in random_walk_states(m, 5, 20, seed=4):
        for p in m.perms:
            inv = [p.index(k) for k in range(m.n)]
            assert m.permute(m.permute(s, p), inv) == s
            for q in m.perms:
                pq = [q[p[k]] for k in range(m.n)]  # first p, then q
                assert m.permute(m.permute(s, p), q) == m.permute(s, pq)
