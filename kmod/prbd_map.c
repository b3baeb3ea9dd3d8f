// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the slot map - per chunk of the data area, the last slot that
 * wrote it; what a bulk resync (prbd_resync.c) copies and what an online
 * verify (prbd_verify.c) checks against.
 *
 * Slot map.  For every chunk of the data area (2^map_chunk_shift bytes)
 * each node records the highest slot whose write, discard or zeroing
 * touched it, when it starts applying that slot (prbd_map_note()) and when
 * it replays its log.  The entries only grow.  A checkpoint writes the
 * changed entry blocks, flushes, and writes a map header saying which
 * applied slot the entries cover, before the acceptor state records that
 * slot as applied; so after a crash the entries cover every slot up to the
 * durable applied index, and the log replay notes the rest.  Without an
 * intact header every entry is raised to the applied index (everything
 * counts as changed).  The map needs no state per peer: a node that
 * applied every slot up to X is missing exactly the chunks whose entry is
 * above X on an up-to-date node, however long it was away.
 *
 * Locking: dp->map_lock (spinlock) protects the entries and their dirty
 * bits; it nests inside nothing and nothing is taken under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "prbd_int.h"
#include "prbd_dp.h"

#define PRBD_MAP_PER_PAGE	(PAGE_SIZE / sizeof(u64))

/**
 * prbd_map_note() - record that @slot writes bytes [@off, @off + @len)
 * @dp: the data path
 * @off: byte offset in the data area
 * @len: bytes
 * @slot: the slot (or, for resync data, the source's entry)
 */
void prbd_map_note(struct prbd_dp *dp, u64 off, u64 len, u64 slot)
{
	u64 c, last;

	if (!dp->map || !len)
		return;
	c = prbd_map_chunk(dp, off);
	last = min(prbd_map_chunk(dp, off + len - 1), dp->map_chunks - 1);
	spin_lock(&dp->map_lock);
	for (; c <= last; c++) {
		if (dp->map[c] >= slot)
			continue;
		dp->map[c] = slot;
		__set_bit(c / PRBD_MAP_PER_PAGE, dp->map_dirty);
	}
	spin_unlock(&dp->map_lock);
}

/* The highest entry of the chunks of bytes [@off, @off + @len). */
u64 prbd_map_max(struct prbd_dp *dp, u64 off, u64 len)
{
	u64 c, last, v = 0;

	if (!dp->map)
		return U64_MAX;
	c = prbd_map_chunk(dp, off);
	last = min(prbd_map_chunk(dp, off + len - 1), dp->map_chunks - 1);
	spin_lock(&dp->map_lock);
	for (; c <= last; c++)
		v = max(v, dp->map[c]);
	spin_unlock(&dp->map_lock);
	return v;
}

void prbd_map_note_entry(struct prbd_dp *dp, const struct prbd_px_entry *e)
{
	u32 j;

	if (e->kind != PRBD_PX_K_DATA)
		return;
	for (j = 0; j < e->n_desc && j < PRBD_PX_BATCH; j++)
		prbd_map_note(dp, e->desc[j].sector << SECTOR_SHIFT,
			      e->desc[j].len, e->slot);
}

/**
 * prbd_map_reset() - forget every entry (a reset, flush mode)
 * @dp: the data path
 *
 * The data area holds another epoch's writes, whose slots mean nothing in
 * the epoch installed: every entry goes to 0 and the whole copy
 * (PRBD_DISK_ACC_F_RESET: every chunk, from byte 0 after a restart too)
 * sets each to the source's again.  The one place entries go down; a
 * torn write of them is harmless, since the flag stays until a checkpoint
 * after the copy wrote them all.
 */
void prbd_map_reset(struct prbd_dp *dp)
{
	if (!dp->map)
		return;
	spin_lock(&dp->map_lock);
	memset(dp->map, 0, array_size(dp->map_chunks, sizeof(*dp->map)));
	bitmap_fill(dp->map_dirty, dp->map_pages);
	spin_unlock(&dp->map_lock);
}

static u64 prbd_map_entries_off(struct prbd_dp *dp)
{
	return dp->res->backing->md.map_offset + 2 * PRBD_DISK_BLOCK;
}

/**
 * prbd_map_load() - read the slot map (before the log replay)
 * @dp: the data path, applied_disk set
 *
 * Return: 0 or a negative errno.
 */
int prbd_map_load(struct prbd_dp *dp)
{
	struct prbd_md *md = &dp->res->backing->md;
	u64 covers = 0, i, n;
	struct page *page;
	u64 *src;
	int err;

	spin_lock_init(&dp->map_lock);
	dp->map_shift = md->map_offset ? md->map_chunk_shift :
			PRBD_MAP_CHUNK_SHIFT_MIN;
	while (prbd_md_map_chunks(dp->data_size, dp->map_shift) >
	       PRBD_MAP_MAX_CHUNKS)
		dp->map_shift++;
	n = prbd_md_map_chunks(dp->data_size, dp->map_shift);
	dp->map_chunks = n;
	dp->map_pages = DIV_ROUND_UP(n, PRBD_MAP_PER_PAGE);
	dp->map = kvcalloc(dp->map_pages * PRBD_MAP_PER_PAGE, sizeof(u64),
			   GFP_KERNEL);
	dp->map_dirty = bitmap_zalloc(dp->map_pages, GFP_KERNEL);
	if (!dp->map || !dp->map_dirty)
		return -ENOMEM;
	if (!md->map_offset) {
		/* no map on disk: whatever we hold may have changed */
		for (i = 0; i < n; i++)
			dp->map[i] = dp->applied_disk;
		return 0;
	}
	err = prbd_md_read_map_hdr(dp->bdev, md, &covers);
	if (err && err != -ENOENT)
		return err;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	for (i = 0; i < dp->map_pages; i++) {
		struct bio *bio;

		bio = prbd_pages_bio(dp, NULL, &page, PAGE_SIZE,
				     (prbd_map_entries_off(dp) >> SECTOR_SHIFT) +
				     i * (PAGE_SIZE >> SECTOR_SHIFT),
				     REQ_OP_READ | REQ_SYNC);
		err = submit_bio_wait(bio);
		bio_put(bio);
		if (err)
			break;
		src = page_address(page);
		for (n = 0; n < PRBD_MAP_PER_PAGE; n++)
			dp->map[i * PRBD_MAP_PER_PAGE + n] =
				le64_to_cpu((__force __le64)src[n]);
	}
	__free_page(page);
	if (err)
		return err;
	if (!md->map_seq || covers < dp->applied_disk) {
		pr_warn("%s: slot map not intact: every chunk counts as changed\n",
			dp->res->name);
		for (i = 0; i < dp->map_chunks; i++)
			dp->map[i] = max(dp->map[i], dp->applied_disk);
		bitmap_fill(dp->map_dirty, dp->map_pages);
	}
	return 0;
}

void prbd_map_free(struct prbd_dp *dp)
{
	kvfree(dp->map);
	dp->map = NULL;
	bitmap_free(dp->map_dirty);
	dp->map_dirty = NULL;
}

/**
 * prbd_map_flush() - make the map entries cover @covers durably
 * @dp: the data path
 * @covers: every slot <= this has been noted (applied)
 *
 * Context: persist work (serialised with every metadata write).
 * Return: 0 or an I/O error.
 */
int prbd_map_flush(struct prbd_dp *dp, u64 covers)
{
	struct prbd_md *md = &dp->res->backing->md;
	struct page *page;
	__le64 *dst;
	u64 i, k;
	int err = 0;

	if (!dp->map || !md->map_offset)
		return 0;
	page = alloc_page(GFP_NOIO);
	if (!page)
		return -ENOMEM;
	for (i = 0; i < dp->map_pages; i++) {
		struct bio *bio;

		spin_lock(&dp->map_lock);
		if (!__test_and_clear_bit(i, dp->map_dirty)) {
			spin_unlock(&dp->map_lock);
			continue;
		}
		dst = page_address(page);
		for (k = 0; k < PRBD_MAP_PER_PAGE; k++)
			dst[k] = cpu_to_le64(dp->map[i * PRBD_MAP_PER_PAGE + k]);
		spin_unlock(&dp->map_lock);
		bio = prbd_pages_bio(dp, NULL, &page, PAGE_SIZE,
				     (prbd_map_entries_off(dp) >> SECTOR_SHIFT) +
				     i * (PAGE_SIZE >> SECTOR_SHIFT),
				     REQ_OP_WRITE | REQ_SYNC);
		err = submit_bio_wait(bio);
		bio_put(bio);
		if (err) {
			spin_lock(&dp->map_lock);
			__set_bit(i, dp->map_dirty);
			spin_unlock(&dp->map_lock);
			goto out_free;
		}
	}
	if (covers == dp->map_covers)
		goto out_free;
	err = prbd_md_write_map_hdr(dp->bdev, md, covers);
	if (!err)
		dp->map_covers = covers;
out_free:
	__free_page(page);
	return err;
}
