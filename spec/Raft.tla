-------------------------------- MODULE Raft --------------------------------
(***************************************************************************)
(* Raft leader election and log replication (Figure 2 of the Raft paper)   *)
(* as the transition system that models/raft.py explores.  The two are     *)
(* meant to be the same system state for state: every variable, action,    *)
(* message field, property, hook and helper below has the name of its      *)
(* Python counterpart (see spec/README.md for the mapping).                *)
(*                                                                         *)
(* The network is a SET of messages.  Delivering a message does not remove *)
(* it, so any message may be lost (never delivered), duplicated (delivered *)
(* again) or reordered.  Any server may Restart at any time and loses its  *)
(* volatile state; currentTerm, votedFor and log are persistent.           *)
(*                                                                         *)
(* With Reduce = TRUE sound state-space reductions are on, exactly as in   *)
(* Python with reductions (the default; `--unreduced` is Reduce = FALSE):  *)
(*   - eager vote requests: Timeout sends the RequestVote RPCs to all      *)
(*     other servers itself, and the RequestVote action is disabled;       *)
(*   - message pruning: after every step, prune removes from the network   *)
(*     the messages whose delivery can no longer change anything (dead).   *)
(*     Of the requests whose every delivery only tells the sender the      *)
(*     receiver's term (notify_only), it keeps the least of each group in  *)
(*     the election layer, and folds each into the bare fold(m) in the     *)
(*     log layer (MaxLog > 0);                                             *)
(*   - eager appends, in the log layer only: every step that makes i a     *)
(*     leader or changes what its AppendEntries RPCs would carry sends     *)
(*     them (heartbeats), and the AppendEntries action is disabled.        *)
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
(* of MType are its order, which prune needs (see MsgLess).                *)

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
(* Helpers.  An operator with a Python twin has the twin's name, so that   *)
(* one search finds both: the actions of Next are CamelCase on both sides, *)
(* and every other operator is snake_case, as Python's methods are (the    *)
(* hooks a tweak overrides keep their parameters too).  The CamelCase      *)
(* helpers below (Min, Max, MaxOf, Prefix, SeqLess, ...) stand for Python  *)
(* built-ins; tests/test_spec.py lists every name either side has alone.   *)

Min(a, b) == IF a <= b THEN a ELSE b
Max(a, b) == IF a >= b THEN a ELSE b

MaxOf(S) == CHOOSE x \in S : \A y \in S : y <= x

\* A majority of the cluster: votes servers.
quorum(votes) == 2 * votes > Cardinality(Server)

last_term(xlog) == IF Len(xlog) = 0 THEN 0 ELSE xlog[Len(xlog)]

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
(* messages with the same msource and mdest, which is the only case prune  *)
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

(* Server i's slice of the per-server variables, as one record: Python's   *)
(* ServerVars, with the same fields.  Every hook below takes such a record *)
(* srv (and the server's id i) and returns a value or a new record, as its *)
(* Python twin does; an action then stores the new record with SetServer.  *)
ServerVars(i) ==
    [currentTerm  |-> currentTerm[i],
     role         |-> role[i],
     votedFor     |-> votedFor[i],
     votesGranted |-> votesGranted[i],
     log          |-> log[i],
     commitIndex  |-> commitIndex[i],
     nextIndex    |-> nextIndex[i],
     matchIndex   |-> matchIndex[i]]

(* The next state's variables of server i are those of the record srv; the *)
(* other servers' are unchanged (Python's _put(s.servers, i, srv)).        *)
SetServer(i, srv) ==
    /\ currentTerm'  = [currentTerm  EXCEPT ![i] = srv.currentTerm]
    /\ role'         = [role         EXCEPT ![i] = srv.role]
    /\ votedFor'     = [votedFor     EXCEPT ![i] = srv.votedFor]
    /\ votesGranted' = [votesGranted EXCEPT ![i] = srv.votesGranted]
    /\ log'          = [log          EXCEPT ![i] = srv.log]
    /\ commitIndex'  = [commitIndex  EXCEPT ![i] = srv.commitIndex]
    /\ nextIndex'    = [nextIndex    EXCEPT ![i] = srv.nextIndex]
    /\ matchIndex'   = [matchIndex   EXCEPT ![i] = srv.matchIndex]

\* nextIndex and matchIndex of a new leader with log xlog (and their values
\* after a restart, xlog = <<>>).
fresh_leader_state(xlog) ==
    <<[j \in Server |-> Len(xlog) + 1], [j \in Server |-> 0]>>

-----------------------------------------------------------------------------
(* The reductions.  dead, notify_only and prune are evaluated on the NEXT  *)
(* state's server variables (primed), as Python prunes with the updated    *)
(* servers; so commit_step must be the last conjunct of every action.      *)

\* Eager vote requests are part of Reduce (Python's flag eager_votes).
eager_votes == Reduce

\* Eager appends are part of Reduce in the log layer (Python's flag eager_appends).
eager_appends == Reduce /\ MaxLog > 0

(* dead(m): delivering the response m now or later changes nothing.        *)
dead(m) ==
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

(* notify_only(m): every delivery of the request m, now or later, only     *)
(* tells its sender the receiver's term.                                   *)
notify_only(m) ==
    LET d == m.mdest IN
    /\ m.mtype \in {RequestVoteRequest, AppendEntriesRequest}
    /\ \/ m.mterm < currentTerm'[d]
       \/ /\ m.mterm = currentTerm'[d]
          /\ IF m.mtype = RequestVoteRequest
               THEN votedFor'[d] # Nil
               ELSE MaxLog = 0 /\ role'[d] = Follower

(* fold(m), log layer: the bare form of a notify-only request -- its type, *)
(* source and dest, term 0 (below any receiver's term), other fields at    *)
(* defaults.  It draws the same refusals as m, for ever (Python's          *)
(* Raft.fold argues it).                                                   *)
fold(m) == Msg(m.mtype, 0, m.msource, m.mdest)

(* prune(ms): drop the dead messages.  In the log layer, fold every        *)
(* notify-only request.  In the election layer, drop every notify-only     *)
(* request that has a smaller live notify-only request with the same       *)
(* sender and receiver: of each group only the least (in Python's sort     *)
(* order) is kept.                                                         *)
prune(ms) ==
    LET live == {m \in ms : ~dead(m)}
        Redundant(m) ==
            /\ notify_only(m)
            /\ \E o \in live : /\ notify_only(o)
                               /\ o.msource = m.msource
                               /\ o.mdest = m.mdest
                               /\ MsgLess(o, m)
    IN IF MaxLog > 0
         THEN {IF notify_only(m) THEN fold(m) ELSE m : m \in live}
         ELSE {m \in live : ~Redundant(m)}

(* The network of the next state: the old messages plus those sent in this *)
(* step, pruned when Reduce is on.  Python's commit_step, which also       *)
(* builds the next state's servers (here SetServer) and ghosts.            *)
commit_step(sent) ==
    messages' = IF Reduce THEN prune(messages \cup sent)
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
(* The actions.  Each reads server i's record srv, applies the hooks (the  *)
(* operators in snake_case, which tweaks override in Python by name) and   *)
(* stores the result with SetServer; commit_step comes last.               *)

\* Hook: what survives a crash: currentTerm, votedFor and log.
restart_server(srv, i) ==
    LET fresh == fresh_leader_state(<<>>) IN
    [srv EXCEPT !.role = Follower, !.votesGranted = {}, !.commitIndex = 0,
                !.nextIndex = fresh[1], !.matchIndex = fresh[2]]

(***************************************************************************)
(* Restart(i): always enabled.  Server i crashes and recovers: it becomes  *)
(* a follower and loses votesGranted, commitIndex, nextIndex (all 1) and   *)
(* matchIndex (all 0); currentTerm, votedFor and log survive.              *)
(***************************************************************************)
Restart(i) ==
    /\ SetServer(i, restart_server(ServerVars(i), i))
    /\ UNCHANGED committed
    /\ commit_step({})

\* Hook: Timeout's guard: a follower or candidate below the term bound.
timeout_enabled(srv, i) ==
    /\ srv.role \in {Follower, Candidate}
    /\ srv.currentTerm < MaxTerm

\* Hook: a new term, candidate role, and a vote for itself.
start_election(srv, i) ==
    [srv EXCEPT !.currentTerm = @ + 1, !.role = Candidate, !.votedFor = i, !.votesGranted = {i}]

\* The RequestVote RPC from candidate i (record srv) to server j: its term
\* and the last term and length of its log.
vote_request(srv, i, j) ==
    [Msg(RequestVoteRequest, srv.currentTerm, i, j) EXCEPT !.mlastLogTerm  = last_term(srv.log),
                                                           !.mlastLogIndex = Len(srv.log)]

(***************************************************************************)
(* Timeout(i): enabled for a follower or candidate with                    *)
(* currentTerm[i] < MaxTerm.  Server i starts an election: its term goes   *)
(* up by one, it becomes a candidate and votes for itself.  With Reduce    *)
(* it also sends its RequestVote RPCs to all other servers in this step.   *)
(***************************************************************************)
Timeout(i) ==
    LET srv == ServerVars(i)
        cand == start_election(srv, i)
    IN /\ timeout_enabled(srv, i)
       /\ SetServer(i, cand)
       /\ UNCHANGED committed
       /\ commit_step(IF eager_votes THEN {vote_request(cand, i, j) : j \in Server \ {i}} ELSE {})

(***************************************************************************)
(* RequestVote(i, j): enabled for i # j while i is a candidate, and only   *)
(* when Reduce is off (with Reduce, Timeout has sent the request).         *)
(* Candidate i sends j a RequestVote RPC with its term and the last term   *)
(* and length of its log.                                                  *)
(***************************************************************************)
RequestVote(i, j) ==
    /\ i # j
    /\ ~eager_votes
    /\ role[i] = Candidate
    /\ UNCHANGED <<serverVars, committed>>
    /\ commit_step({vote_request(ServerVars(i), i, j)})

\* The AppendEntries RPC from leader i (record srv) to j: prevLogIndex =
\* nextIndex[j] - 1 and its term, at most one entry from nextIndex[j] on,
\* and its commitIndex.
append_request(srv, i, j) ==
    LET prev == srv.nextIndex[j] - 1 IN
    [Msg(AppendEntriesRequest, srv.currentTerm, i, j) EXCEPT
        !.mprevLogIndex = prev,
        !.mprevLogTerm  = IF prev >= 1 THEN srv.log[prev] ELSE 0,
        !.mentries      = SubSeq(srv.log, prev + 1, Min(prev + 1, Len(srv.log))),
        !.mcommitIndex  = srv.commitIndex]

\* With eager appends, leader i's RPCs to every other server, for its record
\* srv of the next state; else none.
heartbeats(srv, i) ==
    IF eager_appends
      THEN {append_request(srv, i, j) : j \in Server \ {i}}
      ELSE {}

\* Hook: BecomeLeader's guard: votes from a majority.
has_quorum(srv, i) == quorum(Cardinality(srv.votesGranted))

\* Hook: BecomeLeader's update: leader role, nextIndex[j] = Len(log) + 1 and
\* matchIndex[j] = 0 for every j.
become_leader(srv, i) ==
    LET fresh == fresh_leader_state(srv.log) IN
    [srv EXCEPT !.role = Leader, !.nextIndex = fresh[1], !.matchIndex = fresh[2]]

(***************************************************************************)
(* BecomeLeader(i): enabled for a candidate whose votesGranted form a      *)
(* majority.  Server i becomes leader; nextIndex[i][j] becomes             *)
(* Len(log[i]) + 1 and matchIndex[i][j] becomes 0 for every j.             *)
(***************************************************************************)
BecomeLeader(i) ==
    LET srv == ServerVars(i)
        leader == become_leader(srv, i)
    IN /\ srv.role = Candidate
       /\ has_quorum(srv, i)
       /\ SetServer(i, leader)
       /\ UNCHANGED committed
       /\ commit_step(heartbeats(leader, i))

\* Hook: ClientRequest's update: the leader appends an entry of its current
\* term to its log.
add_client_entry(srv, i) == [srv EXCEPT !.log = Append(@, srv.currentTerm)]

(***************************************************************************)
(* ClientRequest(i): enabled for a leader with Len(log[i]) < MaxLog.       *)
(* Leader i appends an entry of its current term to its log.               *)
(***************************************************************************)
ClientRequest(i) ==
    LET srv == ServerVars(i)
        leader == add_client_entry(srv, i)
    IN /\ srv.role = Leader
       /\ Len(srv.log) < MaxLog
       /\ SetServer(i, leader)
       /\ UNCHANGED committed
       /\ commit_step(heartbeats(leader, i))

\* Hook: leader i may commit index: a majority (i itself and the j # i with
\* matchIndex[j] >= index) store it, and it is of i's current term.
can_commit(srv, i, index) ==
    /\ quorum(1 + Cardinality({j \in Server \ {i} : srv.matchIndex[j] >= index}))
    /\ srv.log[index] = srv.currentTerm

(***************************************************************************)
(* AdvanceCommitIndex(i): enabled for a leader that can commit some index  *)
(* above commitIndex[i] (can_commit).  commitIndex[i] becomes the highest  *)
(* such index, and the ghost committed records every newly committed       *)
(* entry with its index, its term and the leader's term.                   *)
(***************************************************************************)
AdvanceCommitIndex(i) ==
    LET srv == ServerVars(i)
        ok == {k \in (srv.commitIndex + 1)..Len(srv.log) : can_commit(srv, i, k)}
        new == MaxOf(ok)
        leader == [srv EXCEPT !.commitIndex = new]
    IN /\ srv.role = Leader
       /\ ok # {}
       /\ SetServer(i, leader)
       /\ committed' = committed \cup
                         {[index |-> k, term |-> srv.log[k], commitTerm |-> srv.currentTerm] :
                            k \in (srv.commitIndex + 1)..new}
       /\ commit_step(heartbeats(leader, i))

(***************************************************************************)
(* AppendEntries(i, j): enabled for i # j while i is leader, unless eager  *)
(* appends are on (then the steps that change i have sent the RPC).        *)
(* Leader i sends j prevLogIndex = nextIndex[i][j] - 1 with the term of    *)
(* that entry (0 for index 0), at most one entry from nextIndex[i][j] on,  *)
(* and its commitIndex.  With nothing to send it is a heartbeat.           *)
(***************************************************************************)
AppendEntries(i, j) ==
    /\ i # j
    /\ ~eager_appends
    /\ role[i] = Leader
    /\ UNCHANGED <<serverVars, committed>>
    /\ commit_step({append_request(ServerVars(i), i, j)})

-----------------------------------------------------------------------------
(* Message handlers.  The universal rule comes first: step_down_on(srv, m, *)
(* i) is the receiver's record after it (step_down to a newer term, else   *)
(* unchanged); each handler starts there.  The hooks                       *)
(* on_request_vote_request etc. are the handlers after the rule: each      *)
(* returns <<srv, replies>>, the receiver's new record and the set of      *)
(* replies it sends ({} or one; Python returns the reply or None).         *)
(* handle_request_vote_request etc. store them.                            *)

\* Hook: the universal rule: on seeing term T' > currentTerm, adopt T',
\* clear votedFor, become follower (a follower has no votesGranted).
step_down(srv, term, i) ==
    [srv EXCEPT !.currentTerm = term, !.votedFor = Nil, !.role = Follower, !.votesGranted = {}]

\* Hook: the universal rule as server i receives m: if m.mterm > currentTerm,
\* step_down to it; else no change.
step_down_on(srv, m, i) ==
    IF m.mterm > srv.currentTerm THEN step_down(srv, m.mterm, i) ELSE srv

\* Hook: a request with m.mterm < currentTerm is answered with currentTerm
\* and failure.
is_stale_request(srv, m, i) == m.mterm < srv.currentTerm

\* Hook: the election restriction: the candidate's log is at least as
\* up-to-date (last term, then length).
log_ok_for_vote(srv, m, i) ==
    LET mine == last_term(srv.log) IN
    \/ m.mlastLogTerm > mine
    \/ m.mlastLogTerm = mine /\ m.mlastLogIndex >= Len(srv.log)

\* Hook: grant only if not voted for another candidate in this term.
can_grant_vote(srv, m, i) == srv.votedFor \in {Nil, m.msource}

\* Hook: the vote grant's update: record votedFor := m.msource.
record_vote(srv, m, i) == [srv EXCEPT !.votedFor = m.msource]

(* Hook: the RequestVote handler (after step-down): grant if the request   *)
(* is not stale, no other vote is cast in the term, and the log is ok;     *)
(* reply either way.                                                       *)
on_request_vote_request(srv, m, i) ==
    LET grant == /\ ~is_stale_request(srv, m, i)
                 /\ can_grant_vote(srv, m, i)
                 /\ log_ok_for_vote(srv, m, i)
        after == IF grant THEN record_vote(srv, m, i) ELSE srv
    IN <<after, {[Msg(RequestVoteResponse, after.currentTerm, i, m.msource) EXCEPT
                    !.mvoteGranted = grant]}>>

\* Hook: a vote response counts only at a candidate, only in the term it was
\* sent in, and only if granted.
counts_vote(srv, m, i) ==
    /\ srv.role = Candidate
    /\ m.mterm = srv.currentTerm
    /\ m.mvoteGranted

\* Hook: counting a vote: votesGranted := votesGranted \cup {m.msource}.
count_vote(srv, m, i) == [srv EXCEPT !.votesGranted = @ \cup {m.msource}]

\* Hook: the RequestVote response handler (after step-down): a candidate
\* counts a granted vote of its own term.
on_request_vote_response(srv, m, i) ==
    <<IF counts_vote(srv, m, i) THEN count_vote(srv, m, i) ELSE srv, {}>>

\* Hook: the log contains an entry at mprevLogIndex whose term matches
\* mprevLogTerm.
log_ok_for_append(srv, m, i) ==
    \/ m.mprevLogIndex = 0
    \/ /\ m.mprevLogIndex <= Len(srv.log)
       /\ srv.log[m.mprevLogIndex] = m.mprevLogTerm

(* Hook: merge the entries of m into xlog: delete the first conflicting    *)
(* entry and all that follow it, then append what is new; entries that     *)
(* agree are kept.  (Python's merge_entries loop, in closed form; its      *)
(* parameter log is xlog here, as log is a variable.)                      *)
merge_entries(xlog, m, i) ==
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

\* Hook: commitIndex := min(mcommitIndex, index of last new entry), never
\* lowered.
new_commit_index(srv, m, i) ==
    Max(srv.commitIndex, Min(m.mcommitIndex, m.mprevLogIndex + Len(m.mentries)))

\* Hook: an accepted AppendEntries request's update: merge_entries into the
\* log, then new_commit_index.
accept_entries(srv, m, i) ==
    LET merged == [srv EXCEPT !.log = merge_entries(srv.log, m, i)] IN
    [merged EXCEPT !.commitIndex = new_commit_index(merged, m, i)]

(* Hook: the AppendEntries handler (after step-down): a stale request is   *)
(* refused.  Otherwise a candidate of the same term becomes a follower; a  *)
(* follower whose log matches at mprevLogIndex accepts the entries and     *)
(* replies success with the index of the last new entry; a leader, or a    *)
(* follower whose log does not match, refuses.                             *)
on_append_entries_request(srv, m, i) ==
    LET fail(s) == {Msg(AppendEntriesResponse, s.currentTerm, i, m.msource)}
        demoted == IF srv.role = Candidate
                     THEN [srv EXCEPT !.role = Follower, !.votesGranted = {}]
                     ELSE srv
        accepted == accept_entries(demoted, m, i)
    IN IF is_stale_request(srv, m, i) THEN <<srv, fail(srv)>>
       ELSE IF demoted.role = Leader \/ ~log_ok_for_append(demoted, m, i)
         \* A leader never hears of another leader of its own term; if it did, it refuses.
         THEN <<demoted, fail(demoted)>>
         ELSE <<accepted, {[Msg(AppendEntriesResponse, accepted.currentTerm, i, m.msource) EXCEPT
                              !.msuccess = TRUE, !.mmatchIndex = m.mprevLogIndex + Len(m.mentries)]}>>

(* Hook: a leader's update for a response of its term from j: on success   *)
(* advance nextIndex[j] to mmatchIndex + 1 and matchIndex[j] to            *)
(* mmatchIndex, neither ever backwards; on failure back nextIndex[j] off   *)
(* by one, but not to or below matchIndex[j].  So a leader always has      *)
(* nextIndex[j] > matchIndex[j].                                           *)
update_indexes(srv, m, i) ==
    LET j == m.msource IN
    IF m.msuccess
      THEN [srv EXCEPT !.nextIndex[j] = Max(@, m.mmatchIndex + 1),
                       !.matchIndex[j] = Max(@, m.mmatchIndex)]
      ELSE [srv EXCEPT !.nextIndex[j] = Max(@ - 1, srv.matchIndex[j] + 1)]

\* Hook: the AppendEntries response handler (after step-down): a leader of
\* that term runs update_indexes; with eager appends the next RPC to j goes
\* out in this step (only nextIndex[j] may have changed).
on_append_entries_response(srv, m, i) ==
    IF srv.role # Leader \/ m.mterm # srv.currentTerm
      THEN <<srv, {}>>
      ELSE LET new == update_indexes(srv, m, i) IN
           <<new, IF eager_appends THEN {append_request(new, i, m.msource)} ELSE {}>>

(* The handlers: each runs its hook at the receiver m.mdest on the record  *)
(* srv (after the step-down rule) and stores the result; none changes the  *)
(* ghost committed.                                                        *)
handle_request_vote_request(srv, m) ==
    LET out == on_request_vote_request(srv, m, m.mdest) IN
    /\ SetServer(m.mdest, out[1])
    /\ UNCHANGED committed
    /\ commit_step(out[2])

handle_request_vote_response(srv, m) ==
    LET out == on_request_vote_response(srv, m, m.mdest) IN
    /\ SetServer(m.mdest, out[1])
    /\ UNCHANGED committed
    /\ commit_step(out[2])

handle_append_entries_request(srv, m) ==
    LET out == on_append_entries_request(srv, m, m.mdest) IN
    /\ SetServer(m.mdest, out[1])
    /\ UNCHANGED committed
    /\ commit_step(out[2])

handle_append_entries_response(srv, m) ==
    LET out == on_append_entries_response(srv, m, m.mdest) IN
    /\ SetServer(m.mdest, out[1])
    /\ UNCHANGED committed
    /\ commit_step(out[2])

(***************************************************************************)
(* HandleRPC(m): enabled for every message m in the network; m stays       *)
(* there.  The receiver m.mdest applies the step-down rule (step_down_on)  *)
(* and then the handler of m.mtype, which may send one reply.              *)
(***************************************************************************)
HandleRPC(m) ==
    LET srv == step_down_on(ServerVars(m.mdest), m, m.mdest) IN
    /\ m \in messages
    /\ CASE m.mtype = RequestVoteRequest    -> handle_request_vote_request(srv, m)
         [] m.mtype = RequestVoteResponse   -> handle_request_vote_response(srv, m)
         [] m.mtype = AppendEntriesRequest  -> handle_append_entries_request(srv, m)
         [] m.mtype = AppendEntriesResponse -> handle_append_entries_response(srv, m)

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
\* recorded with its term (Python's record_leaders, called by commit_step).  The
\* actions leave elected to this conjunct, so a change of the rule that makes
\* a leader is recorded too.  Symmetry (Perms) renames the servers in it.
record_leaders ==
    elected' = IF History
               THEN elected \cup {<<currentTerm'[i], i>> : i \in {j \in Server : role'[j] = Leader}}
               ELSE elected

Spec == Init /\ [][Next /\ record_leaders]_vars

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
            quorum(Cardinality({j \in Server : currentTerm[j] >= currentTerm[i]}))

\* A leader's recorded votes form a majority; a candidate's votes include itself.
VotesGrantedQuorum ==
    \A i \in Server :
        /\ role[i] = Leader => quorum(Cardinality(votesGranted[i]))
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
