// SPDX-License-Identifier: GPL-2.0
/*
 * The Multi-Paxos core of prbd, sans I/O.
 *
 * This file is plain C: no kernel, libc or OS call in its logic; only
 * prbd_px_compat.h chooses between kernel and userspace headers.  It is
 * compiled unchanged into prbd.ko and into the deterministic simulator in
 * tools/sim.  It never sleeps, never allocates (struct prbd_px holds all
 * memory, sized at compile time), uses no floating point and no threads.
 *
 * API (etcd-raft style Step/Ready)
 *   inputs : prbd_px_step(msg), prbd_px_tick(now_ms), prbd_px_propose(desc),
 *            prbd_px_propose_conf(), prbd_px_transfer(), prbd_px_persisted(
 *            token), prbd_px_applied(slot), prbd_px_install(slot, ...),
 *            prbd_px_set_novote(on) (see "Non-voting members"),
 *            prbd_px_set_nopromise(on) (see "Amnesiac members"),
 *            prbd_px_set_nocampaign(on) (see "Non-campaigning members"),
 *            prbd_px_set_suspect(on), prbd_px_barrier(&id),
 *            prbd_px_flushed(token) (see "Flush mode"),
 *            prbd_px_log_full() (the embedder's log storage is full: a
 *            leader truncates past lagging members at its next heartbeat).
 *   output : prbd_px_ready() returns messages to send, one persist batch
 *            (entries + hard state, with a token), the range of chosen
 *            slots to apply, role/leader changes and the "needs bulk
 *            resync" flag.  Pointers stay valid until the next call.
 *   reads  : prbd_px_may_read(now) answers "may the leader serve a local
 *            read now" (lease valid and everything committed applied);
 *            prbd_px_read_index(now) gives the slot a read arriving now
 *            must wait to see applied (0: not the lease holder, redirect).
 *   restart: prbd_px_init(), prbd_px_restore(hard state, applied slot),
 *            then prbd_px_restore_entry() for every durable log entry,
 *            then prbd_px_set_novote(true) if the embedder's own durable
 *            record says the node is non-voting, and
 *            prbd_px_set_nopromise(true) if it says the node is amnesiac,
 *            before the first tick.
 *   status : prbd_px_status() (incl. novote, novote_peers, can_commit,
 *            nopromise, nocampaign).
 *   Loop   : after any input call prbd_px_ready() and act on everything
 *            it returns; tick at least every hb_ms with a monotonic ms
 *            clock (a longer gap only slows the follower timers down).
 *   A client retry may get the same descriptor chosen in two slots: the
 *   embedder applies a request id only once (ids are unique).
 *
 * Durability rule
 *   Every reply whose meaning depends on acceptor state (P1B promise, P2B
 *   accept, including the leader's own vote) is held inside the core until
 *   the persist batch covering that state has been reported durable with
 *   prbd_px_persisted(token).  The embedder must write the batch's entries
 *   before its hard state (so a torn batch is a prefix) and may only call
 *   prbd_px_persisted() once both are stable.  Only one batch is
 *   outstanding at a time; state dirtied meanwhile goes into the next one.
 *   What must be durable, and what need not be:
 *    - durable before the reply that depends on it: the promised ballot,
 *      each accepted (or learned) value, the configuration in effect.  A
 *      batch carries the hard state; the embedder must write it when the
 *      promise or the configuration changed (and may skip it otherwise);
 *    - volatile: whether a slot is chosen, the commit index and the log
 *      start.  Marking a slot chosen dirties nothing (no second batch on
 *      the write path); commit and log start go to disk whenever the hard
 *      state is written, lazily, and are re-learned after a restart:
 *      prbd_px_restore() takes commit >= the applied slot the embedder
 *      recorded, and a restored entry counts as chosen only up to that.
 *   Every batch carries a commit hint (the commit index, lowered below
 *   its own entries): the embedder records it with the batch's entries,
 *   for free, and restores commit >= the newest hint it finds.  This keeps
 *   what a restarted acceptor holds but does not know chosen within about
 *   two windows, well inside the in-memory ring, however rarely the hard
 *   state is written.
 *   A chosen slot is handed out for apply once its value is durable here
 *   (the token of the batch that wrote the value, not of its chosen flag).
 *   The embedder records the applied slot only after the data it applied
 *   is durable (a checkpoint: flush, then record), and keeps the records
 *   of every slot above the recorded one: after a crash it restores that
 *   slot, re-applies from the log what it learns again is chosen, and so
 *   never forgets an applied write.  Data applied beyond the recorded slot
 *   may survive the crash: it is chosen data, rewritten in slot order by
 *   the re-apply.
 *
 * Protocol
 *   Ballots are (round << 8 | node id).  A node whose election timer (random
 *   in [E, 2E)) expires first runs a pre-vote: voters grant it only if they
 *   have not heard from a leader for E ms and the candidate's commit index
 *   is not behind theirs (non-voting ones skip the latter), so a rejoining
 *   partitioned node cannot depose a healthy leader.  Then Phase 1 runs
 *   once per leadership for every slot from the first unchosen one:
 *   acceptors report accepted values in [from, from + WINDOW) and their
 *   highest accepted slot.  The leader
 *   re-proposes the highest-ballot value of each reported slot, fills gaps
 *   with no-ops, adds one no-op marking the start of its leadership and then
 *   runs Phase 2 per slot, pipelined up to the window, batching up to
 *   PRBD_PX_BATCH descriptors per slot and up to PRBD_PX_MAX_ENT slots per
 *   message, with the commit index piggybacked.  Only if some acceptor had
 *   accepted beyond the reported range (rare: a lagging new leader) is
 *   Phase 1 repeated when the leader's commit reaches the range end.
 *   Heartbeats carry the commit index and the truncation point; a leader
 *   that has not heard from a majority for 2E steps down (check-quorum).
 *   Leadership transfer: the leader drops its lease, stops proposing and
 *   sends TIMEOUT_NOW; the target starts Phase 1 at once with a flag that
 *   lets acceptors stuck to that very leader ballot ignore stickiness.
 *
 * Catch-up and truncation
 *   A follower learns chosen slots from the piggybacked commit index (if
 *   it holds the leader's ballot for that slot) or asks for them with
 *   LEARN_REQ.  The leader truncates the log below the slot applied by all
 *   members or, when its ring is nearly full, below its own applied slot
 *   (bounded log); a node asking for a truncated slot gets F_RESYNC, the
 *   core raises needs_resync, the embedder copies the disk from an
 *   up-to-date replica (the disk is the snapshot), makes the new hard state
 *   durable and calls prbd_px_install().  A bulk resync that copies while
 *   new writes keep arriving calls prbd_px_set_novote(true) and then
 *   prbd_px_install(A) with A = the source's applied slot at its start;
 *   the node then learns and applies every slot after A as usual while the
 *   copy runs, and calls prbd_px_set_novote(false) once the copy is
 *   complete (nothing else: its next P2B/HB_R without F_NOVOTE makes the
 *   leader count it again).
 *
 * Non-voting members
 *   A node is non-voting while the embedder's flag (prbd_px_set_novote(),
 *   persisted by the embedder with its reason: data area being resynced)
 *   or needs_resync is set.  It never starts a pre-vote, an election or a
 *   transfer, and steps down at once if it was leader or candidate.  As an
 *   acceptor it is a full member: it answers P1A exactly like a voting
 *   node (promise or refusal, its accepted entries and its log start in
 *   the P1B), grants pre-votes without the commit check (it cannot lead
 *   itself, and after an install its commit may be ahead of an up-to-date
 *   candidate's), accepts P2A (persisting, replying once durable) and
 *   learns and applies chosen slots, so it stays current.  Every P2B and
 *   HB_R it sends carries PRBD_PX_F_NOVOTE (a P2B gets the flag of the
 *   moment it leaves).  The leader counts a P2B with F_NOVOTE for flow
 *   control and retransmission only, never for commit; it remembers each
 *   peer's latest flag, and when a peer votes again it resends what that
 *   peer acknowledged while non-voting, to have it acknowledged for real.
 *   prbd_px_propose() returns PRBD_PX_EBUSY unless a majority of voting
 *   voters (itself included) was heard within E.  Check-quorum (step down
 *   after 2E) and the lease still count non-voting peers: they are alive,
 *   and like any node they promise no other candidate for E after hearing
 *   from the leader, so their acknowledgements keep the lease argument.
 *   Liveness: three voters, the leader dies while node C is being resynced
 *   (non-voting, installed, applying new slots) and B is up to date: B is
 *   elected with C's promise and serves C's resync; once C is whole it
 *   votes and writes resume.  Non-voting is about the data area or the log
 *   prefix, never about the acceptor state, which is intact.
 *   Safety: every Phase 2 quorum is a majority of voters that were voting
 *   when they accepted, a subset of the majorities plain Paxos allows; a
 *   Phase 1 majority intersects each of them, and every acceptor in it,
 *   voting or not, reports what it accepted.  A non-voting node's log is
 *   truncated only below its install point / log start, and a P1B whose
 *   log start is above the candidate's first slot makes the candidate
 *   refuse to lead (px_on_p1b), so truncated history is never taken for
 *   "nothing accepted".  A write is acknowledged only once a majority of
 *   consistent replicas hold it.
 *
 * Non-campaigning members
 *   prbd_px_set_nocampaign(true) (volatile, the embedder's): the node never
 *   starts a pre-vote, an election or a transfer phase 1, steps down at once
 *   if it was leader or candidate, and grants pre-votes without the commit
 *   check (as a non-voting node does: it cannot lead itself, so a candidate
 *   behind it must still be able to win).  Nothing else changes: it is a
 *   full acceptor and its P2Bs count wherever its configuration counts it.
 *   The embedder sets it on a node removed from the group (prbd_member.c):
 *   the configuration entry at slot S that removed it governs only slots
 *   > S, so every slot up to S is decided in a configuration that still
 *   holds it, and a leader that must decide S again (the one that chose it
 *   died before the others learned it) may need its vote; F_NOVOTE there
 *   would stall the group for good.  A leader that knows S chosen counts
 *   it in no majority anyway (and sends it nothing).  Safety is untouched:
 *   it only takes away campaigns and the pre-vote check, which guard
 *   liveness.
 *
 * Amnesiac members
 *   A node whose disk was wiped or replaced (fresh metadata) forgot its
 *   promises and what it accepted.  The embedder calls
 *   prbd_px_set_nopromise(true) at every start while its own durable
 *   record says so (set with fresh metadata, cleared once status.nopromise
 *   reads 0).  Such a node:
 *    - is silent for Q = 2E (1 + rho) / (1 - rho) + 3E after the call: it
 *      ignores PREVOTE, P1A, P2A, HB and TIMEOUT_NOW and does not run for
 *      leader.  A leader or candidate that counted on a promise it forgot
 *      is gone by then: it lost the majority that made that promise, and
 *      steps down within 2E (its clock) or its candidacy times out; 3E is
 *      left for the messages it sent before (assumption: none is delivered
 *      later, and none from before the node's restart at all, as with a
 *      connection-based transport).  So what it accepts afterwards cannot
 *      contradict a promise it forgot, and it votes in Phase 2 as usual.
 *    - answers P1A like any node but flags its P1B PRBD_PX_F_NOPROMISE:
 *      "this report may lack what I accepted before".  A candidate counts
 *      flagged promises only if the unflagged ones alone are a majority,
 *      or if two of them (or the only voter's) arrived within one run of
 *      Phase 1, which lasts less than 2E (a candidacy times out, a leader
 *      restarts a Phase 1 that takes 2E with fresh promises).  Two
 *      members amnesiac at once, which the silence makes the only way to
 *      collect two flags within 2E, is a new group where every disk is
 *      fresh and nothing was lost; a new group can thus elect with a
 *      majority of its members, at any first slot.  A candidate keeps
 *      asking a node whose promise was flagged; a later full one replaces
 *      it.
 *    - stops being amnesiac once every slot it may have accepted before is
 *      durably known chosen here.  A leader's HB carries the last slot B it
 *      proposed once its Phase 1 is complete (first_slot set; 0 before):
 *      an acceptance the node forgot that may have helped to choose a value
 *      was made either to that leader (slot < its next slot) or to an
 *      earlier one, whose chosen values this leader's Phase 1 found (its
 *      quorum holds no flagged promise it needed, and nothing was accepted
 *      beyond the range it covered: slots < first_slot); a stale leader
 *      whose ballot is below one the node forgot is gone (silence above).
 *      The node takes the first such B (a leader takes its own first slot)
 *      and clears the flag once it has handed out every slot up to B for
 *      apply (apply_next > B), whether it learned them from the log or by
 *      prbd_px_install() at or past B.  An install below B does not clear
 *      it: the slots above the install point may be the ones it forgot.
 *      A leader's commit index is no such bound: a new leader that has only
 *      learned a prefix so far may be far behind what was chosen before,
 *      and in an idle new group it would never reach hint + window.
 *   Limits: at most one member of a group with history may be amnesiac at
 *   a time, and none while another's data area is being copied (two wiped
 *   disks of three is data loss; a second amnesiac node would also make
 *   two flags look like a new group).  A new member joining with a fresh
 *   disk counts as amnesiac.  The silence relies on message delays below
 *   3E for messages sent to a restarted node; a wipe takes minutes in
 *   practice.
 *
 * Flush mode (durability = flush; prbd.ko behind experimental_flush=1)
 *   DRBD's contract: a write completes once chosen, each acceptance
 *   counted once the acceptor's record is written (prbd_px_persisted()
 *   after the write, no flush); a flush completes once every write
 *   completed before it is durable on a majority.  A crash of a minority
 *   loses nothing that completed; a crash of a majority may lose what
 *   completed after the last completed flush; replicas never diverge.
 *   The promise and the configuration stay durable as before (the hard
 *   state is written with PREFLUSH | FUA), so only accepted values, and
 *   what the data area applied from them, can be lost.
 *    - Barrier: prbd_px_barrier() (leader) takes B, the last slot
 *      proposed, and sends FLUSH(B) to the voters; an acceptor answers
 *      FLUSH_R with its frontier D (every slot from its log start to D
 *      holds, written, the value accepted at that ballot or one known
 *      chosen) once a device flush issued after D was computed completed
 *      (rd->flush_token, prbd_px_flushed()); the leader does the same for
 *      itself.  The barrier completes (rd->barrier_done) once voting
 *      voters of its epoch with D >= B are a majority.  Barriers that
 *      arrive meanwhile share the next round; retransmitted every hb_ms;
 *      dropped (rd->barrier_dropped) when the leader steps down.
 *    - Suspects: a node that restarts without its clean-shutdown mark
 *      calls prbd_px_set_suspect(true) until status.suspect reads 0 (the
 *      bound of "Amnesiac members": it has applied every slot a leader
 *      had proposed when it first heard from it, taken only after the
 *      amnesiac silence Q so that no heartbeat sent before its restart
 *      gives it); its P1B carries
 *      PRBD_PX_F_SUSPECT.  A phase 1 completes as before if the voters
 *      that promised without a flag (neither amnesiac nor suspect) are at
 *      least half of the voters: they meet every majority that may have
 *      chosen a value with its record written.  No silence is needed:
 *      the promise is durable.
 *    - Lossy election: if instead the flagged promises alone are a
 *      majority of the voters (a majority restarted uncleanly or lost its
 *      disk) and ours is among them, the phase 1 completes "lossy": what
 *      only their caches held is gone, as the contract allows; what was
 *      flushed is on a majority, which the unamnesiac promises meet.  The
 *      leader decides the reported values alone (chosen by fiat, no
 *      phase 2), window after window of phase 1 while
 *      it sends nothing else, and then starts a new epoch (= its ballot)
 *      with that base, durable with it in one batch; only then does it
 *      apply any of it or send anything that carries the epoch (records
 *      written before say "accepted", prbd_px_restore_entry() takes them
 *      as chosen once the hard state holds the epoch and its base; a
 *      leadership that ends before takes back what it decided alone).
 *      Every message carries its sender's epoch and the epoch's rank:
 *      the newest leader ballot the sender followed in it (durable in
 *      the hard state; a lossy leader's epoch starts at rank = its
 *      ballot, a leader ranks its epoch by its ballot once elected, a
 *      follower by the ballot of the first P2A/HB it follows, before
 *      any P2B to it leaves).  Of two different epochs the one of the
 *      higher rank is the newer, not the one of the higher number: a
 *      majority that chose anything in an epoch at ballot b reports a
 *      rank >= b in every later phase 1, so an epoch that chose nothing
 *      after its base (nobody followed it: it is orphaned) loses to the
 *      group that went on without it.  A node that hears of a newer
 *      epoch (any message) is non-voting and resets:
 *      rd->needs_resync with rd->reset_rank (and rd->reset_epoch), the
 *      embedder copies the whole data area from a member of that epoch
 *      whose recorded applied slot is at least its base, and
 *      prbd_px_install() then drops everything it held (log, replies in
 *      flight) even below its commit, since it may have applied values
 *      the election dropped.  Until that install it takes nothing from
 *      the other epoch (P2A, HB, LEARN, FLUSH and TIMEOUT_NOW of another
 *      epoch are ignored): if that epoch is orphaned after all (its own
 *      epoch goes on at a higher rank, heard before the install), it
 *      stays, with a log that never mixed the two.  What a node of
 *      another epoch says about chosen values is never taken.  A
 *      candidate steps down on a P1B of a newer epoch; a promise of an
 *      older one counts, its report does not (nothing chosen in the
 *      newer epoch depends on it: its acknowledgements there were
 *      non-voting).  Replicas converge on the lossy leader's data area,
 *      which may hold parts of lost writes (its cache kept them): they
 *      are then the same everywhere.  A flush whose barrier was dropped
 *      must not be retried across a lossy election (the embedder fails
 *      it): writes it covered may be what the election dropped.
 *   Limits: a lossy leader holds its epoch's base alone until a member
 *   completed a reset; losing its disk then loses flushed writes (two
 *   disks of three, in effect).  Epochs by rank (orphans) since
 *   2026-12-07: before, a node reset to any epoch numbered above its own,
 *   and 4 of 1,000,000 flush seeds failed on orphaned epochs.  The
 *   simulator models record and data caches, power cuts, barriers and
 *   resets (tools/sim/README.md).
 *
 * Reconfiguration: stop-and-restart ("alpha = 1" Stoppable Paxos)
 *   A membership change is a CONFIG log entry at slot i that governs every
 *   slot > i.  The leader proposes nothing after i until i is chosen, then
 *   re-runs Phase 1 (same ballot) with the new configuration, and a Phase 1
 *   that finds a CONFIG entry at i never covers slots beyond i.  Hence each
 *   slot is decided entirely within one configuration, whatever the old and
 *   new quorums.  Compared with joint consensus this needs no dual quorums
 *   and no transitional state (a few lines here); compared with a large
 *   alpha window it costs one pipeline drain per change, which is
 *   negligible for rare membership changes.  We further restrict changes
 *   to one voter added or removed per entry so that the majorities of
 *   consecutive configurations intersect: this keeps leader leases sound
 *   across a change.  Learners receive everything but never vote; the core
 *   refuses a change while another one is uncommitted.
 *
 * Lease and its clock-drift assumption
 *   A follower that hears from a leader refuses to promise any other
 *   candidate (and to pre-vote) for E ms measured on its own clock, where
 *   its clock advance per tick is capped at hb_ms so that a forward jump
 *   or a stall can only lengthen that interval; a restarted node waits E ms
 *   before promising.  The leader's lease runs from the send time t of the
 *   newest heartbeat acknowledged by a majority (itself included) to
 *   t + L with L = E * (1 - rho) / (1 + rho) - 1 ms, where rho = drift_ppm
 *   is the assumed bound on the rate error of every node's monotonic clock.
 *   Assumption: monotonic clocks never run backwards and their rates differ
 *   from real time by at most rho; forward jumps are tolerated.  Reads are
 *   also gated on the leader having applied its first own slot and its
 *   commit index as of the read's arrival (see prbd_px_read_index()).
 *
 * Flow control
 *   At most `window` slots and max_inflight_bytes are in flight; each peer
 *   gets at most max_inflight_bytes of unacknowledged entries; a leader that
 *   has not heard from a majority of voting voters for E ms, or whose queue
 *   is full, returns PRBD_PX_EBUSY from propose instead of growing memory.
 *
 * Planted bugs for the simulator's mutation proof (never set in prbd.ko):
 *   PRBD_PX_MUTATION 1: new leader ignores values reported in Phase 1b
 *   PRBD_PX_MUTATION 2: acceptor replies before its state is durable
 *   PRBD_PX_MUTATION 3: commit declared on a non-majority
 *   PRBD_PX_MUTATION 4: lease honoured for one more lease period
 *   PRBD_PX_MUTATION 5: leader counts acks of non-voting peers
 *   PRBD_PX_MUTATION 6: amnesiac promises count like any other
 *   PRBD_PX_MUTATION 7: a restored (durably accepted) entry counts as
 *                       chosen, as if the chosen flag were durable
 *   PRBD_PX_MUTATION 11: suspect promises count like any other
 *   PRBD_PX_MUTATION 12: a barrier completes on the leader's flush alone
 *   PRBD_PX_MUTATION 13: a lossy election keeps the old epoch
 *   PRBD_PX_MUTATION 14: an acceptor answers a barrier without a flush
 *   PRBD_PX_MUTATION 15: a node resetting to a newer epoch takes values
 *                       from it before its install (its log mixes two)
 *   PRBD_PX_MUTATION 16: learners' acknowledgements and promises count
 *                       towards the voters' majority
 */
#include "prbd_paxos.h"

#ifndef PRBD_PX_MUTATION
#define PRBD_PX_MUTATION 0
#endif
#if defined(__KERNEL__) && PRBD_PX_MUTATION != 0
#error "planted bugs are for the simulator only"
#endif

#define BIT16(id)	((u16)(1u << (id)))
#define NOSLOT		PRBD_PX_U64_MAX

static void px_handle(struct prbd_px *px, const struct prbd_px_msg *m);
static void px_advance_commit(struct prbd_px *px);
static void px_begin_prepare(struct prbd_px *px);

static u32 px_popc(u16 x)
{
	u32 n = 0;

	while (x) {
		x &= x - 1;
		n++;
	}
	return n;
}

static bool px_majority(const struct prbd_px *px, u16 mask)
{
#if PRBD_PX_MUTATION == 16
	mask &= px->voters | px->learners;
	return px_popc(mask) * 2 > px_popc(px->voters);
#else
	return px_popc(mask & px->voters) * 2 > px_popc(px->voters);
#endif
}

static bool px_commit_quorum(const struct prbd_px *px, u16 mask)
{
#if PRBD_PX_MUTATION == 3
	return px_popc(mask & px->voters) * 2 + 1 >= px_popc(px->voters);
#else
	return px_majority(px, mask);
#endif
}

static u16 px_promised_mask(const struct prbd_px *px)
{
	u16 m = 0;
	u8 p;

	for (p = 1; p < PRBD_PX_MAX_NODES; p++)
		if (px->peer[p].promised)
			m |= BIT16(p);
	return m;
}

/* Voters (and us) heard from within the last @ms (leader clock). */
static u16 px_heard(const struct prbd_px *px, u64 ms)
{
	u16 m = BIT16(px->id);
	u8 p;

	for (p = 1; p < PRBD_PX_MAX_NODES; p++)
		if (px->now - px->peer[p].last_heard < ms)
			m |= BIT16(p);
	return m & px->voters;
}

/* Non-voting: set by the embedder, or behind the retained log. */
static bool px_novote(const struct prbd_px *px)
{
	return px->novote || px->needs_resync;
}

/* Never leads: non-voting, or told by the embedder (a removed node). */
static bool px_nocampaign(const struct prbd_px *px)
{
	return px_novote(px) || px->nocampaign;
}

/* A lossy election we do not hold the state of: reset (see "Flush mode"). */
static bool px_resetting(const struct prbd_px *px)
{
	return px->reset_rank != 0;
}

/*
 * Epochs are told apart by their rank (see "Flush mode"): of two
 * different epochs, the one of the higher rank is the one a majority may
 * have followed last.  The lineage we compare with is the one we hold, or
 * the one we are resetting to.
 */
static u64 px_rank_key(u64 epoch, u64 erank)
{
	/*
	 * A leader whose phase 1 at one ballot ran again and was lossy
	 * starts its epoch at the rank its followers already hold in the
	 * epoch before: at one rank, the epoch it started wins.
	 */
	return erank << 1 | (epoch && epoch == erank);
}

static bool px_epoch_newer(const struct prbd_px *px,
			   const struct prbd_px_msg *m)
{
	u64 key = px_rank_key(m->epoch, m->erank);

	if (px_resetting(px))
		return m->epoch != px->reset_epoch &&
		       key > px_rank_key(px->reset_epoch, px->reset_rank);
	return m->epoch != px->epoch &&
	       key > px_rank_key(px->epoch, px->erank);
}

static bool px_epoch_older(const struct prbd_px *px,
			   const struct prbd_px_msg *m)
{
	return m->epoch != px->epoch && !px_epoch_newer(px, m) &&
	       !(px_resetting(px) && m->epoch == px->reset_epoch);
}

/*
 * Amnesiac: the first bound learned from a leader (the last slot it had
 * proposed) covers whatever we may have accepted before we lost our state
 * (see "Amnesiac members"); our promises count again once it is chosen.
 */
static void px_np_bound(struct prbd_px *px, u64 bound)
{
	if (!(px->nopromise || px->suspect) || px->np_bound_set || !bound)
		return;
	px->np_bound = bound;
	px->np_bound_set = 1;
}

/*
 * Phase 1 quorum: a majority of promises, where amnesiac ones (F_NOPROMISE)
 * count only if the others alone are a majority, or if there are two of
 * them from this run of phase 1, which lasts less than 2E: two members
 * amnesiac at once, a new group where nobody lost anything (see nopromise).
 */
static bool px_p1_quorum(struct prbd_px *px)
{
	u16 all = 0, np = 0, sus = 0;
	bool fresh, base;
	u8 p;

	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		if (!px->peer[p].promised)
			continue;
		all |= BIT16(p);
		if (px->peer[p].np)
			np |= BIT16(p);
		if (px->peer[p].sus)
			sus |= BIT16(p);
	}
	px->lossy = 0;
	if (!px_majority(px, all))
		return false;
#if PRBD_PX_MUTATION == 6
	np = 0;		/* BUG: amnesiac promises count like any other */
#endif
#if PRBD_PX_MUTATION == 11
	sus = 0;	/* BUG: suspect promises count like any other */
#endif
	/* a new group: two members amnesiac at once (see nopromise) */
	fresh = (px_popc(np & px->voters) >= 2 || px_popc(px->voters) == 1) &&
		px->now - px->p1_start < 2 * (u64)px->cfg.elect_ms;
	/*
	 * Suspects (see "Flush mode"): what they did not flush may be gone,
	 * so those that kept everything must meet every majority that may
	 * have chosen a value: at least half of the voters.
	 */
	base = px_majority(px, all & ~np) || fresh;
	if (base && (!(sus & all) ||
		     px_popc(all & ~np & ~sus & px->voters) * 2 >=
		     px_popc(px->voters)))
		return true;
	/*
	 * A majority restarted uncleanly or lost its disk (see "Flush
	 * mode"): what only their caches held is gone, as the flush contract
	 * allows; what was flushed is on a majority, which the promises of
	 * those that kept their disks intersect (in a new group, nobody's
	 * disk had anything before).
	 */
	px->lossy = base && px_majority(px, all & (sus | np)) &&
		    (all & BIT16(px->id));	/* our own log is the base */
	return px->lossy;
}

/* Members whose latest P2B/HB_R to us (the leader) had F_NOVOTE. */
static u16 px_novote_peers(const struct prbd_px *px)
{
	u16 m = 0;
	u8 p;

	for (p = 1; p < PRBD_PX_MAX_NODES; p++)
		if (p != px->id && px->peer[p].novote)
			m |= BIT16(p);
	return m & (px->voters | px->learners);
}

/*
 * May the leader take new writes: a majority of voting voters (ourselves
 * included) heard within E.  Non-voting peers count for check-quorum and
 * the lease, not here: their acknowledgements do not commit anything.
 */
static bool px_can_commit(const struct prbd_px *px)
{
	u16 heard;

	if (px->role != PRBD_PX_LEADER || px_novote(px))
		return false;
	heard = px_heard(px, px->cfg.elect_ms) & ~px_novote_peers(px);
	return px_majority(px, heard);
}

static u64 px_rand(struct prbd_px *px)
{
	u64 x = px->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	px->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static u64 px_round(u64 ballot)
{
	return ballot >> 8;
}

static u64 px_max(u64 a, u64 b)
{
	return a > b ? a : b;
}

static u64 px_min(u64 a, u64 b)
{
	return a < b ? a : b;
}

static bool px_is_voter(const struct prbd_px *px)
{
	return (px->voters & BIT16(px->id)) != 0;
}

static struct prbd_px_slot *px_sl(struct prbd_px *px, u64 slot)
{
	if (slot < px->log_start || slot >= px->log_start + PRBD_PX_LOG_CAP)
		return NULL;
	return &px->log[slot & (PRBD_PX_LOG_CAP - 1)];
}

static void px_dirty(struct prbd_px *px, struct prbd_px_slot *s)
{
	s->dirty = 1;
	s->tok = px->tok_next;	/* the next batch carries it */
	px->any_dirty = 1;
}

static void px_hs_dirty(struct prbd_px *px)
{
	px->hs_dirty = 1;
	px->any_dirty = 1;
}

static u64 px_need_tok(const struct prbd_px *px)
{
#if PRBD_PX_MUTATION == 2
	(void)px;
	return 0;	/* BUG: replies do not wait for durability */
#else
	return px->any_dirty ? px->tok_next : px->tok_issued;
#endif
}

static void px_msg_copy(struct prbd_px_msg *d, const struct prbd_px_msg *s)
{
	memcpy(d, s, sizeof(*s) - sizeof(s->ent) + s->n_ent * sizeof(s->ent[0]));
}

static void px_msg_init(struct prbd_px *px, struct prbd_px_msg *m, u8 type,
			u8 to)
{
	memset(m, 0, sizeof(*m) - sizeof(m->ent));
	m->type = type;
	m->from = px->id;
	m->to = to;
	m->commit = px->commit;
	m->epoch = px->epoch;
	m->erank = px->erank;
	if ((type == PRBD_PX_M_P2B || type == PRBD_PX_M_HB_R ||
	     type == PRBD_PX_M_FLUSH_R) && px_novote(px))
		m->flags = PRBD_PX_F_NOVOTE;
}

/* A message that does not depend on durable state. */
static struct prbd_px_msg *px_out(struct prbd_px *px, u8 type, u8 to)
{
	struct prbd_px_msg *m;

	if (px->n_out >= PRBD_PX_OUTBOX) {
		px->drops++;
		return NULL;
	}
	m = &px->out[px->n_out++];
	px_msg_init(px, m, type, to);
	return m;
}

/* A reply that may only leave once the current state is durable. */
static struct prbd_px_msg *px_held(struct prbd_px *px, u8 type, u8 to)
{
	struct prbd_px_msg *m;

	if (px->n_held >= PRBD_PX_HELD) {
		px->drops++;
		return NULL;
	}
	px->held_tok[px->n_held] = NOSLOT;	/* assigned in px_flush() */
	m = &px->held[px->n_held++];
	px_msg_init(px, m, type, to);
	return m;
}

static void px_add_ent(struct prbd_px_msg *m, const struct prbd_px_entry *e)
{
	PRBD_PX_ASSERT(m->n_ent < PRBD_PX_MAX_ENT);
	m->ent[m->n_ent++] = *e;
}

static void px_new_timeout(struct prbd_px *px)
{
	px->timeout = px->cfg.elect_ms + (u32)(px_rand(px) % px->cfg.elect_ms);
}

static void px_set_role(struct prbd_px *px, u8 role)
{
	if (px->role != role)
		px->role_changed = 1;
	px->role = role;
}

/*
 * A lossy leadership ends before its base was complete: what it decided
 * alone is only accepted at its ballot again (as its records say), and
 * its commit goes back to what it handed out for apply (nothing of the
 * base was: see prbd_px_ready()).
 */
static void px_lossy_abandon(struct prbd_px *px)
{
	struct prbd_px_slot *sl;
	u64 s;

	px->lossy_lead = 0;
	if (px->epoch_new <= px->epoch || px->epoch_final)
		return;
	for (s = px->apply_next; s < px->log_start + PRBD_PX_LOG_CAP; s++) {
		sl = px_sl(px, s);
		if (sl && sl->e.chosen && sl->e.ballot == px->epoch_new)
			sl->e.chosen = 0;
	}
	px->commit = px_min(px->commit, px->apply_next - 1);
	px->epoch_new = px->epoch;
}

static void px_step_down(struct prbd_px *px)
{
	if (px->role == PRBD_PX_LEADER)
		px->leader = 0;
	px_lossy_abandon(px);
	px_set_role(px, PRBD_PX_FOLLOWER);
	/* refuse promises for E: our own lease majority included us */
	px->elapsed = 0;
	px->lease_until = 0;
	px->transferring = 0;
	px->preparing = 0;
	px->prevote = 0;
	px->n_pend = 0;
	px->pend_head = 0;
	px->cfg_pending = 0;
	/* barriers not completed: the embedder retries them elsewhere */
	if (px->bar_next_id > px->bar_done)
		px->bar_dropped = px->bar_next_id;
	px->bar_round = 0;
	px_new_timeout(px);
}

static void px_see_ballot(struct prbd_px *px, u64 ballot)
{
	if (ballot > px->promised) {
		px->promised = ballot;
		px_hs_dirty(px);
	}
}

static void px_truncate_to(struct prbd_px *px, u64 new_start)
{
	u64 s, end;

	if (new_start <= px->log_start)
		return;
	end = px_min(new_start, px->log_start + PRBD_PX_LOG_CAP);
	for (s = px->log_start; s < end; s++)
		memset(&px->log[s & (PRBD_PX_LOG_CAP - 1)], 0,
		       sizeof(px->log[0]));
	px->log_start = new_start;
}

u32 prbd_px_lease_ms(u32 elect_ms, u32 drift_ppm)
{
	u64 l = (u64)elect_ms * (1000000 - drift_ppm) / (1000000 + drift_ppm);

	return l > 1 ? (u32)(l - 1) : 0;
}

void prbd_px_init(struct prbd_px *px, const struct prbd_px_config *cfg)
{
	memset(px, 0, sizeof(*px));
	px->cfg = *cfg;
	if (px->cfg.window == 0 || px->cfg.window > PRBD_PX_WINDOW_MAX)
		px->cfg.window = PRBD_PX_WINDOW_MAX;
	if (px->cfg.persist_window == 0)
		px->cfg.persist_window = 1;
	if (px->cfg.persist_window > PRBD_PX_PERSIST_MAX)
		px->cfg.persist_window = PRBD_PX_PERSIST_MAX;
	if (px->cfg.elect_ms == 0)
		px->cfg.elect_ms = 1;
	if (px->cfg.hb_ms == 0)
		px->cfg.hb_ms = 1;
	if (px->cfg.drift_ppm >= 1000000)
		px->cfg.drift_ppm = 999999;
	px->id = cfg->id;
	px->voters = cfg->voters;
	px->learners = cfg->learners;
	px->rng = (cfg->seed ^ ((u64)cfg->id << 32)) | 1;
	px->lease_ms = prbd_px_lease_ms(px->cfg.elect_ms, px->cfg.drift_ppm);
	px->log_start = 1;
	px->apply_next = 1;
	px->tok_next = 1;
	px->p1_end = NOSLOT;
	px_new_timeout(px);
}

void prbd_px_restore(struct prbd_px *px, const struct prbd_px_hardstate *hs,
		     u64 applied)
{
	px->promised = hs->promised;
	px->epoch = hs->epoch;
	px->epoch_base = hs->epoch_base;
	px->erank = hs->erank;
	/*
	 * The log start is volatile (see "Durability rule"): the embedder
	 * keeps every entry above the applied slot it recorded, so the log
	 * restarts right after it.
	 */
	px->log_start = applied + 1;
	px->commit = hs->commit;
	/*
	 * An applied slot is chosen, whatever the lazily written commit; a
	 * commit beyond what the ring can hold is learned again.
	 */
	if (px->commit < applied)
		px->commit = applied;
	if (px->commit >= applied + PRBD_PX_LOG_CAP)
		px->commit = applied + PRBD_PX_LOG_CAP - 1;
	if (px->commit + 1 < px->log_start)
		px->commit = px->log_start - 1;
	px->applied = applied;
	px->apply_next = applied + 1;
	if (hs->voters) {
		px->cfg_slot = hs->cfg_slot;
		px->voters = hs->voters;
		px->learners = hs->learners;
	}
}

void prbd_px_restore_entry(struct prbd_px *px, const struct prbd_px_entry *e)
{
	struct prbd_px_slot *s = px_sl(px, e->slot);

	if (!s || e->kind == PRBD_PX_K_EMPTY)
		return;
	s->e = *e;
#if PRBD_PX_MUTATION == 7
	s->e.chosen = 1;	/* BUG: a durable accept taken for chosen */
#else
	/*
	 * A lossy leader's base is chosen once its epoch is durable, and
	 * its records say so only then (see "Flush mode").
	 */
	if (e->slot <= px_max(px->commit, px->applied) ||
	    (px->epoch && e->ballot == px->epoch &&
	     e->slot <= px->epoch_base))
		s->e.chosen = 1;
#endif
	/*
	 * The restored commit may come from a log record's hint, newer than
	 * the configuration in the hard state: a configuration entry it
	 * covers is in effect (consecutive ones differ by one voter, so
	 * their majorities intersect even where a slot below it must still
	 * be learned).
	 */
	if (s->e.chosen && e->kind == PRBD_PX_K_CONFIG && e->slot > px->cfg_slot) {
		px->cfg_slot = e->slot;
		px->voters = e->voters;
		px->learners = e->learners;
	}
	px_advance_commit(px);
}

/* Store a value known to be chosen. */
static void px_learn_chosen(struct prbd_px *px, const struct prbd_px_entry *e)
{
	struct prbd_px_slot *s = px_sl(px, e->slot);

	if (!s || s->e.chosen || e->slot <= px->commit ||
	    e->kind == PRBD_PX_K_EMPTY)
		return;
	s->e = *e;
	s->e.chosen = 1;
	px_dirty(px, s);
}

static void px_apply_config(struct prbd_px *px, const struct prbd_px_entry *e)
{
	if (e->slot <= px->cfg_slot)
		return;
	px->cfg_slot = e->slot;
	px->voters = e->voters;
	px->learners = e->learners;
	px_hs_dirty(px);
	if (px->cfg_pending && px->cfg_pending <= e->slot)
		px->cfg_pending = 0;
	if (px->role == PRBD_PX_CANDIDATE) {
		px_step_down(px);
	} else if (px->role == PRBD_PX_LEADER) {
		if (!px_is_voter(px))
			px_step_down(px);
		else
			px_begin_prepare(px);	/* phase 1 in the new config */
	}
}

static void px_advance_commit(struct prbd_px *px)
{
	struct prbd_px_slot *s;

	while ((s = px_sl(px, px->commit + 1)) && s->e.chosen) {
		px->commit++;
		if (s->e.kind == PRBD_PX_K_CONFIG)
			px_apply_config(px, &s->e);
	}
	if (px->needs_resync && px->commit >= px->resync_upto &&
	    !px_resetting(px))
		px->needs_resync = 0;	/* caught up by ordinary learning */
	/* phase 1 covered up to p1_end only: extend it (progress made) */
	if (px->role == PRBD_PX_LEADER && !px->preparing &&
	    px->commit + 1 >= px->p1_end && px->commit + 1 > px->p1_from)
		px_begin_prepare(px);
}

/* ---- leader: proposing and sending ---- */

static u32 px_ent_bytes(const struct prbd_px_entry *e)
{
	u32 b = 0, i;

	for (i = 0; i < e->n_desc && i < PRBD_PX_BATCH; i++)
		b += e->desc[i].len;
	return b;
}

static u64 px_window_bytes(struct prbd_px *px)
{
	u64 s, b = 0;
	struct prbd_px_slot *sl;

	for (s = px->commit + 1; s < px->next_slot; s++) {
		sl = px_sl(px, s);
		if (sl)
			b += px_ent_bytes(&sl->e);
	}
	return b;
}

/* Put a value into our log as our own proposal at our ballot. */
static void px_propose_at(struct prbd_px *px, u64 slot,
			  const struct prbd_px_entry *v)
{
	struct prbd_px_slot *s = px_sl(px, slot);

	if (!s || s->e.chosen) {
		PRBD_PX_ASSERT(0);
		return;
	}
	s->e = *v;
	s->e.slot = slot;
	s->e.ballot = px->ballot;
	s->e.chosen = 0;
	s->acks = 0;
	s->rcvd = 0;
	px_dirty(px, s);
	s->tok = px_need_tok(px);
	if (slot >= px->next_slot)
		px->next_slot = slot + 1;
	if (v->kind == PRBD_PX_K_CONFIG) {
		px->cfg_pending = slot;
		px->p1_end = px_min(px->p1_end, slot + 1);
	}
}

static bool px_slot_free(struct prbd_px *px)
{
	struct prbd_px_slot *sl;
	u64 s;

	/* skip slots already known chosen (learned during phase 1) */
	while ((sl = px_sl(px, px->next_slot)) && sl->e.chosen)
		px->next_slot++;
	s = px->next_slot;

	return px->role == PRBD_PX_LEADER && !px->preparing &&
	       !px->transferring && !px->cfg_pending && s < px->p1_end &&
	       s <= px->commit + px->cfg.window && px_sl(px, s);
}

static void px_fill_slots(struct prbd_px *px)
{
	struct prbd_px_entry e;
	u64 bytes;

	if (px->need_noop && px_slot_free(px)) {
		memset(&e, 0, sizeof(e));
		e.kind = PRBD_PX_K_NOOP;
		px->need_noop = 0;
		px->first_slot = px->next_slot;
		px_propose_at(px, px->next_slot, &e);
		px_np_bound(px, px->first_slot);	/* we lead: our own */
	}
	while (px->n_pend && !px->need_noop && px_slot_free(px)) {
		bytes = px_window_bytes(px);
		memset(&e, 0, sizeof(e));
		e.kind = PRBD_PX_K_DATA;
		while (px->n_pend && e.n_desc < PRBD_PX_BATCH) {
			const struct prbd_px_desc *d = &px->pend[px->pend_head];

			if (bytes + d->len > px->cfg.max_inflight_bytes &&
			    (bytes || e.n_desc))
				break;
			bytes += d->len;
			e.desc[e.n_desc++] = *d;
			px->pend_head = (px->pend_head + 1) % PRBD_PX_PENDING_MAX;
			px->n_pend--;
		}
		if (!e.n_desc)
			break;
		px_propose_at(px, px->next_slot, &e);
	}
}

static void px_send_accepts(struct prbd_px *px)
{
	u16 members = (px->voters | px->learners) & ~BIT16(px->id);
	struct prbd_px_msg *m;
	struct prbd_px_slot *sl;
	struct prbd_px_peer *pe;
	u64 s, bytes;
	u32 len;
	u8 p;

	if (px->role != PRBD_PX_LEADER || px->epoch_new > px->epoch)
		return;
	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		if (!(members & BIT16(p)))
			continue;
		pe = &px->peer[p];
		if (pe->sent_hi < px->commit)
			pe->sent_hi = px->commit;
		if (pe->sent_hi + 1 >= px->next_slot)
			continue;
		bytes = 0;
		for (s = px->commit + 1; s <= pe->sent_hi; s++) {
			sl = px_sl(px, s);
			if (sl && !(sl->rcvd & BIT16(p)))
				bytes += px_ent_bytes(&sl->e);
		}
		m = NULL;
		for (s = pe->sent_hi + 1; s < px->next_slot; s++) {
			sl = px_sl(px, s);
			if (!sl)
				break;
			if (sl->rcvd & BIT16(p) || sl->e.kind == 0) {
				pe->sent_hi = s;
				continue;
			}
			len = px_ent_bytes(&sl->e);
			if (bytes && bytes + len > px->cfg.max_inflight_bytes)
				break;
			if (!m || m->n_ent == PRBD_PX_MAX_ENT) {
				m = px_out(px, PRBD_PX_M_P2A, p);
				if (!m)
					return;
				m->ballot = px->ballot;
			}
			px_add_ent(m, &sl->e);
			bytes += len;
			pe->sent_hi = s;
		}
	}
}

static void px_send_hb(struct prbd_px *px)
{
	u16 members = (px->voters | px->learners) & ~BIT16(px->id);
	struct prbd_px_msg *m;
	struct prbd_px_peer *pe;
	u64 trunc = px->applied;
	bool pressure;

	u8 p;

	if (px->epoch_new > px->epoch)
		return;		/* our epoch is not durable yet */
	pressure = px->log_full || px->next_slot + px->cfg.window >=
		   px->log_start + PRBD_PX_LOG_CAP;
	px->log_full = 0;
	/* under pressure, laggards fall behind the prefix and resync */
	for (p = 1; p < PRBD_PX_MAX_NODES && !pressure; p++) {
		if (!(members & BIT16(p)))
			continue;
		pe = &px->peer[p];
		trunc = px_min(trunc, pe->applied);
	}
	if (trunc + 1 > px->log_start)
		px_truncate_to(px, trunc + 1);
	px->last_hb_ts = px->now;
	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		if (!(members & BIT16(p)))
			continue;
		/*
		 * Retransmit what is unacknowledged, but only to a peer that
		 * acknowledged nothing for a heartbeat interval: one that is
		 * acknowledging is merely slower than the interval, and
		 * resending to it would double the traffic under load.
		 */
		if (px->now - px->peer[p].last_p2b >= px->cfg.hb_ms)
			px->peer[p].sent_hi = px->commit;
		m = px_out(px, PRBD_PX_M_HB, p);
		if (!m)
			continue;
		m->ballot = px->ballot;
		m->aux = px->now;
		m->aux2 = trunc;
		/* all we proposed, once phase 1 is complete (see nopromise) */
		m->slot = px->first_slot ? px->next_slot - 1 : 0;
	}
}

static void px_update_lease(struct prbd_px *px)
{
	u64 ts[PRBD_PX_MAX_NODES], t;
	u32 n = 0, need, i, j;
	u8 p;

	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		if (!(px->voters & BIT16(p)))
			continue;
		t = p == px->id ? px->last_hb_ts : px->peer[p].ack_ts;
		for (i = n++; i > 0 && ts[i - 1] < t; i--)
			ts[i] = ts[i - 1];
		ts[i] = t;
	}
	need = n / 2 + 1;
	if (n == 0 || need > n)
		return;
	j = need - 1;	/* need-th largest: a majority acked at or after it */
	if (ts[j] < px->term_start || ts[j] == 0)
		return;
	if (ts[j] + px->lease_ms > px->lease_until)
		px->lease_until = ts[j] + px->lease_ms;
}

/* ---- phase 1 ---- */

static u64 px_max_accepted(struct prbd_px *px)
{
	u64 s, mx = 0;

	for (s = px->log_start; s < px->log_start + PRBD_PX_LOG_CAP; s++)
		if (px->log[s & (PRBD_PX_LOG_CAP - 1)].e.kind)
			mx = s;
	return mx;
}

static void px_p1b_build(struct prbd_px *px, u8 to, u64 from, u64 ballot)
{
	struct prbd_px_msg *m = px_held(px, PRBD_PX_M_P1B, to);
	struct prbd_px_slot *sl;
	u64 s;

	if (!m)
		return;
	m->ballot = ballot;
	m->slot = from;
	m->aux = px_max_accepted(px);
	m->aux2 = px->log_start;
	if (px->nopromise)
		m->flags |= PRBD_PX_F_NOPROMISE;
	if (px->suspect)
		m->flags |= PRBD_PX_F_SUSPECT;
	for (s = from; s < from + PRBD_PX_WINDOW_MAX; s++) {
		sl = px_sl(px, s);
		if (sl && sl->e.kind)
			px_add_ent(m, &sl->e);
	}
}

/*
 * Send P1A to the voters that have not promised yet (self included), or
 * only as amnesiac: their next promise may be a full one.
 */
static void px_send_p1a(struct prbd_px *px)
{
	struct prbd_px_msg *m;
	u8 p;

	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		if (!(px->voters & BIT16(p)) ||
		    (px->peer[p].promised && !px->peer[p].np &&
		     !px->peer[p].sus))
			continue;
		if (p == px->id) {
			/* non-voting: never, we step down first */
			if (!px_novote(px))
				px_p1b_build(px, p, px->p1_from, px->ballot);
			continue;
		}
		m = px_out(px, PRBD_PX_M_P1A, p);
		if (!m)
			continue;
		m->ballot = px->ballot;
		m->slot = px->p1_from;
		m->flags = px->p1_transfer ? PRBD_PX_F_TRANSFER : 0;
		m->aux = px->leader_ballot;
	}
}

static void px_begin_prepare(struct prbd_px *px)
{
	u8 p;

	px->preparing = px->role == PRBD_PX_LEADER;
	px->p1_from = px->commit + 1;
	px->p1_end = NOSLOT;
	px->p1_maxrep = 0;
	px->p1_over = 0;
	px->cand_elapsed = 0;
	px->p1_start = px->now;
	memset(px->best, 0, sizeof(px->best));
	for (p = 0; p < PRBD_PX_MAX_NODES; p++)
		px->peer[p].promised = 0;
	px->p1_gen++;
	px->next_hb = px->now + px->cfg.hb_ms;
	px_send_p1a(px);
}

static void px_start_phase1(struct prbd_px *px, bool transfer)
{
	px->ballot = ((px_round(px_max(px->promised, px->ballot)) + 1) << 8) |
		     px->id;
	px_see_ballot(px, px->ballot);
	px_set_role(px, PRBD_PX_CANDIDATE);
	px->leader = 0;
	px->prevote = 0;
	px->p1_transfer = transfer;
	px_new_timeout(px);
	px_begin_prepare(px);
}

static void px_start_prevote(struct prbd_px *px)
{
	struct prbd_px_msg *m;
	u8 p;

	px_set_role(px, PRBD_PX_CANDIDATE);
	px->leader = 0;
	px->prevote = 1;
	px->cand_elapsed = 0;
	px_new_timeout(px);
	for (p = 0; p < PRBD_PX_MAX_NODES; p++)
		px->peer[p].promised = 0;
	px->peer[px->id].promised = 1;
	if (px_majority(px, BIT16(px->id))) {
		px_start_phase1(px, false);
		return;
	}
	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		if (!(px->voters & BIT16(p)) || p == px->id)
			continue;
		m = px_out(px, PRBD_PX_M_PREVOTE, p);
		if (!m)
			continue;
		m->ballot = ((px_round(px_max(px->promised, px->ballot)) + 1)
			     << 8) | px->id;
	}
}

static void px_phase1_done(struct prbd_px *px)
{
	struct prbd_px_entry noop;
	struct prbd_px_slot *sl;
	struct prbd_px_p1best *b;
	u32 gen = px->p1_gen;
	u64 s;
	u8 p;

	px_advance_commit(px);	/* may switch config and restart phase 1 */
	if (gen != px->p1_gen || (px->role != PRBD_PX_CANDIDATE &&
				  !px->preparing))
		return;
	if (px->role == PRBD_PX_CANDIDATE) {
		px_set_role(px, PRBD_PX_LEADER);
		px->leader = px->id;
		px->leader_ballot = px->ballot;
		px->lead_since = px->now;
		px->term_start = px->now;
		px->lease_until = 0;
		px->first_slot = 0;
		px->transferring = 0;
		px->n_pend = 0;
		px->pend_head = 0;
		px->next_hb = px->now;
		for (p = 0; p < PRBD_PX_MAX_NODES; p++) {
			px->peer[p].last_heard = px->now;
			px->peer[p].ack_ts = 0;
			px->peer[p].applied = 0;
			px->peer[p].sent_hi = px->commit;
			px->peer[p].novote = 0;	/* until it tells us */
		}
	}
	px->preparing = 0;
	px->cfg_pending = 0;
	px->next_slot = px->commit + 1;
	if (px->lossy)
		px->lossy_lead = 1;	/* every window of it, see below */
	else if (px->ballot > px->erank) {
		/* our epoch's rank: durable before our own acceptances */
		px->erank = px->ballot;
		px_hs_dirty(px);
	}
	memset(&noop, 0, sizeof(noop));
	noop.kind = PRBD_PX_K_NOOP;
	for (s = px->p1_from; s <= px->p1_maxrep; s++) {
		sl = px_sl(px, s);
		if (!sl) {
			px->p1_end = px_min(px->p1_end, s);
			break;
		}
		if (!sl->e.chosen) {
			b = &px->best[s - px->p1_from];
			/*
			 * A config that is not a single change from the config
			 * in effect here cannot have been chosen: its proposer
			 * validated it against exactly that config.  It is a
			 * leftover of a leader that did not know about the
			 * config chosen before it; replace it by a no-op.
			 */
			if (b->valid && b->e.kind == PRBD_PX_K_CONFIG &&
			    px_popc(b->e.voters ^ px->voters) > 1)
				b->valid = 0;
			px_propose_at(px, s, b->valid ? &b->e : &noop);
			/*
			 * A lossy phase 1 (see "Flush mode"): what it found is
			 * the new epoch's base, decided here, durable with the
			 * epoch in one batch.
			 */
			if (px->lossy_lead)
				sl->e.chosen = 1;
		}
		px->next_slot = px_max(px->next_slot, s + 1);
		if (sl->e.kind == PRBD_PX_K_CONFIG) {
			/* later slots belong to the next configuration */
			px->p1_end = px_min(px->p1_end, s + 1);
			break;
		}
	}
	if (px->p1_over)
		px->p1_end = px_min(px->p1_end, px->p1_from + PRBD_PX_WINDOW_MAX);
	if (px->lossy_lead) {
		/*
		 * A new epoch: every other member resets to our state.  It
		 * takes effect, and we say so, once its base is complete
		 * (no acceptor reported beyond the range: until then the
		 * others' reports still count, and we send nothing but P1A)
		 * and durable here, in the batch after the last window:
		 * nobody may wait for a state a crash of ours would take back.
		 */
#if PRBD_PX_MUTATION != 13
		/*
		 * An epoch of an earlier lossy lead of ours, not in effect
		 * yet, is superseded: its batch is not this epoch's.
		 */
		if (px->epoch_new != px->ballot)
			px->epoch_final = 0;
		px->epoch_new = px->ballot;
#endif
		if (!px->p1_over && !px->epoch_final) {
			px->epoch_final = 1;
			px->epoch_tok = px->tok_next;
		}
		px_advance_commit(px);
		px->epoch_base = px_max(px->epoch_base, px->commit);
		px_hs_dirty(px);
		/*
		 * Our no-op must come after the base: one proposed before
		 * this phase 1 ran again, lossy, is inside it, and an epoch
		 * that chooses nothing past its base yields to the one
		 * before at the next phase 1 (an idle group would sit in an
		 * epoch nobody can rely on; simulator seed 517419).
		 */
		if (px->first_slot && px->first_slot <= px->epoch_base)
			px->first_slot = 0;
	}
	/* a no-op marks our first slot; reads wait until it is applied */
	px->need_noop = !px->first_slot && !px->p1_over;
	px_advance_commit(px);
	px_fill_slots(px);
}

static void px_on_prevote(struct prbd_px *px, const struct prbd_px_msg *m)
{
	struct prbd_px_msg *r = px_out(px, PRBD_PX_M_PREVOTE_R, m->from);
	bool ok = m->ballot > px->promised && px->elapsed >= px->cfg.elect_ms &&
		  px->role != PRBD_PX_LEADER &&
		  (m->commit >= px->commit || px_nocampaign(px));

	if (!r)
		return;
	r->ballot = m->ballot;
	if (!ok) {
		r->flags = PRBD_PX_F_NACK;
		r->ballot = px->promised;
	}
}

static void px_on_prevote_r(struct prbd_px *px, const struct prbd_px_msg *m)
{
	if (px->role != PRBD_PX_CANDIDATE || !px->prevote ||
	    !(px->voters & BIT16(m->from)))
		return;
	if (m->flags & PRBD_PX_F_NACK) {
		if (m->ballot > px->promised)
			px_see_ballot(px, m->ballot);
		return;
	}
	px->peer[m->from].promised = 1;
	if (px_majority(px, px_promised_mask(px)))
		px_start_phase1(px, false);
}

static void px_on_p1a(struct prbd_px *px, const struct prbd_px_msg *m)
{
	bool sticky, grant;

	if (m->flags & PRBD_PX_F_TRANSFER)
		sticky = (px->role == PRBD_PX_LEADER && !px->transferring) ||
			 (px->elapsed < px->cfg.elect_ms &&
			  m->aux != px->leader_ballot);
	else
		sticky = px->role == PRBD_PX_LEADER ||
			 (px->elapsed < px->cfg.elect_ms &&
			  m->from != px->leader);
	grant = m->ballot >= px->promised && !sticky;
	if (!grant) {
		struct prbd_px_msg *r = px_out(px, PRBD_PX_M_P1B, m->from);

		if (r) {
			r->flags |= PRBD_PX_F_NACK;
			/* 0: sticky refusal, the candidate keeps its ballot */
			r->ballot = m->ballot < px->promised ? px->promised : 0;
			r->slot = m->slot;
		}
		return;
	}
	if (m->ballot > px->promised && px->role != PRBD_PX_FOLLOWER)
		px_step_down(px);
	px_see_ballot(px, m->ballot);
	px_p1b_build(px, m->from, m->slot, m->ballot);
}

static void px_on_p1b(struct prbd_px *px, const struct prbd_px_msg *m)
{
	const struct prbd_px_entry *e;
	struct prbd_px_p1best *b;
	u32 i;

	if (m->flags & PRBD_PX_F_NACK) {
		if (m->ballot > px->ballot && px->role != PRBD_PX_FOLLOWER) {
			px_see_ballot(px, m->ballot);
			px_step_down(px);
		}
		return;
	}
	if (m->ballot != px->ballot || m->slot != px->p1_from ||
	    !(px->role == PRBD_PX_CANDIDATE ? !px->prevote : px->preparing) ||
	    (px->peer[m->from].promised && !px->peer[m->from].np &&
	     !px->peer[m->from].sus) ||
	    !(px->voters & BIT16(m->from)))
		return;
	if (m->aux2 > px->p1_from) {
		/* it truncated slots we never learned: we cannot lead */
		px->needs_resync = 1;
		px->resync_upto = m->aux2 - 1;
		px_step_down(px);
		return;
	}
	px->peer[m->from].promised = 1;
	px->peer[m->from].np = !!(m->flags & PRBD_PX_F_NOPROMISE);
	px->peer[m->from].sus = !!(m->flags & PRBD_PX_F_SUSPECT);
	px->peer[m->from].last_heard = px->now;
	/*
	 * An acceptor of an older epoch (not reset yet) counts for the
	 * quorum, its report does not: what it holds above our epoch's
	 * base was superseded, and nothing chosen in our epoch depends on
	 * it (its acknowledgements were non-voting).
	 */
	if (px_epoch_older(px, m))
		goto quorum;
	if (m->aux >= px->p1_from + PRBD_PX_WINDOW_MAX)
		px->p1_over = 1;
	for (i = 0; i < m->n_ent && i < PRBD_PX_MAX_ENT; i++) {
		e = &m->ent[i];
		if (e->slot < px->p1_from ||
		    e->slot >= px->p1_from + PRBD_PX_WINDOW_MAX)
			continue;
		px->p1_maxrep = px_max(px->p1_maxrep, e->slot);
		if (e->chosen) {
			px_learn_chosen(px, e);
			continue;
		}
#if PRBD_PX_MUTATION == 1
		if (m->from != px->id)
			continue;	/* BUG: ignore the others' reports */
#endif
		b = &px->best[e->slot - px->p1_from];
		if (!b->valid || e->ballot > b->e.ballot) {
			b->e = *e;
			b->valid = 1;
		}
	}
quorum:
	if (px_p1_quorum(px))
		px_phase1_done(px);
}

/* ---- phase 2 ---- */

static void px_learn_commit(struct prbd_px *px, u64 hint, u64 ballot, u8 from)
{
	struct prbd_px_slot *sl;
	struct prbd_px_msg *r;
	u64 s;

	px->leader_commit = px_max(px->leader_commit, hint);
	/* our ring cannot hold what is chosen: drop our applied prefix */
	if (hint >= px->log_start + PRBD_PX_LOG_CAP - PRBD_PX_WINDOW_MAX)
		px_truncate_to(px, px->applied + 1);
	for (s = px->commit + 1; s <= hint; s++) {
		sl = px_sl(px, s);
		if (!sl)
			break;
		if (!sl->e.chosen && sl->e.kind && sl->e.ballot == ballot)
			sl->e.chosen = 1;	/* volatile: see "Durability rule" */
		if (!sl->e.chosen)
			break;
	}
	px_advance_commit(px);
	if (px->commit < hint && (px->learn_req_at == 0 ||
				  px->now >= px->learn_req_at + px->cfg.hb_ms)) {
		px->learn_req_at = px->now ? px->now : 1;
		r = px_out(px, PRBD_PX_M_LEARN_REQ, from);
		if (r)
			r->slot = px->commit + 1;
	}
}

/* A message from a leader at ballot >= promised: follow it. */
static void px_follow(struct prbd_px *px, const struct prbd_px_msg *m)
{
	if (px->role != PRBD_PX_FOLLOWER && m->from != px->id)
		px_step_down(px);
	if (m->from != px->id) {
		px->leader = m->from;
		px->leader_ballot = m->ballot;
		px->elapsed = 0;
	}
	/*
	 * Our epoch's rank (see "Flush mode"): durable before any P2B to
	 * this leader leaves, so that every majority that chose a value in
	 * this epoch at this ballot reports a rank at least this high.
	 */
	if (m->epoch == px->epoch && !px_resetting(px) &&
	    m->ballot > px->erank) {
		px->erank = m->ballot;
		px_hs_dirty(px);
	}
}

static void px_on_p2a(struct prbd_px *px, const struct prbd_px_msg *m)
{
	const struct prbd_px_entry *e;
	struct prbd_px_slot *sl;
	struct prbd_px_msg *r;
	u32 i;

	if (m->ballot < px->promised) {
		r = px_out(px, PRBD_PX_M_P2B, m->from);
		if (r) {
			r->flags |= PRBD_PX_F_NACK;
			r->ballot = px->promised;
		}
		return;
	}
	px_see_ballot(px, m->ballot);
	px_follow(px, m);
	r = px_held(px, PRBD_PX_M_P2B, m->from);
	if (r)
		r->ballot = m->ballot;
	for (i = 0; i < m->n_ent && i < PRBD_PX_MAX_ENT; i++) {
		e = &m->ent[i];
		sl = px_sl(px, e->slot);
		if (!sl) {
			if (e->slot >= px->log_start)
				continue;	/* beyond our ring: no ack */
		} else if (e->chosen && !sl->e.chosen) {
			px_learn_chosen(px, e);
		} else if (!sl->e.chosen) {
			sl->e = *e;
			sl->e.ballot = m->ballot;
			sl->e.chosen = 0;
			px_dirty(px, sl);
		}
		if (r) {	/* acknowledgements carry only the slot */
			memset(&r->ent[r->n_ent], 0, sizeof(r->ent[0]));
			r->ent[r->n_ent++].slot = e->slot;
		}
		/*
		 * The leader we follow holds our next slot: it can teach us
		 * every slot from there, so the truncation that raised
		 * needs_resync (a restarted leader whose log started above
		 * our commit, perhaps gone since) no longer holds.  Without
		 * this, voters all waiting for a source nobody has block
		 * the majority that would let them learn.
		 */
		if (px->needs_resync && e->slot == px->commit + 1 &&
		    !px_resetting(px))
			px->needs_resync = 0;
	}
	px_learn_commit(px, m->commit, m->ballot, m->from);
}

/*
 * A peer's latest P2B/HB_R says whether it votes.  When it turns voting
 * again, what it acknowledged while non-voting is resent: it must be
 * acknowledged once more, this time counted for commit.
 */
static void px_peer_novote(struct prbd_px *px, u8 p, bool novote)
{
	struct prbd_px_peer *pe = &px->peer[p];
	struct prbd_px_slot *sl;
	u64 s;

	if (!novote && pe->novote) {
		for (s = px->commit + 1; s < px->next_slot; s++) {
			sl = px_sl(px, s);
			if (sl && !(sl->acks & BIT16(p)))
				sl->rcvd &= ~BIT16(p);
		}
		pe->sent_hi = px->commit;
	}
	pe->novote = novote;
}

/* @vote: the acceptor was voting when it acknowledged (no F_NOVOTE). */
static void px_ack_slot(struct prbd_px *px, u64 slot, u8 from, bool vote)
{
	struct prbd_px_slot *sl = px_sl(px, slot);

	if (!sl || sl->e.ballot != px->ballot || !sl->e.kind)
		return;
	sl->rcvd |= BIT16(from);	/* it holds e: do not resend */
	if (sl->e.chosen || !vote)
		return;
	sl->acks |= BIT16(from);
	if (px_commit_quorum(px, sl->acks))
		sl->e.chosen = 1;	/* volatile: see "Durability rule" */
}

static void px_on_p2b(struct prbd_px *px, const struct prbd_px_msg *m)
{
	bool vote = !(m->flags & PRBD_PX_F_NOVOTE);
	u32 i;

	if (m->flags & PRBD_PX_F_NACK) {
		if (m->ballot > px->ballot && px->role != PRBD_PX_FOLLOWER) {
			px_see_ballot(px, m->ballot);
			px_step_down(px);
		}
		return;
	}
	if (px->role != PRBD_PX_LEADER || m->ballot != px->ballot)
		return;
	px->peer[m->from].last_heard = px->now;
	px->peer[m->from].last_p2b = px->now;
	px_peer_novote(px, m->from, !vote);
#if PRBD_PX_MUTATION == 5
	vote = true;	/* BUG: acks of non-voting peers count for commit */
#endif
	for (i = 0; i < m->n_ent && i < PRBD_PX_MAX_ENT; i++)
		px_ack_slot(px, m->ent[i].slot, m->from, vote);
	px_advance_commit(px);
}

/* Our own accepts count once they are durable. */
static void px_self_acks(struct prbd_px *px)
{
	struct prbd_px_slot *sl;
	u64 s;

	if (px->role != PRBD_PX_LEADER)
		return;
	for (s = px->commit + 1; s < px->next_slot; s++) {
		sl = px_sl(px, s);
		if (sl && !(sl->acks & BIT16(px->id)) &&
		    sl->tok <= px->tok_done)
			px_ack_slot(px, s, px->id, true);
	}
	px_advance_commit(px);
}

/* ---- flush mode: barriers ---- */

/*
 * The flush frontier for a leader at @ballot: the highest slot D <= @upto
 * such that every slot from the log start to D holds, written, the value
 * accepted at that ballot or one known chosen.  A device flush issued
 * after this call makes all of them durable.  @writing: it stopped at a
 * record of ours still being written (it moves on once that batch lands).
 */
static u64 px_frontier(struct prbd_px *px, u64 ballot, u64 upto,
		       bool *writing)
{
	struct prbd_px_slot *sl;
	u64 s;

	*writing = false;
	for (s = px->log_start; s <= upto; s++) {
		sl = px_sl(px, s);
		if (!sl || !sl->e.kind ||
		    !(sl->e.chosen || sl->e.ballot == ballot))
			break;
		if (sl->tok > px->tok_done) {
			*writing = true;
			break;	/* not written yet */
		}
	}
	return s - 1;
}

/* The token of the next device flush not issued yet (shared). */
static u64 px_want_flush(struct prbd_px *px)
{
	if (px->fl_tok_req <= px->fl_tok_issued)
		px->fl_tok_req = px->fl_tok_issued + 1;
	return px->fl_tok_req;
}

/*
 * Ask for the device flush of a barrier reply, or wait for the records
 * up to @b to be written first: the flush covers only what was written
 * before it, and a barrier usually arrives with the last writes it covers
 * still in flight here.  Flushing at once would answer a frontier below
 * @b, which the leader does not count until its retransmission (hb_ms
 * later); once the records land (prbd_px_persisted()) the flush is asked
 * for.  Anything else that stops the frontier (a slot missing, another
 * ballot's value) answers at once: no write of ours will move it.
 * Returns the flush token to wait for, 0: not asked for yet.
 */
static u64 px_flush_for(struct prbd_px *px, u64 ballot, u64 b, u64 *d)
{
	bool writing;

	*d = px_frontier(px, ballot, b, &writing);
	if (*d < b && writing)
		return 0;
	return px_want_flush(px);
}

/* Our own reply to the barrier round: its flush, once it may be asked. */
static void px_bar_self_flush(struct prbd_px *px)
{
	if (px->bar_self && !px->bar_self_tok)
		px->bar_self_tok = px_flush_for(px, px->ballot, px->bar_b,
						&px->bar_self_d);
}

static void px_bar_send(struct prbd_px *px)
{
	struct prbd_px_msg *m;
	u8 p;

	px->bar_sent = px->now;
	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		if (!(px->voters & BIT16(p)) || (px->bar_acks & BIT16(p)))
			continue;
		if (p == px->id) {
			if (px->bar_self)
				continue;	/* ours is in flight */
			px->bar_self = 1;
			px->bar_self_tok = 0;
			px_bar_self_flush(px);
			continue;
		}
		m = px_out(px, PRBD_PX_M_FLUSH, p);
		if (!m)
			continue;
		m->ballot = px->ballot;
		m->slot = px->bar_b;
		m->aux = px->bar_round;
	}
}

static void px_bar_start(struct prbd_px *px)
{
	px->bar_round = px->bar_next_id;
	px->bar_b = px->next_slot - 1;
	px->bar_acks = 0;
	px->bar_self = 0;
	px_bar_send(px);
}

static void px_bar_check(struct prbd_px *px)
{
	if (!px->bar_round)
		return;
#if PRBD_PX_MUTATION == 12
	if (!(px->bar_acks & BIT16(px->id)))
		return;	/* BUG: our own flush is enough */
#else
	if (!px_majority(px, px->bar_acks))
		return;
#endif
	px->bar_done = px->bar_round;
	px->bar_round = 0;
	if (px->bar_next_id > px->bar_done)
		px_bar_start(px);	/* the barriers that came meanwhile */
}

static void px_bar_self(struct prbd_px *px)
{
	if (!px->bar_round || !px->bar_self || !px->bar_self_tok ||
	    px->fl_tok_done < px->bar_self_tok)
		return;
	px->bar_self = 0;
	if (px->bar_self_d >= px->bar_b)
		px->bar_acks |= BIT16(px->id);
	px_bar_check(px);
}

static void px_on_flush(struct prbd_px *px, const struct prbd_px_msg *m)
{
	struct prbd_px_flreply *q;
	u32 i;

	if (m->ballot < px->promised || px_resetting(px))
		return;
	for (i = 0; i < px->n_flq; i++)
		if (px->flq[i].to == m->from && px->flq[i].id == m->aux)
			return;	/* a retransmission: the answer comes */
	if (px->n_flq >= PRBD_PX_FLQ)
		return;		/* the leader asks again */
	q = &px->flq[px->n_flq++];
	q->to = m->from;
	q->ballot = m->ballot;
	q->id = m->aux;
	q->b = m->slot;
#if PRBD_PX_MUTATION == 14
	{
		bool writing;

		q->frontier = px_frontier(px, m->ballot, m->slot, &writing);
	}
	q->tok = px->fl_tok_done;	/* BUG: answers without a flush */
	prbd_px_flushed(px, px->fl_tok_done);
#else
	q->tok = px_flush_for(px, m->ballot, m->slot, &q->frontier);
#endif
}

/* Our records landed: the barrier replies that waited for them flush. */
static void px_flq_written(struct prbd_px *px)
{
	struct prbd_px_flreply *q;
	u32 i;

	for (i = 0; i < px->n_flq; i++) {
		q = &px->flq[i];
		if (!q->tok)
			q->tok = px_flush_for(px, q->ballot, q->b,
					      &q->frontier);
	}
	px_bar_self_flush(px);
}

static void px_on_flush_r(struct prbd_px *px, const struct prbd_px_msg *m)
{
	/*
	 * Only a voting member of our epoch counts: a non-voting one may be
	 * reset, and its log dropped, before what it flushed matters.
	 */
	if (px->role != PRBD_PX_LEADER || m->ballot != px->ballot ||
	    !px->bar_round || m->epoch != px->epoch ||
	    (m->flags & PRBD_PX_F_NOVOTE) || !(px->voters & BIT16(m->from)))
		return;
	px->peer[m->from].last_heard = px->now;
	if (m->slot >= px->bar_b) {
		px->bar_acks |= BIT16(m->from);
		px_bar_check(px);
	}
}

/* ---- heartbeats, catch-up, transfer ---- */

static void px_on_hb(struct prbd_px *px, const struct prbd_px_msg *m)
{
	struct prbd_px_msg *r = px_out(px, PRBD_PX_M_HB_R, m->from);

	if (m->ballot < px->promised) {
		if (r) {
			r->flags |= PRBD_PX_F_NACK;
			r->ballot = px->promised;
		}
		return;
	}
	px_follow(px, m);
	/*
	 * A suspect takes no bound from a heartbeat that may have been sent
	 * before it restarted (delays below 3E, as for amnesiac members):
	 * the bound must cover what it accepted before.
	 */
	if (!px->sus_quiet)
		px_np_bound(px, m->slot);
	px_learn_commit(px, m->commit, m->ballot, m->from);
	if (m->aux2 + 1 > px->log_start)
		px_truncate_to(px, px_min(m->aux2, px->applied) + 1);
	if (r) {
		r->ballot = m->ballot;
		r->aux = m->aux;
		r->aux2 = px->applied;
		r->commit = px->commit;
		if (px->log_full)
			r->flags |= PRBD_PX_F_LOGFULL;
		px->log_full = 0;
	}
}

static void px_on_hb_r(struct prbd_px *px, const struct prbd_px_msg *m)
{
	struct prbd_px_peer *pe = &px->peer[m->from];

	if (m->flags & PRBD_PX_F_NACK) {
		if (m->ballot > px->ballot && px->role == PRBD_PX_LEADER) {
			px_see_ballot(px, m->ballot);
			px_step_down(px);
		}
		return;
	}
	if (px->role != PRBD_PX_LEADER || m->ballot != px->ballot)
		return;
	pe->last_heard = px->now;
	px_peer_novote(px, m->from, m->flags & PRBD_PX_F_NOVOTE);
	if (m->flags & PRBD_PX_F_LOGFULL)
		px->log_full = 1;	/* truncate at our next heartbeat */
	pe->applied = px_max(pe->applied, m->aux2);
	if (m->aux > pe->ack_ts)
		pe->ack_ts = m->aux;
	if (!px->transferring)
		px_update_lease(px);
}

static void px_on_learn_req(struct prbd_px *px, const struct prbd_px_msg *m)
{
	struct prbd_px_msg *r = px_out(px, PRBD_PX_M_LEARN, m->from);
	struct prbd_px_slot *sl;
	u64 s;

	if (!r)
		return;
	r->slot = m->slot;
	r->aux2 = px->log_start;
	sl = px_sl(px, m->slot);
	if (m->slot < px->log_start ||
	    (m->slot <= px->commit && (!sl || !sl->e.kind))) {
		r->flags = PRBD_PX_F_RESYNC;
		/* a hole in our own log: resync up to our commit */
		if (m->slot >= px->log_start)
			r->aux2 = px->commit + 1;
		return;
	}
	for (s = m->slot; s <= px->commit && r->n_ent < PRBD_PX_MAX_ENT; s++) {
		sl = px_sl(px, s);
		if (!sl || !sl->e.chosen)
			break;
		px_add_ent(r, &sl->e);
	}
}

static void px_on_learn(struct prbd_px *px, const struct prbd_px_msg *m)
{
	u64 old = px->commit;
	u32 i;

	if (m->flags & PRBD_PX_F_RESYNC) {
		if (m->slot > px->commit && m->aux2 > px->commit + 1) {
			px->needs_resync = 1;
			px->resync_upto = m->aux2 - 1;
			if (px->role != PRBD_PX_FOLLOWER)
				px_step_down(px);	/* non-voting now */
		}
		return;
	}
	for (i = 0; i < m->n_ent && i < PRBD_PX_MAX_ENT; i++)
		px_learn_chosen(px, &m->ent[i]);
	px_advance_commit(px);
	if (px->commit > old && px->commit < px->leader_commit && px->leader) {
		px->learn_req_at = 0;	/* progress: ask for more at once */
		px_learn_commit(px, px->leader_commit, 0, px->leader);
	}
}

static void px_on_timeout_now(struct prbd_px *px, const struct prbd_px_msg *m)
{
	if (m->from != px->leader || m->ballot < px->promised ||
	    !px_is_voter(px) || px->role != PRBD_PX_FOLLOWER ||
	    px_nocampaign(px))
		return;
	px_start_phase1(px, true);
}

static void px_handle(struct prbd_px *px, const struct prbd_px_msg *m)
{
	bool foreign;
	u32 i;

	if (m->from == 0 || m->from >= PRBD_PX_MAX_NODES ||
	    m->n_ent > PRBD_PX_MAX_ENT)
		return;
	for (i = 0; i < m->n_ent; i++)	/* malformed entries: drop it all */
		if (m->ent[i].n_desc > PRBD_PX_BATCH ||
		    m->ent[i].kind > PRBD_PX_K_CONFIG)
			return;
	/*
	 * A node of a newer epoch (a higher rank): a lossy election
	 * happened that we do not hold the state of.  Our log and data may
	 * hold values it dropped: non-voting until reset to a member of
	 * that epoch.
	 */
	if (px_epoch_newer(px, m)) {
		px->reset_epoch = m->epoch;
		px->reset_rank = m->erank;
		px->needs_resync = 1;
		px->resync_upto = NOSLOT;
		if (px->role != PRBD_PX_FOLLOWER)
			px_step_down(px);
	} else if (px_resetting(px) && m->epoch == px->epoch &&
		   px_rank_key(m->epoch, m->erank) >
		   px_rank_key(px->reset_epoch, px->reset_rank)) {
		/*
		 * Our own epoch went on past the one we were resetting to
		 * (that one was orphaned: no majority followed it), and we
		 * dropped nothing yet (that happens at the install): stay.
		 */
		px->reset_epoch = 0;
		px->reset_rank = 0;
		px->needs_resync = 0;
	}
	/*
	 * A node of another epoch knows nothing we may take: what one of
	 * an older epoch holds above that epoch's base may be what the
	 * election dropped; and until we installed a newer one (the reset
	 * drops our log) its values would mix with ours, in a log that
	 * stays ours if that epoch is orphaned.
	 */
	foreign = m->epoch != px->epoch;
#if PRBD_PX_MUTATION == 15
	/* BUG: a node resetting takes values from the epoch it resets to */
	foreign = px_epoch_older(px, m);
#endif
	if (foreign &&
	    (m->type == PRBD_PX_M_P2A || m->type == PRBD_PX_M_HB ||
	     m->type == PRBD_PX_M_LEARN || m->type == PRBD_PX_M_FLUSH ||
	     m->type == PRBD_PX_M_TIMEOUT_NOW))
		return;
	/* amnesiac and quiet: whoever counts on what we forgot is gone first */
	if (px->np_quiet && (m->type == PRBD_PX_M_PREVOTE ||
			     m->type == PRBD_PX_M_P1A ||
			     m->type == PRBD_PX_M_P2A ||
			     m->type == PRBD_PX_M_HB ||
			     m->type == PRBD_PX_M_TIMEOUT_NOW))
		return;
	switch (m->type) {
	case PRBD_PX_M_PREVOTE:
		px_on_prevote(px, m);
		break;
	case PRBD_PX_M_PREVOTE_R:
		px_on_prevote_r(px, m);
		break;
	case PRBD_PX_M_P1A:
		px_on_p1a(px, m);
		break;
	case PRBD_PX_M_P1B:
		px_on_p1b(px, m);
		break;
	case PRBD_PX_M_P2A:
		px_on_p2a(px, m);
		break;
	case PRBD_PX_M_P2B:
		px_on_p2b(px, m);
		break;
	case PRBD_PX_M_HB:
		px_on_hb(px, m);
		break;
	case PRBD_PX_M_HB_R:
		px_on_hb_r(px, m);
		break;
	case PRBD_PX_M_LEARN_REQ:
		px_on_learn_req(px, m);
		break;
	case PRBD_PX_M_LEARN:
		px_on_learn(px, m);
		break;
	case PRBD_PX_M_TIMEOUT_NOW:
		px_on_timeout_now(px, m);
		break;
	case PRBD_PX_M_FLUSH:
		px_on_flush(px, m);
		break;
	case PRBD_PX_M_FLUSH_R:
		px_on_flush_r(px, m);
		break;
	default:
		break;
	}
}

/* Release durable replies (self-addressed ones are delivered here). */
static void px_flush(struct prbd_px *px)
{
	u32 i;
	bool again = true;

	if (px->epoch_new > px->epoch && px->epoch_final &&
	    px->tok_done >= px->epoch_tok) {
		px->epoch = px->epoch_new;	/* durable: see px_phase1_done() */
		px->erank = px->epoch_new;
		px->reset_epoch = 0;
		px->reset_rank = 0;
		px->epoch_final = 0;
	}
	while (again) {
		again = false;
		for (i = 0; i < px->n_held; i++)
			if (px->held_tok[i] == NOSLOT)
				px->held_tok[i] = px_need_tok(px);
		for (i = 0; i < px->n_held; i++) {
			if (px->held_tok[i] > px->tok_done)
				continue;
			px_msg_copy(&px->scratch, &px->held[i]);
			px->n_held--;
			if (i != px->n_held) {
				px_msg_copy(&px->held[i], &px->held[px->n_held]);
				px->held_tok[i] = px->held_tok[px->n_held];
			}
			if (px->scratch.type == PRBD_PX_M_P2B) {
				/* tell what we are when it leaves */
				px->scratch.flags &= ~PRBD_PX_F_NOVOTE;
				if (px_novote(px))
					px->scratch.flags |= PRBD_PX_F_NOVOTE;
			}
			if (px->scratch.type == PRBD_PX_M_P1B && px->nopromise)
				px->scratch.flags |= PRBD_PX_F_NOPROMISE;
			if (px->scratch.type == PRBD_PX_M_P1B && px->suspect)
				px->scratch.flags |= PRBD_PX_F_SUSPECT;
			again = true;
			if (px->scratch.to == px->id)
				px_handle(px, &px->scratch);
			else if (px->n_out < PRBD_PX_OUTBOX)
				px_msg_copy(&px->out[px->n_out++], &px->scratch);
			else
				px->drops++;
			break;
		}
		px_self_acks(px);
	}
	px_fill_slots(px);
	px_send_accepts(px);
}

/* ---- public API ---- */

void prbd_px_step(struct prbd_px *px, const struct prbd_px_msg *m)
{
	if (m->to != px->id)
		return;
	px_handle(px, m);
	px_flush(px);
}

void prbd_px_tick(struct prbd_px *px, u64 now)
{
	u64 d = now > px->now ? now - px->now : 0;

	if (d > px->cfg.hb_ms)
		d = px->cfg.hb_ms;	/* clamp: jumps only lengthen waits */
	px->now = px_max(px->now, now);
	px->elapsed += d;
	px->np_quiet -= px_min(d, px->np_quiet);
	px->sus_quiet -= px_min(d, px->sus_quiet);
	if (px->role != PRBD_PX_FOLLOWER && px_nocampaign(px))
		px_step_down(px);	/* a non-voting node never leads */
	switch (px->role) {
	case PRBD_PX_LEADER:
		if (px->now >= px->next_hb) {
			px->next_hb = px->now + px->cfg.hb_ms;
			px_send_hb(px);
			if (!px->transferring)
				px_update_lease(px);
			if (px->bar_round &&
			    px->now - px->bar_sent >= px->cfg.hb_ms)
				px_bar_send(px);	/* retransmit */
			if (px->preparing &&
			    px->now - px->p1_start >= 2 * (u64)px->cfg.elect_ms)
				px_begin_prepare(px);	/* fresh promises */
			else if (px->preparing)
				px_send_p1a(px);	/* retransmit */
			else if (px->commit + 1 >= px->p1_end)
				px_begin_prepare(px);
		}
		if (!px_majority(px, px_heard(px, 2 * (u64)px->cfg.elect_ms)) ||
		    (px->transferring && px->now >= px->transfer_until))
			px_step_down(px);
		break;
	case PRBD_PX_CANDIDATE:
		px->cand_elapsed += d;
		if (px->cand_elapsed >= px->timeout) {
			px_set_role(px, PRBD_PX_FOLLOWER);
			px->prevote = 0;
			px->elapsed = px->cfg.elect_ms;
			px_new_timeout(px);
		} else if (!px->prevote && px->now >= px->next_hb) {
			px->next_hb = px->now + px->cfg.hb_ms;
			px_send_p1a(px);	/* retransmit */
		}
		break;
	default:
		if (px_is_voter(px) && px->elapsed >= px->timeout &&
		    !px_nocampaign(px) && !px->np_quiet)
			px_start_prevote(px);
		break;
	}
	px_advance_commit(px);
	px_flush(px);
}

int prbd_px_propose(struct prbd_px *px, const struct prbd_px_desc *d)
{
	if (px->role != PRBD_PX_LEADER || px->transferring)
		return PRBD_PX_ENOTLEADER;
	if (!px_can_commit(px) || px->n_pend >= PRBD_PX_PENDING_MAX)
		return PRBD_PX_EBUSY;
	px->pend[(px->pend_head + px->n_pend) % PRBD_PX_PENDING_MAX] = *d;
	px->n_pend++;
	px_flush(px);
	return 0;
}

int prbd_px_propose_conf(struct prbd_px *px, u16 voters, u16 learners)
{
	struct prbd_px_entry e;

	if (px->role != PRBD_PX_LEADER || px->transferring)
		return PRBD_PX_ENOTLEADER;
	if (!voters || (voters & learners) || ((voters | learners) & 1) ||
	    px_popc(voters) > PRBD_PX_MAX_VOTERS ||
	    px_popc(voters ^ px->voters) > 1)
		return PRBD_PX_EINVAL;
	if (px->cfg_pending || px->n_pend || !px_slot_free(px))
		return PRBD_PX_EBUSY;
	memset(&e, 0, sizeof(e));
	e.kind = PRBD_PX_K_CONFIG;
	e.voters = voters;
	e.learners = learners;
	px_propose_at(px, px->next_slot, &e);
	px_flush(px);
	return 0;
}

int prbd_px_transfer(struct prbd_px *px, u8 target)
{
	struct prbd_px_msg *m;

	if (px->role != PRBD_PX_LEADER || px->preparing)
		return PRBD_PX_ENOTLEADER;
	if (target == px->id || target >= PRBD_PX_MAX_NODES ||
	    !(px->voters & BIT16(target)))
		return PRBD_PX_EINVAL;
	if (px->transferring)
		return PRBD_PX_EBUSY;
	px->transferring = 1;
	px->transfer_to = target;
	px->transfer_until = px->now + px->cfg.elect_ms;
	px->lease_until = 0;	/* never again in this ballot */
	m = px_out(px, PRBD_PX_M_TIMEOUT_NOW, target);
	if (m)
		m->ballot = px->ballot;
	px_flush(px);
	return 0;
}

/*
 * Persist batches in flight.  Up to cfg.persist_window batches may be
 * issued before the first is durable: the embedder writes them
 * concurrently (the log write of one overlaps the next one's) and reports
 * them in token order, prbd_px_persisted(t) meaning every batch up to t is
 * durable (a batch done early waits for the older ones).  A slot dirtied
 * again while its previous batch is in flight goes into a later batch;
 * nothing that depends on it (a reply, an apply, a commit hint) is let out
 * before that batch's token is done.  A batch carrying a hard-state change
 * (promise, configuration, install) goes alone: issued only when none is
 * in flight and none after it until it is durable, so the acceptor state
 * is written in token order, as with a single batch.
 */
static int px_may_issue(const struct prbd_px *px)
{
	u64 inflight = px->tok_issued - px->tok_done;

	if (px->tok_hs > px->tok_done)
		return 0;
	if (px->hs_dirty)
		return inflight == 0;
	return inflight < px->cfg.persist_window;
}

void prbd_px_persisted(struct prbd_px *px, u64 token)
{
	if (token > px->tok_done && token <= px->tok_issued) {
		px->tok_done = token;
		px_flq_written(px);
	}
	px_flush(px);
}

/*
 * The embedder's log storage is full: at its next heartbeat a leader
 * truncates to its own applied slot, past members that lag (they will get
 * F_RESYNC), as when the in-memory ring is nearly full; a follower asks
 * the leader to do so (F_LOGFULL on its next HB_R).  Either way every
 * member may then drop what it applied.
 */
void prbd_px_log_full(struct prbd_px *px)
{
	px->log_full = 1;
}

void prbd_px_applied(struct prbd_px *px, u64 slot)
{
	if (slot > px->applied && slot < px->apply_next)
		px->applied = slot;
}

void prbd_px_install(struct prbd_px *px, u64 slot, u64 cfg_slot, u16 voters,
		     u16 learners)
{
	bool reset = px_resetting(px);

	if (reset) {
		/* a reset: everything we held is replaced, even what we
		 * applied (it may be what the lossy election dropped)
		 */
		memset(px->log, 0, sizeof(px->log));
		/* replies about what we held: it is gone */
		px->n_held = 0;
		px->n_flq = 0;
		px->log_start = slot + 1;
		px->epoch = px->reset_epoch;
		px->erank = px->reset_rank;
		px->reset_epoch = 0;
		px->reset_rank = 0;
		/* an epoch of our own not in effect yet is gone with it */
		px->epoch_new = px->epoch;
		px->epoch_final = 0;
		px->lossy_lead = 0;
		px->epoch_base = slot;
		px->leader_commit = slot;
		px->cfg_slot = 0;
	} else if (slot <= px->commit) {
		return;
	}
	px_truncate_to(px, slot + 1);
	px->commit = slot;
	px->applied = slot;
	px->apply_next = slot + 1;
	px->needs_resync = 0;
	if ((cfg_slot > px->cfg_slot || reset) && voters) {
		px->cfg_slot = cfg_slot;
		px->voters = voters;
		px->learners = learners;
	}
	px_hs_dirty(px);
	px_advance_commit(px);
	px_flush(px);
}

void prbd_px_set_novote(struct prbd_px *px, bool on)
{
	px->novote = on;
	if (px_novote(px) && px->role != PRBD_PX_FOLLOWER)
		px_step_down(px);
	px_flush(px);
}

void prbd_px_set_nocampaign(struct prbd_px *px, bool on)
{
	px->nocampaign = on;
	if (on && px->role != PRBD_PX_FOLLOWER)
		px_step_down(px);
	px_flush(px);
}

void prbd_px_set_nopromise(struct prbd_px *px, bool on)
{
	u64 e = px->cfg.elect_ms, rho = px->cfg.drift_ppm;

	px->nopromise = on;
	px->np_bound_set = 0;
	/* 2E on the clock of a stale leader, plus 3E for its last messages */
	px->np_quiet = on ? 2 * e * (1000000 + rho) / (1000000 - rho) + 3 * e :
			    0;
	if (on && px->role != PRBD_PX_FOLLOWER)
		px_step_down(px);
	px_flush(px);
}

/*
 * Flush mode: the embedder restarted without its clean-shutdown mark, so
 * records it wrote without flushing may be gone (see "Flush mode").
 */
void prbd_px_set_suspect(struct prbd_px *px, bool on)
{
	u64 e = px->cfg.elect_ms, rho = px->cfg.drift_ppm;

	px->suspect = on;
	px->np_bound_set = 0;
	/* as long as an amnesiac member's silence (see nopromise) */
	px->sus_quiet = on ? 2 * e * (1000000 + rho) / (1000000 - rho) +
			     3 * e : 0;
	px_flush(px);
}

/*
 * A flush barrier (REQ_PREFLUSH): once rd->barrier_done >= *id, every slot
 * proposed before this call is durable on a majority of voters.  Returns
 * PRBD_PX_ENOTLEADER or PRBD_PX_EBUSY (phase 1 not complete: retry).
 */
int prbd_px_barrier(struct prbd_px *px, u64 *id)
{
	if (px->role != PRBD_PX_LEADER || px->transferring)
		return PRBD_PX_ENOTLEADER;
	if (px->preparing || !px->first_slot || px->epoch_new > px->epoch)
		return PRBD_PX_EBUSY;
	*id = ++px->bar_next_id;
	if (!px->bar_round)
		px_bar_start(px);
	px_flush(px);
	return 0;
}

/* The device flush rd->flush_token (and every one before it) completed. */
void prbd_px_flushed(struct prbd_px *px, u64 token)
{
	struct prbd_px_flreply *q;
	struct prbd_px_msg *r;
	u32 i = 0;

	if (token > px->fl_tok_issued)
		return;
	px->fl_tok_done = px_max(px->fl_tok_done, token);
	while (i < px->n_flq) {
		q = &px->flq[i];
		if (!q->tok || q->tok > px->fl_tok_done) {
			i++;
			continue;
		}
		r = px_out(px, PRBD_PX_M_FLUSH_R, q->to);
		if (r) {
			r->ballot = q->ballot;
			r->slot = q->frontier;
			r->aux = q->id;
		}
		*q = px->flq[--px->n_flq];
	}
	px_bar_self(px);
	px_flush(px);
}

void prbd_px_ready(struct prbd_px *px, struct prbd_px_ready *rd)
{
	struct prbd_px_slot *sl;
	u64 s;

	memset(rd, 0, sizeof(*rd));
	rd->msgs = px->out;
	rd->n_msgs = px->n_out;
	px->n_out = 0;
	if (px->any_dirty && px_may_issue(px)) {
		for (s = px->log_start; s < px->log_start + PRBD_PX_LOG_CAP;
		     s++) {
			sl = px_sl(px, s);
			if (!sl->dirty)
				continue;
			sl->dirty = 0;
			px->pbuf[rd->n_ents] = sl->e;
			/* a base not durable yet: accepted, see restore_entry */
			if (px->epoch_new > px->epoch &&
			    sl->e.ballot == px->epoch_new)
				px->pbuf[rd->n_ents].chosen = 0;
			rd->n_ents++;
		}
		rd->ents = px->pbuf;
		px->any_dirty = 0;
		px->tok_issued = px->tok_next++;
		if (px->hs_dirty)
			px->tok_hs = px->tok_issued;
		px->hs_dirty = 0;
		rd->persist_token = px->tok_issued;
		/*
		 * The hint stops below the first slot whose value is not
		 * durable yet (this batch's, or one still to be logged);
		 * slots below the log start are applied, so durable.
		 */
		rd->commit_hint = px->commit;
		for (s = px->log_start; s <= px->commit; s++) {
			sl = px_sl(px, s);
			if (!sl || sl->tok > px->tok_done) {
				rd->commit_hint = s - 1;
				break;
			}
		}
	}
	rd->hs.promised = px->promised;
	/*
	 * The hard state goes out only with a batch, and then its commit is
	 * the hint: a restart takes every slot up to hs.commit as chosen
	 * from its own records, and batches in flight land in any order.
	 */
	rd->hs.commit = rd->persist_token ? rd->commit_hint : px->commit;
	rd->hs.log_start = px->log_start;
	rd->hs.cfg_slot = px->cfg_slot;
	rd->hs.voters = px->voters;
	rd->hs.learners = px->learners;
	rd->hs.epoch = px->epoch_final ? px_max(px->epoch, px->epoch_new) :
		       px->epoch;
	rd->hs.epoch_base = px->epoch_base;
	rd->hs.erank = px->epoch_final ? px_max(px->erank, px->epoch_new) :
		       px->erank;
	/*
	 * apply only what is durably chosen: a restart never forgets it; a
	 * lossy base only once its epoch took effect
	 */
	for (s = px->apply_next;
	     s <= px->commit && px->epoch_new <= px->epoch; s++) {
		sl = px_sl(px, s);
		if (sl && !sl->e.kind) {
			/* a restored commit the log does not back: learn again */
			px->commit = s - 1;
			break;
		}
		if (!sl || sl->tok > px->tok_done)
			break;
	}
	if (s > px->apply_next) {
		rd->apply_lo = px->apply_next;
		rd->apply_hi = s - 1;
		px->apply_next = s;
	}
	/* amnesiac: all we may have lost is durably known chosen now */
	if (px->nopromise && px->np_bound_set && px->apply_next > px->np_bound)
		px->nopromise = 0;
	if (px->suspect && px->np_bound_set && px->apply_next > px->np_bound &&
	    !px_resetting(px))
		px->suspect = 0;
	rd->role = px->role;
	rd->leader = px->leader;
	rd->role_changed = px->role_changed;
	px->role_changed = 0;
	rd->needs_resync = px->needs_resync;
	if (px_resetting(px)) {
		rd->reset_epoch = px->reset_epoch;
		rd->reset_rank = px->reset_rank;
	}
	if (px->fl_tok_req > px->fl_tok_issued) {
		px->fl_tok_issued = px->fl_tok_req;
		rd->flush_token = px->fl_tok_req;
	}
	rd->barrier_done = px->bar_done;
	rd->barrier_dropped = px->bar_dropped;
}

/*
 * Every write acknowledged anywhere sits in a slot <= the leader's commit
 * index: only the leader learns from P2B quorums that a slot is chosen and
 * all others learn it from the leader.  So a read that arrives while the
 * lease holds must observe at least the state at the current commit index.
 */
u64 prbd_px_read_index(const struct prbd_px *px, u64 now)
{
	u64 until = px->lease_until;

#if PRBD_PX_MUTATION == 4
	if (until)
		until += px->lease_ms;	/* BUG: honoured past expiry */
#endif
	if (px->role != PRBD_PX_LEADER || px->transferring ||
	    !px->first_slot || now >= until)
		return 0;
	return px_max(px->commit, px->first_slot);
}

bool prbd_px_may_read(const struct prbd_px *px, u64 now)
{
	u64 idx = prbd_px_read_index(px, now);

	return idx && px->applied >= idx;
}

void prbd_px_status(const struct prbd_px *px, struct prbd_px_status *st)
{
	u8 p;

	memset(st, 0, sizeof(*st));
	st->ballot = px->ballot;
	st->promised = px->promised;
	st->commit = px->commit;
	st->applied = px->applied;
	st->log_start = px->log_start;
	st->cfg_slot = px->cfg_slot;
	st->next_slot = px->next_slot;
	if (px->role == PRBD_PX_LEADER) {
		for (p = 1; p < PRBD_PX_MAX_NODES; p++)
			st->peer_applied[p] = px->peer[p].applied;
		st->novote_peers = px_novote_peers(px);
		st->cfg_pending = px->cfg_pending;
		st->transferring = px->transferring;
		st->transfer_to = px->transfer_to;
		st->heard = BIT16(px->id);
		for (p = 1; p < PRBD_PX_MAX_NODES; p++)
			if (px->now - px->peer[p].last_heard < px->cfg.elect_ms)
				st->heard |= BIT16(p);
		st->heard &= px->voters | px->learners;
	}
	st->novote = px_novote(px);
	st->can_commit = px_can_commit(px);
	st->nopromise = px->nopromise;
	st->nocampaign = px->nocampaign;
	st->suspect = px->suspect;
	st->lossy = px->lossy;
	st->epoch = px->epoch;
	st->reset_epoch = px->reset_epoch;
	st->epoch_base = px->epoch_base;
	st->erank = px->erank;
	st->reset_rank = px->reset_rank;
	st->barrier_done = px->bar_done;
	st->voters = px->voters;
	st->learners = px->learners;
	st->id = px->id;
	st->role = px->role;
	st->leader = px->leader;
	st->needs_resync = px->needs_resync;
}

const struct prbd_px_entry *prbd_px_entry_at(const struct prbd_px *px,
					     u64 slot)
{
	if (slot < px->log_start || slot >= px->log_start + PRBD_PX_LOG_CAP)
		return NULL;
	return &px->log[slot & (PRBD_PX_LOG_CAP - 1)].e;
}
