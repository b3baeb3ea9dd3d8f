// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: resources, backing devices and peers - the configuration state
 * that the netlink commands manipulate.  Every function here that changes
 * state validates first and changes nothing when it fails.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/ipv6.h>

#include "prbd_int.h"

DEFINE_MUTEX(prbd_cfg_mutex);	/* the resource list and all configuration */
LIST_HEAD(prbd_resources);

/**
 * prbd_res_name_valid() - is @name acceptable as a resource name?
 * @name: NUL-terminated name
 *
 * Return: true for 1..PRBD_NAME_SIZE-1 characters of [A-Za-z0-9_.-] that
 * do not start with '.' or '-'.
 */
bool prbd_res_name_valid(const char *name)
{
	size_t i, len = strnlen(name, PRBD_NAME_SIZE);

	if (!len || len >= PRBD_NAME_SIZE || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

/**
 * prbd_res_find() - look a resource up by name
 * @name: the name
 *
 * Context: prbd_cfg_mutex held; no reference is taken.
 * Return: the resource or NULL.
 */
struct prbd_resource *prbd_res_find(const char *name)
{
	struct prbd_resource *res;

	lockdep_assert_held(&prbd_cfg_mutex);
	list_for_each_entry(res, &prbd_resources, list)
		if (!strcmp(res->name, name))
			return res;
	return NULL;
}

/**
 * prbd_res_find_minor() - look a resource up by minor
 * @minor: the minor
 *
 * Context: prbd_cfg_mutex held; no reference is taken.
 * Return: the resource or NULL.
 */
struct prbd_resource *prbd_res_find_minor(u32 minor)
{
	struct prbd_resource *res;

	lockdep_assert_held(&prbd_cfg_mutex);
	list_for_each_entry(res, &prbd_resources, list)
		if (res->dev.minor == minor)
			return res;
	return NULL;
}

/**
 * prbd_res_get_by_name() - look a resource up and take a reference
 * @name: the name
 *
 * Return: the resource (release with prbd_res_put()) or NULL.
 */
struct prbd_resource *prbd_res_get_by_name(const char *name)
{
	struct prbd_resource *res;

	mutex_lock(&prbd_cfg_mutex);
	res = prbd_res_find(name);
	if (res)
		prbd_res_get(res);
	mutex_unlock(&prbd_cfg_mutex);
	return res;
}

void prbd_res_get(struct prbd_resource *res)
{
	kref_get(&res->kref);
}

static void prbd_res_release(struct kref *kref)
{
	struct prbd_resource *res = container_of(kref, struct prbd_resource,
						 kref);

	WARN_ON(res->backing);
	WARN_ON(!list_empty(&res->peers));
	memzero_explicit(res->secret, sizeof(res->secret));
	kfree(res);
}

void prbd_res_put(struct prbd_resource *res)
{
	kref_put(&res->kref, prbd_res_release);
}

/**
 * prbd_res_create() - create a resource
 * @p: its parameters
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0, -EINVAL, -EEXIST (name or minor taken) or -ENOMEM.
 */
int prbd_res_create(const struct prbd_res_params *p,
		    struct netlink_ext_ack *extack)
{
	static const u8 zero_uuid[PRBD_UUID_LEN];
	struct prbd_resource *res;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (!prbd_res_name_valid(p->name)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "invalid resource name: use 1-63 of [A-Za-z0-9_.-], not starting with '.' or '-'");
		return -EINVAL;
	}
	if (!memcmp(p->cluster_uuid, zero_uuid, PRBD_UUID_LEN)) {
		NL_SET_ERR_MSG_MOD(extack, "cluster UUID must not be all zero");
		return -EINVAL;
	}
	if (p->secret_len > PRBD_SECRET_MAX_LEN)
		return -EINVAL;
	if (prbd_res_find(p->name)) {
		NL_SET_ERR_MSG_MOD(extack, "a resource of that name exists");
		return -EEXIST;
	}
	if (prbd_res_find_minor(p->minor)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "minor number is used by another resource");
		return -EEXIST;
	}

	res = kzalloc(sizeof(*res), GFP_KERNEL);
	if (!res)
		return -ENOMEM;
	kref_init(&res->kref);
	strscpy(res->name, p->name, sizeof(res->name));
	res->node_id = p->node_id;
	memcpy(res->cluster_uuid, p->cluster_uuid, PRBD_UUID_LEN);
	if (p->secret_len)
		memcpy(res->secret, p->secret, p->secret_len);
	res->secret_len = p->secret_len;
	res->allow_no_secret = p->allow_no_secret;
	res->on_no_quorum = p->on_no_quorum;
	res->resync_rate = p->resync_rate;
	if (p->listen)
		res->listen = *p->listen;
	res->self_role = p->self_role;
	res->state = PRBD_RES_STATE_DOWN;
	res->role = PRBD_ROLE_SECONDARY;
	res->disk_state = PRBD_DISK_STATE_DISKLESS;
	INIT_LIST_HEAD(&res->peers);
	res->dev.minor = p->minor;
	INIT_WORK(&res->ntf_work, prbd_nl_ntf_work);
	spin_lock_init(&res->lock);
	res->paxos_role = PRBD_PAXOS_ROLE_NONE;

	list_add_tail(&res->list, &prbd_resources);
	pr_info("%s: created (minor %u, node %u)\n", res->name, p->minor,
		p->node_id);
	prbd_nl_notify_res(res, PRBD_EVENT_CREATE);
	return 0;
}

/**
 * prbd_res_destroy() - destroy a resource that is down, diskless, secondary
 * @res: the resource; the list's reference is dropped
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0 or -EBUSY.
 */
int prbd_res_destroy(struct prbd_resource *res,
		     struct netlink_ext_ack *extack)
{
	struct prbd_peer *peer, *tmp;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (res->state != PRBD_RES_STATE_DOWN) {
		NL_SET_ERR_MSG_MOD(extack, "resource is up; take it down first");
		return -EBUSY;
	}
	if (res->role != PRBD_ROLE_SECONDARY) {
		NL_SET_ERR_MSG_MOD(extack, "resource is primary");
		return -EBUSY;
	}
	if (res->backing) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a backing device is attached; detach it first");
		return -EBUSY;
	}

	prbd_nl_notify_res(res, PRBD_EVENT_DESTROY);
	list_for_each_entry_safe(peer, tmp, &res->peers, list) {
		list_del_rcu(&peer->list);
		kfree_rcu(peer, rcu);
	}
	res->nr_peers = 0;
	list_del_init(&res->list);
	pr_info("%s: destroyed\n", res->name);
	prbd_res_put(res);
	return 0;
}

/**
 * prbd_res_set() - change per-resource settings
 * @res: the resource
 * @on_no_quorum: new policy or NULL
 * @secret: new secret or NULL
 * @secret_len: its length
 * @listen: new local listen address (validated, port set) or NULL
 * @resync_rate: new resync rate cap in KiB/s (0: none) or NULL
 * @extack: error message
 *
 * The listen address can only be changed while the resource is down; the
 * resync rate cap at any time (the resync code reads it with READ_ONCE()).
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0, -EINVAL or -EBUSY (@listen given while up); nothing is
 * changed on error.
 */
int prbd_res_set(struct prbd_resource *res, const u32 *on_no_quorum,
		 const u8 *secret, u32 secret_len,
		 const struct sockaddr_storage *listen, const u32 *resync_rate,
		 struct netlink_ext_ack *extack)
{
	lockdep_assert_held(&prbd_cfg_mutex);
	if (!on_no_quorum && !secret && !listen && !resync_rate) {
		NL_SET_ERR_MSG_MOD(extack, "nothing to change");
		return -EINVAL;
	}
	if (secret_len > PRBD_SECRET_MAX_LEN)
		return -EINVAL;
	if (listen && res->state != PRBD_RES_STATE_DOWN) {
		NL_SET_ERR_MSG_MOD(extack,
				   "resource is up; take it down to change the listen address");
		return -EBUSY;
	}
	if (on_no_quorum)
		res->on_no_quorum = *on_no_quorum;
	if (secret) {
		memzero_explicit(res->secret, sizeof(res->secret));
		memcpy(res->secret, secret, secret_len);
		res->secret_len = secret_len;
	}
	if (listen)
		res->listen = *listen;
	if (resync_rate)
		WRITE_ONCE(res->resync_rate, *resync_rate);
	prbd_nl_notify_res(res, PRBD_EVENT_CHANGE);
	return 0;
}

static void prbd_res_open_err(int err, struct netlink_ext_ack *extack)
{
	switch (err) {
	case -ENOENT:
		NL_SET_ERR_MSG_MOD(extack, "backing device does not exist");
		break;
	case -ENOTBLK:
		NL_SET_ERR_MSG_MOD(extack, "backing device is not a block device");
		break;
	case -EBUSY:
		NL_SET_ERR_MSG_MOD(extack,
				   "backing device is in use (mounted, or opened exclusively)");
		break;
	case -EACCES:
	case -EROFS:
		NL_SET_ERR_MSG_MOD(extack, "backing device cannot be opened for writing");
		break;
	default:
		NL_SET_ERR_MSG_MOD(extack, "cannot open the backing device");
		break;
	}
}

/**
 * prbd_res_attach() - attach a backing device
 * @res: the resource; must be down and diskless
 * @path: path of the block device
 * @extack: error message; names the bad field for invalid metadata
 *
 * Opens @path exclusively, validates its metadata (nothing is written) and
 * checks that it belongs to this resource (cluster UUID, node id).
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0 or a negative errno; the resource is unchanged on error.
 */
int prbd_res_attach(struct prbd_resource *res, const char *path,
		    struct netlink_ext_ack *extack)
{
	struct prbd_acceptor_state st;
	struct prbd_backing *b;
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (res->backing) {
		NL_SET_ERR_MSG_MOD(extack, "a backing device is already attached");
		return -EBUSY;
	}
	if (res->state != PRBD_RES_STATE_DOWN) {
		NL_SET_ERR_MSG_MOD(extack, "resource is up; take it down first");
		return -EBUSY;
	}
	if (path[0] != '/') {
		NL_SET_ERR_MSG_MOD(extack,
				   "backing device must be an absolute path");
		return -EINVAL;
	}

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->path = kstrdup(path, GFP_KERNEL);
	if (!b->path) {
		err = -ENOMEM;
		goto out_free_backing;
	}

	err = prbd_bdev_open(&b->bd, path, res);
	if (err) {
		pr_err("%s: cannot open %s: %d\n", res->name, path, err);
		prbd_res_open_err(err, extack);
		goto out_free_path;
	}
	if (bdev_read_only(b->bd.bdev)) {
		NL_SET_ERR_MSG_MOD(extack, "backing device is read-only");
		err = -EROFS;
		goto out_close_bdev;
	}

	err = prbd_md_read(b->bd.bdev, &b->md, extack);
	if (err)
		goto out_close_bdev;

	if (memcmp(b->md.sb.cluster_uuid, res->cluster_uuid, PRBD_UUID_LEN)) {
		pr_err("%s: %s: superblock cluster_uuid %pUb, resource has %pUb\n",
		       res->name, path, b->md.sb.cluster_uuid,
		       res->cluster_uuid);
		NL_SET_ERR_MSG_MOD(extack,
				   "superblock field 'cluster_uuid' does not match the resource");
		err = -EINVAL;
		goto out_close_bdev;
	}
	if (le32_to_cpu(b->md.sb.node_id) != res->node_id) {
		pr_err("%s: %s: superblock node_id %u, resource has %u\n",
		       res->name, path, le32_to_cpu(b->md.sb.node_id),
		       res->node_id);
		NL_SET_ERR_MSG_MOD(extack,
				   "superblock field 'node_id' does not match the resource");
		err = -EINVAL;
		goto out_close_bdev;
	}

	res->backing = b;
	res->disk_state = PRBD_DISK_STATE_ATTACHED;

	prbd_md_get_acceptor(&b->md, &st);
	spin_lock(&res->lock);
	res->ballot = st.promised_ballot;
	res->config_epoch = st.config_epoch;
	res->commit_index = st.commit_index;
	res->applied_index = st.applied_index;
	res->removed_at = st.removed_at;	/* status shows it at once */
	spin_unlock(&res->lock);

	pr_info("%s: attached %s (%llu bytes of data)\n", res->name, path,
		b->md.data_size);
	prbd_nl_notify_res(res, PRBD_EVENT_CHANGE);
	return 0;

out_close_bdev:
	prbd_bdev_close(&b->bd);
out_free_path:
	kfree(b->path);
out_free_backing:
	kfree(b);
	return err;
}

static void prbd_res_drop_backing(struct prbd_resource *res)
{
	struct prbd_backing *b = res->backing;

	res->backing = NULL;
	res->disk_state = PRBD_DISK_STATE_DISKLESS;
	prbd_bdev_close(&b->bd);
	pr_info("%s: detached %s\n", res->name, b->path);
	kfree(b->path);
	kfree(b);
}

/**
 * prbd_res_detach() - detach the backing device
 * @res: the resource
 * @force: detach even while up: replication stops first, as by down (never
 *	   while primary or while the device is open)
 * @extack: error message
 *
 * The data path uses the backing device until it has stopped: it is never
 * detached under a running data path.
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0, -ENODEV (nothing attached) or -EBUSY.
 */
int prbd_res_detach(struct prbd_resource *res, bool force,
		    struct netlink_ext_ack *extack)
{
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (!res->backing) {
		NL_SET_ERR_MSG_MOD(extack, "no backing device is attached");
		return -ENODEV;
	}
	if (res->role == PRBD_ROLE_PRIMARY) {
		NL_SET_ERR_MSG_MOD(extack, "resource is primary");
		return -EBUSY;
	}
	if (res->state == PRBD_RES_STATE_UP && !force) {
		NL_SET_ERR_MSG_MOD(extack,
				   "resource is up; take it down first or use force");
		return -EBUSY;
	}
	if (res->state == PRBD_RES_STATE_UP) {
		err = prbd_res_down(res, extack);
		if (err)
			return err;
	}
	prbd_res_drop_backing(res);
	prbd_nl_notify_res(res, PRBD_EVENT_CHANGE);
	return 0;
}

/*
 * durability = flush is not finished in the module: a node told of a
 * newer epoch (a lossy election elsewhere) resyncs like any node behind,
 * copying only the chunks the leader wrote since its applied slot,
 * instead of being reset (the log of the dropped epoch discarded, the
 * whole data area copied from a member of the new one).  Until then a
 * crash of a majority may leave replicas that differ, so it is refused
 * unless asked for.
 */
static bool prbd_experimental_flush;
module_param_named(experimental_flush, prbd_experimental_flush, bool, 0644);
MODULE_PARM_DESC(experimental_flush,
		 "allow durability = flush at up; unsafe after a crash of a majority until issue 13 is finished (default 0)");

/**
 * prbd_res_up() - start replication
 * @res: the resource; needs a backing device
 * @durability: strict or flush (see enum prbd_durability)
 * @attr: the attribute that asked for @durability, for the error, or NULL
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0 (also when already up with the same durability), -EBUSY (up
 * with another durability), -EOPNOTSUPP (flush without experimental_flush),
 * -ENODEV or prbd_dp_up()'s error; nothing changed on an error.
 */
int prbd_res_up(struct prbd_resource *res, enum prbd_durability durability,
		const struct nlattr *attr, struct netlink_ext_ack *extack)
{
	enum prbd_durability old = res->durability;
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (res->state == PRBD_RES_STATE_UP) {
		if (durability == res->durability)
			return 0;
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "already up with another durability; down first");
		return -EBUSY;
	}
	if (durability == PRBD_DURABILITY_FLUSH &&
	    !READ_ONCE(prbd_experimental_flush)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "durability flush is experimental: load prbd with experimental_flush=1 (unsafe after a crash of a majority until issue 13 is finished)");
		return -EOPNOTSUPP;
	}
	if (!res->backing) {
		NL_SET_ERR_MSG_MOD(extack, "no backing device is attached");
		return -ENODEV;
	}
	res->durability = durability;	/* prbd_dp_up() reads it */
	err = prbd_dp_up(res, extack);
	if (err) {
		res->durability = old;
		return err;
	}
	if (durability == PRBD_DURABILITY_FLUSH)
		pr_warn("%s: durability flush (experimental): a completed write is durable on a majority only after a flush\n",
			res->name);
	res->state = PRBD_RES_STATE_UP;
	pr_info("%s: up\n", res->name);
	prbd_nl_notify_res(res, PRBD_EVENT_CHANGE);
	return 0;
}

/**
 * prbd_res_down() - stop replication
 * @res: the resource; must be secondary
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0 (also when already down) or -EBUSY (primary, or the device is
 * open: prbd_dp_down() refuses).
 */
int prbd_res_down(struct prbd_resource *res, struct netlink_ext_ack *extack)
{
	struct prbd_peer *peer;
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (res->state == PRBD_RES_STATE_DOWN)
		return 0;
	if (res->role == PRBD_ROLE_PRIMARY) {
		NL_SET_ERR_MSG_MOD(extack,
				   "resource is primary; make it secondary first");
		return -EBUSY;
	}
	err = prbd_dp_down(res, extack);
	if (err)
		return err;
	res->state = PRBD_RES_STATE_DOWN;
	list_for_each_entry(peer, &res->peers, list)
		peer->cstate = PRBD_CONN_STATE_STANDALONE;
	spin_lock(&res->lock);
	res->paxos_role = PRBD_PAXOS_ROLE_NONE;
	res->leader_id = 0;
	spin_unlock(&res->lock);
	pr_info("%s: down\n", res->name);
	prbd_nl_notify_res(res, PRBD_EVENT_CHANGE);
	return 0;
}

/**
 * prbd_res_set_role() - switch between primary and secondary
 * @res: the resource
 * @role: the new role
 * @force: passed to prbd_dp_set_role() (e.g. primary without quorum)
 * @extack: error message
 *
 * A node auto-promoted by a read-write open keeps res->role secondary:
 * secondary still asks prbd_dp_set_role() while up, which refuses while
 * the device is open read-write.
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0 (also when the role is unchanged), -ENOTCONN when down, or
 * prbd_dp_set_role()'s error.
 */
int prbd_res_set_role(struct prbd_resource *res, enum prbd_role role,
		      bool force, struct netlink_ext_ack *extack)
{
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (res->role == role &&
	    (role == PRBD_ROLE_PRIMARY || res->state != PRBD_RES_STATE_UP))
		return 0;
	if (role == PRBD_ROLE_PRIMARY && res->state != PRBD_RES_STATE_UP) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down; bring it up first");
		return -ENOTCONN;
	}
	err = prbd_dp_set_role(res, role, force, extack);
	if (err)
		return err;
	if (res->role == role)
		return 0;
	res->role = role;
	pr_info("%s: %s\n", res->name,
		role == PRBD_ROLE_PRIMARY ? "primary" : "secondary");
	prbd_nl_notify_res(res, PRBD_EVENT_CHANGE);
	return 0;
}

static bool prbd_addr_equal(const struct sockaddr_storage *a,
			    const struct sockaddr_storage *b);

/*
 * node-add and learner-add given an address: the node may be a peer
 * already at that very address, or no peer yet, at an address no other
 * node (nor this one) uses.  Nothing changes here.
 */
static int prbd_res_admin_addr(struct prbd_resource *res, enum prbd_cmd cmd,
			       u32 node_id,
			       const struct sockaddr_storage *addr,
			       struct netlink_ext_ack *extack)
{
	struct prbd_peer *peer;

	if (cmd != PRBD_CMD_NODE_ADD && cmd != PRBD_CMD_LEARNER_ADD) {
		NL_SET_ERR_MSG_MOD(extack,
				   "an address is only taken by node-add and learner-add");
		return -EINVAL;
	}
	if (node_id == res->node_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "node-id is the local node; its address is in the resource file");
		return -EINVAL;
	}
	if (prbd_addr_equal(&res->listen, addr)) {
		prbd_nl_err_fmt(extack,
				"refused: %pISpc is this node's own address",
				addr);
		return -EEXIST;
	}
	list_for_each_entry(peer, &res->peers, list) {
		if (peer->node_id == node_id) {
			if (prbd_addr_equal(&peer->addr, addr))
				return 0;
			prbd_nl_err_fmt(extack,
					"refused: node %u is known at %pISpc; give that address or none",
					node_id, &peer->addr);
			return -EEXIST;
		}
		if (prbd_addr_equal(&peer->addr, addr)) {
			prbd_nl_err_fmt(extack,
					"refused: %pISpc is the address of node %u",
					addr, peer->node_id);
			return -EEXIST;
		}
	}
	if (res->nr_peers >= PRBD_MAX_PEERS) {
		NL_SET_ERR_MSG_MOD(extack, "too many peers");
		return -ENOSPC;
	}
	return 0;
}

static void prbd_peer_link(struct prbd_resource *res, struct prbd_peer *peer)
{
	list_add_tail_rcu(&peer->list, &res->peers);	/* see prbd_peer */
	res->nr_peers++;
}

/**
 * prbd_res_admin() - membership and leadership commands
 * @res: the resource
 * @cmd: PRBD_CMD_NODE_ADD ... PRBD_CMD_LEADER_TRANSFER
 * @node_id: the node the command is about
 * @new_node_id: replacement node (node-replace), else 0
 * @addr: node-add, learner-add: the node's address, NULL: a peer already
 * @extack: error message
 *
 * A node given with an address that is not a peer yet becomes one (role
 * none, as in a resource file) once the command is accepted, and the
 * transport connects to it; refused, nothing changes.
 *
 * Context: prbd_cfg_mutex held.
 * Return: prbd_member_admin()'s result, -ENOENT for an unknown node, -EINVAL,
 * -EEXIST for an address in use, -ENOTCONN when down.
 */
int prbd_res_admin(struct prbd_resource *res, enum prbd_cmd cmd, u32 node_id,
		   u32 new_node_id, const struct sockaddr_storage *addr,
		   struct netlink_ext_ack *extack)
{
	struct prbd_peer *peer = NULL;
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (addr) {
		err = prbd_res_admin_addr(res, cmd, node_id, addr, extack);
		if (err)
			return err;
	}
	if (node_id != res->node_id && !prbd_peer_find(res, node_id) &&
	    !addr) {
		NL_SET_ERR_MSG_MOD(extack,
				   "node-id is neither the local node nor a peer");
		return -ENOENT;
	}
	if (cmd == PRBD_CMD_NODE_REPLACE) {
		if (node_id == new_node_id) {
			NL_SET_ERR_MSG_MOD(extack,
					   "new-node-id equals the replaced node-id");
			return -EINVAL;
		}
		if (!prbd_peer_find(res, new_node_id)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "new-node-id is not a peer; add it with peer-add first");
			return -ENOENT;
		}
	}
	if (res->state != PRBD_RES_STATE_UP) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down; bring it up first");
		return -ENOTCONN;
	}
	if (addr && !prbd_peer_find(res, node_id)) {
		peer = kzalloc(sizeof(*peer), GFP_KERNEL);
		if (!peer)
			return -ENOMEM;
		peer->node_id = node_id;
		peer->addr = *addr;
		peer->cstate = PRBD_CONN_STATE_STANDALONE;
		peer->mrole = PRBD_MEMBER_ROLE_NONE;
	}
	err = prbd_member_admin(res, cmd, node_id, new_node_id, extack);
	if (err || !peer) {
		kfree(peer);
		return err;
	}
	/* the change runs: the leader reaches the node once the data path knows it */
	prbd_peer_link(res, peer);
	if (prbd_member_peer_added(res, peer, NULL))
		pr_warn("%s: node %u: the transport did not take %pISpc\n",
			res->name, node_id, &peer->addr);
	pr_info("%s: peer %u added at %pISpc by %s\n", res->name, node_id,
		&peer->addr, cmd == PRBD_CMD_NODE_ADD ? "node-add" :
		"learner-add");
	prbd_nl_notify_peer(res, peer, PRBD_EVENT_CREATE);
	return 0;
}

/*
 * Common checks of verify and resync: the resource is up with a backing
 * device, and [@start, @start + @len) lies in its data area (@len 0: all).
 * The netlink layer already checked alignment and overflow.
 */
static int prbd_res_range_check(struct prbd_resource *res, u64 start,
				u64 len, struct netlink_ext_ack *extack)
{
	u64 size;

	if (res->state != PRBD_RES_STATE_UP) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down; bring it up first");
		return -ENOTCONN;
	}
	if (!res->backing) {
		NL_SET_ERR_MSG_MOD(extack, "no backing device is attached");
		return -ENODEV;
	}
	size = res->backing->md.data_size;
	if (len && (start >= size || len > size - start)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "range ends beyond the end of the device");
		return -ERANGE;
	}
	return 0;
}

/**
 * prbd_res_verify() - start an online verify
 * @res: the resource; must be up
 * @start: first byte of the range (a multiple of 4096)
 * @len: bytes (a multiple of 4096), 0 for the whole data area
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: prbd_dp_verify()'s result, -ENOTCONN when down, -ENODEV without a
 * backing device, -ERANGE for a range beyond the data area.
 */
int prbd_res_verify(struct prbd_resource *res, u64 start, u64 len,
		    struct netlink_ext_ack *extack)
{
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	err = prbd_res_range_check(res, start, len, extack);
	if (err)
		return err;
	return prbd_dp_verify(res, start, len, extack);
}

/**
 * prbd_res_resync() - make a node resync a range from the leader
 * @res: the resource; must be up
 * @node_id: the node to repair: the local node or a peer
 * @start: first byte of the range (a multiple of 4096)
 * @len: bytes (a multiple of 4096), 0 for the whole data area
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: prbd_dp_resync()'s result, -ENOENT for an unknown node, -ENOTCONN
 * when down, -ENODEV without a backing device, -ERANGE for a range beyond
 * the data area.
 */
int prbd_res_resync(struct prbd_resource *res, u32 node_id, u64 start,
		    u64 len, struct netlink_ext_ack *extack)
{
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (node_id != res->node_id && !prbd_peer_find(res, node_id)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "node-id is neither the local node nor a peer");
		return -ENOENT;
	}
	err = prbd_res_range_check(res, start, len, extack);
	if (err)
		return err;
	return prbd_dp_resync(res, node_id, start, len, extack);
}

/**
 * prbd_peer_find() - look a peer up by node id
 * @res: the resource
 * @node_id: the node id
 *
 * Context: prbd_cfg_mutex held.
 * Return: the peer or NULL.
 */
struct prbd_peer *prbd_peer_find(struct prbd_resource *res, u32 node_id)
{
	struct prbd_peer *peer;

	list_for_each_entry(peer, &res->peers, list)
		if (peer->node_id == node_id)
			return peer;
	return NULL;
}

static bool prbd_addr_equal(const struct sockaddr_storage *a,
			    const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr &&
		       a4->sin_port == b4->sin_port;
	return ipv6_addr_equal(&a6->sin6_addr, &b6->sin6_addr) &&
	       a6->sin6_port == b6->sin6_port;
}

/**
 * prbd_peer_add() - add a peer
 * @res: the resource
 * @node_id: its node id (not the local one, not taken)
 * @addr: its address, AF_INET or AF_INET6 with port
 * @mrole: voter or learner
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0, -EINVAL, -EEXIST, -ENOSPC, -ENOMEM or prbd_member_peer_added()'s
 * error.
 */
int prbd_peer_add(struct prbd_resource *res, u32 node_id,
		  const struct sockaddr_storage *addr,
		  enum prbd_member_role mrole, struct netlink_ext_ack *extack)
{
	struct prbd_peer *peer;
	int err;

	lockdep_assert_held(&prbd_cfg_mutex);
	if (node_id == res->node_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "peer node id equals the local node id");
		return -EINVAL;
	}
	if (prbd_peer_find(res, node_id)) {
		NL_SET_ERR_MSG_MOD(extack, "a peer with that node id exists");
		return -EEXIST;
	}
	list_for_each_entry(peer, &res->peers, list) {
		if (prbd_addr_equal(&peer->addr, addr)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "another peer has that address and port");
			return -EEXIST;
		}
	}
	if (res->nr_peers >= PRBD_MAX_PEERS) {
		NL_SET_ERR_MSG_MOD(extack, "too many peers");
		return -ENOSPC;
	}

	peer = kzalloc(sizeof(*peer), GFP_KERNEL);
	if (!peer)
		return -ENOMEM;
	peer->node_id = node_id;
	peer->addr = *addr;
	peer->cstate = PRBD_CONN_STATE_STANDALONE;
	peer->mrole = mrole;
	prbd_peer_link(res, peer);

	err = prbd_member_peer_added(res, peer, extack);
	if (err)
		goto out_unlink_peer;
	pr_info("%s: peer %u added\n", res->name, node_id);
	prbd_nl_notify_peer(res, peer, PRBD_EVENT_CREATE);
	return 0;

out_unlink_peer:
	list_del_rcu(&peer->list);
	res->nr_peers--;
	kfree_rcu(peer, rcu);
	return err;
}

/**
 * prbd_peer_del() - remove a peer
 * @res: the resource; must be down
 * @node_id: the peer's node id
 * @extack: error message
 *
 * Context: prbd_cfg_mutex held.
 * Return: 0, -ENOENT or -EBUSY.
 */
int prbd_peer_del(struct prbd_resource *res, u32 node_id,
		  struct netlink_ext_ack *extack)
{
	struct prbd_peer *peer;

	lockdep_assert_held(&prbd_cfg_mutex);
	peer = prbd_peer_find(res, node_id);
	if (!peer) {
		NL_SET_ERR_MSG_MOD(extack, "no peer with that node id");
		return -ENOENT;
	}
	if (res->state != PRBD_RES_STATE_DOWN) {
		NL_SET_ERR_MSG_MOD(extack, "resource is up; take it down first");
		return -EBUSY;
	}
	prbd_member_peer_removing(res, peer);
	prbd_nl_notify_peer(res, peer, PRBD_EVENT_DESTROY);
	list_del_rcu(&peer->list);
	res->nr_peers--;
	pr_info("%s: peer %u removed\n", res->name, node_id);
	kfree_rcu(peer, rcu);
	return 0;
}

/**
 * prbd_res_exit() - tear every resource down (module unload)
 *
 * Call after prbd_nl_exit(), when no more commands or notifications can
 * arrive, and after the data path and replication code have stopped using
 * the resources.
 */
void prbd_res_exit(void)
{
	struct prbd_resource *res, *tmp;

	mutex_lock(&prbd_cfg_mutex);
	list_for_each_entry_safe(res, tmp, &prbd_resources, list) {
		res->role = PRBD_ROLE_SECONDARY;
		if (res->state == PRBD_RES_STATE_UP) {
			/* no device is left: it holds the module */
			WARN_ON(prbd_dp_down(res, NULL));
			res->state = PRBD_RES_STATE_DOWN;
		}
		if (res->backing)
			prbd_res_drop_backing(res);
		WARN_ON(prbd_res_destroy(res, NULL));
	}
	mutex_unlock(&prbd_cfg_mutex);
}
