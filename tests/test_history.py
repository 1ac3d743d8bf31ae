"""ElectionSafetyHistory over the ghost ``elected``: at most one leader per term over the whole history.

The ghost is kept only by a model built with ``history=True`` (``check
--invariant ElectionSafetyHistory``), so the default search is unchanged.
Tests: it holds for the unmodified protocol; a broken variant violates it (and
a shorter trace than the state invariant's); a tweak that the state invariant
cannot catch at all; symmetry renames the ghost; the reductions keep it; the
compiled engine keeps the ghost in slots of its own and agrees with the readable one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from checker import checkpoint, console
from checker.bfs import HOLDS, VIOLATED, Explorer
from checker.compiled import CompiledExplorer
from checker.trace import replay
from models import tweaks
from models.raft import HISTORY_PROPERTIES, Action, Message, MType, Raft, Role, ServerVars, State
from models.raft_pins import RaftPins
from raft_check import cli

PROP = HISTORY_PROPERTIES[0]


def props(model: Raft, *names: str) -> list[object]:
    by_name = {p.name: p for p in model.properties()}
    return [by_name[n] for n in names]


def test_ghost_only_with_history() -> None:
    assert PROP not in {p.name for p in Raft(3, 2).properties()}
    assert PROP in {p.name for p in Raft(3, 2, history=True).properties()}
    plain = Explorer(Raft(2, 2)).run()
    assert plain.status == HOLDS
    ex = Explorer(Raft(2, 2))
    ex.run()
    assert all(s.elected == () for s in ex.states)


@pytest.mark.parametrize("bounds", [(2, 2, 0), (3, 2, 0), (2, 3, 1)])
def test_holds_for_the_unmodified_protocol(bounds: tuple[int, int, int]) -> None:
    model = Raft(*bounds, history=True)
    pins = RaftPins(model)
    ex = CompiledExplorer(pins)
    r = ex.run()
    assert r.status == HOLDS and not r.unsatisfied
    assert any(len(pins.decode(v).elected) >= 2 for v in ex.vectors())  # the ghost does record leaders (of different terms)
    plain = CompiledExplorer(RaftPins(Raft(*bounds))).run().stats.distinct_states
    # It tells apart states that differ only in who led before (not at 2 servers, where each leader needs both votes).
    assert r.stats.distinct_states > plain if bounds[0] == 3 else r.stats.distinct_states >= plain


def test_broken_variant_violates_it_sooner_than_the_state_invariant() -> None:
    """term-not-persisted: a leader's voter restarts into term 0 and votes again in the leader's term.

    The state invariant needs both leaders at once (12 steps); the history
    property sees the second leader of term 1 after the first has lost its
    leadership by restarting (10 steps).
    """
    t = tweaks.BUILTIN["term-not-persisted"]
    model = tweaks.apply([t])(2, 1, history=True)
    r = Explorer(model, props(model, "ElectionSafety", PROP), keep_going=True).run()  # type: ignore[arg-type]
    lengths = {v.prop.name: len(v.trace) - 1 for v in r.violations}
    assert lengths == {"ElectionSafety": 12, PROP: 10}
    for v in r.violations:
        replay(model, v.trace, v.prop)
    last = r.violations[1].trace[-1].state
    assert sum(1 for v in last.servers if v.role == Role.Leader) == 1  # only one leader now; two in the history
    assert len({i for term, i in last.elected if term == 1}) == 2


class LeaderYields(Raft):
    """A leader that receives a vote request of its own term yields: it becomes a follower and grants the vote.

    (Written as a subclass: the vote-request handler is not a hook.)  Two
    leaders of one term never coexist -- the first has stepped down when the
    second wins -- so only the history property sees the second election.
    """

    tweaks = ("leader-yields",)
    pruning_sound = False  # a vote is no longer fixed once cast (notify_only rests on that)

    def handle_request_vote_request(self, srv: ServerVars, m: Message, s: State) -> Raft.Handled:
        if srv.role == Role.Leader and m.mterm == srv.currentTerm:
            srv = srv._replace(role=Role.Follower, votesGranted=(), votedFor=m.msource)
            return srv, Message(MType.RequestVoteResponse, srv.currentTerm, m.mdest, m.msource, mvoteGranted=True), None
        return super().handle_request_vote_request(srv, m, s)


def test_a_violation_only_the_history_property_finds() -> None:
    model = LeaderYields(3, 1, history=True)
    # On the compiled engine, with --continue (test_compiled_engine_agrees ties it to the readable one); the trace replays
    # in the readable model.
    r = CompiledExplorer(RaftPins(model, props(model, "ElectionSafety", PROP)), keep_going=True).run()  # type: ignore[arg-type]
    assert r.status == VIOLATED and r.incomplete_reason is None
    assert [(v.prop.name, len(v.trace) - 1) for v in r.violations] == [(PROP, 8)]  # ElectionSafety holds: complete search
    replay(model, r.violations[0].trace, r.violations[0].prop)


def test_symmetry_renames_the_ghost() -> None:
    model = Raft(3, 1, history=True)
    s = State((model.init_server(),) * 3, (), (), ((1, 0), (2, 2)))
    assert model.permute(s, (2, 0, 1)).elected == ((1, 2), (2, 1))
    ex = Explorer(model, symmetry=False)
    ex.run()
    with_ghost = [x for x in ex.states if x.elected][:300]
    assert with_ghost
    for x in with_ghost:
        rep = model.representative(x)
        assert all(model.representative(model.permute(x, p)) == rep for p in model.perms)


def test_symmetry_and_plain_search_agree() -> None:
    model = tweaks.apply([tweaks.BUILTIN["term-not-persisted"]])(2, 1, history=True)
    one = Explorer(model, props(model, PROP)).run()  # type: ignore[arg-type]
    two = Explorer(model, props(model, PROP), symmetry=False).run()  # type: ignore[arg-type]
    assert one.violation is not None and two.violation is not None
    assert len(one.violation.trace) == len(two.violation.trace)


@pytest.mark.parametrize("cfg", [(2, 2, 0), (3, 1, 0), (2, 1, 1)])
def test_reductions_keep_the_servers_and_the_ghost(cfg: tuple[int, int, int]) -> None:
    """Each reduction matches an execution by one through the same server states, so the (servers, elected) pairs agree."""
    seen = []
    for reduce in (False, True):
        ex = Explorer(Raft(*cfg, reduce=reduce, history=True), symmetry=False)
        assert ex.run().status == HOLDS
        seen.append({(s.servers, s.elected) for s in ex.states})
    assert seen[0] == seen[1]


def steps(trace: Any) -> list[tuple[Any, Any]]:
    return [(x.action, x.state) for x in trace]


@pytest.mark.parametrize(("name", "bounds", "symmetry"), [(None, (3, 2, 0), True), (None, (2, 2, 1), True), (None, (3, 1, 1), False),
                                                          ("term-not-persisted", (2, 1, 0), True),
                                                          ("term-not-persisted", (2, 1, 0), False),
                                                          ("no-step-down", (2, 2, 0), True)])
@pytest.mark.parametrize("store", ["memory", "compact"])
def test_compiled_engine_agrees(name: str | None, bounds: tuple[int, int, int], symmetry: bool, store: str) -> None:
    """The compiled engine keeps the ghost in one slot per server (the terms it led in), moved with the servers: the same
    orbits (each mapped to the readable representative), counts, verdict and shortest-trace length, and its trace replays."""
    model = (tweaks.apply([tweaks.BUILTIN[name]]) if name else Raft)(*bounds, history=True)
    ex = Explorer(model, symmetry=symmetry)
    want = ex.run()
    cx = CompiledExplorer(RaftPins(model), symmetry=symmetry, store=store, workers=2, batch=97)
    got = cx.run()
    assert got.status == want.status
    if want.violation is not None:  # (the counts at the stop depend on where in the level each engine meets it)
        assert got.violation is not None and got.violation.prop.name == want.violation.prop.name
        assert len(got.violation.trace) == len(want.violation.trace)
        replay(model, got.violation.trace, got.violation.prop)
        return
    assert (got.stats.distinct_states, got.stats.transitions) == (want.stats.distinct_states, want.stats.transitions)
    if store == "memory":
        mine = [cx.model.decode(v) for v in cx.vectors()]  # type: ignore[attr-defined]
        assert any(s.elected for s in mine)
        assert ({model.representative(s) for s in mine} if symmetry else set(mine)) == set(ex.states)


def test_a_violation_only_the_history_property_finds_compiled() -> None:
    model = LeaderYields(3, 1, history=True)
    r = CompiledExplorer(RaftPins(model, props(model, "ElectionSafety", PROP)), workers=1).run()  # type: ignore[arg-type]
    assert r.status == VIOLATED and r.violation is not None
    assert (r.violation.prop.name, len(r.violation.trace) - 1) == (PROP, 8)
    replay(model, r.violation.trace, r.violation.prop)


def test_cli_runs_it_on_the_compiled_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "2", "--max-term", "1", "--invariant", PROP, "--out", str(tmp_path), "--quiet"]
    assert cli.main(base) == console.EXIT_HOLDS
    out = capsys.readouterr().out
    assert re.search(r"^Engine: compiled ", out, re.M) and f"HOLDS after a complete search: {PROP}" in out
    assert cli.pick_engine(Raft(2, 1, history=True), "auto")[0] == "compiled"


def test_cli_writes_the_ghost_into_the_itf_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--servers", "2", "--max-term", "1", "--tweak", "term-not-persisted", "--invariant", PROP, "--quiet",
                     "--out", str(tmp_path)])
    assert code == console.EXIT_VIOLATION
    assert re.search(rf"^{PROP} +always +safety +VIOLATED +10 ", capsys.readouterr().out, re.M)
    doc = json.loads((tmp_path / "term-not-persisted" / f"{PROP}_s2_t1.itf.json").read_text())
    assert doc["vars"][-1] == "elected"
    last = doc["states"][-1]["elected"]["#set"]
    assert sorted((int(e["#tup"][0]["#bigint"]), e["#tup"][1]) for e in last) == [(1, "S1"), (1, "S2")]


def test_list_properties_names_it_as_opt_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--list-properties"]) == console.EXIT_HOLDS
    out = capsys.readouterr().out
    assert re.search(rf"^{PROP} +always +safety .*\[opt-in\]$", out, re.M)



def test_a_leader_made_by_another_rule_is_recorded() -> None:
    """no-step-down: a leader that adopts a newer term keeps leading, in a term it never won -- recorded too."""
    model = tweaks.apply([tweaks.BUILTIN["no-step-down"]])(2, 2, history=True)
    leader = model.init_server()._replace(currentTerm=1, role=Role.Leader, votedFor=0, votesGranted=(0, 1))
    other = model.init_server()._replace(currentTerm=2, role=Role.Candidate, votedFor=1, votesGranted=(1,))
    req = Message(MType.RequestVoteRequest, 2, 1, 0)
    s = State((leader, other), (req,), (), ((1, 0),))
    t = model.next_state(s, Action("HandleRPC", (req,)))
    assert t is not None and t.servers[0].role == Role.Leader and t.servers[0].currentTerm == 2
    assert t.elected == ((1, 0), (2, 0))
    assert Raft(2, 2).next_state(s._replace(elected=()), Action("HandleRPC", (req,))).elected == ()  # type: ignore[union-attr]


def test_checkpoint_keeps_the_ghost(tmp_path: Path) -> None:
    """A search with the ghost, stopped and resumed from a checkpoint (its interning table is saved), is the same search."""
    model = tweaks.apply([tweaks.BUILTIN["term-not-persisted"]])(2, 1, history=True)
    want = CompiledExplorer(RaftPins(model), store="compact", keep_going=True).run()
    ck = {"checkpoint": tmp_path, "checkpoint_key": "k", "checkpoint_interval": 0.0}
    cut = CompiledExplorer(RaftPins(model), store="compact", max_states=1500, keep_going=True, **ck).run()
    assert cut.incomplete_reason is not None and checkpoint.describe(tmp_path) is not None
    got = CompiledExplorer(RaftPins(model), store="compact", keep_going=True, **ck).run()
    assert got.stats.distinct_states == want.stats.distinct_states and got.stats.transitions == want.stats.transitions
    assert {v.prop.name: steps(v.trace) for v in got.violations} == {v.prop.name: steps(v.trace) for v in want.violations}
