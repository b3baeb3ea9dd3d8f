/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbdctl - shared declarations.
 */
#ifndef PRBDCTL_H
#define PRBDCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "prbd.h"
#include "prbd_disk.h"

/* Exit codes; documented in prbdctl.8. */
enum {
	PRBDCTL_EXIT_OK = 0,
	PRBDCTL_EXIT_USAGE = 1,		/* bad command line */
	PRBDCTL_EXIT_CONFIG = 2,	/* bad resource file */
	PRBDCTL_EXIT_KERNEL = 3,	/* kernel refused the request */
	PRBDCTL_EXIT_NOTFOUND = 4,	/* no such resource/peer/device */
	PRBDCTL_EXIT_BUSY = 5,		/* busy, or already exists */
	PRBDCTL_EXIT_PERM = 6,		/* permission denied */
	PRBDCTL_EXIT_NOMODULE = 7,	/* prbd module not loaded */
	PRBDCTL_EXIT_MD = 8,		/* metadata / device error */
};

#define PRBDCTL_CONF_DIR	"/etc/prbd.d"
#define PRBDCTL_DEFAULT_PORT	7790

extern const char *prbdctl_prog;
extern bool prbdctl_json;
extern const char *prbdctl_status_config;

void prbdctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int prbdctl_errno_exit(int err);

/* util.c */
int prbdctl_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int prbdctl_parse_size(const char *s, uint64_t *out);
int prbdctl_parse_rate(const char *s, uint32_t *kib);
const char *prbdctl_parse_range(const char *s, uint64_t *start,
				uint64_t *len);
void prbdctl_fmt_bytes(uint64_t v, char *buf, size_t len);
void prbdctl_fmt_rate_kib(uint32_t kib, char *buf, size_t len);
int prbdctl_parse_uuid(const char *s, uint8_t uuid[PRBD_UUID_LEN]);
void prbdctl_format_uuid(const uint8_t uuid[PRBD_UUID_LEN], char out[37]);
int prbdctl_parse_addr(const char *s, struct sockaddr_storage *ss);
/* prbdctl_format_addr(): the host alone, or "host:port" ("[host]:port") */
enum prbdctl_addr_fmt { PRBDCTL_ADDR_HOST, PRBDCTL_ADDR_HOST_PORT };
void prbdctl_format_addr(const struct sockaddr_storage *ss, char *buf,
			 size_t len, enum prbdctl_addr_fmt fmt);
bool prbdctl_name_valid(const char *name);
void prbdctl_json_str(FILE *f, const char *s);
uint32_t prbdctl_crc32c(const void *buf, size_t len);

/* config.c */
struct prbdctl_node {
	uint32_t node_id;
	bool have_addr;
	struct sockaddr_storage addr;
	char disk[PRBD_PATH_MAX];
	bool learner;
	bool none;		/* role = none: known, not a member yet */
	int line;
};

struct prbdctl_res {
	char path[PRBD_PATH_MAX];
	char name[PRBD_NAME_SIZE];
	uint32_t minor;
	bool have_minor;
	uint8_t cluster_uuid[PRBD_UUID_LEN];
	bool have_uuid;
	uint8_t secret[PRBD_SECRET_MAX_LEN];
	size_t secret_len;
	bool allow_no_secret;		/* several nodes, no secret: allowed */
	uint32_t on_no_quorum;
	uint32_t durability;		/* enum prbd_durability, given at up */
	uint32_t resync_rate;		/* KiB/s, 0: no cap */
	uint32_t node_id;		/* from the file, 0 if not given */
	unsigned int nr_nodes;
	struct prbdctl_node nodes[PRBD_NODE_ID_MAX];
	struct prbdctl_node *local;	/* set by prbdctl_res_pick_local() */
};

int prbdctl_res_load(const char *res_name, const char *path,
		     struct prbdctl_res *res);
int prbdctl_res_pick_local(struct prbdctl_res *res, uint32_t node_opt);

/* md.c */
struct prbdctl_md_opts {
	const char *dev;
	uint8_t cluster_uuid[PRBD_UUID_LEN];
	uint32_t node_id;
	uint64_t log_size;
	uint32_t block_size;		/* 0: the device's logical block size */
	uint32_t chunk_shift;		/* slot map chunk, 0: automatic */
	bool force;
};

int prbdctl_create_md(const struct prbdctl_md_opts *o);
int prbdctl_show_md(const char *dev);

/* nl.c */
struct nl_msg;
struct nlattr;
struct prbdctl_nl;

/* One message from the kernel: parsed table plus the raw attributes (for
 * repeated attributes such as PRBD_ATTR_PEER).
 */
struct prbdctl_reply {
	struct nlattr **tb;
	struct nlattr *attrs;
	int len;
	uint8_t cmd;
};

typedef int (*prbdctl_nl_reply_fn)(const struct prbdctl_reply *r, void *arg);

struct prbdctl_nl *prbdctl_nl_open(void);
void prbdctl_nl_close(struct prbdctl_nl *nl);
struct nl_msg *prbdctl_nl_msg(struct prbdctl_nl *nl, uint8_t cmd, int flags);
int prbdctl_nl_run(struct prbdctl_nl *nl, struct nl_msg *msg,
		   prbdctl_nl_reply_fn fn, void *arg);
const char *prbdctl_nl_errmsg(struct prbdctl_nl *nl);
int prbdctl_nl_events(struct prbdctl_nl *nl, long count, int timeout_ms,
		      prbdctl_nl_reply_fn fn, void *arg);
int prbdctl_nl_join_events(struct prbdctl_nl *nl);
int prbdctl_nl_wait_events(struct prbdctl_nl *nl, int idle_ms,
			   prbdctl_nl_reply_fn fn, void *arg);

/* status.c */
int prbdctl_print_res(const struct prbdctl_reply *r, void *arg);
void prbdctl_status_begin(void);
void prbdctl_status_end(void);
int prbdctl_print_event(const struct prbdctl_reply *r, void *arg);

/* One verify-ntf (status.c decodes it for prbdctl verify). */
struct prbdctl_verify_ev {
	uint32_t event;			/* enum prbd_verify_event */
	uint32_t peer_node_id;
	uint64_t start, len, checked, divergent;
};

bool prbdctl_get_verify_ev(const struct prbdctl_reply *r,
			   struct prbdctl_verify_ev *ev);

#endif /* PRBDCTL_H */
