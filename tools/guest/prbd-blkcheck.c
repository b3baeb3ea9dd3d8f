// SPDX-License-Identifier: GPL-2.0
/*
 * prbd-blkcheck: a write workload whose completions can be checked after a
 * crash.  Runs inside the test guests.
 *
 *   prbd-blkcheck write DEV BLOCKS COUNT SEED [QD]
 *	writes COUNT 4 KiB blocks with O_DIRECT|O_DSYNC, block number i of
 *	seq i chosen by a PRNG from SEED, QD writes in flight (default 1);
 *	prints "ok SEQ BLOCK" on stdout (line-buffered) as each completes.
 *   prbd-blkcheck check DEV BLOCKS SEED [QD [ISSUED]] < LOG
 *	reads the "ok" lines of a write run (with the same QD) that was cut
 *	short and checks that every block holds a write no completed write
 *	to it started after (with QD 1: the newest completed one), or a
 *	write that was still in flight (issued but not reported) — never
 *	older data, never a torn or foreign block.  Exit 0 when intact.
 *	ISSUED: the highest seq that may have been issued (default: the
 *	highest completed one + 2 * QD); LOG may then be a prefix of the
 *	run's lines (the writes completed before some point), the later
 *	writes counting as in flight.
 *   prbd-blkcheck sum DEV BLOCKS
 *	prints a checksum of the first BLOCKS blocks (compare replicas).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define BS		4096
#define MAGIC		0x314b4843445242ULL	/* "BRDCHK1" */
#define MAX_QD		32

struct blk_hdr {
	uint64_t magic;
	uint64_t seq;
	uint64_t block;
	uint64_t seed;
	uint64_t hash;		/* of the whole block with hash = 0 */
};

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t block_of(uint64_t seed, uint64_t seq, uint64_t blocks)
{
	return mix(seed * 1000003 + seq) % blocks;
}

static void fill(unsigned char *buf, uint64_t seed, uint64_t seq,
		 uint64_t block)
{
	struct blk_hdr *h = (struct blk_hdr *)buf;
	uint64_t x = mix(seed ^ seq);
	size_t i;

	for (i = sizeof(*h); i + 8 <= BS; i += 8) {
		x = mix(x);
		memcpy(buf + i, &x, 8);
	}
	h->magic = MAGIC;
	h->seq = seq;
	h->block = block;
	h->seed = seed;
	h->hash = 0;
	h->hash = fnv(buf, BS);
}

/* 1: valid block of this seed; 0: all zero; -1: anything else */
static int parse(unsigned char *buf, uint64_t seed, uint64_t block,
		 uint64_t *seq)
{
	struct blk_hdr *h = (struct blk_hdr *)buf;
	uint64_t want = h->hash;
	size_t i;

	for (i = 0; i < BS && !buf[i]; i++)
		;
	if (i == BS)
		return 0;
	h->hash = 0;
	if (h->magic != MAGIC || h->seed != seed || h->block != block ||
	    fnv(buf, BS) != want)
		return -1;
	*seq = h->seq;
	return 1;
}

static int open_dev(const char *dev, int flags)
{
	int fd = open(dev, flags | O_DIRECT);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", dev, strerror(errno));
		exit(2);
	}
	return fd;
}

/* QD > 1: QD writer processes, seq i written by process i % QD. */
static int do_write(const char *dev, uint64_t blocks, uint64_t count,
		    uint64_t seed, int qd)
{
	unsigned char *buf;
	int p, status, bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (p = 0; p < qd; p++) {
		if (qd > 1 && fork() != 0)
			continue;
		int fd = open_dev(dev, O_WRONLY | O_DSYNC);
		uint64_t seq;

		if (posix_memalign((void **)&buf, BS, BS))
			exit(2);
		for (seq = 1 + p; seq <= count; seq += qd) {
			uint64_t b = block_of(seed, seq, blocks);

			fill(buf, seed, seq, b);
			if (pwrite(fd, buf, BS, (off_t)b * BS) != BS) {
				fprintf(stderr, "write seq %" PRIu64 ": %s\n",
					seq, strerror(errno));
				exit(1);
			}
			printf("ok %" PRIu64 " %" PRIu64 "\n", seq, b);
		}
		close(fd);
		if (qd > 1)
			exit(0);
		return 0;
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	return bad;
}

/*
 * Which contents of a block are allowed after a cut-short run?  Lines of
 * the log are in (printing) order; writer process p writes seq p+1,
 * p+1+QD, ... one after the other, so write W started after the line of
 * W-QD was printed, hence after every write whose line comes earlier had
 * completed.  A block may hold write G when no completed write W to it
 * started after G completed (the line of W-QD, or W-QD == G, is at or
 * after G's line), or when G never completed (still in flight, so it may
 * take effect after anything).  With QD 1 this is "the newest completed
 * write, or a newer one in flight".  Zeros are allowed only for a block no
 * completed write touched.
 */
struct chk_rec {
	uint64_t seq, block;
};

static int do_check(const char *dev, uint64_t blocks, uint64_t seed, int qd,
		    uint64_t issued)
{
	uint64_t *last = calloc(blocks, sizeof(*last));
	uint64_t *after = calloc(blocks, sizeof(*after));
	uint64_t seq, b, maxseq = 0, got, ndone = 0, nwritten = 0, i, pred;
	uint64_t *pos = NULL, npos = 0;
	struct chk_rec *rec = NULL;
	unsigned char *buf;
	char line[128];
	int fd, r, bad = 0;

	if (!last || !after || posix_memalign((void **)&buf, BS, BS))
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "ok %" SCNu64 " %" SCNu64, &seq, &b) != 2)
			continue;
		if (b >= blocks || block_of(seed, seq, blocks) != b) {
			fprintf(stderr, "bad log line: %s", line);
			return 2;
		}
		if (!(ndone & (ndone - 1))) {
			rec = realloc(rec, (ndone ? ndone * 2 : 1) * sizeof(*rec));
			if (!rec)
				return 2;
		}
		rec[ndone].seq = seq;
		rec[ndone].block = b;
		ndone++;
		if (seq > last[b])
			last[b] = seq;
		if (seq > maxseq)
			maxseq = seq;
	}
	/* pos[seq]: 1 + line number of seq's completion, 0: not completed */
	npos = maxseq + 1;
	pos = calloc(npos, sizeof(*pos));
	if (!pos)
		return 2;
	for (i = 0; i < ndone; i++)
		pos[rec[i].seq] = i + 1;
	/* after[b]: latest line at or after which a write to b started */
	for (i = 0; i < ndone; i++) {
		seq = rec[i].seq;
		pred = seq > (uint64_t)qd ? pos[seq - qd] : 0;
		if (pred > after[rec[i].block])
			after[rec[i].block] = pred;
	}
	if (!issued)
		issued = maxseq + (uint64_t)qd * 2;
	fd = open_dev(dev, O_RDONLY);
	for (b = 0; b < blocks; b++) {
		if (pread(fd, buf, BS, (off_t)b * BS) != BS) {
			fprintf(stderr, "read block %" PRIu64 ": %s\n", b,
				strerror(errno));
			return 2;
		}
		r = parse(buf, seed, b, &got);
		if (r < 0) {
			printf("block %" PRIu64 ": torn or foreign data\n", b);
			bad = 1;
			continue;
		}
		if (r == 0) {
			if (last[b]) {
				printf("block %" PRIu64 ": lost completed seq %" PRIu64 " (zeros)\n",
				       b, last[b]);
				bad = 1;
			}
			continue;
		}
		nwritten++;
		if (block_of(seed, got, blocks) != b || got > issued) {
			printf("block %" PRIu64 ": holds seq %" PRIu64 ", never issued\n",
			       b, got);
			bad = 1;
			continue;
		}
		if (got <= maxseq && pos[got] && after[b] >= pos[got]) {
			printf("block %" PRIu64 ": holds seq %" PRIu64 ", overwritten by a completed write started after it completed (newest completed %" PRIu64 ")\n",
			       b, got, last[b]);
			bad = 1;
		}
	}
	printf("%" PRIu64 " completed writes, %" PRIu64 " blocks hold data: %s\n",
	       ndone, nwritten, bad ? "CORRUPT" : "intact");
	free(pos);
	free(rec);
	return bad;
}

static int do_sum(const char *dev, uint64_t blocks)
{
	unsigned char *buf;
	uint64_t b, h = 0;
	int fd = open_dev(dev, O_RDONLY);

	if (posix_memalign((void **)&buf, BS, BS))
		return 2;
	for (b = 0; b < blocks; b++) {
		if (pread(fd, buf, BS, (off_t)b * BS) != BS)
			return 2;
		h = mix(h ^ fnv(buf, BS));
	}
	printf("%016" PRIx64 "\n", h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "write"))
		return do_write(argv[2], strtoull(argv[3], NULL, 0),
				strtoull(argv[4], NULL, 0),
				strtoull(argv[5], NULL, 0),
				argc > 6 ? atoi(argv[6]) : 1);
	if (argc >= 5 && !strcmp(argv[1], "check"))
		return do_check(argv[2], strtoull(argv[3], NULL, 0),
				strtoull(argv[4], NULL, 0),
				argc > 5 ? atoi(argv[5]) : 1,
				argc > 6 ? strtoull(argv[6], NULL, 0) : 0);
	if (argc == 4 && !strcmp(argv[1], "sum"))
		return do_sum(argv[2], strtoull(argv[3], NULL, 0));
	fprintf(stderr,
		"usage: prbd-blkcheck write DEV BLOCKS COUNT SEED [QD]\n"
		"       prbd-blkcheck check DEV BLOCKS SEED [QD [ISSUED]] < LOG\n"
		"       prbd-blkcheck sum DEV BLOCKS\n");
	return 2;
}
