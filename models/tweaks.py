"""Protocol tweaks: small overrides of one guard or update of the Raft model.

A tweak replaces ``@hook`` methods of :class:`models.raft.Raft` by name (see
``models.raft.HOOKS`` for the list).  The built-in tweaks live in ``BUILTIN``;
a user's ``--tweak-file`` is a Python file that uses :func:`override`::

    from models.tweaks import override

    @override("can_grant_vote")
    def can_grant_vote(self, srv, m):
        return True  # grant every candidate, ignoring votedFor
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.raft import HOOKS, Raft


class TweakError(ValueError):
    """A tweak that cannot be applied; the message says why and how to fix it."""


@dataclass(frozen=True)
class Tweak:
    """A named change to the protocol.

    ``rule`` quotes the spec line the tweak removes or changes.  ``expected``
    is the verdict the checker found at ``bounds``: ``"holds"`` or the name of
    the violated property.  ``reductions_sound`` says whether the model's
    reductions remain sound under the tweak (their arguments in
    ``models/raft.py`` name the rules they rest on); when False, the tweaked
    model runs unreduced.
    """

    name: str
    rule: str
    overrides: dict[str, Callable[..., Any]]
    expected: str = "holds"
    bounds: tuple[int, int, int] = (3, 2, 0)  # servers, max-term, max-log
    reductions_sound: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.overrides) - set(HOOKS))
        if unknown:
            raise TweakError(f"tweak {self.name!r} overrides unknown name(s) {', '.join(unknown)}; valid names: {', '.join(sorted(HOOKS))}")


BUILTIN: dict[str, Tweak] = {}


def register(t: Tweak) -> Tweak:
    if t.name in BUILTIN:
        raise TweakError(f"duplicate tweak name {t.name!r}")
    BUILTIN[t.name] = t
    return t


def apply(tweaks: Sequence[Tweak], base: type[Raft] = Raft) -> type[Raft]:
    """A subclass of ``base`` with every tweak's overrides installed."""
    if not tweaks:
        return base
    attrs: dict[str, Any] = {"tweaks": tuple(t.name for t in tweaks)}
    for t in tweaks:
        attrs.update(t.overrides)
    attrs["reductions_sound"] = all(t.reductions_sound for t in tweaks)
    return type("Raft_" + "_".join(t.name.replace("-", "_") for t in tweaks), (base,), attrs)


@dataclass
class _Collector:
    overrides: dict[str, Callable[..., Any]] = field(default_factory=dict)
    reductions_sound: bool = False


_collecting: list[_Collector] = []


def override(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for tweak files: replace the model's hook ``name`` with the decorated function."""
    if name not in HOOKS:
        raise TweakError(f"override({name!r}): no such hook; valid names: {', '.join(sorted(HOOKS))}")

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        if _collecting:
            _collecting[-1].overrides[name] = f
        return f

    return deco


def keep_reductions() -> None:
    """Call in a tweak file to assert that the model's reductions stay sound under it (see models/raft.py)."""
    if _collecting:
        _collecting[-1].reductions_sound = True


def load_file(path: str) -> Tweak:
    """Load a user tweak file; errors name the file and line."""
    p = Path(path)
    try:
        source = p.read_text()
    except OSError as e:
        raise TweakError(f"{path}: cannot read tweak file: {e.strerror}") from None
    try:
        code = compile(source, str(p), "exec")
    except SyntaxError as e:
        raise TweakError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    col = _Collector()
    _collecting.append(col)
    try:
        exec(code, {"__name__": f"tweakfile_{p.stem}", "__file__": str(p)})
    except TweakError as e:
        line = _line_in(p, sys.exc_info()[2])
        raise TweakError(f"{path}:{line}: {e}") from None
    except Exception as e:
        line = _line_in(p, sys.exc_info()[2])
        raise TweakError(f"{path}:{line}: {type(e).__name__}: {e}") from None
    finally:
        _collecting.pop()
    if not col.overrides:
        raise TweakError(f"{path}: defines no overrides; decorate a function with @override('<hook>'), hooks: {', '.join(sorted(HOOKS))}")
    return Tweak(p.stem, f"user tweak file {path}", dict(col.overrides), expected="?", reductions_sound=col.reductions_sound)


def _line_in(p: Path, tb: Any) -> int | str:
    line: int | str = "?"
    for frame in traceback.extract_tb(tb):
        if frame.filename == str(p) and frame.lineno is not None:
            line = frame.lineno
    return line


def lookup(names: Sequence[str]) -> list[Tweak]:
    out = []
    for n in names:
        if n not in BUILTIN:
            raise TweakError(f"unknown tweak {n!r}; valid tweaks: {', '.join(BUILTIN) or '(none)'} (see --list-tweaks)")
        out.append(BUILTIN[n])
    return out
