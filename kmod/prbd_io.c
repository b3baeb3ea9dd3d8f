// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the data path's I/O on the backing device - its reserves (bio set
 * and mempools), bios built over pages or over a request's own pages,
 * discard and zeroing, local reads, request completion, and what a failed
 * backing-device I/O does (the disk is detached).
 *
 * Nothing here waits for Paxos or takes a data-path lock but px_lock's
 * callers' own; bio completions run in any context and only count, complete
 * and queue work.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_trace_helpers.h"

/**
 * prbd_io_end() - complete a request
 * @cmd: the request's pdu
 * @status: its status
 */
void prbd_io_end(struct prbd_io *cmd, blk_status_t status)
{
	struct request *rq = cmd->rq;
	struct prbd_dp *dp = rq->q->queuedata;

	if (trace_prbd_req_done_enabled())
		trace_prbd_req_done(prbd_dp_minor(dp), rq->tag, req_op(rq),
				    blk_rq_pos(rq), blk_rq_bytes(rq),
				    blk_status_to_errno(status));
	blk_mq_end_request(rq, status);
}

/**
 * prbd_dp_pools_init() - the reserves of the write path
 * @dp: the data path
 *
 * Every bio of the data path comes from dp->bio_set; struct prbd_apply, log
 * record header pages, payload structs and payload pages from mempools.
 * Allocated with GFP_NOIO where the element comes back by an I/O
 * completion (bios, header pages), without waiting where only the drive
 * work itself or queue_rq could give it back (applies, payloads copied in
 * queue_rq or received from the network): there a failure is retried.
 *
 * Return: 0 or -ENOMEM (prbd_dp_pools_exit() frees what was made).
 */
int prbd_dp_pools_init(struct prbd_dp *dp)
{
	unsigned int pl_pages = PRBD_DP_MAX_IO >> PAGE_SHIFT;
	int err;

	err = bioset_init(&dp->bio_set, PRBD_DP_POOL_IOS, 0, BIOSET_NEED_BVECS);
	if (err)
		return err;
	dp->apply_pool = mempool_create_kmalloc_pool(PRBD_DP_POOL_IOS,
						     sizeof(struct prbd_apply));
	dp->hdr_pool = mempool_create_page_pool(PRBD_DP_POOL_IOS, 0);
	dp->pl_pool = mempool_create_kmalloc_pool(PRBD_DP_POOL_IOS,
						  prbd_pl_size(pl_pages));
	dp->page_pool = mempool_create_page_pool(PRBD_DP_POOL_PL_IOS * pl_pages,
						 0);
	if (!dp->apply_pool || !dp->hdr_pool || !dp->pl_pool ||
	    !dp->page_pool)
		return -ENOMEM;
	return 0;
}

/**
 * prbd_dp_pools_exit() - free the reserves; every element is back
 * @dp: the data path (also one whose prbd_dp_pools_init() failed or never
 *	ran: a zeroed bio_set and NULL pools are fine)
 */
void prbd_dp_pools_exit(struct prbd_dp *dp)
{
	mempool_destroy(dp->page_pool);
	mempool_destroy(dp->pl_pool);
	mempool_destroy(dp->hdr_pool);
	mempool_destroy(dp->apply_pool);
	bioset_exit(&dp->bio_set);
}

static int prbd_rq_bio(struct prbd_dp *dp, struct prbd_io *cmd,
		       struct page *hdr, sector_t sector, blk_opf_t opf,
		       bio_end_io_t *end_io, void *priv, gfp_t gfp)
{
	struct request *rq = cmd->rq;
	struct req_iterator iter;
	struct bio_vec bv;
	struct bio *bio;
	unsigned int nr = 1;

	rq_for_each_bvec(bv, rq, iter)
		nr++;
	bio = bio_alloc_bioset(dp->bdev, nr, opf, gfp, &dp->bio_set);
	if (!bio)
		return -ENOMEM;
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = end_io;
	bio->bi_private = priv;
	if (hdr && bio_add_page(bio, hdr, PAGE_SIZE, 0) != PAGE_SIZE)
		goto out_put;
	rq_for_each_bvec(bv, rq, iter)
		if (bio_add_page(bio, bv.bv_page, bv.bv_len, bv.bv_offset) !=
		    bv.bv_len)
			goto out_put;
	submit_bio(bio);
	return 0;

out_put:
	bio_put(bio);
	return -ENOMEM;
}

/**
 * prbd_submit_rq_bio() - write or read a request's pages on the backing device
 * @dp: the data path
 * @cmd: the request; its pages are used in place, without copies
 * @hdr: a page written before the request's data (a log record header), or
 *	 NULL
 * @sector: where on the backing device (512-byte sectors)
 * @opf: operation and flags
 * @end_io: completion
 * @priv: bio->bi_private
 *
 * Context: process (GFP_NOIO; the bio comes from dp->bio_set).
 * Return: 0 or -ENOMEM (nothing submitted).
 */
int prbd_submit_rq_bio(struct prbd_dp *dp, struct prbd_io *cmd,
		       struct page *hdr, sector_t sector, blk_opf_t opf,
		       bio_end_io_t *end_io, void *priv)
{
	return prbd_rq_bio(dp, cmd, hdr, sector, opf, end_io, priv, GFP_NOIO);
}

/**
 * prbd_rq_op() - the log op of a write-type request
 * @rq: a write, discard or write-zeroes request
 *
 * Return: %PRBD_LOG_OP_WRITE, %PRBD_LOG_OP_DISCARD, %PRBD_LOG_OP_ZEROES or
 * %PRBD_LOG_OP_ZEROES_NOUNMAP.
 */
u32 prbd_rq_op(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_DISCARD:
		return PRBD_LOG_OP_DISCARD;
	case REQ_OP_WRITE_ZEROES:
		return rq->cmd_flags & REQ_NOUNMAP ?
		       PRBD_LOG_OP_ZEROES_NOUNMAP : PRBD_LOG_OP_ZEROES;
	default:
		return PRBD_LOG_OP_WRITE;
	}
}

/**
 * prbd_submit_trim() - discard or zero an extent of the backing device
 * @dp: the data path
 * @op: %PRBD_LOG_OP_DISCARD, %PRBD_LOG_OP_ZEROES or
 *	%PRBD_LOG_OP_ZEROES_NOUNMAP
 * @sector: where on the backing device (512-byte sectors)
 * @len: bytes
 * @end_io: completion, called once for the whole extent
 * @priv: its bio->bi_private
 *
 * Builds a chain of bios cut to the backing device's limits, submitting
 * all but the last, which gets @end_io.  Write zeroes falls back to
 * writing zero pages when the device has no write-zeroes command, so the
 * extent reads back as zeroes on every node.  A discard the device cannot
 * do is a no-op: its contents are undefined either way.
 *
 * Context: process (work item); never called from queue_rq.
 * Return: 0 when submitted, 1 when there was nothing to submit (@end_io
 * is not called), or a negative errno.
 */
int prbd_submit_trim(struct prbd_dp *dp, u32 op, sector_t sector, u32 len,
		     bio_end_io_t *end_io, void *priv)
{
	sector_t nr = len >> SECTOR_SHIFT;
	struct bio *bio = NULL;
	int err;

	if (op == PRBD_LOG_OP_DISCARD) {
		err = __blkdev_issue_discard(dp->bdev, sector, nr, GFP_NOIO,
					     &bio);
		if (err == -EOPNOTSUPP)
			err = 0;
	} else {
		err = __blkdev_issue_zeroout(dp->bdev, sector, nr, GFP_NOIO,
					     &bio,
					     op == PRBD_LOG_OP_ZEROES_NOUNMAP ?
					     BLKDEV_ZERO_NOUNMAP : 0);
	}
	if (err) {
		if (bio) {	/* the chain so far: wait for it, fail */
			submit_bio_wait(bio);
			bio_put(bio);
		}
		return err;
	}
	if (!bio)
		return 1;
	bio->bi_end_io = end_io;
	bio->bi_private = priv;
	submit_bio(bio);
	return 0;
}

static void prbd_read_endio(struct bio *bio)
{
	struct prbd_io *cmd = bio->bi_private;

	if (bio->bi_status)
		prbd_dp_io_error(cmd->rq->q->queuedata,
				 blk_status_to_errno(bio->bi_status), "read");
	prbd_io_end(cmd, bio->bi_status);
	bio_put(bio);
}

/**
 * prbd_submit_read() - serve a read from the local data area
 * @dp: the data path
 * @cmd: the read request
 *
 * Return: 0, or -ENOMEM after completing the request with an error.
 */
int prbd_submit_read(struct prbd_dp *dp, struct prbd_io *cmd)
{
	int err;

	err = prbd_submit_rq_bio(dp, cmd, NULL,
				 dp->data_sect + blk_rq_pos(cmd->rq),
				 REQ_OP_READ, prbd_read_endio, cmd);
	if (err)
		prbd_io_end(cmd, BLK_STS_RESOURCE);
	return err;
}

/**
 * prbd_pages_bio() - a bio over a header page and @len bytes of @pages
 * @dp: the data path (its backing device)
 * @hdr: a page put first (a log record header), or NULL
 * @pages: the data, PAGE_SIZE each but the last
 * @len: bytes of @pages
 * @sector: where on the backing device
 * @opf: operation and flags
 *
 * Return: the bio (never NULL: it comes from dp->bio_set with GFP_NOIO).
 */
struct bio *prbd_pages_bio(struct prbd_dp *dp, struct page *hdr,
			   struct page **pages, u32 len, sector_t sector,
			   blk_opf_t opf)
{
	unsigned int i, n = DIV_ROUND_UP(len, PAGE_SIZE);
	struct bio *bio;

	bio = bio_alloc_bioset(dp->bdev, n + !!hdr, opf, GFP_NOIO,
			       &dp->bio_set);
	bio->bi_iter.bi_sector = sector;
	if (hdr)
		__bio_add_page(bio, hdr, PAGE_SIZE, 0);
	for (i = 0; i < n; i++)
		__bio_add_page(bio, pages[i],
			       min_t(u32, PAGE_SIZE, len - i * PAGE_SIZE), 0);
	return bio;
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
