// SPDX-License-Identifier: GPL-2.0
/*
 * prbd_trtest: a test driver for the prbd transport (kmod/prbd_transport.c).
 *
 * Loaded with the node's identity and peers as module parameters, it
 * creates one transport and exposes /sys/kernel/debug/prbd_trtest/:
 *
 *   ctl	write one command:
 *		send NODE COUNT HDRLEN PAYLEN	send COUNT messages, wait for
 *						all to be in the socket
 *		sendmp NODE COUNT		the same with one multi-page
 *						bio_vec of 64 KiB - 8 each
 *		sendc NODE COUNT HDRLEN PAYLEN	send, with payload crcs computed
 *						once (prbd_tr_send_crc())
 *		corrupt NODE			one 4 KiB message with a wrong
 *						payload crc: the peer must drop
 *						the connection
 *		evil IP:PORT KIND		send a crafted bad frame to a
 *						listener; KIND: version, oversize,
 *						hdrcrc, early
 *		del NODE			remove a peer (prbd_tr_del_peer)
 *		add NODE IP:PORT		add it again
 *		reset				zero the receive counters
 *   stats	per peer: state and counters; rx_bad counts payload or header
 *		bytes that differ from the sender's pattern
 *
 * Headers carry (seq, paylen, bufidx) then a byte pattern; payloads are
 * prefixes of one of TRT_NBUF fixed 1 MiB buffers whose words are a hash of
 * (buffer, offset), so the receiver re-checks every byte independently of
 * the transport's crc.  The buffers never change, so zero-copy sends stay
 * valid after their done() callback.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/crc32c.h>
#include <linux/debugfs.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <net/sock.h>

#include "prbd_transport.h"

#define TRT_NBUF	4
#define TRT_MP_ORDER	4		/* multi-page bvec buffers: 64 KiB */
#define TRT_MP_LEN	((PAGE_SIZE << TRT_MP_ORDER) - 8)
#define TRT_BUF_PAGES	256		/* 1 MiB */
#define TRT_TYPE	(PRBD_WIRE_T_USER + 1)

static unsigned int node_id = 1;
module_param(node_id, uint, 0444);
MODULE_PARM_DESC(node_id, "local node id");
static char *uuid = "6f2c1a4e-0b7d-4c59-9a51-3e8d2f7b6c10";
module_param(uuid, charp, 0444);
MODULE_PARM_DESC(uuid, "cluster UUID");
static char *secret = "";
module_param(secret, charp, 0444);
MODULE_PARM_DESC(secret, "shared secret");
static char *listen = "0.0.0.0:7790";
module_param(listen, charp, 0444);
MODULE_PARM_DESC(listen, "listen address ip:port");
static char *peers = "";
module_param(peers, charp, 0444);
MODULE_PARM_DESC(peers, "peers: id@ip:port,...");
static unsigned int timeout_ms;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "silence timeout (0: default)");
static bool verify = true;
module_param(verify, bool, 0644);
MODULE_PARM_DESC(verify, "check every received byte against the pattern");
static unsigned int ping_ms;
module_param(ping_ms, uint, 0444);
MODULE_PARM_DESC(ping_ms, "idle ping interval (0: default)");
static unsigned int backoff_max_ms;
module_param(backoff_max_ms, uint, 0444);
MODULE_PARM_DESC(backoff_max_ms, "reconnect backoff cap (0: default)");

struct trt_peer {
	bool up;
	u64 ups, downs;
	u64 rx_msgs, rx_bytes, rx_bad;
	u64 rx_first_ns, rx_last_ns;
	u64 rx_seq;		/* next test sequence number expected */
	u64 rx_reorder;		/* arrived before an older one, or twice */
	u64 rx_gaps;		/* some were lost (connection loss) */
	u64 next_seq;		/* next test sequence number to send */
};

static struct prbd_tr *trt_tr;
static struct dentry *trt_dir;
static struct page *trt_pages[TRT_NBUF][TRT_BUF_PAGES];
/* contiguous: [0] compound (zero copy), [1] not (tail pages get copied) */
static struct page *trt_mp[2];
static struct trt_peer trt_peers[PRBD_WIRE_MAX_NODE + 1];
static DEFINE_SPINLOCK(trt_lock);
static DEFINE_MUTEX(trt_send_mutex);
static atomic_t trt_inflight;
static atomic_t trt_send_err;
static DECLARE_WAIT_QUEUE_HEAD(trt_wq);
static u64 trt_send_ns, trt_send_bytes;
static int trt_last_err;
static char trt_evil_res[64] = "none";
static u64 trt_crc_ns, trt_crc_bytes;
static u32 trt_crc_last;

struct trt_hdr {
	__le64 seq;
	__le32 paylen;
	__le32 bufidx;
};

static u32 trt_word(u32 buf, u32 idx)
{
	u32 x = idx * 2654435761U ^ (buf + 1) * 0x9e3779b9U;

	x ^= x >> 15;
	x *= 0x2c1b3c6dU;
	return x ^ (x >> 12);
}

static u8 trt_hbyte(u64 seq, u32 j)
{
	return (u8)(j * 7 + seq);
}

/* ---- receive side ---------------------------------------------------- */

static bool trt_check(const struct prbd_tr_rx *rx)
{
	const struct trt_hdr *h = rx->hdr;
	const u8 *hb = rx->hdr;
	u32 bufidx, i, j, off = 0;
	u64 seq;

	if (rx->type != TRT_TYPE || rx->hdr_len < sizeof(*h))
		return false;
	seq = le64_to_cpu(h->seq);
	bufidx = le32_to_cpu(h->bufidx);
	if (le32_to_cpu(h->paylen) != rx->payload_len || bufidx >= TRT_NBUF + 2)
		return false;
	for (j = sizeof(*h); j < rx->hdr_len; j++)
		if (hb[j] != trt_hbyte(seq, j))
			return false;
	if (!rx->payload_len || !verify)
		return true;
	if (!rx->payload || rx->payload->len != rx->payload_len)
		return false;
	for (i = 0; i < rx->payload->nr_bvec; i++) {
		const struct bio_vec *bv = &rx->payload->bvec[i];
		const u32 *p = kmap_local_page(bv->bv_page);
		bool bad = false;

		for (j = 0; j < bv->bv_len / 4; j++)
			if (p[j] != trt_word(bufidx, off / 4 + j)) {
				bad = true;
				break;
			}
		kunmap_local(p);
		if (bad)
			return false;
		off += bv->bv_len;
	}
	return true;
}

static void trt_recv(void *ctx, const struct prbd_tr_rx *rx)
{
	bool ok = trt_check(rx);
	struct trt_peer *p = &trt_peers[rx->from];
	u64 now = ktime_get_ns();
	u64 seq = ok ? le64_to_cpu(((const struct trt_hdr *)rx->hdr)->seq) : 0;

	spin_lock_bh(&trt_lock);
	if (ok) {
		if (seq < p->rx_seq)
			p->rx_reorder++;
		else if (seq > p->rx_seq)
			p->rx_gaps++;
		p->rx_seq = seq + 1;
	}
	if (!p->rx_msgs)
		p->rx_first_ns = now;
	p->rx_last_ns = now;
	p->rx_msgs++;
	p->rx_bytes += rx->payload_len;
	if (!ok)
		p->rx_bad++;
	spin_unlock_bh(&trt_lock);
	if (!ok)
		pr_err("node %u: message %llu from node %u failed the content check\n",
		       node_id, rx->seq, rx->from);
}

static void trt_peer_state(void *ctx, u32 node, bool up)
{
	spin_lock_bh(&trt_lock);
	trt_peers[node].up = up;
	if (up)
		trt_peers[node].ups++;
	else
		trt_peers[node].downs++;
	spin_unlock_bh(&trt_lock);
}

static const struct prbd_tr_ops trt_ops = {
	.recv = trt_recv,
	.peer_state = trt_peer_state,
};

/* ---- send side ------------------------------------------------------- */

static void trt_done(void *arg, int err)
{
	if (err)
		atomic_set(&trt_send_err, err);
	atomic_dec(&trt_inflight);
	wake_up(&trt_wq);
}

enum { TRT_CRC_TR, TRT_CRC_GIVEN, TRT_CRC_WRONG };

/*
 * mp: each message is one bio_vec of TRT_MP_LEN bytes over 16 pages;
 * crcmode: TRT_CRC_TR (the transport computes payload crcs), TRT_CRC_GIVEN
 * (computed here once per buffer), TRT_CRC_WRONG (given, off by one bit).
 */
static int trt_send(u32 node, u32 count, u32 hdr_len, u32 paylen, bool mp,
		    int crcmode)
{
	u32 pcrc[TRT_NBUF];
	static struct bio_vec bvecs[TRT_NBUF][TRT_BUF_PAGES];
	static struct bio_vec mpvec[2];
	u8 *hdr;
	u32 b, i, j, nr = DIV_ROUND_UP(paylen, PAGE_SIZE);
	int err = 0, pending;
	u64 t0;

	if (hdr_len < sizeof(struct trt_hdr) || hdr_len > PRBD_WIRE_MAX_HDR ||
	    paylen > TRT_BUF_PAGES * PAGE_SIZE || paylen % 4)
		return -EINVAL;
	hdr = kmalloc(hdr_len, GFP_KERNEL);
	if (!hdr)
		return -ENOMEM;
	mutex_lock(&trt_send_mutex);
	for (b = 0; b < 2; b++) {
		mpvec[b].bv_page = trt_mp[b];
		mpvec[b].bv_offset = 4;
		mpvec[b].bv_len = TRT_MP_LEN;
	}
	for (b = 0; b < TRT_NBUF; b++)
		for (i = 0; i < nr; i++) {
			bvecs[b][i].bv_page = trt_pages[b][i];
			bvecs[b][i].bv_offset = 0;
			bvecs[b][i].bv_len = min_t(u32, PAGE_SIZE,
						   paylen - i * PAGE_SIZE);
		}
	for (b = 0; b < TRT_NBUF && crcmode != TRT_CRC_TR; b++)
		pcrc[b] = prbd_tr_payload_crc(bvecs[b], nr, paylen) ^
			  (crcmode == TRT_CRC_WRONG);
	atomic_set(&trt_send_err, 0);
	t0 = ktime_get_ns();
	for (i = 0; i < count && !err; i++) {
		struct trt_hdr *h = (struct trt_hdr *)hdr;
		u64 seq = trt_peers[node].next_seq++;

		b = mp ? TRT_NBUF + i % 2 : i % TRT_NBUF;
		h->seq = cpu_to_le64(seq);
		h->paylen = cpu_to_le32(paylen);
		h->bufidx = cpu_to_le32(b);
		for (j = sizeof(*h); j < hdr_len; j++)
			hdr[j] = trt_hbyte(seq, j);
		for (;;) {
			atomic_inc(&trt_inflight);
			if (mp)
				err = prbd_tr_send(trt_tr, node, TRT_TYPE, hdr,
						   hdr_len, &mpvec[i % 2], 1,
						   paylen, trt_done, NULL);
			else if (crcmode == TRT_CRC_TR)
				err = prbd_tr_send(trt_tr, node, TRT_TYPE, hdr,
						   hdr_len, paylen ? bvecs[b] : NULL,
						   paylen ? nr : 0, paylen,
						   trt_done, NULL);
			else
				err = prbd_tr_send_crc(trt_tr, node, TRT_TYPE,
						       hdr, hdr_len,
						       paylen ? bvecs[b] : NULL,
						       paylen ? nr : 0, paylen,
						       pcrc[b], NULL, trt_done,
						       NULL);
			if (!err)
				break;
			pending = atomic_dec_return(&trt_inflight);
			if (err != -ENOBUFS && err != -ENOMEM)
				break;
			/* queue full: wait for a completion, then retry */
			wait_event_timeout(trt_wq,
					   atomic_read(&trt_inflight) < pending ||
					   atomic_read(&trt_send_err), HZ / 10);
			err = atomic_read(&trt_send_err);
			if (err)
				break;
		}
	}
	if (!wait_event_timeout(trt_wq, atomic_read(&trt_inflight) == 0,
				120 * HZ))
		err = err ? err : -ETIMEDOUT;
	if (!err)
		err = atomic_read(&trt_send_err);
	trt_send_ns = ktime_get_ns() - t0;
	trt_send_bytes = (u64)count * paylen;
	trt_last_err = err;
	mutex_unlock(&trt_send_mutex);
	kfree(hdr);
	return err;
}

/* ---- crafted bad frames ---------------------------------------------- */

static int trt_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *end;
	unsigned int port;

	memset(ss, 0, sizeof(*ss));
	if (!in4_pton(s, -1, (u8 *)&sin->sin_addr.s_addr, ':', &end) ||
	    *end != ':' || kstrtouint(end + 1, 10, &port) || !port ||
	    port > 65535)
		return -EINVAL;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return 0;
}

static int trt_evil(const char *addr, const char *kind)
{
	struct sockaddr_storage ss;
	struct prbd_wire_frame f = {};
	struct socket *sock;
	struct msghdr m = {};
	u8 body[64] = {};
	struct kvec kv[2];
	char c;
	int err, n;

	err = trt_parse_addr(addr, &ss);
	if (err)
		return err;
	f.magic = cpu_to_be32(PRBD_WIRE_MAGIC);
	f.version = PRBD_WIRE_VERSION;
	f.type = cpu_to_le16(PRBD_WIRE_T_HELLO);
	f.origin = node_id;
	f.sender = node_id;
	f.hdr_len = cpu_to_le32(sizeof(struct prbd_wire_hello));
	f.hdr_crc = cpu_to_le32(~crc32c(~0U, body, sizeof(struct prbd_wire_hello)));
	if (!strcmp(kind, "version"))
		f.version = 9;
	else if (!strcmp(kind, "oversize"))
		f.payload_len = cpu_to_le32(64U << 20);
	else if (!strcmp(kind, "hdrcrc"))
		f.hdr_crc = cpu_to_le32(0x12345678);
	else if (!strcmp(kind, "early"))
		f.type = cpu_to_le16(TRT_TYPE);
	else
		return -EINVAL;
	f.frame_crc = cpu_to_le32(~crc32c(~0U, &f, sizeof(f)));

	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (err)
		return err;
	sock->sk->sk_rcvtimeo = 3 * HZ;
	sock->sk->sk_sndtimeo = 3 * HZ;
	err = kernel_connect(sock, (struct sockaddr *)&ss, sizeof(struct sockaddr_in), 0);
	if (err)
		goto out_release;
	kv[0].iov_base = &f;
	kv[0].iov_len = sizeof(f);
	kv[1].iov_base = body;
	kv[1].iov_len = sizeof(struct prbd_wire_hello);
	err = kernel_sendmsg(sock, &m, kv, 2, kv[0].iov_len + kv[1].iov_len);
	if (err < 0)
		goto out_release;
	/* the listener must close on us (REJECT bytes may come first) */
	do {
		kv[0].iov_base = &c;
		kv[0].iov_len = 1;
		memset(&m, 0, sizeof(m));
		n = kernel_recvmsg(sock, &m, kv, 1, 1, 0);
	} while (n > 0);
	snprintf(trt_evil_res, sizeof(trt_evil_res), "%s:%s", kind,
		 n == 0 || n == -ECONNRESET ? "closed" : "open");
	err = 0;
out_release:
	sock_release(sock);
	return err;
}

/* crc32c over COUNT MiB of the payload buffers: what the transport pays */
static int trt_crcbench(u32 mib)
{
	u64 t0 = ktime_get_ns();
	u32 crc = ~0U, m, i;

	for (m = 0; m < mib; m++)
		for (i = 0; i < TRT_BUF_PAGES; i++)
			crc = crc32c(crc, page_address(trt_pages[m % TRT_NBUF][i]),
				     PAGE_SIZE);
	trt_crc_ns = ktime_get_ns() - t0;
	trt_crc_bytes = (u64)mib << 20;
	trt_crc_last = crc;	/* keep the loop */
	return 0;
}

/* ---- debugfs ---------------------------------------------------------- */

static ssize_t trt_ctl_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char buf[128], a[64], k[16];
	u32 node, count, hl, pl;
	int err;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "send %u %u %u %u", &node, &count, &hl, &pl) == 4) {
		if (!node || node > PRBD_WIRE_MAX_NODE)
			return -EINVAL;
		err = trt_send(node, count, hl, pl, false, TRT_CRC_TR);
	} else if (sscanf(buf, "sendc %u %u %u %u", &node, &count, &hl, &pl) == 4) {
		if (!node || node > PRBD_WIRE_MAX_NODE)
			return -EINVAL;
		err = trt_send(node, count, hl, pl, false, TRT_CRC_GIVEN);
	} else if (sscanf(buf, "corrupt %u", &node) == 1) {
		if (!node || node > PRBD_WIRE_MAX_NODE)
			return -EINVAL;
		err = trt_send(node, 1, 16, PAGE_SIZE, false, TRT_CRC_WRONG);
	} else if (sscanf(buf, "sendmp %u %u", &node, &count) == 2) {
		if (!node || node > PRBD_WIRE_MAX_NODE)
			return -EINVAL;
		err = trt_send(node, count, 16, TRT_MP_LEN, true, TRT_CRC_TR);
	} else if (sscanf(buf, "evil %63s %15s", a, k) == 2) {
		err = trt_evil(a, k);
	} else if (sscanf(buf, "crcbench %u", &count) == 1) {
		err = trt_crcbench(count);
	} else if (sscanf(buf, "del %u", &node) == 1) {
		prbd_tr_del_peer(trt_tr, node);
		err = 0;
	} else if (sscanf(buf, "add %u %63s", &node, a) == 2) {
		struct sockaddr_storage ss;

		err = trt_parse_addr(a, &ss);
		if (!err)
			err = prbd_tr_add_peer(trt_tr, node, &ss);
	} else if (!strncmp(buf, "reset", 5)) {
		spin_lock_bh(&trt_lock);
		for (node = 0; node <= PRBD_WIRE_MAX_NODE; node++) {
			trt_peers[node].rx_msgs = 0;
			trt_peers[node].rx_bytes = 0;
			trt_peers[node].rx_bad = 0;
			trt_peers[node].rx_seq = 0;
			trt_peers[node].rx_reorder = 0;
			trt_peers[node].rx_gaps = 0;
		}
		spin_unlock_bh(&trt_lock);
		err = 0;
	} else {
		err = -EINVAL;
	}
	return err ? err : len;
}

static int trt_stats_show(struct seq_file *s, void *unused)
{
	struct prbd_tr_stats st;
	struct trt_peer p;
	u32 n;

	for (n = 1; n <= PRBD_WIRE_MAX_NODE; n++) {
		if (prbd_tr_peer_stats(trt_tr, n, &st))
			continue;
		spin_lock_bh(&trt_lock);
		p = trt_peers[n];
		spin_unlock_bh(&trt_lock);
		seq_printf(s, "node %u up %d ups %llu downs %llu rx_msgs %llu rx_bytes %llu rx_bad %llu rx_reorder %llu rx_gaps %llu rx_ns %llu tr_up %d tr_connects %llu tr_ups %llu tr_downs %llu tr_rejects %llu tr_proto %llu tr_tx_msgs %llu\n",
			   n, p.up, p.ups, p.downs, p.rx_msgs, p.rx_bytes,
			   p.rx_bad, p.rx_reorder, p.rx_gaps,
			   p.rx_last_ns - p.rx_first_ns, st.up,
			   st.connects, st.ups, st.downs, st.rejects,
			   st.proto_errors, st.tx_msgs);
	}
	seq_printf(s, "unauth_drops %llu\n", prbd_tr_unauth_drops(trt_tr));
	seq_printf(s, "send err %d ns %llu bytes %llu\n", trt_last_err,
		   trt_send_ns, trt_send_bytes);
	seq_printf(s, "evil %s\n", trt_evil_res);
	seq_printf(s, "crcbench ns %llu bytes %llu crc %08x\n", trt_crc_ns,
		   trt_crc_bytes, trt_crc_last);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(trt_stats);

static const struct file_operations trt_ctl_fops = {
	.owner = THIS_MODULE,
	.write = trt_ctl_write,
};

/* ---- module ------------------------------------------------------------ */

static int trt_parse_uuid(const char *s, u8 *out)
{
	unsigned int i = 0;

	for (; *s && i < 2 * PRBD_WIRE_UUID_LEN; s++) {
		int v = hex_to_bin(*s);

		if (*s == '-')
			continue;
		if (v < 0)
			return -EINVAL;
		if (i % 2)
			out[i / 2] |= v;
		else
			out[i / 2] = v << 4;
		i++;
	}
	return i == 2 * PRBD_WIRE_UUID_LEN && !*s ? 0 : -EINVAL;
}

static int trt_add_peers(void)
{
	char *dup, *p, *tok;
	int err = 0;

	dup = kstrdup(peers, GFP_KERNEL);
	if (!dup)
		return -ENOMEM;
	p = dup;
	while ((tok = strsep(&p, ",")) && !err) {
		struct sockaddr_storage ss;
		char *at = strchr(tok, '@');
		unsigned int n;

		if (!*tok)
			continue;
		if (!at) {
			err = -EINVAL;
			break;
		}
		*at = 0;
		err = kstrtouint(tok, 10, &n);
		if (!err)
			err = trt_parse_addr(at + 1, &ss);
		if (!err)
			err = prbd_tr_add_peer(trt_tr, n, &ss);
	}
	kfree(dup);
	return err;
}

static void trt_free_pages(void)
{
	unsigned int b, i;

	for (b = 0; b < TRT_NBUF; b++)
		for (i = 0; i < TRT_BUF_PAGES; i++)
			if (trt_pages[b][i])
				__free_page(trt_pages[b][i]);
	for (b = 0; b < 2; b++)
		if (trt_mp[b])
			__free_pages(trt_mp[b], TRT_MP_ORDER);
}

static int __init trt_init(void)
{
	struct prbd_tr_params p = {
		.name = "trtest",
		.node_id = node_id,
		.secret = secret,
		.secret_len = strlen(secret),
		.timeout_ms = timeout_ms,
		.ping_ms = ping_ms,
		.backoff_max_ms = backoff_max_ms,
	};
	u8 cu[PRBD_WIRE_UUID_LEN];
	unsigned int b, i, j;
	int err;

	err = trt_parse_uuid(uuid, cu);
	if (!err)
		err = trt_parse_addr(listen, &p.listen);
	if (err) {
		pr_err("bad uuid or listen parameter\n");
		return err;
	}
	p.cluster_uuid = cu;
	for (b = 0; b < TRT_NBUF; b++)
		for (i = 0; i < TRT_BUF_PAGES; i++) {
			u32 *w;

			trt_pages[b][i] = alloc_page(GFP_KERNEL);
			if (!trt_pages[b][i]) {
				err = -ENOMEM;
				goto out_free_pages;
			}
			w = page_address(trt_pages[b][i]);
			for (j = 0; j < PAGE_SIZE / 4; j++)
				w[j] = trt_word(b, i * (PAGE_SIZE / 4) + j);
		}
	for (b = 0; b < 2; b++) {
		u8 *base;

		trt_mp[b] = alloc_pages(GFP_KERNEL | (b ? 0 : __GFP_COMP),
					TRT_MP_ORDER);
		if (!trt_mp[b]) {
			err = -ENOMEM;
			goto out_free_pages;
		}
		base = page_address(trt_mp[b]) + 4;
		for (j = 0; j < TRT_MP_LEN / 4; j++)
			((u32 *)base)[j] = trt_word(TRT_NBUF + b, j);
	}
	trt_tr = prbd_tr_create(&p, &trt_ops, NULL);
	if (IS_ERR(trt_tr)) {
		err = PTR_ERR(trt_tr);
		goto out_free_pages;
	}
	err = trt_add_peers();
	if (err) {
		pr_err("bad peers parameter\n");
		goto out_destroy;
	}
	trt_dir = debugfs_create_dir("prbd_trtest", NULL);
	debugfs_create_file("ctl", 0200, trt_dir, NULL, &trt_ctl_fops);
	debugfs_create_file("stats", 0444, trt_dir, NULL, &trt_stats_fops);
	pr_info("node %u up\n", node_id);
	return 0;

out_destroy:
	prbd_tr_destroy(trt_tr);
out_free_pages:
	trt_free_pages();
	return err;
}

static void __exit trt_exit(void)
{
	debugfs_remove_recursive(trt_dir);
	prbd_tr_destroy(trt_tr);
	trt_free_pages();
	pr_info("node %u unloaded\n", node_id);
}

module_init(trt_init);
module_exit(trt_exit);
MODULE_DESCRIPTION("prbd transport test driver");
MODULE_LICENSE("GPL");
