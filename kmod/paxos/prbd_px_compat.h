/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place where the Multi-Paxos core touches its
 * environment: integer types, memcpy/memset and assertions, for the kernel
 * build (__KERNEL__) and for the userspace simulator / unit tests.
 */
#ifndef PRBD_PX_COMPAT_H
#define PRBD_PX_COMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/bug.h>
#include <linux/compiler.h>
#define PRBD_PX_ASSERT(c)	WARN_ON_ONCE(!(c))
#else
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <assert.h>
#include <stdbool.h>
/* the kernel's names for the <stdint.h> types */
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
#define PRBD_PX_ASSERT(c)	assert(c)
#endif

#define PRBD_PX_U64_MAX		(~(u64)0)

#endif /* PRBD_PX_COMPAT_H */
