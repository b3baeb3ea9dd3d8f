/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state of one Multi-Paxos core instance.  Exposed
 * only so that the embedder can size and allocate it (kvzalloc in the
 * module); treat every field as private to prbd_paxos.c.  All memory the
 * core ever uses is inside this struct.
 */
#ifndef PRBD_PX_STATE_H
#define PRBD_PX_STATE_H

struct prbd_px_slot {
	struct prbd_px_entry e;
	u64 tok;		/* persist token covering our own accept */
	u16 acks;		/* leader: voting nodes that accepted e at our
				 * ballot (counted for commit)
				 */
	u16 rcvd;		/* leader: every node that acknowledged e, voting
				 * or not (flow control, retransmission)
				 */
	u8 dirty;
	u8 pad[3];
};

struct prbd_px_peer {
	u64 last_heard;		/* leader clock, any valid reply */
	u64 ack_ts;		/* newest echoed heartbeat ts (lease) */
	u64 applied;
	u64 sent_hi;		/* highest slot sent in a P2A */
	u64 last_p2b;		/* leader clock of its latest P2B */
	u8 promised;		/* phase 1 / pre-vote granted */
	u8 novote;		/* leader: its latest P2B/HB_R had F_NOVOTE */
	u8 np;			/* its promise had F_NOPROMISE */
	u8 sus;			/* its promise had F_SUSPECT */
	u8 pad[4];
};

struct prbd_px_p1best {
	struct prbd_px_entry e;
	u8 valid;
	u8 pad[7];
};

/*
 * An acceptor's FLUSH_R, sent once the device flush @tok completed (0:
 * not asked for yet, our records up to @b are still being written).
 */
struct prbd_px_flreply {
	u64 ballot, id, frontier, tok, b;
	u8 to;
	u8 pad[7];
};

#define PRBD_PX_FLQ	16

struct prbd_px {
	struct prbd_px_config cfg;
	u8 id, role, leader, role_changed;
	u8 needs_resync, transferring, prevote, p1_transfer;
	u8 preparing, any_dirty, transfer_to, hs_dirty;
	u16 voters, learners;
	u32 timeout;		/* current randomised election timeout */
	u32 lease_ms;
	u32 n_out, n_held, n_pend, pend_head;
	u32 p1_gen, log_full;	/* log_full: prbd_px_log_full() */
	u64 rng;
	u64 now;		/* last tick */
	u64 elapsed;		/* clamped ms since heard from a leader */
	u64 cand_elapsed;	/* clamped ms since candidacy started */
	u64 learn_req_at;

	u64 promised;		/* acceptor */
	u64 cfg_slot;
	u64 commit, applied, apply_next, log_start;
	u64 leader_commit;	/* newest commit hint seen */
	u64 resync_upto;	/* needs_resync until commit reaches it */

	u64 ballot;		/* our ballot as candidate/leader */
	u64 p1_from, p1_end, p1_maxrep;
	u64 p1_start;		/* when this run of phase 1 began */
	u8 p1_over;		/* some acceptor accepted beyond the range */
	u8 need_noop;
	u8 novote;		/* embedder: non-voting (see prbd_px_set_novote) */
	u8 nopromise;		/* embedder: amnesiac (prbd_px_set_nopromise) */
	u8 np_bound_set;	/* nopromise/suspect: np_bound learned */
	u8 suspect;		/* embedder: restarted uncleanly (flush mode) */
	u8 lossy;		/* leader: phase 1 counted suspect promises */
	u8 lossy_lead;		/* leader: a lossy phase 1 started this lead */
	u8 epoch_final;		/* epoch_new's base is complete */
	u8 nocampaign;		/* embedder: never leads (set_nocampaign) */
	u8 pad[6];
	u64 np_bound;		/* nopromise/suspect: cleared once applied */
	u64 epoch;		/* durable: see "Flush mode" */
	u64 epoch_base;		/* durable: the epoch's base (lossy leader) */
	u64 epoch_new, epoch_tok;	/* lossy leader: durable with batch tok */
	u64 erank;		/* durable: the epoch's rank (see "Flush mode") */
	u64 reset_epoch;	/* reset to this epoch ... */
	u64 reset_rank;		/* ... of this rank (0: no reset) */
	/* flush mode, acceptor: device flushes and the replies behind them */
	u64 fl_tok_req, fl_tok_issued, fl_tok_done;
	struct prbd_px_flreply flq[PRBD_PX_FLQ];
	u32 n_flq;
	/* flush mode, leader: one barrier round at a time */
	u16 bar_acks;		/* voters durable up to bar_b */
	u8 bar_self;		/* our own flush is requested */
	u8 pad2;
	u64 bar_next_id;	/* last id handed out */
	u64 bar_round;		/* ids <= this are covered by the round */
	u64 bar_b;		/* the round's bound B */
	u64 bar_sent;		/* when its FLUSH was last sent */
	u64 bar_self_tok, bar_self_d;
	u64 bar_done, bar_dropped;
	u64 np_quiet;		/* nopromise: ms left to stay silent */
	u64 sus_quiet;		/* suspect: ms before a heartbeat's bound counts */
	u64 next_slot;		/* leader: next free slot */
	u64 first_slot;		/* leader: first slot of this leadership */
	u64 cfg_pending;	/* leader: uncommitted config slot, 0: none */
	u64 next_hb, term_start, lease_until, lead_since, transfer_until;
	u64 leader_ballot;	/* ballot of the leader we last heard */
	u64 last_hb_ts;
	u64 drops;		/* messages dropped: outbox/held full */

	u64 tok_next, tok_issued, tok_done;
	u64 tok_hs;		/* last batch issued with a hard-state change */

	struct prbd_px_peer peer[PRBD_PX_MAX_NODES];
	struct prbd_px_slot log[PRBD_PX_LOG_CAP];
	struct prbd_px_p1best best[PRBD_PX_WINDOW_MAX];
	struct prbd_px_desc pend[PRBD_PX_PENDING_MAX];
	struct prbd_px_msg out[PRBD_PX_OUTBOX];
	struct prbd_px_msg held[PRBD_PX_HELD];
	u64 held_tok[PRBD_PX_HELD];
	struct prbd_px_entry pbuf[PRBD_PX_LOG_CAP];
	struct prbd_px_msg scratch;
};

#endif /* PRBD_PX_STATE_H */
