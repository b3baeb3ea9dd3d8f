// SPDX-License-Identifier: GPL-2.0
/* The transport under test, built into prbd_trtest.ko. */
#include "prbd_transport.c"
