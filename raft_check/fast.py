"""The fast engine: the same breadth-first search as :mod:`checker.bfs`, on compact Raft states.

States are flat tuples of small ints (:mod:`models.fast_raft`); successors
come from the readable model's own actions, memoised per server, message and
slot; canonicalisation is memoised per tuple of server codes.  Properties are
the readable model's, evaluated on decoded :class:`models.raft.State` values:
a property's answer is memoised on the server variables (and ``committed``)
when evaluating it did not touch the network (or the action, or the ghost ``elected``) -- a tripwire
in place of ``messages`` detects that, so any property stays correct.

Counts (distinct states, transitions, depth, per-action counts) equal the
readable engine's; the reported trace is re-derived with the readable model
(:func:`checker.trace.concretize`), so it is concrete and replays through
``models.raft``.  The differential tests are in ``tests/test_fast.py``.
"""

from __future__ import annotations

import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.bfs import HOLDS, INCOMPLETE, Progress, Reporter, Result, Stats, _Capped, finish, parent_path, peak_rss_bytes
from checker.model import Kind, Property
from models.fast_raft import LEAST_MEMO_CAP, FastRaft, Flat
from models.raft import Action, EachMessage, Raft, State

if TYPE_CHECKING:
    from raft_check.parallel import Chunk  # the shape of an expanded chunk, here or in a worker process

STORES = ("memory", "compact", "fp")
"""Visited-state stores: a dict of states; exact sorted runs (checker/store.py); fingerprints only."""

CHUNK = 20_000
"""Batched stores expand this many frontier states, then look their new successors up at once."""


def fingerprints(rows: Any) -> Any:
    """64-bit fingerprints of a batch of states (uint32 rows) for the batched stores (tests swap in a colliding one)."""
    from checker.store import fingerprints as of_rows  # numpy is imported only by runs that use it

    return of_rows(rows)


def unsupported(model: Raft) -> str | None:
    """Why the fast engine cannot run ``model`` (None if it can)."""
    if type(model).within_boundary is not Raft.within_boundary:
        return "the model overrides within_boundary"
    for name in ("actions", "next_state", "prune", "dead", "notify_only", "permute", "sym_key", "commit_step", "HandleRPC",
                 "record_leaders"):
        if getattr(type(model), name) is not getattr(Raft, name):
            return f"the model overrides {name}"
    return None


def pick_engine(model: Raft, wanted: str) -> tuple[str, str]:
    """The engine to run for ``--engine wanted`` and a line announcing it; ValueError if ``fast`` cannot run ``model``."""
    if wanted == "readable":
        return "readable", "readable (checker/bfs.py)"
    why = unsupported(model)
    if why is None:
        return "fast", "fast (raft_check/fast.py)"
    if wanted == "fast":
        raise ValueError(f"--engine fast cannot run this model: {why}; use --engine readable")
    return "readable", f"readable (checker/bfs.py): the fast engine cannot run this model: {why}"


class _TouchedError(Exception):
    """A property read the part of the state hidden behind a :class:`_Tripwire`."""


class _Tripwire(tuple[Any, ...]):
    """Stands in for ``messages`` (or the action, or the ghost ``elected``): any use of it raises :class:`_TouchedError`."""

    def _touch(self, *args: Any, **kwargs: Any) -> Any:
        raise _TouchedError

    __iter__ = __len__ = __getitem__ = __contains__ = __bool__ = __eq__ = __ne__ = __lt__ = __hash__ = _touch

    def __getattr__(self, name: str) -> Any:
        raise _TouchedError


_WIRE = _Tripwire()


class _StateCheck:
    """One ALWAYS or SOMETIMES property, memoised on (server codes, committed code) while it ignores messages,
    or slot by slot when it is a conjunction over messages (``EachMessage``)."""

    def __init__(self, prop: Property[State, Action], fr: FastRaft) -> None:
        self.prop, self.fr = prop, fr
        self.memo: dict[tuple[Flat, int], bool] = {}
        self.full = False  # True once the property was seen to read messages
        # A conjunction over messages (models.raft.EachMessage) is checked slot by slot: the answer for a slot
        # depends only on its messages and their sender, so it is memoised on (slot position, slot code, sender code).
        self.per_message = prop.check.per_message if isinstance(prop.check, EachMessage) else None
        self.slot_memo: dict[tuple[int, int, int], bool] = {}

    @property
    def memoisable(self) -> bool:
        """Whether the answer depends on the server and committed codes alone (as far as seen so far)."""
        return not self.full and self.per_message is None

    def _each_slot(self, s: Flat) -> bool:
        fr, memo = self.fr, self.slot_memo
        src_of = fr.src_of
        for q in range(fr.n, fr.n + fr.m):
            code = s[q]
            if code:
                key = (q, code, s[src_of[q]])
                ok = memo.get(key)
                if ok is None:
                    if len(memo) >= LEAST_MEMO_CAP:
                        memo.clear()
                    sender, each = fr.srvs[key[2]], self.per_message
                    assert each is not None  # only called when the property is an EachMessage
                    ok = memo[key] = all(each(sender, msg) for _, msg in fr.messages_at(q, code))
                if not ok:
                    return False
        return True

    def __call__(self, s: Flat) -> bool:
        fr = self.fr
        if self.per_message is not None:
            return self._each_slot(s)
        if self.full:
            return bool(self.prop.check(fr.decode(s)))
        key = (s[: fr.n], s[-1])
        got = self.memo.get(key)
        if got is None:
            try:
                got = bool(self.prop.check(State(fr.servers(s), _WIRE, fr.comms[s[-1]], _WIRE)))
            except _TouchedError:
                self.full = True
                self.memo.clear()
                return bool(self.prop.check(fr.decode(s)))
            self.memo[key] = got
        return got


class _Invariants:
    """The ALWAYS properties of a state, in order: the index of the first that fails, or -1.

    Those that read only the server and committed codes share one memo, keyed
    on them; the others (``full``, see :class:`_StateCheck`) run every time.
    """

    def __init__(self, checks: list[_StateCheck], n: int) -> None:
        self.checks, self.n = checks, n
        self.memo: dict[tuple[Flat, int], int] = {}
        self._split()

    def _split(self) -> None:
        self.cheap = [a for a, c in enumerate(self.checks) if c.memoisable]
        self.full = [a for a, c in enumerate(self.checks) if not c.memoisable]
        self.memo.clear()

    def __call__(self, s: Flat) -> int:
        checks = self.checks
        key = (s[: self.n], s[-1])
        first = self.memo.get(key)
        if first is None:
            first = len(checks)
            for a in self.cheap:
                if not checks[a](s):
                    first = a
                    break
            if any(not checks[a].memoisable for a in self.cheap):  # one was seen to read messages: it joins the others
                self._split()
                return self(s)
            self.memo[key] = first
        for a in self.full:
            if a > first:
                break
            if not checks[a](s):
                return a
        return first if first < len(checks) else -1


class _ActionCheck:
    """One ACTION property, memoised on the server and committed codes of both states while it ignores messages and the action."""

    def __init__(self, prop: Property[State, Action], fr: FastRaft, action_of: Callable[[Flat, int, Flat], Action]) -> None:
        self.prop, self.fr, self.action_of = prop, fr, action_of
        self.memo: dict[tuple[Flat, Flat, int, int], bool] = {}
        self.full = False

    def __call__(self, s: Flat, t: Flat, k: int) -> bool:
        fr = self.fr
        if self.full:
            return bool(self.prop.check(fr.decode(s), self.action_of(s, k, t), fr.decode(t)))
        n = fr.n
        key = (s[:n], t[:n], s[-1], t[-1])
        got = self.memo.get(key)
        if got is None:
            try:
                got = bool(self.prop.check(State(fr.servers(s), _WIRE, fr.comms[s[-1]], _WIRE), _WIRE,
                                           State(fr.servers(t), _WIRE, fr.comms[t[-1]], _WIRE)))
            except _TouchedError:
                self.full = True
                self.memo.clear()
                return self(s, t, k)
            self.memo[key] = got
        return got


class FastExplorer:
    """Breadth-first search of a :class:`models.raft.Raft` model with the compact encoding.

    Same interface and same :class:`checker.bfs.Result` as :class:`checker.bfs.Explorer`.
    """

    def __init__(
        self,
        model: Raft,
        properties: Sequence[Property[State, Action]] | None = None,
        *,
        symmetry: bool = True,
        max_states: int | None = None,
        progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 1.0,
        store: str = "memory",
        workers: int = 1,
        checkpoint: Path | None = None,
        checkpoint_key: str = "",
        checkpoint_interval: float = 60.0,
        keep_going: bool = False,
    ) -> None:
        if store not in STORES:
            raise ValueError(f"unknown store {store!r}; choose one of {', '.join(STORES)}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        if workers > 1 and store == "memory":
            raise ValueError("several workers need a batched store: use store 'compact' (exact) or 'fp'")
        if checkpoint is not None and store == "memory":
            raise ValueError("checkpoints need a batched store: use store 'compact' (exact) or 'fp'")
        if store not in STORES:
            raise ValueError(f"unknown store {store!r}; choose one of {', '.join(STORES)}")
        why = unsupported(model)
        if why is not None:
            raise ValueError(f"the fast engine cannot run this model: {why}")
        self.model = model
        self.props = list(model.properties() if properties is None else properties)
        self.symmetry = symmetry
        self.max_states = max_states
        self.progress = progress
        self.progress_interval = progress_interval
        self.keep_going = keep_going  # go on past a violation until every property is decided (check --continue)
        self.fr = FastRaft(model)
        self.index: dict[Flat, int] = {}
        self.states: list[Flat] = []
        self.parent = array("q")
        self.store = store
        self.workers = workers
        self.checkpoint = checkpoint  # a directory: save the search there at level ends, and resume from it
        self.checkpoint_key = checkpoint_key  # what is searched; a checkpoint of another search is refused
        self.checkpoint_interval = checkpoint_interval  # seconds between saves (at the first level end after that)
        self.saved_checkpoints = 0
        self.resumed_from: int | None = None  # the depth a resumed search started at
        self.pos = array("I")  # batched stores: position of a state in its parent's successor list
        self.roots: list[Flat] = []  # batched stores: the initial states, whose indexes come first
        self._store: Any = None  # batched stores: the checker.store.RunStore of the last run
        self.pair_ok: dict[tuple[Flat, Flat, int, int], int] = {}  # expand_chunk's memo of the action properties

    def canon(self, s: Flat) -> Flat:
        return self.fr.canon(s) if self.symmetry else s

    def path_to(self, idx: int) -> list[State]:
        """The stored states from an initial state to ``idx``, decoded into readable representatives."""
        flats = parent_path(self.states, self.parent, idx) if self.store == "memory" else self.replay_path(idx)
        return [self.readable_canon(self.fr.decode(x)) for x in flats]

    def replay_path(self, idx: int) -> list[Flat]:
        """The batched stores keep no states, only (parent, position among the parent's successors): regenerate the path.

        Successor order is fixed (``FastRaft.successors``) and canonicalisation
        is a function, so this rebuilds exactly the states the search stored.
        """
        chain: list[int] = []
        while idx >= 0:
            chain.append(idx)
            idx = self.parent[idx]
        chain.reverse()
        s = self.roots[chain[0]]
        out = [s]
        for k in chain[1:]:
            s = self.canon(self.fr.successors(s)[self.pos[k]][1])
            out.append(s)
        return out

    def readable_canon(self, s: State) -> State:
        return self.model.representative(s) if self.symmetry else s

    def reachable(self) -> Iterator[State]:
        """Every stored state, decoded (for tests; the fp store keeps no states)."""
        if self.store == "fp":
            raise ValueError("the fp store keeps only fingerprints, not states")
        if self.store == "compact":
            for run in self._store.rows if self._store is not None else []:
                for row in run.tolist():
                    yield self.fr.decode(tuple(row))
            return
        for s in self.states:
            yield self.fr.decode(s)

    def run(self) -> Result[State, Action]:
        if self.store != "memory":
            return self._run_batched()
        fr = self.fr
        model = self.model
        n = fr.n
        successors = fr.successors
        canon_memo, canon_servers = fr.canon_memo, fr.canon_servers
        symmetry = self.symmetry
        index, states, parent = self.index, self.states, self.parent

        invariants = [(_StateCheck(p, fr), p) for p in self.props if p.kind is Kind.ALWAYS]
        action_checks = [(_ActionCheck(p, fr, self._action_of), p) for p in self.props if p.kind is Kind.ACTION]
        pending = {p.name: (_StateCheck(p, fr), p) for p in self.props if p.kind is Kind.SOMETIMES}
        witness_idx: dict[str, int] = {}
        counts = [0] * (len(fr.acts) + 1)  # per action index; the last is HandleRPC
        stats = Stats()
        start = time.perf_counter()
        report = Reporter(self.progress, self.progress_interval, start)
        status, reason = HOLDS, None
        found: dict[str, tuple[Property[State, Action], int, Flat | None]] = {}
        stop = False

        def record(p: Property[State, Action], idx: int, t: Flat | None) -> None:
            """As in checker/bfs.py: note p's first violation; stop unless keep_going and some property is undecided."""
            nonlocal stop, invariants, action_checks
            found[p.name] = (p, idx, t)
            invariants = [x for x in invariants if x[1] is not p]
            action_checks = [x for x in action_checks if x[1] is not p]
            stop = not self.keep_going or not (invariants or action_checks or pending)

        def visit(idx: int) -> None:
            nonlocal stop
            s = states[idx]
            if pending:
                for name in [nm for nm, (chk, _) in pending.items() if chk(s)]:
                    witness_idx[name] = idx
                    del pending[name]
                if found and not (invariants or action_checks or pending):
                    stop = True
            for chk, p in invariants:
                if not chk(s):
                    record(p, idx, None)
                    if stop:
                        return

        def add(t: Flat, par: int) -> int | None:
            if t in index:
                return None
            idx = len(states)
            index[t] = idx
            states.append(t)
            parent.append(par)
            return idx

        frontier: list[int] = []
        transitions = 0
        depth = 0
        try:
            for s0 in model.init_states():
                idx = add(self.canon(fr.encode(s0)), -1)
                if idx is None:
                    continue
                frontier.append(idx)
                if not stop:
                    visit(idx)
            while frontier and not stop:
                next_frontier: list[int] = []
                for pos_in_frontier, idx in enumerate(frontier):
                    s = states[idx]
                    succ = successors(s)
                    ss, sc = s[:n], s[-1]
                    for k, t in succ:
                        transitions += 1
                        counts[k] += 1
                        ts = t[:n]
                        if action_checks:
                            for chk, p in action_checks:
                                ok = None if chk.full else chk.memo.get((ss, ts, sc, t[-1]))
                                if ok is None:
                                    ok = chk(s, t, k)
                                if not ok:
                                    record(p, idx, t)
                                    if stop:
                                        break
                            if stop:
                                break
                        if t == s:
                            continue
                        if symmetry:
                            cs = canon_memo.get(ts)
                            if cs is None:
                                cs = canon_servers(ts)
                            getters = cs[1]
                            c = cs[0] + (getters[0](t) if len(getters) == 1 else fr.least_slots(cs[0], getters, t))
                        else:
                            c = t
                        if c in index:
                            continue
                        if self.max_states is not None and len(states) >= self.max_states:
                            raise _Capped()  # as in checker/bfs.py: a search that fits under the cap is complete
                        new = len(states)
                        index[c] = new
                        states.append(c)
                        parent.append(idx)
                        next_frontier.append(new)
                        stats.depth = depth + 1
                        visit(new)
                        if stop:
                            break
                    if stop:
                        break
                    if (pos_in_frontier & 255) == 0:
                        report(len(states), transitions, depth + 1, len(frontier) - pos_in_frontier + len(next_frontier))
                frontier = next_frontier
                depth += 1
        except _Capped:
            status, reason = INCOMPLETE, f"state cap reached (--max-states {self.max_states})"
        except KeyboardInterrupt:
            status, reason = INCOMPLETE, "interrupted"

        stats.transitions = transitions
        return self._conclude(stats, counts, len(states), start, status, reason, list(found.values()), witness_idx, list(pending))

    def _conclude(self, stats: Stats, counts: list[int], distinct: int, start: float, status: str, reason: str | None,
                  found: Sequence[tuple[Property[State, Action], int, Flat | None]], witness_idx: dict[str, int],
                  unwitnessed: list[str]) -> Result[State, Action]:
        """The end of a search with either store: statistics, and the paths to the violations (in the order found) and the witnesses."""
        fr = self.fr
        act_names = [a.name for a in fr.acts]
        stats.action_counts = Counter()
        for k, fired in enumerate(counts):
            if fired:
                stats.action_counts[act_names[k] if k < len(act_names) else "HandleRPC"] += fired
        stats.distinct_states = distinct
        stats.wall_seconds = time.perf_counter() - start
        stats.peak_rss = peak_rss_bytes()
        result: Result[State, Action] = Result(status, stats, incomplete_reason=reason, checked=list(self.props),
                                               keep_going=self.keep_going)
        violations = [(p, self.path_to(idx), fr.decode(t_raw) if t_raw is not None else None) for p, idx, t_raw in found]
        witnesses = {name: self.path_to(witness_idx[name]) if name in witness_idx else None for name in [*unwitnessed, *witness_idx]}
        return finish(result, self.model, self.readable_canon, violations, witnesses)

    def _run_batched(self) -> Result[State, Action]:
        """The same search with a :class:`checker.store.RunStore`: level by level, CHUNK frontier states at a time.

        Within a chunk, successors are generated in the memory store's order and
        de-duplicated in a dict that keeps the first; the store then answers
        which are new in one batch, and the new ones are numbered and checked
        in that same order.  So states get the same indexes and parents as with
        the memory store, and the first violating state is the same one.  An
        action property that fails stops generation at that transition; states
        found before it are checked first, as the memory store would have.
        With ``keep_going`` nothing stops a chunk: its states are admitted,
        then the first failure of each action property in it is recorded.

        With ``workers`` > 1 the chunks are expanded by worker processes
        (:mod:`raft_check.parallel`) and admitted here in the same order, so the
        search is the same.
        """
        import numpy as np

        from checker.store import RunStore, Spill, collision_probability

        fr = self.fr
        model = self.model
        canon = self.canon
        parent, pos_of, roots = self.parent, self.pos, self.roots
        exact = self.store == "compact"

        invariants = [(_StateCheck(p, fr), p) for p in self.props if p.kind is Kind.ALWAYS]
        action_checks = [(_ActionCheck(p, fr, self._action_of), p) for p in self.props if p.kind is Kind.ACTION]
        pending = {p.name: _StateCheck(p, fr) for p in self.props if p.kind is Kind.SOMETIMES}
        witness_idx: dict[str, int] = {}
        counts = [0] * (len(fr.acts) + 1)
        stats = Stats()
        snap = None
        if self.checkpoint is not None:
            from checker import checkpoint

            snap = checkpoint.load(self.checkpoint, self.checkpoint_key)
            if snap is not None:
                fr.restore_tables(snap.tables)
                self.resumed_from = snap.depth
        start = time.perf_counter() - (snap.elapsed if snap is not None else 0.0)
        report = Reporter(self.progress, self.progress_interval, start)
        status, reason = HOLDS, None
        found: dict[str, tuple[Property[State, Action], int, Flat | None]] = {}
        stop = False
        store: RunStore | None = None
        total = 0

        first_failing = _Invariants([chk for chk, _ in invariants], fr.n)
        # keep_going: the action properties not yet violated (workers check them all; a later failure is ignored).
        open_actions = {p.name for _, p in action_checks}

        def undecided() -> bool:
            return bool(invariants or open_actions or pending)

        def record(p: Property[State, Action], idx: int, t: Flat | None) -> None:
            """As in checker/bfs.py: note p's first violation; stop unless keep_going and some property is undecided."""
            nonlocal stop, invariants, first_failing
            found[p.name] = (p, idx, t)
            if any(q is p for _, q in invariants):
                invariants = [x for x in invariants if x[1] is not p]
                first_failing = _Invariants([chk for chk, _ in invariants], fr.n)
            open_actions.discard(p.name)
            stop = not self.keep_going or not undecided()

        def visit(s: Flat, idx: int) -> None:
            nonlocal stop
            if pending:
                for name in [nm for nm, chk in pending.items() if chk(s)]:
                    witness_idx[name] = idx
                    del pending[name]
                if found and not undecided():
                    stop = True
            a = first_failing(s)
            while a >= 0 and not stop:
                record(invariants[a][1], idx, None)
                a = first_failing(s) if not stop else -1

        def admit(rows: Any, par: Sequence[int], pos: Sequence[int]) -> Any:
            """Store the new ones among ``rows`` (distinct states as uint32 rows), number and check them in order; return them."""
            nonlocal store, total
            fps = fingerprints(rows)
            if store is None:
                store = RunStore(exact, rows.shape[1])
            new = np.flatnonzero(store.new_mask(fps, rows))
            capped = self.max_states is not None and total + len(new) > self.max_states
            if capped:
                assert self.max_states is not None
                new = new[: self.max_states - total]
            nfresh = 0
            for key in rows[new].tolist():
                visit(tuple(key), total + nfresh)
                nfresh += 1
                if stop:
                    break
            kept = new[:nfresh]
            took = kept.tolist()
            parent.extend([par[j] for j in took])
            pos_of.extend([pos[j] for j in took])
            total += nfresh
            store.add(fps[kept], rows[kept])
            if capped and not stop:
                raise _Capped()
            return rows[kept]

        transitions = 0
        depth = 0
        pool = None
        # A level is kept as one array of uint32 rows (40 bytes a state for 3 servers, not a tuple's ~140), mapped
        # from a file (checker.store.spill): it is read a chunk at a time, once.
        frontier = np.zeros((0, 0), dtype=np.uint32)
        try:
            if self.workers > 1:
                from raft_check.parallel import WorkerPool

                # Forked before a checkpoint's arrays are read: a child shares its parent's pages at the fork, and pins
                # those the parent later frees or changes -- gigabytes of a resumed store that the workers never read.
                pool = WorkerPool(self, self.workers)
            if snap is not None:
                # Resume: the store, the level to expand, the path records and the counters as they were saved.
                assert self.checkpoint is not None
                checkpoint.load_arrays(self.checkpoint, snap)
                store = RunStore(snap.exact, snap.width)
                store.fps, store.rows, store.size = snap.fps, snap.rows, snap.total
                roots.extend(snap.roots)
                parent.extend(snap.parent)
                pos_of.extend(snap.pos)
                frontier, counts, transitions, depth = snap.frontier, snap.counts, snap.transitions, snap.depth
                idx, total, stats.depth = snap.idx, snap.total, snap.stats_depth
                witness_idx.update(snap.witness_idx)
                for name in snap.witness_idx:
                    pending.pop(name, None)
                by_name = {p.name: p for p in self.props}
                for name, (at, t_raw) in snap.found.items():
                    record(by_name[name], at, t_raw)
                del snap
            else:
                inits = list(dict.fromkeys(canon(fr.encode(s0)) for s0 in model.init_states()))
                roots.extend(inits)
                frontier = admit(np.array(inits, dtype=np.uint32), [-1] * len(inits), [0] * len(inits))
                del roots[len(frontier):]
                idx = 0
            last_save = time.perf_counter()
            while len(frontier) and not stop:
                next_frontier: Spill | None = None
                queued = 0
                chunks = pool.level(frontier, idx, CHUNK) if pool is not None else self._expand_level(frontier, idx, action_checks)
                for lo, keys, cpar, cpos, failures, fired in chunks:
                    transitions += sum(fired)
                    for k, f in enumerate(fired):
                        counts[k] += f
                    if len(keys):
                        fresh = admit(keys, cpar, cpos)
                        if len(fresh):
                            stats.depth = depth + 1
                            if next_frontier is None:
                                next_frontier = Spill(fresh.shape[1])
                            next_frontier.add(fresh)
                            queued += len(fresh)
                    for a, at, t_raw in failures:
                        if not stop and action_checks[a][1].name in open_actions:
                            record(action_checks[a][1], at, t_raw)
                    if stop:
                        break
                    report(total, transitions, depth + 1, max(0, len(frontier) - lo - CHUNK) + queued)
                idx += len(frontier)
                del frontier, chunks
                frontier = next_frontier.close() if next_frontier is not None else np.zeros((0, 0), dtype=np.uint32)
                del next_frontier
                depth += 1
                if self.checkpoint is not None and not stop and len(frontier) and store is not None \
                        and time.perf_counter() - last_save >= self.checkpoint_interval:
                    from checker import checkpoint

                    checkpoint.save(self.checkpoint, checkpoint.Snapshot(
                        key=self.checkpoint_key, tables=fr.tables(), roots=list(roots), frontier=frontier, parent=parent, pos=pos_of,
                        exact=exact, width=store.width, fps=store.fps, rows=store.rows, counts=counts, transitions=transitions,
                        depth=depth, idx=idx, total=total, stats_depth=stats.depth, witness_idx=witness_idx,
                        elapsed=time.perf_counter() - start, found={nm: (at, t) for nm, (_, at, t) in found.items()}))
                    self.saved_checkpoints += 1
                    last_save = time.perf_counter()
        except _Capped:
            status, reason = INCOMPLETE, f"state cap reached (--max-states {self.max_states})"
        except KeyboardInterrupt:
            status, reason = INCOMPLETE, "interrupted"
        finally:
            if pool is not None:
                pool.close()

        stats.transitions = transitions
        stats.store = self.store
        self._store = store
        # The visited set plus the path record (parent index and successor position per state).
        stats.store_bytes = (store.nbytes if store is not None else 0) + len(parent) * parent.itemsize + len(pos_of) * pos_of.itemsize
        stats.collision_probability = 0.0 if exact else collision_probability(total)
        return self._conclude(stats, counts, total, start, status, reason, list(found.values()), witness_idx, list(pending))

    def _expand_level(self, frontier: Any, base: int, action_checks: list[tuple[_ActionCheck, Property[State, Action]]]
                      ) -> Iterator[Chunk]:
        """Expand a level here, CHUNK frontier states at a time (``raft_check.parallel`` does the same in worker processes)."""
        import numpy as np

        for lo in range(0, len(frontier), CHUNK):
            cand, cpar, cpos, failures, fired = self.expand_chunk(frontier[lo : lo + CHUNK].tolist(), base + lo, [c for c, _ in action_checks])
            yield lo, np.array(cand, dtype=np.uint32).reshape(len(cand), self.fr.width), cpar, cpos, failures, fired

    def expand_chunk(self, rows: list[list[int]], idx: int, action_checks: Sequence[_ActionCheck]
                     ) -> tuple[list[Flat], list[int], list[int], list[tuple[int, int, Flat]], list[int]]:
        """Every transition from ``rows`` (frontier states numbered from ``idx``), canonicalised and de-duplicated.

        Returns the distinct canonical successors (self-loops dropped) in order
        of first appearance, each one's parent index and position among its
        parent's successors, the failing action properties as (index in
        ``action_checks``, parent index, raw successor), and the transitions
        fired per action index.  Without ``keep_going`` that is the first
        failure only, and the chunk stops there; with it, the first failure of
        each action property in the chunk, and the chunk is expanded in full.
        """
        fr = self.fr
        n = fr.n
        successors = fr.successors
        fired = [0] * (len(fr.acts) + 1)
        cand: dict[Flat, int] = {}
        cpar: list[int] = []
        cpos: list[int] = []
        # The action properties all at once: while none reads more than the server and committed codes (each
        # _ActionCheck finds that out itself), one memo maps those codes of both states to the first that fails.
        pair_ok = self.pair_ok
        slow = any(chk.full for chk in action_checks)
        # FastRaft.canon, inlined: the canonical servers are memoised on the server codes.
        symmetry = self.symmetry
        canon_memo, canon_servers, least_slots = fr.canon_memo, fr.canon_servers, fr.least_slots
        def first_failing(s: Flat, t: Flat, k: int, key: tuple[Flat, Flat, int, int]) -> int:
            """The index of the first action property that fails on s -> t by action k, or -1 (memoised)."""
            nonlocal slow
            failed = None if slow else pair_ok.get(key)
            if failed is None:
                failed = -1
                for a, chk in enumerate(action_checks):
                    if not chk(s, t, k):
                        failed = a
                        break
                if not slow:
                    slow = any(chk.full for chk in action_checks)
                    if slow:
                        pair_ok.clear()
                    else:
                        pair_ok[key] = failed
            return failed

        keep_going = self.keep_going
        stops: dict[int, tuple[int, int, Flat]] = {}

        def note(s: Flat, t: Flat, k: int, at: int) -> None:
            """keep_going: the first failure in this chunk of each action property that fails on s -> t."""
            for a, chk in enumerate(action_checks):
                if a not in stops and not chk(s, t, k):
                    stops[a] = (a, at, t)

        for row in rows:
            s = tuple(row)
            ss, sc = s[:n], s[-1]
            stutter = -2  # first_failing on a step that changes nothing (FastRaft.successors returns s itself)
            for k_pos, (k, t) in enumerate(successors(s)):
                fired[k] += 1
                if t is s:
                    if action_checks:
                        # Memoised, the answer is the same for every such step of s; a property that reads messages
                        # or the action is asked each time.
                        failed = stutter if stutter > -2 and not slow else first_failing(s, t, k, (ss, ss, sc, sc))
                        stutter = failed
                        if failed >= 0:
                            if not keep_going:
                                return list(cand), cpar, cpos, [(failed, idx, t)], fired
                            note(s, t, k, idx)
                    continue
                tn = t[:n]
                if action_checks:
                    failed = pair_ok.get((ss, tn, sc, t[-1]), -2) if not slow else -2
                    if failed == -2:
                        failed = first_failing(s, t, k, (ss, tn, sc, t[-1]))
                    if failed >= 0:
                        if not keep_going:
                            return list(cand), cpar, cpos, [(failed, idx, t)], fired
                        note(s, t, k, idx)
                if t == s:
                    continue
                if symmetry:
                    got = canon_memo.get(tn)
                    cs, getters = got if got is not None else canon_servers(tn)
                    c = cs + (getters[0](t) if len(getters) == 1 else least_slots(cs, getters, t))
                else:
                    c = t
                size = len(cpar)
                if cand.setdefault(c, size) == size:  # c is new: earlier ones have smaller numbers
                    cpar.append(idx)
                    cpos.append(k_pos)
            idx += 1
        return list(cand), cpar, cpos, list(stops.values()), fired

    def new_action_checks(self) -> list[_ActionCheck]:
        """Fresh memoised checks of the action properties (each worker process of ``raft_check.parallel`` builds its own)."""
        return [_ActionCheck(p, self.fr, self._action_of) for p in self.props if p.kind is Kind.ACTION]

    def _action_of(self, s: Flat, k: int, t: Flat) -> Action:
        """The readable action that took ``s`` to ``t`` (only needed by action properties that read the action)."""
        fr = self.fr
        if k < len(fr.acts):
            return fr.acts[k]
        st = fr.decode(s)
        want = fr.decode(t)
        for m in st.messages:
            a = Action("HandleRPC", (m,))
            if self.model.next_state(st, a) == want:
                return a
        raise AssertionError("no HandleRPC step matches the transition")

