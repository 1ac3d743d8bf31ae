"""The layers: the engine (checker/) knows no model and no front door; the model (models/) knows no front door; no import
circles anywhere.

    raft_check/  the front door (check and its subcommands): knows Raft and the engine, wires them together
        |  imports
        v
    models/      the Raft model, its encodings (models/raft_pins.py implements checker/pins.py), rendering, tweaks
        |  imports
        v
    checker/     the engine: the model contract, the PINS interface, the search drivers, stores, traces, console

``python -m checker`` finds the front door through an entry point (checker/front_door.py), not an import.
Every import statement counts, also inside a function or under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "checker"
PACKAGES = ("checker", "models", "raft_check")


def imported(source: str) -> set[str]:
    """Every absolute module name that ``source`` imports anywhere (``from a.b import c`` gives a.b and a.b.c)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def imports_package(path: Path | str, package: str) -> bool:
    """Whether the source (a file, or the text itself) imports ``package`` or a module of it anywhere."""
    names = imported(path.read_text() if isinstance(path, Path) else path)
    return any(n == package or n.startswith(package + ".") for n in names)


def imports_models(path: Path | str) -> bool:
    return imports_package(path, "models")


def import_graph(sources: dict[str, str]) -> nx.DiGraph:
    """Module -> module it imports, among ``sources`` (module name -> source text); a package's ``__init__`` is not an edge."""
    g = nx.DiGraph()
    g.add_nodes_from(sources)
    for name, text in sources.items():
        for target in imported(text):
            if target in sources and target != name and target not in PACKAGES:
                g.add_edge(name, target)
    return g


def project_sources() -> dict[str, str]:
    out = {}
    for package in PACKAGES:
        for p in sorted((ROOT / package).glob("*.py")):
            out[package if p.stem == "__init__" else f"{package}.{p.stem}"] = p.read_text()
    return out


def test_checker_imports_nothing_from_models_or_the_front_door() -> None:
    files = sorted(CHECKER.glob("*.py"))
    assert len(files) > 10
    offenders = {p.name: pkg for p in files for pkg in ("models", "raft_check") if imports_package(p, pkg)}
    assert offenders == {}, f"checker/ must not import models/ or raft_check/: {offenders}"


def test_models_import_no_front_door() -> None:
    offenders = [p.name for p in sorted((ROOT / "models").glob("*.py")) if imports_package(p, "raft_check")]
    assert offenders == [], f"models/ must not import raft_check/ (the front door imports the model): {offenders}"


def test_the_scan_sees_imports() -> None:
    """The scan can fail: it finds both import forms, also inside functions."""
    assert imports_models("import models.raft")
    assert imports_models("from models import tweaks")
    assert imports_models("def f():\n    from models.raft import Raft\n")
    assert imports_package("if TYPE_CHECKING:\n    from raft_check.rows import Row\n", "raft_check")
    assert not imports_models("from checker import model\nimport modelsx\nfrom .models import x\n")
    assert imports_models(ROOT / "raft_check" / "cli.py")
    assert imports_package(ROOT / "raft_check" / "cli.py", "raft_check")
    assert not imports_models(CHECKER / "pins.py")
    assert not imports_models(CHECKER / "compiled.py") and not imports_models(CHECKER / "pins_kernel.py")


def test_no_import_cycles() -> None:
    g = import_graph(project_sources())
    assert {"checker.bfs", "checker.compiled", "models.raft", "models.raft_pins", "raft_check.cli"} <= set(g)
    assert g.has_edge("models.raft_pins", "models.raft") and g.has_edge("checker.compiled", "checker.pins_kernel")
    cycles = sorted(nx.simple_cycles(g), key=len)
    assert cycles == [], f"import circles among the project's modules: {cycles[:5]}"


def test_the_cycle_check_sees_circles() -> None:
    """The cycle test can fail: a circle through a function-level import is one."""
    g = import_graph({"raft_check.a": "from raft_check.b import x\n", "raft_check.b": "def f():\n    import raft_check.a\n",
                      "raft_check.c": "from raft_check import a\n"})
    assert list(nx.simple_cycles(g)) in ([["raft_check.a", "raft_check.b"]], [["raft_check.b", "raft_check.a"]])
