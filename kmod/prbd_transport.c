// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the transport - framed, authenticated messages between the nodes of
 * a resource over in-kernel TCP sockets.  API: prbd_transport.h, wire
 * format: prbd_wire.h.
 *
 * Objects and lifetimes
 *  - struct prbd_tr: one per resource.  Reference counted: prbd_tr_destroy()
 *    drops the creator's reference, every received payload buffer holds
 *    one (its pages go back to the transport's mempool).
 *  - struct prbd_tr_peer: one per configured peer, in tr->peers[].  A
 *    connection holds a reference on its peer.
 *  - struct prbd_tr_conn: one TCP connection.  References: its owner
 *    (peer->conn, or tr->pending for an accepted, not yet authenticated
 *    one), sk_user_data while our socket callbacks are installed, and
 *    every queued instance of conn->work.  Everything a connection does
 *    (connect completion, handshake, receive, send, teardown) runs in
 *    conn->work; a work item never runs concurrently with itself, so the
 *    receive and send state need no lock.  The last reference is always
 *    dropped in process context (the work, or the accept/reconnect work on
 *    failure) and releases the socket.
 *
 * Killing a connection (prbd_tr_conn_kill()) only sets PRBD_TR_CF_DEAD and
 * queues the work; the work then tears down: it cancels the timer, restores
 * the socket callbacks under sk_callback_lock (after which no callback can
 * see the connection), shuts the socket down, fails the queued messages,
 * detaches from the peer (scheduling a reconnect if we are the connector)
 * and drops the owner's reference.
 *
 * Locking order: tr->cfg_mutex -> tr->lock (spin, _bh) -> conn->tx_lock
 * (spin, _bh).  tr->lock protects tr->peers[], tr->pending, tr->stopping,
 * peer->conn, peer->deleted, peer->backoff_ms, peer->st (state counters)
 * and the transition of conn->state to UP (prbd_tr_send() reads it under
 * tr->lock).  sk->sk_callback_lock is always taken alone, never nested with
 * ours: the socket callbacks take it for reading and only queue work.
 *
 * Memory: the work functions run in memalloc_noio scopes, sockets use
 * GFP_NOIO, received payload pages and message headers have mempools so
 * that a follower can always receive the write it must make durable, and
 * payloads are sent from the caller's pages (sendpage) without copies.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <crypto/internal/blake2s.h>
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/mempool.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "prbd_transport.h"
#include "prbd_compat.h"
#include "prbd_siphash.h"

#define PRBD_TR_NAME_LEN	32
#define PRBD_TR_SECRET_MAX	64
#define PRBD_TR_MAX_PENDING	16	/* unauthenticated accepted connections */
#define PRBD_TR_RX_BUDGET	(4U << 20)	/* bytes before yielding */
#define PRBD_TR_TX_BUDGET	64	/* messages before yielding */
#define PRBD_TR_MAX_PAGES	DIV_ROUND_UP(PRBD_WIRE_MAX_PAYLOAD, PAGE_SIZE)
#define PRBD_TR_POOL_PAGES	(PRBD_TR_MAX_PAGES + 16)
#define PRBD_TR_POOL_MSGS	16

enum prbd_tr_cstate {
	PRBD_TR_CONNECTING,	/* connector: TCP connect in progress */
	PRBD_TR_HELLO_SENT,	/* connector: waiting for HELLO_ACK */
	PRBD_TR_AUTH_SENT,	/* connector: waiting for AUTH_OK */
	PRBD_TR_ACCEPTED,	/* acceptor: waiting for HELLO */
	PRBD_TR_ACK_SENT,	/* acceptor: waiting for AUTH */
	PRBD_TR_UP,		/* authenticated */
};

/* conn->flags */
enum {
	PRBD_TR_CF_DEAD,	/* being torn down */
	PRBD_TR_CF_CLEANED,	/* teardown done */
	PRBD_TR_CF_CB,		/* our socket callbacks are installed */
};

enum { PRBD_TR_RX_FRAME, PRBD_TR_RX_HDR, PRBD_TR_RX_PAYLOAD };

struct prbd_tr_msg {
	struct list_head list;
	struct prbd_wire_frame frame;
	const struct bio_vec *bvec;
	unsigned int nr_bvec;
	u32 hdr_len;
	u32 payload_len;
	u32 sent;		/* bytes of frame+hdr+payload sent */
	unsigned int bv_idx;	/* payload cursor */
	u32 bv_off;
	bool from_pool;
	bool pcrc_set;		/* @pcrc given by the caller */
	bool ptag_set;		/* @ptag given by the caller */
	bool sealed;		/* prbd_tr_msg_seal() done: once only */
	u32 pcrc;
	u8 ptag[PRBD_WIRE_TAG_LEN];
	prbd_tr_done_t done;
	void *arg;
	u8 hdr[];
};

struct prbd_tr_peer {
	struct kref kref;
	struct prbd_tr *tr;
	u32 node;
	bool connector;
	bool deleted;
	struct sockaddr_storage addr;
	struct prbd_tr_conn *conn;
	struct delayed_work reconnect;
	u32 backoff_ms;
	struct prbd_tr_stats st;
};

struct prbd_tr_conn {
	struct kref kref;
	struct prbd_tr *tr;
	struct prbd_tr_peer *peer;	/* reference held; NULL until HELLO */
	struct list_head pending;	/* on tr->pending (acceptor, unauth) */
	struct socket *sock;
	void (*orig_data_ready)(struct sock *sk);
	void (*orig_state_change)(struct sock *sk);
	void (*orig_write_space)(struct sock *sk);
	struct work_struct work;
	struct delayed_work timer;
	unsigned long flags;
	enum prbd_tr_cstate state;
	bool acceptor;
	struct sockaddr_storage raddr;
	unsigned long t_start;
	unsigned long last_rx;
	unsigned long last_tx;
	u8 nonce_c[PRBD_WIRE_NONCE_LEN];
	u8 nonce_a[PRBD_WIRE_NONCE_LEN];
	/* frame MACs (see "Authentication" in prbd_wire.h), conn->work only */
	u8 tx_key[PRBD_WIRE_MAC_LEN];
	u8 rx_key[PRBD_WIRE_MAC_LEN];
	u64 tx_n, rx_n;			/* frames MACed so far */

	/* receive state, conn->work only */
	unsigned int rx_phase;
	u32 rx_got;
	struct prbd_wire_frame rx_frame;
	u8 *rx_hdr;
	struct prbd_tr_buf *rx_buf;

	/* send state */
	spinlock_t tx_lock;
	struct list_head txq;		/* under tx_lock */
	u32 txq_bytes;			/* under tx_lock, includes tx_cur */
	bool tx_closed;			/* under tx_lock */
	struct prbd_tr_msg *tx_cur;	/* conn->work only */
};

struct prbd_tr {
	struct kref kref;
	char name[PRBD_TR_NAME_LEN];
	struct net *net;
	u32 node_id;
	u8 uuid[PRBD_WIRE_UUID_LEN];
	u32 ping_ms;
	u32 timeout_ms;
	u32 backoff_min_ms;
	u32 backoff_max_ms;
	u32 sndq_bytes;
	struct sockaddr_storage listen_addr;
	const struct prbd_tr_ops *ops;
	void *ctx;

	struct workqueue_struct *wq;
	struct crypto_shash *hmac;
	u8 pay_key[PRBD_WIRE_MAC_LEN];	/* k_pay, see prbd_wire.h */
	mempool_t *page_pool;
	mempool_t *msg_pool;
	mempool_t *buf_pool;

	struct mutex cfg_mutex;		/* add/del peer vs. destroy */
	spinlock_t lock;		/* see "Locking order" above */
	bool stopping;
	struct prbd_tr_peer *peers[PRBD_WIRE_MAX_NODE + 1];
	struct list_head pending;
	u32 nr_pending;

	struct socket *listen;
	void (*listen_orig_data_ready)(struct sock *sk);
	struct work_struct accept_work;

	atomic_t nr_conns;
	wait_queue_head_t conn_wq;
	atomic64_t seq;
	atomic64_t unauth_drops;
	atomic64_t fwd_sent;		/* frames relayed to another node */
	atomic64_t fwd_fails;		/* ... that could not be queued */
};

static const char * const prbd_tr_reasons[] = {
	[PRBD_WIRE_R_VERSION] = "no common protocol version",
	[PRBD_WIRE_R_CLUSTER] = "cluster UUID differs",
	[PRBD_WIRE_R_NODE] = "unknown or misaddressed node id",
	[PRBD_WIRE_R_DUP_NODE] = "duplicate node id",
	[PRBD_WIRE_R_AUTH] = "authentication failed (shared secrets differ)",
	[PRBD_WIRE_R_PROTO] = "protocol error",
};

static const char *prbd_tr_reason_str(u32 r)
{
	if (r < ARRAY_SIZE(prbd_tr_reasons) && prbd_tr_reasons[r])
		return prbd_tr_reasons[r];
	return "unknown reason";
}

/* ---- logging -------------------------------------------------------- */

static __printf(2, 3)
void prbd_tr_conn_warn(const struct prbd_tr_conn *conn, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (conn->peer)
		pr_warn_ratelimited("%s: node %u at %pISpc: %pV\n",
				    conn->tr->name, conn->peer->node,
				    &conn->raddr, &vaf);
	else
		pr_warn_ratelimited("%s: %pISpc: %pV\n", conn->tr->name,
				    &conn->raddr, &vaf);
	va_end(args);
}

static __printf(2, 3)
void prbd_tr_conn_info(const struct prbd_tr_conn *conn, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (conn->peer)
		pr_info_ratelimited("%s: node %u at %pISpc: %pV\n",
				    conn->tr->name, conn->peer->node,
				    &conn->raddr, &vaf);
	else
		pr_info_ratelimited("%s: %pISpc: %pV\n", conn->tr->name,
				    &conn->raddr, &vaf);
	va_end(args);
}

/* ---- small helpers -------------------------------------------------- */

static u32 prbd_tr_crc(u32 crc, const void *p, unsigned int len)
{
	return crc32c(crc, p, len);
}

static u32 prbd_tr_frame_crc(const struct prbd_wire_frame *f)
{
	struct prbd_wire_frame tmp = *f;

	tmp.frame_crc = 0;
	return ~prbd_tr_crc(~0U, &tmp, sizeof(tmp));
}

/*
 * A bio_vec may span several physically contiguous pages (multi-page
 * bvecs); crc and send work on the page holding byte @off of @bv, up to
 * that page's end.
 */
static struct page *prbd_tr_bvec_page(const struct bio_vec *bv, u32 off,
				      u32 *poff, u32 *len)
{
	u32 boff = bv->bv_offset + off;

	*poff = offset_in_page(boff);
	*len = min_t(u32, bv->bv_len - off, PAGE_SIZE - *poff);
	return nth_page(bv->bv_page, boff >> PAGE_SHIFT);
}

/* Hand the first @len bytes of @bv, page by page, to @fn. */
static void prbd_tr_bvec_walk(const struct bio_vec *bv, unsigned int nr,
			      u32 len, void (*fn)(void *ctx, const u8 *p, u32 n),
			      void *ctx)
{
	unsigned int i;

	for (i = 0; i < nr && len; i++) {
		u32 off = 0;

		while (off < bv[i].bv_len && len) {
			u32 poff, n;
			struct page *page = prbd_tr_bvec_page(&bv[i], off,
							       &poff, &n);
			void *p;

			n = min(n, len);
			p = kmap_local_page(page);
			fn(ctx, (const u8 *)p + poff, n);
			kunmap_local(p);
			off += n;
			len -= n;
		}
	}
}

static void prbd_tr_crc_fn(void *ctx, const u8 *p, u32 n)
{
	u32 *crc = ctx;

	*crc = prbd_tr_crc(*crc, p, n);
}

static u32 prbd_tr_bvec_crc(u32 crc, const struct bio_vec *bv,
			    unsigned int nr, u32 len)
{
	prbd_tr_bvec_walk(bv, nr, len, prbd_tr_crc_fn, &crc);
	return crc;
}

/*
 * Keyed BLAKE2s-128 (RFC 7693), fed incrementally, on the portable
 * compression function: the frame MACs (a frame and its header, a few
 * hundred bytes).  The library's blake2s_update() takes the SSSE3 or
 * AVX-512 one where the CPU has it, which an emulator (QEMU TCG, the test
 * rig) runs slower than the portable one (1 MiB messages: 26-27 MB/s
 * against 30-38 MB/s).  Payloads get SipHash (prbd_tr_payload_tag()).
 */
static void prbd_tr_b2s_init(struct blake2s_state *st, const u8 *key)
{
	blake2s_init_key(st, PRBD_WIRE_TAG_LEN, key, PRBD_WIRE_MAC_LEN);
}

static void prbd_tr_b2s_update(struct blake2s_state *st, const u8 *p,
			       size_t len)
{
	while (len) {
		size_t n;

		/* a full buffer is compressed only once more data follows */
		if (st->buflen == BLAKE2S_BLOCK_SIZE) {
			blake2s_compress_generic(st, st->buf, 1,
						 BLAKE2S_BLOCK_SIZE);
			st->buflen = 0;
		}
		if (!st->buflen && len > BLAKE2S_BLOCK_SIZE) {
			/* straight from @p, keeping a last block back */
			n = (len - 1) / BLAKE2S_BLOCK_SIZE;
			blake2s_compress_generic(st, p, n, BLAKE2S_BLOCK_SIZE);
			p += n * BLAKE2S_BLOCK_SIZE;
			len -= n * BLAKE2S_BLOCK_SIZE;
			continue;
		}
		n = min_t(size_t, BLAKE2S_BLOCK_SIZE - st->buflen, len);
		memcpy(st->buf + st->buflen, p, n);
		st->buflen += n;
		p += n;
		len -= n;
	}
}

static void prbd_tr_b2s_final(struct blake2s_state *st, u8 *out)
{
	__le32 h[ARRAY_SIZE(st->h)];
	unsigned int i;

	st->f[0] = U32_MAX;	/* the last block */
	memset(st->buf + st->buflen, 0, BLAKE2S_BLOCK_SIZE - st->buflen);
	blake2s_compress_generic(st, st->buf, 1, st->buflen);
	for (i = 0; i < ARRAY_SIZE(h); i++)
		h[i] = cpu_to_le32(st->h[i]);
	memcpy(out, h, PRBD_WIRE_TAG_LEN);
	memzero_explicit(st, sizeof(*st));
	memzero_explicit(h, sizeof(h));
}

/* the tag fills ptag; k_pay holds the key */
static_assert(PRBD_SIP_TAG_LEN == PRBD_WIRE_TAG_LEN);
static_assert(PRBD_WIRE_MAC_LEN >= PRBD_SIP_KEY_LEN);

static void prbd_tr_sip_fn(void *ctx, const u8 *p, u32 n)
{
	prbd_sip_update(ctx, p, n);
}

/*
 * SipHash-2-4-128 of the payload under the group's payload key (its first
 * 16 bytes; prbd_siphash.h says why not BLAKE2s).
 */
void prbd_tr_payload_tag(struct prbd_tr *tr, const struct bio_vec *bv,
			 unsigned int nr, u32 len, u8 *tag)
{
	struct prbd_sip st;

	prbd_sip_init(&st, tr->pay_key);
	prbd_tr_bvec_walk(bv, nr, len, prbd_tr_sip_fn, &st);
	prbd_sip_final(&st, tag);
}

/**
 * prbd_tr_selftest() - the payload tag against SipHash's reference vectors
 *
 * The first four of vectors_sip128 (key 00..0f, message 00..len-1), fed
 * in two parts as a bio_vec walk would: every node must compute the same
 * tags as a peer built elsewhere, and a wrong implementation agreeing
 * with itself would pass every other test.
 *
 * Return: 0, or -EINVAL (the module refuses to load).
 */
int prbd_tr_selftest(void)
{
	static const u8 want[4][PRBD_SIP_TAG_LEN] = {
		{ 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
		  0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 },
		{ 0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44,
		  0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45 },
		{ 0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7,
		  0xfc, 0xa3, 0x8b, 0xde, 0xf6, 0x0a, 0xff, 0xe4 },
		{ 0x9c, 0x70, 0xb6, 0x0c, 0x52, 0x67, 0xa9, 0x4e,
		  0x5f, 0x33, 0xb6, 0xb0, 0x29, 0x85, 0xed, 0x51 },
	};
	u8 key[PRBD_SIP_KEY_LEN], msg[3] = { 0, 1, 2 };
	u8 tag[PRBD_SIP_TAG_LEN];
	struct prbd_sip st;
	unsigned int i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = i;
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		prbd_sip_init(&st, key);
		prbd_sip_update(&st, msg, i / 2);
		prbd_sip_update(&st, msg + i / 2, i - i / 2);
		prbd_sip_final(&st, tag);
		if (memcmp(tag, want[i], sizeof(tag))) {
			pr_err("SipHash-2-4-128 self-test failed (vector %u)\n",
			       i);
			return -EINVAL;
		}
	}
	return 0;
}

/* The frame's MAC: counter, frame with zero frame_crc and mac, header. */
static void prbd_tr_frame_mac(const u8 *key, u64 n,
			      const struct prbd_wire_frame *f,
			      const void *hdr, u32 hdr_len, u8 *mac)
{
	struct prbd_wire_frame tmp = *f;
	struct blake2s_state st;
	__le64 ctr = cpu_to_le64(n);

	tmp.frame_crc = 0;
	memset(tmp.mac, 0, sizeof(tmp.mac));
	prbd_tr_b2s_init(&st, key);
	prbd_tr_b2s_update(&st, (const u8 *)&ctr, sizeof(ctr));
	prbd_tr_b2s_update(&st, (const u8 *)&tmp, sizeof(tmp));
	prbd_tr_b2s_update(&st, hdr, hdr_len);
	prbd_tr_b2s_final(&st, mac);
}

static bool prbd_tr_same_ip(const struct sockaddr_storage *a,
			    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return ipv6_addr_equal(&((const struct sockaddr_in6 *)a)->sin6_addr,
				       &((const struct sockaddr_in6 *)b)->sin6_addr);
	return false;
}

static int prbd_tr_addr_len(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (a->ss_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

static bool prbd_tr_addr_any(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return ipv6_addr_any(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

/* ---- payload buffers ------------------------------------------------ */

static void prbd_tr_release(struct kref *kref);

static void prbd_tr_buf_get(struct prbd_tr_buf *buf)
{
	refcount_inc(&buf->ref);
}

static void prbd_tr_buf_put(struct prbd_tr_buf *buf)
{
	struct prbd_tr *tr;
	unsigned int i;

	if (!refcount_dec_and_test(&buf->ref))
		return;
	tr = buf->tr;
	for (i = 0; i < buf->nr_bvec; i++)
		mempool_free(buf->bvec[i].bv_page, tr->page_pool);
	mempool_free(buf, tr->buf_pool);
	kref_put(&tr->kref, prbd_tr_release);
}

/* Process context, may wait for pages coming back to the pool. */
static struct prbd_tr_buf *prbd_tr_buf_alloc(struct prbd_tr *tr, u32 len)
{
	struct prbd_tr_buf *buf;
	unsigned int i, nr = DIV_ROUND_UP(len, PAGE_SIZE);

	buf = mempool_alloc(tr->buf_pool, GFP_NOIO);
	refcount_set(&buf->ref, 1);
	buf->tr = tr;
	buf->len = len;
	buf->nr_bvec = nr;
	for (i = 0; i < nr; i++) {
		u32 n = min_t(u32, len, PAGE_SIZE);

		buf->bvec[i].bv_page = mempool_alloc(tr->page_pool, GFP_NOIO);
		buf->bvec[i].bv_offset = 0;
		buf->bvec[i].bv_len = n;
		len -= n;
	}
	kref_get(&tr->kref);
	return buf;
}

/* ---- messages ------------------------------------------------------- */

static struct prbd_tr_msg *prbd_tr_msg_alloc(struct prbd_tr *tr, u32 hdr_len,
					     gfp_t gfp)
{
	struct prbd_tr_msg *msg;

	msg = kmalloc(struct_size(msg, hdr, hdr_len), gfp | __GFP_NOWARN);
	if (msg) {
		msg->from_pool = false;
	} else {
		msg = mempool_alloc(tr->msg_pool, gfp);
		if (!msg)
			return NULL;
		msg->from_pool = true;
	}
	msg->bvec = NULL;
	msg->nr_bvec = 0;
	msg->hdr_len = hdr_len;
	msg->payload_len = 0;
	msg->sent = 0;
	msg->bv_idx = 0;
	msg->bv_off = 0;
	msg->pcrc_set = false;
	msg->ptag_set = false;
	msg->sealed = false;
	msg->done = NULL;
	msg->arg = NULL;
	memset(&msg->frame, 0, sizeof(msg->frame));
	return msg;
}

static void prbd_tr_msg_free(struct prbd_tr *tr, struct prbd_tr_msg *msg)
{
	if (msg->from_pool)
		mempool_free(msg, tr->msg_pool);
	else
		kfree(msg);
}

static u32 prbd_tr_msg_size(const struct prbd_tr_msg *msg)
{
	return sizeof(msg->frame) + msg->hdr_len + msg->payload_len;
}

static void prbd_tr_msg_complete(struct prbd_tr *tr, struct prbd_tr_msg *msg,
				 int err)
{
	if (msg->done)
		msg->done(msg->arg, err);
	prbd_tr_msg_free(tr, msg);
}

/* Fill in what does not depend on the payload bytes. */
static void prbd_tr_msg_init(struct prbd_tr *tr, struct prbd_tr_msg *msg,
			     u32 node, u16 type)
{
	struct prbd_wire_frame *f = &msg->frame;

	f->magic = cpu_to_be32(PRBD_WIRE_MAGIC);
	f->version = PRBD_WIRE_VERSION;
	f->type = cpu_to_le16(type);
	f->origin = tr->node_id;
	f->sender = tr->node_id;
	f->dest_mask = cpu_to_le32(node ? BIT(node) : 0);
	f->hdr_len = cpu_to_le32(msg->hdr_len);
	f->payload_len = cpu_to_le32(msg->payload_len);
}

u32 prbd_tr_payload_crc(const struct bio_vec *payload, unsigned int nr_bvec,
			u32 payload_len)
{
	return ~prbd_tr_bvec_crc(~0U, payload, nr_bvec, payload_len);
}

/*
 * Sequence number, crcs and MAC, right before the first byte goes out on
 * @conn (conn->work: it owns tx_n).
 */
static void prbd_tr_msg_seal(struct prbd_tr_conn *conn,
			     struct prbd_tr_msg *msg)
{
	struct prbd_wire_frame *f = &msg->frame;
	struct prbd_tr *tr = conn->tr;

	msg->sealed = true;
	f->seq = cpu_to_le64(atomic64_inc_return(&tr->seq));
	f->hdr_crc = cpu_to_le32(~prbd_tr_crc(~0U, msg->hdr, msg->hdr_len));
	if (!msg->pcrc_set)
		msg->pcrc = prbd_tr_payload_crc(msg->bvec, msg->nr_bvec,
						msg->payload_len);
	f->payload_crc = cpu_to_le32(msg->pcrc);
	/* the frame was zeroed at allocation: no payload, zero ptag */
	if (msg->payload_len && msg->ptag_set)
		memcpy(f->ptag, msg->ptag, sizeof(f->ptag));
	else if (msg->payload_len)
		prbd_tr_payload_tag(tr, msg->bvec, msg->nr_bvec,
				    msg->payload_len, f->ptag);
	prbd_tr_frame_mac(conn->tx_key, conn->tx_n++, f, msg->hdr,
			  msg->hdr_len, f->mac);
	f->frame_crc = cpu_to_le32(prbd_tr_frame_crc(f));
}

/* ---- connections: references, queueing, kill ------------------------ */

static void prbd_tr_peer_release(struct kref *kref)
{
	kfree(container_of(kref, struct prbd_tr_peer, kref));
}

static void prbd_tr_conn_release(struct kref *kref)
{
	struct prbd_tr_conn *conn = container_of(kref, struct prbd_tr_conn,
						 kref);
	struct prbd_tr *tr = conn->tr;

	if (conn->sock)
		sock_release(conn->sock);
	if (conn->peer)
		kref_put(&conn->peer->kref, prbd_tr_peer_release);
	kfree(conn->rx_hdr);
	kfree(conn);
	if (atomic_dec_and_test(&tr->nr_conns))
		wake_up_all(&tr->conn_wq);
}

static void prbd_tr_conn_put(struct prbd_tr_conn *conn)
{
	kref_put(&conn->kref, prbd_tr_conn_release);
}

/* Any context; the caller holds a reference (never the last one). */
static void prbd_tr_conn_queue(struct prbd_tr_conn *conn)
{
	kref_get(&conn->kref);
	if (!queue_work(conn->tr->wq, &conn->work))
		prbd_tr_conn_put(conn);
}

static void prbd_tr_conn_kill(struct prbd_tr_conn *conn)
{
	if (!test_and_set_bit(PRBD_TR_CF_DEAD, &conn->flags))
		prbd_tr_conn_queue(conn);
}

/* ---- socket callbacks: only queue work -------------------------------- */

static void prbd_tr_sk_data_ready(struct sock *sk)
{
	struct prbd_tr_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = __locked_read_sk_user_data_with_flags(sk, 0);
	if (conn)
		prbd_tr_conn_queue(conn);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void prbd_tr_sk_write_space(struct sock *sk)
{
	struct prbd_tr_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = __locked_read_sk_user_data_with_flags(sk, 0);
	if (conn && sk_stream_is_writeable(sk)) {
		clear_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		prbd_tr_conn_queue(conn);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void prbd_tr_sk_state_change(struct sock *sk)
{
	void (*orig)(struct sock *sk) = NULL;
	struct prbd_tr_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = __locked_read_sk_user_data_with_flags(sk, 0);
	if (conn) {
		orig = conn->orig_state_change;
		prbd_tr_conn_queue(conn);
	}
	read_unlock_bh(&sk->sk_callback_lock);
	if (orig)
		orig(sk);
}

/*
 * The listener's sk_user_data is set with SK_USER_DATA_NOCOPY, so accepted
 * children (which inherit this callback until we replace it) read NULL.
 */
static void prbd_tr_sk_listen_data_ready(struct sock *sk)
{
	struct prbd_tr *tr;

	read_lock_bh(&sk->sk_callback_lock);
	tr = __locked_read_sk_user_data_with_flags(sk, SK_USER_DATA_NOCOPY);
	if (tr)
		queue_work(tr->wq, &tr->accept_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void prbd_tr_sock_attach(struct prbd_tr_conn *conn)
{
	struct sock *sk = conn->sock->sk;

	kref_get(&conn->kref);	/* for sk_user_data */
	write_lock_bh(&sk->sk_callback_lock);
	/* an accepted socket inherited the listener's data_ready */
	conn->orig_data_ready = conn->acceptor ?
		conn->tr->listen_orig_data_ready : sk->sk_data_ready;
	conn->orig_state_change = sk->sk_state_change;
	conn->orig_write_space = sk->sk_write_space;
	rcu_assign_sk_user_data(sk, conn);
	sk->sk_data_ready = prbd_tr_sk_data_ready;
	sk->sk_state_change = prbd_tr_sk_state_change;
	sk->sk_write_space = prbd_tr_sk_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
	set_bit(PRBD_TR_CF_CB, &conn->flags);
}

static void prbd_tr_sock_detach(struct prbd_tr_conn *conn)
{
	struct sock *sk = conn->sock->sk;

	if (!test_and_clear_bit(PRBD_TR_CF_CB, &conn->flags))
		return;
	write_lock_bh(&sk->sk_callback_lock);
	rcu_assign_sk_user_data(sk, NULL);
	sk->sk_data_ready = conn->orig_data_ready;
	sk->sk_state_change = conn->orig_state_change;
	sk->sk_write_space = conn->orig_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
	prbd_tr_conn_put(conn);	/* sk_user_data's; the owner's remains */
}

static void prbd_tr_sock_setup(struct prbd_tr *tr, struct socket *sock)
{
	struct sock *sk = sock->sk;

	prbd_tr_compat_sock_noio(sk);
	tcp_sock_set_nodelay(sk);
	tcp_sock_set_user_timeout(sk, tr->timeout_ms);
}

static struct prbd_tr_conn *prbd_tr_conn_alloc(struct prbd_tr *tr,
					       bool acceptor)
{
	struct prbd_tr_conn *conn;

	conn = kzalloc(sizeof(*conn), GFP_NOIO);
	if (!conn)
		return NULL;
	conn->rx_hdr = kmalloc(PRBD_WIRE_MAX_HDR, GFP_NOIO);
	if (!conn->rx_hdr) {
		kfree(conn);
		return NULL;
	}
	kref_init(&conn->kref);
	conn->tr = tr;
	conn->acceptor = acceptor;
	conn->state = acceptor ? PRBD_TR_ACCEPTED : PRBD_TR_CONNECTING;
	INIT_LIST_HEAD(&conn->pending);
	INIT_LIST_HEAD(&conn->txq);
	spin_lock_init(&conn->tx_lock);
	conn->t_start = jiffies;
	conn->last_rx = jiffies;
	conn->last_tx = jiffies;
	atomic_inc(&tr->nr_conns);
	return conn;
}

/* ---- sending -------------------------------------------------------- */

/*
 * Queue a message.  The caller keeps @conn alive: it holds tr->lock and
 * found @conn as peer->conn, or it is @conn's timer (cancelled before the
 * owner's reference goes).
 */
static int prbd_tr_conn_enqueue(struct prbd_tr_conn *conn,
				struct prbd_tr_msg *msg, bool bounded)
{
	u32 size = prbd_tr_msg_size(msg);
	int err = 0;

	spin_lock_bh(&conn->tx_lock);
	if (conn->tx_closed) {
		err = -ENOTCONN;
	} else if (bounded && conn->txq_bytes &&
		   conn->txq_bytes + size > conn->tr->sndq_bytes) {
		err = -ENOBUFS;
	} else {
		list_add_tail(&msg->list, &conn->txq);
		conn->txq_bytes += size;
	}
	spin_unlock_bh(&conn->tx_lock);
	if (!err)
		prbd_tr_conn_queue(conn);
	return err;
}

/*
 * How a frame travels (NULL: straight to the peer).  @relay: the other
 * destinations, which the peer forwards it to (ttl 1, F_FORWARD); a
 * forwarded copy keeps its @origin and has ttl 0.
 */
struct prbd_tr_route {
	u32 origin;
	u32 relay;
	u8 flags;
	u8 ttl;
};

static int __prbd_tr_send(struct prbd_tr *tr, u32 node, u16 type,
			  const void *hdr, u32 hdr_len,
			  const struct bio_vec *payload, unsigned int nr_bvec,
			  u32 payload_len, const u32 *pcrc,
			  const u8 *ptag, const struct prbd_tr_route *rt,
			  prbd_tr_done_t done, void *arg)
{
	struct prbd_tr_peer *peer;
	struct prbd_tr_conn *conn;
	struct prbd_tr_msg *msg;
	unsigned int i;
	u32 sum = 0;
	int err;

	if (node == 0 || node > PRBD_WIRE_MAX_NODE || node == tr->node_id ||
	    type < PRBD_WIRE_T_USER || hdr_len > PRBD_WIRE_MAX_HDR ||
	    payload_len > PRBD_WIRE_MAX_PAYLOAD)
		return -EINVAL;
	for (i = 0; i < nr_bvec; i++)
		sum += payload[i].bv_len;
	if (sum != payload_len)
		return -EINVAL;

	msg = prbd_tr_msg_alloc(tr, hdr_len, GFP_NOWAIT);
	if (!msg)
		return -ENOMEM;
	if (hdr_len)
		memcpy(msg->hdr, hdr, hdr_len);
	msg->bvec = payload;
	msg->nr_bvec = nr_bvec;
	msg->payload_len = payload_len;
	msg->done = done;
	msg->arg = arg;
	if (pcrc) {
		msg->pcrc = *pcrc;
		msg->pcrc_set = true;
	}
	if (ptag) {
		memcpy(msg->ptag, ptag, sizeof(msg->ptag));
		msg->ptag_set = true;
	}
	prbd_tr_msg_init(tr, msg, node, type);
	if (rt) {
		msg->frame.origin = rt->origin;
		msg->frame.flags = rt->flags;
		msg->frame.ttl = rt->ttl;
		msg->frame.dest_mask = cpu_to_le32(BIT(node) | rt->relay);
	}

	spin_lock_bh(&tr->lock);
	peer = tr->peers[node];
	conn = peer ? peer->conn : NULL;
	if (!conn || conn->state != PRBD_TR_UP)
		err = -ENOTCONN;
	else
		err = prbd_tr_conn_enqueue(conn, msg, true);
	spin_unlock_bh(&tr->lock);
	if (err)
		prbd_tr_msg_free(tr, msg);
	return err;
}

int prbd_tr_send(struct prbd_tr *tr, u32 node, u16 type, const void *hdr,
		 u32 hdr_len, const struct bio_vec *payload,
		 unsigned int nr_bvec, u32 payload_len, prbd_tr_done_t done,
		 void *arg)
{
	return __prbd_tr_send(tr, node, type, hdr, hdr_len, payload, nr_bvec,
			      payload_len, NULL, NULL, NULL, done, arg);
}

int prbd_tr_send_crc(struct prbd_tr *tr, u32 node, u16 type, const void *hdr,
		     u32 hdr_len, const struct bio_vec *payload,
		     unsigned int nr_bvec, u32 payload_len, u32 payload_crc,
		     const u8 *payload_tag, prbd_tr_done_t done, void *arg)
{
	return __prbd_tr_send(tr, node, type, hdr, hdr_len, payload, nr_bvec,
			      payload_len, &payload_crc, payload_tag, NULL,
			      done, arg);
}

int prbd_tr_send_relay(struct prbd_tr *tr, u32 node, u32 relay, u16 type,
		       const void *hdr, u32 hdr_len,
		       const struct bio_vec *payload, unsigned int nr_bvec,
		       u32 payload_len, u32 payload_crc, const u8 *payload_tag,
		       prbd_tr_done_t done, void *arg)
{
	struct prbd_tr_route rt = {
		.origin = tr->node_id,
		.relay = relay & ~(BIT(node) | BIT(tr->node_id) | BIT(0)),
		.flags = PRBD_WIRE_F_FORWARD,
		.ttl = 1,
	};

	if (!rt.relay)
		return prbd_tr_send_crc(tr, node, type, hdr, hdr_len, payload,
					nr_bvec, payload_len, payload_crc,
					payload_tag, done, arg);
	return __prbd_tr_send(tr, node, type, hdr, hdr_len, payload, nr_bvec,
			      payload_len, &payload_crc, payload_tag, &rt, done,
			      arg);
}

static void prbd_tr_fwd_sent(void *arg, int err)
{
	prbd_tr_buf_put(arg);
}

/*
 * Forward a frame that asks for it (F_FORWARD, ttl 1) to the other nodes
 * of its dest_mask: the same header, the payload pages straight from the
 * receive buffer, its crc and tag unchanged (a MAC of our own).  Best effort: a destination that
 * does not get it asks the origin (the replication layer's PLREQ).
 * Context: the receive work of the connection it came in on.
 */
static void prbd_tr_forward(struct prbd_tr_conn *conn)
{
	const struct prbd_wire_frame *f = &conn->rx_frame;
	struct prbd_tr_buf *buf = conn->rx_buf;
	struct prbd_tr *tr = conn->tr;
	u32 mask = le32_to_cpu(f->dest_mask) &
		   ~(BIT(tr->node_id) | BIT(f->origin) | BIT(f->sender));
	u32 crc = le32_to_cpu(f->payload_crc);
	struct prbd_tr_route rt = {
		.origin = f->origin,
		.flags = f->flags,
		.ttl = 0,
	};
	unsigned long m = mask;
	unsigned int n;
	int err;

	for_each_set_bit(n, &m, PRBD_WIRE_MAX_NODE + 1) {
		if (buf)
			prbd_tr_buf_get(buf);
		err = __prbd_tr_send(tr, n, le16_to_cpu(f->type), conn->rx_hdr,
				     le32_to_cpu(f->hdr_len),
				     buf ? buf->bvec : NULL,
				     buf ? buf->nr_bvec : 0,
				     buf ? buf->len : 0, &crc, f->ptag, &rt,
				     buf ? prbd_tr_fwd_sent : NULL, buf);
		if (err) {
			if (buf)
				prbd_tr_buf_put(buf);
			atomic64_inc(&tr->fwd_fails);
		} else {
			atomic64_inc(&tr->fwd_sent);
		}
	}
}

/* Push one message; 0 when all of it is in the socket, -EAGAIN when full. */
static int prbd_tr_msg_push(struct prbd_tr_conn *conn,
			    struct prbd_tr_msg *msg, bool more)
{
	u32 head = sizeof(msg->frame) + msg->hdr_len;
	u32 total = head + msg->payload_len;
	int ret;

	while (msg->sent < total) {
		if (msg->sent < head) {
			struct msghdr m = { .msg_flags = MSG_DONTWAIT |
						MSG_NOSIGNAL };
			struct kvec kv[2];
			int n = 0;

			if (msg->sent < sizeof(msg->frame)) {
				kv[n].iov_base = (u8 *)&msg->frame + msg->sent;
				kv[n++].iov_len = sizeof(msg->frame) - msg->sent;
				if (msg->hdr_len) {
					kv[n].iov_base = msg->hdr;
					kv[n++].iov_len = msg->hdr_len;
				}
			} else {
				u32 o = msg->sent - sizeof(msg->frame);

				kv[n].iov_base = msg->hdr + o;
				kv[n++].iov_len = msg->hdr_len - o;
			}
			if (msg->payload_len || more)
				m.msg_flags |= MSG_MORE;
			ret = kernel_sendmsg(conn->sock, &m, kv, n,
					     head - msg->sent);
		} else {
			const struct bio_vec *bv = &msg->bvec[msg->bv_idx];
			int flags = MSG_DONTWAIT;
			struct page *page;
			u32 poff, len;

			page = prbd_tr_bvec_page(bv, msg->bv_off, &poff, &len);
			if (msg->sent + len < total || more)
				flags |= MSG_MORE;
			ret = prbd_tr_compat_sendpage(conn->sock, page, poff,
						      len, flags);
			if (ret > 0) {
				msg->bv_off += ret;
				if (msg->bv_off == bv->bv_len) {
					msg->bv_idx++;
					msg->bv_off = 0;
				}
			}
		}
		if (ret == -EAGAIN)
			return -EAGAIN;
		if (ret <= 0)
			return ret ? ret : -EPIPE;
		msg->sent += ret;
		WRITE_ONCE(conn->last_tx, jiffies);
	}
	return 0;
}

static int prbd_tr_tx(struct prbd_tr_conn *conn)
{
	struct prbd_tr *tr = conn->tr;
	struct prbd_tr_peer *peer = conn->peer;
	struct prbd_tr_msg *msg;
	unsigned int n;
	bool more;
	int ret;

	for (n = 0; n < PRBD_TR_TX_BUDGET; n++) {
		spin_lock_bh(&conn->tx_lock);
		if (!conn->tx_cur) {
			msg = list_first_entry_or_null(&conn->txq,
						       struct prbd_tr_msg, list);
			if (msg)
				list_del(&msg->list);
			conn->tx_cur = msg;
		}
		msg = conn->tx_cur;
		more = !list_empty(&conn->txq);
		spin_unlock_bh(&conn->tx_lock);
		if (!msg)
			return 0;
		/* not !msg->sent: a full socket may have taken no byte */
		if (!msg->sealed)
			prbd_tr_msg_seal(conn, msg);
		ret = prbd_tr_msg_push(conn, msg, more);
		if (ret == -EAGAIN)
			return 0;
		if (ret) {
			prbd_tr_conn_warn(conn, "send failed: %d", ret);
			return ret;
		}
		spin_lock_bh(&conn->tx_lock);
		conn->tx_cur = NULL;
		conn->txq_bytes -= prbd_tr_msg_size(msg);
		spin_unlock_bh(&conn->tx_lock);
		if (le16_to_cpu(msg->frame.type) >= PRBD_WIRE_T_USER) {
			WRITE_ONCE(peer->st.tx_msgs, peer->st.tx_msgs + 1);
			WRITE_ONCE(peer->st.tx_bytes,
				   peer->st.tx_bytes + msg->payload_len);
		}
		prbd_tr_msg_complete(tr, msg, 0);
	}
	prbd_tr_conn_queue(conn);	/* budget used up: yield */
	return 0;
}

/* A handshake frame, written directly (the socket is empty then). */
static int prbd_tr_send_ctrl(struct prbd_tr_conn *conn, u16 type,
			     const void *hdr, u32 hdr_len)
{
	struct prbd_wire_frame f = {};
	struct msghdr m = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec kv[2];
	int ret;

	f.magic = cpu_to_be32(PRBD_WIRE_MAGIC);
	f.version = PRBD_WIRE_VERSION;
	f.type = cpu_to_le16(type);
	f.origin = conn->tr->node_id;
	f.sender = conn->tr->node_id;
	if (conn->peer)
		f.dest_mask = cpu_to_le32(BIT(conn->peer->node));
	f.hdr_len = cpu_to_le32(hdr_len);
	f.hdr_crc = cpu_to_le32(~prbd_tr_crc(~0U, hdr, hdr_len));
	f.frame_crc = cpu_to_le32(prbd_tr_frame_crc(&f));
	kv[0].iov_base = &f;
	kv[0].iov_len = sizeof(f);
	kv[1].iov_base = (void *)hdr;
	kv[1].iov_len = hdr_len;
	ret = kernel_sendmsg(conn->sock, &m, kv, hdr_len ? 2 : 1,
			     sizeof(f) + hdr_len);
	if (ret < 0)
		return ret;
	if (ret != sizeof(f) + hdr_len)
		return -EIO;
	WRITE_ONCE(conn->last_tx, jiffies);
	return 0;
}

static int prbd_tr_reject(struct prbd_tr_conn *conn, u32 reason)
{
	struct prbd_wire_reject r = { .reason = cpu_to_le32(reason) };

	prbd_tr_send_ctrl(conn, PRBD_WIRE_T_REJECT, &r, sizeof(r));
	return -EACCES;
}

/* ---- handshake ------------------------------------------------------ */

static int prbd_tr_mac(struct prbd_tr *tr, const char *label, u32 con_id,
		       u32 acc_id, const u8 *nonce_c, const u8 *nonce_a,
		       u8 *mac)
{
	struct {
		u8 label[8];
		u8 uuid[PRBD_WIRE_UUID_LEN];
		__le32 con_id;
		__le32 acc_id;
		u8 nonce_c[PRBD_WIRE_NONCE_LEN];
		u8 nonce_a[PRBD_WIRE_NONCE_LEN];
	} __packed in;

	memcpy(in.label, label, sizeof(in.label));
	memcpy(in.uuid, tr->uuid, sizeof(in.uuid));
	in.con_id = cpu_to_le32(con_id);
	in.acc_id = cpu_to_le32(acc_id);
	memcpy(in.nonce_c, nonce_c, sizeof(in.nonce_c));
	memcpy(in.nonce_a, nonce_a, sizeof(in.nonce_a));
	return crypto_shash_tfm_digest(tr->hmac, (u8 *)&in, sizeof(in), mac);
}

static const u8 prbd_tr_zero_nonce[PRBD_WIRE_NONCE_LEN];

/*
 * The connection's frame keys (see "Authentication" in prbd_wire.h), once
 * the peer proved it knows the secret.
 */
static int prbd_tr_conn_keys(struct prbd_tr_conn *conn, u32 con_id,
			     u32 acc_id)
{
	struct prbd_tr *tr = conn->tr;
	u8 *k_con = conn->acceptor ? conn->rx_key : conn->tx_key;
	u8 *k_acc = conn->acceptor ? conn->tx_key : conn->rx_key;
	int err;

	err = prbd_tr_mac(tr, "prbd-kcn", con_id, acc_id, conn->nonce_c,
			  conn->nonce_a, k_con);
	if (!err)
		err = prbd_tr_mac(tr, "prbd-kac", con_id, acc_id,
				  conn->nonce_c, conn->nonce_a, k_acc);
	conn->tx_n = 0;
	conn->rx_n = 0;
	return err;
}

static void prbd_tr_fill_hello(struct prbd_tr_conn *conn,
			       struct prbd_wire_hello *h, u32 peer_id,
			       const u8 *nonce)
{
	h->min_version = cpu_to_le16(PRBD_WIRE_VERSION);
	h->max_version = cpu_to_le16(PRBD_WIRE_VERSION);
	h->node_id = cpu_to_le32(conn->tr->node_id);
	h->peer_id = cpu_to_le32(peer_id);
	h->features = 0;
	memcpy(h->cluster_uuid, conn->tr->uuid, PRBD_WIRE_UUID_LEN);
	memcpy(h->nonce, nonce, PRBD_WIRE_NONCE_LEN);
}

/* Checks common to HELLO and HELLO_ACK; returns a reject reason or 0. */
static u32 prbd_tr_check_hello(struct prbd_tr_conn *conn,
			       const struct prbd_wire_hello *h)
{
	struct prbd_tr *tr = conn->tr;
	u16 vmin = le16_to_cpu(h->min_version);
	u16 vmax = le16_to_cpu(h->max_version);

	if (vmin > PRBD_WIRE_VERSION || vmax < PRBD_WIRE_VERSION) {
		prbd_tr_conn_warn(conn,
				  "refused: peer speaks protocol versions %u..%u, we speak %u",
				  vmin, vmax, PRBD_WIRE_VERSION);
		return PRBD_WIRE_R_VERSION;
	}
	if (memcmp(h->cluster_uuid, tr->uuid, PRBD_WIRE_UUID_LEN)) {
		prbd_tr_conn_warn(conn, "refused: cluster UUID mismatch: peer %pUb, ours %pUb",
				  h->cluster_uuid, tr->uuid);
		return PRBD_WIRE_R_CLUSTER;
	}
	if (le32_to_cpu(h->peer_id) != tr->node_id) {
		prbd_tr_conn_warn(conn, "refused: peer wants node %u, we are node %u",
				  le32_to_cpu(h->peer_id), tr->node_id);
		return PRBD_WIRE_R_NODE;
	}
	return 0;
}

static int prbd_tr_connected(struct prbd_tr_conn *conn)
{
	struct sock *sk = conn->sock->sk;
	struct prbd_wire_hello h;
	int err;

	if (sk->sk_state == TCP_SYN_SENT)
		return 0;
	if (sk->sk_state != TCP_ESTABLISHED) {
		err = sock_error(sk);
		return err ? err : -ECONNREFUSED;
	}
	get_random_bytes(conn->nonce_c, sizeof(conn->nonce_c));
	prbd_tr_fill_hello(conn, &h, conn->peer->node, conn->nonce_c);
	err = prbd_tr_send_ctrl(conn, PRBD_WIRE_T_HELLO, &h, sizeof(h));
	if (err)
		return err;
	conn->state = PRBD_TR_HELLO_SENT;
	return 0;
}

/* Acceptor: HELLO arrived. */
static int prbd_tr_on_hello(struct prbd_tr_conn *conn,
			    const struct prbd_wire_hello *h)
{
	struct prbd_tr *tr = conn->tr;
	struct prbd_wire_hello_ack ack;
	struct prbd_tr_peer *peer;
	u32 node = le32_to_cpu(h->node_id);
	u32 reason;
	int err;

	reason = prbd_tr_check_hello(conn, h);
	if (reason)
		return prbd_tr_reject(conn, reason);
	if (node == tr->node_id) {
		prbd_tr_conn_warn(conn, "refused: duplicate node id: peer claims our own id %u",
				  node);
		return prbd_tr_reject(conn, PRBD_WIRE_R_DUP_NODE);
	}
	if (node == 0 || node > tr->node_id) {
		prbd_tr_conn_warn(conn,
				  "refused: node %u must not connect to us (only lower ids connect)",
				  node);
		return prbd_tr_reject(conn, PRBD_WIRE_R_NODE);
	}
	spin_lock_bh(&tr->lock);
	peer = tr->peers[node];
	if (peer)
		kref_get(&peer->kref);
	spin_unlock_bh(&tr->lock);
	if (!peer) {
		prbd_tr_conn_warn(conn, "refused: node %u is not a configured peer",
				  node);
		return prbd_tr_reject(conn, PRBD_WIRE_R_NODE);
	}
	if (!prbd_tr_same_ip(&peer->addr, &conn->raddr)) {
		prbd_tr_conn_warn(conn,
				  "refused: duplicate node id: node %u is configured at %pISc",
				  node, &peer->addr);
		kref_put(&peer->kref, prbd_tr_peer_release);
		return prbd_tr_reject(conn, PRBD_WIRE_R_DUP_NODE);
	}
	conn->peer = peer;
	memcpy(conn->nonce_c, h->nonce, sizeof(conn->nonce_c));
	get_random_bytes(conn->nonce_a, sizeof(conn->nonce_a));
	prbd_tr_fill_hello(conn, &ack.hello, node, conn->nonce_a);
	err = prbd_tr_mac(tr, "prbd-acc", node, tr->node_id, conn->nonce_c,
			  conn->nonce_a, ack.mac);
	if (err)
		return err;
	err = prbd_tr_send_ctrl(conn, PRBD_WIRE_T_HELLO_ACK, &ack, sizeof(ack));
	if (err)
		return err;
	conn->state = PRBD_TR_ACK_SENT;
	return 0;
}

/* Connector: HELLO_ACK arrived; verify the acceptor's proof, send ours. */
static int prbd_tr_on_hello_ack(struct prbd_tr_conn *conn,
				const struct prbd_wire_hello_ack *ack)
{
	struct prbd_tr *tr = conn->tr;
	u32 node = conn->peer->node;
	struct prbd_wire_auth auth;
	u8 mac[PRBD_WIRE_MAC_LEN];
	u32 reason;
	int err;

	reason = prbd_tr_check_hello(conn, &ack->hello);
	if (reason)
		return prbd_tr_reject(conn, reason);
	if (le32_to_cpu(ack->hello.node_id) != node) {
		prbd_tr_conn_warn(conn, "refused: answered as node %u",
				  le32_to_cpu(ack->hello.node_id));
		return prbd_tr_reject(conn, PRBD_WIRE_R_DUP_NODE);
	}
	memcpy(conn->nonce_a, ack->hello.nonce, sizeof(conn->nonce_a));
	err = prbd_tr_mac(tr, "prbd-acc", tr->node_id, node, conn->nonce_c,
			  conn->nonce_a, mac);
	if (err)
		return err;
	if (crypto_memneq(mac, ack->mac, sizeof(mac))) {
		prbd_tr_conn_warn(conn,
				  "refused: authentication failed: peer does not know our shared secret");
		return prbd_tr_reject(conn, PRBD_WIRE_R_AUTH);
	}
	err = prbd_tr_mac(tr, "prbd-con", tr->node_id, node, conn->nonce_c,
			  conn->nonce_a, auth.mac);
	if (!err)
		err = prbd_tr_conn_keys(conn, tr->node_id, node);
	if (err)
		return err;
	err = prbd_tr_send_ctrl(conn, PRBD_WIRE_T_AUTH, &auth, sizeof(auth));
	if (err)
		return err;
	conn->state = PRBD_TR_AUTH_SENT;
	return 0;
}

/*
 * The handshake succeeded: make @conn the peer's connection.  An acceptor
 * replaces an older connection of the same peer (the peer restarted).
 */
static int prbd_tr_up(struct prbd_tr_conn *conn)
{
	struct prbd_tr *tr = conn->tr;
	struct prbd_tr_peer *peer = conn->peer;
	struct prbd_tr_conn *old = NULL;
	int err = 0;

	spin_lock_bh(&tr->lock);
	if (tr->stopping || peer->deleted || tr->peers[peer->node] != peer) {
		err = -ESHUTDOWN;
	} else if (conn->acceptor) {
		old = peer->conn;
		peer->conn = conn;
		if (!list_empty(&conn->pending)) {
			list_del_init(&conn->pending);
			tr->nr_pending--;
		}
		/* the pending list's reference becomes peer->conn's */
	} else if (peer->conn != conn) {
		err = -ESHUTDOWN;
	}
	if (!err) {
		conn->state = PRBD_TR_UP;
		peer->backoff_ms = tr->backoff_min_ms;
		peer->st.ups++;
		peer->st.up = true;
	}
	spin_unlock_bh(&tr->lock);
	if (err)
		return err;
	if (old) {
		prbd_tr_conn_info(conn, "replaces the previous connection");
		prbd_tr_conn_kill(old);
		/* the old connection's loss is reported here, in order */
		if (old->state == PRBD_TR_UP && tr->ops->peer_state)
			tr->ops->peer_state(tr->ctx, peer->node, false);
		prbd_tr_conn_put(old);	/* peer->conn's reference */
	}
	prbd_tr_conn_info(conn, "connected");
	if (tr->ops->peer_state)
		tr->ops->peer_state(tr->ctx, peer->node, true);
	return 0;
}

/* Acceptor: AUTH arrived. */
static int prbd_tr_on_auth(struct prbd_tr_conn *conn,
			   const struct prbd_wire_auth *auth)
{
	struct prbd_tr *tr = conn->tr;
	u8 mac[PRBD_WIRE_MAC_LEN];
	int err;

	err = prbd_tr_mac(tr, "prbd-con", conn->peer->node, tr->node_id,
			  conn->nonce_c, conn->nonce_a, mac);
	if (err)
		return err;
	if (crypto_memneq(mac, auth->mac, sizeof(mac))) {
		prbd_tr_conn_warn(conn,
				  "refused: authentication failed: peer does not know our shared secret");
		return prbd_tr_reject(conn, PRBD_WIRE_R_AUTH);
	}
	err = prbd_tr_conn_keys(conn, conn->peer->node, tr->node_id);
	if (err)
		return err;
	err = prbd_tr_send_ctrl(conn, PRBD_WIRE_T_AUTH_OK, NULL, 0);
	if (err)
		return err;
	return prbd_tr_up(conn);
}

static int prbd_tr_on_ctrl(struct prbd_tr_conn *conn, u16 type,
			   const void *hdr, u32 len)
{
	const struct prbd_wire_reject *rej = hdr;

	switch (type) {
	case PRBD_WIRE_T_HELLO:
		if (conn->state == PRBD_TR_ACCEPTED && len == sizeof(struct prbd_wire_hello))
			return prbd_tr_on_hello(conn, hdr);
		break;
	case PRBD_WIRE_T_HELLO_ACK:
		if (conn->state == PRBD_TR_HELLO_SENT &&
		    len == sizeof(struct prbd_wire_hello_ack))
			return prbd_tr_on_hello_ack(conn, hdr);
		break;
	case PRBD_WIRE_T_AUTH:
		if (conn->state == PRBD_TR_ACK_SENT && len == sizeof(struct prbd_wire_auth))
			return prbd_tr_on_auth(conn, hdr);
		break;
	case PRBD_WIRE_T_AUTH_OK:
		if (conn->state == PRBD_TR_AUTH_SENT && len == 0)
			return prbd_tr_up(conn);
		break;
	case PRBD_WIRE_T_REJECT:
		if (conn->state != PRBD_TR_UP && len == sizeof(*rej)) {
			prbd_tr_conn_warn(conn, "the peer refused the connection: %s",
					  prbd_tr_reason_str(le32_to_cpu(rej->reason)));
			return -EACCES;
		}
		break;
	case PRBD_WIRE_T_PING:
		if (conn->state == PRBD_TR_UP && len == 0)
			return 0;
		break;
	}
	prbd_tr_conn_warn(conn, "unexpected message type %u (%u bytes) in state %d",
			  type, len, conn->state);
	if (conn->state != PRBD_TR_UP)
		return prbd_tr_reject(conn, PRBD_WIRE_R_PROTO);
	return -EPROTO;
}

/* ---- receiving ------------------------------------------------------ */

/* > 0 bytes read, 0 nothing to read now, < 0 error (EOF: -ECONNRESET). */
static int prbd_tr_recv(struct prbd_tr_conn *conn, void *buf, u32 len)
{
	struct msghdr m = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	int ret;

	ret = kernel_recvmsg(conn->sock, &m, &kv, 1, len, m.msg_flags);
	if (ret == -EAGAIN)
		return 0;
	if (ret == 0)
		return -ECONNRESET;
	if (ret > 0)
		WRITE_ONCE(conn->last_rx, jiffies);
	return ret;
}

/* Like prbd_tr_recv(), into the rest of the payload buffer. */
static int prbd_tr_recv_buf(struct prbd_tr_conn *conn)
{
	struct prbd_tr_buf *buf = conn->rx_buf;
	struct msghdr m = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	int ret;

	iov_iter_bvec(&m.msg_iter, READ, buf->bvec, buf->nr_bvec, buf->len);
	iov_iter_advance(&m.msg_iter, conn->rx_got);
	ret = sock_recvmsg(conn->sock, &m, m.msg_flags);
	if (ret == -EAGAIN)
		return 0;
	if (ret == 0)
		return -ECONNRESET;
	if (ret > 0)
		WRITE_ONCE(conn->last_rx, jiffies);
	return ret;
}

static int prbd_tr_check_frame(struct prbd_tr_conn *conn)
{
	const struct prbd_wire_frame *f = &conn->rx_frame;
	struct prbd_tr *tr = conn->tr;
	u32 hdr_len = le32_to_cpu(f->hdr_len);
	u32 payload_len = le32_to_cpu(f->payload_len);
	u16 type = le16_to_cpu(f->type);

	if (be32_to_cpu(f->magic) != PRBD_WIRE_MAGIC) {
		prbd_tr_conn_warn(conn, "dropped: bad magic 0x%08x, not a prbd peer",
				  be32_to_cpu(f->magic));
		return -EPROTO;
	}
	if (f->version != PRBD_WIRE_VERSION) {
		prbd_tr_conn_warn(conn, "dropped: unsupported frame version %u (we speak %u)",
				  f->version, PRBD_WIRE_VERSION);
		return -EPROTO;
	}
	if (le32_to_cpu(f->frame_crc) != prbd_tr_frame_crc(f)) {
		prbd_tr_conn_warn(conn, "dropped: frame header crc mismatch");
		return -EBADMSG;
	}
	if (hdr_len > PRBD_WIRE_MAX_HDR || payload_len > PRBD_WIRE_MAX_PAYLOAD) {
		prbd_tr_conn_warn(conn,
				  "dropped: oversized frame: header %u (max %u), payload %u (max %u)",
				  hdr_len, PRBD_WIRE_MAX_HDR, payload_len,
				  PRBD_WIRE_MAX_PAYLOAD);
		return -EMSGSIZE;
	}
	if ((f->flags & ~PRBD_WIRE_F_KNOWN) || f->reserved || f->reserved2) {
		prbd_tr_conn_warn(conn, "dropped: unknown flags 0x%x", f->flags);
		return -EPROTO;
	}
	if (conn->state != PRBD_TR_UP) {
		if (type >= PRBD_WIRE_T_USER || payload_len) {
			prbd_tr_conn_warn(conn, "dropped: message type %u before the handshake",
					  type);
			return -EPROTO;
		}
		if (memchr_inv(f->ptag, 0, sizeof(f->ptag)) ||
		    memchr_inv(f->mac, 0, sizeof(f->mac))) {
			prbd_tr_conn_warn(conn, "dropped: handshake frame with a tag");
			return -EPROTO;
		}
		return 0;
	}
	/*
	 * Straight from the peer, or relayed by it once (ttl 0, from
	 * another origin); only the origin asks for a relay (ttl 1).
	 */
	if (f->sender != conn->peer->node ||
	    !(le32_to_cpu(f->dest_mask) & BIT(tr->node_id)) ||
	    f->ttl > 1 || (f->ttl && !(f->flags & PRBD_WIRE_F_FORWARD)) ||
	    (f->origin != f->sender &&
	     (f->ttl || !f->origin || f->origin > PRBD_WIRE_MAX_NODE ||
	      f->origin == tr->node_id))) {
		prbd_tr_conn_warn(conn,
				  "dropped: misaddressed frame (origin %u sender %u dest 0x%x)",
				  f->origin, f->sender,
				  le32_to_cpu(f->dest_mask));
		return -EPROTO;
	}
	return 0;
}

static int prbd_tr_deliver(struct prbd_tr_conn *conn)
{
	const struct prbd_wire_frame *f = &conn->rx_frame;
	struct prbd_tr *tr = conn->tr;
	struct prbd_tr_buf *buf = conn->rx_buf;
	u32 hdr_len = le32_to_cpu(f->hdr_len);
	u32 payload_len = le32_to_cpu(f->payload_len);
	u16 type = le16_to_cpu(f->type);
	struct prbd_tr_rx rx;
	u8 tag[PRBD_WIRE_TAG_LEN];
	u32 crc;

	crc = ~prbd_tr_crc(~0U, conn->rx_hdr, hdr_len);
	if (crc != le32_to_cpu(f->hdr_crc)) {
		prbd_tr_conn_warn(conn,
				  "dropped: header crc mismatch (type %u, %u bytes)",
				  type, hdr_len);
		return -EBADMSG;
	}
	/*
	 * The payload crc is checked even when a tag proves the bytes are
	 * the ones their origin sent: the crc was computed earlier (at queue
	 * time, over the request's copy) and goes into the log record, so a
	 * mismatch is a bug at the origin that would otherwise leave a record
	 * a restart takes for torn.
	 */
	crc = buf ? prbd_tr_payload_crc(buf->bvec, buf->nr_bvec, buf->len) : 0;
	if (crc != le32_to_cpu(f->payload_crc)) {
		prbd_tr_conn_warn(conn,
				  "dropped: payload crc mismatch (type %u, %u bytes)",
				  type, payload_len);
		return -EBADMSG;
	}
	/*
	 * After the handshake (the state when the frame was checked; AUTH_OK
	 * itself is the connector's last frame without a MAC): the frame's
	 * MAC under this direction's key and counter, then the payload's tag
	 * under the group's key.
	 */
	if (conn->state == PRBD_TR_UP) {
		prbd_tr_frame_mac(conn->rx_key, conn->rx_n, f, conn->rx_hdr,
				  hdr_len, tag);
		if (crypto_memneq(tag, f->mac, sizeof(tag))) {
			prbd_tr_conn_warn(conn,
					  "dropped: frame MAC mismatch (type %u, frame %llu): forged, replayed or altered on the way",
					  type, conn->rx_n);
			return -EBADMSG;
		}
		conn->rx_n++;
		if (buf)
			prbd_tr_payload_tag(tr, buf->bvec, buf->nr_bvec,
					    buf->len, tag);
		else
			memset(tag, 0, sizeof(tag));
		if (crypto_memneq(tag, f->ptag, sizeof(tag))) {
			prbd_tr_conn_warn(conn,
					  "dropped: payload tag mismatch (type %u, %u bytes)",
					  type, payload_len);
			return -EBADMSG;
		}
	}
	if (type < PRBD_WIRE_T_USER)
		return prbd_tr_on_ctrl(conn, type, conn->rx_hdr, hdr_len);

	rx.from = conn->peer->node;
	rx.origin = f->origin;
	rx.type = type;
	rx.flags = f->flags;
	rx.dest_mask = le32_to_cpu(f->dest_mask);
	rx.seq = le64_to_cpu(f->seq);
	rx.hdr = conn->rx_hdr;
	rx.hdr_len = hdr_len;
	rx.payload = buf;
	rx.payload_len = payload_len;
	WRITE_ONCE(conn->peer->st.rx_msgs, conn->peer->st.rx_msgs + 1);
	WRITE_ONCE(conn->peer->st.rx_bytes, conn->peer->st.rx_bytes + payload_len);
	if ((f->flags & PRBD_WIRE_F_FORWARD) && f->ttl)
		prbd_tr_forward(conn);
	if (tr->ops->recv)
		tr->ops->recv(tr->ctx, &rx);
	return 0;
}

static int prbd_tr_rx(struct prbd_tr_conn *conn)
{
	struct prbd_wire_frame *f = &conn->rx_frame;
	u32 budget = 0;
	int ret;

	while (budget < PRBD_TR_RX_BUDGET) {
		if (test_bit(PRBD_TR_CF_DEAD, &conn->flags))
			return 0;
		switch (conn->rx_phase) {
		case PRBD_TR_RX_FRAME:
			ret = prbd_tr_recv(conn, (u8 *)f + conn->rx_got,
					   sizeof(*f) - conn->rx_got);
			if (ret <= 0)
				return ret;
			conn->rx_got += ret;
			if (conn->rx_got < sizeof(*f))
				continue;
			ret = prbd_tr_check_frame(conn);
			if (ret)
				return ret;
			conn->rx_got = 0;
			conn->rx_phase = PRBD_TR_RX_HDR;
			fallthrough;
		case PRBD_TR_RX_HDR:
			if (conn->rx_got < le32_to_cpu(f->hdr_len)) {
				ret = prbd_tr_recv(conn, conn->rx_hdr + conn->rx_got,
						   le32_to_cpu(f->hdr_len) - conn->rx_got);
				if (ret <= 0)
					return ret;
				conn->rx_got += ret;
				continue;
			}
			conn->rx_got = 0;
			conn->rx_phase = PRBD_TR_RX_PAYLOAD;
			if (le32_to_cpu(f->payload_len))
				conn->rx_buf = prbd_tr_buf_alloc(conn->tr,
								 le32_to_cpu(f->payload_len));
			fallthrough;
		case PRBD_TR_RX_PAYLOAD:
			if (conn->rx_buf && conn->rx_got < conn->rx_buf->len) {
				ret = prbd_tr_recv_buf(conn);
				if (ret <= 0)
					return ret;
				conn->rx_got += ret;
				budget += ret;
				continue;
			}
			ret = prbd_tr_deliver(conn);
			if (conn->rx_buf) {
				prbd_tr_buf_put(conn->rx_buf);
				conn->rx_buf = NULL;
			}
			conn->rx_got = 0;
			conn->rx_phase = PRBD_TR_RX_FRAME;
			budget += sizeof(*f) + le32_to_cpu(f->hdr_len);
			if (ret)
				return ret;
			break;
		}
	}
	prbd_tr_conn_queue(conn);	/* budget used up: yield */
	return 0;
}

/* ---- connection work and teardown ------------------------------------ */

static void prbd_tr_schedule_reconnect(struct prbd_tr_peer *peer)
{
	struct prbd_tr *tr = peer->tr;
	u32 delay = peer->backoff_ms;

	lockdep_assert_held(&tr->lock);
	if (tr->stopping || peer->deleted || !peer->connector)
		return;
	/* +-25% jitter so that peers do not retry in lock step */
	delay = delay * 3 / 4 + get_random_u32_below(delay / 2 + 1);
	peer->backoff_ms = min(peer->backoff_ms * 2, tr->backoff_max_ms);
	queue_delayed_work(tr->wq, &peer->reconnect, msecs_to_jiffies(delay));
}

static void prbd_tr_conn_cleanup(struct prbd_tr_conn *conn)
{
	struct prbd_tr *tr = conn->tr;
	struct prbd_tr_peer *peer = conn->peer;
	struct prbd_tr_msg *msg, *tmp;
	bool report_down = false;
	LIST_HEAD(failed);

	cancel_delayed_work_sync(&conn->timer);
	prbd_tr_sock_detach(conn);
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);

	spin_lock_bh(&conn->tx_lock);
	conn->tx_closed = true;
	list_splice_init(&conn->txq, &failed);
	if (conn->tx_cur)
		list_add(&conn->tx_cur->list, &failed);
	conn->tx_cur = NULL;
	conn->txq_bytes = 0;
	spin_unlock_bh(&conn->tx_lock);
	list_for_each_entry_safe(msg, tmp, &failed, list) {
		list_del(&msg->list);
		prbd_tr_msg_complete(tr, msg, -ENOTCONN);
	}
	if (conn->rx_buf) {
		prbd_tr_buf_put(conn->rx_buf);
		conn->rx_buf = NULL;
	}

	spin_lock_bh(&tr->lock);
	if (!list_empty(&conn->pending)) {
		list_del_init(&conn->pending);
		tr->nr_pending--;
		spin_unlock_bh(&tr->lock);
		prbd_tr_conn_put(conn);	/* the pending list's reference */
		return;
	}
	if (peer && peer->conn == conn) {
		peer->conn = NULL;
		if (conn->state == PRBD_TR_UP) {
			report_down = true;
			peer->st.downs++;
			peer->st.up = false;
		}
		prbd_tr_schedule_reconnect(peer);
		spin_unlock_bh(&tr->lock);
		if (report_down) {
			prbd_tr_conn_info(conn, "connection lost");
			if (tr->ops->peer_state)
				tr->ops->peer_state(tr->ctx, peer->node, false);
		}
		prbd_tr_conn_put(conn);	/* peer->conn's reference */
		return;
	}
	/* replaced by a newer connection, which reported our loss */
	spin_unlock_bh(&tr->lock);
}

static void prbd_tr_conn_work(struct work_struct *work)
{
	struct prbd_tr_conn *conn = container_of(work, struct prbd_tr_conn,
						 work);
	unsigned int noio = memalloc_noio_save();
	int err = 0;

	if (!test_bit(PRBD_TR_CF_DEAD, &conn->flags)) {
		if (conn->state == PRBD_TR_CONNECTING)
			err = prbd_tr_connected(conn);
		if (!err && conn->state != PRBD_TR_CONNECTING)
			err = prbd_tr_rx(conn);
		if (!err && conn->state == PRBD_TR_UP)
			err = prbd_tr_tx(conn);
		if (err) {
			if (err == -ECONNRESET)
				prbd_tr_conn_info(conn, "closed by the peer");
			else if (err != -EACCES && err != -EPROTO &&
				 err != -EBADMSG && err != -EMSGSIZE)
				prbd_tr_conn_info(conn, "connection failed: %d", err);
			if (conn->peer) {
				spin_lock_bh(&conn->tr->lock);
				if (err == -EACCES)
					conn->peer->st.rejects++;
				else
					conn->peer->st.proto_errors++;
				spin_unlock_bh(&conn->tr->lock);
			} else {
				atomic64_inc(&conn->tr->unauth_drops);
			}
			set_bit(PRBD_TR_CF_DEAD, &conn->flags);
		}
	}
	if (test_bit(PRBD_TR_CF_DEAD, &conn->flags) &&
	    !test_and_set_bit(PRBD_TR_CF_CLEANED, &conn->flags))
		prbd_tr_conn_cleanup(conn);
	memalloc_noio_restore(noio);
	prbd_tr_conn_put(conn);	/* this work instance's reference */
}

/* Handshake deadline, idle pings and the silence timeout. */
static void prbd_tr_conn_timer(struct work_struct *work)
{
	struct prbd_tr_conn *conn = container_of(to_delayed_work(work),
						 struct prbd_tr_conn, timer);
	struct prbd_tr *tr = conn->tr;
	unsigned long now = jiffies;
	unsigned int noio;

	if (test_bit(PRBD_TR_CF_DEAD, &conn->flags))
		return;
	if (conn->state != PRBD_TR_UP) {
		if (time_after(now, conn->t_start + msecs_to_jiffies(tr->timeout_ms))) {
			prbd_tr_conn_info(conn, "%s timed out after %u ms",
					  conn->state == PRBD_TR_CONNECTING ?
					  "connect" : "handshake", tr->timeout_ms);
			prbd_tr_conn_kill(conn);
			return;
		}
	} else if (time_after(now, READ_ONCE(conn->last_rx) +
			      msecs_to_jiffies(tr->timeout_ms))) {
		prbd_tr_conn_warn(conn, "no traffic for %u ms, dropping the connection",
				  tr->timeout_ms);
		spin_lock_bh(&tr->lock);
		conn->peer->st.proto_errors++;
		spin_unlock_bh(&tr->lock);
		prbd_tr_conn_kill(conn);
		return;
	} else if (time_after_eq(now, READ_ONCE(conn->last_tx) +
				 msecs_to_jiffies(tr->ping_ms))) {
		struct prbd_tr_msg *msg;

		noio = memalloc_noio_save();
		msg = prbd_tr_msg_alloc(tr, 0, GFP_NOIO);
		memalloc_noio_restore(noio);
		if (msg) {
			prbd_tr_msg_init(tr, msg, conn->peer->node,
					 PRBD_WIRE_T_PING);
			if (prbd_tr_conn_enqueue(conn, msg, false))
				prbd_tr_msg_free(tr, msg);
			else
				WRITE_ONCE(conn->last_tx, now);
		}
	}
	queue_delayed_work(tr->wq, &conn->timer,
			   msecs_to_jiffies(min(tr->ping_ms, tr->timeout_ms) / 2 + 1));
}

static void prbd_tr_conn_start(struct prbd_tr_conn *conn)
{
	INIT_WORK(&conn->work, prbd_tr_conn_work);
	INIT_DELAYED_WORK(&conn->timer, prbd_tr_conn_timer);
	prbd_tr_sock_attach(conn);
	queue_delayed_work(conn->tr->wq, &conn->timer,
			   msecs_to_jiffies(conn->tr->ping_ms / 2 + 1));
}

/* ---- connecting and accepting ---------------------------------------- */

static void prbd_tr_reconnect_work(struct work_struct *work)
{
	struct prbd_tr_peer *peer = container_of(to_delayed_work(work),
						 struct prbd_tr_peer,
						 reconnect);
	struct prbd_tr *tr = peer->tr;
	struct prbd_tr_conn *conn;
	struct socket *sock;
	unsigned int noio;
	int err;

	noio = memalloc_noio_save();
	conn = prbd_tr_conn_alloc(tr, false);
	if (!conn)
		goto out_retry;
	err = sock_create_kern(tr->net, peer->addr.ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &sock);
	if (err)
		goto out_free_conn;
	conn->sock = sock;
	prbd_tr_sock_setup(tr, sock);
	if (!prbd_tr_addr_any(&tr->listen_addr)) {
		struct sockaddr_storage src = tr->listen_addr;

		/* from our data address (peers check it), any port */
		if (src.ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&src)->sin6_port = 0;
		err = kernel_bind(sock, (struct sockaddr *)&src,
				  prbd_tr_addr_len(&src));
		if (err) {
			pr_warn_ratelimited("%s: cannot bind to %pISc: %d\n",
					    tr->name, &src, err);
			goto out_free_conn;
		}
	}
	conn->raddr = peer->addr;
	kref_get(&peer->kref);
	conn->peer = peer;

	spin_lock_bh(&tr->lock);
	if (tr->stopping || peer->deleted || peer->conn) {
		spin_unlock_bh(&tr->lock);
		goto out_free_conn;
	}
	peer->conn = conn;	/* takes over the initial reference */
	peer->st.connects++;
	spin_unlock_bh(&tr->lock);

	prbd_tr_conn_start(conn);
	err = kernel_connect(sock, (struct sockaddr *)&peer->addr,
			     prbd_tr_addr_len(&peer->addr), O_NONBLOCK);
	if (err && err != -EINPROGRESS) {
		prbd_tr_conn_info(conn, "connect failed: %d", err);
		prbd_tr_conn_kill(conn);
	} else {
		prbd_tr_conn_queue(conn);
	}
	memalloc_noio_restore(noio);
	return;

out_free_conn:
	prbd_tr_conn_put(conn);
out_retry:
	spin_lock_bh(&tr->lock);
	if (!peer->conn)
		prbd_tr_schedule_reconnect(peer);
	spin_unlock_bh(&tr->lock);
	memalloc_noio_restore(noio);
}

static void prbd_tr_accept_work(struct work_struct *work)
{
	struct prbd_tr *tr = container_of(work, struct prbd_tr, accept_work);
	struct prbd_tr_conn *conn;
	struct socket *sock;
	unsigned int noio;
	int err;

	noio = memalloc_noio_save();
	for (;;) {
		err = kernel_accept(tr->listen, &sock, O_NONBLOCK);
		if (err)
			break;
		conn = prbd_tr_conn_alloc(tr, true);
		if (!conn) {
			sock_release(sock);
			continue;
		}
		conn->sock = sock;
		if (kernel_getpeername(sock, (struct sockaddr *)&conn->raddr) < 0) {
			prbd_tr_conn_put(conn);
			continue;
		}
		prbd_tr_sock_setup(tr, sock);
		spin_lock_bh(&tr->lock);
		if (tr->stopping || tr->nr_pending >= PRBD_TR_MAX_PENDING) {
			spin_unlock_bh(&tr->lock);
			pr_warn_ratelimited("%s: %pISpc: too many connections in handshake, dropped\n",
					    tr->name, &conn->raddr);
			atomic64_inc(&tr->unauth_drops);
			prbd_tr_conn_put(conn);
			continue;
		}
		list_add_tail(&conn->pending, &tr->pending);
		tr->nr_pending++;	/* the list takes the initial reference */
		spin_unlock_bh(&tr->lock);
		prbd_tr_conn_start(conn);
		prbd_tr_conn_queue(conn);	/* data may be there already */
	}
	memalloc_noio_restore(noio);
}

static int prbd_tr_listen(struct prbd_tr *tr)
{
	struct socket *sock;
	struct sock *sk;
	int err;

	err = sock_create_kern(tr->net, tr->listen_addr.ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &sock);
	if (err)
		return err;
	sk = sock->sk;
	sock_set_reuseaddr(sk);
	prbd_tr_compat_sock_noio(sk);
	err = kernel_bind(sock, (struct sockaddr *)&tr->listen_addr,
			  prbd_tr_addr_len(&tr->listen_addr));
	if (err) {
		pr_err("%s: cannot bind to %pISpc: %d\n", tr->name,
		       &tr->listen_addr, err);
		goto out_release;
	}
	write_lock_bh(&sk->sk_callback_lock);
	tr->listen_orig_data_ready = sk->sk_data_ready;
	__rcu_assign_sk_user_data_with_flags(sk, tr, SK_USER_DATA_NOCOPY);
	sk->sk_data_ready = prbd_tr_sk_listen_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	tr->listen = sock;
	err = kernel_listen(sock, PRBD_TR_MAX_PENDING);
	if (err) {
		pr_err("%s: cannot listen on %pISpc: %d\n", tr->name,
		       &tr->listen_addr, err);
		goto out_restore;
	}
	return 0;

out_restore:
	write_lock_bh(&sk->sk_callback_lock);
	rcu_assign_sk_user_data(sk, NULL);
	sk->sk_data_ready = tr->listen_orig_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	tr->listen = NULL;
out_release:
	sock_release(sock);
	return err;
}

static void prbd_tr_unlisten(struct prbd_tr *tr)
{
	struct sock *sk = tr->listen->sk;

	write_lock_bh(&sk->sk_callback_lock);
	rcu_assign_sk_user_data(sk, NULL);
	sk->sk_data_ready = tr->listen_orig_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	cancel_work_sync(&tr->accept_work);
	sock_release(tr->listen);
	tr->listen = NULL;
}

/* ---- the transport -------------------------------------------------- */

static void prbd_tr_release(struct kref *kref)
{
	struct prbd_tr *tr = container_of(kref, struct prbd_tr, kref);

	mempool_destroy(tr->buf_pool);
	mempool_destroy(tr->msg_pool);
	mempool_destroy(tr->page_pool);
	crypto_free_shash(tr->hmac);
	kfree(tr);
}

struct prbd_tr *prbd_tr_create(const struct prbd_tr_params *p,
			       const struct prbd_tr_ops *ops, void *ctx)
{
	struct prbd_tr *tr;
	int err = -EINVAL;

	if (p->node_id == 0 || p->node_id > PRBD_WIRE_MAX_NODE ||
	    p->secret_len > PRBD_TR_SECRET_MAX ||
	    !prbd_tr_addr_len(&p->listen))
		return ERR_PTR(-EINVAL);
	tr = kzalloc(sizeof(*tr), GFP_KERNEL);
	if (!tr)
		return ERR_PTR(-ENOMEM);
	kref_init(&tr->kref);
	strscpy(tr->name, p->name ? p->name : "prbd", sizeof(tr->name));
	tr->net = p->net ? p->net : &init_net;
	tr->node_id = p->node_id;
	memcpy(tr->uuid, p->cluster_uuid, PRBD_WIRE_UUID_LEN);
	tr->listen_addr = p->listen;
	tr->ping_ms = p->ping_ms ? p->ping_ms : 1000;
	tr->timeout_ms = p->timeout_ms ? p->timeout_ms : 5000;
	tr->backoff_min_ms = p->backoff_min_ms ? p->backoff_min_ms : 100;
	tr->backoff_max_ms = max(p->backoff_max_ms ? p->backoff_max_ms : 5000,
				 tr->backoff_min_ms);
	tr->sndq_bytes = p->sndq_bytes ? p->sndq_bytes : 8U << 20;
	tr->ops = ops;
	tr->ctx = ctx;
	mutex_init(&tr->cfg_mutex);
	spin_lock_init(&tr->lock);
	INIT_LIST_HEAD(&tr->pending);
	INIT_WORK(&tr->accept_work, prbd_tr_accept_work);
	init_waitqueue_head(&tr->conn_wq);

	tr->hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tr->hmac)) {
		err = PTR_ERR(tr->hmac);
		tr->hmac = NULL;
		goto out_free;
	}
	err = crypto_shash_setkey(tr->hmac, p->secret, p->secret_len);
	if (err)
		goto out_free;
	err = prbd_tr_mac(tr, "prbd-kpl", 0, 0, prbd_tr_zero_nonce,
			  prbd_tr_zero_nonce, tr->pay_key);
	if (err)
		goto out_free;
	err = -ENOMEM;
	tr->page_pool = mempool_create_page_pool(PRBD_TR_POOL_PAGES, 0);
	if (!tr->page_pool)
		goto out_free;
	tr->msg_pool = mempool_create_kmalloc_pool(PRBD_TR_POOL_MSGS,
						   sizeof(struct prbd_tr_msg) +
						   PRBD_WIRE_MAX_HDR);
	if (!tr->msg_pool)
		goto out_free;
	tr->buf_pool = mempool_create_kmalloc_pool(2, sizeof(struct prbd_tr_buf) +
						   PRBD_TR_MAX_PAGES *
						   sizeof(struct bio_vec));
	if (!tr->buf_pool)
		goto out_free;
	tr->wq = alloc_workqueue("prbd_tr_%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 0,
				 tr->name);
	if (!tr->wq)
		goto out_free;
	err = prbd_tr_listen(tr);
	if (err)
		goto out_destroy_wq;
	pr_info("%s: node %u listening on %pISpc\n", tr->name, tr->node_id,
		&tr->listen_addr);
	return tr;

out_destroy_wq:
	destroy_workqueue(tr->wq);
out_free:
	kref_put(&tr->kref, prbd_tr_release);
	return ERR_PTR(err);
}

int prbd_tr_add_peer(struct prbd_tr *tr, u32 node,
		     const struct sockaddr_storage *addr)
{
	struct prbd_tr_peer *peer;
	int err = 0;

	if (node == 0 || node > PRBD_WIRE_MAX_NODE || node == tr->node_id ||
	    !prbd_tr_addr_len(addr))
		return -EINVAL;
	peer = kzalloc(sizeof(*peer), GFP_KERNEL);
	if (!peer)
		return -ENOMEM;
	kref_init(&peer->kref);
	peer->tr = tr;
	peer->node = node;
	peer->addr = *addr;
	peer->connector = tr->node_id < node;
	peer->backoff_ms = tr->backoff_min_ms;
	INIT_DELAYED_WORK(&peer->reconnect, prbd_tr_reconnect_work);

	mutex_lock(&tr->cfg_mutex);
	spin_lock_bh(&tr->lock);
	if (tr->peers[node]) {
		err = -EEXIST;
	} else {
		tr->peers[node] = peer;
		if (peer->connector)
			queue_delayed_work(tr->wq, &peer->reconnect, 0);
	}
	spin_unlock_bh(&tr->lock);
	mutex_unlock(&tr->cfg_mutex);
	if (err)
		kfree(peer);
	return err;
}

/* Removes the peer; returns after its connection has been torn down. */
void prbd_tr_del_peer(struct prbd_tr *tr, u32 node)
{
	struct prbd_tr_peer *peer;
	struct prbd_tr_conn *conn;

	if (node == 0 || node > PRBD_WIRE_MAX_NODE)
		return;
	mutex_lock(&tr->cfg_mutex);
	spin_lock_bh(&tr->lock);
	peer = tr->peers[node];
	if (!peer) {
		spin_unlock_bh(&tr->lock);
		mutex_unlock(&tr->cfg_mutex);
		return;
	}
	tr->peers[node] = NULL;
	peer->deleted = true;
	conn = peer->conn;
	if (conn)
		prbd_tr_conn_kill(conn);
	spin_unlock_bh(&tr->lock);
	cancel_delayed_work_sync(&peer->reconnect);
	flush_workqueue(tr->wq);	/* the connection's teardown */
	mutex_unlock(&tr->cfg_mutex);
	kref_put(&peer->kref, prbd_tr_peer_release);
}

void prbd_tr_destroy(struct prbd_tr *tr)
{
	struct prbd_tr_conn *conn;
	unsigned int i;

	if (!tr)
		return;
	mutex_lock(&tr->cfg_mutex);
	spin_lock_bh(&tr->lock);
	tr->stopping = true;
	spin_unlock_bh(&tr->lock);
	prbd_tr_unlisten(tr);
	for (i = 1; i <= PRBD_WIRE_MAX_NODE; i++)
		if (tr->peers[i])
			cancel_delayed_work_sync(&tr->peers[i]->reconnect);
	spin_lock_bh(&tr->lock);
	for (i = 1; i <= PRBD_WIRE_MAX_NODE; i++)
		if (tr->peers[i] && tr->peers[i]->conn)
			prbd_tr_conn_kill(tr->peers[i]->conn);
	list_for_each_entry(conn, &tr->pending, pending)
		prbd_tr_conn_kill(conn);
	spin_unlock_bh(&tr->lock);
	wait_event(tr->conn_wq, !atomic_read(&tr->nr_conns));
	destroy_workqueue(tr->wq);
	for (i = 1; i <= PRBD_WIRE_MAX_NODE; i++) {
		if (tr->peers[i])
			kref_put(&tr->peers[i]->kref, prbd_tr_peer_release);
		tr->peers[i] = NULL;
	}
	mutex_unlock(&tr->cfg_mutex);
	pr_info("%s: transport stopped\n", tr->name);
	kref_put(&tr->kref, prbd_tr_release);
}

int prbd_tr_peer_stats(struct prbd_tr *tr, u32 node, struct prbd_tr_stats *st)
{
	struct prbd_tr_peer *peer;
	int err = -ENOENT;

	if (node == 0 || node > PRBD_WIRE_MAX_NODE)
		return -EINVAL;
	spin_lock_bh(&tr->lock);
	peer = tr->peers[node];
	if (peer) {
		*st = peer->st;
		st->sndq_bytes = 0;
		if (peer->conn) {
			spin_lock(&peer->conn->tx_lock);
			st->sndq_bytes = peer->conn->txq_bytes;
			spin_unlock(&peer->conn->tx_lock);
		}
		err = 0;
	}
	spin_unlock_bh(&tr->lock);
	return err;
}

u64 prbd_tr_unauth_drops(struct prbd_tr *tr)
{
	return atomic64_read(&tr->unauth_drops);
}

void prbd_tr_fwd_stats(struct prbd_tr *tr, u64 *sent, u64 *fails)
{
	*sent = atomic64_read(&tr->fwd_sent);
	*fails = atomic64_read(&tr->fwd_fails);
}
