// SPDX-License-Identifier: GPL-2.0
/*
 * prbdctl - resource files (/etc/prbd.d/RES.res), parsed with libinih.
 *
 *   [resource]
 *   name = r0
 *   minor = 0
 *   cluster-uuid = 6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60
 *   secret = some-shared-secret          ; optional
 *   allow-no-secret = no                 ; yes: several nodes may run without
 *                                        ; a secret (no authentication)
 *   on-no-quorum = block                 ; or io-error; default block
 *   durability = strict                  ; or flush (experimental: the
 *                                        ; module refuses it unless loaded
 *                                        ; with experimental_flush=1)
 *   resync-rate = 20M                    ; bytes/s cap as resync target
 *   node-id = 1                          ; optional: the local node
 *
 *   [node 1]
 *   address = 10.77.0.1:7790             ; port defaults to 7790
 *   disk = /dev/vda
 *   role = voter                         ; or learner, or none (a node
 *                                        ; waiting to be added); default voter
 *
 * Every key is checked; unknown sections and keys, duplicates and bad
 * values are errors reported as FILE:LINE: message.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prbdctl.h"

struct prbdctl_ini_ctx {
	struct prbdctl_res *res;
	char err[256];
	unsigned int seen;	/* PRBDCTL_SEEN_* of [resource] */
	unsigned int node_seen[PRBD_NODE_ID_MAX + 1];	/* PRBDCTL_NODE_SEEN_* */
};

enum {
	PRBDCTL_SEEN_NAME = 1 << 0,
	PRBDCTL_SEEN_MINOR = 1 << 1,
	PRBDCTL_SEEN_UUID = 1 << 2,
	PRBDCTL_SEEN_SECRET = 1 << 3,
	PRBDCTL_SEEN_ONQ = 1 << 4,
	PRBDCTL_SEEN_NODE_ID = 1 << 5,
	PRBDCTL_SEEN_RATE = 1 << 6,
	PRBDCTL_SEEN_NOSECRET = 1 << 7,
	PRBDCTL_SEEN_DURABILITY = 1 << 8,
};

#define PRBDCTL_NODE_SEEN_ADDR	(1 << 0)
#define PRBDCTL_NODE_SEEN_DISK	(1 << 1)
#define PRBDCTL_NODE_SEEN_ROLE	(1 << 2)

static int prbdctl_ini_fail(struct prbdctl_ini_ctx *ctx, const char *fmt,
			    const char *a, const char *b)
{
	if (!ctx->err[0])
		snprintf(ctx->err, sizeof(ctx->err), fmt, a, b);
	return 0;
}

static int prbdctl_seen(unsigned int *seen, unsigned int bit)
{
	if (*seen & bit)
		return 1;
	*seen |= bit;
	return 0;
}

static struct prbdctl_node *prbdctl_node_get(struct prbdctl_res *res,
					     uint32_t id)
{
	unsigned int i;

	for (i = 0; i < res->nr_nodes; i++)
		if (res->nodes[i].node_id == id)
			return &res->nodes[i];
	if (res->nr_nodes >= PRBD_NODE_ID_MAX)
		return NULL;
	memset(&res->nodes[res->nr_nodes], 0, sizeof(res->nodes[0]));
	res->nodes[res->nr_nodes].node_id = id;
	return &res->nodes[res->nr_nodes++];
}

static int prbdctl_ini_resource(struct prbdctl_ini_ctx *ctx, const char *key,
				const char *val)
{
	struct prbdctl_res *res = ctx->res;

	if (!strcmp(key, "name")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_NAME))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (!prbdctl_name_valid(val))
			return prbdctl_ini_fail(ctx, "invalid resource name '%s'%s", val,
						": use 1-63 of [A-Za-z0-9_.-], not starting with '.' or '-'");
		snprintf(res->name, sizeof(res->name), "%s", val);
	} else if (!strcmp(key, "minor")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_MINOR))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (prbdctl_parse_u32(val, 0, PRBD_MINOR_MAX, &res->minor))
			return prbdctl_ini_fail(ctx, "invalid minor '%s'%s", val,
						" (0..1023)");
		res->have_minor = true;
	} else if (!strcmp(key, "cluster-uuid")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_UUID))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (prbdctl_parse_uuid(val, res->cluster_uuid))
			return prbdctl_ini_fail(ctx, "invalid cluster-uuid '%s'%s", val, "");
		res->have_uuid = true;
	} else if (!strcmp(key, "secret")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_SECRET))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		res->secret_len = strlen(val);
		if (!res->secret_len || res->secret_len > PRBD_SECRET_MAX_LEN)
			return prbdctl_ini_fail(ctx, "secret must be 1..64 bytes%s%s", "", "");
		memcpy(res->secret, val, res->secret_len);
	} else if (!strcmp(key, "allow-no-secret")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_NOSECRET))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (!strcmp(val, "yes"))
			res->allow_no_secret = true;
		else if (strcmp(val, "no"))
			return prbdctl_ini_fail(ctx, "invalid allow-no-secret '%s'%s", val,
						" (yes or no)");
	} else if (!strcmp(key, "on-no-quorum")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_ONQ))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (!strcmp(val, "block"))
			res->on_no_quorum = PRBD_ON_NO_QUORUM_BLOCK;
		else if (!strcmp(val, "io-error"))
			res->on_no_quorum = PRBD_ON_NO_QUORUM_IO_ERROR;
		else
			return prbdctl_ini_fail(ctx, "invalid on-no-quorum '%s'%s", val,
						" (block or io-error)");
	} else if (!strcmp(key, "durability")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_DURABILITY))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (!strcmp(val, "strict"))
			res->durability = PRBD_DURABILITY_STRICT;
		else if (!strcmp(val, "flush"))
			res->durability = PRBD_DURABILITY_FLUSH;
		else
			return prbdctl_ini_fail(ctx, "invalid durability '%s'%s", val,
						" (strict or flush)");
	} else if (!strcmp(key, "resync-rate")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_RATE))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (prbdctl_parse_rate(val, &res->resync_rate))
			return prbdctl_ini_fail(ctx, "invalid resync-rate '%s'%s", val,
						" (bytes/s with K, M or G, at most 4G; 0 for no cap)");
	} else if (!strcmp(key, "node-id")) {
		if (prbdctl_seen(&ctx->seen, PRBDCTL_SEEN_NODE_ID))
			return prbdctl_ini_fail(ctx, "duplicate key '%s'%s", key, "");
		if (prbdctl_parse_u32(val, 1, PRBD_NODE_ID_MAX, &res->node_id))
			return prbdctl_ini_fail(ctx, "invalid node-id '%s'%s", val,
						" (1..31)");
	} else {
		return prbdctl_ini_fail(ctx, "unknown key '%s' in [resource]%s", key, "");
	}
	return 1;
}

static int prbdctl_ini_node(struct prbdctl_ini_ctx *ctx, const char *section,
			    const char *key, const char *val)
{
	unsigned int *node_seen = ctx->node_seen;
	struct prbdctl_node *node;
	uint32_t id;

	if (prbdctl_parse_u32(section + 5, 1, PRBD_NODE_ID_MAX, &id))
		return prbdctl_ini_fail(ctx, "invalid section [%s]%s", section,
					": node ids are 1..31");
	node = prbdctl_node_get(ctx->res, id);
	if (!node)
		return prbdctl_ini_fail(ctx, "too many nodes%s%s", "", "");

	if (!strcmp(key, "address")) {
		if (prbdctl_seen(&node_seen[id], PRBDCTL_NODE_SEEN_ADDR))
			return prbdctl_ini_fail(ctx, "duplicate key '%s' in [%s]", key, section);
		if (prbdctl_parse_addr(val, &node->addr))
			return prbdctl_ini_fail(ctx, "invalid address '%s'%s", val,
						": use IPV4[:PORT] or [IPV6][:PORT] with a unicast address");
		node->have_addr = true;
	} else if (!strcmp(key, "disk")) {
		if (prbdctl_seen(&node_seen[id], PRBDCTL_NODE_SEEN_DISK))
			return prbdctl_ini_fail(ctx, "duplicate key '%s' in [%s]", key, section);
		if (val[0] != '/' || strlen(val) >= sizeof(node->disk))
			return prbdctl_ini_fail(ctx, "invalid disk '%s'%s", val,
						": must be an absolute path");
		snprintf(node->disk, sizeof(node->disk), "%s", val);
	} else if (!strcmp(key, "role")) {
		if (prbdctl_seen(&node_seen[id], PRBDCTL_NODE_SEEN_ROLE))
			return prbdctl_ini_fail(ctx, "duplicate key '%s' in [%s]", key, section);
		if (!strcmp(val, "learner"))
			node->learner = true;
		else if (!strcmp(val, "none"))
			node->none = true;
		else if (strcmp(val, "voter"))
			return prbdctl_ini_fail(ctx, "invalid role '%s'%s", val,
						" (voter, learner or none)");
	} else {
		return prbdctl_ini_fail(ctx, "unknown key '%s' in [%s]", key, section);
	}
	return 1;
}

static int prbdctl_ini_handler(void *user, const char *section,
			       const char *key, const char *val)
{
	struct prbdctl_ini_ctx *ctx = user;

	if (!strcmp(section, "resource"))
		return prbdctl_ini_resource(ctx, key, val);
	if (!strncmp(section, "node ", 5))
		return prbdctl_ini_node(ctx, section, key, val);
	if (!section[0])
		return prbdctl_ini_fail(ctx, "key '%s' outside of a section%s", key, "");
	return prbdctl_ini_fail(ctx, "unknown section [%s]%s", section,
				": use [resource] and [node N]");
}

/**
 * prbdctl_res_load() - read and check a resource file
 * @res_name: the resource name given on the command line
 * @path: the file, or NULL for /etc/prbd.d/@res_name.res
 * @res: filled in
 *
 * Return: 0 or PRBDCTL_EXIT_CONFIG (after printing the reason).
 */
int prbdctl_res_load(const char *res_name, const char *path,
		     struct prbdctl_res *res)
{
	struct prbdctl_ini_ctx ctx = { .res = res };
	unsigned int i, j;
	int line;

	memset(res, 0, sizeof(*res));
	if (!prbdctl_name_valid(res_name)) {
		prbdctl_err("invalid resource name '%s'", res_name);
		return PRBDCTL_EXIT_USAGE;
	}
	if (path)
		snprintf(res->path, sizeof(res->path), "%s", path);
	else
		snprintf(res->path, sizeof(res->path), "%s/%s.res",
			 PRBDCTL_CONF_DIR, res_name);

	line = ini_parse(res->path, prbdctl_ini_handler, &ctx);
	if (line == -1) {
		prbdctl_err("%s: cannot open: %s", res->path, strerror(errno));
		return PRBDCTL_EXIT_CONFIG;
	}
	if (line) {
		prbdctl_err("%s:%d: %s", res->path, line,
			    ctx.err[0] ? ctx.err : "syntax error");
		return PRBDCTL_EXIT_CONFIG;
	}

	if (res->secret_len) {
		struct stat st;

		if (!stat(res->path, &st) && (st.st_mode & 0077))
			fprintf(stderr, "%s: warning: %s holds a secret but is readable by others (chmod 600)\n",
				prbdctl_prog, res->path);
	}
	if (!res->name[0]) {
		prbdctl_err("%s: [resource] has no name", res->path);
		return PRBDCTL_EXIT_CONFIG;
	}
	if (strcmp(res->name, res_name)) {
		prbdctl_err("%s: describes resource '%s', not '%s'", res->path,
			    res->name, res_name);
		return PRBDCTL_EXIT_CONFIG;
	}
	if (!res->have_minor || !res->have_uuid) {
		prbdctl_err("%s: [resource] needs minor and cluster-uuid",
			    res->path);
		return PRBDCTL_EXIT_CONFIG;
	}
	if (res->nr_nodes < 1) {
		prbdctl_err("%s: no [node N] sections", res->path);
		return PRBDCTL_EXIT_CONFIG;
	}
	for (i = 0; i < res->nr_nodes; i++) {
		if (!res->nodes[i].have_addr) {
			prbdctl_err("%s: [node %u] has no address", res->path,
				    res->nodes[i].node_id);
			return PRBDCTL_EXIT_CONFIG;
		}
		for (j = 0; j < i; j++) {
			if (!memcmp(&res->nodes[i].addr, &res->nodes[j].addr,
				    sizeof(res->nodes[i].addr))) {
				prbdctl_err("%s: [node %u] and [node %u] have the same address",
					    res->path, res->nodes[j].node_id,
					    res->nodes[i].node_id);
				return PRBDCTL_EXIT_CONFIG;
			}
		}
	}
	if (res->nr_nodes > PRBD_MAX_PEERS + 1) {
		prbdctl_err("%s: at most %d nodes", res->path,
			    PRBD_MAX_PEERS + 1);
		return PRBDCTL_EXIT_CONFIG;
	}
	return 0;
}

static bool prbdctl_addr_is_local(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET)
			found = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
				s4->sin_addr.s_addr;
		else
			found = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
					&s6->sin6_addr, sizeof(s6->sin6_addr));
	}
	freeifaddrs(ifa);
	return found;
}

/**
 * prbdctl_res_pick_local() - choose the section describing this node
 * @res: a loaded resource
 * @node_opt: --node N, or 0
 *
 * --node wins, then node-id in [resource], then the one node whose address
 * is configured on a local interface.
 *
 * Return: 0 or PRBDCTL_EXIT_CONFIG.
 */
int prbdctl_res_pick_local(struct prbdctl_res *res, uint32_t node_opt)
{
	uint32_t id = node_opt ? node_opt : res->node_id;
	struct prbdctl_node *match = NULL;
	unsigned int i;

	if (id) {
		for (i = 0; i < res->nr_nodes; i++)
			if (res->nodes[i].node_id == id)
				res->local = &res->nodes[i];
		if (!res->local) {
			prbdctl_err("%s: no [node %u] section", res->path, id);
			return PRBDCTL_EXIT_CONFIG;
		}
		return 0;
	}
	for (i = 0; i < res->nr_nodes; i++) {
		if (!prbdctl_addr_is_local(&res->nodes[i].addr))
			continue;
		if (match) {
			prbdctl_err("%s: nodes %u and %u both have local addresses; use --node N",
				    res->path, match->node_id,
				    res->nodes[i].node_id);
			return PRBDCTL_EXIT_CONFIG;
		}
		match = &res->nodes[i];
	}
	if (!match) {
		prbdctl_err("%s: no node has a local address; use --node N or node-id in [resource]",
			    res->path);
		return PRBDCTL_EXIT_CONFIG;
	}
	res->local = match;
	return 0;
}
