/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: wrappers for kernel APIs that changed between 6.1 and 6.12.
 *
 * The 6.1 and 6.12 branches are built and run in the test VMs (Debian's
 * 6.1 and 6.12 kernels: selftests/compat/k612.sh); the branches between
 * follow the upstream API of their version range, untested.
 */

#ifndef PRBD_COMPAT_H
#define PRBD_COMPAT_H

#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/version.h>
#include <linux/blk-mq.h>
#include <linux/bvec.h>
#include <linux/highmem.h>
#include <linux/net.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/genetlink.h>

/* Version of the kernel we are built for, comparable with PRBD_KVER(). */
#define PRBD_KVER(maj, min)	((maj) * 256 + (min))
#define PRBD_KVER_BUILD		PRBD_KVER(LINUX_VERSION_MAJOR, \
					  LINUX_VERSION_PATCHLEVEL)
#define PRBD_KVER_AT_LEAST(maj, min)	(PRBD_KVER(maj, min) <= PRBD_KVER_BUILD)

/**
 * struct prbd_bdev - an exclusively opened block device
 * @bdev: the block device, valid while open
 * @handle: what has to be released (struct file or struct bdev_handle on
 *	    newer kernels, unused on older ones)
 */
struct prbd_bdev {
	struct block_device *bdev;
	void *handle;
};

#if PRBD_KVER_AT_LEAST(6, 9)

static inline int prbd_bdev_open(struct prbd_bdev *pb, const char *path,
				 void *holder)
{
	struct file *file;

	file = bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
				      holder, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	pb->handle = file;
	pb->bdev = file_bdev(file);
	return 0;
}

static inline void prbd_bdev_close(struct prbd_bdev *pb)
{
	fput(pb->handle);
	pb->bdev = NULL;
	pb->handle = NULL;
}

#elif PRBD_KVER_AT_LEAST(6, 7)

static inline int prbd_bdev_open(struct prbd_bdev *pb, const char *path,
				 void *holder)
{
	struct bdev_handle *h;

	h = bdev_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE, holder,
			      NULL);
	if (IS_ERR(h))
		return PTR_ERR(h);
	pb->handle = h;
	pb->bdev = h->bdev;
	return 0;
}

static inline void prbd_bdev_close(struct prbd_bdev *pb)
{
	bdev_release(pb->handle);
	pb->bdev = NULL;
	pb->handle = NULL;
}

#elif PRBD_KVER_AT_LEAST(6, 5)

static inline int prbd_bdev_open(struct prbd_bdev *pb, const char *path,
				 void *holder)
{
	struct block_device *bdev;

	bdev = blkdev_get_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE, holder,
				  NULL);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	pb->handle = holder;
	pb->bdev = bdev;
	return 0;
}

static inline void prbd_bdev_close(struct prbd_bdev *pb)
{
	blkdev_put(pb->bdev, pb->handle);
	pb->bdev = NULL;
	pb->handle = NULL;
}

#else

#define PRBD_BDEV_MODE	(FMODE_READ | FMODE_WRITE | FMODE_EXCL)

static inline int prbd_bdev_open(struct prbd_bdev *pb, const char *path,
				 void *holder)
{
	struct block_device *bdev;

	bdev = blkdev_get_by_path(path, PRBD_BDEV_MODE, holder);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	pb->handle = NULL;
	pb->bdev = bdev;
	return 0;
}

static inline void prbd_bdev_close(struct prbd_bdev *pb)
{
	blkdev_put(pb->bdev, PRBD_BDEV_MODE);
	pb->bdev = NULL;
}

#endif

/* The attributes of a dump request, parsed by the genl core. */
#if PRBD_KVER_AT_LEAST(6, 2)
static inline struct nlattr **prbd_genl_dump_attrs(struct netlink_callback *cb)
{
	return genl_info_dump(cb)->attrs;
}
#else
static inline struct nlattr **prbd_genl_dump_attrs(struct netlink_callback *cb)
{
	return genl_dumpit_info(cb)->attrs;
}
#endif

/* --- block layer --- */

/**
 * struct prbd_limits - queue limits of a prbd device
 * @lbs: logical block size
 * @pbs: physical block size
 * @max_sectors: per request, 512-byte sectors
 * @max_segs: segments per request
 * @max_discard: discard sectors per request; 0: no discard
 * @discard_gran: discard granularity, bytes
 * @discard_align: offset of the first granule, bytes
 * @max_zeroes: write-zeroes sectors per request; 0: none
 */
struct prbd_limits {
	u32 lbs, pbs, max_sectors, max_segs;
	u32 max_discard, discard_gran, discard_align, max_zeroes;
};

#if PRBD_KVER_AT_LEAST(6, 11)

static inline struct gendisk *prbd_alloc_disk(struct blk_mq_tag_set *set,
					      void *data,
					      const struct prbd_limits *l)
{
	struct queue_limits lim = {
		.logical_block_size = l->lbs,
		.physical_block_size = max(l->lbs, l->pbs),
		.max_hw_sectors = l->max_sectors,
		.max_segments = l->max_segs,
		.max_hw_discard_sectors = l->max_discard,
		.discard_granularity = l->max_discard ? l->discard_gran : 0,
		.discard_alignment = l->max_discard ? l->discard_align : 0,
		.max_write_zeroes_sectors = l->max_zeroes,
		.features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA,
	};

	return blk_mq_alloc_disk(set, &lim, data);
}

#else

static inline struct gendisk *prbd_alloc_disk(struct blk_mq_tag_set *set,
					      void *data,
					      const struct prbd_limits *l)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, data);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, l->lbs);
	blk_queue_physical_block_size(q, max(l->lbs, l->pbs));
	blk_queue_max_hw_sectors(q, l->max_sectors);
	blk_queue_max_segments(q, l->max_segs);
	blk_queue_write_cache(q, true, true);
	if (l->max_discard) {
		blk_queue_max_discard_sectors(q, l->max_discard);
		q->limits.discard_granularity = l->discard_gran;
		q->limits.discard_alignment = l->discard_align;
	}
	blk_queue_max_write_zeroes_sectors(q, l->max_zeroes);
	return disk;
}

#endif

#if PRBD_KVER_AT_LEAST(6, 5)
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

/* --- transport --- */

#if PRBD_KVER_AT_LEAST(6, 5)
static inline int prbd_tr_compat_sendpage(struct socket *sock,
					  struct page *page, int off,
					  size_t len, int flags)
{
	struct bio_vec bv;
	struct msghdr msg = { .msg_flags = flags | MSG_NOSIGNAL };

	if (sendpage_ok(page))
		msg.msg_flags |= MSG_SPLICE_PAGES;
	bvec_set_page(&bv, page, len, off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, len);
	return sock_sendmsg(sock, &msg);
}
#else
static inline int prbd_tr_compat_sendpage(struct socket *sock,
					  struct page *page, int off,
					  size_t len, int flags)
{
	struct msghdr msg = { .msg_flags = flags | MSG_NOSIGNAL };
	struct kvec kv;
	int ret;

	if (sendpage_ok(page))
		return kernel_sendpage(sock, page, off, len,
				       flags | MSG_NOSIGNAL);
	kv.iov_base = kmap_local_page(page) + off;
	kv.iov_len = len;
	ret = kernel_sendmsg(sock, &msg, &kv, 1, len);
	kunmap_local(kv.iov_base);
	return ret;
}
#endif

#if PRBD_KVER_AT_LEAST(6, 2)
static inline void prbd_tr_compat_sock_noio(struct sock *sk)
{
	sk->sk_allocation = GFP_NOIO;
	sk->sk_use_task_frag = false;
}
#else
static inline void prbd_tr_compat_sock_noio(struct sock *sk)
{
	sk->sk_allocation = GFP_NOIO;
}
#endif

/*
 * prbd_nl_err_fmt(): an extack message with arguments.  The kernel's
 * NL_SET_ERR_MSG_FMT_MOD() arrived in 6.2 and cuts messages at 80 bytes
 * (NETLINK_MAX_FMTMSG_LEN), too short for prbd's refusals, which say what
 * the numbers are.  So on every kernel: format into one static buffer.
 * prbd's family is not parallel_ops, so genl_mutex serialises every
 * request from its doit through the ack that carries the message
 * (prbd_member.c defines the buffer).
 */
#include <linux/netlink.h>
extern char prbd_extack_buf[160];
#define prbd_nl_err_fmt(extack, fmt, args...) do {			\
	struct netlink_ext_ack *__prbd_ext = (extack);			\
									\
	if (__prbd_ext) {						\
		snprintf(prbd_extack_buf, sizeof(prbd_extack_buf),	\
			 KBUILD_MODNAME ": " fmt, ##args);		\
		__prbd_ext->_msg = prbd_extack_buf;			\
	}								\
} while (0)

#endif /* PRBD_COMPAT_H */
