/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd data path, top down (a file calls only the ones below it;
 * tools/depgraph.py checks it): up and down (prbd_updown.c), the block
 * device (prbd_req.c), driving the Paxos core (prbd_drive.c), persist
 * batches and checkpoints (prbd_persist.c), membership (prbd_member.c),
 * online verify (prbd_verify.c), bulk resync (prbd_resync.c), catch-up
 * (prbd_catchup.c), replication (prbd_repl.c), the on-disk log ring
 * (prbd_log.c), the slot map (prbd_map.c), the payload cache
 * (prbd_payload.c), bios and request completion (prbd_io.c).
 *
 * Threads and locks
 *  - dp->px_lock (spinlock) protects the Paxos core instance and the
 *    request lists below; core calls never sleep.  Taken from queue_rq.
 *  - dp->drive_work (on the ordered dp->wq) is the only caller of
 *    prbd_px_ready(): it proposes queued writes, starts persist batches
 *    and applies, reports completions back to the core.
 *  - each persist batch has a work item on dp->lwq (up to
 *    PRBD_DP_PERSIST_WINDOW at once): its log records (FUA, in parallel;
 *    durability = flush: without FUA),
 *    then the acceptor state if it changed; batches are reported to the
 *    core in token order, by whichever work finds the oldest done.
 *  - dp->flush_work (dp->lwq): durability = flush, the device flushes
 *    the core asks for (prbd_flush_work()).
 *  - dp->persist_work (ordered dp->pwq) runs checkpoints.  Every
 *    acceptor-state write holds dp->hs_mutex.
 *  - bio completions only count and queue work.
 */
#ifndef PRBD_DP_H
#define PRBD_DP_H

#include <linux/bio.h>
#include <linux/blk-mq.h>
#include <linux/llist.h>
#include <linux/mempool.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "paxos/prbd_paxos.h"
#include "prbd_compat.h"
#include "prbd_transport.h"
#include "prbd_wire.h"

struct prbd_resource;
struct prbd_acceptor_state;
struct prbd_tr_rx;
struct netlink_ext_ack;

/* A membership change run by this node as leader (prbd_member.c). */
struct prbd_member {
	u8 cmd;			/* enum prbd_cmd, 0: none */
	u8 node;		/* the node it changes */
	u8 step;		/* enum prbd_change_step */
	u8 target;		/* HANDOVER: the next leader */
	u8 old;			/* node-replace: the voter removed last */
	bool hold;		/* propose no writes: let the pipeline drain */
	bool promote;		/* node-add: make the learner a voter next */
	bool then_del;		/* node-del of this node: after the handover */
	bool xfer_sent;		/* HANDOVER: TIMEOUT_NOW sent */
	u64 slot;		/* CHOOSE: the entry proposed */
	unsigned long started, step_at, xfer_at;
	/* a node-del handed over by the previous leader */
	u8 fwd_del;
	unsigned long fwd_until;
	/* one message to send once px_lock is dropped */
	u8 tx_to, tx_op, tx_node;
	u64 tx_slot;
	/* non-members heard campaigning, and when each was told so */
	u16 campaigners, told;
	unsigned long told_at[PRBD_PX_MAX_NODES];
	/*
	 * config-ntf (prbd_member_notice()): the last epoch reported chosen
	 * and applied (PRBD_MEMBER_EV_NONE: none yet, so that the
	 * configuration in force at up, epoch 0 included, is reported),
	 * and the last entry this node proposed, with its command
	 */
	u64 ev_chosen, ev_applied;
	u64 ev_slot;
	u16 ev_voters, ev_learners;
	u8 ev_cmd, ev_node;
};

#define PRBD_MEMBER_EV_NONE	U64_MAX

#define PRBD_DP_TICK_MS		10
#define PRBD_DP_HB_MS		50
#define PRBD_DP_ELECT_MS	500
#define PRBD_DP_DRAIN_MS	10000	/* down waits this long for I/O */
#define PRBD_DP_DRIFT_PPM	10000	/* assumed clock rate error bound: 1% */
#define PRBD_DP_MAX_IO		(256u << 10)	/* bytes per request */
#define PRBD_DP_MAX_SEGS	64
#define PRBD_DP_QUEUE_DEPTH	128	/* blk-mq tags (request ids keep 8 bits) */
#define PRBD_DP_PERSIST_WINDOW	4	/* persist batches written at once */
/*
 * The reserves of the write path (prbd_dp_pools_init()) let this many
 * requests be in flight when no memory can be allocated; the payload page
 * reserve holds PRBD_DP_POOL_PL_IOS requests of the maximum size.
 */
#define PRBD_DP_POOL_IOS	16
#define PRBD_DP_POOL_PL_IOS	4
/*
 * Discard and write-zeroes extents per request: they carry no payload, but
 * the core counts a descriptor's length against its 8 MiB in-flight window.
 */
#define PRBD_DP_MAX_TRIM	(4u << 20)

/* struct prbd_io - per-request data (blk-mq pdu) */
struct prbd_io {
	struct list_head list;
	struct request *rq;
	u64 id;			/* Paxos descriptor id, 0 until proposed */
	u32 csum;		/* crc32c of the payload */
	u32 log_need;		/* log bytes reserved for it */
	atomic_t pending;	/* outstanding bios */
	blk_status_t status;
	bool doubt;		/* proposed by a leadership that ended */
	u64 bar_id;		/* durability flush: its barrier, 0: none yet */
	/* a read asked of the leader (prbd_pread.c; dp->pr_lock) */
	u8 pr_to;		/* the node asked, 0: none now */
	u32 pr_tries;		/* times sent */
	unsigned long pr_start;	/* jiffies when queued */
	unsigned long pr_sent_at;	/* jiffies of the last send */
	unsigned long pr_retry_at;	/* not sent again before */
};

/*
 * struct prbd_log_loc - where a descriptor's payload is in the log ring
 */
struct prbd_log_loc {
	u64 slot;
	u64 ballot;
	u64 id;
	u64 off;		/* byte offset of the payload on the backing dev */
	/*
	 * The same payload's earlier record (0: none).  A value accepted
	 * again under a new ballot gets a new record, remembered when it is
	 * submitted; until it is written, a read at @off finds old bytes
	 * and falls back to this one.
	 */
	u64 prev_off;
	u32 len;
};

/* A record in the log ring, in allocation order (prbd_log.c). */
struct prbd_log_ext {
	struct list_head list;
	u64 slot;
	u64 seq;		/* of its record */
	bool busy;		/* its batch is being written: not released */
	u64 off;		/* record header offset */
	u32 size;		/* header + payload, rounded to 4 KiB */
	u64 id;
	u64 payload_off;
	u32 len;
};

struct prbd_log {
	u64 ring_off;		/* first record byte */
	u64 ring_size;
	u64 head;		/* next allocation, relative to ring_off */
	u64 used;		/* bytes between tail and head incl. waste */
	u64 reserved;		/* promised to proposed writes */
	u64 seq;		/* record sequence number */
	u64 fence_tok;		/* a reset installed: records of batches of
				 * this token or older are not written
				 * (prbd_log_alloc()), 0: none
				 */
	struct list_head exts;	/* oldest first */
	spinlock_t lock;	/* protects the fields above */
};

/*
 * One persist batch: the core's entries + hard state, and their payloads.
 * Up to PRBD_DP_PERSIST_WINDOW are written at once (dp->lwq), reported to
 * the core in token order (prbd_batch_work()).
 */
struct prbd_batch {
	struct work_struct work;
	struct prbd_dp *dp;
	bool busy;		/* issued, not reported yet (px_lock) */
	bool done;		/* durable, waits for older ones (px_lock) */
	bool dead;		/* the disk failed: never written nor reported */
	bool preflush;		/* flush mode: records with PREFLUSH and the
				 * full commit hint (prbd_batch_hint())
				 */
	u64 token;
	u64 commit_hint;	/* see struct prbd_px_ready */
	struct prbd_px_hardstate hs;
	u32 n_ents;
	struct prbd_px_entry ents[PRBD_PX_LOG_CAP];
	/* payload source per entry descriptor: a request or a log location */
	struct prbd_io *cmd[PRBD_PX_LOG_CAP][PRBD_PX_BATCH];
};

/*
 * struct prbd_payload - a write's data in the payload cache (prbd_repl.c)
 * @dp: the data path; the struct and pages come from its pools
 * @node: in dp->pl_hash
 * @ref: references; the cache holds one while hashed
 * @id: the descriptor id
 * @len: bytes
 * @nr: pages
 * @bvec: @nr bio_vecs over @pages
 * @pages: the data
 */
struct prbd_payload {
	struct prbd_dp *dp;
	struct hlist_node node;
	struct list_head lru;		/* in dp->pl_lru while hashed */
	unsigned long at;		/* jiffies when cached */
	bool needed;			/* as the last prbd_pl_evict() saw */
	refcount_t ref;
	u64 id;
	u32 len;
	unsigned int nr;
	/* the transport's tag of the bytes (drive work: prbd_repl_send_data) */
	bool tag_set;
	u8 tag[PRBD_WIRE_TAG_LEN];
	struct bio_vec *bvec;
	struct page *pages[];
};

/* bytes of a struct prbd_payload of @nr pages (and its bio_vecs) */
static inline size_t prbd_pl_size(unsigned int nr)
{
	return sizeof(struct prbd_payload) +
	       nr * (sizeof(struct page *) + sizeof(struct bio_vec));
}

#define PRBD_PL_HASH_BITS	8
/*
 * Payloads no one needs may fill this much of the cache: a follower
 * receives each payload before the accept that carries it, and one that is
 * never chosen (a deposed leader's, or junk) is dropped, oldest first.
 */
#define PRBD_PL_IDLE_MAX	(32ULL << 20)
/* ids a prbd_pl_needed() may return */
#define PRBD_PL_IDS_MAX		(PRBD_DP_QUEUE_DEPTH + \
				 (1 + PRBD_DP_PERSIST_WINDOW) * \
				 PRBD_PX_LOG_CAP * PRBD_PX_BATCH)
#define PRBD_REPL_SENT_RING	256
/* payloads a follower asks for at once (PRBD_MSG_PLREQ) */
#define PRBD_PL_WANT_MAX	8
/*
 * A payload the log write misses is asked for after this long: a relayed
 * one may trail its accept by a queue of large payloads on two links.
 */
#define PRBD_PL_ASK_MS		500

/* a payload this node misses: the descriptor that names it, and its slot */
struct prbd_pl_want {
	u64 slot;
	u64 id;
	u64 sector;
	u32 csum;
};

/* per peer state of replication (prbd_repl.c) */
struct prbd_repl_peer {
	bool up;
	u32 sent_pos;
	u64 sent[PRBD_REPL_SENT_RING];	/* payload ids sent on this connection */
	u64 learn_from;			/* LEARN_REQ for the history, 0: none */
	unsigned long rs_seen;		/* jiffies of its last resync request */
	/*
	 * The epoch and rank its last core message carried (the receive
	 * work writes, the drive work reads): a reset's source is a peer
	 * of the epoch reset to (prbd_rs_pick_source()).
	 */
	u64 epoch, erank;
	unsigned long epoch_at;		/* jiffies of that message */
	unsigned long plreq_at;		/* jiffies of its last PLREQ, 0: none */
};

struct prbd_tr;

/* resync and verify I/O on the data area (prbd_resync.c) */
enum {
	PRBD_RSIO_READ,		/* source: a piece to send */
	PRBD_RSIO_CRC,		/* a peer's verify: crcs of a piece */
	PRBD_RSIO_WRITE,	/* target: a received piece */
	PRBD_RSIO_VLOCAL,	/* our verify: our own crcs */
	PRBD_RSIO_PREAD,	/* leader: a peer's read (prbd_pread.c) */
};

struct prbd_rs_io {
	struct list_head list;		/* queue, then dp->rs_ios */
	struct llist_node done_node;
	struct prbd_dp *dp;
	u8 kind;
	int err;
	u32 peer;
	u32 gen;
	u64 off;			/* bytes in the data area */
	u32 len;
	u64 slot;			/* the data is the state after it */
	u64 mapval;			/* highest map entry of the piece */
	u64 id;				/* PREAD: the asker's request id */
	unsigned long at;		/* PREAD: jiffies when asked */
	struct bio_vec *bvec;		/* when sent */
	unsigned int nr;
	struct page *pages[];
};

enum {
	PRBD_RST_IDLE,
	PRBD_RST_PERSIST,	/* waiting for the durable begin record */
	PRBD_RST_RUN,		/* copying */
	PRBD_RST_DONE,		/* copied: waiting to apply rs_need */
	PRBD_RST_CLEAR,		/* waiting for the cleared flag on disk */
};

#define PRBD_RS_WINDOW		8	/* pieces requested at once */
#define PRBD_RS_PIECE		(256u << 10)	/* bytes per request */
#define PRBD_RS_BLOCK		4096u		/* verify granularity */
#define PRBD_RS_CRCS		(PRBD_RS_PIECE / PRBD_RS_BLOCK)
#define PRBD_RS_TIMEOUT		(10 * HZ)

/* A received resync or verify message, for the drive work. */
struct prbd_rs_rx {
	struct list_head list;
	u32 from;
	struct prbd_rs_io *io;		/* DATA: the piece */
	u8 *bits;			/* MAP: the bitmap */
	struct prbd_wire_rs w;		/* crc[] follows (CRC) */
};

/* The resync into this node (drive work only). */
struct prbd_rs_target {
	u8 state;
	bool range;		/* a repair of [cursor, end): no install */
	bool full;		/* every chunk */
	bool begun;		/* BEGIN answered (or not needed) */
	bool counted;		/* total computed */
	u8 source;
	u32 gen;
	u64 cursor;		/* bytes below are written */
	u64 next;		/* next byte to ask for */
	u64 end;
	u64 need;		/* highest slot a piece was read at */
	u64 since;		/* copy the chunks written after this slot */
	u64 gone;		/* a payload of this slot is gone at the
				 * leader (PLGONE): install past it
				 */
	bool any;		/* the exchange asks a source of @epoch,
				 * leading or not (PRBD_RS_F_EPOCH); else
				 * the leader
				 */
	bool reset;		/* ... to reset to it (the core's reset) */
	u64 epoch;
	u32 refused;		/* peers that refused such a BEGIN lately */
	u64 done, total;	/* bytes */
	u64 map_have;		/* chunks of the bitmap received */
	unsigned long *bm;	/* chunks to copy */
	u32 n_out, n_writes, stale;
	u64 out[2 * PRBD_RS_WINDOW];	/* asked for or not written yet */
	unsigned long sent_at, retry_at, started;
	u64 tokens;		/* rate cap */
	unsigned long tok_at;
	u64 rate, rate_bytes;
	unsigned long rate_at;
};

#define PRBD_VERIFY_PIECES	4

struct prbd_vpiece {
	bool used, local_busy, local_done;
	u32 tries;
	u64 off;
	u32 len;
	u16 got;		/* peers that answered */
	struct prbd_rs_io *local;
	unsigned long sent_at;
	u64 slot[PRBD_PX_MAX_NODES];
	__le32 crc[PRBD_PX_MAX_NODES][64];
};

struct prbd_verify_req {
	bool pending;
	u64 start, len;
	u32 peers;
};

/* An online verify run from this node (drive work only). */
struct prbd_verify {
	bool running, skipped;
	u32 gen;
	u32 peers;		/* bit per peer compared with */
	u64 start, next, end;
	u64 checked, divergent;
	unsigned long note_at;
	struct prbd_vpiece piece[PRBD_VERIFY_PIECES];
};

/* An apply in flight: one descriptor's data written to the data area. */
struct prbd_apply {
	struct list_head list;
	struct llist_node done_node;
	struct prbd_dp *dp;
	u64 slot;
	u64 sector;		/* of the prbd device */
	u32 len;
	struct prbd_io *cmd;	/* the request, or NULL (payload from pl) */
	struct prbd_payload *pl;	/* the payload when not from @cmd */
	u64 id;
	u32 csum;
	u32 op;			/* PRBD_LOG_OP_* */
	bool done;
	bool retry;		/* payload not here yet: submitted again */
	bool early;		/* its request completed when it was submitted */
	int err;
};

struct prbd_dp {
	struct prbd_resource *res;
	struct block_device *bdev;	/* backing device */
	u64 data_sect;			/* data area start, sectors */
	u64 data_size;			/* bytes */
	u32 block_size;
	u8 disk_uuid[16];

	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;

	/* reserves of the write path (prbd_dp_pools_init()) */
	struct bio_set bio_set;		/* every bio of the data path */
	mempool_t *apply_pool;		/* struct prbd_apply */
	mempool_t *hdr_pool;		/* log record header pages */
	mempool_t *pl_pool;		/* struct prbd_payload, largest size */
	mempool_t *page_pool;		/* payload pages */
	atomic_t open_rw;		/* read-write openers */
	unsigned int openers;		/* every opener (px_lock) */
	bool closed;			/* down: no more opens (px_lock) */

	spinlock_t px_lock;		/* see the top of this file */
	struct prbd_px *px;
	struct prbd_member mbr;		/* membership change (px_lock) */
	struct list_head incoming;	/* writes not yet proposed */
	struct list_head reads;		/* reads waiting for the lease */
	struct prbd_io **cmds;		/* proposed writes, by blk-mq tag */
	/*
	 * durability = flush (prbd_drive.c): flushes and chosen FUA writes
	 * waiting for a barrier (bar_id 0: not taken yet), oldest first; the
	 * core's barrier_done and barrier_dropped as last seen; the device
	 * flushes the core asked for (fl_want) and done (fl_done, by
	 * prbd_flush_work()), and the last one told to the core.
	 * flush_mode is set at up from res->durability, before the acceptor
	 * state is read (prbd_dp_up()); also read by persistence (epoch
	 * fields make a batch write the hard state), by the wire (flush-mode
	 * messages are refused without it) and at up (no clean mark:
	 * prbd_px_set_suspect()).
	 */
	bool flush_mode;
	struct list_head flushes;
	u64 bar_done, bar_dropped;
	u64 fl_want, fl_done, fl_told;
	u64 fl_issued;			/* device flushes issued, ever */
	/*
	 * The newest commit hint of a batch issued, and the newest one a
	 * completed device flush covers: records carry no hint above it
	 * (prbd_flush_begin(); px_lock, hint_issued read without it).
	 */
	u64 hint_issued, safe_hint;
	u64 bar_completed;		/* flush requests completed, ever */
	atomic64_t next_id;
	u8 role, leader;		/* the core's, as last seen */
	bool primary;			/* may be opened read-write */
	bool stopping;
	bool failed;			/* the backing device failed */
	atomic_t disk_err;		/* its first error (prbd_dp_io_error()) */
	bool detached;			/* failed: novote, status says so */
	bool apply_failed;		/* an apply failed: applied stays */
	bool res_changed;		/* notify netlink listeners */
	u64 core_log_start;		/* the core's truncation point */
	u64 trace_slot;			/* prbd_trace_ready(): next slot to report */

	struct workqueue_struct *wq;	/* ordered: drive + tick */
	struct workqueue_struct *pwq;	/* ordered: checkpoint */
	struct workqueue_struct *lwq;	/* persist batches, several at once */
	struct work_struct drive_work;
	struct delayed_work tick_work;
	struct work_struct persist_work;
	struct work_struct flush_work;	/* on lwq: prbd_flush_work() */

	/* persistence (batch works, persist_work) */
	struct prbd_batch *batches;	/* PRBD_DP_PERSIST_WINDOW of them */
	u32 b_head, b_n;		/* in flight, oldest first (px_lock) */
	u64 tok_issued;			/* the newest batch's token (px_lock) */
	struct mutex hs_mutex;		/* acceptor-state writes, hs_disk */
	struct prbd_px_hardstate hs_disk;	/* last written */
	u64 applied_disk;		/* applied index in the acceptor state */
	u64 removed_disk;		/* its removed_at: prbd_persist_removed() */
	/*
	 * The clean-shutdown mark (PRBD_DISK_ACC_F_UP, inverted): up_disk
	 * makes every acceptor-state write carry F_UP; set before the first
	 * write at up, cleared for the last write of a clean down
	 * (prbd_persist_clean()).  was_clean: the mark found at up.
	 */
	bool up_disk;
	bool was_clean;
	unsigned long ckpt_at;		/* jiffies of the last checkpoint */
	bool ckpt_now;			/* a resync BEGIN waits for one */
	/* a resync BEGIN held for that checkpoint (drive work) */
	u32 rs_begin_from;		/* 0: none */
	__le32 rs_begin_gen;
	__le32 rs_begin_len;
	__le64 rs_begin_off;
	__le64 rs_begin_epoch;
	u8 rs_begin_flags;
	u64 rs_begin_want;		/* answered once applied_disk >= it */

	/* apply (drive_work) */
	struct list_head applies;	/* started, in slot order */
	struct llist_head applies_done;
	u64 apply_next;			/* next slot to start applying */
	u64 apply_hi;			/* highest chosen slot to apply */
	u64 applied;			/* every slot <= this applied */
	u64 installed;			/* the last resync install's slot (drive
					 * work writes, the batch work reads)
					 */
	/*
	 * A reset (flush mode, prbd_resync.c): the epoch the core resets to
	 * and its rank (from the last ready, drive work), 0: none; an
	 * install of a reset not yet durable (reset_gen != reset_done: the
	 * slot, the log's seq at the install and the epoch installed, set
	 * by the drive work before reset_gen, written with the first
	 * acceptor state of that epoch, prbd_hs_to_state(), which sets
	 * reset_done under hs_mutex); reset_disk: the acceptor state says
	 * PRBD_DISK_ACC_F_RESET; log_floor: the durable floor.
	 */
	u64 reset_epoch, reset_rank;
	u64 px_epoch;			/* the core's epoch (last ready) */
	u32 reset_gen, reset_done;	/* installs, and the last one durable */
	u64 reset_slot, reset_floor, reset_to;
	bool reset_disk;
	u64 log_floor;

	struct prbd_log log;
	struct xarray log_locs;		/* slot * BATCH + idx -> prbd_log_loc */
	bool log_starved;		/* a proposal waits for log space */

	/* catch-up history (prbd_catchup.c) */
	struct xarray hist;		/* applied slot -> its chosen entry */
	struct prbd_px_msg *hmsg;	/* a LEARN built from it (drive_work) */
	u64 hist_served;		/* entries sent from it */

	/* replication (prbd_repl.c); tr is NULL without peers */
	struct prbd_tr *tr;
	struct prbd_repl_peer rpeer[PRBD_PX_MAX_NODES];
	spinlock_t pl_lock;		/* protects pl_hash to pl_evicted */
	struct hlist_head pl_hash[1 << PRBD_PL_HASH_BITS];
	u32 pl_count;
	struct list_head pl_lru;	/* the cache, oldest first */
	u64 pl_bytes;			/* payload bytes in the cache */
	u64 pl_needed_bytes;		/* of those, needed (last pass) */
	u64 pl_evicted;			/* payloads evicted, ever */
	struct mutex pl_evict_lock;	/* one prbd_pl_evict() at a time; pl_ids */
	u64 *pl_ids;			/* ids needed (prbd_pl_needed()) */
	bool pl_purge;			/* the leader changed (drive work) */
	struct prbd_pl_want pl_want[PRBD_PL_WANT_MAX];	/* under pl_lock */
	u32 n_pl_want;			/* ... to ask for (pl_want_work) */
	u64 pl_asked;			/* payloads asked for, ever */
	u64 pl_resent;			/* payloads sent again when asked, ever */
	u64 pl_gone;			/* under pl_lock: the leader lost a payload
					 * of this slot (PLGONE, for
					 * prbd_rs_drive()), 0: none
					 */
	u64 pl_gone_seen;		/* PLGONE answers received, ever */
	u64 pl_gone_sent;		/* PLGONE answers sent, ever */
	wait_queue_head_t pl_wq;	/* a payload arrived (pl_gen moved) */
	atomic_t pl_gen;		/* payloads inserted, ever */
	u32 relay_rot;			/* which follower relays (drive work) */
	u64 data_direct;		/* DATA frames sent (drive work) */
	u64 data_relayed;		/* ... of those, with a relay (drive work) */
	struct work_struct pl_want_work;	/* sends the asks (dp->wq) */
	struct dentry *dbg;		/* debugfs: prbd/<resource>/ */
	struct mutex rmsg_lock;		/* protects rmsg */
	struct prbd_px_msg *rmsg;	/* decoded incoming message */
	void *wbuf;			/* encoded outgoing message */
	struct prbd_px_msg *out;	/* the core's messages, copied */
	u32 n_out;
	unsigned long xfer_at;		/* jiffies of the last leadership request */

	/* leadership and quorum (drive_work; read under px_lock) */
	u64 lead_ballot;		/* the ballot we lead at, 0 if we do not */
	u64 doubt_hi;			/* in-doubt writes are decided once applied */
	u32 n_doubt;			/* writes proposed by an ended leadership */
	atomic_t n_early;		/* applies in flight whose request completed */
	bool quorum;			/* a leader known (or only briefly not) */
	unsigned long leaderless_at;	/* jiffies since no leader is known */
	bool needs_resync;		/* the core's, as last seen */
	bool amnesiac;			/* new metadata: prbd_px_set_nopromise() */
	bool auto_primary;		/* primary because opened read-write */
	u8 xfer_refused_by;		/* a leader that refused to hand over */
	unsigned long xfer_refused_at;	/* jiffies of that refusal */
	unsigned long reclaim_at;	/* jiffies a primary found another leader */

	/* slot map (prbd_map.c) */
	spinlock_t map_lock;		/* protects map, map_dirty */
	u64 *map;			/* per chunk: highest slot that wrote it */
	unsigned long *map_dirty;	/* per page of map: not on disk yet */
	u32 map_shift;
	u64 map_chunks, map_pages;
	u64 map_covers;			/* the map header on disk says */

	/* resync and verify (prbd_resync.c, prbd_verify.c) */
	spinlock_t rs_lock;		/* protects rs_rx, rs_queue, ver_rx, ver_req */
	struct list_head rs_rx;		/* received, for the drive work */
	struct list_head ver_rx;	/* ... verify answers (PRBD_RS_CRC) */
	struct list_head rs_queue;	/* reads asked by peers, new */
	struct list_head rs_serve;	/* reads asked by peers (drive work) */
	atomic_t rs_nserve;		/* ... queued or in flight */
	struct list_head rs_wait;	/* received pieces to write */
	struct list_head rs_ios;	/* on the data area now */
	struct llist_head rs_done;
	struct llist_head ver_done;	/* this node's verify reads, done */
	void *rs_wbuf;			/* an outgoing CRC message */
	struct prbd_rs_target rst;
	struct prbd_verify ver;
	struct prbd_verify_req ver_req;
	bool rs_inconsistent;		/* data not whole: no vote, no reads */
	bool rs_full;
	u32 rs_flags_want;		/* PRBD_DISK_ACC_F_*, to be written */
	u32 rs_flags_disk;		/* as last written */
	u64 rs_from, rs_cursor, rs_need;	/* see prbd_disk_acceptor */
	u64 rs_cursor_disk;		/* as last written */

	/* reads served by the leader (prbd_pread.c) */
	spinlock_t pr_lock;		/* protects pr_cmds, pr_n, pr_queue */
	struct prbd_io *pr_cmds[PRBD_DP_QUEUE_DEPTH];	/* asker: by tag */
	u32 pr_n;			/* ... of them in use */
	struct list_head pr_queue;	/* leader: reads asked by peers, new */
	struct list_head pr_serve;	/* ... waiting to start (drive work) */
	atomic_t pr_nserve;		/* ... queued or in flight */
	struct llist_head pr_done;	/* ... read, to answer */
	u64 pr_asked, pr_served;	/* ever (drive work, for the log) */
};

/*
 * Is an apply overlapping these sectors in flight?  Context: drive work.
 */
static inline bool prbd_apply_busy(struct prbd_dp *dp, u64 sector, u32 len)
{
	struct prbd_apply *a;

	list_for_each_entry(a, &dp->applies, list)
		if (a->len && sector < a->sector + (a->len >> SECTOR_SHIFT) &&
		    a->sector < sector + (len >> SECTOR_SHIFT))
			return true;
	return false;
}

/*
 * Did the last run of this resource end with a clean down (the acceptor
 * state's clean-shutdown mark, read at up)?  False after a crash, a power
 * cut or a failed disk: in flush mode what was written without a flush
 * may be gone.  Metadata written before the mark existed reads clean (its
 * modules wrote every record with FUA).  Context: any, after prbd_dp_up().
 */
static inline bool prbd_dp_was_clean(const struct prbd_dp *dp)
{
	return dp->was_clean;
}

/* Make the drive work run (again).  Context: any. */
static inline void prbd_dp_kick(struct prbd_dp *dp)
{
	queue_work(dp->wq, &dp->drive_work);
}

/* prbd_main.c */
extern struct dentry *prbd_debugfs;	/* prbd/ in debugfs, or an error */

/* prbd_req.c */
extern int prbd_major;
int prbd_dev_create(struct prbd_dp *dp, u32 minor);
void prbd_dev_destroy(struct prbd_dp *dp);

/* prbd_io.c */
void prbd_io_end(struct prbd_io *cmd, blk_status_t status);
int prbd_dp_pools_init(struct prbd_dp *dp);
void prbd_dp_pools_exit(struct prbd_dp *dp);
int prbd_submit_rq_bio(struct prbd_dp *dp, struct prbd_io *cmd,
		       struct page *hdr, sector_t sector, blk_opf_t opf,
		       bio_end_io_t *end_io, void *priv);
u32 prbd_rq_op(struct request *rq);
int prbd_submit_trim(struct prbd_dp *dp, u32 op, sector_t sector, u32 len,
		     bio_end_io_t *end_io, void *priv);
int prbd_submit_read(struct prbd_dp *dp, struct prbd_io *cmd);
struct bio *prbd_pages_bio(struct prbd_dp *dp, struct page *hdr,
			   struct page **pages, u32 len, sector_t sector,
			   blk_opf_t opf);
bool prbd_io_transient(int err);
void prbd_dp_io_error(struct prbd_dp *dp, int err, const char *what);

/* prbd_payload.c */
void prbd_pl_put(struct prbd_payload *pl);
struct prbd_payload *prbd_pl_new(struct prbd_dp *dp, u64 id, u32 len,
				 gfp_t gfp);
struct prbd_payload *prbd_pl_alloc(struct prbd_dp *dp, u64 id, u32 len);
void prbd_pl_insert(struct prbd_dp *dp, struct prbd_payload *pl);
struct prbd_payload *prbd_pl_get(struct prbd_dp *dp, u64 id);
void prbd_pl_drop(struct prbd_dp *dp, u64 id);
void prbd_pl_drop_all(struct prbd_dp *dp);
void prbd_pl_evict(struct prbd_dp *dp, u64 keep, bool wait);
int prbd_pl_from_rq(struct prbd_dp *dp, struct prbd_io *io);

/* prbd_log.c */
int prbd_log_load(struct prbd_dp *dp, const struct prbd_px_hardstate *hs);
void prbd_log_unload(struct prbd_dp *dp);
bool prbd_log_reserve(struct prbd_dp *dp, u32 len, u32 *need);
void prbd_log_unreserve(struct prbd_dp *dp, u32 need);
int prbd_log_write_batch(struct prbd_dp *dp, struct prbd_batch *b);
u64 prbd_log_fence(struct prbd_dp *dp, u64 tok);
int prbd_log_read_payload(struct prbd_dp *dp, u64 slot, u64 id, u32 csum,
			  struct page ***pages, unsigned int *nr, u32 *len);
void prbd_log_free_payload(struct prbd_dp *dp, struct page **pages,
			   unsigned int nr);
struct prbd_payload *prbd_log_payload(struct prbd_dp *dp, u64 slot, u64 id,
				      u32 csum);
u64 prbd_log_release(struct prbd_dp *dp, u64 slot, u64 keep);
bool prbd_log_releasable(struct prbd_dp *dp, u64 slot);
void prbd_log_forget(struct prbd_dp *dp, u64 slot);
u32 prbd_log_need(u32 len);

/* prbd_repl.c */
void prbd_repl_init(struct prbd_dp *dp);
int prbd_repl_start(struct prbd_dp *dp, const struct prbd_tr_ops *ops);
void prbd_repl_stop(struct prbd_dp *dp);
void prbd_repl_send(struct prbd_dp *dp, const struct prbd_px_msg *msgs, u32 n);
int prbd_repl_send_learn(struct prbd_dp *dp, struct prbd_px_msg *m);
int prbd_repl_send_frame(struct prbd_dp *dp, u32 node, u16 type,
			 const void *hdr, u32 hdr_len, struct bio_vec *bv,
			 unsigned int nr, u32 len, prbd_tr_done_t done,
			 void *arg);
void prbd_repl_ask_leadership(struct prbd_dp *dp);
void prbd_repl_want_payloads(struct prbd_dp *dp, const struct prbd_batch *b);
int prbd_repl_recv_data(struct prbd_dp *dp, const struct prbd_tr_rx *rx);
int prbd_repl_recv_plreq(struct prbd_dp *dp, const struct prbd_tr_rx *rx);
int prbd_repl_recv_plgone(struct prbd_dp *dp, const struct prbd_tr_rx *rx);
int prbd_repl_decode(struct prbd_dp *dp, const struct prbd_tr_rx *rx,
		     struct prbd_px_msg *m);
void prbd_repl_peer_state(void *ctx, u32 node, bool up);

/* prbd_catchup.c */
void prbd_catchup_add(struct prbd_dp *dp, const struct prbd_px_entry *e);
void prbd_catchup_forget(struct prbd_dp *dp, u64 slot);
void prbd_catchup_destroy(struct prbd_dp *dp);
bool prbd_catchup_want(struct prbd_dp *dp, const struct prbd_px_msg *m);
void prbd_catchup_serve(struct prbd_dp *dp);

/* prbd_map.c */
static inline u64 prbd_map_chunk(const struct prbd_dp *dp, u64 byte)
{
	return byte >> dp->map_shift;
}

void prbd_map_note(struct prbd_dp *dp, u64 off, u64 len, u64 slot);
u64 prbd_map_max(struct prbd_dp *dp, u64 off, u64 len);
void prbd_map_reset(struct prbd_dp *dp);
void prbd_map_note_entry(struct prbd_dp *dp, const struct prbd_px_entry *e);
int prbd_map_load(struct prbd_dp *dp);
void prbd_map_free(struct prbd_dp *dp);
int prbd_map_flush(struct prbd_dp *dp, u64 covers);

/* prbd_resync.c */
bool prbd_rs_overlaps(struct prbd_dp *dp, u64 sector, u32 len);
void prbd_rs_io_free(struct prbd_rs_io *io);
struct prbd_rs_io *prbd_rs_io_alloc(struct prbd_dp *dp, u8 kind, u64 off,
				    u32 len);
bool prbd_rs_io_try(struct prbd_dp *dp, struct prbd_rs_io *io);
int prbd_rs_send(struct prbd_dp *dp, u32 node, struct prbd_wire_rs *w,
		 u32 hdr_len, struct prbd_rs_io *io);
void prbd_rs_crcs(struct prbd_rs_io *io, __le32 *out, u32 *n);
void prbd_rs_rx_free(struct prbd_rs_rx *r);
int prbd_rs_range(struct prbd_dp *dp, u64 start, u64 *len,
		  struct netlink_ext_ack *extack);
int prbd_rs_recv(struct prbd_dp *dp, const struct prbd_tr_rx *rx);
void prbd_rs_drive(struct prbd_dp *dp);
enum prbd_peer_sync prbd_rs_peer_sync(struct prbd_dp *dp,
				      const struct prbd_px_status *st,
				      u32 node);
int prbd_rs_repair(struct prbd_dp *dp, u32 node, u64 start, u64 len,
		   struct netlink_ext_ack *extack);
void prbd_rs_lists_init(struct prbd_dp *dp);
int prbd_rs_init(struct prbd_dp *dp, const struct prbd_acceptor_state *st);
void prbd_rs_destroy(struct prbd_dp *dp);
bool prbd_rs_busy(struct prbd_dp *dp);

/* prbd_pread.c */
void prbd_pread_init(struct prbd_dp *dp);
void prbd_pread_queue(struct prbd_dp *dp, struct prbd_io *cmd);
int prbd_pread_recv(struct prbd_dp *dp, const struct prbd_tr_rx *rx);
void prbd_pread_drive(struct prbd_dp *dp);
void prbd_pread_fail_all(struct prbd_dp *dp);
void prbd_pread_destroy(struct prbd_dp *dp);

/* prbd_verify.c */
void prbd_verify_drive(struct prbd_dp *dp);
int prbd_verify_start(struct prbd_dp *dp, u64 start, u64 len,
		      struct netlink_ext_ack *extack);
void prbd_verify_destroy(struct prbd_dp *dp);

/* prbd_member.c */
bool prbd_member_step(struct prbd_dp *dp);
void prbd_member_send(struct prbd_dp *dp);
int prbd_member_recv(struct prbd_dp *dp, const struct prbd_tr_rx *rx);
void prbd_member_heard(struct prbd_dp *dp, const struct prbd_px_msg *m);
void prbd_member_init(struct prbd_dp *dp);
void prbd_member_notice(struct prbd_dp *dp);

/* prbd_persist.c */
bool prbd_want_checkpoint(struct prbd_dp *dp);
int prbd_write_hs(struct prbd_dp *dp, const struct prbd_px_hardstate *hs,
		  u64 applied, u32 flags);
void prbd_checkpoint(struct prbd_dp *dp);
int prbd_persist_removed(struct prbd_dp *dp, u64 slot);
int prbd_persist_up(struct prbd_dp *dp);
void prbd_persist_clean(struct prbd_dp *dp);
void prbd_persist_work(struct work_struct *work);
void prbd_batch_work(struct work_struct *work);
void prbd_flush_work(struct work_struct *work);
u64 prbd_flush_begin(struct prbd_dp *dp);
void prbd_flush_end(struct prbd_dp *dp, u64 hint);

/* prbd_drive.c */
void prbd_drive_work(struct work_struct *work);
void prbd_tick_work(struct work_struct *work);
extern const struct prbd_tr_ops prbd_drive_tr_ops;
int prbd_dp_wait_leader(struct prbd_dp *dp, bool make_primary);
blk_status_t prbd_dp_queue_write(struct prbd_dp *dp, struct prbd_io *cmd);
void prbd_dp_queue_flush(struct prbd_dp *dp, struct prbd_io *cmd);
bool prbd_dp_queue_read(struct prbd_dp *dp, struct prbd_io *cmd);
int prbd_dp_open(struct prbd_dp *dp);
void prbd_dp_close(struct prbd_dp *dp);
int prbd_dp_open_rw(struct prbd_dp *dp);
void prbd_dp_release_rw(struct prbd_dp *dp);

#endif /* PRBD_DP_H */
