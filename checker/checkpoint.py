"""Checkpoints of the fast engine's batched search (``check --checkpoint DIR``).

A search that takes hours can be stopped and resumed.  At the end of a BFS
level (at most once per interval) the search saves everything it needs to go
on: the visited-state store, the next level, the path records (parent index
and successor position per state), the interning tables that give the codes
in all of these their meaning, and the counters.  Memo tables are not saved:
they are recomputed on demand.  A resumed search is the same search as one
that was never stopped -- same states, numbering, counts and trace -- and its
time counts both parts.

Files in DIR: ``meta.pickle`` (tables, counters, the search's key) and one
``.npy`` file per array, written into ``DIR/partial`` and then renamed to
``DIR/saved``, so a checkpoint is either complete or absent.
"""

from __future__ import annotations

import pickle
import shutil
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
"""Bumped whenever the layout changes; an older checkpoint is refused, not misread."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed by this search."""


@dataclass
class Snapshot:
    """The batched search at the start of a level."""

    key: str
    tables: dict[str, list[Any]]
    roots: list[tuple[int, ...]]
    frontier: Any
    parent: array  # type: ignore[type-arg]
    pos: array  # type: ignore[type-arg]
    exact: bool
    width: int
    fps: list[Any]
    rows: list[Any]
    counts: list[int]
    transitions: int
    depth: int
    idx: int
    total: int
    stats_depth: int
    witness_idx: dict[str, int]
    elapsed: float
    # check --continue: each property violated so far -> (state index, raw bad successor of an action property or None)
    found: dict[str, tuple[int, tuple[int, ...] | None]] = field(default_factory=dict)


ARRAYS = ("frontier", "parent", "pos")


def save(directory: Path, snap: Snapshot) -> None:
    """Write ``snap`` into ``directory``, replacing any earlier checkpoint there only once it is complete."""
    import numpy as np

    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    np.save(partial / "frontier.npy", snap.frontier)
    np.save(partial / "parent.npy", np.frombuffer(snap.parent, dtype=np.int64) if len(snap.parent) else np.zeros(0, np.int64))
    np.save(partial / "pos.npy", np.frombuffer(snap.pos, dtype=np.uint32) if len(snap.pos) else np.zeros(0, np.uint32))
    for k, a in enumerate(snap.fps):
        np.save(partial / f"fps{k}.npy", a)
    for k, a in enumerate(snap.rows):
        np.save(partial / f"rows{k}.npy", a)
    meta = {name: getattr(snap, name) for name in Snapshot.__dataclass_fields__ if name not in (*ARRAYS, "fps", "rows")}
    meta["runs"] = len(snap.fps)
    meta["format"] = FORMAT
    with open(partial / "meta.pickle", "wb") as f:
        pickle.dump(meta, f, protocol=pickle.HIGHEST_PROTOCOL)
    saved, old = directory / "saved", directory / "old"
    if saved.exists():
        saved.rename(old)
    partial.rename(saved)
    if old.exists():
        shutil.rmtree(old)


def describe(directory: Path) -> str | None:
    """A line about the checkpoint in ``directory`` (None if there is none)."""
    meta = _meta(directory)
    if meta is None:
        return None
    return (f"depth {meta['depth']}, {meta['total']:,} states stored, {meta['transitions']:,} transitions, "
            f"{meta['elapsed']:.0f} s of search")


def _meta(directory: Path) -> dict[str, Any] | None:
    path = directory / "saved" / "meta.pickle"
    if not path.exists():
        return None
    with open(path, "rb") as f:
        meta: dict[str, Any] = pickle.load(f)  # our own file, in a directory the user named
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{directory} holds a checkpoint in another format ({meta.get('format')}, this checker writes {FORMAT}); "
                         "delete it or use another directory")
    return meta


def load(directory: Path, key: str) -> Snapshot | None:
    """The checkpoint in ``directory`` without its arrays (None if there is none); CheckpointError if it was saved by a different search.

    :func:`load_arrays` reads the arrays: a search forks its worker processes
    in between, so that they do not inherit gigabytes they never use.
    """
    meta = _meta(directory)
    if meta is None:
        return None
    if meta["key"] != key:
        raise CheckpointError(f"{directory} holds a checkpoint of another search:\n  saved: {meta['key']}\n  this:  {key}\n"
                         "resume with the same model, bounds, properties and store, or use another directory")
    meta.pop("format")
    runs = meta.pop("runs")
    return Snapshot(frontier=None, parent=array("q"), pos=array("I"), fps=[None] * runs, rows=[], **meta)


def load_arrays(directory: Path, snap: Snapshot) -> None:
    """Read the arrays of the checkpoint in ``directory`` into ``snap`` (as returned by :func:`load`).

    The level to expand and the store's rows are mapped from the files, not
    read: they are used a part at a time, and mapped pages can be evicted
    (see :mod:`checker.store`).  A later save unlinks the files; the mappings
    keep them alive until they are dropped.
    """
    import numpy as np

    saved = directory / "saved"
    runs = len(snap.fps)
    snap.parent.frombytes(np.load(saved / "parent.npy").tobytes())
    snap.pos.frombytes(np.load(saved / "pos.npy").astype(np.uint32).tobytes())
    snap.fps = [np.load(saved / f"fps{k}.npy") for k in range(runs)]
    snap.rows = [np.load(saved / f"rows{k}.npy", mmap_mode="r") for k in range(runs)] if snap.exact else []
    snap.frontier = np.load(saved / "frontier.npy", mmap_mode="r")
