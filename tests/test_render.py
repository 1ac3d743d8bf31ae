"""How traces read (models/render.py through raft_check/cli.py): each step narrated from what actually changed.

Each trace here is a real execution, built step by step with the model's own
``next_state``, under tweaks that make the unmodified protocol's story wrong:
a real message of term 0, a restart that keeps the role or loses the log, an
election that also empties the log.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checker import console
from checker.trace import Step
from models import render, tweaks
from models.raft import NIL, Action, Message, MType, Raft, Role, ServerVars, State
from raft_check import cli, report

ROOT = Path(__file__).resolve().parent.parent
RV, RVR = MType.RequestVoteRequest, MType.RequestVoteResponse


def tweaked(**overrides: Callable[..., Any]) -> type[Raft]:
    return tweaks.apply([tweaks.Tweak("test-tweak", "a test", dict(overrides))])


def run(model: Raft, *steps: tuple[str, Any]) -> list[Step[State, Action]]:
    """A trace from Init: ("Timeout", 0) or ("HandleRPC", (mtype, source)) for the first such message in flight."""
    s = model.init_states()[0]
    trace: list[Step[State, Action]] = [Step(action=None, state=s)]
    for name, arg in steps:
        if name == "HandleRPC":
            m = next(m for m in s.messages if (m.mtype, m.msource) == arg)
            a = Action(name, (m,))
        else:
            a = Action(name, (arg,))
        t = model.next_state(s, a)
        assert t is not None, f"{a} is not enabled"
        trace.append(Step(action=a, state=t))
        s = t
    return trace


def stories(model: Raft, trace: list[Step[State, Action]]) -> list[str]:
    return report.trace_story(model, trace).splitlines()


# ------------------------------------------------------------- term-0 messages

def _elect_in_term_0(self: Raft, srv: ServerVars, i: int) -> ServerVars:
    """An election that does not move to a new term: its messages are real messages of term 0."""
    return srv._replace(role=Role.Candidate, votedFor=i, votesGranted=(i,))


def test_a_real_message_of_term_0_is_not_drawn_or_told_as_folded() -> None:
    model = tweaked(start_election=_elect_in_term_0)(2, 1, 0)
    trace = run(model, ("Timeout", 0), ("HandleRPC", (RV, 0)), ("HandleRPC", (RVR, 1)))
    table = report.trace_table(model, trace)
    assert "+RequestVoteResponse t=0 S2->S1 granted" in table
    assert render.action_text(trace[3].action, model) == "HandleRPC(RequestVoteResponse t=0 S2->S1 granted)"
    assert "folded" not in table
    told = stories(model, trace)
    assert told[1] == "  2. S2 receives RequestVote from S1 (term 0), and grants its vote for term 0."
    assert told[2] == "  3. S1 receives RequestVoteResponse from S2 (term 0), and counts the vote (votes from 2 of 2 servers)."
    itf = render.itf_state(model, trace[3].state, 3, trace[3].action)
    assert itf["#meta"]["action"] == "HandleRPC(RequestVoteResponse t=0 S2->S1 granted)"


def test_folded_requests_still_read_folded_in_the_log_layer() -> None:
    """In a model that folds, the bare request is a folded one; a term-0 response never is."""
    model = Raft(2, 2, 1)
    bare = Raft.fold(Message(MType.AppendEntriesRequest, 1, 0, 1, mentries=(1,)))
    assert model.folding and render.is_folded(model, bare)
    assert render.msg_text(bare, model) == "AppendEntries S1->S2 (folded)"
    response = Message(RVR, 0, 1, 0, mvoteGranted=True)
    assert not render.is_folded(model, response) and render.msg_text(response, model).endswith("granted")
    assert not render.is_folded(Raft(2, 2, 0), bare)  # the election layer folds nothing


# ------------------------------------------------------------------- Restart

def _restart_keeps_role(self: Raft, srv: ServerVars) -> ServerVars:
    return Raft.restart_server(self, srv)._replace(role=srv.role, votesGranted=srv.votesGranted)


def _restart_loses_log(self: Raft, srv: ServerVars) -> ServerVars:
    return Raft.restart_server(self, srv)._replace(log=())


ELECT_S1 = (("Timeout", 0), ("HandleRPC", (RV, 0)), ("HandleRPC", (RVR, 1)), ("BecomeLeader", 0))


def test_restart_that_keeps_the_role_is_told_so() -> None:
    model = tweaked(restart_server=_restart_keeps_role)(2, 1, 0)
    trace = run(model, *ELECT_S1, ("Restart", 0))
    assert trace[-1].state.servers[0].role == Role.Leader
    assert stories(model, trace)[-1] == "  5. S1 crashes and restarts and is still leader; it keeps its persisted term 1 and vote for itself."


def test_restart_that_loses_the_log_is_told_so() -> None:
    model = tweaked(restart_server=_restart_loses_log)(2, 1, 1)
    trace = run(model, *ELECT_S1, ("ClientRequest", 0), ("Restart", 0))
    assert stories(model, trace)[-1] == ("  6. S1 crashes and restarts as follower; it keeps its persisted term 1 and vote for "
                                         "itself but LOSES its log [1] (now [])."
                                         )


def test_restart_of_the_unmodified_model_keeps_everything_persisted() -> None:
    model = Raft(2, 1, 1)
    trace = run(model, *ELECT_S1, ("ClientRequest", 0), ("Restart", 0))
    assert stories(model, trace)[-1] == "  6. S1 crashes and restarts as follower; it keeps its persisted term 1, vote for itself and log [1]."


# ------------------------------------------------- changes nobody narrated

def _elect_and_forget(self: Raft, srv: ServerVars, i: int) -> ServerVars:
    return Raft.start_election(self, srv, i)._replace(log=())


def test_a_change_the_story_does_not_explain_is_named() -> None:
    model = tweaked(start_election=_elect_and_forget)(2, 2, 1)
    trace = run(model, *ELECT_S1, ("ClientRequest", 0), ("Restart", 0), ("Timeout", 0))
    assert stories(model, trace)[-1] == ("  7. S1 times out, becomes candidate for term 2, votes for itself and asks S2 for its vote "
                                         "(also: S1's log becomes [])."
                                         )


def test_a_candidate_that_times_out_again_starts_a_new_election() -> None:
    model = Raft(2, 2, 0)
    trace = run(model, ("Timeout", 0), ("Timeout", 0))
    assert stories(model, trace)[-1] == "  2. S1 times out, starts a new election as candidate for term 2, votes for itself and asks S2 for its vote."


# --------------------------------------------------------- server names

def test_match_index_names_servers() -> None:
    model = Raft(3, 1, 1)
    trace = run(model, ("Timeout", 0), ("HandleRPC", (RV, 0)), ("HandleRPC", (RVR, 1)), ("BecomeLeader", 0))
    table = report.trace_table(model, trace)
    assert "match={S2:0,S3:0}" in table
    assert render.server_cell(trace[-1].state.servers[0], True, 0).endswith("match={S2:0,S3:0}")
    assert "match=[" not in table


# ------------------------------------------------------- the first line

@pytest.mark.parametrize("absolute", [True, False], ids=["absolute", "relative"])
def test_tweak_file_path_recorded_relative_to_the_current_directory(
        absolute: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An absolute --tweak-file path is recorded relative to the current directory, a relative one as given; the
    recorded command, run again from there, writes the same files."""
    (tmp_path / "tw").mkdir()
    shutil.copy(ROOT / "examples" / "any_vote.py", tmp_path / "tw" / "any_vote.py")
    monkeypatch.chdir(tmp_path)
    given = str(tmp_path / "tw" / "any_vote.py") if absolute else "tw/any_vote.py"
    argv = ["--tweak-file", given, "--servers", "2", "--max-term", "1", "--invariant", "ElectionSafety", "--quiet"]
    assert cli.main([*argv, "--out", "one"]) == console.EXIT_VIOLATION
    txt = tmp_path / "one" / "any_vote" / "ElectionSafety_s2_t1.txt"
    first = txt.read_text().splitlines()[0]
    assert first == "check --tweak-file tw/any_vote.py --servers 2 --max-term 1 --invariant ElectionSafety"
    assert str(tmp_path) not in txt.with_name("ElectionSafety_s2_t1.itf.json").read_text()
    assert cli.main([*first.split()[1:], "--out", "two", "--quiet"]) == console.EXIT_VIOLATION
    assert (tmp_path / "two" / "any_vote" / txt.name).read_text() == txt.read_text()
    capsys.readouterr()


def test_portable_paths_forms() -> None:
    assert cli.portable_paths(["--tweak-file=/a/b/c.py", "--servers", "2"], cwd="/a") == ["--tweak-file=b/c.py", "--servers", "2"]
    assert cli.portable_paths(["--tweak-file", "/x/c.py"], cwd="/a/b") == ["--tweak-file", "../../x/c.py"]
    assert cli.portable_paths(["--tweak-file", "c.py"], cwd="/a") == ["--tweak-file", "c.py"]


# ------------------------------------------------ every reachable step

def _every_step(model: Raft) -> list[tuple[State, Action, State]]:
    from checker.bfs import Explorer

    ex = Explorer(model, [], symmetry=False)
    ex.run()
    return [(s, a, t) for s in ex.states for a in model.actions(s) if (t := model.next_state(s, a)) is not None]


def _told_right(model: Raft, s: State, a: Action, t: State) -> str | None:
    """What is wrong with the sentence for step (s, a, t), judged against what changed; None if nothing."""
    text = render.story(model, s, a, t)
    if not text.endswith(".") or "(also:" in text:
        return text
    if a.name in ("Restart", "Timeout"):
        i = a.args[0]
        v0, v1 = s.servers[i], t.servers[i]
        if a.name == "Timeout" and ("starts a new election" in text) != (v0.role == Role.Candidate):
            return text
        if a.name == "Restart":
            if ("restarts as follower" in text) != (v1.role == Role.Follower):
                return text
            if v0.votedFor == v1.votedFor != NIL and f"vote for {'itself' if v1.votedFor == i else f'S{v1.votedFor + 1}'}" not in text:
                return text
            if model.max_log and v0.log == v1.log and f"log {list(v1.log)}" not in text:
                return text
    return None


@pytest.mark.parametrize("bounds", [(2, 2, 1), (3, 1, 0)], ids=["s2-t2-l1", "s3-t1"])
def test_every_step_of_the_unmodified_model_is_told_from_what_changed(bounds: tuple[int, int, int]) -> None:
    """Every step of every reachable state: the sentence accounts for each variable that changed, a candidate that
    times out starts a new election, and a restart names the vote and log it kept."""
    model = Raft(*bounds)
    steps = _every_step(model)
    assert len(steps) > 1000
    wrong = [text for text in (_told_right(model, *step) for step in steps) if text]
    assert not wrong, wrong[:3]


@pytest.mark.parametrize("name", list(tweaks.BUILTIN))
def test_every_step_under_every_builtin_tweak_is_told_from_what_changed(name: str) -> None:
    tweak = tweaks.BUILTIN[name]
    model = tweaks.apply([tweak])(2, 1, min(tweak.bounds[2], 1))  # the tweak's layer (term-not-persisted's log layer is vast)
    wrong = [text for text in (_told_right(model, *step) for step in _every_step(model)) if text]
    assert not wrong, wrong[:3]
