// SPDX-License-Identifier: GPL-2.0
/*
 * prbdctl - talking to the "prbd" generic netlink family with libnl-genl-3.
 *
 * Requests are sent with NLM_F_ACK and NETLINK_EXT_ACK enabled; the error
 * callback keeps the kernel's extack message so it can be printed verbatim.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prbdctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct prbdctl_nl {
	struct nl_sock *sk;
	int family;
	int err;		/* errno of the last failed request, < 0 */
	bool done;
	char errmsg[512];
	prbdctl_nl_reply_fn fn;
	void *arg;
	int fn_err;
	long events;		/* events printed so far */
	long max_events;	/* < 0: no limit */
	bool joined;		/* member of the events group */
	int stop;		/* > 0: the wait callback asked to stop */
};

/* What the callbacks accept from the kernel (lengths checked by libnl). */
static struct nla_policy prbdctl_attr_policy[PRBD_ATTR_MAX + 1] = {
	[PRBD_ATTR_NAME] = { .type = NLA_STRING, .maxlen = PRBD_NAME_SIZE },
	[PRBD_ATTR_MINOR] = { .type = NLA_U32 },
	[PRBD_ATTR_NODE_ID] = { .type = NLA_U32 },
	[PRBD_ATTR_CLUSTER_UUID] = { .minlen = PRBD_UUID_LEN },
	[PRBD_ATTR_ON_NO_QUORUM] = { .type = NLA_U32 },
	[PRBD_ATTR_DURABILITY] = { .type = NLA_U32 },
	[PRBD_ATTR_BACKING_DEV] = { .type = NLA_STRING, .maxlen = PRBD_PATH_MAX },
	[PRBD_ATTR_ROLE] = { .type = NLA_U32 },
	[PRBD_ATTR_PAXOS_ROLE] = { .type = NLA_U32 },
	[PRBD_ATTR_RES_STATE] = { .type = NLA_U32 },
	[PRBD_ATTR_DISK_STATE] = { .type = NLA_U32 },
	[PRBD_ATTR_LEADER_ID] = { .type = NLA_U32 },
	[PRBD_ATTR_BALLOT] = { .type = NLA_U64 },
	[PRBD_ATTR_COMMIT_INDEX] = { .type = NLA_U64 },
	[PRBD_ATTR_APPLIED_INDEX] = { .type = NLA_U64 },
	[PRBD_ATTR_CONFIG_EPOCH] = { .type = NLA_U64 },
	[PRBD_ATTR_SIZE] = { .type = NLA_U64 },
	[PRBD_ATTR_PEER] = { .type = NLA_NESTED },
	[PRBD_ATTR_CONFIG] = { .type = NLA_NESTED },
	[PRBD_ATTR_RESYNC] = { .type = NLA_NESTED },
	[PRBD_ATTR_EVENT] = { .type = NLA_U32 },
	[PRBD_ATTR_LISTEN_ADDR4] = { .type = NLA_U32 },
	[PRBD_ATTR_LISTEN_ADDR6] = { .minlen = 16 },
	[PRBD_ATTR_LISTEN_PORT] = { .type = NLA_U16 },
	[PRBD_ATTR_QUORUM] = { .type = NLA_U32 },
	[PRBD_ATTR_RESYNC_RATE] = { .type = NLA_U32 },
	[PRBD_ATTR_RANGE_START] = { .type = NLA_U64 },
	[PRBD_ATTR_RANGE_LEN] = { .type = NLA_U64 },
	[PRBD_ATTR_VERIFY] = { .type = NLA_NESTED },
};

static int prbdctl_nl_valid_cb(struct nl_msg *msg, void *arg)
{
	struct prbdctl_nl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *tb[PRBD_ATTR_MAX + 1];
	struct prbdctl_reply r = {
		.tb = tb,
		.attrs = genlmsg_attrdata(gnlh, 0),
		.len = genlmsg_attrlen(gnlh, 0),
		.cmd = gnlh->cmd,
	};
	int err;

	err = genlmsg_parse(nlh, 0, tb, PRBD_ATTR_MAX, prbdctl_attr_policy);
	if (err) {
		nl->fn_err = -EBADMSG;
		return NL_SKIP;
	}
	if (nl->fn) {
		err = nl->fn(&r, nl->arg);
		if (err > 0) {
			nl->stop = err;
			return NL_STOP;
		}
		if (err && !nl->fn_err)
			nl->fn_err = err;
	}
	return NL_OK;
}

static int prbdctl_nl_finish_cb(struct nl_msg *msg, void *arg)
{
	struct prbdctl_nl *nl = arg;

	(void)msg;
	nl->done = true;
	return NL_STOP;
}

/* Keep the extack message (NLMSGERR_ATTR_MSG) of an error or an ack. */
static void prbdctl_nl_extack(struct prbdctl_nl *nl, struct nlmsghdr *nlh)
{
	struct nlmsgerr *e = nlmsg_data(nlh);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct nlattr *attrs;
	size_t off;
	int len;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
		return;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)off;
	if (len <= 0)
		return;
	attrs = (struct nlattr *)((char *)e + off);
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, attrs, len, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->errmsg, sizeof(nl->errmsg), "%.*s",
			 nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_MISS_TYPE] && !nl->errmsg[0])
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "missing attribute %u",
			 nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]));
}

/* A success may carry a message too (the quorum arithmetic of a change). */
static int prbdctl_nl_ack_cb(struct nl_msg *msg, void *arg)
{
	struct prbdctl_nl *nl = arg;

	prbdctl_nl_extack(nl, nlmsg_hdr(msg));
	nl->done = true;
	return NL_STOP;
}

/* Keep the error and the extack message. */
static int prbdctl_nl_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e,
			       void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct prbdctl_nl *nl = arg;

	(void)nla;
	nl->err = e->error;
	nl->done = true;
	prbdctl_nl_extack(nl, nlh);
	return NL_STOP;
}

/**
 * prbdctl_nl_open() - connect and resolve the prbd family
 *
 * Return: the handle, or NULL after printing why (errno set: ENOENT when
 * the module is not loaded).
 */
struct prbdctl_nl *prbdctl_nl_open(void)
{
	struct prbdctl_nl *nl;
	int one = 1;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		goto out_free;
	if (genl_connect(nl->sk)) {
		prbdctl_err("cannot open a generic netlink socket");
		errno = EIO;
		goto out_free_sock;
	}
	/* ext ack: error messages; capped: no echo of our request */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_set_msg_buf_size(nl->sk, 65536);
	nl->family = genl_ctrl_resolve(nl->sk, PRBD_FAMILY_NAME);
	if (nl->family < 0) {
		prbdctl_err("generic netlink family '%s' not found: is the prbd module loaded?",
			    PRBD_FAMILY_NAME);
		errno = ENOENT;
		goto out_free_sock;
	}
	return nl;

out_free_sock:
	nl_socket_free(nl->sk);
out_free:
	free(nl);
	return NULL;
}

void prbdctl_nl_close(struct prbdctl_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

struct nl_msg *prbdctl_nl_msg(struct prbdctl_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, PRBD_FAMILY_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

const char *prbdctl_nl_errmsg(struct prbdctl_nl *nl)
{
	return nl->errmsg;
}

static struct nl_cb *prbdctl_nl_cb(struct prbdctl_nl *nl)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, prbdctl_nl_valid_cb, nl);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, prbdctl_nl_finish_cb, nl);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, prbdctl_nl_ack_cb, nl);
	nl_cb_err(cb, NL_CB_CUSTOM, prbdctl_nl_error_cb, nl);
	return cb;
}

/**
 * prbdctl_nl_run() - send @msg (consumed) and process the replies
 * @nl: handle
 * @msg: the request
 * @fn: called for each reply message, may be NULL
 * @arg: passed to @fn
 *
 * Return: 0, the kernel's negative errno (message in prbdctl_nl_errmsg()),
 * or @fn's first error.
 */
int prbdctl_nl_run(struct prbdctl_nl *nl, struct nl_msg *msg,
		   prbdctl_nl_reply_fn fn, void *arg)
{
	struct nl_cb *cb;
	int err;

	if (!msg)
		return -ENOMEM;
	nl->err = 0;
	nl->done = false;
	nl->errmsg[0] = '\0';
	nl->fn = fn;
	nl->arg = arg;
	nl->fn_err = 0;

	cb = prbdctl_nl_cb(nl);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (err < 0) {
		snprintf(nl->errmsg, sizeof(nl->errmsg), "send: %s",
			 nl_geterror(err));
		nl_cb_put(cb);
		return -EIO;
	}
	while (!nl->done) {
		err = nl_recvmsgs(nl->sk, cb);
		if (err < 0 && !nl->done) {
			if (!nl->err) {
				snprintf(nl->errmsg, sizeof(nl->errmsg),
					 "receive: %s", nl_geterror(err));
				nl->err = -EIO;
			}
			break;
		}
	}
	nl_cb_put(cb);
	return nl->err ? nl->err : nl->fn_err;
}

static volatile sig_atomic_t prbdctl_stop;

static void prbdctl_on_signal(int sig)
{
	(void)sig;
	prbdctl_stop = 1;
}

static int prbdctl_nl_no_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int prbdctl_nl_event_cb(struct nl_msg *msg, void *arg)
{
	struct prbdctl_nl *nl = arg;

	if (nl->max_events >= 0 && nl->events >= nl->max_events)
		return NL_STOP;
	nl->events++;
	return prbdctl_nl_valid_cb(msg, arg);
}

/**
 * prbdctl_nl_join_events() - make @nl's socket a member of the events group
 * @nl: handle; notifications queue on its socket from now on
 *
 * Return: 0 or a negative errno (message in prbdctl_nl_errmsg()).
 */
int prbdctl_nl_join_events(struct prbdctl_nl *nl)
{
	int grp, err;

	if (nl->joined)
		return 0;
	grp = genl_ctrl_resolve_grp(nl->sk, PRBD_FAMILY_NAME, PRBD_MCGRP_EVENTS);
	if (grp < 0) {
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "multicast group '%s' not found", PRBD_MCGRP_EVENTS);
		return -ENOENT;
	}
	err = nl_socket_add_membership(nl->sk, grp);
	if (err < 0) {
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "cannot join group '%s': %s", PRBD_MCGRP_EVENTS,
			 nl_geterror(err));
		return -EPERM;
	}
	nl->joined = true;
	return 0;
}

/*
 * The event loop: until @count events (< 0: no limit), @timeout_ms in all
 * (< 0: none), @idle_ms without an event (< 0: none; then -ETIMEDOUT), a
 * callback returning > 0 (nl->stop), or SIGINT/SIGTERM (-EINTR when
 * @idle_ms >= 0).
 */
static int prbdctl_nl_loop(struct prbdctl_nl *nl, long count, int timeout_ms,
			   int idle_ms, prbdctl_nl_reply_fn fn, void *arg)
{
	struct sigaction sa = { .sa_handler = prbdctl_on_signal };
	struct timespec start, now, last;
	struct pollfd pfd;
	struct nl_cb *cb;
	long before;
	int err, wait, idle;

	err = prbdctl_nl_join_events(nl);
	if (err)
		return err;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl->fn = fn;
	nl->arg = arg;
	nl->fn_err = 0;
	nl->events = 0;
	nl->max_events = count;
	nl->stop = 0;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, prbdctl_nl_event_cb, nl);
	/* notifications have sequence number 0 */
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, prbdctl_nl_no_seq_check,
		  NULL);

	clock_gettime(CLOCK_MONOTONIC, &start);
	last = start;
	pfd.fd = nl_socket_get_fd(nl->sk);
	pfd.events = POLLIN;
	err = 0;
	while (!prbdctl_stop && !nl->stop && (count < 0 || nl->events < count)) {
		wait = -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_ms >= 0) {
			wait = timeout_ms -
			       (int)((now.tv_sec - start.tv_sec) * 1000 +
				     (now.tv_nsec - start.tv_nsec) / 1000000);
			if (wait <= 0)
				break;
		}
		if (idle_ms >= 0) {
			idle = idle_ms -
			       (int)((now.tv_sec - last.tv_sec) * 1000 +
				     (now.tv_nsec - last.tv_nsec) / 1000000);
			if (idle <= 0) {
				err = -ETIMEDOUT;
				break;
			}
			if (wait < 0 || idle < wait)
				wait = idle;
		}
		err = poll(&pfd, 1, wait);
		if (err < 0 && errno == EINTR)
			continue;
		if (err < 0) {
			err = -errno;
			break;
		}
		if (!err)
			continue;
		before = nl->events;
		err = nl_recvmsgs(nl->sk, cb);
		if (nl->events != before)
			clock_gettime(CLOCK_MONOTONIC, &last);
		if (err == -NLE_NOMEM) {
			/* ENOBUFS: the socket overran, events were dropped */
			if (prbdctl_json)
				printf("{\"type\":\"overrun\"}\n");
			else
				printf("events lost: receive buffer overrun\n");
			fflush(stdout);
			err = 0;
			continue;
		}
		if (err < 0) {
			snprintf(nl->errmsg, sizeof(nl->errmsg), "receive: %s",
				 nl_geterror(err));
			err = -EIO;
			break;
		}
		err = 0;
	}
	nl_cb_put(cb);
	fflush(stdout);
	if (!err && prbdctl_stop && idle_ms >= 0)
		err = -EINTR;
	return err < 0 ? err : 0;
}

/**
 * prbdctl_nl_events() - print notifications of the events group
 * @nl: handle (its socket joins the group)
 * @count: stop after this many events, < 0 for no limit
 * @timeout_ms: stop after this long, < 0 for no limit
 * @fn: called per event
 * @arg: passed to @fn
 *
 * Stops on SIGINT/SIGTERM too.
 *
 * Return: 0 or a negative errno.
 */
int prbdctl_nl_events(struct prbdctl_nl *nl, long count, int timeout_ms,
		      prbdctl_nl_reply_fn fn, void *arg)
{
	return prbdctl_nl_loop(nl, count, timeout_ms, -1, fn, arg);
}

/**
 * prbdctl_nl_wait_events() - feed notifications to @fn until it is done
 * @nl: handle; join the group with prbdctl_nl_join_events() before sending
 *	the request whose events you wait for
 * @idle_ms: give up after this long without any notification
 * @fn: called per notification; returns 0 to go on, > 0 to stop
 * @arg: passed to @fn
 *
 * Return: 0 once @fn asked to stop, -ETIMEDOUT, -EINTR (SIGINT/SIGTERM),
 * @fn's first negative return, or another negative errno.
 */
int prbdctl_nl_wait_events(struct prbdctl_nl *nl, int idle_ms,
			   prbdctl_nl_reply_fn fn, void *arg)
{
	int err = prbdctl_nl_loop(nl, -1, -1, idle_ms, fn, arg);

	if (err)
		return err;
	return nl->fn_err < 0 ? nl->fn_err : 0;
}
