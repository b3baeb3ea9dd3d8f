// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: driving the Paxos core - feeds the sans-I/O Multi-Paxos core
 * (paxos/prbd_paxos.c) of one resource its inputs and acts on its output:
 * proposes the device's writes, hands persist batches to the persist
 * works (prbd_persist.c), applies chosen slots to the data area in slot
 * order, completes requests, grants reads; tracks leadership, quorum and
 * writes in doubt.
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
 *
 * Threads and locks: see prbd_dp.h.  The drive work (dp->drive_work, also
 * run by the tick) is the only caller of prbd_px_ready(); dp->px_lock
 * protects the core and the request lists, res->lock nests inside it.
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
#include "prbd_trace_helpers.h"
#include "prbd_transport.h"

#define PRBD_ID_NODE_SHIFT	56
#define PRBD_ID_TAG_MASK	0xffULL
static_assert(PRBD_DP_QUEUE_DEPTH - 1 <= PRBD_ID_TAG_MASK);

static u64 prbd_now_ms(void)
{
	return jiffies64_to_msecs(get_jiffies_64());
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
 * prbd_dp_queue_flush() - durability = flush: a flush request
 * @dp: the data path (dp->flush_mode)
 * @cmd: an empty flush (REQ_OP_FLUSH, or an empty write with REQ_PREFLUSH
 *	 or REQ_FUA)
 *
 * It must make every write completed before it durable on a majority: the
 * drive work takes a barrier once this node leads (prbd_take_barriers()),
 * which covers every slot proposed by then, so every completed write; the
 * request completes when the barrier does (prbd_end_barriers()).  A node
 * that neither leads nor is primary wrote nothing through this device:
 * nothing of its own to make durable, it completes at once.
 */
void prbd_dp_queue_flush(struct prbd_dp *dp, struct prbd_io *cmd)
{
	bool now;

	if (READ_ONCE(dp->failed)) {
		prbd_io_end(cmd, BLK_STS_IOERR);
		return;
	}
	cmd->bar_id = 0;
	spin_lock(&dp->px_lock);
	now = !dp->primary && dp->role != PRBD_PX_LEADER;
	if (!now)
		list_add_tail(&cmd->list, &dp->flushes);
	spin_unlock(&dp->px_lock);
	if (now)
		prbd_io_end(cmd, BLK_STS_OK);
	else
		prbd_dp_kick(dp);
}

/*
 * A write is chosen and its apply started (or done): complete it.  In
 * durability = flush a write with REQ_FUA must also be durable on a
 * majority: it waits for a barrier taken after it was chosen, so one that
 * covers its slot (prbd_take_barriers()).  Its id is cleared: the request
 * no longer names a proposal (dp->cmds[] was cleared), and a failure must
 * not drop the payload an apply or a peer may still need.
 */
static void prbd_write_done(struct prbd_dp *dp, struct prbd_io *cmd,
			    blk_status_t status)
{
	if (!status && dp->flush_mode &&
	    (cmd->rq->cmd_flags & (REQ_FUA | REQ_PREFLUSH))) {
		cmd->id = 0;
		cmd->bar_id = 0;
		spin_lock(&dp->px_lock);
		list_add_tail(&cmd->list, &dp->flushes);
		spin_unlock(&dp->px_lock);
		prbd_dp_kick(dp);
		return;
	}
	prbd_io_end(cmd, status);
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
int prbd_dp_wait_leader(struct prbd_dp *dp, bool make_primary)
{
	/* a new node first keeps silent for about five election timeouts */
	unsigned long until = jiffies +
		msecs_to_jiffies((READ_ONCE(dp->amnesiac) ? 12 : 3) *
				 PRBD_DP_ELECT_MS);
	unsigned long asked = jiffies;
	u8 prole, refused;

	/* a removed node never leads (prbd_member.c): it serves nothing */
	if (READ_ONCE(dp->res->removed_at))
		return -EPERM;
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
static void prbd_dp_xfer_refused(struct prbd_dp *dp, u8 node)
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
	/* flushes too (their ids are 0: no payload dropped) */
	list_splice_tail_init(&dp->flushes, failed);
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

/*
 * durability = flush: report the device flushes done to the core, and
 * take a barrier for each flush (or chosen FUA write) waiting for one,
 * oldest first.  A barrier taken now covers every slot proposed so far,
 * so every write completed before the flush arrived, and a FUA write's
 * own slot (it is queued here only once chosen).  Not leading, or the
 * core busy (phase 1 not over): like a proposal, they wait for the next
 * run (prbd_apply_policy() fails them when I/O must fail).  Context:
 * px_lock held.
 */
static void prbd_take_barriers(struct prbd_dp *dp)
{
	struct prbd_io *cmd;
	u64 id;

	if (!dp->flush_mode)
		return;
	if (dp->fl_done > dp->fl_told) {
		dp->fl_told = dp->fl_done;
		prbd_px_flushed(dp->px, dp->fl_done);
	}
	list_for_each_entry(cmd, &dp->flushes, list) {
		if (cmd->bar_id)
			continue;
		if (dp->role != PRBD_PX_LEADER ||
		    prbd_px_barrier(dp->px, &id))
			return;
		cmd->bar_id = id;
	}
}

/*
 * Flushes whose barrier completed move to @done; those whose barrier the
 * core dropped (this node stopped leading before it completed) to
 * @failed.  They fail rather than take a new barrier: the next leader may
 * come from a lossy election (a majority restarted uncleanly), which may
 * have dropped writes the flush covered, and a barrier taken then would
 * complete without them, hiding the loss.  Retrying would be safe only
 * within one epoch, which this node cannot tell yet (the epochs are not
 * on the wire).  Context: px_lock held.
 */
static void prbd_end_barriers(struct prbd_dp *dp, struct list_head *done,
			      struct list_head *failed)
{
	struct prbd_io *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, &dp->flushes, list) {
		if (!cmd->bar_id)
			continue;
		if (cmd->bar_id <= dp->bar_done)
			list_move_tail(&cmd->list, done);
		else if (cmd->bar_id <= dp->bar_dropped)
			list_move_tail(&cmd->list, failed);
	}
}

/*
 * durability = flush: the commit hint a batch's records carry (see
 * prbd_flush_begin()).  A restart replays its log up to the newest hint it
 * finds and restores the accepted values of the next PRBD_PX_LOG_CAP slots
 * only: an acceptor must never forget one, so a record may not lag its own
 * slot by that much.  A batch whose slots run half a ring ahead of the safe
 * hint goes with PREFLUSH instead, and carries the core's hint in full: it
 * covers values of batches already reported durable, i.e. completed
 * writes, which the preflush makes durable before the records (the
 * simulator's campaign found a node forgetting accepts without this rule).
 * Context: px_lock held.
 */
static void prbd_batch_hint(struct prbd_dp *dp, struct prbd_batch *b,
			    const struct prbd_px_ready *rd)
{
	u64 hi = 0;
	u32 i;

	for (i = 0; i < rd->n_ents; i++)
		hi = max(hi, rd->ents[i].slot);
	WRITE_ONCE(dp->hint_issued, max(dp->hint_issued, rd->commit_hint));
	b->preflush = hi >= dp->safe_hint + PRBD_PX_LOG_CAP / 2;
	if (!b->preflush)
		b->commit_hint = min(rd->commit_hint, dp->safe_hint);
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
	dp->bar_done = rd.barrier_done;
	dp->bar_dropped = rd.barrier_dropped;
	if (rd.flush_token) {
		dp->fl_want = max(dp->fl_want, rd.flush_token);
		queue_work(dp->lwq, &dp->flush_work);
	}
	prbd_track_leadership(dp, &rd);
	if (rd.persist_token) {
		/* the core issues at most PRBD_DP_PERSIST_WINDOW at once */
		b = &dp->batches[(dp->b_head + dp->b_n) %
				 PRBD_DP_PERSIST_WINDOW];
		WARN_ON_ONCE(b->busy || dp->b_n >= PRBD_DP_PERSIST_WINDOW);
		b->token = rd.persist_token;
		dp->tok_issued = rd.persist_token;
		b->commit_hint = rd.commit_hint;
		b->preflush = false;
		if (dp->flush_mode)
			prbd_batch_hint(dp, b, &rd);
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
	dp->reset_epoch = rd.needs_resync ? rd.reset_epoch : 0;
	dp->reset_rank = rd.needs_resync ? rd.reset_rank : 0;
	dp->px_epoch = rd.hs.epoch;

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
	a->pl = prbd_log_payload(dp, a->slot, id, a->csum);
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
	prbd_write_done(dp, cmd, BLK_STS_OK);
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
		prbd_catchup_add(dp, &e);
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
			prbd_write_done(dp, a->cmd, a->err ? BLK_STS_IOERR :
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

static void prbd_complete_flushes(struct prbd_dp *dp, struct list_head *done)
{
	struct prbd_io *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, done, list) {
		list_del_init(&cmd->list);
		dp->bar_completed++;
		prbd_io_end(cmd, BLK_STS_OK);
	}
}

void prbd_drive_work(struct work_struct *work)
{
	struct prbd_dp *dp = container_of(work, struct prbd_dp, drive_work);
	unsigned int noio = memalloc_noio_save();
	LIST_HEAD(failed);
	LIST_HEAD(flushed);

	prbd_detach_failed(dp);
	prbd_reap_applies(dp);
	spin_lock(&dp->px_lock);
	if (!prbd_member_step(dp))
		prbd_propose_writes(dp);
	prbd_take_barriers(dp);
	prbd_take_ready(dp);
	prbd_end_barriers(dp, &flushed, &failed);
	prbd_apply_policy(dp, &failed);
	spin_unlock(&dp->px_lock);
	prbd_complete_flushes(dp, &flushed);
	prbd_fail_ios(dp, &failed);
	prbd_member_send(dp);
	prbd_dp_kick_reclaim(dp);
	if (dp->n_out) {
		prbd_repl_send(dp, dp->out, dp->n_out);
		dp->n_out = 0;
	}
	prbd_catchup_serve(dp);
	prbd_start_applies(dp);
	prbd_rs_drive(dp);
	prbd_pread_drive(dp);
	prbd_verify_drive(dp);
	prbd_reap_applies(dp);
	prbd_member_notice(dp);
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

void prbd_tick_work(struct work_struct *work)
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

/*
 * "Make me the leader": granted unless this node is primary (it holds the
 * device, or was made primary explicitly); then the asker is told so.
 */
static int prbd_drive_recv_xfer(struct prbd_dp *dp,
				const struct prbd_tr_rx *rx)
{
	const struct prbd_wire_xfer *x = rx->hdr;
	struct prbd_wire_xfer r = { .target = x->target,
				    .flags = PRBD_XFER_F_REFUSED };
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	bool primary;
	int err;

	if (x->flags & ~PRBD_XFER_F_REFUSED || memchr_inv(x->pad, 0,
							  sizeof(x->pad)))
		return -EINVAL;
	if (x->flags & PRBD_XFER_F_REFUSED) {
		if (x->target == dp->res->node_id)
			prbd_dp_xfer_refused(dp, rx->from);
		return 0;
	}
	if (x->target != rx->from)
		return -EINVAL;
	spin_lock(&dp->px_lock);
	primary = dp->primary;
	err = primary ? 0 : prbd_px_transfer(dp->px, x->target);
	spin_unlock(&dp->px_lock);
	if (primary) {
		pr_info_ratelimited("%s: node %u asked for leadership: refused, this node is primary\n",
				    dp->res->name, rx->from);
		if (tr)
			prbd_tr_send(tr, rx->from, PRBD_MSG_XFER, &r,
				     sizeof(r), NULL, 0, 0, NULL, NULL);
		return 0;
	}
	prbd_dp_kick(dp);
	if (!err)
		pr_info("%s: leadership transfer to node %u requested\n",
			dp->res->name, x->target);
	return 0;
}

/*
 * A frame from a peer (the transport's receive work): core messages are
 * stepped into the core here; payloads and the other parts' frames go to
 * their owners.
 */
static void prbd_drive_recv(void *ctx, const struct prbd_tr_rx *rx)
{
	struct prbd_dp *dp = ctx;
	struct prbd_px_msg *m = dp->rmsg;
	int err = -EINVAL;

	/* only payloads are relayed (prbd_tr_send_relay()) */
	if (rx->origin != rx->from && rx->type != PRBD_MSG_DATA) {
		pr_warn_ratelimited("%s: message type %u of node %u relayed by node %u: refused\n",
				    dp->res->name, rx->type, rx->origin,
				    rx->from);
		return;
	}
	switch (rx->type) {
	case PRBD_MSG_DATA:
		err = prbd_repl_recv_data(dp, rx);
		break;
	case PRBD_MSG_PAXOS:
		/* rmsg is only used here; the transport runs one recv at a time */
		mutex_lock(&dp->rmsg_lock);
		err = prbd_repl_decode(dp, rx, m);
		if (!err) {
			/* what a reset picks its source by */
			WRITE_ONCE(dp->rpeer[rx->from].epoch, m->epoch);
			WRITE_ONCE(dp->rpeer[rx->from].erank, m->erank);
			WRITE_ONCE(dp->rpeer[rx->from].epoch_at, jiffies);
		}
		if (!err && !prbd_catchup_want(dp, m)) {
			prbd_trace_msg_in(dp, m);
			spin_lock(&dp->px_lock);
			prbd_member_heard(dp, m);
			prbd_px_step(dp->px, m);
			spin_unlock(&dp->px_lock);
		}
		mutex_unlock(&dp->rmsg_lock);
		prbd_dp_kick(dp);
		break;
	case PRBD_MSG_XFER:
		if (rx->hdr_len == sizeof(struct prbd_wire_xfer))
			err = prbd_drive_recv_xfer(dp, rx);
		break;
	case PRBD_MSG_RS:
		err = prbd_rs_recv(dp, rx);
		break;
	case PRBD_MSG_MEMBER:
		err = prbd_member_recv(dp, rx);
		break;
	case PRBD_MSG_PLREQ:
		err = prbd_repl_recv_plreq(dp, rx);
		break;
	case PRBD_MSG_PREAD:
		err = prbd_pread_recv(dp, rx);
		break;
	case PRBD_MSG_PLGONE:
		err = prbd_repl_recv_plgone(dp, rx);
		break;
	}
	if (err)
		pr_warn_ratelimited("%s: bad message type %u from node %u: %d\n",
				    dp->res->name, rx->type, rx->from, err);
}

/* Received frames: passed to prbd_repl_start() */
const struct prbd_tr_ops prbd_drive_tr_ops = {
	.recv = prbd_drive_recv,
	.peer_state = prbd_repl_peer_state,
};
