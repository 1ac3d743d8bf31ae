"""Distributed breadth-first search on Ray: the visited set partitioned by fingerprint across actors.

The search driver (:func:`checker.search.search`) runs the levels, batches,
properties, the state cap, progress and Ctrl-C, as for every engine; this
module is an expander of it whose states live in Ray actors
(:class:`Partition`), one per CPU of the cluster.  Each actor owns the states
whose fingerprint (:func:`fingerprint`) falls to it: their visited set, their
parent records, and their part of the queue.  The actors here
(:class:`Partition`) expand with the readable model (the
:class:`checker.model.Model` contract, as ``checker/bfs.py`` does), so they
run any model that engine runs and know no protocol;
:mod:`checker.ray_compiled` gives actors that run the compiled kernel on a
:class:`checker.pins.PinsModel` instead, with the same driver.

One batch ``[lo, hi)`` of a level, in three synchronised steps:

1. **expand** -- every actor expands its stored states with an index in the
   batch, in index order, and each state's successors in the model's order.
   Successor number ``k`` of state ``i`` gets the key ``(i, k)``: its place in
   the one-process BFS, which handles the transitions of a batch in exactly
   that key order.  Each canonical successor goes, with its key, to its owner
   (one list per owner, through Ray's object store, actor to actor); the
   action properties are checked where the transition is made.
2. **admit** -- every owner merges what it was sent in key order and keeps,
   of each canonical state not stored yet, its first occurrence: the
   occurrence the one-process search stores, since that search stores a state
   at its first transition in key order and a state is routed to one owner
   only.  It checks the invariants and SOMETIMES properties on what it kept,
   and tells the driver the keys (and any property events).
3. **finalise** -- the driver numbers the new states by key across owners (the
   one-process numbering: states are numbered in the order stored), replays
   the property events in key order through :class:`checker.search.Verdicts`
   (so the first violation, the witnesses, ``--continue`` and the state cap
   act at the same transition as in one process), and tells each owner the
   indexes of the states it keeps: those up to the transition where the
   search stopped, if it did.  Transitions and action counts are counted up
   to that transition too.

So the stored states, their numbering, parents, counts, verdicts and traces
are those of the readable engine in one process, however many actors run and
however the states fall to them (``tests/test_distributed.py`` compares
them).  A trace is rebuilt by asking owners back along the parent path: each
parent record names the parent's index and its owner.

Ray is an optional dependency (``pip install -e '.[ray]'``), imported only
when a distributed search starts.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import hashlib
import heapq
import math
import os
import signal
import sys
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from checker.model import Kind, Model, Property
from checker.result import Progress, Result, Stats, action_name, finish
from checker.search import Capped, Position, Verdicts, search

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)

BATCH = 4096
"""States the driver hands the actors at once: each batch costs three rounds of messages."""

KBITS = 24
"""A key is ``index << KBITS | k``: successor ``k`` of the stored state ``index`` (at most 2**24 successors a state)."""

INSTALL = "install it with pip install -e '.[ray]'"
CONNECT_WAIT = 30.0
"""Seconds to wait for a Ray cluster given by address before saying it cannot be reached."""
START_WAIT = 120.0
"""Seconds to wait for the cluster to start the actors (a cluster too small for them never does)."""
MAX_RESTARTS = 3
"""Restarts after lost actors before the search gives up (exit 4)."""


class RayUnavailable(Exception):
    """Ray is not installed, or the cluster cannot be reached: bad input (exit 2), one line."""


class ClusterLost(Exception):
    """An actor or node died during the search: the run failed (exit 4); no verdict from a level that lost data."""


class SavesUnreadable(ClusterLost):
    """After a lost actor, the new actors could not read the last level end saved (a lost node's folder, say)."""


def fingerprint(state: Hashable) -> int:
    """A 64-bit fingerprint of ``state`` that every process computes alike: blake2b of its ``repr``.

    Python's own ``hash`` differs between processes for strings, so it cannot route a state to its owner.  ``repr`` is
    the same in every process for states made of tuples, named tuples, ints, enums and strings, as the Raft model's
    are; a model whose ``repr`` depends on the process (sets of strings, say) must give states a canonical ``repr``."""
    return int.from_bytes(hashlib.blake2b(repr(state).encode(), digest_size=8).digest(), "little")


def owner_of(state: Hashable, parts: int) -> int:
    return fingerprint(state) % parts


@dataclass
class _Found:
    """What one actor found in a batch: action-property failures (expand) or new states' property events (admit)."""

    key: int
    props: list[int]  # indexes into the search's property list
    raw: Any = None  # an ACTION failure's raw bad successor
    witnesses: tuple[int, ...] = ()


class Partition:
    """One actor: the states whose fingerprint falls to it, their parents, and the expansion of those it holds.

    Created by the driver with the model and properties (cloudpickled), its number and the number of actors."""

    def __init__(self, blob: bytes, me: int, parts: int, symmetry: bool, measure: bool = False) -> None:
        import resource

        import cloudpickle  # type: ignore[import-untyped, unused-ignore]

        self.rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.measure, self.sent_items, self.sent_bytes = measure, 0, 0

        self.model, self.props = cloudpickle.loads(blob)
        self.me, self.parts, self.symmetry = me, parts, symmetry
        self.index: dict[Any, int] = {}
        self.gids = array("q")  # the index of each state held, increasing
        self.states: list[Any] = []
        self.parent = array("q")
        self.powner = array("h")
        self.expanded: list[tuple[int, list[str]]] = []  # this batch's expanded states and their transitions' actions
        self.kept: tuple[list[int], list[Any], list[int]] = ([], [], [])  # this batch's new states: keys, states, senders
        self.local: list[tuple[int, Any]] = []  # this batch's successors that fall to this actor itself

    def canon(self, s: Any) -> Any:
        return self.model.representative(s) if self.symmetry else s

    def pid(self) -> int:
        return os.getpid()

    def node(self) -> str:
        """The Ray node this actor runs on."""
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def store_initial(self, items: Sequence[tuple[int, Any]]) -> int:
        """Hold the initial states (index, canonical state) that fall to this actor; return how many."""
        n = 0
        for gidx, c in items:
            if owner_of(c, self.parts) == self.me:
                self._hold(gidx, c, -1, -1)
                n += 1
        return n

    def _hold(self, gidx: int, c: Any, parent: int, powner: int) -> None:
        self.index[c] = gidx
        self.gids.append(gidx)
        self.states.append(c)
        self.parent.append(parent)
        self.powner.append(powner)

    def expand(self, lo: int, hi: int, action_props: Sequence[int]) -> tuple[Any, ...]:
        """Expand the held states with an index in ``[lo, hi)``: the action-property failures, then one list of
        ``(key, canonical successor)`` per owner, each in key order (this actor's own list kept here, an empty one sent)."""
        model, props = self.model, self.props
        out: list[list[tuple[int, Any]]] = [[] for _ in range(self.parts)]
        fails: list[_Found] = []
        sent: set[Any] = set()
        self.expanded = []
        a0, a1 = bisect.bisect_left(self.gids, lo), bisect.bisect_left(self.gids, hi)
        for pos in range(a0, a1):
            idx, s = self.gids[pos], self.states[pos]
            if not model.within_boundary(s):
                continue
            names: list[str] = []
            for a in model.actions(s):
                t = model.next_state(s, a)
                if t is None:
                    continue
                key = idx << KBITS | len(names)
                names.append(action_name(a))
                bad = [j for j in action_props if not props[j].check(s, a, t)]
                if bad:
                    fails.append(_Found(key, bad, t))
                c = self.canon(t)
                # Only a state's first occurrence in this batch is sent (the owner keeps the first in key order, and
                # this actor's come in key order), and none that this actor owns and holds already.
                if c in sent:
                    continue
                sent.add(c)
                j = owner_of(c, self.parts)
                if j != self.me or c not in self.index:
                    out[j].append((key, c))
            if len(names) >= 1 << KBITS:
                raise ValueError(f"state {idx} has {len(names):,} successors; at most {1 << KBITS:,} are supported")
            self.expanded.append((idx, names))
        if self.measure:
            import pickle

            for j, items in enumerate(out):
                if j != self.me:
                    self.sent_items += len(items)
                    self.sent_bytes += len(pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))
        self.local = out[self.me]  # its own share stays here: admit() takes it, with nothing serialised
        out[self.me] = []
        return (fails, *out)

    def figures(self) -> dict[str, Any]:
        """What this actor holds and has sent: states, the successors sent to other actors and their pickled bytes (with
        ``measure`` on), its process's peak RSS and its RSS when it started, and its node."""
        import resource

        return {"states": len(self.states), "sent_items": self.sent_items, "sent_bytes": self.sent_bytes,
                "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss0": self.rss0, "node": self.node()}

    def admit(self, invariants: Sequence[int], pending: Sequence[int], *incoming: list[tuple[int, Any]]) -> tuple[Any, list[_Found]]:
        """Keep the first occurrence, in key order, of each canonical state sent (by actor j: ``incoming[j]``) that is
        not held yet; check ``invariants`` and the SOMETIMES properties ``pending`` on each.  Returns the kept keys (an
        int64 array, increasing) and the property events."""
        props = self.props
        keys: list[int] = []
        states: list[Any] = []
        senders: list[int] = []
        seen: set[Any] = set()
        found: list[_Found] = []
        streams = [_tagged(self.local if j == self.me else inc, j) for j, inc in enumerate(incoming)]
        self.local = []
        for key, j, c in heapq.merge(*streams, key=lambda e: e[0]):
            if c in self.index or c in seen:
                continue
            seen.add(c)
            keys.append(key)
            states.append(c)
            senders.append(j)
            bad = [i for i in invariants if not props[i].check(c)]
            wit = tuple(i for i in pending if props[i].check(c))
            if bad or wit:
                found.append(_Found(key, bad, witnesses=wit))
        self.kept = (keys, states, senders)
        return np.array(keys, dtype=np.int64), found

    def finalise(self, gidxs: Any, cut: int | None) -> tuple[int, Counter[str]]:
        """Hold the first ``len(gidxs)`` states kept by :meth:`admit`, numbered ``gidxs``; count the transitions of the
        batch up to the key ``cut`` (all of them if None)."""
        keys, states, senders = self.kept
        for i, gidx in enumerate(gidxs.tolist()):
            self._hold(gidx, states[i], keys[i] >> KBITS, senders[i])
        self.kept = ([], [], [])
        n = 0
        counts: Counter[str] = Counter()
        cut_idx, cut_k = (cut >> KBITS, cut & ((1 << KBITS) - 1)) if cut is not None else (None, 0)
        for idx, names in self.expanded:
            if cut_idx is not None and idx >= cut_idx:
                if idx > cut_idx:
                    break
                names = names[:cut_k + 1]
            n += len(names)
            counts.update(names)
        self.expanded = []
        return n, counts

    def save(self, directory: str, key: str, depth: int, total: int, drop: int | None = None) -> int:
        """Save the states held (all stored before the level ``depth``, ``total`` in all) into
        ``directory/level-D/part-J`` in the checkpoint format (checker/checkpoint.py: checksums, atomic replacement);
        return how many.  ``drop``: a level whose save is no longer needed (the driver has every part of a later one);
        see :func:`save_part`."""
        meta = {"depth": depth, "total": total, "transitions": 0, "elapsed": 0.0, "states": self.states}
        save_part(directory, "ray", key, depth, self.me, drop, meta,
                  {"gids": np.frombuffer(self.gids, dtype=np.int64), "parent": np.frombuffer(self.parent, dtype=np.int64),
                   "powner": np.frombuffer(self.powner, dtype=np.int16)})
        return len(self.states)

    def drop_saves(self, directory: str, whole: bool) -> None:
        drop_parts(directory, self.me, whole)

    def load(self, directory: str, key: str, depth: int) -> int:
        """Hold what :meth:`save` saved at the level ``depth`` (verified before it is read); return how many states."""
        from checker import checkpoint as ck

        where, meta, arrays = load_part(directory, "ray", key, depth, self.me)
        states = meta["states"]
        if not len(states) == len(arrays["gids"]) == len(arrays["parent"]) == len(arrays["powner"]):
            raise ck.damaged(where, "its states and their records differ in number")
        self.states = list(states)
        self.index = {c: int(g) for c, g in zip(self.states, arrays["gids"].tolist(), strict=True)}
        self.gids, self.parent = array("q", arrays["gids"].tolist()), array("q", arrays["parent"].tolist())
        self.powner = array("h", arrays["powner"].tolist())
        self.expanded, self.kept, self.local = [], ([], [], []), []
        return len(self.states)

    def lookup(self, gidx: int) -> tuple[Any, int, int]:
        """The held state numbered ``gidx``, its parent's index and the parent's owner (-1 for an initial state)."""
        pos = bisect.bisect_left(self.gids, gidx)
        if pos == len(self.gids) or self.gids[pos] != gidx:
            raise KeyError(f"actor {self.me} holds no state {gidx}")
        return self.states[pos], self.parent[pos], self.powner[pos]

    def held(self) -> int:
        return len(self.states)


def save_part(directory: str, engine: str, key: str, depth: int, me: int, drop: int | None, meta: dict[str, Any],
              arrays: dict[str, Any]) -> None:
    """Save actor ``me``'s part at the end of level ``depth`` into ``directory/level-D/part-J`` in the checkpoint format
    (:func:`checker.checkpoint.save_engine`: checksums, atomic replacement), first removing its part of the level
    ``drop`` (one the driver no longer needs).  Each level has a folder of its own: if an actor is lost in the middle
    of a save, the parts the others saved do not replace the last complete save."""
    import shutil

    from checker import checkpoint as ck

    if drop is not None:
        shutil.rmtree(Path(directory) / f"level-{drop}" / f"part-{me}", ignore_errors=True)
    ck.save_engine(Path(directory) / f"level-{depth}" / f"part-{me}", engine, key, meta, arrays)


def drop_parts(directory: str, me: int, whole: bool) -> None:
    """Remove actor ``me``'s saved parts (the search is over); ``whole``: the folder too, once it is empty (a temporary
    folder of the search's own, on the actor's node)."""
    import shutil

    root = Path(directory)
    for level in root.glob("level-*"):
        shutil.rmtree(level / f"part-{me}", ignore_errors=True)
        with contextlib.suppress(OSError):
            level.rmdir()
    if whole:
        with contextlib.suppress(OSError):
            root.rmdir()


def load_part(directory: str, engine: str, key: str, depth: int, me: int) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Actor ``me``'s part as saved at the end of level ``depth`` (checked by :func:`checker.checkpoint.load_engine`):
    where it is, its meta and its arrays; CheckpointError if there is none."""
    from checker import checkpoint as ck

    where = Path(directory) / f"level-{depth}" / f"part-{me}"
    got = ck.load_engine(where, engine, key)
    if got is None or got[0]["depth"] != depth:
        raise ck.damaged(where, f"no save of level {depth} there")
    return where, got[0], got[1]


def _tagged(items: list[tuple[int, Any]], j: int) -> Iterator[tuple[int, int, Any]]:
    """``items`` (key, state) with their sender ``j`` (a function, so that each stream keeps its own ``j``)."""
    return ((key, j, c) for key, c in items)


def _probe(address: str, wait: float) -> str | None:
    """Why ``host:port`` (or ``ray://host:port``) gives no answer within ``wait`` seconds, or None if it answers.

    Ray's own connect retries for minutes and then exits the process; a TCP connect tells sooner."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return f"{address!r} is not an address of the form HOST:PORT (or local, or auto)"
    deadline = time.monotonic() + wait
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=min(5.0, max(0.1, deadline - time.monotonic()))):
                return None
        except OSError as e:
            if time.monotonic() >= deadline:
                return f"no answer on {host}:{port} ({e.strerror or e})"
            time.sleep(0.5)


def connect(address: str, wait: float = CONNECT_WAIT) -> tuple[Any, bool]:
    """``import ray`` and join (``auto``, an address) or start (``local``) a cluster; RayUnavailable in one line.  Also
    whether this call connected (else Ray was already initialised in this process, by its caller)."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--ray needs Ray, which is not installed: {INSTALL}") from None
    if ray.is_initialized():
        return ray, False
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False}
    t0 = time.monotonic()
    if address not in ("local", "auto"):
        why = _probe(address, wait)
        if why is not None:
            raise RayUnavailable(f"could not reach the Ray cluster at {address} (waited {time.monotonic() - t0:.0f} s): {why}")
    main = threading.current_thread() is threading.main_thread()
    term = signal.getsignal(signal.SIGTERM) if main else None
    try:
        ray.init(**kwargs) if address == "local" else ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError, SystemExit) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise RayUnavailable(f"could not reach the Ray cluster at {address} (waited {time.monotonic() - t0:.0f} s): "
                             f"{first}") from None
    finally:
        if main and term is not None:  # ray.init sets a SIGTERM handler that exits; `kill` ends a search as ^C does
            signal.signal(signal.SIGTERM, term)
    return ray, True


class _Saves:
    """Level-end saves of a distributed search (the driver's :class:`checker.search.Checkpointer`).

    At a level end (at most every ``every`` seconds) each actor saves its part into ``directory/part-J``
    (:meth:`Partition.save`); once every actor has, the driver keeps its own counters and the verdicts as they are
    there.  After a lost actor, :meth:`rewind` arms the next :meth:`resume`: the new actors load their parts and the
    driver's state is put back, so the search goes on from that level end as if nothing had happened (and with no
    save yet, from the start).  The folder is removed at the end of the run."""

    def __init__(self, ex: RayExplorer[Any, Any], directory: str | None, every: float) -> None:
        import tempfile
        import uuid

        self.ex, self.every = ex, every
        self.own = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="check-ray-")
        self.key = f"ray search {uuid.uuid4()}"
        self.last = time.monotonic()
        self.saved: dict[str, Any] | None = None
        self.older: int | None = None  # the complete save before the last one: dropped at the next save
        self.armed = False
        self.t0 = time.perf_counter()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every

    def save(self, pos: Position, verdicts: Verdicts) -> None:
        ex = self.ex
        # A level before the last complete save is dropped as this one is written (never the last complete one).
        drop = self.older
        ex._get([a.save.remote(self.directory, self.key, pos.depth, ex.count, drop) for a in ex.actors])
        self.older = self.saved["pos"].depth if self.saved is not None else None
        self.saved = {"pos": copy.copy(pos), "count": ex.count, "transitions": ex.stats.transitions,
                      "action_counts": Counter(ex.stats.action_counts), "owner": dict(ex.owner),
                      "verdicts": _verdict_state(verdicts)}
        self.last = time.monotonic()

    def describe(self) -> str:
        if self.saved is None:
            return "the start (no level end saved yet)"
        return f"the end of level {self.saved['pos'].depth} ({self.saved['count']:,} states)"

    def rewind(self) -> None:
        """After a lost actor: the next :meth:`resume` goes back to the last save (or to the start)."""
        self.armed = True

    def resume(self, verdicts: Verdicts) -> Position | None:
        if not self.armed:
            self.t0 = time.perf_counter()
            return None
        self.armed = False
        ex = self.ex
        if self.saved is None:  # back to the start: the driver's state as new
            ex.count, ex.stats, ex.owner = 0, Stats(), {}
            _restore_verdicts(verdicts, _verdict_state(Verdicts(verdicts.props, verdicts.keep_going)))
            return None
        sv = self.saved
        from checker.checkpoint import CheckpointError

        try:
            ex._get([a.load.remote(self.directory, self.key, sv["pos"].depth) for a in ex.actors])
        except (CheckpointError, OSError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise SavesUnreadable(f"the new actors could not read the save of level {sv['pos'].depth} ({first}); on a "
                                  "cluster of several machines give --ray-saves a folder every node sees") from e
        ex.count, ex.owner = sv["count"], dict(sv["owner"])
        ex.stats = Stats()
        ex.stats.transitions, ex.stats.action_counts = sv["transitions"], Counter(sv["action_counts"])
        _restore_verdicts(verdicts, sv["verdicts"])
        pos: Position = copy.copy(sv["pos"])
        pos.elapsed = time.perf_counter() - self.t0  # the lost work's time counts too
        return pos

    def remove(self) -> None:
        import shutil

        if self.own:
            shutil.rmtree(self.directory, ignore_errors=True)


def _verdict_state(v: Verdicts) -> dict[str, Any]:
    return {"found": dict(v.found), "witness": dict(v.witness), "pending": dict(v.pending), "invariants": list(v.invariants),
            "action_props": list(v.action_props), "stop": v.stop}


def _restore_verdicts(v: Verdicts, state: dict[str, Any]) -> None:
    v.found, v.witness, v.pending = dict(state["found"]), dict(state["witness"]), dict(state["pending"])
    v.invariants, v.action_props, v.stop = list(state["invariants"]), list(state["action_props"]), state["stop"]


def actors_into(stats: Stats, figures: Sequence[dict[str, Any]]) -> None:
    """What the actors' ``figures`` tell of memory, into a finished search's ``stats``: their peak RSS (summed, and the
    largest), their nodes, and, where every actor reports one, their stores' bytes summed (the driver holds no store)."""
    if not figures:
        return
    stats.actors = len(figures)
    stats.actors_peak_rss = sum(int(f["peak_rss"]) for f in figures)
    stats.actor_peak_rss_max = max(int(f["peak_rss"]) for f in figures)
    stats.actor_nodes = len({f["node"] for f in figures})
    if all("store_bytes" in f for f in figures):
        stats.store_bytes = sum(int(f["store_bytes"]) for f in figures)


class RayExplorer(Generic[S, A]):
    """Breadth-first search of a :class:`~checker.model.Model` by Ray actors (see the module's docstring).

    ``address``: ``local`` (start a Ray instance on this machine), ``auto`` (the cluster this machine belongs to) or a
    cluster's address; ``actors``: how many partitions (default: one per CPU of the cluster)."""

    def __init__(self, model: Model[S, A], properties: Sequence[Property[S, A]] | None = None, *, symmetry: bool = True,
                 max_states: int | None = None, progress: Callable[[Progress], None] | None = None,
                 progress_interval: float = 1.0, keep_going: bool = False, address: str = "local",
                 actors: int | None = None, batch: int = BATCH, save_dir: str | None = None, save_every: float = 60.0,
                 notice: Callable[[str], None] | None = None, measure: bool = False) -> None:
        if (actors is not None and actors < 1) or batch < 1:
            raise ValueError("actors and batch must be at least 1")
        self.model = model
        self.props = list(model.properties() if properties is None else properties)
        self.symmetry, self.max_states, self.keep_going = symmetry, max_states, keep_going
        self.progress, self.progress_interval = progress, progress_interval
        self.address, self.want_actors, self.batch = address, actors, batch
        self.count = 0
        self.stats = Stats()
        self.owner: dict[int, int] = {}  # owners of the states the verdicts name
        self.ray: Any = None
        self.actors: list[Any] = []
        # Level-end saves, for restarts after a lost actor: where (default: a new temporary folder; on a cluster of
        # several machines, a folder every node sees at the same path), and at most how often (seconds).
        self.save_dir, self.save_every = save_dir, save_every
        self.notice = notice or (lambda line: print(line, file=sys.stderr, flush=True))
        self.restarts = 0
        # measure: the actors count the bytes they send (pickled, as Ray sends them); figures: each actor's
        # Partition.figures() at the end of the search (bench/ray_scaling.py).
        self.measure = measure
        self.figures: list[dict[str, Any]] = []

    def canon(self, s: S) -> S:
        return self.model.representative(s) if self.symmetry else s

    def run(self) -> Result[S, A]:
        """Start the actors, search on the driver (:func:`checker.search.search`), and let the actors go.

        If an actor or its node is lost, the actors are replaced and the search goes on from the last level end saved
        (:class:`_Saves`), with the driver's counters and verdicts as they were there: no verdict comes from a level
        that lost data.  After ``MAX_RESTARTS`` restarts, or if the cluster cannot start new actors, ClusterLost."""
        ray, joined = connect(self.address)
        self.ray = ray
        saves = _Saves(self, self.save_dir, self.save_every)
        try:
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            parts = self.want_actors or cpus
            blob = self.blob()
            verdicts = Verdicts(self.props, self.keep_going)
            self._start_actors(blob, parts, cpus)
            while True:
                try:
                    result = search(self, verdicts, batch=self.batch, max_states=self.max_states, progress=self.progress,
                                    progress_interval=self.progress_interval, checkpointer=saves)
                    with contextlib.suppress(ClusterLost):  # the search is over: a late loss costs only the figures
                        self.figures = self._get([a.figures.remote() for a in self.actors])
                        actors_into(result.stats, self.figures)
                        self.after_search()
                    return result
                except SavesUnreadable:
                    raise
                except ClusterLost as e:
                    self.restarts += 1
                    where = saves.describe()
                    if self.restarts > MAX_RESTARTS:
                        raise ClusterLost(f"{e}; gave up after {MAX_RESTARTS} restarts (last saved: {where})") from e
                    self.notice(f"ray: {e}; restarting on new actors from {where} (restart {self.restarts})")
                    self._kill_actors()
                    try:
                        self._start_actors(blob, parts, cpus)
                    except RayUnavailable as e2:
                        raise ClusterLost(f"{e}, and {e2} (last saved: {where})") from e
                    saves.rewind()
        finally:
            with contextlib.suppress(Exception):  # the saves are of no use once the search is over
                ray.get([a.drop_saves.remote(saves.directory, saves.own) for a in self.actors], timeout=60)
            self._kill_actors()
            saves.remove()
            if joined:
                ray.shutdown()  # stops a local instance; leaves a cluster joined by address running

    def _start_actors(self, blob: bytes, parts: int, cpus: int) -> None:
        from ray.exceptions import GetTimeoutError

        # More actors than CPUs share them: k actors a CPU, each asking for 1/k of one (rounded down to Ray's four
        # decimals, so that k of them fit on one CPU), so that every node can hold its share.
        share = 1.0 if parts <= cpus else math.floor(10000 / math.ceil(parts / cpus)) / 10000
        cls = self.ray.remote(num_cpus=share, max_restarts=0)(self.partition_class())
        self.actors = [cls.options(scheduling_strategy="SPREAD").remote(*self.partition_args(blob, j, parts))
                       for j in range(parts)]
        try:
            self._get([a.pid.remote() for a in self.actors], timeout=START_WAIT)
        except GetTimeoutError:
            raise RayUnavailable(f"the Ray cluster did not start {parts} actors of {share:g} CPU each within "
                                 f"{START_WAIT:.0f} s (it has {cpus} CPUs)") from None

    def after_search(self) -> None:
        """Called once the search is over, before the actors go (a subclass's tests ask them what they hold)."""

    def partition_class(self) -> type[Any]:
        """The actors' class."""
        return Partition

    def partition_args(self, blob: bytes, me: int, parts: int) -> tuple[Any, ...]:
        """The arguments of actor ``me``'s constructor."""
        return (blob, me, parts, self.symmetry, self.measure)

    def blob(self) -> bytes:
        """What every actor is created with: the model and the properties, cloudpickled."""
        import cloudpickle  # type: ignore[import-untyped, unused-ignore]

        return bytes(cloudpickle.dumps((self.model, self.props)))

    def _kill_actors(self) -> None:
        for a in self.actors:
            with contextlib.suppress(Exception):  # already gone with its node
                self.ray.kill(a)
        self.actors = []

    def _get(self, refs: Any, timeout: float | None = None) -> Any:
        """``ray.get``: a lost actor as ClusterLost; an exception the model or a save raised in an actor as itself (its
        cause, not Ray's wrapper with the remote traceback in its message), so that it ends the run as it would in one
        process: a tweak's contract broken is bad input, anything else a failure of the run, each in one line."""
        from ray.exceptions import RayActorError, RaySystemError, RayTaskError, WorkerCrashedError

        try:
            return self.ray.get(refs, timeout=timeout)
        except RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, RayTaskError):
                raise cause from e
            raise
        except (RayActorError, WorkerCrashedError, RaySystemError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ClusterLost(f"a Ray actor was lost during the search ({first}); no verdict is given from a level that "
                              "lost data") from e

    # ------------------------------------------------------------------ the driver's Expander interface

    @property
    def size(self) -> int:
        return self.count

    @property
    def transitions(self) -> int:
        return self.stats.transitions

    def _visit(self, v: Verdicts, idx: int, bad: list[int], wit: tuple[int, ...]) -> None:
        """:meth:`Verdicts.visit` of the new state ``idx``, given which properties fail there (``bad``) and which
        SOMETIMES properties hold (``wit``), as an actor found them."""
        failing = {self.props[i].name for i in bad}
        holding = {self.props[i].name for i in wit}
        v.visit(idx, lambda p: p.name in holding if p.kind is Kind.SOMETIMES else p.name not in failing)

    def start(self, verdicts: Verdicts) -> None:
        """As :meth:`checker.bfs.Explorer.start`: store the initial states, checking each new one until the search stops;
        the actors then hold those that fall to them."""
        items: list[tuple[int, S]] = []
        seen: set[S] = set()
        try:
            for s0 in self.model.init_states():
                c = self.canon(s0)
                if c in seen:
                    continue
                if self.max_states is not None and len(items) >= self.max_states:
                    raise Capped()
                seen.add(c)
                idx = len(items)
                items.append((idx, c))
                self.count = idx + 1
                self.owner[idx] = owner_of(c, len(self.actors))
                if not verdicts.stop:
                    self._visit(verdicts, idx, [i for i, p in enumerate(self.props) if p.kind is Kind.ALWAYS and not p.check(c)],
                                tuple(i for i, p in enumerate(self.props) if p.kind is Kind.SOMETIMES and p.check(c)))
        finally:
            self._get([a.store_initial.remote(items) for a in self.actors])

    def expand(self, lo: int, hi: int, verdicts: Verdicts) -> None:
        v, props, n = verdicts, self.props, len(self.actors)
        pos = {p.name: i for i, p in enumerate(props)}
        acts = [pos[p.name] for p in v.action_props]
        invs = [pos[p.name] for p in v.invariants]
        pend = [pos[name] for name in v.pending]
        outs = [a.expand.options(num_returns=n + 1).remote(lo, hi, acts) for a in self.actors]
        admits = [self.actors[j].admit.remote(invs, pend, *[outs[i][1 + j] for i in range(n)]) for j in range(n)]
        fails: list[list[_Found]] = self._get([o[0] for o in outs])
        got: list[tuple[Any, list[_Found]]] = self._get(admits)
        cut, gidxs, added, capped = self.decide(v, [k for k, _ in got], fails, [fl for _, fl in got])
        done = self._get([a.finalise.remote(gidxs[j], cut) for j, a in enumerate(self.actors)])
        self.count += added
        for t, counts in done:
            self.stats.transitions += t
            self.stats.action_counts.update(counts)
        if capped:
            raise Capped()

    def decide(self, v: Verdicts, keys: list[Any], fails: list[list[_Found]],
               found: list[list[_Found]]) -> tuple[int | None, list[Any], int, bool]:
        """Number a batch's new states and replay its property events in key order through the verdicts.

        ``keys[j]``: the keys of the new states actor ``j`` kept (increasing); ``fails[i]``: the action-property
        failures of the transitions actor ``i`` made; ``found[j]``: the property events of actor ``j``'s new states.
        Returns the key where the search stopped (None if it did not), the indexes of each actor's new states that are
        kept (those up to the stop), how many, and whether the state cap stopped it."""
        props = self.props
        order = np.sort(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
        # The events in key order: an ACTION failure is met before its successor is stored, a new state's properties
        # after; the cap acts when the state past it would be stored.
        events: list[tuple[int, int, int, _Found | None]] = []  # (key, 0 action / 1 cap / 2 state, actor, found)
        for i, fl in enumerate(fails):
            events += [(f.key, 0, i, f) for f in fl]
        for j, fl in enumerate(found):
            events += [(f.key, 2, j, f) for f in fl]
        if self.max_states is not None and self.count + len(order) > self.max_states:
            events.append((int(order[self.max_states - self.count]), 1, -1, None))
        events.sort(key=lambda e: (e[0], e[1]))
        cut, keep_cut, capped = None, True, False
        for key, kind, j, f in events:
            if kind == 0:
                assert f is not None
                failing = {props[i].name for i in f.props}
                idx = key >> KBITS
                self.owner[idx] = j
                v.transition(idx, f.raw, lambda p: p.name not in failing)  # noqa: B023  (called here, at once)
                if v.stop:
                    cut, keep_cut = key, False
                    break
            elif kind == 1:
                cut, keep_cut, capped = key, False, True
                break
            else:
                assert f is not None
                idx = self.count + int(np.searchsorted(order, key))
                self.owner[idx] = j
                self._visit(v, idx, f.props, f.witnesses)
                if v.stop:
                    cut = key
                    break
        if cut is not None:
            order = order[:int(np.searchsorted(order, cut, side="right" if keep_cut else "left"))]
        gidxs = []
        for k in keys:
            mine = k[:int(np.searchsorted(k, order[-1], side="right"))] if len(order) else k[:0]
            gidxs.append(self.count + np.searchsorted(order, mine))
        return cut, gidxs, len(order), capped

    def level_end(self, lo: int) -> None:
        pass

    def fill_stats(self, stats: Stats) -> None:
        stats.transitions = self.stats.transitions
        stats.action_counts = self.stats.action_counts
        stats.distinct_states = self.count

    def path_to(self, idx: int) -> list[S]:
        """The stored states from an initial state to ``idx``, asked of their owners back along the parent records."""
        path: list[S] = []
        owner = self.owner[idx]
        while idx >= 0:
            state, parent, powner = self._get(self.actors[owner].lookup.remote(idx))
            path.append(state)
            idx, owner = parent, powner
        return path[::-1]

    def result(self, result: Result[Any, Any], verdicts: Verdicts) -> Result[S, A]:
        return finish(result, self.model, self.canon, *verdicts.paths(self.path_to))
