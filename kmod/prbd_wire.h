/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: on-the-wire framing of the transport (kmod/prbd_transport.c).
 *
 * Every message is one frame:
 *
 *	struct prbd_wire_frame	48 bytes, fixed
 *	header bytes		hdr_len bytes (<= PRBD_WIRE_MAX_HDR)
 *	payload bytes		payload_len bytes (<= PRBD_WIRE_MAX_PAYLOAD)
 *
 * frame_crc is crc32c over the 48 frame bytes with frame_crc itself zero,
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
 * Relaying (not implemented yet, fields reserved and checked): origin is the
 * node that created a message, sender the node that wrote it on this
 * connection; dest_mask has bit n set for every node the message is meant
 * for.  A leader can send one Accept+payload to follower A with
 * PRBD_WIRE_F_FORWARD, dest_mask = {A, B} and ttl = 1; A delivers it
 * locally and re-sends the same frame to B with sender = A, ttl = 0 and
 * dest_mask = {B}, payload pages straight from its receive buffer and
 * payload_crc unchanged.  seq is per origin and lets a receiver drop a copy
 * that reached it twice.  Today a receiver refuses frames whose origin or
 * sender is not the peer, or that are not addressed to it.
 */

#ifndef PRBD_WIRE_H
#define PRBD_WIRE_H

#include <linux/types.h>

#define PRBD_WIRE_MAGIC		0x50524244	/* "PRBD" */
#define PRBD_WIRE_VERSION	1
#define PRBD_WIRE_MAX_NODE	31		/* node ids are 1..31 */
#define PRBD_WIRE_MAX_HDR	4096
#define PRBD_WIRE_MAX_PAYLOAD	(1024 * 1024 + 64 * 1024)
#define PRBD_WIRE_UUID_LEN	16
#define PRBD_WIRE_NONCE_LEN	32
#define PRBD_WIRE_MAC_LEN	32		/* HMAC-SHA256 */

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
 * struct prbd_wire_frame - the fixed part of every frame (48 bytes)
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

#endif /* PRBD_WIRE_H */
