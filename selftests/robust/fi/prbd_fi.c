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
 *
 * junk=N (at load): on the leader, once it sends a write's payload
 * (prbd_tr_send_relay(), whose transport it notes), send N DATA frames of
 * 256 KiB to every connected peer under ids no write has, as a deposed
 * leader's never chosen payloads would be, or a hostile authenticated
 * peer's; at most 8 in flight.  junk_sent counts the frames sent.  The
 * resource must stay up on this node until junk_sent stops growing.
 *
 * wrap_to=N (writable): the next Paxos frame (PRBD_MSG_PAXOS) this node
 * sends to node N whose first entry is a write gets 2^55 added to that
 * write's sector, as a hostile or broken peer could: (sector << 9) is
 * unchanged modulo 2^64, so a bounds check that shifts first passes.
 * wrapped counts the frames altered; wrap_to goes back to 0.
 *
 * hide_chosen=1 (writable): the next configuration entry this node sends
 * in a Paxos frame (its slot S goes to hide_slot) is never told chosen by
 * it: every later Paxos frame it sends that would (commit index >= S, or
 * an entry at or after S flagged chosen) goes out with the commit index
 * S - 1 and those flags cleared.  The others go on hearing it (a leader
 * stays theirs) but learn nothing chosen from S on from it; every other
 * frame type (PRBD_MSG_MEMBER REMOVED among them) is unchanged.  hidden
 * counts the frames altered (repl/member_stall: the leader that chose a
 * node-del dies before the others learn it).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bvec.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "prbd_wire.h"		/* kmod/: the frames prbd sends */
#include "uapi/prbd_disk.h"	/* PRBD_LOG_OP_WRITE */

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

static int junk;
module_param(junk, int, 0444);
MODULE_PARM_DESC(junk, "junk DATA frames the leader sends to each peer");

static atomic_t junk_sent = ATOMIC_INIT(0);
module_param_named(junk_sent, junk_sent.counter, int, 0444);
MODULE_PARM_DESC(junk_sent, "junk frames sent so far");

static int wrap_to;
module_param(wrap_to, int, 0644);
MODULE_PARM_DESC(wrap_to, "node whose next write descriptor gets a wrapping sector");

static int wrapped;
module_param(wrapped, int, 0444);
MODULE_PARM_DESC(wrapped, "descriptors altered so far");

static DEFINE_SPINLOCK(prbd_fi_lock);

/* --- junk payloads ------------------------------------------------------ */

#define PRBD_FI_JUNK_PAGES	64		/* 256 KiB a frame */
#define PRBD_FI_JUNK_ID		(0xfeULL << 56)	/* no node has id 254 */

typedef void (*prbd_fi_done_t)(void *arg, int err);
typedef int (*prbd_fi_send_t)(void *tr, u32 node, u16 type, const void *hdr,
			      u32 hdr_len, const struct bio_vec *payload,
			      unsigned int nr_bvec, u32 payload_len,
			      prbd_fi_done_t done, void *arg);

static prbd_fi_send_t prbd_fi_send;	/* prbd.ko's prbd_tr_send() */
static void *junk_tr;			/* the leader's transport */
static struct page *junk_pages[PRBD_FI_JUNK_PAGES];
static struct bio_vec junk_bvec[PRBD_FI_JUNK_PAGES];
static atomic_t junk_inflight = ATOMIC_INIT(0);
static int junk_left;
static u64 junk_next;
static struct delayed_work junk_work;

static void prbd_fi_junk_done(void *arg, int err)
{
	atomic_dec(&junk_inflight);
}

static void prbd_fi_junk_work(struct work_struct *work)
{
	struct prbd_wire_data wd = {};
	void *tr = READ_ONCE(junk_tr);
	u32 node;

	while (tr && junk_left > 0 && atomic_read(&junk_inflight) < 8) {
		wd.id = cpu_to_le64(PRBD_FI_JUNK_ID | ++junk_next);
		wd.len = cpu_to_le32(PRBD_FI_JUNK_PAGES * PAGE_SIZE);
		for (node = 1; node < 16; node++) {
			atomic_inc(&junk_inflight);
			if (prbd_fi_send(tr, node, PRBD_MSG_DATA, &wd,
					 sizeof(wd), junk_bvec,
					 PRBD_FI_JUNK_PAGES,
					 PRBD_FI_JUNK_PAGES * PAGE_SIZE,
					 prbd_fi_junk_done, NULL)) {
				atomic_dec(&junk_inflight);
				continue;
			}
			atomic_inc(&junk_sent);
		}
		junk_left--;
	}
	if (junk_left > 0)
		schedule_delayed_work(&junk_work, tr ? 1 : HZ / 10);
}

/* prbd_tr_send_relay(tr, ...): the leader sends a payload; note tr */
static int prbd_fi_send_relay(struct kprobe *p, struct pt_regs *regs)
{
	if (!READ_ONCE(junk_tr))
		WRITE_ONCE(junk_tr, (void *)regs->di);
	return 0;
}

static struct kprobe prbd_fi_send_kp = {
	.symbol_name = "prbd_tr_send_relay",
	.pre_handler = prbd_fi_send_relay,
};

static int prbd_fi_junk_init(void)
{
	struct kprobe kp = { .symbol_name = "prbd_tr_send" };
	unsigned int i;
	int err;

	INIT_DELAYED_WORK(&junk_work, prbd_fi_junk_work);
	/* where prbd_tr_send() is: a kprobe resolves the symbol */
	err = register_kprobe(&kp);
	if (err)
		return err;
	prbd_fi_send = (prbd_fi_send_t)kp.addr;
	unregister_kprobe(&kp);
	for (i = 0; i < PRBD_FI_JUNK_PAGES; i++) {
		junk_pages[i] = alloc_page(GFP_KERNEL);
		if (!junk_pages[i])
			return -ENOMEM;
		memset(page_address(junk_pages[i]), 0xa5 ^ i, PAGE_SIZE);
		bvec_set_page(&junk_bvec[i], junk_pages[i], PAGE_SIZE, 0);
	}
	junk_left = junk;
	err = register_kprobe(&prbd_fi_send_kp);
	if (err)
		return err;
	schedule_delayed_work(&junk_work, 0);
	return 0;
}

static void prbd_fi_junk_exit(void)
{
	unsigned int i, t;

	if (!junk)
		return;
	junk_left = 0;
	cancel_delayed_work_sync(&junk_work);
	unregister_kprobe(&prbd_fi_send_kp);
	/* the transport still holds our pages until each frame is sent */
	for (t = 0; t < 300 && atomic_read(&junk_inflight); t++)
		msleep(100);
	if (atomic_read(&junk_inflight)) {
		pr_err("%d junk frames still queued: leaking their pages\n",
		       atomic_read(&junk_inflight));
		return;
	}
	for (i = 0; i < PRBD_FI_JUNK_PAGES; i++)
		if (junk_pages[i])
			__free_page(junk_pages[i]);
}

/* --- hiding what a node knows chosen -------------------------------------- */

static int hide_chosen;
module_param(hide_chosen, int, 0644);
MODULE_PARM_DESC(hide_chosen, "1: never tell the next configuration entry sent chosen");

static unsigned long long hide_slot;
module_param(hide_slot, ullong, 0444);
MODULE_PARM_DESC(hide_slot, "slot of that configuration entry, 0: none yet");

static int hidden;
module_param(hidden, int, 0444);
MODULE_PARM_DESC(hidden, "frames altered so far");

/*
 * The Paxos frame @w, in the sender's buffer, about to be sent: it tells
 * nothing chosen from hide_slot on.  Context: prbd_fi_lock held.
 */
static void prbd_fi_hide(struct prbd_wire_px *w, u32 len)
{
	bool hit = false;
	u32 i, n;

	if (len < sizeof(*w))
		return;
	n = min_t(u32, w->n_ent, (len - sizeof(*w)) / sizeof(w->ent[0]));
	for (i = 0; i < n && !hide_slot; i++) {
		if (w->ent[i].kind != PRBD_PX_K_CONFIG)
			continue;
		hide_slot = le64_to_cpu(w->ent[i].slot);
		pr_info("configuration entry at slot %llu sent to node %u: never told chosen from now on\n",
			hide_slot, w->to);
	}
	if (!hide_slot)
		return;
	if (le64_to_cpu(w->commit) >= hide_slot) {
		w->commit = cpu_to_le64(hide_slot - 1);
		hit = true;
	}
	for (i = 0; i < n; i++) {
		if (w->ent[i].chosen &&
		    le64_to_cpu(w->ent[i].slot) >= hide_slot) {
			w->ent[i].chosen = 0;
			hit = true;
		}
	}
	hidden += hit;
}

/* --- wrapping sectors ----------------------------------------------------- */

/* prbd_tr_send(tr, node, type, hdr, hdr_len, ...): alter one descriptor */
static int prbd_fi_tr_send(struct kprobe *p, struct pt_regs *regs)
{
	struct prbd_wire_px *w = (void *)regs->cx;
	struct prbd_wire_px_desc *d;
	u32 node = (u32)regs->si, len = (u32)regs->r8;
	bool hit = false;

	if ((u16)regs->dx == PRBD_MSG_PAXOS && READ_ONCE(hide_chosen)) {
		spin_lock(&prbd_fi_lock);
		prbd_fi_hide(w, len);
		spin_unlock(&prbd_fi_lock);
	}
	if ((u16)regs->dx != PRBD_MSG_PAXOS || !READ_ONCE(wrap_to) ||
	    node != READ_ONCE(wrap_to) ||
	    len < sizeof(*w) + sizeof(w->ent[0]) || !w->n_ent ||
	    w->ent[0].kind != PRBD_PX_K_DATA || !w->ent[0].n_desc ||
	    le32_to_cpu(w->ent[0].desc[0].op) != PRBD_LOG_OP_WRITE)
		return 0;
	spin_lock(&prbd_fi_lock);
	if (wrap_to == node) {
		wrap_to = 0;
		wrapped++;
		hit = true;
	}
	spin_unlock(&prbd_fi_lock);
	if (!hit)
		return 0;
	/* the frame is built in the sender's buffer: change it there */
	d = &w->ent[0].desc[0];
	pr_info("slot %llu to node %u: sector %llu becomes %llu\n",
		le64_to_cpu(w->ent[0].slot), node, le64_to_cpu(d->sector),
		le64_to_cpu(d->sector) + (1ULL << 55));
	d->sector = cpu_to_le64(le64_to_cpu(d->sector) + (1ULL << 55));
	return 0;
}

static struct kprobe prbd_fi_tr_send_kp = {
	.symbol_name = "prbd_tr_send",
	.pre_handler = prbd_fi_tr_send,
};

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

static struct kprobe *prbd_fi_kps[] = { &prbd_fi_kp, &prbd_fi_qrq_kp,
					&prbd_fi_tr_send_kp };

static int __init prbd_fi_init(void)
{
	int err = register_kprobes(prbd_fi_kps, ARRAY_SIZE(prbd_fi_kps));

	if (err) {
		pr_err("cannot probe prbd.ko (is it loaded?): %d\n", err);
		return err;
	}
	if (junk > 0) {
		err = prbd_fi_junk_init();
		if (err) {
			pr_err("cannot set up junk payloads: %d\n", err);
			prbd_fi_junk_exit();
			unregister_kprobes(prbd_fi_kps, ARRAY_SIZE(prbd_fi_kps));
		}
	}
	return err;
}

static void __exit prbd_fi_exit(void)
{
	prbd_fi_junk_exit();
	unregister_kprobes(prbd_fi_kps, ARRAY_SIZE(prbd_fi_kps));
}

module_init(prbd_fi_init);
module_exit(prbd_fi_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("prbd selftests: fault injection");
