// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: instantiates the tracepoints declared in prbd_trace.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/types.h>

#define CREATE_TRACE_POINTS
#include "prbd_trace.h"
