// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: the checks of the on-disk metadata, shared unchanged by the kernel
 * module (prbd_md.c) and prbdctl (user/md.c), as the Paxos core is shared
 * with the simulator.  Each check returns the first field that is wrong;
 * the pick functions choose the superblock copy, acceptor slot and slot map
 * header attach uses.  Documentation/prbd-disk-format.rst has the rules.
 */
#include "prbd_md_check.h"

#define PRBD_MD_CRC_LEN		(PRBD_DISK_REC_SIZE - 4)

#define PRBD_MD_REC_ASSERT(type) \
	static_assert(sizeof(type) == PRBD_DISK_REC_SIZE &&		\
		       offsetof(type, crc) == PRBD_MD_CRC_LEN,		\
		       #type " is not a metadata record")
PRBD_MD_REC_ASSERT(struct prbd_disk_sb);
PRBD_MD_REC_ASSERT(struct prbd_disk_acceptor);
PRBD_MD_REC_ASSERT(struct prbd_disk_log_hdr);
PRBD_MD_REC_ASSERT(struct prbd_disk_map_hdr);
static_assert(sizeof(struct prbd_disk_log_rec) == 512, "log record size");
static_assert(PRBD_ACCEPTOR_SIZE == 2 * PRBD_DISK_BLOCK, "acceptor area");
/* the fields taken from the acceptor's reserved bytes stay where they are */
static_assert(offsetof(struct prbd_disk_acceptor, removed_at) == 0x168 &&
	      offsetof(struct prbd_disk_acceptor, epoch) == 0x170 &&
	      offsetof(struct prbd_disk_acceptor, epoch_base) == 0x178 &&
	      offsetof(struct prbd_disk_acceptor, erank) == 0x180 &&
	      offsetof(struct prbd_disk_acceptor, log_floor) == 0x188 &&
	      offsetof(struct prbd_disk_acceptor, reserved) == 0x190,
	      "acceptor state layout");

struct prbd_md_err_desc {
	const char *field;
	const char *msg;
};

/*
 * One entry per refusal: the field (stringified, never macro-expanded) and
 * the extack message "prbd: <record> field '<field>' <text>".
 */
#define PRBD_MD_SB(id, fld, text) \
	[id] = { #fld, "prbd: superblock field '" #fld "' " text }
#define PRBD_MD_ACC(id, fld, text) \
	[id] = { #fld, "prbd: acceptor state field '" #fld "' " text }
#define PRBD_MD_LOG(id, fld, text) \
	[id] = { #fld, "prbd: log header field '" #fld "' " text }
#define PRBD_MD_MAP(id, fld, text) \
	[id] = { #fld, "prbd: slot map header field '" #fld "' " text }

static const struct prbd_md_err_desc prbd_md_errs[PRBD_MD_NR_ERRS] = {
	[PRBD_MD_OK] = { "", "prbd: metadata valid" },
	PRBD_MD_SB(PRBD_MD_SB_MAGIC, magic,
		   "is wrong: no prbd metadata on this device"),
	PRBD_MD_SB(PRBD_MD_SB_CRC, crc, "does not match the contents"),
	PRBD_MD_SB(PRBD_MD_SB_VERSION, version,
		   "is not a supported format version"),
	PRBD_MD_SB(PRBD_MD_SB_SB_SIZE, sb_size, "is wrong"),
	PRBD_MD_SB(PRBD_MD_SB_FEATURE_INCOMPAT, feature_incompat,
		   "has unknown features"),
	PRBD_MD_SB(PRBD_MD_SB_FEATURE_RO_COMPAT, feature_ro_compat,
		   "has unknown features"),
	PRBD_MD_SB(PRBD_MD_SB_RESERVED, reserved, "is not zero"),
	PRBD_MD_SB(PRBD_MD_SB_NODE_ID, node_id, "is out of range"),
	PRBD_MD_SB(PRBD_MD_SB_CLUSTER_UUID, cluster_uuid, "is zero"),
	PRBD_MD_SB(PRBD_MD_SB_BLOCK_SIZE, block_size, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_ACCEPTOR_OFFSET, acceptor_offset, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_ACCEPTOR_SIZE, acceptor_size, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_LOG_OFFSET, log_offset, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_LOG_SIZE, log_size, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_DATA_OFFSET, data_offset, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_DATA_SIZE, data_size, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_DEV_SIZE, dev_size, "does not fit the device"),
	PRBD_MD_SB(PRBD_MD_SB_SEQ, seq,
		   "is equal in both copies but their contents differ"),
	PRBD_MD_SB(PRBD_MD_SB_MAP_OFFSET, map_offset, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_MAP_SIZE, map_size,
		   "does not match the data area"),
	PRBD_MD_SB(PRBD_MD_SB_MAP_CHUNK_SHIFT, map_chunk_shift, "is invalid"),
	PRBD_MD_SB(PRBD_MD_SB_DEV_BLOCK_SIZE, block_size,
		   "is smaller than the device's logical block size"),
	PRBD_MD_ACC(PRBD_MD_ACC_MAGIC, magic, "is wrong in both slots"),
	PRBD_MD_ACC(PRBD_MD_ACC_CRC, crc, "does not match the contents"),
	PRBD_MD_ACC(PRBD_MD_ACC_DISK_UUID, disk_uuid,
		    "does not match the superblock"),
	PRBD_MD_ACC(PRBD_MD_ACC_NR_MEMBERS, nr_members, "is out of range"),
	PRBD_MD_ACC(PRBD_MD_ACC_MEMBERS, members,
		    "holds an invalid node id"),
	PRBD_MD_ACC(PRBD_MD_ACC_RESERVED, reserved, "is not zero"),
	PRBD_MD_ACC(PRBD_MD_ACC_FLAGS, flags, "has unknown bits"),
	PRBD_MD_ACC(PRBD_MD_ACC_REMOVED_AT, removed_at,
		    "names the configuration in members, which holds this node"),
	PRBD_MD_ACC(PRBD_MD_ACC_ERANK, erank,
		    "is below epoch"),
	PRBD_MD_ACC(PRBD_MD_ACC_RESET, flags,
		    "says reset without a full resync or an epoch"),
	PRBD_MD_LOG(PRBD_MD_LOG_MAGIC, magic, "is wrong"),
	PRBD_MD_LOG(PRBD_MD_LOG_CRC, crc, "does not match the contents"),
	PRBD_MD_LOG(PRBD_MD_LOG_DISK_UUID, disk_uuid,
		    "does not match the superblock"),
	PRBD_MD_LOG(PRBD_MD_LOG_REC_ALIGN, rec_align, "is invalid"),
	PRBD_MD_LOG(PRBD_MD_LOG_REC_OFFSET, rec_offset,
		    "does not match the superblock"),
	PRBD_MD_LOG(PRBD_MD_LOG_REC_SIZE, rec_size,
		    "does not match the superblock"),
	PRBD_MD_LOG(PRBD_MD_LOG_RESERVED, reserved, "is not zero"),
	PRBD_MD_MAP(PRBD_MD_MAP_MAGIC, magic, "is wrong"),
	PRBD_MD_MAP(PRBD_MD_MAP_CRC, crc, "does not match the contents"),
	PRBD_MD_MAP(PRBD_MD_MAP_DISK_UUID, disk_uuid,
		    "does not match the superblock"),
	PRBD_MD_MAP(PRBD_MD_MAP_N_CHUNKS, n_chunks,
		    "does not match the data area"),
	PRBD_MD_MAP(PRBD_MD_MAP_CHUNK_SHIFT, chunk_shift,
		    "does not match the superblock"),
	PRBD_MD_MAP(PRBD_MD_MAP_RESERVED, reserved, "is not zero"),
};

/**
 * prbd_md_err_msg() - the message of a refusal, as netlink extack carries it
 * @err: the refusal
 *
 * Return: "prbd: <record> field '<field>' <what is wrong>".
 */
const char *prbd_md_err_msg(enum prbd_md_err err)
{
	return prbd_md_errs[err].msg;
}

/**
 * prbd_md_err_text() - prbd_md_err_msg() without its "prbd: " prefix
 * @err: the refusal
 *
 * Return: "<record> field '<field>' <what is wrong>".
 */
const char *prbd_md_err_text(enum prbd_md_err err)
{
	return prbd_md_errs[err].msg + sizeof("prbd: ") - 1;
}

/**
 * prbd_md_err_field() - the on-disk field a refusal names
 * @err: the refusal
 *
 * Return: the field's name in uapi/prbd_disk.h.
 */
const char *prbd_md_err_field(enum prbd_md_err err)
{
	return prbd_md_errs[err].field;
}

/**
 * prbd_md_err_torn() - is this what a torn or never written record shows?
 * @err: the refusal
 *
 * Return: true for a bad magic or crc: the other copy may be used.
 */
bool prbd_md_err_torn(enum prbd_md_err err)
{
	switch (err) {
	case PRBD_MD_SB_MAGIC:
	case PRBD_MD_SB_CRC:
	case PRBD_MD_ACC_MAGIC:
	case PRBD_MD_ACC_CRC:
	case PRBD_MD_LOG_MAGIC:
	case PRBD_MD_LOG_CRC:
	case PRBD_MD_MAP_MAGIC:
	case PRBD_MD_MAP_CRC:
		return true;
	default:
		return false;
	}
}

/**
 * prbd_md_all_zero() - are all @len bytes at @buf zero?
 * @buf: the bytes
 * @len: their number
 *
 * Return: true if so (an unused record or reserved field).
 */
bool prbd_md_all_zero(const void *buf, size_t len)
{
	const u8 *b = buf;

	while (len--)
		if (*b++)
			return false;
	return true;
}

/* @v is a multiple of @a, a power of two */
static bool prbd_md_aligned(u64 v, u64 a)
{
	return !(v & (a - 1));
}

static bool prbd_md_crc_ok(const void *rec, u32 crc)
{
	return le32_to_cpu(crc) == prbd_md_crc(rec, PRBD_MD_CRC_LEN);
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

/**
 * prbd_md_map_size() - bytes of the slot map area
 * @n_chunks: its entries
 *
 * Return: two headers plus the entries, rounded up to whole blocks.
 */
u64 prbd_md_map_size(u64 n_chunks)
{
	return 2 * PRBD_DISK_BLOCK +
	       (n_chunks * 8 + PRBD_DISK_BLOCK - 1) / PRBD_DISK_BLOCK *
	       PRBD_DISK_BLOCK;
}

/* The slot map fields, given a valid log area ending at @log_end. */
static enum prbd_md_err prbd_md_sb_map_check(const struct prbd_disk_sb *sb,
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
	if (off < log_end || !prbd_md_aligned(off, PRBD_DISK_BLOCK))
		return PRBD_MD_SB_MAP_OFFSET;
	if (shift < PRBD_MAP_CHUNK_SHIFT_MIN || shift > PRBD_MAP_CHUNK_SHIFT_MAX)
		return PRBD_MD_SB_MAP_CHUNK_SHIFT;
	n = prbd_md_map_chunks(le64_to_cpu(sb->data_size), shift);
	if (n > PRBD_MAP_MAX_CHUNKS)
		return PRBD_MD_SB_MAP_CHUNK_SHIFT;
	*map_end = off + size;
	if (size != prbd_md_map_size(n) || *map_end < off)
		return PRBD_MD_SB_MAP_SIZE;
	return PRBD_MD_OK;
}

/**
 * prbd_md_sb_check() - validate one superblock copy
 * @sb: the copy, as on disk
 * @dev_bytes: the size of the device holding it
 *
 * Return: PRBD_MD_OK or the first field that is wrong (magic and crc
 * first: prbd_md_err_torn() tells a torn copy from a corrupt one).
 */
enum prbd_md_err prbd_md_sb_check(const struct prbd_disk_sb *sb,
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

	if (le64_to_cpu(sb->magic) != PRBD_SB_MAGIC)
		return PRBD_MD_SB_MAGIC;
	if (!prbd_md_crc_ok(sb, sb->crc))
		return PRBD_MD_SB_CRC;
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
	if (bs < 512 || bs > PRBD_DISK_BLOCK || (bs & (bs - 1)))
		return PRBD_MD_SB_BLOCK_SIZE;
	if (acc_off != PRBD_ACCEPTOR_OFFSET)
		return PRBD_MD_SB_ACCEPTOR_OFFSET;
	if (acc_size != PRBD_ACCEPTOR_SIZE)
		return PRBD_MD_SB_ACCEPTOR_SIZE;
	if (log_off < acc_off + acc_size ||
	    !prbd_md_aligned(log_off, PRBD_DISK_BLOCK))
		return PRBD_MD_SB_LOG_OFFSET;
	log_end = log_off + log_size;
	if (log_size < PRBD_LOG_MIN_SIZE ||
	    !prbd_md_aligned(log_size, PRBD_DISK_BLOCK) || log_end < log_off)
		return PRBD_MD_SB_LOG_SIZE;
	err = prbd_md_sb_map_check(sb, log_end, &map_end);
	if (err != PRBD_MD_OK)
		return err;
	if (data_off < map_end || !prbd_md_aligned(data_off, PRBD_DISK_BLOCK))
		return PRBD_MD_SB_DATA_OFFSET;
	data_end = data_off + data_size;
	if (data_size < PRBD_DATA_MIN_SIZE || !prbd_md_aligned(data_size, bs) ||
	    data_end < data_off)
		return PRBD_MD_SB_DATA_SIZE;
	if (dev_size < data_end || dev_size > dev_bytes)
		return PRBD_MD_SB_DEV_SIZE;
	return PRBD_MD_OK;
}

/**
 * prbd_md_pick_sb() - choose the superblock copy attach uses
 * @sbs: copies A and B, as on disk
 * @dev_bytes: the size of the device holding them
 * @errs: set to what prbd_md_sb_check() says of each copy
 * @use: set to the copy to use (0 = A) when the result is PRBD_MD_OK
 *
 * A copy with a bad magic or crc is taken for a torn write and ignored
 * when the other copy is intact.  A copy that is intact but has an invalid
 * field is refused outright (copy A first): that is corruption or a bug,
 * never a torn write.  Of two valid copies the higher seq wins.
 *
 * Return: PRBD_MD_OK or why the metadata is refused.
 */
enum prbd_md_err prbd_md_pick_sb(const struct prbd_disk_sb sbs[2],
				 u64 dev_bytes, enum prbd_md_err errs[2],
				 unsigned int *use)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		errs[i] = prbd_md_sb_check(&sbs[i], dev_bytes);
	/* crc beats magic: some prbd metadata is there, but broken */
	if (prbd_md_err_torn(errs[0]) && prbd_md_err_torn(errs[1]))
		return errs[0] > errs[1] ? errs[0] : errs[1];
	for (i = 0; i < 2; i++)
		if (errs[i] != PRBD_MD_OK && !prbd_md_err_torn(errs[i]))
			return errs[i];
	if (errs[0] != PRBD_MD_OK || errs[1] != PRBD_MD_OK) {
		*use = errs[0] != PRBD_MD_OK;
		return PRBD_MD_OK;
	}
	if (sbs[0].seq == sbs[1].seq && memcmp(&sbs[0], &sbs[1], sizeof(sbs[0])))
		return PRBD_MD_SB_SEQ;
	*use = le64_to_cpu(sbs[1].seq) > le64_to_cpu(sbs[0].seq);
	return PRBD_MD_OK;
}

/**
 * prbd_md_acc_check() - validate one acceptor state slot
 * @acc: the slot, as on disk
 * @sb: the superblock in use
 *
 * Return: PRBD_MD_OK or the first field that is wrong.
 */
enum prbd_md_err prbd_md_acc_check(const struct prbd_disk_acceptor *acc,
				   const struct prbd_disk_sb *sb)
{
	u32 nr = le32_to_cpu(acc->nr_members);
	u32 i, id;
	u64 removed, epoch, erank;

	if (le64_to_cpu(acc->magic) != PRBD_ACCEPTOR_MAGIC)
		return PRBD_MD_ACC_MAGIC;
	if (!prbd_md_crc_ok(acc, acc->crc))
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
	/*
	 * The configuration entry that removed this node leaves it out: if
	 * members is that configuration, this node is not in it.  (An older
	 * or newer one may hold it: the node learns the removal before or
	 * without the entry, and may even be added again.)
	 */
	removed = le64_to_cpu(acc->removed_at);
	if (removed && removed == le64_to_cpu(acc->config_epoch))
		for (i = 0; i < nr; i++)
			if (le32_to_cpu(acc->members[i].node_id) ==
			    le32_to_cpu(sb->node_id))
				return PRBD_MD_ACC_REMOVED_AT;
	/*
	 * The core's epoch and its rank (see "Flush mode" in the core): an
	 * epoch starts at rank = its ballot and its rank only grows.  Epoch
	 * 0 (strict mode never has a lossy election; records written before
	 * the fields existed read all zero) may have any rank: the rank of
	 * epoch 0 is the newest leader ballot followed.  epoch_base is any
	 * slot (a lossy election's commit, a reset's install point): nothing
	 * to compare it with here.
	 */
	epoch = le64_to_cpu(acc->epoch);
	erank = le64_to_cpu(acc->erank);
	if (epoch && erank < epoch)
		return PRBD_MD_ACC_ERANK;
	/* a reset is a full resync to a lossy election's epoch */
	if ((le32_to_cpu(acc->flags) & PRBD_DISK_ACC_F_RESET) &&
	    (!epoch || (~le32_to_cpu(acc->flags) &
			(PRBD_DISK_ACC_F_INCONSISTENT |
			 PRBD_DISK_ACC_F_RS_FULL))))
		return PRBD_MD_ACC_RESET;
	return PRBD_MD_OK;
}

/**
 * prbd_md_pick_acc() - choose the acceptor state slot attach uses
 * @accs: slots 0 and 1, as on disk
 * @sb: the superblock in use
 * @errs: set to what prbd_md_acc_check() says of each slot
 * @use: set to the slot to use when the result is PRBD_MD_OK
 *
 * The intact slot with the higher seq.  An all-zero slot is unused; a slot
 * with a bad magic or crc is a torn update; an intact slot with an invalid
 * field is refused (slot 0 first).
 *
 * Return: PRBD_MD_OK or why the metadata is refused.
 */
enum prbd_md_err prbd_md_pick_acc(const struct prbd_disk_acceptor accs[2],
				  const struct prbd_disk_sb *sb,
				  enum prbd_md_err errs[2], unsigned int *use)
{
	enum prbd_md_err worst = PRBD_MD_OK;
	unsigned int i;

	for (i = 0; i < 2; i++)
		errs[i] = prbd_md_acc_check(&accs[i], sb);
	for (i = 0; i < 2; i++) {
		if (errs[i] == PRBD_MD_OK)
			continue;
		if (!prbd_md_err_torn(errs[i]))
			return errs[i];
		if (!prbd_md_all_zero(&accs[i], sizeof(accs[i])) &&
		    errs[i] > worst)
			worst = errs[i];
	}
	if (errs[0] != PRBD_MD_OK && errs[1] != PRBD_MD_OK)
		return worst == PRBD_MD_OK ? PRBD_MD_ACC_MAGIC : worst;
	if (errs[0] == PRBD_MD_OK && errs[1] == PRBD_MD_OK)
		*use = le64_to_cpu(accs[1].seq) > le64_to_cpu(accs[0].seq);
	else
		*use = errs[0] != PRBD_MD_OK;
	return PRBD_MD_OK;
}

/**
 * prbd_md_log_check() - validate the log header
 * @lh: the header, as on disk
 * @sb: the superblock in use
 *
 * Return: PRBD_MD_OK or the first field that is wrong.
 */
enum prbd_md_err prbd_md_log_check(const struct prbd_disk_log_hdr *lh,
				   const struct prbd_disk_sb *sb)
{
	u64 log_off = le64_to_cpu(sb->log_offset);
	u64 log_size = le64_to_cpu(sb->log_size);

	if (le64_to_cpu(lh->magic) != PRBD_LOG_MAGIC)
		return PRBD_MD_LOG_MAGIC;
	if (!prbd_md_crc_ok(lh, lh->crc))
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
 * prbd_md_map_hdr_check() - validate one slot map header
 * @h: the header, as on disk
 * @sb: the superblock in use (with the slot map feature)
 *
 * A header that fails is not used; it never refuses the attach.
 *
 * Return: PRBD_MD_OK or the first field that is wrong.
 */
enum prbd_md_err prbd_md_map_hdr_check(const struct prbd_disk_map_hdr *h,
				       const struct prbd_disk_sb *sb)
{
	u32 shift = le32_to_cpu(sb->map_chunk_shift);

	if (le64_to_cpu(h->magic) != PRBD_MAP_MAGIC)
		return PRBD_MD_MAP_MAGIC;
	if (!prbd_md_crc_ok(h, h->crc))
		return PRBD_MD_MAP_CRC;
	if (memcmp(h->disk_uuid, sb->disk_uuid, sizeof(h->disk_uuid)))
		return PRBD_MD_MAP_DISK_UUID;
	if (le64_to_cpu(h->n_chunks) !=
	    prbd_md_map_chunks(le64_to_cpu(sb->data_size), shift))
		return PRBD_MD_MAP_N_CHUNKS;
	if (le32_to_cpu(h->chunk_shift) != shift)
		return PRBD_MD_MAP_CHUNK_SHIFT;
	if (h->reserved0 || !prbd_md_all_zero(h->reserved, sizeof(h->reserved)))
		return PRBD_MD_MAP_RESERVED;
	return PRBD_MD_OK;
}

/**
 * prbd_md_pick_map_hdr() - choose the newest valid slot map header
 * @h: headers 0 and 1, as on disk
 * @sb: the superblock in use (with the slot map feature)
 * @errs: set to what prbd_md_map_hdr_check() says of each header
 *
 * Return: the valid header with the higher seq (header 0 on a tie), or -1
 * when neither is valid (every chunk must then count as changed).
 */
int prbd_md_pick_map_hdr(const struct prbd_disk_map_hdr h[2],
			 const struct prbd_disk_sb *sb,
			 enum prbd_md_err errs[2])
{
	int i, use = -1;

	for (i = 0; i < 2; i++) {
		errs[i] = prbd_md_map_hdr_check(&h[i], sb);
		if (errs[i] != PRBD_MD_OK)
			continue;
		if (use < 0 || le64_to_cpu(h[i].seq) > le64_to_cpu(h[use].seq))
			use = i;
	}
	return use;
}
