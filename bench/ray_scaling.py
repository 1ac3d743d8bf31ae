"""Distributed search on Ray (checker/distributed.py): speed, traffic and memory on 1 and 2 local nodes.

Each row starts a real Ray cluster of N nodes (``ray.cluster_utils.Cluster``: a raylet per node, one CPU each) and
runs one search on it, checking the counts against the same engine in one process (one thread).  Printed per row:
- states/s: distinct states / the search's wall time (actor start-up excluded, as ``check`` reports it);
- sent a state: successors sent from one actor to another, and their bytes (readable actors: pickled, as Ray sends
  them; compiled actors: the int64 arrays' bytes), per distinct state stored;
- bytes a stored state, per node: (that node's actors' peak RSS - their RSS when they started) / the states they hold;
  for compiled actors also the store's own bytes a state (rows, table, index, parent and its owner).

    python bench/ray_scaling.py                                  # readable actors, 3 servers, max-term 3 (36,420 orbits)
    python bench/ray_scaling.py --engine compiled --max-term 4   # compiled actors, 818,577 orbits
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from checker.bfs import Explorer
from checker.compiled import CompiledExplorer
from checker.distributed import RayExplorer
from checker.ray_compiled import CompiledRayExplorer
from models.raft import Raft
from models.raft_pins import RaftPins


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--max-term", type=int, default=3)
    ap.add_argument("--max-log", type=int, default=0)
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 2], help="cluster sizes to run (one CPU a node)")
    ap.add_argument("--engine", choices=["readable", "compiled"], default="readable", help="what the actors run")
    ap.add_argument("--store", choices=["memory", "compact"], default="memory", help="compiled actors' store")
    args = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    model = Raft(args.servers, args.max_term, args.max_log)
    compiled = args.engine == "compiled"

    def pins() -> RaftPins:
        return RaftPins(model, model.properties(), symmetry=True)

    t0 = time.perf_counter()
    one = CompiledExplorer(pins(), workers=1, store=args.store).run() if compiled else Explorer(model).run()
    label = f"{args.engine}{', ' + args.store if compiled else ''}, one process (one thread)"
    rows = [[label, "-", f"{one.stats.distinct_states:,}", f"{one.stats.wall_seconds:.1f}",
             f"{one.stats.distinct_states / one.stats.wall_seconds:,.0f}", "-", "-", "-"]]
    print(f"one process: {time.perf_counter() - t0:.1f} s", flush=True)
    for nodes in args.nodes:
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        for _ in range(nodes - 1):
            c.add_node(num_cpus=1)
        c.wait_for_nodes()
        ray.init(address=c.address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        try:
            ex: RayExplorer[Any, Any] = (CompiledRayExplorer(pins(), address=c.address, measure=True, store=args.store) if compiled
                                         else RayExplorer(model, address=c.address, measure=True))
            r = ex.run()
        finally:
            ray.shutdown()
            c.shutdown()
        st = r.stats
        if (st.distinct_states, st.transitions, r.status) != (one.stats.distinct_states, one.stats.transitions, one.status):
            print(f"MISMATCH at {nodes} nodes: {st.distinct_states} states, {st.transitions} transitions, {r.status}")
            return 1
        items = sum(f["sent_items"] for f in ex.figures)
        sent = sum(f["sent_bytes"] for f in ex.figures)
        per_node: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for f in ex.figures:
            per_node[f["node"]][0] += f["peak_rss"] - f["rss0"]
            per_node[f["node"]][1] += f["states"]
        mem = ", ".join(f"{b / max(n, 1):,.0f}" for b, n in per_node.values())
        if compiled:
            mem += f" (store: {sum(f['store_bytes'] for f in ex.figures) / st.distinct_states:,.0f})"
        rows.append([f"Ray, {args.engine} actors, {nodes} node{'s' if nodes > 1 else ''}", len(ex.figures), f"{st.distinct_states:,}",
                     f"{st.wall_seconds:.1f}", f"{st.distinct_states / st.wall_seconds:,.0f}",
                     f"{items / st.distinct_states:.2f}", f"{sent / st.distinct_states:,.0f}", mem])
        print(tabulate(rows[-1:], tablefmt="plain"), flush=True)
        if compiled:
            steps = defaultdict(float)
            for f in ex.figures:
                for k, v in f["seconds"].items():
                    steps[k] = max(steps[k], v)
            assert isinstance(ex, CompiledRayExplorer)
            print(f"  the busiest actor's seconds: {', '.join(f'{k} {v:.1f}' for k, v in steps.items())}; the driver's "
                  f"fills {ex.fill_seconds:.1f} s in {ex.rounds} rounds", flush=True)
    print()
    print(f"Raft {args.servers}/{args.max_term}/{args.max_log}, symmetry on, default properties")
    print(tabulate(rows, headers=["search", "actors", "distinct states", "wall s", "states/s", "successors sent a state",
                                  "bytes sent a state", "bytes a stored state, per node"], tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
