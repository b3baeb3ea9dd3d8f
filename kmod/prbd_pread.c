// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: reads served by the leader - a node whose data area is not whole
 * (dp->rs_inconsistent: a resync or a learner's first copy is writing it)
 * cannot read its own copy; like DRBD reading from an up-to-date peer, it
 * asks the leader for the bytes over the replication transport
 * (PRBD_MSG_PREAD, struct prbd_wire_pread) and completes the request with
 * them.
 *
 * Asker (queue_rq, then the drive work and the transport's receive work):
 * prbd_pread_queue() gives the read a request id (as a write's, so the tag
 * finds it and the id proves it) and parks it in dp->pr_cmds; the drive
 * work sends a REQ to the node it believes leads, again when the leader
 * changes, its connection drops, it answers with an error, or it has not
 * answered for PRBD_PR_RESEND_MS.  A read not answered within
 * PRBD_PR_GIVEUP_MS of its queueing fails with EIO: with no reachable
 * leader it never waits longer (nothing stays in D state).  A reply is
 * taken only when it comes from the node last asked, which is still the
 * leader, for a read still waiting, with the same sector and length and,
 * when OK, a payload of exactly that length; anything else is refused and
 * changes nothing (a late copy of an answer already taken is dropped).
 *
 * Leader (transport, then drive work): a REQ is answered at once with
 * NOT_LEADER or INCONSISTENT when this node does not lead or is not whole;
 * otherwise queued and read like a local read of the primary: only while
 * the core grants local reads (lease held, everything committed applied,
 * prbd_px_may_read()) and when no apply overlapping it is in flight
 * (prbd_rs_io_try(), which also holds later overlapping applies back until
 * the read is done).  So the bytes include every write completed before
 * the REQ arrived, as a read on the primary would.  A REQ that cannot
 * start within PRBD_PR_SERVE_MS, or finds PRBD_PR_SERVE_MAX reads queued,
 * is answered BUSY and asked again.
 *
 * Locking: dp->pr_lock (spinlock, nests inside nothing) protects pr_cmds,
 * pr_n, the pr_* fields of a parked struct prbd_io, and pr_queue; the
 * rest belongs to the drive work.  Whoever removes a request from pr_cmds
 * completes it; nobody touches it after that.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_transport.h"
#include "prbd_wire.h"

#define PRBD_PR_RESEND_MS	5000	/* ask again after this long */
#define PRBD_PR_RETRY_MS	100	/* ... or this long after an error */
#define PRBD_PR_GIVEUP_MS	20000	/* fail the read with EIO */
#define PRBD_PR_SERVE_MS	5000	/* leader: answer BUSY after */
#define PRBD_PR_SERVE_MAX	64	/* leader: reads queued or in flight */

/* request ids: the layout of prbd_drive.c's write ids */
#define PRBD_PR_ID_NODE_SHIFT	56
#define PRBD_PR_ID_TAG_MASK	0xffULL

static_assert(sizeof(struct prbd_wire_pread) == 32);

/* --- asker ----------------------------------------------------------------- */

/**
 * prbd_pread_queue() - read from the leader: this node's copy is not whole
 * @dp: the data path
 * @cmd: the read
 *
 * Context: queue_rq.  The request completes later, with the leader's
 * bytes or an error; at once with EIO when there is nobody to ask (no
 * peers, the device is not yet added).
 */
void prbd_pread_queue(struct prbd_dp *dp, struct prbd_io *cmd)
{
	u32 tag = cmd->rq->tag;

	if (!blk_rq_bytes(cmd->rq)) {
		prbd_io_end(cmd, BLK_STS_OK);
		return;
	}
	if (!READ_ONCE(dp->tr) || !READ_ONCE(dp->disk) ||
	    READ_ONCE(dp->stopping) || tag >= PRBD_DP_QUEUE_DEPTH) {
		prbd_io_end(cmd, BLK_STS_IOERR);
		return;
	}
	cmd->id = (u64)dp->res->node_id << PRBD_PR_ID_NODE_SHIFT |
		  ((atomic64_inc_return(&dp->next_id) << 8) &
		   GENMASK_ULL(PRBD_PR_ID_NODE_SHIFT - 1, 8)) | tag;
	cmd->pr_to = 0;
	cmd->pr_tries = 0;
	cmd->pr_start = jiffies;
	cmd->pr_sent_at = jiffies;
	cmd->pr_retry_at = jiffies;
	spin_lock(&dp->pr_lock);
	WARN_ON_ONCE(dp->pr_cmds[tag]);
	dp->pr_cmds[tag] = cmd;
	dp->pr_n++;
	spin_unlock(&dp->pr_lock);
	prbd_dp_kick(dp);
}

/* what the drive work sends, taken under pr_lock */
struct prbd_pr_send {
	u64 id;
	u64 sector;
	u32 len;
	u32 tag;
};

static u8 prbd_pread_leader(struct prbd_dp *dp)
{
	u8 leader;

	spin_lock(&dp->px_lock);
	leader = dp->leader;
	spin_unlock(&dp->px_lock);
	return leader;
}

/* Send, resend, give up (drive work). */
static void prbd_pread_ask(struct prbd_dp *dp)
{
	struct prbd_pr_send *snd = NULL;
	struct prbd_wire_pread w = {};
	struct prbd_io *cmd, *tmp;
	u32 tag, n = 0, i, nfail = 0;
	LIST_HEAD(failed);
	unsigned long now = jiffies;
	u8 leader = prbd_pread_leader(dp);
	bool reach;

	if (!READ_ONCE(dp->pr_n))
		return;
	reach = leader && leader != dp->res->node_id &&
		leader < PRBD_PX_MAX_NODES && dp->rpeer[leader].up &&
		READ_ONCE(dp->tr);
	snd = kmalloc_array(PRBD_DP_QUEUE_DEPTH, sizeof(*snd), GFP_NOIO);
	spin_lock(&dp->pr_lock);
	for (tag = 0; tag < PRBD_DP_QUEUE_DEPTH; tag++) {
		cmd = dp->pr_cmds[tag];
		if (!cmd)
			continue;
		if (time_after(now, cmd->pr_start +
			       msecs_to_jiffies(PRBD_PR_GIVEUP_MS))) {
			dp->pr_cmds[tag] = NULL;
			dp->pr_n--;
			list_add_tail(&cmd->list, &failed);
			nfail++;
			continue;
		}
		if (cmd->pr_to && (cmd->pr_to != leader ||
				   !dp->rpeer[cmd->pr_to].up))
			cmd->pr_to = 0;	/* a new leader, or the link dropped */
		if (cmd->pr_to && time_after(now, cmd->pr_sent_at +
					     msecs_to_jiffies(PRBD_PR_RESEND_MS)))
			cmd->pr_to = 0;	/* no answer: ask again */
		if (cmd->pr_to || !reach || !snd ||
		    time_before(now, cmd->pr_retry_at))
			continue;
		cmd->pr_to = leader;
		cmd->pr_sent_at = now;
		cmd->pr_tries++;
		snd[n].id = cmd->id;
		snd[n].sector = blk_rq_pos(cmd->rq);
		snd[n].len = blk_rq_bytes(cmd->rq);
		snd[n].tag = tag;
		n++;
	}
	spin_unlock(&dp->pr_lock);

	w.op = PRBD_PREAD_REQ;
	for (i = 0; i < n; i++) {
		w.id = cpu_to_le64(snd[i].id);
		w.sector = cpu_to_le64(snd[i].sector);
		w.len = cpu_to_le32(snd[i].len);
		if (!prbd_repl_send_frame(dp, leader, PRBD_MSG_PREAD, &w,
					  sizeof(w), NULL, 0, 0, NULL, NULL)) {
			dp->pr_asked++;
			continue;
		}
		/* not sent: ask again a little later, if it still waits */
		spin_lock(&dp->pr_lock);
		cmd = dp->pr_cmds[snd[i].tag];
		if (cmd && cmd->id == snd[i].id && cmd->pr_to == leader) {
			cmd->pr_to = 0;
			cmd->pr_retry_at = jiffies +
					   msecs_to_jiffies(PRBD_PR_RETRY_MS);
		}
		spin_unlock(&dp->pr_lock);
	}
	kfree(snd);
	if (nfail)
		pr_warn_ratelimited("%s: %u read(s) from the leader got no answer within %u ms: EIO (leader %u%s)\n",
				    dp->res->name, nfail, PRBD_PR_GIVEUP_MS,
				    leader, reach ? "" : ", not reachable");
	list_for_each_entry_safe(cmd, tmp, &failed, list) {
		list_del_init(&cmd->list);
		prbd_io_end(cmd, BLK_STS_IOERR);
	}
}

/* Copy an answer's payload into the request's pages. */
static int prbd_pread_copy(struct prbd_io *cmd, const struct prbd_tr_rx *rx)
{
	struct req_iterator iter;
	struct iov_iter it;
	struct bio_vec bv;

	/* WRITE: the iterator is the source */
	iov_iter_bvec(&it, WRITE, rx->payload->bvec, rx->payload->nr_bvec,
		      rx->payload_len);
	rq_for_each_segment(bv, cmd->rq, iter)
		if (copy_page_from_iter(bv.bv_page, bv.bv_offset, bv.bv_len,
					&it) != bv.bv_len)
			return -EINVAL;
	return iov_iter_count(&it) ? -EINVAL : 0;
}

/* An answer to one of our reads (transport receive work). */
static int prbd_pread_on_data(struct prbd_dp *dp, const struct prbd_tr_rx *rx,
			      const struct prbd_wire_pread *w)
{
	u64 id = le64_to_cpu(w->id);
	u16 status = le16_to_cpu(w->status);
	u32 len = le32_to_cpu(w->len);
	u32 tag = id & PRBD_PR_ID_TAG_MASK;
	u8 leader = prbd_pread_leader(dp);
	struct prbd_io *cmd;
	int err;

	if (status > PRBD_PREAD_E_MAX ||
	    rx->payload_len != (status ? 0 : len) ||
	    id >> PRBD_PR_ID_NODE_SHIFT != dp->res->node_id ||
	    tag >= PRBD_DP_QUEUE_DEPTH)
		return -EINVAL;
	spin_lock(&dp->pr_lock);
	cmd = dp->pr_cmds[tag];
	if (!cmd || cmd->id != id) {
		spin_unlock(&dp->pr_lock);
		/* an answer to a read already answered, or failed: late */
		pr_info_ratelimited("%s: node %u answers read %llx that no longer waits: dropped\n",
				    dp->res->name, rx->from, id);
		return 0;
	}
	if (rx->from != cmd->pr_to ||
	    le64_to_cpu(w->sector) != blk_rq_pos(cmd->rq) ||
	    len != blk_rq_bytes(cmd->rq)) {
		spin_unlock(&dp->pr_lock);
		return -EINVAL;	/* not what we asked, or not whom */
	}
	if (rx->from != leader) {
		/* it no longer leads: the drive work asks the new leader */
		spin_unlock(&dp->pr_lock);
		pr_info_ratelimited("%s: node %u answers read %llx but node %u leads now: dropped\n",
				    dp->res->name, rx->from, id, leader);
		prbd_dp_kick(dp);
		return 0;
	}
	if (status) {
		cmd->pr_to = 0;
		cmd->pr_retry_at = jiffies + msecs_to_jiffies(PRBD_PR_RETRY_MS);
		spin_unlock(&dp->pr_lock);
		pr_info_ratelimited("%s: node %u cannot serve read %llx now (status %u): asking again\n",
				    dp->res->name, rx->from, id, status);
		return 0;
	}
	dp->pr_cmds[tag] = NULL;
	dp->pr_n--;
	spin_unlock(&dp->pr_lock);
	err = prbd_pread_copy(cmd, rx);
	prbd_io_end(cmd, err ? BLK_STS_IOERR : BLK_STS_OK);
	return 0;
}

/**
 * prbd_pread_fail_all() - fail every read still waiting for the leader
 * @dp: the data path; replication stopped (down)
 */
void prbd_pread_fail_all(struct prbd_dp *dp)
{
	struct prbd_io *cmd;
	u32 tag;

	for (tag = 0; tag < PRBD_DP_QUEUE_DEPTH; tag++) {
		spin_lock(&dp->pr_lock);
		cmd = dp->pr_cmds[tag];
		if (cmd) {
			dp->pr_cmds[tag] = NULL;
			dp->pr_n--;
		}
		spin_unlock(&dp->pr_lock);
		if (cmd)
			prbd_io_end(cmd, BLK_STS_IOERR);
	}
}

/* --- leader ------------------------------------------------------------- */

static void prbd_pread_reply(struct prbd_dp *dp, u32 node,
			     const struct prbd_wire_pread *req, u16 status)
{
	struct prbd_wire_pread r = {};

	r.op = PRBD_PREAD_DATA;
	r.status = cpu_to_le16(status);
	r.id = req->id;
	r.sector = req->sector;
	r.len = req->len;
	prbd_repl_send_frame(dp, node, PRBD_MSG_PREAD, &r, sizeof(r), NULL, 0,
			     0, NULL, NULL);
}

/* Does [sector << 9, + len) lie in the data area (no wrap, see repl)? */
static bool prbd_pread_extent_ok(const struct prbd_dp *dp, u64 sector,
				 u32 len)
{
	if (sector > dp->data_size >> SECTOR_SHIFT)
		return false;
	return len <= dp->data_size - (sector << SECTOR_SHIFT);
}

static bool prbd_pread_whole(struct prbd_dp *dp)
{
	return !READ_ONCE(dp->rs_inconsistent) &&
	       !READ_ONCE(dp->needs_resync) && !READ_ONCE(dp->failed);
}

/* A peer asks us, the leader, for bytes (transport receive work). */
static int prbd_pread_on_req(struct prbd_dp *dp, const struct prbd_tr_rx *rx,
			     const struct prbd_wire_pread *w)
{
	u64 sector = le64_to_cpu(w->sector);
	u32 len = le32_to_cpu(w->len);
	struct prbd_rs_io *io;
	bool lead;

	if (rx->payload_len || w->status || w->slot || !len ||
	    len > PRBD_DP_MAX_IO || !IS_ALIGNED(len, SECTOR_SIZE) ||
	    !prbd_pread_extent_ok(dp, sector, len))
		return -EINVAL;
	spin_lock(&dp->px_lock);
	lead = dp->role == PRBD_PX_LEADER;
	spin_unlock(&dp->px_lock);
	if (!lead) {
		prbd_pread_reply(dp, rx->from, w, PRBD_PREAD_E_NOT_LEADER);
		return 0;
	}
	if (!prbd_pread_whole(dp)) {
		prbd_pread_reply(dp, rx->from, w, PRBD_PREAD_E_INCONSISTENT);
		return 0;
	}
	io = atomic_inc_return(&dp->pr_nserve) > PRBD_PR_SERVE_MAX ? NULL :
	     prbd_rs_io_alloc(dp, PRBD_RSIO_PREAD, sector << SECTOR_SHIFT,
			      len);
	if (!io) {
		atomic_dec(&dp->pr_nserve);
		prbd_pread_reply(dp, rx->from, w, PRBD_PREAD_E_BUSY);
		return 0;
	}
	io->peer = rx->from;
	io->id = le64_to_cpu(w->id);
	io->at = jiffies;
	spin_lock(&dp->pr_lock);
	list_add_tail(&io->list, &dp->pr_queue);
	spin_unlock(&dp->pr_lock);
	prbd_dp_kick(dp);
	return 0;
}

static void prbd_pread_pages_sent(void *arg, int err)
{
	prbd_rs_io_free(arg);
}

/* Answer a served read; @io is freed (by the transport once sent). */
static void prbd_pread_answer(struct prbd_dp *dp, struct prbd_rs_io *io,
			      u16 status)
{
	struct prbd_wire_pread r = {};
	struct bio_vec *bv = NULL;
	unsigned int i;

	atomic_dec(&dp->pr_nserve);
	r.op = PRBD_PREAD_DATA;
	r.id = cpu_to_le64(io->id);
	r.sector = cpu_to_le64(io->off >> SECTOR_SHIFT);
	r.len = cpu_to_le32(io->len);
	if (!status) {
		bv = kcalloc(io->nr, sizeof(*bv), GFP_NOIO);
		if (!bv)
			status = PRBD_PREAD_E_BUSY;
	}
	r.status = cpu_to_le16(status);
	if (status) {
		prbd_repl_send_frame(dp, io->peer, PRBD_MSG_PREAD, &r,
				     sizeof(r), NULL, 0, 0, NULL, NULL);
		prbd_rs_io_free(io);
		return;
	}
	r.slot = cpu_to_le64(io->slot);
	for (i = 0; i < io->nr; i++)
		bvec_set_page(&bv[i], io->pages[i],
			      min_t(u32, PAGE_SIZE, io->len - i * PAGE_SIZE),
			      0);
	io->bvec = bv;
	if (prbd_repl_send_frame(dp, io->peer, PRBD_MSG_PREAD, &r, sizeof(r),
				 bv, io->nr, io->len, prbd_pread_pages_sent,
				 io))
		prbd_rs_io_free(io);	/* the asker asks again */
	else
		dp->pr_served++;
}

/* Start the reads peers asked for, answer the ones done (drive work). */
static void prbd_pread_serve(struct prbd_dp *dp)
{
	struct llist_node *done = llist_del_all(&dp->pr_done);
	struct prbd_rs_io *io, *tmp;
	bool lead, may;
	LIST_HEAD(keep);

	llist_for_each_entry_safe(io, tmp, done, done_node) {
		list_del_init(&io->list);	/* from dp->rs_ios */
		prbd_pread_answer(dp, io, io->err ? PRBD_PREAD_E_IO :
				  PRBD_PREAD_OK);
	}
	spin_lock(&dp->pr_lock);
	list_splice_tail_init(&dp->pr_queue, &dp->pr_serve);
	spin_unlock(&dp->pr_lock);
	if (list_empty(&dp->pr_serve))
		return;
	spin_lock(&dp->px_lock);
	lead = dp->role == PRBD_PX_LEADER;
	may = lead && prbd_px_may_read(dp->px,
				       jiffies64_to_msecs(get_jiffies_64()));
	spin_unlock(&dp->px_lock);
	list_for_each_entry_safe(io, tmp, &dp->pr_serve, list) {
		list_del_init(&io->list);
		if (!lead || !prbd_pread_whole(dp)) {
			prbd_pread_answer(dp, io, lead ?
					  PRBD_PREAD_E_INCONSISTENT :
					  PRBD_PREAD_E_NOT_LEADER);
			continue;
		}
		/* as a local read of the primary: lease, then no apply */
		if (may && prbd_rs_io_try(dp, io))
			continue;	/* on dp->rs_ios until read */
		if (time_after(jiffies, io->at +
			       msecs_to_jiffies(PRBD_PR_SERVE_MS))) {
			prbd_pread_answer(dp, io, PRBD_PREAD_E_BUSY);
			continue;
		}
		list_add_tail(&io->list, &keep);
	}
	list_splice(&keep, &dp->pr_serve);
}

/* --- receive, drive, life ------------------------------------------------- */

/**
 * prbd_pread_recv() - a PRBD_MSG_PREAD frame arrived (transport context)
 * @dp: the data path
 * @rx: the frame
 *
 * Return: 0, or -EINVAL for a malformed or unasked-for frame (the caller
 * logs it; nothing changed).
 */
int prbd_pread_recv(struct prbd_dp *dp, const struct prbd_tr_rx *rx)
{
	const struct prbd_wire_pread *w = rx->hdr;

	if (rx->hdr_len != sizeof(*w) || w->pad)
		return -EINVAL;
	switch (w->op) {
	case PRBD_PREAD_REQ:
		return prbd_pread_on_req(dp, rx, w);
	case PRBD_PREAD_DATA:
		return prbd_pread_on_data(dp, rx, w);
	default:
		return -EINVAL;
	}
}

/**
 * prbd_pread_drive() - serve peers' reads, send and time out our own
 * @dp: the data path
 *
 * Context: drive work.
 */
void prbd_pread_drive(struct prbd_dp *dp)
{
	prbd_pread_serve(dp);
	prbd_pread_ask(dp);
}

/**
 * prbd_pread_init() - the lock and lists, empty
 * @dp: the data path, just allocated
 */
void prbd_pread_init(struct prbd_dp *dp)
{
	spin_lock_init(&dp->pr_lock);
	INIT_LIST_HEAD(&dp->pr_queue);
	INIT_LIST_HEAD(&dp->pr_serve);
	atomic_set(&dp->pr_nserve, 0);
	init_llist_head(&dp->pr_done);
}

/**
 * prbd_pread_destroy() - free the peers' reads still queued
 * @dp: the data path; the works stopped, no read on the data area
 */
void prbd_pread_destroy(struct prbd_dp *dp)
{
	struct prbd_rs_io *io, *tmp;

	list_splice_init(&dp->pr_queue, &dp->pr_serve);
	list_for_each_entry_safe(io, tmp, &dp->pr_serve, list)
		prbd_rs_io_free(io);
	INIT_LIST_HEAD(&dp->pr_serve);
}
