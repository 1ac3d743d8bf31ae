"""Find rates of ``check simulate``'s walks per CPU-second, in one process, without start-up or shrinking.

``python bench/simulate_rate.py --servers 3 --max-term 3 --max-log 2 --tweak commit-beyond-match
--invariant StateMachineSafety --seconds 40 [--seed S] [--mode swarm|uniform]``

Runs walks 0, 1, 2, ... of the seed with the same :class:`raft_check.simulate.Walker` that ``check simulate`` uses,
for the given CPU seconds, and prints the walks, steps, steps per CPU-second, the violations found (walk index and
length as found), and the share of walks in which at least 2, 3 and 4 servers became leader (each ``BecomeLeader``
is of a new term: a cheap sign of how far walks get towards the deep bugs, which need a leader in most terms).

``--kernel auto|compiled`` picks the kernel (as ``check simulate``'s; auto walks in Python on the readable model
where the compiled kernel cannot run).  The kernel is built (and the compiled
one's code loaded) before the clock starts; its tables fill during the run, as in a real one.

Used to compare walk strategies on a shared machine: CPU time, not wall time, and one process, so that the memo
tables warm up once (``bench/simulate.py`` measures the real command, wall time, fresh processes).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checker.console import _Parser
from raft_check.cli import add_model_args, make_model, select_properties
from raft_check.simulate import DEFAULT_DEPTH, Walker, pick_kernel


def main() -> int:
    ap = _Parser(prog="simulate_rate.py", description=__doc__.splitlines()[0])
    add_model_args(ap)
    ap.add_argument("--invariant", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=30.0, help="CPU seconds of walking")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    ap.add_argument("--mode", default="swarm")
    ap.add_argument("--kernel", default="auto", choices=("auto", "compiled"), help="as check simulate's --kernel")
    a = ap.parse_args()
    model = make_model(a)
    kernel, line = pick_kernel(model, select_properties(model, a.invariant), a.kernel)
    print(f"kernel: {line}")
    walker = Walker(kernel, a.depth, a.mode, a.seed)
    leaders = [i for i, name in enumerate(kernel.names) if name == "BecomeLeader"]
    t0 = time.process_time()
    walks = steps = 0
    finds: list[tuple[int, int]] = []
    hist: dict[int, int] = {}
    while time.process_time() - t0 < a.seconds:
        before = sum(walker.counts[j] for j in leaders)
        r = walker.walk(walks)
        steps += r.steps
        n = sum(walker.counts[j] for j in leaders) - before
        hist[n] = hist.get(n, 0) + 1
        if r.violation is not None:
            finds.append((walks, len(r.violation[1])))
        walks += 1
    cpu = time.process_time() - t0
    share = {x: sum(v for k, v in hist.items() if k >= x) / max(walks, 1) for x in (2, 3, 4)}
    print(f"walks {walks:,}  steps {steps:,}  {steps / cpu:,.0f} steps per CPU-s  violations {len(finds)} "
          f"(walk, length): {finds[:8]}  walks with >=2/3/4 leaders: {share[2]:.3f} / {share[3]:.3f} / {share[4]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
