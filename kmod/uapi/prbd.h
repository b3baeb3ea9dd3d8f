/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * prbd generic netlink UAPI, shared by the kernel module, prbdctl and BPF.
 *
 * Documentation/netlink/specs/prbd.yaml is the authoritative description;
 * tools/nlspec/check.py verifies that every name and value in this file
 * matches it.  Numbering is append-only.
 */

#ifndef _UAPI_LINUX_PRBD_H
#define _UAPI_LINUX_PRBD_H

#define PRBD_FAMILY_NAME	"prbd"
#define PRBD_FAMILY_VERSION	1

#define PRBD_NAME_SIZE		64
#define PRBD_MINOR_MAX		1023
#define PRBD_NODE_ID_MAX	31
#define PRBD_MAX_PEERS		15
#define PRBD_SECRET_MAX_LEN	64
#define PRBD_UUID_LEN		16
#define PRBD_PATH_MAX		4096

/* Role of the local node for the exported block device. */
enum prbd_role {
	PRBD_ROLE_SECONDARY,
	PRBD_ROLE_PRIMARY,

	/* private: */
	__PRBD_ROLE_MAX,
	PRBD_ROLE_MAX = (__PRBD_ROLE_MAX - 1)
};

/* Role of the local node in Multi-Paxos. */
enum prbd_paxos_role {
	PRBD_PAXOS_ROLE_NONE,
	PRBD_PAXOS_ROLE_FOLLOWER,
	PRBD_PAXOS_ROLE_CANDIDATE,
	PRBD_PAXOS_ROLE_LEADER,
	PRBD_PAXOS_ROLE_LEARNER,

	/* private: */
	__PRBD_PAXOS_ROLE_MAX,
	PRBD_PAXOS_ROLE_MAX = (__PRBD_PAXOS_ROLE_MAX - 1)
};

/* Administrative state of a resource. */
enum prbd_res_state {
	PRBD_RES_STATE_DOWN,
	PRBD_RES_STATE_UP,

	/* private: */
	__PRBD_RES_STATE_MAX,
	PRBD_RES_STATE_MAX = (__PRBD_RES_STATE_MAX - 1)
};

/* State of the local backing device. */
enum prbd_disk_state {
	PRBD_DISK_STATE_DISKLESS,
	PRBD_DISK_STATE_ATTACHED,
	PRBD_DISK_STATE_FAILED,
	PRBD_DISK_STATE_OUTDATED,
	PRBD_DISK_STATE_INCONSISTENT,	/* resync target: data not usable yet */

	/* private: */
	__PRBD_DISK_STATE_MAX,
	PRBD_DISK_STATE_MAX = (__PRBD_DISK_STATE_MAX - 1)
};

/* State of the connection to a peer. */
enum prbd_conn_state {
	PRBD_CONN_STATE_STANDALONE,
	PRBD_CONN_STATE_CONNECTING,
	PRBD_CONN_STATE_CONNECTED,

	/* private: */
	__PRBD_CONN_STATE_MAX,
	PRBD_CONN_STATE_MAX = (__PRBD_CONN_STATE_MAX - 1)
};

/* Membership of a node in the Paxos configuration. */
enum prbd_member_role {
	PRBD_MEMBER_ROLE_VOTER,
	PRBD_MEMBER_ROLE_LEARNER,
	PRBD_MEMBER_ROLE_NONE,		/* known (address) but not a member:
					 * waits for node-add / learner-add
					 */

	/* private: */
	__PRBD_MEMBER_ROLE_MAX,
	PRBD_MEMBER_ROLE_MAX = (__PRBD_MEMBER_ROLE_MAX - 1)
};

/* What I/O does while no quorum is reachable. */
enum prbd_on_no_quorum {
	PRBD_ON_NO_QUORUM_BLOCK,
	PRBD_ON_NO_QUORUM_IO_ERROR,

	/* private: */
	__PRBD_ON_NO_QUORUM_MAX,
	PRBD_ON_NO_QUORUM_MAX = (__PRBD_ON_NO_QUORUM_MAX - 1)
};

/*
 * When a completed write is durable on a majority: strict, at completion
 * (every log record FUA); flush, only once a later flush (REQ_PREFLUSH or
 * FUA) completes, as DRBD's contract.  Flush needs the module parameter
 * experimental_flush=1 (not finished: see Documentation/prbd-write-path.rst).
 */
enum prbd_durability {
	PRBD_DURABILITY_STRICT,
	PRBD_DURABILITY_FLUSH,

	/* private: */
	__PRBD_DURABILITY_MAX,
	PRBD_DURABILITY_MAX = (__PRBD_DURABILITY_MAX - 1)
};

/* What this node knows of a peer's replica (the leader knows most). */
enum prbd_peer_sync {
	PRBD_PEER_SYNC_UNKNOWN,		/* not reported (we do not lead) */
	PRBD_PEER_SYNC_UP_TO_DATE,	/* applied what we committed */
	PRBD_PEER_SYNC_CATCHING_UP,	/* behind, learning from the log */
	PRBD_PEER_SYNC_RESYNCING,	/* bulk resync running, not voting */
	PRBD_PEER_SYNC_NEEDS_RESYNC,	/* behind the log, no resync yet */

	/* private: */
	__PRBD_PEER_SYNC_MAX,
	PRBD_PEER_SYNC_MAX = (__PRBD_PEER_SYNC_MAX - 1)
};

/* What a resync notification reports. */
enum prbd_resync_event {
	PRBD_RESYNC_EVENT_START,
	PRBD_RESYNC_EVENT_PROGRESS,
	PRBD_RESYNC_EVENT_FINISH,
	PRBD_RESYNC_EVENT_ABORT,	/* stopped; it restarts or resumes */

	/* private: */
	__PRBD_RESYNC_EVENT_MAX,
	PRBD_RESYNC_EVENT_MAX = (__PRBD_RESYNC_EVENT_MAX - 1)
};

/* What a verify notification reports. */
enum prbd_verify_event {
	PRBD_VERIFY_EVENT_START,
	PRBD_VERIFY_EVENT_DIVERGENT,	/* one range differs on one peer */
	PRBD_VERIFY_EVENT_FINISH,
	PRBD_VERIFY_EVENT_ABORT,	/* leadership or connection lost */

	/* private: */
	__PRBD_VERIFY_EVENT_MAX,
	PRBD_VERIFY_EVENT_MAX = (__PRBD_VERIFY_EVENT_MAX - 1)
};

/* What a configuration notification reports. */
enum prbd_config_event {
	PRBD_CONFIG_EVENT_CHOSEN,	/* this node knows the entry chosen */
	PRBD_CONFIG_EVENT_APPLIED,	/* its data path applied the entry */

	/* private: */
	__PRBD_CONFIG_EVENT_MAX,
	PRBD_CONFIG_EVENT_MAX = (__PRBD_CONFIG_EVENT_MAX - 1)
};

/* Where a membership change run by the leader stands. */
enum prbd_change_step {
	PRBD_CHANGE_STEP_NONE,
	PRBD_CHANGE_STEP_PROPOSE,	/* waiting for the pipeline to drain */
	PRBD_CHANGE_STEP_CHOOSE,	/* entry proposed, not chosen yet */
	PRBD_CHANGE_STEP_SYNC,		/* learner copying (node-add) */
	PRBD_CHANGE_STEP_HANDOVER,	/* leadership being transferred */

	/* private: */
	__PRBD_CHANGE_STEP_MAX,
	PRBD_CHANGE_STEP_MAX = (__PRBD_CHANGE_STEP_MAX - 1)
};

/* What a resource notification reports. */
enum prbd_event {
	PRBD_EVENT_CREATE,
	PRBD_EVENT_DESTROY,
	PRBD_EVENT_CHANGE,

	/* private: */
	__PRBD_EVENT_MAX,
	PRBD_EVENT_MAX = (__PRBD_EVENT_MAX - 1)
};

/* Top-level attributes of all commands and notifications. */
enum prbd_attr {
	PRBD_ATTR_PAD = 1,
	PRBD_ATTR_NAME,			/* string, < PRBD_NAME_SIZE */
	PRBD_ATTR_MINOR,		/* u32, <= PRBD_MINOR_MAX */
	PRBD_ATTR_NODE_ID,		/* u32, 1..PRBD_NODE_ID_MAX */
	PRBD_ATTR_CLUSTER_UUID,		/* binary, PRBD_UUID_LEN */
	PRBD_ATTR_SECRET,		/* binary, 1..PRBD_SECRET_MAX_LEN */
	PRBD_ATTR_ON_NO_QUORUM,		/* u32, enum prbd_on_no_quorum */
	PRBD_ATTR_BACKING_DEV,		/* string, < PRBD_PATH_MAX */
	PRBD_ATTR_FORCE,		/* flag */
	PRBD_ATTR_ROLE,			/* u32, enum prbd_role */
	PRBD_ATTR_PAXOS_ROLE,		/* u32, enum prbd_paxos_role */
	PRBD_ATTR_RES_STATE,		/* u32, enum prbd_res_state */
	PRBD_ATTR_DISK_STATE,		/* u32, enum prbd_disk_state */
	PRBD_ATTR_LEADER_ID,		/* u32 */
	PRBD_ATTR_BALLOT,		/* u64 */
	PRBD_ATTR_COMMIT_INDEX,		/* u64 */
	PRBD_ATTR_APPLIED_INDEX,	/* u64 */
	PRBD_ATTR_CONFIG_EPOCH,		/* u64 */
	PRBD_ATTR_SIZE,			/* u64, bytes */
	PRBD_ATTR_PEER,			/* nest, prbd_peer_attr, multi */
	PRBD_ATTR_CONFIG,		/* nest, prbd_config_attr */
	PRBD_ATTR_RESYNC,		/* nest, prbd_resync_attr */
	PRBD_ATTR_NEW_NODE_ID,		/* u32, 1..PRBD_NODE_ID_MAX */
	PRBD_ATTR_EVENT,		/* u32, enum prbd_event */
	PRBD_ATTR_LISTEN_ADDR4,		/* be32, local listen address */
	PRBD_ATTR_LISTEN_ADDR6,		/* binary, 16 bytes */
	PRBD_ATTR_LISTEN_PORT,		/* u16, host order, >= 1 */
	PRBD_ATTR_QUORUM,		/* u32, 1: a leader is reachable */
	PRBD_ATTR_RESYNC_RATE,		/* u32, KiB/s resync cap, 0: none */
	PRBD_ATTR_RANGE_START,		/* u64, bytes, block aligned */
	PRBD_ATTR_RANGE_LEN,		/* u64, bytes, block aligned, >= 1 */
	PRBD_ATTR_VERIFY,		/* nest, prbd_verify_attr */
	PRBD_ATTR_MEMBER_ROLE,		/* u32, enum prbd_member_role: the
					 * local node's role in the resource
					 * file (used while its disk has no
					 * configuration of its own)
					 */
	PRBD_ATTR_ALLOW_NO_SECRET,	/* flag, res-new: a group of several
					 * nodes may run without a secret
					 * (peers not authenticated)
					 */
	PRBD_ATTR_DURABILITY,		/* u32, enum prbd_durability: up
					 * (default strict), status
					 */

	__PRBD_ATTR_MAX,
	PRBD_ATTR_MAX = (__PRBD_ATTR_MAX - 1)
};

/* One peer (another node of the resource). */
enum prbd_peer_attr {
	PRBD_PEER_ATTR_PAD = 1,
	PRBD_PEER_ATTR_NODE_ID,		/* u32, 1..PRBD_NODE_ID_MAX */
	PRBD_PEER_ATTR_ADDR4,		/* be32 */
	PRBD_PEER_ATTR_ADDR6,		/* binary, 16 bytes */
	PRBD_PEER_ATTR_PORT,		/* u16, host order, >= 1 */
	PRBD_PEER_ATTR_CONN_STATE,	/* u32, enum prbd_conn_state */
	PRBD_PEER_ATTR_MEMBER_ROLE,	/* u32, enum prbd_member_role */
	PRBD_PEER_ATTR_MATCH_INDEX,	/* u64 */
	PRBD_PEER_ATTR_SYNC,		/* u32, enum prbd_peer_sync */
	PRBD_PEER_ATTR_RESYNC_DONE,	/* u64, bytes copied to it */
	PRBD_PEER_ATTR_RESYNC_TOTAL,	/* u64, bytes to copy in all */
	PRBD_PEER_ATTR_RESYNC_RATE,	/* u64, bytes/s recently */

	__PRBD_PEER_ATTR_MAX,
	PRBD_PEER_ATTR_MAX = (__PRBD_PEER_ATTR_MAX - 1)
};

/* The Paxos configuration (membership) in force. */
enum prbd_config_attr {
	PRBD_CONFIG_ATTR_PAD = 1,
	PRBD_CONFIG_ATTR_EPOCH,		/* u64 */
	PRBD_CONFIG_ATTR_VOTER,		/* u32, multi */
	PRBD_CONFIG_ATTR_LEARNER,	/* u32, multi */
	PRBD_CONFIG_ATTR_PENDING,	/* u64, leader: slot of the entry
					 * proposed and not chosen yet
					 */
	PRBD_CONFIG_ATTR_CHANGE,	/* u32, enum prbd_cmd: the change
					 * this node runs (leader)
					 */
	PRBD_CONFIG_ATTR_CHANGE_NODE,	/* u32, the node it changes */
	PRBD_CONFIG_ATTR_CHANGE_STEP,	/* u32, enum prbd_change_step */
	PRBD_CONFIG_ATTR_REMOVED,	/* u64, this node was removed from
					 * the group at that slot
					 */
	PRBD_CONFIG_ATTR_EVENT,		/* u32, enum prbd_config_event:
					 * config-ntf only
					 */

	__PRBD_CONFIG_ATTR_MAX,
	PRBD_CONFIG_ATTR_MAX = (__PRBD_CONFIG_ATTR_MAX - 1)
};

/* Progress of a resync. */
enum prbd_resync_attr {
	PRBD_RESYNC_ATTR_PAD = 1,
	PRBD_RESYNC_ATTR_PEER_NODE_ID,	/* u32 */
	PRBD_RESYNC_ATTR_DONE,		/* u64, bytes */
	PRBD_RESYNC_ATTR_TOTAL,		/* u64, bytes */
	PRBD_RESYNC_ATTR_EVENT,		/* u32, enum prbd_resync_event */
	PRBD_RESYNC_ATTR_RATE,		/* u64, bytes/s recently */

	__PRBD_RESYNC_ATTR_MAX,
	PRBD_RESYNC_ATTR_MAX = (__PRBD_RESYNC_ATTR_MAX - 1)
};

/* A verify run (status) or one of its events (notification). */
enum prbd_verify_attr {
	PRBD_VERIFY_ATTR_PAD = 1,
	PRBD_VERIFY_ATTR_EVENT,		/* u32, enum prbd_verify_event */
	PRBD_VERIFY_ATTR_PEER_NODE_ID,	/* u32, DIVERGENT: the peer */
	PRBD_VERIFY_ATTR_START,		/* u64, bytes: range of the run or
					 * of the divergent range
					 */
	PRBD_VERIFY_ATTR_LEN,		/* u64, bytes */
	PRBD_VERIFY_ATTR_CHECKED,	/* u64, bytes compared so far */
	PRBD_VERIFY_ATTR_DIVERGENT,	/* u64, bytes found divergent so far */
	PRBD_VERIFY_ATTR_RUNNING,	/* u32, status: 1 while running */

	__PRBD_VERIFY_ATTR_MAX,
	PRBD_VERIFY_ATTR_MAX = (__PRBD_VERIFY_ATTR_MAX - 1)
};

enum prbd_cmd {
	PRBD_CMD_RES_NEW = 1,
	PRBD_CMD_RES_DEL,
	PRBD_CMD_RES_GET,
	PRBD_CMD_RES_SET,
	PRBD_CMD_ATTACH,
	PRBD_CMD_DETACH,
	PRBD_CMD_UP,
	PRBD_CMD_DOWN,
	PRBD_CMD_PRIMARY,
	PRBD_CMD_SECONDARY,
	PRBD_CMD_PEER_ADD,
	PRBD_CMD_PEER_DEL,
	PRBD_CMD_NODE_ADD,
	PRBD_CMD_NODE_DEL,
	PRBD_CMD_NODE_REPLACE,
	PRBD_CMD_LEARNER_ADD,
	PRBD_CMD_LEADER_TRANSFER,
	PRBD_CMD_VERIFY,
	PRBD_CMD_RESYNC,
	PRBD_CMD_RES_NTF = 32,
	PRBD_CMD_PEER_NTF,
	PRBD_CMD_RESYNC_NTF,
	PRBD_CMD_VERIFY_NTF,
	PRBD_CMD_CONFIG_NTF,

	__PRBD_CMD_MAX,
	PRBD_CMD_MAX = (__PRBD_CMD_MAX - 1)
};

#define PRBD_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_PRBD_H */
