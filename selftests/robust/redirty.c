// SPDX-License-Identifier: GPL-2.0
/*
 * redirty DEV SECONDS [SPAN_MIB]: O_DIRECT writes of 64 KiB to DEV, at
 * offsets cycling over the first SPAN_MIB (16) MiB, from buffers another
 * thread keeps modifying meanwhile: the pages of a write change while the
 * write is in flight, as a page redirtied during writeback does.  Prints
 * "writes N" at the end; exits 1 on a write error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IO	(64 * 1024)
#define NBUF	4

static uint64_t *buf;
static atomic_int stop;

static void *scribble(void *arg)
{
	volatile uint64_t *p = buf;
	size_t i = 0, n = NBUF * IO / sizeof(*p);

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		p[i] = p[i] * 6364136223846793005ULL + 1442695040888963407ULL;
		i = (i + 97) % n;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long long writes = 0;
	uint64_t span, off = 0;
	pthread_t t;
	time_t end;
	int fd, k = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: redirty DEV SECONDS [SPAN_MIB]\n");
		return 2;
	}
	span = (uint64_t)(argc > 3 ? atoi(argv[3]) : 16) << 20;
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, NBUF * IO))
		return 1;
	memset(buf, 0x5a, NBUF * IO);
	if (pthread_create(&t, NULL, scribble, NULL))
		return 1;
	end = time(NULL) + atoi(argv[2]);
	while (time(NULL) < end) {
		if (pwrite(fd, (char *)buf + (size_t)k * IO, IO, off) != IO) {
			perror("pwrite");
			atomic_store(&stop, 1);
			pthread_join(t, NULL);
			return 1;
		}
		writes++;
		k = (k + 1) % NBUF;
		off = (off + IO) % span;
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("writes %lld\n", writes);
	return 0;
}
