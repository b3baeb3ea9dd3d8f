/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd latency histograms: the map layout shared by the BPF programs
 * (prbd_lat.bpf.c) and their reader (prbd_lat.c).  Key and value are named
 * structs so that `bpftool map dump pinned /sys/fs/bpf/prbd/prbd_hist`
 * prints them field by field from the maps' BTF.
 */
#ifndef PRBD_LAT_H
#define PRBD_LAT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "../kmod/uapi/prbd.h"	/* PRBD_MINOR_MAX, PRBD_NODE_ID_MAX */

/* where prbd-lat pins the maps and the links */
#define PRBD_LAT_PIN_DIR	"/sys/fs/bpf/prbd"

/*
 * log2 buckets of microseconds, as biolatency: bucket 0 holds 0-1 us,
 * bucket k (k >= 1) holds [2^k, 2^(k+1)) us; the last one everything above.
 */
#define PRBD_LAT_SLOTS		32	/* a power of two; the last from 2^31 us */

/* The stages of the replicated path (the histograms' "stage" key). */
enum prbd_lat_stage {
	PRBD_LAT_READ,		/* read request: queue_rq to completion */
	PRBD_LAT_WRITE,		/* write request: queue_rq to completion */
	PRBD_LAT_FLUSH,		/* flush request: queue_rq to completion */
	PRBD_LAT_PROPOSE,	/* leader: slot proposed to committed */
	PRBD_LAT_ACCEPT,	/* leader: accept sent to a peer to its ack */
	PRBD_LAT_LOG,		/* local log batch: submitted to durable */
	PRBD_LAT_APPLY,		/* slot committed to applied */
	PRBD_LAT_READ_WAIT,	/* read waiting for the leader lease */
	PRBD_LAT_NR_STAGES,
};

/* Event counters (the counters' "counter" key). */
enum prbd_lat_counter {
	PRBD_CNT_READ_LOCAL,	/* reads served at once from the data area */
	PRBD_CNT_READ_WAITED,	/* reads that waited for the lease */
	PRBD_CNT_REQ_ERROR,	/* requests completed with an error */
	PRBD_CNT_SLOT_PROPOSED,
	PRBD_CNT_SLOT_COMMITTED,
	PRBD_CNT_SLOT_APPLIED,
	PRBD_CNT_ACCEPT_SENT,	/* per peer */
	PRBD_CNT_ACCEPT_ACKED,	/* per peer */
	PRBD_CNT_LOG_BATCH,	/* log batches made durable */
	PRBD_CNT_LOG_ERROR,
	PRBD_CNT_LEADER_CHANGE,
	PRBD_CNT_RESYNC_EVENT,
	PRBD_CNT_NR,
};

/**
 * struct prbd_lat_key - one histogram (enums are 4 bytes with gcc and clang;
 * bpftool prints them by name)
 * @minor: the device minor
 * @stage: the stage
 * @peer: the peer's node id for PRBD_LAT_ACCEPT, else 0
 */
struct prbd_lat_key {
	__u32 minor;
	enum prbd_lat_stage stage;
	__u32 peer;
};

/**
 * struct prbd_lat_hist - a log2 histogram of microseconds
 * @slots: events per bucket
 * @count: events
 * @sum_us: their total, microseconds
 */
struct prbd_lat_hist {
	__u64 slots[PRBD_LAT_SLOTS];
	__u64 count;
	__u64 sum_us;
};

/**
 * struct prbd_cnt_key - one counter
 * @minor: the device minor
 * @counter: the counter
 * @peer: the peer's node id for per-peer counters, else 0
 */
struct prbd_cnt_key {
	__u32 minor;
	enum prbd_lat_counter counter;
	__u32 peer;
};

#define PRBD_LAT_MAX_HISTS	1024	/* entries of prbd_hist */
#define PRBD_LAT_MAX_CNTS	1024	/* entries of prbd_cnt */

#endif /* PRBD_LAT_H */
