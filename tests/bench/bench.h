/*
 * bench.h: what the parts of bench_client share: the clock, latency
 * sample sets, the JSON-lines output and the per-process cost counters
 * (bench_util.c), and the kbd0 wake measurement (bench_kbd.c).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull

/* A set of latencies in ns; n grows up to cap, later adds are dropped. */
struct samples {
	uint64_t *ns;
	size_t n, cap;
};

uint64_t now_ns(void);
void sleep_ns(uint64_t ns);

void samples_init(struct samples *s, size_t cap);
void samples_reset(struct samples *s);
void samples_free(struct samples *s);
void samples_add(struct samples *s, uint64_t ns);
/* Percentile p (0-100) in ns after sorting; 0 for an empty set. */
double samples_pct(struct samples *s, double p);
double samples_median(struct samples *s);

/*
 * Output: one JSON object per line on stdout, {"kind": KIND, "target":
 * TARGET, ...}; fmt gives the members after those, without braces.
 */
void out_target(const char *target);
void out_line(const char *kind, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* {"kind": KIND, "target": ..., "op": OP, "error": strerror(-err)} */
void out_error(const char *kind, const char *op, int err);
/* A latency line: n, median_ns, p99_ns, max_ns of s. */
void out_latency(const char *kind, const char *op, struct samples *s);

/* What a set of threads has used so far: context switches and CPU. */
struct usage {
	uint64_t vol, invol; /* voluntary and involuntary context switches */
	uint64_t cpu_ns;     /* time on a CPU */
	unsigned int threads;
};

/*
 * Sums the usage of every thread of process pid from /proc/PID/task/{*}/
 * status and schedstat (threads that exited are not counted, so measure
 * between two calls with a steady set of threads; a thread running while
 * it is read may lag by a tick).  pid 0 is this process, from getrusage
 * and its CPU-time clock (threads counts as 1).
 */
int usage_of(pid_t pid, struct usage *ret);

/* Times key-to-POLLIN wake-ups on kbd0 fed through the sim FIFO. */
void bench_kbd(const char *kbd, const char *fifo);

#endif /* BENCH_H */
