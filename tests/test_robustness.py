"""No false "holds", no lost trace, no traceback (issue 15): the ``check`` command under damaged files, crashes and faults.

Every test drives the command line (``cli.main``), not an engine's internals,
so that these guarantees survive a rewrite of the search loop and of its
checkpoints.  Exit codes: 0 holds, 1 violation or vacuous, 2 bad input,
3 incomplete, 4 the run itself failed.
"""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest

from checker import console, failure
from raft_check import cli

CAPTURE = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _reports_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failure reports (and spilled levels) go to the test's folder, not the machine's temporary directory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def run(capsys: CAPTURE, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def tweak_file(tmp: Path, body: str, name: str = "tw.py") -> str:
    p = tmp / name
    p.write_text("from models.raft import Raft\nfrom models.tweaks import override\n\n" + textwrap.dedent(body))
    return str(p)


# --------------------------------------------------------------- 1. checkpoints

CK_ARGS = ["--servers", "3", "--max-term", "3", "--store", "compact", "--quiet"]
FULL_COUNT = 36_420  # tests/test_counts.py pins it; a resumed search that reads damaged files finds other counts


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of 3 servers, max-term 3, saved at every level end and cut short by a state cap."""
    root = tmp_path_factory.mktemp("ck")
    code = cli.main([*CK_ARGS, "--out", str(root / "out"), "--checkpoint", str(root / "ck"), "--checkpoint-every", "0.00001",
                     "--max-states", "30000"])
    assert code == console.EXIT_INCOMPLETE
    assert (root / "ck" / "saved").is_dir()
    return root / "ck"


def resume(capsys: CAPTURE, ck: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, *CK_ARGS, "--out", str(ck.parent / "out"), "--checkpoint", str(ck), *extra)


def copy(saved: Path, tmp: Path) -> Path:
    dst = tmp / "ck"
    shutil.copytree(saved, dst)
    return dst


def test_an_intact_checkpoint_resumes_to_the_full_search(saved_checkpoint: Path, tmp_path: Path, capsys: CAPTURE) -> None:
    """The control for the damage tests below: the same checkpoint, undamaged, resumes to the right verdict and count."""
    code, out, _ = resume(capsys, copy(saved_checkpoint, tmp_path), "--json")
    data = json.loads(out)
    assert code == console.EXIT_HOLDS and data["verdict"] == "holds" and data["distinct_states"] == FULL_COUNT


def flip(path: Path) -> None:
    """Flip up to 4 KB of bytes inside the file, keeping its size."""
    data = bytearray(path.read_bytes())
    lo = len(data) // 4
    for k in range(lo, min(len(data), lo + 4096)):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(0, path.stat().st_size // 2)])


def garbage(path: Path) -> None:
    path.write_bytes(b"garbage\n" * 10)


DAMAGE = {"flip": flip, "truncate": truncate, "garbage": garbage, "missing": Path.unlink}
CK_FILES = sorted([  # the compiled engine's checkpoint on the compact store: its store, tables, counters and meta
    "buf_canon_perms.npy", "buf_canon_plen.npy", "buf_canon_poff.npy", "buf_canon_vals.npy", "buf_ef_label.npy", "buf_ef_len.npy",
    "buf_ef_off.npy", "buf_ef_pans.npy", "buf_op_arg.npy", "buf_op_kind.npy", "buf_op_slot.npy", "buf_rs_len.npy", "buf_rs_off.npy",
    "cmemo_entries.npy", "counts.npy", "ctl.npy", "manifest.json", "memo_entries.npy", "meta.pickle",
    "pmemo_entries.npy", "store_fptab.npy", "store_itab.npy", "store_kids.npy", "store_layout.npy", "store_need.npy",
    "store_parent.npy", "store_pos.npy", "store_rows.npy", "store_sctl.npy", "store_segn.npy", "store_tab.npy", "store_words.npy",
    "wit.npy"])


def test_every_file_of_the_checkpoint_is_tested(saved_checkpoint: Path) -> None:
    assert sorted(p.name for p in (saved_checkpoint / "saved").iterdir()) == CK_FILES


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("name", CK_FILES)
def test_a_damaged_checkpoint_is_refused_never_resumed(saved_checkpoint: Path, tmp_path: Path, capsys: CAPTURE,
                                                       name: str, damage: str) -> None:
    ck = copy(saved_checkpoint, tmp_path)
    DAMAGE[damage](ck / "saved" / name)
    code, out, err = resume(capsys, ck)
    assert "HOLDS" not in out and "VIOLATED" not in out
    assert code == console.EXIT_BAD_INPUT, (out, err)
    assert err.count("\n") == 1 and str(ck) in err  # one line, naming the checkpoint ...
    if name != "manifest.json" or damage == "missing":
        assert name in err  # ... and the damaged file
    assert "delete" in err.lower() or "another format" in err  # ... and what to do


def test_a_damaged_checkpoint_is_refused_in_json(saved_checkpoint: Path, tmp_path: Path, capsys: CAPTURE) -> None:
    ck = copy(saved_checkpoint, tmp_path)
    flip(ck / "saved" / "store_rows.npy")
    code, out, _ = resume(capsys, ck, "--json")
    data = json.loads(out)
    assert code == console.EXIT_BAD_INPUT and data["verdict"] == "bad input" and "store_rows.npy" in data["error"]


def test_checkpoint_folder_is_checked_before_the_search(tmp_path: Path, capsys: CAPTURE,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["--servers", "2", "--max-term", "1", "--store", "compact", "--quiet", "--out", str(tmp_path / "out")]
    a_file = tmp_path / "file"
    a_file.write_text("")
    for where, why in ((a_file, "not a folder"), (Path("/proc/ck"), "cannot write")):
        code, out, err = run(capsys, *base, "--checkpoint", str(where))
        assert code == console.EXIT_BAD_INPUT and why in err and "distinct states" not in out
    from checker import checkpoint

    monkeypatch.setattr(checkpoint, "MIN_FREE_BYTES", 1 << 62)  # no device has that much room left
    code, _, err = run(capsys, *base, "--checkpoint", str(tmp_path / "ck"))
    assert code == console.EXIT_BAD_INPUT and "left on its device" in err


def test_a_failed_save_keeps_the_previous_checkpoint(saved_checkpoint: Path, tmp_path: Path, capsys: CAPTURE,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that fails (here: the disk fills while it is flushed) fails the run, exit 4; the checkpoint saved before it
    is untouched and still resumes."""
    import os

    ck = copy(saved_checkpoint, tmp_path)
    before = sorted((p.name, p.read_bytes()) for p in (ck / "saved").iterdir())

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code, out, err = resume(capsys, ck, "--checkpoint-every", "0.00001")
    assert code == failure.EXIT_FAILED and "No space left on device" in err and "HOLDS" not in out
    monkeypatch.undo()
    assert sorted((p.name, p.read_bytes()) for p in (ck / "saved").iterdir()) == before
    code, out, _ = resume(capsys, ck, "--json")
    assert code == console.EXIT_HOLDS and json.loads(out)["distinct_states"] == FULL_COUNT


# ------------------------------------------------------- 2. a crash is exit 4, never 1

SMALL = ["--servers", "2", "--max-term", "2", "--quiet"]


@pytest.mark.parametrize(("body", "says"), [
    ("@override('can_grant_vote')\ndef can_grant_vote(self, srv, m):\n    raise RuntimeError('boom')\n",
     ":6, in can_grant_vote: RuntimeError: boom"),
    ("@override('has_quorum')\ndef has_quorum(self, srv):\n    raise MemoryError\n", "out of memory"),
    ("import sys\n@override('has_quorum')\ndef has_quorum(self, srv):\n    sys.exit(0)\n", "called exit"),
])
@pytest.mark.parametrize("as_json", [False, True])
def test_a_failing_hook_is_a_failed_run(tmp_path: Path, capsys: CAPTURE, body: str, says: str, as_json: bool) -> None:
    path = tweak_file(tmp_path, body)
    code, out, err = run(capsys, *SMALL, "--out", str(tmp_path / "out"), "--tweak-file", path, *(["--json"] if as_json else []))
    assert code == failure.EXIT_FAILED
    assert err.count("\n") == 1 and err.startswith("check: failed: ") and says in err and "full report: " in err
    if "RuntimeError" in says:
        assert f"tweak file {path}:6" in err
    report = Path(err.rsplit("full report: ", 1)[1].strip())
    assert "Traceback" in report.read_text()
    if as_json:
        data = json.loads(out)
        assert data["verdict"] == "failed" and data["exit_code"] == 4 and data["report"] == str(report)
    else:
        assert "HOLDS" not in out and "VIOLATED" not in out


@pytest.mark.parametrize(("body", "says"), [
    ("@override('step_down')\ndef step_down(self, srv, term):\n    srv._replace(currentTerm=term)\n",
     "tw.py:4: hook step_down returned None (NoneType); it must return a ServerVars"),
    ("@override('has_quorum')\ndef has_quorum(self, srv):\n    return len(srv.votesGranted)\n",
     "tw.py:4: hook has_quorum returned 1 (int); it must return a bool"),
    ("@override('has_quorum')\ndef has_quorum(self, srv):\n    return 'yes'\n", "returned 'yes' (str)"),
    ("import sys\n@override('has_quorum')\ndef has_quorum(self, srv):\n    return True\nsys.exit(0)\n",
     "tw.py:8: the tweak file calls exit"),
    # a hook whose parameters fit no form of its call: refused as the file is loaded (issue 17), not a crash mid-search
    ("@override('has_quorum')\ndef has_quorum(self):\n    return True\n",
     "tw.py:4: override('has_quorum'): has_quorum takes 1 positional argument(s)"),
    ("@override('start_election')\ndef start_election(self, srv, i):\n"
     "    s = Raft.start_election(self, srv, i)\n    return s if i == 0 else s._replace(votesGranted=())\n",
     "this tweak treats servers differently: run with --no-symmetry"),
])
def test_a_tweak_file_that_breaks_the_rules_is_refused(tmp_path: Path, capsys: CAPTURE, body: str, says: str) -> None:
    code, out, err = run(capsys, *SMALL, "--out", str(tmp_path / "out"), "--tweak-file", tweak_file(tmp_path, body))
    assert code == console.EXIT_BAD_INPUT and err.count("\n") == 1 and says in err, err
    assert "HOLDS" not in out and "VIOLATED" not in out


def test_an_asymmetric_tweak_runs_without_symmetry(tmp_path: Path, capsys: CAPTURE) -> None:
    body = ("@override('start_election')\ndef start_election(self, srv, i):\n"
            "    s = Raft.start_election(self, srv, i)\n    return s if i == 0 else s._replace(votesGranted=())\n")
    code, out, _ = run(capsys, *SMALL, "--out", str(tmp_path / "out"), "--tweak-file", tweak_file(tmp_path, body), "--no-symmetry")
    assert code in (console.EXIT_HOLDS, console.EXIT_VIOLATION) and ("HOLDS" in out or "VIOLATED" in out)


def test_a_replay_failure_under_symmetry_names_the_asymmetry() -> None:
    """The second line of defence: a tweak whose asymmetry the probe missed shows as a trace that does not replay."""
    from checker.trace import ReplayError

    e = ReplayError("no transition from step 5 reaches the next state of the path")
    assert failure.cause(e, "", None, symmetry=True, tweaked=True).startswith(failure.ASYMMETRIC)
    assert not failure.cause(e, "", None, symmetry=False, tweaked=True).startswith(failure.ASYMMETRIC)
    other = AssertionError("no HandleRPC step matches the transition")
    assert "run with --no-symmetry" in failure.cause(other, "", None, symmetry=True, tweaked=True)


# ----------------------------------------------------------- 3. a found trace is never lost

VIOLATING = ["--servers", "2", "--max-term", "1", "--tweak", "vote-twice", "--invariant", "ElectionSafety", "--quiet"]


def test_a_trace_that_cannot_be_written_is_still_printed(tmp_path: Path, capsys: CAPTURE) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "vote-twice").write_text("a file where the folder would go")  # passes the up-front check, fails the write
    code, out, err = run(capsys, *VIOLATING, "--out", str(out_dir))
    assert code == console.EXIT_VIOLATION
    assert "VIOLATED: ElectionSafety" in out and "What happens:" in out and "BecomeLeader" in out
    assert "could not write the counterexample" in err and "printed above" in err
    code, out, err = run(capsys, *VIOLATING, "--out", str(out_dir), "--json")
    data = json.loads(out)
    assert code == console.EXIT_VIOLATION and data["violated"] == "ElectionSafety" and "What happens:" in data["counterexample_text"]


def test_an_unwritable_out_is_refused_before_the_search(capsys: CAPTURE) -> None:
    for where in ("/proc/ce", "/sys/ce"):
        code, out, err = run(capsys, *VIOLATING, "--out", where)
        assert code == console.EXIT_BAD_INPUT and "cannot write" in err and "distinct states" not in out


def test_counterexample_files_are_written_whole(tmp_path: Path, capsys: CAPTURE) -> None:
    code, out, _ = run(capsys, *VIOLATING, "--out", str(tmp_path))
    assert code == console.EXIT_VIOLATION
    assert out.index("What happens:") < out.index("Counterexample written to")  # the trace comes first
    folder = tmp_path / "vote-twice"
    assert sorted(p.name for p in folder.iterdir()) == ["ElectionSafety_s2_t1.html", "ElectionSafety_s2_t1.itf.json", "ElectionSafety_s2_t1.txt"]
    json.loads((folder / "ElectionSafety_s2_t1.itf.json").read_text())
