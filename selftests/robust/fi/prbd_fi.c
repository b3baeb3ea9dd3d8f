// SPDX-License-Identifier: GPL-2.0
/*
 * prbd_fi: fault injection for the robust/defects selftests (never shipped).
 *
 * While loaded, the next @fail calls of prbd.ko's prbd_pl_alloc() return
 * NULL at once, as under memory pressure: on a follower, a received DATA
 * payload is dropped (prbd_repl_recv_data() finds no memory for it).  The
 * kprobe at the function's entry sends it to prbd_fi_null(), which returns
 * NULL to the caller in its place: the error injection BPF's
 * bpf_override_return() does, on a kernel built without it.
 *
 * /sys/module/prbd_fi/parameters/fail: calls still to fail (writable),
 * .../failed: calls failed so far.
 *
 * It also watches prbd_queue_rq(): qrq_calls counts its calls, qrq_in_rcu
 * those made inside an RCU read-side critical section (a non-blocking tag
 * set), where it must not sleep, yet submitting a read to the backing
 * device may.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/rcupdate.h>

static int fail;
module_param(fail, int, 0644);
MODULE_PARM_DESC(fail, "calls of prbd_pl_alloc() still to fail");

static int failed;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "calls failed so far");

static atomic_t qrq_calls = ATOMIC_INIT(0);
module_param_named(qrq_calls, qrq_calls.counter, int, 0444);
MODULE_PARM_DESC(qrq_calls, "calls of prbd_queue_rq()");

static atomic_t qrq_in_rcu = ATOMIC_INIT(0);
module_param_named(qrq_in_rcu, qrq_in_rcu.counter, int, 0444);
MODULE_PARM_DESC(qrq_in_rcu, "of those, inside an RCU read-side section");

static DEFINE_SPINLOCK(prbd_fi_lock);

/* entered with the probed function's stack: returns NULL to its caller */
static noinline notrace void *prbd_fi_null(void)
{
	return NULL;
}

static int prbd_fi_pre(struct kprobe *p, struct pt_regs *regs)
{
	bool hit = false;

	spin_lock(&prbd_fi_lock);
	if (READ_ONCE(fail) > 0) {
		WRITE_ONCE(fail, fail - 1);
		WRITE_ONCE(failed, failed + 1);
		hit = true;
	}
	spin_unlock(&prbd_fi_lock);
	if (!hit)
		return 0;
	pr_info("failing prbd_pl_alloc() (%d so far)\n", READ_ONCE(failed));
	instruction_pointer_set(regs, (unsigned long)prbd_fi_null);
	return 1;	/* regs->ip changed: do not run the probed instruction */
}

static int prbd_fi_qrq(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&qrq_calls);
	if (rcu_preempt_depth() > 0)
		atomic_inc(&qrq_in_rcu);
	return 0;
}

static struct kprobe prbd_fi_kp = {
	.symbol_name = "prbd_pl_alloc",
	.pre_handler = prbd_fi_pre,
};

static struct kprobe prbd_fi_qrq_kp = {
	.symbol_name = "prbd_queue_rq",
	.pre_handler = prbd_fi_qrq,
};

static struct kprobe *prbd_fi_kps[] = { &prbd_fi_kp, &prbd_fi_qrq_kp };

static int __init prbd_fi_init(void)
{
	int err = register_kprobes(prbd_fi_kps, ARRAY_SIZE(prbd_fi_kps));

	if (err)
		pr_err("cannot probe prbd.ko (is it loaded?): %d\n", err);
	return err;
}

static void __exit prbd_fi_exit(void)
{
	unregister_kprobes(prbd_fi_kps, ARRAY_SIZE(prbd_fi_kps));
}

module_init(prbd_fi_init);
module_exit(prbd_fi_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("prbd selftests: fault injection");
