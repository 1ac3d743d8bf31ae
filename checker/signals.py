"""^C and ``kill`` (SIGINT, SIGTERM) end a run as incomplete (exit 3) -- also when they arrive during a compile.

Both raise :class:`KeyboardInterrupt` in the main thread, which every search
catches and reports as incomplete.  But the compiled engine compiles with
numba, in the main thread, and numba's compiler calls back from C (llvmlite's
object cache, ``_raw_object_cache_notify``).  An exception raised in such a
callback is printed and dropped ("Exception ignored on calling ctypes callback
function"); the compile goes on with a missing object and then fails with a
RuntimeError, so an interrupt became a failure of the run (exit 4).  A
kernel function may be compiled at any point of a run (the first time a store
grows, say), so :func:`interrupt` puts such a signal off until the compile
ends: a helper thread waits for numba's compiler lock and then sends the same
signal again.  Nothing is lost: the run stops a compile later.

Once a search has ended (:func:`settle`), its outcome is known and what is
left is to report it: the trace rebuilt, printed and written.  An interrupt
then is noted, said on stderr, and the report finished, so a violation found
is never lost to a late ^C; a noted interrupt stops the command at the start
of its next search, if it has one (``check defend`` runs many):
:func:`unsettle`.

The module imports no numba: where numba is not loaded, no compile is running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

_deferred = threading.Lock()  # held while a helper waits to send a put-off signal again
_active = False  # within interrupts(): the command's handlers are set
_settled = False  # a search has ended and its report is being made: interrupts are noted, not raised
_noted = False  # an interrupt arrived while settled
_told = False  # the put-off interrupt was said on stderr (one line, however many compiles put it off again)


def _compiler_lock() -> Any:
    """numba's global compiler lock, or None where numba is not loaded (or has no such lock)."""
    mod = sys.modules.get("numba.core.compiler_lock")
    return None if mod is None else getattr(mod, "global_compiler_lock", None)


def compiling() -> bool:
    """Whether this thread is inside a numba compile (it holds numba's compiler lock)."""
    lock = _compiler_lock()
    try:
        return lock is not None and bool(lock.is_locked())
    except Exception:  # an internal of numba moved: as before, the interrupt is raised at once
        return False


def _send_after_compile(signum: int) -> None:
    lock = _compiler_lock()
    try:
        with lock:  # acquired once the main thread's compile has released it
            pass
    finally:
        _deferred.release()
        os.kill(os.getpid(), signum)  # delivered as the first one was: to this handler, or to the default action


def interrupt(signum: int, frame: object) -> None:
    """A handler for SIGINT and SIGTERM: raise KeyboardInterrupt, as ^C does, unless this thread is compiling; then
    the same signal is sent again once the compile has ended (see the module docstring), and it says so on stderr.
    A second signal during the same compile raises at once (the user insists: the compile may then fail, exit 4)."""
    global _noted, _told
    if _settled:
        if not _noted:
            print("interrupted after the search had ended: finishing its report first", file=sys.stderr, flush=True)
        _noted = True
        return
    if not compiling() or not _deferred.acquire(blocking=False):
        _told = False
        raise KeyboardInterrupt
    if not _told:  # (sent again after one compile, it may meet the next: numba loads each function from its cache)
        print("interrupted while numba compiles the kernel or loads it from its cache: stopping once that is done; "
              "press ^C again to stop at once", file=sys.stderr, flush=True)
    _told = True
    threading.Thread(target=_send_after_compile, args=(signum,), name="interrupt-after-compile", daemon=True).start()


def settle() -> None:
    """The search has ended: until :func:`unsettle` (the next search's start) or the end of :func:`interrupts`, an
    interrupt is noted and the report goes on (see the module docstring).  Only within :func:`interrupts`: a search
    run by a library user, with Python's own handlers, leaves nothing set."""
    global _settled
    _settled = _active


def unsettle() -> None:
    """A search starts: interrupts raise again, and one noted since :func:`settle` is raised now."""
    global _settled, _noted
    _settled = False
    if _noted:
        _noted = False
        raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts(*signums: int) -> Iterator[None]:
    """Within: each of ``signums`` whose handler is Python's default (SIGINT's ``default_int_handler``, or SIG_DFL for
    SIGTERM) is handled by :func:`interrupt`; the handlers before are restored after.  Outside the main thread, where
    handlers cannot be set, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _active, _settled, _noted, _told
    outer = _active
    _active, _settled, _noted, _told = True, False, False, False
    before: dict[int, Any] = {}
    for s in signums:
        h = signal.getsignal(s)
        if h is signal.default_int_handler or h == signal.SIG_DFL:
            before[s] = signal.signal(s, interrupt)
    try:
        yield
    finally:
        _active, _settled, _noted = outer, False, False
        for s, h in before.items():
            signal.signal(s, h)
