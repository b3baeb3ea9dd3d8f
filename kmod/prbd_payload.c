// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the payload cache, by descriptor id.
 *
 * The payload cache (struct prbd_payload) holds the data of writes whose
 * slot is not applied yet: copies of the primary's requests (what is sent
 * to the peers) and the payloads received from the leader (what a follower
 * logs and applies).  A payload not in the cache is read back from the
 * local log (prbd_log_payload()).
 *
 * It is bounded (prbd_pl_evict()): a payload is needed while in use (a
 * send, a log write, an apply holds a reference), while an entry of the
 * core's log or of the persist batch names it, or while it is this node's
 * own write, queued or proposed.  Payloads needed by none (never chosen:
 * a deposed leader's, a no-op'd slot's, one a resync skipped, or a peer's
 * junk) may fill PRBD_PL_IDLE_MAX; past that the oldest go.  A leader
 * change and a log truncation drop them all, but those cached within the
 * last second: the accept that names a payload follows it on the
 * connection and may not have reached the core yet.  A resync install
 * keeps the bound only (prbd_rs_installed()): a node that resyncs lags,
 * and payloads relayed to it may run well ahead of their accepts.
 *
 * Locking: dp->pl_lock (spinlock) protects the hash, the LRU list and the
 * counters; dp->pl_evict_lock serialises evictions (and dp->pl_ids); an
 * eviction reads what is needed under px_lock, drops it, then takes
 * pl_lock (prbd_pl_evict()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uio.h>

#include "prbd_int.h"
#include "prbd_dp.h"

static u32 prbd_pl_hash(u64 id)
{
	return hash_64(id, PRBD_PL_HASH_BITS);
}

void prbd_pl_put(struct prbd_payload *pl)
{
	unsigned int i;

	if (!pl || !refcount_dec_and_test(&pl->ref))
		return;
	for (i = 0; i < pl->nr; i++)
		mempool_free(pl->pages[i], pl->dp->page_pool);
	mempool_free(pl, pl->dp->pl_pool);
}

/* A payload of @len bytes from dp->pl_pool, without its pages yet. */
struct prbd_payload *prbd_pl_new(struct prbd_dp *dp, u64 id, u32 len,
				 gfp_t gfp)
{
	unsigned int nr = DIV_ROUND_UP(len, PAGE_SIZE);
	struct prbd_payload *pl;

	pl = mempool_alloc(dp->pl_pool, gfp);
	if (!pl)
		return NULL;
	memset(pl, 0, prbd_pl_size(nr));
	pl->dp = dp;
	pl->bvec = (struct bio_vec *)&pl->pages[nr];
	refcount_set(&pl->ref, 1);
	pl->id = id;
	pl->len = len;
	return pl;
}

/*
 * A payload with its pages, from the pools without waiting: it is made in
 * queue_rq (the primary's copy) or by the receive path, and the pools'
 * elements only come back as slots are applied.  NULL: retry later.
 */
struct prbd_payload *prbd_pl_alloc(struct prbd_dp *dp, u64 id, u32 len)
{
	const gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	unsigned int i, nr = DIV_ROUND_UP(len, PAGE_SIZE);
	struct prbd_payload *pl;

	pl = prbd_pl_new(dp, id, len, gfp);
	if (!pl)
		return NULL;
	for (i = 0; i < nr; i++) {
		pl->pages[i] = mempool_alloc(dp->page_pool, gfp);
		if (!pl->pages[i]) {
			prbd_pl_put(pl);
			return NULL;
		}
		pl->nr++;
		bvec_set_page(&pl->bvec[i], pl->pages[i],
			      min_t(u32, PAGE_SIZE, len - i * PAGE_SIZE), 0);
	}
	return pl;
}

static int prbd_pl_id_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static bool prbd_pl_id_in(const u64 *ids, u32 n, u64 id)
{
	u32 lo = 0, hi = n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return true;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * prbd_pl_needed() - the ids whose payloads the cache must keep
 * @dp: the data path
 * @ids: room for PRBD_PL_IDS_MAX ids
 *
 * This node's writes queued or proposed, and every write an entry of the
 * core's log or of a persist batch in flight names (accepted, being logged, or
 * chosen and not applied yet).  See prbd_pl_evict().
 *
 * Context: px_lock held.
 * Return: the number of ids in @ids.
 */
static u32 prbd_pl_needed(struct prbd_dp *dp, u64 *ids)
{
	const struct prbd_px_entry *e;
	struct prbd_px_status st;
	struct prbd_batch *b;
	struct prbd_io *cmd;
	u32 n = 0, i, j, k;
	u64 slot;

	list_for_each_entry(cmd, &dp->incoming, list)
		if (n < PRBD_DP_QUEUE_DEPTH)
			ids[n++] = cmd->id;
	for (i = 0; i < dp->tag_set.queue_depth; i++)
		if (dp->cmds[i] && n < PRBD_DP_QUEUE_DEPTH)
			ids[n++] = dp->cmds[i]->id;
	prbd_px_status(dp->px, &st);
	for (slot = st.log_start; slot < st.log_start + PRBD_PX_LOG_CAP;
	     slot++) {
		e = prbd_px_entry_at(dp->px, slot);
		if (!e || e->slot != slot || e->kind != PRBD_PX_K_DATA)
			continue;
		for (j = 0; j < e->n_desc && j < PRBD_PX_BATCH; j++)
			ids[n++] = e->desc[j].id;
	}
	for (k = 0; k < dp->b_n; k++) {
		b = &dp->batches[(dp->b_head + k) % PRBD_DP_PERSIST_WINDOW];
		for (i = 0; i < b->n_ents; i++) {
			e = &b->ents[i];
			if (e->kind != PRBD_PX_K_DATA)
				continue;
			for (j = 0; j < e->n_desc && j < PRBD_PX_BATCH; j++)
				ids[n++] = e->desc[j].id;
		}
	}
	return n;
}

/**
 * prbd_pl_evict() - drop cached payloads no one needs, oldest first
 * @dp: the data path
 * @keep: stop once no more than this many bytes of them are left; 0: drop
 *	all but those cached within the last second
 * @wait: wait for an eviction running elsewhere (else leave it the work)
 *
 * Context: process, no lock held (takes px_lock, then pl_lock).
 */
void prbd_pl_evict(struct prbd_dp *dp, u64 keep, bool wait)
{
	struct prbd_payload *pl, *tmp;
	u64 idle = 0, needed = 0;
	LIST_HEAD(gone);
	u32 n;

	if (!wait && !mutex_trylock(&dp->pl_evict_lock))
		return;
	if (wait)
		mutex_lock(&dp->pl_evict_lock);
	if (!dp->pl_ids) {	/* no peers, or stopped */
		mutex_unlock(&dp->pl_evict_lock);
		return;
	}
	spin_lock(&dp->px_lock);
	n = prbd_pl_needed(dp, dp->pl_ids);
	spin_unlock(&dp->px_lock);
	sort(dp->pl_ids, n, sizeof(*dp->pl_ids), prbd_pl_id_cmp, NULL);

	spin_lock(&dp->pl_lock);
	list_for_each_entry(pl, &dp->pl_lru, lru) {
		/* the cache's own reference and no other: not in use */
		pl->needed = refcount_read(&pl->ref) > 1 ||
			     prbd_pl_id_in(dp->pl_ids, n, pl->id);
		if (pl->needed)
			needed += pl->len;
		else
			idle += pl->len;
	}
	list_for_each_entry_safe(pl, tmp, &dp->pl_lru, lru) {
		if (idle <= keep)
			break;
		if (pl->needed ||
		    (!keep && time_before(jiffies, pl->at + HZ)))
			continue;
		hlist_del(&pl->node);
		list_move_tail(&pl->lru, &gone);
		dp->pl_count--;
		dp->pl_bytes -= pl->len;
		dp->pl_evicted++;
		idle -= pl->len;
	}
	dp->pl_needed_bytes = needed;
	spin_unlock(&dp->pl_lock);
	mutex_unlock(&dp->pl_evict_lock);

	list_for_each_entry_safe(pl, tmp, &gone, lru) {
		list_del(&pl->lru);
		prbd_pl_put(pl);
	}
}

/* Insert @pl (the cache takes a reference); an existing id wins. */
void prbd_pl_insert(struct prbd_dp *dp, struct prbd_payload *pl)
{
	struct prbd_payload *old;
	u32 h = prbd_pl_hash(pl->id);
	bool over;

	spin_lock(&dp->pl_lock);
	hlist_for_each_entry(old, &dp->pl_hash[h], node)
		if (old->id == pl->id)
			goto out_unlock;
	refcount_inc(&pl->ref);
	hlist_add_head(&pl->node, &dp->pl_hash[h]);
	list_add_tail(&pl->lru, &dp->pl_lru);
	pl->at = jiffies;
	pl->needed = false;
	dp->pl_count++;
	dp->pl_bytes += pl->len;
out_unlock:
	over = dp->pl_bytes > dp->pl_needed_bytes + PRBD_PL_IDLE_MAX;
	spin_unlock(&dp->pl_lock);
	atomic_inc(&dp->pl_gen);
	if (wq_has_sleeper(&dp->pl_wq))	/* a batch misses a payload */
		wake_up_all(&dp->pl_wq);
	if (over)
		prbd_pl_evict(dp, PRBD_PL_IDLE_MAX, false);
}

/**
 * prbd_pl_get() - a payload from the cache
 * @dp: the data path
 * @id: the descriptor id
 *
 * Return: the payload with a reference (prbd_pl_put()), or NULL.
 */
struct prbd_payload *prbd_pl_get(struct prbd_dp *dp, u64 id)
{
	struct prbd_payload *pl;

	spin_lock(&dp->pl_lock);
	hlist_for_each_entry(pl, &dp->pl_hash[prbd_pl_hash(id)], node) {
		if (pl->id == id) {
			refcount_inc(&pl->ref);
			spin_unlock(&dp->pl_lock);
			return pl;
		}
	}
	spin_unlock(&dp->pl_lock);
	return NULL;
}

/**
 * prbd_pl_drop() - remove a payload from the cache (its slot is applied)
 * @dp: the data path
 * @id: the descriptor id
 */
void prbd_pl_drop(struct prbd_dp *dp, u64 id)
{
	struct prbd_payload *pl, *found = NULL;

	spin_lock(&dp->pl_lock);
	hlist_for_each_entry(pl, &dp->pl_hash[prbd_pl_hash(id)], node) {
		if (pl->id == id) {
			hlist_del(&pl->node);
			list_del(&pl->lru);
			dp->pl_count--;
			dp->pl_bytes -= pl->len;
			if (pl->needed)
				dp->pl_needed_bytes -= min_t(u64, pl->len,
							     dp->pl_needed_bytes);
			found = pl;
			break;
		}
	}
	spin_unlock(&dp->pl_lock);
	prbd_pl_put(found);
}

void prbd_pl_drop_all(struct prbd_dp *dp)
{
	struct prbd_payload *pl;
	struct hlist_node *tmp;
	u32 h;

	spin_lock(&dp->pl_lock);
	for (h = 0; h < ARRAY_SIZE(dp->pl_hash); h++) {
		hlist_for_each_entry_safe(pl, tmp, &dp->pl_hash[h], node) {
			hlist_del(&pl->node);
			list_del(&pl->lru);
			prbd_pl_put(pl);
		}
	}
	dp->pl_count = 0;
	dp->pl_bytes = 0;
	dp->pl_needed_bytes = 0;
	spin_unlock(&dp->pl_lock);
}

/**
 * prbd_pl_from_rq() - cache a copy of a write request's data (primary)
 * @dp: the data path
 * @io: the request, its id set; its csum is set to the copy's crc32c
 *
 * The only read of the request's pages: everything after (the checksum,
 * the DATA frames, the log record, the apply) uses the copy, so a page the
 * writer redirties meanwhile (no stable pages asked for) cannot make them
 * disagree.
 *
 * Return: 0 or -ENOMEM.
 */
int prbd_pl_from_rq(struct prbd_dp *dp, struct prbd_io *io)
{
	struct req_iterator iter;
	struct prbd_payload *pl;
	struct iov_iter it;
	struct bio_vec bv;
	u32 crc = ~0U, i;
	size_t n;
	void *src;

	pl = prbd_pl_alloc(dp, io->id, blk_rq_bytes(io->rq));
	if (!pl)
		return -ENOMEM;
	/* READ: the iterator is the destination */
	iov_iter_bvec(&it, READ, pl->bvec, pl->nr, pl->len);
	rq_for_each_segment(bv, io->rq, iter) {
		src = bvec_kmap_local(&bv);
		n = copy_to_iter(src, bv.bv_len, &it);
		kunmap_local(src);
		if (n != bv.bv_len) {
			prbd_pl_put(pl);
			return -EINVAL;
		}
	}
	for (i = 0; i < pl->nr; i++)
		crc = crc32c(crc, page_address(pl->pages[i]),
			     pl->bvec[i].bv_len);
	io->csum = ~crc;
	prbd_pl_insert(dp, pl);
	prbd_pl_put(pl);
	return 0;
}
