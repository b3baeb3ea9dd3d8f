// SPDX-License-Identifier: GPL-2.0
/*
 * prbdctl - parsing and formatting helpers.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "prbdctl.h"

void prbdctl_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prbdctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Map a (positive or negative) errno of a failed request to an exit code. */
int prbdctl_errno_exit(int err)
{
	switch (err < 0 ? -err : err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return PRBDCTL_EXIT_NOTFOUND;
	case EBUSY:
	case EEXIST:
	case EALREADY:
		return PRBDCTL_EXIT_BUSY;
	case EPERM:
	case EACCES:
		return PRBDCTL_EXIT_PERM;
	default:
		return PRBDCTL_EXIT_KERNEL;
	}
}

int prbdctl_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "4096", "16M", "1G", "512K": binary units. */
int prbdctl_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/*
 * A resync rate: bytes/s with an optional K/M/G suffix ("20M", "500K",
 * "0" for no cap), converted to KiB/s (rounded up), at most 4 GiB/s.
 */
int prbdctl_parse_rate(const char *s, uint32_t *kib)
{
	uint64_t v;
	int err = prbdctl_parse_size(s, &v);

	if (err)
		return err;
	v = (v + 1023) / 1024;
	if (v > 4ULL << 20)
		return -ERANGE;
	*kib = v;
	return 0;
}

/*
 * "START:LEN", both sizes with optional K/M/G/T suffixes, multiples of
 * 4096, LEN > 0, START + LEN not overflowing.
 *
 * Return: NULL, or what is wrong with it.
 */
const char *prbdctl_parse_range(const char *s, uint64_t *start, uint64_t *len)
{
	const char *colon = strchr(s, ':');
	char buf[64];
	size_t n;

	if (!colon || strchr(colon + 1, ':'))
		return "use START:LEN, e.g. 0:1G";
	n = colon - s;
	if (!n || n >= sizeof(buf))
		return "START is missing or too long";
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (prbdctl_parse_size(buf, start))
		return "START is not a size (bytes, or with K, M, G, T)";
	if (prbdctl_parse_size(colon + 1, len))
		return "LEN is not a size (bytes, or with K, M, G, T)";
	if (*start % 4096)
		return "START must be a multiple of 4096 bytes";
	if (!*len)
		return "LEN must not be 0 (omit --range for the whole device)";
	if (*len % 4096)
		return "LEN must be a multiple of 4096 bytes";
	if (*start + *len < *start)
		return "START + LEN overflows";
	return NULL;
}

/* "512 B", "12.3 MiB", "1.0 GiB" */
void prbdctl_fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char * const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = v;
	int i = -1;

	if (v < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", v);
		return;
	}
	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", d, unit[i]);
}

/* A rate cap in KiB/s: "none", "20.0 MiB/s" */
void prbdctl_fmt_rate_kib(uint32_t kib, char *buf, size_t len)
{
	char b[32];

	if (!kib) {
		snprintf(buf, len, "none");
		return;
	}
	prbdctl_fmt_bytes((uint64_t)kib * 1024, b, sizeof(b));
	snprintf(buf, len, "%s/s", b);
}

static int prbdctl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 8-4-4-4-12 hex digits, or 32 hex digits without dashes. */
int prbdctl_parse_uuid(const char *s, uint8_t uuid[PRBD_UUID_LEN])
{
	size_t len = strlen(s);
	int n = 0, hi, lo;
	size_t i;

	if (len != 36 && len != 32)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = prbdctl_hexval((unsigned char)s[i]);
		lo = i + 1 < len ? prbdctl_hexval((unsigned char)s[i + 1]) : -1;
		if (hi < 0 || lo < 0 || n >= PRBD_UUID_LEN)
			return -EINVAL;
		uuid[n++] = hi << 4 | lo;
		i++;
	}
	return n == PRBD_UUID_LEN ? 0 : -EINVAL;
}

void prbdctl_format_uuid(const uint8_t u[PRBD_UUID_LEN], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* "10.77.0.1:7790", "10.77.0.1" (default port), "[fe80::1]:7790", "[::1]" */
int prbdctl_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *p;
	uint32_t portnum = PRBDCTL_DEFAULT_PORT;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		p = strchr(s, ']');
		if (!p)
			return -EINVAL;
		hlen = p - s - 1;
		s++;
		if (p[1] == ':')
			port = p + 2;
		else if (p[1])
			return -EINVAL;
	} else {
		p = strchr(s, ':');
		if (p && strchr(p + 1, ':'))
			return -EINVAL;	/* bare IPv6 needs brackets */
		hlen = p ? (size_t)(p - s) : strlen(s);
		if (p)
			port = p + 1;
	}
	if (!hlen || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (port && prbdctl_parse_u32(port, 1, 65535, &portnum))
		return -EINVAL;

	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    IN_MULTICAST(ntohl(sin->sin_addr.s_addr)) ||
		    sin->sin_addr.s_addr == htonl(INADDR_BROADCAST))
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(portnum);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ||
		    IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr))
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(portnum);
		return 0;
	}
	return -EINVAL;
}

void prbdctl_format_addr(const struct sockaddr_storage *ss, char *buf,
			 size_t len, enum prbdctl_addr_fmt fmt)
{
	bool with_port = fmt == PRBDCTL_ADDR_HOST_PORT;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		if (with_port)
			snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		else
			snprintf(buf, len, "%s", host);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (with_port)
			snprintf(buf, len, "[%s]:%u", host,
				 ntohs(sin6->sin6_port));
		else
			snprintf(buf, len, "%s", host);
	} else {
		snprintf(buf, len, "-");
	}
}

/* Same rule as the kernel's prbd_res_name_valid(). */
bool prbdctl_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len >= PRBD_NAME_SIZE || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) &&
		    !strchr("_.-", name[i]))
			return false;
	return true;
}

void prbdctl_json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* CRC-32C (Castagnoli), reflected, init and final xor 0xffffffff. */
uint32_t prbdctl_crc32c(const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffff;
	size_t i;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			uint32_t c = i;
			int k;

			for (k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
			table[i] = c;
		}
	}
	for (i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffff;
}
