"""Hooks a protocol engineer writes (issue 17): the example tweak files and their verdicts, reductions kept per rule,
the soundness self-check, and misuse rejected where the file says it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checker import console
from checker.compiled import CompiledExplorer
from models import tweaks
from models.raft import REDUCTIONS, WITHOUT_ID, Raft, ServerVars
from models.raft_pins import RaftPins
from raft_check import cli, selfcheck

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def summary(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, err = run([*argv, "--json"], capsys)
    assert out, err
    data: dict[str, object] = json.loads(out)
    data["exit"] = code
    return data


# (file, bounds and flags, violated property or None for holds, reductions on)
CASES = [
    ("any_vote.py", ["--servers", "2", "--max-term", "1"], "ElectionSafety", {"eager-votes"}),
    ("leader_keeps_leading.py", ["--servers", "2", "--max-term", "2"], "ElectionSafety", set()),
    ("vote_not_recorded.py", ["--servers", "3", "--max-term", "1"], "ElectionSafety", {"eager-votes"}),
    ("vote_not_recorded.py", ["--servers", "2", "--max-term", "2"], None, {"eager-votes"}),
    ("count_old_votes.py", ["--servers", "2", "--max-term", "3"], "ElectionSafety", {"eager-votes"}),
    ("designated_leader.py", ["--servers", "3", "--max-term", "1", "--no-symmetry"], "ElectionSafety", {"eager-votes", "pruning"}),
]


@pytest.mark.parametrize(("name", "flags", "violated", "on"), CASES, ids=[f"{c[0]}-{'-'.join(c[1][1::2])}" for c in CASES])
def test_example_files_give_their_verdicts(name: str, flags: list[str], violated: str | None, on: set[str], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    s = summary(["--tweak-file", str(EXAMPLES / name), *flags, "--invariant", "ElectionSafety", "--invariant", "LeaderElected",
                 "--out", str(tmp_path)], capsys)
    assert s["violated"] == violated
    assert s["exit"] == (console.EXIT_VIOLATION if violated else console.EXIT_HOLDS)
    assert s["verdict"] == ("violated" if violated else "holds")
    assert {r for r, v in s["reductions"].items() if v} == on  # type: ignore[attr-defined]
    self_check = s["self_check"]
    assert isinstance(self_check, dict) and self_check["agrees"] is True and self_check["searches"] >= 2


def test_handler_rewrite_matches_the_builtin_guard_tweak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """count_old_votes.py rewrites the response handler; count-any-term-votes changes the guard counts_vote: the same
    change, with the same reductions kept (eager vote requests), so the same states and trace length."""
    flags = ["--servers", "2", "--max-term", "3", "--invariant", "ElectionSafety", "--out", str(tmp_path)]
    handler = summary(["--tweak-file", str(EXAMPLES / "count_old_votes.py"), *flags], capsys)
    guard = summary(["--tweak", "count-any-term-votes", *flags], capsys)
    assert handler["reductions"] == guard["reductions"]
    for key in ("violated", "trace_length", "distinct_states", "transitions"):
        assert handler[key] == guard[key], key


def test_server_id_tweak_with_symmetry_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--tweak-file", str(EXAMPLES / "designated_leader.py"), "--servers", "3", "--max-term", "1",
                          "--out", str(tmp_path)], capsys)
    assert code == console.EXIT_BAD_INPUT and out == ""
    assert len(err.splitlines()) == 1
    # Two guards catch it: the probe of the first states (checker/symcheck.py) runs first and refuses it here ...
    assert "treats servers differently" in err and "--no-symmetry" in err
    # ... and the self-check's complete searches at small bounds find it on their own too.
    model = cli.make_model(cli.build_parser().parse_args(["--tweak-file", str(EXAMPLES / "designated_leader.py"),
                                                          "--servers", "3", "--max-term", "1"]))
    report = selfcheck.run(type(model), model, True)
    assert not report.ok and any(f.culprit == "symmetry" for f in report.findings)
    line = selfcheck.refusal(report, "designated_leader.py")
    assert "refuses this run: with symmetry" in line and "complete searches at small bounds" in line and "--no-symmetry" in line


def test_wrong_keep_reductions_is_refused_naming_folding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The accept-stale-AppendEntries file with keep_reductions() (Why item 3 of issue 17): refused before the run.
    Trusted, the reduced search at these bounds reports a false "holds"; without folding it finds a 15-step
    StateMachineSafety violation (docs/tweak-files.md)."""
    f = EXAMPLES / "stale_append_kept.py"
    code, out, err = run(["--tweak-file", str(f), "--servers", "3", "--max-term", "2", "--max-log", "1", "--out", str(tmp_path)], capsys)
    assert code == console.EXIT_BAD_INPUT and out == ""
    assert "with folding" in err and "drop 'folding'" in err and str(f) in err
    assert "with eager-votes" not in err and "with pruning" not in err  # the others agree alone


def test_trust_reductions_skips_the_check_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--tweak-file", str(EXAMPLES / "stale_append_kept.py"), "--servers", "2", "--max-term", "1", "--max-log", "1",
            "--trust-reductions", "--quiet", "--out", str(tmp_path)]
    code, out, _ = run(argv, capsys)
    assert "Self-check: skipped (--trust-reductions): nothing was checked" in out
    assert code in (console.EXIT_HOLDS, console.EXIT_VIOLATION)
    assert summary(argv, capsys)["self_check"] == "skipped (--trust-reductions)"


def test_stale_append_without_keep_drops_folding_only(tmp_path: Path) -> None:
    src = (EXAMPLES / "stale_append_kept.py").read_text().replace("\nkeep_reductions()  # wrong: see above\n", "\n")
    f = tmp_path / "stale_append.py"
    f.write_text(src)
    m = tweaks.apply([tweaks.load_file(str(f))])(3, 2, 1)
    assert m.reductions == {"eager-votes": True, "pruning": True, "folding": False, "eager-appends": True}
    assert "is_stale_request" in m.reduction_notes["folding"]
    assert selfcheck.run(type(m), m, symmetry=True).ok


# ------------------------------------------------------------------ the self-check itself


class OnlyS1TimesOut(Raft):
    """Treats servers differently: only S1 may start an election."""

    def timeout_enabled(self, srv: ServerVars, i: int = -1) -> bool:
        return i == 0 and Raft.timeout_enabled(self, srv, i)


def test_self_check_agrees_on_the_unmodified_model() -> None:
    for bounds in ((3, 2, 0), (3, 2, 1)):
        m = Raft(*bounds)
        report = selfcheck.run(Raft, m, symmetry=True)
        assert report.ok and report.checked == [r for r in REDUCTIONS if m.reductions[r]] + ["symmetry"]
        assert report.searches >= 3 * len(report.bounds) and not report.skipped


@pytest.mark.parametrize("engine", ["compiled", "readable"])
def test_an_interrupted_self_check_stops_the_command(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """^C or kill during one of the self-check's searches (which the search catches, as incomplete) stops the command:
    raised again, not taken for a bound too large to check and skipped while the run goes on."""
    from checker.bfs import Explorer

    if engine == "readable":  # a model the compiled engine does not run: the self-check searches with checker/bfs.py
        monkeypatch.setattr("models.raft_pins.unsupported", lambda model: "test")
    cls = Explorer if engine == "readable" else CompiledExplorer

    def interrupted(self: Any, lo: int, hi: int, *rest: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cls, "expand", interrupted)
    with pytest.raises(KeyboardInterrupt):
        selfcheck.run(Raft, Raft(3, 2, 0), symmetry=True)


def test_self_check_catches_a_tweak_that_treats_servers_differently() -> None:
    report = selfcheck.run(OnlyS1TimesOut, OnlyS1TimesOut(3, 2, 0), symmetry=True)
    assert report.findings and {f.culprit for f in report.findings} == {"symmetry"}
    assert selfcheck.run(OnlyS1TimesOut, OnlyS1TimesOut(3, 2, 0), symmetry=False).ok  # its reductions are sound


# ------------------------------------------------------------------ hooks and their forms


def test_every_hook_receives_the_server_id() -> None:
    import inspect

    from models.raft import HOOKS

    for name in HOOKS:
        params = list(inspect.signature(getattr(Raft, name)).parameters)
        assert "i" in params, name
        if name in WITHOUT_ID:
            assert params[-1] == "i"


@pytest.mark.parametrize("with_id", [False, True])
def test_a_hook_written_with_or_without_the_id_gives_the_same_search(with_id: bool, tmp_path: Path) -> None:
    f = tmp_path / "grant_all.py"
    args = "self, srv, m, i" if with_id else "self, srv, m"
    f.write_text(f"from models.tweaks import override\n\n@override('can_grant_vote')\ndef g({args}):\n    return True\n")
    m = tweaks.apply([tweaks.load_file(str(f))])(2, 1, 0)
    r = CompiledExplorer(RaftPins(m)).run()
    assert r.violation is not None and r.violation.prop.name == "SelfVote"
    assert r.stats.distinct_states == CompiledExplorer(RaftPins(tweaks.apply([tweaks.BUILTIN["vote-twice"]])(2, 1, 0, prune=False))).run().stats.distinct_states


def test_header_names_every_reduction_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--tweak-file", str(EXAMPLES / "vote_not_recorded.py"), "--servers", "2", "--max-term", "1",
                        "--max-log", "1", "--quiet", "--out", str(tmp_path)], capsys)
    lines = {}
    for line in out.splitlines():
        words = line.removeprefix("Reductions:").split()
        if len(words) > 1 and words[0] in ("on", "off") and words[1] in REDUCTIONS:
            lines[words[1]] = line
    assert set(lines) == set(REDUCTIONS)
    assert "on  eager-votes" in lines["eager-votes"] and "overrides none of the hooks" in lines["eager-votes"]
    # In the log layer, pruning drops dead responses only, which rests on no vote rule; folding rests on record_vote.
    assert "on  pruning" in lines["pruning"]
    assert "off folding" in lines["folding"] and "record_vote" in lines["folding"]
    assert "on  eager-appends" in lines["eager-appends"]
    _, out, _ = run(["--servers", "2", "--max-term", "1", "--unreduced", "--quiet", "--out", str(tmp_path)], capsys)
    assert "off eager-votes" in out and "turned off by --unreduced" in out and "Self-check" not in out


# ------------------------------------------------------------------ misuse, at definition time


@pytest.mark.parametrize(("body", "line", "words"), [
    ("keep_reductions('prunning')", 6, ["no reduction 'prunning'", "did you mean 'pruning'", "'eager-appends'"]),
    ("drop_reductions()", 6, ["names no reduction"]),
    ("@override('can_grant_vote')\ndef again(self, srv, m):\n    return False", 6,
     ["override('can_grant_vote') a second time", "line 3", "merge the two"]),
    ("@override('record_vote')\ndef rv(self, srv):\n    return srv", 6, ["record_vote(self, srv, m, i)", "change its parameters"]),
])
def test_misuse_is_refused_where_the_file_says_it(body: str, line: int, words: list[str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "misuse.py"
    f.write_text("from models.tweaks import drop_reductions, keep_reductions, override\n\n"
                 "@override('can_grant_vote')\ndef g(self, srv, m):\n    return True\n" + body + "\n")
    code, out, err = run(["--tweak-file", str(f), "--out", str(tmp_path)], capsys)
    assert code == console.EXIT_BAD_INPUT and out == ""
    assert len(err.splitlines()) == 1
    assert f"{f}:{line}" in err
    for w in words:
        assert w in err, (w, err)


# ------------------------------------------------------------------ the rule


def test_the_rule_is_never_bolder_than_the_hand_argued_builtins() -> None:
    """Each built-in tweak's reductions were argued by hand (models/tweaks.py).  Had the rule decided them, it would
    keep a reduction only where the hand argument keeps it too, in the layer each tweak is for.  (In the log layer
    the rule is finer than the election tweaks' one pruning flag: accept-stale-requests keeps pruning there, which
    drops dead responses only and rests on no stale-request rule, and loses folding.)"""
    for t in tweaks.BUILTIN.values():
        for max_log in (t.bounds[2],):
            by_hand = tweaks.apply([t])(2, 1, max_log)
            by_rule = tweaks.apply([tweaks.Tweak(t.name, t.rule, t.overrides, by_rule=True)])(2, 1, max_log)
            for name, kept in by_rule.reductions.items():
                assert not kept or by_hand.reductions[name], (t.name, max_log, name)


def test_keep_and_drop_by_name(tmp_path: Path) -> None:
    f = tmp_path / "t.py"
    f.write_text("from models.tweaks import drop_reductions, keep_reductions, override\n\n"
                 "@override('record_vote')\ndef rv(self, srv, m, i):\n    return srv\n\n"
                 "keep_reductions('pruning')\ndrop_reductions('eager-votes')\n")
    m = tweaks.apply([tweaks.load_file(str(f))])(3, 2, 0)
    assert m.reductions == {"eager-votes": False, "pruning": True, "folding": False, "eager-appends": False}
    assert "kept by keep_reductions()" in m.reduction_notes["pruning"] and "record_vote" in m.reduction_notes["pruning"]
    assert "drop_reductions()" in m.reduction_notes["eager-votes"]
