// SPDX-License-Identifier: GPL-2.0
/*
 * prbdctl - printing resource status and events, as text or JSON.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prbdctl.h"

static const char * const prbdctl_role_names[] = {
	[PRBD_ROLE_SECONDARY] = "secondary",
	[PRBD_ROLE_PRIMARY] = "primary",
};

static const char * const prbdctl_paxos_role_names[] = {
	[PRBD_PAXOS_ROLE_NONE] = "none",
	[PRBD_PAXOS_ROLE_FOLLOWER] = "follower",
	[PRBD_PAXOS_ROLE_CANDIDATE] = "candidate",
	[PRBD_PAXOS_ROLE_LEADER] = "leader",
	[PRBD_PAXOS_ROLE_LEARNER] = "learner",
};

static const char * const prbdctl_res_state_names[] = {
	[PRBD_RES_STATE_DOWN] = "down",
	[PRBD_RES_STATE_UP] = "up",
};

static const char * const prbdctl_disk_state_names[] = {
	[PRBD_DISK_STATE_DISKLESS] = "diskless",
	[PRBD_DISK_STATE_ATTACHED] = "attached",
	[PRBD_DISK_STATE_FAILED] = "failed",
	[PRBD_DISK_STATE_OUTDATED] = "outdated",
	[PRBD_DISK_STATE_INCONSISTENT] = "inconsistent",
};

static const char * const prbdctl_conn_state_names[] = {
	[PRBD_CONN_STATE_STANDALONE] = "standalone",
	[PRBD_CONN_STATE_CONNECTING] = "connecting",
	[PRBD_CONN_STATE_CONNECTED] = "connected",
};

static const char * const prbdctl_member_role_names[] = {
	[PRBD_MEMBER_ROLE_VOTER] = "voter",
	[PRBD_MEMBER_ROLE_LEARNER] = "learner",
	[PRBD_MEMBER_ROLE_NONE] = "none",
};

static const char * const prbdctl_change_cmd_names[] = {
	[PRBD_CMD_NODE_ADD] = "node-add",
	[PRBD_CMD_NODE_DEL] = "node-del",
	[PRBD_CMD_NODE_REPLACE] = "node-replace",
	[PRBD_CMD_LEARNER_ADD] = "learner-add",
	[PRBD_CMD_LEADER_TRANSFER] = "leader-transfer",
};

static const char * const prbdctl_change_step_names[] = {
	[PRBD_CHANGE_STEP_NONE] = "none",
	[PRBD_CHANGE_STEP_PROPOSE] = "draining",
	[PRBD_CHANGE_STEP_CHOOSE] = "choosing",
	[PRBD_CHANGE_STEP_SYNC] = "learner-syncing",
	[PRBD_CHANGE_STEP_HANDOVER] = "handing-over",
};

static const char * const prbdctl_onq_names[] = {
	[PRBD_ON_NO_QUORUM_BLOCK] = "block",
	[PRBD_ON_NO_QUORUM_IO_ERROR] = "io-error",
};

static const char * const prbdctl_durability_names[] = {
	[PRBD_DURABILITY_STRICT] = "strict",
	[PRBD_DURABILITY_FLUSH] = "flush",
};

static const char * const prbdctl_event_names[] = {
	[PRBD_EVENT_CREATE] = "create",
	[PRBD_EVENT_DESTROY] = "destroy",
	[PRBD_EVENT_CHANGE] = "change",
};

static const char * const prbdctl_sync_names[] = {
	[PRBD_PEER_SYNC_UNKNOWN] = "unknown",
	[PRBD_PEER_SYNC_UP_TO_DATE] = "up-to-date",
	[PRBD_PEER_SYNC_CATCHING_UP] = "catching-up",
	[PRBD_PEER_SYNC_RESYNCING] = "resyncing",
	[PRBD_PEER_SYNC_NEEDS_RESYNC] = "needs-resync",
};

static const char * const prbdctl_resync_event_names[] = {
	[PRBD_RESYNC_EVENT_START] = "start",
	[PRBD_RESYNC_EVENT_PROGRESS] = "progress",
	[PRBD_RESYNC_EVENT_FINISH] = "finish",
	[PRBD_RESYNC_EVENT_ABORT] = "abort",
};

static const char * const prbdctl_verify_event_names[] = {
	[PRBD_VERIFY_EVENT_START] = "start",
	[PRBD_VERIFY_EVENT_DIVERGENT] = "divergent",
	[PRBD_VERIFY_EVENT_FINISH] = "finish",
	[PRBD_VERIFY_EVENT_ABORT] = "abort",
};

static const char * const prbdctl_config_event_names[] = {
	[PRBD_CONFIG_EVENT_CHOSEN] = "chosen",
	[PRBD_CONFIG_EVENT_APPLIED] = "applied",
};

#define PRBDCTL_NAME(tbl, v)						\
	((v) < sizeof(tbl) / sizeof((tbl)[0]) && (tbl)[v] ? (tbl)[v] : "unknown")

static uint32_t prbdctl_u32(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

static uint64_t prbdctl_u64(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

static struct nla_policy prbdctl_peer_policy[PRBD_PEER_ATTR_MAX + 1] = {
	[PRBD_PEER_ATTR_NODE_ID] = { .type = NLA_U32 },
	[PRBD_PEER_ATTR_ADDR4] = { .type = NLA_U32 },
	[PRBD_PEER_ATTR_ADDR6] = { .minlen = 16 },
	[PRBD_PEER_ATTR_PORT] = { .type = NLA_U16 },
	[PRBD_PEER_ATTR_CONN_STATE] = { .type = NLA_U32 },
	[PRBD_PEER_ATTR_MEMBER_ROLE] = { .type = NLA_U32 },
	[PRBD_PEER_ATTR_MATCH_INDEX] = { .type = NLA_U64 },
	[PRBD_PEER_ATTR_SYNC] = { .type = NLA_U32 },
	[PRBD_PEER_ATTR_RESYNC_DONE] = { .type = NLA_U64 },
	[PRBD_PEER_ATTR_RESYNC_TOTAL] = { .type = NLA_U64 },
	[PRBD_PEER_ATTR_RESYNC_RATE] = { .type = NLA_U64 },
};

static struct nla_policy prbdctl_resync_policy[PRBD_RESYNC_ATTR_MAX + 1] = {
	[PRBD_RESYNC_ATTR_PEER_NODE_ID] = { .type = NLA_U32 },
	[PRBD_RESYNC_ATTR_DONE] = { .type = NLA_U64 },
	[PRBD_RESYNC_ATTR_TOTAL] = { .type = NLA_U64 },
	[PRBD_RESYNC_ATTR_EVENT] = { .type = NLA_U32 },
	[PRBD_RESYNC_ATTR_RATE] = { .type = NLA_U64 },
};

static struct nla_policy prbdctl_verify_policy[PRBD_VERIFY_ATTR_MAX + 1] = {
	[PRBD_VERIFY_ATTR_EVENT] = { .type = NLA_U32 },
	[PRBD_VERIFY_ATTR_PEER_NODE_ID] = { .type = NLA_U32 },
	[PRBD_VERIFY_ATTR_START] = { .type = NLA_U64 },
	[PRBD_VERIFY_ATTR_LEN] = { .type = NLA_U64 },
	[PRBD_VERIFY_ATTR_CHECKED] = { .type = NLA_U64 },
	[PRBD_VERIFY_ATTR_DIVERGENT] = { .type = NLA_U64 },
	[PRBD_VERIFY_ATTR_RUNNING] = { .type = NLA_U32 },
};

/* Parse @nest into @tb; all NULL when absent or malformed. */
static void prbdctl_parse_nest(struct nlattr **tb, int max, struct nlattr *nest,
			       struct nla_policy *policy)
{
	if (!nest || nla_parse_nested(tb, max, nest, policy))
		memset(tb, 0, sizeof(*tb) * (max + 1));
}

/* "2 s", "5 min", "3 h 20 min"; "-" when unknown */
static void prbdctl_fmt_eta(uint64_t left, uint64_t rate, char *buf,
			    size_t len)
{
	uint64_t t;

	if (!left) {
		snprintf(buf, len, "0 s");
		return;
	}
	if (!rate) {
		snprintf(buf, len, "-");
		return;
	}
	t = (left + rate - 1) / rate;
	if (t < 120)
		snprintf(buf, len, "%" PRIu64 " s", t);
	else if (t < 7200)
		snprintf(buf, len, "%" PRIu64 " min", (t + 59) / 60);
	else
		snprintf(buf, len, "%" PRIu64 " h %" PRIu64 " min", t / 3600,
			 t % 3600 / 60);
}

enum prbdctl_progress_fmt {
	PRBDCTL_PROGRESS_LONG,	/* "42% done, 12.3 MiB left, 8.1 MiB/s, ETA 2 s" */
	PRBDCTL_PROGRESS_SHORT,	/* "42% (12.3 MiB left, ETA 2 s)" */
};

static void prbdctl_fmt_progress(uint64_t done, uint64_t total, uint64_t rate,
				 enum prbdctl_progress_fmt fmt, char *buf,
				 size_t len)
{
	uint64_t left = total > done ? total - done : 0;
	char l[32], r[32], eta[32];
	unsigned int pct = total ? (unsigned int)(done * 100.0 / total) : 0;

	if (pct > 100)
		pct = 100;
	prbdctl_fmt_bytes(left, l, sizeof(l));
	prbdctl_fmt_bytes(rate, r, sizeof(r));
	prbdctl_fmt_eta(left, rate, eta, sizeof(eta));
	if (fmt == PRBDCTL_PROGRESS_SHORT)
		snprintf(buf, len, "%u%% (%s left, ETA %s)", pct, l, eta);
	else
		snprintf(buf, len, "%u%% done, %s left, %s/s, ETA %s", pct, l,
			 r, eta);
}

static void prbdctl_peer_addr(struct nlattr **pt, char *buf, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	uint16_t port = pt[PRBD_PEER_ATTR_PORT] ?
			nla_get_u16(pt[PRBD_PEER_ATTR_PORT]) : 0;

	if (pt[PRBD_PEER_ATTR_ADDR4]) {
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = nla_get_u32(pt[PRBD_PEER_ATTR_ADDR4]);
		s4->sin_port = htons(port);
	} else if (pt[PRBD_PEER_ATTR_ADDR6]) {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, nla_data(pt[PRBD_PEER_ATTR_ADDR6]), 16);
		s6->sin6_port = htons(port);
	}
	prbdctl_format_addr(&ss, buf, len, PRBDCTL_ADDR_HOST);
}

/* The local listen address as IP:PORT ([IPV6]:PORT); false if not set. */
static bool prbdctl_listen_addr(struct nlattr **tb, char *buf, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	uint16_t port;

	if (!tb[PRBD_ATTR_LISTEN_PORT])
		return false;
	port = nla_get_u16(tb[PRBD_ATTR_LISTEN_PORT]);
	if (tb[PRBD_ATTR_LISTEN_ADDR4]) {
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = nla_get_u32(tb[PRBD_ATTR_LISTEN_ADDR4]);
		s4->sin_port = htons(port);
	} else if (tb[PRBD_ATTR_LISTEN_ADDR6]) {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, nla_data(tb[PRBD_ATTR_LISTEN_ADDR6]), 16);
		s6->sin6_port = htons(port);
	} else {
		return false;
	}
	prbdctl_format_addr(&ss, buf, len, PRBDCTL_ADDR_HOST_PORT);
	return true;
}

static void prbdctl_print_peer(struct nlattr *nest, bool *first)
{
	struct nlattr *pt[PRBD_PEER_ATTR_MAX + 1];
	char addr[64];

	uint32_t sync;
	char sbuf[96];

	if (nla_parse_nested(pt, PRBD_PEER_ATTR_MAX, nest, prbdctl_peer_policy))
		return;
	prbdctl_peer_addr(pt, addr, sizeof(addr));
	sync = prbdctl_u32(pt, PRBD_PEER_ATTR_SYNC);
	if (prbdctl_json) {
		printf("%s{\"node_id\":%u,\"address\":\"%s\",\"port\":%u,"
		       "\"conn_state\":\"%s\",\"member_role\":\"%s\","
		       "\"match_index\":%" PRIu64 ",\"sync\":\"%s\",\"rs_done\":%"
		       PRIu64 ",\"rs_total\":%" PRIu64 ",\"rs_rate\":%" PRIu64 "}",
		       *first ? "" : ",",
		       prbdctl_u32(pt, PRBD_PEER_ATTR_NODE_ID), addr,
		       pt[PRBD_PEER_ATTR_PORT] ?
		       nla_get_u16(pt[PRBD_PEER_ATTR_PORT]) : 0,
		       PRBDCTL_NAME(prbdctl_conn_state_names,
				    prbdctl_u32(pt, PRBD_PEER_ATTR_CONN_STATE)),
		       PRBDCTL_NAME(prbdctl_member_role_names,
				    prbdctl_u32(pt, PRBD_PEER_ATTR_MEMBER_ROLE)),
		       prbdctl_u64(pt, PRBD_PEER_ATTR_MATCH_INDEX),
		       PRBDCTL_NAME(prbdctl_sync_names, sync),
		       prbdctl_u64(pt, PRBD_PEER_ATTR_RESYNC_DONE),
		       prbdctl_u64(pt, PRBD_PEER_ATTR_RESYNC_TOTAL),
		       prbdctl_u64(pt, PRBD_PEER_ATTR_RESYNC_RATE));
	} else {
		if (sync == PRBD_PEER_SYNC_RESYNCING) {
			memcpy(sbuf, "resyncing ", 10);
			prbdctl_fmt_progress(prbdctl_u64(pt, PRBD_PEER_ATTR_RESYNC_DONE),
					     prbdctl_u64(pt, PRBD_PEER_ATTR_RESYNC_TOTAL),
					     prbdctl_u64(pt, PRBD_PEER_ATTR_RESYNC_RATE),
					     PRBDCTL_PROGRESS_SHORT, sbuf + 10,
					     sizeof(sbuf) - 10);
		} else if (sync == PRBD_PEER_SYNC_UNKNOWN ||
			   !pt[PRBD_PEER_ATTR_SYNC]) {
			snprintf(sbuf, sizeof(sbuf), "-");
		} else {
			snprintf(sbuf, sizeof(sbuf), "%s",
				 PRBDCTL_NAME(prbdctl_sync_names, sync));
		}
		printf("  peer %u %s%s%s:%u %s %s match %" PRIu64 " sync %s\n",
		       prbdctl_u32(pt, PRBD_PEER_ATTR_NODE_ID),
		       pt[PRBD_PEER_ATTR_ADDR6] ? "[" : "", addr,
		       pt[PRBD_PEER_ATTR_ADDR6] ? "]" : "",
		       pt[PRBD_PEER_ATTR_PORT] ?
		       nla_get_u16(pt[PRBD_PEER_ATTR_PORT]) : 0,
		       PRBDCTL_NAME(prbdctl_conn_state_names,
				    prbdctl_u32(pt, PRBD_PEER_ATTR_CONN_STATE)),
		       PRBDCTL_NAME(prbdctl_member_role_names,
				    prbdctl_u32(pt, PRBD_PEER_ATTR_MEMBER_ROLE)),
		       prbdctl_u64(pt, PRBD_PEER_ATTR_MATCH_INDEX), sbuf);
	}
	*first = false;
}

static void prbdctl_print_ids(struct nlattr *nest, int type)
{
	struct nlattr *a;
	bool first = true;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != type || nla_len(a) < 4)
			continue;
		printf(prbdctl_json ? "%s%u" : "%s%u", first ? "" : ",",
		       nla_get_u32(a));
		first = false;
	}
	if (first && !prbdctl_json)
		printf("-");
}

const char *prbdctl_status_config;	/* -c FILE of status, or NULL */

/* The nodes of @nest of attribute @type as a bit mask (bit = node id). */
static uint32_t prbdctl_id_mask(struct nlattr *nest, int type)
{
	uint32_t mask = 0;
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem)
		if (nla_type(a) == type && nla_len(a) >= 4 &&
		    nla_get_u32(a) < 32)
			mask |= 1u << nla_get_u32(a);
	return mask;
}

static void prbdctl_print_mask(uint32_t mask)
{
	bool first = true;
	unsigned int i;

	for (i = 0; i < 32; i++)
		if (mask & (1u << i)) {
			printf("%s%u", first ? "" : ",", i);
			first = false;
		}
	if (first && !prbdctl_json)
		printf("-");
}

/*
 * The membership the resource file of @name describes (its voters and
 * learners; "role = none" nodes are in neither) against the configuration
 * in the log.  They drift apart with every membership change until the
 * file is edited; the file only matters for a node whose metadata has no
 * configuration yet (a fresh create-md), but an operator reading it
 * should know.  Nothing is printed when the file cannot be read.
 */
static void prbdctl_print_file_drift(const char *name, struct nlattr *nest)
{
	uint32_t fv = 0, fl = 0, lv, ll, bit;
	struct prbdctl_res *res;
	char path[PRBD_PATH_MAX];
	unsigned int i;

	if (prbdctl_status_config)
		snprintf(path, sizeof(path), "%s", prbdctl_status_config);
	else
		snprintf(path, sizeof(path), "%s/%s.res", PRBDCTL_CONF_DIR,
			 name);
	if (access(path, R_OK))
		return;
	res = malloc(sizeof(*res));
	if (!res)
		return;
	if (prbdctl_res_load(name, path, res))
		goto out;
	for (i = 0; i < res->nr_nodes; i++) {
		if (res->nodes[i].node_id >= 32 || res->nodes[i].none)
			continue;
		bit = 1u << res->nodes[i].node_id;
		if (res->nodes[i].learner)
			fl |= bit;
		else
			fv |= bit;
	}
	lv = prbdctl_id_mask(nest, PRBD_CONFIG_ATTR_VOTER);
	ll = prbdctl_id_mask(nest, PRBD_CONFIG_ATTR_LEARNER);
	if (!lv || (fv == lv && fl == ll))
		goto out;
	if (prbdctl_json) {
		printf(",\"file_differs\":{\"path\":");
		prbdctl_json_str(stdout, path);
		printf(",\"voters\":[");
		prbdctl_print_mask(fv);
		printf("],\"learners\":[");
		prbdctl_print_mask(fl);
		printf("]}");
	} else {
		printf("  resource file %s disagrees with the configuration in the log: file voters ",
		       path);
		prbdctl_print_mask(fv);
		printf(" learners ");
		prbdctl_print_mask(fl);
		printf(", log voters ");
		prbdctl_print_mask(lv);
		printf(" learners ");
		prbdctl_print_mask(ll);
		printf(" (edit the file's roles)\n");
	}
out:
	free(res);
}

/* The scalar attributes of a config nest (status and config-ntf). */
struct prbdctl_config {
	uint64_t epoch, pending, removed;
	uint32_t event, change, node, step;
};

static struct nla_policy prbdctl_config_policy[PRBD_CONFIG_ATTR_MAX + 1] = {
	[PRBD_CONFIG_ATTR_EPOCH] = { .type = NLA_U64 },
	[PRBD_CONFIG_ATTR_VOTER] = { .type = NLA_U32 },
	[PRBD_CONFIG_ATTR_LEARNER] = { .type = NLA_U32 },
	[PRBD_CONFIG_ATTR_PENDING] = { .type = NLA_U64 },
	[PRBD_CONFIG_ATTR_CHANGE] = { .type = NLA_U32 },
	[PRBD_CONFIG_ATTR_CHANGE_NODE] = { .type = NLA_U32 },
	[PRBD_CONFIG_ATTR_CHANGE_STEP] = { .type = NLA_U32 },
	[PRBD_CONFIG_ATTR_REMOVED] = { .type = NLA_U64 },
	[PRBD_CONFIG_ATTR_EVENT] = { .type = NLA_U32 },
};

static void prbdctl_config_parse(struct nlattr *nest, struct prbdctl_config *c)
{
	struct nlattr *tb[PRBD_CONFIG_ATTR_MAX + 1];

	prbdctl_parse_nest(tb, PRBD_CONFIG_ATTR_MAX, nest,
			   prbdctl_config_policy);
	c->epoch = prbdctl_u64(tb, PRBD_CONFIG_ATTR_EPOCH);
	c->pending = prbdctl_u64(tb, PRBD_CONFIG_ATTR_PENDING);
	c->removed = prbdctl_u64(tb, PRBD_CONFIG_ATTR_REMOVED);
	c->event = prbdctl_u32(tb, PRBD_CONFIG_ATTR_EVENT);
	c->change = prbdctl_u32(tb, PRBD_CONFIG_ATTR_CHANGE);
	c->node = prbdctl_u32(tb, PRBD_CONFIG_ATTR_CHANGE_NODE);
	c->step = prbdctl_u32(tb, PRBD_CONFIG_ATTR_CHANGE_STEP);
}

static void prbdctl_print_config(const char *name, struct nlattr *nest)
{
	struct prbdctl_config c;
	uint64_t epoch, pending, removed;
	uint32_t change, node;
	const char *cname, *sname;

	prbdctl_config_parse(nest, &c);
	epoch = c.epoch;
	pending = c.pending;
	removed = c.removed;
	change = c.change;
	node = c.node;
	cname = PRBDCTL_NAME(prbdctl_change_cmd_names, change);
	sname = PRBDCTL_NAME(prbdctl_change_step_names, c.step);
	if (prbdctl_json) {
		printf(",\"config\":{\"epoch\":%" PRIu64 ",\"voters\":[", epoch);
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_VOTER);
		printf("],\"learners\":[");
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_LEARNER);
		printf("],\"pending_slot\":%" PRIu64 ",\"removed_at\":%" PRIu64,
		       pending, removed);
		if (change)
			printf(",\"change\":{\"command\":\"%s\",\"node_id\":%u,\"step\":\"%s\"}",
			       cname, node, sname);
		prbdctl_print_file_drift(name, nest);
		printf("}");
	} else {
		printf("  config epoch %" PRIu64 " voters ", epoch);
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_VOTER);
		printf(" learners ");
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_LEARNER);
		if (change)
			printf(" change %s node %u %s", cname, node, sname);
		else if (pending)
			printf(" change pending at slot %" PRIu64, pending);
		printf("\n");
		if (removed)
			printf("  removed from the group at slot %" PRIu64 "\n",
			       removed);
		prbdctl_print_file_drift(name, nest);
	}
}

static bool prbdctl_status_first;

void prbdctl_status_begin(void)
{
	prbdctl_status_first = true;
	if (prbdctl_json)
		printf("[");
}

void prbdctl_status_end(void)
{
	if (prbdctl_json)
		printf("]\n");
	fflush(stdout);
}

/* The resync into this node and the last verify, as text lines. */
static void prbdctl_print_rs_verify_text(struct nlattr **rt,
					 struct nlattr **vt, bool rs, bool v)
{
	char buf[128], b[32], c[32], d[32];
	uint32_t src;

	if (rs) {
		src = prbdctl_u32(rt, PRBD_RESYNC_ATTR_PEER_NODE_ID);
		prbdctl_fmt_progress(prbdctl_u64(rt, PRBD_RESYNC_ATTR_DONE),
				     prbdctl_u64(rt, PRBD_RESYNC_ATTR_TOTAL),
				     prbdctl_u64(rt, PRBD_RESYNC_ATTR_RATE),
				     PRBDCTL_PROGRESS_LONG, buf, sizeof(buf));
		if (src)
			printf("  resync from node %u: %s\n", src, buf);
		else
			printf("  resync (no source reachable): %s\n", buf);
	}
	if (v) {
		prbdctl_fmt_bytes(prbdctl_u64(vt, PRBD_VERIFY_ATTR_LEN), b,
				  sizeof(b));
		prbdctl_fmt_bytes(prbdctl_u64(vt, PRBD_VERIFY_ATTR_CHECKED), c,
				  sizeof(c));
		prbdctl_fmt_bytes(prbdctl_u64(vt, PRBD_VERIFY_ATTR_DIVERGENT), d,
				  sizeof(d));
		printf("  verify %s: bytes %" PRIu64 "+%" PRIu64 ", %s of %s checked, %s divergent\n",
		       prbdctl_u32(vt, PRBD_VERIFY_ATTR_RUNNING) ? "running" :
		       "ended", prbdctl_u64(vt, PRBD_VERIFY_ATTR_START),
		       prbdctl_u64(vt, PRBD_VERIFY_ATTR_LEN), c, b, d);
	}
}

static void prbdctl_print_res_body(struct nlattr **tb)
{
	const char *name = tb[PRBD_ATTR_NAME] ?
			   nla_get_string(tb[PRBD_ATTR_NAME]) : "?";
	char uuid[37] = "-", listen[80], rate[32];
	bool have_listen = prbdctl_listen_addr(tb, listen, sizeof(listen));
	struct nlattr *rt[PRBD_RESYNC_ATTR_MAX + 1];
	struct nlattr *vt[PRBD_VERIFY_ATTR_MAX + 1];
	bool rs = tb[PRBD_ATTR_RESYNC], v = tb[PRBD_ATTR_VERIFY];

	prbdctl_parse_nest(rt, PRBD_RESYNC_ATTR_MAX, tb[PRBD_ATTR_RESYNC],
			   prbdctl_resync_policy);
	prbdctl_parse_nest(vt, PRBD_VERIFY_ATTR_MAX, tb[PRBD_ATTR_VERIFY],
			   prbdctl_verify_policy);
	prbdctl_fmt_rate_kib(prbdctl_u32(tb, PRBD_ATTR_RESYNC_RATE), rate,
			     sizeof(rate));

	if (tb[PRBD_ATTR_CLUSTER_UUID])
		prbdctl_format_uuid(nla_data(tb[PRBD_ATTR_CLUSTER_UUID]), uuid);

	if (prbdctl_json) {
		printf("{\"name\":");
		prbdctl_json_str(stdout, name);
		printf(",\"minor\":%u,\"node_id\":%u,\"cluster_uuid\":\"%s\","
		       "\"on_no_quorum\":\"%s\",\"durability\":\"%s\","
		       "\"role\":\"%s\",\"paxos_role\":\"%s\","
		       "\"state\":\"%s\",\"disk_state\":\"%s\",\"backing_dev\":",
		       prbdctl_u32(tb, PRBD_ATTR_MINOR),
		       prbdctl_u32(tb, PRBD_ATTR_NODE_ID), uuid,
		       PRBDCTL_NAME(prbdctl_onq_names,
				    prbdctl_u32(tb, PRBD_ATTR_ON_NO_QUORUM)),
		       PRBDCTL_NAME(prbdctl_durability_names,
				    prbdctl_u32(tb, PRBD_ATTR_DURABILITY)),
		       PRBDCTL_NAME(prbdctl_role_names,
				    prbdctl_u32(tb, PRBD_ATTR_ROLE)),
		       PRBDCTL_NAME(prbdctl_paxos_role_names,
				    prbdctl_u32(tb, PRBD_ATTR_PAXOS_ROLE)),
		       PRBDCTL_NAME(prbdctl_res_state_names,
				    prbdctl_u32(tb, PRBD_ATTR_RES_STATE)),
		       PRBDCTL_NAME(prbdctl_disk_state_names,
				    prbdctl_u32(tb, PRBD_ATTR_DISK_STATE)));
		if (tb[PRBD_ATTR_BACKING_DEV])
			prbdctl_json_str(stdout,
					 nla_get_string(tb[PRBD_ATTR_BACKING_DEV]));
		else
			printf("null");
		if (have_listen)
			printf(",\"listen\":\"%s\"", listen);
		else
			printf(",\"listen\":null");
		printf(",\"quorum\":%s", tb[PRBD_ATTR_QUORUM] ?
		       (prbdctl_u32(tb, PRBD_ATTR_QUORUM) ? "true" : "false") :
		       "null");
		printf(",\"size\":%" PRIu64 ",\"leader_id\":%u,\"ballot\":%" PRIu64
		       ",\"commit_index\":%" PRIu64 ",\"applied_index\":%" PRIu64
		       ",\"config_epoch\":%" PRIu64,
		       prbdctl_u64(tb, PRBD_ATTR_SIZE),
		       prbdctl_u32(tb, PRBD_ATTR_LEADER_ID),
		       prbdctl_u64(tb, PRBD_ATTR_BALLOT),
		       prbdctl_u64(tb, PRBD_ATTR_COMMIT_INDEX),
		       prbdctl_u64(tb, PRBD_ATTR_APPLIED_INDEX),
		       prbdctl_u64(tb, PRBD_ATTR_CONFIG_EPOCH));
		if (tb[PRBD_ATTR_CONFIG])
			prbdctl_print_config(name, tb[PRBD_ATTR_CONFIG]);
		/* before "peers": tests grep the first occurrence of a key */
		printf(",\"resync_rate_cap\":%u,\"resync_source\":%u"
		       ",\"resync_done\":%" PRIu64 ",\"resync_total\":%" PRIu64
		       ",\"resync_rate\":%" PRIu64 ",\"verify_running\":%u"
		       ",\"verify_start\":%" PRIu64 ",\"verify_len\":%" PRIu64
		       ",\"verify_checked\":%" PRIu64 ",\"verify_divergent\":%" PRIu64,
		       prbdctl_u32(tb, PRBD_ATTR_RESYNC_RATE),
		       prbdctl_u32(rt, PRBD_RESYNC_ATTR_PEER_NODE_ID),
		       prbdctl_u64(rt, PRBD_RESYNC_ATTR_DONE),
		       prbdctl_u64(rt, PRBD_RESYNC_ATTR_TOTAL),
		       prbdctl_u64(rt, PRBD_RESYNC_ATTR_RATE),
		       prbdctl_u32(vt, PRBD_VERIFY_ATTR_RUNNING) ? 1 : 0,
		       prbdctl_u64(vt, PRBD_VERIFY_ATTR_START),
		       prbdctl_u64(vt, PRBD_VERIFY_ATTR_LEN),
		       prbdctl_u64(vt, PRBD_VERIFY_ATTR_CHECKED),
		       prbdctl_u64(vt, PRBD_VERIFY_ATTR_DIVERGENT));
		printf(",\"peers\":[");
	} else {
		printf("%s minor %u node %u role %s state %s disk %s\n", name,
		       prbdctl_u32(tb, PRBD_ATTR_MINOR),
		       prbdctl_u32(tb, PRBD_ATTR_NODE_ID),
		       PRBDCTL_NAME(prbdctl_role_names,
				    prbdctl_u32(tb, PRBD_ATTR_ROLE)),
		       PRBDCTL_NAME(prbdctl_res_state_names,
				    prbdctl_u32(tb, PRBD_ATTR_RES_STATE)),
		       PRBDCTL_NAME(prbdctl_disk_state_names,
				    prbdctl_u32(tb, PRBD_ATTR_DISK_STATE)));
		printf("  cluster %s on-no-quorum %s resync-rate %s durability %s\n",
		       uuid,
		       PRBDCTL_NAME(prbdctl_onq_names,
				    prbdctl_u32(tb, PRBD_ATTR_ON_NO_QUORUM)),
		       rate,
		       PRBDCTL_NAME(prbdctl_durability_names,
				    prbdctl_u32(tb, PRBD_ATTR_DURABILITY)));
		if (have_listen)
			printf("  listen %s\n", listen);
		if (tb[PRBD_ATTR_BACKING_DEV])
			printf("  backing %s size %" PRIu64 "\n",
			       nla_get_string(tb[PRBD_ATTR_BACKING_DEV]),
			       prbdctl_u64(tb, PRBD_ATTR_SIZE));
		printf("  paxos %s leader %u quorum %s ballot %" PRIu64
		       " commit %" PRIu64 " applied %" PRIu64 "\n",
		       PRBDCTL_NAME(prbdctl_paxos_role_names,
				    prbdctl_u32(tb, PRBD_ATTR_PAXOS_ROLE)),
		       prbdctl_u32(tb, PRBD_ATTR_LEADER_ID),
		       !tb[PRBD_ATTR_QUORUM] ? "-" :
		       prbdctl_u32(tb, PRBD_ATTR_QUORUM) ? "yes" : "no",
		       prbdctl_u64(tb, PRBD_ATTR_BALLOT),
		       prbdctl_u64(tb, PRBD_ATTR_COMMIT_INDEX),
		       prbdctl_u64(tb, PRBD_ATTR_APPLIED_INDEX));
		if (tb[PRBD_ATTR_CONFIG])
			prbdctl_print_config(name, tb[PRBD_ATTR_CONFIG]);
		prbdctl_print_rs_verify_text(rt, vt, rs, v);
	}
}

/* Walk every PRBD_ATTR_PEER of the message holding @tb. */
static void prbdctl_print_peers(struct nlattr *attrs, int len)
{
	struct nlattr *a;
	bool first = true;
	int rem;

	nla_for_each_attr(a, attrs, len, rem)
		if (nla_type(a) == PRBD_ATTR_PEER)
			prbdctl_print_peer(a, &first);
}

/**
 * prbdctl_print_res() - print one resource (reply to res-get)
 * @r: the message
 * @arg: unused
 *
 * Return: 0.
 */
int prbdctl_print_res(const struct prbdctl_reply *r, void *arg)
{
	(void)arg;
	if (prbdctl_json && !prbdctl_status_first)
		printf(",");
	prbdctl_status_first = false;
	prbdctl_print_res_body(r->tb);
	prbdctl_print_peers(r->attrs, r->len);
	if (prbdctl_json)
		printf("]}");
	return 0;
}

static void prbdctl_timestamp(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (prbdctl_json)
		printf("\"time\":\"%s.%06ldZ\"", buf, ts.tv_nsec / 1000);
	else
		printf("%s.%06ldZ ", buf, ts.tv_nsec / 1000);
}

/**
 * prbdctl_get_verify_ev() - decode a verify-ntf
 * @r: the message
 * @ev: filled in (zeroes for what is missing)
 *
 * Return: true if @r is a verify-ntf with a verify nest.
 */
bool prbdctl_get_verify_ev(const struct prbdctl_reply *r,
			   struct prbdctl_verify_ev *ev)
{
	struct nlattr *vt[PRBD_VERIFY_ATTR_MAX + 1];

	memset(ev, 0, sizeof(*ev));
	if (r->cmd != PRBD_CMD_VERIFY_NTF || !r->tb[PRBD_ATTR_VERIFY])
		return false;
	prbdctl_parse_nest(vt, PRBD_VERIFY_ATTR_MAX, r->tb[PRBD_ATTR_VERIFY],
			   prbdctl_verify_policy);
	ev->event = prbdctl_u32(vt, PRBD_VERIFY_ATTR_EVENT);
	ev->peer_node_id = prbdctl_u32(vt, PRBD_VERIFY_ATTR_PEER_NODE_ID);
	ev->start = prbdctl_u64(vt, PRBD_VERIFY_ATTR_START);
	ev->len = prbdctl_u64(vt, PRBD_VERIFY_ATTR_LEN);
	ev->checked = prbdctl_u64(vt, PRBD_VERIFY_ATTR_CHECKED);
	ev->divergent = prbdctl_u64(vt, PRBD_VERIFY_ATTR_DIVERGENT);
	return true;
}

/*
 * A config-ntf: "config RES chosen|applied epoch E voters V learners L
 * change C" (C: the command and its node where this node ran it, else -).
 */
static void prbdctl_print_config_ev(const char *name, struct nlattr *nest)
{
	struct prbdctl_config c;
	uint32_t change, node;
	uint64_t epoch;
	const char *ev;

	prbdctl_config_parse(nest, &c);
	epoch = c.epoch;
	change = c.change;
	node = c.node;
	ev = PRBDCTL_NAME(prbdctl_config_event_names, c.event);
	if (prbdctl_json) {
		printf(",\"type\":\"config\",\"event\":\"%s\",\"resource\":",
		       ev);
		prbdctl_json_str(stdout, name);
		printf(",\"epoch\":%" PRIu64 ",\"voters\":[", epoch);
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_VOTER);
		printf("],\"learners\":[");
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_LEARNER);
		printf("],\"change\":");
		if (change)
			printf("{\"command\":\"%s\",\"node_id\":%u}",
			       PRBDCTL_NAME(prbdctl_change_cmd_names, change),
			       node);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("config %s %s epoch %" PRIu64 " voters ", name, ev,
		       epoch);
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_VOTER);
		printf(" learners ");
		prbdctl_print_ids(nest, PRBD_CONFIG_ATTR_LEARNER);
		if (change)
			printf(" change %s node %u\n",
			       PRBDCTL_NAME(prbdctl_change_cmd_names, change),
			       node);
		else
			printf(" change -\n");
	}
}

/**
 * prbdctl_print_event() - print one notification; JSON is one object per
 * line
 * @r: the message (cmd PRBD_CMD_*_NTF)
 * @arg: unused
 *
 * Return: 0.
 */
int prbdctl_print_event(const struct prbdctl_reply *r, void *arg)
{
	struct nlattr **tb = r->tb;
	uint8_t cmd = r->cmd;
	const char *ev = PRBDCTL_NAME(prbdctl_event_names,
				      prbdctl_u32(tb, PRBD_ATTR_EVENT));
	const char *name = tb[PRBD_ATTR_NAME] ?
			   nla_get_string(tb[PRBD_ATTR_NAME]) : "?";
	struct nlattr *rt[PRBD_RESYNC_ATTR_MAX + 1];
	struct prbdctl_verify_ev v;

	(void)arg;
	if (prbdctl_json)
		printf("{");
	prbdctl_timestamp();
	switch (cmd) {
	case PRBD_CMD_RES_NTF:
		if (prbdctl_json) {
			printf(",\"type\":\"resource\",\"event\":\"%s\",\"resource\":", ev);
			prbdctl_status_first = true;
			prbdctl_print_res(r, NULL);
			printf("}\n");
		} else {
			printf("resource %s ", ev);
			prbdctl_print_res(r, NULL);
		}
		break;
	case PRBD_CMD_PEER_NTF:
		if (prbdctl_json) {
			printf(",\"type\":\"peer\",\"event\":\"%s\",\"resource\":", ev);
			prbdctl_json_str(stdout, name);
			printf(",\"peers\":[");
			prbdctl_print_peers(r->attrs, r->len);
			printf("]}\n");
		} else {
			printf("peer %s %s\n", ev, name);
			prbdctl_print_peers(r->attrs, r->len);
		}
		break;
	case PRBD_CMD_RESYNC_NTF:
		prbdctl_parse_nest(rt, PRBD_RESYNC_ATTR_MAX, tb[PRBD_ATTR_RESYNC],
				   prbdctl_resync_policy);
		ev = PRBDCTL_NAME(prbdctl_resync_event_names,
				  prbdctl_u32(rt, PRBD_RESYNC_ATTR_EVENT));
		if (prbdctl_json) {
			printf(",\"type\":\"resync\",\"event\":\"%s\",\"resource\":",
			       ev);
			prbdctl_json_str(stdout, name);
			printf(",\"peer_node_id\":%u,\"done\":%" PRIu64
			       ",\"total\":%" PRIu64 ",\"rate\":%" PRIu64 "}\n",
			       prbdctl_u32(rt, PRBD_RESYNC_ATTR_PEER_NODE_ID),
			       prbdctl_u64(rt, PRBD_RESYNC_ATTR_DONE),
			       prbdctl_u64(rt, PRBD_RESYNC_ATTR_TOTAL),
			       prbdctl_u64(rt, PRBD_RESYNC_ATTR_RATE));
		} else {
			printf("resync %s %s peer %u %" PRIu64 "/%" PRIu64
			       " bytes rate %" PRIu64 " B/s\n", name, ev,
			       prbdctl_u32(rt, PRBD_RESYNC_ATTR_PEER_NODE_ID),
			       prbdctl_u64(rt, PRBD_RESYNC_ATTR_DONE),
			       prbdctl_u64(rt, PRBD_RESYNC_ATTR_TOTAL),
			       prbdctl_u64(rt, PRBD_RESYNC_ATTR_RATE));
		}
		break;
	case PRBD_CMD_VERIFY_NTF:
		prbdctl_get_verify_ev(r, &v);
		ev = PRBDCTL_NAME(prbdctl_verify_event_names, v.event);
		if (prbdctl_json) {
			printf(",\"type\":\"verify\",\"event\":\"%s\",\"resource\":",
			       ev);
			prbdctl_json_str(stdout, name);
			printf(",\"peer_node_id\":%u,\"start\":%" PRIu64
			       ",\"len\":%" PRIu64 ",\"checked\":%" PRIu64
			       ",\"divergent\":%" PRIu64 "}\n", v.peer_node_id,
			       v.start, v.len, v.checked, v.divergent);
		} else {
			printf("verify %s %s", name, ev);
			if (v.event == PRBD_VERIFY_EVENT_DIVERGENT)
				printf(" peer %u", v.peer_node_id);
			printf(" bytes %" PRIu64 "+%" PRIu64 " checked %" PRIu64
			       " divergent %" PRIu64 "\n", v.start, v.len,
			       v.checked, v.divergent);
		}
		break;
	case PRBD_CMD_CONFIG_NTF:
		if (!tb[PRBD_ATTR_CONFIG])
			goto unknown;
		prbdctl_print_config_ev(name, tb[PRBD_ATTR_CONFIG]);
		break;
	default:
unknown:
		if (prbdctl_json)
			printf(",\"type\":\"unknown\",\"cmd\":%u}\n", cmd);
		else
			printf("unknown notification %u\n", cmd);
		break;
	}
	fflush(stdout);
	return 0;
}
