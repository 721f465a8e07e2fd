/*
 * bench_kbd.c: kbd0's key-to-wake latency.  A key (make and break of 'a')
 * goes into the sim i8042's FIFO; the time until poll(2) on an open kbd0
 * handle returns POLLIN is one sample.  Keys are spaced by varying gaps so
 * the driver's adaptive polling is caught both busy and idle.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"

#define KBD_KEYS            40              /* keys timed */
#define KBD_WAKE_TIMEOUT_MS 1000            /* a key not seen by then: lost */
#define KBD_GAP_MIN_NS      (2 * NS_PER_MS) /* gap between keys, ns */
#define KBD_GAP_SPAN_NS     (60 * NS_PER_MS)
#define KBD_FIFO_OPEN_MS    2000 /* the sim must have the FIFO open by then */
#define KBD_WAKE_GOAL_MS    50   /* "wakes within 50 ms" in the issue */
#define KBD_SC_A            0x1e
#define KBD_SC_BREAK        0x80
#define OP_NAME             "kbd0_key_to_pollin"

/* Opens the FIFO for writing without hanging if the sim never reads it. */
static int
open_fifo(const char *fifo)
{
	uint64_t deadline = now_ns() + KBD_FIFO_OPEN_MS * NS_PER_MS;
	int fd;

	while ((fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENXIO || now_ns() > deadline)
			return -errno;
		sleep_ns(10 * NS_PER_MS);
	}
	return fd;
}

/* Reads whatever kbd0 has queued, so the next poll waits again. */
static void
drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

void
bench_kbd(const char *kbd, const char *fifo)
{
	static const uint8_t key[2] = { KBD_SC_A, KBD_SC_A | KBD_SC_BREAK };
	uint32_t lcg = 12345; /* fixed seed: the same gaps every run */
	struct samples s;
	int kfd, ffd, err = 0, lost = 0, within = 0;

	kfd = open(kbd, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kfd < 0) {
		out_error("extra", OP_NAME, -errno);
		return;
	}
	ffd = open_fifo(fifo);
	if (ffd < 0) {
		out_error("extra", OP_NAME, ffd);
		goto close_kbd;
	}
	samples_init(&s, KBD_KEYS);
	drain(kfd);
	for (int i = 0; i < KBD_KEYS; i++) {
		struct pollfd p = { .fd = kfd, .events = POLLIN };
		uint64_t t0, dt;
		int r;

		lcg = lcg * 1103515245u + 12345u;
		sleep_ns(KBD_GAP_MIN_NS + (lcg >> 8) % KBD_GAP_SPAN_NS);
		t0 = now_ns();
		if (write(ffd, key, sizeof(key)) != (ssize_t)sizeof(key)) {
			err = -errno;
			break;
		}
		r = poll(&p, 1, KBD_WAKE_TIMEOUT_MS);
		dt = now_ns() - t0;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0) {
			lost++;
			continue;
		}
		samples_add(&s, dt);
		if (dt <= KBD_WAKE_GOAL_MS * NS_PER_MS)
			within++;
		drain(kfd);
	}
	if (err < 0)
		out_error("extra", OP_NAME, err);
	else
		out_line("extra",
		         "\"op\": \"%s\", \"n\": %zu, \"median_ns\": %.0f, "
		         "\"p99_ns\": %.0f, \"max_ns\": %.0f, \"keys\": %d, "
		         "\"within_goal\": %d, \"goal_ms\": %d, \"lost\": %d",
		         OP_NAME, s.n, samples_median(&s), samples_pct(&s, 99),
		         samples_pct(&s, 100), KBD_KEYS, within,
		         KBD_WAKE_GOAL_MS, lost);
	samples_free(&s);
	close(ffd);
close_kbd:
	close(kfd);
}
