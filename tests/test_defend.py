"""Built-in tweaks: verdicts, shortest counterexamples, replay, reductions, and the `check defend` command."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from checker import console
from checker.bfs import HOLDS, VIOLATED, Explorer, Result
from checker.compiled import CompiledExplorer
from checker.trace import replay
from models import tweaks
from models.raft import Action, Raft, State
from models.raft_pins import RaftPins
from raft_check import cli, defend

# Unsafe election tweaks: the safety property they break and the length of the
# shortest counterexample at their declared bounds.
SHORTEST = {
    "no-step-down": ("ElectionSafety", 10),
    "vote-not-persisted": ("ElectionSafety", 9),
    "term-not-persisted": ("ElectionSafety", 12),
    "count-any-term-votes": ("ElectionSafety", 10),
    "vote-twice": ("ElectionSafety", 8),
    "half-quorum": ("ElectionSafety", 4),
    "no-log-check": ("LeaderCompleteness", 12),
    "no-prev-log-check": ("LogMatching", 13),
    "truncate-always": ("LeaderCompleteness", 13),
}


def model_of(name: str | None, n: int, t: int, log: int = 0, **kw: bool) -> Raft:
    cls = tweaks.apply([tweaks.BUILTIN[name]] if name else [])
    return cls(n, t, log, **kw)


def search(model: Raft, only: str | None = None) -> Result[State, Action]:
    """A BFS with the compiled engine (differential-tested against the readable one in tests/test_compiled.py)."""
    props = [p for p in defend.safety_properties(model) if only is None or p.name == only]
    return CompiledExplorer(RaftPins(model, props)).run()


def smaller_bounds(t: tweaks.Tweak) -> list[tuple[int, int, int]]:
    """Bounds one step below the declared ones: max-term - 1, servers - 1 (for half-quorum, the one that matters),
    and max-log - 1 where that still has a log."""
    n, term, log = t.bounds
    out = [(n, term - 1, log)]
    if n > 1:
        out.append((n - 1, term, log))
    if log > 1:
        out.append((n, term, log - 1))
    return out


@pytest.mark.parametrize("name", sorted(SHORTEST))
def test_shortest_counterexample(name: str) -> None:
    t = tweaks.BUILTIN[name]
    prop, length = SHORTEST[name]
    assert t.expected == prop
    model = model_of(name, *t.bounds)
    result = search(model)
    assert result.status == VIOLATED and result.violation is not None
    assert result.violation.prop.name == prop
    assert len(result.violation.trace) - 1 == length
    # The trace is a real execution of the tweaked model that ends in the violation ...
    replay(model, result.violation.trace, result.violation.prop)
    # ... and, as the tweak changes a rule, not of the unmodified model.
    with pytest.raises(AssertionError):
        replay(model_of(None, *t.bounds), result.violation.trace)
    # No violation at all within smaller bounds (complete searches): these bounds are the smallest.
    for b in smaller_bounds(t):
        smaller = search(model_of(name, *b), only=prop)
        assert smaller.status == HOLDS, f"{name} already violates {prop} at {b}"


def test_shortest_table_covers_the_unsafe_searched_tweaks() -> None:
    unsafe = {n for n, t in tweaks.BUILTIN.items() if t.expected != HOLDS and t.searched and not t.search_time}
    assert unsafe <= set(SHORTEST), f"add the trace length of {sorted(unsafe - set(SHORTEST))} to SHORTEST"


@pytest.mark.parametrize("name", [n for n, t in tweaks.BUILTIN.items() if t.expected == HOLDS and t.bounds[2] == 0])
def test_safe_tweak_holds_and_is_not_vacuous(name: str) -> None:
    """A quick version of defend's check (3 servers, term 1), plus a leader is elected at all."""
    model = model_of(name, 3, 1)
    props = [*defend.safety_properties(model), *(p for p in model.properties() if p.name == "LeaderElected")]
    result = Explorer(model, props).run()
    assert result.status == HOLDS and not result.unsatisfied


# Reductions kept by a tweak must not change its verdict: compare with the unreduced model.
# Unreduced searches grow fast, so each tweak gets the cheapest bounds that exercise its change:
# 2 servers up to term 2 by default, 3 servers in term 1 where 2 servers say nothing,
# term 1 where term 2 is too slow unreduced.
# (no-self-vote with 3 servers: see test_kept_reductions_reach_the_same_server_states.)
KEEP_BOUNDS = {"vote-not-persisted": (3, 1, 0), "term-not-persisted": (2, 1, 0)}
KEEPS = [(n, KEEP_BOUNDS.get(n, (2, 2, 0))) for n, t in tweaks.BUILTIN.items()
         if t.bounds[2] == 0 and (t.keeps_eager_votes or t.keeps_pruning)]


@pytest.mark.parametrize(("name", "bounds"), KEEPS, ids=[f"{n}-s{b[0]}t{b[1]}" for n, b in KEEPS])
def test_kept_reductions_give_the_unreduced_verdict(name: str, bounds: tuple[int, int, int]) -> None:
    reduced = search(model_of(name, *bounds))
    unreduced_model = model_of(name, *bounds, reduce=False)
    assert not unreduced_model.eager_votes and not unreduced_model.prune_msgs
    unreduced = search(unreduced_model)
    assert reduced.status == unreduced.status
    if reduced.violation is not None and unreduced.violation is not None:
        assert reduced.violation.prop.name == unreduced.violation.prop.name


def test_reduction_flags_follow_the_tweak() -> None:
    for t in tweaks.BUILTIN.values():
        m = model_of(t.name, 2, 1)
        assert m.eager_votes == t.keeps_eager_votes
        assert m.prune_msgs == t.keeps_pruning


# ---------------------------------------------------------------- check defend

def run_defend(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["defend", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_defend_selected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_defend(["--tweak", "vote-twice", "--tweak", "half-quorum", "--out", str(tmp_path)], capsys)
    assert code == 0, out + err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("defend [1/2] vote-twice") and "ElectionSafety, 8 steps" in lines[0]
    header = out.splitlines()[0].split()
    assert header[:4] == ["tweak", "rule", "bounds", "expected"]
    assert re.search(r"^vote-twice .*ElectionSafety +ElectionSafety +8 ", out, re.M)
    assert re.search(r"^half-quorum .*ElectionSafety +ElectionSafety +4 ", out, re.M)
    txt = tmp_path / "vote-twice" / "ElectionSafety_s2_t1.txt"
    first = "check --servers 2 --max-term 1 --tweak vote-twice --invariant ElectionSafety --invariant LeaderElected --stop-at-first"
    assert txt.read_text().splitlines()[0] == first
    assert (tmp_path / "vote-twice" / "ElectionSafety_s2_t1.itf.json").exists()
    assert "OK: all 2 verdicts as expected" in out


def test_defend_unmodified_and_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_defend(["--tweak", "raft", "--servers", "2", "--max-term", "2", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0 and err == ""
    assert re.search(r"^raft .* holds +holds ", out, re.M)
    # half-quorum is safe with 3 servers: at bounds other than its own the expectation is unknown, not a failure ...
    # (a run that compares nothing at all is vacuous: exit 1, as for a check whose reachability properties never held)
    code, out, _ = run_defend(["--tweak", "half-quorum", "--servers", "3", "--max-term", "1", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and re.search(r"^half-quorum .* not compared +holds ", out, re.M)
    assert out.rstrip().splitlines()[-1].startswith("NOTHING COMPARED (vacuous): none of the 1 verdicts")
    # ... and below the declared max-term a declared violation says nothing either.
    code, out, _ = run_defend(["--tweak", "vote-twice", "--max-term", "0", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and re.search(r"^vote-twice .* not compared +vacuous \(never LeaderElected\) ", out, re.M)
    # A verdict that differs from the declared one at the declared bounds is a mismatch: exit 1.
    monkeypatch.setitem(tweaks.BUILTIN, "vote-twice", dataclasses.replace(tweaks.BUILTIN["vote-twice"], expected=HOLDS))
    code, out, err = run_defend(["--tweak", "vote-twice", "--out", str(tmp_path)], capsys)
    assert code == 1 and "MISMATCH: expected holds" in err
    assert re.search(r"^vote-twice .* holds +ElectionSafety  << MISMATCH +8 ", out, re.M)
    assert "FAILED: 1 verdict(s) differ from the expected: vote-twice" in out


def test_defend_store(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """--store reaches every row's search and its recorded command; without it a row takes its tweak's declared store
    (the long rows declare fp: 323 M states do not fit this machine's memory in the memory store)."""
    code, out, _ = run_defend(["--tweak", "vote-twice", "--store", "fp", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0 and re.search(r"^vote-twice .*ElectionSafety +ElectionSafety +8 ", out, re.M)
    first = (tmp_path / "vote-twice" / "ElectionSafety_s2_t1.txt").read_text().splitlines()[0]
    assert first.endswith("--stop-at-first --store fp")
    monkeypatch.setitem(tweaks.BUILTIN, "vote-twice", dataclasses.replace(tweaks.BUILTIN["vote-twice"], store="compact"))
    code, out, _ = run_defend(["--tweak", "vote-twice", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0
    assert (tmp_path / "vote-twice" / "ElectionSafety_s2_t1.txt").read_text().splitlines()[0].endswith("--store compact")
    assert tweaks.BUILTIN["commit-old-terms"].store == "fp" and "--store fp" in cli.tweak_command(tweaks.BUILTIN["commit-old-terms"])
    from checker import pins_store
    from raft_check import rows

    assert rows.STORES == pins_store.KINDS  # the command lines' list of stores is the engine's


def test_defend_row_warnings_follow_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """What a row's check warns about (here: a search that may not fit in memory) comes on its own line after the
    row's progress line, not in the middle of it, and also with --quiet."""
    from raft_check import sizing

    monkeypatch.setattr(sizing, "physical_memory", lambda: 1000)
    code, _, err = run_defend(["--tweak", "vote-twice", "--out", str(tmp_path)], capsys)
    lines = err.splitlines()
    assert code == 0 and len(lines) == 2, err
    assert lines[0].startswith("defend [1/1] vote-twice at --servers 2 --max-term 1 ... ElectionSafety, 8 steps")
    assert lines[1].startswith("    warning: this search may not fit in this machine's")
    code, _, err = run_defend(["--tweak", "vote-twice", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0 and err.startswith("    warning: this search may not fit") and err.count("\n") == 1


def test_defend_skips_long_searches_unless_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A tweak whose search takes long (``search_time``) is listed as not run by default, and runs when named."""
    only = {n: tweaks.BUILTIN[n] for n in ("vote-twice", "half-quorum")}
    only["vote-twice"] = dataclasses.replace(only["vote-twice"], search_time="about 2 hours")
    monkeypatch.setattr(tweaks, "BUILTIN", only)
    code, out, _ = run_defend(["--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0
    assert "NOT RUN: vote-twice" in out and "the search takes about 2 hours" in out and "(1 not run, see above)" in out
    assert not re.search(r"^vote-twice ", out, re.M) and re.search(r"^half-quorum ", out, re.M)
    code, out, _ = run_defend(["--tweak", "vote-twice", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0 and re.search(r"^vote-twice .* ElectionSafety +ElectionSafety ", out, re.M) and "NOT RUN" not in out
    # --all runs every row, the long one included, and each row has its wall time.
    code, out, _ = run_defend(["--all", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0 and "NOT RUN" not in out and "not run" not in out
    assert re.search(r"^vote-twice .* ElectionSafety +ElectionSafety +8 .* \d+\.\d s$", out, re.M)
    assert re.search(r"^half-quorum .* \d+\.\d s$", out, re.M)


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--tweak", "no-such-tweak"], "unknown tweak 'no-such-tweak'; valid tweaks: raft, no-step-down"),
    (["--servers", "0"], "--servers"),
    (["--max-term", "x"], "--max-term"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--store", "disk"], "--store: invalid choice: 'disk'"),
    (["--simulate", "--store", "fp"], "--store chooses the complete searches' visited-state store, and --simulate runs none"),
])
def test_defend_bad_input(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_defend(argv, capsys)
    assert code == console.EXIT_BAD_INPUT and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("check: error: ") and fragment in err


# --------------------------------------------------------------- --list-tweaks

def test_list_tweaks_names_every_tweak_with_rule_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--list-tweaks"]) == 0
    out = capsys.readouterr().out.splitlines()
    dashes = next(k for k, line in enumerate(out) if set(line) <= {"-", " "} and line)
    spans = [m.span() for m in re.finditer(r"-+", out[dashes])]
    spans[-1] = (spans[-1][0], 10_000)
    rows: list[list[list[str]]] = []
    for line in out[dashes + 1:]:
        if not line.strip():  # the table ends; the reproducing commands follow
            break
        cells = [line[a:b].strip() for a, b in spans]
        if cells[0]:
            rows.append([[c] for c in cells])
        else:
            for col, c in zip(rows[-1], cells, strict=True):
                col.append(c)
    def unwrap(fragments: list[str]) -> str:
        """Undo tabulate's wrapping, which also breaks hyphenated words ("up-to-" / "date")."""
        text = ""
        for x in filter(None, fragments):
            text += x if re.search(r"\w-$", text) else (" " + x if text else x)
        return text

    table = {r[0][0]: [unwrap(col) for col in r[1:]] for r in rows}
    assert list(table) == list(tweaks.BUILTIN)
    for name, t in tweaks.BUILTIN.items():
        rule, verdict = table[name]
        assert rule == " ".join(t.rule.split())
        n, term, _ = t.bounds
        assert verdict.startswith(f"{t.expected} at --servers {n} --max-term {term}")


def test_pruning_would_be_unsound_under_keep_vote() -> None:
    """Why keep-vote-on-new-term runs unpruned: a kept vote is not a vote of the current term.

    S2 voted for S1 in term 1 and moved to term 2 keeping votedFor = S1.  S1's
    term-2 vote request would be granted (S2 still "voted for" S1), but
    notify_only reads votedFor != Nil as "already voted in this term", and
    pruning keeps only the least of S1's two notify-only requests to S2: the
    stale term-1 one.  The grant in term 2 would be lost.
    """
    from models.raft import NIL, Message, MType, Role

    model = model_of("keep-vote-on-new-term", 3, 2, prune=True)
    assert not model.prune_msgs  # the tweak turns pruning off ...
    model.prune_msgs = True  # ... here is what it would do
    base = model.init_server()
    s1 = base._replace(currentTerm=2, role=Role.Candidate, votedFor=0, votesGranted=(0,))
    s2 = base._replace(currentTerm=2, votedFor=0)
    s3 = base._replace(currentTerm=2, role=Role.Candidate, votedFor=2, votesGranted=(2,))
    old = Message(MType.RequestVoteRequest, 1, 0, 1)
    new = Message(MType.RequestVoteRequest, 2, 0, 1)
    servers = (s1, s2, s3)
    assert model.prune(servers, {old, new}) == {old}
    after = model.HandleRPC(State(servers, (old, new)), new)
    assert after is not None
    assert Message(MType.RequestVoteResponse, 2, 1, 0, mvoteGranted=True) in after.messages
    assert after.servers[1].votedFor == 0 != NIL


def test_defend_reports_a_vacuous_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With 2 servers and no self-votes nobody can win: "holds" would say nothing."""
    code, out, _ = run_defend(["--tweak", "no-self-vote", "--servers", "2", "--max-term", "1", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and re.search(r"^no-self-vote .* not compared +vacuous \(never LeaderElected\)", out, re.M)
    assert out.rstrip().splitlines()[-1].startswith("NOTHING COMPARED (vacuous)")


# Stronger than equal verdicts: the reduced model reaches exactly the server configurations
# (up to renaming servers) of the unreduced one, so no property of the servers can tell them apart.
SAME_SERVERS = [("no-self-vote", (2, 2, 0)), ("no-self-vote", (3, 1, 0)), ("half-quorum", (3, 1, 0)),
                ("keep-vote-on-new-term", (2, 2, 0)), ("accept-stale-requests", (2, 2, 0)), ("count-any-term-votes", (2, 2, 0))]


@pytest.mark.parametrize(("name", "bounds"), SAME_SERVERS, ids=[f"{n}-s{b[0]}t{b[1]}" for n, b in SAME_SERVERS])
def test_kept_reductions_reach_the_same_server_states(name: str, bounds: tuple[int, int, int]) -> None:
    def configurations(model: Raft) -> set[tuple[object, ...]]:
        explorer: Explorer[State, Action] = Explorer(model, [])
        explorer.run()
        return {model.representative(State(s.servers, ())).servers for s in explorer.states}

    reduced, unreduced = model_of(name, *bounds), model_of(name, *bounds, reduce=False)
    assert reduced.eager_votes or reduced.prune_msgs
    assert configurations(reduced) == configurations(unreduced)


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_an_interrupt_stops_defend_after_the_rows_done(as_json: bool, tmp_path: Path) -> None:
    """^C during a row (here Figure 8's, a search of minutes) stops `check defend` there, exit 3: the rows done are
    reported with their verdicts, the one interrupted and the rest are named as not checked; none is a MISMATCH."""
    import json
    import os
    import signal
    import subprocess
    import sys

    argv = [sys.executable, "-m", "raft_check", "defend", "--tweak", "vote-twice", "--tweak", "commit-old-terms",
            "--tweak", "half-quorum", "--out", str(tmp_path), *(["--json"] if as_json else [])]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stderr is not None
        seen = b""
        while b"commit-old-terms at" not in seen:  # the row's line ends only with its verdict: read what comes
            got = os.read(proc.stderr.fileno(), 4096)
            assert got, seen
            seen += got
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text, err_text = out.decode(), (seen + err).decode()
    assert proc.returncode == console.EXIT_INCOMPLETE, err_text
    assert "commit-old-terms at --servers 3 --max-term 4 --max-log 1 ... interrupted" in err_text
    assert "half-quorum at" not in err_text and "MISMATCH" not in err_text + text
    if as_json:
        data = json.loads(text)
        assert (data["outcome"], data["exit_code"], data["interrupted_during"]) == ("interrupted", 3, "commit-old-terms")
        assert [r["tweak"] for r in data["rows"]] == ["vote-twice"] and data["rows"][0]["ok"]
        assert data["not_done"] == ["commit-old-terms", "half-quorum"]
    else:
        assert "INCOMPLETE (interrupted during commit-old-terms: 1 of 3 rows run, not checked: commit-old-terms, " \
               "half-quorum)" in text
        assert re.search(r"^vote-twice .*ElectionSafety", text, re.M)


def test_a_row_whose_search_was_interrupted_stops_defend(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The other way ^C reaches `check defend`: inside a row's search, which reports itself as incomplete
    (interrupted). That row is no MISMATCH, and no later row runs."""
    real = defend.run_captured
    ran: list[str] = []

    def captured(check: Any, argv: list[str]) -> Any:
        name = argv[argv.index("--tweak") + 1]
        ran.append(name)
        if name != "commit-old-terms":
            return real(check, argv)
        data = {"verdict": "incomplete", "violated": None, "unsatisfied": [], "trace_length": None, "distinct_states": 5,
                "counterexample_files": [], "incomplete_reason": "interrupted"}
        return data, (), 0.1

    monkeypatch.setattr(defend, "run_captured", captured)
    code = cli.main(["defend", "--tweak", "vote-twice", "--tweak", "commit-old-terms", "--tweak", "half-quorum",
                     "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == console.EXIT_INCOMPLETE and ran == ["vote-twice", "commit-old-terms"]
    assert "commit-old-terms at --servers 3 --max-term 4 --max-log 1 ... interrupted" in err and "MISMATCH" not in out + err
    assert "INCOMPLETE (interrupted during commit-old-terms: 1 of 3 rows run" in out
