/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prbd: the space arithmetic of the log ring (prbd_log.c), kept free of
 * kernel calls so that a userspace test (selftests/robust/log_ring.sh)
 * drives this very code against a model of the ring.  The includer
 * provides u32 and u64; the caller holds the log lock.
 *
 * The ring is @ring_size bytes; records are appended at @head and freed
 * oldest first.  @used counts every byte between the oldest record kept
 * and @head, including the end of the ring a wrapping record skipped
 * (charged to that record, so freeing it gives the skipped bytes back).
 */
#ifndef PRBD_LOG_RING_H
#define PRBD_LOG_RING_H

/**
 * prbd_log_ring_alloc() - place a record of @size bytes at the head
 * @ring_size: bytes of the ring
 * @head: the next allocation (relative to the ring's start)
 * @used: bytes in use, tail to head, incl. skipped ones
 * @size: the record's bytes
 * @pos: set to where the record goes
 * @charge: set to the bytes it holds until freed (@size + skipped)
 *
 * Return: true, or false when it does not fit (nothing changed).
 */
static inline bool prbd_log_ring_alloc(u64 ring_size, u64 *head, u64 *used,
				       u64 size, u64 *pos, u64 *charge)
{
	u64 at = *head, waste = 0;

	/* wrap only once the record is known to fit (then charge the skip) */
	if (at + size > ring_size) {
		waste = ring_size - at;
		at = 0;
	}
	if (*used + waste + size > ring_size)
		return false;
	*pos = at;
	*charge = size + waste;
	*head = at + size;
	*used += size + waste;
	return true;
}

/**
 * prbd_log_ring_free() - the oldest record kept leaves the ring
 * @head: the next allocation
 * @used: bytes in use
 * @charge: what prbd_log_ring_alloc() charged it
 * @empty: no record is left
 */
static inline void prbd_log_ring_free(u64 *head, u64 *used, u64 charge,
				      bool empty)
{
	*used -= charge;
	if (empty) {
		*used = 0;
		*head = 0;
	}
}

/**
 * prbd_log_ring_span() - bytes in use after a scan found the records
 * @ring_size: bytes of the ring
 * @tail: start of the oldest record kept
 * @head: end of the newest record (0 if at the ring's end)
 *
 * Return: the bytes from @tail to @head, around the end if need be.
 */
static inline u64 prbd_log_ring_span(u64 ring_size, u64 tail, u64 head)
{
	return head > tail ? head - tail : ring_size - tail + head;
}

#endif /* PRBD_LOG_RING_H */
