// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the request path - the blk-mq block device /dev/prbd<minor>.
 *
 * queue_rq never waits for Paxos: writes are queued for the drive work
 * (prbd_drive.c), which proposes them, has them made durable in the log and
 * applied to the data area, and completes them; reads go to the data area
 * of the backing device directly when the core grants local reads, or wait
 * for it.  Submitting a read may sleep (a bio from the mempool, a tag of
 * the backing device): the tag set is BLK_MQ_F_BLOCKING, so queue_rq runs
 * under SRCU, not in an RCU read-side section.
 *
 * Write cache and FUA are advertised.  A write completes only once it is
 * chosen (durable in the log of a majority) and applied, so REQ_FUA holds
 * for every write and a flush finds nothing volatile: it completes at once.
 *
 * Discard and write-zeroes are advertised when the backing device has them
 * and go the way of a write, without payload: the value carries the op,
 * sector and length; every node logs it and applies it to its data area in
 * slot order (prbd_submit_trim()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_trace.h"

int prbd_major;

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

static blk_status_t prbd_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct prbd_io *cmd = blk_mq_rq_to_pdu(rq);
	struct prbd_dp *dp = hctx->queue->queuedata;

	INIT_LIST_HEAD(&cmd->list);
	cmd->rq = rq;
	cmd->id = 0;
	cmd->csum = 0;
	cmd->log_need = 0;
	cmd->doubt = false;
	cmd->status = BLK_STS_OK;
	atomic_set(&cmd->pending, 0);
	blk_mq_start_request(rq);
	trace_prbd_req_queued(prbd_dp_minor(dp), rq->tag, req_op(rq),
			      blk_rq_pos(rq), blk_rq_bytes(rq));

	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		/* every completed write is already durable on a majority */
		prbd_io_end(cmd, BLK_STS_OK);
		return BLK_STS_OK;
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		if (!blk_rq_bytes(rq)) {
			prbd_io_end(cmd, BLK_STS_OK);
			return BLK_STS_OK;
		}
		return prbd_dp_queue_write(dp, cmd);
	case REQ_OP_READ:
		if (READ_ONCE(dp->rs_inconsistent)) {
			/* a resync is writing the data area: nothing to read */
			prbd_io_end(cmd, BLK_STS_IOERR);
			return BLK_STS_OK;
		}
		if (prbd_dp_queue_read(dp, cmd))
			prbd_submit_read(dp, cmd);	/* may sleep: blocking set */
		return BLK_STS_OK;
	default:
		prbd_io_end(cmd, BLK_STS_NOTSUPP);
		return BLK_STS_OK;
	}
}

static const struct blk_mq_ops prbd_mq_ops = {
	.queue_rq = prbd_queue_rq,
};

/* every open is counted: down refuses while the device is open */
static int prbd_dev_open_rw(struct prbd_dp *dp, bool write)
{
	int err;

	err = prbd_dp_open(dp);
	if (err || !write)
		return err;
	err = prbd_dp_open_rw(dp);
	if (err)
		prbd_dp_close(dp);
	return err;
}

static void prbd_dev_release_rw(struct prbd_dp *dp, bool write)
{
	if (write)
		prbd_dp_release_rw(dp);
	prbd_dp_close(dp);	/* the last use of dp */
}

PRBD_DEFINE_BDOPS(prbd_fops, prbd_dev_open_rw, prbd_dev_release_rw);

/*
 * Limits from the backing device: discard and write-zeroes only when it has
 * them.  The data area starts data_sect into the backing device, which moves
 * the first whole discard granule.
 */
static void prbd_dev_limits(struct prbd_dp *dp, struct prbd_limits *l)
{
	struct block_device *bdev = dp->bdev;
	u64 off = dp->data_sect << SECTOR_SHIFT;
	u32 gran, rem;

	memset(l, 0, sizeof(*l));
	l->lbs = dp->block_size;
	l->pbs = bdev_physical_block_size(bdev);
	l->max_sectors = PRBD_DP_MAX_IO >> SECTOR_SHIFT;
	l->max_segs = PRBD_DP_MAX_SEGS;
	if (bdev_max_discard_sectors(bdev)) {
		gran = max(bdev_discard_granularity(bdev), l->lbs);
		rem = do_div(off, gran);
		l->max_discard = min(bdev_max_discard_sectors(bdev),
				     PRBD_DP_MAX_TRIM >> SECTOR_SHIFT);
		l->discard_gran = gran;
		l->discard_align = (gran + bdev_discard_alignment(bdev) - rem) %
				   gran;
	}
	if (bdev_write_zeroes_sectors(bdev))
		l->max_zeroes = min(bdev_write_zeroes_sectors(bdev),
				    PRBD_DP_MAX_TRIM >> SECTOR_SHIFT);
}

/**
 * prbd_dev_create() - create and register /dev/prbd<minor>
 * @dp: the data path, with its backing device and geometry set
 * @minor: the minor number
 *
 * Return: 0 or a negative errno.
 */
int prbd_dev_create(struct prbd_dp *dp, u32 minor)
{
	struct prbd_limits lim;
	struct gendisk *disk;
	int err;

	dp->tag_set.ops = &prbd_mq_ops;
	dp->tag_set.nr_hw_queues = 1;
	dp->tag_set.queue_depth = PRBD_DP_QUEUE_DEPTH;
	dp->tag_set.numa_node = NUMA_NO_NODE;
	dp->tag_set.cmd_size = sizeof(struct prbd_io);
	/* queue_rq may sleep submitting a read to the backing device */
	dp->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	dp->tag_set.driver_data = dp;
	err = blk_mq_alloc_tag_set(&dp->tag_set);
	if (err)
		return err;

	prbd_dev_limits(dp, &lim);
	disk = prbd_alloc_disk(&dp->tag_set, dp, &lim);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto out_free_tag_set;
	}
	disk->major = prbd_major;
	disk->first_minor = minor;
	disk->minors = 1;
	disk->fops = &prbd_fops;
	disk->private_data = dp;
	snprintf(disk->disk_name, DISK_NAME_LEN, "prbd%u", minor);
	set_capacity(disk, dp->data_size >> SECTOR_SHIFT);

	err = add_disk(disk);
	if (err)
		goto out_put_disk;
	dp->disk = disk;
	return 0;

out_put_disk:
	put_disk(disk);
out_free_tag_set:
	blk_mq_free_tag_set(&dp->tag_set);
	return err;
}

/**
 * prbd_dev_destroy() - remove the block device; in-flight I/O must be done
 * @dp: the data path
 */
void prbd_dev_destroy(struct prbd_dp *dp)
{
	if (!dp->disk)
		return;
	del_gendisk(dp->disk);
	put_disk(dp->disk);
	blk_mq_free_tag_set(&dp->tag_set);
	dp->disk = NULL;
}
