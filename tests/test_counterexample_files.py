"""Every committed counterexample (counterexamples/<tweak>/*.itf.json) is a real execution of its model.

Independent of regenerating the goldens (tests/test_goldens.py): the ITF file
is read back into model states, the model is rebuilt from the command recorded
in the file, and each step must be a transition of that model (some enabled
action leads from one state to the next, exactly); the last state or step must
violate the property the file names, and no earlier one may.  This is the check
that also covers counterexamples too costly to regenerate in the test suite.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from checker.model import Kind
from models.raft import NIL, Committed, Message, MType, Raft, Role, ServerVars, State
from raft_check import cli

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "counterexamples").glob("*/*.itf.json"))


def _int(x: dict[str, str]) -> int:
    return int(x["#bigint"])


def _server(name: str) -> int:
    m = re.fullmatch(r"S(\d+)", name)
    assert m, f"not a server name: {name!r}"
    return int(m.group(1)) - 1


def _by_server(x: dict[str, Any]) -> list[Any]:
    return [v for _, v in sorted(x["#map"], key=lambda kv: _server(kv[0]))]


def _message(r: dict[str, Any]) -> Message:
    fields: dict[str, Any] = {}
    for k, v in r.items():
        if k in ("mtype", "msource", "mdest", "mterm"):
            continue
        fields[k] = tuple(_int(e) for e in v) if k == "mentries" else v if isinstance(v, bool) else _int(v)
    return Message(MType[r["mtype"]], _int(r["mterm"]), _server(r["msource"]), _server(r["mdest"]), **fields)


def decode(st: dict[str, Any]) -> State:
    """An ITF state (models/render.py's itf_state) back into a model State."""
    cols = {k: _by_server(st[k]) for k in ("currentTerm", "role", "votedFor", "votesGranted", "log", "commitIndex",
                                             "nextIndex", "matchIndex")}
    servers = tuple(
        ServerVars(
            _int(cols["currentTerm"][i]),
            Role[cols["role"][i]],
            NIL if cols["votedFor"][i] == "Nil" else _server(cols["votedFor"][i]),
            tuple(sorted(_server(x) for x in cols["votesGranted"][i]["#set"])),
            tuple(_int(e) for e in cols["log"][i]),
            _int(cols["commitIndex"][i]),
            tuple(_int(x) for x in _by_server(cols["nextIndex"][i])),
            tuple(_int(x) for x in _by_server(cols["matchIndex"][i])),
        )
        for i in range(len(cols["currentTerm"]))
    )
    messages = tuple(sorted(_message(r) for r in st["messages"]["#set"]))
    committed = tuple(sorted(Committed(_int(c["index"]), _int(c["term"]), _int(c["commitTerm"])) for c in st["committed"]["#set"]))
    return State(servers, messages, committed)


def model_of(command: str) -> Raft:
    """The model that ``check <command>`` runs, built by the CLI itself."""
    argv = shlex.split(command)
    assert argv[0] == "check", command
    return cli.make_model(cli.build_parser().parse_args(argv[1:]))


def test_there_are_files() -> None:
    assert FILES, "no counterexamples/*/*.itf.json; run `check defend`"


def check_document(doc: dict[str, Any]) -> None:
    desc = doc["#meta"]["description"]
    m = re.fullmatch(r"Shortest counterexample to (\w+), produced by: (check .*)", desc)
    assert m, desc
    prop_name, command = m.groups()
    model = model_of(command)
    prop = next(p for p in model.properties() if p.name == prop_name)
    states = [decode(st) for st in doc["states"]]
    assert states[0] in model.init_states()
    for k, (s, t) in enumerate(itertools.pairwise(states), start=1):
        actions = [a for a in model.actions(s) if model.next_state(s, a) == t]
        assert actions, f"step {k} ({doc['states'][k]['#meta']['action']}) is not a transition of the model"
        if prop.kind == Kind.ACTION:
            assert any(prop.check(s, a, t) for a in actions) == (k < len(states) - 1), f"{prop_name} at step {k}"
        elif prop.kind == Kind.ALWAYS:
            assert prop.check(t) == (k < len(states) - 1), f"{prop_name} at step {k}"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name.removesuffix('.itf.json')}" for p in FILES])
def test_committed_trace_is_a_real_execution(path: Path) -> None:
    check_document(json.loads(path.read_text()))


def test_a_tampered_trace_is_rejected() -> None:
    """The check can fail: drop a step, or change a term in the middle of a trace."""
    doc = json.loads(next(p for p in FILES if p.parent.name == "truncate-always").read_text())
    skipped = copy.deepcopy(doc)
    del skipped["states"][3]
    with pytest.raises(AssertionError, match="not a transition"):
        check_document(skipped)
    bumped = copy.deepcopy(doc)
    bumped["states"][5]["currentTerm"]["#map"][2][1] = {"#bigint": "2"}
    with pytest.raises(AssertionError, match="not a transition"):
        check_document(bumped)
    short = copy.deepcopy(doc)
    short["states"].pop()
    with pytest.raises(AssertionError, match="at step"):
        check_document(short)
