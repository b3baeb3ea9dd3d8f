// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the request path - the blk-mq block device /dev/prbd<minor>.
 *
 * queue_rq never waits: writes are queued for the Paxos glue (prbd_glue.c),
 * which proposes them, has them made durable in the log and applied to the
 * data area, and completes them; reads go to the data area of the backing
 * device directly when the core grants local reads, or wait for it.
 *
 * Write cache and FUA are advertised.  A write completes only once it is
 * chosen (durable in the log of a majority) and applied, so REQ_FUA holds
 * for every write and a flush finds nothing volatile: it completes at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>

#include "prbd_int.h"
#include "prbd_dp.h"

int prbd_major;

/**
 * prbd_io_end() - complete a request
 * @cmd: the request's pdu
 * @status: its status
 */
void prbd_io_end(struct prbd_io *cmd, blk_status_t status)
{
	blk_mq_end_request(cmd->rq, status);
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
 * Return: 0 or -ENOMEM (nothing submitted).
 */
int prbd_submit_rq_bio(struct prbd_dp *dp, struct prbd_io *cmd,
		       struct page *hdr, sector_t sector, blk_opf_t opf,
		       bio_end_io_t *end_io, void *priv)
{
	struct request *rq = cmd->rq;
	struct req_iterator iter;
	struct bio_vec bv;
	struct bio *bio;
	unsigned int nr = 1;

	rq_for_each_bvec(bv, rq, iter)
		nr++;
	bio = bio_alloc(dp->bdev, nr, opf, GFP_NOIO);
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

static void prbd_read_endio(struct bio *bio)
{
	struct prbd_io *cmd = bio->bi_private;

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
	cmd->status = BLK_STS_OK;
	atomic_set(&cmd->pending, 0);
	blk_mq_start_request(rq);

	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		/* every completed write is already durable on a majority */
		blk_mq_end_request(rq, BLK_STS_OK);
		return BLK_STS_OK;
	case REQ_OP_WRITE:
		if (!blk_rq_bytes(rq)) {
			blk_mq_end_request(rq, BLK_STS_OK);
			return BLK_STS_OK;
		}
		return prbd_dp_queue_write(dp, cmd);
	case REQ_OP_READ:
		if (prbd_dp_queue_read(dp, cmd))
			prbd_submit_read(dp, cmd);
		return BLK_STS_OK;
	default:
		blk_mq_end_request(rq, BLK_STS_NOTSUPP);
		return BLK_STS_OK;
	}
}

static const struct blk_mq_ops prbd_mq_ops = {
	.queue_rq = prbd_queue_rq,
};

static int prbd_dev_open_rw(struct prbd_dp *dp, bool write)
{
	if (!write)
		return 0;
	return prbd_dp_open_rw(dp);
}

static void prbd_dev_release_rw(struct prbd_dp *dp, bool write)
{
	if (write)
		atomic_dec(&dp->open_rw);
}

PRBD_DEFINE_BDOPS(prbd_fops, prbd_dev_open_rw, prbd_dev_release_rw);

/**
 * prbd_dev_create() - create and register /dev/prbd<minor>
 * @dp: the data path, with its backing device and geometry set
 * @minor: the minor number
 *
 * Return: 0 or a negative errno.
 */
int prbd_dev_create(struct prbd_dp *dp, u32 minor)
{
	struct block_device *bdev = dp->bdev;
	struct gendisk *disk;
	int err;

	dp->tag_set.ops = &prbd_mq_ops;
	dp->tag_set.nr_hw_queues = 1;
	dp->tag_set.queue_depth = 128;
	dp->tag_set.numa_node = NUMA_NO_NODE;
	dp->tag_set.cmd_size = sizeof(struct prbd_io);
	dp->tag_set.flags = BLK_MQ_F_SHOULD_MERGE;
	dp->tag_set.driver_data = dp;
	err = blk_mq_alloc_tag_set(&dp->tag_set);
	if (err)
		return err;

	disk = prbd_alloc_disk(&dp->tag_set, dp, dp->block_size,
			       bdev_physical_block_size(bdev),
			       PRBD_DP_MAX_IO >> SECTOR_SHIFT,
			       PRBD_DP_MAX_SEGS);
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
