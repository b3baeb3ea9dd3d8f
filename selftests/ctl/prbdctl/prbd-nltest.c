// SPDX-License-Identifier: GPL-2.0
/*
 * prbd-nltest - negative tests of the prbd control plane, run as root on a
 * machine with the module loaded (the VM rig).  Prints TAP and ends with
 * "N passed, N failed"; exits 0 only if every test passed.
 *
 *   prbd-nltest netlink
 *	every malformed or refused netlink request gets the documented errno
 *	(and extack text) and leaves the status dump byte for byte unchanged;
 *	includes a non-root caller (uid/gid 65534).
 *
 *   prbd-nltest md DEV
 *	formats the block device DEV (destroying its contents), then corrupts
 *	one metadata field at a time (checksums fixed up, both superblock
 *	copies) and checks that attach is refused with a message naming the
 *	field and that nothing was written to DEV.
 *
 * The expected errors are those of Documentation/prbd-netlink.rst.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prbdctl.h"

const char *prbdctl_prog = "prbd-nltest";
bool prbdctl_json;

static struct prbdctl_nl *nl;
static int t_num, t_fail;

static const uint8_t t_zero[PRBD_UUID_LEN];

static const uint8_t t_uuid[PRBD_UUID_LEN] = {
	0x6f, 0x1c, 0x2a, 0x34, 0x9d, 0x55, 0x4e, 0x1b,
	0x8a, 0x77, 0x0c, 0x2f, 0x3d, 0x4e, 0x5f, 0x60,
};

#define T_RES		"nltest0"
#define T_RES_MINOR	1000
#define T_MD_RES	"nltest-md"
#define T_MD_MINOR	1001

/* ---- snapshots of the status dump ------------------------------------ */

struct t_buf {
	uint8_t *data;
	size_t len;
};

static int t_snap_cb(const struct prbdctl_reply *r, void *arg)
{
	struct t_buf *b = arg;
	uint8_t *p = realloc(b->data, b->len + r->len);

	if (!p)
		return -ENOMEM;
	memcpy(p + b->len, r->attrs, r->len);
	b->data = p;
	b->len += r->len;
	return 0;
}

static int t_snapshot(struct t_buf *b)
{
	struct nl_msg *msg = prbdctl_nl_msg(nl, PRBD_CMD_RES_GET, NLM_F_DUMP);

	b->data = NULL;
	b->len = 0;
	return prbdctl_nl_run(nl, msg, t_snap_cb, b);
}

/*
 * Wait (up to 5 s) until two status dumps 100 ms apart are identical, so
 * that a resource that is up (Paxos ticking) does not make a refused
 * request look as if it changed the status.
 */
static void t_settle(void)
{
	struct t_buf a, b;
	int i;

	for (i = 0; i < 50; i++) {
		if (t_snapshot(&a))
			return;
		usleep(100 * 1000);
		if (t_snapshot(&b)) {
			free(a.data);
			return;
		}
		if (a.len == b.len && !memcmp(a.data, b.data, a.len)) {
			free(a.data);
			free(b.data);
			return;
		}
		free(a.data);
		free(b.data);
	}
}

/* ---- TAP ------------------------------------------------------------- */

static void t_result(bool ok, const char *desc, const char *why)
{
	t_num++;
	if (!ok)
		t_fail++;
	printf("%sok %d - %s\n", ok ? "" : "not ", t_num, desc);
	if (!ok && why)
		printf("#   %s\n", why);
	fflush(stdout);
}

/*
 * Send @msg; expect errno @want (0 = success) and, if @want_msg, that the
 * extack message contains it.  A refused request must leave the status
 * dump unchanged.
 */
static void t_expect(const char *desc, struct nl_msg *msg, int want,
		     const char *want_msg)
{
	struct t_buf before, after;
	char why[768];
	const char *got_msg;
	int err;

	if (!msg) {
		t_result(false, desc, "cannot build the request");
		return;
	}
	if (t_snapshot(&before)) {
		nlmsg_free(msg);
		t_result(false, desc, "status dump failed");
		return;
	}
	err = prbdctl_nl_run(nl, msg, NULL, NULL);
	got_msg = prbdctl_nl_errmsg(nl);
	snprintf(why, sizeof(why), "want %s%s%s, got %s \"%s\"",
		 want ? strerror(-want) : "success",
		 want_msg ? " with message containing " : "",
		 want_msg ? want_msg : "", err ? strerror(-err) : "success",
		 got_msg);
	if (err != want || (want_msg && !strstr(got_msg, want_msg))) {
		t_result(false, desc, why);
		goto out_free;
	}
	if (want) {
		if (t_snapshot(&after)) {
			t_result(false, desc, "status dump failed");
			goto out_free;
		}
		if (after.len != before.len ||
		    memcmp(after.data, before.data, after.len)) {
			t_result(false, desc, "the refused request changed the status");
			free(after.data);
			goto out_free;
		}
		free(after.data);
	}
	t_result(true, desc, NULL);
out_free:
	free(before.data);
}

/* ---- request builders ------------------------------------------------ */

static struct nl_msg *m_cmd(uint8_t cmd)
{
	return prbdctl_nl_msg(nl, cmd, 0);
}

static struct nl_msg *m_res(uint8_t cmd, const char *name)
{
	struct nl_msg *msg = m_cmd(cmd);

	if (msg && name && nla_put_string(msg, PRBD_ATTR_NAME, name)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static struct nl_msg *m_u32(struct nl_msg *msg, int type, uint32_t v)
{
	if (msg && nla_put_u32(msg, type, v)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static struct nl_msg *m_raw(struct nl_msg *msg, int type, int len,
			    const void *data)
{
	if (msg && nla_put(msg, type, len, data)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static struct nl_msg *m_str(struct nl_msg *msg, int type, const char *s)
{
	return m_raw(msg, type, strlen(s) + 1, s);
}

static struct nl_msg *m_u64(struct nl_msg *msg, int type, uint64_t v)
{
	if (msg && nla_put_u64(msg, type, v)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* verify or resync of @res: node-id unless 0, range-start and range-len
 * unless T_NONE
 */
#define T_NONE	UINT64_MAX

static struct nl_msg *m_range(uint8_t cmd, const char *res, uint32_t node_id,
			      uint64_t start, uint64_t len)
{
	struct nl_msg *msg = m_res(cmd, res);

	if (node_id)
		msg = m_u32(msg, PRBD_ATTR_NODE_ID, node_id);
	if (start != T_NONE)
		msg = m_u64(msg, PRBD_ATTR_RANGE_START, start);
	if (len != T_NONE)
		msg = m_u64(msg, PRBD_ATTR_RANGE_LEN, len);
	return msg;
}

static int t_rate_cb(const struct prbdctl_reply *r, void *arg)
{
	int64_t *rate = arg;

	*rate = r->tb[PRBD_ATTR_RESYNC_RATE] ?
		(int64_t)nla_get_u32(r->tb[PRBD_ATTR_RESYNC_RATE]) : -1;
	return 0;
}

/* res-get @res reports resync-rate @want */
static void t_check_rate(const char *desc, const char *res, int64_t want)
{
	int64_t rate = -2;
	int err;

	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_RES_GET, res), t_rate_cb,
			     &rate);
	t_result(!err && rate == want, desc,
		 err ? prbdctl_nl_errmsg(nl) :
		 "res-get reports another resync-rate");
}

/* res-new with everything valid except what the caller adds/omits */
enum {
	NO_NAME = 1 << 0,
	NO_MINOR = 1 << 1,
	NO_NODE = 1 << 2,
	NO_UUID = 1 << 3,
};

static struct nl_msg *m_res_new(const char *name, uint32_t minor,
				unsigned int omit)
{
	struct nl_msg *msg = m_cmd(PRBD_CMD_RES_NEW);

	if (!(omit & NO_NAME))
		msg = m_str(msg, PRBD_ATTR_NAME, name);
	if (!(omit & NO_MINOR))
		msg = m_u32(msg, PRBD_ATTR_MINOR, minor);
	if (!(omit & NO_NODE))
		msg = m_u32(msg, PRBD_ATTR_NODE_ID, 1);
	if (!(omit & NO_UUID))
		msg = m_raw(msg, PRBD_ATTR_CLUSTER_UUID, PRBD_UUID_LEN, t_uuid);
	return msg;
}

struct t_peer {
	int node_id;		/* < 0: omit */
	bool addr4, addr6;
	uint32_t a4;		/* network order */
	int port;		/* < 0: omit */
	int addr6_len;
};

static struct nl_msg *m_peer(struct nl_msg *msg, const struct t_peer *p)
{
	static const uint8_t a6[17] = { 0xfd, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 2 };
	struct nlattr *nest;

	if (!msg)
		return NULL;
	nest = nla_nest_start(msg, PRBD_ATTR_PEER);
	if (!nest ||
	    (p->node_id >= 0 &&
	     nla_put_u32(msg, PRBD_PEER_ATTR_NODE_ID, p->node_id)) ||
	    (p->addr4 && nla_put_u32(msg, PRBD_PEER_ATTR_ADDR4, p->a4)) ||
	    (p->addr6 && nla_put(msg, PRBD_PEER_ATTR_ADDR6,
				 p->addr6_len ? p->addr6_len : 16, a6)) ||
	    (p->port >= 0 && nla_put_u16(msg, PRBD_PEER_ATTR_PORT, p->port))) {
		nlmsg_free(msg);
		return NULL;
	}
	nla_nest_end(msg, nest);
	return msg;
}

static struct nl_msg *m_peer_add(const struct t_peer *p)
{
	return m_peer(m_res(PRBD_CMD_PEER_ADD, T_RES), p);
}

/* 10.77.0.N in network byte order */
static uint32_t t_ip(int n)
{
	return htobe32(0x0a4d0000 | n);
}

/* peer-add of node @node_id (< 0: omitted) at @a4 (network order) port
 * @port (< 0: omitted): expect @want and @want_msg.
 */
static void t_peer_add4(const char *desc, int node_id, uint32_t a4, int port,
			int want, const char *want_msg)
{
	struct t_peer p = { .node_id = node_id, .addr4 = true, .a4 = a4,
			    .port = port };

	t_expect(desc, m_peer_add(&p), want, want_msg);
}

/* A membership command @cmd for @node_id with a peer nest naming node
 * @peer_id at @a4 (network order), port 7790: expect @want and @want_msg.
 */
static void t_member_addr(const char *desc, uint8_t cmd, int node_id,
			  int peer_id, uint32_t a4, int want,
			  const char *want_msg)
{
	struct t_peer p = { .node_id = peer_id, .addr4 = true, .a4 = a4,
			    .port = 7790 };

	t_expect(desc, m_peer(m_u32(m_res(cmd, T_RES), PRBD_ATTR_NODE_ID,
				    node_id), &p), want, want_msg);
}

/* the local listen address: addr4 10.77.0.1 and/or addr6 fd00::1 of
 * @a6_len bytes (0: 16), port unless < 0
 */
static struct nl_msg *m_listen(struct nl_msg *msg, bool addr4, bool addr6,
			       int a6_len, int port)
{
	static const uint8_t a6[17] = { 0xfd, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 1 };

	if (msg &&
	    ((addr4 && nla_put_u32(msg, PRBD_ATTR_LISTEN_ADDR4, t_ip(1))) ||
	     (addr6 && nla_put(msg, PRBD_ATTR_LISTEN_ADDR6,
			       a6_len ? a6_len : 16, a6)) ||
	     (port >= 0 && nla_put_u16(msg, PRBD_ATTR_LISTEN_PORT, port)))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static struct nl_msg *m_set_listen(const char *res, bool addr4, bool addr6,
				   int port)
{
	return m_listen(m_res(PRBD_CMD_RES_SET, res), addr4, addr6, 0, port);
}

struct t_listen {
	bool addr4, addr6;
	uint32_t a4;
	uint8_t a6[16];
	int port;		/* -1: not reported */
};

static int t_listen_cb(const struct prbdctl_reply *r, void *arg)
{
	struct t_listen *l = arg;

	memset(l, 0, sizeof(*l));
	l->port = -1;
	if (r->tb[PRBD_ATTR_LISTEN_ADDR4]) {
		l->addr4 = true;
		l->a4 = nla_get_u32(r->tb[PRBD_ATTR_LISTEN_ADDR4]);
	}
	if (r->tb[PRBD_ATTR_LISTEN_ADDR6]) {
		l->addr6 = true;
		memcpy(l->a6, nla_data(r->tb[PRBD_ATTR_LISTEN_ADDR6]), 16);
	}
	if (r->tb[PRBD_ATTR_LISTEN_PORT])
		l->port = nla_get_u16(r->tb[PRBD_ATTR_LISTEN_PORT]);
	return 0;
}

/* res-get @res reports exactly the listen address addr4/addr6 and @port */
static void t_check_listen(const char *desc, const char *res, bool addr4,
			   bool addr6, int port)
{
	struct t_listen l;
	int err;

	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_RES_GET, res), t_listen_cb, &l);
	t_result(!err && l.addr4 == addr4 && l.addr6 == addr6 &&
		 l.port == port && (!addr4 || l.a4 == t_ip(1)) &&
		 (!addr6 || (l.a6[0] == 0xfd && l.a6[15] == 1)),
		 desc, err ? prbdctl_nl_errmsg(nl) :
		 "res-get reports another listen address");
}

/* ---- netlink tests --------------------------------------------------- */

static void t_nonroot(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct prbdctl_nl *unl;
		struct t_buf b;
		int err, err2;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		unl = prbdctl_nl_open();
		if (!unl)
			_exit(11);
		nl = unl;
		err = prbdctl_nl_run(unl, m_res_new("nltest-nonroot", 999, 0),
				     NULL, NULL);
		err2 = prbdctl_nl_run(unl, m_res(PRBD_CMD_RES_DEL, T_RES),
				      NULL, NULL);
		if (err != -EPERM || err2 != -EPERM)
			_exit(12);
		if (t_snapshot(&b))
			_exit(13);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		t_result(false, "non-root caller", "fork failed");
		return;
	}
	t_result(WIFEXITED(st) && !WEXITSTATUS(st),
		 "non-root caller: res-new and res-del refused with EPERM, status allowed",
		 WIFEXITED(st) && WEXITSTATUS(st) == 12 ?
		 "a state change was not refused with EPERM" :
		 "child failed (setuid, socket or status dump)");
}

static void t_netlink(void)
{
	char long_name[PRBD_NAME_SIZE + 1], long_name_nul[PRBD_NAME_SIZE + 1];
	uint8_t secret[PRBD_SECRET_MAX_LEN + 1];
	struct nl_msg *msg;
	struct genlmsghdr *g;
	uint8_t raw[64];
	int err;

	memset(long_name, 'a', PRBD_NAME_SIZE);
	long_name[PRBD_NAME_SIZE] = '\0';
	/* 65 bytes, an early NUL, no NUL at the end: too long */
	memset(long_name_nul, 'b', sizeof(long_name_nul));
	long_name_nul[10] = '\0';
	memset(secret, 's', sizeof(secret));

	/* a clean baseline: one resource, down, diskless, one peer */
	prbdctl_nl_run(nl, m_res(PRBD_CMD_RES_DEL, T_RES), NULL, NULL);
	err = prbdctl_nl_run(nl, m_res_new(T_RES, T_RES_MINOR, 0), NULL, NULL);
	t_result(!err, "setup: res-new " T_RES, prbdctl_nl_errmsg(nl));
	err = prbdctl_nl_run(nl, m_peer_add(&(struct t_peer){
		.node_id = 2, .addr4 = true, .a4 = t_ip(2), .port = 7790 }),
		NULL, NULL);
	t_result(!err, "setup: peer-add 2", prbdctl_nl_errmsg(nl));

	/* res-new: missing attributes */
	t_expect("res-new without name", m_res_new("x", 999, NO_NAME), -EINVAL,
		 "missing attribute");
	t_expect("res-new without minor", m_res_new("x", 999, NO_MINOR),
		 -EINVAL, "missing attribute");
	t_expect("res-new without node-id", m_res_new("x", 999, NO_NODE),
		 -EINVAL, "missing attribute");
	t_expect("res-new without cluster-uuid", m_res_new("x", 999, NO_UUID),
		 -EINVAL, "missing attribute");
	t_expect("res-new with no attributes", m_cmd(PRBD_CMD_RES_NEW), -EINVAL,
		 "missing attribute");

	/* res-new: wrong types and lengths */
	msg = m_res_new("x", 0, NO_MINOR);
	t_expect("res-new minor as u16 (wrong length)",
		 m_raw(msg, PRBD_ATTR_MINOR, 2, "\x01\x00"), -EINVAL,
		 "invalid attribute length");
	msg = m_res_new("x", 999, NO_NAME);
	t_expect("res-new name without NUL",
		 m_raw(msg, PRBD_ATTR_NAME, 3, "abc"), -EINVAL, NULL);
	msg = m_res_new("x", 999, NO_NAME);
	t_expect("res-new name of 64 characters (no NUL within 64 bytes)",
		 m_str(msg, PRBD_ATTR_NAME, long_name), -EINVAL, NULL);
	msg = m_res_new("x", 999, NO_NAME);
	t_expect("res-new name of 65 bytes with an inner NUL",
		 m_raw(msg, PRBD_ATTR_NAME, PRBD_NAME_SIZE + 1, long_name_nul),
		 -ERANGE, NULL);
	msg = m_res_new("x", 999, NO_UUID);
	t_expect("res-new cluster-uuid of 15 bytes",
		 m_raw(msg, PRBD_ATTR_CLUSTER_UUID, 15, t_uuid), -ERANGE,
		 "binary attribute size out of range");
	msg = m_res_new("x", 999, NO_UUID);
	t_expect("res-new cluster-uuid all zero",
		 m_raw(msg, PRBD_ATTR_CLUSTER_UUID, 16, t_zero), -EINVAL,
		 "cluster UUID");
	t_expect("res-new empty secret",
		 m_raw(m_res_new("x", 999, 0), PRBD_ATTR_SECRET, 0, secret),
		 -ERANGE, NULL);
	t_expect("res-new secret of 65 bytes",
		 m_raw(m_res_new("x", 999, 0), PRBD_ATTR_SECRET, 65, secret),
		 -ERANGE, NULL);

	/* res-new: out of range */
	t_expect("res-new minor 1024 (> PRBD_MINOR_MAX)",
		 m_res_new("x", 1024, 0), -ERANGE, "integer out of range");
	t_expect("res-new minor 0xffffffff",
		 m_res_new("x", 0xffffffff, 0), -ERANGE, "integer out of range");
	t_expect("res-new node-id 0",
		 m_u32(m_res_new("x", 999, NO_NODE), PRBD_ATTR_NODE_ID, 0),
		 -ERANGE, "integer out of range");
	t_expect("res-new node-id 32",
		 m_u32(m_res_new("x", 999, NO_NODE), PRBD_ATTR_NODE_ID, 32),
		 -ERANGE, "integer out of range");
	t_expect("res-new on-no-quorum 2",
		 m_u32(m_res_new("x", 999, 0), PRBD_ATTR_ON_NO_QUORUM, 2),
		 -ERANGE, "integer out of range");

	/* res-new: attributes the command does not take */
	t_expect("res-new with force (not taken by res-new)",
		 m_raw(m_res_new("x", 999, 0), PRBD_ATTR_FORCE, 0, NULL),
		 -EINVAL, "Unsupported attribute");
	t_expect("res-new with attribute type 200",
		 m_u32(m_res_new("x", 999, 0), 200, 1), -EINVAL,
		 "Unknown attribute type");

	/* res-new: semantic checks */
	t_expect("res-new empty name", m_res_new("", 999, 0), -EINVAL,
		 "invalid resource name");
	t_expect("res-new name with '/'", m_res_new("a/b", 999, 0), -EINVAL,
		 "invalid resource name");
	t_expect("res-new name starting with '-'", m_res_new("-x", 999, 0),
		 -EINVAL, "invalid resource name");
	t_expect("res-new duplicate name", m_res_new(T_RES, 999, 0), -EEXIST,
		 "exists");
	t_expect("res-new duplicate minor", m_res_new("nltest1", T_RES_MINOR, 0),
		 -EEXIST, "minor");

	/* the generic netlink header */
	msg = m_res_new("x", 999, 0);
	if (msg) {
		g = nlmsg_data(nlmsg_hdr(msg));
		g->reserved = 1;
	}
	t_expect("reserved field of the genl header not zero", msg, -EINVAL,
		 NULL);
	t_expect("unknown command 99", m_cmd(99), -EOPNOTSUPP, NULL);

	/* unknown resource */
	t_expect("res-del of an unknown resource",
		 m_res(PRBD_CMD_RES_DEL, "nltest-none"), -ENOENT,
		 "no resource of that name");
	t_expect("res-get of an unknown resource",
		 m_res(PRBD_CMD_RES_GET, "nltest-none"), -ENOENT,
		 "no resource of that name");
	t_expect("attach to an unknown resource",
		 m_str(m_res(PRBD_CMD_ATTACH, "nltest-none"),
		       PRBD_ATTR_BACKING_DEV, "/dev/null"), -ENOENT,
		 "no resource of that name");
	t_expect("up of an unknown resource", m_res(PRBD_CMD_UP, "nltest-none"),
		 -ENOENT, "no resource of that name");
	/* 6.1 gives a dump's start callback no extack: errno only */
	t_expect("res-get dump filtered by an unknown name",
		 m_str(prbdctl_nl_msg(nl, PRBD_CMD_RES_GET, NLM_F_DUMP),
		       PRBD_ATTR_NAME, "nltest-none"), -ENOENT, NULL);
	t_expect("res-get dump filtered by " T_RES,
		 m_str(prbdctl_nl_msg(nl, PRBD_CMD_RES_GET, NLM_F_DUMP),
		       PRBD_ATTR_NAME, T_RES), 0, NULL);
	t_expect("res-get dump with minor (not taken)",
		 m_u32(prbdctl_nl_msg(nl, PRBD_CMD_RES_GET, NLM_F_DUMP),
		       PRBD_ATTR_MINOR, 1), -EINVAL, "Unknown attribute type");
	t_expect("res-del without name", m_cmd(PRBD_CMD_RES_DEL), -EINVAL,
		 "missing attribute");
	t_expect("res-get with minor (not taken)",
		 m_u32(m_res(PRBD_CMD_RES_GET, T_RES), PRBD_ATTR_MINOR, 1),
		 -EINVAL, "Unknown attribute type");

	/* attach */
	t_expect("attach without backing-dev", m_res(PRBD_CMD_ATTACH, T_RES),
		 -EINVAL, "missing attribute");
	t_expect("attach a relative path",
		 m_str(m_res(PRBD_CMD_ATTACH, T_RES), PRBD_ATTR_BACKING_DEV,
		       "dev/null"), -EINVAL, "absolute path");
	t_expect("attach a missing device",
		 m_str(m_res(PRBD_CMD_ATTACH, T_RES), PRBD_ATTR_BACKING_DEV,
		       "/dev/nltest-missing"), -ENOENT, "does not exist");
	t_expect("attach a character device",
		 m_str(m_res(PRBD_CMD_ATTACH, T_RES), PRBD_ATTR_BACKING_DEV,
		       "/dev/null"), -ENOTBLK, "not a block device");

	/* state machine */
	t_expect("detach without a backing device",
		 m_res(PRBD_CMD_DETACH, T_RES), -ENODEV, "no backing device");
	t_expect("up without a backing device", m_res(PRBD_CMD_UP, T_RES),
		 -ENODEV, "no backing device");
	t_expect("primary while down", m_res(PRBD_CMD_PRIMARY, T_RES),
		 -ENOTCONN, "down");
	t_expect("res-set without settings", m_res(PRBD_CMD_RES_SET, T_RES),
		 -EINVAL, "nothing to change");

	/* the local listen address (res-new and res-set) */
	t_expect("res-new listen port 0",
		 m_listen(m_res_new("x", 999, 0), true, false, 0, 0), -ERANGE,
		 "integer out of range");
	t_expect("res-new listen-addr4 and listen-addr6 together",
		 m_listen(m_res_new("x", 999, 0), true, true, 0, 7790),
		 -EINVAL, "only one of listen-addr4 and listen-addr6");
	t_expect("res-new listen address without port",
		 m_listen(m_res_new("x", 999, 0), true, false, 0, -1), -EINVAL,
		 "listen address needs listen-port");
	t_expect("res-new listen port without address",
		 m_listen(m_res_new("x", 999, 0), false, false, 0, 7790),
		 -EINVAL, "listen-port needs listen-addr4 or listen-addr6");
	t_expect("res-new listen-addr6 of 15 bytes",
		 m_listen(m_res_new("x", 999, 0), false, true, 15, 7790),
		 -ERANGE, NULL);
	t_expect("res-set listen port 0", m_set_listen(T_RES, false, true, 0),
		 -ERANGE, "integer out of range");
	t_expect("res-set listen-addr4 and listen-addr6 together",
		 m_set_listen(T_RES, true, true, 7790), -EINVAL,
		 "only one of listen-addr4 and listen-addr6");
	t_expect("res-set listen address without port",
		 m_set_listen(T_RES, false, true, -1), -EINVAL,
		 "listen address needs listen-port");
	t_expect("res-set listen port without address",
		 m_set_listen(T_RES, false, false, 7790), -EINVAL,
		 "listen-port needs listen-addr4 or listen-addr6");
	t_check_listen("res-get: no listen address by default", T_RES, false,
		       false, -1);
	t_expect("res-set listen 10.77.0.1:7790 while down",
		 m_set_listen(T_RES, true, false, 7790), 0, NULL);
	t_check_listen("res-get reports listen 10.77.0.1:7790", T_RES, true,
		       false, 7790);
	t_expect("res-set listen [fd00::1]:7791 while down",
		 m_set_listen(T_RES, false, true, 7791), 0, NULL);
	t_check_listen("res-get reports listen [fd00::1]:7791", T_RES, false,
		       true, 7791);
	t_expect("res-set listen port 0 leaves [fd00::1]:7791",
		 m_set_listen(T_RES, true, false, 0), -ERANGE, NULL);
	t_check_listen("  still [fd00::1]:7791", T_RES, false, true, 7791);

	/* the resync rate cap (res-new and res-set) */
	t_expect("res-new resync-rate 4194305 (> 4 GiB/s)",
		 m_u32(m_res_new("x", 999, 0), PRBD_ATTR_RESYNC_RATE, 4194305),
		 -ERANGE, "integer out of range");
	t_expect("res-new resync-rate as u64 (wrong length)",
		 m_u64(m_res_new("x", 999, 0), PRBD_ATTR_RESYNC_RATE, 1),
		 -EINVAL, "invalid attribute length");
	t_expect("res-set resync-rate 0xffffffff",
		 m_u32(m_res(PRBD_CMD_RES_SET, T_RES), PRBD_ATTR_RESYNC_RATE,
		       0xffffffff), -ERANGE, "integer out of range");
	t_expect("res-set resync-rate as u16 (wrong length)",
		 m_raw(m_res(PRBD_CMD_RES_SET, T_RES), PRBD_ATTR_RESYNC_RATE, 2,
		       "\x01\x00"), -EINVAL, "invalid attribute length");
	t_check_rate("res-get: resync-rate 0 (no cap) by default", T_RES, 0);
	t_expect("res-set resync-rate 4194304 (the maximum)",
		 m_u32(m_res(PRBD_CMD_RES_SET, T_RES), PRBD_ATTR_RESYNC_RATE,
		       4194304), 0, NULL);
	t_check_rate("res-get reports resync-rate 4194304", T_RES, 4194304);
	t_expect("res-set resync-rate 20480",
		 m_u32(m_res(PRBD_CMD_RES_SET, T_RES), PRBD_ATTR_RESYNC_RATE,
		       20480), 0, NULL);
	t_check_rate("res-get reports resync-rate 20480", T_RES, 20480);
	t_expect("res-new nltest-rate with resync-rate 512",
		 m_u32(m_res_new("nltest-rate", 998, 0), PRBD_ATTR_RESYNC_RATE,
		       512), 0, NULL);
	t_check_rate("res-get reports resync-rate 512", "nltest-rate", 512);
	t_expect("res-del nltest-rate", m_res(PRBD_CMD_RES_DEL, "nltest-rate"),
		 0, NULL);

	/* verify: validation before the resource's state */
	t_expect("verify without name", m_cmd(PRBD_CMD_VERIFY), -EINVAL,
		 "missing attribute");
	t_expect("verify of an unknown resource",
		 m_range(PRBD_CMD_VERIFY, "nltest-none", 0, T_NONE, T_NONE),
		 -ENOENT, "no resource of that name");
	t_expect("verify with node-id (not taken by verify)",
		 m_range(PRBD_CMD_VERIFY, T_RES, 2, T_NONE, T_NONE), -EINVAL,
		 "Unsupported attribute");
	t_expect("verify range-start without range-len",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, 0, T_NONE), -EINVAL,
		 "range-start and range-len go together");
	t_expect("verify range-len without range-start",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, T_NONE, 4096), -EINVAL,
		 "range-start and range-len go together");
	t_expect("verify range-start as u32 (wrong length)",
		 m_u64(m_u32(m_res(PRBD_CMD_VERIFY, T_RES),
			     PRBD_ATTR_RANGE_START, 0), PRBD_ATTR_RANGE_LEN,
		       4096), -EINVAL, "invalid attribute length");
	t_expect("verify range-start not 4 KiB aligned",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, 512, 4096), -EINVAL,
		 "range-start must be a multiple of 4096");
	t_expect("verify range-len not 4 KiB aligned",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, 0, 6144), -EINVAL,
		 "range-len must be a multiple of 4096");
	t_expect("verify range-len 0",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, 4096, 0), -EINVAL,
		 "range-len must not be 0");
	t_expect("verify range overflowing",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, UINT64_MAX - 4095, 8192),
		 -EINVAL, "overflows");
	t_expect("verify of a resource that is down",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, T_NONE, T_NONE), -ENOTCONN,
		 "resource is down");
	t_expect("verify with a range of a resource that is down",
		 m_range(PRBD_CMD_VERIFY, T_RES, 0, 0, 1 << 20), -ENOTCONN,
		 "resource is down");

	/* resync */
	t_expect("resync without node-id",
		 m_range(PRBD_CMD_RESYNC, T_RES, 0, T_NONE, T_NONE), -EINVAL,
		 "missing attribute");
	t_expect("resync node-id 0",
		 m_u32(m_res(PRBD_CMD_RESYNC, T_RES), PRBD_ATTR_NODE_ID, 0),
		 -ERANGE, "integer out of range");
	t_expect("resync node-id as u64 (wrong length)",
		 m_u64(m_res(PRBD_CMD_RESYNC, T_RES), PRBD_ATTR_NODE_ID, 2),
		 -EINVAL, "invalid attribute length");
	t_expect("resync of an unknown node",
		 m_range(PRBD_CMD_RESYNC, T_RES, 9, T_NONE, T_NONE), -ENOENT,
		 "neither the local node nor a peer");
	t_expect("resync with force (not taken)",
		 m_raw(m_range(PRBD_CMD_RESYNC, T_RES, 2, T_NONE, T_NONE),
		       PRBD_ATTR_FORCE, 0, NULL), -EINVAL,
		 "Unsupported attribute");
	t_expect("resync range-len without range-start",
		 m_range(PRBD_CMD_RESYNC, T_RES, 2, T_NONE, 4096), -EINVAL,
		 "range-start and range-len go together");
	t_expect("resync range-start not 4 KiB aligned",
		 m_range(PRBD_CMD_RESYNC, T_RES, 2, 4095, 4096), -EINVAL,
		 "range-start must be a multiple of 4096");
	t_expect("resync range-len 0",
		 m_range(PRBD_CMD_RESYNC, T_RES, 2, 0, 0), -EINVAL,
		 "range-len must not be 0");
	t_expect("resync range overflowing",
		 m_range(PRBD_CMD_RESYNC, T_RES, 2, UINT64_MAX & ~4095ULL, 4096),
		 -EINVAL, "overflows");
	t_expect("resync of peer 2, resource down",
		 m_range(PRBD_CMD_RESYNC, T_RES, 2, T_NONE, T_NONE), -ENOTCONN,
		 "resource is down");
	t_expect("resync of the local node, resource down",
		 m_range(PRBD_CMD_RESYNC, T_RES, 1, 0, 65536), -ENOTCONN,
		 "resource is down");

	/* peers */
	t_expect("peer-add without peer", m_res(PRBD_CMD_PEER_ADD, T_RES),
		 -EINVAL, "missing attribute");
	t_peer_add4("peer-add without node-id",
		    -1, t_ip(3), 7790, -EINVAL, "missing attribute");
	t_peer_add4("peer-add without port",
		    3, t_ip(3), -1, -EINVAL, "missing attribute");
	t_expect("peer-add without address",
		 m_peer_add(&(struct t_peer){ .node_id = 3, .port = 7790 }),
		 -EINVAL, "exactly one of addr4 and addr6");
	t_expect("peer-add with addr4 and addr6",
		 m_peer_add(&(struct t_peer){ .node_id = 3, .addr4 = true,
					      .a4 = t_ip(3), .addr6 = true,
					      .port = 7790 }),
		 -EINVAL, "exactly one of addr4 and addr6");
	t_expect("peer-add addr6 of 17 bytes",
		 m_peer_add(&(struct t_peer){ .node_id = 3, .addr6 = true,
					      .addr6_len = 17, .port = 7790 }),
		 -ERANGE, NULL);
	t_peer_add4("peer-add port 0",
		    3, t_ip(3), 0, -ERANGE, "integer out of range");
	t_peer_add4("peer-add node-id 40",
		    40, t_ip(3), 7790, -ERANGE, "integer out of range");
	t_peer_add4("peer-add multicast address",
		    3, htobe32(0xe0000001), 7790, -EINVAL, "unicast");
	t_peer_add4("peer-add the local node id",
		    1, t_ip(3), 7790, -EINVAL, "local node id");
	t_peer_add4("peer-add duplicate node id",
		    2, t_ip(3), 7790, -EEXIST, "node id exists");
	t_peer_add4("peer-add duplicate address",
		    3, t_ip(2), 7790, -EEXIST, "address");
	msg = m_peer(m_peer_add(&(struct t_peer){ .node_id = 3, .addr4 = true,
						  .a4 = t_ip(3), .port = 7790 }),
		     &(struct t_peer){ .node_id = 4, .addr4 = true,
				       .a4 = t_ip(4), .port = 7790 });
	t_expect("peer-add with two peers", msg, -EINVAL, "exactly one peer");
	/* a peer nest without NLA_F_NESTED */
	{
		struct nlattr *a = (struct nlattr *)raw;

		a->nla_type = PRBD_PEER_ATTR_NODE_ID;
		a->nla_len = NLA_HDRLEN + 4;
		memcpy(raw + NLA_HDRLEN, "\x03\0\0\0", 4);
		t_expect("peer-add nest without NLA_F_NESTED",
			 m_raw(m_res(PRBD_CMD_PEER_ADD, T_RES), PRBD_ATTR_PEER,
			       NLA_HDRLEN + 4, raw), -EINVAL, "NLA_F_NESTED");
	}
	t_expect("peer-del of an unknown node",
		 m_u32(m_res(PRBD_CMD_PEER_DEL, T_RES), PRBD_ATTR_NODE_ID, 9),
		 -ENOENT, "no peer");
	t_expect("peer-del without node-id", m_res(PRBD_CMD_PEER_DEL, T_RES),
		 -EINVAL, "missing attribute");

	/* membership commands: validated before the replication code */
	t_expect("node-add of an unknown node",
		 m_u32(m_res(PRBD_CMD_NODE_ADD, T_RES), PRBD_ATTR_NODE_ID, 9),
		 -ENOENT, NULL);
	t_expect("node-replace without new-node-id",
		 m_u32(m_res(PRBD_CMD_NODE_REPLACE, T_RES), PRBD_ATTR_NODE_ID, 2),
		 -EINVAL, "missing attribute");
	/* node-add/learner-add with an address: checked before anything */
	t_member_addr("node-add with a peer nest naming another node",
		      PRBD_CMD_NODE_ADD, 4, 5, t_ip(4), -EINVAL,
		      "another node-id");
	t_member_addr("node-add at the address of another node",
		      PRBD_CMD_NODE_ADD, 4, 4, t_ip(2), -EEXIST,
		      "is the address of node 2");
	t_member_addr("learner-add of a known node at another address",
		      PRBD_CMD_LEARNER_ADD, 2, 2, t_ip(3), -EEXIST,
		      "node 2 is known at 10.77.0.2:7790");
	t_member_addr("node-add at a multicast address", PRBD_CMD_NODE_ADD,
		      4, 4, htobe32(0xe0000001), -EINVAL, "unicast");
	t_member_addr("node-add with an address while down adds no peer",
		      PRBD_CMD_NODE_ADD, 4, 4, t_ip(4), -ENOTCONN, "down");
	t_member_addr("node-del with a peer nest (not in its policy)",
		      PRBD_CMD_NODE_DEL, 2, 2, t_ip(2), -EINVAL, NULL);
	t_expect("node-replace by itself",
		 m_u32(m_u32(m_res(PRBD_CMD_NODE_REPLACE, T_RES),
			     PRBD_ATTR_NODE_ID, 2), PRBD_ATTR_NEW_NODE_ID, 2),
		 -EINVAL, NULL);

	t_nonroot();

	/* positive checks that the baseline is what we think */
	t_expect("res-get " T_RES, m_res(PRBD_CMD_RES_GET, T_RES), 0, NULL);
	err = prbdctl_nl_run(nl, m_u32(m_res(PRBD_CMD_PEER_DEL, T_RES),
				       PRBD_ATTR_NODE_ID, 2), NULL, NULL);
	t_result(!err, "cleanup: peer-del 2", prbdctl_nl_errmsg(nl));
	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_RES_DEL, T_RES), NULL, NULL);
	t_result(!err, "cleanup: res-del " T_RES, prbdctl_nl_errmsg(nl));
}

/* ---- metadata tests -------------------------------------------------- */

#define T_MD_LEN	(64 * 1024)	/* covers sb, acceptor, log header */

static uint8_t *t_img, *t_orig, *t_check;
static int t_fd;

static struct prbd_disk_sb *t_sb(int copy)
{
	return (void *)(t_img + (copy ? PRBD_SB_B_OFFSET : PRBD_SB_A_OFFSET));
}

static struct prbd_disk_acceptor *t_acc(int slot)
{
	return (void *)(t_img + PRBD_ACCEPTOR_OFFSET + slot * PRBD_DISK_BLOCK);
}

static struct prbd_disk_log_hdr *t_lh(void)
{
	return (void *)(t_img + PRBD_LOG_OFFSET);
}

static void t_seal(void *rec)
{
	uint32_t crc = htole32(prbdctl_crc32c(rec, PRBD_DISK_REC_SIZE - 4));

	memcpy((uint8_t *)rec + PRBD_DISK_REC_SIZE - 4, &crc, 4);
}

/* Apply @fn to both superblock copies and fix their crc. */
#define T_SB_BOTH(expr) do {						\
	int _c;								\
	for (_c = 0; _c < 2; _c++) {					\
		struct prbd_disk_sb *sb = t_sb(_c);			\
		expr;							\
		t_seal(sb);						\
	}								\
} while (0)

static int t_write_img(void)
{
	if (pwrite(t_fd, t_img, T_MD_LEN, 0) != T_MD_LEN || fsync(t_fd))
		return -errno;
	return 0;
}

static int t_read_img(uint8_t *buf)
{
	if (pread(t_fd, buf, T_MD_LEN, 0) != T_MD_LEN)
		return -errno;
	return 0;
}

static struct nl_msg *m_attach(const char *dev)
{
	return m_str(m_res(PRBD_CMD_ATTACH, T_MD_RES), PRBD_ATTR_BACKING_DEV,
		     dev);
}

/* Does "prbdctl show-md" (same process, output discarded) accept DEV? */
static bool t_show_md_accepts(const char *dev)
{
	int saved, devnull, ret;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDOUT_FILENO);
	close(devnull);
	ret = prbdctl_show_md(dev);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return ret == 0;
}

/* set for the cases where only the match with the resource fails */
static bool t_md_mismatch;

/*
 * t_img has been modified: write it, attach, check the result, check that
 * nothing was written and that prbdctl show-md reaches the same verdict.
 */
static void t_md_case(const char *dev, const char *desc, int want,
		      const char *want_msg)
{
	bool show_ok, kernel_ok = !want || t_md_mismatch;
	int err = t_write_img();

	if (err) {
		t_result(false, desc, "cannot write the device");
		return;
	}
	t_expect(desc, m_attach(dev), want, want_msg);
	if (!want) {
		err = prbdctl_nl_run(nl, m_res(PRBD_CMD_DETACH, T_MD_RES),
				     NULL, NULL);
		if (err)
			t_result(false, "detach after a successful attach",
				 prbdctl_nl_errmsg(nl));
	}
	if (t_read_img(t_check) || memcmp(t_check, t_img, T_MD_LEN))
		t_result(false, "metadata unchanged by the attach attempt",
			 "the device was written");
	show_ok = t_show_md_accepts(dev);
	if (show_ok != kernel_ok)
		t_result(false, "prbdctl show-md agrees with the module",
			 show_ok ? "show-md accepts what attach refuses" :
				   "show-md refuses what attach accepts");
	memcpy(t_img, t_orig, T_MD_LEN);
}

static void t_md(const char *dev)
{
	struct prbdctl_md_opts mo = { .dev = dev, .node_id = 1, .force = true };
	uint64_t devsize;
	int saved, err;
	struct stat st;

	if (stat(dev, &st) || !S_ISBLK(st.st_mode)) {
		printf("1..0 # SKIP %s is not a block device\n", dev);
		exit(0);
	}
	memcpy(mo.cluster_uuid, t_uuid, PRBD_UUID_LEN);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(open("/dev/null", O_WRONLY), STDOUT_FILENO);
	err = prbdctl_create_md(&mo);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	t_result(!err, "create-md on the test device", NULL);
	if (err)
		return;

	t_fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (t_fd < 0 || ioctl(t_fd, BLKGETSIZE64, &devsize) ||
	    posix_memalign((void **)&t_img, 4096, T_MD_LEN) ||
	    posix_memalign((void **)&t_orig, 4096, T_MD_LEN) ||
	    posix_memalign((void **)&t_check, 4096, T_MD_LEN) ||
	    t_read_img(t_orig)) {
		t_result(false, "open the test device with O_DIRECT", NULL);
		return;
	}
	memcpy(t_img, t_orig, T_MD_LEN);

	prbdctl_nl_run(nl, m_res(PRBD_CMD_DETACH, T_MD_RES), NULL, NULL);
	prbdctl_nl_run(nl, m_res(PRBD_CMD_RES_DEL, T_MD_RES), NULL, NULL);
	err = prbdctl_nl_run(nl, m_res_new(T_MD_RES, T_MD_MINOR, 0), NULL, NULL);
	t_result(!err, "setup: res-new " T_MD_RES, prbdctl_nl_errmsg(nl));

	t_md_case(dev, "attach freshly formatted metadata", 0, NULL);

	/* superblock: not intact in either copy */
	T_SB_BOTH(sb->magic = htole64(0x1234));
	t_md_case(dev, "sb magic wrong in both copies", -EINVAL,
		  "superblock field 'magic'");
	t_sb(0)->crc ^= htole32(1);
	t_sb(1)->crc ^= htole32(1);
	t_md_case(dev, "sb crc wrong in both copies", -EINVAL,
		  "superblock field 'crc'");

	/* superblock: intact (crc fixed), one bad field */
	T_SB_BOTH(sb->version = htole32(2));
	t_md_case(dev, "sb version 2", -EINVAL, "superblock field 'version'");
	T_SB_BOTH(sb->sb_size = htole32(1024));
	t_md_case(dev, "sb sb_size 1024", -EINVAL, "superblock field 'sb_size'");
	T_SB_BOTH(sb->feature_incompat = htole64(2));
	t_md_case(dev, "sb unknown incompat feature", -EINVAL,
		  "superblock field 'feature_incompat'");
	T_SB_BOTH(sb->feature_ro_compat = htole64(1ULL << 63));
	t_md_case(dev, "sb unknown ro_compat feature", -EINVAL,
		  "superblock field 'feature_ro_compat'");
	T_SB_BOTH(sb->reserved[100] = 1);
	t_md_case(dev, "sb reserved not zero", -EINVAL,
		  "superblock field 'reserved'");
	T_SB_BOTH(sb->node_id = 0);
	t_md_case(dev, "sb node_id 0", -EINVAL, "superblock field 'node_id'");
	T_SB_BOTH(sb->node_id = htole32(32));
	t_md_case(dev, "sb node_id 32", -EINVAL, "superblock field 'node_id'");
	T_SB_BOTH(memset(sb->cluster_uuid, 0, PRBD_UUID_LEN));
	t_md_case(dev, "sb cluster_uuid zero", -EINVAL,
		  "superblock field 'cluster_uuid'");
	T_SB_BOTH(sb->block_size = htole32(1000));
	t_md_case(dev, "sb block_size 1000", -EINVAL,
		  "superblock field 'block_size'");
	T_SB_BOTH(sb->acceptor_offset = htole64(0x3000));
	t_md_case(dev, "sb acceptor_offset moved", -EINVAL,
		  "superblock field 'acceptor_offset'");
	T_SB_BOTH(sb->acceptor_size = htole64(0x1000));
	t_md_case(dev, "sb acceptor_size one slot", -EINVAL,
		  "superblock field 'acceptor_size'");
	T_SB_BOTH(sb->log_offset = htole64(0x3000));
	t_md_case(dev, "sb log_offset overlapping the acceptor", -EINVAL,
		  "superblock field 'log_offset'");
	T_SB_BOTH(sb->log_size = htole64(4096));
	t_md_case(dev, "sb log_size 4096", -EINVAL,
		  "superblock field 'log_size'");
	T_SB_BOTH(sb->data_offset = sb->log_offset);
	t_md_case(dev, "sb data_offset inside the log", -EINVAL,
		  "superblock field 'data_offset'");
	/* data_size - 1 keeps the chunk count, so the map still fits it */
	T_SB_BOTH(sb->data_size = htole64(le64toh(sb->data_size) - 1));
	t_md_case(dev, "sb data_size not a multiple of block_size", -EINVAL,
		  "superblock field 'data_size'");
	T_SB_BOTH(sb->data_size = 0);
	t_md_case(dev, "sb data_size 0: the map does not match it", -EINVAL,
		  "superblock field 'map_size'");

	/* the slot map fields */
	T_SB_BOTH(sb->reserved1 = htole32(1));
	t_md_case(dev, "sb reserved1 not zero", -EINVAL,
		  "superblock field 'reserved'");
	T_SB_BOTH(sb->feature_incompat = 0);
	t_md_case(dev, "sb map fields set without the slotmap feature",
		  -EINVAL, "superblock field 'map_offset'");
	T_SB_BOTH(sb->map_offset = sb->log_offset);
	t_md_case(dev, "sb map_offset inside the log", -EINVAL,
		  "superblock field 'map_offset'");
	T_SB_BOTH(sb->map_offset = htole64(le64toh(sb->map_offset) + 512));
	t_md_case(dev, "sb map_offset not 4 KiB aligned", -EINVAL,
		  "superblock field 'map_offset'");
	T_SB_BOTH(sb->map_chunk_shift = htole32(PRBD_MAP_CHUNK_SHIFT_MIN - 1));
	t_md_case(dev, "sb map_chunk_shift 15", -EINVAL,
		  "superblock field 'map_chunk_shift'");
	T_SB_BOTH(sb->map_chunk_shift = htole32(PRBD_MAP_CHUNK_SHIFT_MAX + 1));
	t_md_case(dev, "sb map_chunk_shift 27", -EINVAL,
		  "superblock field 'map_chunk_shift'");
	T_SB_BOTH(sb->map_size = htole64(le64toh(sb->map_size) + 4096));
	t_md_case(dev, "sb map_size one block too large", -EINVAL,
		  "superblock field 'map_size'");
	T_SB_BOTH(sb->data_offset = htole64(le64toh(sb->map_offset) +
					    le64toh(sb->map_size) - 4096));
	t_md_case(dev, "sb data_offset inside the slot map", -EINVAL,
		  "superblock field 'data_offset'");
	T_SB_BOTH(sb->feature_incompat = 0; sb->map_offset = 0;
		  sb->map_size = 0; sb->map_chunk_shift = 0);
	t_md_case(dev, "sb without a slot map (feature and fields zero): attached",
		  0, NULL);
	T_SB_BOTH(sb->dev_size = htole64(devsize + 4096);
		  sb->data_size = htole64(le64toh(sb->data_size) + 4096));
	t_md_case(dev, "sb dev_size larger than the device", -EINVAL,
		  "superblock field 'dev_size'");
	T_SB_BOTH(sb->dev_size = htole64(le64toh(sb->data_offset)));
	t_md_case(dev, "sb dev_size smaller than the data end", -EINVAL,
		  "superblock field 'dev_size'");

	/* superblock: valid but not ours */
	t_md_mismatch = true;
	T_SB_BOTH(sb->node_id = htole32(2));
	t_md_case(dev, "sb node_id of another node", -EINVAL,
		  "superblock field 'node_id' does not match");
	T_SB_BOTH(sb->cluster_uuid[0] ^= 0xff);
	t_md_case(dev, "sb cluster_uuid of another cluster", -EINVAL,
		  "superblock field 'cluster_uuid' does not match");
	t_md_mismatch = false;

	/* superblock: the two copies */
	t_sb(0)->created = htole64(12345);
	t_seal(t_sb(0));
	t_md_case(dev, "sb copies differ at the same seq", -EINVAL,
		  "superblock field 'seq'");
	t_sb(0)->crc ^= htole32(1);
	t_md_case(dev, "sb copy A torn, copy B intact: attached", 0, NULL);
	memset(t_sb(1), 0xa5, PRBD_DISK_BLOCK);
	t_md_case(dev, "sb copy B garbage, copy A intact: attached", 0, NULL);
	t_sb(1)->seq = htole64(2);
	t_sb(1)->created = htole64(1);
	t_seal(t_sb(1));
	t_md_case(dev, "sb copy B newer: attached", 0, NULL);

	/* acceptor state */
	t_acc(0)->nr_members = htole32(PRBD_DISK_MAX_MEMBERS + 1);
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor nr_members 33", -EINVAL,
		  "acceptor state field 'nr_members'");
	t_acc(0)->nr_members = htole32(1);
	t_acc(0)->members[0].node_id = htole32(40);
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor member node id 40", -EINVAL,
		  "acceptor state field 'members'");
	t_acc(0)->disk_uuid[3] ^= 1;
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor disk_uuid of another format", -EINVAL,
		  "acceptor state field 'disk_uuid'");
	t_acc(0)->reserved[0] = 1;
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor reserved not zero", -EINVAL,
		  "acceptor state field 'reserved'");
	t_acc(0)->reserved1 = htole32(1);
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor reserved1 not zero", -EINVAL,
		  "acceptor state field 'reserved'");
	t_acc(0)->flags = htole32(0x20);
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor flags with an unknown bit", -EINVAL,
		  "acceptor state field 'flags'");
	/* a reset is a full resync to an epoch: neither alone */
	t_acc(0)->flags = htole32(PRBD_DISK_ACC_F_RESET |
				  PRBD_DISK_ACC_F_INCONSISTENT);
	t_acc(0)->epoch = htole64(0x305);
	t_acc(0)->erank = htole64(0x305);
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor reset without a full resync", -EINVAL,
		  "acceptor state field 'flags'");
	t_acc(0)->flags = htole32(PRBD_DISK_ACC_F_RESET |
				  PRBD_DISK_ACC_F_INCONSISTENT |
				  PRBD_DISK_ACC_F_RS_FULL);
	t_acc(0)->epoch = 0;
	t_acc(0)->erank = 0;
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor reset without an epoch", -EINVAL,
		  "acceptor state field 'flags'");
	t_acc(0)->epoch = htole64(0x305);
	t_acc(0)->erank = htole64(0x205);
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor erank below its epoch", -EINVAL,
		  "acceptor state field 'erank'");
	t_acc(0)->epoch = htole64(0x305);
	t_acc(0)->epoch_base = htole64(9);
	t_acc(0)->erank = htole64(0x405);
	t_acc(0)->flags = htole32(PRBD_DISK_ACC_F_UP);
	t_seal(t_acc(0));
	t_md_case(dev, "acceptor with an epoch, not shut down cleanly: attached",
		  0, NULL);
	t_acc(0)->magic = 0;
	t_md_case(dev, "acceptor: no slot with a magic", -EINVAL,
		  "acceptor state field 'magic'");
	t_acc(0)->crc ^= htole32(1);
	t_md_case(dev, "acceptor: only slot torn", -EINVAL,
		  "acceptor state field 'crc'");
	memcpy(t_acc(1), t_acc(0), PRBD_DISK_REC_SIZE);
	t_acc(1)->seq = htole64(2);
	t_acc(1)->promised_ballot = htole64(77);
	t_seal(t_acc(1));
	t_acc(0)->crc ^= htole32(1);
	t_md_case(dev, "acceptor: slot 0 torn, slot 1 newer: attached", 0, NULL);

	/* log header */
	t_lh()->magic = 0;
	t_seal(t_lh());
	t_md_case(dev, "log header magic", -EINVAL, "log header field 'magic'");
	t_lh()->crc ^= htole32(1);
	t_md_case(dev, "log header crc", -EINVAL, "log header field 'crc'");
	t_lh()->rec_align = htole32(512);
	t_seal(t_lh());
	t_md_case(dev, "log header rec_align 512", -EINVAL,
		  "log header field 'rec_align'");
	t_lh()->rec_size = htole64(1);
	t_seal(t_lh());
	t_md_case(dev, "log header rec_size", -EINVAL,
		  "log header field 'rec_size'");

	/* an attached device refuses a second attach */
	t_write_img();
	err = prbdctl_nl_run(nl, m_attach(dev), NULL, NULL);
	t_result(!err, "attach for the busy tests", prbdctl_nl_errmsg(nl));
	t_expect("attach twice", m_attach(dev), -EBUSY, "already attached");
	t_expect("res-del while attached", m_res(PRBD_CMD_RES_DEL, T_MD_RES),
		 -EBUSY, "detach");
	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_UP, T_MD_RES), NULL, NULL);
	t_result(!err, "up for the listen test", prbdctl_nl_errmsg(nl));
	if (!err) {
		uint64_t ds = 0;
		int i;

		/* the data size of the superblock in use */
		for (i = 0; i < 2; i++)
			if (le64toh(t_sb(i)->data_size) > ds)
				ds = le64toh(t_sb(i)->data_size);
		t_settle();
		t_expect("res-set listen while up",
			 m_set_listen(T_MD_RES, true, false, 7790), -EBUSY,
			 "resource is up");
		t_check_listen("  listen address unchanged (none)", T_MD_RES,
			       false, false, -1);
		t_expect("verify of a range beyond the device",
			 m_range(PRBD_CMD_VERIFY, T_MD_RES, 0, ds & ~4095ULL,
				 8192), -ERANGE, "beyond the end of the device");
		t_expect("verify of a range starting at the device's end",
			 m_range(PRBD_CMD_VERIFY, T_MD_RES, 0,
				 (ds + 4095) & ~4095ULL, 4096), -ERANGE,
			 "beyond the end of the device");
		t_expect("resync of a range beyond the device",
			 m_range(PRBD_CMD_RESYNC, T_MD_RES, 1, 0,
				 (ds + 8191) & ~4095ULL), -ERANGE,
			 "beyond the end of the device");
		t_expect("resync of an unknown node while up",
			 m_range(PRBD_CMD_RESYNC, T_MD_RES, 5, T_NONE, T_NONE),
			 -ENOENT, "neither the local node nor a peer");
		err = prbdctl_nl_run(nl, m_res(PRBD_CMD_DOWN, T_MD_RES), NULL,
				     NULL);
		t_result(!err, "cleanup: down", prbdctl_nl_errmsg(nl));
	}
	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_DETACH, T_MD_RES), NULL, NULL);
	t_result(!err, "cleanup: detach", prbdctl_nl_errmsg(nl));
	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_RES_DEL, T_MD_RES), NULL, NULL);
	t_result(!err, "cleanup: res-del " T_MD_RES, prbdctl_nl_errmsg(nl));

	/*
	 * up refused before the data path is whole (here: no voter named)
	 * must unwind cleanly; the module then still answers
	 */
	err = prbdctl_nl_run(nl, m_u32(m_res_new(T_MD_RES, T_MD_MINOR, 0),
				       PRBD_ATTR_MEMBER_ROLE,
				       PRBD_MEMBER_ROLE_LEARNER), NULL, NULL);
	t_result(!err, "setup: res-new " T_MD_RES " as a learner",
		 prbdctl_nl_errmsg(nl));
	t_write_img();
	err = prbdctl_nl_run(nl, m_attach(dev), NULL, NULL);
	t_result(!err, "attach for the no-voter test", prbdctl_nl_errmsg(nl));
	t_expect("up of a group that names no voter",
		 m_res(PRBD_CMD_UP, T_MD_RES),
		 -EINVAL, "names no voter");
	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_DETACH, T_MD_RES), NULL, NULL);
	t_result(!err, "  the module answers after it: detach",
		 prbdctl_nl_errmsg(nl));
	err = prbdctl_nl_run(nl, m_res(PRBD_CMD_RES_DEL, T_MD_RES), NULL, NULL);
	t_result(!err, "cleanup: res-del " T_MD_RES, prbdctl_nl_errmsg(nl));
	close(t_fd);
}

int main(int argc, char **argv)
{
	if (argc < 2 || (!strcmp(argv[1], "md") && argc != 3) ||
	    (strcmp(argv[1], "md") && strcmp(argv[1], "netlink"))) {
		fprintf(stderr, "usage: %s netlink | md BLOCKDEV\n", argv[0]);
		return 2;
	}
	nl = prbdctl_nl_open();
	if (!nl) {
		printf("1..1\nnot ok 1 - prbd module loaded\n0 passed, 1 failed\n");
		return 1;
	}
	if (!strcmp(argv[1], "netlink"))
		t_netlink();
	else
		t_md(argv[2]);
	printf("1..%d\n", t_num);
	printf("%d passed, %d failed\n", t_num - t_fail, t_fail);
	prbdctl_nl_close(nl);
	return t_fail ? 1 : 0;
}
