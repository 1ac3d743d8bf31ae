"""The engine (checker/) imports nothing from the models (models/).

Issue #14 makes this the architecture; the front door (cli, defend) and the
first-generation fast engine (fast, parallel) still import models/ and move
out with the restructure that follows the engine's first stage.  KNOWN lists
them: the list may only shrink -- a file that stops importing models/ must be
struck from it, and any other file that starts is an error.
"""

from __future__ import annotations

import ast
from pathlib import Path

CHECKER = Path(__file__).resolve().parent.parent / "checker"
KNOWN = {
    # the front door and its subcommands (check, defend, simulate, view, explore, graph): they build Raft models
    "cli.py", "defend.py", "defend_files.py", "defend_simulate.py", "explore.py", "gallery.py", "graph_cmd.py", "simulate.py",
    "verdicts.py", "view.py", "selfcheck.py",
    # the first-generation fast engine and the simulation kernel over its encoding (models/fast_raft.py)
    "fast.py", "parallel.py", "kernel.py",
}
"""Files of checker/ that still import models/ (to be emptied by the restructure of issue #14: the front door moves out of
checker/, and the old fast engine gives way to the compiled one).  The subcommands that landed beside engine v2's first
stage (defend_files, defend_simulate, explore, gallery, graph_cmd, selfcheck, simulate, verdicts, view, kernel) joined the list."""


def imports_models(path: Path | str) -> bool:
    """Whether the source (a file, or the text itself) imports ``models`` or a module of it anywhere."""
    tree = ast.parse(path.read_text() if isinstance(path, Path) else path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "models" or a.name.startswith("models.") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (node.module == "models" or node.module.startswith("models.")):
            return True
    return False


def test_checker_imports_nothing_from_models() -> None:
    offenders = {p.name for p in CHECKER.glob("*.py") if imports_models(p)}
    assert offenders - KNOWN == set(), f"checker/ must not import models/: {sorted(offenders - KNOWN)}"
    assert KNOWN - offenders == set(), f"these no longer import models/; strike them from KNOWN: {sorted(KNOWN - offenders)}"


def test_the_scan_sees_imports() -> None:
    """The scan can fail: it finds both import forms, also inside functions."""
    assert imports_models("import models.raft")
    assert imports_models("from models import tweaks")
    assert imports_models("def f():\n    from models.raft import Raft\n")
    assert not imports_models("from checker import model\nimport modelsx\nfrom .models import x\n")
    assert imports_models(CHECKER / "cli.py")
    assert not imports_models(CHECKER / "pins.py")
    assert not imports_models(CHECKER / "compiled.py") and not imports_models(CHECKER / "pins_kernel.py")
