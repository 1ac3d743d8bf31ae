"""An example tweak file: a server grants its vote to ANY candidate.

Raft's rule (Figure 2, RequestVote RPC, receiver implementation 2): grant the
vote only "if votedFor is null or candidateId", i.e. a server votes at most
once per term.  This file deletes that rule.  Run it with

    check --tweak-file examples/any_vote.py --servers 2 --max-term 1 --invariant ElectionSafety

and the checker finds two leaders of term 1: each of two candidates votes
for itself and then for the other one, so both reach a majority (2 of 2).
(Without --invariant the structural invariant SelfVote fails first: a
candidate that votes for another no longer holds its own vote.)

A tweak file is ordinary Python, run once when the checker starts.  Each
function decorated with ``@override("<hook>")`` replaces the model's method
of that name (``check --tweak-file`` with an unknown name lists the valid
ones; see also ``HOOKS`` in models/raft.py).  The function receives the same
arguments as the method it replaces, ``self`` (the model) first, and must
return the same kind of value.  Everything else about the model stays as it
is in spec/Raft.tla.
"""

from models.raft import Message, Raft, ServerVars
from models.tweaks import override


# The hook being replaced, for comparison (models/raft.py):
#
#     @hook
#     def can_grant_vote(self, srv: ServerVars, m: Message) -> bool:
#         """Grant only if not voted for another candidate in this term."""
#         return srv.votedFor in (NIL, m.msource)
#
# ``srv`` is the receiving server's state (after the step-down rule has
# adopted a newer term, if m carried one) and ``m`` the RequestVoteRequest.
# The log check (``log_ok_for_vote``) and the stale-term check are separate
# hooks and still apply.
@override("can_grant_vote")
def can_grant_vote(self: Raft, srv: ServerVars, m: Message) -> bool:
    return True  # ignore votedFor: vote for every candidate that asks


# Not calling keep_reductions() here: the message-pruning reduction assumes a
# server's vote is fixed once cast in a term, which this tweak breaks.  Its
# argument names can_grant_vote among the hooks it rests on, so the checker
# turns pruning off by itself; eager vote requests rest on no hook this file
# overrides, so they stay on (the `check` header lists both, with the reason,
# and the self-check compares them with the plain search before the run).
