// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic simulator for the prbd Multi-Paxos core.
 *
 * One process runs 1..7 cores (plus spare nodes for membership changes)
 * driven by a single event queue and a private PRNG seeded per run, so a
 * seed replays exactly.  Faults: message delay distributions, loss,
 * duplication, reordering, symmetric and one-way partitions, crashes that
 * lose everything not yet durable (torn persist batches included),
 * restarts, clock drift within the lease assumption and forward clock
 * jumps, slow disks, leader transfers and membership changes, non-voting
 * windows, bulk resyncs that copy while new writes keep arriving, wiped
 * disks (a crash that loses all durable state: the node comes back
 * amnesiac) and new groups whose disks all start fresh (amnesiac).  A
 * client workload issues block writes with unique tags and leader-local
 * reads.
 *
 * Checked after every event (see check_*()):
 *  - oracle: a slot is chosen iff a majority of its configuration durably
 *    accepted it at one ballot; no two different values chosen for a slot,
 *    and every value a node applies is chosen;
 *  - voting oracle: a leader declares a slot chosen only once a majority
 *    of its voters acknowledged it at its ballot while voting (P2B without
 *    F_NOVOTE delivered, or its own durable accept);
 *  - non-voting nodes never lead or run for leader, and a node whose data
 *    area is being copied (inconsistent) never leads; after a copy and at
 *    the end every consistent node's data equals the canonical state;
 *  - an amnesiac node flags every promise F_NOPROMISE, and no phase 1
 *    completes on the promise of a wiped node (the others that promised
 *    must be a majority without it);
 *  - every node's applied sequence is a prefix of one canonical sequence,
 *    so acknowledged writes can neither be lost nor changed;
 *  - a leader-local read returns a value at least as new as every write
 *    acknowledged and every read completed before it (linearizability);
 *  - at most one node holds a read lease at any simulated instant;
 *  - every configuration in use is a canonical one, and consecutive
 *    configurations have intersecting majorities;
 *  - after the faults heal, every pending request completes and all
 *    members converge within a bounded simulated time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <time.h>
#include "prbd_paxos.h"

#define MAXN		8	/* node ids 1..7 */
#ifndef PRBD_PX_MUTATION
#define PRBD_PX_MUTATION 0
#endif
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAXS		8192	/* slots tracked per run */
#define NSECT		8
#define NCLI		6
#define POOL		4096
#define HEAP		65536
#define MAXID		8192
#define NREC		8
#define NLIN		8	/* epochs not the truth yet, tracked at once */
#define NKNOWN		64	/* epochs of one seed */
#define TRACE_RING	256

enum { EV_TICK = 1, EV_MSG, EV_DISK, EV_RESTART, EV_FAULT, EV_CLIENT,
	EV_UNCUT, EV_RESYNC, EV_HEAL, EV_COPYDONE, EV_NVOFF, EV_WIPE,
	EV_FLUSH };

enum { AM_NO, AM_FRESH, AM_WIPED };	/* struct node.amnesiac */

/* campaign statistics */
enum { T_ACKED, T_READS, T_CRASHES, T_RESYNCS, T_CFG, T_COPIES, T_NV,
	T_COPY_RESTARTS, T_WIPES, T_FRESH, T_NP_INSTALL, T_NP_COMMIT,
	T_ELECT, T_NVP_ELECT, T_NVP_NEEDED, T_FLUSH_SEEDS, T_BARRIERS,
	T_LOSSY, T_RESETS, T_POWERCUTS, T_LOST_OK, T_FLUSH_MS, NTOT };

#define NUNDO		8192	/* unflushed log records remembered a node */

/* a log record in the volatile cache, with what it overwrote */
struct undo {
	u64 slot, gen, hint, tok;
	struct prbd_px_entry old;
};

struct ev {
	u64 t, seq;
	u32 arg, inc;
	u8 type, node;
};

struct rec {
	u64 ballot, hash;
	u16 mask;
};

/* voting acknowledgements of one slot at one ballot */
struct vrec {
	u64 ballot;
	u16 mask;
};

struct node {
	struct prbd_px *px;
	int up, exists;
	u32 inc;
	s64 drift_ppm;
	u64 jump;
	/* disk */
	struct prbd_px_hardstate hs;
	struct prbd_px_entry *dlog;	/* indexed by slot */
	u64 *dtok;	/* token of the batch that wrote dlog[slot] (this run) */
	/*
	 * Application state.  The data area is written on apply without a
	 * flush (a volatile cache); a checkpoint flushes it and then records
	 * the applied slot (ck_*: what a crash keeps for sure).  A crash
	 * keeps each sector written since the checkpoint or not, at random,
	 * and the node re-applies from ck_applied; its data area is "mixed"
	 * (ahead in places) until it has applied mixed_hi again.
	 */
	u64 applied;
	u64 sect_tag[NSECT], sect_slot[NSECT];
	u8 *idseen;
	u64 ck_applied, ck_data_hi, mixed_hi;
	u64 ck_tag[NSECT], ck_slot[NSECT];
	u8 *ck_idseen;
	/*
	 * Persist batches in flight (up to the core's persist_window), oldest
	 * at pb_head.  Each is durable when its EV_DISK fires, in any order;
	 * they are reported to the core in token order.
	 */
	struct pbatch {
		int busy, done;
		u64 tok, hint;
		struct prbd_px_hardstate hs;
		struct prbd_px_entry ents[PRBD_PX_LOG_CAP];
		u32 n;
	} pb[4 * PRBD_PX_PERSIST_MAX];	/* room for planted bug 10 */
	u32 pb_head, pb_n;
	u64 dl_commit;	/* newest commit hint among the durable records */
	u64 slow_until;
	int resync_sched;
	/* bulk resync in progress: data area inconsistent (durable flag) */
	int resyncing;
	u64 resync_at;		/* install point of the copy */
	u64 data_hi;		/* the data area is the state at this slot */
	u64 nv_until;		/* non-voting window (durable flag) */
	u64 vscan;		/* voting oracle: next slot to look at */
	/* wiped or fresh disk: the embedder's durable "amnesiac" record */
	int amnesiac;		/* AM_* */
	u32 p1_checked;		/* last phase 1 (p1_gen) checked */
	int np_install;		/* the amnesia ends with this install */
	u64 lead_ballot;	/* statistics: last leadership counted */
	/*
	 * Flush mode: log records land in the disk's volatile cache.  Each
	 * write gets a generation; a flush makes every write of a generation
	 * up to the one current at its issue durable; a crash keeps the
	 * writes up to a random generation and loses the rest (the log is
	 * replayed up to its first hole: a prefix).  undo[] holds what each
	 * cached write overwrote, oldest first.
	 */
	u64 *dhint;		/* commit hint of the record at slot */
	struct undo *undo;
	u32 n_undo;
	u64 wgen;
	u64 flgen[64];		/* generation at the issue of flush token % 64 */
	u64 flhint[64];		/* hint_issued then */
	/*
	 * Flush mode: the newest commit hint of a batch issued so far, and
	 * the newest one a completed device flush covers (every value it
	 * vouches for was written before a flush that completed): records
	 * carry no hint above it (start_disk()).
	 */
	u64 hint_issued, safe_hint;
	int suspect;		/* durable: restarted without the clean mark */
	struct prbd_px_entry *happ;	/* what this node applied, by slot */
	u64 *hep;		/* the epoch its apply tagged the slot with */
	u64 sect_ep[NSECT];	/* epoch of the apply that wrote the sector */
	u64 ck_ep[NSECT];
	int reset_copy;		/* the copy in progress is a reset */
	int removed;		/* told REMOVED (durable): nocampaign */
};

struct client {
	int busy, is_read, is_flush;
	u64 id, sector, start, bar_id;
	u8 target;
	u64 deadline;
};

struct trace_ev {
	u64 t;
	u8 type, node, a, b;
	u64 x, y;
};

static struct {
	u64 rng;
	u64 seed;
	u64 now;
	u64 seq;
	int n_nodes, n_voters;
	struct node nd[MAXN];
	struct ev heap[HEAP];
	u32 nheap;
	struct prbd_px_msg *pool;
	u32 freel[POOL], nfree;
	u8 cut[MAXN][MAXN];
	u32 loss_pm, dup_pm;	/* per mille */
	u32 lat_base, lat_jit;
	u64 fault_end, deadline;
	int healed;
	struct prbd_px_config pcfg;
	/* canonical sequence and oracle */
	struct prbd_px_entry *canon;
	u8 *canon_set;
	u64 *canon_ep;		/* the epoch in which the slot was decided */
	u64 canon_hi;
	struct rec (*recs)[NREC];
	u8 *nrec;
	struct vrec (*vrecs)[NREC];
	u8 *nvrec, *vchecked;
	int resync_mode;	/* 0: atomic copy; 1: copy while writes go on */
	int nv_mode;		/* random non-voting windows */
	int wipe_mode;		/* crashes that also wipe the disk */
	int fresh_mode;		/* a new group: every disk starts fresh */
	int flush_mode;		/* durability = flush (see "Flush mode") */
	int force_flush;	/* --flush 0|1, else -1: a third of the seeds */
	u64 epoch;		/* the epoch of the truth (lossy election) */
	int forks;		/* lossy elections this seed */
	u64 fiat_hi;		/* slots up to this decided by a lossy leader */
	/*
	 * Epochs started by a lossy leader that are not the truth yet: one
	 * becomes it once it chooses a slot past its base (a majority
	 * followed it); until then the truth is the epoch before, and the
	 * new one may be orphaned (see "Flush mode" in prbd_paxos.c).
	 */
	struct lin {
		u64 epoch;	/* 0: free */
		u64 created;	/* when it took effect at its leader */
		u64 f;		/* its leader's applied slot then */
		u64 fiat_hi;	/* the base its leader decided alone */
		struct prbd_px_entry *happ;	/* its leader's history */
		u64 *hep;
	} lin[NLIN];
	u64 known[NKNOWN];	/* every epoch that ever took effect */
	u32 n_known;
	u8 *durable_req;	/* by id: acked before a completed flush */
	u64 *ack_t;		/* by id: when it was acknowledged */
	u64 p1b_nv[MAXN][MAXN];	/* [to][from]: ballot of a P1B sent non-voting */
	u64 p1b_wiped[MAXN][MAXN];	/* ... sent by a wiped amnesiac node */
	u64 cfg_slot[64];
	u16 cfg_vot[64];
	int ncfg;
	/* clients */
	struct client cli[NCLI];
	u64 next_id;
	u64 *first_slot;		/* by id */
	u64 acked_slot[NSECT], read_slot[NSECT];	/* wkey() */
	u64 n_acked, n_reads;
	u8 *acked;			/* by id */
	int no_oracle, digest, no_lease_check;
	u64 tot[NTOT];		/* campaign statistics, T_* */
	/* result */
	int failed;
	char why[800];
	u64 steps;
	int trace;
	struct trace_ev tr[TRACE_RING];
	u64 ntr;
	u64 max_slot;
	/* dev_lose(): slots settled by a kept write (== lose_stamp) */
	u64 *lose_mark, lose_stamp;
} W;

static u64 rnd(void)
{
	u64 z = (W.rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static u64 rn(u64 n)
{
	return n ? rnd() % n : 0;
}

static int chance_pm(u32 pm)
{
	return rn(1000) < pm;
}

static const char *const evname[] = { "?", "tick", "msg", "disk", "restart",
	"fault", "client", "uncut", "resync", "heal", "copydone", "nvoff",
	"wipe", "flush" };
static const char *const msgname[] = { "?", "PREVOTE", "PREVOTE_R", "P1A",
	"P1B", "P2A", "P2B", "HB", "HB_R", "LEARN_REQ", "LEARN", "TIMEOUT_NOW",
	"FLUSH", "FLUSH_R" };

static void tr(u8 type, u8 node, u8 a, u8 b, u64 x, u64 y)
{
	struct trace_ev *t = &W.tr[W.ntr++ % TRACE_RING];

	t->t = W.now;
	t->type = type;
	t->node = node;
	t->a = a;
	t->b = b;
	t->x = x;
	t->y = y;
	if (W.trace) {
		if (type == EV_MSG)
			printf("t=%llu msg %s %u->%u ballot=%llx slot=%llu\n",
			       (unsigned long long)W.now, msgname[a < 14 ? a : 0],
			       b, node, (unsigned long long)x,
			       (unsigned long long)y);
		else
			printf("t=%llu %s node=%u a=%u b=%u x=%llu y=%llu\n",
			       (unsigned long long)W.now, evname[type], node, a,
			       b, (unsigned long long)x, (unsigned long long)y);
	}
}

static void fail(const char *fmt, const char *a, u64 x, u64 y);
static void fail(const char *fmt, const char *a, u64 x, u64 y)
{
	if (W.failed)
		return;
	W.failed = 1;
	snprintf(W.why, sizeof(W.why), "t=%llu: ", (unsigned long long)W.now);
	snprintf(W.why + strlen(W.why), sizeof(W.why) - strlen(W.why), fmt,
		 a, (unsigned long long)x, (unsigned long long)y);
}

/* ---- event heap ---- */

static int ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(u64 t, u8 type, u8 node, u32 arg, u32 inc)
{
	struct ev e = { t, W.seq++, arg, inc, type, node };
	u32 i = W.nheap;

	if (W.nheap >= HEAP) {
		fail("%sevent heap full", "", 0, 0);
		return;
	}
	W.nheap++;
	while (i && ev_less(&e, &W.heap[(i - 1) / 2])) {
		W.heap[i] = W.heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	W.heap[i] = e;
}

static struct ev pop(void)
{
	struct ev top = W.heap[0], last = W.heap[--W.nheap];
	u32 i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= W.nheap)
			break;
		if (c + 1 < W.nheap && ev_less(&W.heap[c + 1], &W.heap[c]))
			c++;
		if (!ev_less(&W.heap[c], &last))
			break;
		W.heap[i] = W.heap[c];
		i = c;
	}
	W.heap[i] = last;
	return top;
}

/* ---- helpers ---- */

static u64 local_now(int n)
{
	struct node *x = &W.nd[n];

	return 1000 + W.now + (u64)((s64)W.now * x->drift_ppm / 1000000) +
	       x->jump;
}

static u64 ent_hash(const struct prbd_px_entry *e)
{
	u64 h = 1469598103934665603ULL ^ e->kind;
	u32 i;

	h = (h ^ e->voters) * 1099511628211ULL;
	h = (h ^ e->learners) * 1099511628211ULL;
	for (i = 0; i < e->n_desc && i < PRBD_PX_BATCH; i++) {
		h = (h ^ e->desc[i].id) * 1099511628211ULL;
		h = (h ^ e->desc[i].sector) * 1099511628211ULL;
		h = (h ^ e->desc[i].csum) * 1099511628211ULL;
	}
	return h ^ e->n_desc;
}

static u32 popc(u32 x)
{
	return (u32)__builtin_popcount(x);
}

/* configuration in effect for slot s (the last config entry below s) */
static u16 cfg_for(u64 s)
{
	int i;

	for (i = W.ncfg - 1; i > 0; i--)
		if (W.cfg_slot[i] < s)
			return W.cfg_vot[i];
	return W.cfg_vot[0];
}

static int majority_of(u16 mask, u16 voters)
{
	return popc(mask & voters) * 2 > popc(voters);
}

/*
 * A node of an older epoch than the newest lossy election: what it
 * applies or accepts may be what that election dropped; it resets.
 */
static int stale(int n)
{
	return W.nd[n].px->epoch != W.epoch;
}

static int resetting(int n)
{
	return W.nd[n].px->reset_rank != 0;
}

/* ---- oracle: durable accepts ---- */

static void record_accept(int n, const struct prbd_px_entry *e)
{
	struct rec *r;
	u64 h = ent_hash(e);
	u32 i;

	if (e->slot >= MAXS)
		return;
	r = W.recs[e->slot];
	for (i = 0; i < W.nrec[e->slot]; i++)
		if (r[i].ballot == e->ballot && r[i].hash == h)
			break;
	if (i == W.nrec[e->slot]) {
		if (i == NREC)
			return;
		r[i].ballot = e->ballot;
		r[i].hash = h;
		r[i].mask = 0;
		W.nrec[e->slot]++;
	}
	/* a chosen value learned from others is not an accept at a ballot */
	if (!e->chosen)
		r[i].mask |= (u16)(1u << n);
}

static void check_oracle(u64 s, u64 h)
{
	u16 v = cfg_for(s);
	struct rec *r = W.recs[s];
	u32 i;
	int ok = 0;

	if (W.nrec[s] >= NREC || W.no_oracle)
		return;	/* table overflow: cannot judge */
	for (i = 0; i < W.nrec[s]; i++) {
		if (!majority_of(r[i].mask, v))
			continue;
		if (r[i].hash != h)
			fail("%sslot %llu: two different values chosen (ballot %llx)",
			     "", s, r[i].ballot);
		ok = 1;
	}
	if (!ok)
		fail("%sslot %llu applied but no majority durably accepted it (voters %llx)",
		     "", s, v);
}

/* ---- voting oracle: what the leader may count for commit ---- */

/* a P2B without F_NOVOTE from @n for (slot, ballot) reached some node */
static void record_vote(int n, u64 slot, u64 ballot)
{
	struct vrec *r;
	u32 i;

	if (slot >= MAXS || W.nvrec[slot] > NREC)
		return;
	r = W.vrecs[slot];
	for (i = 0; i < W.nvrec[slot]; i++)
		if (r[i].ballot == ballot)
			break;
	if (i == W.nvrec[slot]) {
		if (i >= NREC) {
			W.nvrec[slot] = NREC + 1;	/* overflow: no judgement */
			return;
		}
		r[i].ballot = ballot;
		r[i].mask = 0;
		W.nvrec[slot]++;
	}
	r[i].mask |= (u16)(1u << n);
}

static int nv_of(int n)
{
	return W.nd[n].px->novote || W.nd[n].px->needs_resync;
}

/*
 * A leader just declared slots chosen at its ballot: a majority of its
 * voters must have acknowledged each while voting (or be the leader with
 * its own durable accept).  Mutation 5 counts non-voting acks and fails.
 */
static void check_voting(int n)
{
	struct node *x = &W.nd[n];
	struct prbd_px *px = x->px;
	const struct prbd_px_entry *e;
	struct rec *r;
	u64 s, lo, hi;
	u16 mask;
	u32 i;

	if (W.no_oracle || px->role != PRBD_PX_LEADER || stale(n) ||
	    px->epoch_new > px->epoch)	/* a lossy leader's base */
		return;
	lo = x->vscan > px->log_start ? x->vscan : px->log_start;
	hi = px->next_slot;
	if (hi > px->log_start + PRBD_PX_LOG_CAP)
		hi = px->log_start + PRBD_PX_LOG_CAP;
	for (s = lo; s < hi && s < MAXS && !W.failed; s++) {
		e = prbd_px_entry_at(px, s);
		if (!e || !e->chosen || e->ballot != px->ballot ||
		    s <= px->cfg_slot || W.vchecked[s] || s <= W.fiat_hi ||
		    W.nvrec[s] > NREC || W.nrec[s] >= NREC)
			continue;
		W.vchecked[s] = 1;
		mask = 0;
		for (i = 0; i < W.nvrec[s]; i++)
			if (W.vrecs[s][i].ballot == e->ballot)
				mask = W.vrecs[s][i].mask;
		r = W.recs[s];
		for (i = 0; i < W.nrec[s]; i++)
			if (r[i].ballot == e->ballot &&
			    r[i].hash == ent_hash(e))
				mask |= r[i].mask & (u16)(1u << n);
		if (!majority_of(mask, px->voters) && W.trace)
			printf("node %d: epoch %llx new %llx ballot %llx base %llu fiat_hi %llu world %llx commit %llu\n",
			       n, (unsigned long long)px->epoch,
			       (unsigned long long)px->epoch_new,
			       (unsigned long long)px->ballot,
			       (unsigned long long)px->epoch_base,
			       (unsigned long long)W.fiat_hi,
			       (unsigned long long)W.epoch,
			       (unsigned long long)px->commit);
		if (!majority_of(mask, px->voters))
			fail("%sslot %llu chosen without a majority of voting acceptors (mask %llx)",
			     "", s, mask);
	}
	if (px->commit + 1 > x->vscan)
		x->vscan = px->commit + 1;
}

/* ---- canonical sequence ---- */

static void canon_apply(int n, u64 s, const struct prbd_px_entry *e)
{
	u64 h = ent_hash(e);
	u32 i;

	if (s >= MAXS) {
		fail("%sslot %llu beyond MAXS", "", s, 0);
		return;
	}
	if (stale(n))
		return;		/* it resets: checked against the new epoch */
	if (W.canon_set[s]) {
		if (ent_hash(&W.canon[s]) != h)
			fail("%snode applied a different value at slot %llu (node %llu)",
			     "", s, (u64)n);
		return;
	}
	if (W.trace)
		printf("t=%llu node %d applies slot %llu (epoch %llx new %llx tok %llu done %llu base %llu, world %llx, fiat_hi %llu)\n",
		       (unsigned long long)W.now, n, (unsigned long long)s,
		       (unsigned long long)W.nd[n].px->epoch,
		       (unsigned long long)W.nd[n].px->epoch_new,
		       (unsigned long long)W.nd[n].px->epoch_tok,
		       (unsigned long long)W.nd[n].px->tok_done,
		       (unsigned long long)W.nd[n].px->epoch_base,
		       (unsigned long long)W.epoch,
		       (unsigned long long)W.fiat_hi);
	if (s > W.fiat_hi)	/* a lossy leader decided those alone */
		check_oracle(s, h);
	W.canon[s] = *e;
	W.canon_set[s] = 1;
	W.canon_ep[s] = W.epoch;
	if (e->kind == PRBD_PX_K_CONFIG) {
		u16 prev = cfg_for(s + 1);

		if (popc(prev ^ e->voters) > 1)
			fail("%sconfig at slot %llu changes >1 voter (%llx)", "",
			     s, e->voters);
		W.tot[T_CFG]++;
		if (W.ncfg < 64) {
			W.cfg_slot[W.ncfg] = s;
			W.cfg_vot[W.ncfg++] = e->voters;
		}
	}
	if (e->kind == PRBD_PX_K_DATA)
		for (i = 0; i < e->n_desc; i++)
			if (e->desc[i].id < MAXID && !W.first_slot[e->desc[i].id])
				W.first_slot[e->desc[i].id] = s;
}

/* ---- network ---- */

static void send_msg(const struct prbd_px_msg *m)
{
	u32 k, copies = 1, c;
	u64 d;

	if (m->to == 0 || m->to >= MAXN || !W.nd[m->to].exists)
		return;
	if (W.cut[m->from][m->to] || chance_pm(W.loss_pm))
		return;
	if (chance_pm(W.dup_pm))
		copies = 2;
	for (c = 0; c < copies; c++) {
		if (!W.nfree)
			return;
		k = W.freel[--W.nfree];
		memcpy(&W.pool[k], m, sizeof(*m) - sizeof(m->ent) +
		       m->n_ent * sizeof(m->ent[0]));
		d = W.lat_base + rn(W.lat_jit + 1);
		if (chance_pm(20))
			d += rn(150);	/* long tail */
		push(W.now + d, EV_MSG, m->to, k, 0);
	}
}

/* ---- node I/O ---- */

static void client_applied(int n, u64 id);
static void client_done(int c);

static void disk_write(int n, const struct pbatch *b, u32 k, int hs);

static void dev_flush(int n, u64 gen);

static void start_disk(int n, const struct prbd_px_ready *rd)
{
	struct node *x = &W.nd[n];
	u64 lat = 1 + rn(3);
	u32 i = (x->pb_head + x->pb_n) % ARRAY_SIZE(x->pb);
	struct pbatch *b = &x->pb[i];

#if PRBD_PX_MUTATION == 10
	if (x->pb_n >= ARRAY_SIZE(x->pb) || b->busy) {
		/* out of room for the bug's backlog: this one lands now */
		struct pbatch now = { .tok = rd->persist_token,
				      .hint = rd->commit_hint, .hs = rd->hs,
				      .n = rd->n_ents };

		memcpy(now.ents, rd->ents, rd->n_ents * sizeof(rd->ents[0]));
		disk_write(n, &now, now.n, 1);
		prbd_px_persisted(x->px, now.tok);
		return;
	}
#else
	if (x->pb_n >= x->px->cfg.persist_window || b->busy) {
		fail("%snode %llu: the core issued a batch past its persist window (%llu)",
		     "", (u64)n, x->pb_n);
		return;
	}
#endif
	x->pb_n++;
	b->busy = 1;
	b->done = 0;
	b->tok = rd->persist_token;
	b->hint = rd->commit_hint;
	/*
	 * Flush mode, as prbd_flush_begin() in the module: a record carries
	 * a hint only up to the newest one a completed device flush covers;
	 * a hint above it could outlive, in a cache that writes back in any
	 * order, a value it vouches for.
	 */
	if (W.flush_mode) {
		u64 hi = 0;
		u32 k;

		for (k = 0; k < rd->n_ents; k++)
			if (rd->ents[k].slot > hi)
				hi = rd->ents[k].slot;
		if (b->hint > x->hint_issued)
			x->hint_issued = b->hint;
		/*
		 * A restart replays up to the newest hint its records hold and
		 * restores the accepted values of the next PRBD_PX_LOG_CAP
		 * slots only: records whose hint lags their slots by half of
		 * that go with PREFLUSH (modelled as a flush at issue) and
		 * carry their full hint, which covers completed batches only
		 * (prbd_take_ready() in the module).
		 */
		if (hi >= x->safe_hint + PRBD_PX_LOG_CAP / 2)
			dev_flush(n, x->wgen);
		else if (b->hint > x->safe_hint)
			b->hint = x->safe_hint;
	}
	b->hs = rd->hs;
	b->n = rd->n_ents;
	memcpy(b->ents, rd->ents, rd->n_ents * sizeof(rd->ents[0]));
	if (W.now < x->slow_until)
		lat += 20 + rn(60);
	push(W.now + lat, EV_DISK, (u8)n, i, x->inc);
}

/*
 * Flush mode: a flush issued when the write generation was @gen and the
 * newest hint issued was @hint completes: the cached writes up to @gen
 * become durable, and records may carry hints up to @hint.
 */
static void dev_flush_at(int n, u64 gen, u64 hint)
{
	struct node *x = &W.nd[n];
	u32 k = 0;

	if (hint > x->safe_hint)
		x->safe_hint = hint;

	while (k < x->n_undo && x->undo[k].gen <= gen)
		k++;
	memmove(x->undo, x->undo + k, (x->n_undo - k) * sizeof(x->undo[0]));
	x->n_undo -= k;
}

/* A flush issued now, complete at once */
static void dev_flush(int n, u64 gen)
{
	dev_flush_at(n, gen, W.nd[n].hint_issued);
}

/*
 * Flush mode, a crash: what the volatile cache held is lost.  Half the
 * time the writes after a random generation (a cache that writes back in
 * order), otherwise any subset, each write lost or kept at random: a real
 * cache (a disk's, the host page cache under a virtual disk) writes back
 * in any order, so a later record may survive an earlier one it depends
 * on (the embedder's safe hints, start_disk(), are the rule that makes
 * that harmless).  Per slot, the newest write kept wins; where every write
 * to it is lost, it holds what it held before the first.  Undone newest
 * first: a lost write gives back what it overwrote, a kept one settles its
 * slot.
 */
static void dev_lose(int n)
{
	struct node *x = &W.nd[n];
	u64 lo, cut;
	int any = rn(2);
	u32 i;

	if (!x->n_undo)
		return;
	lo = x->undo[0].gen - 1;
	cut = lo + rn(x->wgen - lo + 1);
	W.lose_stamp++;
	for (i = x->n_undo; i-- > 0;) {
		struct undo *u = &x->undo[i];
		int lost = any ? (int)rn(2) : u->gen > cut;

		if (u->slot >= MAXS || W.lose_mark[u->slot] == W.lose_stamp)
			continue;
		if (!lost) {
			W.lose_mark[u->slot] = W.lose_stamp;
			continue;
		}
		x->dlog[u->slot] = u->old;
		x->dhint[u->slot] = u->hint;
		x->dtok[u->slot] = u->tok;
	}
	x->n_undo = 0;
}

/* The first @k records of batch @b reach the disk, then its hs if @hs. */
static void disk_write(int n, const struct pbatch *b, u32 k, int hs)
{
	struct node *x = &W.nd[n];
	u32 i;

	if (W.flush_mode)
		x->wgen++;
	for (i = 0; i < k; i++) {
		const struct prbd_px_entry *e = &b->ents[i];

		if (e->slot >= MAXS)
			continue;
		if (W.flush_mode) {
			struct undo *u;

			if (x->n_undo == NUNDO)	/* the cache is full */
				dev_flush(n, x->wgen);
			u = &x->undo[x->n_undo++];
			u->slot = e->slot;
			u->gen = x->wgen;
			u->hint = x->dhint[e->slot];
			u->tok = x->dtok[e->slot];
			u->old = x->dlog[e->slot];
		}
		x->dhint[e->slot] = b->hint;
		/*
		 * Batches land in any order; replay takes the newest record
		 * of a slot (the highest sequence number: the later batch).
		 */
		if (b->tok >= x->dtok[e->slot]) {
			x->dlog[e->slot] = *e;
			x->dtok[e->slot] = b->tok;
		}
		if (b->hint > x->dl_commit)	/* each record carries it */
			x->dl_commit = b->hint;
		if (e->slot > W.max_slot)
			W.max_slot = e->slot;
		record_accept(n, e);
	}
	/*
	 * The embedder writes the hard state only when the promise or the
	 * configuration changed (the core's durability rule); commit and
	 * log start ride along then, and are volatile otherwise.
	 */
	if (hs && (b->hs.promised != x->hs.promised ||
		   b->hs.cfg_slot != x->hs.cfg_slot ||
		   b->hs.voters != x->hs.voters ||
		   b->hs.learners != x->hs.learners ||
		   b->hs.epoch != x->hs.epoch ||
		   b->hs.erank != x->hs.erank ||
		   b->hs.epoch_base != x->hs.epoch_base)) {
		struct prbd_px_hardstate old = x->hs;

		/* flush mode: the hard state goes with PREFLUSH | FUA */
		if (W.flush_mode)
			dev_flush(n, x->wgen);
		x->hs = b->hs;
		/* never back: a checkpoint may have written a newer config */
		if (old.cfg_slot > x->hs.cfg_slot) {
			x->hs.cfg_slot = old.cfg_slot;
			x->hs.voters = old.voters;
			x->hs.learners = old.learners;
		}
		if (old.promised > x->hs.promised)
			x->hs.promised = old.promised;
		/* a rank never goes back (see "Flush mode") */
		if (old.erank > x->hs.erank) {
			x->hs.epoch = old.epoch;
			x->hs.erank = old.erank;
			x->hs.epoch_base = old.epoch_base;
		}
	}
}

/*
 * A checkpoint: flush the data area, then record the applied slot.  The
 * planted bug 8 records the slot without the flush: the data written since
 * the last checkpoint stays in the volatile cache.
 */
static void checkpoint(int n)
{
	struct node *x = &W.nd[n];

	if (W.flush_mode)	/* the data area's flush is the device's */
		dev_flush(n, x->wgen);
#if PRBD_PX_MUTATION != 8
	memcpy(x->ck_tag, x->sect_tag, sizeof(x->ck_tag));
	memcpy(x->ck_slot, x->sect_slot, sizeof(x->ck_slot));
	memcpy(x->ck_ep, x->sect_ep, sizeof(x->ck_ep));
	memcpy(x->ck_idseen, x->idseen, MAXID);
	x->ck_data_hi = x->data_hi;
#endif
	x->ck_applied = x->applied;
	if (x->hs.commit < x->applied)
		x->hs.commit = x->applied;
	/*
	 * With the applied slot, the configuration in effect: a config entry
	 * at or below it leaves the log once it is recorded.  Planted bug 9
	 * keeps the configuration of the last hard-state write.
	 */
#if PRBD_PX_MUTATION != 9
	if (x->up && x->px->cfg_slot > x->hs.cfg_slot) {
		x->hs.cfg_slot = x->px->cfg_slot;
		x->hs.voters = x->px->voters;
		x->hs.learners = x->px->learners;
	}
#endif
}

static void apply_one(int n, u64 s, const struct prbd_px_entry *e)
{
	struct node *x = &W.nd[n];
	u32 i;

	canon_apply(n, s, e);
	if (s < MAXS) {
		x->happ[s] = *e;
		/* the epoch that decided the slot: see wkey() */
		x->hep[s] = W.canon_set[s] && !stale(n) ? W.canon_ep[s] :
			    x->px->epoch;
	}
	x->applied = s;
	if (s > x->data_hi)
		x->data_hi = s;
	if (e->kind != PRBD_PX_K_DATA)
		return;
	for (i = 0; i < e->n_desc; i++) {
		u64 id = e->desc[i].id;

		if (id >= MAXID)
			continue;
		if (!x->idseen[id]) {
			x->idseen[id] = 1;
			x->sect_tag[e->desc[i].sector] = id;
			x->sect_slot[e->desc[i].sector] = s;
			x->sect_ep[e->desc[i].sector] =
				s < MAXS ? x->hep[s] : x->px->epoch;
		}
		client_applied(n, id);
	}
}

static void do_apply(int n, u64 lo, u64 hi)
{
	struct node *x = &W.nd[n];
	const struct prbd_px_entry *e;
	u64 s;

	for (s = lo; s <= hi && !W.failed; s++) {
		e = prbd_px_entry_at(x->px, s);
		if (!e || !e->chosen) {
			fail("%sapply of slot %llu not chosen/absent on node %llu",
			     "", s, (u64)n);
			return;
		}
		if (s != x->applied + 1) {
			fail("%sapply out of order slot %llu node %llu", "", s,
			     (u64)n);
			return;
		}
		apply_one(n, s, e);
	}
	prbd_px_applied(x->px, hi);
}

static void check_config_in_use(int n)
{
	struct prbd_px *px = W.nd[n].px;
	const struct prbd_px_entry *c;

	/* a config is adopted at commit; its slot may not be applied yet */
	if (px->cfg_slot >= MAXS || (px->cfg_slot && !W.canon_set[px->cfg_slot]) ||
	    stale(n) || px->epoch_new > px->epoch)
		return;
	c = &W.canon[px->cfg_slot];
	if (px->cfg_slot ? (c->kind != PRBD_PX_K_CONFIG ||
			    c->voters != px->voters) :
	    px->voters != W.cfg_vot[0])
		fail("%snode %llu uses a non-canonical config (slot %llu)", "",
		     (u64)n, px->cfg_slot);
}

/*
 * Statistics: a new leadership, and whether its Phase 1 quorum had the
 * promise of a non-voting node (and could not have done without it).
 */
static void count_election(int n)
{
	struct prbd_px *px = W.nd[n].px;
	u16 all = 0, nv = 0;
	int p;

	W.nd[n].lead_ballot = px->ballot;
	W.tot[T_ELECT]++;
	for (p = 1; p < MAXN; p++) {
		if (!px->peer[p].promised)
			continue;
		all |= (u16)(1u << p);
		if (p != n && W.p1b_nv[n][p] == px->ballot)
			nv |= (u16)(1u << p);
	}
	if (!nv)
		return;
	W.tot[T_NVP_ELECT]++;
	/* without it, the voting nodes up could not have elected anyone */
	all = 0;
	for (p = 1; p < MAXN; p++)
		if (W.nd[p].up && !nv_of(p))
			all |= (u16)(1u << p);
	if (!majority_of(all, px->voters))
		W.tot[T_NVP_NEEDED]++;
	tr(EV_WIPE, (u8)n, 3, (u8)nv, px->ballot, all);
}

/*
 * A phase 1 just completed: a wiped node forgot what it accepted, so its
 * promise must not have been needed for the majority.
 */
static void check_phase1(int n)
{
	struct prbd_px *px = W.nd[n].px;
	u16 all = 0, wiped = 0;
	int p;

	W.nd[n].p1_checked = px->p1_gen;
	for (p = 1; p < MAXN; p++) {
		if (!px->peer[p].promised)
			continue;
		all |= (u16)(1u << p);
		if (W.p1b_wiped[n][p] == px->ballot)
			wiped |= (u16)(1u << p);
	}
	if (wiped && !majority_of(all & ~wiped, px->voters))
		fail("%snode %llu completed phase 1 on a wiped node's promise (promises %llx)",
		     "", (u64)n, all);
}

/*
 * A lossy election completed at node @n: a new epoch, which becomes the
 * truth once it chooses a slot past its base (lin_commit()).  Until then
 * the epoch before stays the truth: the new one may be orphaned, a
 * majority going on without it at a higher rank.
 */
static int lin_has(const struct prbd_px_entry *e, u64 id)
{
	u32 i;

	for (i = 0; e->kind == PRBD_PX_K_DATA && i < e->n_desc; i++)
		if (e->desc[i].id == id)
			return 1;
	return 0;
}

/* Does any node, up or down, still hold @epoch? */
static int lin_held(u64 epoch)
{
	int i;

	for (i = 1; i <= W.n_nodes; i++)
		if (W.nd[i].px->epoch == epoch || W.nd[i].hs.epoch == epoch)
			return 1;
	return 0;
}

static void lin_new(int n, u64 epoch, u64 fiat_hi)
{
	struct node *x = &W.nd[n];
	struct lin *l = NULL;
	u64 id;
	u32 i;

	if (epoch == W.epoch) {
		if (fiat_hi > W.fiat_hi)	/* its phase 1 ran again */
			W.fiat_hi = fiat_hi;
		return;
	}
	for (i = 0; i < NLIN; i++)
		if (W.lin[i].epoch == epoch) {
			if (fiat_hi > W.lin[i].fiat_hi)
				W.lin[i].fiat_hi = fiat_hi;
			return;
		}
	/* one that was the truth before, or orphaned: nothing new */
	for (i = 0; i < W.n_known; i++)
		if (W.known[i] == epoch)
			return;
	if (W.n_known < NKNOWN)
		W.known[W.n_known++] = epoch;
	for (i = 0; i < NLIN && !l; i++)
		if (!W.lin[i].epoch || !lin_held(W.lin[i].epoch))
			l = &W.lin[i];	/* free, or orphaned for good */
	if (!l) {
		fail("%smore than %llu epochs at once (node %llu)", "", NLIN,
		     (u64)n);
		return;
	}
	l->epoch = epoch;
	l->created = W.now;
	l->f = x->applied < MAXS ? x->applied : MAXS - 1;
	l->fiat_hi = fiat_hi;
	memcpy(l->happ, x->happ, (l->f + 1) * sizeof(*l->happ));
	memcpy(l->hep, x->hep, (l->f + 1) * sizeof(*l->hep));
	W.forks++;	/* data areas may hold writes it drops from now on */
	W.tot[T_LOSSY]++;
	/*
	 * Acknowledged writes not flushed and not in what its leader
	 * applied may be gone from now on, whether or not this epoch
	 * wins: a flush that completes later (retried at the new leader)
	 * does not bring them back.
	 */
	for (id = 1; id <= W.next_id; id++) {
		u64 s;

		if (W.acked[id] != 1 || W.durable_req[id])
			continue;
		for (s = 1; s <= l->f; s++)
			if (lin_has(&l->happ[s], id))
				break;
		if (s > l->f) {
			W.acked[id] = 2;
			W.tot[T_LOST_OK]++;
		}
	}
	/* its data area is that epoch's state at its applied slot */
	x->mixed_hi = 0;
	x->data_hi = x->applied;
	tr(EV_WIPE, (u8)n, 5, 0, l->f, fiat_hi);
}

/* What the members of epoch @l applied at slot @s since it took effect. */
static void lin_canon(const struct lin *l, u64 s)
{
	const struct node *y;
	int i;

	W.canon_set[s] = 0;
	for (i = 1; i <= W.n_nodes; i++) {
		y = &W.nd[i];
		if (y->px->epoch != l->epoch || resetting(i) || y->applied < s)
			continue;
		if (!W.canon_set[s]) {
			W.canon[s] = y->happ[s];
			W.canon_set[s] = 1;
			W.canon_ep[s] = y->hep[s];
		} else if (ent_hash(&W.canon[s]) != ent_hash(&y->happ[s])) {
			fail("%snodes of one epoch applied different values at slot %llu (node %llu)",
			     "", s, (u64)i);
		}
	}
}

/*
 * Epoch @l chose a slot past its base: it is the truth now, what its
 * leader had applied when it took effect, then what it decides.  Slots
 * above are numbered anew; acknowledged writes that were not flushed
 * before it took effect may be gone, flushed ones may not, nor any
 * acknowledged since (check_final()).
 */
static void lin_commit(struct lin *l)
{
	u64 f = l->f, s, id;
	u32 i, j, k;

	W.epoch = l->epoch;
	W.fiat_hi = l->fiat_hi;
	tr(EV_WIPE, 0, 4, 0, f, W.fiat_hi);
	for (s = 1; s <= W.max_slot && s < MAXS; s++) {
		if (s <= f) {
			W.canon_ep[s] = l->hep[s];
			W.canon[s] = l->happ[s];
			W.canon_set[s] = 1;
		} else {
			lin_canon(l, s);
		}
		/* what was accepted in this epoch still counts */
		for (i = 0, k = 0; i < W.nrec[s] && s > f; i++)
			if (W.recs[s][i].ballot >= l->epoch)
				W.recs[s][k++] = W.recs[s][i];
		if (W.nrec[s] < NREC)	/* full: no judgement, as before */
			W.nrec[s] = s > f ? (u8)k : 0;
		for (j = 0, k = 0; j < W.nvrec[s] && s > f &&
		     W.nvrec[s] <= NREC; j++)
			if (W.vrecs[s][j].ballot >= l->epoch)
				W.vrecs[s][k++] = W.vrecs[s][j];
		if (W.nvrec[s] <= NREC)
			W.nvrec[s] = s > f ? (u8)k : 0;
		W.vchecked[s] = 0;
	}
	memset(W.first_slot, 0, MAXID * sizeof(u64));
	W.ncfg = 1;
	for (s = 1; s <= W.max_slot && s < MAXS && W.canon_set[s]; s++) {
		const struct prbd_px_entry *e = &W.canon[s];

		if (e->kind == PRBD_PX_K_CONFIG && W.ncfg < 64) {
			W.cfg_slot[W.ncfg] = s;
			W.cfg_vot[W.ncfg++] = e->voters;
		}
		if (e->kind == PRBD_PX_K_DATA)
			for (i = 0; i < e->n_desc; i++)
				if (e->desc[i].id < MAXID &&
				    !W.first_slot[e->desc[i].id])
					W.first_slot[e->desc[i].id] = s;
	}
	for (id = 1; id <= W.next_id; id++)
		if (W.acked[id] == 1 && !W.first_slot[id] &&
		    !W.durable_req[id] && W.ack_t[id] <= l->created) {
			W.acked[id] = 2;	/* not flushed: may be lost */
			W.tot[T_LOST_OK]++;
		}
	/* reads are checked again from the next acknowledged writes on */
	memset(W.acked_slot, 0, sizeof(W.acked_slot));
	memset(W.read_slot, 0, sizeof(W.read_slot));
	for (i = 1; i <= (u32)W.n_nodes; i++)
		W.nd[i].vscan = 0;
	l->epoch = 0;
}

/* A node of an epoch not the truth yet chose a slot past its base. */
static void lin_check(int n)
{
	struct prbd_px *px = W.nd[n].px;
	u32 i;

	/* a lossy leader's new base is not a choice in its old epoch */
	if (px->epoch == W.epoch || resetting(n) || px->epoch_new > px->epoch)
		return;
	for (i = 0; i < NLIN; i++)
		if (W.lin[i].epoch && W.lin[i].epoch == px->epoch &&
		    px->commit > W.lin[i].fiat_hi) {
			if (W.trace)
				printf("t=%llu epoch %llx takes over at node %d (commit %llu, applied %llu)\n",
				       (unsigned long long)W.now,
				       (unsigned long long)px->epoch, n,
				       (unsigned long long)px->commit,
				       (unsigned long long)W.nd[n].applied);
			lin_commit(&W.lin[i]);
		}
}

/* A flush completed: every write acknowledged before it began is durable. */
static void flush_done(int c)
{
	struct client *k = &W.cli[c];
	u64 id;

	for (id = 1; id <= W.next_id; id++)
		if (W.acked[id] == 1 && W.ack_t[id] <= k->start)
			W.durable_req[id] = 1;
	if (W.trace)
		printf("t=%llu client %d: flush (started %llu) done by node %d, barrier %llu\n",
		       (unsigned long long)W.now, c, (unsigned long long)k->start,
		       k->target, (unsigned long long)k->bar_id);
	W.tot[T_BARRIERS]++;
	W.tot[T_FLUSH_MS] += W.now - k->start;
	client_done(c);
}

static void pump(int n);

/*
 * prbd.ko's REMOVED (prbd_member.c): a leader, which knows its
 * configuration chosen, has each node it left out stop campaigning; it
 * stays a full acceptor.  A node in the configuration again (learner-add
 * after a removal; prbd.ko would need create-md) may campaign again.
 */
static void tell_removed(int n)
{
	u16 in = W.nd[n].px->voters | W.nd[n].px->learners;
	struct node *y;
	int r, out;

	for (r = 1; r <= W.n_nodes; r++) {
		y = &W.nd[r];
		out = !(in & (1u << r));
		if (r == n || !y->up || out == y->removed)
			continue;
		y->removed = out;
		prbd_px_set_nocampaign(y->px, out);
		pump(r);
	}
}

static void pump(int n)
{
	struct node *x = &W.nd[n];
	struct prbd_px_ready rd;
	u32 i;
	int loops = 0;

	if (!x->up)
		return;
	for (;;) {
		prbd_px_ready(x->px, &rd);
		/*
		 * Only a lossy leader moves to an epoch nobody holds yet,
		 * and decides more alone when its phase 1 runs again.
		 */
		if (x->px->epoch && x->px->epoch == x->px->ballot)
			lin_new(n, x->px->epoch, x->px->epoch_base);
		lin_check(n);
		if (x->px->role == PRBD_PX_LEADER)
			tell_removed(n);
		for (i = 0; i < rd.n_msgs; i++) {
			const struct prbd_px_msg *m = &rd.msgs[i];

			if (m->type == PRBD_PX_M_P1B &&
			    !(m->flags & PRBD_PX_F_NACK) && m->to < MAXN) {
				if (x->px->nopromise &&
				    !(m->flags & PRBD_PX_F_NOPROMISE))
					fail("%samnesiac node %llu promised without F_NOPROMISE (p1_from %llu)",
					     "", (u64)n, m->slot);
				W.p1b_nv[m->to][n] = nv_of(n) ? m->ballot : 0;
				W.p1b_wiped[m->to][n] =
					x->amnesiac == AM_WIPED ? m->ballot : 0;
			}
			send_msg(m);
		}
		if (rd.persist_token)
			start_disk(n, &rd);
		if (rd.apply_hi)
			do_apply(n, rd.apply_lo, rd.apply_hi);
		if (rd.needs_resync && !x->resync_sched) {
			x->resync_sched = 1;
			push(W.now + 20, EV_RESYNC, (u8)n, 0, x->inc);
		}
		if (rd.flush_token) {
			u64 lat = 1 + rn(3);

			if (W.now < x->slow_until)
				lat += 20 + rn(60);
			x->flgen[rd.flush_token % 64] = x->wgen;
			x->flhint[rd.flush_token % 64] = x->hint_issued;
			push(W.now + lat, EV_FLUSH, (u8)n, (u32)rd.flush_token,
			     x->inc);
		}
		if (rd.barrier_done || rd.barrier_dropped) {
			int c;

			for (c = 0; c < NCLI; c++) {
				struct client *k = &W.cli[c];

				if (!k->busy || !k->is_flush || k->target != n ||
				    !k->bar_id)
					continue;
				if (k->bar_id <= rd.barrier_done) {
					flush_done(c);
				} else if (k->bar_id <= rd.barrier_dropped) {
					k->bar_id = 0;	/* try again */
					push(W.now + 1 + rn(10), EV_CLIENT, 0,
					     (u32)c, 0);
				}
			}
		}
		if (!rd.n_msgs && !rd.persist_token && !rd.apply_hi &&
		    !rd.flush_token)
			break;
		if (++loops > 100) {
			fail("%spump does not settle on node %llu", "", n, 0);
			break;
		}
	}
	if (x->px->role != PRBD_PX_FOLLOWER && (nv_of(n) || x->resyncing))
		fail("%snon-voting node %llu is leader or candidate (role %llu)",
		     "", (u64)n, x->px->role);
	if (x->px->role == PRBD_PX_LEADER && !x->px->preparing &&
	    x->px->p1_gen != x->p1_checked && !W.no_oracle)
		check_phase1(n);
	if (x->px->role == PRBD_PX_LEADER && !x->px->preparing &&
	    x->px->ballot != x->lead_ballot)
		count_election(n);
	if (x->suspect && !x->px->suspect)
		x->suspect = 0;	/* the embedder records it durably */
	if (x->amnesiac && !x->px->nopromise) {
		/* the embedder records durably that the amnesia is over */
		x->amnesiac = AM_NO;
		W.tot[x->np_install ? T_NP_INSTALL : T_NP_COMMIT]++;
		tr(EV_WIPE, (u8)n, 2, x->np_install, x->px->commit, 0);
	}
	check_voting(n);
	check_config_in_use(n);
}

/* the embedder's non-voting flag: copy in progress or a window */
static void update_novote(int n)
{
	struct node *x = &W.nd[n];
	int want = x->resyncing || W.now < x->nv_until;

	if (!x->up || !want == !x->px->novote)
		return;
	prbd_px_set_novote(x->px, want);
	pump(n);
}

static void node_start(int n)
{
	struct node *x = &W.nd[n];
	struct prbd_px_config c = W.pcfg;
	struct prbd_px_hardstate hs;
	u64 s;

	c.id = (u8)n;
	c.seed = W.seed * 131 + x->inc;
	prbd_px_init(x->px, &c);
	x->px->epoch = x->hs.epoch;	/* the replay below is of that epoch */
	/* its epoch became durable as it crashed: nobody heard of it yet */
	if (x->hs.epoch && x->hs.epoch == x->hs.erank)
		lin_new(n, x->hs.epoch, x->hs.epoch_base);
	/* the core's tokens start again: older records are older */
	memset(x->dtok, 0, (W.max_slot + 1) * sizeof(*x->dtok));
	hs = x->hs;
	if (W.flush_mode) {	/* the hints of the records that survived */
		x->dl_commit = 0;
		for (s = 1; s <= W.max_slot && s < MAXS; s++)
			if (x->dlog[s].kind && x->dhint[s] > x->dl_commit)
				x->dl_commit = x->dhint[s];
	}
	if (W.trace)
		printf("t=%llu node %d starts: hs.commit %llu hint %llu applied %llu epoch %llx\n",
		       (unsigned long long)W.now, n,
		       (unsigned long long)hs.commit,
		       (unsigned long long)x->dl_commit,
		       (unsigned long long)x->applied,
		       (unsigned long long)hs.epoch);
	if (hs.commit < x->dl_commit)
		hs.commit = x->dl_commit;
	/*
	 * As prbd_log_load() does: replay what the log holds and knows
	 * chosen (up to the newest commit hint), in slot order, a config
	 * entry into the hard state too, then checkpoint.
	 */
	for (s = x->applied + 1; s <= hs.commit && s < MAXS; s++) {
		if (!x->dlog[s].kind)
			break;
		if (x->dlog[s].kind == PRBD_PX_K_CONFIG && s > hs.cfg_slot) {
			hs.cfg_slot = s;
			hs.voters = x->dlog[s].voters;
			hs.learners = x->dlog[s].learners;
		}
		apply_one(n, s, &x->dlog[s]);
	}
	if (x->applied > x->ck_applied) {
		x->hs.cfg_slot = hs.cfg_slot;
		x->hs.voters = hs.voters;
		x->hs.learners = hs.learners;
		checkpoint(n);
	}
	prbd_px_restore(x->px, &hs, x->applied);
	/* the log start is volatile: the core's is <= applied + 1 */
	for (s = x->px->log_start; s <= W.max_slot; s++) {
		if (!x->dlog[s].kind)
			continue;
		/* an acceptor must never forget what it durably accepted */
		if (s >= x->px->log_start + PRBD_PX_LOG_CAP)
			fail("%snode %llu restarts with a durable accept at slot %llu beyond its ring",
			     "", (u64)n, s);
		prbd_px_restore_entry(x->px, &x->dlog[s]);
	}
	x->up = 1;
	/* prbd.ko: removed_at is in the acceptor state, read back at up */
	if (x->removed)
		prbd_px_set_nocampaign(x->px, true);
	memset(x->pb, 0, sizeof(x->pb));
	x->pb_head = 0;
	x->pb_n = 0;
	x->resync_sched = 0;
	x->np_install = 0;
	/* the embedder's durable record: fresh or wiped disk, amnesiac */
	if (x->amnesiac)
		prbd_px_set_nopromise(x->px, true);
	/* no clean-shutdown mark: what was not flushed may be gone */
	if (x->suspect)
		prbd_px_set_suspect(x->px, true);
	/* the embedder's durable "inconsistent"/non-voting record */
	if (x->resyncing || W.now < x->nv_until)
		prbd_px_set_novote(x->px, true);
	if (x->resyncing) {	/* the copy starts over after a restart */
		W.tot[T_COPY_RESTARTS]++;
		push(W.now + 30 + rn(600), EV_COPYDONE, (u8)n, 0, x->inc);
	}
	if (x->px->commit < x->applied)
		fail("%snode %llu restarted with commit %llu < applied", "",
		     (u64)n, x->px->commit);
	prbd_px_tick(x->px, local_now(n));
	pump(n);
}

static void crash(int n)
{
	struct node *x = &W.nd[n];
	u32 i;

	if (!x->up)
		return;
	for (i = 0; i < x->pb_n; i++) {
		const struct pbatch *b =
			&x->pb[(x->pb_head + i) % ARRAY_SIZE(x->pb)];
		u32 k;

		if (!b->busy || b->done || !rn(2))
			continue;
		/* torn batch: a prefix of the entries, hs only if complete */
		k = (u32)rn(b->n + 1);
		disk_write(n, b, k, k == b->n && rn(2));
	}
	if (W.flush_mode) {
		dev_lose(n);
		x->suspect = 1;
	}
	if (x->applied > x->ck_applied) {
		/* each sector written since the checkpoint survives or not */
		for (i = 0; i < NSECT; i++)
			if (x->sect_slot[i] != x->ck_slot[i] && rn(2)) {
				x->sect_tag[i] = x->ck_tag[i];
				x->sect_slot[i] = x->ck_slot[i];
				x->sect_ep[i] = x->ck_ep[i];
			}
		memcpy(x->idseen, x->ck_idseen, MAXID);
		if (x->applied > x->mixed_hi)
			x->mixed_hi = x->applied;
		x->applied = x->ck_applied;
	}
	x->up = 0;
	memset(x->pb, 0, sizeof(x->pb));
	x->pb_head = 0;
	x->pb_n = 0;
	x->inc++;
	x->hint_issued = 0;
	x->safe_hint = 0;
	W.tot[T_CRASHES]++;
	tr(EV_RESTART, (u8)n, 0, 0, 0, 0);
}

/*
 * A crash that also loses the disk: the node comes back with fresh
 * metadata (the initial configuration, nothing promised, accepted or
 * applied, an empty data area) and amnesiac, the embedder's durable
 * record that makes it call prbd_px_set_nopromise(true) at every start
 * until the core clears the flag.  It then catches up from the log or,
 * truncated, gets needs_resync and a resync.  Never two amnesiac nodes
 * at once, and never in a group of fewer than 3 voters: that is data
 * loss, which nothing can protect against.
 */
static int wipe(int n)
{
	struct node *x = &W.nd[n];
	int i;

	if (W.n_voters < 3)
		return 0;
	for (i = 1; i <= W.n_nodes; i++)
		if (W.nd[i].amnesiac || W.nd[i].resyncing || stale(i) ||
		    resetting(i))
			return 0;	/* a second disk not whole */
	if (x->up) {
		crash(n);
		push(W.now + 20 + rn(400), EV_RESTART, (u8)n, 0, x->inc);
	}
	memset(x->dlog, 0, (W.max_slot + 1) * sizeof(*x->dlog));
	memset(x->dhint, 0, (W.max_slot + 1) * sizeof(*x->dhint));
	x->n_undo = 0;
	x->suspect = 0;
	x->reset_copy = 0;
	memset(&x->hs, 0, sizeof(x->hs));
	x->dl_commit = 0;
	memset(x->idseen, 0, MAXID);
	memset(x->sect_tag, 0, sizeof(x->sect_tag));
	memset(x->sect_slot, 0, sizeof(x->sect_slot));
	memset(x->sect_ep, 0, sizeof(x->sect_ep));
	memset(x->ck_ep, 0, sizeof(x->ck_ep));
	x->applied = 0;
	x->data_hi = 0;
	x->ck_applied = 0;
	x->ck_data_hi = 0;
	x->mixed_hi = 0;
	memset(x->ck_idseen, 0, MAXID);
	memset(x->ck_tag, 0, sizeof(x->ck_tag));
	memset(x->ck_slot, 0, sizeof(x->ck_slot));
	x->resyncing = 0;
	x->resync_at = 0;
	x->nv_until = 0;
	x->amnesiac = AM_WIPED;
	x->removed = 0;		/* create-md clears removed_at */
	W.tot[T_WIPES]++;
	tr(EV_WIPE, (u8)n, 1, 0, 0, 0);
	return 1;
}

/*
 * Looking for a resync source, the embedder talks to every node it can
 * reach, and every frame says its sender's epoch and rank: an epoch of a
 * higher rank nobody sent a Paxos message about yet (its lossy leader
 * stepped down at once, say: its base removed it) is heard of that way.
 */
static void hear_epochs(int n)
{
	struct node *x = &W.nd[n];
	struct prbd_px_msg m;
	int i;

	for (i = 1; i <= W.n_nodes; i++) {
		struct node *y = &W.nd[i];

		if (i == n || !y->up || W.cut[i][n] ||
		    y->px->epoch == x->px->epoch)
			continue;
		memset(&m, 0, sizeof(m) - sizeof(m.ent));
		m.type = PRBD_PX_M_HB_R;
		m.from = (u8)i;
		m.to = (u8)n;
		m.epoch = y->px->epoch;
		m.erank = y->px->erank;
		prbd_px_step(x->px, &m);
	}
}

/*
 * A resync source must hold the epoch we hold, or the one we reset to,
 * and must not be resetting itself.
 */
static int src_ok(const struct node *x, const struct node *y)
{
	u64 want = x->px->reset_rank ? x->px->reset_epoch : x->px->epoch;

	return y->px->epoch == want && !y->px->reset_rank;
}

static void do_resync(int n)
{
	struct node *x = &W.nd[n], *src = NULL;
	u64 inst;
	int i, reset;

	if (x->pb_n) {	/* let the older batches land first */
		push(W.now + 5, EV_RESYNC, (u8)n, 0, x->inc);
		return;
	}
	x->resync_sched = 0;
	reset = resetting(n);
	for (i = 1; i <= W.n_nodes; i++) {
		struct node *y = &W.nd[i];

		/*
		 * A source checkpoints first (below): its applied slot.  Its
		 * configuration may be newer than that slot (chosen, not
		 * applied yet: a restarted leader whose configuration entry
		 * follows its checkpoint); it is installed as it is, like
		 * prbd_rs_answer_begin() does, since a chosen configuration
		 * is in effect wherever it is known (prbd_px_restore_entry()).
		 * Excluding such a source left a group whose only source was
		 * that leader without a resync (seed 188272).
		 */
		if (i == n || !y->up ||
		    y->resyncing || !src_ok(x, y))
			continue;
		if (!src || y->applied > src->applied)
			src = y;
	}
	/*
	 * The install point is the source's recorded applied slot, which no
	 * crash of the source takes back (its in-memory one may regress); a
	 * source behind on it checkpoints first (prbd_rs_on_begin()).
	 */
	if (src && src->ck_applied < src->applied)
		checkpoint((int)(src - W.nd));
	/* a reset copies the epoch's base: the source must hold it */
	if (src && reset && src->ck_applied < src->px->epoch_base)
		src = NULL;
	if (!src || (src->ck_applied <= x->px->commit && !reset)) {
		hear_epochs(n);
		if (reset) {	/* no source of that epoch yet: again */
			x->resync_sched = 1;
			push(W.now + 20 + rn(50), EV_RESYNC, (u8)n, 0, x->inc);
		}
		return;
	}
	inst = src->ck_applied;
	/* what the target's data now reflects (the oracle's history) */
	memcpy(x->happ, src->happ, (inst + 1) * sizeof(*x->happ));
	memcpy(x->hep, src->hep, (inst + 1) * sizeof(*x->hep));
	if (reset) {
		/*
		 * Everything goes: the log (durably, with the new hard
		 * state), what was applied, the dedup record; the data area
		 * and the history below the install point come from the
		 * source.
		 */
		memset(x->dlog, 0, (W.max_slot + 1) * sizeof(*x->dlog));
		memset(x->dhint, 0, (W.max_slot + 1) * sizeof(*x->dhint));
		x->n_undo = 0;
		x->dl_commit = 0;
		x->mixed_hi = 0;
		x->data_hi = inst;
		/*
		 * No sector is of the epoch we reset to (we may come back to
		 * one we held before an orphaned one: its number says
		 * nothing), until the copy or our own applies write it.
		 */
		for (i = 0; i < NSECT; i++)
			x->sect_ep[i] = PRBD_PX_U64_MAX;
		W.tot[T_RESETS]++;
	}
	if (W.resync_mode) {
		/*
		 * The kernel's way: install at A = the source's applied slot,
		 * non-voting (durably "inconsistent") until the copy is done,
		 * applying every slot after A meanwhile.  Which request ids
		 * are applied (dedup) comes with the install; the sectors
		 * keep their old, inconsistent contents until the copy.
		 */
		memcpy(x->idseen, src->ck_idseen, MAXID);
		x->applied = inst;
		x->resyncing = 1;
		x->resync_at = inst;
		/* a copy that restarts keeps what its first start was */
		x->reset_copy = reset || (x->resyncing && x->reset_copy);
		W.tot[T_RESYNCS]++;
		tr(EV_RESYNC, (u8)n, 1, (u8)(src - W.nd), inst, 0);
		prbd_px_set_novote(x->px, true);
		x->np_install = x->amnesiac;
		prbd_px_install(x->px, inst, src->px->cfg_slot,
				src->px->voters, src->px->learners);
		x->hs.commit = x->px->commit;
		x->hs.log_start = x->px->log_start;
		x->hs.cfg_slot = x->px->cfg_slot;
		x->hs.voters = x->px->voters;
		x->hs.learners = x->px->learners;
		x->hs.epoch = x->px->epoch;
		x->hs.erank = x->px->erank;
		x->hs.epoch_base = x->px->epoch_base;
		/* the target's record: installed at A, inconsistent */
		memcpy(x->ck_idseen, x->idseen, MAXID);
		memcpy(x->ck_tag, x->sect_tag, sizeof(x->ck_tag));
		memcpy(x->ck_slot, x->sect_slot, sizeof(x->ck_slot));
		memcpy(x->ck_ep, x->sect_ep, sizeof(x->ck_ep));
		x->ck_applied = x->applied;
		push(W.now + 30 + rn(600), EV_COPYDONE, (u8)n, 0, x->inc);
		pump(n);
		return;
	}
	x->data_hi = src->data_hi;
	memcpy(x->sect_tag, src->sect_tag, sizeof(x->sect_tag));
	memcpy(x->sect_slot, src->sect_slot, sizeof(x->sect_slot));
	memcpy(x->sect_ep, src->sect_ep, sizeof(x->sect_ep));
	memcpy(x->idseen, src->idseen, MAXID);
	x->applied = inst;
	/*
	 * A source that crashed and has not re-applied all it had applied
	 * may hand over sectors ahead of its applied slot: chosen data the
	 * target's own applies rewrite in order.  Its data is mixed too.
	 */
	x->mixed_hi = src->mixed_hi > src->applied ? src->mixed_hi :
		      src->applied;
	memcpy(x->ck_idseen, x->idseen, MAXID);
	memcpy(x->ck_tag, x->sect_tag, sizeof(x->ck_tag));
	memcpy(x->ck_slot, x->sect_slot, sizeof(x->ck_slot));
	memcpy(x->ck_ep, x->sect_ep, sizeof(x->ck_ep));
	x->ck_applied = x->applied;
	x->ck_data_hi = x->data_hi;
	W.tot[T_RESYNCS]++;
	x->np_install = x->amnesiac;
	prbd_px_install(x->px, inst, src->px->cfg_slot, src->px->voters,
			src->px->learners);
	/* the resync completes by making the new hard state durable */
	x->hs.commit = x->px->commit;
	x->hs.log_start = x->px->log_start;
	x->hs.cfg_slot = x->px->cfg_slot;
	x->hs.voters = x->px->voters;
	x->hs.learners = x->px->learners;
	x->hs.epoch = x->px->epoch;
	x->hs.erank = x->px->erank;
	x->hs.epoch_base = x->px->epoch_base;
	pump(n);
}

/* a consistent node's sectors are the canonical state at its data_hi */
static void check_data(int n)
{
	struct node *x = &W.nd[n];
	u64 tag[NSECT] = { 0 }, slot[NSECT] = { 0 }, s, id;
	const struct prbd_px_entry *e;
	u32 i, j;

	if (x->resyncing || x->data_hi >= MAXS || x->applied < x->mixed_hi ||
	    stale(n))
		return;
	for (s = 1; s <= x->data_hi; s++) {
		if (!W.canon_set[s]) {
			fail("%snode %llu has data up to slot %llu, not chosen",
			     "", (u64)n, s);
			return;
		}
		e = &W.canon[s];
		if (e->kind != PRBD_PX_K_DATA)
			continue;
		for (i = 0; i < e->n_desc; i++) {
			id = e->desc[i].id;
			/* a request applies once: its first slot, first copy */
			for (j = 0; j < i && e->desc[j].id != id; j++)
				;
			if (id < MAXID && W.first_slot[id] == s && j == i) {
				tag[e->desc[i].sector] = id;
				slot[e->desc[i].sector] = s;
			}
		}
	}
	for (i = 0; i < NSECT; i++) {
		id = x->sect_tag[i];
		/*
		 * After a lossy election slots are numbered anew, and a
		 * sector may hold a write that election dropped (the data
		 * area's cache kept it): allowed unless it was acknowledged
		 * and not lost.  Or the request was chosen again, at a slot
		 * after this node's data (a copy may spread the stray data
		 * before that, seed 504938): every node applies that slot
		 * and writes the same bytes there, so its data is canonical
		 * again once past it; until then the request was in flight
		 * (not acknowledged before its slot is chosen), and a read
		 * may return an in-flight write's data.
		 */
		if (W.forks && (x->sect_tag[i] == tag[i] ||
				(id && id < MAXID && W.acked[id] != 1 &&
				 !W.first_slot[id]) ||
				(id && id < MAXID &&
				 W.first_slot[id] > x->data_hi)))
			continue;
		if (x->sect_tag[i] != tag[i] || x->sect_slot[i] != slot[i]) {
			if (W.trace)
				printf("node %d sector %u: tag %llu slot %llu, want tag %llu slot %llu (data_hi %llu)\n",
				       n, i, (unsigned long long)x->sect_tag[i],
				       (unsigned long long)x->sect_slot[i],
				       (unsigned long long)tag[i],
				       (unsigned long long)slot[i],
				       (unsigned long long)x->data_hi);
			fail("%sdata of node %llu differs at sector %llu",
			     "", (u64)n, i);
		}
	}
}

/*
 * Does the copy from @src replace our sector @k?  In a reset, all but
 * what our own applies wrote since the install (in the epoch we hold now,
 * which may be numbered lower than one we held before: an orphan); else
 * the newer one (epochs along one history grow).
 */
static int copy_takes(const struct node *x, const struct node *src, u32 k)
{
	if (x->reset_copy && x->sect_ep[k] != x->px->epoch)
		return 1;
	if (src->sect_ep[k] == x->sect_ep[k])
		return src->sect_slot[k] > x->sect_slot[k];
	if (x->sect_ep[k] == x->px->epoch)
		return 0;
	return src->sect_ep[k] == x->px->epoch ||
	       src->sect_ep[k] > x->sect_ep[k];
}

/*
 * The copy of a bulk resync completes: the sectors come from a consistent
 * source at or past the install point, each sector the newer of the
 * source's and our own (written by our own applies after the install),
 * as a resync that never overwrites a newer local write does.
 */
static void do_copydone(int n)
{
	struct node *x = &W.nd[n], *src = NULL;
	u32 k, i;

	if (!x->resyncing)
		return;
	for (i = 1; i <= (u32)W.n_nodes; i++) {
		struct node *y = &W.nd[i];

		/* of the epoch we hold, even if we are to reset again */
		if (i == (u32)n || !y->up || y->resyncing ||
		    y->applied < x->resync_at ||
		    y->px->epoch != x->px->epoch || y->px->reset_rank)
			continue;
		if (!src || y->applied > src->applied)
			src = y;
	}
	if (!src) {	/* no consistent source up: try again later */
		hear_epochs(n);
		push(W.now + 20 + rn(100), EV_COPYDONE, (u8)n, 0, x->inc);
		return;
	}
	for (k = 0; k < NSECT; k++)
		if (copy_takes(x, src, k)) {
			/*
			 * The newer one; in a reset, all but what our own
			 * applies wrote since the install.
			 */
			x->sect_ep[k] = src->sect_ep[k];
			x->sect_slot[k] = src->sect_slot[k];
			x->sect_tag[k] = src->sect_tag[k];
		}
	x->reset_copy = 0;
	for (i = 0; i < MAXID; i++)
		x->idseen[i] |= src->idseen[i];
	if (src->data_hi > x->data_hi)
		x->data_hi = src->data_hi;
	if (x->applied > x->data_hi)
		x->data_hi = x->applied;
	if (src->mixed_hi > x->mixed_hi)
		x->mixed_hi = src->mixed_hi;	/* see do_resync() */
	x->resyncing = 0;
	checkpoint(n);	/* the embedder flushes and clears its flag */
	W.tot[T_COPIES]++;
	tr(EV_COPYDONE, (u8)n, (u8)(src - W.nd), 0, src->applied, x->applied);
	check_data(n);
	update_novote(n);
}

/* ---- clients ---- */

static int find_leader(void)
{
	int i, c = 0, pick[MAXN];

	for (i = 1; i <= W.n_nodes; i++)
		if (W.nd[i].up && W.nd[i].px->role == PRBD_PX_LEADER)
			pick[c++] = i;
	if (c)
		return pick[rn(c)];
	for (i = 1; i <= W.n_nodes; i++)
		if (W.nd[i].up)
			pick[c++] = i;
	return c ? pick[rn(c)] : 0;
}

/* the order of writes: slots are numbered anew in each epoch */
static u64 wkey(u64 epoch, u64 slot)
{
	return (epoch << 24) | slot;
}

static void client_done(int c)
{
	W.cli[c].busy = 0;
	if (W.now < W.fault_end + 500)
		push(W.now + 1 + rn(20), EV_CLIENT, 0, (u32)c, 0);
}

static void client_applied(int n, u64 id)
{
	int c;
	u64 s;

	for (c = 0; c < NCLI; c++) {
		struct client *k = &W.cli[c];

		if (!k->busy || k->is_read || k->is_flush || k->id != id ||
		    k->target != n)
			continue;
		if (stale(n)) {
			/* acknowledged by a node whose epoch is gone: lost */
			W.acked[id] = 2;
			W.tot[T_LOST_OK]++;
			client_done(c);
			continue;
		}
		s = W.first_slot[id];
		if (!s) {
			fail("%swrite %llu acked but not in canonical log", "",
			     id, 0);
			return;
		}
		if (wkey(W.canon_ep[s], s) > W.acked_slot[k->sector])
			W.acked_slot[k->sector] = wkey(W.canon_ep[s], s);
		if (W.trace)
			printf("t=%llu client %d: write %llu sector %llu acked by node %d (slot %llu)\n",
			       (unsigned long long)W.now, c,
			       (unsigned long long)id,
			       (unsigned long long)k->sector, n,
			       (unsigned long long)s);
		W.n_acked++;
		W.acked[id] = 1;
		W.ack_t[id] = W.now;
		client_done(c);
	}
}

static void client_try(int c)
{
	struct client *k = &W.cli[c];
	struct prbd_px_desc d;
	int n = find_leader();

	if (!n) {
		push(W.now + 10, EV_CLIENT, 0, (u32)c, 0);
		return;
	}
	k->target = (u8)n;
	if (k->is_flush) {
		u64 id;

		if (prbd_px_barrier(W.nd[n].px, &id) != 0) {
			push(W.now + 5 + rn(20), EV_CLIENT, 0, (u32)c, 0);
			return;
		}
		k->bar_id = id;
		k->deadline = W.now + 300;
		pump(n);
		if (k->busy && k->bar_id == id)
			push(k->deadline, EV_CLIENT, 1, (u32)c, 0);
		return;
	}
	if (k->is_read) {
		struct node *x = &W.nd[n];
		u64 rk;

		prbd_px_tick(x->px, local_now(n));
		pump(n);
		if (!x->up || !prbd_px_may_read(x->px, local_now(n))) {
			push(W.now + 5 + rn(20), EV_CLIENT, 0, (u32)c, 0);
			return;
		}
		rk = wkey(x->sect_ep[k->sector], x->sect_slot[k->sector]);
		if (rk < W.acked_slot[k->sector] || rk < W.read_slot[k->sector]) {
			fail("%sstale read of sector %llu at slot %llu", "",
			     k->sector, x->sect_slot[k->sector]);
			if (W.trace)
				printf("stale read at node %d: acked %llx read %llx got %llx\n",
				       n,
				       (unsigned long long)W.acked_slot[k->sector],
				       (unsigned long long)W.read_slot[k->sector],
				       (unsigned long long)rk);
			return;
		}
		if (W.trace)
			printf("t=%llu client %d: read sector %llu at node %d = id %llu (slot %llu, applied %llu)\n",
			       (unsigned long long)W.now, c,
			       (unsigned long long)k->sector, n,
			       (unsigned long long)x->sect_tag[k->sector],
			       (unsigned long long)x->sect_slot[k->sector],
			       (unsigned long long)x->applied);
		W.read_slot[k->sector] = rk;
		W.n_reads++;
		client_done(c);
		return;
	}
	if (W.nd[n].idseen[k->id]) {
		client_applied(n, k->id);
		return;
	}
	d.id = k->id;
	d.sector = k->sector;
	d.len = 512 * (1 + (u32)rn(16));
	d.csum = (u32)(k->id * 2654435761u);
	if (prbd_px_propose(W.nd[n].px, &d) == 0) {
		k->deadline = W.now + 300;
		pump(n);
	} else {
		push(W.now + 5 + rn(20), EV_CLIENT, 0, (u32)c, 0);
		return;
	}
	push(k->deadline, EV_CLIENT, 1, (u32)c, (u32)k->id);
}

static void client_ev(int c, int is_timeout, u32 id)
{
	struct client *k = &W.cli[c];

	if (is_timeout) {
		if (k->busy && k->is_flush && W.now >= k->deadline) {
			k->bar_id = 0;
			client_try(c);
			return;
		}
		if (k->busy && !k->is_read && !k->is_flush && k->id == id &&
		    W.now >= k->deadline)
			client_try(c);
		return;
	}
	if (k->busy && k->is_flush && k->bar_id)
		return;		/* its barrier is running */
	if (!k->busy) {
		if (W.now >= W.fault_end + 500)
			return;
		k->busy = 1;
		k->is_read = rn(10) < 4;
		k->is_flush = W.flush_mode && !k->is_read && !rn(4);
		k->bar_id = 0;
		k->sector = rn(NSECT);
		k->start = W.now;
		if (!k->is_read && !k->is_flush) {
			if (W.next_id >= MAXID - 1) {
				k->busy = 0;
				return;
			}
			k->id = ++W.next_id;
		}
	}
	client_try(c);
}

/* ---- faults ---- */

static int find_role_leader(void);
static int find_role_leader(void)
{
	int i;

	for (i = 1; i <= W.n_nodes; i++)
		if (W.nd[i].up && W.nd[i].px->role == PRBD_PX_LEADER)
			return i;
	return 0;
}

static void membership_change(void)
{
	int l = find_role_leader(), i, pick[MAXN], c = 0;
	struct prbd_px *px;
	u16 v, le;

	if (!l)
		return;
	px = W.nd[l].px;
	v = px->voters;
	le = px->learners;
	switch (rn(4)) {
	case 0:	/* add a spare node as learner */
		for (i = 1; i <= W.n_nodes; i++)
			if (!((v | le) & (1u << i)))
				pick[c++] = i;
		if (c)
			le |= (u16)(1u << pick[rn(c)]);
		break;
	case 1:	/* promote a learner */
		for (i = 1; i <= W.n_nodes; i++)
			if (le & (1u << i))
				pick[c++] = i;
		if (c && popc(v) < 7) {
			i = pick[rn(c)];
			le &= (u16)~(1u << i);
			v |= (u16)(1u << i);
		}
		break;
	case 2:	/* remove a voter (keep at least 3) */
		for (i = 1; i <= W.n_nodes; i++)
			if (v & (1u << i))
				pick[c++] = i;
		if (c > 3)
			v &= (u16)~(1u << pick[rn(c)]);
		break;
	default:	/* demote a voter to learner */
		for (i = 1; i <= W.n_nodes; i++)
			if (v & (1u << i))
				pick[c++] = i;
		if (c > 3) {
			i = pick[rn(c)];
			v &= (u16)~(1u << i);
			le |= (u16)(1u << i);
		}
		break;
	}
	if (v == px->voters && le == px->learners)
		return;
	tr(EV_FAULT, (u8)l, 7, 0, v, le);
	prbd_px_propose_conf(px, v, le);
	pump(l);
}

static void fault(void)
{
	int n = 1 + (int)rn(W.n_nodes), m, i;
	u64 dur;

	if (W.wipe_mode && !rn(10) && wipe(n))
		goto next;
	if (W.flush_mode && !rn(8)) {	/* a power cut: every node */
		W.tot[T_POWERCUTS]++;
		tr(EV_FAULT, 0, 11, 0, 0, 0);
		for (i = 1; i <= W.n_nodes; i++)
			if (W.nd[i].up) {
				crash(i);
				push(W.now + 20 + rn(300), EV_RESTART, (u8)i,
				     0, W.nd[i].inc);
			}
		goto next;
	}
	if (W.nv_mode && !rn(6)) {	/* a non-voting window on node n */
		W.nd[n].nv_until = W.now + 50 + rn(700);
		W.tot[T_NV]++;
		tr(EV_FAULT, (u8)n, 10, 0, W.nd[n].nv_until, 0);
		update_novote(n);
		push(W.nd[n].nv_until, EV_NVOFF, (u8)n, 0, 0);
		goto next;
	}
	switch (rn(12)) {
	case 0:
	case 1:
		if (W.nd[n].up) {
			crash(n);
			push(W.now + 20 + rn(400), EV_RESTART, (u8)n, 0,
			     W.nd[n].inc);
		}
		break;
	case 2:	/* symmetric partition into two random groups */
		dur = 50 + rn(600);
		m = (int)rn(1u << W.n_nodes);
		for (i = 1; i <= W.n_nodes; i++)
			for (n = 1; n <= W.n_nodes; n++)
				if (((m >> (i - 1)) ^ (m >> (n - 1))) & 1)
					W.cut[i][n] = 1;
		tr(EV_FAULT, 0, 2, 0, (u64)m, dur);
		push(W.now + dur, EV_UNCUT, 0, 0, 0);
		break;
	case 3:	/* one-way cut(s) */
		dur = 50 + rn(600);
		for (i = 0; i < 1 + (int)rn(3); i++) {
			n = 1 + (int)rn(W.n_nodes);
			m = 1 + (int)rn(W.n_nodes);
			W.cut[n][m] = 1;
			tr(EV_FAULT, (u8)n, 3, (u8)m, dur, 0);
		}
		push(W.now + dur, EV_UNCUT, 0, 0, 0);
		break;
	case 4:	/* isolate the leader */
		m = find_role_leader();
		if (!m)
			break;
		for (i = 1; i <= W.n_nodes; i++) {
			W.cut[i][m] = 1;
			W.cut[m][i] = 1;
		}
		dur = 100 + rn(500);
		tr(EV_FAULT, (u8)m, 4, 0, dur, 0);
		push(W.now + dur, EV_UNCUT, 0, 0, 0);
		break;
	case 5:	/* forward clock jump */
		W.nd[n].jump += 10 + rn(400);
		tr(EV_FAULT, (u8)n, 5, 0, W.nd[n].jump, 0);
		break;
	case 6:
		W.nd[n].slow_until = W.now + 100 + rn(300);
		tr(EV_FAULT, (u8)n, 6, 0, 0, 0);
		break;
	case 7:
		m = find_role_leader();
		if (m) {
			n = 1 + (int)rn(W.n_nodes);
			tr(EV_FAULT, (u8)m, 8, (u8)n, 0, 0);
			prbd_px_transfer(W.nd[m].px, (u8)n);
			pump(m);
		}
		break;
	case 8:
		membership_change();
		break;
	case 9:
		W.loss_pm = (u32)rn(150);
		W.dup_pm = (u32)rn(80);
		tr(EV_FAULT, 0, 9, 0, W.loss_pm, W.dup_pm);
		break;
	case 10:	/* crash the leader */
		m = find_role_leader();
		if (m) {
			crash(m);
			push(W.now + 20 + rn(400), EV_RESTART, (u8)m, 0,
			     W.nd[m].inc);
		}
		break;
	default:	/* crash two nodes at once */
		for (i = 0; i < 2; i++) {
			n = 1 + (int)rn(W.n_nodes);
			if (W.nd[n].up) {
				crash(n);
				push(W.now + 20 + rn(300), EV_RESTART, (u8)n,
				     0, W.nd[n].inc);
			}
		}
		break;
	}
next:
	if (W.now + 1 < W.fault_end)
		push(W.now + 20 + rn(200), EV_FAULT, 0, 0, 0);
}

static void heal(void)
{
	int i;

	W.healed = 1;
	memset(W.cut, 0, sizeof(W.cut));
	W.loss_pm = 0;
	W.dup_pm = 0;
	for (i = 1; i <= W.n_nodes; i++) {
		W.nd[i].slow_until = 0;
		W.nd[i].nv_until = 0;
		if (!W.nd[i].up) {
			W.nd[i].inc++;
			node_start(i);
		}
		update_novote(i);
	}
	tr(EV_HEAL, 0, 0, 0, 0, 0);
}

/* ---- per-event checks ---- */

static void check_leases(void)
{
	int i, c = 0;

	/* lease holders: nodes that would accept a read (read index != 0) */
	for (i = 1; i <= W.n_nodes; i++)
		if (W.nd[i].up && prbd_px_read_index(W.nd[i].px, local_now(i)))
			c++;
	if (c > 1)
		fail("%s%llu nodes hold a read lease at once", "", c, 0);
}

static int converged(void)
{
	int i, c;
	u64 hi = 0;
	u16 members = cfg_for(PRBD_PX_U64_MAX);

	for (c = 0; c < NCLI; c++)
		if (W.cli[c].busy)
			return 0;
	for (i = 1; i <= W.n_nodes; i++)
		if (W.nd[i].up && W.nd[i].applied > hi)
			hi = W.nd[i].applied;
	for (i = 1; i <= W.n_nodes; i++)
		if ((members & (1u << i)) &&
		    (W.nd[i].applied != hi || W.nd[i].resyncing ||
		     stale(i) || W.nd[i].px->needs_resync))
			return 0;
	return 1;
}

/* every acknowledged write survives, at its slot, on every member */
static void check_final(void)
{
	u16 members = cfg_for(PRBD_PX_U64_MAX);
	u64 id;
	int i;

	for (id = 1; id <= W.next_id && !W.failed; id++) {
		if (W.acked[id] != 1)	/* 2: acknowledged, lost as allowed */
			continue;
		if (!W.first_slot[id] || !W.canon_set[W.first_slot[id]])
			fail("%sacknowledged write %llu lost (slot %llu)", "", id,
			     W.first_slot[id]);
		for (i = 1; i <= W.n_nodes; i++)
			if ((members & (1u << i)) && !W.nd[i].idseen[id])
				fail("%sacknowledged write %llu missing on node %llu",
				     "", id, (u64)i);
	}
	for (i = 1; i <= W.n_nodes && !W.failed; i++)
		check_data(i);
	/* whatever a lossy election left in the data areas, the same */
	for (i = 2; i <= W.n_nodes && !W.failed; i++) {
		int j = 1;

		if (!(members & (1u << i)))
			continue;
		while (j < i && !(members & (1u << j)))
			j++;
		if (j < i && memcmp(W.nd[i].sect_tag, W.nd[j].sect_tag,
				    sizeof(W.nd[i].sect_tag)))
			fail("%sreplicas %llu and %llu differ at the end", "",
			     (u64)j, (u64)i);
	}
}

/* ---- run one seed ---- */

struct opts {
	int nodes;
	u64 fault_ms;
	int trace;
};

static void world_alloc(void)
{
	int i;

	W.pool = calloc(POOL, sizeof(*W.pool));
	W.canon = calloc(MAXS, sizeof(*W.canon));
	W.canon_set = calloc(MAXS, 1);
	W.canon_ep = calloc(MAXS, sizeof(u64));
	if (!W.canon_ep)
		exit(2);
	for (i = 0; i < NLIN; i++) {
		W.lin[i].happ = calloc(MAXS, sizeof(struct prbd_px_entry));
		W.lin[i].hep = calloc(MAXS, sizeof(u64));
		if (!W.lin[i].happ || !W.lin[i].hep)
			exit(2);
	}
	W.recs = calloc(MAXS, sizeof(*W.recs));
	W.nrec = calloc(MAXS, 1);
	W.vrecs = calloc(MAXS, sizeof(*W.vrecs));
	W.nvrec = calloc(MAXS, 1);
	W.vchecked = calloc(MAXS, 1);
	W.first_slot = calloc(MAXID, sizeof(u64));
	W.acked = calloc(MAXID, 1);
	W.lose_mark = calloc(MAXS, sizeof(u64));
	if (!W.lose_mark)
		exit(2);
	W.durable_req = calloc(MAXID, 1);
	W.ack_t = calloc(MAXID, sizeof(u64));
	if (!W.durable_req || !W.ack_t)
		exit(2);
	for (i = 0; i < MAXN; i++) {
		W.nd[i].px = calloc(1, sizeof(struct prbd_px));
		W.nd[i].dlog = calloc(MAXS, sizeof(struct prbd_px_entry));
		W.nd[i].dtok = calloc(MAXS, sizeof(u64));
		W.nd[i].idseen = calloc(MAXID, 1);
		W.nd[i].ck_idseen = calloc(MAXID, 1);
		W.nd[i].dhint = calloc(MAXS, sizeof(u64));
		W.nd[i].undo = calloc(NUNDO, sizeof(struct undo));
		W.nd[i].happ = calloc(MAXS, sizeof(struct prbd_px_entry));
		W.nd[i].hep = calloc(MAXS, sizeof(u64));
		if (!W.nd[i].hep)
			exit(2);
		if (!W.nd[i].px || !W.nd[i].dlog || !W.nd[i].idseen ||
		    !W.nd[i].dtok || !W.nd[i].dhint || !W.nd[i].undo ||
		    !W.nd[i].happ)
			exit(2);
	}
	if (!W.pool || !W.canon || !W.recs || !W.first_slot || !W.vrecs ||
	    !W.nvrec || !W.vchecked)
		exit(2);
}

static int run_seed(u64 seed, const struct opts *o)
{
	u64 ms = W.max_slot + 1;
	int i;
	struct ev e;

	/* reset (only what a previous run used) */
	memset(W.canon, 0, ms * sizeof(*W.canon));
	memset(W.canon_set, 0, ms);
	memset(W.canon_ep, 0, ms * sizeof(*W.canon_ep));
	memset(W.recs, 0, ms * sizeof(*W.recs));
	memset(W.nrec, 0, ms);
	memset(W.vrecs, 0, ms * sizeof(*W.vrecs));
	memset(W.nvrec, 0, ms);
	memset(W.vchecked, 0, ms);
	memset(W.first_slot, 0, (W.next_id + 1) * sizeof(u64));
	memset(W.acked, 0, W.next_id + 1);
	memset(W.durable_req, 0, W.next_id + 1);
	memset(W.ack_t, 0, (W.next_id + 1) * sizeof(u64));
	for (i = 0; i < MAXN; i++) {
		struct node *x = &W.nd[i];

		memset(x->dlog, 0, ms * sizeof(*x->dlog));
		memset(x->dtok, 0, ms * sizeof(*x->dtok));
		memset(x->dhint, 0, ms * sizeof(*x->dhint));
		memset(x->happ, 0, ms * sizeof(*x->happ));
		memset(x->hep, 0, ms * sizeof(*x->hep));
		x->n_undo = 0;
		x->wgen = 0;
		x->hint_issued = 0;
		x->safe_hint = 0;
		x->suspect = 0;
		x->reset_copy = 0;
		x->removed = 0;	/* a campaign's next seed starts fresh */
		memset(x->sect_ep, 0, sizeof(x->sect_ep));
		memset(x->ck_ep, 0, sizeof(x->ck_ep));
		memset(x->idseen, 0, W.next_id + 1);
		memset(x->ck_idseen, 0, W.next_id + 1);
		memset(&x->hs, 0, sizeof(x->hs));
		x->dl_commit = 0;
		x->applied = 0;
		x->ck_applied = 0;
		x->ck_data_hi = 0;
		x->mixed_hi = 0;
		memset(x->ck_tag, 0, sizeof(x->ck_tag));
		memset(x->ck_slot, 0, sizeof(x->ck_slot));
		memset(x->sect_tag, 0, sizeof(x->sect_tag));
		memset(x->sect_slot, 0, sizeof(x->sect_slot));
		x->up = 0;
		x->exists = 0;
		x->inc = 0;
		x->jump = 0;
		x->slow_until = 0;
		x->resyncing = 0;
		x->resync_at = 0;
		x->data_hi = 0;
		x->nv_until = 0;
		x->vscan = 0;
		x->amnesiac = 0;
		x->np_install = 0;
		x->lead_ballot = 0;
		x->p1_checked = 0;
	}
	memset(W.p1b_nv, 0, sizeof(W.p1b_nv));
	memset(W.p1b_wiped, 0, sizeof(W.p1b_wiped));
	W.max_slot = 0;
	W.next_id = 0;
	W.nheap = 0;
	W.nfree = 0;
	for (i = 0; i < POOL; i++)
		W.freel[W.nfree++] = (u32)i;
	memset(W.cut, 0, sizeof(W.cut));
	memset(W.cli, 0, sizeof(W.cli));
	memset(W.acked_slot, 0, sizeof(W.acked_slot));
	memset(W.read_slot, 0, sizeof(W.read_slot));
	W.n_acked = 0;
	W.n_reads = 0;
	W.failed = 0;
	W.why[0] = 0;
	W.ntr = 0;
	W.now = 0;
	W.seq = 0;
	W.healed = 0;
	W.seed = seed;
	W.rng = seed * 0x9E3779B97F4A7C15ULL + 12345;
	W.trace = o->trace;

	W.n_voters = o->nodes ? o->nodes : (rn(2) ? 3 : 5);
	W.n_nodes = W.n_voters + (W.n_voters < 7 ? 1 : 0);
	W.loss_pm = (u32)rn(50);
	W.dup_pm = (u32)rn(30);
	W.lat_base = 1 + (u32)rn(3);
	W.lat_jit = (u32)rn(15);
	W.fault_end = o->fault_ms / 2 + rn(o->fault_ms);
	W.deadline = W.fault_end + 4000;
	memset(&W.pcfg, 0, sizeof(W.pcfg));
	W.pcfg.voters = (u16)(((1u << W.n_voters) - 1) << 1);
	W.pcfg.elect_ms = 60 + (u32)rn(141);
	W.pcfg.hb_ms = W.pcfg.elect_ms / (3 + (u32)rn(4));
	W.pcfg.drift_ppm = 20000;
	W.pcfg.window = 4 + (u32)rn(PRBD_PX_WINDOW_MAX - 3);
	W.pcfg.max_inflight_bytes = 4096 + (u32)rn(61440);
	W.pcfg.persist_window = 1 + (u32)rn(PRBD_PX_PERSIST_MAX);
	W.ncfg = 1;
	W.cfg_slot[0] = 0;
	W.cfg_vot[0] = W.pcfg.voters;
	W.resync_mode = (int)rn(2);
	W.nv_mode = (int)rn(2);
	W.wipe_mode = !rn(4);
	W.fresh_mode = !rn(4);
	W.tot[T_FRESH] += W.fresh_mode;
	/* not drawn: the strict seeds keep the schedules they had */
	W.flush_mode = W.force_flush >= 0 ? W.force_flush :
		       ((seed * 0xD6E8FEB86659FD93ULL) >> 32) % 3 == 0;
	W.tot[T_FLUSH_SEEDS] += W.flush_mode;
	W.epoch = 0;
	W.forks = 0;
	for (i = 0; i < NLIN; i++)
		W.lin[i].epoch = 0;
	W.n_known = 0;
	W.fiat_hi = 0;

	for (i = 1; i <= W.n_nodes; i++) {
		W.nd[i].exists = 1;
		/* a new group: every disk fresh */
		W.nd[i].amnesiac = W.fresh_mode ? AM_FRESH : AM_NO;
		/* drift within the assumption (20000 ppm) */
		W.nd[i].drift_ppm = (s64)rn(40001) - 20000;
		node_start(i);
		push(rn(5), EV_TICK, (u8)i, 0, 0);
	}
	for (i = 0; i < 1 + (int)rn(NCLI); i++)
		push(50 + rn(50), EV_CLIENT, 0, (u32)i, 0);
	push(100 + rn(100), EV_FAULT, 0, 0, 0);
	push(W.fault_end, EV_HEAL, 0, 0, 0);

	while (W.nheap && !W.failed) {
		e = pop();
		W.now = e.t;
		W.steps++;
		if (W.now > W.deadline) {
			char st[1000];
			int k, p = 0;

			for (k = 1; k <= W.n_nodes; k++)
				p += snprintf(st + p, sizeof(st) - p,
					      "[n%d %s r%d c%llu a%llu v%x%s%s%s%s e%llx/%llx] ",
					      k, W.nd[k].up ? "up" : "down",
					      W.nd[k].px->role,
					      (unsigned long long)W.nd[k].px->commit,
					      (unsigned long long)W.nd[k].applied,
					      W.nd[k].px->voters,
					      W.nd[k].px->needs_resync ? " RS" : "",
					      W.nd[k].px->novote ? " NV" : "",
					      W.nd[k].px->nopromise ? " NP" : "",
					      W.nd[k].px->suspect ? " SU" : "",
					      (unsigned long long)W.nd[k].px->epoch,
					      (unsigned long long)(W.nd[k].px->reset_rank ? W.nd[k].px->reset_epoch : W.nd[k].px->erank));
			for (k = 0; k < NCLI; k++)
				p += snprintf(st + p, sizeof(st) - p, "c%d:%d ",
					      k, W.cli[k].busy);
			k = find_role_leader();
			if (k)
				p += snprintf(st + p, sizeof(st) - p,
					      "L: prep%d tr%d cfgp%llu p1end%llx next%llu pend%u first%llu ",
					      W.nd[k].px->preparing,
					      W.nd[k].px->transferring,
					      (unsigned long long)W.nd[k].px->cfg_pending,
					      (unsigned long long)W.nd[k].px->p1_end,
					      (unsigned long long)W.nd[k].px->next_slot,
					      W.nd[k].px->n_pend,
					      (unsigned long long)W.nd[k].px->first_slot);
			if (W.trace)
				for (k = 1; k <= W.n_nodes; k++) {
					struct prbd_px *q = W.nd[k].px;
					u64 z;

					printf("node %d: commit %llu apply_next %llu tok_done %llu log_start %llu resyncing %d:",
					       k, (unsigned long long)q->commit,
					       (unsigned long long)q->apply_next,
					       (unsigned long long)q->tok_done,
					       (unsigned long long)q->log_start,
					       W.nd[k].resyncing);
					for (z = q->apply_next; z <= q->commit && z < q->apply_next + 8; z++) {
						const struct prbd_px_entry *e = prbd_px_entry_at(q, z);

						printf(" [%llu k%d c%d]", (unsigned long long)z,
						       e ? e->kind : -1, e ? e->chosen : -1);
					}
					printf("\n");
				}
			fail("%s<- liveness: not converged %llu ms after heal",
			     st, W.deadline - W.fault_end, 0);
			break;
		}
		switch (e.type) {
		case EV_TICK:
			if (W.nd[e.node].up) {
				/*
				 * now and then its log storage fills up (a
				 * fixed schedule: the seed's draws stay as
				 * they were)
				 */
				if ((W.now / 5 + e.node * 97) % 701 == 0)
					prbd_px_log_full(W.nd[e.node].px);
				prbd_px_tick(W.nd[e.node].px, local_now(e.node));
				pump(e.node);
				/*
				 * the embedder checkpoints now and then (a
				 * device flush: in flush mode a quarter as
				 * often, so that caches hold more)
				 */
				if (!rn(16) && (!W.flush_mode ||
						(W.now / 5 + e.node) % 4 == 0))
					checkpoint(e.node);
			}
			push(W.now + 5, EV_TICK, e.node, 0, 0);
			break;
		case EV_MSG: {
			struct prbd_px_msg *m = &W.pool[e.arg];

			tr(EV_MSG, e.node, m->type, m->from, m->ballot,
			   m->slot ? m->slot : (m->n_ent ? m->ent[0].slot : 0));
			if (W.trace) {
				u32 q;

				printf("    flags=%x commit=%llu aux=%llu aux2=%llu:",
				       m->flags, (unsigned long long)m->commit,
				       (unsigned long long)m->aux,
				       (unsigned long long)m->aux2);
				for (q = 0; q < m->n_ent; q++)
					printf(" [s%llu b%llx k%u%s id%llu]",
					       (unsigned long long)m->ent[q].slot,
					       (unsigned long long)m->ent[q].ballot,
					       m->ent[q].kind,
					       m->ent[q].chosen ? " C" : "",
					       (unsigned long long)m->ent[q].desc[0].id);
				printf("\n");
			}
			if (W.nd[e.node].up) {
				if (m->type == PRBD_PX_M_P2B && !(m->flags &
				    (PRBD_PX_F_NACK | PRBD_PX_F_NOVOTE))) {
					u32 q;

					for (q = 0; q < m->n_ent; q++)
						record_vote(m->from, m->ent[q].slot,
							    m->ballot);
				}
				prbd_px_step(W.nd[e.node].px, m);
				pump(e.node);
			}
			W.freel[W.nfree++] = e.arg;
			break;
		}
		case EV_DISK: {
			struct node *x = &W.nd[e.node];

			struct pbatch *b = &x->pb[e.arg % ARRAY_SIZE(x->pb)];

			if (!x->up || e.inc != x->inc || !b->busy || b->done)
				break;
			disk_write(e.node, b, b->n, 1);
			b->done = 1;
#if PRBD_PX_MUTATION == 10
			/* BUG: each batch reported when it lands, out of order */
			prbd_px_persisted(x->px, b->tok);
#endif
			/* in token order: a batch done early waits */
			while (x->pb_n && x->pb[x->pb_head].done) {
				b = &x->pb[x->pb_head];
#if PRBD_PX_MUTATION != 10
				prbd_px_persisted(x->px, b->tok);
#endif
				b->busy = 0;
				x->pb_head = (x->pb_head + 1) %
					     ARRAY_SIZE(x->pb);
				x->pb_n--;
			}
			pump(e.node);
			break;
		}
		case EV_RESTART:
			if (!W.nd[e.node].up && e.inc == W.nd[e.node].inc &&
			    !W.healed) {
				W.nd[e.node].inc++;
				tr(EV_RESTART, e.node, 1, 0, 0, 0);
				node_start(e.node);
			}
			break;
		case EV_FAULT:
			if (!W.healed)
				fault();
			break;
		case EV_CLIENT:
			client_ev((int)e.arg, e.node, e.inc);
			break;
		case EV_UNCUT:
			memset(W.cut, 0, sizeof(W.cut));
			break;
		case EV_RESYNC:
			if (W.nd[e.node].up && e.inc == W.nd[e.node].inc)
				do_resync(e.node);
			break;
		case EV_HEAL:
			heal();
			break;
		case EV_COPYDONE:
			if (W.nd[e.node].up && e.inc == W.nd[e.node].inc)
				do_copydone(e.node);
			break;
		case EV_NVOFF:
			update_novote(e.node);
			break;
		case EV_FLUSH: {
			struct node *x = &W.nd[e.node];

			if (!x->up || e.inc != x->inc)
				break;
			dev_flush_at(e.node, x->flgen[e.arg % 64],
				     x->flhint[e.arg % 64]);
			prbd_px_flushed(x->px, e.arg);
			pump(e.node);
			break;
		}
		}
		if (!W.failed && !W.no_lease_check)
			check_leases();
		if (W.healed && W.now > W.fault_end + 600 && converged()) {
			check_final();
			break;
		}
	}
	W.tot[T_ACKED] += W.n_acked;
	W.tot[T_READS] += W.n_reads;
	if (W.digest) {
		u64 h = W.now ^ (W.seq << 20), q;

		for (q = 1; q < MAXS && W.canon_set[q]; q++)
			h = (h ^ ent_hash(&W.canon[q])) * 1099511628211ULL;
		printf("digest %llu %016llx %llu\n", (unsigned long long)seed,
		       (unsigned long long)h, (unsigned long long)q);
	}
	return W.failed;
}

static void print_trace(void)
{
	u64 i = W.ntr > 40 ? W.ntr - 40 : 0;

	printf("# last events:\n");
	for (; i < W.ntr; i++) {
		struct trace_ev *t = &W.tr[i % TRACE_RING];

		if (t->type == EV_MSG)
			printf("#  t=%llu %s %u->%u ballot=%llx slot=%llu\n",
			       (unsigned long long)t->t,
			       msgname[t->a < 14 ? t->a : 0], t->b, t->node,
			       (unsigned long long)t->x,
			       (unsigned long long)t->y);
		else
			printf("#  t=%llu %s node=%u a=%u b=%u x=%llu y=%llu\n",
			       (unsigned long long)t->t, evname[t->type],
			       t->node, t->a, t->b, (unsigned long long)t->x,
			       (unsigned long long)t->y);
	}
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* reporting only */
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_help(void)
{
	fprintf(stderr,
		"Usage: %s [--seed N | --seeds A:B] [--nodes 1..7] [--jobs J]\n"
		"           [--fault-ms MS] [--trace] [--find-bug] [--name S]\n"
		"           [--tap N] [--digest] [--no-oracle] [--no-lease-check]\n"
		"           [--flush 0|1]\n",
		"sim");
	exit(2);
}

int main(int argc, char **argv)
{
	u64 a = 1, b = 1000, s, done = 0, first_fail = 0;
	struct opts o = { 0, 2000, 0 };
	int jobs = 1, find_bug = 0, j, i, nfail = 0, tap = 1;
	const char *name = "campaign";
	double t0;
	int pfd[2];

	W.force_flush = -1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			a = strtoull(argv[++i], NULL, 0);
			b = a;
		} else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
			if (sscanf(argv[++i], "%llu:%llu",
				   (unsigned long long *)&a,
				   (unsigned long long *)&b) != 2)
				print_help();
		} else if (!strcmp(argv[i], "--nodes") && i + 1 < argc) {
			o.nodes = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--jobs") && i + 1 < argc) {
			jobs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--fault-ms") && i + 1 < argc) {
			o.fault_ms = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--tap") && i + 1 < argc) {
			tap = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			name = argv[++i];
		} else if (!strcmp(argv[i], "--digest")) {
			W.digest = 1;
		} else if (!strcmp(argv[i], "--flush") && i + 1 < argc) {
			W.force_flush = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--no-lease-check")) {
			W.no_lease_check = 1;
		} else if (!strcmp(argv[i], "--no-oracle")) {
			W.no_oracle = 1;
		} else if (!strcmp(argv[i], "--trace")) {
			o.trace = 1;
		} else if (!strcmp(argv[i], "--find-bug")) {
			find_bug = 1;
		} else {
			print_help();
		}
	}
	if (o.nodes < 0 || o.nodes > 7 || jobs < 1 || jobs > 64 || b < a)
		print_help();
	world_alloc();
	t0 = wall();

	if (find_bug) {
		/* mutation proof: first failing seed, sequentially */
		for (s = a; s <= b; s++) {
			done++;
			if (run_seed(s, &o)) {
				printf("# %s: seed %llu: %s\n", name,
				       (unsigned long long)s, W.why);
				printf("FOUND %llu %llu\n",
				       (unsigned long long)s,
				       (unsigned long long)done);
				return 0;
			}
		}
		printf("NOTFOUND %llu\n", (unsigned long long)done);
		return 1;
	}

	if (pipe(pfd))
		return 2;
	for (j = 0; j < jobs; j++) {
		if (jobs > 1 && fork() != 0)
			continue;
		/* worker j: seeds a+j, a+j+jobs, ... */
		{
			u64 nf = 0, ff = 0, nd = 0, steps;

			for (s = a + (u64)j; s <= b; s += (u64)jobs) {
				nd++;
				if (run_seed(s, &o)) {
					if (nf < 20)
						printf("# FAIL seed %llu: %s\n",
						       (unsigned long long)s, W.why);
					if (!nf) {
						ff = s;
						print_trace();
						printf("# replay: make -C tools/sim replay SEED=%llu NODES=%d\n",
						       (unsigned long long)s, o.nodes);
						fflush(stdout);
					}
					nf++;
				}
			}
			steps = W.steps;
			if (jobs > 1) {
				u64 rec[4 + NTOT] = { nd, nf, ff, steps };

				memcpy(rec + 4, W.tot, sizeof(W.tot));
				fflush(stdout);
				if (write(pfd[1], rec, sizeof(rec)) < 0)
					_exit(2);
				_exit(0);
			}
			done = nd;
			nfail = (int)nf;
			first_fail = ff;
			W.steps = steps;
		}
	}
	if (jobs > 1) {
		u64 rec[4 + NTOT], steps = 0, t[NTOT] = { 0 };

		close(pfd[1]);
		for (j = 0; j < jobs; j++) {
			if (read(pfd[0], rec, sizeof(rec)) != sizeof(rec))
				return 2;
			done += rec[0];
			nfail += (int)rec[1];
			if (rec[1] && (!first_fail || rec[2] < first_fail))
				first_fail = rec[2];
			steps += rec[3];
			for (i = 0; i < NTOT; i++)
				t[i] += rec[4 + i];
		}
		memcpy(W.tot, t, sizeof(t));
		while (wait(NULL) > 0)
			;
		W.steps = steps;
	}
	{
		double dt = wall() - t0;

		printf("# %s: %llu seeds, %llu failed, %.1f s, %.0f seeds/s, %.0f steps/s\n",
		       name, (unsigned long long)done, (unsigned long long)nfail,
		       dt, done / (dt > 0 ? dt : 1), W.steps / (dt > 0 ? dt : 1));
		printf("# %s: %llu steps, %llu acked writes, %llu local reads, %llu crashes, %llu resyncs (%llu copied while writing, %llu copies restarted by a crash), %llu non-voting windows, %llu reconfigs\n",
		       name, (unsigned long long)W.steps,
		       (unsigned long long)W.tot[T_ACKED],
		       (unsigned long long)W.tot[T_READS],
		       (unsigned long long)W.tot[T_CRASHES],
		       (unsigned long long)W.tot[T_RESYNCS],
		       (unsigned long long)W.tot[T_COPIES],
		       (unsigned long long)W.tot[T_COPY_RESTARTS],
		       (unsigned long long)W.tot[T_NV],
		       (unsigned long long)W.tot[T_CFG]);
		printf("# %s: %llu elections, %llu with a non-voting node's promise (%llu needed it), %llu wiped disks, %llu fresh-group seeds, amnesia ended by install %llu / by commit %llu\n",
		       name, (unsigned long long)W.tot[T_ELECT],
		       (unsigned long long)W.tot[T_NVP_ELECT],
		       (unsigned long long)W.tot[T_NVP_NEEDED],
		       (unsigned long long)W.tot[T_WIPES],
		       (unsigned long long)W.tot[T_FRESH],
		       (unsigned long long)W.tot[T_NP_INSTALL],
		       (unsigned long long)W.tot[T_NP_COMMIT]);
		printf("# %s: flush mode in %llu seeds: %llu barriers completed (%.1f ms each on average), %llu power cuts, %llu lossy elections, %llu resets, %llu unflushed acknowledged writes lost\n",
		       name, (unsigned long long)W.tot[T_FLUSH_SEEDS],
		       (unsigned long long)W.tot[T_BARRIERS],
		       W.tot[T_BARRIERS] ? (double)W.tot[T_FLUSH_MS] /
					  W.tot[T_BARRIERS] : 0.0,
		       (unsigned long long)W.tot[T_POWERCUTS],
		       (unsigned long long)W.tot[T_LOSSY],
		       (unsigned long long)W.tot[T_RESETS],
		       (unsigned long long)W.tot[T_LOST_OK]);
		if (nfail)
			printf("not ok %d %s: %d of %llu seeds failed, first seed %llu\n",
			       tap, name, nfail, (unsigned long long)done,
			       (unsigned long long)first_fail);
		else
			printf("ok %d %s: %llu seeds, no violation\n", tap, name,
			       (unsigned long long)done);
	}
	return nfail ? 1 : 0;
}
