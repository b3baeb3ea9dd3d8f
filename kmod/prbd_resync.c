// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: bulk resync - copies the chunks a node missed (per the slot map,
 * prbd_map.c) from the leader while writes go on; also the data-area
 * reads and writes serialised against applies and the PRBD_MSG_RS frames
 * that online verify (prbd_verify.c) shares.
 *
 * Resync (this node the target T, the leader the source S).  When the core
 * says this node fell behind the retained log (needs_resync), or a resync
 * was under way when it stopped, or a range repair is asked for:
 *  1. T records durably that its data area is inconsistent, from which
 *     applied index X it copies and (later) how far it got.  From now on it
 *     does not vote (prbd_px_set_novote()), refuses to become primary and
 *     fails reads.
 *  2. BEGIN: S answers with its recorded applied index A (the one its
 *     metadata holds, which no crash of S takes back) and configuration.  T
 *     installs A in its core (prbd_px_install()): it accepts, learns and
 *     applies every slot after A like any follower from now on.
 *  3. MAP: T fetches the bitmap of chunks whose entry on S is above X (all
 *     of them for a new or wiped disk: X = 0).
 *  4. REQ/DATA: T asks for those chunks in pieces of up to 256 KiB, a few
 *     at a time and at most at the resync rate.  S reads a piece when no
 *     apply overlapping it is in flight and holds later overlapping applies
 *     back until the read is done, so the piece is exactly the state after
 *     slot s = its last started slot, which it sends along.  T writes the
 *     piece only if no slot above s touched the chunk on T (its own map
 *     entry; otherwise it asks again), again serialised against its own
 *     applies.  Slots up to s that T applies after the write only rewrite
 *     what the piece already holds, so once T has applied s the piece is
 *     current: a resync write never overwrites a newer application write.
 *  5. When every piece is written and T has applied the highest s it got,
 *     a checkpoint flushes the data area and clears the inconsistent flag;
 *     T votes again.
 * A crash of T resumes from the recorded cursor (pieces below it are
 * durable); a lost source (leader change, disconnect, 10 s without answer)
 * restarts the exchange with the new leader at the first piece not
 * written.  T never clears the flag before every chunk is copied.
 *
 * Locking: dp->rs_lock (spinlock) protects what arrives from the transport
 * and netlink for the drive work (rs_rx, rs_queue, ver_rx, ver_req);
 * everything else belongs to the drive work.  It nests inside nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_trace_helpers.h"
#include "prbd_transport.h"
#include "prbd_wire.h"

#define PRBD_RS_MAP_BITS	65536u		/* chunks per MAP reply */
#define PRBD_RS_SERVE_MAX	64		/* reads queued for peers */

static_assert(sizeof(struct prbd_wire_rs) + PRBD_RS_CRCS * 4 <=
	      PRBD_WIRE_MAX_HDR);

/* --- data-area I/O serialised against applies ---------------------------- */

/* Is a resync or verify I/O overlapping these bytes in flight? */
bool prbd_rs_overlaps(struct prbd_dp *dp, u64 sector, u32 len)
{
	struct prbd_rs_io *io;

	list_for_each_entry(io, &dp->rs_ios, list)
		if (sector < (io->off >> SECTOR_SHIFT) +
			     (io->len >> SECTOR_SHIFT) &&
		    io->off >> SECTOR_SHIFT < sector + (len >> SECTOR_SHIFT))
			return true;
	return false;
}

void prbd_rs_io_free(struct prbd_rs_io *io)
{
	unsigned int i;

	for (i = 0; i < io->nr; i++)
		if (io->pages[i])
			__free_page(io->pages[i]);
	kfree(io->bvec);
	kfree(io);
}

struct prbd_rs_io *prbd_rs_io_alloc(struct prbd_dp *dp, u8 kind, u64 off,
				    u32 len)
{
	unsigned int i, nr = DIV_ROUND_UP(len, PAGE_SIZE);
	struct prbd_rs_io *io;

	io = kzalloc(struct_size(io, pages, nr), GFP_NOIO);
	if (!io)
		return NULL;
	INIT_LIST_HEAD(&io->list);
	io->dp = dp;
	io->kind = kind;
	io->off = off;
	io->len = len;
	for (i = 0; i < nr; i++) {
		io->pages[i] = alloc_page(GFP_NOIO | __GFP_ZERO);
		if (!io->pages[i]) {
			io->nr = i;
			prbd_rs_io_free(io);
			return NULL;
		}
	}
	io->nr = nr;
	return io;
}

static void prbd_rs_endio(struct bio *bio)
{
	struct prbd_rs_io *io = bio->bi_private;

	if (bio->bi_status)
		io->err = blk_status_to_errno(bio->bi_status);
	bio_put(bio);
	llist_add(&io->done_node, io->kind == PRBD_RSIO_VLOCAL ?
		  &io->dp->ver_done : io->kind == PRBD_RSIO_PREAD ?
		  &io->dp->pr_done : &io->dp->rs_done);
	prbd_dp_kick(io->dp);
}

/*
 * Start @io if nothing overlapping is in flight (drive work).  It then
 * holds back later overlapping applies until it completes.  Its slot is the
 * last slot started: the data it reads is the state after that slot.
 */
bool prbd_rs_io_try(struct prbd_dp *dp, struct prbd_rs_io *io)
{
	u64 sector = io->off >> SECTOR_SHIFT;
	struct bio *bio;

	if (prbd_apply_busy(dp, sector, io->len) ||
	    prbd_rs_overlaps(dp, sector, io->len))
		return false;
	if (io->kind != PRBD_RSIO_WRITE) {
		io->slot = dp->apply_next - 1;
		io->mapval = prbd_map_max(dp, io->off, io->len);
	}
	bio = prbd_pages_bio(dp, NULL, io->pages, io->len,
			     dp->data_sect + sector,
			     io->kind == PRBD_RSIO_WRITE ? REQ_OP_WRITE :
			     REQ_OP_READ);
	bio->bi_end_io = prbd_rs_endio;
	bio->bi_private = io;
	list_add_tail(&io->list, &dp->rs_ios);
	submit_bio(bio);
	return true;
}

/* --- messages ------------------------------------------------------------- */

static void prbd_rs_pages_sent(void *arg, int err)
{
	prbd_rs_io_free(arg);
}

/* Send a resync message; @io's pages (if any) are the payload and freed. */
int prbd_rs_send(struct prbd_dp *dp, u32 node, struct prbd_wire_rs *w,
		 u32 hdr_len, struct prbd_rs_io *io)
{
	struct bio_vec *bv = NULL;
	unsigned int i;
	int err;

	if (io) {
		bv = kcalloc(io->nr, sizeof(*bv), GFP_NOIO);
		if (!bv) {
			prbd_rs_io_free(io);
			return -ENOMEM;
		}
		for (i = 0; i < io->nr; i++)
			bvec_set_page(&bv[i], io->pages[i],
				      min_t(u32, PAGE_SIZE,
					    io->len - i * PAGE_SIZE), 0);
		io->bvec = bv;
	}
	err = prbd_repl_send_frame(dp, node, PRBD_MSG_RS, w, hdr_len, bv,
				   io ? io->nr : 0, io ? io->len : 0,
				   io ? prbd_rs_pages_sent : NULL, io);
	if (err && io)
		prbd_rs_io_free(io);
	return err;
}

static void prbd_rs_reply(struct prbd_dp *dp, u32 node,
			  const struct prbd_wire_rs *req, u8 op, u16 status)
{
	struct prbd_wire_rs r = {};

	r.op = op;
	r.status = cpu_to_le16(status);
	r.gen = req->gen;
	r.off = req->off;
	r.len = req->len;
	prbd_rs_send(dp, node, &r, sizeof(r), NULL);
}

/* --- source side ------------------------------------------------------ */

static bool prbd_rs_whole(struct prbd_dp *dp)
{
	return !READ_ONCE(dp->rs_inconsistent) && !READ_ONCE(dp->needs_resync);
}

/*
 * The install point is the applied slot our metadata records: after a
 * crash this node restarts from that one (and replays what its log knows
 * chosen), never from a later one it had applied only in memory, and must
 * still hold every slot after it.  A BEGIN that finds the record behind
 * what is applied waits for a checkpoint (asked for at once) rather than
 * install its target far back: the target would have to log and apply
 * again everything in between (prbd_rs_drive_begin()).
 */
static void prbd_rs_answer_begin(struct prbd_dp *dp, u32 from,
				 const struct prbd_wire_rs *w);

static void prbd_rs_on_begin(struct prbd_dp *dp, u32 from,
			     const struct prbd_wire_rs *w)
{
	if (READ_ONCE(dp->applied_disk) < dp->applied) {
		dp->rs_begin_from = from;
		dp->rs_begin_gen = w->gen;
		dp->rs_begin_off = w->off;
		dp->rs_begin_len = w->len;
		dp->rs_begin_flags = w->flags;
		dp->rs_begin_epoch = w->slot;
		dp->rs_begin_want = dp->applied;
		WRITE_ONCE(dp->ckpt_now, true);
		queue_work(dp->pwq, &dp->persist_work);
		return;
	}
	prbd_rs_answer_begin(dp, from, w);
}

/* Answer a BEGIN held for a checkpoint, once it is done (drive work). */
static void prbd_rs_drive_begin(struct prbd_dp *dp)
{
	struct prbd_wire_rs w = {};

	if (!dp->rs_begin_from ||
	    READ_ONCE(dp->applied_disk) < dp->rs_begin_want)
		return;
	w.op = PRBD_RS_BEGIN;
	w.gen = dp->rs_begin_gen;
	w.off = dp->rs_begin_off;
	w.len = dp->rs_begin_len;
	w.flags = dp->rs_begin_flags;
	w.slot = dp->rs_begin_epoch;
	prbd_rs_answer_begin(dp, dp->rs_begin_from, &w);
	dp->rs_begin_from = 0;
}

static void prbd_rs_answer_begin(struct prbd_dp *dp, u32 from,
				 const struct prbd_wire_rs *w)
{
	struct prbd_wire_rs r = {};
	struct prbd_px_status st;
	bool lead;

	spin_lock(&dp->px_lock);
	lead = dp->role == PRBD_PX_LEADER;
	prbd_px_status(dp->px, &st);
	spin_unlock(&dp->px_lock);
	/*
	 * Flush mode: a node of the epoch asked for answers without leading
	 * (a reset, or a copy while no leader can be elected, "Resets"
	 * below).  What its metadata records as applied is a prefix of what
	 * that epoch chose past its base, like a leader's: chosen values of
	 * an epoch are never taken back but by a newer epoch.
	 */
	if (!lead && (w->flags & PRBD_RS_F_EPOCH) && dp->flush_mode &&
	    le64_to_cpu(w->slot) == st.epoch && !st.reset_rank &&
	    READ_ONCE(dp->applied_disk) >= st.epoch_base)
		lead = true;
	if (!lead) {
		prbd_rs_reply(dp, from, w, PRBD_RS_BEGIN_R, PRBD_RS_E_NOT_LEADER);
		return;
	}
	if (!prbd_rs_whole(dp)) {
		prbd_rs_reply(dp, from, w, PRBD_RS_BEGIN_R,
			      PRBD_RS_E_INCONSISTENT);
		return;
	}
	r.op = PRBD_RS_BEGIN_R;
	r.gen = w->gen;
	r.flags = w->flags & PRBD_RS_F_EPOCH;
	r.done = cpu_to_le64(st.epoch);
	r.total = cpu_to_le64(st.erank);
	r.chunk_shift = cpu_to_le32(dp->map_shift);
	r.data_size = cpu_to_le64(dp->data_size);
	r.slot = cpu_to_le64(READ_ONCE(dp->applied_disk));
	r.mapval = cpu_to_le64(st.cfg_slot);
	r.voters = cpu_to_le16(st.voters);
	r.learners = cpu_to_le16(st.learners);
	pr_info_ratelimited("%s: node %u starts a resync from this node (install at slot %llu)\n",
			    dp->res->name, from, le64_to_cpu(r.slot));
	prbd_rs_send(dp, from, &r, sizeof(r), NULL);
}

static void prbd_rs_on_map_req(struct prbd_dp *dp, u32 from,
			       const struct prbd_wire_rs *w)
{
	u64 first = le64_to_cpu(w->off), n = le32_to_cpu(w->len);
	u64 since = le64_to_cpu(w->from), i;
	bool full = w->flags & PRBD_RS_F_FULL;
	struct prbd_wire_rs r = {};
	struct prbd_rs_io *io;
	unsigned long *bm;

	if (le32_to_cpu(w->chunk_shift) != dp->map_shift ||
	    le64_to_cpu(w->data_size) != dp->data_size ||
	    first >= dp->map_chunks || !n || n > PRBD_RS_MAP_BITS ||
	    n > dp->map_chunks - first) {
		prbd_rs_reply(dp, from, w, PRBD_RS_MAP, PRBD_RS_E_GEOMETRY);
		return;
	}
	io = prbd_rs_io_alloc(dp, PRBD_RSIO_READ, 0, DIV_ROUND_UP(n, 8));
	if (!io) {
		prbd_rs_reply(dp, from, w, PRBD_RS_MAP, PRBD_RS_E_NOMEM);
		return;
	}
	/* the bitmap in the io's pages (contiguous bits per page) */
	spin_lock(&dp->map_lock);
	for (i = 0; i < n; i++) {
		if (!full && dp->map[first + i] <= since)
			continue;
		bm = page_address(io->pages[(i / 8) / PAGE_SIZE]);
		((u8 *)bm)[(i / 8) % PAGE_SIZE] |= 1u << (i % 8);
	}
	spin_unlock(&dp->map_lock);
	r.op = PRBD_RS_MAP;
	r.gen = w->gen;
	r.off = w->off;
	r.len = w->len;
	prbd_rs_send(dp, from, &r, sizeof(r), io);
}

/* REQ and CRC_REQ: queued for the drive work, which reads serialised. */
static void prbd_rs_on_read_req(struct prbd_dp *dp, u32 from,
				const struct prbd_wire_rs *w)
{
	u64 off = le64_to_cpu(w->off);
	u32 len = le32_to_cpu(w->len);
	bool crc = w->op == PRBD_RS_CRC_REQ;
	struct prbd_rs_io *io;
	struct prbd_peer *peer;

	if (!len || len > PRBD_RS_PIECE || !IS_ALIGNED(off, PRBD_RS_BLOCK) ||
	    !IS_ALIGNED(len, SECTOR_SIZE) || off >= dp->data_size ||
	    len > dp->data_size - off) {
		prbd_rs_reply(dp, from, w, crc ? PRBD_RS_CRC : PRBD_RS_DATA,
			      PRBD_RS_E_GEOMETRY);
		return;
	}
	if (!prbd_rs_whole(dp)) {
		prbd_rs_reply(dp, from, w, crc ? PRBD_RS_CRC : PRBD_RS_DATA,
			      PRBD_RS_E_INCONSISTENT);
		return;
	}
	if (!crc) {
		/* what status shows for this peer (RCU: struct prbd_peer) */
		rcu_read_lock();
		list_for_each_entry_rcu(peer, &dp->res->peers, list) {
			if (peer->node_id != from)
				continue;
			WRITE_ONCE(peer->rs_done, le64_to_cpu(w->done));
			WRITE_ONCE(peer->rs_total, le64_to_cpu(w->total));
			WRITE_ONCE(peer->rs_rate, le64_to_cpu(w->rate));
		}
		rcu_read_unlock();
		WRITE_ONCE(dp->rpeer[from].rs_seen, jiffies);
	}
	/* a peer asks for a few pieces at a time: more is a bug or abuse */
	io = atomic_inc_return(&dp->rs_nserve) > PRBD_RS_SERVE_MAX ? NULL :
	     prbd_rs_io_alloc(dp, crc ? PRBD_RSIO_CRC : PRBD_RSIO_READ, off,
			      len);
	if (!io) {
		atomic_dec(&dp->rs_nserve);
		prbd_rs_reply(dp, from, w, crc ? PRBD_RS_CRC : PRBD_RS_DATA,
			      PRBD_RS_E_NOMEM);
		return;
	}
	io->peer = from;
	io->gen = le32_to_cpu(w->gen);
	spin_lock(&dp->rs_lock);
	list_add_tail(&io->list, &dp->rs_queue);
	spin_unlock(&dp->rs_lock);
	prbd_dp_kick(dp);
}

void prbd_rs_crcs(struct prbd_rs_io *io, __le32 *out, u32 *n)
{
	u32 i, b, per = PAGE_SIZE / PRBD_RS_BLOCK;
	void *p;

	*n = DIV_ROUND_UP(io->len, PRBD_RS_BLOCK);
	for (i = 0; i < *n; i++) {
		b = min_t(u32, PRBD_RS_BLOCK, io->len - i * PRBD_RS_BLOCK);
		p = kmap_local_page(io->pages[i / per]);
		out[i] = cpu_to_le32(~crc32c(~0U, p + (i % per) * PRBD_RS_BLOCK,
					     b));
		kunmap_local(p);
	}
}

/* A served read completed: send DATA or CRC. */
static void prbd_rs_served(struct prbd_dp *dp, struct prbd_rs_io *io)
{
	struct prbd_wire_rs *r = dp->rs_wbuf;
	bool failed;
	u32 n = 0;

	atomic_dec(&dp->rs_nserve);
	memset(r, 0, sizeof(*r));
	r->gen = cpu_to_le32(io->gen);
	r->off = cpu_to_le64(io->off);
	r->len = cpu_to_le32(io->len);
	r->slot = cpu_to_le64(io->slot);
	r->mapval = cpu_to_le64(io->mapval);
	if (io->err)
		r->status = cpu_to_le16(PRBD_RS_E_INCONSISTENT);
	if (io->kind == PRBD_RSIO_CRC) {
		r->op = PRBD_RS_CRC;
		if (!io->err)
			prbd_rs_crcs(io, r->crc, &n);
		r->n_crc = cpu_to_le32(n);
		prbd_rs_send(dp, io->peer, r, sizeof(*r) + n * sizeof(r->crc[0]),
			     NULL);
		prbd_rs_io_free(io);
		return;
	}
	r->op = PRBD_RS_DATA;
	/* once handed over, io is the transport's: freed when sent */
	failed = io->err;
	prbd_rs_send(dp, io->peer, r, sizeof(*r), failed ? NULL : io);
	if (failed)
		prbd_rs_io_free(io);
}

/*
 * prbd_rs_installed() - the core installed @slot: the data path follows
 * @dp: the data path
 * @slot: the slot a resync source had applied
 *
 * Context: drive work.  Every slot up to @slot counts as applied: the
 * resync copies what they wrote.
 */
static void prbd_rs_installed(struct prbd_dp *dp, u64 slot)
{
	struct prbd_px_status st;

	spin_lock(&dp->px_lock);
	prbd_px_status(dp->px, &st);
	spin_unlock(&dp->px_lock);
	/* the core's log starts after it: see prbd_log_replaced() */
	WRITE_ONCE(dp->installed, st.applied);
	if (st.applied <= dp->applied)
		return;	/* nothing installed: we were ahead already */
	dp->applied = st.applied;
	dp->apply_next = max(dp->apply_next, st.applied + 1);
	dp->apply_hi = max(dp->apply_hi, st.applied);
	spin_lock(&dp->res->lock);
	dp->res->applied_index = dp->applied;
	spin_unlock(&dp->res->lock);
	/*
	 * Payloads of the slots skipped are idle now: the bound drops the
	 * oldest.  Not all of them at once: those of the slots after the
	 * install, relayed ahead of their accepts, are idle too until the
	 * accepts arrive, and one dropped is asked for again, perhaps of a
	 * leader whose log released it meanwhile (PLGONE: another install).
	 */
	prbd_pl_evict(dp, PRBD_PL_IDLE_MAX, true);
}

/*
 * The core installed @slot for a reset (see "Resets" below): no record of
 * a batch issued before (token <= @tok, the old epoch's) is written any
 * more, and the log's seq now is the floor; what this node applied is of
 * another epoch, so the data path goes back to @slot (down, perhaps), the
 * map and the catch-up history are forgotten, and the install becomes
 * durable with the first acceptor state of the epoch (reset_gen).
 * Context: drive work, no apply in flight (prbd_rs_on_reply()).
 */
static void prbd_rs_reset_installed(struct prbd_dp *dp, u64 slot, u64 tok)
{
	dp->reset_floor = prbd_log_fence(dp, tok);
	dp->reset_slot = slot;
	dp->reset_to = dp->rst.epoch;
	WRITE_ONCE(dp->installed, slot);
	dp->applied = slot;
	dp->apply_next = slot + 1;
	dp->apply_hi = slot;
	spin_lock(&dp->res->lock);
	dp->res->applied_index = slot;
	spin_unlock(&dp->res->lock);
	/* the core resets no more: the next ready says so too */
	dp->reset_epoch = 0;
	dp->reset_rank = 0;
	dp->px_epoch = dp->reset_to;
	prbd_map_reset(dp);
	prbd_catchup_forget(dp, ULONG_MAX);
	prbd_pl_evict(dp, PRBD_PL_IDLE_MAX, true);
	/* the slot, floor and epoch first: prbd_reset_gen() acquires */
	smp_store_release(&dp->reset_gen, dp->reset_gen + 1);
	WRITE_ONCE(dp->ckpt_now, true);
	queue_work(dp->pwq, &dp->persist_work);
	pr_warn("%s: reset to epoch %llu: installed slot %llu; log records up to seq %llu dropped\n",
		dp->res->name, dp->reset_to, slot, dp->reset_floor);
}

/* --- target side ----------------------------------------------------------- */

static void prbd_rs_notify(struct prbd_dp *dp, enum prbd_resync_event ev)
{
	struct prbd_rs_target *t = &dp->rst;

	spin_lock(&dp->res->lock);
	dp->res->rs.running = ev != PRBD_RESYNC_EVENT_FINISH &&
			      t->state != PRBD_RST_IDLE;
	dp->res->rs.source = t->source;
	dp->res->rs.done = t->done;
	dp->res->rs.total = t->total;
	dp->res->rs.rate = t->rate;
	spin_unlock(&dp->res->lock);
	trace_prbd_resync_progress(prbd_dp_minor(dp), t->source, t->done,
				   t->total);
	prbd_nl_notify_resync(dp->res, t->source, ev, t->done, t->total,
			      t->rate);
}

/* Lowest offset not written yet: what may be recorded as the cursor. */
static u64 prbd_rs_safe_cursor(struct prbd_dp *dp)
{
	struct prbd_rs_target *t = &dp->rst;
	u64 c = t->next;
	u32 i;

	for (i = 0; i < t->n_out; i++)
		c = min(c, t->out[i]);
	return c;
}

/* Forget the outstanding exchange (a new one starts with a new gen). */
static void prbd_rs_reset(struct prbd_dp *dp)
{
	struct prbd_rs_target *t = &dp->rst;

	t->cursor = min(t->cursor, prbd_rs_safe_cursor(dp));
	t->gen++;
	t->n_out = 0;
	t->next = t->cursor;
	t->source = 0;
	t->begun = false;
	t->map_have = 0;
}

/**
 * prbd_rs_start() - begin (or resume) a resync into this node
 * @dp: the data path
 * @range: a repair of [@off, @off + @len) only: no install, no vote change
 * @off: bytes
 * @len: bytes
 *
 * Context: drive work.
 */
static void prbd_rs_start(struct prbd_dp *dp, bool range, u64 off, u64 len)
{
	struct prbd_rs_target *t = &dp->rst;
	bool reset = !range && dp->reset_rank;

	if (t->state != PRBD_RST_IDLE)
		return;
	t->reset = reset;
	t->epoch = dp->reset_epoch;
	kfree(t->bm);
	t->bm = NULL;
	t->range = range;
	t->done = 0;
	t->total = 0;
	t->need = dp->rs_need;
	t->started = jiffies;
	t->rate = 0;
	t->rate_at = jiffies;
	t->rate_bytes = 0;
	t->tok_at = jiffies;
	t->tokens = 0;
	t->counted = false;
	t->n_out = 0;
	t->stale = 0;
	if (range) {
		t->cursor = off;
		t->end = off + len;
		t->total = len;
		t->full = true;
		t->state = PRBD_RST_RUN;
	} else if (dp->rs_inconsistent && !reset) {
		/* resume what the metadata says (or the durable begin) */
		t->cursor = dp->rs_cursor << dp->map_shift;
		t->end = dp->data_size;
		t->full = dp->rs_full;
		t->state = PRBD_RST_RUN;
	} else {
		/* a reset: whatever this node holds is another epoch's */
		dp->rs_from = reset ? 0 : dp->applied;
		dp->rs_full = reset || !dp->applied;
		dp->rs_cursor = 0;
		dp->rs_need = 0;
		t->need = 0;
		t->cursor = 0;
		t->end = dp->data_size;
		t->full = dp->rs_full;
		/* durable before anything is installed or copied */
		t->state = PRBD_RST_PERSIST;
		WRITE_ONCE(dp->rs_inconsistent, true);
		WRITE_ONCE(dp->rs_flags_want, PRBD_DISK_ACC_F_INCONSISTENT |
			   (dp->rs_full ? PRBD_DISK_ACC_F_RS_FULL : 0));
		queue_work(dp->pwq, &dp->persist_work);
	}
	if (!range) {
		spin_lock(&dp->px_lock);
		prbd_px_set_novote(dp->px, true);
		spin_unlock(&dp->px_lock);
		spin_lock(&dp->res->lock);
		dp->res->disk_state = PRBD_DISK_STATE_INCONSISTENT;
		spin_unlock(&dp->res->lock);
		dp->res_changed = true;
	}
	t->since = dp->rs_from;
	t->next = t->cursor;
	prbd_rs_reset(dp);
	if (range)
		pr_info("%s: range repair of bytes %llu+%llu from the leader\n",
			dp->res->name, off, len);
	else
		pr_info("%s: resync: %s from byte %llu (chunks written after slot %llu%s)%s\n",
			dp->res->name,
			t->state == PRBD_RST_PERSIST ? "starting" : "resuming",
			t->cursor, dp->rs_from, t->full ? ", all of them" : "",
			reset ? ": a reset to a newer epoch" : "");
	prbd_rs_notify(dp, PRBD_RESYNC_EVENT_START);
}

static void prbd_rs_abort(struct prbd_dp *dp, const char *why)
{
	struct prbd_rs_target *t = &dp->rst;

	if (t->state != PRBD_RST_RUN || !t->source)
		return;
	pr_warn("%s: resync from node %u interrupted (%s); it continues from byte %llu\n",
		dp->res->name, t->source, why, t->cursor);
	prbd_rs_notify(dp, PRBD_RESYNC_EVENT_ABORT);
	prbd_rs_reset(dp);
	t->retry_at = jiffies + HZ / 2;
}

static u64 prbd_rs_bm_bits(struct prbd_dp *dp)
{
	return dp->map_chunks;
}

static bool prbd_rs_chunk_wanted(struct prbd_dp *dp, u64 chunk)
{
	struct prbd_rs_target *t = &dp->rst;

	return t->full || (t->bm && test_bit(chunk, t->bm));
}

/* Bytes still to copy from @from on (for total and ETA). */
static u64 prbd_rs_left(struct prbd_dp *dp, u64 from)
{
	struct prbd_rs_target *t = &dp->rst;
	u64 c, bytes = 0, cs = 1ULL << dp->map_shift;

	if (t->full)
		return t->end > from ? t->end - from : 0;
	for (c = prbd_map_chunk(dp, from); c < dp->map_chunks; c++)
		if (test_bit(c, t->bm))
			bytes += min(cs, dp->data_size - (c << dp->map_shift));
	return bytes;
}

static void prbd_rs_send_req(struct prbd_dp *dp, u8 op, u64 off, u32 len)
{
	struct prbd_rs_target *t = &dp->rst;
	struct prbd_wire_rs w = {};

	w.op = op;
	w.flags = t->full ? PRBD_RS_F_FULL : 0;
	w.gen = cpu_to_le32(t->gen);
	w.off = cpu_to_le64(off);
	w.len = cpu_to_le32(len);
	w.chunk_shift = cpu_to_le32(dp->map_shift);
	w.data_size = cpu_to_le64(dp->data_size);
	w.from = cpu_to_le64(t->since);
	w.done = cpu_to_le64(t->done);
	w.total = cpu_to_le64(t->total);
	w.rate = cpu_to_le64(t->rate);
	if (!prbd_rs_send(dp, t->source, &w, sizeof(w), NULL))
		t->sent_at = jiffies;
}

static bool prbd_rs_rate_ok(struct prbd_dp *dp, u32 len)
{
	struct prbd_rs_target *t = &dp->rst;
	u64 cap = (u64)READ_ONCE(dp->res->resync_rate) << 10;
	unsigned long now = jiffies;

	if (!cap)
		return true;
	t->tokens = min_t(u64, t->tokens +
			  cap * jiffies_to_msecs(now - t->tok_at) / 1000,
			  max_t(u64, cap / 10, PRBD_RS_PIECE));
	t->tok_at = now;
	if (t->tokens < len)
		return false;
	t->tokens -= len;
	return true;
}

static void prbd_rs_finish(struct prbd_dp *dp)
{
	struct prbd_rs_target *t = &dp->rst;
	unsigned long secs = max(1UL, (jiffies - t->started) / HZ);

	pr_info("%s: %s from node %u done: %llu bytes in %lu s (%llu KiB/s; %u pieces asked again, newer writes had touched them)\n",
		dp->res->name, t->range ? "range repair" : "resync",
		t->source, t->done, secs, t->done / secs >> 10, t->stale);
	t->state = PRBD_RST_IDLE;
	kfree(t->bm);
	t->bm = NULL;
	if (!t->range) {
		spin_lock(&dp->px_lock);
		/* a disk failed meanwhile stays detached */
		prbd_px_set_novote(dp->px, READ_ONCE(dp->failed));
		spin_unlock(&dp->px_lock);
		spin_lock(&dp->res->lock);
		if (dp->res->disk_state == PRBD_DISK_STATE_INCONSISTENT)
			dp->res->disk_state = PRBD_DISK_STATE_ATTACHED;
		spin_unlock(&dp->res->lock);
		dp->res_changed = true;
	}
	prbd_rs_notify(dp, PRBD_RESYNC_EVENT_FINISH);
}

/*
 * Every chunk is copied, but a slot after dp->applied cannot be applied
 * here: its payload is gone at the leader (t->gone; its log released it,
 * a persist batch of ours waits for it for ever).  Exchange again: the
 * BEGIN installs the leader's recorded applied index, past that slot (the
 * batch then skips the records below it, prbd_log_write_batch()), and the
 * chunks written after dp->applied are copied again.  Those are all that
 * differ from the leader's state: every chunk here holds the state after
 * dp->applied or after the later slot its piece was read at, and a chunk
 * no slot after dp->applied touched is the same in both.  In memory only:
 * a crash resumes the recorded exchange, from rs_from (a superset).
 */
static void prbd_rs_restart(struct prbd_dp *dp)
{
	struct prbd_rs_target *t = &dp->rst;

	pr_warn("%s: resync: the leader no longer has the payload of slot %llu (applied %llu): installing again, then copying the chunks written after slot %llu\n",
		dp->res->name, t->gone, dp->applied, dp->applied);
	/* a reset copies everything, whatever slot it reached */
	t->full = t->reset || dp->reset_disk;
	t->since = t->full ? 0 : dp->applied;
	t->gone = 0;
	t->cursor = 0;
	t->next = 0;
	t->counted = false;
	kfree(t->bm);
	t->bm = NULL;
	t->state = PRBD_RST_RUN;
	WRITE_ONCE(dp->rs_cursor, 0);
	prbd_rs_reset(dp);
	prbd_rs_notify(dp, PRBD_RESYNC_EVENT_START);
}

/*
 * The leader has a payload this node waits for (slot @slot) neither in its
 * cache nor in its log (PRBD_MSG_PLGONE): nothing can teach it here but a
 * resync to a later slot.  Idle: start one (the BEGIN installs past the
 * slot).  Copying: note it; once every chunk is copied and the slot is
 * still not applied, prbd_rs_restart() installs again.  A range repair:
 * asked again after it (every 200 ms), so nothing now.
 */
static void prbd_rs_gone(struct prbd_dp *dp, u64 slot)
{
	struct prbd_rs_target *t = &dp->rst;

	if (slot <= dp->applied || READ_ONCE(dp->failed) ||
	    READ_ONCE(dp->stopping))
		return;
	if (t->state == PRBD_RST_IDLE) {
		pr_warn("%s: the leader no longer has the payload of slot %llu (applied %llu): resync\n",
			dp->res->name, slot, dp->applied);
		prbd_rs_start(dp, false, 0, 0);
	}
	if (!t->range && t->state != PRBD_RST_IDLE)
		t->gone = max(t->gone, slot);
}

/* The target's state machine (drive work). */
/*
 * Resets (flush mode; "Flush mode" in paxos/prbd_paxos.c).  A node that
 * hears of a newer epoch (a lossy election it did not take part in) is
 * told by its core to reset: its log and data area may hold values that
 * election dropped.  It copies the whole data area from a node of that
 * epoch, leading or not (the core takes nothing of the epoch before the
 * install, so it may not know its leader; and after a power cut of every
 * node the lossy leader cannot keep leading until another node is whole
 * again), chosen by the epoch its peers' core messages carry:
 *  - BEGIN with PRBD_RS_F_EPOCH names the epoch; a whole node of it
 *    answers with its recorded applied index (at least the epoch's base)
 *    and its epoch, which the target checks;
 *  - the install (prbd_rs_reset_installed()) fences the log: no record of a
 *    batch issued before it is written any more, and the log's seq then
 *    is the floor below which a restart ignores every record; the data
 *    path forgets what it applied (dp->applied goes down to the install
 *    slot), the slot map and the catch-up history;
 *  - the first acceptor state of the new epoch carries the install slot
 *    as applied index, the floor and PRBD_DISK_ACC_F_RESET
 *    (prbd_hs_to_state()): a restart after it copies everything again
 *    from byte 0, one before it is still in the old epoch and resets
 *    again;
 *  - the copy is every chunk (every entry of the map counts for
 *    nothing); the flag goes with the inconsistent one, at the
 *    checkpoint after the copy, which never happens before the install
 *    is durable.
 * The node's acknowledgements are non-voting until then, so nothing
 * chosen depends on what it drops.
 */

/* A peer up whose last core message was of @epoch, the highest rank first. */
static u8 prbd_rs_pick_source(struct prbd_dp *dp, u64 epoch)
{
	struct prbd_rs_target *t = &dp->rst;
	u64 rank = 0;
	u8 best = 0;
	u32 i;

	for (i = 1; i < PRBD_PX_MAX_NODES; i++) {
		struct prbd_repl_peer *p = &dp->rpeer[i];

		if (i == dp->res->node_id || !p->up ||
		    (t->refused & BIT(i)) || READ_ONCE(p->epoch) != epoch ||
		    time_after(jiffies, READ_ONCE(p->epoch_at) + 10 * HZ))
			continue;
		if (!best || READ_ONCE(p->erank) > rank) {
			best = i;
			rank = READ_ONCE(p->erank);
		}
	}
	if (!best && t->refused) {
		t->refused = 0;		/* all refused lately: ask again */
		t->retry_at = jiffies + HZ;
	}
	return best;
}

/*
 * The core resets to a newer epoch while a resync runs (or ran, towards
 * another epoch): start again as a reset, from byte 0.  A range repair
 * is given up.
 */
static void prbd_rs_redo(struct prbd_dp *dp)
{
	struct prbd_rs_target *t = &dp->rst;

	if (t->state == PRBD_RST_IDLE)
		return;
	if (t->state == PRBD_RST_RUN && t->source)
		prbd_rs_abort(dp, "the node resets to a newer epoch");
	prbd_rs_reset(dp);
	kfree(t->bm);
	t->bm = NULL;
	t->state = PRBD_RST_IDLE;
	if (t->range) {
		pr_warn("%s: range repair given up: the node resets to a newer epoch\n",
			dp->res->name);
		prbd_rs_notify(dp, PRBD_RESYNC_EVENT_ABORT);
		return;
	}
	prbd_rs_start(dp, false, 0, 0);
}

static void prbd_rs_target(struct prbd_dp *dp)
{
	struct prbd_rs_target *t = &dp->rst;
	u64 c, cs = 1ULL << dp->map_shift, epoch;
	struct prbd_wire_rs w = {};
	u8 leader;
	u32 len;

	if (t->state == PRBD_RST_PERSIST &&
	    (READ_ONCE(dp->rs_flags_disk) & PRBD_DISK_ACC_F_INCONSISTENT))
		t->state = PRBD_RST_RUN;
	if (t->state == PRBD_RST_IDLE || t->state == PRBD_RST_PERSIST)
		return;
	if (dp->reset_rank && !t->range &&
	    (!t->reset || t->epoch != dp->reset_epoch)) {
		prbd_rs_redo(dp);	/* the core resets to a newer epoch */
		return;
	}
	if (t->state == PRBD_RST_DONE) {
		/* a reset's install durable first (prbd_hs_to_state()) */
		if (READ_ONCE(dp->reset_done) != dp->reset_gen)
			return;
		/* copied: wait for the slots the pieces were read at */
		if (dp->applied < t->need) {
			if (t->gone > dp->applied && !t->range)
				prbd_rs_restart(dp);
			return;
		}
		if (t->range) {
			prbd_rs_finish(dp);
			return;
		}
		/* the checkpoint flushes and clears the flag */
		t->state = PRBD_RST_CLEAR;
		WRITE_ONCE(dp->rs_flags_want, 0);
		queue_work(dp->pwq, &dp->persist_work);
		return;
	}
	if (t->state == PRBD_RST_CLEAR) {
		if (!(READ_ONCE(dp->rs_flags_disk) &
		      PRBD_DISK_ACC_F_INCONSISTENT)) {
			WRITE_ONCE(dp->rs_inconsistent, false);
			prbd_rs_finish(dp);
		}
		return;
	}
	spin_lock(&dp->px_lock);
	leader = dp->leader;
	epoch = dp->px_epoch;
	spin_unlock(&dp->px_lock);
	if (t->source && t->any && (!dp->rpeer[t->source].up ||
				    READ_ONCE(dp->rpeer[t->source].epoch) !=
				    t->epoch))
		prbd_rs_abort(dp, "the source went away or left the epoch");
	if (t->source && !t->any && (t->source != leader ||
				     !dp->rpeer[t->source].up))
		prbd_rs_abort(dp, "the leader changed or went away");
	if (t->source && t->n_out && time_after(jiffies, t->sent_at +
						 PRBD_RS_TIMEOUT))
		prbd_rs_abort(dp, "no answer for 10 s");
	if (!t->source) {
		/* a fresh start installs: nothing older may be applying */
		if (time_before(jiffies, t->retry_at) ||
		    (!t->range && !list_empty(&dp->applies)))
			return;
		if (t->range && leader == dp->res->node_id) {
			pr_warn("%s: range repair given up: this node leads now\n",
				dp->res->name);
			t->state = PRBD_RST_IDLE;
			prbd_rs_notify(dp, PRBD_RESYNC_EVENT_ABORT);
			return;
		}
		if (!leader || leader == dp->res->node_id ||
		    leader >= PRBD_PX_MAX_NODES || !dp->rpeer[leader].up)
			leader = 0;
		/*
		 * Flush mode: a reset copies from a node of the epoch it
		 * resets to, whose leader it does not follow yet (the core
		 * takes nothing of that epoch before the install); and with
		 * no leader, any node of this node's epoch may serve: after a
		 * power cut of every node the one that won the lossy election
		 * cannot keep leading until another is whole again.
		 */
		t->any = !t->range && dp->flush_mode &&
			 (t->reset || !leader);
		if (t->any) {
			if (!t->reset)
				t->epoch = epoch;
			leader = prbd_rs_pick_source(dp, t->epoch);
		}
		if (!leader)
			return;
		t->source = leader;
		t->begun = false;
		if (t->range) {
			t->begun = true;
		} else {
			w.op = PRBD_RS_BEGIN;
			if (t->any) {
				w.flags = PRBD_RS_F_EPOCH;
				w.slot = cpu_to_le64(t->epoch);
				w.mapval = cpu_to_le64(dp->reset_rank);
				pr_info_ratelimited("%s: resync: asking node %u, of epoch %llu%s\n",
						    dp->res->name, leader,
						    t->epoch,
						    t->reset ? " (a reset)" : "");
			}
			w.gen = cpu_to_le32(t->gen);
			w.chunk_shift = cpu_to_le32(dp->map_shift);
			w.data_size = cpu_to_le64(dp->data_size);
			w.from = cpu_to_le64(t->since);
			if (prbd_rs_send(dp, t->source, &w, sizeof(w), NULL)) {
				t->source = 0;
				return;
			}
			t->sent_at = jiffies;
			t->n_out = 1;	/* the BEGIN: times out like a request */
			return;
		}
	}
	if (!t->begun)
		return;
	/* the bitmap of chunks to copy, whole, before copying */
	if (!t->full && t->map_have < prbd_rs_bm_bits(dp)) {
		if (t->n_out)
			return;
		len = min_t(u64, PRBD_RS_MAP_BITS,
			    prbd_rs_bm_bits(dp) - t->map_have);
		prbd_rs_send_req(dp, PRBD_RS_MAP_REQ, t->map_have, len);
		t->n_out = 1;
		return;
	}
	if (!t->counted) {
		t->counted = true;
		t->total = t->done + prbd_rs_left(dp, t->next);
		prbd_rs_notify(dp, PRBD_RESYNC_EVENT_PROGRESS);
	}
	while (t->n_out < PRBD_RS_WINDOW && t->next < t->end) {
		c = prbd_map_chunk(dp, t->next);
		if (!t->range && !prbd_rs_chunk_wanted(dp, c)) {
			t->next = min((c + 1) * cs, t->end);
			continue;
		}
		/* up to a piece, over consecutive chunks to copy */
		len = min_t(u64, PRBD_RS_PIECE, t->end - t->next);
		while (!t->range && (c + 1) * cs < t->next + len &&
		       !prbd_rs_chunk_wanted(dp, c + 1))
			len = (c + 1) * cs - t->next;
		if (!prbd_rs_rate_ok(dp, len))
			break;
		prbd_rs_send_req(dp, PRBD_RS_REQ, t->next, len);
		t->out[t->n_out++] = t->next;
		t->next += len;
	}
	t->cursor = prbd_rs_safe_cursor(dp);
	if (time_after(jiffies, t->rate_at + HZ)) {
		t->rate = t->rate_bytes * HZ / max(1UL, jiffies - t->rate_at);
		t->rate_bytes = 0;
		t->rate_at = jiffies;
		prbd_rs_notify(dp, PRBD_RESYNC_EVENT_PROGRESS);
	}
	if (!t->range)
		WRITE_ONCE(dp->rs_cursor, t->cursor >> dp->map_shift);
	if (!t->n_out && !t->n_writes && t->next >= t->end) {
		t->cursor = t->end;
		t->state = PRBD_RST_DONE;
		if (!t->range)
			WRITE_ONCE(dp->rs_cursor, dp->map_chunks);
		prbd_rs_target(dp);
	}
}

static bool prbd_rs_out_has(struct prbd_rs_target *t, u64 off)
{
	u32 i;

	for (i = 0; i < t->n_out; i++)
		if (t->out[i] == off)
			return true;
	return false;
}

static bool prbd_rs_out_del(struct prbd_rs_target *t, u64 off)
{
	u32 i;

	for (i = 0; i < t->n_out; i++) {
		if (t->out[i] != off)
			continue;
		t->out[i] = t->out[--t->n_out];
		return true;
	}
	return false;
}

/* A reply to the target (drive work). */
static void prbd_rs_on_reply(struct prbd_dp *dp, struct prbd_rs_rx *rx)
{
	struct prbd_rs_target *t = &dp->rst;
	const struct prbd_wire_rs *w = &rx->w;
	u16 status = le16_to_cpu(w->status);
	u64 off = le64_to_cpu(w->off), i, n, tok;
	u32 len = le32_to_cpu(w->len);
	struct prbd_px_status st;
	struct prbd_rs_io *io;

	if (t->state != PRBD_RST_RUN || rx->from != t->source ||
	    le32_to_cpu(w->gen) != t->gen)
		return;	/* from an exchange given up */
	if (status) {
		if (t->any)
			t->refused |= BIT(rx->from);	/* ask another */
		prbd_rs_abort(dp, status == PRBD_RS_E_NOT_LEADER ?
			      "the source no longer leads" :
			      status == PRBD_RS_E_GEOMETRY ?
			      "the data areas differ in size or chunk size" :
			      "the source cannot serve it now");
		return;
	}
	switch (w->op) {
	case PRBD_RS_BEGIN_R:
		t->n_out = 0;
		if (le32_to_cpu(w->chunk_shift) != dp->map_shift ||
		    le64_to_cpu(w->data_size) != dp->data_size) {
			if (le64_to_cpu(w->data_size) != dp->data_size) {
				pr_err_ratelimited("%s: node %u's data area is %llu bytes, ours %llu: no resync (create-md with the same sizes)\n",
						   dp->res->name, rx->from,
						   le64_to_cpu(w->data_size),
						   dp->data_size);
				prbd_rs_reset(dp);
				t->retry_at = jiffies + 10 * HZ;
				return;
			}
			t->full = true;	/* no common map: copy everything */
		}
		if (t->any && (!(w->flags & PRBD_RS_F_EPOCH) ||
			       le64_to_cpu(w->done) != t->epoch ||
			       (t->reset && (!dp->reset_rank ||
					     t->epoch != dp->reset_epoch)))) {
			t->refused |= BIT(rx->from);
			prbd_rs_abort(dp, "the source is not of the epoch asked for");
			return;
		}
		if (t->reset && (!list_empty(&dp->applies) || t->n_writes)) {
			/* nothing of the old epoch may land after the install */
			prbd_rs_abort(dp, "writes of the epoch replaced in flight");
			return;
		}
		/*
		 * The install counts every slot up to it as applied here.
		 * Above the cursor the copy covers the ones this node has not
		 * applied; below it (a resumed or restarted exchange) nothing
		 * would: copy again from the start, every chunk written after
		 * rs_from, which includes them.
		 */
		if (!t->range && t->next &&
		    le64_to_cpu(w->slot) > dp->applied) {
			pr_info("%s: resync: slots %llu..%llu skipped by the install: copying again from byte 0\n",
				dp->res->name, dp->applied + 1,
				le64_to_cpu(w->slot));
			t->cursor = 0;
			t->next = 0;
			t->counted = false;
			WRITE_ONCE(dp->rs_cursor, 0);
		}
		spin_lock(&dp->px_lock);
		/* the core's reset, not the last ready's: it may have ended */
		if (t->reset) {
			prbd_px_status(dp->px, &st);
			if (!st.reset_rank || st.reset_epoch != t->epoch) {
				spin_unlock(&dp->px_lock);
				prbd_rs_abort(dp, "the reset was called off");
				return;
			}
		}
		prbd_px_install(dp->px, le64_to_cpu(w->slot),
				le64_to_cpu(w->mapval), le16_to_cpu(w->voters),
				le16_to_cpu(w->learners));
		tok = dp->tok_issued;
		spin_unlock(&dp->px_lock);
		if (t->reset)
			prbd_rs_reset_installed(dp, le64_to_cpu(w->slot), tok);
		else
			prbd_rs_installed(dp, le64_to_cpu(w->slot));
		t->reset = false;	/* installed: a copy of that epoch */
		t->need = max(t->need, le64_to_cpu(w->slot));
		if (t->gone <= dp->applied)
			t->gone = 0;	/* installed past it */
		t->begun = true;
		pr_info("%s: resync from node %u: installed slot %llu\n",
			dp->res->name, rx->from, le64_to_cpu(w->slot));
		prbd_rs_notify(dp, PRBD_RESYNC_EVENT_PROGRESS);
		break;
	case PRBD_RS_MAP:
		n = len;
		if (off != t->map_have || !rx->bits) {
			prbd_rs_abort(dp, "bad bitmap");
			return;
		}
		if (!t->bm) {
			t->bm = bitmap_zalloc(prbd_rs_bm_bits(dp), GFP_NOIO);
			if (!t->bm) {
				prbd_rs_abort(dp, "no memory for the bitmap");
				return;
			}
		}
		for (i = 0; i < n && off + i < prbd_rs_bm_bits(dp); i++)
			if (rx->bits[i / 8] & (1u << (i % 8)))
				__set_bit(off + i, t->bm);
		t->map_have += n;
		t->n_out = 0;
		break;
	case PRBD_RS_DATA:
		/* it stays outstanding until written (the cursor waits) */
		if (!rx->io || !prbd_rs_out_has(t, off) ||
		    rx->io->len != len)
			return;
		io = rx->io;
		rx->io = NULL;
		io->slot = le64_to_cpu(w->slot);
		io->mapval = le64_to_cpu(w->mapval);
		io->kind = PRBD_RSIO_WRITE;
		io->gen = t->gen;
		list_add_tail(&io->list, &dp->rs_wait);
		t->n_writes++;
		t->sent_at = jiffies;
		break;
	}
}

/* Start the target's writes that may go now (drive work). */
static void prbd_rs_start_writes(struct prbd_dp *dp)
{
	struct prbd_rs_target *t = &dp->rst;
	struct prbd_rs_io *io, *tmp;
	LIST_HEAD(still);

	list_for_each_entry_safe(io, tmp, &dp->rs_wait, list) {
		list_del_init(&io->list);
		if (io->gen == t->gen && t->source &&
		    prbd_map_max(dp, io->off, io->len) > io->slot) {
			/* a newer write touched it here: ask again */
			prbd_rs_send_req(dp, PRBD_RS_REQ, io->off, io->len);
			t->stale++;
			t->n_writes--;
			prbd_rs_io_free(io);
			continue;
		}
		if (io->gen != t->gen) {
			/* from an exchange given up: asked again anyway */
			t->n_writes--;
			prbd_rs_io_free(io);
			continue;
		}
		if (!prbd_rs_io_try(dp, io))
			list_add_tail(&io->list, &still);
	}
	list_splice(&still, &dp->rs_wait);
}

/* --- receive, drive, control --------------------------------------------- */

/**
 * prbd_rs_recv() - a resync or verify message arrived (transport context)
 * @dp: the data path
 * @rx: the message
 *
 * Return: 0, or -EINVAL for a malformed message (the caller logs it).
 */
int prbd_rs_recv(struct prbd_dp *dp, const struct prbd_tr_rx *rx)
{
	const struct prbd_wire_rs *w = rx->hdr;
	struct prbd_rs_rx *r;
	u32 n_crc, len, i;
	struct iov_iter it;

	if (rx->hdr_len < sizeof(*w) || !w->op || w->op > PRBD_RS_OP_MAX ||
	    w->flags & ~PRBD_RS_F_KNOWN ||
	    le16_to_cpu(w->status) > PRBD_RS_E_MAX)
		return -EINVAL;
	n_crc = le32_to_cpu(w->n_crc);
	if (n_crc > PRBD_RS_CRCS ||
	    rx->hdr_len != sizeof(*w) + (w->op == PRBD_RS_CRC ? n_crc * 4 : 0))
		return -EINVAL;
	len = le32_to_cpu(w->len);
	switch (w->op) {
	case PRBD_RS_BEGIN:
		if (rx->payload_len)
			return -EINVAL;
		prbd_rs_on_begin(dp, rx->from, w);
		return 0;
	case PRBD_RS_MAP_REQ:
		if (rx->payload_len)
			return -EINVAL;
		prbd_rs_on_map_req(dp, rx->from, w);
		return 0;
	case PRBD_RS_REQ:
	case PRBD_RS_CRC_REQ:
		if (rx->payload_len)
			return -EINVAL;
		prbd_rs_on_read_req(dp, rx->from, w);
		return 0;
	case PRBD_RS_DATA:
		if (!w->status && (rx->payload_len != len || !len ||
				   len > PRBD_RS_PIECE))
			return -EINVAL;
		break;
	case PRBD_RS_MAP:
		if (!w->status && (!len || len > PRBD_RS_MAP_BITS ||
				   rx->payload_len != DIV_ROUND_UP(len, 8)))
			return -EINVAL;
		break;
	case PRBD_RS_REPAIR: {
		u64 off = le64_to_cpu(w->off), l = le64_to_cpu(w->from);

		if (rx->payload_len || !l || !IS_ALIGNED(off, PRBD_RS_BLOCK) ||
		    !IS_ALIGNED(l, PRBD_RS_BLOCK) || off >= dp->data_size ||
		    l > dp->data_size - off)
			return -EINVAL;
		break;
	}
	default:
		if (rx->payload_len)
			return -EINVAL;
		break;
	}
	r = kzalloc(sizeof(*r) + n_crc * sizeof(__le32), GFP_NOIO);
	if (!r)
		return -ENOMEM;
	r->from = rx->from;
	r->w = *w;
	memcpy(r->w.crc, w->crc, n_crc * sizeof(__le32));
	if (w->op == PRBD_RS_DATA && !w->status) {
		r->io = prbd_rs_io_alloc(dp, PRBD_RSIO_WRITE,
					 le64_to_cpu(w->off), len);
		if (!r->io) {
			kfree(r);
			return -ENOMEM;
		}
		iov_iter_bvec(&it, WRITE, rx->payload->bvec,
			      rx->payload->nr_bvec, len);
		for (i = 0; i < r->io->nr; i++) {
			u32 n = min_t(u32, PAGE_SIZE, len - i * PAGE_SIZE);

			if (copy_from_iter(page_address(r->io->pages[i]), n,
					   &it) != n) {
				prbd_rs_io_free(r->io);
				kfree(r);
				return -EINVAL;
			}
		}
	} else if (w->op == PRBD_RS_MAP && !w->status) {
		r->bits = kmalloc(rx->payload_len, GFP_NOIO);
		if (!r->bits) {
			kfree(r);
			return -ENOMEM;
		}
		iov_iter_bvec(&it, WRITE, rx->payload->bvec,
			      rx->payload->nr_bvec, rx->payload_len);
		if (copy_from_iter(r->bits, rx->payload_len, &it) !=
		    rx->payload_len) {
			kfree(r->bits);
			kfree(r);
			return -EINVAL;
		}
	}
	spin_lock(&dp->rs_lock);
	list_add_tail(&r->list, w->op == PRBD_RS_CRC ? &dp->ver_rx : &dp->rs_rx);
	spin_unlock(&dp->rs_lock);
	prbd_dp_kick(dp);
	return 0;
}

void prbd_rs_rx_free(struct prbd_rs_rx *r)
{
	if (r->io)
		prbd_rs_io_free(r->io);
	kfree(r->bits);
	kfree(r);
}

/* Reap completed resync and verify I/O (drive work). */
static void prbd_rs_reap(struct prbd_dp *dp)
{
	struct llist_node *done = llist_del_all(&dp->rs_done);
	struct prbd_rs_target *t = &dp->rst;
	struct prbd_rs_io *io, *tmp;

	llist_for_each_entry_safe(io, tmp, done, done_node) {
		list_del_init(&io->list);
		switch (io->kind) {
		case PRBD_RSIO_READ:
		case PRBD_RSIO_CRC:
			prbd_rs_served(dp, io);
			break;
		case PRBD_RSIO_WRITE:
			if (io->err) {
				/*
				 * No memory: the piece stays outstanding, the
				 * resync times out and resumes from its cursor.
				 */
				pr_err("%s: resync write at byte %llu failed: %d\n",
				       dp->res->name, io->off, io->err);
				prbd_dp_io_error(dp, io->err, "resync write");
			} else {
				/* of an exchange given up: asked again */
				if (io->gen == t->gen)
					prbd_map_note(dp, io->off, io->len,
						      io->mapval);
				t->need = max(t->need, io->slot);
				WRITE_ONCE(dp->rs_need, max(dp->rs_need, t->need));
				t->done += io->len;
				t->rate_bytes += io->len;
				if (io->gen == t->gen)
					prbd_rs_out_del(t, io->off);
			}
			t->n_writes--;
			prbd_rs_io_free(io);
			break;
		}
	}
}

/**
 * prbd_rs_drive() - everything a resync does, either side (drive work)
 * @dp: the data path
 */
void prbd_rs_drive(struct prbd_dp *dp)
{
	struct prbd_rs_rx *r, *rtmp;
	struct prbd_rs_io *io, *tmp;
	LIST_HEAD(rxq);
	LIST_HEAD(serve);
	bool want;
	u64 gone;

	prbd_rs_reap(dp);
	spin_lock(&dp->pl_lock);
	gone = dp->pl_gone;
	dp->pl_gone = 0;
	spin_unlock(&dp->pl_lock);
	if (gone)
		prbd_rs_gone(dp, gone);
	spin_lock(&dp->rs_lock);
	list_splice_init(&dp->rs_rx, &rxq);
	list_splice_init(&dp->rs_queue, &serve);
	spin_unlock(&dp->rs_lock);
	list_for_each_entry_safe(r, rtmp, &rxq, list) {
		list_del(&r->list);
		if (r->w.op == PRBD_RS_REPAIR)
			prbd_rs_start(dp, true, le64_to_cpu(r->w.off),
				      le64_to_cpu(r->w.from));
		else
			prbd_rs_on_reply(dp, r);
		prbd_rs_rx_free(r);
	}
	/* served reads: in arrival order, each when nothing overlaps */
	list_splice_tail(&serve, &dp->rs_serve);
	INIT_LIST_HEAD(&serve);
	list_for_each_entry_safe(io, tmp, &dp->rs_serve, list) {
		list_del_init(&io->list);
		if (!prbd_rs_io_try(dp, io))
			list_add_tail(&io->list, &serve);
	}
	list_splice(&serve, &dp->rs_serve);
	prbd_rs_start_writes(dp);
	prbd_rs_drive_begin(dp);

	spin_lock(&dp->px_lock);
	want = dp->needs_resync && dp->rst.state == PRBD_RST_IDLE &&
	       !dp->stopping && !dp->failed;
	spin_unlock(&dp->px_lock);
	if ((want || (dp->rs_inconsistent && dp->rst.state == PRBD_RST_IDLE)) &&
	    !READ_ONCE(dp->failed))
		prbd_rs_start(dp, false, 0, 0);
	prbd_rs_target(dp);
}

/**
 * prbd_rs_peer_sync() - what the leader shows for a peer's replica
 * @dp: the data path
 * @st: the core's status
 * @node: the peer
 */
enum prbd_peer_sync prbd_rs_peer_sync(struct prbd_dp *dp,
				      const struct prbd_px_status *st, u32 node)
{
	if (st->role != PRBD_PX_LEADER || node >= PRBD_PX_MAX_NODES)
		return PRBD_PEER_SYNC_UNKNOWN;
	if (st->novote_peers & BIT(node))
		return time_before(jiffies, READ_ONCE(dp->rpeer[node].rs_seen) +
				   3 * HZ) ? PRBD_PEER_SYNC_RESYNCING :
				   PRBD_PEER_SYNC_NEEDS_RESYNC;
	if (st->peer_applied[node] + PRBD_PX_WINDOW_MAX >= st->commit)
		return PRBD_PEER_SYNC_UP_TO_DATE;
	return PRBD_PEER_SYNC_CATCHING_UP;
}

/* A byte range of a verify or repair: @len 0 means to the end. */
int prbd_rs_range(struct prbd_dp *dp, u64 start, u64 *len,
		  struct netlink_ext_ack *extack)
{
	if (!*len && start < dp->data_size)
		*len = dp->data_size - start;
	if (start >= dp->data_size || *len > dp->data_size - start ||
	    !IS_ALIGNED(start, PRBD_RS_BLOCK) ||
	    !IS_ALIGNED(*len, PRBD_RS_BLOCK)) {
		NL_SET_ERR_MSG_MOD(extack, "range is not 4 KiB aligned or beyond the device");
		return -EINVAL;
	}
	return 0;
}

/**
 * prbd_rs_repair() - make node @node copy a range from the leader
 * @dp: the data path
 * @node: this node or a peer
 * @start: bytes
 * @len: bytes, 0: to the end
 * @extack: for errors
 *
 * Return: 0 or a negative errno.
 */
int prbd_rs_repair(struct prbd_dp *dp, u32 node, u64 start, u64 len,
		   struct netlink_ext_ack *extack)
{
	struct prbd_wire_rs w = {};
	struct prbd_rs_rx *r;
	u8 leader;
	int err;

	err = prbd_rs_range(dp, start, &len, extack);
	if (err)
		return err;
	spin_lock(&dp->px_lock);
	leader = dp->leader;
	spin_unlock(&dp->px_lock);
	if (!leader) {
		NL_SET_ERR_MSG_MOD(extack, "no leader is known: nothing to copy from");
		return -EAGAIN;
	}
	if (leader == node) {
		NL_SET_ERR_MSG_MOD(extack, "that node leads: move leadership first");
		return -EINVAL;
	}
	w.op = PRBD_RS_REPAIR;
	w.off = cpu_to_le64(start);
	w.from = cpu_to_le64(len);
	if (node != dp->res->node_id) {
		if (node >= PRBD_PX_MAX_NODES || !dp->rpeer[node].up) {
			NL_SET_ERR_MSG_MOD(extack, "that node is not connected");
			return -ENOTCONN;
		}
		return prbd_rs_send(dp, node, &w, sizeof(w), NULL);
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->from = node;
	r->w = w;
	spin_lock(&dp->rs_lock);
	list_add_tail(&r->list, &dp->rs_rx);
	spin_unlock(&dp->rs_lock);
	prbd_dp_kick(dp);
	return 0;
}

/**
 * prbd_rs_lists_init() - the lock and lists of resync and verify, empty
 * @dp: the data path, just allocated
 *
 * Called before anything in up can fail: prbd_rs_destroy() and
 * prbd_verify_destroy() walk them on every way out.
 */
void prbd_rs_lists_init(struct prbd_dp *dp)
{
	spin_lock_init(&dp->rs_lock);
	INIT_LIST_HEAD(&dp->rs_ios);
	INIT_LIST_HEAD(&dp->rs_rx);
	INIT_LIST_HEAD(&dp->rs_queue);
	INIT_LIST_HEAD(&dp->rs_serve);
	INIT_LIST_HEAD(&dp->rs_wait);
	init_llist_head(&dp->rs_done);
	INIT_LIST_HEAD(&dp->ver_rx);
	init_llist_head(&dp->ver_done);
}

/**
 * prbd_rs_init() - resync state at up, from the acceptor record
 * @dp: the data path
 * @st: the decoded acceptor state
 *
 * Return: 0 or -ENOMEM.
 */
int prbd_rs_init(struct prbd_dp *dp, const struct prbd_acceptor_state *st)
{
	struct prbd_wire_rs *w;

	w = kzalloc(struct_size(w, crc, PRBD_RS_CRCS), GFP_KERNEL);
	dp->rs_wbuf = w;
	if (!dp->rs_wbuf)
		return -ENOMEM;
	dp->rs_inconsistent = st->flags & PRBD_DISK_ACC_F_INCONSISTENT;
	dp->rs_full = st->flags & PRBD_DISK_ACC_F_RS_FULL;
	dp->rs_from = st->rs_from;
	dp->rs_cursor = st->rs_cursor;
	dp->rs_need = st->rs_need;
	/* the resync's flags only: the others are kept apart */
	dp->rs_flags_disk = st->flags & (PRBD_DISK_ACC_F_INCONSISTENT |
					 PRBD_DISK_ACC_F_RS_FULL);
	dp->rs_flags_want = dp->rs_flags_disk;
	/*
	 * A reset under way (flush mode): the data area and the slot map
	 * hold another epoch's writes, so the copy starts again from byte 0
	 * with the map forgotten (prbd_dp_up() resets it once loaded).  A
	 * strict start has no epoch to reset to: the same full copy, from
	 * the leader, without the flag.
	 */
	dp->log_floor = st->log_floor;
	if (dp->rs_inconsistent && (st->flags & PRBD_DISK_ACC_F_RESET)) {
		dp->reset_disk = dp->flush_mode;
		dp->rs_full = true;
		dp->rs_cursor = 0;
		dp->rs_from = 0;
		pr_warn("%s: a reset to epoch %llu was under way: copying everything again\n",
			dp->res->name, st->epoch);
	}
	dp->rst.gen = get_random_u32();
	dp->ver.gen = get_random_u32();
	if (dp->rs_inconsistent)
		pr_warn("%s: a resync into this node was interrupted: data not usable until it resumes and completes\n",
			dp->res->name);
	return 0;
}

/* Free everything still queued (down, after the works stopped). */
void prbd_rs_destroy(struct prbd_dp *dp)
{
	struct prbd_rs_rx *r, *rtmp;
	struct prbd_rs_io *io, *tmp;

	list_for_each_entry_safe(r, rtmp, &dp->rs_rx, list)
		prbd_rs_rx_free(r);
	INIT_LIST_HEAD(&dp->rs_rx);
	list_splice_init(&dp->rs_queue, &dp->rs_serve);
	list_splice_init(&dp->rs_wait, &dp->rs_serve);
	list_for_each_entry_safe(io, tmp, &dp->rs_serve, list)
		prbd_rs_io_free(io);
	INIT_LIST_HEAD(&dp->rs_serve);
	kfree(dp->rst.bm);
	dp->rst.bm = NULL;
	kfree(dp->rs_wbuf);
	dp->rs_wbuf = NULL;
}

/* Are resync, verify or peer-read I/O still on the data area? */
bool prbd_rs_busy(struct prbd_dp *dp)
{
	return !list_empty(&dp->rs_ios) || !llist_empty(&dp->rs_done) ||
	       !llist_empty(&dp->ver_done) || !llist_empty(&dp->pr_done);
}
