/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: the wire protocol - the framing of the transport
 * (kmod/prbd_transport.c) and, at the end, the headers of the frames its
 * users send (replication, resync and verify, membership).
 *
 * Every message is one frame:
 *
 *	struct prbd_wire_frame	80 bytes, fixed
 *	header bytes		hdr_len bytes (<= PRBD_WIRE_MAX_HDR)
 *	payload bytes		payload_len bytes (<= PRBD_WIRE_MAX_PAYLOAD)
 *
 * frame_crc is crc32c over the 80 frame bytes with frame_crc itself zero,
 * so lengths are trusted before anything else is read; hdr_crc covers the
 * header bytes, payload_crc the payload bytes.  The payload's crc does not
 * depend on the header, so a leader computes it once for all followers and
 * a relaying follower forwards it unchanged.  Every crc32c starts at ~0 and
 * is stored inverted (the usual convention; an empty part has crc 0).
 * Multi-byte fields are little-endian except the magic (big-endian, so it
 * reads "PRBD" in a packet dump).
 *
 * Connection setup (types below PRBD_WIRE_T_USER, header bytes only):
 *
 *	connector			acceptor
 *	HELLO(nonce_c)		-->
 *				<--	HELLO_ACK(nonce_a, mac_a)
 *	AUTH(mac_c)		-->
 *				<--	AUTH_OK
 *
 *	mac_a = HMAC-SHA256(secret, "prbd-acc" | uuid | con_id | acc_id |
 *			    nonce_c | nonce_a)
 *	mac_c = HMAC-SHA256(secret, "prbd-con" | uuid | con_id | acc_id |
 *			    nonce_c | nonce_a)
 *
 * (ids as __le32).  Either side may answer REJECT(reason) instead and close.
 * The node with the lower id is the connector.
 *
 * Relaying (version 2): origin is the node that created a message, sender
 * the node that wrote it on this connection; dest_mask has bit n set for
 * every node the message is meant for.  A leader sends one payload (DATA
 * frame) to follower A with PRBD_WIRE_F_FORWARD, dest_mask = {A, B} and
 * ttl = 1; A re-sends the same frame to B with sender = A, ttl = 0 and
 * dest_mask = {B}, payload pages straight from its receive buffer and
 * payload_crc unchanged, then delivers it locally
 * (prbd_tr_send_relay(), prbd_tr_forward()).  A receiver refuses a frame
 * whose sender is not the peer, that is not addressed to it, with ttl > 1,
 * ttl 1 without F_FORWARD or from another origin, or relayed from its own
 * or an invalid origin; the replication layer accepts only DATA frames
 * relayed (a receiver drops a copy that reached it twice by payload id).
 * seq numbers the frames a node writes.
 *
 * Authentication of every frame (version 3).  The handshake proves that
 * both ends know the secret; from then on each frame carries a keyed MAC,
 * so that nobody on the path can inject, alter, replay, reorder or drop a
 * frame unnoticed (the crcs only catch accidents: anyone can recompute
 * them).  Keys, 32 bytes each, derived with the handshake's HMAC:
 *
 *	k_con = HMAC-SHA256(secret, "prbd-kcn" | uuid | con_id | acc_id |
 *			    nonce_c | nonce_a)	connector -> acceptor
 *	k_acc = the same with "prbd-kac"	acceptor -> connector
 *	k_pay = the same with "prbd-kpl", ids 0, nonces zero: the group's
 *		payload key, the same on every node
 *
 *	ptag = SipHash-2-4-128(k_pay[0..15], payload)	(zero without
 *		payload; BLAKE2s-128(k_pay, payload) before version 5: see
 *		prbd_siphash.h)
 *	mac  = BLAKE2s-128(k_dir, le64 n | frame with frame_crc and mac
 *			    zero | header)
 *
 * n counts the frames written on this connection in this direction since
 * the handshake (the first is 0): a frame replayed, reordered or dropped
 * fails the next check.  ptag is inside the frame, so the mac covers the
 * payload through it; like payload_crc it does not depend on the header or
 * the connection, so a leader computes it once for all followers and a
 * relaying follower forwards it unchanged (it is a member: it knows the
 * secret anyway; Paxos does not survive a byzantine member in any case).
 * frame_crc is computed last, over the mac too.
 * Handshake frames carry zero ptag and mac.  An empty secret gives keys
 * anyone can compute: integrity against accidents only.
 */

#ifndef PRBD_WIRE_H
#define PRBD_WIRE_H

#include <linux/types.h>

#include "paxos/prbd_paxos.h"	/* PRBD_PX_BATCH */

#define PRBD_WIRE_MAGIC		0x50524244	/* "PRBD" */
#define PRBD_WIRE_VERSION	5		/* 2: payload relay, 3: frame MACs,
						 * 4: flush mode (struct prbd_wire_px),
						 * 5: SipHash payload tags
						 */
#define PRBD_WIRE_MAX_NODE	31		/* node ids are 1..31 */
#define PRBD_WIRE_MAX_HDR	4096
#define PRBD_WIRE_MAX_PAYLOAD	(1024 * 1024 + 64 * 1024)
#define PRBD_WIRE_UUID_LEN	16
#define PRBD_WIRE_NONCE_LEN	32
#define PRBD_WIRE_MAC_LEN	32		/* HMAC-SHA256 */
#define PRBD_WIRE_TAG_LEN	16		/* ptag (SipHash-2-4-128), mac
						 * (BLAKE2s-128)
						 */

/* struct prbd_wire_frame.flags */
#define PRBD_WIRE_F_FORWARD	0x01	/* relay to the other nodes of dest_mask */
#define PRBD_WIRE_F_KNOWN	PRBD_WIRE_F_FORWARD

/* struct prbd_wire_frame.type */
enum prbd_wire_type {
	PRBD_WIRE_T_HELLO	= 1,	/* struct prbd_wire_hello */
	PRBD_WIRE_T_HELLO_ACK	= 2,	/* struct prbd_wire_hello_ack */
	PRBD_WIRE_T_AUTH	= 3,	/* struct prbd_wire_auth */
	PRBD_WIRE_T_AUTH_OK	= 4,	/* no header */
	PRBD_WIRE_T_REJECT	= 5,	/* struct prbd_wire_reject */
	PRBD_WIRE_T_PING	= 6,	/* no header; sent when idle */
	PRBD_WIRE_T_USER	= 64,	/* first type of the transport's users */
};

/* struct prbd_wire_reject.reason */
enum prbd_wire_reject_reason {
	PRBD_WIRE_R_VERSION	= 1,	/* no common protocol version */
	PRBD_WIRE_R_CLUSTER	= 2,	/* cluster UUID differs */
	PRBD_WIRE_R_NODE	= 3,	/* node id unknown or not addressed to us */
	PRBD_WIRE_R_DUP_NODE	= 4,	/* node id in use: own id, other address */
	PRBD_WIRE_R_AUTH	= 5,	/* challenge-response failed */
	PRBD_WIRE_R_PROTO	= 6,	/* unexpected message */
};

/**
 * struct prbd_wire_frame - the fixed part of every frame (80 bytes)
 * @magic: PRBD_WIRE_MAGIC
 * @version: PRBD_WIRE_VERSION
 * @flags: PRBD_WIRE_F_*
 * @type: enum prbd_wire_type, or >= PRBD_WIRE_T_USER
 * @origin: node that created the message
 * @sender: node that wrote this frame on this connection
 * @ttl: relay hops left (0: do not forward)
 * @reserved: zero
 * @dest_mask: bit n set: node n is a destination
 * @hdr_len: header bytes following the frame
 * @payload_len: payload bytes following the header
 * @seq: per-origin sequence number
 * @hdr_crc: crc32c over the header bytes
 * @payload_crc: crc32c over the payload bytes
 * @frame_crc: crc32c over this struct with @frame_crc zero
 * @reserved2: zero
 * @ptag: the payload's tag (see "Authentication"), zero without payload
 * @mac: the frame's MAC (see "Authentication"), zero in the handshake
 */
struct prbd_wire_frame {
	__be32 magic;
	__u8 version;
	__u8 flags;
	__le16 type;
	__u8 origin;
	__u8 sender;
	__u8 ttl;
	__u8 reserved;
	__le32 dest_mask;
	__le32 hdr_len;
	__le32 payload_len;
	__le64 seq;
	__le32 hdr_crc;
	__le32 payload_crc;
	__le32 frame_crc;
	__le32 reserved2;
	__u8 ptag[PRBD_WIRE_TAG_LEN];
	__u8 mac[PRBD_WIRE_TAG_LEN];
} __packed;

/**
 * struct prbd_wire_hello - HELLO (and first part of HELLO_ACK)
 * @min_version: lowest protocol version spoken
 * @max_version: highest protocol version spoken
 * @node_id: the sender's node id
 * @peer_id: the node id the sender wants to reach
 * @features: zero for now
 * @cluster_uuid: the sender's cluster UUID
 * @nonce: random challenge
 */
struct prbd_wire_hello {
	__le16 min_version;
	__le16 max_version;
	__le32 node_id;
	__le32 peer_id;
	__le32 features;
	__u8 cluster_uuid[PRBD_WIRE_UUID_LEN];
	__u8 nonce[PRBD_WIRE_NONCE_LEN];
} __packed;

/**
 * struct prbd_wire_hello_ack - the acceptor's answer to HELLO
 * @hello: the acceptor's hello (its own nonce)
 * @mac: mac_a, proves the acceptor knows the secret
 */
struct prbd_wire_hello_ack {
	struct prbd_wire_hello hello;
	__u8 mac[PRBD_WIRE_MAC_LEN];
} __packed;

/**
 * struct prbd_wire_auth - the connector's proof
 * @mac: mac_c
 */
struct prbd_wire_auth {
	__u8 mac[PRBD_WIRE_MAC_LEN];
} __packed;

/**
 * struct prbd_wire_reject - why a connection is refused
 * @reason: enum prbd_wire_reject_reason
 */
struct prbd_wire_reject {
	__le32 reason;
} __packed;

/*
 * The frames of the transport's users: replication (prbd_repl.c), resync
 * and verify (prbd_resync.c, prbd_verify.c), membership (prbd_member.c).  A frame's type
 * says which header follows it.
 */
enum {
	PRBD_MSG_DATA = 64,	/* PRBD_WIRE_T_USER */
	PRBD_MSG_PAXOS,
	PRBD_MSG_XFER,
	PRBD_MSG_RS,
	PRBD_MSG_MEMBER,	/* struct prbd_wire_member (prbd_member.c) */
	PRBD_MSG_PLREQ,		/* "send me this payload again" (prbd_repl.c) */
	PRBD_MSG_PREAD,		/* a read served by the leader (prbd_pread.c) */
	PRBD_MSG_PLGONE,	/* reply to PLREQ: "gone here too" (prbd_repl.c) */
};

/* PRBD_MSG_DATA, PAXOS, PLREQ, XFER (prbd_repl.c) */
struct prbd_wire_data {
	__le64 id;
	__le64 sector;
	__le32 len;
	__le32 csum;
};

struct prbd_wire_px_desc {
	__le64 id;
	__le64 sector;
	__le32 len;
	__le32 csum;
	__le32 op;		/* PRBD_LOG_OP_* */
	__le32 pad;
};

struct prbd_wire_px_ent {
	__le64 slot;
	__le64 ballot;
	__u8 kind;
	__u8 n_desc;
	__u8 chosen;
	__u8 pad;
	__le16 voters;
	__le16 learners;
	struct prbd_wire_px_desc desc[PRBD_PX_BATCH];
};

/*
 * PRBD_MSG_PAXOS header: one struct prbd_px_msg, field by field (see
 * paxos/prbd_paxos.h), then n_ent entries.  Version 4 appended @epoch and
 * @erank, which every message of the core carries (its epoch and that
 * epoch's rank, see "Flush mode" in paxos/prbd_paxos.c), and carries
 * flush mode's FLUSH and FLUSH_R (no entries; ballot, slot = the barrier's
 * slot or the acceptor's frontier, aux = the round) and the P1B flag
 * PRBD_PX_F_SUSPECT.  The receiver (prbd_repl_decode()) refuses them, and
 * an epoch other than 0, unless its resource runs durability = flush: a
 * group runs one durability, and a strict node takes nothing of an epoch
 * it never has.  Version 3 nodes are refused at the handshake (the header
 * grew by 16 bytes; see README "Upgrading the module").
 */
struct prbd_wire_px {
	__u8 type;
	__u8 from;
	__u8 to;
	__u8 flags;
	__u8 n_ent;
	__u8 pad[3];
	__le64 ballot;
	__le64 slot;
	__le64 commit;
	__le64 aux;
	__le64 aux2;
	__le64 epoch;		/* v4: 0 in strict mode */
	__le64 erank;		/* v4: >= epoch when epoch is not 0 */
	struct prbd_wire_px_ent ent[];
};

/* The prbd_px_msg flags a PRBD_MSG_PAXOS header may carry. */
#define PRBD_WIRE_PX_F_KNOWN	(PRBD_PX_F_NACK | PRBD_PX_F_TRANSFER |	\
				 PRBD_PX_F_RESYNC | PRBD_PX_F_NOVOTE |	\
				 PRBD_PX_F_NOPROMISE | PRBD_PX_F_LOGFULL | \
				 PRBD_PX_F_SUSPECT)

struct prbd_wire_plreq {
	__le64 slot;
	__le64 id;
	__le64 sector;
	__le32 csum;
	__le32 pad;
};

/*
 * PRBD_MSG_PLGONE: the leader has the payload a PLREQ asked for neither in
 * its cache nor in its log (released: the asker lagged past the retained
 * log).  @log_start is the leader's first retained slot: the asker resyncs
 * to at least the slot before it.  Added within wire version 4: a module
 * without it logs an unknown type and goes on asking, as before.
 */
struct prbd_wire_plgone {
	__le64 slot;
	__le64 id;
	__le64 log_start;
};

#define PRBD_XFER_F_REFUSED	0x01	/* reply: the leader is primary */

struct prbd_wire_xfer {
	__u8 target;
	__u8 flags;
	__u8 pad[6];
};

/*
 * PRBD_MSG_PREAD header (prbd_pread.c): a node whose data area is not
 * whole asks the leader for [sector << 9, + len) (REQ, no payload); the
 * leader answers DATA with @id, @sector and @len echoed and the bytes as
 * payload (status OK), or without payload and a PRBD_PREAD_E_* status.
 * Like every frame since wire version 3 it carries the frame MAC and, with
 * a payload, its ptag (prbd_tr_send()).  A version 3 peer that predated
 * this type dropped the frame and logged "bad message type 70": the asker
 * got no answer and failed the read with EIO after PRBD_PR_GIVEUP_MS.
 */
enum {
	PRBD_PREAD_REQ = 1,	/* asker -> leader */
	PRBD_PREAD_DATA,	/* leader -> asker: the bytes, or a status */
};

enum {
	PRBD_PREAD_OK = 0,
	PRBD_PREAD_E_NOT_LEADER,	/* ask the leader (again) */
	PRBD_PREAD_E_INCONSISTENT,	/* this node's copy is not whole */
	PRBD_PREAD_E_BUSY,		/* no memory, too many, or no lease yet */
	PRBD_PREAD_E_IO,		/* the data-area read failed */
	PRBD_PREAD_E_MAX = PRBD_PREAD_E_IO,
};

struct prbd_wire_pread {
	__u8 op;
	__u8 pad;
	__le16 status;		/* DATA */
	__le32 len;		/* bytes */
	__le64 id;		/* the asker's request id */
	__le64 sector;		/* 512-byte sectors of the device */
	__le64 slot;		/* DATA: the state after this slot */
};

/*
 * PRBD_MSG_MEMBER header.  DEL: the sender, leader, hands leadership to
 * the receiver (a TIMEOUT_NOW of the core follows) and asks it to remove
 * @node (the sender) from the group once it leads.  REMOVED: the leader
 * tells @node that the configuration entry at @slot removed it.
 */
enum {
	PRBD_MEMBER_OP_DEL = 1,
	PRBD_MEMBER_OP_REMOVED = 2,
};

struct prbd_wire_member {
	__u8 op;
	__u8 node;
	__u8 pad[6];
	__le64 slot;
};

/* struct prbd_wire_rs.op */
enum {
	PRBD_RS_BEGIN = 1,	/* T -> S: I resync from you */
	PRBD_RS_BEGIN_R,	/* S -> T: install slot, configuration */
	PRBD_RS_MAP_REQ,	/* T -> S: bitmap of chunks [off, off + len) */
	PRBD_RS_MAP,		/* S -> T: payload = bitmap, LSB first */
	PRBD_RS_REQ,		/* T -> S: bytes [off, off + len) */
	PRBD_RS_DATA,		/* S -> T: payload = the bytes, as of slot */
	PRBD_RS_CRC_REQ,	/* verifier -> peer: crcs of [off, off + len) */
	PRBD_RS_CRC,		/* peer -> verifier: crc[] per 4 KiB */
	PRBD_RS_REPAIR,		/* any -> T: resync [off, off + len) */
	PRBD_RS_OP_MAX = PRBD_RS_REPAIR,
};

/* struct prbd_wire_rs.status of replies */
enum {
	PRBD_RS_OK = 0,
	PRBD_RS_E_NOT_LEADER,	/* BEGIN: ask the leader */
	PRBD_RS_E_INCONSISTENT,	/* the asked node's data is not whole */
	PRBD_RS_E_GEOMETRY,	/* data size or chunk size differ */
	PRBD_RS_E_NOMEM,
	PRBD_RS_E_MAX = PRBD_RS_E_NOMEM,
};

#define PRBD_RS_F_FULL		0x01	/* every chunk (BEGIN, MAP_REQ) */
/*
 * BEGIN: answer even if you do not lead, if you are whole and of epoch
 * @slot (flush mode: a reset, or a copy while no leader can be elected;
 * @mapval: the rank the asker knows); BEGIN_R: so answered, @done: the
 * answerer's epoch, @total: its rank.
 */
#define PRBD_RS_F_EPOCH		0x02
#define PRBD_RS_F_KNOWN		(PRBD_RS_F_FULL | PRBD_RS_F_EPOCH)

/*
 * struct prbd_wire_rs - header of every resync and verify message
 * (frame type PRBD_MSG_RS); little-endian.  Replies echo gen, off, len.
 */
struct prbd_wire_rs {
	__u8 op;
	__u8 flags;
	__le16 status;
	__le32 gen;		/* the asker's run */
	__le64 off;		/* bytes; MAP: first chunk */
	__le32 len;		/* bytes; MAP: chunks */
	__le32 chunk_shift;	/* BEGIN, BEGIN_R: the sender's map geometry */
	__le64 data_size;	/* BEGIN, BEGIN_R */
	__le64 from;		/* BEGIN, MAP_REQ: copy chunks written after */
	__le64 slot;		/* BEGIN_R: install slot; DATA, CRC: as of */
	__le64 mapval;		/* DATA: S's entry; BEGIN_R: config slot */
	__le64 done, total;	/* REQ: the target's progress, bytes */
	__le64 rate;		/* REQ: bytes/s */
	__le16 voters, learners;	/* BEGIN_R */
	__le32 n_crc;		/* CRC: entries in crc[] */
	__le32 crc[];		/* CRC */
};

#endif /* PRBD_WIRE_H */
