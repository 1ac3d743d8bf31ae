"""``check simulate``: random and swarm walks past the reach of exhaustive search, with shrinking.

A *walk* starts at an initial state and takes up to ``--depth`` random steps.
At every step it generates every successor of the current state and checks
every invariant on each of them and every action property on each
transition (as TLC's simulation mode does), not only on the state it moves
to; then it picks one successor to move to.  Walks that change nothing (a
step whose successor is the state itself) are never taken: they are checked,
but they would only spend depth.

*Swarm* walks (the default, after Holzmann's swarm verification and swarm
testing) each draw their own weights over classes of steps -- restarts,
timeouts, leadership, client requests, commits, first deliveries and
re-deliveries (duplicates) of a message -- and, per kind of message, their own
chance that a message is lost (never delivered in that walk) or held back for
some steps (delivered late) (:func:`draw_weights`).  A walk first picks a
class by its weights, then a step of that class uniformly.  Some walks so
almost never restart, others restart often, or lose most appends but no
votes; diverse walks reach corners that one fixed distribution rarely does.
*Uniform* walks pick uniformly among all successors.

Reproducibility: walk number k of seed S draws every random choice from its
own generator, seeded with (S, k), and its steps are listed in an order fixed
by the states' content (``checker/kernel.py``), so a walk is the same in every
process.  Walks are numbered 0, 1, 2, ...; workers take them in batches from a
shared counter, and a run that finds violations reports the one of the
lowest-numbered walk: after the first is found, no walk of a higher number is
started, and every walk of a lower number is finished.  The result is then
the same for any number of workers (unless ``--time-limit`` ends the run
first, in which case it is the lowest-numbered violation among the walks run).

Shrinking (:func:`shrink`): the found trace is cut at its first violation of
the property, then shortened by deleting blocks of steps, as delta debugging
does, and by replacing a delivery with the delivery of an earlier message that
has the same effect on the servers (so that the step that sent the later one
can go), keeping only candidates that replay and violate the same property;
then a bounded breadth-first search from each state of the trace looks for a
shorter way to a later state of the trace (up to a renaming of servers: the
rest of the trace is renamed with it) or to a violation.  All of it is
deterministic, so the shrunk trace depends only on the found one.

Nothing a simulation reports is a proof: a run without a violation says "no
violation in N walks (nothing is proved)" and exits 3.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from checker.bfs import VIOLATED, Result, Stats, Violation, peak_rss_bytes
from checker.console import EXIT_INCOMPLETE, EXIT_VIOLATION, BadInput, _cores, _count, _Parser, check_out_dir, positive, without_options
from checker.kernel import Flat, Kernel, Move
from checker.model import Kind
from checker.pins_walk import MoveClasses
from checker.trace import Step, replay
from models.raft import Action, Raft, State
from raft_check.cli import add_model_args, make_model, select_properties
from raft_check.readable_kernel import ReadableKernel
from raft_check.report import model_label, violation_text, write_counterexample

EXIT_RUN_FAILED = 4

MODES = ("swarm", "uniform")
KERNELS = ("auto", "compiled")
DEFAULT_DEPTH = 100
DEFAULT_TIME_LIMIT = 60.0
BATCH = 8
"""Walks a worker takes from the shared counter at a time."""

CLASSES = ("Restart", "Timeout", "RequestVote", "BecomeLeader", "ClientRequest", "AdvanceCommitIndex", "AppendEntries",
           "Deliver", "Duplicate")
"""Swarm weight classes: the per-server actions by name; a message's first delivery in the walk; any later one."""
DELIVER, DUPLICATE = CLASSES.index("Deliver"), CLASSES.index("Duplicate")
TIMEOUT, RESTART = CLASSES.index("Timeout"), CLASSES.index("Restart")
MOVE_CLASSES = MoveClasses(CLASSES, deliver=DELIVER, duplicate=DUPLICATE, restart=RESTART, timeout=TIMEOUT)

DESCRIPTION = """\
Random walks from Init, up to --depth steps each, on all cores: every invariant
is checked on every state a walk generates and every action property on every
transition.  A violation is shrunk to a short trace and written as a
counterexample (text and ITF), whose first line reproduces it.  Simulation
finds bugs where exhaustive search runs out of room (more servers, terms or
log entries); it never proves anything."""

EPILOG = """\
examples:
  check simulate --servers 3 --max-term 4 --max-log 1 --tweak commit-old-terms
  check simulate --servers 5 --max-term 3 --tweak vote-not-persisted --seed 7
  check simulate --servers 5 --max-term 5 --max-log 2 --time-limit 600

exit codes: 1 violation, 2 bad input, 3 no violation found (nothing is proved), 4 the run failed."""


# ------------------------------------------------------------------ arguments


def _seed(text: str) -> int:
    try:
        v = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2^64-1, got {text!r}") from None
    if not 0 <= v < 1 << 64:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2^64-1, got {text!r}")
    return v


_seconds = positive("seconds")


def _kernel(text: str) -> str:
    if text == "fast":
        raise argparse.ArgumentTypeError("the fast kernel is retired: use --kernel compiled (or auto, which falls back to the "
                                         "readable model where the compiled kernel cannot run)")
    if text not in KERNELS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(KERNELS)}, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="check simulate", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.set_defaults(out="counterexamples/simulated")
    helps = {"out": "where counterexample files go (default counterexamples/simulated/, apart from the BFS goldens)",
             "no_symmetry": "shrinking looks for shortcuts to later states only as they are, not also to renamings of them",
             "max_states": argparse.SUPPRESS}  # check's state cap: refused here, as simulation stores no states
    for action in p._actions:
        if action.dest in helps:
            action.help = helps[action.dest]
    p.add_argument("--invariant", action="append", default=[], metavar="NAME", help="check only this property (repeatable; see check --list-properties)")
    s = p.add_argument_group("simulation")
    s.add_argument("--depth", type=_count(1), default=DEFAULT_DEPTH, metavar="D", help=f"steps per walk at most (default {DEFAULT_DEPTH})")
    s.add_argument("--walks", type=_count(1), default=None, metavar="N", help="stop after N walks (default: no limit)")
    s.add_argument("--time-limit", type=_seconds, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                   help=f"stop after this many seconds of walking (default {DEFAULT_TIME_LIMIT:g}); shrinking comes after it")
    s.add_argument("--seed", type=_seed, default=None, metavar="S",
                   help="walk k draws its choices from (S, k): the same seed gives the same walks and result on any number of "
                        "workers (default: a random seed, printed)")
    s.add_argument("--first-walk", type=_count(0), default=0, metavar="K",
                   help="number the walks from K (default 0): with --walks 1, runs walk K of the seed alone, which is how a "
                        "counterexample file's first line reproduces it")
    s.add_argument("--mode", choices=MODES, default="swarm",
                   help="swarm (default): each walk draws its own weights over restarts, timeouts, deliveries, duplicates and "
                        "losses; uniform: every successor equally likely")
    s.add_argument("--workers", type=_count(1), default=_cores(), metavar="N", help=f"walk in N processes (default: every core, {_cores()})")
    s.add_argument("--no-shrink", action="store_true", help="show the trace as the walk found it")
    s.add_argument("--kernel", type=_kernel, default="auto", metavar="{auto,compiled}",
                   help="the successor function walks run on: compiled (numba, checker/pins_walk.py; shrinking and traces on "
                        "the readable model, raft_check/readable_kernel.py), or auto (default): compiled when it can represent "
                        "the model, else walks in Python on the readable model (slow).  Walks are reproducible by seed on "
                        "either; the two kernels' walks differ")
    return p


OUTPUT_ONLY = {"--out": True, "--quiet": False, "--json": False, "--workers": True, "--time-limit": True, "--walks": True,
               "--seed": True, "--first-walk": True}
"""Options that change how long a run is or where results go, not what a given walk does, and the walk's seed and
number, which a recorded command states itself."""


def command_line(argv: Sequence[str], seed: int, walk: int) -> str:
    """The command recorded in counterexample files: the model and walk options of ``argv``, then the one walk that
    found the violation (``--seed S --first-walk K --walks 1``), which replays it exactly, in a moment."""
    import shlex

    kept = without_options(argv, OUTPUT_ONLY)
    return shlex.join(["check", "simulate", *kept, "--seed", str(seed), "--first-walk", str(walk), "--walks", "1"])


# ------------------------------------------------------------------ distinct states


class HyperLogLog:
    """An estimate of the number of distinct 64-bit hashes added (Flajolet et al.; about 0.8% error with 2^14 registers)."""

    P = 14

    def __init__(self) -> None:
        self.m = 1 << self.P
        self.reg = bytearray(self.m)

    def add(self, h: int) -> None:
        mask = 0xFFFF_FFFF_FFFF_FFFF  # spread the bits: the splitmix64 finaliser
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & mask
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & mask
        h ^= h >> 31
        idx = h & (self.m - 1)
        rest = h >> self.P
        rank = 64 - self.P - rest.bit_length() + 1
        if rank > self.reg[idx]:
            self.reg[idx] = rank

    def merge(self, regs: bytes) -> None:
        r = self.reg
        for i, v in enumerate(regs):
            if v > r[i]:
                r[i] = v

    def estimate(self) -> int:
        import math

        m = self.m
        z = sum(2.0 ** -v for v in self.reg)
        e = 0.7213 / (1 + 1.079 / m) * m * m / z
        zeros = self.reg.count(0)
        if e <= 2.5 * m and zeros:
            e = m * math.log(m / zeros)
        return round(e)


# ------------------------------------------------------------------ walks


@dataclass
class Weights:
    """One walk's distribution over steps: a weight per class of :data:`CLASSES`, and per kind of message
    (``Kernel.message_kind``) the chance that a message of that kind is lost."""

    classes: list[float]
    loss: list[float]
    delay: float = 0.0  # the chance that a message (not lost) is held back when it is sent ...
    hold: int = 1  # ... for up to this many steps (its delivery is not a candidate until then)
    servers: list[float] = field(default_factory=list)  # per server, a factor on its Timeout and Restart weights

    def text(self) -> str:
        w = ", ".join(f"{c} {x:.2g}" for c, x in zip(CLASSES, self.classes, strict=True) if x)
        srv = f"; timeouts and restarts per server {', '.join(f'{x:.2g}' for x in self.servers)}" if self.servers else ""
        return f"{w}; loss {', '.join(f'{x:.2f}' for x in self.loss)}; delay {self.delay:.2f} for up to {self.hold} steps{srv}"


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return float(10 ** rng.uniform(lo, hi))


def draw_weights(rng: random.Random, kinds: int = 4, servers: int = 0) -> Weights:
    """Swarm weights, relative to first deliveries (weight 1).

    Each weight is log-uniform, so that a class is ten or a hundred times
    rarer in one walk than in another: leadership, client requests and commits
    from 0.1 to 10 (they are what a bug needs to happen, and they are enabled
    rarely); timeouts from 0.01 to 1 (each one uses up a term of the bound);
    restarts, duplicate deliveries and the separate send actions (with
    reductions off) are switched off in half the walks, else from 0.01 to 1.
    Each kind of message is lost with chance 0 in half the walks, else up to
    one half (so some walks lose most appends but no votes).  In half the
    walks, a message that is not lost is held back with some chance, for up to
    30 steps, so that it arrives late, after messages sent after it.
    In half the walks (given ``servers``), the servers' timeouts and restarts
    get their own factors: each server is switched off with chance 1/3 (at
    least one stays on), else its factor is from 0.1 to 1, so that some walks
    let only one or two servers start elections.
    """
    ws = []
    for c in CLASSES:
        if c == "Deliver":
            ws.append(1.0)
        elif c in ("BecomeLeader", "ClientRequest", "AdvanceCommitIndex"):
            ws.append(_log_uniform(rng, -1, 1))
        elif c == "Timeout":
            ws.append(_log_uniform(rng, -2, 0))
        else:
            ws.append(0.0 if rng.random() < 0.5 else _log_uniform(rng, -2, 0))
    loss = [0.0 if rng.random() < 0.5 else 0.5 * rng.random() for _ in range(kinds)]
    delay = 0.0 if rng.random() < 0.5 else rng.random()
    hold = 1 + rng.randrange(30)
    per: list[float] = []
    if servers and rng.random() < 0.5:
        per = [0.0 if rng.random() < 1 / 3 else _log_uniform(rng, -1, 0) for _ in range(servers)]
        if not any(per):
            per[rng.randrange(servers)] = 1.0
    return Weights(ws, loss, delay, hold, per)


@dataclass
class WalkResult:
    index: int
    steps: int
    violation: tuple[int, list[Action]] | None = None  # (property index, the walk's actions up to the violating step)
    witnessed: list[int] = field(default_factory=list)


def walk_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"raft-check simulate {seed} {index}")


class Walker:
    """Runs walks on one kernel, accumulating counts and the distinct-state estimate."""

    def __init__(self, kernel: Kernel[State, Action], depth: int, mode: str, seed: int) -> None:
        self.k, self.depth, self.mode, self.seed = kernel, depth, mode, seed
        self.class_of = [CLASSES.index(name) if name in CLASSES else DELIVER for name in kernel.names]
        self.counts = [0] * len(kernel.names)
        self.transitions = 0
        self.hll = HyperLogLog()
        self.pending = [p for p, prop in enumerate(kernel.props) if prop.kind is Kind.SOMETIMES]
        self.witnessed: set[int] = set()

    def walk(self, index: int) -> WalkResult:
        k, rng = self.k, walk_rng(self.seed, index)
        weights = draw_weights(rng, k.message_kinds, k.n) if self.mode == "swarm" else None
        inits = k.initial()
        s = inits[rng.randrange(len(inits))] if len(inits) > 1 else inits[0]
        out = WalkResult(index, 0)
        bad = k.check_state(s)
        if bad >= 0:
            out.violation = (bad, [])
            return out
        compiled = getattr(k, "walk_on", None)
        if compiled is not None:  # a kernel that takes the walk's steps itself, in compiled code (checker/pins_walk.py)
            return compiled(self, out, rng, weights, inits.index(s))  # type: ignore[no-any-return]
        path: list[Move] = []
        delivered: set[tuple[int, int]] = set()
        seen: set[tuple[int, int]] = set()
        lost: set[tuple[int, int]] = set()
        held: dict[tuple[int, int], int] = {}  # message -> the step from which it may be delivered
        hk, class_of, counts, hll = k.handle_index, self.class_of, self.counts, self.hll
        owner = k.owner
        per_server = bool(weights and weights.servers)
        pending = self.pending
        hll.add(k.digest(s))
        if pending:
            self._witness(s)
        for _ in range(self.depth):
            moves = k.moves(s)
            self.transitions += len(moves)
            got = k.first_bad(s, moves)
            if got is not None:
                out.violation = (got[1], [k.action(x) for x in (*path, moves[got[0]])])
                out.steps = len(path)
                return out
            if pending:
                for mv in moves:
                    self._witness(mv[3])
            if weights is None:
                cands = [mv for mv in moves if mv[3] != s]
                if not cands:
                    break
                mv = cands[rng.randrange(len(cands))]
            else:
                by_class: dict[int, list[Move]] = {}
                loss, delay = weights.loss, weights.delay
                kind_of = k.message_kind
                waiting = False
                for mv in moves:
                    if mv[3] == s:
                        continue
                    c = class_of[mv[0]]
                    if per_server and c in (TIMEOUT, RESTART):
                        # the server's own key for this class: its weight is the class's times the server's factor
                        c = len(CLASSES) + 2 * owner[mv[0]] + (c == RESTART)
                    if mv[0] == hk:
                        key = (mv[1], mv[2])
                        if key not in seen:
                            seen.add(key)
                            p_loss = loss[kind_of(mv)]
                            if p_loss and rng.random() < p_loss:
                                lost.add(key)
                            elif delay and rng.random() < delay:
                                held[key] = len(path) + 1 + rng.randrange(weights.hold)
                        if key in lost:
                            continue
                        if held and held.get(key, 0) > len(path):
                            waiting = True
                            continue
                        if key in delivered:
                            c = DUPLICATE
                    by_class.setdefault(c, []).append(mv)
                if not by_class and waiting:  # only held messages remain: time passes until the first is released
                    first = min(t for t in held.values() if t > len(path))
                    for key in [key for key, t in held.items() if t == first]:
                        held[key] = 0
                    for mv in moves:
                        if mv[0] == hk and held.get((mv[1], mv[2]), 1) == 0 and mv[3] != s:
                            by_class.setdefault(DUPLICATE if (mv[1], mv[2]) in delivered else DELIVER, []).append(mv)
                if not by_class:
                    break
                classes = sorted(by_class)
                ws = [weights.classes[c] if c < len(CLASSES)
                      else weights.classes[RESTART if (c - len(CLASSES)) % 2 else TIMEOUT] * weights.servers[(c - len(CLASSES)) // 2]
                      for c in classes]
                total = sum(ws)
                if total > 0:
                    r = rng.random() * total
                    pick = classes[-1]
                    for c, w in zip(classes, ws, strict=True):
                        r -= w
                        if r < 0:
                            pick = c
                            break
                else:  # every enabled class is switched off in this walk: any step rather than none
                    pick = classes[rng.randrange(len(classes))]
                group = by_class[pick]
                mv = group[rng.randrange(len(group))]
                if mv[0] == hk:
                    delivered.add((mv[1], mv[2]))
            path.append(mv)
            counts[mv[0]] += 1
            s = mv[3]
            hll.add(k.digest(s))
        out.steps = len(path)
        return out

    def _witness(self, s: Flat) -> None:
        for p in self.k.witnesses(s, self.pending):
            self.witnessed.add(p)
            self.pending.remove(p)


# ------------------------------------------------------------------ running walks on several workers


@dataclass
class Progress:
    walks: int = 0
    steps: int = 0
    transitions: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    witnessed: set[int] = field(default_factory=set)


@dataclass
class RunResult:
    walks: int
    steps: int
    transitions: int
    seconds: float
    distinct: int
    counts: Counter[str]
    witnessed: set[int]
    stopped: str  # why the run ended: "violation", "walks", "time", "interrupted", "stuck"
    found: WalkResult | None = None
    cpu: float = 0.0  # CPU seconds of the walks, every process


class _Shared:
    """Counters shared by the workers: the next walk to take, the lowest violating walk known, and a stop flag."""

    def __init__(self, ctx: Any, first: int, limit: int | None) -> None:
        self.next = ctx.Value("q", first)
        self.bound = ctx.Value("q", (1 << 62) if limit is None else first + limit)
        self.stop = ctx.Value("b", 0)

    def take(self) -> int:
        with self.next.get_lock():
            v = int(self.next.value)
            self.next.value = v + BATCH
        return v


def _work(walker: Walker, shared: _Shared, emit: Callable[[str, Any], None], deadline: float) -> None:
    """Take batches of walks until the counter passes the bound, the deadline passes, or the run is stopped."""
    last = time.perf_counter()
    done = steps = 0
    sent_counts = [0] * len(walker.counts)
    sent_trans = 0
    sent_witness: set[int] = set()

    def flush() -> None:
        nonlocal done, steps, sent_trans
        delta: Counter[str] = Counter()
        for a, c in enumerate(walker.counts):
            if c != sent_counts[a]:
                delta[walker.k.names[a]] += c - sent_counts[a]
        sent_counts[:] = walker.counts
        emit("stats", (done, steps, walker.transitions - sent_trans, delta, sorted(walker.witnessed - sent_witness), bytes(walker.hll.reg)))
        sent_witness.update(walker.witnessed)
        sent_trans = walker.transitions
        done = steps = 0

    while not shared.stop.value:
        start = shared.take()
        if start >= shared.bound.value:
            break
        for index in range(start, start + BATCH):
            if index >= shared.bound.value or shared.stop.value or time.perf_counter() >= deadline:
                break
            r = walker.walk(index)
            done += 1
            steps += r.steps
            if r.violation is not None:
                with shared.bound.get_lock():
                    if index < shared.bound.value:
                        shared.bound.value = index
                flush()
                emit("violation", r)
            now = time.perf_counter()
            if now - last >= 0.5:
                last = now
                flush()
        if time.perf_counter() >= deadline:
            break
    flush()


def _worker_main(walker: Walker, shared: _Shared, queue: Any, deadline: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    try:
        _work(walker, shared, lambda kind, data: queue.put((kind, data)), deadline)
        queue.put(("done", None))
    except BaseException as e:  # one line naming the cause, with the worker's own report file (checker/failure.py)
        from checker import failure

        queue.put(("error", failure.describe(e, sys.argv[1:])[0]))


class WorkerFailed(Exception):
    """A simulation worker failed; the message is its one-line cause (with the path of its report file)."""


def run_walks(kernel: Kernel[State, Action], *, depth: int, mode: str, seed: int, workers: int, walks: int | None, time_limit: float,
              first: int = 0,
              progress: Callable[[Progress, float, int], None] | None = None) -> RunResult:
    """Walks ``first``, ``first + 1``, ... until a violation (then the lowest-numbered one), ``walks`` walks, or
    ``time_limit`` seconds."""
    start = time.perf_counter()
    cpu0 = _cpu_seconds()
    deadline = start + time_limit
    walker = Walker(kernel, depth, mode, seed)
    agg = Progress()
    hll = HyperLogLog()
    found: list[WalkResult] = []
    interrupted = False
    last_report = start

    def on(kind: str, data: Any) -> None:
        nonlocal last_report
        if kind == "stats":
            done, steps, trans, delta, witnessed, regs = data
            agg.walks += done
            agg.steps += steps
            agg.transitions += trans
            agg.counts.update(delta)
            agg.witnessed.update(witnessed)
            hll.merge(regs)
        elif kind == "violation":
            found.append(data)
        now = time.perf_counter()
        if progress is not None and now - last_report >= 1.0:
            last_report = now
            progress(agg, now - start, hll.estimate())

    if workers == 1:
        import threading

        class _Local:
            def __init__(self) -> None:
                self.value: int = 0
                self.lock = threading.Lock()

            def get_lock(self) -> Any:
                return self.lock

        shared: Any = _Shared.__new__(_Shared)
        shared.next, shared.bound, shared.stop = _Local(), _Local(), _Local()
        shared.next.value = first
        shared.bound.value = (1 << 62) if walks is None else first + walks
        try:
            _work(walker, shared, on, deadline)
        except KeyboardInterrupt:
            interrupted = True
    else:
        ctx = multiprocessing.get_context("fork")
        shared = _Shared(ctx, first, walks)
        queue = ctx.Queue()
        procs = [ctx.Process(target=_worker_main, args=(walker, shared, queue, deadline), daemon=True) for _ in range(workers)]
        for pr in procs:
            pr.start()
        running = len(procs)
        error = None
        try:
            while running:
                try:
                    kind, data = queue.get(timeout=0.5)
                except Exception:  # queue.Empty: check that the workers are alive
                    if all(not pr.is_alive() for pr in procs) and queue.empty():
                        error = error or "a worker process ended without reporting"
                        break
                    on("tick", None)
                    continue
                if kind == "done":
                    running -= 1
                elif kind == "error":
                    error = data
                    shared.stop.value = 1
                    running -= 1
                else:
                    on(kind, data)
        except KeyboardInterrupt:
            interrupted = True
            shared.stop.value = 1
            while running:  # collect what the workers found before they stopped
                with contextlib.suppress(Exception):
                    kind, data = queue.get(timeout=5)
                    if kind in ("done", "error"):
                        running -= 1
                    else:
                        on(kind, data)
                if all(not pr.is_alive() for pr in procs):
                    break
        finally:
            for pr in procs:
                pr.join(timeout=5)
                if pr.is_alive():
                    pr.terminate()
        if error is not None:
            raise WorkerFailed(f"a simulation worker failed: {error}")
    if workers == 1:
        agg.witnessed.update(walker.witnessed)
        hll = walker.hll
    seconds = time.perf_counter() - start
    best = min(found, key=lambda r: r.index) if found else None
    if best is not None:
        stopped = "violation"
    elif interrupted:
        stopped = "interrupted"
    elif walks is not None and agg.walks >= walks:
        stopped = "walks"
    else:
        stopped = "time"
    return RunResult(agg.walks, agg.steps, agg.transitions, seconds, hll.estimate(), agg.counts, agg.witnessed, stopped, best,
                     _cpu_seconds() - cpu0)


# ------------------------------------------------------------------ shrinking


@dataclass
class Shrinker:
    """Shortens a violating action sequence while it replays (on the kernel) and still violates property ``p``."""

    k: Kernel[State, Action]
    p: int
    budget: int = 600_000  # kernel steps (replayed or searched) that shrinking may spend: some seconds
    spent: int = 0
    bfs_depth: int = 4
    bfs_states: int = 1_500  # states per breadth-first shortcut search (one from each state of the trace)
    symmetry: bool = True  # shortcuts may end in a renaming of a later state (the rest of the trace is renamed)

    def test(self, actions: Sequence[Action]) -> list[Action] | None:
        """``actions`` up to the first step that violates the property, if they replay and one does; else None."""
        k = self.k
        s = k.initial()[0]
        if k.violates(self.p, s, None):
            return []
        for j, a in enumerate(actions):
            self.spent += 1
            mv = k.apply(s, a)
            if mv is None:
                return None
            if k.violates(self.p, s, mv):
                return list(actions[: j + 1])
            s = mv[3]
        return None

    def states(self, actions: Sequence[Action]) -> list[Flat]:
        s = self.k.initial()[0]
        out = [s]
        for a in actions:
            mv = self.k.apply(s, a)
            assert mv is not None
            s = mv[3]
            out.append(s)
        return out

    def out_of_budget(self) -> bool:
        return self.spent >= self.budget

    def delete_blocks(self, cur: list[Action]) -> list[Action]:
        """Delta debugging: delete blocks of steps, halving the block size down to single steps."""
        size = max(1, len(cur) // 2)
        while size >= 1 and not self.out_of_budget():
            i = len(cur) - size
            while i >= 0 and not self.out_of_budget():
                got = self.test(cur[:i] + cur[i + size :])
                if got is not None and len(got) < len(cur):
                    cur = got
                    i = min(i, len(cur)) - size
                else:
                    i -= 1 if size == 1 else max(1, size // 2)
            size //= 2
        return cur

    def earlier_deliveries(self, cur: list[Action]) -> list[Action]:
        """Replace a delivery with that of a message in the network since an earlier step, with the same effect on
        the servers (and the committed history); keep it if the trace still violates, then delete again."""
        k = self.k
        sts = self.states(cur)
        born: dict[Action, int] = {}
        for j, s in enumerate(sts[:-1]):
            for mv in k.moves(s):
                if mv[0] == k.handle_index:
                    born.setdefault(k.action(mv), j)
        for j in range(len(cur)):
            a = cur[j]
            if a.name != "HandleRPC" or self.out_of_budget():
                continue
            s, t = sts[j], sts[j + 1]
            for mv in k.moves(s):
                self.spent += 1
                b = k.action(mv) if mv[0] == k.handle_index else None
                if b is None or b == a or born.get(b, j) >= born.get(a, j):
                    continue
                u = mv[3]
                if u[: k.n] == t[: k.n] and u[-1] == t[-1]:
                    cand = [*cur[:j], b, *cur[j + 1 :]]
                    got = self.test(cand)
                    if got is not None and len(got) <= len(cur):
                        shorter = self.delete_blocks(got)
                        if len(shorter) < len(cur):
                            return shorter
        return cur

    def shortcut(self, cur: list[Action]) -> list[Action]:
        """A bounded BFS from each state of the trace for a shorter way to a later state (up to renaming) or to a violation."""
        k = self.k
        sts = self.states(cur)
        later: dict[Flat, int] = {}
        for j, s in enumerate(sts):
            later[k.canon(s) if self.symmetry else s] = j  # the last index of each orbit (or state)
        for i in range(len(sts) - 1):
            if self.out_of_budget():
                break
            got = self._search(sts, later, i, cur)
            if got is not None:
                return got
        return cur

    def _search(self, sts: list[Flat], later: dict[Flat, int], i: int, cur: list[Action]) -> list[Action] | None:
        k = self.k
        root = sts[i]
        parent: dict[Flat, tuple[Flat, Move] | None] = {root: None}
        frontier = [root]
        for dist in range(1, self.bfs_depth + 1):
            if dist >= len(cur) - i:
                return None  # nothing shorter is left to find
            nxt: list[Flat] = []
            for s in frontier:
                for mv in k.moves(s):
                    self.spent += 1
                    t = mv[3]
                    if t in parent:
                        continue
                    parent[t] = (s, mv)
                    if k.violates(self.p, s, mv) and i + dist < len(cur):
                        got = self.test([*cur[:i], *self._path(parent, t)])
                        if got is not None and len(got) < len(cur):
                            return got
                    j = later.get(k.canon(t) if self.symmetry else t, -1)
                    if j > i + dist:
                        got = self._splice(cur, sts, i, j, self._path(parent, t), t)
                        if got is not None and len(got) < len(cur):
                            return got
                    nxt.append(t)
                    if len(parent) >= self.bfs_states:
                        return None
            frontier = nxt
        return None

    def _path(self, parent: dict[Flat, tuple[Flat, Move] | None], t: Flat) -> list[Action]:
        out: list[Action] = []
        link = parent[t]
        while link is not None:
            s, mv = link
            out.append(self.k.action(mv))
            link = parent[s]
        out.reverse()
        return out

    def _splice(self, cur: list[Action], sts: list[Flat], i: int, j: int, via: list[Action], t: Flat) -> list[Action] | None:
        """``cur`` with steps i..j replaced by ``via``, which reaches ``t``, a renaming of state j: the rest is renamed."""
        k = self.k
        rest = cur[j:]
        if t != sts[j]:
            want, have = k.decode(t), k.decode(sts[j])
            perm = next((p for p in itertools.permutations(range(k.n)) if _permute_state(have, p) == want), None)
            if perm is None:
                return None
            rest = [_permute_action(a, perm) for a in rest]
        return self.test([*cur[:i], *via, *rest])

    def run(self, actions: list[Action]) -> list[Action]:
        cur = self.test(actions)
        assert cur is not None, "the found trace does not violate its property"
        while not self.out_of_budget():
            before = len(cur)
            cur = self.delete_blocks(cur)
            cur = self.earlier_deliveries(cur)
            cur = self.shortcut(cur)
            if len(cur) >= before:
                break
        return cur


def _permute_state(s: State, p: Sequence[int]) -> State:
    """``s`` with server i renamed to p[i] (``Raft.permute``, which reads nothing of the model but ``n``)."""
    return Raft.permute(_Servers(len(p)), s, p)  # type: ignore[arg-type]


class _Servers:
    """Just enough of a model for ``Raft.permute``: the number of servers."""

    def __init__(self, n: int) -> None:
        self.n = n


def _permute_action(a: Action, p: Sequence[int]) -> Action:
    """Action ``a`` with server i renamed to p[i] (a message's source and destination too)."""
    if a.name == "HandleRPC":
        m = a.args[0]
        return Action(a.name, (m._replace(msource=p[m.msource], mdest=p[m.mdest]),))
    return Action(a.name, tuple(p[x] for x in a.args))


def readable_trace(model: Raft, actions: Sequence[Action]) -> list[Step[State, Action]]:
    """The trace of ``actions`` from the initial state, computed by the readable model (so each step is a real transition)."""
    s = model.init_states()[0]
    trace: list[Step[State, Action]] = [Step(None, s)]
    for j, a in enumerate(actions, start=1):
        t = model.next_state(s, a)
        if t is None:
            raise AssertionError(f"step {j}: {a!r} is not enabled in the readable model")
        trace.append(Step(a, t))
        s = t
    return trace


# ------------------------------------------------------------------ the command


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


class ProgressLine:
    """One line on stderr, rewritten in place on a terminal, else printed every 10 seconds."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.width = 0

    def __call__(self, p: Progress, elapsed: float, distinct: int) -> None:
        if not self.enabled:
            return
        if not self.tty and elapsed - self.last < 10:
            return
        self.last = elapsed
        total = sum(p.counts.values()) or 1
        cover = " ".join(f"{name} {100 * c / total:.0f}%" for name, c in p.counts.most_common())
        line = (f"walks {p.walks:,}  steps {p.steps:,}  {fmt_rate(p.steps / max(elapsed, 1e-9))} steps/s  "
                f"distinct ~{distinct:,}  {elapsed:.0f} s  | {cover}")
        if self.tty:
            print("\r" + line.ljust(self.width), end="", file=sys.stderr, flush=True)
            self.width = len(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty and self.width:
            print("\r" + " " * self.width + "\r", end="", file=sys.stderr, flush=True)


def stats_table(r: RunResult, shrink_seconds: float | None = None) -> str:
    rows = [
        ("walks", f"{r.walks:,}"),
        ("steps", f"{r.steps:,}"),
        ("transitions checked", f"{r.transitions:,}"),
        ("wall time", f"{r.seconds:.2f} s"),
        ("CPU time", f"{r.cpu:.2f} s"),
        ("steps/s", fmt_rate(r.steps / r.seconds if r.seconds > 0 else 0)),
        ("transitions/s", fmt_rate(r.transitions / r.seconds if r.seconds > 0 else 0)),
        ("distinct states (estimate)", f"{r.distinct:,}"),
        ("peak memory (RSS)", f"{peak_rss_bytes() / 2**20:.1f} MiB"),
    ]
    if shrink_seconds is not None:
        rows.append(("shrinking", f"{shrink_seconds:.2f} s"))
    total = sum(r.counts.values()) or 1
    acts = [(name, c, f"{100 * c / total:.1f}%") for name, c in r.counts.most_common()]
    return tabulate(rows, tablefmt="plain") + "\n\n" + tabulate(acts, headers=["action", "taken", "share"], intfmt=",", disable_numparse=False)


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    args = build_parser().parse_args(argv)
    model = make_model(args)
    props = select_properties(model, args.invariant)
    from models.raft_pins import unsupported

    why = unsupported(model)
    if why is not None:  # the kernels' encoding (servers, per-pair message slots) is models/raft.py's as written
        raise BadInput(f"check simulate cannot run this model: {why}")
    if args.max_states is not None:
        raise BadInput("check simulate stores no states, so --max-states does not apply; bound a run with --walks or --time-limit")
    out = check_out_dir(args.out)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
    kernel, kernel_line = pick_kernel(model, props, args.kernel)
    limits = [f"{args.time_limit:g} s"] + ([f"{args.walks:,} walks"] if args.walks else [])
    if not args.json:
        reductions = [("eager vote requests", model.eager_votes), ("message pruning", model.prune_msgs)]
        if model.max_log > 0:
            reductions.append(("eager appends", model.eager_appends))
        off = [name for name, on in reductions if not on]
        extra = f" (reductions off: {', '.join(off)})" if off else ""
        print(f"Simulating {model_label(model)}: servers={model.n} max-term={model.max_term} max-log={model.max_log}{extra}")
        print(f"Properties: {', '.join(p.name for p in props)}")
        print(f"Walks: {args.mode}, up to {args.depth} steps each, seed {seed}, {args.workers} worker(s), "
              f"stopping at the first violation or after {' or '.join(limits)}")
        print(f"Kernel: {kernel_line}", flush=True)
    bar = ProgressLine(not (args.quiet or args.json))
    try:
        run = run_walks(kernel, depth=args.depth, mode=args.mode, seed=seed, workers=args.workers, walks=args.walks,
                        first=args.first_walk,
                        time_limit=args.time_limit, progress=bar)
    except WorkerFailed as e:  # a crash of the model or a worker is never reported as a violation: exit 4
        bar.close()
        from checker import failure

        if args.json:
            print(json.dumps(failure.error_json("failed", str(e), EXIT_RUN_FAILED)))
        print(f"check: failed: {e}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except Exception:  # in this process: cli.main reports it (one line, a report file, exit 4)
        bar.close()
        raise
    bar.close()
    files: list[Path] = []
    summary: dict[str, Any] = {
        "model": model_label(model), "servers": model.n, "max_term": model.max_term, "max_log": model.max_log,
        "properties": [p.name for p in props], "mode": args.mode, "kernel": kernel_line.split()[0], "depth": args.depth, "seed": seed,
        "workers": args.workers,
        "walks": run.walks, "steps": run.steps, "transitions": run.transitions, "wall_seconds": round(run.seconds, 3),
        "cpu_seconds": round(run.cpu, 3),
        "steps_per_second": round(run.steps / run.seconds) if run.seconds > 0 else 0,
        "distinct_states_estimate": run.distinct, "action_counts": dict(run.counts), "stopped": run.stopped,
    }
    unwitnessed = [kernel.props[p].name for p, prop in enumerate(kernel.props) if prop.kind is Kind.SOMETIMES and p not in run.witnessed]
    summary["never_witnessed"] = unwitnessed
    found = run.found
    if found is None:
        summary.update(verdict="no violation", violated=None)
        text = f"no violation in {run.walks:,} walks (nothing is proved)"
        if run.stopped == "interrupted":
            text += "; interrupted"
        notes = [f"never witnessed: {name} (a sometimes property no walk reached; that proves nothing either)" for name in unwitnessed]
        if args.json:
            print(json.dumps(summary, indent=1))
            return EXIT_INCOMPLETE
        print()
        print(stats_table(run))
        print()
        for n in notes:
            print(n)
        print(text)
        return EXIT_INCOMPLETE
    assert found.violation is not None
    p, actions = found.violation
    prop = kernel.props[p]
    t0 = time.perf_counter()
    shrunk = list(actions)
    if not args.no_shrink:
        try:
            shrunk = Shrinker(kernel, p, symmetry=not args.no_symmetry).run(list(actions))
        except Exception:  # a found trace is never lost: show it as found
            print(f"check: warning: shrinking failed, the trace is shown as found:\n{traceback.format_exc()}", file=sys.stderr)
    shrink_seconds = time.perf_counter() - t0
    # A trace is a real execution that shows the violation, checked by the readable model, or it is not written.
    trace: list[Step[State, Action]] = []
    for candidate in (shrunk, list(actions)):
        try:
            trace = readable_trace(model, candidate)
            replay(model, trace, prop)
            shrunk = candidate
            break
        except AssertionError as e:
            print(f"check: warning: a {'shrunk' if candidate is shrunk else 'found'} trace does not replay: {e}", file=sys.stderr)
            trace = []
    if not trace:
        print("check: failed: the walk's trace does not replay through the model", file=sys.stderr)
        return EXIT_RUN_FAILED
    how = (f"Found by simulation (walk {found.index} of seed {seed}) in {len(actions)} steps"
           + (", not shrunk (--no-shrink)" if args.no_shrink else f", shrunk to {len(shrunk)} steps"))
    cmd = command_line(argv, seed, found.index)
    result: Result[State, Action] = Result(VIOLATED, Stats(), Violation(prop, trace, found_by=how))
    files = list(write_counterexample(model, result, out, cmd))
    summary.update(verdict="violated", violated=prop.name, walk=found.index, found_length=len(actions), shrunk_length=len(shrunk),
                   trace_length=len(trace) - 1, shrink_seconds=round(shrink_seconds, 3), counterexample_files=[str(f) for f in files])
    if args.json:
        print(json.dumps(summary, indent=1))
        return EXIT_VIOLATION
    print()
    print(violation_text(model, result, cmd).split("\n", 1)[1])
    print(f"Counterexample written to {', '.join(str(f) for f in files)}")
    print()
    print(stats_table(run, None if args.no_shrink else shrink_seconds))
    print()
    print(f"VIOLATED: {prop.name} (walk {found.index} of seed {seed}: found in {len(actions)} steps"
          + ("" if args.no_shrink else f", shrunk to {len(shrunk)}") + ")")
    return EXIT_VIOLATION


def pick_kernel(model: Raft, props: Sequence[Any], wanted: str) -> tuple[Kernel[State, Action], str]:
    """The kernel for ``--kernel wanted`` and the header's line naming it (BadInput if ``compiled`` cannot run ``model``)."""
    base = ReadableKernel(model, props)
    line = "readable (raft_check/readable_kernel.py over models/raft.py; walks in Python, slow)"
    from models.raft_pins import RaftPins
    from models.raft_pins import unsupported as pins_unsupported

    why = pins_unsupported(model)
    if why is None:
        from checker.pins_walk import PinsWalkKernel

        try:
            return (PinsWalkKernel(RaftPins(model, props, symmetry=False), base, MOVE_CLASSES),
                    "compiled (checker/pins_walk.py over models/raft_pins.py; shrinking on the readable model)")
        except ValueError as e:  # e.g. a property that reads the network, which this encoding cannot check
            if "the compiled engine cannot" not in str(e):
                raise  # the model itself failed (a tweak's hook): the readable kernel would fail the same way
            why = str(e)
    if wanted == "compiled":
        raise BadInput(f"--kernel compiled cannot run this model: {why}")
    return base, f"{line}: the compiled kernel cannot run this model: {why}"


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the walk workers): on a shared machine, the work done."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime



