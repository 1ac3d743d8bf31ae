"""How a Raft counterexample is written: the trace as a table and a story, the ITF document, and the files of
``counterexamples/<model>/`` (text, ITF JSON and the viewer page)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from checker.bfs import Result
from checker.model import Kind
from checker.trace import Step
from models import render, viewer
from models.raft import Action, Raft, State


def model_label(model: Raft) -> str:
    return "+".join(model.tweaks) if model.tweaks else "raft"


def trace_table(model: Raft, trace: Sequence[Step[State, Action]]) -> str:
    """The trace as a table: one row per step, a column per server, changed cells marked with '*'."""
    with_log = model.max_log > 0
    headers = ["step", "action", *[f"S{i + 1}" for i in model.server_ids], "messages sent"]
    rows = []
    prev: State | None = None
    for k, step in enumerate(trace):
        cells = []
        for i, v in enumerate(step.state.servers):
            c = render.server_cell(v, with_log, i)
            changed = prev is not None and prev.servers[i] != v
            cells.append(("* " if changed else "  ") + c)
        sent = render.network_change(prev, step.state, model) if prev is not None else ""
        rows.append([k, render.action_text(step.action, model), *cells, sent])
        prev = step.state
    return tabulate(rows, headers=headers, maxcolwidths=[None, 44, *([30] * model.n), 46])


def trace_story(model: Raft, trace: Sequence[Step[State, Action]]) -> str:
    lines = []
    for k in range(1, len(trace)):
        a = trace[k].action
        assert a is not None
        lines.append(f"{k:>3}. {render.story(model, trace[k - 1].state, a, trace[k].state)}")
    return "\n".join(lines)


def violation_text(model: Raft, result: Result[State, Action], cmd: str) -> str:
    v = result.violation
    assert v is not None
    kind = "action property" if v.prop.kind is Kind.ACTION else "invariant"
    head = [
        cmd,
        f"Violation of {kind} {v.prop.name}: {v.prop.description}.",
        f"Model: {model_label(model)}, servers S1..S{model.n}, max-term {model.max_term}, max-log {model.max_log}. "
        + (v.found_by or f"Shortest trace: {len(v.trace) - 1} steps") + " (every step replays as a real transition).",
        "",
    ]
    return "\n".join(head) + trace_table(model, v.trace) + "\n\nWhat happens:\n" + trace_story(model, v.trace) + "\n"


def itf_json(model: Raft, result: Result[State, Action], cmd: str) -> dict[str, Any]:
    v = result.violation
    assert v is not None
    what = f"Counterexample to {v.prop.name} ({v.found_by})" if v.found_by else f"Shortest counterexample to {v.prop.name}"
    return itf_document(model, v.trace, f"{what}, produced by: {cmd}")


def itf_document(model: Raft, trace: Sequence[Step[State, Action]], description: str) -> dict[str, Any]:
    """An ITF document of ``trace`` (ADR-015: the constants as params, set in the initial state), with ``description``."""
    return {
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": "spec/Raft.tla",
            "description": description,
            "varTypes": {},
        },
        "params": list(render.ITF_PARAMS),
        "vars": render.itf_vars(model),
        "states": [render.itf_state(model, st.state, k, st.action) | (render.itf_params(model) if k == 0 else {})
                   for k, st in enumerate(trace)],
    }


def write_counterexample(model: Raft, result: Result[State, Action], out: Path, cmd: str) -> tuple[Path, ...]:
    v = result.violation
    assert v is not None
    stem = f"{v.prop.name}_s{model.n}_t{model.max_term}" + (f"_l{model.max_log}" if model.max_log else "")
    folder = out / model_label(model)
    folder.mkdir(parents=True, exist_ok=True)
    txt, itf = folder / f"{stem}.txt", folder / f"{stem}.itf.json"
    from checker.failure import atomic_write

    atomic_write(txt, violation_text(model, result, cmd))
    atomic_write(itf, json.dumps(itf_json(model, result, cmd), indent=1) + "\n")
    # The trace viewer (models/viewer.py; `check view` rebuilds it from the ITF file), last: the trace is already saved.
    return txt, itf, *viewer.write_counterexample_page(model, v.trace, v.prop, cmd, folder / f"{stem}.html")
