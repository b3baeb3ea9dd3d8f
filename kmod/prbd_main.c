// SPDX-License-Identifier: GPL-2.0
/*
 * prbd - Paxos Replicated Block Device: module entry points.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>

#include "prbd_int.h"

static int __init prbd_init(void)
{
	pr_info("loaded, version %s\n", PRBD_VERSION);
	return 0;
}

static void __exit prbd_exit(void)
{
	pr_info("unloaded\n");
}

module_init(prbd_init);
module_exit(prbd_exit);

MODULE_AUTHOR("prbd developers");
MODULE_DESCRIPTION("Paxos Replicated Block Device");
MODULE_LICENSE("GPL");
MODULE_VERSION(PRBD_VERSION);
