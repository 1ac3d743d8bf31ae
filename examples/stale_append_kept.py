"""WRONG ON PURPOSE: accept stale AppendEntries requests, and claim that every reduction stays sound.

Raft's rule (Figure 2, AppendEntries RPC, receiver implementation 1): "Reply
false if term < currentTerm".  This file drops that check for AppendEntries
requests only (RequestVote requests are still refused when stale), so a
follower merges entries from a deposed leader.  That breaks
StateMachineSafety: at 3 servers, max-term 2, max-log 1 the unreduced search
finds a 15-step violation.

It also calls ``keep_reductions()``, which is wrong: folding assumes that a
stale request changes nothing, and folds it into a bare request without
entries.  With that reduction the same search reports a false "holds".
The self-check catches it before the run:

    check --tweak-file examples/stale_append_kept.py --servers 3 --max-term 2 --max-log 1

exits 2 and names the reduction to drop ('folding'); without the call to
``keep_reductions()`` the checker drops it by itself, since the file
overrides ``is_stale_request``, on which folding rests (message pruning does
not, in the log layer, and stays on).  ``tests/test_selfcheck.py`` runs both.
"""

from models.raft import Message, MType, Raft, ServerVars
from models.tweaks import keep_reductions, override


@override("is_stale_request")
def is_stale_request(self: Raft, srv: ServerVars, m: Message, i: int) -> bool:
    if m.mtype == MType.AppendEntriesRequest:
        return False  # process AppendEntries of any term as if current
    return Raft.is_stale_request(self, srv, m, i)


keep_reductions()  # wrong: see above
