"""Checkpoints of the compiled engine's search (``check --checkpoint DIR``, ``checker/compiled.py``).

A search that takes hours can be stopped and resumed.  At the end of a BFS
level (at most once per interval) the search saves everything it needs to go
on: the visited-state store, the next level, the path records (parent index
and successor position per state), the interning tables that give the codes
in all of these their meaning, and the counters.  Memo tables are not saved:
they are recomputed on demand.  A resumed search is the same search as one
that was never stopped -- same states, numbering, counts and trace -- and its
time counts both parts.

Files in DIR/saved: ``meta.pickle`` (tables, counters, the search's key), one
``.npy`` file per array, and ``manifest.json``, which records the format and
the size and SHA-256 of every other file (and a digest of itself).  A save is
written into ``DIR/partial``, flushed to disk, and renamed to ``DIR/saved``,
so a checkpoint is either complete or absent.

Resuming verifies the manifest and every file's size and checksum before it
reads anything else (and before anything is unpickled), and then checks that
the arrays agree with the counters.  A damaged checkpoint is refused with a
:class:`CheckpointError` that names the file and says what to do; it is never
resumed, so damage cannot turn into a wrong verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

FORMAT = 2
"""Bumped whenever the layout changes; an older checkpoint is refused, not misread."""

MANIFEST = "manifest.json"
MIN_FREE_BYTES = 64 << 20
"""``--checkpoint`` is refused up front when its device has less room than this."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed by this search (or a folder a checkpoint cannot be saved in)."""


class _Hashing:
    """A write-only file that hashes what passes through it (np.save writes through ``write``)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def write(self, b: Any) -> int:
        mv = memoryview(b).cast("B")
        self.h.update(mv)
        self.n += len(mv)
        return self.f.write(mv)


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_folder(directory: Path) -> None:
    """Fail early (CheckpointError) if checkpoints could not be saved in ``directory``: not a folder, not writable, or
    a device with less than MIN_FREE_BYTES left.  Creates the folder if it is missing (it is needed anyway)."""
    if directory.exists() and not directory.is_dir():
        raise CheckpointError(f"--checkpoint {directory}: not a folder; name a folder (it is created if missing)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise CheckpointError(f"--checkpoint {directory}: cannot write there ({e.strerror or e}); name a writable folder") from None
    free = shutil.disk_usage(directory).free
    if free < MIN_FREE_BYTES:
        raise CheckpointError(f"--checkpoint {directory}: only {free >> 20} MiB left on its device (a save needs at least "
                              f"{MIN_FREE_BYTES >> 20} MiB, and gigabytes on long runs); free some room or name a folder on another disk")


def _save(directory: Path, fill: Callable[[Callable[[str, Any], None], Callable[[str, Callable[[Any], Any]], None]], dict[str, Any]]) -> None:
    """Write a checkpoint into ``directory/partial`` by ``fill(save_array, write)`` (which returns the manifest's body
    without its file list), then make it ``directory/saved`` (see the module's docstring)."""
    import numpy as np

    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    files: dict[str, dict[str, Any]] = {}

    def write(name: str, put: Callable[[Any], Any]) -> None:
        with open(partial / name, "wb") as raw:
            out = _Hashing(raw)
            put(out)
            raw.flush()
            os.fsync(raw.fileno())
        files[name] = {"bytes": out.n, "sha256": out.h.hexdigest()}

    def save_array(name: str, a: Any) -> None:
        write(name, lambda f: np.save(f, a))

    body = {**fill(save_array, write), "files": files}
    with open(partial / MANIFEST, "w") as mf:
        json.dump({**body, "digest": _digest(body)}, mf, indent=1, sort_keys=True)
        mf.flush()
        os.fsync(mf.fileno())
    saved, old = directory / "saved", directory / "old"
    if old.exists() and saved.exists():
        shutil.rmtree(old)
    if saved.exists():
        saved.rename(old)
    partial.rename(saved)
    if old.exists():
        shutil.rmtree(old)
    try:  # make the renames durable
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    _verified[str(saved)] = _stamp(saved, sorted(files))  # hashed as written: describing it now reads nothing again


def save_engine(directory: Path, engine: str, key: str, meta: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Save a checkpoint of ``engine``: ``meta`` (pickled; it must hold
    ``depth``, ``total``, ``transitions`` and ``elapsed`` for :func:`describe`) and named numpy ``arrays``, with the
    same manifest, checksums and atomic replacement."""

    def fill(save_array: Callable[[str, Any], None], write: Callable[[str, Callable[[Any], Any]], None]) -> dict[str, Any]:
        for name, a in arrays.items():
            save_array(f"{name}.npy", a)
        body = {**meta, "format": FORMAT, "key": key, "engine": engine}
        write("meta.pickle", lambda f: f.write(pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL)))
        return {"format": FORMAT, "key": key, "engine": engine, "arrays": sorted(arrays)}

    _save(directory, fill)


def load_engine(directory: Path, engine: str, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The meta and arrays of the checkpoint of ``engine`` in ``directory`` (None if there is none), verified;
    CheckpointError if it is damaged, of another engine or of another search."""
    import numpy as np

    meta = _meta(directory, engine)
    if meta is None:
        return None
    if meta.get("key") != key:
        raise CheckpointError(f"{directory} holds a checkpoint of another search:\n  saved: {meta.get('key')}\n  this:  {key}\n"
                              "resume with the same model, bounds, properties and store, or use another directory")
    manifest = verify(directory, engine)
    assert manifest is not None
    arrays = {}
    for name in manifest["arrays"]:
        try:
            arrays[name] = np.load(directory / "saved" / f"{name}.npy", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise _damaged(directory, f"saved/{name}.npy cannot be read ({e})") from None
    return meta, arrays


def damaged(directory: Path, what: str) -> CheckpointError:
    """The error for a checkpoint whose verified files do not fit together (``what``: how)."""
    return _damaged(directory, what)


def _damaged(directory: Path, what: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {directory} is damaged: {what}; it cannot be resumed. Delete {directory} "
                           "(or name another --checkpoint folder) to start the search afresh")


_verified: dict[str, tuple[tuple[str, int, int], ...]] = {}
"""Folders whose checksums were verified, with each file's (name, size, mtime): a file changed since is verified again."""


def _stamp(saved: Path, names: list[str]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for name in names:
        st = (saved / name).stat()
        out.append((name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _saved_dir(directory: Path) -> Path | None:
    saved, old = directory / "saved", directory / "old"
    if not saved.exists() and old.exists():
        # A save stopped between its two renames: the previous checkpoint is complete, in "old".
        old.rename(saved)
    return saved if saved.exists() else None


def verify(directory: Path, engine: str | None = None) -> dict[str, Any] | None:
    """The manifest of the checkpoint in ``directory`` after checking every file against it (None if there is none).

    Raises CheckpointError, naming the file, for a damaged checkpoint, one of another format, or one saved by another
    engine than ``engine`` (None: any engine).
    """
    saved = _saved_dir(directory)
    if saved is None:
        return None
    try:
        manifest = json.loads((saved / MANIFEST).read_bytes())
    except FileNotFoundError:
        if (saved / "meta.pickle").exists():
            raise CheckpointError(f"{directory} holds a checkpoint in another format (this checker writes {FORMAT}, with a "
                                  f"{MANIFEST}); delete it or use another directory") from None
        raise _damaged(directory, f"saved/{MANIFEST} is missing") from None
    except (OSError, ValueError) as e:
        raise _damaged(directory, f"saved/{MANIFEST} is unreadable ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise _damaged(directory, f"saved/{MANIFEST} is not a checkpoint manifest")
    body = {k: v for k, v in manifest.items() if k != "digest"}
    if manifest.get("digest") != _digest(body):
        raise _damaged(directory, f"saved/{MANIFEST} does not match its own digest")
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{directory} holds a checkpoint in another format ({manifest.get('format')}, this checker writes "
                              f"{FORMAT}); delete it or use another directory")
    files: dict[str, Any] = manifest["files"]
    saved_by = manifest.get("engine", "fast")  # the first-generation fast engine wrote no engine name
    if saved_by == "fast":
        raise CheckpointError(f"{directory} holds a checkpoint of the first-generation fast engine, which this version no "
                              "longer has and cannot resume: delete it or use another directory (the search starts afresh)")
    if engine is not None and saved_by != engine:
        raise CheckpointError(f"{directory} holds a checkpoint of the {saved_by} engine, and this search runs on the {engine} "
                              f"engine: resume it with --engine {saved_by}, or delete it or use another directory")
    names_ = manifest.get("arrays")
    if not isinstance(names_, list) or not all(isinstance(x, str) for x in names_):
        raise _damaged(directory, f"saved/{MANIFEST} has no list of arrays")
    expected = {"meta.pickle", *(f"{x}.npy" for x in names_)}
    if set(files) != expected:
        raise _damaged(directory, f"saved/{MANIFEST} lists {sorted(files)}, expected {sorted(expected)}")
    names = sorted(files)
    for name in names:
        if not (saved / name).is_file():
            raise _damaged(directory, f"saved/{name} is missing")
    stamp = _stamp(saved, names)
    if _verified.get(str(saved)) == stamp:
        return manifest
    for name in names:
        want = files[name]
        size = (saved / name).stat().st_size
        if size != want.get("bytes"):
            raise _damaged(directory, f"saved/{name} has {size:,} bytes, {want.get('bytes')} were saved")
        h = hashlib.sha256()
        with open(saved / name, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        if h.hexdigest() != want.get("sha256"):
            raise _damaged(directory, f"saved/{name} does not match its SHA-256 checksum")
    _verified[str(saved)] = stamp
    return manifest


def describe(directory: Path) -> str | None:
    """A line about the checkpoint in ``directory`` (None if there is none); CheckpointError if it is damaged."""
    meta = _meta(directory)
    if meta is None:
        return None
    return (f"depth {meta['depth']}, {meta['total']:,} states stored, {meta['transitions']:,} transitions, "
            f"{meta['elapsed']:.0f} s of search")


def _meta(directory: Path, engine: str | None = None) -> dict[str, Any] | None:
    if verify(directory, engine) is None:
        return None
    path = directory / "saved" / "meta.pickle"
    try:
        with open(path, "rb") as f:
            meta: dict[str, Any] = pickle.load(f)  # checksum-verified above: the bytes this checker saved
    except Exception as e:  # verified bytes that do not unpickle: written by other code
        raise _damaged(directory, f"saved/meta.pickle cannot be read ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{directory} holds a checkpoint in another format; delete it or use another directory")
    return meta
