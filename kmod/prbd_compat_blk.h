/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: block-layer API differences between 6.1 and 6.12.
 *
 * Only the 6.1 branch is compile-tested here (Debian 6.1.0-56-amd64).
 */
#ifndef PRBD_COMPAT_BLK_H
#define PRBD_COMPAT_BLK_H

#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)

static inline struct gendisk *prbd_alloc_disk(struct blk_mq_tag_set *set,
					      void *data, u32 lbs, u32 pbs,
					      u32 max_sectors, u32 max_segs)
{
	struct queue_limits lim = {
		.logical_block_size = lbs,
		.physical_block_size = pbs,
		.max_hw_sectors = max_sectors,
		.max_segments = max_segs,
		.features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA,
	};

	return blk_mq_alloc_disk(set, &lim, data);
}

#else

static inline struct gendisk *prbd_alloc_disk(struct blk_mq_tag_set *set,
					      void *data, u32 lbs, u32 pbs,
					      u32 max_sectors, u32 max_segs)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, data);

	if (IS_ERR(disk))
		return disk;
	blk_queue_logical_block_size(disk->queue, lbs);
	blk_queue_physical_block_size(disk->queue, max(lbs, pbs));
	blk_queue_max_hw_sectors(disk->queue, max_sectors);
	blk_queue_max_segments(disk->queue, max_segs);
	blk_queue_write_cache(disk->queue, true, true);
	return disk;
}

#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
/*
 * Since 6.5 ->release() is not told the open mode: a read-write opener is
 * recognised by the disk's open count falling to the number of read-write
 * openers.  Not yet built or tested on these kernels.
 */
#define PRBD_DEFINE_BDOPS(name, open_fn, release_fn)			\
static int name##_open(struct gendisk *disk, blk_mode_t mode)		\
{									\
	return open_fn(disk->private_data, mode & BLK_OPEN_WRITE);	\
}									\
static void name##_release(struct gendisk *disk)			\
{									\
	struct prbd_dp *dp = disk->private_data;			\
									\
	release_fn(dp, atomic_read(&disk->part0->bd_openers) <		\
		       atomic_read(&dp->open_rw));			\
}									\
static const struct block_device_operations name = {			\
	.owner = THIS_MODULE,						\
	.open = name##_open,						\
	.release = name##_release,					\
}
#else
#define PRBD_DEFINE_BDOPS(name, open_fn, release_fn)			\
static int name##_open(struct block_device *bdev, fmode_t mode)		\
{									\
	return open_fn(bdev->bd_disk->private_data, mode & FMODE_WRITE); \
}									\
static void name##_release(struct gendisk *disk, fmode_t mode)		\
{									\
	release_fn(disk->private_data, mode & FMODE_WRITE);		\
}									\
static const struct block_device_operations name = {			\
	.owner = THIS_MODULE,						\
	.open = name##_open,						\
	.release = name##_release,					\
}
#endif

#endif /* PRBD_COMPAT_BLK_H */
