/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Public API of the sans-I/O Multi-Paxos core of prbd.
 *
 * See the header comment of prbd_paxos.c for the protocol, the durability
 * rule, the reconfiguration scheme and the lease clock-drift assumption.
 */
#ifndef PRBD_PAXOS_H
#define PRBD_PAXOS_H

#include "prbd_px_compat.h"

#define PRBD_PX_MAX_NODES	16	/* node ids 1..15; voters 1..7 */
#define PRBD_PX_MAX_VOTERS	7
#define PRBD_PX_BATCH		4	/* write descriptors per slot */
#define PRBD_PX_WINDOW_MAX	16	/* pipelined slots; phase-1 report range */
#define PRBD_PX_PERSIST_MAX	8	/* persist batches in flight */
#define PRBD_PX_MAX_ENT		16	/* entries per message (>= WINDOW_MAX) */
#define PRBD_PX_LOG_CAP		64	/* in-memory log ring, power of two */
#define PRBD_PX_PENDING_MAX	64	/* queued descriptors awaiting a slot */
#define PRBD_PX_OUTBOX		64	/* messages per prbd_px_ready() */
#define PRBD_PX_HELD		64	/* replies waiting for durability */

/* errors returned by prbd_px_propose*() / prbd_px_transfer() */
#define PRBD_PX_ENOTLEADER	(-1)	/* not the (active) leader: redirect */
#define PRBD_PX_EBUSY		(-2)	/* flow control / no quorum: retry */
#define PRBD_PX_EINVAL		(-3)

enum prbd_px_role {
	PRBD_PX_FOLLOWER = 0,
	PRBD_PX_CANDIDATE = 1,	/* pre-vote or phase 1 running */
	PRBD_PX_LEADER = 2,	/* phase 1 done, proposing */
};

enum prbd_px_kind {
	PRBD_PX_K_EMPTY = 0,	/* nothing accepted in this slot */
	PRBD_PX_K_NOOP = 1,	/* gap filler chosen after a leader change */
	PRBD_PX_K_DATA = 2,	/* 1..PRBD_PX_BATCH write descriptors */
	PRBD_PX_K_CONFIG = 3,	/* membership change */
};

enum prbd_px_msg_type {
	PRBD_PX_M_PREVOTE = 1, PRBD_PX_M_PREVOTE_R, PRBD_PX_M_P1A,
	PRBD_PX_M_P1B, PRBD_PX_M_P2A, PRBD_PX_M_P2B, PRBD_PX_M_HB,
	PRBD_PX_M_HB_R, PRBD_PX_M_LEARN_REQ, PRBD_PX_M_LEARN,
	PRBD_PX_M_TIMEOUT_NOW, PRBD_PX_M_FLUSH, PRBD_PX_M_FLUSH_R,
};

#define PRBD_PX_F_NACK		0x01	/* rejected; ballot = promised */
#define PRBD_PX_F_TRANSFER	0x02	/* P1A after TIMEOUT_NOW */
#define PRBD_PX_F_RESYNC	0x04	/* LEARN: below truncated prefix */
#define PRBD_PX_F_NOVOTE	0x08	/* P2B, HB_R: sender is non-voting */
#define PRBD_PX_F_NOPROMISE	0x10	/* P1B: sender is amnesiac, its
					 * report may lack what it forgot
					 */
#define PRBD_PX_F_LOGFULL	0x20	/* HB_R: sender's log storage is
					 * full: truncate past laggards
					 */
#define PRBD_PX_F_SUSPECT	0x40	/* P1B: sender restarted uncleanly
					 * in flush mode: its report may lack
					 * accepts it had not flushed
					 */

/* Opaque write descriptor; the payload travels outside the core. */
struct prbd_px_desc {
	u64 id;		/* unique request id (never 0) */
	u64 sector;
	u32 len;	/* bytes, used for flow control */
	u32 csum;	/* checksum of the payload */
	u32 op;		/* what the embedder does with it (prbd: write,
			 * discard, write zeroes); opaque to the core
			 */
	u32 pad;
};

struct prbd_px_entry {
	u64 slot;
	u64 ballot;	/* ballot at which it was accepted: round << 8 | id */
	u8 kind;	/* enum prbd_px_kind */
	u8 n_desc;
	u8 chosen;	/* sender/disk knows this value is chosen */
	u8 pad;
	u16 voters;	/* PRBD_PX_K_CONFIG: bitmask of node ids */
	u16 learners;
	struct prbd_px_desc desc[PRBD_PX_BATCH];
};

/* Fixed-size message; only ent[0..n_ent) is meaningful. */
struct prbd_px_msg {
	u8 type;
	u8 from;
	u8 to;
	u8 flags;
	u8 n_ent;
	u8 pad[3];
	u64 ballot;
	u64 slot;	/* P1A/P1B/LEARN_REQ: first slot; HB: last slot
			 * the leader proposed (0: its phase 1 is not over)
			 */
	u64 commit;	/* sender's commit index (piggybacked) */
	u64 aux;	/* P1B: max accepted slot; HB/HB_R: leader ts */
	u64 aux2;	/* P1B, LEARN: log start; HB: truncation; HB_R: applied */
	u64 epoch;	/* sender's epoch (see "Flush mode" in prbd_paxos.c) */
	u64 erank;	/* sender's epoch rank: the newest ballot it followed
			 * in that epoch (see "Flush mode")
			 */
	struct prbd_px_entry ent[PRBD_PX_MAX_ENT];
};

/* Acceptor state that must be durable (plus the accepted entries). */
struct prbd_px_hardstate {
	u64 promised;	/* highest promised ballot */
	u64 commit;	/* all slots <= commit are chosen (may lag) */
	u64 log_start;	/* first slot still in the log (truncation) */
	u64 cfg_slot;	/* slot of the config entry in effect (0: initial) */
	u16 voters;
	u16 learners;
	u32 pad;
	u64 epoch;	/* ballot of the last lossy election whose state this
			 * node holds (0: none ever); see "Flush mode"
			 */
	u64 epoch_base;	/* the slot up to which that election decided */
	u64 erank;	/* the newest leader ballot this node followed in
			 * that epoch (its rank; see "Flush mode")
			 */
};

struct prbd_px_config {
	u8 id;			/* this node, 1..15 */
	u16 voters;		/* initial configuration */
	u16 learners;
	u32 hb_ms;		/* heartbeat / retransmit interval */
	u32 elect_ms;		/* min election timeout E (random E..2E) */
	u32 drift_ppm;		/* max clock rate error assumed for leases */
	u32 window;		/* pipelining window, <= PRBD_PX_WINDOW_MAX */
	u32 max_inflight_bytes;	/* per peer and for the leader's window */
	u32 persist_window;	/* persist batches in flight (0: 1), <=
				 * PRBD_PX_PERSIST_MAX; see prbd_px_persisted()
				 */
	u64 seed;		/* election timeout randomisation */
};

struct prbd_px_ready {
	const struct prbd_px_msg *msgs;	/* send these (any order) */
	u32 n_msgs;
	u64 persist_token;		/* 0: nothing to persist */
	u64 commit_hint;		/* with a batch: every slot <= this is
					 * chosen and its value durable before
					 * the batch (record it with the batch:
					 * commit is volatile otherwise)
					 */
	struct prbd_px_hardstate hs;	/* persist entries first, then hs */
	const struct prbd_px_entry *ents;
	u32 n_ents;
	u64 apply_lo, apply_hi;		/* apply chosen slots lo..hi */
	u8 role, leader;		/* current role / known leader id */
	u8 role_changed;
	u8 needs_resync;		/* bulk resync, then prbd_px_install() */
	u64 reset_epoch;		/* with reset_rank: a reset, the whole
					 * data area from a node of this epoch
					 */
	u64 reset_rank;			/* with needs_resync: a reset to
					 * reset_epoch (0: an ordinary resync)
					 */
	u64 flush_token;		/* flush the device cache (everything
					 * written so far), then call
					 * prbd_px_flushed(token); 0: none
					 */
	u64 barrier_done;		/* barriers <= this id completed */
	u64 barrier_dropped;		/* leader stepped down: barriers <= this
					 * id not done are abandoned (retry)
					 */
};

/* A snapshot for status reporting (netlink, debugfs, the CLI). */
struct prbd_px_status {
	u64 ballot;	/* ours if leader/candidate */
	u64 promised;
	u64 commit, applied, log_start, cfg_slot;
	u64 next_slot;	/* a leader's next free slot (kept after it ends) */
	u64 peer_applied[PRBD_PX_MAX_NODES];	/* leader: as peers reported */
	u16 voters, learners;
	u16 novote_peers;	/* leader: members whose latest P2B/HB_R had
				 * PRBD_PX_F_NOVOTE (bit = node id)
				 */
	u8 id, role, leader, needs_resync;
	u8 novote;	/* this node is non-voting (flag or needs_resync) */
	u8 can_commit;	/* leader: a majority of voting voters, itself
			 * included, heard within E (propose admission)
			 */
	u8 nopromise;	/* amnesiac (prbd_px_set_nopromise): its promises
			 * are flagged PRBD_PX_F_NOPROMISE until every slot
			 * it may have forgotten is known chosen
			 */
	u8 suspect;	/* prbd_px_set_suspect(): promises flagged
			 * PRBD_PX_F_SUSPECT until what it may have lost
			 * is known chosen
			 */
	u8 lossy;	/* leader: its phase 1 counted suspect promises */
	u8 nocampaign;	/* prbd_px_set_nocampaign(): never leads */
	u8 transferring;	/* leader: handing over to transfer_to */
	u8 transfer_to;
	u16 heard;	/* leader: members (voters and learners, itself
			 * included) heard within E
			 */
	u64 cfg_pending;	/* leader: slot of the configuration entry
				 * proposed and not yet chosen, 0: none
				 */
	u64 epoch, reset_epoch, epoch_base;
	u64 erank, reset_rank;
	u64 barrier_done;	/* leader: last barrier completed */
};

#include "prbd_px_state.h"

void prbd_px_init(struct prbd_px *px, const struct prbd_px_config *cfg);
void prbd_px_restore(struct prbd_px *px, const struct prbd_px_hardstate *hs,
		     u64 applied);
void prbd_px_restore_entry(struct prbd_px *px, const struct prbd_px_entry *e);
void prbd_px_step(struct prbd_px *px, const struct prbd_px_msg *m);
void prbd_px_tick(struct prbd_px *px, u64 now_ms);
int prbd_px_propose(struct prbd_px *px, const struct prbd_px_desc *d);
int prbd_px_propose_conf(struct prbd_px *px, u16 voters, u16 learners);
int prbd_px_transfer(struct prbd_px *px, u8 target);
void prbd_px_persisted(struct prbd_px *px, u64 token);
void prbd_px_applied(struct prbd_px *px, u64 slot);
void prbd_px_log_full(struct prbd_px *px);
void prbd_px_install(struct prbd_px *px, u64 slot, u64 cfg_slot, u16 voters,
		     u16 learners);
void prbd_px_set_novote(struct prbd_px *px, bool on);
void prbd_px_set_nocampaign(struct prbd_px *px, bool on);
void prbd_px_set_nopromise(struct prbd_px *px, bool on);
void prbd_px_set_suspect(struct prbd_px *px, bool on);
int prbd_px_barrier(struct prbd_px *px, u64 *id);
void prbd_px_flushed(struct prbd_px *px, u64 token);
void prbd_px_ready(struct prbd_px *px, struct prbd_px_ready *rd);
u64 prbd_px_read_index(const struct prbd_px *px, u64 now_ms);
bool prbd_px_may_read(const struct prbd_px *px, u64 now_ms);
const struct prbd_px_entry *prbd_px_entry_at(const struct prbd_px *px,
					     u64 slot);
u32 prbd_px_lease_ms(u32 elect_ms, u32 drift_ppm);
void prbd_px_status(const struct prbd_px *px, struct prbd_px_status *st);

#endif /* PRBD_PAXOS_H */
