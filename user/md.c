// SPDX-License-Identifier: GPL-2.0
/*
 * prbdctl - create-md and show-md: write and inspect prbd metadata
 * (kmod/uapi/prbd_disk.h, Documentation/prbd-disk-format.rst).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prbdctl.h"
#include "prbd_md_check.h"

#define PRBDCTL_ZERO_CHUNK	(1024 * 1024)

#define PRBDCTL_CRC_LEN	(PRBD_DISK_REC_SIZE - 4)
#define PRBDCTL_PROBE_LEN	(128 * 1024)

struct prbdctl_dev {
	int fd;
	uint64_t size;
	uint32_t lbs;		/* logical block size */
	bool is_blk;
};

/* Open @path O_RDONLY, or O_RDWR (a block device exclusively). */
static int prbdctl_dev_open(const char *path, int mode, struct prbdctl_dev *d)
{
	bool rw = mode == O_RDWR;
	struct stat st;
	int lbs;

	memset(d, 0, sizeof(*d));
	/* O_EXCL on a block device fails if it is mounted or held */
	d->fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (d->fd < 0) {
		prbdctl_err("%s: %s", path, strerror(errno));
		return errno == ENOENT ? PRBDCTL_EXIT_NOTFOUND : PRBDCTL_EXIT_MD;
	}
	if (fstat(d->fd, &st)) {
		prbdctl_err("%s: %s", path, strerror(errno));
		goto out_close;
	}
	if (S_ISBLK(st.st_mode)) {
		if (rw) {
			int fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);

			if (fd < 0) {
				prbdctl_err("%s: cannot open exclusively (mounted or in use?): %s",
					    path, strerror(errno));
				close(d->fd);
				return errno == EBUSY ? PRBDCTL_EXIT_BUSY :
							PRBDCTL_EXIT_MD;
			}
			close(d->fd);
			d->fd = fd;
		}
		d->is_blk = true;
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) ||
		    ioctl(d->fd, BLKSSZGET, &lbs)) {
			prbdctl_err("%s: cannot get the device size: %s", path,
				    strerror(errno));
			goto out_close;
		}
		d->lbs = lbs;
	} else if (S_ISREG(st.st_mode)) {
		d->size = st.st_size;
		d->lbs = 512;
	} else {
		prbdctl_err("%s: not a block device or regular file", path);
		goto out_close;
	}
	return 0;

out_close:
	close(d->fd);
	return PRBDCTL_EXIT_MD;
}

static int prbdctl_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset((char *)buf + done, 0, len - done);
			return 0;
		}
		done += n;
	}
	return 0;
}

static int prbdctl_pwrite_full(int fd, const void *buf, size_t len,
			       uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

struct prbdctl_sig {
	uint64_t off;
	const char *magic;
	size_t len;
	const char *what;
};

/* Signatures at fixed offsets (as libblkid/wipefs know them). */
static const struct prbdctl_sig prbdctl_sigs[] = {
	{ 1080, "\x53\xef", 2, "ext2/ext3/ext4 file system" },
	{ 0, "XFSB", 4, "XFS file system" },
	{ 65600, "_BHRfS_M", 8, "btrfs file system" },
	{ 4086, "SWAPSPACE2", 10, "Linux swap" },
	{ 4086, "SWAP-SPACE", 10, "Linux swap" },
	{ 0, "LUKS\xba\xbe", 6, "LUKS encrypted volume" },
	{ 0, "SKUL\xba\xbe", 6, "LUKS2 secondary header" },
	{ 512, "LABELONE", 8, "LVM2 physical volume" },
	{ 0, "LABELONE", 8, "LVM2 physical volume" },
	{ 4096, "\xfc\x4e\x2b\xa9", 4, "Linux MD RAID member (1.2)" },
	{ 0, "\xfc\x4e\x2b\xa9", 4, "Linux MD RAID member (1.1)" },
	{ 512, "EFI PART", 8, "GPT partition table" },
	{ 32769, "CD001", 5, "ISO 9660 file system" },
	{ 3, "NTFS    ", 8, "NTFS file system" },
	{ 82, "FAT32   ", 8, "FAT32 file system" },
	{ 54, "FAT1", 4, "FAT file system" },
	{ 65536, "ReIsEr", 6, "ReiserFS" },
	{ 1024, "\x10\x20\xf5\xf2", 4, "F2FS file system" },
};

/* Describe the first foreign or prbd signature, or return NULL. */
static const char *prbdctl_probe(const uint8_t *buf, size_t len, char *what,
				 size_t wlen)
{
	const struct prbd_disk_sb *sb;
	char uuid[37];
	size_t i;

	for (i = 0; i < 2; i++) {
		sb = (const void *)(buf + (i ? PRBD_SB_B_OFFSET : PRBD_SB_A_OFFSET));
		if (le64toh(sb->magic) == PRBD_SB_MAGIC) {
			prbdctl_format_uuid(sb->cluster_uuid, uuid);
			snprintf(what, wlen,
				 "prbd metadata (node %u, cluster %s)",
				 le32toh(sb->node_id), uuid);
			return what;
		}
	}
	for (i = 0; i < sizeof(prbdctl_sigs) / sizeof(prbdctl_sigs[0]); i++) {
		const struct prbdctl_sig *s = &prbdctl_sigs[i];

		if (s->off + s->len <= len &&
		    !memcmp(buf + s->off, s->magic, s->len)) {
			snprintf(what, wlen, "%s", s->what);
			return what;
		}
	}
	if (len >= 512 && buf[510] == 0x55 && buf[511] == 0xaa) {
		snprintf(what, wlen, "DOS partition table or boot sector");
		return what;
	}
	return NULL;
}

static const uint8_t prbdctl_zero_block[PRBD_DISK_BLOCK];

static void prbdctl_seal(void *rec)
{
	uint32_t crc = prbdctl_crc32c(rec, PRBDCTL_CRC_LEN);

	crc = htole32(crc);
	memcpy((uint8_t *)rec + PRBDCTL_CRC_LEN, &crc, sizeof(crc));
}

static uint64_t prbdctl_round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* the environment's half of kmod/md/prbd_md_check.h */
u32 prbd_md_crc(const void *buf, size_t len)
{
	return prbdctl_crc32c(buf, len);
}

/* The smallest chunk shift (>= the minimum) that maps @data_size bytes in
 * at most PRBD_MAP_MAX_CHUNKS chunks; PRBD_MAP_CHUNK_SHIFT_MAX + 1 if none.
 */
static uint32_t prbdctl_pick_shift(uint64_t data_size)
{
	uint32_t s;

	for (s = PRBD_MAP_CHUNK_SHIFT_MIN; s <= PRBD_MAP_CHUNK_SHIFT_MAX; s++)
		if (prbd_md_map_chunks(data_size, s) <= PRBD_MAP_MAX_CHUNKS)
			break;
	return s;
}

struct prbdctl_layout {
	uint64_t map_off, map_size, n_chunks;
	uint64_t data_off, data_size;
	uint32_t shift;
};

/*
 * Place the slot map right after the log and the data area after the map
 * (1 MiB aligned), with the map sized for the final data area.  Starts with
 * the map as small as it can be and moves the data area up until the map
 * fits; the data area only shrinks, so the chunk count only shrinks and
 * this ends in a few rounds.
 *
 * Return: 0, or an exit code after printing why.
 */
static int prbdctl_layout(const char *dev, uint64_t dev_size,
			  uint64_t log_size, uint32_t want_shift,
			  struct prbdctl_layout *l)
{
	uint64_t need;
	int i;

	memset(l, 0, sizeof(*l));
	l->map_off = PRBD_LOG_OFFSET + log_size;
	l->data_off = prbdctl_round_up(l->map_off + prbd_md_map_size(1),
				       PRBD_DATA_ALIGN);
	for (i = 0; i < 64; i++) {
		if (dev_size < l->data_off + PRBD_DATA_MIN_SIZE) {
			prbdctl_err("%s: %" PRIu64 " bytes is too small: metadata, log and slot map need %" PRIu64
				    " bytes plus at least 1 MiB of data",
				    dev, dev_size, l->data_off);
			return PRBDCTL_EXIT_MD;
		}
		l->data_size = (dev_size - l->data_off) / PRBD_DISK_BLOCK *
			       PRBD_DISK_BLOCK;
		l->shift = want_shift ? want_shift :
			   prbdctl_pick_shift(l->data_size);
		if (l->shift > PRBD_MAP_CHUNK_SHIFT_MAX) {
			prbdctl_err("%s: %" PRIu64 " bytes of data is too large for the slot map (at most %llu chunks of 64 MiB)",
				    dev, l->data_size,
				    (unsigned long long)PRBD_MAP_MAX_CHUNKS);
			return PRBDCTL_EXIT_MD;
		}
		l->n_chunks = prbd_md_map_chunks(l->data_size, l->shift);
		if (l->n_chunks > PRBD_MAP_MAX_CHUNKS) {
			prbdctl_err("--chunk-size %llu gives %" PRIu64 " chunks for %" PRIu64
				    " bytes of data; at most %llu: use --chunk-size %lluK or more (or omit it)",
				    1ULL << l->shift, l->n_chunks, l->data_size,
				    (unsigned long long)PRBD_MAP_MAX_CHUNKS,
				    (1ULL << prbdctl_pick_shift(l->data_size)) >> 10);
			return PRBDCTL_EXIT_USAGE;
		}
		l->map_size = prbd_md_map_size(l->n_chunks);
		need = prbdctl_round_up(l->map_off + l->map_size,
					PRBD_DATA_ALIGN);
		if (need <= l->data_off)
			return 0;
		l->data_off = need;
	}
	prbdctl_err("%s: cannot lay the slot map out", dev);
	return PRBDCTL_EXIT_MD;
}

/* Write @len zero bytes at @off. */
static int prbdctl_write_zeroes(int fd, uint64_t off, uint64_t len)
{
	static uint8_t *zero;
	size_t n;
	int err;

	if (!zero) {
		zero = calloc(1, PRBDCTL_ZERO_CHUNK);
		if (!zero)
			return -ENOMEM;
	}
	while (len) {
		n = len < PRBDCTL_ZERO_CHUNK ? len : PRBDCTL_ZERO_CHUNK;
		err = prbdctl_pwrite_full(fd, zero, n, off);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * The default log size: 1/16 of the device in whole MiB, 16 MiB to 1 GiB.
 * Every value is written to the log before the data area, and log space
 * comes back only at a checkpoint (a flush of the data area and an
 * acceptor-state write), so a larger log means fewer checkpoints under
 * sustained writes and more history a lagging node catches up from.
 */
static uint64_t prbdctl_log_default(uint64_t dev_size)
{
	uint64_t sz = (dev_size >> PRBD_LOG_DEFAULT_SHIFT) & ~(uint64_t)(0x100000 - 1);

	if (sz < PRBD_LOG_DEFAULT_SIZE)
		return PRBD_LOG_DEFAULT_SIZE;
	return sz > PRBD_LOG_DEFAULT_MAX ? PRBD_LOG_DEFAULT_MAX : sz;
}

/**
 * prbdctl_create_md() - format a backing device
 * @o: options
 *
 * Refuses a device holding a known signature (ours included) unless
 * o->force.  Writes log header, acceptor slots, then both superblock
 * copies, and fsyncs; an interrupted run leaves no valid superblock.
 *
 * Return: an exit code.
 */
int prbdctl_create_md(const struct prbdctl_md_opts *o)
{
	uint8_t map_hdr[PRBD_DISK_BLOCK] __attribute__((aligned(8)));
	struct prbd_disk_map_hdr *mh = (void *)map_hdr;
	struct prbd_disk_acceptor *acc;
	struct prbd_disk_log_hdr *lh;
	struct prbd_disk_sb *sb;
	uint64_t log_size, data_off, data_size, meta_len;
	struct prbdctl_layout l;
	struct prbdctl_dev d;
	uint8_t disk_uuid[PRBD_UUID_LEN];
	char what[160], uuid[37];
	uint8_t *buf = NULL;
	uint32_t bs;
	int ret, err;

	ret = prbdctl_dev_open(o->dev, O_RDWR, &d);
	if (ret)
		return ret;
	ret = PRBDCTL_EXIT_MD;

	bs = o->block_size ? o->block_size : d.lbs;
	if (bs < 512 || bs > PRBD_DISK_BLOCK || (bs & (bs - 1))) {
		prbdctl_err("block size %u: must be 512, 1024, 2048 or 4096", bs);
		ret = PRBDCTL_EXIT_USAGE;
		goto out_close;
	}
	if (bs < d.lbs) {
		prbdctl_err("block size %u is smaller than the device's logical block size %u",
			    bs, d.lbs);
		ret = PRBDCTL_EXIT_USAGE;
		goto out_close;
	}
	log_size = o->log_size ? o->log_size : prbdctl_log_default(d.size);
	if (log_size < PRBD_LOG_MIN_SIZE || log_size % PRBD_DISK_BLOCK) {
		prbdctl_err("log size %" PRIu64 ": must be a multiple of 4 KiB and at least 1 MiB",
			    log_size);
		ret = PRBDCTL_EXIT_USAGE;
		goto out_close;
	}
	ret = prbdctl_layout(o->dev, d.size, log_size, o->chunk_shift, &l);
	if (ret)
		goto out_close;
	ret = PRBDCTL_EXIT_MD;
	data_off = l.data_off;
	data_size = l.data_size;

	meta_len = PRBD_LOG_OFFSET + 2 * PRBD_DISK_BLOCK;
	if (meta_len < PRBDCTL_PROBE_LEN)
		meta_len = PRBDCTL_PROBE_LEN;
	if (posix_memalign((void **)&buf, PRBD_DISK_BLOCK, meta_len)) {
		prbdctl_err("out of memory");
		goto out_close;
	}
	err = prbdctl_pread_full(d.fd, buf, meta_len, 0);
	if (err) {
		prbdctl_err("%s: read error: %s", o->dev, strerror(-err));
		goto out_free;
	}
	if (prbdctl_probe(buf, meta_len, what, sizeof(what))) {
		if (!o->force) {
			prbdctl_err("%s holds %s; refusing to overwrite it (use --force)",
				    o->dev, what);
			ret = PRBDCTL_EXIT_BUSY;
			goto out_free;
		}
		fprintf(stderr, "%s: overwriting %s on %s (--force)\n",
			prbdctl_prog, what, o->dev);
	}

	if (getrandom(disk_uuid, sizeof(disk_uuid), 0) != sizeof(disk_uuid)) {
		prbdctl_err("getrandom: %s", strerror(errno));
		goto out_free;
	}
	disk_uuid[6] = (disk_uuid[6] & 0x0f) | 0x40;	/* version 4 */
	disk_uuid[8] = (disk_uuid[8] & 0x3f) | 0x80;	/* variant 1 */

	memset(buf, 0, meta_len);
	sb = (void *)(buf + PRBD_SB_A_OFFSET);
	sb->magic = htole64(PRBD_SB_MAGIC);
	sb->version = htole32(PRBD_DISK_VERSION);
	sb->sb_size = htole32(sizeof(*sb));
	sb->seq = htole64(1);
	memcpy(sb->cluster_uuid, o->cluster_uuid, PRBD_UUID_LEN);
	memcpy(sb->disk_uuid, disk_uuid, PRBD_UUID_LEN);
	sb->node_id = htole32(o->node_id);
	sb->block_size = htole32(bs);
	sb->dev_size = htole64(d.size);
	sb->acceptor_offset = htole64(PRBD_ACCEPTOR_OFFSET);
	sb->acceptor_size = htole64(PRBD_ACCEPTOR_SIZE);
	sb->log_offset = htole64(PRBD_LOG_OFFSET);
	sb->log_size = htole64(log_size);
	sb->data_offset = htole64(data_off);
	sb->data_size = htole64(data_size);
	sb->created = htole64((uint64_t)time(NULL));
	sb->feature_incompat = htole64(PRBD_FEATURE_INCOMPAT_SLOTMAP);
	sb->map_offset = htole64(l.map_off);
	sb->map_size = htole64(l.map_size);
	sb->map_chunk_shift = htole32(l.shift);
	prbdctl_seal(sb);

	memset(map_hdr, 0, sizeof(map_hdr));
	mh->magic = htole64(PRBD_MAP_MAGIC);
	mh->seq = htole64(1);
	memcpy(mh->disk_uuid, disk_uuid, PRBD_UUID_LEN);
	mh->covers = 0;
	mh->n_chunks = htole64(l.n_chunks);
	mh->chunk_shift = htole32(l.shift);
	prbdctl_seal(mh);

	acc = (void *)(buf + PRBD_ACCEPTOR_OFFSET);
	acc->magic = htole64(PRBD_ACCEPTOR_MAGIC);
	acc->seq = htole64(1);
	memcpy(acc->disk_uuid, disk_uuid, PRBD_UUID_LEN);
	prbdctl_seal(acc);

	lh = (void *)(buf + PRBD_LOG_OFFSET);
	lh->magic = htole64(PRBD_LOG_MAGIC);
	memcpy(lh->disk_uuid, disk_uuid, PRBD_UUID_LEN);
	lh->rec_align = htole32(PRBD_DISK_BLOCK);
	lh->rec_offset = htole64(PRBD_LOG_OFFSET + PRBD_DISK_BLOCK);
	lh->rec_size = htole64(log_size - PRBD_DISK_BLOCK);
	prbdctl_seal(lh);

	/*
	 * 1: zero both superblock copies, so that an interrupted run leaves
	 * no valid superblock; 2: acceptor slots, log header and zeroes up
	 * to meta_len; 3: slot map header 1 and the entries as zeroes, then
	 * header 0; 4: superblock copy A, then copy B.
	 */
	err = prbdctl_pwrite_full(d.fd, prbdctl_zero_block, PRBD_DISK_BLOCK,
				  PRBD_SB_A_OFFSET);
	if (!err)
		err = prbdctl_pwrite_full(d.fd, prbdctl_zero_block,
					  PRBD_DISK_BLOCK, PRBD_SB_B_OFFSET);
	if (!err && fsync(d.fd))
		err = -errno;
	if (!err)
		err = prbdctl_pwrite_full(d.fd, buf + PRBD_ACCEPTOR_OFFSET,
					  meta_len - PRBD_ACCEPTOR_OFFSET,
					  PRBD_ACCEPTOR_OFFSET);
	if (!err)
		err = prbdctl_write_zeroes(d.fd, l.map_off + PRBD_DISK_BLOCK,
					   l.map_size - PRBD_DISK_BLOCK);
	if (!err)
		err = prbdctl_pwrite_full(d.fd, map_hdr, PRBD_DISK_BLOCK,
					  l.map_off);
	if (!err && fsync(d.fd))
		err = -errno;
	if (!err)
		err = prbdctl_pwrite_full(d.fd, sb, PRBD_DISK_BLOCK,
					  PRBD_SB_A_OFFSET);
	if (!err)
		err = prbdctl_pwrite_full(d.fd, sb, PRBD_DISK_BLOCK,
					  PRBD_SB_B_OFFSET);
	if (!err && fsync(d.fd))
		err = -errno;
	if (err) {
		prbdctl_err("%s: write error: %s", o->dev, strerror(-err));
		goto out_free;
	}

	prbdctl_format_uuid(o->cluster_uuid, uuid);
	if (prbdctl_json) {
		printf("{\"device\":");
		prbdctl_json_str(stdout, o->dev);
		printf(",\"cluster_uuid\":\"%s\",\"node_id\":%u,\"block_size\":%u,"
		       "\"log_offset\":%llu,\"log_size\":%" PRIu64
		       ",\"map_offset\":%" PRIu64 ",\"map_size\":%" PRIu64
		       ",\"chunk_size\":%llu,\"chunks\":%" PRIu64
		       ",\"data_offset\":%" PRIu64 ",\"data_size\":%" PRIu64 "}\n",
		       uuid, o->node_id, bs, (unsigned long long)PRBD_LOG_OFFSET,
		       log_size, l.map_off, l.map_size, 1ULL << l.shift,
		       l.n_chunks, data_off, data_size);
	} else {
		printf("%s: prbd metadata v%d written: cluster %s node %u, log %" PRIu64
		       " bytes, slot map %" PRIu64 " chunks of %llu KiB, data %" PRIu64
		       " bytes at offset %" PRIu64 "\n",
		       o->dev, PRBD_DISK_VERSION, uuid, o->node_id, log_size,
		       l.n_chunks, (1ULL << l.shift) >> 10, data_size, data_off);
	}
	ret = PRBDCTL_EXIT_OK;
out_free:
	free(buf);
out_close:
	close(d.fd);
	return ret;
}

/* The field a check names, or NULL when the record is valid. */
static const char *prbdctl_md_bad(enum prbd_md_err err)
{
	return err == PRBD_MD_OK ? NULL : prbd_md_err_field(err);
}

static void prbdctl_show_sb(const char *copy, const struct prbd_disk_sb *sb,
			    const char *bad)
{
	bool first = !strcmp(copy, "A");
	char cu[37], du[37];

	prbdctl_format_uuid(sb->cluster_uuid, cu);
	prbdctl_format_uuid(sb->disk_uuid, du);
	if (prbdctl_json) {
		printf("%s\"%s\":{\"valid\":%s,\"bad_field\":", first ? "" : ",",
		       copy, bad ? "false" : "true");
		if (bad)
			prbdctl_json_str(stdout, bad);
		else
			printf("null");
		printf(",\"magic\":%" PRIu64 ",\"version\":%u,\"seq\":%" PRIu64
		       ",\"feature_incompat\":%" PRIu64
		       ",\"cluster_uuid\":\"%s\",\"disk_uuid\":\"%s\",\"node_id\":%u"
		       ",\"block_size\":%u,\"dev_size\":%" PRIu64 ",\"log_offset\":%" PRIu64
		       ",\"log_size\":%" PRIu64 ",\"map_offset\":%" PRIu64
		       ",\"map_size\":%" PRIu64 ",\"map_chunk_shift\":%u"
		       ",\"data_offset\":%" PRIu64
		       ",\"data_size\":%" PRIu64 ",\"created\":%" PRIu64 "}",
		       (uint64_t)le64toh(sb->magic), le32toh(sb->version),
		       (uint64_t)le64toh(sb->seq),
		       (uint64_t)le64toh(sb->feature_incompat), cu, du,
		       le32toh(sb->node_id),
		       le32toh(sb->block_size), (uint64_t)le64toh(sb->dev_size),
		       (uint64_t)le64toh(sb->log_offset), (uint64_t)le64toh(sb->log_size),
		       (uint64_t)le64toh(sb->map_offset), (uint64_t)le64toh(sb->map_size),
		       le32toh(sb->map_chunk_shift),
		       (uint64_t)le64toh(sb->data_offset), (uint64_t)le64toh(sb->data_size),
		       (uint64_t)le64toh(sb->created));
		return;
	}
	printf("superblock %s: %s%s%s\n", copy, bad ? "INVALID (field '" : "valid",
	       bad ? bad : "", bad ? "')" : "");
	printf("  version %u  seq %" PRIu64 "  node_id %u  block_size %u\n",
	       le32toh(sb->version), (uint64_t)le64toh(sb->seq),
	       le32toh(sb->node_id), le32toh(sb->block_size));
	printf("  cluster_uuid %s  disk_uuid %s\n", cu, du);
	printf("  dev_size %" PRIu64 "  log %" PRIu64 "+%" PRIu64 "  map %" PRIu64
	       "+%" PRIu64 "  data %" PRIu64 "+%" PRIu64 "\n",
	       (uint64_t)le64toh(sb->dev_size),
	       (uint64_t)le64toh(sb->log_offset), (uint64_t)le64toh(sb->log_size),
	       (uint64_t)le64toh(sb->map_offset), (uint64_t)le64toh(sb->map_size),
	       (uint64_t)le64toh(sb->data_offset), (uint64_t)le64toh(sb->data_size));
	printf("  feature_incompat 0x%" PRIx64 "%s  map_chunk_shift %u\n",
	       (uint64_t)le64toh(sb->feature_incompat),
	       le64toh(sb->feature_incompat) & PRBD_FEATURE_INCOMPAT_SLOTMAP ?
	       " (slotmap)" : "", le32toh(sb->map_chunk_shift));
}

/* The clean-shutdown mark: no PRBD_DISK_ACC_F_UP (see prbd_disk.h). */
static bool prbdctl_acc_clean(const struct prbd_disk_acceptor *acc)
{
	return !(le32toh(acc->flags) & PRBD_DISK_ACC_F_UP);
}

static void prbdctl_show_acc(int slot, const struct prbd_disk_acceptor *acc,
			     bool empty, const char *bad)
{
	uint32_t i, nr = le32toh(acc->nr_members), flags = le32toh(acc->flags);
	const char *state = empty ? "empty" : bad ? "invalid" : "valid";

	if (nr > PRBD_DISK_MAX_MEMBERS)
		nr = 0;
	if (prbdctl_json) {
		printf("%s{\"slot\":%d,\"state\":\"%s\",\"bad_field\":", slot ? "," : "",
		       slot, state);
		if (bad && !empty)
			prbdctl_json_str(stdout, bad);
		else
			printf("null");
		printf(",\"seq\":%" PRIu64 ",\"promised_ballot\":%" PRIu64
		       ",\"config_epoch\":%" PRIu64 ",\"commit_index\":%" PRIu64
		       ",\"applied_index\":%" PRIu64 ",\"flags\":%u"
		       ",\"inconsistent\":%s,\"full\":%s,\"amnesiac\":%s,\"rs_from\":%" PRIu64
		       ",\"rs_cursor\":%" PRIu64 ",\"rs_need\":%" PRIu64
		       ",\"removed_at\":%" PRIu64 ",\"epoch\":%" PRIu64
		       ",\"epoch_base\":%" PRIu64 ",\"erank\":%" PRIu64
		       ",\"reset\":%s,\"log_floor\":%" PRIu64
		       ",\"clean\":%s,\"members\":[",
		       (uint64_t)le64toh(acc->seq),
		       (uint64_t)le64toh(acc->promised_ballot),
		       (uint64_t)le64toh(acc->config_epoch),
		       (uint64_t)le64toh(acc->commit_index),
		       (uint64_t)le64toh(acc->applied_index), flags,
		       flags & PRBD_DISK_ACC_F_INCONSISTENT ? "true" : "false",
		       flags & PRBD_DISK_ACC_F_RS_FULL ? "true" : "false",
		       flags & PRBD_DISK_ACC_F_AMNESIAC ? "true" : "false",
		       (uint64_t)le64toh(acc->rs_from),
		       (uint64_t)le64toh(acc->rs_cursor),
		       (uint64_t)le64toh(acc->rs_need),
		       (uint64_t)le64toh(acc->removed_at),
		       (uint64_t)le64toh(acc->epoch),
		       (uint64_t)le64toh(acc->epoch_base),
		       (uint64_t)le64toh(acc->erank),
		       flags & PRBD_DISK_ACC_F_RESET ? "true" : "false",
		       (uint64_t)le64toh(acc->log_floor),
		       flags & PRBD_DISK_ACC_F_UP ? "false" : "true");
		for (i = 0; i < nr && !bad; i++)
			printf("%s{\"node_id\":%u,\"learner\":%s}", i ? "," : "",
			       le32toh(acc->members[i].node_id),
			       le32toh(acc->members[i].flags) &
			       PRBD_DISK_MEMBER_LEARNER ? "true" : "false");
		printf("]}");
		return;
	}
	if (empty) {
		printf("acceptor slot %d: empty\n", slot);
		return;
	}
	if (bad) {
		printf("acceptor slot %d: INVALID (field '%s')\n", slot, bad);
		return;
	}
	printf("acceptor slot %d: valid\n  seq %" PRIu64 "  promised_ballot %" PRIu64
	       "  config_epoch %" PRIu64 "  commit %" PRIu64 "  applied %" PRIu64
	       "\n  members", slot, (uint64_t)le64toh(acc->seq),
	       (uint64_t)le64toh(acc->promised_ballot),
	       (uint64_t)le64toh(acc->config_epoch),
	       (uint64_t)le64toh(acc->commit_index),
	       (uint64_t)le64toh(acc->applied_index));
	for (i = 0; i < nr; i++)
		printf(" %u%s", le32toh(acc->members[i].node_id),
		       le32toh(acc->members[i].flags) & PRBD_DISK_MEMBER_LEARNER ?
		       "(learner)" : "");
	printf("%s\n", nr ? "" : " -");
	printf("  resync: inconsistent %s  full %s  rs_from %" PRIu64
	       "  rs_cursor %" PRIu64 "  rs_need %" PRIu64 "  amnesiac %s\n",
	       flags & PRBD_DISK_ACC_F_INCONSISTENT ? "yes" : "no",
	       flags & PRBD_DISK_ACC_F_RS_FULL ? "yes" : "no",
	       (uint64_t)le64toh(acc->rs_from),
	       (uint64_t)le64toh(acc->rs_cursor),
	       (uint64_t)le64toh(acc->rs_need),
	       flags & PRBD_DISK_ACC_F_AMNESIAC ? "yes" : "no");
	if (le64toh(acc->removed_at))
		printf("  removed from the group at slot %" PRIu64
		       " (until create-md)\n",
		       (uint64_t)le64toh(acc->removed_at));
	else
		printf("  removed_at 0 (a member)\n");
	/* PRBD_DISK_ACC_F_UP: up since, or crashed (no clean down) */
	printf("  epoch %" PRIu64 "  epoch_base %" PRIu64 "  erank %" PRIu64
	       "  clean %s\n", (uint64_t)le64toh(acc->epoch),
	       (uint64_t)le64toh(acc->epoch_base),
	       (uint64_t)le64toh(acc->erank),
	       flags & PRBD_DISK_ACC_F_UP ? "no" : "yes");
	printf("  reset %s  log_floor %" PRIu64 "\n",
	       flags & PRBD_DISK_ACC_F_RESET ? "yes" : "no",
	       (uint64_t)le64toh(acc->log_floor));
}

/* The slot map of the superblock in use: where, how big, both headers and
 * the one the module would use.
 */
static void prbdctl_show_map(const struct prbd_disk_sb *sb,
			     const struct prbd_disk_map_hdr h[2],
			     const char *hbad[2], const bool hempty[2], int huse)
{
	uint32_t shift = le32toh(sb->map_chunk_shift);
	uint64_t n = prbd_md_map_chunks(le64toh(sb->data_size), shift);
	int i;

	if (prbdctl_json) {
		printf(",\"slot_map\":{\"offset\":%" PRIu64 ",\"size\":%" PRIu64
		       ",\"chunk_shift\":%u,\"chunk_size\":%llu,\"chunks\":%" PRIu64
		       ",\"headers\":[", (uint64_t)le64toh(sb->map_offset),
		       (uint64_t)le64toh(sb->map_size), shift, 1ULL << shift, n);
		for (i = 0; i < 2; i++) {
			printf("%s{\"slot\":%d,\"state\":\"%s\",\"bad_field\":",
			       i ? "," : "", i, hempty[i] ? "empty" :
			       hbad[i] ? "invalid" : "valid");
			if (hbad[i] && !hempty[i])
				prbdctl_json_str(stdout, hbad[i]);
			else
				printf("null");
			printf(",\"seq\":%" PRIu64 ",\"covers\":%" PRIu64 "}",
			       (uint64_t)le64toh(h[i].seq),
			       (uint64_t)le64toh(h[i].covers));
		}
		if (huse >= 0)
			printf("],\"in_use\":%d,\"seq\":%" PRIu64 ",\"covers\":%" PRIu64
			       "}", huse, (uint64_t)le64toh(h[huse].seq),
			       (uint64_t)le64toh(h[huse].covers));
		else
			printf("],\"in_use\":null,\"seq\":null,\"covers\":null}");
		return;
	}
	printf("slot map: offset %" PRIu64 " size %" PRIu64 " chunk %llu bytes (shift %u) chunks %" PRIu64
	       "\n", (uint64_t)le64toh(sb->map_offset),
	       (uint64_t)le64toh(sb->map_size), 1ULL << shift, shift, n);
	for (i = 0; i < 2; i++) {
		if (hempty[i])
			printf("  header %d: empty\n", i);
		else if (hbad[i])
			printf("  header %d: not used (field '%s')\n", i, hbad[i]);
		else
			printf("  header %d: valid seq %" PRIu64 " covers %" PRIu64 "\n",
			       i, (uint64_t)le64toh(h[i].seq),
			       (uint64_t)le64toh(h[i].covers));
	}
	if (huse >= 0)
		printf("  newest header %d: seq %" PRIu64 " covers %" PRIu64 "\n",
		       huse, (uint64_t)le64toh(h[huse].seq),
		       (uint64_t)le64toh(h[huse].covers));
	else
		printf("  no valid header: every chunk counts as changed\n");
}

/**
 * prbdctl_show_md() - print and check the metadata of @dev
 * @dev: a backing device or image file
 *
 * Applies the module's attach-time rules (kmod/prbd_md.c), except the
 * match with a resource, and states the verdict.
 *
 * Return: 0 when attach would accept the metadata, PRBDCTL_EXIT_MD when
 * it would refuse it.
 */
int prbdctl_show_md(const char *dev)
{
	enum prbd_md_err serr[2], aerr[2] = { PRBD_MD_OK, PRBD_MD_OK };
	enum prbd_md_err merr[2] = { PRBD_MD_OK, PRBD_MD_OK };
	enum prbd_md_err lerr = PRBD_MD_OK, verdict, err2;
	struct prbd_disk_acceptor acc[2];
	struct prbd_disk_map_hdr mh[2];
	struct prbd_disk_log_hdr lh;
	struct prbd_disk_sb sb[2];
	const char *mbad[2] = { NULL, NULL };
	bool aempty[2] = { false, false }, mempty[2] = { false, false };
	bool have_sb, have_map = false;
	unsigned int use = 0, ause = 0;
	struct prbdctl_dev d;
	int i, muse = -1;
	int ret, err;

	ret = prbdctl_dev_open(dev, O_RDONLY, &d);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		err = prbdctl_pread_full(d.fd, &sb[i], sizeof(sb[i]),
					 i ? PRBD_SB_B_OFFSET : PRBD_SB_A_OFFSET);
		if (!err)
			err = prbdctl_pread_full(d.fd, &acc[i], sizeof(acc[i]),
						 PRBD_ACCEPTOR_OFFSET +
						 i * PRBD_DISK_BLOCK);
		if (err)
			goto out_read_error;
	}

	/* the records attach would use (kmod/prbd_md.c), and its verdict */
	verdict = prbd_md_pick_sb(sb, d.size, serr, &use);
	have_sb = verdict == PRBD_MD_OK;
	if (have_sb && le32toh(sb[use].block_size) < d.lbs)
		verdict = PRBD_MD_SB_DEV_BLOCK_SIZE;
	if (have_sb) {
		for (i = 0; i < 2; i++)
			aempty[i] = prbd_md_all_zero(&acc[i], sizeof(acc[i]));
		err2 = prbd_md_pick_acc(acc, &sb[use], aerr, &ause);
		if (verdict == PRBD_MD_OK)
			verdict = err2;
		err = prbdctl_pread_full(d.fd, &lh, sizeof(lh),
					 le64toh(sb[use].log_offset));
		if (err)
			goto out_read_error;
		lerr = prbd_md_log_check(&lh, &sb[use]);
		if (verdict == PRBD_MD_OK)
			verdict = lerr;
		have_map = le64toh(sb[use].feature_incompat) &
			   PRBD_FEATURE_INCOMPAT_SLOTMAP;
		for (i = 0; have_map && i < 2; i++) {
			err = prbdctl_pread_full(d.fd, &mh[i], sizeof(mh[i]),
						 le64toh(sb[use].map_offset) +
						 i * PRBD_DISK_BLOCK);
			if (err)
				goto out_read_error;
			mempty[i] = prbd_md_all_zero(&mh[i], sizeof(mh[i]));
		}
		if (have_map) {
			muse = prbd_md_pick_map_hdr(mh, &sb[use], merr);
			for (i = 0; i < 2; i++)
				mbad[i] = prbdctl_md_bad(merr[i]);
		}
	}
	close(d.fd);

	if (prbdctl_json) {
		printf("{\"device\":");
		prbdctl_json_str(stdout, dev);
		printf(",\"size\":%" PRIu64 ",", d.size);
	} else {
		printf("%s: %" PRIu64 " bytes\n", dev, d.size);
	}
	prbdctl_show_sb("A", &sb[0], prbdctl_md_bad(serr[0]));
	prbdctl_show_sb("B", &sb[1], prbdctl_md_bad(serr[1]));
	if (have_sb) {
		if (prbdctl_json)
			printf(",\"acceptor\":[");
		for (i = 0; i < 2; i++)
			prbdctl_show_acc(i, &acc[i], aempty[i],
					 prbdctl_md_bad(aerr[i]));
		if (prbdctl_json) {
			printf("],\"log_header\":{\"valid\":%s,\"bad_field\":",
			       lerr ? "false" : "true");
			if (lerr)
				prbdctl_json_str(stdout, prbd_md_err_field(lerr));
			else
				printf("null");
			printf("}");
		} else if (lerr) {
			printf("log header: INVALID (field '%s')\n",
			       prbd_md_err_field(lerr));
		} else {
			printf("log header: valid\n");
		}
		if (have_map)
			prbdctl_show_map(&sb[use], mh, mbad, mempty, muse);
		else if (prbdctl_json)
			printf(",\"slot_map\":null");
		else
			printf("slot map: none (every chunk counts as changed)\n");
	}
	if (prbdctl_json) {
		printf(",\"attach\":{\"accept\":%s", verdict ? "false" : "true");
		if (verdict) {
			printf(",\"reason\":");
			prbdctl_json_str(stdout, prbd_md_err_text(verdict));
		} else {
			printf(",\"superblock\":\"%c\",\"acceptor_slot\":%u"
			       ",\"clean\":%s", 'A' + use, ause,
			       prbdctl_acc_clean(&acc[ause]) ? "true" : "false");
		}
		printf("}}\n");
	} else if (verdict) {
		printf("attach would refuse: %s\n", prbd_md_err_text(verdict));
	} else {
		printf("attach would accept: superblock copy %c, acceptor slot %u\n",
		       'A' + use, ause);
		printf("shutdown: %s\n", prbdctl_acc_clean(&acc[ause]) ?
		       "clean" : "not clean (up, or no clean down since)");
	}
	return verdict ? PRBDCTL_EXIT_MD : PRBDCTL_EXIT_OK;

out_read_error:
	prbdctl_err("%s: read error: %s", dev, strerror(-err));
	close(d.fd);
	return PRBDCTL_EXIT_MD;
}
