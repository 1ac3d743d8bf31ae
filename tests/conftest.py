"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real Ray cluster of two nodes (Ray's test cluster: a head node and a second node, each a raylet with one CPU),
    joined by this process, for one test module."""
    import signal

    ray = pytest.importorskip("ray", reason="the Ray tests need the extra: install it with pip install -e '.[ray]'")
    from ray.cluster_utils import Cluster

    term = signal.getsignal(signal.SIGTERM)
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ray.init(address=c.address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    # The cluster and ray.init each set a SIGTERM handler that exits; the tests after this module expect the default.
    signal.signal(signal.SIGTERM, term)
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        signal.signal(signal.SIGTERM, term)
