"""A server that grants its vote without recording it in votedFor.

Raft's rule (Figure 2, RequestVote RPC, and "Persistent state on all
servers"): a server that grants its vote sets votedFor := candidateId, and
persists it before it replies; that record is what stops it from voting
again in the same term.  This file keeps the decision (``can_grant_vote``,
``log_ok_for_vote`` and the stale-term check are unchanged) but drops the
record: the reply says "granted", and votedFor stays as it was.

    check --tweak-file examples/vote_not_recorded.py --servers 3 --max-term 1 --invariant ElectionSafety

finds two leaders of term 1: S1 and S2 time out into term 1 and vote for
themselves (``start_election`` records that vote), and S3, whose votedFor
stays empty, grants both.  With 2 servers it holds: each leader needs the
other's vote, and a candidate has recorded its vote for itself.

The hook ``record_vote(srv, m, i)`` is the update of a granted vote.  Message
pruning rests on "a vote once cast is fixed for the term", so it is off; eager
vote requests rest on nothing this hook does, so they stay on (the ``check``
header says which is which), and the self-check tests that before the run.
"""

from models.raft import Message, Raft, ServerVars
from models.tweaks import override


@override("record_vote")
def record_vote(self: Raft, srv: ServerVars, m: Message, i: int) -> ServerVars:
    return srv  # the reply says granted; votedFor is not recorded
