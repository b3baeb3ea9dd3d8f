// SPDX-License-Identifier: GPL-2.0
/*
 * log_ring: drives the log ring arithmetic of prbd.ko (kmod/prbd_log_ring.h,
 * the very header prbd_log.c uses) against a model of the ring, in
 * userspace.  KTAP output; exit 0 when every case passes.
 *
 * The model keeps the live records (position, size, charge) oldest first.
 * A record must lie inside the ring and overlap no live record; a refused
 * allocation must change nothing; used must be the sum of the charges; an
 * empty ring takes any record up to its size; and a record goes at the
 * head when it fits there, else at the ring's start.  A "reload" rebuilds
 * head and used from the live records as prbd_log_load() does.
 *
 *   log_ring [SEEDS]     (default 2000 random runs of 400 operations)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint32_t u32;
typedef uint64_t u64;

#include "prbd_log_ring.h"

#define MAXREC	4096

struct rec {
	u64 pos, size, charge;
};

struct ring {
	u64 size, head, used;
	struct rec r[MAXREC];
	unsigned int first, n;		/* FIFO of live records */
	char why[200];
	unsigned long overlaps, bad_enospc, bad_used, false_full, misplaced;
};

static u64 rng_state;

static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static struct rec *live(struct ring *g, unsigned int i)
{
	return &g->r[(g->first + i) % MAXREC];
}

static void init(struct ring *g, u64 size)
{
	*g = (struct ring){ .size = size };
}

static u64 sum_charges(struct ring *g)
{
	u64 s = 0;
	unsigned int i;

	for (i = 0; i < g->n; i++)
		s += live(g, i)->charge;
	return s;
}

/* where the model puts a record of @size, or -1 when it does not fit */
static int64_t model_pos(struct ring *g, u64 size)
{
	u64 tail, end;

	if (!g->n)
		return size <= g->size ? (int64_t)(g->head + size <= g->size ?
						   g->head : 0) : -1;
	tail = live(g, 0)->pos;
	end = live(g, g->n - 1)->pos + live(g, g->n - 1)->size;
	if (tail < end) {		/* live bytes: [tail, end) */
		if (end + size <= g->size)
			return end;
		return size <= tail ? 0 : -1;
	}
	/* wrapped (or full): live bytes [tail, size) and [0, end) */
	return end + size <= tail ? (int64_t)end : -1;
}

/* Returns false (and says why) when the header broke a rule. */
static bool alloc(struct ring *g, u64 size)
{
	u64 head = g->head, used = g->used, pos = ~0ULL, charge = 0;
	int64_t want = model_pos(g, size);
	unsigned int i;
	bool ok;

	ok = prbd_log_ring_alloc(g->size, &g->head, &g->used, size, &pos,
				 &charge);
	if (!ok) {
		if (g->head != head || g->used != used) {
			if (g->bad_enospc++)
				return true;
			snprintf(g->why, sizeof(g->why),
				 "refused %llu bytes but changed head %llu->%llu used %llu->%llu",
				 (unsigned long long)size,
				 (unsigned long long)head,
				 (unsigned long long)g->head,
				 (unsigned long long)used,
				 (unsigned long long)g->used);
			/* go on: what follows from it is the real damage */
			return true;
		}
		if (!g->n) {
			g->false_full++;
			snprintf(g->why, sizeof(g->why),
				 "empty ring of %llu refused %llu bytes",
				 (unsigned long long)g->size,
				 (unsigned long long)size);
			return false;
		}
		return true;
	}
	if (pos + size > g->size) {
		g->overlaps++;
		snprintf(g->why, sizeof(g->why), "record %llu+%llu past the ring's end %llu",
			 (unsigned long long)pos, (unsigned long long)size,
			 (unsigned long long)g->size);
		return false;
	}
	for (i = 0; i < g->n; i++) {
		struct rec *r = live(g, i);

		if (pos < r->pos + r->size && r->pos < pos + size) {
			g->overlaps++;
			snprintf(g->why, sizeof(g->why),
				 "new record %llu+%llu overwrites live record %llu+%llu (head was %llu, used %llu of %llu)",
				 (unsigned long long)pos,
				 (unsigned long long)size,
				 (unsigned long long)r->pos,
				 (unsigned long long)r->size,
				 (unsigned long long)head,
				 (unsigned long long)used,
				 (unsigned long long)g->size);
			return false;
		}
	}
	if (want >= 0 && (u64)want != pos) {
		g->misplaced++;
		snprintf(g->why, sizeof(g->why),
			 "record of %llu bytes at %llu, the model puts it at %lld",
			 (unsigned long long)size, (unsigned long long)pos,
			 (long long)want);
		return false;
	}
	if (g->n == MAXREC)
		return true;	/* the model is full: forget it (freed later) */
	live(g, g->n)->pos = pos;
	live(g, g->n)->size = size;
	live(g, g->n)->charge = charge;
	g->n++;
	if (g->used != sum_charges(g)) {
		g->bad_used++;
		snprintf(g->why, sizeof(g->why), "used %llu, charges sum to %llu",
			 (unsigned long long)g->used,
			 (unsigned long long)sum_charges(g));
		return false;
	}
	return true;
}

static bool release(struct ring *g)
{
	struct rec *r;

	if (!g->n)
		return true;
	r = live(g, 0);
	g->first = (g->first + 1) % MAXREC;
	g->n--;
	prbd_log_ring_free(&g->head, &g->used, r->charge, !g->n);
	if (g->used != sum_charges(g)) {
		g->bad_used++;
		snprintf(g->why, sizeof(g->why), "after a free: used %llu, charges sum to %llu",
			 (unsigned long long)g->used,
			 (unsigned long long)sum_charges(g));
		return false;
	}
	return true;
}

/* What prbd_log_load() rebuilds from a scan: one extent, tail to head. */
static void reload(struct ring *g)
{
	u64 tail, end;

	if (!g->n) {
		g->used = 0;
		return;
	}
	tail = live(g, 0)->pos;
	end = live(g, g->n - 1)->pos + live(g, g->n - 1)->size;
	if (end >= g->size)
		end = 0;
	g->head = end;
	g->used = prbd_log_ring_span(g->size, tail, end);
	/* the model now charges it all to the oldest record */
	live(g, 0)->charge = g->used - sum_charges(g) + live(g, 0)->charge;
}

static int ktap_n, ktap_failed;

static void result(bool ok, const char *name, const char *why)
{
	ktap_failed += !ok;
	printf("%sok %d %s\n", ok ? "" : "not ", ++ktap_n, name);
	if (!ok && why && *why)
		printf("# %s\n", why);
}

/* The report's example: a record that does not fit after a full ring. */
static void case_enospc(void)
{
	static struct ring g;
	bool ok;

	init(&g, 16);
	ok = alloc(&g, 10);		/* [0, 10), head 10 */
	ok = ok && alloc(&g, 8);	/* would wrap: 6 skipped + 8 > 16 - 10 */
	ok = ok && alloc(&g, 4);	/* must not land on [0, 10) */
	ok = ok && !g.bad_enospc;
	result(ok, "a refused record leaves head and used alone; the next does not overwrite the tail", g.why);
}

static void case_random(unsigned int seeds, const char *name, bool reloads,
			bool headers)
{
	static struct ring g;
	unsigned long ops = 0, refused = 0, failed_runs = 0;
	unsigned long overlaps = 0, bad_enospc = 0, bad_used = 0;
	unsigned long false_full = 0, misplaced = 0;
	char first[256] = "";
	unsigned int s, k;

	for (s = 1; s <= seeds; s++) {
		bool ok = true;

		rng_state = 0x9e3779b97f4a7c15ULL * s + 1;
		init(&g, 8 + rnd() % 120);
		for (k = 0; k < 400 && ok; k++) {
			u64 r = rnd() % 100, size;
			unsigned int n0;

			if (r < 55) {
				/* header-only records (1) or up to half the ring */
				size = headers && rnd() % 3 == 0 ? 1 :
				       1 + rnd() % (g.size / 2);
				n0 = g.n;
				ok = alloc(&g, size);
				refused += ok && g.n == n0;
			} else if (r < 95) {
				unsigned int m = rnd() % 3 + 1;

				while (m-- && ok)
					ok = release(&g);
			} else if (reloads) {
				reload(&g);
			}
			ops++;
		}
		overlaps += g.overlaps;
		bad_enospc += g.bad_enospc;
		bad_used += g.bad_used;
		false_full += g.false_full;
		misplaced += g.misplaced;
		ok = ok && !g.bad_enospc;
		if (!ok && !failed_runs++)
			snprintf(first, sizeof(first), "seed %u, ring %llu: %s",
				 s, (unsigned long long)g.size, g.why);
	}
	printf("# %s: %u runs, %lu operations, %lu refused allocations\n",
	       name, seeds, ops, refused);
	printf("# %s: runs failed %lu: overwrites %lu, refusals that changed state %lu, used off %lu, empty ring full %lu, misplaced %lu\n",
	       name, failed_runs, overlaps, bad_enospc, bad_used, false_full,
	       misplaced);
	result(!failed_runs, name, first);
}

int main(int argc, char **argv)
{
	unsigned int seeds = argc > 1 ? (unsigned int)atoi(argv[1]) : 2000;

	printf("TAP version 13\n1..4\n");
	case_enospc();
	case_random(seeds, "random appends and frees", false, false);
	case_random(seeds, "random appends and frees, header-only records", false, true);
	case_random(seeds, "random appends, frees and reloads (as after a restart)", true, true);
	printf("# totals: pass:%d fail:%d skip:0\n", ktap_n - ktap_failed,
	       ktap_failed);
	return ktap_failed ? 1 : 0;
}
