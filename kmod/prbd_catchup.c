// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: log catch-up from the history kept in the log ring.
 *
 * The Paxos core keeps only PRBD_PX_LOG_CAP slots in memory, and a leader
 * under write pressure truncates past a member that is away.  When that
 * member returns and asks for slots below the core's truncation point
 * (LEARN_REQ), the core alone could only answer "resync".  But the records
 * of applied slots stay in the log ring until their space is needed
 * (prbd_checkpoint() keeps up to half of the ring as history), so this
 * node can still answer from there:
 *
 *  - when a slot is applied, a copy of its chosen entry goes into
 *    dp->hist (an xarray keyed by slot);
 *  - when its records are released from the ring, the entry is forgotten
 *    (prbd_catchup_forget());
 *  - a LEARN_REQ for a slot below the core's log start that the history
 *    holds is answered here (prbd_catchup_want() on receive,
 *    prbd_catchup_serve() in the drive work) with up to PRBD_PX_MAX_ENT chosen entries; their
 *    payloads go first as DATA frames, read back from the log and checked
 *    against each descriptor's crc32c (a record overwritten since is never
 *    sent).  The asker learns them like any LEARN and asks for more.
 *
 * A request the history cannot answer goes to the core, which answers
 * F_RESYNC: the asker then needs a bulk resync.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/xarray.h>

#include "prbd_int.h"
#include "prbd_dp.h"

/**
 * prbd_catchup_add() - remember an applied slot's chosen entry
 * @dp: the data path
 * @e: the entry (chosen)
 *
 * Context: drive work.  Best effort: without memory the slot is simply not
 * served from history.
 */
void prbd_catchup_add(struct prbd_dp *dp, const struct prbd_px_entry *e)
{
	struct prbd_px_entry *c, *old;

	c = kmemdup(e, sizeof(*e), GFP_NOIO);
	if (!c)
		return;
	c->chosen = 1;
	old = xa_store(&dp->hist, e->slot, c, GFP_NOIO);
	if (xa_is_err(old)) {
		kfree(c);
		return;
	}
	kfree(old);
}

/**
 * prbd_catchup_forget() - forget the entries of every slot <= @slot
 * @dp: the data path
 * @slot: the highest slot whose records left the ring
 */
void prbd_catchup_forget(struct prbd_dp *dp, u64 slot)
{
	struct prbd_px_entry *e;
	unsigned long idx;

	/* two works may forget at once: free only what this one erased */
	xa_for_each_range(&dp->hist, idx, e, 0, slot)
		kfree(xa_erase(&dp->hist, idx));
}

/* Drop the whole history (the data path goes away). */
void prbd_catchup_destroy(struct prbd_dp *dp)
{
	prbd_catchup_forget(dp, ULONG_MAX);
	xa_destroy(&dp->hist);
}

/* A copy of slot @slot's entry; readers copy under the xarray lock. */
static bool prbd_catchup_get(struct prbd_dp *dp, u64 slot,
			     struct prbd_px_entry *out)
{
	struct prbd_px_entry *e;

	xa_lock(&dp->hist);
	e = xa_load(&dp->hist, slot);
	if (e)
		*out = *e;
	xa_unlock(&dp->hist);
	return e;
}

/**
 * prbd_catchup_want() - take a LEARN_REQ the core cannot answer any more
 * @dp: the data path
 * @m: the decoded request
 *
 * Context: receive; takes px_lock.
 * Return: true when the history answers it (prbd_catchup_serve()), false to
 * hand it to the core.
 */
bool prbd_catchup_want(struct prbd_dp *dp, const struct prbd_px_msg *m)
{
	u64 core_start;

	if (m->type != PRBD_PX_M_LEARN_REQ || !m->from ||
	    m->from >= PRBD_PX_MAX_NODES)
		return false;
	spin_lock(&dp->px_lock);
	core_start = dp->core_log_start;
	spin_unlock(&dp->px_lock);
	if (m->slot >= core_start || !xa_load(&dp->hist, m->slot))
		return false;
	WRITE_ONCE(dp->rpeer[m->from].learn_from, m->slot);
	prbd_dp_kick(dp);
	return true;
}

/**
 * prbd_catchup_serve() - answer the LEARN_REQs taken by prbd_catchup_want()
 * @dp: the data path
 *
 * Context: drive work (it owns the outgoing message buffers).
 */
void prbd_catchup_serve(struct prbd_dp *dp)
{
	struct prbd_px_msg *r = dp->hmsg;
	u64 from, s, core_start;
	u32 node;
	int sent;

	if (!r)
		return;
	for (node = 1; node < PRBD_PX_MAX_NODES; node++) {
		from = xchg(&dp->rpeer[node].learn_from, 0);
		if (!from)
			continue;
		spin_lock(&dp->px_lock);
		core_start = dp->core_log_start;
		spin_unlock(&dp->px_lock);
		memset(r, 0, sizeof(*r));
		r->type = PRBD_PX_M_LEARN;
		r->from = dp->res->node_id;
		r->to = node;
		r->slot = from;
		for (s = from; s < core_start && r->n_ent < PRBD_PX_MAX_ENT; s++)
			if (!prbd_catchup_get(dp, s, &r->ent[r->n_ent++])) {
				r->n_ent--;
				break;
			}
		if (!r->n_ent)
			continue;	/* forgotten meanwhile: it asks again */
		sent = prbd_repl_send_learn(dp, r);
		if (sent < 0) {
			/*
			 * The record of @from was overwritten: the history
			 * ends after it, and the core answers the next ask
			 * (resync).
			 */
			prbd_catchup_forget(dp, from);
			continue;
		}
		if (!sent)
			continue;
		pr_info_ratelimited("%s: node %u catches up from history: slots %llu..%llu\n",
				    dp->res->name, node, from,
				    from + r->n_ent - 1);
		dp->hist_served += r->n_ent;
	}
}
