"""``--checkpoint DIR`` on the compiled engine: a stopped search, resumed, is the search never stopped.

A search is cut (by the state cap or by Ctrl-C) after saving at every level
end (interval 0); a second search with the same key resumes from the last
save and must report what an uninterrupted search reports: counts, verdict,
every property's row and trace, on every store, with and without
``--continue``.  Damaged checkpoints, other engines' and other searches' are
refused with one line (exit 2 through the CLI).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checker import checkpoint, console
from checker.bfs import HOLDS, INCOMPLETE, Progress, Result
from checker.checkpoint import CheckpointError
from checker.compiled import CompiledExplorer
from models import tweaks
from models.raft import Raft
from models.raft_pins import RaftPins
from raft_check import cli
from raft_check.verdicts import property_results


def model_of(case: str) -> Raft:
    return tweaks.apply([tweaks.BUILTIN["no-prev-log-check"]])(2, 2, 2) if case == "violated" else Raft(2, 2, 1)


def run(model: Raft, tmp: Path | None, **kw: Any) -> Result[Any, Any]:
    ck = {"checkpoint": tmp, "checkpoint_key": "k", "checkpoint_interval": 0.0} if tmp is not None else {}
    return CompiledExplorer(RaftPins(model), batch=kw.pop("batch", 64), **ck, **kw).run()


def summary(r: Result[Any, Any]) -> tuple[Any, ...]:
    rows = [(row.name, row.verdict, row.trace_length) for row in property_results(r)]
    traces = {v.prop.name: [(s.action, s.state) for s in v.trace] for v in r.violations}
    witnesses = {n: None if w is None else [(s.action, s.state) for s in w] for n, w in r.witnesses.items()}
    st = r.stats
    return (r.status, r.incomplete_reason, st.distinct_states, st.transitions, st.depth, dict(st.action_counts), rows, traces,
            witnesses)


@pytest.mark.parametrize("keep_going", [False, True], ids=["first", "continue"])
@pytest.mark.parametrize("case", ["holds", "violated"])
@pytest.mark.parametrize("store", ["memory", "compact", "fp"])
def test_resumed_after_the_cap_is_the_uninterrupted_search(store: str, case: str, keep_going: bool, tmp_path: Path) -> None:
    model = model_of(case)
    want = run(model, None, store=store, keep_going=keep_going)
    assert want.status != INCOMPLETE
    cap = want.stats.distinct_states // 2
    cut = run(model_of(case), tmp_path, store=store, keep_going=keep_going, max_states=cap)
    assert cut.status == INCOMPLETE or (keep_going and cut.violations)
    assert checkpoint.describe(tmp_path) is not None
    got = run(model_of(case), tmp_path, store=store, keep_going=keep_going, workers=2, batch=5)
    assert summary(got) == summary(want)
    again = run(model_of(case), tmp_path, store=store, keep_going=keep_going)  # a checkpoint is never consumed
    assert summary(again) == summary(want)


def test_resumed_after_ctrl_c(tmp_path: Path) -> None:
    model = model_of("violated")
    want = run(model, None, store="compact", keep_going=True)
    calls = 0

    def interrupt(p: Progress) -> None:
        nonlocal calls
        calls += 1
        if calls == 40:
            raise KeyboardInterrupt

    cut = CompiledExplorer(RaftPins(model_of("violated")), store="compact", keep_going=True, batch=8, progress=interrupt,
                           progress_interval=0.0, checkpoint=tmp_path, checkpoint_key="k", checkpoint_interval=0.0).run()
    assert (cut.status, cut.incomplete_reason) == (INCOMPLETE, "interrupted")
    saved = checkpoint.describe(tmp_path)
    assert saved is not None and saved.startswith("depth ")
    got = run(model_of("violated"), tmp_path, store="compact", keep_going=True)
    assert summary(got) == summary(want)


def damage(tmp: Path, name: str) -> None:
    path = tmp / "saved" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def cut_checkpoint(tmp: Path) -> None:
    run(Raft(2, 2, 1), tmp, store="compact", max_states=300)


@pytest.mark.parametrize("name", ["store_words.npy", "meta.pickle", "memo_entries.npy", checkpoint.MANIFEST])
def test_a_damaged_checkpoint_is_refused(name: str, tmp_path: Path) -> None:
    cut_checkpoint(tmp_path)
    damage(tmp_path, name)
    with pytest.raises(CheckpointError, match="is damaged"):
        run(Raft(2, 2, 1), tmp_path, store="compact")


def test_files_that_do_not_fit_together_are_refused(tmp_path: Path) -> None:
    """A checkpoint whose checksums hold but whose arrays disagree with its counters (as if written by other code)."""
    cut_checkpoint(tmp_path)
    meta, arrays = checkpoint.load_engine(tmp_path, "compiled", CompiledExplorer(
        RaftPins(Raft(2, 2, 1)), store="compact", checkpoint=tmp_path, checkpoint_key="k").checkpointer.key)  # type: ignore[misc, union-attr]
    meta["position"] = (0, 10**9, 1, 1)
    key = meta.pop("key")
    for k in ("format", "engine"):
        meta.pop(k)
    checkpoint.save_engine(tmp_path, "compiled", key, meta, arrays)
    with pytest.raises(CheckpointError, match="do not fit together"):
        run(Raft(2, 2, 1), tmp_path, store="compact")


def test_another_search_is_refused(tmp_path: Path) -> None:
    cut_checkpoint(tmp_path / "compiled")
    for other in (dict(store="fp"), dict(store="compact", symmetry=False)):
        with pytest.raises(CheckpointError, match="another search"):
            run(Raft(2, 2, 1), tmp_path / "compiled", **other)
    with pytest.raises(CheckpointError, match="another search"):
        run(Raft(2, 2, 1), tmp_path / "compiled", store="compact", keep_going=True)
    with pytest.raises(CheckpointError, match="another search"):  # the caller's key names the bounds
        CompiledExplorer(RaftPins(Raft(2, 2, 2)), store="compact", checkpoint=tmp_path / "compiled", checkpoint_key="k 2/2/2").run()


def test_cli_compiled_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--servers", "2", "--max-term", "2", "--max-log", "1", "--engine", "compiled", "--store", "fp", "--json",
            "--out", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "ck"), "--checkpoint-every", "0.000001"]
    code = cli.main([*base, "--max-states", "200"])
    assert code == console.EXIT_INCOMPLETE
    capsys.readouterr()
    code = cli.main(base)
    doc = json.loads(capsys.readouterr().out)
    assert code == console.EXIT_HOLDS and doc["verdict"] == HOLDS
    plain = CompiledExplorer(RaftPins(Raft(2, 2, 1)), store="fp").run()
    assert doc["distinct_states"] == plain.stats.distinct_states and doc["transitions"] == plain.stats.transitions
    damage(tmp_path / "ck", "store_fptab.npy")
    assert cli.main(base) == console.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is damaged" in err[0]


@pytest.mark.parametrize("store", ["compact", "fp"])
def test_a_resumed_store_is_in_the_memory_a_grown_one_is_in(store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after a resume, each large store array is in memory of its own, the randomly probed ones advised huge,
    as they are in the uninterrupted search (a plain copy had 4 KiB pages: a resumed Figure 8 probed its fp table
    without huge pages until it next grew).  "Large" is lowered to 1 KiB so that a small search has such arrays."""
    from checker import compiled, pins_store

    monkeypatch.setattr(pins_store, "_HUGE_MIN", 1 << 10)
    want = run(Raft(2, 2, 1), None, store=store)
    run(Raft(2, 2, 1), tmp_path, store=store, max_states=want.stats.distinct_states // 2)
    seen: dict[str, Any] = {}
    real = compiled.CompiledExplorer._restore

    def spy(self: compiled.CompiledExplorer, *args: Any) -> Any:
        pos = real(self, *args)
        seen.update({a: pins_store._mapping_of(getattr(self.store, a)) for a in ("rows", "parent", *pins_store.HUGE_ARRAYS)
                     if getattr(self.store, a).nbytes >= 1 << 10})
        return pos

    monkeypatch.setattr(compiled.CompiledExplorer, "_restore", spy)
    assert summary(run(Raft(2, 2, 1), tmp_path, store=store)) == summary(want)
    huge = {"compact": "words", "fp": "fptab"}[store]
    assert huge in seen and len(seen) >= 2
    assert all(m is not None and m.huge == (a in pins_store.HUGE_ARRAYS) for a, m in seen.items()), seen
