// SPDX-License-Identifier: GPL-2.0
/*
 * prbd-nlfuzz: a generic netlink fuzzer for the "prbd" family (issue 14).
 * Runs inside the test guests; plain sockets, no libnl.
 *
 *   prbd-nlfuzz [-s SEED] [-n ROUNDS] [-S none|created|attached|up]
 *		 [-r RES] [-d DEV] [-u] [-v]
 *
 * Sends ROUNDS randomized requests to the family: every command id (valid,
 * notification-only and out of range), attributes missing, of the wrong
 * type or length, truncated, oversized strings, unknown attribute ids,
 * nested garbage, odd flags, NLM_F_DUMP on do-only ops, and mostly-valid
 * mutations of real requests (resource RES, default r0, disk DEV, default
 * /dev/vda).  -S says which state the test arranged RES in.  Each reply
 * (ack, error or dump) is read before the next request.
 *
 * Oracle:
 *  - after a request that failed, a status dump (res-get with NLM_F_DUMP,
 *    as prbdctl status) is byte-identical to the one before it: a failed
 *    command changes nothing;
 *  - a request that succeeded may change the dump only if its command
 *    changes state; a successful res-new, attach, up or peer-add is undone
 *    at once (res-del, detach, down, peer-del) so the arranged state holds;
 *  - destructive commands (res-del, down, detach, node-add/-del/-replace,
 *    learner-add, leader-transfer) never name RES (every "RES\0" in the
 *    request is altered), except res-del, down and detach in state up,
 *    which the test holds open: they must be refused;
 *  - -u: the tool drops to nobody (uid/gid 65534) first; then every
 *    state-changing command must be refused with EPERM, and nothing
 *    changes at all.
 * Prints the counts (sent, ok, errors per errno, state changes) and exits
 * 1 on an oracle violation, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "uapi/prbd.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK		11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK		10
#endif

#define BUF_SIZE	(64 * 1024)
#define DUMP_MAX	(256 * 1024)
#define MAX_ERRNO	4096

static int sock = -1;
static uint16_t family;
static uint32_t seq = 1;
static int verbose;
static const char *res_name = "r0";
static const char *disk = "/dev/vda";

enum state { ST_NONE, ST_CREATED, ST_ATTACHED, ST_UP };
static enum state state = ST_NONE;

static struct {
	unsigned long sent, ok, err, noreply, dumps, changes, undone;
	unsigned long undo_drift, violations, perm_checked, accepted_broken;
	unsigned long per_errno[MAX_ERRNO];
	unsigned long per_cmd[256];
} cnt;

/* ---- PRNG (splitmix64) --------------------------------------------- */

static uint64_t rng;

static uint64_t rnd64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)	/* 0 .. n-1 */
{
	return n ? (uint32_t)(rnd64() % n) : 0;
}

static int chance(int pct)
{
	return (int)rnd(100) < pct;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "prbd-nlfuzz: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- message building ---------------------------------------------- */

struct msg {
	unsigned char buf[BUF_SIZE];
	size_t len;
	int breaks;	/* a mutation the policy must refuse; cleared when a
			 * later one (a cut, a dropped attribute) may have
			 * taken it away
			 */
};

static void put_raw(struct msg *m, const void *p, size_t n)
{
	if (m->len + n > sizeof(m->buf))
		n = sizeof(m->buf) - m->len;
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void pad(struct msg *m)
{
	static const unsigned char z[4];

	put_raw(m, z, NLA_ALIGN(m->len) - m->len);
}

/* an attribute with payload; returns its offset */
static size_t put_attr(struct msg *m, uint16_t type, const void *p, size_t n)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + n),
			    .nla_type = type };
	size_t off = m->len;

	if (m->len + NLA_HDRLEN + NLA_ALIGN(n) > sizeof(m->buf))
		return off;
	put_raw(m, &a, sizeof(a));
	put_raw(m, p, n);
	pad(m);
	return off;
}

static size_t nest_start(struct msg *m, uint16_t type)
{
	return put_attr(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, size_t off)
{
	struct nlattr *a = (struct nlattr *)(m->buf + off);

	a->nla_len = (uint16_t)(m->len - off);
}

static void put_u32(struct msg *m, uint16_t t, uint32_t v)
{
	put_attr(m, t, &v, 4);
}

static void put_u16(struct msg *m, uint16_t t, uint16_t v)
{
	put_attr(m, t, &v, 2);
}

static void put_u64(struct msg *m, uint16_t t, uint64_t v)
{
	put_attr(m, t, &v, 8);
}

static void put_str(struct msg *m, uint16_t t, const char *s)
{
	put_attr(m, t, s, strlen(s) + 1);
}

static void put_bytes(struct msg *m, uint16_t t, size_t n)
{
	unsigned char b[8192];
	size_t i;

	if (n > sizeof(b))
		n = sizeof(b);
	for (i = 0; i < n; i++)
		b[i] = (unsigned char)rnd64();
	put_attr(m, t, b, n);
}

static void msg_init(struct msg *m, uint16_t type, uint16_t flags, uint8_t cmd,
		     uint8_t version)
{
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags,
			      .nlmsg_seq = ++seq };
	struct genlmsghdr g = { .cmd = cmd, .version = version };

	m->len = 0;
	m->breaks = 0;
	put_raw(m, &h, sizeof(h));
	put_raw(m, &g, sizeof(g));
}

static void msg_fix_len(struct msg *m)
{
	((struct nlmsghdr *)m->buf)->nlmsg_len = (uint32_t)m->len;
}

/* ---- talking to the kernel ----------------------------------------- */

static void sock_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1, sz = 1 << 20;

	sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (sock < 0)
		die("socket: %s", strerror(errno));
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(sock, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(sock, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind: %s", strerror(errno));
}

static int send_msg(const void *p, size_t n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(sock, p, n, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* the extack message of an error, if any */
static const char *ext_msg(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	const struct nlattr *a;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || h->nlmsg_len < off)
		return NULL;
	for (a = (const void *)((const char *)h + off);
	     off + NLA_HDRLEN <= h->nlmsg_len && a->nla_len >= NLA_HDRLEN &&
	     off + a->nla_len <= h->nlmsg_len;
	     off += NLA_ALIGN(a->nla_len),
	     a = (const void *)((const char *)h + off))
		if (a->nla_type == NLMSGERR_ATTR_MSG)
			return (const char *)a + NLA_HDRLEN;
	return NULL;
}

/*
 * Read the replies to request @s.  Returns 0 (ack or end of a dump), a
 * negative errno, or 1 if nothing came (the kernel dropped the request).
 * With @dump, the payloads (genl header and attributes, not the netlink
 * header, whose seq and pid differ) are appended to @dump, each after its
 * length (u32).
 */
static int recv_reply(uint32_t s, unsigned char *dump, size_t *dlen, int wait)
{
	static unsigned char buf[BUF_SIZE];
	int got = 0;

	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf),
				 (wait || got) ? 0 : MSG_DONTWAIT);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			die("recv: %s", strerror(errno));
		}
		got = 1;
		for (h = (void *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != s)
				continue;	/* a late reply: skip */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				const char *x = ext_msg(h);

				if (verbose > 1 && e->error)
					fprintf(stderr, "  error %d%s%s\n",
						e->error, x ? ": " : "",
						x ? x : "");
				return e->error;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int e = 0;

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&e, NLMSG_DATA(h), sizeof(e));
				return e;
			}
			if (dump && dlen) {
				uint32_t pl = h->nlmsg_len - NLMSG_HDRLEN;

				if (*dlen + pl + 4 > DUMP_MAX)
					die("status dump too large");
				memcpy(dump + *dlen, &pl, 4);
				memcpy(dump + *dlen + 4, NLMSG_DATA(h), pl);
				*dlen += 4 + pl;
			}
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				got = 2;	/* a do reply; ack follows */
		}
	}
}

static void resolve_family(void)
{
	static struct msg m;
	static unsigned char buf[BUF_SIZE];
	struct nlmsghdr *h;
	ssize_t n;

	msg_init(&m, GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY, 1);
	put_str(&m, CTRL_ATTR_FAMILY_NAME, PRBD_FAMILY_NAME);
	msg_fix_len(&m);
	if (send_msg(m.buf, m.len))
		die("send getfamily: %s", strerror(errno));
	n = recv(sock, buf, sizeof(buf), 0);
	if (n < 0)
		die("recv getfamily: %s", strerror(errno));
	for (h = (void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		struct nlattr *a;
		size_t off;

		if (h->nlmsg_type == NLMSG_ERROR)
			die("family %s: %s (module loaded?)", PRBD_FAMILY_NAME,
			    strerror(-((struct nlmsgerr *)NLMSG_DATA(h))->error));
		off = GENL_HDRLEN;
		while (off + NLA_HDRLEN <= h->nlmsg_len - NLMSG_HDRLEN) {
			a = (void *)((char *)NLMSG_DATA(h) + off);
			if (a->nla_len < NLA_HDRLEN)
				break;
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID) {
				memcpy(&family, (char *)a + NLA_HDRLEN, 2);
				return;
			}
			off += NLA_ALIGN(a->nla_len);
		}
	}
	die("no family id in the reply");
}

static unsigned char base[DUMP_MAX], cur[DUMP_MAX], again[DUMP_MAX];
static size_t base_len, cur_len, again_len;

static void status_dump(unsigned char *d, size_t *len)
{
	static struct msg m;
	int err;

	msg_init(&m, family, NLM_F_REQUEST | NLM_F_DUMP, PRBD_CMD_RES_GET, 1);
	msg_fix_len(&m);
	if (send_msg(m.buf, m.len))
		die("send dump: %s", strerror(errno));
	*len = 0;
	err = recv_reply(seq, d, len, 1);
	if (err)
		die("status dump failed: %d", err);
	cnt.dumps++;
}

/* the resource names of a status dump (a u32 length, then genl header
 * and attributes, per resource)
 */
#define MAX_RES	64
static int dump_names(const unsigned char *d, size_t len,
		      char names[MAX_RES][PRBD_NAME_SIZE])
{
	size_t off = 0;
	int n = 0;

	while (off + 4 <= len && n < MAX_RES) {
		uint32_t pl;
		size_t a, end;

		memcpy(&pl, d + off, 4);
		end = off + 4 + pl;
		if (end > len)
			break;
		for (a = off + 4 + GENL_HDRLEN; a + NLA_HDRLEN <= end;) {
			const struct nlattr *x = (const void *)(d + a);

			if (x->nla_len < NLA_HDRLEN || a + x->nla_len > end)
				break;
			if (x->nla_type == PRBD_ATTR_NAME) {
				snprintf(names[n++], PRBD_NAME_SIZE, "%.*s",
					 (int)(x->nla_len - NLA_HDRLEN),
					 (const char *)x + NLA_HDRLEN);
				break;
			}
			a += NLA_ALIGN(x->nla_len);
		}
		off = end;
	}
	return n;
}

static int same(const unsigned char *a, size_t al, const unsigned char *b,
		size_t bl)
{
	return al == bl && !memcmp(a, b, al);
}

/* ---- what the commands are ---------------------------------------- */

static int cmd_admin(int c)	/* GENL_ADMIN_PERM: changes state */
{
	return c >= PRBD_CMD_RES_NEW && c <= PRBD_CMD_RESYNC &&
		c != PRBD_CMD_RES_GET;
}

static int cmd_destructive(int c)
{
	switch (c) {
	case PRBD_CMD_RES_DEL: case PRBD_CMD_DOWN: case PRBD_CMD_DETACH:
	case PRBD_CMD_NODE_ADD: case PRBD_CMD_NODE_DEL:
	case PRBD_CMD_NODE_REPLACE: case PRBD_CMD_LEARNER_ADD:
	case PRBD_CMD_LEADER_TRANSFER:
		return 1;
	}
	return 0;
}

static const char *cmd_name(int c)
{
	static const char *const n[] = {
		[PRBD_CMD_RES_NEW] = "res-new", [PRBD_CMD_RES_DEL] = "res-del",
		[PRBD_CMD_RES_GET] = "res-get", [PRBD_CMD_RES_SET] = "res-set",
		[PRBD_CMD_ATTACH] = "attach", [PRBD_CMD_DETACH] = "detach",
		[PRBD_CMD_UP] = "up", [PRBD_CMD_DOWN] = "down",
		[PRBD_CMD_PRIMARY] = "primary",
		[PRBD_CMD_SECONDARY] = "secondary",
		[PRBD_CMD_PEER_ADD] = "peer-add",
		[PRBD_CMD_PEER_DEL] = "peer-del",
		[PRBD_CMD_NODE_ADD] = "node-add",
		[PRBD_CMD_NODE_DEL] = "node-del",
		[PRBD_CMD_NODE_REPLACE] = "node-replace",
		[PRBD_CMD_LEARNER_ADD] = "learner-add",
		[PRBD_CMD_LEADER_TRANSFER] = "leader-transfer",
		[PRBD_CMD_VERIFY] = "verify", [PRBD_CMD_RESYNC] = "resync",
	};

	return c > 0 && c < (int)(sizeof(n) / sizeof(n[0])) && n[c] ? n[c] :
		"other";
}

/* ---- random attribute values -------------------------------------- */

static char namebuf[8192];

/* a resource name: mostly the real one or plausible ones */
static const char *rnd_name(struct msg *m, int *real)
{
	size_t n, i;

	*real = 0;
	switch (rnd(12)) {
	case 0: case 1: case 2: case 3: case 4:
		*real = 1;
		return res_name;
	case 5:
		return "r1";
	case 6:
		return "";
	case 7:	/* the longest allowed name, or one too long */
		n = PRBD_NAME_SIZE - 2 + rnd(3);
		if (n > PRBD_NAME_SIZE - 1)
			m->breaks = 1;
		break;
	case 8:	/* oversized */
		n = PRBD_NAME_SIZE + rnd(2000);
		m->breaks = 1;
		break;
	case 9:
		return "r0/../r0";
	case 10:
		return "nx-\xff\xfe";
	default:
		n = 1 + rnd(12);
		break;
	}
	for (i = 0; i < n; i++)
		namebuf[i] = (char)('a' + rnd(26));
	namebuf[n] = 0;
	return namebuf;
}

static uint32_t rnd_u32_edge(void)
{
	static const uint32_t e[] = { 0, 1, 2, 3, 4, 5, 15, 16, 31, 32, 33,
		255, 1023, 1024, 65535, 65536, 0x7fffffff, 0x80000000,
		0xffffffff };

	return chance(70) ? e[rnd(sizeof(e) / sizeof(e[0]))] : (uint32_t)rnd64();
}

static uint32_t rnd_node_id(void)
{
	return chance(80) ? rnd(5) : rnd_u32_edge();
}

static uint64_t rnd_u64_edge(void)
{
	switch (rnd(6)) {
	case 0: return 0;
	case 1: return (uint64_t)rnd(1 << 20) * 4096;
	case 2: return (uint64_t)rnd(1 << 20) * 512;
	case 3: return ~0ULL - rnd(8192);
	case 4: return 1ULL << rnd(64);
	default: return rnd64();
	}
}

static const char *rnd_path(struct msg *m)
{
	static const char *const p[] = { "/dev/vdb", "/dev/null", "/dev/zero",
		"/nonexistent", "/dev/prbd0", "", "/dev/loop0", "/dev/vda1",
		"/proc/self/fd/0", "/tmp", "/dev/vda/", "relative" };
	size_t n, i;

	switch (rnd(5)) {
	case 0: case 1:
		return disk;
	case 2:
		return p[rnd(sizeof(p) / sizeof(p[0]))];
	case 3:	/* long: at and beyond PRBD_PATH_MAX */
		n = PRBD_PATH_MAX - 2 + rnd(4);
		if (n > PRBD_PATH_MAX - 1)
			m->breaks = 1;
		if (n > sizeof(namebuf) - 1)
			n = sizeof(namebuf) - 1;
		for (i = 0; i < n; i++)
			namebuf[i] = i % 16 ? 'a' : '/';
		namebuf[n] = 0;
		return namebuf;
	default:
		return "/dev/vda";
	}
}

static void put_addr4(struct msg *m, uint16_t t)
{
	static const uint32_t a[] = { 0x0100000a, 0x0200000a, 0x01004d0a,
		0x02004d0a, 0, 0xffffffff, 0x010000e0, 0x0100007f };
	uint32_t v = chance(80) ? a[rnd(8)] : (uint32_t)rnd64();

	put_u32(m, t, v);
}

static void put_addr6(struct msg *m, uint16_t t)
{
	unsigned char a[16] = { 0 };

	switch (rnd(4)) {
	case 0: a[15] = 1; break;		/* ::1 */
	case 1: a[0] = 0xff; a[1] = 2; a[15] = 1; break; /* multicast */
	case 2: break;				/* :: */
	default: {
		size_t i;

		for (i = 0; i < 16; i++)
			a[i] = (unsigned char)rnd64();
	}
	}
	put_attr(m, t, a, 16);
}

/* the peer nest: node-id, one address, port, maybe member-role */
static void put_peer(struct msg *m, uint16_t type, uint32_t node)
{
	size_t nest = nest_start(m, type);

	if (chance(90))
		put_u32(m, PRBD_PEER_ATTR_NODE_ID, node);
	if (chance(85)) {
		if (chance(70))
			put_addr4(m, PRBD_PEER_ATTR_ADDR4);
		else
			put_addr6(m, PRBD_PEER_ATTR_ADDR6);
	}
	if (chance(10))
		put_addr6(m, PRBD_PEER_ATTR_ADDR6);
	if (chance(90))
		put_u16(m, PRBD_PEER_ATTR_PORT, chance(90) ? 7790 + rnd(3) :
			(uint16_t)rnd_u32_edge());
	if (chance(30))
		put_u32(m, PRBD_PEER_ATTR_MEMBER_ROLE, rnd(4));
	if (chance(5)) {	/* a status-only attribute: strict refuses */
		put_u32(m, PRBD_PEER_ATTR_CONN_STATE, 2);
		m->breaks = 1;
	}
	if (chance(5)) {	/* nested garbage */
		size_t in = nest_start(m, 1 + rnd(PRBD_PEER_ATTR_MAX + 2));

		put_bytes(m, rnd(20), rnd(40));
		nest_end(m, in);
		m->breaks = 1;
	}
	nest_end(m, nest);
}

static void put_listen(struct msg *m)
{
	if (chance(60))
		return;
	if (chance(80))
		put_addr4(m, PRBD_ATTR_LISTEN_ADDR4);
	if (chance(25))
		put_addr6(m, PRBD_ATTR_LISTEN_ADDR6);
	if (chance(85))
		put_u16(m, PRBD_ATTR_LISTEN_PORT, chance(80) ? 7790 + rnd(5) :
			(uint16_t)rnd_u32_edge());
}

/* Attributes of a plausible request of command @c; *real: names RES. */
static void put_request(struct msg *m, int c, int *real)
{
	int want_name = chance(92), breaks = m->breaks;
	const char *name = rnd_name(m, real);
	unsigned char uuid[PRBD_UUID_LEN];
	size_t i;

	if (!want_name) {
		*real = 0;
		m->breaks = breaks;	/* not sent: the name breaks nothing */
	} else {
		put_str(m, PRBD_ATTR_NAME, name);
	}
	switch (c) {
	case PRBD_CMD_RES_NEW:
		if (chance(90))
			put_u32(m, PRBD_ATTR_MINOR, chance(80) ? rnd(4) :
				rnd_u32_edge());
		if (chance(90))
			put_u32(m, PRBD_ATTR_NODE_ID, rnd_node_id());
		if (chance(90)) {
			for (i = 0; i < sizeof(uuid); i++)
				uuid[i] = (unsigned char)rnd64();
			put_attr(m, PRBD_ATTR_CLUSTER_UUID, uuid, sizeof(uuid));
		}
		if (chance(30))
			put_bytes(m, PRBD_ATTR_SECRET, chance(90) ? 1 + rnd(64) :
				  rnd(200));
		if (chance(30))
			put_u32(m, PRBD_ATTR_ON_NO_QUORUM, rnd(3));
		if (chance(20))
			put_u32(m, PRBD_ATTR_RESYNC_RATE, rnd_u32_edge());
		if (chance(20))
			put_u32(m, PRBD_ATTR_MEMBER_ROLE, rnd(4));
		if (chance(20))
			put_attr(m, PRBD_ATTR_ALLOW_NO_SECRET, NULL, 0);
		put_listen(m);
		break;
	case PRBD_CMD_RES_SET:
		if (chance(30))
			put_bytes(m, PRBD_ATTR_SECRET, chance(90) ? 1 + rnd(64) :
				  rnd(200));
		if (chance(40))
			put_u32(m, PRBD_ATTR_ON_NO_QUORUM, rnd(3));
		if (chance(40))
			put_u32(m, PRBD_ATTR_RESYNC_RATE, chance(50) ? rnd(100000) :
				rnd_u32_edge());
		put_listen(m);
		break;
	case PRBD_CMD_ATTACH:
		if (chance(90))
			put_str(m, PRBD_ATTR_BACKING_DEV, rnd_path(m));
		break;
	case PRBD_CMD_DETACH:
	case PRBD_CMD_PRIMARY:
		if (chance(40))
			put_attr(m, PRBD_ATTR_FORCE, NULL, 0);
		break;
	case PRBD_CMD_PEER_ADD:
		if (chance(90))
			put_peer(m, PRBD_ATTR_PEER, rnd_node_id());
		if (chance(5))
			put_peer(m, PRBD_ATTR_PEER, rnd_node_id());
		break;
	case PRBD_CMD_NODE_ADD:
	case PRBD_CMD_LEARNER_ADD: {
		uint32_t id = rnd_node_id();

		if (chance(90))
			put_u32(m, PRBD_ATTR_NODE_ID, id);
		if (chance(50))
			put_peer(m, PRBD_ATTR_PEER, chance(80) ? id : rnd_node_id());
		break;
	}
	case PRBD_CMD_PEER_DEL:
	case PRBD_CMD_NODE_DEL:
	case PRBD_CMD_LEADER_TRANSFER:
		if (chance(90))
			put_u32(m, PRBD_ATTR_NODE_ID, rnd_node_id());
		break;
	case PRBD_CMD_NODE_REPLACE:
		if (chance(90))
			put_u32(m, PRBD_ATTR_NODE_ID, rnd_node_id());
		if (chance(90))
			put_u32(m, PRBD_ATTR_NEW_NODE_ID, rnd_node_id());
		break;
	case PRBD_CMD_RESYNC:
		if (chance(85))
			put_u32(m, PRBD_ATTR_NODE_ID, rnd_node_id());
		/* fall through */
	case PRBD_CMD_VERIFY:
		if (chance(50)) {
			if (chance(90))
				put_u64(m, PRBD_ATTR_RANGE_START, rnd_u64_edge());
			if (chance(90))
				put_u64(m, PRBD_ATTR_RANGE_LEN, rnd_u64_edge());
		}
		break;
	default:	/* res-del, res-get, up, down, secondary, others */
		break;
	}
}

/* ---- mutations ------------------------------------------------------ */

/* first attribute at or after genl header; iterate over top-level attrs */
static struct nlattr *nth_attr(struct msg *m, int n)
{
	size_t off = NLMSG_HDRLEN + GENL_HDRLEN;

	while (off + NLA_HDRLEN <= m->len) {
		struct nlattr *a = (void *)(m->buf + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > m->len)
			return NULL;
		if (!n--)
			return a;
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static int nr_attrs(struct msg *m)
{
	int n = 0;

	while (nth_attr(m, n))
		n++;
	return n;
}

static void del_attr(struct msg *m, struct nlattr *a)
{
	size_t off = (unsigned char *)a - m->buf, l = NLA_ALIGN(a->nla_len);

	if (l > m->len - off)
		l = m->len - off;

	memmove(m->buf + off, m->buf + off + l, m->len - off - l);
	m->len -= l;
}

static void mutate(struct msg *m, int *real)
{
	int n = nr_attrs(m);
	struct nlattr *a = n ? nth_attr(m, rnd(n)) : NULL;
	unsigned int k;

	switch (rnd(14)) {
	case 0:		/* drop one attribute */
		if (a) {
			if (a->nla_type == PRBD_ATTR_NAME)
				*real = 0;
			del_attr(m, a);
			m->breaks = 0;
		}
		break;
	case 1:		/* duplicate one (the last one wins) */
		if (a)
			put_raw(m, a, NLA_ALIGN(a->nla_len));
		break;
	case 2:		/* shorten its payload (a nest may lose whole attrs) */
		if (a && a->nla_len > NLA_HDRLEN) {
			a->nla_len -= 1 + rnd(a->nla_len - NLA_HDRLEN);
			if (!(a->nla_type & NLA_F_NESTED) &&
			    a->nla_type != PRBD_ATTR_SECRET)
				m->breaks = 1;
		}
		break;
	case 3:		/* grow its length (into the next one, or past the end):
			 * it may swallow the attribute that broke the request
			 */
		if (a) {
			a->nla_len += 1 + rnd(64);
			m->breaks = 0;
		}
		break;
	case 4:		/* a length below the header */
		if (a) {
			a->nla_len = rnd(NLA_HDRLEN);
			m->breaks = 1;
		}
		break;
	case 5:		/* an unknown or out-of-policy attribute id */
		k = chance(50) ? PRBD_ATTR_MAX + 1 + rnd(8) :
			chance(50) ? 0 : rnd(1 << 14);
		put_bytes(m, (uint16_t)k, rnd(3) * 4);
		if (!k || k > PRBD_ATTR_MAX)
			m->breaks = 1;
		break;
	case 6:		/* a status-only attribute */
		put_u32(m, PRBD_ATTR_ROLE + rnd(PRBD_ATTR_SIZE - PRBD_ATTR_ROLE),
			rnd(3));
		m->breaks = 1;
		break;
	case 7:		/* nested garbage at the top */
		k = nest_start(m, chance(50) ? PRBD_ATTR_PEER :
			       PRBD_ATTR_CONFIG + rnd(3));
		/* an inner type no policy takes, then anything */
		put_bytes(m, chance(50) ? 0 : PRBD_PEER_ATTR_MAX + 1 + rnd(16),
			  rnd(33));
		if (chance(50))
			put_bytes(m, rnd(30), rnd(9));
		nest_end(m, k);
		m->breaks = 1;
		break;
	case 8:		/* flip a type flag bit (strict: NESTED must match) */
		if (a) {
			if (chance(50)) {
				a->nla_type ^= NLA_F_NESTED;
				m->breaks = 1;
			} else {
				a->nla_type ^= NLA_F_NET_BYTEORDER;
			}
		}
		break;
	case 9:		/* random bytes in the payload */
		if (a && a->nla_len > NLA_HDRLEN) {
			unsigned char *p = (unsigned char *)a + NLA_HDRLEN;

			p[rnd(a->nla_len - NLA_HDRLEN)] = (unsigned char)rnd64();
			if (a->nla_type == PRBD_ATTR_NAME)
				*real = 0;
		}
		break;
	case 10:	/* a string without its NUL */
		if (a && a->nla_len > NLA_HDRLEN &&
		    !((unsigned char *)a)[a->nla_len - 1]) {
			((unsigned char *)a)[a->nla_len - 1] = 'z';
			if (a->nla_type == PRBD_ATTR_NAME ||
			    a->nla_type == PRBD_ATTR_BACKING_DEV) {
				m->breaks = 1;
				*real = 0;
			}
		}
		break;
	case 11:	/* a flag with a payload, a u32 with 8 bytes */
		put_u64(m, chance(50) ? PRBD_ATTR_FORCE : PRBD_ATTR_NODE_ID,
			rnd64());
		m->breaks = 1;
		break;
	case 12:	/* a wrong-sized u16/u32 */
		put_u16(m, PRBD_ATTR_MINOR + rnd(2), 1);
		m->breaks = 1;
		break;
	default:	/* cut the message inside (or between) the attributes */
		if (m->len > NLMSG_HDRLEN + GENL_HDRLEN) {
			m->len -= 1 + rnd(m->len - NLMSG_HDRLEN - GENL_HDRLEN);
			m->breaks = 0;
		}
		break;
	}
}

/* ---- one round ------------------------------------------------------ */

static int pick_cmd(void)
{
	switch (rnd(20)) {
	case 0:
		return PRBD_CMD_RES_NTF + rnd(4);
	case 1:
		return chance(50) ? 0 : rnd(256);
	case 2:
		return PRBD_CMD_RESYNC + 1 + rnd(PRBD_CMD_RES_NTF - PRBD_CMD_RESYNC);
	default:
		return 1 + rnd(PRBD_CMD_RESYNC);
	}
}

static int drop_priv;
static unsigned long rounds_done;

static struct msg req;

static void violation(const char *what, int c, int err)
{
	cnt.violations++;
	size_t i;

	printf("VIOLATION round %lu: cmd %d (%s) returned %d: %s\n",
	       rounds_done, c, cmd_name(c), err, what);
	printf("  request (%zu bytes):", req.len);
	for (i = 0; i < req.len && i < 256; i++)
		printf("%s%02x", i % 32 ? " " : "\n   ", req.buf[i]);
	printf("\n");
	fflush(stdout);
}

/* undo a successful state change; 0 on success */
static int simple(int c, const char *name, int node)
{
	static struct msg u;

	msg_init(&u, family, NLM_F_REQUEST | NLM_F_ACK, (uint8_t)c, 1);
	put_str(&u, PRBD_ATTR_NAME, name);
	if (node >= 0)
		put_u32(&u, PRBD_ATTR_NODE_ID, (uint32_t)node);
	msg_fix_len(&u);
	if (send_msg(u.buf, u.len))
		return -errno;
	return recv_reply(seq, NULL, NULL, 1);
}

/* the name (NUL-terminated, < PRBD_NAME_SIZE) and peer node-id of the
 * request sent; name[0] = 0 without one
 */
static void req_name_node(char *name, int *node)
{
	struct nlattr *a;
	int i;

	name[0] = 0;
	*node = -1;
	for (i = 0; (a = nth_attr(&req, i)); i++) {
		unsigned char *p = (unsigned char *)a + NLA_HDRLEN;
		size_t l = a->nla_len - NLA_HDRLEN;

		if (a->nla_type == PRBD_ATTR_NAME && l && l <= PRBD_NAME_SIZE &&
		    !p[l - 1])
			memcpy(name, p, l);
		if ((a->nla_type & NLA_TYPE_MASK) == PRBD_ATTR_PEER) {
			struct nlattr *b = (void *)p;

			if (b->nla_type == PRBD_PEER_ATTR_NODE_ID &&
			    b->nla_len == NLA_HDRLEN + 4)
				memcpy(node, (char *)b + NLA_HDRLEN, 4);
		}
	}
}

/*
 * A destructive command must not name RES: the kernel compares the name
 * up to its first NUL, so every "RES\0" anywhere in the request (whatever
 * the attribute lengths say) loses its first letter's case.  The policy
 * checks come before the name lookup, so they see the same request.  Up,
 * with /dev/prbd0 mounted, res-del, down and detach keep RES: the kernel
 * must refuse them (EBUSY).
 */
static void unname_res(struct msg *m, int c)
{
	size_t rl = strlen(res_name) + 1, i;

	if (state == ST_UP && (c == PRBD_CMD_RES_DEL || c == PRBD_CMD_DOWN ||
			       c == PRBD_CMD_DETACH))
		return;
	for (i = NLMSG_HDRLEN; i + rl <= m->len; i++)
		if (!memcmp(m->buf + i, res_name, rl))
			m->buf[i] ^= 0x20;
}

static void one_round(void)
{
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
	uint8_t version = chance(90) ? 1 : (uint8_t)rnd(256);
	int c = pick_cmd(), real = 0, err, i, hdr_ok = 1, dumpreq = 0;
	int clean = 1, replied = 1;
	size_t cut = 0;

	if (chance(8)) {
		flags |= NLM_F_DUMP;
		dumpreq = 1;
	}
	if (chance(5)) {	/* reserved or ambiguous flags; ECHO is fine */
		uint16_t f = (uint16_t)(1u << (3 + rnd(9)));

		flags |= f;
		if (f != NLM_F_ECHO) {
			clean = 0;
			dumpreq = 1;	/* may read as a dump */
		}
	}
	msg_init(&req, family, flags, (uint8_t)c, version);
	if (chance(3)) {	/* genlmsghdr.reserved */
		((struct genlmsghdr *)(req.buf + NLMSG_HDRLEN))->reserved =
			(uint16_t)(1 + rnd(65535));
		clean = 0;
	}
	if (chance(93))
		put_request(&req, c, &real);
	if (chance(2)) {	/* a request of another command's shape */
		int o = 1 + rnd(PRBD_CMD_RESYNC), r2;

		put_request(&req, o, &r2);
		real |= r2;
	}
	for (i = chance(55) ? 1 + rnd(3) : 0; i; i--)
		mutate(&req, &real);
	if (chance(3)) {	/* no room for the genl header */
		req.len = NLMSG_HDRLEN + rnd(GENL_HDRLEN);
		hdr_ok = 0;
	}
	msg_fix_len(&req);
	if (chance(2))	/* nlmsg_len past what is sent: dropped */
		cut = 1 + rnd(8);
	if (req.len < NLMSG_HDRLEN + GENL_HDRLEN)
		hdr_ok = 0;

	/* never take the arranged state away with a valid request */
	if (cmd_destructive(c))
		unname_res(&req, c);
	/* res-new of RES in state none would create it: undone below */

	cnt.per_cmd[c & 0xff]++;
	cnt.sent++;
	if (verbose > 1)
		fprintf(stderr, "round %lu cmd %d (%s) len %zu flags %#x\n",
			rounds_done, c, cmd_name(c), req.len, flags);
	err = send_msg(req.buf, req.len > cut ? req.len - cut : req.len);
	if (err) {	/* refused by the socket layer */
		cnt.err++;
		cnt.per_errno[-err < MAX_ERRNO ? -err : 0]++;
		return;
	}
	err = recv_reply(seq, NULL, NULL, 0);
	if (err == 1) {
		cnt.noreply++;
		err = 0;	/* nothing may have changed: check below */
		replied = 0;
	} else if (err) {
		cnt.err++;
		cnt.per_errno[-err > 0 && -err < MAX_ERRNO ? -err : 0]++;
	} else {
		cnt.ok++;
		if (req.breaks && hdr_ok && clean && c != PRBD_CMD_RES_GET) {
			cnt.accepted_broken++;
			if (verbose) {
				size_t j;

				fprintf(stderr, "round %lu: %s accepted a request the policy should refuse:",
					rounds_done, cmd_name(c));
				for (j = 0; j < req.len && j < 256; j++)
					fprintf(stderr, "%s%02x", j % 32 ? " " : "\n   ",
						req.buf[j]);
				fprintf(stderr, "\n");
			}
		}
	}

	if (drop_priv && cmd_admin(c) && hdr_ok && clean && replied) {
		cnt.perm_checked++;
		if (err != -EPERM)
			violation("state-changing command not refused with EPERM as nobody",
				  c, err);
	}

	status_dump(cur, &cur_len);
	if (same(cur, cur_len, base, base_len))
		return;

	/* changed: did anything else change it? (a second look) */
	usleep(20000);
	status_dump(again, &again_len);
	if (!same(cur, cur_len, again, again_len) && verbose)
		fprintf(stderr, "round %lu: status still changing\n",
			rounds_done);
	if (err || !replied || !cmd_admin(c) || drop_priv || dumpreq ||
	    !hdr_ok) {
		violation(err ? "status changed by a failed request" :
			  !replied ? "status changed by a dropped request" :
			  "status changed by a request that may not change it",
			  c, err);
		memcpy(base, again, again_len);
		base_len = again_len;
		return;
	}
	cnt.changes++;
	{
		int node, u = -1, r;
		char nm[PRBD_NAME_SIZE + 1];

		req_name_node(nm, &node);
		switch (c) {
		case PRBD_CMD_RES_NEW: {	/* delete what is new */
			static char bn[MAX_RES][PRBD_NAME_SIZE];
			static char cn[MAX_RES][PRBD_NAME_SIZE];
			int nb = dump_names(base, base_len, bn), j, k;
			int nc = dump_names(cur, cur_len, cn);

			nm[0] = 0;
			for (j = 0; j < nc && !nm[0]; j++) {
				for (k = 0; k < nb; k++)
					if (!strcmp(cn[j], bn[k]))
						break;
				if (k == nb)
					strcpy(nm, cn[j]);
			}
			u = PRBD_CMD_RES_DEL;
			node = -1;
			break;
		}
		/* the only resource there is RES: the request's name
		 * attribute may be mangled beyond parsing here
		 */
		case PRBD_CMD_ATTACH:
			u = PRBD_CMD_DETACH;
			node = -1;
			strcpy(nm, res_name);
			break;
		case PRBD_CMD_UP:
			u = PRBD_CMD_DOWN;
			node = -1;
			strcpy(nm, res_name);
			break;
		case PRBD_CMD_PEER_ADD:
			u = PRBD_CMD_PEER_DEL;
			strcpy(nm, res_name);
			break;
		}
		if (u > 0 && nm[0]) {
			r = simple(u, nm, node);
			if (verbose)
				fprintf(stderr, "round %lu: %s %s succeeded; undo %s: %d\n",
					rounds_done, cmd_name(c), nm, cmd_name(u), r);
			status_dump(again, &again_len);
			if (!r && same(again, again_len, base, base_len)) {
				cnt.undone++;
				return;
			}
			cnt.undo_drift++;
		} else if (verbose || cmd_destructive(c)) {
			fprintf(stderr, "round %lu: %s succeeded and changed the status\n",
				rounds_done, cmd_name(c));
		}
		memcpy(base, again, again_len);
		base_len = again_len;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: prbd-nlfuzz [-s SEED] [-n ROUNDS] "
		"[-S none|created|attached|up] [-r RES] [-d DEV] [-u] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long rounds = 1000, i;
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	struct timespec t0, t1;
	double secs;
	int o;

	while ((o = getopt(argc, argv, "s:n:S:r:d:uv")) != -1) {
		switch (o) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': rounds = strtoul(optarg, NULL, 0); break;
		case 'r': res_name = optarg; break;
		case 'd': disk = optarg; break;
		case 'u': drop_priv = 1; break;
		case 'v': verbose++; break;
		case 'S':
			if (!strcmp(optarg, "none"))
				state = ST_NONE;
			else if (!strcmp(optarg, "created"))
				state = ST_CREATED;
			else if (!strcmp(optarg, "attached"))
				state = ST_ATTACHED;
			else if (!strcmp(optarg, "up"))
				state = ST_UP;
			else
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || strlen(res_name) >= PRBD_NAME_SIZE)
		usage();
	if (drop_priv) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			die("dropping privileges: %s", strerror(errno));
		if (!setuid(0))
			die("could regain root");
	}
	rng = seed;
	sock_open();
	resolve_family();
	printf("prbd-nlfuzz: seed %" PRIu64 " rounds %lu state %s%s family %u\n",
	       seed, rounds, (const char *[]){ "none", "created", "attached",
	       "up" }[state], drop_priv ? " as nobody" : "", family);
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	status_dump(base, &base_len);
	usleep(50000);
	status_dump(cur, &cur_len);
	if (!same(base, base_len, cur, cur_len))
		die("the status changes on its own: no oracle (state %d)", state);
	if ((state == ST_NONE) != (base_len == 0))
		die("status dump (%zu bytes) does not fit state %d", base_len,
		    state);

	for (i = 0; i < rounds; i++) {
		rounds_done = i;
		one_round();
	}
	/* the arranged resource is still there (or still absent) */
	status_dump(cur, &cur_len);
	if ((state == ST_NONE) != (cur_len == 0)) {
		rounds_done = rounds;
		violation("the state the test arranged is gone", 0, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("rounds %lu sent %lu ok %lu errors %lu noreply %lu dumps %lu "
	       "state-changes %lu undone %lu undo-drift %lu perm-checked %lu "
	       "accepted-broken %lu violations %lu time %.1fs\n", rounds,
	       cnt.sent, cnt.ok, cnt.err, cnt.noreply, cnt.dumps, cnt.changes,
	       cnt.undone, cnt.undo_drift, cnt.perm_checked,
	       cnt.accepted_broken, cnt.violations, secs);
	printf("errors:");
	for (o = 0; o < MAX_ERRNO; o++)
		if (cnt.per_errno[o])
			printf(" %s(%d)=%lu", o ? strerrorname_np(o) ?: "?" : "?",
			       o, cnt.per_errno[o]);
	printf("\nper command:");
	for (o = 0; o < 256; o++)
		if (cnt.per_cmd[o])
			printf(" %d(%s)=%lu", o, cmd_name(o), cnt.per_cmd[o]);
	printf("\n");
	return cnt.violations ? 1 : 0;
}
