/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: the transport - framed, authenticated messages between the nodes of
 * one resource over in-kernel TCP sockets (wire format: prbd_wire.h).
 *
 * One struct prbd_tr per resource: a listening socket and one connection
 * per peer.  The node with the lower id connects, the higher one accepts;
 * a new authenticated connection from a peer replaces its old one (the peer
 * restarted).  Connections are re-established with exponential backoff.
 *
 * Context: the callbacks run in process context on the transport's
 * workqueue (WQ_MEM_RECLAIM), in a memalloc_noio scope; for one connection
 * they never run concurrently.  prbd_tr_send() may be called from any
 * context except hard irq (it takes a spinlock with _bh, never sleeps).
 * prbd_tr_create/destroy/add_peer/del_peer sleep and must not be called
 * from the callbacks.
 *
 * Locking order: prbd_tr.cfg_mutex -> prbd_tr.lock -> conn tx_lock;
 * sk->sk_callback_lock is only taken alone.
 */

#ifndef PRBD_TRANSPORT_H
#define PRBD_TRANSPORT_H

#include <linux/bvec.h>
#include <linux/refcount.h>
#include <linux/socket.h>
#include <linux/types.h>

#include "prbd_wire.h"

struct prbd_tr;

/**
 * struct prbd_tr_buf - a received payload, in pages from the transport's
 * mempool; valid during the recv callback (a relay holds a reference longer)
 * @ref: reference count
 * @tr: owner (holds a reference on it)
 * @len: payload bytes
 * @nr_bvec: entries used in @bvec (one page each)
 * @bvec: the pages
 */
struct prbd_tr_buf {
	refcount_t ref;
	struct prbd_tr *tr;
	u32 len;
	u32 nr_bvec;
	struct bio_vec bvec[];
};

/**
 * struct prbd_tr_rx - one received message, for the recv callback
 * @from: node the frame came from (the connection's peer)
 * @origin: node that created it (!= @from: @from relayed it)
 * @type: message type, >= PRBD_WIRE_T_USER
 * @flags: PRBD_WIRE_F_*
 * @dest_mask: destinations, bit n for node n
 * @seq: the origin's sequence number
 * @hdr: header bytes, valid during the callback only
 * @hdr_len: bytes in @hdr
 * @payload: payload or NULL; see struct prbd_tr_buf
 * @payload_len: payload bytes
 */
struct prbd_tr_rx {
	u32 from;
	u32 origin;
	u16 type;
	u8 flags;
	u32 dest_mask;
	u64 seq;
	const void *hdr;
	u32 hdr_len;
	struct prbd_tr_buf *payload;
	u32 payload_len;
};

/**
 * struct prbd_tr_ops - callbacks (process context, see above)
 * @recv: a message arrived intact from an authenticated peer
 * @peer_state: the connection to @node is up (authenticated) or down
 */
struct prbd_tr_ops {
	void (*recv)(void *ctx, const struct prbd_tr_rx *rx);
	void (*peer_state)(void *ctx, u32 node, bool up);
};

/**
 * struct prbd_tr_params - arguments of prbd_tr_create()
 * @name: for log messages and the workqueue name (the resource name)
 * @net: network namespace, NULL for init_net
 * @node_id: local node id, 1..PRBD_WIRE_MAX_NODE
 * @cluster_uuid: PRBD_WIRE_UUID_LEN bytes
 * @secret: shared secret (may be empty: then only the UUID is checked)
 * @secret_len: bytes in @secret
 * @listen: local address and port to listen on (AF_INET or AF_INET6)
 * @ping_ms: send a PING after this much idle time (0: 1000)
 * @timeout_ms: drop a connection silent this long (0: 5000); also the
 *		TCP user timeout and the connect+handshake deadline
 * @backoff_min_ms: first reconnect delay (0: 100)
 * @backoff_max_ms: reconnect delay cap (0: 5000)
 * @sndq_bytes: per-peer send queue bound in bytes (0: 8 MiB)
 */
struct prbd_tr_params {
	const char *name;
	struct net *net;
	u32 node_id;
	const u8 *cluster_uuid;
	const u8 *secret;
	u32 secret_len;
	struct sockaddr_storage listen;
	u32 ping_ms;
	u32 timeout_ms;
	u32 backoff_min_ms;
	u32 backoff_max_ms;
	u32 sndq_bytes;
};

/**
 * struct prbd_tr_stats - counters of one peer (prbd_tr_peer_stats())
 */
struct prbd_tr_stats {
	bool up;
	u64 connects;		/* connection attempts (connector) / accepts */
	u64 ups;		/* handshakes completed */
	u64 downs;		/* authenticated connections lost */
	u64 tx_msgs, tx_bytes, rx_msgs, rx_bytes;
	u64 rejects;		/* handshakes refused (by either side) */
	u64 proto_errors;	/* bad frames, timeouts, resets */
	u32 sndq_bytes;		/* queued now */
};

struct prbd_tr *prbd_tr_create(const struct prbd_tr_params *p,
			       const struct prbd_tr_ops *ops, void *ctx);
void prbd_tr_destroy(struct prbd_tr *tr);
int prbd_tr_add_peer(struct prbd_tr *tr, u32 node,
		     const struct sockaddr_storage *addr);
void prbd_tr_del_peer(struct prbd_tr *tr, u32 node);

/*
 * prbd_tr_send() queues one message for @node and returns at once:
 *   0        queued; done(arg, err) will be called exactly once, from the
 *            workqueue: err 0 when the whole frame is in the socket, or
 *            -ENOTCONN when the connection went down first
 *   -ENOTCONN  the peer is not connected (authenticated) now
 *   -ENOBUFS   the peer's send queue holds params.sndq_bytes already
 *   -ENOMEM    no memory for the message descriptor (GFP_NOWAIT + mempool)
 *   -EINVAL    bad node, type < PRBD_WIRE_T_USER, lengths over the limits,
 *              or the bio_vecs do not add up to @payload_len
 * @hdr is copied; the @payload bio_vecs (multi-page ones are fine) and
 * their pages are used in place until done(): the pages are sent zero-copy
 * (sendpage), so TCP may still read them for a retransmission after done().
 * A page modified by then makes the receiver's crc or tag check fail, which
 * drops and re-establishes the connection - it is never delivered
 * corrupted.
 * Messages to one peer are delivered in order, each once, or not at all
 * after a connection loss (the caller retransmits, e.g. Paxos).
 */
typedef void (*prbd_tr_done_t)(void *arg, int err);

int prbd_tr_send(struct prbd_tr *tr, u32 node, u16 type, const void *hdr,
		 u32 hdr_len, const struct bio_vec *payload,
		 unsigned int nr_bvec, u32 payload_len, prbd_tr_done_t done,
		 void *arg);
/*
 * The same with the payload's crc (and tag, unless NULL) computed by the
 * caller, once for all the peers it sends the payload to.
 */
int prbd_tr_send_crc(struct prbd_tr *tr, u32 node, u16 type, const void *hdr,
		     u32 hdr_len, const struct bio_vec *payload,
		     unsigned int nr_bvec, u32 payload_len, u32 payload_crc,
		     const u8 *payload_tag, prbd_tr_done_t done, void *arg);
/*
 * The same, and the peer forwards the frame (payload pages from its
 * receive buffer, crc unchanged) to the nodes of @relay: the leader sends
 * a write's payload once for two followers.  Best effort: a node of
 * @relay the peer cannot reach does not get it.
 */
int prbd_tr_send_relay(struct prbd_tr *tr, u32 node, u32 relay, u16 type,
		       const void *hdr, u32 hdr_len,
		       const struct bio_vec *payload, unsigned int nr_bvec,
		       u32 payload_len, u32 payload_crc, const u8 *payload_tag,
		       prbd_tr_done_t done, void *arg);
u32 prbd_tr_payload_crc(const struct bio_vec *payload, unsigned int nr_bvec,
			u32 payload_len);
/*
 * The payload's tag (PRBD_WIRE_TAG_LEN bytes, see "Authentication" in
 * prbd_wire.h) for prbd_tr_send_crc() and prbd_tr_send_relay(): NULL there
 * computes it per message; a caller sending one payload to several peers
 * computes it once.
 */
int prbd_tr_selftest(void);
void prbd_tr_payload_tag(struct prbd_tr *tr, const struct bio_vec *payload,
			 unsigned int nr_bvec, u32 payload_len, u8 *tag);
int prbd_tr_peer_stats(struct prbd_tr *tr, u32 node,
		       struct prbd_tr_stats *st);
u64 prbd_tr_unauth_drops(struct prbd_tr *tr);
void prbd_tr_fwd_stats(struct prbd_tr *tr, u64 *sent, u64 *fails);

#endif /* PRBD_TRANSPORT_H */
