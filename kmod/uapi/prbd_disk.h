/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * prbd on-disk metadata format, version 1.  Shared by the kernel module
 * (kmod/prbd_md.c) and prbdctl (user/md.c).  Documentation/prbd-disk-format.rst
 * describes the layout, the validation rules and the update protocol.
 *
 * Every multi-byte integer is little-endian (__le16/__le32/__le64).  Every
 * checksum is CRC-32C (Castagnoli, reflected, init 0xffffffff, final xor
 * 0xffffffff; "123456789" -> 0xe3069283) of the bytes before the crc field;
 * in the kernel that is ~crc32c(~0, buf, len).
 *
 * Layout of a backing device (byte offsets):
 *
 *   0x00000000  4 KiB   superblock copy A     (struct prbd_disk_sb)
 *   0x00001000  4 KiB   superblock copy B     (struct prbd_disk_sb)
 *   0x00002000  4 KiB   acceptor state slot 0 (struct prbd_disk_acceptor)
 *   0x00003000  4 KiB   acceptor state slot 1 (struct prbd_disk_acceptor)
 *   log_offset  4 KiB   log header            (struct prbd_disk_log_hdr)
 *   +0x1000     ...     log records           (struct prbd_disk_log_rec + data)
 *   map_offset  4 KiB   slot map header 0     (struct prbd_disk_map_hdr)
 *   +0x1000     4 KiB   slot map header 1
 *   +0x2000     ...     slot map entries      (__le64 per chunk)
 *   data_offset         data area exposed as /dev/prbd<minor>, data_size bytes
 *
 * Only the first 512 bytes of each 4 KiB metadata block are used; the rest
 * is written as zeroes.  log_offset, log_size, data_offset and data_size are
 * recorded in the superblock; version 1 writes log_offset = 0x4000 and a
 * 1 MiB aligned data_offset.
 */

#ifndef _UAPI_LINUX_PRBD_DISK_H
#define _UAPI_LINUX_PRBD_DISK_H

#include <linux/types.h>

#define PRBD_DISK_VERSION		1

#define PRBD_DISK_BLOCK			4096	/* metadata block size */
#define PRBD_DISK_REC_SIZE		512	/* bytes used per metadata block */

#define PRBD_SB_A_OFFSET		0x0000ULL
#define PRBD_SB_B_OFFSET		0x1000ULL
#define PRBD_ACCEPTOR_OFFSET		0x2000ULL
#define PRBD_ACCEPTOR_SIZE		0x2000ULL	/* two slots */
#define PRBD_LOG_OFFSET			0x4000ULL	/* what v1 writes */
#define PRBD_LOG_MIN_SIZE		0x100000ULL	/* 1 MiB */
#define PRBD_LOG_DEFAULT_SIZE		0x1000000ULL	/* 16 MiB, at least */
#define PRBD_LOG_DEFAULT_MAX		0x40000000ULL	/* 1 GiB */
#define PRBD_LOG_DEFAULT_SHIFT		4	/* 1/16 of the device */
#define PRBD_DATA_ALIGN			0x100000ULL	/* 1 MiB */
#define PRBD_DATA_MIN_SIZE		0x100000ULL	/* 1 MiB */

/* Magics: the on-disk bytes spell the string in the comment. */
#define PRBD_SB_MAGIC			0x3142535f44425250ULL	/* "PRBD_SB1" */
#define PRBD_ACCEPTOR_MAGIC		0x3143415f44425250ULL	/* "PRBD_AC1" */
#define PRBD_LOG_MAGIC			0x31474c5f44425250ULL	/* "PRBD_LG1" */
#define PRBD_LOG_REC_MAGIC		0x31524c5f44425250ULL	/* "PRBD_LR1" */

#define PRBD_MAP_MAGIC			0x314d535f44425250ULL	/* "PRBD_SM1" */

/* Feature flags; unknown incompat or ro_compat bits make the module refuse
 * the device.
 *
 * PRBD_FEATURE_INCOMPAT_SLOTMAP: the superblock's map_* fields locate a slot
 * map: for every chunk of the data area (2^map_chunk_shift bytes), the
 * highest slot whose write touched it.  A module that did not keep it up to
 * date would make resyncs miss changes, hence incompat.  Without it the
 * module resyncs every chunk.
 */
#define PRBD_FEATURE_INCOMPAT_SLOTMAP	0x1ULL

#define PRBD_FEATURE_COMPAT_SUPP	0ULL
#define PRBD_FEATURE_RO_COMPAT_SUPP	0ULL
#define PRBD_FEATURE_INCOMPAT_SUPP	PRBD_FEATURE_INCOMPAT_SLOTMAP

#define PRBD_MAP_CHUNK_SHIFT_MIN	16	/* 64 KiB */
#define PRBD_MAP_CHUNK_SHIFT_MAX	26	/* 64 MiB */
#define PRBD_MAP_MAX_CHUNKS		0x100000ULL	/* 2^20: 8 MiB of entries */

/**
 * struct prbd_disk_sb - superblock, stored twice (copy A and copy B)
 * @magic: %PRBD_SB_MAGIC
 * @version: %PRBD_DISK_VERSION
 * @sb_size: sizeof(struct prbd_disk_sb), 512
 * @feature_compat: features an older reader may ignore
 * @feature_ro_compat: features an older reader may only read
 * @feature_incompat: features an older reader must refuse
 * @seq: incremented on every superblock update; the newer intact copy wins
 * @cluster_uuid: UUID shared by every node of the resource
 * @disk_uuid: random UUID of this format of this device
 * @node_id: node id of the node owning this device, 1..PRBD_NODE_ID_MAX
 * @block_size: logical block size of the data area: 512, 1024, 2048, 4096
 * @dev_size: size of the backing device when formatted, bytes
 * @acceptor_offset: %PRBD_ACCEPTOR_OFFSET
 * @acceptor_size: %PRBD_ACCEPTOR_SIZE
 * @log_offset: start of the log area (log header), 4 KiB aligned
 * @log_size: size of the log area including its header, 4 KiB multiple
 * @data_offset: start of the data area, 4 KiB aligned, >= log end
 * @data_size: size of the data area, multiple of @block_size
 * @created: format time, seconds since the epoch (informational)
 * @map_offset: start of the slot map area, 4 KiB aligned, >= log end
 *		(%PRBD_FEATURE_INCOMPAT_SLOTMAP; else zero)
 * @map_size: bytes of the slot map area: 8 KiB of headers plus the
 *	      entries rounded up to 4 KiB; map_offset + map_size <= data_offset
 * @map_chunk_shift: log2 of the chunk size, PRBD_MAP_CHUNK_SHIFT_MIN..MAX;
 *		     the data area has ceil(data_size / chunk) <=
 *		     PRBD_MAP_MAX_CHUNKS chunks
 * @reserved1: zero
 * @reserved: zero
 * @crc: CRC-32C of bytes 0..507
 */
struct prbd_disk_sb {
	__le64 magic;			/* 0x000 */
	__le32 version;			/* 0x008 */
	__le32 sb_size;			/* 0x00c */
	__le64 feature_compat;		/* 0x010 */
	__le64 feature_ro_compat;	/* 0x018 */
	__le64 feature_incompat;	/* 0x020 */
	__le64 seq;			/* 0x028 */
	__u8   cluster_uuid[16];	/* 0x030 */
	__u8   disk_uuid[16];		/* 0x040 */
	__le32 node_id;			/* 0x050 */
	__le32 block_size;		/* 0x054 */
	__le64 dev_size;		/* 0x058 */
	__le64 acceptor_offset;		/* 0x060 */
	__le64 acceptor_size;		/* 0x068 */
	__le64 log_offset;		/* 0x070 */
	__le64 log_size;		/* 0x078 */
	__le64 data_offset;		/* 0x080 */
	__le64 data_size;		/* 0x088 */
	__le64 created;			/* 0x090 */
	__le64 map_offset;		/* 0x098 */
	__le64 map_size;		/* 0x0a0 */
	__le32 map_chunk_shift;		/* 0x0a8 */
	__le32 reserved1;		/* 0x0ac */
	__u8   reserved[332];		/* 0x0b0 */
	__le32 crc;			/* 0x1fc */
};

#define PRBD_DISK_MAX_MEMBERS		32
#define PRBD_DISK_MEMBER_LEARNER	0x1	/* prbd_disk_member.flags */

/**
 * struct prbd_disk_member - one member of the Paxos configuration
 * @node_id: node id, 1..PRBD_NODE_ID_MAX
 * @flags: %PRBD_DISK_MEMBER_LEARNER for a non-voting member
 */
struct prbd_disk_member {
	__le32 node_id;
	__le32 flags;
};

/**
 * struct prbd_disk_acceptor - durable Paxos acceptor state
 * @magic: %PRBD_ACCEPTOR_MAGIC
 * @seq: incremented on every update; the newer intact slot wins.  Updates
 *	 go to the slot not holding the newest record, so a torn write never
 *	 destroys the last good state.
 * @disk_uuid: copy of the superblock's disk_uuid
 * @promised_ballot: highest ballot this acceptor promised
 * @config_epoch: epoch of the configuration in @members
 * @commit_index: highest index known committed (hint, the log is
 *		  authoritative)
 * @applied_index: every index <= this is written to the data area
 * @nr_members: used entries of @members
 * @reserved0: zero
 * @members: the configuration
 * @flags: %PRBD_DISK_ACC_F_INCONSISTENT: a resync into this node's data
 *	   area is under way; the data is not usable and the node does not
 *	   vote until it completes.  %PRBD_DISK_ACC_F_RS_FULL: that resync
 *	   copies every chunk (new or wiped disk).
 *	   %PRBD_DISK_ACC_F_AMNESIAC: the metadata was new when the node
 *	   started (a wiped disk forgot what it promised and accepted); its
 *	   promises count only as the Paxos core allows until it has seen a
 *	   leader's proposals chosen (prbd_px_set_nopromise()).  create-md
 *	   leaves it clear: the module sets it at the first start of new
 *	   metadata.  %PRBD_DISK_ACC_F_UP: the resource was up on this
 *	   disk and no clean down followed (the clean-shutdown mark, read
 *	   inverted: set durably at up before anything else is written,
 *	   cleared by the last write of a clean down).  Set at the next up:
 *	   the node crashed, and in flush mode what it wrote without a
 *	   flush may be gone (prbd_px_set_suspect()).
 * @reserved1: zero
 * @rs_from: the applied index the data area held when the resync began:
 *	     every chunk written by a later slot is copied
 * @rs_cursor: chunks below this index are copied
 * @rs_need: the data area is whole once every slot <= this is applied
 * @removed_at: this node was removed from the group by the configuration
 *		entry at this slot (it was told so, prbd_member.c): it never
 *		campaigns nor serves the device again, until create-md.  0:
 *		not removed (and in records written before the field existed)
 * @epoch: the Paxos core's hard state (struct prbd_px_hardstate, see
 *	   "Flush mode" in paxos/prbd_paxos.c): ballot of the last lossy
 *	   election whose state this node holds, 0: none (always 0 in
 *	   strict mode, and in records written before the field existed)
 * @epoch_base: the slot up to which that election decided
 * @erank: the newest leader ballot this node followed in that epoch (its
 *	   rank); >= @epoch when @epoch is not 0
 * @log_floor: log records whose seq is <= this are ignored when the ring
 *	       is scanned: they hold values of an epoch a reset replaced
 *	       (%PRBD_DISK_ACC_F_RESET); 0: none (and in records written
 *	       before the field existed)
 * @reserved: zero
 * @crc: CRC-32C of bytes 0..507
 */
struct prbd_disk_acceptor {
	__le64 magic;			/* 0x000 */
	__le64 seq;			/* 0x008 */
	__u8   disk_uuid[16];		/* 0x010 */
	__le64 promised_ballot;		/* 0x020 */
	__le64 config_epoch;		/* 0x028 */
	__le64 commit_index;		/* 0x030 */
	__le64 applied_index;		/* 0x038 */
	__le32 nr_members;		/* 0x040 */
	__le32 reserved0;		/* 0x044 */
	struct prbd_disk_member members[PRBD_DISK_MAX_MEMBERS]; /* 0x048 */
	__le32 flags;			/* 0x148 */
	__le32 reserved1;		/* 0x14c */
	__le64 rs_from;			/* 0x150 */
	__le64 rs_cursor;		/* 0x158 */
	__le64 rs_need;			/* 0x160 */
	__le64 removed_at;		/* 0x168 */
	__le64 epoch;			/* 0x170 */
	__le64 epoch_base;		/* 0x178 */
	__le64 erank;			/* 0x180 */
	__le64 log_floor;		/* 0x188 */
	__u8   reserved[108];		/* 0x190 */
	__le32 crc;			/* 0x1fc */
};

#define PRBD_DISK_ACC_F_INCONSISTENT	0x1
#define PRBD_DISK_ACC_F_RS_FULL		0x2
#define PRBD_DISK_ACC_F_AMNESIAC	0x4
#define PRBD_DISK_ACC_F_UP		0x8
#define PRBD_DISK_ACC_F_RESET		0x10
#define PRBD_DISK_ACC_F_KNOWN		0x1f

/**
 * struct prbd_disk_map_hdr - header of the slot map, stored twice
 * @magic: %PRBD_MAP_MAGIC
 * @seq: incremented on every update; the newer intact header wins.
 *	 Updates go to the header not holding the newest copy.
 * @disk_uuid: copy of the superblock's disk_uuid
 * @covers: every slot <= this applied here is recorded in the entries
 * @n_chunks: entries, ceil(data_size >> map_chunk_shift)
 * @chunk_shift: copy of the superblock's map_chunk_shift
 * @reserved0: zero
 * @reserved: zero
 * @crc: CRC-32C of bytes 0..507
 *
 * The entries (at map_offset + 8 KiB, __le64 each) only ever grow, so a
 * torn entry write leaves each one old or new, both safe: the module
 * writes the changed entry blocks, then a header with the slot they cover
 * (preflush + FUA).  create-md writes zero entries and header 0 with
 * seq 1, covers 0.  No intact header: every chunk counts as changed.
 */
struct prbd_disk_map_hdr {
	__le64 magic;			/* 0x000 */
	__le64 seq;			/* 0x008 */
	__u8   disk_uuid[16];		/* 0x010 */
	__le64 covers;			/* 0x020 */
	__le64 n_chunks;		/* 0x028 */
	__le32 chunk_shift;		/* 0x030 */
	__le32 reserved0;		/* 0x034 */
	__u8   reserved[452];		/* 0x038 */
	__le32 crc;			/* 0x1fc */
};

/**
 * struct prbd_disk_log_hdr - header of the log area, written by create-md
 * @magic: %PRBD_LOG_MAGIC
 * @disk_uuid: copy of the superblock's disk_uuid
 * @rec_align: alignment of log records, 4096
 * @reserved0: zero
 * @rec_offset: absolute byte offset of the first record: log_offset + 4096
 * @rec_size: bytes available for records: log_size - 4096
 * @reserved: zero
 * @crc: CRC-32C of bytes 0..507
 */
struct prbd_disk_log_hdr {
	__le64 magic;			/* 0x000 */
	__u8   disk_uuid[16];		/* 0x008 */
	__le32 rec_align;		/* 0x018 */
	__le32 reserved0;		/* 0x01c */
	__le64 rec_offset;		/* 0x020 */
	__le64 rec_size;		/* 0x028 */
	__u8   reserved[460];		/* 0x030 */
	__le32 crc;			/* 0x1fc */
};

/**
 * struct prbd_disk_log_rec_desc - one write descriptor of a logged value
 * @id: request id, unique per write
 * @sector: target in the data area, 512-byte sectors
 * @len: payload bytes
 * @csum: CRC-32C of the payload
 */
struct prbd_disk_log_rec_desc {
	__le64 id;
	__le64 sector;
	__le32 len;
	__le32 csum;
};

/**
 * struct prbd_disk_log_rec - header block of one record in the log ring
 *
 * A record starts on a %PRBD_DISK_BLOCK boundary of the log area; its
 * payload (@payload_len bytes, zero for no-op and configuration entries)
 * starts at the next block.  A value (one Paxos slot at one ballot) of
 * @n_desc write descriptors is stored as @n_desc records, record
 * @desc_idx carrying the payload of descriptor @desc_idx; every record
 * repeats the whole value.  A value is used at recovery only when all its
 * records are intact.
 *
 * @magic: %PRBD_LOG_REC_MAGIC
 * @seq: record sequence number, increasing in write order
 * @disk_uuid: copy of the superblock's disk_uuid (rejects stale records)
 * @slot: Paxos slot (log index)
 * @ballot: ballot under which the value was accepted
 * @kind: 1 no-op, 2 data, 3 configuration
 * @n_desc: write descriptors of the value (data), 0..4
 * @desc_idx: the descriptor whose payload follows
 * @payload_len: bytes of payload following the header block
 * @payload_crc: CRC-32C of the payload
 * @voters: configuration entries: bitmask of voting node ids
 * @learners: configuration entries: bitmask of learner node ids
 * @desc: the value's descriptors
 * @flags: %PRBD_LOG_REC_F_CHOSEN: the value is known chosen;
 *	   %PRBD_LOG_REC_F_MARKER: no payload, only marks the value of an
 *	   earlier record (same slot and ballot) chosen
 * @desc_op: what each descriptor does, %PRBD_LOG_OP_*; zero (a write) in
 *	     records written before the field existed
 * @commit_hint: every slot up to this one was known chosen, and its value
 *		 durable in this log, before this record's batch was written
 *		 (zero in records written before the field existed)
 * @reserved: zero
 * @crc: CRC-32C of bytes 0..507
 *
 * A descriptor whose op is not %PRBD_LOG_OP_WRITE carries no payload: its
 * record has @payload_len 0 and @payload_crc 0, the descriptor's @len is the
 * extent discarded or zeroed, its @csum is 0.
 */
#define PRBD_LOG_REC_F_CHOSEN	0x1
#define PRBD_LOG_REC_F_MARKER	0x2

#define PRBD_LOG_OP_WRITE		0	/* write the payload */
#define PRBD_LOG_OP_DISCARD		1	/* discard; no payload */
#define PRBD_LOG_OP_ZEROES		2	/* write zeroes, may unmap */
#define PRBD_LOG_OP_ZEROES_NOUNMAP	3	/* write zeroes, keep allocated */
#define PRBD_LOG_OP_MAX			PRBD_LOG_OP_ZEROES_NOUNMAP

struct prbd_disk_log_rec {
	__le64 magic;			/* 0x000 */
	__le64 seq;			/* 0x008 */
	__u8   disk_uuid[16];		/* 0x010 */
	__le64 slot;			/* 0x020 */
	__le64 ballot;			/* 0x028 */
	__le32 kind;			/* 0x030 */
	__le32 n_desc;			/* 0x034 */
	__le32 desc_idx;		/* 0x038 */
	__le32 payload_len;		/* 0x03c */
	__le32 payload_crc;		/* 0x040 */
	__le16 voters;			/* 0x044 */
	__le16 learners;		/* 0x046 */
	struct prbd_disk_log_rec_desc desc[4];	/* 0x048 */
	__le32 flags;			/* 0x0a8 */
	__u8   desc_op[4];		/* 0x0ac */
	__le64 commit_hint;		/* 0x0b0 */
	__u8   reserved[324];		/* 0x0b8 */
	__le32 crc;			/* 0x1fc */
};

#endif /* _UAPI_LINUX_PRBD_DISK_H */
