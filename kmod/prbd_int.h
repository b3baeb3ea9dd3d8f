/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd internal header: shared by every file of the module.
 */
#ifndef PRBD_INT_H
#define PRBD_INT_H

#define PRBD_VERSION "0.1.0"

#endif /* PRBD_INT_H */
