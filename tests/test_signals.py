"""checker.signals: an interrupt that arrives during a numba compile stops the run after the compile, not inside it."""

from __future__ import annotations

import os
import signal
import threading
import time

import numba
import pytest
from numba.core.compiler_lock import global_compiler_lock

from checker import signals


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
            assert "stopping once the compile ends" in capfd.readouterr().err
            signals.interrupt(signal.SIGINT, None)
        with pytest.raises(KeyboardInterrupt):
            time.sleep(30)  # the first one, sent again once the lock is free
    finally:
        signal.signal(signal.SIGINT, before)
