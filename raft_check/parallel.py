"""Several worker processes for the fast engine's batched search (``check --workers N``).

The search itself stays in the main process and is unchanged: it admits each
chunk's candidates into the store, numbers them and checks the state
properties in exactly the order of a one-process run, so counts, indexes,
parents and the reported trace are the same.  Workers do the rest of the work
of a chunk -- successors, action properties, canonical forms and
de-duplication within the chunk (:meth:`FastExplorer.expand_chunk`) -- for
chunk j in worker j mod N, several chunks ahead of the main process.

Workers are forked once, at the start of a search, and keep their memo
tables.  Each keeps its own interning tables too, so a code means one thing in
a worker and maybe another in the main process.  Codes are translated at the
boundary, both ways:

- to a worker, the main process sends the values of the codes in its chunk
  that the worker has not been told of yet (slots as tuples of body codes,
  bodies first), plus the pairs (main code, worker code) learnt from its
  earlier replies; the worker keeps a map main code -> own code;
- from a worker, each reply carries the values it interned since its last
  reply, in order; the main process interns them and keeps, per worker, a map
  worker code -> main code, through which it reads the reply's states.

Values decide everything a state's encoding stands for (canonical forms and
successor order are defined on values, not codes), so a translated state is
exactly the state the main process would have computed itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import traceback
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from models.fast_raft import FastRaft, Flat

Chunk = tuple[int, Any, list[int], list[int], list[tuple[int, int, Flat]], list[int]]
"""An expanded chunk: its offset in the level, then :meth:`FastExplorer.expand_chunk`'s answer with the states as uint32 rows."""


class FastExplorer(Protocol):
    """What the workers need of ``raft_check.fast.FastExplorer``, the batched search they serve (which imports this
    module, not the reverse)."""

    fr: FastRaft
    pair_ok: dict[tuple[Flat, Flat, int, int], int]

    def new_action_checks(self) -> list[Any]: ...

    def expand_chunk(self, rows: list[list[int]], idx: int, action_checks: Sequence[Any]
                     ) -> tuple[list[Flat], list[int], list[int], list[tuple[int, int, Flat]], list[int]]: ...

AHEAD = 3
"""Chunks a worker may have queued beyond the one the main process waits for."""

WORKER_RSS_LIMIT = 2 << 30
"""A worker whose resident memory grows by more than this drops its memo tables (they are refilled on demand; codes stay).

Growth is counted from the worker's start, so memory it shares with the main
process from the fork does not count."""

MEMOS = ("act_memo", "handle_memo", "prune_memo", "add_memo", "union_memo", "enabled_memo", "hslot_memo", "canon_memo",
         "perm_memo", "srv_tuples", "least_memo", "net_memo")
"""FastRaft's memo tables: caches of answers, safe to drop at any time (unlike the interning tables)."""

TABLES = ("bodies", "slots", "srvs", "comms", "electeds")
"""The interning tables, in the order they are sent (a slot names bodies)."""

_IDS = {"bodies": "body_ids", "slots": "slot_ids", "srvs": "srv_ids", "comms": "comm_ids", "electeds": "elected_ids"}

Values = dict[str, list[tuple[int, Any]]]


def _intern(fr: FastRaft, table: str, value: Any) -> int:
    """``value``'s code in ``fr``'s ``table`` (a slot value must already name ``fr``'s own body codes)."""
    if table == "slots":
        return fr.slot_code(value)
    return FastRaft._intern(getattr(fr, _IDS[table]), getattr(fr, table), value)


class _Map:
    """A growing int array: code in one process -> code in another (-1: unknown)."""

    def __init__(self, known: int) -> None:
        self.a: NDArray[np.int64] = np.arange(max(known, 16), dtype=np.int64)
        self.a[known:] = -1

    def set(self, key: int, value: int) -> None:
        if key >= len(self.a):
            grown = np.full(max(2 * len(self.a), key + 1), -1, dtype=np.int64)
            grown[: len(self.a)] = self.a
            self.a = grown
        self.a[key] = value

    def get(self, keys: NDArray[Any]) -> NDArray[np.int64]:
        if len(keys) and int(keys.max()) >= len(self.a):
            self.set(int(keys.max()), -1)
        got: NDArray[np.int64] = self.a[keys]
        return got


def _columns(fr: FastRaft) -> dict[str, slice]:
    n, m = fr.n, fr.m
    if fr.history:  # the ghost elected's column comes before the committed code (models/fast_raft.py)
        return {"srvs": slice(0, n), "slots": slice(n, n + m), "electeds": slice(n + m, n + m + 1), "comms": slice(n + m + 1, n + m + 2)}
    return {"srvs": slice(0, n), "slots": slice(n, n + m), "comms": slice(n + m, n + m + 1)}


def _translate(rows: NDArray[np.uint32], maps: dict[str, _Map], cols: dict[str, slice]) -> NDArray[np.uint32]:
    out = np.empty_like(rows)
    for table, col in cols.items():
        got = maps[table].get(rows[:, col])
        assert not (got < 0).any(), f"a code of table {table} was never translated"
        out[:, col] = got
    return out


def _rss() -> int:
    """This process's resident memory in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def drop_memos(explorer: FastExplorer, checks: Sequence[Any]) -> None:
    """Forget every memoised answer of ``explorer`` and of ``checks`` (the interning tables, which give codes their meaning, stay)."""
    for name in MEMOS:
        getattr(explorer.fr, name).clear()
    explorer.pair_ok.clear()
    for chk in checks:
        chk.memo.clear()


def _worker(explorer: FastExplorer, tasks: Any, replies: Any) -> None:
    """A worker's loop: translate a chunk in, expand it, send back the new values and the candidates."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles ^C and stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    main = os.getppid()
    try:
        fr = explorer.fr
        cols = _columns(fr)
        checks = explorer.new_action_checks()
        mine = {t: _Map(len(getattr(fr, t))) for t in TABLES}  # main code -> my code
        reported = {t: len(getattr(fr, t)) for t in TABLES}
        done = 0
        base = _rss()
        while True:
            try:
                task = tasks.get(timeout=2)
            except queue.Empty:
                if os.getppid() != main:  # the main process is gone (killed): so is the reason to live
                    return
                continue
            if task is None:
                return
            learnt, values, rows, idx = task
            for table in TABLES:
                for main_code, my_code in learnt[table]:
                    mine[table].set(main_code, my_code)
                for main_code, value in values[table]:
                    if table == "slots":
                        value = tuple(int(x) for x in mine["bodies"].get(np.array(value, dtype=np.int64)))
                    mine[table].set(main_code, _intern(fr, table, value))
            local = _translate(rows, mine, cols)
            cand, cpar, cpos, failures, fired = explorer.expand_chunk(local.tolist(), idx, checks)
            new: Values = {}
            for table in TABLES:
                tab = getattr(fr, table)
                new[table] = list(enumerate(tab[reported[table] :], reported[table]))
                reported[table] = len(tab)
            keys = np.array(cand, dtype=np.uint32).reshape(len(cand), fr.width)
            replies.put(("ok", new, keys, cpar, cpos, failures, fired))
            done += 1
            if done % 16 == 0 and _rss() - base > WORKER_RSS_LIMIT:  # memo tables grow without end on searches of hours
                drop_memos(explorer, checks)
    except BaseException:  # reported to the main process, which raises it
        replies.put(("error", traceback.format_exc()))


class WorkerPool:
    """``workers`` forked processes expanding chunks for ``explorer``'s batched search."""

    def __init__(self, explorer: FastExplorer, workers: int) -> None:
        self.fr = fr = explorer.fr
        self.n = workers
        self.cols = _columns(fr)
        ctx = multiprocessing.get_context("fork")
        self.tasks = [ctx.Queue() for _ in range(workers)]
        self.replies = [ctx.Queue() for _ in range(workers)]
        size = {t: len(getattr(fr, t)) for t in TABLES}
        # Per worker: which main codes it knows, its code -> main code, and pairs it has yet to be told.
        self.known = [{t: _Map(size[t]) for t in TABLES} for _ in range(workers)]
        self.theirs = [{t: _Map(size[t]) for t in TABLES} for _ in range(workers)]
        self.learnt: list[Values] = [{t: [] for t in TABLES} for _ in range(workers)]
        self.procs = [ctx.Process(target=_worker, args=(explorer, self.tasks[w], self.replies[w]), daemon=True,
                                  name=f"checker-worker-{w + 1}") for w in range(workers)]
        for p in self.procs:
            p.start()

    def _send(self, w: int, rows: NDArray[np.uint32], idx: int) -> None:
        """Queue ``rows`` (main codes) for worker w, with the values and translations it lacks."""
        fr, known = self.fr, self.known[w]
        values: Values = {t: [] for t in TABLES}
        for table in self.cols:
            codes = np.unique(rows[:, self.cols[table]])
            for c in codes[known[table].get(codes) < 0].tolist():
                known[table].set(c, 1)
                value = getattr(fr, table)[c]
                if table == "slots":
                    bodies = np.array(value, dtype=np.int64)
                    for b in bodies[known["bodies"].get(bodies) < 0].tolist():
                        known["bodies"].set(b, 1)
                        values["bodies"].append((b, fr.bodies[b]))
                values[table].append((c, value))
        self.tasks[w].put((self.learnt[w], values, rows, idx))
        self.learnt[w] = {t: [] for t in TABLES}

    def _receive(self, w: int) -> tuple[NDArray[np.uint32], list[int], list[int], list[tuple[int, int, Flat]], list[int]]:
        """Worker w's next reply, read in main codes."""
        while True:
            try:
                msg = self.replies[w].get(timeout=1)
                break
            except queue.Empty:
                if not self.procs[w].is_alive():
                    raise RuntimeError(f"worker {w + 1} died (exit code {self.procs[w].exitcode}); "
                                       "if the machine ran out of memory, try fewer --workers") from None
        if msg[0] == "error":
            raise RuntimeError(f"worker {w + 1} failed:\n{msg[1]}")
        _, new, keys, cpar, cpos, failures, fired = msg
        fr, theirs, known, learnt = self.fr, self.theirs[w], self.known[w], self.learnt[w]
        for table in TABLES:
            for code, value in new[table]:
                if table == "slots":
                    value = tuple(int(x) for x in theirs["bodies"].get(np.array(value, dtype=np.int64)))
                main_code = _intern(fr, table, value)
                theirs[table].set(code, main_code)
                known[table].set(main_code, 1)
                learnt[table].append((main_code, code))
        rows = _translate(keys, theirs, self.cols) if len(keys) else keys
        failures = [(a, idx, tuple(_translate(np.array([t], dtype=np.uint32), theirs, self.cols)[0].tolist()))
                    for a, idx, t in failures]
        return rows, cpar, cpos, failures, fired

    def level(self, frontier: NDArray[np.uint32], base: int, size: int) -> Iterator[Chunk]:
        """Expand a level (frontier states numbered from ``base``) ``size`` states a chunk: the chunks' answers, in order."""
        starts = list(range(0, len(frontier), size))
        window = self.n * (1 + AHEAD)
        for j in range(min(len(starts), window)):
            self._send(j % self.n, np.asarray(frontier[starts[j] : starts[j] + size]), base + starts[j])
        for j, lo in enumerate(starts):
            got = self._receive(j % self.n)
            if j + window < len(starts):
                k = j + window
                self._send(k % self.n, np.asarray(frontier[starts[k] : starts[k] + size]), base + starts[k])
            yield (lo, *got)

    def close(self) -> None:
        """Stop the workers (those still busy are killed: their answers are not wanted)."""
        for w, p in enumerate(self.procs):
            if p.is_alive():
                with contextlib.suppress(OSError, ValueError):
                    self.tasks[w].put(None)
        for p in self.procs:
            p.join(timeout=1)
            if p.is_alive():
                p.kill()
                p.join()
        for q in (*self.tasks, *self.replies):
            q.cancel_join_thread()
            q.close()
