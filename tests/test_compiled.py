"""Differential tests: the compiled engine (checker/compiled.py, checker/pins_kernel.py, models/raft_pins.py) against the readable one.

The compiled engine stores its own member of each symmetry orbit (see
checker/compiled.py), so its states are compared with the readable engine's
after mapping each to the readable representative: the two sets of orbits
must be equal.  Transition counts, per-action counts and depth must be equal
too, as must verdicts and shortest-trace lengths; every trace the compiled
engine reports must replay through the readable model.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from checker.bfs import Explorer
from checker.compiled import CompiledExplorer
from checker.model import action_property
from checker.pins import MERGE, SET, ActionProp, Effect, Op
from checker.trace import replay
from models import tweaks
from models.raft import Action, Raft, State
from models.raft_pins import PER_SERVER_ACTION_PROPS, RaftPins, unsupported

# (servers, max-term, max-log), as in tests/test_fast.py
SMALL = [(1, 2, 2), (2, 1, 0), (2, 2, 0), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 0), (4, 1, 0)]
TWEAK_CAP = 2500


def compiled(model: Raft, props: list[Any] | None = None, **kw: Any) -> CompiledExplorer:
    return CompiledExplorer(RaftPins(model, props), **kw)


def assert_same_search(model: Raft, symmetry: bool) -> None:
    """Full searches (no properties) reach the same orbits with the same transition, action and depth counts."""
    slow: Explorer[State, Action] = Explorer(model, [], symmetry=symmetry)
    fast = compiled(model, [], symmetry=symmetry)
    a, b = slow.run().stats, fast.run().stats
    assert (b.distinct_states, b.transitions, b.depth) == (a.distinct_states, a.transitions, a.depth)
    assert b.action_counts == a.action_counts
    pins = fast.model
    assert isinstance(pins, RaftPins)
    mine = [pins.decode(v) for v in fast.vectors()]
    if symmetry:
        mine = [model.representative(s) for s in mine]
    assert len(set(mine)) == len(mine) == len(slow.states)
    assert set(mine) == set(slow.states)


@pytest.mark.parametrize("symmetry", [True, False], ids=["sym", "nosym"])
@pytest.mark.parametrize("bounds", SMALL, ids=lambda b: "s{}t{}l{}".format(*b))
def test_same_orbits(bounds: tuple[int, int, int], symmetry: bool) -> None:
    assert_same_search(Raft(*bounds), symmetry)


@pytest.mark.parametrize("bounds", [(2, 2, 0), (3, 1, 0), (2, 1, 1)], ids=lambda b: "s{}t{}l{}".format(*b))
def test_same_orbits_unreduced(bounds: tuple[int, int, int]) -> None:
    assert_same_search(Raft(*bounds, reduce=False), True)


@pytest.mark.parametrize("name", list(tweaks.BUILTIN))
def test_tweaks_same_orbits(name: str) -> None:
    """Every built-in tweak reaches the compiled engine through the readable model alone: same orbits and counts."""
    cls = tweaks.apply([tweaks.BUILTIN[name]])
    assert unsupported(cls(3, 1, 0)) is None
    compared = 0
    for bounds, symmetry in [((2, 1, 0), True), ((2, 1, 0), False), ((3, 1, 0), True), ((2, 2, 0), True), ((2, 1, 1), True)]:
        if compiled(cls(*bounds), [], symmetry=symmetry, max_states=TWEAK_CAP).run().status != "holds":
            continue  # more than TWEAK_CAP states: too slow for the readable engine here
        assert_same_search(cls(*bounds), symmetry)
        compared += 1
    assert compared >= 1


@pytest.mark.parametrize("name", list(tweaks.BUILTIN))
def test_tweak_verdicts(name: str) -> None:
    """At each tweak's bounds, capped as in tests/test_fast.py: same verdict and shortest-trace length; the trace replays."""
    t = tweaks.BUILTIN[name]
    n, term, log = t.bounds
    if log:
        n, log = 2, 1
    model = tweaks.apply([t])(n, min(term, 2 if t.keeps_pruning else 1), log)
    a = Explorer(model).run()
    b = compiled(model).run()
    assert b.status == a.status
    assert b.unsatisfied == a.unsatisfied
    if a.violation is None:
        assert b.violation is None
        assert (b.stats.distinct_states, b.stats.transitions) == (a.stats.distinct_states, a.stats.transitions)
        return
    assert b.violation is not None
    assert len(b.violation.trace) == len(a.violation.trace)
    replay(model, b.violation.trace, b.violation.prop)


def test_violations_of_each_kind_replay() -> None:
    """An invariant (vote-twice: SelfVote) and an action property (term-not-persisted: TermMonotonic) violated
    at the depth the readable engine finds; witnesses replay."""
    for tweak, prop in (("vote-twice", "SelfVote"), ("term-not-persisted", "TermMonotonic")):
        model = tweaks.apply([tweaks.BUILTIN[tweak]])(2, 1, 0)
        props = [p for p in model.properties() if p.name == prop]
        a = Explorer(model, props).run()
        b = compiled(model, props).run()
        assert a.violation is not None and b.violation is not None and b.violation.prop.name == prop
        assert len(b.violation.trace) == len(a.violation.trace)
        replay(model, b.violation.trace, b.violation.prop)
    model = Raft(2, 2, 1)
    r = compiled(model).run()
    assert r.status == "holds" and set(r.witnesses) == {"LeaderElected", "EntryCommitted"}
    for name, trace in r.witnesses.items():
        assert trace is not None
        replay(model, trace, next(p for p in model.properties() if p.name == name))


@pytest.mark.parametrize("tweak", [None, "term-not-persisted", "no-step-down"])
def test_per_server_action_properties_decompose(tweak: str | None) -> None:
    """The encoding checks TermMonotonic and LeaderAppendOnly server by server: on every transition of small searches
    (also of tweaks that break them) the property equals the conjunction of its answers on one server's variables."""
    model = (tweaks.apply([tweaks.BUILTIN[tweak]]) if tweak else Raft)(2, 1, 1)
    props = [p for p in model.properties() if p.name in PER_SERVER_ACTION_PROPS]
    assert len(props) == len(PER_SERVER_ACTION_PROPS)
    ex: Explorer[State, Action] = Explorer(model, [], symmetry=False, max_states=3000)  # the tweaks turn reductions off
    ex.run()
    seen = set()
    for s in ex.states:
        for a in model.actions(s):
            t = model.next_state(s, a)
            if t is None:
                continue
            for p in props:
                parts = all(p.check(State((v,) * model.n, ()), a, State((u,) * model.n, ())) for v, u in zip(s.servers, t.servers, strict=True))
                assert p.check(s, a, t) == parts
                seen.add((p.name, parts))
    if tweak == "term-not-persisted":
        assert ("TermMonotonic", False) in seen


def test_state_cap() -> None:
    model = Raft(2, 1, 0)
    total = Explorer(model).run().stats.distinct_states
    assert compiled(model, max_states=total).run().status == "holds"
    capped = compiled(model, max_states=total - 1).run()
    assert capped.status == "incomplete" and capped.stats.distinct_states == total - 1


def test_property_reading_the_network_is_refused() -> None:
    @action_property("Quiet", "no step changes the network")
    def quiet(s: State, a: object, t: State) -> bool:
        return s.messages == t.messages

    with pytest.raises(ValueError, match="reads the network"):
        compiled(Raft(2, 1, 0), [quiet]).run()


LARGER = json.loads((Path(__file__).resolve().parent.parent / "models" / "manifest.json").read_text())["larger"]["configs"]
SLOW_LARGER = {(3, 3, 0, False), (3, 2, 1, False)}
"""Over 200,000 states each: checked with RUN_SLOW=1 only (tests/test_fast.py checks them on the fast engine)."""


def _larger(c: dict[str, Any]) -> Any:
    slow = (c["servers"], c["max_term"], c["max_log"], c["symmetry"]) in SLOW_LARGER
    marks = [pytest.mark.skipif(not os.environ.get("RUN_SLOW"), reason="over 200,000 states; set RUN_SLOW=1")] if slow else []
    return pytest.param(c, marks=marks, id="s{servers}-t{max_term}-l{max_log}-sym{symmetry}".format(**c))


@pytest.mark.parametrize("c", [_larger(c) for c in LARGER])
def test_larger_pinned_counts(c: dict[str, Any]) -> None:
    result = compiled(Raft(c["servers"], c["max_term"], c["max_log"]), symmetry=c["symmetry"]).run()
    assert result.status == "holds" and not result.unsatisfied
    assert result.stats.distinct_states == c["distinct_states"]


def test_cli_engine_compiled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from raft_check import cli

    assert cli.main(["--servers", "3", "--max-term", "2", "--engine", "compiled", "--quiet", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["engine"], out["distinct_states"], out["verdict"]) == ("compiled", 1333, "holds")
    # --workers N: threads with the compiled engine, on the memory store (the fast engine's processes need another store)
    assert cli.main(["--servers", "3", "--max-term", "2", "--engine", "compiled", "--workers", "2", "--out", str(tmp_path)]) == 0
    assert "compiled (checker/compiled.py" in (text := capsys.readouterr().out) and ", 2 threads" in text and "1,333" in text
    assert cli.main(["--servers", "2", "--max-term", "1", "--tweak", "vote-twice", "--engine", "compiled", "--quiet",
                     "--stop-at-first", "--out", str(tmp_path)]) == 1
    assert (tmp_path / "vote-twice").is_dir()
    # --continue (the default with a tweak): a row per property (tests/test_continue_compiled.py compares the rows)
    capsys.readouterr()
    assert cli.main(["--servers", "2", "--max-term", "1", "--tweak", "vote-twice", "--engine", "compiled", "--quiet",
                     "--out", str(tmp_path)]) == 1
    assert "Search: --continue" in (text := capsys.readouterr().out)
    assert re.search(r"^SelfVote +always +structure +VIOLATED", text, re.M)
    assert cli.main(["--servers", "3", "--max-term", "2", "--engine", "compiled", "--store", "fp", "--quiet", "--json",
                     "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["store"], out["distinct_states"], out["verdict"]) == ("fp", 1333, "holds")
    assert 0 < out["collision_probability"] < 1e-10 and out["store_bytes"] > 0
    # threads on a compact store: the counts of one thread on the memory store
    assert cli.main(["--servers", "3", "--max-term", "2", "--engine", "compiled", "--store", "compact", "--workers", "2",
                     "--quiet", "--json", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["store"], out["distinct_states"], out["verdict"]) == ("compact", 1333, "holds")
    # --checkpoint: taken, and the search completes (tests/test_checkpoint_compiled.py resumes cut ones)
    capsys.readouterr()
    assert cli.main(["--servers", "3", "--max-term", "2", "--engine", "compiled", "--store", "compact", "--checkpoint",
                     str(tmp_path / "ck"), "--quiet", "--out", str(tmp_path)]) == 0
    assert "Checkpoint: " in (text := capsys.readouterr().out) and "1,333" in text


def test_ctrl_c_ends_in_an_incomplete_report(tmp_path: Path) -> None:
    """Ctrl-C reaches the search between kernel calls: INCOMPLETE, exit 3, partial statistics."""
    import signal

    from helpers import interrupt_check

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    argv = ["-m", "raft_check", "--servers", "3", "--max-term", "5", "--engine", "compiled"]
    code, out, err = interrupt_check(argv, signal.SIGINT, cwd=tmp_path, env=env)
    assert code == 3, err
    assert "INCOMPLETE (interrupted)" in out and "HOLDS" not in out
    assert "distinct states" in out


def _threaded(model: Raft, workers: int, props: list[Any] | None = None, **kw: Any) -> tuple[CompiledExplorer, Any]:
    """A run with ``workers`` threads, tiny batches and tiny buffers, so that every round trip of the driver is taken:
    many rounds per batch, full miss lists (the round is redone), full outputs, more successors than the scratch holds."""
    import numpy as np

    from checker.compiled import _Lane

    ex = compiled(model, props, workers=workers, batch=5, **kw)
    # and the second set, into which the threads compute the next batch's first round during a commit
    ex.second = (tuple(np.zeros(0, dtype=np.int64) for _ in ex.st), [_Lane(*ex.lane_shape) for _ in ex.lanes])
    for lane in [*ex.lanes, *ex.second[1]]:
        lane.grow_misses(2)
        lane.out = lane._out(3, 1, 1)
        lane.scratch = ()
        lane.grow_scratch(1)
    ex.scratch_cap = 1
    return ex, ex.run()


@pytest.mark.parametrize("case", ["s3t2", "s2t2l1-nosym", "vote-twice", "term-not-persisted", "capped"])
def test_threads_give_the_one_thread_result(case: str) -> None:
    """--workers 2 with the compiled engine: the same stored states in the same order, parents, counts, verdict,
    trace and witnesses as one thread (the threads only compute; the commit is serial and in BFS order)."""
    kw: dict[str, Any] = {}
    props = None
    if case == "s3t2":
        model = Raft(3, 2, 0)
    elif case == "s2t2l1-nosym":
        model, kw = Raft(2, 2, 1), {"symmetry": False}
    elif case == "capped":
        model, kw = Raft(3, 2, 0), {"max_states": 700}
    else:
        model = tweaks.apply([tweaks.BUILTIN[case]])(3 if case == "vote-twice" else 2, 2, 0)
        props = [p for p in model.properties() if p.name == ("SelfVote" if case == "vote-twice" else "TermMonotonic")]
    one, a = _threaded(model, 1, props, **kw)
    two, b = _threaded(model, 2, props, **kw)
    assert one.kernel_calls > 2 * (a.stats.depth or 1)  # many rounds: the tiny buffers were in the way
    # two threads: first rounds computed during the commit before (the tweaks' violations come within a few batches)
    assert one.aheads == 0 and (two.aheads > 0 or case in ("vote-twice", "term-not-persisted"))
    assert (b.status, b.stats.distinct_states, b.stats.transitions, b.stats.depth) == \
        (a.status, a.stats.distinct_states, a.stats.transitions, a.stats.depth)
    assert b.stats.action_counts == a.stats.action_counts
    assert list(two.vectors()) == list(one.vectors())
    assert list(two.store.parent[: two.nrows]) == list(one.store.parent[: one.nrows])
    assert (a.violation is None) == (b.violation is None)
    if a.violation is not None and b.violation is not None:
        assert b.violation.trace == a.violation.trace and b.violation.prop.name == a.violation.prop.name
        replay(model, b.violation.trace, b.violation.prop)
    assert b.witnesses == a.witnesses
    # and the same as the default buffers and batches
    c = compiled(model, props, workers=2, **kw).run()
    assert (c.status, c.stats.distinct_states, c.stats.transitions) == (a.status, a.stats.distinct_states, a.stats.transitions)
    if case == "capped":
        assert a.status == "incomplete" and a.stats.distinct_states == 700
    if case in ("vote-twice", "term-not-persisted"):
        assert a.violation is not None


STORE_BOUNDS = [(1, 2, 2), (2, 2, 1), (3, 2, 0), (3, 1, 1)]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("store", ["compact", "fp"])
@pytest.mark.parametrize("bounds", STORE_BOUNDS, ids=lambda b: "s{}t{}l{}".format(*b))
def test_stores_same_search(bounds: tuple[int, int, int], store: str, workers: int) -> None:
    """The compact and fp stores (checker/pins_store.py) change nothing but memory: the memory store's counts, and
    (compact) the same states in the same BFS order; with one thread or two, and small batches (many commits)."""
    model = Raft(*bounds)
    mem = compiled(model, [], workers=1, batch=7)  # the same batches: interning follows the order of the fills
    other = compiled(model, [], store=store, workers=workers, batch=7)
    a, b = mem.run().stats, other.run().stats
    assert (b.distinct_states, b.transitions, b.depth, b.action_counts) == (a.distinct_states, a.transitions, a.depth, a.action_counts)
    assert b.store == store and b.store_bytes > 0
    assert other.aheads > 0 if (store, workers) == ("fp", 2) and b.depth > 2 else other.aheads == 0  # compact: never
    if store == "compact":
        assert list(other.vectors()) == list(mem.vectors())


@pytest.mark.parametrize("store", ["compact", "fp"])
def test_store_traces_are_the_memory_stores(store: str) -> None:
    """Violations of both kinds and witnesses: the same trace as with the memory store (the fp store rebuilds it by
    expanding each state of the path again); each replays."""
    cases = [("vote-twice", "SelfVote", (2, 1, 0)), ("term-not-persisted", "TermMonotonic", (2, 1, 0)),
             ("no-prev-log-check", None, (2, 2, 2))]
    for tweak, prop, bounds in cases:
        model = tweaks.apply([tweaks.BUILTIN[tweak]])(*bounds)
        props = [p for p in model.properties() if prop is None or p.name == prop]
        a = compiled(model, props).run()
        b = compiled(model, props, store=store).run()
        assert a.violation is not None and b.violation is not None
        assert b.violation.prop.name == a.violation.prop.name and b.violation.trace == a.violation.trace
        replay(model, b.violation.trace, b.violation.prop)
    model = Raft(2, 2, 1)
    a, b = compiled(model).run(), compiled(model, store=store).run()
    assert b.status == "holds" and b.witnesses == a.witnesses and all(b.witnesses.values())
    capped = compiled(model, store=store, max_states=100).run()
    assert capped.status == "incomplete" and capped.stats.distinct_states == 100


@pytest.mark.parametrize("store", ["compact", "fp"])
def test_store_pinned_count(store: str) -> None:
    c = next(c for c in LARGER if (c["servers"], c["max_term"], c["max_log"], c["symmetry"]) == (3, 2, 1, True))
    result = compiled(Raft(3, 2, 1), store=store).run()
    assert result.status == "holds" and result.stats.distinct_states == c["distinct_states"]


def test_a_changed_engine_source_drops_the_numba_cache(tmp_path: Path) -> None:
    """numba keys a cache by its own file: an edit of pins_store.py must still drop the kernel's cached code."""
    from checker import pins_kernel

    src = Path(pins_kernel.__file__).resolve().parent
    for name in ("pins_kernel.py", "pins_store.py", "pins_walk.py"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    pins_kernel._drop_stale_cache(tmp_path)  # first time: no stamp, the stamp is written
    stale = cache / "pins_kernel.compute-1.py311.nbi"
    stale.write_text("x")
    pins_kernel._drop_stale_cache(tmp_path)
    assert stale.exists()  # nothing changed: the cache is kept
    (tmp_path / "pins_store.py").write_text((tmp_path / "pins_store.py").read_text() + "\n# edited\n")
    pins_kernel._drop_stale_cache(tmp_path)
    assert not stale.exists()


def test_auto_picks_the_compiled_engine_or_says_why_not() -> None:
    """``--engine auto``: compiled wherever it can run the model; else readable, with the reason in the Engine line."""
    from raft_check.cli import pick_engine

    assert pick_engine(Raft(3, 2, 0), "auto")[0] == "compiled"
    assert pick_engine(Raft(3, 2, 0, history=True), "auto")[0] == "compiled"
    assert pick_engine(Raft(3, 2, 0), "readable")[0] == "readable"
    with pytest.raises(ValueError, match="unknown engine"):
        pick_engine(Raft(3, 2, 0), "fast")  # retired

    class Bounded(Raft):
        def within_boundary(self, state: State) -> bool:
            return False

    engine, note = pick_engine(Bounded(2, 1, 0), "auto")
    assert engine == "readable" and "the compiled engine cannot run this model: the model overrides within_boundary" in note
    with pytest.raises(ValueError, match="--engine compiled cannot run this model"):
        pick_engine(Bounded(2, 1, 0), "compiled")


@pytest.mark.parametrize("case", ["s3t2", "s2t2l1", "s3t1l1", "half-quorum", "no-log-check", "commit-old-terms"])
def test_normalise_message_by_message_is_the_channels_prune(case: str) -> None:
    """RaftPins.normalise prunes a channel message by message (memoised); it must equal the readable prune of the whole
    channel for every channel and destination value the search met (each channel judged against each of them)."""
    bounds = {"s3t2": (3, 2, 0), "s2t2l1": (2, 2, 1), "s3t1l1": (3, 1, 1), "half-quorum": (3, 2, 0)}.get(case, (3, 1, 1))
    model = tweaks.apply([tweaks.BUILTIN[case]])(*bounds) if case in tweaks.BUILTIN else Raft(*bounds)
    explorer = compiled(model, [], max_states=3000)
    explorer.run()
    pins = explorer.model
    assert isinstance(pins, RaftPins)
    chans, srvs = len(pins.chans), len(pins.srvs)
    assert chans > 20 and srvs > 20
    changed = 0
    for slot in range(pins.n, pins.n + pins.m):
        for chan in range(1, chans, max(1, chans // 60)):
            for ctx in range(0, srvs, max(1, srvs // 60)):
                got = pins.normalise(slot, ctx, chan)
                assert got == pins.normalise_whole(slot, ctx, chan), (pins.slot_names[slot], pins.srvs[ctx], pins.chans[chan])
                changed += got != chan
    assert changed  # the comparison saw channels that prune changes


APART_MODULE = '''
import numba


@numba.njit(cache=True)
def triple(a):
    return 3 * a.sum()
'''


def test_compile_apart_fills_the_disk_cache_for_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first-ever compile of ``compute`` runs in another process (checker.pins_kernel.compile_apart): that process's
    compile lands in numba's disk cache (here beside the module, in tmp_path), and this process then loads it instead
    of compiling."""
    import importlib
    import sys

    import numpy as np

    from checker import pins_kernel as kernel

    (tmp_path / "apart_mod.py").write_text(APART_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("apart_mod")
    try:
        args = (np.arange(4, dtype=np.int64),)
        assert kernel.cached(mod.triple, args) is False
        proc = kernel.compile_apart(mod.triple, args)
        assert proc is not None
        assert proc.wait(timeout=120) == 0
        assert kernel.cached(mod.triple, args) is True
        assert kernel.compile_apart(mod.triple, args) is None  # nothing left to compile
        assert mod.triple(*args) == 18
        assert sum(mod.triple.stats.cache_hits.values()) == 1 and not mod.triple.stats.cache_misses
    finally:
        sys.modules.pop("apart_mod", None)


def test_the_compile_apart_is_for_computes_real_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """The explorer hands compile_apart the argument types that ``compute`` is then called with (another signature
    would compile in vain, and the first batch would compile ``compute`` again)."""
    import numba

    from checker import compiled
    from checker import pins_kernel as kernel

    asked: list[tuple[Any, ...]] = []

    def record(disp: Any, args: Any) -> None:
        asked.append((disp, tuple(numba.typeof(a) for a in args)))

    monkeypatch.setattr(compiled.K, "compile_apart", record)
    for store in ("memory", "fp"):
        asked.clear()
        CompiledExplorer(RaftPins(Raft(3, 2, 0)), store=store, workers=2).run()  # one thread: no second process
        assert [d for d, _ in asked] == [kernel.compute]
        assert asked[0][1] in kernel.compute.overloads, f"{store}: compute was called with other types"
    asked.clear()
    CompiledExplorer(RaftPins(Raft(3, 2, 0)), workers=1).run()
    assert asked == []  # --workers 1: one core, so no second process


def test_a_late_first_witness_with_threads() -> None:
    """A SOMETIMES property first met late (symmetry off: its state is found once): two threads, computing rounds
    ahead during commits, witness it at the same state as one thread (the mask of pending properties matters there)."""
    import itertools

    from checker.model import sometimes

    model = Raft(3, 2, 0)
    base = compiled(model, [], workers=1, symmetry=False)
    base.run()
    rows = list(base.vectors())
    target = base.model.decode(rows[len(rows) - 10]).servers
    targets = {tuple(p) for p in itertools.permutations(target)}

    @sometimes("Late", "the servers as in a state near the end of the search")
    def late(s: State) -> bool:
        return tuple(s.servers) in targets

    runs = [compiled(model, [late], workers=w, batch=64, symmetry=False) for w in (1, 2)]
    one, two = (ex.run() for ex in runs)
    assert runs[1].aheads > 0
    assert one.witnesses["Late"] is not None and not one.unsatisfied
    assert two.witnesses == one.witnesses and two.unsatisfied == one.unsatisfied
    assert int(runs[1].wit[0]) == int(runs[0].wit[0])


def test_ctrl_c_while_helping_with_the_next_round_keeps_the_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands while this thread, its commit done, helps compute the next batch's first round: the report is
    incomplete and counts every state that commit stored (the interrupt is raised once the batch is told)."""
    import threading

    from checker import compiled as engine

    state = {"committed": False, "helps": 0}
    commit, compute_round, work = engine.K.commit, engine.CompiledExplorer._compute_round, engine._Round.work

    def committed(*args: Any) -> None:
        commit(*args)
        state["committed"] = True

    def rounds(self: CompiledExplorer, *args: Any) -> None:
        state["committed"] = False
        compute_round(self, *args)

    def helping(self: Any) -> None:
        if threading.current_thread() is threading.main_thread() and state["committed"]:
            state["helps"] += 1
            if state["helps"] == 20:
                raise KeyboardInterrupt
        work(self)

    monkeypatch.setattr(engine.K, "commit", committed)
    monkeypatch.setattr(engine.CompiledExplorer, "_compute_round", rounds)
    monkeypatch.setattr(engine._Round, "work", helping)
    ex = compiled(Raft(3, 2, 0), None, workers=2, batch=5)
    r = ex.run()
    assert state["helps"] >= 20
    assert r.status == "incomplete" and r.incomplete_reason == "interrupted"
    assert r.stats.distinct_states == int(ex.ctl[engine.K.NROWS]) == ex.store.n > 0


@pytest.mark.parametrize("order", ["total", "ties", "partial"])
def test_canonical_candidates_are_the_full_enumerations(order: str) -> None:
    """_canon_candidates drops a renaming at its first greater position; it gives the best values and the renamings
    reaching them exactly as comparing every renaming's whole tuple does, for a process order that is total, has
    ties between values, or is partial (sets by inclusion)."""
    import itertools
    import random
    from types import SimpleNamespace

    n = 3
    perms = list(itertools.permutations(range(n)))
    rank = {"total": lambda v: v, "ties": lambda v: v // 3,
            "partial": lambda v: frozenset(k for k in range(3) if v >> k & 1)}[order]
    model = SimpleNamespace(sym_key=lambda i, v: v % 2, rename=lambda pi, v: (v * 7 + 3 * pi) % 8, process_order=rank)
    fake = SimpleNamespace(nproc=n, sym_key_memo={}, order_memo={}, rename_memo={}, perm_plans={},
                           perm_index={p: i for i, p in enumerate(perms)}, model=model)

    def every(procs: tuple[int, ...]) -> tuple[tuple[int, ...], list[int]]:
        keys = [model.sym_key(i, v) for i, v in enumerate(procs)]
        blocks: list[list[int]] = []
        for i in sorted(range(n), key=keys.__getitem__):
            if blocks and keys[blocks[-1][0]] == keys[i]:
                blocks[-1].append(i)
            else:
                blocks.append([i])
        best: tuple[int, ...] | None = None
        best_order: tuple[Any, ...] = ()
        got: list[int] = []
        for choice in itertools.product(*(itertools.permutations(b) for b in blocks)):
            p = [0] * n
            for new_pos, old in enumerate(itertools.chain.from_iterable(choice)):
                p[old] = new_pos
            pi = perms.index(tuple(p))
            new = [0] * n
            for i, v in enumerate(procs):
                new[p[i]] = model.rename(pi, v)
            cand_order = tuple(rank(v) for v in new)
            if best is None or cand_order < best_order:
                best, best_order, got = tuple(new), cand_order, [pi]
            elif cand_order == best_order:
                got.append(pi)
        assert best is not None
        return best, got

    rng = random.Random(7)
    for _ in range(500):
        procs = tuple(rng.randrange(8) for _ in range(n))
        assert CompiledExplorer._canon_candidates(fake, procs) == every(procs), procs  # type: ignore[arg-type]


def test_an_encoding_without_symmetry_builds_no_renamings_and_searches_the_same() -> None:
    """RaftPins(symmetry=False), as ``check --no-symmetry`` and the 8-server and larger runs build it: no renaming (n! of
    them), and the search is the one without symmetry of the encoding that has them."""
    model = Raft(3, 2, 0)
    bare = RaftPins(model, symmetry=False)
    assert bare.symmetry is None and bare.perms == ()
    assert RaftPins(model).symmetry is not None and len(RaftPins(model).perms) == 6
    a, b = CompiledExplorer(bare, workers=1), CompiledExplorer(RaftPins(model), symmetry=False, workers=1)
    ra, rb = a.run(), b.run()
    assert not a.symmetry and ra.stats.distinct_states == rb.stats.distinct_states > 0
    assert list(a.vectors()) == list(b.vectors())


def test_a_first_run_compiles_the_growth_paths_while_compute_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cold cache, while the second process compiles ``compute``, this one compiles what the run would otherwise
    compile in its middle, the first time a table or the store grows: every signature those functions are called
    with during the search was called (so compiled) in ``start`` already."""
    import numba

    from checker import compiled, pins_store

    class Proc:  # compile_apart's process, as if compute were being compiled
        def wait(self, timeout: float | None = None) -> int:
            return 0

        def kill(self) -> None:
            pass

    monkeypatch.setattr(compiled.K, "compile_apart", lambda disp, args: Proc())
    phase = ["start"]
    seen: dict[tuple[str, str], set[tuple[Any, ...]]] = {}

    def spy(mod: Any, name: str) -> None:
        f = getattr(mod, name)

        def wrapped(*a: Any) -> Any:
            seen.setdefault((name, phase[0]), set()).add(tuple(numba.typeof(x) for x in a))
            return f(*a)

        monkeypatch.setattr(mod, name, wrapped)

    names = [(compiled.K, "ht_put_many"), (compiled.K, "ht_rehash"), (pins_store, "_rehash_memory")]
    for mod, name in names:
        spy(mod, name)
    start = CompiledExplorer.start

    def started(self: CompiledExplorer, verdicts: Any) -> None:
        start(self, verdicts)
        phase[0] = "search"

    monkeypatch.setattr(CompiledExplorer, "start", started)
    assert CompiledExplorer(RaftPins(Raft(3, 3, 0)), workers=2).run().status == "holds"
    for _, name in names:
        assert seen.get((name, "search")), f"{name}: not called in the search (a larger model is needed)"
        assert seen[name, "search"] <= seen.get((name, "start"), set()), f"{name}: first compiled in the middle of the search"


class _BadOps(RaftPins):
    """Raft's encoding with one extra op added to every effect."""

    def __init__(self, model: Raft, extra: Op) -> None:
        super().__init__(model)
        self.extra = extra

    def effects(self, group: int, values: tuple[int, ...]) -> list[Effect]:
        return [Effect(e.label, (*e.ops, self.extra)) for e in super().effects(group, values)]


@pytest.mark.parametrize(("extra", "message"), [
    (Op(10, SET, 0), r"bad effect op Op\(slot=10, kind=0, arg=0\)"),  # beyond the 10 slots of 3 servers
    (Op(-1, MERGE, 0), r"bad effect op Op\(slot=-1, kind=1, arg=0\)"),
    (Op(0, 7, 0), r"bad effect op Op\(slot=0, kind=7, arg=0\)"),  # neither SET nor MERGE
    (Op(0, MERGE, 0), "a merged slot cannot be a context slot"),  # a server's slot: its channels' context
])
def test_an_effect_op_the_kernel_cannot_apply_is_refused(extra: Op, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CompiledExplorer(_BadOps(Raft(3, 2), extra), workers=1).run()


@action_property("KeepsS1S2", "no step removes a message from the channel S1->S2")
def _keeps_s1_s2(s: State, a: object, t: State) -> bool:
    return all(m in t.messages for m in s.messages if (m.msource, m.mdest) == (0, 1))


class _ChannelProp(RaftPins):
    """Raft's encoding with one more action property, KeepsS1S2, on a part that is the channel S1->S2 alone.

    No effect writes that channel but by adding to it: it loses a message only when it is normalised (pruned) because
    its context, S2, changed.  So the property is violated only where the engine looks at a part that an effect changes
    through a context slot it SETs (compiled._result_set's group entries)."""

    def __init__(self, model: Raft) -> None:
        super().__init__(model, [_keeps_s1_s2], symmetry=False)  # the property names servers
        self.mine = 0
        self.action_props[0] = ActionProp(_keeps_s1_s2, ((self.pos_of[0, 1],),))

    def action_holds(self, prop: int, part: int, before: tuple[int, ...], after: tuple[int, ...]) -> bool:
        if prop != self.mine:
            return super().action_holds(prop, part, before, after)
        return set(self.chans[before[0]]) <= set(self.chans[after[0]])


def test_an_action_property_on_a_slot_normalised_by_its_context_is_checked() -> None:
    model = Raft(2, 2)
    assert model.prune_msgs, "the channels are pruned: a message is lost only when its destination changes"
    pins = _ChannelProp(model)
    res = CompiledExplorer(pins, symmetry=False, workers=1).run()
    assert res.violation is not None and res.violation.prop.name == "KeepsS1S2", res.status
    trace = res.violation.trace
    last = trace[-1].action
    assert (last.args[0].mdest if last.name == "HandleRPC" else last.args[0]) == 1, f"{last}: a step of S2, the context"
    replay(model, trace)
    assert not _keeps_s1_s2.check(trace[-2].state, trace[-1].action, trace[-1].state)
