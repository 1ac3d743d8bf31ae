"""checker.signals: an interrupt that arrives during a numba compile stops the run after the compile, not inside it;
one that arrives once the search has ended is noted, and the report (the trace above all) finished first."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numba
import pytest
from numba.core.compiler_lock import global_compiler_lock

from checker import signals
from checker.console import EXIT_VIOLATION


def _signal_once_compiling(sig: int, done: threading.Event) -> None:
    """Send ``sig`` to this process as soon as another thread holds numba's compiler lock."""
    while not done.is_set():
        if global_compiler_lock._lock.acquire(blocking=False):
            global_compiler_lock._lock.release()
            time.sleep(0.0005)
            continue
        os.kill(os.getpid(), sig)
        return


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_during_a_compile_is_raised_after_it(sig: int) -> None:
    def f(x: int) -> int:  # a new function each time: compiled, not loaded from a cache
        return x * 3 + 1

    disp = numba.njit(f)
    done = threading.Event()
    compiled = False
    before = signal.getsignal(sig)
    sender = threading.Thread(target=_signal_once_compiling, args=(sig, done))
    try:
        signal.signal(sig, signals.interrupt)
        with pytest.raises(KeyboardInterrupt):
            sender.start()
            disp.compile("int64(int64)")
            compiled = True
            time.sleep(30)  # the interrupt put off during the compile lands here
    finally:
        done.set()
        sender.join()
        signal.signal(sig, before)
    assert compiled, "the interrupt was raised inside the compile"
    assert disp(4) == 13


def test_an_interrupt_outside_a_compile_is_raised_at_once() -> None:
    with pytest.raises(KeyboardInterrupt):
        signals.interrupt(signal.SIGINT, None)


def test_interrupts_sets_only_default_handlers_and_restores_them() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    before = signal.signal(signal.SIGTERM, mine)
    try:
        with signals.interrupts(signal.SIGINT, signal.SIGTERM):
            assert signal.getsignal(signal.SIGTERM) is mine  # a handler of the caller's is left alone
            assert signal.getsignal(signal.SIGINT) is signals.interrupt
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_second_interrupt_during_a_compile_stops_at_once(capfd: pytest.CaptureFixture[str]) -> None:
    """The first ^C during a compile is put off, and says so; a second one raises at once; the first then comes back
    once the compile (here: numba's compiler lock, held) is over."""
    before = signal.signal(signal.SIGINT, signals.interrupt)
    try:
        with pytest.raises(KeyboardInterrupt), global_compiler_lock:
            signals.interrupt(signal.SIGINT, None)  # put off
            assert "stopping once that is done" in capfd.readouterr().err
            signals.interrupt(signal.SIGINT, None)
        with pytest.raises(KeyboardInterrupt):
            time.sleep(30)  # the first one, sent again once the lock is free
    finally:
        signal.signal(signal.SIGINT, before)


def test_an_interrupt_put_off_again_is_said_once(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """Sent again after one compile, a put-off interrupt may meet the next one (numba loads each kernel function from
    its cache in turn): put off again, it is not said again; once no compile runs it is raised, and a later one is
    said anew."""
    busy = [True]
    sent: list[int] = []

    def send_later(signum: int) -> None:  # the helper thread, without waiting or sending: the test sends by hand
        sent.append(signum)

    monkeypatch.setattr(signals, "compiling", lambda: busy[0])
    monkeypatch.setattr(signals, "_send_after_compile", send_later)
    with signals.interrupts():  # (no handler set: this resets the module's flags, and restores them after)
        for _ in range(3):
            signals.interrupt(signal.SIGINT, None)
            signals._deferred.release()  # as the helper does before it sends the signal again
        assert capfd.readouterr().err.count("interrupted while numba compiles") == 1 and len(sent) == 3
        busy[0] = False
        with pytest.raises(KeyboardInterrupt):
            signals.interrupt(signal.SIGINT, None)
        busy[0] = True
        signals.interrupt(signal.SIGINT, None)
        signals._deferred.release()
        assert capfd.readouterr().err.count("interrupted while numba compiles") == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_a_violation_is_reported_does_not_lose_it(
        sig: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A ^C (or kill) after the search has found a violation, while its files are written: the files are written, the
    JSON summary printed and the verdict's exit code returned (it was "check: interrupted", exit 3, the trace lost)."""
    from raft_check import cli

    real = cli.write_counterexample
    sent: list[int] = []

    def interrupted_write(*args: Any) -> Any:
        os.kill(os.getpid(), sig)  # handled at once, in this (the main) thread
        sent.append(sig)
        return real(*args)

    monkeypatch.setattr(cli, "write_counterexample", interrupted_write)
    code = cli.main(["--servers", "2", "--max-term", "1", "--tweak", "vote-twice", "--stop-at-first", "--json", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert sent == [sig]
    assert code == EXIT_VIOLATION, err
    summary = json.loads(out)
    assert summary["verdict"] == "violated" and summary["trace_length"]
    assert all(Path(f).exists() for f in summary["counterexample_files"])
    assert "interrupted after the search had ended: finishing its report first" in err


def test_an_interrupt_noted_after_a_search_stops_the_next_one() -> None:
    """``check defend`` runs searches one after the other: a ^C noted while one is reported stops the next at its start."""
    from checker.bfs import Explorer
    from models.raft import Raft

    with signals.interrupts(signal.SIGINT):
        assert Explorer(Raft(2, 1, 0)).run().status == "holds"  # settled: interrupts are noted from here
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            pytest.fail("an interrupt after the search raised at once instead of being noted")
        with pytest.raises(KeyboardInterrupt):
            Explorer(Raft(2, 1, 0)).run()
        with pytest.raises(KeyboardInterrupt):  # and the search then running is interrupted as before
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)


def test_an_interrupt_outside_the_search_still_gives_one_json_object(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """^C before the search begins (here while the size of the search is estimated): exit 3, and with --json the one
    object a reader parses, saying incomplete (interrupted)."""
    from raft_check import cli, sizing

    def interrupted(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(sizing, "estimate", interrupted)
    assert cli.main(["--servers", "2", "--max-term", "1", "--json"]) == 3
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert (data["verdict"], data["incomplete_reason"], data["exit_code"]) == ("incomplete", "interrupted", 3)
    assert "check: interrupted" in err
