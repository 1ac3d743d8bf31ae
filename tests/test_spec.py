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

from models.raft import ACTIONS, HOOKS, VARIABLES, Committed, Message, MType, Raft, ServerVars

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
    assert "record_leaders" in definitions() and "Next /\\ record_leaders" in text


def test_properties_are_defined() -> None:
    defs = definitions()
    for name in PYTHON_PROPERTIES:
        assert name in defs, name
    # Sometimes-properties are checked as invariants whose violation is the goal.
    assert "NoLeader" in defs and "NoCommit" in defs


def test_reduction_operators_are_defined() -> None:
    defs = definitions()
    for name in ("prune", "dead", "notify_only", "fold", "commit_step", "heartbeats", "Perms", "Init", "Spec"):
        assert name in defs, name


# ------------------------------------------------------- helpers, hooks, handlers
# One name, both sides: every operator of Raft.tla is named as its Python twin (actions CamelCase, the hooks and the
# other helpers snake_case, as Python's methods), so that one search finds both.  These are the deliberate exceptions.

TLA_ONLY: dict[str, str] = {
    "vars": "the tuple of every variable, for [][...]_vars and UNCHANGED (Python: a State is that tuple)",
    "serverVars": "the per-server variables, for UNCHANGED (Python: the ServerVars tuples)",
    "Follower": "a role string; Python: Role.Follower",
    "Candidate": "a role string; Python: Role.Candidate",
    "Leader": "a role string; Python: Role.Leader",
    "RequestVoteRequest": "a message type string; Python: MType.RequestVoteRequest",
    "RequestVoteResponse": "a message type string; Python: MType.RequestVoteResponse",
    "AppendEntriesRequest": "a message type string; Python: MType.AppendEntriesRequest",
    "AppendEntriesResponse": "a message type string; Python: MType.AppendEntriesResponse",
    "MTypeRank": "Python's MType is an IntEnum: the rank is its value",
    "Min": "Python's built-in min",
    "Max": "Python's built-in max",
    "MaxOf": "Python's built-in max over an iterable (AdvanceCommitIndex's next(...) from the top)",
    "Prefix": "Python's slice s[:k]",
    "SeqLess": "Python's < on tuples",
    "BoolRank": "a Python bool is an int",
    "Msg": "Python's Message(...) constructor with its defaults",
    "MsgLess": "Python's sort order of Message tuples (prune keeps the least)",
    "SetServer": "Python's _put(s.servers, i, srv), handed to commit_step",
    "Init": "Python's Raft.init_states",
    "Next": "Python's Raft.actions and next_state (test_next_has_the_python_actions_in_order)",
    "Spec": "the behaviour; Python: the search",
    "Perms": "TLC's SYMMETRY; Python: Raft.representative",
    "TypeOK": "TLA+ only: the shape of the variables",
    "NoLeader": "TLC checks the sometimes-property LeaderElected through its negation",
    "NoCommit": "TLC checks the sometimes-property EntryCommitted through its negation",
}
"""Operators of Raft.tla without a Python twin of the same name, each with the reason."""

PY_ONLY: dict[str, str] = {
    "init_server": "Init gives each variable its initial function",
    "init_states": "TLA+ Init",
    "within_boundary": "the model has no state constraint (always True); nor has the spec",
    "properties": "the property operators are compared by test_properties_are_defined",
    "actions": "TLA+ Next's disjuncts",
    "next_state": "TLA+ Next: one action applied",
    "is_folded": "display only: recognises a folded request in a trace",
    "folding": "display only: whether prune folds (Raft.fold_msgs); the spec folds when Reduce /\\ MaxLog > 0",
    "permute": "symmetry reduction: TLC's SYMMETRY Perms",
    "representative": "symmetry reduction: TLC's SYMMETRY Perms",
    "sym_key": "symmetry reduction: TLC's SYMMETRY Perms",
    "perms": "symmetry reduction: TLC's SYMMETRY Perms",
    "rule_for": "which reductions a tweak keeps; the spec models no tweaks",
}
"""Methods of Raft without a TLA+ twin of the same name, each with the reason."""

PARAM_RENAMES: dict[str, dict[str, str]] = {
    "merge_entries": {"log": "xlog"},  # log is a variable of the module, and TLA+ forbids a parameter of its name
}
"""Hook parameters that the spec must name differently (Python name -> TLA+ name), each with the reason."""

MODULE_TWINS = ("ServerVars",)
"""Operators whose Python twin is a class of models/raft.py rather than a method of Raft."""


def python_helpers() -> list[str]:
    """The public methods (and properties) that class Raft defines: actions, handlers, hooks and helpers."""
    return [n for n, v in vars(Raft).items()
            if not n.startswith("_") and (inspect.isfunction(v) or isinstance(v, staticmethod | property))]


def operator_params(d: Any) -> list[str]:
    return [p.operator for p in d.arity or []]


def name_disagreements(defs: dict[str, Any]) -> list[str]:
    """Every way the operators ``defs`` of a module and models/raft.py disagree by name; empty when they agree."""
    model = Raft(3, 2, 1)
    props = set(PYTHON_PROPERTIES)
    out = []
    for name in defs:
        if name in props or name in TLA_ONLY or name in MODULE_TWINS:
            continue
        if not hasattr(model, name):
            out.append(f"Raft.tla defines {name}, but Raft has no method or attribute {name} (nor is it in TLA_ONLY)")
    for name in python_helpers():
        if name not in defs and name not in PY_ONLY:
            out.append(f"Raft.{name} has no operator {name} in Raft.tla (nor is it in PY_ONLY)")
    for name in HOOKS:
        if name not in defs:
            continue  # reported above
        want = [PARAM_RENAMES.get(name, {}).get(p, p) for p in list(inspect.signature(getattr(Raft, name)).parameters)[1:]]
        if operator_params(defs[name]) != want:
            out.append(f"hook {name}: Raft.tla's parameters ({', '.join(operator_params(defs[name]))}) are not Python's ({', '.join(want)})")
    out += [f"{name} is in TLA_ONLY but not defined in Raft.tla" for name in TLA_ONLY if name not in defs]
    out += [f"{name} is in TLA_ONLY but Raft has it too" for name in TLA_ONLY if hasattr(model, name)]
    out += [f"{name} is in PY_ONLY but Raft.tla defines it too" for name in PY_ONLY if name in defs]
    out += [f"{name} is in PY_ONLY but Raft does not define it" for name in PY_ONLY if name not in python_helpers()]
    return out


def test_helpers_hooks_and_handlers_have_one_name_on_both_sides() -> None:
    assert name_disagreements(definitions()) == []


def test_every_hook_is_an_operator() -> None:
    defs = definitions()
    assert [h for h in HOOKS if h not in defs] == []


def test_name_agreement_fails_on_a_renamed_operator() -> None:
    """The check above can fail: rename one hook and one helper in a copy of the module, and it names both."""
    text = MODULE.read_text()
    renamed = re.sub(r"\bcan_grant_vote\b", "CanGrantVote", text)
    renamed = re.sub(r"\bprune\(", "Prune(", renamed)
    renamed = re.sub(r"^step_down_on\(srv, m, i\)", "step_down_on(srv, msg, i)", renamed, flags=re.M)
    tree = tla.parse(renamed)
    defs = {u.name: u for u in tree.units if type(u).__name__ == "OperatorDefinition"}
    found = name_disagreements(defs)
    assert any("Raft.tla defines CanGrantVote" in f for f in found), found
    assert any("Raft.can_grant_vote has no operator" in f for f in found), found
    assert any("Raft.tla defines Prune" in f for f in found), found
    assert any("hook step_down_on" in f for f in found), found


def test_server_record_fields_match_python() -> None:
    """ServerVars(i) is Python's ServerVars, field for field, and SetServer stores every field back."""
    assert record_keys_with("currentTerm") == [list(ServerVars._fields)]
    set_server = definitions()["SetServer"]
    primed = [n.operator for n in walk(set_server.definiens) if type(n).__name__ == "OperatorApplication"
              and n.operator in ServerVars._fields]
    assert sorted(set(primed)) == sorted(ServerVars._fields)


def handle_rpc_dispatch_tla() -> dict[str, str]:
    text = MODULE.read_text()
    body = text[text.index("\nHandleRPC(m) =="):]
    body = body[: body.index("\n\n")]
    return dict(re.findall(r"m\.mtype = (\w+)\s*-> (\w+)\(", body))


def handle_rpc_dispatch_python() -> dict[str, str]:
    return dict(re.findall(r"MType\.(\w+): self\.(\w+),", inspect.getsource(Raft.HandleRPC)))


def test_handle_rpc_dispatches_to_the_same_handlers() -> None:
    """HandleRPC sends each message type to the handler of the same name on both sides, and each handler runs the hook
    on_<type> (Python) / applies it (TLA+), after the step-down rule step_down_on."""
    tla_side = handle_rpc_dispatch_tla()
    assert sorted(tla_side) == sorted(t.name for t in MType)
    assert tla_side == handle_rpc_dispatch_python()
    defs = definitions()
    for handler in tla_side.values():
        hook_name = handler.replace("handle_", "on_", 1)
        assert hook_name in HOOKS, hook_name
        applied = {n.operator for n in walk(defs[handler].definiens) if type(n).__name__ == "OperatorApplication"}
        assert hook_name in applied, f"{handler} does not apply {hook_name}"
        assert hook_name in inspect.getsource(getattr(Raft, handler)), f"Raft.{handler} does not call {hook_name}"
    rpc = {n.operator for n in walk(defs["HandleRPC"].definiens) if type(n).__name__ == "OperatorApplication"}
    assert "step_down_on" in rpc
    assert "self.step_down_on(" in inspect.getsource(Raft.HandleRPC)


def test_step_down_is_an_update_on_both_sides() -> None:
    """step_down and step_down_on are record updates in the spec (functions of the server's record), as in Python."""
    defs = definitions()
    assert operator_params(defs["step_down"]) == ["srv", "term", "i"]
    body = MODULE.read_text()
    assert re.search(r"^step_down\(srv, term, i\) ==\n\s+\[srv EXCEPT !\.currentTerm = term", body, flags=re.M)
    assert re.search(r"^step_down_on\(srv, m, i\) ==\n\s+IF m\.mterm > srv\.currentTerm THEN step_down\(srv, m\.mterm, i\) ELSE srv",
                     body, flags=re.M)
    assert "StepDown" not in defs


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
