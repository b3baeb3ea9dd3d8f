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
#define PRBDCTL_NR_OPT_BITS	21	/* OPT_JSON .. OPT_ALLOW_NO_SECRET */

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

/*
 * What a command line has once the command table's checks passed: the
 * arguments parsed, the secret read, the resource file loaded (commands
 * with a prep step) and, for commands that talk to the kernel, the
 * netlink connection open.
 */
struct prbdctl_ctx {
	const struct prbdctl_cmd *c;
	int argc;
	char **argv;
	const char *res;		/* argv[0]: a valid resource name */
	struct prbdctl_opts *o;
	struct prbdctl_nl *nl;		/* open for CMD_NL commands */
	uint32_t node_id;		/* argv[1] with CMD_ARG2_NODE */
	uint32_t new_node_id;		/* argv[2] with CMD_ARG3_NODE */
	struct sockaddr_storage addr;	/* argv[2] with CMD_ARG3_ADDR */
	bool have_addr;
	uint8_t secret[PRBD_SECRET_MAX_LEN + 1];	/* with CMD_SECRET */
	size_t secret_len;
	struct prbdctl_res rf;		/* the resource file (up) */
};

/* What the command table checks and does before a command runs. */
enum {
	CMD_RES = 1 << 0,	/* argv[0], if given, is a resource name */
	CMD_ARG2_NODE = 1 << 1,	/* argv[1], if given, is a node id */
	CMD_ARG3_NODE = 1 << 2,	/* argv[2], if given, is a node id */
	CMD_ARG3_ADDR = 1 << 3,	/* argv[2], if given, is ADDRESS[:PORT] */
	CMD_NEED_ANY = 1 << 4,	/* one of .need is enough (else all) */
	CMD_SECRET = 1 << 5,	/* read --secret-file, if given */
	CMD_NL = 1 << 6,	/* open the netlink connection */
	CMD_FAIL_1 = 1 << 7,	/* every failure exits 1 (verify: 2 is divergent) */
};

struct prbdctl_cmd {
	const char *name;
	int (*fn)(struct prbdctl_ctx *x);
	int (*prep)(struct prbdctl_ctx *x);	/* before netlink, or NULL */
	int min_args, max_args;
	unsigned int opts;	/* OPT_* it takes */
	unsigned int flags;	/* CMD_* */
	unsigned int need;	/* OPT_* it requires (see CMD_NEED_ANY) */
	const char *need_msg;	/* the error when they are missing */
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

static int prbdctl_parse_addr_arg(const char *s, struct sockaddr_storage *ss)
{
	if (!prbdctl_parse_addr(s, ss))
		return 0;
	prbdctl_err("invalid address '%s': use IPV4[:PORT] or [IPV6][:PORT] with a unicast address",
		    s);
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

/* The end of a request that returned @err: say why it failed, or what the
 * kernel said on success, if anything (node-replace: quorum arithmetic).
 */
static int prbdctl_done(struct prbdctl_nl *nl, const char *what,
			const char *res, int err)
{
	const char *m;

	if (err)
		return prbdctl_nl_fail(nl, what, res, err);
	m = prbdctl_nl_errmsg(nl);
	if (m && *m)
		printf("%s %s: %s\n", what, res,
		       strncmp(m, "prbd: ", 6) ? m : m + 6);
	return 0;
}

/* prbdctl_simple() flags */
enum {
	SIMPLE_FORCE = 1 << 0,		/* PRBD_ATTR_FORCE */
	SIMPLE_ENODEV_OK = 1 << 1,	/* -ENODEV is success (nothing to do) */
};

/* Run a request that only has a resource name and maybe node ids and
 * SIMPLE_FORCE.
 */
static int prbdctl_simple(struct prbdctl_nl *nl, uint8_t cmd, const char *what,
			  const char *res, uint32_t node_id,
			  uint32_t new_node_id, unsigned int flags)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, cmd, res);
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	if (((flags & SIMPLE_FORCE) && nla_put_flag(msg, PRBD_ATTR_FORCE)) ||
	    (node_id && nla_put_u32(msg, PRBD_ATTR_NODE_ID, node_id)) ||
	    (new_node_id &&
	     nla_put_u32(msg, PRBD_ATTR_NEW_NODE_ID, new_node_id))) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	if (err == -ENODEV && (flags & SIMPLE_ENODEV_OK))
		return 0;
	return prbdctl_done(nl, what, res, err);
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

/* Open a PRBD_ATTR_PEER nest with the node id and address of a peer; the
 * caller adds what else it needs and ends the nest.
 */
static struct nlattr *prbdctl_put_peer(struct nl_msg *msg, uint32_t node_id,
				       const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	struct nlattr *nest = nla_nest_start(msg, PRBD_ATTR_PEER);

	if (!nest ||
	    nla_put_u32(msg, PRBD_PEER_ATTR_NODE_ID, node_id) ||
	    (ss->ss_family == AF_INET ?
	     nla_put_u32(msg, PRBD_PEER_ATTR_ADDR4, s4->sin_addr.s_addr) ||
	     nla_put_u16(msg, PRBD_PEER_ATTR_PORT, ntohs(s4->sin_port)) :
	     nla_put(msg, PRBD_PEER_ATTR_ADDR6, 16, &s6->sin6_addr) ||
	     nla_put_u16(msg, PRBD_PEER_ATTR_PORT, ntohs(s6->sin6_port))))
		return NULL;
	return nest;
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

/* The attributes of PRBD_CMD_RES_NEW. */
struct prbdctl_new_res {
	const char *name;
	uint32_t minor;
	uint32_t node_id;
	const uint8_t *cluster_uuid;
	const uint8_t *secret;
	size_t secret_len;
	bool allow_no_secret;
	uint32_t on_no_quorum;
	const struct sockaddr_storage *listen;	/* NULL: none */
	uint32_t resync_rate;
	uint32_t role;
};

static int prbdctl_res_new(struct prbdctl_nl *nl,
			   const struct prbdctl_new_res *r)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, PRBD_CMD_RES_NEW, r->name);
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	if (nla_put_u32(msg, PRBD_ATTR_MINOR, r->minor) ||
	    nla_put_u32(msg, PRBD_ATTR_NODE_ID, r->node_id) ||
	    nla_put(msg, PRBD_ATTR_CLUSTER_UUID, PRBD_UUID_LEN,
		    r->cluster_uuid) ||
	    (r->secret_len &&
	     nla_put(msg, PRBD_ATTR_SECRET, r->secret_len, r->secret)) ||
	    (r->allow_no_secret &&
	     nla_put_flag(msg, PRBD_ATTR_ALLOW_NO_SECRET)) ||
	    nla_put_u32(msg, PRBD_ATTR_ON_NO_QUORUM, r->on_no_quorum) ||
	    nla_put_u32(msg, PRBD_ATTR_RESYNC_RATE, r->resync_rate) ||
	    nla_put_u32(msg, PRBD_ATTR_MEMBER_ROLE, r->role) ||
	    prbdctl_put_listen(msg, r->listen)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	return err ? prbdctl_nl_fail(nl, "new-resource", r->name, err) : 0;
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
	struct nl_msg *msg = prbdctl_res_msg(nl, PRBD_CMD_PEER_ADD, res);
	struct nlattr *nest;
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	nest = prbdctl_put_peer(msg, node_id, ss);
	if (!nest || nla_put_u32(msg, PRBD_PEER_ATTR_MEMBER_ROLE, role)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	nla_nest_end(msg, nest);
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	return err ? prbdctl_nl_fail(nl, "peer-add", res, err) : 0;
}

/* PRBD_CMD_UP with the resource file's durability. */
static int prbdctl_up(struct prbdctl_nl *nl, const char *res,
		      uint32_t durability)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, PRBD_CMD_UP, res);
	int err;

	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	if (nla_put_u32(msg, PRBD_ATTR_DURABILITY, durability)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	return prbdctl_done(nl, "up", res, err);
}

/* Best effort, errors ignored: used to roll back a failed "up". */
static void prbdctl_undo(struct prbdctl_nl *nl, uint8_t cmd, const char *res)
{
	struct nl_msg *msg = prbdctl_res_msg(nl, cmd, res);

	if (msg)
		prbdctl_nl_run(nl, msg, NULL, NULL);
}

/* The resource file of RES and the local node in it, which has a disk. */
static int prbdctl_load_local(struct prbdctl_ctx *x)
{
	int ret;

	ret = prbdctl_res_load(x->argv[0], x->o->config, &x->rf);
	if (!ret)
		ret = prbdctl_res_pick_local(&x->rf, x->o->node);
	if (ret || x->rf.local->disk[0])
		return ret;
	prbdctl_err("%s: [node %u] has no disk", x->rf.path,
		    x->rf.local->node_id);
	return PRBDCTL_EXIT_CONFIG;
}

/* ---- commands --------------------------------------------------------- */

static int cmd_create_md(struct prbdctl_ctx *x)
{
	const struct prbdctl_opts *o = x->o;
	struct prbdctl_md_opts mo = {
		.log_size = o->log_size,
		.block_size = o->block_size,
		.chunk_shift = o->chunk_shift,
		.force = o->set & OPT_FORCE,
	};
	int ret;

	if (x->argc == 1) {
		if (o->set & (OPT_DISK | OPT_CLUSTER_UUID | OPT_NODE_ID)) {
			prbdctl_err("create-md RES takes the disk, cluster-uuid and node id from the resource file");
			return PRBDCTL_EXIT_USAGE;
		}
		ret = prbdctl_load_local(x);
		if (ret)
			return ret;
		mo.dev = x->rf.local->disk;
		memcpy(mo.cluster_uuid, x->rf.cluster_uuid, PRBD_UUID_LEN);
		mo.node_id = x->rf.local->node_id;
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

static int cmd_show_md(struct prbdctl_ctx *x)
{
	return prbdctl_show_md(x->argv[0]);
}

static int cmd_check_config(struct prbdctl_ctx *x)
{
	struct prbdctl_res *res = &x->rf;
	char uuid[37], addr[80], rate[32];
	unsigned int i;
	int ret;

	ret = prbdctl_res_load(x->argv[0], x->o->config, res);
	if (!ret)
		ret = prbdctl_res_pick_local(res, x->o->node);
	if (ret)
		return ret;
	prbdctl_format_uuid(res->cluster_uuid, uuid);
	if (prbdctl_json) {
		printf("{\"file\":");
		prbdctl_json_str(stdout, res->path);
		printf(",\"name\":\"%s\",\"minor\":%u,\"cluster_uuid\":\"%s\","
		       "\"on_no_quorum\":\"%s\",\"durability\":\"%s\","
		       "\"resync_rate_cap\":%u,\"secret\":%s,"
		       "\"local_node_id\":%u,\"nodes\":[",
		       res->name, res->minor, uuid,
		       res->on_no_quorum ? "io-error" : "block",
		       res->durability ? "flush" : "strict", res->resync_rate,
		       res->secret_len ? "true" : "false", res->local->node_id);
	} else {
		prbdctl_fmt_rate_kib(res->resync_rate, rate, sizeof(rate));
		printf("%s: resource %s minor %u cluster %s on-no-quorum %s%s\n",
		       res->path, res->name, res->minor, uuid,
		       res->on_no_quorum ? "io-error" : "block",
		       res->secret_len ? " (secret set)" : "");
		printf("  resync-rate %s durability %s\n", rate,
		       res->durability ? "flush" : "strict");
	}
	for (i = 0; i < res->nr_nodes; i++) {
		struct prbdctl_node *n = &res->nodes[i];

		prbdctl_format_addr(&n->addr, addr, sizeof(addr),
				    PRBDCTL_ADDR_HOST_PORT);
		if (prbdctl_json) {
			printf("%s{\"node_id\":%u,\"address\":\"%s\",\"disk\":",
			       i ? "," : "", n->node_id, addr);
			if (n->disk[0])
				prbdctl_json_str(stdout, n->disk);
			else
				printf("null");
			printf(",\"role\":\"%s\",\"local\":%s}",
			       prbdctl_node_role_name(n),
			       n == res->local ? "true" : "false");
		} else {
			printf("  node %u %s disk %s %s%s\n", n->node_id, addr,
			       n->disk[0] ? n->disk : "-",
			       prbdctl_node_role_name(n),
			       n == res->local ? " (local)" : "");
		}
	}
	if (prbdctl_json)
		printf("]}\n");
	return 0;
}

/* up RES: the resource file is loaded by prbdctl_load_local() first */
static int cmd_up(struct prbdctl_ctx *x)
{
	struct prbdctl_res *res = &x->rf;
	struct prbdctl_new_res nr = {
		.name = res->name,
		.minor = res->minor,
		.node_id = res->local->node_id,
		.cluster_uuid = res->cluster_uuid,
		.secret = res->secret,
		.secret_len = res->secret_len,
		.allow_no_secret = res->allow_no_secret,
		.on_no_quorum = res->on_no_quorum,
		.listen = &res->local->addr,
		.resync_rate = res->resync_rate,
		.role = prbdctl_node_role(res->local),
	};
	unsigned int i;
	int ret;

	ret = prbdctl_res_new(x->nl, &nr);
	if (ret)
		return ret;
	ret = prbdctl_attach(x->nl, res->name, res->local->disk);
	if (ret)
		goto out_undo;
	for (i = 0; i < res->nr_nodes; i++) {
		if (&res->nodes[i] == res->local)
			continue;
		ret = prbdctl_peer_add(x->nl, res->name, res->nodes[i].node_id,
				       &res->nodes[i].addr,
				       prbdctl_node_role(&res->nodes[i]));
		if (ret)
			goto out_undo;
	}
	ret = prbdctl_up(x->nl, res->name, res->durability);
	if (!ret)
		return 0;

out_undo:
	/* leave nothing behind: stop, detach and delete what we created */
	prbdctl_undo(x->nl, PRBD_CMD_DOWN, res->name);
	prbdctl_undo(x->nl, PRBD_CMD_DETACH, res->name);
	prbdctl_undo(x->nl, PRBD_CMD_RES_DEL, res->name);
	return ret;
}

static int cmd_down(struct prbdctl_ctx *x)
{
	int ret;

	ret = prbdctl_simple(x->nl, PRBD_CMD_DOWN, "down", x->res, 0, 0, 0);
	if (!ret)
		ret = prbdctl_simple(x->nl, PRBD_CMD_DETACH, "detach", x->res,
				     0, 0, SIMPLE_ENODEV_OK);
	if (!ret)
		ret = prbdctl_simple(x->nl, PRBD_CMD_RES_DEL, "del-resource",
				     x->res, 0, 0, 0);
	return ret;
}

static int cmd_new_resource(struct prbdctl_ctx *x)
{
	const struct prbdctl_opts *o = x->o;
	struct prbdctl_new_res nr = {
		.name = x->res,
		.minor = o->minor,
		.node_id = o->node_id,
		.cluster_uuid = o->cluster_uuid,
		.secret = x->secret,
		.secret_len = x->secret_len,
		.allow_no_secret = o->allow_no_secret,
		.on_no_quorum = o->on_no_quorum,
		.listen = o->set & OPT_LISTEN ? &o->listen : NULL,
		.resync_rate = o->resync_rate,
		.role = PRBD_MEMBER_ROLE_VOTER,
	};

	return prbdctl_res_new(x->nl, &nr);
}

static int cmd_set(struct prbdctl_ctx *x)
{
	const struct prbdctl_opts *o = x->o;
	struct nl_msg *msg = prbdctl_res_msg(x->nl, PRBD_CMD_RES_SET, x->res);
	int err;

	if (!msg ||
	    ((o->set & OPT_ON_NO_QUORUM) &&
	     nla_put_u32(msg, PRBD_ATTR_ON_NO_QUORUM, o->on_no_quorum)) ||
	    (x->secret_len &&
	     nla_put(msg, PRBD_ATTR_SECRET, x->secret_len, x->secret)) ||
	    ((o->set & OPT_RESYNC_RATE) &&
	     nla_put_u32(msg, PRBD_ATTR_RESYNC_RATE, o->resync_rate)) ||
	    prbdctl_put_listen(msg, o->set & OPT_LISTEN ? &o->listen : NULL)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(x->nl, msg, NULL, NULL);
	return err ? prbdctl_nl_fail(x->nl, "set", x->res, err) : 0;
}

static int prep_attach(struct prbdctl_ctx *x)
{
	if (x->argv[1][0] == '/')
		return 0;
	prbdctl_err("backing device must be an absolute path");
	return PRBDCTL_EXIT_USAGE;
}

static int cmd_attach(struct prbdctl_ctx *x)
{
	return prbdctl_attach(x->nl, x->res, x->argv[1]);
}

/* del-resource, detach, start, stop, primary, secondary, peer-del and the
 * membership commands: RES [NODE_ID [NEW_NODE_ID]].
 */
static int cmd_generic(struct prbdctl_ctx *x)
{
	return prbdctl_simple(x->nl, x->c->nl_cmd, x->c->name, x->res,
			      x->node_id, x->new_node_id,
			      x->o->set & OPT_FORCE ? SIMPLE_FORCE : 0);
}

/*
 * node-add and learner-add: RES NODE_ID [ADDRESS[:PORT]].  With an
 * address, a node that is no peer yet becomes one (the kernel refuses an
 * address another node uses, or a different one for a known node).
 */
static int cmd_node_add(struct prbdctl_ctx *x)
{
	struct nlattr *nest = NULL;
	struct nl_msg *msg;

	if (!x->have_addr)
		return cmd_generic(x);
	msg = prbdctl_res_msg(x->nl, x->c->nl_cmd, x->res);
	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	if (!nla_put_u32(msg, PRBD_ATTR_NODE_ID, x->node_id))
		nest = prbdctl_put_peer(msg, x->node_id, &x->addr);
	if (!nest) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	nla_nest_end(msg, nest);
	return prbdctl_done(x->nl, x->c->name, x->res,
			    prbdctl_nl_run(x->nl, msg, NULL, NULL));
}

static int cmd_peer_add(struct prbdctl_ctx *x)
{
	return prbdctl_peer_add(x->nl, x->res, x->node_id, &x->addr,
				x->o->set & OPT_LEARNER ?
				PRBD_MEMBER_ROLE_LEARNER :
				PRBD_MEMBER_ROLE_VOTER);
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
 * verify RES [--range START:LEN]: join the events group on a second
 * connection before the request is sent (so no event of the run can be
 * missed), send verify, then follow the run's verify-ntf until it finishes
 * or aborts.  Exit 0: nothing diverges, 2: something does, 1: aborted,
 * timed out or refused (CMD_FAIL_1).
 */
static int cmd_verify(struct prbdctl_ctx *x)
{
	struct prbdctl_verify_state st = { .res = x->res, .result = 1 };
	struct prbdctl_nl *ev;
	struct nl_msg *msg;
	int ret = 1, err;

	ev = prbdctl_connect(&err);
	if (!ev)
		return ret;
	err = prbdctl_nl_join_events(ev);
	if (err) {
		prbdctl_nl_fail(ev, "verify", x->res, err);
		goto out_close;
	}
	msg = prbdctl_res_msg(x->nl, PRBD_CMD_VERIFY, x->res);
	if (!msg || prbdctl_put_range(msg, x->o)) {
		nlmsg_free(msg);
		goto out_close;
	}
	err = prbdctl_nl_run(x->nl, msg, NULL, NULL);
	if (err) {
		prbdctl_nl_fail(x->nl, "verify", x->res, err);
		goto out_close;
	}
	err = prbdctl_nl_wait_events(ev, PRBDCTL_VERIFY_IDLE_MS,
				     prbdctl_verify_cb, &st);
	if (err == -ETIMEDOUT)
		prbdctl_err("verify %s: no verify event for %d s; giving up (the run may go on: see prbdctl status)",
			    x->res, PRBDCTL_VERIFY_IDLE_MS / 1000);
	else if (err == -EINTR)
		prbdctl_err("verify %s: interrupted (the run goes on: see prbdctl status)",
			    x->res);
	else if (err)
		prbdctl_nl_fail(ev, "verify", x->res, err);
	if (!err)
		ret = st.result;
out_close:
	prbdctl_nl_close(ev);
	return ret;
}

/* resync RES --peer N [--range START:LEN] */
static int cmd_resync(struct prbdctl_ctx *x)
{
	struct nl_msg *msg = prbdctl_res_msg(x->nl, PRBD_CMD_RESYNC, x->res);
	int err;

	if (!msg || nla_put_u32(msg, PRBD_ATTR_NODE_ID, x->o->peer) ||
	    prbdctl_put_range(msg, x->o)) {
		nlmsg_free(msg);
		return PRBDCTL_EXIT_KERNEL;
	}
	err = prbdctl_nl_run(x->nl, msg, NULL, NULL);
	if (err)
		return prbdctl_nl_fail(x->nl, "resync", x->res, err);
	printf("resync of node %u requested\n", x->o->peer);
	return 0;
}

static int prep_status(struct prbdctl_ctx *x)
{
	prbdctl_status_config = x->o->config;
	return 0;
}

static int cmd_status(struct prbdctl_ctx *x)
{
	struct nl_msg *msg;
	int err;

	if (x->res)
		msg = prbdctl_res_msg(x->nl, PRBD_CMD_RES_GET, x->res);
	else
		msg = prbdctl_nl_msg(x->nl, PRBD_CMD_RES_GET, NLM_F_DUMP);
	if (!msg)
		return PRBDCTL_EXIT_KERNEL;
	prbdctl_status_begin();
	err = prbdctl_nl_run(x->nl, msg, prbdctl_print_res, NULL);
	if (err) {
		if (prbdctl_json)
			printf("]\n");
		fflush(stdout);
		return prbdctl_nl_fail(x->nl, "status", x->res ? x->res : "",
				       err);
	}
	prbdctl_status_end();
	return 0;
}

static int cmd_events(struct prbdctl_ctx *x)
{
	const struct prbdctl_opts *o = x->o;
	int err;

	err = prbdctl_nl_events(x->nl, o->set & OPT_COUNT ? o->count : -1,
				o->set & OPT_TIMEOUT ? o->timeout_ms : -1,
				prbdctl_print_event, NULL);
	return err ? prbdctl_nl_fail(x->nl, "events", "", err) : 0;
}

/* the flags of the commands that send one request about RES */
#define CMD_REQ		(CMD_RES | CMD_NL)
#define CMD_MEMBER	(CMD_REQ | CMD_ARG2_NODE)

static const struct prbdctl_cmd prbdctl_cmds[] = {
	{ "create-md", cmd_create_md, NULL, 0, 1,
	  OPT_CONFIG | OPT_NODE | OPT_FORCE | OPT_LOG_SIZE | OPT_BLOCK_SIZE |
	  OPT_DISK | OPT_CLUSTER_UUID | OPT_NODE_ID | OPT_CHUNK_SIZE, 0, 0, NULL,
	  "create-md RES | create-md --disk DEV --cluster-uuid UUID --node-id N\n"
	  "\t\t[--log-size SIZE] [--block-size BYTES] [--chunk-size SIZE] [--force]",
	  0 },
	{ "show-md", cmd_show_md, NULL, 1, 1, 0, 0, 0, NULL, "show-md DEV", 0 },
	{ "check-config", cmd_check_config, NULL, 1, 1, OPT_CONFIG | OPT_NODE,
	  0, 0, NULL, "check-config RES", 0 },
	{ "up", cmd_up, prbdctl_load_local, 1, 1, OPT_CONFIG | OPT_NODE, CMD_NL,
	  0, NULL, "up RES", 0 },
	{ "down", cmd_down, NULL, 1, 1, 0, CMD_REQ, 0, NULL, "down RES", 0 },
	{ "new-resource", cmd_new_resource, NULL, 1, 1,
	  OPT_MINOR | OPT_NODE_ID | OPT_CLUSTER_UUID | OPT_SECRET_FILE |
	  OPT_ON_NO_QUORUM | OPT_LISTEN | OPT_RESYNC_RATE | OPT_ALLOW_NO_SECRET,
	  CMD_REQ | CMD_SECRET, OPT_MINOR | OPT_NODE_ID | OPT_CLUSTER_UUID,
	  "new-resource needs --minor, --node-id and --cluster-uuid",
	  "new-resource RES --minor M --node-id N --cluster-uuid UUID\n"
	  "\t\t[--secret-file FILE] [--allow-no-secret]\n"
	  "\t\t[--on-no-quorum block|io-error]\n"
	  "\t\t[--listen ADDRESS[:PORT]] [--resync-rate RATE]", 0 },
	{ "del-resource", cmd_generic, NULL, 1, 1, 0, CMD_REQ, 0, NULL,
	  "del-resource RES", PRBD_CMD_RES_DEL },
	{ "set", cmd_set, NULL, 1, 1,
	  OPT_SECRET_FILE | OPT_ON_NO_QUORUM | OPT_LISTEN | OPT_RESYNC_RATE,
	  CMD_REQ | CMD_SECRET | CMD_NEED_ANY,
	  OPT_ON_NO_QUORUM | OPT_SECRET_FILE | OPT_LISTEN | OPT_RESYNC_RATE,
	  "set needs --on-no-quorum, --secret-file, --listen and/or --resync-rate",
	  "set RES [--on-no-quorum block|io-error] [--secret-file FILE]\n"
	  "\t\t[--listen ADDRESS[:PORT]] [--resync-rate RATE]", 0 },
	{ "attach", cmd_attach, prep_attach, 2, 2, 0, CMD_REQ, 0, NULL,
	  "attach RES DEV", 0 },
	{ "detach", cmd_generic, NULL, 1, 1, OPT_FORCE, CMD_REQ, 0, NULL,
	  "detach RES [--force]", PRBD_CMD_DETACH },
	{ "start", cmd_generic, NULL, 1, 1, 0, CMD_REQ, 0, NULL, "start RES",
	  PRBD_CMD_UP },
	{ "stop", cmd_generic, NULL, 1, 1, 0, CMD_REQ, 0, NULL, "stop RES",
	  PRBD_CMD_DOWN },
	{ "primary", cmd_generic, NULL, 1, 1, OPT_FORCE, CMD_REQ, 0, NULL,
	  "primary RES [--force]", PRBD_CMD_PRIMARY },
	{ "secondary", cmd_generic, NULL, 1, 1, 0, CMD_REQ, 0, NULL,
	  "secondary RES", PRBD_CMD_SECONDARY },
	{ "peer-add", cmd_peer_add, NULL, 3, 3, OPT_LEARNER,
	  CMD_MEMBER | CMD_ARG3_ADDR, 0, NULL,
	  "peer-add RES NODE_ID ADDRESS[:PORT] [--learner]", 0 },
	{ "peer-del", cmd_generic, NULL, 2, 2, 0, CMD_MEMBER, 0, NULL,
	  "peer-del RES NODE_ID", PRBD_CMD_PEER_DEL },
	{ "node-add", cmd_node_add, NULL, 2, 3, 0, CMD_MEMBER | CMD_ARG3_ADDR,
	  0, NULL, "node-add RES NODE_ID [ADDRESS[:PORT]]", PRBD_CMD_NODE_ADD },
	{ "node-del", cmd_generic, NULL, 2, 2, 0, CMD_MEMBER, 0, NULL,
	  "node-del RES NODE_ID", PRBD_CMD_NODE_DEL },
	{ "node-replace", cmd_generic, NULL, 3, 3, 0,
	  CMD_MEMBER | CMD_ARG3_NODE, 0, NULL,
	  "node-replace RES NODE_ID NEW_NODE_ID", PRBD_CMD_NODE_REPLACE },
	{ "learner-add", cmd_node_add, NULL, 2, 3, 0,
	  CMD_MEMBER | CMD_ARG3_ADDR, 0, NULL,
	  "learner-add RES NODE_ID [ADDRESS[:PORT]]", PRBD_CMD_LEARNER_ADD },
	{ "leader-transfer", cmd_generic, NULL, 2, 2, 0, CMD_MEMBER, 0, NULL,
	  "leader-transfer RES NODE_ID", PRBD_CMD_LEADER_TRANSFER },
	{ "verify", cmd_verify, NULL, 1, 1, OPT_RANGE, CMD_REQ | CMD_FAIL_1,
	  0, NULL, "verify RES [--range START:LEN]", 0 },
	{ "resync", cmd_resync, NULL, 1, 1, OPT_PEER | OPT_RANGE, CMD_REQ,
	  OPT_PEER, "resync needs --peer N: the node to resync (this node or a peer)",
	  "resync RES --peer N [--range START:LEN]", 0 },
	{ "status", cmd_status, prep_status, 0, 1, 0, CMD_REQ, 0, NULL,
	  "status [RES]", 0 },
	{ "events", cmd_events, NULL, 0, 0, OPT_COUNT | OPT_TIMEOUT, CMD_NL,
	  0, NULL, "events [--count N] [--timeout SECONDS]", 0 },
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
	const char *bad, *name = NULL;
	char why[128];
	uint64_t v64;
	uint32_t v = 0;
	int c, idx;
	unsigned int i;

	while ((c = getopt_long(argc, argv, "jc:n:fh", prbdctl_long_opts,
				&idx)) != -1) {
		/* the first entries of prbdctl_long_opts are the OPT_* bits */
		for (i = 0; i < PRBDCTL_NR_OPT_BITS; i++)
			if (prbdctl_long_opts[i].val == c) {
				o->set |= 1u << i;
				name = prbdctl_long_opts[i].name;
			}
		bad = NULL;
		why[0] = '\0';
		switch (c) {
		case 'j':
			prbdctl_json = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'n':
			if (prbdctl_parse_u32(optarg, 1, PRBD_NODE_ID_MAX, &o->node))
				snprintf(why, sizeof(why), ": must be 1..%d",
					 PRBD_NODE_ID_MAX);
			break;
		case 'f':
		case 'l':
			break;
		case 'L':
			if (prbdctl_parse_size(optarg, &o->log_size) ||
			    !o->log_size)
				bad = "";
			break;
		case 'B':
			if (prbdctl_parse_u32(optarg, 512, 4096, &o->block_size) ||
			    (o->block_size & (o->block_size - 1)))
				bad = ": 512, 1024, 2048 or 4096";
			break;
		case 'd':
			o->disk = optarg;
			break;
		case 'u':
			if (prbdctl_parse_uuid(optarg, o->cluster_uuid))
				bad = "";
			break;
		case 'i':
			if (prbdctl_parse_u32(optarg, 1, PRBD_NODE_ID_MAX,
					      &o->node_id))
				snprintf(why, sizeof(why), ": must be 1..%d",
					 PRBD_NODE_ID_MAX);
			break;
		case 'm':
			if (prbdctl_parse_u32(optarg, 0, PRBD_MINOR_MAX, &o->minor))
				snprintf(why, sizeof(why), ": must be 0..%d",
					 PRBD_MINOR_MAX);
			break;
		case 's':
			o->secret_file = optarg;
			break;
		case 'q':
			if (!strcmp(optarg, "block"))
				o->on_no_quorum = PRBD_ON_NO_QUORUM_BLOCK;
			else if (!strcmp(optarg, "io-error"))
				o->on_no_quorum = PRBD_ON_NO_QUORUM_IO_ERROR;
			else
				bad = ": block or io-error";
			break;
		case 'C':
			if (prbdctl_parse_u32(optarg, 1, UINT32_MAX, &v))
				bad = "";
			o->count = v;
			break;
		case 't':
			if (prbdctl_parse_u32(optarg, 0, 86400, &v))
				bad = ": seconds, 0..86400";
			o->timeout_ms = v * 1000;
			break;
		case 'a':
			if (prbdctl_parse_addr(optarg, &o->listen))
				bad = ": use IPV4[:PORT] or [IPV6][:PORT] with a unicast address, port 1..65535";
			break;
		case 'r':
			bad = prbdctl_parse_range(optarg, &o->range_start,
						  &o->range_len);
			if (bad)
				snprintf(why, sizeof(why), ": %s", bad);
			break;
		case 'p':
			if (prbdctl_parse_u32(optarg, 1, PRBD_NODE_ID_MAX, &o->peer))
				snprintf(why, sizeof(why),
					 ": must be a node id 1..%d",
					 PRBD_NODE_ID_MAX);
			break;
		case 'R':
			if (prbdctl_parse_rate(optarg, &o->resync_rate))
				bad = ": bytes/s with K, M or G (e.g. 20M), at most 4G; 0 for no cap";
			break;
		case 'k':
			if (prbdctl_parse_size(optarg, &v64) || v64 < 65536 ||
			    v64 > (64 << 20) || (v64 & (v64 - 1)))
				bad = ": a power of two from 64K to 64M";
			else
				o->chunk_shift = __builtin_ctzll(v64);
			break;
		case 'N':
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
		if (bad || why[0]) {
			prbdctl_err("invalid --%s '%s'%s", name, optarg,
				    why[0] ? why : bad);
			return PRBDCTL_EXIT_USAGE;
		}
	}
	return 0;
}

/*
 * Check what the command table says of @c (resource name, node ids,
 * address, required options), read the secret, run its prep step, open
 * the netlink connection if it talks to the kernel, then run it.
 */
static int prbdctl_run_cmd(const struct prbdctl_cmd *c, int argc, char **argv,
			   struct prbdctl_opts *o)
{
	static struct prbdctl_ctx ctx;
	struct prbdctl_ctx *x = &ctx;
	unsigned int need;
	int ret = 0;

	x->c = c;
	x->argc = argc;
	x->argv = argv;
	x->o = o;
	if ((c->flags & CMD_RES) && argc) {
		ret = prbdctl_check_res_name(argv[0]);
		x->res = argv[0];
	}
	if (!ret && (c->flags & CMD_ARG2_NODE) && argc > 1)
		ret = prbdctl_parse_node_arg(argv[1], &x->node_id);
	if (!ret && (c->flags & CMD_ARG3_NODE) && argc > 2)
		ret = prbdctl_parse_node_arg(argv[2], &x->new_node_id);
	if (!ret && (c->flags & CMD_ARG3_ADDR) && argc > 2) {
		ret = prbdctl_parse_addr_arg(argv[2], &x->addr);
		x->have_addr = true;
	}
	if (ret)
		return ret;
	need = o->set & c->need;
	if (c->need && (c->flags & CMD_NEED_ANY ? !need : need != c->need)) {
		prbdctl_err("%s", c->need_msg);
		return PRBDCTL_EXIT_USAGE;
	}
	if ((c->flags & CMD_SECRET) && o->secret_file)
		ret = prbdctl_read_secret(o->secret_file, x->secret,
					  &x->secret_len);
	if (!ret && c->prep)
		ret = c->prep(x);
	if (ret)
		return ret;
	if (c->flags & CMD_NL) {
		x->nl = prbdctl_connect(&ret);
		if (!x->nl)
			return c->flags & CMD_FAIL_1 ? 1 : ret;
	}
	ret = c->fn(x);
	prbdctl_nl_close(x->nl);
	return ret;
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
	return prbdctl_run_cmd(c, nargs, argv + optind + 1, &o);
}
