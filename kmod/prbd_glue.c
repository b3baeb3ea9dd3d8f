// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the Paxos glue - drives the sans-I/O Multi-Paxos core
 * (paxos/prbd_paxos.c) for one resource: proposes the device's writes,
 * makes persist batches durable in the log ring, applies chosen slots to
 * the data area in slot order, completes requests, grants reads.
 *
 * A write's life on the leader: queue_rq copies it into a payload (the
 * only read of the request's pages) and computes the copy's crc32c, then
 * queues it (prbd_dp_queue_write); the drive work reserves log space and
 * proposes its descriptor; the core returns it in a persist batch, which
 * the persist work writes to the log (prbd_log_write_batch(), FUA) before
 * reporting the token; once a majority (here: this node) accepted durably,
 * the slot is chosen and reported in an apply range; the drive work
 * submits the data-area write from the same payload and completes the
 * request at once (prbd_apply_started(): reads wait for the applies in
 * flight), and reports the slot applied when that write is done.
 * Overlapping writes are applied strictly in slot order so every replica
 * ends with the same bytes.
 *
 * Request ids: (node id << 56) | ((random 40-bit start + counter) << 8 |
 * blk-mq tag); the tag finds the request, the full id proves it is the one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_trace.h"

#define PRBD_ID_NODE_SHIFT	56
#define PRBD_ID_TAG_MASK	0xffULL
static_assert(PRBD_DP_QUEUE_DEPTH - 1 <= PRBD_ID_TAG_MASK);

/*
 * How often the applied index is recorded (data area flushed, log space
 * released).  Longer: fewer flushes, more log replayed after a crash.
 */
static unsigned int prbd_ckpt_ms = 1000;
module_param_named(checkpoint_ms, prbd_ckpt_ms, uint, 0644);
MODULE_PARM_DESC(checkpoint_ms, "checkpoint interval in ms (100..600000, default 1000)");

static unsigned long prbd_ckpt_jiffies(void)
{
	return msecs_to_jiffies(clamp(READ_ONCE(prbd_ckpt_ms), 100U, 600000U));
}

/*
 * Persist batches written at once.  Each batch costs one flush of the
 * backing device at least (its records are FUA); more batches in flight
 * overlap those flushes, fewer make each batch larger.
 */
static unsigned int prbd_persist_window = PRBD_DP_PERSIST_WINDOW;
module_param_named(persist_window, prbd_persist_window, uint, 0644);
static_assert(PRBD_DP_PERSIST_WINDOW == 4);	/* the description says so */
MODULE_PARM_DESC(persist_window,
		 "persist batches in flight, 1..4 (default 4; read at up)");

static u64 prbd_now_ms(void)
{
	return jiffies64_to_msecs(get_jiffies_64());
}

void prbd_dp_kick(struct prbd_dp *dp)
{
	queue_work(dp->wq, &dp->drive_work);
}

static struct prbd_io *prbd_io_by_id(struct prbd_dp *dp, u64 id)
{
	struct prbd_io *cmd;
	u32 tag = id & PRBD_ID_TAG_MASK;

	if (id >> PRBD_ID_NODE_SHIFT != dp->res->node_id ||
	    tag >= dp->tag_set.queue_depth)
		return NULL;
	cmd = dp->cmds[tag];
	return cmd && cmd->id == id ? cmd : NULL;
}

blk_status_t prbd_dp_queue_write(struct prbd_dp *dp, struct prbd_io *cmd)
{
	bool payload = prbd_rq_op(cmd->rq) == PRBD_LOG_OP_WRITE;

	if (READ_ONCE(dp->failed)) {	/* detached: see prbd_dp_io_error() */
		prbd_io_end(cmd, BLK_STS_IOERR);
		return BLK_STS_OK;
	}
	cmd->csum = 0;	/* discard and write zeroes: no payload, no checksum */
	cmd->id = (u64)dp->res->node_id << PRBD_ID_NODE_SHIFT |
		  ((atomic64_inc_return(&dp->next_id) << 8) &
		   GENMASK_ULL(PRBD_ID_NODE_SHIFT - 1, 8)) |
		  cmd->rq->tag;
	/*
	 * Copied once, here: the checksum, the peers, the log record and the
	 * apply all read the copy, never the request's pages, which the
	 * writer may redirty while they are in flight (see prbd_repl.c).
	 */
	if (payload && prbd_pl_from_rq(dp, cmd))
		return BLK_STS_RESOURCE;
	spin_lock(&dp->px_lock);
	list_add_tail(&cmd->list, &dp->incoming);
	spin_unlock(&dp->px_lock);
	prbd_dp_kick(dp);
	return BLK_STS_OK;
}

/**
 * prbd_dp_queue_read() - may a read be served from the data area now?
 * @dp: the data path
 * @cmd: the read
 *
 * The primary serves a read locally only while the core grants it (leader
 * lease); otherwise the read waits for the grant.  A secondary (opened
 * read-only) reads its own applied data, which may lag the leader.
 *
 * Return: true to submit at once; false when queued.
 */
bool prbd_dp_queue_read(struct prbd_dp *dp, struct prbd_io *cmd)
{
	bool now;

	spin_lock(&dp->px_lock);
	now = !dp->primary || prbd_px_may_read(dp->px, prbd_now_ms());
	/*
	 * Completed writes may still be on their way to the data area; a
	 * detached disk: the drive work fails it.
	 */
	if (atomic_read(&dp->n_early) || READ_ONCE(dp->failed))
		now = false;
	if (!now)
		list_add_tail(&cmd->list, &dp->reads);
	spin_unlock(&dp->px_lock);
	if (now)
		trace_prbd_read_local(prbd_dp_minor(dp), cmd->rq->tag,
				      blk_rq_pos(cmd->rq), blk_rq_bytes(cmd->rq), 0);
	else
		trace_prbd_read_wait(prbd_dp_minor(dp), cmd->rq->tag,
				     blk_rq_pos(cmd->rq), blk_rq_bytes(cmd->rq));
	if (!now)
		prbd_dp_kick(dp);
	return now;
}

/* Wait up to three election timeouts (twelve if new) for this node to lead. */
static int prbd_dp_wait_leader(struct prbd_dp *dp, bool make_primary)
{
	/* a new node first keeps silent for about five election timeouts */
	unsigned long until = jiffies +
		msecs_to_jiffies((READ_ONCE(dp->amnesiac) ? 12 : 3) *
				 PRBD_DP_ELECT_MS);
	unsigned long asked = jiffies;
	u8 prole, refused;

	for (;;) {
		spin_lock(&dp->px_lock);
		prole = dp->role;
		refused = time_after(dp->xfer_refused_at, asked) ?
			  dp->xfer_refused_by : 0;
		if (prole == PRBD_PX_LEADER && make_primary)
			dp->primary = true;
		spin_unlock(&dp->px_lock);
		if (prole == PRBD_PX_LEADER)
			return 0;
		if (refused) {
			pr_warn("%s: node %u is primary: it holds the device open read-write\n",
				dp->res->name, refused);
			return -EBUSY;
		}
		if (time_after(jiffies, until) || READ_ONCE(dp->stopping))
			return -EAGAIN;
		if (time_after(jiffies, dp->xfer_at + HZ / 2)) {
			dp->xfer_at = jiffies;
			prbd_repl_ask_leadership(dp);
		}
		if (msleep_interruptible(20))
			return -EINTR;
	}
}

/**
 * prbd_dp_open() - count an opener of the device (any mode)
 * @dp: the data path
 *
 * Counted before a read-write open waits for leadership, so down (which
 * refuses while the device is open) never runs beside an open.
 *
 * Return: 0, or -ENXIO once down has begun.
 */
int prbd_dp_open(struct prbd_dp *dp)
{
	int err = 0;

	spin_lock(&dp->px_lock);
	if (dp->closed)
		err = -ENXIO;
	else
		dp->openers++;
	spin_unlock(&dp->px_lock);
	return err;
}

/**
 * prbd_dp_close() - an opener closed the device (or its open failed)
 * @dp: the data path; down may free it once this returns
 */
void prbd_dp_close(struct prbd_dp *dp)
{
	spin_lock(&dp->px_lock);
	WARN_ON_ONCE(!dp->openers);
	dp->openers--;
	spin_unlock(&dp->px_lock);
}

/**
 * prbd_dp_open_rw() - open the device read-write (auto-promote)
 * @dp: the data path
 *
 * A secondary becomes primary: the leader hands leadership to this node
 * unless it is primary itself (then the open fails with -EBUSY and the
 * kernel log names that node).  The last read-write close of an
 * auto-promoted node makes it secondary again.
 *
 * Context: process, may sleep up to three election timeouts (twelve on new
 * metadata).
 * Return: 0, -EBUSY (another node is primary), -EAGAIN (no quorum), -EINTR.
 */
int prbd_dp_open_rw(struct prbd_dp *dp)
{
	bool primary;
	int err;

	spin_lock(&dp->px_lock);
	primary = dp->primary;
	if (primary)
		atomic_inc(&dp->open_rw);
	spin_unlock(&dp->px_lock);
	if (primary)
		return 0;
	if (READ_ONCE(dp->rs_inconsistent)) {
		pr_warn("%s: cannot open read-write: disk inconsistent (resync running)\n",
			dp->res->name);
		return -EAGAIN;
	}
	err = prbd_dp_wait_leader(dp, true);
	if (err)
		return err;
	spin_lock(&dp->px_lock);
	if (!atomic_read(&dp->open_rw))
		dp->auto_primary = true;
	atomic_inc(&dp->open_rw);
	spin_unlock(&dp->px_lock);
	pr_info("%s: primary (opened read-write)\n", dp->res->name);
	return 0;
}

/**
 * prbd_dp_release_rw() - a read-write opener closed the device
 * @dp: the data path
 */
void prbd_dp_release_rw(struct prbd_dp *dp)
{
	bool demoted = false;

	spin_lock(&dp->px_lock);
	if (atomic_dec_and_test(&dp->open_rw) && dp->auto_primary) {
		dp->auto_primary = false;
		dp->primary = false;
		demoted = true;
	}
	spin_unlock(&dp->px_lock);
	if (demoted) {
		pr_info("%s: secondary (last read-write close)\n",
			dp->res->name);
		dp->res_changed = true;
		prbd_dp_kick(dp);
	}
}

/**
 * prbd_dp_xfer_refused() - a leader refused to hand leadership to us
 * @dp: the data path
 * @node: that leader, which is primary
 */
void prbd_dp_xfer_refused(struct prbd_dp *dp, u8 node)
{
	spin_lock(&dp->px_lock);
	dp->xfer_refused_by = node;
	dp->xfer_refused_at = jiffies;
	spin_unlock(&dp->px_lock);
	prbd_dp_kick(dp);
}

/* --- leadership, quorum and writes in doubt ------------------------------ */

/*
 * Our leadership ended (stepped down, or deposed and re-elected at a new
 * ballot).  Proposed writes not applied yet are in doubt: the next leader
 * may choose them in the slots we gave them, or fill those slots with
 * something else.  Every slot we gave out is below @next_slot, so once
 * this node has applied everything below it, a write still not applied
 * was not chosen and may be proposed again (prbd_resolve_doubt()).  The
 * core dropped the writes it had not given a slot yet: they are in doubt
 * too, harmlessly.
 */
static void prbd_leadership_ended(struct prbd_dp *dp, u64 next_slot)
{
	struct prbd_io *cmd;
	u32 tag, n = 0;

	for (tag = 0; tag < dp->tag_set.queue_depth; tag++) {
		cmd = dp->cmds[tag];
		if (!cmd || cmd->doubt)
			continue;
		cmd->doubt = true;
		dp->n_doubt++;
		n++;
	}
	if (next_slot)
		dp->doubt_hi = max(dp->doubt_hi, next_slot - 1);
	pr_warn("%s: leadership ended; %u writes in doubt until slot %llu is applied\n",
		dp->res->name, n, dp->doubt_hi);
}

/* Called from prbd_take_ready() with px_lock held. */
static void prbd_track_leadership(struct prbd_dp *dp,
				  const struct prbd_px_ready *rd)
{
	struct prbd_px_status st;
	struct prbd_peer *peer;
	bool quorum, led;
	u64 lead;

	prbd_px_status(dp->px, &st);
	if (dp->amnesiac && !st.nopromise) {
		/* its next acceptor-state write drops the flag */
		WRITE_ONCE(dp->amnesiac, false);
		pr_info("%s: this node's promises count again (it saw a leader's proposals chosen)\n",
			dp->res->name);
	}
	lead = rd->role == PRBD_PX_LEADER ? st.ballot : 0;
	if (dp->lead_ballot && lead != dp->lead_ballot)
		prbd_leadership_ended(dp, st.next_slot);
	dp->lead_ballot = lead;
	/*
	 * Quorum: a leader is known (ourselves included, if enough voting
	 * members are heard to commit: resyncing ones do not count).  An
	 * election or a leadership transfer leaves the group without one for
	 * a moment;
	 * quorum counts as lost only once that lasts three election
	 * timeouts, so on-no-quorum io-error does not fail I/O during them.
	 */
	led = (rd->role == PRBD_PX_LEADER && st.can_commit) ||
	      (rd->role == PRBD_PX_FOLLOWER && rd->leader);
	if (led)
		dp->leaderless_at = 0;
	else if (!dp->leaderless_at)
		dp->leaderless_at = jiffies ? jiffies : 1;
	quorum = led || (dp->quorum &&
			 time_before(jiffies, dp->leaderless_at +
				     msecs_to_jiffies(3 * PRBD_DP_ELECT_MS)));
	if (quorum != dp->quorum) {
		dp->quorum = quorum;
		dp->res_changed = true;
		if (quorum)
			pr_info("%s: quorum: node %u leads\n", dp->res->name,
				rd->leader);
		else
			pr_warn("%s: quorum lost: no leader reachable\n",
				dp->res->name);
	}
	/*
	 * What status shows per peer: applied as the peer reported (leader).
	 * No prbd_cfg_mutex here (down holds it while it flushes this work):
	 * the list is walked under RCU (see struct prbd_peer).
	 */
	rcu_read_lock();
	list_for_each_entry_rcu(peer, &dp->res->peers, list) {
		if (peer->node_id >= PRBD_PX_MAX_NODES)
			continue;
		WRITE_ONCE(peer->match_index, st.peer_applied[peer->node_id]);
		WRITE_ONCE(peer->sync, prbd_rs_peer_sync(dp, &st,
							 peer->node_id));
	}
	rcu_read_unlock();
	if (dp->primary && led && rd->role != PRBD_PX_LEADER) {
		if (!dp->reclaim_at)
			dp->reclaim_at = jiffies ? jiffies : 1;
	} else {
		dp->reclaim_at = 0;
	}
}

/*
 * May this node's writes (and lease-gated reads) wait, or must they fail?
 * A primary without quorum waits (on-no-quorum block) or fails (io-error).
 * A primary that finds another leader asks it for leadership back
 * (prbd_dp_kick_reclaim()); if that leader is primary itself it refuses,
 * and then, or after three election timeouts, this node's I/O fails:
 * the device is another node's now.  Context: px_lock held.
 */
static bool prbd_io_must_fail(struct prbd_dp *dp)
{
	if (READ_ONCE(dp->failed))	/* the backing device is detached */
		return true;
	if (dp->role == PRBD_PX_LEADER)	/* without voters to commit? */
		return !dp->quorum &&
		       dp->res->on_no_quorum == PRBD_ON_NO_QUORUM_IO_ERROR;
	if (!dp->quorum)
		return dp->res->on_no_quorum == PRBD_ON_NO_QUORUM_IO_ERROR;
	if (!dp->leader || dp->leader == dp->res->node_id)
		return false;	/* an election or transfer is running: wait */
	if (!dp->primary || !dp->reclaim_at)
		return true;
	if (dp->xfer_refused_by == dp->leader &&
	    time_after_eq(dp->xfer_refused_at, dp->reclaim_at))
		return true;
	return time_after(jiffies, dp->reclaim_at +
			  msecs_to_jiffies(3 * PRBD_DP_ELECT_MS));
}

/* Does a persist batch being written name @cmd?  Context: px_lock held. */
static bool prbd_batch_uses(struct prbd_dp *dp, const struct prbd_io *cmd)
{
	struct prbd_batch *b;
	u32 n, i, j;

	for (n = 0; n < dp->b_n; n++) {
		b = &dp->batches[(dp->b_head + n) % PRBD_DP_PERSIST_WINDOW];
		if (b->dead)
			continue;
		for (i = 0; i < b->n_ents; i++)
			for (j = 0; j < PRBD_PX_BATCH; j++)
				if (b->cmd[i][j] == cmd)
					return true;
	}
	return false;
}

/* Is @cmd the source of an apply in flight (drive work)? */
static bool prbd_apply_uses(struct prbd_dp *dp, const struct prbd_io *cmd)
{
	struct prbd_apply *a;

	list_for_each_entry(a, &dp->applies, list)
		if (a->cmd == cmd)
			return true;
	return false;
}

/*
 * Settle writes in doubt (px_lock held): once decided (not chosen), put
 * them back at the head of the queue to be proposed again; when I/O must
 * fail, move them to @failed even if undecided (EIO leaves the range
 * undefined, as for any failed write).
 */
static void prbd_resolve_doubt(struct prbd_dp *dp, bool fail,
			       struct list_head *failed)
{
	struct prbd_io *cmd;
	LIST_HEAD(again);
	u32 tag;

	if (!dp->n_doubt || (dp->applied < dp->doubt_hi && !fail))
		return;
	for (tag = 0; tag < dp->tag_set.queue_depth; tag++) {
		cmd = dp->cmds[tag];
		if (!cmd || !cmd->doubt || prbd_batch_uses(dp, cmd) ||
		    prbd_apply_uses(dp, cmd))
			continue;
		dp->cmds[tag] = NULL;
		cmd->doubt = fail;	/* tells prbd_fail_ios() to keep its payload */
		dp->n_doubt--;
		if (cmd->log_need) {
			prbd_log_unreserve(dp, cmd->log_need);
			cmd->log_need = 0;
		}
		list_add_tail(&cmd->list, fail ? failed : &again);
	}
	if (!fail && !list_empty(&again))
		pr_info("%s: writes not chosen by the previous leadership: proposing them again\n",
			dp->res->name);
	list_splice(&again, &dp->incoming);
}

/* Queued writes and waiting reads that must fail now (px_lock held). */
static void prbd_apply_policy(struct prbd_dp *dp, struct list_head *failed)
{
	bool fail = prbd_io_must_fail(dp);

	prbd_resolve_doubt(dp, fail, failed);
	if (!fail)
		return;
	list_splice_tail_init(&dp->incoming, failed);
	if (dp->primary || READ_ONCE(dp->failed))
		list_splice_tail_init(&dp->reads, failed);
}

static void prbd_fail_ios(struct prbd_dp *dp, struct list_head *failed)
{
	struct prbd_io *cmd, *tmp;

	if (list_empty(failed))
		return;
	pr_warn_ratelimited("%s: failing I/O: %s\n", dp->res->name,
			    READ_ONCE(dp->failed) ? "backing device failed" :
			    dp->quorum ? "another node leads and is primary" :
			    "no quorum (on-no-quorum io-error)");
	list_for_each_entry_safe(cmd, tmp, failed, list) {
		list_del_init(&cmd->list);
		/*
		 * A write never proposed leaves the payload cache; one in
		 * doubt keeps it: a later leader may still choose it, and this
		 * node then logs and applies it from there.
		 */
		if (cmd->id && !cmd->doubt && req_op(cmd->rq) == REQ_OP_WRITE)
			prbd_pl_drop(dp, cmd->id);
		prbd_io_end(cmd, BLK_STS_IOERR);
	}
}

/* A primary that lost leadership to a reachable leader asks for it back. */
/*
 * It keeps asking, every half second, for as long as it is primary and
 * that leader has not refused (being primary itself): a primary deposed
 * while idle (a stalled guest, say) must not stay without leadership for
 * good, failing every read, once three election timeouts have passed.
 */
static void prbd_dp_kick_reclaim(struct prbd_dp *dp)
{
	bool ask;

	spin_lock(&dp->px_lock);
	ask = dp->reclaim_at && dp->primary && !READ_ONCE(dp->failed) &&
	      !(dp->xfer_refused_by == dp->leader &&
		time_after_eq(dp->xfer_refused_at, dp->reclaim_at)) &&
	      time_after(jiffies, dp->xfer_at + HZ / 2);
	if (ask)
		dp->xfer_at = jiffies;
	spin_unlock(&dp->px_lock);
	if (ask)
		prbd_repl_ask_leadership(dp);
}

/* --- drive ------------------------------------------------------------ */

/* Propose queued writes while the core and the log ring take them. */
static void prbd_propose_writes(struct prbd_dp *dp)
{
	struct prbd_io *cmd, *tmp;
	struct prbd_px_desc d;
	u32 need;
	int err;

	list_for_each_entry_safe(cmd, tmp, &dp->incoming, list) {
		if (dp->role != PRBD_PX_LEADER)
			return;
		d.op = prbd_rq_op(cmd->rq);
		d.pad = 0;
		if (!prbd_log_reserve(dp, d.op == PRBD_LOG_OP_WRITE ?
				      blk_rq_bytes(cmd->rq) : 0, &need)) {
			dp->log_starved = true;
			/* records kept for a lagging member must go too */
			prbd_px_log_full(dp->px);
			return;
		}
		d.id = cmd->id;
		d.sector = blk_rq_pos(cmd->rq);
		d.len = blk_rq_bytes(cmd->rq);
		d.csum = cmd->csum;
		err = prbd_px_propose(dp->px, &d);
		if (err) {
			prbd_log_unreserve(dp, need);
			return;
		}
		cmd->log_need = need;
		dp->cmds[cmd->rq->tag] = cmd;
		list_del_init(&cmd->list);
	}
}

/* Take the core's output: persist batch, apply range, role. */
static void prbd_take_ready(struct prbd_dp *dp)
{
	struct prbd_px_ready rd;
	struct prbd_batch *b;
	u32 i, j;

	prbd_px_ready(dp->px, &rd);
	prbd_trace_ready(dp, &rd);
	if (READ_ONCE(dp->tr) && rd.n_msgs) {
		/* sent by the drive work once px_lock is dropped */
		memcpy(dp->out, rd.msgs, rd.n_msgs * sizeof(*rd.msgs));
		dp->n_out = rd.n_msgs;
	}
	dp->role = rd.role;
	if (rd.leader != dp->leader)
		dp->pl_purge = true;	/* a deposed leader's payloads */
	dp->leader = rd.leader;
	dp->core_log_start = rd.hs.log_start;
	prbd_track_leadership(dp, &rd);
	if (rd.persist_token) {
		/* the core issues at most PRBD_DP_PERSIST_WINDOW at once */
		b = &dp->batches[(dp->b_head + dp->b_n) %
				 PRBD_DP_PERSIST_WINDOW];
		WARN_ON_ONCE(b->busy || dp->b_n >= PRBD_DP_PERSIST_WINDOW);
		b->token = rd.persist_token;
		b->commit_hint = rd.commit_hint;
		b->hs = rd.hs;
		b->n_ents = rd.n_ents;
		for (i = 0; i < rd.n_ents; i++) {
			b->ents[i] = rd.ents[i];
			for (j = 0; j < PRBD_PX_BATCH; j++)
				b->cmd[i][j] = j < rd.ents[i].n_desc &&
					rd.ents[i].kind == PRBD_PX_K_DATA ?
					prbd_io_by_id(dp, rd.ents[i].desc[j].id) :
					NULL;
		}
		b->busy = true;
		b->done = false;
		dp->b_n++;
		queue_work(dp->lwq, &b->work);
	}
	if (rd.apply_hi >= rd.apply_lo && rd.apply_lo)
		dp->apply_hi = max(dp->apply_hi, rd.apply_hi);
	/* what prbdctl status shows */
	spin_lock(&dp->res->lock);
	dp->res->paxos_role = rd.role == PRBD_PX_LEADER ?
		PRBD_PAXOS_ROLE_LEADER : rd.role == PRBD_PX_CANDIDATE ?
		PRBD_PAXOS_ROLE_CANDIDATE : PRBD_PAXOS_ROLE_FOLLOWER;
	dp->res->leader_id = rd.leader;
	dp->res->ballot = rd.hs.promised;
	dp->res->quorum = dp->quorum;
	if (rd.needs_resync != dp->needs_resync &&
	    (dp->res->disk_state == PRBD_DISK_STATE_ATTACHED ||
	     dp->res->disk_state == PRBD_DISK_STATE_OUTDATED)) {
		dp->res->disk_state = rd.needs_resync ?
			PRBD_DISK_STATE_OUTDATED : PRBD_DISK_STATE_ATTACHED;
		dp->res_changed = true;
		if (rd.needs_resync)
			pr_warn("%s: outdated: the peers no longer hold the slots this node misses; it needs a resync\n",
				dp->res->name);
	}
	dp->needs_resync = rd.needs_resync;
	spin_unlock(&dp->res->lock);

	if (rd.role_changed)
		dp->res_changed = true;
}

static void prbd_apply_endio(struct bio *bio)
{
	struct prbd_apply *a = bio->bi_private;

	if (bio->bi_status)
		a->err = blk_status_to_errno(bio->bi_status);
	bio_put(bio);
	llist_add(&a->done_node, &a->dp->applies_done);
	prbd_dp_kick(a->dp);
}

/**
 * prbd_apply_busy() - is an apply overlapping these sectors in flight?
 * @dp: the data path
 * @sector: of the prbd device
 * @len: bytes
 *
 * Context: drive work.
 */
bool prbd_apply_busy(struct prbd_dp *dp, u64 sector, u32 len)
{
	struct prbd_apply *a;

	list_for_each_entry(a, &dp->applies, list)
		if (a->len && sector < a->sector + (a->len >> SECTOR_SHIFT) &&
		    a->sector < sector + (len >> SECTOR_SHIFT))
			return true;
	return false;
}

/* An apply waits for older applies and resync I/O on the same sectors. */
static bool prbd_apply_overlaps(struct prbd_dp *dp, u64 sector, u32 len)
{
	return prbd_apply_busy(dp, sector, len) ||
	       prbd_rs_overlaps(dp, sector, len);
}

static int prbd_apply_submit(struct prbd_dp *dp, struct prbd_apply *a,
			     u64 id)
{
	sector_t sector = dp->data_sect + a->sector;
	struct bio *bio;
	int err;

	if (a->op != PRBD_LOG_OP_WRITE) {
		/* discard, write zeroes: no payload, from the request or not */
		err = prbd_submit_trim(dp, a->op, sector, a->len,
				       prbd_apply_endio, a);
		if (err > 0)
			a->done = true;	/* nothing to do on this device */
		return min(err, 0);
	}
	a->pl = prbd_pl_find(dp, a->slot, id, a->csum);
	if (IS_ERR(a->pl)) {
		err = PTR_ERR(a->pl);
		a->pl = NULL;
		return err;
	}
	bio = prbd_pages_bio(dp, NULL, a->pl->pages, a->pl->len, sector,
			     REQ_OP_WRITE);
	bio->bi_end_io = prbd_apply_endio;
	bio->bi_private = a;
	submit_bio(bio);
	return 0;
}

/*
 * An apply that could not start for want of its payload (not in the cache
 * nor in the log yet) or of memory: it stays in the list, holding applied
 * and every later overlapping apply, and is submitted again.  Counting it
 * as applied would let the checkpoint release its record while the data
 * area never got the value: a silently divergent replica.
 */
static bool prbd_apply_transient(int err)
{
	return err == -ENOENT || prbd_io_transient(err);
}

/*
 * The apply of a value chosen by a majority, durable in their logs, is on
 * its way to the data area: complete its request now rather than after the
 * data-area write.  The write is as durable either way; what changes is
 * that the data area may lag a completed write, so reads wait while such
 * applies are in flight (prbd_dp_queue_read(), prbd_serve_reads()), as do
 * later overlapping applies and resync I/O (the apply stays in dp->applies
 * until its bio completes).  Not while the persist batch in flight still
 * names the request (its log reservation).
 */
static void prbd_apply_started(struct prbd_dp *dp, struct prbd_apply *a)
{
	struct prbd_io *cmd = a->cmd;
	bool busy;

	if (!cmd)
		return;
	spin_lock(&dp->px_lock);
	busy = prbd_batch_uses(dp, cmd);
	if (!busy) {
		dp->cmds[cmd->rq->tag] = NULL;
		if (cmd->doubt) {
			cmd->doubt = false;
			dp->n_doubt--;
		}
	}
	spin_unlock(&dp->px_lock);
	if (busy)
		return;
	a->cmd = NULL;
	a->early = true;
	atomic_inc(&dp->n_early);
	prbd_io_end(cmd, BLK_STS_OK);
}

static void prbd_retry_applies(struct prbd_dp *dp)
{
	struct prbd_apply *a;
	int err;

	list_for_each_entry(a, &dp->applies, list) {
		if (!a->retry)
			continue;
		if (READ_ONCE(dp->stopping)) {
			/* down: never applied, and applied does not pass it */
			a->retry = false;
			a->err = -ESHUTDOWN;
			a->done = true;
			continue;
		}
		err = prbd_apply_submit(dp, a, a->id);
		if (prbd_apply_transient(err))
			continue;
		a->retry = false;
		if (err) {
			a->err = err;
			a->done = true;
		} else if (!a->done) {
			prbd_apply_started(dp, a);
		}
	}
}

/*
 * Start applying chosen slots in order.  A descriptor that overlaps one
 * still being written waits (and so does everything after it).
 */
static void prbd_start_applies(struct prbd_dp *dp)
{
	struct prbd_apply *a, *as[PRBD_PX_BATCH];
	struct prbd_px_entry e;
	const struct prbd_px_entry *pe;
	u32 j, n;
	int err;

	prbd_retry_applies(dp);
	while (!dp->apply_failed && !READ_ONCE(dp->failed) &&
	       dp->apply_next <= dp->apply_hi) {
		spin_lock(&dp->px_lock);
		pe = prbd_px_entry_at(dp->px, dp->apply_next);
		if (pe)
			e = *pe;
		spin_unlock(&dp->px_lock);
		if (!pe || e.slot != dp->apply_next || !e.kind) {
			pr_err_ratelimited("%s: slot %llu chosen but not in the log\n",
					   dp->res->name, dp->apply_next);
			return;
		}
		if (e.kind == PRBD_PX_K_DATA) {
			for (j = 0; j < e.n_desc; j++)
				if (prbd_apply_overlaps(dp, e.desc[j].sector,
							e.desc[j].len))
					return;
		}
		/*
		 * All of a slot's applies or none, from the reserve without
		 * waiting: only reaping (here) gives them back.  None left:
		 * retried when an apply in flight completes.
		 */
		n = max_t(u32, e.kind == PRBD_PX_K_DATA ? e.n_desc : 0, 1);
		for (j = 0; j < n; j++) {
			as[j] = mempool_alloc(dp->apply_pool,
					      GFP_NOWAIT | __GFP_NOWARN);
			if (!as[j]) {
				while (j--)
					mempool_free(as[j], dp->apply_pool);
				return;
			}
		}
		prbd_hist_add(dp, &e);
		/* before any later resync read or write of these chunks */
		prbd_map_note_entry(dp, &e);
		for (j = 0; j < n; j++) {
			a = as[j];
			memset(a, 0, sizeof(*a));
			a->dp = dp;
			a->slot = e.slot;
			list_add_tail(&a->list, &dp->applies);
			if (e.kind != PRBD_PX_K_DATA) {
				a->done = true;
				break;
			}
			a->sector = e.desc[j].sector;
			a->len = e.desc[j].len;
			a->id = e.desc[j].id;
			a->csum = e.desc[j].csum;
			a->op = e.desc[j].op;
			spin_lock(&dp->px_lock);
			a->cmd = prbd_io_by_id(dp, e.desc[j].id);
			spin_unlock(&dp->px_lock);
			err = prbd_apply_submit(dp, a, e.desc[j].id);
			if (prbd_apply_transient(err)) {
				pr_warn_ratelimited("%s: slot %llu: payload not here yet (%d): apply waits\n",
						    dp->res->name, e.slot, err);
				a->retry = true;
			} else if (err) {
				a->err = err;
				a->done = true;
			} else if (!a->done) {
				prbd_apply_started(dp, a);
			}
		}
		dp->apply_next++;
	}
}

/*
 * An apply failed (a data-area write error, a payload that reads back
 * wrong): the slot is not applied, and neither is any later one, so the
 * checkpoint keeps their records.  Unless down cut it short, the backing
 * device failed: this node stops logging (so voting) rather than serve a
 * replica missing a chosen write.
 */
static void prbd_apply_failed(struct prbd_dp *dp, struct prbd_apply *a)
{
	dp->apply_failed = true;
	if (a->err == -ESHUTDOWN)
		return;
	pr_err("%s: cannot apply slot %llu: %d; backing device failed, applied stays at %llu\n",
	       dp->res->name, a->slot, a->err, dp->applied);
	prbd_dp_io_error(dp, a->err, "apply");
	WRITE_ONCE(dp->failed, true);	/* whatever the error: never skip it */
}

/* Retire finished applies in slot order; complete requests. */
static void prbd_reap_applies(struct prbd_dp *dp)
{
	struct llist_node *done = llist_del_all(&dp->applies_done);
	struct prbd_apply *a, *tmp;
	u64 applied = dp->applied;

	llist_for_each_entry_safe(a, tmp, done, done_node)
		a->done = true;
	list_for_each_entry_safe(a, tmp, &dp->applies, list) {
		if (!a->done)
			break;
		if (a->err && prbd_io_transient(a->err) &&
		    !READ_ONCE(dp->stopping) && !READ_ONCE(dp->failed)) {
			/* no memory below us: write it again */
			prbd_pl_put(a->pl);
			a->pl = NULL;
			a->err = 0;
			a->done = false;
			a->retry = true;
			break;
		}
		list_del(&a->list);
		if (a->cmd) {
			spin_lock(&dp->px_lock);
			dp->cmds[a->cmd->rq->tag] = NULL;
			if (a->cmd->doubt) {
				/* chosen after all: the next leader kept it */
				a->cmd->doubt = false;
				dp->n_doubt--;
			}
			spin_unlock(&dp->px_lock);
			prbd_io_end(a->cmd, a->err ? BLK_STS_IOERR :
				     BLK_STS_OK);
		}
		if (a->early)
			atomic_dec(&dp->n_early);
		prbd_pl_put(a->pl);
		if (a->err && !dp->apply_failed)
			prbd_apply_failed(dp, a);
		if (a->id && !a->err)
			prbd_pl_drop(dp, a->id);	/* the slot is applied */
		if (!dp->apply_failed &&
		    (list_empty(&dp->applies) ||
		     list_first_entry(&dp->applies, struct prbd_apply,
				      list)->slot != a->slot)) {
			/* slots below an installed one may still finish */
			applied = max(applied, a->slot);
			trace_prbd_slot_applied(prbd_dp_minor(dp), a->slot,
						a->err);
		}
		mempool_free(a, dp->apply_pool);
	}
	if (applied != dp->applied) {
		dp->applied = applied;
		spin_lock(&dp->px_lock);
		prbd_px_applied(dp->px, applied);
		spin_unlock(&dp->px_lock);
		spin_lock(&dp->res->lock);
		dp->res->applied_index = applied;
		spin_unlock(&dp->res->lock);
	}
}

static void prbd_serve_reads(struct prbd_dp *dp)
{
	struct prbd_io *cmd, *tmp;
	LIST_HEAD(go);

	spin_lock(&dp->px_lock);
	if (!list_empty(&dp->reads) &&
	    (!dp->primary || prbd_px_may_read(dp->px, prbd_now_ms())))
		list_splice_init(&dp->reads, &go);
	spin_unlock(&dp->px_lock);
	list_for_each_entry_safe(cmd, tmp, &go, list) {
		/* a completed write still on its way to the data area */
		if (prbd_apply_busy(dp, blk_rq_pos(cmd->rq),
				    blk_rq_bytes(cmd->rq)))
			continue;
		list_del_init(&cmd->list);
		trace_prbd_read_local(prbd_dp_minor(dp), cmd->rq->tag,
				      blk_rq_pos(cmd->rq), blk_rq_bytes(cmd->rq), 1);
		prbd_submit_read(dp, cmd);
	}
	if (!list_empty(&go)) {
		/* retried when their applies complete; order kept */
		spin_lock(&dp->px_lock);
		list_splice(&go, &dp->reads);
		spin_unlock(&dp->px_lock);
	}
}

/* The slots whose records may leave the ring (see prbd_checkpoint()). */
static u64 prbd_release_bound(struct prbd_dp *dp)
{
	return min(dp->applied_disk, READ_ONCE(dp->core_log_start) - 1);
}

static bool prbd_want_checkpoint(struct prbd_dp *dp)
{
	u64 used;

	if (READ_ONCE(dp->rs_flags_want) != READ_ONCE(dp->rs_flags_disk))
		return true;
	if (READ_ONCE(dp->rs_inconsistent) &&
	    READ_ONCE(dp->rs_cursor) != dp->rs_cursor_disk &&
	    time_after(jiffies, dp->ckpt_at + prbd_ckpt_jiffies()))
		return true;

	if (READ_ONCE(dp->log_starved) &&
	    prbd_log_releasable(dp, prbd_release_bound(dp)))
		return true;
	if (dp->applied <= dp->applied_disk)
		return false;
	if (READ_ONCE(dp->ckpt_now))
		return true;
	spin_lock(&dp->log.lock);
	used = dp->log.used + dp->log.reserved;
	spin_unlock(&dp->log.lock);
	return READ_ONCE(dp->log_starved) ||
	       used > dp->log.ring_size / 4 * 3 ||
	       time_after(jiffies, dp->ckpt_at + prbd_ckpt_jiffies());
}

/**
 * prbd_io_transient() - is @err a backing-device error worth a retry?
 * @err: a negative errno (blk_status_to_errno() of a bio, or ours)
 *
 * No memory (BLK_STS_RESOURCE) or a busy device: the same I/O may succeed
 * later.  Anything else is a failed disk.
 */
bool prbd_io_transient(int err)
{
	return err == -ENOMEM || err == -EAGAIN || err == -EBUSY;
}

/**
 * prbd_dp_io_error() - a backing-device I/O failed: detach the disk
 * @dp: the data path
 * @err: the error; transient ones (prbd_io_transient()) are ignored
 * @what: which I/O, for the kernel log
 *
 * DRBD's on-io-error detach: the disk is failed for good (until down and
 * up).  I/O in flight and new I/O fail with EIO, nothing more is written
 * to the disk, the node stops voting (a leader steps down) and status
 * shows "disk failed"; the other nodes carry the group on.  The drive work
 * does the rest (prbd_detach_failed()).
 *
 * Context: any (bio completion included).
 */
void prbd_dp_io_error(struct prbd_dp *dp, int err, const char *what)
{
	if (!err || prbd_io_transient(err) || err == -ESHUTDOWN)
		return;
	if (atomic_cmpxchg(&dp->disk_err, 0, err))
		return;	/* said already */
	pr_err("%s: backing device failed (%s: %d): detaching it, I/O fails with EIO, this node stops voting\n",
	       dp->res->name, what, err);
	WRITE_ONCE(dp->failed, true);
	prbd_dp_kick(dp);
}

/* Once the disk failed: status, and no vote (a leader steps down). */
static void prbd_detach_failed(struct prbd_dp *dp)
{
	if (!READ_ONCE(dp->failed) || dp->detached)
		return;
	dp->detached = true;
	spin_lock(&dp->px_lock);
	prbd_px_set_novote(dp->px, true);
	spin_unlock(&dp->px_lock);
	spin_lock(&dp->res->lock);
	dp->res->disk_state = PRBD_DISK_STATE_FAILED;
	spin_unlock(&dp->res->lock);
	dp->res_changed = true;
}

static void prbd_drive_work(struct work_struct *work)
{
	struct prbd_dp *dp = container_of(work, struct prbd_dp, drive_work);
	unsigned int noio = memalloc_noio_save();
	LIST_HEAD(failed);

	prbd_detach_failed(dp);
	prbd_reap_applies(dp);
	spin_lock(&dp->px_lock);
	if (!prbd_member_step(dp))
		prbd_propose_writes(dp);
	prbd_take_ready(dp);
	prbd_apply_policy(dp, &failed);
	spin_unlock(&dp->px_lock);
	prbd_fail_ios(dp, &failed);
	prbd_member_send(dp);
	prbd_dp_kick_reclaim(dp);
	if (dp->n_out) {
		prbd_repl_send(dp, dp->out, dp->n_out);
		dp->n_out = 0;
	}
	prbd_hist_serve(dp);
	prbd_start_applies(dp);
	prbd_rs_drive(dp);
	prbd_verify_drive(dp);
	prbd_reap_applies(dp);
	prbd_serve_reads(dp);
	spin_lock(&dp->res->lock);
	dp->res->commit_index = dp->apply_hi;
	spin_unlock(&dp->res->lock);
	if (prbd_want_checkpoint(dp))
		queue_work(dp->pwq, &dp->persist_work);
	if (dp->pl_purge) {
		dp->pl_purge = false;
		prbd_pl_evict(dp, 0, true);
	}
	if (dp->res_changed) {
		dp->res_changed = false;
		prbd_res_changed(dp->res);
	}
	memalloc_noio_restore(noio);
}

static void prbd_tick_work(struct work_struct *work)
{
	struct prbd_dp *dp = container_of(to_delayed_work(work),
					  struct prbd_dp, tick_work);

	spin_lock(&dp->px_lock);
	prbd_px_tick(dp->px, prbd_now_ms());
	spin_unlock(&dp->px_lock);
	prbd_drive_work(&dp->drive_work);
	if (!READ_ONCE(dp->stopping))
		queue_delayed_work(dp->wq, &dp->tick_work,
				   msecs_to_jiffies(PRBD_DP_TICK_MS));
}

/* --- persistence -------------------------------------------------------- */

static void prbd_hs_to_state(struct prbd_dp *dp,
			     const struct prbd_px_hardstate *hs, u64 applied,
			     u32 flags, struct prbd_acceptor_state *st)
{
	u32 id;

	memset(st, 0, sizeof(*st));
	st->promised_ballot = hs->promised;
	st->config_epoch = hs->cfg_slot;
	st->commit_index = hs->commit;
	st->applied_index = applied;
	st->flags = flags | (READ_ONCE(dp->amnesiac) ?
			     PRBD_DISK_ACC_F_AMNESIAC : 0);
	if (flags & PRBD_DISK_ACC_F_INCONSISTENT) {
		st->rs_from = dp->rs_from;
		st->rs_cursor = READ_ONCE(dp->rs_cursor);
		st->rs_need = READ_ONCE(dp->rs_need);
	}
	for (id = 1; id < PRBD_PX_MAX_NODES; id++) {
		if (!((hs->voters | hs->learners) & BIT(id)))
			continue;
		st->members[st->nr_members].node_id = id;
		st->members[st->nr_members].flags =
			hs->voters & BIT(id) ? 0 : PRBD_DISK_MEMBER_LEARNER;
		st->nr_members++;
	}
}

/*
 * Write the acceptor state.  Only a checkpoint changes the resync flags
 * (@flags; others pass dp->rs_flags_disk): it flushes the data area and the
 * slot map first.  The resync cursor may go with any write: the pieces below
 * it are completed writes, which the record's preflush makes durable.
 */
static int prbd_write_hs(struct prbd_dp *dp, const struct prbd_px_hardstate *hs,
			 u64 applied, u32 flags)
{
	struct prbd_acceptor_state st;
	int err;

	prbd_hs_to_state(dp, hs, applied, flags, &st);
	err = prbd_md_write_acceptor(dp->bdev, &dp->res->backing->md, &st);
	if (err)
		return err;
	dp->hs_disk = *hs;
	dp->applied_disk = applied;
	WRITE_ONCE(dp->rs_flags_disk, flags);
	dp->rs_cursor_disk = st.rs_cursor;
	return 0;
}

static bool prbd_hs_changed(const struct prbd_px_hardstate *a,
			    const struct prbd_px_hardstate *b)
{
	return a->promised != b->promised || a->cfg_slot != b->cfg_slot ||
	       a->voters != b->voters || a->learners != b->learners;
}

/*
 * Flush the applied data, record the applied index, release log space.
 * Context: dp->hs_mutex held (a batch may write a new promise meanwhile).
 * Records of applied slots stay as catch-up history (prbd_catchup.c) while
 * they fill at most half of the ring; a proposal starved of log space
 * releases them all.
 */
static void __prbd_checkpoint(struct prbd_dp *dp)
{
	u64 applied = READ_ONCE(dp->applied), keep, freed;
	u32 flags = READ_ONCE(dp->rs_flags_want);
	struct prbd_px_hardstate hs = dp->hs_disk;
	struct prbd_px_status st;
	int err;

	if (applied > dp->applied_disk || flags != dp->rs_flags_disk ||
	    ((flags & PRBD_DISK_ACC_F_INCONSISTENT) &&
	     READ_ONCE(dp->rs_cursor) != dp->rs_cursor_disk)) {
		/*
		 * The map covers what is applied before the record says so.
		 * Both writes preflush: the applied data is stable before
		 * either, no separate flush needed.
		 */
		/*
		 * With the applied index goes the configuration in effect:
		 * a configuration entry at or below it leaves the log, and
		 * the acceptor state is otherwise written only when a batch
		 * carries a new promise or configuration, which may not have
		 * happened yet (see prbd_merge_hs()).
		 */
		spin_lock(&dp->px_lock);
		prbd_px_status(dp->px, &st);
		spin_unlock(&dp->px_lock);
		if (st.cfg_slot > hs.cfg_slot) {
			hs.cfg_slot = st.cfg_slot;
			hs.voters = st.voters;
			hs.learners = st.learners;
		}
		hs.commit = max(hs.commit, applied);
		err = prbd_map_flush(dp, applied);
		if (!err)
			err = prbd_write_hs(dp, &hs, applied, flags);
		if (err) {
			pr_err("%s: checkpoint failed: %d\n", dp->res->name,
			       err);
			prbd_dp_io_error(dp, err, "checkpoint");
			return;
		}
		dp->ckpt_at = jiffies;
		WRITE_ONCE(dp->ckpt_now, false);
	}
	keep = READ_ONCE(dp->log_starved) ? 0 : dp->log.ring_size / 2;
	freed = prbd_log_release(dp, prbd_release_bound(dp), keep);
	if (freed) {
		prbd_log_forget(dp, freed);
		prbd_hist_forget(dp, freed);
		prbd_pl_evict(dp, 0, true);	/* payloads of truncated slots */
	}
	WRITE_ONCE(dp->log_starved, false);
	prbd_dp_kick(dp);	/* proposals waiting for log space */
}

static void prbd_checkpoint(struct prbd_dp *dp)
{
	mutex_lock(&dp->hs_mutex);
	__prbd_checkpoint(dp);
	mutex_unlock(&dp->hs_mutex);
}

/*
 * A batch's hard state is a snapshot from when it was issued; a checkpoint
 * since may have written a newer configuration (or a promise): never go
 * back to an older one.
 */
static void prbd_merge_hs(struct prbd_px_hardstate *hs,
			  const struct prbd_px_hardstate *disk)
{
	if (disk->cfg_slot > hs->cfg_slot) {
		hs->cfg_slot = disk->cfg_slot;
		hs->voters = disk->voters;
		hs->learners = disk->learners;
	}
	hs->promised = max(hs->promised, disk->promised);
	hs->commit = max(hs->commit, disk->commit);
}

/*
 * Does the batch need the hard state written?  Only for a new promise or
 * configuration (see "Durability rule" in paxos/prbd_paxos.c): the commit
 * index and chosen flags are volatile, re-learned after a restart, so a
 * write costs one log append (FUA) on each node and nothing more.  Commit
 * goes to disk whenever the record is written anyway, and the checkpoint
 * records the applied index once the data area is flushed.
 */
static bool prbd_batch_needs_hs(struct prbd_dp *dp, const struct prbd_batch *b)
{
	return prbd_hs_changed(&b->hs, &dp->hs_disk);
}

/* Checkpoints (and the resync's requests for one). */
static void prbd_persist_work(struct work_struct *work)
{
	struct prbd_dp *dp = container_of(work, struct prbd_dp, persist_work);
	unsigned int noio = memalloc_noio_save();

	if (prbd_want_checkpoint(dp))
		prbd_checkpoint(dp);
	memalloc_noio_restore(noio);
}

/*
 * Write one persist batch: its records (FUA), then the acceptor state if
 * it carries a new promise or configuration (the core issues such a batch
 * alone).  Several batch works run at once; each marks its batch done and
 * the core hears of the oldest done batches in token order, so a batch
 * that lands early waits for the older ones (prbd_px_persisted()).
 */
static void prbd_batch_work(struct work_struct *work)
{
	struct prbd_batch *b = container_of(work, struct prbd_batch, work);
	struct prbd_dp *dp = b->dp;
	unsigned int noio = memalloc_noio_save();
	struct prbd_batch *o;
	unsigned long ask_at = 0;	/* jiffies: ask for missing payloads */
	int err;

	if (READ_ONCE(dp->failed))
		goto detached;
	/* down: never persisted (nor reported) */
	if (READ_ONCE(dp->stopping))
		goto out;
	trace_prbd_log_submit(prbd_dp_minor(dp), b->token, b->n_ents);
	for (;;) {
		int gen = atomic_read(&dp->pl_gen);

		err = prbd_log_write_batch(dp, b);
		if (err != -ENOSPC && err != -ENOENT && !prbd_io_transient(err))
			break;
		/*
		 * Log full: the checkpoint frees what is applied.  Payload
		 * missing: a relayed one (prbd_repl_plan()) may come after
		 * the accept that names it, so wait for the next payload to
		 * arrive; if it is still missing after PRBD_PL_ASK_MS (this
		 * node dropped its DATA frame, or the relay did not reach
		 * it), ask the leader for it again, then every 200 ms
		 * (prbd_repl_want_payloads()).  No memory: wait.  Then try
		 * again (records already written are skipped), unless down
		 * stops the data path: the batch is never persisted (nor
		 * reported).
		 */
		if (err == -ENOSPC) {
			/* a lagging member may hold the log: not for long */
			spin_lock(&dp->px_lock);
			prbd_px_log_full(dp->px);
			spin_unlock(&dp->px_lock);
			WRITE_ONCE(dp->log_starved, true);
			queue_work(dp->pwq, &dp->persist_work);
		} else if (err == -ENOENT) {
			if (!ask_at) {
				ask_at = jiffies + msecs_to_jiffies(PRBD_PL_ASK_MS);
			} else if (time_after_eq(jiffies, ask_at)) {
				pr_warn_ratelimited("%s: payload of a value to log not here yet\n",
						    dp->res->name);
				prbd_repl_want_payloads(dp, b);
				ask_at = jiffies + msecs_to_jiffies(200);
			}
		}
		if (READ_ONCE(dp->stopping))
			goto out;
		if (err == -ENOENT)	/* until the next payload arrives */
			wait_event_timeout(dp->pl_wq,
					   atomic_read(&dp->pl_gen) != gen ||
					   READ_ONCE(dp->stopping),
					   msecs_to_jiffies(20));
		else
			msleep(20);
	}
	if (!err) {
		mutex_lock(&dp->hs_mutex);
		while (prbd_batch_needs_hs(dp, b)) {
			struct prbd_px_hardstate hs = b->hs;

			prbd_merge_hs(&hs, &dp->hs_disk);
			err = prbd_write_hs(dp, &hs, dp->applied_disk,
					    dp->rs_flags_disk);
			if (!prbd_io_transient(err) || READ_ONCE(dp->stopping))
				break;
			msleep(20);	/* no memory: write it again */
		}
		mutex_unlock(&dp->hs_mutex);
	}
	trace_prbd_log_durable(prbd_dp_minor(dp), b->token, err);
	if (err) {
		/* not durable: never reported (a transient error too) */
		pr_err("%s: log write failed: %d; backing device failed\n",
		       dp->res->name, err);
		prbd_dp_io_error(dp, err, "log write");
		WRITE_ONCE(dp->failed, true);
		goto detached;
	}
	spin_lock(&dp->px_lock);
	b->done = true;
	while (dp->b_n) {
		o = &dp->batches[dp->b_head];
		if (!o->done)
			break;
		prbd_px_persisted(dp->px, o->token);
		o->busy = false;
		o->done = false;
		dp->b_head = (dp->b_head + 1) % PRBD_DP_PERSIST_WINDOW;
		dp->b_n--;
	}
	spin_unlock(&dp->px_lock);
	prbd_dp_kick(dp);
	if (prbd_want_checkpoint(dp) && !READ_ONCE(dp->failed))
		queue_work(dp->pwq, &dp->persist_work);
out:
	memalloc_noio_restore(noio);
	return;

detached:
	/*
	 * The batch is never written nor reported (the core keeps it in
	 * flight: a failed disk persists nothing more); its bios are done,
	 * so the drive work may now fail the requests it names.
	 */
	spin_lock(&dp->px_lock);
	b->dead = true;
	spin_unlock(&dp->px_lock);
	prbd_dp_kick(dp);
	memalloc_noio_restore(noio);
}

/* --- up / down / role ----------------------------------------------------- */

static void prbd_dp_free(struct prbd_dp *dp)
{
	prbd_repl_stop(dp);
	if (dp->lwq)
		destroy_workqueue(dp->lwq);
	if (dp->pwq)
		destroy_workqueue(dp->pwq);
	if (dp->wq)
		destroy_workqueue(dp->wq);
	prbd_log_unload(dp);
	prbd_hist_destroy(dp);
	prbd_rs_destroy(dp);
	prbd_verify_destroy(dp);
	prbd_map_free(dp);
	kvfree(dp->hmsg);
	kvfree(dp->batches);
	kvfree(dp->px);
	kfree(dp->cmds);
	prbd_dp_pools_exit(dp);
	kfree(dp);
}

int prbd_dp_up(struct prbd_resource *res, struct netlink_ext_ack *extack)
{
	struct prbd_md *md = &res->backing->md;
	struct prbd_acceptor_state st;
	struct prbd_px_hardstate hs = {};
	struct prbd_px_config cfg = {};
	struct prbd_peer *peer;
	struct prbd_dp *dp;
	u32 i;
	int err;

	if (res->node_id >= PRBD_PX_MAX_NODES) {
		NL_SET_ERR_MSG_MOD(extack, "node id too large for the Paxos core (max 15)");
		return -EINVAL;
	}
	/*
	 * Without a secret the handshake authenticates nothing: anyone who
	 * reaches the port could join the group.  Only if asked for.
	 */
	if (!list_empty(&res->peers) && !res->secret_len &&
	    !res->allow_no_secret) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a group of several nodes needs a secret (or allow-no-secret)");
		return -EINVAL;
	}
	dp = kzalloc(sizeof(*dp), GFP_KERNEL);
	if (!dp)
		return -ENOMEM;
	dp->res = res;
	dp->bdev = res->backing->bd.bdev;
	dp->data_sect = md->data_offset >> SECTOR_SHIFT;
	dp->data_size = md->data_size;
	dp->block_size = md->block_size;
	memcpy(dp->disk_uuid, md->sb.disk_uuid, sizeof(dp->disk_uuid));
	dp->log.ring_off = le64_to_cpu(md->sb.log_offset) + PRBD_DISK_BLOCK;
	dp->log.ring_size = le64_to_cpu(md->sb.log_size) - PRBD_DISK_BLOCK;
	INIT_LIST_HEAD(&dp->log.exts);
	spin_lock_init(&dp->log.lock);
	xa_init(&dp->log_locs);
	xa_init(&dp->hist);
	spin_lock_init(&dp->px_lock);
	INIT_LIST_HEAD(&dp->incoming);
	INIT_LIST_HEAD(&dp->reads);
	INIT_LIST_HEAD(&dp->applies);
	init_llist_head(&dp->applies_done);
	INIT_WORK(&dp->drive_work, prbd_drive_work);
	INIT_WORK(&dp->persist_work, prbd_persist_work);
	mutex_init(&dp->hs_mutex);
	INIT_DELAYED_WORK(&dp->tick_work, prbd_tick_work);
	atomic_set(&dp->open_rw, 0);
	atomic64_set(&dp->next_id, get_random_u64() & GENMASK_ULL(39, 0));
	dp->ckpt_at = jiffies;

	err = -ENOMEM;
	dp->px = kvzalloc(sizeof(*dp->px), GFP_KERNEL);
	dp->batches = kvcalloc(PRBD_DP_PERSIST_WINDOW, sizeof(*dp->batches),
			       GFP_KERNEL);
	dp->hmsg = kvzalloc(sizeof(*dp->hmsg), GFP_KERNEL);
	dp->cmds = kcalloc(PRBD_DP_QUEUE_DEPTH, sizeof(*dp->cmds), GFP_KERNEL);
	if (!dp->px || !dp->batches || !dp->cmds || !dp->hmsg ||
	    prbd_dp_pools_init(dp))
		goto out_free;
	for (i = 0; i < PRBD_DP_PERSIST_WINDOW; i++) {
		dp->batches[i].dp = dp;
		INIT_WORK(&dp->batches[i].work, prbd_batch_work);
	}

	cfg.id = res->node_id;
	/* a node with role none waits, outside the group, to be added */
	if (res->self_role == PRBD_MEMBER_ROLE_VOTER)
		cfg.voters = BIT(res->node_id);
	else if (res->self_role == PRBD_MEMBER_ROLE_LEARNER)
		cfg.learners = BIT(res->node_id);
	list_for_each_entry(peer, &res->peers, list) {
		if (peer->node_id >= PRBD_PX_MAX_NODES)
			continue;
		if (peer->mrole == PRBD_MEMBER_ROLE_VOTER)
			cfg.voters |= BIT(peer->node_id);
		else if (peer->mrole == PRBD_MEMBER_ROLE_LEARNER)
			cfg.learners |= BIT(peer->node_id);
	}
	if (!cfg.voters) {
		NL_SET_ERR_MSG_MOD(extack, "the resource file names no voter");
		err = -EINVAL;
		goto out_free;
	}
	cfg.hb_ms = PRBD_DP_HB_MS;
	cfg.elect_ms = PRBD_DP_ELECT_MS;
	cfg.drift_ppm = PRBD_DP_DRIFT_PPM;
	cfg.window = PRBD_PX_WINDOW_MAX;
	cfg.persist_window = clamp(READ_ONCE(prbd_persist_window), 1U,
				   (unsigned int)PRBD_DP_PERSIST_WINDOW);
	cfg.max_inflight_bytes = 8 << 20;
	cfg.seed = get_random_u64();
	prbd_px_init(dp->px, &cfg);

	prbd_md_get_acceptor(md, &st);
	hs.promised = st.promised_ballot;
	hs.commit = st.commit_index;
	hs.log_start = st.applied_index + 1;
	hs.cfg_slot = st.config_epoch;
	hs.voters = cfg.voters;
	hs.learners = cfg.learners;
	if (st.nr_members) {
		hs.voters = 0;
		hs.learners = 0;
		for (i = 0; i < st.nr_members; i++) {
			if (st.members[i].node_id >= PRBD_PX_MAX_NODES)
				continue;
			if (st.members[i].flags & PRBD_DISK_MEMBER_LEARNER)
				hs.learners |= BIT(st.members[i].node_id);
			else
				hs.voters |= BIT(st.members[i].node_id);
		}
	}
	dp->hs_disk = hs;
	dp->applied_disk = st.applied_index;
	err = prbd_rs_init(dp, &st);
	if (err)
		goto out_free;
	err = prbd_map_load(dp);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot read the slot map");
		goto out_free;
	}
	err = prbd_log_load(dp, &hs);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot read or replay the log area");
		goto out_free;
	}
	if (dp->applied > dp->applied_disk) {
		err = prbd_write_hs(dp, &hs, dp->applied, dp->rs_flags_disk);
		if (err) {
			NL_SET_ERR_MSG_MOD(extack, "cannot write the acceptor state");
			goto out_free;
		}
	}
	if (dp->rs_inconsistent)
		prbd_px_set_novote(dp->px, true);	/* until the resync ends */
	/*
	 * A disk never used (fresh create-md) may be a wiped one that forgot
	 * what it promised and accepted: it promises nothing to a candidate
	 * that knows of chosen slots until it installed a resync or followed
	 * a leader for a while (prbd_px_set_nopromise()).
	 */
	/* a lone voter has nobody to protect: its data is all there is */
	dp->amnesiac = hweight16(hs.voters) > 1 &&
		       ((st.flags & PRBD_DISK_ACC_F_AMNESIAC) ||
			(!st.applied_index && !st.commit_index &&
			 !st.promised_ballot));
	if (dp->amnesiac)
		prbd_px_set_nopromise(dp->px, true);
	spin_lock(&res->lock);
	res->applied_index = dp->applied;
	res->commit_index = max(hs.commit, dp->applied);
	if (dp->rs_inconsistent)
		res->disk_state = PRBD_DISK_STATE_INCONSISTENT;
	spin_unlock(&res->lock);

	err = -ENOMEM;
	dp->wq = alloc_ordered_workqueue("prbd_%s", WQ_MEM_RECLAIM, res->name);
	dp->pwq = alloc_ordered_workqueue("prbd_%s_ckpt", WQ_MEM_RECLAIM,
					  res->name);
	dp->lwq = alloc_workqueue("prbd_%s_log", WQ_MEM_RECLAIM | WQ_UNBOUND,
				  PRBD_DP_PERSIST_WINDOW, res->name);
	if (!dp->wq || !dp->pwq || !dp->lwq)
		goto out_free;

	err = prbd_repl_start(dp);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot start replication (listen address?)");
		goto out_free;
	}

	err = prbd_dev_create(dp, res->dev.minor);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot create the block device");
		goto out_free;
	}
	res->dp = dp;
	res->dev.disk = dp->disk;
	/* the module stays loaded while a device exists */
	__module_get(THIS_MODULE);
	queue_delayed_work(dp->wq, &dp->tick_work, 0);
	return 0;

out_free:
	prbd_dp_free(dp);
	return err;
}

/*
 * Let the I/O in flight finish while replication still runs (it can still
 * be chosen), for at most PRBD_DP_DRAIN_MS: without quorum it may wait
 * for ever, and prbd_dp_fail_rest() fails it after replication stopped.
 * Nobody has the device open (prbd_dp_down() checked), so no new I/O comes.
 */
static void prbd_dp_drain(struct prbd_dp *dp)
{
	struct request_queue *q = dp->disk->queue;

	blk_freeze_queue_start(q);
	if (!blk_mq_freeze_queue_wait_timeout(q,
					      msecs_to_jiffies(PRBD_DP_DRAIN_MS)))
		pr_warn("%s: down: I/O still in flight after %u ms: failing it\n",
			dp->res->name, PRBD_DP_DRAIN_MS);
	blk_mq_unfreeze_queue(q);
}

/*
 * Replication stopped, the works are idle and no apply runs: writes still
 * queued or proposed can no longer be chosen, reads waiting for the lease
 * never get it.  Fail them all, so del_gendisk() has nothing to wait for.
 */
static void prbd_dp_fail_rest(struct prbd_dp *dp)
{
	struct prbd_io *cmd, *tmp;
	LIST_HEAD(failed);
	u32 tag;

	spin_lock(&dp->px_lock);
	dp->role = PRBD_PX_FOLLOWER;
	list_splice_tail_init(&dp->incoming, &failed);
	list_splice_tail_init(&dp->reads, &failed);
	for (tag = 0; tag < dp->tag_set.queue_depth; tag++) {
		cmd = dp->cmds[tag];
		if (!cmd)
			continue;
		dp->cmds[tag] = NULL;
		list_add_tail(&cmd->list, &failed);
	}
	dp->n_doubt = 0;
	spin_unlock(&dp->px_lock);
	list_for_each_entry_safe(cmd, tmp, &failed, list) {
		list_del_init(&cmd->list);
		prbd_io_end(cmd, BLK_STS_IOERR);
	}
}

int prbd_dp_down(struct prbd_resource *res, struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;
	struct prbd_io *cmd, *tmp;
	unsigned int openers;

	if (!dp)
		return 0;
	/*
	 * Never while open: the device (and dp) would go away under its
	 * openers, and their writes could no longer be chosen.  From here
	 * on an open fails (prbd_dp_open()).
	 */
	spin_lock(&dp->px_lock);
	openers = dp->openers;
	if (!openers)
		dp->closed = true;
	spin_unlock(&dp->px_lock);
	if (openers) {
		NL_SET_ERR_MSG_MOD(extack, "the device is open; close it first");
		return -EBUSY;
	}
	prbd_dp_drain(dp);
	prbd_repl_stop(dp);	/* no message arrives after this */
	/* writes still queued can no longer be proposed */
	spin_lock(&dp->px_lock);
	dp->role = PRBD_PX_FOLLOWER;
	list_for_each_entry_safe(cmd, tmp, &dp->incoming, list) {
		list_del_init(&cmd->list);
		prbd_io_end(cmd, BLK_STS_IOERR);
	}
	spin_unlock(&dp->px_lock);
	WRITE_ONCE(dp->stopping, true);
	cancel_delayed_work_sync(&dp->tick_work);
	flush_workqueue(dp->wq);
	flush_workqueue(dp->lwq);
	flush_workqueue(dp->pwq);
	/*
	 * Applies (a follower's, or discards) may still be writing the data
	 * area: their completions touch dp and kick the drive work, which
	 * reaps them.  Wait for the last one.
	 */
	while (!list_empty(&dp->applies) || !llist_empty(&dp->applies_done) ||
	       prbd_rs_busy(dp)) {
		prbd_dp_kick(dp);
		flush_workqueue(dp->wq);
		if (!list_empty(&dp->applies) || prbd_rs_busy(dp))
			msleep(20);
	}
	/* a batch work kicks the drive work, which may issue one more */
	flush_workqueue(dp->lwq);
	flush_workqueue(dp->wq);
	flush_workqueue(dp->lwq);
	flush_workqueue(dp->pwq);
	/* what the applies did not complete never will */
	prbd_dp_fail_rest(dp);
	prbd_dev_destroy(dp);
	if (!READ_ONCE(dp->failed))	/* nothing more goes to a failed disk */
		prbd_checkpoint(dp);
	res->dp = NULL;
	res->dev.disk = NULL;
	prbd_dp_free(dp);
	module_put(THIS_MODULE);
	return 0;
}

int prbd_dp_set_role(struct prbd_resource *res, enum prbd_role role,
		     bool force, struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;
	int err;

	if (!dp) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down");
		return -ENOTCONN;
	}
	if (role == PRBD_ROLE_SECONDARY) {
		spin_lock(&dp->px_lock);
		if (atomic_read(&dp->open_rw)) {
			spin_unlock(&dp->px_lock);
			NL_SET_ERR_MSG_MOD(extack,
					   "the device is open read-write (auto-promoted); close it first");
			return -EBUSY;
		}
		dp->primary = false;
		dp->auto_primary = false;
		spin_unlock(&dp->px_lock);
		return 0;
	}
	/* primary: this node must lead the group */
	if (READ_ONCE(dp->rs_inconsistent)) {
		NL_SET_ERR_MSG_MOD(extack, "disk is inconsistent: a resync into it runs");
		return -EAGAIN;
	}
	err = prbd_dp_wait_leader(dp, true);
	if (!err) {
		spin_lock(&dp->px_lock);
		dp->auto_primary = false;	/* explicit: stays after close */
		spin_unlock(&dp->px_lock);
		return 0;
	}
	if (err == -EBUSY)
		NL_SET_ERR_MSG_MOD(extack, "another node is primary; make it secondary first");
	else
		NL_SET_ERR_MSG_MOD(extack, "this node is not the Paxos leader (no quorum?)");
	return err;
}

/**
 * prbd_rs_installed() - the core installed @slot: the data path follows
 * @dp: the data path
 * @slot: the slot a resync source had applied
 *
 * Context: drive work.  Every slot up to @slot counts as applied: the
 * resync copies what they wrote.
 */
void prbd_rs_installed(struct prbd_dp *dp, u64 slot)
{
	struct prbd_px_status st;

	spin_lock(&dp->px_lock);
	prbd_px_status(dp->px, &st);
	spin_unlock(&dp->px_lock);
	if (st.applied <= dp->applied)
		return;	/* nothing installed: we were ahead already */
	dp->applied = st.applied;
	dp->apply_next = max(dp->apply_next, st.applied + 1);
	dp->apply_hi = max(dp->apply_hi, st.applied);
	spin_lock(&dp->res->lock);
	dp->res->applied_index = dp->applied;
	spin_unlock(&dp->res->lock);
	prbd_pl_evict(dp, 0, true);	/* payloads of the slots skipped */
}

/**
 * prbd_dp_pl_needed() - the ids whose payloads the cache must keep
 * @dp: the data path
 * @ids: room for PRBD_PL_IDS_MAX ids
 *
 * This node's writes queued or proposed, and every write an entry of the
 * core's log or of a persist batch in flight names (accepted, being logged, or
 * chosen and not applied yet).  See prbd_pl_evict().
 *
 * Context: px_lock held.
 * Return: the number of ids in @ids.
 */
u32 prbd_dp_pl_needed(struct prbd_dp *dp, u64 *ids)
{
	const struct prbd_px_entry *e;
	struct prbd_px_status st;
	struct prbd_batch *b;
	struct prbd_io *cmd;
	u32 n = 0, i, j, k;
	u64 slot;

	list_for_each_entry(cmd, &dp->incoming, list)
		if (n < PRBD_DP_QUEUE_DEPTH)
			ids[n++] = cmd->id;
	for (i = 0; i < dp->tag_set.queue_depth; i++)
		if (dp->cmds[i] && n < PRBD_DP_QUEUE_DEPTH)
			ids[n++] = dp->cmds[i]->id;
	prbd_px_status(dp->px, &st);
	for (slot = st.log_start; slot < st.log_start + PRBD_PX_LOG_CAP;
	     slot++) {
		e = prbd_px_entry_at(dp->px, slot);
		if (!e || e->slot != slot || e->kind != PRBD_PX_K_DATA)
			continue;
		for (j = 0; j < e->n_desc && j < PRBD_PX_BATCH; j++)
			ids[n++] = e->desc[j].id;
	}
	for (k = 0; k < dp->b_n; k++) {
		b = &dp->batches[(dp->b_head + k) % PRBD_DP_PERSIST_WINDOW];
		for (i = 0; i < b->n_ents; i++) {
			e = &b->ents[i];
			if (e->kind != PRBD_PX_K_DATA)
				continue;
			for (j = 0; j < e->n_desc && j < PRBD_PX_BATCH; j++)
				ids[n++] = e->desc[j].id;
		}
	}
	return n;
}

int prbd_dp_verify(struct prbd_resource *res, u64 start, u64 len,
		   struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;

	if (!dp) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down");
		return -ENOTCONN;
	}
	return prbd_verify_start(dp, start, len, extack);
}

int prbd_dp_resync(struct prbd_resource *res, u32 peer, u64 start,
		   u64 len, struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;

	if (!dp) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down");
		return -ENOTCONN;
	}
	return prbd_rs_repair(dp, peer, start, len, extack);
}
