"""Checkpoints (``--checkpoint DIR``, checker/checkpoint.py): a stopped search, resumed, is the search never stopped.

A search is cut short with a state cap (as ^C or a killed machine would cut
it), which leaves the checkpoint of the last level end; a second search
resumes from it and must report exactly what one uninterrupted search
reports: counts, per-action counts, depth, verdict, trace and witnesses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker import checkpoint, console
from checker.bfs import HOLDS, INCOMPLETE, VIOLATED, Result
from checker.checkpoint import CheckpointError
from checker.trace import replay
from models import tweaks
from models.raft import Action, Raft, State
from raft_check import cli
from raft_check.fast import FastExplorer


def summary(r: Result[State, Action]) -> tuple[object, ...]:
    st = r.stats
    return r.status, st.distinct_states, st.transitions, st.depth, dict(st.action_counts), sorted(r.unsatisfied)


def steps(trace: list[object] | None) -> list[tuple[object, object]]:
    assert trace is not None
    return [(s.action, s.state) for s in trace]  # type: ignore[attr-defined]


def stop_and_resume(model: Raft, tmp: Path, cap: int, store: str = "compact", workers: int = 1
                    ) -> tuple[FastExplorer, Result[State, Action]]:
    first = FastExplorer(model, store=store, checkpoint=tmp, checkpoint_key="k", checkpoint_interval=0, max_states=cap).run()
    assert first.status == INCOMPLETE and first.stats.distinct_states == cap
    again = FastExplorer(model, store=store, checkpoint=tmp, checkpoint_key="k", checkpoint_interval=0, workers=workers)
    return again, again.run()


@pytest.mark.parametrize(("store", "workers"), [("compact", 1), ("fp", 1), ("compact", 2)])
def test_resumed_violation_is_the_uninterrupted_one(tmp_path: Path, store: str, workers: int) -> None:
    t = tweaks.BUILTIN["truncate-always"]
    model = tweaks.apply([t])(*t.bounds)
    want = FastExplorer(model, store="compact").run()
    again, got = stop_and_resume(model, tmp_path, 9000, store, workers)
    assert again.resumed_from is not None and again.resumed_from > 5  # it did not start afresh
    assert got.status == VIOLATED and summary(got) == summary(want)
    assert got.violation is not None and want.violation is not None
    assert steps(got.violation.trace) == steps(want.violation.trace)  # type: ignore[arg-type]
    replay(model, got.violation.trace, got.violation.prop)
    assert {k: steps(v) for k, v in got.witnesses.items()} == {k: steps(v) for k, v in want.witnesses.items()}  # type: ignore[arg-type]


def test_resumed_complete_search(tmp_path: Path) -> None:
    model = Raft(3, 2, 1)
    one = FastExplorer(model, store="compact")
    want = summary(one.run())
    assert want[0] == HOLDS
    again, got = stop_and_resume(model, tmp_path, 20_000)
    assert summary(got) == want
    assert list(again.reachable()) == list(one.reachable())  # the same states, numbered alike
    # Resuming the finished search's last checkpoint again gives the same answer (a checkpoint is never consumed).
    third = FastExplorer(model, store="compact", checkpoint=tmp_path, checkpoint_key="k", checkpoint_interval=0).run()
    assert summary(third) == want


def test_a_checkpoint_of_another_search_is_refused(tmp_path: Path) -> None:
    FastExplorer(Raft(2, 2, 0), store="compact", checkpoint=tmp_path, checkpoint_key="a", checkpoint_interval=0).run()
    assert checkpoint.describe(tmp_path) is not None
    with pytest.raises(CheckpointError, match="another search"):
        FastExplorer(Raft(2, 2, 0), store="compact", checkpoint=tmp_path, checkpoint_key="b").run()
    manifest = tmp_path / "saved" / checkpoint.MANIFEST
    body = {k: v for k, v in json.loads(manifest.read_text()).items() if k != "digest"}
    body["format"] = -1
    manifest.write_text(json.dumps({**body, "digest": checkpoint._digest(body)}))
    with pytest.raises(CheckpointError, match="another format"):
        checkpoint.describe(tmp_path)


def test_a_partial_save_is_not_a_checkpoint(tmp_path: Path) -> None:
    """Only a complete save is renamed into place: a leftover partial directory is neither read nor in the way."""
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "meta.pickle").write_bytes(b"torn")
    assert checkpoint.describe(tmp_path) is None
    r = FastExplorer(Raft(2, 2, 0), store="compact", checkpoint=tmp_path, checkpoint_key="a", checkpoint_interval=0).run()
    assert r.status == HOLDS and checkpoint.describe(tmp_path) is not None and not (tmp_path / "partial").exists()


def test_cli_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "2", "--max-term", "2", "--quiet", "--out", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "ck")]
    assert cli.main(base) == console.EXIT_BAD_INPUT
    assert "--checkpoint needs a batched store" in capsys.readouterr().err
    assert cli.main([*base, "--store", "compact"]) == console.EXIT_HOLDS
    out = capsys.readouterr().out
    assert "none saved yet" in out and "nothing saved" in out  # a run of a second saves nothing (at most once a minute)
    # A checkpoint of another search in the directory: refused with a message, not resumed.
    FastExplorer(Raft(2, 1, 0), store="compact", checkpoint=tmp_path / "ck", checkpoint_key="other", checkpoint_interval=0).run()
    assert cli.main([*base, "--store", "compact"]) == console.EXIT_BAD_INPUT
    assert "holds a checkpoint of another search" in capsys.readouterr().err


def test_cli_checkpoint_every(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "2", "--max-term", "2", "--quiet", "--store", "compact", "--out", str(tmp_path / "out")]
    assert cli.main([*base, "--checkpoint-every", "5"]) == console.EXIT_BAD_INPUT
    assert "--checkpoint-every needs --checkpoint DIR" in capsys.readouterr().err
    for bad in ("0", "-1", "soon", "inf"):
        assert cli.main([*base, "--checkpoint", str(tmp_path / "ck"), "--checkpoint-every", bad]) == console.EXIT_BAD_INPUT
        assert "argument --checkpoint-every" in capsys.readouterr().err
    # A tiny interval saves at the first level end; the default (a minute) saves nothing in a run of a second.
    assert cli.main([*base, "--checkpoint", str(tmp_path / "ck"), "--checkpoint-every", "0.00001"]) == console.EXIT_HOLDS
    assert "last saved at depth" in capsys.readouterr().out
    assert cli.command_line(["--checkpoint", "ck", "--checkpoint-every", "30", "--servers", "3"]) == "check --servers 3"


def test_search_key_names_what_is_searched() -> None:
    props = list(Raft(3, 2, 1).properties())
    key = cli.search_key(Raft(3, 2, 1), props, True, "compact", None)
    assert "servers=3 max-term=2 max-log=1" in key and "store=compact" in key and "LeaderCompleteness" in key
    assert key != cli.search_key(Raft(3, 2, 1), props[:1], True, "compact", None)
    assert key != cli.search_key(Raft(3, 2, 1, reduce=False), props, True, "compact", None)
    assert key != cli.search_key(Raft(3, 2, 1), props, False, "compact", None)


def test_recorded_command_names_no_checkpoint_directory() -> None:
    argv = ["--servers", "3", "--checkpoint", "/tmp/ck", "--store", "compact", "--checkpoint=/x", "--workers", "2"]
    assert cli.command_line(argv) == "check --servers 3 --store compact --workers 2"
