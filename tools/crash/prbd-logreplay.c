// SPDX-License-Identifier: GPL-2.0
/*
 * prbd-logreplay: rebuild a disk's state at a crash point from a
 * dm-log-writes log (runs on the host, on the raw image of a guest's log
 * disk, or on any file or block device holding such a log).
 *
 *   prbd-logreplay list LOG
 *	the entries, flushes, FUA writes and every mark with its position
 *   prbd-logreplay replay LOG TARGET --mark NAME [--nth K]
 *			   [--seed S [--keep PCT]]
 *	writes into TARGET (an existing file or device, at least as large
 *	as the highest sector written; it should start blank) the state the
 *	logged disk may have had at the crash point.
 *
 * The log format (drivers/md/dm-log-writes.c, version 1): a super block
 * in the first sector (magic, version, number of entries, sector size),
 * then per entry one sector holding {sector, nr_sectors, flags, data_len}
 * (all little endian; a mark's name follows in the same sector), then
 * nr_sectors sectors of data (none for a discard or a mark).  Sectors are
 * the logged device's logical block size.
 *
 * dm-log-writes logs a FUA write when it completes, but a plain write (or
 * discard) only when a later flush completes, just before that flush: a
 * plain write is in the log at the point where it became durable.
 *
 * Crash points.  Let F be the last flush entry before the mark.
 *  - Without --seed: everything up to F and every FUA write between F and
 *    the mark; nothing that was still in the volatile cache.  This is the
 *    disk after a power cut at the mark when the cache had written back
 *    nothing unflushed.
 *  - With --seed: the volatile cache written back at random.  The writes
 *    in the cache at the mark are logged after the mark, before the next
 *    flush entry E, together with the plain writes that completed between
 *    the mark and the moment E was issued; the log cannot tell them apart.
 *    So the state is: everything up to F, every FUA write between F and
 *    the mark, and each plain write or discard between F and E kept with
 *    probability PCT (50) from a PRNG seeded with S, applied in log order.
 *    Every write completed before the mark is among them.  FUA writes
 *    after the mark are left out: they completed after the power cut, and
 *    with several disks (nodes) cut at their marks, a FUA write one node
 *    completed later could record what the other nodes' states do not
 *    hold (a state no single power cut gives).  Plain writes completed
 *    after the mark may still be present: a writer that wants a causal
 *    state across disks issues a flush right after the mark while it is
 *    quiet (nothing then completes between the two), and a checker must
 *    allow such writes, but not any loss of a write completed before it.
 *
 * Exit codes: 0 done, 1 bad log or target (message on stderr), 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* the on-disk format of dm-log-writes (Documentation/admin-guide/device-mapper/log-writes.rst) */
#define LW_MAGIC	0x6a736677736872ULL
#define LW_VERSION	1ULL
#define LW_FLUSH	(1ULL << 0)
#define LW_FUA		(1ULL << 1)
#define LW_DISCARD	(1ULL << 2)
#define LW_MARK		(1ULL << 3)
#define LW_METADATA	(1ULL << 4)
#define LW_KNOWN	(LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | LW_METADATA)
#define LW_HDR_LEN	32	/* 4 x le64 */

struct ent {
	uint64_t sector;	/* in log sectors (sectorsize) */
	uint64_t nr;		/* sectors of data */
	uint64_t flags;
	uint64_t off;		/* byte offset of the data in the log */
	char *mark;		/* a mark's name */
};

struct lw_log {
	const char *path;
	int fd;
	uint64_t size;		/* bytes of the log file or device */
	uint32_t ss;		/* sector size */
	uint64_t n;		/* entries */
	struct ent *e;
};

static const char *prog = "prbd-logreplay";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t dev_size(int fd, const char *path)
{
	struct stat st;
	uint64_t sz;

	if (fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &sz))
			die("%s: BLKGETSIZE64: %s", path, strerror(errno));
		return sz;
	}
	if (!S_ISREG(st.st_mode))
		die("%s: not a regular file or block device", path);
	return st.st_size;
}

static void read_at(struct lw_log *l, void *buf, size_t len, uint64_t off,
		    const char *what)
{
	ssize_t r;
	size_t done = 0;

	if (off > l->size || len > l->size - off)
		die("%s: %s at byte %" PRIu64 " lies beyond the end of the log (%" PRIu64 " bytes): truncated log?",
		    l->path, what, off, l->size);
	while (done < len) {
		r = pread(l->fd, (char *)buf + done, len - done, off + done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s: reading %s at byte %" PRIu64 ": %s", l->path,
			    what, off + done, r ? strerror(errno) : "end of file");
		done += r;
	}
}

/* Read and validate the super block and every entry header. */
static void lw_open(struct lw_log *l, const char *path)
{
	unsigned char *sec;
	uint64_t magic, version, i, off, bytes;
	char what[64];

	memset(l, 0, sizeof(*l));
	l->path = path;
	l->fd = open(path, O_RDONLY);
	if (l->fd < 0)
		die("%s: %s", path, strerror(errno));
	l->size = dev_size(l->fd, path);
	sec = malloc(65536);
	if (!sec)
		die("out of memory");
	if (l->size < 512)
		die("%s: %" PRIu64 " bytes: too small for a dm-log-writes log", path, l->size);
	read_at(l, sec, 512, 0, "the super block");
	magic = le64(sec);
	version = le64(sec + 8);
	l->n = le64(sec + 16);
	l->ss = sec[24] | sec[25] << 8 | sec[26] << 16 | (uint32_t)sec[27] << 24;
	if (magic != LW_MAGIC)
		die("%s: not a dm-log-writes log (magic %#" PRIx64 ", expected %#llx)",
		    path, magic, LW_MAGIC);
	if (version != LW_VERSION)
		die("%s: log version %" PRIu64 ", only %llu is known", path,
		    version, LW_VERSION);
	if (l->ss < 512 || l->ss > 65536 || (l->ss & (l->ss - 1)))
		die("%s: bad sector size %u in the super block", path, l->ss);
	if (l->n > l->size / l->ss)
		die("%s: the super block claims %" PRIu64 " entries, more than the log's %" PRIu64 " sectors can hold",
		    path, l->n, l->size / l->ss);
	l->e = calloc(l->n ? l->n : 1, sizeof(*l->e));
	if (!l->e)
		die("out of memory for %" PRIu64 " entries", l->n);

	off = l->ss;	/* the super block takes the first sector */
	for (i = 0; i < l->n; i++) {
		struct ent *e = &l->e[i];
		uint64_t dlen;

		snprintf(what, sizeof(what), "entry %" PRIu64, i);
		read_at(l, sec, l->ss, off, what);
		e->sector = le64(sec);
		e->nr = le64(sec + 8);
		e->flags = le64(sec + 16);
		dlen = le64(sec + 24);
		off += l->ss;
		if (e->flags & ~LW_KNOWN)
			die("%s: entry %" PRIu64 " at byte %" PRIu64 ": unknown flags %#" PRIx64,
			    path, i, off - l->ss, e->flags);
		if (e->flags & LW_MARK) {
			if (e->nr || e->flags != LW_MARK ||
			    dlen > l->ss - LW_HDR_LEN - 1)
				die("%s: entry %" PRIu64 ": malformed mark (sectors %" PRIu64 ", flags %#" PRIx64 ", length %" PRIu64 ")",
				    path, i, e->nr, e->flags, dlen);
			e->mark = strndup((char *)sec + LW_HDR_LEN, dlen);
			if (!e->mark || strlen(e->mark) != dlen)
				die("%s: entry %" PRIu64 ": mark name has a NUL byte or no memory",
				    path, i);
			continue;
		}
		if (dlen)
			die("%s: entry %" PRIu64 ": inline data (%" PRIu64 " bytes) on a write: not a log this tool knows",
			    path, i, dlen);
		if ((e->flags & LW_DISCARD) && (e->flags & (LW_FLUSH | LW_FUA)))
			die("%s: entry %" PRIu64 ": a discard with flush/FUA flags",
			    path, i);
		if (!e->nr && !(e->flags & LW_FLUSH))
			die("%s: entry %" PRIu64 ": an empty write that is no flush",
			    path, i);
		if (e->nr > UINT64_MAX / l->ss || e->sector > UINT64_MAX / l->ss - e->nr)
			die("%s: entry %" PRIu64 ": sector %" PRIu64 " + %" PRIu64 " overflows",
			    path, i, e->sector, e->nr);
		if (e->flags & LW_DISCARD)
			continue;
		e->off = off;
		bytes = e->nr * l->ss;
		if (bytes > l->size - off)
			die("%s: entry %" PRIu64 ": %" PRIu64 " bytes of data at byte %" PRIu64 " run past the end of the log: truncated log?",
			    path, i, bytes, off);
		off += bytes;
	}
	free(sec);
}

static int is_write(const struct ent *e)	/* carries data or discards */
{
	return !(e->flags & LW_MARK) && e->nr;
}

static int cmd_list(const char *path)
{
	struct lw_log l;
	uint64_t i, flushes = 0, fua = 0, plain = 0, disc = 0, marks = 0;
	uint64_t sectors = 0, last_flush = UINT64_MAX;

	lw_open(&l, path);
	for (i = 0; i < l.n; i++) {
		struct ent *e = &l.e[i];

		if (e->mark) {
			marks++;
			printf("mark %" PRIu64 " \"%s\": entry %" PRIu64 "; before it %" PRIu64 " flushes, %" PRIu64 " FUA writes, %" PRIu64 " plain writes, %" PRIu64 " discards; last flush ",
			       marks, e->mark, i, flushes, fua, plain, disc);
			if (last_flush == UINT64_MAX)
				printf("none\n");
			else
				printf("entry %" PRIu64 "\n", last_flush);
			continue;
		}
		if (e->flags & LW_FLUSH) {
			flushes++;
			last_flush = i;
		}
		if (!is_write(e))
			continue;
		if (e->flags & LW_DISCARD)
			disc++;
		else if (e->flags & LW_FUA)
			fua++;
		else
			plain++;
		if (!(e->flags & LW_DISCARD))
			sectors += e->nr;
	}
	printf("log %s: %" PRIu64 " entries, sector size %u: %" PRIu64 " flushes, %" PRIu64 " FUA writes, %" PRIu64 " plain writes, %" PRIu64 " discards, %" PRIu64 " marks, %" PRIu64 " sectors of data\n",
	       path, l.n, l.ss, flushes, fua, plain, disc, marks, sectors);
	return 0;
}

static uint64_t rng_state;

static uint64_t rng_next(void)	/* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct target {
	const char *path;
	int fd;
	uint64_t size;
	unsigned char *buf;
	size_t buflen;
};

static void apply(struct lw_log *l, struct target *t, uint64_t i)
{
	struct ent *e = &l->e[i];
	uint64_t off = e->sector * l->ss, len = e->nr * l->ss, done = 0;
	char what[64];

	if (off > t->size || len > t->size - off)
		die("entry %" PRIu64 ": sectors %" PRIu64 "+%" PRIu64 " lie beyond the end of %s (%" PRIu64 " bytes)",
		    i, e->sector, e->nr, t->path, t->size);
	if (e->flags & LW_DISCARD) {
		/* a discarded range of the rig's disks reads zeroes */
		if (!fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       off, len))
			return;
		memset(t->buf, 0, t->buflen);
	}
	snprintf(what, sizeof(what), "the data of entry %" PRIu64, i);
	while (done < len) {
		size_t n = len - done < t->buflen ? len - done : t->buflen;

		if (!(e->flags & LW_DISCARD))
			read_at(l, t->buf, n, e->off + done, what);
		if (pwrite(t->fd, t->buf, n, off + done) != (ssize_t)n)
			die("%s: write at byte %" PRIu64 ": %s", t->path,
			    off + done, strerror(errno));
		done += n;
	}
}

static int cmd_replay(int argc, char **argv)
{
	const char *logp = argv[0], *tgtp = argv[1], *name = NULL;
	uint64_t nth = 1, seed = 0, keep_pct = 50, i, m, f, end, seen = 0;
	uint64_t durable = 0, fua_after = 0, fua_late = 0, cand = 0, kept = 0;
	int have_seed = 0, a;
	struct lw_log l;
	struct target t = { .path = tgtp };
	char *endp;

	for (a = 2; a < argc; a++) {
		const char *opt = argv[a];
		uint64_t *num = NULL;

		if (a + 1 >= argc)
			goto usage;
		if (!strcmp(opt, "--mark")) {
			name = argv[++a];
			continue;
		}
		if (!strcmp(opt, "--nth"))
			num = &nth;
		else if (!strcmp(opt, "--seed")) {
			num = &seed;
			have_seed = 1;
		} else if (!strcmp(opt, "--keep"))
			num = &keep_pct;
		else
			goto usage;
		errno = 0;
		*num = strtoull(argv[++a], &endp, 0);
		if (errno || *endp || !*argv[a])
			goto usage;
	}
	if (!name || !nth || keep_pct > 100)
		goto usage;

	lw_open(&l, logp);
	for (m = 0; m < l.n; m++)
		if (l.e[m].mark && !strcmp(l.e[m].mark, name) && ++seen == nth)
			break;
	if (m == l.n)
		die("%s: no mark \"%s\" (number %" PRIu64 " of that name) among its %" PRIu64 " entries",
		    logp, name, nth, l.n);
	/* F: the last flush before the mark; end: the window's end */
	f = UINT64_MAX;
	for (i = 0; i < m; i++)
		if (l.e[i].flags & LW_FLUSH)
			f = i;
	end = m;
	if (have_seed)
		for (end = m + 1; end < l.n && !(l.e[end].flags & LW_FLUSH); end++)
			;

	t.fd = open(tgtp, O_RDWR);
	if (t.fd < 0)
		die("%s: %s", tgtp, strerror(errno));
	t.size = dev_size(t.fd, tgtp);
	t.buflen = 1 << 20;
	t.buf = malloc(t.buflen);
	if (!t.buf)
		die("out of memory");

	rng_state = seed;
	for (i = 0; i < end; i++) {
		struct ent *e = &l.e[i];

		if (!is_write(e))
			continue;
		if (f != UINT64_MAX && i < f) {
			apply(&l, &t, i);	/* flushed */
			durable++;
		} else if (e->flags & LW_FUA) {
			if (i > m) {
				fua_late++;	/* completed after the cut */
				continue;
			}
			apply(&l, &t, i);	/* written through */
			fua_after++;
		} else {
			/* in the volatile cache (the flush entry's own data too) */
			cand++;
			if (have_seed && rng_next() % 100 < keep_pct) {
				apply(&l, &t, i);
				kept++;
			}
		}
	}
	if (fsync(t.fd))
		die("%s: fsync: %s", tgtp, strerror(errno));
	printf("replay %s -> %s: mark \"%s\" (#%" PRIu64 ") is entry %" PRIu64 " of %" PRIu64 "; ",
	       logp, tgtp, name, nth, m, l.n);
	if (f == UINT64_MAX)
		printf("no flush before it; ");
	else
		printf("last flush before it entry %" PRIu64 ": %" PRIu64 " writes before it applied; ",
		       f, durable);
	if (have_seed)
		printf("%" PRIu64 " FUA writes before the mark applied; window to %s %" PRIu64 ": %" PRIu64 " FUA writes after the mark left out, volatile writes kept at random (seed %" PRIu64 ", %" PRIu64 "%%): %" PRIu64 " of %" PRIu64 "\n",
		       fua_after, end < l.n ? "the next flush, entry" : "the end of the log,",
		       end, fua_late, seed, keep_pct, kept, cand);
	else
		printf("%" PRIu64 " FUA writes after it applied; %" PRIu64 " volatile writes dropped\n",
		       fua_after, cand);
	return 0;
usage:
	fprintf(stderr, "usage: %s replay LOG TARGET --mark NAME [--nth K] [--seed S [--keep PCT]]\n",
		prog);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "list"))
		return cmd_list(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "replay"))
		return cmd_replay(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: %s list LOG\n"
		"       %s replay LOG TARGET --mark NAME [--nth K] [--seed S [--keep PCT]]\n",
		prog, prog);
	return 2;
}
