"""The successor function that simulation runs on, behind a small interface (:class:`Kernel`).

``check simulate`` (``raft_check/simulate.py``) walks and shrinks through this
interface only.  Two kernels implement it: ``checker/pins_walk.PinsWalkKernel``
(the default: whole walks in compiled code over a ``checker.pins`` model) and
``raft_check/readable_kernel.ReadableKernel`` (the readable model's own
successors, interned), to which the compiled one hands shrinking, single-state
property checks and traces, and which walks in Python where the compiled
kernel cannot run a model.  What a kernel must supply:

- ``initial()``: the encoded initial states;
- ``moves(s)``: every transition from encoded state ``s`` as a :data:`Move`
  ``(action index, slot, body, successor)``, in an order fixed by the states'
  *content* (never by how values happen to be numbered in this process), so
  that a walk driven by a seeded RNG takes the same steps in every process;
- ``action(move)`` and ``apply(s, action)``: to and from the readable
  model's actions (type ``A``; traces cross processes and are shrunk as
  readable actions);
- ``decode(s)`` (a readable state, type ``S``) and ``digest(s)`` (a content
  hash, equal in every process);
- the property checks: ``bad_step`` (the first violated invariant or action
  property of a transition), ``violates`` (one property), ``witnesses`` (the
  ``sometimes`` properties a state satisfies).

The interface names no model: an encoded state is a tuple of small integers,
and the readable states and actions are type parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from checker.model import Property

S = TypeVar("S")
A = TypeVar("A")

Flat = tuple[int, ...]
"""An encoded state: a fixed-width tuple of small integers."""

Move = tuple[int, int, int, Flat]
"""A transition: (action index, slot position or -1, message body code or -1, successor)."""


class Kernel(Protocol[S, A]):
    """What a walk needs from a successor function (see the module docstring)."""

    n: int
    names: Sequence[str]  # action index -> action name (Raft's kernel names its deliveries "HandleRPC")
    handle_index: int  # the action index of a message delivery (its moves name the slot and the message body)
    owner: Sequence[int]  # action index -> the process (0 .. n-1) whose action it is (-1 for a delivery)
    message_kinds: int  # deliveries are of kinds 0 .. message_kinds - 1 (swarm walks lose each kind at its own rate)
    props: Sequence[Property[S, A]]  # the checked properties; the check methods return indexes into it

    def initial(self) -> list[Flat]: ...
    def moves(self, s: Flat) -> list[Move]: ...
    def action(self, mv: Move) -> A: ...
    def apply(self, s: Flat, a: A) -> Move | None: ...
    def decode(self, s: Flat) -> S: ...
    def message_kind(self, mv: Move) -> int: ...
    def digest(self, s: Flat) -> int: ...
    def canon(self, s: Flat) -> Flat: ...
    def bad_step(self, s: Flat, mv: Move) -> int: ...
    def first_bad(self, s: Flat, moves: Sequence[Move]) -> tuple[int, int] | None: ...
    def check_state(self, s: Flat) -> int: ...
    def violates(self, p: int, s: Flat, mv: Move | None) -> bool: ...
    def witnesses(self, s: Flat, pending: Sequence[int]) -> list[int]: ...
