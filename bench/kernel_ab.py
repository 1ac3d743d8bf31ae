"""A/B of the compiled kernel's ``compute`` against another commit's, in one process.

``python bench/kernel_ab.py [--ref REF] [--servers N] [--max-term T] [--max-log L] [--tweak NAME] [--states S]
[--expand E] [--reps R]``.

This machine's speed drifts by as much as half from one minute to the next, more than most kernel changes gain, so
timing two whole searches one after the other tells little.  This script searches once (the memory store, one
thread, to ``--states`` states, which fills the tables), then expands the first ``--expand`` stored states batch by
batch with this tree's ``checker.pins_kernel.compute`` (A) and with ``compute`` of ``checker/pins_kernel.py`` as it
is at ``--ref`` (B), alternating which goes first from one batch to the next, so that both see the same machine.  It
prints each one's time per state and the ratio B / A (below 1: the ref is faster), and checks that both computed the
same outputs.

The ref's kernel is loaded from a copy of that one file; it imports this tree's ``checker.pins_store``, and both must
take the same arguments and table layout (``TABLE_LAYOUT``, from commit b4b146f on; the script refuses otherwise).
The first pass of each is a warm-up, not timed; its outputs are compared (exit 1 where they differ).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checker import pins_kernel as K  # noqa: E402, N812
from checker.compiled import CompiledExplorer  # noqa: E402
from models import tweaks  # noqa: E402
from models.raft import Raft  # noqa: E402
from models.raft_pins import RaftPins  # noqa: E402

BATCH = 1 << 13


def load_ref(ref: str, into: Path) -> Any:
    """``checker/pins_kernel.py`` at ``ref``, loaded as a module of its own (its numba cache beside the copy)."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:checker/pins_kernel.py"], check=True,
                          capture_output=True, text=True).stdout
    path = into / "ref_pins_kernel.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("ref_pins_kernel", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", default="HEAD~1", help="the commit whose kernel is B (default: HEAD~1)")
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--max-term", type=int, default=3)
    ap.add_argument("--max-log", type=int, default=1)
    ap.add_argument("--tweak", default="", choices=["", *sorted(tweaks.BUILTIN)], metavar="NAME",
                    help="a built-in tweak of the model (e.g. commit-old-terms)")
    ap.add_argument("--states", type=int, default=3_000_000, help="search to this many states first (default 3 M)")
    ap.add_argument("--expand", type=int, default=0,
                    help="states to expand per pass, from the first (default: a third of the states the search stored)")
    ap.add_argument("--reps", type=int, default=3, help="timed passes (default 3)")
    a = ap.parse_args()
    if a.reps < 1 or a.states < 1 or a.expand < 0:
        ap.error("--reps and --states must be at least 1, --expand at least 0")
    with tempfile.TemporaryDirectory() as tmp:
        ref = load_ref(a.ref, Path(tmp))
        if inspect.signature(ref.compute.py_func) != inspect.signature(K.compute.py_func) or \
                getattr(ref, "TABLE_LAYOUT", 1) != K.TABLE_LAYOUT:
            print(f"refused: compute at {a.ref} takes other arguments or another table layout than this tree's; "
                  "compare kernels of one interface", file=sys.stderr)
            return 2
        model = tweaks.apply([tweaks.BUILTIN[a.tweak]])(a.servers, a.max_term, a.max_log) if a.tweak else \
            Raft(a.servers, a.max_term, a.max_log)
        x = CompiledExplorer(RaftPins(model), store="memory", max_states=a.states, workers=1)
        t0 = time.perf_counter()
        r = x.run()
        print(f"searched {r.stats.distinct_states:,} states in {time.perf_counter() - t0:.1f} s ({r.status}); "
              f"memo {x.memo.count:,} entries")
        n = min(a.expand or r.stats.distinct_states // 3, r.stats.distinct_states)
        lane = x.lanes[0]
        x.st = tuple(np.zeros(BATCH, dtype=np.int64) for _ in range(len(x.st)))
        captured: list[tuple[Any, ...]] = []
        ours = K.compute
        K.compute = lambda *args: captured.append(args)  # CompiledExplorer._compute builds the arguments
        spent = [0.0, 0.0]
        differ = missed = 0
        try:
            for rep in range(a.reps + 1):
                for b0 in range(0, n, BATCH):
                    b1 = min(n, b0 + BATCH)
                    captured.clear()
                    x._compute(lane, np.arange(b0, b1, dtype=np.int64), b0, 0, x.store)
                    args = captured[0]
                    got: list[list[Any]] = [[], []]
                    for which in ((0, 1) if (b0 // BATCH) % 2 == 0 else (1, 0)):
                        while True:
                            lane.tc[:] = 0
                            for arr in x.st:
                                arr[:] = -7  # a sentinel: what a kernel leaves unwritten is seen as such
                            t = time.perf_counter()
                            (ours if which == 0 else ref.compute)(*args)
                            dt = time.perf_counter() - t
                            if not lane.tc[K.T_ROOM]:
                                break
                            lane.grow_out()
                            captured.clear()
                            x._compute(lane, np.arange(b0, b1, dtype=np.int64), b0, 0, x.store)
                            args = captured[0]
                        if rep:
                            spent[which] += dt
                        elif which == 0:
                            missed += int(lane.tc[K.T_NMISS])
                        used = {0: K.T_OUSED, 6: K.T_AUSED}
                        got[which] = [lane.tc.copy(), *(arr[: b1 - b0].copy() for arr in x.st),
                                      *(arr[: int(lane.tc[used.get(i, K.T_CUSED)])].copy() for i, arr in enumerate(lane.out))]
                    if rep == 0 and not all(np.array_equal(p, q) for p, q in zip(got[0], got[1], strict=True)):
                        differ += 1
        finally:
            K.compute = ours
        if missed:
            print(f"warning: {missed} table entries were missing (states beyond those the search expanded are timed as "
                  "partial work); use a smaller --expand", file=sys.stderr)
        per = [1e9 * s / (a.reps * n) for s in spent]
        print(f"A (this tree) {per[0]:.0f} ns/state   B ({a.ref}) {per[1]:.0f} ns/state   B / A {spent[1] / spent[0]:.3f}"
              f"   ({a.reps} passes of {n:,} states)")
        if differ:
            print(f"the two kernels' outputs differ in {differ} batches", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
