"""The contract between the engine and a model.

The engine knows nothing of Raft.  A model is any object that supplies the
methods of :class:`Model`; the Raft model in ``models/`` is one, the toy models
in ``tests/`` are others.  This mirrors stateright's ``Model`` trait.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)


class Kind(enum.Enum):
    """What kind of claim a property makes."""

    ALWAYS = "always"  # a state invariant: true in every reachable state
    SOMETIMES = "sometimes"  # a reachability check: true in at least one reachable state
    ACTION = "action"  # an action property: true of every transition (s, a, t)


@dataclass(frozen=True)
class Property(Generic[S, A]):
    """A named claim about a model.

    ``check`` takes a state for ALWAYS and SOMETIMES properties and
    ``(state, action, next_state)`` for ACTION properties.  Properties must be
    symmetric (unchanged by any permutation the model's ``representative``
    applies), otherwise symmetry reduction is unsound for them.
    """

    name: str
    kind: Kind
    check: Callable[..., bool]
    description: str
    group: str = "safety"

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"property name {self.name!r} must be an identifier, e.g. 'ElectionSafety'")


def always(name: str, description: str, group: str = "safety") -> Callable[[Callable[[Any], bool]], Property[Any, Any]]:
    """Decorator: ``@always("Name", "meaning")`` turns a predicate into an invariant."""
    return lambda f: Property(name, Kind.ALWAYS, f, description, group)


def sometimes(name: str, description: str, group: str = "reachability") -> Callable[[Callable[[Any], bool]], Property[Any, Any]]:
    """Decorator: a predicate that some reachable state must satisfy."""
    return lambda f: Property(name, Kind.SOMETIMES, f, description, group)


def action_property(name: str, description: str, group: str = "safety") -> Callable[[Callable[[Any, Any, Any], bool]], Property[Any, Any]]:
    """Decorator: a predicate on every transition ``(state, action, next_state)``."""
    return lambda f: Property(name, Kind.ACTION, f, description, group)


def check_unique_names(props: Sequence[Property[Any, Any]]) -> None:
    """Fail at definition time on duplicate property names."""
    seen: set[str] = set()
    for p in props:
        if p.name in seen:
            raise ValueError(f"duplicate property name {p.name!r}: give each property its own name")
        seen.add(p.name)


class Model(Protocol[S, A]):
    """What the engine needs from a model (cf. stateright's ``Model``)."""

    def init_states(self) -> Sequence[S]:
        """The initial states, in a deterministic order."""
        ...

    def actions(self, state: S) -> Iterable[A]:
        """The actions enabled in ``state``, in a deterministic order."""
        ...

    def next_state(self, state: S, action: A) -> S | None:
        """The state after ``action``; ``None`` if the action is not enabled."""
        ...

    def properties(self) -> Sequence[Property[S, A]]:
        """The properties this model can check."""
        ...

    def within_boundary(self, state: S) -> bool:
        """States outside the boundary are checked but not expanded."""
        ...

    def representative(self, state: S) -> S:
        """A canonical member of ``state``'s symmetry orbit (identity if none)."""
        ...


@dataclass
class BaseModel(Generic[S, A]):
    """Defaults for the optional parts of :class:`Model`."""

    props: list[Property[S, A]] = field(default_factory=list)

    def within_boundary(self, state: S) -> bool:
        return True

    def representative(self, state: S) -> S:
        return state

    def properties(self) -> Sequence[Property[S, A]]:
        return self.props
