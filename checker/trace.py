"""Concrete traces: undo the symmetry reduction along a path, and replay it.

A stored path is a path of orbit representatives.  Consecutive representatives
need not be related by a transition of the model (each was canonicalised on
its own), so we rebuild the path forward from a concrete initial state: at each
step we pick the first enabled action (in the model's deterministic order)
whose successor lies in the next representative's orbit.  Such an action exists
because the model's transition relation is symmetric.  The result is a real
execution with the model's concrete server names.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from checker.model import Kind, Model, Property

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)


@dataclass(frozen=True)
class Step(Generic[S, A]):
    """One step of a trace: the action taken (None for the initial state) and the state it led to."""

    action: A | None
    state: S


class ReplayError(AssertionError):
    """A trace that is not an execution of the model."""


def concretize(
    model: Model[S, A],
    path: Sequence[S],
    canon: Callable[[S], S],
    final: tuple[Property[S, A], S | None] | None = None,
) -> list[Step[S, A]]:
    """Turn a path of representatives into a concrete trace.

    ``final`` names an ACTION property and the (raw) bad successor of the last
    state of ``path``: the trace is then extended by one concrete transition
    that violates it.
    """
    start = next((s for s in model.init_states() if canon(s) == path[0]), None)
    if start is None:
        raise ReplayError("no initial state matches the start of the path")
    trace: list[Step[S, A]] = [Step(None, start)]
    cur = start
    for rep in path[1:]:
        found = None
        for a in model.actions(cur):
            t = model.next_state(cur, a)
            if t is not None and canon(t) == rep:
                found = (a, t)
                break
        if found is None:
            raise ReplayError(f"no transition from step {len(trace) - 1} reaches the next state of the path")
        trace.append(Step(found[0], found[1]))
        cur = found[1]
    if final is not None:
        prop, bad = final
        assert bad is not None
        target = canon(bad)
        for a in model.actions(cur):
            t = model.next_state(cur, a)
            if t is not None and canon(t) == target and not prop.check(cur, a, t):
                trace.append(Step(a, t))
                break
        else:
            raise ReplayError(f"no transition from the last state violates {prop.name}")
    return trace


def replay(model: Model[S, A], trace: Sequence[Step[S, A]], prop: Property[S, A] | None = None) -> None:
    """Check that ``trace`` is an execution of ``model`` (and that it violates ``prop``, if given).

    Raises :class:`ReplayError` otherwise.
    """
    if not trace or trace[0].action is not None or trace[0].state not in list(model.init_states()):
        raise ReplayError("a trace must start with an initial state of the model")
    for k in range(1, len(trace)):
        prev, step = trace[k - 1].state, trace[k]
        if step.action not in list(model.actions(prev)):
            raise ReplayError(f"step {k}: action {step.action!r} is not enabled")
        if model.next_state(prev, step.action) != step.state:
            raise ReplayError(f"step {k}: {step.action!r} does not lead to the recorded state")
    if prop is None:
        return
    last = trace[-1]
    broke: Any
    if prop.kind is Kind.ACTION:
        broke = len(trace) >= 2 and not prop.check(trace[-2].state, last.action, last.state)
    elif prop.kind is Kind.ALWAYS:
        broke = not prop.check(last.state)
    else:
        broke = prop.check(last.state)  # a witness for a SOMETIMES property
    if not broke:
        raise ReplayError(f"the trace's last step does not show {prop.name}")
