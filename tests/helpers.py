"""Shared, cached searches of small Raft configurations (several test files need the same ones)."""

from __future__ import annotations

import functools
from typing import Any

from checker.bfs import HOLDS, Explorer
from checker.result import Result
from models import tweaks
from models.raft import Raft, State


def model(n: int, t: int, log: int, *, eager: bool, prune: bool, tweak: str | None = None) -> Raft:
    cls = tweaks.apply([tweaks.BUILTIN[tweak]]) if tweak else Raft
    return cls(n, t, log, eager_votes=eager, prune=prune)


@functools.cache
def reachable(n: int, t: int, log: int, *, eager: bool, prune: bool, symmetry: bool = False) -> tuple[State, ...]:
    """Every state the search stores (orbit representatives when ``symmetry``), in BFS order.

    The search checks all properties of the unmodified model, which hold at these bounds.
    """
    ex = Explorer(model(n, t, log, eager=eager, prune=prune), symmetry=symmetry)
    result = ex.run()
    assert result.status == HOLDS and not result.unsatisfied, (result.status, result.unsatisfied)
    return tuple(ex.states)


def interrupt_check(argv: list[str], sig: int, **popen: Any) -> tuple[int, str, str]:
    """Start ``check`` (``argv`` after the interpreter), send ``sig`` once its search is under way; (exit status, stdout, stderr).

    The signal goes out at the first progress line (stderr) that counts
    stored states, so the search has begun however loaded the machine is (a
    fixed delay after the header was outlasted once); ``argv`` must not have
    ``--quiet``.  SIGINT is restored in the child, as a job started in the
    background inherits it ignored.
    """
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Checking"), first
        assert "--quiet" not in argv and proc.stderr is not None
        seen = ""
        while " states," not in (line := proc.stderr.readline()) and line:
            seen += line
        seen += line
        proc.send_signal(sig)
        rest, err = _drain(proc, timeout=120)
        err = seen + err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, first + rest, err


def _drain(proc: Any, timeout: float) -> tuple[str, str]:
    """The rest of ``proc``'s stdout and stderr, read through their text streams (``communicate`` reads the pipes
    underneath, and loses what an earlier ``readline`` had buffered: the header lines after the first, say)."""
    import threading

    got: dict[str, str] = {}

    def read(name: str, stream: Any) -> None:
        got[name] = stream.read()

    threads = [threading.Thread(target=read, args=(n, f), daemon=True) for n, f in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    proc.wait(timeout=timeout)
    for t in threads:
        t.join(timeout=30)
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return got.get("out", ""), got.get("err", "")


def kill_one_when(ex: Any, states: int, lost: list[str]) -> Result[Any, Any]:
    """Run ``ex`` in a thread and kill its second actor once it has stored ``states`` states (mid-search)."""
    import threading
    import time

    out: list[Any] = []
    th = threading.Thread(target=lambda: out.append(_outcome(ex)))
    th.start()
    while ex.count < states and th.is_alive():
        time.sleep(0.01)
    assert th.is_alive(), "the search ended before the kill"
    import ray

    lost.append(str(ray.get(ex.actors[1].pid.remote())))
    ray.kill(ex.actors[1], no_restart=True)
    th.join(timeout=600)
    assert out
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def _outcome(ex: Any) -> Any:
    try:
        return ex.run()
    except BaseException as e:  # handed to the test's thread
        return e


def same(a: Result[Any, Any], b: Result[Any, Any]) -> None:
    """Two searches' results agree: counts, action counts, verdict, each violation's trace, witnesses."""
    assert (b.status, b.stats.distinct_states, b.stats.transitions) == (a.status, a.stats.distinct_states, a.stats.transitions)
    assert b.stats.action_counts == a.stats.action_counts
    assert [(v.prop.name, v.trace) for v in b.violations] == [(v.prop.name, v.trace) for v in a.violations]
    assert b.witnesses == a.witnesses
    assert b.incomplete_reason == a.incomplete_reason


def killing_after_witness(base: type[Any]) -> type[Any]:
    """``base`` (a Ray explorer) that kills its second actor just after the first batch that finds a witness: the
    driver's counters and verdicts have moved on since the last level end saved, and must be put back."""
    import ray

    class KillAfterWitness(base):  # type: ignore[misc, valid-type]
        killed = False

        def expand(self, lo: int, hi: int, verdicts: Any) -> None:
            super().expand(lo, hi, verdicts)
            if verdicts.witness and not self.killed:
                self.killed = True
                ray.kill(self.actors[1], no_restart=True)

    return KillAfterWitness
