-------------------------------- MODULE Raft --------------------------------
(***************************************************************************)
(* Raft leader election and log replication (Figure 2 of the Raft paper)   *)
(* as the transition system that models/raft.py explores.  The two are     *)
(* meant to be the same system state for state: every variable, action,    *)
(* message field and property below has the name of its Python            *)
(* counterpart (see spec/README.md for the mapping).                       *)
(*                                                                         *)
(* The network is a SET of messages.  Delivering a message does not remove *)
(* it, so any message may be lost (never delivered), duplicated (delivered *)
(* again) or reordered.  Any server may Restart at any time and loses its  *)
(* volatile state; currentTerm, votedFor and log are persistent.           *)
(*                                                                         *)
(* With Reduce = TRUE sound state-space reductions are on, exactly as in  *)
(* Python with reductions (the default; `--unreduced` is Reduce = FALSE):  *)
(*   - eager vote requests: Timeout sends the RequestVote RPCs to all      *)
(*     other servers itself, and the RequestVote action is disabled;       *)
(*   - message pruning: after every step, Prune removes from the network   *)
(*     the messages whose delivery can no longer change anything (Dead).   *)
(*     Of the requests whose every delivery only tells the sender the      *)
(*     receiver's term (NotifyOnly), it keeps the least of each group in   *)
(*     the election layer, and folds each into the bare Fold(m) in the     *)
(*     log layer (MaxLog > 0);                                             *)
(*   - eager appends, in the log layer only: every step that makes i a     *)
(*     leader or changes what its AppendEntries RPCs would carry sends     *)
(*     them (Heartbeats), and the AppendEntries action is disabled.        *)
(* The election layer runs without folding and eager appends, so that its  *)
(* state counts stay those of the model before the log layer.  The         *)
(* soundness arguments are in models/raft.py.                              *)
(*                                                                         *)
(* With History = TRUE the ghost variable elected records every <<term,    *)
(* server>> pair such that the server was leader in that term in some      *)
(* state so far, for ElectionSafetyHistory (Python: history=True, set by   *)
(* `check --invariant ElectionSafetyHistory`).  With History = FALSE it    *)
(* stays {}, so the state counts are those of the model without it.        *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, Sequences, TLC

CONSTANTS
    Server,   \* the servers; model values s1, s2, ... (Python's 0, 1, ... shown as S1, S2, ...)
    MaxTerm,  \* Timeout is enabled only while currentTerm < MaxTerm
    MaxLog,   \* ClientRequest is enabled only while Len(log) < MaxLog; 0 = election layer
    Reduce,   \* BOOLEAN: eager vote requests and message pruning (Python: not --unreduced)
    History,  \* BOOLEAN: keep the ghost elected (Python: history, for ElectionSafetyHistory)
    Nil       \* votedFor of a server without a vote in its current term (Python: -1)

ASSUME /\ MaxTerm \in Nat
       /\ MaxLog \in Nat
       /\ Reduce \in BOOLEAN
       /\ History \in BOOLEAN
       /\ Nil \notin Server

VARIABLES
    currentTerm,   \* [Server -> Nat], persistent
    role,          \* [Server -> {Follower, Candidate, Leader}], volatile
    votedFor,      \* [Server -> Server \cup {Nil}], persistent
    votesGranted,  \* [Server -> SUBSET Server], volatile
    log,           \* [Server -> Seq(Nat)]: the term of each entry, index 1 first; persistent
    commitIndex,   \* [Server -> Nat], volatile
    nextIndex,     \* [Server -> [Server -> Nat]], volatile
    matchIndex,    \* [Server -> [Server -> Nat]], volatile
    messages,      \* the network: a set of message records (see Msg)
    committed,     \* GHOST: set of [index, term, commitTerm] records, for LeaderCompleteness
    elected        \* GHOST: set of <<term, server>> pairs that were ever leader, for ElectionSafetyHistory

vars == <<currentTerm, role, votedFor, votesGranted, log, commitIndex,
          nextIndex, matchIndex, messages, committed, elected>>

serverVars == <<currentTerm, role, votedFor, votesGranted, log, commitIndex,
                nextIndex, matchIndex>>

-----------------------------------------------------------------------------
(* Roles and message types.  Python's IntEnums Role and MType; the numbers *)
(* of MType are its order, which Prune needs (see MsgLess).                *)

Follower  == "Follower"
Candidate == "Candidate"
Leader    == "Leader"

RequestVoteRequest    == "RequestVoteRequest"
RequestVoteResponse   == "RequestVoteResponse"
AppendEntriesRequest  == "AppendEntriesRequest"
AppendEntriesResponse == "AppendEntriesResponse"

MTypeRank(t) ==
    CASE t = RequestVoteRequest    -> 0
      [] t = RequestVoteResponse   -> 1
      [] t = AppendEntriesRequest  -> 2
      [] t = AppendEntriesResponse -> 3

-----------------------------------------------------------------------------
(* Helpers *)

Min(a, b) == IF a <= b THEN a ELSE b
Max(a, b) == IF a >= b THEN a ELSE b

MaxOf(S) == CHOOSE x \in S : \A y \in S : y <= x

\* A majority of the cluster.
Quorum(k) == 2 * k > Cardinality(Server)

LastTerm(xlog) == IF Len(xlog) = 0 THEN 0 ELSE xlog[Len(xlog)]

\* Python's slice s[:k] (it never fails when k > Len(s)).
Prefix(s, k) == SubSeq(s, 1, Min(k, Len(s)))

\* Python's tuple order on sequences of naturals: lexicographic, a proper
\* prefix first.
SeqLess(a, b) ==
    \E k \in 0..Min(Len(a), Len(b)) :
        /\ \A l \in 1..k : a[l] = b[l]
        /\ \/ k = Len(a) /\ k < Len(b)
           \/ k < Len(a) /\ k < Len(b) /\ a[k + 1] < b[k + 1]

BoolRank(b) == IF b THEN 1 ELSE 0

(* A message is a full record with every field of Python's Message; the    *)
(* fields its mtype does not use keep these defaults.                      *)
Msg(type, term, src, dst) ==
    [mtype         |-> type,
     mterm         |-> term,
     msource       |-> src,
     mdest         |-> dst,
     mlastLogTerm  |-> 0,       \* RequestVoteRequest
     mlastLogIndex |-> 0,       \* RequestVoteRequest
     mvoteGranted  |-> FALSE,   \* RequestVoteResponse
     mprevLogIndex |-> 0,       \* AppendEntriesRequest
     mprevLogTerm  |-> 0,       \* AppendEntriesRequest
     mentries      |-> <<>>,    \* AppendEntriesRequest
     mcommitIndex  |-> 0,       \* AppendEntriesRequest
     msuccess      |-> FALSE,   \* AppendEntriesResponse
     mmatchIndex   |-> 0]       \* AppendEntriesResponse

(* Python sorts messages as tuples: (mtype, mterm, msource, mdest, then    *)
(* the other fields in declaration order).  MsgLess is that order on two   *)
(* messages with the same msource and mdest, which is the only case Prune  *)
(* compares; so no order on Server is needed, and Server can be a set of   *)
(* model values (which TLC's SYMMETRY requires).                           *)
MsgLess(a, b) ==
    LET ka == <<MTypeRank(a.mtype), a.mterm, a.mlastLogTerm, a.mlastLogIndex,
                BoolRank(a.mvoteGranted), a.mprevLogIndex, a.mprevLogTerm>>
        kb == <<MTypeRank(b.mtype), b.mterm, b.mlastLogTerm, b.mlastLogIndex,
                BoolRank(b.mvoteGranted), b.mprevLogIndex, b.mprevLogTerm>>
        ta == <<a.mcommitIndex, BoolRank(a.msuccess), a.mmatchIndex>>
        tb == <<b.mcommitIndex, BoolRank(b.msuccess), b.mmatchIndex>>
    IN \/ SeqLess(ka, kb)
       \/ ka = kb /\ SeqLess(a.mentries, b.mentries)
       \/ ka = kb /\ a.mentries = b.mentries /\ SeqLess(ta, tb)

-----------------------------------------------------------------------------
(* The reductions.  Dead, NotifyOnly and Prune are evaluated on the NEXT   *)
(* state's server variables (primed), as Python prunes with the updated    *)
(* servers; so Send must be the last conjunct of every action.             *)

(* Dead(m): delivering the response m now or later changes nothing.        *)
Dead(m) ==
    LET d == m.mdest IN
    /\ m.mtype \in {RequestVoteResponse, AppendEntriesResponse}
    /\ \/ m.mterm < currentTerm'[d]
       \/ /\ m.mterm = currentTerm'[d]
          /\ IF m.mtype = RequestVoteResponse
               THEN \/ role'[d] # Candidate
                    \/ ~m.mvoteGranted
                    \/ m.msource \in votesGranted'[d]
               ELSE \/ role'[d] = Follower
                    \/ MaxLog = 0
                    \* a leader's indexes for m.msource would not move (see Python's Raft.dead)
                    \/ /\ role'[d] = Leader
                       /\ IF m.msuccess
                            THEN m.mmatchIndex <= matchIndex'[d][m.msource]
                            ELSE nextIndex'[d][m.msource] = matchIndex'[d][m.msource] + 1

(* NotifyOnly(m): every delivery of the request m, now or later, only     *)
(* tells its sender the receiver's term.                                   *)
NotifyOnly(m) ==
    LET d == m.mdest IN
    /\ m.mtype \in {RequestVoteRequest, AppendEntriesRequest}
    /\ \/ m.mterm < currentTerm'[d]
       \/ /\ m.mterm = currentTerm'[d]
          /\ IF m.mtype = RequestVoteRequest
               THEN votedFor'[d] # Nil
               ELSE MaxLog = 0 /\ role'[d] = Follower

(* Fold(m), log layer: the bare form of a notify-only request -- its type, *)
(* source and dest, term 0 (below any receiver's term), other fields at   *)
(* defaults.  It draws the same refusals as m, for ever (Python's         *)
(* Raft.fold argues it).                                                   *)
Fold(m) == Msg(m.mtype, 0, m.msource, m.mdest)

(* Prune(ms): drop the dead messages.  In the log layer, fold every        *)
(* notify-only request.  In the election layer, drop every notify-only     *)
(* request that has a smaller live notify-only request with the same       *)
(* sender and receiver: of each group only the least (in Python's sort     *)
(* order) is kept.                                                         *)
Prune(ms) ==
    LET live == {m \in ms : ~Dead(m)}
        Redundant(m) ==
            /\ NotifyOnly(m)
            /\ \E o \in live : /\ NotifyOnly(o)
                               /\ o.msource = m.msource
                               /\ o.mdest = m.mdest
                               /\ MsgLess(o, m)
    IN IF MaxLog > 0
         THEN {IF NotifyOnly(m) THEN Fold(m) ELSE m : m \in live}
         ELSE {m \in live : ~Redundant(m)}

(* The network of the next state: the old messages plus those sent in this *)
(* step, pruned when Reduce is on.  Python's commit_step.                  *)
Send(sent) ==
    messages' = IF Reduce THEN Prune(messages \cup sent)
                          ELSE messages \cup sent

-----------------------------------------------------------------------------
(* Initial state *)

Init ==
    /\ currentTerm  = [i \in Server |-> 0]
    /\ role         = [i \in Server |-> Follower]
    /\ votedFor     = [i \in Server |-> Nil]
    /\ votesGranted = [i \in Server |-> {}]
    /\ log          = [i \in Server |-> <<>>]
    /\ commitIndex  = [i \in Server |-> 0]
    /\ nextIndex    = [i \in Server |-> [j \in Server |-> 1]]
    /\ matchIndex   = [i \in Server |-> [j \in Server |-> 0]]
    /\ messages     = {}
    /\ committed    = {}
    /\ elected      = {}

-----------------------------------------------------------------------------
(***************************************************************************)
(* Restart(i): always enabled.  Server i crashes and recovers: it becomes  *)
(* a follower and loses votesGranted, commitIndex, nextIndex (all 1) and   *)
(* matchIndex (all 0); currentTerm, votedFor and log survive.              *)
(***************************************************************************)
Restart(i) ==
    /\ role'         = [role EXCEPT ![i] = Follower]
    /\ votesGranted' = [votesGranted EXCEPT ![i] = {}]
    /\ commitIndex'  = [commitIndex EXCEPT ![i] = 0]
    /\ nextIndex'    = [nextIndex EXCEPT ![i] = [j \in Server |-> 1]]
    /\ matchIndex'   = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ UNCHANGED <<currentTerm, votedFor, log, committed>>
    /\ Send({})

\* The AppendEntries RPC from leader i in term t to j, for i's log lg,
\* nextIndex ni for j and commitIndex ci (Python's append_request).
AppendRequest(i, j, t, lg, ni, ci) ==
    LET prev == ni - 1 IN
    [Msg(AppendEntriesRequest, t, i, j) EXCEPT
        !.mprevLogIndex = prev,
        !.mprevLogTerm  = IF prev >= 1 THEN lg[prev] ELSE 0,
        !.mentries      = SubSeq(lg, prev + 1, Min(prev + 1, Len(lg))),
        !.mcommitIndex  = ci]

\* Eager appends are part of Reduce in the log layer.
EagerAppends == Reduce /\ MaxLog > 0

\* With eager appends, leader i's RPCs to every other server, computed from
\* its next-state variables (so Send must come after them); else none.
Heartbeats(i) ==
    IF EagerAppends
      THEN {AppendRequest(i, j, currentTerm'[i], log'[i], nextIndex'[i][j], commitIndex'[i]) :
              j \in Server \ {i}}
      ELSE {}

\* The RequestVote RPC from candidate i in term t to server j.
VoteRequest(i, j, t) ==
    [Msg(RequestVoteRequest, t, i, j) EXCEPT !.mlastLogTerm  = LastTerm(log[i]),
                                             !.mlastLogIndex = Len(log[i])]

(***************************************************************************)
(* Timeout(i): enabled for a follower or candidate with                    *)
(* currentTerm[i] < MaxTerm.  Server i starts an election: its term goes   *)
(* up by one, it becomes a candidate and votes for itself.  With Reduce    *)
(* it also sends its RequestVote RPCs to all other servers in this step.   *)
(***************************************************************************)
Timeout(i) ==
    /\ role[i] \in {Follower, Candidate}
    /\ currentTerm[i] < MaxTerm
    /\ currentTerm'  = [currentTerm EXCEPT ![i] = currentTerm[i] + 1]
    /\ role'         = [role EXCEPT ![i] = Candidate]
    /\ votedFor'     = [votedFor EXCEPT ![i] = i]
    /\ votesGranted' = [votesGranted EXCEPT ![i] = {i}]
    /\ UNCHANGED <<log, commitIndex, nextIndex, matchIndex, committed>>
    /\ Send(IF Reduce
              THEN {VoteRequest(i, j, currentTerm[i] + 1) : j \in Server \ {i}}
              ELSE {})

(***************************************************************************)
(* RequestVote(i, j): enabled for i # j while i is a candidate, and only   *)
(* when Reduce is off (with Reduce, Timeout has sent the request).         *)
(* Candidate i sends j a RequestVote RPC with its term and the last term   *)
(* and length of its log.                                                  *)
(***************************************************************************)
RequestVote(i, j) ==
    /\ i # j
    /\ ~Reduce
    /\ role[i] = Candidate
    /\ UNCHANGED <<serverVars, committed>>
    /\ Send({VoteRequest(i, j, currentTerm[i])})

(***************************************************************************)
(* BecomeLeader(i): enabled for a candidate whose votesGranted form a      *)
(* majority.  Server i becomes leader; nextIndex[i][j] becomes             *)
(* Len(log[i]) + 1 and matchIndex[i][j] becomes 0 for every j.             *)
(***************************************************************************)
BecomeLeader(i) ==
    /\ role[i] = Candidate
    /\ Quorum(Cardinality(votesGranted[i]))
    /\ role'       = [role EXCEPT ![i] = Leader]
    /\ nextIndex'  = [nextIndex EXCEPT ![i] = [j \in Server |-> Len(log[i]) + 1]]
    /\ matchIndex' = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ UNCHANGED <<currentTerm, votedFor, votesGranted, log, commitIndex, committed>>
    /\ Send(Heartbeats(i))

(***************************************************************************)
(* ClientRequest(i): enabled for a leader with Len(log[i]) < MaxLog.       *)
(* Leader i appends an entry of its current term to its log.              *)
(***************************************************************************)
ClientRequest(i) ==
    /\ role[i] = Leader
    /\ Len(log[i]) < MaxLog
    /\ log' = [log EXCEPT ![i] = Append(log[i], currentTerm[i])]
    /\ UNCHANGED <<currentTerm, role, votedFor, votesGranted, commitIndex,
                   nextIndex, matchIndex, committed>>
    /\ Send(Heartbeats(i))

\* Leader i may commit index k: a majority (i itself and the j # i with
\* matchIndex[i][j] >= k) store it, and it is of i's current term.
CanCommit(i, k) ==
    /\ Quorum(1 + Cardinality({j \in Server \ {i} : matchIndex[i][j] >= k}))
    /\ log[i][k] = currentTerm[i]

(***************************************************************************)
(* AdvanceCommitIndex(i): enabled for a leader that can commit some index  *)
(* above commitIndex[i] (CanCommit).  commitIndex[i] becomes the highest   *)
(* such index, and the ghost committed records every newly committed       *)
(* entry with its index, its term and the leader's term.                   *)
(***************************************************************************)
AdvanceCommitIndex(i) ==
    LET ok == {k \in (commitIndex[i] + 1)..Len(log[i]) : CanCommit(i, k)}
        new == MaxOf(ok)
    IN /\ role[i] = Leader
       /\ ok # {}
       /\ commitIndex' = [commitIndex EXCEPT ![i] = new]
       /\ committed' = committed \cup
                         {[index |-> k, term |-> log[i][k], commitTerm |-> currentTerm[i]] :
                            k \in (commitIndex[i] + 1)..new}
       /\ UNCHANGED <<currentTerm, role, votedFor, votesGranted, log,
                      nextIndex, matchIndex>>
       /\ Send(Heartbeats(i))

(***************************************************************************)
(* AppendEntries(i, j): enabled for i # j while i is leader, unless eager  *)
(* appends are on (then the steps that change i have sent the RPC).        *)
(* Leader i sends j prevLogIndex = nextIndex[i][j] - 1 with the term of    *)
(* that entry (0 for index 0), at most one entry from nextIndex[i][j] on,  *)
(* and its commitIndex.  With nothing to send it is a heartbeat.           *)
(***************************************************************************)
AppendEntries(i, j) ==
    /\ i # j
    /\ ~EagerAppends
    /\ role[i] = Leader
    /\ UNCHANGED <<serverVars, committed>>
    /\ Send({AppendRequest(i, j, currentTerm[i], log[i], nextIndex[i][j], commitIndex[i])})

-----------------------------------------------------------------------------
(* Message handlers.  The universal rule comes first: a server that sees a *)
(* term above its own adopts it, clears votedFor and becomes a follower    *)
(* (and a follower has no votesGranted).  The ...After(m) operators give   *)
(* the receiver's variables after that rule; each handler starts there.    *)
(* Python's hooks: step_down_on is that rule, on_request_vote_request etc. *)
(* are the handlers after it, and the update hooks (record_vote,          *)
(* count_vote, accept_entries, update_indexes) are the primed updates      *)
(* marked below.                                                           *)

StepDown(m) == m.mterm > currentTerm[m.mdest]

TermAfter(m)     == IF StepDown(m) THEN m.mterm  ELSE currentTerm[m.mdest]
RoleAfter(m)     == IF StepDown(m) THEN Follower ELSE role[m.mdest]
VotedForAfter(m) == IF StepDown(m) THEN Nil      ELSE votedFor[m.mdest]
VotesAfter(m)    == IF StepDown(m) THEN {}       ELSE votesGranted[m.mdest]

\* A request older than the receiver's term: answered with failure.
Stale(m) == m.mterm < TermAfter(m)

\* The election restriction: the candidate's log is at least as up-to-date.
LogOkForVote(m) ==
    LET mine == log[m.mdest] IN
    \/ m.mlastLogTerm > LastTerm(mine)
    \/ m.mlastLogTerm = LastTerm(mine) /\ m.mlastLogIndex >= Len(mine)

(* RequestVoteRequest: grant if the request is not stale, the receiver has *)
(* not voted for another server in this term, and the log is ok; reply     *)
(* either way.                                                             *)
HandleRequestVoteRequest(m) ==
    LET d == m.mdest
        grant == /\ ~Stale(m)
                 /\ VotedForAfter(m) \in {Nil, m.msource}
                 /\ LogOkForVote(m)
        reply == [Msg(RequestVoteResponse, TermAfter(m), d, m.msource) EXCEPT
                    !.mvoteGranted = grant]
    IN /\ currentTerm'  = [currentTerm EXCEPT ![d] = TermAfter(m)]
       /\ role'         = [role EXCEPT ![d] = RoleAfter(m)]
       /\ votedFor'     = [votedFor EXCEPT ![d] = IF grant THEN m.msource  \* record_vote
                                                           ELSE VotedForAfter(m)]
       /\ votesGranted' = [votesGranted EXCEPT ![d] = VotesAfter(m)]
       /\ UNCHANGED <<log, commitIndex, nextIndex, matchIndex, committed>>
       /\ Send({reply})

(* RequestVoteResponse: a candidate adds a granted vote of its current     *)
(* term to votesGranted.                                                   *)
HandleRequestVoteResponse(m) ==
    LET d == m.mdest
        counts == /\ RoleAfter(m) = Candidate
                  /\ m.mterm = TermAfter(m)
                  /\ m.mvoteGranted
    IN /\ currentTerm'  = [currentTerm EXCEPT ![d] = TermAfter(m)]
       /\ role'         = [role EXCEPT ![d] = RoleAfter(m)]
       /\ votedFor'     = [votedFor EXCEPT ![d] = VotedForAfter(m)]
       /\ votesGranted' = [votesGranted EXCEPT ![d] = IF counts  \* count_vote
                                                        THEN VotesAfter(m) \cup {m.msource}
                                                        ELSE VotesAfter(m)]
       /\ UNCHANGED <<log, commitIndex, nextIndex, matchIndex, committed>>
       /\ Send({})

\* The receiver has an entry at mprevLogIndex of term mprevLogTerm.
LogOkForAppend(m) ==
    LET mine == log[m.mdest] IN
    \/ m.mprevLogIndex = 0
    \/ /\ m.mprevLogIndex <= Len(mine)
       /\ mine[m.mprevLogIndex] = m.mprevLogTerm

(* Merge the entries of m into xlog: delete the first conflicting entry    *)
(* and all that follow it, then append what is new; entries that agree    *)
(* are kept.  (Python's merge_entries loop, in closed form.)               *)
MergeEntries(xlog, m) ==
    LET prev == m.mprevLogIndex
        ents == m.mentries
        conflicts == {k \in 1..Len(ents) : /\ prev + k <= Len(xlog)
                                           /\ xlog[prev + k] # ents[k]}
        c == CHOOSE k \in conflicts : \A l \in conflicts : k <= l
    IN IF conflicts # {}
         THEN SubSeq(xlog, 1, prev + c - 1) \o SubSeq(ents, c, Len(ents))
         ELSE IF prev + Len(ents) > Len(xlog)
                THEN xlog \o SubSeq(ents, Len(xlog) - prev + 1, Len(ents))
                ELSE xlog

(* AppendEntriesRequest: a stale request is refused.  Otherwise a          *)
(* candidate of the same term becomes a follower; a follower whose log     *)
(* matches at mprevLogIndex merges the entries, advances commitIndex to    *)
(* min(mcommitIndex, index of the last new entry) (never lowering it) and  *)
(* replies success with that index; a leader, or a follower whose log does *)
(* not match, refuses.                                                     *)
HandleAppendEntriesRequest(m) ==
    LET d == m.mdest
        demote == ~Stale(m) /\ RoleAfter(m) = Candidate
        newRole == IF demote THEN Follower ELSE RoleAfter(m)
        newVotes == IF demote THEN {} ELSE VotesAfter(m)
        accept == ~Stale(m) /\ newRole # Leader /\ LogOkForAppend(m)
        last == m.mprevLogIndex + Len(m.mentries)
        reply == IF accept
                   THEN [Msg(AppendEntriesResponse, TermAfter(m), d, m.msource) EXCEPT
                           !.msuccess = TRUE, !.mmatchIndex = last]
                   ELSE Msg(AppendEntriesResponse, TermAfter(m), d, m.msource)
    IN /\ currentTerm'  = [currentTerm EXCEPT ![d] = TermAfter(m)]
       /\ role'         = [role EXCEPT ![d] = newRole]
       /\ votedFor'     = [votedFor EXCEPT ![d] = VotedForAfter(m)]
       /\ votesGranted' = [votesGranted EXCEPT ![d] = newVotes]
       /\ log'          = [log EXCEPT ![d] = IF accept THEN MergeEntries(log[d], m)  \* accept_entries
                                                       ELSE log[d]]
       /\ commitIndex'  = [commitIndex EXCEPT ![d] =
                             IF accept THEN Max(commitIndex[d], Min(m.mcommitIndex, last))
                                       ELSE commitIndex[d]]
       /\ UNCHANGED <<nextIndex, matchIndex, committed>>
       /\ Send({reply})

(* AppendEntriesResponse: a leader of the response's term advances         *)
(* nextIndex[d][j] to mmatchIndex + 1 and matchIndex[d][j] to mmatchIndex  *)
(* on success, neither ever backwards; on failure it backs nextIndex[d][j] *)
(* off by one, but not to or below matchIndex[d][j].  So a leader always   *)
(* has nextIndex[d][j] > matchIndex[d][j].                                 *)
HandleAppendEntriesResponse(m) ==
    LET d == m.mdest
        j == m.msource
        current == RoleAfter(m) = Leader /\ m.mterm = TermAfter(m)
    IN /\ currentTerm'  = [currentTerm EXCEPT ![d] = TermAfter(m)]
       /\ role'         = [role EXCEPT ![d] = RoleAfter(m)]
       /\ votedFor'     = [votedFor EXCEPT ![d] = VotedForAfter(m)]
       /\ votesGranted' = [votesGranted EXCEPT ![d] = VotesAfter(m)]
       /\ nextIndex'    = IF ~current THEN nextIndex  \* update_indexes
                          ELSE IF m.msuccess
                                 THEN [nextIndex EXCEPT ![d][j] = Max(@, m.mmatchIndex + 1)]
                                 ELSE [nextIndex EXCEPT ![d][j] = Max(@ - 1, matchIndex[d][j] + 1)]
       /\ matchIndex'   = IF current /\ m.msuccess
                            THEN [matchIndex EXCEPT ![d][j] = Max(@, m.mmatchIndex)]
                            ELSE matchIndex
       /\ UNCHANGED <<log, commitIndex, committed>>
       \* Eager appends: the next RPC to j goes out now (only nextIndex[d][j] may have changed).
       /\ Send(IF current /\ EagerAppends
                 THEN {AppendRequest(d, j, currentTerm'[d], log[d], nextIndex'[d][j], commitIndex[d])}
                 ELSE {})

(***************************************************************************)
(* HandleRPC(m): enabled for every message m in the network; m stays       *)
(* there.  The receiver m.mdest applies the step-down rule and then the    *)
(* handler of m.mtype, which may send one reply.                           *)
(***************************************************************************)
HandleRPC(m) ==
    /\ m \in messages
    /\ CASE m.mtype = RequestVoteRequest    -> HandleRequestVoteRequest(m)
         [] m.mtype = RequestVoteResponse   -> HandleRequestVoteResponse(m)
         [] m.mtype = AppendEntriesRequest  -> HandleAppendEntriesRequest(m)
         [] m.mtype = AppendEntriesResponse -> HandleAppendEntriesResponse(m)

-----------------------------------------------------------------------------
(* The next-state relation: the actions in Python's order. *)

Next ==
    \/ \E i \in Server : Restart(i)
    \/ \E i \in Server : Timeout(i)
    \/ \E i, j \in Server : RequestVote(i, j)
    \/ \E i \in Server : BecomeLeader(i)
    \/ \E i \in Server : ClientRequest(i)
    \/ \E i \in Server : AdvanceCommitIndex(i)
    \/ \E i, j \in Server : AppendEntries(i, j)
    \/ \E m \in messages : HandleRPC(m)

\* GHOST: after every step, each server that leads in the next state is
\* recorded with its term (Python's record_leaders, in commit_step).  The
\* actions leave elected to this conjunct, so a change of the rule that makes
\* a leader is recorded too.  Symmetry (Perms) renames the servers in it.
RecordLeaders ==
    elected' = IF History
               THEN elected \cup {<<currentTerm'[i], i>> : i \in {j \in Server : role'[j] = Leader}}
               ELSE elected

Spec == Init /\ [][Next /\ RecordLeaders]_vars

\* For TLC's SYMMETRY (RaftSym.cfg): servers are interchangeable.
Perms == Permutations(Server)

-----------------------------------------------------------------------------
(* Properties, named as in Python (`check --list-properties`). *)

\* Not a Python property: the shape of the variables.
TypeOK ==
    /\ currentTerm \in [Server -> Nat]
    /\ role \in [Server -> {Follower, Candidate, Leader}]
    /\ votedFor \in [Server -> Server \cup {Nil}]
    /\ votesGranted \in [Server -> SUBSET Server]
    /\ log \in [Server -> Seq(Nat)]
    /\ commitIndex \in [Server -> Nat]
    /\ nextIndex \in [Server -> [Server -> Nat]]
    /\ matchIndex \in [Server -> [Server -> Nat]]
    /\ elected \subseteq Nat \X Server
    /\ \A m \in messages :
          /\ m.mtype \in {RequestVoteRequest, RequestVoteResponse,
                          AppendEntriesRequest, AppendEntriesResponse}
          /\ m.msource \in Server
          /\ m.mdest \in Server

\* No two leaders share a term.
ElectionSafety ==
    \A i, j \in Server :
        (i # j /\ role[i] = Leader /\ role[j] = Leader) => currentTerm[i] # currentTerm[j]

\* At most one server is ever leader in a term, over the whole history
\* (Figure 3: "at most one leader can be elected in a given term"); checked
\* with History = TRUE.
ElectionSafetyHistory ==
    \A e, f \in elected : e[1] = f[1] => e[2] = f[2]

\* No message in flight carries a term above its sender's currentTerm.
MessageTermBound ==
    \A m \in messages : m.mterm <= currentTerm[m.msource]

\* A candidate or leader has voted for itself in its current term.
SelfVote ==
    \A i \in Server : role[i] # Follower => votedFor[i] = i

\* A majority of servers are at or above each leader's term.
LeaderQuorumTerm ==
    \A i \in Server :
        role[i] = Leader =>
            Quorum(Cardinality({j \in Server : currentTerm[j] >= currentTerm[i]}))

\* A leader's recorded votes form a majority; a candidate's votes include itself.
VotesGrantedQuorum ==
    \A i \in Server :
        /\ role[i] = Leader => Quorum(Cardinality(votesGranted[i]))
        /\ role[i] # Follower => i \in votesGranted[i]

\* Python's LeaderElected is a 'sometimes' property: some reachable state
\* has a leader.  TLC checks it as the invariant NoLeader, whose VIOLATION
\* is the expected outcome (a trace to a leader).
LeaderElected == \E i \in Server : role[i] = Leader
NoLeader == ~LeaderElected

(* The replication properties (Figure 3); Python checks them only when     *)
(* MaxLog >= 1 (with MaxLog = 0 they hold trivially).                      *)

\* Two logs with an entry of the same index and term agree up to it.
LogMatching ==
    \A i, j \in Server :
        \A k \in 1..Min(Len(log[i]), Len(log[j])) :
            log[i][k] = log[j][k] => SubSeq(log[i], 1, k) = SubSeq(log[j], 1, k)

\* An entry committed in term T is in the log of every leader of a term above T.
LeaderCompleteness ==
    \A i \in Server :
        role[i] = Leader =>
            \A c \in committed :
                c.commitTerm < currentTerm[i] =>
                    /\ Len(log[i]) >= c.index
                    /\ log[i][c.index] = c.term

\* No two servers have different entries at an index at or below both commit indexes.
StateMachineSafety ==
    \A i, j \in Server :
        LET k == Min(commitIndex[i], commitIndex[j])
        IN Prefix(log[i], k) = Prefix(log[j], k)

\* 'Sometimes' property: some reachable state has a committed entry; check
\* NoCommit as an invariant and expect a violation.
EntryCommitted == \E i \in Server : commitIndex[i] > 0
NoCommit == ~EntryCommitted

\* Action properties.
TermMonotonic ==
    [][\A i \in Server : currentTerm'[i] >= currentTerm[i]]_vars

LeaderAppendOnly ==
    [][\A i \in Server :
          (role[i] = Leader /\ role'[i] = Leader /\ currentTerm'[i] = currentTerm[i])
              => Prefix(log'[i], Len(log[i])) = log[i]]_vars

=============================================================================
