"""``python -m checker``: the engine has no command of its own, so it runs the front door an installed package declares.

The engine (``checker/``) knows no model and imports no front door (``tests/test_layering.py``).  A package that turns
command-line options into a model and runs the engine on it declares itself under the entry-point group
:data:`GROUP` with the name :data:`NAME` (``raft-check`` declares ``raft_check.cli:main`` in ``pyproject.toml``), and
``python -m checker ...`` runs it with the same arguments, as the ``check`` console script does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import metadata

GROUP = "checker.front_door"
NAME = "check"
EXIT_BAD_INPUT = 2


def find() -> Callable[[], object] | None:
    """The installed front door's ``main`` (called with no arguments, it reads ``sys.argv``), or None if none is declared.

    ImportError if one is declared but cannot be imported (an install older than the code it points at)."""
    eps = [ep for ep in metadata.entry_points(group=GROUP) if ep.name == NAME]
    if not eps:
        return None
    fn = eps[0].load()
    if not callable(fn):
        raise ImportError(f"{eps[0].value} is not a function")
    return fn  # type: ignore[no-any-return]


def main() -> int:
    """Run the installed front door; without one, one line on stderr and exit 2."""
    try:
        fn = find()
    except ImportError as e:
        print(f"python -m checker: the front door declared under the entry point {GROUP}:{NAME} cannot be imported ({e}); "
              "reinstall it with pip install -e .", file=sys.stderr)
        return EXIT_BAD_INPUT
    if fn is None:
        print(f"python -m checker: no front door is installed (entry point {GROUP}:{NAME}, which raft-check declares); "
              "install it with pip install -e . (or run python -m raft_check from the source tree)", file=sys.stderr)
        return EXIT_BAD_INPUT
    code = fn()
    return code if isinstance(code, int) else 0
