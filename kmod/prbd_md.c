// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: on-disk metadata - read, validate and write the superblock pair,
 * the acceptor state slots and the log header.
 *
 * The format is defined in uapi/prbd_disk.h and documented in
 * Documentation/prbd-disk-format.rst.  The checks themselves are in
 * md/prbd_md_check.c, shared with prbdctl; this file does the I/O and the
 * logging.  Validation never writes: a device whose metadata is refused is
 * left exactly as it was.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/string.h>

#include "prbd_int.h"
#include "md/prbd_md_check.h"

static void prbd_md_set_err(struct netlink_ext_ack *extack,
			    enum prbd_md_err err)
{
	if (extack)
		extack->_msg = prbd_md_err_msg(err);
}

/**
 * prbd_md_crc() - checksum of a metadata record
 * @buf: the bytes
 * @len: their number
 *
 * Return: the standard CRC-32C of @buf (what the crc fields hold).
 */
u32 prbd_md_crc(const void *buf, size_t len)
{
	return ~crc32c(~0U, buf, len);
}

static int prbd_md_io(struct block_device *bdev, u64 offset,
		      struct page *page, blk_opf_t opf)
{
	struct bio_vec bvec;
	struct bio bio;
	int err;

	bio_init(&bio, bdev, &bvec, 1, opf);
	bio.bi_iter.bi_sector = offset >> SECTOR_SHIFT;
	__bio_add_page(&bio, page, PRBD_DISK_BLOCK, 0);
	err = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return err;
}

/* Read one metadata block and copy out its first PRBD_DISK_REC_SIZE bytes. */
static int prbd_md_read_rec(struct block_device *bdev, u64 offset,
			    struct page *page, void *rec)
{
	int err;

	err = prbd_md_io(bdev, offset, page, REQ_OP_READ | REQ_SYNC);
	if (err) {
		pr_err("%pg: read error %d at offset %llu\n", bdev, err, offset);
		return err;
	}
	memcpy(rec, page_address(page), PRBD_DISK_REC_SIZE);
	return 0;
}

static int prbd_md_write_rec(struct block_device *bdev, u64 offset,
			     struct page *page, const void *rec,
			     blk_opf_t flags)
{
	int err;

	memset(page_address(page), 0, PRBD_DISK_BLOCK);
	memcpy(page_address(page), rec, PRBD_DISK_REC_SIZE);
	err = prbd_md_io(bdev, offset, page, REQ_OP_WRITE | REQ_SYNC | flags);
	if (err)
		pr_err("%pg: write error %d at offset %llu\n", bdev, err,
		       offset);
	return err;
}

static void prbd_md_sb_report(struct block_device *bdev, char copy,
			      const struct prbd_disk_sb *sb,
			      enum prbd_md_err err, u64 dev_bytes)
{
	pr_err("%pg: superblock copy %c refused: %s (magic %#llx version %u sb_size %u seq %llu node_id %u block_size %u dev_size %llu/%llu log %llu+%llu data %llu+%llu)\n",
	       bdev, copy, prbd_md_err_text(err), le64_to_cpu(sb->magic),
	       le32_to_cpu(sb->version), le32_to_cpu(sb->sb_size),
	       le64_to_cpu(sb->seq), le32_to_cpu(sb->node_id),
	       le32_to_cpu(sb->block_size), le64_to_cpu(sb->dev_size),
	       dev_bytes, le64_to_cpu(sb->log_offset),
	       le64_to_cpu(sb->log_size), le64_to_cpu(sb->data_offset),
	       le64_to_cpu(sb->data_size));
}

/*
 * Use the superblock copy prbd_md_pick_sb() chooses, and log why a copy is
 * ignored or refused.
 */
static int prbd_md_use_sb(struct block_device *bdev,
			  const struct prbd_disk_sb sbs[2], u64 dev_bytes,
			  struct prbd_md *md, struct netlink_ext_ack *extack)
{
	enum prbd_md_err errs[2], err;
	unsigned int i, use = 0;
	u64 seq_a, seq_b;

	err = prbd_md_pick_sb(sbs, dev_bytes, errs, &use);
	if (prbd_md_err_torn(errs[0]) && prbd_md_err_torn(errs[1])) {
		for (i = 0; i < 2; i++)
			prbd_md_sb_report(bdev, 'A' + i, &sbs[i], errs[i],
					  dev_bytes);
		prbd_md_set_err(extack, err);
		return -EINVAL;
	}

	for (i = 0; i < 2; i++) {
		if (errs[i] == PRBD_MD_OK)
			continue;
		if (prbd_md_err_torn(errs[i])) {
			pr_warn("%pg: superblock copy %c ignored (%s), using copy %c\n",
				bdev, 'A' + i, prbd_md_err_text(errs[i]),
				'B' - i);
			continue;
		}
		prbd_md_sb_report(bdev, 'A' + i, &sbs[i], errs[i], dev_bytes);
		prbd_md_set_err(extack, errs[i]);
		return -EINVAL;
	}

	seq_a = le64_to_cpu(sbs[0].seq);
	seq_b = le64_to_cpu(sbs[1].seq);
	if (err != PRBD_MD_OK) {
		pr_err("%pg: superblock copies A and B differ at seq %llu\n",
		       bdev, seq_a);
		prbd_md_set_err(extack, err);
		return -EINVAL;
	}
	if (errs[0] == PRBD_MD_OK && errs[1] == PRBD_MD_OK && seq_a != seq_b)
		pr_warn("%pg: superblock copy %c is older (seq %llu < %llu), using copy %c\n",
			bdev, 'B' - use, use ? seq_a : seq_b,
			use ? seq_b : seq_a, 'A' + use);

	md->sb = sbs[use];
	md->sb_from = use;
	md->data_offset = le64_to_cpu(md->sb.data_offset);
	md->data_size = le64_to_cpu(md->sb.data_size);
	md->block_size = le32_to_cpu(md->sb.block_size);
	if (le64_to_cpu(md->sb.feature_incompat) &
	    PRBD_FEATURE_INCOMPAT_SLOTMAP) {
		md->map_offset = le64_to_cpu(md->sb.map_offset);
		md->map_chunk_shift = le32_to_cpu(md->sb.map_chunk_shift);
	}
	return 0;
}

/*
 * Use the acceptor slot prbd_md_pick_acc() chooses, and log why a slot is
 * ignored or refused.
 */
static int prbd_md_use_acc(struct block_device *bdev,
			   const struct prbd_disk_acceptor accs[2],
			   struct prbd_md *md, struct netlink_ext_ack *extack)
{
	enum prbd_md_err errs[2], err;
	unsigned int use = 0;

	err = prbd_md_pick_acc(accs, &md->sb, errs, &use);
	if (err != PRBD_MD_OK) {
		if (prbd_md_err_torn(err))
			pr_err("%pg: no valid acceptor state slot: %s\n", bdev,
			       prbd_md_err_text(err));
		else
			pr_err("%pg: acceptor slot %u refused: %s\n", bdev,
			       errs[0] == err ? 0 : 1, prbd_md_err_text(err));
		prbd_md_set_err(extack, err);
		return -EINVAL;
	}
	if (errs[!use] != PRBD_MD_OK &&
	    !prbd_md_all_zero(&accs[!use], sizeof(accs[!use])))
		pr_warn("%pg: acceptor slot %u ignored (%s)\n", bdev, !use,
			prbd_md_err_text(errs[!use]));

	md->acc = accs[use];
	md->acc_slot = use;
	return 0;
}

/**
 * prbd_md_read() - read and validate the metadata of a backing device
 * @bdev: the opened backing device
 * @md: filled in on success
 * @extack: receives a message naming the bad field on failure (may be NULL)
 *
 * Reads both superblock copies, both acceptor slots and the log header.
 * Nothing is written, whatever the outcome.
 *
 * Return: 0, -EINVAL for invalid metadata (the message names the field),
 * -ENOSPC if the device is too small to hold metadata, or an I/O error.
 */
int prbd_md_read(struct block_device *bdev, struct prbd_md *md,
		 struct netlink_ext_ack *extack)
{
	u64 dev_bytes = bdev_nr_bytes(bdev);
	struct prbd_disk_acceptor *accs;
	struct prbd_disk_log_hdr *lh;
	struct prbd_disk_sb *sbs;
	enum prbd_md_err err;
	struct page *page;
	void *buf;
	int ret;

	if (dev_bytes < PRBD_LOG_OFFSET + PRBD_LOG_MIN_SIZE +
			PRBD_DATA_MIN_SIZE) {
		pr_err("%pg: %llu bytes is too small for prbd metadata\n",
		       bdev, dev_bytes);
		NL_SET_ERR_MSG_MOD(extack,
				   "backing device is too small to hold prbd metadata");
		return -ENOSPC;
	}
	if (bdev_logical_block_size(bdev) > PRBD_DISK_BLOCK) {
		NL_SET_ERR_MSG_MOD(extack,
				   "backing device block size is larger than 4096");
		return -EINVAL;
	}

	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	/* two sbs, two acceptor records, one log header */
	buf = kmalloc(5 * PRBD_DISK_REC_SIZE, GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto out_free_page;
	}
	sbs = buf;
	accs = buf + 2 * PRBD_DISK_REC_SIZE;
	lh = buf + 4 * PRBD_DISK_REC_SIZE;

	ret = prbd_md_read_rec(bdev, PRBD_SB_A_OFFSET, page, &sbs[0]);
	if (ret)
		goto out_io_error;
	ret = prbd_md_read_rec(bdev, PRBD_SB_B_OFFSET, page, &sbs[1]);
	if (ret)
		goto out_io_error;
	ret = prbd_md_use_sb(bdev, sbs, dev_bytes, md, extack);
	if (ret)
		goto out_free_buf;

	if (md->block_size < bdev_logical_block_size(bdev)) {
		pr_err("%pg: superblock block_size %u < device logical block size %u\n",
		       bdev, md->block_size, bdev_logical_block_size(bdev));
		prbd_md_set_err(extack, PRBD_MD_SB_DEV_BLOCK_SIZE);
		ret = -EINVAL;
		goto out_free_buf;
	}

	ret = prbd_md_read_rec(bdev, PRBD_ACCEPTOR_OFFSET, page, &accs[0]);
	if (ret)
		goto out_io_error;
	ret = prbd_md_read_rec(bdev, PRBD_ACCEPTOR_OFFSET + PRBD_DISK_BLOCK,
			       page, &accs[1]);
	if (ret)
		goto out_io_error;
	ret = prbd_md_use_acc(bdev, accs, md, extack);
	if (ret)
		goto out_free_buf;

	ret = prbd_md_read_rec(bdev, le64_to_cpu(md->sb.log_offset), page, lh);
	if (ret)
		goto out_io_error;
	err = prbd_md_log_check(lh, &md->sb);
	if (err != PRBD_MD_OK) {
		pr_err("%pg: log header refused: %s\n", bdev,
		       prbd_md_err_text(err));
		prbd_md_set_err(extack, err);
		ret = -EINVAL;
		goto out_free_buf;
	}

	pr_info("%pg: metadata valid: sb copy %c seq %llu, acceptor slot %u seq %llu, data %llu+%llu\n",
		bdev, 'A' + md->sb_from, le64_to_cpu(md->sb.seq), md->acc_slot,
		le64_to_cpu(md->acc.seq), md->data_offset, md->data_size);
	ret = 0;
	goto out_free_buf;

out_io_error:
	NL_SET_ERR_MSG_MOD(extack, "I/O error reading the metadata");
out_free_buf:
	kfree(buf);
out_free_page:
	__free_page(page);
	return ret;
}

/**
 * prbd_md_write_sb() - write @md->sb to both copies with a new seq
 * @bdev: the backing device
 * @md: in-core metadata; sb.seq and sb.crc are updated
 *
 * Copy A is written and flushed before copy B, so one intact copy survives
 * a crash at any point.
 *
 * Return: 0 or an I/O error.
 */
int prbd_md_write_sb(struct block_device *bdev, struct prbd_md *md)
{
	struct prbd_disk_sb sb = md->sb;
	struct page *page;
	int err;

	le64_add_cpu(&sb.seq, 1);
	sb.crc = cpu_to_le32(prbd_md_crc(&sb, offsetof(typeof(sb), crc)));

	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	err = prbd_md_write_rec(bdev, PRBD_SB_A_OFFSET, page, &sb,
				REQ_PREFLUSH | REQ_FUA);
	if (err)
		goto out_free_page;
	err = prbd_md_write_rec(bdev, PRBD_SB_B_OFFSET, page, &sb, REQ_FUA);
	if (err)
		goto out_free_page;
	md->sb = sb;
out_free_page:
	__free_page(page);
	return err;
}

/**
 * prbd_md_get_acceptor() - decode the in-core acceptor record
 * @md: validated metadata
 * @st: filled in
 */
void prbd_md_get_acceptor(const struct prbd_md *md,
			  struct prbd_acceptor_state *st)
{
	const struct prbd_disk_acceptor *acc = &md->acc;
	u32 i;

	memset(st, 0, sizeof(*st));
	st->promised_ballot = le64_to_cpu(acc->promised_ballot);
	st->config_epoch = le64_to_cpu(acc->config_epoch);
	st->commit_index = le64_to_cpu(acc->commit_index);
	st->applied_index = le64_to_cpu(acc->applied_index);
	st->flags = le32_to_cpu(acc->flags);
	st->rs_from = le64_to_cpu(acc->rs_from);
	st->rs_cursor = le64_to_cpu(acc->rs_cursor);
	st->rs_need = le64_to_cpu(acc->rs_need);
	st->removed_at = le64_to_cpu(acc->removed_at);
	st->epoch = le64_to_cpu(acc->epoch);
	st->epoch_base = le64_to_cpu(acc->epoch_base);
	st->erank = le64_to_cpu(acc->erank);
	st->log_floor = le64_to_cpu(acc->log_floor);
	st->nr_members = le32_to_cpu(acc->nr_members);
	for (i = 0; i < st->nr_members; i++) {
		st->members[i].node_id = le32_to_cpu(acc->members[i].node_id);
		st->members[i].flags = le32_to_cpu(acc->members[i].flags);
	}
}

/**
 * prbd_md_write_acceptor() - make new acceptor state durable
 * @bdev: the backing device
 * @md: in-core metadata; acc and acc_slot are updated on success
 * @st: the new state
 *
 * Writes to the slot not holding the newest record, with a preflush and
 * FUA: when this returns 0 the state survives a crash, and a torn write
 * leaves the previous state intact.  Call with the data path's ordering
 * requirements already met (a promise must be durable before it is sent).
 *
 * Return: 0, -EINVAL for an invalid @st, or an I/O error.
 */
int prbd_md_write_acceptor(struct block_device *bdev, struct prbd_md *md,
			   const struct prbd_acceptor_state *st)
{
	struct prbd_disk_acceptor acc = {};
	unsigned int slot = !md->acc_slot;
	struct page *page;
	u32 i;
	int err;

	if (st->nr_members > PRBD_DISK_MAX_MEMBERS)
		return -EINVAL;

	acc.magic = cpu_to_le64(PRBD_ACCEPTOR_MAGIC);
	acc.seq = cpu_to_le64(le64_to_cpu(md->acc.seq) + 1);
	memcpy(acc.disk_uuid, md->sb.disk_uuid, sizeof(acc.disk_uuid));
	acc.promised_ballot = cpu_to_le64(st->promised_ballot);
	acc.config_epoch = cpu_to_le64(st->config_epoch);
	acc.commit_index = cpu_to_le64(st->commit_index);
	acc.applied_index = cpu_to_le64(st->applied_index);
	acc.flags = cpu_to_le32(st->flags);
	acc.rs_from = cpu_to_le64(st->rs_from);
	acc.rs_cursor = cpu_to_le64(st->rs_cursor);
	acc.rs_need = cpu_to_le64(st->rs_need);
	acc.removed_at = cpu_to_le64(st->removed_at);
	acc.epoch = cpu_to_le64(st->epoch);
	acc.epoch_base = cpu_to_le64(st->epoch_base);
	acc.erank = cpu_to_le64(st->erank);
	acc.log_floor = cpu_to_le64(st->log_floor);
	acc.nr_members = cpu_to_le32(st->nr_members);
	for (i = 0; i < st->nr_members; i++) {
		acc.members[i].node_id = cpu_to_le32(st->members[i].node_id);
		acc.members[i].flags = cpu_to_le32(st->members[i].flags);
	}
	acc.crc = cpu_to_le32(prbd_md_crc(&acc, offsetof(typeof(acc), crc)));
	if (prbd_md_acc_check(&acc, &md->sb) != PRBD_MD_OK)
		return -EINVAL;

	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	err = prbd_md_write_rec(bdev, PRBD_ACCEPTOR_OFFSET +
				slot * PRBD_DISK_BLOCK, page, &acc,
				REQ_PREFLUSH | REQ_FUA);
	if (!err) {
		md->acc = acc;
		md->acc_slot = slot;
	}
	__free_page(page);
	return err;
}

/**
 * prbd_md_read_map_hdr() - find the newest intact slot map header
 * @bdev: the backing device
 * @md: validated metadata with a slot map; map_seq and map_hdr are set
 * @covers: the slot the entries cover
 *
 * Return: 0, -ENOENT when neither header is intact (every chunk must then
 * count as changed), or an I/O error.
 */
int prbd_md_read_map_hdr(struct block_device *bdev, struct prbd_md *md,
			 u64 *covers)
{
	enum prbd_md_err errs[2];
	struct prbd_disk_map_hdr *h;
	struct page *page;
	int err = 0, i, use;

	page = alloc_page(GFP_KERNEL);
	h = kcalloc(2, sizeof(*h), GFP_KERNEL);
	if (!page || !h) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < 2; i++) {
		err = prbd_md_read_rec(bdev, md->map_offset +
				       i * PRBD_DISK_BLOCK, page, &h[i]);
		if (err)
			goto out_free;
	}
	use = prbd_md_pick_map_hdr(h, &md->sb, errs);
	if (use < 0) {
		md->map_seq = 0;
		md->map_hdr = 1;
		err = -ENOENT;
		goto out_free;
	}
	md->map_seq = le64_to_cpu(h[use].seq);
	md->map_hdr = use;
	*covers = le64_to_cpu(h[use].covers);
out_free:
	kfree(h);
	if (page)
		__free_page(page);
	return err;
}

/**
 * prbd_md_write_map_hdr() - record that the map entries cover @covers
 * @bdev: the backing device
 * @md: metadata with a slot map
 * @covers: every slot <= this is in the entries on disk (already stable)
 *
 * Writes the header not holding the newest copy, with a preflush (the
 * entry blocks written before it are stable first) and FUA.
 *
 * Return: 0 or an I/O error.
 */
int prbd_md_write_map_hdr(struct block_device *bdev, struct prbd_md *md,
			  u64 covers)
{
	struct prbd_disk_map_hdr h = {};
	unsigned int slot = !md->map_hdr;
	struct page *page;
	int err;

	h.magic = cpu_to_le64(PRBD_MAP_MAGIC);
	h.seq = cpu_to_le64(md->map_seq + 1);
	memcpy(h.disk_uuid, md->sb.disk_uuid, sizeof(h.disk_uuid));
	h.covers = cpu_to_le64(covers);
	h.n_chunks = cpu_to_le64(prbd_md_map_chunks(md->data_size,
						    md->map_chunk_shift));
	h.chunk_shift = cpu_to_le32(md->map_chunk_shift);
	h.crc = cpu_to_le32(prbd_md_crc(&h, offsetof(typeof(h), crc)));
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	err = prbd_md_write_rec(bdev, md->map_offset + slot * PRBD_DISK_BLOCK,
				page, &h, REQ_PREFLUSH | REQ_FUA);
	if (!err) {
		md->map_seq++;
		md->map_hdr = slot;
	}
	__free_page(page);
	return err;
}
