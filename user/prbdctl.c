// SPDX-License-Identifier: GPL-2.0
/*
 * prbdctl - configure prbd (Paxos Replicated Block Device) resources.
 *
 * Talks to the kernel module over the "prbd" generic netlink family
 * (Documentation/netlink/specs/prbd.yaml); see prbdctl.8 for usage and
 * exit codes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <stdlib.h>
#include <string.h>

#include "prbdctl.h"

#define PRBDCTL_VERSION "0.1.0"

const char *prbdctl_prog = "prbdctl";
bool prbdctl_json;

enum {
	OPT_JSON = 1 << 0,
	OPT_CONFIG = 1 << 1,
	OPT_NODE = 1 << 2,
	OPT_FORCE = 1 << 3,
	OPT_LOG_SIZE = 1 << 4,
	OPT_BLOCK_SIZE = 1 << 5,
	OPT_DISK = 1 << 6,
	OPT_CLUSTER_UUID = 1 << 7,
	OPT_NODE_ID = 1 << 8,
	OPT_MINOR = 1 << 9,
	OPT_SECRET_FILE = 1 << 10,
	OPT_ON_NO_QUORUM = 1 << 11,
	OPT_LEARNER = 1 << 12,
	OPT_COUNT = 1 << 13,
	OPT_TIMEOUT = 1 << 14,
	OPT_LISTEN = 1 << 15,
	OPT_RANGE = 1 << 16,
	OPT_PEER = 1 << 17,
	OPT_RESYNC_RATE = 1 << 18,
	OPT_CHUNK_SIZE = 1 << 19,
	OPT_ALLOW_NO_SECRET = 1 << 20,
};

#define OPT_GLOBAL	(OPT_JSON)

struct prbdctl_opts {
	unsigned int set;		/* OPT_* given */
	const char *config;
	uint32_t node;
	uint64_t log_size;
	uint32_t block_size;
	const char *disk;
	uint8_t cluster_uuid[PRBD_UUID_LEN];
	uint32_t node_id;
	uint32_t minor;
	const char *secret_file;
	bool allow_no_secret;
	uint32_t on_no_quorum;
	long count;
	int timeout_ms;
	struct sockaddr_storage listen;
	uint64_t range_start, range_len;	/* len 0: no --range */
	uint32_t peer;
	uint32_t resync_rate;		/* KiB/s */
	uint32_t chunk_shift;
};

/* The first 21 entries are in OPT_* bit order (see prbdctl_opt_name()). */
static const struct option prbdctl_long_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "config", required_argument, NULL, 'c' },
	{ "node", required_argument, NULL, 'n' },
	{ "force", no_argument, NULL, 'f' },
	{ "log-size", required_argument, NULL, 'L' },
	{ "block-size", required_argument, NULL, 'B' },
	{ "disk", required_argument, NULL, 'd' },
	{ "cluster-uuid", required_argument, NULL, 'u' },
	{ "node-id", required_argument, NULL, 'i' },
	{ "minor", required_argument, NULL, 'm' },
	{ "secret-file", required_argument, NULL, 's' },
	{ "on-no-quorum", required_argument, NULL, 'q' },
	{ "learner", no_argument, NULL, 'l' },
	{ "count", required_argument, NULL, 'C' },
	{ "timeout", required_argument, NULL, 't' },
	{ "listen", required_argument, NULL, 'a' },
	{ "range", required_argument, NULL, 'r' },
	{ "peer", required_argument, NULL, 'p' },
	{ "resync-rate", required_argument, NULL, 'R' },
	{ "chunk-size", required_argument, NULL, 'k' },
	{ "allow-no-secret", no_argument, NULL, 'N' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct prbdctl_cmd {
	const char *name;
	int (*fn)(const struct prbdctl_cmd *c, int argc, char **argv,
		  struct prbdctl_opts *o);
	int min_args, max_args;
	unsigned int opts;
	const char *usage;
	uint8_t nl_cmd;		/* for the generic handlers */
};

static void prbdctl_usage(FILE *f);

/* ---- helpers ---------------------------------------------------------- */

static int prbdctl_nl_fail(struct prbdctl_nl *nl, const char *what,
			   const char *res, int err)
{
	const char *msg = prbdctl_nl_errmsg(nl);

	if (msg && *msg)
		prbdctl_err("%s %s: %s [%s]", what, res, msg, strerror(-err));
	else
		prbdctl_err("%s %s: %s", what, res, strerror(-err));
	return prbdctl_errno_exit(err);
}

static struct prbdctl_nl *prbdctl_connect(int *ret)
{
	struct prbdctl_nl *nl = prbdctl_nl_open();

	if (!nl)
		*ret = errno == ENOENT ? PRBDCTL_EXIT_NOMODULE :
					 PRBDCTL_EXIT_KERNEL;
	return nl;
}

static struct nl_msg *prbdctl_res_msg(struct prbdctl_nl *nl, uint8_t cmd,
				      const char *res)
{
	struct nl_msg *msg = prbdctl_nl_msg(nl, cmd, 0);

	if (!msg)
		return NULL;
	if (res && nla_put_string(msg, PRBD_ATTR_NAME, res)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int prbdctl_check_res_name(const char *name)
{
	if (prbdctl_name_valid(name))
		return 0;
	prbdctl_err("invalid resource name '%s': use 1-63 of [A-Za-z0-9_.-], not starting with '.' or '-'",
		    name);
	return PRBDCTL_EXIT_USAGE;
}

static int prbdctl_parse_node_arg(const char *s, uint32_t *id)
{
	if (!prbdctl_parse_u32(s, 1, PRBD_NODE_ID_MAX, id))
		return 0;
	prbdctl_err("invalid node id '%s': must be 1..%d", s, PRBD_NODE_ID_MAX);
	return PRBDCTL_EXIT_USAGE;
}

static int prbdctl_read_secret(const char *path, uint8_t *buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		prbdctl_err("%s: %s", path, strerror(errno));
		return PRBDCTL_EXIT_USAGE;
	}
	n = fread(buf, 1, PRBD_SECRET_MAX_LEN + 1, f);
	fclose(f);
	if (n && buf[n - 1] == '\n')
		n--;
	if (!n || n > PRBD_SECRET_MAX_LEN) {
		prbdctl_err("%s: the secret must be 1..%d bytes", path,
			    PRBD_SECRET_MAX_LEN);
		return PRBDCTL_EXIT_USAGE;
	}
	*len = n;
	return 0;
}

/* Run a request that only has a resource name and maybe node/force. */
static int prbdctl_simple(struct prbdctl_nl *nl, uint8_t cmd, const char *what,
			  const char *res, bool force, uint32_t node_id,
			  uint32_t new_node_id, bool quiet_enodev)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, cmd, res);
	const char *m;
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	if ((force && nla_put_flag(msg, PRBD_ATTR_FORCE)) ||
	    (node_id && nla_put_u32(msg, PRBD_ATTR_NODE_ID, node_id)) ||
	    (new_node_id &&
	     nla_put_u32(msg, PRBD_ATTR_NEW_NODE_ID, new_node_id))) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	if (err == -ENODEV && quiet_enodev)
		return 0;
	if (err)
		return prbdctl_nl_fail(nl, what, res, err);
	/* what the kernel said on success (node-replace: quorum arithmetic) */
	m = prbdctl_nl_errmsg(nl);
	if (m && *m)
		printf("%s %s: %s\n", what, res,
		       strncmp(m, "prbd: ", 6) ? m : m + 6);
	return 0;
}

/* PRBD_ATTR_LISTEN_ADDR4/6 and PRBD_ATTR_LISTEN_PORT; nothing if @ss is
 * NULL.
 */
static int prbdctl_put_listen(struct nl_msg *msg,
			      const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

	if (!ss)
		return 0;
	if (ss->ss_family == AF_INET)
		return nla_put_u32(msg, PRBD_ATTR_LISTEN_ADDR4,
				   s4->sin_addr.s_addr) ||
		       nla_put_u16(msg, PRBD_ATTR_LISTEN_PORT,
				   ntohs(s4->sin_port));
	return nla_put(msg, PRBD_ATTR_LISTEN_ADDR6, 16, &s6->sin6_addr) ||
	       nla_put_u16(msg, PRBD_ATTR_LISTEN_PORT, ntohs(s6->sin6_port));
}

static uint32_t prbdctl_node_role(const struct prbdctl_node *n)
{
	return n->none ? PRBD_MEMBER_ROLE_NONE :
	       n->learner ? PRBD_MEMBER_ROLE_LEARNER : PRBD_MEMBER_ROLE_VOTER;
}

static const char *prbdctl_node_role_name(const struct prbdctl_node *n)
{
	return n->none ? "none" : n->learner ? "learner" : "voter";
}

static int prbdctl_res_new(struct prbdctl_nl *nl, const char *res,
			   uint32_t minor, uint32_t node_id,
			   const uint8_t *uuid, const uint8_t *secret,
			   size_t secret_len, bool allow_no_secret, uint32_t onq,
			   const struct sockaddr_storage *listen,
			   uint32_t resync_rate, uint32_t self_role)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, PRBD_CMD_RES_NEW, res);
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	if (nla_put_u32(msg, PRBD_ATTR_MINOR, minor) ||
	    nla_put_u32(msg, PRBD_ATTR_NODE_ID, node_id) ||
	    nla_put(msg, PRBD_ATTR_CLUSTER_UUID, PRBD_UUID_LEN, uuid) ||
	    (secret_len && nla_put(msg, PRBD_ATTR_SECRET, secret_len, secret)) ||
	    (allow_no_secret && nla_put_flag(msg, PRBD_ATTR_ALLOW_NO_SECRET)) ||
	    nla_put_u32(msg, PRBD_ATTR_ON_NO_QUORUM, onq) ||
	    nla_put_u32(msg, PRBD_ATTR_RESYNC_RATE, resync_rate) ||
	    nla_put_u32(msg, PRBD_ATTR_MEMBER_ROLE, self_role) ||
	    prbdctl_put_listen(msg, listen)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	return err ? prbdctl_nl_fail(nl, "new-resource", res, err) : 0;
}

static int prbdctl_attach(struct prbdctl_nl *nl, const char *res,
			  const char *dev)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, PRBD_CMD_ATTACH, res);
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	if (nla_put_string(msg, PRBD_ATTR_BACKING_DEV, dev)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	return err ? prbdctl_nl_fail(nl, "attach", res, err) : 0;
}

static int prbdctl_peer_add(struct prbdctl_nl *nl, const char *res,
			    uint32_t node_id,
			    const struct sockaddr_storage *ss, uint32_t role)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	struct nl_msg *msg = prbdctl_res_msg(nl, PRBD_CMD_PEER_ADD, res);
	struct nlattr *nest;
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	nest = nla_nest_start(msg, PRBD_ATTR_PEER);
	if (!nest ||
	    nla_put_u32(msg, PRBD_PEER_ATTR_NODE_ID, node_id) ||
	    (ss->ss_family == AF_INET ?
	     nla_put_u32(msg, PRBD_PEER_ATTR_ADDR4, s4->sin_addr.s_addr) ||
	     nla_put_u16(msg, PRBD_PEER_ATTR_PORT, ntohs(s4->sin_port)) :
	     nla_put(msg, PRBD_PEER_ATTR_ADDR6, 16, &s6->sin6_addr) ||
	     nla_put_u16(msg, PRBD_PEER_ATTR_PORT, ntohs(s6->sin6_port))) ||
	    nla_put_u32(msg, PRBD_PEER_ATTR_MEMBER_ROLE, role)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	nla_nest_end(msg, nest);
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	return err ? prbdctl_nl_fail(nl, "peer-add", res, err) : 0;
}

/* Best effort, errors ignored: used to roll back a failed "up". */
static void prbdctl_undo(struct prbdctl_nl *nl, uint8_t cmd, const char *res)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, cmd, res);

	if (msg)
		prbdctl_nl_run(nl, msg, NULL, NULL);
}

/* ---- commands --------------------------------------------------------- */

static int cmd_create_md(const struct prbdctl_cmd *c, int argc, char **argv,
			 struct prbdctl_opts *o)
{
	struct prbdctl_md_opts mo = {
		.log_size = o->log_size,
		.block_size = o->block_size,
		.chunk_shift = o->chunk_shift,
		.force = o->set & OPT_FORCE,
	};
	struct prbdctl_res res;
	int ret;

	(void)c;
	if (argc == 1) {
		if (o->set & (OPT_DISK | OPT_CLUSTER_UUID | OPT_NODE_ID)) {
			prbdctl_err("create-md RES takes the disk, cluster-uuid and node id from the resource file");
			return PRBDCTL_EXIT_USAGE;
		}
		ret = prbdctl_res_load(argv[0], o->config, &res);
		if (!ret)
			ret = prbdctl_res_pick_local(&res, o->node);
		if (ret)
			return ret;
		if (!res.local->disk[0]) {
			prbdctl_err("%s: [node %u] has no disk", res.path,
				    res.local->node_id);
			return PRBDCTL_EXIT_CONFIG;
		}
		mo.dev = res.local->disk;
		memcpy(mo.cluster_uuid, res.cluster_uuid, PRBD_UUID_LEN);
		mo.node_id = res.local->node_id;
		return prbdctl_create_md(&mo);
	}
	if ((o->set & (OPT_DISK | OPT_CLUSTER_UUID | OPT_NODE_ID)) !=
	    (OPT_DISK | OPT_CLUSTER_UUID | OPT_NODE_ID)) {
		prbdctl_err("create-md needs RES, or --disk, --cluster-uuid and --node-id");
		return PRBDCTL_EXIT_USAGE;
	}
	mo.dev = o->disk;
	memcpy(mo.cluster_uuid, o->cluster_uuid, PRBD_UUID_LEN);
	mo.node_id = o->node_id;
	return prbdctl_create_md(&mo);
}

static int cmd_show_md(const struct prbdctl_cmd *c, int argc, char **argv,
		       struct prbdctl_opts *o)
{
	(void)c;
	(void)argc;
	(void)o;
	return prbdctl_show_md(argv[0]);
}

static int cmd_check_config(const struct prbdctl_cmd *c, int argc, char **argv,
			    struct prbdctl_opts *o)
{
	struct prbdctl_res res;
	char uuid[37], addr[80], rate[32];
	unsigned int i;
	int ret;

	(void)c;
	(void)argc;
	ret = prbdctl_res_load(argv[0], o->config, &res);
	if (!ret)
		ret = prbdctl_res_pick_local(&res, o->node);
	if (ret)
		return ret;
	prbdctl_format_uuid(res.cluster_uuid, uuid);
	if (prbdctl_json) {
		printf("{\"file\":");
		prbdctl_json_str(stdout, res.path);
		printf(",\"name\":\"%s\",\"minor\":%u,\"cluster_uuid\":\"%s\","
		       "\"on_no_quorum\":\"%s\",\"resync_rate_cap\":%u,\"secret\":%s,"
		       "\"local_node_id\":%u,\"nodes\":[",
		       res.name, res.minor, uuid,
		       res.on_no_quorum ? "io-error" : "block", res.resync_rate,
		       res.secret_len ? "true" : "false", res.local->node_id);
	} else {
		prbdctl_fmt_rate_kib(res.resync_rate, rate, sizeof(rate));
		printf("%s: resource %s minor %u cluster %s on-no-quorum %s%s\n",
		       res.path, res.name, res.minor, uuid,
		       res.on_no_quorum ? "io-error" : "block",
		       res.secret_len ? " (secret set)" : "");
		printf("  resync-rate %s\n", rate);
	}
	for (i = 0; i < res.nr_nodes; i++) {
		struct prbdctl_node *n = &res.nodes[i];

		prbdctl_format_addr(&n->addr, addr, sizeof(addr), true);
		if (prbdctl_json) {
			printf("%s{\"node_id\":%u,\"address\":\"%s\",\"disk\":",
			       i ? "," : "", n->node_id, addr);
			if (n->disk[0])
				prbdctl_json_str(stdout, n->disk);
			else
				printf("null");
			printf(",\"role\":\"%s\",\"local\":%s}",
			       prbdctl_node_role_name(n),
			       n == res.local ? "true" : "false");
		} else {
			printf("  node %u %s disk %s %s%s\n", n->node_id, addr,
			       n->disk[0] ? n->disk : "-",
			       prbdctl_node_role_name(n),
			       n == res.local ? " (local)" : "");
		}
	}
	if (prbdctl_json)
		printf("]}\n");
	return 0;
}

static int cmd_up(const struct prbdctl_cmd *c, int argc, char **argv,
		  struct prbdctl_opts *o)
{
	struct prbdctl_nl *nl;
	struct prbdctl_res res;
	unsigned int i;
	int ret;

	(void)c;
	(void)argc;
	ret = prbdctl_res_load(argv[0], o->config, &res);
	if (!ret)
		ret = prbdctl_res_pick_local(&res, o->node);
	if (ret)
		return ret;
	if (!res.local->disk[0]) {
		prbdctl_err("%s: [node %u] has no disk", res.path,
			    res.local->node_id);
		return PRBDCTL_EXIT_CONFIG;
	}
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;

	ret = prbdctl_res_new(nl, res.name, res.minor, res.local->node_id,
			      res.cluster_uuid, res.secret, res.secret_len,
			      res.allow_no_secret, res.on_no_quorum,
			      &res.local->addr,
			      res.resync_rate, prbdctl_node_role(res.local));
	if (ret)
		goto out_close;
	ret = prbdctl_attach(nl, res.name, res.local->disk);
	if (ret)
		goto out_undo;
	for (i = 0; i < res.nr_nodes; i++) {
		if (&res.nodes[i] == res.local)
			continue;
		ret = prbdctl_peer_add(nl, res.name, res.nodes[i].node_id,
				       &res.nodes[i].addr,
				       prbdctl_node_role(&res.nodes[i]));
		if (ret)
			goto out_undo;
	}
	ret = prbdctl_simple(nl, PRBD_CMD_UP, "up", res.name, false, 0, 0,
			     false);
	if (ret)
		goto out_undo;
	goto out_close;

out_undo:
	/* leave nothing behind: stop, detach and delete what we created */
	prbdctl_undo(nl, PRBD_CMD_DOWN, res.name);
	prbdctl_undo(nl, PRBD_CMD_DETACH, res.name);
	prbdctl_undo(nl, PRBD_CMD_RES_DEL, res.name);
out_close:
	prbdctl_nl_close(nl);
	return ret;
}

static int cmd_down(const struct prbdctl_cmd *c, int argc, char **argv,
		    struct prbdctl_opts *o)
{
	struct prbdctl_nl *nl;
	int ret;

	(void)c;
	(void)argc;
	(void)o;
	ret = prbdctl_check_res_name(argv[0]);
	if (ret)
		return ret;
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	ret = prbdctl_simple(nl, PRBD_CMD_DOWN, "down", argv[0], false, 0, 0,
			     false);
	if (!ret)
		ret = prbdctl_simple(nl, PRBD_CMD_DETACH, "detach", argv[0],
				     false, 0, 0, true);
	if (!ret)
		ret = prbdctl_simple(nl, PRBD_CMD_RES_DEL, "del-resource",
				     argv[0], false, 0, 0, false);
	prbdctl_nl_close(nl);
	return ret;
}

static int cmd_new_resource(const struct prbdctl_cmd *c, int argc,
			    char **argv, struct prbdctl_opts *o)
{
	uint8_t secret[PRBD_SECRET_MAX_LEN + 1];
	size_t secret_len = 0;
	struct prbdctl_nl *nl;
	int ret;

	(void)c;
	(void)argc;
	ret = prbdctl_check_res_name(argv[0]);
	if (ret)
		return ret;
	if ((o->set & (OPT_MINOR | OPT_NODE_ID | OPT_CLUSTER_UUID)) !=
	    (OPT_MINOR | OPT_NODE_ID | OPT_CLUSTER_UUID)) {
		prbdctl_err("new-resource needs --minor, --node-id and --cluster-uuid");
		return PRBDCTL_EXIT_USAGE;
	}
	if (o->secret_file) {
		ret = prbdctl_read_secret(o->secret_file, secret, &secret_len);
		if (ret)
			return ret;
	}
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	ret = prbdctl_res_new(nl, argv[0], o->minor, o->node_id,
			      o->cluster_uuid, secret, secret_len,
			      o->allow_no_secret, o->on_no_quorum,
			      o->set & OPT_LISTEN ? &o->listen : NULL,
			      o->resync_rate, PRBD_MEMBER_ROLE_VOTER);
	prbdctl_nl_close(nl);
	return ret;
}

static int cmd_set(const struct prbdctl_cmd *c, int argc, char **argv,
		   struct prbdctl_opts *o)
{
	uint8_t secret[PRBD_SECRET_MAX_LEN + 1];
	size_t secret_len = 0;
	struct prbdctl_nl *nl;
	struct nl_msg *msg;
	int ret, err;

	(void)c;
	(void)argc;
	ret = prbdctl_check_res_name(argv[0]);
	if (ret)
		return ret;
	if (!(o->set & (OPT_ON_NO_QUORUM | OPT_SECRET_FILE | OPT_LISTEN |
			OPT_RESYNC_RATE))) {
		prbdctl_err("set needs --on-no-quorum, --secret-file, --listen and/or --resync-rate");
		return PRBDCTL_EXIT_USAGE;
	}
	if (o->secret_file) {
		ret = prbdctl_read_secret(o->secret_file, secret, &secret_len);
		if (ret)
			return ret;
	}
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	msg = prbdctl_res_msg(nl, PRBD_CMD_RES_SET, argv[0]);
	if (!msg ||
	    ((o->set & OPT_ON_NO_QUORUM) &&
	     nla_put_u32(msg, PRBD_ATTR_ON_NO_QUORUM, o->on_no_quorum)) ||
	    (secret_len && nla_put(msg, PRBD_ATTR_SECRET, secret_len, secret)) ||
	    ((o->set & OPT_RESYNC_RATE) &&
	     nla_put_u32(msg, PRBD_ATTR_RESYNC_RATE, o->resync_rate)) ||
	    prbdctl_put_listen(msg, o->set & OPT_LISTEN ? &o->listen : NULL)) {
		nlmsg_free(msg);
		ret = PRBDCTL_EXIT_KERNEL;
		goto out_close;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	ret = err ? prbdctl_nl_fail(nl, "set", argv[0], err) : 0;
out_close:
	prbdctl_nl_close(nl);
	return ret;
}

static int cmd_attach(const struct prbdctl_cmd *c, int argc, char **argv,
		      struct prbdctl_opts *o)
{
	struct prbdctl_nl *nl;
	int ret;

	(void)c;
	(void)argc;
	(void)o;
	ret = prbdctl_check_res_name(argv[0]);
	if (ret)
		return ret;
	if (argv[1][0] != '/') {
		prbdctl_err("backing device must be an absolute path");
		return PRBDCTL_EXIT_USAGE;
	}
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	ret = prbdctl_attach(nl, argv[0], argv[1]);
	prbdctl_nl_close(nl);
	return ret;
}

/* del-resource, detach, start, stop, primary, secondary, peer-del and the
 * membership commands: RES [NODE_ID [NEW_NODE_ID]].
 */
static int cmd_generic(const struct prbdctl_cmd *c, int argc, char **argv,
		       struct prbdctl_opts *o)
{
	uint32_t node_id = 0, new_node_id = 0;
	struct prbdctl_nl *nl;
	int ret;

	ret = prbdctl_check_res_name(argv[0]);
	if (ret)
		return ret;
	if (argc > 1) {
		ret = prbdctl_parse_node_arg(argv[1], &node_id);
		if (ret)
			return ret;
	}
	if (argc > 2) {
		ret = prbdctl_parse_node_arg(argv[2], &new_node_id);
		if (ret)
			return ret;
	}
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	ret = prbdctl_simple(nl, c->nl_cmd, c->name, argv[0],
			     o->set & OPT_FORCE, node_id, new_node_id, false);
	prbdctl_nl_close(nl);
	return ret;
}

/*
 * node-add and learner-add: RES NODE_ID [ADDRESS[:PORT]].  With an
 * address, a node that is no peer yet becomes one (the kernel refuses an
 * address another node uses, or a different one for a known node).
 */
static int cmd_node_add(const struct prbdctl_cmd *c, int argc, char **argv,
			struct prbdctl_opts *o)
{
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;
	struct sockaddr_storage ss;
	struct prbdctl_nl *nl;
	struct nlattr *nest;
	struct nl_msg *msg;
	uint32_t node_id;
	const char *m;
	int ret, err;

	if (argc < 3)
		return cmd_generic(c, argc, argv, o);
	ret = prbdctl_check_res_name(argv[0]);
	if (!ret)
		ret = prbdctl_parse_node_arg(argv[1], &node_id);
	if (ret)
		return ret;
	if (prbdctl_parse_addr(argv[2], &ss)) {
		prbdctl_err("invalid address '%s': use IPV4[:PORT] or [IPV6][:PORT] with a unicast address",
			    argv[2]);
		return PRBDCTL_EXIT_USAGE;
	}
	s4 = (const struct sockaddr_in *)&ss;
	s6 = (const struct sockaddr_in6 *)&ss;
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	msg = prbdctl_res_msg(nl, c->nl_cmd, argv[0]);
	if (!msg)
		goto out_kernel;
	nest = nla_put_u32(msg, PRBD_ATTR_NODE_ID, node_id) ? NULL :
	       nla_nest_start(msg, PRBD_ATTR_PEER);
	if (!nest ||
	    nla_put_u32(msg, PRBD_PEER_ATTR_NODE_ID, node_id) ||
	    (ss.ss_family == AF_INET ?
	     nla_put_u32(msg, PRBD_PEER_ATTR_ADDR4, s4->sin_addr.s_addr) ||
	     nla_put_u16(msg, PRBD_PEER_ATTR_PORT, ntohs(s4->sin_port)) :
	     nla_put(msg, PRBD_PEER_ATTR_ADDR6, 16, &s6->sin6_addr) ||
	     nla_put_u16(msg, PRBD_PEER_ATTR_PORT, ntohs(s6->sin6_port)))) {
		nlmsg_free(msg);
		goto out_kernel;
	}
	nla_nest_end(msg, nest);
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	if (err) {
		ret = prbdctl_nl_fail(nl, c->name, argv[0], err);
	} else {
		m = prbdctl_nl_errmsg(nl);
		if (m && *m)
			printf("%s %s: %s\n", c->name, argv[0],
			       strncmp(m, "prbd: ", 6) ? m : m + 6);
		ret = 0;
	}
	prbdctl_nl_close(nl);
	return ret;

out_kernel:
	prbdctl_nl_close(nl);
	return PRBDCTL_EXIT_KERNEL;
}

static int cmd_peer_add(const struct prbdctl_cmd *c, int argc, char **argv,
			struct prbdctl_opts *o)
{
	struct sockaddr_storage ss;
	struct prbdctl_nl *nl;
	uint32_t node_id;
	int ret;

	(void)c;
	(void)argc;
	ret = prbdctl_check_res_name(argv[0]);
	if (!ret)
		ret = prbdctl_parse_node_arg(argv[1], &node_id);
	if (ret)
		return ret;
	if (prbdctl_parse_addr(argv[2], &ss)) {
		prbdctl_err("invalid address '%s': use IPV4[:PORT] or [IPV6][:PORT] with a unicast address",
			    argv[2]);
		return PRBDCTL_EXIT_USAGE;
	}
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	ret = prbdctl_peer_add(nl, argv[0], node_id, &ss,
			       o->set & OPT_LEARNER ? PRBD_MEMBER_ROLE_LEARNER :
			       PRBD_MEMBER_ROLE_VOTER);
	prbdctl_nl_close(nl);
	return ret;
}

/* PRBD_ATTR_RANGE_START/LEN of --range, if given. */
static int prbdctl_put_range(struct nl_msg *msg, const struct prbdctl_opts *o)
{
	if (!(o->set & OPT_RANGE))
		return 0;
	return nla_put_u64(msg, PRBD_ATTR_RANGE_START, o->range_start) ||
	       nla_put_u64(msg, PRBD_ATTR_RANGE_LEN, o->range_len);
}

struct prbdctl_verify_state {
	const char *res;
	bool started;
	int result;		/* exit code once finished or aborted */
};

#define PRBDCTL_VERIFY_IDLE_MS	(120 * 1000)

static int prbdctl_verify_cb(const struct prbdctl_reply *r, void *arg)
{
	struct prbdctl_verify_state *st = arg;
	struct prbdctl_verify_ev ev;

	if (r->cmd != PRBD_CMD_VERIFY_NTF || !r->tb[PRBD_ATTR_NAME] ||
	    strcmp(nla_get_string(r->tb[PRBD_ATTR_NAME]), st->res) ||
	    !prbdctl_get_verify_ev(r, &ev))
		return 0;
	if (prbdctl_json)
		prbdctl_print_event(r, NULL);
	switch (ev.event) {
	case PRBD_VERIFY_EVENT_START:
		st->started = true;
		return 0;
	case PRBD_VERIFY_EVENT_DIVERGENT:
		if (!prbdctl_json)
			printf("divergent: node %u bytes %" PRIu64 "+%" PRIu64 "\n",
			       ev.peer_node_id, ev.start, ev.len);
		fflush(stdout);
		return 0;
	case PRBD_VERIFY_EVENT_FINISH:
		if (!prbdctl_json)
			printf("verify: checked %" PRIu64 " bytes, %" PRIu64
			       " bytes divergent\n", ev.checked, ev.divergent);
		st->result = ev.divergent ? 2 : PRBDCTL_EXIT_OK;
		return 1;
	case PRBD_VERIFY_EVENT_ABORT:
		fflush(stdout);
		prbdctl_err("verify %s: aborted (leadership or connection lost) after checking %"
			    PRIu64 " bytes, %" PRIu64 " bytes divergent so far",
			    st->res, ev.checked, ev.divergent);
		st->result = PRBDCTL_EXIT_USAGE;
		return 1;
	default:
		return 0;
	}
}

/*
 * verify RES [--range START:LEN]: join the events group first (so no event
 * of the run can be missed), send verify, then follow the run's verify-ntf
 * until it finishes or aborts.  Exit 0: nothing diverges, 2: something
 * does, 1: aborted, timed out or refused.
 */
static int cmd_verify(const struct prbdctl_cmd *c, int argc, char **argv,
		      struct prbdctl_opts *o)
{
	struct prbdctl_verify_state st = { .res = argv[0], .result = 1 };
	struct prbdctl_nl *ev = NULL, *nl = NULL;
	struct nl_msg *msg;
	int ret, err;

	(void)c;
	(void)argc;
	ret = prbdctl_check_res_name(argv[0]);
	if (ret)
		return ret;
	/* every failure of verify exits 1 (2 means "divergent") */
	ret = 1;
	ev = prbdctl_connect(&err);
	if (!ev)
		return ret;
	err = prbdctl_nl_join_events(ev);
	if (err) {
		prbdctl_nl_fail(ev, "verify", argv[0], err);
		goto out_close;
	}
	nl = prbdctl_connect(&err);
	if (!nl)
		goto out_close;
	msg = prbdctl_res_msg(nl, PRBD_CMD_VERIFY, argv[0]);
	if (!msg || prbdctl_put_range(msg, o)) {
		nlmsg_free(msg);
		goto out_close;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	if (err) {
		prbdctl_nl_fail(nl, "verify", argv[0], err);
		goto out_close;
	}
	err = prbdctl_nl_wait_events(ev, PRBDCTL_VERIFY_IDLE_MS,
				     prbdctl_verify_cb, &st);
	if (err == -ETIMEDOUT)
		prbdctl_err("verify %s: no verify event for %d s; giving up (the run may go on: see prbdctl status)",
			    argv[0], PRBDCTL_VERIFY_IDLE_MS / 1000);
	else if (err == -EINTR)
		prbdctl_err("verify %s: interrupted (the run goes on: see prbdctl status)",
			    argv[0]);
	else if (err)
		prbdctl_nl_fail(ev, "verify", argv[0], err);
	if (!err)
		ret = st.result;
out_close:
	prbdctl_nl_close(nl);
	prbdctl_nl_close(ev);
	return ret;
}

/* resync RES --peer N [--range START:LEN] */
static int cmd_resync(const struct prbdctl_cmd *c, int argc, char **argv,
		      struct prbdctl_opts *o)
{
	struct prbdctl_nl *nl;
	struct nl_msg *msg;
	int ret, err;

	(void)c;
	(void)argc;
	ret = prbdctl_check_res_name(argv[0]);
	if (ret)
		return ret;
	if (!(o->set & OPT_PEER)) {
		prbdctl_err("resync needs --peer N: the node to resync (this node or a peer)");
		return PRBDCTL_EXIT_USAGE;
	}
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	msg = prbdctl_res_msg(nl, PRBD_CMD_RESYNC, argv[0]);
	if (!msg || nla_put_u32(msg, PRBD_ATTR_NODE_ID, o->peer) ||
	    prbdctl_put_range(msg, o)) {
		nlmsg_free(msg);
		prbdctl_nl_close(nl);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	if (err) {
		ret = prbdctl_nl_fail(nl, "resync", argv[0], err);
	} else {
		printf("resync of node %u requested\n", o->peer);
		ret = 0;
	}
	prbdctl_nl_close(nl);
	return ret;
}

static int cmd_status(const struct prbdctl_cmd *c, int argc, char **argv,
		      struct prbdctl_opts *o)
{
	struct prbdctl_nl *nl;
	struct nl_msg *msg;
	int ret, err;

	(void)c;
	if (argc) {
		ret = prbdctl_check_res_name(argv[0]);
		if (ret)
			return ret;
	}
	prbdctl_status_config = o->config;
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	if (argc)
		msg = prbdctl_res_msg(nl, PRBD_CMD_RES_GET, argv[0]);
	else
		msg = prbdctl_nl_msg(nl, PRBD_CMD_RES_GET, NLM_F_DUMP);
	if (!msg) {
		prbdctl_nl_close(nl);
		return PRBDCTL_EXIT_KERNEL;
	}
	prbdctl_status_begin();
	err = prbdctl_nl_run(nl, msg, prbdctl_print_res, NULL);
	if (err) {
		if (prbdctl_json)
			printf("]\n");
		fflush(stdout);
		ret = prbdctl_nl_fail(nl, "status", argc ? argv[0] : "", err);
	} else {
		prbdctl_status_end();
		ret = 0;
	}
	prbdctl_nl_close(nl);
	return ret;
}

static int cmd_events(const struct prbdctl_cmd *c, int argc, char **argv,
		      struct prbdctl_opts *o)
{
	struct prbdctl_nl *nl;
	int ret, err;

	(void)c;
	(void)argc;
	(void)argv;
	nl = prbdctl_connect(&ret);
	if (!nl)
		return ret;
	err = prbdctl_nl_events(nl, o->set & OPT_COUNT ? o->count : -1,
				o->set & OPT_TIMEOUT ? o->timeout_ms : -1,
				prbdctl_print_event, NULL);
	ret = err ? prbdctl_nl_fail(nl, "events", "", err) : 0;
	prbdctl_nl_close(nl);
	return ret;
}

static const struct prbdctl_cmd prbdctl_cmds[] = {
	{ "create-md", cmd_create_md, 0, 1,
	  OPT_CONFIG | OPT_NODE | OPT_FORCE | OPT_LOG_SIZE | OPT_BLOCK_SIZE |
	  OPT_DISK | OPT_CLUSTER_UUID | OPT_NODE_ID | OPT_CHUNK_SIZE,
	  "create-md RES | create-md --disk DEV --cluster-uuid UUID --node-id N\n"
	  "\t\t[--log-size SIZE] [--block-size BYTES] [--chunk-size SIZE] [--force]",
	  0 },
	{ "show-md", cmd_show_md, 1, 1, 0, "show-md DEV", 0 },
	{ "check-config", cmd_check_config, 1, 1, OPT_CONFIG | OPT_NODE,
	  "check-config RES", 0 },
	{ "up", cmd_up, 1, 1, OPT_CONFIG | OPT_NODE, "up RES", 0 },
	{ "down", cmd_down, 1, 1, 0, "down RES", 0 },
	{ "new-resource", cmd_new_resource, 1, 1,
	  OPT_MINOR | OPT_NODE_ID | OPT_CLUSTER_UUID | OPT_SECRET_FILE |
	  OPT_ON_NO_QUORUM | OPT_LISTEN | OPT_RESYNC_RATE | OPT_ALLOW_NO_SECRET,
	  "new-resource RES --minor M --node-id N --cluster-uuid UUID\n"
	  "\t\t[--secret-file FILE] [--allow-no-secret]\n"
	  "\t\t[--on-no-quorum block|io-error]\n"
	  "\t\t[--listen ADDRESS[:PORT]] [--resync-rate RATE]", 0 },
	{ "del-resource", cmd_generic, 1, 1, 0, "del-resource RES",
	  PRBD_CMD_RES_DEL },
	{ "set", cmd_set, 1, 1,
	  OPT_SECRET_FILE | OPT_ON_NO_QUORUM | OPT_LISTEN | OPT_RESYNC_RATE,
	  "set RES [--on-no-quorum block|io-error] [--secret-file FILE]\n"
	  "\t\t[--listen ADDRESS[:PORT]] [--resync-rate RATE]", 0 },
	{ "attach", cmd_attach, 2, 2, 0, "attach RES DEV", 0 },
	{ "detach", cmd_generic, 1, 1, OPT_FORCE, "detach RES [--force]",
	  PRBD_CMD_DETACH },
	{ "start", cmd_generic, 1, 1, 0, "start RES", PRBD_CMD_UP },
	{ "stop", cmd_generic, 1, 1, 0, "stop RES", PRBD_CMD_DOWN },
	{ "primary", cmd_generic, 1, 1, OPT_FORCE, "primary RES [--force]",
	  PRBD_CMD_PRIMARY },
	{ "secondary", cmd_generic, 1, 1, 0, "secondary RES",
	  PRBD_CMD_SECONDARY },
	{ "peer-add", cmd_peer_add, 3, 3, OPT_LEARNER,
	  "peer-add RES NODE_ID ADDRESS[:PORT] [--learner]", 0 },
	{ "peer-del", cmd_generic, 2, 2, 0, "peer-del RES NODE_ID",
	  PRBD_CMD_PEER_DEL },
	{ "node-add", cmd_node_add, 2, 3, 0,
	  "node-add RES NODE_ID [ADDRESS[:PORT]]", PRBD_CMD_NODE_ADD },
	{ "node-del", cmd_generic, 2, 2, 0, "node-del RES NODE_ID",
	  PRBD_CMD_NODE_DEL },
	{ "node-replace", cmd_generic, 3, 3, 0,
	  "node-replace RES NODE_ID NEW_NODE_ID", PRBD_CMD_NODE_REPLACE },
	{ "learner-add", cmd_node_add, 2, 3, 0,
	  "learner-add RES NODE_ID [ADDRESS[:PORT]]", PRBD_CMD_LEARNER_ADD },
	{ "leader-transfer", cmd_generic, 2, 2, 0,
	  "leader-transfer RES NODE_ID", PRBD_CMD_LEADER_TRANSFER },
	{ "verify", cmd_verify, 1, 1, OPT_RANGE, "verify RES [--range START:LEN]",
	  0 },
	{ "resync", cmd_resync, 1, 1, OPT_PEER | OPT_RANGE,
	  "resync RES --peer N [--range START:LEN]", 0 },
	{ "status", cmd_status, 0, 1, 0, "status [RES]", 0 },
	{ "events", cmd_events, 0, 0, OPT_COUNT | OPT_TIMEOUT,
	  "events [--count N] [--timeout SECONDS]", 0 },
};

#define PRBDCTL_NR_CMDS	(sizeof(prbdctl_cmds) / sizeof(prbdctl_cmds[0]))

static void prbdctl_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s [--json] [-c FILE] [-n NODE] COMMAND [ARGS]\n\ncommands:\n",
		prbdctl_prog);
	for (i = 0; i < PRBDCTL_NR_CMDS; i++)
		fprintf(f, "\t%s\n", prbdctl_cmds[i].usage);
	fprintf(f, "\nexit codes: 0 ok, 1 usage, 2 resource file, 3 kernel refused,\n"
		"4 not found, 5 busy/exists, 6 permission, 7 module not loaded,\n"
		"8 metadata/device error; see prbdctl(8)\n");
}

static const char *prbdctl_opt_name(unsigned int bit)
{
	size_t i;

	for (i = 0; prbdctl_long_opts[i].name; i++)
		if (1u << i == bit)
			return prbdctl_long_opts[i].name;
	return "?";
}

static int prbdctl_parse_opts(int argc, char **argv, struct prbdctl_opts *o)
{
	uint32_t v;
	int c, idx;

	const char *why;
	uint64_t v64;

	while ((c = getopt_long(argc, argv, "jc:n:fh", prbdctl_long_opts,
				&idx)) != -1) {
		switch (c) {
		case 'j':
			o->set |= OPT_JSON;
			prbdctl_json = true;
			break;
		case 'c':
			o->set |= OPT_CONFIG;
			o->config = optarg;
			break;
		case 'n':
			o->set |= OPT_NODE;
			if (prbdctl_parse_u32(optarg, 1, PRBD_NODE_ID_MAX, &o->node)) {
				prbdctl_err("invalid --node '%s': must be 1..%d",
					    optarg, PRBD_NODE_ID_MAX);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'f':
			o->set |= OPT_FORCE;
			break;
		case 'L':
			o->set |= OPT_LOG_SIZE;
			if (prbdctl_parse_size(optarg, &o->log_size) ||
			    !o->log_size) {
				prbdctl_err("invalid --log-size '%s'", optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'B':
			o->set |= OPT_BLOCK_SIZE;
			if (prbdctl_parse_u32(optarg, 512, 4096, &o->block_size) ||
			    (o->block_size & (o->block_size - 1))) {
				prbdctl_err("invalid --block-size '%s': 512, 1024, 2048 or 4096",
					    optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'd':
			o->set |= OPT_DISK;
			o->disk = optarg;
			break;
		case 'u':
			o->set |= OPT_CLUSTER_UUID;
			if (prbdctl_parse_uuid(optarg, o->cluster_uuid)) {
				prbdctl_err("invalid --cluster-uuid '%s'", optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'i':
			o->set |= OPT_NODE_ID;
			if (prbdctl_parse_u32(optarg, 1, PRBD_NODE_ID_MAX, &o->node_id)) {
				prbdctl_err("invalid --node-id '%s': must be 1..%d",
					    optarg, PRBD_NODE_ID_MAX);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'm':
			o->set |= OPT_MINOR;
			if (prbdctl_parse_u32(optarg, 0, PRBD_MINOR_MAX, &o->minor)) {
				prbdctl_err("invalid --minor '%s': must be 0..%d",
					    optarg, PRBD_MINOR_MAX);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 's':
			o->set |= OPT_SECRET_FILE;
			o->secret_file = optarg;
			break;
		case 'q':
			o->set |= OPT_ON_NO_QUORUM;
			if (!strcmp(optarg, "block")) {
				o->on_no_quorum = PRBD_ON_NO_QUORUM_BLOCK;
			} else if (!strcmp(optarg, "io-error")) {
				o->on_no_quorum = PRBD_ON_NO_QUORUM_IO_ERROR;
			} else {
				prbdctl_err("invalid --on-no-quorum '%s': block or io-error",
					    optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'l':
			o->set |= OPT_LEARNER;
			break;
		case 'C':
			o->set |= OPT_COUNT;
			if (prbdctl_parse_u32(optarg, 1, UINT32_MAX, &v)) {
				prbdctl_err("invalid --count '%s'", optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			o->count = v;
			break;
		case 't':
			o->set |= OPT_TIMEOUT;
			if (prbdctl_parse_u32(optarg, 0, 86400, &v)) {
				prbdctl_err("invalid --timeout '%s': seconds, 0..86400",
					    optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			o->timeout_ms = v * 1000;
			break;
		case 'a':
			o->set |= OPT_LISTEN;
			if (prbdctl_parse_addr(optarg, &o->listen)) {
				prbdctl_err("invalid --listen '%s': use IPV4[:PORT] or [IPV6][:PORT] with a unicast address, port 1..65535",
					    optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'r':
			o->set |= OPT_RANGE;
			why = prbdctl_parse_range(optarg, &o->range_start,
						  &o->range_len);
			if (why) {
				prbdctl_err("invalid --range '%s': %s", optarg,
					    why);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'p':
			o->set |= OPT_PEER;
			if (prbdctl_parse_u32(optarg, 1, PRBD_NODE_ID_MAX, &o->peer)) {
				prbdctl_err("invalid --peer '%s': must be a node id 1..%d",
					    optarg, PRBD_NODE_ID_MAX);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'R':
			o->set |= OPT_RESYNC_RATE;
			if (prbdctl_parse_rate(optarg, &o->resync_rate)) {
				prbdctl_err("invalid --resync-rate '%s': bytes/s with K, M or G (e.g. 20M), at most 4G; 0 for no cap",
					    optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			break;
		case 'k':
			o->set |= OPT_CHUNK_SIZE;
			if (prbdctl_parse_size(optarg, &v64) || v64 < 65536 ||
			    v64 > (64 << 20) || (v64 & (v64 - 1))) {
				prbdctl_err("invalid --chunk-size '%s': a power of two from 64K to 64M",
					    optarg);
				return PRBDCTL_EXIT_USAGE;
			}
			o->chunk_shift = __builtin_ctzll(v64);
			break;
		case 'N':
			o->set |= OPT_ALLOW_NO_SECRET;
			o->allow_no_secret = true;
			break;
		case 'h':
			prbdctl_usage(stdout);
			exit(PRBDCTL_EXIT_OK);
		case 'V':
			printf("prbdctl %s (netlink family %s v%d, metadata v%d)\n",
			       PRBDCTL_VERSION, PRBD_FAMILY_NAME,
			       PRBD_FAMILY_VERSION, PRBD_DISK_VERSION);
			exit(PRBDCTL_EXIT_OK);
		default:
			return PRBDCTL_EXIT_USAGE;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct prbdctl_opts o = { 0 };
	const struct prbdctl_cmd *c = NULL;
	unsigned int bad;
	int nargs, ret;
	size_t i;

	ret = prbdctl_parse_opts(argc, argv, &o);
	if (ret) {
		fprintf(stderr, "Try '%s --help'.\n", prbdctl_prog);
		return ret;
	}
	if (optind >= argc) {
		prbdctl_usage(stderr);
		return PRBDCTL_EXIT_USAGE;
	}
	for (i = 0; i < PRBDCTL_NR_CMDS; i++)
		if (!strcmp(argv[optind], prbdctl_cmds[i].name))
			c = &prbdctl_cmds[i];
	if (!c) {
		prbdctl_err("unknown command '%s'; try '%s --help'", argv[optind],
			    prbdctl_prog);
		return PRBDCTL_EXIT_USAGE;
	}
	nargs = argc - optind - 1;
	if (nargs < c->min_args || nargs > c->max_args) {
		prbdctl_err("usage: %s %s", prbdctl_prog, c->usage);
		return PRBDCTL_EXIT_USAGE;
	}
	bad = o.set & ~(c->opts | OPT_GLOBAL);
	if (bad) {
		prbdctl_err("option --%s does not apply to %s",
			    prbdctl_opt_name(bad & -bad), c->name);
		return PRBDCTL_EXIT_USAGE;
	}
	return c->fn(c, nargs, argv + optind + 1, &o);
}
