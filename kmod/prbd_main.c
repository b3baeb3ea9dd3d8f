// SPDX-License-Identifier: GPL-2.0
/*
 * prbd - Paxos Replicated Block Device: module entry points.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/module.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_transport.h"

struct dentry *prbd_debugfs;

static int __init prbd_init(void)
{
	int err;

	err = prbd_tr_selftest();
	if (err)
		return err;
	err = register_blkdev(0, "prbd");
	if (err < 0)
		return err;
	prbd_major = err;
	prbd_debugfs = debugfs_create_dir("prbd", NULL);

	err = prbd_nl_init();
	if (err)
		goto out_unregister_blkdev;
	pr_info("loaded, version %s, major %d\n", PRBD_VERSION, prbd_major);
	return 0;

out_unregister_blkdev:
	debugfs_remove(prbd_debugfs);
	unregister_blkdev(prbd_major, "prbd");
	return err;
}

static void __exit prbd_exit(void)
{
	prbd_nl_exit();
	prbd_res_exit();
	debugfs_remove(prbd_debugfs);
	unregister_blkdev(prbd_major, "prbd");
	pr_info("unloaded\n");
}

module_init(prbd_init);
module_exit(prbd_exit);

MODULE_AUTHOR("prbd developers");
MODULE_DESCRIPTION("Paxos Replicated Block Device");
MODULE_LICENSE("GPL");
MODULE_VERSION(PRBD_VERSION);
