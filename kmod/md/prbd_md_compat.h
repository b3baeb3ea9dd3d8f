/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place where the on-disk metadata checks (prbd_md_check.c) touch
 * their environment: integer types, memcmp, offsetof, static_assert and
 * little-endian decoding, for the kernel module (__KERNEL__) and for
 * prbdctl.  Each environment also provides prbd_md_crc(), the CRC-32C of a
 * record.
 */
#ifndef PRBD_MD_COMPAT_H
#define PRBD_MD_COMPAT_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>
#else
#include <assert.h>
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* the kernel's names for the <stdint.h> types and byte-order helpers */
typedef __UINT8_TYPE__ u8;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)
#endif

#endif /* PRBD_MD_COMPAT_H */
