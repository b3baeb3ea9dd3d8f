// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: replication - carries the Paxos core's messages and the write
 * payloads between the nodes of a resource over the transport
 * (prbd_transport.c).
 *
 * Two frame types of our own:
 *  PRBD_MSG_DATA   header struct prbd_wire_data, payload = one write's data.
 *                  Sent to a peer, once per connection, before the first
 *                  Paxos message that carries the write's descriptor; the
 *                  receiver keeps it in the payload cache, keyed by the
 *                  descriptor id, until the slot is applied.  Discard and
 *                  write-zeroes descriptors (op != PRBD_LOG_OP_WRITE) have
 *                  no payload and no DATA frame: nothing waits for one.
 *  PRBD_MSG_PAXOS  header struct prbd_wire_px: one core message, entries
 *                  little-endian; no payload.
 *  PRBD_MSG_XFER   header struct prbd_wire_xfer: "make me the leader",
 *                  sent by a node asked to become primary.
 *  PRBD_MSG_RS     resync and verify (prbd_resync.c, prbd_verify.c).
 *  PRBD_MSG_PLREQ  header struct prbd_wire_plreq: "send me this payload
 *                  again".  A follower that dropped a DATA frame (no
 *                  memory to receive it) cannot log the accept that names
 *                  it; its batch work retries and, every 200 ms, asks the
 *                  leader for what is missing (prbd_repl_want_payloads()).
 *                  The leader answers with a DATA frame from its cache or
 *                  its log (prbd_log_payload()), or, if its log released
 *                  the slot, with
 *  PRBD_MSG_PLGONE header struct prbd_wire_plgone: "gone here too"; the
 *                  asker resyncs past the slot (prbd_rs_drive()).  Other
 *                  misses get no answer: the asker asks again.
 * One connection delivers in order, so a DATA frame always arrives before
 * the message that needs it, unless the receiver dropped it.
 *
 * The payload cache (prbd_payload.c) holds the data of writes whose slot
 * is not applied yet: what the leader sends, what a follower received.
 *
 * Frames arrive through prbd_drive_tr_ops (prbd_drive.c), passed to
 * prbd_repl_start(): core messages are stepped into the core there, DATA
 * and PLREQ come back here (prbd_repl_recv_data(), prbd_repl_recv_plreq()),
 * the other parts' frames go to their owners.  Resync and verify frames go
 * out through prbd_repl_send_frame().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/debugfs.h>
#include <linux/highmem.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uio.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_trace_helpers.h"
#include "prbd_transport.h"
#include "prbd_wire.h"

static_assert((int)PRBD_MSG_DATA == (int)PRBD_WIRE_T_USER);

static_assert(sizeof(struct prbd_wire_px) +
	      PRBD_PX_MAX_ENT * sizeof(struct prbd_wire_px_ent) <=
	      PRBD_WIRE_MAX_HDR);
/* wire version 4: epoch and erank at 0x30 and 0x38, entries from 0x40 */
static_assert(offsetof(struct prbd_wire_px, epoch) == 0x30 &&
	      offsetof(struct prbd_wire_px, erank) == 0x38 &&
	      sizeof(struct prbd_wire_px) == 0x40);

/* prbd/<resource>/payloads in debugfs: the payload cache at a glance */
static int prbd_pl_show(struct seq_file *m, void *v)
{
	struct prbd_dp *dp = m->private;
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	u64 fwd = 0, fwd_fails = 0;

	spin_lock(&dp->pl_lock);
	seq_printf(m, "count %u\nbytes %llu\nneeded_bytes %llu\nevicted %llu\nasked %llu\nresent %llu\ngone_sent %llu\ngone_seen %llu\n",
		   dp->pl_count, dp->pl_bytes, dp->pl_needed_bytes,
		   dp->pl_evicted, dp->pl_asked, dp->pl_resent,
		   dp->pl_gone_sent, dp->pl_gone_seen);
	spin_unlock(&dp->pl_lock);
	if (tr)
		prbd_tr_fwd_stats(tr, &fwd, &fwd_fails);
	/* racy reads of drive-work counters: for the curious */
	seq_printf(m, "data_sent %llu\ndata_relayed %llu\nforwarded %llu\nforward_failed %llu\n",
		   READ_ONCE(dp->data_direct), READ_ONCE(dp->data_relayed),
		   fwd, fwd_fails);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(prbd_pl);

/* --- sending ------------------------------------------------------------- */

static void prbd_repl_data_sent(void *arg, int err)
{
	prbd_pl_put(arg);
}

/* Has @id's payload gone to @node on this connection already? */
static bool prbd_repl_sent_before(struct prbd_dp *dp, u32 node, u64 id)
{
	struct prbd_repl_peer *rp = &dp->rpeer[node];
	u32 i;

	for (i = 0; i < PRBD_REPL_SENT_RING; i++)
		if (rp->sent[i] == id)
			return true;
	rp->sent[rp->sent_pos++ % PRBD_REPL_SENT_RING] = id;
	return false;
}

/*
 * Payload relay.  The emulated network (and a real one's leader uplink)
 * is what bounds a replicated write: a leader that sends each payload to
 * every follower pays for it N-1 times.  Of the D connected members a
 * leader's accepts go to, the first ceil(D/2) - voters first, in node
 * order rotated by one each time so the forwarding cost is shared - get
 * the payloads of at least relay_min bytes straight from us and forward
 * each to one of the others: the leader sends ceil(D/2) copies instead of
 * D.  With every voter connected the direct ones and the leader are a
 * majority of the voters, so a commit does not wait for a relayed copy;
 * it does lose the fastest of all followers' acceptances, which is why
 * small payloads (cheap to send, latency-bound) go straight to every
 * member.  Relaying is best effort: a
 * node that does not get its copy asks us for it (PLREQ, after
 * PRBD_PL_ASK_MS, prbd_batch_work()), and a node that asked in the last
 * PRBD_REPL_NORELAY seconds gets its payloads straight from us.  Paxos
 * messages always go straight to their destination.
 */
static bool prbd_relay = true;
module_param_named(relay, prbd_relay, bool, 0644);
MODULE_PARM_DESC(relay, "followers forward write payloads to each other, so the leader sends each once for two (default Y)");
static unsigned int prbd_relay_min = 65536;
module_param_named(relay_min, prbd_relay_min, uint, 0644);
MODULE_PARM_DESC(relay_min, "smallest payload relayed, in bytes (default 65536)");

#define PRBD_REPL_NORELAY	5	/* seconds */

/* Not sent after all: forget the last id noted, so a retransmission sends it. */
static void prbd_repl_unsend(struct prbd_dp *dp, u32 node)
{
	struct prbd_repl_peer *rp = &dp->rpeer[node];

	rp->sent[(rp->sent_pos - 1) % PRBD_REPL_SENT_RING] = 0;
}

/*
 * Send the payloads entry @e of a message to @node names, once per
 * connection.  @child, if not 0, is another member: @node forwards each
 * payload to it (PRBD_WIRE_F_FORWARD), so this node sends it once for
 * both.
 * Return: 0, or the error of the first payload that could not be sent.
 */
static int prbd_repl_send_data(struct prbd_dp *dp, struct prbd_tr *tr,
			       u32 node, const struct prbd_px_entry *e,
			       u32 child)
{
	struct prbd_wire_data wd;
	struct prbd_payload *pl;
	int err, ret = 0;
	u32 j, relay;

	for (j = 0; j < e->n_desc; j++) {
		const struct prbd_px_desc *d = &e->desc[j];

		if (d->op != PRBD_LOG_OP_WRITE)
			continue;	/* no payload */
		if (prbd_repl_sent_before(dp, node, d->id))
			continue;
		pl = prbd_log_payload(dp, e->slot, d->id, d->csum);
		if (IS_ERR(pl)) {
			pr_warn_ratelimited("%s: no payload for slot %llu id %llx: %ld\n",
					    dp->res->name, e->slot, d->id,
					    PTR_ERR(pl));
			prbd_repl_unsend(dp, node);
			ret = ret ?: PTR_ERR(pl);
			continue;
		}
		relay = 0;
		if (child && pl->len >= READ_ONCE(prbd_relay_min) &&
		    !prbd_repl_sent_before(dp, child, d->id))
			relay = BIT(child);
		wd.id = cpu_to_le64(d->id);
		wd.sector = cpu_to_le64(d->sector);
		wd.len = cpu_to_le32(pl->len);
		wd.csum = cpu_to_le32(d->csum);
		/* once per payload, not per follower (the drive work's own) */
		if (!pl->tag_set) {
			prbd_tr_payload_tag(tr, pl->bvec, pl->nr, pl->len,
					    pl->tag);
			pl->tag_set = true;
		}
		err = prbd_tr_send_relay(tr, node, relay, PRBD_MSG_DATA, &wd,
					 sizeof(wd), pl->bvec, pl->nr, pl->len,
					 d->csum, pl->tag, prbd_repl_data_sent,
					 pl);
		if (err) {
			prbd_pl_put(pl);
			prbd_repl_unsend(dp, node);
			if (relay)
				prbd_repl_unsend(dp, child);
			ret = ret ?: err;
			continue;
		}
		dp->data_direct++;
		if (relay)
			dp->data_relayed++;
	}
	return ret;
}

/* Does @m carry a payload (a write's data) at all? */
static bool prbd_repl_msg_has_data(const struct prbd_px_msg *m)
{
	u32 k, j;

	for (k = 0; k < m->n_ent; k++) {
		const struct prbd_px_entry *e = &m->ent[k];

		if (e->kind != PRBD_PX_K_DATA)
			continue;
		for (j = 0; j < e->n_desc; j++)
			if (e->desc[j].op == PRBD_LOG_OP_WRITE)
				return true;
	}
	return false;
}

/* Order of the nodes a payload goes to: voters, then the others. */
static u32 prbd_repl_rank(u16 voters, u32 node)
{
	return (voters & BIT(node) ? 0 : PRBD_PX_MAX_NODES) + node;
}

/* who forwards a payload to whom, per batch of messages */
struct prbd_repl_plan {
	u8 child[PRBD_PX_MAX_NODES];	/* node -> who it forwards to */
	u32 children;			/* the nodes that get relayed copies */
};

static void prbd_repl_plan(struct prbd_dp *dp, const struct prbd_px_msg *msgs,
			   u32 n, struct prbd_repl_plan *p)
{
	u8 dst[PRBD_PX_MAX_NODES], rot[PRBD_PX_MAX_NODES];
	/* a heuristic: a racy read of the configuration is good enough */
	u16 voters = READ_ONCE(dp->hs_disk.voters);
	u16 members = voters | READ_ONCE(dp->hs_disk.learners);
	u32 i, j, nd = 0, nv = 0, k, node;
	bool accepts = false;
	unsigned long at;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < n && !accepts; i++)
		accepts = msgs[i].type == PRBD_PX_M_P2A &&
			  prbd_repl_msg_has_data(&msgs[i]);
	if (!READ_ONCE(prbd_relay) || !accepts)
		return;
	/*
	 * Every member the leader's accepts go to, whether or not this
	 * batch has one for it: per-peer flow control lets each follower's
	 * accepts out at its own pace, and a payload relayed ahead of its
	 * accept waits in the receiver's cache.
	 */
	for (node = 1; node < PRBD_PX_MAX_NODES; node++) {
		if (!(members & BIT(node)) || node == dp->res->node_id ||
		    !dp->rpeer[node].up)
			continue;
		at = dp->rpeer[node].plreq_at;
		if (at && time_before(jiffies, at + PRBD_REPL_NORELAY * HZ))
			continue;	/* relaying to it failed lately */
		/*
		 * Resyncing from us: it lags, and its accepts leave at its
		 * pace while a relay runs at the relaying node's; straight
		 * from us its payloads come just before their accepts.
		 */
		at = dp->rpeer[node].rs_seen;
		if (at && time_before(jiffies, at + PRBD_REPL_NORELAY * HZ))
			continue;
		/* insertion sort, voters first: a handful of nodes */
		for (j = nd; j && prbd_repl_rank(voters, dst[j - 1]) >
				  prbd_repl_rank(voters, node); j--)
			dst[j] = dst[j - 1];
		dst[j] = node;
		nd++;
		nv += !!(voters & BIT(node));
	}
	if (nd < 2)
		return;
	/* the voters rotate; learners come last, so relayed first */
	for (i = 0; i < nd; i++)
		rot[i] = i < nv ? dst[(i + dp->relay_rot) % nv] : dst[i];
	dp->relay_rot++;
	k = (nd + 1) / 2;
	for (i = 0; k + i < nd; i++) {
		p->child[rot[i]] = rot[k + i];
		p->children |= BIT(rot[k + i]);
	}
}

static u32 prbd_repl_encode(const struct prbd_px_msg *m,
			    struct prbd_wire_px *w)
{
	u32 i, j;

	memset(w, 0, sizeof(*w) + m->n_ent * sizeof(w->ent[0]));
	w->type = m->type;
	w->from = m->from;
	w->to = m->to;
	w->flags = m->flags;
	w->n_ent = m->n_ent;
	w->ballot = cpu_to_le64(m->ballot);
	w->slot = cpu_to_le64(m->slot);
	w->commit = cpu_to_le64(m->commit);
	w->aux = cpu_to_le64(m->aux);
	w->aux2 = cpu_to_le64(m->aux2);
	w->epoch = cpu_to_le64(m->epoch);
	w->erank = cpu_to_le64(m->erank);
	for (i = 0; i < m->n_ent; i++) {
		const struct prbd_px_entry *e = &m->ent[i];
		struct prbd_wire_px_ent *we = &w->ent[i];

		we->slot = cpu_to_le64(e->slot);
		we->ballot = cpu_to_le64(e->ballot);
		we->kind = e->kind;
		we->n_desc = e->n_desc;
		we->chosen = e->chosen;
		we->voters = cpu_to_le16(e->voters);
		we->learners = cpu_to_le16(e->learners);
		for (j = 0; j < e->n_desc && j < PRBD_PX_BATCH; j++) {
			we->desc[j].id = cpu_to_le64(e->desc[j].id);
			we->desc[j].sector = cpu_to_le64(e->desc[j].sector);
			we->desc[j].len = cpu_to_le32(e->desc[j].len);
			we->desc[j].csum = cpu_to_le32(e->desc[j].csum);
			we->desc[j].op = cpu_to_le32(e->desc[j].op);
		}
	}
	return sizeof(*w) + m->n_ent * sizeof(w->ent[0]);
}

/**
 * prbd_repl_send() - send the core's messages (drive work, no locks held)
 * @dp: the data path
 * @msgs: copies of the messages
 * @n: their number
 */
void prbd_repl_send(struct prbd_dp *dp, const struct prbd_px_msg *msgs, u32 n)
{
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	struct prbd_wire_px *w = dp->wbuf;
	struct prbd_repl_plan p;
	u32 i, k, len, pass, child;

	if (!tr)
		return;
	prbd_repl_plan(dp, msgs, n, &p);
	/* the relaying nodes first, so their copies carry the relay */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const struct prbd_px_msg *m = &msgs[i];

			if (!m->to || m->to >= PRBD_PX_MAX_NODES)
				continue;
			if (!dp->rpeer[m->to].up ||
			    !!(p.children & BIT(m->to)) != pass)
				continue;
			child = m->type == PRBD_PX_M_P2A ? p.child[m->to] : 0;
			for (k = 0; k < m->n_ent; k++)
				if (m->ent[k].kind == PRBD_PX_K_DATA)
					prbd_repl_send_data(dp, tr, m->to,
							    &m->ent[k], child);
			len = prbd_repl_encode(m, w);
			prbd_trace_msg_out(dp, m);
			prbd_tr_send(tr, m->to, PRBD_MSG_PAXOS, w, len, NULL, 0,
				     0, NULL, NULL);
		}
	}
}

/**
 * prbd_repl_send_learn() - send a LEARN built from the log history
 * @dp: the data path
 * @m: the message; its entries are cut at the first one whose payload
 *	cannot be sent (read back from the log, it no longer matches its
 *	checksum: the record was overwritten), so the asker never learns a
 *	value it cannot get the data of
 *
 * Context: drive work.
 * Return: the number of entries sent, 0 when the peer is not connected,
 * or the error of the first entry's payload.
 */
int prbd_repl_send_learn(struct prbd_dp *dp, struct prbd_px_msg *m)
{
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	int err = 0;
	u32 k;

	if (!tr || !m->to || m->to >= PRBD_PX_MAX_NODES ||
	    !dp->rpeer[m->to].up)
		return 0;
	for (k = 0; k < m->n_ent; k++) {
		if (m->ent[k].kind != PRBD_PX_K_DATA)
			continue;
		err = prbd_repl_send_data(dp, tr, m->to, &m->ent[k], 0);
		if (err)
			break;
	}
	m->n_ent = k;
	if (!k)
		return err;
	prbd_tr_send(tr, m->to, PRBD_MSG_PAXOS, dp->wbuf,
		     prbd_repl_encode(m, dp->wbuf), NULL, 0, 0, NULL, NULL);
	return k;
}

/**
 * prbd_repl_want_payloads() - ask for the payloads a persist batch misses
 * @dp: the data path
 * @b: the batch, whose log write found no payload for a descriptor
 *
 * Notes the write descriptors whose payload is not in the cache (at most
 * PRBD_PL_WANT_MAX) and leaves the asking to pl_want_work on dp->wq: the
 * batch work runs on dp->lwq, which prbd_repl_stop() does not flush, so it
 * must not use the transport itself.
 *
 * Context: the batch work (the batch is its own while busy).
 */
void prbd_repl_want_payloads(struct prbd_dp *dp, const struct prbd_batch *b)
{
	struct prbd_pl_want w[PRBD_PL_WANT_MAX];
	struct prbd_payload *pl;
	u32 i, j, n = 0;

	for (i = 0; i < b->n_ents && n < ARRAY_SIZE(w); i++) {
		const struct prbd_px_entry *e = &b->ents[i];

		if (e->kind != PRBD_PX_K_DATA)
			continue;
		for (j = 0; j < e->n_desc && n < ARRAY_SIZE(w); j++) {
			if (e->desc[j].op != PRBD_LOG_OP_WRITE)
				continue;
			pl = prbd_pl_get(dp, e->desc[j].id);
			if (pl) {
				prbd_pl_put(pl);
				continue;
			}
			w[n].slot = e->slot;
			w[n].id = e->desc[j].id;
			w[n].sector = e->desc[j].sector;
			w[n].csum = e->desc[j].csum;
			n++;
		}
	}
	if (!n)
		return;
	spin_lock(&dp->pl_lock);
	memcpy(dp->pl_want, w, n * sizeof(w[0]));
	dp->n_pl_want = n;
	spin_unlock(&dp->pl_lock);
	queue_work(dp->wq, &dp->pl_want_work);
}

/* Send the asks noted by prbd_repl_want_payloads() to the leader. */
static void prbd_repl_pl_want_work(struct work_struct *work)
{
	struct prbd_dp *dp = container_of(work, struct prbd_dp, pl_want_work);
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	struct prbd_pl_want w[PRBD_PL_WANT_MAX];
	struct prbd_wire_plreq r = {};
	u32 i, n;
	u8 leader;

	spin_lock(&dp->pl_lock);
	n = dp->n_pl_want;
	memcpy(w, dp->pl_want, n * sizeof(w[0]));
	dp->n_pl_want = 0;
	spin_unlock(&dp->pl_lock);
	spin_lock(&dp->px_lock);
	leader = dp->leader;
	spin_unlock(&dp->px_lock);
	if (!tr || !n || !leader || leader == dp->res->node_id ||
	    leader >= PRBD_PX_MAX_NODES || !dp->rpeer[leader].up)
		return;
	for (i = 0; i < n; i++) {
		r.slot = cpu_to_le64(w[i].slot);
		r.id = cpu_to_le64(w[i].id);
		r.sector = cpu_to_le64(w[i].sector);
		r.csum = cpu_to_le32(w[i].csum);
		if (prbd_tr_send(tr, leader, PRBD_MSG_PLREQ, &r, sizeof(r),
				 NULL, 0, 0, NULL, NULL))
			break;
		spin_lock(&dp->pl_lock);
		dp->pl_asked++;
		spin_unlock(&dp->pl_lock);
		pr_info_ratelimited("%s: slot %llu: asked node %u for payload %llx again\n",
				    dp->res->name, w[i].slot, leader, w[i].id);
	}
}

/* --- receiving ------------------------------------------------------------ */

/*
 * A payload asked for is here neither in the cache nor in the log: if we
 * lead and the slot is below our log's start (released: the asker lagged
 * past the retained log), say so (PLGONE), so the asker resyncs past it
 * instead of asking for ever.  Otherwise (a slot we never had yet, a
 * record overwritten while its slot is retained: not expected) the asker
 * asks again.
 */
static void prbd_repl_send_gone(struct prbd_dp *dp, struct prbd_tr *tr,
				u32 to, u64 slot, __le64 id)
{
	struct prbd_wire_plgone g = {};
	u64 start = READ_ONCE(dp->core_log_start);
	bool lead;

	spin_lock(&dp->px_lock);
	lead = dp->role == PRBD_PX_LEADER;
	spin_unlock(&dp->px_lock);
	if (!lead || slot >= start)
		return;
	g.slot = cpu_to_le64(slot);
	g.id = id;
	g.log_start = cpu_to_le64(start);
	if (prbd_tr_send(tr, to, PRBD_MSG_PLGONE, &g, sizeof(g), NULL, 0, 0,
			 NULL, NULL))
		return;
	spin_lock(&dp->pl_lock);
	dp->pl_gone_sent++;
	spin_unlock(&dp->pl_lock);
}

/*
 * A follower asks for a payload again: send it from the cache or the log.
 * Context: the transport's receive work (may sleep: a log read).
 */
int prbd_repl_recv_plreq(struct prbd_dp *dp, const struct prbd_tr_rx *rx)
{
	const struct prbd_wire_plreq *r = rx->hdr;
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	struct prbd_wire_data wd;
	struct prbd_payload *pl;
	u64 slot, id;
	int err;

	if (rx->hdr_len != sizeof(*r) || rx->payload_len || r->pad)
		return -EINVAL;
	if (rx->from < PRBD_PX_MAX_NODES)	/* relaying to it fails: stop */
		dp->rpeer[rx->from].plreq_at = jiffies ?: 1;
	slot = le64_to_cpu(r->slot);
	id = le64_to_cpu(r->id);
	if (!tr)
		return 0;
	pl = prbd_log_payload(dp, slot, id, le32_to_cpu(r->csum));
	if (IS_ERR(pl)) {
		pr_warn_ratelimited("%s: node %u asks for payload %llx of slot %llu: not here (%ld)\n",
				    dp->res->name, rx->from, id, slot,
				    PTR_ERR(pl));
		prbd_repl_send_gone(dp, tr, rx->from, slot, r->id);
		return 0;
	}
	wd.id = r->id;
	wd.sector = r->sector;
	wd.len = cpu_to_le32(pl->len);
	wd.csum = r->csum;
	err = prbd_tr_send_crc(tr, rx->from, PRBD_MSG_DATA, &wd, sizeof(wd),
			       pl->bvec, pl->nr, pl->len,
			       le32_to_cpu(r->csum), NULL, prbd_repl_data_sent,
			       pl);
	if (err) {
		prbd_pl_put(pl);
		return 0;	/* the peer asks again */
	}
	spin_lock(&dp->pl_lock);
	dp->pl_resent++;
	spin_unlock(&dp->pl_lock);
	return 0;
}

/*
 * The leader has a payload we asked for no more (prbd_repl_send_gone()):
 * the resync (prbd_rs_drive()) takes this node past the slot.  Only the
 * leader we follow is heard, and only about a slot it no longer retains.
 * Context: the transport's receive work.
 */
int prbd_repl_recv_plgone(struct prbd_dp *dp, const struct prbd_tr_rx *rx)
{
	const struct prbd_wire_plgone *g = rx->hdr;
	u64 slot, start;
	u8 leader;

	if (rx->hdr_len != sizeof(*g) || rx->payload_len)
		return -EINVAL;
	slot = le64_to_cpu(g->slot);
	start = le64_to_cpu(g->log_start);
	if (!slot || slot >= start)
		return -EINVAL;
	spin_lock(&dp->px_lock);
	leader = dp->leader;
	spin_unlock(&dp->px_lock);
	if (rx->from != leader)
		return 0;	/* from a leader gone since */
	pr_warn_ratelimited("%s: node %u no longer has the payload %llx of slot %llu (its log starts at %llu)\n",
			    dp->res->name, rx->from, le64_to_cpu(g->id), slot,
			    start);
	spin_lock(&dp->pl_lock);
	dp->pl_gone = max(dp->pl_gone, slot);
	dp->pl_gone_seen++;
	spin_unlock(&dp->pl_lock);
	prbd_dp_kick(dp);
	return 0;
}

int prbd_repl_recv_data(struct prbd_dp *dp, const struct prbd_tr_rx *rx)
{
	const struct prbd_wire_data *wd = rx->hdr;
	struct prbd_payload *pl;
	struct iov_iter it;
	u32 len, i, n;

	if (rx->hdr_len != sizeof(*wd))
		return -EINVAL;
	len = le32_to_cpu(wd->len);
	if (len != rx->payload_len || !len || len > PRBD_DP_MAX_IO ||
	    !IS_ALIGNED(len, SECTOR_SIZE))
		return -EINVAL;
	pl = prbd_pl_get(dp, le64_to_cpu(wd->id));
	if (pl) {	/* a copy from a retransmission */
		prbd_pl_put(pl);
		return 0;
	}
	pl = prbd_pl_alloc(dp, le64_to_cpu(wd->id), len);
	if (!pl)
		return -ENOMEM;
	/* WRITE: the iterator is the source */
	iov_iter_bvec(&it, WRITE, rx->payload->bvec, rx->payload->nr_bvec, len);
	for (i = 0; i < pl->nr; i++) {
		n = min_t(u32, PAGE_SIZE, len - i * PAGE_SIZE);
		if (copy_from_iter(page_address(pl->pages[i]), n, &it) != n) {
			prbd_pl_put(pl);
			return -EINVAL;
		}
	}
	/* the transport checked the frame's crc: this is what was sent */
	prbd_pl_insert(dp, pl);
	prbd_pl_put(pl);
	return 0;
}

/*
 * Does [sector << 9, + len) lie in the data area?  The sector is compared
 * before it is shifted: a sector of 2^55 or more would wrap the shift
 * (2^55 << 9 is 0 modulo 2^64) and pass a check of the sum.
 */
static bool prbd_repl_extent_ok(const struct prbd_dp *dp, u64 sector, u32 len)
{
	if (sector > dp->data_size >> SECTOR_SHIFT)
		return false;
	return len <= dp->data_size - (sector << SECTOR_SHIFT);
}

int prbd_repl_decode(struct prbd_dp *dp, const struct prbd_tr_rx *rx,
		     struct prbd_px_msg *m)
{
	const struct prbd_wire_px *w = rx->hdr;
	bool flush = READ_ONCE(dp->flush_mode);
	u64 epoch, erank;
	u32 i, j;

	if (rx->hdr_len < sizeof(*w) || w->n_ent > PRBD_PX_MAX_ENT ||
	    rx->hdr_len != sizeof(*w) + w->n_ent * sizeof(w->ent[0]) ||
	    w->from != rx->from || w->to != dp->res->node_id ||
	    rx->payload_len || w->type < PRBD_PX_M_PREVOTE ||
	    w->type > PRBD_PX_M_FLUSH_R || (w->flags & ~PRBD_WIRE_PX_F_KNOWN))
		return -EINVAL;
	epoch = le64_to_cpu(w->epoch);
	erank = le64_to_cpu(w->erank);
	/*
	 * Flush mode (barriers, suspects, epochs; see "Flush mode" in
	 * paxos/prbd_paxos.c) only from a node of a flush-mode group: a
	 * strict node never has an epoch, so one would only make it reset
	 * to a group that does not exist.  An epoch starts at rank = its
	 * ballot; barriers carry no entries; only a promise is suspect.
	 */
	if ((epoch && erank < epoch) ||
	    ((w->flags & PRBD_PX_F_SUSPECT) && w->type != PRBD_PX_M_P1B))
		return -EINVAL;
	if (w->type == PRBD_PX_M_FLUSH || w->type == PRBD_PX_M_FLUSH_R) {
		if (!flush || w->n_ent)
			return -EINVAL;
	} else if (!flush && (epoch || (w->flags & PRBD_PX_F_SUSPECT))) {
		return -EINVAL;
	}
	memset(m, 0, offsetof(struct prbd_px_msg, ent));
	m->type = w->type;
	m->from = w->from;
	m->to = w->to;
	m->flags = w->flags;
	m->n_ent = w->n_ent;
	m->ballot = le64_to_cpu(w->ballot);
	m->slot = le64_to_cpu(w->slot);
	m->commit = le64_to_cpu(w->commit);
	m->aux = le64_to_cpu(w->aux);
	m->aux2 = le64_to_cpu(w->aux2);
	m->epoch = epoch;
	m->erank = erank;
	for (i = 0; i < m->n_ent; i++) {
		const struct prbd_wire_px_ent *we = &w->ent[i];
		struct prbd_px_entry *e = &m->ent[i];

		memset(e, 0, sizeof(*e));
		if (we->kind > PRBD_PX_K_CONFIG || we->n_desc > PRBD_PX_BATCH)
			return -EINVAL;
		e->slot = le64_to_cpu(we->slot);
		e->ballot = le64_to_cpu(we->ballot);
		e->kind = we->kind;
		e->n_desc = we->n_desc;
		e->chosen = !!we->chosen;
		e->voters = le16_to_cpu(we->voters);
		e->learners = le16_to_cpu(we->learners);
		for (j = 0; j < e->n_desc; j++) {
			e->desc[j].id = le64_to_cpu(we->desc[j].id);
			e->desc[j].sector = le64_to_cpu(we->desc[j].sector);
			e->desc[j].len = le32_to_cpu(we->desc[j].len);
			e->desc[j].csum = le32_to_cpu(we->desc[j].csum);
			e->desc[j].op = le32_to_cpu(we->desc[j].op);
			if (e->desc[j].op > PRBD_LOG_OP_MAX || we->desc[j].pad ||
			    !e->desc[j].len || e->desc[j].len >
			    (e->desc[j].op == PRBD_LOG_OP_WRITE ?
			     PRBD_DP_MAX_IO : PRBD_DP_MAX_TRIM) ||
			    !prbd_repl_extent_ok(dp, e->desc[j].sector,
						 e->desc[j].len))
				return -EINVAL;
		}
	}
	return 0;
}

void prbd_repl_peer_state(void *ctx, u32 node, bool up)
{
	struct prbd_dp *dp = ctx;
	struct prbd_peer *peer;

	if (node >= PRBD_PX_MAX_NODES)
		return;
	dp->rpeer[node].up = up;
	memset(dp->rpeer[node].sent, 0, sizeof(dp->rpeer[node].sent));
	pr_info("%s: peer %u %s\n", dp->res->name, node,
		up ? "connected" : "disconnected");
	/*
	 * cstate is configuration-side state: only an approximation here.
	 * A transport callback: no prbd_cfg_mutex, so RCU (struct prbd_peer).
	 */
	rcu_read_lock();
	list_for_each_entry_rcu(peer, &dp->res->peers, list)
		if (peer->node_id == node)
			WRITE_ONCE(peer->cstate, up ? PRBD_CONN_STATE_CONNECTED :
				   PRBD_CONN_STATE_CONNECTING);
	rcu_read_unlock();
	prbd_res_changed(dp->res);
	prbd_dp_kick(dp);
}

/**
 * prbd_repl_send_frame() - send a frame of another part of the data path
 * @dp: the data path
 * @node: the peer
 * @type: PRBD_MSG_*
 * @hdr: its header
 * @hdr_len: bytes of @hdr
 * @bv: the payload, or NULL
 * @nr: entries of @bv
 * @len: payload bytes
 * @done: called once the payload is sent (not when this fails)
 * @arg: for @done
 *
 * Return: 0, -ENOTCONN when the peer is not connected, or the transport's
 * error.
 */
int prbd_repl_send_frame(struct prbd_dp *dp, u32 node, u16 type,
			 const void *hdr, u32 hdr_len, struct bio_vec *bv,
			 unsigned int nr, u32 len, prbd_tr_done_t done,
			 void *arg)
{
	struct prbd_tr *tr = READ_ONCE(dp->tr);

	if (!tr || !node || node >= PRBD_PX_MAX_NODES || !dp->rpeer[node].up)
		return -ENOTCONN;
	return prbd_tr_send(tr, node, type, hdr, hdr_len, bv, nr, len, done,
			    arg);
}

/**
 * prbd_repl_ask_leadership() - ask the leader to hand leadership to us
 * @dp: the data path
 */
void prbd_repl_ask_leadership(struct prbd_dp *dp)
{
	struct prbd_wire_xfer x = { .target = dp->res->node_id };
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	u8 leader;

	spin_lock(&dp->px_lock);
	leader = dp->leader;
	spin_unlock(&dp->px_lock);
	if (tr && leader && leader != dp->res->node_id &&
	    leader < PRBD_PX_MAX_NODES)
		prbd_tr_send(tr, leader, PRBD_MSG_XFER, &x, sizeof(x), NULL,
			     0, 0, NULL, NULL);
}

/**
 * prbd_repl_init() - the payload cache's locks and lists, empty
 * @dp: the data path, just allocated
 *
 * Called before anything in prbd_dp_alloc() can fail, so that
 * prbd_repl_stop() (and its prbd_pl_drop_all()) may run on a data path
 * whose replication never started.
 */
void prbd_repl_init(struct prbd_dp *dp)
{
	spin_lock_init(&dp->pl_lock);
	INIT_LIST_HEAD(&dp->pl_lru);
	mutex_init(&dp->pl_evict_lock);
	mutex_init(&dp->rmsg_lock);
	INIT_WORK(&dp->pl_want_work, prbd_repl_pl_want_work);
	init_waitqueue_head(&dp->pl_wq);
	atomic_set(&dp->pl_gen, 0);
}

/**
 * prbd_repl_start() - connect to the peers (resource with peers only)
 * @dp: the data path
 * @ops: what to do with received frames (prbd_drive_tr_ops)
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0 or a negative errno.
 */
int prbd_repl_start(struct prbd_dp *dp, const struct prbd_tr_ops *ops)
{
	struct prbd_resource *res = dp->res;
	struct prbd_tr_params p = {};
	struct prbd_peer *peer;
	int err;

	if (list_empty(&res->peers))
		return 0;
	/* for tests and the curious; nothing depends on it */
	dp->dbg = debugfs_create_dir(res->name, prbd_debugfs);
	debugfs_create_file("payloads", 0400, dp->dbg, dp, &prbd_pl_fops);
	if (res->listen.ss_family == AF_UNSPEC) {
		pr_err("%s: resource has peers but no listen address\n",
		       res->name);
		return -EDESTADDRREQ;
	}
	dp->rmsg = kvzalloc(sizeof(*dp->rmsg), GFP_KERNEL);
	dp->wbuf = kzalloc(PRBD_WIRE_MAX_HDR, GFP_KERNEL);
	dp->out = kvcalloc(PRBD_PX_OUTBOX, sizeof(*dp->out), GFP_KERNEL);
	dp->pl_ids = kvcalloc(PRBD_PL_IDS_MAX, sizeof(*dp->pl_ids),
			      GFP_KERNEL);
	if (!dp->rmsg || !dp->wbuf || !dp->out || !dp->pl_ids)
		return -ENOMEM;
	p.name = res->name;
	p.node_id = res->node_id;
	p.cluster_uuid = res->cluster_uuid;
	p.secret = res->secret_len ? res->secret : NULL;
	p.secret_len = res->secret_len;
	p.listen = res->listen;
	dp->tr = prbd_tr_create(&p, ops, dp);
	if (IS_ERR(dp->tr)) {
		err = PTR_ERR(dp->tr);
		dp->tr = NULL;
		return err;
	}
	list_for_each_entry(peer, &res->peers, list) {
		if (peer->node_id >= PRBD_PX_MAX_NODES)
			continue;
		err = prbd_tr_add_peer(dp->tr, peer->node_id, &peer->addr);
		if (err) {
			prbd_repl_stop(dp);
			return err;
		}
	}
	return 0;
}

/**
 * prbd_repl_stop() - disconnect; no callback runs after it returns
 * @dp: the data path
 *
 * Every sender reads dp->tr once and sends only through what it read: the
 * drive and tick works (dp->wq), the transport's own callbacks, and the
 * open and netlink paths, which prbd_dp_down() excludes (it refuses while
 * the device is open, and holds prbd_cfg_mutex).  So: hide the transport,
 * wait for the works that may still hold it, then free it.  Callbacks
 * running meanwhile find dp->tr NULL; the destroy waits for them.
 *
 * Context: prbd_cfg_mutex held.
 */
void prbd_repl_stop(struct prbd_dp *dp)
{
	struct prbd_tr *tr = dp->tr;

	debugfs_remove(dp->dbg);	/* waits for its readers */
	dp->dbg = NULL;
	if (tr) {
		WRITE_ONCE(dp->tr, NULL);
		if (dp->wq)
			flush_workqueue(dp->wq);
		prbd_tr_destroy(tr);
		/* works the last callbacks kicked, before the buffers go */
		if (dp->wq)
			flush_workqueue(dp->wq);
	}
	prbd_pl_drop_all(dp);
	if (dp->pl_ids) {	/* prbd_repl_start() allocated them */
		mutex_lock(&dp->pl_evict_lock);
		kvfree(dp->pl_ids);
		dp->pl_ids = NULL;
		mutex_unlock(&dp->pl_evict_lock);
	}
	kvfree(dp->out);
	dp->out = NULL;
	kfree(dp->wbuf);
	dp->wbuf = NULL;
	kvfree(dp->rmsg);
	dp->rmsg = NULL;
}
