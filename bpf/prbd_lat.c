// SPDX-License-Identifier: GPL-2.0
/*
 * prbd-lat: per-stage latency histograms of prbd from its tracepoints.
 *
 *   prbd-lat attach              load prbd_lat.bpf.o, attach every program,
 *                                pin the maps and links under /sys/fs/bpf/prbd
 *   prbd-lat show [-i SEC [-c N]] [--json] [--per-peer] [-m MINOR]
 *                                histograms with p50/p90/p99 per stage
 *   prbd-lat reset               zero the histograms and counters
 *   prbd-lat detach              remove every pin (the programs go with them)
 *
 * Once attached, nothing of prbd-lat keeps running: the pinned links keep
 * the programs attached and the pinned maps readable by bpftool.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "prbd_lat.h"
#include "prbd_lat.skel.h"

#define PRBD_LAT_HIST_PIN	PRBD_LAT_PIN_DIR "/prbd_hist"
#define PRBD_LAT_CNT_PIN	PRBD_LAT_PIN_DIR "/prbd_cnt"

static const struct {
	const char *name;
	const char *what;
} prbd_stages[PRBD_LAT_NR_STAGES] = {
	[PRBD_LAT_READ] = { "read", "read request, queue_rq to completion" },
	[PRBD_LAT_WRITE] = { "write", "write request, queue_rq to completion" },
	[PRBD_LAT_FLUSH] = { "flush", "flush request, queue_rq to completion" },
	[PRBD_LAT_PROPOSE] = { "propose_commit", "slot proposed to committed (leader)" },
	[PRBD_LAT_ACCEPT] = { "accept", "accept sent to a peer to its ack (leader)" },
	[PRBD_LAT_LOG] = { "log_persist", "local log batch, submitted to durable" },
	[PRBD_LAT_APPLY] = { "commit_apply", "slot committed to applied" },
	[PRBD_LAT_READ_WAIT] = { "read_lease_wait", "read waiting for the leader lease" },
};

static const char *const prbd_counters[PRBD_CNT_NR] = {
	[PRBD_CNT_READ_LOCAL] = "read_local",
	[PRBD_CNT_READ_WAITED] = "read_waited",
	[PRBD_CNT_REQ_ERROR] = "req_error",
	[PRBD_CNT_SLOT_PROPOSED] = "slot_proposed",
	[PRBD_CNT_SLOT_COMMITTED] = "slot_committed",
	[PRBD_CNT_SLOT_APPLIED] = "slot_applied",
	[PRBD_CNT_ACCEPT_SENT] = "accept_sent",
	[PRBD_CNT_ACCEPT_ACKED] = "accept_acked",
	[PRBD_CNT_LOG_BATCH] = "log_batch",
	[PRBD_CNT_LOG_ERROR] = "log_error",
	[PRBD_CNT_LEADER_CHANGE] = "leader_change",
	[PRBD_CNT_RESYNC_EVENT] = "resync_event",
};

static bool prbd_verbose;

static int prbd_libbpf_print(enum libbpf_print_level level, const char *fmt,
			     va_list ap)
{
	if (level == LIBBPF_DEBUG && !prbd_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void prbd_err(const char *fmt, ...)
{
	va_list ap;

	fputs("prbd-lat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- attach / detach --------------------------------------------------- */

static int prbd_pin_count(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(PRBD_LAT_PIN_DIR);
	if (!d)
		return errno == ENOENT ? -1 : -2;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int prbd_detach(bool quiet)
{
	char path[PATH_MAX];
	struct dirent *de;
	int err = 0, n = 0;
	DIR *d;

	d = opendir(PRBD_LAT_PIN_DIR);
	if (!d) {
		if (errno == ENOENT) {
			if (!quiet)
				printf("prbd-lat: not attached\n");
			return 0;
		}
		prbd_err("%s: %s", PRBD_LAT_PIN_DIR, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", PRBD_LAT_PIN_DIR,
			 de->d_name);
		if (unlink(path)) {
			prbd_err("unlink %s: %s", path, strerror(errno));
			err = 1;
		} else {
			n++;
		}
	}
	closedir(d);
	if (rmdir(PRBD_LAT_PIN_DIR)) {
		prbd_err("rmdir %s: %s", PRBD_LAT_PIN_DIR, strerror(errno));
		err = 1;
	}
	if (!quiet && !err)
		printf("prbd-lat: detached (%d pins removed)\n", n);
	return err;
}

static int prbd_attach(void)
{
	struct prbd_lat *skel;
	struct bpf_program *prog;
	struct bpf_link *link;
	char path[PATH_MAX];
	int n_progs = 0, n, err;

	n = prbd_pin_count();
	if (n >= 0) {
		struct stat st;

		if (!stat(PRBD_LAT_HIST_PIN, &st) && !stat(PRBD_LAT_CNT_PIN, &st) &&
		    n > 2) {
			printf("prbd-lat: already attached (%d pins under %s); reusing them; 'prbd-lat detach' removes them\n",
			       n, PRBD_LAT_PIN_DIR);
			return 0;
		}
		prbd_err("%s holds an incomplete set of pins: run 'prbd-lat detach' first",
			 PRBD_LAT_PIN_DIR);
		return 1;
	}
	if (n == -2) {
		prbd_err("%s: %s (is bpffs mounted on /sys/fs/bpf?)",
			 PRBD_LAT_PIN_DIR, strerror(errno));
		return 1;
	}

	skel = prbd_lat__open_and_load();
	if (!skel) {
		prbd_err("cannot load the BPF programs: %s (is prbd.ko loaded, with BTF?)",
			 strerror(errno));
		return 1;
	}
	if (mkdir(PRBD_LAT_PIN_DIR, 0700)) {
		prbd_err("mkdir %s: %s (is bpffs mounted on /sys/fs/bpf?)",
			 PRBD_LAT_PIN_DIR, strerror(errno));
		goto out_destroy;
	}
	err = bpf_map__pin(skel->maps.prbd_hist, PRBD_LAT_HIST_PIN);
	if (!err)
		err = bpf_map__pin(skel->maps.prbd_cnt, PRBD_LAT_CNT_PIN);
	if (err) {
		prbd_err("cannot pin the maps: %s", strerror(-err));
		goto out_unpin;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		link = bpf_program__attach(prog);
		if (!link) {
			err = -errno;
			prbd_err("cannot attach %s: %s", bpf_program__name(prog),
				 strerror(-err));
			goto out_unpin;
		}
		snprintf(path, sizeof(path), "%s/link_%s", PRBD_LAT_PIN_DIR,
			 bpf_program__name(prog));
		err = bpf_link__pin(link, path);
		/* the pin keeps it attached once we close it */
		bpf_link__destroy(link);
		if (err) {
			prbd_err("cannot pin %s: %s", path, strerror(-err));
			goto out_unpin;
		}
		n_progs++;
	}
	prbd_lat__destroy(skel);
	printf("prbd-lat: attached %d programs; maps %s and %s\n", n_progs,
	       PRBD_LAT_HIST_PIN, PRBD_LAT_CNT_PIN);
	return 0;

out_unpin:
	prbd_detach(true);
out_destroy:
	prbd_lat__destroy(skel);
	return 1;
}

/* --- reading the maps ---------------------------------------------------- */

struct prbd_hent {
	struct prbd_lat_key k;
	struct prbd_lat_hist h;
};

struct prbd_cent {
	struct prbd_cnt_key k;
	__u64 v;
};

struct prbd_snap {
	struct prbd_hent h[PRBD_LAT_MAX_HISTS];
	unsigned int nh;
	struct prbd_cent c[PRBD_LAT_MAX_CNTS];
	unsigned int nc;
};

static int prbd_open_maps(int *hfd, int *cfd)
{
	*hfd = bpf_obj_get(PRBD_LAT_HIST_PIN);
	if (*hfd < 0) {
		prbd_err("%s: %s (run 'prbd-lat attach' first)",
			 PRBD_LAT_HIST_PIN, strerror(errno));
		return -1;
	}
	*cfd = bpf_obj_get(PRBD_LAT_CNT_PIN);
	if (*cfd < 0) {
		prbd_err("%s: %s", PRBD_LAT_CNT_PIN, strerror(errno));
		close(*hfd);
		return -1;
	}
	return 0;
}

static void prbd_read(int hfd, int cfd, struct prbd_snap *s)
{
	struct prbd_lat_key hk, hlast;
	struct prbd_cnt_key ck, clast;
	bool have = false;

	/* an entry deleted meanwhile (reset) is skipped, not fatal */
	s->nh = 0;
	while (s->nh < PRBD_LAT_MAX_HISTS &&
	       !bpf_map_get_next_key(hfd, have ? &hlast : NULL, &hk)) {
		hlast = hk;
		have = true;
		if (!bpf_map_lookup_elem(hfd, &hk, &s->h[s->nh].h))
			s->h[s->nh++].k = hk;
	}
	have = false;
	s->nc = 0;
	while (s->nc < PRBD_LAT_MAX_CNTS &&
	       !bpf_map_get_next_key(cfd, have ? &clast : NULL, &ck)) {
		clast = ck;
		have = true;
		if (!bpf_map_lookup_elem(cfd, &ck, &s->c[s->nc].v))
			s->c[s->nc++].k = ck;
	}
}

static const struct prbd_lat_hist *prbd_find_hist(const struct prbd_snap *s,
						  const struct prbd_lat_key *k)
{
	unsigned int i;

	for (i = 0; i < s->nh; i++)
		if (!memcmp(&s->h[i].k, k, sizeof(*k)))
			return &s->h[i].h;
	return NULL;
}

static __u64 prbd_find_cnt(const struct prbd_snap *s,
			   const struct prbd_cnt_key *k)
{
	unsigned int i;

	for (i = 0; i < s->nc; i++)
		if (!memcmp(&s->c[i].k, k, sizeof(*k)))
			return s->c[i].v;
	return 0;
}

/* cur -= prev, entry by entry (interval mode) */
static void prbd_delta(struct prbd_snap *cur, const struct prbd_snap *prev)
{
	const struct prbd_lat_hist *ph;
	struct prbd_lat_hist *h;
	unsigned int i, b;

	for (i = 0; i < cur->nh; i++) {
		ph = prbd_find_hist(prev, &cur->h[i].k);
		if (!ph)
			continue;
		h = &cur->h[i].h;
		for (b = 0; b < PRBD_LAT_SLOTS; b++)
			h->slots[b] -= ph->slots[b];
		h->count -= ph->count;
		h->sum_us -= ph->sum_us;
	}
	for (i = 0; i < cur->nc; i++)
		cur->c[i].v -= prbd_find_cnt(prev, &cur->c[i].k);
}

/* --- printing -------------------------------------------------------------- */

static __u64 prbd_bucket_lo(unsigned int b)
{
	return b ? 1ULL << b : 0;
}

static __u64 prbd_bucket_hi(unsigned int b)	/* exclusive */
{
	return 2ULL << b;
}

/* the p-th percentile, linear within its log2 bucket */
static double prbd_pct(const struct prbd_lat_hist *h, double p)
{
	double target = h->count * p / 100.0, cum = 0;
	unsigned int b;

	if (!h->count)
		return 0;
	for (b = 0; b < PRBD_LAT_SLOTS; b++) {
		if (!h->slots[b])
			continue;
		if (cum + h->slots[b] >= target)
			return prbd_bucket_lo(b) +
			       (prbd_bucket_hi(b) - prbd_bucket_lo(b)) *
			       (target - cum) / h->slots[b];
		cum += h->slots[b];
	}
	return prbd_bucket_hi(PRBD_LAT_SLOTS - 1);
}

struct prbd_opts {
	bool json;
	bool per_peer;
	long minor;		/* -1: all */
	unsigned int interval;
	long count;		/* intervals, -1: forever */
};

/* One histogram of a minor and stage; peer ~0 sums every peer. */
static bool prbd_collect(const struct prbd_snap *s, __u32 minor, __u32 stage,
			 __u32 peer, struct prbd_lat_hist *out)
{
	unsigned int i, b;
	bool any = false;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < s->nh; i++) {
		const struct prbd_hent *e = &s->h[i];

		if (e->k.minor != minor || e->k.stage != stage ||
		    (peer != ~0U && e->k.peer != peer))
			continue;
		for (b = 0; b < PRBD_LAT_SLOTS; b++)
			out->slots[b] += e->h.slots[b];
		out->count += e->h.count;
		out->sum_us += e->h.sum_us;
		any = true;
	}
	return any;
}

static void prbd_print_stars(__u64 v, __u64 max, unsigned int width)
{
	unsigned int n = max ? (unsigned int)(v * width / max) : 0, i;

	putchar('|');
	for (i = 0; i < width; i++)
		putchar(i < n ? '*' : ' ');
	putchar('|');
}

static void prbd_print_text(__u32 minor, __u32 stage, __u32 peer,
			    const struct prbd_lat_hist *h)
{
	unsigned int b, lo = PRBD_LAT_SLOTS, hi = 0;
	__u64 max = 0;
	char who[32] = "";

	if (peer != ~0U && stage == PRBD_LAT_ACCEPT)
		snprintf(who, sizeof(who), ", peer %u", peer);
	else if (stage == PRBD_LAT_ACCEPT)
		snprintf(who, sizeof(who), ", all peers");
	printf("\nprbd%u %s (%s%s)\n", minor, prbd_stages[stage].name,
	       prbd_stages[stage].what, who);
	printf("  count %llu  avg %.0f us  p50 %.0f us  p90 %.0f us  p99 %.0f us\n",
	       (unsigned long long)h->count,
	       h->count ? (double)h->sum_us / h->count : 0.0,
	       prbd_pct(h, 50), prbd_pct(h, 90), prbd_pct(h, 99));
	for (b = 0; b < PRBD_LAT_SLOTS; b++) {
		if (!h->slots[b])
			continue;
		if (b < lo)
			lo = b;
		hi = b;
		if (h->slots[b] > max)
			max = h->slots[b];
	}
	if (!max)
		return;
	printf("%18s : %-8s %s\n", "usecs", "count", "distribution");
	for (b = lo; b <= hi; b++) {
		printf("%8llu -> %-7llu : %-8llu ",
		       (unsigned long long)prbd_bucket_lo(b),
		       (unsigned long long)prbd_bucket_hi(b) - 1,
		       (unsigned long long)h->slots[b]);
		prbd_print_stars(h->slots[b], max, 40);
		putchar('\n');
	}
}

static void prbd_print_json_hist(bool *first, __u32 minor, __u32 stage,
				 __u32 peer, const struct prbd_lat_hist *h)
{
	bool fb = true;
	unsigned int b;

	printf("%s{\"minor\":%u,\"stage\":\"%s\",\"peer\":%u,\"count\":%llu,\"sum_us\":%llu,"
	       "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"buckets\":[",
	       *first ? "" : ",", minor, prbd_stages[stage].name,
	       peer == ~0U ? 0 : peer, (unsigned long long)h->count,
	       (unsigned long long)h->sum_us, prbd_pct(h, 50),
	       prbd_pct(h, 90), prbd_pct(h, 99));
	for (b = 0; b < PRBD_LAT_SLOTS; b++) {
		if (!h->slots[b])
			continue;
		printf("%s{\"lo_us\":%llu,\"hi_us\":%llu,\"count\":%llu}",
		       fb ? "" : ",", (unsigned long long)prbd_bucket_lo(b),
		       (unsigned long long)prbd_bucket_hi(b) - 1,
		       (unsigned long long)h->slots[b]);
		fb = false;
	}
	printf("]}");
	*first = false;
}

static int prbd_cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* the distinct values of a key field, sorted */
static unsigned int prbd_uniq(__u32 *v, unsigned int n)
{
	unsigned int i, m = 0;

	qsort(v, n, sizeof(*v), prbd_cmp_u32);
	for (i = 0; i < n; i++)
		if (!m || v[m - 1] != v[i])
			v[m++] = v[i];
	return m;
}

static void prbd_print(const struct prbd_snap *s, const struct prbd_opts *o,
		       double secs)
{
	static __u32 minors[PRBD_LAT_MAX_HISTS + PRBD_LAT_MAX_CNTS];
	static __u32 peers[PRBD_LAT_MAX_HISTS];
	struct prbd_lat_hist h;
	unsigned int nm = 0, np, i, j, st;
	bool first = true;
	char tbuf[32];
	time_t now = time(NULL);

	for (i = 0; i < s->nh; i++)
		minors[nm++] = s->h[i].k.minor;
	for (i = 0; i < s->nc; i++)
		minors[nm++] = s->c[i].k.minor;
	nm = prbd_uniq(minors, nm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", localtime(&now));

	if (o->json)
		printf("{\"time\":\"%s\",\"interval_s\":%.3f,\"hists\":[", tbuf,
		       secs);
	else if (o->interval)
		printf("\n%s (last %.1f s)\n", tbuf, secs);
	for (i = 0; i < nm; i++) {
		if (o->minor >= 0 && minors[i] != (__u32)o->minor)
			continue;
		for (st = 0; st < PRBD_LAT_NR_STAGES; st++) {
			if (st == PRBD_LAT_ACCEPT && o->per_peer) {
				for (np = 0, j = 0; j < s->nh; j++)
					if (s->h[j].k.minor == minors[i] &&
					    s->h[j].k.stage == st)
						peers[np++] = s->h[j].k.peer;
				np = prbd_uniq(peers, np);
				for (j = 0; j < np; j++) {
					prbd_collect(s, minors[i], st, peers[j], &h);
					if (!h.count && !o->json)
						continue;
					if (o->json)
						prbd_print_json_hist(&first, minors[i],
								     st, peers[j], &h);
					else
						prbd_print_text(minors[i], st,
								peers[j], &h);
				}
				continue;
			}
			if (!prbd_collect(s, minors[i], st, ~0U, &h) ||
			    (!h.count && !o->json))
				continue;
			if (o->json)
				prbd_print_json_hist(&first, minors[i], st, ~0U, &h);
			else
				prbd_print_text(minors[i], st, ~0U, &h);
		}
	}
	if (o->json)
		printf("],\"counters\":[");
	first = true;
	for (i = 0; i < s->nc; i++) {
		const struct prbd_cent *c = &s->c[i];

		if ((o->minor >= 0 && c->k.minor != (__u32)o->minor) ||
		    c->k.counter >= PRBD_CNT_NR)
			continue;
		if (o->json)
			printf("%s{\"minor\":%u,\"counter\":\"%s\",\"peer\":%u,\"value\":%llu}",
			       first ? "" : ",", c->k.minor,
			       prbd_counters[c->k.counter], c->k.peer,
			       (unsigned long long)c->v);
		else if (c->k.peer)
			printf("%sprbd%u %s peer %u: %llu",
			       first ? "\ncounters:\n  " : "\n  ", c->k.minor,
			       prbd_counters[c->k.counter], c->k.peer,
			       (unsigned long long)c->v);
		else
			printf("%sprbd%u %s: %llu",
			       first ? "\ncounters:\n  " : "\n  ", c->k.minor,
			       prbd_counters[c->k.counter],
			       (unsigned long long)c->v);
		first = false;
	}
	printf(o->json ? "]}\n" : "\n");
	fflush(stdout);
}

static volatile sig_atomic_t prbd_stop;

static void prbd_on_signal(int sig)
{
	(void)sig;
	prbd_stop = 1;
}

static double prbd_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int prbd_show(const struct prbd_opts *o)
{
	static struct prbd_snap prev, cur;
	double t0, t1;
	long n = 0;
	int hfd, cfd;

	if (prbd_open_maps(&hfd, &cfd))
		return 1;
	prbd_read(hfd, cfd, &cur);
	if (!o->interval) {
		prbd_print(&cur, o, 0);
		goto out;
	}
	signal(SIGINT, prbd_on_signal);
	signal(SIGTERM, prbd_on_signal);
	t0 = prbd_mono();
	while (!prbd_stop && (o->count < 0 || n < o->count)) {
		prev = cur;
		sleep(o->interval);
		if (prbd_stop)
			break;
		prbd_read(hfd, cfd, &cur);
		t1 = prbd_mono();
		{
			static struct prbd_snap d;

			d = cur;
			prbd_delta(&d, &prev);
			prbd_print(&d, o, t1 - t0);
		}
		t0 = t1;
		n++;
	}
out:
	close(hfd);
	close(cfd);
	return 0;
}

static int prbd_reset(void)
{
	static struct prbd_snap s;
	unsigned int i;
	int hfd, cfd;

	if (prbd_open_maps(&hfd, &cfd))
		return 1;
	prbd_read(hfd, cfd, &s);
	for (i = 0; i < s.nh; i++)
		bpf_map_delete_elem(hfd, &s.h[i].k);
	for (i = 0; i < s.nc; i++)
		bpf_map_delete_elem(cfd, &s.c[i].k);
	close(hfd);
	close(cfd);
	printf("prbd-lat: reset %u histograms, %u counters\n", s.nh, s.nc);
	return 0;
}

static void prbd_usage(FILE *f)
{
	fprintf(f,
		"usage: prbd-lat [-v] attach | detach | reset\n"
		"       prbd-lat show [-i SEC [-c COUNT]] [--json] [--per-peer] [-m MINOR]\n"
		"\n"
		"attach   load the programs, attach them to prbd's tracepoints, pin maps and\n"
		"         links under " PRBD_LAT_PIN_DIR " (nothing stays running)\n"
		"show     log2 histograms (usecs) with p50/p90/p99 per stage; -i: every SEC\n"
		"         seconds, the events of that interval; --per-peer: accept per peer\n"
		"reset    zero the histograms and counters\n"
		"detach   remove every pin; the programs go away with them\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "per-peer", no_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "minor", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct prbd_opts o = { .minor = -1, .count = -1 };
	const char *cmd;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "+vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			prbd_verbose = true;
			break;
		case 'h':
			prbd_usage(stdout);
			return 0;
		default:
			prbd_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		prbd_usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	optind++;
	while ((c = getopt_long(argc, argv, "ji:c:m:p", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'p':
			o.per_peer = true;
			break;
		case 'i':
			o.interval = strtoul(optarg, &end, 10);
			if (*end || !o.interval) {
				prbd_err("bad interval '%s'", optarg);
				return 2;
			}
			break;
		case 'c':
			o.count = strtol(optarg, &end, 10);
			if (*end || o.count < 1) {
				prbd_err("bad count '%s'", optarg);
				return 2;
			}
			break;
		case 'm':
			o.minor = strtol(optarg, &end, 10);
			if (*end || o.minor < 0 || o.minor > PRBD_MINOR_MAX) {
				prbd_err("bad minor '%s'", optarg);
				return 2;
			}
			break;
		default:
			prbd_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		prbd_usage(stderr);
		return 2;
	}
	libbpf_set_print(prbd_libbpf_print);

	if (!strcmp(cmd, "attach"))
		return prbd_attach();
	if (!strcmp(cmd, "detach"))
		return prbd_detach(false);
	if (!strcmp(cmd, "show"))
		return prbd_show(&o);
	if (!strcmp(cmd, "reset"))
		return prbd_reset();
	prbd_usage(stderr);
	return 2;
}
