// SPDX-License-Identifier: GPL-2.0
/*
 * prbd-wirefuzz: a hostile peer for the wire protocol (issue 14).  Runs in
 * a test guest in place of one node of a group, knows the group's secret,
 * and sends the other nodes what a broken or malicious implementation
 * could: garbage, truncated and oversized frames, half handshakes, wrong
 * MACs, misaddressed and corrupted frames, and, after a real handshake,
 * frames of every user type whose headers the receiver must refuse, and
 * frames whose MAC or payload tag is wrong (wire version 3: what an
 * on-path attacker without the secret could send).  Paxos headers (wire
 * version 4) carry a random rank with epoch 0, which a strict node
 * accepts; flush mode's epoch, barriers (FLUSH, FLUSH_R) and suspect
 * promises, which a node not in flush mode refuses, are classes of their
 * own, as are a rank below its epoch and an unknown flag.
 *
 *   prbd-wirefuzz --node ID --uuid UUID --secret S --seed N --rounds R
 *                 [--listen ADDR:PORT] PEER_ID@ADDR:PORT...
 *
 * Each round picks a peer and a mutation class.  To peers with a higher id
 * it connects (their acceptor side: HELLO, AUTH); on --listen it accepts
 * the connections of peers with a lower id (their connector side:
 * HELLO_ACK).  What it sends after a completed handshake is built to be
 * refused somewhere (frame checks, prbd_repl_decode(), the per-type
 * receivers), never a valid Paxos message: a peer that knows the secret
 * may forge ballots, which no checksum or MAC can prevent, and that is not
 * what this tests.  The exceptions are frames that change nothing a
 * checker sees: DATA payloads with random ids (they fill and must be
 * evicted from the follower's payload cache), PLREQ for unknown ids,
 * read-only resync and verify requests, and well-formed REMOVED frames
 * telling a peer it was removed (up:removed): only the leader a node
 * follows is believed, never this tool.
 *
 * Checks (the exit status, 1 on a failure): every valid handshake
 * completes (the peer answers HELLO with HELLO_ACK, AUTH with AUTH_OK);
 * every frame that must end the connection does so within 5 s (frame
 * magic, version, crc, size, flags, misaddressed, framing garbage, bad
 * handshake, bad MAC or tag): the peer closes, it does not hang or stay up.  Counts per
 * class are printed at the end.  What the receiver's state must look like
 * afterwards is checked by the test script (selftests/robust/wirefuzz.sh).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* the kernel headers are shared with the module */
#define __packed __attribute__((packed))
#include "prbd_siphash.h"
#include "prbd_wire.h"
#include "uapi/prbd_disk.h"

#define MAX_PEERS	8
#define CLOSE_WAIT_MS	5000
#define IO_WAIT_MS	5000

/* ---- SHA-256 and HMAC (FIPS 180-4, RFC 2104) ------------------------ */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	unsigned int n;
};

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^
				    (w[i - 15] >> 3)) + w[i - 7] +
		       (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
		     ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->n = 0;
}

static void sha_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->len += len;
	while (len--) {
		s->buf[s->n++] = *p++;
		if (s->n == 64) {
			sha_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void sha_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->len * 8;
	uint8_t pad = 0x80, z = 0, lb[8];
	int i;

	sha_update(s, &pad, 1);
	while (s->n != 56)
		sha_update(s, &z, 1);
	for (i = 0; i < 8; i++)
		lb[i] = bits >> (56 - 8 * i);
	sha_update(s, lb, 8);
	for (i = 0; i < 32; i++)
		out[i] = s->h[i / 4] >> (24 - 8 * (i % 4));
}

static void hmac_sha256(const uint8_t *key, size_t klen, const void *msg,
			size_t mlen, uint8_t out[32])
{
	uint8_t k[64] = { 0 }, ipad[64], opad[64], inner[32];
	struct sha256 s;
	int i;

	if (klen > 64) {
		sha_init(&s);
		sha_update(&s, key, klen);
		sha_final(&s, k);
	} else {
		memcpy(k, key, klen);
	}
	for (i = 0; i < 64; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	sha_init(&s);
	sha_update(&s, ipad, 64);
	sha_update(&s, msg, mlen);
	sha_final(&s, inner);
	sha_init(&s);
	sha_update(&s, opad, 64);
	sha_update(&s, inner, 32);
	sha_final(&s, out);
}

/* ---- crc32c (Castagnoli, reflected), as the kernel's crc32c() -------- */

static uint32_t crc_tab[256];

static void crc_init(void)
{
	uint32_t c;
	int i, j;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_tab[i] = c;
	}
}

static uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--)
		crc = crc_tab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* the wire's convention: start at ~0, stored inverted, empty part 0 */
static uint32_t wcrc(const void *p, size_t len)
{
	return len ? ~crc32c(~0U, p, len) : 0;
}

/* ---- BLAKE2s (RFC 7693), keyed: the frame MACs of wire version 3 ------- */

struct b2s {
	uint32_t h[8];
	uint32_t t;	/* bytes compressed (messages here are < 4 GiB) */
	uint8_t buf[64];
	size_t n;
	size_t outlen;
};

static const uint32_t b2s_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static const uint8_t b2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static void b2s_g(uint32_t *v, int a, int b, int c, int d, uint32_t x,
		  uint32_t y)
{
	v[a] += v[b] + x;
	v[d] = ror(v[d] ^ v[a], 16);
	v[c] += v[d];
	v[b] = ror(v[b] ^ v[c], 12);
	v[a] += v[b] + y;
	v[d] = ror(v[d] ^ v[a], 8);
	v[c] += v[d];
	v[b] = ror(v[b] ^ v[c], 7);
}

static void b2s_compress(struct b2s *s, int last)
{
	uint32_t v[16], m[16];
	int i;

	for (i = 0; i < 16; i++)
		m[i] = (uint32_t)s->buf[4 * i] | (uint32_t)s->buf[4 * i + 1] << 8 |
		       (uint32_t)s->buf[4 * i + 2] << 16 |
		       (uint32_t)s->buf[4 * i + 3] << 24;
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = b2s_iv[i];
	}
	v[12] ^= s->t;
	if (last)
		v[14] = ~v[14];
	for (i = 0; i < 10; i++) {
		const uint8_t *z = b2s_sigma[i];

		b2s_g(v, 0, 4, 8, 12, m[z[0]], m[z[1]]);
		b2s_g(v, 1, 5, 9, 13, m[z[2]], m[z[3]]);
		b2s_g(v, 2, 6, 10, 14, m[z[4]], m[z[5]]);
		b2s_g(v, 3, 7, 11, 15, m[z[6]], m[z[7]]);
		b2s_g(v, 0, 5, 10, 15, m[z[8]], m[z[9]]);
		b2s_g(v, 1, 6, 11, 12, m[z[10]], m[z[11]]);
		b2s_g(v, 2, 7, 8, 13, m[z[12]], m[z[13]]);
		b2s_g(v, 3, 4, 9, 14, m[z[14]], m[z[15]]);
	}
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static void b2s_update(struct b2s *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		size_t k;

		if (s->n == 64) {	/* full, and more follows */
			s->t += 64;
			b2s_compress(s, 0);
			s->n = 0;
		}
		k = 64 - s->n < len ? 64 - s->n : len;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
	}
}

static void b2s_init(struct b2s *s, size_t outlen, const uint8_t *key,
		     size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, b2s_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000 ^ (uint32_t)(keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		memcpy(s->buf, key, keylen);
		s->n = 64;
	}
}

static void b2s_final(struct b2s *s, uint8_t *out)
{
	size_t i;

	s->t += s->n;
	memset(s->buf + s->n, 0, 64 - s->n);
	b2s_compress(s, 1);
	for (i = 0; i < s->outlen; i++)
		out[i] = s->h[i / 4] >> (8 * (i % 4));
}

/* ---- state, randomness, statistics ------------------------------------ */

struct peer {
	uint32_t id;
	struct sockaddr_in addr;
};

static struct {
	uint32_t node;
	uint8_t uuid[PRBD_WIRE_UUID_LEN];
	uint8_t secret[256];
	size_t secret_len;
	struct peer peer[MAX_PEERS];
	int n_peer;
	int lfd;		/* --listen socket, or -1 */
	uint64_t rng;
	uint64_t seq;
	uint64_t data_size;	/* the target's data area, from --data-size */
	uint8_t pay_key[32];	/* k_pay (prbd_wire.h, "Authentication") */
	/* the connection past its handshake: our frames carry MACs */
	int up_fd;
	uint8_t tx_key[32], rx_key[32];
	uint64_t tx_n;
} g = { .lfd = -1, .up_fd = -1 };

enum {
	S_ROUNDS, S_HS_OK, S_HS_FAIL, S_HS_ACCEPTED, S_CLOSED_OK,
	S_CLOSE_MISSED, S_FRAMES, S_BYTES, S_CONN_FAIL, S_NSTAT,
};

static const char *const stat_name[S_NSTAT] = {
	"rounds", "handshakes", "handshake-failures", "accepted",
	"closed-as-expected", "not-closed", "frames", "bytes",
	"connect-failures",
};

static unsigned long stat[S_NSTAT];

#define N_CLASS 32
static unsigned long class_count[N_CLASS];
static const char *class_name[N_CLASS];

static uint64_t rnd(void)
{
	uint64_t x = (g.rng += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t rn(uint32_t n) { return n ? rnd() % n : 0; }

static void rfill(void *p, size_t len)
{
	uint8_t *b = p;

	while (len--)
		*b++ = rnd();
}

/* a 64-bit value at an interesting boundary */
static uint64_t redge(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 7, 8, 63, 64, 255, 256, 4095, 4096, 65535, 65536,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		(1ULL << 55), (1ULL << 55) - 1, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, ~0ULL - 1,
	};

	if (rn(4) == 0)
		return rnd();
	return v[rn(sizeof(v) / sizeof(v[0]))];
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "prbd-wirefuzz: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- socket helpers --------------------------------------------------- */

/* write all of @len, or fail (the peer closed: a refusal) */
static int wr(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t r;

	while (len) {
		if (poll(&pfd, 1, IO_WAIT_MS) <= 0)
			return -1;
		r = send(fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return -1;
		b += r;
		len -= r;
		stat[S_BYTES] += r;
	}
	return 0;
}

/* read exactly @len within IO_WAIT_MS; -1 on close, error or timeout */
static int rd(int fd, void *p, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long until = now_ms() + IO_WAIT_MS;
	uint8_t *b = p;
	ssize_t r;

	while (len) {
		long long left = until - now_ms();

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		r = recv(fd, b, len, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return -1;
		b += r;
		len -= r;
	}
	return 0;
}

/* read and drop whatever the peer sent (its heartbeats): 0, or -1 closed */
static int drain(int fd)
{
	uint8_t buf[65536];
	ssize_t r;

	for (;;) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

/* does the peer close @fd within CLOSE_WAIT_MS (draining what it sends)? */
static int closes(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long until = now_ms() + CLOSE_WAIT_MS;

	while (now_ms() < until) {
		if (poll(&pfd, 1, 100) > 0 && drain(fd) < 0)
			return 1;
	}
	return 0;
}

static int connect_to(const struct peer *p)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&p->addr, sizeof(p->addr))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- frames ----------------------------------------------------------- */

struct frame_opts {
	uint32_t dest;		/* node bit mask (0: the peer) */
	uint8_t flags, ttl, origin, sender;
	int bad_magic, bad_version, bad_fcrc, bad_hcrc, bad_pcrc;
	int reserved, reserved2;
	uint32_t hdr_len_delta;	/* claimed minus real, as u32 arithmetic */
	uint32_t payload_len_override;
	int override_plen;
	/* after the handshake: a wrong MAC (bit, counter, key) or ptag */
	int bad_mac, bad_ptag;
};

static void frame_build(struct prbd_wire_frame *f, uint32_t peer, uint16_t type,
			const void *hdr, uint32_t hlen, const void *pl,
			uint32_t plen, const struct frame_opts *o)
{
	memset(f, 0, sizeof(*f));
	f->magic = htobe32(o && o->bad_magic ? PRBD_WIRE_MAGIC ^ (1 + rn(0xffff))
				       : PRBD_WIRE_MAGIC);
	f->version = o && o->bad_version ? PRBD_WIRE_VERSION + 1 + rn(200)
					 : PRBD_WIRE_VERSION;
	f->flags = o ? o->flags : 0;
	f->type = htole16(type);
	f->origin = o && o->origin ? o->origin : g.node;
	f->sender = o && o->sender ? o->sender : g.node;
	f->ttl = o ? o->ttl : 0;
	f->reserved = o && o->reserved ? 1 + rn(255) : 0;
	f->reserved2 = htole32(o && o->reserved2 ? 1 + rn(1000) : 0);
	f->dest_mask = htole32(o && o->dest ? o->dest : 1u << peer);
	f->hdr_len = htole32(hlen + (o ? o->hdr_len_delta : 0));
	f->payload_len = htole32(o && o->override_plen ?
				 o->payload_len_override : plen);
	f->seq = htole64(++g.seq);
	f->hdr_crc = htole32(wcrc(hdr, hlen) ^ (o && o->bad_hcrc ? 1u << rn(32) : 0));
	f->payload_crc = htole32(wcrc(pl, plen) ^
				 (o && o->bad_pcrc ? 1u << rn(32) : 0));
	f->frame_crc = 0;
	f->frame_crc = htole32(wcrc(f, sizeof(*f)) ^
			       (o && o->bad_fcrc ? 1u << rn(32) : 0));
}

static void tag16(const uint8_t *key, const void *a, size_t alen,
		  const void *b, size_t blen, const void *c, size_t clen,
		  uint8_t out[16])
{
	struct b2s s;

	b2s_init(&s, 16, key, 32);
	b2s_update(&s, a, alen);
	b2s_update(&s, b, blen);
	b2s_update(&s, c, clen);
	b2s_final(&s, out);
}

/*
 * On the connection past its handshake: ptag and MAC (prbd_wire.h,
 * "Authentication"), then frame_crc again, over them.  With o->bad_mac a
 * wrong one: a flipped bit, a counter of a replayed or of a later frame,
 * or the other direction's key; with o->bad_ptag a flipped ptag bit.
 */
static void frame_seal(struct prbd_wire_frame *f, const void *hdr,
		       uint32_t hlen, const void *pl, uint32_t plen,
		       const struct frame_opts *o)
{
	uint64_t n = g.tx_n++;
	const uint8_t *key = g.tx_key;
	uint64_t ctr;

	f->frame_crc = 0;
	if (plen) {
		struct prbd_sip st;	/* the payload tag (wire version 5) */

		prbd_sip_init(&st, g.pay_key);
		prbd_sip_update(&st, pl, plen);
		prbd_sip_final(&st, f->ptag);
	}
	if (o && o->bad_ptag)
		f->ptag[rn(16)] ^= 1 << rn(8);
	if (o && o->bad_mac == 2)
		n = n ? n - 1 : n + 1;		/* a replay */
	else if (o && o->bad_mac == 3)
		n += 1 + rn(3);			/* frames dropped */
	else if (o && o->bad_mac == 4)
		key = g.rx_key;			/* reflected */
	ctr = htole64(n);
	memset(f->mac, 0, sizeof(f->mac));
	tag16(key, &ctr, sizeof(ctr), f, sizeof(*f), hdr, hlen, f->mac);
	if (o && o->bad_mac == 1)
		f->mac[rn(16)] ^= 1 << rn(8);
	/* a deliberately wrong frame_crc stays wrong */
	f->frame_crc = htole32(wcrc(f, sizeof(*f)) ^ (o && o->bad_fcrc ? 1 : 0));
}

static int send_frame(int fd, uint32_t peer, uint16_t type, const void *hdr,
		      uint32_t hlen, const void *pl, uint32_t plen,
		      const struct frame_opts *o)
{
	struct prbd_wire_frame f;

	frame_build(&f, peer, type, hdr, hlen, pl, plen, o);
	if (fd == g.up_fd)
		frame_seal(&f, hdr, hlen, pl, plen, o);
	stat[S_FRAMES]++;
	if (wr(fd, &f, sizeof(f)) || (hlen && wr(fd, hdr, hlen)) ||
	    (plen && wr(fd, pl, plen)))
		return -1;
	return 0;
}

/* read one frame's header part (no payload expected before UP) */
static int recv_ctrl(int fd, uint16_t *type, void *hdr, uint32_t max,
		     uint32_t *hlen)
{
	struct prbd_wire_frame f;
	uint32_t crc;

	if (rd(fd, &f, sizeof(f)))
		return -1;
	crc = le32toh(f.frame_crc);
	f.frame_crc = 0;
	if (be32toh(f.magic) != PRBD_WIRE_MAGIC || wcrc(&f, sizeof(f)) != crc ||
	    le32toh(f.hdr_len) > max || le32toh(f.payload_len))
		return -1;
	*type = le16toh(f.type);
	*hlen = le32toh(f.hdr_len);
	if (*hlen && rd(fd, hdr, *hlen))
		return -1;
	if (wcrc(hdr, *hlen) != le32toh(f.hdr_crc))
		return -1;
	return 0;
}

static void mac(const char *label, uint32_t con, uint32_t acc,
		const uint8_t *nc, const uint8_t *na, uint8_t out[32])
{
	struct {
		uint8_t label[8];
		uint8_t uuid[PRBD_WIRE_UUID_LEN];
		uint32_t con_id;
		uint32_t acc_id;
		uint8_t nonce_c[PRBD_WIRE_NONCE_LEN];
		uint8_t nonce_a[PRBD_WIRE_NONCE_LEN];
	} __attribute__((packed)) in;

	memcpy(in.label, label, 8);
	memcpy(in.uuid, g.uuid, sizeof(in.uuid));
	in.con_id = htole32(con);
	in.acc_id = htole32(acc);
	memcpy(in.nonce_c, nc, sizeof(in.nonce_c));
	memcpy(in.nonce_a, na, sizeof(in.nonce_a));
	hmac_sha256(g.secret, g.secret_len, &in, sizeof(in), out);
}

static void fill_hello(struct prbd_wire_hello *h, uint32_t peer,
		       const uint8_t *nonce)
{
	memset(h, 0, sizeof(*h));
	h->min_version = htole16(PRBD_WIRE_VERSION);
	h->max_version = htole16(PRBD_WIRE_VERSION);
	h->node_id = htole32(g.node);
	h->peer_id = htole32(peer);
	memcpy(h->cluster_uuid, g.uuid, PRBD_WIRE_UUID_LEN);
	memcpy(h->nonce, nonce, PRBD_WIRE_NONCE_LEN);
}

/*
 * Connector side of a correct handshake with the acceptor @peer: 0 once
 * AUTH_OK arrived, -1 if the peer refused or closed.
 */
static int handshake_connect(int fd, uint32_t peer)
{
	struct prbd_wire_hello h;
	struct prbd_wire_hello_ack ack;
	struct prbd_wire_auth auth;
	uint8_t nc[PRBD_WIRE_NONCE_LEN], want[32], buf[PRBD_WIRE_MAX_HDR];
	uint16_t type;
	uint32_t hlen;

	rfill(nc, sizeof(nc));
	fill_hello(&h, peer, nc);
	if (send_frame(fd, peer, PRBD_WIRE_T_HELLO, &h, sizeof(h), NULL, 0, NULL) ||
	    recv_ctrl(fd, &type, buf, sizeof(buf), &hlen) ||
	    type != PRBD_WIRE_T_HELLO_ACK || hlen != sizeof(ack))
		return -1;
	memcpy(&ack, buf, sizeof(ack));
	mac("prbd-acc", g.node, peer, nc, ack.hello.nonce, want);
	if (memcmp(want, ack.mac, 32)) {
		fprintf(stderr, "prbd-wirefuzz: node %u's HELLO_ACK mac is wrong (secret?)\n",
			peer);
		return -1;
	}
	mac("prbd-con", g.node, peer, nc, ack.hello.nonce, auth.mac);
	if (send_frame(fd, peer, PRBD_WIRE_T_AUTH, &auth, sizeof(auth), NULL, 0, NULL) ||
	    recv_ctrl(fd, &type, buf, sizeof(buf), &hlen) ||
	    type != PRBD_WIRE_T_AUTH_OK || hlen)
		return -1;
	mac("prbd-kcn", g.node, peer, nc, ack.hello.nonce, g.tx_key);
	mac("prbd-kac", g.node, peer, nc, ack.hello.nonce, g.rx_key);
	g.tx_n = 0;
	g.up_fd = fd;
	return 0;
}

/*
 * Acceptor side: the connector @fd sent HELLO; answer it correctly (or,
 * with @bad, with a mutated HELLO_ACK) and wait for AUTH.  Returns the
 * peer's id once AUTH arrived and AUTH_OK was sent, else 0.
 */
static uint32_t handshake_accept(int fd, int bad)
{
	struct prbd_wire_hello h;
	struct prbd_wire_hello_ack ack;
	struct prbd_wire_auth auth;
	uint8_t na[PRBD_WIRE_NONCE_LEN], want[32], buf[PRBD_WIRE_MAX_HDR];
	uint16_t type;
	uint32_t hlen, peer;

	if (recv_ctrl(fd, &type, buf, sizeof(buf), &hlen) ||
	    type != PRBD_WIRE_T_HELLO || hlen != sizeof(h))
		return 0;
	memcpy(&h, buf, sizeof(h));
	peer = le32toh(h.node_id);
	rfill(na, sizeof(na));
	fill_hello(&ack.hello, peer, na);
	mac("prbd-acc", peer, g.node, h.nonce, na, ack.mac);
	switch (bad) {
	case 1:
		ack.mac[rn(32)] ^= 1 + rn(255);
		break;
	case 2:
		ack.hello.cluster_uuid[rn(16)] ^= 1 + rn(255);
		break;
	case 3:
		ack.hello.node_id = htole32(g.node + 1 + rn(30));
		break;
	case 4:
		ack.hello.min_version = htole16(PRBD_WIRE_VERSION + 1);
		ack.hello.max_version = htole16(PRBD_WIRE_VERSION + 5);
		break;
	case 5:	/* wrong length */
		send_frame(fd, peer, PRBD_WIRE_T_HELLO_ACK, &ack,
			   sizeof(ack) - 1 - rn(sizeof(ack) - 1), NULL, 0, NULL);
		return 0;
	case 6:	/* AUTH_OK straight away */
		send_frame(fd, peer, PRBD_WIRE_T_AUTH_OK, NULL, 0, NULL, 0, NULL);
		return 0;
	}
	if (send_frame(fd, peer, PRBD_WIRE_T_HELLO_ACK, &ack, sizeof(ack), NULL, 0, NULL))
		return 0;
	if (bad)
		return 0;
	if (recv_ctrl(fd, &type, buf, sizeof(buf), &hlen) ||
	    type != PRBD_WIRE_T_AUTH || hlen != sizeof(auth))
		return 0;
	memcpy(&auth, buf, sizeof(auth));
	mac("prbd-con", peer, g.node, h.nonce, na, want);
	if (memcmp(want, auth.mac, 32))
		return 0;
	if (send_frame(fd, peer, PRBD_WIRE_T_AUTH_OK, NULL, 0, NULL, 0, NULL))
		return 0;
	mac("prbd-kac", peer, g.node, h.nonce, na, g.tx_key);
	mac("prbd-kcn", peer, g.node, h.nonce, na, g.rx_key);
	g.tx_n = 0;
	g.up_fd = fd;
	return peer;
}

/* ---- the mutation classes --------------------------------------------- */

/*
 * Each class sends something and says whether the peer must close the
 * connection because of it (1) or may keep it (0: the frame is dropped
 * by a receiver above the transport, with a warning).
 */
typedef int (*class_fn)(int fd, uint32_t peer);

static uint8_t big[PRBD_WIRE_MAX_PAYLOAD + 4096];

/* --- before the handshake (connector side: fd is fresh) --- */

static int c_garbage(int fd, uint32_t peer)
{
	uint32_t n = 1 + rn(300);

	(void)peer;
	rfill(big, n);
	if (n >= 4 && rn(2))
		memcpy(big, "PRBD", 4);	/* gets past the magic, not the crc */
	wr(fd, big, n);
	return n >= sizeof(struct prbd_wire_frame);
}

static int c_truncated(int fd, uint32_t peer)
{
	struct prbd_wire_hello h;
	struct prbd_wire_frame f;
	uint8_t nc[PRBD_WIRE_NONCE_LEN];

	rfill(nc, sizeof(nc));
	fill_hello(&h, peer, nc);
	frame_build(&f, peer, PRBD_WIRE_T_HELLO, &h, sizeof(h), NULL, 0, NULL);
	if (rn(2))
		wr(fd, &f, 1 + rn(sizeof(f) - 1));
	else {
		wr(fd, &f, sizeof(f));
		wr(fd, &h, rn(sizeof(h)));
	}
	return 0;	/* half a message: the peer waits; we close */
}

static int c_bad_frame(int fd, uint32_t peer)
{
	struct prbd_wire_hello h;
	struct frame_opts o = { 0 };
	uint8_t nc[PRBD_WIRE_NONCE_LEN];

	rfill(nc, sizeof(nc));
	fill_hello(&h, peer, nc);
	switch (rn(7)) {
	case 0: o.bad_magic = 1; break;
	case 1: o.bad_version = 1; break;
	case 2: o.bad_fcrc = 1; break;
	case 3: o.bad_hcrc = 1; break;
	case 4: o.hdr_len_delta = PRBD_WIRE_MAX_HDR + 1 + rn(1 << 20); break;
	case 5: o.override_plen = 1;
		o.payload_len_override = PRBD_WIRE_MAX_PAYLOAD + 1 + rn(1 << 30);
		break;
	case 6: o.flags = 0x80 >> rn(7); break;
	}
	send_frame(fd, peer, PRBD_WIRE_T_HELLO, &h, sizeof(h), NULL, 0, &o);
	return 1;
}

static int c_bad_hello(int fd, uint32_t peer)
{
	struct prbd_wire_hello h;
	uint8_t nc[PRBD_WIRE_NONCE_LEN];
	uint32_t len = sizeof(h);

	rfill(nc, sizeof(nc));
	fill_hello(&h, peer, nc);
	switch (rn(9)) {
	case 0: h.cluster_uuid[rn(16)] ^= 1 + rn(255); break;
	case 1: h.peer_id = htole32(peer + 1 + rn(40)); break;
	case 2: h.node_id = htole32(0); break;
	case 3: h.node_id = htole32(peer); break;		/* its own id */
	case 4: h.node_id = htole32(peer + 1 + rn(40)); break;	/* higher */
	case 5: h.min_version = htole16(PRBD_WIRE_VERSION + 1);
		h.max_version = htole16(0xffff); break;
	case 6: h.min_version = htole16(0); h.max_version = htole16(1); break;
	case 7: len = rn(sizeof(h)); break;			/* short */
	case 8: h.node_id = htole32(rnd()); break;
	}
	send_frame(fd, peer, PRBD_WIRE_T_HELLO, &h, len, NULL, 0, NULL);
	return 1;
}

static int c_bad_auth(int fd, uint32_t peer)
{
	struct prbd_wire_hello h;
	struct prbd_wire_auth auth;
	uint8_t nc[PRBD_WIRE_NONCE_LEN], buf[PRBD_WIRE_MAX_HDR];
	uint16_t type;
	uint32_t hlen;

	rfill(nc, sizeof(nc));
	fill_hello(&h, peer, nc);
	if (send_frame(fd, peer, PRBD_WIRE_T_HELLO, &h, sizeof(h), NULL, 0, NULL) ||
	    recv_ctrl(fd, &type, buf, sizeof(buf), &hlen) ||
	    type != PRBD_WIRE_T_HELLO_ACK) {
		stat[S_HS_FAIL]++;
		return 1;
	}
	switch (rn(4)) {
	case 0:		/* a MAC of something else */
		rfill(auth.mac, sizeof(auth.mac));
		send_frame(fd, peer, PRBD_WIRE_T_AUTH, &auth, sizeof(auth), NULL, 0, NULL);
		break;
	case 1:		/* the acceptor's own MAC sent back */
		memcpy(auth.mac, buf + sizeof(struct prbd_wire_hello), 32);
		send_frame(fd, peer, PRBD_WIRE_T_AUTH, &auth, sizeof(auth), NULL, 0, NULL);
		break;
	case 2:		/* a user frame instead of AUTH */
		send_frame(fd, peer, PRBD_MSG_PAXOS, buf, 64, NULL, 0, NULL);
		break;
	case 3:		/* HELLO again */
		send_frame(fd, peer, PRBD_WIRE_T_HELLO, &h, sizeof(h), NULL, 0, NULL);
		break;
	}
	return 1;
}

static int c_out_of_order(int fd, uint32_t peer)
{
	struct prbd_wire_auth auth;
	uint8_t pl[64];

	rfill(&auth, sizeof(auth));
	rfill(pl, sizeof(pl));
	switch (rn(5)) {
	case 0: send_frame(fd, peer, PRBD_WIRE_T_AUTH, &auth, sizeof(auth), NULL, 0, NULL); break;
	case 1: send_frame(fd, peer, PRBD_WIRE_T_AUTH_OK, NULL, 0, NULL, 0, NULL); break;
	case 2: send_frame(fd, peer, PRBD_MSG_DATA, pl, 24, NULL, 0, NULL); break;
	case 3: send_frame(fd, peer, PRBD_WIRE_T_PING, NULL, 0, pl, sizeof(pl), NULL); break;
	case 4: send_frame(fd, peer, PRBD_WIRE_T_HELLO_ACK, pl, sizeof(pl), NULL, 0, NULL); break;
	}
	return 1;
}

static int c_half_handshake(int fd, uint32_t peer)
{
	struct prbd_wire_hello h;
	uint8_t nc[PRBD_WIRE_NONCE_LEN];

	rfill(nc, sizeof(nc));
	fill_hello(&h, peer, nc);
	send_frame(fd, peer, PRBD_WIRE_T_HELLO, &h, sizeof(h), NULL, 0, NULL);
	if (rn(2))
		usleep(1000 * rn(1500));	/* stall, then go away */
	return 0;
}

/* --- after a completed handshake --- */

/* frame-level faults the transport must refuse by closing */
static int u_bad_frame(int fd, uint32_t peer)
{
	struct frame_opts o = { 0 };
	uint8_t hdr[64];
	uint32_t plen = rn(2) ? rn(9000) : 0;

	rfill(hdr, sizeof(hdr));
	rfill(big, plen);
	switch (rn(12)) {
	case 0: o.bad_magic = 1; break;
	case 1: o.bad_version = 1; break;
	case 2: o.bad_fcrc = 1; break;
	case 3: o.bad_hcrc = 1; break;
	case 4: o.bad_pcrc = 1; if (!plen) plen = 1 + rn(5000); break;
	case 5: o.hdr_len_delta = PRBD_WIRE_MAX_HDR; break;
	case 6: o.override_plen = 1;
		o.payload_len_override = PRBD_WIRE_MAX_PAYLOAD + 1 + rn(1 << 30);
		break;
	case 7: o.flags = 0x02 << rn(7); break;
	case 8: o.reserved = 1; break;
	case 9: o.reserved2 = 1; break;
	case 10: /* misaddressed */
		switch (rn(6)) {
		case 0: o.sender = g.node + 1 + rn(5); break;
		case 1: o.dest = (1u << ((peer + 1 + rn(20)) % 31)) & ~(1u << peer);
			if (!o.dest)
				o.dest = 1;
			break;
		case 2: o.ttl = 2 + rn(250); o.flags = PRBD_WIRE_F_FORWARD; break;
		case 3: o.ttl = 1; break;			/* no F_FORWARD */
		case 4: o.origin = peer; break;			/* its own */
		case 5: o.origin = PRBD_WIRE_MAX_NODE + 1 + rn(200); break;
		}
		break;
	case 11: /* a handshake message after the handshake */
		send_frame(fd, peer, PRBD_WIRE_T_HELLO, hdr, sizeof(struct prbd_wire_hello),
			   NULL, 0, NULL);
		return 1;
	}
	send_frame(fd, peer, 64 + rn(6), hdr, sizeof(hdr), big, plen, &o);
	return 1;
}

/*
 * A frame that is right in every other way (a PLREQ for an unknown id, or
 * a DATA payload the follower would cache) with a wrong MAC: a flipped
 * bit, the counter of a replayed frame or of one after frames dropped on
 * the way, the key of the other direction (a reflected frame); or a DATA
 * payload whose tag does not match.  What an on-path attacker without the
 * secret can do: the transport closes.
 */
static int u_bad_mac(int fd, uint32_t peer)
{
	struct frame_opts o = { 0 };
	struct prbd_wire_plreq q;
	struct prbd_wire_data d;
	uint32_t plen = 512 * (1 + rn(64));

	if (rn(5)) {
		o.bad_mac = 1 + rn(4);
	} else {
		o.bad_ptag = 1;
		if (rn(2))
			plen = 1 + rn(PRBD_WIRE_MAX_PAYLOAD);
	}
	if (!o.bad_ptag && rn(2)) {
		memset(&q, 0, sizeof(q));
		q.id = htole64(rnd());
		q.slot = htole64(rnd());
		send_frame(fd, peer, PRBD_MSG_PLREQ, &q, sizeof(q), NULL, 0, &o);
		return 1;
	}
	rfill(big, plen);
	d.id = htole64(rnd());
	d.sector = htole64(rn(4096) * 8);
	d.len = htole32(plen);
	d.csum = htole32(rnd());
	send_frame(fd, peer, PRBD_MSG_DATA, &d, sizeof(d), big, plen, &o);
	return 1;
}

/* bytes that break the framing: the transport closes */
static int u_garbage(int fd, uint32_t peer)
{
	uint32_t n = sizeof(struct prbd_wire_frame) + rn(2000);

	(void)peer;
	rfill(big, n);
	wr(fd, big, n);
	return 1;
}

/* a Paxos header prbd_repl_decode() must refuse */
static int u_paxos(int fd, uint32_t peer)
{
	uint8_t buf[PRBD_WIRE_MAX_HDR];
	struct prbd_wire_px *w = (struct prbd_wire_px *)buf;
	struct prbd_wire_px_ent *e;
	uint32_t n = 1 + rn(3), len, i, plen = 0;
	int fault = rn(19);

	memset(buf, 0, sizeof(buf));
	w->type = PRBD_PX_M_P2A;
	w->from = g.node;
	w->to = peer;
	w->n_ent = n;
	w->ballot = htole64(rnd());
	w->slot = htole64(rnd());
	w->commit = htole64(rnd());
	/* strict mode: epoch 0 (else refused), any rank (ranks order epochs) */
	w->erank = htole64(rnd());
	for (i = 0; i < n; i++) {
		e = &w->ent[i];
		e->slot = htole64(rnd());
		e->ballot = htole64(rnd());
		e->kind = PRBD_PX_K_DATA;
		e->n_desc = 1;
		e->desc[0].id = htole64(rnd());
		e->desc[0].sector = htole64(rn(1024) * 8);
		e->desc[0].len = htole32(4096);
	}
	len = sizeof(*w) + n * sizeof(w->ent[0]);
	e = &w->ent[rn(n)];
	switch (fault) {
	case 0: len -= 1 + rn(sizeof(w->ent[0])); break;
	case 1: len += 1 + rn(64); break;
	case 2: w->n_ent = PRBD_PX_MAX_ENT + 1 + rn(200); break;
	case 3: w->from = g.node + 1 + rn(20); break;
	case 4: w->to = peer + 1 + rn(20); break;
	case 5: w->type = rn(2) ? 0 : PRBD_PX_M_FLUSH_R + 1 + rn(200); break;
	case 6: w->flags = PRBD_PX_F_SUSPECT; break;	/* not a P1B */
	case 7: plen = 1 + rn(4096); break;
	case 8: e->kind = PRBD_PX_K_CONFIG + 1 + rn(200); break;
	case 9: e->n_desc = PRBD_PX_BATCH + 1 + rn(100); break;
	case 10: e->desc[0].op = htole32(PRBD_LOG_OP_MAX + 1 + rn(1000)); break;
	case 11: e->desc[0].pad = htole32(1 + rn(1000)); break;
	case 12: e->desc[0].len = htole32(rn(2) ? 0 : 0x7fffffff + rn(4)); break;
	case 13: /* past the end, or wrapping when shifted */
		e->desc[0].sector = htole64(rn(2) ? redge() | (1ULL << 55) :
					    g.data_size >> 9);
		e->desc[0].len = htole32(4096);
		break;
	/* flush mode (wire version 4): the receivers run strict mode */
	case 14: /* an epoch: a strict node never has one */
		w->epoch = htole64(1 + rn(1 << 20));
		w->erank = htole64(le64toh(w->epoch) + rn(1 << 20));
		break;
	case 15: /* a rank below its epoch, refused in any mode */
		w->epoch = htole64(2 + rn(1 << 20));
		w->erank = htole64(rn(le64toh(w->epoch)));
		break;
	case 16: /* a barrier: strict mode has none, and it has entries */
		w->type = rn(2) ? PRBD_PX_M_FLUSH : PRBD_PX_M_FLUSH_R;
		if (rn(2)) {
			w->n_ent = 0;
			len = sizeof(*w);
		}
		break;
	case 17: /* a suspect promise: strict mode has none */
		w->type = PRBD_PX_M_P1B;
		w->flags = PRBD_PX_F_SUSPECT;
		w->n_ent = 0;
		len = sizeof(*w);
		break;
	case 18: /* a flag no message has */
		w->flags = 0x80;
		break;
	}
	if (len < 8)
		len = 8;
	rfill(big, plen);
	send_frame(fd, peer, PRBD_MSG_PAXOS, buf, len, big, plen, NULL);
	return 0;
}

/* DATA: random payloads (cached, then evicted) or bad headers */
static int u_data(int fd, uint32_t peer)
{
	struct prbd_wire_data d;
	uint32_t plen, hlen = sizeof(d);

	plen = rn(4) ? 512 * (1 + rn(512)) : rn(PRBD_WIRE_MAX_PAYLOAD);
	rfill(big, plen);
	d.id = htole64(rnd());
	d.sector = htole64(rn(4096) * 8);
	d.len = htole32(plen);
	d.csum = htole32(rnd());
	switch (rn(6)) {
	case 0: d.sector = htole64(redge()); break;
	case 1: d.len = htole32(redge()); break;
	case 2: hlen = rn(sizeof(d)); break;
	case 3: plen = 0; break;
	default: break;	/* well formed: only a cache entry */
	}
	send_frame(fd, peer, PRBD_MSG_DATA, &d, hlen, big, plen, NULL);
	return 0;
}

static int u_plreq(int fd, uint32_t peer)
{
	struct prbd_wire_plreq q;
	uint32_t hlen = rn(4) ? sizeof(q) : rn(64);

	rfill(&q, sizeof(q));
	if (rn(2))
		q.pad = 0;
	send_frame(fd, peer, PRBD_MSG_PLREQ, &q, hlen > sizeof(q) ? sizeof(q) : hlen,
		   NULL, 0, NULL);
	return 0;
}

/*
 * "The payload is gone" from a node that does not lead (we play node 2):
 * ignored, well formed or not; a forged one from the leader's id is
 * refused by the frame MAC (the bad-mac classes).
 */
static int u_plgone(int fd, uint32_t peer)
{
	struct prbd_wire_plgone q;
	uint32_t hlen = rn(4) ? sizeof(q) : rn(64);

	rfill(&q, sizeof(q));
	if (rn(2)) {
		q.slot = htole64(1 + rn(1000));
		q.log_start = htole64(le64toh(q.slot) + 1 + rn(1000));
	}
	send_frame(fd, peer, PRBD_MSG_PLGONE, &q, hlen > sizeof(q) ? sizeof(q) : hlen,
		   NULL, 0, NULL);
	return 0;
}

static int u_xfer(int fd, uint32_t peer)
{
	struct prbd_wire_xfer x = { .target = g.node };
	uint32_t hlen = sizeof(x);

	switch (rn(4)) {
	case 0: x.flags = 0x02 << rn(6); break;
	case 1: x.pad[rn(6)] = 1 + rn(255); break;
	case 2: x.target = g.node + 1 + rn(40); break;
	case 3: hlen = rn(2) ? 0 : sizeof(x) - 1; break;
	}
	send_frame(fd, peer, PRBD_MSG_XFER, &x, hlen, NULL, 0, NULL);
	return 0;
}

static int u_member(int fd, uint32_t peer)
{
	struct prbd_wire_member m;
	uint32_t hlen = sizeof(m);

	memset(&m, 0, sizeof(m));
	m.op = rn(5);
	m.node = rn(40);
	m.slot = htole64(redge());
	/* a well-formed REMOVED to the peer: up:removed */
	if (m.op == PRBD_MEMBER_OP_REMOVED && m.node == peer)
		m.node = 0;
	/* DEL from us as its leader: we are not the leader, refused */
	switch (rn(3)) {
	case 0: m.pad[rn(6)] = 1 + rn(255); break;
	case 1: hlen = rn(sizeof(m)); break;
	default: break;
	}
	send_frame(fd, peer, PRBD_MSG_MEMBER, &m, hlen, NULL, 0, NULL);
	return 0;
}

/*
 * REMOVED addressed to the peer, well formed, naming a configuration
 * newer than any it knows: from a member that is not the leader it
 * follows (this tool is never followed), so refused (issue 14,
 * prbd_member_removed_ok()).  The connection stays; the test script checks
 * that the peer does not say it was removed.
 */
static int u_removed(int fd, uint32_t peer)
{
	struct prbd_wire_member m;

	memset(&m, 0, sizeof(m));
	m.op = PRBD_MEMBER_OP_REMOVED;
	m.node = peer;
	m.slot = htole64(redge() | 1);
	send_frame(fd, peer, PRBD_MSG_MEMBER, &m, sizeof(m), NULL, 0, NULL);
	return 0;
}

/*
 * Resync and verify: requests with random and boundary fields, replies
 * nobody asked for.  REPAIR is sent only with a range no data area has.
 */
static int u_rs(int fd, uint32_t peer)
{
	uint8_t buf[sizeof(struct prbd_wire_rs) + 64 * 4];
	struct prbd_wire_rs *r = (struct prbd_wire_rs *)buf;
	uint32_t hlen = sizeof(*r), plen = 0;

	memset(buf, 0, sizeof(buf));
	r->op = rn(PRBD_RS_OP_MAX + 3);
	r->flags = rn(3) ? 0 : rnd();
	r->status = htole16(rn(3) ? 0 : rn(20));
	r->gen = htole32(rnd());
	r->off = htole64(rn(2) ? redge() : rn(1024) * 4096);
	r->len = htole32(rn(2) ? redge() : 4096 * (1 + rn(64)));
	r->chunk_shift = htole32(rn(2) ? rn(70) : 20);
	r->data_size = htole64(rn(2) ? g.data_size : redge());
	r->from = htole64(redge());
	r->slot = htole64(redge());
	r->mapval = htole64(redge());
	r->voters = htole16(rnd());
	r->learners = htole16(rnd());
	if (r->op == PRBD_RS_REPAIR)
		r->off = htole64(g.data_size + 4096 * (1 + rn(100)));
	if (r->op == PRBD_RS_CRC) {
		r->n_crc = htole32(rn(2) ? rn(64) : redge());
		hlen += 4 * rn(64);
	}
	if (r->op == PRBD_RS_DATA || r->op == PRBD_RS_MAP)
		plen = rn(3) ? 4096 * rn(16) : rn(70000);
	if (rn(6) == 0)
		hlen = rn(sizeof(*r));
	rfill(big, plen);
	send_frame(fd, peer, PRBD_MSG_RS, buf, hlen, big, plen, NULL);
	return 0;
}

static int u_unknown_type(int fd, uint32_t peer)
{
	uint8_t hdr[128];
	uint16_t type = rn(2) ? PRBD_MSG_PLGONE + 1 + rn(100) : 7 + rn(57);

	rfill(hdr, sizeof(hdr));
	send_frame(fd, peer, type, hdr, rn(sizeof(hdr)), NULL, 0, NULL);
	/* a control type after the handshake is refused by closing */
	return type < PRBD_WIRE_T_USER;
}

struct cls {
	const char *name;
	class_fn fn;
	int after_handshake;
	int weight;
};

static const struct cls classes[] = {
	{ "garbage",		c_garbage,		0, 2 },
	{ "truncated",		c_truncated,		0, 1 },
	{ "bad-frame",		c_bad_frame,		0, 2 },
	{ "bad-hello",		c_bad_hello,		0, 3 },
	{ "bad-auth",		c_bad_auth,		0, 2 },
	{ "out-of-order",	c_out_of_order,		0, 2 },
	{ "half-handshake",	c_half_handshake,	0, 1 },
	{ "up:bad-frame",	u_bad_frame,		1, 3 },
	{ "up:garbage",		u_garbage,		1, 1 },
	{ "up:bad-mac",		u_bad_mac,		1, 3 },
	{ "up:paxos",		u_paxos,		1, 6 },
	{ "up:data",		u_data,			1, 4 },
	{ "up:plreq",		u_plreq,		1, 2 },
	{ "up:plgone",		u_plgone,		1, 1 },
	{ "up:xfer",		u_xfer,			1, 2 },
	{ "up:member",		u_member,		1, 2 },
	{ "up:removed",		u_removed,		1, 2 },
	{ "up:rs",		u_rs,			1, 5 },
	{ "up:unknown-type",	u_unknown_type,		1, 2 },
};

#define N_CLASSES ((int)(sizeof(classes) / sizeof(classes[0])))

static int pick(int after)
{
	int i, total = 0, r;

	for (i = 0; i < N_CLASSES; i++)
		if (classes[i].after_handshake == after)
			total += classes[i].weight;
	r = rn(total);
	for (i = 0; i < N_CLASSES; i++) {
		if (classes[i].after_handshake != after)
			continue;
		if (r < classes[i].weight)
			return i;
		r -= classes[i].weight;
	}
	return 0;
}

static void expect_close(int fd, int i, uint32_t peer)
{
	if (closes(fd)) {
		stat[S_CLOSED_OK]++;
		return;
	}
	stat[S_CLOSE_MISSED]++;
	fprintf(stderr, "prbd-wirefuzz: FAIL: node %u kept the connection after class %s\n",
		peer, classes[i].name);
}

/* a round against a peer we connect to (its acceptor side) */
static void round_connect(const struct peer *p)
{
	int fd, i, k, n, must_close = 0;

	g.up_fd = -1;	/* a fresh connection: no MACs until its handshake */
	fd = connect_to(p);
	if (fd < 0) {
		stat[S_CONN_FAIL]++;
		usleep(200 * 1000);
		return;
	}
	if (rn(3)) {
		i = pick(0);
		class_count[i]++;
		if (classes[i].fn(fd, p->id))
			expect_close(fd, i, p->id);
		close(fd);
		return;
	}
	if (handshake_connect(fd, p->id)) {
		stat[S_HS_FAIL]++;
		fprintf(stderr, "prbd-wirefuzz: FAIL: handshake with node %u\n", p->id);
		close(fd);
		usleep(200 * 1000);
		return;
	}
	stat[S_HS_OK]++;
	n = 1 + rn(40);
	for (k = 0; k < n && !must_close; k++) {
		i = pick(1);
		class_count[i]++;
		must_close = classes[i].fn(fd, p->id);
		if (drain(fd) < 0 && !must_close) {
			/*
			 * The peer closed after a frame it may keep the
			 * connection for: only a newer connection of ours
			 * (there is none) or its own restart could explain it.
			 */
			fprintf(stderr, "prbd-wirefuzz: FAIL: node %u closed after class %s\n",
				p->id, classes[i].name);
			stat[S_CLOSE_MISSED]++;
			close(fd);
			return;
		}
	}
	if (must_close)
		expect_close(fd, i, p->id);
	close(fd);
}

/* a round against a connector (a lower id) that connected to --listen */
static void round_accept(void)
{
	struct pollfd pfd = { .fd = g.lfd, .events = POLLIN };
	int fd, bad = rn(3) ? 0 : 1 + rn(6), k, n, i, must_close = 0;
	uint32_t peer;

	g.up_fd = -1;	/* a fresh connection: no MACs until its handshake */
	if (poll(&pfd, 1, 0) <= 0)
		return;
	fd = accept(g.lfd, NULL, NULL);
	if (fd < 0)
		return;
	stat[S_HS_ACCEPTED]++;
	peer = handshake_accept(fd, bad);
	if (bad) {
		/* the connector refuses what it got, and closes */
		if (closes(fd))
			stat[S_CLOSED_OK]++;
		else {
			stat[S_CLOSE_MISSED]++;
			fprintf(stderr, "prbd-wirefuzz: FAIL: a connector kept a bad HELLO_ACK (%d)\n",
				bad);
		}
		close(fd);
		return;
	}
	if (!peer) {
		stat[S_HS_FAIL]++;
		close(fd);
		return;
	}
	stat[S_HS_OK]++;
	n = 1 + rn(20);
	for (k = 0; k < n && !must_close; k++) {
		i = pick(1);
		class_count[i]++;
		must_close = classes[i].fn(fd, peer);
		if (drain(fd) < 0 && !must_close)
			break;	/* it may reconnect to itself first: not a fault */
	}
	if (must_close)
		expect_close(fd, i, peer);
	close(fd);
}

static void parse_uuid(const char *s)
{
	int n = 0;
	unsigned int b;

	while (*s && n < PRBD_WIRE_UUID_LEN) {
		if (*s == '-') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &b) != 1)
			die("bad uuid");
		g.uuid[n++] = b;
		s += 2;
	}
	if (n != PRBD_WIRE_UUID_LEN)
		die("bad uuid");
}

static void parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || colon - s >= (int)sizeof(host))
		die("bad address %s", s);
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		die("bad address %s", s);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "secret", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "listen", required_argument, NULL, 'l' },
		{ "data-size", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long rounds = 100, r;
	uint64_t seed = time(NULL);
	struct sockaddr_in la;
	int c, i, one = 1;
	long long t0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': g.node = atoi(optarg); break;
		case 'u': parse_uuid(optarg); break;
		case 's':
			g.secret_len = strlen(optarg);
			if (g.secret_len > sizeof(g.secret))
				die("secret too long");
			memcpy(g.secret, optarg, g.secret_len);
			break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'r': rounds = strtoul(optarg, NULL, 0); break;
		case 'l':
			parse_addr(optarg, &la);
			g.lfd = socket(AF_INET, SOCK_STREAM, 0);
			setsockopt(g.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (g.lfd < 0 || bind(g.lfd, (struct sockaddr *)&la, sizeof(la)) ||
			    listen(g.lfd, 8))
				die("listen %s: %s", optarg, strerror(errno));
			break;
		case 'd': g.data_size = strtoull(optarg, NULL, 0); break;
		default: exit(2);
		}
	}
	for (; optind < argc; optind++) {
		char *at = strchr(argv[optind], '@');

		if (!at || g.n_peer == MAX_PEERS)
			die("peer: ID@ADDR:PORT");
		g.peer[g.n_peer].id = atoi(argv[optind]);
		parse_addr(at + 1, &g.peer[g.n_peer].addr);
		g.n_peer++;
	}
	if (!g.node || !g.n_peer || !g.secret_len)
		die("usage: --node ID --uuid UUID --secret S [--seed N] [--rounds R] [--listen A:P] [--data-size B] ID@ADDR:PORT...");
	crc_init();
	{
		static const uint8_t zero[PRBD_WIRE_NONCE_LEN];

		mac("prbd-kpl", 0, 0, zero, zero, g.pay_key);
	}
	g.rng = seed;
	printf("seed %llu rounds %lu\n", (unsigned long long)seed, rounds);
	fflush(stdout);
	t0 = now_ms();
	for (r = 0; r < rounds; r++) {
		stat[S_ROUNDS]++;
		if (g.lfd >= 0)
			round_accept();
		i = rn(g.n_peer);
		if (g.peer[i].id > g.node)
			round_connect(&g.peer[i]);
		else if (g.lfd < 0)
			usleep(10 * 1000);
		else
			usleep(50 * 1000);	/* its connector comes to us */
		if (r % 100 == 99) {
			printf("round %lu: %lu handshakes, %lu frames\n", r + 1,
			       stat[S_HS_OK], stat[S_FRAMES]);
			fflush(stdout);
		}
	}
	for (i = 0; i < N_CLASSES; i++) {
		class_name[i] = classes[i].name;
		printf("class %-16s %lu\n", class_name[i], class_count[i]);
	}
	for (i = 0; i < S_NSTAT; i++)
		printf("%s %lu\n", stat_name[i], stat[i]);
	printf("time %lld ms\n", now_ms() - t0);
	if (stat[S_CLOSE_MISSED] || stat[S_HS_FAIL] || !stat[S_HS_OK]) {
		printf("FAIL\n");
		return 1;
	}
	printf("PASS\n");
	return 0;
}
