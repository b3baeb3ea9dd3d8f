// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: on-disk metadata - read, validate and write the superblock pair,
 * the acceptor state slots and the log header.
 *
 * The format is defined in uapi/prbd_disk.h and documented in
 * Documentation/prbd-disk-format.rst.  Validation never writes: a device
 * whose metadata is refused is left exactly as it was.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/build_bug.h>
#include <linux/crc32c.h>
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/string.h>

#include "prbd_int.h"

static_assert(sizeof(struct prbd_disk_sb) == PRBD_DISK_REC_SIZE);
static_assert(sizeof(struct prbd_disk_acceptor) == PRBD_DISK_REC_SIZE);
static_assert(sizeof(struct prbd_disk_log_hdr) == PRBD_DISK_REC_SIZE);
static_assert(sizeof(struct prbd_disk_log_rec) == 512);
static_assert(offsetof(struct prbd_disk_sb, crc) == PRBD_DISK_REC_SIZE - 4);
static_assert(offsetof(struct prbd_disk_acceptor, crc) ==
	      PRBD_DISK_REC_SIZE - 4);
static_assert(offsetof(struct prbd_disk_log_hdr, crc) ==
	      PRBD_DISK_REC_SIZE - 4);
static_assert(PRBD_ACCEPTOR_SIZE == 2 * PRBD_DISK_BLOCK);
static_assert(sizeof(struct prbd_disk_map_hdr) == PRBD_DISK_REC_SIZE);
static_assert(offsetof(struct prbd_disk_map_hdr, crc) ==
	      PRBD_DISK_REC_SIZE - 4);

/*
 * Why a metadata block was refused.  Every value names the on-disk field
 * that failed; the messages below are what userspace sees as extack.
 */
enum prbd_md_err {
	PRBD_MD_OK,
	PRBD_MD_SB_MAGIC,
	PRBD_MD_SB_CRC,
	PRBD_MD_SB_VERSION,
	PRBD_MD_SB_SB_SIZE,
	PRBD_MD_SB_FEATURE_INCOMPAT,
	PRBD_MD_SB_FEATURE_RO_COMPAT,
	PRBD_MD_SB_RESERVED,
	PRBD_MD_SB_NODE_ID,
	PRBD_MD_SB_CLUSTER_UUID,
	PRBD_MD_SB_BLOCK_SIZE,
	PRBD_MD_SB_ACCEPTOR_OFFSET,
	PRBD_MD_SB_ACCEPTOR_SIZE,
	PRBD_MD_SB_LOG_OFFSET,
	PRBD_MD_SB_LOG_SIZE,
	PRBD_MD_SB_DATA_OFFSET,
	PRBD_MD_SB_DATA_SIZE,
	PRBD_MD_SB_DEV_SIZE,
	PRBD_MD_SB_SEQ,
	PRBD_MD_SB_MAP_OFFSET,
	PRBD_MD_SB_MAP_SIZE,
	PRBD_MD_SB_MAP_CHUNK_SHIFT,
	PRBD_MD_ACC_MAGIC,
	PRBD_MD_ACC_CRC,
	PRBD_MD_ACC_DISK_UUID,
	PRBD_MD_ACC_NR_MEMBERS,
	PRBD_MD_ACC_MEMBERS,
	PRBD_MD_ACC_RESERVED,
	PRBD_MD_ACC_FLAGS,
	PRBD_MD_LOG_MAGIC,
	PRBD_MD_LOG_CRC,
	PRBD_MD_LOG_DISK_UUID,
	PRBD_MD_LOG_REC_ALIGN,
	PRBD_MD_LOG_REC_OFFSET,
	PRBD_MD_LOG_REC_SIZE,
	PRBD_MD_LOG_RESERVED,
	PRBD_MD_NR_ERRS
};

static const char * const prbd_md_msgs[PRBD_MD_NR_ERRS] = {
	[PRBD_MD_SB_MAGIC] =
		"prbd: superblock field 'magic' is wrong: no prbd metadata on this device",
	[PRBD_MD_SB_CRC] =
		"prbd: superblock field 'crc' does not match the contents",
	[PRBD_MD_SB_VERSION] =
		"prbd: superblock field 'version' is not a supported format version",
	[PRBD_MD_SB_SB_SIZE] =
		"prbd: superblock field 'sb_size' is wrong",
	[PRBD_MD_SB_FEATURE_INCOMPAT] =
		"prbd: superblock field 'feature_incompat' has unknown features",
	[PRBD_MD_SB_FEATURE_RO_COMPAT] =
		"prbd: superblock field 'feature_ro_compat' has unknown features",
	[PRBD_MD_SB_RESERVED] =
		"prbd: superblock field 'reserved' is not zero",
	[PRBD_MD_SB_NODE_ID] =
		"prbd: superblock field 'node_id' is out of range",
	[PRBD_MD_SB_CLUSTER_UUID] =
		"prbd: superblock field 'cluster_uuid' is zero",
	[PRBD_MD_SB_BLOCK_SIZE] =
		"prbd: superblock field 'block_size' is invalid",
	[PRBD_MD_SB_ACCEPTOR_OFFSET] =
		"prbd: superblock field 'acceptor_offset' is invalid",
	[PRBD_MD_SB_ACCEPTOR_SIZE] =
		"prbd: superblock field 'acceptor_size' is invalid",
	[PRBD_MD_SB_LOG_OFFSET] =
		"prbd: superblock field 'log_offset' is invalid",
	[PRBD_MD_SB_LOG_SIZE] =
		"prbd: superblock field 'log_size' is invalid",
	[PRBD_MD_SB_DATA_OFFSET] =
		"prbd: superblock field 'data_offset' is invalid",
	[PRBD_MD_SB_DATA_SIZE] =
		"prbd: superblock field 'data_size' is invalid",
	[PRBD_MD_SB_DEV_SIZE] =
		"prbd: superblock field 'dev_size' does not fit the device",
	[PRBD_MD_SB_SEQ] =
		"prbd: superblock field 'seq' is equal in both copies but their contents differ",
	[PRBD_MD_SB_MAP_OFFSET] =
		"prbd: superblock field 'map_offset' is invalid",
	[PRBD_MD_SB_MAP_SIZE] =
		"prbd: superblock field 'map_size' does not match the data area",
	[PRBD_MD_SB_MAP_CHUNK_SHIFT] =
		"prbd: superblock field 'map_chunk_shift' is invalid",
	[PRBD_MD_ACC_MAGIC] =
		"prbd: acceptor state field 'magic' is wrong in both slots",
	[PRBD_MD_ACC_CRC] =
		"prbd: acceptor state field 'crc' does not match the contents",
	[PRBD_MD_ACC_DISK_UUID] =
		"prbd: acceptor state field 'disk_uuid' does not match the superblock",
	[PRBD_MD_ACC_NR_MEMBERS] =
		"prbd: acceptor state field 'nr_members' is out of range",
	[PRBD_MD_ACC_MEMBERS] =
		"prbd: acceptor state field 'members' holds an invalid node id",
	[PRBD_MD_ACC_RESERVED] =
		"prbd: acceptor state field 'reserved' is not zero",
	[PRBD_MD_ACC_FLAGS] =
		"prbd: acceptor state field 'flags' has unknown bits",
	[PRBD_MD_LOG_MAGIC] =
		"prbd: log header field 'magic' is wrong",
	[PRBD_MD_LOG_CRC] =
		"prbd: log header field 'crc' does not match the contents",
	[PRBD_MD_LOG_DISK_UUID] =
		"prbd: log header field 'disk_uuid' does not match the superblock",
	[PRBD_MD_LOG_REC_ALIGN] =
		"prbd: log header field 'rec_align' is invalid",
	[PRBD_MD_LOG_REC_OFFSET] =
		"prbd: log header field 'rec_offset' does not match the superblock",
	[PRBD_MD_LOG_REC_SIZE] =
		"prbd: log header field 'rec_size' does not match the superblock",
	[PRBD_MD_LOG_RESERVED] =
		"prbd: log header field 'reserved' is not zero",
};

static void prbd_md_set_err(struct netlink_ext_ack *extack,
			    enum prbd_md_err err)
{
	if (extack)
		extack->_msg = prbd_md_msgs[err];
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

static bool prbd_md_all_zero(const void *buf, size_t len)
{
	return !memchr_inv(buf, 0, len);
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

/* Is this copy one we wrote completely?  Checks magic and crc only. */
static enum prbd_md_err prbd_md_sb_intact(const struct prbd_disk_sb *sb)
{
	if (le64_to_cpu(sb->magic) != PRBD_SB_MAGIC)
		return PRBD_MD_SB_MAGIC;
	if (le32_to_cpu(sb->crc) != prbd_md_crc(sb, offsetof(typeof(*sb), crc)))
		return PRBD_MD_SB_CRC;
	return PRBD_MD_OK;
}

static bool prbd_md_aligned(u64 v)
{
	return IS_ALIGNED(v, PRBD_DISK_BLOCK);
}

/**
 * prbd_md_map_chunks() - slot map entries for a data area
 * @data_size: bytes
 * @shift: log2 of the chunk size
 *
 * Return: ceil(@data_size / 2^@shift).
 */
u64 prbd_md_map_chunks(u64 data_size, u32 shift)
{
	return (data_size >> shift) + !!(data_size & ((1ULL << shift) - 1));
}

/* The slot map fields, given a valid log area ending at @log_end. */
static enum prbd_md_err prbd_md_map_check(const struct prbd_disk_sb *sb,
					  u64 log_end, u64 *map_end)
{
	u64 off = le64_to_cpu(sb->map_offset), size = le64_to_cpu(sb->map_size);
	u32 shift = le32_to_cpu(sb->map_chunk_shift);
	u64 n;

	*map_end = log_end;
	if (sb->reserved1)
		return PRBD_MD_SB_RESERVED;
	if (!(le64_to_cpu(sb->feature_incompat) &
	      PRBD_FEATURE_INCOMPAT_SLOTMAP))
		return off || size || shift ? PRBD_MD_SB_MAP_OFFSET : PRBD_MD_OK;
	if (off < log_end || !prbd_md_aligned(off))
		return PRBD_MD_SB_MAP_OFFSET;
	if (shift < PRBD_MAP_CHUNK_SHIFT_MIN || shift > PRBD_MAP_CHUNK_SHIFT_MAX)
		return PRBD_MD_SB_MAP_CHUNK_SHIFT;
	n = prbd_md_map_chunks(le64_to_cpu(sb->data_size), shift);
	if (n > PRBD_MAP_MAX_CHUNKS)
		return PRBD_MD_SB_MAP_CHUNK_SHIFT;
	if (size != 2 * PRBD_DISK_BLOCK + round_up(n * 8, PRBD_DISK_BLOCK) ||
	    check_add_overflow(off, size, map_end))
		return PRBD_MD_SB_MAP_SIZE;
	return PRBD_MD_OK;
}

/* Full validation of an intact copy against a device of @dev_bytes bytes. */
static enum prbd_md_err prbd_md_sb_check(const struct prbd_disk_sb *sb,
					 u64 dev_bytes)
{
	u64 dev_size = le64_to_cpu(sb->dev_size);
	u64 acc_off = le64_to_cpu(sb->acceptor_offset);
	u64 acc_size = le64_to_cpu(sb->acceptor_size);
	u64 log_off = le64_to_cpu(sb->log_offset);
	u64 log_size = le64_to_cpu(sb->log_size);
	u64 data_off = le64_to_cpu(sb->data_offset);
	u64 data_size = le64_to_cpu(sb->data_size);
	u32 node_id = le32_to_cpu(sb->node_id);
	u32 bs = le32_to_cpu(sb->block_size);
	u64 log_end, data_end, map_end;
	enum prbd_md_err err;

	if (le32_to_cpu(sb->version) != PRBD_DISK_VERSION)
		return PRBD_MD_SB_VERSION;
	if (le32_to_cpu(sb->sb_size) != sizeof(*sb))
		return PRBD_MD_SB_SB_SIZE;
	if (le64_to_cpu(sb->feature_incompat) & ~PRBD_FEATURE_INCOMPAT_SUPP)
		return PRBD_MD_SB_FEATURE_INCOMPAT;
	if (le64_to_cpu(sb->feature_ro_compat) & ~PRBD_FEATURE_RO_COMPAT_SUPP)
		return PRBD_MD_SB_FEATURE_RO_COMPAT;
	if (!prbd_md_all_zero(sb->reserved, sizeof(sb->reserved)))
		return PRBD_MD_SB_RESERVED;
	if (node_id < 1 || node_id > PRBD_NODE_ID_MAX)
		return PRBD_MD_SB_NODE_ID;
	if (prbd_md_all_zero(sb->cluster_uuid, sizeof(sb->cluster_uuid)))
		return PRBD_MD_SB_CLUSTER_UUID;
	if (bs < 512 || bs > PRBD_DISK_BLOCK || !is_power_of_2(bs))
		return PRBD_MD_SB_BLOCK_SIZE;
	if (acc_off != PRBD_ACCEPTOR_OFFSET)
		return PRBD_MD_SB_ACCEPTOR_OFFSET;
	if (acc_size != PRBD_ACCEPTOR_SIZE)
		return PRBD_MD_SB_ACCEPTOR_SIZE;
	if (log_off < acc_off + acc_size || !prbd_md_aligned(log_off))
		return PRBD_MD_SB_LOG_OFFSET;
	if (log_size < PRBD_LOG_MIN_SIZE || !prbd_md_aligned(log_size) ||
	    check_add_overflow(log_off, log_size, &log_end))
		return PRBD_MD_SB_LOG_SIZE;
	err = prbd_md_map_check(sb, log_end, &map_end);
	if (err != PRBD_MD_OK)
		return err;
	if (data_off < map_end || !prbd_md_aligned(data_off))
		return PRBD_MD_SB_DATA_OFFSET;
	if (data_size < PRBD_DATA_MIN_SIZE || !IS_ALIGNED(data_size, bs) ||
	    check_add_overflow(data_off, data_size, &data_end))
		return PRBD_MD_SB_DATA_SIZE;
	if (dev_size < data_end || dev_size > dev_bytes)
		return PRBD_MD_SB_DEV_SIZE;
	return PRBD_MD_OK;
}

static void prbd_md_sb_report(struct block_device *bdev, char copy,
			      const struct prbd_disk_sb *sb,
			      enum prbd_md_err err, u64 dev_bytes)
{
	pr_err("%pg: superblock copy %c refused: %s (magic %#llx version %u sb_size %u seq %llu node_id %u block_size %u dev_size %llu/%llu log %llu+%llu data %llu+%llu)\n",
	       bdev, copy, prbd_md_msgs[err] + 6, le64_to_cpu(sb->magic),
	       le32_to_cpu(sb->version), le32_to_cpu(sb->sb_size),
	       le64_to_cpu(sb->seq), le32_to_cpu(sb->node_id),
	       le32_to_cpu(sb->block_size), le64_to_cpu(sb->dev_size),
	       dev_bytes, le64_to_cpu(sb->log_offset),
	       le64_to_cpu(sb->log_size), le64_to_cpu(sb->data_offset),
	       le64_to_cpu(sb->data_size));
}

/*
 * Choose the superblock copy to use.  A copy with a bad magic or crc is
 * taken for a torn write and ignored when the other copy is intact.  A copy
 * that is intact but has an invalid field is refused outright: that is
 * corruption or a bug, never a torn write.
 */
static int prbd_md_pick_sb(struct block_device *bdev,
			   const struct prbd_disk_sb sbs[2], u64 dev_bytes,
			   struct prbd_md *md, struct netlink_ext_ack *extack)
{
	enum prbd_md_err intact[2], err;
	unsigned int i, use;

	for (i = 0; i < 2; i++)
		intact[i] = prbd_md_sb_intact(&sbs[i]);

	if (intact[0] != PRBD_MD_OK && intact[1] != PRBD_MD_OK) {
		/* crc beats magic: some prbd metadata is there, but broken */
		err = max(intact[0], intact[1]);
		for (i = 0; i < 2; i++)
			prbd_md_sb_report(bdev, 'A' + i, &sbs[i], intact[i],
					  dev_bytes);
		prbd_md_set_err(extack, err);
		return -EINVAL;
	}

	for (i = 0; i < 2; i++) {
		if (intact[i] != PRBD_MD_OK) {
			pr_warn("%pg: superblock copy %c ignored (%s), using copy %c\n",
				bdev, 'A' + i, prbd_md_msgs[intact[i]] + 6,
				'B' - i);
			continue;
		}
		err = prbd_md_sb_check(&sbs[i], dev_bytes);
		if (err != PRBD_MD_OK) {
			prbd_md_sb_report(bdev, 'A' + i, &sbs[i], err,
					  dev_bytes);
			prbd_md_set_err(extack, err);
			return -EINVAL;
		}
	}

	if (intact[0] == PRBD_MD_OK && intact[1] == PRBD_MD_OK) {
		u64 seq_a = le64_to_cpu(sbs[0].seq);
		u64 seq_b = le64_to_cpu(sbs[1].seq);

		if (seq_a == seq_b && memcmp(&sbs[0], &sbs[1], sizeof(sbs[0]))) {
			pr_err("%pg: superblock copies A and B differ at seq %llu\n",
			       bdev, seq_a);
			prbd_md_set_err(extack, PRBD_MD_SB_SEQ);
			return -EINVAL;
		}
		use = seq_b > seq_a;
		if (seq_a != seq_b)
			pr_warn("%pg: superblock copy %c is older (seq %llu < %llu), using copy %c\n",
				bdev, 'B' - use, use ? seq_a : seq_b,
				use ? seq_b : seq_a, 'A' + use);
	} else {
		use = intact[0] != PRBD_MD_OK;
	}

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

static bool prbd_md_acc_empty(const struct prbd_disk_acceptor *acc)
{
	return prbd_md_all_zero(acc, sizeof(*acc));
}

static enum prbd_md_err prbd_md_acc_check(const struct prbd_disk_acceptor *acc,
					  const struct prbd_disk_sb *sb)
{
	u32 nr = le32_to_cpu(acc->nr_members);
	u32 i, id;

	if (le64_to_cpu(acc->magic) != PRBD_ACCEPTOR_MAGIC)
		return PRBD_MD_ACC_MAGIC;
	if (le32_to_cpu(acc->crc) !=
	    prbd_md_crc(acc, offsetof(typeof(*acc), crc)))
		return PRBD_MD_ACC_CRC;
	if (memcmp(acc->disk_uuid, sb->disk_uuid, sizeof(acc->disk_uuid)))
		return PRBD_MD_ACC_DISK_UUID;
	if (nr > PRBD_DISK_MAX_MEMBERS)
		return PRBD_MD_ACC_NR_MEMBERS;
	for (i = 0; i < nr; i++) {
		id = le32_to_cpu(acc->members[i].node_id);
		if (id < 1 || id > PRBD_NODE_ID_MAX ||
		    le32_to_cpu(acc->members[i].flags) &
		    ~PRBD_DISK_MEMBER_LEARNER)
			return PRBD_MD_ACC_MEMBERS;
	}
	for (; i < PRBD_DISK_MAX_MEMBERS; i++)
		if (acc->members[i].node_id || acc->members[i].flags)
			return PRBD_MD_ACC_MEMBERS;
	if (acc->reserved0 || acc->reserved1 ||
	    !prbd_md_all_zero(acc->reserved, sizeof(acc->reserved)))
		return PRBD_MD_ACC_RESERVED;
	if (le32_to_cpu(acc->flags) & ~PRBD_DISK_ACC_F_KNOWN)
		return PRBD_MD_ACC_FLAGS;
	return PRBD_MD_OK;
}

/*
 * Choose the acceptor slot to use: the intact one with the higher seq.  An
 * all-zero slot is unused; a slot with a bad magic or crc is a torn update.
 * An intact slot with an invalid field is refused.
 */
static int prbd_md_pick_acc(struct block_device *bdev,
			    const struct prbd_disk_acceptor accs[2],
			    struct prbd_md *md, struct netlink_ext_ack *extack)
{
	enum prbd_md_err err[2], worst = PRBD_MD_OK;
	unsigned int i, use;

	for (i = 0; i < 2; i++) {
		err[i] = prbd_md_acc_check(&accs[i], &md->sb);
		if (err[i] > PRBD_MD_ACC_CRC) {
			pr_err("%pg: acceptor slot %u refused: %s\n", bdev, i,
			       prbd_md_msgs[err[i]] + 6);
			prbd_md_set_err(extack, err[i]);
			return -EINVAL;
		}
		if (err[i] != PRBD_MD_OK && !prbd_md_acc_empty(&accs[i]))
			worst = max(worst, err[i]);
	}

	if (err[0] != PRBD_MD_OK && err[1] != PRBD_MD_OK) {
		if (worst == PRBD_MD_OK)
			worst = PRBD_MD_ACC_MAGIC;
		pr_err("%pg: no valid acceptor state slot: %s\n", bdev,
		       prbd_md_msgs[worst] + 6);
		prbd_md_set_err(extack, worst);
		return -EINVAL;
	}

	if (err[0] == PRBD_MD_OK && err[1] == PRBD_MD_OK)
		use = le64_to_cpu(accs[1].seq) > le64_to_cpu(accs[0].seq);
	else
		use = err[0] != PRBD_MD_OK;
	if (err[!use] != PRBD_MD_OK && !prbd_md_acc_empty(&accs[!use]))
		pr_warn("%pg: acceptor slot %u ignored (%s)\n", bdev, !use,
			prbd_md_msgs[err[!use]] + 6);

	md->acc = accs[use];
	md->acc_slot = use;
	return 0;
}

static enum prbd_md_err prbd_md_log_check(const struct prbd_disk_log_hdr *lh,
					  const struct prbd_disk_sb *sb)
{
	u64 log_off = le64_to_cpu(sb->log_offset);
	u64 log_size = le64_to_cpu(sb->log_size);

	if (le64_to_cpu(lh->magic) != PRBD_LOG_MAGIC)
		return PRBD_MD_LOG_MAGIC;
	if (le32_to_cpu(lh->crc) != prbd_md_crc(lh, offsetof(typeof(*lh), crc)))
		return PRBD_MD_LOG_CRC;
	if (memcmp(lh->disk_uuid, sb->disk_uuid, sizeof(lh->disk_uuid)))
		return PRBD_MD_LOG_DISK_UUID;
	if (le32_to_cpu(lh->rec_align) != PRBD_DISK_BLOCK)
		return PRBD_MD_LOG_REC_ALIGN;
	if (le64_to_cpu(lh->rec_offset) != log_off + PRBD_DISK_BLOCK)
		return PRBD_MD_LOG_REC_OFFSET;
	if (le64_to_cpu(lh->rec_size) != log_size - PRBD_DISK_BLOCK)
		return PRBD_MD_LOG_REC_SIZE;
	if (lh->reserved0 ||
	    !prbd_md_all_zero(lh->reserved, sizeof(lh->reserved)))
		return PRBD_MD_LOG_RESERVED;
	return PRBD_MD_OK;
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
	ret = prbd_md_pick_sb(bdev, sbs, dev_bytes, md, extack);
	if (ret)
		goto out_free_buf;

	if (md->block_size < bdev_logical_block_size(bdev)) {
		pr_err("%pg: superblock block_size %u < device logical block size %u\n",
		       bdev, md->block_size, bdev_logical_block_size(bdev));
		NL_SET_ERR_MSG_MOD(extack,
				   "superblock field 'block_size' is smaller than the device's logical block size");
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
	ret = prbd_md_pick_acc(bdev, accs, md, extack);
	if (ret)
		goto out_free_buf;

	ret = prbd_md_read_rec(bdev, le64_to_cpu(md->sb.log_offset), page, lh);
	if (ret)
		goto out_io_error;
	err = prbd_md_log_check(lh, &md->sb);
	if (err != PRBD_MD_OK) {
		pr_err("%pg: log header refused: %s\n", bdev,
		       prbd_md_msgs[err] + 6);
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

static bool prbd_md_map_hdr_ok(const struct prbd_disk_map_hdr *h,
			       const struct prbd_md *md, u64 n_chunks)
{
	return le64_to_cpu(h->magic) == PRBD_MAP_MAGIC &&
	       le32_to_cpu(h->crc) == prbd_md_crc(h, offsetof(typeof(*h), crc)) &&
	       !memcmp(h->disk_uuid, md->sb.disk_uuid, sizeof(h->disk_uuid)) &&
	       le64_to_cpu(h->n_chunks) == n_chunks &&
	       le32_to_cpu(h->chunk_shift) == md->map_chunk_shift &&
	       !h->reserved0 && prbd_md_all_zero(h->reserved,
						 sizeof(h->reserved));
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
	u64 n = prbd_md_map_chunks(md->data_size, md->map_chunk_shift);
	struct prbd_disk_map_hdr *h;
	struct page *page;
	int err = 0, i, use = -1;

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
		if (!prbd_md_map_hdr_ok(&h[i], md, n))
			continue;
		if (use < 0 || le64_to_cpu(h[i].seq) > le64_to_cpu(h[use].seq))
			use = i;
	}
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
