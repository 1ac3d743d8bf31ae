"""The compiled engine's visited-state stores (checker/pins_store.py) against Python sets and dicts.

Random rows (values from 1 to 32 bits wide, so packed widths grow and rows
are repacked), regrowth of every table, and path recovery: parent chains
(memory, compact) and the fp store's rebuilt paths, over a synthetic graph
searched breadth first the way the kernel commits states.  The engine-level
differential tests of the stores are in tests/test_compiled.py.
"""

from __future__ import annotations

import gc
import random
from pathlib import Path

import numpy as np
import pytest

from checker import pins_store as ps
from checker.pins_store import Store

KINDS = list(ps.KINDS)


def rand_vec(rng: random.Random, w: int) -> tuple[int, ...]:
    return tuple(rng.randrange(1 << rng.choice([1, 3, 8, 12, 17, 24, 32])) for _ in range(w))


@pytest.mark.parametrize("kind", KINDS)
def test_random_rows_against_a_dict(kind: str) -> None:
    rng = random.Random(kind)
    store = Store(kind, 6)
    index: dict[tuple[int, ...], int] = {}
    for _ in range(12_000):
        v = rng.choice(list(index)) if index and rng.random() < 0.3 else rand_vec(rng, 6)
        got = store.insert(v)
        if v in index:
            assert got == -1
        else:
            assert got == len(index)
            index[v] = got
    assert store.n == len(index)
    assert all(store.contains(v) for v in index)
    absent = [v for v in (rand_vec(rng, 6) for _ in range(2000)) if v not in index]
    assert not any(store.contains(v) for v in absent)
    if kind != "fp":
        assert list(store.vectors()) == list(index)
        assert all(store.row(i) == v for v, i in index.items())
    if kind == "compact":
        assert store.repacks > 0 and max(store.widths) == 32  # a 32-bit value was met


def test_compact_widens_and_repacks_in_place() -> None:
    store = Store("compact", 4)
    small = [(a, b, a ^ b, 1) for a in range(16) for b in range(16)]
    for v in small:
        store.insert(v)
    assert store.widths[3] == 1 and store.widths[0] <= 5
    before = store.repacks
    big = (3, 1 << 20, 7, 0)
    assert store.insert(big) == len(small)
    assert store.repacks == before + 1 and store.widths[1] == 22  # one bit more than 2**20 needs
    huge = (0, 0, 0, 2**32 - 1)
    assert store.insert(huge) == len(small) + 1 and store.widths[3] == 32
    assert list(store.vectors()) == [*small, big, huge]
    assert store.insert(big) == -1 and store.insert((3, 1 << 20, 7, 1)) == len(small) + 2
    assert store.bits == sum(store.widths)
    with pytest.raises(ValueError, match="32 bits"):
        store.insert((2**32, 0, 0, 0))


def test_compact_bytes_per_state() -> None:
    """Ten slots of at most 12 bits: the store's arrays stay within issue #14's 40 bytes a state, the path included."""
    rng = random.Random(3)
    store = Store("compact", 10)
    for _ in range(60_000):
        store.insert(tuple(rng.randrange(1 << 12) for _ in range(10)))
    assert store.nbytes / store.n <= 40
    assert store.bits <= 10 * 13


def test_fp_table_regrows_in_place_and_stays_small() -> None:
    rng = random.Random(4)
    store = Store("fp", 10)
    vs = {tuple(rng.randrange(1 << 30) for _ in range(10)) for _ in range(70_000)}
    seg0 = int(store.sctl[ps.SEGCAP])
    for v in vs:
        store.insert(v)
    assert int(store.sctl[ps.SEGCAP]) > seg0  # regrown
    assert store.n == len(vs) and all(store.contains(v) for v in vs)
    assert int(store.segn.sum()) == store.n
    assert store.nbytes / store.n <= 16


def test_memory_store_regrows() -> None:
    rng = random.Random(5)
    store = Store("memory", 3, cap=16)
    vs = list(dict.fromkeys(tuple(rng.randrange(50) for _ in range(3)) for _ in range(20_000)))
    for v in vs:
        store.insert(v)
    assert list(store.vectors()) == vs and len(store.tab) >= 2 * len(vs)


def successors(v: tuple[int, ...]) -> list[tuple[int, ...]]:
    """A synthetic graph: up to 6 successors, some repeated, some equal to v, values growing with depth."""
    h = hash(v) & 0xFFFFFFFF
    out = []
    for j in range(h % 7):
        u = list(v)
        u[j % len(v)] = (u[j % len(v)] * 3 + j + (h >> j) % 5) % 5000
        out.append(tuple(u))
    return out


def bfs(store: Store, roots: list[tuple[int, ...]], limit: int) -> dict[int, tuple[int, int]]:
    """Breadth-first search of the synthetic graph into ``store``, committing as the kernel does (each expanded state's
    new successors in order, with their positions); the true (parent, position) of every stored state."""
    truth: dict[int, tuple[int, int]] = {}
    for r in roots:
        if store.insert(r) >= 0:
            truth[store.n - 1] = (-1, 0)
    lo, hi = 0, store.n
    while lo < hi and store.n < limit:
        for x in range(lo, hi):
            v = store.row(x)
            for j, u in enumerate(successors(v)):
                i = store.insert(u, x, j)
                if i >= 0:
                    truth[i] = (x, j)
        lo, hi = hi, store.n
        store.level(lo)
    return truth


@pytest.mark.parametrize("kind", KINDS)
def test_paths_are_recovered(kind: str) -> None:
    store = Store(kind, 4)
    roots = [(1, 2, 3, 4), (4, 3, 2, 1), (1, 2, 3, 4)]
    truth = bfs(store, roots, 30_000)
    assert store.n == len(truth) > 5000
    rng = random.Random(6)
    for idx in [0, 1, store.n - 1, *rng.sample(range(store.n), 40)]:
        chain = [idx]
        while truth[chain[-1]][0] >= 0:
            chain.append(truth[chain[-1]][0])
        chain.reverse()
        assert store.chain(idx) == chain
        path = store.path_vectors(idx, successors)
        assert len(path) == len(chain)
        assert path[0] in roots
        for a, b, i in zip(path, path[1:], chain[1:], strict=False):
            assert b == successors(a)[truth[i][1]]
        if kind != "fp":
            assert path == [store.row(i) for i in chain]


def test_fp_path_rebuild_checks_what_it_rebuilds() -> None:
    """A successor function that disagrees with the recorded positions is caught, not turned into a wrong trace."""
    store = Store("fp", 4)
    bfs(store, [(1, 2, 3, 4)], 2000)
    deep = store.n - 1
    assert len(store.chain(deep)) > 2

    def shuffled(v: tuple[int, ...]) -> list[tuple[int, ...]]:
        return [tuple(x + 7919 for x in u) for u in successors(v)]

    with pytest.raises(RuntimeError, match="fp store"):
        store.path_vectors(deep, shuffled)


def test_fp_refuses_more_successors_than_a_byte_counts() -> None:
    store = Store("fp", 2)
    store.insert((0, 0))
    ns = ps.MAX_SUCC + 1
    cands = np.zeros((ns, 2), dtype=np.int64)
    cands[:, 0] = np.arange(ns) + 1
    hs = np.array([ps.fingerprint(c, 2) for c in cands], dtype=np.int64)
    assert not ps.st_room_batch(store.tup(), store.n, ns, cands, hs, ns, ns)  # a state with 256 successors
    with pytest.raises(ValueError, match="more than 255 successors"):
        store.ensure(ns)
    store.ensure(ns)  # (the refusal is told once: the flag is cleared)
    assert ps.st_room_batch(store.tup(), store.n, ns, cands, hs, ns, ps.MAX_SUCC)


def test_fingerprints_spread() -> None:
    """Fingerprints of nearby vectors are distinct and use both halves of the word (the table reads both)."""
    fps = {ps.fingerprint(np.array([a, b, 0], dtype=np.int64), 3) for a in range(300) for b in range(300)}
    assert len(fps) == 90_000 and 0 not in fps
    assert len({(f & (2**64 - 1)) >> 58 for f in fps}) == ps.NSEG and len({f & 0xFF for f in fps}) == 256


def _smaps_field(addr: int, field: str) -> list[str]:
    """The values of ``field`` (e.g. ``VmFlags``, ``AnonHugePages``) of this process's mapping that holds ``addr``
    (/proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as f:
        lines = f.read().splitlines()
    for line in lines:
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            lo, hi = (int(x, 16) for x in head.split("-"))
            inside = lo <= addr < hi
        elif inside and head == f"{field}:":
            return line.split()[1:]
    return []


def _huge_pages_on() -> bool:
    """Whether this machine's kernel gives transparent huge pages (to advised memory at least)."""
    try:
        return "[never]" not in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # an error unmapping, at the end
def test_grown_arrays_get_huge_pages() -> None:
    """A large store array grown by ``_resized`` is in memory advised huge before it was touched, so that the pages
    the search writes are huge ones (``AnonHugePages``, not only the advice ``hg``: numpy's resize zero-filled the
    new rows before they could be advised, and the search got no huge page at all); it keeps its contents as it
    grows, and the new rows hold the fill.  Arrays read in order are mapped but not advised; small ones stay ordinary
    numpy arrays."""
    if not _huge_pages_on():
        pytest.skip("no transparent huge pages on this machine (or they are off)")
    a = ps._resized(np.arange(16, dtype=np.uint32), 16 << 20, ps.EMPTY, huge=True)
    assert a[:16].tolist() == list(range(16)) and int(a[-1]) == int(ps.EMPTY)
    assert "hg" in _smaps_field(a.ctypes.data, "VmFlags")
    assert int(_smaps_field(a.ctypes.data, "AnonHugePages")[0]) > 0
    b = ps._resized(a, 48 << 20, huge=True)  # grows the same mapping: the new rows are zero pages, the old ones keep their values
    assert ps._mapping_of(b) is not None and b[:16].tolist() == list(range(16)) and int(b[(16 << 20) - 1]) == int(ps.EMPTY)
    assert int(b[-1]) == 0
    b[:] = 3
    assert int(_smaps_field(b.ctypes.data, "AnonHugePages")[0]) >= 64 << 10  # kB: at least a third of the 192 MiB
    # A small one is an ordinary numpy array: not in a mapping of the store's, the only memory the store advises.  Its
    # VmFlags are not the store's to decide: numpy advises the page-aligned inside of each large block it allocates
    # huge, a block from the heap keeps that advice once freed, and small arrays are then made in it (after one 8 MiB
    # array was freed, 1,480 of 2,000 arrays of 4 KiB here; so in the full suite).
    small = ps._resized(np.zeros(16, dtype=np.uint32), 1024, huge=True)
    assert ps._mapping_of(small) is None and small.flags.owndata and small.shape == (1024,)
    in_order = ps._resized(np.ones(16, dtype=np.uint32), 16 << 20)  # a queue: mapped, not advised huge
    assert ps._mapping_of(in_order) is not None and "hg" not in _smaps_field(in_order.ctypes.data, "VmFlags")
    assert int(in_order[15]) == 1 and int(in_order[-1]) == 0
    held = ps._mapping_of(b)
    assert held is not None
    del a, b, in_order
    gc.collect()
    assert held.addr and held.size == 48 << 22  # held by the test alone now; its own release is checked by the marker


def test_adopted_arrays_live_where_grown_ones_do() -> None:
    """A resumed checkpoint's store arrays (``adopted``): from 4 MiB in memory of their own, advised huge where asked
    (the fp table, the compact rows), which a later growth extends in place; smaller ones a plain copy."""
    big = np.arange(1 << 20, dtype=np.int64)  # 8 MiB
    for huge in (True, False):
        a = ps.adopted(big, huge)
        owner = ps._mapping_of(a)
        assert owner is not None and owner.huge == huge and np.array_equal(a, big)
        if _huge_pages_on():
            assert ("hg" in _smaps_field(a.ctypes.data, "VmFlags")) == huge
        grown = ps._resized(a, 3 << 20, huge=huge)
        assert ps._mapping_of(grown) is owner and np.array_equal(grown[: 1 << 20], big)
    rows = ps.adopted(big.reshape(-1, 4))
    assert rows.shape == (1 << 18, 4) and ps._mapping_of(rows) is not None and np.array_equal(rows.ravel(), big)
    small = np.arange(16, dtype=np.uint32)
    copy = ps.adopted(small, True)
    assert ps._mapping_of(copy) is None and np.array_equal(copy, small) and copy is not small
    copy[0] = 7
    assert small[0] == 0


@pytest.mark.parametrize("kind", ps.KINDS)
def test_a_store_grows_its_randomly_probed_arrays_huge(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a store makes room, the arrays its probes read at random (``HUGE_ARRAYS``: the compact rows, the fp table)
    are grown into memory advised huge, and the others into memory of their own that is not ("large" lowered to
    1 KiB here)."""
    monkeypatch.setattr(ps, "_HUGE_MIN", 1 << 10)
    st = ps.Store(kind, 4, cap=2)
    st.ensure(100_000)
    grown = {a: ps._mapping_of(getattr(st, a)) for a in ("rows", "parent", "words", "fptab", "kids", "pos")
             if getattr(st, a).nbytes >= 1 << 12}
    assert grown and all(m is not None and m.huge == (a in ps.HUGE_ARRAYS) for a, m in grown.items()), grown
    assert kind == "memory" or ps.HUGE_ARRAYS & set(grown)
