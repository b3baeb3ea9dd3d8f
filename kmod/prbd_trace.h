/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd tracepoints: one per stage of the replicated write path, plus reads,
 * leadership and resync.  Every argument is a scalar, so a BPF program
 * (tp_btf/prbd_*) needs no module structure layout; they cost one static
 * branch each while nothing is attached.
 *
 * A write on the leader:
 *   prbd_req_queued -> prbd_slot_proposed -> prbd_accept_sent (each peer)
 *   and prbd_log_submit -> prbd_log_durable (local log) -> prbd_accept_acked
 *   (each peer) -> prbd_slot_committed -> prbd_slot_applied -> prbd_req_done
 *
 * Keys that pair events: (minor, tag) for requests, (minor, slot) for
 * slots, (minor, peer, slot) for accepts, (minor, token) for log batches.
 * bpf/prbd_lat.bpf.c turns them into latency histograms.
 *
 * prbd_trace.c instantiates them (the one CREATE_TRACE_POINTS); the data
 * path includes prbd_trace_helpers.h, which includes this file.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM prbd

#if !defined(PRBD_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define PRBD_TRACE_H

#include <linux/blk_types.h>
#include <linux/tracepoint.h>

/* so that tracefs users (perf, trace-cmd) can resolve the names */
TRACE_DEFINE_ENUM(REQ_OP_READ);
TRACE_DEFINE_ENUM(REQ_OP_WRITE);
TRACE_DEFINE_ENUM(REQ_OP_FLUSH);
TRACE_DEFINE_ENUM(REQ_OP_DISCARD);
TRACE_DEFINE_ENUM(REQ_OP_WRITE_ZEROES);

#define prbd_show_op(op)						\
	__print_symbolic(op,						\
			 { REQ_OP_READ, "read" },			\
			 { REQ_OP_WRITE, "write" },			\
			 { REQ_OP_FLUSH, "flush" },			\
			 { REQ_OP_DISCARD, "discard" },		\
			 { REQ_OP_WRITE_ZEROES, "write_zeroes" })

/*
 * prbd_req_queued - a request entered queue_rq
 * @minor: the device minor
 * @tag: the blk-mq tag, unique among the device's requests in flight
 * @op: REQ_OP_*
 * @sector: first 512-byte sector of the device
 * @bytes: length
 */
TRACE_EVENT(prbd_req_queued,
	    TP_PROTO(u32 minor, u32 tag, u32 op, u64 sector, u32 bytes),
	    TP_ARGS(minor, tag, op, sector, bytes),
	    TP_STRUCT__entry(__field(u32, minor)
			     __field(u32, tag)
			     __field(u32, op)
			     __field(u32, bytes)
			     __field(u64, sector)),
	    TP_fast_assign(__entry->minor = minor;
			   __entry->tag = tag;
			   __entry->op = op;
			   __entry->bytes = bytes;
			   __entry->sector = sector;),
	    TP_printk("minor=%u tag=%u op=%s sector=%llu bytes=%u",
		      __entry->minor, __entry->tag, prbd_show_op(__entry->op),
		      __entry->sector, __entry->bytes)
);

/*
 * prbd_req_done - a request is completed
 * @result: 0 or a negative errno
 */
TRACE_EVENT(prbd_req_done,
	    TP_PROTO(u32 minor, u32 tag, u32 op, u64 sector, u32 bytes,
		     int result),
	    TP_ARGS(minor, tag, op, sector, bytes, result),
	    TP_STRUCT__entry(__field(u32, minor)
			     __field(u32, tag)
			     __field(u32, op)
			     __field(u32, bytes)
			     __field(u64, sector)
			     __field(int, result)),
	    TP_fast_assign(__entry->minor = minor;
			   __entry->tag = tag;
			   __entry->op = op;
			   __entry->bytes = bytes;
			   __entry->sector = sector;
			   __entry->result = result;),
	    TP_printk("minor=%u tag=%u op=%s sector=%llu bytes=%u result=%d",
		      __entry->minor, __entry->tag, prbd_show_op(__entry->op),
		      __entry->sector, __entry->bytes, __entry->result)
);

/*
 * prbd_slot_proposed - the leader put a value into a slot at its ballot
 * @kind: enum prbd_px_kind (1 no-op, 2 data, 3 configuration)
 * @n_desc: write descriptors in the slot
 * @bytes: their total length
 */
TRACE_EVENT(prbd_slot_proposed,
	    TP_PROTO(u32 minor, u64 slot, u64 ballot, u32 kind, u32 n_desc,
		     u32 bytes),
	    TP_ARGS(minor, slot, ballot, kind, n_desc, bytes),
	    TP_STRUCT__entry(__field(u64, slot)
			     __field(u64, ballot)
			     __field(u32, minor)
			     __field(u32, kind)
			     __field(u32, n_desc)
			     __field(u32, bytes)),
	    TP_fast_assign(__entry->slot = slot;
			   __entry->ballot = ballot;
			   __entry->minor = minor;
			   __entry->kind = kind;
			   __entry->n_desc = n_desc;
			   __entry->bytes = bytes;),
	    TP_printk("minor=%u slot=%llu ballot=%llu kind=%u n_desc=%u bytes=%u",
		      __entry->minor, __entry->slot, __entry->ballot,
		      __entry->kind, __entry->n_desc, __entry->bytes)
);

/* one slot of an accept (P2A) sent to, or acknowledged (P2B) by, a peer */
DECLARE_EVENT_CLASS(prbd_accept_class,
		    TP_PROTO(u32 minor, u32 peer, u64 slot, u64 ballot),
		    TP_ARGS(minor, peer, slot, ballot),
		    TP_STRUCT__entry(__field(u64, slot)
				     __field(u64, ballot)
				     __field(u32, minor)
				     __field(u32, peer)),
		    TP_fast_assign(__entry->slot = slot;
				   __entry->ballot = ballot;
				   __entry->minor = minor;
				   __entry->peer = peer;),
		    TP_printk("minor=%u peer=%u slot=%llu ballot=%llu",
			      __entry->minor, __entry->peer, __entry->slot,
			      __entry->ballot)
);

DEFINE_EVENT(prbd_accept_class, prbd_accept_sent,
	     TP_PROTO(u32 minor, u32 peer, u64 slot, u64 ballot),
	     TP_ARGS(minor, peer, slot, ballot)
);

DEFINE_EVENT(prbd_accept_class, prbd_accept_acked,
	     TP_PROTO(u32 minor, u32 peer, u64 slot, u64 ballot),
	     TP_ARGS(minor, peer, slot, ballot)
);

/*
 * prbd_log_submit - a persist batch goes to the local log (FUA records,
 * then the acceptor state if it changed); a retry after a full log fires
 * it again with the same token
 * @token: the batch's token
 * @n_ents: log entries in the batch
 */
TRACE_EVENT(prbd_log_submit,
	    TP_PROTO(u32 minor, u64 token, u32 n_ents),
	    TP_ARGS(minor, token, n_ents),
	    TP_STRUCT__entry(__field(u64, token)
			     __field(u32, minor)
			     __field(u32, n_ents)),
	    TP_fast_assign(__entry->token = token;
			   __entry->minor = minor;
			   __entry->n_ents = n_ents;),
	    TP_printk("minor=%u token=%llu n_ents=%u", __entry->minor,
		      __entry->token, __entry->n_ents)
);

/*
 * prbd_log_durable - the batch is stable (result 0) or failed
 */
TRACE_EVENT(prbd_log_durable,
	    TP_PROTO(u32 minor, u64 token, int result),
	    TP_ARGS(minor, token, result),
	    TP_STRUCT__entry(__field(u64, token)
			     __field(u32, minor)
			     __field(int, result)),
	    TP_fast_assign(__entry->token = token;
			   __entry->minor = minor;
			   __entry->result = result;),
	    TP_printk("minor=%u token=%llu result=%d", __entry->minor,
		      __entry->token, __entry->result)
);

/*
 * prbd_slot_committed - the slot is chosen and its chosen state durable:
 * handed out for apply (every node, once per slot)
 */
TRACE_EVENT(prbd_slot_committed,
	    TP_PROTO(u32 minor, u64 slot),
	    TP_ARGS(minor, slot),
	    TP_STRUCT__entry(__field(u64, slot)
			     __field(u32, minor)),
	    TP_fast_assign(__entry->slot = slot;
			   __entry->minor = minor;),
	    TP_printk("minor=%u slot=%llu", __entry->minor, __entry->slot)
);

/*
 * prbd_slot_applied - the slot's data is written to the data area
 * @result: 0 or the first error of its writes
 */
TRACE_EVENT(prbd_slot_applied,
	    TP_PROTO(u32 minor, u64 slot, int result),
	    TP_ARGS(minor, slot, result),
	    TP_STRUCT__entry(__field(u64, slot)
			     __field(u32, minor)
			     __field(int, result)),
	    TP_fast_assign(__entry->slot = slot;
			   __entry->minor = minor;
			   __entry->result = result;),
	    TP_printk("minor=%u slot=%llu result=%d", __entry->minor,
		      __entry->slot, __entry->result)
);

/*
 * prbd_read_wait - a read on the primary waits for the leader lease
 */
TRACE_EVENT(prbd_read_wait,
	    TP_PROTO(u32 minor, u32 tag, u64 sector, u32 bytes),
	    TP_ARGS(minor, tag, sector, bytes),
	    TP_STRUCT__entry(__field(u64, sector)
			     __field(u32, minor)
			     __field(u32, tag)
			     __field(u32, bytes)),
	    TP_fast_assign(__entry->sector = sector;
			   __entry->minor = minor;
			   __entry->tag = tag;
			   __entry->bytes = bytes;),
	    TP_printk("minor=%u tag=%u sector=%llu bytes=%u", __entry->minor,
		      __entry->tag, __entry->sector, __entry->bytes)
);

/*
 * prbd_read_local - a read is submitted to the local data area
 * @waited: 1 if it waited for the lease first (prbd_read_wait)
 */
TRACE_EVENT(prbd_read_local,
	    TP_PROTO(u32 minor, u32 tag, u64 sector, u32 bytes, u32 waited),
	    TP_ARGS(minor, tag, sector, bytes, waited),
	    TP_STRUCT__entry(__field(u64, sector)
			     __field(u32, minor)
			     __field(u32, tag)
			     __field(u32, bytes)
			     __field(u32, waited)),
	    TP_fast_assign(__entry->sector = sector;
			   __entry->minor = minor;
			   __entry->tag = tag;
			   __entry->bytes = bytes;
			   __entry->waited = waited;),
	    TP_printk("minor=%u tag=%u sector=%llu bytes=%u waited=%u",
		      __entry->minor, __entry->tag, __entry->sector,
		      __entry->bytes, __entry->waited)
);

/*
 * prbd_leader_change - the Paxos role, the known leader or the promised
 * ballot changed
 * @role: enum prbd_paxos_role (uapi/prbd.h)
 * @leader: leader node id, 0 if unknown
 */
TRACE_EVENT(prbd_leader_change,
	    TP_PROTO(u32 minor, u32 role, u32 leader, u64 ballot),
	    TP_ARGS(minor, role, leader, ballot),
	    TP_STRUCT__entry(__field(u64, ballot)
			     __field(u32, minor)
			     __field(u32, role)
			     __field(u32, leader)),
	    TP_fast_assign(__entry->ballot = ballot;
			   __entry->minor = minor;
			   __entry->role = role;
			   __entry->leader = leader;),
	    TP_printk("minor=%u role=%u leader=%u ballot=%llu", __entry->minor,
		      __entry->role, __entry->leader, __entry->ballot)
);

/*
 * prbd_resync_progress - a resync into this node started, progressed
 * (about once a second), ended or was interrupted
 * @peer: the node it copies from (0: none yet)
 * @done: bytes copied so far
 * @total: bytes to copy
 */
TRACE_EVENT(prbd_resync_progress,
	    TP_PROTO(u32 minor, u32 peer, u64 done, u64 total),
	    TP_ARGS(minor, peer, done, total),
	    TP_STRUCT__entry(__field(u64, done)
			     __field(u64, total)
			     __field(u32, minor)
			     __field(u32, peer)),
	    TP_fast_assign(__entry->done = done;
			   __entry->total = total;
			   __entry->minor = minor;
			   __entry->peer = peer;),
	    TP_printk("minor=%u peer=%u done=%llu total=%llu", __entry->minor,
		      __entry->peer, __entry->done, __entry->total)
);

#endif /* PRBD_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE prbd_trace
#include <trace/define_trace.h>
