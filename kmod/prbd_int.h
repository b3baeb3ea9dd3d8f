/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: internal declarations shared by the module's source files.
 *
 * Locking:
 *  - prbd_cfg_mutex protects the resource list and every configuration
 *    field of resources, peers and backing devices (everything except the
 *    fields documented as protected by prbd_resource.lock).  Every
 *    netlink handler runs under it.
 *  - prbd_resource.lock (spinlock) protects the Paxos runtime fields, which
 *    the replication code updates without the mutex.  It is taken with
 *    plain spin_lock(): never take it from (soft)irq context.
 *  - A resource is reference counted; the list holds one reference.
 */

#ifndef PRBD_INT_H
#define PRBD_INT_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "prbd_compat.h"
#include "uapi/prbd.h"
#include "uapi/prbd_disk.h"

#define PRBD_VERSION	"0.1.0"

struct netlink_ext_ack;
struct gendisk;
struct prbd_dp;

/**
 * struct prbd_md - in-core copy of the validated on-disk metadata
 * @sb: the superblock copy in use, as on disk (little-endian)
 * @sb_from: which copy @sb came from: 0 = A, 1 = B
 * @acc: the newest valid acceptor record, as on disk
 * @acc_slot: the slot @acc came from (0 or 1); the next update goes to the
 *	      other one
 * @data_offset: decoded sb.data_offset, bytes
 * @data_size: decoded sb.data_size, bytes
 * @block_size: decoded sb.block_size
 * @map_offset: the slot map area, 0 without one
 * @map_chunk_shift: log2 of its chunk size
 * @map_seq: seq of its newest intact header (0: none)
 * @map_hdr: which header that is (the next update goes to the other)
 */
struct prbd_md {
	struct prbd_disk_sb sb;
	unsigned int sb_from;
	struct prbd_disk_acceptor acc;
	unsigned int acc_slot;
	u64 data_offset;
	u64 data_size;
	u32 block_size;
	u64 map_offset;
	u32 map_chunk_shift;
	u64 map_seq;
	unsigned int map_hdr;
};

/**
 * struct prbd_acceptor_state - decoded durable acceptor state
 * @promised_ballot: highest ballot promised
 * @config_epoch: epoch of @members
 * @commit_index: highest index known committed
 * @applied_index: highest index written to the data area
 * @flags: PRBD_DISK_ACC_F_*
 * @rs_from: resync: chunks written after this slot are copied
 * @rs_cursor: resync: chunks below this are copied
 * @rs_need: resync: done once every slot <= this is applied
 * @removed_at: removed from the group at this slot (prbd_member.c), 0 not
 * @epoch: the core's hard state epoch (see "Flush mode" in the core)
 * @epoch_base: the slot up to which that epoch's lossy election decided
 * @erank: the epoch's rank, the newest leader ballot followed in it
 * @log_floor: log records of seq <= this are ignored (a reset replaced them)
 * @nr_members: used entries of @members
 * @members: node ids, PRBD_DISK_MEMBER_* flags
 */
struct prbd_acceptor_state {
	u64 promised_ballot;
	u64 config_epoch;
	u64 commit_index;
	u64 applied_index;
	u32 flags;
	u64 rs_from, rs_cursor, rs_need;
	u64 removed_at;
	u64 epoch, epoch_base, erank;
	u64 log_floor;
	u32 nr_members;
	struct {
		u32 node_id;
		u32 flags;
	} members[PRBD_DISK_MAX_MEMBERS];
};

/**
 * struct prbd_cfg_event - a configuration change to report (config-ntf)
 * @epoch: slot of the configuration entry (0: the initial configuration)
 * @event: enum prbd_config_event
 * @voters: voters of that configuration (bit = node id)
 * @learners: its learners
 * @change: the membership command of this node that proposed the entry
 *	    (enum prbd_cmd), 0 if unknown (another node ran it)
 * @change_node: the node that command changes
 */
struct prbd_cfg_event {
	u64 epoch;
	u32 event;
	u32 voters, learners;
	u32 change, change_node;
};

/* config-ntf events queued for the notification work at most */
#define PRBD_CFG_EV_QUEUE	8

/**
 * struct prbd_backing - an attached backing device
 * @bd: the exclusively opened block device
 * @path: the path it was opened by
 * @md: its validated metadata
 */
struct prbd_backing {
	struct prbd_bdev bd;
	char *path;
	struct prbd_md md;
};

/**
 * struct prbd_peer - another node of a resource
 * @list: entry in prbd_resource.peers
 * @node_id: its node id
 * @addr: its address (AF_INET or AF_INET6, port set)
 * @cstate: connection state; the transport updates it with WRITE_ONCE()
 *	    (and calls prbd_peer_changed())
 * @mrole: voter or learner
 * @match_index: highest log index known stored on the peer; WRITE_ONCE()
 * @sync: what we know of its replica (the leader knows); WRITE_ONCE()
 * @rs_done: bytes a resync copied to it so far (as it reported); WRITE_ONCE()
 * @rs_total: bytes that resync copies in all; WRITE_ONCE()
 * @rs_rate: its recent resync rate, bytes/s; WRITE_ONCE()
 * @rcu: frees it after the lockless readers of the list are done
 *
 * prbd_resource.peers changes under prbd_cfg_mutex only, with the _rcu
 * list primitives, and a removed peer is freed after a grace period
 * (kfree_rcu()).  Readers holding the mutex walk it plainly; the data
 * path's works and the transport's callbacks, which cannot take the mutex
 * (down waits for them while holding it), walk it under rcu_read_lock()
 * and only WRITE_ONCE() the fields documented so.  peer-add runs while
 * the resource is up, so such a walk may meet a peer being added.
 */
struct prbd_peer {
	struct list_head list;
	u32 node_id;
	struct sockaddr_storage addr;
	enum prbd_conn_state cstate;
	enum prbd_member_role mrole;
	u64 match_index;
	enum prbd_peer_sync sync;
	u64 rs_done, rs_total, rs_rate;
	struct rcu_head rcu;
};

/**
 * struct prbd_resync_status - the resync into this node's data area
 * @running: a resync runs (disk state inconsistent)
 * @source: the node it copies from, 0 while none is reachable
 * @done: bytes copied
 * @total: bytes to copy in all (grows if it restarts)
 * @rate: recent rate, bytes/s
 */
struct prbd_resync_status {
	bool running;
	u32 source;
	u64 done, total, rate;
};

/**
 * struct prbd_verify_status - the last online verify started on this node
 * @running: it runs
 * @start: byte range it covers
 * @len: bytes
 * @checked: bytes compared so far
 * @divergent: bytes found different on some peer
 */
struct prbd_verify_status {
	bool running;
	u64 start, len, checked, divergent;
};

/**
 * struct prbd_device - the exported block device (owned by the data path)
 * @minor: minor number, /dev/prbd<minor>
 * @disk: the gendisk, NULL until the data path creates it
 */
struct prbd_device {
	u32 minor;
	struct gendisk *disk;
};

/**
 * struct prbd_resource - one replicated block device
 * @list: entry in the global resource list
 * @kref: reference count
 * @name: resource name, NUL terminated
 * @node_id: local node id
 * @cluster_uuid: cluster UUID
 * @secret: shared secret
 * @secret_len: bytes used in @secret, 0 if none
 * @on_no_quorum: I/O policy without quorum
 * @resync_rate: resync rate cap of this node as a resync target, KiB/s,
 *		 0 for none
 * @listen: local address and port the transport listens on (AF_INET or
 *	    AF_INET6, port set); all zero (ss_family AF_UNSPEC) if not set.
 *	    Only changed while @state is down.
 * @self_role: the local node's role in the resource file: the initial
 *	       configuration while the disk holds none of its own
 * @durability: strict or flush, as given to the last up (prbd_res_up())
 * @state: down or up
 * @role: primary or secondary
 * @disk_state: diskless, attached, failed
 * @backing: the attached backing device or NULL
 * @peers: list of struct prbd_peer
 * @nr_peers: entries in @peers
 * @dev: the exported block device
 * @ntf_work: sends notifications for prbd_res_changed()/prbd_peer_changed()
 *	      and the events of prbd_config_changed()
 * @ntf_pending: bit 0: resource changed, bit N: peer N changed
 * @lock: protects the fields below
 * @paxos_role: Multi-Paxos role
 * @leader_id: current leader, 0 if unknown
 * @ballot: highest promised ballot
 * @commit_index: highest committed log index
 * @applied_index: highest log index applied to the data area
 * @config_epoch: epoch of the configuration in force
 * @cfg_voters: voters of that configuration (bit = node id), 0: unknown
 * @cfg_learners: its learners
 * @cfg_pending: leader: slot of a configuration entry not chosen yet
 * @cfg_change: leader: the membership command it runs (enum prbd_cmd), 0
 * @cfg_change_node: the node that command changes
 * @cfg_change_step: enum prbd_change_step
 * @removed_at: this node was removed from the group at that slot, 0
 *		(from the acceptor state at attach, then prbd_member.c)
 * @rs: the resync into this node (status)
 * @verify: the last verify run from this node (status)
 * @cfg_ev: config-ntf events not sent yet, oldest first
 * @cfg_ev_n: entries used in @cfg_ev
 * @dp: the data path while up (prbd_dp_up()), NULL while down
 */
struct prbd_resource {
	struct list_head list;
	struct kref kref;
	char name[PRBD_NAME_SIZE];
	u32 node_id;
	u8 cluster_uuid[PRBD_UUID_LEN];
	u8 secret[PRBD_SECRET_MAX_LEN];
	u32 secret_len;
	bool allow_no_secret;
	enum prbd_on_no_quorum on_no_quorum;
	u32 resync_rate;
	struct sockaddr_storage listen;
	enum prbd_member_role self_role;
	enum prbd_durability durability;
	enum prbd_res_state state;
	enum prbd_role role;
	enum prbd_disk_state disk_state;
	struct prbd_backing *backing;
	struct list_head peers;
	u32 nr_peers;
	struct prbd_device dev;
	struct work_struct ntf_work;
	unsigned long ntf_pending;

	spinlock_t lock;		/* protects the fields below */
	enum prbd_paxos_role paxos_role;
	u32 leader_id;
	bool quorum;
	u64 ballot;
	u64 commit_index;
	u64 applied_index;
	u64 config_epoch;
	u32 cfg_voters, cfg_learners;
	u64 cfg_pending;
	u32 cfg_change, cfg_change_node, cfg_change_step;
	u64 removed_at;
	struct prbd_resync_status rs;
	struct prbd_verify_status verify;
	struct prbd_cfg_event cfg_ev[PRBD_CFG_EV_QUEUE];
	u32 cfg_ev_n;
	struct prbd_dp *dp;
};

/**
 * struct prbd_res_params - arguments of prbd_res_create()
 * @name: resource name
 * @minor: minor number
 * @node_id: local node id
 * @cluster_uuid: cluster UUID
 * @secret: shared secret or NULL
 * @secret_len: length of @secret
 * @on_no_quorum: I/O policy without quorum
 * @resync_rate: resync rate cap of this node as a resync target, KiB/s,
 *		 0 for none
 * @listen: local listen address (validated, port set) or NULL for none
 * @self_role: the local node's role in the resource file
 * @allow_no_secret: with peers and no secret, up is refused unless set
 */
struct prbd_res_params {
	const char *name;
	u32 minor;
	u32 node_id;
	const u8 *cluster_uuid;
	const u8 *secret;
	u32 secret_len;
	enum prbd_on_no_quorum on_no_quorum;
	u32 resync_rate;
	const struct sockaddr_storage *listen;
	enum prbd_member_role self_role;
	bool allow_no_secret;
};

extern struct mutex prbd_cfg_mutex;
extern struct list_head prbd_resources;

/* prbd_res.c */
bool prbd_res_name_valid(const char *name);
struct prbd_resource *prbd_res_find(const char *name);
struct prbd_resource *prbd_res_find_minor(u32 minor);
struct prbd_resource *prbd_res_get_by_name(const char *name);
void prbd_res_get(struct prbd_resource *res);
void prbd_res_put(struct prbd_resource *res);
int prbd_res_create(const struct prbd_res_params *p,
		    struct netlink_ext_ack *extack);
int prbd_res_destroy(struct prbd_resource *res,
		     struct netlink_ext_ack *extack);
int prbd_res_set(struct prbd_resource *res, const u32 *on_no_quorum,
		 const u8 *secret, u32 secret_len,
		 const struct sockaddr_storage *listen, const u32 *resync_rate,
		 struct netlink_ext_ack *extack);
int prbd_res_attach(struct prbd_resource *res, const char *path,
		    struct netlink_ext_ack *extack);
int prbd_res_detach(struct prbd_resource *res, bool force,
		    struct netlink_ext_ack *extack);
int prbd_res_up(struct prbd_resource *res, enum prbd_durability durability,
		const struct nlattr *attr, struct netlink_ext_ack *extack);
int prbd_res_down(struct prbd_resource *res, struct netlink_ext_ack *extack);
int prbd_res_set_role(struct prbd_resource *res, enum prbd_role role,
		      bool force, struct netlink_ext_ack *extack);
int prbd_res_admin(struct prbd_resource *res, enum prbd_cmd cmd, u32 node_id,
		   u32 new_node_id, const struct sockaddr_storage *addr,
		   struct netlink_ext_ack *extack);
int prbd_res_verify(struct prbd_resource *res, u64 start, u64 len,
		    struct netlink_ext_ack *extack);
int prbd_res_resync(struct prbd_resource *res, u32 node_id, u64 start,
		    u64 len, struct netlink_ext_ack *extack);
struct prbd_peer *prbd_peer_find(struct prbd_resource *res, u32 node_id);
int prbd_peer_add(struct prbd_resource *res, u32 node_id,
		  const struct sockaddr_storage *addr,
		  enum prbd_member_role mrole, struct netlink_ext_ack *extack);
int prbd_peer_del(struct prbd_resource *res, u32 node_id,
		  struct netlink_ext_ack *extack);
void prbd_res_exit(void);

/*
 * The data path, called by prbd_res.c with prbd_cfg_mutex held.  One that
 * returns an error leaves the resource unchanged and sets an extack
 * message.
 *  prbd_dp_up(): start replication
 *  prbd_dp_down(): stop it; refused (-EBUSY) while the device is open
 *  prbd_dp_set_role(): switch between primary and secondary
 *  prbd_member_peer_added(): a peer was added
 *  prbd_member_peer_removing(): a peer is about to be removed
 *  prbd_member_admin(): node-add, node-del, node-replace, learner-add,
 *	leader-transfer
 *  prbd_dp_verify(): start an online verify of bytes [@start, @start +
 *	@len) of the data area against every connected peer (@len 0: all);
 *	the run reports through prbd_nl_notify_verify() and res->verify
 *  prbd_dp_resync(): make node @peer (this node or another) copy bytes
 *	[@start, @start + @len) from the leader (@len 0: all)
 */
int prbd_dp_up(struct prbd_resource *res, struct netlink_ext_ack *extack);
int prbd_dp_down(struct prbd_resource *res, struct netlink_ext_ack *extack);
int prbd_dp_set_role(struct prbd_resource *res, enum prbd_role role,
		     bool force, struct netlink_ext_ack *extack);
int prbd_member_peer_added(struct prbd_resource *res, struct prbd_peer *peer,
			   struct netlink_ext_ack *extack);
void prbd_member_peer_removing(struct prbd_resource *res,
			       struct prbd_peer *peer);
int prbd_member_admin(struct prbd_resource *res, enum prbd_cmd cmd,
		      u32 node_id, u32 new_node_id,
		      struct netlink_ext_ack *extack);
int prbd_dp_verify(struct prbd_resource *res, u64 start, u64 len,
		   struct netlink_ext_ack *extack);
int prbd_dp_resync(struct prbd_resource *res, u32 peer, u64 start, u64 len,
		   struct netlink_ext_ack *extack);

/* prbd_md.c */
u32 prbd_md_crc(const void *buf, size_t len);
int prbd_md_read(struct block_device *bdev, struct prbd_md *md,
		 struct netlink_ext_ack *extack);
int prbd_md_write_sb(struct block_device *bdev, struct prbd_md *md);
void prbd_md_get_acceptor(const struct prbd_md *md,
			  struct prbd_acceptor_state *st);
int prbd_md_write_acceptor(struct block_device *bdev, struct prbd_md *md,
			   const struct prbd_acceptor_state *st);
u64 prbd_md_map_chunks(u64 data_size, u32 shift);
int prbd_md_read_map_hdr(struct block_device *bdev, struct prbd_md *md,
			 u64 *covers);
int prbd_md_write_map_hdr(struct block_device *bdev, struct prbd_md *md,
			  u64 covers);

/* prbd_nl.c */
int prbd_nl_init(void);
void prbd_nl_exit(void);
void prbd_nl_notify_res(struct prbd_resource *res, enum prbd_event event);
void prbd_nl_notify_peer(struct prbd_resource *res, struct prbd_peer *peer,
			 enum prbd_event event);
void prbd_nl_notify_resync(struct prbd_resource *res, u32 peer_node_id,
			   enum prbd_resync_event event, u64 done, u64 total,
			   u64 rate);
void prbd_nl_notify_verify(struct prbd_resource *res,
			   enum prbd_verify_event event, u32 peer_node_id,
			   u64 start, u64 len, u64 checked, u64 divergent);
void prbd_nl_ntf_work(struct work_struct *work);
void prbd_res_changed(struct prbd_resource *res);
void prbd_peer_changed(struct prbd_resource *res, u32 node_id);
void prbd_config_changed(struct prbd_resource *res,
			 const struct prbd_cfg_event *ev);

#endif /* PRBD_INT_H */
