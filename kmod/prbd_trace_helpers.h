/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: helpers that fire the tracepoints of prbd_trace.h where one stage of
 * the replicated path gives several events (the slots of a message, the
 * slots of a Paxos ready).  Each returns at once while its tracepoint has
 * nothing attached.
 */
#ifndef PRBD_TRACE_HELPERS_H
#define PRBD_TRACE_HELPERS_H

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_trace.h"

static inline u32 prbd_dp_minor(const struct prbd_dp *dp)
{
	return dp->res->dev.minor;
}

/* The accepts (P2A) of an outgoing core message, one event per slot. */
static inline void prbd_trace_msg_out(struct prbd_dp *dp,
				      const struct prbd_px_msg *m)
{
	u32 i;

	if (!trace_prbd_accept_sent_enabled() || m->type != PRBD_PX_M_P2A)
		return;
	for (i = 0; i < m->n_ent && i < PRBD_PX_MAX_ENT; i++)
		trace_prbd_accept_sent(prbd_dp_minor(dp), m->to,
				       m->ent[i].slot, m->ballot);
}

/* The acknowledgements (P2B) of an incoming core message, per slot. */
static inline void prbd_trace_msg_in(struct prbd_dp *dp,
				     const struct prbd_px_msg *m)
{
	u32 i;

	if (!trace_prbd_accept_acked_enabled() ||
	    m->type != PRBD_PX_M_P2B || (m->flags & PRBD_PX_F_NACK))
		return;
	for (i = 0; i < m->n_ent && i < PRBD_PX_MAX_ENT; i++)
		trace_prbd_accept_acked(prbd_dp_minor(dp), m->from,
					m->ent[i].slot, m->ballot);
}

static inline u32 prbd_trace_role(u8 px_role)
{
	return px_role == PRBD_PX_LEADER ? PRBD_PAXOS_ROLE_LEADER :
	       px_role == PRBD_PX_CANDIDATE ? PRBD_PAXOS_ROLE_CANDIDATE :
	       PRBD_PAXOS_ROLE_FOLLOWER;
}

/*
 * prbd_trace_ready() - events of one prbd_px_ready() (drive work, px_lock
 * held, before dp->role and dp->leader take the new values): leadership
 * and ballot changes, slots the leader newly filled at its ballot (each
 * once: dp->trace_slot is the next slot to look at), slots handed out for
 * apply.
 */
static inline void prbd_trace_ready(struct prbd_dp *dp,
				    const struct prbd_px_ready *rd)
{
	const struct prbd_px *px = dp->px;
	const struct prbd_px_entry *e;
	u32 minor = prbd_dp_minor(dp);
	u32 bytes, j;
	u64 s;

	if (rd->role_changed)
		dp->trace_slot = 0;	/* a new leadership re-proposes */
	if (trace_prbd_leader_change_enabled() &&
	    (rd->role_changed || rd->leader != dp->leader ||
	     rd->hs.promised != READ_ONCE(dp->res->ballot)))
		trace_prbd_leader_change(minor, prbd_trace_role(rd->role),
					 rd->leader, rd->hs.promised);
	if (rd->role == PRBD_PX_LEADER && trace_prbd_slot_proposed_enabled()) {
		for (s = max(dp->trace_slot, px->commit + 1);
		     s < px->next_slot; s++) {
			e = prbd_px_entry_at(px, s);
			if (!e || e->slot != s || !e->kind ||
			    e->ballot != px->ballot)
				continue;
			for (bytes = 0, j = 0; j < e->n_desc &&
			     j < PRBD_PX_BATCH; j++)
				bytes += e->desc[j].len;
			trace_prbd_slot_proposed(minor, s, e->ballot, e->kind,
						 e->n_desc, bytes);
		}
		dp->trace_slot = s;
	}
	if (rd->apply_lo && trace_prbd_slot_committed_enabled())
		for (s = rd->apply_lo; s <= rd->apply_hi; s++)
			trace_prbd_slot_committed(minor, s);
}

#endif /* PRBD_TRACE_HELPERS_H */
