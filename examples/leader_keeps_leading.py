"""A leader that adopts a newer term from an AppendEntries response but keeps leading.

Raft's rule (Figure 2, "Rules for All Servers"): "If RPC request or response
contains term T > currentTerm: set currentTerm = T, convert to follower".
This file changes that rule for one message type only: a leader that hears
of a newer term in an AppendEntries *response* adopts the term (and clears
votedFor, as the rule says) but stays leader.  Every other message still
makes a server step down.

    check --tweak-file examples/leader_keeps_leading.py --servers 2 --max-term 2 --invariant ElectionSafety

finds two leaders of term 2 in a few steps: S1 leads term 1; S2 times out
into term 2 and refuses S1's heartbeat with its newer term; S1 adopts term 2
and keeps leading, and as it has not voted in term 2 it votes for S2, which
becomes the second leader of term 2.

The hook ``step_down_on(srv, m, i)`` is the universal rule as server i
receives message m; the default calls ``step_down(srv, m.mterm, i)`` when
``m.mterm > currentTerm`` (``step_down`` alone never sees the message, so this
change cannot be written with it).  Every reduction's soundness argument
rests on the step-down rule, so this file keeps none: the run is unreduced
(the ``check`` header says why for each reduction).
"""

from models.raft import NIL, Message, MType, Raft, Role, ServerVars
from models.tweaks import override


@override("step_down_on")
def step_down_on(self: Raft, srv: ServerVars, m: Message, i: int) -> ServerVars:
    if m.mtype == MType.AppendEntriesResponse and srv.role == Role.Leader and m.mterm > srv.currentTerm:
        return srv._replace(currentTerm=m.mterm, votedFor=NIL)  # adopt the term, keep leading
    return Raft.step_down_on(self, srv, m, i)  # the unmodified rule for every other message
