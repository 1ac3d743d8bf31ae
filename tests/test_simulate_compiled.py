"""``check simulate`` on the compiled kernel (checker/pins_walk.py): its transitions are its base kernel's (the readable
model's, raft_check/readable_kernel.py), its walks are reproducible by seed on any number of workers and do not depend on when the tables were filled,
its violations replay and shrink, and the command picks it (or falls back) and names it."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pytest

from checker.model import Kind
from checker.pins_walk import PinsWalkKernel
from checker.trace import replay
from models import tweaks
from models.raft import Raft
from models.raft_pins import RaftPins
from raft_check import simulate
from raft_check.readable_kernel import ReadableKernel
from tests.test_simulate import run_cli, tweaked


def compiled(model: Raft, props: list[object] | None = None) -> PinsWalkKernel:
    ps = list(model.properties()) if props is None else props
    return PinsWalkKernel(RaftPins(model, ps), ReadableKernel(model, ps), simulate.MOVE_CLASSES)  # type: ignore[arg-type]


@pytest.mark.parametrize(("tweak", "bounds"), [(None, (3, 2, 1)), ("vote-not-persisted", (3, 2, 0)), ("no-prev-log-check", (2, 2, 2)),
                                               ("unreduced", (3, 2, 1))])
def test_compiled_transitions_are_the_readable_models(tweak: str | None, bounds: tuple[int, int, int]) -> None:
    """Along random walks, the compiled code's transitions from each state (as readable actions and decoded successors) are
    exactly the readable model's successors."""
    model = tweaked(None, *bounds, reduce=False) if tweak == "unreduced" else tweaked(tweak, *bounds)
    k = compiled(model)
    pins = k.pins
    rng = random.Random(3)
    for _ in range(10):
        v = pins.initial()[0]
        for _ in range(25):
            st = pins.decode(v)
            got = k.compiled_moves(v)
            want = sorted((a, t) for a in model.actions(st) if (t := model.next_state(st, a)) is not None)
            assert sorted((a, pins.decode(t)) for a, t in got) == want
            changing = [t for _, t in got if t != v]
            if not changing:
                break
            v = rng.choice(changing)


def test_compiled_walks_agree_with_the_base_kernel_state_by_state() -> None:
    """A compiled walk's actions, replayed on the base kernel, pass through states whose base-kernel moves are the compiled
    transitions of the same states (same actions, same successors)."""
    model = tweaked(None, 3, 3, 1)
    k = compiled(model)
    w = simulate.Walker(k, 40, "swarm", 5)
    checked = 0
    for index in range(20):
        rng = simulate.walk_rng(5, index)
        weights = simulate.draw_weights(rng, k.message_kinds, k.n)
        out = simulate.WalkResult(index, 0)
        k.walk_on(w, out, rng, weights, 0)
        # Re-run the walk's choices: take them from the path the compiled walk recorded.
        actions = [k.readable(int(e)) for e in k.path[: out.steps].tolist()]
        fs, v = k.base.initial()[0], k.pins.initial()[0]
        for a in actions:
            fmoves = sorted((k.base.action(mv), k.base.decode(mv[3])) for mv in k.base.moves(fs))
            cmoves = sorted((b, k.pins.decode(t)) for b, t in k.compiled_moves(v))
            assert fmoves == cmoves
            mv = k.base.apply(fs, a)
            assert mv is not None
            fs = mv[3]
            v = next(t for b, t in k.compiled_moves(v) if b == a)
            assert k.pins.decode(v) == k.base.decode(fs)
            checked += 1
    assert checked > 200


def _walks_digest(k: PinsWalkKernel, seed: int, walks: int, depth: int = 60) -> tuple[str, int, int]:
    w = simulate.Walker(k, depth, "swarm", seed)
    h = hashlib.sha256()
    for i in range(walks):
        r = w.walk(i)
        h.update(repr((r.steps, r.violation)).encode())
    return h.hexdigest(), w.hll.estimate(), w.transitions


def test_a_walk_does_not_depend_on_what_the_tables_hold() -> None:
    """Misses resume a step identically: the same walks on a fresh kernel (every entry missing, many fills), and again on
    a kernel whose tables those walks already filled (no misses), take the same steps, find the same states and check
    the same transitions."""
    model = tweaked(None, 3, 3, 1)
    props = [p for p in model.properties() if p.kind is not Kind.SOMETIMES]
    k = compiled(model, props)  # type: ignore[arg-type]
    before = k.fills
    a = _walks_digest(k, 4, 60)
    middle = k.fills
    b = _walks_digest(k, 4, 60)
    assert a == b
    assert middle - before > 200 and k.fills == middle  # the two really ran with different misses


def test_compiled_reproducible_by_seed_on_any_worker_count() -> None:
    model = tweaked("vote-not-persisted", 3, 1)
    props = list(model.properties())
    runs = [simulate.run_walks(compiled(model, props), depth=60, mode="swarm", seed=11, workers=w, walks=None, time_limit=120)
            for w in (1, 2)]
    found = [r.found for r in runs]
    assert all(f is not None for f in found)
    assert len({(f.index, repr(f.violation)) for f in found if f is not None}) == 1
    bounded = [simulate.run_walks(compiled(tweaked(None, 3, 2, 1)), depth=40, mode=m, seed=3, workers=w, walks=30, time_limit=120)
               for m, w in (("swarm", 1), ("swarm", 2), ("uniform", 1), ("uniform", 2))]
    for x, y in ((bounded[0], bounded[1]), (bounded[2], bounded[3])):
        assert x.found is None and y.found is None
        assert (x.walks, x.steps, x.transitions, x.counts, x.distinct, x.witnessed) == (y.walks, y.steps, y.transitions, y.counts, y.distinct, y.witnessed)
    assert bounded[0].steps != bounded[2].steps


@pytest.mark.parametrize(("tweak", "bounds", "prop"), [
    ("half-quorum", (2, 1, 0), "ElectionSafety"),
    ("term-not-persisted", (2, 1, 0), "TermMonotonic"),  # an action property
    ("no-log-check", (3, 2, 1), "LeaderCompleteness"),
])
def test_compiled_violation_replays_and_shrinks(tweak: str, bounds: tuple[int, int, int], prop: str) -> None:
    model = tweaked(tweak, *bounds)
    k = compiled(model)
    run = simulate.run_walks(k, depth=80, mode="swarm", seed=1, workers=1, walks=None, time_limit=120)
    assert run.found is not None and run.found.violation is not None
    p, found = run.found.violation
    target = k.props[p]
    assert len(found) == run.found.steps + 1
    replay(model, simulate.readable_trace(model, found), target)  # a real execution, violating at its last step only
    shrunk = simulate.Shrinker(k, p).run(list(found))
    assert len(shrunk) <= len(found)
    replay(model, simulate.readable_trace(model, shrunk), target)
    assert any(q.name == prop for q in k.props)


def test_compiled_checks_every_successor() -> None:
    """As on the readable kernel: a violation in a successor the walk does not move to is found at the step that generates it."""
    model = tweaked("half-quorum", 2, 1)
    k = compiled(model, [p for p in model.properties() if p.kind is Kind.ALWAYS])
    run = simulate.run_walks(k, depth=4, mode="uniform", seed=0, workers=1, walks=200, time_limit=60)
    assert run.found is not None and run.found.violation is not None
    assert len(run.found.violation[1]) == run.found.steps + 1


def test_compiled_witnesses_sometimes() -> None:
    model = tweaked(None, 3, 0)
    run = simulate.run_walks(compiled(model), depth=20, mode="swarm", seed=1, workers=1, walks=3, time_limit=60)
    names = {compiled(model).props[p].name for p in run.witnessed}
    assert "LeaderElected" not in names
    run = simulate.run_walks(compiled(tweaked(None, 3, 1)), depth=60, mode="swarm", seed=1, workers=1, walks=20, time_limit=60)
    assert "LeaderElected" in {compiled(tweaked(None, 3, 1)).props[p].name for p in run.witnessed}


def test_cli_names_the_kernel_and_falls_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--servers", "3", "--max-term", "2", "--walks", "4", "--seed", "1", "--out", str(tmp_path)]
    code, out, _ = run_cli(common, capsys)
    assert code == 3 and "Kernel: compiled (checker/pins_walk.py" in out
    code, out, err = run_cli([*common, "--kernel", "fast"], capsys)  # retired: the message names what to use
    assert code == 2 and "--kernel compiled" in err
    # The ghost elected (ElectionSafetyHistory) has its slots in the compiled encoding (one per server): no fallback.
    code, out, _ = run_cli([*common, "--invariant", "ElectionSafetyHistory"], capsys)
    assert code == 3 and "Kernel: compiled (checker/pins_walk.py" in out


def test_history_violation_found_and_shrunk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ElectionSafetyHistory on a walk: the ghost is kept along walks (the first-generation kernel's walk step used to
    drop it, so its walks never saw this violation and shrinking a compiled walk's trace failed), and the shrunk trace
    replays."""
    code, out, err = run_cli(["--servers", "2", "--max-term", "1", "--tweak", "term-not-persisted", "--invariant",
                              "ElectionSafetyHistory", "--walks", "2000", "--seed", "1", "--workers", "1", "--kernel", "compiled",
                              "--out", str(tmp_path)], capsys)
    assert code == 1 and "shrinking failed" not in err, err
    m = re.search(r"VIOLATED: ElectionSafetyHistory \(walk \d+ of seed 1: found in (\d+) steps, shrunk to (\d+)\)", out)
    assert m is not None and int(m[2]) <= int(m[1]) and int(m[2]) >= 10  # 10: the shortest (BFS, tests/test_history.py)


def test_history_violation_found_by_python_walks_on_the_readable_kernel() -> None:
    """The fallback's walks (in Python, on the readable kernel) keep the ghost too: they find the violation, and its trace
    shrinks to one that replays, no shorter than the shortest."""
    model = tweaks.apply([tweaks.BUILTIN["term-not-persisted"]])(2, 1, history=True)
    props = [p for p in model.properties() if p.name == "ElectionSafetyHistory"]
    k = ReadableKernel(model, props)
    run = simulate.run_walks(k, depth=100, mode="swarm", seed=1, workers=1, walks=2000, time_limit=120)
    assert run.found is not None and run.found.violation is not None
    p, found = run.found.violation
    shrunk = simulate.Shrinker(k, p).run(list(found))
    assert 10 <= len(shrunk) <= len(found)  # 10: the shortest (BFS, tests/test_history.py)
    replay(model, simulate.readable_trace(model, shrunk), props[0])


def test_falls_back_to_the_readable_kernel_for_a_property_that_reads_the_network() -> None:
    """A property the compiled encoding cannot check: auto walks on the readable kernel in Python and says why; compiled
    is refused with the reason; the fallback's walks find the violation and shrink it to a trace that replays."""
    from checker.console import BadInput
    from checker.model import always
    from models.raft import State

    @always("FewMessages", "at most two messages in flight")
    def few(s: State) -> bool:
        return len(s.messages) <= 2

    model = tweaked(None, 3, 2)
    k, line = simulate.pick_kernel(model, [few], "auto")
    assert isinstance(k, ReadableKernel) and line.startswith("readable (raft_check/readable_kernel.py")
    assert "the compiled kernel cannot run this model" in line and "reads the network" in line
    with pytest.raises(BadInput, match=r"--kernel compiled cannot run this model.*reads the network"):
        simulate.pick_kernel(model, [few], "compiled")
    run = simulate.run_walks(k, depth=30, mode="swarm", seed=2, workers=1, walks=200, time_limit=120)
    assert run.found is not None and run.found.violation is not None
    p, found = run.found.violation
    shrunk = simulate.Shrinker(k, p).run(list(found))
    assert 1 <= len(shrunk) <= len(found)
    replay(model, simulate.readable_trace(model, shrunk), few)


def test_simulation_imports_nothing_of_the_fast_engine() -> None:
    """check simulate and check defend --simulate stand without the first-generation fast engine (issue #14 deletes it):
    neither imports it, not even inside a function (the scan of tests/test_layering.py, which sees both forms)."""
    from tests.test_layering import imported

    fast = {"raft_check.fast", "raft_check.parallel", "raft_check.fast_kernel", "models.fast_raft"}
    root = Path(__file__).resolve().parent.parent / "raft_check"
    for name in ("simulate.py", "defend_simulate.py", "readable_kernel.py"):
        got = imported((root / name).read_text())
        assert not got & fast, f"{name} imports {sorted(got & fast)}"
    assert imported("def f():\n    from raft_check.fast import unsupported\n") & fast  # the scan can fail
