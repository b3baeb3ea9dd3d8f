/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: kernel API differences used by the transport (prbd_transport.c).
 * COMPAT - to be merged into kmod/prbd_compat.h; only the 6.1 branch is
 * compile-tested (Debian 6.1.0-56-amd64).
 *
 * Zero-copy send of one page: 6.1 has ->sendpage (kernel_sendpage); 6.5
 * removed it in favour of MSG_SPLICE_PAGES on sendmsg.  Slab pages (and
 * pages without a reference) cannot be spliced and are copied.  6.2 added
 * sk_use_task_frag, which must be off on sockets used under memory reclaim.
 */

#ifndef PRBD_TR_COMPAT_H
#define PRBD_TR_COMPAT_H

#include <linux/bvec.h>
#include <linux/highmem.h>
#include <linux/net.h>
#include <linux/uio.h>
#include <linux/version.h>
#include <net/sock.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
static inline int prbd_tr_compat_sendpage(struct socket *sock,
					  struct page *page, int off,
					  size_t len, int flags)
{
	struct bio_vec bv;
	struct msghdr msg = { .msg_flags = flags | MSG_NOSIGNAL };

	if (sendpage_ok(page))
		msg.msg_flags |= MSG_SPLICE_PAGES;
	bvec_set_page(&bv, page, len, off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, len);
	return sock_sendmsg(sock, &msg);
}
#else
static inline int prbd_tr_compat_sendpage(struct socket *sock,
					  struct page *page, int off,
					  size_t len, int flags)
{
	struct msghdr msg = { .msg_flags = flags | MSG_NOSIGNAL };
	struct kvec kv;
	int ret;

	if (sendpage_ok(page))
		return kernel_sendpage(sock, page, off, len,
				       flags | MSG_NOSIGNAL);
	kv.iov_base = kmap_local_page(page) + off;
	kv.iov_len = len;
	ret = kernel_sendmsg(sock, &msg, &kv, 1, len);
	kunmap_local(kv.iov_base);
	return ret;
}
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
static inline void prbd_tr_compat_sock_noio(struct sock *sk)
{
	sk->sk_allocation = GFP_NOIO;
	sk->sk_use_task_frag = false;
}
#else
static inline void prbd_tr_compat_sock_noio(struct sock *sk)
{
	sk->sk_allocation = GFP_NOIO;
}
#endif

#endif /* PRBD_TR_COMPAT_H */
