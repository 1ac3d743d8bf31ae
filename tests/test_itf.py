"""Every committed ITF trace is read by the real ``itf-py`` parser, and follows ADR-015: its params are set in the
initial state, to the bounds the trace was made with."""

from __future__ import annotations

import json
from pathlib import Path

import itf_py
import pytest

from models import render
from tests.test_counterexample_files import model_of

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "counterexamples").glob("*/*.itf.json"))


def test_there_are_files() -> None:
    assert FILES


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name.removesuffix('.itf.json')}" for p in FILES])
def test_committed_itf_parses_and_sets_its_params(path: Path) -> None:
    doc = json.loads(path.read_text())
    trace = itf_py.trace_from_json(doc)
    assert trace.params == list(render.ITF_PARAMS) and len(trace.states) == len(doc["states"]) > 1
    model = model_of(doc["#meta"]["description"].split("produced by: ", 1)[1])
    first = trace.states[0].values
    for name in trace.params:  # ADR-015: the parameters are set in the initial state
        assert name in first, name
    assert first["Server"] == frozenset(f"S{i + 1}" for i in range(model.n))
    assert (first["MaxTerm"], first["MaxLog"]) == (model.max_term, model.max_log)
    for st in trace.states:
        assert set(trace.vars) <= set(st.values)
