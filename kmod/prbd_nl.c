// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the "prbd" generic netlink family.
 *
 * Documentation/netlink/specs/prbd.yaml describes every command and
 * attribute.  Each operation has its own strict policy, so an attribute an
 * operation does not take is refused ("Unknown attribute type"), as is a
 * wrong type, length or range.  State changes need CAP_NET_ADMIN.  Errors
 * carry an extack message; a failed command changes nothing.
 *
 * Reading is open to everyone, but what identifies the group or the
 * machine is not: res-get leaves out the cluster UUID and the backing
 * device's path for a caller without CAP_NET_ADMIN (in the netlink
 * socket's user namespace, as GENL_ADMIN_PERM checks), and only such a
 * caller may join the events group (GENL_MCAST_CAP_NET_ADMIN), whose
 * notifications carry everything.  The secret is never sent back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/ipv6.h>

#include "prbd_int.h"

enum prbd_nl_mcgrp {
	PRBD_NLGRP_EVENTS,
};

static const struct genl_multicast_group prbd_nl_mcgrps[] = {
	[PRBD_NLGRP_EVENTS] = { .name = PRBD_MCGRP_EVENTS,
				.flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family prbd_nl_family;
static struct workqueue_struct *prbd_nl_wq;
static bool prbd_nl_registered;

/* Policies: one per distinct request attribute list of the spec. */

#define PRBD_NL_NAME_POLICY \
	[PRBD_ATTR_NAME] = { .type = NLA_NUL_STRING, .len = PRBD_NAME_SIZE - 1 }
#define PRBD_NL_NODE_ID_POLICY \
	NLA_POLICY_RANGE(NLA_U32, 1, PRBD_NODE_ID_MAX)
#define PRBD_NL_LISTEN_POLICY \
	[PRBD_ATTR_LISTEN_ADDR4] = { .type = NLA_BE32 }, \
	[PRBD_ATTR_LISTEN_ADDR6] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)), \
	[PRBD_ATTR_LISTEN_PORT] = NLA_POLICY_MIN(NLA_U16, 1)

/* resync-rate: KiB/s, at most 4 GiB/s; 0 = no cap (beyond what
 * NLA_POLICY_MAX() takes; not const: 6.1 takes a non-const pointer)
 */
static struct netlink_range_validation prbd_nl_resync_rate_range = {
	.min = 0,
	.max = 4U << 20,
};

#define PRBD_NL_RESYNC_RATE_POLICY \
	[PRBD_ATTR_RESYNC_RATE] = \
		NLA_POLICY_FULL_RANGE(NLA_U32, &prbd_nl_resync_rate_range)
#define PRBD_NL_RANGE_POLICY \
	[PRBD_ATTR_RANGE_START] = { .type = NLA_U64 }, \
	[PRBD_ATTR_RANGE_LEN] = { .type = NLA_U64 }

/*
 * Verify and resync ranges are checked against 4 KiB: the logical block
 * size of the exported device is only known once a disk is attached, and
 * the data path works in 4 KiB units anyway.
 */
#define PRBD_NL_RANGE_ALIGN		4096

static const struct nla_policy prbd_nl_peer_policy[PRBD_PEER_ATTR_MAX + 1] = {
	[PRBD_PEER_ATTR_NODE_ID] = PRBD_NL_NODE_ID_POLICY,
	[PRBD_PEER_ATTR_ADDR4] = { .type = NLA_BE32 },
	[PRBD_PEER_ATTR_ADDR6] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[PRBD_PEER_ATTR_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[PRBD_PEER_ATTR_MEMBER_ROLE] = NLA_POLICY_MAX(NLA_U32,
						      PRBD_MEMBER_ROLE_MAX),
};

/* res-new */
static const struct nla_policy prbd_nl_res_new_policy[PRBD_ATTR_ALLOW_NO_SECRET + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_MINOR] = NLA_POLICY_MAX(NLA_U32, PRBD_MINOR_MAX),
	[PRBD_ATTR_NODE_ID] = PRBD_NL_NODE_ID_POLICY,
	[PRBD_ATTR_CLUSTER_UUID] = NLA_POLICY_EXACT_LEN(PRBD_UUID_LEN),
	[PRBD_ATTR_SECRET] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					      PRBD_SECRET_MAX_LEN),
	[PRBD_ATTR_ON_NO_QUORUM] = NLA_POLICY_MAX(NLA_U32,
						  PRBD_ON_NO_QUORUM_MAX),
	PRBD_NL_LISTEN_POLICY,
	PRBD_NL_RESYNC_RATE_POLICY,
	[PRBD_ATTR_MEMBER_ROLE] = NLA_POLICY_MAX(NLA_U32, PRBD_MEMBER_ROLE_MAX),
	[PRBD_ATTR_ALLOW_NO_SECRET] = { .type = NLA_FLAG },
};

/* up */
static const struct nla_policy prbd_nl_up_policy[PRBD_ATTR_DURABILITY + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_DURABILITY] = NLA_POLICY_MAX(NLA_U32, PRBD_DURABILITY_MAX),
};

/* res-del, res-get (do and dump), down, secondary */
static const struct nla_policy prbd_nl_name_policy[PRBD_ATTR_NAME + 1] = {
	PRBD_NL_NAME_POLICY,
};

/* res-set */
static const struct nla_policy prbd_nl_res_set_policy[PRBD_ATTR_RESYNC_RATE + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_SECRET] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					      PRBD_SECRET_MAX_LEN),
	[PRBD_ATTR_ON_NO_QUORUM] = NLA_POLICY_MAX(NLA_U32,
						  PRBD_ON_NO_QUORUM_MAX),
	PRBD_NL_LISTEN_POLICY,
	PRBD_NL_RESYNC_RATE_POLICY,
};

/* attach */
static const struct nla_policy prbd_nl_attach_policy[PRBD_ATTR_BACKING_DEV + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_BACKING_DEV] = { .type = NLA_NUL_STRING,
				    .len = PRBD_PATH_MAX - 1 },
};

/* detach, primary */
static const struct nla_policy prbd_nl_name_force_policy[PRBD_ATTR_FORCE + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_FORCE] = { .type = NLA_FLAG },
};

/* peer-add */
static const struct nla_policy prbd_nl_peer_add_policy[PRBD_ATTR_PEER + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_PEER] = NLA_POLICY_NESTED(prbd_nl_peer_policy),
};

/* peer-del, node-add, node-del, learner-add, leader-transfer */
static const struct nla_policy prbd_nl_name_node_policy[PRBD_ATTR_NODE_ID + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_NODE_ID] = PRBD_NL_NODE_ID_POLICY,
};

/* verify */
static const struct nla_policy prbd_nl_verify_policy[PRBD_ATTR_RANGE_LEN + 1] = {
	PRBD_NL_NAME_POLICY,
	PRBD_NL_RANGE_POLICY,
};

/* resync */
static const struct nla_policy prbd_nl_resync_policy[PRBD_ATTR_RANGE_LEN + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_NODE_ID] = PRBD_NL_NODE_ID_POLICY,
	PRBD_NL_RANGE_POLICY,
};

/* node-add, learner-add: the node's address in an optional peer nest */
static const struct nla_policy prbd_nl_node_add_policy[PRBD_ATTR_PEER + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_NODE_ID] = PRBD_NL_NODE_ID_POLICY,
	[PRBD_ATTR_PEER] = NLA_POLICY_NESTED(prbd_nl_peer_policy),
};

/* node-replace */
static const struct nla_policy prbd_nl_node_replace_policy[PRBD_ATTR_NEW_NODE_ID + 1] = {
	PRBD_NL_NAME_POLICY,
	[PRBD_ATTR_NODE_ID] = PRBD_NL_NODE_ID_POLICY,
	[PRBD_ATTR_NEW_NODE_ID] = PRBD_NL_NODE_ID_POLICY,
};

/* Status messages */

static size_t prbd_nl_res_size(const struct prbd_resource *res)
{
	size_t peer = nla_total_size(0) +		/* PEER nest */
		nla_total_size(sizeof(u32)) * 5 +	/* node-id, addr4/port, */
		nla_total_size(sizeof(struct in6_addr)) + /* states, role, sync */
		nla_total_size_64bit(sizeof(u64)) * 4;	/* match-index, rs_* */
	size_t size = nla_total_size(PRBD_NAME_SIZE) +
		nla_total_size(sizeof(u32)) * 12 +	/* minor ... durability */
		nla_total_size(0) +			/* RESYNC nest */
		nla_total_size(sizeof(u32)) +		/* source */
		nla_total_size_64bit(sizeof(u64)) * 3 +	/* done, total, rate */
		nla_total_size(0) +			/* VERIFY nest */
		nla_total_size(sizeof(u32)) +		/* running */
		nla_total_size_64bit(sizeof(u64)) * 4 +	/* start ... divergent */
		nla_total_size(PRBD_UUID_LEN) +
		nla_total_size(sizeof(struct in6_addr)) + /* listen address */
		nla_total_size(sizeof(u16)) +		/* listen port */
		nla_total_size_64bit(sizeof(u64)) * 5 +	/* ballot ... size */
		nla_total_size(0) +			/* CONFIG nest */
		nla_total_size_64bit(sizeof(u64)) * 3 + /* epoch, pending, removed */
		nla_total_size(sizeof(u32)) * 3 +	/* change, node, step */
		nla_total_size(sizeof(u32)) * 31 +	/* voters, learners */
		res->nr_peers * peer;

	if (res->backing)
		size += nla_total_size(strlen(res->backing->path) + 1);
	return genlmsg_total_size(size);
}

/* Largest status message, for dumps. */
static size_t prbd_nl_res_max_size(void)
{
	return genlmsg_total_size(nla_total_size(PRBD_PATH_MAX)) +
		NLMSG_GOODSIZE;
}

static int prbd_nl_put_addr(struct sk_buff *skb, const struct prbd_peer *peer)
{
	const struct sockaddr_in6 *sin6 = (const void *)&peer->addr;
	const struct sockaddr_in *sin = (const void *)&peer->addr;

	if (peer->addr.ss_family == AF_INET)
		return nla_put_in_addr(skb, PRBD_PEER_ATTR_ADDR4,
				       sin->sin_addr.s_addr) ?:
		       nla_put_u16(skb, PRBD_PEER_ATTR_PORT,
				   ntohs(sin->sin_port));
	return nla_put_in6_addr(skb, PRBD_PEER_ATTR_ADDR6, &sin6->sin6_addr) ?:
	       nla_put_u16(skb, PRBD_PEER_ATTR_PORT, ntohs(sin6->sin6_port));
}

/* The local listen address, if one is set. */
static int prbd_nl_put_listen(struct sk_buff *skb,
			      const struct prbd_resource *res)
{
	const struct sockaddr_in6 *sin6 = (const void *)&res->listen;
	const struct sockaddr_in *sin = (const void *)&res->listen;

	switch (res->listen.ss_family) {
	case AF_INET:
		return nla_put_in_addr(skb, PRBD_ATTR_LISTEN_ADDR4,
				       sin->sin_addr.s_addr) ?:
		       nla_put_u16(skb, PRBD_ATTR_LISTEN_PORT,
				   ntohs(sin->sin_port));
	case AF_INET6:
		return nla_put_in6_addr(skb, PRBD_ATTR_LISTEN_ADDR6,
					&sin6->sin6_addr) ?:
		       nla_put_u16(skb, PRBD_ATTR_LISTEN_PORT,
				   ntohs(sin6->sin6_port));
	default:
		return 0;
	}
}

static int prbd_nl_put_peer(struct sk_buff *skb, const struct prbd_peer *peer)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, PRBD_ATTR_PEER);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, PRBD_PEER_ATTR_NODE_ID, peer->node_id) ||
	    prbd_nl_put_addr(skb, peer) ||
	    nla_put_u32(skb, PRBD_PEER_ATTR_CONN_STATE, READ_ONCE(peer->cstate)) ||
	    nla_put_u32(skb, PRBD_PEER_ATTR_MEMBER_ROLE, peer->mrole) ||
	    nla_put_u64_64bit(skb, PRBD_PEER_ATTR_MATCH_INDEX,
			      READ_ONCE(peer->match_index),
			      PRBD_PEER_ATTR_PAD) ||
	    nla_put_u32(skb, PRBD_PEER_ATTR_SYNC, READ_ONCE(peer->sync)) ||
	    nla_put_u64_64bit(skb, PRBD_PEER_ATTR_RESYNC_DONE,
			      READ_ONCE(peer->rs_done), PRBD_PEER_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_PEER_ATTR_RESYNC_TOTAL,
			      READ_ONCE(peer->rs_total), PRBD_PEER_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_PEER_ATTR_RESYNC_RATE,
			      READ_ONCE(peer->rs_rate), PRBD_PEER_ATTR_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* What prbd_nl_put_config() reports, read under res->lock. */
struct prbd_nl_cfg {
	u64 epoch, pending, removed_at;
	u32 voters, learners;
	u32 change, change_node, change_step;
};

static int prbd_nl_put_ids(struct sk_buff *skb, int type, u32 mask)
{
	u32 id;

	for (id = 1; id < 32; id++)
		if ((mask & BIT(id)) && nla_put_u32(skb, type, id))
			return -EMSGSIZE;
	return 0;
}

/*
 * The membership: the configuration in effect as the Paxos core knows it
 * (chosen in the log) while the resource is up, else the resource file's
 * (the local node and every peer by its role).
 */
static int prbd_nl_put_config(struct sk_buff *skb,
			      const struct prbd_resource *res,
			      const struct prbd_nl_cfg *c)
{
	const struct prbd_peer *peer;
	u32 voters = c->voters, learners = c->learners;
	struct nlattr *nest;

	if (!voters) {
		if (res->self_role == PRBD_MEMBER_ROLE_VOTER)
			voters |= BIT(res->node_id);
		else if (res->self_role == PRBD_MEMBER_ROLE_LEARNER)
			learners |= BIT(res->node_id);
		list_for_each_entry(peer, &res->peers, list) {
			if (peer->node_id >= 32)
				continue;
			if (peer->mrole == PRBD_MEMBER_ROLE_VOTER)
				voters |= BIT(peer->node_id);
			else if (peer->mrole == PRBD_MEMBER_ROLE_LEARNER)
				learners |= BIT(peer->node_id);
		}
	}
	nest = nla_nest_start(skb, PRBD_ATTR_CONFIG);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, PRBD_CONFIG_ATTR_EPOCH, c->epoch,
			      PRBD_CONFIG_ATTR_PAD) ||
	    prbd_nl_put_ids(skb, PRBD_CONFIG_ATTR_VOTER, voters) ||
	    prbd_nl_put_ids(skb, PRBD_CONFIG_ATTR_LEARNER, learners))
		goto cancel;
	if (c->pending &&
	    nla_put_u64_64bit(skb, PRBD_CONFIG_ATTR_PENDING, c->pending,
			      PRBD_CONFIG_ATTR_PAD))
		goto cancel;
	if (c->change &&
	    (nla_put_u32(skb, PRBD_CONFIG_ATTR_CHANGE, c->change) ||
	     nla_put_u32(skb, PRBD_CONFIG_ATTR_CHANGE_NODE, c->change_node) ||
	     nla_put_u32(skb, PRBD_CONFIG_ATTR_CHANGE_STEP, c->change_step)))
		goto cancel;
	if (c->removed_at &&
	    nla_put_u64_64bit(skb, PRBD_CONFIG_ATTR_REMOVED, c->removed_at,
			      PRBD_CONFIG_ATTR_PAD))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* The resync into this node, while one runs. */
static int prbd_nl_put_rs(struct sk_buff *skb,
			  const struct prbd_resync_status *rs)
{
	struct nlattr *nest;

	if (!rs->running)
		return 0;
	nest = nla_nest_start(skb, PRBD_ATTR_RESYNC);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, PRBD_RESYNC_ATTR_PEER_NODE_ID, rs->source) ||
	    nla_put_u64_64bit(skb, PRBD_RESYNC_ATTR_DONE, rs->done,
			      PRBD_RESYNC_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_RESYNC_ATTR_TOTAL, rs->total,
			      PRBD_RESYNC_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_RESYNC_ATTR_RATE, rs->rate,
			      PRBD_RESYNC_ATTR_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* The last verify run started on this node, if there is one. */
static int prbd_nl_put_verify(struct sk_buff *skb,
			      const struct prbd_verify_status *v)
{
	struct nlattr *nest;

	if (!v->running && !v->len)
		return 0;
	nest = nla_nest_start(skb, PRBD_ATTR_VERIFY);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, PRBD_VERIFY_ATTR_RUNNING, v->running) ||
	    nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_START, v->start,
			      PRBD_VERIFY_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_LEN, v->len,
			      PRBD_VERIFY_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_CHECKED, v->checked,
			      PRBD_VERIFY_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_DIVERGENT, v->divergent,
			      PRBD_VERIFY_ATTR_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Context: prbd_cfg_mutex held.  @event < 0: no PRBD_ATTR_EVENT.  @admin:
 * the receiver has CAP_NET_ADMIN; else no cluster UUID nor backing path.
 */
static int prbd_nl_fill_res(struct sk_buff *skb, struct prbd_resource *res,
			    u32 portid, u32 seq, int flags, u8 cmd, int event,
			    bool admin)
{
	u64 ballot, commit_index, applied_index;
	struct prbd_nl_cfg cfg;
	struct prbd_resync_status rs;
	struct prbd_verify_status verify;
	const struct prbd_peer *peer;
	enum prbd_paxos_role prole;
	u32 leader_id, quorum;
	void *hdr;

	spin_lock(&res->lock);
	prole = res->paxos_role;
	leader_id = res->leader_id;
	quorum = res->quorum;
	ballot = res->ballot;
	commit_index = res->commit_index;
	applied_index = res->applied_index;
	cfg.epoch = res->config_epoch;
	cfg.voters = res->cfg_voters;
	cfg.learners = res->cfg_learners;
	cfg.pending = res->cfg_pending;
	cfg.change = res->cfg_change;
	cfg.change_node = res->cfg_change_node;
	cfg.change_step = res->cfg_change_step;
	cfg.removed_at = res->removed_at;
	rs = res->rs;
	verify = res->verify;
	spin_unlock(&res->lock);

	hdr = genlmsg_put(skb, portid, seq, &prbd_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, PRBD_ATTR_NAME, res->name) ||
	    nla_put_u32(skb, PRBD_ATTR_MINOR, res->dev.minor) ||
	    nla_put_u32(skb, PRBD_ATTR_NODE_ID, res->node_id) ||
	    (admin && nla_put(skb, PRBD_ATTR_CLUSTER_UUID, PRBD_UUID_LEN,
			      res->cluster_uuid)) ||
	    nla_put_u32(skb, PRBD_ATTR_ON_NO_QUORUM, res->on_no_quorum) ||
	    nla_put_u32(skb, PRBD_ATTR_RESYNC_RATE, res->resync_rate) ||
	    nla_put_u32(skb, PRBD_ATTR_ROLE, res->role) ||
	    nla_put_u32(skb, PRBD_ATTR_PAXOS_ROLE, prole) ||
	    nla_put_u32(skb, PRBD_ATTR_RES_STATE, res->state) ||
	    nla_put_u32(skb, PRBD_ATTR_DISK_STATE, res->disk_state) ||
	    nla_put_u32(skb, PRBD_ATTR_LEADER_ID, leader_id) ||
	    nla_put_u32(skb, PRBD_ATTR_QUORUM, quorum) ||
	    nla_put_u64_64bit(skb, PRBD_ATTR_BALLOT, ballot, PRBD_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_ATTR_COMMIT_INDEX, commit_index,
			      PRBD_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_ATTR_APPLIED_INDEX, applied_index,
			      PRBD_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, PRBD_ATTR_CONFIG_EPOCH, cfg.epoch,
			      PRBD_ATTR_PAD) ||
	    nla_put_u32(skb, PRBD_ATTR_MEMBER_ROLE, res->self_role) ||
	    nla_put_u32(skb, PRBD_ATTR_DURABILITY, res->durability) ||
	    prbd_nl_put_listen(skb, res))
		goto cancel;
	if (res->backing &&
	    ((admin && nla_put_string(skb, PRBD_ATTR_BACKING_DEV,
				      res->backing->path)) ||
	     nla_put_u64_64bit(skb, PRBD_ATTR_SIZE, res->backing->md.data_size,
			       PRBD_ATTR_PAD)))
		goto cancel;
	list_for_each_entry(peer, &res->peers, list)
		if (prbd_nl_put_peer(skb, peer))
			goto cancel;
	if (prbd_nl_put_config(skb, res, &cfg) ||
	    prbd_nl_put_rs(skb, &rs) || prbd_nl_put_verify(skb, &verify))
		goto cancel;
	if (event >= 0 && nla_put_u32(skb, PRBD_ATTR_EVENT, event))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* Notifications */

static void prbd_nl_multicast(struct sk_buff *skb)
{
	genlmsg_multicast(&prbd_nl_family, skb, 0, PRBD_NLGRP_EVENTS,
			  GFP_KERNEL);
}

static bool prbd_nl_listening(void)
{
	return READ_ONCE(prbd_nl_registered) &&
	       genl_has_listeners(&prbd_nl_family, &init_net,
				  PRBD_NLGRP_EVENTS);
}

/**
 * prbd_nl_notify_res() - send a res-ntf with the status of @res
 * @res: the resource
 * @event: create, destroy or change
 *
 * Context: process context, prbd_cfg_mutex held.
 */
void prbd_nl_notify_res(struct prbd_resource *res, enum prbd_event event)
{
	struct sk_buff *skb;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (!prbd_nl_listening())
		return;
	skb = genlmsg_new(prbd_nl_res_size(res), GFP_KERNEL);
	if (!skb)
		return;
	/* the events group is CAP_NET_ADMIN's only */
	if (prbd_nl_fill_res(skb, res, 0, 0, 0, PRBD_CMD_RES_NTF, event,
			     true)) {
		nlmsg_free(skb);
		return;
	}
	prbd_nl_multicast(skb);
}

/* A notification being built: the message, its header, its nest if any. */
struct prbd_nl_ntf {
	struct sk_buff *skb;
	void *hdr;
	struct nlattr *nest;
};

/*
 * Start a notification of @cmd about @res: the header, the name and, unless
 * @nest_type is 0, a nest of that type opened.  False, with nothing left to
 * free, when no one listens or the message cannot be built.
 */
static bool prbd_nl_ntf_start(struct prbd_nl_ntf *ntf,
			      struct prbd_resource *res, u8 cmd, int nest_type)
{
	if (!prbd_nl_listening())
		return false;
	ntf->skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!ntf->skb)
		return false;
	ntf->nest = NULL;
	ntf->hdr = genlmsg_put(ntf->skb, 0, 0, &prbd_nl_family, 0, cmd);
	if (ntf->hdr && !nla_put_string(ntf->skb, PRBD_ATTR_NAME, res->name)) {
		if (!nest_type)
			return true;
		ntf->nest = nla_nest_start(ntf->skb, nest_type);
		if (ntf->nest)
			return true;
	}
	nlmsg_free(ntf->skb);
	return false;
}

/*
 * Close and multicast @ntf, or drop it if putting its attributes failed
 * (@failed).
 */
static void prbd_nl_ntf_send(struct prbd_nl_ntf *ntf, bool failed)
{
	if (failed) {
		nlmsg_free(ntf->skb);
		return;
	}
	if (ntf->nest)
		nla_nest_end(ntf->skb, ntf->nest);
	genlmsg_end(ntf->skb, ntf->hdr);
	prbd_nl_multicast(ntf->skb);
}

/**
 * prbd_nl_notify_peer() - send a peer-ntf
 * @res: the resource
 * @peer: the peer
 * @event: create, destroy or change (connection state)
 *
 * Context: process context, prbd_cfg_mutex held.
 */
void prbd_nl_notify_peer(struct prbd_resource *res, struct prbd_peer *peer,
			 enum prbd_event event)
{
	struct prbd_nl_ntf ntf;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (!prbd_nl_ntf_start(&ntf, res, PRBD_CMD_PEER_NTF, 0))
		return;
	prbd_nl_ntf_send(&ntf, nla_put_u32(ntf.skb, PRBD_ATTR_EVENT, event) ||
			 prbd_nl_put_peer(ntf.skb, peer));
}

/**
 * prbd_nl_notify_resync() - send a resync-ntf
 * @res: the resource
 * @peer_node_id: the node resynchronised from (0: none reachable)
 * @event: start, progress, finish or abort
 * @done: bytes done
 * @total: bytes in total
 * @rate: recent rate, bytes/s
 *
 * Context: process context (GFP_KERNEL); no lock needed, the caller holds
 * a reference to @res.
 */
void prbd_nl_notify_resync(struct prbd_resource *res, u32 peer_node_id,
			   enum prbd_resync_event event, u64 done, u64 total,
			   u64 rate)
{
	struct prbd_nl_ntf ntf;
	struct sk_buff *skb;
	bool failed;

	if (!prbd_nl_ntf_start(&ntf, res, PRBD_CMD_RESYNC_NTF,
			       PRBD_ATTR_RESYNC))
		return;
	skb = ntf.skb;
	failed = nla_put_u32(skb, PRBD_RESYNC_ATTR_EVENT, event) ||
		 nla_put_u32(skb, PRBD_RESYNC_ATTR_PEER_NODE_ID, peer_node_id) ||
		 nla_put_u64_64bit(skb, PRBD_RESYNC_ATTR_DONE, done,
				   PRBD_RESYNC_ATTR_PAD) ||
		 nla_put_u64_64bit(skb, PRBD_RESYNC_ATTR_TOTAL, total,
				   PRBD_RESYNC_ATTR_PAD) ||
		 nla_put_u64_64bit(skb, PRBD_RESYNC_ATTR_RATE, rate,
				   PRBD_RESYNC_ATTR_PAD);
	prbd_nl_ntf_send(&ntf, failed);
}

/**
 * prbd_nl_notify_verify() - send a verify-ntf
 * @res: the resource
 * @event: start, divergent, finish or abort
 * @peer_node_id: divergent: the peer whose data differs; else 0
 * @start: divergent: start of the divergent range; else of the run's range
 * @len: bytes of that range
 * @checked: bytes the run compared so far
 * @divergent: bytes the run found divergent so far
 *
 * Context: process context (GFP_KERNEL); no lock needed, the caller holds
 * a reference to @res.
 */
void prbd_nl_notify_verify(struct prbd_resource *res,
			   enum prbd_verify_event event, u32 peer_node_id,
			   u64 start, u64 len, u64 checked, u64 divergent)
{
	struct prbd_nl_ntf ntf;
	struct sk_buff *skb;
	bool failed;

	if (!prbd_nl_ntf_start(&ntf, res, PRBD_CMD_VERIFY_NTF,
			       PRBD_ATTR_VERIFY))
		return;
	skb = ntf.skb;
	failed = nla_put_u32(skb, PRBD_VERIFY_ATTR_EVENT, event) ||
		 (peer_node_id &&
		  nla_put_u32(skb, PRBD_VERIFY_ATTR_PEER_NODE_ID, peer_node_id)) ||
		 nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_START, start,
				   PRBD_VERIFY_ATTR_PAD) ||
		 nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_LEN, len,
				   PRBD_VERIFY_ATTR_PAD) ||
		 nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_CHECKED, checked,
				   PRBD_VERIFY_ATTR_PAD) ||
		 nla_put_u64_64bit(skb, PRBD_VERIFY_ATTR_DIVERGENT, divergent,
				   PRBD_VERIFY_ATTR_PAD);
	prbd_nl_ntf_send(&ntf, failed);
}

/*
 * A config-ntf: the config nest with the event, the epoch, the voters and
 * learners, and the command that proposed the entry when this node ran it.
 * Context: process context (GFP_KERNEL).
 */
static void prbd_nl_notify_config(struct prbd_resource *res,
				  const struct prbd_cfg_event *ev)
{
	struct prbd_nl_ntf ntf;
	struct sk_buff *skb;
	bool failed;

	if (!prbd_nl_ntf_start(&ntf, res, PRBD_CMD_CONFIG_NTF,
			       PRBD_ATTR_CONFIG))
		return;
	skb = ntf.skb;
	failed = nla_put_u32(skb, PRBD_CONFIG_ATTR_EVENT, ev->event) ||
		 nla_put_u64_64bit(skb, PRBD_CONFIG_ATTR_EPOCH, ev->epoch,
				   PRBD_CONFIG_ATTR_PAD) ||
		 prbd_nl_put_ids(skb, PRBD_CONFIG_ATTR_VOTER, ev->voters) ||
		 prbd_nl_put_ids(skb, PRBD_CONFIG_ATTR_LEARNER, ev->learners) ||
		 (ev->change &&
		  (nla_put_u32(skb, PRBD_CONFIG_ATTR_CHANGE, ev->change) ||
		   nla_put_u32(skb, PRBD_CONFIG_ATTR_CHANGE_NODE,
			       ev->change_node)));
	prbd_nl_ntf_send(&ntf, failed);
}

/* Send the config-ntf events prbd_config_changed() queued, in order. */
static void prbd_nl_send_config(struct prbd_resource *res)
{
	struct prbd_cfg_event ev[PRBD_CFG_EV_QUEUE];
	u32 i, n;

	spin_lock(&res->lock);
	n = res->cfg_ev_n;
	memcpy(ev, res->cfg_ev, n * sizeof(ev[0]));
	res->cfg_ev_n = 0;
	spin_unlock(&res->lock);
	for (i = 0; i < n; i++)
		prbd_nl_notify_config(res, &ev[i]);
}

/**
 * prbd_nl_ntf_work() - send the notifications prbd_res_changed(),
 * prbd_peer_changed() and prbd_config_changed() asked for
 * @work: prbd_resource.ntf_work
 */
void prbd_nl_ntf_work(struct work_struct *work)
{
	struct prbd_resource *res = container_of(work, struct prbd_resource,
						 ntf_work);
	struct prbd_peer *peer;
	unsigned int id;

	mutex_lock(&prbd_cfg_mutex);
	if (!list_empty(&res->list)) {
		if (test_and_clear_bit(0, &res->ntf_pending))
			prbd_nl_notify_res(res, PRBD_EVENT_CHANGE);
		for (id = 1; id <= PRBD_NODE_ID_MAX; id++) {
			if (!test_and_clear_bit(id, &res->ntf_pending))
				continue;
			peer = prbd_peer_find(res, id);
			if (peer)
				prbd_nl_notify_peer(res, peer,
						    PRBD_EVENT_CHANGE);
		}
		prbd_nl_send_config(res);
	}
	mutex_unlock(&prbd_cfg_mutex);
	prbd_res_put(res);
}

static_assert(PRBD_NODE_ID_MAX < BITS_PER_LONG);

static void prbd_nl_queue_work(struct prbd_resource *res)
{
	prbd_res_get(res);
	if (!queue_work(prbd_nl_wq, &res->ntf_work))
		prbd_res_put(res);
}

static void prbd_nl_queue_ntf(struct prbd_resource *res, unsigned int bit)
{
	if (!READ_ONCE(prbd_nl_registered))
		return;
	set_bit(bit, &res->ntf_pending);
	prbd_nl_queue_work(res);
}

/**
 * prbd_res_changed() - report a state change of @res to the events group
 * @res: the resource
 *
 * For the replication code: call after changing role, Paxos role, leader,
 * ballot, indexes or disk state.  Safe in any context; a res-ntf with the
 * full status is sent from a work item (several calls may be merged).
 */
void prbd_res_changed(struct prbd_resource *res)
{
	prbd_nl_queue_ntf(res, 0);
}

/**
 * prbd_peer_changed() - report a change of a peer (connection state,
 * match index) to the events group
 * @res: the resource
 * @node_id: the peer's node id
 *
 * Safe in any context; a peer-ntf is sent from a work item.
 */
void prbd_peer_changed(struct prbd_resource *res, u32 node_id)
{
	if (node_id >= 1 && node_id <= PRBD_NODE_ID_MAX)
		prbd_nl_queue_ntf(res, node_id);
}

/**
 * prbd_config_changed() - report a configuration entry chosen or applied
 * on this node to the events group
 * @res: the resource
 * @ev: what to report (copied)
 *
 * For the data path (prbd_member_notice()), which reports each (epoch,
 * event) once.  Safe in any context but under res->lock; the config-ntf
 * is sent from a work item, in the order of the calls.  Should more
 * than PRBD_CFG_EV_QUEUE wait, the oldest is dropped.
 */
void prbd_config_changed(struct prbd_resource *res,
			 const struct prbd_cfg_event *ev)
{
	bool lost = false;

	if (!READ_ONCE(prbd_nl_registered))
		return;
	spin_lock(&res->lock);
	if (res->cfg_ev_n == PRBD_CFG_EV_QUEUE) {
		memmove(res->cfg_ev, res->cfg_ev + 1,
			(PRBD_CFG_EV_QUEUE - 1) * sizeof(res->cfg_ev[0]));
		res->cfg_ev_n--;
		lost = true;
	}
	res->cfg_ev[res->cfg_ev_n++] = *ev;
	spin_unlock(&res->lock);
	if (lost)
		pr_warn_ratelimited("%s: config-ntf queue full: the oldest event is dropped\n",
				    res->name);
	prbd_nl_queue_work(res);
}

/* Request handlers; each runs under prbd_cfg_mutex. */

static struct prbd_resource *prbd_nl_get_res(struct genl_info *info)
{
	struct prbd_resource *res;

	if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_NAME)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "missing attribute: resource name");
		return ERR_PTR(-EINVAL);
	}
	res = prbd_res_find(nla_data(info->attrs[PRBD_ATTR_NAME]));
	if (!res) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[PRBD_ATTR_NAME],
				    "prbd: no resource of that name");
		return ERR_PTR(-ENOENT);
	}
	return res;
}

/**
 * prbd_nl_parse_listen() - parse the optional local listen address
 * @info: the request (res-new or res-set)
 * @addr: set to the address, port included
 *
 * Return: 1 if the request sets a listen address, 0 if it has none of the
 * listen attributes, -EINVAL if they are inconsistent (both addr4 and
 * addr6, an address without a port, a port without an address, or a
 * multicast/broadcast address).  Port 0 is refused by the policy.
 */
static int prbd_nl_parse_listen(struct genl_info *info,
				struct sockaddr_storage *addr)
{
	struct nlattr *a4 = info->attrs[PRBD_ATTR_LISTEN_ADDR4];
	struct nlattr *a6 = info->attrs[PRBD_ATTR_LISTEN_ADDR6];
	struct nlattr *port = info->attrs[PRBD_ATTR_LISTEN_PORT];
	struct sockaddr_in6 *sin6 = (void *)addr;
	struct sockaddr_in *sin = (void *)addr;

	if (!a4 && !a6 && !port)
		return 0;
	if (a4 && a6) {
		NL_SET_ERR_MSG_ATTR(info->extack, a6,
				    "prbd: listen address: give only one of listen-addr4 and listen-addr6");
		return -EINVAL;
	}
	if (!port) {
		NL_SET_ERR_MSG_ATTR(info->extack, a4 ?: a6,
				    "prbd: listen address needs listen-port");
		return -EINVAL;
	}
	if (!a4 && !a6) {
		NL_SET_ERR_MSG_ATTR(info->extack, port,
				    "prbd: listen-port needs listen-addr4 or listen-addr6");
		return -EINVAL;
	}

	memset(addr, 0, sizeof(*addr));
	if (a4) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = nla_get_in_addr(a4);
		sin->sin_port = htons(nla_get_u16(port));
		if (ipv4_is_multicast(sin->sin_addr.s_addr) ||
		    ipv4_is_lbcast(sin->sin_addr.s_addr)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a4,
					    "prbd: listen address must be a unicast or the wildcard address");
			return -EINVAL;
		}
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = nla_get_in6_addr(a6);
		sin6->sin6_port = htons(nla_get_u16(port));
		if (ipv6_addr_is_multicast(&sin6->sin6_addr)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a6,
					    "prbd: listen address must be a unicast or the wildcard address");
			return -EINVAL;
		}
	}
	return 1;
}

static int prbd_nl_res_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct sockaddr_storage listen;
	struct prbd_res_params p = {};
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_NAME) ||
	    GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_MINOR) ||
	    GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_NODE_ID) ||
	    GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_CLUSTER_UUID)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "missing attribute: res-new needs name, minor, node-id and cluster-uuid");
		return -EINVAL;
	}
	p.name = nla_data(a[PRBD_ATTR_NAME]);
	p.minor = nla_get_u32(a[PRBD_ATTR_MINOR]);
	p.node_id = nla_get_u32(a[PRBD_ATTR_NODE_ID]);
	p.cluster_uuid = nla_data(a[PRBD_ATTR_CLUSTER_UUID]);
	if (a[PRBD_ATTR_SECRET]) {
		p.secret = nla_data(a[PRBD_ATTR_SECRET]);
		p.secret_len = nla_len(a[PRBD_ATTR_SECRET]);
	}
	p.on_no_quorum = a[PRBD_ATTR_ON_NO_QUORUM] ?
		nla_get_u32(a[PRBD_ATTR_ON_NO_QUORUM]) :
		PRBD_ON_NO_QUORUM_BLOCK;
	p.resync_rate = a[PRBD_ATTR_RESYNC_RATE] ?
		nla_get_u32(a[PRBD_ATTR_RESYNC_RATE]) : 0;
	p.self_role = a[PRBD_ATTR_MEMBER_ROLE] ?
		nla_get_u32(a[PRBD_ATTR_MEMBER_ROLE]) : PRBD_MEMBER_ROLE_VOTER;
	p.allow_no_secret = nla_get_flag(a[PRBD_ATTR_ALLOW_NO_SECRET]);
	err = prbd_nl_parse_listen(info, &listen);
	if (err < 0)
		return err;
	if (err)
		p.listen = &listen;

	mutex_lock(&prbd_cfg_mutex);
	err = prbd_res_create(&p, info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

static int prbd_nl_res_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct prbd_resource *res;
	int err;

	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	err = IS_ERR(res) ? PTR_ERR(res) : prbd_res_destroy(res, info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

static int prbd_nl_res_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct prbd_resource *res;
	struct sk_buff *msg;
	int err;

	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	if (IS_ERR(res)) {
		err = PTR_ERR(res);
		goto out_unlock;
	}
	msg = genlmsg_new(prbd_nl_res_size(res), GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out_unlock;
	}
	err = prbd_nl_fill_res(msg, res, info->snd_portid, info->snd_seq, 0,
			       PRBD_CMD_RES_GET, -1,
			       netlink_capable(skb, CAP_NET_ADMIN));
	if (err) {
		nlmsg_free(msg);
		goto out_unlock;
	}
	mutex_unlock(&prbd_cfg_mutex);
	return genlmsg_reply(msg, info);

out_unlock:
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

/*
 * A dump filtered by a name that does not exist fails here, so the caller
 * gets an error ack rather than an empty dump.  (6.1 passes no extack to
 * a dump's start callback; NL_SET_ERR_MSG_ATTR() copes with NULL.)
 */
static int prbd_nl_res_get_start(struct netlink_callback *cb)
{
	const struct nlattr *name = prbd_genl_dump_attrs(cb)[PRBD_ATTR_NAME];
	int err = 0;

	cb->min_dump_alloc = prbd_nl_res_max_size();
	if (!name)
		return 0;
	mutex_lock(&prbd_cfg_mutex);
	if (!prbd_res_find(nla_data(name))) {
		NL_SET_ERR_MSG_ATTR(cb->extack, name,
				    "prbd: no resource of that name");
		err = -ENOENT;
	}
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

/* cb->args[0]: number of resources already dumped */
static int prbd_nl_res_get_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	const struct nlattr *name = prbd_genl_dump_attrs(cb)[PRBD_ATTR_NAME];
	struct prbd_resource *res;
	long idx = 0;
	int err = 0;

	mutex_lock(&prbd_cfg_mutex);
	list_for_each_entry(res, &prbd_resources, list) {
		if (name && strcmp(res->name, nla_data(name)))
			continue;
		if (idx++ < cb->args[0])
			continue;
		err = prbd_nl_fill_res(skb, res,
				       NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       PRBD_CMD_RES_GET, -1,
				       netlink_capable(cb->skb, CAP_NET_ADMIN));
		if (err) {
			idx--;
			break;
		}
	}
	cb->args[0] = idx;
	mutex_unlock(&prbd_cfg_mutex);
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

static int prbd_nl_res_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *secret = info->attrs[PRBD_ATTR_SECRET];
	struct nlattr *onq = info->attrs[PRBD_ATTR_ON_NO_QUORUM];
	struct nlattr *rate = info->attrs[PRBD_ATTR_RESYNC_RATE];
	struct sockaddr_storage listen;
	struct prbd_resource *res;
	u32 onq_val, rate_val;
	bool has_listen;
	int err;

	if (onq)
		onq_val = nla_get_u32(onq);
	if (rate)
		rate_val = nla_get_u32(rate);
	err = prbd_nl_parse_listen(info, &listen);
	if (err < 0)
		return err;
	has_listen = err;
	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	if (IS_ERR(res))
		err = PTR_ERR(res);
	else
		err = prbd_res_set(res, onq ? &onq_val : NULL,
				   secret ? nla_data(secret) : NULL,
				   secret ? nla_len(secret) : 0,
				   has_listen ? &listen : NULL,
				   rate ? &rate_val : NULL, info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

static int prbd_nl_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct prbd_resource *res;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_BACKING_DEV)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "missing attribute: backing device");
		return -EINVAL;
	}
	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	if (IS_ERR(res))
		err = PTR_ERR(res);
	else
		err = prbd_res_attach(res,
				      nla_data(info->attrs[PRBD_ATTR_BACKING_DEV]),
				      info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

static int prbd_nl_detach_doit(struct sk_buff *skb, struct genl_info *info)
{
	bool force = nla_get_flag(info->attrs[PRBD_ATTR_FORCE]);
	struct prbd_resource *res;
	int err;

	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	err = IS_ERR(res) ? PTR_ERR(res) :
		prbd_res_detach(res, force, info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

/* up, down, primary, secondary */
static int prbd_nl_state_doit(struct sk_buff *skb, struct genl_info *info)
{
	bool force = nla_get_flag(info->attrs[PRBD_ATTR_FORCE]);
	struct prbd_resource *res;
	int err;

	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	if (IS_ERR(res)) {
		err = PTR_ERR(res);
		goto out_unlock;
	}
	switch (info->genlhdr->cmd) {
	case PRBD_CMD_UP:
		err = prbd_res_up(res, info->attrs[PRBD_ATTR_DURABILITY] ?
				  nla_get_u32(info->attrs[PRBD_ATTR_DURABILITY]) :
				  PRBD_DURABILITY_STRICT,
				  info->attrs[PRBD_ATTR_DURABILITY],
				  info->extack);
		break;
	case PRBD_CMD_DOWN:
		err = prbd_res_down(res, info->extack);
		break;
	case PRBD_CMD_PRIMARY:
		err = prbd_res_set_role(res, PRBD_ROLE_PRIMARY, force,
					info->extack);
		break;
	case PRBD_CMD_SECONDARY:
		err = prbd_res_set_role(res, PRBD_ROLE_SECONDARY, false,
					info->extack);
		break;
	default:
		err = -EOPNOTSUPP;
		break;
	}
out_unlock:
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

/* Is @attrtype present more than once at the top level of the request? */
static bool prbd_nl_attr_repeated(const struct genl_info *info, int attrtype)
{
	const struct nlattr *nla;
	int rem, n = 0;

	nla_for_each_attr(nla, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem)
		if (nla_type(nla) == attrtype)
			n++;
	return n > 1;
}

static int prbd_nl_parse_peer(struct genl_info *info, u32 *node_id,
			      struct sockaddr_storage *addr,
			      enum prbd_member_role *mrole)
{
	struct nlattr *nest = info->attrs[PRBD_ATTR_PEER];
	struct nlattr *tb[PRBD_PEER_ATTR_MAX + 1];
	struct sockaddr_in6 *sin6 = (void *)addr;
	struct sockaddr_in *sin = (void *)addr;
	struct nlattr *a4, *a6;
	u16 port;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_PEER)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing attribute: peer");
		return -EINVAL;
	}
	if (prbd_nl_attr_repeated(info, PRBD_ATTR_PEER)) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest,
				    "prbd: peer-add takes exactly one peer");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, PRBD_PEER_ATTR_MAX, nest,
			       prbd_nl_peer_policy, info->extack);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, PRBD_PEER_ATTR_NODE_ID) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, PRBD_PEER_ATTR_PORT)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "missing attribute: peer needs node-id and port");
		return -EINVAL;
	}
	a4 = tb[PRBD_PEER_ATTR_ADDR4];
	a6 = tb[PRBD_PEER_ATTR_ADDR6];
	if (!a4 == !a6) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest,
				    "prbd: peer needs exactly one of addr4 and addr6");
		return -EINVAL;
	}

	*node_id = nla_get_u32(tb[PRBD_PEER_ATTR_NODE_ID]);
	port = nla_get_u16(tb[PRBD_PEER_ATTR_PORT]);
	*mrole = tb[PRBD_PEER_ATTR_MEMBER_ROLE] ?
		nla_get_u32(tb[PRBD_PEER_ATTR_MEMBER_ROLE]) :
		PRBD_MEMBER_ROLE_VOTER;
	memset(addr, 0, sizeof(*addr));
	if (a4) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = nla_get_in_addr(a4);
		sin->sin_port = htons(port);
		if (ipv4_is_zeronet(sin->sin_addr.s_addr) ||
		    ipv4_is_multicast(sin->sin_addr.s_addr) ||
		    ipv4_is_lbcast(sin->sin_addr.s_addr)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a4,
					    "prbd: peer address must be a unicast address");
			return -EINVAL;
		}
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = nla_get_in6_addr(a6);
		sin6->sin6_port = htons(port);
		if (ipv6_addr_any(&sin6->sin6_addr) ||
		    ipv6_addr_is_multicast(&sin6->sin6_addr)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a6,
					    "prbd: peer address must be a unicast address");
			return -EINVAL;
		}
	}
	return 0;
}

static int prbd_nl_peer_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sockaddr_storage addr;
	enum prbd_member_role mrole;
	struct prbd_resource *res;
	u32 node_id;
	int err;

	err = prbd_nl_parse_peer(info, &node_id, &addr, &mrole);
	if (err)
		return err;
	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	err = IS_ERR(res) ? PTR_ERR(res) :
		prbd_peer_add(res, node_id, &addr, mrole, info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

static int prbd_nl_peer_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct prbd_resource *res;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_NODE_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing attribute: node-id");
		return -EINVAL;
	}
	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	err = IS_ERR(res) ? PTR_ERR(res) :
		prbd_peer_del(res, nla_get_u32(info->attrs[PRBD_ATTR_NODE_ID]),
			      info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

/**
 * prbd_nl_parse_range() - the optional byte range of verify and resync
 * @info: the request
 * @start: set to range-start, 0 without a range
 * @len: set to range-len, 0 without a range (the whole data area)
 *
 * Return: 0, or -EINVAL when only one of range-start and range-len is
 * given, either is not a multiple of 4096, range-len is 0, or their sum
 * overflows.  Whether the range lies in the data area is checked by
 * prbd_res_verify() and prbd_res_resync().
 */
static int prbd_nl_parse_range(struct genl_info *info, u64 *start, u64 *len)
{
	struct nlattr *s = info->attrs[PRBD_ATTR_RANGE_START];
	struct nlattr *l = info->attrs[PRBD_ATTR_RANGE_LEN];
	u64 end;

	*start = 0;
	*len = 0;
	if (!s && !l)
		return 0;
	if (!s || !l) {
		NL_SET_ERR_MSG_ATTR(info->extack, s ?: l,
				    "prbd: range-start and range-len go together");
		return -EINVAL;
	}
	*start = nla_get_u64(s);
	*len = nla_get_u64(l);
	if (!IS_ALIGNED(*start, PRBD_NL_RANGE_ALIGN)) {
		NL_SET_ERR_MSG_ATTR(info->extack, s,
				    "prbd: range-start must be a multiple of 4096 bytes");
		return -EINVAL;
	}
	if (!*len) {
		NL_SET_ERR_MSG_ATTR(info->extack, l,
				    "prbd: range-len must not be 0 (omit the range for the whole device)");
		return -EINVAL;
	}
	if (!IS_ALIGNED(*len, PRBD_NL_RANGE_ALIGN)) {
		NL_SET_ERR_MSG_ATTR(info->extack, l,
				    "prbd: range-len must be a multiple of 4096 bytes");
		return -EINVAL;
	}
	if (check_add_overflow(*start, *len, &end)) {
		NL_SET_ERR_MSG_ATTR(info->extack, l,
				    "prbd: range-start + range-len overflows");
		return -EINVAL;
	}
	return 0;
}

static int prbd_nl_verify_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct prbd_resource *res;
	u64 start, len;
	int err;

	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	if (IS_ERR(res)) {
		err = PTR_ERR(res);
		goto out_unlock;
	}
	err = prbd_nl_parse_range(info, &start, &len);
	if (!err)
		err = prbd_res_verify(res, start, len, info->extack);
out_unlock:
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

static int prbd_nl_resync_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct prbd_resource *res;
	u64 start, len;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_NODE_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "missing attribute: node-id (the node to resync)");
		return -EINVAL;
	}
	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	if (IS_ERR(res)) {
		err = PTR_ERR(res);
		goto out_unlock;
	}
	err = prbd_nl_parse_range(info, &start, &len);
	if (!err)
		err = prbd_res_resync(res,
				      nla_get_u32(info->attrs[PRBD_ATTR_NODE_ID]),
				      start, len, info->extack);
out_unlock:
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

/* node-add, node-del, node-replace, learner-add, leader-transfer: validated
 * here, carried out by the replication code's hook.
 */
static int prbd_nl_admin_doit(struct sk_buff *skb, struct genl_info *info)
{
	u8 cmd = info->genlhdr->cmd;
	struct sockaddr_storage addr;
	enum prbd_member_role mrole;
	struct prbd_resource *res;
	u32 new_node_id = 0, id;
	bool have_addr = false;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_NODE_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing attribute: node-id");
		return -EINVAL;
	}
	/* only node-add and learner-add's policy reaches PRBD_ATTR_PEER:
	 * info->attrs has maxattr + 1 entries
	 */
	if ((cmd == PRBD_CMD_NODE_ADD || cmd == PRBD_CMD_LEARNER_ADD) &&
	    info->attrs[PRBD_ATTR_PEER]) {
		err = prbd_nl_parse_peer(info, &id, &addr, &mrole);
		if (err)
			return err;
		if (id != nla_get_u32(info->attrs[PRBD_ATTR_NODE_ID])) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "the peer nest names another node-id");
			return -EINVAL;
		}
		have_addr = true;
	}
	if (cmd == PRBD_CMD_NODE_REPLACE) {
		if (GENL_REQ_ATTR_CHECK(info, PRBD_ATTR_NEW_NODE_ID)) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "missing attribute: new-node-id");
			return -EINVAL;
		}
		new_node_id = nla_get_u32(info->attrs[PRBD_ATTR_NEW_NODE_ID]);
	}
	mutex_lock(&prbd_cfg_mutex);
	res = prbd_nl_get_res(info);
	err = IS_ERR(res) ? PTR_ERR(res) :
		prbd_res_admin(res, cmd,
			       nla_get_u32(info->attrs[PRBD_ATTR_NODE_ID]),
			       new_node_id, have_addr ? &addr : NULL,
			       info->extack);
	mutex_unlock(&prbd_cfg_mutex);
	return err;
}

static const struct genl_ops prbd_nl_ops[] = {
	{
		.cmd = PRBD_CMD_RES_NEW,
		.doit = prbd_nl_res_new_doit,
		.policy = prbd_nl_res_new_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_res_new_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_RES_DEL,
		.doit = prbd_nl_res_del_doit,
		.policy = prbd_nl_name_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_RES_GET,
		.doit = prbd_nl_res_get_doit,
		.start = prbd_nl_res_get_start,
		.dumpit = prbd_nl_res_get_dumpit,
		.policy = prbd_nl_name_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_policy) - 1,
	},
	{
		.cmd = PRBD_CMD_RES_SET,
		.doit = prbd_nl_res_set_doit,
		.policy = prbd_nl_res_set_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_res_set_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_ATTACH,
		.doit = prbd_nl_attach_doit,
		.policy = prbd_nl_attach_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_attach_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_DETACH,
		.doit = prbd_nl_detach_doit,
		.policy = prbd_nl_name_force_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_force_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_UP,
		.doit = prbd_nl_state_doit,
		.policy = prbd_nl_up_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_up_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_DOWN,
		.doit = prbd_nl_state_doit,
		.policy = prbd_nl_name_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_PRIMARY,
		.doit = prbd_nl_state_doit,
		.policy = prbd_nl_name_force_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_force_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_SECONDARY,
		.doit = prbd_nl_state_doit,
		.policy = prbd_nl_name_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_PEER_ADD,
		.doit = prbd_nl_peer_add_doit,
		.policy = prbd_nl_peer_add_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_peer_add_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_PEER_DEL,
		.doit = prbd_nl_peer_del_doit,
		.policy = prbd_nl_name_node_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_node_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_NODE_ADD,
		.doit = prbd_nl_admin_doit,
		.policy = prbd_nl_node_add_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_node_add_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_NODE_DEL,
		.doit = prbd_nl_admin_doit,
		.policy = prbd_nl_name_node_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_node_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_NODE_REPLACE,
		.doit = prbd_nl_admin_doit,
		.policy = prbd_nl_node_replace_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_node_replace_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_LEARNER_ADD,
		.doit = prbd_nl_admin_doit,
		.policy = prbd_nl_node_add_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_node_add_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_LEADER_TRANSFER,
		.doit = prbd_nl_admin_doit,
		.policy = prbd_nl_name_node_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_name_node_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_VERIFY,
		.doit = prbd_nl_verify_doit,
		.policy = prbd_nl_verify_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_verify_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PRBD_CMD_RESYNC,
		.doit = prbd_nl_resync_doit,
		.policy = prbd_nl_resync_policy,
		.maxattr = ARRAY_SIZE(prbd_nl_resync_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family prbd_nl_family = {
	.name = PRBD_FAMILY_NAME,
	.version = PRBD_FAMILY_VERSION,
	.module = THIS_MODULE,
	.ops = prbd_nl_ops,
	.n_ops = ARRAY_SIZE(prbd_nl_ops),
	.mcgrps = prbd_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(prbd_nl_mcgrps),
};

/**
 * prbd_nl_init() - register the generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int prbd_nl_init(void)
{
	int err;

	prbd_nl_wq = alloc_workqueue("prbd_ntf", WQ_UNBOUND, 1);
	if (!prbd_nl_wq)
		return -ENOMEM;
	err = genl_register_family(&prbd_nl_family);
	if (err)
		goto out_destroy_wq;
	WRITE_ONCE(prbd_nl_registered, true);
	return 0;

out_destroy_wq:
	destroy_workqueue(prbd_nl_wq);
	return err;
}

/**
 * prbd_nl_exit() - unregister the family; no notification is sent after
 */
void prbd_nl_exit(void)
{
	WRITE_ONCE(prbd_nl_registered, false);
	destroy_workqueue(prbd_nl_wq);
	genl_unregister_family(&prbd_nl_family);
}
