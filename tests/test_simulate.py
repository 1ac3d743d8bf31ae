"""``check simulate``: the kernel's moves are the model's transitions, walks are reproducible by seed on any number of
workers, shrunk traces replay and still violate, and a run without a violation never says "holds"."""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from checker.model import Kind
from checker.trace import replay
from models import tweaks
from models.raft import Raft
from raft_check import simulate
from raft_check.cli import main as check_main
from raft_check.cli import make_model
from raft_check.readable_kernel import ReadableKernel
from tests.test_counterexample_files import decode

ROOT = Path(__file__).resolve().parent.parent


def tweaked(name: str | None, n: int, t: int, log: int = 0, reduce: bool = True) -> Raft:
    return tweaks.apply([tweaks.BUILTIN[name]] if name else [])(n, t, log, reduce=reduce)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = check_main(["simulate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("tweak", "bounds"), [(None, (3, 2, 0)), ("vote-not-persisted", (3, 2, 0)), (None, (3, 2, 1)),
                                               ("no-prev-log-check", (2, 2, 2)), ("term-not-persisted", (2, 2, 0)),
                                               ("unreduced", (3, 2, 1))])
def test_moves_are_the_models_transitions(tweak: str | None, bounds: tuple[int, int, int]) -> None:
    """Along random walks, the kernel's moves decode to exactly the readable model's successors, and each move's action
    leads there in the readable model; apply() finds the same move again."""
    model = tweaked(None, *bounds, reduce=False) if tweak == "unreduced" else tweaked(tweak, *bounds)
    k = ReadableKernel(model, list(model.properties()))
    rng = random.Random(5)
    for _ in range(15):
        s = k.initial()[0]
        for _ in range(25):
            st = k.decode(s)
            moves = k.moves(s)
            got = sorted((k.action(mv), k.decode(mv[3])) for mv in moves)
            want = sorted((a, t) for a in model.actions(st) if (t := model.next_state(st, a)) is not None)
            assert got == want
            for mv in moves:
                assert k.apply(s, k.action(mv)) == mv
            changing = [mv for mv in moves if mv[3] != s]
            if not changing:
                break
            s = rng.choice(changing)[3]


def test_reproducible_by_seed_on_any_worker_count() -> None:
    """The same seed gives the same violating walk, with the same steps, with one worker and with two."""
    model = tweaked("vote-not-persisted", 3, 1)
    props = list(model.properties())
    runs = [simulate.run_walks(ReadableKernel(model, props), depth=60, mode="swarm", seed=11, workers=w, walks=None, time_limit=120)
            for w in (1, 2, 1)]
    found = [r.found for r in runs]
    assert all(f is not None for f in found)
    assert len({(f.index, repr(f.violation)) for f in found if f is not None}) == 1
    assert found[0] is not None and found[0].index > 0  # a run that had to look: several walks, one found it
    other = simulate.run_walks(ReadableKernel(model, props), depth=60, mode="swarm", seed=12, workers=1, walks=None, time_limit=120)
    assert other.found is not None and (other.found.index, other.found.violation) != (found[0].index, found[0].violation)


def test_walks_without_violation_repeat_exactly() -> None:
    """A bounded run (--walks) on a model without a bug walks the same steps and reaches the same states for a seed."""
    model = tweaked(None, 3, 2, 1)
    props = list(model.properties())
    a, b = (simulate.run_walks(ReadableKernel(model, props), depth=40, mode=m, seed=3, workers=w, walks=30, time_limit=120)
            for m, w in (("swarm", 1), ("swarm", 2)))
    assert a.found is None and b.found is None
    assert (a.walks, a.steps, a.counts, a.distinct) == (b.walks, b.steps, b.counts, b.distinct) and a.walks == 30


@pytest.mark.parametrize(("tweak", "bounds", "prop"), [
    ("half-quorum", (2, 1, 0), "ElectionSafety"),
    ("vote-twice", (2, 1, 0), "ElectionSafety"),
    ("term-not-persisted", (2, 1, 0), "TermMonotonic"),  # an action property
    ("no-log-check", (3, 2, 1), "LeaderCompleteness"),
    ("truncate-always", (3, 2, 1), "LeaderCompleteness"),
])
def test_shrunk_trace_replays_and_violates(tweak: str, bounds: tuple[int, int, int], prop: str) -> None:
    model = tweaked(tweak, *bounds)
    props = [p for p in model.properties() if p.name == prop]
    k = ReadableKernel(model, props)
    run = simulate.run_walks(k, depth=80, mode="swarm", seed=1, workers=1, walks=None, time_limit=120)
    assert run.found is not None and run.found.violation is not None
    p, found = run.found.violation
    assert k.props[p].name == prop
    replay(model, simulate.readable_trace(model, found), props[0])  # the found trace is a real execution too
    shrunk = simulate.Shrinker(k, p).run(list(found))
    assert len(shrunk) <= len(found)
    replay(model, simulate.readable_trace(model, shrunk), props[0])


def test_shrinking_removes_junk() -> None:
    """Steps that play no part in a violation are deleted: a trace padded with restarts and timeouts of a bystander
    shrinks to at most the length of the unpadded one."""
    model = tweaked("half-quorum", 2, 2)
    props = [p for p in model.properties() if p.name == "ElectionSafety"]
    k = ReadableKernel(model, props)
    run = simulate.run_walks(k, depth=40, mode="swarm", seed=2, workers=1, walks=None, time_limit=60)
    assert run.found is not None and run.found.violation is not None
    p, found = run.found.violation
    short = simulate.Shrinker(k, p).run(list(found))
    from models.raft import Action

    start = [Action("Restart", (0,)), Action("Restart", (1,))]
    padded = []
    for j, i in itertools.product(range(1, len(short)), (1, 0)):  # also a restart inside the trace, where one replays
        cand = [*start, *short[:j], Action("Restart", (i,)), *short[j:]]
        with contextlib.suppress(AssertionError):
            replay(model, simulate.readable_trace(model, cand), props[0])
            padded = cand
            break
    assert padded
    again = simulate.Shrinker(k, p).run(padded)
    assert len(again) <= len(short) < len(padded)
    replay(model, simulate.readable_trace(model, again), props[0])


def test_cli_violation_files_reproduce(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The written trace starts with the command that reproduces it (with its seed); running that command writes the
    same files; the ITF trace replays through the model; the summary names both lengths."""
    out = tmp_path / "a"
    code, stdout, _ = run_cli(["--servers", "3", "--max-term", "2", "--max-log", "1", "--tweak", "no-log-check", "--seed", "12",
                               "--out", str(out), "--quiet"], capsys)
    assert code == 1
    txt = out / "no-log-check" / "LeaderCompleteness_s3_t2_l1.txt"
    itf = txt.with_suffix("").with_suffix(".itf.json")
    first = txt.read_text().splitlines()[0]
    m = re.search(r"Found by simulation \(walk (\d+) of seed 12\)", txt.read_text())
    assert m and int(m.group(1)) > 0
    assert first.startswith("check simulate ") and first.endswith(f"--seed 12 --first-walk {m.group(1)} --walks 1")
    assert "--out" not in first and "--quiet" not in first
    assert "Found by simulation (walk " in txt.read_text() and ", shrunk to " in txt.read_text()
    assert "VIOLATED: LeaderCompleteness" in stdout and "shrunk to" in stdout
    # Run the recorded command again into another folder: the same files.
    words = first.split()[2:]
    code2, _, _ = run_cli([*words, "--out", str(tmp_path / "b"), "--quiet", "--workers", "1"], capsys)
    assert code2 == 1
    again = tmp_path / "b" / "no-log-check" / txt.name
    assert again.read_text() == txt.read_text()
    assert again.with_suffix("").with_suffix(".itf.json").read_text() == itf.read_text()
    # The ITF file read back into states (the goldens' reader) is an execution of the model its command names that
    # violates the property at its last state and at no earlier one.
    doc = json.loads(itf.read_text())
    m = re.fullmatch(r"Counterexample to (\w+) \(Found by simulation .*\), produced by: check simulate (.*)", doc["#meta"]["description"])
    assert m, doc["#meta"]["description"]
    model = make_model(simulate.build_parser().parse_args(shlex.split(m.group(2))))
    prop = next(p for p in model.properties() if p.name == m.group(1))
    states = [decode(st) for st in doc["states"]]
    assert states[0] in model.init_states()
    for k, (s, t) in enumerate(itertools.pairwise(states), start=1):
        assert any(model.next_state(s, a) == t for a in model.actions(s)), f"step {k} is not a transition"
        assert prop.check(t) == (k < len(states) - 1)
    # `check view` reads a simulated trace back from its ITF file alone and writes the very viewer simulate wrote.
    from raft_check import cli

    html = txt.with_suffix("").with_suffix(".html")
    assert cli.main(["view", str(itf), "-o", str(tmp_path / "view.html")]) == 0
    assert (tmp_path / "view.html").read_text() == html.read_text()


def test_no_violation_exits_3_and_never_says_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["--servers", "3", "--max-term", "2", "--walks", "25", "--seed", "1", "--out", str(tmp_path)], capsys)
    assert code == 3
    assert "no violation in 25 walks (nothing is proved)" in out
    assert "hold" not in (out + err).lower()
    assert not any(tmp_path.iterdir())
    code, out, err = run_cli(["--servers", "3", "--max-term", "2", "--walks", "5", "--json", "--out", str(tmp_path)], capsys)
    data = json.loads(out)
    assert code == 3 and data["verdict"] == "no violation" and data["walks"] == 5 and "hold" not in out.lower()


def test_sometimes_never_witnessed_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """With max-term 0 no server can time out: LeaderElected is never witnessed, and the run says so."""
    code, out, _ = run_cli(["--servers", "3", "--max-term", "0", "--walks", "3", "--out", str(tmp_path)], capsys)
    assert code == 3
    assert "never witnessed: LeaderElected" in out
    code, out, _ = run_cli(["--servers", "3", "--max-term", "1", "--walks", "20", "--seed", "1", "--out", str(tmp_path)], capsys)
    assert "never witnessed" not in out


@pytest.mark.parametrize("bad", [["--depth", "0"], ["--time-limit", "-1"], ["--time-limit", "soon"], ["--time-limit", "0"],
                                 ["--walks", "0"], ["--seed", "abc"], ["--seed", "-3"], ["--seed", "0x10"],
                                 ["--mode", "clever"], ["--invariant", "Nope"], ["--tweak", "nope"], ["--max-states", "10"],
                                 ["--first-walk", "-1"]])
def test_bad_input_exits_2_with_one_line(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(bad, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("check: error: ")


def test_hyperloglog_estimate() -> None:
    h = simulate.HyperLogLog()
    for x in range(20_000):
        h.add(x)
    for x in range(5_000):  # repeats change nothing
        h.add(x)
    assert abs(h.estimate() - 20_000) < 600  # 2^14 registers: a standard error of 0.8%
    other = simulate.HyperLogLog()
    for x in range(10_000, 30_000):
        other.add(x)
    h.merge(bytes(other.reg))
    assert abs(h.estimate() - 30_000) < 900


def test_swarm_weights_differ_between_walks() -> None:
    ws = [simulate.draw_weights(simulate.walk_rng(1, i)) for i in range(20)]
    assert len({tuple(w.classes) for w in ws}) == 20
    assert any(w.loss[0] > 0 for w in ws) and any(w.loss[0] == 0 for w in ws)
    assert any(w.delay > 0 for w in ws) and any(w.delay == 0 for w in ws)
    assert simulate.draw_weights(simulate.walk_rng(1, 3)) == ws[3]


def test_every_successor_is_checked() -> None:
    """A violation in a successor the walk does not move to is still found: with half-quorum at 2 servers a second
    leader can only appear through one BecomeLeader successor, and depth-limited walks of one step at a time find it."""
    model = tweaked("half-quorum", 2, 1)
    k = ReadableKernel(model, [p for p in model.properties() if p.kind is Kind.ALWAYS])
    run = simulate.run_walks(k, depth=4, mode="uniform", seed=0, workers=1, walks=200, time_limit=60)
    assert run.found is not None and run.found.violation is not None
    assert len(run.found.violation[1]) == run.found.steps + 1  # the violating step is the one generated, not taken


def test_defend_simulate_smoke(tmp_path: Path) -> None:
    """`check defend --simulate` on two quick tweaks and one that holds: found, and 'nothing is proved'."""
    proc = subprocess.run([sys.executable, "-m", "raft_check", "defend", "--simulate", "--tweak", "raft", "--tweak", "half-quorum",
                           "--tweak", "vote-twice", "--time-limit", "3", "--out", str(tmp_path), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: every unsafe tweak's violation found by simulation" in proc.stdout
    assert "no violation (nothing is proved)" in proc.stdout
    assert len(re.findall(r"\bholds\b", proc.stdout, re.IGNORECASE)) == 1  # only raft's expected verdict (from its search)


@pytest.mark.parametrize("where", ["walks", "outside"])
def test_an_interrupt_stops_defend_simulate_after_the_rows_done(where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """^C during a row of `check defend --simulate`, in its walks (which report themselves as interrupted) or outside
    them: it stops there, exit 3; the rows done are reported and the rest named, none of them a MISMATCH."""
    from raft_check import cli, defend_simulate

    real = defend_simulate.simulate_main
    ran: list[str] = []

    def simulate(argv: list[str]) -> int:
        name = argv[argv.index("--tweak") + 1] if "--tweak" in argv else "raft"
        ran.append(name)
        if name != "no-self-vote":
            return real(argv)
        if where == "outside":
            raise KeyboardInterrupt
        print(json.dumps({"violated": None, "walks": 7, "stopped": "interrupted"}))
        return 3

    monkeypatch.setattr(defend_simulate, "simulate_main", simulate)
    code = cli.main(["defend", "--simulate", "--tweak", "half-quorum", "--tweak", "no-self-vote", "--tweak", "vote-twice",
                     "--time-limit", "3", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 3 and ran == ["half-quorum", "no-self-vote"]
    assert "no-self-vote at --servers 3 --max-term 2 ... interrupted" in err and "MISMATCH" not in out + err
    assert "INCOMPLETE (interrupted during no-self-vote: 1 of 3 rows run, not checked: no-self-vote, vote-twice)" in out


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_crashing_model_exits_4_not_1(tmp_path: Path, workers: str) -> None:
    """A tweak whose hook raises is a failed run (exit 4), on one worker or several, never a violation."""
    f = tmp_path / "boom.py"
    f.write_text("from models.tweaks import override\n\n@override('can_grant_vote')\ndef can_grant_vote(self, srv, m):\n"
                 "    raise RuntimeError('boom')\n")
    proc = subprocess.run([sys.executable, "-m", "raft_check", "simulate", "--tweak-file", str(f), "--servers", "2", "--max-term", "1",
                           "--walks", "20", "--seed", "1", "--workers", workers, "--out", str(tmp_path / "out"), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert proc.stderr.startswith("check: failed: ") and proc.stderr.count("\n") == 1 and "boom.py:5" in proc.stderr
    assert "VIOLATED" not in proc.stdout


@pytest.mark.parametrize(("tweak", "bounds"), [(None, (3, 2, 1)), ("vote-not-persisted", (5, 3, 0)), ("commit-old-terms", (3, 4, 1)),
                                               ("history", (3, 2, 0))])
def test_readable_kernels_canonical_form_is_exact(tweak: str | None, bounds: tuple[int, int, int]) -> None:
    """The shrinker's shortcuts to renamings of later states rest on an exact orbit canonical form: the readable kernel's
    is the same for a state and any renaming of it, and is itself a renaming of the state with the servers of
    Raft.representative."""
    model = Raft(*bounds, history=True) if tweak == "history" else tweaked(tweak, *bounds)  # history: the ghost names servers
    k = ReadableKernel(model, list(model.properties()))
    rng = random.Random(3)
    perms = list(itertools.permutations(range(model.n)))
    for _ in range(10):
        s = k.initial()[0]
        for _ in range(30):
            st, c = k.decode(s), k.canon(s)
            assert k.decode(c).servers == model.representative(st).servers
            assert k.decode(c) in {model.permute(st, p) for p in perms}
            p = rng.choice(perms)
            assert k.canon(k.encode(model.permute(st, p))) == c
            changing = [mv[3] for mv in k.moves(s) if mv[3] != s]
            if not changing:
                break
            s = rng.choice(changing)
