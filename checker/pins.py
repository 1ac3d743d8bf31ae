"""A partitioned next-state interface (after LTSmin's PINS) that the compiled engine consumes.

The engine sees a model only through this interface; it knows nothing of
Raft and imports nothing from ``models/``.  A model that implements it
describes:

- a **state** as a fixed-width vector of small non-negative integers, the
  *slots* (``width`` of them).  What a slot's value means (an interned server
  record, a set of messages, ...) is the model's business; the engine only
  compares, hashes, permutes and stores the integers.
- **transition groups** (:class:`Group`), each with the slots it reads and the
  slots it may write, in a fixed order.  :meth:`PinsModel.effects` gives a
  group's effect on the short vector of its read slots: a list of
  :class:`Effect` (one per transition, so a group may be nondeterministic:
  "deliver one of the messages in this slot").  An effect writes slots by
  ``SET`` (a new value) or ``MERGE`` (combine a token into the slot's value:
  :meth:`PinsModel.merge`, e.g. "add this message to the channel").
- **normalisation**: a slot may have a *context slot* (``context[k]``).
  Whenever the context's value changes, the slot's value is passed through
  :meth:`PinsModel.normalise` (context value, value) -- e.g. "drop the
  messages in a channel that can no longer change anything at their
  destination".  A merge is normalised by the model itself.  Context slots
  must not have a context themselves, so one pass suffices; normalising a
  normalised value must change nothing, and the value 0 (an empty slot)
  normalises to 0.
- **properties** as predicates over declared slots (:class:`StateProp`,
  :class:`ActionProp`): each is a conjunction over *parts*, a part being a
  short tuple of slots, so the engine memoises each part's answer on the
  part's values, as it memoises transitions.
- **symmetry** (:class:`Symmetry`): interchangeable processes, each owning one
  slot (the first ``n`` slots, in order).  A permutation of processes moves
  slots (``slot_perms``) and renames the values of the process slots
  (:meth:`PinsModel.rename`); other slots' values are not renamed.
  :meth:`PinsModel.sym_key` is a summary of a process's slot that does not
  depend on process names; the engine canonicalises by sorting processes by
  it and permuting only within ties, preferring the renaming with the least
  process values in :meth:`PinsModel.process_order` (see
  ``checker/compiled.py``).

Every answer is computed by the model once, from its readable semantics, and
cached by the engine in tables that it fills when it meets a key the first
time; so a change to the readable model (a tweak) reaches the engine with no
change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from checker.model import Kind, Property

SET = 0
"""Effect op: the slot takes the value ``arg``."""
MERGE = 1
"""Effect op: the slot takes ``merge(slot, context value, value, arg)``."""

MAX_READS = 3
"""A group reads at most this many slots (the compiled engine's memo key has room for three values)."""


@dataclass(frozen=True)
class Group:
    """A transition group: the slots its effects depend on and the slots they may change."""

    name: str
    reads: tuple[int, ...]
    writes: tuple[int, ...]


class Op(NamedTuple):
    slot: int
    kind: int  # SET or MERGE
    arg: int


class Effect(NamedTuple):
    """One transition of a group: its action label (an index into ``labels``) and its writes, applied in order."""

    label: int
    ops: tuple[Op, ...]


@dataclass(frozen=True)
class StateProp:
    """An ALWAYS or SOMETIMES property: it holds in a state iff it holds on every part's values."""

    prop: Property[Any, Any]
    parts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class ActionProp:
    """An ACTION property: it holds for a transition iff it holds on every part's (before, after) values."""

    prop: Property[Any, Any]
    parts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Symmetry:
    """Processes ``0..n-1`` own slots ``0..n-1``; ``perms[p][i]`` is process i's new name under permutation p;
    ``slot_perms[p][k]`` is the slot that slot k's value moves to."""

    n: int
    perms: tuple[tuple[int, ...], ...]
    slot_perms: tuple[tuple[int, ...], ...]


class PinsModel(Protocol):
    """What the compiled engine needs from a model (attributes may be plain attributes; they are only read).

    Optional, for ``--checkpoint``: ``interned()``, a picklable value of whatever gives slot values their meaning
    (interning tables), and ``restore_interned(saved)``, which makes the model intern as it did when that was saved."""

    @property
    def width(self) -> int: ...
    @property
    def slot_names(self) -> Sequence[str]: ...
    @property
    def context(self) -> Sequence[int]: ...
    @property
    def groups(self) -> Sequence[Group]: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def state_props(self) -> Sequence[StateProp]: ...
    @property
    def action_props(self) -> Sequence[ActionProp]: ...
    @property
    def symmetry(self) -> Symmetry | None: ...
    @property
    def properties(self) -> Sequence[Property[Any, Any]]:
        """Every property, in the order results list them."""
        ...

    def initial(self) -> list[tuple[int, ...]]:
        """The initial state vectors, in a deterministic order."""
        ...

    def effects(self, group: int, values: tuple[int, ...]) -> list[Effect]:
        """The transitions of ``group`` when its read slots hold ``values``, in a fixed order."""
        ...

    def normalise(self, slot: int, ctx: int, value: int) -> int:
        """``value`` of ``slot`` normalised against its context slot's value ``ctx``."""
        ...

    def merge(self, slot: int, ctx: int, value: int, token: int) -> int:
        """``value`` of ``slot`` with ``token`` merged in, normalised against ``ctx`` (0 if the slot has no context)."""
        ...

    def holds(self, prop: int, part: int, values: tuple[int, ...]) -> bool:
        """Whether ``state_props[prop]`` holds on part ``part`` whose slots hold ``values``."""
        ...

    def action_holds(self, prop: int, part: int, before: tuple[int, ...], after: tuple[int, ...]) -> bool:
        """Whether ``action_props[prop]`` holds on part ``part`` of a transition."""
        ...

    def rename(self, perm: int, value: int) -> int:
        """The value of a process slot after renaming processes by ``symmetry.perms[perm]``."""
        ...

    def sym_key(self, process: int, value: int) -> Any:
        """A summary of process ``process`` with slot value ``value`` that does not depend on process names (ordered)."""
        ...

    def process_order(self, value: int) -> Any:
        """A sort key for process-slot values, one-to-one (e.g. the readable value): it picks among renamings."""
        ...

    # The readable side, for traces: the engine stores vectors and reports readable states.
    def decode(self, vector: tuple[int, ...]) -> Any:
        """The readable model's state for ``vector``."""
        ...

    @property
    def readable(self) -> Any:
        """The readable model (a :class:`checker.model.Model`) whose transitions traces are re-found in."""
        ...


def check_model(m: PinsModel) -> None:
    """Refuse a model that breaks the interface's rules, with the rule in the message."""
    if len(m.context) != m.width or len(m.slot_names) != m.width:
        raise ValueError("context and slot_names need one entry per slot")
    for k, c in enumerate(m.context):
        if c >= 0 and m.context[c] >= 0:
            raise ValueError(f"slot {m.slot_names[k]}: its context slot {m.slot_names[c]} has a context itself; contexts must be one level deep")
    for g in m.groups:
        if not 1 <= len(g.reads) <= MAX_READS:
            raise ValueError(f"group {g.name}: reads {len(g.reads)} slots; the compiled engine takes 1 to {MAX_READS}")
    for sp in m.state_props:
        if sp.prop.kind is Kind.ACTION:
            raise ValueError(f"property {sp.prop.name} is an action property: declare it as an ActionProp")
    for ap in m.action_props:
        if ap.prop.kind is not Kind.ACTION:
            raise ValueError(f"property {ap.prop.name} is a state property: declare it as a StateProp")
    if m.symmetry is not None:
        sym = m.symmetry
        if len(sym.perms) != len(sym.slot_perms):
            raise ValueError("symmetry: one slot permutation per process permutation")
        for p, sp_ in zip(sym.perms, sym.slot_perms, strict=True):
            if sorted(sp_) != list(range(m.width)):
                raise ValueError(f"symmetry: slot map {sp_} is not a permutation of the slots")
            if any(sp_[i] != p[i] for i in range(sym.n)):
                raise ValueError("symmetry: process i's slot must move to process p[i]'s slot")
