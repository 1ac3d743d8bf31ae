"""A designated leader: S1 may become leader with its own vote alone.

Raft's rule (Figure 2, "Candidates"): a candidate becomes leader on votes
from a majority of servers.  This file gives one server, S1 (id 0), a
shortcut: it needs only its own vote.  Every other server still needs a
majority.  Every hook receives the id of the server it acts for as its last
argument, here ``i``.

    check --tweak-file examples/designated_leader.py --servers 3 --max-term 1 --no-symmetry --invariant ElectionSafety

finds two leaders of term 1: S1 leads on its own vote while S2 wins S3's vote.

``--no-symmetry`` is needed: symmetry reduction stores one state per orbit
under renaming of servers, which is sound only if the protocol treats servers
alike, and this one does not.  Without the flag the self-check finds that the
symmetric search reaches states the plain one does not, and refuses the run
(exit 2).  ``has_quorum`` is in no reduction's argument, so all of them stay on.
"""

from models.raft import Raft, ServerVars
from models.tweaks import override


@override("has_quorum")
def has_quorum(self: Raft, srv: ServerVars, i: int) -> bool:
    if i == 0:
        return i in srv.votesGranted  # S1: its own vote suffices
    return self.quorum(len(srv.votesGranted))
