// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the log ring of the backing device.
 *
 * Every value this node accepts is written to the log area before the
 * core is told it is durable: one record per write descriptor (a 4 KiB
 * header block, struct prbd_disk_log_rec, followed by the payload rounded
 * up to 4 KiB), or one header-only record for a no-op or configuration
 * entry.  Records are appended at the head of the ring and released from
 * its tail once their slot is applied to the data area, that data area
 * write is flushed and the acceptor state on disk says so
 * (prbd_log_release()).  A record that does not fit before the end of the
 * ring starts again at its beginning; the space skipped is charged to it.
 *
 * A discard or write-zeroes descriptor has a header-only record (its op in
 * desc_op[], no payload); it is replayed like a write, in slot order.
 *
 * On attach the whole ring is scanned: a block is a record header when its
 * magic, disk uuid and crc match; a record is used only when its payload
 * crc matches too, so a torn record is ignored.  The newest complete value
 * of each slot still needed is handed back to the Paxos core.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_log_ring.h"

#define PRBD_LOG_BLK		PRBD_DISK_BLOCK
#define PRBD_LOG_SCAN_PAGES	64	/* 256 KiB per scan read */

/*
 * PRBD_TEST_BROKEN_LOG_FUA: a deliberately broken build for the crash-state
 * test only ('make crash-broken', never the default build): log records
 * are written without REQ_FUA, so a record may still sit in the disk's
 * volatile cache when its slot is reported durable.  The test must fail.
 */
#ifdef PRBD_TEST_BROKEN_LOG_FUA
#define PRBD_LOG_REC_OPF	REQ_OP_WRITE
MODULE_INFO(prbd_test, "BROKEN: log records without REQ_FUA");
#else
#define PRBD_LOG_REC_OPF	(REQ_OP_WRITE | REQ_FUA)
#endif

/*
 * durability = flush: a record counts as accepted once written, no FUA
 * (DRBD's contract, "Flush mode" in paxos/prbd_paxos.c); the device flush
 * of a barrier (prbd_flush_work()) makes it durable.  The acceptor state
 * keeps PREFLUSH | FUA: promises and configurations are never lost.
 */
static blk_opf_t prbd_log_rec_opf(const struct prbd_dp *dp)
{
	return dp->flush_mode ? REQ_OP_WRITE : PRBD_LOG_REC_OPF;
}

u32 prbd_log_need(u32 len)
{
	return PRBD_LOG_BLK + round_up(len, PRBD_LOG_BLK);
}

/* Keep room for header-only records and the waste of one wrap. */
static u64 prbd_log_slack(void)
{
	return PRBD_PX_LOG_CAP * (u64)PRBD_LOG_BLK + prbd_log_need(PRBD_DP_MAX_IO);
}

/**
 * prbd_log_reserve() - reserve log space for a write about to be proposed
 * @dp: the data path
 * @len: payload bytes
 * @need: set to the bytes reserved
 *
 * Return: false when the ring is too full (retry after a release).
 */
bool prbd_log_reserve(struct prbd_dp *dp, u32 len, u32 *need)
{
	struct prbd_log *log = &dp->log;
	bool ok;

	*need = prbd_log_need(len) + PRBD_LOG_BLK;	/* + a chosen marker */
	spin_lock(&log->lock);
	ok = log->used + log->reserved + *need + prbd_log_slack() <=
	     log->ring_size;
	if (ok)
		log->reserved += *need;
	spin_unlock(&log->lock);
	return ok;
}

void prbd_log_unreserve(struct prbd_dp *dp, u32 need)
{
	spin_lock(&dp->log.lock);
	dp->log.reserved -= min_t(u64, need, dp->log.reserved);
	spin_unlock(&dp->log.lock);
}

/* Allocate @size bytes at the head; returns the absolute byte offset. */
static int prbd_log_alloc(struct prbd_dp *dp, u64 slot, u32 size, u64 tok,
			  u64 *off, struct prbd_log_ext **extp)
{
	struct prbd_log *log = &dp->log;
	struct prbd_log_ext *ext;
	u64 pos, charge;

	ext = kzalloc(sizeof(*ext), GFP_NOIO);
	if (!ext)
		return -ENOMEM;
	spin_lock(&log->lock);
	if (tok <= log->fence_tok) {
		/*
		 * A reset installed another epoch after this batch was
		 * issued: what it holds is gone (the core dropped it, and
		 * its replies); a record of it would be restored after a
		 * crash, past the log floor (prbd_rs_fence()).
		 */
		spin_unlock(&log->lock);
		kfree(ext);
		return -ESTALE;
	}
	if (!prbd_log_ring_alloc(log->ring_size, &log->head, &log->used, size,
				 &pos, &charge)) {
		spin_unlock(&log->lock);
		kfree(ext);
		pr_warn_ratelimited("%s: log ring full (%llu of %llu bytes used)\n",
				    dp->res->name, log->used, log->ring_size);
		return -ENOSPC;
	}
	ext->slot = slot;
	/* in ring order: replay takes the highest seq of a slot as newest */
	ext->seq = ++log->seq;
	ext->busy = true;
	ext->off = log->ring_off + pos;
	ext->size = charge;
	list_add_tail(&ext->list, &log->exts);
	spin_unlock(&log->lock);
	*off = ext->off;
	*extp = ext;
	return 0;
}

/**
 * prbd_log_release() - free old records, keeping some as catch-up history
 * @dp: the data path
 * @slot: every slot <= @slot is applied, flushed and recorded in the
 *	acceptor state
 * @keep: stop once no more than this many bytes are in use
 *
 * Records are freed oldest first; a record of a slot > @slot stops the
 * walk (conservative).  Records of applied slots that stay are the
 * history a lagging peer catches up from (prbd_catchup_serve()).
 *
 * Return: the highest slot of a freed record (its payloads and those of
 * every older slot are gone), or 0.
 */
u64 prbd_log_release(struct prbd_dp *dp, u64 slot, u64 keep)
{
	struct prbd_log *log = &dp->log;
	struct prbd_log_ext *ext, *tmp;
	LIST_HEAD(freed);
	u64 freed_max = 0;

	spin_lock(&log->lock);
	list_for_each_entry_safe(ext, tmp, &log->exts, list) {
		/* a batch still being written (several run at once) */
		if (ext->slot > slot || log->used <= keep || ext->busy)
			break;
		freed_max = max(freed_max, ext->slot);
		list_move(&ext->list, &freed);
		prbd_log_ring_free(&log->head, &log->used, ext->size,
				   list_empty(&log->exts));
	}
	spin_unlock(&log->lock);
	list_for_each_entry_safe(ext, tmp, &freed, list)
		kfree(ext);
	return freed_max;
}

/* Would prbd_log_release(@slot, 0) free anything? */
bool prbd_log_releasable(struct prbd_dp *dp, u64 slot)
{
	struct prbd_log_ext *ext;
	bool ret;

	spin_lock(&dp->log.lock);
	ext = list_first_entry_or_null(&dp->log.exts, struct prbd_log_ext,
				       list);
	ret = ext && ext->slot <= slot;
	spin_unlock(&dp->log.lock);
	return ret;
}

struct prbd_log_io {
	struct prbd_dp *dp;
	atomic_t pending;
	int err;
	u64 hint;		/* the batch's commit hint */
	u64 tok;		/* the batch's token */
	blk_opf_t opf;		/* of its records */
	struct prbd_log_ext **exts;	/* the records allocated */
	u32 n_exts;
	struct completion done;
};

/* A record is written: its header page (the bio's first) goes back. */
static void prbd_log_io_endio(struct bio *bio)
{
	struct prbd_log_io *io = bio->bi_private;

	if (bio->bi_status)
		io->err = blk_status_to_errno(bio->bi_status);
	mempool_free(bio_first_page_all(bio), io->dp->hdr_pool);
	bio_put(bio);
	if (atomic_dec_and_test(&io->pending))
		complete(&io->done);
}

static void prbd_log_fill_hdr(struct prbd_dp *dp, struct page *page,
			      const struct prbd_px_entry *e, u32 idx,
			      u32 payload_len, u32 payload_crc, u32 flags,
			      u64 seq, u64 hint)
{
	struct prbd_disk_log_rec *r = page_address(page);
	u32 i;

	memset(r, 0, PAGE_SIZE);
	r->magic = cpu_to_le64(PRBD_LOG_REC_MAGIC);
	r->seq = cpu_to_le64(seq);
	memcpy(r->disk_uuid, dp->disk_uuid, sizeof(r->disk_uuid));
	r->slot = cpu_to_le64(e->slot);
	r->ballot = cpu_to_le64(e->ballot);
	r->kind = cpu_to_le32(e->kind);
	r->n_desc = cpu_to_le32(e->n_desc);
	r->desc_idx = cpu_to_le32(idx);
	r->payload_len = cpu_to_le32(payload_len);
	r->payload_crc = cpu_to_le32(payload_crc);
	r->flags = cpu_to_le32(flags | (e->chosen ? PRBD_LOG_REC_F_CHOSEN : 0));
	r->commit_hint = cpu_to_le64(hint);
	r->voters = cpu_to_le16(e->voters);
	r->learners = cpu_to_le16(e->learners);
	for (i = 0; i < e->n_desc && i < PRBD_PX_BATCH; i++) {
		r->desc[i].id = cpu_to_le64(e->desc[i].id);
		r->desc[i].sector = cpu_to_le64(e->desc[i].sector);
		r->desc[i].len = cpu_to_le32(e->desc[i].len);
		r->desc[i].csum = cpu_to_le32(e->desc[i].csum);
		r->desc_op[i] = e->desc[i].op;
	}
	r->crc = cpu_to_le32(prbd_md_crc(r, offsetof(typeof(*r), crc)));
}

static int prbd_log_remember(struct prbd_dp *dp, u64 slot, u64 ballot,
			     u32 idx, u64 id, u64 payload_off, u32 len)
{
	struct prbd_log_loc *loc, *old;

	loc = kmalloc(sizeof(*loc), GFP_NOIO);
	if (!loc)
		return -ENOMEM;
	loc->slot = slot;
	loc->ballot = ballot;
	loc->id = id;
	loc->off = payload_off;
	loc->prev_off = 0;
	loc->len = len;
	xa_lock(&dp->log_locs);
	old = __xa_store(&dp->log_locs, slot * PRBD_PX_BATCH + idx, loc,
			 GFP_NOIO);
	if (!xa_is_err(old) && old && old->slot == slot && old->id == id &&
	    old->len == len)
		loc->prev_off = old->off;
	xa_unlock(&dp->log_locs);
	if (xa_is_err(old)) {
		kfree(loc);
		return xa_err(old);
	}
	kfree(old);
	return 0;
}

/* Is the value @e (this slot, this ballot) entirely in the log already? */
static bool prbd_log_has(struct prbd_dp *dp, const struct prbd_px_entry *e)
{
	struct prbd_log_loc *loc;
	u32 i, n = e->kind == PRBD_PX_K_DATA ? e->n_desc : 1;

	for (i = 0; i < n; i++) {
		loc = xa_load(&dp->log_locs, e->slot * PRBD_PX_BATCH + i);
		if (!loc || loc->slot != e->slot || loc->ballot != e->ballot ||
		    (e->kind == PRBD_PX_K_DATA && loc->id != e->desc[i].id))
			return false;
	}
	return true;
}

/*
 * Submit one record; the payload comes from @cmd or from @pages.  Its
 * header page comes from dp->hdr_pool and goes back when the record is
 * written, so a batch of any size progresses on the reserve alone.
 */
static int prbd_log_submit_rec(struct prbd_dp *dp, struct prbd_log_io *io,
			       const struct prbd_px_entry *e, u32 idx,
			       u32 flags, struct prbd_io *cmd,
			       struct page **pages, u32 len)
{
	struct prbd_log_ext *ext;
	struct page *hdr;
	struct bio *bio;
	u64 off;
	int err;

	hdr = mempool_alloc(dp->hdr_pool, GFP_NOIO);
	err = prbd_log_alloc(dp, e->slot, prbd_log_need(len), io->tok, &off,
			     &ext);
	if (err == -ESTALE) {
		/* not written, on purpose; nor will it ever be */
		if (cmd && cmd->log_need) {
			prbd_log_unreserve(dp, cmd->log_need);
			cmd->log_need = 0;
		}
		err = 0;
		goto out_free_hdr;
	}
	if (err)
		goto out_free_hdr;
	if (cmd && cmd->log_need) {
		/* the reservation made at propose time is now allocated */
		prbd_log_unreserve(dp, cmd->log_need);
		cmd->log_need = 0;
	}
	io->exts[io->n_exts++] = ext;
	prbd_log_fill_hdr(dp, hdr, e, idx, len,
			  e->kind == PRBD_PX_K_DATA && len ? e->desc[idx].csum : 0,
			  flags, ext->seq, io->hint);
	if (!(flags & PRBD_LOG_REC_F_MARKER)) {
		err = prbd_log_remember(dp, e->slot, e->ballot, idx,
					e->kind == PRBD_PX_K_DATA ?
					e->desc[idx].id : 0,
					off + PRBD_LOG_BLK, len);
		if (err)
			goto out_free_hdr;
	}

	atomic_inc(&io->pending);
	if (!pages && cmd && len) {
		err = prbd_submit_rq_bio(dp, cmd, hdr, off >> SECTOR_SHIFT,
					 io->opf, prbd_log_io_endio, io);
		if (err) {
			atomic_dec(&io->pending);
			goto out_free_hdr;
		}
		return 0;
	}
	bio = prbd_pages_bio(dp, hdr, pages, len, off >> SECTOR_SHIFT,
			     io->opf);
	bio->bi_end_io = prbd_log_io_endio;
	bio->bi_private = io;
	submit_bio(bio);
	return 0;

out_free_hdr:
	mempool_free(hdr, dp->hdr_pool);
	return err;
}

static void prbd_free_pages(struct page **pages, unsigned int nr)
{
	unsigned int i;

	if (!pages)
		return;
	for (i = 0; i < nr; i++)
		if (pages[i])
			__free_page(pages[i]);
	kfree(pages);
}

/*
 * An entry at or below the slot a resync installed (dp->installed) is not
 * logged: the install replaced it (the core dropped it, the copy brings
 * its data), and its payload may be gone everywhere (the leader released
 * it, PLGONE: the very reason for the install).  Its acknowledgment
 * leaves flagged non-voting: the node votes again only after the resync.
 * A leader's own requests (@b->cmd) are never below an install.
 */
static bool prbd_log_replaced(struct prbd_dp *dp, const struct prbd_batch *b,
			      u32 i)
{
	const struct prbd_px_entry *e = &b->ents[i];
	u32 j;

	if (e->kind != PRBD_PX_K_DATA || e->slot > READ_ONCE(dp->installed))
		return false;
	for (j = 0; j < e->n_desc; j++)
		if (b->cmd[i][j])
			return false;
	pr_info_ratelimited("%s: slot %llu not logged: a resync installed slot %llu\n",
			    dp->res->name, e->slot, READ_ONCE(dp->installed));
	return true;
}

/**
 * prbd_log_write_batch() - write the records of a persist batch, FUA
 * @dp: the data path
 * @b: the batch; payloads come from the cache (the leader's own writes are
 *     copied there at queue time) or are read back from an earlier record;
 *     b->cmd[][] names the leader's requests (their log reservations)
 *
 * Waits for every record.  Context: the persist worker (may sleep).
 * Return: 0 or a negative errno.
 */
int prbd_log_write_batch(struct prbd_dp *dp, struct prbd_batch *b)
{
	struct prbd_payload **pls;
	struct prbd_log_io io;
	u32 nrec = 0, i, j, k;
	int err = 0;

	for (i = 0; i < b->n_ents; i++)
		nrec += b->ents[i].kind == PRBD_PX_K_DATA ?
			max_t(u32, b->ents[i].n_desc, 1) : 1;
	/* payloads, then extents: at most 2 * 256 pointers, 4 KiB */
	pls = kcalloc(2 * nrec, sizeof(*pls), GFP_NOIO);
	if (!pls)
		return -ENOMEM;

	io.dp = dp;
	atomic_set(&io.pending, 1);
	io.err = 0;
	io.hint = b->commit_hint;
	io.tok = b->token;
	io.opf = prbd_log_rec_opf(dp) | (b->preflush ? REQ_PREFLUSH : 0);
	io.exts = (struct prbd_log_ext **)&pls[nrec];
	io.n_exts = 0;
	init_completion(&io.done);
	k = 0;
	for (i = 0; i < b->n_ents && !err; i++) {
		const struct prbd_px_entry *e = &b->ents[i];

		if (prbd_log_replaced(dp, b, i)) {
			k += max_t(u32, e->n_desc, 1);
			continue;
		}
		if (prbd_log_has(dp, e)) {
			/*
			 * Only the chosen flag is new.  The hard state's
			 * commit index makes it durable for slots up to it;
			 * a slot beyond a gap gets a marker record.
			 */
			if (e->chosen && e->slot > b->hs.commit)
				err = prbd_log_submit_rec(dp, &io, e, 0,
							  PRBD_LOG_REC_F_MARKER,
							  NULL, NULL, 0);
			k += e->kind == PRBD_PX_K_DATA ?
			     max_t(u32, e->n_desc, 1) : 1;
			continue;
		}
		if (e->kind != PRBD_PX_K_DATA) {
			k++;
			err = prbd_log_submit_rec(dp, &io, e, 0, 0, NULL, NULL,
						  0);
			continue;
		}
		for (j = 0; j < e->n_desc && !err; j++, k++) {
			struct prbd_io *cmd = b->cmd[i][j];
			u32 len = e->desc[j].op == PRBD_LOG_OP_WRITE ?
				  e->desc[j].len : 0;

			/* discard, write zeroes: a header, never a payload */
			if (len) {
				pls[k] = prbd_log_payload(dp, e->slot,
							  e->desc[j].id,
							  e->desc[j].csum);
				if (IS_ERR(pls[k])) {
					err = PTR_ERR(pls[k]);
					pls[k] = NULL;
					break;
				}
			}
			err = prbd_log_submit_rec(dp, &io, e, j, 0, cmd,
						  pls[k] ? pls[k]->pages : NULL,
						  len);
		}
	}
	if (atomic_dec_and_test(&io.pending))
		complete(&io.done);
	wait_for_completion(&io.done);
	if (!err)
		err = io.err;
	/* written (or failed): a checkpoint may release them from now on */
	spin_lock(&dp->log.lock);
	for (k = 0; k < io.n_exts; k++)
		io.exts[k]->busy = false;
	spin_unlock(&dp->log.lock);

	for (k = 0; k < nrec; k++)
		prbd_pl_put(pls[k]);
	kfree(pls);
	return err;
}

/* Synchronous read of @nr pages at byte offset @off. */
static int prbd_log_read_pages(struct prbd_dp *dp, u64 off,
			       struct page **pages, unsigned int nr)
{
	struct bio *bio;
	int err;

	bio = prbd_pages_bio(dp, NULL, pages, nr * PAGE_SIZE,
			     off >> SECTOR_SHIFT, REQ_OP_READ);
	err = submit_bio_wait(bio);
	bio_put(bio);
	return err;
}

static u32 prbd_pages_crc(struct page **pages, u32 len)
{
	u32 crc = ~0U, i, n;

	for (i = 0; len; i++, len -= n) {
		n = min_t(u32, len, PAGE_SIZE);
		crc = crc32c(crc, page_address(pages[i]), n);
	}
	return ~crc;
}

/**
 * prbd_log_read_payload() - read a descriptor's payload back from the log
 * @dp: the data path
 * @slot: the slot
 * @id: the descriptor id that must be there
 * @csum: the descriptor's crc32c: what is read must match it (the record
 *	may have been overwritten since, once its slot was released)
 * @pages: set to an array of @nr pages from dp->page_pool (free with
 *	   prbd_log_free_payload())
 * @nr: set to the number of pages
 * @len: set to the payload length
 *
 * Return: 0, -ENOENT when this node holds no such payload, -EIO on a bad
 * checksum, or another negative errno.
 */
int prbd_log_read_payload(struct prbd_dp *dp, u64 slot, u64 id, u32 csum,
			  struct page ***pages, unsigned int *nr, u32 *len)
{
	struct prbd_log_loc *loc = NULL, copy;
	struct page **p;
	unsigned int i, n;
	u32 idx;
	int err;

	/* the persist work replaces and frees locations: copy under the lock */
	xa_lock(&dp->log_locs);
	for (idx = 0; idx < PRBD_PX_BATCH; idx++) {
		loc = xa_load(&dp->log_locs, slot * PRBD_PX_BATCH + idx);
		if (loc && loc->slot == slot && loc->id == id) {
			copy = *loc;
			break;
		}
		loc = NULL;
	}
	xa_unlock(&dp->log_locs);
	if (!loc)
		return -ENOENT;
	loc = &copy;
	n = DIV_ROUND_UP(loc->len, PAGE_SIZE);
	p = kcalloc(n, sizeof(*p), GFP_NOIO);	/* <= 64 pointers */
	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		p[i] = mempool_alloc(dp->page_pool, GFP_NOIO);
	err = prbd_log_read_pages(dp, loc->off, p, n);
	if (err)
		goto out_free;
	if (prbd_pages_crc(p, loc->len) != csum && loc->prev_off) {
		/* the new record may still be on its way: the earlier one */
		err = prbd_log_read_pages(dp, loc->prev_off, p, n);
		if (err)
			goto out_free;
	}
	if (prbd_pages_crc(p, loc->len) != csum) {
		err = -EIO;
		goto out_free;
	}
	*pages = p;
	*nr = n;
	*len = loc->len;
	return 0;

out_free:
	prbd_log_free_payload(dp, p, n);
	return err;
}

/**
 * prbd_log_free_payload() - free what prbd_log_read_payload() gave
 * @dp: the data path
 * @pages: the array
 * @nr: its pages, back to dp->page_pool
 */
void prbd_log_free_payload(struct prbd_dp *dp, struct page **pages,
			   unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		mempool_free(pages[i], dp->page_pool);
	kfree(pages);
}

/* Discard or zero a descriptor's extent of the data area, synchronously. */
static int prbd_log_trim_sync(struct prbd_dp *dp, const struct prbd_px_desc *d)
{
	sector_t sector = dp->data_sect + d->sector;
	sector_t nr = d->len >> SECTOR_SHIFT;
	int err;

	if (d->op == PRBD_LOG_OP_DISCARD) {
		err = blkdev_issue_discard(dp->bdev, sector, nr, GFP_KERNEL);
		return err == -EOPNOTSUPP ? 0 : err;	/* a hint */
	}
	return blkdev_issue_zeroout(dp->bdev, sector, nr, GFP_KERNEL,
				    d->op == PRBD_LOG_OP_ZEROES_NOUNMAP ?
				    BLKDEV_ZERO_NOUNMAP : 0);
}

/* Write a chosen value's payloads to the data area, synchronously. */
static int prbd_log_apply_sync(struct prbd_dp *dp,
			       const struct prbd_px_entry *e)
{
	struct page **pages;
	struct bio *bio;
	unsigned int nr;
	u32 j, len;
	int err;

	if (e->kind != PRBD_PX_K_DATA)
		return 0;
	prbd_map_note_entry(dp, e);
	for (j = 0; j < e->n_desc; j++) {
		if (e->desc[j].op != PRBD_LOG_OP_WRITE) {
			err = prbd_log_trim_sync(dp, &e->desc[j]);
			if (err)
				return err;
			continue;
		}
		err = prbd_log_read_payload(dp, e->slot, e->desc[j].id,
					    e->desc[j].csum, &pages, &nr, &len);
		if (err)
			return err;
		bio = prbd_pages_bio(dp, NULL, pages, len,
				     dp->data_sect + e->desc[j].sector,
				     REQ_OP_WRITE);
		err = submit_bio_wait(bio);
		bio_put(bio);
		prbd_log_free_payload(dp, pages, nr);
		if (err)
			return err;
	}
	return 0;
}

/* --- recovery scan -------------------------------------------------- */

struct prbd_scan_rec {
	u64 seq, slot, ballot, off;
	u32 idx, len, crc, size, flags;
	u64 hint;
	struct prbd_px_entry e;
};

static int prbd_scan_cmp(const void *a, const void *b)
{
	const struct prbd_scan_rec *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

static bool prbd_log_parse(struct prbd_dp *dp, const void *buf, u64 off,
			   struct prbd_scan_rec *s)
{
	const struct prbd_disk_log_rec *r = buf;
	u32 i, kind, n;

	if (le64_to_cpu(r->magic) != PRBD_LOG_REC_MAGIC ||
	    memcmp(r->disk_uuid, dp->disk_uuid, sizeof(r->disk_uuid)) ||
	    le32_to_cpu(r->crc) != prbd_md_crc(r, offsetof(typeof(*r), crc)))
		return false;
	kind = le32_to_cpu(r->kind);
	n = le32_to_cpu(r->n_desc);
	if (kind < PRBD_PX_K_NOOP || kind > PRBD_PX_K_CONFIG ||
	    n > PRBD_PX_BATCH || le32_to_cpu(r->desc_idx) >= max(n, 1U) ||
	    le32_to_cpu(r->payload_len) > PRBD_DP_MAX_IO)
		return false;
	memset(s, 0, sizeof(*s));
	s->seq = le64_to_cpu(r->seq);
	s->slot = le64_to_cpu(r->slot);
	s->ballot = le64_to_cpu(r->ballot);
	s->idx = le32_to_cpu(r->desc_idx);
	s->len = le32_to_cpu(r->payload_len);
	s->crc = le32_to_cpu(r->payload_crc);
	s->flags = le32_to_cpu(r->flags);
	s->hint = le64_to_cpu(r->commit_hint);
	s->off = off;
	s->size = prbd_log_need(s->len);
	s->e.slot = s->slot;
	s->e.ballot = s->ballot;
	s->e.kind = kind;
	s->e.n_desc = n;
	s->e.chosen = !!(s->flags & PRBD_LOG_REC_F_CHOSEN);
	s->e.voters = le16_to_cpu(r->voters);
	s->e.learners = le16_to_cpu(r->learners);
	for (i = 0; i < n; i++) {
		s->e.desc[i].id = le64_to_cpu(r->desc[i].id);
		s->e.desc[i].sector = le64_to_cpu(r->desc[i].sector);
		s->e.desc[i].len = le32_to_cpu(r->desc[i].len);
		s->e.desc[i].csum = le32_to_cpu(r->desc[i].csum);
		s->e.desc[i].op = r->desc_op[i];
		if (r->desc_op[i] > PRBD_LOG_OP_MAX)
			return false;
	}
	/* a write's record carries its payload; discard, write zeroes none */
	if (kind == PRBD_PX_K_DATA && !(s->flags & PRBD_LOG_REC_F_MARKER) &&
	    s->len != (s->e.desc[s->idx].op == PRBD_LOG_OP_WRITE ?
		       s->e.desc[s->idx].len : 0))
		return false;
	return true;
}

/* Is the record's payload intact on disk? */
static bool prbd_log_payload_ok(struct prbd_dp *dp, struct prbd_scan_rec *s)
{
	struct page **p;
	unsigned int i, n = DIV_ROUND_UP(s->len, PAGE_SIZE);
	bool ok = false;

	if (!s->len)
		return true;
	p = kcalloc(n, sizeof(*p), GFP_KERNEL);
	if (!p)
		return false;
	for (i = 0; i < n; i++) {
		p[i] = alloc_page(GFP_KERNEL);
		if (!p[i])
			goto out_free;
	}
	if (s->off + PRBD_LOG_BLK + n * PAGE_SIZE >
	    dp->log.ring_off + dp->log.ring_size)
		goto out_free;
	if (prbd_log_read_pages(dp, s->off + PRBD_LOG_BLK, p, n))
		goto out_free;
	ok = prbd_pages_crc(p, s->len) == s->crc;
out_free:
	prbd_free_pages(p, n);
	return ok;
}

/**
 * prbd_log_load() - scan the ring, replay chosen values, restore the core
 * @dp: the data path; dp->px initialised, dp->applied_disk set
 * @hs: the hard state from the acceptor record
 *
 * Return: 0 or a negative errno.
 */
int prbd_log_load(struct prbd_dp *dp, const struct prbd_px_hardstate *hs)
{
	struct prbd_log *log = &dp->log;
	struct prbd_scan_rec *recs, *s, **best = NULL;
	struct prbd_px_hardstate rhs;
	u64 span, k, applied;
	struct prbd_log_ext *ext;
	struct page **pages;
	u32 nrec = 0, maxrec, i, j, n;
	u64 off, kept_lo_seq = U64_MAX, max_seq = 0, head = 0, tail = 0;
	u64 kept_hi_slot = 0, lo = U64_MAX, hi = 0, commit = hs->commit;
	u32 restored = 0;
	int err = 0;

	maxrec = log->ring_size / PRBD_LOG_BLK;
	recs = vmalloc(array_size(maxrec, sizeof(*recs)));
	pages = kcalloc(PRBD_LOG_SCAN_PAGES, sizeof(*pages), GFP_KERNEL);
	if (!recs || !pages) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < PRBD_LOG_SCAN_PAGES; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i]) {
			err = -ENOMEM;
			goto out_free;
		}
	}

	for (off = 0; off < log->ring_size; off += n * PAGE_SIZE) {
		n = min_t(u64, PRBD_LOG_SCAN_PAGES,
			  (log->ring_size - off) / PAGE_SIZE);
		err = prbd_log_read_pages(dp, log->ring_off + off, pages, n);
		if (err)
			goto out_free;
		for (i = 0; i < n; i++)
			if (prbd_log_parse(dp, page_address(pages[i]),
					   log->ring_off + off + i * PAGE_SIZE,
					   &recs[nrec]))
				nrec++;
	}
	sort(recs, nrec, sizeof(*recs), prbd_scan_cmp, NULL);

	/*
	 * The newest record (torn or not) marks where the head was.  A valid
	 * header's commit hint holds even if its payload is torn: it speaks
	 * of earlier batches only.
	 */
	for (i = 0; i < nrec; i++) {
		s = &recs[i];
		commit = max(commit, s->hint);
		if (s->seq > max_seq) {
			max_seq = s->seq;
			head = s->off - log->ring_off + s->size;
		}
		if (s->slot <= dp->applied_disk)
			continue;
		if (s->seq <= dp->log_floor) {
			/* another epoch's: a reset replaced it */
			s->slot = 0;
			continue;
		}
		if (!prbd_log_payload_ok(dp, s)) {
			pr_warn("log record of slot %llu at %llu is torn; ignored\n",
				s->slot, s->off);
			s->slot = 0;
			continue;
		}
		if (!(s->flags & PRBD_LOG_REC_F_MARKER)) {
			err = prbd_log_remember(dp, s->slot, s->ballot, s->idx,
						s->e.kind == PRBD_PX_K_DATA ?
						s->e.desc[s->idx].id : 0,
						s->off + PRBD_LOG_BLK, s->len);
			if (err)
				goto out_free;
		}
		if (s->seq < kept_lo_seq) {
			kept_lo_seq = s->seq;
			tail = s->off - log->ring_off;
		}
		kept_hi_slot = max(kept_hi_slot, s->slot);
	}

	/*
	 * The newest complete value of each slot (the highest ballot: once a
	 * value is chosen every higher ballot carries it).  Values known
	 * chosen, contiguous from the applied index, are applied here; the
	 * rest (at most a window) go to the core.
	 */
	span = 0;
	for (i = 0; i < nrec; i++)
		if (recs[i].slot > dp->applied_disk)
			span = max(span, recs[i].slot - dp->applied_disk);
	span = min_t(u64, span, nrec);
	best = vzalloc(array_size(span + 1, sizeof(*best)));
	if (!best) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < nrec; i++) {
		bool chosen = false;
		u16 have = 0;

		s = &recs[i];
		if (s->slot <= dp->applied_disk ||
		    s->slot - dp->applied_disk > span ||
		    s->flags & PRBD_LOG_REC_F_MARKER)
			continue;
		for (j = 0; j < nrec; j++) {
			if (recs[j].slot != s->slot || recs[j].ballot != s->ballot)
				continue;
			chosen |= recs[j].e.chosen;
			if (!(recs[j].flags & PRBD_LOG_REC_F_MARKER))
				have |= 1u << recs[j].idx;
		}
		if (have != (1u << max_t(u32, s->e.n_desc, 1)) - 1)
			continue;
		s->e.chosen = chosen || s->slot <= commit;
		k = s->slot - dp->applied_disk;
		if (!best[k] || best[k]->ballot < s->ballot)
			best[k] = s;
	}

	applied = dp->applied_disk;
	rhs = *hs;
	for (k = 1; k <= span && best[k] && best[k]->e.chosen; k++) {
		/* the hard state may predate a configuration chosen since */
		if (best[k]->e.kind == PRBD_PX_K_CONFIG &&
		    best[k]->slot > rhs.cfg_slot) {
			rhs.cfg_slot = best[k]->slot;
			rhs.voters = best[k]->e.voters;
			rhs.learners = best[k]->e.learners;
		}
		err = prbd_log_apply_sync(dp, &best[k]->e);
		if (err) {
			pr_err("%s: replay of slot %llu failed: %d\n",
			       dp->res->name, best[k]->slot, err);
			goto out_free;
		}
		applied = best[k]->slot;
	}
	if (applied > dp->applied_disk) {
		err = blkdev_issue_flush(dp->bdev);
		if (err)
			goto out_free;
	}
	rhs.log_start = applied + 1;
	rhs.commit = max(commit, applied);
	prbd_px_restore(dp->px, &rhs, applied);
	for (; k <= span; k++) {
		if (!best[k])
			continue;
		prbd_px_restore_entry(dp->px, &best[k]->e);
		restored++;
		lo = min(lo, best[k]->slot);
		hi = max(hi, best[k]->slot);
	}
	pr_info("%s: log: replayed slots %llu..%llu\n", dp->res->name,
		dp->applied_disk + 1, applied);
	dp->applied = applied;
	dp->apply_next = applied + 1;
	dp->apply_hi = applied;
	dp->core_log_start = applied + 1;

	log->seq = max(max_seq, dp->log_floor);
	if (head >= log->ring_size)
		head = 0;
	log->head = head;
	if (kept_lo_seq != U64_MAX) {
		ext = kzalloc(sizeof(*ext), GFP_KERNEL);
		if (!ext) {
			err = -ENOMEM;
			goto out_free;
		}
		ext->slot = kept_hi_slot;
		ext->off = log->ring_off + tail;
		ext->size = prbd_log_ring_span(log->ring_size, tail, head);
		log->used = ext->size;
		list_add_tail(&ext->list, &log->exts);
	}
	pr_info("%s: log: %u records, next seq %llu, %llu bytes in use; %u values of slots %llu..%llu restored\n",
		dp->res->name, nrec, max_seq + 1, log->used, restored,
		restored ? lo : 0, hi);

out_free:
	if (pages)
		prbd_free_pages(pages, PRBD_LOG_SCAN_PAGES);
	vfree(best);
	vfree(recs);
	return err;
}

/**
 * prbd_log_fence() - a reset installed another epoch: fence off the old one
 * @dp: the data path
 * @tok: the newest batch token issued before the install
 *
 * From now on no record of a batch of token <= @tok is written (they hold
 * what the install replaced), and every record that is has a seq above
 * the one returned: recorded as the log floor (prbd_hs_to_state()), it
 * makes a restart ignore every record of the epoch replaced.  The payload
 * locations the ring knew are forgotten: they are of that epoch too.
 *
 * Context: drive work.
 * Return: the log floor, the seq of the newest record allocated so far.
 */
u64 prbd_log_fence(struct prbd_dp *dp, u64 tok)
{
	u64 floor;

	spin_lock(&dp->log.lock);
	dp->log.fence_tok = max(dp->log.fence_tok, tok);
	floor = dp->log.seq;
	spin_unlock(&dp->log.lock);
	prbd_log_forget(dp, ULONG_MAX / PRBD_PX_BATCH - 1);
	return floor;
}

/**
 * prbd_log_unload() - free the in-memory state of the ring
 * @dp: the data path
 */
void prbd_log_unload(struct prbd_dp *dp)
{
	struct prbd_log_ext *ext, *tmp;
	struct prbd_log_loc *loc;
	unsigned long idx;

	list_for_each_entry_safe(ext, tmp, &dp->log.exts, list) {
		list_del(&ext->list);
		kfree(ext);
	}
	xa_for_each(&dp->log_locs, idx, loc)
		kfree(loc);
	xa_destroy(&dp->log_locs);
}

/**
 * prbd_log_forget() - drop payload locations of slots <= @slot
 * @dp: the data path
 * @slot: released slot
 */
void prbd_log_forget(struct prbd_dp *dp, u64 slot)
{
	struct prbd_log_loc *loc;
	unsigned long idx;

	xa_for_each_range(&dp->log_locs, idx, loc, 0,
			  (slot + 1) * PRBD_PX_BATCH - 1) {
		xa_erase(&dp->log_locs, idx);
		kfree(loc);
	}
}

/**
 * prbd_log_payload() - a payload from the cache or, failing that, the log
 * @dp: the data path
 * @slot: the slot the descriptor is in
 * @id: the descriptor id
 * @csum: its crc32c, checked when the payload is read from the log
 *
 * Context: may sleep (log read).
 * Return: the payload with a reference, or an ERR_PTR.
 */
struct prbd_payload *prbd_log_payload(struct prbd_dp *dp, u64 slot, u64 id,
				      u32 csum)
{
	struct prbd_payload *pl = prbd_pl_get(dp, id);
	struct page **pages;
	unsigned int nr, i;
	u32 len;
	int err;

	if (pl)
		return pl;
	err = prbd_log_read_payload(dp, slot, id, csum, &pages, &nr, &len);
	if (err)
		return ERR_PTR(err);
	pl = prbd_pl_new(dp, id, len, GFP_NOIO);	/* never NULL */
	pl->nr = nr;
	for (i = 0; i < nr; i++) {
		pl->pages[i] = pages[i];
		bvec_set_page(&pl->bvec[i], pages[i],
			      min_t(u32, PAGE_SIZE, len - i * PAGE_SIZE), 0);
	}
	kfree(pages);
	return pl;
}
