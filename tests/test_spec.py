"""spec/Raft.tla and its configs agree with models/raft.py by name.

The TLA+ module is parsed with the PyPI package ``tla`` (no TLC needed); the
names it declares are compared with those the Python model exports, so that a
change on either side that is not made on the other fails here.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import tla

from models.raft import ACTIONS, VARIABLES, Committed, Message, Raft

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"
MODULE = SPEC_DIR / "Raft.tla"
CONFIGS = ("Raft.cfg", "RaftSym.cfg", "RaftLog.cfg")

# The properties the Python model checks; 'sometimes' ones appear in the
# module as reachability predicates, checked by TLC through their negations.
PYTHON_PROPERTIES = tuple(p.name for p in Raft(3, 1, 1, history=True).properties())


@cache
def module() -> Any:
    return tla.parse(MODULE.read_text())


def units(kind: str) -> list[Any]:
    return [u for u in module().units if type(u).__name__ == kind]


def definitions() -> dict[str, Any]:
    return {u.name: u for u in units("OperatorDefinition")}


def walk(node: Any) -> Iterator[Any]:
    """Every syntax-tree node under ``node`` (the nodes are named tuples)."""
    yield node
    if isinstance(node, tuple | list):
        for child in node:
            yield from walk(child)


def declared(kind: str) -> list[str]:
    return [n.operator for u in units(kind) for n in u.names]


def test_module_parses() -> None:
    tree = module()
    assert type(tree).__name__ == "Module"
    assert tree.name == "Raft"
    assert [e.operator for e in tree.extendees] == ["Naturals", "FiniteSets", "Sequences", "TLC"]


def test_variables_match_python() -> None:
    assert tuple(declared("Variables")) == VARIABLES


def test_vars_tuple_lists_every_variable() -> None:
    names = [n.operator for n in walk(definitions()["vars"].definiens) if type(n).__name__ == "OperatorApplication"]
    assert tuple(names) == VARIABLES


def test_constants() -> None:
    assert declared("Constants") == ["Server", "MaxTerm", "MaxLog", "Reduce", "History", "Nil"]


def next_actions() -> list[tuple[str, int]]:
    """The operators that the disjuncts of Next apply, with their arities, in order."""
    nxt = definitions()["Next"].definiens
    assert type(nxt).__name__ == "VerticalList" and nxt.operator == "\\/"
    found = []
    for item in nxt.arguments:
        body = item.expression
        assert type(body).__name__ == "Quantification" and body.quantifier == "\\E"
        app = body.predicate
        assert type(app).__name__ == "OperatorApplication"
        found.append((app.operator, len(app.arguments)))
    return found


def python_arity(name: str) -> int:
    # Raft.<Action>(self, state, *args)
    return len(inspect.signature(getattr(Raft, name)).parameters) - 2


def test_next_has_the_python_actions_in_order() -> None:
    assert [name for name, _ in next_actions()] == list(ACTIONS)


@pytest.mark.parametrize("name", ACTIONS)
def test_action_arity(name: str) -> None:
    arity = dict(next_actions())[name]
    assert arity == python_arity(name)
    params = definitions()[name].arity
    assert len(params) == arity


@pytest.mark.parametrize("name", ACTIONS)
def test_action_has_boxed_comment(name: str) -> None:
    """Each action definition is preceded by a (****) box that starts with its name."""
    text = MODULE.read_text()
    box = r"\(\*{70,}\)\n((?:\(\*.*\*\)\n)+)\(\*{70,}\)\n"
    m = re.search(box + re.escape(name) + r"\(", text)
    assert m, f"no boxed comment right above {name}"
    assert m.group(1).startswith(f"(* {name}("), m.group(1)


def record_keys_with(field: str) -> list[list[str]]:
    """Key lists of every record constructor in the module that has ``field``."""
    return [
        [k for k, _ in n.key_values]
        for d in definitions().values()
        for n in walk(d.definiens)
        if type(n).__name__ == "Record" and field in [k for k, _ in n.key_values]
    ]


def test_message_fields_match_python() -> None:
    assert record_keys_with("mtype") == [list(Message._fields)]
    msg = definitions()["Msg"]
    assert [p.operator for p in msg.arity] == ["type", "term", "src", "dst"]


def test_ghost_committed_fields_match_python() -> None:
    assert record_keys_with("commitTerm") == [list(Committed._fields)]
    assert re.search(r"committed,\s+\\\*\s*GHOST", MODULE.read_text())


def test_ghost_elected_is_marked_and_recorded_by_spec() -> None:
    text = MODULE.read_text()
    assert re.search(r"elected\s+\\\*\s*GHOST", text)
    assert "RecordLeaders" in definitions() and "Next /\\ RecordLeaders" in text


def test_properties_are_defined() -> None:
    defs = definitions()
    for name in PYTHON_PROPERTIES:
        assert name in defs, name
    # Sometimes-properties are checked as invariants whose violation is the goal.
    assert "NoLeader" in defs and "NoCommit" in defs


def test_reduction_operators_are_defined() -> None:
    defs = definitions()
    for name in ("Prune", "Dead", "NotifyOnly", "Send", "Perms", "Init", "Spec"):
        assert name in defs, name


# ------------------------------------------------------------------ configs


def parse_cfg(text: str) -> dict[str, list[str]]:
    """A TLC config as {section keyword: names}; CONSTANT entries give the constant's name."""
    text = re.sub(r"\\\*.*", "", text)
    text = re.sub(r"\(\*.*?\*\)", "", text, flags=re.S)
    keywords = {
        "SPECIFICATION": "SPECIFICATION",
        "INIT": "INIT",
        "NEXT": "NEXT",
        "CONSTANT": "CONSTANTS",
        "CONSTANTS": "CONSTANTS",
        "INVARIANT": "INVARIANTS",
        "INVARIANTS": "INVARIANTS",
        "PROPERTY": "PROPERTIES",
        "PROPERTIES": "PROPERTIES",
        "SYMMETRY": "SYMMETRY",
        "VIEW": "VIEW",
        "CHECK_DEADLOCK": "CHECK_DEADLOCK",
    }
    sections: dict[str, list[str]] = {}
    current: str | None = None
    tokens = re.findall(r"<-|=|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|\d+", text)
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        if tok in keywords:
            current = keywords[tok]
            sections.setdefault(current, [])
            k += 1
            continue
        assert current is not None, f"config text before any section: {tok!r}"
        if current == "CONSTANTS":
            assert k + 2 < len(tokens) and tokens[k + 1] in ("=", "<-"), f"bad constant entry at {tok!r}"
            sections[current].append(tok)
            k += 3
            continue
        sections[current].append(tok)
        k += 1
    return sections


@pytest.mark.parametrize("cfg", CONFIGS)
def test_config_names_exist(cfg: str) -> None:
    sections = parse_cfg((SPEC_DIR / cfg).read_text())
    defs = definitions()
    assert sections.get("SPECIFICATION") == ["Spec"]
    assert sorted(sections["CONSTANTS"]) == sorted(declared("Constants"))
    for key in ("INVARIANTS", "PROPERTIES", "SYMMETRY"):
        for name in sections.get(key, []):
            assert name in defs, f"{cfg}: {key} {name} is not defined in Raft.tla"
            assert defs[name].arity is None, f"{cfg}: {name} takes arguments"
    checked = sections.get("INVARIANTS", []) + sections.get("PROPERTIES", [])
    # Every Python safety property of the layer the config is for is checked.
    has_log = "LogMatching" in checked
    expected = [p.name for p in Raft(3, 1, 1 if has_log else 0).properties() if p.name not in ("LeaderElected", "EntryCommitted")]
    assert sorted(set(expected) - set(checked)) == []


def test_config_bounds() -> None:
    def values(cfg: str) -> dict[str, str]:
        text = re.sub(r"\\\*.*", "", (SPEC_DIR / cfg).read_text())
        return dict(re.findall(r"([A-Za-z]\w*)\s*=\s*(\{[^}]*\}|\w+)", text))

    base = {"Server": "{s1, s2, s3}", "MaxTerm": "2", "MaxLog": "0", "Reduce": "TRUE", "History": "FALSE", "Nil": "Nil"}
    assert values("Raft.cfg") == base
    assert values("RaftSym.cfg") == base
    assert "SYMMETRY" not in re.sub(r"\\\*.*", "", (SPEC_DIR / "Raft.cfg").read_text())
    assert parse_cfg((SPEC_DIR / "RaftSym.cfg").read_text())["SYMMETRY"] == ["Perms"]
    assert values("RaftLog.cfg")["MaxLog"] == "1"


def test_parse_cfg() -> None:
    sections = parse_cfg("CONSTANTS A = 1 B <- C\nINVARIANT X Y\nPROPERTY Z\n")
    assert sections == {"CONSTANTS": ["A", "B"], "INVARIANTS": ["X", "Y"], "PROPERTIES": ["Z"]}
