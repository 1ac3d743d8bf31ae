"""A candidate whose RequestVote response handler counts granted votes of any term.

Raft's rule (Figure 2, "Candidates"): votes count towards an election only
in the term they were granted for.  This file rewrites the whole handler of
RequestVote responses (the hook ``on_request_vote_response(srv, m, i)``, which
runs after the universal step-down rule): a candidate counts every granted
response, whatever its term.

    check --tweak-file examples/count_old_votes.py --servers 2 --max-term 3 --invariant ElectionSafety

finds two leaders of term 3 (the built-in tweak count-any-term-votes changes
the same rule through the guard ``counts_vote``; both give the same verdict and
the same number of states).

A handler may change anything about its server, so every reduction's
argument rests on it, and without a declaration the run would be unreduced.
This file declares that eager vote requests stay sound (they rest on a
candidate's term and log staying fixed while it is a candidate, which
counting votes does not touch).  The checker does not take that on trust:
before the run, the self-check compares the search with eager vote requests
against the plain one at small bounds, and refuses the run if they differ.
"""

from models.raft import Message, Raft, Role, ServerVars
from models.tweaks import keep_reductions, override


@override("on_request_vote_response")
def on_request_vote_response(self: Raft, srv: ServerVars, m: Message, i: int) -> tuple[ServerVars, Message | None]:
    if srv.role == Role.Candidate and m.mvoteGranted:  # no check of m.mterm
        srv = self.count_vote(srv, m, i)
    return srv, None  # no reply


keep_reductions("eager-votes")
