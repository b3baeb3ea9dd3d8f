// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: online verify - compares this node's data area with every
 * connected peer's, piece by piece, while writes go on.
 *
 * Verify.  The node running it asks every connected peer for crc32c per
 * 4 KiB of each 256 KiB piece, read the same serialised way (state after
 * its slot s), and reads the piece itself (state after s').  They are
 * comparable when s <= s' and no slot above s touched the piece here
 * (map entries); otherwise the piece is asked again.  Divergent blocks are
 *
 * The reads, their serialisation against applies and the PRBD_MSG_RS
 * frames are the resync's (prbd_resync.c); so is a peer's side of a
 * verify (it answers PRBD_RS_CRC_REQ like a resync read).
 *
 * Locking: the run belongs to the drive work; dp->rs_lock protects the
 * request from netlink (dp->ver_req) and the received answers (dp->ver_rx).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/slab.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_wire.h"

#define PRBD_VERIFY_RETRIES	20

static void prbd_verify_status(struct prbd_dp *dp)
{
	struct prbd_verify *v = &dp->ver;

	spin_lock(&dp->res->lock);
	dp->res->verify.running = v->running;
	dp->res->verify.start = v->start;
	dp->res->verify.len = v->end - v->start;
	dp->res->verify.checked = v->checked;
	dp->res->verify.divergent = v->divergent;
	spin_unlock(&dp->res->lock);
}

static void prbd_verify_notify(struct prbd_dp *dp, enum prbd_verify_event ev,
			       u32 peer, u64 off, u64 len)
{
	struct prbd_verify *v = &dp->ver;

	prbd_verify_status(dp);
	prbd_nl_notify_verify(dp->res, ev, peer, off, len, v->checked,
			      v->divergent);
}

static void prbd_verify_stop(struct prbd_dp *dp, bool abort, const char *why)
{
	struct prbd_verify *v = &dp->ver;
	u32 i;

	if (!v->running)
		return;
	WRITE_ONCE(v->running, false);
	v->gen++;
	for (i = 0; i < ARRAY_SIZE(v->piece); i++) {
		if (v->piece[i].local && !v->piece[i].local_busy)
			prbd_rs_io_free(v->piece[i].local);
		v->piece[i].local = NULL;
		v->piece[i].used = false;
	}
	if (abort)
		pr_warn("%s: verify aborted: %s\n", dp->res->name, why);
	else
		pr_info("%s: verify done: %llu bytes checked, %llu bytes divergent%s\n",
			dp->res->name, v->checked, v->divergent,
			v->skipped ? " (some ranges were busy and skipped)" : "");
	prbd_verify_notify(dp, abort ? PRBD_VERIFY_EVENT_ABORT :
			   PRBD_VERIFY_EVENT_FINISH, 0, v->start,
			   v->end - v->start);
}

static void prbd_verify_issue(struct prbd_dp *dp, struct prbd_vpiece *p)
{
	struct prbd_verify *v = &dp->ver;
	struct prbd_wire_rs w = {};
	u32 node;

	p->local = prbd_rs_io_alloc(dp, PRBD_RSIO_VLOCAL, p->off, p->len);
	if (!p->local)
		return;
	p->local->gen = v->gen;
	p->local_busy = false;
	p->local_done = false;
	p->got = 0;
	w.op = PRBD_RS_CRC_REQ;
	w.gen = cpu_to_le32(v->gen);
	w.off = cpu_to_le64(p->off);
	w.len = cpu_to_le32(p->len);
	for (node = 1; node < PRBD_PX_MAX_NODES; node++)
		if (v->peers & BIT(node))
			prbd_rs_send(dp, node, &w, sizeof(w), NULL);
	p->sent_at = jiffies;
}

/* Compare a piece whose answers are all in; true when it is finished. */
static bool prbd_verify_compare(struct prbd_dp *dp, struct prbd_vpiece *p)
{
	struct prbd_verify *v = &dp->ver;
	__le32 mine[PRBD_RS_CRCS];
	u32 node, n, i, run;
	bool busy = false;

	prbd_rs_crcs(p->local, mine, &n);
	for (node = 1; node < PRBD_PX_MAX_NODES; node++)
		if ((v->peers & BIT(node)) &&
		    (p->slot[node] > p->local->slot ||
		     p->local->mapval > p->slot[node]))
			busy = true;
	if (busy && ++p->tries < PRBD_VERIFY_RETRIES) {
		prbd_rs_io_free(p->local);
		prbd_verify_issue(dp, p);
		return false;
	}
	if (busy) {
		v->skipped = true;
		pr_warn("%s: verify: bytes %llu+%u busy with writes, not compared\n",
			dp->res->name, p->off, p->len);
	}
	for (node = 1; node < PRBD_PX_MAX_NODES && !busy; node++) {
		if (!(v->peers & BIT(node)))
			continue;
		for (i = 0; i < n; i = run) {
			run = i;
			while (run < n && p->crc[node][run] != mine[run])
				run++;
			if (run == i) {
				run++;
				continue;
			}
			pr_warn("%s: verify: node %u differs at bytes %llu+%u\n",
				dp->res->name, node,
				p->off + (u64)i * PRBD_RS_BLOCK,
				(run - i) * PRBD_RS_BLOCK);
			v->divergent += (u64)(run - i) * PRBD_RS_BLOCK;
			prbd_verify_notify(dp, PRBD_VERIFY_EVENT_DIVERGENT, node,
					   p->off + (u64)i * PRBD_RS_BLOCK,
					   (u64)(run - i) * PRBD_RS_BLOCK);
		}
	}
	v->checked += p->len;
	prbd_rs_io_free(p->local);
	p->local = NULL;
	p->used = false;
	return true;
}

static void prbd_verify_run(struct prbd_dp *dp)
{
	struct prbd_verify *v = &dp->ver;
	struct prbd_vpiece *p;
	u32 i, node;

	if (!v->running)
		return;
	for (node = 1; node < PRBD_PX_MAX_NODES; node++)
		if ((v->peers & BIT(node)) && !dp->rpeer[node].up) {
			prbd_verify_stop(dp, true, "a peer disconnected");
			return;
		}
	for (i = 0; i < ARRAY_SIZE(v->piece); i++) {
		p = &v->piece[i];
		if (!p->used) {
			if (v->next >= v->end)
				continue;
			p->used = true;
			p->off = v->next;
			p->len = min_t(u64, PRBD_RS_PIECE, v->end - v->next);
			p->tries = 0;
			v->next += p->len;
			prbd_verify_issue(dp, p);
		}
		if (!p->local) {
			prbd_verify_issue(dp, p);	/* no memory before */
			continue;
		}
		if (!p->local_busy && !p->local_done &&
		    prbd_rs_io_try(dp, p->local))
			p->local_busy = true;
		if (p->local_done && p->got == v->peers) {
			if (prbd_verify_compare(dp, p) &&
			    time_after(jiffies, v->note_at + HZ)) {
				v->note_at = jiffies;
				prbd_verify_status(dp);
			}
		} else if (time_after(jiffies, p->sent_at + PRBD_RS_TIMEOUT)) {
			prbd_verify_stop(dp, true, "a peer did not answer for 10 s");
			return;
		}
	}
	for (i = 0; i < ARRAY_SIZE(v->piece); i++)
		if (v->piece[i].used)
			return;
	if (v->next >= v->end)
		prbd_verify_stop(dp, false, NULL);
}

static void prbd_verify_begin(struct prbd_dp *dp,
			      const struct prbd_verify_req *vr)
{
	struct prbd_verify *v = &dp->ver;

	if (v->running || dp->rs_inconsistent)
		return;
	memset(v->piece, 0, sizeof(v->piece));
	v->gen++;
	v->peers = vr->peers;
	v->start = vr->start;
	v->next = vr->start;
	v->end = vr->start + vr->len;
	v->checked = 0;
	v->divergent = 0;
	v->skipped = false;
	v->note_at = jiffies;
	WRITE_ONCE(v->running, true);
	pr_info("%s: verify of bytes %llu+%llu against nodes %#x started\n",
		dp->res->name, vr->start, vr->len, vr->peers);
	prbd_verify_notify(dp, PRBD_VERIFY_EVENT_START, 0, vr->start, vr->len);
}

static void prbd_verify_on_crc(struct prbd_dp *dp, struct prbd_rs_rx *rx)
{
	struct prbd_verify *v = &dp->ver;
	const struct prbd_wire_rs *w = &rx->w;
	u64 off = le64_to_cpu(w->off);
	struct prbd_vpiece *p;
	u32 i;

	if (!v->running || le32_to_cpu(w->gen) != v->gen ||
	    !(v->peers & BIT(rx->from)))
		return;
	if (le16_to_cpu(w->status)) {
		prbd_verify_stop(dp, true, "a peer cannot read (inconsistent?)");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(v->piece); i++) {
		p = &v->piece[i];
		if (!p->used || p->off != off || !p->local ||
		    le32_to_cpu(w->len) != p->len ||
		    le32_to_cpu(w->n_crc) != DIV_ROUND_UP(p->len, PRBD_RS_BLOCK))
			continue;
		memcpy(p->crc[rx->from], w->crc, le32_to_cpu(w->n_crc) * 4);
		p->slot[rx->from] = le64_to_cpu(w->slot);
		p->got |= BIT(rx->from);
		return;
	}
}

/* Reap this node's own verify reads (drive work). */
static void prbd_verify_reap(struct prbd_dp *dp)
{
	struct llist_node *done = llist_del_all(&dp->ver_done);
	struct prbd_rs_io *io, *tmp;
	struct prbd_vpiece *p;
	u32 i;

	llist_for_each_entry_safe(io, tmp, done, done_node) {
		list_del_init(&io->list);
		for (i = 0; i < ARRAY_SIZE(dp->ver.piece); i++) {
			p = &dp->ver.piece[i];
			if (p->local != io)
				continue;
			p->local_busy = false;
			p->local_done = !io->err;
			if (io->err)
				prbd_verify_stop(dp, true, "local read error");
			io = NULL;
			break;
		}
		if (io)	/* its run was stopped */
			prbd_rs_io_free(io);
	}
}

/**
 * prbd_verify_drive() - everything an online verify does (drive work)
 * @dp: the data path
 *
 * Runs after prbd_rs_drive(): a verify's reads queue behind the resync's.
 */
void prbd_verify_drive(struct prbd_dp *dp)
{
	struct prbd_rs_rx *r, *rtmp;
	struct prbd_verify_req vr;
	LIST_HEAD(rxq);

	prbd_verify_reap(dp);
	spin_lock(&dp->rs_lock);
	list_splice_init(&dp->ver_rx, &rxq);
	vr = dp->ver_req;
	dp->ver_req.pending = false;
	spin_unlock(&dp->rs_lock);
	if (vr.pending)
		prbd_verify_begin(dp, &vr);
	list_for_each_entry_safe(r, rtmp, &rxq, list) {
		list_del(&r->list);
		prbd_verify_on_crc(dp, r);
		prbd_rs_rx_free(r);
	}
	prbd_verify_run(dp);
}

/**
 * prbd_verify_start() - start an online verify (netlink, cfg mutex held)
 * @dp: the data path
 * @start: bytes
 * @len: bytes, 0: to the end
 * @extack: for errors
 *
 * Return: 0 or a negative errno.
 */
int prbd_verify_start(struct prbd_dp *dp, u64 start, u64 len,
		      struct netlink_ext_ack *extack)
{
	struct prbd_px_status st;
	u32 node, peers = 0;
	int err = 0;

	err = prbd_rs_range(dp, start, &len, extack);
	if (err)
		return err;
	spin_lock(&dp->px_lock);
	prbd_px_status(dp->px, &st);
	spin_unlock(&dp->px_lock);
	/* members only: a node waiting to join or removed holds no replica */
	for (node = 1; node < PRBD_PX_MAX_NODES; node++)
		if (dp->rpeer[node].up && ((st.voters | st.learners) & BIT(node)))
			peers |= BIT(node);
	if (!peers) {
		NL_SET_ERR_MSG_MOD(extack, "no peer is connected");
		return -ENOTCONN;
	}
	if (READ_ONCE(dp->ver.running)) {
		NL_SET_ERR_MSG_MOD(extack, "a verify is running");
		return -EBUSY;
	}
	if (READ_ONCE(dp->rs_inconsistent) || READ_ONCE(dp->needs_resync)) {
		NL_SET_ERR_MSG_MOD(extack, "this node's data is not whole (resync first)");
		return -EAGAIN;
	}
	/* the drive work owns the run: it starts it */
	spin_lock(&dp->rs_lock);
	dp->ver_req.pending = true;
	dp->ver_req.start = start;
	dp->ver_req.len = len;
	dp->ver_req.peers = peers;
	spin_unlock(&dp->rs_lock);
	prbd_dp_kick(dp);
	return err;
}

/* Free what a verify still holds (down, after the works stopped). */
void prbd_verify_destroy(struct prbd_dp *dp)
{
	struct prbd_rs_rx *r, *rtmp;
	u32 i;

	list_for_each_entry_safe(r, rtmp, &dp->ver_rx, list)
		prbd_rs_rx_free(r);
	INIT_LIST_HEAD(&dp->ver_rx);
	for (i = 0; i < ARRAY_SIZE(dp->ver.piece); i++)
		if (dp->ver.piece[i].local && !dp->ver.piece[i].local_busy)
			prbd_rs_io_free(dp->ver.piece[i].local);
	memset(dp->ver.piece, 0, sizeof(dp->ver.piece));
}
