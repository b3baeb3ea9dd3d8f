/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: wrappers for kernel APIs that changed between 6.1 and 6.12.
 *
 * Only the 6.1 branch is compile-tested (Debian 6.1.0-56-amd64); the others
 * follow the upstream API of their version range.
 */

#ifndef PRBD_COMPAT_H
#define PRBD_COMPAT_H

#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/version.h>
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

#endif /* PRBD_COMPAT_H */
