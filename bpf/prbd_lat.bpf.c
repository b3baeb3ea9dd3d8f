// SPDX-License-Identifier: GPL-2.0
/*
 * prbd latency histograms: tp_btf programs on the tracepoints of prbd.ko
 * (kmod/prbd_trace.h).  Each pair of events of one stage is matched through a
 * small LRU map of start times; the difference goes into a log2 histogram
 * of microseconds keyed by (minor, stage, peer) in prbd_hist.  prbd_cnt
 * counts events.  The tracepoints' arguments are scalars: no module
 * structure is read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "prbd_lat.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PRBD_LAT_MAX_HISTS);
	__type(key, struct prbd_lat_key);
	__type(value, struct prbd_lat_hist);
} prbd_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PRBD_LAT_MAX_CNTS);
	__type(key, struct prbd_cnt_key);
	__type(value, __u64);
} prbd_cnt SEC(".maps");

/* start times; entries whose end never comes are evicted (LRU) */
struct prbd_req_id {
	__u32 minor;
	__u32 tag;
};

struct prbd_req_start {
	__u64 ns;
	__u32 op;
	__u32 pad;
};

struct prbd_slot_id {
	__u32 minor;
	__u32 peer;
	__u64 slot;	/* or the log batch token */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct prbd_req_id);
	__type(value, struct prbd_req_start);
} prbd_req_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct prbd_req_id);
	__type(value, __u64);
} prbd_rwait_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct prbd_slot_id);
	__type(value, __u64);
} prbd_prop_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct prbd_slot_id);
	__type(value, __u64);
} prbd_commit_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct prbd_slot_id);
	__type(value, __u64);
} prbd_acc_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct prbd_slot_id);
	__type(value, __u64);
} prbd_log_ts SEC(".maps");

/* floor(log2(v)) for v > 0, without loops */
static __always_inline __u32 prbd_log2(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5; v >>= s; r |= s;
	s = (v > 0xffff) << 4; v >>= s; r |= s;
	s = (v > 0xff) << 3; v >>= s; r |= s;
	s = (v > 0xf) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	return r | (__u32)(v >> 1);
}

static __always_inline void prbd_count(__u32 minor, enum prbd_lat_counter counter,
				       __u32 peer)
{
	struct prbd_cnt_key k = { .minor = minor, .counter = counter,
				  .peer = peer };
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&prbd_cnt, &k);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return;
	}
	if (bpf_map_update_elem(&prbd_cnt, &k, &one, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&prbd_cnt, &k);	/* lost a race */
		if (v)
			__sync_fetch_and_add(v, 1);
	}
}

static __always_inline void prbd_record(__u32 minor, enum prbd_lat_stage stage,
					__u32 peer, __u64 start_ns)
{
	static const struct prbd_lat_hist zero;
	struct prbd_lat_key k = { .minor = minor, .stage = stage,
				  .peer = peer };
	struct prbd_lat_hist *h;
	__u64 now = bpf_ktime_get_ns(), us, b;

	if (!start_ns || now < start_ns)
		return;
	us = (now - start_ns) / 1000;
	h = bpf_map_lookup_elem(&prbd_hist, &k);
	if (!h) {
		bpf_map_update_elem(&prbd_hist, &k, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&prbd_hist, &k);
		if (!h)
			return;
	}
	b = us ? prbd_log2(us) : 0;
	if (b >= PRBD_LAT_SLOTS)
		b = PRBD_LAT_SLOTS - 1;
	/* keep clang from dropping the mask: the verifier needs it */
	asm volatile("" : "+r"(b));
	b &= PRBD_LAT_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[b], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_us, us);
}

/* the start time of @key in @map, removed; 0 if none */
static __always_inline __u64 prbd_take(void *map, const void *key)
{
	__u64 *p = bpf_map_lookup_elem(map, key), ns;

	if (!p)
		return 0;
	ns = *p;
	bpf_map_delete_elem(map, key);
	return ns;
}

/* --- requests ------------------------------------------------------------ */

SEC("tp_btf/prbd_req_queued")
int BPF_PROG(prbd_req_queued, u32 minor, u32 tag, u32 op, u64 sector,
	     u32 bytes)
{
	struct prbd_req_id id = { .minor = minor, .tag = tag };
	struct prbd_req_start st = { .ns = bpf_ktime_get_ns(), .op = op };

	bpf_map_update_elem(&prbd_req_ts, &id, &st, BPF_ANY);
	return 0;
}

SEC("tp_btf/prbd_req_done")
int BPF_PROG(prbd_req_done, u32 minor, u32 tag, u32 op, u64 sector,
	     u32 bytes, int result)
{
	struct prbd_req_id id = { .minor = minor, .tag = tag };
	struct prbd_req_start *st;
	enum prbd_lat_stage stage;
	__u64 ns;

	if (result)
		prbd_count(minor, PRBD_CNT_REQ_ERROR, 0);
	st = bpf_map_lookup_elem(&prbd_req_ts, &id);
	if (!st)
		return 0;
	ns = st->ns;
	bpf_map_delete_elem(&prbd_req_ts, &id);
	switch (op) {
	case REQ_OP_READ:
		stage = PRBD_LAT_READ;
		break;
	case REQ_OP_WRITE:
		stage = PRBD_LAT_WRITE;
		break;
	case REQ_OP_FLUSH:
		stage = PRBD_LAT_FLUSH;
		break;
	default:
		return 0;
	}
	prbd_record(minor, stage, 0, ns);
	return 0;
}

SEC("tp_btf/prbd_read_wait")
int BPF_PROG(prbd_read_wait, u32 minor, u32 tag, u64 sector, u32 bytes)
{
	struct prbd_req_id id = { .minor = minor, .tag = tag };
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&prbd_rwait_ts, &id, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/prbd_read_local")
int BPF_PROG(prbd_read_local, u32 minor, u32 tag, u64 sector, u32 bytes,
	     u32 waited)
{
	struct prbd_req_id id = { .minor = minor, .tag = tag };

	if (!waited) {
		prbd_count(minor, PRBD_CNT_READ_LOCAL, 0);
		return 0;
	}
	prbd_count(minor, PRBD_CNT_READ_WAITED, 0);
	prbd_record(minor, PRBD_LAT_READ_WAIT, 0, prbd_take(&prbd_rwait_ts, &id));
	return 0;
}

/* --- slots ----------------------------------------------------------------- */

SEC("tp_btf/prbd_slot_proposed")
int BPF_PROG(prbd_slot_proposed, u32 minor, u64 slot, u64 ballot, u32 kind,
	     u32 n_desc, u32 bytes)
{
	struct prbd_slot_id id = { .minor = minor, .slot = slot };
	__u64 now = bpf_ktime_get_ns();

	prbd_count(minor, PRBD_CNT_SLOT_PROPOSED, 0);
	/* a re-proposal by a new leadership keeps the first time */
	bpf_map_update_elem(&prbd_prop_ts, &id, &now, BPF_NOEXIST);
	return 0;
}

SEC("tp_btf/prbd_slot_committed")
int BPF_PROG(prbd_slot_committed, u32 minor, u64 slot)
{
	struct prbd_slot_id id = { .minor = minor, .slot = slot };
	__u64 now = bpf_ktime_get_ns();

	prbd_count(minor, PRBD_CNT_SLOT_COMMITTED, 0);
	prbd_record(minor, PRBD_LAT_PROPOSE, 0, prbd_take(&prbd_prop_ts, &id));
	bpf_map_update_elem(&prbd_commit_ts, &id, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/prbd_slot_applied")
int BPF_PROG(prbd_slot_applied, u32 minor, u64 slot, int result)
{
	struct prbd_slot_id id = { .minor = minor, .slot = slot };

	prbd_count(minor, PRBD_CNT_SLOT_APPLIED, 0);
	prbd_record(minor, PRBD_LAT_APPLY, 0, prbd_take(&prbd_commit_ts, &id));
	return 0;
}

/* --- accepts, per peer --------------------------------------------------- */

SEC("tp_btf/prbd_accept_sent")
int BPF_PROG(prbd_accept_sent, u32 minor, u32 peer, u64 slot, u64 ballot)
{
	struct prbd_slot_id id = { .minor = minor, .peer = peer, .slot = slot };
	__u64 now = bpf_ktime_get_ns();

	prbd_count(minor, PRBD_CNT_ACCEPT_SENT, peer);
	/* a retransmission keeps the first send time */
	bpf_map_update_elem(&prbd_acc_ts, &id, &now, BPF_NOEXIST);
	return 0;
}

SEC("tp_btf/prbd_accept_acked")
int BPF_PROG(prbd_accept_acked, u32 minor, u32 peer, u64 slot, u64 ballot)
{
	struct prbd_slot_id id = { .minor = minor, .peer = peer, .slot = slot };

	prbd_count(minor, PRBD_CNT_ACCEPT_ACKED, peer);
	prbd_record(minor, PRBD_LAT_ACCEPT, peer, prbd_take(&prbd_acc_ts, &id));
	return 0;
}

/* --- local log ------------------------------------------------------------ */

SEC("tp_btf/prbd_log_submit")
int BPF_PROG(prbd_log_submit, u32 minor, u64 token, u32 n_ents)
{
	struct prbd_slot_id id = { .minor = minor, .slot = token };
	__u64 now = bpf_ktime_get_ns();

	/* a retry after a full log keeps the first submission time */
	bpf_map_update_elem(&prbd_log_ts, &id, &now, BPF_NOEXIST);
	return 0;
}

SEC("tp_btf/prbd_log_durable")
int BPF_PROG(prbd_log_durable, u32 minor, u64 token, int result)
{
	struct prbd_slot_id id = { .minor = minor, .slot = token };
	__u64 ns = prbd_take(&prbd_log_ts, &id);

	if (result) {
		prbd_count(minor, PRBD_CNT_LOG_ERROR, 0);
		return 0;
	}
	prbd_count(minor, PRBD_CNT_LOG_BATCH, 0);
	prbd_record(minor, PRBD_LAT_LOG, 0, ns);
	return 0;
}

/* --- leadership, resync --------------------------------------------------- */

SEC("tp_btf/prbd_leader_change")
int BPF_PROG(prbd_leader_change, u32 minor, u32 role, u32 leader, u64 ballot)
{
	prbd_count(minor, PRBD_CNT_LEADER_CHANGE, 0);
	return 0;
}

SEC("tp_btf/prbd_resync_progress")
int BPF_PROG(prbd_resync_progress, u32 minor, u32 peer, u64 done, u64 total)
{
	prbd_count(minor, PRBD_CNT_RESYNC_EVENT, peer);
	return 0;
}
