/*
 * bench_dev.h: what the bench's three servers (bare_fuse, bare_cuse and
 * the driver ddm-null) and its client agree on, so that each answers the
 * same requests the same way:
 *
 *	read	zeros, as many bytes as asked for (never blocks), written by
 *		bench_fill() into a buffer of the server's, as a device's
 *		bytes would be: libdriver's read hook fills the buffer it is
 *		given, so the bare servers do the same work before replying
 *	write	swallowed whole; each write counts one on its node and wakes
 *		every poller of that node
 *	poll	POLLOUT always; POLLIN once the node has had a write since this
 *		handle was opened or last read
 *	ioctl	BENCH_IOC_COUNT (_IOR, 4 bytes): the node's write count;
 *		others ENOTTY
 *
 * So a poll wake-up is one handle's write waking another handle's poll.
 */
#ifndef BENCH_DEV_H
#define BENCH_DEV_H

#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#define BENCH_IOC_COUNT _IOR('B', 1, uint32_t)

/* Leaves of bare_fuse (n0 .. n7), as many as the spread scaling uses. */
#define BENCH_LEAVES    8
#define BENCH_LEAF_NAME "n%u"

/* A read's bytes, written into buf: zeros. */
static inline void
bench_fill(void *buf, size_t size)
{
	memset(buf, 0, size);
}

#endif /* BENCH_DEV_H */
