// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: membership changes and leadership transfer, driven by the leader
 * through the Paxos core's configuration entries.
 *
 * A configuration entry changes one voter (or any learners) and governs
 * every later slot; the core proposes nothing after it until it is chosen
 * and runs Phase 1 again in the new configuration (see prbd_paxos.c).  The
 * leader runs at most one change at a time, as a small state machine
 * stepped by the drive work under px_lock (prbd_member_step()):
 *
 *   PROPOSE   the drive work proposes no new writes (mbr.hold) until the core
 *	       takes the entry: prbd_px_propose_conf() needs an empty queue
 *   CHOOSE    the entry is in flight; done once the core's configuration
 *	       slot reaches it
 *   SYNC      node-add: the new learner receives the log tail and, being
 *	       behind the truncated log, a bulk resync (prbd_resync.c); once
 *	       it is whole (heard, voting, applied what we committed) the
 *	       entry making it a voter is proposed (PROPOSE again)
 *   HANDOVER  leader-transfer (and node-del of the leader): no new writes,
 *	       the target catches up on every proposed slot (for at most
 *	       PRBD_MEMBER_CATCHUP_MS), then the core's TIMEOUT_NOW makes it
 *	       start Phase 1 at once; done when it leads
 *
 * node-replace OLD NEW is node-add NEW followed by the removal of OLD, in
 * one command: the core changes one voter per configuration entry (so
 * that consecutive majorities intersect), hence a swap cannot be a single
 * entry; the smallest safe sequence is learner NEW, (resync), voter NEW,
 * remove OLD: three entries, two of them voter changes.  Adding before
 * removing keeps one node of slack in between when OLD is alive (removing
 * first leaves a bare majority).  The quorum arithmetic of both voter
 * steps is checked before anything changes and returned in the extack of
 * the accepted command; the removal is checked again before it is
 * proposed.  The leader cannot replace itself (leader-transfer first).
 *
 * node-del of the leader hands leadership to the most up-to-date live
 * voter first, telling it (PRBD_MSG_MEMBER DEL) to propose the removal
 * once it leads.  A removed node is told so (PRBD_MSG_MEMBER REMOVED): it
 * stops campaigning (prbd_px_set_nocampaign()), refuses prbdctl commands
 * and the primary role, and its status says where it was removed.
 *
 * It goes on voting, as a full acceptor (issue 15).  The entry at slot S
 * that removed it governs only the slots after S: S itself, and every
 * slot before it, are decided in a configuration that holds it (see
 * "Reconfiguration" in prbd_paxos.c).  The leader tells it REMOVED once
 * it knows S chosen, but the others may not know yet: if the leader dies
 * then, the next one runs Phase 1 in the old configuration, finds S and
 * must have it accepted again by a majority of that configuration, which
 * may need the removed node (voters 2,3,4,5, node 5 removed, S accepted
 * by 2, 3 and 5, node 2 dies: 3 of 4 are needed, 3, 4 and 5).  Were it
 * non-voting (F_NOVOTE), that would never happen and the group would
 * stall for good.  Its vote counts nowhere else: a leader that knows S
 * chosen counts it in no majority and sends it nothing, and a removed
 * node's acceptor state is as intact as any other's, so counting it where
 * its old configuration counts it is plain Paxos.  What it must not do is
 * lead (it would serve the device and, in its old configuration, keep
 * campaigning after the group left it): prbd_px_set_nocampaign() stops
 * that, and has it grant pre-votes without the commit check (it may know
 * more chosen slots than the candidate that has to re-decide S).  Nor
 * does it turn non-voting once its own core knows S chosen: a leader it
 * promised before that may still need its acceptance of S, and votes
 * nobody counts cost nothing.  The other way out, telling it only once a
 * majority of the new configuration applied S, would leave it
 * campaigning until then and not cover a node told by
 * prbd_member_tell_removed().
 * A node removed while it was away learns nothing then; if it comes back
 * with its old metadata it still believes it is a voter and campaigns:
 * the leader, seeing a pre-vote or Phase 1 from a node outside the
 * configuration it knows chosen, tells it REMOVED (prbd_member_heard(),
 * prbd_member_tell_removed()).  A node believes REMOVED only from the
 * leader it follows, or, following none, from any member, and only for a
 * configuration it cannot contradict (prbd_member_removed_ok() argues
 * it).  It records the removal in its acceptor state before acting on it
 * (removed_at), so it stays out across a restart, until create-md.
 *
 * node-add and learner-add may carry the node's address: prbd_res_admin()
 * checks it and, once the command is accepted, adds the peer; the
 * peer_added hook here hands it to the transport.
 *
 * Every command is checked before anything changes, under px_lock, and
 * refused with an extack message: a change in flight, a node already a
 * member (or not one), more voters than the core supports, or a new
 * configuration whose live voting voters are not a majority of it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/netlink.h>
#include <linux/string.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_transport.h"

char prbd_extack_buf[160];	/* see prbd_nl_err_fmt() */

#define PRBD_MEMBER_PROPOSE_MS	5000	/* pipeline drain before giving up */
#define PRBD_MEMBER_CHOOSE_MS	10000	/* entry chosen before giving up */
#define PRBD_MEMBER_CATCHUP_MS	(2 * PRBD_DP_ELECT_MS)
#define PRBD_MEMBER_FWD_MS	(6 * PRBD_DP_ELECT_MS)

static const char *const prbd_member_cmd_name[] = {
	[PRBD_CMD_NODE_ADD] = "node-add",
	[PRBD_CMD_NODE_DEL] = "node-del",
	[PRBD_CMD_NODE_REPLACE] = "node-replace",
	[PRBD_CMD_LEARNER_ADD] = "learner-add",
	[PRBD_CMD_LEADER_TRANSFER] = "leader-transfer",
};

static const char *prbd_member_name(u8 cmd)
{
	if (cmd < ARRAY_SIZE(prbd_member_cmd_name) &&
	    prbd_member_cmd_name[cmd])
		return prbd_member_cmd_name[cmd];
	return "change";
}

static u16 prbd_bit(u32 id)
{
	return id < PRBD_PX_MAX_NODES ? (u16)BIT(id) : 0;
}

/* Voting voters of @voters that the leader heard within E. */
static u32 prbd_member_live(const struct prbd_px_status *st, u16 voters)
{
	return hweight16(voters & st->heard & ~st->novote_peers);
}

/*
 * May the group move to @voters?  Its live voting voters (@plus counted
 * as live too: a learner about to be promoted) must be a majority of it.
 */
static int prbd_member_quorum_ok(const struct prbd_px_status *st,
				 u16 voters, u16 plus,
				 struct netlink_ext_ack *extack)
{
	u32 n = hweight16(voters), live = prbd_member_live(st, voters & ~plus) +
		hweight16(plus & voters);

	if (live * 2 > n)
		return 0;
	prbd_nl_err_fmt(extack,
			"refused: %u voters with %u of them alive: the change would leave the live voters without a majority",
			n, live);
	return -ENOLINK;
}

/*
 * node-replace @old by @new: @new joins as a learner (unless it is one),
 * is resynced, becomes a voter, then @old is removed.  The core changes one
 * voter per entry, so the swap is two entries; adding first keeps the
 * group able to lose a node in between when @old is alive (removing first
 * would leave a bare majority).  Each configuration on the way must have a
 * majority of live voting voters (@new counted live: it is promoted only
 * once whole and heard).  On success the extack carries the arithmetic.
 */
static int prbd_member_replace_ok(const struct prbd_px_status *st, u8 self,
				  u8 old, u8 new, struct netlink_ext_ack *extack)
{
	u16 ob = prbd_bit(old), nb = prbd_bit(new);
	u32 n = hweight16(st->voters), live = prbd_member_live(st, st->voters);
	u32 live1 = live + 1, live2 = live + 1 - !!(st->heard & ob &
						    ~st->novote_peers);

	if (!ob || !(st->voters & ob)) {
		prbd_nl_err_fmt(extack, "refused: node %u is not a voter",
				old);
		return -EINVAL;
	}
	if (st->voters & nb) {
		prbd_nl_err_fmt(extack, "refused: node %u is already a voter",
				new);
		return -EEXIST;
	}
	if (old == self) {
		prbd_nl_err_fmt(extack,
				"refused: node %u leads; hand leadership over first (leader-transfer), then run node-replace on the new leader",
				old);
		return -EBUSY;
	}
	if (n + 1 > PRBD_PX_MAX_VOTERS) {
		prbd_nl_err_fmt(extack,
				"refused: replacing adds before it removes and the group would have %u voters; the Paxos core supports at most %u",
				n + 1, PRBD_PX_MAX_VOTERS);
		return -ENOSPC;
	}
	if (live1 * 2 <= n + 1 || live2 * 2 <= n) {
		prbd_nl_err_fmt(extack,
				"refused: %u voters, %u alive: replacing %u by %u would leave the live voters without a majority (%u of %u, then %u of %u)",
				n, live, old, new, live1, n + 1, live2, n);
		return -ENOLINK;
	}
	prbd_nl_err_fmt(extack,
			"%u voters, %u alive: replacing %u by %u keeps a majority at every step: %u of %u voters alive (%u needed), then %u of %u (%u needed)",
			n, live, old, new, live1, n + 1, (n + 1) / 2 + 1,
			live2, n, n / 2 + 1);
	return 0;
}

/* The live, voting, most up-to-date voter other than us, 0 if none. */
static u8 prbd_member_best(const struct prbd_px_status *st, u8 self)
{
	u16 cand = st->voters & st->heard & ~st->novote_peers & ~prbd_bit(self);
	u8 p, best = 0;

	for (p = 1; p < PRBD_PX_MAX_NODES; p++)
		if ((cand & prbd_bit(p)) &&
		    (!best || st->peer_applied[p] > st->peer_applied[best]))
			best = p;
	return best;
}

static void prbd_member_set_step(struct prbd_member *m, u8 step)
{
	m->step = step;
	m->step_at = jiffies;
}

static void prbd_member_end(struct prbd_dp *dp, const char *why)
{
	struct prbd_member *m = &dp->mbr;

	if (why)
		pr_warn("%s: %s of node %u abandoned: %s\n", dp->res->name,
			prbd_member_name(m->cmd), m->node, why);
	m->cmd = 0;
	m->node = 0;
	m->hold = false;
	m->promote = false;
	m->then_del = false;
	m->xfer_sent = false;
	m->old = 0;
	prbd_member_set_step(m, PRBD_CHANGE_STEP_NONE);
	dp->res_changed = true;
}

/*
 * Check @cmd on @node against the core's state and start it.  Context:
 * px_lock held; nothing is changed unless it returns 0.
 */
static int prbd_member_start(struct prbd_dp *dp, u8 cmd, u8 node, u8 old,
			     struct netlink_ext_ack *extack)
{
	struct prbd_member *m = &dp->mbr;
	struct prbd_px_status st;
	u8 self = dp->res->node_id;
	u16 bit = prbd_bit(node), members;
	int err;

	prbd_px_status(dp->px, &st);
	members = st.voters | st.learners;
	if (st.role != PRBD_PX_LEADER) {
		if (st.leader && st.leader != self)
			prbd_nl_err_fmt(extack,
					"this node does not lead: run %s on node %u, the leader",
					prbd_member_name(cmd), st.leader);
		else
			NL_SET_ERR_MSG_MOD(extack,
					   "this node does not lead and no leader is known; retry once one is elected");
		return -EAGAIN;
	}
	if (m->cmd || st.cfg_pending || st.transferring) {
		if (m->cmd)
			prbd_nl_err_fmt(extack,
					"refused: a membership change is in flight (%s of node %u); wait for it to finish",
					prbd_member_name(m->cmd), m->node);
		else
			NL_SET_ERR_MSG_MOD(extack,
					   "refused: a membership change or leadership transfer is in flight; wait for it to finish");
		return -EBUSY;
	}
	if (!bit) {
		prbd_nl_err_fmt(extack,
				"node id %u is beyond what the Paxos core supports (1..%u)",
				node, PRBD_PX_MAX_NODES - 1);
		return -ERANGE;
	}

	switch (cmd) {
	case PRBD_CMD_LEARNER_ADD:
	case PRBD_CMD_NODE_ADD:
		if ((st.voters & bit) ||
		    (cmd == PRBD_CMD_LEARNER_ADD && (st.learners & bit))) {
			prbd_nl_err_fmt(extack,
					"refused: node %u is already a %s",
					node, st.voters & bit ? "voter" :
					"learner");
			return -EEXIST;
		}
		if (cmd == PRBD_CMD_NODE_ADD &&
		    hweight16(st.voters | bit) > PRBD_PX_MAX_VOTERS) {
			prbd_nl_err_fmt(extack,
					"refused: the group would have %u voters; the Paxos core supports at most %u",
					hweight16(st.voters | bit),
					PRBD_PX_MAX_VOTERS);
			return -ENOSPC;
		}
		if (cmd == PRBD_CMD_NODE_ADD) {
			err = prbd_member_quorum_ok(&st, st.voters | bit, bit,
						    extack);
			if (err)
				return err;
		}
		m->promote = cmd == PRBD_CMD_NODE_ADD;
		prbd_member_set_step(m, st.learners & bit ?
				     PRBD_CHANGE_STEP_SYNC :
				     PRBD_CHANGE_STEP_PROPOSE);
		break;
	case PRBD_CMD_NODE_DEL:
		if (!(members & bit)) {
			prbd_nl_err_fmt(extack,
					"refused: node %u is not a member of the group",
					node);
			return -ENOENT;
		}
		if (st.voters == bit) {
			NL_SET_ERR_MSG_MOD(extack,
					   "refused: node is the only voter");
			return -EINVAL;
		}
		if (st.voters & bit) {
			err = prbd_member_quorum_ok(&st, st.voters & ~bit, 0,
						    extack);
			if (err)
				return err;
		}
		if (node == self) {
			m->target = prbd_member_best(&st, self);
			if (!m->target) {
				NL_SET_ERR_MSG_MOD(extack,
						   "refused: no live, up-to-date voter to hand leadership to");
				return -ENOLINK;
			}
			m->then_del = true;
			prbd_member_set_step(m, PRBD_CHANGE_STEP_HANDOVER);
		} else {
			prbd_member_set_step(m, PRBD_CHANGE_STEP_PROPOSE);
		}
		break;
	case PRBD_CMD_LEADER_TRANSFER:
		if (node == self) {
			prbd_nl_err_fmt(extack, "node %u already leads",
					node);
			return -EALREADY;
		}
		if (!(st.voters & bit)) {
			prbd_nl_err_fmt(extack,
					"refused: node %u is not a voter", node);
			return -EINVAL;
		}
		if (!(st.heard & bit) || (st.novote_peers & bit)) {
			prbd_nl_err_fmt(extack,
					"refused: node %u is %s", node,
					st.heard & bit ?
					"not voting (its copy is not whole)" :
					"not connected");
			return -ENOLINK;
		}
		m->target = node;
		prbd_member_set_step(m, PRBD_CHANGE_STEP_HANDOVER);
		break;
	case PRBD_CMD_NODE_REPLACE:
		err = prbd_member_replace_ok(&st, self, old, node, extack);
		if (err)
			return err;
		m->promote = true;
		m->old = old;
		prbd_member_set_step(m, st.learners & bit ?
				     PRBD_CHANGE_STEP_SYNC :
				     PRBD_CHANGE_STEP_PROPOSE);
		break;
	default:
		NL_SET_ERR_MSG_MOD(extack, "unknown membership command");
		return -EOPNOTSUPP;
	}
	m->cmd = cmd;
	m->node = node;
	m->started = jiffies;
	m->hold = m->step == PRBD_CHANGE_STEP_PROPOSE ||
		  m->step == PRBD_CHANGE_STEP_HANDOVER;
	dp->res_changed = true;
	pr_info("%s: %s of node %u started (epoch %llu)\n", dp->res->name,
		prbd_member_name(cmd), node, st.cfg_slot);
	return 0;
}

/* The configuration the current step proposes. */
static void prbd_member_target_cfg(const struct prbd_member *m,
				   const struct prbd_px_status *st,
				   u16 *voters, u16 *learners)
{
	u16 bit = prbd_bit(m->node);

	*voters = st->voters;
	*learners = st->learners;
	if (m->cmd == PRBD_CMD_NODE_DEL) {
		*voters &= ~bit;
		*learners &= ~bit;
	} else if (m->cmd == PRBD_CMD_NODE_REPLACE && (st->voters & bit)) {
		*voters &= ~prbd_bit(m->old);	/* the second voter entry */
	} else if (st->learners & bit) {	/* promotion */
		*voters |= bit;
		*learners &= ~bit;
	} else {
		*learners |= bit;		/* joins as a learner */
	}
}

static void prbd_member_propose(struct prbd_dp *dp,
				struct prbd_px_status *st)
{
	struct prbd_member *m = &dp->mbr;
	u16 voters, learners;
	int err;

	prbd_member_target_cfg(m, st, &voters, &learners);
	err = prbd_px_propose_conf(dp->px, voters, learners);
	if (!err) {
		prbd_px_status(dp->px, st);
		m->slot = st->cfg_pending;
		m->hold = false;
		m->ev_slot = m->slot;
		m->ev_voters = voters;
		m->ev_learners = learners;
		m->ev_cmd = m->cmd;
		m->ev_node = m->node;
		prbd_member_set_step(m, PRBD_CHANGE_STEP_CHOOSE);
		pr_info("%s: %s of node %u: configuration entry proposed at slot %llu\n",
			dp->res->name, prbd_member_name(m->cmd), m->node,
			m->slot);
		return;
	}
	if (err == PRBD_PX_EINVAL)
		prbd_member_end(dp, "the core refused the configuration");
	else if (time_after(jiffies, m->step_at +
			    msecs_to_jiffies(PRBD_MEMBER_PROPOSE_MS)))
		prbd_member_end(dp, "the write pipeline did not drain");
}

static void prbd_member_chosen(struct prbd_dp *dp,
			       const struct prbd_px_status *st)
{
	struct prbd_member *m = &dp->mbr;
	u16 bit = prbd_bit(m->node);

	pr_info("%s: configuration epoch %llu: voters %#x learners %#x (%s of node %u, %u ms)\n",
		dp->res->name, st->cfg_slot, st->voters, st->learners,
		prbd_member_name(m->cmd), m->node,
		jiffies_to_msecs(jiffies - m->started));
	if (m->cmd == PRBD_CMD_NODE_DEL) {
		m->tx_to = m->node;
		m->tx_op = PRBD_MEMBER_OP_REMOVED;
		m->tx_node = m->node;
		m->tx_slot = m->slot;
	}
	if (m->promote && !(st->voters & bit)) {
		prbd_member_set_step(m, PRBD_CHANGE_STEP_SYNC);
		dp->res_changed = true;
		return;
	}
	if (m->cmd == PRBD_CMD_NODE_REPLACE) {
		u16 ob = prbd_bit(m->old);

		if (st->voters & ob) {
			/* re-checked: the old node's peers may have died */
			if (prbd_member_quorum_ok(st, st->voters & ~ob, 0,
						  NULL)) {
				prbd_member_end(dp, "no live majority without the old node");
				return;
			}
			m->hold = true;
			prbd_member_set_step(m, PRBD_CHANGE_STEP_PROPOSE);
			dp->res_changed = true;
			return;
		}
		m->tx_to = m->old;
		m->tx_op = PRBD_MEMBER_OP_REMOVED;
		m->tx_node = m->old;
		m->tx_slot = m->slot;
	}
	prbd_member_end(dp, NULL);
}

/* node-add: is the learner whole and caught up? */
static bool prbd_member_whole(const struct prbd_px_status *st, u8 node)
{
	u16 bit = prbd_bit(node);

	return (st->heard & bit) && !(st->novote_peers & bit) &&
	       st->peer_applied[node] >= st->cfg_slot &&
	       st->peer_applied[node] + PRBD_PX_WINDOW_MAX >= st->commit;
}

static void prbd_member_handover(struct prbd_dp *dp,
				 const struct prbd_px_status *st)
{
	struct prbd_member *m = &dp->mbr;
	bool caught;

	if (m->xfer_sent) {
		if (st->role != PRBD_PX_LEADER && st->leader == m->target) {
			pr_info("%s: leadership handed to node %u: %u ms after the request, %u ms after TIMEOUT_NOW\n",
				dp->res->name, m->target,
				jiffies_to_msecs(jiffies - m->started),
				jiffies_to_msecs(jiffies - m->xfer_at));
			prbd_member_end(dp, NULL);
		} else if (time_after(jiffies, m->xfer_at +
				      msecs_to_jiffies(4 * PRBD_DP_ELECT_MS))) {
			prbd_member_end(dp, "the target did not take over");
		}
		return;
	}
	if (st->role != PRBD_PX_LEADER) {
		prbd_member_end(dp, "leadership lost");
		return;
	}
	caught = st->commit + 1 >= st->next_slot &&
		 st->peer_applied[m->target] >= st->commit;
	if (!caught && time_before(jiffies, m->step_at +
				   msecs_to_jiffies(PRBD_MEMBER_CATCHUP_MS)))
		return;
	if (m->then_del) {
		/* sent before the core's TIMEOUT_NOW goes out (drive work) */
		m->tx_to = m->target;
		m->tx_op = PRBD_MEMBER_OP_DEL;
		m->tx_node = dp->res->node_id;
		m->tx_slot = 0;
	}
	if (prbd_px_transfer(dp->px, m->target)) {
		prbd_member_end(dp, "the core refused the transfer");
		return;
	}
	pr_info("%s: leadership transfer to node %u: target %s after %u ms; TIMEOUT_NOW sent\n",
		dp->res->name, m->target, caught ? "caught up" : "still behind",
		jiffies_to_msecs(jiffies - m->step_at));
	m->xfer_sent = true;
	m->xfer_at = jiffies;
	m->hold = false;	/* the core proposes nothing while transferring */
}

/*
 * A node that campaigns (pre-vote, Phase 1) but is in neither the voters
 * nor the learners of the configuration this leader knows chosen was
 * removed while it was away (node-del or node-replace of a dead node) and
 * came back with its old metadata: tell it, at most once a second, with
 * the slot of that configuration.  It then stops campaigning, still a full
 * acceptor (see the header comment, prbd_member_recv()), until it is
 * re-created with create-md.
 */
static void prbd_member_tell_removed(struct prbd_dp *dp,
				     const struct prbd_px_status *st)
{
	struct prbd_member *m = &dp->mbr;
	u16 outside = m->campaigners & ~(st->voters | st->learners);
	u16 bit;
	u8 p;

	m->campaigners = 0;
	if (st->role != PRBD_PX_LEADER || st->cfg_pending || m->tx_to)
		return;
	for (p = 1; p < PRBD_PX_MAX_NODES; p++) {
		bit = prbd_bit(p);
		if (!(outside & bit) || p == dp->res->node_id ||
		    ((m->told & bit) &&
		     time_before(jiffies, m->told_at[p] + HZ)))
			continue;
		m->told |= bit;
		m->told_at[p] = jiffies;
		m->tx_to = p;
		m->tx_op = PRBD_MEMBER_OP_REMOVED;
		m->tx_node = p;
		m->tx_slot = st->cfg_slot;
		pr_warn_ratelimited("%s: node %u campaigns but is not in the configuration of slot %llu (voters %#x): refused, told it was removed\n",
				    dp->res->name, p, st->cfg_slot, st->voters);
		return;
	}
}

/**
 * prbd_member_heard() - look at a Paxos message before the core takes it
 * @dp: the data path
 * @m: the message
 *
 * Context: px_lock held.
 */
void prbd_member_heard(struct prbd_dp *dp, const struct prbd_px_msg *m)
{
	if (m->type == PRBD_PX_M_PREVOTE || m->type == PRBD_PX_M_P1A)
		dp->mbr.campaigners |= prbd_bit(m->from);
}

/* What prbdctl status shows (res->lock inside px_lock, as prbd_drive.c does). */
static void prbd_member_publish(struct prbd_dp *dp,
				const struct prbd_px_status *st)
{
	struct prbd_resource *res = dp->res;
	struct prbd_member *m = &dp->mbr;
	bool leader = st->role == PRBD_PX_LEADER;

	spin_lock(&res->lock);
	if (res->config_epoch != st->cfg_slot ||
	    res->cfg_voters != st->voters || res->cfg_learners != st->learners)
		dp->res_changed = true;
	res->config_epoch = st->cfg_slot;
	res->cfg_voters = st->voters;
	res->cfg_learners = st->learners;
	res->cfg_pending = leader ? st->cfg_pending : 0;
	res->cfg_change = m->cmd;
	res->cfg_change_node = m->node;
	res->cfg_change_step = m->step;
	spin_unlock(&res->lock);
}

/**
 * prbd_member_init() - set up what prbd_member_notice() compares with
 * @dp: the data path, not started yet
 */
void prbd_member_init(struct prbd_dp *dp)
{
	dp->mbr.ev_chosen = PRBD_MEMBER_EV_NONE;
	dp->mbr.ev_applied = PRBD_MEMBER_EV_NONE;
}

/* Is @epoch newer than @last, the last one reported (or none yet)? */
static bool prbd_member_ev_new(u64 last, u64 epoch)
{
	return last == PRBD_MEMBER_EV_NONE || epoch > last;
}

static void prbd_member_ev_fill(const struct prbd_member *m,
				const struct prbd_px_status *st, u32 event,
				struct prbd_cfg_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->epoch = st->cfg_slot;
	ev->event = event;
	ev->voters = st->voters;
	ev->learners = st->learners;
	/* the entry this node proposed, if that is the one chosen */
	if (m->ev_cmd && m->ev_slot == st->cfg_slot &&
	    m->ev_voters == st->voters && m->ev_learners == st->learners) {
		ev->change = m->ev_cmd;
		ev->change_node = m->ev_node;
	}
}

/**
 * prbd_member_notice() - report a configuration entry newly chosen or
 * applied on this node (config-ntf)
 * @dp: the data path
 *
 * Chosen: the core's configuration slot moved (it committed the entry,
 * learned it, or a resync installed a newer state); the configuration in
 * force at up counts as chosen then.  Applied: the data path applied
 * every slot up to it.  Each (epoch, event) is reported once, chosen
 * before applied; an entry superseded before it was applied here is
 * reported chosen only.
 *
 * Context: drive work, after it reaped the applies; px_lock not held.
 */
void prbd_member_notice(struct prbd_dp *dp)
{
	struct prbd_member *m = &dp->mbr;
	struct prbd_cfg_event ev[2];
	struct prbd_px_status st;
	unsigned int i, n = 0;

	spin_lock(&dp->px_lock);
	prbd_px_status(dp->px, &st);
	if (prbd_member_ev_new(m->ev_chosen, st.cfg_slot)) {
		m->ev_chosen = st.cfg_slot;
		prbd_member_ev_fill(m, &st, PRBD_CONFIG_EVENT_CHOSEN, &ev[n++]);
	}
	if (m->ev_chosen == st.cfg_slot && st.applied >= st.cfg_slot &&
	    prbd_member_ev_new(m->ev_applied, st.cfg_slot)) {
		m->ev_applied = st.cfg_slot;
		prbd_member_ev_fill(m, &st, PRBD_CONFIG_EVENT_APPLIED,
				    &ev[n++]);
	}
	spin_unlock(&dp->px_lock);
	for (i = 0; i < n; i++)
		prbd_config_changed(dp->res, &ev[i]);
}

/**
 * prbd_member_step() - advance the membership change this node runs
 * @dp: the data path
 *
 * Context: drive work, px_lock held.
 * Return: true while the drive work must propose no new writes.
 */
bool prbd_member_step(struct prbd_dp *dp)
{
	struct prbd_member *m = &dp->mbr;
	struct prbd_px_status st;

	prbd_px_status(dp->px, &st);
	if (m->fwd_del && !m->cmd) {
		if (st.role == PRBD_PX_LEADER && !st.cfg_pending) {
			u8 node = m->fwd_del;

			m->fwd_del = 0;
			if (prbd_member_start(dp, PRBD_CMD_NODE_DEL, node, 0,
					      NULL))
				pr_warn("%s: node-del of node %u handed over by it: refused here\n",
					dp->res->name, node);
			prbd_px_status(dp->px, &st);
		} else if (time_after(jiffies, m->fwd_until)) {
			pr_warn("%s: node-del of node %u handed over by it: this node did not become leader\n",
				dp->res->name, m->fwd_del);
			m->fwd_del = 0;
		}
	}
	if (m->cmd && m->step != PRBD_CHANGE_STEP_HANDOVER &&
	    st.role != PRBD_PX_LEADER)
		prbd_member_end(dp, "leadership lost");
	switch (m->cmd ? m->step : PRBD_CHANGE_STEP_NONE) {
	case PRBD_CHANGE_STEP_PROPOSE:
		prbd_member_propose(dp, &st);
		break;
	case PRBD_CHANGE_STEP_CHOOSE:
		if (st.cfg_slot >= m->slot)
			prbd_member_chosen(dp, &st);
		else if (!st.cfg_pending ||
			 time_after(jiffies, m->step_at +
				    msecs_to_jiffies(PRBD_MEMBER_CHOOSE_MS)))
			prbd_member_end(dp, "the entry was not chosen");
		break;
	case PRBD_CHANGE_STEP_SYNC:
		if (prbd_member_whole(&st, m->node) &&
		    !prbd_member_quorum_ok(&st, st.voters | prbd_bit(m->node),
					   prbd_bit(m->node), NULL)) {
			pr_info("%s: node %u is whole after %u ms: proposing it as a voter\n",
				dp->res->name, m->node,
				jiffies_to_msecs(jiffies - m->started));
			m->hold = true;
			prbd_member_set_step(m, PRBD_CHANGE_STEP_PROPOSE);
		}
		break;
	case PRBD_CHANGE_STEP_HANDOVER:
		prbd_member_handover(dp, &st);
		break;
	default:
		break;
	}
	prbd_px_status(dp->px, &st);
	if (m->campaigners)
		prbd_member_tell_removed(dp, &st);
	prbd_member_publish(dp, &st);
	return m->hold;
}

/**
 * prbd_member_send() - send what prbd_member_step() left to send
 * @dp: the data path
 *
 * Context: drive work, px_lock not held.
 */
void prbd_member_send(struct prbd_dp *dp)
{
	struct prbd_tr *tr = READ_ONCE(dp->tr);
	struct prbd_wire_member w = {};
	u8 to;

	spin_lock(&dp->px_lock);
	to = dp->mbr.tx_to;
	w.op = dp->mbr.tx_op;
	w.node = dp->mbr.tx_node;
	w.slot = cpu_to_le64(dp->mbr.tx_slot);
	dp->mbr.tx_to = 0;
	spin_unlock(&dp->px_lock);
	if (!to || !tr)
		return;
	if (prbd_tr_send(tr, to, PRBD_MSG_MEMBER, &w, sizeof(w), NULL, 0, 0,
			 NULL, NULL))
		pr_warn("%s: cannot tell node %u of the membership change\n",
			dp->res->name, to);
}

/*
 * May this node believe node @from that the configuration entry at @slot
 * removed it (PRBD_MSG_MEMBER REMOVED)?  Acting on it is for good: the
 * node stops campaigning and serving the device, and records it in its
 * metadata until create-md.  Only a leader that knows the entry chosen
 * sends it (prbd_member_chosen(), prbd_member_tell_removed()), so the
 * receiver asks two things (issue 14):
 *
 * Is the sender one that may speak for the group?  The frame carries no
 * ballot, but following a leader is the ballot check: the core follows a
 * node only at a ballot at least its promise (px_follow()).  So a node
 * that follows a leader believes that leader alone; any other member, a
 * deposed leader, a confused or hostile peer, is ignored.  A true removal
 * still reaches it: a leader that removed it sends it nothing more, so it
 * loses that leader, campaigns, and the leader of the configuration that
 * left it out says so again, once a second (prbd_member_tell_removed()).
 * A node that follows no leader (a candidate; a node removed while away
 * that came back with its old metadata: the group's leader sends it no
 * Paxos message, so it cannot follow it) has nobody to ask and believes
 * any member: that is how it learns at all.  Closing that window would
 * need the sender's ballot and configuration on the wire.
 *
 * Is the configuration one it cannot contradict?  Newer than the one it
 * knows (@slot past its configuration epoch), or its own configuration
 * already leaves it out.  A configuration it knows that holds it proves
 * the claim false (and the acceptor state could not record it, see
 * prbd_md_acc_check()).
 *
 * Context: px_lock held.
 */
static bool prbd_member_removed_ok(struct prbd_dp *dp, u8 from, u64 slot)
{
	u8 self = dp->res->node_id;
	struct prbd_px_status st;

	if (!slot || from == self)
		return false;
	if (dp->leader && dp->leader != from)
		return false;	/* it follows, or is, another leader */
	prbd_px_status(dp->px, &st);
	return slot > st.cfg_slot ||
	       !((st.voters | st.learners) & prbd_bit(self));
}

/*
 * This node was removed at @slot (told so by node @from): record it in
 * the acceptor state first, so that it stays out across a restart (up
 * reads it back, prbd_updown.c), then stop campaigning and say so.  A
 * failed write fails the disk (the node then stops voting too); the
 * removal is still acted on here, not campaigning is always safe.
 *
 * Context: the transport's receive work (may sleep), px_lock not held.
 */
static void prbd_member_removed(struct prbd_dp *dp, u64 slot, u8 from)
{
	struct prbd_resource *res = dp->res;
	int err;

	err = prbd_persist_removed(dp, slot);
	if (err == -EALREADY)
		return;		/* recorded, and acted on, already */
	if (err) {
		pr_err("%s: cannot record the removal at slot %llu: %d\n",
		       res->name, slot, err);
		prbd_dp_io_error(dp, err, "acceptor state write");
	}
	/* never non-voting: see the header comment */
	spin_lock(&dp->px_lock);
	prbd_px_set_nocampaign(dp->px, true);
	spin_unlock(&dp->px_lock);
	spin_lock(&res->lock);
	res->removed_at = slot;
	spin_unlock(&res->lock);
	pr_warn("%s: removed from the group at slot %llu (by node %u): no longer campaigns or serves the device; re-create it with create-md to rejoin\n",
		res->name, slot, from);
	prbd_res_changed(res);
}

/**
 * prbd_member_recv() - a PRBD_MSG_MEMBER frame
 * @dp: the data path
 * @rx: the frame
 *
 * Return: 0, or -EINVAL for a malformed one (nothing changes).
 */
int prbd_member_recv(struct prbd_dp *dp, const struct prbd_tr_rx *rx)
{
	const struct prbd_wire_member *w = rx->hdr;
	struct prbd_resource *res = dp->res;
	u64 slot;
	u8 leader;

	if (rx->hdr_len != sizeof(*w) || memchr_inv(w->pad, 0, sizeof(w->pad)))
		return -EINVAL;
	slot = le64_to_cpu(w->slot);
	spin_lock(&dp->px_lock);
	if (w->op == PRBD_MEMBER_OP_DEL && w->node == rx->from &&
	    dp->leader == rx->from && !slot) {
		dp->mbr.fwd_del = w->node;
		dp->mbr.fwd_until = jiffies +
				    msecs_to_jiffies(PRBD_MEMBER_FWD_MS);
		spin_unlock(&dp->px_lock);
		pr_info("%s: node %u hands leadership over to remove itself\n",
			res->name, rx->from);
		return 0;
	}
	if (w->op == PRBD_MEMBER_OP_REMOVED && w->node == res->node_id &&
	    prbd_member_removed_ok(dp, rx->from, slot)) {
		spin_unlock(&dp->px_lock);
		prbd_member_removed(dp, slot, rx->from);
		return 0;
	}
	leader = dp->leader;
	spin_unlock(&dp->px_lock);
	if (w->op == PRBD_MEMBER_OP_REMOVED && w->node == res->node_id)
		pr_warn_ratelimited("%s: node %u says this node was removed at slot %llu: ignored (leader %u, configuration epoch %llu)\n",
				    res->name, rx->from, slot, leader,
				    READ_ONCE(res->config_epoch));
	return -EINVAL;
}

/**
 * prbd_member_admin() - node-add, node-del, node-replace, learner-add,
 * leader-transfer
 * @res: the resource, up
 * @cmd: the command
 * @node_id: the node
 * @new_node_id: node-replace: the new node
 * @extack: why it was refused
 *
 * Starts the change and returns; status and the kernel log follow it.
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0, or a negative errno with nothing changed.
 */
int prbd_member_admin(struct prbd_resource *res, enum prbd_cmd cmd,
		      u32 node_id, u32 new_node_id,
		      struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;
	bool demote = false;
	int err;

	if (!dp)
		return -ENOTCONN;
	if (READ_ONCE(res->removed_at)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "this node was removed from the group");
		return -EPERM;
	}
	if (cmd == PRBD_CMD_LEADER_TRANSFER ||
	    (cmd == PRBD_CMD_NODE_DEL && node_id == res->node_id)) {
		/* the open stays here and would ask for leadership back */
		if (atomic_read(&dp->open_rw)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "refused: the device is open read-write on this node and would take leadership back; close it (then open it on the new leader)");
			return -EBUSY;
		}
		demote = res->role == PRBD_ROLE_PRIMARY;
	}
	spin_lock(&dp->px_lock);
	if (cmd == PRBD_CMD_NODE_REPLACE)
		err = prbd_member_start(dp, cmd, new_node_id, node_id, extack);
	else
		err = prbd_member_start(dp, cmd, node_id, 0, extack);
	spin_unlock(&dp->px_lock);
	if (err)
		return err;
	if (demote && prbd_res_set_role(res, PRBD_ROLE_SECONDARY, false, NULL))
		pr_warn("%s: could not become secondary before the handover\n",
			res->name);
	prbd_dp_kick(dp);
	return 0;
}

/**
 * prbd_member_peer_added() - a peer was added while the resource is up
 * @res: the resource
 * @peer: the new peer (node-add/learner-add with an address, peer-add)
 * @extack: why it failed, may be NULL
 *
 * The transport starts connecting to it.
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0 or the transport's error.
 */
int prbd_member_peer_added(struct prbd_resource *res, struct prbd_peer *peer,
			   struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;
	struct prbd_tr *tr = dp ? READ_ONCE(dp->tr) : NULL;
	int err;

	if (!tr || peer->node_id >= PRBD_PX_MAX_NODES)
		return 0;
	err = prbd_tr_add_peer(tr, peer->node_id, &peer->addr);
	if (err)
		NL_SET_ERR_MSG_MOD(extack, "the transport did not take the peer");
	return err;
}

/**
 * prbd_member_peer_removing() - a peer is about to be removed
 * @res: the resource
 * @peer: the peer
 *
 * Context: prbd_cfg_mutex held.
 */
void prbd_member_peer_removing(struct prbd_resource *res,
			       struct prbd_peer *peer)
{
	struct prbd_dp *dp = res->dp;
	struct prbd_tr *tr = dp ? READ_ONCE(dp->tr) : NULL;

	if (tr && peer->node_id < PRBD_PX_MAX_NODES)
		prbd_tr_del_peer(tr, peer->node_id);
}
