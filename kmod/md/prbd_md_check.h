/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: the checks of the on-disk metadata (uapi/prbd_disk.h), shared
 * unchanged by the kernel module (prbd_md.c: attach) and prbdctl (user/md.c:
 * show-md, create-md).  Plain C: no I/O, no allocation, no logging; the
 * callers read the records and report.  Every refusal is a value of enum
 * prbd_md_err naming the on-disk field, with one message for both.
 */
#ifndef PRBD_MD_CHECK_H
#define PRBD_MD_CHECK_H

#include "prbd_md_compat.h"
#include "../uapi/prbd.h"		/* PRBD_NODE_ID_MAX */
#include "../uapi/prbd_disk.h"

/*
 * Why a metadata record was refused.  Every value names the on-disk field
 * that failed.  The order matters: within a record, a bad crc ranks above
 * a bad magic (some prbd metadata is there, but broken).
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
	PRBD_MD_SB_DEV_BLOCK_SIZE,
	PRBD_MD_ACC_MAGIC,
	PRBD_MD_ACC_CRC,
	PRBD_MD_ACC_DISK_UUID,
	PRBD_MD_ACC_NR_MEMBERS,
	PRBD_MD_ACC_MEMBERS,
	PRBD_MD_ACC_RESERVED,
	PRBD_MD_ACC_FLAGS,
	PRBD_MD_ACC_REMOVED_AT,
	PRBD_MD_ACC_ERANK,
	PRBD_MD_ACC_RESET,
	PRBD_MD_LOG_MAGIC,
	PRBD_MD_LOG_CRC,
	PRBD_MD_LOG_DISK_UUID,
	PRBD_MD_LOG_REC_ALIGN,
	PRBD_MD_LOG_REC_OFFSET,
	PRBD_MD_LOG_REC_SIZE,
	PRBD_MD_LOG_RESERVED,
	PRBD_MD_MAP_MAGIC,
	PRBD_MD_MAP_CRC,
	PRBD_MD_MAP_DISK_UUID,
	PRBD_MD_MAP_N_CHUNKS,
	PRBD_MD_MAP_CHUNK_SHIFT,
	PRBD_MD_MAP_RESERVED,
	PRBD_MD_NR_ERRS
};

/* provided by the environment: the standard CRC-32C of @buf */
u32 prbd_md_crc(const void *buf, size_t len);

const char *prbd_md_err_msg(enum prbd_md_err err);
const char *prbd_md_err_text(enum prbd_md_err err);
const char *prbd_md_err_field(enum prbd_md_err err);
bool prbd_md_err_torn(enum prbd_md_err err);

bool prbd_md_all_zero(const void *buf, size_t len);
u64 prbd_md_map_chunks(u64 data_size, u32 shift);
u64 prbd_md_map_size(u64 n_chunks);

enum prbd_md_err prbd_md_sb_check(const struct prbd_disk_sb *sb,
				  u64 dev_bytes);
enum prbd_md_err prbd_md_acc_check(const struct prbd_disk_acceptor *acc,
				   const struct prbd_disk_sb *sb);
enum prbd_md_err prbd_md_log_check(const struct prbd_disk_log_hdr *lh,
				   const struct prbd_disk_sb *sb);
enum prbd_md_err prbd_md_map_hdr_check(const struct prbd_disk_map_hdr *h,
				       const struct prbd_disk_sb *sb);

enum prbd_md_err prbd_md_pick_sb(const struct prbd_disk_sb sbs[2],
				 u64 dev_bytes, enum prbd_md_err errs[2],
				 unsigned int *use);
enum prbd_md_err prbd_md_pick_acc(const struct prbd_disk_acceptor accs[2],
				  const struct prbd_disk_sb *sb,
				  enum prbd_md_err errs[2], unsigned int *use);
int prbd_md_pick_map_hdr(const struct prbd_disk_map_hdr h[2],
			 const struct prbd_disk_sb *sb,
			 enum prbd_md_err errs[2]);

#endif /* PRBD_MD_CHECK_H */
