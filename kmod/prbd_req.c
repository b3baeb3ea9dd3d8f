// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the request path - the blk-mq block device /dev/prbd<minor>.
 *
 * queue_rq never waits for Paxos: writes are queued for the drive work
 * (prbd_drive.c), which proposes them, has them made durable in the log and
 * applied to the data area, and completes them; reads go to the data area
 * of the backing device directly when the core grants local reads, or wait
 * for it; on a node whose copy is not whole (a resync is writing it) the
 * leader serves them (prbd_pread.c).  Submitting a read may sleep (a bio
 * from the mempool, a tag of the backing device): the tag set is
 * BLK_MQ_F_BLOCKING, so queue_rq runs under SRCU, not in an RCU read-side
 * section.
 *
 * Write cache and FUA are advertised.  durability = strict: a write
 * completes only once it is chosen (durable in the log of a majority), so
 * REQ_FUA holds for every write and a flush finds nothing volatile: it
 * completes at once.  durability = flush: a write completes once chosen,
 * its log records written without FUA; a flush, and a write with REQ_FUA
 * once chosen, wait for a barrier of the core (prbd_dp_queue_flush()).
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
#include "prbd_trace_helpers.h"

int prbd_major;

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
	cmd->bar_id = 0;
	cmd->status = BLK_STS_OK;
	atomic_set(&cmd->pending, 0);
	blk_mq_start_request(rq);
	trace_prbd_req_queued(prbd_dp_minor(dp), rq->tag, req_op(rq),
			      blk_rq_pos(rq), blk_rq_bytes(rq));

	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		if (dp->flush_mode) {
			prbd_dp_queue_flush(dp, cmd);	/* a barrier */
			return BLK_STS_OK;
		}
		/* strict: every completed write is durable on a majority */
		prbd_io_end(cmd, BLK_STS_OK);
		return BLK_STS_OK;
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		if (!blk_rq_bytes(rq)) {
			if (dp->flush_mode &&
			    (rq->cmd_flags & (REQ_PREFLUSH | REQ_FUA)))
				prbd_dp_queue_flush(dp, cmd);
			else
				prbd_io_end(cmd, BLK_STS_OK);
			return BLK_STS_OK;
		}
		return prbd_dp_queue_write(dp, cmd);
	case REQ_OP_READ:
		if (READ_ONCE(dp->rs_inconsistent)) {
			/* a resync is writing the data area: ask the leader */
			prbd_pread_queue(dp, cmd);
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
